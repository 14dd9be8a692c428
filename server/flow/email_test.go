package flow

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/mail"
	"github.com/latchauth/latch/storage"
)

// The email flows run end to end, over HTTP with a real SMTP server and Chromium, in
// cmd/latch's email_*_test.go; these cover the pieces they rely on.

func TestValidToken(t *testing.T) {
	for range 100 {
		if tok := storage.NewOpaqueToken(); !validToken(tok) {
			t.Fatalf("a generated token %q is refused", tok)
		}
	}
	for _, bad := range []string{
		"", "short", strings.Repeat("a", 42), strings.Repeat("a", 44), strings.Repeat("a", 42) + "=",
		strings.Repeat("a", 42) + "+", strings.Repeat("a", 42) + "/", strings.Repeat("a", 42) + " ",
		strings.Repeat("a", 41) + "é",
	} {
		if validToken(bad) {
			t.Errorf("validToken(%q) = true", bad)
		}
	}
}

func TestMailName(t *testing.T) {
	for _, c := range []struct{ name, email, want string }{
		{"Jane Doe", "jane@example.com", "Jane Doe"},
		{"jane@example.com", "jane@example.com", ""}, // Auth0's default name is the email
		{"JANE@example.com", "jane@example.com", ""},
		{"Eve\r\nBcc: evil@attacker.test", "eve@example.com", "Eve Bcc: evil@attacker.test"},
		{"a\u2028b\x00c\u0085d", "x@example.com", "a b c d"},
		{"  spaced   out  ", "x@example.com", "spaced out"},
	} {
		got := mailName(storage.User{Name: c.name, Email: c.email})
		if got != c.want {
			t.Errorf("mailName(%q) = %q, want %q", c.name, got, c.want)
		}
		if strings.ContainsAny(got, "\r\n\x00") {
			t.Errorf("mailName(%q) keeps a control character", c.name)
		}
	}
}

func TestAcceptedLanguages(t *testing.T) {
	for _, c := range []struct {
		header string
		want   []string
	}{
		{"", []string{}},
		{"fr", []string{"fr"}},
		{"en-US,en;q=0.9,fr;q=0.95", []string{"en-US", "fr", "en"}},
		{"de;q=0, fr;q=0.5, *;q=0.1", []string{"fr"}},
		{"fr;q=abc, en", []string{"en"}},
	} {
		if got := acceptedLanguages(c.header); !slices.Equal(got, c.want) {
			t.Errorf("acceptedLanguages(%q) = %v, want %v", c.header, got, c.want)
		}
	}
}

// newEmailService builds a Service with real templates and no store: enough for the pieces
// that render and choose languages.
func newEmailService(t *testing.T) *Service {
	t.Helper()
	tm, err := mail.NewTemplates(mail.TemplateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &Service{
		email: newEmailFlows(Deps{MailTemplates: tm}), log: slog.New(slog.DiscardHandler), now: storage.Now,
		issuerURL: "https://latch.example/",
	}
}

func TestMailLocale(t *testing.T) {
	s := newEmailService(t)
	for _, c := range []struct {
		candidates []string
		want       string
	}{
		{nil, "en"},
		{[]string{""}, "en"},
		{[]string{"de-DE,fr-CA;q=0.8,en;q=0.5"}, "fr"},
		{[]string{"de", "fr_FR"}, "fr"}, // the user's own locale when the header names nothing known
		{[]string{"en-GB,fr;q=0.9"}, "en"},
	} {
		if got := s.mailLocale(c.candidates...); got != c.want {
			t.Errorf("mailLocale(%q) = %q, want %q", c.candidates, got, c.want)
		}
	}
}

func TestResultRedirect(t *testing.T) {
	tk := storage.Ticket{ResultURL: "https://app.example.com/done?keep=1#frag", IncludeEmailInRedirect: true}
	got := resultRedirect(tk, "a+b@example.com", "Your email was verified.")
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "app.example.com" || u.Path != "/done" || q.Get("keep") != "1" || q.Get("success") != "true" ||
		q.Get("code") != "success" || q.Get("email") != "a+b@example.com" || q.Get("message") != "Your email was verified." {
		t.Fatalf("resultRedirect = %s", got)
	}
	tk.IncludeEmailInRedirect = false
	if got := resultRedirect(tk, "a@example.com", ""); strings.Contains(got, "email=") || strings.Contains(got, "message=") {
		t.Fatalf("without includeEmailInRedirect: %s", got)
	}
	if got := resultRedirect(storage.Ticket{}, "a@example.com", "x"); got != "" {
		t.Fatalf("no result URL: %q", got)
	}
}

func TestTicketTTL(t *testing.T) {
	def := time.Hour
	for _, c := range []struct {
		seconds int
		want    time.Duration
		err     bool
	}{
		{0, def, false}, {1, time.Second, false}, {int(MaxTicketTTL / time.Second), MaxTicketTTL, false},
		{-1, 0, true}, {int(MaxTicketTTL/time.Second) + 1, 0, true},
	} {
		got, err := ticketTTL(c.seconds, def)
		var inv *InvalidRequestError
		if c.err != errors.As(err, &inv) || got != c.want {
			t.Errorf("ticketTTL(%d) = %v, %v", c.seconds, got, err)
		}
	}
}

func TestTicketAddressMatches(t *testing.T) {
	tk := storage.Ticket{Email: "jane@example.com"}
	if !ticketAddressMatches(tk, storage.User{Email: "Jane@Example.com"}) {
		t.Error("the same address in another case does not match")
	}
	if ticketAddressMatches(tk, storage.User{Email: "jane.new@example.com"}) {
		t.Error("another address matches")
	}
	if ticketAddressMatches(storage.Ticket{}, storage.User{}) {
		t.Error("a ticket without an address matches a user without one")
	}
}

// later runs its work after the caller returns, with the request's values but not its
// cancellation; FinishEmail waits for it; after FinishEmail, work runs at once.
func TestLaterAndFinishEmail(t *testing.T) {
	s := newEmailService(t)
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "request-1"))
	release := make(chan struct{})
	var ran atomic.Int32
	var seen sync.Map
	s.later(ctx, "test", func(ctx context.Context) {
		<-release
		seen.Store("value", ctx.Value(key{}))
		seen.Store("err", ctx.Err())
		ran.Add(1)
	})
	cancel() // the request ends before the work
	if ran.Load() != 0 {
		t.Fatal("later ran the work before returning")
	}
	close(release)
	if err := s.FinishEmail(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 1 {
		t.Fatal("FinishEmail returned before the work ran")
	}
	if v, _ := seen.Load("value"); v != "request-1" {
		t.Errorf("the work saw the value %v", v)
	}
	if v, _ := seen.Load("err"); v != nil {
		t.Errorf("the work's context was cancelled with the request: %v", v)
	}
	s.later(context.Background(), "after", func(context.Context) { ran.Add(1) })
	if ran.Load() != 2 {
		t.Error("work after FinishEmail did not run at once")
	}
	// A panicking piece of work is contained.
	s.later(context.Background(), "panics", func(context.Context) { panic("boom") })
}

// Without mail, templates and tickets, the flows say so rather than pretend.
func TestEmailUnavailable(t *testing.T) {
	s := &Service{email: newEmailFlows(Deps{}), log: slog.New(slog.DiscardHandler), now: storage.Now}
	ctx := context.Background()
	if err := s.RequestPasswordReset(ctx, PasswordResetRequest{Email: "a@example.com", Connection: DefaultConnection}); !errors.Is(err, ErrEmailUnavailable) {
		t.Errorf("RequestPasswordReset = %v", err)
	}
	if _, err := s.VerifyEmail(ctx, storage.NewOpaqueToken()); !errors.Is(err, ErrEmailUnavailable) {
		t.Errorf("VerifyEmail = %v", err)
	}
	if _, err := s.CreateEmailVerificationTicket(ctx, EmailVerificationTicketRequest{UserID: "auth0|x"}); !errors.Is(err, ErrEmailUnavailable) {
		t.Errorf("CreateEmailVerificationTicket = %v", err)
	}
	if n, err := s.PruneTickets(ctx); n != 0 || err != nil {
		t.Errorf("PruneTickets = %d, %v", n, err)
	}
	s.notifyBlocked(ctx, storage.User{ID: "auth0|x", Email: "a@example.com"}, "192.0.2.1") // a no-op, no panic
}
