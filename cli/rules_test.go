package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Scripts with what a careless round trip would break: non-ASCII text, characters JSON
// encoders like to escape, a missing final newline, CRLF line ends.
const (
	scriptClaims = "function addClaims(user, context, callback) {\n" +
		"  // “smart quotes”, é, 日本 and <tags> & ampersands survive the round trip\n" +
		"  context.idToken['https://example.com/plan'] = (user.user_metadata || {}).plan;\n" +
		"  callback(null, user, context);\n" +
		"}\n"
	scriptDeny = "function (user, context, callback) {\r\n" +
		"  if (user.app_metadata && user.app_metadata.blocked) return callback(new UnauthorizedError('blocked'));\r\n" +
		"  callback(null, user, context);\r\n" +
		"}" // no final newline
	scriptCount = "function countLogins(user, context, callback) {\n" +
		"  context.idToken['https://example.com/n'] = context.stats.loginsCount;\n" +
		"  callback(null, user, context);\n" +
		"}\n"
)

// metaText is the JSON file pull writes, spelled out, so that the format itself is checked.
func metaText(name string, order int, enabled bool) string {
	return fmt.Sprintf("{\n  \"name\": %q,\n  \"script\": \"./%s.js\",\n  \"order\": %d,\n  \"enabled\": %t,\n  \"stage\": \"login_success\"\n}\n",
		name, ruleFileBase(name), order, enabled)
}

// writeRule writes NAME.json and NAME.js into dir/rules.
func writeRule(t *testing.T, dir, name, script string, order int, enabled bool) {
	t.Helper()
	folder := filepath.Join(dir, "rules")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	base := ruleFileBase(name)
	if err := os.WriteFile(filepath.Join(folder, base+".js"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(folder, base+".json"), []byte(metaText(name, order, enabled)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func removeRule(t *testing.T, dir, name string) {
	t.Helper()
	for _, ext := range []string{".js", ".json"} {
		if err := os.Remove(filepath.Join(dir, "rules", ruleFileBase(name)+ext)); err != nil {
			t.Fatal(err)
		}
	}
}

// sameFiles fails unless the two folders hold the same files, byte for byte.
func sameFiles(t *testing.T, a, b string) {
	t.Helper()
	read := func(dir string) map[string]string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = string(data)
		}
		return out
	}
	fa, fb := read(a), read(b)
	for name, content := range fa {
		other, ok := fb[name]
		switch {
		case !ok:
			t.Errorf("%s is in %s but not in %s", name, a, b)
		case other != content:
			t.Errorf("%s differs:\n%s\n--- versus ---\n%s", name, content, other)
		}
	}
	for name := range fb {
		if _, ok := fa[name]; !ok {
			t.Errorf("%s is in %s but not in %s", name, b, a)
		}
	}
}

// serverRules reads latch's rules by name, directly from the API.
func serverRules(t *testing.T, s *latchServer) map[string]remoteRule {
	t.Helper()
	var rules []remoteRule
	s.api(t, http.MethodGet, "/api/v2/rules?per_page=100", nil, http.StatusOK, &rules)
	out := map[string]remoteRule{}
	for _, r := range rules {
		out[r.Name] = r
	}
	return out
}

// clearRules deletes every rule now and when the test ends: rules run at every login, and
// the other tests log users in on the same latch.
func clearRules(t *testing.T, s *latchServer) {
	t.Helper()
	clear := func() {
		for _, r := range serverRules(t, s) {
			s.api(t, http.MethodDelete, "/api/v2/rules/"+url.PathEscape(r.ID), nil, http.StatusNoContent, nil)
		}
	}
	clear()
	t.Cleanup(clear)
}

func TestRulesPullPushRoundTrip(t *testing.T) {
	s := shared
	clearRules(t, s)

	// Pull from a latch without rules: an empty rules folder.
	empty := t.TempDir()
	r := mustRun(t, s, ExitOK, "rules", "pull", empty)
	if !strings.Contains(r.stdout, "pulled 0 rules") {
		t.Errorf("pull of nothing: %s", r)
	}
	if entries, err := os.ReadDir(filepath.Join(empty, "rules")); err != nil || len(entries) != 0 {
		t.Fatalf("pull of nothing wrote %v (err %v)", entries, err)
	}

	// Push three rules: all created, in their order, with their enabled flag.
	src := t.TempDir()
	writeRule(t, src, "Add Claims", scriptClaims, 1, true)
	writeRule(t, src, "deny-blocked", scriptDeny, 2, true)
	writeRule(t, src, "Count Logins 2", scriptCount, 3, false)
	r = mustRun(t, s, ExitOK, "rules", "push", src)
	for _, want := range []string{"+ create     Add Claims (order 1, enabled true", "+ create     Count Logins 2 (order 3, enabled false", "applied: 3 created, 0 updated, 0 deleted"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("first push: no %q in\n%s", want, r)
		}
	}
	got := serverRules(t, s)
	if len(got) != 3 || got["Add Claims"].Script != scriptClaims || got["deny-blocked"].Script != scriptDeny ||
		got["Add Claims"].Order != 1 || got["deny-blocked"].Order != 2 || got["Count Logins 2"].Order != 3 ||
		got["Count Logins 2"].Enabled || !got["Add Claims"].Enabled {
		t.Fatalf("latch's rules after the push: %+v", got)
	}

	// Pull into another directory: the same files, byte for byte.
	pulled := t.TempDir()
	mustRun(t, s, ExitOK, "rules", "pull", pulled)
	sameFiles(t, filepath.Join(src, "rules"), filepath.Join(pulled, "rules"))
	if _, err := os.Stat(filepath.Join(pulled, "rules", "Add Claims.js")); err != nil {
		t.Errorf("a name with spaces keeps them in its file name: %v", err)
	}

	// Pushing the same directory again changes nothing.
	r = mustRun(t, s, ExitOK, "rules", "push", src)
	if !strings.Contains(r.stdout, "already match") || !strings.Contains(r.stdout, "3 unchanged") {
		t.Errorf("second push: %s", r)
	}

	// Change a script and swap two orders, delete a rule, add one at the deleted rule's order.
	before := serverRules(t, s)
	changed := strings.Replace(scriptClaims, "(user.user_metadata || {}).plan", "'gold'", 1)
	writeRule(t, src, "Add Claims", changed, 2, true)
	writeRule(t, src, "deny-blocked", scriptDeny, 1, true)
	removeRule(t, src, "Count Logins 2")
	writeRule(t, src, "New Rule", scriptCount, 3, true)

	// Without a terminal and without --yes, the deletion is refused: exit 3, nothing changed.
	r = run(t, s, runOpts{}, "rules", "push", src)
	if r.code != ExitRefused {
		t.Fatalf("push with a deletion, no --yes, no terminal: %s", r)
	}
	for _, want := range []string{
		"~ update     Add Claims: script, order 1 → 2",
		"~ update     deny-blocked: order 2 → 1",
		"- delete     Count Logins 2",
		"+ create     New Rule (order 3",
		"--- latch/Add Claims.js\n+++ " + filepath.Join(src, "rules", "Add Claims.js") + "\n@@ -1,5 +1,5 @@\n",
		"-  context.idToken['https://example.com/plan'] = (user.user_metadata || {}).plan;\n+  context.idToken['https://example.com/plan'] = 'gold';\n",
		"plan: 1 to create, 2 to update, 1 to delete, 0 unchanged",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan: no %q in\n%s", want, r)
		}
	}
	if !strings.Contains(r.stderr, "--yes") {
		t.Errorf("the refusal should say how to confirm: %s", r.stderr)
	}
	if after := serverRules(t, s); !sameRules(before, after) {
		t.Fatalf("a refused push changed latch's rules:\n%+v\n%+v", before, after)
	}

	// On a terminal, "n" is a refusal too.
	r = run(t, s, runOpts{stdinTTY: true, stdin: "n\n"}, "rules", "push", src)
	if r.code != ExitRefused || !strings.Contains(r.stderr, "[y/N]") {
		t.Fatalf("push answered no: %s", r)
	}
	if after := serverRules(t, s); !sameRules(before, after) {
		t.Fatal("a push answered no changed latch's rules")
	}

	// --yes applies it, orders swapped without tripping over the unique order.
	r = mustRun(t, s, ExitOK, "rules", "push", src, "--yes")
	if !strings.Contains(r.stdout, "applied: 1 created, 2 updated, 1 deleted") {
		t.Errorf("push --yes: %s", r)
	}
	got = serverRules(t, s)
	if len(got) != 3 || got["Add Claims"].Order != 2 || got["Add Claims"].Script != changed ||
		got["deny-blocked"].Order != 1 || got["New Rule"].Order != 3 || !got["New Rule"].Enabled {
		t.Fatalf("latch's rules after push --yes: %+v", got)
	}
	if _, ok := got["Count Logins 2"]; ok {
		t.Fatal("the deleted rule is still there")
	}
	if got["deny-blocked"].ID != before["deny-blocked"].ID || got["Add Claims"].ID != before["Add Claims"].ID {
		t.Error("updated rules must keep their ids (updated in place, not recreated)")
	}
	again := t.TempDir()
	mustRun(t, s, ExitOK, "rules", "pull", again)
	sameFiles(t, filepath.Join(src, "rules"), filepath.Join(again, "rules"))

	// --output json: the plan, machine-readable, and nothing else on stdout.
	r = mustRun(t, s, ExitOK, "rules", "push", src, "--dry-run", "--output", "json")
	var plan struct {
		Plan    []ruleChange `json:"plan"`
		Applied bool         `json:"applied"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatalf("push --output json is not JSON: %v\n%s", err, r)
	}
	if plan.Applied || len(plan.Plan) != 3 || plan.Plan[0].Action != actUnchanged {
		t.Errorf("json plan: %+v", plan)
	}
	r = mustRun(t, s, ExitOK, "rules", "list", "--output", "json")
	var listed []remoteRule
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || len(listed) != 3 || listed[0].Name != "deny-blocked" {
		t.Fatalf("rules list --output json: %v %+v\n%s", err, listed, r)
	}
	r = mustRun(t, s, ExitOK, "rules", "list")
	if !strings.Contains(r.stdout, "ORDER") || !strings.Contains(r.stdout, "New Rule") {
		t.Errorf("rules list: %s", r)
	}

	// A stale file (a rule latch no longer has) is reported by pull, and removed with --prune.
	writeRule(t, again, "Gone Rule", scriptCount, 9, true)
	r = mustRun(t, s, ExitOK, "rules", "pull", again)
	if !strings.Contains(r.stderr, "Gone Rule.json") {
		t.Errorf("pull did not warn of the stale file: %s", r)
	}
	mustRun(t, s, ExitOK, "rules", "pull", again, "--prune")
	sameFiles(t, filepath.Join(src, "rules"), filepath.Join(again, "rules"))
}

func sameRules(a, b map[string]remoteRule) bool {
	if len(a) != len(b) {
		return false
	}
	for name, r := range a {
		if b[name] != r {
			return false
		}
	}
	return true
}

// A rotation of orders (1→2→3→1), a deletion that frees the order a new rule takes, and a
// confirmation answered yes on a terminal.
func TestRulesPushRotatesOrders(t *testing.T) {
	s := shared
	clearRules(t, s)
	for i, name := range []string{"R1", "R2", "R3", "X"} {
		s.api(t, http.MethodPost, "/api/v2/rules", map[string]any{"name": name, "script": scriptCount, "order": i + 1}, http.StatusCreated, nil)
	}
	dir := t.TempDir()
	writeRule(t, dir, "R1", scriptCount, 2, true)
	writeRule(t, dir, "R2", scriptCount, 3, true)
	writeRule(t, dir, "R3", scriptCount, 1, true)
	writeRule(t, dir, "Y", scriptClaims, 4, false)

	r := run(t, s, runOpts{stdinTTY: true, stdin: "yes\n"}, "rules", "push", dir)
	if r.code != ExitOK || !strings.Contains(r.stderr, "Delete 1 rule(s) from latch (X)? [y/N]") {
		t.Fatalf("push confirmed on a terminal: %s", r)
	}
	got := serverRules(t, s)
	want := map[string]int{"R1": 2, "R2": 3, "R3": 1, "Y": 4}
	if len(got) != len(want) {
		t.Fatalf("rules: %+v", got)
	}
	for name, order := range want {
		if got[name].Order != order {
			t.Errorf("%s: order %d, want %d", name, got[name].Order, order)
		}
	}
	if got["Y"].Enabled {
		t.Error("Y was pushed disabled")
	}
}

func TestRulesPushRefusesBadDirectories(t *testing.T) {
	s := shared
	clearRules(t, s)
	s.api(t, http.MethodPost, "/api/v2/rules", map[string]any{"name": "keep", "script": scriptCount, "order": 1}, http.StatusCreated, nil)

	// Two rules with one order: refused before anything is sent.
	dir := t.TempDir()
	writeRule(t, dir, "keep", scriptCount, 1, true)
	writeRule(t, dir, "other", scriptCount, 1, true)
	r := run(t, s, runOpts{}, "rules", "push", dir, "--yes")
	if r.code != ExitFailed || !strings.Contains(r.stderr, "would both have order 1") {
		t.Fatalf("duplicate orders: %s", r)
	}

	// A name latch refuses (non-ASCII): latch's own message, exit 1, nothing created.
	dir = t.TempDir()
	writeRule(t, dir, "keep", scriptCount, 1, true)
	writeRule(t, dir, "Règle spéciale", scriptCount, 2, true)
	if _, err := os.Stat(filepath.Join(dir, "rules", "Règle spéciale.js")); err != nil {
		t.Fatalf("a unicode name keeps its letters in the file name: %v", err)
	}
	r = run(t, s, runOpts{}, "rules", "push", dir, "--yes")
	if r.code != ExitFailed || !strings.Contains(r.stderr, `creating rule "Règle spéciale"`) || !strings.Contains(r.stderr, "400") || !strings.Contains(r.stderr, "letters") {
		t.Fatalf("a name latch refuses: %s", r)
	}
	if got := serverRules(t, s); len(got) != 1 {
		t.Fatalf("rules after the refused create: %+v", got)
	}

	// A directory without rules/: a usage error, never "delete everything".
	r = run(t, s, runOpts{}, "rules", "push", t.TempDir(), "--yes")
	if r.code != ExitUsage || !strings.Contains(r.stderr, "rules") {
		t.Fatalf("push of a directory without rules/: %s", r)
	}
	// A script outside the directory is refused.
	dir = t.TempDir()
	writeRule(t, dir, "keep", scriptCount, 1, true)
	os.WriteFile(filepath.Join(dir, "rules", "keep.json"), []byte(`{"name":"keep","script":"../../etc/passwd"}`), 0o644)
	r = run(t, s, runOpts{}, "rules", "push", dir)
	if r.code != ExitUsage || !strings.Contains(r.stderr, "outside") {
		t.Fatalf("script outside the directory: %s", r)
	}
	if got := serverRules(t, s); len(got) != 1 || got["keep"].Order != 1 {
		t.Fatalf("rules changed: %+v", got)
	}
}

func TestPlanRules(t *testing.T) {
	one, two := 1, 2
	remote := []remoteRule{{ID: "rul_a", Name: "a", Script: "x", Order: 1, Stage: defaultStage, Enabled: true}}
	// A file without order or enabled has no opinion on them.
	plan, err := planRules([]ruleFile{{Name: "a", Script: "x"}}, remote)
	if err != nil || plan.count(actUnchanged) != 1 {
		t.Fatalf("no opinion: %+v %v", plan, err)
	}
	plan, err = planRules([]ruleFile{{Name: "a", Script: "x", Order: &two}}, remote)
	if err != nil || plan.count(actUpdate) != 1 || !slices.Equal(plan.Changes[0].Changes, []string{"order"}) {
		t.Fatalf("order change: %+v %v", plan, err)
	}
	if _, err := planRules([]ruleFile{{Name: "a", Script: "x", Stage: "pre_authorize"}}, remote); err == nil || !strings.Contains(err.Error(), "stage") {
		t.Errorf("stage change: %v", err)
	}
	if _, err := planRules([]ruleFile{{Name: "a", Script: "x"}, {Name: "b", Script: "y", Order: &one}}, remote); err == nil {
		t.Error("a created rule taking an unchanged rule's order was planned")
	}
	got := tempOrders(rulePlan{}, []remoteRule{{Order: 2147483647}, {Order: -5}}, 2)
	if !slices.Equal(got, []int{-6, -7}) {
		t.Errorf("temporary orders near the 32-bit limit: %v", got)
	}
}
