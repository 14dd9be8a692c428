package server

import (
	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/authapi"
	"github.com/latchauth/latch/server/mgmtapi"
)

// routes is every route latch serves, in one list.
func routes(e *echo.Echo, d Deps, auth *authapi.Handler, mgmt *mgmtapi.Handler) {
	e.GET("/healthz", health)
	e.GET("/readyz", ready(d.Store))

	// Authentication API.
	e.GET("/.well-known/openid-configuration", auth.Discovery)
	e.GET("/.well-known/jwks.json", auth.JWKS)
	e.POST("/dbconnections/signup", auth.Signup)
	e.POST("/oauth/token", auth.Token)
	e.GET("/userinfo", auth.UserInfo)
	e.POST("/userinfo", auth.UserInfo)

	// Management API v2.
	mgmt.Routes(e.Group("/api/v2"))
}
