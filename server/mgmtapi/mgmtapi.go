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
	// Limits rate-limits each caller (ratelimit.go); nil sets no limit.
	Limits *RateLimiting
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
	h.ticketRoutes(g)
	h.statsRoutes(g)
	h.attackProtectionRoutes(g)
}

// grantedScopesKey holds the token's scopes in the request context.
const grantedScopesKey = "latch.mgmt.scopes"

// authenticate verifies the bearer token for the Management API audience.
func (h *Handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		claims, err := h.verifyBearer(c)
		if err != nil {
			// Requests without a valid token are counted per IP address, so that guessing
			// tokens is as limited as using them.
			if lerr := h.limitAnonymous(c); lerr != nil {
				return lerr
			}
			return err
		}
		scope, _ := claims["scope"].(string)
		granted := tokens.ParseScope(scope)
		if flow.IsConsoleToken(claims) {
			// An admin's rights are read again on every call: blocking or demoting an admin
			// ends their console session at once, not when the token expires.
			sub, _ := claims["sub"].(string)
			held, err := h.Flow.ConsoleScopes(c.Request().Context(), sub, granted)
			if errors.Is(err, flow.ErrNotAdmin) {
				return apierror.ManagementUnauthorized("The user of this token is not an administrator")
			}
			if err != nil {
				return apierror.ManagementServerError(err)
			}
			granted = held
		}
		c.Set(grantedScopesKey, granted)
		azp, _ := claims["azp"].(string)
		c.Set(callerKey, azp)
		if h.Limits != nil {
			if err := h.limitClient(c, azp); err != nil {
				return err
			}
		}
		return next(c)
	}
}

// verifyBearer checks the request's bearer token for the Management API audience.
func (h *Handler) verifyBearer(c echo.Context) (map[string]any, error) {
	authz := c.Request().Header.Get("Authorization")
	scheme, token, ok := strings.Cut(authz, " ")
	if authz == "" {
		return nil, apierror.ManagementUnauthorized("Missing authentication")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, apierror.ManagementUnauthorized("Bad HTTP authentication header format")
	}
	claims, err := h.Issuer.VerifyAccessToken(c.Request().Context(), strings.TrimSpace(token), h.Audience)
	if err != nil {
		if errors.Is(err, tokens.ErrInvalidToken) {
			return nil, apierror.ManagementUnauthorized("Invalid token")
		}
		return nil, apierror.ManagementServerError(err)
	}
	return claims, nil
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
