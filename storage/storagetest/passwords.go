package storagetest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

var passwordTests = []subtest{
	{"SetGet", testPasswordSetGet},
	{"NotPartOfUser", testPasswordNotPartOfUser},
	{"UpdateUserAndPassword", testUpdateUserAndPassword},
}

// A password change and the profile change that goes with it land together or not at all.
func testUpdateUserAndPassword(t *testing.T, s storage.Store) {
	ctx := t.Context()
	u := newUser("db", "change@example.com", 1)
	must(t, "CreateUser", s.CreateUser(ctx, u, "$2a$10$old"))
	when := storage.Time(u.CreatedAt.Add(time.Hour))

	got, err := s.UpdateUserAndPassword(ctx, u.ID, "$2a$10$new", func(cur storage.User) (storage.User, error) {
		cur.LastPasswordReset = when
		return cur, nil
	})
	must(t, "UpdateUserAndPassword", err)
	if !got.LastPasswordReset.Equal(when) {
		t.Fatalf("returned user: last_password_reset %v, want %v", got.LastPasswordReset, when)
	}
	if h, _ := s.PasswordHash(ctx, u.ID); h != "$2a$10$new" {
		t.Fatalf("hash after the change = %q", h)
	}
	if r := getUser(t, s, u.ID); !r.LastPasswordReset.Equal(when) {
		t.Fatalf("stored last_password_reset %v, want %v", r.LastPasswordReset, when)
	}

	before := getUser(t, s, u.ID)
	_, err = s.UpdateUserAndPassword(ctx, u.ID, "$2a$10$refused", func(cur storage.User) (storage.User, error) {
		cur.Name = "changed"
		return cur, errUpdater
	})
	wantErr(t, "UpdateUserAndPassword with a failing updater", err, errUpdater)
	if h, _ := s.PasswordHash(ctx, u.ID); h != "$2a$10$new" {
		t.Fatalf("a refused update changed the hash to %q", h)
	}
	assertEqual(t, "user after a refused update", getUser(t, s, u.ID), before)

	_, err = s.UpdateUserAndPassword(ctx, "auth0|missing", "$2a$10$x", func(cur storage.User) (storage.User, error) { return cur, nil })
	wantErr(t, "UpdateUserAndPassword of a missing user", err, storage.ErrNotFound)
}

func testPasswordSetGet(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const first = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	withHash := newUser("db", "hash@example.com", 1)
	must(t, "CreateUser with hash", s.CreateUser(ctx, withHash, first))
	without := createUser(t, s, newUser("db", "nohash@example.com", 2))

	got, err := s.PasswordHash(ctx, withHash.ID)
	must(t, "PasswordHash", err)
	if got != first {
		t.Errorf("PasswordHash = %q, want %q", got, first)
	}
	_, err = s.PasswordHash(ctx, without.ID)
	wantErr(t, "PasswordHash of a user created without one", err, storage.ErrNotFound)
	_, err = s.PasswordHash(ctx, "auth0|missing")
	wantErr(t, "PasswordHash of a missing user", err, storage.ErrNotFound)

	const second = "$2a$10$second"
	must(t, "SetPasswordHash replace", s.SetPasswordHash(ctx, withHash.ID, second))
	must(t, "SetPasswordHash first one", s.SetPasswordHash(ctx, without.ID, "$2a$10$third"))
	for id, want := range map[string]string{withHash.ID: second, without.ID: "$2a$10$third"} {
		got, err := s.PasswordHash(ctx, id)
		must(t, "PasswordHash after set", err)
		if got != want {
			t.Errorf("PasswordHash(%s) = %q, want %q", id, got, want)
		}
	}

	// An empty hash means no password, as in CreateUser.
	must(t, "SetPasswordHash empty", s.SetPasswordHash(ctx, withHash.ID, ""))
	_, err = s.PasswordHash(ctx, withHash.ID)
	wantErr(t, "PasswordHash after clearing", err, storage.ErrNotFound)

	wantErr(t, "SetPasswordHash of a missing user", s.SetPasswordHash(ctx, "auth0|missing", "x"), storage.ErrNotFound)
	_, err = s.PasswordHash(ctx, "auth0|missing")
	wantErr(t, "PasswordHash after refused set", err, storage.ErrNotFound)

	// Setting a password leaves the profile alone.
	assertEqual(t, "user after SetPasswordHash", getUser(t, s, without.ID), without)
}

// No read path may carry the hash inside a User, in any field.
func testPasswordNotPartOfUser(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const hash = "$2a$10$UNIQUEHASHVALUEnotinanyotherfield"
	u := newUser("db", "secret@example.com", 1)
	u.Username = "secret"
	must(t, "CreateUser", s.CreateUser(ctx, u, hash))

	var users []storage.User
	users = append(users, getUser(t, s, u.ID))
	byEmail, err := s.GetUserByEmail(ctx, "db", u.Email)
	must(t, "GetUserByEmail", err)
	byName, err := s.GetUserByUsername(ctx, "db", u.Username)
	must(t, "GetUserByUsername", err)
	list, _, err := s.ListUsers(ctx, storage.Page{PerPage: 10})
	must(t, "ListUsers", err)
	listEmail, err := s.ListUsersByEmail(ctx, u.Email)
	must(t, "ListUsersByEmail", err)
	updated, err := s.UpdateUser(ctx, u.ID, func(u storage.User) (storage.User, error) { return u, nil })
	must(t, "UpdateUser", err)
	users = append(users, byEmail, byName, updated)
	users = append(users, list...)
	users = append(users, listEmail...)

	for _, got := range users {
		if dump := fmt.Sprintf("%#v", got); strings.Contains(dump, "UNIQUEHASHVALUE") {
			t.Errorf("a User carries the password hash: %s", dump)
		}
	}
	for i := range reflect.TypeFor[storage.User]().NumField() {
		if name := reflect.TypeFor[storage.User]().Field(i).Name; strings.Contains(strings.ToLower(name), "password") &&
			name != "LastPasswordReset" {
			t.Errorf("storage.User has a field %s; the hash must stay behind Passwords", name)
		}
	}
}
