package inproc

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

// Rate-limit keys do not pile up: once their TAT has passed they are swept, and peeking at
// a key never stores it.
func TestRateLimitsBounded(t *testing.T) {
	ctx := t.Context()
	clock, advance := fakeClock()
	s := New(clock)
	l := storage.Limit{Burst: 5, Interval: time.Second}
	const rounds, perRound = 5, 3 * minSweep
	for r := range rounds {
		for i := range perRound {
			key := fmt.Sprintf("%d-%d", r, i)
			if _, _, err := s.PeekRate(ctx, "peek-"+key, l); err != nil {
				t.Fatal(err)
			}
			if ok, _, err := s.TakeRate(ctx, key, l); err != nil || !ok {
				t.Fatalf("TakeRate %s = %v, %v", key, ok, err)
			}
		}
		advance(l.Interval + time.Millisecond) // every key made so far is back to fresh
	}
	if n := len(s.rates.t.items); n > 2*perRound {
		t.Fatalf("%d rate-limit keys kept, want at most %d", n, 2*perRound)
	}
	for key := range s.rates.t.items {
		if strings.HasPrefix(key, "peek-") {
			t.Fatalf("PeekRate stored %q", key)
		}
	}
}
