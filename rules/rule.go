package rules

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/latchauth/latch/storage"
)

// unauthorizedErrorJS defines Auth0's UnauthorizedError; callable with or without new.
var unauthorizedErrorJS = goja.MustCompile("UnauthorizedError", `(function () {
  function UnauthorizedError(message) {
    if (!(this instanceof UnauthorizedError)) return new UnauthorizedError(message);
    var e = new Error(message);
    Object.defineProperty(this, 'message', { value: message === undefined ? '' : String(message), writable: true, configurable: true });
    Object.defineProperty(this, 'stack', { value: 'UnauthorizedError: ' + this.message + String(e.stack || '').replace(/^[^\n]*/, ''), writable: true, configurable: true });
  }
  UnauthorizedError.prototype = Object.create(Error.prototype, {
    constructor: { value: UnauthorizedError, writable: true, configurable: true },
    name: { value: 'UnauthorizedError', writable: true, configurable: true },
    statusCode: { value: 401, writable: true, configurable: true },
  });
  return UnauthorizedError;
})()`, true)

// maxPatchBytes bounds one metadata write and the claims objects (the caller applies the
// real limits: profile size, 100 KB of claims).
const maxPatchBytes = 1 << 20

// setupRules builds the user and context objects the rules pass along.
func (r *run) setupRules() {
	if r.rulesReady {
		return
	}
	r.rulesReady = true
	r.user = r.ruleUser()
	r.context = r.ruleContext()
}

// configuration is the rules' read-only view of Request.Configuration: assignments are
// ignored (a TypeError in strict mode), missing keys are undefined.
func (r *run) configuration() goja.Value {
	return r.vm.NewDynamicObject(readOnlyMap{vm: r.vm, m: r.req.Configuration})
}

type readOnlyMap struct {
	vm *goja.Runtime
	m  map[string]string
}

func (c readOnlyMap) Get(k string) goja.Value {
	if v, ok := c.m[k]; ok {
		return c.vm.ToValue(v)
	}
	return nil
}
func (c readOnlyMap) Set(string, goja.Value) bool { return false }
func (c readOnlyMap) Has(k string) bool {
	_, ok := c.m[k]
	return ok
}
func (c readOnlyMap) Delete(string) bool { return false }
func (c readOnlyMap) Keys() []string     { return sortedKeys(c.m) }

// profile is the normalized profile (AUTH0-COMPAT §1.1) as rules and post-user-registration
// see it, in Auth0's order; with loginNow, last_login, updated_at, logins_count and last_ip
// already count this login.
func (r *run) profile(u *storage.User, loginNow bool) fields {
	p := make(fields, 0, 24)
	if u.ID != "" {
		p = append(p, field{"user_id", u.ID})
	}
	p = append(p, field{"email", u.Email}, field{"email_verified", u.EmailVerified})
	if u.Username != "" {
		p = append(p, field{"username", u.Username})
	}
	if u.PhoneNumber != "" {
		p = append(p, field{"phone_number", u.PhoneNumber}, field{"phone_verified", u.PhoneVerified})
	}
	p = append(p, field{"name", u.Name}, field{"nickname", u.Nickname})
	if u.GivenName != "" {
		p = append(p, field{"given_name", u.GivenName})
	}
	if u.FamilyName != "" {
		p = append(p, field{"family_name", u.FamilyName})
	}
	p = append(p, field{"picture", u.Picture})
	updated, lastLogin, logins, lastIP := u.UpdatedAt, u.LastLogin, u.LoginsCount, u.LastIP
	if loginNow {
		updated, lastLogin, logins = r.now, r.now, r.req.Context.LoginsCount
		if ip := r.req.Context.Request.IP; ip != "" {
			lastIP = ip
		}
	}
	for _, t := range []field{{"created_at", u.CreatedAt}, {"updated_at", updated}} {
		if !t.v.(time.Time).IsZero() {
			p = append(p, t)
		}
	}
	if u.ID != "" {
		ids := u.Identities()
		idents := make([]any, len(ids))
		for i, id := range ids {
			idents[i] = fields{{"connection", id.Connection}, {"user_id", id.UserID}, {"provider", id.Provider}, {"isSocial", id.IsSocial}}
		}
		p = append(p, field{"identities", idents})
	}
	p = append(p, field{"user_metadata", u.UserMetadata}, field{"app_metadata", u.AppMetadata})
	if lastIP != "" {
		p = append(p, field{"last_ip", lastIP})
	}
	if !lastLogin.IsZero() {
		p = append(p, field{"last_login", lastLogin})
	}
	if u.ID != "" {
		p = append(p, field{"logins_count", logins})
	}
	if !u.LastPasswordReset.IsZero() {
		p = append(p, field{"last_password_reset", u.LastPasswordReset})
	}
	if u.Blocked {
		p = append(p, field{"blocked", true})
	}
	return p
}

// ruleUser is the rules' user: the profile with app_metadata's keys also at the root
// (AUTH0-COMPAT §1.2), where they never replace a profile field.
func (r *run) ruleUser() *goja.Object {
	p := r.profile(&r.req.User, true)
	for _, k := range sortedKeys(r.req.User.AppMetadata) {
		if !p.has(k) {
			p = append(p, field{k, r.req.User.AppMetadata[k]})
		}
	}
	return toJS(r.vm, p).(*goja.Object)
}

// ruleContext is the rules' context (AUTH0-COMPAT §3.4).
func (r *run) ruleContext() *goja.Object {
	c := &r.req.Context
	methods := make([]any, len(c.AuthenticationMethods))
	for i, m := range c.AuthenticationMethods {
		methods[i] = fields{{"name", m.Name}, {"timestamp", m.Timestamp.UnixMilli()}}
	}
	req := fields{
		{"userAgent", c.Request.UserAgent},
		{"ip", c.Request.IP},
		{"hostname", c.Request.Hostname},
		{"query", orEmpty(c.Request.Query)},
		{"body", orEmpty(c.Request.Body)},
	}
	if c.Request.Geoip != nil {
		req = append(req, field{"geoip", c.Request.Geoip})
	}
	ctx := fields{
		{"tenant", c.Tenant},
		{"clientID", c.ClientID},
		{"clientName", c.ClientName},
		{"clientMetadata", orEmpty(c.ClientMetadata)},
		{"connection", c.Connection},
		{"connectionID", c.ConnectionID},
		{"connectionStrategy", c.ConnectionStrategy},
		{"connectionOptions", fields{}},
		{"connectionMetadata", fields{}},
		{"protocol", c.Protocol},
		{"stats", fields{{"loginsCount", c.LoginsCount}}},
		{"sso", fields{{"with_auth0", false}, {"with_dbconn", false}, {"current_clients", []any{}}}},
		{"request", req},
		{"authentication", fields{{"methods", methods}}},
		{"authorization", fields{{"roles", []any{}}}},
		{"idToken", fields{}},
		{"accessToken", fields{}},
	}
	if c.SessionID != "" {
		ctx = append(ctx, field{"sessionID", c.SessionID})
	}
	return toJS(r.vm, ctx).(*goja.Object)
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// auth0Object is the rules' auth0: the two metadata calls of the restricted Management
// client, and the tenant's domain. There is no Management API token for rules yet:
// accessToken is "" (documented).
func (r *run) auth0Object() *goja.Object {
	vm := r.vm
	a := vm.NewObject()
	domain, base := "", ""
	if iss, err := url.Parse(r.req.Context.Issuer); err == nil && iss.Host != "" {
		domain = iss.Host
		base = strings.TrimSuffix(r.req.Context.Issuer, "/") + "/api/v2"
	}
	_ = a.Set("domain", domain)
	_ = a.Set("baseUrl", base)
	_ = a.Set("accessToken", "")
	users := vm.NewObject()
	_ = users.Set("updateUserMetadata", func(call goja.FunctionCall) goja.Value {
		return r.updateMetadata(call, FieldUserMetadata)
	})
	_ = users.Set("updateAppMetadata", func(call goja.FunctionCall) goja.Value {
		return r.updateMetadata(call, FieldAppMetadata)
	})
	_ = a.Set("users", users)
	return a
}

// updateMetadata is auth0.users.updateUserMetadata / updateAppMetadata(userId, metadata[,
// cb]). The patch is taken when called (as an HTTP call would serialize it), recorded as a
// MetadataWrite and merged into the user object the rules share; the promise resolves with
// that user. Writes to another user are refused: a Response can only carry this user's.
func (r *run) updateMetadata(call goja.FunctionCall, field string) goja.Value {
	p, resolve, reject := r.vm.NewPromise()
	cb := call.Argument(2)
	_, hasCallback := goja.AssertFunction(cb)
	// With a callback (the auth0@2 client's style) there is no promise: it runs as a macrotask.
	settle := func(err *goja.Object) goja.Value {
		if hasCallback {
			args := []goja.Value{cb, goja.Null(), r.user}
			if err != nil {
				args = []goja.Value{cb, err}
			}
			r.setTimer(goja.FunctionCall{Arguments: args}, false, true)
			return goja.Undefined()
		}
		if err != nil {
			_ = reject(err)
		} else {
			_ = resolve(r.user)
		}
		return r.vm.ToValue(p)
	}
	id := call.Argument(0).String()
	if id != r.req.User.ID {
		return settle(r.newError("Error", fmt.Sprintf("latch: rules may only update the metadata of the user logging in (%s), not %s", r.req.User.ID, truncate(id, 100))))
	}
	patch, err := exportObject(r.vm, call.Argument(1), maxPatchBytes, r.outOfTime)
	if err != nil {
		rethrowJS(err)
	} else {
		if field == FieldAppMetadata {
			err = storage.CheckAppMetadata(patch)
		} else {
			err = storage.CheckMetadataKeys(patch)
		}
	}
	if err != nil {
		return settle(r.newError("Error", "Bad Request: "+field+" "+errorText(err)))
	}
	r.resp.MetadataWrites = append(r.resp.MetadataWrites, MetadataWrite{Field: field, Patch: storage.Metadata(patch)})
	r.mergeIntoUser(field, call.Argument(1).(*goja.Object), len(patch) == 0)
	return settle(nil)
}

// mergeIntoUser applies a top-level merge patch to user[field]: {} empties it, null deletes a
// key, any other value replaces it.
func (r *run) mergeIntoUser(field string, patch *goja.Object, clear bool) {
	cur, ok := r.user.Get(field).(*goja.Object)
	if !ok || clear {
		cur = r.vm.NewObject()
		_ = r.user.Set(field, cur)
		if clear {
			return
		}
	}
	for _, k := range patch.Keys() {
		v := patch.Get(k)
		if goja.IsNull(v) {
			_ = cur.Delete(k)
		} else if !goja.IsUndefined(v) {
			_ = cur.Set(k, v)
		}
	}
}

// ruleCallback is the state of one rule's callback.
type ruleCallback struct {
	called bool
	denial *Denial
}

// runRule runs one rule: it calls the function with (user, context, callback) and waits for
// callback.
func (r *run) runRule(i int) scriptResult {
	p, fail := r.compiled(i)
	if fail != nil {
		return *fail
	}
	r.setupRules()
	r.armScript()
	defer r.wd.disarm()

	fv, err := r.runProgram(p.prg)
	if err != nil {
		return r.failed(i, err)
	}
	fn, ok := goja.AssertFunction(fv)
	if !ok {
		return r.fail(i, "invalid_result", "the rule is not a function")
	}
	cb := &ruleCallback{}
	callback := r.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		r.onCallback(i, cb, call)
		return goja.Undefined()
	})
	ret, err := r.call(fn, goja.Undefined(), r.user, r.context, callback)
	if err != nil {
		if !cb.called {
			return r.failed(i, err)
		}
		r.log(i, "error", "exception after callback (ignored): "+errorText(err))
	}
	if prom, ok := isPromise(ret); ok {
		r.own = prom
	}
	r.reportUnhandled()
	rejected := func() bool { return r.own != nil && r.own.State() == goja.PromiseStateRejected }
	switch r.wait(func() bool { return cb.called || rejected() }) {
	case waitFailed:
		return r.failed(i, r.failure)
	case waitStopped:
		return r.stopped(i, r.wd.fired(), !r.stoppedJS)
	case waitIdle:
		return r.fail(i, "no_callback", "the rule finished without calling callback")
	}
	if !cb.called {
		return r.rejected(i, r.own.Result())
	}
	if cb.denial != nil {
		return scriptResult{outcome: OutcomeDenied, denial: cb.denial}
	}
	for _, unsupported := range []struct{ key, what string }{
		{"redirect", "redirect rules (context.redirect)"},
		{"multifactor", "multifactor rules (context.multifactor)"},
		{"primaryUser", "account linking (context.primaryUser)"},
	} {
		var v goja.Value
		if err := guard(r.vm, func() { v = r.context.Get(unsupported.key) }); err != nil {
			return r.failed(i, err)
		}
		if v != nil && !goja.IsUndefined(v) && !goja.IsNull(v) {
			return r.fail(i, "invalid_result", unsupported.what+" are not supported yet: the login cannot go on as the rule asks")
		}
	}
	r.executedRules[r.req.Scripts[i].ID] = true
	r.lastRule = i
	return scriptResult{outcome: OutcomeOK}
}

// onCallback is a rule's callback(err, user, context). A call after the first, or after the
// rule has finished, is ignored and logged.
func (r *run) onCallback(i int, cb *ruleCallback, call goja.FunctionCall) {
	if cb.called || r.script != i {
		r.log(i, "warn", "callback called more than once (ignored)")
		return
	}
	cb.called = true
	if err := call.Argument(0); err.ToBoolean() {
		cb.denial = r.denialFrom(i, err)
		return
	}
	if u, ok := call.Argument(1).(*goja.Object); ok {
		r.user = u
	}
	if c, ok := call.Argument(2).(*goja.Object); ok {
		r.context = c
	}
}

// denialFrom turns callback(err) into a denial (AUTH0-COMPAT §2.3): UnauthorizedError →
// unauthorized; any other Error, a string, or anything else → access_denied.
// The denial stands even if reading the error throws (a hostile getter).
func (r *run) denialFrom(i int, err goja.Value) *Denial {
	d := &Denial{Code: "access_denied", ScriptID: r.req.Scripts[i].ID}
	if obj, ok := err.(*goja.Object); ok {
		var name, msg goja.Value
		if guard(r.vm, func() { name, msg = obj.Get("name"), obj.Get("message") }) != nil {
			return d
		}
		if name != nil && safeString(name) == "UnauthorizedError" {
			d.Code = "unauthorized"
		}
		if msg != nil && !goja.IsUndefined(msg) {
			d.Message = truncate(safeString(msg), maxMessageBytes)
			return d
		}
	}
	d.Message = truncate(safeString(err), maxMessageBytes)
	return d
}

// ruleClaims reads context.idToken and context.accessToken after the rules: their keys are
// the claims (context.accessToken.scope replaces the granted scopes).
func (r *run) ruleClaims() scriptResult {
	if r.context == nil {
		return scriptResult{outcome: OutcomeOK}
	}
	for _, which := range []string{"idToken", "accessToken"} {
		var v goja.Value
		if err := guard(r.vm, func() { v = r.context.Get(which) }); err != nil {
			return r.fail(r.lastRule, "invalid_result", "context."+which+": "+errorText(err))
		}
		if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
			continue
		}
		claims, err := exportObject(r.vm, v, maxPatchBytes, r.outOfTime)
		if err != nil {
			return r.fail(r.lastRule, "invalid_result", "context."+which+" "+errorText(err))
		}
		if which == "idToken" {
			r.resp.IDTokenClaims = claims
			continue
		}
		if scope, ok := claims["scope"]; ok {
			delete(claims, "scope")
			r.resp.AccessTokenScopes = scopesOf(scope)
		}
		r.resp.AccessTokenClaims = claims
	}
	if len(r.resp.IDTokenClaims) == 0 {
		r.resp.IDTokenClaims = nil
	}
	if len(r.resp.AccessTokenClaims) == 0 {
		r.resp.AccessTokenClaims = nil
	}
	return scriptResult{outcome: OutcomeOK}
}

// scopesOf reads context.accessToken.scope: an array of strings (Auth0's form) or a
// space-separated string.
func scopesOf(v any) []string {
	out := []string{}
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	case string:
		out = append(out, strings.Fields(t)...)
	}
	return out
}
