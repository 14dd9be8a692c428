package tokens

import (
	"context"
	"errors"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/storage"
)

// Rotation: the published next key starts signing, the old key keeps verifying what it
// signed until it is revoked, and a new next key is queued.
func TestRotateAndRevoke(t *testing.T) {
	f := newIssuerFixture(t)
	ctx := context.Background()
	store := f.keys.store.(*fakeKeys)
	oldKID := f.kid
	nextKID := store.inState(t, storage.KeyNext)[0].KID
	before, err := f.iss.SignAccessToken(f.claims(map[string]any{"iss": nil}))
	if err != nil {
		t.Fatal(err)
	}

	promoted, err := f.keys.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if promoted.KID != nextKID || f.keys.CurrentKID() != nextKID {
		t.Fatalf("rotation promoted %s (signing with %s), want the published next key %s", promoted.KID, f.keys.CurrentKID(), nextKID)
	}
	prev := store.inState(t, storage.KeyPrevious)
	next := store.inState(t, storage.KeyNext)
	if len(prev) != 1 || prev[0].KID != oldKID || prev[0].CurrentUntil.IsZero() || len(next) != 1 || next[0].KID == nextKID {
		t.Fatalf("after rotation: previous %v, next %v", prev, next)
	}
	if kids := jwksKIDs(t, f.keys.JWKS()); len(kids) != 3 || kids[0] != nextKID || kids[2] != oldKID {
		t.Fatalf("JWKS after rotation: %v", kids)
	}
	if _, err := f.iss.VerifyAccessToken(ctx, before, testAudience); err != nil {
		t.Fatalf("a token of the previous key no longer verifies: %v", err)
	}
	after, _ := f.iss.SignAccessToken(f.claims(map[string]any{"iss": nil}))
	if h := headerOf(t, after); h != nextKID {
		t.Fatalf("new tokens signed with %s, want %s", h, nextKID)
	}

	if _, err := f.keys.Revoke(ctx, nextKID); !errors.Is(err, ErrKeyNotRevocable) {
		t.Fatalf("revoking the current key: %v", err)
	}
	if _, err := f.keys.Revoke(ctx, "nope"); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("revoking an unknown key: %v", err)
	}
	if _, err := f.keys.Revoke(ctx, oldKID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.iss.VerifyAccessToken(ctx, before, testAudience); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a token of a revoked key still verifies: %v", err)
	}
	if kids := jwksKIDs(t, f.keys.JWKS()); len(kids) != 2 {
		t.Fatalf("JWKS after revocation: %v", kids)
	}
	if _, err := f.keys.Revoke(ctx, oldKID); !errors.Is(err, ErrKeyNotRevocable) {
		t.Fatalf("revoking twice: %v", err)
	}
}

func headerOf(t *testing.T, token string) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, acceptedAlgs)
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Protected.KeyID
}
