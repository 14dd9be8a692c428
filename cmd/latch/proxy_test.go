package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// failFrom sends a wrong password for email with X-Forwarded-For set to xff.
func failFrom(t *testing.T, l *testLatch, appID, appSecret, email, xff string) int {
	t.Helper()
	form := url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {dbConnection},
		"client_id": {appID}, "client_secret": {appSecret}, "username": {email}, "password": {"Wrong-Password-1"},
	}
	req, _ := http.NewRequest(http.MethodPost, l.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", xff)
	resp, _ := send(t, req)
	return resp.StatusCode
}

func TestTrustedProxies(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		name := "untrusted"
		if trusted {
			name = "trusted"
		}
		t.Run(name, func(t *testing.T) {
			l := startLatch(t, func(c *Config) {
				if trusted {
					c.TrustedProxies = "127.0.0.0/8"
				}
			})
			tok := l.ManagementToken(t, "")
			appID, appSecret := mgmtAppClient(t, l, tok)
			mgmtCreateUser(t, l, tok, "proxied@example.com", nil)
			for range 10 {
				if code := failFrom(t, l, appID, appSecret, "proxied@example.com", "203.0.113.7"); code != http.StatusForbidden {
					t.Fatalf("failed login: %d, want 403", code)
				}
			}
			blocks := mgmtJSON(t, l, http.MethodGet, "/api/v2/user-blocks?identifier=proxied@example.com", tok, nil, http.StatusOK)
			list, _ := blocks["blocked_for"].([]any)
			if len(list) != 1 {
				t.Fatalf("blocks: %v", blocks)
			}
			ip := list[0].(map[string]any)["ip"]
			// Another address behind the same proxy.
			code := failFrom(t, l, appID, appSecret, "proxied@example.com", "198.51.100.9")
			if trusted {
				if ip != "203.0.113.7" || code != http.StatusForbidden {
					t.Errorf("behind a trusted proxy: blocked %v, the other client got %d; want the forwarded address blocked and 403 for the other", ip, code)
				}
			} else if ip != "127.0.0.1" || code != http.StatusTooManyRequests {
				// X-Forwarded-For from an untrusted peer is ignored: every attempt is the
				// connection's, which is now blocked whatever header it sends.
				t.Errorf("untrusted: blocked %v, a forged header got %d; want 127.0.0.1 and 429", ip, code)
			}
		})
	}
}
