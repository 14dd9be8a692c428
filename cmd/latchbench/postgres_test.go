package main

import (
	"slices"
	"strings"
	"testing"
)

// FerretDB's metadata rows, as its PostgreSQL handler stores them (the "$s" schema cut short).
const (
	usersRow = `{"$s": {"p": {}}, "_id": "users", "uuid": "4190", "table": "users_5e7cc513", "indexes": [` +
		`{"key": {"_id": 1}, "name": "_id_", "unique": true, "pgindex": "users_5e7cc513__id__67399184_idx"},` +
		`{"key": {"connection": 1, "uniq_email": 1}, "name": "users_connection_email", "unique": true, "pgindex": "a"},` +
		`{"key": {"connection": 1, "uniq_username": 1}, "name": "users_connection_username", "unique": true, "pgindex": "b"},` +
		`{"key": {"email": 1, "created_at": 1}, "name": "users_email_created", "unique": false, "pgindex": "c"},` +
		`{"key": {"created_at": 1, "_id": 1}, "name": "users_created", "unique": false, "pgindex": "d"}]}`
	triggersRow = `{"_id": "action_triggers", "table": "action_triggers_0c1d", "indexes": [{"key": {"bindings.action_id": 1}, "name": "x"}]}`
)

func TestGINStatements(t *testing.T) {
	stmts, err := ginStatements("latchbench_ab12", []string{usersRow, "", triggersRow})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`CREATE INDEX IF NOT EXISTS "users_5e7cc513_gin_id" ON "latchbench_ab12"."users_5e7cc513" USING gin ((_jsonb->'_id'))`,
		`CREATE INDEX IF NOT EXISTS "users_5e7cc513_gin_email" ON "latchbench_ab12"."users_5e7cc513" USING gin ((_jsonb->'email'))`,
		`CREATE INDEX IF NOT EXISTS "users_5e7cc513_gin_uniq_email" ON "latchbench_ab12"."users_5e7cc513" USING gin ((_jsonb->'uniq_email'))`,
		`CREATE INDEX IF NOT EXISTS "users_5e7cc513_gin_uniq_username" ON "latchbench_ab12"."users_5e7cc513" USING gin ((_jsonb->'uniq_username'))`,
		// A nested field is left alone: FerretDB does not push its filter down.
		`CREATE INDEX IF NOT EXISTS "action_triggers_0c1d_gin_id" ON "latchbench_ab12"."action_triggers_0c1d" USING gin ((_jsonb->'_id'))`,
	}
	if !slices.Equal(stmts, want) {
		t.Errorf("statements:\n%s\nwant:\n%s", strings.Join(stmts, "\n"), strings.Join(want, "\n"))
	}
}

// Names go into SQL: anything but a plain lower-case name is refused, not quoted.
func TestGINStatementsRefusesOddTableNames(t *testing.T) {
	for _, table := range []string{`users"; DROP TABLE x; --`, "Users", ""} {
		row := `{"table": "` + strings.ReplaceAll(table, `"`, `\"`) + `", "indexes": []}`
		if _, err := ginStatements("db", []string{row}); err == nil {
			t.Errorf("table %q: no error", table)
		}
	}
	if _, err := ginStatements("db", []string{"not json"}); err == nil {
		t.Error("a row that is not JSON: no error")
	}
}
