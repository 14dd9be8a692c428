// Package mgmtapi serves the Management API v2 (AUTH0-COMPAT §5): bearer tokens from
// client_credentials, a scope check per endpoint, and Auth0's error body on every failure.
package mgmtapi

import (
	"errors"
	"log/slog"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/tokens"
)

// MaxBody is the Management API's payload limit (AUTH0-COMPAT §5.1).
const MaxBody = 1 << 20

// Handler serves the Management API.
type Handler struct {
	Store    storage.Store
	Flow     *flow.Service
	Issuer   *tokens.Issuer
	Keys     *tokens.KeySet
	Audience string // "<issuer>api/v2/"
	Log      *slog.Logger
}

// Routes registers every Management API route on g (mounted at /api/v2).
func (h *Handler) Routes(g *echo.Group) {
	g.Use(h.authenticate, h.recordWrites)
	h.userRoutes(g)
	h.clientRoutes(g)
	h.connectionRoutes(g)
	h.tryRoutes(g)
	h.ruleRoutes(g)
	h.rulesConfigRoutes(g)
	h.keyRoutes(g)
	h.userBlockRoutes(g)
	h.actionRoutes(g)
	h.logRoutes(g)
	h.jobRoutes(g)
}

// grantedScopesKey holds the token's scopes in the request context.
const grantedScopesKey = "latch.mgmt.scopes"

// authenticate verifies the bearer token for the Management API audience.
func (h *Handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		authz := c.Request().Header.Get("Authorization")
		scheme, token, ok := strings.Cut(authz, " ")
		if authz == "" {
			return apierror.ManagementUnauthorized("Missing authentication")
		}
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return apierror.ManagementUnauthorized("Bad HTTP authentication header format")
		}
		claims, err := h.Issuer.VerifyAccessToken(c.Request().Context(), strings.TrimSpace(token), h.Audience)
		if err != nil {
			if errors.Is(err, tokens.ErrInvalidToken) {
				return apierror.ManagementUnauthorized("Invalid token")
			}
			return apierror.ManagementServerError(err)
		}
		scope, _ := claims["scope"].(string)
		c.Set(grantedScopesKey, tokens.ParseScope(scope))
		azp, _ := claims["azp"].(string)
		c.Set(callerKey, azp)
		return next(c)
	}
}

// requireScope lets the request through when the token has any of the scopes.
func requireScope(anyOf ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			granted, _ := c.Get(grantedScopesKey).([]string)
			for _, s := range anyOf {
				if tokens.HasScope(granted, s) {
					return next(c)
				}
			}
			return apierror.NewManagement(403, "insufficient_scope", "Insufficient scope, expected any of: "+strings.Join(anyOf, ","))
		}
	}
}
