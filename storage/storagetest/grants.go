package storagetest

import (
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

var grantTests = []subtest{
	{"CreateGet", testGrantCreateGet},
	{"DeleteExpired", testGrantDeleteExpired},
	{"DeleteUserGrants", testGrantDeleteUser},
}

// newGrant returns a grant created at minute n that expires an hour later.
func newGrant(userID, clientID string, n int) storage.Grant {
	return storage.Grant{
		ID:        storage.NewGrantID(),
		UserID:    userID,
		ClientID:  clientID,
		Audience:  "https://api.example.com/",
		Scope:     "openid profile email offline_access",
		Claims:    storage.Metadata{"https://example.com/roles": []any{"admin"}, "n": "x"},
		CreatedAt: at(n),
		ExpiresAt: at(n + 60),
	}
}

func getGrant(t *testing.T, s storage.Store, id string) storage.Grant {
	t.Helper()
	g, err := s.GetGrant(t.Context(), id)
	must(t, "GetGrant "+id, err)
	return g
}

func testGrantCreateGet(t *testing.T, s storage.Store) {
	ctx := t.Context()
	g := newGrant("auth0|user1", "client-1", 1)
	must(t, "CreateGrant", s.CreateGrant(ctx, g))
	assertEqual(t, "GetGrant", getGrant(t, s, g.ID), g)

	bare := storage.Grant{ID: storage.NewGrantID(), UserID: "auth0|user1", ClientID: "client-1", CreatedAt: at(2), ExpiresAt: at(3)}
	must(t, "CreateGrant bare", s.CreateGrant(ctx, bare))
	got := getGrant(t, s, bare.ID)
	assertEqual(t, "bare grant", got, bare)
	if got.Claims == nil {
		t.Error("claims of a grant created without any come back nil")
	}

	dup := newGrant("auth0|user2", "client-2", 3)
	dup.ID = g.ID
	wantErr(t, "CreateGrant same id", s.CreateGrant(ctx, dup), storage.ErrAlreadyExists)
	assertEqual(t, "grant after refused duplicate", getGrant(t, s, g.ID), g)

	_, err := s.GetGrant(ctx, "missing")
	wantErr(t, "GetGrant missing", err, storage.ErrNotFound)

	got.Claims["added"] = true
	assertEqual(t, "grant after a caller changed a returned one", getGrant(t, s, bare.ID), bare)
}

func testGrantDeleteExpired(t *testing.T, s storage.Store) {
	ctx := t.Context()
	now := at(1000)
	expired1 := newGrant("auth0|u", "c", 1)
	expired1.ExpiresAt = now.Add(-time.Hour)
	expired2 := newGrant("auth0|u", "c", 2)
	expired2.ExpiresAt = now.Add(-time.Millisecond)
	atNow := newGrant("auth0|u", "c", 3)
	atNow.ExpiresAt = now
	live := newGrant("auth0|u", "c", 4)
	live.ExpiresAt = now.Add(time.Hour)
	for _, g := range []storage.Grant{expired1, live, atNow, expired2} {
		must(t, "CreateGrant", s.CreateGrant(ctx, g))
	}

	n, err := s.DeleteExpiredGrants(ctx, now)
	must(t, "DeleteExpiredGrants", err)
	if n != 2 {
		t.Errorf("DeleteExpiredGrants = %d, want 2 (those that expired before now)", n)
	}
	for _, g := range []storage.Grant{expired1, expired2} {
		_, err := s.GetGrant(ctx, g.ID)
		wantErr(t, "GetGrant of an expired grant", err, storage.ErrNotFound)
	}
	assertEqual(t, "grant expiring exactly now", getGrant(t, s, atNow.ID), atNow)
	assertEqual(t, "live grant", getGrant(t, s, live.ID), live)

	n, err = s.DeleteExpiredGrants(ctx, now)
	must(t, "DeleteExpiredGrants again", err)
	if n != 0 {
		t.Errorf("DeleteExpiredGrants again = %d, want 0", n)
	}
}

func testGrantDeleteUser(t *testing.T, s storage.Store) {
	ctx := t.Context()
	a1, a2 := newGrant("auth0|a", "c1", 1), newGrant("auth0|a", "c2", 2)
	b := newGrant("auth0|b", "c1", 3)
	for _, g := range []storage.Grant{a1, a2, b} {
		must(t, "CreateGrant", s.CreateGrant(ctx, g))
	}

	must(t, "DeleteUserGrants", s.DeleteUserGrants(ctx, "auth0|a"))
	for _, g := range []storage.Grant{a1, a2} {
		_, err := s.GetGrant(ctx, g.ID)
		wantErr(t, "GetGrant after DeleteUserGrants", err, storage.ErrNotFound)
	}
	assertEqual(t, "other user's grant", getGrant(t, s, b.ID), b)

	// A user without grants is not an error: deleting a user always calls this.
	must(t, "DeleteUserGrants without grants", s.DeleteUserGrants(ctx, "auth0|nobody"))
	assertEqual(t, "other user's grant", getGrant(t, s, b.ID), b)
}
