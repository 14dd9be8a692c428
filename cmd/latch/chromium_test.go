package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/browsertest"
)

// planRule copies user_metadata.plan into the tokens, as teams leaving Auth0 do.
const planRule = `function (user, context, callback) {
  var plan = (user.user_metadata || {}).plan;
  context.idToken['https://example.com/plan'] = plan;
  context.accessToken['https://example.com/plan'] = plan;
  callback(null, user, context);
}`

// spaFor registers an SPA client for a test SPA served at origin.
func spaFor(t *testing.T, l *testLatch, mgmt, origin string, extra map[string]any) string {
	t.Helper()
	body := map[string]any{
		"callbacks": []string{origin + "/"}, "web_origins": []string{origin},
		"allowed_logout_urls": []string{origin + "/"}, "allowed_origins": []string{origin},
	}
	for k, v := range extra {
		body[k] = v
	}
	return spaClient(t, l, mgmt, body)
}

// TestSPAWithAuth0SDK is the main user of latch end to end: a real SPA on
// @auth0/auth0-spa-js, in real Chromium. loginWithRedirect → the hosted login page →
// handleRedirectCallback → a claim that a rule copied from user_metadata in
// getIdTokenClaims() and getUser() → getTokenSilently() through the web_message iframe →
// logout, after which silent authentication says login_required.
func TestSPAWithAuth0SDK(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	spa := browsertest.StartSPA(t)
	clientID := spaFor(t, l, mgmt, spa.Origin, nil)
	spa.Configure(browsertest.SPAConfig{Domain: strings.TrimSuffix(l.Issuer, "/"), ClientID: clientID})
	signup(t, l, clientID, "grace@example.com", "Compiler-Pioneer-1", map[string]any{"plan": "platinum"})
	createRule(t, l, mgmt, "plan-claim", planRule)

	b := browsertest.New(t)
	b.Navigate(spa.Origin)
	b.WaitSPA(browsertest.SPAReady)
	b.SPALogin(nil)
	b.WaitVisible("#username")
	b.Screenshot("login-page")
	b.Fill("#username", "grace@example.com")
	b.Fill("#password", "Compiler-Pioneer-1")
	b.Click("button[type=submit]")
	b.WaitSPA(browsertest.SPAAuthenticated)

	claims := b.SPAClaims()
	if claims["https://example.com/plan"] != "platinum" || claims["email"] != "grace@example.com" || claims["iss"] != l.Issuer {
		t.Fatalf("getIdTokenClaims() = %v", claims)
	}
	if user := b.SPAUser(); user["https://example.com/plan"] != "platinum" || user["sub"] != claims["sub"] {
		t.Fatalf("getUser() = %v", user)
	}
	b.Screenshot("logged-in")

	// getTokenSilently through the hidden iframe (response_mode=web_message, prompt=none).
	silent := b.SPASilent(nil)
	if !silent.OK || silent.AccessToken == "" {
		t.Fatalf("getTokenSilently via the iframe: %+v", silent)
	}
	info := userinfo(t, l, silent.AccessToken)
	if info["https://example.com/plan"] != "platinum" {
		t.Fatalf("/userinfo with the silently obtained token = %v", info)
	}

	b.SPALogout()
	b.WaitSPA(browsertest.SPAReady)
	if silent := b.SPASilent(nil); silent.OK || silent.Error != "login_required" {
		t.Fatalf("silent auth after logout: %+v, want login_required", silent)
	}
	b.AssertNoConsoleErrors()
}

// TestSPARefreshTokensInChromium: the SDK's refresh-token mode (useRefreshTokens) gets new
// tokens from /oauth/token across origins (CORS with the Auth0-Client header), with rotation.
func TestSPARefreshTokensInChromium(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	spa := browsertest.StartSPA(t)
	clientID := spaFor(t, l, mgmt, spa.Origin, nil)
	spa.Configure(browsertest.SPAConfig{
		Domain: strings.TrimSuffix(l.Issuer, "/"), ClientID: clientID, UseRefreshTokens: true, CacheLocation: "localstorage",
	})
	signup(t, l, clientID, "linus@example.com", "Kernel-Hacker-91", map[string]any{"plan": "basic"})
	createRule(t, l, mgmt, "plan-claim", planRule)

	b := browsertest.New(t)
	b.Navigate(spa.Origin)
	b.WaitSPA(browsertest.SPAReady)
	b.SPALogin(nil)
	b.WaitVisible("#username")
	b.Fill("#username", "linus@example.com")
	b.Fill("#password", "Kernel-Hacker-91")
	b.Click("button[type=submit]")
	b.WaitSPA(browsertest.SPAAuthenticated)

	first := b.SPASilent(nil)
	second := b.SPASilent(nil)
	if !first.OK || !second.OK || first.AccessToken == second.AccessToken {
		t.Fatalf("getTokenSilently with refresh tokens: %+v / %+v", first, second)
	}
	if claims := b.SPAClaims(); claims["https://example.com/plan"] != "basic" {
		t.Fatalf("claims after refresh = %v", claims)
	}
	// After a reload the SDK still has its (rotated) refresh token in localStorage.
	b.Reload()
	b.WaitSPA(browsertest.SPAAuthenticated, browsertest.SPAReady)
	if r := b.SPASilent(nil); !r.OK {
		t.Fatalf("refresh after reload: %+v", r)
	}
	b.AssertNoConsoleErrors()
}

// TestHostedPagesInChromium: the hosted login and signup pages in a real browser — wrong
// password, a rule's denial message, the signup page's live password policy, too many
// attempts — with screenshots of each.
func TestHostedPagesInChromium(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	spa := browsertest.StartSPA(t)
	clientID := spaFor(t, l, mgmt, spa.Origin, nil)
	spa.Configure(browsertest.SPAConfig{Domain: strings.TrimSuffix(l.Issuer, "/"), ClientID: clientID})
	signup(t, l, clientID, "ken@example.com", "Unix-Pioneer-69", nil)
	createRule(t, l, mgmt, "no-blocked-domain", `function (user, context, callback) {
  if (user.email.endsWith('@blocked.example')) return callback(new UnauthorizedError('Your organisation may not sign in here.'));
  callback(null, user, context);
}`)
	signup(t, l, clientID, "mallory@blocked.example", "Blocked-Domain-1", nil)

	b := browsertest.New(t)
	b.SetViewport(360, 740) // the narrowest phone the pages support
	b.Navigate(spa.Origin)
	b.WaitSPA(browsertest.SPAReady)
	b.SPALogin(nil)
	b.WaitVisible("#username")

	// Wrong password: the page again, the error announced, the email kept.
	b.Fill("#username", "ken@example.com")
	b.Fill("#password", "not-it")
	b.Click("button[type=submit]")
	b.WaitVisible("#form-error")
	if msg := b.Text("#form-error"); !strings.Contains(msg, "Wrong email or password") {
		t.Fatalf("error shown = %q", msg)
	}
	if v := b.Value("#username"); v != "ken@example.com" {
		t.Fatalf("email after a failure = %q", v)
	}
	b.Screenshot("wrong-password")

	// A rule's denial reaches the app with its message.
	b.Fill("#username", "mallory@blocked.example")
	b.Fill("#password", "Blocked-Domain-1")
	b.Click("button[type=submit]")
	b.WaitSPA(browsertest.SPAError)
	if e := b.SPALastError(); e == nil || e.Error != "unauthorized" || e.ErrorDescription != "Your organisation may not sign in here." {
		t.Fatalf("denial seen by the app: %+v", e)
	}
	b.Screenshot("rule-denial")

	// The signup page shows the policy live as the user types, and signs the user in.
	setPasswordPolicy(t, l, mgmt, "fair")
	b.Navigate(spa.Origin)
	b.WaitSPA(browsertest.SPAReady, browsertest.SPAError)
	b.SPALogin(map[string]string{"screen_hint": "signup"})
	b.WaitVisible("#email")
	b.Fill("#email", "barbara@example.com")
	b.Fill("#password", "short")
	b.WaitFor(`document.querySelectorAll('#password-policy li[data-state="unmet"]').length > 0`)
	b.Screenshot("signup-policy-unmet")
	b.Fill("#password", "Liskov-Substitution-1")
	b.WaitFor(`document.querySelectorAll('#password-policy li[data-state="unmet"]').length === 0 && document.querySelectorAll('#password-policy li[data-state="met"]').length > 0`)
	b.Screenshot("signup-policy-met")
	b.Click("button[type=submit]")
	b.WaitSPA(browsertest.SPAAuthenticated)
	if claims := b.SPAClaims(); claims["email"] != "barbara@example.com" {
		t.Fatalf("claims after signup = %v", claims)
	}

	// Too many attempts: after 10 failures the page says so, even for the right password.
	b2 := browsertest.New(t)
	b2.Navigate(spa.Origin)
	b2.WaitSPA(browsertest.SPAReady)
	b2.SPALogin(nil)
	b2.WaitVisible("#username")
	// submit posts the form and waits for the next page: the old one is marked, so a wait
	// cannot be satisfied by what was on screen before the submit.
	submit := func(pw string) {
		b2.Fill("#username", "ken@example.com")
		b2.Fill("#password", pw)
		var done bool
		b2.Eval(`window.__before = true`, &done)
		b2.Click("button[type=submit]")
		b2.WaitFor(`!window.__before && document.readyState === 'complete'`)
	}
	// One failure for ken@example.com from this address is above; nine more make ten.
	for i := range 9 {
		submit("guess")
		if !b2.Exists("#form-error") {
			t.Fatalf("failure #%d: no error shown", i+1)
		}
	}
	submit("Unix-Pioneer-69")
	if b2.Exists("#password") {
		t.Fatalf("the 11th attempt shows the login form again, want the too-many-attempts page")
	}
	if text := b2.Text("h1"); !strings.Contains(strings.ToLower(text), "attempts") && !strings.Contains(strings.ToLower(text), "blocked") {
		t.Fatalf("too-many-attempts page heading = %q", text)
	}
	b2.Screenshot("too-many-attempts")
}

// setPasswordPolicy changes the default connection's password policy through the Management
// API, and reads it back with the test's own token.
func setPasswordPolicy(t *testing.T, l *testLatch, mgmt, preset string) {
	t.Helper()
	l.SetConnectionPolicy(t, preset)
	resp, body := l.Do(t, http.MethodGet, "/api/v2/connections?name="+url.QueryEscape("Username-Password-Authentication"), mgmt, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"passwordPolicy":"`+preset+`"`) {
		t.Fatalf("password policy after setting it to %s: %d %s", preset, resp.StatusCode, body)
	}
}
