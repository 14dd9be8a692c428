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
	return s.rate(ctx, "peek rate", key, l, false)
}

// TakeRate implements storage.RateLimits: one script decides and counts, so concurrent
// calls never allow more than the limit.
func (s *State) TakeRate(ctx context.Context, key string, l storage.Limit) (bool, time.Duration, error) {
	return s.rate(ctx, "take rate", key, l, true)
}

// rate runs the GCRA script, with times in microseconds: exact in Lua's doubles for the
// next two centuries, and finer than any interval a limit needs.
func (s *State) rate(ctx context.Context, op, key string, l storage.Limit, take bool) (bool, time.Duration, error) {
	if l.Burst < 1 || l.Interval <= 0 {
		return false, 0, fmt.Errorf("redis: %s: invalid limit: burst %d, interval %v", op, l.Burst, l.Interval)
	}
	interval := max(l.Interval.Microseconds(), 1)
	flag := "0"
	if take {
		flag = "1"
	}
	reply, err := gcraScript.Run(ctx, s.rdb, []string{s.key("rate", key)},
		s.now().UnixMicro(), l.Burst, interval, flag, ttlSlack.Milliseconds()).Result()
	if err != nil {
		return false, 0, s.fail(ctx, op, err)
	}
	status, waitText, err := scriptReply(reply)
	if err != nil {
		return false, 0, fmt.Errorf("redis: %s: %w", op, err)
	}
	if status == 1 {
		return true, 0, nil
	}
	wait, err := strconv.ParseInt(waitText, 10, 64)
	if err != nil {
		return false, 0, fmt.Errorf("redis: %s: %w", op, errBadReply)
	}
	return false, time.Duration(wait) * time.Microsecond, nil
}
