package metrics

import (
	"context"
	"testing"
	"time"

	"github.com/latchauth/latch/password"
)

// password.Gate is what WatchHashGate watches.
var _ HashSlots = (*password.Gate)(nil)

// The gauges read the gate at each scrape: callers holding and waiting for slots show up,
// and go when they leave.
func TestHashGateGauges(t *testing.T) {
	m := New()
	expose(t, scrape(t, m), []string{"latch_password_hash_waiting 0", "latch_password_hash_in_use 0"}, nil)

	g := password.NewGate(1, time.Hour)
	m.WatchHashGate(g)
	leave, err := g.Enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan func(), 2)
	for range 2 {
		go func() {
			l, err := g.Enter(context.Background())
			if err != nil {
				t.Error(err)
				l = func() {}
			}
			entered <- l
		}()
	}
	deadline := time.Now().Add(30 * time.Second) // turns a hang into a failure; not a timing check
	for g.Waiting() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the two callers never queued")
		}
		time.Sleep(time.Millisecond)
	}
	expose(t, scrape(t, m), []string{"latch_password_hash_waiting 2", "latch_password_hash_in_use 1"}, nil)

	leave()
	(<-entered)()
	(<-entered)()
	expose(t, scrape(t, m), []string{"latch_password_hash_waiting 0", "latch_password_hash_in_use 0"}, nil)

	var none *Metrics
	none.WatchHashGate(g) // records nothing
}
