package rules

import (
	"strings"
	"testing"
	"time"
)

func TestRules(t *testing.T) {
	cases := []struct {
		name  string
		rules []string
		want  expect
	}{
		{
			name: "claims from context.idToken and context.accessToken",
			rules: []string{`function (user, context, callback) {
  context.idToken['https://example.com/plan'] = user.user_metadata.plan;
  context.accessToken['https://example.com/roles'] = ['a', 'b'];
  context.accessToken.scope = ['openid', 'read:things'];
  callback(null, user, context);
}`},
			want: expect{
				idClaims: `{"https://example.com/plan":"silver"}`,
				atClaims: `{"https://example.com/roles":["a","b"]}`,
				scopes:   `["openid","read:things"]`,
			},
		},
		{
			name: "scope as a space-separated string",
			rules: []string{`function (user, context, callback) {
  context.accessToken.scope = 'openid  email';
  callback(null, user, context);
}`},
			want: expect{scopes: `["openid","email"]`},
		},
		{
			name: "the user object",
			rules: []string{`function (user, context, callback) {
  context.idToken.u = {
    id: user.user_id, email: user.email, verified: user.email_verified, name: user.name,
    given: user.given_name, family: typeof user.family_name, logins: user.logins_count,
    last_login: user.last_login, created: user.created_at, ip: user.last_ip,
    groups: user.groups, app: user.app_metadata, md: user.user_metadata,
    identities: user.identities, parsed: new Date(user.created_at).getTime(),
  };
  callback(null, user, context);
}`},
			want: expect{idClaims: `{"u":{
  "id":"auth0|507f1f77bcf86cd799439011","email":"jane@example.com","verified":true,"name":"Jane Doe",
  "given":"Jane","family":"undefined","logins":7,"last_login":"2026-11-18T12:00:00.123Z",
  "created":"2024-03-15T15:56:44.577Z","ip":"203.0.113.7","groups":["admins"],
  "app":{"groups":["admins"],"name":"from app_metadata"},"md":{"count":1000000,"plan":"silver"},
  "identities":[{"connection":"Username-Password-Authentication","user_id":"507f1f77bcf86cd799439011","provider":"auth0","isSocial":false}],
  "parsed":1710518204577}}`},
		},
		{
			name: "the context object",
			rules: []string{`function (user, context, callback) {
  context.idToken.c = {
    tenant: context.tenant, clientID: context.clientID, clientName: context.clientName,
    clientMetadata: context.clientMetadata, connection: context.connection,
    connectionID: context.connectionID, strategy: context.connectionStrategy,
    protocol: context.protocol, logins: context.stats.loginsCount, session: context.sessionID,
    ua: context.request.userAgent, ip: context.request.ip, host: context.request.hostname,
    prompt: context.request.query.prompt, body: context.request.body,
    country: context.request.geoip.country_code, methods: context.authentication.methods,
    roles: context.authorization.roles, redirect: typeof context.redirect,
  };
  callback(null, user, context);
}`},
			want: expect{idClaims: `{"c":{
  "tenant":"acme","clientID":"cl_web","clientName":"Web App","clientMetadata":{"tier":"gold"},
  "connection":"Username-Password-Authentication","connectionID":"con_1","strategy":"auth0",
  "protocol":"oidc-basic-profile","logins":7,"session":"sess_1","ua":"test-agent","ip":"203.0.113.7",
  "host":"acme.example.com","prompt":"login","body":{},"country":"FR",
  "methods":[{"name":"pwd","timestamp":1795003199000}],"roles":[],"redirect":"undefined"}}`},
		},
		{
			name: "configuration is read-only",
			rules: []string{`function (user, context, callback) {
  configuration.API_KEY = 'changed';
  delete configuration.DOMAIN;
  context.idToken.c = [configuration.API_KEY, configuration.DOMAIN, typeof configuration.MISSING, Object.keys(configuration)];
  callback(null, user, context);
}`},
			want: expect{idClaims: `{"c":["k-123","example.com","undefined",["API_KEY","DOMAIN"]]}`},
		},
		{
			name: "the auth0 object",
			rules: []string{`function (user, context, callback) {
  context.idToken.a = [auth0.domain, auth0.baseUrl, auth0.accessToken];
  callback(null, user, context);
}`},
			want: expect{idClaims: `{"a":["acme.example.com","https://acme.example.com/api/v2",""]}`},
		},
		{
			name: "metadata writes: recorded in order, merged into the user the next rule sees",
			rules: []string{`function (user, context, callback) {
  user.user_metadata.count = user.user_metadata.count + 1;
  user.user_metadata.ratio = 1.5;
  auth0.users.updateUserMetadata(user.user_id, user.user_metadata)
    .then(function () { return auth0.users.updateAppMetadata(user.user_id, { groups: null, tier: 'gold' }); })
    .then(function (u) { context.idToken.same = (u === user); callback(null, user, context); })
    .catch(function (err) { callback(err); });
}`, `function (user, context, callback) {
  context.idToken.app = user.app_metadata;
  context.idToken.count = user.user_metadata.count;
  callback(null, user, context);
}`},
			want: expect{
				writes: `[{"field":"user_metadata","patch":{"count":1000001,"plan":"silver","ratio":1.5}},
				          {"field":"app_metadata","patch":{"groups":null,"tier":"gold"}}]`,
				idClaims: `{"same":true,"app":{"name":"from app_metadata","tier":"gold"},"count":1000001}`,
			},
		},
		{
			name: "deleting a key locally does not delete it in storage; null does; {} clears",
			rules: []string{`function (user, context, callback) {
  delete user.user_metadata.plan;
  auth0.users.updateUserMetadata(user.user_id, user.user_metadata);
  auth0.users.updateUserMetadata(user.user_id, { count: null });
  auth0.users.updateAppMetadata(user.user_id, {});
  context.idToken.app = user.app_metadata;
  callback(null, user, context);
}`},
			want: expect{
				writes:   `[{"field":"user_metadata","patch":{"count":1000000}},{"field":"user_metadata","patch":{"count":null}},{"field":"app_metadata","patch":{}}]`,
				idClaims: `{"app":{}}`,
			},
		},
		{
			name: "numbers keep their JS meaning both ways",
			rules: []string{`function (user, context, callback) {
  auth0.users.updateUserMetadata(user.user_id, { big: 1e21, million: 1e6, neg: -42, third: 1/3, nan: NaN, when: new Date(0) });
  context.idToken.n = [user.user_metadata.count * 2, 2 ** 53, 0.1 + 0.2];
  callback(null, user, context);
}`},
			want: expect{
				writes:   `[{"field":"user_metadata","patch":{"big":1e21,"million":1000000,"neg":-42,"third":0.3333333333333333,"nan":null,"when":"1970-01-01T00:00:00.000Z"}}]`,
				idClaims: `{"n":[2000000,9007199254740992,0.30000000000000004]}`,
			},
		},
		{
			name: "metadata of another user is refused",
			rules: []string{`function (user, context, callback) {
  auth0.users.updateUserMetadata('auth0|someone-else', { x: 1 })
    .then(function () { callback(null, user, context); })
    .catch(function (err) { callback(err); });
}`},
			want: expect{outcome: OutcomeDenied, denialCode: "access_denied", writes: `null`},
		},
		{
			name: "metadata keys with dots are refused like the Management API does",
			rules: []string{`function (user, context, callback) {
  auth0.users.updateUserMetadata(user.user_id, { 'a.b': 1 }, function (err) {
    context.idToken.err = String(err && err.message);
    callback(null, user, context);
  });
}`},
			want: expect{idClaims: `{"err":"Bad Request: user_metadata invalid metadata: key \"a.b\" must not contain '.' or '$'"}`, writes: `null`},
		},
		{
			name: "callback-style updateUserMetadata",
			rules: []string{`function (user, context, callback) {
  auth0.users.updateUserMetadata(user.user_id, { a: 1 }, function (err, u) {
    context.idToken.ok = !err && u.user_metadata.a === 1;
    callback(null, user, context);
  });
}`},
			want: expect{idClaims: `{"ok":true}`, writes: `[{"field":"user_metadata","patch":{"a":1}}]`},
		},
		{
			name:  "UnauthorizedError denies with unauthorized",
			rules: []string{`function (user, context, callback) { callback(new UnauthorizedError('Access denied.')); }`},
			want:  expect{outcome: OutcomeDenied, denialCode: "unauthorized", denialMsg: "Access denied."},
		},
		{
			name:  "UnauthorizedError works without new",
			rules: []string{`function (user, context, callback) { var e = UnauthorizedError('no'); callback(e instanceof Error && e); }`},
			want:  expect{outcome: OutcomeDenied, denialCode: "unauthorized", denialMsg: "no"},
		},
		{
			name:  "an Error denies with access_denied",
			rules: []string{`function (user, context, callback) { callback(new Error('Only employees')); }`},
			want:  expect{outcome: OutcomeDenied, denialCode: "access_denied", denialMsg: "Only employees"},
		},
		{
			name:  "a string denies with access_denied",
			rules: []string{`function (user, context, callback) { callback('Access denied'); }`},
			want:  expect{outcome: OutcomeDenied, denialCode: "access_denied", denialMsg: "Access denied"},
		},
		{
			name: "a denial stops the pipeline",
			rules: []string{
				`function (user, context, callback) { callback(new Error('stop')); }`,
				`function (user, context, callback) { context.idToken.reached = true; callback(null, user, context); }`,
			},
			want: expect{outcome: OutcomeDenied, denialMsg: "stop", idClaims: `null`},
		},
		{
			name:  "a thrown exception is an error",
			rules: []string{"function (user, context, callback) {\n  throw new Error('boom');\n}"},
			want:  expect{outcome: OutcomeError, errKind: "exception", errContains: "Error: boom (at rule1:2:"},
		},
		{
			name:  "a ReferenceError is an error",
			rules: []string{`function (user, context, callback) { nosuchthing.x = 1; }`},
			want:  expect{outcome: OutcomeError, errKind: "exception", errContains: "ReferenceError: nosuchthing is not defined"},
		},
		{
			name: "callback twice: the second call is ignored and logged",
			rules: []string{`function (user, context, callback) {
  context.idToken.first = true;
  callback(null, user, context);
  callback(new Error('too late'));
}`},
			want: expect{idClaims: `{"first":true}`, console: []string{"[rule1] warn: callback called more than once (ignored)"}},
		},
		{
			name: "a late second call from a timer is ignored too",
			rules: []string{`function (user, context, callback) {
  setTimeout(function () { callback(new Error('late')); }, 1);
  callback(null, user, context);
}`, `function (user, context, callback) {
  setTimeout(function () { callback(null, user, context); }, 30);
}`},
			want: expect{console: []string{"[rule1] warn: callback called more than once (ignored)"}},
		},
		{
			name:  "a rule that returns without calling callback and has nothing pending",
			rules: []string{`function (user, context, callback) { context.idToken.x = 1; }`},
			want:  expect{outcome: OutcomeError, errKind: "no_callback"},
		},
		{
			name: "async rule",
			rules: []string{`async function (user, context, callback) {
  const n = await Promise.resolve(41);
  context.idToken.n = n + 1;
  callback(null, user, context);
}`},
			want: expect{idClaims: `{"n":42}`},
		},
		{
			name:  "async rule whose promise rejects",
			rules: []string{`async function (user, context, callback) { await null; throw new TypeError('async boom'); }`},
			want:  expect{outcome: OutcomeError, errKind: "exception", errContains: "TypeError: async boom"},
		},
		{
			name:  "arrow function rule",
			rules: []string{`(user, context, callback) => { context.idToken.arrow = true; callback(null, user, context); }`},
			want:  expect{idClaims: `{"arrow":true}`},
		},
		{
			name: "named rule with comments and a trailing semicolon",
			rules: []string{`/** @title x */
function myRule(user, context, callback) {
  context.idToken.named = typeof myRule;
  callback(null, user, context);
}; // end`},
			want: expect{idClaims: `{"named":"function"}`},
		},
		{
			name: "timers",
			rules: []string{`function (user, context, callback) {
  var order = [], pending = 2;
  function finish() {
    if (--pending > 0) return;
    context.idToken.first = order.slice(0, 2);
    context.idToken.all = order.sort();
    callback(null, user, context);
  }
  var t = setTimeout(function () { order.push('cleared'); }, 1);
  clearTimeout(t);
  setTimeout(function (a, b) { order.push(a + b); finish(); }, 5, 'x', 'y');
  setImmediate(function () { order.push('immediate'); });
  Promise.resolve().then(function () { order.push('micro'); });
  var n = 0, iv = setInterval(function () { if (++n === 3) { clearInterval(iv); order.push('interval'); finish(); } }, 1);
}`},
			want: expect{idClaims: `{"first":["micro","immediate"],"all":["immediate","interval","micro","xy"]}`},
		},
		{
			name: "an exception in a timer fails the rule",
			rules: []string{`function (user, context, callback) {
  setTimeout(function () { throw new Error('in timer'); }, 1);
}`},
			want: expect{outcome: OutcomeError, errKind: "exception", errContains: "in timer"},
		},
		{
			name: "later rules see what earlier rules did to user and context",
			rules: []string{`function (user, context, callback) {
  user.extra = 'from rule 1';
  global.helper = function () { return 'shared'; };
  context.idToken.a = 1;
  callback(null, user, context);
}`, `function (user, context, callback) {
  context.idToken.b = user.extra + ' / ' + global.helper();
  callback(null, user, context);
}`},
			want: expect{idClaims: `{"a":1,"b":"from rule 1 / shared"}`},
		},
		{
			name: "callback with new objects passes them on",
			rules: []string{`function (user, context, callback) {
  callback(null, { user_id: 'replaced' }, { idToken: { replaced: true }, accessToken: {} });
}`, `function (user, context, callback) {
  context.idToken.who = user.user_id;
  callback(null, user);
}`},
			want: expect{idClaims: `{"replaced":true,"who":"replaced"}`},
		},
		{
			name: "redirect rules are refused",
			rules: []string{`function (user, context, callback) {
  context.redirect = { url: 'https://example.com/consent' };
  callback(null, user, context);
}`},
			want: expect{outcome: OutcomeError, errKind: "invalid_result", errContains: "redirect rules (context.redirect) are not supported yet"},
		},
		{
			name: "multifactor rules are refused",
			rules: []string{`function (user, context, callback) {
  context.multifactor = { provider: 'any' };
  callback(null, user, context);
}`},
			want: expect{outcome: OutcomeError, errKind: "invalid_result", errContains: "multifactor"},
		},
		{
			name: "console",
			rules: []string{`function (user, context, callback) {
  console.log('hello', 42, { a: [1, 'x'] }, null, undefined, true);
  console.info('%s is %d years and %j', 'Bob', 42.5, { k: 1 }, 'extra');
  console.warn(new Error('careful').message);
  console.error(function named() {});
  callback(null, user, context);
}`},
			want: expect{console: []string{
				`[rule1] hello 42 {"a":[1,"x"]} null undefined true`,
				`[rule1] Bob is 42.5 years and {"k":1} extra`,
				`[rule1] warn: careful`,
				`[rule1] error: [Function: named]`,
			}},
		},
		{
			name:  "circular objects print",
			rules: []string{`function (user, context, callback) { var o = {}; o.o = o; console.log(o); callback(null, user, context); }`},
			want:  expect{console: []string{"[rule1] [Circular]"}},
		},
		{
			name: "throwing after callback is logged",
			rules: []string{`function (user, context, callback) {
  callback(null, user, context);
  throw new Error('after');
}`},
			want: expect{console: []string{"exception after callback (ignored): Error: after"}},
		},
		{
			name: "unhandled rejections are logged",
			rules: []string{`function (user, context, callback) {
  Promise.reject(new Error('nobody listens'));
  callback(null, user, context);
}`},
			want: expect{console: []string{"[rule1] error: unhandled promise rejection: Error: nobody listens"}},
		},
		{
			name:  "a module that is not available",
			rules: []string{`function (user, context, callback) { var name = 'mongo' + 'db@3.1.4'; require(name); }`},
			want:  expect{outcome: OutcomeError, errKind: "exception", errContains: "module mongodb is not available"},
		},
		{
			name:  "a module that is not available but never required",
			rules: []string{`function (user, context, callback) { if (user.never) { require('mongodb'); } callback(null, user, context); }`},
			want:  expect{},
		},
		{
			name:  "lodash as a global, as older rules use it",
			rules: []string{`function (user, context, callback) { context.idToken.p = _.pick(user, ['email', 'nickname']); callback(null, user, context); }`},
			want:  expect{idClaims: `{"p":{"email":"jane@example.com","nickname":"jane"}}`},
		},
		{
			name:  "a stored script that does not compile",
			rules: []string{`function (user, context, callback) { callback(null, user, context) `},
			want:  expect{outcome: OutcomeError, errKind: "exception", errContains: "does not compile"},
		},
		{
			name: "claims that are not JSON are an error",
			rules: []string{`function (user, context, callback) {
  var o = {}; o.self = o; context.idToken.x = o;
  callback(null, user, context);
}`},
			want: expect{outcome: OutcomeError, errKind: "invalid_result", errContains: "circular"},
		},
		{
			name: "functions and undefined claims disappear",
			rules: []string{`function (user, context, callback) {
  context.idToken.f = function () {};
  context.idToken.u = undefined;
  context.idToken.d = new Date(Date.UTC(2020, 0, 2));
  callback(null, user, context);
}`},
			want: expect{idClaims: `{"d":"2020-01-02T00:00:00.000Z"}`},
		},
	}
	e := newTestEngine(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.check(t, runReq(t, e, rulesRequest(tc.rules...)))
		})
	}
}

func TestRulesTimings(t *testing.T) {
	e := newTestEngine(t)
	req := rulesRequest(
		`function (user, context, callback) { callback(null, user, context); }`,
		`function (user, context, callback) { callback('no'); }`,
		`function (user, context, callback) { callback(null, user, context); }`,
	)
	resp := runReq(t, e, req)
	if len(resp.Timings) != 2 || resp.Timings[0].Outcome != OutcomeOK || resp.Timings[1].Outcome != OutcomeDenied {
		t.Fatalf("timings = %+v", resp.Timings)
	}
	if resp.Denial.ScriptID != "rule2" || resp.Duration <= 0 {
		t.Fatalf("denial %+v duration %v", resp.Denial, resp.Duration)
	}
}

func TestRulesSkippedOutsidePostLogin(t *testing.T) {
	e := newTestEngine(t)
	req := rulesRequest(`function (user, context, callback) { callback('no'); }`)
	req.Trigger = TriggerPreUserRegistration
	resp := runReq(t, e, req)
	if resp.Outcome != OutcomeOK || len(resp.Timings) != 1 || resp.Timings[0].Outcome != "skipped" {
		t.Fatalf("resp = %+v", resp)
	}
}

func TestConsoleCap(t *testing.T) {
	e := newTestEngine(t)
	req := rulesRequest(`function (user, context, callback) {
  for (var i = 0; i < 100; i++) console.log('line ' + i + ' ' + 'x'.repeat(50));
  console.log({ big: 'y'.repeat(100000) });
  callback(null, user, context);
}`)
	req.Limits.MaxConsoleBytes = 500
	resp := runReq(t, e, req)
	total := 0
	for _, l := range resp.Console[:len(resp.Console)-1] {
		total += len(l)
	}
	last := resp.Console[len(resp.Console)-1]
	if total > 500 || !strings.Contains(last, "more bytes of console output dropped") {
		t.Fatalf("kept %d bytes; last line %q", total, last)
	}
}

func TestNoCallbackWhileWaiting(t *testing.T) {
	e := newTestEngine(t)
	req := rulesRequest(`function (user, context, callback) {
  setTimeout(function () { callback(null, user, context); }, 60000);
}`)
	req.Limits.PerScript = 200 * time.Millisecond
	start := time.Now()
	resp := runReq(t, e, req)
	expect{outcome: OutcomeError, errKind: "no_callback", errContains: "did not call callback within 200ms"}.check(t, resp)
	if d := time.Since(start); d > 200*time.Millisecond+slack() {
		t.Fatalf("took %v", d)
	}
}

// Script values read from Go may have getters that throw: the run reports it, never panics.
func TestHostileValues(t *testing.T) {
	cases := []struct {
		name, rule string
		want       expect
	}{
		{"a throwing claim getter", `function (user, context, callback) {
  Object.defineProperty(context.idToken, 'x', { enumerable: true, get: function () { throw new Error('gotcha'); } });
  callback(null, user, context);
}`, expect{outcome: OutcomeError, errKind: "invalid_result", errContains: "gotcha"}},
		{"a throwing context.redirect getter", `function (user, context, callback) {
  Object.defineProperty(context, 'redirect', { get: function () { throw new Error('gotcha'); } });
  callback(null, user, context);
}`, expect{outcome: OutcomeError, errKind: "exception", errContains: "gotcha"}},
		{"a denial whose message getter throws still denies", `function (user, context, callback) {
  var e = {}; Object.defineProperty(e, 'message', { get: function () { throw new Error('gotcha'); } });
  callback(e);
}`, expect{outcome: OutcomeDenied, denialCode: "access_denied"}},
		{"a thrown object whose toString throws", `function (user, context, callback) {
  throw { toString: function () { throw new Error('again'); } };
}`, expect{outcome: OutcomeError, errKind: "exception", errContains: "[object]"}},
		{"a global with a throwing getter is not kept", `function (user, context, callback) {
  global.trap = 1;
  Object.defineProperty(global, 'trap', { enumerable: true, get: function () { throw new Error('gotcha'); } });
  global.fine = 1;
  callback(null, user, context);
}`, expect{}},
		{"a getter that never returns, read after the rules", `function (user, context, callback) {
  Object.defineProperty(context.accessToken, 'slow', { enumerable: true, get: function () { while (true) {} } });
  callback(null, user, context);
}`, expect{outcome: OutcomeError, errKind: "invalid_result"}},
	}
	e := newTestEngine(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.check(t, runReq(t, e, rulesRequest(tc.rule)))
		})
	}
}
