package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/latchauth/latch/storage"
)

const connectionColumns = `id, name, strategy, options, enabled_clients, created_at`

func scanConnection(sc scanner) (storage.Connection, error) {
	var (
		c                storage.Connection
		options, clients string
		created          sql.NullInt64
	)
	if err := sc.Scan(&c.ID, &c.Name, &c.Strategy, &options, &clients, &created); err != nil {
		return storage.Connection{}, err
	}
	if err := json.Unmarshal([]byte(options), &c.Options); err != nil {
		return storage.Connection{}, fmt.Errorf("connection %s: options: %w", c.ID, err)
	}
	var err error
	if c.EnabledClients, err = decodeList(clients); err != nil {
		return storage.Connection{}, fmt.Errorf("connection %s: enabled_clients: %w", c.ID, err)
	}
	c.CreatedAt = timeCol(created)
	return c, nil
}

// connectionArgs are in connectionColumns order.
func connectionArgs(c storage.Connection) []any {
	options, _ := json.Marshal(c.Options) // plain fields always encode
	return []any{c.ID, c.Name, c.Strategy, string(options), encodeList(c.EnabledClients), timeArg(c.CreatedAt)}
}

func (s *Store) CreateConnection(ctx context.Context, c storage.Connection) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO connections (`+connectionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?)`, connectionArgs(c)...)
	return dbError(fmt.Sprintf("create connection %q", c.Name), err)
}

func (s *Store) GetConnection(ctx context.Context, id string) (storage.Connection, error) {
	c, err := scanConnection(s.r.QueryRowContext(ctx, `SELECT `+connectionColumns+` FROM connections WHERE id = ?`, id))
	if err != nil {
		return storage.Connection{}, dbError(fmt.Sprintf("get connection %q", id), err)
	}
	return c, nil
}

func (s *Store) GetConnectionByName(ctx context.Context, name string) (storage.Connection, error) {
	c, err := scanConnection(s.r.QueryRowContext(ctx, `SELECT `+connectionColumns+` FROM connections WHERE name = ?`, name))
	if err != nil {
		return storage.Connection{}, dbError(fmt.Sprintf("get connection named %q", name), err)
	}
	return c, nil
}

func (s *Store) ListConnections(ctx context.Context) ([]storage.Connection, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+connectionColumns+` FROM connections ORDER BY created_at, id`)
	if err != nil {
		return nil, dbError("list connections", err)
	}
	defer rows.Close()
	conns := []storage.Connection{}
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, dbError("list connections", err)
		}
		conns = append(conns, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("list connections", err)
	}
	return conns, nil
}

// UpdateConnection is a read-modify-write in one BEGIN IMMEDIATE transaction (see UpdateUser).
func (s *Store) UpdateConnection(ctx context.Context, id string, update func(storage.Connection) (storage.Connection, error)) (storage.Connection, error) {
	op := fmt.Sprintf("update connection %q", id)
	var out storage.Connection
	err := s.writeTx(ctx, func(tx runner) error {
		const get = `SELECT ` + connectionColumns + ` FROM connections WHERE id = ?`
		old, err := scanConnection(tx.QueryRowContext(ctx, get, id))
		if err != nil {
			return dbError(op, err)
		}
		nc, err := update(old)
		if err != nil {
			return err
		}
		nc.ID = id
		args := connectionArgs(nc)
		_, err = tx.ExecContext(ctx, `UPDATE connections SET
			name = ?, strategy = ?, options = ?, enabled_clients = ?, created_at = ?
			WHERE id = ?`, append(args[1:], id)...)
		if err != nil {
			return dbError(op, err)
		}
		out, err = scanConnection(tx.QueryRowContext(ctx, get, id))
		return dbError(op, err)
	})
	if err != nil {
		return storage.Connection{}, err
	}
	return out, nil
}
