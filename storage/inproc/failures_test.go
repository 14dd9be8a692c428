package inproc

import (
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/storagetest"
)

func TestLoginFailures(t *testing.T) {
	storagetest.RunLoginFailures(t, func(t *testing.T) (storage.LoginFailures, func(time.Duration)) {
		var mu sync.Mutex
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
		return NewLoginFailures(clock), advance
	})
}

func TestLoginFailuresBounded(t *testing.T) {
	l := NewLoginFailures(nil)
	for i := range maxIdentifiers + 10 {
		l.RecordFailure(t.Context(), string(rune(i))+"x", "ip", time.Hour)
	}
	if n := len(l.ids); n > maxIdentifiers {
		t.Fatalf("%d identifiers tracked, bound %d", n, maxIdentifiers)
	}
}
