package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/dop251/goja"

	"github.com/latchauth/latch/storage"
)

// maxSafeInteger is the largest integer a JS number holds exactly (2^53 - 1).
const maxSafeInteger = 1<<53 - 1

// Export types of the binary values scripts pass (Buffer/Uint8Array, ArrayBuffer).
var (
	typeBytes       = reflect.TypeFor[[]byte]()
	typeArrayBuffer = reflect.TypeFor[goja.ArrayBuffer]()
	typePromise     = reflect.TypeFor[*goja.Promise]()
)

// bytesValue returns the bytes of a Uint8Array (Buffer) or ArrayBuffer without copying the
// object (Export of a plain object would copy its whole graph).
func bytesValue(obj *goja.Object) ([]byte, bool) {
	switch obj.ExportType() {
	case typeBytes:
		b, ok := obj.Export().([]byte)
		return b, ok
	case typeArrayBuffer:
		ab, ok := obj.Export().(goja.ArrayBuffer)
		return ab.Bytes(), ok
	}
	return nil, false
}

// isPromise returns the promise v is, if it is one.
func isPromise(v goja.Value) (*goja.Promise, bool) {
	obj, ok := v.(*goja.Object)
	if !ok || obj.ExportType() != typePromise {
		return nil, false
	}
	p, ok := obj.Export().(*goja.Promise)
	return p, ok
}

// isoTime formats a time the way Auth0 does: UTC with milliseconds.
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// toJS converts Go data (what encoding/json produces with UseNumber, plus the few Go types
// the engine builds) into plain JS values: objects and arrays are real JS objects, never
// wrappers around Go maps, so scripts see ordinary objects. Object keys are sorted so a
// run is deterministic.
func toJS(vm *goja.Runtime, v any) goja.Value {
	switch t := v.(type) {
	case nil:
		return goja.Null()
	case goja.Value:
		return t
	case string:
		return vm.ToValue(t)
	case bool:
		return vm.ToValue(t)
	case int:
		return vm.ToValue(int64(t))
	case int64:
		return vm.ToValue(t)
	case float64:
		return vm.ToValue(t)
	case json.Number:
		return jsNumber(vm, t)
	case time.Time:
		if t.IsZero() {
			return goja.Null()
		}
		return vm.ToValue(isoTime(t))
	case fields:
		obj := vm.NewObject()
		for _, f := range t {
			_ = obj.Set(f.k, toJS(vm, f.v))
		}
		return obj
	case storage.Metadata:
		if t == nil {
			return vm.NewObject()
		}
		return jsObject(vm, map[string]any(t))
	case map[string]any:
		return jsObject(vm, t)
	case map[string]string:
		obj := vm.NewObject()
		for _, k := range sortedKeys(t) {
			_ = obj.Set(k, t[k])
		}
		return obj
	case []any:
		items := make([]any, len(t))
		for i, e := range t {
			items[i] = toJS(vm, e)
		}
		return vm.NewArray(items...)
	case []string:
		items := make([]any, len(t))
		for i, e := range t {
			items[i] = e
		}
		return vm.NewArray(items...)
	default:
		// Anything else goes through its JSON form.
		b, err := json.Marshal(t)
		if err != nil {
			return goja.Undefined()
		}
		var d any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if dec.Decode(&d) != nil {
			return goja.Undefined()
		}
		return toJS(vm, d)
	}
}

// field is one property of an object built in a given order; fields is the object.
type field struct {
	k string
	v any
}

type fields []field

func (fs fields) has(k string) bool {
	for _, f := range fs {
		if f.k == k {
			return true
		}
	}
	return false
}

func (fs fields) del(k string) fields {
	for i := range fs {
		if fs[i].k == k {
			return append(fs[:i], fs[i+1:]...)
		}
	}
	return fs
}

func jsObject(vm *goja.Runtime, m map[string]any) *goja.Object {
	obj := vm.NewObject()
	for _, k := range sortedKeys(m) {
		_ = obj.Set(k, toJS(vm, m[k]))
	}
	return obj
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jsNumber converts an exact JSON number: integers within ±2^53 stay exact; the rest become
// the nearest double, as JSON.parse would make them.
func jsNumber(vm *goja.Runtime, n json.Number) goja.Value {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil && i <= maxSafeInteger && i >= -maxSafeInteger {
		return vm.ToValue(i)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return goja.NaN()
	}
	return vm.ToValue(f)
}

// Errors of the JSON serializer. They become TypeError or RangeError in JS.
var (
	//lint:ignore ST1005 the message is JavaScript's own, which scripts may test for
	errJSONCircular = errors.New("Converting circular structure to JSON")
	//lint:ignore ST1005 the message is JavaScript's own, which scripts may test for
	errJSONBigInt   = errors.New("Do not know how to serialize a BigInt")
	errJSONTooDeep  = errors.New("latch: JSON nesting is deeper than 512 levels")
	errJSONTooLarge = errors.New("latch: JSON output is larger than the limit")
)

const maxJSONDepth = 512

// jsonWriter is JSON.stringify (ECMA-262 SerializeJSONProperty) written in Go with two
// additions: the output is capped (the check happens as it grows, so a value that would
// serialize to gigabytes fails after max bytes) and nesting is capped. It replaces the
// runtime's JSON.stringify and is how values leave the runtime (claims, metadata, global).
type jsonWriter struct {
	vm       *goja.Runtime
	buf      []byte
	max      int
	stack    []*goja.Object
	replacer goja.Callable
	allow    map[string]bool // the replacer array, if any
	allowed  []string
	gap      string
	indent   string
	// stop is checked now and then: a serialization that has run out of time gives up.
	stop  func() bool
	steps int
}

// jsonError carries a serializer error or a JS exception thrown by toJSON or a replacer.
type jsonError struct{ err error }

func (w *jsonWriter) fail(err error) { panic(jsonError{err}) }

// serialize writes v (held by holder under key) and reports whether anything was written
// (undefined, functions and symbols write nothing).
func (w *jsonWriter) serialize(key string, holder *goja.Object, v goja.Value) bool {
	w.steps++
	if w.steps&1023 == 0 && w.stop != nil && w.stop() {
		w.fail(errJSONTooLarge)
	}
	if obj, ok := v.(*goja.Object); ok {
		if f, ok := goja.AssertFunction(obj.Get("toJSON")); ok {
			v = w.call(f, obj, w.vm.ToValue(key))
		}
	} else if goja.IsBigInt(v) {
		if f, ok := goja.AssertFunction(v.ToObject(w.vm).Get("toJSON")); ok {
			v = w.call(f, v, w.vm.ToValue(key))
		}
	}
	if w.replacer != nil {
		v = w.call(w.replacer, holder, w.vm.ToValue(key), v)
	}
	if obj, ok := v.(*goja.Object); ok {
		switch obj.ClassName() {
		case "Number":
			v = obj.ToNumber()
		case "String":
			v = obj.ToString()
		case "Boolean", "BigInt":
			// Boxed primitives export to their Go value.
			v = w.vm.ToValue(obj.Export())
		}
	}
	switch {
	case v == nil || goja.IsUndefined(v):
		return false
	case goja.IsNull(v):
		w.write("null")
		return true
	}
	// Objects first: Export would copy a whole object graph.
	if obj, ok := v.(*goja.Object); ok {
		if _, callable := goja.AssertFunction(obj); callable {
			return false
		}
		if obj.ClassName() == "Array" {
			w.array(obj)
		} else {
			w.object(obj)
		}
		return true
	}
	if _, ok := v.(*goja.Symbol); ok {
		return false
	}
	switch t := v.Export().(type) {
	case bool:
		if t {
			w.write("true")
		} else {
			w.write("false")
		}
	case string:
		w.quote(t)
	case int64:
		w.buf = strconv.AppendInt(w.buf, t, 10)
		w.check()
	case float64:
		w.number(t, v)
	case *big.Int:
		w.fail(errJSONBigInt)
	default:
		return false
	}
	return true
}

func (w *jsonWriter) call(f goja.Callable, this goja.Value, args ...goja.Value) goja.Value {
	res, err := f(this, args...)
	if err != nil {
		w.fail(err)
	}
	return res
}

func (w *jsonWriter) number(f float64, v goja.Value) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		w.write("null")
	case f == 0:
		w.write("0") // -0 too
	case f == math.Trunc(f) && math.Abs(f) < 1e21:
		// Integers print without an exponent (1000000, not 1e+06), as in JS.
		w.buf = strconv.AppendFloat(w.buf, f, 'f', -1, 64)
		w.check()
	default:
		w.write(v.String()) // JS Number::toString
	}
}

func (w *jsonWriter) push(obj *goja.Object) {
	if len(w.stack) >= maxJSONDepth {
		w.fail(errJSONTooDeep)
	}
	for _, o := range w.stack {
		if o == obj {
			w.fail(errJSONCircular)
		}
	}
	w.stack = append(w.stack, obj)
}

func (w *jsonWriter) pop() { w.stack = w.stack[:len(w.stack)-1] }

func (w *jsonWriter) array(obj *goja.Object) {
	w.push(obj)
	defer w.pop()
	n := obj.Get("length").ToInteger()
	if n > int64(w.max) {
		w.fail(errJSONTooLarge) // every element takes at least one byte
	}
	if n == 0 {
		w.write("[]")
		return
	}
	stepback := w.indent
	w.indent += w.gap
	w.write("[")
	for i := int64(0); i < n; i++ {
		if i > 0 {
			w.write(",")
		}
		w.newline()
		k := strconv.FormatInt(i, 10)
		if !w.serialize(k, obj, obj.Get(k)) {
			w.write("null")
		}
	}
	w.indent = stepback
	w.newline()
	w.write("]")
}

func (w *jsonWriter) object(obj *goja.Object) {
	w.push(obj)
	defer w.pop()
	keys := w.allowed
	if w.allow == nil {
		keys = obj.Keys()
	}
	stepback := w.indent
	w.indent += w.gap
	w.write("{")
	wrote := false
	for _, k := range keys {
		mark := len(w.buf)
		if wrote {
			w.write(",")
		}
		w.newline()
		w.quote(k)
		w.write(":")
		if w.gap != "" {
			w.write(" ")
		}
		if w.serialize(k, obj, obj.Get(k)) {
			wrote = true
		} else {
			w.buf = w.buf[:mark]
		}
	}
	w.indent = stepback
	if wrote {
		w.newline()
	}
	w.write("}")
}

func (w *jsonWriter) newline() {
	if w.gap != "" {
		w.write("\n")
		w.write(w.indent)
	}
}

func (w *jsonWriter) write(s string) {
	w.buf = append(w.buf, s...)
	w.check()
}

func (w *jsonWriter) check() {
	if len(w.buf) > w.max {
		w.fail(errJSONTooLarge)
	}
}

const hexDigits = "0123456789abcdef"

// quote is JSON's QuoteJSONString: only ", \ and control characters are escaped (Go's
// encoding/json would also escape <, > and &, which JS does not).
func (w *jsonWriter) quote(s string) {
	if len(s) > w.max {
		w.fail(errJSONTooLarge)
	}
	w.buf = append(w.buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		w.buf = append(w.buf, s[start:i]...)
		switch c {
		case '"':
			w.buf = append(w.buf, '\\', '"')
		case '\\':
			w.buf = append(w.buf, '\\', '\\')
		case '\b':
			w.buf = append(w.buf, '\\', 'b')
		case '\f':
			w.buf = append(w.buf, '\\', 'f')
		case '\n':
			w.buf = append(w.buf, '\\', 'n')
		case '\r':
			w.buf = append(w.buf, '\\', 'r')
		case '\t':
			w.buf = append(w.buf, '\\', 't')
		default:
			w.buf = append(w.buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	w.buf = append(w.buf, s[start:]...)
	w.buf = append(w.buf, '"')
	w.check()
}

// stringify serializes v with a cap on the output; ok is false when v serializes to
// undefined (a function, a symbol, undefined).
func stringify(vm *goja.Runtime, v goja.Value, max int, stop func() bool) (out []byte, ok bool, err error) {
	w := &jsonWriter{vm: vm, max: max, stop: stop}
	return w.run(v)
}

func (w *jsonWriter) run(v goja.Value) (out []byte, ok bool, err error) {
	defer func() {
		if x := recover(); x != nil {
			switch e := x.(type) {
			case jsonError:
				err = e.err
			case error:
				// A getter threw, or the watchdog interrupted it.
				if !isJSError(e) {
					panic(x)
				}
				err = e
			default:
				panic(x)
			}
			out, ok = nil, false
		}
	}()
	holder := w.vm.NewObject()
	_ = holder.Set("", v)
	ok = w.serialize("", holder, v)
	return w.buf, ok, nil
}

// exportJSON converts a JS value to Go data the way JSON.stringify then a JSON decoder with
// UseNumber would: numbers become json.Number (integers without exponent), undefined and
// functions disappear.
func exportJSON(vm *goja.Runtime, v goja.Value, max int, stop func() bool) (any, bool, error) {
	b, ok, err := stringify(vm, v, max, stop)
	if err != nil || !ok {
		return nil, ok, err
	}
	out, err := decodeJSON(b)
	return out, err == nil, err
}

// decodeJSON reads JSON keeping numbers exact (json.Number).
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("rules: re-reading serialized value: %w", err)
	}
	return out, nil
}

// exportObject is exportJSON for a value that must be a plain object (a metadata patch,
// a claims object).
func exportObject(vm *goja.Runtime, v goja.Value, max int, stop func() bool) (map[string]any, error) {
	obj, isObj := v.(*goja.Object)
	if !isObj || obj.ClassName() == "Array" {
		return nil, errors.New("must be an object")
	}
	if _, fn := goja.AssertFunction(obj); fn {
		return nil, errors.New("must be an object")
	}
	out, ok, err := exportJSON(vm, v, max, stop)
	if err != nil {
		return nil, err
	}
	m, isMap := out.(map[string]any)
	if !ok || !isMap {
		return nil, errors.New("must be an object")
	}
	return m, nil
}

// isJSError says whether err is what running script code can end in: an exception, an
// interrupt, a stack overflow.
func isJSError(err error) bool {
	var ex *goja.Exception
	var in *goja.InterruptedError
	var so *goja.StackOverflowError
	return errors.As(err, &ex) || errors.As(err, &in) || errors.As(err, &so)
}

// guard runs f, which reads script values from Go (getters, toJSON and Proxy traps may run),
// and returns what the script code threw, or the interrupt that stopped it, as an error.
func guard(vm *goja.Runtime, f func()) (err error) {
	defer func() {
		if x := recover(); x != nil {
			e, ok := x.(error)
			if !ok || !isJSError(e) {
				panic(x)
			}
			err = e
		}
	}()
	if ex := vm.Try(f); ex != nil {
		return ex
	}
	return nil
}

// rethrowJS panics with err if it is a JS exception, an interrupt or a stack overflow: inside
// a native function those must propagate as they are.
func rethrowJS(err error) {
	var ex *goja.Exception
	var in *goja.InterruptedError
	var so *goja.StackOverflowError
	switch {
	case errors.As(err, &in):
		panic(in)
	case errors.As(err, &so):
		panic(so)
	case errors.As(err, &ex):
		panic(ex)
	}
}

// truncate cuts s to at most n bytes on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
