package importhash_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/latchauth/latch/password/importhash"
)

// Valid pieces the malformed inputs below are built from.
const (
	md5Hex   = `"hash":{"value":"nMKuihunqT2jm0b8EBnEgQ==","encoding":"base64"}`
	hmacHash = `"value":"81ba900214c85cdc45f2c81e74fad90fd38aa947","encoding":"hex"`
	scryptOK = `"algorithm":"scrypt","hash":{"value":"943aa682a92651e195717b0d405cd07d","encoding":"hex"},"keylen":16`
	b64Salt  = `c2FsdHNhbHQ`
	b64Hash  = `s8pgZBYGY/zx5aH1Us/D3/gLVvV4IayRGJRNcl9N038`
)

func argon2JSON(phc string) string {
	return `{"algorithm":"argon2","hash":{"value":"` + phc + `"}}`
}

func pbkdf2JSON(phc string) string {
	return `{"algorithm":"pbkdf2","hash":{"value":"` + phc + `"}}`
}

// TestValidation: every malformed or hostile custom_password_hash is refused with a
// message that names its field.
func TestValidation(t *testing.T) {
	const (
		root = "custom_password_hash"
		hv   = root + ".hash.value"
		he   = root + ".hash.encoding"
	)
	tests := []struct {
		name, raw, field, want string
	}{
		// The object itself.
		{"not JSON", `{"algorithm":`, root, "custom_password_hash is not valid JSON"},
		{"array", `[]`, root, "custom_password_hash must be a JSON object"},
		{"null", `null`, root, "custom_password_hash must be a JSON object"},
		{"string", `"md5"`, root, "custom_password_hash must be a JSON object"},
		{"too large", `{"algorithm":"md5",` + md5Hex + `,"salt":{"value":"` + strings.Repeat("a", 9000) + `"}}`, root, "custom_password_hash is 9103 bytes long; latch accepts at most 8192"},
		{"unknown field", `{"algorithm":"md5",` + md5Hex + `,"iterations":5}`, root, `custom_password_hash has an unknown field "iterations"`},
		{"missing algorithm", `{` + md5Hex + `}`, root + ".algorithm", "custom_password_hash.algorithm is required (one of argon2, bcrypt, hmac, ldap, md4, md5, sha1, sha256, sha512, pbkdf2, scrypt)"},
		{"algorithm not a string", `{"algorithm":5,` + md5Hex + `}`, root + ".algorithm", "custom_password_hash.algorithm must be a string"},
		{"unknown algorithm", `{"algorithm":"sha3-256",` + md5Hex + `}`, root + ".algorithm", `custom_password_hash.algorithm must be one of argon2, bcrypt, hmac, ldap, md4, md5, sha1, sha256, sha512, pbkdf2, scrypt (got "sha3-256")`},
		{"missing hash", `{"algorithm":"md5"}`, root + ".hash", "custom_password_hash.hash is required"},
		{"hash not an object", `{"algorithm":"md5","hash":"abc"}`, root + ".hash", "custom_password_hash.hash must be a JSON object"},
		{"missing value", `{"algorithm":"md5","hash":{"encoding":"hex"}}`, hv, "custom_password_hash.hash.value is required"},
		{"empty value", `{"algorithm":"md5","hash":{"value":"","encoding":"hex"}}`, hv, "custom_password_hash.hash.value is required"},
		{"value not a string", `{"algorithm":"md5","hash":{"value":12,"encoding":"hex"}}`, hv, "custom_password_hash.hash.value must be a string"},
		{"unknown hash field", `{"algorithm":"md5","hash":{"value":"x","encoding":"hex","salt":"y"}}`, root + ".hash", `custom_password_hash.hash has an unknown field "salt"`},

		// Digests and encodings.
		{"md5 without encoding", `{"algorithm":"md5","hash":{"value":"9cc2ae8a1ba7a93da39b46fc1019c481"}}`, he, "custom_password_hash.hash.encoding is required for md5 (one of hex, base64, base64url)"},
		{"md5 utf8 encoding", `{"algorithm":"md5","hash":{"value":"9cc2ae8a1ba7a93da39b46fc1019c481","encoding":"utf8"}}`, he, "custom_password_hash.hash.encoding must be one of hex, base64, base64url for md5"},
		{"sha256 unknown encoding", `{"algorithm":"sha256","hash":{"value":"abc","encoding":"base32"}}`, he, "custom_password_hash.hash.encoding must be one of hex, base64, base64url for sha256"},
		{"bad hex", `{"algorithm":"md5","hash":{"value":"9cc2ae8a1ba7a93da39b46fc1019c48g","encoding":"hex"}}`, hv, "custom_password_hash.hash.value is not valid hex"},
		{"odd hex", `{"algorithm":"md5","hash":{"value":"9cc2ae8a1ba7a93da39b46fc1019c48","encoding":"hex"}}`, hv, "custom_password_hash.hash.value is not valid hex"},
		{"md5 too short", `{"algorithm":"md5","hash":{"value":"9cc2ae8a1ba7a93da39b46fc1019c4","encoding":"hex"}}`, hv, "custom_password_hash.hash.value must decode to the 16 bytes of a md5 digest (got 15 bytes)"},
		{"sha512 given a sha256", `{"algorithm":"sha512","hash":{"value":"c4bbcb1fbec99d65bf59d85c8cb62ee2db963f0fe106f483d9afa73bd4e39a8a","encoding":"hex"}}`, hv, "must decode to the 64 bytes of a sha512 digest (got 32 bytes)"},
		{"base64 mixing alphabets", `{"algorithm":"md5","hash":{"value":"nMKuihunqT2jm0b8EB+EgQ_=","encoding":"base64"}}`, hv, "custom_password_hash.hash.value is not valid base64"},
		{"base64 with a line break", `{"algorithm":"md5","hash":{"value":"nMKuihunqT2jm0b8\nEBnEgQ==","encoding":"base64"}}`, hv, "custom_password_hash.hash.value is not valid base64"},
		{"digest outside hmac", `{"algorithm":"md5","hash":{"value":"nMKuihunqT2jm0b8EBnEgQ==","encoding":"base64","digest":"md5"}}`, root + ".hash.digest", "custom_password_hash.hash.digest is only used with algorithm hmac"},
		{"key outside hmac", `{"algorithm":"sha1","hash":{"value":"q/eq1kOINtvlJqojGr3i0O73TUI=","encoding":"base64","key":{"value":"k"}}}`, root + ".hash.key", "custom_password_hash.hash.key is only used with algorithm hmac"},

		// Salt and password.
		{"salt not an object", `{"algorithm":"md5",` + md5Hex + `,"salt":"NaCl"}`, root + ".salt", "custom_password_hash.salt must be a JSON object"},
		{"salt without value", `{"algorithm":"md5",` + md5Hex + `,"salt":{"position":"suffix"}}`, root + ".salt.value", "custom_password_hash.salt.value is required when salt is given"},
		{"salt unknown encoding", `{"algorithm":"md5",` + md5Hex + `,"salt":{"value":"NaCl","encoding":"base32"}}`, root + ".salt.encoding", "custom_password_hash.salt.encoding must be one of hex, base64, base64url, utf8"},
		{"salt bad hex", `{"algorithm":"md5",` + md5Hex + `,"salt":{"value":"NaCl","encoding":"hex"}}`, root + ".salt.value", "custom_password_hash.salt.value is not valid hex"},
		{"salt bad position", `{"algorithm":"md5",` + md5Hex + `,"salt":{"value":"NaCl","position":"middle"}}`, root + ".salt.position", "custom_password_hash.salt.position must be one of prefix, suffix"},
		{"salt too long", `{"algorithm":"md5",` + md5Hex + `,"salt":{"value":"` + strings.Repeat("ab", 1025) + `","encoding":"hex"}}`, root + ".salt.value", "custom_password_hash.salt.value is 1025 bytes long; latch accepts at most 1024"},
		{"unknown salt field", `{"algorithm":"md5",` + md5Hex + `,"salt":{"value":"NaCl","rounds":3}}`, root + ".salt", `custom_password_hash.salt has an unknown field "rounds"`},
		{"password encoding unknown", `{"algorithm":"md5",` + md5Hex + `,"password":{"encoding":"utf32"}}`, root + ".password.encoding", "custom_password_hash.password.encoding must be one of ascii, utf8, utf16le, ucs2, latin1, binary"},
		{"password not an object", `{"algorithm":"md5",` + md5Hex + `,"password":"utf8"}`, root + ".password", "custom_password_hash.password must be a JSON object"},

		// hmac.
		{"hmac without digest", `{"algorithm":"hmac","hash":{` + hmacHash + `,"key":{"value":"k3y"}}}`, root + ".hash.digest", "custom_password_hash.hash.digest is required for hmac (one of md4, md5, ripemd160, sha1, sha224, sha256, sha384, sha512)"},
		{"hmac whirlpool", `{"algorithm":"hmac","hash":{` + hmacHash + `,"digest":"whirlpool","key":{"value":"k3y"}}}`, root + ".hash.digest", "custom_password_hash.hash.digest whirlpool is not supported by latch"},
		{"hmac unknown digest", `{"algorithm":"hmac","hash":{` + hmacHash + `,"digest":"sha3-256","key":{"value":"k3y"}}}`, root + ".hash.digest", "custom_password_hash.hash.digest must be one of md4, md5, ripemd160, sha1, sha224, sha256, sha384, sha512 for hmac"},
		{"hmac without key", `{"algorithm":"hmac","hash":{` + hmacHash + `,"digest":"sha1"}}`, root + ".hash.key", "custom_password_hash.hash.key is required for hmac"},
		{"hmac empty key", `{"algorithm":"hmac","hash":{` + hmacHash + `,"digest":"sha1","key":{"value":""}}}`, root + ".hash.key.value", "custom_password_hash.hash.key.value is required for hmac"},
		{"hmac key bad encoding", `{"algorithm":"hmac","hash":{` + hmacHash + `,"digest":"sha1","key":{"value":"k3y","encoding":"latin1"}}}`, root + ".hash.key.encoding", "custom_password_hash.hash.key.encoding must be one of hex, base64, base64url, utf8"},
		{"hmac key bad base64", `{"algorithm":"hmac","hash":{` + hmacHash + `,"digest":"sha1","key":{"value":"k3y!","encoding":"base64"}}}`, root + ".hash.key.value", "custom_password_hash.hash.key.value is not valid base64"},
		{"hmac key too long", `{"algorithm":"hmac","hash":{` + hmacHash + `,"digest":"sha1","key":{"value":"` + strings.Repeat("k", 1025) + `"}}}`, root + ".hash.key.value", "custom_password_hash.hash.key.value must decode to 1 to 1024 bytes (got 1025)"},
		{"hmac wrong digest length", `{"algorithm":"hmac","hash":{` + hmacHash + `,"digest":"sha256","key":{"value":"k3y"}}}`, hv, "must decode to the 32 bytes of a sha256 digest (got 20 bytes)"},
		{"hmac utf8 hash", `{"algorithm":"hmac","hash":{"value":"abc","encoding":"utf8","digest":"sha1","key":{"value":"k3y"}}}`, he, "custom_password_hash.hash.encoding must be one of hex, base64, base64url for hmac"},

		// ldap.
		{"ldap with salt", `{"algorithm":"ldap","hash":{"value":"{SHA}q/eq1kOINtvlJqojGr3i0O73TUI="},"salt":{"value":"NaCl"}}`, root + ".salt", "custom_password_hash.salt is not allowed with algorithm ldap"},
		{"ldap hex encoding", `{"algorithm":"ldap","hash":{"value":"{SHA}q/eq1kOINtvlJqojGr3i0O73TUI=","encoding":"hex"}}`, he, "custom_password_hash.hash.encoding must be utf8 for ldap"},
		{"ldap without scheme", `{"algorithm":"ldap","hash":{"value":"q/eq1kOINtvlJqojGr3i0O73TUI="}}`, hv, "custom_password_hash.hash.value must be an RFC 2307 value"},
		{"ldap unclosed scheme", `{"algorithm":"ldap","hash":{"value":"{SHAq/eq1kOINtvlJqojGr3i0O73TUI="}}`, hv, "must be an RFC 2307 value"},
		{"ldap crypt", `{"algorithm":"ldap","hash":{"value":"{CRYPT}$6$salt$abc"}}`, hv, "custom_password_hash.hash.value uses the {CRYPT} scheme, which latch does not support"},
		{"ldap unknown scheme", `{"algorithm":"ldap","hash":{"value":"{PBKDF2}abc"}}`, hv, "custom_password_hash.hash.value uses the unsupported scheme {PBKDF2}; supported: {MD5}, {SMD5}, {SHA}, {SSHA}"},
		{"ldap bad base64", `{"algorithm":"ldap","hash":{"value":"{SHA}q/eq1kOI*tvlJqojGr3i0O73TUI="}}`, hv, "custom_password_hash.hash.value is not valid base64 after {SHA}"},
		{"ldap SHA with trailing salt", `{"algorithm":"ldap","hash":{"value":"{SHA}eSE9+XfsfUrxrXLwxvSj/WTNldMW8JPA"}}`, hv, "must hold the 20 bytes of a sha1 digest after {SHA} (got 24 bytes)"},
		{"ldap SSHA without salt", `{"algorithm":"ldap","hash":{"value":"{SSHA}q/eq1kOINtvlJqojGr3i0O73TUI="}}`, hv, "must hold the 20 bytes of a sha1 digest and a salt after {SSHA} (got 20 bytes)"},

		// bcrypt.
		{"bcrypt 2x", `{"algorithm":"bcrypt","hash":{"value":"$2x$05$BA.ZnBuLET5TeRddgPa/su8eArIBHOPdKWnLINW9QrUl7Q8i0u9Ga"}}`, hv, "custom_password_hash.hash.value must be a bcrypt hash: $2a$, $2b$ or $2y$"},
		{"bcrypt cost 31", `{"algorithm":"bcrypt","hash":{"value":"$2b$31$W86inKwM0vLYxFgXMU52s.Fakc5R3yNxiBQSVSrdP0Ot0VNhW1oli"}}`, hv, "custom_password_hash.hash.value has bcrypt cost 31; latch accepts 4 to 16"},
		{"bcrypt base64 encoding", `{"algorithm":"bcrypt","hash":{"value":"$2b$05$W86inKwM0vLYxFgXMU52s.Fakc5R3yNxiBQSVSrdP0Ot0VNhW1oli","encoding":"base64"}}`, he, "custom_password_hash.hash.encoding must be utf8 for bcrypt"},

		// pbkdf2.
		{"pbkdf2 not PHC", pbkdf2JSON("sha256:1000:c2FsdA:abc"), hv, "custom_password_hash.hash.value must be a PHC string"},
		{"pbkdf2 too many fields", pbkdf2JSON("$pbkdf2-sha256$i=1000$x$" + b64Salt + "$" + b64Hash), hv, "must be a PHC string"},
		{"pbkdf2 wrong id", pbkdf2JSON("$sha256$i=1000$" + b64Salt + "$" + b64Hash), hv, "custom_password_hash.hash.value must start with $pbkdf2-<digest>$ (got $sha256$)"},
		{"pbkdf2 whirlpool", pbkdf2JSON("$pbkdf2-whirlpool$i=1000$" + b64Salt + "$" + b64Hash), hv, "uses the digest whirlpool, which latch does not support for pbkdf2"},
		{"pbkdf2 mdc2", pbkdf2JSON("$pbkdf2-RSA-MDC2$i=1000$" + b64Salt + "$" + b64Hash), hv, "uses the digest rsa-mdc2, which latch does not support for pbkdf2"},
		{"pbkdf2 unknown digest", pbkdf2JSON("$pbkdf2-sha3-256$i=1000$" + b64Salt + "$" + b64Hash), hv, `uses an unknown digest "sha3-256"`},
		{"pbkdf2 with salt", `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha256$i=1000$` + b64Salt + `$` + b64Hash + `"},"salt":{"value":"NaCl"}}`, root + ".salt", "custom_password_hash.salt is not allowed with algorithm pbkdf2"},
		{"pbkdf2 hex encoding", `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha256$i=1000$` + b64Salt + `$` + b64Hash + `","encoding":"hex"}}`, he, "custom_password_hash.hash.encoding must be utf8 for pbkdf2"},
		{"pbkdf2 i too large", pbkdf2JSON("$pbkdf2-sha256$i=10000001,l=32$" + b64Salt + "$" + b64Hash), hv, "custom_password_hash.hash.value has i=10000001; latch accepts 1 to 10000000"},
		{"pbkdf2 i zero", pbkdf2JSON("$pbkdf2-sha256$i=0$" + b64Salt + "$" + b64Hash), hv, "has i=0; latch accepts 1 to 10000000"},
		{"pbkdf2 i overflows", pbkdf2JSON("$pbkdf2-sha256$i=99999999999$" + b64Salt + "$" + b64Hash), hv, "has i=99999999999, which is far too large"},
		{"pbkdf2 i negative", pbkdf2JSON("$pbkdf2-sha256$i=-5$" + b64Salt + "$" + b64Hash), hv, `has i="-5", which is not a non-negative integer`},
		{"pbkdf2 i times blocks", pbkdf2JSON("$pbkdf2-sha256$i=6000000$" + b64Salt + "$" + b64Hash + b64Hash), hv, "needs i=6000000 times 2 digest blocks for l=64, more than the 10000000 iterations latch accepts"},
		{"pbkdf2 l mismatch", pbkdf2JSON("$pbkdf2-sha256$i=1000,l=64$" + b64Salt + "$" + b64Hash), hv, "has l=64 but its hash is 32 bytes long"},
		{"pbkdf2 short key", pbkdf2JSON("$pbkdf2-sha256$i=1000$" + b64Salt + "$AAAAAA"), hv, "gives a key of 4 bytes; latch accepts 8 to 1024"},
		{"pbkdf2 unknown parameter", pbkdf2JSON("$pbkdf2-sha256$i=1000,r=8$" + b64Salt + "$" + b64Hash), hv, `has the parameter "r", which latch does not support (it reads i, l)`},
		{"pbkdf2 repeated parameter", pbkdf2JSON("$pbkdf2-sha256$i=1000,i=1$" + b64Salt + "$" + b64Hash), hv, `has the parameter "i" twice`},
		{"pbkdf2 malformed parameter", pbkdf2JSON("$pbkdf2-sha256$i1000$" + b64Salt + "$" + b64Hash), hv, `has a malformed parameter "i1000"`},
		{"pbkdf2 bad salt", pbkdf2JSON("$pbkdf2-sha256$i=1000$c2F*sdA$" + b64Hash), hv, "has a salt that is not valid base64"},
		{"pbkdf2 bad hash", pbkdf2JSON("$pbkdf2-sha256$i=1000$" + b64Salt + "$s8pg*ZBYG"), hv, "has a hash that is not valid base64"},

		// argon2.
		{"argon2d", argon2JSON("$argon2d$v=19$m=2048,t=2,p=1$" + b64Salt + "$Pff5lXdpHnxJ0Y7EuoDm+5+40yD/tufkvhNnxGNtLpM"), hv, "custom_password_hash.hash.value is an argon2d hash, which latch does not support (argon2i and argon2id are supported)"},
		{"argon2 v=16", argon2JSON("$argon2id$v=16$m=2048,t=2,p=1$" + b64Salt + "$1zyaWPzG4ta+SeZPDdHBvGf23LxZ6b3eTQCoGjHNe6Q"), hv, "uses argon2 version 16 (v=16 or no v=), which latch does not support (only v=19)"},
		{"argon2 without v", argon2JSON("$argon2id$m=2048,t=2,p=1$" + b64Salt + "$1zyaWPzG4ta+SeZPDdHBvGf23LxZ6b3eTQCoGjHNe6Q"), hv, "uses argon2 version 16"},
		{"argon2 v=20", argon2JSON("$argon2id$v=20$m=2048,t=2,p=1$" + b64Salt + "$" + b64Hash), hv, "has v=20; latch supports argon2 version 19 only"},
		{"argon2 wrong id", argon2JSON("$scrypt$v=19$m=2048,t=2,p=1$" + b64Salt + "$" + b64Hash), hv, "must start with $argon2i$ or $argon2id$ (got $scrypt$)"},
		{"argon2 not PHC", argon2JSON("argon2id:m=2048"), hv, "custom_password_hash.hash.value must be a PHC string"},
		{"argon2 memory too large", argon2JSON("$argon2id$v=19$m=2097152,t=1,p=1$" + b64Salt + "$" + b64Hash), hv, "has m=2097152 KiB; latch accepts at most 1048576 (1 GiB)"},
		{"argon2 t too large", argon2JSON("$argon2id$v=19$m=4096,t=101,p=1$" + b64Salt + "$" + b64Hash), hv, "has t=101; latch accepts 1 to 100"},
		{"argon2 t zero", argon2JSON("$argon2id$v=19$m=4096,t=0,p=1$" + b64Salt + "$" + b64Hash), hv, "has t=0; latch accepts 1 to 100"},
		{"argon2 p zero", argon2JSON("$argon2id$v=19$m=4096,t=1,p=0$" + b64Salt + "$" + b64Hash), hv, "has p=0; latch accepts 1 to 64"},
		{"argon2 p too large", argon2JSON("$argon2id$v=19$m=4096,t=1,p=65$" + b64Salt + "$" + b64Hash), hv, "has p=65; latch accepts 1 to 64"},
		{"argon2 m below 8p", argon2JSON("$argon2id$v=19$m=15,t=1,p=2$" + b64Salt + "$" + b64Hash), hv, "has m=15; argon2 needs at least 8 KiB per lane"},
		{"argon2 t times m", argon2JSON("$argon2id$v=19$m=1048576,t=5,p=1$" + b64Salt + "$" + b64Hash), hv, "has t×m=5242880; latch accepts at most 4194304"},
		{"argon2 missing p", argon2JSON("$argon2id$v=19$m=4096,t=1$" + b64Salt + "$" + b64Hash), hv, "must have the parameters m, t and p"},
		{"argon2 keyid", argon2JSON("$argon2id$v=19$m=4096,t=1,p=1,keyid=abc$" + b64Salt + "$" + b64Hash), hv, `has the parameter "keyid", which latch does not support (it reads m, t, p)`},
		{"argon2 no salt", argon2JSON("$argon2id$v=19$m=4096,t=1,p=1$$" + b64Hash), hv, "must have a salt"},
		{"argon2 short tag", argon2JSON("$argon2id$v=19$m=4096,t=1,p=1$" + b64Salt + "$AAAAAA"), hv, "gives a key of 4 bytes; latch accepts 8 to 1024"},
		{"argon2 with salt", `{"algorithm":"argon2","hash":{"value":"$argon2id$v=19$m=4096,t=3,p=1$` + b64Salt + `$` + b64Hash + `"},"salt":{"value":"NaCl"}}`, root + ".salt", "custom_password_hash.salt is not allowed with algorithm argon2"},
		{"argon2 base64 encoding", `{"algorithm":"argon2","hash":{"value":"$argon2id$v=19$m=4096,t=3,p=1$` + b64Salt + `$` + b64Hash + `","encoding":"base64"}}`, he, "custom_password_hash.hash.encoding must be utf8 for argon2"},

		// scrypt.
		{"scrypt without keylen", `{"algorithm":"scrypt","hash":{"value":"943aa682a92651e195717b0d405cd07d","encoding":"hex"}}`, root + ".keylen", "custom_password_hash.keylen is required for scrypt"},
		{"scrypt keylen string", `{"algorithm":"scrypt","hash":{"value":"943aa682a92651e195717b0d405cd07d","encoding":"hex"},"keylen":"16"}`, root + ".keylen", "custom_password_hash.keylen must be an integer"},
		{"scrypt keylen fraction", `{"algorithm":"scrypt","hash":{"value":"943aa682a92651e195717b0d405cd07d","encoding":"hex"},"keylen":16.5}`, root + ".keylen", "custom_password_hash.keylen must be an integer"},
		{"scrypt keylen too large", `{"algorithm":"scrypt","hash":{"value":"943aa682a92651e195717b0d405cd07d","encoding":"hex"},"keylen":2048}`, root + ".keylen", "custom_password_hash.keylen gives a key of 2048 bytes; latch accepts 8 to 1024"},
		{"scrypt keylen zero", `{"algorithm":"scrypt","hash":{"value":"943aa682a92651e195717b0d405cd07d","encoding":"hex"},"keylen":0}`, root + ".keylen", "custom_password_hash.keylen gives a key of 0 bytes"},
		{"scrypt keylen mismatch", `{"algorithm":"scrypt","hash":{"value":"943aa682a92651e195717b0d405cd07d","encoding":"hex"},"keylen":32}`, hv, "custom_password_hash.hash.value must decode to keylen (32) bytes (got 16 bytes)"},
		{"scrypt without encoding", `{"algorithm":"scrypt","hash":{"value":"943aa682a92651e195717b0d405cd07d"},"keylen":16}`, he, "custom_password_hash.hash.encoding is required for scrypt"},
		{"scrypt cost not a power of two", `{` + scryptOK + `,"cost":1000}`, root + ".cost", "custom_password_hash.cost must be a power of two greater than 1 (got 1000)"},
		{"scrypt cost one", `{` + scryptOK + `,"cost":1}`, root + ".cost", "custom_password_hash.cost must be a power of two greater than 1 (got 1)"},
		{"scrypt cost too large", `{` + scryptOK + `,"cost":2097152}`, root + ".cost", "custom_password_hash.cost must be at most 1048576 (got 2097152)"},
		{"scrypt cost overflows", `{` + scryptOK + `,"cost":1e30}`, root + ".cost", "custom_password_hash.cost must be an integer"},
		{"scrypt cost far too large", `{` + scryptOK + `,"cost":100000000000000000000}`, root + ".cost", "custom_password_hash.cost is far too large"},
		{"scrypt blockSize zero", `{` + scryptOK + `,"blockSize":0}`, root + ".blockSize", "custom_password_hash.blockSize must be from 1 to 64 (got 0)"},
		{"scrypt blockSize too large", `{` + scryptOK + `,"cost":2,"blockSize":65}`, root + ".blockSize", "custom_password_hash.blockSize must be from 1 to 64 (got 65)"},
		{"scrypt parallelization too large", `{` + scryptOK + `,"parallelization":17}`, root + ".parallelization", "custom_password_hash.parallelization must be from 1 to 16 (got 17)"},
		{"scrypt parallelization negative", `{` + scryptOK + `,"parallelization":-1}`, root + ".parallelization", "custom_password_hash.parallelization must be from 1 to 16 (got -1)"},
		{"scrypt memory", `{` + scryptOK + `,"cost":1048576,"blockSize":16}`, root + ".cost", "custom_password_hash.cost with blockSize 16 needs 2048 MiB of memory; latch allows 1024 MiB"},
		{"scrypt work", `{` + scryptOK + `,"cost":1048576,"blockSize":8,"parallelization":4}`, root + ".cost", "custom_password_hash.cost × blockSize × parallelization is 33554432; latch allows at most 8388608"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stored, err := importhash.FromCustom(json.RawMessage(tc.raw))
			if stored != "" {
				t.Errorf("stored %q alongside an error", stored)
			}
			checkErr(t, tc.raw, err, tc.field, tc.want)
		})
	}
}

// TestValidationAtTheLimits: parameters exactly at each limit are accepted (the refusals
// above are therefore the limits, not something stricter).
func TestValidationAtTheLimits(t *testing.T) {
	for _, raw := range []string{
		`{` + scryptOK + `,"cost":1048576,"blockSize":8,"parallelization":1}`,
		`{` + scryptOK + `,"cost":524288,"blockSize":8,"parallelization":2}`,
		argon2JSON("$argon2id$v=19$m=1048576,t=4,p=1$" + b64Salt + "$" + b64Hash),
		argon2JSON("$argon2i$v=19$m=41943,t=100,p=64$" + b64Salt + "$" + b64Hash),
		pbkdf2JSON("$pbkdf2-sha256$i=10000000,l=32$" + b64Salt + "$" + b64Hash),
		pbkdf2JSON("$pbkdf2-sha256$i=5000000,l=64$" + b64Salt + "$" + b64Hash + b64Hash),
		`{"algorithm":"bcrypt","hash":{"value":"$2b$16$W86inKwM0vLYxFgXMU52s.Fakc5R3yNxiBQSVSrdP0Ot0VNhW1oli"},"salt":{"value":"NaCl"}}`,
		`{"algorithm":"md5",` + md5Hex + `,"salt":{"value":"` + strings.Repeat("ab", 1024) + `","encoding":"hex"}}`,
	} {
		if _, err := importhash.FromCustom(json.RawMessage(raw)); err != nil {
			t.Errorf("%.120s…: %v", raw, err)
		}
	}
}
