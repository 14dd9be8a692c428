package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// Tests of the Management API's connection endpoints (GET /connections, GET and PATCH
// /connections/{id}) through real HTTP, and of what a PATCH changes at the next signup and
// login. Helpers are in mgmt_users_test.go.

// SetConnectionPolicy sets the password policy preset of the Username-Password-Authentication
// connection through the Management API, as an Auth0 admin would: read the connection, change
// options.passwordPolicy, and send the whole options object back (PATCH replaces it).
func (l *testLatch) SetConnectionPolicy(t testing.TB, preset string) {
	t.Helper()
	tok := l.ManagementToken(t, "")
	conn := l.defaultConnection(t, tok)
	opts, _ := conn["options"].(map[string]any)
	if opts == nil {
		t.Fatalf("connection without options: %v", conn)
	}
	opts["passwordPolicy"] = preset
	path := "/api/v2/connections/" + url.PathEscape(conn["id"].(string))
	resp, body := l.Do(t, http.MethodPatch, path, tok, map[string]any{"options": opts})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH %s: %d %s", path, resp.StatusCode, body)
	}
	var out struct {
		Options struct {
			PasswordPolicy string `json:"passwordPolicy"`
		} `json:"options"`
	}
	mustJSON(t, body, &out)
	if out.Options.PasswordPolicy != preset {
		t.Fatalf("passwordPolicy after PATCH = %q, want %q: %s", out.Options.PasswordPolicy, preset, body)
	}
}

// defaultConnection finds Username-Password-Authentication with the name filter.
func (l *testLatch) defaultConnection(t testing.TB, tok string) map[string]any {
	t.Helper()
	resp, body := l.Do(t, http.MethodGet, "/api/v2/connections?name="+url.QueryEscape(dbConnection), tok, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v2/connections?name=%s: %d %s", dbConnection, resp.StatusCode, body)
	}
	var list []map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&list); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if len(list) != 1 {
		t.Fatalf("connections named %s: %s", dbConnection, body)
	}
	return list[0]
}

func connectionPath(conn map[string]any) string {
	return "/api/v2/connections/" + url.PathEscape(conn["id"].(string))
}

// trySignup signs up through POST /dbconnections/signup and returns the raw answer.
func trySignup(t *testing.T, l *testLatch, clientID string, fields map[string]any) (int, map[string]any) {
	t.Helper()
	body := map[string]any{"client_id": clientID, "connection": dbConnection}
	for k, v := range fields {
		body[k] = v
	}
	resp, data := l.Do(t, http.MethodPost, "/dbconnections/signup", "", body)
	var out map[string]any
	mustJSON(t, data, &out)
	return resp.StatusCode, out
}

func TestMgmtConnectionListAndGet(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")

	conn := l.defaultConnection(t, tok)
	id, _ := conn["id"].(string)
	if !strings.HasPrefix(id, "con_") {
		t.Errorf("id %q", id)
	}
	want := map[string]any{
		"id": id, "name": dbConnection, "strategy": "auth0",
		"options": map[string]any{
			"passwordPolicy":         "fair",
			"password_dictionary":    map[string]any{"enable": true, "dictionary": []any{}},
			"requires_username":      false,
			"brute_force_protection": true,
		},
		"enabled_clients": nil, "is_domain_connection": false, "realms": []any{dbConnection},
	}
	if !reflect.DeepEqual(conn, want) {
		t.Errorf("connection\n got %#v\nwant %#v", conn, want)
	}

	// GET by id answers the same object; fields filters it.
	if got := mgmtJSON(t, l, http.MethodGet, connectionPath(conn), tok, nil, http.StatusOK); !reflect.DeepEqual(got, want) {
		t.Errorf("GET by id = %#v", got)
	}
	got := mgmtJSON(t, l, http.MethodGet, connectionPath(conn)+"?fields=name,strategy", tok, nil, http.StatusOK)
	if !reflect.DeepEqual(got, map[string]any{"name": dbConnection, "strategy": "auth0"}) {
		t.Errorf("fields=name,strategy: %v", got)
	}
	got = mgmtJSON(t, l, http.MethodGet, connectionPath(conn)+"?fields=options&include_fields=false", tok, nil, http.StatusOK)
	if _, ok := got["options"]; ok || got["name"] != dbConnection {
		t.Errorf("fields=options&include_fields=false: %v", got)
	}

	// Filters and paging.
	for _, tc := range []struct {
		query string
		n     int
	}{
		{"", 1},
		{"?strategy=auth0", 1},
		{"?strategy=google-oauth2", 0},
		{"?strategy=google-oauth2&strategy=auth0", 1},
		{"?name=" + url.QueryEscape(dbConnection) + "&strategy=auth0", 1},
		{"?name=nope", 0},
		{"?name=" + url.QueryEscape(strings.ToLower(dbConnection)), 0}, // exact match
		{"?per_page=1", 1},
		{"?page=1&per_page=1", 0},
	} {
		resp, body := l.Do(t, http.MethodGet, "/api/v2/connections"+tc.query, tok, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("list%s: %d %s", tc.query, resp.StatusCode, body)
		}
		if list := decodeJSONArray(t, body); len(list) != tc.n {
			t.Errorf("list%s: %d connections, want %d: %s", tc.query, len(list), tc.n, body)
		}
	}
	env := mgmtList(t, l, "/api/v2/connections?include_totals=true&page=1&per_page=1", tok)
	if env["total"] != json.Number("1") || env["start"] != json.Number("1") || env["limit"] != json.Number("1") {
		t.Errorf("envelope: %v", env)
	}
	if list, ok := env["connections"].([]any); !ok || len(list) != 0 {
		t.Errorf("envelope connections: %v", env["connections"])
	}
	env = mgmtList(t, l, "/api/v2/connections?include_totals=true&fields=id", tok)
	if list, _ := env["connections"].([]any); len(list) != 1 || !reflect.DeepEqual(list[0], map[string]any{"id": id}) {
		t.Errorf("envelope with fields=id: %v", env)
	}

	// Bad query strings.
	for _, q := range []string{"?per_page=0", "?per_page=101", "?page=-1", "?include_totals=yes", "?include_fields=1"} {
		resp, body := l.Do(t, http.MethodGet, "/api/v2/connections"+q, tok, nil)
		wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_query_string", "")
	}
}

func TestMgmtConnectionUnknownID(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	for _, path := range []string{"/api/v2/connections/con_doesnotexist", "/api/v2/connections/%FF", "/api/v2/connections/" + strings.Repeat("x", 600)} {
		resp, body := l.Do(t, http.MethodGet, path, tok, nil)
		wantMgmtErrorExact(t, resp, body, http.StatusNotFound, "inexistent_connection", "The connection does not exist.")
		resp, body = l.Do(t, http.MethodPatch, path, tok, map[string]any{"options": map[string]any{"passwordPolicy": "good"}})
		wantMgmtErrorExact(t, resp, body, http.StatusNotFound, "inexistent_connection", "The connection does not exist.")
	}
	var e map[string]any
	resp, body := l.Do(t, http.MethodGet, "/api/v2/connections/con_doesnotexist", tok, nil)
	mustJSON(t, body, &e)
	if resp.StatusCode != http.StatusNotFound || !reflect.DeepEqual(e, map[string]any{
		"statusCode": float64(404), "error": "Not Found", "message": "The connection does not exist.", "errorCode": "inexistent_connection",
	}) {
		t.Errorf("404 body %s", body)
	}
}

func TestMgmtConnectionPasswordPolicy(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, tok)
	conn := l.defaultConnection(t, tok)
	path := connectionPath(conn)

	// options replaces the whole options object: the dictionary goes off with it.
	got := mgmtJSON(t, l, http.MethodPatch, path, tok, map[string]any{"options": map[string]any{"passwordPolicy": "none"}}, http.StatusOK)
	wantOpts := map[string]any{
		"passwordPolicy": "none", "password_dictionary": map[string]any{"enable": false, "dictionary": []any{}},
		"requires_username": false, "brute_force_protection": true,
	}
	if !reflect.DeepEqual(got["options"], wantOpts) {
		t.Errorf("options after PATCH = %#v", got["options"])
	}
	if status, out := trySignup(t, l, clientID, map[string]any{"email": "weak1@example.com", "password": "abc"}); status != http.StatusOK {
		t.Fatalf("signup with a weak password under none: %d %v", status, out)
	}

	// fair, through the helper other tests use: a weak password is refused with the policy
	// report, a strong one accepted, and the strong one logs in.
	l.SetConnectionPolicy(t, "fair")
	status, out := trySignup(t, l, clientID, map[string]any{"email": "weak2@example.com", "password": "abcdefgh"})
	if status != http.StatusBadRequest || out["code"] != "invalid_password" || out["name"] != "PasswordStrengthError" {
		t.Fatalf("weak signup under fair: %d %v", status, out)
	}
	if policy, _ := out["policy"].(string); !strings.Contains(policy, "At least 8 characters") || !strings.Contains(policy, "upper case") {
		t.Errorf("policy text %q", policy)
	}
	if desc, _ := out["description"].(map[string]any); desc == nil || desc["verified"] != false {
		t.Errorf("description %v", out["description"])
	}
	if status, out := trySignup(t, l, clientID, map[string]any{"email": "strong@example.com", "password": "Abcdefg1"}); status != http.StatusOK {
		t.Fatalf("strong signup under fair: %d %v", status, out)
	}
	realmLogin(t, l, clientID, secret, "strong@example.com", "Abcdefg1")
	// The helper kept the rest of the options (it sent them back).
	if got := l.defaultConnection(t, tok)["options"]; !reflect.DeepEqual(got, map[string]any{
		"passwordPolicy": "fair", "password_dictionary": map[string]any{"enable": false, "dictionary": []any{}},
		"requires_username": false, "brute_force_protection": true,
	}) {
		t.Errorf("options after SetConnectionPolicy = %#v", got)
	}

	// min_length overrides the preset's length, and shows in the connection.
	got = mgmtJSON(t, l, http.MethodPatch, path, tok, map[string]any{"options": map[string]any{
		"passwordPolicy": "low", "password_complexity_options": map[string]any{"min_length": 12},
	}}, http.StatusOK)
	opts := got["options"].(map[string]any)
	if !reflect.DeepEqual(opts["password_complexity_options"], map[string]any{"min_length": json.Number("12")}) || opts["passwordPolicy"] != "low" {
		t.Errorf("options = %#v", opts)
	}
	status, out = trySignup(t, l, clientID, map[string]any{"email": "eleven@example.com", "password": "abcdefghijk"})
	if status != http.StatusBadRequest || out["code"] != "invalid_password" || !strings.Contains(out["policy"].(string), "At least 12 characters") {
		t.Fatalf("11 characters under min_length 12: %d %v", status, out)
	}
	if status, out := trySignup(t, l, clientID, map[string]any{"email": "twelve@example.com", "password": "abcdefghijkl"}); status != http.StatusOK {
		t.Fatalf("12 characters under min_length 12: %d %v", status, out)
	}
	// The Management API's own user creation follows the connection too.
	resp, body := l.Do(t, http.MethodPost, "/api/v2/users", tok, map[string]any{"connection": dbConnection, "email": "m@example.com", "password": "short-pw"})
	wantMgmtError(t, resp, body, http.StatusBadRequest, "auth0_idp_error", "PasswordStrengthError")

	// The dictionary, and null as the preset (none).
	got = mgmtJSON(t, l, http.MethodPatch, path, tok, map[string]any{"options": map[string]any{
		"passwordPolicy": nil, "password_dictionary": map[string]any{"enable": true},
	}}, http.StatusOK)
	opts = got["options"].(map[string]any)
	if opts["passwordPolicy"] != "none" || !reflect.DeepEqual(opts["password_dictionary"], map[string]any{"enable": true, "dictionary": []any{}}) {
		t.Errorf("options = %#v", opts)
	}
	if _, ok := opts["password_complexity_options"]; ok {
		t.Errorf("min_length kept although options were replaced: %#v", opts)
	}
	status, out = trySignup(t, l, clientID, map[string]any{"email": "common@example.com", "password": "password1"})
	if status != http.StatusBadRequest || out["code"] != "password_dictionary_error" {
		t.Fatalf("common password with the dictionary on: %d %v", status, out)
	}

	// The change is stored: it survives a restart.
	l.Restart()
	tok = l.ManagementToken(t, "")
	if got := l.defaultConnection(t, tok)["options"].(map[string]any); got["passwordPolicy"] != "none" {
		t.Errorf("options after restart = %#v", got)
	}
}

func TestMgmtConnectionRequiresUsername(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, tok)
	path := connectionPath(l.defaultConnection(t, tok))

	if status, out := trySignup(t, l, clientID, map[string]any{"email": "u0@example.com", "password": strongPassword, "username": "ada"}); status != http.StatusBadRequest || out["code"] != "invalid_signup" {
		t.Fatalf("username without requires_username: %d %v", status, out)
	}
	got := mgmtJSON(t, l, http.MethodPatch, path, tok, map[string]any{"options": map[string]any{
		"passwordPolicy": "fair", "requires_username": true,
	}}, http.StatusOK)
	if got["options"].(map[string]any)["requires_username"] != true {
		t.Fatalf("requires_username not set: %v", got)
	}
	if status, out := trySignup(t, l, clientID, map[string]any{"email": "u1@example.com", "password": strongPassword}); status != http.StatusBadRequest || out["code"] != "invalid_signup" {
		t.Fatalf("signup without a username: %d %v", status, out)
	}
	if status, out := trySignup(t, l, clientID, map[string]any{"email": "u2@example.com", "password": strongPassword, "username": "ada"}); status != http.StatusOK || out["username"] != "ada" {
		t.Fatalf("signup with a username: %d %v", status, out)
	}
	realmLogin(t, l, clientID, secret, "ada", strongPassword)

	mgmtJSON(t, l, http.MethodPatch, path, tok, map[string]any{"options": map[string]any{"passwordPolicy": "fair", "requires_username": false}}, http.StatusOK)
	if status, out := trySignup(t, l, clientID, map[string]any{"email": "u3@example.com", "password": strongPassword, "username": "grace"}); status != http.StatusBadRequest || out["code"] != "invalid_signup" {
		t.Fatalf("username after requires_username went off: %d %v", status, out)
	}
}

func TestMgmtConnectionEnabledClients(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	a, _ := appClient(t, l, tok)
	b, _ := appClient(t, l, tok)
	path := connectionPath(l.defaultConnection(t, tok))

	got := mgmtJSON(t, l, http.MethodPatch, path, tok, map[string]any{"enabled_clients": []string{a, a}}, http.StatusOK)
	if !reflect.DeepEqual(got["enabled_clients"], []any{a}) {
		t.Errorf("enabled_clients = %v", got["enabled_clients"])
	}
	// Options were not sent, so they stay.
	if opts := got["options"].(map[string]any); opts["passwordPolicy"] != "fair" || opts["password_dictionary"].(map[string]any)["enable"] != true {
		t.Errorf("options changed by an enabled_clients PATCH: %v", opts)
	}
	if status, out := trySignup(t, l, a, map[string]any{"email": "a@example.com", "password": strongPassword}); status != http.StatusOK {
		t.Fatalf("signup through an enabled client: %d %v", status, out)
	}
	status, out := trySignup(t, l, b, map[string]any{"email": "b@example.com", "password": strongPassword})
	if desc, _ := out["description"].(string); status != http.StatusBadRequest || !strings.Contains(desc, "not enabled for this client") {
		t.Fatalf("signup through a client that is not enabled: %d %v", status, out)
	}

	got = mgmtJSON(t, l, http.MethodPatch, path, tok, map[string]any{"enabled_clients": nil}, http.StatusOK)
	if v, ok := got["enabled_clients"]; !ok || v != nil {
		t.Errorf("enabled_clients after null = %v", got)
	}
	if status, out := trySignup(t, l, b, map[string]any{"email": "b@example.com", "password": strongPassword}); status != http.StatusOK {
		t.Fatalf("signup once every client is enabled: %d %v", status, out)
	}
}

func TestMgmtConnectionPatchRefusals(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	path := connectionPath(l.defaultConnection(t, tok))
	before := mgmtGetRaw(t, l, path, tok)

	for _, tc := range []struct {
		name  string
		body  any
		msgIn string
	}{
		{"bad preset", `{"options":{"passwordPolicy":"strong"}}`, "No enum match for: strong"},
		{"preset not a string", `{"options":{"passwordPolicy":3}}`, "Expected type string but found type number' on property options.passwordPolicy"},
		{"min_length 0", `{"options":{"password_complexity_options":{"min_length":0}}}`, "Value 0 is out of range 1 to 128"},
		{"min_length 129", `{"options":{"password_complexity_options":{"min_length":129}}}`, "Value 129 is out of range 1 to 128"},
		{"min_length fraction", `{"options":{"password_complexity_options":{"min_length":8.5}}}`, "Expected type integer"},
		{"min_length string", `{"options":{"password_complexity_options":{"min_length":"8"}}}`, "Expected type integer but found type string"},
		{"complexity unknown", `{"options":{"password_complexity_options":{"max_length":8}}}`, "Additional properties not allowed: max_length"},
		{"dictionary enable string", `{"options":{"password_dictionary":{"enable":"yes"}}}`, "Expected type boolean but found type string"},
		{"custom dictionary", `{"options":{"password_dictionary":{"enable":true,"dictionary":["hunter2"]}}}`, "no custom dictionary"},
		{"requires_username string", `{"options":{"requires_username":"true"}}`, "Expected type boolean but found type string"},
		{"brute force off", `{"options":{"brute_force_protection":false}}`, "brute_force_protection"},
		{"options null", `{"options":null}`, "Expected type object but found type null"},
		{"options array", `{"options":[]}`, "Expected type object but found type array"},
		{"unknown option", `{"options":{"mfa":{"active":true}}}`, "Additional properties not allowed: mfa"},
		{"unknown property", `{"display_name":"x"}`, "Additional properties not allowed: display_name"},
		{"name", `{"name":"Other"}`, "Additional properties not allowed: name"},
		{"strategy", `{"strategy":"google-oauth2"}`, "Additional properties not allowed: strategy"},
		{"empty body", `{}`, "Too few properties defined (0), minimum 1"},
		{"unknown client", `{"enabled_clients":["nope"]}`, "The client does not exist: nope"},
		{"no client", `{"enabled_clients":[]}`, "send null"},
		{"client not a string", `{"enabled_clients":[1]}`, "Expected type string but found type number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := l.Do(t, http.MethodPatch, path, tok, tc.body)
			wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_body", tc.msgIn)
			if msg := decodeJSON(t, body)["message"].(string); !strings.HasPrefix(msg, "Payload validation error: ") {
				t.Errorf("message %q", msg)
			}
		})
	}
	checkBadBodies(t, l, tok, []mgmtEndpoint{{method: http.MethodPatch, path: path}})
	if after := mgmtGetRaw(t, l, path, tok); !bytes.Equal(after, before) {
		t.Errorf("connection changed by refused PATCHes:\n%s\n%s", before, after)
	}
}

func TestMgmtConnectionEndpointsAuth(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	path := connectionPath(l.defaultConnection(t, tok))
	checkEndpointsAuth(t, l, []mgmtEndpoint{
		{http.MethodGet, "/api/v2/connections", []string{"read:connections"}, nil},
		{http.MethodGet, path, []string{"read:connections"}, nil},
		{http.MethodPatch, path, []string{"update:connections"}, map[string]any{"options": map[string]any{"passwordPolicy": "fair"}}},
	})
	// Reading does not allow writing, nor the other way round.
	read := l.ManagementToken(t, "read:connections")
	resp, body := l.Do(t, http.MethodPatch, path, read, map[string]any{"options": map[string]any{"passwordPolicy": "none"}})
	wantMgmtErrorExact(t, resp, body, http.StatusForbidden, "insufficient_scope", "Insufficient scope, expected any of: update:connections")
	update := l.ManagementToken(t, "update:connections")
	resp, body = l.Do(t, http.MethodGet, "/api/v2/connections", update, nil)
	wantMgmtErrorExact(t, resp, body, http.StatusForbidden, "insufficient_scope", "Insufficient scope, expected any of: read:connections")
}
