package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
)

// The hostile-rule suite: each rule runs on the real engine in a real worker process, with a
// good login running through the same pool at the same time.

// Limits of the suite: small, so that it is quick.
var hostileLimits = rules.Limits{Pipeline: 2 * time.Second, PerScript: time.Second, MaxConsoleBytes: 4 << 10}

const (
	// testMaxWorkerRSS is the workers' kill threshold in this suite.
	testMaxWorkerRSS = 256 << 20
	// maxParentGrowth bounds how much the parent's RSS may grow over the whole suite: it only
	// ever holds frames of at most MaxResponseBytes per worker, whatever the rules do.
	maxParentGrowth = 64 << 20
)

func loginRequest(scripts ...rules.Script) rules.Request {
	return rules.Request{
		Trigger: rules.TriggerPostLogin,
		Scripts: scripts,
		User: storage.User{
			ID: "auth0|5f7c8ec7c33c6c004bbafe82", Connection: "Username-Password-Authentication",
			Email: "jane@example.com", EmailVerified: true, Name: "Jane Doe", Nickname: "jane",
			UserMetadata: storage.Metadata{"theme": "dark"},
			AppMetadata:  storage.Metadata{"plan": "pro", "roles": []any{"admin"}, "counter": json.Number("41")},
			CreatedAt:    time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
			LoginsCount:  7,
		},
		Context: rules.Context{
			Tenant: "acme", Issuer: "https://acme.example.com/", ClientID: "cli_123", ClientName: "Acme Web",
			ConnectionID: "con_1", Connection: "Username-Password-Authentication", ConnectionStrategy: "auth0",
			Protocol: "oidc-basic-profile", Scopes: []string{"openid", "profile", "email"},
			SessionID: "ses_1", LoginsCount: 8,
			Request: rules.HTTPRequest{IP: "203.0.113.7", UserAgent: "Mozilla/5.0", Hostname: "acme.example.com", Method: "GET"},
		},
		Configuration: map[string]string{"ALLOWED_DOMAIN": "example.com"},
		Limits:        hostileLimits,
	}
}

func rule(id, src string) rules.Script {
	return rules.Script{ID: id, Name: id, Kind: rules.KindRule, Version: id, Source: src}
}

// goodRule is a normal rule: it must keep succeeding whatever its neighbours do.
var goodRule = rule("rul_good", `function (user, context, callback) {
  context.idToken['https://acme.example.com/plan'] = user.app_metadata.plan;
  callback(null, user, context);
}`)

// newEnginePool starts a pool of real engine workers, closed at the end of the test.
func newEnginePool(t testing.TB, opts PoolOptions) *Pool {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	p, err := NewPool(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestHostileRules(t *testing.T) {
	parentBase, _ := processRSS(os.Getpid())
	parentPeak := watchRSS(t, os.Getpid())

	p := newEnginePool(t, PoolOptions{Workers: 2, MaxWorkerRSS: testMaxWorkerRSS})
	workerPeak := watchRSSOf(t, p.pids)

	// Good logins, all along, through the same pool.
	var good, goodFailed atomic.Int64
	var goodErr atomic.Value
	stopGood := make(chan struct{})
	var goodWG sync.WaitGroup
	goodWG.Add(1)
	go func() {
		defer goodWG.Done()
		for {
			select {
			case <-stopGood:
				return
			default:
			}
			start := time.Now()
			resp, err := p.Run(context.Background(), loginRequest(goodRule))
			switch {
			case err != nil:
				goodFailed.Add(1)
				goodErr.Store(fmt.Sprintf("error %v", err))
			case resp.Outcome != rules.OutcomeOK || resp.IDTokenClaims["https://acme.example.com/plan"] != "pro":
				goodFailed.Add(1)
				goodErr.Store(fmt.Sprintf("response %+v %+v", resp, resp.Error))
			case time.Since(start) > 2*time.Second:
				goodFailed.Add(1)
				goodErr.Store(fmt.Sprintf("took %v", time.Since(start)))
			default:
				good.Add(1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	// errorOf wants an error (or denial) Response whose message says something.
	errorOf := func(kinds ...string) func(t *testing.T, resp rules.Response) {
		return func(t *testing.T, resp rules.Response) {
			t.Helper()
			if resp.Outcome == rules.OutcomeDenied && resp.Denial != nil && resp.Denial.Message != "" && len(kinds) == 0 {
				return
			}
			if resp.Outcome != rules.OutcomeError || resp.Error == nil {
				t.Fatalf("outcome %q (%+v), want an error", resp.Outcome, resp)
			}
			if len(kinds) > 0 && !contains(kinds, resp.Error.Kind) {
				t.Errorf("error kind %q (%s), want one of %v", resp.Error.Kind, resp.Error.Message, kinds)
			}
			if len(resp.Error.Message) < 10 {
				t.Errorf("error message %q is not clear", resp.Error.Message)
			}
		}
	}

	cases := []struct {
		name  string
		src   string
		check func(t *testing.T, resp rules.Response)
	}{
		{"infinite loop", `function (user, context, callback) { while (true) {} }`, errorOf("timeout")},
		{"infinite recursion", `function (user, context, callback) { function f(n) { return f(n + 1) + 1; } f(0); }`, errorOf("exception", "memory")},
		{"repeat 2**30", `function (user, context, callback) { var s = 'x'.repeat(Math.pow(2, 30)); callback(null, user, context); }`, errorOf("memory", "exception")},
		{"string doubling", `function (user, context, callback) { var s = 'xxxxxxxx'; while (true) { s = s + s; } }`, errorOf("memory", "timeout", "exception")},
		{"growing arrays", `function (user, context, callback) { var a = []; while (true) { a.push([1, 2, 3, 4, 5, 6, 7, 8, {x: a.length}]); } }`, errorOf("memory", "timeout")},
		{"deep JSON.stringify", `function (user, context, callback) {
			var o = {}; for (var i = 0; i < 1000000; i++) { o = {o: o}; }
			JSON.stringify(o); callback(null, user, context); }`, errorOf("memory", "timeout", "exception")},
		{"huge JSON.stringify", `function (user, context, callback) {
			var a = []; for (var i = 0; i < 20000; i++) { a.push('x'.repeat(1000)); }
			var o = {}; for (var j = 0; j < 200; j++) { o['k' + j] = a; }
			var s = JSON.stringify(o); callback(null, user, context); }`, errorOf("memory", "timeout", "exception")},
		{"deep String()", `function (user, context, callback) {
			var a = []; for (var i = 0; i < 1000000; i++) { a = [a]; }
			String(a); callback(null, user, context); }`, errorOf("memory", "timeout", "exception")},
		// goja runs a regular expression without backreferences or lookaround on Go's
		// regexp (RE2, linear time): the textbook catastrophic pattern finishes at once.
		{"catastrophic regex, RE2", `function (user, context, callback) {
			context.idToken['https://acme.example.com/m'] = /(a+)+$/.test('a'.repeat(40) + '!');
			callback(new UnauthorizedError('regex done')); }`, func(t *testing.T, resp rules.Response) {
			if resp.Outcome != rules.OutcomeDenied && resp.Outcome != rules.OutcomeError {
				t.Errorf("outcome %q, want the rule's denial or an error", resp.Outcome)
			}
		}},
		// A lookahead sends it to the backtracking engine (regexp2), where it is catastrophic.
		{"catastrophic regex, backtracking", `function (user, context, callback) {
			/^(?=a)(a+)+$/.test('a'.repeat(40) + '!'); callback(null, user, context); }`, errorOf("timeout")},
		{"escape via constructor.constructor", `function (user, context, callback) {
			var g = (function () {}).constructor('return this')();
			var found = [];
			if (typeof g.process !== 'undefined') found.push('process');
			var req = require;
			['child_process', 'fs', 'os', 'process', 'net', 'vm', 'worker_threads'].forEach(function (m) {
				try { if (req(m)) found.push(m); } catch (e) {}
			});
			try { if (typeof g.os !== 'undefined' || typeof g.Deno !== 'undefined' || typeof g.Bun !== 'undefined') found.push('host'); } catch (e) {}
			try { var p = this.constructor.constructor('return process')(); if (p) found.push('this.process'); } catch (e) {}
			try { if (typeof g.require === 'function' && g.require('child_process')) found.push('global require'); } catch (e) {}
			if (found.length) { return callback(new Error('escaped: ' + found.join(','))); }
			callback(new UnauthorizedError('no escape'));
		}`, func(t *testing.T, resp rules.Response) {
			if resp.Outcome != rules.OutcomeDenied || resp.Denial == nil || resp.Denial.Message != "no escape" {
				t.Errorf("outcome %q denial %+v error %+v, want the rule's own denial", resp.Outcome, resp.Denial, resp.Error)
			}
		}},
		{"callback never called", `function (user, context, callback) { }`, errorOf("no_callback", "timeout")},
		{"callback called twice", `function (user, context, callback) {
			callback(new UnauthorizedError('first'));
			callback(null, user, context); }`, func(t *testing.T, resp rules.Response) {
			if resp.Outcome == rules.OutcomeOK {
				t.Errorf("the second callback overrode the first's denial: %+v", resp)
			}
		}},
		{"throw 42", `function (user, context, callback) { throw 42; }`, errorOf("exception")},
		{"throw null", `function (user, context, callback) { throw null; }`, errorOf("exception")},
		{"unhandled rejection", `function (user, context, callback) {
			Promise.reject(new Error('nobody listens'));
			new Promise(function (_, reject) { setTimeout(function () { reject(42); }, 10); });
			setTimeout(function () { callback(null, user, context); }, 50); }`, func(t *testing.T, resp rules.Response) {
			if resp.Outcome == rules.OutcomeError && (resp.Error == nil || len(resp.Error.Message) < 10 || resp.Error.Kind == "internal") {
				t.Errorf("error %+v", resp.Error)
			}
		}},
		{"timer flood", `function (user, context, callback) { for (;;) { setTimeout(function () {}, 0); } }`, errorOf("timeout", "exception", "memory")},
		{"interval flood", `function (user, context, callback) {
			for (var i = 0; i < 200; i++) { setInterval(function () { var a = new Array(1000).fill(1); }, 0); } }`, errorOf("timeout", "no_callback", "exception", "memory")},
	}
	budget := hostileLimits.Pipeline + DefaultDeadlineSlack + time.Second // + scheduling on a loaded test machine
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			resp, err := p.Run(context.Background(), loginRequest(goodRule, rule("rul_hostile", tc.src), goodRule))
			took := time.Since(start)
			if err != nil {
				t.Fatalf("Run error %v", err)
			}
			msg := ""
			if resp.Error != nil {
				msg = resp.Error.Kind + ": " + resp.Error.Message
			} else if resp.Denial != nil {
				msg = "denied: " + resp.Denial.Message
			}
			t.Logf("%v, %s %s", took.Round(time.Millisecond), resp.Outcome, msg)
			tc.check(t, resp)
			if took > budget {
				t.Errorf("took %v, over the budget of %v", took, budget)
			}
			// The next login works, on whichever worker.
			if resp, err := p.Run(context.Background(), loginRequest(goodRule)); err != nil || resp.Outcome != rules.OutcomeOK {
				t.Fatalf("next login: %+v, %v", resp, err)
			}
		})
	}

	close(stopGood)
	goodWG.Wait()
	t.Logf("concurrent good logins: %d ok, %d failed; stats %+v", good.Load(), goodFailed.Load(), p.Stats())
	if n := goodFailed.Load(); n > 0 {
		t.Errorf("%d concurrent good logins failed, the last: %v", n, goodErr.Load())
	}
	if good.Load() < int64(len(cases)) {
		t.Errorf("only %d concurrent good logins in the whole suite", good.Load())
	}
	t.Logf("parent RSS %d MiB at start, peak %d MiB; worker peak %d MiB (limit %d MiB)",
		parentBase>>20, parentPeak()>>20, workerPeak()>>20, testMaxWorkerRSS>>20)
	if grown := parentPeak() - parentBase; grown > maxParentGrowth {
		t.Errorf("parent RSS grew by %d MiB, over %d MiB", grown>>20, maxParentGrowth>>20)
	}
	if peak := workerPeak(); peak > testMaxWorkerRSS+rssOvershoot {
		t.Errorf("a worker reached %d MiB, over the limit %d MiB + overshoot %d MiB", peak>>20, testMaxWorkerRSS>>20, rssOvershoot>>20)
	}
	p.Close()
	if kids := childProcesses(t); len(kids) != 0 {
		t.Errorf("child processes after Close: %v", kids)
	}
}

// TestIsolationWithinAWorker runs everything through one worker: what a run does to the
// JavaScript world is not seen by the next, except `global`, which persists by design.
func TestIsolationWithinAWorker(t *testing.T) {
	p := newEnginePool(t, PoolOptions{Workers: 1})
	polluter := rule("rul_polluter", `function (user, context, callback) {
		Object.prototype.polluted = 'yes';
		Array.prototype.push = function () { throw new Error('hijacked'); };
		JSON.stringify = function () { return '"hijacked"'; };
		String.prototype.toString = function () { return 'hijacked'; };
		Math.random = function () { return 4; };
		global.seen = (global.seen || 0) + 1;
		callback(null, user, context);
	}`)
	checker := rule("rul_checker", `function (user, context, callback) {
		var dirty = [];
		if (({}).polluted !== undefined) dirty.push('Object.prototype');
		try { [].push(1); } catch (e) { dirty.push('Array.prototype.push'); }
		if (JSON.stringify({a: 1}) !== '{"a":1}') dirty.push('JSON.stringify');
		if (Math.random() === 4) dirty.push('Math.random');
		context.idToken['https://acme.example.com/dirty'] = dirty.join(',');
		context.idToken['https://acme.example.com/seen'] = global.seen || 0;
		callback(null, user, context);
	}`)
	pid := 0
	for i := range 3 {
		resp, err := p.Run(context.Background(), loginRequest(polluter))
		if err != nil || resp.Outcome != rules.OutcomeOK {
			t.Fatalf("polluter: %+v %+v, %v", resp, resp.Error, err)
		}
		resp, err = p.Run(context.Background(), loginRequest(checker))
		if err != nil || resp.Outcome != rules.OutcomeOK {
			t.Fatalf("checker: %+v %+v, %v", resp, resp.Error, err)
		}
		if dirty := resp.IDTokenClaims["https://acme.example.com/dirty"]; dirty != "" {
			t.Errorf("run %d sees the previous run's changes to %v", i, dirty)
		}
		if seen := resp.IDTokenClaims["https://acme.example.com/seen"]; seen != json.Number(fmt.Sprint(i+1)) {
			t.Errorf("global.seen = %v, want %d: global persists within a worker", seen, i+1)
		}
		pids := p.pids()
		if len(pids) != 1 || (pid != 0 && pids[0] != pid) {
			t.Fatalf("worker pids %v, want the same one throughout", pids)
		}
		pid = pids[0]
	}
}

// TestKilledWorkerIsReplaced kills a worker with a hostile rule, then logs in.
func TestKilledWorkerIsReplaced(t *testing.T) {
	p := newEnginePool(t, PoolOptions{Workers: 1, MaxWorkerRSS: 128 << 20})
	before := p.pids()
	hog := loginRequest(rule("rul_hog", `function (user, context, callback) {
		var a = []; while (true) { a.push(new Array(100000).fill(a.length)); } }`))
	hog.Limits.PerScript, hog.Limits.Pipeline = 10*time.Second, 10*time.Second // memory first
	resp, err := p.Run(context.Background(), hog)
	if err != nil || resp.Outcome != rules.OutcomeError || resp.Error.Kind != "memory" {
		t.Fatalf("hog: %+v %+v, %v", resp, resp.Error, err)
	}
	t.Logf("hog: %s", resp.Error.Message)
	resp, err = p.Run(context.Background(), loginRequest(goodRule))
	if err != nil || resp.Outcome != rules.OutcomeOK {
		t.Fatalf("next login: %+v %+v, %v", resp, resp.Error, err)
	}
	if after := p.pids(); len(after) != 1 || after[0] == before[0] {
		t.Errorf("pids %v then %v, want a new worker", before, after)
	}
	if s := p.Stats(); s.Memory != 1 || s.Spawned != 2 {
		t.Errorf("stats %+v", s)
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// testLogger logs to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}
