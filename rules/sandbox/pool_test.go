package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
)

// logBuffer collects what the pool logs.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newFakePool starts a pool of fake workers, closed at the end of the test.
func newFakePool(t *testing.T, opts PoolOptions) (*Pool, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(logs, testWriter{t}), nil))
	}
	opts.test = map[string]string{"mode": "fake"}
	if opts.DeadlineSlack == 0 {
		opts.DeadlineSlack = 300 * time.Millisecond
	}
	p, err := NewPool(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, logs
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func wantError(t *testing.T, resp rules.Response, err error, kind, msgPart string) {
	t.Helper()
	if err != nil {
		t.Fatalf("Run error %v, want a Response of kind %q", err, kind)
	}
	if resp.Outcome != rules.OutcomeError || resp.Error == nil {
		t.Fatalf("Response %+v, want outcome %q", resp, rules.OutcomeError)
	}
	if resp.Error.Kind != kind || !strings.Contains(resp.Error.Message, msgPart) {
		t.Fatalf("error kind %q message %q, want kind %q with %q", resp.Error.Kind, resp.Error.Message, kind, msgPart)
	}
}

func runOK(t *testing.T, p *Pool) rules.Response {
	t.Helper()
	resp, err := p.Run(context.Background(), fakeReq("ok", 2*time.Second))
	if err != nil || resp.Outcome != rules.OutcomeOK {
		t.Fatalf("ok run: %+v, %v", resp, err)
	}
	return resp
}

func TestRoundTripKeepsNumbersExact(t *testing.T) {
	p, _ := newFakePool(t, PoolOptions{Workers: 1})
	req := fakeReq("ok", time.Second)
	req.User = storage.User{ID: "auth0|1", AppMetadata: storage.Metadata{
		"big":    json.Number("12345678901234567890"),
		"float":  json.Number("0.1"),
		"nested": map[string]any{"n": json.Number("1000000")},
	}}
	resp, err := p.Run(context.Background(), req)
	if err != nil || resp.Outcome != rules.OutcomeOK {
		t.Fatalf("Run = %+v, %v", resp, err)
	}
	patch := resp.MetadataWrites[0].Patch
	if patch["big"] != json.Number("12345678901234567890") || patch["float"] != json.Number("0.1") ||
		patch["nested"].(map[string]any)["n"] != json.Number("1000000") {
		t.Errorf("patch = %#v, numbers not exact", patch)
	}
	// One engine per worker: its state persists from run to run.
	if runs := resp.IDTokenClaims["runs"]; runs != json.Number("1") {
		t.Errorf("runs = %v, want 1", runs)
	}
	if runs := runOK(t, p).IDTokenClaims["runs"]; runs != json.Number("2") {
		t.Errorf("runs = %v, want 2", runs)
	}
}

func TestTimeoutKillsAndReplaces(t *testing.T) {
	p, _ := newFakePool(t, PoolOptions{Workers: 1})
	pid := claimPID(t, runOK(t, p))
	start := time.Now()
	resp, err := p.Run(context.Background(), fakeReq("sleep 1h", 200*time.Millisecond))
	took := time.Since(start)
	wantError(t, resp, err, "timeout", "limit of 200ms")
	if resp.Error.ScriptID != "rul_1" {
		t.Errorf("script id %q, want rul_1", resp.Error.ScriptID)
	}
	if took < 200*time.Millisecond || took > 2*time.Second {
		t.Errorf("took %v, want the pipeline limit and the slack (500ms)", took)
	}
	if !gone(pid) {
		t.Errorf("the stuck worker %d still runs", pid)
	}
	if pid2 := claimPID(t, runOK(t, p)); pid2 == pid {
		t.Errorf("same worker pid %d after a kill", pid)
	}
	if s := p.Stats(); s.Timeouts != 1 || s.Spawned != 2 || s.Workers != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestMemoryKill(t *testing.T) {
	const limit = 96 << 20
	p, _ := newFakePool(t, PoolOptions{Workers: 1, MaxWorkerRSS: limit})
	pid := claimPID(t, runOK(t, p))
	peak := watchRSS(t, pid)
	start := time.Now()
	resp, err := p.Run(context.Background(), fakeReq("alloc", 10*time.Second))
	wantError(t, resp, err, "memory", "over the limit of 96 MiB")
	t.Logf("killed after %v; peak RSS sampled %d MiB", time.Since(start), peak()>>20)
	if got := peak(); got > limit+rssOvershoot {
		t.Errorf("worker peak RSS %d MiB, over the limit %d MiB + overshoot %d MiB", got>>20, limit>>20, rssOvershoot>>20)
	}
	runOK(t, p)
}

func TestCrashes(t *testing.T) {
	p, _ := newFakePool(t, PoolOptions{Workers: 1, WorkerMaxStack: 8 << 20})
	for _, tc := range []struct{ cmd, kind, msg string }{
		{"exit 3", "internal", "exit status 3"},
		{"fatal", "internal", "fatal error: sync: unlock of unlocked mutex"},
		{"recurse", "memory", "stack"},
		{"garbage", "internal", "invalid reply"},
		{"panic", "internal", "fake engine bug"},
		{"big", "invalid_result", "too large"},
		{"nan", "invalid_result", "cannot be encoded"},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			resp, err := p.Run(context.Background(), fakeReq(tc.cmd, 5*time.Second))
			wantError(t, resp, err, tc.kind, tc.msg)
			runOK(t, p)
		})
	}
}

func TestStrayFrameWhileIdle(t *testing.T) {
	p, _ := newFakePool(t, PoolOptions{Workers: 1})
	resp, err := p.Run(context.Background(), fakeReq("extra", time.Second))
	if err != nil || resp.Outcome != rules.OutcomeOK {
		t.Fatalf("Run = %+v, %v", resp, err)
	}
	time.Sleep(200 * time.Millisecond)
	runOK(t, p) // the misbehaving worker is replaced, not handed this request
	if s := p.Stats(); s.Failures != 1 {
		t.Errorf("stats %+v, want 1 failure", s)
	}
}

func TestStdoutAndStderrGoToTheLog(t *testing.T) {
	p, logs := newFakePool(t, PoolOptions{Workers: 1})
	resp, err := p.Run(context.Background(), fakeReq("stdout", time.Second))
	if err != nil || resp.Outcome != rules.OutcomeOK {
		t.Fatalf("Run = %+v, %v", resp, err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !(strings.Contains(logs.String(), "printed on stdout") && strings.Contains(logs.String(), "printed on stderr")) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks the worker's output:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	runOK(t, p)
}

func TestEngineErrorsAndCancellation(t *testing.T) {
	p, _ := newFakePool(t, PoolOptions{Workers: 1})
	pid := claimPID(t, runOK(t, p))

	if _, err := p.Run(context.Background(), fakeReq("error", time.Second)); err == nil || err.Error() != "engine says no" {
		t.Errorf("err = %v, want the engine's", err)
	}

	// A cancellation reaches the engine, which stops: the worker is kept.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := p.Run(ctx, fakeReq("sleepctx 1h", 5*time.Second)); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if _, err := p.Run(ctx, fakeReq("sleepctx 1h", 5*time.Second)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if got := claimPID(t, runOK(t, p)); got != pid {
		t.Errorf("worker replaced after a cancellation it obeyed")
	}

	// A worker deaf to the cancellation is killed after the slack.
	ctx, cancel3 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel3()
	start := time.Now()
	if _, err := p.Run(ctx, fakeReq("sleep 1h", 5*time.Second)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
	if !gone(pid) {
		t.Errorf("deaf worker still alive")
	}
	runOK(t, p)
}

func TestWaitsForAFreeWorker(t *testing.T) {
	p, _ := newFakePool(t, PoolOptions{Workers: 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(context.Background(), fakeReq("sleepctx 400ms", 5*time.Second))
	}()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Run(ctx, fakeReq("ok", time.Second)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want to time out waiting", err)
	}
	start := time.Now()
	runOK(t, p)
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("did not wait for the busy worker (%v)", took)
	}
	<-done
}

func TestIdleWorkerKilledFromOutside(t *testing.T) {
	p, _ := newFakePool(t, PoolOptions{Workers: 1})
	pid := claimPID(t, runOK(t, p))
	syscall.Kill(pid, syscall.SIGKILL)
	time.Sleep(100 * time.Millisecond)
	if got := claimPID(t, runOK(t, p)); got == pid {
		t.Errorf("dead worker reused")
	}
}

func TestCloseLeavesNoChildren(t *testing.T) {
	p, _ := newFakePool(t, PoolOptions{Workers: 3})
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := p.Run(context.Background(), fakeReq("sleep 1h", 30*time.Second))
			errs <- err
		}()
	}
	time.Sleep(200 * time.Millisecond)
	pids := p.pids()
	if len(pids) != 3 {
		t.Fatalf("pids %v", pids)
	}
	p.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("in-flight Run returned %v, want ErrClosed", err)
		}
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("worker %d survives Close", pid)
		}
	}
	if kids := childProcesses(t); len(kids) != 0 {
		t.Errorf("child processes after Close: %v", kids)
	}
	if _, err := p.Run(context.Background(), fakeReq("ok", time.Second)); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v", err)
	}
}

func TestWorkersDieWithTheParent(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envOrphanParent+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("parent said %q, %v", line, err)
	}
	var pids []int
	for _, f := range strings.Fields(line) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("parent said %q", line)
		}
		pids = append(pids, pid)
	}
	if len(pids) != 2 {
		t.Fatalf("parent said %q, want two pids", line)
	}
	cmd.Process.Kill() // SIGKILL: no chance to close its pool
	cmd.Wait()
	for _, pid := range pids {
		if !gone(pid) {
			t.Errorf("worker %d outlived its parent", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func TestProgramWithoutMaybeRunWorker(t *testing.T) {
	_, err := NewPool(PoolOptions{Workers: 1, executable: "/bin/true", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "MaybeRunWorker") {
		t.Fatalf("err = %v", err)
	}
	if kids := childProcesses(t); len(kids) != 0 {
		t.Errorf("child processes after a failed NewPool: %v", kids)
	}
}

// alive says whether process pid exists (a zombie counts as gone: the pool reaps its
// workers, so a zombie of ours is a bug caught by childProcesses).
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(data), ") ")
	return !strings.HasPrefix(after, "Z") && !strings.HasPrefix(after, "X")
}

// processRSS returns the resident set size of process pid in bytes.
func processRSS(pid int) (int64, bool) {
	f, err := openRSS(pid)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	return readRSS(f)
}

// gone waits until process pid is gone (SIGKILL is delivered asynchronously), at most 2 s.
func gone(pid int) bool {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if !alive(pid) {
			return true
		}
	}
	return false
}

// childProcesses lists this process's children, zombies included, but not the `go`
// subprocesses of other tests.
func childProcesses(t *testing.T) []int {
	t.Helper()
	var kids []int
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile("/proc/self/task/" + e.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			pid, _ := strconv.Atoi(f)
			kids = append(kids, pid)
		}
	}
	return kids
}

// rssOvershoot is how far past MaxWorkerRSS a worker's sampled RSS may go: what it can
// allocate between two watchdog polls (5 ms), with room for a loaded test machine.
const rssOvershoot = 64 << 20

// watchRSS samples pid's RSS every millisecond until the test ends; peak returns the highest.
func watchRSS(t *testing.T, pid int) (peak func() int64) {
	return watchRSSOf(t, func() []int { return []int{pid} })
}

func watchRSSOf(t *testing.T, pids func() []int) (peak func() int64) {
	var mu sync.Mutex
	var max int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			for _, pid := range pids() {
				if rss, ok := processRSS(pid); ok {
					mu.Lock()
					max = maxInt(max, rss)
					mu.Unlock()
				}
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return func() int64 {
		mu.Lock()
		defer mu.Unlock()
		return max
	}
}

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
