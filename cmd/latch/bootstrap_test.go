package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/sqlite"
)

// A bootstrap client created by an older latch, with fewer scopes, gets the scopes added
// since at the next start.
func TestBootstrapClientGetsNewScopes(t *testing.T) {
	l := startLatch(t)
	l.Stop()
	store, err := sqlite.Open(filepath.Join(l.DataDir, "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g, err := store.GetClientGrant(ctx, l.ClientID, l.Issuer+"api/v2/")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteClientGrant(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	old := storage.ClientGrant{ID: storage.NewClientGrantID(), ClientID: l.ClientID, Audience: g.Audience, Scope: []string{"read:users"}}
	if err := store.CreateClientGrant(ctx, old); err != nil {
		t.Fatal(err)
	}
	store.Close()

	l.Restart()
	scope, _ := decodeJWTPayload(t, l.ManagementToken(t, ""))["scope"].(string)
	for _, want := range []string{"read:users", "create:actions", "update:rules"} {
		if !strings.Contains(" "+scope+" ", " "+want+" ") {
			t.Errorf("bootstrap token after restart lacks %s: %q", want, scope)
		}
	}
}
