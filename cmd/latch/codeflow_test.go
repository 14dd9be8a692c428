package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestCodeFlowWithGoOIDC runs the browser login with go-oidc and x/oauth2 as the relying
// party: authorize with PKCE and a nonce, the hosted login form, the code exchange, the ID
// token verified (signature, nonce, at_hash), /userinfo, then refresh with rotation and
// reuse detection.
func TestCodeFlowWithGoOIDC(t *testing.T) {
	l := startLatch(t)
	ctx := context.Background()
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	signup(t, l, clientID, "ada@example.com", "Analytical-Engine-1", map[string]any{"plan": "gold"})
	createRule(t, l, mgmt, "plan-claim", `function (user, context, callback) {
  context.idToken['https://example.com/plan'] = user.user_metadata.plan;
  context.accessToken['https://example.com/plan'] = user.user_metadata.plan;
  callback(null, user, context);
}`)

	provider, err := oidc.NewProvider(ctx, l.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := &oauth2.Config{
		ClientID: clientID, Endpoint: provider.Endpoint(), RedirectURL: spaCallback,
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-1"))
	u, _ := url.Parse(authURL)
	ua := newUserAgent(t, l)
	back := ua.login(t, u.Query(), "ada@example.com", "Analytical-Engine-1")
	if got := back.Scheme + "://" + back.Host + back.Path; got != spaCallback {
		t.Fatalf("redirected to %s, want the callback", back)
	}
	if back.Query().Get("state") != "state-1" || back.Query().Get("code") == "" {
		t.Fatalf("callback query = %v", back.Query())
	}

	tok, err := conf.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idTok, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc rejected the ID token: %v", err)
	}
	if idTok.Nonce != "nonce-1" {
		t.Fatalf("nonce = %q", idTok.Nonce)
	}
	if err := idTok.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	var claims map[string]any
	_ = idTok.Claims(&claims)
	if claims["https://example.com/plan"] != "gold" || claims["email"] != "ada@example.com" {
		t.Fatalf("ID token claims = %v", claims)
	}
	if at, ok := claims["auth_time"].(float64); !ok || time.Since(time.Unix(int64(at), 0)) > time.Hour {
		t.Fatalf("auth_time = %v", claims["auth_time"])
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var infoClaims map[string]any
	_ = info.Claims(&infoClaims)
	if info.Subject != idTok.Subject || infoClaims["https://example.com/plan"] != "gold" {
		t.Fatalf("userinfo = %v", infoClaims)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}

	// Refresh: a new refresh token each time (rotation), an ID token without nonce.
	first := tok.RefreshToken
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	tok2, err := conf.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.RefreshToken == "" || tok2.RefreshToken == first {
		t.Fatalf("refresh did not rotate: %q", tok2.RefreshToken)
	}
	rawID2, _ := tok2.Extra("id_token").(string)
	idTok2, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(ctx, rawID2)
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	var claims2 map[string]any
	_ = idTok2.Claims(&claims2)
	if _, ok := claims2["nonce"]; ok || claims2["https://example.com/plan"] != "gold" {
		t.Fatalf("refreshed ID token claims = %v (want the rule's claim, no nonce)", claims2)
	}

	// Reusing the rotated token fails and revokes the family: the newest token dies too.
	resp, body := l.PostForm(t, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {first}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"invalid_grant"`) {
		t.Fatalf("reused refresh token: %d %s", resp.StatusCode, body)
	}
	resp, body = l.PostForm(t, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {tok2.RefreshToken}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Unknown or invalid refresh token.") {
		t.Fatalf("family member after reuse: %d %s", resp.StatusCode, body)
	}
}

// TestCodeReplayRevokes: a code is good once; the second exchange fails and revokes the
// refresh token the first one issued (RFC 9700 §4.5).
func TestCodeReplayRevokes(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	signup(t, l, clientID, "bob@example.com", "Replay-Me-Not-1", nil)
	verifier, challenge := pkce()
	back := newUserAgent(t, l).login(t, authorizeParams(clientID, challenge), "bob@example.com", "Replay-Me-Not-1")
	exchange := url.Values{
		"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {back.Query().Get("code")},
		"redirect_uri": {spaCallback}, "code_verifier": {verifier},
	}
	resp, body := l.PostForm(t, "/oauth/token", exchange)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first exchange: %d %s", resp.StatusCode, body)
	}
	var tr struct {
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
	}
	mustJSON(t, body, &tr)
	if tr.RefreshToken == "" || tr.IDToken == "" {
		t.Fatalf("first exchange body: %s", body)
	}
	resp, body = l.PostForm(t, "/oauth/token", exchange)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Invalid authorization code") {
		t.Fatalf("replayed code: %d %s", resp.StatusCode, body)
	}
	resp, body = l.PostForm(t, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {tr.RefreshToken}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("refresh token of a replayed code still works: %d %s", resp.StatusCode, body)
	}
}

// TestCodeExchangeRefusals: what the token endpoint refuses for codes, without spending a
// good code on a malformed request.
func TestCodeExchangeRefusals(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	otherID := spaClient(t, l, mgmt, nil)
	signup(t, l, clientID, "eve@example.com", "Pkce-Downgrade-1", nil)
	verifier, challenge := pkce()
	ua := newUserAgent(t, l)
	code := ua.login(t, authorizeParams(clientID, challenge), "eve@example.com", "Pkce-Downgrade-1").Query().Get("code")
	post := func(mut func(url.Values)) (int, string) {
		v := url.Values{
			"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {code},
			"redirect_uri": {spaCallback}, "code_verifier": {verifier},
		}
		mut(v)
		resp, body := l.PostForm(t, "/oauth/token", v)
		return resp.StatusCode, string(body)
	}
	for _, tc := range []struct {
		name   string
		mut    func(url.Values)
		status int
		want   string
	}{
		{"missing code", func(v url.Values) { v.Del("code") }, 400, "Missing required parameter: code"},
		{"missing redirect_uri", func(v url.Values) { v.Del("redirect_uri") }, 400, "Missing required parameter: redirect_uri"},
		{"unknown code", func(v url.Values) { v.Set("code", "not-a-code") }, 403, "Invalid authorization code"},
	} {
		if status, body := post(tc.mut); status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s", tc.name, status, body)
		}
	}
	// The good code still works after those refusals... but a wrong verifier spends it.
	if status, body := post(func(v url.Values) { v.Set("code_verifier", strings.Repeat("z", 43)) }); status != 403 || !strings.Contains(body, "Failed to verify code verifier") {
		t.Fatalf("wrong verifier: %d %s", status, body)
	}
	if status, body := post(func(url.Values) {}); status != 403 {
		t.Fatalf("a code survived a failed exchange: %d %s", status, body)
	}

	// Each of these gets a fresh code, then fails.
	for _, tc := range []struct {
		name string
		mut  func(url.Values)
		want string
	}{
		{"other client", func(v url.Values) { v.Set("client_id", otherID) }, "Invalid authorization code"},
		{"redirect_uri differs", func(v url.Values) { v.Set("redirect_uri", spaCallback+"/") }, "Invalid authorization code"},
		{"no verifier", func(v url.Values) { v.Del("code_verifier") }, "Failed to verify code verifier"},
	} {
		// A fresh browser each time: with a session, /authorize would answer without the form.
		code = newUserAgent(t, l).login(t, authorizeParams(clientID, challenge), "eve@example.com", "Pkce-Downgrade-1").Query().Get("code")
		if status, body := post(tc.mut); status != 403 || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s", tc.name, status, body)
		}
	}
}
