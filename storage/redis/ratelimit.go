package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/latchauth/latch/storage"
)

// PeekRate implements storage.RateLimits.
func (s *State) PeekRate(ctx context.Context, key string, l storage.Limit) (bool, time.Duration, error) {
	st, err := s.rate(ctx, "peek rate", key, l, false)
	return st.Allowed, st.RetryAfter, err
}

// TakeRate implements storage.RateLimits: one script decides and counts, so concurrent
// calls never allow more than the limit.
func (s *State) TakeRate(ctx context.Context, key string, l storage.Limit) (bool, time.Duration, error) {
	st, err := s.rate(ctx, "take rate", key, l, true)
	return st.Allowed, st.RetryAfter, err
}

// TakeRateState implements storage.RateLimits.
func (s *State) TakeRateState(ctx context.Context, key string, l storage.Limit) (storage.RateState, error) {
	return s.rate(ctx, "take rate", key, l, true)
}

// rate runs the GCRA script, with times in microseconds: exact in Lua's doubles for the
// next two centuries, and finer than any interval a limit needs.
func (s *State) rate(ctx context.Context, op, key string, l storage.Limit, take bool) (storage.RateState, error) {
	if l.Burst < 1 || l.Interval <= 0 {
		return storage.RateState{}, fmt.Errorf("redis: %s: invalid limit: burst %d, interval %v", op, l.Burst, l.Interval)
	}
	interval := max(l.Interval.Microseconds(), 1)
	flag := "0"
	if take {
		flag = "1"
	}
	reply, err := gcraScript.Run(ctx, s.rdb, []string{s.key("rate", key)},
		s.now().UnixMicro(), l.Burst, interval, flag, ttlSlack.Milliseconds()).Result()
	if err != nil {
		return storage.RateState{}, s.fail(ctx, op, err)
	}
	parts, ok := reply.([]any)
	if !ok || len(parts) < 2 {
		return storage.RateState{}, fmt.Errorf("redis: %s: %w", op, errBadReply)
	}
	status, _ := parts[0].(int64)
	micros := func(i int) (time.Duration, error) {
		if i >= len(parts) {
			return 0, errBadReply
		}
		text, _ := parts[i].(string)
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return 0, errBadReply
		}
		return time.Duration(n) * time.Microsecond, nil
	}
	if status == 1 {
		ahead, err := micros(1)
		if err != nil {
			return storage.RateState{}, fmt.Errorf("redis: %s: %w", op, err)
		}
		return storage.RateStateOf(true, ahead, 0, l), nil
	}
	wait, err := micros(1)
	if err != nil {
		return storage.RateState{}, fmt.Errorf("redis: %s: %w", op, err)
	}
	ahead, err := micros(2)
	if err != nil {
		return storage.RateState{}, fmt.Errorf("redis: %s: %w", op, err)
	}
	return storage.RateStateOf(false, ahead, wait, l), nil
}
