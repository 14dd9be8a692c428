package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/smtptest"
	"github.com/latchauth/latch/mail"
)

// Metrics is the mail queue's Recorder.
var _ mail.Recorder = (*Metrics)(nil)

// The mail counter counts what a real queue does with real deliveries: one message the
// server refuses for good, one it takes after a temporary refusal.
func TestMailCounted(t *testing.T) {
	srv := smtptest.Start(t) // plain SMTP on loopback
	s, err := mail.NewSMTP(mail.SMTPConfig{URL: srv.URL(), From: "latch@example.com", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m := New()
	done := make(chan error, 2)
	q := mail.NewQueue(s, mail.QueueOptions{
		Recorder: m, Backoff: time.Millisecond, Log: slog.New(slog.DiscardHandler),
		OnResult: func(_ mail.Message, err error) { done <- err },
	})
	defer q.Close(context.Background())

	srv.FailNext(1, 550)
	msg := mail.Message{To: "a@example.com", Subject: "Reset", Text: "https://latch.example/u/reset", Kind: mail.KindResetPassword}
	if err := q.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("a message refused with 550 was delivered")
	}
	srv.FailNext(1, 451)
	msg.Kind = mail.KindVerifyEmail
	if err := q.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("a message refused once with 451: %v", err)
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`latch_mail_messages_total{kind="reset-password",outcome="failed"} 1`,
		`latch_mail_messages_total{kind="verify-email",outcome="retried"} 1`,
		`latch_mail_messages_total{kind="verify-email",outcome="sent"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, grep(string(body), "latch_mail"))
		}
	}
	if strings.Contains(string(body), `kind="reset-password",outcome="sent"`) {
		t.Error("the refused message counts as sent")
	}
	var none *Metrics
	none.Mail(mail.KindVerifyEmail, mail.OutcomeSent) // a nil *Metrics records nothing
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
