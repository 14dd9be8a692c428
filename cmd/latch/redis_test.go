package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/redistest"
)

// With redis_url, the shared short-lived state lives in a real Redis: logins in progress,
// sessions, codes, counters. When Redis stops, what needs it answers 503 (no panic, no data
// lost), /readyz fails, and everything works again when it is back — without a restart.
func TestRedisSharedStateAndItsOutage(t *testing.T) {
	srv := redistest.NewServer(t)
	l := startLatch(t, func(c *Config) { c.RedisURL = srv.URL() })
	tok := l.ManagementToken(t, "")
	spa := spaClient(t, l, tok, nil)
	appID, appSecret := mgmtAppClient(t, l, tok)
	signup(t, l, spa, "redis@example.com", strongPassword, nil)

	ready := func() int {
		resp, _ := l.Do(t, http.MethodGet, "/readyz", "", nil)
		return resp.StatusCode
	}
	if got := ready(); got != http.StatusOK {
		t.Fatalf("/readyz with Redis up: %d", got)
	}
	_, challenge := pkce()
	ua := newUserAgent(t, l)
	if u := ua.login(t, authorizeParams(spa, challenge), "redis@example.com", strongPassword); u.Query().Get("code") == "" {
		t.Fatalf("browser login with Redis: %s", u)
	}
	passwordLogin(t, l, appID, appSecret, "redis@example.com", strongPassword, http.StatusOK)

	srv.Stop()
	if got := ready(); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down: %d, want 503", got)
	}
	// A login needs the brute-force counters: it is refused with 503, never let through
	// unprotected, and no password is checked.
	resp, body := l.PostForm(t, "/oauth/token", map[string][]string{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {dbConnection},
		"client_id": {appID}, "client_secret": {appSecret}, "username": {"redis@example.com"}, "password": {strongPassword},
	})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "temporarily_unavailable") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("password login with Redis down: %d %s, want 503 temporarily_unavailable with Retry-After", resp.StatusCode, body)
	}
	resp, _ = ua.authorize(t, authorizeParams(spa, challenge))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/authorize with Redis down: %d, want 503", resp.StatusCode)
	}
	// The durable store is untouched: the Management API still reads users (its rate limit
	// lets requests through while its state is away).
	if resp, body := l.Do(t, http.MethodGet, "/api/v2/users-by-email?email=redis@example.com", tok, nil); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "redis@example.com") {
		t.Errorf("Management API with Redis down: %d %s", resp.StatusCode, body)
	}

	srv.Start()
	deadline := time.Now().Add(15 * time.Second)
	for ready() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not recover after Redis came back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	passwordLogin(t, l, appID, appSecret, "redis@example.com", strongPassword, http.StatusOK)
	ua = newUserAgent(t, l)
	if u := ua.login(t, authorizeParams(spa, challenge), "redis@example.com", strongPassword); u.Query().Get("code") == "" {
		t.Fatalf("browser login after Redis came back: %s", u)
	}
	if strings.Contains(l.Logs.String(), "panic") {
		t.Errorf("latch logged a panic:\n%s", l.Logs.String())
	}
}
