package password

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestGate(t *testing.T) {
	g := NewGate(1, 20*time.Millisecond)
	ctx := context.Background()
	leave, err := g.Enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The only slot is taken: the next caller is refused once its wait is over.
	if _, err := g.Enter(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Enter: %v, want ErrBusy", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := NewGate(1, time.Hour).Enter(cancelled); err != nil {
		t.Fatalf("a free slot must be taken even with a done context: %v", err)
	}
	g2 := NewGate(1, time.Hour)
	l2, _ := g2.Enter(ctx)
	if _, err := g2.Enter(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting with a cancelled context: %v", err)
	}
	l2()
	// A released slot is free again, and a waiter gets it.
	done := make(chan error, 1)
	go func() {
		l, err := NewGate(1, time.Hour).Enter(ctx)
		if err == nil {
			l()
		}
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waiter := make(chan error, 1)
	g3 := NewGate(1, time.Hour)
	l3, _ := g3.Enter(ctx)
	go func() {
		l, err := g3.Enter(ctx)
		if err == nil {
			l()
		}
		waiter <- err
	}()
	l3()
	if err := <-waiter; err != nil {
		t.Fatalf("a waiter did not get the released slot: %v", err)
	}
	leave()
	if l, err := g.Enter(ctx); err != nil {
		t.Fatalf("after leave: %v", err)
	} else {
		l()
	}
}

// Waiting and InUse follow callers as they queue, get a slot, give up and leave: the
// numbers behind latch_password_hash_waiting and latch_password_hash_in_use.
func TestGateCounts(t *testing.T) {
	g := NewGate(2, time.Hour)
	ctx := context.Background()
	if g.Waiting() != 0 || g.InUse() != 0 {
		t.Fatalf("new gate: waiting %d, in use %d", g.Waiting(), g.InUse())
	}
	first, err := g.Enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, err := g.Enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g.Waiting() != 0 || g.InUse() != 2 {
		t.Fatalf("two slots taken: waiting %d, in use %d, want 0 and 2", g.Waiting(), g.InUse())
	}

	// Three callers queue; one of them gives up (its context ends).
	type entered struct {
		leave func()
		err   error
	}
	got := make(chan entered, 3)
	giveUp, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := range 3 {
		c := ctx
		if i == 0 {
			c = giveUp
		}
		go func() {
			l, err := g.Enter(c)
			got <- entered{l, err}
		}()
	}
	waitUntil(t, "three callers waiting", func() bool { return g.Waiting() == 3 })
	if n := g.InUse(); n != 2 {
		t.Fatalf("in use while three wait: %d, want 2", n)
	}
	cancel()
	if e := <-got; !errors.Is(e.err, context.Canceled) {
		t.Fatalf("the caller whose context ended: %v", e.err)
	}
	waitUntil(t, "two callers waiting after one gave up", func() bool { return g.Waiting() == 2 })

	// A slot frees: one waiter takes it, the other still waits.
	first()
	e := <-got
	if e.err != nil {
		t.Fatal(e.err)
	}
	waitUntil(t, "one caller waiting", func() bool { return g.Waiting() == 1 })
	if n := g.InUse(); n != 2 {
		t.Fatalf("in use after a waiter took the freed slot: %d, want 2", n)
	}
	second()
	last := <-got
	if last.err != nil {
		t.Fatal(last.err)
	}
	waitUntil(t, "nobody waiting", func() bool { return g.Waiting() == 0 })
	e.leave()
	last.leave()
	if g.Waiting() != 0 || g.InUse() != 0 {
		t.Fatalf("all left: waiting %d, in use %d", g.Waiting(), g.InUse())
	}

	// A caller refused with ErrBusy no longer counts as waiting.
	busy := NewGate(1, time.Nanosecond)
	l, err := busy.Enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := busy.Enter(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("Enter on a full gate with no wait: %v", err)
	}
	if busy.Waiting() != 0 || busy.InUse() != 1 {
		t.Fatalf("after a refusal: waiting %d, in use %d, want 0 and 1", busy.Waiting(), busy.InUse())
	}
	l()

	var none *Gate
	if none.Waiting() != 0 || none.InUse() != 0 {
		t.Fatal("a nil gate reports callers")
	}
}

// waitUntil polls cond: goroutines reach a channel operation in their own time. The bound
// only turns a hang into a clear failure.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
