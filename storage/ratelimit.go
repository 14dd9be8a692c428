package storage

import (
	"context"
	"time"
)

// Limit is a generic cell rate (GCRA): Burst requests at once, one more every Interval.
// A key that has been quiet for Burst × Interval is back to a full Burst; refused requests
// are not counted. Both fields must be > 0 (the store refuses others with an error).
type Limit struct {
	Burst    int
	Interval time.Duration
}

// RateLimits keeps GCRA state per key (shared short-lived state; Redis at scale). Keys are
// opaque to the store: callers namespace them (e.g. "login:" + ip). A key's state is its
// theoretical arrival time (TAT) only, so a backend may forget a key once its TAT is in
// the past: that is the same as a key never seen.
//
// The same key must always be used with the same Limit.
type RateLimits interface {
	// PeekRate says whether one more event for key would be allowed now, without counting
	// it; when not, how long until it would be (retryAfter is 0 when allowed).
	PeekRate(ctx context.Context, key string, l Limit) (allowed bool, retryAfter time.Duration, err error)
	// TakeRate counts one event if allowed (atomically: concurrent calls never allow more
	// than the limit) and says whether it was; when not, nothing is counted and retryAfter
	// is how long until one would be allowed.
	TakeRate(ctx context.Context, key string, l Limit) (allowed bool, retryAfter time.Duration, err error)
}
