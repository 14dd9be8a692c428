package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkUserinfo is /userinfo end to end through real HTTP on loopback, in-process so
// that a CPU profile (-cpuprofile) covers the server.
func BenchmarkUserinfo(b *testing.B) {
	l := startLatch(b)
	mgmt := l.ManagementToken(b, "")
	clientID, secret := appClient(b, l, mgmt)
	signup(b, l, clientID, "bench@example.com", "Correct-Horse-9", map[string]any{"plan": "gold"})
	tr := realmLogin(b, l, clientID, secret, "bench@example.com", "Correct-Horse-9")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, l.URL+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// BenchmarkPasswordLogin is a password-realm login end to end at the default bcrypt cost,
// in-process so that a CPU profile shows what a login spends beside bcrypt.
func BenchmarkPasswordLogin(b *testing.B) {
	l := startLatch(b, func(c *Config) {
		c.BcryptCost = 10
		c.AttackProtectionAllowlist = "127.0.0.1" // one address makes all the load
	})
	mgmt := l.ManagementToken(b, "")
	clientID, secret := appClient(b, l, mgmt)
	signup(b, l, clientID, "bench@example.com", "Correct-Horse-9", nil)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			realmLogin(b, l, clientID, secret, "bench@example.com", "Correct-Horse-9")
		}
	})
}

// BenchmarkSignup is a database signup end to end at the default bcrypt cost, in-process so
// that a CPU profile shows what a signup spends beside bcrypt.
func BenchmarkSignup(b *testing.B) {
	l := startLatch(b, func(c *Config) {
		c.BcryptCost = 10
		c.AttackProtectionAllowlist = "127.0.0.1" // one address makes all the load
	})
	mgmt := l.ManagementToken(b, "")
	clientID, _ := appClient(b, l, mgmt)
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			signup(b, l, clientID, fmt.Sprintf("bench%d@example.com", n.Add(1)), "Correct-Horse-9", map[string]any{"plan": "silver"})
		}
	})
}

// BenchmarkRefreshGrant is a rotating refresh_token grant end to end (two signatures, the
// rotation and the grant record), in-process so that a CPU profile covers the server.
func BenchmarkRefreshGrant(b *testing.B) {
	l := startLatch(b)
	mgmt := l.ManagementToken(b, "")
	clientID := spaClient(b, l, mgmt, nil)
	signup(b, l, clientID, "bench@example.com", "Correct-Horse-9", nil)
	tokens := make(chan string, 64)
	for range cap(tokens) {
		verifier, challenge := pkce()
		back := newUserAgent(b, l).login(b, authorizeParams(clientID, challenge), "bench@example.com", "Correct-Horse-9")
		resp, body := l.PostForm(b, "/oauth/token", url.Values{
			"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {back.Query().Get("code")},
			"redirect_uri": {spaCallback}, "code_verifier": {verifier},
		})
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("exchange: %d %s", resp.StatusCode, body)
		}
		var tr struct {
			RefreshToken string `json:"refresh_token"`
		}
		mustJSON(b, body, &tr)
		tokens <- tr.RefreshToken
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rt := <-tokens
			resp, body := l.PostForm(b, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {rt}})
			var tr struct {
				RefreshToken string `json:"refresh_token"`
			}
			if resp.StatusCode != http.StatusOK {
				b.Errorf("refresh: %d %s", resp.StatusCode, body)
				tokens <- rt
				return
			}
			mustJSON(b, body, &tr)
			tokens <- tr.RefreshToken
		}
	})
}

// BenchmarkImportJob imports users with bcrypt hashes through one users-imports job; one op
// is one user, from the request to the job's completion.
func BenchmarkImportJob(b *testing.B) {
	l := startLatch(b)
	tok := l.ManagementToken(b, "")
	conn := connectionID(b, l, tok)
	hash := "$2a$10$" + strings.Repeat("abcdefghij", 5) + "abc"
	users := make([]map[string]any, b.N)
	for i := range users {
		users[i] = map[string]any{"email": fmt.Sprintf("bench%d@example.com", i), "email_verified": true,
			"password_hash": hash, "user_metadata": map[string]any{"plan": "gold", "n": i}}
	}
	file, _ := json.Marshal(users)
	b.ResetTimer()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("connection_id", conn)
	fw, _ := w.CreateFormFile("users", "users.json")
	fw.Write(file)
	w.Close()
	resp, body := mgmtRaw(b, l, http.MethodPost, "/api/v2/jobs/users-imports", tok, w.FormDataContentType(), buf.Bytes())
	if resp.StatusCode != http.StatusAccepted {
		b.Fatalf("import: %d %s", resp.StatusCode, body)
	}
	var job struct{ ID string }
	mustJSON(b, body, &job)
	for {
		resp, body := l.Do(b, http.MethodGet, "/api/v2/jobs/"+job.ID, tok, nil)
		var j struct{ Status string }
		mustJSON(b, body, &j)
		if resp.StatusCode != http.StatusOK || j.Status == "failed" {
			b.Fatalf("job: %s", body)
		}
		if j.Status == "completed" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "users/s")
}
