// Package server is latch's HTTP layer and the only package tree that imports echo. It wires
// the handlers of authapi (the Authentication API) and mgmtapi (the Management API) to the
// use cases in flow.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/latchauth/latch/metrics"
	"github.com/latchauth/latch/server/authapi"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/server/mgmtapi"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/tokens"
	"github.com/latchauth/latch/web"
)

// Deps is everything the HTTP layer needs.
type Deps struct {
	Store     storage.Store
	Flow      *flow.Service
	Issuer    *tokens.Issuer
	Keys      *tokens.KeySet
	IssuerURL string
	Metrics   *metrics.Metrics
	Log       *slog.Logger
	// Pages renders the hosted login pages.
	Pages *web.Pages
	// Secure: latch is reached over HTTPS (its own TLS, or a proxy's when the issuer is
	// https://): cookies are Secure and pages send HSTS.
	Secure bool
	// MgmtLimits rate-limits Management API callers; nil sets no limit.
	MgmtLimits *mgmtapi.RateLimiting
}

// New builds the HTTP handler.
func New(d Deps) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(d.Log)
	// The client's address is the connection's: X-Forwarded-For is not trusted, or anyone
	// could pick the address that brute-force protection counts. (Trusted proxies come with
	// the deployment work.)
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: newRequestID}),
		carryRequestID,
		recoverer(d.Log),
		accessLog(d.Log, d.Metrics),
		securityHeaders(d.Secure),
	)
	auth := &authapi.Handler{Flow: d.Flow, Issuer: d.Issuer, Keys: d.Keys, IssuerURL: d.IssuerURL, Log: d.Log, Pages: d.Pages, Secure: d.Secure}
	mgmt := &mgmtapi.Handler{Store: d.Store, Flow: d.Flow, Issuer: d.Issuer, Keys: d.Keys, Audience: d.Flow.ManagementAudience(), Log: d.Log, Limits: d.MgmtLimits}
	routes(e, d, auth, mgmt)
	return e
}

// health answers /healthz: the process is alive.
func health(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// ready answers /readyz: storage is reachable.
func ready(store storage.Store) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "storage unreachable"})
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	}
}
