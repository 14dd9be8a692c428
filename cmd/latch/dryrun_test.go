package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The dry run shows what a login would issue and save, for the saved rules or with a draft
// in place of one, and saves nothing.
func TestRulesDryRun(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, _ := appClient(t, l, mgmt)
	claimsID := createRule(t, l, mgmt, "claims-from-metadata", corpus[0].script)
	createRule(t, l, mgmt, "count-logins", corpus[1].script)
	created := signup(t, l, clientID, "dry@example.com", "Correct-Horse-9", map[string]any{"plan": "silver"})
	userID := "auth0|" + created["_id"].(string)

	try := func(body map[string]any) (int, map[string]any, string) {
		t.Helper()
		resp, raw := l.Do(t, http.MethodPost, "/api/v2/rules/try", mgmt, body)
		var out map[string]any
		mustJSON(t, raw, &out)
		return resp.StatusCode, out, string(raw)
	}

	status, out, raw := try(map[string]any{"user_id": userID, "client_id": clientID})
	if status != 200 || out["outcome"] != "ok" {
		t.Fatalf("dry run: %d %s", status, raw)
	}
	id := out["id_token"].(map[string]any)
	if id[ns+"plan"] != "silver" || id[ns+"logins"] != float64(1) || id["sub"] != userID {
		t.Fatalf("dry-run ID token: %v", id)
	}
	if ui := out["userinfo"].(map[string]any); ui[ns+"plan"] != "silver" || ui["email"] != "dry@example.com" {
		t.Fatalf("dry-run userinfo: %v", ui)
	}
	um := out["user_metadata"].(map[string]any)
	if um["changed"] != true || um["after"].(map[string]any)["logins"] != float64(1) || um["before"].(map[string]any)["logins"] != nil {
		t.Fatalf("dry-run metadata diff: %v", um)
	}
	if len(out["timings"].([]any)) != 2 {
		t.Fatalf("timings: %v", out["timings"])
	}

	// A draft in place of the claims rule, which prints and denies.
	status, out, raw = try(map[string]any{"user_id": userID, "client_id": clientID, "rule": map[string]any{
		"id": claimsID, "script": `function (user, context, callback) { console.log('checking', user.email); callback(new UnauthorizedError('not today')); }`,
	}})
	if status != 200 || out["outcome"] != "denied" || out["denial"].(map[string]any)["message"] != "not today" ||
		!strings.Contains(raw, "checking dry@example.com") || out["id_token"] != nil {
		t.Fatalf("draft dry run: %d %s", status, raw)
	}

	// Nothing was saved by either run.
	resp, body := l.Do(t, http.MethodGet, "/api/v2/users/"+url.PathEscape(userID), mgmt, nil)
	if resp.StatusCode != 200 || strings.Contains(string(body), `"logins"`) || !strings.Contains(string(body), `"logins_count":0`) {
		t.Fatalf("a dry run saved something: %s", body)
	}

	// Bad input.
	for name, c := range map[string]struct {
		body   any
		status int
		want   string
	}{
		"syntax error":   {map[string]any{"user_id": userID, "client_id": clientID, "rule": map[string]any{"script": "function (user, context, callback) {"}}, 400, "line 1"},
		"unknown user":   {map[string]any{"user_id": "auth0|nope", "client_id": clientID}, 404, "inexistent_user"},
		"unknown client": {map[string]any{"user_id": userID, "client_id": "nope"}, 404, "inexistent_client"},
		"missing user":   {map[string]any{"client_id": clientID}, 400, "user_id"},
		"extra field":    {map[string]any{"user_id": userID, "client_id": clientID, "save": true}, 400, "save"},
		"malformed":      {`{"user_id":`, 400, "invalid_body"},
	} {
		resp, body := l.Do(t, http.MethodPost, "/api/v2/rules/try", mgmt, c.body)
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	// Scopes: reading users alone is not enough.
	tok := l.ManagementToken(t, "read:users read:rules")
	if resp, body := l.Do(t, http.MethodPost, "/api/v2/rules/try", tok, map[string]any{"user_id": userID, "client_id": clientID}); resp.StatusCode != 403 {
		t.Fatalf("dry run without update:rules: %d %s", resp.StatusCode, body)
	}
}
