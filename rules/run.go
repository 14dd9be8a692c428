package rules

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// Bounds of one run that the Limits do not set.
const (
	maxPendingTimers = 256
	maxCallStack     = 1024 // JS frames; Node allows about 10 000, rules need far fewer
	finalizeBudget   = time.Second
	maxMessageBytes  = 2048 // denial and error messages
)

// run is one pipeline execution. Everything in it belongs to the goroutine that runs the VM,
// except what is atomic or reached through channels.
type run struct {
	e      *Engine
	req    *Request
	lim    Limits
	ctx    context.Context // ends at the pipeline deadline, or when the caller cancels
	cancel context.CancelFunc
	vm     *goja.Runtime
	wd     *watchdog
	now    time.Time // the login's time, as scripts see it
	start  time.Time

	resp    Response
	console consoleBuf

	// The event loop.
	timers   []*jsTimer
	timerSeq int64
	events   chan event
	inflight int
	requests int // outbound HTTP requests made so far

	script         int // index of the running script; -1 between scripts
	scriptDeadline time.Time
	current        atomic.Int32
	failure        error // an exception in a callback of the running script
	stoppedJS      bool  // the watchdog interrupted running JS (rather than a wait)
	own            *goja.Promise
	abandoned      atomic.Bool

	modules       map[string]goja.Value
	host          *host
	globalBefore  map[string]string
	globalTouched map[string]bool // set or deleted through `global`
	globalRead    map[string]bool // kept values the run read
	unhandled     []*goja.Promise
	joinDepth     int

	// Rules.
	rulesReady    bool
	user, context *goja.Object
	executedRules map[string]bool
	lastRule      int

	// Actions.
	act actionState
}

type event struct {
	owner int
	run   func() error
}

type jsTimer struct {
	id       int64
	owner    int
	due      time.Time
	interval time.Duration // > 0 for setInterval
	fn       goja.Callable
	args     []goja.Value
}

// scriptResult is how one script ended.
type scriptResult struct {
	outcome string // ok, denied, error, skipped
	denial  *Denial
	err     *ScriptError
}

func newRun(e *Engine, ctx context.Context, req *Request, lim Limits) *run {
	vm := goja.New()
	vm.SetMaxCallStackSize(maxCallStack)
	ctx, cancel := context.WithCancel(ctx)
	r := &run{
		e: e, req: req, lim: lim, ctx: ctx, cancel: cancel, vm: vm,
		wd:            newWatchdog(ctx, vm),
		now:           e.now(),
		start:         time.Now(),
		console:       consoleBuf{max: lim.MaxConsoleBytes},
		events:        make(chan event, maxInflightRequests),
		script:        -1,
		lastRule:      -1,
		executedRules: map[string]bool{},
		globalTouched: map[string]bool{},
		globalRead:    map[string]bool{},
	}
	r.current.Store(-1)
	return r
}

// execute runs the pipeline on the calling goroutine.
func (r *run) execute() (resp Response) {
	defer r.cancel()
	defer r.wd.close()
	defer func() {
		if x := recover(); x != nil {
			r.e.log.Error("rules: engine failure", "panic", fmt.Sprint(x), "stack", string(debug.Stack()))
			resp = r.response(scriptResult{outcome: OutcomeError, err: r.scriptError(r.script, "internal", "latch failed while running this script")})
		}
	}()
	r.setup()
	last := scriptResult{outcome: OutcomeOK}
	for i := range r.req.Scripts {
		res := r.runScript(i)
		if res.outcome == OutcomeDenied || res.outcome == OutcomeError {
			last = res
			break
		}
	}
	r.script = -1
	r.actionWrites()
	if last.outcome == OutcomeOK {
		last = r.finalize()
	}
	r.persistGlobal()
	return r.response(last)
}

func (r *run) runScript(i int) scriptResult {
	s := &r.req.Scripts[i]
	r.script = i
	r.current.Store(int32(i))
	r.failure = nil
	r.own = nil
	r.stoppedJS = false
	start := time.Now()
	var res scriptResult
	if reason := r.wd.fired(); reason != nil {
		res = r.stopped(i, reason, false)
	} else {
		switch s.Kind {
		case KindRule:
			if r.req.Trigger != TriggerPostLogin {
				res = scriptResult{outcome: "skipped"}
				break
			}
			res = r.runRule(i)
		case KindAction:
			res = r.runAction(i)
		}
	}
	r.resp.Timings = append(r.resp.Timings, ScriptTiming{ScriptID: s.ID, Name: s.Name, Outcome: res.outcome, Duration: time.Since(start)})
	if r.req.Trigger == TriggerPostUserRegistration && res.outcome == OutcomeError {
		// Post-user-registration cannot fail the signup (the user exists): the failure is
		// reported in the timings and the console, and the next actions still run.
		r.log(i, "error", res.err.Kind+": "+res.err.Message)
		res = scriptResult{outcome: OutcomeOK}
	}
	return res
}

// compiled returns the script's program, or the failure to report.
func (r *run) compiled(i int) (*program, *scriptResult) {
	p := r.e.program(r.req.Scripts[i])
	if p.err != nil {
		return nil, &scriptResult{outcome: OutcomeError, err: r.scriptError(i, "exception", "the script does not compile: "+p.err.Error())}
	}
	return p, nil
}

// response assembles what the pipeline decided.
func (r *run) response(last scriptResult) Response {
	resp := r.resp
	switch last.outcome {
	case OutcomeDenied:
		resp.Outcome, resp.Denial = OutcomeDenied, last.denial
	case OutcomeError:
		resp.Outcome, resp.Error = OutcomeError, last.err
	default:
		resp.Outcome = OutcomeOK
	}
	resp.Console = r.console.lines
	if r.console.dropped > 0 {
		resp.Console = append(resp.Console, fmt.Sprintf("(%d more bytes of console output dropped)", r.console.dropped))
	}
	resp.Duration = time.Since(r.start)
	return resp
}

// stuckResponse is what Run returns when it gives up on a VM stuck in a native builtin. It
// reads nothing but atomics: the VM goroutine is still running.
func (r *run) stuckResponse() Response {
	i := int(r.current.Load())
	var id, name string
	if i >= 0 && i < len(r.req.Scripts) {
		id, name = r.req.Scripts[i].ID, r.req.Scripts[i].Name
	}
	return Response{
		Outcome: OutcomeError,
		Error: &ScriptError{ScriptID: id, Name: name, Kind: "timeout",
			Message: "the script ran out of time inside a builtin that cannot be interrupted (e.g. a catastrophic regular expression)"},
		Timings:  []ScriptTiming{{ScriptID: id, Name: name, Outcome: OutcomeError, Duration: time.Since(r.start)}},
		Duration: time.Since(r.start),
	}
}

func (r *run) scriptError(i int, kind, msg string) *ScriptError {
	se := &ScriptError{Kind: kind, Message: truncate(msg, maxMessageBytes)}
	if i >= 0 && i < len(r.req.Scripts) {
		se.ScriptID, se.Name = r.req.Scripts[i].ID, r.req.Scripts[i].Name
	}
	return se
}

func (r *run) fail(i int, kind, msg string) scriptResult {
	return scriptResult{outcome: OutcomeError, err: r.scriptError(i, kind, msg)}
}

// stopped is the result of a script the watchdog stopped. idle says whether it was waiting
// (for its callback, a timer or a response) rather than running.
func (r *run) stopped(i int, reason error, idle bool) scriptResult {
	switch {
	case errors.Is(reason, errCanceled):
		return r.fail(i, "timeout", "the pipeline was canceled")
	case errors.Is(reason, errPipelineTimeout):
		return r.fail(i, "timeout", fmt.Sprintf("the pipeline did not finish within %v", r.lim.Pipeline))
	case idle && r.req.Scripts[i].Kind == KindRule:
		return r.fail(i, "no_callback", fmt.Sprintf("the rule did not call callback within %v", r.lim.PerScript))
	default:
		return r.fail(i, "timeout", fmt.Sprintf("the script did not finish within %v", r.lim.PerScript))
	}
}

// failed is the result of a script that threw (or whose callback threw, or whose promise
// rejected).
func (r *run) failed(i int, err error) scriptResult {
	var intr *goja.InterruptedError
	if errors.As(err, &intr) {
		reason, _ := intr.Value().(error)
		if reason == nil {
			reason = errScriptTimeout
		}
		return r.stopped(i, reason, false)
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return r.fail(i, "exception", "RangeError: Maximum call stack size exceeded")
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		kind := "exception"
		if isLimitError(ex.Value()) {
			kind = "memory"
		}
		return r.fail(i, kind, describeException(ex))
	}
	return r.fail(i, "internal", err.Error())
}

// rejected is the result of a script whose promise rejected with v.
func (r *run) rejected(i int, v goja.Value) scriptResult {
	kind := "exception"
	if isLimitError(v) {
		kind = "memory"
	}
	return r.fail(i, kind, describeValue(v))
}

// describeException is an exception as the admin log shows it: "Error: boom (at name:3:9)".
func describeException(ex *goja.Exception) string {
	msg := describeValue(ex.Value())
	for _, f := range ex.Stack() {
		p := f.Position()
		if p.Line > 0 {
			return fmt.Sprintf("%s (at %s:%d:%d)", msg, p.Filename, p.Line, p.Column)
		}
	}
	return msg
}

// describeValue renders a thrown value: "Name: message" for errors, String(v) otherwise.
// Script code it runs (getters, toString) may throw or be interrupted: that gives "[object]".
func describeValue(v goja.Value) (s string) {
	if v == nil {
		return "undefined"
	}
	defer func() {
		if recover() != nil {
			s = "[object]"
		}
	}()
	if obj, ok := v.(*goja.Object); ok {
		name, msg := obj.Get("name"), obj.Get("message")
		if msg != nil && !goja.IsUndefined(msg) {
			if name == nil || goja.IsUndefined(name) {
				return msg.String()
			}
			return name.String() + ": " + msg.String()
		}
	}
	return v.String()
}

// safeString is String(v); if script code it runs throws, "[object]".
func safeString(v goja.Value) (s string) {
	defer func() {
		if recover() != nil {
			s = "[object]"
		}
	}()
	return v.String()
}

// call calls into JS from Go (never from a native function: those call Callables directly).
// The caller reports unhandled rejections once it knows the script's own promise.
func (r *run) call(f goja.Callable, this goja.Value, args ...goja.Value) (goja.Value, error) {
	r.wd.enter()
	v, err := f(this, args...)
	r.wd.leave()
	r.noteInterrupt(err)
	return v, err
}

func (r *run) runProgram(p *goja.Program) (goja.Value, error) {
	r.wd.enter()
	v, err := r.vm.RunProgram(p)
	r.wd.leave()
	r.noteInterrupt(err)
	return v, err
}

func (r *run) noteInterrupt(err error) {
	var intr *goja.InterruptedError
	if err != nil && errors.As(err, &intr) {
		r.stoppedJS = true
	}
}

// reportUnhandled logs promise rejections nothing handled (the script's own promise is
// checked by its runner). Node would crash the process; latch logs and goes on.
func (r *run) reportUnhandled() {
	if len(r.unhandled) == 0 {
		return
	}
	for _, p := range r.unhandled {
		if p == r.own || p.State() != goja.PromiseStateRejected {
			continue
		}
		r.log(r.script, "error", "unhandled promise rejection: "+describeValue(p.Result()))
	}
	r.unhandled = r.unhandled[:0]
}

func (r *run) trackRejection(p *goja.Promise, op goja.PromiseRejectionOperation) {
	switch op {
	case goja.PromiseRejectionReject:
		r.unhandled = append(r.unhandled, p)
	case goja.PromiseRejectionHandle:
		for i, q := range r.unhandled {
			if q == p {
				r.unhandled = append(r.unhandled[:i], r.unhandled[i+1:]...)
				break
			}
		}
	}
}

// Results of wait.
type waitResult int

const (
	waitDone    waitResult = iota
	waitIdle               // nothing is left that could make done true
	waitStopped            // the watchdog fired
	waitFailed             // a callback of the running script threw: r.failure
)

// wait runs timers and the completions of outbound requests until done says so.
func (r *run) wait(done func() bool) waitResult {
	for {
		if done() {
			return waitDone
		}
		if r.failure != nil {
			return waitFailed
		}
		if r.wd.fired() != nil {
			return waitStopped
		}
		select {
		case ev := <-r.events:
			r.inflight--
			r.dispatch(ev.owner, ev.run)
			continue
		default:
		}
		if t := r.dueTimer(); t != nil {
			r.fireTimer(t)
			continue
		}
		if len(r.timers) == 0 && r.inflight == 0 {
			return waitIdle
		}
		var tc <-chan time.Time
		var tm *time.Timer
		if len(r.timers) > 0 {
			tm = time.NewTimer(time.Until(r.nextDue()))
			tc = tm.C
		}
		select {
		case ev := <-r.events:
			r.inflight--
			r.dispatch(ev.owner, ev.run)
		case <-tc:
		case <-r.wd.wake:
		}
		if tm != nil {
			tm.Stop()
		}
	}
}

// dispatch runs a macrotask. An exception in it fails the script that scheduled it if that
// script is still running (Node would crash on an uncaught exception); if the script has
// already finished, it is logged.
func (r *run) dispatch(owner int, fn func() error) {
	err := fn()
	r.reportUnhandled()
	if err == nil {
		return
	}
	var intr *goja.InterruptedError
	if errors.As(err, &intr) {
		return // the watchdog's doing: wait sees it
	}
	if owner == r.script {
		if r.failure == nil {
			r.failure = err
		}
		return
	}
	r.log(owner, "error", "uncaught exception after the script finished: "+errorText(err))
}

func errorText(err error) string {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return describeException(ex)
	}
	return err.Error()
}

func (r *run) dueTimer() *jsTimer {
	now := time.Now()
	var best *jsTimer
	for _, t := range r.timers {
		if !t.due.After(now) && (best == nil || t.due.Before(best.due) || (t.due.Equal(best.due) && t.id < best.id)) {
			best = t
		}
	}
	return best
}

func (r *run) nextDue() time.Time {
	next := r.timers[0].due
	for _, t := range r.timers[1:] {
		if t.due.Before(next) {
			next = t.due
		}
	}
	return next
}

func (r *run) fireTimer(t *jsTimer) {
	if t.interval > 0 {
		t.due = time.Now().Add(t.interval)
	} else {
		r.removeTimer(t.id)
	}
	r.dispatch(t.owner, func() error {
		_, err := r.call(t.fn, goja.Undefined(), t.args...)
		return err
	})
}

func (r *run) removeTimer(id int64) {
	for i, t := range r.timers {
		if t.id == id {
			r.timers = append(r.timers[:i], r.timers[i+1:]...)
			return
		}
	}
}

// setTimer backs setTimeout, setInterval and setImmediate.
func (r *run) setTimer(call goja.FunctionCall, repeat bool, immediate bool) goja.Value {
	fn, ok := goja.AssertFunction(call.Argument(0))
	if !ok {
		panic(r.vm.NewTypeError("The \"callback\" argument must be of type function"))
	}
	if len(r.timers) >= maxPendingTimers {
		panic(r.limitError(fmt.Sprintf("latch: more than %d pending timers", maxPendingTimers)))
	}
	var delay time.Duration
	var args []goja.Value
	if immediate {
		args = append(args, call.Arguments[min(1, len(call.Arguments)):]...)
	} else {
		ms := call.Argument(1).ToFloat()
		if !(ms >= 1) { // NaN, negative, 0
			ms = 1
		}
		if ms > 1<<31 {
			ms = 1
		}
		delay = time.Duration(ms * float64(time.Millisecond))
		if len(call.Arguments) > 2 {
			args = append(args, call.Arguments[2:]...)
		}
	}
	r.timerSeq++
	t := &jsTimer{id: r.timerSeq, owner: r.script, due: time.Now().Add(delay), fn: fn, args: args}
	if repeat {
		t.interval = delay
	}
	r.timers = append(r.timers, t)
	return r.vm.ToValue(t.id)
}

func (r *run) clearTimer(call goja.FunctionCall) goja.Value {
	if v := call.Argument(0); !goja.IsUndefined(v) && !goja.IsNull(v) {
		r.removeTimer(v.ToInteger())
	}
	return goja.Undefined()
}

// consoleBuf keeps console output up to max bytes and counts the rest.
type consoleBuf struct {
	max     int
	used    int
	lines   []string
	dropped int
}

func (c *consoleBuf) remaining() int { return max(c.max-c.used, 0) }

func (c *consoleBuf) add(line string) {
	if c.used+len(line) > c.max {
		c.dropped += len(line)
		return
	}
	c.used += len(line)
	c.lines = append(c.lines, line)
}

// log records one console line, attributed to the script at index i.
func (r *run) log(i int, level, msg string) {
	var b strings.Builder
	if i >= 0 && i < len(r.req.Scripts) {
		name := r.req.Scripts[i].Name
		if name == "" {
			name = r.req.Scripts[i].ID
		}
		b.WriteString("[")
		b.WriteString(name)
		b.WriteString("] ")
	}
	if level != "log" && level != "info" {
		b.WriteString(level)
		b.WriteString(": ")
	}
	b.WriteString(msg)
	r.console.add(b.String())
}
