package importhash

import (
	"fmt"
	"strconv"
	"strings"
)

// phc is a hash in the PHC string format: $id[$v=version][$param=value,...]$salt$hash, with
// salt and hash in base64 without padding.
type phc struct {
	id      string
	version string // "" when absent
	params  map[string]int
	salt    []byte
	hash    []byte
}

// parsePHC splits and decodes a PHC string. allowed are the parameter names the algorithm
// knows; each may appear once, with a non-negative decimal value.
func parsePHC(value, field string, allowed ...string) (phc, error) {
	var h phc
	parts := strings.Split(value, "$")
	if len(parts) < 4 || parts[0] != "" || parts[1] == "" {
		return h, fieldErr(field, "must be a PHC string: $id$params$salt$hash")
	}
	h.id = parts[1]
	rest := parts[2:]
	if v, ok := strings.CutPrefix(rest[0], "v="); ok && len(rest) > 2 {
		h.version = v
		rest = rest[1:]
	}
	switch len(rest) {
	case 2: // no parameters
	case 3:
		params, err := parsePHCParams(rest[0], field, allowed)
		if err != nil {
			return h, err
		}
		h.params = params
		rest = rest[1:]
	default:
		return h, fieldErr(field, "must be a PHC string: $id$params$salt$hash")
	}
	var err error
	if h.salt, err = decodeBase64(rest[0]); err != nil {
		return h, fieldErr(field, "has a salt that is not valid base64")
	}
	if h.hash, err = decodeBase64(rest[1]); err != nil {
		return h, fieldErr(field, "has a hash that is not valid base64")
	}
	if len(h.salt) > MaxSaltBytes {
		return h, fieldErr(field, fmt.Sprintf("has a salt of %d bytes; latch accepts at most %d", len(h.salt), MaxSaltBytes))
	}
	return h, nil
}

func parsePHCParams(s, field string, allowed []string) (map[string]int, error) {
	params := map[string]int{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fieldErr(field, fmt.Sprintf("has a malformed parameter %q (expected name=value)", kv))
		}
		known := false
		for _, a := range allowed {
			known = known || a == k
		}
		if !known {
			return nil, fieldErr(field, fmt.Sprintf("has the parameter %q, which latch does not support (it reads %s)", k, strings.Join(allowed, ", ")))
		}
		if _, dup := params[k]; dup {
			return nil, fieldErr(field, fmt.Sprintf("has the parameter %q twice", k))
		}
		if v == "" || strings.TrimLeft(v, "0123456789") != "" {
			return nil, fieldErr(field, fmt.Sprintf("has %s=%q, which is not a non-negative integer", k, v))
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil, fieldErr(field, fmt.Sprintf("has %s=%s, which is far too large", k, v))
		}
		params[k] = int(n)
	}
	return params, nil
}

// argon2 reads $argon2i$ and $argon2id$ strings of version 19 (0x13), the only version
// golang.org/x/crypto/argon2 computes; argon2d and version 16 are refused.
func (p *parser) argon2() error {
	if err := p.noSalt(); err != nil {
		return err
	}
	if err := p.textValue(); err != nil {
		return err
	}
	field := p.hash.field("value")
	h, err := parsePHC(p.value, field, "m", "t", "p")
	if err != nil {
		return err
	}
	switch h.id {
	case "argon2i", "argon2id":
	case "argon2d":
		return fieldErr(field, "is an argon2d hash, which latch does not support (argon2i and argon2id are supported)")
	default:
		return fieldErr(field, fmt.Sprintf("must start with $argon2i$ or $argon2id$ (got $%s$)", h.id))
	}
	switch h.version {
	case "19":
	case "", "16":
		return fieldErr(field, "uses argon2 version 16 (v=16 or no v=), which latch does not support (only v=19)")
	default:
		return fieldErr(field, fmt.Sprintf("has v=%s; latch supports argon2 version 19 only", h.version))
	}
	for _, k := range []string{"m", "t", "p"} {
		if _, ok := h.params[k]; !ok {
			return fieldErr(field, "must have the parameters m, t and p")
		}
	}
	if len(h.salt) == 0 {
		return fieldErr(field, "must have a salt")
	}
	if err := checkDerivedLen(len(h.hash), field); err != nil {
		return err
	}
	if err := checkArgon2(h.params["m"], h.params["t"], h.params["p"]); err != nil {
		return err
	}
	p.s.Variant = h.id
	p.s.Memory, p.s.Iterations, p.s.Threads = h.params["m"], h.params["t"], h.params["p"]
	p.s.Salt, p.s.Hash = h.salt, h.hash
	return nil
}

// pbkdf2Digests maps the digest names Auth0 accepts after "pbkdf2-" (OpenSSL's names, in
// lower case) to latch's. mdc2 and whirlpool are left out: latch cannot compute them.
var pbkdf2Digests = map[string]string{
	"rsa-md4": "md4", "md4": "md4", "md4withrsaencryption": "md4",
	"rsa-md5": "md5", "md5": "md5", "md5withrsaencryption": "md5", "ssl3-md5": "md5",
	"rsa-ripemd160": "ripemd160", "ripemd": "ripemd160", "ripemd160": "ripemd160", "ripemd160withrsa": "ripemd160", "rmd160": "ripemd160",
	"rsa-sha1": "sha1", "rsa-sha1-2": "sha1", "sha1": "sha1", "sha1withrsaencryption": "sha1", "ssl3-sha1": "sha1",
	"rsa-sha224": "sha224", "sha224": "sha224", "sha224withrsaencryption": "sha224",
	"rsa-sha256": "sha256", "sha256": "sha256", "sha256withrsaencryption": "sha256",
	"rsa-sha384": "sha384", "sha384": "sha384", "sha384withrsaencryption": "sha384",
	"rsa-sha512": "sha512", "sha512": "sha512", "sha512withrsaencryption": "sha512",
}

// defaultPBKDF2Iterations is Auth0's i when the string has none.
const defaultPBKDF2Iterations = 100000

// pbkdf2 reads $pbkdf2-<digest>$i=…,l=…$salt$hash. Without l, the key length is the hash's
// (Auth0's default l=64 describes the same 64-byte hashes); with it, the two must agree.
func (p *parser) pbkdf2() error {
	if err := p.noSalt(); err != nil {
		return err
	}
	if err := p.textValue(); err != nil {
		return err
	}
	field := p.hash.field("value")
	h, err := parsePHC(p.value, field, "i", "l")
	if err != nil {
		return err
	}
	name, ok := strings.CutPrefix(strings.ToLower(h.id), "pbkdf2-")
	if !ok {
		return fieldErr(field, fmt.Sprintf("must start with $pbkdf2-<digest>$ (got $%s$)", h.id))
	}
	if h.version != "" {
		return fieldErr(field, "has a v= parameter, which pbkdf2 does not have")
	}
	digest, ok := pbkdf2Digests[name]
	switch {
	case !ok && (name == "whirlpool" || strings.Contains(name, "mdc2")):
		return fieldErr(field, fmt.Sprintf("uses the digest %s, which latch does not support for pbkdf2 (md4, md5, ripemd160, sha1, sha224, sha256, sha384 and sha512 are supported)", name))
	case !ok:
		return fieldErr(field, fmt.Sprintf("uses an unknown digest %q; use one of md4, md5, ripemd160, sha1, sha224, sha256, sha384, sha512", name))
	}
	iterations, ok := h.params["i"]
	if !ok {
		iterations = defaultPBKDF2Iterations
	}
	if l, ok := h.params["l"]; ok && l != len(h.hash) {
		return fieldErr(field, fmt.Sprintf("has l=%d but its hash is %d bytes long", l, len(h.hash)))
	}
	if err := checkPBKDF2(iterations, len(h.hash), digests[digest].size); err != nil {
		return err
	}
	p.s.Digest = digest
	p.s.Iterations = iterations
	p.s.Salt, p.s.Hash = h.salt, h.hash
	return nil
}
