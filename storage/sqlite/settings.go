package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/latchauth/latch/storage"
)

var _ storage.Settings = (*Store)(nil)

func (s *Store) GetSetting(ctx context.Context, name string) ([]byte, error) {
	var v string
	if err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, dbError(fmt.Sprintf("get setting %q", name), err)
	}
	return []byte(v), nil
}

func (s *Store) UpdateSetting(ctx context.Context, name string, update func([]byte) ([]byte, error)) ([]byte, error) {
	op := fmt.Sprintf("update setting %q", name)
	var out []byte
	err := s.writeTx(ctx, func(tx runner) error {
		var cur []byte
		var v string
		switch err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v); {
		case err == nil:
			cur = []byte(v)
		case !errors.Is(err, sql.ErrNoRows):
			return dbError(op, err)
		}
		next, err := update(cur)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, string(next))
		if err != nil {
			return dbError(op, err)
		}
		out = next
		return nil
	})
	return out, err
}
