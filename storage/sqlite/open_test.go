package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchauth/latch/storage"
)

func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "latch.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	u := storage.User{
		ID: storage.NewUserID(), Connection: "db", Email: "durable@example.com",
		UserMetadata: storage.Metadata{"n": json.Number("1000000")}, CreatedAt: storage.Now(),
	}
	if err := s.CreateUser(ctx, u, "hash"); err != nil {
		t.Fatal(err)
	}
	k := storage.SigningKey{KID: "k1", Alg: "RS256", SealedPriv: []byte{0, 1, 2}, State: storage.KeyCurrent, CreatedAt: storage.Now()}
	if err := s.CreateSigningKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// A clean Close checkpoints the WAL into the main file.
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WAL file left behind after Close: %v", err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.GetUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("GetUser after reopen: %v", err)
	}
	if got.Email != u.Email || got.UserMetadata["n"] != json.Number("1000000") || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Errorf("user after reopen = %+v, want %+v", got, u)
	}
	if h, err := s.PasswordHash(ctx, u.ID); err != nil || h != "hash" {
		t.Errorf("PasswordHash after reopen = %q, %v; want \"hash\"", h, err)
	}
	keys, err := s.ListSigningKeys(ctx)
	if err != nil || len(keys) != 1 || string(keys[0].SealedPriv) != "\x00\x01\x02" {
		t.Errorf("signing keys after reopen = %+v, %v", keys, err)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	for i := range 3 {
		s, err := Open(path)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		if v := userVersion(t, s); v != len(migrations) {
			t.Errorf("open #%d: user_version = %d, want %d", i+1, v, len(migrations))
		}
		// Each open sees the rows of the previous ones: nothing was recreated.
		_, total, err := s.ListUsers(t.Context(), storage.Page{PerPage: 10})
		if err != nil || total != i {
			t.Errorf("open #%d: %d users, %v; want %d", i+1, total, err, i)
		}
		u := storage.User{ID: storage.NewUserID(), Connection: "db", Email: fmt.Sprintf("u%d@example.com", i), CreatedAt: storage.Now()}
		if err := s.CreateUser(t.Context(), u, ""); err != nil {
			t.Fatalf("open #%d: CreateUser: %v", i+1, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close #%d: %v", i+1, err)
		}
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.db.Exec(`PRAGMA user_version = 999`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("Open of a database from a newer latch succeeded")
	} else if !strings.Contains(err.Error(), "999") {
		t.Errorf("error %q does not name the version found", err)
	}
}

func TestConnectionSettings(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	var mode string
	if err := s.w.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk, busy int
	if err := s.w.db.QueryRow(`PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
	if err := s.r.db.QueryRow(`PRAGMA busy_timeout`).Scan(&busy); err != nil || busy != 5000 {
		t.Errorf("reader busy_timeout = %d, %v; want 5000", busy, err)
	}
	// The read pool must refuse writes, so that a query sent to the wrong pool fails
	// loudly instead of racing the writer.
	if _, err := s.r.db.Exec(`DELETE FROM users`); err == nil {
		t.Error("the read pool accepted a write")
	}
}

func TestOpenRefusesNonFiles(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if s, err := Open(path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
	if _, err := OpenWithOptions(filepath.Join(t.TempDir(), "x.db"), Options{Synchronous: "OFF"}); err == nil {
		t.Error("Synchronous OFF accepted")
	}
}

// Paths with characters that mean something in a URI must still name the file.
func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "latch.db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at %q: %v", path, err)
	}
}

// Write transactions must hold the write lock from BEGIN on: a read-modify-write that
// only took it at its first write could find its read stale (and fail with SQLITE_BUSY
// against another process rather than wait).
func TestWriteTransactionsLockUpFront(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)

	err = s.writeTx(t.Context(), func(tx runner) error {
		var n int
		if err := tx.QueryRowContext(t.Context(), `SELECT count(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		_, err := other.Exec(`BEGIN IMMEDIATE`)
		if err == nil {
			_, _ = other.Exec(`ROLLBACK`)
			t.Error("another connection took the write lock inside a write transaction")
			return nil
		}
		var se *sqlite.Error
		if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
			t.Errorf("other writer got %v, want SQLITE_BUSY", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func userVersion(t *testing.T, s *Store) int {
	t.Helper()
	var v int
	if err := s.r.db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// One Store per file: a second Open fails until the first closes, because the user cache
// is only right while its Store is the file's only writer.
func TestOpenIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if other, err := Open(path); !errors.Is(err, ErrInUse) {
		if other != nil {
			other.Close()
		}
		t.Fatalf("second Open: %v, want ErrInUse", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s.Close()
}

// Readers racing a writer never leave a stale profile in the cache.
func TestUserCacheNeverStale(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	u := storage.User{ID: "auth0|cache", Connection: "c", Email: "c@example.com", CreatedAt: storage.Now(), UpdatedAt: storage.Now()}
	if err := s.CreateUser(ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	const writes = 200
	done := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := s.GetUser(ctx, u.ID); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := 1; i <= writes; i++ {
		if _, err := s.UpdateUser(ctx, u.ID, func(u storage.User) (storage.User, error) {
			u.LoginsCount = int64(i)
			return u, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	readers.Wait()
	got, err := s.GetUser(ctx, u.ID)
	if err != nil || got.LoginsCount != writes {
		t.Fatalf("after the writes: logins_count %d, %v; want %d", got.LoginsCount, err, writes)
	}
	got.UserMetadata["x"] = "changed by the caller"
	again, _ := s.GetUser(ctx, u.ID)
	if _, ok := again.UserMetadata["x"]; ok {
		t.Fatal("a cached profile shares its metadata with callers")
	}
	if err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, u.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("deleted user still served: %v", err)
	}
}
