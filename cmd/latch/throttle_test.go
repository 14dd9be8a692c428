package main

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/server/flow"
)

// These tests run with the shipped limits (flow.LoginThrottleBurst and friends): at the
// test bcrypt cost a hundred failed logins and fifty signups take about a second, and no
// test hook has to reach into serve.

const suspiciousIP = "We have detected suspicious login behavior and further attempts will be blocked. Please contact the administrator."

// wantRetryAfter checks that a response carries a Retry-After of lo to hi seconds.
func wantRetryAfter(t *testing.T, resp *http.Response, lo, hi int) {
	t.Helper()
	n, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || n < lo || n > hi {
		t.Fatalf("Retry-After %q, want %d to %d seconds", resp.Header.Get("Retry-After"), lo, hi)
	}
}

// Suspicious-IP throttling of logins (AUTH0-COMPAT §6.2): a hundred failed logins from one IP,
// each for another identifier (so brute-force protection never trips), leave that IP no
// attempt — the right password included, on the token endpoint and the hosted login page
// alike — while another IP logs in as usual.
func TestSuspiciousIPThrottlesLogins(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	l := startLatch(t, func(c *Config) { c.MetricsAddr = metricsAddr })
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	signup(t, l, clientID, "victim@example.com", "Correct-Horse-9", nil)
	// The hosted login form, fetched before the IP is throttled (fetching it counts nothing).
	ua := newUserAgent(t, l)
	_, challenge := pkce()
	action, csrf := ua.toLoginPage(t, authorizeParams(spaClient(t, l, mgmt, nil), challenge))

	login := func(grant, user, pw, forwardedFor string) (*http.Response, []byte) {
		t.Helper()
		form := url.Values{
			"grant_type": {grant}, "client_id": {clientID}, "client_secret": {secret}, "username": {user}, "password": {pw},
		}
		if grant == flow.GrantPasswordRealm {
			form.Set("realm", flow.DefaultConnection)
		}
		req, _ := http.NewRequest(http.MethodPost, l.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if forwardedFor != "" {
			req.Header.Set("Auth0-Forwarded-For", forwardedFor)
		}
		return send(t, req)
	}
	// Unknown users and wrong passwords, over both password grants, all count.
	for i := range flow.LoginThrottleBurst {
		user, grant := fmt.Sprintf("nobody%d@example.com", i), flow.GrantPasswordRealm
		if i < flow.BruteForceThreshold/2 {
			user = "victim@example.com" // below brute-force protection's threshold
		}
		if i%2 == 0 {
			grant = flow.GrantPassword
		}
		resp, body := login(grant, user, "wrong-password", "")
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("failed login #%d (%s): %d %s", i+1, user, resp.StatusCode, body)
		}
	}

	for _, grant := range []string{flow.GrantPasswordRealm, flow.GrantPassword} {
		resp, body := login(grant, "victim@example.com", "Correct-Horse-9", "")
		wantOAuthError(t, resp, body, http.StatusTooManyRequests, "too_many_attempts", suspiciousIP)
		wantRetryAfter(t, resp, 1, int(flow.LoginThrottleInterval/time.Second))
	}
	resp, body := login(flow.GrantPasswordRealm, "newcomer@example.com", "whatever", "")
	wantOAuthError(t, resp, body, http.StatusTooManyRequests, "too_many_attempts", suspiciousIP)

	// The hosted login page refuses too, with the too-many-attempts page.
	resp2, page := ua.postForm(t, action, url.Values{"csrf": {csrf}, "username": {"victim@example.com"}, "password": {"Correct-Horse-9"}})
	if resp2.StatusCode != http.StatusTooManyRequests || !strings.Contains(page, "Too many attempts") {
		t.Fatalf("hosted login from a throttled IP: %d\n%s", resp2.StatusCode, page)
	}
	wantRetryAfter(t, resp2, 1, int(flow.LoginThrottleInterval/time.Second))

	// Another end-user address, named by the confidential client's backend, is not throttled:
	// it fails and succeeds as usual.
	resp, body = login(flow.GrantPasswordRealm, "victim@example.com", "wrong-password", "203.0.113.7")
	wantOAuthError(t, resp, body, http.StatusForbidden, "invalid_grant", "Wrong email or password.")
	if resp, body := login(flow.GrantPasswordRealm, "victim@example.com", "Correct-Horse-9", "203.0.113.7"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login from another IP: %d %s", resp.StatusCode, body)
	}

	metrics := getBody(t, "http://"+metricsAddr+"/metrics")
	if want := `latch_logins_total{outcome="suspicious_ip"} 4`; !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %q:\n%s", want, metrics)
	}
}

// Suspicious-IP throttling of signups: fifty a minute from one IP, whatever their outcome,
// then 429 on the signup endpoint and the hosted signup page; malformed requests do not count.
func TestSuspiciousIPThrottlesSignups(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, _ := appClient(t, l, mgmt)
	spa := spaClient(t, l, mgmt, nil)
	ua := newUserAgent(t, l)
	signupForm := func() (action, csrf string) {
		t.Helper()
		_, challenge := pkce()
		params := authorizeParams(spa, challenge)
		params.Set("screen_hint", "signup")
		return ua.toLoginPage(t, params)
	}
	post := func(body any) (*http.Response, []byte) {
		t.Helper()
		return l.Do(t, http.MethodPost, "/dbconnections/signup", "", body)
	}
	malformed := func() {
		t.Helper()
		for _, body := range []any{
			`{"client_id":`,
			map[string]any{"client_id": clientID, "connection": flow.DefaultConnection, "password": "Correct-Horse-9"},
			map[string]any{"client_id": clientID, "connection": flow.DefaultConnection, "email": "x@example.com"},
			map[string]any{"client_id": clientID, "connection": flow.DefaultConnection, "email": "not an address", "password": "Correct-Horse-9"},
			map[string]any{"client_id": clientID, "email": "x@example.com", "password": "Correct-Horse-9"},
		} {
			if resp, data := post(body); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("malformed signup %v: %d %s", body, resp.StatusCode, data)
			}
		}
	}
	n := 0 // signups tried, the refused ones aside
	// exhaust signs up from this IP until it is refused; it returns the refusal and how many
	// signups it made before.
	exhaust := func() (*http.Response, []byte, int, time.Duration) {
		t.Helper()
		start := time.Now()
		for i := 0; ; i++ {
			email, want := fmt.Sprintf("user%d@example.com", n), http.StatusOK
			if n > 0 && n%7 == 0 {
				email, want = "user0@example.com", http.StatusBadRequest // taken: a failed signup counts as well
			}
			resp, data := post(map[string]any{
				"client_id": clientID, "connection": flow.DefaultConnection, "email": email, "password": "Correct-Horse-9",
			})
			if resp.StatusCode == http.StatusTooManyRequests {
				return resp, data, i, time.Since(start)
			}
			if resp.StatusCode != want {
				t.Fatalf("signup #%d: %d %s", n+1, resp.StatusCode, data)
			}
			n++
			if i%10 == 0 {
				malformed()
			}
		}
	}

	action, csrf := signupForm()
	resp, data, made, took := exhaust()
	// Signups come back while the loop runs, one per interval.
	if most := flow.SignupThrottleBurst + int(took/flow.SignupThrottleInterval) + 1; made < flow.SignupThrottleBurst || made > most {
		t.Fatalf("refused after %d signups, want %d to %d", made, flow.SignupThrottleBurst, most)
	}
	var e struct {
		StatusCode  int    `json:"statusCode"`
		Name        string `json:"name"`
		Code        string `json:"code"`
		Description string `json:"description"`
	}
	mustJSON(t, data, &e)
	if e.StatusCode != http.StatusTooManyRequests || e.Name != "TooManyRequestsError" || e.Code != "too_many_attempts" || e.Description != suspiciousIP {
		t.Fatalf("throttled signup body: %s", data)
	}
	wantRetryAfter(t, resp, 1, 2)
	// A malformed request is still told what is wrong with it.
	malformed()

	// The hosted signup page is throttled as well. (Should a signup come back between the
	// last refusal and the form's post, the form signed up: exhaust again, with a new form.)
	for try := 1; ; try++ {
		resp, page := ua.postForm(t, action, url.Values{"csrf": {csrf}, "email": {fmt.Sprintf("hosted%d@example.com", try)}, "password": {"Correct-Horse-9"}})
		if resp.StatusCode == http.StatusTooManyRequests {
			wantRetryAfter(t, resp, 1, 2)
			if formCSRF(t, page) == "" {
				t.Fatalf("the signup page is not shown again:\n%s", page)
			}
			break
		}
		if resp.StatusCode != http.StatusFound || try == 3 {
			t.Fatalf("hosted signup from a throttled IP: %d\n%s", resp.StatusCode, page)
		}
		ua = newUserAgent(t, l) // signed in now: a new browser, or /authorize would not ask
		action, csrf = signupForm()
		exhaust()
	}

	// Signups come back over time.
	time.Sleep(flow.SignupThrottleInterval + 100*time.Millisecond)
	if resp, data := post(map[string]any{
		"client_id": clientID, "connection": flow.DefaultConnection, "email": "later@example.com", "password": "Correct-Horse-9",
	}); resp.StatusCode != http.StatusOK {
		t.Fatalf("signup after an interval: %d %s", resp.StatusCode, data)
	}
}

// TestAttackProtectionAllowlist: an address on the allowlist is neither blocked by
// brute-force protection nor throttled; one off the list still is.
func TestAttackProtectionAllowlist(t *testing.T) {
	l := startLatch(t, func(c *Config) { c.AttackProtectionAllowlist = "10.9.0.0/16, 127.0.0.1" })
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	signup(t, l, clientID, "ivan@example.com", "Allow-Listed-1", nil)
	login := func(pw, forwardedFor string) int {
		form := url.Values{
			"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
			"client_id": {clientID}, "client_secret": {secret}, "username": {"ivan@example.com"}, "password": {pw},
		}
		req, _ := http.NewRequest(http.MethodPost, l.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if forwardedFor != "" {
			req.Header.Set("auth0-forwarded-for", forwardedFor)
		}
		resp, _ := send(t, req)
		return resp.StatusCode
	}
	for range flow.BruteForceThreshold + 2 {
		if got := login("wrong", "10.9.3.4"); got != http.StatusForbidden {
			t.Fatalf("wrong password from an allowed address: %d, want 403 every time", got)
		}
	}
	if got := login("Allow-Listed-1", "10.9.3.4"); got != http.StatusOK {
		t.Fatalf("right password from an allowed address after many failures: %d", got)
	}
	for range flow.BruteForceThreshold {
		login("wrong", "10.8.0.1")
	}
	if got := login("Allow-Listed-1", "10.8.0.1"); got != http.StatusTooManyRequests {
		t.Fatalf("address off the list after %d failures: %d, want 429", flow.BruteForceThreshold, got)
	}
}
