package main

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	netmail "net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/smtptest"
)

// The email tests run latch against a real SMTP server in the test process (STARTTLS with a
// certificate of its own, AUTH required), configured through smtp_url like any mail server.

const (
	mailUser = "latch-mailer"
	mailPass = "mail-secret-0123456789"
	mailFrom = "no-reply@latch.test"
	// mailWait bounds each wait for a message; reaching it fails the test.
	mailWait = 20 * time.Second
)

// startMailLatch starts latch sending its email to a new SMTP server.
func startMailLatch(t testing.TB, mutate ...func(*Config)) (*testLatch, *mailbox) {
	t.Helper()
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth(mailUser, mailPass))
	l := startLatch(t, append([]func(*Config){func(c *Config) {
		c.SMTPURL = srv.URL()
		c.MailFrom = "Latch Test <" + mailFrom + ">"
		c.SMTPCAFile = srv.CAFile()
	}}, mutate...)...)
	return l, &mailbox{srv: srv, taken: map[int]bool{}}
}

// mailbox hands out the messages the SMTP server received, each once.
type mailbox struct {
	srv   *smtptest.Server
	mu    sync.Mutex
	taken map[int]bool
}

// email is one received message, parsed as a mail client would.
type email struct {
	Raw      smtptest.Received
	Header   netmail.Header
	Subject  string
	Text     string
	HTML     string
	TextLink string // the link of the text part
	HTMLLink string // the href of the HTML part's button
}

// await waits for the next message to to whose subject contains subject, and parses it.
func (m *mailbox) await(t testing.TB, to, subject string) email {
	t.Helper()
	deadline := time.Now().Add(mailWait)
	for {
		msgs := m.srv.Messages()
		m.mu.Lock()
		for i, r := range msgs {
			if m.taken[i] || !slices.Contains(r.To, to) {
				continue
			}
			e := parseEmail(t, r)
			if strings.Contains(e.Subject, subject) {
				m.taken[i] = true
				m.mu.Unlock()
				return e
			}
		}
		m.mu.Unlock()
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no message %q to %s after %v; received: %v", subject, to, mailWait, summarize(msgs))
		}
		m.srv.WaitFor(t, len(msgs)+1, left)
	}
}

// to lists every message received for an address (taken or not), parsed.
func (m *mailbox) to(t testing.TB, addr string) []email {
	t.Helper()
	var out []email
	for _, r := range m.srv.Messages() {
		if slices.Contains(r.To, addr) {
			out = append(out, parseEmail(t, r))
		}
	}
	return out
}

func summarize(msgs []smtptest.Received) []string {
	out := make([]string, len(msgs))
	for i, r := range msgs {
		out[i] = strings.Join(r.To, ",")
	}
	return out
}

var (
	textLink = regexp.MustCompile(`(?m)^(https?://\S+)$`)
	hrefLink = regexp.MustCompile(`href="(https?://[^"]+)"`)
)

// parseEmail reads a received message with net/mail and mime/multipart and checks what every
// message of latch must be: one envelope recipient, over TLS, authenticated, from mail_from.
func parseEmail(t testing.TB, r smtptest.Received) email {
	t.Helper()
	if len(r.To) != 1 {
		t.Fatalf("a message went to %d envelope recipients: %v", len(r.To), r.To)
	}
	if !r.TLS || r.User != mailUser || r.From != mailFrom {
		t.Fatalf("message delivered with TLS=%v as user %q from %q; want TLS, %q, %q", r.TLS, r.User, r.From, mailUser, mailFrom)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatalf("net/mail: %v\n%s", err, r.Data)
	}
	e := email{Raw: r, Header: msg.Header}
	if e.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("subject: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		body, err := io.ReadAll(part)
		if err != nil {
			t.Fatalf("part: %v", err)
		}
		typ, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch typ {
		case "text/plain":
			e.Text = strings.ReplaceAll(string(body), "\r\n", "\n")
		case "text/html":
			e.HTML = string(body)
		}
	}
	if m := textLink.FindAllStringSubmatch(e.Text, -1); len(m) == 1 {
		e.TextLink = m[0][1]
	}
	if m := hrefLink.FindAllStringSubmatch(e.HTML, -1); len(m) > 0 {
		for _, h := range m {
			if strings.Contains(h[1], "ticket=") {
				e.HTMLLink = strings.ReplaceAll(h[1], "&amp;", "&")
			}
		}
	}
	return e
}

// link is the message's link, the same in both parts, on latch, at path.
func (e email) link(t testing.TB, l *testLatch, path string) string {
	t.Helper()
	if e.TextLink == "" || e.TextLink != e.HTMLLink {
		t.Fatalf("the text's link %q and the HTML's %q differ (or are missing):\n%s", e.TextLink, e.HTMLLink, e.Text)
	}
	if !strings.HasPrefix(e.TextLink, l.URL+path+"?ticket=") {
		t.Fatalf("link %q, want %s%s?ticket=...", e.TextLink, l.URL, path)
	}
	u, err := url.Parse(e.TextLink)
	if err != nil {
		t.Fatal(err)
	}
	if tok := u.Query().Get("ticket"); len(tok) < 43 {
		t.Fatalf("ticket %q is shorter than 256 bits in base64url", tok)
	}
	return e.TextLink
}

// ticketOf is the ticket of a link.
func ticketOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("ticket")
}

// tamper changes one character of a link's ticket.
func tamper(t testing.TB, link string) string {
	t.Helper()
	tok := ticketOf(t, link)
	b := []byte(tok)
	if b[10] == 'A' {
		b[10] = 'B'
	} else {
		b[10] = 'A'
	}
	return strings.Replace(link, tok, string(b), 1)
}

// getPage fetches a URL without following redirects.
func getPage(t testing.TB, target string) (*http.Response, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(target)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// wantLinkRefused demands the invalid-link page.
func wantLinkRefused(t testing.TB, link string) {
	t.Helper()
	resp, body := getPage(t, link)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "This link is invalid or has expired") {
		t.Fatalf("GET %s: %d, want the invalid-link page:\n%s", link, resp.StatusCode, body)
	}
}

// getUser reads a user through the Management API.
func getUser(t testing.TB, l *testLatch, mgmt, id string) map[string]any {
	t.Helper()
	resp, body := l.Do(t, http.MethodGet, "/api/v2/users/"+url.PathEscape(id), mgmt, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get user: %d %s", resp.StatusCode, body)
	}
	var u map[string]any
	mustJSON(t, body, &u)
	return u
}

// createUser creates a database user through the Management API and returns its id.
func createUser(t testing.TB, l *testLatch, mgmt string, fields map[string]any) string {
	t.Helper()
	body := map[string]any{"connection": "Username-Password-Authentication"}
	for k, v := range fields {
		body[k] = v
	}
	resp, data := l.Do(t, http.MethodPost, "/api/v2/users", mgmt, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create user: %d %s", resp.StatusCode, data)
	}
	var u struct {
		UserID string `json:"user_id"`
	}
	mustJSON(t, data, &u)
	return u.UserID
}

// changePassword posts /dbconnections/change_password as the SDKs do.
func changePassword(t testing.TB, l *testLatch, clientID, email string) (*http.Response, []byte) {
	t.Helper()
	return l.Do(t, http.MethodPost, "/dbconnections/change_password", "", map[string]any{
		"client_id": clientID, "email": email, "connection": "Username-Password-Authentication",
	})
}

// tryLogin tries a password-realm login and returns the status and body.
func tryLogin(t testing.TB, l *testLatch, clientID, secret, user, pw string) (int, []byte) {
	t.Helper()
	resp, body := l.PostForm(t, "/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
		"client_id": {clientID}, "client_secret": {secret}, "username": {user}, "password": {pw},
		"scope": {"openid email"},
	})
	return resp.StatusCode, body
}

// ticketAPI asks the Management API for a ticket and returns its link.
func ticketAPI(t testing.TB, l *testLatch, mgmt, kind string, body map[string]any) string {
	t.Helper()
	resp, data := l.Do(t, http.MethodPost, "/api/v2/tickets/"+kind, mgmt, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v2/tickets/%s: %d %s", kind, resp.StatusCode, data)
	}
	var out struct {
		Ticket string `json:"ticket"`
	}
	mustJSON(t, data, &out)
	if out.Ticket == "" {
		t.Fatalf("no ticket in %s", data)
	}
	return out.Ticket
}

// netmailAddresses parses a header's address list as a mail client would.
func netmailAddresses(h string) ([]string, error) {
	list, err := netmail.ParseAddressList(h)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Address
	}
	return out, nil
}
