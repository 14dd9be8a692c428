package importhash_test

import (
	"encoding/json"
	"testing"

	"github.com/latchauth/latch/password/importhash"
)

// BenchmarkVerify measures one login against each algorithm, with the parameters of the
// vectors named (run: go test -run '^$' -bench Verify ./password/importhash/).
func BenchmarkVerify(b *testing.B) {
	byName := map[string]vector{}
	for _, v := range vectors {
		byName[v.name] = v
	}
	for _, c := range []struct{ alg, vector string }{
		{"md4", "md4/hex"},
		{"md5", "md5/hex/salt-prefix-default"},
		{"sha1", "sha1/hex/salt-hex-prefix"},
		{"sha256", "sha256/base64/salt-base64-suffix"},
		{"sha512", "sha512/hex/salt-suffix"},
		{"hmac", "hmac/sha256"},
		{"ldap", "ldap/SSHA512"},
		{"bcrypt", "bcrypt/salt-prefix"},              // cost 5
		{"pbkdf2", "pbkdf2/sha512/default-i"},         // i=100000
		{"scrypt", "scrypt/base64/salt-hex/defaults"}, // N=16384, r=8, p=1
		{"argon2", "argon2/argon2id"},                 // m=4096 KiB, t=3, p=1
	} {
		v, ok := byName[c.vector]
		if !ok {
			b.Fatalf("no vector %q", c.vector)
		}
		stored, err := importhash.FromCustom(json.RawMessage(v.raw))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.alg, func(b *testing.B) {
			for b.Loop() {
				if !importhash.Verify(stored, v.pass()) {
					b.Fatal("Verify refused the right password")
				}
			}
		})
	}
}
