package redis

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/latchauth/latch/internal/redistest"
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

// Every call to Redis is observed once, by command, with its time; a missing key and the
// client's NOSCRIPT fallback are not errors, connection setup is not a call of its own, and
// a call to a Redis that is down is one failed observation, retries included.
func TestObserverSeesCalls(t *testing.T) {
	srv := redistest.NewServer(t) // fresh: no script cached yet
	rec := &recorder{}
	s := open(t, srv.URL(), WithObserver(rec))
	ctx := t.Context()

	if got := summary(rec.take()); !slices.Equal(got, []string{"ping"}) {
		t.Errorf("New: observed %v, want [ping] (HELLO and CLIENT belong to the connection)", got)
	}
	if _, err := s.GetSession(ctx, "absent"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("GetSession of an absent session: %v", err)
	}
	calls := rec.take()
	if got := summary(calls); !slices.Equal(got, []string{"hmget"}) {
		t.Errorf("GetSession: observed %v, want [hmget] (a missing key is no error)", got)
	}
	limit := storage.Limit{Burst: 5, Interval: time.Minute}
	for range 2 {
		if _, _, err := s.TakeRate(ctx, "k", limit); err != nil {
			t.Fatal(err)
		}
	}
	calls = append(calls, rec.take()...)
	// The first run of a script is refused (NOSCRIPT) and sent in full.
	if got := summary(calls[1:]); !slices.Equal(got, []string{"evalsha", "eval", "evalsha"}) {
		t.Errorf("two TakeRate: observed %v, want [evalsha eval evalsha]", got)
	}
	for _, c := range calls {
		if c.d <= 0 {
			t.Errorf("%s observed with duration %v", c.op, c.d)
		}
	}
	sub := open(t, srv.URL(), WithObserver(rec))
	rec.take()
	got := make(chan string, 1)
	must(t, sub.Subscribe(ctx, func(topic string) {
		select { // after Redis comes back, every topic arrives again: never block on them
		case got <- topic:
		default:
		}
	}))
	must(t, s.Publish(ctx, storage.TopicRules))
	if topic := <-got; topic != storage.TopicRules {
		t.Fatalf("notice %q", topic)
	}
	if got := summary(rec.take()); !slices.Equal(got, []string{"publish"}) {
		t.Errorf("Subscribe and Publish: observed %v, want [publish]", got)
	}

	srv.Stop()
	if err := s.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping with Redis down: %v", err)
	}
	if _, err := s.GetSession(ctx, "absent"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("GetSession with Redis down: %v", err)
	}
	calls = rec.take()
	if got := summary(calls); !slices.Equal(got, []string{"ping!", "hmget!"}) {
		t.Errorf("with Redis down: observed %v, want [ping! hmget!]", got)
	}
	for _, c := range calls {
		if c.err != nil && errors.Is(c.err, ErrUnavailable) {
			t.Errorf("%s: the observer got the State's wrapped error, not the client's: %v", c.op, c.err)
		}
	}

	srv.Start()
	deadline := time.Now().Add(recoveryWait)
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("Ping still fails %v after Redis is back", recoveryWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rec.take()
	if err := s.CreateTransaction(ctx, storage.LoginTransaction{ID: "t", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, c := range rec.take() {
		if c.err != nil {
			t.Errorf("after Redis is back: %s failed: %v", c.op, c.err)
		}
	}
}

func TestObserverCallError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{goredis.Nil, false},
		{fmt.Errorf("get: %w", goredis.Nil), false},
		{goredis.ErrClosed, true},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), true},
	} {
		if got := callError(tc.err) != nil; got != tc.want {
			t.Errorf("callError(%v) counts as an error: %v, want %v", tc.err, got, tc.want)
		}
	}
}

// No observer, no hook: WithObserver(nil) leaves the client as it is.
func TestObserverNil(t *testing.T) {
	s := open(t, redistest.URL(t), WithObserver(nil), WithPrefix(redistest.Prefix(t)))
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}
