package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/storagetest"
)

func TestStorage(t *testing.T) {
	storagetest.RunTests(t, func(t *testing.T) storage.Store { return openTemp(t) })
}

func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "latch.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestJobs(t *testing.T) {
	storagetest.RunJobs(t, func(t *testing.T) storagetest.JobStore {
		s := openTemp(t)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestTickets(t *testing.T) {
	storagetest.RunTickets(t, func(t *testing.T) storage.Tickets {
		s := openTemp(t)
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestSettings(t *testing.T) {
	storagetest.RunSettings(t, func(t *testing.T) storage.Settings {
		s := openTemp(t)
		t.Cleanup(func() { s.Close() })
		return s
	})
}
