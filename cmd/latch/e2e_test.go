package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/redistest"
)

// appClient creates a first-party application allowed to use the password grants.
func appClient(t testing.TB, l *testLatch, mgmtToken string) (id, secret string) {
	t.Helper()
	resp, body := l.Do(t, http.MethodPost, "/api/v2/clients", mgmtToken, map[string]any{
		"name": "e2e app", "app_type": "regular_web",
		"grant_types":                []string{"password", "http://auth0.com/oauth/grant-type/password-realm"},
		"token_endpoint_auth_method": "client_secret_post",
		"callbacks":                  []string{"http://127.0.0.1/callback"},
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create client: %d %s", resp.StatusCode, body)
	}
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	mustJSON(t, body, &c)
	if c.ClientID == "" || c.ClientSecret == "" {
		t.Fatalf("client without id or secret: %s", body)
	}
	return c.ClientID, c.ClientSecret
}

func signup(t testing.TB, l *testLatch, clientID, email, pw string, meta map[string]any) map[string]any {
	t.Helper()
	resp, body := l.Do(t, http.MethodPost, "/dbconnections/signup", "", map[string]any{
		"client_id": clientID, "connection": "Username-Password-Authentication",
		"email": email, "password": pw, "user_metadata": meta,
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("signup: %d %s", resp.StatusCode, body)
	}
	var out map[string]any
	mustJSON(t, body, &out)
	return out
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	IDToken     string `json:"id_token"`
	Scope       string `json:"scope"`
	ExpiresIn   int    `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

func realmLogin(t testing.TB, l *testLatch, clientID, secret, user, pw string) tokenResponse {
	t.Helper()
	resp, body := l.PostForm(t, "/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
		"client_id": {clientID}, "client_secret": {secret}, "username": {user}, "password": {pw},
		"scope": {"openid profile email"},
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("password-realm login: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("token content type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("token Cache-Control %q, want no-store", cc)
	}
	var tr tokenResponse
	mustJSON(t, body, &tr)
	if tr.TokenType != "Bearer" || tr.ExpiresIn != 86400 || tr.IDToken == "" || tr.AccessToken == "" {
		t.Fatalf("token response: %s", body)
	}
	return tr
}

func userinfo(t testing.TB, l *testLatch, accessToken string) map[string]any {
	t.Helper()
	resp, body := l.Do(t, http.MethodGet, "/userinfo", accessToken, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo: %d %s", resp.StatusCode, body)
	}
	var out map[string]any
	mustJSON(t, body, &out)
	return out
}

// TestMainPath is the mission's path end to end on the embedded store: signup with
// user_metadata, password-realm login, go-oidc verifies the ID token against the JWKS,
// /userinfo answers, the Management API changes the profile, and the next login's token
// and /userinfo show the change.
func TestMainPath(t *testing.T) {
	l := startLatch(t)
	ctx := context.Background()
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)

	created := signup(t, l, clientID, "Jane.Doe@Example.com", "Correct-Horse-9", map[string]any{"plan": "silver", "lang": "fr"})
	if created["email"] != "jane.doe@example.com" {
		t.Fatalf("signup email = %v, want lower-cased", created["email"])
	}
	if created["_id"] == "" || created["_id"] != created["id"] {
		t.Fatalf("signup _id/id = %v/%v", created["_id"], created["id"])
	}
	userID := "auth0|" + created["_id"].(string)

	tr := realmLogin(t, l, clientID, secret, "jane.doe@example.com", "Correct-Horse-9")

	provider, err := oidc.NewProvider(ctx, l.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: clientID})
	idTok, err := verifier.Verify(ctx, tr.IDToken)
	if err != nil {
		t.Fatalf("go-oidc rejected the ID token: %v", err)
	}
	var claims map[string]any
	if err := idTok.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idTok.Subject != userID || claims["email"] != "jane.doe@example.com" || claims["name"] != "jane.doe@example.com" || claims["nickname"] != "jane.doe" {
		t.Fatalf("ID token claims: %v", claims)
	}
	if _, ok := claims["nonce"]; ok {
		t.Fatalf("password-grant ID token carries a nonce: %v", claims)
	}
	if ua, ok := claims["updated_at"].(string); !ok || !strings.HasSuffix(ua, "Z") || len(ua) != len("2006-01-02T15:04:05.000Z") {
		t.Fatalf("updated_at = %#v, want an ISO string with milliseconds", claims["updated_at"])
	}

	info := userinfo(t, l, tr.AccessToken)
	if info["sub"] != userID || info["email"] != "jane.doe@example.com" || info["email_verified"] != false {
		t.Fatalf("userinfo = %v", info)
	}
	// go-oidc's own userinfo client agrees.
	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tr.AccessToken, TokenType: "Bearer"}))
	if err != nil || ui.Subject != userID || ui.Email != "jane.doe@example.com" {
		t.Fatalf("go-oidc userinfo: %v %+v", err, ui)
	}

	// An admin changes the profile; user_metadata merges at the top level.
	resp, body := l.Do(t, http.MethodPatch, "/api/v2/users/"+url.PathEscape(userID), mgmt, map[string]any{
		"name": "Jane Doe", "user_metadata": map[string]any{"plan": "gold", "lang": nil, "seats": 1000000},
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("patch user: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), `"seats":1000000`) || strings.Contains(string(body), "password") {
		t.Fatalf("patched user body: %s", body)
	}
	var patched struct {
		UserMetadata map[string]any `json:"user_metadata"`
	}
	mustJSON(t, body, &patched)
	if patched.UserMetadata["plan"] != "gold" || patched.UserMetadata["lang"] != nil || len(patched.UserMetadata) != 2 {
		t.Fatalf("merged user_metadata = %v", patched.UserMetadata)
	}

	tr2 := realmLogin(t, l, clientID, secret, "jane.doe@example.com", "Correct-Horse-9")
	idTok2, err := verifier.Verify(ctx, tr2.IDToken)
	if err != nil {
		t.Fatalf("second ID token: %v", err)
	}
	var claims2 map[string]any
	_ = idTok2.Claims(&claims2)
	if claims2["name"] != "Jane Doe" {
		t.Fatalf("next login's ID token name = %v, want the patched name", claims2["name"])
	}
	if info := userinfo(t, l, tr2.AccessToken); info["name"] != "Jane Doe" {
		t.Fatalf("next /userinfo name = %v", info["name"])
	}

	// The plain password grant with oauth2's own client (default connection, client_secret_basic).
	conf := &oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: provider.Endpoint(), Scopes: []string{"openid", "email"}}
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	tok, err := conf.PasswordCredentialsToken(ctx, "jane.doe@example.com", "Correct-Horse-9")
	if err != nil {
		t.Fatalf("oauth2 password grant: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idTok3, err := verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("oauth2 ID token: %v", err)
	}
	var claims3 map[string]any
	_ = idTok3.Claims(&claims3)
	if _, hasName := claims3["name"]; hasName || claims3["email"] != "jane.doe@example.com" {
		t.Fatalf("scope openid email must give email claims and no profile claims: %v", claims3)
	}

	// The login counted: logins_count is 3 after three logins.
	resp, body = l.Do(t, http.MethodGet, "/api/v2/users/"+url.PathEscape(userID), mgmt, nil)
	var u map[string]any
	mustJSON(t, body, &u)
	if resp.StatusCode != http.StatusOK || u["logins_count"] != json.Number("3") && u["logins_count"] != float64(3) {
		t.Fatalf("user after logins: %d %s", resp.StatusCode, body)
	}
}

type oidcConfig = oidc.Config

func oidcProvider(t testing.TB, l *testLatch) (*oidc.Provider, error) {
	t.Helper()
	return oidc.NewProvider(context.Background(), l.Issuer)
}

func TestMetricsEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// With Redis, so that its calls are measured too.
	redisURL := redistest.NewServer(t).URL()
	l := startLatch(t, func(c *Config) { c.MetricsAddr, c.RedisURL = addr, redisURL })
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	signup(t, l, clientID, "metrics@example.com", "Correct-Horse-9", nil)
	realmLogin(t, l, clientID, secret, "metrics@example.com", "Correct-Horse-9")
	l.PostForm(t, "/oauth/token", url.Values{"grant_type": {"password"}, "client_id": {clientID}, "client_secret": {secret}, "username": {"metrics@example.com"}, "password": {"wrong"}})
	l.Do(t, http.MethodGet, "/api/v2/users/auth0%7Cnope", mgmt, nil)

	body := getBody(t, "http://"+addr+"/metrics")
	for _, want := range []string{
		`latch_logins_total{outcome="ok"} 1`,
		`latch_logins_total{outcome="wrong_credentials"} 1`,
		`latch_signups_total{outcome="ok"} 1`,
		`latch_http_request_duration_seconds_count{code="4xx",method="GET",route="/api/v2/users/:id"} 1`,
		`latch_storage_call_duration_seconds_count{backend="redis",op="evalsha"}`,
		`latch_password_hash_in_use 0`,
		`latch_password_hash_waiting 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, `backend="redis",op="other"`) {
		t.Error("a Redis command latch sends has no label of its own")
	}
	if strings.Contains(body, "auth0%7Cnope") || strings.Contains(body, "auth0|nope") {
		t.Error("metrics carry a raw path")
	}
	// Not on the public listener.
	if resp, _ := l.Do(t, http.MethodGet, "/metrics", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the public listener: %d", resp.StatusCode)
	}
}
