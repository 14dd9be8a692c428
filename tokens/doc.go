// Package tokens holds latch's token signing keys and the tokens signed with them.
//
//   - Sealer encrypts private keys before they reach the store, so a copy of the database
//     alone never yields a signing key.
//   - KeySet creates the first signing key, loads the keys from the store, signs with the
//     current one and verifies with every published one; it serves the JWKS document.
//   - Issuer mints ID and access tokens (RS256) and verifies access tokens.
//   - The claims policy (claims.go) decides which claims a token may carry: the OIDC
//     standard claims per scope and the custom claims that rules add.
//
// The package depends only on storage's types and interfaces and on go-jose: it does no
// HTTP and names no storage backend.
package tokens
