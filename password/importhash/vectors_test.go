package importhash_test

// Test vectors, each made by a tool that shares no code with latch. testdata/make_vectors.sh
// reproduces them (the random salts of slappasswd and bcrypt differ from run to run):
//   - "py": Python 3.11 hashlib / hmac (OpenSSL 3.0) — md5, sha*, ripemd160, hmac,
//     hashlib.pbkdf2_hmac, hashlib.scrypt;
//   - "openssl": the openssl 3.0 CLI with its legacy provider — everything MD4
//     (openssl dgst -md4, -hmac, openssl kdf PBKDF2);
//   - "slappasswd": OpenLDAP's slappasswd, with the pw-sha2 module for {SHA256}…{SSHA512};
//   - "mkpasswd": libxcrypt bcrypt ($2b$, and $2a$ with -m bcrypt-a); "htpasswd": Apache's
//     bcrypt ($2y$);
//   - "argon2": the argon2 reference CLI (Debian package argon2, version 20171227);
//   - "auth0 doc": examples from Auth0's "Bulk User Import Database Schema and Examples",
//     whose passwords were found with py (hmac: "test"; scrypt: "password").

const (
	// pw is the password of every vector unless the vector says otherwise.
	pw = "correct horse battery staple"
	// unicodePW has non-Latin-1 characters and one outside the BMP, to tell the password
	// encodings apart.
	unicodePW = "pässwörd €😀"
)

type vector struct {
	name     string
	raw      string // custom_password_hash as an import file carries it
	password string // "" means pw
	// plainBcrypt: FromCustom returns the bcrypt hash itself, not an imported form.
	plainBcrypt bool
}

var vectors = []vector{
	// md4 — openssl dgst -md4.
	{name: "md4/hex", raw: `{"algorithm":"md4","hash":{"value":"131adffe1d8712c1b624ba62b5bcf3fd","encoding":"hex"}}`},
	{name: "md4/base64", raw: `{"algorithm":"md4","hash":{"value":"Exrf/h2HEsG2JLpitbzz/Q==","encoding":"base64"}}`},
	{name: "md4/salt-suffix", raw: `{"algorithm":"md4","hash":{"value":"98f6d662ddb9b500b523ba3ba3ee2265","encoding":"hex"},"salt":{"value":"NaCl","position":"suffix"}}`},

	// md5 — py hashlib.md5.
	{name: "md5/hex/salt-prefix-default", raw: `{"algorithm":"md5","hash":{"value":"e1bc0bb1dc7906017e25f64330178c2f","encoding":"hex"},"salt":{"value":"NaCl"}}`},
	{name: "md5/HEX/salt-suffix", raw: `{"algorithm":"md5","hash":{"value":"E44DDB7639BAD95CBB9338A0657C8A78","encoding":"hex"},"salt":{"value":"NaCl","encoding":"utf8","position":"suffix"}}`},
	{name: "md5/base64", raw: `{"algorithm":"md5","hash":{"value":"nMKuihunqT2jm0b8EBnEgQ==","encoding":"base64"}}`},
	// auth0 doc: MD5('salt' + 'password') = '67A1E09BB1F83F5007DC119C14D663AA'.
	{name: "md5/auth0-doc", raw: `{"algorithm":"md5","hash":{"value":"67A1E09BB1F83F5007DC119C14D663AA","encoding":"hex"},"salt":{"value":"salt","position":"prefix"}}`, password: "password"},

	// sha1 — py hashlib.sha1.
	{name: "sha1/hex/salt-hex-prefix", raw: `{"algorithm":"sha1","hash":{"value":"e95eb2b64d60280845cc2636c70aaede4fe91c63","encoding":"hex"},"salt":{"value":"00FF10","encoding":"hex","position":"prefix"}}`},
	{name: "sha1/base64url-unpadded", raw: `{"algorithm":"sha1","hash":{"value":"q_eq1kOINtvlJqojGr3i0O73TUI","encoding":"base64url"}}`},
	{name: "sha1/base64-with-url-alphabet", raw: `{"algorithm":"sha1","hash":{"value":"q_eq1kOINtvlJqojGr3i0O73TUI","encoding":"base64"}}`},

	// sha256 — py hashlib.sha256.
	{name: "sha256/base64/salt-base64-suffix", raw: `{"algorithm":"sha256","hash":{"value":"mNgwbAheUYflbJAUiSOfUZWjvyO4xpcsipfAKbt96mc=","encoding":"base64"},"salt":{"value":"c2FsdHk/Pz8+","encoding":"base64","position":"suffix"}}`},
	{name: "sha256/hex", raw: `{"algorithm":"sha256","hash":{"value":"c4bbcb1fbec99d65bf59d85c8cb62ee2db963f0fe106f483d9afa73bd4e39a8a","encoding":"hex"}}`},

	// sha512 — py hashlib.sha512.
	{name: "sha512/hex/salt-suffix", raw: `{"algorithm":"sha512","hash":{"value":"c8654d23fa47930e4cd39176f14c11daef1bd9c659505c307470c71f0317e9af1d1d3dfc56d6565c6ed52afd7212c1e62bf119a9a84428ba4d598bf2b752ddca","encoding":"hex"},"salt":{"value":"NaCl","position":"suffix"}}`},
	{name: "sha512/base64/salt-base64url-prefix", raw: `{"algorithm":"sha512","hash":{"value":"nCPkZiZwamsxGpBauQ8wIbcy4XB/su2CQYMqWq4LvwcsY3ov5cLA1YGpprjff4IGjIvSAZ3vhH9rzGrLW3wVPg==","encoding":"base64"},"salt":{"value":"c2FsdHk_Pz8-","encoding":"base64url"}}`},

	// Password encodings of unicodePW — py: .encode('utf-16-le'); latin1 is the low byte
	// of each UTF-16 code unit (70e4737377f6726420ac3d00); utf8 is .encode().
	{name: "password/utf16le", raw: `{"algorithm":"md5","hash":{"value":"e4d0bb48f76a1ef2c6124b782b4405f1","encoding":"hex"},"password":{"encoding":"utf16le"}}`, password: unicodePW},
	{name: "password/ucs2", raw: `{"algorithm":"md5","hash":{"value":"e4d0bb48f76a1ef2c6124b782b4405f1","encoding":"hex"},"password":{"encoding":"ucs2"}}`, password: unicodePW},
	{name: "password/latin1", raw: `{"algorithm":"sha1","hash":{"value":"ab55ea7979325217de60c7b3a87aa885592d4909","encoding":"hex"},"password":{"encoding":"latin1"}}`, password: unicodePW},
	{name: "password/binary", raw: `{"algorithm":"sha1","hash":{"value":"ab55ea7979325217de60c7b3a87aa885592d4909","encoding":"hex"},"password":{"encoding":"binary"}}`, password: unicodePW},
	{name: "password/ascii", raw: `{"algorithm":"sha1","hash":{"value":"ab55ea7979325217de60c7b3a87aa885592d4909","encoding":"hex"},"password":{"encoding":"ascii"}}`, password: unicodePW},
	{name: "password/utf8", raw: `{"algorithm":"sha256","hash":{"value":"29f9fb3e4d1820a1ee62b14cdbc7e15660edbf4d988b17d80f5c4c060f69700d","encoding":"hex"},"password":{"encoding":"utf8"}}`, password: unicodePW},

	// hmac — md4: openssl dgst -md4 -hmac k3y; others: py hmac.new(b"k3y", pw, digest).
	{name: "hmac/md4", raw: `{"algorithm":"hmac","hash":{"value":"ae8f7b597af095535188b087953a46c5","encoding":"hex","digest":"md4","key":{"value":"k3y"}}}`},
	{name: "hmac/md5", raw: `{"algorithm":"hmac","hash":{"value":"c3f6c40fda7f5b789a6ed2c9d90273d9","encoding":"hex","digest":"md5","key":{"value":"k3y","encoding":"utf8"}}}`},
	{name: "hmac/ripemd160", raw: `{"algorithm":"hmac","hash":{"value":"607bf0891d73ef434af6460da09422937f9871d5","encoding":"hex","digest":"ripemd160","key":{"value":"k3y"}}}`},
	{name: "hmac/sha1", raw: `{"algorithm":"hmac","hash":{"value":"81ba900214c85cdc45f2c81e74fad90fd38aa947","encoding":"hex","digest":"sha1","key":{"value":"k3y"}}}`},
	{name: "hmac/sha224", raw: `{"algorithm":"hmac","hash":{"value":"4da706267e25809bbe28b2148641604a9fce6419fa6786fd98fb431d","encoding":"hex","digest":"sha224","key":{"value":"k3y"}}}`},
	{name: "hmac/sha256", raw: `{"algorithm":"hmac","hash":{"value":"56a18dda5c9cef0ea139b25232789eab65027575ad38276f769b7c2166d40eee","encoding":"hex","digest":"sha256","key":{"value":"k3y"}}}`},
	{name: "hmac/sha384", raw: `{"algorithm":"hmac","hash":{"value":"8108c669d70666d74caf3f1266e6f40f9564872fae6c44c47016fddd218be0ff706a4f2af6fd849cb358549aea9b345d","encoding":"hex","digest":"sha384","key":{"value":"k3y"}}}`},
	{name: "hmac/sha512", raw: `{"algorithm":"hmac","hash":{"value":"d0fd0d35d310fdfff2663e51d00975e316f90ee7d83ae5f3d94c801f7903b622ffeadce3282d8a52734ae84bbd1ea85a7c0be4858d0cd304bc2a9f5c66b657ff","encoding":"hex","digest":"sha512","key":{"value":"k3y"}}}`},
	{name: "hmac/sha256/key-hex/base64", raw: `{"algorithm":"hmac","hash":{"value":"kX9dkfM+Gcl7lqnZow1SSlKOd1o4WWcJIc+YBKZFsF0=","encoding":"base64","digest":"sha256","key":{"value":"0001fe","encoding":"hex"}}}`},
	{name: "hmac/sha512/key-base64/base64", raw: `{"algorithm":"hmac","hash":{"value":"teela7T7UNSjAIxVC+Gx9aj/8DM0kIw4MOoRgYtJnKJvJ3YRWefhp2VIo3Wnk+vSpxhkDLB4HmFVX4ajsSs4mQ==","encoding":"base64","digest":"sha512","key":{"value":"a2V5IQ==","encoding":"base64"}}}`},
	{name: "hmac/sha1/salt-suffix", raw: `{"algorithm":"hmac","hash":{"value":"057db3ab9e4ba63bb47cd44f19e2705deaddf098","encoding":"hex","digest":"sha1","key":{"value":"k3y"}},"salt":{"value":"NaCl","position":"suffix"}}`},
	{name: "hmac/auth0-doc", raw: `{"algorithm":"hmac","hash":{"value":"cg7f42jH39/2EaAU4wNd4s2lKIk=","encoding":"base64","digest":"sha1","key":{"value":"736868","encoding":"hex"}}}`, password: "test"},

	// ldap — slappasswd -h '{SCHEME}' -s pw.
	{name: "ldap/MD5", raw: `{"algorithm":"ldap","hash":{"value":"{MD5}nMKuihunqT2jm0b8EBnEgQ==","encoding":"utf8"}}`},
	{name: "ldap/SMD5", raw: `{"algorithm":"ldap","hash":{"value":"{SMD5}ni7XW75QJvivFNTm1aFk/QpigTQ="}}`},
	{name: "ldap/SHA", raw: `{"algorithm":"ldap","hash":{"value":"{SHA}q/eq1kOINtvlJqojGr3i0O73TUI="}}`},
	{name: "ldap/SSHA", raw: `{"algorithm":"ldap","hash":{"value":"{SSHA}eSE9+XfsfUrxrXLwxvSj/WTNldMW8JPA"}}`},
	{name: "ldap/ssha-lower-case", raw: `{"algorithm":"ldap","hash":{"value":"{ssha}eSE9+XfsfUrxrXLwxvSj/WTNldMW8JPA"}}`},
	{name: "ldap/SHA256", raw: `{"algorithm":"ldap","hash":{"value":"{SHA256}xLvLH77JnWW/WdhcjLYu4tuWPw/hBvSD2a+nO9Tjmoo="}}`},
	{name: "ldap/SSHA256", raw: `{"algorithm":"ldap","hash":{"value":"{SSHA256}tGNiSjmRwxLiPg30OQl0CF6xW6jevt6SoKW/UbCsmhlnu3BBBrIf9w=="}}`},
	{name: "ldap/SHA384", raw: `{"algorithm":"ldap","hash":{"value":"{SHA384}wkuSRJyHHzO7vx/BmJ5eEDfPqaPf2xeUf4FyImGB54Jeu0x1B2ORWDW/ElpZDgWu"}}`},
	{name: "ldap/SSHA384", raw: `{"algorithm":"ldap","hash":{"value":"{SSHA384}AzrUcPe9+9h8Uzuam9eRF6BAhlvmiGBs7JN7r2DsL+ezdaC9Ny6FONwJS1e/HsWD7zFLPFiN8mA="}}`},
	{name: "ldap/SHA512", raw: `{"algorithm":"ldap","hash":{"value":"{SHA512}vl73Z52Iq5qQRfYmflX15XhLS4zXZLXNhVpSRPkcYmlTzUbEPXZohz/W7707IhJJMVWAAxljRyoHh4H+BG5irg=="}}`},
	{name: "ldap/SSHA512", raw: `{"algorithm":"ldap","hash":{"value":"{SSHA512}1f41jH8/jcdGgkKhp0fm8BV71wcVSXbPBmsOFjQOWq8O+dujpGXbBf4YziCVJ3DVmSG0/IteE84ZkXzeDToIMnbf+XHletyJ"}}`},

	// bcrypt — mkpasswd -m bcrypt -R 5 ($2b$), -m bcrypt-a ($2a$); htpasswd -nbBC 5 ($2y$).
	{name: "bcrypt/2b", raw: `{"algorithm":"bcrypt","hash":{"value":"$2b$05$W86inKwM0vLYxFgXMU52s.Fakc5R3yNxiBQSVSrdP0Ot0VNhW1oli"}}`, plainBcrypt: true},
	{name: "bcrypt/2a", raw: `{"algorithm":"bcrypt","hash":{"value":"$2a$05$yY4CgzPcI98iWp9p8TzaTOucDYb2WmFUHr4DcI4hSN/ii5zud43Au","encoding":"utf8"}}`, plainBcrypt: true},
	{name: "bcrypt/2y", raw: `{"algorithm":"bcrypt","hash":{"value":"$2y$05$BA.ZnBuLET5TeRddgPa/su8eArIBHOPdKWnLINW9QrUl7Q8i0u9Ga"}}`, plainBcrypt: true},
	// mkpasswd of "NaCl" + pw, and of pw + "NaCl".
	{name: "bcrypt/salt-prefix", raw: `{"algorithm":"bcrypt","hash":{"value":"$2b$05$EKHNYYt/nTEG/RiPocWzmOrWklqAeWWsXH3.hvsvNwjoo7hkYyGpC"},"salt":{"value":"NaCl"}}`},
	{name: "bcrypt/salt-suffix", raw: `{"algorithm":"bcrypt","hash":{"value":"$2b$05$ipfdgsY8zTm4zamcmB1Yfe6ZebULQHEnAFhSb88H8RBmqTfstw9E.","encoding":"utf8"},"salt":{"value":"4e61436c","encoding":"hex","position":"suffix"}}`},
	// A password encoding other than utf8 needs the imported form even without salt.
	{name: "bcrypt/password-latin1", raw: `{"algorithm":"bcrypt","hash":{"value":"$2b$05$W86inKwM0vLYxFgXMU52s.Fakc5R3yNxiBQSVSrdP0Ot0VNhW1oli"},"password":{"encoding":"latin1"}}`},

	// pbkdf2 — py hashlib.pbkdf2_hmac(digest, pw, b"saltsalt", i, l); md4: openssl kdf.
	{name: "pbkdf2/sha1", raw: `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha1$i=1000,l=20$c2FsdHNhbHQ$aK/10Ysg+YqAR2YZZFzXGQ7rOxI","encoding":"utf8"}}`},
	{name: "pbkdf2/sha256", raw: `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHQ$zzTVNkpdnDsQWZloN/zP8vUU74BCbHD/tDSXS4zXPSs"}}`},
	{name: "pbkdf2/RSA-SHA256-alias", raw: `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-RSA-SHA256$i=1000,l=32$c2FsdHNhbHQ$zzTVNkpdnDsQWZloN/zP8vUU74BCbHD/tDSXS4zXPSs"}}`},
	{name: "pbkdf2/sha256WithRSAEncryption-alias", raw: `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha256WithRSAEncryption$i=1000,l=32$c2FsdHNhbHQ$zzTVNkpdnDsQWZloN/zP8vUU74BCbHD/tDSXS4zXPSs"}}`},
	{name: "pbkdf2/sha256/l=40-two-blocks", raw: `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha256$i=1000,l=40$c2FsdHNhbHQ$zzTVNkpdnDsQWZloN/zP8vUU74BCbHD/tDSXS4zXPSvKFXbc+xplZA"}}`},
	{name: "pbkdf2/sha512", raw: `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha512$i=1000,l=64$c2FsdHNhbHQ$1PpnSaWjT7JmjJ2+6arxMmUcoiX7YslJ/AIsSus8/q0nOw/WzYrS3GNem7VhSChp8LKV5qjPZc2BfNWBugVpOQ"}}`},
	{name: "pbkdf2/md5", raw: `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-md5$i=1000,l=16$c2FsdHNhbHQ$77Lgq/RLh9a+4yzJtaTYPw"}}`},
	{name: "pbkdf2/ripemd160", raw: `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-ripemd160$i=1000,l=20$c2FsdHNhbHQ$YP+515f14RZ8Taxj1XvQuKNq4dg"}}`},
	{name: "pbkdf2/sha224", raw: `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha224$i=1000,l=28$c2FsdHNhbHQ$W0FVFvwOrTe5XNugjZKYcgjj2tGDeYX8BCFKNg"}}`},
	{name: "pbkdf2/sha384", raw: `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha384$i=1000,l=48$c2FsdHNhbHQ$TCnep8QTDWkGLEx4swYwXgIiziYIjZEMahmAoFjPK1/ey2PSJt2ELLtQrRHwU2tI"}}`},
	{name: "pbkdf2/md4", raw: `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-md4$i=1000,l=32$c2FsdHNhbHQ$4rNGEsIwWob1j/hw3sumwQ+EbF79Vd8xAor3I1iBrg8"}}`},
	// Without i, Auth0's default i=100000 applies; without l, the hash's length.
	{name: "pbkdf2/sha512/default-i", raw: `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha512$l=64$c2FsdHNhbHQ$iDxBSr8QCZC5ganh2xon1U/va3MxpXDO974FJvN+rhFYE1/TOhrxuw0y/5lYqyFgtY5IeZG4EaWG64ETDX3Lxg"}}`},
	{name: "pbkdf2/sha512/no-params", raw: `{"algorithm":"pbkdf2","hash":{"value":"$pbkdf2-sha512$c2FsdHNhbHQ$iDxBSr8QCZC5ganh2xon1U/va3MxpXDO974FJvN+rhFYE1/TOhrxuw0y/5lYqyFgtY5IeZG4EaWG64ETDX3Lxg"}}`},

	// scrypt — py hashlib.scrypt(pw, salt, n, r, p, dklen).
	{name: "scrypt/hex/salt-utf8", raw: `{"algorithm":"scrypt","hash":{"value":"0636d33d55fcd92c777621fe4d7c39ee0617b954c76e714dc4412f2e9265385d","encoding":"hex"},"salt":{"value":"NaCl","encoding":"utf8"},"keylen":32,"cost":1024,"blockSize":8,"parallelization":1}`},
	{name: "scrypt/base64/salt-hex/defaults", raw: `{"algorithm":"scrypt","hash":{"value":"jUTe8aDmIFppK+uvVag1RvV4kPbMS3dA9Ekp4891zZnHBznkZaHOEcqO03d5b+/7cD5zPzvsbahvQLt52g1Elg==","encoding":"base64"},"salt":{"value":"0a0b0c","encoding":"hex"},"keylen":64}`},
	{name: "scrypt/r=4/p=2/no-salt", raw: `{"algorithm":"scrypt","hash":{"value":"943aa682a92651e195717b0d405cd07d","encoding":"hex"},"keylen":16,"cost":2048,"blockSize":4,"parallelization":2}`},
	{name: "scrypt/auth0-doc", raw: `{"algorithm":"scrypt","hash":{"value":"097f6197e1b41538f723e32aa7a68e8d76227d8e432ce5faa4882a913032db29","encoding":"hex"},"salt":{"value":"abc123","encoding":"utf8"},"keylen":32,"cost":4096}`, password: "password"},

	// argon2 — printf %s pw | argon2 saltsalt -id|-i -t T -k M -p P -l L -e.
	{name: "argon2/argon2id", raw: `{"algorithm":"argon2","hash":{"value":"$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$s8pgZBYGY/zx5aH1Us/D3/gLVvV4IayRGJRNcl9N038","encoding":"utf8"}}`},
	{name: "argon2/argon2i/p=2", raw: `{"algorithm":"argon2","hash":{"value":"$argon2i$v=19$m=2048,t=2,p=2$c2FsdHNhbHQ$NVAmkSTUr4asRc4YqZzW8Ul2Z447DiKD"}}`},
}
