package rules

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// Why a script was stopped. They are the values passed to vm.Interrupt.
var (
	errScriptTimeout   = errors.New("the script ran out of time")
	errPipelineTimeout = errors.New("the pipeline ran out of time")
	errCanceled        = errors.New("the pipeline was canceled")
)

// stuckGrace is how long a script may keep running after its deadline before Run gives up on
// it: vm.Interrupt is only seen between JS instructions, so a script inside a slow native
// builtin (a catastrophic regex, say) keeps its goroutine until the builtin returns.
const stuckGrace = 500 * time.Millisecond

// watchdog stops the script that is running when its time is up or the pipeline's context
// ends: it interrupts the VM (JS code stops at its next instruction) and wakes the event
// loop (a script waiting for a timer or a response stops waiting). If the VM does not come
// back within stuckGrace, it closes stuck and Run returns without it.
type watchdog struct {
	vm *goja.Runtime

	mu    sync.Mutex
	armed bool
	gen   int // counts arm calls: a timer from an earlier script must not fire

	timer          *time.Timer
	scriptReason   error // set when the current script's time is up; reset by arm
	pipelineReason error // set when the pipeline's context ends; sticky

	wake      chan struct{}
	stuck     chan struct{}
	stuckOnce sync.Once
	inJS      atomic.Int32 // depth of calls from Go into JS
	epoch     atomic.Int64 // counts returns from JS to Go
	stopCtx   func() bool
}

func newWatchdog(ctx context.Context, vm *goja.Runtime) *watchdog {
	w := &watchdog{vm: vm, wake: make(chan struct{}, 1), stuck: make(chan struct{})}
	w.stopCtx = context.AfterFunc(ctx, func() {
		reason := errCanceled
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			reason = errPipelineTimeout
		}
		w.fire(reason)
	})
	return w
}

// arm starts the clock of one script.
func (w *watchdog) arm(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = true
	w.gen++
	gen := w.gen
	w.scriptReason = nil
	w.timer = time.AfterFunc(d, func() { w.fireScript(gen) })
	if w.pipelineReason != nil {
		w.vm.Interrupt(w.pipelineReason)
	}
}

// disarm stops the clock and returns why the script was stopped, if it was. After it, no
// interrupt is pending on the VM.
func (w *watchdog) disarm() error {
	w.mu.Lock()
	w.armed = false
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	reason := w.scriptReason
	if w.pipelineReason != nil {
		reason = w.pipelineReason
	}
	w.mu.Unlock()
	w.vm.ClearInterrupt()
	return reason
}

// fired says why the running script must stop, or nil.
func (w *watchdog) fired() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pipelineReason != nil {
		return w.pipelineReason
	}
	return w.scriptReason
}

// fireScript is the timer of the script armed as generation gen.
func (w *watchdog) fireScript(gen int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.armed || gen != w.gen {
		return
	}
	if w.scriptReason == nil {
		w.scriptReason = errScriptTimeout
	}
	w.stop(errScriptTimeout)
}

// fire is the end of the pipeline's context.
func (w *watchdog) fire(reason error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pipelineReason == nil {
		w.pipelineReason = reason
	}
	w.stop(reason)
}

// stop interrupts the VM if a script is armed and wakes the event loop. w.mu is held.
func (w *watchdog) stop(reason error) {
	if w.armed {
		w.vm.Interrupt(reason)
		if w.inJS.Load() > 0 {
			e0 := w.epoch.Load()
			time.AfterFunc(stuckGrace, func() {
				if w.inJS.Load() > 0 && w.epoch.Load() == e0 {
					w.stuckOnce.Do(func() { close(w.stuck) })
				}
			})
		}
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// enter and leave bracket every call from Go into JS.
func (w *watchdog) enter() { w.inJS.Add(1) }

func (w *watchdog) leave() {
	w.epoch.Add(1)
	w.inJS.Add(-1)
}

func (w *watchdog) close() {
	w.stopCtx()
	w.disarm()
}
