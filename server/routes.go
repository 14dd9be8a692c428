package server

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/authapi"
	"github.com/latchauth/latch/server/mgmtapi"
	"github.com/latchauth/latch/web/console"
)

// routes is every route latch serves, in one list.
func routes(e *echo.Echo, d Deps, auth *authapi.Handler, mgmt *mgmtapi.Handler) {
	e.GET("/healthz", health)
	e.GET("/readyz", ready(d.Store, d.Shared))

	// Authentication API.
	e.GET("/.well-known/openid-configuration", auth.Discovery)
	e.GET("/.well-known/jwks.json", auth.JWKS)
	e.POST("/dbconnections/signup", auth.Signup)
	e.POST("/dbconnections/change_password", auth.ChangePassword)
	withCORS := cors(d.Flow)
	for _, m := range []string{http.MethodPost, http.MethodOptions} {
		e.Add(m, "/oauth/token", auth.Token, withCORS)
		e.Add(m, "/oauth/revoke", auth.Revoke, withCORS)
	}
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodOptions} {
		e.Add(m, "/userinfo", auth.UserInfo, withCORS)
	}

	// Browser login: the authorization endpoint, the hosted pages and logout.
	e.GET("/authorize", auth.Authorize)
	e.GET("/u/login", auth.LoginPage)
	e.POST("/u/login", auth.SubmitLogin)
	e.GET("/u/signup", auth.SignupPage)
	e.POST("/u/signup", auth.SubmitSignup)
	// The account lifecycle by email: reset, verification and unblock links.
	e.GET("/u/forgot-password", auth.ForgotPasswordPage)
	e.POST("/u/forgot-password", auth.SubmitForgotPassword)
	e.GET("/u/reset-password", auth.ResetPasswordPage)
	e.POST("/u/reset-password", auth.SubmitResetPassword)
	e.GET("/u/email-verification", auth.VerifyEmailLink)
	e.GET("/u/unblock", auth.UnblockLink)
	e.GET("/favicon.ico", authapi.Favicon)
	e.GET("/u/assets/*", echo.WrapHandler(http.StripPrefix("/u/assets", d.Pages.Assets())))
	e.GET("/v2/logout", auth.Logout)
	e.GET("/oidc/logout", auth.OIDCLogout)
	e.POST("/oidc/logout", auth.OIDCLogout)
	e.POST("/oidc/logout/confirm", auth.ConfirmLogout)

	// Management API v2. An export's file is fetched from its location without a bearer
	// token, so its route stands outside the group's authentication.
	e.GET("/api/v2/jobs/:id/file/:token", mgmt.ExportFile)
	e.GET("/api/v2/openapi.json", mgmtapi.OpenAPI) // the API's description is public, like discovery
	mgmt.Routes(e.Group("/api/v2"))

	// The admin console: its files, and the page for every route of the app.
	admin, err := console.Handler(d.Flow.ConsoleConfig())
	if err != nil {
		panic("admin console: " + err.Error()) // the embedded files are built in: a broken build
	}
	e.GET("/admin", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, console.MountPath) })
	e.Any(console.MountPath+"*", echo.WrapHandler(http.StripPrefix(strings.TrimSuffix(console.MountPath, "/"), admin)))
}
