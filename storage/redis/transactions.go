package redis

import (
	"context"
	"fmt"

	"github.com/latchauth/latch/storage"
)

// CreateTransaction implements storage.LoginTransactions.
func (s *State) CreateTransaction(ctx context.Context, t storage.LoginTransaction) error {
	if t.ExpiresAt.IsZero() {
		return fmt.Errorf("redis: create transaction: %w", errNoExpiry)
	}
	t.CreatedAt, t.ExpiresAt = storage.Time(t.CreatedAt), storage.Time(t.ExpiresAt)
	v, err := encodeTransaction(t)
	if err != nil {
		return fmt.Errorf("redis: create transaction: %w", err)
	}
	ok, err := s.create(ctx, s.key("tx", t.ID), s.clock(), t.ExpiresAt, v)
	if err != nil {
		return s.fail(ctx, "create transaction", err)
	}
	if !ok {
		return fmt.Errorf("redis: create transaction: %w", storage.ErrAlreadyExists)
	}
	return nil
}

// GetTransaction implements storage.LoginTransactions.
func (s *State) GetTransaction(ctx context.Context, id string) (storage.LoginTransaction, error) {
	v, _, ok, err := s.read(ctx, s.key("tx", id), s.clock())
	if err != nil {
		return storage.LoginTransaction{}, s.fail(ctx, "get transaction", err)
	}
	if !ok {
		return storage.LoginTransaction{}, fmt.Errorf("redis: get transaction: %w", storage.ErrNotFound)
	}
	t, err := decodeTransaction(v)
	if err != nil {
		return storage.LoginTransaction{}, fmt.Errorf("redis: get transaction: %w", err)
	}
	return t, nil
}

// DeleteTransaction implements storage.LoginTransactions.
func (s *State) DeleteTransaction(ctx context.Context, id string) error {
	ok, err := s.remove(ctx, s.key("tx", id), s.clock())
	if err != nil {
		return s.fail(ctx, "delete transaction", err)
	}
	if !ok {
		return fmt.Errorf("redis: delete transaction: %w", storage.ErrNotFound)
	}
	return nil
}
