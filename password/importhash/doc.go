// Package importhash reads the password hashes that users imported from Auth0 carry, and
// verifies passwords against them until latch replaces them with its own bcrypt hash.
//
// An imported user (POST /api/v2/jobs/users-imports, or POST /api/v2/users) has either a
// password_hash, a bcrypt string, or a custom_password_hash object naming one of Auth0's
// algorithms: argon2, bcrypt, hmac, ldap, md4, md5, sha1, sha256, sha512, pbkdf2, scrypt.
// FromBcrypt and FromCustom validate them and return the string to store as the user's
// password hash; their errors name the offending field, so that an import job can report
// them per line.
//
// # Stored form
//
// A bcrypt hash ($2a$, $2b$, $2y$) is stored exactly as given: golang.org/x/crypto/bcrypt
// reads all three prefixes, so the login checks it like any hash latch made itself. So is a
// custom_password_hash of algorithm bcrypt without salt, for a UTF-8 password.
//
// Everything else is stored as
//
//	$latch-import$1$<base64url, unpadded, of the JSON of the normalised spec>
//
// The spec holds the algorithm and its parameters with every value decoded to bytes, every
// default filled in and every alias resolved (ucs2 is utf16le; ascii and binary are latin1;
// pbkdf2's OpenSSL digest names become md4, md5, ripemd160, sha1, sha224, sha256, sha384 or
// sha512). It holds salts, keys and the expected digest, never the password. The same input
// always gives the same string, and the "1" is a version: a later format gets a new number
// and this one stays readable. IsImported recognises the prefix; Verify checks a password,
// and the login then stores a fresh bcrypt hash in its place.
//
// # Password bytes
//
// custom_password_hash.password.encoding says which bytes of the password the old system
// hashed: utf8 (the default), utf16le (ucs2), or latin1 (ascii, binary) — the low byte of
// each UTF-16 code unit, as Node.js encodes. A salt joins the password as prefix (the
// default) or suffix for md4, md5, sha1, sha256, sha512, hmac and bcrypt; scrypt takes it as
// its salt input; argon2, pbkdf2 and ldap carry their salt inside hash.value and refuse a
// separate one. Salted bcrypt reads the first 72 bytes of salt and password together, as
// bcrypt does.
//
// # Limits
//
// Verification uses the parameters the import carried, so FromCustom refuses any that would
// let one line of an import file make a login take minutes or exhaust memory; Verify checks
// them again. The limits are the Max* and Min* constants:
//
//   - the custom_password_hash object: at most 8 KiB of JSON; salts and HMAC keys at most
//     1024 bytes once decoded;
//   - derived keys (scrypt keylen, pbkdf2 l, argon2 tag): 8 to 1024 bytes;
//   - bcrypt: cost 4 to 16;
//   - pbkdf2: i at most 10 000 000, and i × ⌈l / digest size⌉ at most 10 000 000;
//   - scrypt: cost a power of two from 2 to 2^20, blockSize 1 to 64, parallelization 1 to
//     16, 128 × cost × blockSize at most 1 GiB, cost × blockSize × parallelization at most
//     2^23;
//   - argon2: m at most 1 GiB (1 048 576 KiB) and at least 8 KiB per lane, t 1 to 100,
//     p 1 to 64, t × m at most 4 194 304.
//
// Not supported, each refused with its own message: the whirlpool digest (hmac and pbkdf2)
// and mdc2 (pbkdf2), which Go's libraries do not provide; argon2d and argon2 version 16,
// which golang.org/x/crypto/argon2 does not compute; the LDAP {CRYPT} scheme, whose meaning
// depends on the system that made it.
package importhash
