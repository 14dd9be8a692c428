package main

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// A flood of password checks queues for a bounded number of hashing slots and past the wait
// is refused with 429 and Retry-After, instead of taking every core.
func TestHashGateRefusesAFlood(t *testing.T) {
	l := startLatch(t, func(c *Config) {
		c.BcryptCost = 12 // a few hundred milliseconds a hash
		c.HashConcurrency = 1
		c.HashWait = Duration(time.Millisecond)
	})
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	signup(t, l, clientID, "flood@example.com", "Correct-Horse-9", nil)

	const n = 6
	statuses := make([]int, n)
	headers := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			form := url.Values{
				"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
				"client_id": {clientID}, "client_secret": {secret}, "username": {"flood@example.com"}, "password": {"Correct-Horse-9"},
			}
			resp, err := http.Post(l.URL+"/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
			if err != nil {
				return
			}
			resp.Body.Close()
			statuses[i], headers[i] = resp.StatusCode, resp.Header.Get("Retry-After")
		})
	}
	wg.Wait()
	ok, busy := 0, 0
	for i, s := range statuses {
		switch s {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			busy++
			if headers[i] != "1" {
				t.Errorf("429 without Retry-After: %q", headers[i])
			}
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	if ok == 0 || busy == 0 {
		t.Fatalf("%d logins passed and %d were refused; want some of each", ok, busy)
	}
}
