package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/browsertest"
)

const resetAnswer = "We've just sent you an email to reset your password."

// wantResetAnswer demands Auth0's text/plain answer to a reset request.
func wantResetAnswer(t testing.TB, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != http.StatusOK || string(body) != resetAnswer || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("change_password: %d %q (%s), want 200 text/plain %q", resp.StatusCode, body, resp.Header.Get("Content-Type"), resetAnswer)
	}
}

// TestPasswordResetInChromium: a user with an SSO session and a refresh token forgets the
// password. change_password mails a link; in Chromium the reset page applies the
// connection's policy (a weak password and a mismatched confirmation are refused without
// spending the link), then sets the new password. Afterwards the old password is refused,
// the new one works, the refresh token and the SSO session are dead, "password changed" is
// mailed, the link is spent, and the event log has scpr and scp.
func TestPasswordResetInChromium(t *testing.T) {
	l, box := startMailLatch(t)
	mgmt := l.ManagementToken(t, "")
	spaID := spaClient(t, l, mgmt, nil)
	appID, appSecret := appClient(t, l, mgmt)
	const email, oldPW, newPW = "grace@example.com", "Cobol-Compiler-59", "Nanosecond-Wire-30cm"
	signup(t, l, spaID, email, oldPW, nil)
	box.await(t, email, "Verify")

	// A browser session and a refresh token from it.
	verifier, challenge := pkce()
	ua := newUserAgent(t, l)
	back := ua.login(t, authorizeParams(spaID, challenge), email, oldPW)
	tokens := exchangeCode(t, l, spaID, back.Query().Get("code"), verifier)
	if tokens.RefreshToken == "" {
		t.Fatal("no refresh token to revoke")
	}
	l.SetConnectionPolicy(t, "fair")

	resp, body := changePassword(t, l, spaID, "Grace@Example.com")
	wantResetAnswer(t, resp, body)
	m := box.await(t, email, "Reset your")
	link := m.link(t, l, "/u/reset-password")
	if !strings.Contains(m.Text, "1 day") {
		t.Errorf("the reset email does not say how long the link lasts:\n%s", m.Text)
	}

	b := browsertest.New(t)
	b.Navigate(link)
	b.WaitVisible("#password")
	if lead := b.Text(".lead"); !strings.Contains(lead, email) {
		t.Fatalf("the reset page does not name the account: %q", lead)
	}
	b.Screenshot("reset-page")
	submit := func(pw, confirm string) {
		b.Fill("#password", pw)
		b.Fill("#password_confirm", confirm)
		var done bool
		b.Eval(`window.__before = true`, &done)
		b.Click("button[type=submit]")
		b.WaitFor(`!window.__before && document.readyState === 'complete'`)
	}
	// The policy is live on the page, and the server checks it again.
	b.Fill("#password", "short")
	b.WaitFor(`document.querySelectorAll('#password-policy li[data-state="unmet"]').length > 0`)
	submit("short", "short")
	if msg := b.Text("#password-error"); !strings.Contains(msg, "requirements") {
		t.Fatalf("weak password: error %q", msg)
	}
	b.Screenshot("reset-weak-password")
	submit(newPW, newPW+"x")
	if msg := b.Text("#password_confirm-error"); !strings.Contains(msg, "do not match") {
		t.Fatalf("mismatch: error %q", msg)
	}
	if status, _ := tryLogin(t, l, appID, appSecret, email, oldPW); status != http.StatusOK {
		t.Fatalf("the old password stopped working before the reset: %d", status)
	}
	submit(newPW, newPW)
	if h := b.WaitText("h1", "changed"); !strings.Contains(h, "Password changed") {
		t.Fatalf("after the reset: %q", h)
	}
	b.Screenshot("password-changed")

	if status, body := tryLogin(t, l, appID, appSecret, email, oldPW); status != http.StatusForbidden || !strings.Contains(string(body), "invalid_grant") {
		t.Fatalf("old password after the reset: %d %s", status, body)
	}
	if status, body := tryLogin(t, l, appID, appSecret, email, newPW); status != http.StatusOK {
		t.Fatalf("new password: %d %s", status, body)
	}
	wantRefreshRefused(t, l, spaID, tokens.RefreshToken)
	silent := authorizeParams(spaID, challenge)
	silent.Set("prompt", "none")
	resp, _ = ua.authorize(t, silent)
	if loc, _ := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "login_required" {
		t.Fatalf("silent authentication with the old session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	notice := box.await(t, email, "password was changed")
	if notice.TextLink != "" || !strings.Contains(notice.Text, email) {
		t.Errorf("password changed notice:\n%s", notice.Text)
	}

	b.Navigate(link) // replayed
	b.WaitText("h1", "invalid")
	wantLinkRefused(t, link)

	logs := waitForLogs(t, l, mgmt, "scpr", "scp")
	if e := findLog(t, logs, "scp"); e.UserName != email || e.UserID == "" {
		t.Errorf("scp event %+v", e)
	}
	if e := findLog(t, logs, "scpr"); e.ClientID != spaID || e.UserID == "" {
		t.Errorf("scpr event %+v", e)
	}
	if strings.Contains(l.Logs.String(), ticketOf(t, link)) {
		t.Fatal("the ticket is in latch's log")
	}
	b.AssertNoConsoleErrors("400 (Bad Request)") // the refused submissions and the replay
}

// TestPasswordResetForm: the reset form over plain HTTP. CSRF (a cookie set with the form
// that the form must send back), weak passwords and an empty password leave the link
// usable; a reset lifts a brute-force block; a second submit of the same link fails.
func TestPasswordResetForm(t *testing.T) {
	l, box := startMailLatch(t, func(c *Config) { c.MailVerifySignups = "false" })
	mgmt := l.ManagementToken(t, "")
	appID, appSecret := appClient(t, l, mgmt)
	const email = "hedy@example.com"
	signup(t, l, appID, email, "Frequency-Hopping-1942", nil)
	for i := range 10 {
		tryLogin(t, l, appID, appSecret, email, fmt.Sprintf("guess-%d", i))
	}
	if status, _ := tryLogin(t, l, appID, appSecret, email, "Frequency-Hopping-1942"); status != http.StatusTooManyRequests {
		t.Fatalf("after 10 failures: %d, want the block", status)
	}
	box.await(t, email, "blocked") // the block's notice

	resp, body := changePassword(t, l, appID, email)
	wantResetAnswer(t, resp, body)
	link := box.await(t, email, "Reset your").link(t, l, "/u/reset-password")

	ua := newUserAgent(t, l)
	resp, page := ua.get(t, link)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "form-action 'self'") {
		t.Fatalf("reset page: %d %v", resp.StatusCode, resp.Header)
	}
	csrf, action := formCSRF(t, page), formAction(t, page)
	if action != "/u/reset-password" {
		t.Fatalf("form action %q", action)
	}
	form := func(pw, confirm, token string) url.Values {
		return url.Values{"csrf": {token}, "ticket": {ticketOf(t, link)}, "password": {pw}, "password_confirm": {confirm}}
	}
	// No cookie (another site's form), or the wrong token: refused, nothing spent.
	stranger := newUserAgent(t, l)
	if resp, body := stranger.postForm(t, action, form("Hacked-Password-1", "Hacked-Password-1", csrf)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("post without the CSRF cookie: %d %s", resp.StatusCode, body)
	}
	if resp, body := ua.postForm(t, action, form("Hacked-Password-1", "Hacked-Password-1", csrf+"x")); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("post with a wrong CSRF token: %d %s", resp.StatusCode, body)
	}
	// An empty password and a mismatch: the form again.
	if resp, body := ua.postForm(t, action, form("", "", csrf)); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "required") {
		t.Fatalf("empty password: %d %s", resp.StatusCode, body)
	}
	if resp, body := ua.postForm(t, action, form("Pioneer-Of-Wifi-1", "Pioneer-Of-Wifi-2", csrf)); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "do not match") {
		t.Fatalf("mismatch: %d %s", resp.StatusCode, body)
	}
	// The ticket of another link, tampered: the invalid-link page.
	bad := form("Pioneer-Of-Wifi-1", "Pioneer-Of-Wifi-1", csrf)
	bad.Set("ticket", ticketOf(t, tamper(t, link)))
	if resp, body := ua.postForm(t, action, bad); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid or has expired") {
		t.Fatalf("tampered ticket: %d %s", resp.StatusCode, body)
	}
	if status, _ := tryLogin(t, l, appID, appSecret, email, "Pioneer-Of-Wifi-1"); status != http.StatusTooManyRequests {
		t.Fatalf("the refused submissions changed something: %d", status)
	}

	resp, page = ua.postForm(t, action, form("Pioneer-Of-Wifi-1", "Pioneer-Of-Wifi-1", csrf))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Password changed") {
		t.Fatalf("reset: %d %s", resp.StatusCode, page)
	}
	// The block is lifted with the old password gone.
	if status, body := tryLogin(t, l, appID, appSecret, email, "Pioneer-Of-Wifi-1"); status != http.StatusOK {
		t.Fatalf("login after the reset: %d %s", status, body)
	}
	// The same form again: refused (the form's CSRF cookie went with the reset), and the
	// link is spent whatever the form.
	if resp, body := ua.postForm(t, action, form("Second-Reset-99", "Second-Reset-99", csrf)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("second submit: %d %s", resp.StatusCode, body)
	}
	wantLinkRefused(t, link)
	if status, _ := tryLogin(t, l, appID, appSecret, email, "Second-Reset-99"); status == http.StatusOK {
		t.Fatal("a spent link changed the password")
	}
}

// TestPasswordResetSameAnswer: an address without an account gets the same answer as one
// with, and no email; nothing of the lookup runs before the answer, so the timing class is
// the same too (the handler answers once the throttles have counted the request).
func TestPasswordResetSameAnswer(t *testing.T) {
	l, box := startMailLatch(t, func(c *Config) { c.MailVerifySignups = "false" })
	mgmt := l.ManagementToken(t, "")
	appID, _ := appClient(t, l, mgmt)
	signup(t, l, appID, "ida@example.com", "Known-User-Pass-1", nil)

	known, knownBody := changePassword(t, l, appID, "ida@example.com")
	unknown, unknownBody := changePassword(t, l, appID, "nobody@example.com")
	wantResetAnswer(t, known, knownBody)
	wantResetAnswer(t, unknown, unknownBody)
	for _, h := range []string{"Content-Type", "Cache-Control", "Content-Length"} {
		if known.Header.Get(h) != unknown.Header.Get(h) {
			t.Errorf("%s differs: %q and %q", h, known.Header.Get(h), unknown.Header.Get(h))
		}
	}
	// A form body is taken as well as JSON.
	resp, body := l.PostForm(t, "/dbconnections/change_password", url.Values{
		"client_id": {appID}, "email": {"nobody@example.com"}, "connection": {"Username-Password-Authentication"},
	})
	wantResetAnswer(t, resp, body)

	// Errors are about the request, never about the account.
	for _, c := range []struct {
		body map[string]any
		code int
		want string
	}{
		{map[string]any{"client_id": appID, "email": "ida@example.com"}, 400, "connection"},
		{map[string]any{"client_id": appID, "email": "ida@example.com", "connection": "nope"}, 400, "connection"},
		{map[string]any{"client_id": appID, "connection": "Username-Password-Authentication"}, 400, "email"},
		{map[string]any{"client_id": appID, "email": "not an email", "connection": "Username-Password-Authentication"}, 400, "email"},
		{map[string]any{"client_id": "no-such-client", "email": "ida@example.com", "connection": "Username-Password-Authentication"}, 401, "unauthorized"},
	} {
		resp, body := l.Do(t, http.MethodPost, "/dbconnections/change_password", "", c.body)
		if resp.StatusCode != c.code || !strings.Contains(string(body), c.want) {
			t.Errorf("%v: %d %s, want %d mentioning %s", c.body, resp.StatusCode, body, c.code, c.want)
		}
	}
	box.await(t, "ida@example.com", "Reset your")
	logs := waitForLogs(t, l, mgmt, "fcpr", "scpr")
	if e := findLog(t, logs, "fcpr"); e.UserName != "nobody@example.com" || e.UserID != "" {
		t.Errorf("fcpr event %+v", e)
	}
	l.Stop() // every answered request's work is done, every queued message delivered
	if msgs := box.to(t, "nobody@example.com"); len(msgs) != 0 {
		t.Fatalf("%d messages to an address without an account", len(msgs))
	}
	if n := len(box.srv.Messages()); n != 1 {
		t.Fatalf("%d messages in all, want the one reset email", n)
	}
}

// TestPasswordResetFlood: a flood of reset requests for one address mails the address's
// limit (3) and no more; a flood from one IP is refused past the IP's limit (50).
func TestPasswordResetFlood(t *testing.T) {
	l, box := startMailLatch(t, func(c *Config) { c.MailVerifySignups = "false" })
	mgmt := l.ManagementToken(t, "")
	appID, _ := appClient(t, l, mgmt)
	signup(t, l, appID, "joan@example.com", "Flooded-Mailbox-1", nil)

	start := time.Now()
	ok, refused := 0, 0
	for range 10 {
		resp, body := changePassword(t, l, appID, "joan@example.com")
		switch resp.StatusCode {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			refused++
			if resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "too_many_requests") {
				t.Fatalf("refusal: %v %s", resp.Header, body)
			}
		default:
			t.Fatalf("change_password: %d %s", resp.StatusCode, body)
		}
	}
	if ok != 3 || refused != 7 {
		t.Fatalf("10 requests for one address: %d answered, %d refused; want 3 and 7", ok, refused)
	}
	// The IP has used 10 of its 50; distinct addresses (without accounts) use up the rest.
	accepted := 0
	for i := range 60 {
		resp, body := changePassword(t, l, appID, fmt.Sprintf("spray%d@example.com", i))
		if resp.StatusCode == http.StatusTooManyRequests {
			break
		}
		wantResetAnswer(t, resp, body)
		accepted++
	}
	refills := int(time.Since(start) / (72 * time.Second)) // one request more per 72 s
	if accepted < 40 || accepted > 40+refills {
		t.Fatalf("the IP got %d more requests through, want 40 (+%d refilled)", accepted, refills)
	}
	l.Stop()
	if n := len(box.to(t, "joan@example.com")); n != 3 {
		t.Fatalf("%d reset emails after a flood, want 3", n)
	}
	if n := len(box.srv.Messages()); n != 3 {
		t.Fatalf("%d messages in all, want 3", n)
	}
}

// TestEmailHeaderInjection: names and addresses cannot add recipients or headers. A user's
// name full of CR/LF, Bcc: and commas reaches one envelope recipient and one To address;
// addresses with CR/LF or a second address are refused before anything is mailed.
func TestEmailHeaderInjection(t *testing.T) {
	l, box := startMailLatch(t)
	mgmt := l.ManagementToken(t, "")
	appID, _ := appClient(t, l, mgmt)
	names := map[string]string{
		"eve@example.com":     "Eve\r\nBcc: evil@attacker.test\r\nX-Evil: 1",
		"mallory@example.com": `Mallory <evil@attacker.test>, "x" <evil2@attacker.test>`,
		"trent@example.com":   "=?utf-8?q?Trent=0D=0ABcc:_evil@attacker.test?=",
	}
	for addr, name := range names {
		createUser(t, l, mgmt, map[string]any{"email": addr, "password": "Injected-Name-1", "name": name})
		m := box.await(t, addr, "Verify")
		wantOneRecipient(t, m, addr)
		resp, body := changePassword(t, l, appID, addr)
		wantResetAnswer(t, resp, body)
		wantOneRecipient(t, box.await(t, addr, "Reset your"), addr)
	}
	for _, evil := range []string{
		"victim@example.com\r\nBcc: evil@attacker.test",
		"victim@example.com, evil@attacker.test",
		"Victim <victim@example.com>",
		"victim@example.com\nevil@attacker.test",
	} {
		resp, body := changePassword(t, l, appID, evil)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("change_password for %q: %d %s", evil, resp.StatusCode, body)
		}
	}
	l.Stop()
	for _, r := range box.srv.Messages() {
		for _, to := range r.To {
			if strings.Contains(to, "attacker") {
				t.Fatalf("a message went to %s", to)
			}
		}
		// The names show in the greeting (escaped in the HTML); in the header they appear only
		// inside To's quoted or encoded display name, which wantOneRecipient parsed.
		m := parseEmail(t, r)
		for name, values := range m.Header {
			if name != "To" && strings.Contains(strings.Join(values, " "), "attacker") {
				t.Errorf("header %s: %q", name, values)
			}
		}
	}
}

// wantOneRecipient checks a message's envelope and headers name addr alone.
func wantOneRecipient(t testing.TB, m email, addr string) {
	t.Helper()
	if len(m.Raw.To) != 1 || m.Raw.To[0] != addr {
		t.Fatalf("envelope recipients %v, want [%s]", m.Raw.To, addr)
	}
	to, err := netmailAddresses(m.Header.Get("To"))
	if err != nil || len(to) != 1 || to[0] != addr {
		t.Fatalf("To %q parses as %v (%v), want only %s", m.Header.Get("To"), to, err, addr)
	}
	for _, h := range []string{"Cc", "Bcc", "X-Evil"} {
		if v := m.Header.Get(h); v != "" {
			t.Fatalf("header %s: %q", h, v)
		}
	}
}

// TestPasswordChangeTicketsAPI: admins' reset links, by user id or by connection and
// email, with Auth0's options: mark_email_as_verified, result_url with the address. A link
// changes its own user's password only, and expires.
func TestPasswordChangeTicketsAPI(t *testing.T) {
	l, box := startMailLatch(t, func(c *Config) { c.MailVerifySignups = "false" })
	mgmt := l.ManagementToken(t, "")
	appID, appSecret := appClient(t, l, mgmt)
	kay := createUser(t, l, mgmt, map[string]any{"email": "kay@example.com", "password": "Kay-Old-Password-1", "verify_email": false})
	lin := createUser(t, l, mgmt, map[string]any{"email": "lin@example.com", "password": "Lin-Old-Password-1", "verify_email": false})
	conn := l.defaultConnection(t, mgmt)["id"].(string)

	link := ticketAPI(t, l, mgmt, "password-change", map[string]any{
		"connection_id": conn, "email": "KAY@example.com", "mark_email_as_verified": true,
		"result_url": "https://app.example.com/after-reset", "includeEmailInRedirect": true,
	})
	if !strings.HasPrefix(link, l.URL+"/u/reset-password?ticket=") {
		t.Fatalf("ticket %q", link)
	}
	ua := newUserAgent(t, l)
	_, page := ua.get(t, link)
	resp, body := ua.postForm(t, "/u/reset-password", url.Values{
		"csrf": {formCSRF(t, page)}, "ticket": {ticketOf(t, link)},
		"password": {"Kay-New-Password-2"}, "password_confirm": {"Kay-New-Password-2"},
	})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="https://app.example.com/after-reset?`) || !strings.Contains(body, "email=kay%40example.com") {
		t.Fatalf("reset with a result_url: %d %s", resp.StatusCode, body)
	}
	if u := getUser(t, l, mgmt, kay); u["email_verified"] != true || u["last_password_reset"] == nil {
		t.Fatalf("after a mark_email_as_verified reset: %v", u)
	}
	// Only Kay's password changed.
	if status, _ := tryLogin(t, l, appID, appSecret, "kay@example.com", "Kay-New-Password-2"); status != http.StatusOK {
		t.Fatalf("Kay's new password: %d", status)
	}
	if status, _ := tryLogin(t, l, appID, appSecret, "lin@example.com", "Lin-Old-Password-1"); status != http.StatusOK {
		t.Fatalf("Lin's password changed: %d", status)
	}
	if getUser(t, l, mgmt, lin)["email_verified"] != false {
		t.Fatal("Lin was verified by Kay's link")
	}
	box.await(t, "kay@example.com", "password was changed")

	// By user id, expiring after a second.
	short := ticketAPI(t, l, mgmt, "password-change", map[string]any{"user_id": lin, "ttl_sec": 1})
	time.Sleep(1100 * time.Millisecond) // let the ticket's lifetime pass
	wantLinkRefused(t, short)

	for _, c := range []struct {
		body   map[string]any
		status int
		want   string
	}{
		{map[string]any{}, 400, "user_id"},
		{map[string]any{"user_id": lin, "email": "lin@example.com"}, 400, "user_id"},
		{map[string]any{"email": "lin@example.com"}, 400, "connection_id"},
		{map[string]any{"connection_id": "con_nope", "email": "lin@example.com"}, 400, "inexistent_connection"},
		{map[string]any{"connection_id": conn, "email": "nobody@example.com"}, 404, "inexistent_user"},
		{map[string]any{"user_id": lin, "new_password": "Chosen-By-Admin-1"}, 400, "new_password"},
		{map[string]any{"user_id": lin, "ttl_sec": "soon"}, 400, "ttl_sec"},
	} {
		resp, body := l.Do(t, http.MethodPost, "/api/v2/tickets/password-change", mgmt, c.body)
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.want) {
			t.Errorf("%v: %d %s, want %d mentioning %s", c.body, resp.StatusCode, body, c.status, c.want)
		}
	}
}
