package storagetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

var userTests = []subtest{
	{"CreateGet", testUserCreateGet},
	{"NotFound", testUserNotFound},
	{"DuplicateID", testUserDuplicateID},
	{"EmailUniquePerConnection", testUserEmailUnique},
	{"UsernameUniquePerConnection", testUserUsernameUnique},
	{"LookupCaseInsensitive", testUserLookupCaseInsensitive},
	{"ListUsersByEmail", testListUsersByEmail},
	{"ListUsersPaging", testListUsersPaging},
	{"Update", testUserUpdate},
	{"UpdateTakenEmail", testUserUpdateTakenEmail},
	{"UpdaterError", testUserUpdaterError},
	{"Delete", testUserDelete},
	{"Times", testUserTimes},
	{"ReturnsCopies", testUserReturnsCopies},
}

// newUser returns a user with every field set; n keeps fixtures distinct and ordered.
func newUser(connection, email string, n int) storage.User {
	return storage.User{
		ID:                storage.NewUserID(),
		Connection:        connection,
		Email:             email,
		EmailVerified:     n%2 == 0,
		Username:          fmt.Sprintf("user%d", n),
		PhoneNumber:       fmt.Sprintf("+3361234%04d", n),
		PhoneVerified:     n%2 == 1,
		Name:              fmt.Sprintf("User %d", n),
		Nickname:          fmt.Sprintf("u%d", n),
		GivenName:         "Given",
		FamilyName:        "Family",
		Picture:           "https://example.com/p.png",
		UserMetadata:      storage.Metadata{"n": json.Number(fmt.Sprint(n))},
		AppMetadata:       storage.Metadata{"plan": "free"},
		Blocked:           false,
		CreatedAt:         at(n),
		UpdatedAt:         at(n + 1),
		LastLogin:         at(n + 2),
		LastIP:            "192.0.2.1",
		LoginsCount:       int64(n),
		LastPasswordReset: at(n + 3),
	}
}

func createUser(t *testing.T, s storage.Store, u storage.User) storage.User {
	t.Helper()
	must(t, "CreateUser "+u.Email, s.CreateUser(t.Context(), u, ""))
	return u
}

func getUser(t *testing.T, s storage.Store, id string) storage.User {
	t.Helper()
	u, err := s.GetUser(t.Context(), id)
	must(t, "GetUser "+id, err)
	return u
}

func testUserCreateGet(t *testing.T, s storage.Store) {
	in := newUser("Username-Password-Authentication", "Alice.Smith@Example.COM", 1)
	in.Username = "AliceS"
	in.Blocked = true
	in.LoginsCount = 1 << 40
	must(t, "CreateUser", s.CreateUser(t.Context(), in, "$2a$10$hash"))

	want := in
	want.Email = "alice.smith@example.com"
	want.Username = "alices"
	got := getUser(t, s, in.ID)
	assertEqual(t, "GetUser", got, want)

	// A user with only the required fields comes back with non-nil metadata.
	bare := storage.User{ID: storage.NewUserID(), Connection: "c", Email: "bare@example.com", CreatedAt: at(0)}
	must(t, "CreateUser bare", s.CreateUser(t.Context(), bare, ""))
	got = getUser(t, s, bare.ID)
	if got.UserMetadata == nil || got.AppMetadata == nil {
		t.Errorf("metadata of a user created without any: user %#v, app %#v; want non-nil", got.UserMetadata, got.AppMetadata)
	}
	if !got.LastLogin.IsZero() || !got.LastPasswordReset.IsZero() || !got.UpdatedAt.IsZero() {
		t.Errorf("unset times came back set: last_login %v, last_password_reset %v, updated_at %v",
			got.LastLogin, got.LastPasswordReset, got.UpdatedAt)
	}
	assertEqual(t, "bare user", got, bare)
}

func testUserNotFound(t *testing.T, s storage.Store) {
	ctx := t.Context()
	createUser(t, s, newUser("db", "x@example.com", 1))

	_, err := s.GetUser(ctx, "auth0|000000000000000000000000")
	wantErr(t, "GetUser missing", err, storage.ErrNotFound)
	_, err = s.GetUserByEmail(ctx, "db", "nobody@example.com")
	wantErr(t, "GetUserByEmail missing", err, storage.ErrNotFound)
	_, err = s.GetUserByEmail(ctx, "other-db", "x@example.com")
	wantErr(t, "GetUserByEmail in another connection", err, storage.ErrNotFound)
	_, err = s.GetUserByUsername(ctx, "db", "nobody")
	wantErr(t, "GetUserByUsername missing", err, storage.ErrNotFound)
	called := false
	_, err = s.UpdateUser(ctx, "auth0|missing", func(u storage.User) (storage.User, error) {
		called = true
		return u, nil
	})
	wantErr(t, "UpdateUser missing", err, storage.ErrNotFound)
	if called {
		t.Error("UpdateUser called the updater for a missing user")
	}
	wantErr(t, "DeleteUser missing", s.DeleteUser(ctx, "auth0|missing"), storage.ErrNotFound)
}

func testUserDuplicateID(t *testing.T, s storage.Store) {
	first := createUser(t, s, newUser("db", "first@example.com", 1))
	dup := newUser("db2", "second@example.com", 2)
	dup.ID = first.ID
	wantErr(t, "CreateUser same id", s.CreateUser(t.Context(), dup, ""), storage.ErrAlreadyExists)
	assertEqual(t, "user after a refused duplicate", getUser(t, s, first.ID), first)
}

func testUserEmailUnique(t *testing.T, s storage.Store) {
	ctx := t.Context()
	first := createUser(t, s, newUser("db", "dup@example.com", 1))

	again := newUser("db", "DUP@Example.com", 2)
	wantErr(t, "CreateUser same email, other case", s.CreateUser(ctx, again, ""), storage.ErrAlreadyExists)
	_, err := s.GetUser(ctx, again.ID)
	wantErr(t, "GetUser of the refused user", err, storage.ErrNotFound)

	other := createUser(t, s, newUser("other-db", "dup@example.com", 3))
	got, err := s.GetUserByEmail(ctx, "other-db", "dup@example.com")
	must(t, "GetUserByEmail other connection", err)
	if got.ID != other.ID {
		t.Errorf("GetUserByEmail(other-db) = %s, want %s", got.ID, other.ID)
	}
	got, err = s.GetUserByEmail(ctx, "db", "dup@example.com")
	must(t, "GetUserByEmail first connection", err)
	if got.ID != first.ID {
		t.Errorf("GetUserByEmail(db) = %s, want %s", got.ID, first.ID)
	}
}

func testUserUsernameUnique(t *testing.T, s storage.Store) {
	ctx := t.Context()
	a := newUser("db", "a@example.com", 1)
	a.Username = "Johnny"
	createUser(t, s, a)

	b := newUser("db", "b@example.com", 2)
	b.Username = "JOHNNY"
	wantErr(t, "CreateUser same username", s.CreateUser(ctx, b, ""), storage.ErrAlreadyExists)

	c := newUser("other-db", "c@example.com", 3)
	c.Username = "johnny"
	createUser(t, s, c)

	// Users without a username do not collide with each other.
	for i := range 3 {
		u := newUser("db", fmt.Sprintf("nouser%d@example.com", i), 10+i)
		u.Username = ""
		createUser(t, s, u)
	}
	_, err := s.GetUserByUsername(ctx, "db", "")
	wantErr(t, "GetUserByUsername empty", err, storage.ErrNotFound)

	// Likewise for users without an email (username-only sign-ups).
	for i := range 2 {
		u := newUser("db", "", 20+i)
		createUser(t, s, u)
	}
	_, err = s.GetUserByEmail(ctx, "db", "")
	wantErr(t, "GetUserByEmail empty", err, storage.ErrNotFound)
}

func testUserLookupCaseInsensitive(t *testing.T, s storage.Store) {
	ctx := t.Context()
	u := newUser("db", "MiXeD@Example.Org", 1)
	u.Username = "CamelCase"
	createUser(t, s, u)

	for _, email := range []string{"mixed@example.org", "MIXED@EXAMPLE.ORG", "MiXeD@Example.Org"} {
		got, err := s.GetUserByEmail(ctx, "db", email)
		must(t, "GetUserByEmail "+email, err)
		if got.ID != u.ID || got.Email != "mixed@example.org" {
			t.Errorf("GetUserByEmail(%q) = %s %q, want %s %q", email, got.ID, got.Email, u.ID, "mixed@example.org")
		}
	}
	for _, name := range []string{"camelcase", "CAMELCASE", "CamelCase"} {
		got, err := s.GetUserByUsername(ctx, "db", name)
		must(t, "GetUserByUsername "+name, err)
		if got.ID != u.ID || got.Username != "camelcase" {
			t.Errorf("GetUserByUsername(%q) = %s %q, want %s %q", name, got.ID, got.Username, u.ID, "camelcase")
		}
	}
}

func testListUsersByEmail(t *testing.T, s storage.Store) {
	ctx := t.Context()
	// Created out of order, so that "oldest first" is the store's doing.
	c := createUser(t, s, newUser("conn-c", "shared@example.com", 3))
	a := createUser(t, s, newUser("conn-a", "Shared@example.com", 1))
	b := createUser(t, s, newUser("conn-b", "SHARED@EXAMPLE.COM", 2))
	createUser(t, s, newUser("conn-a", "someone-else@example.com", 4))

	got, err := s.ListUsersByEmail(ctx, "Shared@Example.com")
	must(t, "ListUsersByEmail", err)
	want := []string{a.ID, b.ID, c.ID}
	if g := ids(got, func(u storage.User) string { return u.ID }); !slices.Equal(g, want) {
		t.Fatalf("ListUsersByEmail = %v, want %v (oldest first)", g, want)
	}
	wantA := a
	wantA.Email = "shared@example.com"
	assertEqual(t, "ListUsersByEmail[0]", got[0], wantA)

	got, err = s.ListUsersByEmail(ctx, "nobody@example.com")
	must(t, "ListUsersByEmail none", err)
	if len(got) != 0 {
		t.Errorf("ListUsersByEmail(nobody) = %d users, want 0", len(got))
	}
}

func testListUsersPaging(t *testing.T, s storage.Store) {
	ctx := t.Context()
	users, total, err := s.ListUsers(ctx, storage.Page{Page: 0, PerPage: 10})
	must(t, "ListUsers empty", err)
	if len(users) != 0 || total != 0 {
		t.Fatalf("ListUsers on an empty store = %d users, total %d; want 0, 0", len(users), total)
	}

	const n = 7
	var want []string
	for _, i := range []int{4, 0, 6, 2, 1, 5, 3} {
		createUser(t, s, newUser("db", fmt.Sprintf("u%d@example.com", i), i))
	}
	for i := range n {
		u, err := s.GetUserByEmail(ctx, "db", fmt.Sprintf("u%d@example.com", i))
		must(t, "GetUserByEmail", err)
		want = append(want, u.ID)
	}

	var seen []string
	for page, wantLen := range []int{3, 3, 1, 0} {
		got, total, err := s.ListUsers(ctx, storage.Page{Page: page, PerPage: 3})
		must(t, fmt.Sprintf("ListUsers page %d", page), err)
		if total != n {
			t.Errorf("ListUsers page %d total = %d, want %d", page, total, n)
		}
		if len(got) != wantLen {
			t.Fatalf("ListUsers page %d = %d users, want %d", page, len(got), wantLen)
		}
		seen = append(seen, ids(got, func(u storage.User) string { return u.ID })...)
	}
	if !slices.Equal(seen, want) {
		t.Errorf("ListUsers pages = %v, want %v (oldest first)", seen, want)
	}

	all, _, err := s.ListUsers(ctx, storage.Page{Page: 0, PerPage: 100})
	must(t, "ListUsers all", err)
	if len(all) != n {
		t.Fatalf("ListUsers all = %d users, want %d", len(all), n)
	}
	assertEqual(t, "ListUsers[0]", all[0], getUser(t, s, want[0]))
}

func testUserUpdate(t *testing.T, s storage.Store) {
	ctx := t.Context()
	u := createUser(t, s, newUser("db", "before@example.com", 1))

	updated, err := s.UpdateUser(ctx, u.ID, func(old storage.User) (storage.User, error) {
		assertEqual(t, "updater input", old, u)
		old.Email = "After@Example.com"
		old.Username = "NewName"
		old.EmailVerified = !old.EmailVerified
		old.Name = "Renamed"
		old.Blocked = true
		old.LoginsCount++
		old.LastLogin = at(100)
		old.UpdatedAt = at(100)
		old.UserMetadata = storage.MergeMetadata(old.UserMetadata, storage.Metadata{"theme": "dark", "n": nil})
		old.AppMetadata = storage.Metadata{}
		return old, nil
	})
	must(t, "UpdateUser", err)

	want := u
	want.Email = "after@example.com"
	want.Username = "newname"
	want.EmailVerified = !u.EmailVerified
	want.Name = "Renamed"
	want.Blocked = true
	want.LoginsCount = u.LoginsCount + 1
	want.LastLogin = at(100)
	want.UpdatedAt = at(100)
	want.UserMetadata = storage.Metadata{"theme": "dark"}
	want.AppMetadata = storage.Metadata{}
	assertEqual(t, "UpdateUser result", updated, want)
	assertEqual(t, "GetUser after UpdateUser", getUser(t, s, u.ID), want)

	got, err := s.GetUserByEmail(ctx, "db", "AFTER@example.com")
	must(t, "GetUserByEmail new email", err)
	if got.ID != u.ID {
		t.Errorf("GetUserByEmail(new email) = %s, want %s", got.ID, u.ID)
	}
	_, err = s.GetUserByEmail(ctx, "db", "before@example.com")
	wantErr(t, "GetUserByEmail old email", err, storage.ErrNotFound)
	got, err = s.GetUserByUsername(ctx, "db", "newname")
	must(t, "GetUserByUsername new name", err)
	if got.ID != u.ID {
		t.Errorf("GetUserByUsername(new name) = %s, want %s", got.ID, u.ID)
	}
	// The old email is free again in the connection.
	createUser(t, s, newUser("db", "before@example.com", 2))
}

func testUserUpdateTakenEmail(t *testing.T, s storage.Store) {
	ctx := t.Context()
	a := createUser(t, s, newUser("db", "a@example.com", 1))
	b := createUser(t, s, newUser("db", "b@example.com", 2))

	_, err := s.UpdateUser(ctx, b.ID, func(u storage.User) (storage.User, error) {
		u.Email = "A@example.com"
		u.Name = "should not stick"
		return u, nil
	})
	wantErr(t, "UpdateUser to a taken email", err, storage.ErrAlreadyExists)
	_, err = s.UpdateUser(ctx, b.ID, func(u storage.User) (storage.User, error) {
		u.Username = strings.ToUpper(a.Username)
		return u, nil
	})
	wantErr(t, "UpdateUser to a taken username", err, storage.ErrAlreadyExists)
	assertEqual(t, "user after refused updates", getUser(t, s, b.ID), b)
	assertEqual(t, "other user after refused updates", getUser(t, s, a.ID), a)
}

func testUserUpdaterError(t *testing.T, s storage.Store) {
	u := createUser(t, s, newUser("db", "keep@example.com", 1))
	_, err := s.UpdateUser(t.Context(), u.ID, func(old storage.User) (storage.User, error) {
		old.Name = "changed"
		old.UserMetadata["changed"] = true
		return old, errUpdater
	})
	wantErr(t, "UpdateUser with a failing updater", err, errUpdater)
	assertEqual(t, "user after a failed updater", getUser(t, s, u.ID), u)
}

func testUserDelete(t *testing.T, s storage.Store) {
	ctx := t.Context()
	u := newUser("db", "gone@example.com", 1)
	must(t, "CreateUser", s.CreateUser(ctx, u, "hash"))
	keep := createUser(t, s, newUser("db", "keep@example.com", 2))

	must(t, "DeleteUser", s.DeleteUser(ctx, u.ID))

	_, err := s.GetUser(ctx, u.ID)
	wantErr(t, "GetUser after DeleteUser", err, storage.ErrNotFound)
	_, err = s.PasswordHash(ctx, u.ID)
	wantErr(t, "PasswordHash after DeleteUser", err, storage.ErrNotFound)
	_, err = s.GetUserByEmail(ctx, "db", "gone@example.com")
	wantErr(t, "GetUserByEmail after DeleteUser", err, storage.ErrNotFound)
	wantErr(t, "DeleteUser twice", s.DeleteUser(ctx, u.ID), storage.ErrNotFound)
	assertEqual(t, "other user after DeleteUser", getUser(t, s, keep.ID), keep)

	// The email and the id are free again; the new user gets no password from the old one.
	again := newUser("db", "gone@example.com", 3)
	again.ID = u.ID
	createUser(t, s, again)
	_, err = s.PasswordHash(ctx, u.ID)
	wantErr(t, "PasswordHash of a recreated user", err, storage.ErrNotFound)
}

func testUserTimes(t *testing.T, s storage.Store) {
	local := time.Date(2024, 7, 1, 12, 30, 45, 123_456_789, time.FixedZone("CEST", 2*3600))
	u := newUser("db", "times@example.com", 1)
	u.CreatedAt = local
	u.UpdatedAt = local.Add(time.Nanosecond)
	u.LastLogin = local.Add(999_999 * time.Nanosecond)
	u.LastPasswordReset = time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
	createUser(t, s, u)

	got := getUser(t, s, u.ID)
	for _, f := range []struct {
		name      string
		got, want time.Time
	}{
		{"CreatedAt", got.CreatedAt, time.Date(2024, 7, 1, 10, 30, 45, 123_000_000, time.UTC)},
		{"UpdatedAt", got.UpdatedAt, time.Date(2024, 7, 1, 10, 30, 45, 123_000_000, time.UTC)},
		{"LastLogin", got.LastLogin, time.Date(2024, 7, 1, 10, 30, 45, 124_000_000, time.UTC)},
		{"LastPasswordReset", got.LastPasswordReset, time.Date(1969, 12, 31, 23, 59, 59, 999_000_000, time.UTC)},
	} {
		if !f.got.Equal(f.want) || f.got.Location() != time.UTC {
			t.Errorf("%s = %v, want %v (UTC, milliseconds)", f.name, f.got, f.want)
		}
		if f.got.Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("%s = %v has sub-millisecond digits", f.name, f.got)
		}
	}
}

func testUserReturnsCopies(t *testing.T, s storage.Store) {
	ctx := t.Context()
	in := newUser("db", "copy@example.com", 1)
	in.UserMetadata = mustMetadata(t, `{"prefs":{"theme":"dark"},"tags":["a"]}`)
	createUser(t, s, in)
	want := in
	want.UserMetadata = mustMetadata(t, `{"prefs":{"theme":"dark"},"tags":["a"]}`)

	// Changing what was passed in, or what came back, must not reach the store.
	in.UserMetadata["prefs"].(map[string]any)["theme"] = "from input"
	got := getUser(t, s, in.ID)
	got.UserMetadata["prefs"].(map[string]any)["theme"] = "from output"
	got.UserMetadata["tags"].([]any)[0] = "from output"
	got.AppMetadata["added"] = true
	got.Name = "from output"

	updated, err := s.UpdateUser(ctx, in.ID, func(u storage.User) (storage.User, error) { return u, nil })
	must(t, "UpdateUser", err)
	updated.UserMetadata["prefs"].(map[string]any)["theme"] = "from update"

	list, err := s.ListUsersByEmail(ctx, "copy@example.com")
	must(t, "ListUsersByEmail", err)
	list[0].UserMetadata["tags"].([]any)[0] = "from list"

	assertEqual(t, "user after callers changed returned values", getUser(t, s, in.ID), want)
}
