package authapi

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/bind"
	"github.com/latchauth/latch/server/flow"
)

// Token serves POST /oauth/token (AUTH0-COMPAT §2.4).
func (h *Handler) Token(c echo.Context) error {
	noStore(c)
	params, err := bind.Params(c.Request(), MaxBody)
	if err != nil {
		return oauthError(err)
	}
	grantType := params["grant_type"]
	if grantType == "" {
		return apierror.MissingParameter("grant_type")
	}
	switch grantType {
	case flow.GrantPassword, flow.GrantPasswordRealm, flow.GrantClientCredentials,
		flow.GrantAuthorizationCode, flow.GrantRefreshToken:
	default:
		return apierror.NewOAuth(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+grantType)
	}

	cred, err := clientCredentials(c.Request(), params)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	client, err := h.Flow.AuthenticateClient(ctx, cred)
	if err != nil {
		return oauthError(err)
	}

	var resp flow.TokenResponse
	switch grantType {
	case flow.GrantClientCredentials:
		resp, err = h.Flow.ClientCredentialsGrant(ctx, client, params["audience"], params["scope"])
	case flow.GrantAuthorizationCode:
		resp, err = h.Flow.ExchangeCode(ctx, flow.CodeGrant{
			Client: client, Code: params["code"], RedirectURI: params["redirect_uri"], CodeVerifier: params["code_verifier"],
		})
	case flow.GrantRefreshToken:
		resp, err = h.Flow.Refresh(ctx, flow.RefreshGrant{
			Client: client, RefreshToken: params["refresh_token"], Scope: params["scope"],
			IP: endUserIP(c, cred), Request: ruleRequest(c.Request(), params),
		})
	default:
		g := flow.PasswordGrant{
			Client: client, GrantType: grantType, Username: params["username"], Password: params["password"],
			Realm: params["realm"], Scope: params["scope"], Audience: params["audience"], IP: endUserIP(c, cred),
			Request: ruleRequest(c.Request(), params),
		}
		if grantType == flow.GrantPasswordRealm && g.Realm == "" {
			return apierror.MissingParameter("realm")
		}
		// A plain password grant that names a realm is a password-realm grant (AUTH0-COMPAT §7);
		// a client allowed either may use it.
		if grantType == flow.GrantPassword && g.Realm != "" && !client.HasGrantType(flow.GrantPassword) {
			g.GrantType = flow.GrantPasswordRealm
		}
		resp, err = h.Flow.PasswordLogin(ctx, g)
	}
	if err != nil {
		return oauthError(err)
	}
	return c.JSON(http.StatusOK, resp)
}

// Revoke serves POST /oauth/revoke (AUTH0-COMPAT §2.7): 200 with an empty body whether or
// not the token was known.
func (h *Handler) Revoke(c echo.Context) error {
	noStore(c)
	params, err := bind.Params(c.Request(), MaxBody)
	if err != nil {
		return oauthError(err)
	}
	cred, err := clientCredentials(c.Request(), params)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	client, err := h.Flow.AuthenticateClient(ctx, cred)
	if err != nil {
		if errors.Is(err, flow.ErrClientAuth) {
			return apierror.NewOAuth(http.StatusUnauthorized, "invalid_client", "Unauthorized")
		}
		return oauthError(err)
	}
	if hint := params["token_type_hint"]; hint != "" && hint != "refresh_token" {
		return apierror.NewOAuth(http.StatusBadRequest, "unsupported_token_type", "Only refresh tokens can be revoked")
	}
	if err := h.Flow.RevokeRefreshToken(ctx, client, params["token"]); err != nil {
		return oauthError(err)
	}
	return c.NoContent(http.StatusOK)
}

// clientCredentials reads the client's id and secret from HTTP Basic authentication
// (client_secret_basic) or from the body (client_secret_post), never both.
func clientCredentials(r *http.Request, params map[string]string) (flow.ClientCredentials, error) {
	if user, pass, ok := r.BasicAuth(); ok {
		if params["client_secret"] != "" {
			return flow.ClientCredentials{}, apierror.InvalidRequest("Send client credentials in the Authorization header or in the body, not both")
		}
		// RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return flow.ClientCredentials{}, apierror.InvalidRequest("Malformed Authorization header")
		}
		if p := params["client_id"]; p != "" && p != id {
			return flow.ClientCredentials{}, apierror.InvalidRequest("client_id does not match the Authorization header")
		}
		return flow.ClientCredentials{ID: id, Secret: secret, Method: "client_secret_basic"}, nil
	}
	if strings.HasPrefix(r.Header.Get("Authorization"), "Basic") {
		return flow.ClientCredentials{}, apierror.InvalidRequest("Malformed Authorization header")
	}
	id := params["client_id"]
	if id == "" {
		return flow.ClientCredentials{}, apierror.MissingParameter("client_id")
	}
	method := "client_secret_post"
	if params["client_secret"] == "" {
		method = "none"
	}
	return flow.ClientCredentials{ID: id, Secret: params["client_secret"], Method: method}, nil
}

// noStore marks a response as never cacheable (RFC 6749 §5.1).
func noStore(c echo.Context) {
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().Header().Set("Pragma", "no-cache")
}

// ruleRequest describes the request for rules (context.request), without its secrets.
func ruleRequest(r *http.Request, params map[string]string) rules.HTTPRequest {
	body := make(map[string]string, len(params))
	for k, v := range params {
		switch k {
		case "password", "client_secret", "client_assertion", "code_verifier", "refresh_token", "code", "csrf", "token":
		default:
			body[k] = v
		}
	}
	query := map[string]string{}
	for k, vs := range r.URL.Query() {
		query[k] = vs[0]
	}
	return rules.HTTPRequest{
		UserAgent: r.UserAgent(), Hostname: r.Host, Method: r.Method,
		Language: r.Header.Get("Accept-Language"), Query: query, Body: body, Geoip: map[string]any{},
	}
}

// endUserIP is the address brute-force protection counts. A confidential client (one that
// proved its secret) logging users in from its backend names the end user's address in
// auth0-forwarded-for (AUTH0-COMPAT §2.4, §6.1); anyone else's header is ignored, or an
// attacker could spread guesses over made-up addresses.
func endUserIP(c echo.Context, cred flow.ClientCredentials) string {
	if cred.Secret != "" {
		if ip, err := netip.ParseAddr(strings.TrimSpace(c.Request().Header.Get("Auth0-Forwarded-For"))); err == nil {
			return ip.String()
		}
	}
	return c.RealIP()
}
