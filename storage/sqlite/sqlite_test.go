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
