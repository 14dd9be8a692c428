package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/browsertest"
)

// TestUnblockLinkInChromium: the tenth failed login from an IP blocks the identifier there
// and mails its owner a notice naming the IP, with an unblock link; the link, followed in
// Chromium, lifts the block; it works once. A second account blocked from the same IP within
// the hour gets no notice (one per IP an hour), and an identifier that names nobody none.
func TestUnblockLinkInChromium(t *testing.T) {
	l, box := startMailLatch(t, func(c *Config) { c.MailVerifySignups = "false" })
	mgmt := l.ManagementToken(t, "")
	appID, appSecret := appClient(t, l, mgmt)
	signup(t, l, appID, "katherine@example.com", "Orbital-Mechanics-62", nil)
	signup(t, l, appID, "dorothy@example.com", "Fortran-Teacher-61", nil)

	block := func(user string) {
		t.Helper()
		for i := range 10 {
			if status, body := tryLogin(t, l, appID, appSecret, user, fmt.Sprintf("wrong-%d", i)); status != http.StatusForbidden {
				t.Fatalf("failure %d for %s: %d %s", i+1, user, status, body)
			}
		}
	}
	block("katherine@example.com")
	m := box.await(t, "katherine@example.com", "blocked")
	link := m.link(t, l, "/u/unblock")
	if !strings.Contains(m.Text, "127.0.0.1") {
		t.Errorf("the notice does not name the IP:\n%s", m.Text)
	}
	if status, body := tryLogin(t, l, appID, appSecret, "katherine@example.com", "Orbital-Mechanics-62"); status != http.StatusTooManyRequests {
		t.Fatalf("blocked login: %d %s", status, body)
	}
	wantLinkRefused(t, tamper(t, link))

	b := browsertest.New(t)
	b.Navigate(link)
	if h := b.WaitText("h1", "unblocked"); !strings.Contains(h, "Account unblocked") {
		t.Fatalf("page after the unblock link: %q", h)
	}
	b.Screenshot("unblocked")
	if status, body := tryLogin(t, l, appID, appSecret, "katherine@example.com", "Orbital-Mechanics-62"); status != http.StatusOK {
		t.Fatalf("login after the unblock link: %d %s", status, body)
	}
	resp, body := l.Do(t, http.MethodGet, "/api/v2/user-blocks?identifier=katherine@example.com", mgmt, nil)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "127.0.0.1") {
		t.Fatalf("blocks after the unblock link: %d %s", resp.StatusCode, body)
	}
	wantLinkRefused(t, link) // replayed
	// The link of one kind opens nothing of another.
	wantLinkRefused(t, strings.Replace(link, "/u/unblock", "/u/email-verification", 1))

	block("dorothy@example.com") // same IP, within the hour: blocked, not notified
	block("ghost@example.com")   // nobody: nothing to notify
	if status, _ := tryLogin(t, l, appID, appSecret, "dorothy@example.com", "Fortran-Teacher-61"); status != http.StatusTooManyRequests {
		t.Fatalf("second account not blocked: %d", status)
	}
	logs := waitForLogs(t, l, mgmt, "ublkdu")
	if e := findLog(t, logs, "ublkdu"); e.UserName != "katherine@example.com" {
		t.Errorf("ublkdu event %+v", e)
	}
	l.Stop()
	if n := len(box.to(t, "dorothy@example.com")); n != 0 {
		t.Fatalf("%d notices for a second block from the same IP within the hour", n)
	}
	if n := len(box.srv.Messages()); n != 1 {
		t.Fatalf("%d messages, want the one notice", n)
	}
	b.AssertNoConsoleErrors("400 (Bad Request)")
}

// TestEmailNeverBlocksSignup: a mail server that holds every delivery, or refuses them for
// good, never holds up or fails a signup or a login; a refused message shows in the event
// log as fvr with the server's reply.
func TestEmailNeverBlocksSignup(t *testing.T) {
	l, box := startMailLatch(t)
	mgmt := l.ManagementToken(t, "")
	appID, appSecret := appClient(t, l, mgmt)

	release := box.srv.Hold() // every SMTP transaction waits until released
	created := signup(t, l, appID, "lovelace@example.com", "Bernoulli-Numbers-1843", nil)
	if status, body := tryLogin(t, l, appID, appSecret, "lovelace@example.com", "Bernoulli-Numbers-1843"); status != http.StatusOK {
		t.Fatalf("login while the mail server holds: %d %s", status, body)
	}
	release()
	box.await(t, "lovelace@example.com", "Verify")

	box.srv.FailNext(10, 550) // the queue does not retry a permanent refusal
	signup(t, l, appID, "babbage@example.com", "Difference-Engine-1822", nil)
	logs := waitForLogs(t, l, mgmt, "fvr")
	e := findLog(t, logs, "fvr")
	if e.UserName != "babbage@example.com" || !strings.Contains(e.Description, "550") {
		t.Fatalf("fvr event %+v", e)
	}
	if created["email"] != "lovelace@example.com" {
		t.Fatalf("signup answer %v", created)
	}
}

// TestForgotPasswordPage: the hosted login's forgot-password page asks for an address within
// the login transaction (its CSRF token) and mails the reset link for the transaction's
// connection; a stale form is refused.
func TestForgotPasswordPage(t *testing.T) {
	l, box := startMailLatch(t, func(c *Config) { c.MailVerifySignups = "false" })
	mgmt := l.ManagementToken(t, "")
	spaID := spaClient(t, l, mgmt, nil)
	signup(t, l, spaID, "mary@example.com", "Computer-Science-1", nil)

	ua := newUserAgent(t, l)
	_, challenge := pkce()
	action, _ := ua.toLoginPage(t, authorizeParams(spaID, challenge))
	state := strings.TrimPrefix(action, "/u/login?state=")
	resp, page := ua.get(t, "/u/forgot-password?state="+state)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `type="email"`) {
		t.Fatalf("forgot-password page: %d %s", resp.StatusCode, page)
	}
	form := formAction(t, page)
	csrf := formCSRF(t, page)
	if resp, body := ua.postForm(t, form, map[string][]string{"csrf": {"wrong"}, "email": {"mary@example.com"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong CSRF: %d %s", resp.StatusCode, body)
	}
	if resp, body := ua.postForm(t, form, map[string][]string{"csrf": {csrf}, "email": {"not-an-address"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "valid email") {
		t.Fatalf("bad address: %d %s", resp.StatusCode, body)
	}
	resp, body := ua.postForm(t, form, map[string][]string{"csrf": {csrf}, "email": {"mary@example.com"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Check your email") || !strings.Contains(body, "/u/login?state="+state) {
		t.Fatalf("forgot-password submit: %d %s", resp.StatusCode, body)
	}
	// An address without an account: the same page.
	resp, other := ua.postForm(t, form, map[string][]string{"csrf": {csrf}, "email": {"nobody@example.com"}})
	if resp.StatusCode != http.StatusOK || other != body {
		t.Fatalf("unknown address: %d, page differs", resp.StatusCode)
	}
	box.await(t, "mary@example.com", "Reset your").link(t, l, "/u/reset-password")
	if resp, _ := ua.get(t, "/u/forgot-password?state=unknown"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("unknown transaction: %d", resp.StatusCode)
	}
}
