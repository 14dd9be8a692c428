package tokens

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/storage"
)

// fakeKeys is an in-memory storage.SigningKeys for this package's tests (the real
// backends run the storage conformance suite). It lists keys newest first in the order
// they were stored, as a backend with an insertion sequence does.
type fakeKeys struct {
	mu   sync.Mutex
	keys []storage.SigningKey // in the order stored

	// oneCurrent makes it refuse a second current key, as a backend with a unique index
	// on the current state does.
	oneCurrent bool
	// onList, when set, runs at the start of every ListSigningKeys (outside the lock).
	onList func()
	lists  atomic.Int64
}

func (f *fakeKeys) CreateSigningKey(_ context.Context, k storage.SigningKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, old := range f.keys {
		if old.KID == k.KID {
			return fmt.Errorf("signing key %s: %w", k.KID, storage.ErrAlreadyExists)
		}
		if f.oneCurrent && k.State == storage.KeyCurrent && old.State == storage.KeyCurrent {
			return fmt.Errorf("a current key: %w", storage.ErrAlreadyExists)
		}
	}
	f.keys = append(f.keys, cloneKey(k))
	return nil
}

func (f *fakeKeys) ListSigningKeys(context.Context) ([]storage.SigningKey, error) {
	f.lists.Add(1)
	if f.onList != nil {
		f.onList()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]storage.SigningKey, 0, len(f.keys))
	for _, k := range slices.Backward(f.keys) {
		out = append(out, cloneKey(k))
	}
	return out, nil
}

func (f *fakeKeys) UpdateSigningKey(_ context.Context, kid string, update func(storage.SigningKey) (storage.SigningKey, error)) (storage.SigningKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, k := range f.keys {
		if k.KID == kid {
			n, err := update(cloneKey(k))
			if err != nil {
				return storage.SigningKey{}, err
			}
			f.keys[i] = cloneKey(n)
			return n, nil
		}
	}
	return storage.SigningKey{}, fmt.Errorf("signing key %s: %w", kid, storage.ErrNotFound)
}

func cloneKey(k storage.SigningKey) storage.SigningKey {
	k.PublicDER = bytes.Clone(k.PublicDER)
	k.CertDER = bytes.Clone(k.CertDER)
	k.SealedPriv = bytes.Clone(k.SealedPriv)
	return k
}

func (f *fakeKeys) all(t testing.TB) []storage.SigningKey {
	t.Helper()
	keys, err := f.ListSigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func (f *fakeKeys) inState(t testing.TB, state string) []storage.SigningKey {
	var out []storage.SigningKey
	for _, k := range f.all(t) {
		if k.State == state {
			out = append(out, k)
		}
	}
	return out
}

// clock is a settable time for KeySet.Now and Issuer.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestEnsureCreatesOneCurrentKey(t *testing.T) {
	ctx := context.Background()
	store := &fakeKeys{}
	sealer := newTestSealer(t)
	ks := NewKeySet(store, sealer)

	created, err := ks.Ensure(ctx)
	if err != nil || !created {
		t.Fatalf("Ensure on an empty store = %v, %v; want true, nil", created, err)
	}
	keys := store.inState(t, storage.KeyCurrent)
	if len(keys) != 1 || len(store.all(t)) != 2 || len(store.inState(t, storage.KeyNext)) != 1 {
		t.Fatalf("store holds %d keys, %d current; want one current and one next", len(store.all(t)), len(keys))
	}
	k := keys[0]
	if k.State != storage.KeyCurrent || k.Alg != AlgRS256 || k.CurrentSince.IsZero() || k.CreatedAt.IsZero() {
		t.Fatalf("stored key = state %q alg %q current_since %v created_at %v", k.State, k.Alg, k.CurrentSince, k.CreatedAt)
	}
	if ks.CurrentKID() != k.KID {
		t.Fatalf("CurrentKID = %q, want %q", ks.CurrentKID(), k.KID)
	}

	// The kid is the RFC 7638 thumbprint of the public key.
	pub, err := x509.ParsePKIXPublicKey(k.PublicDER)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub := pub.(*rsa.PublicKey)
	if rsaPub.N.BitLen() != 2048 {
		t.Fatalf("RSA key has %d bits, want 2048", rsaPub.N.BitLen())
	}
	thumb, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.RawURLEncoding.EncodeToString(thumb); k.KID != want {
		t.Fatalf("kid = %q, want thumbprint %q", k.KID, want)
	}

	cert, err := x509.ParseCertificate(k.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "latch" || !rsaPub.Equal(cert.PublicKey) {
		t.Fatalf("certificate CN %q, or its key is not the signing key", cert.Subject.CommonName)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Fatalf("certificate is not self-signed: %v", err)
	}

	// The private key is stored sealed, under its kid.
	der, err := sealer.Open(k.SealedPriv, privateKeyAD(k.KID))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(k.SealedPriv, der) || bytes.Contains(k.SealedPriv, der[len(der)-64:]) {
		t.Fatal("sealed private key contains the PKCS#8 plaintext")
	}
	if _, err := x509.ParsePKCS8PrivateKey(k.SealedPriv); err == nil {
		t.Fatal("the stored private key parses as PKCS#8 without opening it")
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil || !priv.(*rsa.PrivateKey).PublicKey.Equal(rsaPub) {
		t.Fatalf("opened private key: %v, or not the stored public key's", err)
	}

	// Twice: nothing new.
	created, err = ks.Ensure(ctx)
	if err != nil || created {
		t.Fatalf("second Ensure = %v, %v; want false, nil", created, err)
	}
	// Another instance on the same store adopts the key.
	other := NewKeySet(store, sealer)
	if created, err := other.Ensure(ctx); err != nil || created {
		t.Fatalf("Ensure by another instance = %v, %v; want false, nil", created, err)
	}
	if len(store.all(t)) != 2 || other.CurrentKID() != k.KID {
		t.Fatalf("after three Ensure calls: %d keys, other instance signs with %q; want 2 (current, next), %q", len(store.all(t)), other.CurrentKID(), k.KID)
	}
}

// TestEnsureRace starts two instances that both find the store empty and both create a
// key; afterwards they must sign with the same key and the store must hold one current key.
func TestEnsureRace(t *testing.T) {
	for _, tc := range []struct {
		name       string
		oneCurrent bool
	}{
		{"store settles with ErrAlreadyExists", true},
		{"keys settle by re-reading", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &fakeKeys{oneCurrent: tc.oneCurrent}
			// Hold the first two lists until both have happened: both instances see no key.
			var arrived sync.WaitGroup
			arrived.Add(2)
			var first atomic.Int64
			store.onList = func() {
				if first.Add(1) <= 2 {
					arrived.Done()
					arrived.Wait()
				}
			}
			sealer := newTestSealer(t)
			a, b := NewKeySet(store, sealer), NewKeySet(store, sealer)
			var createdA, createdB bool
			var errA, errB error
			var wg sync.WaitGroup
			wg.Go(func() { createdA, errA = a.Ensure(context.Background()) })
			wg.Go(func() { createdB, errB = b.Ensure(context.Background()) })
			wg.Wait()
			if errA != nil || errB != nil {
				t.Fatal(errA, errB)
			}
			if createdA == createdB {
				t.Fatalf("created = %v and %v; want exactly one true", createdA, createdB)
			}
			if a.CurrentKID() == "" || a.CurrentKID() != b.CurrentKID() {
				t.Fatalf("instances sign with %q and %q; want the same key", a.CurrentKID(), b.CurrentKID())
			}
			current := store.inState(t, storage.KeyCurrent)
			if len(current) != 1 || current[0].KID != a.CurrentKID() {
				t.Fatalf("store has %d current keys, want 1: %q", len(current), a.CurrentKID())
			}
			if !tc.oneCurrent {
				// The losing key stays published: it may have signed already.
				prev := store.inState(t, storage.KeyPrevious)
				if len(prev) != 1 || prev[0].CurrentUntil.IsZero() {
					t.Fatalf("want the losing key demoted to previous with current_until, got %+v", prev)
				}
				// An instance that loaded before the other stored its key learns of it on its
				// next load.
				if err := a.Load(context.Background()); err != nil {
					t.Fatal(err)
				}
				// current, the demoted one, and the next key(s) the instances queued
				if n := len(jwksKeys(t, a.JWKS())); n < 3 {
					t.Fatalf("JWKS has %d keys, want at least 3", n)
				}
			}
		})
	}
}

// TestEnsureSettlesTwoCurrentKeys covers a store left with two current keys (an instance
// that crashed between creating its key and settling).
func TestEnsureSettlesTwoCurrentKeys(t *testing.T) {
	ctx := context.Background()
	store := &fakeKeys{}
	ks := NewKeySet(store, newTestSealer(t))
	var kids []string
	for range 2 {
		k, err := ks.newKey(storage.KeyCurrent)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.CreateSigningKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		kids = append(kids, k.KID)
	}
	// Before settling, Load already signs with the key stored first.
	if err := ks.Load(ctx); err != nil || ks.CurrentKID() != kids[0] {
		t.Fatalf("Load: %v; signs with %q, want %q", err, ks.CurrentKID(), kids[0])
	}
	created, err := ks.Ensure(ctx)
	if err != nil || created {
		t.Fatalf("Ensure = %v, %v; want false, nil", created, err)
	}
	cur, prev := store.inState(t, storage.KeyCurrent), store.inState(t, storage.KeyPrevious)
	if len(cur) != 1 || cur[0].KID != kids[0] || len(prev) != 1 || prev[0].KID != kids[1] {
		t.Fatalf("after Ensure: current %v, previous %v; want %s and %s", cur, prev, kids[0], kids[1])
	}
	if got := jwksKIDs(t, ks.JWKS()); len(got) != 3 || got[0] != kids[0] || got[2] != kids[1] {
		t.Fatalf("JWKS kids = %v, want current %s first, then next, then previous %s", got, kids[0], kids[1])
	}
}

func TestLoadPublishesByState(t *testing.T) {
	ctx := context.Background()
	store := &fakeKeys{}
	ks := NewKeySet(store, newTestSealer(t))
	want := map[string]string{} // state -> kid
	for _, state := range []string{storage.KeyRevoked, storage.KeyPrevious, storage.KeyCurrent, storage.KeyNext} {
		k, err := ks.newKey(state)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.CreateSigningKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		want[state] = k.KID
	}
	if err := ks.Load(ctx); err != nil {
		t.Fatal(err)
	}
	got := jwksKIDs(t, ks.JWKS())
	if w := []string{want[storage.KeyCurrent], want[storage.KeyNext], want[storage.KeyPrevious]}; !slices.Equal(got, w) {
		t.Fatalf("JWKS kids = %v, want current, next, previous = %v", got, w)
	}
	if ks.CurrentKID() != want[storage.KeyCurrent] {
		t.Fatalf("signs with %q, want the current key %q", ks.CurrentKID(), want[storage.KeyCurrent])
	}
}

func TestLoadRefusesKeysItCannotOpen(t *testing.T) {
	ctx := context.Background()
	store := &fakeKeys{}
	sealer := newTestSealer(t)
	ks := NewKeySet(store, sealer)
	if _, err := ks.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	kid := ks.CurrentKID()
	jwks := ks.JWKS()

	// Another key-encryption key cannot open it.
	if err := NewKeySet(store, newTestSealer(t)).Load(ctx); !errors.Is(err, ErrUnseal) {
		t.Fatalf("Load with another KEK = %v, want ErrUnseal", err)
	}

	// A sealed key moved onto another key's record does not open: the kid is bound in.
	other, err := ks.newKey(storage.KeyNext)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateSigningKey(ctx, other); err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpdateSigningKey(ctx, kid, func(k storage.SigningKey) (storage.SigningKey, error) {
		k.SealedPriv = other.SealedPriv
		return k, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := ks.Load(ctx); !errors.Is(err, ErrUnseal) {
		t.Fatalf("Load with a swapped sealed key = %v, want ErrUnseal", err)
	}
	// A failed load leaves the keys loaded before in use.
	if ks.CurrentKID() != kid || !bytes.Equal(ks.JWKS(), jwks) {
		t.Fatal("a failed Load replaced the loaded keys")
	}
}

func TestKeySetBeforeLoad(t *testing.T) {
	ks := NewKeySet(&fakeKeys{}, newTestSealer(t))
	if got := string(ks.JWKS()); got != `{"keys":[]}` {
		t.Fatalf("JWKS before Load = %s", got)
	}
	if _, err := NewIssuer("https://x", ks).SignIDToken(map[string]any{"exp": 1}); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("sign before Load = %v, want ErrNoSigningKey", err)
	}
}

// TestUnknownKIDReloads: an instance learns of a key another instance created when it
// first sees a token signed with it, and a flood of unknown kids reads the store at most
// once per ReloadInterval.
func TestUnknownKIDReloads(t *testing.T) {
	ctx := context.Background()
	store := &fakeKeys{}
	sealer := newTestSealer(t)
	clk := newClock()

	a := NewKeySet(store, sealer)
	if _, err := a.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	b := NewKeySet(store, sealer)
	b.Now = clk.Now
	if err := b.Load(ctx); err != nil {
		t.Fatal(err)
	}

	// Rotate behind b's back: a new current key, the old one previous.
	rotated, err := a.newKey(storage.KeyCurrent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.UpdateSigningKey(ctx, a.CurrentKID(), func(k storage.SigningKey) (storage.SigningKey, error) {
		k.State = storage.KeyPrevious
		return k, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateSigningKey(ctx, rotated); err != nil {
		t.Fatal(err)
	}

	lists := func() int64 { return store.lists.Load() }
	before := lists()
	// Within the interval after b's own load, an unknown kid does not read the store.
	if _, err := b.verificationKey(ctx, rotated.KID); !errors.Is(err, errUnknownKID) {
		t.Fatalf("verificationKey right after Load = %v, want errUnknownKID", err)
	}
	if lists() != before {
		t.Fatal("an unknown kid reloaded within ReloadInterval")
	}

	clk.Advance(DefaultReloadInterval)
	if _, err := b.verificationKey(ctx, rotated.KID); err != nil {
		t.Fatalf("verificationKey after the interval: %v", err)
	}
	if lists() != before+1 {
		t.Fatalf("%d reads, want 1", lists()-before)
	}
	if b.CurrentKID() != rotated.KID {
		t.Fatalf("after the reload b signs with %q, want %q", b.CurrentKID(), rotated.KID)
	}

	// Many concurrent unknown kids after the interval: one read.
	clk.Advance(DefaultReloadInterval)
	before = lists()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if _, err := b.verificationKey(ctx, fmt.Sprintf("forged-%d", i)); !errors.Is(err, errUnknownKID) {
				t.Errorf("forged kid: %v", err)
			}
		})
	}
	wg.Wait()
	if n := lists() - before; n != 1 {
		t.Fatalf("50 forged kids caused %d reads, want 1", n)
	}
}

// jwksKeys parses a JWKS with go-jose, which also checks each x5c against its key and x5t.
func jwksKeys(t testing.TB, doc []byte) []jose.JSONWebKey {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("JWKS does not parse: %v\n%s", err, doc)
	}
	return set.Keys
}

func jwksKIDs(t testing.TB, doc []byte) []string {
	t.Helper()
	var kids []string
	for _, k := range jwksKeys(t, doc) {
		kids = append(kids, k.KeyID)
	}
	return kids
}
