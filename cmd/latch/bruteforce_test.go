package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Brute-force protection: ten failures for one identifier from one IP block further
// attempts from that IP — the right password included, and before any hash is computed —
// until an admin lifts the block; a backend's auth0-forwarded-for is honoured only for a
// client that proved its secret.
func TestBruteForceProtection(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	created := signup(t, l, clientID, "target@example.com", "Correct-Horse-9", nil)
	userID := "auth0|" + created["_id"].(string)

	login := func(user, pw, forwardedFor string) (*http.Response, []byte) {
		form := url.Values{
			"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
			"client_id": {clientID}, "client_secret": {secret}, "username": {user}, "password": {pw},
		}
		req, _ := http.NewRequest(http.MethodPost, l.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if forwardedFor != "" {
			req.Header.Set("Auth0-Forwarded-For", forwardedFor)
		}
		req.Header.Set("X-Forwarded-For", "198.51.100.99") // never trusted
		return send(t, req)
	}
	for i := range 10 {
		resp, body := login("Target@example.com", "wrong-"+string(rune('a'+i)), "")
		wantOAuthError(t, resp, body, http.StatusForbidden, "invalid_grant", "Wrong email or password.")
	}
	resp, body := login("target@example.com", "Correct-Horse-9", "")
	wantOAuthError(t, resp, body, http.StatusTooManyRequests, "too_many_attempts", "blocked after multiple consecutive login attempts")

	// Another address, named by this confidential client's backend, is not blocked.
	resp, body = login("target@example.com", "Correct-Horse-9", "203.0.113.7")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login from another end-user address: %d %s", resp.StatusCode, body)
	}
	// The admin sees the block and lifts it.
	resp, body = l.Do(t, http.MethodGet, "/api/v2/user-blocks/"+url.PathEscape(userID), mgmt, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"identifier":"target@example.com","ip":"127.0.0.1"`) {
		t.Fatalf("user-blocks: %d %s", resp.StatusCode, body)
	}
	if resp, body := l.Do(t, http.MethodDelete, "/api/v2/user-blocks/"+url.PathEscape(userID), mgmt, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("unblock: %d %s", resp.StatusCode, body)
	}
	if resp, body = login("target@example.com", "Correct-Horse-9", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("login after unblock: %d %s", resp.StatusCode, body)
	}

	// Unknown identifiers are counted too (no enumeration), and unblocked by identifier.
	for range 10 {
		login("ghost@example.com", "x", "")
	}
	resp, body = login("ghost@example.com", "x", "")
	wantOAuthError(t, resp, body, http.StatusTooManyRequests, "too_many_attempts", "")
	resp, body = l.Do(t, http.MethodGet, "/api/v2/user-blocks?identifier=Ghost@example.com", mgmt, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ghost@example.com"`) {
		t.Fatalf("blocks by identifier: %d %s", resp.StatusCode, body)
	}
	if resp, _ := l.Do(t, http.MethodDelete, "/api/v2/user-blocks?identifier=ghost@example.com", mgmt, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("unblock identifier: %d", resp.StatusCode)
	}
	resp, body = login("ghost@example.com", "x", "")
	wantOAuthError(t, resp, body, http.StatusForbidden, "invalid_grant", "")

	// Bad input.
	if resp, body := l.Do(t, http.MethodDelete, "/api/v2/user-blocks", mgmt, nil); resp.StatusCode != 400 || !strings.Contains(string(body), "identifier") {
		t.Fatalf("unblock without identifier: %d %s", resp.StatusCode, body)
	}
	if resp, _ := l.Do(t, http.MethodGet, "/api/v2/user-blocks/auth0%7Cnope", mgmt, nil); resp.StatusCode != 404 {
		t.Fatalf("blocks of an unknown user: %d", resp.StatusCode)
	}
	if resp, _ := l.Do(t, http.MethodDelete, "/api/v2/user-blocks/"+url.PathEscape(userID), l.ManagementToken(t, "read:users"), nil); resp.StatusCode != 403 {
		t.Fatalf("unblock without update:users: %d", resp.StatusCode)
	}
}
