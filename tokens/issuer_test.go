package tokens

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/storage"
)

const (
	testIssuer   = "https://tenant.example.com/"
	testAudience = "https://api.example.com"
)

type issuerFixture struct {
	iss   *Issuer
	keys  *KeySet
	clock *clock
	priv  *rsa.PrivateKey // the current key's, to forge tokens the issuer would not mint
	kid   string
}

func newIssuerFixture(t testing.TB) *issuerFixture {
	t.Helper()
	store := &fakeKeys{}
	sealer := newTestSealer(t)
	ks := NewKeySet(store, sealer)
	if _, err := ks.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	k := store.inState(t, storage.KeyCurrent)[0]
	der, err := sealer.Open(k.SealedPriv, privateKeyAD(k.KID))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	iss := NewIssuer(strings.TrimSuffix(testIssuer, "/"), ks) // NewIssuer adds the slash
	iss.Now = clk.Now
	return &issuerFixture{iss: iss, keys: ks, clock: clk, priv: priv.(*rsa.PrivateKey), kid: k.KID}
}

// claims returns a valid access token's claims at the fixture's time, with changes.
func (f *issuerFixture) claims(change map[string]any) map[string]any {
	now := f.clock.Now().Unix()
	c := map[string]any{
		"iss": testIssuer, "sub": "auth0|0123456789abcdef01234567", "aud": testAudience,
		"iat": now, "exp": now + 3600, "scope": "openid profile",
	}
	for k, v := range change {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// forge assembles a compact JWS by hand, so tests can produce what no honest signer would.
func forge(t testing.TB, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(h) + "." + b64(p)
	return input + "." + b64(sign([]byte(input)))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rs256(t testing.TB, priv *rsa.PrivateKey) func([]byte) []byte {
	return func(input []byte) []byte {
		sum := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

func hs256(key []byte) func([]byte) []byte {
	return func(input []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(input)
		return m.Sum(nil)
	}
}

func TestNewIssuerURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://tenant.example.com":  "https://tenant.example.com/",
		"https://tenant.example.com/": "https://tenant.example.com/",
		"http://localhost:3000":       "http://localhost:3000/",
	} {
		if got := NewIssuer(in, nil).URL(); got != want {
			t.Errorf("NewIssuer(%q).URL() = %q, want %q", in, got, want)
		}
	}
}

func TestJWKSVerifiesSignedTokens(t *testing.T) {
	f := newIssuerFixture(t)
	keys := jwksKeys(t, f.keys.JWKS())
	if len(keys) != 2 {
		t.Fatalf("JWKS has %d keys, want 2 (current, then next)", len(keys))
	}
	k := keys[0]
	if k.KeyID != f.kid || k.Algorithm != "RS256" || k.Use != "sig" || len(k.Certificates) != 1 || len(k.CertificateThumbprintSHA1) == 0 {
		t.Fatalf("JWK = kid %q alg %q use %q, %d certs, x5t %x", k.KeyID, k.Algorithm, k.Use, len(k.Certificates), k.CertificateThumbprintSHA1)
	}
	// The document has Auth0's members and nothing private.
	var raw struct{ Keys []map[string]any }
	if err := json.Unmarshal(f.keys.JWKS(), &raw); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(slices.Sorted(maps.Keys(raw.Keys[0])), " "), "alg e kid kty n use x5c x5t"; got != want {
		t.Fatalf("JWK members = %s, want %s", got, want)
	}
	if raw.Keys[0]["e"] != "AQAB" {
		t.Fatalf("e = %v, want AQAB", raw.Keys[0]["e"])
	}

	for _, tc := range []struct {
		name string
		sign func(map[string]any) (string, error)
		typ  string
	}{
		{"id token", f.iss.SignIDToken, "JWT"},
		{"access token", f.iss.SignAccessToken, "at+jwt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := f.claims(map[string]any{"iss": nil, "https://example.com/roles": []string{"admin"}})
			token, err := tc.sign(claims)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := claims["iss"]; ok {
				t.Fatal("signing modified the caller's claims")
			}
			jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatal(err)
			}
			h := jws.Signatures[0].Protected
			if h.Algorithm != "RS256" || h.KeyID != f.kid || h.ExtraHeaders[jose.HeaderType] != tc.typ {
				t.Fatalf("header alg %q kid %q typ %v; want RS256 %q %q", h.Algorithm, h.KeyID, h.ExtraHeaders[jose.HeaderType], f.kid, tc.typ)
			}
			payload, err := jws.Verify(&k) // the published JWK, as a client uses it
			if err != nil {
				t.Fatalf("published key does not verify the token: %v", err)
			}
			var got map[string]any
			if err := json.Unmarshal(payload, &got); err != nil {
				t.Fatal(err)
			}
			if got["iss"] != testIssuer || got["sub"] != claims["sub"] {
				t.Fatalf("payload = %v", got)
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	f := newIssuerFixture(t)
	for name, claims := range map[string]map[string]any{
		"another issuer": f.claims(map[string]any{"iss": "https://evil.example.com/"}),
		"no exp":         f.claims(map[string]any{"exp": nil}),
		"unencodable":    f.claims(map[string]any{"x": make(chan int)}),
	} {
		if tok, err := f.iss.SignAccessToken(claims); err == nil {
			t.Errorf("%s: signed %s", name, tok)
		}
	}
}

func TestVerifyAccessTokenAccepts(t *testing.T) {
	f := newIssuerFixture(t)
	now := f.clock.Now().Unix()
	for _, tc := range []struct {
		name   string
		claims map[string]any
		typ    string
	}{
		{"aud string", f.claims(nil), "at+jwt"},
		{"aud array", f.claims(map[string]any{"aud": []string{testAudience, testIssuer + "userinfo"}}), "at+jwt"},
		{"long typ", f.claims(nil), "application/at+jwt"},
		{"typ upper case", f.claims(nil), "AT+JWT"},
		{"iat within leeway", f.claims(map[string]any{"iat": now + 59, "nbf": now + 59}), "at+jwt"},
		{"exp one second ahead", f.claims(map[string]any{"exp": now + 1}), "at+jwt"},
		{"fractional exp", f.claims(map[string]any{"exp": float64(now) + 0.5}), "at+jwt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := forge(t, map[string]any{"alg": "RS256", "typ": tc.typ, "kid": f.kid}, tc.claims, rs256(t, f.priv))
			got, err := f.iss.VerifyAccessToken(context.Background(), token, testAudience)
			if err != nil {
				t.Fatal(err)
			}
			if got["sub"] != tc.claims["sub"] {
				t.Fatalf("claims = %v", got)
			}
		})
	}

	// Minted tokens verify, and numbers come back as json.Number.
	token, err := f.iss.SignAccessToken(f.claims(map[string]any{"iss": nil, "n": 1000000}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.iss.VerifyAccessToken(context.Background(), token, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	if got["n"] != json.Number("1000000") || got["exp"] != json.Number(jsonInt(now+3600)) {
		t.Fatalf("numbers: n = %#v, exp = %#v; want json.Number", got["n"], got["exp"])
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestVerifyAccessTokenRejects(t *testing.T) {
	f := newIssuerFixture(t)
	now := f.clock.Now().Unix()
	pubDER, err := x509.MarshalPKIXPublicKey(&f.priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	header := func(change map[string]any) map[string]any {
		h := map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": f.kid}
		maps.Copy(h, change)
		for k, v := range h {
			if v == nil {
				delete(h, k)
			}
		}
		return h
	}
	good := forge(t, header(nil), f.claims(nil), rs256(t, f.priv))
	idToken, err := f.iss.SignIDToken(f.claims(map[string]any{"aud": testAudience}))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")

	for _, tc := range []struct {
		name, token, reason string
	}{
		{"alg none", forge(t, header(map[string]any{"alg": "none"}), f.claims(nil), func([]byte) []byte { return nil }), "alg"},
		{"alg none with signature", forge(t, header(map[string]any{"alg": "none"}), f.claims(nil), rs256(t, f.priv)), "alg"},
		{"HS256 keyed with the public key (PKIX DER)", forge(t, header(map[string]any{"alg": "HS256"}), f.claims(nil), hs256(pubDER)), "alg"},
		{"HS256 keyed with the public key (PEM)", forge(t, header(map[string]any{"alg": "HS256"}), f.claims(nil), hs256(pubPEM)), "alg"},
		{"RS512", forge(t, header(map[string]any{"alg": "RS512"}), f.claims(nil), func(in []byte) []byte {
			sum := sha512.Sum512(in)
			sig, _ := rsa.SignPKCS1v15(rand.Reader, f.priv, crypto.SHA512, sum[:])
			return sig
		}), "alg"},
		{"expired", forge(t, header(nil), f.claims(map[string]any{"exp": now - 1}), rs256(t, f.priv)), "expired"},
		{"expires this second", forge(t, header(nil), f.claims(map[string]any{"exp": now}), rs256(t, f.priv)), "expired"},
		{"no exp", forge(t, header(nil), f.claims(map[string]any{"exp": nil}), rs256(t, f.priv)), "no exp"},
		{"exp is a string", forge(t, header(nil), f.claims(map[string]any{"exp": "9999999999"}), rs256(t, f.priv)), "exp is not a number"},
		{"iat in the future", forge(t, header(nil), f.claims(map[string]any{"iat": now + 61}), rs256(t, f.priv)), "iat is in the future"},
		{"nbf in the future", forge(t, header(nil), f.claims(map[string]any{"nbf": now + 120}), rs256(t, f.priv)), "nbf is in the future"},
		{"wrong iss", forge(t, header(nil), f.claims(map[string]any{"iss": "https://evil.example.com/"}), rs256(t, f.priv)), "wrong issuer"},
		{"iss without slash", forge(t, header(nil), f.claims(map[string]any{"iss": strings.TrimSuffix(testIssuer, "/")}), rs256(t, f.priv)), "wrong issuer"},
		{"no iss", forge(t, header(nil), f.claims(map[string]any{"iss": nil}), rs256(t, f.priv)), "wrong issuer"},
		{"wrong aud", forge(t, header(nil), f.claims(map[string]any{"aud": "https://other.example.com"}), rs256(t, f.priv)), "wrong audience"},
		{"aud array without ours", forge(t, header(nil), f.claims(map[string]any{"aud": []string{"a", "b"}}), rs256(t, f.priv)), "wrong audience"},
		{"no aud", forge(t, header(nil), f.claims(map[string]any{"aud": nil}), rs256(t, f.priv)), "wrong audience"},
		{"unknown kid", forge(t, header(map[string]any{"kid": "no-such-key"}), f.claims(nil), rs256(t, f.priv)), "unknown kid"},
		{"no kid", forge(t, header(map[string]any{"kid": nil}), f.claims(nil), rs256(t, f.priv)), "no kid"},
		{"our kid, another key", forge(t, header(nil), f.claims(nil), rs256(t, otherKey)), "bad signature"},
		{"tampered payload", parts[0] + "." + b64(mustJSON(t, f.claims(map[string]any{"sub": "auth0|admin"}))) + "." + parts[2], "bad signature"},
		{"truncated signature", good[:len(good)-4], "bad signature"},
		{"ID token", idToken, `typ "JWT" is not at+jwt`},
		{"no typ", forge(t, header(map[string]any{"typ": nil}), f.claims(nil), rs256(t, f.priv)), "is not at+jwt"},
		{"payload not an object", forge(t, header(nil), nil, rs256(t, f.priv)), "not a JSON object"},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, "malformed"},
		{"garbage", "not.a.token", "malformed"},
		{"empty", "", "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims, err := f.iss.VerifyAccessToken(context.Background(), tc.token, testAudience)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("VerifyAccessToken = %v, %v; want ErrInvalidToken", claims, err)
			}
			if claims != nil {
				t.Fatalf("claims returned with an error: %v", claims)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("error %q does not say %q", err, tc.reason)
			}
		})
	}

	// The good token was good: the rejections above are for their own reasons.
	if _, err := f.iss.VerifyAccessToken(context.Background(), good, testAudience); err != nil {
		t.Fatal(err)
	}
	// Time passes: the same token expires.
	f.clock.Advance(time.Hour)
	if _, err := f.iss.VerifyAccessToken(context.Background(), good, testAudience); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("an hour later: %v, want expired", err)
	}
	// An empty audience is the caller's bug, not the token's.
	if _, err := f.iss.VerifyAccessToken(context.Background(), good, ""); err == nil || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("empty audience: %v", err)
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// idTokenClaims is a typical ID token for a database user (AUTH0-COMPAT §1.3).
func idTokenClaims(now time.Time) map[string]any {
	return map[string]any{
		"nickname": "jane", "name": "jane@example.com", "picture": "https://s.gravatar.com/avatar/x.png",
		"updated_at": "2024-03-01T12:00:00.000Z", "email": "jane@example.com", "email_verified": true,
		"aud": "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6", "iat": now.Unix(), "exp": now.Unix() + 36000,
		"sub": "auth0|0123456789abcdef01234567", "sid": "s3ss10n", "nonce": "n0nc3",
		"auth_time": now.Unix(), "https://example.com/roles": []any{"admin", "user"},
	}
}

func BenchmarkSignIDToken(b *testing.B) {
	f := newIssuerFixture(b)
	claims := idTokenClaims(f.clock.Now())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.iss.SignIDToken(claims); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyAccessToken measures the full check of a token seen for the first time
// ("first") and the check of one remembered from an earlier call ("cached").
func BenchmarkVerifyAccessToken(b *testing.B) {
	f := newIssuerFixture(b)
	token, err := f.iss.SignAccessToken(f.claims(map[string]any{"iss": nil}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for name, verify := range map[string]func(context.Context, string, string) (map[string]any, error){
		"first": f.iss.verify, "cached": f.iss.VerifyAccessToken,
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := verify(ctx, token, testAudience); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A remembered verification is a copy, re-checks expiry, is per audience, and is forgotten
// when the keys change (here: the signing key is revoked).
func TestVerifiedCache(t *testing.T) {
	f := newIssuerFixture(t)
	ctx := context.Background()
	token, err := f.iss.SignAccessToken(f.claims(map[string]any{"iss": nil}))
	if err != nil {
		t.Fatal(err)
	}
	first, err := f.iss.VerifyAccessToken(ctx, token, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	first["sub"] = "changed by the caller"
	second, err := f.iss.VerifyAccessToken(ctx, token, testAudience)
	if err != nil || second["sub"] != "auth0|0123456789abcdef01234567" {
		t.Fatalf("second verification: %v %v", second, err)
	}
	if _, err := f.iss.VerifyAccessToken(ctx, token, "https://other.example.com"); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("cached token accepted for another audience: %v", err)
	}

	f.clock.Advance(2 * time.Hour)
	if _, err := f.iss.VerifyAccessToken(ctx, token, testAudience); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("expired token accepted from the cache: %v", err)
	}
	f.clock.Advance(-2 * time.Hour)
	if _, err := f.iss.VerifyAccessToken(ctx, token, testAudience); err != nil {
		t.Fatalf("before expiry again: %v", err)
	}

	store := f.keys.store.(*fakeKeys)
	if _, err := store.UpdateSigningKey(ctx, f.kid, func(k storage.SigningKey) (storage.SigningKey, error) {
		k.State = storage.KeyRevoked
		return k, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.keys.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.iss.VerifyAccessToken(ctx, token, testAudience); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("token of a revoked key accepted from the cache: %v", err)
	}
}
