package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/latchauth/latch/storage"
)

// sessionEnd is when a session is gone: at the earlier of its idle and absolute ends; a zero
// IdleExpiresAt means no idle limit.
func sessionEnd(x storage.Session) time.Time {
	if x.IdleExpiresAt.IsZero() || x.ExpiresAt.Before(x.IdleExpiresAt) {
		return x.ExpiresAt
	}
	return x.IdleExpiresAt
}

// index puts the session in its user's index, before the session is written (doc.go).
func (s *State) index(ctx context.Context, x storage.Session, now time.Time) error {
	return indexSessionScript.Run(ctx, s.rdb, []string{s.key("usess", x.UserID)},
		ms(now), ttlSlack.Milliseconds(), ms(sessionEnd(x)), x.ID).Err()
}

// CreateSession implements storage.Sessions.
func (s *State) CreateSession(ctx context.Context, x storage.Session) error {
	if x.ExpiresAt.IsZero() {
		return fmt.Errorf("redis: create session: %w", errNoExpiry)
	}
	x = normalSession(x)
	v, err := encodeSession(x)
	if err != nil {
		return fmt.Errorf("redis: create session: %w", err)
	}
	now := s.clock()
	if err := s.index(ctx, x, now); err != nil {
		return s.fail(ctx, "create session", err)
	}
	ok, err := s.create(ctx, s.key("sess", x.ID), now, sessionEnd(x), v, "user", x.UserID, "ver", newVersion())
	if err != nil {
		return s.fail(ctx, "create session", err)
	}
	if !ok {
		return fmt.Errorf("redis: create session: %w", storage.ErrAlreadyExists)
	}
	return nil
}

// GetSession implements storage.Sessions.
func (s *State) GetSession(ctx context.Context, id string) (storage.Session, error) {
	v, _, ok, err := s.read(ctx, s.key("sess", id), s.clock())
	if err != nil {
		return storage.Session{}, s.fail(ctx, "get session", err)
	}
	if !ok {
		return storage.Session{}, fmt.Errorf("redis: get session: %w", storage.ErrNotFound)
	}
	x, err := decodeSession(v)
	if err != nil {
		return storage.Session{}, fmt.Errorf("redis: get session: %w", err)
	}
	return x, nil
}

// UpdateSession implements storage.Sessions: a compare-and-swap on the session's version,
// which runs update again when another write came between the read and the write.
func (s *State) UpdateSession(ctx context.Context, id string, update func(storage.Session) (storage.Session, error)) (storage.Session, error) {
	key := s.key("sess", id)
	for range maxUpdateAttempts {
		now := s.clock()
		v, more, ok, err := s.read(ctx, key, now, "ver")
		if err != nil {
			return storage.Session{}, s.fail(ctx, "update session", err)
		}
		if !ok {
			return storage.Session{}, fmt.Errorf("redis: update session: %w", storage.ErrNotFound)
		}
		old, err := decodeSession(v)
		if err != nil {
			return storage.Session{}, fmt.Errorf("redis: update session: %w", err)
		}
		x, err := update(old)
		if err != nil {
			return storage.Session{}, err
		}
		if x.ExpiresAt.IsZero() {
			return storage.Session{}, fmt.Errorf("redis: update session: %w", errNoExpiry)
		}
		x.ID = id
		x = normalSession(x)
		if v, err = encodeSession(x); err != nil {
			return storage.Session{}, fmt.Errorf("redis: update session: %w", err)
		}
		if err := s.index(ctx, x, now); err != nil {
			return storage.Session{}, s.fail(ctx, "update session", err)
		}
		end := sessionEnd(x)
		n, err := updateSessionScript.Run(ctx, s.rdb, []string{key},
			ms(now), ttl(now, end), more[0],
			"v", v, "end", ms(end), "user", x.UserID, "ver", newVersion()).Int()
		switch {
		case err != nil:
			return storage.Session{}, s.fail(ctx, "update session", err)
		case n == 1:
			return normalSession(x), nil
		case n < 0:
			return storage.Session{}, fmt.Errorf("redis: update session: %w", storage.ErrNotFound)
		}
		if err := ctx.Err(); err != nil {
			return storage.Session{}, fmt.Errorf("redis: update session: %w", err)
		}
	}
	return storage.Session{}, fmt.Errorf("redis: update session: %d writes lost to others: %w", maxUpdateAttempts, storage.ErrConflict)
}

// DeleteSession implements storage.Sessions. The user's index keeps the session's entry
// until its score is past: a stale entry costs one lookup in DeleteUserSessions.
func (s *State) DeleteSession(ctx context.Context, id string) error {
	ok, err := s.remove(ctx, s.key("sess", id), s.clock())
	if err != nil {
		return s.fail(ctx, "delete session", err)
	}
	if !ok {
		return fmt.Errorf("redis: delete session: %w", storage.ErrNotFound)
	}
	return nil
}

// DeleteUserSessions implements storage.Sessions. Sessions that had already expired are
// deleted too, but not counted. Each session is deleted on its own (they live in different
// hash slots); a session created while it runs may survive it, as if created just after.
func (s *State) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	index := s.key("usess", userID)
	ids, err := s.rdb.ZRange(ctx, index, 0, -1).Result()
	if err != nil {
		return 0, s.fail(ctx, "delete user sessions", err)
	}
	now := s.clock()
	count := 0
	var deleted []any
	for _, id := range ids {
		n, err := deleteUserSessionScript.Run(ctx, s.rdb, []string{s.key("sess", id)}, ms(now), userID).Int()
		if err != nil {
			return count, s.fail(ctx, "delete user sessions", err)
		}
		if n >= 0 {
			deleted = append(deleted, id)
		}
		if n == 1 {
			count++
		}
	}
	// Only the entries of sessions deleted here go: an entry without a session may be that of
	// a session being created (its entry is written first), and one of a session that another
	// user holds may be that of a session being moved to this user.
	if len(deleted) > 0 {
		if err := s.rdb.ZRem(ctx, index, deleted...).Err(); err != nil {
			return count, s.fail(ctx, "delete user sessions", err)
		}
	}
	return count, nil
}
