package main

import (
	"fmt"
	"net/http"
	"testing"
)

func TestAttackProtectionSettings(t *testing.T) {
	l := startLatch(t, func(c *Config) { c.TrustedProxies = "127.0.0.1" })
	tok := l.ManagementToken(t, "")
	appID, appSecret := mgmtAppClient(t, l, tok)
	mgmtCreateUser(t, l, tok, "guarded@example.com", nil)

	bf := mgmtJSON(t, l, http.MethodGet, "/api/v2/attack-protection/brute-force-protection", tok, nil, http.StatusOK)
	if bf["enabled"] != true || fmt.Sprint(bf["max_attempts"]) != "10" || bf["mode"] != "count_per_identifier_and_ip" {
		t.Fatalf("default brute-force settings: %v", bf)
	}

	// Three failures, counted per identifier whatever the address, now block.
	bf = mgmtJSON(t, l, http.MethodPatch, "/api/v2/attack-protection/brute-force-protection", tok,
		map[string]any{"max_attempts": 3, "mode": "count_per_identifier", "shields": []string{"block"}}, http.StatusOK)
	if fmt.Sprint(bf["max_attempts"]) != "3" || bf["enabled"] != true {
		t.Fatalf("after the change: %v", bf)
	}
	for _, ip := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		if code := failFrom(t, l, appID, appSecret, "guarded@example.com", ip); code != http.StatusForbidden {
			t.Fatalf("failure from %s: %d, want 403", ip, code)
		}
	}
	if code := failFrom(t, l, appID, appSecret, "guarded@example.com", "198.51.100.7"); code != http.StatusTooManyRequests {
		t.Errorf("a fourth address after 3 failures per identifier: %d, want 429", code)
	}
	// An allowlisted address is not held back.
	mgmtJSON(t, l, http.MethodPatch, "/api/v2/attack-protection/brute-force-protection", tok,
		map[string]any{"allowlist": []string{"198.51.100.0/24"}}, http.StatusOK)
	if code := failFrom(t, l, appID, appSecret, "guarded@example.com", "198.51.100.7"); code != http.StatusForbidden {
		t.Errorf("an allowlisted address: %d, want 403 (a plain wrong password)", code)
	}
	// Disabled: no block at all.
	mgmtJSON(t, l, http.MethodPatch, "/api/v2/attack-protection/brute-force-protection", tok, map[string]any{"enabled": false}, http.StatusOK)
	if code := failFrom(t, l, appID, appSecret, "guarded@example.com", "203.0.113.9"); code != http.StatusForbidden {
		t.Errorf("with brute-force protection off: %d, want 403", code)
	}

	// Signups per address: two, then throttled.
	mgmtJSON(t, l, http.MethodPatch, "/api/v2/attack-protection/suspicious-ip-throttling", tok, map[string]any{
		"stage": map[string]any{"pre-user-registration": map[string]any{"max_attempts": 2, "rate": 3600000}}}, http.StatusOK)
	spa := spaClient(t, l, tok, nil)
	codes := []int{}
	for i := range 3 {
		resp, _ := l.Do(t, http.MethodPost, "/dbconnections/signup", "", map[string]any{
			"client_id": spa, "connection": dbConnection, "email": fmt.Sprintf("flood%d@example.com", i), "password": strongPassword})
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Errorf("signups with a limit of 2: %v, want 200, 200, 429", codes)
	}
	st := mgmtJSON(t, l, http.MethodGet, "/api/v2/attack-protection/suspicious-ip-throttling", tok, nil, http.StatusOK)
	if fmt.Sprint(st["stage"].(map[string]any)["pre-user-registration"]) != "map[max_attempts:2 rate:3600000]" ||
		fmt.Sprint(st["stage"].(map[string]any)["pre-login"].(map[string]any)["max_attempts"]) != "100" {
		t.Errorf("throttling settings: %v", st)
	}

	// Refusals, each leaving the settings as they were.
	before := mgmtGetRaw(t, l, "/api/v2/attack-protection/brute-force-protection", tok)
	for _, bad := range []struct {
		path string
		body map[string]any
		msg  string
	}{
		{"brute-force-protection", map[string]any{"max_attempts": 0}, "max_attempts"},
		{"brute-force-protection", map[string]any{"max_attempts": 101}, "max_attempts"},
		{"brute-force-protection", map[string]any{"shields": []string{"block", "sms"}}, "No enum match"},
		{"brute-force-protection", map[string]any{"allowlist": []string{"not-an-ip"}}, "neither an IP"},
		{"brute-force-protection", map[string]any{"enabled": "yes"}, "Expected type boolean"},
		{"brute-force-protection", map[string]any{"threshold": 3}, "Additional properties"},
		{"suspicious-ip-throttling", map[string]any{"stage": map[string]any{"pre-login": map[string]any{"max_attempts": 5, "rate": 0}}}, "stage.pre-login"},
		{"suspicious-ip-throttling", map[string]any{"stage": map[string]any{"post-login": map[string]any{}}}, "Additional properties"},
		{"breached-password-detection", map[string]any{"enabled": true}, "cannot be enabled"},
	} {
		resp, body := l.Do(t, http.MethodPatch, "/api/v2/attack-protection/"+bad.path, tok, bad.body)
		wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_body", bad.msg)
	}
	if after := mgmtGetRaw(t, l, "/api/v2/attack-protection/brute-force-protection", tok); string(after) != string(before) {
		t.Errorf("refused changes changed the settings:\n%s\n%s", before, after)
	}
	resp, body := l.Do(t, http.MethodPatch, "/api/v2/attack-protection/brute-force-protection", l.ManagementToken(t, "read:attack_protection"), map[string]any{"enabled": true})
	wantMgmtError(t, resp, body, http.StatusForbidden, "insufficient_scope", "update:attack_protection")
}
