package storagetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

// RunLoginFailures is the conformance suite of storage.LoginFailures, for every backend of
// shared short-lived state. advance moves the backend's clock forward.
func RunLoginFailures(t *testing.T, newFailures func(t *testing.T) (storage.LoginFailures, func(time.Duration))) {
	ctx := context.Background()
	t.Run("CountRecordClear", func(t *testing.T) {
		f, _ := newFailures(t)
		for i := 1; i <= 3; i++ {
			n, err := f.RecordFailure(ctx, "jane@example.com", "10.0.0.1", time.Hour)
			must(t, "RecordFailure", err)
			if n != i {
				t.Fatalf("RecordFailure #%d = %d", i, n)
			}
		}
		f.RecordFailure(ctx, "jane@example.com", "10.0.0.2", time.Hour)
		if n, _ := f.FailureCount(ctx, "jane@example.com", "10.0.0.1"); n != 3 {
			t.Fatalf("FailureCount = %d, want 3", n)
		}
		if n, _ := f.FailureCount(ctx, "other@example.com", "10.0.0.1"); n != 0 {
			t.Fatalf("another identifier counts %d", n)
		}
		if ips, _ := f.BlockedIPs(ctx, "jane@example.com", 3); !slices.Equal(ips, []string{"10.0.0.1"}) {
			t.Fatalf("BlockedIPs = %v", ips)
		}
		must(t, "ClearFailures ip", f.ClearFailures(ctx, "jane@example.com", "10.0.0.1"))
		if n, _ := f.FailureCount(ctx, "jane@example.com", "10.0.0.1"); n != 0 {
			t.Fatalf("after clearing one IP: %d", n)
		}
		if n, _ := f.FailureCount(ctx, "jane@example.com", "10.0.0.2"); n != 1 {
			t.Fatalf("clearing one IP cleared another: %d", n)
		}
		must(t, "ClearFailures all", f.ClearFailures(ctx, "jane@example.com", ""))
		if n, _ := f.FailureCount(ctx, "jane@example.com", "10.0.0.2"); n != 0 {
			t.Fatalf("after clearing every IP: %d", n)
		}
	})
	t.Run("Lapses", func(t *testing.T) {
		f, advance := newFailures(t)
		f.RecordFailure(ctx, "a", "ip", time.Minute)
		f.RecordFailure(ctx, "a", "ip", time.Minute)
		advance(2 * time.Minute)
		if n, _ := f.FailureCount(ctx, "a", "ip"); n != 0 {
			t.Fatalf("lapsed count = %d", n)
		}
		if n, _ := f.RecordFailure(ctx, "a", "ip", time.Minute); n != 1 {
			t.Fatalf("a failure after the lapse counts %d, want 1", n)
		}
	})
	t.Run("ConcurrentFailuresAllCount", func(t *testing.T) {
		f, _ := newFailures(t)
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() { _, _ = f.RecordFailure(ctx, "c", "ip", time.Hour) })
		}
		wg.Wait()
		if n, _ := f.FailureCount(ctx, "c", "ip"); n != 100 {
			t.Fatalf("100 concurrent failures counted %d", n)
		}
	})
}
