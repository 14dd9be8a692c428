package rules

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/latchauth/latch/internal/memo"
)

// EngineOptions configure an Engine. The zero value is ready to use.
type EngineOptions struct {
	// Logger receives the engine's own failures (never script output, which may hold
	// secrets: that is in Response.Console). Nil means slog.Default().
	Logger *slog.Logger
	// Resolver resolves host names for outbound HTTP; nil means net.DefaultResolver.
	Resolver Resolver
	// DialContext connects to the IP:port outbound HTTP checked; nil means a net.Dialer.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLSClientConfig is used for outbound HTTPS (tests put their CA here); nil means the
	// system's roots.
	TLSClientConfig *tls.Config
	// Now is the clock scripts see (last_login, the cache's expiry); nil means time.Now.
	// Deadlines always use the real clock.
	Now func() time.Time
	// MaxPrograms bounds the cache of compiled scripts; 0 means 1024.
	MaxPrograms int
}

// Engine runs pipelines in this process, on goja: a fresh runtime for every Run, compiled
// programs shared. It implements Runner and is safe for concurrent use.
//
// What persists between runs of one Engine: the JSON-serializable values of `global`
// (see globalStore) and the actions' api.cache. Nothing else a script does to its runtime
// (globals, prototypes) is visible to the next run.
type Engine struct {
	log      *slog.Logger
	now      func() time.Time
	opts     EngineOptions
	programs *memo.Map[string, *program]
	global   *globalStore
	cache    *actionCache

	httpOnce   sync.Once
	httpStrict *http.Client
	httpOpen   *http.Client
}

var _ Runner = (*Engine)(nil)

// NewEngine returns an Engine.
func NewEngine(opts EngineOptions) *Engine {
	e := &Engine{log: opts.Logger, now: opts.Now, opts: opts}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.now == nil {
		e.now = time.Now
	}
	max := opts.MaxPrograms
	if max <= 0 {
		max = 1024
	}
	e.programs = memo.New[string, *program](max)
	e.global = newGlobalStore()
	e.cache = newActionCache()
	return e
}

func (e *Engine) httpClient(allowPrivate bool) *http.Client {
	e.httpOnce.Do(func() {
		e.httpStrict = newHTTPClient(e.opts, false)
		e.httpOpen = newHTTPClient(e.opts, true)
	})
	if allowPrivate {
		return e.httpOpen
	}
	return e.httpStrict
}

// Run runs the scripts of req in order. The error is for requests the engine cannot run at
// all (an unknown trigger or script kind); what the scripts did, failures included, is in
// the Response. Run returns by the pipeline's deadline (plus a short grace) even if a script
// is stuck in a builtin that cannot be interrupted; that script's goroutine is then left to
// finish on its own and its run changes nothing shared.
func (e *Engine) Run(ctx context.Context, req Request) (Response, error) {
	if err := checkRequest(&req); err != nil {
		return Response{}, err
	}
	lim := withDefaults(req.Limits)
	ctx, cancel := context.WithTimeout(ctx, lim.Pipeline)
	defer cancel()
	r := newRun(e, ctx, &req, lim)
	done := make(chan Response, 1)
	go func() { done <- r.execute() }()
	select {
	case resp := <-done:
		return resp, nil
	case <-r.wd.stuck:
		r.abandoned.Store(true)
		e.log.Warn("rules: abandoned a script stuck in a builtin", "script_id", r.stuckResponse().Error.ScriptID)
		return r.stuckResponse(), nil
	}
}

func checkRequest(req *Request) error {
	if _, ok := actionHandlers[req.Trigger]; !ok {
		return fmt.Errorf("rules: unknown trigger %q", req.Trigger)
	}
	for _, s := range req.Scripts {
		if s.Kind != KindRule && s.Kind != KindAction {
			return fmt.Errorf("rules: script %q has unknown kind %q", s.ID, s.Kind)
		}
	}
	return nil
}

// withDefaults fills the limits a caller left at zero with DefaultLimits.
func withDefaults(l Limits) Limits {
	d := DefaultLimits()
	if l.Pipeline <= 0 {
		l.Pipeline = d.Pipeline
	}
	if l.PerScript <= 0 {
		l.PerScript = d.PerScript
	}
	if l.PerScript > l.Pipeline {
		l.PerScript = l.Pipeline
	}
	if l.MaxConsoleBytes <= 0 {
		l.MaxConsoleBytes = d.MaxConsoleBytes
	}
	return l
}

// armScript starts the clock of the script about to run.
func (r *run) armScript() {
	r.scriptDeadline = time.Now().Add(r.lim.PerScript)
	r.wd.arm(r.lim.PerScript)
}

// finalize reads the claims the scripts set, under its own short deadline (reading them may
// run getters and toJSON methods).
func (r *run) finalize() scriptResult {
	r.scriptDeadline = time.Now().Add(finalizeBudget)
	r.wd.arm(finalizeBudget)
	defer r.wd.disarm()
	res := r.ruleClaims()
	if res.outcome == OutcomeOK {
		r.actionClaims()
	}
	return res
}
