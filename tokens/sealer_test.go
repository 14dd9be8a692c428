package tokens

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func newTestSealer(t testing.TB) *Sealer {
	t.Helper()
	kek, err := ParseKEK(GenerateKEK())
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSealer(kek)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealerRoundTrip(t *testing.T) {
	s := newTestSealer(t)
	for _, tc := range []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{"empty", nil, nil},
		{"short", []byte("secret"), []byte("kid-1")},
		{"large", bytes.Repeat([]byte{0xa5}, 4096), []byte("kid-2")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed := s.Seal(tc.plaintext, tc.ad)
			if len(tc.plaintext) > 0 && bytes.Contains(sealed, tc.plaintext) {
				t.Fatal("sealed bytes contain the plaintext")
			}
			got, err := s.Open(sealed, tc.ad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.plaintext) {
				t.Fatalf("Open = %x, want %x", got, tc.plaintext)
			}
			if again := s.Seal(tc.plaintext, tc.ad); bytes.Equal(again, sealed) {
				t.Fatal("two seals of the same plaintext are equal: nonce not random")
			}
		})
	}
}

func TestSealerRejects(t *testing.T) {
	s := newTestSealer(t)
	other := newTestSealer(t)
	plaintext, ad := []byte("private key bytes"), []byte("kid-1")
	sealed := s.Seal(plaintext, ad)
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	for _, tc := range []struct {
		name   string
		sealer *Sealer
		blob   []byte
		ad     []byte
	}{
		{"nonce flipped", s, flip(0), ad},
		{"ciphertext flipped", s, flip(12), ad},
		{"tag flipped", s, flip(len(sealed) - 1), ad},
		{"truncated", s, sealed[:len(sealed)-1], ad},
		{"too short", s, sealed[:10], ad},
		{"empty", s, nil, ad},
		{"wrong additional data", s, sealed, []byte("kid-2")},
		{"no additional data", s, sealed, nil},
		{"other key-encryption key", other, sealed, ad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.sealer.Open(tc.blob, tc.ad)
			if !errors.Is(err, ErrUnseal) {
				t.Fatalf("Open = %q, %v; want ErrUnseal", got, err)
			}
		})
	}
}

func TestNewSealerKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer(%d bytes) accepted", n)
		}
	}
}

func TestParseKEK(t *testing.T) {
	// 0xfb 0xff... encodes with '+' and '/' in standard base64 and '-' and '_' in URL-safe.
	key := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 11)[:32]
	for _, tc := range []struct {
		name    string
		in      string
		wantErr string
	}{
		{"std", base64.StdEncoding.EncodeToString(key), ""},
		{"std without padding", base64.RawStdEncoding.EncodeToString(key), ""},
		{"url", base64.URLEncoding.EncodeToString(key), ""},
		{"url without padding", base64.RawURLEncoding.EncodeToString(key), ""},
		{"trailing newline", base64.StdEncoding.EncodeToString(key) + "\n", ""},
		{"empty", "  ", "empty"},
		{"16 bytes", base64.StdEncoding.EncodeToString(key[:16]), "decodes to 16 bytes"},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(key, 1)), "decodes to 33 bytes"},
		{"hex", strings.Repeat("ab", 32), "decodes to 48 bytes"},
		{"not base64", "this is not base64 at all!", "not valid base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKEK(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseKEK error = %v, want one containing %q", err, tc.wantErr)
				}
				if strings.TrimSpace(tc.in) != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) {
					t.Fatal("the error repeats the secret")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, key) {
				t.Fatalf("ParseKEK = %x, want %x", got, key)
			}
		})
	}
}

func TestGenerateKEK(t *testing.T) {
	a, b := GenerateKEK(), GenerateKEK()
	if a == b {
		t.Fatal("two generated keys are equal")
	}
	k, err := ParseKEK(a)
	if err != nil || len(k) != KEKSize {
		t.Fatalf("ParseKEK(GenerateKEK()) = %d bytes, %v", len(k), err)
	}
}
