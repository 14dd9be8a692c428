package redis

import (
	"context"
	"errors"
	"fmt"

	"github.com/latchauth/latch/storage"
)

// CreateCode implements storage.AuthCodes.
func (s *State) CreateCode(ctx context.Context, c storage.AuthCode) error {
	if c.ExpiresAt.IsZero() {
		return fmt.Errorf("redis: create code: %w", errNoExpiry)
	}
	c.AuthTime, c.CreatedAt, c.ExpiresAt = storage.Time(c.AuthTime), storage.Time(c.CreatedAt), storage.Time(c.ExpiresAt)
	v, err := encodeCode(c)
	if err != nil {
		return fmt.Errorf("redis: create code: %w", err)
	}
	// A used code holds its key until UsedCodeMemory after its expiry (its "end" moves when
	// it is used), so its id stays taken.
	ok, err := s.create(ctx, s.key("code", c.ID), s.clock(), c.ExpiresAt, v)
	if err != nil {
		return s.fail(ctx, "create code", err)
	}
	if !ok {
		return fmt.Errorf("redis: create code: %w", storage.ErrAlreadyExists)
	}
	return nil
}

// ConsumeCode implements storage.AuthCodes: one script reads the code and marks it used, so
// of concurrent calls exactly one sees it unused. The mark is a token of this call, so a
// retry of the same call by go-redis is not taken for a reuse.
func (s *State) ConsumeCode(ctx context.Context, id string) (storage.AuthCode, error) {
	reply, err := consumeCodeScript.Run(ctx, s.rdb, []string{s.key("code", id)},
		ms(s.clock()), storage.UsedCodeMemory.Milliseconds(), ttlSlack.Milliseconds(), newVersion()).Result()
	if err != nil {
		return storage.AuthCode{}, s.fail(ctx, "consume code", err)
	}
	status, v, err := scriptReply(reply)
	if err != nil {
		return storage.AuthCode{}, fmt.Errorf("redis: consume code: %w", err)
	}
	if status == 0 {
		return storage.AuthCode{}, fmt.Errorf("redis: consume code: %w", storage.ErrNotFound)
	}
	c, err := decodeCode([]byte(v))
	if err != nil {
		return storage.AuthCode{}, fmt.Errorf("redis: consume code: %w", err)
	}
	if status == 2 {
		return c, fmt.Errorf("redis: consume code: %w", storage.ErrCodeReused)
	}
	return c, nil
}

var errBadReply = errors.New("unexpected reply from Redis")
