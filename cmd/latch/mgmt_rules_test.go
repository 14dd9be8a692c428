package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const ruleScript = "function (user, context, callback) {\n  context.idToken['https://example.com/x'] = 1;\n  callback(null, user, context);\n}"

var ruleIDPattern = regexp.MustCompile(`^rul_[A-Za-z0-9]{16}$`)

// mgmtCreateRule creates a rule and checks the answer's shape.
func mgmtCreateRule(t *testing.T, l *testLatch, tok string, body map[string]any) map[string]any {
	t.Helper()
	r := mgmtJSON(t, l, http.MethodPost, "/api/v2/rules", tok, body, http.StatusCreated)
	wantRuleShape(t, r)
	return r
}

// wantRuleShape: exactly Auth0's properties, since deploy-cli sends a listed rule back in
// a PATCH.
func wantRuleShape(t *testing.T, r map[string]any) {
	t.Helper()
	var keys []string
	for k := range r {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"enabled", "id", "name", "order", "script", "stage"}; !slices.Equal(keys, want) {
		t.Errorf("rule properties %v, want %v", keys, want)
	}
	if id, _ := r["id"].(string); !ruleIDPattern.MatchString(id) {
		t.Errorf("rule id %q", r["id"])
	}
	if r["stage"] != "login_success" {
		t.Errorf("stage %v", r["stage"])
	}
}

func rulePath(r map[string]any) string { return "/api/v2/rules/" + r["id"].(string) }

func TestMgmtRuleCreateAndRead(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")

	first := mgmtCreateRule(t, l, tok, map[string]any{"name": "add claim", "script": ruleScript})
	if first["enabled"] != true || first["order"] != json.Number("1") || first["script"] != ruleScript || first["name"] != "add claim" {
		t.Errorf("created rule: %v", first)
	}
	if got := mgmtJSON(t, l, http.MethodGet, rulePath(first), tok, nil, http.StatusOK); !reflect.DeepEqual(got, first) {
		t.Errorf("GET %v, want what POST answered %v", got, first)
	}

	// deploy-cli's shape: order null means "after the others", stage given.
	second := mgmtCreateRule(t, l, tok, map[string]any{
		"name": "Second-Rule 2", "script": ruleScript, "order": nil, "enabled": false, "stage": "login_success",
	})
	if second["order"] != json.Number("2") || second["enabled"] != false {
		t.Errorf("second rule: %v", second)
	}
	explicit := mgmtCreateRule(t, l, tok, map[string]any{"name": "explicit", "script": ruleScript, "order": 10})
	if explicit["order"] != json.Number("10") {
		t.Errorf("explicit order: %v", explicit)
	}
	zero := mgmtCreateRule(t, l, tok, map[string]any{"name": "zero", "script": ruleScript, "order": 0})
	if zero["order"] != json.Number("0") {
		t.Errorf("order 0: %v", zero)
	}
	if next := mgmtCreateRule(t, l, tok, map[string]any{"name": "next", "script": ruleScript}); next["order"] != json.Number("11") {
		t.Errorf("after order 10: %v", next["order"])
	}

	got := mgmtJSON(t, l, http.MethodGet, rulePath(first)+"?fields=name,order&include_fields=true", tok, nil, http.StatusOK)
	if !reflect.DeepEqual(got, map[string]any{"name": "add claim", "order": json.Number("1")}) {
		t.Errorf("with fields: %v", got)
	}
	got = mgmtJSON(t, l, http.MethodGet, rulePath(first)+"?fields=script,stage&include_fields=false", tok, nil, http.StatusOK)
	if _, ok := got["script"]; ok || len(got) != 4 {
		t.Errorf("without fields: %v", got)
	}
	resp, body := l.Do(t, http.MethodGet, rulePath(first)+"?include_fields=maybe", tok, nil)
	wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_query_string", "")

	// A restart keeps them.
	l.Restart()
	tok = l.ManagementToken(t, "")
	if got := mgmtJSON(t, l, http.MethodGet, rulePath(second), tok, nil, http.StatusOK); !reflect.DeepEqual(got, second) {
		t.Errorf("after restart: %v, want %v", got, second)
	}
}

func TestMgmtRuleList(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	if list := decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/rules", tok)); len(list) != 0 {
		t.Fatalf("rules on a fresh latch: %v", list)
	}
	env := mgmtList(t, l, "/api/v2/rules?include_totals=true", tok)
	if env["total"] != json.Number("0") || len(env["rules"].([]any)) != 0 {
		t.Fatalf("empty envelope: %v", env)
	}

	// Created out of order: listing goes by order.
	var byOrder []string
	ids := map[int]string{}
	for _, order := range []int{7, 3, 9, 1, 5, 2, 8} {
		r := mgmtCreateRule(t, l, tok, map[string]any{
			"name": fmt.Sprintf("rule %d", order), "script": ruleScript, "order": order, "enabled": order%2 == 1,
		})
		ids[order] = r["id"].(string)
	}
	for _, order := range []int{1, 2, 3, 5, 7, 8, 9} {
		byOrder = append(byOrder, ids[order])
	}
	ruleIDs := func(items []any) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.(map[string]any)["id"].(string))
		}
		return out
	}
	if got := ruleIDs(decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/rules", tok))); !slices.Equal(got, byOrder) {
		t.Errorf("list = %v, want by order %v", got, byOrder)
	}

	// deploy-cli pages with per_page=100 and needs total.
	env = mgmtList(t, l, "/api/v2/rules?page=0&per_page=100&include_totals=true", tok)
	if env["total"] != json.Number("7") || env["start"] != json.Number("0") || env["limit"] != json.Number("100") {
		t.Errorf("envelope: %v", env)
	}
	var seen []string
	for page := 0; page < 4; page++ {
		env := mgmtList(t, l, fmt.Sprintf("/api/v2/rules?page=%d&per_page=3&include_totals=true", page), tok)
		items := env["rules"].([]any)
		if env["total"] != json.Number("7") || env["start"] != json.Number(fmt.Sprint(page*3)) || env["limit"] != json.Number("3") {
			t.Errorf("page %d envelope: %v", page, env)
		}
		seen = append(seen, ruleIDs(items)...)
	}
	if !slices.Equal(seen, byOrder) {
		t.Errorf("paged = %v, want %v", seen, byOrder)
	}

	// enabled filters before paging; total counts what matches.
	env = mgmtList(t, l, "/api/v2/rules?enabled=true&include_totals=true&per_page=2", tok)
	if env["total"] != json.Number("5") || !slices.Equal(ruleIDs(env["rules"].([]any)), []string{ids[1], ids[3]}) {
		t.Errorf("enabled=true: %v", env)
	}
	if got := ruleIDs(decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/rules?enabled=false", tok))); !slices.Equal(got, []string{ids[2], ids[8]}) {
		t.Errorf("enabled=false: %v", got)
	}
	filtered := decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/rules?fields=id&include_fields=true&per_page=1", tok))
	if len(filtered) != 1 || !reflect.DeepEqual(filtered[0], map[string]any{"id": ids[1]}) {
		t.Errorf("fields=id: %v", filtered)
	}
	if far := mgmtList(t, l, "/api/v2/rules?page=1000000&include_totals=true", tok); len(far["rules"].([]any)) != 0 {
		t.Errorf("far page: %v", far)
	}
	for _, q := range []string{"per_page=101", "per_page=0", "page=-1", "page=x", "include_totals=1", "enabled=yes", "enabled="} {
		resp, body := l.Do(t, http.MethodGet, "/api/v2/rules?"+q, tok, nil)
		if q == "enabled=" { // empty means not given
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s: %d %s", q, resp.StatusCode, body)
			}
			continue
		}
		wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_query_string", "")
	}
}

func TestMgmtRuleRefusals(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	mgmtCreateRule(t, l, tok, map[string]any{"name": "taken", "script": ruleScript, "order": 4})

	syntaxError := "function (user, context, callback) {\n  callback(null, user, context;\n}"
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
		msgIn  string
	}{
		{"no name", map[string]any{"script": ruleScript}, 400, "invalid_body", "name"},
		{"no script", map[string]any{"name": "x"}, 400, "invalid_body", "script"},
		{"empty script", map[string]any{"name": "x", "script": ""}, 400, "invalid_body", "script"},
		{"empty name", map[string]any{"name": "", "script": ruleScript}, 400, "invalid_body", "name"},
		{"leading dash", map[string]any{"name": "-x", "script": ruleScript}, 400, "invalid_body", "name"},
		{"trailing space", map[string]any{"name": "x ", "script": ruleScript}, 400, "invalid_body", "name"},
		{"dot", map[string]any{"name": "a.b", "script": ruleScript}, 400, "invalid_body", "name"},
		{"markup", map[string]any{"name": "<script>", "script": ruleScript}, 400, "invalid_body", "name"},
		{"long name", map[string]any{"name": strings.Repeat("n", 256), "script": ruleScript}, 400, "invalid_body", "name"},
		{"name number", map[string]any{"name": 5, "script": ruleScript}, 400, "invalid_body", "name"},
		{"name null", map[string]any{"name": nil, "script": ruleScript}, 400, "invalid_body", "name"},
		{"script object", map[string]any{"name": "x", "script": map[string]any{}}, 400, "invalid_body", "script"},
		{"enabled string", map[string]any{"name": "x", "script": ruleScript, "enabled": "true"}, 400, "invalid_body", "enabled"},
		{"enabled null", map[string]any{"name": "x", "script": ruleScript, "enabled": nil}, 400, "invalid_body", "enabled"},
		{"order string", map[string]any{"name": "x", "script": ruleScript, "order": "1"}, 400, "invalid_body", "order"},
		{"order fraction", `{"name": "x", "script": "function (u, c, cb) { cb(null, u, c); }", "order": 1.5}`, 400, "invalid_body", "order"},
		{"order huge", `{"name": "x", "script": "function (u, c, cb) { cb(null, u, c); }", "order": 99999999999999999999}`, 400, "invalid_body", "order"},
		{"stage", map[string]any{"name": "x", "script": ruleScript, "stage": "login_failure"}, 400, "invalid_body", "stage"},
		{"stage number", map[string]any{"name": "x", "script": ruleScript, "stage": 1}, 400, "invalid_body", "stage"},
		{"id", map[string]any{"name": "x", "script": ruleScript, "id": "rul_0123456789abcdef"}, 400, "invalid_body", "id"},
		{"unknown", map[string]any{"name": "x", "script": ruleScript, "created_at": "now"}, 400, "invalid_body", "created_at"},
		{"syntax error", map[string]any{"name": "x", "script": syntaxError}, 400, "invalid_body", "line 2"},
		{"unknown module", map[string]any{"name": "x", "script": "function (user, context, callback) {\n  require('latch-no-such-module');\n  callback(null, user, context);\n}"}, 400, "invalid_body", "latch-no-such-module"},
		{"not a function", map[string]any{"name": "x", "script": "42"}, 400, "invalid_body", "function"},
		{"two functions", map[string]any{"name": "x", "script": ruleScript + "\n" + ruleScript}, 400, "invalid_body", "script"},
		{"oversized script", map[string]any{"name": "x", "script": ruleScript + "//" + strings.Repeat("x", 100<<10)}, 400, "invalid_body", "script"},
		{"taken name", map[string]any{"name": "taken", "script": ruleScript}, 409, "conflict", "name"},
		{"taken order", map[string]any{"name": "x", "script": ruleScript, "order": 4}, 409, "conflict", "order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := l.Do(t, http.MethodPost, "/api/v2/rules", tok, tc.body)
			wantMgmtError(t, resp, body, tc.status, tc.code, tc.msgIn)
		})
	}
	// The syntax error names its place.
	resp, body := l.Do(t, http.MethodPost, "/api/v2/rules", tok, map[string]any{"name": "x", "script": syntaxError})
	wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_body", "column")
	if list := mgmtList(t, l, "/api/v2/rules?include_totals=true", tok); list["total"] != json.Number("1") {
		t.Errorf("rules after refusals: %v", list["total"])
	}
}

func TestMgmtRulePatch(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	r := mgmtCreateRule(t, l, tok, map[string]any{"name": "original", "script": ruleScript, "order": 1})
	other := mgmtCreateRule(t, l, tok, map[string]any{"name": "other", "script": ruleScript, "order": 2})
	path := rulePath(r)

	newScript := "function (user, context, callback) {\n  callback(null, user, context);\n}"
	got := mgmtJSON(t, l, http.MethodPatch, path, tok, map[string]any{"name": "renamed", "script": newScript, "enabled": false, "order": 5}, http.StatusOK)
	want := map[string]any{"id": r["id"], "name": "renamed", "script": newScript, "enabled": false, "order": json.Number("5"), "stage": "login_success"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PATCH answered %v, want %v", got, want)
	}
	if got := mgmtJSON(t, l, http.MethodGet, path, tok, nil, http.StatusOK); !reflect.DeepEqual(got, want) {
		t.Errorf("GET after PATCH %v", got)
	}
	// Null order leaves it alone (deploy-cli sends null for "no opinion").
	got = mgmtJSON(t, l, http.MethodPatch, path, tok, map[string]any{"order": nil, "enabled": true}, http.StatusOK)
	if got["order"] != json.Number("5") || got["enabled"] != true {
		t.Errorf("PATCH with null order: %v", got)
	}

	before := mgmtGetRaw(t, l, path, tok)
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
		msgIn  string
	}{
		{"empty", map[string]any{}, 400, "invalid_body", "Too few properties"},
		{"stage", map[string]any{"stage": "login_success"}, 400, "invalid_body", "stage"},
		{"id", map[string]any{"id": other["id"]}, 400, "invalid_body", "id"},
		{"name null", map[string]any{"name": nil}, 400, "invalid_body", "name"},
		{"script null", map[string]any{"script": nil}, 400, "invalid_body", "script"},
		{"bad name", map[string]any{"name": "bad name-"}, 400, "invalid_body", "name"},
		{"syntax error", map[string]any{"script": "function (user) {"}, 400, "invalid_body", "line"},
		{"taken name", map[string]any{"name": "other"}, 409, "conflict", "name"},
		{"taken order", map[string]any{"order": 2}, 409, "conflict", "order"},
		// A valid change alongside a refused one is not applied either.
		{"half valid", map[string]any{"enabled": false, "name": "other"}, 409, "conflict", "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := l.Do(t, http.MethodPatch, path, tok, tc.body)
			wantMgmtError(t, resp, body, tc.status, tc.code, tc.msgIn)
		})
	}
	if after := mgmtGetRaw(t, l, path, tok); !bytes.Equal(after, before) {
		t.Errorf("rule changed by refused patches:\n%s\n%s", before, after)
	}

	resp, body := l.Do(t, http.MethodPatch, "/api/v2/rules/rul_0000000000000000", tok, map[string]any{"enabled": false})
	wantMgmtErrorExact(t, resp, body, http.StatusNotFound, "inexistent_rule", "The rule does not exist.")
}

// deploy-cli's moves, as its rules handler makes them: list with per_page=100, move an
// existing rule out of the way by sending it back (minus id and stage) with a new order,
// then create the new rule at the freed order, then update by id with order null.
func TestMgmtRulesDeployCLIShapes(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	mgmtCreateRule(t, l, tok, map[string]any{"name": "existing", "script": ruleScript, "order": 1})

	env := mgmtList(t, l, "/api/v2/rules?include_totals=true&page=0&per_page=100", tok)
	listed := env["rules"].([]any)[0].(map[string]any)
	id := listed["id"].(string)
	move := map[string]any{}
	for k, v := range listed {
		if k != "id" && k != "stage" {
			move[k] = v
		}
	}
	move["order"] = 2
	mgmtJSON(t, l, http.MethodPatch, "/api/v2/rules/"+id, tok, move, http.StatusOK)

	created := mgmtCreateRule(t, l, tok, map[string]any{"name": "new one", "script": ruleScript, "order": 1, "enabled": true, "stage": "login_success"})
	got := mgmtJSON(t, l, http.MethodPatch, "/api/v2/rules/"+id, tok, map[string]any{"name": "existing", "script": ruleScript, "enabled": true, "order": nil}, http.StatusOK)
	if got["order"] != json.Number("2") || created["order"] != json.Number("1") {
		t.Errorf("after the moves: existing %v, created %v", got, created)
	}
}

func TestMgmtRuleDelete(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	r := mgmtCreateRule(t, l, tok, map[string]any{"name": "gone", "script": ruleScript, "order": 3})
	keep := mgmtCreateRule(t, l, tok, map[string]any{"name": "kept", "script": ruleScript})

	resp, body := l.Do(t, http.MethodDelete, rulePath(r), tok, nil)
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		resp, body = l.Do(t, method, rulePath(r), tok, nil)
		wantMgmtErrorExact(t, resp, body, http.StatusNotFound, "inexistent_rule", "The rule does not exist.")
	}
	if list := decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/rules", tok)); len(list) != 1 || list[0].(map[string]any)["id"] != keep["id"] {
		t.Errorf("list after delete: %v", list)
	}
	// Name and order are free again.
	mgmtCreateRule(t, l, tok, map[string]any{"name": "gone", "script": ruleScript, "order": 3})
}

func TestMgmtRuleHostileIDs(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	r := mgmtCreateRule(t, l, tok, map[string]any{"name": "victim", "script": ruleScript})
	before := mgmtGetRaw(t, l, rulePath(r), tok)
	id := r["id"].(string)
	for _, hostile := range []string{
		"..%2F..%2Fclients", "..%2f..%2fusers", "%2e%2e%2F%2e%2e%2Fclients%2Fbootstrap-client",
		id + "%2F..", id + "%00", "%ff%fe", "%25", strings.Repeat("r", 5000), strings.ToUpper(id),
		"'%20OR%20'1'='1", "rul_%25", "%7B%22%24gt%22%3A%22%22%7D",
	} {
		for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
			var body any
			if method == http.MethodPatch {
				body = `{"enabled": false}`
			}
			resp, data := l.Do(t, method, "/api/v2/rules/"+hostile, tok, body)
			wantMgmtErrorExact(t, resp, data, http.StatusNotFound, "inexistent_rule", "The rule does not exist.")
		}
	}
	if after := mgmtGetRaw(t, l, rulePath(r), tok); !bytes.Equal(after, before) {
		t.Errorf("rule changed:\n%s\n%s", before, after)
	}
}

func ruleEndpoints(ruleID string) []mgmtEndpoint {
	p := "/api/v2/rules/" + ruleID
	return []mgmtEndpoint{
		{http.MethodGet, "/api/v2/rules", []string{"read:rules"}, nil},
		{http.MethodPost, "/api/v2/rules", []string{"create:rules"}, map[string]any{"name": "auth check", "script": ruleScript}},
		{http.MethodGet, p, []string{"read:rules"}, nil},
		{http.MethodPatch, p, []string{"update:rules"}, map[string]any{"enabled": false}},
		{http.MethodDelete, p, []string{"delete:rules"}, nil},
	}
}

func TestMgmtRuleEndpointsAuth(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	r := mgmtCreateRule(t, l, tok, map[string]any{"name": "auth", "script": ruleScript})
	checkEndpointsAuth(t, l, ruleEndpoints(r["id"].(string)))
}

func TestMgmtRuleEndpointsBadBodies(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	r := mgmtCreateRule(t, l, tok, map[string]any{"name": "bodies", "script": ruleScript})
	before := mgmtGetRaw(t, l, rulePath(r), tok)
	checkBadBodies(t, l, tok, []mgmtEndpoint{
		{method: http.MethodPost, path: "/api/v2/rules"},
		{method: http.MethodPatch, path: rulePath(r)},
	})
	if after := mgmtGetRaw(t, l, rulePath(r), tok); !bytes.Equal(after, before) {
		t.Errorf("rule changed by bad bodies:\n%s\n%s", before, after)
	}
	if list := mgmtList(t, l, "/api/v2/rules?include_totals=true", tok); list["total"] != json.Number("1") {
		t.Errorf("rules after bad bodies: %v", list["total"])
	}
}
