package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchauth/latch/storage"
)

func (s *Store) CreateGrant(ctx context.Context, g storage.Grant) error {
	op := fmt.Sprintf("create grant %q", g.ID)
	claims, err := encodeMetadata(g.Claims)
	if err != nil {
		return fmt.Errorf("sqlite: %s: claims: %w", op, err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO grants
		(id, user_id, client_id, audience, scope, claims, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.UserID, g.ClientID, g.Audience, g.Scope, claims, timeArg(g.CreatedAt), timeArg(g.ExpiresAt))
	return dbError(op, err)
}

func (s *Store) GetGrant(ctx context.Context, id string) (storage.Grant, error) {
	op := fmt.Sprintf("get grant %q", id)
	var (
		g                storage.Grant
		claims           string
		created, expires sql.NullInt64
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, user_id, client_id, audience, scope, claims,
		created_at, expires_at FROM grants WHERE id = ?`, id).
		Scan(&g.ID, &g.UserID, &g.ClientID, &g.Audience, &g.Scope, &claims, &created, &expires)
	if err != nil {
		return storage.Grant{}, dbError(op, err)
	}
	if g.Claims, err = decodeMetadata(claims); err != nil {
		return storage.Grant{}, fmt.Errorf("sqlite: %s: claims: %w", op, err)
	}
	g.CreatedAt, g.ExpiresAt = timeCol(created), timeCol(expires)
	return g, nil
}

// DeleteExpiredGrants removes grants whose expiry is strictly before now; a grant without
// an expiry never expires.
func (s *Store) DeleteExpiredGrants(ctx context.Context, now time.Time) (int, error) {
	// Expiries are whole milliseconds, so "before now" is "before now rounded up": with
	// now at 12.5ms a grant expiring at 12ms has expired, one expiring at 13ms has not.
	limit := now.UnixMilli()
	if now.After(time.UnixMilli(limit)) {
		limit++
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM grants WHERE expires_at < ?`, limit)
	if err != nil {
		return 0, dbError("delete expired grants", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError("delete expired grants", err)
	}
	return int(n), nil
}

func (s *Store) DeleteUserGrants(ctx context.Context, userID string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM grants WHERE user_id = ?`, userID)
	return dbError(fmt.Sprintf("delete grants of %q", userID), err)
}
