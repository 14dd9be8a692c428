package importhash

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strconv"
	"unicode/utf16"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	//lint:ignore SA1019 imported hashes made with MD4 must still verify, until re-hashed
	"golang.org/x/crypto/md4"
	//lint:ignore SA1019 imported hashes made with RIPEMD-160 must still verify, until re-hashed
	"golang.org/x/crypto/ripemd160"
	"golang.org/x/crypto/scrypt"
)

// Algorithms, as Auth0's custom_password_hash names them.
const (
	algArgon2 = "argon2"
	algBcrypt = "bcrypt"
	algHMAC   = "hmac"
	algLDAP   = "ldap"
	algPBKDF2 = "pbkdf2"
	algScrypt = "scrypt"
)

// Password encodings, after aliases are resolved (ascii and binary are latin1, ucs2 is
// utf16le); UTF-8, the default, is the empty string.
const (
	pwUTF16LE = "utf16le"
	pwLatin1  = "latin1"
)

// bcryptMaxBytes is the longest input bcrypt reads; latch cuts longer passwords there, as
// its own bcrypt hashing does.
const bcryptMaxBytes = 72

// spec is the validated, normalised form of an imported hash: every encoded value decoded,
// every default filled in, every alias resolved. Its JSON (fields in this order, bytes in
// standard base64) is the body of the stored form, so renaming a field or changing its
// meaning needs a new stored version.
type spec struct {
	// Alg is the custom_password_hash algorithm; plain digests (md4 … sha512) keep their name.
	Alg string `json:"alg"`
	// Variant is argon2i or argon2id.
	Variant string `json:"variant,omitempty"`
	// Digest is the hash function of a plain digest, hmac, ldap or pbkdf2.
	Digest string `json:"digest,omitempty"`
	// PasswordEncoding turns the password typed at login into the bytes that were hashed.
	PasswordEncoding string `json:"password_encoding,omitempty"`
	Salt             []byte `json:"salt,omitempty"`
	// SaltPosition is where the salt joins the password: prefix or suffix. Empty when the
	// algorithm takes the salt as its own input (argon2, pbkdf2, scrypt).
	SaltPosition string `json:"salt_position,omitempty"`
	Key          []byte `json:"key,omitempty"`
	// Bcrypt is the modular-crypt hash of a salted bcrypt import.
	Bcrypt string `json:"bcrypt,omitempty"`
	// Hash is the expected digest or derived key; its length is the key length.
	Hash []byte `json:"hash,omitempty"`
	// Iterations is pbkdf2's i or argon2's t.
	Iterations int `json:"iterations,omitempty"`
	// Memory is argon2's m, in KiB.
	Memory int `json:"memory,omitempty"`
	// Threads is argon2's p.
	Threads int `json:"threads,omitempty"`
	// Cost, BlockSize and Parallelization are scrypt's N, r and p.
	Cost            int `json:"cost,omitempty"`
	BlockSize       int `json:"block_size,omitempty"`
	Parallelization int `json:"parallelization,omitempty"`
}

type digestInfo struct {
	new  func() hash.Hash
	size int
}

// digests are the hash functions latch can compute, by Auth0's name. whirlpool, which
// Auth0 also lists for hmac and pbkdf2, is not among them.
var digests = map[string]digestInfo{
	"md4":       {md4.New, md4.Size},
	"md5":       {md5.New, md5.Size},
	"ripemd160": {ripemd160.New, ripemd160.Size},
	"sha1":      {sha1.New, sha1.Size},
	"sha224":    {sha256.New224, sha256.Size224},
	"sha256":    {sha256.New, sha256.Size},
	"sha384":    {sha512.New384, sha512.Size384},
	"sha512":    {sha512.New, sha512.Size},
}

// plainAlgs are the algorithms that are a single digest of the (salted) password.
var plainAlgs = map[string]bool{"md4": true, "md5": true, "sha1": true, "sha256": true, "sha512": true}

// ldapDigests are the digests of the RFC 2307 schemes latch reads.
var ldapDigests = map[string]bool{"md5": true, "sha1": true, "sha256": true, "sha384": true, "sha512": true}

var bcryptPattern = regexp.MustCompile(`^\$2[aby]\$([0-9]{2})\$[./A-Za-z0-9]{53}$`)

// checkBcrypt checks a modular-crypt bcrypt hash; field names it in errors.
func checkBcrypt(h, field string) error {
	m := bcryptPattern.FindStringSubmatch(h)
	if m == nil {
		return fieldErr(field, "must be a bcrypt hash: $2a$, $2b$ or $2y$, a two-digit cost, $, and 53 characters of salt and hash")
	}
	cost, _ := strconv.Atoi(m[1])
	if cost < bcrypt.MinCost || cost > MaxBcryptCost {
		return fieldErr(field, fmt.Sprintf("has bcrypt cost %d; latch accepts %d to %d", cost, bcrypt.MinCost, MaxBcryptCost))
	}
	return nil
}

// check verifies the invariants and limits of a spec. FromCustom's parser reports each
// problem with its field; check guards the stored form, so its errors need not be friendly.
func (s spec) check() error {
	switch s.PasswordEncoding {
	case "", pwUTF16LE, pwLatin1:
	default:
		return errors.New("unknown password encoding")
	}
	if len(s.Salt) > MaxSaltBytes || len(s.Key) > MaxKeyBytes {
		return errors.New("salt or key too long")
	}
	concatenates := plainAlgs[s.Alg] || s.Alg == algHMAC || s.Alg == algLDAP || s.Alg == algBcrypt
	switch {
	case concatenates && len(s.Salt) > 0:
		if s.SaltPosition != "prefix" && s.SaltPosition != "suffix" {
			return errors.New("bad salt position")
		}
	case s.SaltPosition != "":
		return errors.New("salt position without a concatenated salt")
	}
	if s.Alg != algHMAC && len(s.Key) > 0 {
		return errors.New("key outside hmac")
	}
	if s.Alg != algBcrypt && s.Bcrypt != "" {
		return errors.New("bcrypt hash outside bcrypt")
	}
	if s.Alg != algArgon2 && (s.Variant != "" || s.Memory != 0 || s.Threads != 0) {
		return errors.New("argon2 parameters outside argon2")
	}
	if s.Alg != algArgon2 && s.Alg != algPBKDF2 && s.Iterations != 0 {
		return errors.New("iterations outside argon2 and pbkdf2")
	}
	if s.Alg != algScrypt && (s.Cost != 0 || s.BlockSize != 0 || s.Parallelization != 0) {
		return errors.New("scrypt parameters outside scrypt")
	}
	d, known := digests[s.Digest]
	switch {
	case plainAlgs[s.Alg]:
		if s.Digest != s.Alg || len(s.Hash) != d.size {
			return errors.New("bad digest")
		}
	case s.Alg == algLDAP:
		if !ldapDigests[s.Digest] || len(s.Hash) != d.size || (len(s.Salt) > 0 && s.SaltPosition != "suffix") {
			return errors.New("bad ldap digest")
		}
	case s.Alg == algHMAC:
		if !known || len(s.Hash) != d.size || len(s.Key) == 0 {
			return errors.New("bad hmac")
		}
	case s.Alg == algPBKDF2:
		if !known {
			return errors.New("bad pbkdf2 digest")
		}
		return checkPBKDF2(s.Iterations, len(s.Hash), d.size)
	case s.Alg == algScrypt:
		if s.Digest != "" {
			return errors.New("digest outside its algorithms")
		}
		if err := checkDerivedLen(len(s.Hash), fieldValue); err != nil {
			return err
		}
		return checkScrypt(s.Cost, s.BlockSize, s.Parallelization)
	case s.Alg == algArgon2:
		if s.Digest != "" || (s.Variant != "argon2i" && s.Variant != "argon2id") || len(s.Salt) == 0 {
			return errors.New("bad argon2")
		}
		if err := checkDerivedLen(len(s.Hash), fieldValue); err != nil {
			return err
		}
		return checkArgon2(s.Memory, s.Iterations, s.Threads)
	case s.Alg == algBcrypt:
		if s.Digest != "" || len(s.Hash) != 0 {
			return errors.New("bad bcrypt")
		}
		return checkBcrypt(s.Bcrypt, "bcrypt")
	default:
		return errors.New("unknown algorithm")
	}
	return nil
}

// Field paths of the values the limits apply to.
const (
	root        = "custom_password_hash"
	fieldValue  = root + ".hash.value"
	fieldKeylen = root + ".keylen"
)

// checkDerivedLen checks the length of a derived key; field is where it comes from.
func checkDerivedLen(n int, field string) error {
	if n < MinDerivedBytes || n > MaxDerivedBytes {
		return fieldErr(field, fmt.Sprintf("gives a key of %d bytes; latch accepts %d to %d", n, MinDerivedBytes, MaxDerivedBytes))
	}
	return nil
}

func checkPBKDF2(iterations, keyLen, digestSize int) error {
	if err := checkDerivedLen(keyLen, fieldValue); err != nil {
		return err
	}
	if iterations < 1 || iterations > MaxPBKDF2Iterations {
		return fieldErr(fieldValue, fmt.Sprintf("has i=%d; latch accepts 1 to %d", iterations, MaxPBKDF2Iterations))
	}
	blocks := (keyLen + digestSize - 1) / digestSize
	if iterations*blocks > MaxPBKDF2Iterations {
		return fieldErr(fieldValue, fmt.Sprintf("needs i=%d times %d digest blocks for l=%d, more than the %d iterations latch accepts", iterations, blocks, keyLen, MaxPBKDF2Iterations))
	}
	return nil
}

func checkScrypt(n, r, p int) error {
	switch {
	case n < 2 || n&(n-1) != 0:
		return fieldErr(root+".cost", fmt.Sprintf("must be a power of two greater than 1 (got %d)", n))
	case n > MaxScryptCost:
		return fieldErr(root+".cost", fmt.Sprintf("must be at most %d (got %d)", MaxScryptCost, n))
	case r < 1 || r > MaxScryptBlockSize:
		return fieldErr(root+".blockSize", fmt.Sprintf("must be from 1 to %d (got %d)", MaxScryptBlockSize, r))
	case p < 1 || p > MaxScryptParallelization:
		return fieldErr(root+".parallelization", fmt.Sprintf("must be from 1 to %d (got %d)", MaxScryptParallelization, p))
	case 128*n*r > MaxScryptMemory:
		return fieldErr(root+".cost", fmt.Sprintf("with blockSize %d needs %d MiB of memory; latch allows %d MiB", r, 128*n*r>>20, MaxScryptMemory>>20))
	case n*r*p > MaxScryptWork:
		return fieldErr(root+".cost", fmt.Sprintf("× blockSize × parallelization is %d; latch allows at most %d", n*r*p, MaxScryptWork))
	}
	return nil
}

func checkArgon2(m, t, p int) error {
	var reason string
	switch {
	case t < 1 || t > MaxArgon2Time:
		reason = fmt.Sprintf("has t=%d; latch accepts 1 to %d", t, MaxArgon2Time)
	case p < 1 || p > MaxArgon2Threads:
		reason = fmt.Sprintf("has p=%d; latch accepts 1 to %d", p, MaxArgon2Threads)
	case m < 8*p:
		reason = fmt.Sprintf("has m=%d; argon2 needs at least 8 KiB per lane (8×p=%d)", m, 8*p)
	case m > MaxArgon2Memory:
		reason = fmt.Sprintf("has m=%d KiB; latch accepts at most %d (1 GiB)", m, MaxArgon2Memory)
	case t*m > MaxArgon2Work:
		reason = fmt.Sprintf("has t×m=%d; latch accepts at most %d", t*m, MaxArgon2Work)
	default:
		return nil
	}
	return fieldErr(fieldValue, reason)
}

// salted joins the salt to the password where the hashing system put it.
func (s spec) salted(pw []byte) []byte {
	if len(s.Salt) == 0 {
		return pw
	}
	out := make([]byte, 0, len(pw)+len(s.Salt))
	if s.SaltPosition == "suffix" {
		return append(append(out, pw...), s.Salt...)
	}
	return append(append(out, s.Salt...), pw...)
}

// derive computes what the imported system stored for pw: a digest or derived key, as long
// as s.Hash. The spec has passed check.
func (s spec) derive(pw []byte) ([]byte, error) {
	switch s.Alg {
	case algArgon2:
		t, m, p, n := uint32(s.Iterations), uint32(s.Memory), uint8(s.Threads), uint32(len(s.Hash))
		if s.Variant == "argon2i" {
			return argon2.Key(pw, s.Salt, t, m, p, n), nil
		}
		return argon2.IDKey(pw, s.Salt, t, m, p, n), nil
	case algScrypt:
		return scrypt.Key(pw, s.Salt, s.Cost, s.BlockSize, s.Parallelization, len(s.Hash))
	case algPBKDF2:
		return pbkdf2.Key(digests[s.Digest].new, string(pw), s.Salt, s.Iterations, len(s.Hash))
	case algHMAC:
		mac := hmac.New(digests[s.Digest].new, s.Key)
		mac.Write(s.salted(pw))
		return mac.Sum(nil), nil
	default: // plain digests and ldap
		h := digests[s.Digest].new()
		h.Write(s.salted(pw))
		return h.Sum(nil), nil
	}
}

// encodePassword turns the password typed at login into the bytes the imported system
// hashed. latin1 keeps the low byte of each UTF-16 code unit, as Node.js's latin1, binary
// and ascii encoders do (characters outside Latin-1 are not refused but mangled, so the
// bytes match those the source system hashed).
func encodePassword(pw, encoding string) []byte {
	switch encoding {
	case pwUTF16LE:
		units := utf16.Encode([]rune(pw))
		out := make([]byte, 0, 2*len(units))
		for _, u := range units {
			out = append(out, byte(u), byte(u>>8))
		}
		return out
	case pwLatin1:
		units := utf16.Encode([]rune(pw))
		out := make([]byte, len(units))
		for i, u := range units {
			out[i] = byte(u)
		}
		return out
	default:
		return []byte(pw)
	}
}
