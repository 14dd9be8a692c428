package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/browsertest"
)

// requireVerifiedRule denies users whose address is not verified, as Auth0 rules commonly do.
const requireVerifiedRule = `function (user, context, callback) {
  if (!user.email_verified) return callback(new UnauthorizedError('Please verify your email first.'));
  callback(null, user, context);
}`

// TestEmailVerificationInChromium: a signup is followed by a verification email, delivered
// over STARTTLS with AUTH to the user alone; a rule refuses the unverified user; the link,
// followed in Chromium, sets email_verified and the rule lets the user in; the link works
// once; the events say so.
func TestEmailVerificationInChromium(t *testing.T) {
	l, box := startMailLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	created := signup(t, l, clientID, "ada@example.com", "Analytical-Engine-1", nil)
	userID := "auth0|" + created["_id"].(string)
	if created["email_verified"] != false {
		t.Fatalf("signup answered %v", created)
	}
	createRule(t, l, mgmt, "require-verified", requireVerifiedRule)

	m := box.await(t, "ada@example.com", "Verify your email address")
	link := m.link(t, l, "/u/email-verification")
	if to, err := netmailAddresses(m.Header.Get("To")); err != nil || len(to) != 1 || to[0] != "ada@example.com" {
		t.Fatalf("To %q: %v %v", m.Header.Get("To"), to, err)
	}
	if !strings.Contains(m.Text, "5 days") {
		t.Errorf("the text does not say how long the link lasts:\n%s", m.Text)
	}
	if strings.Contains(l.Logs.String(), ticketOf(t, link)) {
		t.Fatal("the ticket is in latch's log")
	}

	status, body := tryLogin(t, l, clientID, secret, "ada@example.com", "Analytical-Engine-1")
	if status != http.StatusUnauthorized || !strings.Contains(string(body), "Please verify your email first.") {
		t.Fatalf("login before verifying: %d %s", status, body)
	}

	b := browsertest.New(t)
	b.Navigate(link)
	if h := b.WaitText("h1", "verified"); !strings.Contains(h, "Email verified") {
		t.Fatalf("page after the link: %q", h)
	}
	b.Screenshot("email-verified")
	if u := getUser(t, l, mgmt, userID); u["email_verified"] != true {
		t.Fatalf("email_verified after the link = %v", u["email_verified"])
	}
	if status, body := tryLogin(t, l, clientID, secret, "ada@example.com", "Analytical-Engine-1"); status != http.StatusOK {
		t.Fatalf("login after verifying: %d %s", status, body)
	}

	// Replayed: the page says the link is spent, in the browser as over plain HTTP.
	b.Navigate(link)
	b.WaitText("h1", "invalid")
	wantLinkRefused(t, link)

	logs := waitForLogs(t, l, mgmt, "svr", "sv")
	if e := findLog(t, logs, "sv"); e.UserID != userID {
		t.Errorf("sv event %+v", e)
	}
	if e := findLog(t, logs, "svr"); e.UserID != userID || e.ClientID != clientID {
		t.Errorf("svr event %+v", e)
	}
	b.AssertNoConsoleErrors("400 (Bad Request)") // the replayed link's page
}

// TestVerificationLinkAbuse: tampered, cross-kind, cross-address, expired and replayed
// verification links all fail, and none of them verifies anybody.
func TestVerificationLinkAbuse(t *testing.T) {
	l, box := startMailLatch(t)
	mgmt := l.ManagementToken(t, "")
	alice := createUser(t, l, mgmt, map[string]any{"email": "alice@example.com", "password": "Alice-Secret-1"})
	box.await(t, "alice@example.com", "Verify") // creation mails a link: email_verified is false

	link := ticketAPI(t, l, mgmt, "email-verification", map[string]any{"user_id": alice})
	if !strings.HasPrefix(link, l.URL+"/u/email-verification?ticket=") {
		t.Fatalf("ticket %q", link)
	}
	// Tampered: one character off.
	wantLinkRefused(t, tamper(t, link))
	// Junk, empty, absent.
	wantLinkRefused(t, l.URL+"/u/email-verification?ticket=%3Cscript%3E")
	wantLinkRefused(t, l.URL+"/u/email-verification?ticket=")
	wantLinkRefused(t, l.URL+"/u/email-verification")
	// Another kind of link: refused, and not spent by the attempt.
	wantLinkRefused(t, strings.Replace(link, "/u/email-verification", "/u/unblock", 1))
	wantLinkRefused(t, strings.Replace(link, "/u/email-verification", "/u/reset-password", 1))
	if u := getUser(t, l, mgmt, alice); u["email_verified"] != false {
		t.Fatalf("a refused link verified the user: %v", u)
	}
	resp, body := getPage(t, link)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Email verified") {
		t.Fatalf("the link after refused attempts of other kinds: %d %s", resp.StatusCode, body)
	}
	wantLinkRefused(t, link) // replayed

	// Bound to the address: after the email changes, a link for the old one fails.
	mgmtJSON(t, l, http.MethodPatch, "/api/v2/users/"+url.PathEscape(alice), mgmt, map[string]any{"email_verified": false}, http.StatusOK)
	old := ticketAPI(t, l, mgmt, "email-verification", map[string]any{"user_id": alice})
	mgmtJSON(t, l, http.MethodPatch, "/api/v2/users/"+url.PathEscape(alice), mgmt, map[string]any{"email": "alice.new@example.com"}, http.StatusOK)
	wantLinkRefused(t, old)
	if u := getUser(t, l, mgmt, alice); u["email_verified"] != false || u["email"] != "alice.new@example.com" {
		t.Fatalf("a link for the old address changed the user: %v", u)
	}

	// Cross-user: Bob's link verifies Bob, never Alice.
	bob := createUser(t, l, mgmt, map[string]any{"email": "bob@example.com", "password": "Bob-Secret-12", "verify_email": false})
	bobLink := ticketAPI(t, l, mgmt, "email-verification", map[string]any{"user_id": bob})
	if resp, _ := getPage(t, bobLink); resp.StatusCode != http.StatusOK {
		t.Fatalf("Bob's link: %d", resp.StatusCode)
	}
	if getUser(t, l, mgmt, bob)["email_verified"] != true || getUser(t, l, mgmt, alice)["email_verified"] != false {
		t.Fatal("Bob's link verified the wrong user")
	}

	// Expired: a ticket of one second, used after it.
	carol := createUser(t, l, mgmt, map[string]any{"email": "carol@example.com", "password": "Carol-Secret-1", "verify_email": false})
	short := ticketAPI(t, l, mgmt, "email-verification", map[string]any{"user_id": carol, "ttl_sec": 1})
	time.Sleep(1100 * time.Millisecond) // let the ticket's lifetime pass
	wantLinkRefused(t, short)
	if getUser(t, l, mgmt, carol)["email_verified"] != false {
		t.Fatal("an expired link verified the user")
	}
	logs := waitForLogs(t, l, mgmt, "fv")
	if e := findLog(t, logs, "fv"); !strings.Contains(e.Description, "invalid") {
		t.Errorf("fv event %+v", e)
	}
}

// TestEmailVerificationTicketsAPI: the Management API's ticket takes Auth0's options: the
// user goes to result_url with Auth0's success parameters and, when asked, the address;
// validation errors are Auth0's 400s.
func TestEmailVerificationTicketsAPI(t *testing.T) {
	l, _ := startMailLatch(t)
	mgmt := l.ManagementToken(t, "")
	id := createUser(t, l, mgmt, map[string]any{"email": "dora@example.com", "password": "Dora-Secret-12", "verify_email": false})

	link := ticketAPI(t, l, mgmt, "email-verification", map[string]any{
		"user_id": id, "result_url": "https://app.example.com/welcome?from=mail", "includeEmailInRedirect": true, "ttl_sec": 3600,
		"identity": map[string]any{"user_id": strings.TrimPrefix(id, "auth0|"), "provider": "auth0"},
	})
	resp, body := getPage(t, link)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("link with a result_url: %d %s", resp.StatusCode, body)
	}
	to, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || to.Host != "app.example.com" || to.Path != "/welcome" {
		t.Fatalf("redirect to %q", resp.Header.Get("Location"))
	}
	q := to.Query()
	if q.Get("from") != "mail" || q.Get("success") != "true" || q.Get("code") != "success" || q.Get("email") != "dora@example.com" || q.Get("message") == "" {
		t.Fatalf("result URL parameters %v", q)
	}

	for _, c := range []struct {
		body   map[string]any
		status int
		want   string
	}{
		{map[string]any{}, 400, "user_id"},
		{map[string]any{"user_id": "auth0|nobody"}, 404, "inexistent_user"},
		{map[string]any{"user_id": id, "ttl_sec": -1}, 400, "ttl_sec"},
		{map[string]any{"user_id": id, "ttl_sec": 31 * 24 * 3600}, 400, "ttl_sec"},
		{map[string]any{"user_id": id, "result_url": "javascript:alert(1)"}, 400, "result_url"},
		{map[string]any{"user_id": id, "client_id": "no-such-client"}, 400, "client_id"},
		{map[string]any{"user_id": id, "organization_id": "org_1"}, 400, "organization_id"},
		{map[string]any{"user_id": id, "identity": map[string]any{"user_id": "other", "provider": "google-oauth2"}}, 400, "identity"},
		{map[string]any{"user_id": 42}, 400, "user_id"},
	} {
		resp, body := l.Do(t, http.MethodPost, "/api/v2/tickets/email-verification", mgmt, c.body)
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.want) {
			t.Errorf("%v: %d %s, want %d mentioning %s", c.body, resp.StatusCode, body, c.status, c.want)
		}
	}
	// Tickets need create:user_tickets (or update:users, which can set the flag anyway).
	if resp, body := l.Do(t, http.MethodPost, "/api/v2/tickets/email-verification", l.ManagementToken(t, "read:users"), map[string]any{"user_id": id}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("ticket with read:users only: %d %s", resp.StatusCode, body)
	}
}

// TestVerificationEmailJob: POST /api/v2/jobs/verification-email mails the link now and
// answers with Auth0's job, which GET /jobs/{id} finds too; the verify_email flag of POST and
// PATCH /users sends one or not.
func TestVerificationEmailJob(t *testing.T) {
	l, box := startMailLatch(t)
	mgmt := l.ManagementToken(t, "")
	quiet := createUser(t, l, mgmt, map[string]any{"email": "erin@example.com", "password": "Erin-Secret-12", "verify_email": false})

	job := mgmtJSON(t, l, http.MethodPost, "/api/v2/jobs/verification-email", mgmt, map[string]any{"user_id": quiet}, http.StatusCreated)
	if job["type"] != "verification_email" || job["status"] != "completed" || !strings.HasPrefix(job["id"].(string), "job_") || job["created_at"] == "" {
		t.Fatalf("job %v", job)
	}
	again := mgmtJSON(t, l, http.MethodGet, "/api/v2/jobs/"+job["id"].(string), mgmt, nil, http.StatusOK)
	if again["type"] != "verification_email" || again["id"] != job["id"] {
		t.Fatalf("GET job %v", again)
	}
	link := box.await(t, "erin@example.com", "Verify").link(t, l, "/u/email-verification")
	if resp, _ := getPage(t, link); resp.StatusCode != http.StatusOK {
		t.Fatalf("job's link: %d", resp.StatusCode)
	}
	if getUser(t, l, mgmt, quiet)["email_verified"] != true {
		t.Fatal("the job's link did not verify")
	}

	// PATCH with verify_email: a new address gets a link.
	mgmtJSON(t, l, http.MethodPatch, "/api/v2/users/"+url.PathEscape(quiet), mgmt,
		map[string]any{"email": "erin.new@example.com", "verify_email": true}, http.StatusOK)
	box.await(t, "erin.new@example.com", "Verify")
	// Created verified: nothing to verify, nothing sent. Created with verify_email: true: sent
	// even so ("overrides email_verified").
	createUser(t, l, mgmt, map[string]any{"email": "frank@example.com", "password": "Frank-Secret-1", "email_verified": true})
	createUser(t, l, mgmt, map[string]any{"email": "gina@example.com", "password": "Gina-Secret-12", "email_verified": true, "verify_email": true})
	box.await(t, "gina@example.com", "Verify")

	for _, c := range []struct {
		body   map[string]any
		status int
	}{
		{map[string]any{}, 400},
		{map[string]any{"user_id": "auth0|nobody"}, 404},
		{map[string]any{"user_id": quiet, "extra": 1}, 400},
	} {
		if resp, body := l.Do(t, http.MethodPost, "/api/v2/jobs/verification-email", mgmt, c.body); resp.StatusCode != c.status {
			t.Errorf("%v: %d %s, want %d", c.body, resp.StatusCode, body, c.status)
		}
	}
	// Everything queued has been delivered once latch stops; none went to Frank or the
	// users created with verify_email: false.
	l.Stop()
	if n := len(box.to(t, "frank@example.com")); n != 0 {
		t.Errorf("%d messages to a user created verified", n)
	}
	if n := len(box.to(t, "erin@example.com")); n != 1 {
		t.Errorf("%d messages to erin@example.com, want the job's one (created with verify_email: false)", n)
	}
}
