package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchauth/latch/storage"
)

const actionColumns = `id, name, code, runtime, supported_triggers, deployed, created_at, updated_at`

func scanAction(sc scanner) (storage.Action, error) {
	var (
		a                storage.Action
		triggers         string
		created, updated sql.NullInt64
	)
	if err := sc.Scan(&a.ID, &a.Name, &a.Code, &a.Runtime, &triggers, &a.Deployed, &created, &updated); err != nil {
		return storage.Action{}, err
	}
	l, err := decodeList(triggers)
	if err != nil {
		return storage.Action{}, err
	}
	a.SupportedTriggers = l
	a.CreatedAt, a.UpdatedAt = timeCol(created), timeCol(updated)
	return a, nil
}

// actionArgs are in actionColumns order.
func actionArgs(a storage.Action) []any {
	return []any{a.ID, a.Name, a.Code, a.Runtime, encodeList(a.SupportedTriggers), a.Deployed, timeArg(a.CreatedAt), timeArg(a.UpdatedAt)}
}

func (s *Store) CreateAction(ctx context.Context, a storage.Action) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO actions (`+actionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, actionArgs(a)...)
	return dbError(fmt.Sprintf("create action %q", a.ID), err)
}

func (s *Store) GetAction(ctx context.Context, id string) (storage.Action, error) {
	a, err := scanAction(s.r.QueryRowContext(ctx, `SELECT `+actionColumns+` FROM actions WHERE id = ?`, id))
	if err != nil {
		return storage.Action{}, dbError(fmt.Sprintf("get action %q", id), err)
	}
	return a, nil
}

func (s *Store) ListActions(ctx context.Context) ([]storage.Action, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+actionColumns+` FROM actions ORDER BY created_at, id`)
	if err != nil {
		return nil, dbError("list actions", err)
	}
	defer rows.Close()
	out := []storage.Action{}
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, dbError("list actions", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("list actions", err)
	}
	return out, nil
}

// UpdateAction is a read-modify-write in one BEGIN IMMEDIATE transaction (see UpdateUser).
func (s *Store) UpdateAction(ctx context.Context, id string, update func(storage.Action) (storage.Action, error)) (storage.Action, error) {
	op := fmt.Sprintf("update action %q", id)
	var out storage.Action
	err := s.writeTx(ctx, func(tx runner) error {
		const get = `SELECT ` + actionColumns + ` FROM actions WHERE id = ?`
		old, err := scanAction(tx.QueryRowContext(ctx, get, id))
		if err != nil {
			return dbError(op, err)
		}
		na, err := update(old)
		if err != nil {
			return err
		}
		na.ID = id
		args := actionArgs(na)
		_, err = tx.ExecContext(ctx, `UPDATE actions SET
			name = ?, code = ?, runtime = ?, supported_triggers = ?, deployed = ?, created_at = ?, updated_at = ?
			WHERE id = ?`, append(args[1:], id)...)
		if err != nil {
			return dbError(op, err)
		}
		out, err = scanAction(tx.QueryRowContext(ctx, get, id))
		return dbError(op, err)
	})
	if err != nil {
		return storage.Action{}, err
	}
	return out, nil
}

// DeleteAction relies on the foreign key's ON DELETE CASCADE to drop the bindings.
func (s *Store) DeleteAction(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM actions WHERE id = ?`, id)
	return mustAffect(fmt.Sprintf("delete action %q", id), res, err)
}

const bindingColumns = `id, trigger_id, action_id, binding_order, display_name`

func scanBinding(sc scanner) (storage.ActionBinding, error) {
	var b storage.ActionBinding
	err := sc.Scan(&b.ID, &b.Trigger, &b.ActionID, &b.Order, &b.DisplayName)
	return b, err
}

func (s *Store) SetTriggerBindings(ctx context.Context, trigger string, bindings []storage.ActionBinding) ([]storage.ActionBinding, error) {
	op := fmt.Sprintf("set bindings of %q", trigger)
	var out []storage.ActionBinding
	err := s.writeTx(ctx, func(tx runner) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM action_bindings WHERE trigger_id = ?`, trigger); err != nil {
			return dbError(op, err)
		}
		for i, b := range bindings {
			// The foreign key refuses a missing action; dbError makes that ErrNotFound.
			if _, err := tx.ExecContext(ctx, `INSERT INTO action_bindings (`+bindingColumns+`) VALUES (?, ?, ?, ?, ?)`,
				b.ID, trigger, b.ActionID, i+1, b.DisplayName); err != nil {
				return dbError(op, err)
			}
		}
		var err error
		out, err = listBindings(ctx, tx, trigger)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) ListTriggerBindings(ctx context.Context, trigger string) ([]storage.ActionBinding, error) {
	return listBindings(ctx, s.r, trigger)
}

func listBindings(ctx context.Context, q runner, trigger string) ([]storage.ActionBinding, error) {
	op := fmt.Sprintf("list bindings of %q", trigger)
	rows, err := q.QueryContext(ctx, `SELECT `+bindingColumns+` FROM action_bindings WHERE trigger_id = ? ORDER BY binding_order`, trigger)
	if err != nil {
		return nil, dbError(op, err)
	}
	defer rows.Close()
	out := []storage.ActionBinding{}
	for rows.Next() {
		b, err := scanBinding(rows)
		if err != nil {
			return nil, dbError(op, err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(op, err)
	}
	return out, nil
}
