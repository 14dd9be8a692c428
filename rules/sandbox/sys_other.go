//go:build !linux

package sandbox

import (
	"errors"
	"os"
	"syscall"
)

// Outside Linux there is no parent-death signal and no /proc: workers still exit when their
// standard input closes (the parent died or closed the pool), but a worker stuck in a native
// builtin lives until its deadline kill, and the RSS watchdog is off (the Go memory limit
// still applies). Deploy on Linux.

func sysProcAttr() *syscall.SysProcAttr { return nil }

func openRSS(pid int) (*os.File, error) { return nil, errors.ErrUnsupported }

func readRSS(f *os.File) (int64, bool) { return 0, false }

func protocolFiles() (in, out *os.File) { return os.Stdin, os.Stdout }

func lowerOOMPriority() {}

func pending(f *os.File) bool { return false }
