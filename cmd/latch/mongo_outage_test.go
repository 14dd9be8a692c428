package main

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/mongotest"
)

// MongoDB stopped under a running latch: /readyz fails, requests that need the store answer
// 503 (no panic), and latch serves again when MongoDB is back, without a restart.
func TestMongoOutage(t *testing.T) {
	srv := mongotest.Start(t)
	kek := make([]byte, 32)
	rand.Read(kek)
	l := startLatch(t, func(c *Config) {
		c.Store, c.MongoURI, c.SecretKey = "mongo", srv.URI(t), base64.StdEncoding.EncodeToString(kek)
	})
	tok := l.ManagementToken(t, "")
	appID, appSecret := mgmtAppClient(t, l, tok)
	mgmtCreateUser(t, l, tok, "outage@example.com", nil)
	passwordLogin(t, l, appID, appSecret, "outage@example.com", strongPassword, http.StatusOK)

	srv.Stop()
	resp, _ := l.Do(t, http.MethodGet, "/readyz", "", nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz with MongoDB down: %d, want 503", resp.StatusCode)
	}
	resp, body := l.PostForm(t, "/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {dbConnection},
		"client_id": {appID}, "client_secret": {appSecret}, "username": {"outage@example.com"}, "password": {strongPassword},
	})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "temporarily_unavailable") {
		t.Errorf("login with MongoDB down: %d %s, want 503", resp.StatusCode, body)
	}
	resp, body = l.Do(t, http.MethodGet, "/api/v2/users-by-email?email=outage@example.com", tok, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "temporarily_unavailable") {
		t.Errorf("Management API with MongoDB down: %d %s, want 503", resp.StatusCode, body)
	}

	srv.Restart(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, _ := l.Do(t, http.MethodGet, "/readyz", "", nil)
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not recover after MongoDB came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	passwordLogin(t, l, appID, appSecret, "outage@example.com", strongPassword, http.StatusOK)
	if strings.Contains(l.Logs.String(), "panic") {
		t.Errorf("latch logged a panic:\n%s", l.Logs.String())
	}
}
