package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/tokens"
)

// OIDC and Auth0 conformance of the browser flow, beyond the happy path of
// codeflow_test.go and authorize_test.go: response modes, the implicit flow, ID-token
// claims, denials on the browser flow, the hosted pages' error states, RP-initiated logout,
// discovery, and hostile input. Token-endpoint policies, revocation and CORS are in
// oidc_tokens_test.go.

// oauthTokens is a token-endpoint answer.
type oauthTokens struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// callbackParams checks that resp is a 302 to the SPA callback and returns the parameters of
// its query, or of its fragment (then the query must be empty, and the other way round).
func callbackParams(t testing.TB, resp *http.Response, fragment bool) url.Values {
	t.Helper()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d (Location %q), want a 302 to the callback", resp.StatusCode, loc)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != spaCallback {
		t.Fatalf("redirected to %s, want the callback %s", loc, spaCallback)
	}
	if !fragment {
		if u.Fragment != "" {
			t.Fatalf("response in the fragment, want the query: %s", loc)
		}
		return u.Query()
	}
	if u.RawQuery != "" {
		t.Fatalf("response in the query, want the fragment: %s", loc)
	}
	v, err := url.ParseQuery(u.Fragment)
	if err != nil {
		t.Fatalf("fragment %q: %v", u.Fragment, err)
	}
	return v
}

// wantParams demands exactly these parameters, once each; "*" stands for any non-empty value.
func wantParams(t testing.TB, got url.Values, want map[string]string) {
	t.Helper()
	for k, vs := range got {
		w, ok := want[k]
		switch {
		case !ok:
			t.Errorf("unexpected parameter %s=%q (all: %v)", k, vs, got)
		case len(vs) != 1:
			t.Errorf("parameter %s sent %d times", k, len(vs))
		case w == "*" && vs[0] == "":
			t.Errorf("parameter %s is empty", k)
		case w != "*" && vs[0] != w:
			t.Errorf("%s = %q, want %q", k, vs[0], w)
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("parameter %s missing (all: %v)", k, got)
		}
	}
}

// submitLogin goes from /authorize to the login page and submits it, returning the raw
// answer (a redirect, or a form_post / web_message page, or the page again).
func (ua *userAgent) submitLogin(t testing.TB, params url.Values, email, pw string) (*http.Response, string) {
	t.Helper()
	action, csrf := ua.toLoginPage(t, params)
	return ua.postForm(t, action, url.Values{"csrf": {csrf}, "username": {email}, "password": {pw}})
}

// sessionCookie is the SSO cookie the user agent holds for latch ("" without one).
func (ua *userAgent) sessionCookie(t testing.TB) string {
	t.Helper()
	u, _ := url.Parse(ua.l.URL)
	for _, c := range ua.client.Jar.Cookies(u) {
		if c.Name == "latch_session" {
			return c.Value
		}
	}
	return ""
}

// exchangeCode redeems a code of the SPA callback and demands success.
func exchangeCode(t testing.TB, l *testLatch, clientID, code, verifier string) oauthTokens {
	t.Helper()
	resp, body := l.PostForm(t, "/oauth/token", url.Values{
		"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {code},
		"redirect_uri": {spaCallback}, "code_verifier": {verifier},
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("code exchange: %d %s", resp.StatusCode, body)
	}
	var tr oauthTokens
	mustJSON(t, body, &tr)
	return tr
}

// jwtClaims decodes a JWT's payload without verifying it.
func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	if len(strings.Split(jwt, ".")) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	return decodeJWTPayload(t, jwt)
}

// userRecord reads a user through the Management API.
func userRecord(t *testing.T, l *testLatch, mgmt, userID string) map[string]any {
	t.Helper()
	return mgmtJSON(t, l, http.MethodGet, "/api/v2/users/"+url.PathEscape(userID), mgmt, nil, http.StatusOK)
}

// cspDirectives splits a Content-Security-Policy into its directives.
func cspDirectives(t testing.TB, csp string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		if name == "" {
			continue
		}
		if _, dup := out[name]; dup {
			t.Fatalf("CSP directive %s twice: %q", name, csp)
		}
		out[name] = strings.TrimSpace(value)
	}
	return out
}

var (
	hiddenInput      = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	webMessageBlock  = regexp.MustCompile(`(?s)<script type="application/json" id="web-message-data">(.*?)</script>`)
	webMessageScript = regexp.MustCompile(`<script src="(/u/assets/web_message\.js\?v=[^"]+)" defer></script>`)
	anyScriptTag     = regexp.MustCompile(`<script[^>]*>`)
)

// hiddenFields are a page's hidden inputs, unescaped.
func hiddenFields(t testing.TB, page string) url.Values {
	t.Helper()
	out := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		out.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return out
}

// webMessageView is the data block of a web_message page.
type webMessageView struct {
	TargetOrigin string            `json:"targetOrigin"`
	Response     map[string]string `json:"response"`
}

func webMessage(t testing.TB, page string) webMessageView {
	t.Helper()
	m := webMessageBlock.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no web_message data block in the page:\n%s", page)
	}
	var v webMessageView
	mustJSON(t, []byte(m[1]), &v)
	return v
}

func responseValues(m map[string]string) url.Values {
	v := url.Values{}
	for k, s := range m {
		v.Set(k, s)
	}
	return v
}

// TestResponseModeFormPost: response_mode=form_post answers with a 200 page whose form posts
// exactly code and state to the exact redirect_uri, with a CSP that lets the form go only
// there, both after the login form and for an error (prompt=none without a session).
func TestResponseModeFormPost(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	signup(t, l, clientID, "fp@example.com", "Form-Post-Mode-1", nil)
	verifier, challenge := pkce()
	const hostileState = `st"><script>alert(1)</script>&x=1`
	params := authorizeParams(clientID, challenge)
	params.Set("response_mode", "form_post")
	params.Set("state", hostileState)

	ua := newUserAgent(t, l)
	resp, body := ua.submitLogin(t, params, "fp@example.com", "Form-Post-Mode-1")
	checkFormPost := func(resp *http.Response, body string) url.Values {
		t.Helper()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
			t.Fatalf("form_post: %d Location=%q, want a 200 page", resp.StatusCode, resp.Header.Get("Location"))
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("form_post content type %q", resp.Header.Get("Content-Type"))
		}
		if m := regexp.MustCompile(`<form[^>]*id="form-post"[^>]*method="post"[^>]*action="([^"]*)"`).FindStringSubmatch(body); m == nil || html.UnescapeString(m[1]) != spaCallback {
			t.Fatalf("form_post form does not post to %s:\n%s", spaCallback, body)
		}
		if n := len(regexp.MustCompile(`<form`).FindAllString(body, -1)); n != 1 {
			t.Fatalf("form_post page has %d forms", n)
		}
		csp := cspDirectives(t, resp.Header.Get("Content-Security-Policy"))
		// The form may go to the client's origin; 'self' stays for a callback that redirects
		// back to latch (form-action also governs the redirects after a submission).
		if csp["form-action"] != "'self' http://127.0.0.1:3000" || csp["frame-ancestors"] != "'none'" || csp["script-src"] != "'self'" {
			t.Fatalf("form_post CSP = %q", resp.Header.Get("Content-Security-Policy"))
		}
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("form_post headers: %v", resp.Header)
		}
		// The state comes back escaped: the only scripts are latch's own, by src.
		for _, tag := range anyScriptTag.FindAllString(body, -1) {
			if !strings.Contains(tag, `src="/u/assets/`) {
				t.Fatalf("form_post page has an inline or foreign script %q:\n%s", tag, body)
			}
		}
		return hiddenFields(t, body)
	}
	fields := checkFormPost(resp, body)
	wantParams(t, fields, map[string]string{"code": "*", "state": hostileState})
	if ua.sessionCookie(t) == "" {
		t.Fatal("form_post login set no session cookie")
	}
	exchangeCode(t, l, clientID, fields.Get("code"), verifier)

	// With the session, /authorize itself answers with the form.
	silent := authorizeParams(clientID, challenge)
	silent.Set("response_mode", "form_post")
	silent.Set("prompt", "none")
	resp, body = ua.authorize(t, silent)
	wantParams(t, checkFormPost(resp, body), map[string]string{"code": "*", "state": "st-123"})

	// An error goes back the same way.
	resp, body = newUserAgent(t, l).authorize(t, silent)
	wantParams(t, checkFormPost(resp, body), map[string]string{"error": "login_required", "error_description": "Login required", "state": "st-123"})
}

// TestResponseModeWebMessage: response_mode=web_message (auth0-spa-js's silent
// authentication and popup) answers with a 200 page that posts the response to the client's
// origin; only the client's web origins may frame it; an origin not among them gets an
// error page and no code; prompt=none without a session says login_required inside the page.
func TestResponseModeWebMessage(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	origins := []string{"http://127.0.0.1:3000", "https://other.example"}
	clientID := spaClient(t, l, mgmt, map[string]any{"web_origins": origins})
	// Same callback, but its origin is not a web origin of this client.
	strangerID := spaClient(t, l, mgmt, map[string]any{"web_origins": []string{"http://127.0.0.1:4000"}})
	signup(t, l, clientID, "wm@example.com", "Web-Message-Mode-1", nil)
	verifier, challenge := pkce()
	const hostileState = `</script><script>alert(1)</script>`

	checkPage := func(resp *http.Response, body string) map[string]string {
		t.Helper()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
			t.Fatalf("web_message: %d Location=%q, want a 200 page:\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		csp := cspDirectives(t, resp.Header.Get("Content-Security-Policy"))
		if csp["frame-ancestors"] != strings.Join(origins, " ") || csp["form-action"] != "'none'" || csp["script-src"] != "'self'" {
			t.Fatalf("web_message CSP = %q", resp.Header.Get("Content-Security-Policy"))
		}
		if xfo := resp.Header.Values("X-Frame-Options"); len(xfo) != 0 {
			t.Fatalf("web_message page sends X-Frame-Options %q: the SPA's iframe could not load it", xfo)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("web_message Cache-Control %q", resp.Header.Get("Cache-Control"))
		}
		for _, tag := range anyScriptTag.FindAllString(body, -1) {
			if !strings.Contains(tag, `src="/u/assets/`) && tag != `<script type="application/json" id="web-message-data">` {
				t.Fatalf("web_message page has a foreign script %q:\n%s", tag, body)
			}
		}
		v := webMessage(t, body)
		if v.TargetOrigin != "http://127.0.0.1:3000" {
			t.Fatalf("targetOrigin = %q", v.TargetOrigin)
		}
		return v.Response
	}

	// No session: login_required in the page, not a redirect.
	silent := authorizeParams(clientID, challenge)
	silent.Set("response_mode", "web_message")
	silent.Set("prompt", "none")
	silent.Set("state", hostileState)
	ua := newUserAgent(t, l)
	resp, body := ua.authorize(t, silent)
	wantParams(t, responseValues(checkPage(resp, body)), map[string]string{"error": "login_required", "error_description": "Login required", "state": hostileState})

	// The page's script posts {type: 'authorization_response', response} to that origin.
	m := webMessageScript.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the web_message page does not load its script:\n%s", body)
	}
	scriptResp, script := ua.get(t, html.UnescapeString(m[1]))
	if scriptResp.StatusCode != http.StatusOK || !strings.Contains(script, "type: 'authorization_response'") ||
		!strings.Contains(script, "postMessage(") || !strings.Contains(script, "data.targetOrigin") {
		t.Fatalf("web_message script: %d\n%s", scriptResp.StatusCode, script)
	}

	// A popup login answers in web_message mode too.
	popup := authorizeParams(clientID, challenge)
	popup.Set("response_mode", "web_message")
	resp, body = ua.submitLogin(t, popup, "wm@example.com", "Web-Message-Mode-1")
	got := checkPage(resp, body)
	wantParams(t, responseValues(got), map[string]string{"code": "*", "state": "st-123"})
	exchangeCode(t, l, clientID, got["code"], verifier)

	// Silent authentication with the session: a code in the page.
	silent.Set("state", "st-silent")
	resp, body = ua.authorize(t, silent)
	got = checkPage(resp, body)
	wantParams(t, responseValues(got), map[string]string{"code": "*", "state": "st-silent"})
	exchangeCode(t, l, clientID, got["code"], verifier)

	// The redirect origin is not a web origin of the client: an error page, never framed,
	// and no code in it, even though the browser has a session.
	stranger := authorizeParams(strangerID, challenge)
	stranger.Set("response_mode", "web_message")
	stranger.Set("prompt", "none")
	resp, body = ua.authorize(t, stranger)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
		!strings.Contains(body, "is not in the list of allowed web origins") || webMessageBlock.MatchString(body) || strings.Contains(body, "code=") {
		t.Fatalf("web_message to a foreign origin: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || cspDirectives(t, resp.Header.Get("Content-Security-Policy"))["frame-ancestors"] != "'none'" {
		t.Fatalf("the refusal page may be framed: %v", resp.Header)
	}
	// Without a session the refusal comes at once, not after a login for nothing.
	stranger.Del("prompt")
	resp, body = newUserAgent(t, l).authorize(t, stranger)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, "is not in the list of allowed web origins") {
		t.Fatalf("interactive web_message to a foreign origin: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

// TestPageModesNeedHTTPCallbacks: form_post and web_message answer with a page in the
// browser, so a native app's custom-scheme callback cannot get them: /authorize refuses
// with a page at once (it used to log the user in and then fail with a 500), while query
// mode still redirects there.
func TestPageModesNeedHTTPCallbacks(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	const appCallback = "com.example.app://callback"
	nativeID := spaClient(t, l, mgmt, map[string]any{
		"app_type": "native", "callbacks": []string{appCallback, spaCallback},
		// An admin may list the app's scheme as a web origin; it is still no web page's.
		"web_origins": []string{"com.example.app://callback"},
	})
	created := signup(t, l, nativeID, "native@example.com", "Native-App-Pw-1", nil)
	userID := "auth0|" + created["_id"].(string)
	_, challenge := pkce()
	ua := newUserAgent(t, l)
	ua.login(t, authorizeParams(nativeID, challenge), "native@example.com", "Native-App-Pw-1")

	for _, mode := range []string{"form_post", "web_message"} {
		for _, prompt := range []string{"none", ""} {
			for _, browser := range []*userAgent{ua, newUserAgent(t, l)} {
				p := authorizeParams(nativeID, challenge)
				p.Set("redirect_uri", appCallback)
				p.Set("response_mode", mode)
				if prompt != "" {
					p.Set("prompt", prompt)
				}
				resp, body := browser.authorize(t, p)
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
					!strings.Contains(body, "response_mode="+mode+" needs an http or https redirect_uri") {
					t.Fatalf("%s prompt=%q to %s: %d %q %s", mode, prompt, appCallback, resp.StatusCode, resp.Header.Get("Location"), body)
				}
			}
		}
	}
	if u := userRecord(t, l, mgmt, userID); u["logins_count"] != json.Number("1") {
		t.Fatalf("refused requests counted logins: %v", u["logins_count"])
	}
	p := authorizeParams(nativeID, challenge)
	p.Set("redirect_uri", appCallback)
	resp, _ := ua.authorize(t, p)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, appCallback+"?code=") {
		t.Fatalf("query mode to the app's callback: %d %q", resp.StatusCode, loc)
	}
}

// TestImplicitFlow: a client allowed the implicit grant gets response_type=id_token token
// in the fragment (nonce echoed, at_hash of the access token, which works at /userinfo);
// response_type=id_token brings no access token; a client without the grant is refused.
func TestImplicitFlow(t *testing.T) {
	l := startLatch(t)
	ctx := context.Background()
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil) // spa: authorization_code, implicit, refresh_token
	noImplicitID := spaClient(t, l, mgmt, map[string]any{"grant_types": []string{"authorization_code", "refresh_token"}})
	created := signup(t, l, clientID, "imp@example.com", "Implicit-Flow-1", nil)
	userID := "auth0|" + created["_id"].(string)
	provider, err := oidc.NewProvider(ctx, l.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: clientID})
	implicit := func(clientID, responseType, nonce string) url.Values {
		return url.Values{
			"client_id": {clientID}, "redirect_uri": {spaCallback}, "response_type": {responseType},
			"scope": {"openid profile email offline_access"}, "state": {"st-imp"}, "nonce": {nonce},
		}
	}

	ua := newUserAgent(t, l)
	resp, _ := ua.submitLogin(t, implicit(clientID, "id_token token", "n-implicit-1"), "imp@example.com", "Implicit-Flow-1")
	frag := callbackParams(t, resp, true)
	wantParams(t, frag, map[string]string{
		"id_token": "*", "access_token": "*", "token_type": "Bearer", "expires_in": "86400",
		"scope": "openid profile email offline_access", "state": "st-imp",
	})
	idTok, err := verifier.Verify(ctx, frag.Get("id_token"))
	if err != nil {
		t.Fatalf("go-oidc rejected the implicit ID token: %v", err)
	}
	if idTok.Nonce != "n-implicit-1" || idTok.Subject != userID {
		t.Fatalf("implicit ID token nonce %q sub %q", idTok.Nonce, idTok.Subject)
	}
	if err := idTok.VerifyAccessToken(frag.Get("access_token")); err != nil {
		t.Fatalf("at_hash does not match the access token: %v", err)
	}
	if info := userinfo(t, l, frag.Get("access_token")); info["sub"] != userID || info["email"] != "imp@example.com" {
		t.Fatalf("userinfo with the implicit access token: %v", info)
	}

	// Any word order; with the session, no form.
	resp, _ = ua.authorize(t, implicit(clientID, "token id_token", "n-implicit-2"))
	frag = callbackParams(t, resp, true)
	if idTok, err := verifier.Verify(ctx, frag.Get("id_token")); err != nil || idTok.Nonce != "n-implicit-2" || idTok.VerifyAccessToken(frag.Get("access_token")) != nil {
		t.Fatalf("SSO implicit response %v: %v", frag, err)
	}

	// id_token alone: no access token, no code.
	resp, _ = ua.authorize(t, implicit(clientID, "id_token", "n-implicit-3"))
	frag = callbackParams(t, resp, true)
	wantParams(t, frag, map[string]string{"id_token": "*", "state": "st-imp"})
	if idTok, err := verifier.Verify(ctx, frag.Get("id_token")); err != nil || idTok.Nonce != "n-implicit-3" {
		t.Fatalf("id_token response: %v", err)
	}

	// A client without the implicit grant.
	for _, rt := range []string{"id_token", "id_token token"} {
		resp, _ = ua.authorize(t, implicit(noImplicitID, rt, "n"))
		wantParams(t, callbackParams(t, resp, true), map[string]string{
			"error": "unauthorized_client", "error_description": "Grant type 'implicit' not allowed for the client.", "state": "st-imp",
		})
	}
}

// TestIDTokenClaimsCodeFlow: the code flow's ID token has the exact issuer (trailing slash),
// aud = client_id, azp absent or the client, exp > iat with the client's lifetime, the nonce
// of its own request, and auth_time = when the user entered the password: an SSO login
// later (silent or not) keeps the session's auth_time; prompt=login starts a new one.
func TestIDTokenClaimsCodeFlow(t *testing.T) {
	l := startLatch(t)
	ctx := context.Background()
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	signup(t, l, clientID, "claims@example.com", "Id-Token-Claims-1", nil)
	provider, err := oidc.NewProvider(ctx, l.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	ua := newUserAgent(t, l)

	claimsOf := func(tr oauthTokens, nonce string) map[string]any {
		t.Helper()
		idTok, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(ctx, tr.IDToken)
		if err != nil {
			t.Fatalf("go-oidc: %v", err)
		}
		if idTok.Nonce != nonce {
			t.Fatalf("nonce %q, want %q", idTok.Nonce, nonce)
		}
		c := jwtClaims(t, tr.IDToken)
		if c["iss"] != l.Issuer || !strings.HasSuffix(l.Issuer, "/") {
			t.Fatalf("iss = %v, want exactly %s", c["iss"], l.Issuer)
		}
		if aud, ok := c["aud"].(string); !ok || aud != clientID {
			t.Fatalf("aud = %#v, want the string %s", c["aud"], clientID)
		}
		if azp, ok := c["azp"]; ok && azp != clientID {
			t.Fatalf("azp = %v", azp)
		}
		iat, _ := c["iat"].(float64)
		exp, _ := c["exp"].(float64)
		if iat <= 0 || exp-iat != 36000 {
			t.Fatalf("iat %v exp %v: want the default 36000 s lifetime", c["iat"], c["exp"])
		}
		if _, ok := c["auth_time"].(float64); !ok {
			t.Fatalf("auth_time = %#v", c["auth_time"])
		}
		return c
	}
	codeLogin := func(nonce string, extra map[string]string, interactive bool) map[string]any {
		t.Helper()
		verifier, challenge := pkce()
		params := authorizeParams(clientID, challenge)
		params.Set("nonce", nonce)
		for k, v := range extra {
			params.Set(k, v)
		}
		var back url.Values
		if interactive {
			back = ua.login(t, params, "claims@example.com", "Id-Token-Claims-1").Query()
		} else {
			resp, _ := ua.authorize(t, params)
			back = callbackParams(t, resp, false)
		}
		return claimsOf(exchangeCode(t, l, clientID, back.Get("code"), verifier), nonce)
	}

	before := time.Now().Unix()
	first := codeLogin("n-first", nil, true)
	after := time.Now().Unix()
	authTime := int64(first["auth_time"].(float64))
	if authTime < before || authTime > after {
		t.Fatalf("auth_time %d is not the login's time (between %d and %d)", authTime, before, after)
	}

	// Let the clock reach the next second, so that a later token's iat differs from the
	// login's time (this waits; it asserts nothing about durations).
	for time.Now().Unix() <= authTime {
		time.Sleep(20 * time.Millisecond)
	}
	for _, tc := range []struct {
		name  string
		extra map[string]string
	}{
		{"silent", map[string]string{"prompt": "none"}},
		{"sso", nil},
	} {
		c := codeLogin("n-"+tc.name, tc.extra, false)
		if got := int64(c["auth_time"].(float64)); got != authTime {
			t.Fatalf("%s login: auth_time %d, want the session's %d", tc.name, got, authTime)
		}
		if iat := int64(c["iat"].(float64)); iat <= authTime {
			t.Fatalf("%s login: iat %d not after auth_time %d", tc.name, iat, authTime)
		}
	}
	// prompt=login: the password again, so a new auth_time.
	c := codeLogin("n-again", map[string]string{"prompt": "login"}, true)
	if got := int64(c["auth_time"].(float64)); got <= authTime {
		t.Fatalf("auth_time after prompt=login = %d, want later than %d", got, authTime)
	}
}

// TestBrowserRuleDenials: a rule's refusal on the browser flow goes back to the callback
// with the state: UnauthorizedError → unauthorized with the rule's message; callback(new
// Error(msg)) → access_denied with the message (AUTH0-COMPAT §2.3); a thrown error →
// server_error that does not tell the script's message. Nothing the rule asked to save is
// saved, and the login is not counted.
func TestBrowserRuleDenials(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	createRule(t, l, mgmt, "gate", `function (user, context, callback) {
  if (user.email === 'no@example.com') {
    user.user_metadata = user.user_metadata || {};
    user.user_metadata.touched = true;
    return auth0.users.updateUserMetadata(user.user_id, user.user_metadata)
      .then(function () { callback(new UnauthorizedError('no entry')); });
  }
  if (user.email === 'err@example.com') return callback(new Error('boom'));
  if (user.email === 'throw@example.com') throw new Error('secret internals');
  callback(null, user, context);
}`)
	_, challenge := pkce()
	for _, tc := range []struct {
		email string
		want  map[string]string
	}{
		{"no@example.com", map[string]string{"error": "unauthorized", "error_description": "no entry", "state": "st-123"}},
		{"err@example.com", map[string]string{"error": "access_denied", "error_description": "boom", "state": "st-123"}},
		{"throw@example.com", map[string]string{"error": "server_error", "error_description": "The login could not be completed because a rule failed.", "state": "st-123"}},
	} {
		t.Run(tc.email, func(t *testing.T) {
			created := signup(t, l, clientID, tc.email, "Rule-Denial-Pw-1", map[string]any{"kept": "yes"})
			userID := "auth0|" + created["_id"].(string)
			ua := newUserAgent(t, l)
			resp, body := ua.submitLogin(t, authorizeParams(clientID, challenge), tc.email, "Rule-Denial-Pw-1")
			wantParams(t, callbackParams(t, resp, false), tc.want)
			if strings.Contains(resp.Header.Get("Location"), "secret") || strings.Contains(body, "secret") {
				t.Fatalf("the rule's error leaked: %s %s", resp.Header.Get("Location"), body)
			}
			// A refused login leaves no SSO session (Auth0 keeps one and runs the rules again
			// at the next /authorize; latch makes the user log in again).
			if ua.sessionCookie(t) != "" {
				t.Fatal("a refused login left a session cookie")
			}
			silent := authorizeParams(clientID, challenge)
			silent.Set("prompt", "none")
			resp, _ = ua.authorize(t, silent)
			wantParams(t, callbackParams(t, resp, false), map[string]string{"error": "login_required", "error_description": "Login required", "state": "st-123"})
			u := userRecord(t, l, mgmt, userID)
			meta, _ := u["user_metadata"].(map[string]any)
			if u["logins_count"] != json.Number("0") || meta["touched"] != nil || meta["kept"] != "yes" || u["last_login"] != nil {
				t.Fatalf("a refused login saved something: %v", u)
			}
		})
	}
	// The rule lets others in.
	signup(t, l, clientID, "ok@example.com", "Rule-Denial-Pw-1", nil)
	resp, _ := newUserAgent(t, l).submitLogin(t, authorizeParams(clientID, challenge), "ok@example.com", "Rule-Denial-Pw-1")
	wantParams(t, callbackParams(t, resp, false), map[string]string{"code": "*", "state": "st-123"})
}

// TestBrowserLoginBlockedUser: a user an admin blocked gets error=unauthorized, "user is
// blocked" at the callback: with the right password (and no session), and through an
// existing SSO session, silent or not. Unblocked, the session works again.
func TestBrowserLoginBlockedUser(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	created := signup(t, l, clientID, "blk@example.com", "Blocked-User-1", nil)
	userID := "auth0|" + created["_id"].(string)
	_, challenge := pkce()
	withSession := newUserAgent(t, l)
	withSession.login(t, authorizeParams(clientID, challenge), "blk@example.com", "Blocked-User-1")

	mgmtJSON(t, l, http.MethodPatch, "/api/v2/users/"+url.PathEscape(userID), mgmt, map[string]any{"blocked": true}, http.StatusOK)
	blocked := map[string]string{"error": "unauthorized", "error_description": "user is blocked", "state": "st-123"}

	fresh := newUserAgent(t, l)
	resp, _ := fresh.submitLogin(t, authorizeParams(clientID, challenge), "blk@example.com", "Blocked-User-1")
	wantParams(t, callbackParams(t, resp, false), blocked)
	if fresh.sessionCookie(t) != "" {
		t.Fatal("a blocked user got a session")
	}
	silent := authorizeParams(clientID, challenge)
	silent.Set("prompt", "none")
	for _, p := range []url.Values{silent, authorizeParams(clientID, challenge)} {
		resp, _ := withSession.authorize(t, p)
		wantParams(t, callbackParams(t, resp, false), blocked)
	}

	mgmtJSON(t, l, http.MethodPatch, "/api/v2/users/"+url.PathEscape(userID), mgmt, map[string]any{"blocked": false}, http.StatusOK)
	resp, _ = withSession.authorize(t, silent)
	wantParams(t, callbackParams(t, resp, false), map[string]string{"code": "*", "state": "st-123"})
}

// TestHostedLoginPageErrors: a wrong password shows the page again (401) with the error and
// the email as typed, never the password; after ten failures the next attempt, even with
// the right password, gets the too-many-attempts page (429) and no session. (That the
// refusal comes before any password hash is not observable over HTTP without timing; the
// right password being refused is what is checked.)
func TestHostedLoginPageErrors(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	signup(t, l, clientID, "guess@example.com", "Right-Password-1", nil)
	_, challenge := pkce()
	ua := newUserAgent(t, l)
	action, csrf := ua.toLoginPage(t, authorizeParams(clientID, challenge))
	const typed = "Guess@Example.com"
	usernameInput := regexp.MustCompile(`<input id="username"[^>]*>`)
	passwordInput := regexp.MustCompile(`<input id="password"[^>]*>`)

	for i := range 10 {
		resp, body := ua.postForm(t, action, url.Values{"csrf": {csrf}, "username": {typed}, "password": {"wrong-" + string(rune('a'+i))}})
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" {
			t.Fatalf("wrong password %d: %d %s", i, resp.StatusCode, body)
		}
		if m := errorBlock.FindStringSubmatch(body); m == nil || strings.TrimSpace(m[1]) != "Wrong email or password." {
			t.Fatalf("wrong password %d: no error shown:\n%s", i, body)
		}
		in := usernameInput.FindString(body)
		if m := valueAttr.FindStringSubmatch(in); m == nil || html.UnescapeString(m[1]) != typed {
			t.Fatalf("the email was not kept as typed: %q", in)
		}
		if pw := passwordInput.FindString(body); pw == "" || strings.Contains(pw, "value=") || strings.Contains(body, "wrong-") {
			t.Fatalf("the password came back in the page: %q", pw)
		}
		if formCSRF(t, body) != csrf || formAction(t, body) != action {
			t.Fatalf("the page again has another form: %s", body)
		}
	}
	resp, body := ua.postForm(t, action, url.Values{"csrf": {csrf}, "username": {typed}, "password": {"Right-Password-1"}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Location") != "" {
		t.Fatalf("11th attempt: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(body, "<h1>Too many attempts</h1>") || strings.Contains(body, `name="password"`) ||
		!strings.Contains(body, `href="`+html.EscapeString(action)+`"`) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("too-many-attempts page:\n%s", body)
	}
	if ua.sessionCookie(t) != "" {
		t.Fatal("a blocked attempt got a session")
	}
	// Another identifier from the same browser is not blocked.
	signup(t, l, clientID, "other@example.com", "Right-Password-1", nil)
	resp, _ = ua.postForm(t, action, url.Values{"csrf": {csrf}, "username": {"other@example.com"}, "password": {"Right-Password-1"}})
	wantParams(t, callbackParams(t, resp, false), map[string]string{"code": "*", "state": "st-123"})
}

// signupPage opens the signup page through /authorize?screen_hint=signup.
func (ua *userAgent) signupPage(t testing.TB, params url.Values) (action, csrf, page string) {
	t.Helper()
	params.Set("screen_hint", "signup")
	resp, _ := ua.authorize(t, params)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "/u/signup?state=") {
		t.Fatalf("screen_hint=signup: %d %q, want the signup page", resp.StatusCode, loc)
	}
	resp, body := ua.get(t, loc)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("signup page: %d %s", resp.StatusCode, body)
	}
	return formAction(t, body), formCSRF(t, body), body
}

var (
	emailInput    = regexp.MustCompile(`<input id="email"[^>]*>`)
	passwordError = regexp.MustCompile(`<p class="field-error" id="password-error" role="alert">([^<]*)</p>`)
	emailError    = regexp.MustCompile(`<p class="field-error" id="email-error" role="alert">([^<]*)</p>`)
)

func inputValue(t testing.TB, re *regexp.Regexp, page string) string {
	t.Helper()
	m := valueAttr.FindStringSubmatch(re.FindString(page))
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestHostedSignupPage: screen_hint=signup opens the signup page (login_hint fills the
// email); the connection's password policy (the default "fair", then "excellent" set
// through the Management API) is enforced with a field error; a taken email and a bad email
// are refused on the page; a good signup creates the user, counts the login, starts a
// session and redirects with a code.
func TestHostedSignupPage(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	signup(t, l, clientID, "taken@example.com", "Already-Here-1", nil)
	verifier, challenge := pkce()
	ua := newUserAgent(t, l)
	params := authorizeParams(clientID, challenge)
	params.Set("login_hint", "new@example.com")
	action, csrf, page := ua.signupPage(t, params)
	if !strings.HasPrefix(action, "/u/signup?state=") || inputValue(t, emailInput, page) != "new@example.com" {
		t.Fatalf("signup page: action %q email %q", action, inputValue(t, emailInput, page))
	}
	countUsers := func(email string) int {
		resp, body := l.Do(t, http.MethodGet, "/api/v2/users-by-email?email="+url.QueryEscape(email), mgmt, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("users-by-email: %d %s", resp.StatusCode, body)
		}
		var list []any
		mustJSON(t, body, &list)
		return len(list)
	}

	for _, tc := range []struct {
		name, email, pw string
		check           func(body string) bool
	}{
		{"weak password", "new@example.com", "short", func(body string) bool {
			m := passwordError.FindStringSubmatch(body)
			return m != nil && m[1] == "This password does not meet the requirements."
		}},
		{"no uppercase (fair)", "new@example.com", "alllowercase1", func(body string) bool { return passwordError.MatchString(body) }},
		{"taken email", "taken@example.com", "Liskov-Substitution-1", func(body string) bool {
			m := errorBlock.FindStringSubmatch(body)
			return m != nil && strings.TrimSpace(m[1]) == "An account with this email already exists."
		}},
		{"bad email", "not-an-email", "Liskov-Substitution-1", func(body string) bool { return emailError.MatchString(body) }},
	} {
		resp, body := ua.postForm(t, action, url.Values{"csrf": {csrf}, "email": {tc.email}, "password": {tc.pw}})
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !tc.check(body) {
			t.Fatalf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
		if got := inputValue(t, emailInput, body); got != tc.email {
			t.Fatalf("%s: email not kept: %q", tc.name, got)
		}
		if strings.Contains(body, tc.pw) && tc.pw != "short" {
			t.Fatalf("%s: the password came back in the page", tc.name)
		}
		if formCSRF(t, body) != csrf {
			t.Fatalf("%s: the form changed", tc.name)
		}
	}
	if n := countUsers("new@example.com"); n != 0 {
		t.Fatalf("refused signups created %d users", n)
	}
	if resp, _ := ua.postForm(t, action, url.Values{"csrf": {csrf + "x"}, "email": {"new@example.com"}, "password": {"Liskov-Substitution-1"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("signup with a wrong CSRF token: %d", resp.StatusCode)
	}

	// The page follows the connection's policy as the Management API changes it.
	patchPasswordPolicy(t, l, mgmt, "excellent")
	resp, body := ua.get(t, action)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-preset="excellent"`) || !strings.Contains(body, `data-min-length="10"`) {
		t.Fatalf("signup page after the policy change: %d %s", resp.StatusCode, body)
	}
	resp, body = ua.postForm(t, action, url.Values{"csrf": {csrf}, "email": {"new@example.com"}, "password": {"Abcdefgh1"}}) // fair, not excellent
	if resp.StatusCode != http.StatusBadRequest || !passwordError.MatchString(body) || countUsers("new@example.com") != 0 {
		t.Fatalf("a password below the changed policy: %d %s", resp.StatusCode, body)
	}

	resp, _ = ua.postForm(t, action, url.Values{"csrf": {csrf}, "email": {"new@example.com"}, "password": {"Liskov-Substitution-1"}})
	back := callbackParams(t, resp, false)
	wantParams(t, back, map[string]string{"code": "*", "state": "st-123"})
	if ua.sessionCookie(t) == "" {
		t.Fatal("signup started no session")
	}
	tr := exchangeCode(t, l, clientID, back.Get("code"), verifier)
	claims := jwtClaims(t, tr.IDToken)
	if claims["email"] != "new@example.com" || claims["nonce"] != "n-456" {
		t.Fatalf("ID token after signup: %v", claims)
	}
	u := userRecord(t, l, mgmt, claims["sub"].(string))
	if u["logins_count"] != json.Number("1") || u["email"] != "new@example.com" {
		t.Fatalf("user after signup: %v", u)
	}
	// The transaction is finished: the form cannot sign up twice.
	if resp, _ := ua.postForm(t, action, url.Values{"csrf": {csrf}, "email": {"new2@example.com"}, "password": {"Liskov-Substitution-1"}}); resp.StatusCode != http.StatusBadRequest || countUsers("new2@example.com") != 0 {
		t.Fatalf("second submit of a finished signup: %d", resp.StatusCode)
	}
}

// patchPasswordPolicy sets the default connection's password policy preset through the
// Management API (PATCH replaces options whole, so the read options go back changed).
func patchPasswordPolicy(t *testing.T, l *testLatch, mgmt, preset string) {
	t.Helper()
	resp, body := l.Do(t, http.MethodGet, "/api/v2/connections?name=Username-Password-Authentication", mgmt, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list connections: %d %s", resp.StatusCode, body)
	}
	var list []map[string]any
	mustJSON(t, body, &list)
	if len(list) != 1 {
		t.Fatalf("connections: %s", body)
	}
	opts, _ := list[0]["options"].(map[string]any)
	if opts == nil {
		t.Fatalf("connection without options: %s", body)
	}
	opts["passwordPolicy"] = preset
	mgmtJSON(t, l, http.MethodPatch, "/api/v2/connections/"+url.PathEscape(list[0]["id"].(string)), mgmt, map[string]any{"options": opts}, http.StatusOK)
}

// TestSignupPageActionDenial: a pre-user-registration action's denial is shown on the
// signup page, and no user is created.
func TestSignupPageActionDenial(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	gate := mgmtCreateAction(t, l, mgmt, "gate", "pre-user-registration", `exports.onExecutePreUserRegistration = async (event, api) => {
  if (event.user.email.endsWith('@spam.example')) api.access.deny('spam domain', 'Signups from <b>this</b> domain are not allowed.');
};`)
	bindActions(t, l, mgmt, "pre-user-registration", gate)
	_, challenge := pkce()
	ua := newUserAgent(t, l)
	action, csrf, _ := ua.signupPage(t, authorizeParams(clientID, challenge))
	resp, body := ua.postForm(t, action, url.Values{"csrf": {csrf}, "email": {"bob@spam.example"}, "password": {"Liskov-Substitution-1"}})
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Fatalf("denied signup: %d %s", resp.StatusCode, body)
	}
	m := errorBlock.FindStringSubmatch(body)
	if m == nil || html.UnescapeString(strings.TrimSpace(m[1])) != "Signups from <b>this</b> domain are not allowed." || strings.Contains(body, "<b>this</b>") {
		t.Fatalf("the action's message is not shown (escaped):\n%s", body)
	}
	if list := mgmtList(t, l, "/api/v2/users?include_totals=true", mgmt); list["total"] != json.Number("0") {
		t.Fatalf("a denied signup created a user: %v", list)
	}
	// Another address signs up through the same form.
	resp, _ = ua.postForm(t, action, url.Values{"csrf": {csrf}, "email": {"bob@example.com"}, "password": {"Liskov-Substitution-1"}})
	wantParams(t, callbackParams(t, resp, false), map[string]string{"code": "*", "state": "st-123"})
}

// signIDTokenWithServerKey signs an ID token with latch's own key (see serverIssuer), to
// make hints latch would not issue now, such as expired ones. latch restarts meanwhile, so
// SSO sessions do not survive it: call it before logging in.
func signIDTokenWithServerKey(t *testing.T, l *testLatch, claims map[string]any) string {
	t.Helper()
	return signWithServerIssuer(t, l, func(i *tokens.Issuer) (string, error) { return i.SignIDToken(claims) })
}

// signWithForeignKey signs claims with a key latch never had, under latch's kid.
func signWithForeignKey(t *testing.T, kid string, claims map[string]any) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOIDCLogout: RP-initiated logout. With a valid id_token_hint (expired ones too) and an
// allowed post_logout_redirect_uri, the session ends and the browser goes there with the
// state; a hint latch did not sign is refused with a page; without a hint the user confirms
// on a page whose form needs the session's CSRF token.
func TestOIDCLogout(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID := spaClient(t, l, mgmt, nil)
	otherID := spaClient(t, l, mgmt, nil)
	created := signup(t, l, clientID, "out@example.com", "Log-Me-Out-1", nil)
	userID := "auth0|" + created["_id"].(string)
	now := time.Now()
	expiredHint := signIDTokenWithServerKey(t, l, map[string]any{
		"sub": userID, "aud": clientID, "iat": now.Add(-48 * time.Hour).Unix(), "exp": now.Add(-24 * time.Hour).Unix(),
	})
	verifier, challenge := pkce()
	silent := authorizeParams(clientID, challenge)
	silent.Set("prompt", "none")
	const bye = "http://127.0.0.1:3000/bye"

	// loggedIn logs a new browser in and returns it with its ID token.
	loggedIn := func() (*userAgent, string) {
		t.Helper()
		ua := newUserAgent(t, l)
		back := ua.login(t, authorizeParams(clientID, challenge), "out@example.com", "Log-Me-Out-1")
		return ua, exchangeCode(t, l, clientID, back.Query().Get("code"), verifier).IDToken
	}
	sessionAlive := func(ua *userAgent) bool {
		t.Helper()
		resp, _ := ua.authorize(t, silent)
		p := callbackParams(t, resp, false)
		if p.Get("error") != "" && p.Get("error") != "login_required" {
			t.Fatalf("silent auth: %v", p)
		}
		return p.Get("code") != ""
	}
	logout := func(ua *userAgent, params url.Values) (*http.Response, string) {
		t.Helper()
		return ua.get(t, "/oidc/logout?"+params.Encode())
	}

	for _, tc := range []struct {
		name string
		hint func(idToken string) string
	}{
		{"valid hint", func(idToken string) string { return idToken }},
		{"expired hint", func(string) string { return expiredHint }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ua, idToken := loggedIn()
			resp, body := logout(ua, url.Values{"id_token_hint": {tc.hint(idToken)}, "post_logout_redirect_uri": {bye}, "state": {"s&1=<x>"}})
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != bye+"?state=s%261%3D%3Cx%3E" {
				t.Fatalf("logout: %d Location=%q %s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			if sessionAlive(ua) || ua.sessionCookie(t) != "" {
				t.Fatal("the session survived the logout")
			}
		})
	}

	ua, idToken := loggedIn()
	parts := strings.Split(idToken, ".")
	sig := []byte(parts[2])
	i := len(sig) / 2
	if sig[i] == 'A' {
		sig[i] = 'B'
	} else {
		sig[i] = 'A'
	}
	tampered := parts[0] + "." + parts[1] + "." + string(sig)
	kid, _ := decodeJWTHeader(t, idToken)["kid"].(string)
	forged := signWithForeignKey(t, kid, map[string]any{
		"iss": l.Issuer, "sub": userID, "aud": clientID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	for _, tc := range []struct {
		name   string
		params url.Values
		want   string
	}{
		{"tampered hint", url.Values{"id_token_hint": {tampered}, "post_logout_redirect_uri": {bye}}, "not an ID token issued here"},
		{"foreign key", url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {bye}}, "not an ID token issued here"},
		{"access token as hint", url.Values{"id_token_hint": {l.ManagementToken(t, "read:users")}}, "not an ID token issued here"},
		{"garbage hint", url.Values{"id_token_hint": {"<script>alert(1)</script>"}}, "not an ID token issued here"},
		{"hint of another client", url.Values{"id_token_hint": {idToken}, "client_id": {otherID}}, "client_id does not match"},
		{"URL not allowed", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://evil.example/"}}, "not in the list of allowed logout URLs"},
		{"URL without a client", url.Values{"post_logout_redirect_uri": {bye}}, "needs a client_id"},
		{"duplicated parameter", url.Values{"state": {"a", "b"}}, "more than once"},
	} {
		resp, body := logout(ua, tc.params)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, tc.want) ||
			strings.Contains(body, "<script>alert") {
			t.Fatalf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
	}
	if !sessionAlive(ua) {
		t.Fatal("a refused logout ended the session")
	}

	// No hint: a confirmation page, whose form needs the right CSRF token.
	resp, body := logout(ua, url.Values{"client_id": {clientID}, "post_logout_redirect_uri": {bye}, "state": {"s2"}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || formAction(t, body) != "/oidc/logout/confirm" {
		t.Fatalf("logout without a hint: %d %s", resp.StatusCode, body)
	}
	// The form posts to latch, which redirects to the logout URL's origin.
	if csp := cspDirectives(t, resp.Header.Get("Content-Security-Policy")); csp["form-action"] != "'self' http://127.0.0.1:3000" || csp["frame-ancestors"] != "'none'" {
		t.Fatalf("confirmation page CSP: %v", csp)
	}
	csrf := formCSRF(t, body)
	hidden := hiddenFields(t, body)
	hidden.Del("csrf")
	wantParams(t, hidden, map[string]string{"client_id": clientID, "post_logout_redirect_uri": bye, "state": "s2"})
	form := func(csrf string) url.Values {
		v := url.Values{"client_id": {clientID}, "post_logout_redirect_uri": {bye}, "state": {"s2"}}
		if csrf != "" {
			v.Set("csrf", csrf)
		}
		return v
	}
	for name, f := range map[string]url.Values{"no csrf": form(""), "wrong csrf": form(csrf + "x")} {
		if resp, body := ua.postForm(t, "/oidc/logout/confirm", f); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
			t.Fatalf("confirm with %s: %d %s", name, resp.StatusCode, body)
		}
	}
	// Another browser (a forging site's victim has the cookie, the site does not) with the token.
	if resp, _ := newUserAgent(t, l).postForm(t, "/oidc/logout/confirm", form(csrf)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("confirm without the session cookie: %d", resp.StatusCode)
	}
	if !sessionAlive(ua) {
		t.Fatal("a refused confirmation ended the session")
	}
	resp, _ = ua.postForm(t, "/oidc/logout/confirm", form(csrf))
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != bye+"?state=s2" {
		t.Fatalf("confirmed logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if sessionAlive(ua) {
		t.Fatal("the session survived the confirmed logout")
	}

	// A browser without a session needs no confirmation.
	resp, _ = logout(newUserAgent(t, l), url.Values{"client_id": {clientID}, "post_logout_redirect_uri": {bye}})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != bye {
		t.Fatalf("logout without a session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestDiscoveryBrowserEndpoints: discovery advertises the browser flow's endpoints, at the
// issuer, and the response types latch issues.
func TestDiscoveryBrowserEndpoints(t *testing.T) {
	l := startLatch(t)
	resp, body := l.Do(t, http.MethodGet, "/.well-known/openid-configuration", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %d", resp.StatusCode)
	}
	var d struct {
		Issuer                string   `json:"issuer"`
		Authorization         string   `json:"authorization_endpoint"`
		Token                 string   `json:"token_endpoint"`
		Revocation            string   `json:"revocation_endpoint"`
		EndSession            string   `json:"end_session_endpoint"`
		ResponseTypes         []string `json:"response_types_supported"`
		ResponseModes         []string `json:"response_modes_supported"`
		CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
		GrantTypes            []string `json:"grant_types_supported"`
		TokenEndpointAuthMeth []string `json:"token_endpoint_auth_methods_supported"`
	}
	mustJSON(t, body, &d)
	if d.Issuer != l.Issuer || d.Authorization != l.Issuer+"authorize" || d.Token != l.Issuer+"oauth/token" ||
		d.Revocation != l.Issuer+"oauth/revoke" || d.EndSession != l.Issuer+"oidc/logout" {
		t.Fatalf("discovery endpoints: %s", body)
	}
	for _, want := range []struct {
		list []string
		v    string
	}{
		{d.ResponseTypes, "code"}, {d.ResponseTypes, "id_token"}, {d.ResponseTypes, "id_token token"},
		{d.ResponseModes, "query"}, {d.ResponseModes, "fragment"}, {d.ResponseModes, "form_post"},
		{d.CodeChallengeMethods, "S256"}, {d.GrantTypes, "authorization_code"}, {d.GrantTypes, "refresh_token"},
		{d.TokenEndpointAuthMeth, "none"},
	} {
		if !slices.Contains(want.list, want.v) {
			t.Errorf("discovery lacks %q in %v", want.v, want.list)
		}
	}
	if slices.Contains(d.ResponseTypes, "token") || slices.Contains(d.CodeChallengeMethods, "plain") {
		t.Errorf("discovery advertises what latch refuses: %s", body)
	}
	// go-oidc reads the endpoints the same way.
	p, err := oidc.NewProvider(context.Background(), l.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&extra); err != nil || extra.EndSession != l.Issuer+"oidc/logout" || p.Endpoint().AuthURL != l.Issuer+"authorize" {
		t.Fatalf("go-oidc discovery: %v %+v", err, extra)
	}
}
