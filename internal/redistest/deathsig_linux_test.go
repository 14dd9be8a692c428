package redistest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A test binary that dies without running its cleanups (killed, as by go test's -timeout)
// takes its servers with it.
func TestServerDiesWithBinary(t *testing.T) {
	needBinary(t)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	pid := 0
	lines := bufio.NewScanner(out)
	for pid == 0 && lines.Scan() {
		if n, ok := strings.CutPrefix(lines.Text(), "PID "); ok {
			pid, _ = strconv.Atoi(n)
		}
		if dir, ok := strings.CutPrefix(lines.Text(), "DIR "); ok {
			t.Cleanup(func() { os.RemoveAll(dir) })
		}
	}
	if pid == 0 {
		_ = child.Process.Kill()
		_ = child.Wait()
		t.Fatal("the child did not start a server")
	}
	if !alive(pid) {
		t.Fatalf("server %d is not running while its binary is", pid)
	}
	_ = child.Process.Kill()
	_ = child.Wait()

	deadline := time.Now().Add(30 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("server %d still runs after its test binary was killed", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive says whether pid runs (a zombie, dead but not yet reaped, does not).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...: comm may hold spaces, the state follows its last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
