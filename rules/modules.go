package rules

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/url"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// What require() can load. Every module here is written for latch (in Go or in the js/
// directory): the names are the npm packages rules use, but only the listed members exist.
// Versioned names (lodash@4.17.19) load the same module. docs/rules.md documents them.
var moduleMembers = map[string][]string{
	"url":                    {"parse", "format", "resolve", "URL", "URLSearchParams"},
	"querystring":            {"parse", "stringify", "escape", "unescape", "encode", "decode"},
	"crypto":                 {"createHash", "createHmac", "randomBytes", "randomUUID", "timingSafeEqual", "getHashes"},
	"uuid":                   {"v4", "validate", "NIL"},
	"uuid/v4":                nil,
	"buffer":                 {"Buffer"},
	"util":                   {"format", "inspect", "promisify", "inherits", "deprecate", "isDeepStrictEqual"},
	"request":                {"get", "post", "put", "patch", "del", "delete", "head", "defaults"},
	"request-promise":        {"get", "post", "put", "patch", "del", "delete", "head", "defaults"},
	"request-promise-native": {"get", "post", "put", "patch", "del", "delete", "head", "defaults"},
	"node-fetch":             {"default", "Headers", "Response"},
	"axios":                  {"get", "post", "put", "patch", "delete", "head", "options", "request", "create", "defaults", "isAxiosError", "default"},
	"lodash":                 lodashMembers,
}

// lodashMembers is the lodash subset (js/lodash.js).
var lodashMembers = []string{
	"assign", "camelCase", "chunk", "clone", "cloneDeep", "compact", "defaults", "difference",
	"each", "endsWith", "every", "extend", "filter", "find", "findIndex", "first", "flatten",
	"forEach", "get", "groupBy", "has", "head", "includes", "indexOf", "intersection",
	"isArray", "isBoolean", "isEmpty", "isEqual", "isFunction", "isNil", "isNull", "isNumber",
	"isObject", "isPlainObject", "isString", "isUndefined", "join", "keyBy", "keys", "last",
	"map", "mapValues", "merge", "omit", "omitBy", "pick", "pickBy", "range", "reduce",
	"set", "size", "some", "sortBy", "split", "startsWith", "toLower", "toUpper", "trim",
	"union", "uniq", "uniqBy", "unset", "values", "without",
}

// Members every object or function has; never reported as missing.
var universalMembers = []string{"apply", "bind", "call", "constructor", "hasOwnProperty", "length", "name", "prototype", "toString", "valueOf"}

func moduleAvailable(name string) bool {
	_, ok := moduleMembers[name]
	return ok
}

func memberAvailable(module, member string) bool {
	list, ok := moduleMembers[module]
	if !ok || list == nil {
		return true // unknown shape: not checked
	}
	return slices.Contains(list, member) || slices.Contains(universalMembers, member)
}

//go:embed js/*.js
var jsFiles embed.FS

// jsModule is a module written in JS: a function (module, exports, require, native). It is
// compiled once per process.
type jsModule struct {
	file    string
	program func() *goja.Program
}

func newJSModule(file string) *jsModule {
	return &jsModule{file: file, program: sync.OnceValue(func() *goja.Program {
		src, err := jsFiles.ReadFile("js/" + file)
		if err != nil {
			panic(err)
		}
		return goja.MustCompile(file, string(src), true)
	})}
}

var (
	jsBuffer      = newJSModule("buffer.js")
	jsURL         = newJSModule("url.js")
	jsQuerystring = newJSModule("querystring.js")
	jsHTTP        = newJSModule("http.js")
	jsLodash      = newJSModule("lodash.js")
	jsUtil        = newJSModule("util.js")
	jsUUID        = newJSModule("uuid.js")
)

// requireFn is the scripts' require.
func (r *run) requireFn(call goja.FunctionCall) goja.Value {
	name := call.Argument(0).String()
	return r.module(moduleBaseName(name))
}

// module loads a module by base name, once per run. It runs inside a native function: errors
// are thrown.
func (r *run) module(name string) goja.Value {
	if v, ok := r.modules[name]; ok {
		return v
	}
	var v goja.Value
	switch name {
	case "url":
		v = r.loadJS(jsURL, r.urlNative())
	case "querystring":
		v = r.loadJS(jsQuerystring, nil)
	case "crypto":
		v = r.cryptoModule()
	case "uuid":
		v = r.loadJS(jsUUID, nil)
	case "uuid/v4":
		v = r.module("uuid").(*goja.Object).Get("v4")
	case "buffer":
		v = r.loadJS(jsBuffer, r.bufferNative())
	case "util":
		v = r.loadJS(jsUtil, r.utilNative())
	case "request", "node-fetch", "axios", "request-promise", "request-promise-native":
		http := r.httpModule()
		v = http.Get(name)
	case "lodash":
		v = r.loadJS(jsLodash, nil)
	default:
		e := r.newError("Error", "module "+name+" is not available")
		_ = e.Set("code", "MODULE_NOT_FOUND")
		panic(e)
	}
	if r.modules == nil {
		r.modules = map[string]goja.Value{}
	}
	r.modules[name] = v
	return v
}

// httpModule is the one JS file behind request, node-fetch, axios and fetch.
func (r *run) httpModule() *goja.Object {
	if v, ok := r.modules["#http"]; ok {
		return v.(*goja.Object)
	}
	obj := r.loadJS(jsHTTP, r.httpNative()).(*goja.Object)
	if r.modules == nil {
		r.modules = map[string]goja.Value{}
	}
	r.modules["#http"] = obj
	return obj
}

func (r *run) loadJS(m *jsModule, native *goja.Object) goja.Value {
	fv, err := r.vm.RunProgram(m.program())
	if err != nil {
		panic(err)
	}
	fn, ok := goja.AssertFunction(fv)
	if !ok {
		panic(r.vm.NewTypeError("latch: module " + m.file + " is malformed"))
	}
	module, exports := r.vm.NewObject(), r.vm.NewObject()
	_ = module.Set("exports", exports)
	var nat goja.Value = goja.Undefined()
	if native != nil {
		nat = native
	}
	if _, err := fn(goja.Undefined(), module, exports, r.vm.ToValue(r.requireFn), nat); err != nil {
		panic(err)
	}
	return module.Get("exports")
}

// optString is String(v), or "" for undefined and null.
func optString(v goja.Value) string {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return ""
	}
	return v.String()
}

// newError makes an instance of a global error class (Error, TypeError, RangeError...).
func (r *run) newError(class, msg string) *goja.Object {
	obj, err := r.vm.New(r.vm.Get(class), r.vm.ToValue(msg))
	if err != nil {
		panic(err)
	}
	return obj
}

// limitError is a RangeError marked as one of latch's resource limits: uncaught, it is
// reported with kind "memory".
func (r *run) limitError(msg string) *goja.Object {
	e := r.newError("RangeError", msg)
	_ = e.DefineDataProperty("latchLimit", r.vm.ToValue(true), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	return e
}

func isLimitError(v goja.Value) bool {
	obj, ok := v.(*goja.Object)
	if !ok {
		return false
	}
	lim := obj.Get("latchLimit")
	return lim != nil && lim.ToBoolean()
}

// Buffers.

const maxBufferBytes = 8 << 20

// bytesOf reads a string (in encoding enc) or a Buffer/TypedArray/ArrayBuffer.
func (r *run) bytesOf(v goja.Value, enc string) []byte {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		panic(r.vm.NewTypeError("The data argument must be of type string or an instance of Buffer, TypedArray, or DataView"))
	}
	if obj, ok := v.(*goja.Object); ok {
		if b, ok := bytesValue(obj); ok {
			return b
		}
		panic(r.vm.NewTypeError("The data argument must be of type string or an instance of Buffer, TypedArray, or DataView"))
	}
	b, err := decodeString(v.String(), enc)
	if err != nil {
		panic(r.vm.NewTypeError(err.Error()))
	}
	return b
}

func normEncoding(enc string) string {
	switch strings.ToLower(enc) {
	case "", "utf8", "utf-8":
		return "utf8"
	case "hex":
		return "hex"
	case "base64":
		return "base64"
	case "base64url":
		return "base64url"
	case "latin1", "binary":
		return "latin1"
	case "ascii":
		return "ascii"
	}
	return ""
}

type unknownEncodingError string

func (e unknownEncodingError) Error() string { return "Unknown encoding: " + string(e) }

// decodeString is Buffer.from(s, enc).
func decodeString(s, enc string) ([]byte, error) {
	switch normEncoding(enc) {
	case "utf8":
		return []byte(s), nil
	case "hex":
		// Node stops at the first invalid pair.
		n := len(s) / 2
		out := make([]byte, 0, n)
		for i := 0; i+1 < len(s); i += 2 {
			b, err := hex.DecodeString(s[i : i+2])
			if err != nil {
				break
			}
			out = append(out, b[0])
		}
		return out, nil
	case "base64", "base64url":
		// Node accepts both alphabets, with or without padding, and skips what is not base64.
		clean := make([]byte, 0, len(s))
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '-':
				clean = append(clean, '+')
			case c == '_':
				clean = append(clean, '/')
			case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '+', c == '/':
				clean = append(clean, c)
			case c == '=':
				i = len(s)
			}
		}
		if len(clean)%4 == 1 {
			clean = clean[:len(clean)-1]
		}
		return base64.RawStdEncoding.DecodeString(string(clean))
	case "latin1", "ascii":
		out := make([]byte, 0, len(s))
		for _, c := range s {
			out = append(out, byte(c))
		}
		return out, nil
	}
	return nil, unknownEncodingError(enc)
}

// encodeBytes is buf.toString(enc).
func encodeBytes(b []byte, enc string) (string, error) {
	switch normEncoding(enc) {
	case "utf8":
		if utf8.Valid(b) {
			return string(b), nil
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), nil
	case "hex":
		return hex.EncodeToString(b), nil
	case "base64":
		return base64.StdEncoding.EncodeToString(b), nil
	case "base64url":
		return base64.RawURLEncoding.EncodeToString(b), nil
	case "latin1":
		rs := make([]rune, len(b))
		for i, c := range b {
			rs[i] = rune(c)
		}
		return string(rs), nil
	case "ascii":
		rs := make([]byte, len(b))
		for i, c := range b {
			rs[i] = c & 0x7f
		}
		return string(rs), nil
	}
	return "", unknownEncodingError(enc)
}

func (r *run) bufferNative() *goja.Object {
	n := r.vm.NewObject()
	_ = n.Set("decode", func(s, enc string) goja.Value {
		b, err := decodeString(s, enc)
		if err != nil {
			panic(r.vm.NewTypeError(err.Error()))
		}
		return r.vm.ToValue(r.vm.NewArrayBuffer(b))
	})
	_ = n.Set("encode", func(call goja.FunctionCall) goja.Value {
		s, err := encodeBytes(r.bytesOf(call.Argument(0), ""), optString(call.Argument(1)))
		if err != nil {
			panic(r.vm.NewTypeError(err.Error()))
		}
		return r.vm.ToValue(s)
	})
	_ = n.Set("maxBytes", maxBufferBytes)
	_ = n.Set("limit", func(msg string) goja.Value { panic(r.limitError(msg)) })
	return n
}

// newBuffer wraps bytes in a Buffer.
func (r *run) newBuffer(b []byte) goja.Value {
	buf := r.module("buffer").(*goja.Object).Get("Buffer").(*goja.Object)
	from, _ := goja.AssertFunction(buf.Get("from"))
	v, err := from(buf, r.vm.ToValue(r.vm.NewArrayBuffer(b)))
	if err != nil {
		panic(err)
	}
	return v
}

// crypto.

var hashes = map[string]func() hash.Hash{
	"md5": md5.New, "sha1": sha1.New, "sha256": sha256.New, "sha384": sha512.New384, "sha512": sha512.New,
}

func (r *run) cryptoModule() goja.Value {
	m := r.vm.NewObject()
	newHash := func(alg string) func() hash.Hash {
		h, ok := hashes[strings.ToLower(strings.ReplaceAll(alg, "-", ""))]
		if !ok {
			panic(r.newError("Error", "Digest method not supported"))
		}
		return h
	}
	_ = m.Set("createHash", func(alg string) goja.Value { return r.hashObject(newHash(alg)()) })
	_ = m.Set("createHmac", func(call goja.FunctionCall) goja.Value {
		h := newHash(call.Argument(0).String())
		return r.hashObject(hmac.New(h, r.bytesOf(call.Argument(1), "utf8")))
	})
	_ = m.Set("randomBytes", func(call goja.FunctionCall) goja.Value {
		n := call.Argument(0).ToInteger()
		if n < 0 || n > 1<<16 {
			panic(r.newError("RangeError", "The \"size\" argument is out of range"))
		}
		b := make([]byte, n)
		_, _ = rand.Read(b)
		buf := r.newBuffer(b)
		if cb, ok := goja.AssertFunction(call.Argument(1)); ok {
			r.setTimer(goja.FunctionCall{Arguments: []goja.Value{r.vm.ToValue(func(goja.FunctionCall) goja.Value {
				if _, err := cb(goja.Undefined(), goja.Null(), buf); err != nil {
					panic(err)
				}
				return goja.Undefined()
			})}}, false, true)
			return goja.Undefined()
		}
		return buf
	})
	_ = m.Set("randomUUID", func() string { return newUUID() })
	_ = m.Set("timingSafeEqual", func(call goja.FunctionCall) goja.Value {
		a, b := r.bytesOf(call.Argument(0), ""), r.bytesOf(call.Argument(1), "")
		if len(a) != len(b) {
			panic(r.newError("RangeError", "Input buffers must have the same byte length"))
		}
		return r.vm.ToValue(subtle.ConstantTimeCompare(a, b) == 1)
	})
	_ = m.Set("getHashes", func() []string { return []string{"md5", "sha1", "sha256", "sha384", "sha512"} })
	return m
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// hashObject is a Hash or Hmac: update(data[, encoding]) and digest([encoding]).
func (r *run) hashObject(h hash.Hash) goja.Value {
	obj := r.vm.NewObject()
	done := false
	_ = obj.Set("update", func(call goja.FunctionCall) goja.Value {
		if done {
			panic(r.newError("Error", "Digest already called"))
		}
		h.Write(r.bytesOf(call.Argument(0), optString(call.Argument(1))))
		return call.This
	})
	_ = obj.Set("digest", func(call goja.FunctionCall) goja.Value {
		if done {
			panic(r.newError("Error", "Digest already called"))
		}
		done = true
		sum := h.Sum(nil)
		if enc := call.Argument(0); !goja.IsUndefined(enc) {
			s, err := encodeBytes(sum, enc.String())
			if err != nil {
				panic(r.vm.NewTypeError(err.Error()))
			}
			return r.vm.ToValue(s)
		}
		return r.newBuffer(sum)
	})
	return obj
}

// url: parsing is Go's net/url; js/url.js builds Node's legacy Url objects and the WHATWG URL
// class on top.

func (r *run) urlNative() *goja.Object {
	n := r.vm.NewObject()
	// parse(input, base?) returns the parts of an absolute URL, or throws TypeError.
	_ = n.Set("parse", func(call goja.FunctionCall) goja.Value {
		u, err := url.Parse(call.Argument(0).String())
		if err == nil && !goja.IsUndefined(call.Argument(1)) {
			var base *url.URL
			base, err = url.Parse(call.Argument(1).String())
			if err == nil && base.Scheme != "" {
				u = base.ResolveReference(u)
			}
		}
		if err != nil || u.Scheme == "" {
			e := r.newError("TypeError", "Invalid URL")
			_ = e.Set("code", "ERR_INVALID_URL")
			panic(e)
		}
		return r.urlParts(u)
	})
	// legacy(input) never throws: Node's url.parse is lenient.
	_ = n.Set("legacy", func(s string) goja.Value {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			return goja.Null()
		}
		return r.urlParts(u)
	})
	_ = n.Set("resolve", func(from, to string) string {
		b, err := url.Parse(from)
		if err != nil {
			return to
		}
		t, err := url.Parse(to)
		if err != nil {
			return to
		}
		return b.ResolveReference(t).String()
	})
	return n
}

func (r *run) urlParts(u *url.URL) goja.Value {
	o := r.vm.NewObject()
	_ = o.Set("protocol", strings.ToLower(u.Scheme)+strings.Repeat(":", min(1, len(u.Scheme))))
	_ = o.Set("slashes", u.Host != "" || strings.HasPrefix(u.String(), u.Scheme+"://"))
	if u.User != nil {
		_ = o.Set("username", u.User.Username())
		p, _ := u.User.Password()
		_ = o.Set("password", p)
	} else {
		_ = o.Set("username", "")
		_ = o.Set("password", "")
	}
	_ = o.Set("hostname", strings.ToLower(u.Hostname()))
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	_ = o.Set("port", port)
	path := u.EscapedPath()
	if path == "" && u.Host != "" {
		path = "/"
	}
	if u.Opaque != "" {
		path = u.Opaque
	}
	_ = o.Set("pathname", path)
	search := ""
	if u.RawQuery != "" || u.ForceQuery {
		search = "?" + u.RawQuery
	}
	_ = o.Set("search", search)
	hash := ""
	if u.Fragment != "" {
		hash = "#" + u.EscapedFragment()
	}
	_ = o.Set("hash", hash)
	return o
}

// util: format and inspect are the console's.

func (r *run) utilNative() *goja.Object {
	n := r.vm.NewObject()
	_ = n.Set("format", func(call goja.FunctionCall) goja.Value {
		return r.vm.ToValue(r.format(call.Arguments, maxStringBytes))
	})
	_ = n.Set("inspect", func(call goja.FunctionCall) goja.Value {
		return r.vm.ToValue(r.inspect(call.Argument(0), maxStringBytes, true))
	})
	return n
}
