// Package authapi serves the Authentication API (AUTH0-COMPAT §2): signup, the token
// endpoint, /userinfo and discovery. Handlers read the request, call flow, and translate
// flow's errors into the OAuth or database-connection error shapes.
package authapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/bind"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/tokens"
	"github.com/latchauth/latch/web"
)

// MaxBody bounds Authentication API request bodies; no legitimate one comes near it.
const MaxBody = 64 << 10

// Handler serves the Authentication API.
type Handler struct {
	Flow      *flow.Service
	Issuer    *tokens.Issuer
	Keys      *tokens.KeySet
	IssuerURL string
	Log       *slog.Logger
	// Pages renders the hosted pages.
	Pages *web.Pages
	// Secure: latch is reached over HTTPS (its own TLS or a proxy's), so cookies are Secure.
	Secure bool
}

// suspiciousIPDescription is Auth0's description of a refusal by suspicious-IP throttling
// (AUTH0-COMPAT §2.4, §6.2).
const suspiciousIPDescription = "We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator."

// oauthError translates a flow error for the OAuth endpoints.
func oauthError(err error) error {
	var (
		inv    *flow.InvalidRequestError
		den    *flow.DeniedError
		bindEr *bind.Error
	)
	switch {
	case errors.As(err, &bindEr):
		return apierror.InvalidRequest(bindEr.Message)
	case errors.As(err, &inv):
		return apierror.InvalidRequest(inv.Message)
	case errors.Is(err, flow.ErrClientAuth):
		// Auth0 answers alike for an unknown client and a wrong secret.
		return apierror.NewOAuth(http.StatusUnauthorized, "access_denied", "Unauthorized")
	case errors.Is(err, flow.ErrWrongCredentials):
		return apierror.NewOAuth(http.StatusForbidden, "invalid_grant", "Wrong email or password.")
	case errors.Is(err, flow.ErrUserBlocked):
		return apierror.NewOAuth(http.StatusUnauthorized, "unauthorized", "user is blocked")
	case errors.Is(err, flow.ErrBusy):
		return apierror.Busy()
	case errors.Is(err, flow.ErrTooManyAttempts):
		return apierror.NewOAuth(http.StatusTooManyRequests, "too_many_attempts",
			"Your account has been blocked after multiple consecutive login attempts. We've sent you a notification via your preferred contact method with instructions on how to unblock it.")
	case errors.Is(err, flow.ErrSuspiciousIP):
		e := apierror.NewOAuth(http.StatusTooManyRequests, "too_many_attempts", suspiciousIPDescription)
		e.RetryAfter = flow.RetryAfterSeconds(err)
		return e
	case errors.As(err, &den):
		status := http.StatusForbidden
		if den.Code == "unauthorized" {
			status = http.StatusUnauthorized
		}
		return apierror.NewOAuth(status, den.Code, den.Message)
	case errors.Is(err, flow.ErrRuleFailed), errors.Is(err, flow.ErrClaimsTooLarge):
		// The cause (which rule, why) is logged; the client only learns the login failed.
		e := apierror.NewOAuth(http.StatusInternalServerError, "server_error", "The login could not be completed because a rule failed.")
		e.Cause = err
		return e
	default:
		return apierror.ServerError(err)
	}
}
