package mongo

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"

	"github.com/latchauth/latch/internal/mongotest"
	"github.com/latchauth/latch/storage"
)

// call is one observation.
type call struct {
	op  string
	d   time.Duration
	err error
}

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) ObserveCall(op string, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{op, d, err})
}

// take returns the calls observed since the last take.
func (r *recorder) take() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

// summary is calls as "op" or "op!" (failed), in order.
func summary(calls []call) []string {
	var s []string
	for _, c := range calls {
		if c.err != nil {
			s = append(s, c.op+"!")
		} else {
			s = append(s, c.op)
		}
	}
	return s
}

// Every command the Store sends is observed with its name and round trip; answers that the
// Store expects (an absent collection, a duplicate key) are not errors; a command on a
// connection the server dropped is.
func TestObserverSeesCommands(t *testing.T) {
	srv := mongotest.Start(t)
	// No heartbeat while the test runs: the driver learns of the stop from the command that
	// meets the closed connection, not from a monitor racing it.
	uri := srv.URI(t) + "?heartbeatFrequencyMS=3600000"
	rec := &recorder{}
	s, err := Open(t.Context(), uri, Options{Observer: rec, ServerSelectionTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = s.Close()
		}
	})
	ctx := t.Context()

	opened := rec.take()
	count := map[string]int{}
	for _, c := range opened {
		count[c.op]++
		if c.err != nil {
			t.Errorf("Open: %s failed: %v (a fresh database has no collections, which is no error)", c.op, c.err)
		}
		if c.d <= 0 {
			t.Errorf("Open: %s observed with duration %v", c.op, c.d)
		}
	}
	if count["ping"] != 1 || count["listIndexes"] != len(indexes) || count["createIndexes"] != len(indexes) {
		t.Errorf("Open observed %v, want one ping and, for each of the %d collections, listIndexes and createIndexes", count, len(indexes))
	}

	u := counterUser()
	if err := s.CreateUser(ctx, u, "$2a$10$hash"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, u, "$2a$10$hash"); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Fatalf("CreateUser twice: %v", err)
	}
	if _, err := s.GetUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, "auth0|absent"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("GetUser of an absent user: %v", err)
	}
	calls := rec.take()
	if got := summary(calls); !slices.Equal(got, []string{"insert", "insert", "find", "find"}) {
		t.Errorf("two CreateUser and two GetUser observed %v, want [insert insert find find]", got)
	}
	for _, c := range calls {
		if c.d <= 0 {
			t.Errorf("%s observed with duration %v", c.op, c.d)
		}
	}

	srv.Stop()
	if _, err := s.GetUser(ctx, u.ID); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("GetUser with the server down: %v", err)
	}
	calls = rec.take()
	if got := summary(calls); len(got) == 0 || got[0] != "find!" {
		t.Fatalf("GetUser with the server down observed %v, want a failed find first", got)
	}
	var derr driver.Error
	if !errors.As(calls[0].err, &derr) || !derr.NetworkError() {
		t.Errorf("the failed find's error is %v, want the driver's network error", calls[0].err)
	}

	srv.Restart(t)
	deadline := time.Now().Add(60 * time.Second) // the driver finds the server again by itself
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("Ping still fails a minute after the restart")
		}
		time.Sleep(200 * time.Millisecond)
	}
	rec.take()
	if _, err := s.GetUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	closed = true
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := summary(rec.take()); !slices.Equal(got, []string{"find"}) {
		t.Errorf("GetUser after the restart, then Close, observed %v, want [find] (endSessions is the driver's)", got)
	}
}

// Without an Observer the Store opens as before, and works.
func TestObserverNone(t *testing.T) {
	s, err := Open(t.Context(), mongotest.URI(t), Options{Observer: nil})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}
