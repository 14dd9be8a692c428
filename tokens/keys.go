package tokens

import (
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/storage"
)

const (
	// AlgRS256 is the only signing algorithm latch uses: every Auth0 SDK accepts it and
	// auth0-spa-js accepts nothing else (AUTH0-COMPAT §0.3).
	AlgRS256 = "RS256"

	rsaBits = 2048

	// certLifetime is how long the self-signed x5c certificate claims to be valid. Nothing
	// checks it (clients trust the JWKS, not a chain), so it only has to outlive any key.
	certLifetime = 10 * 365 * 24 * time.Hour

	// DefaultReloadInterval bounds how often a token with an unknown kid makes the KeySet
	// re-read the store: often enough that another instance's rotation is picked up within
	// seconds, rarely enough that a stream of forged kids cannot turn into a read storm.
	DefaultReloadInterval = 5 * time.Second
)

// ErrNoSigningKey is returned when asked to sign before a current key is loaded (Ensure
// or Load was not called, or the store holds no current key).
var ErrNoSigningKey = errors.New("tokens: no current signing key")

// errUnknownKID is returned by verificationKey; the Issuer turns it into ErrInvalidToken.
var errUnknownKID = errors.New("unknown kid")

// KeySet holds the signing keys: the current private key (decrypted, in memory only) and
// the public keys of every published key. It is safe for concurrent use; the keys are an
// immutable snapshot replaced as a whole by Load.
//
// Key ids are the RFC 7638 JWK thumbprint (SHA-256, base64url without padding) of the
// public key: unique without coordination between instances, and anyone holding the JWK
// can recompute them.
type KeySet struct {
	store  storage.SigningKeys
	sealer *Sealer

	// Now is the clock for key timestamps and the reload limit; set it before first use.
	Now func() time.Time
	// ReloadInterval is the least time between two loads caused by unknown kids; set it
	// before first use. Zero means DefaultReloadInterval.
	ReloadInterval time.Duration

	snap atomic.Pointer[keySnapshot]

	loadMu   sync.Mutex // serialises loads, so concurrent unknown kids cause one read
	lastLoad time.Time  // guarded by loadMu: when the last load started
}

// keySnapshot is what one Load read. It is never modified after it is published.
type keySnapshot struct {
	signer *signingKey               // nil when the store has no current key
	public map[string]*rsa.PublicKey // kid -> key, for every published key
	jwks   []byte
}

type signingKey struct {
	kid     string
	idToken jose.Signer // header typ JWT
	atToken jose.Signer // header typ at+jwt
}

// NewKeySet returns a KeySet over the store; it holds no keys until Ensure or Load.
func NewKeySet(store storage.SigningKeys, sealer *Sealer) *KeySet {
	ks := &KeySet{store: store, sealer: sealer, Now: time.Now}
	ks.snap.Store(emptySnapshot)
	return ks
}

var emptySnapshot = &keySnapshot{public: map[string]*rsa.PublicKey{}, jwks: []byte(`{"keys":[]}`)}

// Ensure makes sure the store has a current signing key, creating one if it has none,
// then loads the keys. created says whether the key this call generated is the one now
// current.
//
// Instances that start together may each find no key and each create one. Like dex's
// rotation, Ensure generates outside the store and settles by re-reading: a backend that
// refuses a second current key with ErrAlreadyExists settles it outright; for one that
// does not, every instance that sees several current keys keeps the one stored first (the
// last that ListSigningKeys lists, as it lists newest first) and demotes the others to
// previous with a compare-and-swap, so demotions by several instances agree. The instance
// that stored last always sees every key, so exactly one current key remains, and it is
// the one an instance that saw only its own key adopted, provided the store lists keys in
// the order they were stored. A demoted key stays published in any case, so tokens it
// signed keep verifying until every instance has reloaded.
func (ks *KeySet) Ensure(ctx context.Context) (created bool, err error) {
	keys, err := ks.store.ListSigningKeys(ctx)
	if err != nil {
		return false, fmt.Errorf("tokens: listing signing keys: %w", err)
	}
	var mine string
	if len(currentKeys(keys)) == 0 {
		k, err := ks.newKey(storage.KeyCurrent)
		if err != nil {
			return false, err
		}
		// Stamp it now, not when generation (slow) began, so that the store's newest-first
		// order matches the order the racing instances actually stored their keys.
		k.CreatedAt = storage.Time(ks.Now())
		k.CurrentSince = k.CreatedAt
		switch err := ks.store.CreateSigningKey(ctx, k); {
		case err == nil:
			mine = k.KID
		case errors.Is(err, storage.ErrAlreadyExists):
			// Another instance's key got there first; the re-read below finds it.
		default:
			return false, fmt.Errorf("tokens: storing signing key: %w", err)
		}
		if keys, err = ks.store.ListSigningKeys(ctx); err != nil {
			return false, fmt.Errorf("tokens: listing signing keys: %w", err)
		}
	}
	winner, err := ks.settleCurrent(ctx, keys)
	if err != nil {
		return false, err
	}
	if winner == "" {
		return false, errors.New("tokens: no current signing key after creating one")
	}
	if err := ks.ensureNext(ctx, keys); err != nil {
		return false, err
	}
	return mine != "" && mine == winner, ks.Load(ctx)
}

// errNotCurrent aborts a demotion whose key another instance has already demoted.
var errNotCurrent = errors.New("no longer current")

// settleCurrent demotes all current keys but one and returns the kid of the one kept.
func (ks *KeySet) settleCurrent(ctx context.Context, keys []storage.SigningKey) (string, error) {
	current := currentKeys(keys)
	if len(current) == 0 {
		return "", nil
	}
	now := storage.Time(ks.Now())
	for _, k := range current[1:] {
		_, err := ks.store.UpdateSigningKey(ctx, k.KID, func(old storage.SigningKey) (storage.SigningKey, error) {
			if old.State != storage.KeyCurrent {
				return old, errNotCurrent
			}
			old.State = storage.KeyPrevious
			old.CurrentUntil = now
			return old, nil
		})
		if err != nil && !errors.Is(err, errNotCurrent) && !errors.Is(err, storage.ErrNotFound) {
			return "", fmt.Errorf("tokens: demoting signing key %s: %w", k.KID, err)
		}
	}
	return current[0].KID, nil
}

// currentKeys returns the keys in state current, the one that signs first: the one stored
// first, which ListSigningKeys (newest first) lists last. Every instance reading the same
// list picks the same signer.
func currentKeys(keys []storage.SigningKey) []storage.SigningKey {
	var cur []storage.SigningKey
	for _, k := range slices.Backward(keys) {
		if k.State == storage.KeyCurrent {
			cur = append(cur, k)
		}
	}
	return cur
}

// Load reads every key from the store, decrypts the current one and publishes the public
// keys of the current, next and previous keys (revoked keys are dropped). On error the keys
// loaded before stay in use. Call it after a rotation, and periodically, so that every
// instance signs with the key the store calls current.
func (ks *KeySet) Load(ctx context.Context) error {
	ks.loadMu.Lock()
	defer ks.loadMu.Unlock()
	return ks.loadLocked(ctx)
}

func (ks *KeySet) loadLocked(ctx context.Context) error {
	ks.lastLoad = ks.Now()
	keys, err := ks.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("tokens: listing signing keys: %w", err)
	}
	snap, err := ks.snapshotOf(keys)
	if err != nil {
		return err
	}
	ks.snap.Store(snap)
	return nil
}

// jwk is one entry of the JWKS in the field order of Auth0's document (AUTH0-COMPAT §2.8).
type jwk struct {
	Alg string   `json:"alg"`
	Kty string   `json:"kty"`
	Use string   `json:"use"`
	N   string   `json:"n"`
	E   string   `json:"e"`
	KID string   `json:"kid"`
	X5t string   `json:"x5t"`
	X5c []string `json:"x5c"`
}

func (ks *KeySet) snapshotOf(keys []storage.SigningKey) (*keySnapshot, error) {
	rank := map[string]int{storage.KeyCurrent: 0, storage.KeyNext: 1, storage.KeyPrevious: 2}
	var published []storage.SigningKey
	for _, k := range keys {
		if _, ok := rank[k.State]; ok {
			published = append(published, k)
		}
	}
	// Current first (the signer at the very front), then next, then previous; the store's
	// newest-first order within a state. Some clients simply take keys[0].
	current := currentKeys(keys)
	slices.SortStableFunc(published, func(a, b storage.SigningKey) int {
		return cmp.Compare(rank[a.State], rank[b.State])
	})
	if len(current) > 0 {
		i := slices.IndexFunc(published, func(k storage.SigningKey) bool { return k.KID == current[0].KID })
		published[0], published[i] = published[i], published[0]
	}

	snap := &keySnapshot{public: make(map[string]*rsa.PublicKey, len(published))}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range published {
		pub, cert, err := parsePublic(k)
		if err != nil {
			return nil, err
		}
		snap.public[k.KID] = pub
		sum := sha1.Sum(cert.Raw) // x5t is SHA-1 by definition (RFC 7517 §4.8)
		set.Keys = append(set.Keys, jwk{
			Alg: AlgRS256,
			Kty: "RSA",
			Use: "sig",
			N:   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
			KID: k.KID,
			X5t: base64.RawURLEncoding.EncodeToString(sum[:]),
			X5c: []string{base64.StdEncoding.EncodeToString(cert.Raw)},
		})
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("tokens: encoding JWKS: %w", err)
	}
	snap.jwks = jwks

	if len(current) > 0 {
		signer, err := ks.openSigner(current[0], snap.public[current[0].KID])
		if err != nil {
			return nil, err
		}
		snap.signer = signer
	}
	return snap, nil
}

// parsePublic checks a stored key and returns its public key and certificate.
func parsePublic(k storage.SigningKey) (*rsa.PublicKey, *x509.Certificate, error) {
	if k.Alg != AlgRS256 {
		return nil, nil, fmt.Errorf("tokens: signing key %s: unsupported alg %q", k.KID, k.Alg)
	}
	parsed, err := x509.ParsePKIXPublicKey(k.PublicDER)
	if err != nil {
		return nil, nil, fmt.Errorf("tokens: signing key %s: public key: %w", k.KID, err)
	}
	pub, ok := parsed.(*rsa.PublicKey)
	if !ok {
		return nil, nil, fmt.Errorf("tokens: signing key %s: public key is %T, not RSA", k.KID, parsed)
	}
	cert, err := x509.ParseCertificate(k.CertDER)
	if err != nil {
		return nil, nil, fmt.Errorf("tokens: signing key %s: certificate: %w", k.KID, err)
	}
	if !pub.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("tokens: signing key %s: certificate is for another key", k.KID)
	}
	return pub, cert, nil
}

// openSigner decrypts a key's private part and builds the signers for it.
func (ks *KeySet) openSigner(k storage.SigningKey, pub *rsa.PublicKey) (*signingKey, error) {
	der, err := ks.sealer.Open(k.SealedPriv, privateKeyAD(k.KID))
	if err != nil {
		return nil, fmt.Errorf("tokens: signing key %s: private key does not open (is the key-encryption key the one it was created with?): %w", k.KID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("tokens: signing key %s: private key: %w", k.KID, err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok || !priv.PublicKey.Equal(pub) {
		return nil, fmt.Errorf("tokens: signing key %s: private key does not match the public key", k.KID)
	}
	s := &signingKey{kid: k.KID}
	if s.idToken, err = newSigner(priv, k.KID, "JWT"); err != nil {
		return nil, err
	}
	if s.atToken, err = newSigner(priv, k.KID, "at+jwt"); err != nil {
		return nil, err
	}
	return s, nil
}

func newSigner(priv *rsa.PrivateKey, kid, typ string) (jose.Signer, error) {
	s, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)),
	)
	if err != nil {
		return nil, fmt.Errorf("tokens: signer for key %s: %w", kid, err)
	}
	return s, nil
}

// privateKeyAD is the additional data a private key is sealed with. Binding the blob to
// its kid means a sealed key copied onto another key's record does not open; the prefix
// keeps it from opening as any other kind of sealed secret.
func privateKeyAD(kid string) []byte { return []byte("latch signing key " + kid) }

// newKey generates an RSA key in the given state, with its certificate, sealed.
func (ks *KeySet) newKey(state string) (storage.SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("tokens: generating RSA key: %w", err)
	}
	thumb, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("tokens: key thumbprint: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(thumb)
	now := storage.Time(ks.Now())

	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("tokens: certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "latch"},
		NotBefore:             now,
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("tokens: self-signed certificate: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("tokens: public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return storage.SigningKey{}, fmt.Errorf("tokens: private key: %w", err)
	}
	sealed := ks.sealer.Seal(der, privateKeyAD(kid))
	clear(der) // best effort: the plaintext should not linger longer than needed

	k := storage.SigningKey{
		KID:        kid,
		Alg:        AlgRS256,
		PublicDER:  pubDER,
		CertDER:    cert,
		SealedPriv: sealed,
		State:      state,
		CreatedAt:  now,
	}
	if state == storage.KeyCurrent {
		k.CurrentSince = now
	}
	return k, nil
}

// JWKS returns the JSON Web Key Set of the published keys (current, next, previous), as
// /.well-known/jwks.json serves it. The bytes are shared: do not modify them.
func (ks *KeySet) JWKS() []byte { return ks.snap.Load().jwks }

// CurrentKID returns the kid of the key that signs, or "" when none is loaded.
func (ks *KeySet) CurrentKID() string {
	if s := ks.snap.Load().signer; s != nil {
		return s.kid
	}
	return ""
}

func (ks *KeySet) currentSigner() (*signingKey, error) {
	if s := ks.snap.Load().signer; s != nil {
		return s, nil
	}
	return nil, ErrNoSigningKey
}

// verificationKey returns the public key for kid. A kid it does not know makes it re-read
// the store, unless it did so less than ReloadInterval ago: that is how an instance learns
// of a key another instance created or rotated in.
func (ks *KeySet) verificationKey(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	if pub := ks.snap.Load().public[kid]; pub != nil {
		return pub, nil
	}
	ks.loadMu.Lock()
	defer ks.loadMu.Unlock()
	// Another goroutine may have loaded while this one waited.
	if pub := ks.snap.Load().public[kid]; pub != nil {
		return pub, nil
	}
	interval := ks.ReloadInterval
	if interval <= 0 {
		interval = DefaultReloadInterval
	}
	if !ks.lastLoad.IsZero() && ks.Now().Sub(ks.lastLoad) < interval {
		return nil, errUnknownKID
	}
	if err := ks.loadLocked(ctx); err != nil {
		return nil, fmt.Errorf("%w (reloading keys failed: %w)", errUnknownKID, err)
	}
	if pub := ks.snap.Load().public[kid]; pub != nil {
		return pub, nil
	}
	return nil, errUnknownKID
}
