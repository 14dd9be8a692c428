package browsertest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAuth is a stand-in for latch in the self-test: just enough of an Auth0-compatible server
// for the SDK (authorize with PKCE, silent authentication by web_message, the token endpoint
// with CORS, logout). The ID tokens it signs are not signed: the SDK checks their claims only.
type fakeAuth struct {
	srv      *httptest.Server
	clientID string

	mu        sync.Mutex
	loggedIn  bool              // the fake's "session", as a cookie would be
	challenge map[string]string // code -> code_challenge
	nonces    map[string]string // code -> nonce
	authorize []url.Values      // the /authorize queries, in order
	token     []url.Values      // the /oauth/token forms, in order
	logout    []url.Values      // the /v2/logout queries, in order
	failToken bool              // answer the code exchange with invalid_grant
	issued    int
}

func newFakeAuth(t *testing.T, clientID string) *fakeAuth {
	f := &fakeAuth{clientID: clientID, challenge: map[string]string{}, nonces: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", f.handleAuthorize)
	mux.HandleFunc("/oauth/token", f.handleToken)
	mux.HandleFunc("GET /v2/logout", f.handleLogout)
	f.srv = httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAuth) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.authorize = append(f.authorize, q)
	f.issued++
	code := fmt.Sprintf("code-%d", f.issued)
	f.challenge[code] = q.Get("code_challenge")
	f.nonces[code] = q.Get("nonce")
	loggedIn := f.loggedIn
	if q.Get("prompt") != "none" {
		f.loggedIn = true // the person logged in
	}
	f.mu.Unlock()

	if q.Get("response_mode") == "web_message" {
		// Silent authentication: answer the SDK's iframe by postMessage to its parent.
		resp := map[string]string{"state": q.Get("state")}
		if loggedIn {
			resp["code"] = code
		} else {
			resp["error"] = "login_required"
			resp["error_description"] = "Login required"
		}
		target, _ := url.Parse(q.Get("redirect_uri"))
		msg, _ := json.Marshal(map[string]any{"type": "authorization_response", "response": resp})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = webMessage.Execute(w, map[string]any{"Msg": template.JS(msg), "Origin": target.Scheme + "://" + target.Host})
		return
	}
	back, _ := url.Parse(q.Get("redirect_uri"))
	back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

var webMessage = template.Must(template.New("").Parse(`<!doctype html><html><head><link rel="icon" href="data:,"></head><body>
<script>parent.postMessage({{.Msg}}, {{.Origin}});</script></body></html>`))

func (f *fakeAuth) handleToken(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
	h.Set("Access-Control-Allow-Headers", "Content-Type, Auth0-Client")
	h.Set("Access-Control-Allow-Methods", "POST")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	form := r.PostForm
	f.mu.Lock()
	f.token = append(f.token, form)
	fail := f.failToken
	challenge, nonce := f.challenge[form.Get("code")], f.nonces[form.Get("code")]
	f.issued++
	n := f.issued
	f.mu.Unlock()

	h.Set("Content-Type", "application/json")
	tokenError := func(code, desc string) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	resp := map[string]any{"access_token": fmt.Sprintf("at-%d", n), "token_type": "Bearer", "expires_in": 3600}
	switch form.Get("grant_type") {
	case "authorization_code":
		sum := sha256.Sum256([]byte(form.Get("code_verifier")))
		switch {
		case fail:
			tokenError("invalid_grant", "the code is no good")
			return
		case challenge == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge:
			tokenError("invalid_grant", "PKCE: the code_verifier does not match the code_challenge")
			return
		}
		resp["id_token"] = f.idToken(nonce)
		resp["refresh_token"] = fmt.Sprintf("rt-%d", n)
	case "refresh_token":
		if !strings.HasPrefix(form.Get("refresh_token"), "rt-") {
			tokenError("invalid_grant", "unknown refresh token")
			return
		}
		resp["id_token"] = f.idToken("")
		resp["refresh_token"] = fmt.Sprintf("rt-%d", n)
	default:
		tokenError("unsupported_grant_type", form.Get("grant_type"))
		return
	}
	_ = json.NewEncoder(w).Encode(resp)
}

// idToken makes an unsigned ID token with alg RS256: the SDK checks claims, not signatures.
func (f *fakeAuth) idToken(nonce string) string {
	enc := func(v any) string {
		j, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(j)
	}
	now := time.Now().Unix()
	claims := map[string]any{
		"iss": f.srv.URL + "/", "sub": "auth0|ann", "aud": f.clientID, "iat": now, "exp": now + 3600,
		"name": "Ann", "email": "ann@example.com",
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims) + "." +
		base64.RawURLEncoding.EncodeToString([]byte("not-a-signature"))
}

func (f *fakeAuth) handleLogout(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.logout = append(f.logout, r.URL.Query())
	f.loggedIn = false
	f.mu.Unlock()
	http.Redirect(w, r, r.URL.Query().Get("returnTo"), http.StatusFound)
}

func (f *fakeAuth) calls() (authorize, token, logout []url.Values) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.authorize), slices.Clone(f.token), slices.Clone(f.logout)
}

// pinnedSDK is the @auth0/auth0-spa-js version that testdata/spa/package.json pins.
func pinnedSDK(t *testing.T) string {
	dir, err := SPADir()
	if err != nil {
		skipOrFail(t, "%v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(data, &pkg); err != nil {
		t.Fatal(err)
	}
	v := pkg.Dependencies["@auth0/auth0-spa-js"]
	if v == "" || strings.ContainsAny(v, "^~<>*x ") {
		t.Fatalf("testdata/spa/package.json must pin an exact @auth0/auth0-spa-js version, has %q", v)
	}
	return v
}

// TestSPAServer checks what ServeSPA serves, without a browser.
func TestSPAServer(t *testing.T) {
	s := StartSPA(t)
	if !strings.HasPrefix(s.Origin, "http://127.0.0.1:") {
		t.Errorf("Origin = %s, want http://127.0.0.1:PORT", s.Origin)
	}
	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := http.Get(s.Origin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
	}
	if code, _, body := get("/config.js"); code != 200 || strings.TrimSpace(body) != "window.LATCH_SPA_CONFIG = null;" {
		t.Errorf("config.js before Configure: %d %q", code, body)
	}
	s.Configure(SPAConfig{
		Domain: "http://127.0.0.1:9", ClientID: "cid", Audience: "https://api.example/",
		UseRefreshTokens: true, CacheLocation: "localstorage",
		AuthorizationParams: map[string]string{"connection": "db"},
		Options:             map[string]any{"leeway": 5},
	})
	_, ctype, body := get("/config.js")
	if ctype != "text/javascript; charset=utf-8" {
		t.Errorf("config.js Content-Type = %s", ctype)
	}
	var cfg struct {
		Auth0 map[string]any `json:"auth0"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(body, "window.LATCH_SPA_CONFIG = ")), ";")), &cfg); err != nil {
		t.Fatalf("config.js: %v\n%s", err, body)
	}
	want := map[string]any{
		"domain": "http://127.0.0.1:9", "clientId": "cid", "useRefreshTokens": true, "cacheLocation": "localstorage",
		"authorizeTimeoutInSeconds": float64(10), "useRefreshTokensFallback": false, "leeway": float64(5),
		"authorizationParams": map[string]any{"redirect_uri": s.Origin + "/", "audience": "https://api.example/", "connection": "db"},
	}
	if g, w := fmt.Sprint(cfg.Auth0), fmt.Sprint(want); g != w {
		t.Errorf("config.js options:\n got %s\nwant %s", g, w)
	}
	for _, path := range []string{"/", "/?code=x&state=y", "/app.js", "/auth0-spa-js.production.js"} {
		if code, _, body := get(path); code != 200 || body == "" {
			t.Errorf("GET %s: %d, %d bytes", path, code, len(body))
		}
	}
	if code, _, _ := get("/node_modules/@auth0/auth0-spa-js/package.json"); code != 404 {
		t.Errorf("GET of another file: %d, want 404", code)
	}
}

// TestSPA logs in and out through the real SDK in Chromium, against the fake server.
func TestSPA(t *testing.T) {
	version := pinnedSDK(t)
	const clientID = "spa-client"
	f := newFakeAuth(t, clientID)
	origin := ServeSPA(t, SPAConfig{Domain: f.srv.URL, ClientID: clientID, Audience: "https://api.example/"})
	b := New(t)

	// Start-up: the SDK's bundle loaded, app.js made its client, nobody is logged in.
	b.Navigate(origin)
	b.WaitSPA(SPAReady)
	var sdk struct {
		Loaded  bool   `json:"loaded"`
		Create  string `json:"create"`
		Version string `json:"version"`
	}
	b.Eval(`({loaded: window.sdkLoaded, create: typeof auth0.createAuth0Client, version: window.sdkVersion})`, &sdk)
	if !sdk.Loaded || sdk.Create != "function" || sdk.Version != version {
		t.Fatalf("the SDK in the page: %+v, want loaded, createAuth0Client a function, version %s", sdk, version)
	}
	if got := b.Text("#domain"); got != f.srv.URL {
		t.Errorf("#domain = %q, want %q", got, f.srv.URL)
	}
	b.AssertNoConsoleErrors()

	// Silent authentication without a session: login_required, shown in #error.
	if r := b.SPASilent(nil); r.OK || r.Error != "login_required" {
		t.Errorf("silent() before login = %+v, want login_required", r)
	}
	if e := b.SPALastError(); e == nil || e.Action != "silent" || e.Error != "login_required" {
		t.Errorf("lastError = %v", e)
	}
	b.WaitText("#error", "login_required")

	// Log in: /authorize (PKCE), back to the SPA with ?code=&state=, the token exchange.
	b.SPALogin(map[string]string{"screen_hint": "signup"})
	b.WaitSPA(SPAAuthenticated)
	if u := b.CurrentURL(); u != origin+"/" {
		t.Errorf("URL after the callback = %s, want %s/ (code and state removed)", u, origin)
	}
	if !slices.ContainsFunc(b.Navigations(), func(u string) bool { return strings.HasPrefix(u, origin+"/?code=") }) {
		t.Errorf("no navigation to the callback: %q", b.Navigations())
	}
	authorize, token, _ := f.calls()
	if len(authorize) != 2 || len(token) != 1 {
		t.Fatalf("%d authorize and %d token requests, want 2 and 1", len(authorize), len(token))
	}
	a := authorize[1]
	for k, v := range map[string]string{
		"client_id": clientID, "redirect_uri": origin + "/", "audience": "https://api.example/",
		"screen_hint": "signup", "response_type": "code", "response_mode": "query", "code_challenge_method": "S256",
	} {
		if a.Get(k) != v {
			t.Errorf("authorize %s = %q, want %q", k, a.Get(k), v)
		}
	}
	if !strings.Contains(a.Get("scope"), "openid") {
		t.Errorf("authorize scope = %q", a.Get("scope"))
	}
	if tk := token[0]; tk.Get("grant_type") != "authorization_code" || tk.Get("redirect_uri") != origin+"/" || tk.Get("client_id") != clientID {
		t.Errorf("token request = %v", tk)
	}
	claims := b.SPAClaims()
	if claims["sub"] != "auth0|ann" || claims["nonce"] != a.Get("nonce") || claims["__raw"] == nil {
		t.Errorf("claims = %v", claims)
	}
	if u := b.SPAUser(); u["email"] != "ann@example.com" {
		t.Errorf("user = %v", u)
	}
	b.WaitText("#claims", "auth0|ann")
	b.Screenshot("authenticated")

	// Silent authentication with the session: the iframe gets a code, exchanged for new tokens.
	r := b.SPASilent(nil)
	if !r.OK || !strings.HasPrefix(r.AccessToken, "at-") || r.IDToken == "" {
		t.Errorf("silent() with a session = %+v", r)
	}
	if e := b.SPALastError(); e != nil {
		t.Errorf("lastError after a good silent() = %v", e)
	}
	if got := b.Text("#error"); got != "" {
		t.Errorf("#error after a good silent() = %q", got)
	}

	// Log out: /v2/logout, back to the SPA, logged out.
	b.SPALogout()
	b.WaitURLPrefix(origin)
	b.WaitSPA(SPAReady)
	_, _, logout := f.calls()
	if len(logout) != 1 || logout[0].Get("client_id") != clientID || logout[0].Get("returnTo") != origin+"/" {
		t.Errorf("logout requests = %v", logout)
	}
	if got := b.Text("#authenticated"); got != "false" {
		t.Errorf("#authenticated after logout = %q", got)
	}
	b.AssertNoConsoleErrors()
}

// TestSPARefreshTokens: with refresh tokens in localStorage, silent() uses the refresh-token
// grant, and a reload keeps the login.
func TestSPARefreshTokens(t *testing.T) {
	const clientID = "rt-client"
	f := newFakeAuth(t, clientID)
	origin := ServeSPA(t, SPAConfig{Domain: f.srv.URL, ClientID: clientID, UseRefreshTokens: true, CacheLocation: "localstorage"})
	b := New(t)
	b.Navigate(origin)
	b.WaitSPA(SPAReady)
	b.SPALogin(nil)
	b.WaitSPA(SPAAuthenticated)

	r := b.SPASilent(nil)
	if !r.OK || r.IDToken == "" {
		t.Fatalf("silent() = %+v", r)
	}
	authorize, token, _ := f.calls()
	if len(authorize) != 1 || !strings.Contains(authorize[0].Get("scope"), "offline_access") {
		t.Errorf("authorize requests = %v, want one with offline_access", authorize)
	}
	if len(token) != 2 || token[1].Get("grant_type") != "refresh_token" || token[1].Get("refresh_token") == "" {
		t.Errorf("token requests = %v, want the code, then the refresh token", token)
	}

	b.Reload()
	b.WaitSPA(SPAAuthenticated)
	b.AssertNoConsoleErrors()
}

// TestSPAFailures: every failure shows in the page; a failed token request is a console error.
func TestSPAFailures(t *testing.T) {
	b := New(t)

	// Not configured yet: start-up fails, visibly.
	s := StartSPA(t)
	b.Navigate(s.Origin)
	b.WaitSPA(SPAError)
	if e := b.SPALastError(); e == nil || e.Action != "init" || !strings.Contains(e.ErrorDescription, "LATCH_SPA_CONFIG") {
		t.Errorf("lastError without a configuration = %v", e)
	}
	b.WaitText("#error", "LATCH_SPA_CONFIG")

	// A domain where nothing listens: start-up needs no request, so the app is ready with a
	// clean console.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nowhere := "http://" + ln.Addr().String()
	ln.Close()
	s.Configure(SPAConfig{Domain: nowhere, ClientID: "c"})
	b.Reload()
	b.WaitSPA(SPAReady)
	if got := b.Text("#domain"); got != nowhere {
		t.Errorf("#domain = %q, want %q", got, nowhere)
	}
	b.AssertNoConsoleErrors()

	// The code exchange fails: the callback's error is in #error, the 400 in the console.
	f := newFakeAuth(t, "c")
	f.mu.Lock()
	f.failToken = true
	f.mu.Unlock()
	s.Configure(SPAConfig{Domain: f.srv.URL, ClientID: "c"})
	b.Reload()
	b.WaitSPA(SPAReady)
	b.SPALogin(nil)
	b.WaitSPA(SPAError)
	if e := b.SPALastError(); e == nil || e.Action != "callback" || e.Error != "invalid_grant" || e.ErrorDescription != "the code is no good" {
		t.Errorf("lastError after a failed exchange = %v", e)
	}
	b.WaitText("#error", "invalid_grant")
	if u := b.CurrentURL(); u != s.Origin+"/" {
		t.Errorf("URL after a failed callback = %s, want the code and state removed", u)
	}
	if !slices.ContainsFunc(b.ConsoleErrors(), func(m ConsoleMessage) bool { return strings.Contains(m.Text, "400") }) {
		t.Errorf("the token endpoint's 400 is not a console error: %v", b.ConsoleMessages())
	}
	b.AssertNoConsoleErrors("400")
	b.Screenshot("callback-failed")
}

// TestSPATLS: the SPA over https, with its self-signed certificate accepted by the Browser.
func TestSPATLS(t *testing.T) {
	f := newFakeAuth(t, "tls-client")
	origin := ServeSPATLS(t, SPAConfig{Domain: f.srv.URL, ClientID: "tls-client"})
	if !strings.HasPrefix(origin, "https://127.0.0.1:") {
		t.Fatalf("origin = %s, want https://127.0.0.1:PORT", origin)
	}
	b := New(t)
	b.Navigate(origin)
	b.WaitSPA(SPAReady)
	var secure bool
	b.Eval(`window.isSecureContext && location.protocol === 'https:'`, &secure)
	if !secure {
		t.Error("the SPA is not a secure https context")
	}
	b.SPALogin(nil)
	b.WaitSPA(SPAAuthenticated)
	if u := b.CurrentURL(); u != origin+"/" {
		t.Errorf("URL after the callback = %s", u)
	}
	b.AssertNoConsoleErrors()
}
