package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// The token side of the browser flow: refresh-token policies, POST /oauth/revoke and CORS
// for the endpoints browsers call. See oidc_conformance_test.go for the helpers.

// browserTokens logs the user in with a new browser through the code flow and exchanges the
// code; scope replaces authorizeParams' scope when not "".
func browserTokens(t *testing.T, l *testLatch, clientID, email, pw, scope string) oauthTokens {
	t.Helper()
	verifier, challenge := pkce()
	params := authorizeParams(clientID, challenge)
	if scope != "" {
		params.Set("scope", scope)
	}
	back := newUserAgent(t, l).login(t, params, email, pw)
	return exchangeCode(t, l, clientID, back.Query().Get("code"), verifier)
}

// refreshGrant posts grant_type=refresh_token and returns the status and the raw body.
func refreshGrant(t *testing.T, l *testLatch, clientID, token, scope string) (int, []byte) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {token}}
	if scope != "" {
		form.Set("scope", scope)
	}
	resp, body := l.PostForm(t, "/oauth/token", form)
	return resp.StatusCode, body
}

// mustRefresh demands a successful refresh.
func mustRefresh(t *testing.T, l *testLatch, clientID, token, scope string) oauthTokens {
	t.Helper()
	status, body := refreshGrant(t, l, clientID, token, scope)
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %s", status, body)
	}
	var tr oauthTokens
	mustJSON(t, body, &tr)
	if tr.AccessToken == "" || tr.IDToken == "" {
		t.Fatalf("refresh response without tokens: %s", body)
	}
	return tr
}

// wantRefreshRefused demands Auth0's refusal of an unusable refresh token.
func wantRefreshRefused(t *testing.T, l *testLatch, clientID, token string) {
	t.Helper()
	status, body := refreshGrant(t, l, clientID, token, "")
	if status != http.StatusForbidden || strings.TrimSpace(string(body)) != `{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}` {
		t.Fatalf("refresh with an unusable token: %d %s", status, body)
	}
}

func patchClient(t *testing.T, l *testLatch, mgmt, clientID string, body map[string]any) {
	t.Helper()
	mgmtJSON(t, l, http.MethodPatch, "/api/v2/clients/"+clientID, mgmt, body, http.StatusOK)
}

// TestRefreshTokenPolicies: the client's refresh_token policy as the Management API sets it
// (non-rotating tokens, rotation leeway), scopes on refresh, and when no refresh token is
// issued at all.
//
// Rotation outside the leeway is not tested here: the harness has no clock to move, and
// the leeway is at least a second. Reuse with no leeway (the default) is in
// TestCodeFlowWithGoOIDC.
func TestRefreshTokenPolicies(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	signup(t, l, clientID, "rt@example.com", "Refresh-Policy-1", nil)
	const full = "openid profile email offline_access"

	t.Run("non-rotating", func(t *testing.T) {
		id := spaClient(t, l, mgmt, nil)
		patchClient(t, l, mgmt, id, map[string]any{"refresh_token": map[string]any{"rotation_type": "non-rotating", "expiration_type": "non-expiring"}})
		rt := browserTokens(t, l, id, "rt@example.com", "Refresh-Policy-1", "").RefreshToken
		if rt == "" {
			t.Fatal("no refresh token")
		}
		for range 3 {
			status, body := refreshGrant(t, l, id, rt, "")
			if status != http.StatusOK || strings.Contains(string(body), "refresh_token") {
				t.Fatalf("non-rotating refresh: %d %s (want no refresh_token in the answer)", status, body)
			}
		}
	})

	t.Run("leeway", func(t *testing.T) {
		id := spaClient(t, l, mgmt, nil)
		patchClient(t, l, mgmt, id, map[string]any{"refresh_token": map[string]any{"rotation_type": "rotating", "leeway": 30}})
		rt0 := browserTokens(t, l, id, "rt@example.com", "Refresh-Policy-1", "").RefreshToken
		rt1 := mustRefresh(t, l, id, rt0, "").RefreshToken
		// rt0 again, within the leeway (a concurrent request): it works, with a new token.
		again := mustRefresh(t, l, id, rt0, "").RefreshToken
		for _, tok := range []string{rt0, rt1, again} {
			if tok == "" {
				t.Fatal("a rotating refresh gave no refresh token")
			}
		}
		if again == rt1 || again == rt0 || rt1 == rt0 {
			t.Fatal("rotation handed out a token twice")
		}
		// Both the newer token and the one from the reuse still work.
		mustRefresh(t, l, id, rt1, "")
		mustRefresh(t, l, id, again, "")
	})

	t.Run("no leeway", func(t *testing.T) {
		// The control for the leeway case: the same reuse without leeway kills the family.
		rt0 := browserTokens(t, l, clientID, "rt@example.com", "Refresh-Policy-1", "").RefreshToken
		rt1 := mustRefresh(t, l, clientID, rt0, "").RefreshToken
		wantRefreshRefused(t, l, clientID, rt0)
		wantRefreshRefused(t, l, clientID, rt1)
	})

	t.Run("scopes", func(t *testing.T) {
		tr := browserTokens(t, l, clientID, "rt@example.com", "Refresh-Policy-1", "")
		if tr.Scope != full {
			t.Fatalf("scope %q", tr.Scope)
		}
		// A scope never granted: refused, and the token stays good.
		status, body := refreshGrant(t, l, clientID, tr.RefreshToken, "openid read:admin")
		if status != http.StatusForbidden || !strings.Contains(string(body), `"error":"invalid_scope"`) || !strings.Contains(string(body), "read:admin") {
			t.Fatalf("refresh with an extra scope: %d %s", status, body)
		}
		down := mustRefresh(t, l, clientID, tr.RefreshToken, "openid")
		if down.Scope != "openid" || jwtClaims(t, down.AccessToken)["scope"] != "openid" {
			t.Fatalf("scoped-down refresh: scope %q, access token %v", down.Scope, jwtClaims(t, down.AccessToken)["scope"])
		}
		if c := jwtClaims(t, down.IDToken); c["email"] != nil || c["name"] != nil {
			t.Fatalf("ID token of an openid-only refresh carries profile claims: %v", c)
		}
		// Narrowing one refresh does not narrow the refresh token's grant.
		if back := mustRefresh(t, l, clientID, down.RefreshToken, ""); back.Scope != full || jwtClaims(t, back.IDToken)["email"] != "rt@example.com" {
			t.Fatalf("refresh after a narrowed one: scope %q", back.Scope)
		}
	})

	t.Run("other client", func(t *testing.T) {
		otherID := spaClient(t, l, mgmt, nil)
		rt := browserTokens(t, l, clientID, "rt@example.com", "Refresh-Policy-1", "").RefreshToken
		wantRefreshRefused(t, l, otherID, rt)
	})

	t.Run("no offline_access", func(t *testing.T) {
		verifier, challenge := pkce()
		params := authorizeParams(clientID, challenge)
		params.Set("scope", "openid profile email")
		back := newUserAgent(t, l).login(t, params, "rt@example.com", "Refresh-Policy-1")
		resp, body := l.PostForm(t, "/oauth/token", url.Values{
			"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {back.Query().Get("code")},
			"redirect_uri": {spaCallback}, "code_verifier": {verifier},
		})
		if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "refresh_token") {
			t.Fatalf("exchange without offline_access: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("no refresh_token grant", func(t *testing.T) {
		id := spaClient(t, l, mgmt, map[string]any{"grant_types": []string{"authorization_code"}})
		verifier, challenge := pkce()
		back := newUserAgent(t, l).login(t, authorizeParams(id, challenge), "rt@example.com", "Refresh-Policy-1")
		resp, body := l.PostForm(t, "/oauth/token", url.Values{
			"grant_type": {"authorization_code"}, "client_id": {id}, "code": {back.Query().Get("code")},
			"redirect_uri": {spaCallback}, "code_verifier": {verifier},
		})
		var tr map[string]any
		mustJSON(t, body, &tr)
		if resp.StatusCode != http.StatusOK || tr["refresh_token"] != nil || tr["scope"] != full {
			t.Fatalf("exchange for a client without the refresh_token grant: %d %s", resp.StatusCode, body)
		}
		// And it may not use another client's refresh token through the grant either.
		rt := browserTokens(t, l, clientID, "rt@example.com", "Refresh-Policy-1", "").RefreshToken
		status, body := refreshGrant(t, l, id, rt, "")
		wantOAuthError(t, &http.Response{StatusCode: status}, body, http.StatusForbidden, "unauthorized_client", "refresh_token")
	})
}

// revoke posts to /oauth/revoke.
func revoke(t *testing.T, l *testLatch, form url.Values) (*http.Response, []byte) {
	t.Helper()
	return l.PostForm(t, "/oauth/revoke", form)
}

// TestRevokeEndpoint: POST /oauth/revoke (AUTH0-COMPAT §2.7, RFC 7009) ends the token's
// whole family; unknown tokens and other clients' tokens are answered 200 and left alone;
// bad requests and bad client credentials are refused.
func TestRevokeEndpoint(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	otherID := spaClient(t, l, mgmt, nil)
	signup(t, l, clientID, "rev@example.com", "Revoke-Me-1", nil)
	wantEmpty200 := func(name string, resp *http.Response, body []byte) {
		t.Helper()
		if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %d %q %v", name, resp.StatusCode, body, resp.Header)
		}
	}

	// Revoking the current token ends it.
	rt := browserTokens(t, l, clientID, "rev@example.com", "Revoke-Me-1", "").RefreshToken
	resp, body := revoke(t, l, url.Values{"client_id": {clientID}, "token": {rt}, "token_type_hint": {"refresh_token"}})
	wantEmpty200("revoke", resp, body)
	wantRefreshRefused(t, l, clientID, rt)
	resp, body = revoke(t, l, url.Values{"client_id": {clientID}, "token": {rt}})
	wantEmpty200("revoke again", resp, body)

	// Revoking an older token of a family ends the newest one too (JSON body, as
	// auth0-spa-js sends without useFormData).
	rt0 := browserTokens(t, l, clientID, "rev@example.com", "Revoke-Me-1", "").RefreshToken
	rt1 := mustRefresh(t, l, clientID, rt0, "").RefreshToken
	resp, body = l.Do(t, http.MethodPost, "/oauth/revoke", "", map[string]any{"client_id": clientID, "token": rt0})
	wantEmpty200("revoke by JSON", resp, body)
	wantRefreshRefused(t, l, clientID, rt1)

	// Another family of the same user is untouched.
	keep := browserTokens(t, l, clientID, "rev@example.com", "Revoke-Me-1", "").RefreshToken
	resp, body = revoke(t, l, url.Values{"client_id": {clientID}, "token": {"no-such-token"}})
	wantEmpty200("unknown token", resp, body)
	// A token of another client: 200, and the token still works.
	resp, body = revoke(t, l, url.Values{"client_id": {otherID}, "token": {keep}})
	wantEmpty200("another client's token", resp, body)
	keep = mustRefresh(t, l, clientID, keep, "").RefreshToken

	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		code   string
		desc   string
	}{
		{"missing token", url.Values{"client_id": {clientID}}, 400, "invalid_request", "Missing required parameter: token"},
		{"access token hint", url.Values{"client_id": {clientID}, "token": {keep}, "token_type_hint": {"access_token"}}, 400, "unsupported_token_type", "Only refresh tokens can be revoked"},
		{"missing client", url.Values{"token": {keep}}, 400, "invalid_request", "client_id"},
		{"unknown client", url.Values{"client_id": {"nope"}, "token": {keep}}, 401, "invalid_client", "Unauthorized"},
	} {
		resp, body := revoke(t, l, tc.form)
		wantOAuthError(t, resp, body, tc.status, tc.code, tc.desc)
	}
	mustRefresh(t, l, clientID, keep, "") // none of those revoked it

	// A confidential client must prove its secret.
	created := mgmtJSON(t, l, http.MethodPost, "/api/v2/clients", mgmt, map[string]any{
		"name": "web app", "app_type": "regular_web", "callbacks": []string{spaCallback},
	}, http.StatusCreated)
	webID, webSecret := created["client_id"].(string), created["client_secret"].(string)
	for name, form := range map[string]url.Values{
		"wrong secret": {"client_id": {webID}, "client_secret": {webSecret + "x"}, "token": {"t"}},
		"no secret":    {"client_id": {webID}, "token": {"t"}},
	} {
		resp, body := revoke(t, l, form)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
		wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client", "Unauthorized")
	}
	req, _ := http.NewRequest(http.MethodPost, l.URL+"/oauth/revoke", strings.NewReader(url.Values{"token": {"t"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(webID, "wrong")
	resp, body = send(t, req)
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "invalid_client", "Unauthorized")
	req, _ = http.NewRequest(http.MethodPost, l.URL+"/oauth/revoke", strings.NewReader(url.Values{"token": {"t"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(webID, webSecret)
	resp, body = send(t, req)
	wantEmpty200("confidential client", resp, body)
}

// preflight sends a CORS preflight from origin.
func preflight(t *testing.T, l *testLatch, path, origin string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodOptions, l.URL+path, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,auth0-client")
	resp, _ := send(t, req)
	return resp
}

// wantCORS checks a preflight answer: allowed for origin, or no CORS headers at all.
func wantCORS(t *testing.T, resp *http.Response, origin string, allowed bool) {
	t.Helper()
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("preflight from %s: %d", origin, resp.StatusCode)
	}
	if !allowed {
		for _, name := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Credentials"} {
			if v := h.Values(name); len(v) != 0 {
				t.Fatalf("preflight from %s (not allowed) got %s: %q", origin, name, v)
			}
		}
		return
	}
	if got := h.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != origin {
		t.Fatalf("preflight from %s: Access-Control-Allow-Origin %q", origin, got)
	}
	allowedHeaders := map[string]bool{}
	for _, v := range strings.Split(h.Get("Access-Control-Allow-Headers"), ",") {
		allowedHeaders[strings.ToLower(strings.TrimSpace(v))] = true
	}
	if !allowedHeaders["auth0-client"] || !allowedHeaders["content-type"] || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight from %s: allowed headers %q methods %q", origin, h.Get("Access-Control-Allow-Headers"), h.Get("Access-Control-Allow-Methods"))
	}
	if h.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatal("CORS allows credentials: the token endpoints need none")
	}
	if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
		t.Fatalf("preflight answer does not vary by Origin: %v", h)
	}
}

// TestCORSBrowserEndpoints: /oauth/token, /oauth/revoke and /userinfo answer CORS for the
// origins clients allow (web origins, allowed origins, callback origins), at once after the
// Management API adds or removes a client, and for nobody else.
func TestCORSBrowserEndpoints(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	const spaOrigin = "http://127.0.0.1:3000"
	clientID := spaClient(t, l, mgmt, map[string]any{"allowed_origins": []string{"https://app.example.org"}})
	signup(t, l, clientID, "cors@example.com", "Cross-Origin-1", nil)

	for _, path := range []string{"/oauth/token", "/oauth/revoke", "/userinfo"} {
		wantCORS(t, preflight(t, l, path, spaOrigin), spaOrigin, true)
		wantCORS(t, preflight(t, l, path, "https://app.example.org"), "https://app.example.org", true)
		for _, o := range []string{"https://evil.example", "http://127.0.0.1:3001", "https://127.0.0.1:3000", "null", spaOrigin + "/"} {
			wantCORS(t, preflight(t, l, path, o), o, false)
		}
	}

	// The actual requests carry the header for an allowed origin, errors included.
	tr := browserTokens(t, l, clientID, "cors@example.com", "Cross-Origin-1", "")
	post := func(path, origin string, form url.Values) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, l.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		req.Header.Set("Auth0-Client", "eyJuYW1lIjoiYXV0aDAtc3BhLWpzIn0=")
		resp, _ := send(t, req)
		return resp
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {tr.RefreshToken}}
	resp := post("/oauth/token", spaOrigin, refresh)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != spaOrigin {
		t.Fatalf("refresh from the SPA: %d ACAO=%q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp = post("/oauth/token", spaOrigin, url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}})
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Access-Control-Allow-Origin") != spaOrigin {
		t.Fatalf("an error for the SPA must be readable: %d ACAO=%q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp = post("/oauth/revoke", spaOrigin, url.Values{"client_id": {clientID}, "token": {"unknown"}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != spaOrigin {
		t.Fatalf("revoke from the SPA: %d ACAO=%q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp = post("/oauth/token", "https://evil.example", url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("a foreign origin may read token answers: %v", resp.Header)
	}
	req, _ := http.NewRequest(http.MethodGet, l.URL+"/userinfo", nil)
	req.Header.Set("Origin", spaOrigin)
	req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	resp, body := send(t, req)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != spaOrigin {
		t.Fatalf("userinfo from the SPA: %d ACAO=%q %s", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), body)
	}

	// A client created through the Management API is allowed at once, by its web origin
	// and by its callback's origin; deleted, at once no more.
	const newOrigin, newCallbackOrigin = "https://new-app.example", "https://cb.new-app.example"
	wantCORS(t, preflight(t, l, "/oauth/token", newOrigin), newOrigin, false)
	created := mgmtJSON(t, l, http.MethodPost, "/api/v2/clients", mgmt, map[string]any{
		"name": "new spa", "app_type": "spa", "web_origins": []string{newOrigin},
		"callbacks": []string{newCallbackOrigin + "/callback"},
	}, http.StatusCreated)
	wantCORS(t, preflight(t, l, "/oauth/token", newOrigin), newOrigin, true)
	wantCORS(t, preflight(t, l, "/oauth/token", newCallbackOrigin), newCallbackOrigin, true)
	// An origin removed by PATCH goes at once too.
	patchClient(t, l, mgmt, created["client_id"].(string), map[string]any{"web_origins": []string{}})
	wantCORS(t, preflight(t, l, "/oauth/token", newOrigin), newOrigin, false)
	if resp, body := l.Do(t, http.MethodDelete, "/api/v2/clients/"+created["client_id"].(string), mgmt, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete client: %d %s", resp.StatusCode, body)
	}
	wantCORS(t, preflight(t, l, "/oauth/token", newCallbackOrigin), newCallbackOrigin, false)
}

// TestBrowserEndpointsHostileInput: oversized, malformed and script-bearing input to the
// browser endpoints gets a 4xx or is handled, never a 500, and whatever is reflected is
// escaped (pages) or encoded (redirects).
func TestBrowserEndpointsHostileInput(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	signup(t, l, clientID, "hostile@example.com", "Hostile-Input-1", nil)
	_, challenge := pkce()
	ua := newUserAgent(t, l)
	const xss = `"><script>alert(1)</script><img src=x onerror=alert(2)>`
	noRawScript := func(name, body string) {
		t.Helper()
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Fatalf("%s: input reflected unescaped:\n%s", name, body)
		}
	}
	rawGet := func(path, rawQuery string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, l.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawQuery = rawQuery
		return ua.do(t, req)
	}

	// An /authorize URL too long for the server's header limit: a clear 431.
	big := authorizeParams(clientID, challenge)
	big.Set("state", strings.Repeat("s", 100<<10))
	if resp, _ := ua.authorize(t, big); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("100 KB state: %d, want 431", resp.StatusCode)
	}
	// A long state under the limit is kept whole.
	longState := strings.Repeat("s", 30<<10)
	long := authorizeParams(clientID, challenge)
	long.Set("state", longState)
	long.Set("prompt", "none")
	resp, _ := ua.authorize(t, long)
	wantParams(t, callbackParams(t, resp, false), map[string]string{"error": "login_required", "error_description": "Login required", "state": longState})
	long.Del("prompt")
	action, csrf := ua.toLoginPage(t, long)
	resp, _ = ua.postForm(t, action, url.Values{"csrf": {csrf}, "username": {"hostile@example.com"}, "password": {"Hostile-Input-1"}})
	wantParams(t, callbackParams(t, resp, false), map[string]string{"code": "*", "state": longState})

	// Malformed percent-encoding and invalid UTF-8 never reach a 500.
	good := authorizeParams(clientID, challenge)
	good.Set("prompt", "none")
	for _, tc := range []struct {
		name, raw string
		status    int
	}{
		{"bad escape in client_id", "client_id=%zz&" + good.Encode(), http.StatusFound}, // the bad pair is dropped
		{"bad escape only", "client_id=%zz", http.StatusBadRequest},
		{"truncated escape", "response_type=code&client_id=%4", http.StatusBadRequest},
		{"invalid UTF-8 client_id", "client_id=%ff%fe&redirect_uri=" + url.QueryEscape(spaCallback), http.StatusBadRequest},
		{"NUL in redirect_uri", "client_id=" + clientID + "&redirect_uri=" + url.QueryEscape(spaCallback) + "%00", http.StatusBadRequest},
		{"CRLF in redirect_uri", "client_id=" + clientID + "&redirect_uri=" + url.QueryEscape(spaCallback+"\r\nSet-Cookie: a=b"), http.StatusBadRequest},
		{"semicolon separator", "client_id=" + clientID + ";redirect_uri=" + url.QueryEscape(spaCallback), http.StatusBadRequest},
	} {
		resp, body := rawGet("/authorize", tc.raw)
		if resp.StatusCode != tc.status || resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s: %d, want %d: %s", tc.name, resp.StatusCode, tc.status, body)
		}
		noRawScript(tc.name, body)
	}
	badState := authorizeParams(clientID, challenge)
	badState.Set("prompt", "none")
	badState.Set("state", "\xff\xfe"+xss)
	resp, _ = ua.authorize(t, badState)
	if loc := resp.Header.Get("Location"); strings.ContainsAny(loc, "<>\" \r\n") {
		t.Fatalf("the state is not encoded in the redirect: %q", loc)
	}
	wantParams(t, callbackParams(t, resp, false), map[string]string{"code": "*", "state": "\xff\xfe" + xss}) // ua has a session

	// Scripts in what the pages show.
	hinted := authorizeParams(clientID, challenge)
	hinted.Set("login_hint", "\xff"+xss)
	hinted.Set("ui_locales", xss)
	fresh := newUserAgent(t, l) // ua has a session now, which would skip the pages
	resp, body := fresh.authorize(t, hinted)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize with a hostile login_hint: %d %s", resp.StatusCode, body)
	}
	resp, body = fresh.get(t, resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `value="`) {
		t.Fatalf("login page with a hostile login_hint: %d %s", resp.StatusCode, body)
	}
	noRawScript("login page", body)
	signupHint := authorizeParams(clientID, challenge)
	signupHint.Set("login_hint", xss)
	_, _, page := fresh.signupPage(t, signupHint)
	noRawScript("signup page", page)
	if inputValue(t, emailInput, page) != xss {
		t.Fatalf("signup page email = %q", inputValue(t, emailInput, page))
	}
	for _, tc := range []struct{ name, path string }{
		{"unknown client", "/authorize?" + url.Values{"client_id": {xss}, "redirect_uri": {spaCallback}}.Encode()},
		{"foreign redirect_uri", "/authorize?" + url.Values{"client_id": {clientID}, "redirect_uri": {"javascript:alert(1)//" + xss}}.Encode()},
		{"login page state", "/u/login?state=" + url.QueryEscape(xss)},
		{"signup page state", "/u/signup?state=" + url.QueryEscape(xss)},
		{"logout returnTo", "/v2/logout?" + url.Values{"client_id": {clientID}, "returnTo": {xss}}.Encode()},
		{"oidc logout hint", "/oidc/logout?" + url.Values{"id_token_hint": {xss}}.Encode()},
		{"oidc logout uri", "/oidc/logout?" + url.Values{"client_id": {clientID}, "post_logout_redirect_uri": {xss}}.Encode()},
		{"oidc logout client", "/oidc/logout?" + url.Values{"client_id": {xss}}.Encode()},
		{"error page ui_locales", "/u/login?" + url.Values{"state": {"x"}, "ui_locales": {xss}}.Encode()},
	} {
		resp, body := newUserAgent(t, l).get(t, tc.path)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("%s: %d Location=%q", tc.name, resp.StatusCode, resp.Header.Get("Location"))
		}
		noRawScript(tc.name, body)
	}

	// Oversized and malformed bodies.
	ua = newUserAgent(t, l)
	action, csrf = ua.toLoginPage(t, authorizeParams(clientID, challenge))
	for _, tc := range []struct {
		name, path, body string
		status           int
	}{
		{"huge login form", action, "csrf=" + csrf + "&username=a&password=" + strings.Repeat("p", 20<<10), http.StatusBadRequest},
		{"bad escape in login form", action, "csrf=%zz&username=a&password=b", http.StatusBadRequest},
		{"huge confirm form", "/oidc/logout/confirm", "csrf=" + strings.Repeat("c", 20<<10), http.StatusBadRequest},
		{"huge revoke body", "/oauth/revoke", "client_id=" + clientID + "&token=" + strings.Repeat("t", 100<<10), http.StatusBadRequest},
		{"bad escape in revoke", "/oauth/revoke", "client_id=" + clientID + "&token=%zz", http.StatusBadRequest},
		{"huge token body", "/oauth/token", "grant_type=refresh_token&client_id=" + clientID + "&refresh_token=" + strings.Repeat("t", 100<<10), http.StatusBadRequest},
	} {
		target := tc.path
		if strings.HasPrefix(target, "/") {
			target = l.URL + target
		}
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, body := ua.do(t, req)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d: %.300s", tc.name, resp.StatusCode, tc.status, body)
		}
	}
	// The login form still works after all that.
	resp, _ = ua.postForm(t, action, url.Values{"csrf": {csrf}, "username": {"hostile@example.com"}, "password": {"Hostile-Input-1"}})
	wantParams(t, callbackParams(t, resp, false), map[string]string{"code": "*", "state": "st-123"})
	if strings.Contains(l.Logs.String(), "page failed") || strings.Contains(l.Logs.String(), "request failed") {
		t.Fatalf("hostile input caused server errors:\n%s", l.Logs.String())
	}
}

// TestConcurrentCodeAndRefresh: a code raced by several exchanges is redeemed once; a
// rotating refresh token raced without leeway is exchanged once and its family revoked (the
// others are reuses), and with leeway every racer gets its own working token.
func TestConcurrentCodeAndRefresh(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	leewayID := spaClient(t, l, mgmt, map[string]any{"refresh_token": map[string]any{"rotation_type": "rotating", "leeway": 60}})
	signup(t, l, clientID, "race@example.com", "Race-Condition-1", nil)
	const n = 8
	race := func(form url.Values) (statuses []int, bodies [][]byte) {
		t.Helper()
		statuses, bodies = make([]int, n), make([][]byte, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				resp, err := http.PostForm(l.URL+"/oauth/token", form)
				if err != nil {
					t.Errorf("racer %d: %v", i, err)
					return
				}
				defer resp.Body.Close()
				statuses[i] = resp.StatusCode
				bodies[i], _ = io.ReadAll(resp.Body)
			})
		}
		wg.Wait()
		return statuses, bodies
	}
	count := func(statuses []int, want int) int {
		k := 0
		for _, s := range statuses {
			if s == want {
				k++
			}
		}
		return k
	}

	verifier, challenge := pkce()
	back := newUserAgent(t, l).login(t, authorizeParams(clientID, challenge), "race@example.com", "Race-Condition-1")
	statuses, bodies := race(url.Values{
		"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {back.Query().Get("code")},
		"redirect_uri": {spaCallback}, "code_verifier": {verifier},
	})
	if count(statuses, http.StatusOK) != 1 || count(statuses, http.StatusForbidden) != n-1 {
		t.Fatalf("racing exchanges of one code: %v", statuses)
	}
	for i, s := range statuses {
		if s == http.StatusForbidden && !strings.Contains(string(bodies[i]), "Invalid authorization code") {
			t.Fatalf("a losing exchange: %s", bodies[i])
		}
	}

	rt := browserTokens(t, l, clientID, "race@example.com", "Race-Condition-1", "").RefreshToken
	statuses, bodies = race(url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {rt}})
	if count(statuses, http.StatusOK) != 1 || count(statuses, http.StatusForbidden) != n-1 {
		t.Fatalf("racing refreshes without leeway: %v", statuses)
	}
	for i, s := range statuses {
		if s == http.StatusOK {
			var tr oauthTokens
			mustJSON(t, bodies[i], &tr)
			wantRefreshRefused(t, l, clientID, tr.RefreshToken) // the reuses revoked the family
		}
	}

	rt = browserTokens(t, l, leewayID, "race@example.com", "Race-Condition-1", "").RefreshToken
	statuses, bodies = race(url.Values{"grant_type": {"refresh_token"}, "client_id": {leewayID}, "refresh_token": {rt}})
	if count(statuses, http.StatusOK) != n {
		t.Fatalf("racing refreshes within the leeway: %v", statuses)
	}
	seen := map[string]bool{}
	for _, b := range bodies {
		var tr oauthTokens
		mustJSON(t, b, &tr)
		if tr.RefreshToken == "" || seen[tr.RefreshToken] {
			t.Fatalf("racers got no or the same refresh token: %s", b)
		}
		seen[tr.RefreshToken] = true
	}
	for tok := range seen {
		mustRefresh(t, l, leewayID, tok, "")
	}
}
