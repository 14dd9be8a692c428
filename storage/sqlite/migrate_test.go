package sqlite

import (
	"database/sql"
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
