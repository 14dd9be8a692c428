package tokens

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchauth/latch/storage"
)

// Errors of rotation and revocation.
var (
	ErrKeyNotFound     = errors.New("tokens: no such signing key")
	ErrKeyNotRevocable = errors.New("tokens: only a previous signing key can be revoked")
)

// errStateChanged aborts a state change whose key another actor changed first.
var errStateChanged = errors.New("tokens: the key's state changed meanwhile")

// ensureNext queues a next key when the store has none, so that the key that will sign after
// a rotation is published in the JWKS before it signs (clients cache the JWKS).
func (ks *KeySet) ensureNext(ctx context.Context, keys []storage.SigningKey) error {
	for _, k := range keys {
		if k.State == storage.KeyNext {
			return nil
		}
	}
	next, err := ks.newKey(storage.KeyNext)
	if err != nil {
		return err
	}
	if err := ks.store.CreateSigningKey(ctx, next); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return fmt.Errorf("tokens: storing the next signing key: %w", err)
	}
	return nil
}

// Rotate makes the next key current (it has been published since it was queued), the
// current key previous (it keeps verifying the tokens it signed until it is revoked), and
// queues a new next key. It returns the key that signs from now on.
func (ks *KeySet) Rotate(ctx context.Context) (storage.SigningKey, error) {
	// Generate before taking any lock: it is the slow part.
	queued, err := ks.newKey(storage.KeyNext)
	if err != nil {
		return storage.SigningKey{}, err
	}
	ks.loadMu.Lock()
	defer ks.loadMu.Unlock()
	keys, err := ks.store.ListSigningKeys(ctx)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("tokens: listing signing keys: %w", err)
	}
	current := currentKeys(keys)
	if len(current) == 0 {
		return storage.SigningKey{}, ErrNoSigningKey
	}
	var next *storage.SigningKey
	for i := len(keys) - 1; i >= 0; i-- { // the oldest next key goes first
		if keys[i].State == storage.KeyNext {
			next = &keys[i]
			break
		}
	}
	if next == nil {
		// A store from before next keys existed: promote the fresh key, queue another.
		if err := ks.store.CreateSigningKey(ctx, queued); err != nil {
			return storage.SigningKey{}, fmt.Errorf("tokens: storing signing key: %w", err)
		}
		next = &queued
		if queued, err = ks.newKey(storage.KeyNext); err != nil {
			return storage.SigningKey{}, err
		}
	}
	now := ks.now()
	// The store allows one current key at a time: demote first, then promote.
	if _, err := ks.setState(ctx, current[0].KID, storage.KeyCurrent, func(k *storage.SigningKey) {
		k.State, k.CurrentUntil = storage.KeyPrevious, now
	}); err != nil {
		return storage.SigningKey{}, err
	}
	promoted, err := ks.setState(ctx, next.KID, storage.KeyNext, func(k *storage.SigningKey) {
		k.State, k.CurrentSince = storage.KeyCurrent, now
	})
	if err != nil {
		// Put the old key back rather than leave the store without a signer.
		_, _ = ks.setState(ctx, current[0].KID, storage.KeyPrevious, func(k *storage.SigningKey) {
			k.State, k.CurrentUntil = storage.KeyCurrent, time.Time{}
		})
		return storage.SigningKey{}, err
	}
	if err := ks.store.CreateSigningKey(ctx, queued); err != nil {
		return storage.SigningKey{}, fmt.Errorf("tokens: storing the next signing key: %w", err)
	}
	return promoted, ks.loadLocked(ctx)
}

// Revoke withdraws a previous key: it leaves the JWKS and tokens it signed stop verifying.
func (ks *KeySet) Revoke(ctx context.Context, kid string) (storage.SigningKey, error) {
	ks.loadMu.Lock()
	defer ks.loadMu.Unlock()
	now := ks.now()
	k, err := ks.setState(ctx, kid, storage.KeyPrevious, func(k *storage.SigningKey) {
		k.State, k.RevokedAt = storage.KeyRevoked, now
	})
	if errors.Is(err, errStateChanged) {
		return storage.SigningKey{}, ErrKeyNotRevocable
	}
	if err != nil {
		return storage.SigningKey{}, err
	}
	return k, ks.loadLocked(ctx)
}

// setState changes a key that is in state from, with a compare-and-swap.
func (ks *KeySet) setState(ctx context.Context, kid, from string, change func(*storage.SigningKey)) (storage.SigningKey, error) {
	k, err := ks.store.UpdateSigningKey(ctx, kid, func(k storage.SigningKey) (storage.SigningKey, error) {
		if k.State != from {
			return k, errStateChanged
		}
		change(&k)
		return k, nil
	})
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return storage.SigningKey{}, ErrKeyNotFound
	case errors.Is(err, errStateChanged):
		return storage.SigningKey{}, err
	case err != nil:
		return storage.SigningKey{}, fmt.Errorf("tokens: updating signing key %s: %w", kid, err)
	}
	return k, nil
}

// now is the key set's clock, as the store keeps times.
func (ks *KeySet) now() time.Time { return storage.Time(ks.Now()) }
