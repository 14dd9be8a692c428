package storage

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// NewUserID returns a database user id: "auth0|" and 24 hex digits, like Auth0's.
func NewUserID() string { return "auth0|" + randomHex(12) }

// NewClientID returns a client id: 32 URL-safe characters.
func NewClientID() string { return randomString(24) }

// NewClientSecret returns a client secret with 384 bits of entropy.
func NewClientSecret() string { return randomString(48) }

// NewConnectionID returns "con_" and 16 random characters.
func NewConnectionID() string { return "con_" + randomHex(8) }

// NewClientGrantID returns "cgr_" and 16 random characters.
func NewClientGrantID() string { return "cgr_" + randomHex(8) }

// NewRuleID returns "rul_" and 16 random characters.
func NewRuleID() string { return "rul_" + randomHex(8) }

// NewActionID returns "act_" and 16 random characters.
func NewActionID() string { return "act_" + randomHex(8) }

// NewBindingID returns "bnd_" and 16 random characters.
func NewBindingID() string { return "bnd_" + randomHex(8) }

// NewGrantID returns a grant id with 128 bits of entropy.
func NewGrantID() string { return randomString(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewOpaqueToken returns a random token with 256 bits of entropy, URL-safe: for codes,
// session cookies, refresh tokens and transaction ids.
func NewOpaqueToken() string { return randomString(32) }

// TokenID is what a store keeps of an opaque token: its SHA-256, hex. A token has 256 random
// bits, so a plain hash (no salt, no stretching) cannot be reversed.
func TokenID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
