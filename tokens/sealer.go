package tokens

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KEKSize is the length of the key-encryption key: AES-256.
const KEKSize = 32

// ErrUnseal is returned when sealed data cannot be opened: it was altered, sealed under
// another key-encryption key, or sealed with other additional data.
var ErrUnseal = errors.New("tokens: cannot open sealed data")

// Sealer encrypts secrets at rest with AES-256-GCM under a key-encryption key (KEK) that
// lives outside the store (config or environment), so that the database alone is not
// enough to sign tokens. It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte key-encryption key.
func NewSealer(kek []byte) (*Sealer, error) {
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("tokens: key-encryption key must be %d bytes, got %d", KEKSize, len(kek))
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("tokens: key-encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("tokens: key-encryption key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext and returns nonce || ciphertext || tag. additionalData is
// authenticated but not stored: Open needs the same bytes, which binds a sealed blob to
// the record it belongs to (a blob copied onto another record does not open).
//
// The nonce is random (96 bits); with one KEK sealing a handful of keys the GCM limit of
// 2^32 random nonces per key is out of reach.
func (s *Sealer) Seal(plaintext, additionalData []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	_, _ = rand.Read(nonce) // never fails (crypto/rand panics instead)
	return s.aead.Seal(nonce, nonce, plaintext, additionalData)
}

// Open reverses Seal. Any change to the ciphertext, a different KEK or different
// additional data gives an error wrapping ErrUnseal.
func (s *Sealer) Open(ciphertext, additionalData []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(ciphertext) < n+s.aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrUnseal)
	}
	plain, err := s.aead.Open(nil, ciphertext[:n], ciphertext[n:], additionalData)
	if err != nil {
		// The cause is always "message authentication failed"; say what it usually means.
		return nil, fmt.Errorf("%w: authentication failed (altered, or another key-encryption key)", ErrUnseal)
	}
	return plain, nil
}

// ParseKEK decodes a key-encryption key given as base64, standard or URL-safe alphabet,
// with or without padding; surrounding white space is ignored (keys are often read from
// files that end with a newline). It must decode to exactly 32 bytes. Errors never repeat
// the value: it is a secret.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("tokens: key-encryption key is empty; generate one with 32 random bytes in base64 (e.g. `openssl rand -base64 32`)")
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != KEKSize {
			return nil, fmt.Errorf("tokens: key-encryption key must be base64 of exactly %d bytes, it decodes to %d bytes", KEKSize, len(b))
		}
		return b, nil
	}
	return nil, fmt.Errorf("tokens: key-encryption key is not valid base64 (standard or URL-safe) of %d bytes", KEKSize)
}

// GenerateKEK returns a new random key-encryption key in standard base64, the form
// ParseKEK reads.
func GenerateKEK() string {
	b := make([]byte, KEKSize)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
