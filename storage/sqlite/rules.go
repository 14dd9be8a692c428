package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchauth/latch/storage"
)

const ruleColumns = `id, name, enabled, script, rule_order, stage, created_at, updated_at`

func scanRule(sc scanner) (storage.Rule, error) {
	var (
		r                storage.Rule
		created, updated sql.NullInt64
	)
	if err := sc.Scan(&r.ID, &r.Name, &r.Enabled, &r.Script, &r.Order, &r.Stage, &created, &updated); err != nil {
		return storage.Rule{}, err
	}
	r.CreatedAt, r.UpdatedAt = timeCol(created), timeCol(updated)
	return r, nil
}

// ruleArgs are in ruleColumns order.
func ruleArgs(r storage.Rule) []any {
	return []any{r.ID, r.Name, r.Enabled, r.Script, r.Order, r.Stage, timeArg(r.CreatedAt), timeArg(r.UpdatedAt)}
}

func (s *Store) CreateRule(ctx context.Context, r storage.Rule) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO rules (`+ruleColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, ruleArgs(r)...)
	return dbError(fmt.Sprintf("create rule %q", r.ID), err)
}

// AppendRule picks the order inside the INSERT, and every write goes through the one write
// connection, so no other write can come between choosing the order and taking it.
func (s *Store) AppendRule(ctx context.Context, r storage.Rule) (storage.Rule, error) {
	op := fmt.Sprintf("append rule %q", r.ID)
	var out storage.Rule
	err := s.writeTx(ctx, func(tx runner) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO rules (`+ruleColumns+`)
			SELECT ?, ?, ?, ?, coalesce(max(rule_order), 0) + 1, ?, ?, ?
			FROM rules WHERE stage = ?`,
			r.ID, r.Name, r.Enabled, r.Script, r.Stage, timeArg(r.CreatedAt), timeArg(r.UpdatedAt), r.Stage)
		if err != nil {
			return dbError(op, err)
		}
		out, err = scanRule(tx.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM rules WHERE id = ?`, r.ID))
		return dbError(op, err)
	})
	if err != nil {
		return storage.Rule{}, err
	}
	return out, nil
}

func (s *Store) GetRule(ctx context.Context, id string) (storage.Rule, error) {
	r, err := scanRule(s.r.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM rules WHERE id = ?`, id))
	if err != nil {
		return storage.Rule{}, dbError(fmt.Sprintf("get rule %q", id), err)
	}
	return r, nil
}

func (s *Store) ListRules(ctx context.Context) ([]storage.Rule, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+ruleColumns+` FROM rules ORDER BY rule_order, id`)
	if err != nil {
		return nil, dbError("list rules", err)
	}
	defer rows.Close()
	rules := []storage.Rule{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, dbError("list rules", err)
		}
		rules = append(rules, r)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("list rules", err)
	}
	return rules, nil
}

// UpdateRule is a read-modify-write in one BEGIN IMMEDIATE transaction (see UpdateUser).
func (s *Store) UpdateRule(ctx context.Context, id string, update func(storage.Rule) (storage.Rule, error)) (storage.Rule, error) {
	op := fmt.Sprintf("update rule %q", id)
	var out storage.Rule
	err := s.writeTx(ctx, func(tx runner) error {
		const get = `SELECT ` + ruleColumns + ` FROM rules WHERE id = ?`
		old, err := scanRule(tx.QueryRowContext(ctx, get, id))
		if err != nil {
			return dbError(op, err)
		}
		nr, err := update(old)
		if err != nil {
			return err
		}
		nr.ID = id
		args := ruleArgs(nr)
		_, err = tx.ExecContext(ctx, `UPDATE rules SET
			name = ?, enabled = ?, script = ?, rule_order = ?, stage = ?, created_at = ?, updated_at = ?
			WHERE id = ?`, append(args[1:], id)...)
		if err != nil {
			return dbError(op, err)
		}
		out, err = scanRule(tx.QueryRowContext(ctx, get, id))
		return dbError(op, err)
	})
	if err != nil {
		return storage.Rule{}, err
	}
	return out, nil
}

func (s *Store) DeleteRule(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM rules WHERE id = ?`, id)
	return mustAffect(fmt.Sprintf("delete rule %q", id), res, err)
}
