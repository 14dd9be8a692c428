package importhash

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// ErrInvalid is what every error of FromBcrypt and FromCustom wraps; the error itself is a
// *FieldError whose text names the offending field, fit to show to whoever runs the import.
var ErrInvalid = errors.New("invalid imported password hash")

// FieldError says which field of an imported user is wrong and why. Its text is the field
// path followed by the reason, e.g. "custom_password_hash.hash.encoding must be one of hex,
// base64, base64url for md5": the import job reports it, as is, on the user's line.
type FieldError struct {
	Field  string // dotted path, e.g. "custom_password_hash.hash.value"
	Reason string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, reason string) error { return &FieldError{Field: field, Reason: reason} }

// The limits an imported hash must keep. A login verifies with the parameters the import
// carried, so without them one hostile line of an import file could make every login of
// that user take minutes or allocate gigabytes. Each sits well above what real systems use.
const (
	// MaxObjectBytes bounds the raw custom_password_hash object.
	MaxObjectBytes = 8 << 10
	// MaxSaltBytes and MaxKeyBytes bound the decoded salt and HMAC key.
	MaxSaltBytes = 1024
	MaxKeyBytes  = 1024
	// MinDerivedBytes and MaxDerivedBytes bound the length of a derived key (scrypt keylen,
	// pbkdf2 l, argon2 tag length). Fewer than 8 bytes would let a guess match by chance.
	MinDerivedBytes = 8
	MaxDerivedBytes = 1024
	// MaxBcryptCost bounds the cost of bcrypt hashes (each step doubles the work; 10 is
	// usual, 16 takes seconds).
	MaxBcryptCost = 16
	// MaxPBKDF2Iterations bounds pbkdf2's i, and also i times the number of digest-sized
	// blocks in l, which is the number of HMAC computations a verification makes.
	MaxPBKDF2Iterations = 10_000_000
	// MaxScryptCost bounds scrypt's N; MaxScryptMemory bounds 128·N·r, the bytes it
	// allocates; MaxScryptWork bounds N·r·p, which its running time follows.
	MaxScryptCost            = 1 << 20
	MaxScryptBlockSize       = 64
	MaxScryptParallelization = 16
	MaxScryptMemory          = 1 << 30
	MaxScryptWork            = 1 << 23
	// MaxArgon2Memory bounds argon2's m (KiB, so 1 GiB); MaxArgon2Time its t;
	// MaxArgon2Threads its p; MaxArgon2Work bounds t·m, which its running time follows.
	MaxArgon2Memory  = 1 << 20
	MaxArgon2Time    = 100
	MaxArgon2Threads = 64
	MaxArgon2Work    = 1 << 22
)

// storedPrefix starts every stored form this package makes; the number after it is the
// version of the encoded spec, so that a later format can coexist with stored hashes.
const (
	storedPrefix  = "$latch-import$"
	storedVersion = "1"
)

// FromBcrypt checks a password_hash value (bcrypt modular crypt, $2a$/$2b$/$2y$) and returns
// the stored form, which is the hash unchanged: golang.org/x/crypto/bcrypt verifies all three
// prefixes, so latch's login verifies it like one of its own.
func FromBcrypt(hash string) (stored string, err error) {
	if err := checkBcrypt(hash, "password_hash"); err != nil {
		return "", err
	}
	return hash, nil
}

// FromCustom validates one custom_password_hash object (raw JSON as the file carries it) and
// returns latch's stored form. A bcrypt hash without salt, of a UTF-8 password, is returned
// unchanged like FromBcrypt's; anything else becomes an imported stored form (IsImported).
func FromCustom(raw json.RawMessage) (stored string, err error) {
	s, err := parseCustom(raw)
	if err != nil {
		return "", err
	}
	if s.Alg == algBcrypt && len(s.Salt) == 0 && s.PasswordEncoding == "" {
		return s.Bcrypt, nil
	}
	if err := s.check(); err != nil {
		// parseCustom builds only valid specs: this is a bug, not bad input.
		return "", fieldErr("custom_password_hash", "could not be stored: "+err.Error())
	}
	b, err := json.Marshal(s)
	if err != nil {
		return "", fieldErr("custom_password_hash", "could not be stored: "+err.Error())
	}
	return storedPrefix + storedVersion + "$" + base64.RawURLEncoding.EncodeToString(b), nil
}

// IsImported reports whether a stored hash is an imported non-bcrypt one, which Verify
// checks and which latch replaces with its own bcrypt hash at the first successful login.
// It is true of every version of the imported form, so that a form this build cannot read
// fails Verify instead of reaching bcrypt.
func IsImported(stored string) bool {
	return strings.HasPrefix(stored, storedPrefix)
}

// Verify reports whether password matches an imported stored hash. It is false for a
// malformed or unknown stored form, and for a plain bcrypt hash (password.Hasher checks
// those). Digests are compared in constant time.
func Verify(stored, password string) bool {
	s, ok := decodeStored(stored)
	if !ok {
		return false
	}
	pw := encodePassword(password, s.PasswordEncoding)
	if s.Alg == algBcrypt {
		in := s.salted(pw)
		if len(in) > bcryptMaxBytes {
			in = in[:bcryptMaxBytes]
		}
		return bcrypt.CompareHashAndPassword([]byte(s.Bcrypt), in) == nil
	}
	got, err := s.derive(pw)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, s.Hash) == 1
}

// decodeStored reads an imported stored form and checks it as FromCustom did, so that a
// damaged or altered row cannot bring parameters past the limits.
func decodeStored(stored string) (spec, bool) {
	rest, ok := strings.CutPrefix(stored, storedPrefix+storedVersion+"$")
	if !ok {
		return spec{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return spec{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s spec
	if err := dec.Decode(&s); err != nil || dec.More() {
		return spec{}, false
	}
	if s.check() != nil {
		return spec{}, false
	}
	return s, true
}
