package mongo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/mongotest"
	"github.com/latchauth/latch/storage"
)

// While the server is down every operation fails with ErrUnavailable (never a panic, never
// ErrNotFound); once it is back, the same Store works again without being reopened.
func TestUnavailableAndRecovery(t *testing.T) {
	srv := mongotest.Start(t)
	uri := srv.URI(t)
	opts := Options{ServerSelectionTimeout: time.Second}
	s, err := Open(t.Context(), uri, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	u := counterUser()
	if err := s.CreateUser(t.Context(), u, "$2a$10$hash"); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	wantUnavailable := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with the server down = %v, want ErrUnavailable", op, err)
		}
		if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrAlreadyExists) {
			t.Errorf("%s with the server down = %v: a sentinel that blames the request", op, err)
		}
	}
	wantUnavailable("Ping", s.Ping(ctx))
	_, err = s.GetUser(ctx, u.ID)
	wantUnavailable("GetUser", err)
	called := false
	_, err = s.UpdateUser(ctx, u.ID, func(v storage.User) (storage.User, error) { called = true; return v, nil })
	wantUnavailable("UpdateUser", err)
	if called {
		t.Error("UpdateUser ran the updater without having read the user")
	}
	other := counterUser()
	other.Email = "other@example.com"
	wantUnavailable("CreateUser", s.CreateUser(ctx, other, ""))
	_, _, err = s.SearchUsers(ctx, nil, storage.UserSort{}, storage.Page{PerPage: 10})
	wantUnavailable("SearchUsers", err)
	_, err = Open(ctx, srv.URI(t), opts)
	wantUnavailable("Open", err)

	srv.Restart(t)
	// The driver finds the server again by itself; give it a generous while.
	deadline := time.Now().Add(60 * time.Second)
	for err = s.Ping(ctx); err != nil && time.Now().Before(deadline); err = s.Ping(ctx) {
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Ping after the restart: %v", err)
	}
	got, err := s.GetUser(t.Context(), u.ID)
	if err != nil {
		t.Fatalf("GetUser after the restart: %v", err)
	}
	if got.ID != u.ID || got.Email != u.Email {
		t.Errorf("user after the restart = %s %s, want %s %s", got.ID, got.Email, u.ID, u.Email)
	}
	if err := s.CreateUser(t.Context(), other, ""); err != nil {
		t.Errorf("CreateUser after the restart: %v", err)
	}
}

func TestDatabaseName(t *testing.T) {
	for _, tc := range []struct {
		uri, override, want string
		bad                 bool
	}{
		{"mongodb://127.0.0.1:27017/", "", DefaultDatabase, false},
		{"mongodb://127.0.0.1:27017", "", DefaultDatabase, false},
		{"mongodb://127.0.0.1:27017/tenant1?replicaSet=rs0", "", "tenant1", false},
		{"mongodb://127.0.0.1:27017/tenant1", "tenant2", "tenant2", false},
		{"mongodb://127.0.0.1:27017/", "a.b", "", true},
		{"mongodb://127.0.0.1:27017/", "a$b", "", true},
		{"mongodb://127.0.0.1:27017/", "a b", "", true},
	} {
		got, err := databaseName(tc.uri, tc.override)
		if tc.bad != (err != nil) || got != tc.want {
			t.Errorf("databaseName(%q, %q) = %q, %v; want %q (error: %v)", tc.uri, tc.override, got, err, tc.want, tc.bad)
		}
	}
}

func TestOpenRefusesBadOptions(t *testing.T) {
	uri := mongotest.URI(t)
	for _, o := range []Options{{WriteConcern: "most"}, {WriteConcern: "0"}, {ReadConcern: "snapshot"}, {Database: "x.y"}} {
		if s, err := Open(t.Context(), uri, o); err == nil {
			_ = s.Close()
			t.Errorf("Open with %+v: no error", o)
		}
	}
	// Explicit, valid choices are accepted.
	s, err := Open(t.Context(), uri, Options{WriteConcern: "1", ReadConcern: "local"})
	if err != nil {
		t.Fatalf("Open with w=1, local reads: %v", err)
	}
	_ = s.Close()
}
