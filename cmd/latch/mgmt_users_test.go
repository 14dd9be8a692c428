package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/sqlite"
)

// Tests of the Management API's user endpoints (AUTH0-COMPAT §1.1, §5.2, §5.4) through real
// HTTP. Helpers shared with mgmt_clients_test.go are at the bottom.

const dbConnection = "Username-Password-Authentication"

// strongPassword passes the default connection's "fair" policy and is in no dictionary.
const strongPassword = "Correct-Horse-7-Battery"

var isoMillisPattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestMgmtUserCreateAndRead(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")

	created := mgmtJSON(t, l, http.MethodPost, "/api/v2/users", tok, `{
		"connection": "Username-Password-Authentication", "email": "Jane.Doe@Example.COM",
		"password": "`+strongPassword+`", "given_name": "Jane", "family_name": "Doe",
		"phone_number": "+14155550100", "phone_verified": true, "email_verified": true,
		"user_metadata": {"plan": "silver", "big": 123456789012345678901234567890, "ratio": 0.1, "nested": {"a": [1, {"b": null}]}},
		"app_metadata": {"roles": ["admin"]}, "verify_email": false
	}`, http.StatusCreated)

	id, _ := created["user_id"].(string)
	if !regexp.MustCompile(`^auth0\|[0-9a-f]{24}$`).MatchString(id) {
		t.Fatalf("user_id %q, want auth0|<24 hex>", id)
	}
	for k, want := range map[string]any{
		"email": "jane.doe@example.com", "email_verified": true, "name": "jane.doe@example.com",
		"nickname": "jane.doe", "given_name": "Jane", "family_name": "Doe",
		"phone_number": "+14155550100", "phone_verified": true, "logins_count": json.Number("0"),
	} {
		if !reflect.DeepEqual(created[k], want) {
			t.Errorf("%s = %#v, want %#v", k, created[k], want)
		}
	}
	if pic, _ := created["picture"].(string); !strings.HasPrefix(pic, "https://s.gravatar.com/avatar/") {
		t.Errorf("picture %q, want a Gravatar URL", pic)
	}
	wantIdentities := []any{map[string]any{
		"connection": dbConnection, "user_id": strings.TrimPrefix(id, "auth0|"), "provider": "auth0", "isSocial": false,
	}}
	if !reflect.DeepEqual(created["identities"], wantIdentities) {
		t.Errorf("identities = %#v", created["identities"])
	}
	for _, k := range []string{"created_at", "updated_at"} {
		if s, _ := created[k].(string); !isoMillisPattern.MatchString(s) {
			t.Errorf("%s = %q, want ISO-8601 with milliseconds", k, s)
		}
	}
	// Never-happened and empty attributes are left out, like Auth0 does.
	for _, k := range []string{"username", "last_login", "last_ip", "last_password_reset", "blocked", "password", "verify_email", "connection"} {
		if _, ok := created[k]; ok {
			t.Errorf("%s present in %v", k, created)
		}
	}

	// GET with the id URL-encoded, as SDKs send it, and with a raw "|".
	resp, body := l.Do(t, http.MethodGet, "/api/v2/users/"+url.PathEscape(id), tok, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), `"big":123456789012345678901234567890`) || !strings.Contains(string(body), `"ratio":0.1`) {
		t.Errorf("numbers not exact: %s", body)
	}
	if bytes.Contains(body, []byte("$2a$")) || bytes.Contains(body, []byte("$2b$")) || bytes.Contains(body, []byte(strongPassword)) {
		t.Fatalf("password or hash in response: %s", body)
	}
	if got := decodeJSON(t, body); !reflect.DeepEqual(got, created) {
		t.Errorf("GET differs from POST:\n%v\n%v", got, created)
	}
	resp, _ = l.Do(t, http.MethodGet, "/api/v2/users/"+id, tok, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("get with a raw '|': %d", resp.StatusCode)
	}

	// fields / include_fields.
	only := mgmtJSON(t, l, http.MethodGet, "/api/v2/users/"+url.PathEscape(id)+"?fields=email,user_id&include_fields=true", tok, nil, http.StatusOK)
	if len(only) != 2 || only["email"] != "jane.doe@example.com" || only["user_id"] != id {
		t.Errorf("include_fields=true: %v", only)
	}
	without := mgmtJSON(t, l, http.MethodGet, "/api/v2/users/"+url.PathEscape(id)+"?fields=user_metadata,app_metadata&include_fields=false", tok, nil, http.StatusOK)
	if _, ok := without["user_metadata"]; ok || without["user_id"] != id {
		t.Errorf("include_fields=false: %v", without)
	}
	resp, body = l.Do(t, http.MethodGet, "/api/v2/users/"+url.PathEscape(id)+"?fields=email&include_fields=maybe", tok, nil)
	wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_query_string", "include_fields")

	// The new user can log in with the password the administrator chose.
	clientID, secret := mgmtAppClient(t, l, tok)
	passwordLogin(t, l, clientID, secret, "jane.doe@example.com", strongPassword, http.StatusOK)
}

func TestMgmtUserCreateRefusals(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	valid := func(changes map[string]any) map[string]any {
		b := map[string]any{"connection": dbConnection, "email": "refused@example.com", "password": strongPassword}
		for k, v := range changes {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	deep := func(depth int) map[string]any {
		m := map[string]any{"leaf": 1}
		for range depth {
			m = map[string]any{"n": m}
		}
		return m
	}
	for _, tc := range []struct {
		name        string
		body        any
		status      int
		code, msgIn string
	}{
		{"missing connection", valid(map[string]any{"connection": nil}), 400, "invalid_body", "Missing required property: connection"},
		{"unknown connection", valid(map[string]any{"connection": "nope"}), 400, "inexistent_connection", "The connection does not exist."},
		{"missing email", valid(map[string]any{"email": nil}), 400, "invalid_body", "Missing required property: email"},
		{"bad email", valid(map[string]any{"email": "not-an-email"}), 400, "invalid_body", "format email"},
		{"missing password", valid(map[string]any{"password": nil}), 400, "invalid_body", "Missing required property: password"},
		{"weak password", valid(map[string]any{"password": "short"}), 400, "auth0_idp_error", "PasswordStrengthError: Password is too weak"},
		{"unknown property", valid(map[string]any{"isAdmin": true}), 400, "invalid_body", "Payload validation error: 'Additional properties not allowed: isAdmin'"},
		{"wrong type", valid(map[string]any{"email_verified": "yes"}), 400, "invalid_body", "'Expected type boolean but found type string' on property email_verified"},
		{"huge number for a boolean", `{"connection":"Username-Password-Authentication","email":"refused@example.com","password":"` + strongPassword + `","blocked":1e999999}`, 400, "invalid_body", "on property blocked"},
		{"metadata not an object", valid(map[string]any{"user_metadata": []int{1}}), 400, "invalid_body", "on property user_metadata"},
		{"dotted metadata key", valid(map[string]any{"user_metadata": map[string]any{"a.b": 1}}), 400, "invalid_body", "must not contain"},
		{"dollar key deep down", valid(map[string]any{"app_metadata": map[string]any{"x": []any{map[string]any{"$where": 1}}}}), 400, "invalid_body", "must not contain"},
		{"reserved app_metadata key", valid(map[string]any{"app_metadata": map[string]any{"blocked": false}}), 400, "invalid_body", "reserved"},
		{"deeply nested metadata", valid(map[string]any{"user_metadata": deep(200)}), 400, "invalid_body", "nested too deeply"},
		{"username on a connection without usernames", valid(map[string]any{"username": "jane"}), 400, "invalid_body", "requires_username"},
		{"bad phone", valid(map[string]any{"phone_number": "12345"}), 400, "invalid_body", "phone_number"},
		{"picture not http", valid(map[string]any{"picture": "javascript:alert(1)"}), 400, "invalid_body", "picture"},
		{"name too long", valid(map[string]any{"name": strings.Repeat("n", 151)}), 400, "invalid_body", "name"},
		{"custom id with a pipe", valid(map[string]any{"user_id": "x|y"}), 400, "invalid_body", "user_id"},
		{"custom id with traversal", valid(map[string]any{"user_id": "../../etc/passwd"}), 400, "invalid_body", "user_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := l.Do(t, http.MethodPost, "/api/v2/users", tok, tc.body)
			wantMgmtError(t, resp, body, tc.status, tc.code, tc.msgIn)
		})
	}
	// Nothing was written by any of them.
	if list := mgmtList(t, l, "/api/v2/users?include_totals=true", tok); list["total"] != json.Number("0") {
		t.Fatalf("users after refused creations: %v", list)
	}

	// Deep but reasonable metadata is fine.
	mgmtJSON(t, l, http.MethodPost, "/api/v2/users", tok, valid(map[string]any{"user_metadata": deep(20)}), http.StatusCreated)

	// Duplicates: the same email in any case, and the same custom id.
	resp, body := l.Do(t, http.MethodPost, "/api/v2/users", tok, valid(map[string]any{"email": "REFUSED@example.com"}))
	wantMgmtErrorExact(t, resp, body, http.StatusConflict, "auth0_idp_error", "The user already exists.")
	mgmtJSON(t, l, http.MethodPost, "/api/v2/users", tok, valid(map[string]any{"email": "custom@example.com", "user_id": "abc123"}), http.StatusCreated)
	resp, body = l.Do(t, http.MethodPost, "/api/v2/users", tok, valid(map[string]any{"email": "other@example.com", "user_id": "abc123"}))
	wantMgmtErrorExact(t, resp, body, http.StatusConflict, "auth0_idp_error", "The user already exists.")
	got := mgmtJSON(t, l, http.MethodGet, "/api/v2/users/auth0%7Cabc123", tok, nil, http.StatusOK)
	if got["email"] != "custom@example.com" {
		t.Errorf("custom id user: %v", got)
	}
	// Ids are decoded exactly once, whichever characters the client chose to escape.
	mgmtJSON(t, l, http.MethodPost, "/api/v2/users", tok, valid(map[string]any{"email": "odd@example.com", "user_id": "a+b@c~d"}), http.StatusCreated)
	for _, path := range []string{"auth0%7Ca%2Bb%40c~d", "auth0%7Ca+b@c~d", "auth0|a+b@c%7Ed"} {
		if got := mgmtJSON(t, l, http.MethodGet, "/api/v2/users/"+path, tok, nil, http.StatusOK); got["user_id"] != "auth0|a+b@c~d" {
			t.Errorf("%s: %v", path, got)
		}
	}
	resp, body = l.Do(t, http.MethodGet, "/api/v2/users/auth0%257Ca%252Bb%2540c~d", tok, nil)
	wantMgmtErrorExact(t, resp, body, http.StatusNotFound, "inexistent_user", "The user does not exist.")
}

func TestMgmtUserPatchMergeSemantics(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	u := mgmtCreateUser(t, l, tok, "merge@example.com", map[string]any{
		"given_name": "Merge", "family_name": "Semantics", "phone_number": "+14155550100",
		"user_metadata": map[string]any{"a": 1, "b": map[string]any{"c": 1, "keep": true}, "c": "x"},
		"app_metadata":  map[string]any{"plan": "gold", "roles": []string{"a"}},
	})
	path := "/api/v2/users/" + url.PathEscape(u["user_id"].(string))

	patch := func(body string) map[string]any {
		t.Helper()
		return mgmtJSON(t, l, http.MethodPatch, path, tok, body, http.StatusOK)
	}

	// First-level merge: nested objects are replaced, null deletes a key, others stay.
	got := patch(`{"user_metadata": {"b": {"d": 2}, "a": null, "n": 10000000000000000000001}, "app_metadata": {"roles": ["b"]}}`)
	wantMeta(t, got, "user_metadata", `{"b":{"d":2},"c":"x","n":10000000000000000000001}`)
	wantMeta(t, got, "app_metadata", `{"plan":"gold","roles":["b"]}`)
	if got["updated_at"].(string) < u["updated_at"].(string) || got["created_at"] != u["created_at"] {
		t.Errorf("timestamps after PATCH: %v %v -> %v %v", u["created_at"], u["updated_at"], got["created_at"], got["updated_at"])
	}

	// {} removes all metadata; null is treated like {}.
	got = patch(`{"user_metadata": {}}`)
	wantMeta(t, got, "user_metadata", `{}`)
	wantMeta(t, got, "app_metadata", `{"plan":"gold","roles":["b"]}`)
	got = patch(`{"app_metadata": null}`)
	wantMeta(t, got, "app_metadata", `{}`)

	// Root attributes are replaced; null unsets (name/nickname/picture go back to defaults).
	got = patch(`{"given_name": null, "family_name": "Other", "name": "Custom Name", "nickname": "nick", "blocked": true, "phone_number": null}`)
	if _, ok := got["given_name"]; ok || got["family_name"] != "Other" || got["name"] != "Custom Name" || got["nickname"] != "nick" || got["blocked"] != true {
		t.Errorf("root attributes: %v", got)
	}
	if _, ok := got["phone_number"]; ok {
		t.Errorf("phone_number still there: %v", got)
	}
	if _, ok := got["phone_verified"]; ok {
		t.Errorf("phone_verified without a phone: %v", got)
	}
	got = patch(`{"name": null, "nickname": null, "blocked": false}`)
	if got["name"] != "merge@example.com" || got["nickname"] != "merge" {
		t.Errorf("defaults after null: %v", got)
	}
	if _, ok := got["blocked"]; ok {
		t.Errorf("blocked:false should be left out: %v", got)
	}

	// The email is re-normalised, and a new address is unverified.
	patch(`{"email_verified": true}`)
	got = patch(`{"email": "New.Address@Example.com"}`)
	if got["email"] != "new.address@example.com" || got["email_verified"] != false {
		t.Errorf("email change: %v", got)
	}
	got = patch(`{"email": "second@example.com", "email_verified": true}`)
	if got["email"] != "second@example.com" || got["email_verified"] != true {
		t.Errorf("email change with verification: %v", got)
	}

	// A GET returns exactly what the last PATCH did.
	if fresh := mgmtJSON(t, l, http.MethodGet, path, tok, nil, http.StatusOK); !reflect.DeepEqual(fresh, got) {
		t.Errorf("GET after PATCH:\n%v\n%v", fresh, got)
	}
}

func TestMgmtUserPatchPasswordAndConflicts(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	clientID, secret := mgmtAppClient(t, l, tok)
	u := mgmtCreateUser(t, l, tok, "pw@example.com", nil)
	mgmtCreateUser(t, l, tok, "taken@example.com", nil)
	path := "/api/v2/users/" + url.PathEscape(u["user_id"].(string))

	// Refused changes leave the user exactly as it was.
	before := mgmtGetRaw(t, l, path, tok)
	for _, tc := range []struct {
		name, body  string
		status      int
		code, msgIn string
	}{
		{"weak password", `{"password": "short", "name": "Changed"}`, 400, "auth0_idp_error", "PasswordStrengthError"},
		{"email taken", `{"email": "TAKEN@example.com", "name": "Changed"}`, 409, "auth0_idp_error", "The user already exists."},
		{"bad email", `{"email": "nope", "name": "Changed"}`, 400, "invalid_body", "format email"},
		{"email removed", `{"email": null}`, 400, "invalid_body", "email"},
		{"password removed", `{"password": null}`, 400, "invalid_body", "password"},
		{"empty patch", `{}`, 400, "invalid_body", "Too few properties defined (0), minimum 1"},
		{"unknown property", `{"name": "Changed", "user_id": "auth0|x"}`, 400, "invalid_body", "Additional properties not allowed: user_id"},
		{"boolean null", `{"blocked": null}`, 400, "invalid_body", "on property blocked"},
		{"dotted metadata", `{"user_metadata": {"ok": 1, "a.b": 1}}`, 400, "invalid_body", "must not contain"},
		{"reserved app_metadata", `{"app_metadata": {"user_id": "x"}}`, 400, "invalid_body", "reserved"},
		{"wrong connection", `{"connection": "other", "name": "Changed"}`, 400, "invalid_body", "connection"},
		{"username without requires_username", `{"username": "pw"}`, 400, "invalid_body", "requires_username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := l.Do(t, http.MethodPatch, path, tok, tc.body)
			wantMgmtError(t, resp, body, tc.status, tc.code, tc.msgIn)
			if after := mgmtGetRaw(t, l, path, tok); !bytes.Equal(after, before) {
				t.Errorf("user changed by a refused PATCH:\n%s\n%s", before, after)
			}
		})
	}
	passwordLogin(t, l, clientID, secret, "pw@example.com", strongPassword, http.StatusOK)

	// A password change re-hashes and records last_password_reset.
	const newPassword = "Another-Str0ng-Passphrase"
	got := mgmtJSON(t, l, http.MethodPatch, path, tok, map[string]any{"password": newPassword}, http.StatusOK)
	if s, _ := got["last_password_reset"].(string); !isoMillisPattern.MatchString(s) {
		t.Errorf("last_password_reset = %v", got["last_password_reset"])
	}
	if raw := mgmtGetRaw(t, l, path, tok); bytes.Contains(raw, []byte(newPassword)) || bytes.Contains(raw, []byte("$2")) {
		t.Fatalf("password material in the profile: %s", raw)
	}
	passwordLogin(t, l, clientID, secret, "pw@example.com", strongPassword, http.StatusForbidden)
	passwordLogin(t, l, clientID, secret, "pw@example.com", newPassword, http.StatusOK)

	// A blocked user cannot log in.
	mgmtJSON(t, l, http.MethodPatch, path, tok, `{"blocked": true}`, http.StatusOK)
	passwordLogin(t, l, clientID, secret, "pw@example.com", newPassword, http.StatusUnauthorized)

	// Unknown users.
	resp, body := l.Do(t, http.MethodPatch, "/api/v2/users/auth0%7C000000000000000000000000", tok, `{"name": "x"}`)
	wantMgmtErrorExact(t, resp, body, http.StatusNotFound, "inexistent_user", "The user does not exist.")
}

func TestMgmtUserPatchMetadataScope(t *testing.T) {
	l := startLatch(t)
	u := mgmtCreateUser(t, l, l.ManagementToken(t, ""), "scoped@example.com", nil)
	path := "/api/v2/users/" + url.PathEscape(u["user_id"].(string))
	tok := l.ManagementToken(t, "update:users_app_metadata")

	got := mgmtJSON(t, l, http.MethodPatch, path, tok, `{"app_metadata": {"plan": "gold"}, "user_metadata": {"theme": "dark"}}`, http.StatusOK)
	wantMeta(t, got, "app_metadata", `{"plan":"gold"}`)
	resp, body := l.Do(t, http.MethodPatch, path, tok, `{"app_metadata": {"plan": "x"}, "blocked": true}`)
	wantMgmtErrorExact(t, resp, body, http.StatusForbidden, "insufficient_scope", "Insufficient scope, expected any of: update:users")
}

func TestMgmtUserDelete(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	clientID, secret := mgmtAppClient(t, l, tok)
	u := mgmtCreateUser(t, l, tok, "gone@example.com", nil)
	id := u["user_id"].(string)
	path := "/api/v2/users/" + url.PathEscape(id)

	// A login leaves a grant behind; deleting the user must take it along.
	at := passwordLogin(t, l, clientID, secret, "gone@example.com", strongPassword, http.StatusOK)
	jti := jwtClaim(t, at, "jti")
	if jti == "" {
		t.Fatal("access token without jti")
	}

	resp, body := l.Do(t, http.MethodDelete, path, tok, nil)
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	resp, body = l.Do(t, http.MethodGet, path, tok, nil)
	wantMgmtErrorExact(t, resp, body, http.StatusNotFound, "inexistent_user", "The user does not exist.")
	resp, body = l.Do(t, http.MethodDelete, path, tok, nil)
	wantMgmtErrorExact(t, resp, body, http.StatusNotFound, "inexistent_user", "The user does not exist.")
	if list := decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/users-by-email?email=gone@example.com", tok)); len(list) != 0 {
		t.Errorf("users-by-email after delete: %v", list)
	}
	// The email is free again.
	mgmtCreateUser(t, l, tok, "gone@example.com", nil)

	l.Stop()
	store, err := sqlite.Open(filepath.Join(l.DataDir, "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.GetGrant(context.Background(), jti); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("grant of the deleted user: %v, want ErrNotFound", err)
	}
	if _, err := store.PasswordHash(context.Background(), id); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("password hash of the deleted user: %v, want ErrNotFound", err)
	}
}

func TestMgmtUsersByEmailAndList(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	var ids []string
	for i := range 7 {
		u := mgmtCreateUser(t, l, tok, fmt.Sprintf("list%d@example.com", i), nil)
		ids = append(ids, u["user_id"].(string))
	}

	found := decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/users-by-email?email=LIST3@Example.com", tok))
	if len(found) != 1 || found[0].(map[string]any)["user_id"] != ids[3] {
		t.Errorf("users-by-email: %v", found)
	}
	found = decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/users-by-email?email=list3@example.com&fields=email&include_fields=true", tok))
	if len(found) != 1 || !reflect.DeepEqual(found[0], map[string]any{"email": "list3@example.com"}) {
		t.Errorf("users-by-email with fields: %v", found)
	}
	if none := decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/users-by-email?email=nobody@example.com", tok)); len(none) != 0 {
		t.Errorf("users-by-email for nobody: %v", none)
	}
	resp, body := l.Do(t, http.MethodGet, "/api/v2/users-by-email", tok, nil)
	wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_query_string", "email")

	// Bare array by default, oldest first.
	all := decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/users", tok))
	if len(all) != 7 || all[0].(map[string]any)["user_id"] != ids[0] {
		t.Fatalf("list: %d users", len(all))
	}
	// Pages with totals, as the Node SDK asks.
	var seen []string
	for page := 0; ; page++ {
		env := mgmtList(t, l, fmt.Sprintf("/api/v2/users?page=%d&per_page=3&include_totals=true", page), tok)
		users := env["users"].([]any)
		if env["start"] != json.Number(fmt.Sprint(page*3)) || env["limit"] != json.Number("3") ||
			env["total"] != json.Number("7") || env["length"] != json.Number(fmt.Sprint(len(users))) {
			t.Fatalf("envelope of page %d: %v", page, env)
		}
		for _, u := range users {
			seen = append(seen, u.(map[string]any)["user_id"].(string))
		}
		if len(users) < 3 {
			break
		}
	}
	if !slices.Equal(seen, ids) {
		t.Errorf("paged ids %v, want %v", seen, ids)
	}
	page := mgmtList(t, l, "/api/v2/users?page=1000000&include_totals=true", tok)
	if len(page["users"].([]any)) != 0 {
		t.Errorf("far page: %v", page)
	}

	for _, q := range []string{
		"q=", "search_engine=v9", "per_page=101", "per_page=0", "per_page=abc", "page=-1",
		"page=99999999999999999999999", "page=1e3", "include_totals=yes", "sort=email", "sort=email:2",
		"sort=user_metadata.plan:1", "q=email:x&search_engine=v2",
	} {
		resp, body := l.Do(t, http.MethodGet, "/api/v2/users?"+q, tok, nil)
		wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_query_string", "")
	}
	// Search (more in mgmt_users_search_test.go).
	found = decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/users?q=email:list3@example.com&search_engine=v3", tok))
	if len(found) != 1 || found[0].(map[string]any)["user_id"] != ids[3] {
		t.Errorf("q=email:list3@example.com: %v", found)
	}
}

func TestMgmtUserHostileIDs(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	u := mgmtCreateUser(t, l, tok, "victim@example.com", nil)
	before := mgmtGetRaw(t, l, "/api/v2/users/"+url.PathEscape(u["user_id"].(string)), tok)

	for _, id := range []string{
		"..%2F..%2Fclients", "..%2f..%2fusers", "%2e%2e%2F%2e%2e%2Fclients%2Fbootstrap-client",
		"auth0%7C..%2F..%2F", "%ff%fe", "auth0%00", "%25", strings.Repeat("a", 5000),
		"auth0%7C" + strings.TrimPrefix(u["user_id"].(string), "auth0|") + "%2F..",
		"'%20OR%20'1'='1", "%7B%22%24gt%22%3A%22%22%7D",
	} {
		for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
			var body any
			if method == http.MethodPatch {
				body = `{"name": "pwned"}`
			}
			resp, data := l.Do(t, method, "/api/v2/users/"+id, tok, body)
			wantMgmtErrorExact(t, resp, data, http.StatusNotFound, "inexistent_user", "The user does not exist.")
		}
	}
	if after := mgmtGetRaw(t, l, "/api/v2/users/"+url.PathEscape(u["user_id"].(string)), tok); !bytes.Equal(after, before) {
		t.Errorf("user changed:\n%s\n%s", before, after)
	}
	// The bootstrap client is still there.
	mgmtJSON(t, l, http.MethodGet, "/api/v2/clients/"+l.ClientID, tok, nil, http.StatusOK)
}

// ---------------------------------------------------------------------------------------
// Body, authentication and scope checks, shared by every Management endpoint in these files.

// mgmtEndpoint is one route with a path that exists, the scopes it accepts, and a valid body.
type mgmtEndpoint struct {
	method, path string
	scopes       []string
	body         any
}

func (e mgmtEndpoint) String() string { return e.method + " " + e.path }

func userEndpoints(userID string) []mgmtEndpoint {
	p := "/api/v2/users/" + url.PathEscape(userID)
	return []mgmtEndpoint{
		{http.MethodGet, "/api/v2/users", []string{"read:users", "read:user_idp_tokens"}, nil},
		{http.MethodPost, "/api/v2/users", []string{"create:users"}, map[string]any{"connection": dbConnection, "email": "new@example.com", "password": strongPassword}},
		{http.MethodGet, p, []string{"read:users", "read:user_idp_tokens"}, nil},
		{http.MethodPatch, p, []string{"update:users", "update:users_app_metadata"}, map[string]any{"user_metadata": map[string]any{"x": 1}}},
		{http.MethodDelete, p, []string{"delete:users"}, nil},
		{http.MethodGet, "/api/v2/users-by-email?email=a@example.com", []string{"read:users"}, nil},
	}
}

func TestMgmtUserEndpointsAuth(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	u := mgmtCreateUser(t, l, tok, "auth@example.com", nil)
	checkEndpointsAuth(t, l, userEndpoints(u["user_id"].(string)))
}

func TestMgmtUserEndpointsBadBodies(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	u := mgmtCreateUser(t, l, tok, "bodies@example.com", nil)
	path := "/api/v2/users/" + url.PathEscape(u["user_id"].(string))
	before := mgmtGetRaw(t, l, path, tok)
	checkBadBodies(t, l, tok, []mgmtEndpoint{
		{method: http.MethodPost, path: "/api/v2/users"},
		{method: http.MethodPatch, path: path},
	})
	if after := mgmtGetRaw(t, l, path, tok); !bytes.Equal(after, before) {
		t.Errorf("user changed by bad bodies:\n%s\n%s", before, after)
	}
	if list := mgmtList(t, l, "/api/v2/users?include_totals=true", tok); list["total"] != json.Number("1") {
		t.Errorf("users after bad bodies: %v", list["total"])
	}
}

// checkEndpointsAuth: no token and bad tokens are 401; a token without any of the endpoint's
// scopes is 403 naming them; a token with just one of them gets past the scope check.
func checkEndpointsAuth(t *testing.T, l *testLatch, endpoints []mgmtEndpoint) {
	t.Helper()
	otherScope := l.ManagementToken(t, "read:logs")
	for _, e := range endpoints {
		t.Run(e.String(), func(t *testing.T) {
			resp, body := l.Do(t, e.method, e.path, "", e.body)
			wantMgmtError(t, resp, body, http.StatusUnauthorized, "", "")
			var shape map[string]any
			mustJSON(t, body, &shape)
			if _, ok := shape["attributes"]; !ok {
				t.Errorf("401 without attributes: %s", body)
			}
			resp, body = l.Do(t, e.method, e.path, "not-a-jwt", e.body)
			wantMgmtErrorExact(t, resp, body, http.StatusUnauthorized, "", "Invalid token")

			resp, body = l.Do(t, e.method, e.path, otherScope, e.body)
			wantMgmtErrorExact(t, resp, body, http.StatusForbidden, "insufficient_scope",
				"Insufficient scope, expected any of: "+strings.Join(e.scopes, ","))

			// Each accepted scope alone passes the scope check (any status but 401/403).
			for _, s := range e.scopes {
				scoped := l.ManagementToken(t, s)
				if !slices.Contains(strings.Fields(jwtClaim(t, scoped, "scope")), s) {
					continue // not among the bootstrap client's scopes (read:user_idp_tokens)
				}
				resp, body = l.Do(t, e.method, e.path, scoped, e.body)
				if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
					t.Errorf("with %s: %d %s", s, resp.StatusCode, body)
				}
			}
		})
	}
}

// checkBadBodies sends every kind of broken body to each endpoint.
func checkBadBodies(t *testing.T, l *testLatch, tok string, endpoints []mgmtEndpoint) {
	t.Helper()
	oversized := []byte(`{"name":"` + strings.Repeat("x", 1<<20) + `"}`)
	nested := []byte(strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000))
	for _, e := range endpoints {
		for _, tc := range []struct {
			name, contentType string
			body              []byte
			status            int
			code              string
		}{
			{"malformed JSON", "application/json", []byte(`{"name": `), 400, "invalid_body"},
			{"trailing garbage", "application/json", []byte(`{"name": "x"} {}`), 400, "invalid_body"},
			{"array", "application/json", []byte(`[{"name": "x"}]`), 400, "invalid_body"},
			{"null", "application/json", []byte(`null`), 400, "invalid_body"},
			{"empty", "application/json", nil, 400, "invalid_body"},
			{"invalid UTF-8", "application/json", []byte("{\"name\": \"\xff\xfe\"}"), 400, "invalid_body"},
			{"oversized", "application/json", oversized, 400, "invalid_body"},
			{"nested 20000 deep", "application/json", nested, 400, "invalid_body"},
			{"form", "application/x-www-form-urlencoded", []byte("name=x"), 415, "unsupported_media_type"},
			{"text", "text/plain", []byte(`{"name": "x"}`), 415, "unsupported_media_type"},
			{"no content type", "", []byte(`{"name": "x"}`), 415, "unsupported_media_type"},
		} {
			t.Run(e.String()+"/"+tc.name, func(t *testing.T) {
				resp, body := mgmtRaw(t, l, e.method, e.path, tok, tc.contentType, tc.body)
				wantMgmtError(t, resp, body, tc.status, tc.code, "")
			})
		}
	}
}

// ---------------------------------------------------------------------------------------
// Helpers

// wantMgmtError checks Auth0's error body (§5.2): exactly statusCode, error (the reason
// phrase), message, and errorCode when code is not empty (attributes on a 401). msgIn, when
// not empty, must occur in the message.
func wantMgmtError(t *testing.T, resp *http.Response, body []byte, status int, code, msgIn string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
	var e map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	want := map[string]bool{"statusCode": true, "error": true, "message": true}
	if code != "" {
		want["errorCode"] = true
	}
	if status == http.StatusUnauthorized {
		want["attributes"] = true
	}
	for k := range e {
		if !want[k] {
			t.Errorf("unexpected %q in error body %s", k, body)
		}
	}
	for k := range want {
		if _, ok := e[k]; !ok {
			t.Errorf("missing %q in error body %s", k, body)
		}
	}
	if e["statusCode"] != json.Number(fmt.Sprint(status)) || e["error"] != http.StatusText(status) {
		t.Errorf("statusCode/error: %s", body)
	}
	if code != "" && e["errorCode"] != code {
		t.Errorf("errorCode %v, want %s: %s", e["errorCode"], code, body)
	}
	if msg, _ := e["message"].(string); msg == "" || !strings.Contains(msg, msgIn) {
		t.Errorf("message %q does not contain %q", msg, msgIn)
	}
}

// wantMgmtErrorExact also demands the exact message.
func wantMgmtErrorExact(t *testing.T, resp *http.Response, body []byte, status int, code, message string) {
	t.Helper()
	wantMgmtError(t, resp, body, status, code, message)
	var e struct{ Message string }
	mustJSON(t, body, &e)
	if e.Message != message {
		t.Errorf("message %q, want %q", e.Message, message)
	}
}

// mgmtJSON sends a request, demands the status and decodes the object it answers, numbers
// exact.
func mgmtJSON(t testing.TB, l *testLatch, method, path, tok string, body any, status int) map[string]any {
	t.Helper()
	resp, data := l.Do(t, method, path, tok, body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, status, data)
	}
	return decodeJSON(t, data)
}

func decodeJSON(t testing.TB, data []byte) map[string]any {
	t.Helper()
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return out
}

func decodeJSONArray(t testing.TB, data []byte) []any {
	t.Helper()
	var out []any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("decode array %s: %v", data, err)
	}
	return out
}

func mgmtList(t *testing.T, l *testLatch, path, tok string) map[string]any {
	t.Helper()
	return mgmtJSON(t, l, http.MethodGet, path, tok, nil, http.StatusOK)
}

// mgmtGetRaw returns the body of a successful GET, to compare before and after.
func mgmtGetRaw(t *testing.T, l *testLatch, path, tok string) []byte {
	t.Helper()
	resp, body := l.Do(t, http.MethodGet, path, tok, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return body
}

// mgmtRaw sends a body with any content type (none when contentType is empty).
func mgmtRaw(t testing.TB, l *testLatch, method, path, tok, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, l.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return send(t, req)
}

func mgmtCreateUser(t testing.TB, l *testLatch, tok, email string, extra map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{"connection": dbConnection, "email": email, "password": strongPassword}
	for k, v := range extra {
		body[k] = v
	}
	return mgmtJSON(t, l, http.MethodPost, "/api/v2/users", tok, body, http.StatusCreated)
}

// mgmtAppClient creates an application that may use the password-realm grant.
func mgmtAppClient(t *testing.T, l *testLatch, tok string) (id, secret string) {
	t.Helper()
	c := mgmtJSON(t, l, http.MethodPost, "/api/v2/clients", tok, map[string]any{
		"name": "mgmt test app", "grant_types": []string{"http://auth0.com/oauth/grant-type/password-realm"},
	}, http.StatusCreated)
	return c["client_id"].(string), c["client_secret"].(string)
}

// passwordLogin tries a password-realm login and returns the access token when it worked.
func passwordLogin(t *testing.T, l *testLatch, clientID, secret, user, pw string, status int) string {
	t.Helper()
	resp, body := l.PostForm(t, "/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {dbConnection},
		"client_id": {clientID}, "client_secret": {secret}, "username": {user}, "password": {pw},
		"scope": {"openid"},
	})
	if resp.StatusCode != status {
		t.Fatalf("login of %s: %d, want %d: %s", user, resp.StatusCode, status, body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(body, &tr)
	return tr.AccessToken
}

// jwtClaim reads one string claim of a JWT without verifying it ("" when absent).
func jwtClaim(t *testing.T, jwt, name string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	mustJSON(t, payload, &claims)
	s, _ := claims[name].(string)
	return s
}

// wantMeta compares a metadata property with JSON text, numbers exact.
func wantMeta(t *testing.T, user map[string]any, key, want string) {
	t.Helper()
	got, err := json.Marshal(user[key])
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	for _, p := range []struct {
		data []byte
		v    *any
	}{{got, &a}, {[]byte(want), &b}} {
		dec := json.NewDecoder(bytes.NewReader(p.data))
		dec.UseNumber()
		if err := dec.Decode(p.v); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%s = %s, want %s", key, got, want)
	}
}
