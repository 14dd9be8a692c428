package mongo

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/mongotest"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/storagetest"
)

func TestMain(m *testing.M) { os.Exit(mongotest.Main(m)) }

// openTest opens a Store on a fresh database; the caller closes it (or RunTests does).
func openTest(t testing.TB) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, mongotest.URI(t), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storagetest.RunTests(t, func(t *testing.T) storage.Store { return openTest(t) })
}

func TestJobs(t *testing.T) {
	storagetest.RunJobs(t, func(t *testing.T) storagetest.JobStore {
		s := openTest(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestSettings(t *testing.T) {
	storagetest.RunSettings(t, func(t *testing.T) storage.Settings {
		s := openTest(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

func TestTickets(t *testing.T) {
	storagetest.RunTickets(t, func(t *testing.T) storage.Tickets {
		s := openTest(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
