package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchauth/latch/storage"
)

const signingKeyColumns = `kid, alg, public_der, cert_der, sealed_priv, state, created_at,
	current_since, current_until, revoked_at`

func scanSigningKey(sc scanner) (storage.SigningKey, error) {
	var (
		k                            storage.SigningKey
		created, since, until, revok sql.NullInt64
	)
	// database/sql copies into *[]byte destinations, so the key material returned does
	// not alias the driver's buffers.
	err := sc.Scan(&k.KID, &k.Alg, &k.PublicDER, &k.CertDER, &k.SealedPriv, &k.State,
		&created, &since, &until, &revok)
	if err != nil {
		return storage.SigningKey{}, err
	}
	k.CreatedAt, k.CurrentSince = timeCol(created), timeCol(since)
	k.CurrentUntil, k.RevokedAt = timeCol(until), timeCol(revok)
	return k, nil
}

// signingKeyArgs are in signingKeyColumns order.
func signingKeyArgs(k storage.SigningKey) []any {
	return []any{k.KID, k.Alg, k.PublicDER, k.CertDER, k.SealedPriv, k.State,
		timeArg(k.CreatedAt), timeArg(k.CurrentSince), timeArg(k.CurrentUntil), timeArg(k.RevokedAt)}
}

func (s *Store) CreateSigningKey(ctx context.Context, k storage.SigningKey) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO signing_keys (`+signingKeyColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, signingKeyArgs(k)...)
	return dbError(fmt.Sprintf("create signing key %q", k.KID), err)
}

// ListSigningKeys returns every key, newest first; keys created in the same millisecond
// come in reverse insertion order.
func (s *Store) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+signingKeyColumns+` FROM signing_keys
		ORDER BY created_at DESC, rowid DESC`)
	if err != nil {
		return nil, dbError("list signing keys", err)
	}
	defer rows.Close()
	keys := []storage.SigningKey{}
	for rows.Next() {
		k, err := scanSigningKey(rows)
		if err != nil {
			return nil, dbError("list signing keys", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("list signing keys", err)
	}
	return keys, nil
}

// UpdateSigningKey is a read-modify-write in one BEGIN IMMEDIATE transaction, which is
// what key rotation across replicas relies on: the state a rotation checks is the state
// it replaces.
func (s *Store) UpdateSigningKey(ctx context.Context, kid string, update func(storage.SigningKey) (storage.SigningKey, error)) (storage.SigningKey, error) {
	op := fmt.Sprintf("update signing key %q", kid)
	var out storage.SigningKey
	err := s.writeTx(ctx, func(tx runner) error {
		const get = `SELECT ` + signingKeyColumns + ` FROM signing_keys WHERE kid = ?`
		old, err := scanSigningKey(tx.QueryRowContext(ctx, get, kid))
		if err != nil {
			return dbError(op, err)
		}
		nk, err := update(old)
		if err != nil {
			return err
		}
		nk.KID = kid
		args := signingKeyArgs(nk)
		_, err = tx.ExecContext(ctx, `UPDATE signing_keys SET
			alg = ?, public_der = ?, cert_der = ?, sealed_priv = ?, state = ?, created_at = ?,
			current_since = ?, current_until = ?, revoked_at = ?
			WHERE kid = ?`, append(args[1:], kid)...)
		if err != nil {
			return dbError(op, err)
		}
		out, err = scanSigningKey(tx.QueryRowContext(ctx, get, kid))
		return dbError(op, err)
	})
	if err != nil {
		return storage.SigningKey{}, err
	}
	return out, nil
}
