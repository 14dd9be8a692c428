package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchauth/latch/storage"
)

const refreshTokenColumns = `id, family_id, user_id, client_id, audience, scope, session_id,
	auth_time, created_at, expires_at, idle_expires_at, rotated_at`

const insertRefreshToken = `INSERT INTO refresh_tokens (` + refreshTokenColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func scanRefreshToken(sc scanner) (storage.RefreshToken, error) {
	var (
		rt                                  storage.RefreshToken
		authTime, created, expires, idle, r sql.NullInt64
	)
	err := sc.Scan(&rt.ID, &rt.FamilyID, &rt.UserID, &rt.ClientID, &rt.Audience, &rt.Scope,
		&rt.SessionID, &authTime, &created, &expires, &idle, &r)
	if err != nil {
		return storage.RefreshToken{}, err
	}
	rt.AuthTime, rt.CreatedAt = timeCol(authTime), timeCol(created)
	rt.ExpiresAt, rt.IdleExpiresAt, rt.RotatedAt = timeCol(expires), timeCol(idle), timeCol(r)
	return rt, nil
}

// refreshTokenArgs are in refreshTokenColumns order.
func refreshTokenArgs(rt storage.RefreshToken) []any {
	return []any{rt.ID, rt.FamilyID, rt.UserID, rt.ClientID, rt.Audience, rt.Scope, rt.SessionID,
		timeArg(rt.AuthTime), timeArg(rt.CreatedAt), timeArg(rt.ExpiresAt),
		timeArg(rt.IdleExpiresAt), timeArg(rt.RotatedAt)}
}

func (s *Store) CreateRefreshToken(ctx context.Context, rt storage.RefreshToken) error {
	_, err := s.w.ExecContext(ctx, insertRefreshToken, refreshTokenArgs(rt)...)
	return dbError(fmt.Sprintf("create refresh token of family %q", rt.FamilyID), err)
}

// GetRefreshToken does not name the id in its errors: the id of a token is as good as the
// token for finding it in the database, and errors end up in logs.
func (s *Store) GetRefreshToken(ctx context.Context, id string) (storage.RefreshToken, error) {
	rt, err := scanRefreshToken(s.r.QueryRowContext(ctx,
		`SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE id = ?`, id))
	if err != nil {
		return storage.RefreshToken{}, dbError("get refresh token", err)
	}
	return rt, nil
}

// RotateRefreshToken marks the old token rotated with a conditional update and inserts the
// next one in the same BEGIN IMMEDIATE transaction: of concurrent rotations of one token,
// the first to take the write lock rotates it, and the others find rotated_at set.
func (s *Store) RotateRefreshToken(ctx context.Context, oldID string, at time.Time, next storage.RefreshToken) error {
	const op = "rotate refresh token"
	if at.IsZero() {
		// rotated_at NULL means "not rotated": a zero instant would rotate nothing.
		return fmt.Errorf("sqlite: %s: the rotation time is zero", op)
	}
	return s.writeTx(ctx, func(tx runner) error {
		res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET rotated_at = ?
			WHERE id = ? AND rotated_at IS NULL`, timeArg(at), oldID)
		if err != nil {
			return dbError(op, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return dbError(op, err)
		}
		if n == 0 {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM refresh_tokens WHERE id = ?`, oldID).Scan(&one)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return notFound(op)
			case err != nil:
				return dbError(op, err)
			}
			return fmt.Errorf("sqlite: %s: %w (already rotated)", op, storage.ErrConflict)
		}
		// A failed insert rolls the update back: the old token stays unrotated.
		_, err = tx.ExecContext(ctx, insertRefreshToken, refreshTokenArgs(next)...)
		return dbError(op, err)
	})
}

func (s *Store) RevokeRefreshTokenFamily(ctx context.Context, familyID string) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE family_id = ?`, familyID)
	return affected(fmt.Sprintf("revoke refresh token family %q", familyID), res, err)
}

func (s *Store) RevokeUserRefreshTokens(ctx context.Context, userID string) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE user_id = ?`, userID)
	return affected(fmt.Sprintf("revoke refresh tokens of %q", userID), res, err)
}

// DeleteExpiredRefreshTokens removes tokens whose absolute or idle expiry is strictly
// before now (as DeleteExpiredGrants does); NULL, the zero time, never expires.
func (s *Store) DeleteExpiredRefreshTokens(ctx context.Context, now time.Time) (int, error) {
	limit := now.UnixMilli()
	if now.After(time.UnixMilli(limit)) {
		limit++
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM refresh_tokens
		WHERE expires_at < ? OR idle_expires_at < ?`, limit, limit)
	return affected("delete expired refresh tokens", res, err)
}

// affected returns how many rows a statement changed.
func affected(op string, res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, dbError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError(op, err)
	}
	return int(n), nil
}
