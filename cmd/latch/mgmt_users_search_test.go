package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// GET /api/v2/users with q, sort and paging, through the real server: what the Node SDK and
// the dashboard-style clients send. The query semantics themselves are pinned by the Search
// group of storagetest; this checks the HTTP surface around them.
func TestMgmtUsersSearch(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	ids := map[string]string{}
	for _, u := range []struct {
		email string
		extra map[string]any
	}{
		{"ann@example.com", map[string]any{"name": "Ann Lee", "user_metadata": map[string]any{"plan": "gold", "prefs": map[string]any{"fontSize": 13}}, "app_metadata": map[string]any{"roles": []string{"admin"}}}},
		{"ben@example.org", map[string]any{"name": "Ben Kim", "user_metadata": map[string]any{"plan": "silver"}, "blocked": true}},
		{"cat@example.com", map[string]any{"name": "Cat Ray", "user_metadata": map[string]any{"plan": "gold"}, "app_metadata": map[string]any{"roles": []string{"billing"}}}},
		{"dan@example.net", map[string]any{"name": "Dan Orr"}},
	} {
		ids[u.email] = mgmtCreateUser(t, l, tok, u.email, u.extra)["user_id"].(string)
	}
	search := func(query url.Values) []string {
		t.Helper()
		var found []string
		for _, u := range decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/users?"+query.Encode(), tok)) {
			found = append(found, u.(map[string]any)["email"].(string))
		}
		return found
	}
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{`email:"ANN@example.com"`, []string{"ann@example.com"}},
		{`user_metadata.plan:gold`, []string{"ann@example.com", "cat@example.com"}},
		{`user_metadata.plan:gold AND NOT app_metadata.roles:admin`, []string{"cat@example.com"}},
		{`user_metadata.prefs.fontSize:13`, []string{"ann@example.com"}},
		{`email.domain:example.com OR blocked:true`, []string{"ann@example.com", "ben@example.org", "cat@example.com"}},
		{`name:(ann* OR dan*)`, []string{"ann@example.com", "dan@example.net"}},
		{`_exists_:app_metadata.roles`, []string{"ann@example.com", "cat@example.com"}},
		{`identities.connection:"` + dbConnection + `" AND name:*orr`, []string{"dan@example.net"}},
		{`created_at:[2000-01-01 TO *]`, []string{"ann@example.com", "ben@example.org", "cat@example.com", "dan@example.net"}},
		{`*`, []string{"ann@example.com", "ben@example.org", "cat@example.com", "dan@example.net"}},
		{`nobody`, nil},
	} {
		got := search(url.Values{"q": {tc.q}, "search_engine": {"v3"}})
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("q=%s: %v, want %v", tc.q, got, tc.want)
		}
	}

	// The index follows writes made through the API.
	mgmtJSON(t, l, http.MethodPatch, "/api/v2/users/"+url.PathEscape(ids["dan@example.net"]), tok,
		map[string]any{"user_metadata": map[string]any{"plan": "gold"}, "name": "Daniel Orr"}, http.StatusOK)
	if got := search(url.Values{"q": {`user_metadata.plan:gold AND name:daniel*`}}); !slices.Equal(got, []string{"dan@example.net"}) {
		t.Errorf("after PATCH: %v", got)
	}
	if resp, body := l.Do(t, http.MethodDelete, "/api/v2/users/"+url.PathEscape(ids["cat@example.com"]), tok, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
	}
	if got := search(url.Values{"q": {`user_metadata.plan:gold`}, "sort": {"email:-1"}}); !slices.Equal(got, []string{"dan@example.net", "ann@example.com"}) {
		t.Errorf("after DELETE, sorted by email descending: %v", got)
	}

	// include_totals: the envelope the Node SDK pages with, counting every match.
	env := mgmtList(t, l, "/api/v2/users?"+url.Values{
		"q": {`user_metadata.plan:*`}, "sort": {"email:1"}, "page": {"1"}, "per_page": {"1"}, "include_totals": {"true"},
		"fields": {"email,user_id"}, "include_fields": {"true"},
	}.Encode(), tok)
	wantEnv := map[string]any{
		"start": json.Number("1"), "limit": json.Number("1"), "length": json.Number("1"), "total": json.Number("3"),
		"users": []any{map[string]any{"email": "ben@example.org", "user_id": ids["ben@example.org"]}},
	}
	if !reflect.DeepEqual(env, wantEnv) {
		t.Errorf("envelope:\n got %v\nwant %v", env, wantEnv)
	}
	if env := mgmtList(t, l, "/api/v2/users?q=nobody&include_totals=true", tok); env["total"] != json.Number("0") || len(env["users"].([]any)) != 0 {
		t.Errorf("no match: %v", env)
	}

	// Errors: 400 invalid_query_string, with the position of the error in q.
	for _, tc := range []struct{ query, msg string }{
		{"q=" + url.QueryEscape(`name:ann AND bogus:x`), "position 13"},
		{"q=" + url.QueryEscape(`(name:ann`), "position 0"},
		{"q=" + url.QueryEscape(`name:é AND bogus:x`), "invalid q at position 11: unknown field"}, // characters, not bytes
		{"q=" + url.QueryEscape(`name:*nn`), "at least 3 literal"},
		{"q=" + url.QueryEscape(`user_metadata.plan:go*`), "user_metadata"},
		{"q=" + url.QueryEscape(`logins_count:many`), "integer"},
		{"q=" + url.QueryEscape(`-blocked:true`), "position 0"},
		{"q=" + url.QueryEscape(strings.Repeat("name:a OR ", 500)+"name:b"), "longer than"},
		{"q=email:x&search_engine=v1", "v3"},
		{"q=%FF", "UTF-8"},
		{"sort=" + url.QueryEscape("app_metadata.tier:1"), "sorted"},
	} {
		resp, body := l.Do(t, http.MethodGet, "/api/v2/users?"+tc.query, tok, nil)
		wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_query_string", tc.msg)
	}
	// Scope: searching is reading users.
	other := l.ManagementToken(t, "read:clients")
	resp, body := l.Do(t, http.MethodGet, "/api/v2/users?q=email:x", other, nil)
	wantMgmtError(t, resp, body, http.StatusForbidden, "insufficient_scope", "read:users")
}
