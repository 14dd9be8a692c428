package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrInUse: another Store (in this process or another) has the database open. The Store
// keeps in-memory state that is only right while it is the file's only writer (see
// userCache), so two of them on one file are refused rather than allowed to drift.
var ErrInUse = errors.New("sqlite: the database is in use by another latch instance")

// lockFile takes an exclusive, non-blocking flock on path+".lock". The kernel releases it
// when the process dies, so a crash never leaves a stale lock behind.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrInUse, path)
		}
		return nil, fmt.Errorf("sqlite: lock %s: %w", path, err)
	}
	return f, nil
}
