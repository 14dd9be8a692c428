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
	// TakeRateState is TakeRate that also reports the key's state once the event is counted
	// (or refused), for answers that show it (x-ratelimit-* headers).
	TakeRateState(ctx context.Context, key string, l Limit) (RateState, error)
}

// RateState is a key's state after an event was counted or refused.
type RateState struct {
	Allowed bool
	// Remaining is how many more events the key allows right now.
	Remaining int
	// RetryAfter is, for a refused event, how long until one would be allowed.
	RetryAfter time.Duration
	// Reset is how long until the key is back to a full burst.
	Reset time.Duration
}

// RateStateOf derives the state from how far a key's TAT is ahead of now.
func RateStateOf(allowed bool, ahead, retryAfter time.Duration, l Limit) RateState {
	if ahead < 0 {
		ahead = 0
	}
	used := int((ahead + l.Interval - 1) / l.Interval) // whole intervals the TAT is ahead
	return RateState{Allowed: allowed, Remaining: max(l.Burst-used, 0), RetryAfter: retryAfter, Reset: ahead}
}
