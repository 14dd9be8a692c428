package importhash_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchauth/latch/password/importhash"
)

func (v vector) pass() string {
	if v.password == "" {
		return pw
	}
	return v.password
}

// TestVectors: every independently made hash accepts its password and refuses a wrong one
// and the empty one.
func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			stored, err := importhash.FromCustom(json.RawMessage(v.raw))
			if err != nil {
				t.Fatalf("FromCustom: %v", err)
			}
			wrong := []string{"", v.pass() + "x", v.pass()[1:], strings.ToUpper(v.pass())}
			if v.plainBcrypt {
				var in struct{ Hash struct{ Value string } }
				if err := json.Unmarshal([]byte(v.raw), &in); err != nil {
					t.Fatal(err)
				}
				if stored != in.Hash.Value {
					t.Fatalf("stored %q, want the bcrypt hash unchanged %q", stored, in.Hash.Value)
				}
				if importhash.IsImported(stored) {
					t.Fatal("IsImported(plain bcrypt) = true")
				}
				if err := bcrypt.CompareHashAndPassword([]byte(stored), []byte(v.pass())); err != nil {
					t.Fatalf("bcrypt refuses the right password: %v", err)
				}
				for _, w := range wrong {
					if bcrypt.CompareHashAndPassword([]byte(stored), []byte(w)) == nil {
						t.Errorf("bcrypt accepts wrong password %q", w)
					}
				}
				return
			}
			if !importhash.IsImported(stored) {
				t.Fatalf("IsImported(%q) = false", stored)
			}
			if !importhash.Verify(stored, v.pass()) {
				t.Fatal("Verify refuses the right password")
			}
			for _, w := range wrong {
				if importhash.Verify(stored, w) {
					t.Errorf("Verify accepts wrong password %q", w)
				}
			}
		})
	}
}

// TestStoredForm: the stored form is versioned, holds no plaintext, is stable, and is the
// same however the input encoded the same hash.
func TestStoredForm(t *testing.T) {
	const prefix = "$latch-import$1$"
	for _, v := range vectors {
		if v.plainBcrypt {
			continue
		}
		stored, err := importhash.FromCustom(json.RawMessage(v.raw))
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		body, ok := strings.CutPrefix(stored, prefix)
		if !ok {
			t.Fatalf("%s: stored %q lacks %q", v.name, stored, prefix)
		}
		decoded, err := base64.RawURLEncoding.DecodeString(body)
		if err != nil {
			t.Fatalf("%s: body is not unpadded base64url: %v", v.name, err)
		}
		if !json.Valid(decoded) {
			t.Fatalf("%s: body is not JSON: %s", v.name, decoded)
		}
		if strings.Contains(string(decoded), v.pass()) {
			t.Errorf("%s: stored form contains the password: %s", v.name, decoded)
		}
		again, _ := importhash.FromCustom(json.RawMessage(v.raw))
		if again != stored {
			t.Errorf("%s: FromCustom is not stable: %q then %q", v.name, stored, again)
		}
	}

	same := [][]string{
		{ // one md5 digest: hex in both cases, base64, base64url; default vs explicit salt fields
			`{"algorithm":"md5","hash":{"value":"e1bc0bb1dc7906017e25f64330178c2f","encoding":"hex"},"salt":{"value":"NaCl"}}`,
			`{"algorithm":"MD5","hash":{"value":"E1BC0BB1DC7906017E25F64330178C2F","encoding":"HEX"},"salt":{"value":"4e61436c","encoding":"hex","position":"prefix"}}`,
			`{"hash":{"encoding":"base64","value":"4bwLsdx5BgF+JfZDMBeMLw=="},"salt":{"value":"TmFDbA==","encoding":"base64"},"algorithm":"md5","password":{"encoding":"utf8"}}`,
			`{"algorithm":"md5","hash":{"value":"4bwLsdx5BgF-JfZDMBeMLw","encoding":"base64url"},"salt":{"value":"TmFDbA","encoding":"base64url"},"keylen":null}`,
		},
		{ // password encoding aliases
			`{"algorithm":"sha1","hash":{"value":"ab55ea7979325217de60c7b3a87aa885592d4909","encoding":"hex"},"password":{"encoding":"latin1"}}`,
			`{"algorithm":"sha1","hash":{"value":"ab55ea7979325217de60c7b3a87aa885592d4909","encoding":"hex"},"password":{"encoding":"binary"}}`,
			`{"algorithm":"sha1","hash":{"value":"ab55ea7979325217de60c7b3a87aa885592d4909","encoding":"hex"},"password":{"encoding":"ASCII"}}`,
		},
		{
			`{"algorithm":"md5","hash":{"value":"e4d0bb48f76a1ef2c6124b782b4405f1","encoding":"hex"},"password":{"encoding":"utf16le"}}`,
			`{"algorithm":"md5","hash":{"value":"e4d0bb48f76a1ef2c6124b782b4405f1","encoding":"hex"},"password":{"encoding":"utf-16le"}}`,
			`{"algorithm":"md5","hash":{"value":"e4d0bb48f76a1ef2c6124b782b4405f1","encoding":"hex"},"password":{"encoding":"ucs2"}}`,
		},
		{
			`{"algorithm":"md5","hash":{"value":"e4d0bb48f76a1ef2c6124b782b4405f1","encoding":"hex"}}`,
			`{"algorithm":"md5","hash":{"value":"e4d0bb48f76a1ef2c6124b782b4405f1","encoding":"hex"},"password":{"encoding":"utf-8"}}`,
			`{"algorithm":"md5","hash":{"value":"e4d0bb48f76a1ef2c6124b782b4405f1","encoding":"hex"},"password":{}}`,
		},
		{ // pbkdf2 digest aliases, explicit and default i
			`{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha512$i=100000,l=64$c2FsdHNhbHQ$iDxBSr8QCZC5ganh2xon1U/va3MxpXDO974FJvN+rhFYE1/TOhrxuw0y/5lYqyFgtY5IeZG4EaWG64ETDX3Lxg"}}`,
			`{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-RSA-SHA512$c2FsdHNhbHQ$iDxBSr8QCZC5ganh2xon1U/va3MxpXDO974FJvN+rhFYE1/TOhrxuw0y/5lYqyFgtY5IeZG4EaWG64ETDX3Lxg"}}`,
		},
		{ // scrypt defaults written out; salt.position means nothing to scrypt
			`{"algorithm":"scrypt","hash":{"value":"943aa682a92651e195717b0d405cd07d","encoding":"hex"},"keylen":16,"cost":2048,"blockSize":4,"parallelization":2}`,
			`{"algorithm":"scrypt","hash":{"value":"lDqmgqkmUeGVcXsNQFzQfQ==","encoding":"base64"},"keylen":16,"cost":2048,"blockSize":4,"parallelization":2}`,
		},
	}
	for _, group := range same {
		first, err := importhash.FromCustom(json.RawMessage(group[0]))
		if err != nil {
			t.Fatalf("%s: %v", group[0], err)
		}
		for _, raw := range group[1:] {
			got, err := importhash.FromCustom(json.RawMessage(raw))
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			if got != first {
				t.Errorf("%s\nstored %q\nwant the same as %s\n     %q", raw, got, group[0], first)
			}
		}
	}
}

// TestRoundTrip follows an import to a login: FromCustom, IsImported, Verify.
func TestRoundTrip(t *testing.T) {
	raw := json.RawMessage(`{"algorithm":"scrypt","hash":{"value":"097f6197e1b41538f723e32aa7a68e8d76227d8e432ce5faa4882a913032db29","encoding":"hex"},"salt":{"value":"abc123","encoding":"utf8"},"keylen":32,"cost":4096}`)
	stored, err := importhash.FromCustom(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !importhash.IsImported(stored) {
		t.Fatalf("IsImported(%q) = false: the login would try bcrypt", stored)
	}
	if importhash.Verify(stored, "Password") || importhash.Verify(stored, "password ") {
		t.Error("Verify accepts a near miss")
	}
	if !importhash.Verify(stored, "password") {
		t.Error("Verify refuses the imported password")
	}

	// A plain bcrypt import goes to the ordinary bcrypt check instead.
	plain, err := importhash.FromBcrypt("$2b$05$W86inKwM0vLYxFgXMU52s.Fakc5R3yNxiBQSVSrdP0Ot0VNhW1oli")
	if err != nil {
		t.Fatal(err)
	}
	if importhash.IsImported(plain) {
		t.Error("IsImported(bcrypt) = true")
	}
	if importhash.Verify(plain, pw) {
		t.Error("Verify accepted a plain bcrypt hash; password.Hasher checks those")
	}
}

func TestFromBcrypt(t *testing.T) {
	for _, h := range []string{
		"$2b$05$W86inKwM0vLYxFgXMU52s.Fakc5R3yNxiBQSVSrdP0Ot0VNhW1oli", // mkpasswd -m bcrypt
		"$2a$05$yY4CgzPcI98iWp9p8TzaTOucDYb2WmFUHr4DcI4hSN/ii5zud43Au", // mkpasswd -m bcrypt-a
		"$2y$05$BA.ZnBuLET5TeRddgPa/su8eArIBHOPdKWnLINW9QrUl7Q8i0u9Ga", // htpasswd -B
	} {
		stored, err := importhash.FromBcrypt(h)
		if err != nil {
			t.Fatalf("FromBcrypt(%q): %v", h, err)
		}
		if stored != h {
			t.Errorf("FromBcrypt(%q) = %q, want it unchanged", h, stored)
		}
		if err := bcrypt.CompareHashAndPassword([]byte(stored), []byte(pw)); err != nil {
			t.Errorf("x/crypto/bcrypt refuses %q: %v", h, err)
		}
		if bcrypt.CompareHashAndPassword([]byte(stored), []byte(pw+"!")) == nil {
			t.Errorf("x/crypto/bcrypt accepts a wrong password for %q", h)
		}
	}
	// Auth0's documented example: "hello", cost 10.
	if _, err := importhash.FromBcrypt("$2b$10$nFguVi9LsCAcvTZFKQlRKeLVydo8ETv483lkNsSFI/Wl1Rz1Ypo1K"); err != nil {
		t.Error(err)
	}

	for _, tc := range []struct{ hash, want string }{
		{"", "password_hash must be a bcrypt hash"},
		{"correct horse battery staple", "password_hash must be a bcrypt hash"},
		{"$2x$05$BA.ZnBuLET5TeRddgPa/su8eArIBHOPdKWnLINW9QrUl7Q8i0u9Ga", "password_hash must be a bcrypt hash"},
		{"$2$05$BA.ZnBuLET5TeRddgPa/su8eArIBHOPdKWnLINW9QrUl7Q8i0u9Ga", "password_hash must be a bcrypt hash"},
		{"$2a$05$yY4CgzPcI98iWp9p8TzaTOucDYb2WmFUHr4DcI4hSN/ii5zud43A", "password_hash must be a bcrypt hash"},
		{"$2a$05$yY4CgzPcI98iWp9p8TzaTOucDYb2WmFUHr4DcI4hSN/ii5zud43Au ", "password_hash must be a bcrypt hash"},
		{"$2a$5$yY4CgzPcI98iWp9p8TzaTOucDYb2WmFUHr4DcI4hSN/ii5zud43Au", "password_hash must be a bcrypt hash"},
		{"$2a$05$yY4CgzPcI98iWp9p8TzaTOucDYb2WmFUHr4DcI4hSN/ii5zud4!Au", "password_hash must be a bcrypt hash"},
		{"$2a$31$yY4CgzPcI98iWp9p8TzaTOucDYb2WmFUHr4DcI4hSN/ii5zud43Au", "password_hash has bcrypt cost 31; latch accepts 4 to 16"},
		{"$2a$17$yY4CgzPcI98iWp9p8TzaTOucDYb2WmFUHr4DcI4hSN/ii5zud43Au", "password_hash has bcrypt cost 17; latch accepts 4 to 16"},
		{"$2a$03$yY4CgzPcI98iWp9p8TzaTOucDYb2WmFUHr4DcI4hSN/ii5zud43Au", "password_hash has bcrypt cost 3"},
	} {
		_, err := importhash.FromBcrypt(tc.hash)
		checkErr(t, tc.hash, err, "password_hash", tc.want)
	}
}

// checkErr asserts that err is a *FieldError for field whose text holds want.
func checkErr(t *testing.T, input string, err error, field, want string) {
	t.Helper()
	if len(input) > 200 {
		input = input[:200] + "…"
	}
	if err == nil {
		t.Errorf("%s: no error, want %q", input, want)
		return
	}
	if !errors.Is(err, importhash.ErrInvalid) {
		t.Errorf("%s: error %q does not wrap ErrInvalid", input, err)
	}
	var fe *importhash.FieldError
	if !errors.As(err, &fe) {
		t.Errorf("%s: error %q is not a *FieldError", input, err)
	} else if fe.Field != field {
		t.Errorf("%s: error field %q, want %q (error %q)", input, fe.Field, field, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%s:\n error %q\n want  %q", input, err, want)
	}
}

func TestVerifyRefusesBadStoredForms(t *testing.T) {
	enc := func(body string) string {
		return "$latch-import$1$" + base64.RawURLEncoding.EncodeToString([]byte(body))
	}
	good, err := importhash.FromCustom(json.RawMessage(`{"algorithm":"md5","hash":{"value":"nMKuihunqT2jm0b8EBnEgQ==","encoding":"base64"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !importhash.Verify(good, pw) {
		t.Fatal("the control case does not verify")
	}
	body, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(good, "$latch-import$1$"))
	for name, stored := range map[string]string{
		"empty":           "",
		"bcrypt":          "$2b$05$W86inKwM0vLYxFgXMU52s.Fakc5R3yNxiBQSVSrdP0Ot0VNhW1oli",
		"future version":  "$latch-import$2$" + strings.TrimPrefix(good, "$latch-import$1$"),
		"not base64url":   "$latch-import$1$!!!",
		"padded":          good + "==",
		"not JSON":        enc("md5"),
		"trailing data":   enc(string(body) + "{}"),
		"unknown field":   enc(strings.Replace(string(body), `{"alg"`, `{"x":1,"alg"`, 1)),
		"unknown alg":     enc(strings.Replace(string(body), `"md5"`, `"md6"`, 1)),
		"truncated hash":  enc(`{"alg":"md5","digest":"md5","hash":"nMKuihunqT2jm0b8EBnE"}`),
		"digest mismatch": enc(`{"alg":"md5","digest":"sha1","hash":"nMKuihunqT2jm0b8EBnEgQ=="}`),
		// Parameters past the limits must not be computed even if a row was altered: each
		// of these would take minutes or gigabytes.
		"scrypt cost":     enc(`{"alg":"scrypt","hash":"lDqmgqkmUeGVcXsNQFzQfQ==","cost":1073741824,"block_size":8,"parallelization":1}`),
		"argon2 memory":   enc(`{"alg":"argon2","variant":"argon2id","salt":"c2FsdHNhbHQ=","hash":"lDqmgqkmUeGVcXsNQFzQfQ==","iterations":1,"memory":16777216,"threads":1}`),
		"argon2 time":     enc(`{"alg":"argon2","variant":"argon2id","salt":"c2FsdHNhbHQ=","hash":"lDqmgqkmUeGVcXsNQFzQfQ==","iterations":100000,"memory":64,"threads":1}`),
		"pbkdf2 i":        enc(`{"alg":"pbkdf2","digest":"sha256","hash":"lDqmgqkmUeGVcXsNQFzQfQ==","iterations":2000000000}`),
		"bcrypt cost":     enc(`{"alg":"bcrypt","salt":"TmFDbA==","salt_position":"prefix","bcrypt":"$2a$31$yY4CgzPcI98iWp9p8TzaTOucDYb2WmFUHr4DcI4hSN/ii5zud43Au"}`),
		"argon2d variant": enc(`{"alg":"argon2","variant":"argon2d","salt":"c2FsdHNhbHQ=","hash":"lDqmgqkmUeGVcXsNQFzQfQ==","iterations":1,"memory":64,"threads":1}`),
	} {
		if importhash.Verify(stored, pw) {
			t.Errorf("%s: Verify accepted %q", name, stored)
		}
	}
}

func TestIsImported(t *testing.T) {
	for stored, want := range map[string]bool{
		"$latch-import$1$eyJ9":  true,
		"$latch-import$9$x":     true, // a later version is still not bcrypt
		"$2a$10$abc":            false,
		"":                      false,
		"latch-import$1$eyJ9":   false,
		" $latch-import$1$eyJ9": false,
	} {
		if got := importhash.IsImported(stored); got != want {
			t.Errorf("IsImported(%q) = %v, want %v", stored, got, want)
		}
	}
}

// TestPasswordEncodingsDiffer: each password encoding feeds different bytes to the hash,
// so a vector of one encoding must refuse the same password under another.
func TestPasswordEncodingsDiffer(t *testing.T) {
	const md5UTF16 = "e4d0bb48f76a1ef2c6124b782b4405f1" // py: md5(unicodePW.encode('utf-16-le'))
	for _, enc := range []string{"utf8", "latin1"} {
		stored, err := importhash.FromCustom(json.RawMessage(`{"algorithm":"md5","hash":{"value":"` + md5UTF16 + `","encoding":"hex"},"password":{"encoding":"` + enc + `"}}`))
		if err != nil {
			t.Fatal(err)
		}
		if importhash.Verify(stored, unicodePW) {
			t.Errorf("a utf16le digest verified with password encoding %s", enc)
		}
	}
}

// TestBcryptSaltCountsToward72Bytes: bcrypt reads 72 bytes of salt and password together,
// so a salted import ignores what the password has past 72 − len(salt) bytes.
func TestBcryptSaltCountsToward72Bytes(t *testing.T) {
	long := strings.Repeat("p", 80)
	h, err := bcrypt.GenerateFromPassword([]byte("NaCl"+long[:68]), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := importhash.FromCustom(json.RawMessage(`{"algorithm":"bcrypt","hash":{"value":"` + string(h) + `"},"salt":{"value":"NaCl"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !importhash.Verify(stored, long) || !importhash.Verify(stored, long[:68]+"anything") {
		t.Error("the bytes past 72 changed the outcome")
	}
	if importhash.Verify(stored, long[:67]) {
		t.Error("a password one byte short of the limit verified")
	}
}
