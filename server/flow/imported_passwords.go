package flow

import (
	"context"
	"encoding/json"

	"github.com/latchauth/latch/password/importhash"
)

// Users imported from another system keep the hash that system made (AUTH0-COMPAT §5.9):
// a bcrypt hash as it is, any other algorithm in importhash's stored form, which the first
// successful login replaces with a bcrypt hash of the password.

// importedHash validates an imported hash, either a bcrypt password_hash or a
// custom_password_hash object, and returns what latch stores ("" when neither is given).
func importedHash(bcryptHash string, custom json.RawMessage) (string, error) {
	switch {
	case bcryptHash != "":
		stored, err := importhash.FromBcrypt(bcryptHash)
		if err != nil {
			return "", payloadError("password_hash", "'%s' on property password_hash.", err)
		}
		return stored, nil
	case len(custom) > 0:
		stored, err := importhash.FromCustom(custom)
		if err != nil {
			return "", payloadError("custom_password_hash", "'%s' on property custom_password_hash.", err)
		}
		return stored, nil
	}
	return "", nil
}

// verifyStoredHash checks pw against the user's stored hash, whatever its kind. A wrong
// password against a fast imported hash still costs a bcrypt comparison, so that the time
// of a refusal says nothing about how a user's password is stored.
func (s *Service) verifyStoredHash(ctx context.Context, userID, hash, pw string) bool {
	if !importhash.IsImported(hash) {
		return s.hasher.Verify(hash, pw)
	}
	if !importhash.Verify(hash, pw) {
		s.hasher.VerifyMissing(pw)
		return false
	}
	s.upgradeImportedHash(ctx, userID, hash, pw)
	return true
}

// upgradeImportedHash replaces an imported hash with a bcrypt hash of the password that
// just matched it. A failure leaves the imported hash in place (the next login tries again)
// and is only logged: the login itself succeeded.
func (s *Service) upgradeImportedHash(ctx context.Context, userID, imported, pw string) {
	hash, err := s.hasher.Hash(pw)
	if err != nil {
		s.log.WarnContext(ctx, "re-hashing an imported password", "user_id", userID, "error", err)
		return
	}
	// Leave a hash that changed since this login read it (a password change racing the
	// login) alone.
	if current, err := s.passwords.PasswordHash(ctx, userID); err != nil || current != imported {
		return
	}
	if err := s.passwords.SetPasswordHash(ctx, userID, hash); err != nil {
		s.log.WarnContext(ctx, "saving the bcrypt hash of an imported password", "user_id", userID, "error", err)
	}
}
