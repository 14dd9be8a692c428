package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Tests of the Management API's client endpoints (AUTH0-COMPAT §5.2, §5.7) through real HTTP.
// Helpers are in mgmt_users_test.go.

func TestMgmtClientCreateDefaults(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")

	for _, tc := range []struct {
		appType    string
		authMethod string
		grants     []any
	}{
		{"", "client_secret_post", []any{"authorization_code", "implicit", "refresh_token", "client_credentials"}},
		{"regular_web", "client_secret_post", []any{"authorization_code", "implicit", "refresh_token", "client_credentials"}},
		{"spa", "none", []any{"authorization_code", "implicit", "refresh_token"}},
		{"native", "none", []any{"authorization_code", "implicit", "refresh_token"}},
		{"non_interactive", "client_secret_post", []any{"client_credentials"}},
	} {
		t.Run("app_type="+tc.appType, func(t *testing.T) {
			body := map[string]any{"name": "App " + tc.appType}
			if tc.appType != "" {
				body["app_type"] = tc.appType
			}
			c := mgmtJSON(t, l, http.MethodPost, "/api/v2/clients", tok, body, http.StatusCreated)
			wantType := tc.appType
			if wantType == "" {
				wantType = "regular_web"
			}
			if id, _ := c["client_id"].(string); len(id) < 32 {
				t.Errorf("client_id %q", id)
			}
			if s, _ := c["client_secret"].(string); len(s) < 48 {
				t.Errorf("client_secret %q", s)
			}
			for k, want := range map[string]any{
				"name": body["name"], "app_type": wantType, "token_endpoint_auth_method": tc.authMethod,
				"grant_types": tc.grants, "oidc_conformant": true, "is_first_party": true,
				"callbacks": []any{}, "allowed_origins": []any{}, "web_origins": []any{}, "allowed_logout_urls": []any{},
				"client_metadata":   map[string]any{},
				"jwt_configuration": map[string]any{"alg": "RS256", "lifetime_in_seconds": json.Number("36000"), "secret_encoded": false},
			} {
				if !reflect.DeepEqual(c[k], want) {
					t.Errorf("%s = %#v, want %#v", k, c[k], want)
				}
			}
			if _, ok := c["description"]; ok {
				t.Errorf("empty description present: %v", c)
			}
		})
	}
}

func TestMgmtClientReadSecretAndList(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	created := mgmtJSON(t, l, http.MethodPost, "/api/v2/clients", tok, map[string]any{
		"name": "Full", "description": "all the things", "app_type": "spa", "is_first_party": false,
		"oidc_conformant": true, "callbacks": []string{"https://app.example.com/cb", "com.example.app:/oauth2redirect"},
		"allowed_origins": []string{"https://app.example.com"}, "web_origins": []string{"https://app.example.com/"},
		"allowed_logout_urls": []string{"https://app.example.com/bye"},
		"grant_types":         []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_method": "none",
		"client_metadata":   map[string]any{"team": "blue"},
		"jwt_configuration": map[string]any{"alg": "RS256", "lifetime_in_seconds": 600, "secret_encoded": false},
	}, http.StatusCreated)
	id := created["client_id"].(string)
	path := "/api/v2/clients/" + id

	// read:clients alone does not show secrets; read:client_keys does.
	readOnly := l.ManagementToken(t, "read:clients")
	got := mgmtJSON(t, l, http.MethodGet, path, readOnly, nil, http.StatusOK)
	if _, ok := got["client_secret"]; ok {
		t.Errorf("secret shown without read:client_keys: %v", got)
	}
	delete(created, "client_secret")
	if !reflect.DeepEqual(got, created) {
		t.Errorf("GET differs from POST:\n%v\n%v", got, created)
	}
	withKeys := mgmtJSON(t, l, http.MethodGet, path, l.ManagementToken(t, "read:client_keys"), nil, http.StatusOK)
	if s, _ := withKeys["client_secret"].(string); s == "" {
		t.Errorf("no secret with read:client_keys: %v", withKeys)
	}
	only := mgmtJSON(t, l, http.MethodGet, path+"?fields=name,client_id", readOnly, nil, http.StatusOK)
	if !reflect.DeepEqual(only, map[string]any{"name": "Full", "client_id": id}) {
		t.Errorf("fields: %v", only)
	}

	// List: bootstrap client first, then the new one; no secrets without read:client_keys.
	list := decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/clients", readOnly))
	if len(list) != 2 || list[0].(map[string]any)["client_id"] != l.ClientID || list[1].(map[string]any)["client_id"] != id {
		t.Fatalf("list: %v", list)
	}
	if bytes.Contains(mgmtGetRaw(t, l, "/api/v2/clients", readOnly), []byte(l.ClientSecret)) {
		t.Errorf("bootstrap secret listed without read:client_keys")
	}
	if !bytes.Contains(mgmtGetRaw(t, l, "/api/v2/clients", tok), []byte(l.ClientSecret)) {
		t.Errorf("secrets not listed with read:client_keys")
	}
	env := mgmtList(t, l, "/api/v2/clients?page=1&per_page=1&include_totals=true", readOnly)
	clients := env["clients"].([]any)
	if env["total"] != json.Number("2") || env["start"] != json.Number("1") || env["limit"] != json.Number("1") ||
		env["length"] != json.Number("1") || len(clients) != 1 || clients[0].(map[string]any)["client_id"] != id {
		t.Errorf("envelope: %v", env)
	}
	for _, q := range []string{"per_page=101", "page=-1", "include_totals=1x", "page=abc"} {
		resp, body := l.Do(t, http.MethodGet, "/api/v2/clients?"+q, tok, nil)
		wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_query_string", "")
	}
}

func TestMgmtClientPatch(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	c := mgmtJSON(t, l, http.MethodPost, "/api/v2/clients", tok, map[string]any{
		"name": "Patchable", "callbacks": []string{"https://a.example.com/cb"},
		"client_metadata": map[string]any{"a": "1", "b": "2"},
	}, http.StatusCreated)
	path := "/api/v2/clients/" + c["client_id"].(string)

	got := mgmtJSON(t, l, http.MethodPatch, path, tok, `{
		"client_metadata": {"a": null, "c": "3"}, "callbacks": ["https://b.example.com/cb"],
		"description": "now described", "jwt_configuration": {"lifetime_in_seconds": 60},
		"grant_types": ["authorization_code", "refresh_token", "authorization_code"]
	}`, http.StatusOK)
	for k, want := range map[string]any{
		"client_metadata": map[string]any{"b": "2", "c": "3"}, "callbacks": []any{"https://b.example.com/cb"},
		"description": "now described", "name": "Patchable",
		"jwt_configuration": map[string]any{"alg": "RS256", "lifetime_in_seconds": json.Number("60"), "secret_encoded": false},
		"grant_types":       []any{"authorization_code", "refresh_token"},
	} {
		if !reflect.DeepEqual(got[k], want) {
			t.Errorf("%s = %#v, want %#v", k, got[k], want)
		}
	}
	if _, ok := got["client_secret"]; !ok {
		t.Errorf("PATCH with update:client_keys should answer with the secret")
	}
	got = mgmtJSON(t, l, http.MethodPatch, path, l.ManagementToken(t, "update:clients"), `{"callbacks": null, "description": null}`, http.StatusOK)
	if !reflect.DeepEqual(got["callbacks"], []any{}) || got["description"] != nil {
		t.Errorf("null lists and description: %v", got)
	}
	if _, ok := got["client_secret"]; ok {
		t.Errorf("secret shown to update:clients alone")
	}
	// An empty patch changes nothing.
	mgmtJSON(t, l, http.MethodPatch, path, tok, `{}`, http.StatusOK)

	before := mgmtGetRaw(t, l, path, tok)
	eleven := map[string]any{}
	for i := range 11 {
		eleven[fmt.Sprintf("k%d", i)] = "v"
	}
	nine := map[string]any{}
	for i := range 9 {
		nine[fmt.Sprintf("n%d", i)] = "v"
	}
	for _, tc := range []struct {
		name  string
		body  any
		msgIn string
	}{
		{"javascript callback", `{"callbacks": ["javascript:alert(1)"]}`, "callbacks[0]"},
		{"relative callback", `{"callbacks": ["/cb"]}`, "callbacks[0]"},
		{"callback with fragment", `{"callbacks": ["https://a.example.com/cb#x"]}`, "callbacks"},
		{"data logout url", `{"allowed_logout_urls": ["data:text/html,hi"]}`, "allowed_logout_urls"},
		{"origin with a path", `{"web_origins": ["https://a.example.com/path"]}`, "web_origins"},
		{"origin not a URL", `{"allowed_origins": ["a.example.com"]}`, "allowed_origins"},
		{"callback not a string", `{"callbacks": [1]}`, "callbacks[0]"},
		{"callbacks not a list", `{"callbacks": "https://a.example.com"}`, "callbacks"},
		{"unknown grant type", `{"grant_types": ["magic"]}`, "grant_types[0]"},
		{"bad auth method", `{"token_endpoint_auth_method": "private_key_jwt"}`, "token_endpoint_auth_method"},
		{"bad app type", `{"app_type": "desktop"}`, "app_type"},
		{"null app type", `{"app_type": null}`, "app_type"},
		{"null name", `{"name": null}`, "name"},
		{"empty name", `{"name": ""}`, "name"},
		{"name with markup", `{"name": "<script>"}`, "name"},
		{"description too long", map[string]any{"description": strings.Repeat("d", 141)}, "description"},
		{"eleven metadata keys", map[string]any{"client_metadata": eleven}, "client_metadata"},
		{"more than ten after the merge", map[string]any{"client_metadata": nine}, "client_metadata"},
		{"metadata value too long", map[string]any{"client_metadata": map[string]any{"a": strings.Repeat("v", 256)}}, "client_metadata"},
		{"metadata value not a string", `{"client_metadata": {"a": 1}}`, "client_metadata.a"},
		{"metadata key with a dot", `{"client_metadata": {"a.b": "x"}}`, "client_metadata"},
		{"metadata null", `{"client_metadata": null}`, "client_metadata"},
		{"bootstrap marker", `{"client_metadata": {"latch_bootstrap": "true"}}`, "reserved"},
		{"HS256", `{"jwt_configuration": {"alg": "HS256"}}`, "alg"},
		{"huge lifetime", `{"jwt_configuration": {"lifetime_in_seconds": 100000000000000000000000000000}}`, "lifetime_in_seconds"},
		{"fractional lifetime", `{"jwt_configuration": {"lifetime_in_seconds": 1.5}}`, "lifetime_in_seconds"},
		{"negative lifetime", `{"jwt_configuration": {"lifetime_in_seconds": -1}}`, "lifetime_in_seconds"},
		{"unknown jwt property", `{"jwt_configuration": {"scopes": {}}}`, "Additional properties not allowed: scopes"},
		{"unknown property", `{"client_secret": "mine", "name": "x"}`, "Payload validation error: 'Additional properties not allowed: client_secret'"},
		{"client_id", `{"client_id": "other"}`, "client_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := l.Do(t, http.MethodPatch, path, tok, tc.body)
			wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_body", tc.msgIn)
			if after := mgmtGetRaw(t, l, path, tok); !bytes.Equal(after, before) {
				t.Errorf("client changed by a refused PATCH:\n%s\n%s", before, after)
			}
		})
	}

	// The same validation applies on creation, and nothing is created.
	for _, body := range []string{
		`{}`, `{"description": "no name"}`, `{"name": "x", "callbacks": ["javascript:alert(1)"]}`,
		`{"name": "x", "grant_types": ["magic"]}`, `{"name": "x", "client_metadata": {"latch_bootstrap": "true"}}`,
	} {
		resp, data := l.Do(t, http.MethodPost, "/api/v2/clients", tok, body)
		wantMgmtError(t, resp, data, http.StatusBadRequest, "invalid_body", "")
	}
	resp, data := l.Do(t, http.MethodPost, "/api/v2/clients", tok, `{"description": "no name"}`)
	wantMgmtError(t, resp, data, http.StatusBadRequest, "invalid_body", "Missing required property: name")
	if env := mgmtList(t, l, "/api/v2/clients?include_totals=true", tok); env["total"] != json.Number("2") {
		t.Errorf("clients after refused creations: %v", env["total"])
	}

	resp, data = l.Do(t, http.MethodPatch, "/api/v2/clients/no-such-client", tok, `{"name": "x"}`)
	wantMgmtErrorExact(t, resp, data, http.StatusNotFound, "inexistent_client", "The client does not exist.")

	// The bootstrap client keeps its marker whatever is sent.
	boot := "/api/v2/clients/" + l.ClientID
	for _, body := range []string{`{"client_metadata": {"latch_bootstrap": null}}`, `{"client_metadata": {"latch_bootstrap": "false"}}`} {
		resp, data = l.Do(t, http.MethodPatch, boot, tok, body)
		wantMgmtError(t, resp, data, http.StatusBadRequest, "invalid_body", "reserved")
	}
	mgmtJSON(t, l, http.MethodPatch, boot, tok, `{"client_metadata": {"latch_bootstrap": "true", "note": "kept"}}`, http.StatusOK)
}

func TestMgmtClientDelete(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	c := mgmtJSON(t, l, http.MethodPost, "/api/v2/clients", tok, map[string]any{"name": "Doomed"}, http.StatusCreated)
	path := "/api/v2/clients/" + c["client_id"].(string)

	resp, body := l.Do(t, http.MethodDelete, path, tok, nil)
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		resp, body = l.Do(t, method, path, tok, nil)
		wantMgmtErrorExact(t, resp, body, http.StatusNotFound, "inexistent_client", "The client does not exist.")
	}

	// Deleting the bootstrap client takes its client grant along: were the grant left, the
	// client recreated under the same configured id at the next start could not be granted.
	resp, body = l.Do(t, http.MethodDelete, "/api/v2/clients/"+l.ClientID, tok, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete bootstrap client: %d %s", resp.StatusCode, body)
	}
	form := map[string][]string{
		"grant_type": {"client_credentials"}, "client_id": {l.ClientID}, "client_secret": {l.ClientSecret},
		"audience": {l.Issuer + "api/v2/"},
	}
	if resp, _ := l.PostForm(t, "/oauth/token", form); resp.StatusCode == http.StatusOK {
		t.Fatalf("deleted client still gets tokens")
	}
	l.Restart()
	tok = l.ManagementToken(t, "")
	mgmtJSON(t, l, http.MethodGet, "/api/v2/clients/"+l.ClientID, tok, nil, http.StatusOK)
}

func TestMgmtClientHostileIDs(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	before := mgmtGetRaw(t, l, "/api/v2/clients/"+l.ClientID, tok)
	for _, id := range []string{
		"..%2F..%2Fusers", "%2e%2e%2F", l.ClientID + "%2F..", "%ff", "%00", strings.Repeat("c", 4096),
		"bootstrap-client%00", "%27%20OR%201%3D1--",
	} {
		for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
			var body any
			if method == http.MethodPatch {
				body = `{"name": "pwned"}`
			}
			resp, data := l.Do(t, method, "/api/v2/clients/"+id, tok, body)
			wantMgmtErrorExact(t, resp, data, http.StatusNotFound, "inexistent_client", "The client does not exist.")
		}
	}
	if after := mgmtGetRaw(t, l, "/api/v2/clients/"+l.ClientID, tok); !bytes.Equal(after, before) {
		t.Errorf("bootstrap client changed:\n%s\n%s", before, after)
	}
}

func TestMgmtClientEndpointsAuth(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	c := mgmtJSON(t, l, http.MethodPost, "/api/v2/clients", tok, map[string]any{"name": "Guarded"}, http.StatusCreated)
	path := "/api/v2/clients/" + c["client_id"].(string)
	checkEndpointsAuth(t, l, []mgmtEndpoint{
		{http.MethodGet, "/api/v2/clients", []string{"read:clients", "read:client_keys"}, nil},
		{http.MethodPost, "/api/v2/clients", []string{"create:clients"}, map[string]any{"name": "Another"}},
		{http.MethodGet, path, []string{"read:clients", "read:client_keys"}, nil},
		{http.MethodPatch, path, []string{"update:clients", "update:client_keys"}, map[string]any{"description": "x"}},
		{http.MethodDelete, path, []string{"delete:clients"}, nil},
	})
}

func TestMgmtClientEndpointsBadBodies(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	c := mgmtJSON(t, l, http.MethodPost, "/api/v2/clients", tok, map[string]any{"name": "Bodies"}, http.StatusCreated)
	path := "/api/v2/clients/" + c["client_id"].(string)
	before := mgmtGetRaw(t, l, path, tok)
	checkBadBodies(t, l, tok, []mgmtEndpoint{
		{method: http.MethodPost, path: "/api/v2/clients"},
		{method: http.MethodPatch, path: path},
	})
	if after := mgmtGetRaw(t, l, path, tok); !bytes.Equal(after, before) {
		t.Errorf("client changed by bad bodies:\n%s\n%s", before, after)
	}
	list := decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/clients", tok))
	names := []string{}
	for _, c := range list {
		names = append(names, c.(map[string]any)["name"].(string))
	}
	if !slices.Equal(names, []string{"latch bootstrap (Management API)", "Bodies"}) {
		t.Errorf("clients after bad bodies: %v", names)
	}
}
