package authapi

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Discovery serves /.well-known/openid-configuration (AUTH0-COMPAT §2.8). It advertises
// what latch implements, no more.
func (h *Handler) Discovery(c echo.Context) error {
	iss := h.IssuerURL
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.JSON(http.StatusOK, map[string]any{
		"issuer":                 iss,
		"authorization_endpoint": iss + "authorize",
		"token_endpoint":         iss + "oauth/token",
		"userinfo_endpoint":      iss + "userinfo",
		"jwks_uri":               iss + ".well-known/jwks.json",
		"revocation_endpoint":    iss + "oauth/revoke",
		"end_session_endpoint":   iss + "oidc/logout",
		"scopes_supported": []string{
			"openid", "profile", "offline_access", "name", "given_name", "family_name", "nickname",
			"email", "email_verified", "picture", "created_at", "identities", "phone", "address",
		},
		"response_types_supported":              []string{"code", "id_token", "id_token token"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "implicit", "client_credentials", "password", "http://auth0.com/oauth/grant-type/password-realm"},
		"code_challenge_methods_supported":      []string{"S256"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"claims_supported": []string{
			"aud", "auth_time", "created_at", "email", "email_verified", "exp", "family_name", "given_name",
			"iat", "identities", "iss", "name", "nickname", "phone_number", "picture", "sub",
		},
		"request_uri_parameter_supported": false,
		"request_parameter_supported":     false,
	})
}

// JWKS serves /.well-known/jwks.json.
func (h *Handler) JWKS(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=60")
	return c.Blob(http.StatusOK, "application/json", h.Keys.JWKS())
}
