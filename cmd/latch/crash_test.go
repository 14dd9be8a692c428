package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/mongotest"
)

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// latchBinary builds this command once per test binary, for tests that must kill a real
// process.
func latchBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "latch-crash-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "latch")
		out, err := exec.Command("go", "build", "-o", binaryPath, ".").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// process is latch running as a child process, on env.
type process struct {
	cmd  *exec.Cmd
	url  string
	logs bytes.Buffer
}

func startProcess(t *testing.T, env []string, addr string) *process {
	t.Helper()
	p := &process{url: "http://" + addr}
	p.cmd = exec.Command(latchBinary(t), "serve")
	p.cmd.Env = append(os.Environ(), append(env, "LATCH_ADDR="+addr, "LATCH_ISSUER="+p.url+"/", "LATCH_LOG_LEVEL=warn", "LATCH_BCRYPT_COST=4")...)
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("latch not ready: %v\n%s", err, p.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *process) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// After kill -9 in the middle of a signup and metadata-update load, every request that got a
// 2xx is there after the restart: users signed up exist, and each user's metadata holds at
// least the last update that was acknowledged.
func TestKillDuringWritesLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a latch process")
	}
	kek := make([]byte, 32)
	rand.Read(kek)
	common := []string{"LATCH_SECRET_KEY=" + base64.StdEncoding.EncodeToString(kek),
		"LATCH_BOOTSTRAP_CLIENT_ID=crash-client", "LATCH_BOOTSTRAP_CLIENT_SECRET=crash-secret-0123456789abcdef0123456789",
		"LATCH_MGMT_RATE_LIMIT=100000", "LATCH_MGMT_RATE_BURST=100000"}
	for _, backend := range []struct {
		name string
		env  func(t *testing.T) []string
	}{
		{"sqlite", func(t *testing.T) []string { return []string{"LATCH_DATA_DIR=" + t.TempDir()} }},
		{"mongo", func(t *testing.T) []string {
			return []string{"LATCH_DATA_DIR=" + t.TempDir(), "LATCH_STORE=mongo", "LATCH_MONGO_URI=" + mongotest.URI(t)}
		}},
	} {
		t.Run(backend.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			env := append(backend.env(t), common...)
			p := startProcess(t, env, addr)
			tok := processToken(t, p.url)

			var (
				mu      sync.Mutex
				created = map[string]string{} // email -> user_id, acknowledged
				counted = map[string]int{}    // user_id -> last acknowledged counter
				stop    atomic.Bool
				wg      sync.WaitGroup
				n       atomic.Int64
			)
			client := &http.Client{Timeout: 5 * time.Second}
			for w := range 4 {
				wg.Go(func() {
					var mine []string
					for i := 0; !stop.Load(); i++ {
						if i%2 == 0 || len(mine) == 0 {
							email := fmt.Sprintf("crash%d@example.com", n.Add(1))
							body, _ := json.Marshal(map[string]any{"connection": dbConnection, "email": email, "password": strongPassword})
							var u struct {
								UserID string `json:"user_id"`
							}
							if mgmtCall(client, http.MethodPost, p.url+"/api/v2/users", tok, body, &u) == http.StatusCreated {
								mu.Lock()
								created[email] = u.UserID
								mu.Unlock()
								mine = append(mine, u.UserID)
							}
							continue
						}
						id := mine[i%len(mine)]
						mu.Lock()
						next := counted[id] + 1
						mu.Unlock()
						body, _ := json.Marshal(map[string]any{"user_metadata": map[string]any{"counter": next, "writer": w}})
						if mgmtCall(client, http.MethodPatch, p.url+"/api/v2/users/"+url.PathEscape(id), tok, body, nil) == http.StatusOK {
							mu.Lock()
							if next > counted[id] {
								counted[id] = next
							}
							mu.Unlock()
						}
					}
				})
			}
			time.Sleep(1500 * time.Millisecond)
			p.kill9(t)
			stop.Store(true)
			wg.Wait()
			if len(created) < 5 {
				t.Fatalf("only %d signups acknowledged before the kill; the load did not run", len(created))
			}

			p = startProcess(t, env, addr)
			tok = processToken(t, p.url)
			for email, id := range created {
				var users []struct {
					UserID       string         `json:"user_id"`
					UserMetadata map[string]any `json:"user_metadata"`
				}
				if code := mgmtCall(client, http.MethodGet, p.url+"/api/v2/users-by-email?email="+url.QueryEscape(email), tok, nil, &users); code != http.StatusOK {
					t.Fatalf("users-by-email: %d", code)
				}
				if len(users) != 1 || users[0].UserID != id {
					t.Errorf("%s was acknowledged as %s but after the restart: %+v", email, id, users)
					continue
				}
				if want := counted[id]; want > 0 {
					got, _ := users[0].UserMetadata["counter"].(float64)
					if int(got) < want {
						t.Errorf("%s: counter %v after the restart, but %d was acknowledged", email, got, want)
					}
				}
			}
			t.Logf("%s: %d signups and %d users' metadata updates acknowledged before kill -9, all present after the restart", backend.name, len(created), len(counted))
		})
	}
}

func processToken(t *testing.T, base string) string {
	t.Helper()
	return processTokenFor(t, base, "crash-client", "crash-secret-0123456789abcdef0123456789")
}

// processTokenFor gets a Management API token from the latch at base.
func processTokenFor(t *testing.T, base, id, secret string) string {
	t.Helper()
	resp, err := http.PostForm(base+"/oauth/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {id}, "client_secret": {secret}, "audience": {base + "/api/v2/"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tr.AccessToken
}

// mgmtCall sends a Management API request and decodes a 2xx answer into out; it returns the
// status, or 0 when the request failed (the process was killed under it).
func mgmtCall(c *http.Client, method, u, tok string, body []byte, out any) int {
	req, _ := http.NewRequestWithContext(context.Background(), method, u, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 && out != nil {
		if json.NewDecoder(resp.Body).Decode(out) != nil {
			return 0 // cut short: not acknowledged
		}
	}
	return resp.StatusCode
}
