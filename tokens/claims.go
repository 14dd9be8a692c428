package tokens

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/latchauth/latch/storage"
)

// MaxCustomClaimsBytes is Auth0's budget for the custom claims of one token; over it the
// transaction fails (AUTH0-COMPAT §3.7).
const MaxCustomClaimsBytes = 100 * 1024

// isoMillis is Auth0's timestamp format: UTC, milliseconds, "Z".
const isoMillis = "2006-01-02T15:04:05.000Z"

// UserClaims returns the OIDC standard claims of u that scopes ask for (AUTH0-COMPAT §1.3).
// sub is always there. profile gives name, family_name, given_name, nickname, picture and
// updated_at (an ISO-8601 string with milliseconds, as Auth0 sends it, not epoch seconds);
// email gives email and email_verified; phone gives phone_number and
// phone_number_verified. Empty values are left out rather than sent as "" (a user without
// an email gets no email_verified either).
func UserClaims(u storage.User, scopes []string) map[string]any {
	c := map[string]any{"sub": u.ID}
	if HasScope(scopes, "profile") {
		putString(c, "name", u.Name)
		putString(c, "family_name", u.FamilyName)
		putString(c, "given_name", u.GivenName)
		putString(c, "nickname", u.Nickname)
		putString(c, "picture", u.Picture)
		if !u.UpdatedAt.IsZero() {
			c["updated_at"] = FormatTime(u.UpdatedAt)
		}
	}
	if HasScope(scopes, "email") && u.Email != "" {
		c["email"] = u.Email
		c["email_verified"] = u.EmailVerified
	}
	if HasScope(scopes, "phone") && u.PhoneNumber != "" {
		c["phone_number"] = u.PhoneNumber
		c["phone_number_verified"] = u.PhoneVerified
	}
	return c
}

func putString(c map[string]any, name, v string) {
	if v != "" {
		c[name] = v
	}
}

// FormatTime renders t the way Auth0 renders timestamps: "2023-11-15T14:30:00.000Z".
func FormatTime(t time.Time) string { return t.UTC().Format(isoMillis) }

// restricted are the claims no rule may set (AUTH0-COMPAT §3.7): setting them is silently
// ignored, the transaction goes on.
var restricted = setOf(
	"acr", "act", "active", "amr", "at_hash", "ath", "attest", "aud", "auth_time",
	"authorization_details", "azp", "c_hash", "client_id", "cnf", "cty", "dest",
	"entitlements", "events", "exp", "groups", "gty", "htm", "htu", "iat", "internalService",
	"iss", "jcard", "jku", "jti", "jwe", "jwk", "kid", "may_act", "mky", "nbf", "nonce",
	"object_id", "org_id", "org_name", "orig", "origid", "permissions", "roles", "rph",
	"s_hash", "sid", "sip_callid", "sip_cseq_num", "sip_date", "sip_from_tag",
	"sip_via_branch", "sub", "sub_jwk", "toe", "txn", "typ", "uuid", "vot", "vtm", "x5t#S256",
)

// standardScope maps each overridable standard claim to the scope that must be granted for
// a rule-set value of it to reach a token (AUTH0-COMPAT §1.3, §3.7).
var standardScope = scopeOf(map[string][]string{
	"email": {"email", "email_verified"},
	"profile": {"name", "family_name", "given_name", "middle_name", "nickname", "picture",
		"updated_at", "profile", "website", "gender", "birthdate", "zoneinfo", "locale",
		"preferred_username"},
	"phone":   {"phone_number", "phone_number_verified"},
	"address": {"address"},
})

func scopeOf(claimsByScope map[string][]string) map[string]string {
	m := map[string]string{}
	for scope, claims := range claimsByScope {
		for _, c := range claims {
			m[c] = scope
		}
	}
	return m
}

// reservedNamespaceDomains may not host a claim namespace: claims there are Auth0's own.
var reservedNamespaceDomains = []string{"auth0.com", "webtask.io", "webtask.run"}

func setOf(names ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(names))
	for _, n := range names {
		m[n] = struct{}{}
	}
	return m
}

// IsRestrictedClaim says whether a rule may not set the claim (AUTH0-COMPAT §3.7).
// Names are case-sensitive, as JWT claim names are.
func IsRestrictedClaim(name string) bool {
	_, ok := restricted[name]
	return ok
}

// RestrictedClaims returns the restricted claim names, sorted; a copy, for documentation
// and for other packages' checks.
func RestrictedClaims() []string {
	names := make([]string, 0, len(restricted))
	for n := range restricted {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// StandardClaimScope returns the scope that an overridable standard claim needs, and
// whether name is one.
func StandardClaimScope(name string) (scope string, ok bool) {
	scope, ok = standardScope[name]
	return scope, ok
}

// IsNamespaced says whether a claim name is an http(s) URL namespace, like
// "https://example.com/roles". Tokens for Auth0's own APIs (the Management API) may carry
// only namespaced custom claims (AUTH0-COMPAT §3.7); that check belongs to the caller, who
// knows the audience.
func IsNamespaced(name string) bool {
	_, ok := namespaceHost(name)
	return ok
}

// namespaceHost returns the host of an http(s) claim namespace.
func namespaceHost(name string) (string, bool) {
	lower := strings.ToLower(name)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
		return "", false
	}
	u, err := url.Parse(name)
	if err != nil || u.Hostname() == "" {
		return "", false
	}
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), true
}

// FilterCustomClaims applies Auth0's claim policy to the claims a rule set
// (AUTH0-COMPAT §1.3, §3.7) and returns those a token may carry, plus the names it dropped
// (sorted), for the log. Dropped are: restricted claims; overridable standard claims whose
// scope was not granted; claims namespaced on auth0.com, webtask.io or webtask.run (or
// their subdomains); names starting with "urn:auth0". Kept are other namespaced claims,
// plain (non-namespaced) claims, and standard claims whose scope was granted. Values are
// not copied; custom is not modified.
func FilterCustomClaims(custom map[string]any, scopes []string) (kept map[string]any, dropped []string) {
	kept = make(map[string]any, len(custom))
	for name, v := range custom {
		if allowedCustomClaim(name, scopes) {
			kept[name] = v
		} else {
			dropped = append(dropped, name)
		}
	}
	sort.Strings(dropped)
	return kept, dropped
}

func allowedCustomClaim(name string, scopes []string) bool {
	if IsRestrictedClaim(name) {
		return false
	}
	if scope, ok := standardScope[name]; ok {
		return HasScope(scopes, scope)
	}
	if strings.HasPrefix(strings.ToLower(name), "urn:auth0") {
		return false
	}
	if host, ok := namespaceHost(name); ok {
		for _, d := range reservedNamespaceDomains {
			if host == d || strings.HasSuffix(host, "."+d) {
				return false
			}
		}
	}
	return true
}

// CustomClaimsSize is the size in bytes of the claims encoded as a JSON object, the
// measure MaxCustomClaimsBytes applies to. Claims that cannot be encoded (a NaN, a
// channel) give math.MaxInt, so the size check fails closed.
func CustomClaimsSize(custom map[string]any) int {
	b, err := json.Marshal(custom)
	if err != nil {
		return math.MaxInt
	}
	return len(b)
}

// ParseScope splits a space-separated scope string into scopes, without duplicates, in
// the order first given. Any run of white space separates.
func ParseScope(s string) []string {
	fields := strings.Fields(s)
	seen := make(map[string]struct{}, len(fields)) // a map: the string comes from a request
	out := fields[:0]
	for _, f := range fields {
		if _, dup := seen[f]; !dup {
			seen[f] = struct{}{}
			out = append(out, f)
		}
	}
	return out
}

// HasScope says whether scopes contain scope.
func HasScope(scopes []string, scope string) bool { return slices.Contains(scopes, scope) }

// HalfHash is the at_hash (or c_hash) of a token signed with a SHA-256 algorithm (RS256,
// ES256): the left half of the SHA-256 of its ASCII form, base64url without padding (OIDC
// Core §3.1.3.6).
func HalfHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
