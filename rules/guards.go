package rules

import (
	"errors"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// Cheap in-process guards against the obvious ways to exhaust memory or the Go stack in a
// single builtin call, which vm.Interrupt cannot stop (it is only seen between JS
// instructions). They throw a RangeError marked as a limit (reported with kind "memory").
// What they do not cover (string concatenation in a loop, Array.from({length: 1e9}), huge
// typed arrays, catastrophic regular expressions, replaceAll expansions...) is the sandbox's job: rules/sandbox runs the
// engine in worker processes with an RSS watchdog.
const (
	maxStringBytes = 1 << 20 // UTF-16 units a guarded builtin may produce
	maxArrayLength = 1 << 22 // elements Array.prototype.fill may fill
	maxJoinDepth   = 256     // nested arrays converted to a string
)

func (r *run) installGuards() {
	vm := r.vm
	// The prototypes are reached through values: naming the String and Array constructors
	// would build them (and their static methods), which costs more than the rest of setup.
	strProto := vm.ToValue("").ToObject(vm).Prototype()
	arrProto := vm.NewArray().Prototype()
	jsonObj := vm.Get("JSON").(*goja.Object)

	wrap := func(obj *goja.Object, name string, check func(call goja.FunctionCall)) {
		orig, _ := goja.AssertFunction(obj.Get(name))
		fn := vm.ToValue(func(call goja.FunctionCall) goja.Value {
			check(call)
			v, err := orig(call.This, call.Arguments...)
			if err != nil {
				panic(err)
			}
			return v
		})
		_ = obj.DefineDataProperty(name, fn, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	}
	tooLong := func() { panic(r.limitError("latch: string longer than 1 MiB")) }

	wrap(strProto, "repeat", func(call goja.FunctionCall) {
		if n := call.Argument(0).ToFloat(); n > 0 && float64(jsLength(call.This))*n > maxStringBytes {
			tooLong()
		}
	})
	for _, name := range []string{"padStart", "padEnd"} {
		wrap(strProto, name, func(call goja.FunctionCall) {
			if call.Argument(0).ToFloat() > maxStringBytes {
				tooLong()
			}
		})
	}

	origJoin, _ := goja.AssertFunction(arrProto.Get("join"))
	join := vm.ToValue(func(call goja.FunctionCall) goja.Value {
		obj, ok := call.This.(*goja.Object)
		if ok {
			n := obj.Get("length").ToFloat()
			sep := 1
			if s := call.Argument(0); !goja.IsUndefined(s) {
				sep = jsLength(s)
			}
			if (n-1)*float64(sep) > maxStringBytes {
				tooLong()
			}
			if n > 256 && n <= maxArrayLength {
				total := 0
				for i := range int(n) {
					if e := obj.Get(strconv.Itoa(i)); e != nil && goja.IsString(e) {
						total += jsLength(e)
						if total > maxStringBytes {
							tooLong()
						}
					}
				}
			}
		}
		// Array.prototype.toString calls join: nested arrays recurse in Go.
		r.joinDepth++
		defer func() { r.joinDepth-- }()
		if r.joinDepth > maxJoinDepth {
			panic(r.limitError("latch: arrays nested too deeply to convert to a string"))
		}
		v, err := origJoin(call.This, call.Arguments...)
		if err != nil {
			panic(err)
		}
		if jsLength(v) > maxStringBytes {
			tooLong()
		}
		return v
	})
	_ = arrProto.DefineDataProperty("join", join, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)

	tooMany := func() { panic(r.limitError("latch: array longer than 4194304 elements")) }
	wrap(arrProto, "fill", func(call goja.FunctionCall) {
		if obj, ok := call.This.(*goja.Object); ok && obj.Get("length").ToFloat() > maxArrayLength {
			tooMany()
		}
	})
	wrap(jsonObj, "parse", func(call goja.FunctionCall) {
		if jsonDepth(call.Argument(0).String()) > maxJSONDepth {
			panic(r.limitError("latch: JSON nesting is deeper than 512 levels"))
		}
	})
	stringifyFn := vm.ToValue(r.jsonStringify)
	_ = jsonObj.DefineDataProperty("stringify", stringifyFn, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// jsLength is the length of ToString(v) in UTF-16 units.
func jsLength(v goja.Value) int {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return 0
	}
	if s, ok := v.(goja.String); ok {
		return s.Length()
	}
	if s, ok := v.ToString().(goja.String); ok {
		return s.Length()
	}
	return len(v.String())
}

// jsonDepth is the deepest nesting of [ and { in a JSON text (outside strings).
func jsonDepth(s string) int {
	depth, deepest, inStr := 0, 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ']', '}':
			depth--
		}
	}
	return deepest
}

// jsonStringify is JSON.stringify(value, replacer, space) on the capped serializer.
func (r *run) jsonStringify(call goja.FunctionCall) goja.Value {
	w := &jsonWriter{vm: r.vm, max: maxStringBytes, stop: r.outOfTime}
	if rep, ok := call.Argument(1).(*goja.Object); ok {
		if f, ok := goja.AssertFunction(rep); ok {
			w.replacer = f
		} else if rep.ClassName() == "Array" {
			w.allow = map[string]bool{}
			n := rep.Get("length").ToInteger()
			for i := int64(0); i < n && i < maxArrayLength; i++ {
				e := rep.Get(strconv.Itoa(int(i)))
				if e == nil {
					continue
				}
				if o, ok := e.(*goja.Object); ok {
					if o.ClassName() != "String" && o.ClassName() != "Number" {
						continue
					}
				} else if !goja.IsString(e) && !goja.IsNumber(e) {
					continue
				}
				k := e.String()
				if !w.allow[k] {
					w.allow[k] = true
					w.allowed = append(w.allowed, k)
				}
			}
		}
	}
	space := call.Argument(2)
	if o, ok := space.(*goja.Object); ok {
		switch o.ClassName() {
		case "Number":
			space = o.ToNumber()
		case "String":
			space = o.ToString()
		}
	}
	if goja.IsNumber(space) {
		w.gap = strings.Repeat(" ", int(min(max(space.ToInteger(), 0), 10)))
	} else if goja.IsString(space) {
		w.gap = space.String()
		if len(w.gap) > 10 {
			w.gap = w.gap[:10]
		}
	}
	out, ok, err := w.run(call.Argument(0))
	if err != nil {
		r.throwJSONError(err)
	}
	if !ok {
		return goja.Undefined()
	}
	return r.vm.ToValue(string(out))
}

// throwJSONError rethrows a serializer error inside a native function: JS exceptions and
// interrupts as they are, the serializer's own errors as TypeError or a limit RangeError.
func (r *run) throwJSONError(err error) {
	switch {
	case errors.Is(err, errJSONTooLarge):
		panic(r.limitError("latch: JSON output larger than 1 MiB"))
	case errors.Is(err, errJSONTooDeep):
		panic(r.limitError(err.Error()))
	case errors.Is(err, errJSONCircular), errors.Is(err, errJSONBigInt):
		panic(r.vm.NewTypeError(err.Error()))
	}
	rethrowJS(err)
	panic(err)
}
