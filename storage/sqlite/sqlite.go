// Package sqlite is latch's single-file storage backend, on the pure-Go modernc.org/sqlite.
//
// SQLite lets one writer in at a time, so the Store holds two pools on the same file: one
// connection for writes, whose transactions start with BEGIN IMMEDIATE (the write lock is
// taken up front, so a read-modify-write never has to be retried), and a read-only pool
// of several connections, which in WAL mode read a consistent snapshot without waiting
// for the writer. Writers queue on the Go side rather than spinning on SQLITE_BUSY.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchauth/latch/storage"
)

// Options tune a Store. The zero value is a good default.
type Options struct {
	// ReadConns is the size of the read pool; 0 means max(4, GOMAXPROCS).
	ReadConns int
	// BusyTimeout bounds the wait for a lock held by another process (a backup, the
	// sqlite3 shell); within one process writers queue for the write connection instead.
	// 0 means 5s.
	BusyTimeout time.Duration
	// Synchronous is SQLite's synchronous setting: "NORMAL" (the default) or "FULL".
	// In WAL mode NORMAL never corrupts the database; a power loss (not a crash of latch)
	// may lose the last transactions. FULL makes every commit wait for fsync.
	Synchronous string
}

// Store implements storage.Store on one SQLite file.
type Store struct {
	w     *stmts // one connection; every write goes through it
	r     *stmts // read-only pool
	lock  *os.File
	users *userCache
}

var _ storage.Store = (*Store)(nil)

// Open opens (creating it if needed) the database file at path, with default Options,
// and brings its schema up to date.
func Open(path string) (*Store, error) {
	return OpenWithOptions(path, Options{})
}

// OpenWithOptions is Open with tuning; zero fields take their defaults.
func OpenWithOptions(path string, opts Options) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// An in-memory database would be a different one on each connection of the two
		// pools; URIs would let callers override the settings the Store relies on.
		return nil, fmt.Errorf("sqlite: path must name a file, got %q", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = max(4, runtime.GOMAXPROCS(0))
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	switch strings.ToUpper(opts.Synchronous) {
	case "":
		opts.Synchronous = "NORMAL"
	case "NORMAL", "FULL":
	default:
		return nil, fmt.Errorf("sqlite: synchronous must be NORMAL or FULL, got %q", opts.Synchronous)
	}

	lock, err := lockFile(abs)
	if err != nil {
		return nil, err
	}
	s, err := open(abs, path, opts)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func open(abs, path string, opts Options) (*Store, error) {
	w, err := sql.Open("sqlite", dsn(abs, opts, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)

	// Migrate before the read pool opens: a read-only connection can neither create the
	// file nor switch it to WAL.
	if err := migrate(context.Background(), w); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}

	r, err := sql.Open("sqlite", dsn(abs, opts, true))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns) // opening a connection costs far more than a query
	if err := r.Ping(); err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s read-only: %w", path, err)
	}
	return &Store{w: &stmts{db: w}, r: &stmts{db: r}, users: newUserCache()}, nil
}

func dsn(path string, opts Options, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	// Reading pages through a memory map saves a system call per page read; the file is
	// small, and the limit only reserves address space.
	q.Add("_pragma", "mmap_size(268435456)")
	if readOnly {
		// mode=ro is enforced by SQLite when the file is opened; query_only could be
		// switched off again by any statement.
		q.Set("mode", "ro")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous("+strings.ToUpper(opts.Synchronous)+")")
		q.Add("_pragma", "foreign_keys(1)")
		// A large write transaction (an import batch) must not spill dirty pages to the WAL
		// before it commits: SQLite's default 2 MiB cache does, and an import then spends
		// most of its time in write(2). 64 MiB is a bound, not an allocation.
		q.Add("_pragma", "cache_size(-65536)")
		// The savepoint of each imported user keeps the pages it changes in a statement
		// journal: in memory, not a temporary file written for every user.
		q.Add("_pragma", "temp_store(MEMORY)")
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// Ping checks that both pools can reach the file.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping readers: %w", err)
	}
	if err := s.w.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping writer: %w", err)
	}
	return nil
}

// Close closes both pools. Readers go first so that the writer's connection is the last
// one on the file: closing it checkpoints the WAL into the database and removes it.
func (s *Store) Close() error {
	err := errors.Join(s.r.close(), s.w.close())
	// The lock goes last, once nothing of this Store touches the file any more.
	return errors.Join(err, s.lock.Close())
}

// writeTx runs fn in a BEGIN IMMEDIATE transaction on the write connection and commits if
// fn returns nil. fn's error is returned as is, so that an updater's error reaches the
// caller unchanged.
func (s *Store) writeTx(ctx context.Context, fn func(tx runner) error) error {
	tx, err := s.w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	t := &txRunner{tx: tx, p: s.w}
	defer t.done(ctx)
	if err := fn(t); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// readTx runs fn in a read transaction, so that several queries see one snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx runner) error) error {
	tx, err := s.r.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	t := &txRunner{tx: tx, p: s.r}
	defer t.done(ctx)
	defer func() { _ = tx.Rollback() }()
	return fn(t)
}

// dbError translates driver errors into the storage sentinels, keeping SQLite's message
// (it names the constraint) for the logs.
func dbError(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, storage.ErrNotFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("sqlite: %s: %w (%s)", op, storage.ErrAlreadyExists, se.Error())
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("sqlite: %s: %w (%s)", op, storage.ErrNotFound, se.Error())
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

func notFound(op string) error {
	return fmt.Errorf("sqlite: %s: %w", op, storage.ErrNotFound)
}

// mustAffect turns "no row matched" into ErrNotFound for updates and deletes.
func mustAffect(op string, res sql.Result, err error) error {
	if err != nil {
		return dbError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(op, err)
	}
	if n == 0 {
		return notFound(op)
	}
	return nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

func checkPage(p storage.Page) error {
	if p.Page < 0 || p.PerPage <= 0 {
		return fmt.Errorf("sqlite: invalid page %+v", p)
	}
	return nil
}
