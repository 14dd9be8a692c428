//go:build linux

package sandbox

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"
)

// sysProcAttr makes a worker die with the parent: the kernel sends it SIGKILL when the thread
// that started it exits (the pool starts workers from one goroutine locked to its thread for
// the pool's whole life, so that thread exits only when the pool closes or the process dies).
// Setpgid keeps a terminal's Ctrl-C from reaching the workers directly: they stop with the
// parent, not before it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

var pageSize = int64(os.Getpagesize())

// openRSS opens /proc/<pid>/statm, whose second field is the same counter as VmRSS in
// /proc/<pid>/status, and cheaper to read. Kept open, it is read again with one pread: no
// path lookup, and no risk of reading another process that reused the pid.
func openRSS(pid int) (*os.File, error) {
	return os.Open("/proc/" + strconv.Itoa(pid) + "/statm")
}

// readRSS reads a file from openRSS.
func readRSS(f *os.File) (int64, bool) {
	var buf [128]byte
	n, err := f.ReadAt(buf[:], 0)
	if n == 0 || (err != nil && err != io.EOF) {
		return 0, false
	}
	fields := bytes.Fields(buf[:n])
	if len(fields) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * pageSize, true
}

// protocolFiles returns the worker's ends of the protocol: its standard input, and its
// original standard output, while file descriptor 1 is pointed at standard error so that
// anything else in the process that prints to stdout lands in the parent's log instead of
// corrupting the frames.
//
// Standard input is made non-blocking, so that the goroutine reading it waits in Go's network
// poller: blocked in a read system call, it would keep the worker's only P (GOMAXPROCS 1)
// while the goroutine it just handed a request to waits for the runtime's monitor to take
// that P back (tens of microseconds to milliseconds; it halved the round trip).
func protocolFiles() (in, out *os.File) {
	in, out = os.Stdin, os.Stdout
	if syscall.SetNonblock(0, true) == nil {
		in = os.NewFile(0, "protocol-in")
	}
	fd, err := syscall.Dup(1)
	if err != nil {
		return in, out
	}
	syscall.CloseOnExec(fd)
	if err := syscall.Dup3(2, 1, 0); err != nil {
		syscall.Close(fd)
		return in, out
	}
	return in, os.NewFile(uintptr(fd), "protocol-out")
}

// lowerOOMPriority asks the kernel's OOM killer to pick this worker before anything else
// (raising one's own oom_score_adj needs no privilege).
func lowerOOMPriority() {
	_ = os.WriteFile("/proc/self/oom_score_adj", []byte("1000"), 0)
}

// pending says whether there is something to read on f now, without waiting (it consumes a
// byte if so: for a worker that is about to be killed).
func pending(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	_ = f.SetReadDeadline(time.Time{})
	var buf [1]byte
	n := 0
	_ = rc.Read(func(fd uintptr) bool {
		n, _ = syscall.Read(int(fd), buf[:])
		return true
	})
	return n > 0
}
