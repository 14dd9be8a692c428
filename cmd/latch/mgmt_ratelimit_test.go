package main

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestMgmtRateLimit(t *testing.T) {
	l := startLatch(t, func(c *Config) {
		c.MgmtRateLimit, c.MgmtRateBurst = 1, 3
		c.MgmtClientRateLimits = "bootstrap-client=1:5"
	})
	// The bootstrap client has its own limit of 5 at once.
	tok := l.ManagementToken(t, "")
	for i := range 5 {
		resp, body := l.Do(t, http.MethodGet, "/api/v2/rules", tok, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, resp.StatusCode, body)
		}
		h := resp.Header
		if h.Get("X-RateLimit-Limit") != "5" || h.Get("X-RateLimit-Remaining") != strconv.Itoa(4-i) {
			t.Errorf("request %d: limit %q remaining %q, want 5 and %d", i+1, h.Get("X-RateLimit-Limit"), h.Get("X-RateLimit-Remaining"), 4-i)
		}
		reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
		if now := time.Now().Unix(); err != nil || reset < now || reset > now+10 {
			t.Errorf("request %d: X-RateLimit-Reset %q, want a Unix time within 10 s", i+1, h.Get("X-RateLimit-Reset"))
		}
	}
	resp, body := l.Do(t, http.MethodGet, "/api/v2/rules", tok, nil)
	wantMgmtErrorExact(t, resp, body, http.StatusTooManyRequests, "too_many_requests", "Global limit has been reached")
	if resp.Header.Get("Retry-After") != "1" || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("429: Retry-After %q, remaining %q", resp.Header.Get("Retry-After"), resp.Header.Get("X-RateLimit-Remaining"))
	}

	// Requests without a valid token count per address against the default limit (3), and
	// a flood of them is refused before any token is checked.
	codes := []int{}
	for range 4 {
		resp, _ := l.Do(t, http.MethodGet, "/api/v2/rules", "not-a-token", nil)
		codes = append(codes, resp.StatusCode)
		if resp.Header.Get("X-RateLimit-Limit") != "3" {
			t.Errorf("anonymous request: X-RateLimit-Limit %q, want 3", resp.Header.Get("X-RateLimit-Limit"))
		}
	}
	if codes[0] != 401 || codes[2] != 401 || codes[3] != 429 {
		t.Errorf("requests with a bad token: %v, want 401 ×3 then 429", codes)
	}

	// A second of waiting gives the bootstrap client one request again.
	time.Sleep(1100 * time.Millisecond)
	resp, body = l.Do(t, http.MethodGet, "/api/v2/rules", tok, nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after a second: %d %s", resp.StatusCode, body)
	}
}

func TestMgmtClientRateLimitsConfig(t *testing.T) {
	for _, bad := range []string{"x", "id=1", "id=a:2", "=1:2", "id=0:5", "id=1:0"} {
		c := defaults()
		c.MgmtClientRateLimits = bad
		if _, err := c.clientRateLimits(); err == nil {
			t.Errorf("mgmt_client_rate_limits %q accepted", bad)
		}
	}
	c := defaults()
	c.MgmtClientRateLimits = " a=10:20 , b=1:1 "
	got, err := c.clientRateLimits()
	if err != nil || len(got) != 2 || got["a"].PerSecond != 10 || got["a"].Burst != 20 || got["b"].Burst != 1 {
		t.Errorf("clientRateLimits = %v, %v", got, err)
	}
}
