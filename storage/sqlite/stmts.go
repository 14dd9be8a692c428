package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// runner is what the store's code runs queries on: a pool, or a transaction on it.
type runner interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// stmts runs queries on a pool through prepared statements kept for the pool's life.
// Parsing a statement costs SQLite about as much as running a point lookup, and the
// store's queries are a small fixed set, so the cache stays small and each query is
// parsed once per connection instead of once per call.
type stmts struct {
	db *sql.DB
	m  sync.Map // query text -> *sql.Stmt
}

func (p *stmts) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := p.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := p.m.LoadOrStore(query, st); loaded {
		_ = st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// A query that fails to prepare runs unprepared, so that its error surfaces where the
// caller looks for it (Row.Scan for QueryRowContext).

func (p *stmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.prepare(ctx, query)
	if err != nil {
		return p.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (p *stmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.prepare(ctx, query)
	if err != nil {
		return p.db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (p *stmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := p.prepare(ctx, query)
	if err != nil {
		return p.db.ExecContext(ctx, query, args...)
	}
	return st.ExecContext(ctx, args...)
}

func (p *stmts) close() error {
	var errs []error
	p.m.Range(func(_, st any) bool {
		errs = append(errs, st.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(append(errs, p.db.Close())...)
}

// txRunner runs a transaction's queries through the pool's prepared statements. It never
// prepares on the pool itself: that needs a free connection, and the transaction holds
// the write pool's only one (or, under load, the last free reader), which would deadlock.
// A query not prepared yet runs unprepared and is prepared once the transaction is over.
type txRunner struct {
	tx     *sql.Tx
	p      *stmts
	missed []string
}

func (t *txRunner) cached(query string) (*sql.Stmt, bool) {
	if st, ok := t.p.m.Load(query); ok {
		return st.(*sql.Stmt), true
	}
	t.missed = append(t.missed, query)
	return nil, false
}

// done prepares the queries the transaction ran unprepared; call it after the
// transaction has released its connection. A failure only means the query stays
// unprepared.
func (t *txRunner) done(ctx context.Context) {
	for _, q := range t.missed {
		_, _ = t.p.prepare(ctx, q)
	}
}

func (t *txRunner) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := t.cached(query); ok {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

func (t *txRunner) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, ok := t.cached(query); ok {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *txRunner) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, ok := t.cached(query); ok {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}
