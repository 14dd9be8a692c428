package mgmtapi

import (
	"crypto/sha1" //nolint:gosec // Auth0's key fingerprint and thumbprint are SHA-1 of the certificate.
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/tokens"
)

// keyRoutes are the signing-key endpoints (AUTH0-COMPAT §5.8).
func (h *Handler) keyRoutes(g *echo.Group) {
	g.GET("/keys/signing", h.listKeys, requireScope("read:signing_keys"))
	g.POST("/keys/signing/rotate", h.rotateKey, requireScope("create:signing_keys", "update:signing_keys"))
	g.GET("/keys/signing/:kid", h.getKey, requireScope("read:signing_keys"))
	g.PUT("/keys/signing/:kid/revoke", h.revokeKey, requireScope("update:signing_keys"))
}

// keyJSON is a signing key as the Management API shows it; never the private part.
type keyJSON struct {
	KID          string `json:"kid"`
	Cert         string `json:"cert"`
	Fingerprint  string `json:"fingerprint"`
	Thumbprint   string `json:"thumbprint"`
	Current      bool   `json:"current"`
	Next         bool   `json:"next"`
	Previous     bool   `json:"previous"`
	Revoked      bool   `json:"revoked"`
	CurrentSince string `json:"current_since,omitempty"`
	CurrentUntil string `json:"current_until,omitempty"`
	RevokedAt    string `json:"revoked_at,omitempty"`
}

func renderKey(k storage.SigningKey) keyJSON {
	sum := sha1.Sum(k.CertDER) //nolint:gosec // see import
	thumb := strings.ToUpper(hex.EncodeToString(sum[:]))
	pairs := make([]string, len(sum))
	for i, b := range sum {
		pairs[i] = strings.ToUpper(hex.EncodeToString([]byte{b}))
	}
	return keyJSON{
		KID: k.KID, Cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.CertDER})),
		Fingerprint: strings.Join(pairs, ":"), Thumbprint: thumb,
		Current: k.State == storage.KeyCurrent, Next: k.State == storage.KeyNext,
		Previous: k.State == storage.KeyPrevious, Revoked: k.State == storage.KeyRevoked,
		CurrentSince: isoTimeOrEmpty(k.CurrentSince), CurrentUntil: isoTimeOrEmpty(k.CurrentUntil),
		RevokedAt: isoTimeOrEmpty(k.RevokedAt),
	}
}

func keyNotFound() error {
	return apierror.NewManagement(http.StatusNotFound, "inexistent_key", "The signing key does not exist.")
}

// listKeys serves GET /api/v2/keys/signing: every key, newest first.
func (h *Handler) listKeys(c echo.Context) error {
	keys, err := h.Store.ListSigningKeys(c.Request().Context())
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	out := make([]keyJSON, len(keys))
	for i, k := range keys {
		out[i] = renderKey(k)
	}
	return c.JSON(http.StatusOK, out)
}

// getKey serves GET /api/v2/keys/signing/{kid}.
func (h *Handler) getKey(c echo.Context) error {
	kid, ok := pathID(c, "kid")
	if !ok {
		return keyNotFound()
	}
	keys, err := h.Store.ListSigningKeys(c.Request().Context())
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	for _, k := range keys {
		if k.KID == kid {
			return c.JSON(http.StatusOK, renderKey(k))
		}
	}
	return keyNotFound()
}

// rotateKey serves POST /api/v2/keys/signing/rotate: the next key (already published) starts
// signing; the answer is {cert, kid} of that key.
func (h *Handler) rotateKey(c echo.Context) error {
	k, err := h.Keys.Rotate(c.Request().Context())
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	h.Flow.Changed(c.Request().Context(), storage.TopicKeys) // other instances reload their keys
	r := renderKey(k)
	return c.JSON(http.StatusCreated, map[string]string{"cert": r.Cert, "kid": r.KID})
}

// revokeKey serves PUT /api/v2/keys/signing/{kid}/revoke: a previous key stops verifying.
func (h *Handler) revokeKey(c echo.Context) error {
	kid, ok := pathID(c, "kid")
	if !ok {
		return keyNotFound()
	}
	k, err := h.Keys.Revoke(c.Request().Context(), kid)
	switch {
	case errors.Is(err, tokens.ErrKeyNotFound):
		return keyNotFound()
	case errors.Is(err, tokens.ErrKeyNotRevocable):
		return apierror.NewManagement(http.StatusBadRequest, "invalid_key_state", "Only a previous signing key can be revoked; rotate first.")
	case err != nil:
		return apierror.ManagementServerError(err)
	}
	h.Flow.Changed(c.Request().Context(), storage.TopicKeys)
	r := renderKey(k)
	return c.JSON(http.StatusOK, map[string]string{"cert": r.Cert, "kid": r.KID})
}
