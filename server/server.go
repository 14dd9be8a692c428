// Package server is latch's HTTP layer and the only package tree that imports echo. It wires
// the handlers of authapi (the Authentication API) and mgmtapi (the Management API) to the
// use cases in flow.
package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
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
	// Shared is the shared short-lived state when it is remote (Redis), for /readyz; nil
	// when it is in process.
	Shared Pinger
	// TrustedProxies are the addresses of the proxies in front of latch, whose
	// X-Forwarded-For latch believes.
	TrustedProxies []netip.Prefix
}

// ipExtractor says how a request's client address is found. Without trusted proxies it is
// the connection's: X-Forwarded-For is ignored, or anyone could pick the address that
// brute-force protection and throttling count. With them, X-Forwarded-For is read from
// the right, skipping the trusted proxies, and the first other address is the client's.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// New builds the HTTP handler.
func New(d Deps) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(d.Log)
	e.IPExtractor = ipExtractor(d.TrustedProxies)
	e.Use(
		middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: newRequestID}),
		carryRequestID,
		traceRequests(),
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
// ready answers /readyz: 200 when the store, and the shared state when there is one
// (Redis), answer a ping within 2 s; 503 naming what does not.
func ready(store storage.Store, shared Pinger) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "storage unreachable"})
		}
		if shared != nil {
			if err := shared.Ping(ctx); err != nil {
				return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "shared state unreachable"})
			}
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	}
}

// Pinger is a dependency /readyz checks.
type Pinger interface {
	Ping(ctx context.Context) error
}
