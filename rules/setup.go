package rules

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// setup prepares the runtime. The globals latch adds are not properties of the global
// object: they come from a host object placed as its prototype, which builds each one the
// first time a script names it. A run pays only for what its scripts use (building them all
// up front cost more than the five rules of a typical pipeline), and the global object's own
// properties stay exactly the builtins plus what scripts define.
func (r *run) setup() {
	vm := r.vm
	vm.SetPromiseRejectionTracker(r.trackRejection)
	r.installGuards()
	r.globalBefore = r.e.global.snapshot()
	r.host = &host{r: r, vals: map[string]goja.Value{}}
	_ = vm.GlobalObject().SetPrototype(vm.NewDynamicObject(r.host))
}

// hostNames are the globals the host provides to every script; rules also get ruleNames.
var (
	hostNames = map[string]bool{
		"global": true, "console": true, "require": true,
		"setTimeout": true, "setInterval": true, "setImmediate": true,
		"clearTimeout": true, "clearInterval": true, "clearImmediate": true,
		"btoa": true, "atob": true, "Buffer": true, "URL": true, "URLSearchParams": true,
		"fetch": true, "Headers": true,
	}
	ruleNames = map[string]bool{"auth0": true, "configuration": true, "UnauthorizedError": true, "_": true, "request": true}
)

// host is the prototype of the global object (a goja DynamicObject): the lazily-built globals
// and the values of `global` kept from earlier runs (parsed on first use).
type host struct {
	r    *run
	vals map[string]goja.Value
	gone map[string]bool // deleted by a script
}

func (h *host) Has(k string) bool {
	if h.gone[k] {
		return false
	}
	if _, ok := h.vals[k]; ok {
		return true
	}
	if hostNames[k] || (ruleNames[k] && h.r.hasRules()) {
		return true
	}
	_, kept := h.r.globalBefore[k]
	return kept
}

func (h *host) Get(k string) goja.Value {
	if v, ok := h.vals[k]; ok {
		return v
	}
	if !h.Has(k) {
		return nil
	}
	v := h.r.makeGlobal(k)
	if v != nil {
		h.vals[k] = v
	}
	return v
}

func (h *host) Set(k string, v goja.Value) bool {
	h.vals[k] = v
	delete(h.gone, k)
	return true
}

func (h *host) Delete(k string) bool {
	delete(h.vals, k)
	if h.gone == nil {
		h.gone = map[string]bool{}
	}
	h.gone[k] = true
	return true
}

func (h *host) Keys() []string { return nil }

func (r *run) hasRules() bool {
	if r.req.Trigger != TriggerPostLogin {
		return false
	}
	for i := range r.req.Scripts {
		if r.req.Scripts[i].Kind == KindRule {
			return true
		}
	}
	return false
}

// makeGlobal builds the global named k.
func (r *run) makeGlobal(k string) goja.Value {
	vm := r.vm
	switch k {
	case "global":
		return r.globalObject()
	case "console":
		return r.consoleObject()
	case "require":
		return vm.ToValue(r.requireFn)
	case "setTimeout":
		return vm.ToValue(func(call goja.FunctionCall) goja.Value { return r.setTimer(call, false, false) })
	case "setInterval":
		return vm.ToValue(func(call goja.FunctionCall) goja.Value { return r.setTimer(call, true, false) })
	case "setImmediate":
		return vm.ToValue(func(call goja.FunctionCall) goja.Value { return r.setTimer(call, false, true) })
	case "clearTimeout", "clearInterval", "clearImmediate":
		return vm.ToValue(r.clearTimer)
	case "btoa":
		return vm.ToValue(func(s string) string {
			b, _ := decodeString(s, "latin1")
			return base64.StdEncoding.EncodeToString(b)
		})
	case "atob":
		return vm.ToValue(func(s string) string {
			b, err := decodeString(s, "base64")
			if err != nil {
				panic(r.newError("Error", "Invalid character"))
			}
			out, _ := encodeBytes(b, "latin1")
			return out
		})
	case "Buffer":
		return r.module("buffer").(*goja.Object).Get("Buffer")
	case "URL", "URLSearchParams":
		return r.module("url").(*goja.Object).Get(k)
	case "fetch", "Headers":
		return r.httpModule().Get(k)
	case "auth0":
		return r.auth0Object()
	case "configuration":
		return r.configuration()
	case "_":
		// Older Auth0 rules use lodash as a global, without require.
		return r.module("lodash")
	case "request":
		// And the callback-style request client.
		return r.module("request")
	case "UnauthorizedError":
		ue, err := vm.RunProgram(unauthorizedErrorJS)
		if err != nil {
			panic(err)
		}
		return ue
	}
	if raw, ok := r.globalBefore[k]; ok {
		r.globalRead[k] = true
		parse, _ := goja.AssertFunction(vm.Get("JSON").(*goja.Object).Get("parse"))
		v, err := parse(goja.Undefined(), vm.ToValue(raw))
		if err != nil {
			return nil
		}
		return v
	}
	return nil
}

func (r *run) consoleObject() *goja.Object {
	c := r.vm.NewObject()
	for _, level := range []string{"log", "info", "warn", "error", "debug", "trace", "dir"} {
		lv := level
		switch level {
		case "debug", "trace", "dir":
			lv = "log"
		}
		_ = c.Set(level, func(call goja.FunctionCall) goja.Value {
			// Formatting never produces more than what can still be kept.
			r.log(r.script, lv, r.format(call.Arguments, r.console.remaining()+1))
			return goja.Undefined()
		})
	}
	return c
}

// format is util.format: printf-like directives in a first string argument, then the other
// arguments inspected and joined with spaces. Objects print as JSON rather than as Node's
// util.inspect would.
func (r *run) format(args []goja.Value, budget int) string {
	var b strings.Builder
	rest := args
	if len(args) > 0 && goja.IsString(args[0]) && strings.Contains(args[0].String(), "%") {
		f := args[0].String()
		rest = args[1:]
		for i := 0; i < len(f) && b.Len() <= budget; i++ {
			c := f[i]
			if c != '%' || i+1 == len(f) {
				b.WriteByte(c)
				continue
			}
			d := f[i+1]
			if d == '%' {
				b.WriteByte('%')
				i++
				continue
			}
			if !strings.ContainsRune("sdifjoOc", rune(d)) || len(rest) == 0 {
				b.WriteByte(c)
				continue
			}
			i++
			a := rest[0]
			rest = rest[1:]
			switch d {
			case 's':
				if _, isObj := a.(*goja.Object); isObj {
					b.WriteString(r.inspect(a, budget-b.Len(), false))
				} else {
					b.WriteString(safeString(a))
				}
			case 'i':
				b.WriteString(strconv.FormatInt(a.ToInteger(), 10))
			case 'd', 'f':
				b.WriteString(r.vm.ToValue(a.ToFloat()).String())
			case 'j':
				b.WriteString(r.jsonText(a, budget-b.Len()))
			case 'o', 'O':
				b.WriteString(r.inspect(a, budget-b.Len(), false))
			case 'c':
			}
		}
	}
	for _, a := range rest {
		if b.Len() > budget {
			break
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(r.inspect(a, budget-b.Len(), true))
	}
	return truncate(b.String(), max(budget, 0))
}

// outOfTime tells long serializations to give up once the script's time is up.
func (r *run) outOfTime() bool { return r.wd.fired() != nil }

// inspect renders one value for the console. top says whether strings print bare.
func (r *run) inspect(v goja.Value, budget int, top bool) string {
	if budget < 0 {
		budget = 0
	}
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	case goja.IsString(v):
		if top {
			return v.String()
		}
		return strconv.Quote(v.String())
	case goja.IsBigInt(v):
		return v.String() + "n"
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		return safeString(v)
	}
	if _, fn := goja.AssertFunction(obj); fn {
		name := obj.Get("name")
		if name == nil || name.String() == "" {
			return "[Function (anonymous)]"
		}
		return "[Function: " + name.String() + "]"
	}
	switch obj.ClassName() {
	case "Error":
		if st := obj.Get("stack"); st != nil && goja.IsString(st) && st.String() != "" {
			return st.String()
		}
		return describeValue(obj)
	case "Date":
		if f, ok := goja.AssertFunction(obj.Get("toISOString")); ok {
			if s, err := f(obj); err == nil {
				return s.String()
			}
		}
		return "Invalid Date"
	}
	if s := r.jsonText(v, budget); s != "undefined" {
		return s
	}
	return "[object " + obj.ClassName() + "]"
}

// jsonText is v as JSON for the console, or a label when it cannot be.
func (r *run) jsonText(v goja.Value, budget int) string {
	out, ok, err := stringify(r.vm, v, max(budget, 0), r.outOfTime)
	switch {
	case errors.Is(err, errJSONCircular):
		return "[Circular]"
	case errors.Is(err, errJSONTooLarge), errors.Is(err, errJSONTooDeep):
		return "[too large to print]"
	case err != nil:
		rethrowJS(err) // a toJSON or getter threw: console.log throws, as in Node
		return "[unprintable]"
	case !ok:
		return "undefined"
	}
	return string(out)
}
