package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/latchauth/latch/storage"
)

const userColumns = `id, connection, email, email_verified, username, phone_number, phone_verified,
	name, nickname, given_name, family_name, picture, user_metadata, app_metadata, blocked,
	created_at, updated_at, last_login, last_ip, logins_count, last_password_reset`

func scanUser(sc scanner) (storage.User, error) {
	var (
		u                                 storage.User
		userMeta, appMeta                 string
		created, updated, login, pwdReset sql.NullInt64
	)
	err := sc.Scan(&u.ID, &u.Connection, &u.Email, &u.EmailVerified, &u.Username, &u.PhoneNumber,
		&u.PhoneVerified, &u.Name, &u.Nickname, &u.GivenName, &u.FamilyName, &u.Picture,
		&userMeta, &appMeta, &u.Blocked, &created, &updated, &login, &u.LastIP, &u.LoginsCount,
		&pwdReset)
	if err != nil {
		return storage.User{}, err
	}
	if u.UserMetadata, err = decodeMetadata(userMeta); err != nil {
		return storage.User{}, fmt.Errorf("user %s: user_metadata: %w", u.ID, err)
	}
	if u.AppMetadata, err = decodeMetadata(appMeta); err != nil {
		return storage.User{}, fmt.Errorf("user %s: app_metadata: %w", u.ID, err)
	}
	u.CreatedAt, u.UpdatedAt = timeCol(created), timeCol(updated)
	u.LastLogin, u.LastPasswordReset = timeCol(login), timeCol(pwdReset)
	return u, nil
}

// userRow is a user ready to be written: normalised as the store keeps it, with its
// metadata encoded.
type userRow struct {
	u                 storage.User
	userMeta, appMeta string
}

func newUserRow(u storage.User) (userRow, error) {
	r := userRow{u: u}
	r.u.Email = strings.ToLower(u.Email)
	r.u.Username = strings.ToLower(u.Username)
	r.u.CreatedAt = storage.Time(u.CreatedAt)
	r.u.UpdatedAt = storage.Time(u.UpdatedAt)
	r.u.LastLogin = storage.Time(u.LastLogin)
	r.u.LastPasswordReset = storage.Time(u.LastPasswordReset)
	var err error
	if r.userMeta, r.u.UserMetadata, err = normalMetadata(u.UserMetadata); err != nil {
		return userRow{}, fmt.Errorf("user_metadata: %w", err)
	}
	if r.appMeta, r.u.AppMetadata, err = normalMetadata(u.AppMetadata); err != nil {
		return userRow{}, fmt.Errorf("app_metadata: %w", err)
	}
	return r, nil
}

// args are in userColumns order.
func (r userRow) args() []any {
	u := r.u
	return []any{u.ID, u.Connection, u.Email, u.EmailVerified, u.Username, u.PhoneNumber,
		u.PhoneVerified, u.Name, u.Nickname, u.GivenName, u.FamilyName, u.Picture,
		r.userMeta, r.appMeta, u.Blocked, timeArg(u.CreatedAt), timeArg(u.UpdatedAt),
		timeArg(u.LastLogin), u.LastIP, u.LoginsCount, timeArg(u.LastPasswordReset)}
}

func (s *Store) CreateUser(ctx context.Context, u storage.User, passwordHash string) error {
	op := fmt.Sprintf("create user %q", u.ID)
	row, err := newUserRow(u)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	const insert = `INSERT INTO users (` + userColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	defer s.users.invalidate(u.ID)
	return s.writeTx(ctx, func(tx runner) error {
		if _, err := tx.ExecContext(ctx, insert, row.args()...); err != nil {
			return dbError(op, err)
		}
		if err := writeSearchRows(ctx, tx, row.u.ID, nil, searchEntries(row.u)); err != nil {
			return dbError(op, err)
		}
		if passwordHash == "" {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO passwords (user_id, hash) VALUES (?, ?)`, u.ID, passwordHash)
		return dbError(op, err)
	})
}

func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	if u, ok := s.users.get(id); ok {
		return u, nil
	}
	gen := s.users.generation()
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return storage.User{}, dbError(fmt.Sprintf("get user %q", id), err)
	}
	s.users.put(u, gen)
	return u, nil
}

func (s *Store) GetUserByEmail(ctx context.Context, connection, email string) (storage.User, error) {
	op := fmt.Sprintf("get user by email in %q", connection)
	if email == "" {
		return storage.User{}, notFound(op)
	}
	u, err := scanUser(s.r.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE connection = ? AND email = ?`,
		connection, strings.ToLower(email)))
	if err != nil {
		return storage.User{}, dbError(op, err)
	}
	return u, nil
}

func (s *Store) GetUserByUsername(ctx context.Context, connection, username string) (storage.User, error) {
	op := fmt.Sprintf("get user by username in %q", connection)
	if username == "" {
		return storage.User{}, notFound(op)
	}
	u, err := scanUser(s.r.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE connection = ? AND username = ?`,
		connection, strings.ToLower(username)))
	if err != nil {
		return storage.User{}, dbError(op, err)
	}
	return u, nil
}

func (s *Store) ListUsersByEmail(ctx context.Context, email string) ([]storage.User, error) {
	if email == "" {
		return []storage.User{}, nil
	}
	users, err := queryUsers(ctx, s.r, `SELECT `+userColumns+` FROM users WHERE email = ? ORDER BY created_at, id`,
		strings.ToLower(email))
	if err != nil {
		return nil, dbError("list users by email", err)
	}
	return users, nil
}

func (s *Store) ListUsers(ctx context.Context, page storage.Page) ([]storage.User, int, error) {
	if err := checkPage(page); err != nil {
		return nil, 0, err
	}
	var (
		users []storage.User
		total int
	)
	err := s.readTx(ctx, func(tx runner) error {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&total); err != nil {
			return err
		}
		var err error
		users, err = queryUsers(ctx, tx, `SELECT `+userColumns+` FROM users ORDER BY created_at, id LIMIT ? OFFSET ?`,
			page.PerPage, page.Offset())
		return err
	})
	if err != nil {
		return nil, 0, dbError("list users", err)
	}
	return users, total, nil
}

func queryUsers(ctx context.Context, q runner, query string, args ...any) ([]storage.User, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	users := []storage.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, rows.Err()
}

// UpdateUser reads, updates and writes the user inside one BEGIN IMMEDIATE transaction:
// no other write can come between the read and the write, so no update is lost and the
// updater runs exactly once. The id cannot be changed by the updater.
func (s *Store) UpdateUser(ctx context.Context, id string, update func(storage.User) (storage.User, error)) (storage.User, error) {
	defer s.users.invalidate(id)
	var out storage.User
	err := s.writeTx(ctx, func(tx runner) (err error) {
		out, err = updateUser(ctx, tx, id, update)
		return err
	})
	if err != nil {
		return storage.User{}, err
	}
	return out, nil
}

// UpdateUserAndPassword is UpdateUser and SetPasswordHash in one transaction.
func (s *Store) UpdateUserAndPassword(ctx context.Context, id, hash string, update func(storage.User) (storage.User, error)) (storage.User, error) {
	if hash == "" {
		return storage.User{}, fmt.Errorf("sqlite: update user %q: empty password hash", id)
	}
	defer s.users.invalidate(id)
	var out storage.User
	err := s.writeTx(ctx, func(tx runner) (err error) {
		if out, err = updateUser(ctx, tx, id, update); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO passwords (user_id, hash) VALUES (?, ?)
			ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash`, id, hash)
		return dbError(fmt.Sprintf("set password hash of %q", id), err)
	})
	if err != nil {
		return storage.User{}, err
	}
	return out, nil
}

// updateUser is the read-modify-write of a user inside a write transaction.
func updateUser(ctx context.Context, tx runner, id string, update func(storage.User) (storage.User, error)) (storage.User, error) {
	op := fmt.Sprintf("update user %q", id)
	old, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return storage.User{}, dbError(op, err)
	}
	// Taken before the updater runs: it may change old's metadata maps in place.
	before := searchEntries(old)
	nu, err := update(old)
	if err != nil {
		return storage.User{}, err
	}
	nu.ID = id
	row, err := newUserRow(nu)
	if err != nil {
		return storage.User{}, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	args := row.args()
	_, err = tx.ExecContext(ctx, `UPDATE users SET
		connection = ?, email = ?, email_verified = ?, username = ?, phone_number = ?,
		phone_verified = ?, name = ?, nickname = ?, given_name = ?, family_name = ?, picture = ?,
		user_metadata = ?, app_metadata = ?, blocked = ?, created_at = ?, updated_at = ?,
		last_login = ?, last_ip = ?, logins_count = ?, last_password_reset = ?
		WHERE id = ?`, append(args[1:], id)...)
	if err != nil {
		return storage.User{}, dbError(op, err)
	}
	if err := writeSearchRows(ctx, tx, id, before, searchEntries(row.u)); err != nil {
		return storage.User{}, dbError(op, err)
	}
	return row.u, nil
}

// DeleteUser removes the user, by cascade the password hash, and the user's refresh tokens,
// in one transaction. Grants are the caller's to remove (storage.Grants.DeleteUserGrants).
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	defer s.users.invalidate(id)
	op := fmt.Sprintf("delete user %q", id)
	return s.writeTx(ctx, func(tx runner) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		if err := mustAffect(op, res, err); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM refresh_tokens WHERE user_id = ?`, id)
		return dbError(op, err)
	})
}

func (s *Store) PasswordHash(ctx context.Context, userID string) (string, error) {
	var hash string
	err := s.r.QueryRowContext(ctx, `SELECT hash FROM passwords WHERE user_id = ?`, userID).Scan(&hash)
	if err != nil {
		return "", dbError(fmt.Sprintf("password hash of %q", userID), err)
	}
	return hash, nil
}

// SetPasswordHash replaces the user's hash; an empty hash removes it, as CreateUser
// treats an empty hash as "no password".
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string) error {
	op := fmt.Sprintf("set password hash of %q", userID)
	if hash == "" {
		// The user must exist even though there may be no row to delete.
		return s.writeTx(ctx, func(tx runner) error {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one); err != nil {
				return dbError(op, err)
			}
			_, err := tx.ExecContext(ctx, `DELETE FROM passwords WHERE user_id = ?`, userID)
			return dbError(op, err)
		})
	}
	// The foreign key refuses a missing user; dbError makes that ErrNotFound.
	_, err := s.w.ExecContext(ctx, `INSERT INTO passwords (user_id, hash) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash`, userID, hash)
	return dbError(op, err)
}
