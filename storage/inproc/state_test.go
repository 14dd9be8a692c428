package inproc

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/storagetest"
)

// fakeClock starts at the real time, as RunShortLived requires, and moves only when told.
func fakeClock() (func() time.Time, func(time.Duration)) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	return clock, advance
}

func TestShortLived(t *testing.T) {
	storagetest.RunShortLived(t, func(t *testing.T) (storage.ShortLived, func(time.Duration)) {
		clock, advance := fakeClock()
		return New(clock), advance
	})
}

// Expired records do not pile up: each table is swept once it reaches its threshold, and
// the user index loses the sessions that go.
func TestStateBounded(t *testing.T) {
	ctx := t.Context()
	clock, advance := fakeClock()
	s := New(clock)
	const rounds, perRound = 5, 3 * minSweep
	for r := range rounds {
		for i := range perRound {
			id := fmt.Sprintf("%d-%d", r, i)
			exp := clock().Add(time.Minute)
			if err := s.CreateTransaction(ctx, storage.LoginTransaction{ID: id, ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateSession(ctx, storage.Session{ID: id, UserID: fmt.Sprint("user-", i%7), ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateCode(ctx, storage.AuthCode{ID: id, ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				if _, err := s.ConsumeCode(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Everything made so far expires, used codes included.
		advance(time.Minute + storage.UsedCodeMemory + time.Second)
	}
	// Each table holds at most one round of records (which were all alive at once), plus
	// what its last sweep left: no more than 2 × perRound.
	for name, n := range map[string]int{"transactions": len(s.txs.items), "sessions": len(s.sessions.items), "codes": len(s.codes.items)} {
		if n > 2*perRound {
			t.Errorf("%s: %d records kept after %d rounds of %d, bound %d", name, n, rounds, perRound, 2*perRound)
		}
	}
	indexed := 0
	for _, ids := range s.byUser {
		indexed += len(ids)
	}
	if indexed != len(s.sessions.items) {
		t.Errorf("user index holds %d sessions, the table %d", indexed, len(s.sessions.items))
	}
	if len(s.byUser) > 7 {
		t.Errorf("user index holds %d users, want at most 7", len(s.byUser))
	}

	// Nothing alive is ever swept.
	live := storage.Session{ID: "live", UserID: "u", ExpiresAt: clock().Add(time.Hour)}
	if err := s.CreateSession(ctx, live); err != nil {
		t.Fatal(err)
	}
	for i := range 4 * minSweep {
		exp := clock().Add(time.Minute)
		if err := s.CreateSession(ctx, storage.Session{ID: fmt.Sprint("x", i), UserID: "v", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		advance(2 * time.Minute / minSweep)
	}
	if _, err := s.GetSession(ctx, "live"); err != nil {
		t.Fatalf("a live session was lost to a sweep: %v", err)
	}
	if n, _ := s.DeleteUserSessions(ctx, "u"); n != 1 {
		t.Fatalf("DeleteUserSessions = %d, want 1", n)
	}
}

// Records without an expiry would never go: they are refused.
func TestStateRefusesNoExpiry(t *testing.T) {
	s := New(nil)
	ctx := t.Context()
	if err := s.CreateTransaction(ctx, storage.LoginTransaction{ID: "t"}); err == nil {
		t.Error("CreateTransaction without ExpiresAt succeeded")
	}
	if err := s.CreateSession(ctx, storage.Session{ID: "s"}); err == nil {
		t.Error("CreateSession without ExpiresAt succeeded")
	}
	if err := s.CreateCode(ctx, storage.AuthCode{ID: "c"}); err == nil {
		t.Error("CreateCode without ExpiresAt succeeded")
	}
}
