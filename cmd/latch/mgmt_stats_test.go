package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestMgmtDailyStats(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	appID, appSecret := mgmtAppClient(t, l, tok)
	for _, email := range []string{"s1@example.com", "s2@example.com"} {
		signup(t, l, appID, email, strongPassword, nil)
	}
	passwordLogin(t, l, appID, appSecret, "s1@example.com", strongPassword, http.StatusOK)
	passwordLogin(t, l, appID, appSecret, "s1@example.com", strongPassword, http.StatusOK)
	passwordLogin(t, l, appID, appSecret, "s2@example.com", "wrong-Password-1", http.StatusForbidden)

	today := time.Now().UTC().Format("20060102")
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format("20060102")
	// Events are written in the background: wait until both logins are counted.
	var days []any
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, body := l.Do(t, http.MethodGet, "/api/v2/stats/daily?from="+yesterday+"&to="+today, tok, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stats: %d %s", resp.StatusCode, body)
		}
		days = decodeJSONArray(t, body)
		if len(days) == 2 && days[1].(map[string]any)["logins"] == json.Number("2") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never counted the two logins: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	d0, d1 := days[0].(map[string]any), days[1].(map[string]any)
	if d1["signups"] != json.Number("2") || d1["date"] != time.Now().UTC().Format("2006-01-02")+"T00:00:00.000Z" ||
		d0["logins"] != json.Number("0") || d0["signups"] != json.Number("0") || d1["leaked_passwords"] != json.Number("0") {
		t.Errorf("stats: %v", days)
	}
	for _, bad := range []string{"?from=2026-01-01", "?from=20260105&to=20260101", "?from=20200101&to=20260101"} {
		resp, body := l.Do(t, http.MethodGet, "/api/v2/stats/daily"+bad, tok, nil)
		wantMgmtError(t, resp, body, http.StatusBadRequest, "invalid_query_string", "")
	}
	resp, body := l.Do(t, http.MethodGet, "/api/v2/stats/daily", l.ManagementToken(t, "read:users"), nil)
	wantMgmtError(t, resp, body, http.StatusForbidden, "insufficient_scope", "read:stats")
}
