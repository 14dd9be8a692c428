package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

func jwksKIDs(t *testing.T, l *testLatch) []string {
	t.Helper()
	var set jose.JSONWebKeySet
	mustJSON(t, []byte(getBody(t, l.URL+"/.well-known/jwks.json")), &set)
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

// Key rotation over the Management API: the published next key starts signing, tokens of the
// previous key keep verifying until it is revoked, and all of it survives a restart.
func TestSigningKeyRotation(t *testing.T) {
	l := startLatch(t)
	ctx := context.Background()
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	signup(t, l, clientID, "rot@example.com", "Correct-Horse-9", nil)

	resp, body := l.Do(t, http.MethodGet, "/api/v2/keys/signing", mgmt, nil)
	var keys []map[string]any
	mustJSON(t, body, &keys)
	if resp.StatusCode != 200 || len(keys) != 2 || strings.Contains(string(body), "PRIVATE") {
		t.Fatalf("keys: %d %s", resp.StatusCode, body)
	}
	var current, next string
	for _, k := range keys {
		if k["current"] == true {
			current = k["kid"].(string)
		}
		if k["next"] == true {
			next = k["kid"].(string)
		}
		if !strings.HasPrefix(k["cert"].(string), "-----BEGIN CERTIFICATE-----") || len(k["thumbprint"].(string)) != 40 {
			t.Fatalf("key shape: %v", k)
		}
	}
	if current == "" || next == "" || strings.Join(jwksKIDs(t, l), " ") != current+" "+next {
		t.Fatalf("before rotation: current %q next %q, JWKS %v", current, next, jwksKIDs(t, l))
	}
	before := realmLogin(t, l, clientID, secret, "rot@example.com", "Correct-Horse-9")

	resp, body = l.Do(t, http.MethodPost, "/api/v2/keys/signing/rotate", mgmt, nil)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(body), `"kid":"`+next+`"`) {
		t.Fatalf("rotate: %d %s", resp.StatusCode, body)
	}
	kids := jwksKIDs(t, l)
	if len(kids) != 3 || kids[0] != next || kids[2] != current {
		t.Fatalf("JWKS after rotation: %v", kids)
	}
	provider, err := oidc.NewProvider(ctx, l.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: clientID})
	if _, err := verifier.Verify(ctx, before.IDToken); err != nil {
		t.Fatalf("an ID token of the previous key: %v", err)
	}
	if info := userinfo(t, l, before.AccessToken); info["email"] != "rot@example.com" {
		t.Fatalf("an access token of the previous key: %v", info)
	}
	after := realmLogin(t, l, clientID, secret, "rot@example.com", "Correct-Horse-9")
	if kid := decodeJWTHeader(t, after.IDToken)["kid"]; kid != next {
		t.Fatalf("new tokens signed with %v, want %s", kid, next)
	}

	for name, c := range map[string]struct {
		kid    string
		status int
	}{"the current key": {next, 400}, "an unknown key": {"nope", 404}} {
		if resp, body := l.Do(t, http.MethodPut, "/api/v2/keys/signing/"+c.kid+"/revoke", mgmt, nil); resp.StatusCode != c.status {
			t.Errorf("revoke %s: %d %s", name, resp.StatusCode, body)
		}
	}
	if resp, body := l.Do(t, http.MethodPut, "/api/v2/keys/signing/"+current+"/revoke", mgmt, nil); resp.StatusCode != 200 {
		t.Fatalf("revoke previous: %d %s", resp.StatusCode, body)
	}
	// The Management token itself was signed by the revoked key: it stops working too.
	if resp, _ := l.Do(t, http.MethodGet, "/api/v2/keys/signing", mgmt, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a Management token of a revoked key: %d", resp.StatusCode)
	}
	mgmt = l.ManagementToken(t, "")
	resp, body = l.Do(t, http.MethodGet, "/userinfo", before.AccessToken, nil)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_token", "")
	if kids := jwksKIDs(t, l); len(kids) != 2 || kids[0] != next {
		t.Fatalf("JWKS after revocation: %v", kids)
	}
	resp, body = l.Do(t, http.MethodGet, "/api/v2/keys/signing/"+current, mgmt, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"revoked":true`) || !strings.Contains(string(body), `"revoked_at":"`) {
		t.Fatalf("revoked key: %d %s", resp.StatusCode, body)
	}

	// Scopes.
	readOnly := l.ManagementToken(t, "read:signing_keys")
	if resp, _ := l.Do(t, http.MethodPost, "/api/v2/keys/signing/rotate", readOnly, nil); resp.StatusCode != 403 {
		t.Fatalf("rotate with read:signing_keys only: %d", resp.StatusCode)
	}
	if resp, _ := l.Do(t, http.MethodGet, "/api/v2/keys/signing", l.ManagementToken(t, "read:users"), nil); resp.StatusCode != 403 {
		t.Fatalf("list keys without read:signing_keys: %d", resp.StatusCode)
	}

	// It all survives a restart.
	want := strings.Join(jwksKIDs(t, l), " ")
	l.Restart()
	if got := strings.Join(jwksKIDs(t, l), " "); got != want {
		t.Fatalf("JWKS after restart %q, want %q", got, want)
	}
	if info := userinfo(t, l, after.AccessToken); info["email"] != "rot@example.com" {
		t.Fatalf("current-key token after restart: %v", info)
	}
}
