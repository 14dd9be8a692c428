package main

import (
	"net/http"
	"testing"
)

// cross_origin_authentication, sso_disabled and initiate_login_uri are stored and returned;
// sso_disabled makes every login of the client ask for credentials.
func TestClientSSODisabledAndLoginURI(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	spa := spaClient(t, l, tok, nil)
	signup(t, l, spa, "sso@example.com", strongPassword, nil)

	c := mgmtJSON(t, l, http.MethodPatch, "/api/v2/clients/"+spa, tok, map[string]any{
		"cross_origin_authentication": true, "initiate_login_uri": "https://app.example.com/login"}, http.StatusOK)
	if c["cross_origin_authentication"] != true || c["sso_disabled"] != false || c["initiate_login_uri"] != "https://app.example.com/login" {
		t.Fatalf("client after PATCH: %v", c)
	}
	got := mgmtJSON(t, l, http.MethodGet, "/api/v2/clients/"+spa, tok, nil, http.StatusOK)
	if got["cross_origin_authentication"] != true || got["initiate_login_uri"] != "https://app.example.com/login" {
		t.Errorf("client as read: %v", got)
	}
	for _, bad := range []map[string]any{
		{"initiate_login_uri": "http://app.example.com/login"},
		{"initiate_login_uri": "https://app.example.com/login#frag"},
		{"initiate_login_uri": "not a url"},
		{"sso_disabled": nil},
		{"cross_origin_authentication": "yes"},
	} {
		resp, body := l.Do(t, http.MethodPatch, "/api/v2/clients/"+spa, tok, bad)
		wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_body", "")
	}

	// With a session, /authorize answers at once; with sso_disabled, it asks again.
	_, challenge := pkce()
	ua := newUserAgent(t, l)
	ua.login(t, authorizeParams(spa, challenge), "sso@example.com", strongPassword)
	resp, _ := ua.authorize(t, authorizeParams(spa, challenge))
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || len(loc) < 8 || loc[:8] == "/u/login" {
		t.Fatalf("authorize with a session: %d %s, want a redirect to the client", resp.StatusCode, loc)
	}
	mgmtJSON(t, l, http.MethodPatch, "/api/v2/clients/"+spa, tok, map[string]any{"sso_disabled": true}, http.StatusOK)
	resp, _ = ua.authorize(t, authorizeParams(spa, challenge))
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || len(loc) < 8 || loc[:8] != "/u/login" {
		t.Errorf("authorize with a session and sso_disabled: %d %s, want the login page", resp.StatusCode, loc)
	}
}
