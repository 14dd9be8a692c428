package importhash

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// algorithms are the custom_password_hash algorithms, in the order Auth0 lists them.
var algorithms = []string{"argon2", "bcrypt", "hmac", "ldap", "md4", "md5", "sha1", "sha256", "sha512", "pbkdf2", "scrypt"}

// hmacDigests are hash.digest's values that latch computes, in Auth0's order.
var hmacDigests = []string{"md4", "md5", "ripemd160", "sha1", "sha224", "sha256", "sha384", "sha512"}

const binaryEncodings = "hex, base64, base64url"

// Scrypt's defaults, as Auth0 documents them.
const (
	defaultScryptCost            = 16384
	defaultScryptBlockSize       = 8
	defaultScryptParallelization = 1
)

// object is one JSON object of the input and its path, for error messages.
type object struct {
	path string
	m    map[string]json.RawMessage
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// parseObject decodes raw as a JSON object whose keys are all allowed. present is false
// when raw is absent or null, which the input may use for an absent field.
func parseObject(raw json.RawMessage, path string, allowed ...string) (o object, present bool, err error) {
	o.path = path
	if isNull(raw) {
		return o, false, nil
	}
	if err := json.Unmarshal(raw, &o.m); err != nil {
		return o, false, fieldErr(path, "must be a JSON object")
	}
	for _, k := range slices.Sorted(maps.Keys(o.m)) {
		if !slices.Contains(allowed, k) {
			return o, false, fieldErr(path, fmt.Sprintf("has an unknown field %q (its fields are %s)", k, strings.Join(allowed, ", ")))
		}
	}
	return o, true, nil
}

func (o object) field(k string) string { return o.path + "." + k }

func (o object) has(k string) bool { return !isNull(o.m[k]) }

// str returns a string field; ok is false when it is absent or null.
func (o object) str(k string) (s string, ok bool, err error) {
	if !o.has(k) {
		return "", false, nil
	}
	if err := json.Unmarshal(o.m[k], &s); err != nil {
		return "", false, fieldErr(o.field(k), "must be a string")
	}
	return s, true, nil
}

// integer returns an integer field, or def when it is absent or null.
func (o object) integer(k string, def int) (int, error) {
	if !o.has(k) {
		return def, nil
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(o.m[k])), 10, 32)
	if errors.Is(err, strconv.ErrRange) {
		return 0, fieldErr(o.field(k), "is far too large")
	}
	if err != nil {
		return 0, fieldErr(o.field(k), "must be an integer")
	}
	return int(n), nil
}

// encoding returns an encoding field in lower case, def when absent, and checks that it is
// one of allowed (a comma-separated list).
func (o object) encoding(k, def, allowed, forWhat string) (string, error) {
	enc, ok, err := o.str(k)
	if err != nil {
		return "", err
	}
	if !ok {
		if def == "" {
			return "", fieldErr(o.field(k), "is required"+forWhat+" (one of "+allowed+")")
		}
		return def, nil
	}
	enc = strings.ToLower(enc)
	// Node.js, where most of these hashes were made, also spells these two with a hyphen.
	switch enc {
	case "utf-8":
		enc = "utf8"
	case "utf-16le":
		enc = "utf16le"
	}
	if !slices.Contains(strings.Split(allowed, ", "), enc) {
		if !strings.Contains(allowed, ",") {
			return "", fieldErr(o.field(k), "must be "+allowed+forWhat)
		}
		return "", fieldErr(o.field(k), "must be one of "+allowed+forWhat)
	}
	return enc, nil
}

// decodeBytes decodes a value in encoding: hex in either case; base64 (or base64url) in
// either alphabet, padded or not, as Auth0 reads it; utf8 as the bytes of the string.
func decodeBytes(value, encoding string) ([]byte, error) {
	switch encoding {
	case "utf8":
		return []byte(value), nil
	case "hex":
		return hex.DecodeString(value)
	case "base64", "base64url":
		return decodeBase64(value)
	}
	return nil, fmt.Errorf("unknown encoding %q", encoding)
}

// decodeBase64 accepts the standard and URL-safe alphabets, with or without padding, but
// not a mix of the two alphabets nor line breaks (which Go's decoder would skip silently).
func decodeBase64(v string) ([]byte, error) {
	if strings.ContainsAny(v, "\r\n") || (strings.ContainsAny(v, "+/") && strings.ContainsAny(v, "-_")) {
		return nil, errors.New("not base64")
	}
	v = strings.TrimRight(v, "=")
	if strings.ContainsAny(v, "-_") {
		return base64.RawURLEncoding.DecodeString(v)
	}
	return base64.RawStdEncoding.DecodeString(v)
}

// decodeField decodes the string field k of o in encoding, naming the field on failure.
func decodeField(o object, k, value, encoding string) ([]byte, error) {
	b, err := decodeBytes(value, encoding)
	if err != nil {
		return nil, fieldErr(o.field(k), "is not valid "+encoding)
	}
	return b, nil
}

// parseCustom reads a custom_password_hash object into a spec. Each check names the field
// it refuses, because the import job shows the message per user.
func parseCustom(raw json.RawMessage) (spec, error) {
	if len(raw) > MaxObjectBytes {
		return spec{}, fieldErr(root, fmt.Sprintf("is %d bytes long; latch accepts at most %d", len(raw), MaxObjectBytes))
	}
	if !json.Valid(raw) {
		return spec{}, fieldErr(root, "is not valid JSON")
	}
	top, present, err := parseObject(raw, root, "algorithm", "hash", "salt", "password", "keylen", "cost", "blockSize", "parallelization")
	if err != nil {
		return spec{}, err
	}
	if !present {
		return spec{}, fieldErr(root, "must be a JSON object")
	}
	alg, ok, err := top.str("algorithm")
	if err != nil {
		return spec{}, err
	}
	if !ok {
		return spec{}, fieldErr(top.field("algorithm"), "is required (one of "+strings.Join(algorithms, ", ")+")")
	}
	if !slices.Contains(algorithms, strings.ToLower(alg)) {
		return spec{}, fieldErr(top.field("algorithm"), fmt.Sprintf("must be one of %s (got %q)", strings.Join(algorithms, ", "), alg))
	}
	p := parser{top: top, s: spec{Alg: strings.ToLower(alg)}}
	if err := p.common(); err != nil {
		return spec{}, err
	}
	switch p.s.Alg {
	case algArgon2:
		err = p.argon2()
	case algBcrypt:
		err = p.bcrypt()
	case algHMAC:
		err = p.hmac()
	case algLDAP:
		err = p.ldap()
	case algPBKDF2:
		err = p.pbkdf2()
	case algScrypt:
		err = p.scrypt()
	default:
		err = p.plain()
	}
	if err != nil {
		return spec{}, err
	}
	return p.s, nil
}

// parser holds what every algorithm reads: the hash object, its value, and the salt.
type parser struct {
	top       object
	hash      object
	value     string // hash.value
	salt      []byte // decoded salt.value, nil when there is no salt
	saltField string // salt, when present
	s         spec
}

func (p *parser) common() error {
	var present bool
	var err error
	p.hash, present, err = parseObject(p.top.m["hash"], p.top.field("hash"), "value", "encoding", "digest", "key")
	if err != nil {
		return err
	}
	if !present {
		return fieldErr(p.top.field("hash"), "is required")
	}
	value, ok, err := p.hash.str("value")
	if err != nil {
		return err
	}
	if !ok || value == "" {
		return fieldErr(p.hash.field("value"), "is required")
	}
	p.value = value
	if p.s.Alg != algHMAC {
		for _, k := range []string{"digest", "key"} {
			if p.hash.has(k) {
				return fieldErr(p.hash.field(k), "is only used with algorithm hmac")
			}
		}
	}

	pw, _, err := parseObject(p.top.m["password"], p.top.field("password"), "encoding")
	if err != nil {
		return err
	}
	enc, err := pw.encoding("encoding", "utf8", "ascii, utf8, utf16le, ucs2, latin1, binary", "")
	if err != nil {
		return err
	}
	switch enc {
	case "utf16le", "ucs2":
		p.s.PasswordEncoding = pwUTF16LE
	case "latin1", "binary", "ascii":
		p.s.PasswordEncoding = pwLatin1
	}

	salt, present, err := parseObject(p.top.m["salt"], p.top.field("salt"), "value", "encoding", "position")
	if err != nil || !present {
		return err
	}
	p.saltField = salt.path
	sv, ok, err := salt.str("value")
	if err != nil {
		return err
	}
	if !ok || sv == "" {
		return fieldErr(salt.field("value"), "is required when salt is given")
	}
	senc, err := salt.encoding("encoding", "utf8", "hex, base64, base64url, utf8", "")
	if err != nil {
		return err
	}
	if p.salt, err = decodeField(salt, "value", sv, senc); err != nil {
		return err
	}
	if len(p.salt) > MaxSaltBytes {
		return fieldErr(salt.field("value"), fmt.Sprintf("is %d bytes long; latch accepts at most %d", len(p.salt), MaxSaltBytes))
	}
	if len(p.salt) == 0 {
		return fieldErr(salt.field("value"), "is empty once decoded")
	}
	pos, err := salt.encoding("position", "prefix", "prefix, suffix", "")
	if err != nil {
		return err
	}
	p.s.SaltPosition = pos
	return nil
}

// useSalt joins the salt to the password (md*, sha*, hmac, bcrypt).
func (p *parser) useSalt() {
	if p.salt == nil {
		p.s.SaltPosition = ""
		return
	}
	p.s.Salt = p.salt
}

// noSalt refuses a separate salt for the algorithms whose hash.value carries its own.
func (p *parser) noSalt() error {
	if p.salt != nil {
		return fieldErr(p.saltField, "is not allowed with algorithm "+p.s.Alg+": its salt is part of hash.value")
	}
	p.s.SaltPosition = ""
	return nil
}

// textValue checks that hash.value is text (argon2, bcrypt, ldap, pbkdf2 strings).
func (p *parser) textValue() error {
	_, err := p.hash.encoding("encoding", "utf8", "utf8", " for "+p.s.Alg)
	return err
}

// binaryValue decodes hash.value, which must be a digest of size bytes (size 0: any).
func (p *parser) binaryValue(size int) ([]byte, error) {
	enc, err := p.hash.encoding("encoding", "", binaryEncodings, " for "+p.s.Alg)
	if err != nil {
		return nil, err
	}
	b, err := decodeField(p.hash, "value", p.value, enc)
	if err != nil {
		return nil, err
	}
	if size > 0 && len(b) != size {
		return nil, fieldErr(p.hash.field("value"), fmt.Sprintf("must decode to the %d bytes of a %s digest (got %d bytes)", size, p.digestName(), len(b)))
	}
	return b, nil
}

func (p *parser) digestName() string {
	if p.s.Digest != "" {
		return p.s.Digest
	}
	return p.s.Alg
}

func (p *parser) plain() error {
	p.s.Digest = p.s.Alg
	b, err := p.binaryValue(digests[p.s.Digest].size)
	if err != nil {
		return err
	}
	p.s.Hash = b
	p.useSalt()
	return nil
}

func (p *parser) hmac() error {
	d, ok, err := p.hash.str("digest")
	if err != nil {
		return err
	}
	list := strings.Join(hmacDigests, ", ")
	d = strings.ToLower(d)
	switch {
	case !ok:
		return fieldErr(p.hash.field("digest"), "is required for hmac (one of "+list+")")
	case d == "whirlpool":
		return fieldErr(p.hash.field("digest"), "whirlpool is not supported by latch (it supports "+list+")")
	case !slices.Contains(hmacDigests, d):
		return fieldErr(p.hash.field("digest"), "must be one of "+list+" for hmac")
	}
	p.s.Digest = d

	key, present, err := parseObject(p.hash.m["key"], p.hash.field("key"), "value", "encoding")
	if err != nil {
		return err
	}
	if !present {
		return fieldErr(p.hash.field("key"), "is required for hmac")
	}
	kv, ok, err := key.str("value")
	if err != nil {
		return err
	}
	if !ok || kv == "" {
		return fieldErr(key.field("value"), "is required for hmac")
	}
	kenc, err := key.encoding("encoding", "utf8", "hex, base64, base64url, utf8", "")
	if err != nil {
		return err
	}
	if p.s.Key, err = decodeField(key, "value", kv, kenc); err != nil {
		return err
	}
	if len(p.s.Key) == 0 || len(p.s.Key) > MaxKeyBytes {
		return fieldErr(key.field("value"), fmt.Sprintf("must decode to 1 to %d bytes (got %d)", MaxKeyBytes, len(p.s.Key)))
	}
	if p.s.Hash, err = p.binaryValue(digests[d].size); err != nil {
		return err
	}
	p.useSalt()
	return nil
}

func (p *parser) bcrypt() error {
	if err := p.textValue(); err != nil {
		return err
	}
	if err := checkBcrypt(p.value, p.hash.field("value")); err != nil {
		return err
	}
	p.s.Bcrypt = p.value
	p.useSalt()
	return nil
}

func (p *parser) scrypt() error {
	var err error
	if p.s.Hash, err = p.binaryValue(0); err != nil {
		return err
	}
	if !p.top.has("keylen") {
		return fieldErr(fieldKeylen, "is required for scrypt")
	}
	keylen, err := p.top.integer("keylen", 0)
	if err != nil {
		return err
	}
	if err := checkDerivedLen(keylen, fieldKeylen); err != nil {
		return err
	}
	if len(p.s.Hash) != keylen {
		return fieldErr(p.hash.field("value"), fmt.Sprintf("must decode to keylen (%d) bytes (got %d bytes)", keylen, len(p.s.Hash)))
	}
	if p.s.Cost, err = p.top.integer("cost", defaultScryptCost); err != nil {
		return err
	}
	if p.s.BlockSize, err = p.top.integer("blockSize", defaultScryptBlockSize); err != nil {
		return err
	}
	if p.s.Parallelization, err = p.top.integer("parallelization", defaultScryptParallelization); err != nil {
		return err
	}
	if err := checkScrypt(p.s.Cost, p.s.BlockSize, p.s.Parallelization); err != nil {
		return err
	}
	// scrypt takes the salt as its own input; salt.position means nothing to it.
	p.s.Salt = p.salt
	p.s.SaltPosition = ""
	return nil
}

// ldapSchemes maps the RFC 2307 schemes latch reads to their digest and whether the
// digest is followed by a salt.
var ldapSchemes = map[string]struct {
	digest string
	salted bool
}{
	"MD5": {"md5", false}, "SMD5": {"md5", true},
	"SHA": {"sha1", false}, "SSHA": {"sha1", true},
	"SHA256": {"sha256", false}, "SSHA256": {"sha256", true},
	"SHA384": {"sha384", false}, "SSHA384": {"sha384", true},
	"SHA512": {"sha512", false}, "SSHA512": {"sha512", true},
}

const ldapSchemeList = "{MD5}, {SMD5}, {SHA}, {SSHA}, {SHA256}, {SSHA256}, {SHA384}, {SSHA384}, {SHA512}, {SSHA512}"

// ldap reads an RFC 2307 userPassword value, "{SCHEME}" and base64 of the digest, followed
// for salted schemes by the salt, which was appended to the password.
func (p *parser) ldap() error {
	if err := p.noSalt(); err != nil {
		return err
	}
	if err := p.textValue(); err != nil {
		return err
	}
	field := p.hash.field("value")
	name, payload, ok := strings.Cut(strings.TrimPrefix(p.value, "{"), "}")
	if !ok || !strings.HasPrefix(p.value, "{") {
		return fieldErr(field, "must be an RFC 2307 value such as {SSHA}base64")
	}
	name = strings.ToUpper(name)
	if name == "CRYPT" {
		return fieldErr(field, "uses the {CRYPT} scheme, which latch does not support (its meaning depends on the system that made it); supported: "+ldapSchemeList)
	}
	scheme, ok := ldapSchemes[name]
	if !ok {
		return fieldErr(field, fmt.Sprintf("uses the unsupported scheme {%s}; supported: %s", name, ldapSchemeList))
	}
	b, err := decodeBase64(payload)
	if err != nil {
		return fieldErr(field, "is not valid base64 after {"+name+"}")
	}
	size := digests[scheme.digest].size
	switch {
	case !scheme.salted && len(b) != size:
		return fieldErr(field, fmt.Sprintf("must hold the %d bytes of a %s digest after {%s} (got %d bytes)", size, scheme.digest, name, len(b)))
	case scheme.salted && len(b) <= size:
		return fieldErr(field, fmt.Sprintf("must hold the %d bytes of a %s digest and a salt after {%s} (got %d bytes)", size, scheme.digest, name, len(b)))
	case len(b)-size > MaxSaltBytes:
		return fieldErr(field, fmt.Sprintf("has a salt of %d bytes; latch accepts at most %d", len(b)-size, MaxSaltBytes))
	}
	p.s.Digest = scheme.digest
	p.s.Hash = b[:size]
	if scheme.salted {
		p.s.Salt = b[size:]
		p.s.SaltPosition = "suffix"
	}
	return nil
}
