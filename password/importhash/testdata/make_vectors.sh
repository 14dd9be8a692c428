#!/usr/bin/env bash
# Prints the test vectors of importhash_test.go, computed by tools that share no code with
# latch: Python's hashlib/hmac (OpenSSL), the openssl CLI (MD4 through its legacy provider),
# slappasswd (OpenLDAP, with the pw-sha2 module), mkpasswd (libxcrypt bcrypt), htpasswd
# (Apache bcrypt $2y$) and the argon2 reference CLI.
# Debian packages: python3 openssl slapd whois apache2-utils argon2.
# Salts of slappasswd and bcrypt are random, so each run prints different (equally valid)
# hashes; the ones pasted in the test come from one run.
set -euo pipefail
P='correct horse battery staple'
U='pässwörd €😀'
legacy=(-provider legacy -provider default)

echo "== md4 (openssl)"
printf %s "$P" | openssl dgst -md4 "${legacy[@]}" -r | cut -d' ' -f1
printf %s "$P" | openssl dgst -md4 "${legacy[@]}" -binary | base64
echo "== md4 salt suffix utf8 'NaCl' (openssl)"
printf %s "${P}NaCl" | openssl dgst -md4 "${legacy[@]}" -r | cut -d' ' -f1

echo "== hmac-md4 key utf8 'k3y' (openssl)"
printf %s "$P" | openssl dgst -md4 "${legacy[@]}" -hmac k3y -r | cut -d' ' -f1
echo "== pbkdf2-md4 i=1000 l=32 salt 'saltsalt' (openssl kdf)"
openssl kdf "${legacy[@]}" -keylen 32 -kdfopt digest:MD4 -kdfopt "pass:$P" -kdfopt salt:saltsalt -kdfopt iter:1000 PBKDF2 | tr -d ':\n' | xxd -r -p | base64 | tr -d '=\n'; echo

python3 - "$P" "$U" <<'PY'
import sys, hashlib, hmac, base64
P, U = sys.argv[1].encode(), sys.argv[2]
b64 = lambda b: base64.b64encode(b).decode()
b64u = lambda b: base64.urlsafe_b64encode(b).decode().rstrip('=')
phc = lambda b: base64.b64encode(b).decode().rstrip('=')
def h(name, data): return hashlib.new(name, data).digest()
print("== plain digests (python hashlib)")
print("md5 hex salt prefix utf8 'NaCl'", h('md5', b'NaCl'+P).hex())
print("md5 HEX salt suffix utf8 'NaCl'", h('md5', P+b'NaCl').hex().upper())
print("md5 base64 no salt", b64(h('md5', P)))
print("sha1 hex salt prefix hex 00ff10", h('sha1', bytes.fromhex('00ff10')+P).hex())
print("sha1 base64url unpadded no salt", b64u(h('sha1', P)))
print("sha256 base64 salt suffix base64 c2FsdHk/Pz8+", b64(h('sha256', P+base64.b64decode('c2FsdHk/Pz8+'))))
print("sha256 hex no salt", h('sha256', P).hex())
print("sha512 hex salt suffix utf8 'NaCl'", h('sha512', P+b'NaCl').hex())
print("sha512 base64 salt prefix base64url 'c2FsdHk_Pz8-'", b64(h('sha512', base64.urlsafe_b64decode('c2FsdHk_Pz8-')+P)))
print("== password encodings of", repr(U))
# low byte of each UTF-16 code unit (Node's latin1/binary/ascii encoders)
units = [int.from_bytes(U.encode('utf-16-le')[i:i+2], 'little') for i in range(0, len(U.encode('utf-16-le')), 2)]
latin1 = bytes(u & 0xff for u in units)
print("latin1 bytes", latin1.hex())
print("md5 utf16le", h('md5', U.encode('utf-16-le')).hex())
print("sha1 latin1", h('sha1', latin1).hex())
print("sha256 utf8", h('sha256', U.encode()).hex())
print("== hmac (python hmac)")
for d in ['md5', 'ripemd160', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512']:
    print("hmac", d, "key utf8 k3y hex", hmac.new(b'k3y', P, d).hexdigest())
print("hmac sha256 key hex 0001fe base64", b64(hmac.new(bytes.fromhex('0001fe'), P, 'sha256').digest()))
print("hmac sha512 key base64 a2V5IQ== base64", b64(hmac.new(b'key!', P, 'sha512').digest()))
print("hmac sha1 key utf8 k3y salt suffix NaCl hex", hmac.new(b'k3y', P+b'NaCl', 'sha1').hexdigest())
print("hmac sha1 auth0 doc (password test, key hex 736868)", b64(hmac.new(b'shh', b'test', 'sha1').digest()))
print("== pbkdf2 (python hashlib.pbkdf2_hmac), salt bytes 'saltsalt' -> PHC", phc(b'saltsalt'))
for d, i, l in [('sha1', 1000, 20), ('sha256', 1000, 32), ('sha512', 1000, 64), ('md5', 1000, 16), ('ripemd160', 1000, 20), ('sha224', 1000, 28), ('sha384', 1000, 48), ('sha512', 100000, 64)]:
    print("pbkdf2", d, i, l, phc(hashlib.pbkdf2_hmac(d, P, b'saltsalt', i, l)))
print("pbkdf2 sha256 1000 40 (longer than one block)", phc(hashlib.pbkdf2_hmac('sha256', P, b'saltsalt', 1000, 40)))
print("== scrypt (python hashlib.scrypt)")
print("scrypt N=1024 r=8 p=1 keylen=32 salt utf8 NaCl hex", hashlib.scrypt(P, salt=b'NaCl', n=1024, r=8, p=1, dklen=32).hex())
print("scrypt N=16384 r=8 p=1 keylen=64 salt hex 0a0b0c base64", b64(hashlib.scrypt(P, salt=bytes.fromhex('0a0b0c'), n=16384, r=8, p=1, dklen=64)))
print("scrypt N=2048 r=4 p=2 keylen=16 no salt hex", hashlib.scrypt(P, salt=b'', n=2048, r=4, p=2, dklen=16).hex())
print("scrypt auth0 doc (password 'password')", hashlib.scrypt(b'password', salt=b'abc123', n=4096, r=8, p=1, dklen=32).hex())
PY

echo "== ldap (slappasswd)"
for s in MD5 SMD5 SHA SSHA; do slappasswd -h "{$s}" -s "$P"; done
for s in SHA256 SSHA256 SHA384 SSHA384 SHA512 SSHA512; do
  slappasswd -o module-path=/usr/lib/ldap -o module-load=pw-sha2 -h "{$s}" -s "$P"
done

echo "== bcrypt (mkpasswd: \$2b\$, \$2a\$; htpasswd: \$2y\$)"
mkpasswd -m bcrypt -R 5 "$P"
mkpasswd -m bcrypt-a -R 5 "$P"
htpasswd -nbBC 5 "" "$P" | tr -d ':\n'; echo
echo "bcrypt(salt 'NaCl' + password)"; mkpasswd -m bcrypt -R 5 "NaCl$P"
echo "bcrypt(password + salt 'NaCl')"; mkpasswd -m bcrypt -R 5 "${P}NaCl"

echo "== argon2 (reference CLI), salt 'saltsalt'"
printf %s "$P" | argon2 saltsalt -id -t 3 -k 4096 -p 1 -l 32 -e
printf %s "$P" | argon2 saltsalt -i -t 2 -k 2048 -p 2 -l 24 -e
printf %s "$P" | argon2 saltsalt -d -t 2 -k 2048 -p 1 -l 32 -e
printf %s "$P" | argon2 saltsalt -id -t 2 -k 2048 -p 1 -l 32 -v 10 -e
