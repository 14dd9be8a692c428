package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestUsersGetAndSearch(t *testing.T) {
	s := shared
	clientID, _ := s.appClient(t)
	run0 := unique("search")
	email := func(i int) string { return fmt.Sprintf("%s-%d@cli.example.com", run0, i) }
	plan := unique("platinum")
	var ids []string
	for i := range 3 {
		ids = append(ids, s.signup(t, clientID, email(i), map[string]any{"plan": plan}))
	}

	// By email: the text shows the user.
	r := mustRun(t, s, ExitOK, "users", "get", email(1))
	for _, want := range []string{"user_id:", ids[1], email(1), "Username-Password-Authentication", `{"plan":"` + plan + `"}`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("users get by email: no %q in\n%s", want, r)
		}
	}
	// By id, as JSON: latch's user object.
	r = mustRun(t, s, ExitOK, "users", "get", ids[2], "--output", "json")
	var u map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &u); err != nil || u["user_id"] != ids[2] || u["email"] != email(2) {
		t.Fatalf("users get ID --output json: %v %v\n%s", err, u, r)
	}
	// Unknown users: exit 1, said plainly.
	if r = run(t, s, runOpts{}, "users", "get", "auth0|nope"); r.code != ExitFailed || !strings.Contains(r.stderr, "no user auth0|nope") {
		t.Errorf("unknown id: %s", r)
	}
	if r = run(t, s, runOpts{}, "users", "get", "nobody@cli.example.com"); r.code != ExitFailed || !strings.Contains(r.stderr, "no user has the email") {
		t.Errorf("unknown email: %s", r)
	}

	// Search with q: one page of one user, then --all pages of one.
	q := `user_metadata.plan:"` + plan + `"`
	r = mustRun(t, s, ExitOK, "users", "search", q, "--per-page", "1", "--output", "json")
	var page []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil || len(page) != 1 {
		t.Fatalf("one page of one: %v\n%s", err, r)
	}
	r = mustRun(t, s, ExitOK, "users", "search", q, "--per-page", "1", "--all", "--output", "json")
	var all []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil || len(all) != 3 {
		t.Fatalf("--all: %v\n%s", err, r)
	}
	seen := map[any]bool{}
	for _, u := range all {
		seen[u["user_id"]] = true
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("--all missed %s", id)
		}
	}
	r = mustRun(t, s, ExitOK, "users", "search", `email:"`+email(0)+`"`)
	if !strings.Contains(r.stdout, ids[0]) || strings.Contains(r.stdout, ids[1]) || !strings.Contains(r.stderr, "1 users shown of 1") {
		t.Errorf("search by email: %s", r)
	}
	// A q latch cannot read: its message, exit 1.
	if r = run(t, s, runOpts{}, "users", "search", `email:(`); r.code != ExitFailed || !strings.Contains(r.stderr, "400") {
		t.Errorf("bad q: %s", r)
	}
	if r = run(t, s, runOpts{}, "users", "search", "--per-page", "500"); r.code != ExitUsage {
		t.Errorf("--per-page 500: %s", r)
	}
}
