package tokens

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/internal/memo"
)

// ErrInvalidToken is wrapped by every error that means "this token is not acceptable"
// (as opposed to a server fault); callers answer 401 for it. The message after the colon
// says why, for logs.
var ErrInvalidToken = errors.New("invalid token")

// FutureLeeway is how far in the future iat and nbf may lie, for clocks of other instances
// that run a little ahead. exp gets no leeway: an expired token is expired.
const FutureLeeway = 60 * time.Second

// Header typ values. RFC 9068 names access tokens "at+jwt" so that an ID token, which a
// client may pass around freely, can never be replayed as an access token.
const (
	typIDToken     = "JWT"
	typAccessToken = "at+jwt"
)

// Issuer signs ID and access tokens with the KeySet's current key and verifies access
// tokens. It is safe for concurrent use.
type Issuer struct {
	url  string
	keys *KeySet

	// Now is the clock for verification; tests set it. Set it before first use.
	Now func() time.Time

	verified *memo.Map[string, verifiedEntry]
}

// verifiedCacheSize bounds how many verified tokens are remembered; at about 2 KB each
// (token and claims) that is a few MiB at most.
const verifiedCacheSize = 2048

// verifiedEntry is a token that passed verification against one key snapshot. Remembering
// it lets a client that calls /userinfo or the Management API again and again with one
// token pay for the RSA check and the parsing once; a hit still re-checks the times.
type verifiedEntry struct {
	claims map[string]any
	snap   *keySnapshot
}

// NewIssuer returns an Issuer for issuerURL, which is given a trailing "/" if it lacks
// one: Auth0 SDKs compare iss with "https://DOMAIN/" exactly (AUTH0-COMPAT §0.1).
func NewIssuer(issuerURL string, keys *KeySet) *Issuer {
	if !strings.HasSuffix(issuerURL, "/") {
		issuerURL += "/"
	}
	return &Issuer{url: issuerURL, keys: keys, Now: time.Now, verified: memo.New[string, verifiedEntry](verifiedCacheSize)}
}

// URL returns the issuer identifier, with its trailing slash.
func (i *Issuer) URL() string { return i.url }

// SignIDToken signs claims as an ID token: RS256, header kid and typ "JWT". iss is set to
// the issuer URL (claims carrying another iss are refused). claims must hold exp; the other
// claims (sub, aud, iat, nonce, ...) are the caller's. The map is not modified.
func (i *Issuer) SignIDToken(claims map[string]any) (string, error) {
	return i.sign(claims, typIDToken)
}

// SignAccessToken signs claims as an access token: RS256, header kid and typ "at+jwt",
// with the same rules as SignIDToken.
func (i *Issuer) SignAccessToken(claims map[string]any) (string, error) {
	return i.sign(claims, typAccessToken)
}

func (i *Issuer) sign(claims map[string]any, typ string) (string, error) {
	if iss, ok := claims["iss"]; ok && iss != i.url {
		return "", fmt.Errorf("tokens: claims carry iss %v, but this issuer is %s", iss, i.url)
	}
	if _, ok := claims["exp"]; !ok {
		// A token without exp would be valid forever.
		return "", errors.New("tokens: claims have no exp")
	}
	key, err := i.keys.currentSigner()
	if err != nil {
		return "", err
	}
	withIss := maps.Clone(claims)
	if withIss == nil {
		withIss = map[string]any{}
	}
	withIss["iss"] = i.url
	payload, err := json.Marshal(withIss)
	if err != nil {
		return "", fmt.Errorf("tokens: encoding claims: %w", err)
	}
	signer := key.idToken
	if typ == typAccessToken {
		signer = key.atToken
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("tokens: signing: %w", err)
	}
	return jws.CompactSerialize()
}

// acceptedAlgs is the whole list on purpose: go-jose refuses any other alg header while
// parsing, so "none" and HS256 keyed with our public key never reach a verifier.
var acceptedAlgs = []jose.SignatureAlgorithm{jose.RS256}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
}

// VerifyAccessToken checks an access token issued by this issuer for audience and returns
// its claims. It requires: compact JWS with alg RS256, header typ at+jwt, a kid that names
// a published key (an unknown kid may reload the keys, see KeySet), a valid signature,
// iss equal to the issuer URL, aud (a string or an array) containing audience, exp in the
// future, and iat and nbf, when present, no more than FutureLeeway ahead.
//
// Claims are decoded with json.Decoder.UseNumber: numbers are json.Number (as in
// storage.Metadata), so integers such as exp or custom numeric claims stay exact.
//
// Errors that mean the token is unacceptable wrap ErrInvalidToken.
func (i *Issuer) VerifyAccessToken(ctx context.Context, token, audience string) (map[string]any, error) {
	if audience == "" {
		return nil, errors.New("tokens: VerifyAccessToken needs an audience")
	}
	snap := i.keys.snap.Load()
	cacheKey := audience + "\x00" + token
	if e, ok := i.verified.Get(cacheKey); ok && e.snap == snap {
		if err := checkTimes(e.claims, i.Now()); err != nil {
			return nil, err
		}
		return maps.Clone(e.claims), nil
	}
	claims, err := i.verify(ctx, token, audience)
	if err != nil {
		return nil, err
	}
	// Remember the result against the key snapshot it was checked with; a reload that
	// changes the keys (rotation, revocation) makes every remembered result stale.
	if i.keys.snap.Load() == snap {
		i.verified.Put(cacheKey, verifiedEntry{claims: claims, snap: snap})
	}
	return maps.Clone(claims), nil
}

// VerifyIDTokenHint checks an ID token that a client passes back as id_token_hint (OIDC
// RP-Initiated Logout §2): signed by one of this issuer's published keys, with this
// issuer's iss and the ID token typ. It may have expired — a hint names who logs out, it
// grants nothing. It returns the claims.
func (i *Issuer) VerifyIDTokenHint(ctx context.Context, token string) (map[string]any, error) {
	return i.verifySigned(ctx, token, typIDToken, func(typ string) bool { return typ == typIDToken })
}

// verify does the full check of VerifyAccessToken.
func (i *Issuer) verify(ctx context.Context, token, audience string) (map[string]any, error) {
	claims, err := i.verifySigned(ctx, token, typAccessToken, isAccessTokenType)
	if err != nil {
		return nil, err
	}
	if !hasAudience(claims["aud"], audience) {
		return nil, invalid("wrong audience")
	}
	if err := checkTimes(claims, i.Now()); err != nil {
		return nil, err
	}
	return claims, nil
}

// verifySigned checks the signature, the typ header and the issuer, and decodes the claims.
func (i *Issuer) verifySigned(ctx context.Context, token, wantTyp string, typOK func(string) bool) (map[string]any, error) {
	jws, err := jose.ParseSignedCompact(token, acceptedAlgs)
	if err != nil {
		return nil, invalid("malformed, or alg is not RS256")
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("not exactly one signature")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !typOK(typ) {
		return nil, invalid("typ %q is not %s", typ, wantTyp)
	}
	if h.KeyID == "" {
		return nil, invalid("no kid")
	}
	pub, err := i.keys.verificationKey(ctx, h.KeyID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		return nil, invalid("bad signature")
	}

	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil || dec.More() {
		return nil, invalid("payload is not a JSON object")
	}
	if iss, _ := claims["iss"].(string); iss != i.url {
		return nil, invalid("wrong issuer")
	}
	return claims, nil
}

// isAccessTokenType accepts "at+jwt" and its long form "application/at+jwt",
// case-insensitively, as RFC 9068 §4 and RFC 7515 §4.1.9 allow.
func isAccessTokenType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == typAccessToken || typ == "application/"+typAccessToken
}

func hasAudience(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, v := range a {
			if s, ok := v.(string); ok && s == want {
				return true
			}
		}
	}
	return false
}

func checkTimes(claims map[string]any, now time.Time) error {
	t := float64(now.UnixNano()) / 1e9
	exp, ok, err := numericDate(claims, "exp")
	switch {
	case err != nil:
		return err
	case !ok:
		return invalid("no exp")
	case t >= exp:
		return invalid("expired")
	}
	ahead := t + FutureLeeway.Seconds()
	for _, name := range []string{"nbf", "iat"} {
		v, ok, err := numericDate(claims, name)
		if err != nil {
			return err
		}
		if ok && v > ahead {
			return invalid("%s is in the future", name)
		}
	}
	return nil
}

// numericDate reads an RFC 7519 NumericDate (seconds, possibly fractional).
func numericDate(claims map[string]any, name string) (float64, bool, error) {
	v, ok := claims[name]
	if !ok {
		return 0, false, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return 0, false, invalid("%s is not a number", name)
	}
	f, err := n.Float64()
	if err != nil {
		return 0, false, invalid("%s is not a number", name)
	}
	return f, true, nil
}
