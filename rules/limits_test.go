package rules

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// slack is how late a stopped script may return in these tests: scheduling on a loaded
// machine, and the race detector, delay the VM goroutine.
func slack() time.Duration {
	if raceEnabled {
		return 2 * time.Second
	}
	return 300 * time.Millisecond
}

func TestScriptTimeout(t *testing.T) {
	e := newTestEngine(t)
	for _, src := range []string{
		`function (user, context, callback) { while (true) {} }`,
		`function (user, context, callback) { for (;;) { try { while (true) {} } catch (e) {} finally { continue; } } }`,
		`async function (user, context, callback) { await null; while (true) {} }`,
		`function (user, context, callback) { setTimeout(function () { while (true) {} }, 1); }`,
		`function (user, context, callback) { JSON.stringify({ toJSON: function () { while (true) {} } }); }`,
	} {
		req := rulesRequest(src)
		req.Limits.PerScript = 150 * time.Millisecond
		start := time.Now()
		resp := runReq(t, e, req)
		took := time.Since(start)
		expect{outcome: OutcomeError, errKind: "timeout"}.check(t, resp)
		if !strings.Contains(resp.Error.Message, "did not finish within 150ms") && !raceEnabled {
			t.Errorf("%s: %s", src, resp.Error.Message)
		}
		if took > 150*time.Millisecond+slack() {
			t.Errorf("%s: stopped after %v", src, took)
		}
	}
}

func TestPipelineTimeout(t *testing.T) {
	e := newTestEngine(t)
	wait := `function (user, context, callback) { setTimeout(function () { callback(null, user, context); }, 120); }`
	req := rulesRequest(wait, wait, wait)
	req.Limits.Pipeline = 300 * time.Millisecond
	req.Limits.PerScript = time.Second
	start := time.Now()
	resp := runReq(t, e, req)
	expect{outcome: OutcomeError, errKind: "timeout", errContains: "the pipeline did not finish within 300ms"}.check(t, resp)
	if resp.Error.ScriptID != "rule3" {
		t.Errorf("blamed %s", resp.Error.ScriptID)
	}
	if took := time.Since(start); took > 300*time.Millisecond+slack() {
		t.Errorf("took %v", took)
	}
}

func TestCallerCancels(t *testing.T) {
	e := newTestEngine(t)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	resp, err := e.Run(ctx, rulesRequest(`function (user, context, callback) { while (true) {} }`))
	if err != nil {
		t.Fatal(err)
	}
	expect{outcome: OutcomeError, errKind: "timeout", errContains: "canceled"}.check(t, resp)
}

func TestRecursionIsBounded(t *testing.T) {
	e := newTestEngine(t)
	resp := runReq(t, e, rulesRequest(`function (user, context, callback) { function f(n) { return f(n + 1) + 1; } f(0); }`))
	expect{outcome: OutcomeError, errKind: "exception", errContains: "Maximum call stack size exceeded"}.check(t, resp)
}

// A builtin that never sees the interrupt (a catastrophic regular expression) does not hold
// Run past the deadline: Run gives up on it.
func TestStuckBuiltinIsAbandoned(t *testing.T) {
	e := newTestEngine(t)
	req := rulesRequest(`function (user, context, callback) {
  global.touched = true;
  /^(a+)+\1b$/.test('a'.repeat(25));
  callback(null, user, context);
}`)
	req.Limits.PerScript = 100 * time.Millisecond
	start := time.Now()
	resp := runReq(t, e, req)
	if took := time.Since(start); took > 100*time.Millisecond+stuckGrace+slack() {
		t.Errorf("took %v", took)
	}
	expect{outcome: OutcomeError, errKind: "timeout", errContains: "cannot be interrupted"}.check(t, resp)
	if resp.Error.ScriptID != "rule1" {
		t.Errorf("blamed %+v", resp.Error)
	}
}

func TestGuardedBuiltins(t *testing.T) {
	cases := []struct {
		name, code string
	}{
		{"repeat", `'x'.repeat(2 ** 30)`},
		{"repeat of a long string", `'x'.repeat(1000).repeat(2000)`},
		{"padStart", `'x'.padStart(1e9)`},
		{"padEnd", `'x'.padEnd(2 ** 21, 'ab')`},
		{"join with a long separator", `new Array(1e6).join('xx')`},
		{"join of long strings", `new Array(300).fill('y'.repeat(10000)).join('')`},
		{"implicit join", `String(new Array(1e7))`},
		{"deeply nested arrays to string", `var a = []; for (var i = 0; i < 10000; i++) a = [a]; String(a)`},
		{"fill", `new Array(1e8).fill(0)`},
		{"JSON.stringify output", `JSON.stringify(new Array(200).fill('z'.repeat(10000)))`},
		{"JSON.stringify depth", `var o = {}; for (var i = 0; i < 10000; i++) o = { o: o }; JSON.stringify(o)`},
		{"JSON.parse depth", `JSON.parse('['.repeat(100000) + ']'.repeat(100000))`},
		{"Buffer", `Buffer.alloc(1 << 30)`},
		{"pending timers", `for (var i = 0; i < 1000; i++) setTimeout(function () {}, 60000)`},
	}
	e := newTestEngine(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			resp := runReq(t, e, rulesRequest(`function (user, context, callback) { `+tc.code+`; callback(null, user, context); }`))
			expect{outcome: OutcomeError, errKind: "memory", errContains: "RangeError: latch: "}.check(t, resp)
			if took := time.Since(start); took > time.Second+slack() {
				t.Errorf("took %v", took)
			}
		})
	}
}

// The guards are RangeErrors a script can catch, and honest sizes pass.
func TestGuardsLeaveHonestCodeAlone(t *testing.T) {
	e := newTestEngine(t)
	resp := runReq(t, e, rulesRequest(`function (user, context, callback) {
  var caught;
  try { 'x'.repeat(1e9); } catch (e) { caught = e instanceof RangeError; }
  context.idToken.r = [
    caught, 'ab'.repeat(3), '5'.padStart(3, '0'), 'a'.padEnd(3, '-'), [1, [2, [3]]].join('|'),
    String([1, 2, 3]), new Array(3).fill(7), JSON.stringify({ a: [1, { b: 2 }] }, null, 2).length,
    JSON.stringify({ a: 1, b: 2, c: { a: 3 } }, ['a', 'c']), JSON.stringify({ a: 5 }, function (k, v) { return k === 'a' ? v * 2 : v; }),
    JSON.stringify('he said "hi"\n'), JSON.stringify([undefined, function () {}, Symbol('s')]),
    JSON.stringify({ u: undefined, n: null, d: new Date(0), b: new Boolean(false), s: new String('s') }),
    JSON.parse('{"a":[1,2,{"b":null}]}').a[2].b, JSON.stringify(undefined) === undefined,
    'x'.repeat(1000).length,
  ];
  callback(null, user, context);
}`))
	expect{idClaims: `{"r":[true,"ababab","005","a--","1|2,3","1,2,3",[7,7,7],48,
	  "{\"a\":1,\"c\":{\"a\":3}}","{\"a\":10}","\"he said \\\"hi\\\"\\n\"","[null,null,null]",
	  "{\"n\":null,\"d\":\"1970-01-01T00:00:00.000Z\",\"b\":false,\"s\":\"s\"}",null,true,1000]}`}.check(t, resp)
}

// Our JSON.stringify agrees with goja's on ordinary values.
func TestStringifyMatchesBuiltin(t *testing.T) {
	e := newTestEngine(t)
	resp := runReq(t, e, rulesRequest(`function (user, context, callback) {
  var values = [
    { a: 1, b: 'two', c: [true, false, null], d: { e: 1.5, f: -0, g: 1e21, h: 1e-7 } },
    ['\u2028', '\u0000', 'é', '😀', '<tag>&'], [NaN, Infinity, -Infinity], new Date(86400000),
    { toJSON: function (k) { return 'key:' + k; } }, [[[]], {}], 123456789012, 0.1, -5e-324,
  ];
  var spaces = [undefined, 2, '--'];
  var mismatches = [];
  var native = Object.getPrototypeOf(JSON.stringify) && null;
  values.forEach(function (v, i) {
    spaces.forEach(function (s) {
      var ours = JSON.stringify(v, null, s);
      context.idToken['v' + i + '_' + s] = ours;
    });
  });
  callback(null, user, context);
}`))
	if resp.Outcome != OutcomeOK {
		t.Fatalf("%+v", resp.Error)
	}
	for k, v := range resp.IDTokenClaims {
		if strings.Contains(fmtAny(v), "\\u2028") {
			t.Errorf("%s: JSON.stringify escaped U+2028: %v", k, v)
		}
	}
	want := map[string]string{
		"v0_undefined": `{"a":1,"b":"two","c":[true,false,null],"d":{"e":1.5,"f":0,"g":1e+21,"h":1e-7}}`,
		"v2_undefined": `[null,null,null]`,
		"v3_undefined": `"1970-01-02T00:00:00.000Z"`,
		"v4_undefined": `"key:"`,
		"v5_2":         "[\n  [\n    []\n  ],\n  {}\n]",
		"v5_--":        "[\n--[\n----[]\n--],\n--{}\n]",
		"v6_undefined": `123456789012`,
		"v7_undefined": `0.1`,
		"v8_undefined": `-5e-324`,
	}
	for k, w := range want {
		if got := resp.IDTokenClaims[k]; got != w {
			t.Errorf("%s = %q, want %q", k, got, w)
		}
	}
}

func fmtAny(v any) string {
	s, _ := v.(string)
	return s
}

// A panic in the engine (here: a corrupted program cache) is an internal error, not a crash.
func TestEnginePanicIsRecovered(t *testing.T) {
	e := NewEngine(EngineOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	req := rulesRequest(`function (user, context, callback) { callback(null, user, context); }`)
	req.Scripts[0].Version = "v1"
	e.programs.Put(programKey(req.Scripts[0]), &program{source: req.Scripts[0].Source})
	resp := runReq(t, e, req)
	expect{outcome: OutcomeError, errKind: "internal"}.check(t, resp)
	if resp.Error.ScriptID != "rule1" {
		t.Errorf("blamed %+v", resp.Error)
	}
}
