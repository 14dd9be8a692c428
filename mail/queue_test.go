package mail_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/latchauth/latch/internal/smtptest"
	"github.com/latchauth/latch/mail"
)

// results collects OnResult's calls.
type results struct {
	mu  sync.Mutex
	got map[string][]error // by recipient
	ch  chan struct{}
}

func newResults() *results {
	return &results{got: map[string][]error{}, ch: make(chan struct{}, 1000)}
}

func (r *results) onResult(m mail.Message, err error) {
	r.mu.Lock()
	r.got[m.To] = append(r.got[m.To], err)
	r.mu.Unlock()
	r.ch <- struct{}{}
}

// wait waits for n more results.
func (r *results) wait(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-r.ch:
		case <-time.After(waitLimit):
			t.Fatalf("OnResult was not called %d times", n)
		}
	}
}

func (r *results) of(to string) []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.got[to]...)
}

func message(to string) mail.Message {
	return mail.Message{To: to, Subject: "Verify", Text: "https://acme.test/v?t=1", Kind: mail.KindVerifyEmail}
}

func newQueue(t *testing.T, s mail.Sender, o mail.QueueOptions) *mail.Queue {
	t.Helper()
	if o.Backoff == 0 {
		o.Backoff = time.Millisecond
	}
	o.Log = slog.New(slog.DiscardHandler)
	q := mail.NewQueue(s, o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		q.Close(ctx)
	})
	return q
}

// A temporary (4xx) failure is retried until the message goes through.
func TestQueueRetriesTemporaryFailures(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("latch", "secret"))
	srv.FailNext(2, 451)
	rec, res := newCounter(), newResults()
	q := newQueue(t, newSMTP(t, srv), mail.QueueOptions{Attempts: 5, Recorder: rec, OnResult: res.onResult})

	if err := q.Send(t.Context(), message("a@x.test")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	res.wait(t, 1)
	if errs := res.of("a@x.test"); len(errs) != 1 || errs[0] != nil {
		t.Fatalf("OnResult got %v, want one nil", errs)
	}
	if n := srv.Attempts(); n != 3 {
		t.Errorf("the server saw %d attempts, want 3 (two 451s, then the delivery)", n)
	}
	if msgs := srv.Messages(); len(msgs) != 1 {
		t.Errorf("%d messages delivered, want 1", len(msgs))
	}
	kind := mail.KindVerifyEmail
	if rec.get(kind, mail.OutcomeRetried) != 2 || rec.get(kind, mail.OutcomeSent) != 1 || rec.get(kind, mail.OutcomeFailed) != 0 {
		t.Errorf("counts %v, want 2 retried and 1 sent", rec.counts)
	}
}

// The attempts run out: the last error is reported.
func TestQueueGivesUpAfterAttempts(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS())
	srv.FailNext(10, 421)
	rec, res := newCounter(), newResults()
	q := newQueue(t, newSMTP(t, srv), mail.QueueOptions{Attempts: 3, Recorder: rec, OnResult: res.onResult})
	if err := q.Send(t.Context(), message("a@x.test")); err != nil {
		t.Fatal(err)
	}
	res.wait(t, 1)
	var smtpErr *smtp.SMTPError
	if errs := res.of("a@x.test"); len(errs) != 1 || !errors.As(errs[0], &smtpErr) || smtpErr.Code != 421 {
		t.Fatalf("OnResult got %v, want the 421", errs)
	}
	if n := srv.Attempts(); n != 3 {
		t.Errorf("the server saw %d attempts, want 3", n)
	}
	if rec.get(mail.KindVerifyEmail, mail.OutcomeFailed) != 1 || rec.get(mail.KindVerifyEmail, mail.OutcomeRetried) != 2 {
		t.Errorf("counts %v", rec.counts)
	}
}

// A permanent (5xx) failure is not retried, and OnResult reports it.
func TestQueueDoesNotRetryPermanentFailures(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("latch", "secret"))
	srv.FailNext(1, 550)
	rec, res := newCounter(), newResults()
	q := newQueue(t, newSMTP(t, srv), mail.QueueOptions{Attempts: 5, Recorder: rec, OnResult: res.onResult})
	if err := q.Send(t.Context(), message("a@x.test")); err != nil {
		t.Fatal(err)
	}
	res.wait(t, 1)
	var smtpErr *smtp.SMTPError
	if errs := res.of("a@x.test"); len(errs) != 1 || !errors.Is(errs[0], mail.ErrRejected) || !errors.As(errs[0], &smtpErr) || smtpErr.Code != 550 {
		t.Fatalf("OnResult got %v, want ErrRejected with the 550", errs)
	}
	// Close would give a scheduled retry its last attempt at once: none may be scheduled.
	if err := q.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := srv.Attempts(); n != 1 {
		t.Errorf("the server saw %d attempts, want 1", n)
	}
	if rec.get(mail.KindVerifyEmail, mail.OutcomeRetried) != 0 || rec.get(mail.KindVerifyEmail, mail.OutcomeFailed) != 1 {
		t.Errorf("counts %v, want 1 failed and no retry", rec.counts)
	}
}

// A full queue drops the message at once, counts it, and does not block.
func TestQueueFullDrops(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS())
	release := srv.Hold()
	rec, res := newCounter(), newResults()
	q := newQueue(t, newSMTP(t, srv), mail.QueueOptions{Size: 3, Workers: 1, Recorder: rec, OnResult: res.onResult})

	for i := range 3 {
		if err := q.Send(t.Context(), message(fmt.Sprintf("u%d@x.test", i))); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	// The first message is being sent (or about to be), the two others wait: the queue is full.
	if err := q.Send(t.Context(), mail.Message{To: "late@x.test", Subject: "S", Text: "T", Kind: mail.KindBlockedAccount}); !errors.Is(err, mail.ErrQueueFull) {
		t.Fatalf("Send to a full queue = %v, want ErrQueueFull", err)
	}
	if got := rec.get(mail.KindBlockedAccount, mail.OutcomeDropped); got != 1 {
		t.Errorf("dropped count %d, want 1", got)
	}
	if err := q.Send(t.Context(), mail.Message{To: "other@x.test", Subject: "S", Text: "T", Kind: "welcome"}); !errors.Is(err, mail.ErrQueueFull) {
		t.Fatalf("Send = %v", err)
	}
	if got := rec.get("other", mail.OutcomeDropped); got != 1 {
		t.Errorf("an unknown kind is counted as %v, want under \"other\"", rec.counts)
	}

	release()
	res.wait(t, 3)
	if n := len(srv.WaitFor(t, 3, waitLimit)); n != 3 {
		t.Errorf("%d delivered", n)
	}
	if errs := res.of("late@x.test"); len(errs) != 0 {
		t.Errorf("OnResult was called for the dropped message: %v", errs)
	}
	// Room again.
	if err := q.Send(t.Context(), message("again@x.test")); err != nil {
		t.Errorf("Send after the queue emptied: %v", err)
	}
}

// Close sends everything queued, including a message waiting for a retry, then refuses more.
func TestQueueCloseDrains(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS())
	rec, res := newCounter(), newResults()
	// A backoff of an hour: the retry below can only happen because Close hurries it.
	q := newQueue(t, newSMTP(t, srv), mail.QueueOptions{Workers: 2, Backoff: time.Hour, Recorder: rec, OnResult: res.onResult})

	srv.FailNext(1, 451)
	if err := q.Send(t.Context(), message("retry@x.test")); err != nil {
		t.Fatal(err)
	}
	for outcome := range rec.events { // wait for the retry to be scheduled
		if outcome == mail.OutcomeRetried {
			break
		}
	}
	release := srv.Hold()
	for i := range 5 {
		if err := q.Send(t.Context(), message(fmt.Sprintf("u%d@x.test", i))); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- q.Close(t.Context()) }()
	release()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Close did not return")
	}

	if got := len(srv.Messages()); got != 6 {
		t.Errorf("%d messages delivered by Close, want 6", got)
	}
	for _, to := range []string{"retry@x.test", "u0@x.test", "u4@x.test"} {
		if errs := res.of(to); len(errs) != 1 || errs[0] != nil {
			t.Errorf("OnResult for %s: %v, want one nil", to, errs)
		}
	}
	if err := q.Send(t.Context(), message("after@x.test")); !errors.Is(err, mail.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
}

// When Close's context ends first, what was not sent is given up and reported, and Close
// returns once the workers have stopped.
func TestQueueCloseGivesUp(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS())
	release := srv.Hold()
	defer release()
	rec, res := newCounter(), newResults()
	q := newQueue(t, newSMTP(t, srv), mail.QueueOptions{Workers: 1, Recorder: rec, OnResult: res.onResult})
	tos := []string{"a@x.test", "b@x.test", "c@x.test"}
	for _, to := range tos {
		if err := q.Send(t.Context(), message(to)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := q.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want context.Canceled", err)
	}
	res.wait(t, len(tos))
	closedErrs := 0
	for _, to := range tos {
		errs := res.of(to)
		if len(errs) != 1 || errs[0] == nil {
			t.Errorf("OnResult for %s: %v, want one error", to, errs)
			continue
		}
		if errors.Is(errs[0], mail.ErrClosed) {
			closedErrs++
		}
	}
	// The worker may have started on the first message (cancelled, not ErrClosed).
	if closedErrs < len(tos)-1 {
		t.Errorf("%d messages given up with ErrClosed, want at least %d", closedErrs, len(tos)-1)
	}
	if got := rec.get(mail.KindVerifyEmail, mail.OutcomeDropped); got != closedErrs {
		t.Errorf("dropped count %d, want %d", got, closedErrs)
	}
	release()
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages delivered after Close gave up", n)
	}
}

// Send never waits for the mail server.
func TestQueueSendDoesNotBlock(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS())
	release := srv.Hold()
	defer release()
	q := newQueue(t, newSMTP(t, srv), mail.QueueOptions{Size: 100, Workers: 1})
	for i := range 100 {
		if err := q.Send(t.Context(), message(fmt.Sprintf("u%d@x.test", i))); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
}
