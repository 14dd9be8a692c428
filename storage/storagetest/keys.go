package storagetest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"slices"
	"testing"

	"github.com/latchauth/latch/storage"
)

var signingKeyTests = []subtest{
	{"CreateListNewestFirst", testSigningKeyList},
	{"Duplicate", testSigningKeyDuplicate},
	{"UpdateState", testSigningKeyUpdate},
}

func newSigningKey(n int, state string) storage.SigningKey {
	blob := func(size int) []byte {
		b := make([]byte, size)
		_, _ = rand.Read(b)
		b[0] = 0 // a leading NUL must survive: these are binary, not text
		return b
	}
	k := storage.SigningKey{
		KID:        fmt.Sprintf("kid-%d-%x", n, blob(4)),
		Alg:        "RS256",
		PublicDER:  blob(294),
		CertDER:    blob(800),
		SealedPriv: blob(1232),
		State:      state,
		CreatedAt:  at(n),
	}
	if state == storage.KeyCurrent || state == storage.KeyPrevious {
		k.CurrentSince = at(n + 1)
	}
	if state == storage.KeyPrevious {
		k.CurrentUntil = at(n + 2)
	}
	return k
}

func assertKey(t *testing.T, what string, got, want storage.SigningKey) {
	t.Helper()
	assertEqual(t, what, got, want)
	// assertEqual lets nil match empty; key material must match byte for byte.
	for _, f := range []struct {
		name      string
		got, want []byte
	}{{"PublicDER", got.PublicDER, want.PublicDER}, {"CertDER", got.CertDER, want.CertDER}, {"SealedPriv", got.SealedPriv, want.SealedPriv}} {
		if !bytes.Equal(f.got, f.want) {
			t.Errorf("%s: %s = %d bytes, want the %d stored", what, f.name, len(f.got), len(f.want))
		}
	}
}

func testSigningKeyList(t *testing.T, s storage.Store) {
	ctx := t.Context()
	list, err := s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys empty", err)
	if len(list) != 0 {
		t.Fatalf("ListSigningKeys on an empty store = %d keys, want 0", len(list))
	}

	prev, cur, next := newSigningKey(1, storage.KeyPrevious), newSigningKey(2, storage.KeyCurrent), newSigningKey(3, storage.KeyNext)
	// Inserted out of age order, so that "newest first" is the store's doing.
	for _, k := range []storage.SigningKey{cur, next, prev} {
		must(t, "CreateSigningKey "+k.KID, s.CreateSigningKey(ctx, k))
	}
	list, err = s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys", err)
	kid := func(k storage.SigningKey) string { return k.KID }
	if got, want := ids(list, kid), []string{next.KID, cur.KID, prev.KID}; !slices.Equal(got, want) {
		t.Fatalf("ListSigningKeys = %v, want %v (newest first)", got, want)
	}
	for i, want := range []storage.SigningKey{next, cur, prev} {
		assertKey(t, "ListSigningKeys["+fmt.Sprint(i)+"]", list[i], want)
	}

	list[1].SealedPriv[0] = 0xff
	list[1].State = "changed"
	again, err := s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys again", err)
	assertKey(t, "key after a caller changed a returned one", again[1], cur)
}

func testSigningKeyDuplicate(t *testing.T, s storage.Store) {
	ctx := t.Context()
	k := newSigningKey(1, storage.KeyCurrent)
	must(t, "CreateSigningKey", s.CreateSigningKey(ctx, k))
	dup := newSigningKey(2, storage.KeyNext)
	dup.KID = k.KID
	wantErr(t, "CreateSigningKey same kid", s.CreateSigningKey(ctx, dup), storage.ErrAlreadyExists)
	// At most one key is current: instances racing to create the first key settle on one.
	second := newSigningKey(3, storage.KeyCurrent)
	wantErr(t, "CreateSigningKey second current key", s.CreateSigningKey(ctx, second), storage.ErrAlreadyExists)
	list, err := s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys", err)
	if len(list) != 1 {
		t.Fatalf("ListSigningKeys after refused duplicate = %d keys, want 1", len(list))
	}
	assertKey(t, "key after refused duplicate", list[0], k)
}

func testSigningKeyUpdate(t *testing.T, s storage.Store) {
	ctx := t.Context()
	cur := newSigningKey(1, storage.KeyCurrent)
	next := newSigningKey(2, storage.KeyNext)
	must(t, "CreateSigningKey", s.CreateSigningKey(ctx, cur))
	must(t, "CreateSigningKey", s.CreateSigningKey(ctx, next))

	_, err := s.UpdateSigningKey(ctx, next.KID, func(k storage.SigningKey) (storage.SigningKey, error) {
		k.State = storage.KeyCurrent
		return k, nil
	})
	wantErr(t, "UpdateSigningKey promoting while another key is current", err, storage.ErrAlreadyExists)

	retired, err := s.UpdateSigningKey(ctx, cur.KID, func(k storage.SigningKey) (storage.SigningKey, error) {
		assertKey(t, "updater input", k, cur)
		k.State = storage.KeyPrevious
		k.CurrentUntil = at(10)
		return k, nil
	})
	must(t, "UpdateSigningKey", err)
	wantRetired := cur
	wantRetired.State = storage.KeyPrevious
	wantRetired.CurrentUntil = at(10)
	assertKey(t, "UpdateSigningKey result", retired, wantRetired)

	_, err = s.UpdateSigningKey(ctx, next.KID, func(k storage.SigningKey) (storage.SigningKey, error) {
		k.State = storage.KeyCurrent
		k.CurrentSince = at(10)
		return k, nil
	})
	must(t, "UpdateSigningKey promote", err)
	wantNext := next
	wantNext.State = storage.KeyCurrent
	wantNext.CurrentSince = at(10)

	_, err = s.UpdateSigningKey(ctx, cur.KID, func(k storage.SigningKey) (storage.SigningKey, error) {
		k.State = storage.KeyRevoked
		k.RevokedAt = at(11)
		return k, errUpdater
	})
	wantErr(t, "UpdateSigningKey with a failing updater", err, errUpdater)
	_, err = s.UpdateSigningKey(ctx, "missing", func(k storage.SigningKey) (storage.SigningKey, error) { return k, nil })
	wantErr(t, "UpdateSigningKey missing", err, storage.ErrNotFound)

	list, err := s.ListSigningKeys(ctx)
	must(t, "ListSigningKeys", err)
	if len(list) != 2 {
		t.Fatalf("ListSigningKeys = %d keys, want 2", len(list))
	}
	assertKey(t, "promoted key", list[0], wantNext)
	assertKey(t, "retired key", list[1], wantRetired)
}
