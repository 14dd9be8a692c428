package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/latchauth/latch/storage"
)

const eventColumns = `id, type, date, description, user_id, user_name, client_id, client_name,
	connection, connection_id, strategy, strategy_type, audience, scope, ip, user_agent, hostname, details`

const insertEvent = `INSERT INTO events (` + eventColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func scanEvent(sc scanner) (storage.Event, error) {
	var (
		e       storage.Event
		date    sql.NullInt64
		details string
	)
	err := sc.Scan(&e.ID, &e.Type, &date, &e.Description, &e.UserID, &e.UserName, &e.ClientID, &e.ClientName,
		&e.Connection, &e.ConnectionID, &e.Strategy, &e.StrategyType, &e.Audience, &e.Scope, &e.IP,
		&e.UserAgent, &e.Hostname, &details)
	if err != nil {
		return storage.Event{}, err
	}
	e.Date = timeCol(date)
	if e.Details, err = decodeMetadata(details); err != nil {
		return storage.Event{}, fmt.Errorf("event %s: details: %w", e.ID, err)
	}
	return e, nil
}

func eventArgs(e storage.Event) ([]any, error) {
	details, err := encodeMetadata(e.Details)
	if err != nil {
		return nil, err
	}
	return []any{e.ID, e.Type, timeArg(e.Date), e.Description, e.UserID, e.UserName, e.ClientID, e.ClientName,
		e.Connection, e.ConnectionID, e.Strategy, e.StrategyType, e.Audience, e.Scope, e.IP,
		e.UserAgent, e.Hostname, details}, nil
}

// AppendEvents inserts the batch in one transaction: one lock and one commit (one fsync at
// most) for the whole batch.
func (s *Store) AppendEvents(ctx context.Context, events []storage.Event) error {
	const op = "append events"
	if len(events) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(events))
	for _, e := range events {
		if e.ID == "" || e.Type == "" || e.Date.IsZero() {
			return fmt.Errorf("sqlite: %s: an event needs an id, a type and a date", op)
		}
		args, err := eventArgs(e)
		if err != nil {
			return fmt.Errorf("sqlite: %s: event %s: %w", op, e.ID, err)
		}
		rows = append(rows, args)
	}
	return s.writeTx(ctx, func(tx runner) error {
		for _, args := range rows {
			if _, err := tx.ExecContext(ctx, insertEvent, args...); err != nil {
				return dbError(op, err)
			}
		}
		return nil
	})
}

func (s *Store) GetEvent(ctx context.Context, id string) (storage.Event, error) {
	e, err := scanEvent(s.r.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id = ?`, id))
	if err != nil {
		return storage.Event{}, dbError(fmt.Sprintf("get event %q", id), err)
	}
	return e, nil
}

// ListEvents builds its WHERE clause from the query's fields, every value a bound
// parameter; the list of types travels as one JSON array, so that the statement's text (and
// the prepared-statement cache) depends only on which filters are set.
func (s *Store) ListEvents(ctx context.Context, q storage.EventQuery) ([]storage.Event, int, error) {
	const op = "list events"
	if err := checkPage(q.Page); err != nil {
		return nil, 0, err
	}
	var (
		conds []string
		args  []any
	)
	if len(q.Types) > 0 {
		types, _ := json.Marshal(q.Types) // strings always encode
		conds = append(conds, `type IN (SELECT value FROM json_each(?))`)
		args = append(args, string(types))
	}
	if q.UserID != "" {
		conds = append(conds, `user_id = ?`)
		args = append(args, q.UserID)
	}
	if q.ClientID != "" {
		conds = append(conds, `client_id = ?`)
		args = append(args, q.ClientID)
	}
	if !q.From.IsZero() {
		conds = append(conds, `date >= ?`)
		args = append(args, msCeil(q.From))
	}
	if !q.To.IsZero() {
		conds = append(conds, `date < ?`)
		args = append(args, msCeil(q.To))
	}
	where := ""
	if len(conds) > 0 {
		where = ` WHERE ` + strings.Join(conds, ` AND `)
	}
	order := ` ORDER BY date DESC, id DESC`
	if q.Oldest {
		order = ` ORDER BY date, id`
	}
	var (
		out   []storage.Event
		total int
	)
	err := s.readTx(ctx, func(tx runner) error {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`+where, args...).Scan(&total); err != nil {
			return dbError(op, err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+eventColumns+` FROM events`+where+order+` LIMIT ? OFFSET ?`,
			append(args, q.Page.PerPage, q.Page.Offset())...)
		if err != nil {
			return dbError(op, err)
		}
		out, err = collectEvents(rows)
		return dbError(op, err)
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

func (s *Store) EventsAfter(ctx context.Context, afterID string, limit int) ([]storage.Event, error) {
	const op = "list events after a checkpoint"
	if limit <= 0 {
		return nil, fmt.Errorf("sqlite: %s: invalid limit %d", op, limit)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, dbError(op, err)
	}
	out, err := collectEvents(rows)
	return out, dbError(op, err)
}

func collectEvents(rows *sql.Rows) ([]storage.Event, error) {
	defer rows.Close()
	out := []storage.Event{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// eventDeleteBatch bounds one delete of the retention sweep: each batch is its own short
// write transaction, so that logins waiting for the write connection get their turn.
const eventDeleteBatch = 5000

// DeleteEventsBefore deletes in batches, oldest first.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time) (int, error) {
	const op = "delete old events"
	limit := msCeil(t)
	total := 0
	for {
		res, err := s.w.ExecContext(ctx, `DELETE FROM events WHERE id IN
			(SELECT id FROM events WHERE date < ? ORDER BY date LIMIT ?)`, limit, eventDeleteBatch)
		n, err := affected(op, res, err)
		total += n
		if err != nil {
			return total, err
		}
		if n < eventDeleteBatch {
			return total, nil
		}
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("sqlite: %s: %w", op, err)
		}
	}
}

// msCeil is t in unix milliseconds, rounded up: stored dates are whole milliseconds, so
// "before t" is "before t rounded up" (as in DeleteExpiredGrants).
func msCeil(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}
