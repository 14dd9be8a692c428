package storagetest

import (
	"testing"

	"github.com/latchauth/latch/storage"
)

var connectionTests = []subtest{
	{"CreateGet", testConnectionCreateGet},
	{"NotFoundAndDuplicate", testConnectionNotFoundAndDuplicate},
	{"List", testConnectionList},
	{"Update", testConnectionUpdate},
}

func newConnection(name string, n int) storage.Connection {
	return storage.Connection{
		ID:       storage.NewConnectionID(),
		Name:     name,
		Strategy: "auth0",
		Options: storage.ConnectionOptions{
			PasswordPolicy:     "good",
			MinLength:          12,
			PasswordDictionary: true,
			RequiresUsername:   true,
		},
		EnabledClients: []string{"client-a", "client-b"},
		CreatedAt:      at(n),
	}
}

func testConnectionCreateGet(t *testing.T, s storage.Store) {
	ctx := t.Context()
	c := newConnection("Username-Password-Authentication", 1)
	must(t, "CreateConnection", s.CreateConnection(ctx, c))

	got, err := s.GetConnection(ctx, c.ID)
	must(t, "GetConnection", err)
	assertEqual(t, "GetConnection", got, c)
	got, err = s.GetConnectionByName(ctx, c.Name)
	must(t, "GetConnectionByName", err)
	assertEqual(t, "GetConnectionByName", got, c)
	if !got.AllowsClient("client-b") || got.AllowsClient("client-z") {
		t.Errorf("enabled clients lost: %v", got.EnabledClients)
	}

	bare := storage.Connection{ID: storage.NewConnectionID(), Name: "bare", Strategy: "auth0", CreatedAt: at(2)}
	must(t, "CreateConnection bare", s.CreateConnection(ctx, bare))
	got, err = s.GetConnection(ctx, bare.ID)
	must(t, "GetConnection bare", err)
	assertEqual(t, "bare connection", got, bare)
	if !got.AllowsClient("anyone") {
		t.Error("a connection without enabled clients must allow every client")
	}
}

func testConnectionNotFoundAndDuplicate(t *testing.T, s storage.Store) {
	ctx := t.Context()
	c := newConnection("db", 1)
	must(t, "CreateConnection", s.CreateConnection(ctx, c))

	sameID := newConnection("other", 2)
	sameID.ID = c.ID
	wantErr(t, "CreateConnection same id", s.CreateConnection(ctx, sameID), storage.ErrAlreadyExists)
	sameName := newConnection("db", 3)
	wantErr(t, "CreateConnection same name", s.CreateConnection(ctx, sameName), storage.ErrAlreadyExists)
	_, err := s.GetConnection(ctx, sameName.ID)
	wantErr(t, "GetConnection of the refused one", err, storage.ErrNotFound)

	_, err = s.GetConnection(ctx, "con_missing")
	wantErr(t, "GetConnection missing", err, storage.ErrNotFound)
	_, err = s.GetConnectionByName(ctx, "missing")
	wantErr(t, "GetConnectionByName missing", err, storage.ErrNotFound)
	_, err = s.UpdateConnection(ctx, "con_missing", func(c storage.Connection) (storage.Connection, error) { return c, nil })
	wantErr(t, "UpdateConnection missing", err, storage.ErrNotFound)
}

func testConnectionList(t *testing.T, s storage.Store) {
	ctx := t.Context()
	list, err := s.ListConnections(ctx)
	must(t, "ListConnections empty", err)
	if len(list) != 0 {
		t.Fatalf("ListConnections on an empty store = %d, want 0", len(list))
	}
	want := []storage.Connection{newConnection("a", 1), newConnection("b", 2), newConnection("c", 3)}
	for _, c := range want {
		must(t, "CreateConnection", s.CreateConnection(ctx, c))
	}
	list, err = s.ListConnections(ctx)
	must(t, "ListConnections", err)
	byID := func(c storage.Connection) string { return c.ID }
	list, want = sortedBy(list, byID), sortedBy(want, byID)
	if len(list) != len(want) {
		t.Fatalf("ListConnections = %v, want %v", ids(list, byID), ids(want, byID))
	}
	for i := range want {
		assertEqual(t, "ListConnections item", list[i], want[i])
	}
}

func testConnectionUpdate(t *testing.T, s storage.Store) {
	ctx := t.Context()
	c := newConnection("db", 1)
	must(t, "CreateConnection", s.CreateConnection(ctx, c))
	must(t, "CreateConnection", s.CreateConnection(ctx, newConnection("taken", 2)))

	updated, err := s.UpdateConnection(ctx, c.ID, func(old storage.Connection) (storage.Connection, error) {
		assertEqual(t, "updater input", old, c)
		old.Options.PasswordPolicy = "excellent"
		old.Options.RequiresUsername = false
		old.EnabledClients = []string{"client-c"}
		return old, nil
	})
	must(t, "UpdateConnection", err)
	want := c
	want.Options.PasswordPolicy = "excellent"
	want.Options.RequiresUsername = false
	want.EnabledClients = []string{"client-c"}
	assertEqual(t, "UpdateConnection result", updated, want)
	got, err := s.GetConnection(ctx, c.ID)
	must(t, "GetConnection", err)
	assertEqual(t, "GetConnection after update", got, want)

	_, err = s.UpdateConnection(ctx, c.ID, func(old storage.Connection) (storage.Connection, error) {
		old.Name = "taken"
		return old, nil
	})
	wantErr(t, "UpdateConnection to a taken name", err, storage.ErrAlreadyExists)
	_, err = s.UpdateConnection(ctx, c.ID, func(old storage.Connection) (storage.Connection, error) {
		old.Strategy = "changed"
		return old, errUpdater
	})
	wantErr(t, "UpdateConnection with a failing updater", err, errUpdater)
	got, err = s.GetConnectionByName(ctx, "db")
	must(t, "GetConnectionByName after refused updates", err)
	assertEqual(t, "connection after refused updates", got, want)
}
