package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/dop251/goja"

	"github.com/latchauth/latch/storage"
)

// maxActionMetadataBytes is Auth0's limit on the metadata the actions of one login may set,
// per field (AUTH0-COMPAT §4).
const maxActionMetadataBytes = 32 << 10

// actionState is what the actions of one run asked for; it is applied once, at the end
// (Auth0 aggregates api.user.setUserMetadata across all actions into one write).
type actionState struct {
	idClaims     map[string]any
	atClaims     map[string]any
	scopesAdd    []string
	scopesRemove []string
	metadata     map[string]map[string]any // field → key → value (nil deletes)
	mdBytes      map[string]map[string]int
	denial       *Denial
}

// runAction runs one action: the module, then its handler for the trigger with (event, api),
// awaiting its promise.
func (r *run) runAction(i int) scriptResult {
	p, fail := r.compiled(i)
	if fail != nil {
		return *fail
	}
	r.armScript()
	defer r.wd.disarm()

	wv, err := r.runProgram(p.prg)
	if err != nil {
		return r.failed(i, err)
	}
	wrapper, ok := goja.AssertFunction(wv)
	if !ok {
		return r.fail(i, "internal", "the action module is not a function")
	}
	module, exports := r.vm.NewObject(), r.vm.NewObject()
	_ = module.Set("exports", exports)
	if _, err := r.call(wrapper, exports, exports, r.vm.ToValue(r.requireFn), module); err != nil {
		return r.failed(i, err)
	}
	var handler goja.Callable
	if ex, ok := module.Get("exports").(*goja.Object); ok {
		handler, _ = goja.AssertFunction(ex.Get(actionHandlers[r.req.Trigger]))
	}
	if handler == nil {
		return scriptResult{outcome: "skipped"} // not bound to this trigger
	}
	ret, err := r.call(handler, goja.Undefined(), r.actionEvent(), r.actionAPI(i))
	if err != nil && r.act.denial == nil {
		return r.failed(i, err)
	}
	if prom, ok := isPromise(ret); ok && err == nil {
		r.own = prom
	}
	r.reportUnhandled()
	if r.own != nil {
		settled := func() bool { return r.own.State() != goja.PromiseStatePending }
		switch r.wait(settled) {
		case waitFailed:
			if r.act.denial == nil {
				return r.failed(i, r.failure)
			}
		case waitStopped:
			return r.stopped(i, r.wd.fired(), !r.stoppedJS)
		case waitIdle:
			if r.act.denial == nil {
				return r.fail(i, "no_callback", "the handler's promise never settled")
			}
		}
		if r.own.State() == goja.PromiseStateRejected && r.act.denial == nil {
			return r.rejected(i, r.own.Result())
		}
	}
	if r.act.denial != nil {
		return scriptResult{outcome: OutcomeDenied, denial: r.act.denial}
	}
	return scriptResult{outcome: OutcomeOK}
}

// actionEvent is the handler's event (AUTH0-COMPAT §4), built afresh for each action.
func (r *run) actionEvent() *goja.Object {
	c := &r.req.Context
	u := &r.req.User
	ev := map[string]any{
		"tenant":     map[string]any{"id": c.Tenant},
		"client":     map[string]any{"client_id": c.ClientID, "name": c.ClientName, "metadata": orEmpty(c.ClientMetadata)},
		"connection": map[string]any{"id": c.ConnectionID, "name": c.Connection, "strategy": c.ConnectionStrategy, "metadata": map[string]any{}},
		"request":    r.actionRequest(),
	}
	switch r.req.Trigger {
	case TriggerPostLogin:
		user := r.profile(u, true).del("logins_count").del("last_ip").del("blocked")
		user = append(user, field{"multifactor", []any{}}, field{"enrolledFactors", []any{}})
		ev["user"] = user
		ev["stats"] = map[string]any{"logins_count": c.LoginsCount}
		methods := make([]any, len(c.AuthenticationMethods))
		for i, m := range c.AuthenticationMethods {
			methods[i] = map[string]any{"name": m.Name, "timestamp": m.Timestamp}
		}
		ev["authentication"] = map[string]any{"methods": methods}
		ev["authorization"] = map[string]any{"roles": []any{}}
		ev["transaction"] = r.transaction()
		if c.Audience != "" {
			ev["resource_server"] = map[string]any{"identifier": c.Audience}
		}
		if c.SessionID != "" {
			ev["session"] = map[string]any{"id": c.SessionID}
		}
	case TriggerPreUserRegistration:
		user := fields{{"email", u.Email}}
		for _, f := range []field{{"username", u.Username}, {"name", u.Name}, {"nickname", u.Nickname}, {"given_name", u.GivenName}, {"family_name", u.FamilyName}, {"picture", u.Picture}, {"phone_number", u.PhoneNumber}} {
			if f.v != "" {
				user = append(user, f)
			}
		}
		user = append(user, field{"user_metadata", u.UserMetadata}, field{"app_metadata", u.AppMetadata})
		ev["user"] = user
		ev["transaction"] = r.transaction()
	case TriggerPostUserRegistration:
		ev["user"] = r.profile(u, false)
	}
	obj := toJS(r.vm, ev).(*goja.Object)
	_ = obj.Set("secrets", r.configuration())
	return obj
}

func (r *run) actionRequest() map[string]any {
	h := &r.req.Context.Request
	req := map[string]any{
		"ip":         h.IP,
		"hostname":   h.Hostname,
		"method":     h.Method,
		"user_agent": h.UserAgent,
		"query":      orEmpty(h.Query),
		"body":       orEmpty(h.Body),
	}
	if h.Language != "" {
		req["language"] = h.Language
	}
	if h.Geoip != nil {
		geo := make(map[string]any, len(h.Geoip))
		for k, v := range h.Geoip {
			geo[camelCase(k)] = v
		}
		req["geoip"] = geo
	}
	return req
}

// camelCase turns the rules' snake_case geoip keys into the actions' camelCase ones
// (country_code → countryCode).
func camelCase(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			rs := []rune(parts[i])
			rs[0] = unicode.ToUpper(rs[0])
			parts[i] = string(rs)
		}
	}
	return strings.Join(parts, "")
}

// transaction is event.transaction, from what the authorize request said.
func (r *run) transaction() map[string]any {
	c := &r.req.Context
	q := c.Request.Query
	t := map[string]any{
		"protocol":         c.Protocol,
		"requested_scopes": append([]string{}, c.Scopes...),
		"metadata":         map[string]any{},
	}
	for _, k := range []string{"redirect_uri", "response_mode", "state", "login_hint"} {
		if v := q[k]; v != "" {
			t[k] = v
		}
	}
	for _, k := range []string{"response_type", "prompt", "ui_locales", "acr_values"} {
		if v := q[k]; v != "" {
			t[k] = strings.Fields(v)
		}
	}
	if l := c.Request.Language; l != "" {
		t["locale"] = l
	}
	return t
}

// actionAPI is the handler's api for the trigger. The parts latch does not implement throw.
func (r *run) actionAPI(i int) *goja.Object {
	vm := r.vm
	api := vm.NewObject()
	obj := func(parent *goja.Object, name string) *goja.Object {
		o := vm.NewObject()
		_ = parent.Set(name, o)
		return o
	}
	method := func(o *goja.Object, name string, f func(call goja.FunctionCall)) {
		_ = o.Set(name, func(call goja.FunctionCall) goja.Value {
			f(call)
			return api
		})
	}
	// The parts latch does not implement are built on first use: every method of them throws.
	unsupported := func(name string) *goja.Object {
		o := vm.NewDynamicObject(&unsupportedAPI{r: r, path: "api." + name, fns: map[string]goja.Value{}})
		_ = api.Set(name, o)
		return o
	}
	r.cacheAPI(i, obj(api, "cache"))
	if r.req.Trigger == TriggerPostUserRegistration {
		return api
	}

	access := obj(api, "access")
	method(access, "deny", func(call goja.FunctionCall) {
		if r.act.denial != nil {
			return
		}
		d := &Denial{Code: "access_denied", Message: truncate(argString(call, 0), maxMessageBytes), ScriptID: r.req.Scripts[i].ID}
		if r.req.Trigger == TriggerPreUserRegistration {
			d.UserMessage = truncate(argString(call, 1), maxMessageBytes)
		}
		r.act.denial = d
	})
	user := obj(api, "user")
	method(user, "setUserMetadata", func(call goja.FunctionCall) { r.setActionMetadata(FieldUserMetadata, call) })
	method(user, "setAppMetadata", func(call goja.FunctionCall) { r.setActionMetadata(FieldAppMetadata, call) })

	if r.req.Trigger == TriggerPreUserRegistration {
		validation := obj(api, "validation")
		method(validation, "error", func(call goja.FunctionCall) {
			if r.act.denial != nil {
				return
			}
			msg := truncate(argString(call, 1), maxMessageBytes)
			r.act.denial = &Denial{Code: argString(call, 0), Message: msg, UserMessage: msg, ScriptID: r.req.Scripts[i].ID}
			if r.act.denial.Code == "" {
				r.act.denial.Code = "invalid_signup"
			}
		})
		return api
	}

	idToken := obj(api, "idToken")
	method(idToken, "setCustomClaim", func(call goja.FunctionCall) { r.setClaim(&r.act.idClaims, call) })
	accessToken := obj(api, "accessToken")
	method(accessToken, "setCustomClaim", func(call goja.FunctionCall) { r.setClaim(&r.act.atClaims, call) })
	method(accessToken, "addScope", func(call goja.FunctionCall) {
		s := argString(call, 0)
		r.act.scopesRemove = slices.DeleteFunc(r.act.scopesRemove, func(x string) bool { return x == s })
		if !slices.Contains(r.act.scopesAdd, s) {
			r.act.scopesAdd = append(r.act.scopesAdd, s)
		}
	})
	method(accessToken, "removeScope", func(call goja.FunctionCall) {
		s := argString(call, 0)
		r.act.scopesAdd = slices.DeleteFunc(r.act.scopesAdd, func(x string) bool { return x == s })
		if !slices.Contains(r.act.scopesRemove, s) {
			r.act.scopesRemove = append(r.act.scopesRemove, s)
		}
	})
	rules := obj(api, "rules")
	_ = rules.Set("wasExecuted", func(id string) bool { return r.executedRules[id] })

	for _, name := range []string{"multifactor", "authentication", "samlResponse", "prompt", "session", "refreshToken", "transaction"} {
		unsupported(name)
	}
	redirect := unsupported("redirect")
	_ = redirect.Set("canRedirect", vm.ToValue(func() bool { return false }))
	return api
}

// unsupportedAPI is a part of api latch does not implement (api.multifactor...): each of its
// methods throws "api.<part>.<method> is not supported by latch".
type unsupportedAPI struct {
	r    *run
	path string
	fns  map[string]goja.Value
}

func (u *unsupportedAPI) Get(k string) goja.Value {
	if f, ok := u.fns[k]; ok {
		return f
	}
	msg := u.path + "." + k + " is not supported by latch"
	f := u.r.vm.ToValue(func(goja.FunctionCall) goja.Value { panic(u.r.newError("Error", msg)) })
	u.fns[k] = f
	return f
}

func (u *unsupportedAPI) Set(k string, v goja.Value) bool {
	u.fns[k] = v
	return true
}
func (u *unsupportedAPI) Has(string) bool { return true }
func (u *unsupportedAPI) Delete(k string) bool {
	delete(u.fns, k)
	return true
}
func (u *unsupportedAPI) Keys() []string { return nil }

func argString(call goja.FunctionCall, i int) string {
	v := call.Argument(i)
	if goja.IsUndefined(v) || goja.IsNull(v) {
		return ""
	}
	return safeString(v)
}

// setClaim is api.idToken/accessToken.setCustomClaim(name, value): the value is taken as
// JSON now; undefined removes the claim.
func (r *run) setClaim(claims *map[string]any, call goja.FunctionCall) {
	name := argString(call, 0)
	v, ok, err := exportJSON(r.vm, call.Argument(1), maxPatchBytes, r.outOfTime)
	if err != nil {
		r.throwJSONError(err)
	}
	if *claims == nil {
		*claims = map[string]any{}
	}
	if !ok {
		delete(*claims, name)
		return
	}
	(*claims)[name] = v
}

// setActionMetadata is api.user.setUserMetadata / setAppMetadata(name, value): null or
// undefined deletes the key; the changes of all actions make one write per field.
func (r *run) setActionMetadata(field string, call goja.FunctionCall) {
	name := argString(call, 0)
	if name == "" {
		panic(r.vm.NewTypeError("the metadata key must be a non-empty string"))
	}
	b, ok, err := stringify(r.vm, call.Argument(1), maxActionMetadataBytes, r.outOfTime)
	if err != nil {
		rethrowJS(err)
		panic(r.limitError(fmt.Sprintf("latch: %s values set by actions must be JSON of at most 32 kB (%v)", field, err)))
	}
	var v any
	if ok {
		if v, err = decodeJSON(b); err != nil {
			panic(err)
		}
	}
	patch := storage.Metadata{name: v}
	if field == FieldAppMetadata {
		err = storage.CheckAppMetadata(patch)
	} else {
		err = storage.CheckMetadataKeys(patch)
	}
	if err != nil {
		panic(r.newError("Error", err.Error()))
	}
	if r.act.metadata == nil {
		r.act.metadata = map[string]map[string]any{}
		r.act.mdBytes = map[string]map[string]int{}
	}
	if r.act.metadata[field] == nil {
		r.act.metadata[field] = map[string]any{}
		r.act.mdBytes[field] = map[string]int{}
	}
	total := 0
	r.act.mdBytes[field][name] = len(name) + len(b)
	for _, n := range r.act.mdBytes[field] {
		total += n
	}
	if total > maxActionMetadataBytes {
		delete(r.act.mdBytes[field], name)
		panic(r.limitError(fmt.Sprintf("latch: actions may set at most 32 kB of %s per login", field)))
	}
	r.act.metadata[field][name] = v
}

// actionResults adds what the actions asked for to the response: the aggregated metadata
// writes (also on denial: the caller discards them), and on success the claims and scopes.
func (r *run) actionWrites() {
	for _, field := range []string{FieldUserMetadata, FieldAppMetadata} {
		if md := r.act.metadata[field]; len(md) > 0 {
			r.resp.MetadataWrites = append(r.resp.MetadataWrites, MetadataWrite{Field: field, Patch: storage.Metadata(md)})
		}
	}
}

func (r *run) actionClaims() {
	if len(r.act.idClaims) > 0 {
		if r.resp.IDTokenClaims == nil {
			r.resp.IDTokenClaims = map[string]any{}
		}
		for k, v := range r.act.idClaims {
			r.resp.IDTokenClaims[k] = v
		}
	}
	if len(r.act.atClaims) > 0 {
		if r.resp.AccessTokenClaims == nil {
			r.resp.AccessTokenClaims = map[string]any{}
		}
		for k, v := range r.act.atClaims {
			r.resp.AccessTokenClaims[k] = v
		}
	}
	r.resp.AccessTokenScopesAdded = r.act.scopesAdd
	r.resp.AccessTokenScopesRemoved = r.act.scopesRemove
}

// The actions' cache (api.cache), per Engine and per action (Script.ID), with Auth0's
// limits: 20 entries, keys up to 64 bytes, values up to 4 kB, lifetimes up to 24 h
// (15 minutes by default). When full, the entry closest to expiry makes room.
const (
	cacheMaxEntries = 20
	cacheMaxKey     = 64
	cacheMaxValue   = 4 << 10
	cacheDefaultTTL = 15 * time.Minute
	cacheMaxTTL     = 24 * time.Hour
)

func (r *run) cacheAPI(i int, c *goja.Object) {
	id := r.req.Scripts[i].ID
	result := func(code string, rec *cacheEntry) goja.Value {
		o := r.vm.NewObject()
		if code != "" {
			_ = o.Set("type", "error")
			_ = o.Set("code", code)
			return o
		}
		_ = o.Set("type", "success")
		if rec != nil {
			_ = o.Set("record", r.cacheRecord(rec))
		}
		return o
	}
	_ = c.Set("get", func(key string) goja.Value {
		e, ok := r.e.cache.get(id, key, r.e.now())
		if !ok {
			return goja.Undefined()
		}
		return r.cacheRecord(&e)
	})
	_ = c.Set("set", func(call goja.FunctionCall) goja.Value {
		key := argString(call, 0)
		if len(key) == 0 || len(key) > cacheMaxKey {
			return result("invalid_key", nil)
		}
		if !goja.IsString(call.Argument(1)) {
			return result("invalid_value", nil)
		}
		value := call.Argument(1).String()
		if len(value) > cacheMaxValue {
			return result("value_too_large", nil)
		}
		now := r.e.now()
		ttl := cacheDefaultTTL
		expires := now.Add(ttl)
		if opts, ok := call.Argument(2).(*goja.Object); ok {
			if t := opts.Get("ttl"); t != nil && !goja.IsUndefined(t) {
				expires = now.Add(time.Duration(t.ToFloat() * float64(time.Millisecond)))
			}
			if t := opts.Get("expires_at"); t != nil && !goja.IsUndefined(t) {
				expires = time.UnixMilli(t.ToInteger())
			}
		}
		if expires.After(now.Add(cacheMaxTTL)) {
			expires = now.Add(cacheMaxTTL)
		}
		if !expires.After(now) {
			return result("invalid_ttl", nil)
		}
		e := cacheEntry{value: value, expires: expires}
		r.e.cache.set(id, key, e, now)
		return result("", &e)
	})
	_ = c.Set("delete", func(key string) goja.Value {
		r.e.cache.delete(id, key)
		return result("", nil)
	})
}

func (r *run) cacheRecord(e *cacheEntry) *goja.Object {
	o := r.vm.NewObject()
	_ = o.Set("value", e.value)
	_ = o.Set("expires_at", e.expires.UnixMilli())
	return o
}
