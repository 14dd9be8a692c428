package main

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
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
