package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestGracefulShutdown: a request in flight when latch is told to stop still completes, its
// write survives, and the store closes cleanly (serve returns no error).
func TestGracefulShutdown(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, _ := appClient(t, l, mgmt)

	// Make the next password hash slow enough to be caught in flight: cost 13 takes
	// about half a second here (seconds under -race). Restart applies it.
	l.Config.BcryptCost = 13
	l.Restart()

	type reply struct {
		status int
		body   string
		err    error
	}
	done := make(chan reply, 1)
	go func() {
		body := `{"client_id":"` + clientID + `","connection":"Username-Password-Authentication","email":"inflight@example.com","password":"Correct-Horse-9"}`
		resp, err := http.Post(l.URL+"/dbconnections/signup", "application/json", strings.NewReader(body))
		if err != nil {
			done <- reply{err: err}
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		done <- reply{resp.StatusCode, string(data), err}
	}()
	time.Sleep(150 * time.Millisecond) // the request is hashing now
	l.Stop()                           // fails the test if serve returned an error
	r := <-done
	if r.err != nil || r.status != http.StatusOK || !strings.Contains(r.body, `"email":"inflight@example.com"`) {
		t.Fatalf("in-flight signup during shutdown: %d %s %v", r.status, r.body, r.err)
	}
	if _, err := http.Get(l.URL + "/healthz"); err == nil {
		t.Fatal("latch still answers after shutdown")
	}

	l.Config.BcryptCost = testBcryptCost
	l.Restart()
	resp, body := l.Do(t, http.MethodGet, "/api/v2/users-by-email?email=inflight@example.com", l.ManagementToken(t, ""), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"email":"inflight@example.com"`) {
		t.Fatalf("the in-flight signup was lost: %d %s", resp.StatusCode, body)
	}
}
