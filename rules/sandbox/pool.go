package sandbox

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchauth/latch/rules"
)

// Defaults of PoolOptions.
const (
	// DefaultMaxWorkerRSS is the resident memory at which a worker is killed.
	DefaultMaxWorkerRSS = 256 << 20
	// DefaultDeadlineSlack is how long past Limits.Pipeline a worker may take to answer
	// before it is killed. The engine enforces Pipeline itself; the slack only covers its
	// own way out (interrupting the VM, encoding the result).
	DefaultDeadlineSlack = 500 * time.Millisecond
	// DefaultPollInterval is how often a busy worker's RSS is read.
	DefaultPollInterval = 5 * time.Millisecond
	// DefaultMaxResponseBytes bounds one encoded Response.
	DefaultMaxResponseBytes = 4 << 20
	// DefaultStartTimeout bounds a worker's start, up to its ready frame.
	DefaultStartTimeout = 15 * time.Second
	// DefaultWorkerMaxStack is a worker's Go stack limit (the Go default is 1 GB): native
	// recursion that deep is a runaway script, better stopped before it eats the memory.
	DefaultWorkerMaxStack = 64 << 20
)

// Respawn backoff: a worker that dies younger than quickDeath counts as a quick death; after
// the first of a run of quick deaths, replacements wait backoffMin, doubling up to backoffMax.
const (
	quickDeath = time.Second
	backoffMin = 20 * time.Millisecond
	backoffMax = time.Second
)

// ErrClosed is returned by Run on a closed Pool.
var ErrClosed = errors.New("sandbox: pool closed")

// PoolOptions configure a Pool. Zero values take the defaults.
type PoolOptions struct {
	// Workers is the number of worker processes, each running one Request at a time.
	// Default runtime.GOMAXPROCS(0).
	Workers int
	// MaxWorkerRSS is the resident set size (bytes) above which a worker is killed with
	// SIGKILL: its request fails with Kind "memory". It is polled every PollInterval while a
	// request runs and checked once after each request; a worker can overshoot it by what it
	// allocates in one interval. Default DefaultMaxWorkerRSS (256 MiB).
	MaxWorkerRSS int64
	// WorkerMemoryLimit is the worker's Go soft memory limit (debug.SetMemoryLimit), below
	// MaxWorkerRSS so that the garbage collector works hard before the watchdog kills.
	// Default 3/4 of MaxWorkerRSS.
	WorkerMemoryLimit int64
	// WorkerGOMAXPROCS is each worker's GOMAXPROCS. A pipeline is single-threaded, so the
	// default 1 keeps a runaway worker, garbage collector included, to about one CPU.
	WorkerGOMAXPROCS int
	// WorkerMaxStack is each worker's Go stack limit in bytes; default DefaultWorkerMaxStack.
	WorkerMaxStack int
	// DeadlineSlack is added to Request.Limits.Pipeline (20 s when zero) to make the
	// deadline past which the worker is killed: the request fails with Kind "timeout".
	// Default DefaultDeadlineSlack.
	DeadlineSlack time.Duration
	// PollInterval is the RSS watchdog's period while a request runs; default 5 ms.
	PollInterval time.Duration
	// MaxResponseBytes bounds one encoded Response (a larger one fails with Kind
	// "invalid_result"); it is also what the parent may buffer per busy worker. Default 4 MiB.
	MaxResponseBytes int
	// StartTimeout bounds a worker's start; default 15 s.
	StartTimeout time.Duration
	// Logger receives the workers' standard error and the pool's own events; default
	// slog.Default().
	Logger *slog.Logger

	// Test-only: the program to start instead of os.Executable(), and settings for the test
	// worker modes.
	executable string
	test       map[string]string
}

// Stats are counters of a Pool's life.
type Stats struct {
	Workers  int    // worker processes running now
	Idle     int    // of which waiting for a request
	Requests uint64 // requests handed to a worker
	Timeouts uint64 // workers killed past their deadline
	Memory   uint64 // workers killed for their memory
	Failures uint64 // workers that crashed or answered garbage
	Recycled uint64 // workers replaced after a proper answer: after a timeout, or grown too big
	Spawned  uint64 // worker processes started, the first ones included
}

// Pool runs pipelines in supervised worker processes. It implements rules.Runner and is safe
// for concurrent use.
type Pool struct {
	opts PoolOptions
	exe  string
	log  *slog.Logger

	idle     chan *worker
	closing  chan struct{}
	spawnReq chan spawnRequest
	wg       sync.WaitGroup

	mu           sync.Mutex
	closed       bool
	live         map[*worker]struct{}
	quickDeaths  int
	lastSpawnErr error
	spawnFailed  chan struct{} // closed, and replaced, at each failed respawn

	nRequests, nTimeouts, nMemory, nFailures, nRecycled, nSpawned atomic.Uint64
}

var _ rules.Runner = (*Pool)(nil)

// NewPool starts the worker processes and waits until all are ready. The program must call
// MaybeRunWorker first thing in main (or TestMain): the workers are this same executable.
func NewPool(opts PoolOptions) (*Pool, error) {
	if os.Getenv(EnvWorker) != "" {
		return nil, errors.New("sandbox: NewPool called in a rules worker process: main (or TestMain) must call sandbox.MaybeRunWorker first thing")
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.MaxWorkerRSS <= 0 {
		opts.MaxWorkerRSS = DefaultMaxWorkerRSS
	}
	if opts.WorkerMemoryLimit <= 0 {
		opts.WorkerMemoryLimit = opts.MaxWorkerRSS / 4 * 3
	}
	if opts.WorkerGOMAXPROCS <= 0 {
		opts.WorkerGOMAXPROCS = 1
	}
	if opts.WorkerMaxStack <= 0 {
		opts.WorkerMaxStack = DefaultWorkerMaxStack
	}
	if opts.DeadlineSlack <= 0 {
		opts.DeadlineSlack = DefaultDeadlineSlack
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	exe := opts.executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("sandbox: cannot find this program's executable: %w", err)
		}
	}
	p := &Pool{
		opts:        opts,
		exe:         exe,
		log:         opts.Logger.With("component", "rules-sandbox"),
		idle:        make(chan *worker, opts.Workers),
		closing:     make(chan struct{}),
		spawnReq:    make(chan spawnRequest),
		live:        make(map[*worker]struct{}),
		spawnFailed: make(chan struct{}),
	}
	p.wg.Add(1)
	go p.spawner()

	errs := make([]error, opts.Workers)
	var wg sync.WaitGroup
	for i := range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := p.spawn()
			if err != nil {
				errs[i] = err
				return
			}
			p.idle <- w
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Run runs req in a worker process, waiting for a free worker as long as ctx allows. A
// worker that overruns the deadline or MaxWorkerRSS, crashes or answers garbage is killed and
// replaced; the request then gets an OutcomeError Response with Kind "timeout", "memory",
// "internal" or "invalid_result", not a Go error. Go errors are ctx's, ErrClosed, a pool
// whose workers cannot start, or the error the engine itself returned.
//
// Numbers in the Response's metadata writes and claims are json.Number.
func (p *Pool) Run(ctx context.Context, req rules.Request) (rules.Response, error) {
	select {
	case <-p.closing:
		return rules.Response{}, ErrClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return rules.Response{}, err
	}
	w, err := p.acquire(ctx)
	if err != nil {
		return rules.Response{}, err
	}
	p.nRequests.Add(1)
	resp, why, err := p.exchange(ctx, w, &req)
	if why != "" {
		p.retire(w, why)
	} else {
		p.release(w)
	}
	return resp, err
}

// Close kills every worker and waits until they and the pool's goroutines are gone. Runs in
// progress return ErrClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	workers := make([]*worker, 0, len(p.live))
	for w := range p.live {
		workers = append(workers, w)
	}
	p.mu.Unlock()
	if !already {
		close(p.closing)
	}
	for _, w := range workers {
		w.abandon()
	}
	p.wg.Wait()
	return nil
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	n := len(p.live)
	p.mu.Unlock()
	return Stats{
		Workers:  n,
		Idle:     len(p.idle),
		Requests: p.nRequests.Load(),
		Timeouts: p.nTimeouts.Load(),
		Memory:   p.nMemory.Load(),
		Failures: p.nFailures.Load(),
		Recycled: p.nRecycled.Load(),
		Spawned:  p.nSpawned.Load(),
	}
}

// acquire takes an idle, healthy worker.
func (p *Pool) acquire(ctx context.Context) (*worker, error) {
	for {
		var w *worker
		select {
		case w = <-p.idle:
		default:
			p.mu.Lock()
			failed, spawnErr, live := p.spawnFailed, p.lastSpawnErr, len(p.live)
			p.mu.Unlock()
			if live == 0 && spawnErr != nil {
				return nil, fmt.Errorf("sandbox: no rules worker is running: %w", spawnErr)
			}
			select {
			case w = <-p.idle:
			case <-failed:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-p.closing:
				return nil, ErrClosed
			}
		}
		if why := w.unhealthy(); why != "" {
			p.nFailures.Add(1)
			p.retire(w, why)
			continue
		}
		return w, nil
	}
}

// release returns a worker that answered properly to the idle set, unless it has grown past
// MaxWorkerRSS (its global state or heap may keep it there).
func (p *Pool) release(w *worker) {
	if rss, ok := w.rss(); ok && rss > p.opts.MaxWorkerRSS {
		p.nRecycled.Add(1)
		p.retire(w, fmt.Sprintf("resident memory %s after a request, over the limit of %s", mib(rss), mib(p.opts.MaxWorkerRSS)))
		return
	}
	p.idle <- w
}

// retire kills w and starts its replacement (after the backoff).
func (p *Pool) retire(w *worker, why string) {
	if !w.abandon() {
		return
	}
	life := time.Since(w.started)
	p.mu.Lock()
	delete(p.live, w)
	if life < quickDeath {
		p.quickDeaths++
	} else {
		p.quickDeaths = 0
	}
	delay := time.Duration(0)
	if p.quickDeaths > 1 {
		delay = backoffMax
		if shift := p.quickDeaths - 2; shift < 10 {
			delay = min(backoffMax, backoffMin<<shift)
		}
	}
	closed := p.closed
	if !closed {
		p.wg.Add(1)
	}
	p.mu.Unlock()
	p.log.Warn("rules worker stopped", "pid", w.pid, "reason", why, "lifetime", life.Round(time.Millisecond), "respawn_delay", delay)
	if !closed {
		go p.respawn(delay)
	}
}

// respawn starts one replacement worker, retrying with backoff until it works or the pool
// closes.
func (p *Pool) respawn(delay time.Duration) {
	defer p.wg.Done()
	for {
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-p.closing:
				t.Stop()
				return
			}
		}
		w, err := p.spawn()
		if err == nil {
			p.mu.Lock()
			p.lastSpawnErr = nil
			p.mu.Unlock()
			p.idle <- w
			return
		}
		if errors.Is(err, ErrClosed) {
			return
		}
		p.log.Error("cannot start a rules worker", "error", err)
		p.mu.Lock()
		p.lastSpawnErr = err
		close(p.spawnFailed)
		p.spawnFailed = make(chan struct{})
		p.mu.Unlock()
		delay = min(backoffMax, max(2*delay, backoffMin))
	}
}

// spawnRequest asks the spawner goroutine to start a process.
type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// spawner starts every worker from one goroutine locked to its OS thread for the pool's
// whole life: the parent-death signal is tied to the thread that started the child, and Go
// may otherwise end that thread while the parent lives on.
func (p *Pool) spawner() {
	defer p.wg.Done()
	runtime.LockOSThread()
	// Never unlocked: when the pool closes, the goroutine returns and the thread exits.
	for {
		select {
		case r := <-p.spawnReq:
			r.done <- r.cmd.Start()
		case <-p.closing:
			return
		}
	}
}

// spawn starts a worker and waits for its ready frame.
func (p *Pool) spawn() (*worker, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	cmd := exec.Command(p.exe, workerArg)
	cmd.Env = append(os.Environ(), EnvWorker+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	cmd.SysProcAttr = sysProcAttr()

	r := spawnRequest{cmd: cmd, done: make(chan error, 1)}
	select {
	case p.spawnReq <- r:
		err = <-r.done
	case <-p.closing:
		err = ErrClosed
	}
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		if errors.Is(err, ErrClosed) {
			return nil, err
		}
		return nil, fmt.Errorf("sandbox: cannot start a rules worker (%s): %w", p.exe, err)
	}
	p.nSpawned.Add(1)

	w := &worker{
		pid:       cmd.Process.Pid,
		cmd:       cmd,
		stdin:     inW,
		out:       outR,
		maxFrame:  p.opts.MaxResponseBytes + 64<<10, // the Response and its envelope
		started:   time.Now(),
		exited:    make(chan struct{}),
		stderrEOF: make(chan struct{}),
		log:       p.log.With("pid", cmd.Process.Pid),
	}
	w.statm, _ = openRSS(w.pid) // nil if unsupported: no watchdog
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		inW.Close()
		outR.Close()
		errR.Close()
		return nil, ErrClosed
	}
	p.live[w] = struct{}{}
	p.wg.Add(2)
	p.mu.Unlock()
	go func() { defer p.wg.Done(); w.readStderr(errR) }()
	go func() { defer p.wg.Done(); w.wait() }()

	fail := func(msg string) (*worker, error) {
		p.discard(w)
		<-w.exited
		w.waitStderr(time.Second)
		if tail := w.stderrTail(); tail != "" {
			msg += "; its standard error ended with: " + tail
		}
		return nil, errors.New("sandbox: rules worker did not start: " + msg)
	}
	cfg := &workerConfig{
		MemoryLimit:      p.opts.WorkerMemoryLimit,
		MaxStack:         p.opts.WorkerMaxStack,
		GOMAXPROCS:       p.opts.WorkerGOMAXPROCS,
		MaxResponseBytes: p.opts.MaxResponseBytes,
		Test:             p.opts.test,
	}
	_ = inW.SetWriteDeadline(time.Now().Add(p.opts.StartTimeout))
	if err := writeFrame(inW, toWorker{Type: frameConfig, Config: cfg}); err != nil {
		return fail("cannot send its configuration (" + err.Error() + "); " + hintMaybeRun)
	}
	f, err := w.readFrame(time.Now().Add(p.opts.StartTimeout))
	select {
	case <-p.closing:
		p.discard(w)
		return nil, ErrClosed
	default:
	}
	switch {
	case errors.Is(err, errNoFrameYet):
		return fail(fmt.Sprintf("no ready frame within %v", p.opts.StartTimeout))
	case err != nil:
		return fail(describeReadError(err) + "; " + hintMaybeRun)
	case f.Type != frameReady || f.Version != protocolVersion:
		return fail(fmt.Sprintf("unexpected first frame %q of protocol version %d, want %q of version %d", f.Type, f.Version, frameReady, protocolVersion))
	case f.Err != "":
		return fail(f.Err)
	}
	return w, nil
}

const hintMaybeRun = "does this program's main (or TestMain) call sandbox.MaybeRunWorker first thing?"

// discard kills a worker that is not to be replaced.
func (p *Pool) discard(w *worker) {
	w.abandon()
	p.mu.Lock()
	delete(p.live, w)
	p.mu.Unlock()
}

// exchange sends req to w and waits for the answer under the deadline and the RSS watchdog.
// why is non-empty when the worker must be replaced.
func (p *Pool) exchange(ctx context.Context, w *worker, req *rules.Request) (resp rules.Response, why string, err error) {
	start := time.Now()
	pipeline := req.Limits.Pipeline
	if pipeline <= 0 {
		pipeline = rules.DefaultLimits().Pipeline
	}
	budget := pipeline + p.opts.DeadlineSlack
	deadline := start.Add(budget)

	w.lastID++
	id := w.lastID
	f := toWorker{Type: frameRun, ID: id, Request: req}
	if dl, ok := ctx.Deadline(); ok {
		f.Deadline = dl.UnixNano()
	}
	_ = w.stdin.SetWriteDeadline(deadline)
	if err := writeFrame(w.stdin, f); err != nil {
		p.nFailures.Add(1)
		msg := "cannot send the request to the rules worker process: " + err.Error()
		return *errorResponse(req, "internal", msg, time.Since(start)), msg, nil
	}

	// Wait for the answer, looking around every PollInterval: the worker's memory, the
	// deadline, the caller's context, the pool.
	killAt := deadline
	canceled := false
	for {
		wake := time.Now().Add(p.opts.PollInterval)
		if killAt.Before(wake) {
			wake = killAt
		}
		f, err := w.readFrame(wake)
		if err == nil {
			if f.Type != frameResult || f.ID != id || (f.Response == nil && f.Err == "") {
				w.kill()
				p.nFailures.Add(1)
				msg := fmt.Sprintf("the rules worker process sent an unexpected %q frame (id %d, want a result for %d); it was stopped", f.Type, f.ID, id)
				return *errorResponse(req, "internal", msg, time.Since(start)), msg, nil
			}
			if f.Retire {
				p.nRecycled.Add(1)
				why = "the worker asked to be replaced after this request"
			}
			if f.Err != "" {
				return rules.Response{}, why, remoteError(ctx, f)
			}
			return *f.Response, why, nil
		}
		if !errors.Is(err, errNoFrameYet) {
			w.kill()
			return p.readFailure(w, req, err, start)
		}

		select {
		case <-p.closing:
			w.kill()
			return rules.Response{}, "pool closed", ErrClosed
		default:
		}
		if rss, ok := w.rss(); ok && rss > p.opts.MaxWorkerRSS {
			w.kill()
			p.nMemory.Add(1)
			msg := fmt.Sprintf("the rules used too much memory: their worker process reached %s of resident memory, over the limit of %s, and was stopped",
				mib(rss), mib(p.opts.MaxWorkerRSS))
			return *errorResponse(req, "memory", msg, time.Since(start)), msg, nil
		}
		now := time.Now()
		if !now.Before(killAt) {
			w.kill()
			if canceled { // the caller's context ended and the worker did not answer the cancel
				p.nFailures.Add(1)
				return rules.Response{}, "no answer to a cancellation", ctx.Err()
			}
			p.nTimeouts.Add(1)
			msg := fmt.Sprintf("the rules did not finish within the pipeline's limit of %v (and %v of grace); their worker process was stopped",
				pipeline, p.opts.DeadlineSlack)
			return *errorResponse(req, "timeout", msg, time.Since(start)), msg, nil
		}
		if !canceled && ctx.Err() != nil {
			// Tell the worker, and give it the slack to answer.
			canceled = true
			_ = writeFrame(w.stdin, toWorker{Type: frameCancel, ID: id})
			if grace := now.Add(p.opts.DeadlineSlack); grace.Before(killAt) {
				killAt = grace
			}
		}
	}
}

// readFailure turns the end of a worker's output into a Response.
func (p *Pool) readFailure(w *worker, req *rules.Request, err error, start time.Time) (rules.Response, string, error) {
	select {
	case <-p.closing:
		return rules.Response{}, "pool closed", ErrClosed
	default:
	}
	var tooLarge errFrameTooLarge
	if errors.As(err, &tooLarge) {
		p.nFailures.Add(1)
		msg := fmt.Sprintf("the scripts' result is too large: %d bytes encoded, over the limit of %d", tooLarge.n, tooLarge.max)
		return *errorResponse(req, "invalid_result", msg, time.Since(start)), msg, nil
	}
	kind := "internal"
	var msg string
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// It died: say how, with the last words of its standard error.
		select {
		case <-w.exited:
		case <-time.After(time.Second):
		}
		w.waitStderr(time.Second)
		msg = "the rules worker process exited unexpectedly (" + w.exitStatus() + ")"
		if tail := w.stderrTail(); tail != "" {
			msg += ": " + tail
			if isMemoryDeath(tail) {
				kind = "memory"
			}
		}
	} else {
		msg = "the rules worker process sent an invalid reply (" + err.Error() + "); it was stopped"
	}
	if kind == "memory" {
		p.nMemory.Add(1)
	} else {
		p.nFailures.Add(1)
	}
	return *errorResponse(req, kind, msg, time.Since(start)), msg, nil
}

// mib formats a byte count in MiB.
func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// isMemoryDeath says whether a worker's last words are the Go runtime running out of memory
// or stack.
func isMemoryDeath(stderr string) bool {
	for _, s := range []string{"out of memory", "stack overflow", "stack exceeds"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// workerError is an error the engine returned in a worker.
type workerError struct {
	msg   string
	cause error // context.Canceled or context.DeadlineExceeded, or nil
}

func (e *workerError) Error() string { return e.msg }
func (e *workerError) Unwrap() error { return e.cause }

func remoteError(ctx context.Context, f fromWorker) error {
	e := &workerError{msg: f.Err}
	switch f.ErrCause {
	case "canceled":
		e.cause = context.Canceled
	case "deadline":
		e.cause = context.DeadlineExceeded
	}
	if e.cause != nil && ctx.Err() != nil && e.msg == e.cause.Error() {
		return ctx.Err()
	}
	return e
}

// worker is the pool's side of one worker process. Its pipes and buffer belong to the
// goroutine that holds it (the one running a request on it, or spawn).
type worker struct {
	pid      int
	cmd      *exec.Cmd
	stdin    *os.File
	out      *os.File // the worker's stdout: frames
	rbuf     []byte   // what was read from out and not yet decoded
	maxFrame int
	statm    *os.File // /proc/<pid>/statm
	started  time.Time
	lastID   uint64
	log      *slog.Logger

	exited  chan struct{} // closed when the process has been reaped
	exitErr error         // set before exited is closed

	abandonMu sync.Mutex
	gone      bool

	stderrMu   sync.Mutex
	stderrLast []string // the last lines
	stderrKey  []string // the first lines of a Go crash
	stderrEOF  chan struct{}
}

// kill stops the process at once (SIGKILL); the pool's bookkeeping is retire's.
func (w *worker) kill() { _ = w.cmd.Process.Kill() }

// abandon kills the process and closes the pool's ends of its pipes; it reports whether this
// call did it.
func (w *worker) abandon() bool {
	w.abandonMu.Lock()
	defer w.abandonMu.Unlock()
	if w.gone {
		return false
	}
	w.gone = true
	w.kill()
	w.stdin.Close()
	w.out.Close()
	if w.statm != nil {
		w.statm.Close()
	}
	return true
}

// unhealthy says why an idle worker cannot take a request, or "".
func (w *worker) unhealthy() string {
	select {
	case <-w.exited:
		return "exited while idle (" + w.exitStatus() + ")"
	default:
	}
	if len(w.rbuf) > 0 || pending(w.out) {
		return "wrote out of turn while idle"
	}
	return ""
}

// errNoFrameYet says that the deadline came before a whole frame.
var errNoFrameYet = errors.New("no frame yet")

// readFrame returns the worker's next frame, waiting at most until deadline (then
// errNoFrameYet; what was read of a frame stays buffered for the next call).
func (w *worker) readFrame(deadline time.Time) (fromWorker, error) {
	for {
		if f, ok, err := w.bufferedFrame(); ok || err != nil {
			return f, err
		}
		_ = w.out.SetReadDeadline(deadline)
		if len(w.rbuf) == cap(w.rbuf) {
			w.rbuf = slices.Grow(w.rbuf, 64<<10)
		}
		n, err := w.out.Read(w.rbuf[len(w.rbuf):cap(w.rbuf)])
		w.rbuf = w.rbuf[:len(w.rbuf)+n]
		if n == 0 && err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return fromWorker{}, errNoFrameYet
			}
			return fromWorker{}, err
		}
	}
}

// bufferedFrame decodes the frame at the start of rbuf, if it is all there.
func (w *worker) bufferedFrame() (f fromWorker, ok bool, err error) {
	if len(w.rbuf) < 4 {
		return f, false, nil
	}
	n := int(binary.BigEndian.Uint32(w.rbuf))
	if n > w.maxFrame {
		return f, false, errFrameTooLarge{uint64(n), uint64(w.maxFrame)}
	}
	if len(w.rbuf) < 4+n {
		w.rbuf = slices.Grow(w.rbuf, 4+n-len(w.rbuf)) // room for all of it
		return f, false, nil
	}
	err = decodeFrame(w.rbuf[4:4+n], &f)
	w.rbuf = w.rbuf[:copy(w.rbuf, w.rbuf[4+n:])]
	if cap(w.rbuf) > 256<<10 { // do not keep a large frame's buffer
		w.rbuf = append([]byte(nil), w.rbuf...)
	}
	return f, err == nil, err
}

// Bounds on what a worker's standard error may put in the log.
const (
	maxStderrLine  = 4 << 10
	maxStderrLines = 2000
	stderrTailLen  = 6
)

func (w *worker) readStderr(r *os.File) {
	defer close(w.stderrEOF)
	defer r.Close()
	br := bufio.NewReaderSize(r, maxStderrLine)
	logged := 0
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			s := strings.TrimRight(string(line), "\r\n")
			if err == bufio.ErrBufferFull {
				s += " [line cut]"
				// Skip the rest of the line.
				for err == bufio.ErrBufferFull {
					_, err = br.ReadSlice('\n')
				}
			}
			w.stderrMu.Lock()
			if len(w.stderrKey) < stderrTailLen && (strings.HasPrefix(s, "fatal error:") || strings.HasPrefix(s, "panic:") || strings.HasPrefix(s, "runtime: ")) {
				w.stderrKey = append(w.stderrKey, s)
			}
			w.stderrLast = append(w.stderrLast, s)
			if len(w.stderrLast) > stderrTailLen {
				w.stderrLast = w.stderrLast[1:]
			}
			w.stderrMu.Unlock()
			switch {
			case logged < maxStderrLines:
				w.relay(s)
			case logged == maxStderrLines:
				w.log.Warn("rules worker: too much output on standard error; the rest is dropped")
			}
			logged++
		}
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
	}
}

// relay logs one line of the worker's standard error: a JSON record of the worker's own
// logger keeps its level, message and attributes; anything else is logged as a warning.
func (w *worker) relay(line string) {
	if strings.HasPrefix(line, "{") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil {
			msg, _ := rec[slog.MessageKey].(string)
			var level slog.Level
			if s, ok := rec[slog.LevelKey].(string); ok && level.UnmarshalText([]byte(s)) == nil {
				delete(rec, slog.TimeKey)
				delete(rec, slog.LevelKey)
				delete(rec, slog.MessageKey)
				attrs := make([]any, 0, 2*len(rec))
				for k, v := range rec {
					attrs = append(attrs, k, v)
				}
				w.log.Log(context.Background(), level, "rules worker: "+msg, attrs...)
				return
			}
		}
	}
	w.log.Warn("rules worker: " + line)
}

// waitStderr waits until the worker's standard error is read to its end, at most d.
func (w *worker) waitStderr(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.stderrEOF:
	case <-t.C:
	}
}

// stderrTail is what the worker's standard error says of its end: the Go runtime's
// "fatal error:", "panic:" and "runtime:" lines if there are any, else its last lines.
func (w *worker) stderrTail() string {
	w.stderrMu.Lock()
	defer w.stderrMu.Unlock()
	if len(w.stderrKey) > 0 {
		return strings.Join(w.stderrKey, " | ")
	}
	return strings.Join(w.stderrLast, " | ")
}

// rss reads the worker's resident set size.
func (w *worker) rss() (int64, bool) {
	if w.statm == nil {
		return 0, false
	}
	return readRSS(w.statm)
}

func (w *worker) wait() {
	w.exitErr = w.cmd.Wait()
	close(w.exited)
}

func (w *worker) exitStatus() string {
	select {
	case <-w.exited:
	default:
		return "still running"
	}
	if w.exitErr == nil {
		return "exit status 0"
	}
	return w.exitErr.Error()
}

func describeReadError(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "its output ended"
	}
	return err.Error()
}

// pids lists the running workers' process ids.
func (p *Pool) pids() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	pids := make([]int, 0, len(p.live))
	for w := range p.live {
		pids = append(pids, w.pid)
	}
	return pids
}
