package inproc

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/latchauth/latch/storage"
)

// rateTable is State's storage.RateLimits: each key's theoretical arrival time (TAT), with
// a lock of its own so that counting never waits on sessions or codes. A TAT in the past is
// the same as no entry, so an entry is gone once the clock passes its TAT, and the table
// is swept like State's others: it holds at most max(minSweep, 2 × the keys alive at its
// last sweep). A key stays alive at most Burst × Interval after its last counted event.
type rateTable struct {
	mu sync.Mutex
	t  table[time.Time] // lazily made: State's zero rateTable is ready to use
}

var _ storage.RateLimits = (*State)(nil)

// PeekRate implements storage.RateLimits.
func (s *State) PeekRate(_ context.Context, key string, l storage.Limit) (bool, time.Duration, error) {
	if err := checkLimit(l); err != nil {
		return false, 0, fmt.Errorf("inproc: peek rate: %w", err)
	}
	r := &s.rates
	r.mu.Lock()
	defer r.mu.Unlock()
	r.init()
	now := s.clock()
	tat, _ := r.t.get(key, now)
	allowed, _, wait := gcra(tat, now, l)
	return allowed, wait, nil
}

// TakeRate implements storage.RateLimits.
func (s *State) TakeRate(ctx context.Context, key string, l storage.Limit) (bool, time.Duration, error) {
	st, err := s.TakeRateState(ctx, key, l)
	return st.Allowed, st.RetryAfter, err
}

// TakeRateState implements storage.RateLimits.
func (s *State) TakeRateState(_ context.Context, key string, l storage.Limit) (storage.RateState, error) {
	if err := checkLimit(l); err != nil {
		return storage.RateState{}, fmt.Errorf("inproc: take rate: %w", err)
	}
	r := &s.rates
	r.mu.Lock()
	defer r.mu.Unlock()
	r.init()
	now := s.clock()
	tat, known := r.t.get(key, now)
	allowed, next, wait := gcra(tat, now, l)
	if !allowed {
		return storage.RateStateOf(false, next.Sub(now), wait, l), nil
	}
	if !known && len(r.t.items) >= r.t.sweepAt {
		r.t.sweep(now)
	}
	r.t.items[key] = next
	return storage.RateStateOf(true, next.Sub(now), 0, l), nil
}

func (r *rateTable) init() {
	if r.t.items == nil {
		r.t = newTable(func(tat time.Time) time.Time { return tat })
	}
}

func checkLimit(l storage.Limit) error {
	if l.Burst < 1 || l.Interval <= 0 {
		return fmt.Errorf("invalid limit: burst %d, interval %v", l.Burst, l.Interval)
	}
	return nil
}

// gcra is the generic cell rate algorithm's decision: given a key's TAT (zero, or in the
// past, for a fresh key), whether one more event at now is allowed, the TAT once it is
// counted, and, when it is refused, how long until it would be allowed.
func gcra(tat, now time.Time, l storage.Limit) (allowed bool, next time.Time, retryAfter time.Duration) {
	if tat.Before(now) {
		tat = now
	}
	// An event is allowed while the TAT is at most Burst-1 intervals ahead of it.
	if wait := tat.Sub(now) - time.Duration(l.Burst-1)*l.Interval; wait > 0 {
		return false, tat, wait
	}
	return true, tat.Add(l.Interval), 0
}
