package sqlite

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

// A database written by a latch that knew only the first step is brought up to date on
// open, and keeps its rows.
func TestMigrateFromStepOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	db, err := sql.Open("sqlite", dsn(path, Options{BusyTimeout: 5 * time.Second, Synchronous: "NORMAL"}, false))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		migrations[0],
		`PRAGMA user_version = 1`,
		`INSERT INTO users (id, connection, email) VALUES ('auth0|old', 'db', 'old@example.com')`,
	} {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			t.Fatalf("build a step-1 database: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open of a step-1 database: %v", err)
	}
	defer s.Close()
	if v := userVersion(t, s); v != len(migrations) {
		t.Errorf("user_version = %d, want %d", v, len(migrations))
	}
	if u, err := s.GetUser(t.Context(), "auth0|old"); err != nil || u.Email != "old@example.com" {
		t.Errorf("user from step 1 = %+v, %v", u, err)
	}
	r := storage.Rule{ID: storage.NewRuleID(), Name: "after upgrade", Enabled: true, Script: "x", Stage: storage.RuleStageLoginSuccess}
	if got, err := s.AppendRule(t.Context(), r); err != nil || got.Order != 1 {
		t.Errorf("AppendRule after upgrade = %+v, %v", got, err)
	}
	if err := s.SetRulesConfig(t.Context(), "K", []byte{0, 1}); err != nil {
		t.Errorf("SetRulesConfig after upgrade: %v", err)
	}
	a := storage.Action{ID: storage.NewActionID(), Name: "after upgrade", Code: "x", SupportedTriggers: []string{"post-login"}}
	if err := s.CreateAction(t.Context(), a); err != nil {
		t.Errorf("CreateAction after upgrade: %v", err)
	}
	if _, err := s.SetTriggerBindings(t.Context(), "post-login", []storage.ActionBinding{{ID: storage.NewBindingID(), ActionID: a.ID}}); err != nil {
		t.Errorf("SetTriggerBindings after upgrade: %v", err)
	}
}

// Clients written before step 4 read back with the zero refresh-token policy (the service
// applies the defaults) and without plain PKCE; refresh tokens work after the upgrade, and
// DeleteUser, which now also deletes refresh tokens, still works on upgraded rows.
func TestMigrateFromStepThree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	db, err := sql.Open("sqlite", dsn(path, Options{BusyTimeout: 5 * time.Second, Synchronous: "NORMAL"}, false))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range append(migrations[:3:3],
		`PRAGMA user_version = 3`,
		`INSERT INTO clients (id, name, jwt_configuration) VALUES ('old-client', 'Old', '{"alg":"RS256"}')`,
		`INSERT INTO users (id, connection, email) VALUES ('auth0|old', 'db', 'old@example.com')`,
	) {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			t.Fatalf("build a step-3 database: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open of a step-3 database: %v", err)
	}
	defer s.Close()
	ctx := t.Context()
	if v := userVersion(t, s); v != len(migrations) {
		t.Errorf("user_version = %d, want %d", v, len(migrations))
	}
	c, err := s.GetClient(ctx, "old-client")
	if err != nil {
		t.Fatalf("GetClient of a client from step 3: %v", err)
	}
	if c.Name != "Old" || c.JWTConfiguration.Alg != "RS256" {
		t.Errorf("client from step 3 = %+v", c)
	}
	if c.RefreshToken != (storage.RefreshTokenPolicy{}) || c.AllowPlainPKCE {
		t.Errorf("client from step 3: refresh_token %+v, allow_plain_pkce %v; want zero values", c.RefreshToken, c.AllowPlainPKCE)
	}
	if _, err := s.UpdateClient(ctx, "old-client", func(c storage.Client) (storage.Client, error) {
		c.RefreshToken = storage.DefaultRefreshTokenPolicy()
		c.AllowPlainPKCE = true
		return c, nil
	}); err != nil {
		t.Fatalf("UpdateClient after upgrade: %v", err)
	}
	if c, err := s.GetClient(ctx, "old-client"); err != nil || c.RefreshToken != storage.DefaultRefreshTokenPolicy() || !c.AllowPlainPKCE {
		t.Errorf("client after update = %+v, %v", c, err)
	}

	rt := storage.RefreshToken{ID: "rt", FamilyID: "fam", UserID: "auth0|old", ClientID: "old-client"}
	if err := s.CreateRefreshToken(ctx, rt); err != nil {
		t.Fatalf("CreateRefreshToken after upgrade: %v", err)
	}
	if err := s.DeleteUser(ctx, "auth0|old"); err != nil {
		t.Fatalf("DeleteUser after upgrade: %v", err)
	}
	if _, err := s.GetRefreshToken(ctx, "rt"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("refresh token of a deleted user: %v, want ErrNotFound", err)
	}
}
