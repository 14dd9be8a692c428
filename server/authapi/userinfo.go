package authapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/bind"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/tokens"
)

// UserInfo serves GET and POST /userinfo (AUTH0-COMPAT §2.5).
func (h *Handler) UserInfo(c echo.Context) error {
	noStore(c)
	token, err := bearerToken(c.Request())
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	claims, err := h.Issuer.VerifyAccessToken(ctx, token, h.Flow.UserinfoAudience())
	if errors.Is(err, tokens.ErrInvalidToken) {
		return apierror.InvalidToken("The access token is invalid or expired")
	}
	if err != nil {
		return apierror.ServerError(err)
	}
	info, err := h.Flow.UserInfo(ctx, claims)
	switch {
	case errors.Is(err, flow.ErrNoOpenID):
		e := apierror.NewOAuth(http.StatusForbidden, "insufficient_scope", "The access token was not granted the openid scope")
		e.WWWAuthenticate = `Bearer error="insufficient_scope", scope="openid"`
		return e
	case errors.Is(err, flow.ErrUnknownSubject), errors.Is(err, flow.ErrUserBlocked):
		return apierror.InvalidToken("The access token's user is not available")
	case err != nil:
		return apierror.ServerError(err)
	}
	return c.JSON(http.StatusOK, info)
}

// bearerToken reads the access token from the Authorization header, or from a form body's
// access_token on POST (RFC 6750 §2.1, §2.2), never both.
func bearerToken(r *http.Request) (string, error) {
	authz := r.Header.Get("Authorization")
	var fromBody string
	if r.Method == http.MethodPost && bind.MediaType(r) == "application/x-www-form-urlencoded" {
		params, err := bind.Params(r, MaxBody)
		if err != nil {
			return "", apierror.InvalidRequest(err.Error())
		}
		fromBody = params["access_token"]
	}
	switch {
	case authz != "" && fromBody != "":
		return "", apierror.InvalidRequest("Send the access token in one place only")
	case fromBody != "":
		return fromBody, nil
	case authz == "":
		e := apierror.NewOAuth(http.StatusUnauthorized, "invalid_token", "Missing access token")
		e.WWWAuthenticate = `Bearer realm="userinfo"`
		return "", e
	}
	scheme, token, ok := strings.Cut(authz, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", apierror.InvalidToken("Malformed Authorization header")
	}
	return token, nil
}
