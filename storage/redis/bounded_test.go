package redis

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/redistest"
	"github.com/latchauth/latch/storage"
)

// What Redis holds for one identifier or one user is bounded by what is alive: lapsed
// failure counters and the index entries of gone sessions are dropped as writes go on,
// and live ones never are.
func TestBounded(t *testing.T) {
	url := redistest.URL(t)
	raw := rawClient(t, url)
	ctx := t.Context()

	t.Run("FailureCounters", func(t *testing.T) {
		clock, advance := fakeClock()
		s := open(t, url, WithPrefix(redistest.Prefix(t)), WithClock(clock))
		// The hash is swept once it holds more fields than its threshold, which a sweep sets
		// to twice the live counters it leaves (at least 64): so with old counters lapsed, it
		// is swept before fresh ones outnumber them twice, and no lapsed counter is left.
		const old, fresh = 300, 600
		key := s.key("fail", "jane")
		for i := range old {
			_, err := s.RecordFailure(ctx, "jane", fmt.Sprintf("10.0.%d.%d", i/256, i%256), time.Minute)
			must(t, err)
		}
		for i := range old { // sweeps along the way dropped none of the live ones
			if n, err := s.FailureCount(ctx, "jane", fmt.Sprintf("10.0.%d.%d", i/256, i%256)); err != nil || n != 1 {
				t.Fatalf("live counter #%d = %d, %v", i, n, err)
			}
		}
		advance(2 * time.Minute)
		most := int64(0)
		for i := range fresh {
			_, err := s.RecordFailure(ctx, "jane", fmt.Sprintf("192.168.%d.%d", i/256, i%256), time.Hour)
			must(t, err)
			most = max(most, raw.HLen(ctx, key).Val())
		}
		ips, err := s.BlockedIPs(ctx, "jane", 1)
		must(t, err)
		if len(ips) != fresh {
			t.Fatalf("BlockedIPs = %d IPs, want the %d fresh ones", len(ips), fresh)
		}
		if n := raw.HLen(ctx, key).Val(); n != fresh+1 { // and the threshold's field
			t.Errorf("the identifier's hash holds %d fields with %d live counters", n, fresh)
		}
		if most > 2*old+1 {
			t.Errorf("the identifier's hash grew to %d fields, with at most %d live counters at a sweep", most, old)
		}
	})

	t.Run("SessionIndex", func(t *testing.T) {
		clock, advance := fakeClock()
		s := open(t, url, WithPrefix(redistest.Prefix(t)), WithClock(clock))
		now := clock()
		for range 50 {
			must(t, s.CreateSession(ctx, storage.Session{ID: storage.NewOpaqueToken(), UserID: "auth0|jane", ExpiresAt: now.Add(time.Minute)}))
		}
		live := storage.Session{ID: "live", UserID: "auth0|jane", ExpiresAt: now.Add(time.Hour)}
		must(t, s.CreateSession(ctx, live))
		advance(time.Minute + ttlSlack + time.Second)
		must(t, s.CreateSession(ctx, storage.Session{ID: "new", UserID: "auth0|jane", ExpiresAt: clock().Add(time.Hour)}))
		if n := raw.ZCard(ctx, s.key("usess", "auth0|jane")).Val(); n != 2 {
			t.Fatalf("the user's index holds %d entries with 2 live sessions", n)
		}
		n, err := s.DeleteUserSessions(ctx, "auth0|jane")
		must(t, err)
		if n != 2 {
			t.Fatalf("DeleteUserSessions = %d, want 2", n)
		}
	})
}
