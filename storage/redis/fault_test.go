package redis

import (
	"errors"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/redistest"
	"github.com/latchauth/latch/storage"
)

// recoveryWait bounds the wait for the client to reconnect once Redis is back (it redials
// with a backoff of its own); not a timing assertion.
const recoveryWait = 60 * time.Second

// Redis stops mid-run: every call fails with ErrUnavailable, nothing panics; Redis comes
// back (empty, as after a crash without persistence): calls succeed again on the same State,
// and subscribers, told that everything may have changed, get every topic.
func TestRedisDownAndBack(t *testing.T) {
	srv := redistest.NewServer(t)
	s, other := open(t, srv.URL()), open(t, srv.URL())
	ctx := t.Context()
	got := make(topics, 256)
	must(t, other.Subscribe(ctx, got.fn))
	must(t, s.Publish(ctx, storage.TopicRules))
	got.want(t, "before the fault", storage.TopicRules)

	srv.Stop()

	now := time.Now()
	limit := storage.Limit{Burst: 1, Interval: time.Minute}
	calls := map[string]func() error{
		"Ping": func() error { return s.Ping(ctx) },
		"CreateTransaction": func() error {
			return s.CreateTransaction(ctx, storage.LoginTransaction{ID: "t", ExpiresAt: now.Add(time.Hour)})
		},
		"GetTransaction":    func() error { _, err := s.GetTransaction(ctx, "t"); return err },
		"DeleteTransaction": func() error { return s.DeleteTransaction(ctx, "t") },
		"CreateSession":     func() error { return s.CreateSession(ctx, storage.Session{ID: "s", ExpiresAt: now.Add(time.Hour)}) },
		"GetSession":        func() error { _, err := s.GetSession(ctx, "s"); return err },
		"UpdateSession": func() error {
			_, err := s.UpdateSession(ctx, "s", func(x storage.Session) (storage.Session, error) { return x, nil })
			return err
		},
		"DeleteSession":      func() error { return s.DeleteSession(ctx, "s") },
		"DeleteUserSessions": func() error { _, err := s.DeleteUserSessions(ctx, "u"); return err },
		"CreateCode":         func() error { return s.CreateCode(ctx, storage.AuthCode{ID: "c", ExpiresAt: now.Add(time.Hour)}) },
		"ConsumeCode":        func() error { _, err := s.ConsumeCode(ctx, "c"); return err },
		"FailureCount":       func() error { _, err := s.FailureCount(ctx, "i", "ip"); return err },
		"RecordFailure":      func() error { _, err := s.RecordFailure(ctx, "i", "ip", time.Hour); return err },
		"ClearFailures":      func() error { return s.ClearFailures(ctx, "i", "") },
		"BlockedIPs":         func() error { _, err := s.BlockedIPs(ctx, "i", 1); return err },
		"PeekRate":           func() error { _, _, err := s.PeekRate(ctx, "k", limit); return err },
		"TakeRate":           func() error { _, _, err := s.TakeRate(ctx, "k", limit); return err },
		"Publish":            func() error { return s.Publish(ctx, storage.TopicKeys) },
		"Subscribe":          func() error { return s.Subscribe(ctx, func(string) {}) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with Redis down: error = %v, want ErrUnavailable", name, err)
		}
	}
	if _, err := New(ctx, srv.URL()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("New with Redis down: error = %v, want ErrUnavailable", err)
	}

	srv.Start()

	deadline := time.Now().Add(recoveryWait)
	for {
		err := s.Ping(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ping still fails %v after Redis is back: %v", recoveryWait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	must(t, s.CreateTransaction(ctx, storage.LoginTransaction{ID: "t", State: "after", ExpiresAt: now.Add(time.Hour)}))
	if tx, err := other.GetTransaction(ctx, "t"); err != nil || tx.State != "after" {
		t.Fatalf("GetTransaction after Redis came back: %+v, %v", tx, err)
	}
	if ok, _, err := s.TakeRate(ctx, "k", limit); err != nil || !ok {
		t.Fatalf("TakeRate after Redis came back: %v, %v", ok, err)
	}

	got.want(t, "after Redis came back", storage.AllTopics...)
	// And the subscription carries notices again.
	must(t, s.Publish(ctx, "after-restart"))
	got.want(t, "a notice after the restart", "after-restart")
}
