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
