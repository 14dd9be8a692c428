package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/latchauth/latch/storage/sqlite"
	"github.com/latchauth/latch/tokens"
)

func rulesConfigKeys(t *testing.T, l *testLatch, tok string) []string {
	t.Helper()
	var keys []string
	for _, it := range decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/rules-configs", tok)) {
		item := it.(map[string]any)
		if len(item) != 1 {
			t.Errorf("rules-configs item %v: want only its key", item)
		}
		keys = append(keys, item["key"].(string))
	}
	return keys
}

func TestMgmtRulesConfigs(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	if raw := mgmtGetRaw(t, l, "/api/v2/rules-configs", tok); strings.TrimSpace(string(raw)) != "[]" {
		t.Fatalf("rules-configs on a fresh latch: %s", raw)
	}

	got := mgmtJSON(t, l, http.MethodPut, "/api/v2/rules-configs/SLACK_HOOK_URL", tok, map[string]any{"value": "https://hooks.slack.com/T0/B0/xyz"}, http.StatusOK)
	if !reflect.DeepEqual(got, map[string]any{"key": "SLACK_HOOK_URL", "value": "https://hooks.slack.com/T0/B0/xyz"}) {
		t.Errorf("PUT answered %v", got)
	}
	// Create or replace; an empty value is a value.
	for key, value := range map[string]string{"SLACK_HOOK_URL": "https://hooks.slack.com/T0/B0/new", "api-key_2": "k", "EMPTY": "", "UNICODE": "clé 🔑 \"quoted\""} {
		got := mgmtJSON(t, l, http.MethodPut, "/api/v2/rules-configs/"+key, tok, map[string]any{"value": value}, http.StatusOK)
		if got["key"] != key || got["value"] != value || len(got) != 2 {
			t.Errorf("PUT %s answered %v", key, got)
		}
	}
	raw := mgmtGetRaw(t, l, "/api/v2/rules-configs", tok)
	if want := []string{"EMPTY", "SLACK_HOOK_URL", "UNICODE", "api-key_2"}; !reflect.DeepEqual(rulesConfigKeys(t, l, tok), want) {
		t.Errorf("keys = %v, want %v", rulesConfigKeys(t, l, tok), want)
	}
	if bytes.Contains(raw, []byte("hooks.slack.com")) || bytes.Contains(raw, []byte("value")) {
		t.Errorf("the list shows values: %s", raw)
	}

	resp, body := l.Do(t, http.MethodDelete, "/api/v2/rules-configs/api-key_2", tok, nil)
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	resp, body = l.Do(t, http.MethodDelete, "/api/v2/rules-configs/api-key_2", tok, nil)
	wantMgmtErrorExact(t, resp, body, http.StatusNotFound, "inexistent_rules_config", "The rules config does not exist.")
	if want := []string{"EMPTY", "SLACK_HOOK_URL", "UNICODE"}; !reflect.DeepEqual(rulesConfigKeys(t, l, tok), want) {
		t.Errorf("keys after delete = %v, want %v", rulesConfigKeys(t, l, tok), want)
	}

	// Longest key and value.
	long := strings.Repeat("K", 128)
	mgmtJSON(t, l, http.MethodPut, "/api/v2/rules-configs/"+long, tok, map[string]any{"value": strings.Repeat("é", 4096)}, http.StatusOK)
}

// Values are sealed with the key-encryption key: the database file alone does not reveal
// them, and what is there opens with the KEK.
func TestMgmtRulesConfigSealedAtRest(t *testing.T) {
	kek := tokens.GenerateKEK()
	l := startLatch(t, func(c *Config) { c.SecretKey = kek })
	tok := l.ManagementToken(t, "")
	const (
		replaced = "first-plaintext-4e1b7c0d9a"
		current  = "second-plaintext-b2f80a61c3"
		deleted  = "deleted-plaintext-77d0e5aa1f"
	)
	mgmtJSON(t, l, http.MethodPut, "/api/v2/rules-configs/API_TOKEN", tok, map[string]any{"value": replaced}, http.StatusOK)
	mgmtJSON(t, l, http.MethodPut, "/api/v2/rules-configs/API_TOKEN", tok, map[string]any{"value": current}, http.StatusOK)
	mgmtJSON(t, l, http.MethodPut, "/api/v2/rules-configs/GONE", tok, map[string]any{"value": deleted}, http.StatusOK)
	resp, body := l.Do(t, http.MethodDelete, "/api/v2/rules-configs/GONE", tok, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	l.Stop()

	files, err := filepath.Glob(filepath.Join(l.DataDir, "latch.db*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("database files: %v, %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{replaced, current, deleted} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s holds %q in the clear", filepath.Base(f), secret)
			}
		}
	}

	store, err := sqlite.Open(filepath.Join(l.DataDir, "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sealed, err := store.GetRulesConfigs(context.Background())
	if err != nil || len(sealed) != 1 {
		t.Fatalf("stored configs: %d, %v", len(sealed), err)
	}
	key, err := tokens.ParseKEK(kek)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := tokens.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := sealer.Open(sealed["API_TOKEN"], []byte("latch rules config API_TOKEN"))
	if err != nil || string(plain) != current {
		t.Errorf("opening the stored value with the KEK: %q, %v", plain, err)
	}
}

func TestMgmtRulesConfigRefusals(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	for _, key := range []string{
		"a.b", "a%20b", "..%2F..%2Fclients", "%2e%2e", "a%00", "%ff", "%25", "k%C3%A9", "a+b", "a:b",
		"'%20OR%20'1'='1", strings.Repeat("K", 129),
	} {
		for _, method := range []string{http.MethodPut, http.MethodDelete} {
			var body any
			if method == http.MethodPut {
				body = map[string]any{"value": "x"}
			}
			resp, data := l.Do(t, method, "/api/v2/rules-configs/"+key, tok, body)
			wantMgmtError(t, resp, data, http.StatusBadRequest, "invalid_uri", "key")
		}
	}
	for _, tc := range []struct {
		name  string
		body  any
		msgIn string
	}{
		{"no value", map[string]any{}, "value"},
		{"null value", map[string]any{"value": nil}, "value"},
		{"number", map[string]any{"value": 5}, "value"},
		{"object", map[string]any{"value": map[string]any{"a": "b"}}, "value"},
		{"key in body", map[string]any{"value": "x", "key": "OTHER"}, "key"},
		{"too long", map[string]any{"value": strings.Repeat("v", 4097)}, "value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := l.Do(t, http.MethodPut, "/api/v2/rules-configs/KEY", tok, tc.body)
			wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_body", tc.msgIn)
		})
	}
	checkBadBodies(t, l, tok, []mgmtEndpoint{{method: http.MethodPut, path: "/api/v2/rules-configs/KEY"}})
	if keys := rulesConfigKeys(t, l, tok); len(keys) != 0 {
		t.Errorf("keys after refusals: %v", keys)
	}
}

func TestMgmtRulesConfigEndpointsAuth(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	mgmtJSON(t, l, http.MethodPut, "/api/v2/rules-configs/AUTH", tok, map[string]any{"value": "v"}, http.StatusOK)
	checkEndpointsAuth(t, l, []mgmtEndpoint{
		{http.MethodGet, "/api/v2/rules-configs", []string{"read:rules_configs"}, nil},
		{http.MethodPut, "/api/v2/rules-configs/AUTH", []string{"update:rules_configs"}, map[string]any{"value": "w"}},
		{http.MethodDelete, "/api/v2/rules-configs/AUTH", []string{"delete:rules_configs"}, nil},
	})
}
