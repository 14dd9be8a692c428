package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/latchauth/latch/internal/browsertest"
	"github.com/latchauth/latch/server/flow"
)

// consoleAdmin is a user who may sign in to the admin console.
type consoleAdmin struct {
	Email, Password string
}

// consoleLatch starts latch with a console admin (by its verified email, through the
// admins setting) and returns it with the admin's credentials.
func consoleLatch(t testing.TB, mutate ...func(*Config)) (*testLatch, consoleAdmin) {
	t.Helper()
	admin := consoleAdmin{Email: "ada.admin@example.com", Password: "Console-Admin-Pass-1"}
	l := startLatch(t, append([]func(*Config){func(c *Config) { c.Admins = admin.Email }}, mutate...)...)
	createConsoleUser(t, l, admin.Email, admin.Password, true, nil)
	return l, admin
}

// createConsoleUser creates a database user through the Management API and returns its id.
func createConsoleUser(t testing.TB, l *testLatch, email, pw string, verified bool, appMetadata map[string]any) string {
	t.Helper()
	extra := map[string]any{"password": pw, "email_verified": verified}
	if appMetadata != nil {
		extra["app_metadata"] = appMetadata
	}
	return mgmtCreateUser(t, l, l.ManagementToken(t, ""), email, extra)["user_id"].(string)
}

// consoleSignIn opens the console in the browser, signs in through the hosted login page
// and waits until the console shows the signed-in admin.
func consoleSignIn(t testing.TB, b *browsertest.Browser, l *testLatch, email, password string) {
	t.Helper()
	b.Navigate(l.URL + "/admin/")
	b.WaitFor(`!!document.querySelector('#username') || !!document.querySelector('[data-testid="sign-in"]') || !!document.querySelector('[data-testid="signed-in-user"]')`)
	if b.Exists(`[data-testid="sign-in"]`) && !b.Exists("#username") {
		b.Click(`[data-testid="sign-in"]`)
	}
	if !b.Exists(`[data-testid="signed-in-user"]`) {
		b.WaitVisible("#username")
		b.Fill("#username", email)
		b.Fill("#password", password)
		b.Click("button[type=submit]")
	}
	b.WaitText(`[data-testid="signed-in-user"]`, email)
}

// consoleLogin runs the console's sign-in without a browser: code + PKCE with the
// built-in client, for the Management API audience. It answers the redirect back to the
// console; tokens are exchanged by consoleTokens.
func consoleLogin(t testing.TB, l *testLatch, email, pw string, extra url.Values) (redirect *url.URL, verifier string) {
	t.Helper()
	cfg := consoleConfig(t, l)
	verifier, challenge := pkce()
	params := url.Values{
		"client_id": {cfg.ClientID}, "redirect_uri": {cfg.RedirectURI}, "response_type": {"code"},
		"scope": {cfg.Scope}, "audience": {cfg.Audience}, "state": {"console-state"}, "nonce": {"console-nonce"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		params[k] = v
	}
	return newUserAgent(t, l).login(t, params, email, pw), verifier
}

// consoleTokens exchanges the code of a console sign-in.
func consoleTokens(t testing.TB, l *testLatch, redirect *url.URL, verifier string) map[string]any {
	t.Helper()
	code := redirect.Query().Get("code")
	if code == "" {
		t.Fatalf("console sign-in redirected to %s, want a code", redirect)
	}
	resp, data := l.PostForm(t, "/oauth/token", url.Values{
		"grant_type": {"authorization_code"}, "client_id": {flow.ConsoleClientID}, "code": {code},
		"redirect_uri": {consoleConfig(t, l).RedirectURI}, "code_verifier": {verifier},
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("console code exchange: %d %s", resp.StatusCode, data)
	}
	var out map[string]any
	mustJSON(t, data, &out)
	return out
}

// userIDByEmail finds a user's id through users-by-email.
func userIDByEmail(t testing.TB, l *testLatch, mgmt, email string) string {
	t.Helper()
	resp, data := l.Do(t, http.MethodGet, "/api/v2/users-by-email?email="+url.QueryEscape(email), mgmt, nil)
	var users []struct {
		UserID string `json:"user_id"`
	}
	if err := json.Unmarshal(data, &users); err != nil || resp.StatusCode != http.StatusOK || len(users) != 1 {
		t.Fatalf("users-by-email %s: %d %s", email, resp.StatusCode, data)
	}
	return users[0].UserID
}

func consoleConfig(t testing.TB, l *testLatch) flow.ConsoleConfig {
	t.Helper()
	resp, data := l.Do(t, http.MethodGet, "/admin/config.json", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/admin/config.json: %d %s", resp.StatusCode, data)
	}
	var cfg flow.ConsoleConfig
	mustJSON(t, data, &cfg)
	return cfg
}

// TestConsoleServesApp checks what /admin/ hands out: the page for every app route, its
// files, the sign-in settings, and a policy that allows no inline or foreign script.
func TestConsoleServesApp(t *testing.T) {
	l := startLatch(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(l.URL + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/admin/" {
		t.Fatalf("GET /admin: %d to %q, want 301 to /admin/", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, path := range []string{"/admin/", "/admin/callback", "/admin/users/deep/link"} {
		resp, body := l.Do(t, http.MethodGet, path, "", nil)
		csp := resp.Header.Get("Content-Security-Policy")
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `type="module"`) ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %d %s %q", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Fatalf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}
	if resp, _ := l.Do(t, http.MethodGet, "/admin/js/app.js", "", nil); resp.StatusCode != http.StatusOK ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("GET /admin/js/app.js: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := l.Do(t, http.MethodGet, "/admin/js/no-such-module.js", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a missing script: %d, want 404 (not the page)", resp.StatusCode)
	}
	if resp, _ := l.Do(t, http.MethodPost, "/admin/", "", map[string]any{}); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /admin/: %d, want 405", resp.StatusCode)
	}
	cfg := consoleConfig(t, l)
	want := flow.ConsoleConfig{
		Issuer: l.Issuer, ClientID: "latch-console", Audience: l.Issuer + "api/v2/",
		RedirectURI: l.Issuer + "admin/callback", MaxAge: 3600,
		LogoutURL: l.Issuer + "v2/logout?client_id=latch-console&returnTo=" + url.QueryEscape(l.Issuer+"admin/"),
	}
	got := cfg
	got.Scope = ""
	if got != want || !strings.Contains(cfg.Scope, "openid") || !strings.Contains(cfg.Scope, "delete:users") {
		t.Fatalf("config.json = %+v\nwant %+v with every scope", cfg, want)
	}
}

// TestConsoleAccess covers who gets which console token: admins listed by verified email,
// the admin and viewer roles, and everyone else refused; and that the Management API reads
// an admin's rights again on every call.
func TestConsoleAccess(t *testing.T) {
	l, admin := consoleLatch(t, func(c *Config) { c.ConsoleSessionTimeout = Duration(20 * time.Minute) })
	mgmt := l.ManagementToken(t, "")
	viewerID := createConsoleUser(t, l, "vera.viewer@example.com", "Console-Viewer-Pass-1", false, map[string]any{"roles": []any{"viewer"}})
	roleAdminID := createConsoleUser(t, l, "rolf.role@example.com", "Console-Role-Pass-1", false, map[string]any{"roles": []any{"admin", "other"}})
	createConsoleUser(t, l, "nora.nobody@example.com", "Console-Nobody-Pass-1", true, map[string]any{"roles": "editor"})

	// A rule that denies every login must not lock admins out: rules do not run for the console.
	createRule(t, l, mgmt, "deny-all", `function (user, context, callback) { callback(new UnauthorizedError("closed")); }`)

	t.Run("admin by email holds every scope", func(t *testing.T) {
		redirect, verifier := consoleLogin(t, l, admin.Email, admin.Password, url.Values{"scope": {"openid email offline_access read:users delete:users"}})
		tok := consoleTokens(t, l, redirect, verifier)
		if tok["scope"] != "openid email offline_access read:users delete:users" {
			t.Fatalf("scope = %v", tok["scope"])
		}
		if _, ok := tok["refresh_token"]; ok {
			t.Fatal("the console got a refresh token; its sign-ins must end with the session timeout")
		}
		if tok["expires_in"] != float64(20*60) {
			t.Fatalf("expires_in = %v, want the console session timeout (1200)", tok["expires_in"])
		}
		at := tok["access_token"].(string)
		if resp, data := l.Do(t, http.MethodGet, "/api/v2/users?q="+url.QueryEscape(`email:"vera.viewer@example.com"`), at, nil); resp.StatusCode != http.StatusOK || !strings.Contains(string(data), viewerID) {
			t.Fatalf("GET /users with the console token: %d %s", resp.StatusCode, data)
		}
		// The scopes it did not ask for are not granted.
		if resp, data := l.Do(t, http.MethodGet, "/api/v2/rules", at, nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("GET /rules without read:rules: %d %s", resp.StatusCode, data)
		}
	})

	t.Run("viewer role holds only read scopes", func(t *testing.T) {
		redirect, verifier := consoleLogin(t, l, "vera.viewer@example.com", "Console-Viewer-Pass-1", nil)
		tok := consoleTokens(t, l, redirect, verifier)
		scope := tok["scope"].(string)
		if !strings.Contains(scope, "read:users") || strings.Contains(scope, "update:") || strings.Contains(scope, "delete:") || strings.Contains(scope, "create:") {
			t.Fatalf("viewer scope = %q", scope)
		}
		at := tok["access_token"].(string)
		if resp, _ := l.Do(t, http.MethodGet, "/api/v2/rules", at, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("viewer GET /rules: %d", resp.StatusCode)
		}
		if resp, data := l.Do(t, http.MethodDelete, "/api/v2/users/"+url.PathEscape(roleAdminID), at, nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("viewer DELETE /users: %d %s, want 403", resp.StatusCode, data)
		}
	})

	t.Run("role admin, once demoted, loses access at once", func(t *testing.T) {
		redirect, verifier := consoleLogin(t, l, "rolf.role@example.com", "Console-Role-Pass-1", nil)
		at := consoleTokens(t, l, redirect, verifier)["access_token"].(string)
		if resp, _ := l.Do(t, http.MethodGet, "/api/v2/clients", at, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("role admin GET /clients: %d", resp.StatusCode)
		}
		if resp, data := l.Do(t, http.MethodPatch, "/api/v2/users/"+url.PathEscape(roleAdminID), mgmt, map[string]any{"app_metadata": map[string]any{"roles": []any{"other"}}}); resp.StatusCode != http.StatusOK {
			t.Fatalf("demote: %d %s", resp.StatusCode, data)
		}
		resp, data := l.Do(t, http.MethodGet, "/api/v2/clients", at, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(data), "not an administrator") {
			t.Fatalf("demoted admin's live token: %d %s, want 401", resp.StatusCode, data)
		}
	})

	// An address in admins that its owner never verified does not count: anyone could have
	// signed up with it.
	l2, _ := consoleLatch(t, func(c *Config) { c.Admins = "ada.admin@example.com, mallory@example.com" })
	createConsoleUser(t, l2, "mallory@example.com", "Console-Mallory-Pass-1", false, nil)
	for _, c := range []struct {
		name      string
		l         *testLatch
		email, pw string
	}{
		{"no admin role", l, "nora.nobody@example.com", "Console-Nobody-Pass-1"},
		{"listed email, but unverified", l2, "mallory@example.com", "Console-Mallory-Pass-1"},
	} {
		t.Run("refused: "+c.name, func(t *testing.T) {
			redirect, _ := consoleLogin(t, c.l, c.email, c.pw, nil)
			if redirect.Query().Get("error") != "access_denied" || redirect.Query().Get("code") != "" ||
				!strings.Contains(redirect.Query().Get("error_description"), "not an administrator") {
				t.Fatalf("non-admin sign-in redirected to %s, want error=access_denied", redirect)
			}
		})
	}

	t.Run("other clients cannot get a Management API token for a user", func(t *testing.T) {
		spa := spaClient(t, l, mgmt, nil)
		_, challenge := pkce()
		params := authorizeParams(spa, challenge)
		params.Set("audience", l.Issuer+"api/v2/")
		resp, body := newUserAgent(t, l).authorize(t, params)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("error") != "access_denied" {
			t.Fatalf("authorize with the Management API audience from an SPA: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
	})

	t.Run("the console client is not in the Management API", func(t *testing.T) {
		resp, _ := l.Do(t, http.MethodGet, "/api/v2/clients/latch-console", mgmt, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET /clients/latch-console: %d, want 404 (the built-in client cannot be edited)", resp.StatusCode)
		}
		resp, data := l.Do(t, http.MethodGet, "/api/v2/clients", mgmt, nil)
		var list []map[string]any
		mustJSON(t, data, &list)
		for _, c := range list {
			if c["client_id"] == "latch-console" {
				t.Fatalf("GET /clients lists the console client: %d %s", resp.StatusCode, data)
			}
		}
	})

	t.Run("a blocked admin loses access at once", func(t *testing.T) {
		redirect, verifier := consoleLogin(t, l, admin.Email, admin.Password, nil)
		at := consoleTokens(t, l, redirect, verifier)["access_token"].(string)
		adminID := userIDByEmail(t, l, mgmt, admin.Email)
		if resp, data := l.Do(t, http.MethodPatch, "/api/v2/users/"+url.PathEscape(adminID), mgmt, map[string]any{"blocked": true}); resp.StatusCode != http.StatusOK {
			t.Fatalf("block: %d %s", resp.StatusCode, data)
		}
		if resp, data := l.Do(t, http.MethodGet, "/api/v2/users", at, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("blocked admin's live token: %d %s, want 401", resp.StatusCode, data)
		}
		if resp, data := l.Do(t, http.MethodPatch, "/api/v2/users/"+url.PathEscape(adminID), mgmt, map[string]any{"blocked": false}); resp.StatusCode != http.StatusOK {
			t.Fatalf("unblock: %d %s", resp.StatusCode, data)
		}
	})

	t.Run("the callback must match exactly", func(t *testing.T) {
		_, challenge := pkce()
		params := url.Values{
			"client_id": {"latch-console"}, "redirect_uri": {l.Issuer + "admin/callback/../evil"}, "response_type": {"code"},
			"scope": {"openid"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
		}
		resp, _ := newUserAgent(t, l).authorize(t, params)
		if resp.StatusCode == http.StatusFound {
			t.Fatalf("authorize with a foreign redirect_uri redirected to %s", resp.Header.Get("Location"))
		}
		params.Set("redirect_uri", l.Issuer+"admin/callback")
		params.Del("code_challenge")
		params.Del("code_challenge_method")
		resp, _ = newUserAgent(t, l).authorize(t, params)
		if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "invalid_request" {
			t.Fatalf("authorize without PKCE: %d %s, want invalid_request", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// TestBootstrapAdmin: the first start creates a console admin with a generated password
// and prints it once; the next start creates nothing.
func TestBootstrapAdmin(t *testing.T) {
	l := startLatch(t, func(c *Config) { c.BootstrapAdminEmail = "first.admin@example.com" })
	out := l.Output.String()
	const marker = "sign in as first.admin@example.com with password "
	i := strings.Index(out, marker)
	if i < 0 {
		t.Fatalf("the welcome message does not give the admin's credentials:\n%s", out)
	}
	pw := strings.Fields(out[i+len(marker):])[0]
	if len(pw) < 16 {
		t.Fatalf("generated password %q is too short", pw)
	}
	redirect, verifier := consoleLogin(t, l, "first.admin@example.com", pw, nil)
	tok := consoleTokens(t, l, redirect, verifier)
	if !strings.Contains(tok["scope"].(string), "update:rules") {
		t.Fatalf("bootstrap admin scope = %v", tok["scope"])
	}
	l.Restart()
	if strings.Contains(l.Output.String()[len(out):], "with password") {
		t.Fatalf("the second start printed a password again:\n%s", l.Output.String())
	}
	userIDByEmail(t, l, l.ManagementToken(t, ""), "first.admin@example.com") // exactly one admin
}

// consoleAudit finds, in the page on show, the controls a screen reader could not name and,
// when narrow, whether the page scrolls sideways.
const consoleAudit = `(() => {
	const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
	const text = (el) => (el ? el.textContent.trim() : '');
	const unnamed = [];
	for (const el of document.querySelectorAll('input, select, textarea, button, a[href], [role=switch], [tabindex="0"]')) {
		if (el.type === 'hidden' || !visible(el)) continue;
		const byIds = (el.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean)
			.map((id) => text(document.getElementById(id))).join(' ');
		const byLabels = el.labels ? [...el.labels].map(text).join(' ') : '';
		const own = ['BUTTON', 'A'].includes(el.tagName) ? text(el) : '';
		if (!(el.getAttribute('aria-label') || byIds || byLabels || own || el.title).trim()) {
			unnamed.push(el.outerHTML.slice(0, 120));
		}
	}
	return {
		unnamed,
		overflow: document.documentElement.scrollWidth - window.innerWidth,
		title: document.title,
		busy: document.getElementById('main').getAttribute('aria-busy') === 'true',
	};
})()`

// TestConsoleAccessibility walks every screen of the console at 1280 and 390 px wide:
// every control has a name, nothing scrolls sideways on a phone, each screen names itself
// in the title, the keyboard focus is visible, and the browser reports no error.
func TestConsoleAccessibility(t *testing.T) {
	l, admin := consoleLatch(t)
	mgmt := l.ManagementToken(t, "")
	userID := createConsoleUser(t, l, "ivy.audit@example.com", "Console-Audit-Pass-1", true, map[string]any{"plan": "gold"})
	ruleID := createRule(t, l, mgmt, "audit-rule", `function (user, context, callback) { callback(null, user, context); }`)
	clientID := spaClient(t, l, mgmt, nil)
	screens := []string{"/rules", "/rules/" + ruleID, "/rules/new", "/rules-configs", "/actions", "/users",
		"/users/" + url.PathEscape(userID), "/logs", "/keys", "/clients", "/clients/" + clientID}

	b := browsertest.New(t)
	consoleSignIn(t, b, l, admin.Email, admin.Password)
	for _, size := range [][2]int{{1280, 800}, {390, 844}} {
		b.SetViewport(size[0], size[1])
		for _, path := range screens {
			b.Eval(`location.hash = `+jsonString(path), nil)
			b.WaitFor(`location.hash === ` + jsonString("#"+path) + ` && document.getElementById('main').getAttribute('aria-busy') !== 'true' && document.querySelector('#main h1, #main h2') !== null`)
			var audit struct {
				Unnamed  []string
				Overflow int
				Title    string
			}
			b.Eval(consoleAudit, &audit)
			if len(audit.Unnamed) > 0 {
				t.Errorf("%s at %d px: controls without an accessible name:\n%s", path, size[0], strings.Join(audit.Unnamed, "\n"))
			}
			if audit.Overflow > 1 {
				t.Errorf("%s at %d px: the page scrolls sideways by %d px", path, size[0], audit.Overflow)
			}
			if !strings.Contains(audit.Title, "latch") || strings.TrimSpace(strings.Split(audit.Title, "latch")[0]) == "" {
				t.Errorf("%s: document.title %q does not name the screen", path, audit.Title)
			}
		}
		b.Screenshot(fmt.Sprintf("audit-%dpx", size[0]))
	}

	// The keyboard focus is visible: Tab from the top of the page lands on a control whose
	// outline (or box shadow) shows.
	b.SetViewport(1280, 800)
	b.Eval(`location.hash = '#/users'; document.activeElement && document.activeElement.blur()`, nil)
	b.WaitFor(`document.getElementById('main').getAttribute('aria-busy') !== 'true'`)
	b.Do(chromedp.KeyEvent(kb.Tab))
	var focus struct {
		Tag, Outline, Shadow string
	}
	b.Eval(`(() => { const s = getComputedStyle(document.activeElement);
		return {tag: document.activeElement.tagName, outline: s.outlineStyle + ' ' + s.outlineWidth, shadow: s.boxShadow}; })()`, &focus)
	if focus.Tag == "BODY" || (strings.HasPrefix(focus.Outline, "none") && focus.Shadow == "none") {
		t.Errorf("keyboard focus is not visible: %+v", focus)
	}
	b.AssertNoConsoleErrors()
}

func jsonString(s string) string {
	data, _ := json.Marshal(s)
	return string(data)
}

// BenchmarkConsoleLoad is the admin console opened in Chromium on loopback with a live
// session, until the rules list (two rules) is on screen: the page, every module, the
// config, the first API call and the render. ms-to-screen is read in the page (from the
// navigation's start to the console's "screen ready" mark), so the polling of the test does
// not blur it; "blank" is a tiny page of the same server in the same browser, the floor any
// page load pays (its load event).
func BenchmarkConsoleLoad(b *testing.B) {
	l, admin := consoleLatch(b)
	mgmt := l.ManagementToken(b, "")
	for _, name := range []string{"first-rule", "second-rule"} {
		resp, data := l.Do(b, http.MethodPost, "/api/v2/rules", mgmt, map[string]any{
			"name": name, "script": `function (user, context, callback) { callback(null, user, context); }`})
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("create rule: %d %s", resp.StatusCode, data)
		}
	}
	br := browsertest.New(b)
	consoleSignIn(b, br, l, admin.Email, admin.Password)
	measure := func(b *testing.B, url, ready, mark string) {
		var total float64
		i := 0
		for b.Loop() {
			i++
			br.Navigate(fmt.Sprintf(url, i)) // a new query each time: a real load, not a hash change
			br.WaitFor(ready)
			var ms float64
			br.Eval(mark, &ms)
			total += ms
		}
		b.ReportMetric(total/float64(i), "ms-to-screen")
	}
	b.Run("blank", func(b *testing.B) {
		measure(b, l.URL+"/healthz?n=%d", `document.readyState === 'complete'`,
			`performance.getEntriesByType('navigation')[0].loadEventEnd`)
	})
	b.Run("console", func(b *testing.B) {
		measure(b, l.URL+"/admin/?n=%d#/rules", `document.querySelectorAll('#rules-list li[data-key]').length === 2`,
			`performance.getEntriesByName('latch:screen-ready').find((m) => document.querySelectorAll('#rules-list li[data-key]').length === 2).startTime`)
	})
}

// TestConsoleSetPassword: an admin sets a user's password from the user page; the
// connection's policy refuses a weak one with its message, and the user then logs in with
// the new one, not the old.
func TestConsoleSetPassword(t *testing.T) {
	l, admin := consoleLatch(t)
	mgmt := l.ManagementToken(t, "")
	appID, appSecret := mgmtAppClient(t, l, mgmt)
	userID := createConsoleUser(t, l, "pat.password@example.com", strongPassword, true, nil)

	b := browsertest.New(t)
	consoleSignIn(t, b, l, admin.Email, admin.Password)
	b.Eval(`location.hash = `+jsonString("#/users/"+url.PathEscape(userID)), nil)
	b.WaitVisible("#user-password")
	b.Fill("#user-password", "short")
	b.Click("#user-password-save")
	b.WaitText("#user-password-status", "Password")
	if got := b.Text("#user-password-status"); got == "Password set." {
		t.Fatalf("a weak password was accepted: %q", got)
	}
	passwordLogin(t, l, appID, appSecret, "pat.password@example.com", strongPassword, http.StatusOK)

	const newPassword = "Console-Set-New-Pass-42"
	b.Fill("#user-password", newPassword)
	b.Click("#user-password-save")
	b.WaitText("#user-password-status", "Password set.")
	if v := b.Value("#user-password"); v != "" {
		t.Fatalf("the password stays in the field after saving: %q", v)
	}
	b.Screenshot("user-password-set")
	passwordLogin(t, l, appID, appSecret, "pat.password@example.com", newPassword, http.StatusOK)
	passwordLogin(t, l, appID, appSecret, "pat.password@example.com", strongPassword, http.StatusForbidden)
	b.ClearConsole() // the refused weak password is a 400 the browser logs
	b.AssertNoConsoleErrors()
}
