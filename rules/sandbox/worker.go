package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchauth/latch/rules"
)

// EnvWorker is the environment variable that turns a process into a rules worker: the pool
// sets it to "1" when it starts the executable again, and MaybeRunWorker looks for it.
const EnvWorker = "LATCH_RULES_WORKER"

// workerArg is the one argument a worker is started with. It does nothing in a worker; in a
// program whose main forgot to call MaybeRunWorker, it is an unknown flag that makes the
// program stop at once instead of running a second copy of itself (a server, or a test binary
// that would start pools of its own).
const workerArg = "-latch-rules-worker"

// MaybeRunWorker runs the worker loop and exits the process if this process was started as a
// rules worker by a Pool (EnvWorker is set); otherwise it returns at once and does nothing.
//
// Every program that creates a Pool must call it first thing in main, and every test binary
// that creates one first thing in TestMain, before flags are parsed or anything is printed:
//
//	func main() {
//		sandbox.MaybeRunWorker()
//		...
//	}
//
//	func TestMain(m *testing.M) {
//		sandbox.MaybeRunWorker()
//		os.Exit(m.Run())
//	}
func MaybeRunWorker() {
	if os.Getenv(EnvWorker) != "1" {
		return
	}
	os.Exit(runWorker())
}

// newWorkerRunner builds the Runner a worker serves, once per worker process. Tests swap it
// for a fake in worker processes they start in a test mode.
var newWorkerRunner = newEngineRunner

// ignoreEOF keeps a worker alive past the end of its stdin (tests of the parent-death signal).
var ignoreEOF atomic.Bool

// workerOut is the worker's end of the protocol (tests write garbage to it).
var workerOut *os.File

func runWorker() int {
	inFile, out := protocolFiles()
	workerOut = out
	in := bufio.NewReaderSize(inFile, 64<<10)
	var cfg toWorker
	if err := readFrame(in, maxFrame, &cfg); err != nil || cfg.Type != frameConfig || cfg.Config == nil {
		fmt.Fprintf(os.Stderr, "rules worker: no configuration from the pool (%v); exiting\n", err)
		return 2
	}
	c := cfg.Config
	if c.MemoryLimit > 0 {
		debug.SetMemoryLimit(c.MemoryLimit)
	}
	if c.MaxStack > 0 {
		debug.SetMaxStack(c.MaxStack)
	}
	if c.GOMAXPROCS > 0 {
		runtime.GOMAXPROCS(c.GOMAXPROCS)
	}
	lowerOOMPriority()

	runner, err := newWorkerRunner(c)
	if err != nil {
		_ = writeFrame(out, fromWorker{Type: frameReady, Version: protocolVersion, Err: err.Error()})
		return 1
	}
	if err := writeFrame(out, fromWorker{Type: frameReady, Version: protocolVersion}); err != nil {
		return 1
	}

	var (
		mu        sync.Mutex
		currentID uint64
		cancel    context.CancelFunc
	)
	runs := make(chan toWorker, 1)
	go func() {
		for {
			var f toWorker
			if err := readFrame(in, maxFrame, &f); err != nil {
				// The pool closed our stdin or died: nothing more to do, even mid-run.
				if ignoreEOF.Load() {
					select {} // a test's stand-in for a worker that cannot notice
				}
				os.Exit(0)
			}
			switch f.Type {
			case frameRun:
				runs <- f
			case frameCancel:
				mu.Lock()
				if f.ID == currentID && cancel != nil {
					cancel()
				}
				mu.Unlock()
			}
		}
	}()

	for f := range runs {
		// The caller's context, as far as it can cross: its deadline, and its cancellation
		// by a cancel frame.
		var ctx context.Context
		var cancelRun context.CancelFunc
		if f.Deadline != 0 {
			ctx, cancelRun = context.WithDeadline(context.Background(), time.Unix(0, f.Deadline))
		} else {
			ctx, cancelRun = context.WithCancel(context.Background())
		}
		mu.Lock()
		currentID, cancel = f.ID, cancelRun
		mu.Unlock()

		reply, retire := serve(ctx, runner, f, c.MaxResponseBytes)

		mu.Lock()
		currentID, cancel = 0, nil
		mu.Unlock()
		cancelRun()

		if err := writeRaw(out, reply); err != nil {
			return 1
		}
		if retire {
			return 0
		}
	}
	return 0
}

// serve runs one request and returns the encoded result frame. It never fails: a panic, a
// result that cannot be encoded or is too large all become error Responses.
func serve(ctx context.Context, runner rules.Runner, f toWorker, maxBytes int) (data []byte, retire bool) {
	start := time.Now()
	reply := fromWorker{Type: frameResult, ID: f.ID}
	func() {
		defer func() {
			if p := recover(); p != nil {
				fmt.Fprintf(os.Stderr, "rules worker: panic while running a pipeline: %v\n%s", p, debug.Stack())
				reply.Response = errorResponse(f.Request, "internal", fmt.Sprintf("the rule engine failed: %v", p), time.Since(start))
				reply.Err, reply.ErrCause = "", ""
				reply.Retire = true
			}
		}()
		var req rules.Request
		if f.Request != nil {
			req = *f.Request
		}
		resp, err := runner.Run(ctx, req)
		if err != nil {
			reply.Err = err.Error()
			switch {
			case errors.Is(err, context.DeadlineExceeded):
				reply.ErrCause = "deadline"
			case errors.Is(err, context.Canceled):
				reply.ErrCause = "canceled"
			}
			return
		}
		reply.Response = &resp
		// The engine gives up on a script stuck in a native builtin (a catastrophic regular
		// expression, say) and answers without it, leaving its goroutine running: a worker
		// that saw a timeout is replaced rather than trusted with the next request.
		if resp.Outcome == rules.OutcomeError && resp.Error != nil && resp.Error.Kind == "timeout" {
			reply.Retire = true
		}
	}()

	data, err := json.Marshal(reply)
	if err != nil {
		reply.Err, reply.ErrCause = "", ""
		reply.Response = errorResponse(f.Request, "invalid_result",
			"the scripts' result cannot be encoded: "+err.Error(), time.Since(start))
		data, _ = json.Marshal(reply)
	} else if maxBytes > 0 && len(data) > maxBytes {
		reply.Response = errorResponse(f.Request, "invalid_result",
			fmt.Sprintf("the scripts' result is too large: %d bytes encoded, over the limit of %d", len(data), maxBytes), time.Since(start))
		data, _ = json.Marshal(reply)
	}
	return data, reply.Retire
}

// errorResponse is an OutcomeError Response of kind for req. The script is named when the
// request has only one, as the failure can only be that one's.
func errorResponse(req *rules.Request, kind, msg string, d time.Duration) *rules.Response {
	e := &rules.ScriptError{Kind: kind, Message: msg}
	if req != nil && len(req.Scripts) == 1 {
		e.ScriptID, e.Name = req.Scripts[0].ID, req.Scripts[0].Name
	}
	return &rules.Response{Outcome: rules.OutcomeError, Error: e, Timings: []rules.ScriptTiming{}, Duration: d}
}
