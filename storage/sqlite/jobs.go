package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/latchauth/latch/storage"
)

var (
	_ storage.Jobs        = (*Store)(nil)
	_ storage.UserImports = (*Store)(nil)
)

// encodeJob is the JSON kept in jobs.data: the job without its id, status and files, which
// have columns of their own.
func encodeJob(j storage.Job) (string, error) {
	j.Input = nil
	b, err := json.Marshal(j)
	if err != nil {
		return "", fmt.Errorf("encode job: %w", err)
	}
	return string(b), nil
}

func decodeJob(data string) (storage.Job, error) {
	var j storage.Job
	d := json.NewDecoder(bytes.NewReader([]byte(data)))
	d.UseNumber() // metadata of failed users keeps its numbers as written
	if err := d.Decode(&j); err != nil {
		return storage.Job{}, fmt.Errorf("decode job: %w", err)
	}
	return normalJob(j), nil
}

// normalJob is j with its times as the store keeps them.
func normalJob(j storage.Job) storage.Job {
	j.CreatedAt, j.UpdatedAt = storage.Time(j.CreatedAt), storage.Time(j.UpdatedAt)
	j.CompletedAt, j.ExpiresAt = storage.Time(j.CompletedAt), storage.Time(j.ExpiresAt)
	j.Heartbeat = storage.Time(j.Heartbeat)
	return j
}

func (s *Store) CreateJob(ctx context.Context, j storage.Job) error {
	op := fmt.Sprintf("create job %q", j.ID)
	j = normalJob(j)
	data, err := encodeJob(j)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return s.writeTx(ctx, func(tx runner) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO jobs (id, status, created_at, expires_at, data, input)
			VALUES (?, ?, ?, ?, ?, ?)`, j.ID, j.Status, timeArg(j.CreatedAt), timeArg(j.ExpiresAt), data, j.Input)
		return dbError(op, err)
	})
}

func scanJob(sc scanner) (storage.Job, error) {
	var id, status, data string
	if err := sc.Scan(&id, &status, &data); err != nil {
		return storage.Job{}, err
	}
	j, err := decodeJob(data)
	if err != nil {
		return storage.Job{}, fmt.Errorf("job %s: %w", id, err)
	}
	j.ID, j.Status = id, status
	return j, nil
}

func (s *Store) JobInput(ctx context.Context, id string) ([]byte, error) {
	op := fmt.Sprintf("input of job %q", id)
	var in []byte
	if err := s.r.QueryRowContext(ctx, `SELECT input FROM jobs WHERE id = ?`, id).Scan(&in); err != nil {
		return nil, dbError(op, err)
	}
	if in == nil {
		return nil, notFound(op)
	}
	return in, nil
}

func (s *Store) GetJob(ctx context.Context, id string) (storage.Job, error) {
	j, err := scanJob(s.r.QueryRowContext(ctx, `SELECT id, status, data FROM jobs WHERE id = ?`, id))
	if err != nil {
		return storage.Job{}, dbError(fmt.Sprintf("get job %q", id), err)
	}
	return j, nil
}

func (s *Store) UpdateJob(ctx context.Context, id string, update func(storage.Job) (storage.Job, error)) (storage.Job, error) {
	op := fmt.Sprintf("update job %q", id)
	var out storage.Job
	err := s.writeTx(ctx, func(tx runner) error {
		old, err := scanJob(tx.QueryRowContext(ctx, `SELECT id, status, data FROM jobs WHERE id = ?`, id))
		if err != nil {
			return dbError(op, err)
		}
		nj, err := update(old)
		if err != nil {
			return err
		}
		nj.ID = id
		nj = normalJob(nj)
		data, err := encodeJob(nj)
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", op, err)
		}
		nj.Input = nil
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET status = ?, expires_at = ?, data = ?,
			input = CASE WHEN ? IN ('completed', 'failed') THEN NULL ELSE input END WHERE id = ?`,
			nj.Status, timeArg(nj.ExpiresAt), data, nj.Status, id)
		if err != nil {
			return dbError(op, err)
		}
		out = nj
		return nil
	})
	if err != nil {
		return storage.Job{}, err
	}
	return out, nil
}

func (s *Store) ListUnfinishedJobs(ctx context.Context) ([]storage.Job, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, status, data FROM jobs
		WHERE status IN ('pending', 'processing') ORDER BY created_at, id`)
	if err != nil {
		return nil, dbError("list unfinished jobs", err)
	}
	defer rows.Close()
	var out []storage.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, dbError("list unfinished jobs", err)
		}
		out = append(out, j)
	}
	return out, dbError("list unfinished jobs", rows.Err())
}

func (s *Store) SetJobOutput(ctx context.Context, id string, data []byte) error {
	op := fmt.Sprintf("set output of job %q", id)
	if data == nil {
		data = []byte{}
	}
	return s.writeTx(ctx, func(tx runner) error {
		res, err := tx.ExecContext(ctx, `UPDATE jobs SET output = ? WHERE id = ?`, data, id)
		return mustAffect(op, res, err)
	})
}

func (s *Store) JobOutput(ctx context.Context, id string) ([]byte, error) {
	op := fmt.Sprintf("output of job %q", id)
	var out []byte
	err := s.r.QueryRowContext(ctx, `SELECT output FROM jobs WHERE id = ?`, id).Scan(&out)
	if err != nil {
		return nil, dbError(op, err)
	}
	if out == nil {
		return nil, notFound(op)
	}
	return out, nil
}

func (s *Store) DeleteExpiredJobs(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.writeTx(ctx, func(tx runner) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE expires_at IS NOT NULL AND expires_at < ?`, timeArg(now))
		if err != nil {
			return dbError("delete expired jobs", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// ImportUsers stores the batch in one transaction. A new user is inserted only when it
// collides with nobody (so its refusal leaves nothing to undo); an upsert's update runs
// inside a savepoint, undone alone when it collides.
func (s *Store) ImportUsers(ctx context.Context, users []storage.ImportedUser, merge storage.MergeImported) ([]storage.ImportResult, error) {
	results := make([]storage.ImportResult, len(users))
	// An updated user is stored under its own id, which may not be the file's.
	defer s.users.invalidateAll()
	err := s.writeTx(ctx, func(tx runner) error {
		var search []searchRow
		for i, iu := range users {
			r, err := importUser(ctx, tx, i, iu, merge, &search)
			if err != nil && !isItemError(err) {
				return err
			}
			if err != nil {
				r = storage.ImportResult{Err: err}
			}
			results[i] = r
		}
		return insertSearchRows(ctx, tx, search)
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// itemError marks an error that belongs to one imported user (a conflict, or merge's
// refusal) rather than to the batch.
type itemError struct{ err error }

func (e itemError) Error() string { return e.err.Error() }
func (e itemError) Unwrap() error { return e.err }

func isItemError(err error) bool {
	var ie itemError
	return errors.As(err, &ie)
}

func importUser(ctx context.Context, tx runner, i int, iu storage.ImportedUser, merge storage.MergeImported, search *[]searchRow) (storage.ImportResult, error) {
	op := fmt.Sprintf("import user %q", iu.User.ID)
	row, err := newUserRow(iu.User)
	if err != nil {
		return storage.ImportResult{}, itemError{fmt.Errorf("sqlite: %s: %w", op, err)}
	}
	if merge != nil {
		existing, err := findImported(ctx, tx, row.u)
		switch {
		case err == nil:
			return mergeImported(ctx, tx, existing, i, merge)
		case !errors.Is(err, sql.ErrNoRows):
			return storage.ImportResult{}, dbError(op, err)
		}
	}
	// DO NOTHING on any unique conflict (id, email or username): the user is refused whole.
	const insert = `INSERT INTO users (` + userColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	res, err := tx.ExecContext(ctx, insert, row.args()...)
	if err != nil {
		return storage.ImportResult{}, dbError(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return storage.ImportResult{}, dbError(op, err)
	} else if n == 0 {
		return storage.ImportResult{}, itemError{fmt.Errorf("sqlite: %s: %w", op, storage.ErrAlreadyExists)}
	}
	// The user's search rows are written with the batch's, in index order (search.go).
	seen := map[string]bool{}
	for _, e := range searchEntries(row.u) {
		if k := e.key(); !seen[k] {
			seen[k] = true
			*search = append(*search, searchRow{searchEntry: e, userID: row.u.ID, sortKey: k})
		}
	}
	if iu.PasswordHash != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO passwords (user_id, hash) VALUES (?, ?)`, row.u.ID, iu.PasswordHash); err != nil {
			return storage.ImportResult{}, dbError(op, err)
		}
	}
	return storage.ImportResult{Inserted: true}, nil
}

// itemOrBatch makes a conflict the user's error; anything else fails the batch.
func itemOrBatch(err error) error {
	if errors.Is(err, storage.ErrAlreadyExists) {
		return itemError{err}
	}
	return err
}

// findImported finds the stored user an imported one stands for: by id, else by email,
// else by username, within its connection.
func findImported(ctx context.Context, tx runner, u storage.User) (storage.User, error) {
	q := `SELECT ` + userColumns + ` FROM users WHERE `
	existing, err := scanUser(tx.QueryRowContext(ctx, q+`id = ?`, u.ID))
	if err == nil && existing.Connection == u.Connection {
		return existing, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return storage.User{}, err
	}
	if u.Email != "" {
		existing, err = scanUser(tx.QueryRowContext(ctx, q+`connection = ? AND email = ?`, u.Connection, u.Email))
		if !errors.Is(err, sql.ErrNoRows) {
			return existing, err
		}
	}
	if u.Username != "" {
		return scanUser(tx.QueryRowContext(ctx, q+`connection = ? AND username = ?`, u.Connection, u.Username))
	}
	return storage.User{}, sql.ErrNoRows
}

func mergeImported(ctx context.Context, tx runner, existing storage.User, i int, merge storage.MergeImported) (storage.ImportResult, error) {
	op := fmt.Sprintf("import user %q", existing.ID)
	var hash string
	err := tx.QueryRowContext(ctx, `SELECT hash FROM passwords WHERE user_id = ?`, existing.ID).Scan(&hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return storage.ImportResult{}, dbError(op, err)
	}
	// The update may collide (a new email taken by another user): undo it alone.
	if _, err := tx.ExecContext(ctx, `SAVEPOINT import_user`); err != nil {
		return storage.ImportResult{}, dbError(op, err)
	}
	r, err := mergeInSavepoint(ctx, tx, existing, hash, i, merge)
	end := `RELEASE import_user`
	if err != nil {
		end = `ROLLBACK TO import_user; RELEASE import_user`
	}
	if _, xerr := tx.ExecContext(ctx, end); xerr != nil {
		return storage.ImportResult{}, dbError(op, xerr)
	}
	return r, err
}

func mergeInSavepoint(ctx context.Context, tx runner, existing storage.User, hash string, i int, merge storage.MergeImported) (storage.ImportResult, error) {
	op := fmt.Sprintf("import user %q", existing.ID)
	var newHash string
	_, err := updateUser(ctx, tx, existing.ID, func(u storage.User) (storage.User, error) {
		nu, h, err := merge(u, hash, i)
		if err != nil {
			return storage.User{}, itemError{err}
		}
		newHash = h
		return nu, nil
	})
	if err != nil {
		return storage.ImportResult{}, itemOrBatch(err)
	}
	if newHash != "" {
		_, err := tx.ExecContext(ctx, `INSERT INTO passwords (user_id, hash) VALUES (?, ?)
			ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash`, existing.ID, newHash)
		if err != nil {
			return storage.ImportResult{}, dbError(op, err)
		}
	}
	return storage.ImportResult{Updated: true}, nil
}

// searchRow is one row of user_search waiting to be written.
type searchRow struct {
	searchEntry
	userID  string
	sortKey string // field, kind and value, as the primary key orders them (near enough)
}

// searchRowsPerInsert is how many rows one INSERT statement carries.
const searchRowsPerInsert = 64

// insertSearchRows writes a batch's search rows sorted as the table's primary key is, many
// per statement: the B-tree is then filled page by page instead of at random, which is most
// of what an import costs.
func insertSearchRows(ctx context.Context, tx runner, rows []searchRow) error {
	sort.Slice(rows, func(a, b int) bool {
		x, y := &rows[a], &rows[b]
		if x.sortKey != y.sortKey {
			return x.sortKey < y.sortKey
		}
		return x.userID < y.userID
	})
	full := `INSERT OR IGNORE INTO user_search (field, kind, value, user_id) VALUES (?, ?, ?, ?)` +
		strings.Repeat(", (?, ?, ?, ?)", searchRowsPerInsert-1)
	args := make([]any, 0, 4*searchRowsPerInsert)
	for len(rows) > 0 {
		n := min(len(rows), searchRowsPerInsert)
		query := full
		if n < searchRowsPerInsert {
			query = `INSERT OR IGNORE INTO user_search (field, kind, value, user_id) VALUES (?, ?, ?, ?)` +
				strings.Repeat(", (?, ?, ?, ?)", n-1)
		}
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r.field, r.kind, r.value, r.userID)
		}
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return dbError("import users: search rows", err)
		}
		rows = rows[n:]
	}
	return nil
}
