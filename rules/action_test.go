package rules

import (
	"fmt"
	"testing"
	"time"
)

func actionsRequest(trigger string, sources ...string) Request {
	req := rulesRequest()
	req.Trigger = trigger
	for i, src := range sources {
		req.Scripts = append(req.Scripts, script(KindAction, "action"+string(rune('1'+i)), src))
	}
	if trigger == TriggerPreUserRegistration {
		req.User.ID = ""
		req.User.LoginsCount = 0
	}
	return req
}

func TestPostLoginActions(t *testing.T) {
	cases := []struct {
		name    string
		actions []string
		want    expect
	}{
		{
			name: "claims, scopes and metadata",
			actions: []string{`exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://example.com/plan', event.user.user_metadata.plan);
  api.accessToken.setCustomClaim('https://example.com/n', 1e6);
  api.accessToken.addScope('read:a').accessToken.addScope('read:b');
  api.accessToken.removeScope('read:b');
  api.accessToken.removeScope('write:c');
  api.user.setUserMetadata('visits', 3);
  api.user.setUserMetadata('plan', null);
  api.user.setAppMetadata('tier', { level: 2 });
};`, `exports.onExecutePostLogin = async (event, api) => {
  api.user.setUserMetadata('visits', 4);
  api.idToken.setCustomClaim('gone', 1);
  api.idToken.setCustomClaim('gone', undefined);
};`},
			want: expect{
				idClaims: `{"https://example.com/plan":"silver"}`,
				atClaims: `{"https://example.com/n":1000000}`,
				writes:   `[{"field":"user_metadata","patch":{"visits":4,"plan":null}},{"field":"app_metadata","patch":{"tier":{"level":2}}}]`,
			},
		},
		{
			name: "the event",
			actions: []string{`exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('e', {
    user: [event.user.user_id, event.user.email, event.user.created_at, event.user.last_login, event.user.name, event.user.app_metadata, event.user.groups, event.user.identities.length],
    client: event.client, connection: event.connection,
    request: [event.request.ip, event.request.user_agent, event.request.language, event.request.geoip],
    stats: event.stats, secret: event.secrets.API_KEY, tenant: event.tenant,
    transaction: [event.transaction.protocol, event.transaction.requested_scopes, event.transaction.response_type, event.transaction.state],
    methods: event.authentication.methods, rs: event.resource_server, session: event.session,
  });
};`},
			want: expect{idClaims: `{"e":{
  "user":["auth0|507f1f77bcf86cd799439011","jane@example.com","2024-03-15T15:56:44.577Z","2026-11-18T12:00:00.123Z","Jane Doe",{"groups":["admins"],"name":"from app_metadata"},null,1],
  "client":{"client_id":"cl_web","name":"Web App","metadata":{"tier":"gold"}},
  "connection":{"id":"con_1","name":"Username-Password-Authentication","strategy":"auth0","metadata":{}},
  "request":["203.0.113.7","test-agent","fr",{"countryCode":"FR","countryName":"France","timeZone":"Europe/Paris","latitude":48.85}],
  "stats":{"logins_count":7},"secret":"k-123","tenant":{"id":"acme"},
  "transaction":["oidc-basic-profile",["openid","profile"],["code"],"xyz"],
  "methods":[{"name":"pwd","timestamp":"2026-11-18T11:59:59.000Z"}],
  "rs":{"identifier":"https://api.example.com"},"session":{"id":"sess_1"}}}`},
		},
		{
			name: "deny stops the flow; metadata asked for before is still reported",
			actions: []string{`exports.onExecutePostLogin = async (event, api) => {
  api.user.setUserMetadata('attempted', true);
  api.access.deny('Not in the allow list');
  api.access.deny('second reason is ignored');
};`, `exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('reached', true); };`},
			want: expect{outcome: OutcomeDenied, denialCode: "access_denied", denialMsg: "Not in the allow list",
				writes: `[{"field":"user_metadata","patch":{"attempted":true}}]`, idClaims: `null`},
		},
		{
			name:    "a synchronous handler",
			actions: []string{`exports.onExecutePostLogin = (event, api) => { api.idToken.setCustomClaim('sync', true); };`},
			want:    expect{idClaims: `{"sync":true}`},
		},
		{
			name: "module.exports replaced, helpers and timers",
			actions: []string{`const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
module.exports = {
  onExecutePostLogin: async (event, api) => { await wait(5); api.idToken.setCustomClaim('waited', true); },
};`},
			want: expect{idClaims: `{"waited":true}`},
		},
		{
			name:    "a handler that throws",
			actions: []string{`exports.onExecutePostLogin = async (event, api) => { throw new Error('nope'); };`},
			want:    expect{outcome: OutcomeError, errKind: "exception", errContains: "Error: nope"},
		},
		{
			name:    "a module whose top level throws",
			actions: []string{`throw new Error('top'); exports.onExecutePostLogin = async () => {};`},
			want:    expect{outcome: OutcomeError, errKind: "exception", errContains: "top"},
		},
		{
			name:    "a promise that never settles",
			actions: []string{`exports.onExecutePostLogin = async () => { await new Promise(() => {}); };`},
			want:    expect{outcome: OutcomeError, errKind: "no_callback"},
		},
		{
			name:    "unsupported api parts throw clearly",
			actions: []string{`exports.onExecutePostLogin = async (event, api) => { api.multifactor.enable('any'); };`},
			want:    expect{outcome: OutcomeError, errKind: "exception", errContains: "api.multifactor.enable is not supported by latch"},
		},
		{
			name: "canRedirect says no",
			actions: []string{`exports.onExecutePostLogin = async (event, api) => {
  if (api.redirect.canRedirect()) api.redirect.sendUserTo('https://example.com');
  api.idToken.setCustomClaim('redirected', false);
};`},
			want: expect{idClaims: `{"redirected":false}`},
		},
		{
			name:    "an action bound to another trigger is skipped",
			actions: []string{`exports.onExecutePreUserRegistration = async (event, api) => { api.access.deny('x'); };`},
			want:    expect{},
		},
		{
			name:    "app_metadata keys latch reserves are refused",
			actions: []string{`exports.onExecutePostLogin = async (event, api) => { api.user.setAppMetadata('email', 'x'); };`},
			want:    expect{outcome: OutcomeError, errKind: "exception", errContains: "reserved"},
		},
		{
			name:    "more than 32 kB of metadata",
			actions: []string{`exports.onExecutePostLogin = async (event, api) => { for (let i = 0; i < 10; i++) api.user.setUserMetadata('k' + i, 'x'.repeat(4000)); };`},
			want:    expect{outcome: OutcomeError, errKind: "memory", errContains: "32 kB"},
		},
	}
	e := newTestEngine(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.check(t, runReq(t, e, actionsRequest(TriggerPostLogin, tc.actions...)))
		})
	}
}

func TestRulesThenActions(t *testing.T) {
	e := newTestEngine(t)
	req := rulesRequest(`function (user, context, callback) {
  context.idToken.shared = 'rule';
  context.idToken.fromRule = true;
  context.accessToken.scope = ['openid'];
  callback(null, user, context);
}`)
	req.Scripts = append(req.Scripts, script(KindAction, "act", `exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('shared', 'action');
  api.idToken.setCustomClaim('ran', [api.rules.wasExecuted('rule1'), api.rules.wasExecuted('rule9')]);
  api.accessToken.addScope('extra');
};`))
	resp := runReq(t, e, req)
	expect{idClaims: `{"shared":"action","fromRule":true,"ran":[true,false]}`, scopes: `["openid"]`}.check(t, resp)
	sameJSON(t, "scopes added", resp.AccessTokenScopesAdded, `["extra"]`)
}

func TestPreUserRegistration(t *testing.T) {
	cases := []struct {
		name   string
		action string
		want   expect
	}{
		{
			name: "deny with a message for the user",
			action: `exports.onExecutePreUserRegistration = async (event, api) => {
  if (!event.user.user_id && event.user.email.endsWith('@example.com')) api.access.deny('blocked domain', 'Sign up with your work email');
};`,
			want: expect{outcome: OutcomeDenied, denialCode: "access_denied", denialMsg: "blocked domain", userMessage: "Sign up with your work email"},
		},
		{
			name:   "validation error",
			action: `exports.onExecutePreUserRegistration = async (event, api) => { api.validation.error('invalid_phone', 'A phone number is required'); };`,
			want:   expect{outcome: OutcomeDenied, denialCode: "invalid_phone", denialMsg: "A phone number is required", userMessage: "A phone number is required"},
		},
		{
			name: "metadata",
			action: `exports.onExecutePreUserRegistration = async (event, api) => {
  api.user.setUserMetadata('source', event.request.query.state);
  api.user.setAppMetadata('signup_ip', event.request.ip);
};`,
			want: expect{writes: `[{"field":"user_metadata","patch":{"source":"xyz"}},{"field":"app_metadata","patch":{"signup_ip":"203.0.113.7"}}]`},
		},
		{
			name:   "no token api before the user exists",
			action: `exports.onExecutePreUserRegistration = async (event, api) => { api.idToken.setCustomClaim('x', 1); };`,
			want:   expect{outcome: OutcomeError, errKind: "exception", errContains: "TypeError"},
		},
	}
	e := newTestEngine(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.check(t, runReq(t, e, actionsRequest(TriggerPreUserRegistration, tc.action)))
		})
	}
}

func TestPostUserRegistrationNeverFails(t *testing.T) {
	e := newTestEngine(t)
	req := actionsRequest(TriggerPostUserRegistration,
		`exports.onExecutePostUserRegistration = async (event, api) => { throw new Error('slack is down'); };`,
		`exports.onExecutePostUserRegistration = async (event, api) => { console.log('second ran for', event.user.user_id, typeof api.access); };`,
	)
	resp := runReq(t, e, req)
	expect{console: []string{
		"[action1] error: exception: Error: slack is down",
		"[action2] second ran for auth0|507f1f77bcf86cd799439011 undefined",
	}}.check(t, resp)
	if resp.Error != nil || resp.Timings[0].Outcome != OutcomeError || resp.Timings[1].Outcome != OutcomeOK {
		t.Fatalf("error %+v timings %+v", resp.Error, resp.Timings)
	}
}

func TestActionCache(t *testing.T) {
	now := testNow
	e := NewEngine(EngineOptions{Now: func() time.Time { return now }})
	run := func(src string) Response {
		t.Helper()
		req := actionsRequest(TriggerPostLogin, `exports.onExecutePostLogin = async (event, api) => {`+src+`};`)
		return runReq(t, e, req)
	}
	resp := run(`
  const r = api.cache.set('token', 'abc', { ttl: 60000 });
  const bad = [api.cache.set('k'.repeat(65), 'v').code, api.cache.set('n', 42).code, api.cache.set('big', 'x'.repeat(5000)).code];
  api.idToken.setCustomClaim('set', [r.type, r.record.value, r.record.expires_at, bad]);`)
	expect{idClaims: fmt.Sprintf(`{"set":["success","abc",%d,["invalid_key","invalid_value","value_too_large"]]}`, now.Add(time.Minute).UnixMilli())}.check(t, resp)

	resp = run(`api.idToken.setCustomClaim('got', api.cache.get('token'));`)
	expect{idClaims: fmt.Sprintf(`{"got":{"value":"abc","expires_at":%d}}`, now.Add(time.Minute).UnixMilli())}.check(t, resp)

	now = now.Add(2 * time.Minute)
	resp = run(`api.idToken.setCustomClaim('expired', api.cache.get('token') === undefined);`)
	expect{idClaims: `{"expired":true}`}.check(t, resp)

	resp = run(`
  for (let i = 0; i < 25; i++) api.cache.set('k' + i, 'v', { ttl: 1000 * (i + 1) });
  const kept = [];
  for (let i = 0; i < 25; i++) if (api.cache.get('k' + i)) kept.push(i);
  api.cache.delete('k24');
  api.idToken.setCustomClaim('kept', [kept.length, kept[0], api.cache.get('k24') === undefined]);`)
	expect{idClaims: `{"kept":[20,5,true]}`}.check(t, resp)

	// Another action does not see this one's cache.
	req := actionsRequest(TriggerPostLogin, `exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('other', api.cache.get('k1') === undefined); };`)
	req.Scripts[0].ID = "another"
	expect{idClaims: `{"other":true}`}.check(t, runReq(t, e, req))
}

func TestActionSecretsReadOnly(t *testing.T) {
	e := newTestEngine(t)
	resp := runReq(t, e, actionsRequest(TriggerPostLogin, `"use strict";
exports.onExecutePostLogin = async (event, api) => {
  let threw = false;
  try { event.secrets.API_KEY = 'x'; } catch (e) { threw = e instanceof TypeError; }
  api.idToken.setCustomClaim('s', [threw, event.secrets.API_KEY, typeof configuration]);
};`))
	expect{idClaims: `{"s":[true,"k-123","undefined"]}`}.check(t, resp)
}
