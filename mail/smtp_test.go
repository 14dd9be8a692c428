package mail_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/latchauth/latch/internal/smtptest"
	"github.com/latchauth/latch/mail"
)

const waitLimit = 30 * time.Second // only keeps a broken test from hanging

func renderFor(t *testing.T, email, name string) mail.Message {
	t.Helper()
	m, err := newTemplates(t).Render(mail.KindResetPassword, "fr", mail.Data{
		User: mail.User{Email: email, Name: name}, Link: testLink, ExpiresIn: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkDelivered parses the one message srv received and compares it with m.
func checkDelivered(t *testing.T, srv *smtptest.Server, m mail.Message, wantRcpt string) smtptest.Received {
	t.Helper()
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if len(got.To) != 1 || got.To[0] != wantRcpt {
		t.Errorf("envelope recipients %q, want exactly [%s]", got.To, wantRcpt)
	}
	if got.From != "no-reply@acme.test" {
		t.Errorf("envelope sender %q", got.From)
	}
	p := parseMessage(t, got.Data)
	if p.subject != m.Subject {
		t.Errorf("Subject decodes to %q, want %q", p.subject, m.Subject)
	}
	for _, h := range []string{"Cc", "Bcc", "Reply-To"} {
		if _, ok := p.header[h]; ok {
			t.Errorf("the message has a %s header", h)
		}
	}
	to, err := p.header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != wantRcpt {
		t.Errorf("To header %v, %v; want one address, %s", to, err, wantRcpt)
	}
	if p.mediaType != "multipart/alternative" || p.parts != 2 {
		t.Fatalf("%s with %d parts, want multipart/alternative with 2", p.mediaType, p.parts)
	}
	if p.text != m.Text {
		t.Errorf("text part:\n%q\nwant\n%q", p.text, m.Text)
	}
	if p.html != m.HTML {
		t.Errorf("HTML part differs from the rendered HTML")
	}
	if id := p.header.Get("Message-Id"); !strings.HasSuffix(id, "@acme.test>") {
		t.Errorf("Message-ID %q is not in the From domain", id)
	}
	return got
}

func TestSendSTARTTLSWithAuth(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("latch", "p@ss word:/?"))
	m := renderFor(t, "zoe@example.test", "Zoé d’Arc")
	if err := newSMTP(t, srv).Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := checkDelivered(t, srv, m, "zoe@example.test")
	if !got.TLS || got.User != "latch" {
		t.Errorf("delivered with TLS=%v as user %q, want TLS as latch", got.TLS, got.User)
	}
	p := parseMessage(t, got.Data)
	to, _ := p.header.AddressList("To")
	if len(to) != 1 || to[0].Name != "Zoé d’Arc" {
		t.Errorf("To name %v, want Zoé d’Arc", to)
	}
	if !strings.Contains(p.subject, "Réinitialisez") {
		t.Errorf("subject %q is not the French one", p.subject)
	}
}

func TestSendImplicitTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithImplicitTLS(), smtptest.WithAuth("latch", "secret"))
	if !strings.HasPrefix(srv.URL(), "smtps://") {
		t.Fatalf("URL %s", srv.URL())
	}
	m := renderFor(t, "a@x.test", "")
	if err := newSMTP(t, srv).Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := checkDelivered(t, srv, m, "a@x.test"); !got.TLS {
		t.Error("not delivered over TLS")
	}
}

func TestSendAuthLogin(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("latch", "secret"), smtptest.WithAuthMechanisms("LOGIN"))
	m := renderFor(t, "a@x.test", "Ann")
	if err := newSMTP(t, srv).Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := checkDelivered(t, srv, m, "a@x.test"); got.User != "latch" {
		t.Errorf("authenticated as %q", got.User)
	}
}

// Without TLS, AUTH is allowed to a loopback server only (starttls=false is refused for any
// other host by NewSMTP; see TestNewSMTPRefuses).
func TestSendPlainToLoopback(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth("latch", "secret"))
	m := renderFor(t, "a@x.test", "")
	if err := newSMTP(t, srv).Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := checkDelivered(t, srv, m, "a@x.test"); got.TLS || got.User != "latch" {
		t.Errorf("TLS=%v user=%q, want a plain connection authenticated as latch", got.TLS, got.User)
	}
}

func TestSendWrongPasswordIsPermanent(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("latch", "secret"))
	s, err := mail.NewSMTP(mail.SMTPConfig{URL: strings.Replace(srv.URL(), "secret", "wrong", 1), From: testFrom, CAFile: srv.CAFile()})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), renderFor(t, "a@x.test", ""))
	var smtpErr *smtp.SMTPError
	if !errors.Is(err, mail.ErrRejected) || !errors.As(err, &smtpErr) || smtpErr.Code != 535 || !mail.Permanent(err) {
		t.Fatalf("Send = %v; want ErrRejected with the server's 535", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error shows the password: %v", err)
	}
	if srv.Attempts() != 0 {
		t.Errorf("the server saw %d messages", srv.Attempts())
	}
}

// A server that does not offer STARTTLS gets nothing: neither password nor message.
func TestSTARTTLSRequired(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth("latch", "secret"))
	s, err := mail.NewSMTP(mail.SMTPConfig{URL: "smtp://latch:secret@" + srv.Addr(), From: testFrom})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), renderFor(t, "a@x.test", ""))
	if !errors.Is(err, mail.ErrInsecure) || !mail.Permanent(err) {
		t.Fatalf("Send = %v; want ErrInsecure", err)
	}
	if srv.Attempts() != 0 {
		t.Errorf("the server saw %d messages", srv.Attempts())
	}
}

func TestServerCertificateVerified(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS())
	untrusting, err := mail.NewSMTP(mail.SMTPConfig{URL: srv.URL(), From: testFrom})
	if err != nil {
		t.Fatal(err)
	}
	if err := untrusting.Send(t.Context(), renderFor(t, "a@x.test", "")); err == nil {
		t.Fatal("Send to a server with an unknown certificate succeeded")
	}
	if srv.Attempts() != 0 {
		t.Fatalf("the server saw %d messages over an unverified connection", srv.Attempts())
	}
	skipping, err := mail.NewSMTP(mail.SMTPConfig{URL: srv.URL() + "?insecure_skip_verify=true", From: testFrom})
	if err != nil {
		t.Fatal(err)
	}
	if err := skipping.Send(t.Context(), renderFor(t, "a@x.test", "")); err != nil {
		t.Fatalf("Send with insecure_skip_verify: %v", err)
	}
	if !strings.Contains(skipping.String(), "not verified") {
		t.Errorf("String() = %q does not say the certificate is not verified", skipping.String())
	}
}

func TestSendTemporaryFailure(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS())
	srv.FailNext(1, 451)
	err := newSMTP(t, srv).Send(t.Context(), renderFor(t, "a@x.test", ""))
	var smtpErr *smtp.SMTPError
	if err == nil || mail.Permanent(err) || errors.Is(err, mail.ErrRejected) || !errors.As(err, &smtpErr) || smtpErr.Code != 451 {
		t.Fatalf("Send = %v; want the 451, not permanent", err)
	}
}

func TestSendCancelled(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS())
	release := srv.Hold()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- newSMTP(t, srv).Send(ctx, renderFor(t, "a@x.test", "")) }()
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v; want context.Canceled", err)
	}
	release()
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("a cancelled send delivered %d messages", n)
	}
}

// Header injection: whatever the field, the message is refused before any connection.
func TestHeaderInjectionRefused(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("latch", "secret"))
	s := newSMTP(t, srv)
	queue := mail.NewQueue(s, mail.QueueOptions{})
	t.Cleanup(func() { queue.Close(context.Background()) })
	logSender := mail.NewLog(slog.New(slog.DiscardHandler))
	base := mail.Message{To: "a@x.test", Subject: "Hello", Text: "Body", HTML: "<p>Body</p>", Kind: mail.KindVerifyEmail}
	with := func(f func(*mail.Message)) mail.Message { m := base; f(&m); return m }
	tests := map[string]mail.Message{
		"To with CRLF Bcc":          with(func(m *mail.Message) { m.To = "a@x.test\r\nBcc: b@y.test" }),
		"To with LF":                with(func(m *mail.Message) { m.To = "a@x.test\nBcc: b@y.test" }),
		"To with bare CR":           with(func(m *mail.Message) { m.To = "a@x.test\rBcc: b@y.test" }),
		"two recipients":            with(func(m *mail.Message) { m.To = "a@x.test, b@y.test" }),
		"group":                     with(func(m *mail.Message) { m.To = "team: a@x.test, b@y.test;" }),
		"name with CRLF":            with(func(m *mail.Message) { m.To = "\"Ann\r\nBcc: b@y.test\" <a@x.test>" }),
		"encoded name with CRLF":    with(func(m *mail.Message) { m.To = "=?utf-8?q?Ann=0D=0ABcc:_b@y.test?= <a@x.test>" }),
		"NUL in To":                 with(func(m *mail.Message) { m.To = "a@x.test\x00" }),
		"subject with CRLF":         with(func(m *mail.Message) { m.Subject = "Hello\r\nBcc: b@y.test" }),
		"subject with LF":           with(func(m *mail.Message) { m.Subject = "Hello\nX-Evil: 1" }),
		"subject with NEL":          with(func(m *mail.Message) { m.Subject = "Hello\u0085X" }),
		"subject with separator":    with(func(m *mail.Message) { m.Subject = "Hello\u2028X" }),
		"subject with DEL":          with(func(m *mail.Message) { m.Subject = "Hello\x7f" }),
		"empty subject":             with(func(m *mail.Message) { m.Subject = " " }),
		"empty text":                with(func(m *mail.Message) { m.Text = "" }),
		"invalid UTF-8 body":        with(func(m *mail.Message) { m.HTML = "\xff" }),
		"quoted local part":         with(func(m *mail.Message) { m.To = `"a b"@x.test` }),
		"domain literal":            with(func(m *mail.Message) { m.To = "a@[127.0.0.1]" }),
		"no recipient":              with(func(m *mail.Message) { m.To = "" }),
		"kind with CRLF":            with(func(m *mail.Message) { m.Kind = "x\r\ny" }),
		"angle brackets in address": with(func(m *mail.Message) { m.To = "<a@x.test>>, <b@y.test>" }),
	}
	for name, m := range tests {
		t.Run(name, func(t *testing.T) {
			for sender, send := range map[string]func() error{
				"SMTP":  func() error { return s.Send(t.Context(), m) },
				"Queue": func() error { return queue.Send(t.Context(), m) },
				"Log":   func() error { return logSender.Send(t.Context(), m) },
			} {
				if err := send(); !errors.Is(err, mail.ErrInvalidMessage) || !mail.Permanent(err) {
					t.Errorf("%s.Send = %v, want ErrInvalidMessage", sender, err)
				}
			}
		})
	}
	// The valid message goes through, so the refusals above are the checks' doing.
	if err := s.Send(t.Context(), base); err != nil {
		t.Fatalf("the valid message: %v", err)
	}
	if err := queue.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if srv.Attempts() != 1 || len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "a@x.test" {
		t.Fatalf("the server saw %d attempts, messages %+v; want only the valid message", srv.Attempts(), msgs)
	}
	if strings.Contains(string(msgs[0].Data), "b@y.test") {
		t.Error("an injected address reached the server")
	}
}

func TestNewSMTP(t *testing.T) {
	tests := []struct {
		url, want string
	}{
		{"smtp://mail.acme.test", "smtp://mail.acme.test (STARTTLS)"},
		{"smtp://u:p%40ss@mail.acme.test:25", "smtp://u@mail.acme.test:25 (STARTTLS)"},
		{"smtps://u:secret@mail.acme.test", "smtps://u@mail.acme.test (TLS)"},
		{"smtp://u:secret@127.0.0.1:2525?starttls=false", "smtp://u@127.0.0.1:2525?starttls=false (no TLS (loopback))"},
		{"smtp://localhost:25?starttls=false", "smtp://localhost:25?starttls=false (no TLS (loopback))"},
		{"smtp://[::1]:25?starttls=false", "smtp://[::1]:25?starttls=false (no TLS (loopback))"},
	}
	for _, tt := range tests {
		s, err := mail.NewSMTP(mail.SMTPConfig{URL: tt.url, From: testFrom})
		if err != nil {
			t.Errorf("NewSMTP(%s): %v", tt.url, err)
			continue
		}
		if s.String() != tt.want {
			t.Errorf("NewSMTP(%s).String() = %q, want %q", tt.url, s.String(), tt.want)
		}
	}
}

func TestNewSMTPRefuses(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		cfg      mail.SMTPConfig
		insecure bool
	}{
		{"clear text to a remote host", mail.SMTPConfig{URL: "smtp://u:secret@mail.acme.test:25?starttls=false", From: testFrom}, true},
		{"clear text to a remote IP", mail.SMTPConfig{URL: "smtp://u:secret@192.0.2.7:587?starttls=false", From: testFrom}, true},
		{"clear text without a password", mail.SMTPConfig{URL: "smtp://mail.acme.test?starttls=false", From: testFrom}, true},
		{"localhost look-alike", mail.SMTPConfig{URL: "smtp://localhost.acme.test?starttls=false", From: testFrom}, true},
		{"starttls on smtps", mail.SMTPConfig{URL: "smtps://mail.acme.test?starttls=true", From: testFrom}, false},
		{"unknown option", mail.SMTPConfig{URL: "smtp://mail.acme.test?tls=off", From: testFrom}, false},
		{"option twice", mail.SMTPConfig{URL: "smtp://mail.acme.test?starttls=true&starttls=false", From: testFrom}, false},
		{"option not a boolean", mail.SMTPConfig{URL: "smtp://mail.acme.test?insecure_skip_verify=yes please", From: testFrom}, false},
		{"other scheme", mail.SMTPConfig{URL: "http://mail.acme.test", From: testFrom}, false},
		{"no host", mail.SMTPConfig{URL: "smtp://", From: testFrom}, false},
		{"a path", mail.SMTPConfig{URL: "smtp://mail.acme.test/inbox", From: testFrom}, false},
		{"bad port", mail.SMTPConfig{URL: "smtp://mail.acme.test:99999", From: testFrom}, false},
		{"password without user", mail.SMTPConfig{URL: "smtp://:secret@mail.acme.test", From: testFrom}, false},
		{"CRLF in password", mail.SMTPConfig{URL: "smtp://u:se%0D%0Acret@mail.acme.test", From: testFrom}, false},
		{"no From", mail.SMTPConfig{URL: "smtp://mail.acme.test"}, false},
		{"From with CRLF", mail.SMTPConfig{URL: "smtp://mail.acme.test", From: "a@acme.test\r\nBcc: b@y.test"}, false},
		{"From not an address", mail.SMTPConfig{URL: "smtp://mail.acme.test", From: "Acme"}, false},
		{"missing CA file", mail.SMTPConfig{URL: "smtp://mail.acme.test", From: testFrom, CAFile: filepath.Join(t.TempDir(), "none.pem")}, false},
		{"CA file without PEM", mail.SMTPConfig{URL: "smtp://mail.acme.test", From: testFrom, CAFile: caFile}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mail.NewSMTP(tt.cfg)
			if err == nil {
				t.Fatalf("NewSMTP(%+v) accepted", tt.cfg)
			}
			if errors.Is(err, mail.ErrInsecure) != tt.insecure {
				t.Errorf("NewSMTP: %v; wrapping ErrInsecure: %v, want %v", err, errors.Is(err, mail.ErrInsecure), tt.insecure)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}
