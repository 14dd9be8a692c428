package flow

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"

	"github.com/latchauth/latch/storage"
)

// ClientCredentials is what a request presented to authenticate a client.
type ClientCredentials struct {
	ID     string
	Secret string
	// Method is how the secret arrived: client_secret_basic, client_secret_post, or none.
	Method string
}

// AuthenticateClient finds the client and checks its secret. A public client
// (token_endpoint_auth_method none) needs no secret; any other needs the right one. Unknown
// clients and wrong secrets fail alike, with ErrClientAuth.
func (s *Service) AuthenticateClient(ctx context.Context, cred ClientCredentials) (storage.Client, error) {
	c, err := s.client(ctx, cred.ID)
	if errors.Is(err, storage.ErrNotFound) {
		// Spend a comparison anyway so that a missing client does not answer faster.
		secretsEqual(cred.Secret, "")
		return storage.Client{}, ErrClientAuth
	}
	if err != nil {
		return storage.Client{}, err
	}
	if c.TokenEndpointAuthMethod == "none" {
		return c, nil
	}
	if cred.Secret == "" || !secretsEqual(cred.Secret, c.Secret) {
		return storage.Client{}, ErrClientAuth
	}
	return c, nil
}

// secretsEqual compares in constant time. Hashing first makes the time independent of the
// lengths as well as of the contents.
func secretsEqual(a, b string) bool {
	ha := sha256.Sum256([]byte(a))
	hb := sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1 && b != ""
}
