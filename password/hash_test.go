package password

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Tests use bcrypt's minimum cost, except where the cost itself is under test.
var fast = Hasher{Cost: bcrypt.MinCost}

func TestHashRoundTrip(t *testing.T) {
	for _, pw := range []string{"x", "correct horse battery staple", "pässwörd ☃", strings.Repeat("a", 72)} {
		hash, err := fast.Hash(pw)
		if err != nil {
			t.Fatalf("Hash(%q): %v", pw, err)
		}
		if !strings.HasPrefix(hash, "$2a$04$") {
			t.Errorf("Hash(%q) = %q, want a $2a$04$ hash", pw, hash)
		}
		if !fast.Verify(hash, pw) {
			t.Errorf("Verify(Hash(%q), %q) = false", pw, pw)
		}
		if fast.Verify(hash, pw[1:]) || fast.Verify(hash, strings.ToUpper(pw)) {
			t.Errorf("Verify accepted a wrong password for %q", pw)
		}
		if again, _ := fast.Hash(pw); again == hash {
			t.Errorf("two hashes of %q are equal: no salt", pw)
		}
	}
}

func TestHashEmptyPassword(t *testing.T) {
	hash, err := fast.Hash("")
	if err != nil {
		t.Fatal(err)
	}
	if !fast.Verify(hash, "") || fast.Verify(hash, "x") {
		t.Error("empty password does not round-trip")
	}
}

func TestDefaultCost(t *testing.T) {
	hash, err := Hasher{}.Hash("secret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$2a$10$") {
		t.Errorf("zero Hasher made %q, want cost 10 like Auth0", hash)
	}
	if cost, _ := bcrypt.Cost([]byte(hash)); cost != DefaultCost {
		t.Errorf("cost = %d, want %d", cost, DefaultCost)
	}
}

func TestVerifyReadsCostFromHash(t *testing.T) {
	hash, err := Hasher{Cost: 5}.Hash("secret")
	if err != nil {
		t.Fatal(err)
	}
	if !fast.Verify(hash, "secret") {
		t.Error("a Hasher of another cost could not verify")
	}
}

// An Auth0 export carries $2b$ hashes (Node's bcrypt); they must verify.
func TestVerifyImported2b(t *testing.T) {
	hash, err := fast.Hash("imported")
	if err != nil {
		t.Fatal(err)
	}
	b := "$2b$" + strings.TrimPrefix(hash, "$2a$")
	if !fast.Verify(b, "imported") || fast.Verify(b, "other") {
		t.Error("$2b$ hash does not verify like its $2a$ twin")
	}
}

func TestVerifyMalformedHash(t *testing.T) {
	for _, hash := range []string{"", "secret", "$2a$10$short", "$1$abc$def", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"} {
		if fast.Verify(hash, "secret") {
			t.Errorf("Verify(%q) = true", hash)
		}
	}
}

func TestTruncatesAt72Bytes(t *testing.T) {
	base := strings.Repeat("0123456789", 7) + "ab" // exactly 72 bytes
	if len(base) != MaxBytes {
		t.Fatalf("len = %d", len(base))
	}
	hash, err := fast.Hash(base + "this part is ignored")
	if err != nil {
		t.Fatalf("Hash of a long password: %v (Auth0 accepts it)", err)
	}
	for _, pw := range []string{base, base + "x", base + strings.Repeat("y", 1000)} {
		if !fast.Verify(hash, pw) {
			t.Errorf("Verify(%d-byte password sharing the first 72 bytes) = false", len(pw))
		}
	}
	if fast.Verify(hash, base[:71]) || fast.Verify(hash, base[:71]+"X") {
		t.Error("a difference inside the first 72 bytes was ignored")
	}

	// A hash made elsewhere (x/crypto refuses > 72 bytes, so make it from the prefix) of a long
	// password verifies with the full password.
	imported, err := bcrypt.GenerateFromPassword([]byte(base), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if !fast.Verify(string(imported), base+"tail") {
		t.Error("long password does not verify against a hash of its first 72 bytes")
	}

	// Bytes, not characters: a multi-byte character straddling byte 72 is cut.
	multi := strings.Repeat("a", 71) + "é" // 73 bytes
	h2, err := fast.Hash(multi)
	if err != nil {
		t.Fatal(err)
	}
	if !fast.Verify(h2, strings.Repeat("a", 71)+"\xc3") {
		t.Error("truncation is not at 72 bytes")
	}
}

func TestHashInvalidCost(t *testing.T) {
	if _, err := (Hasher{Cost: 32}).Hash("x"); err == nil {
		t.Error("cost 32 accepted")
	}
	Hasher{Cost: 32}.VerifyMissing("x") // must not panic
}

// VerifyMissing must cost what a failed Verify costs: it compares against a dummy hash of
// the Hasher's own cost (time itself is measured by make bench, never asserted in tests).
func TestVerifyMissingUsesSameCost(t *testing.T) {
	const cost = 6
	h := Hasher{Cost: cost}
	h.VerifyMissing("first call makes the dummy")
	h.VerifyMissing("wrong")

	dummy, made := dummyHash(cost)
	if made {
		t.Error("dummy hash made twice")
	}
	if c, err := bcrypt.Cost(dummy); err != nil || c != cost {
		t.Errorf("dummy hash cost = %d, %v; want %d", c, err, cost)
	}
}

func BenchmarkBcryptVerify(b *testing.B) {
	h := Hasher{}
	hash, err := h.Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !h.Verify(hash, "correct horse battery staple") {
			b.Fatal("no match")
		}
	}
}

func BenchmarkBcryptVerifyMissing(b *testing.B) {
	h := Hasher{}
	h.VerifyMissing("warm")
	for b.Loop() {
		h.VerifyMissing("correct horse battery staple")
	}
}
