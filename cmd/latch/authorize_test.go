package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAuthorizeUntrustedNeverRedirects: until the client and the exact redirect_uri are
// known, /authorize shows an error page and never redirects, so it cannot be used as an
// open redirector (RFC 9700 §4.1, §4.11).
func TestAuthorizeUntrustedNeverRedirects(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	_, challenge := pkce()
	ua := newUserAgent(t, l)
	for _, tc := range []struct {
		name string
		mut  func(url.Values)
		want string
	}{
		{"no client_id", func(v url.Values) { v.Del("client_id") }, "client_id"},
		{"unknown client", func(v url.Values) { v.Set("client_id", "nope") }, "Unknown client"},
		{"no redirect_uri", func(v url.Values) { v.Del("redirect_uri") }, "redirect_uri"},
		{"prefix of the callback", func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:3000/call") }, "not in the list"},
		{"extra path", func(v url.Values) { v.Set("redirect_uri", spaCallback+"/evil") }, "not in the list"},
		{"trailing slash", func(v url.Values) { v.Set("redirect_uri", spaCallback+"/") }, "not in the list"},
		{"extra query", func(v url.Values) { v.Set("redirect_uri", spaCallback+"?next=https://evil.example") }, "not in the list"},
		{"scheme change", func(v url.Values) { v.Set("redirect_uri", "https://127.0.0.1:3000/callback") }, "not in the list"},
		{"other host", func(v url.Values) { v.Set("redirect_uri", "https://evil.example/callback") }, "not in the list"},
		{"userinfo trick", func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:3000@evil.example/callback") }, "not in the list"},
		{"case change", func(v url.Values) { v.Set("redirect_uri", "http://127.0.0.1:3000/Callback") }, "not in the list"},
		{"duplicated client_id", func(v url.Values) { v.Add("client_id", clientID) }, "more than once"},
		{"duplicated redirect_uri", func(v url.Values) { v.Add("redirect_uri", "https://evil.example/") }, "more than once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := authorizeParams(clientID, challenge)
			tc.mut(v)
			resp, body := ua.authorize(t, v)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("%d Location=%q, want a 400 page and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, tc.want) {
				t.Fatalf("error page does not say %q:\n%s", tc.want, body)
			}
			if strings.Contains(body, "<script>alert") {
				t.Fatal("unescaped input in the error page")
			}
		})
	}
}

// TestAuthorizeErrorsGoBack: once the redirect_uri is trusted, errors go back to it with
// the state (AUTH0-COMPAT §2.3).
func TestAuthorizeErrorsGoBack(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	_, challenge := pkce()
	ua := newUserAgent(t, l)
	for _, tc := range []struct {
		name     string
		mut      func(url.Values)
		code     string
		fragment bool
	}{
		{"unsupported response_type", func(v url.Values) { v.Set("response_type", "token") }, "unsupported_response_type", false},
		{"missing response_type", func(v url.Values) { v.Del("response_type") }, "invalid_request", false},
		{"public client without PKCE", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, "invalid_request", false},
		{"PKCE plain refused", func(v url.Values) { v.Set("code_challenge_method", "plain") }, "invalid_request", false},
		{"PKCE method missing (plain)", func(v url.Values) { v.Del("code_challenge_method") }, "invalid_request", false},
		{"PKCE bad challenge", func(v url.Values) { v.Set("code_challenge", "short") }, "invalid_request", false},
		{"bad prompt", func(v url.Values) { v.Set("prompt", "none login") }, "invalid_request", false},
		{"bad max_age", func(v url.Values) { v.Set("max_age", "-1") }, "invalid_request", false},
		{"unknown audience", func(v url.Values) { v.Set("audience", "https://api.example") }, "access_denied", false},
		{"unknown connection", func(v url.Values) { v.Set("connection", "nope") }, "invalid_request", false},
		{"prompt=none without a session", func(v url.Values) { v.Set("prompt", "none") }, "login_required", false},
		{"implicit without nonce", func(v url.Values) {
			v.Set("response_type", "id_token")
			v.Del("nonce")
		}, "invalid_request", true},
		{"tokens in the query", func(v url.Values) {
			v.Set("response_type", "id_token")
			v.Set("response_mode", "query")
		}, "invalid_request", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := authorizeParams(clientID, challenge)
			tc.mut(v)
			resp, body := ua.authorize(t, v)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("%d, want a redirect to the client: %s", resp.StatusCode, body)
			}
			u, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			params := u.Query()
			if tc.fragment {
				params, _ = url.ParseQuery(u.Fragment)
			}
			if u.Scheme+"://"+u.Host+u.Path != spaCallback || params.Get("error") != tc.code || params.Get("state") != "st-123" || params.Get("error_description") == "" {
				t.Fatalf("redirect %s, want error=%s with the state", u, tc.code)
			}
		})
	}
}

// TestLoginFormSecurity: the login page's headers, its CSRF token, and a transaction that
// finishes once.
func TestLoginFormSecurity(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	signup(t, l, clientID, "carol@example.com", "Csrf-Proof-Form-1", nil)
	_, challenge := pkce()
	ua := newUserAgent(t, l)

	resp, _ := ua.authorize(t, authorizeParams(clientID, challenge))
	page := resp.Header.Get("Location")
	resp, body := ua.get(t, page)
	h := resp.Header
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("login page CSP = %q", csp)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("login page headers: %v", h)
	}
	action, csrf := formAction(t, body), formCSRF(t, body)

	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"no csrf", url.Values{"username": {"carol@example.com"}, "password": {"Csrf-Proof-Form-1"}}},
		{"wrong csrf", url.Values{"csrf": {csrf + "x"}, "username": {"carol@example.com"}, "password": {"Csrf-Proof-Form-1"}}},
	} {
		resp, body := ua.postForm(t, action, tc.form)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
			t.Fatalf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
	}
	// A form from another site (no CSRF token, right cookies) cannot log the user in, and a
	// JSON body is refused.
	req, _ := http.NewRequest(http.MethodPost, l.URL+action, strings.NewReader(`{"username":"carol@example.com"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, _ := ua.do(t, req); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("JSON login form: %d", resp.StatusCode)
	}

	// Wrong password: the page again, with the error, and the transaction still usable.
	resp, body = ua.postForm(t, action, url.Values{"csrf": {csrf}, "username": {"carol@example.com"}, "password": {"wrong"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "role=\"alert\"") {
		t.Fatalf("wrong password: %d %s", resp.StatusCode, body)
	}
	resp, _ = ua.postForm(t, action, url.Values{"csrf": {csrf}, "username": {"carol@example.com"}, "password": {"Csrf-Proof-Form-1"}})
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), spaCallback+"?code=") {
		t.Fatalf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "latch_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || len(session.Value) < 22 {
		t.Fatalf("session cookie = %+v", session)
	}
	// The transaction is finished: submitting again is refused.
	resp, body = ua.postForm(t, action, url.Values{"csrf": {csrf}, "username": {"carol@example.com"}, "password": {"Csrf-Proof-Form-1"}})
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("second submit: %d %s", resp.StatusCode, body)
	}
}

// TestSSOAndSilentAuth: a session answers /authorize without the form; prompt=none does
// not count a login; prompt=login and max_age ask again; logout ends the session.
func TestSSOAndSilentAuth(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	created := signup(t, l, clientID, "dan@example.com", "Single-Sign-On-1", nil)
	userID := "auth0|" + created["_id"].(string)
	_, challenge := pkce()
	ua := newUserAgent(t, l)
	ua.login(t, authorizeParams(clientID, challenge), "dan@example.com", "Single-Sign-On-1")

	loginsCount := func() string {
		_, body := l.Do(t, http.MethodGet, "/api/v2/users/"+url.PathEscape(userID), mgmt, nil)
		var u map[string]any
		mustJSON(t, body, &u)
		return strings.TrimSpace(strings.Trim(string(mustMarshal(t, u["logins_count"])), `"`))
	}
	if n := loginsCount(); n != "1" {
		t.Fatalf("logins_count after the login = %s", n)
	}

	silent := authorizeParams(clientID, challenge)
	silent.Set("prompt", "none")
	resp, _ := ua.authorize(t, silent)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st-123" {
		t.Fatalf("silent auth: %d %s", resp.StatusCode, loc)
	}
	if n := loginsCount(); n != "1" {
		t.Fatalf("prompt=none counted a login: logins_count = %s", n)
	}

	for _, tc := range []struct {
		name   string
		params map[string]string
	}{
		{"prompt=login", map[string]string{"prompt": "login"}},
		{"max_age=0", map[string]string{"max_age": "0"}},
	} {
		v := authorizeParams(clientID, challenge)
		for k, val := range tc.params {
			v.Set(k, val)
		}
		resp, _ := ua.authorize(t, v)
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/u/login?") {
			t.Fatalf("%s: %d %s, want the login page", tc.name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	silentFresh := authorizeParams(clientID, challenge)
	silentFresh.Set("prompt", "none")
	silentFresh.Set("max_age", "0")
	resp, _ = ua.authorize(t, silentFresh)
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none max_age=0: %s", resp.Header.Get("Location"))
	}

	// Logout to an allowed URL ends the session; a URL not on the list is refused.
	resp, body := ua.get(t, "/v2/logout?"+url.Values{"client_id": {clientID}, "returnTo": {"https://evil.example/"}}.Encode())
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("logout to a foreign URL: %d %s", resp.StatusCode, body)
	}
	resp, _ = ua.get(t, "/v2/logout?"+url.Values{"client_id": {clientID}, "returnTo": {"http://127.0.0.1:3000/bye"}}.Encode())
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://127.0.0.1:3000/bye" {
		t.Fatalf("logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = ua.authorize(t, silent)
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc.Query().Get("error") != "login_required" {
		t.Fatalf("silent auth after logout: %s", resp.Header.Get("Location"))
	}
}

// TestAuthorizeTransactionFlood: each /authorize without a session makes latch keep a login
// transaction, so one address may start only so many; past that it gets a 429 page.
func TestAuthorizeTransactionFlood(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	_, challenge := pkce()
	ua := newUserAgent(t, l)
	for i := range 300 {
		if resp, body := ua.authorize(t, authorizeParams(clientID, challenge)); resp.StatusCode != http.StatusFound {
			t.Fatalf("login #%d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	resp, body := ua.authorize(t, authorizeParams(clientID, challenge))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Location") != "" {
		t.Fatalf("login #301: %d Retry-After=%q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}
