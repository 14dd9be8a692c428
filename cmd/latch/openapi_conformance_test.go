package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The Management API's OpenAPI description, held to latch's real answers: the document is
// fetched from a running latch without a token, every operation it describes is called with
// real requests (successes and errors), and every answer must have a status the operation
// declares and a body valid against the schema declared for that status. A second test holds
// each operation's security requirements to the scope checks latch makes.

// oasDocPath is where latch serves its description.
const oasDocPath = "/api/v2/openapi.json"

// oasDialect is OpenAPI 3.1's default schema dialect (its vocabularies: JSON Schema 2020-12
// and OpenAPI's optional annotation keywords); the document's schemas are compiled in it.
const oasDialect = `{
  "$id": "https://spec.openapis.org/oas/3.1/dialect/base",
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$vocabulary": {
    "https://json-schema.org/draft/2020-12/vocab/core": true,
    "https://json-schema.org/draft/2020-12/vocab/applicator": true,
    "https://json-schema.org/draft/2020-12/vocab/unevaluated": true,
    "https://json-schema.org/draft/2020-12/vocab/validation": true,
    "https://json-schema.org/draft/2020-12/vocab/meta-data": true,
    "https://json-schema.org/draft/2020-12/vocab/format-annotation": true,
    "https://json-schema.org/draft/2020-12/vocab/content": true,
    "https://spec.openapis.org/oas/3.1/vocab/base": false
  },
  "$dynamicAnchor": "meta",
  "allOf": [{"$ref": "https://json-schema.org/draft/2020-12/schema"}]
}`

// oasDocument is the fetched description, with the schemas it declares compiled on demand
// and a record of which statuses each operation was seen answering.
type oasDocument struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	ops      []*oasOperation

	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema // by JSON pointer
}

// oasOperation is one method of one path of the document.
type oasOperation struct {
	key      string   // "GET /users/{id}"
	method   string   // upper case
	segments []string // of the path template; "" for a {parameter}
	op       map[string]any
	seen     map[int]bool // statuses answered during the test
}

// oasDocURL is the base URI the document is compiled under.
const oasDocURL = "urn:latch:openapi.json"

// fetchOpenAPI gets the description as any client would, without a token, and checks how it
// is served.
func fetchOpenAPI(t *testing.T, l *testLatch) *oasDocument {
	t.Helper()
	resp, body := l.Do(t, http.MethodGet, oasDocPath, "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s without a token: %d %s", oasDocPath, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=") {
		t.Errorf("Cache-Control %q", cc)
	}
	etag := resp.Header.Get("ETag")
	req, err := http.NewRequest(http.MethodGet, l.URL+oasDocPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("If-None-Match", etag)
	if again, _ := send(t, req); etag == "" || again.StatusCode != http.StatusNotModified {
		t.Errorf("GET with If-None-Match %q: %d, want 304", etag, again.StatusCode)
	}

	parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("the description is not JSON: %v", err)
	}
	d := &oasDocument{doc: parsed.(map[string]any), schemas: map[string]*jsonschema.Schema{}}
	dialect, err := jsonschema.UnmarshalJSON(strings.NewReader(oasDialect))
	if err != nil {
		t.Fatal(err)
	}
	// The document's schemas are in its jsonSchemaDialect; $schema on the loaded resource
	// tells the compiler so.
	resource := map[string]any{"$schema": d.doc["jsonSchemaDialect"]}
	for k, v := range d.doc {
		resource[k] = v
	}
	d.compiler = jsonschema.NewCompiler()
	d.compiler.DefaultDraft(jsonschema.Draft2020)
	for u, r := range map[string]any{"https://spec.openapis.org/oas/3.1/dialect/base": dialect, oasDocURL: resource} {
		if err := d.compiler.AddResource(u, r); err != nil {
			t.Fatal(err)
		}
	}
	paths := d.doc["paths"].(map[string]any)
	for p, item := range paths {
		for m, op := range item.(map[string]any) {
			op, ok := op.(map[string]any)
			if !ok || m == "parameters" {
				continue
			}
			o := &oasOperation{key: strings.ToUpper(m) + " " + p, method: strings.ToUpper(m), op: op, seen: map[int]bool{}}
			for _, seg := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
				if strings.HasPrefix(seg, "{") {
					seg = ""
				}
				o.segments = append(o.segments, seg)
			}
			d.ops = append(d.ops, o)
		}
	}
	slices.SortFunc(d.ops, func(a, b *oasOperation) int { return strings.Compare(a.key, b.key) })
	return d
}

// operation finds the operation a request goes to: the path template that matches its
// (escaped) path, concrete segments winning over parameters (/rules/try over /rules/{id}).
func (d *oasDocument) operation(method, escapedPath string) *oasOperation {
	segs := strings.Split(strings.TrimPrefix(strings.TrimPrefix(escapedPath, "/api/v2"), "/"), "/")
	var best *oasOperation
	bestLiterals := -1
	for _, o := range d.ops {
		if o.method != method || len(o.segments) != len(segs) {
			continue
		}
		literals, ok := 0, true
		for i, s := range o.segments {
			switch {
			case s == "":
			case s == segs[i]:
				literals++
			default:
				ok = false
			}
		}
		if ok && literals > bestLiterals {
			best, bestLiterals = o, literals
		}
	}
	return best
}

// pointer is the JSON pointer of the tokens, URL-encoded as a fragment.
func oasPointer(tokens ...string) string {
	var b strings.Builder
	for _, tok := range tokens {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
		b.WriteString("/" + url.PathEscape(tok))
	}
	return b.String()
}

// schema compiles (once) the schema at the JSON pointer of the document.
func (d *oasDocument) schema(t *testing.T, ptr string) *jsonschema.Schema {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.schemas[ptr]; ok {
		return s
	}
	s, err := d.compiler.Compile(oasDocURL + "#" + ptr)
	if err != nil {
		t.Fatalf("compile %s: %v", ptr, err)
	}
	d.schemas[ptr] = s
	return s
}

// deref follows a local reference, returning the object and the tokens of its location.
func (d *oasDocument) deref(t *testing.T, v map[string]any, at []string) (map[string]any, []string) {
	t.Helper()
	ref, ok := v["$ref"].(string)
	if !ok {
		return v, at
	}
	tokens := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
	var cur any = d.doc
	for _, tok := range tokens {
		cur = cur.(map[string]any)[strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")]
	}
	obj, ok := cur.(map[string]any)
	if !ok {
		t.Fatalf("%s does not resolve", ref)
	}
	return d.deref(t, obj, tokens)
}

// check holds one answer to the document: its status must be declared for the operation,
// its media type too, and its body valid against the declared schema.
func (d *oasDocument) check(t *testing.T, method, escapedPath string, resp *http.Response, body []byte) {
	t.Helper()
	o := d.operation(method, escapedPath)
	if o == nil {
		t.Errorf("%s %s: the description has no such operation", method, escapedPath)
		return
	}
	d.mu.Lock()
	o.seen[resp.StatusCode] = true
	d.mu.Unlock()
	responses := o.op["responses"].(map[string]any)
	status := fmt.Sprint(resp.StatusCode)
	declared, ok := responses[status].(map[string]any)
	if !ok {
		t.Errorf("%s %s answered %d, which %s does not declare: %s", method, escapedPath, resp.StatusCode, o.key, oasClip(body))
		return
	}
	pathKey := "/" + strings.Join(strings.Split(strings.SplitN(o.key, " ", 2)[1], "/")[1:], "/")
	r, at := d.deref(t, declared, []string{"paths", pathKey, strings.ToLower(method), "responses", status})
	content, _ := r["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) != 0 {
			t.Errorf("%s %s %d: a body where %s declares none: %s", method, escapedPath, resp.StatusCode, o.key, oasClip(body))
		}
		return
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil {
		t.Errorf("%s %s %d: Content-Type %q", method, escapedPath, resp.StatusCode, resp.Header.Get("Content-Type"))
		return
	}
	media, ok := content[mt].(map[string]any)
	if !ok {
		t.Errorf("%s %s %d: media type %s is not declared by %s", method, escapedPath, resp.StatusCode, mt, o.key)
		return
	}
	if _, ok := media["schema"]; !ok || mt != "application/json" {
		return
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Errorf("%s %s %d: the body is not JSON: %v: %s", method, escapedPath, resp.StatusCode, err, oasClip(body))
		return
	}
	ptr := oasPointer(append(slices.Clone(at), "content", mt, "schema")...)
	if err := d.schema(t, ptr).Validate(inst); err != nil {
		t.Errorf("%s %s %d does not match %s:\n%v\nbody: %s", method, escapedPath, resp.StatusCode, ptr, err, oasClip(body))
	}
}

// checkRequestBody holds a JSON body that latch accepted to the operation's request schema,
// so that the document does not refuse what latch takes.
func (d *oasDocument) checkRequestBody(t *testing.T, method, escapedPath string, body []byte) {
	t.Helper()
	o := d.operation(method, escapedPath)
	if o == nil {
		return
	}
	rb, ok := o.op["requestBody"].(map[string]any)
	if !ok {
		t.Errorf("%s: a body was accepted, but the description declares none", o.key)
		return
	}
	if _, ok := rb["content"].(map[string]any)["application/json"]; !ok {
		return
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	pathKey := "/" + strings.Join(strings.Split(strings.SplitN(o.key, " ", 2)[1], "/")[1:], "/")
	ptr := oasPointer("paths", pathKey, strings.ToLower(method), "requestBody", "content", "application/json", "schema")
	if err := d.schema(t, ptr).Validate(inst); err != nil {
		t.Errorf("%s: latch accepted %s, the description refuses it:\n%v", o.key, body, err)
	}
}

func oasClip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

// ---------------------------------------------------------------------------------------
// The exchanges

// oasExchange is one request and the status it must get. {name} in the path or in a JSON
// body stands for a value saved by an earlier exchange.
type oasExchange struct {
	name        string
	method      string
	path        string
	auth        string // oasNoToken, oasToken, or oasFreshToken (one issued just now)
	body        any    // JSON (marshalled), or a string sent as-is with contentType
	contentType string
	form        map[string]string // a multipart import: the users part is the file
	status      int
	// save records values of the answer for later exchanges.
	save func(answer any, ids map[string]string)
	// until repeats the request until the answer satisfies it (jobs run in the background).
	until func(answer any) bool
	// header, when set, must be present in the answer.
	header string
}

const (
	oasNoToken    = ""
	oasToken      = "token"
	oasFreshToken = "fresh"
)

// dig walks an answer: object keys and array indexes.
func oasDig(v any, path ...string) any {
	for _, p := range path {
		switch c := v.(type) {
		case map[string]any:
			v = c[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

func oasSave(name string, path ...string) func(any, map[string]string) {
	return func(v any, ids map[string]string) {
		s, _ := oasDig(v, path...).(string)
		ids[name] = s
	}
}

// oasRunner sends exchanges to one latch and holds the answers to its description.
type oasRunner struct {
	l     *testLatch
	d     *oasDocument
	token string
	ids   map[string]string
}

var oasPlaceholder = regexp.MustCompile(`\{([A-Za-z]+)\}`)

func (r *oasRunner) fill(t *testing.T, s string, escape bool) string {
	t.Helper()
	return oasPlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := r.ids[name]
		if !ok || v == "" {
			t.Fatalf("no saved value for %s", m)
		}
		if escape {
			return url.PathEscape(v)
		}
		return v
	})
}

func (r *oasRunner) run(t *testing.T, steps []oasExchange) {
	t.Helper()
	for _, s := range steps {
		path := r.fill(t, s.path, true)
		var token string
		switch s.auth {
		case oasToken:
			token = r.token
		case oasFreshToken:
			token = r.l.ManagementToken(t, "")
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, body, sent := r.send(t, s, path, token)
			u, _ := url.Parse(path)
			r.d.check(t, s.method, u.EscapedPath(), resp, body)
			if resp.StatusCode != s.status {
				t.Fatalf("%s: %s %s answered %d, want %d: %s", s.name, s.method, path, resp.StatusCode, s.status, oasClip(body))
			}
			if sent != nil && resp.StatusCode < 300 {
				r.d.checkRequestBody(t, s.method, u.EscapedPath(), sent)
			}
			if s.header != "" && resp.Header.Get(s.header) == "" {
				t.Errorf("%s: no %s header", s.name, s.header)
			}
			var answer any
			if len(body) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				answer = oasDecode(t, body)
			}
			if s.until != nil && !s.until(answer) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: still %s after 30s", s.name, oasClip(body))
				}
				time.Sleep(50 * time.Millisecond)
				continue
			}
			if s.save != nil {
				s.save(answer, r.ids)
			}
			break
		}
	}
}

// send makes the request of s; sent is the JSON body it sent, if any.
func (r *oasRunner) send(t *testing.T, s oasExchange, path, token string) (resp *http.Response, body, sent []byte) {
	t.Helper()
	var reader *bytes.Reader
	contentType := s.contentType
	switch b := s.body.(type) {
	case nil:
	case string:
		reader = bytes.NewReader([]byte(b))
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		sent = []byte(r.fill(t, string(data), false))
		reader = bytes.NewReader(sent)
		if contentType == "" {
			contentType = "application/json"
		}
	}
	if s.form != nil {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for _, k := range slices.Sorted(maps.Keys(s.form)) {
			v := r.fill(t, s.form[k], false)
			if k == "users" {
				fw, err := w.CreateFormFile("users", "users.json")
				if err != nil {
					t.Fatal(err)
				}
				fw.Write([]byte(v))
				continue
			}
			w.WriteField(k, v)
		}
		w.Close()
		reader, contentType = bytes.NewReader(buf.Bytes()), w.FormDataContentType()
	}
	var req *http.Request
	var err error
	if reader != nil {
		req, err = http.NewRequest(s.method, r.l.URL+path, reader)
	} else {
		req, err = http.NewRequest(s.method, r.l.URL+path, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, body = send(t, req)
	return resp, body, sent
}

func oasDecode(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", oasClip(data), err)
	}
	return v
}

// oasGenerousLimits keeps the rate limit out of the way of a test that sends a few hundred
// requests in a burst.
func oasGenerousLimits(c *Config) { c.MgmtRateLimit, c.MgmtRateBurst = 10000, 10000 }

const oasRule = `function (user, context, callback) {
  context.idToken['https://example.com/plan'] = (user.user_metadata || {}).plan;
  callback(null, user, context);
}`

const oasAction = `exports.onExecutePostLogin = async (event, api) => {
  api.idToken.setCustomClaim('https://example.com/action', true);
};`

func TestOpenAPIConformance(t *testing.T) {
	l := startLatch(t, oasGenerousLimits)
	d := fetchOpenAPI(t, l)
	r := &oasRunner{l: l, d: d, token: l.ManagementToken(t, ""), ids: map[string]string{}}
	const (
		get, post, patch, put, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete
		email                      = "oas@example.com"
	)
	// The description itself, as every answer below, is held to the description.
	r.run(t, []oasExchange{
		{name: "the description", method: get, path: oasDocPath, auth: oasNoToken, status: 200},
		{name: "no token", method: get, path: "/api/v2/users", auth: oasNoToken, status: 401},
	})
	r.token, r.ids["bad"] = "not-a-jwt", "x"
	r.run(t, []oasExchange{{name: "a bad token", method: get, path: "/api/v2/clients", auth: oasToken, status: 401}})
	r.token = l.ManagementToken(t, "")

	// Users and applications.
	r.run(t, []oasExchange{
		{name: "create a user", method: post, path: "/api/v2/users", auth: oasToken, status: 201,
			body: map[string]any{"connection": dbConnection, "email": email, "password": strongPassword, "name": "O. A. S.",
				"given_name": "Oa", "family_name": "S", "user_metadata": map[string]any{"plan": "gold"}, "app_metadata": map[string]any{"roles": []string{"admin"}}},
			save: func(v any, ids map[string]string) {
				ids["user"], _ = oasDig(v, "user_id").(string)
				_, ids["userLocal"], _ = strings.Cut(ids["user"], "|")
			}},
		{name: "the same user again", method: post, path: "/api/v2/users", auth: oasToken, status: 409,
			body: map[string]any{"connection": dbConnection, "email": email, "password": strongPassword}},
		{name: "a user of no connection", method: post, path: "/api/v2/users", auth: oasToken, status: 400,
			body: map[string]any{"connection": "nope", "email": "other@example.com", "password": strongPassword}},
		{name: "a user as text", method: post, path: "/api/v2/users", auth: oasToken, status: 415, body: `{"connection":"x"}`, contentType: "text/plain"},
		{name: "list users", method: get, path: "/api/v2/users", auth: oasToken, status: 200},
		{name: "list users with totals", method: get, path: "/api/v2/users?include_totals=true&q=" + url.QueryEscape(`email:"`+email+`"`), auth: oasToken, status: 200},
		{name: "list users, per_page 0", method: get, path: "/api/v2/users?per_page=0", auth: oasToken, status: 400},
		{name: "get the user", method: get, path: "/api/v2/users/{user}", auth: oasToken, status: 200},
		{name: "get no user", method: get, path: "/api/v2/users/auth0%7Cnope", auth: oasToken, status: 404},
		{name: "patch the user", method: patch, path: "/api/v2/users/{user}", auth: oasToken, status: 200,
			body: map[string]any{"nickname": nil, "user_metadata": map[string]any{"theme": "dark"}, "app_metadata": map[string]any{"roles": nil}}},
		{name: "patch nothing", method: patch, path: "/api/v2/users/{user}", auth: oasToken, status: 400, body: map[string]any{}},
		{name: "users by email", method: get, path: "/api/v2/users-by-email?email=" + email, auth: oasToken, status: 200},
		{name: "users by no email", method: get, path: "/api/v2/users-by-email", auth: oasToken, status: 400},

		{name: "create a client", method: post, path: "/api/v2/clients", auth: oasToken, status: 201,
			body: map[string]any{"name": "oas app", "app_type": "regular_web", "callbacks": []string{"https://app.example.com/cb"},
				"grant_types":     []string{"http://auth0.com/oauth/grant-type/password-realm", "refresh_token"},
				"client_metadata": map[string]any{"team": "oas"}, "jwt_configuration": map[string]any{"lifetime_in_seconds": 3600}},
			save: func(v any, ids map[string]string) {
				ids["client"], _ = oasDig(v, "client_id").(string)
				ids["clientSecret"], _ = oasDig(v, "client_secret").(string)
			}},
		{name: "a client with an unknown property", method: post, path: "/api/v2/clients", auth: oasToken, status: 400, body: map[string]any{"name": "x", "bogus": 1}},
		{name: "list clients", method: get, path: "/api/v2/clients", auth: oasToken, status: 200},
		{name: "list clients with totals", method: get, path: "/api/v2/clients?include_totals=true", auth: oasToken, status: 200},
		{name: "list clients, per_page 101", method: get, path: "/api/v2/clients?per_page=101", auth: oasToken, status: 400},
		{name: "get the client", method: get, path: "/api/v2/clients/{client}", auth: oasToken, status: 200},
		{name: "get no client", method: get, path: "/api/v2/clients/nope", auth: oasToken, status: 404},
		{name: "patch the client", method: patch, path: "/api/v2/clients/{client}", auth: oasToken, status: 200,
			body: map[string]any{"description": "patched", "client_metadata": map[string]any{"team": nil}}},
		{name: "patch no client", method: patch, path: "/api/v2/clients/nope", auth: oasToken, status: 404, body: map[string]any{"description": "x"}},
	})

	// A login, so that the log, the user's log and the stats have something in them.
	resp, body := l.PostForm(t, "/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {dbConnection},
		"client_id": {r.ids["client"]}, "client_secret": {r.ids["clientSecret"]},
		"username": {email}, "password": {strongPassword}, "scope": {"openid"},
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}

	r.run(t, []oasExchange{
		{name: "find the database connection", method: get, path: "/api/v2/connections?name=" + dbConnection, auth: oasToken, status: 200,
			save: oasSave("conn", "0", "id")},
		{name: "list connections with totals", method: get, path: "/api/v2/connections?include_totals=true", auth: oasToken, status: 200},
		{name: "a checkpoint page of connections", method: get, path: "/api/v2/connections?take=1", auth: oasToken, status: 200},
		{name: "a checkpoint page of none", method: get, path: "/api/v2/connections?take=0", auth: oasToken, status: 400},
		{name: "get the connection", method: get, path: "/api/v2/connections/{conn}", auth: oasToken, status: 200},
		{name: "get no connection", method: get, path: "/api/v2/connections/con_nope", auth: oasToken, status: 404},
		{name: "patch the connection", method: patch, path: "/api/v2/connections/{conn}", auth: oasToken, status: 200,
			body: map[string]any{"options": map[string]any{"requires_username": false, "password_dictionary": map[string]any{"enable": true}}}},
		{name: "rename the connection", method: patch, path: "/api/v2/connections/{conn}", auth: oasToken, status: 400, body: map[string]any{"name": "x"}},

		{name: "create a rule", method: post, path: "/api/v2/rules", auth: oasToken, status: 201,
			body: map[string]any{"name": "oas-rule", "script": oasRule, "enabled": true}, save: oasSave("rule", "id")},
		{name: "the same rule again", method: post, path: "/api/v2/rules", auth: oasToken, status: 409, body: map[string]any{"name": "oas-rule", "script": oasRule}},
		{name: "a rule without a script", method: post, path: "/api/v2/rules", auth: oasToken, status: 400, body: map[string]any{"name": "no-script"}},
		{name: "list rules", method: get, path: "/api/v2/rules", auth: oasToken, status: 200},
		{name: "list rules with totals", method: get, path: "/api/v2/rules?include_totals=true&enabled=true", auth: oasToken, status: 200},
		{name: "list rules, enabled maybe", method: get, path: "/api/v2/rules?enabled=maybe", auth: oasToken, status: 400},
		{name: "get the rule", method: get, path: "/api/v2/rules/{rule}", auth: oasToken, status: 200},
		{name: "get no rule", method: get, path: "/api/v2/rules/rul_nope", auth: oasToken, status: 404},
		{name: "patch the rule", method: patch, path: "/api/v2/rules/{rule}", auth: oasToken, status: 200, body: map[string]any{"order": 7}},
		{name: "move the rule's stage", method: patch, path: "/api/v2/rules/{rule}", auth: oasToken, status: 400, body: map[string]any{"stage": "x"}},
		{name: "dry run", method: post, path: "/api/v2/rules/try", auth: oasToken, status: 200,
			body: map[string]any{"user_id": "{user}", "client_id": "{client}"}},
		{name: "dry run with a denying draft", method: post, path: "/api/v2/rules/try", auth: oasToken, status: 200,
			body: map[string]any{"user_id": "{user}", "client_id": "{client}", "rule": map[string]any{"name": "deny",
				"script": "function (user, context, callback) { callback(new UnauthorizedError('not today')); }"}}},
		{name: "dry run for nobody", method: post, path: "/api/v2/rules/try", auth: oasToken, status: 404,
			body: map[string]any{"user_id": "auth0|nope", "client_id": "{client}"}},
		{name: "dry run of nothing", method: post, path: "/api/v2/rules/try", auth: oasToken, status: 400, body: map[string]any{}},

		{name: "set a variable", method: put, path: "/api/v2/rules-configs/OAS_KEY", auth: oasToken, status: 200, body: map[string]any{"value": "s3cret"}},
		{name: "set a badly named variable", method: put, path: "/api/v2/rules-configs/bad%20key", auth: oasToken, status: 400, body: map[string]any{"value": "v"}},
		{name: "set no value", method: put, path: "/api/v2/rules-configs/OAS_KEY", auth: oasToken, status: 400, body: map[string]any{}},
		{name: "list the variables", method: get, path: "/api/v2/rules-configs", auth: oasToken, status: 200},
		{name: "delete the variable", method: del, path: "/api/v2/rules-configs/OAS_KEY", auth: oasToken, status: 204},
		{name: "delete it again", method: del, path: "/api/v2/rules-configs/OAS_KEY", auth: oasToken, status: 404},

		{name: "create an action", method: post, path: "/api/v2/actions/actions", auth: oasToken, status: 201,
			body: map[string]any{"name": "oas-action", "code": oasAction, "supported_triggers": []any{map[string]any{"id": "post-login", "version": "v3"}}},
			save: oasSave("action", "id")},
		{name: "the same action again", method: post, path: "/api/v2/actions/actions", auth: oasToken, status: 409,
			body: map[string]any{"name": "oas-action", "code": oasAction, "supported_triggers": []any{map[string]any{"id": "post-login"}}}},
		{name: "an action for no trigger", method: post, path: "/api/v2/actions/actions", auth: oasToken, status: 400,
			body: map[string]any{"name": "x", "code": oasAction, "supported_triggers": []any{map[string]any{"id": "nope"}}}},
		{name: "list actions", method: get, path: "/api/v2/actions/actions?triggerId=post-login", auth: oasToken, status: 200},
		{name: "list actions, deployed maybe", method: get, path: "/api/v2/actions/actions?deployed=maybe", auth: oasToken, status: 400},
		{name: "get the action", method: get, path: "/api/v2/actions/actions/{action}", auth: oasToken, status: 200},
		{name: "get no action", method: get, path: "/api/v2/actions/actions/nope", auth: oasToken, status: 404},
		{name: "patch the action", method: patch, path: "/api/v2/actions/actions/{action}", auth: oasToken, status: 200, body: map[string]any{"code": oasAction + "\n"}},
		{name: "patch nothing", method: patch, path: "/api/v2/actions/actions/{action}", auth: oasToken, status: 400, body: map[string]any{}},
		{name: "deploy the action", method: post, path: "/api/v2/actions/actions/{action}/deploy", auth: oasToken, status: 202},
		{name: "deploy no action", method: post, path: "/api/v2/actions/actions/nope/deploy", auth: oasToken, status: 404},
		{name: "bind the action", method: patch, path: "/api/v2/actions/triggers/post-login/bindings", auth: oasToken, status: 200,
			body: map[string]any{"bindings": []any{map[string]any{"ref": map[string]any{"type": "action_id", "value": "{action}"}, "display_name": "oas"}}}},
		{name: "bind a string", method: patch, path: "/api/v2/actions/triggers/post-login/bindings", auth: oasToken, status: 400, body: map[string]any{"bindings": "x"}},
		{name: "list the bindings", method: get, path: "/api/v2/actions/triggers/post-login/bindings", auth: oasToken, status: 200},
		{name: "list no trigger's bindings", method: get, path: "/api/v2/actions/triggers/nope/bindings", auth: oasToken, status: 404},
		{name: "delete the bound action", method: del, path: "/api/v2/actions/actions/{action}", auth: oasToken, status: 409},
		{name: "force its deletion", method: del, path: "/api/v2/actions/actions/{action}?force=true", auth: oasToken, status: 204},
		{name: "delete it again", method: del, path: "/api/v2/actions/actions/{action}", auth: oasToken, status: 404},

		{name: "search the log", method: get, path: "/api/v2/logs?q=type:s", auth: oasToken, status: 200,
			until: func(v any) bool { return oasDig(v, "0") != nil }, save: oasSave("log", "0", "log_id")},
		{name: "the log with totals", method: get, path: "/api/v2/logs?include_totals=true&sort=date:1", auth: oasToken, status: 200},
		{name: "the log by checkpoint", method: get, path: "/api/v2/logs?take=5", auth: oasToken, status: 200, header: "Link"},
		{name: "a broken log query", method: get, path: "/api/v2/logs?q=" + url.QueryEscape("type:("), auth: oasToken, status: 400},
		{name: "get the event", method: get, path: "/api/v2/logs/{log}", auth: oasToken, status: 200},
		{name: "get no event", method: get, path: "/api/v2/logs/nope", auth: oasToken, status: 404},
		{name: "the user's log", method: get, path: "/api/v2/users/{user}/logs", auth: oasToken, status: 200},
		{name: "the user's log with totals", method: get, path: "/api/v2/users/{user}/logs?include_totals=true", auth: oasToken, status: 200},
		{name: "the user's log, badly sorted", method: get, path: "/api/v2/users/{user}/logs?sort=name:1", auth: oasToken, status: 400},
		{name: "daily stats", method: get, path: "/api/v2/stats/daily", auth: oasToken, status: 200},
		{name: "daily stats of a bad day", method: get, path: "/api/v2/stats/daily?from=2024", auth: oasToken, status: 400},

		{name: "brute-force settings", method: get, path: "/api/v2/attack-protection/brute-force-protection", auth: oasToken, status: 200},
		{name: "change brute-force settings", method: patch, path: "/api/v2/attack-protection/brute-force-protection", auth: oasToken, status: 200,
			body: map[string]any{"max_attempts": 20, "allowlist": []string{"192.0.2.0/24"}}},
		{name: "a brute-force mode latch lacks", method: patch, path: "/api/v2/attack-protection/brute-force-protection", auth: oasToken, status: 400,
			body: map[string]any{"mode": "count_per_moon"}},
		{name: "throttling settings", method: get, path: "/api/v2/attack-protection/suspicious-ip-throttling", auth: oasToken, status: 200},
		{name: "change throttling settings", method: patch, path: "/api/v2/attack-protection/suspicious-ip-throttling", auth: oasToken, status: 200,
			body: map[string]any{"stage": map[string]any{"pre-login": map[string]any{"max_attempts": 200, "rate": 432000}}}},
		{name: "a throttling stage without its rate", method: patch, path: "/api/v2/attack-protection/suspicious-ip-throttling", auth: oasToken, status: 400,
			body: map[string]any{"stage": map[string]any{"pre-login": map[string]any{"max_attempts": 200}}}},
		{name: "breached-password detection", method: get, path: "/api/v2/attack-protection/breached-password-detection", auth: oasToken, status: 200},
		{name: "turn breached-password detection on", method: patch, path: "/api/v2/attack-protection/breached-password-detection", auth: oasToken, status: 400,
			body: map[string]any{"enabled": true}},
		{name: "leave breached-password detection off", method: patch, path: "/api/v2/attack-protection/breached-password-detection", auth: oasToken, status: 200,
			body: map[string]any{"enabled": false}},

		{name: "an identifier's blocks", method: get, path: "/api/v2/user-blocks?identifier=" + email, auth: oasToken, status: 200},
		{name: "nobody's blocks", method: get, path: "/api/v2/user-blocks", auth: oasToken, status: 400},
		{name: "the user's blocks", method: get, path: "/api/v2/user-blocks/{user}", auth: oasToken, status: 200},
		{name: "no user's blocks", method: get, path: "/api/v2/user-blocks/auth0%7Cnope", auth: oasToken, status: 404},
		{name: "unblock an identifier", method: del, path: "/api/v2/user-blocks?identifier=" + email, auth: oasToken, status: 204},
		{name: "unblock nobody", method: del, path: "/api/v2/user-blocks", auth: oasToken, status: 400},
		{name: "unblock the user", method: del, path: "/api/v2/user-blocks/{user}", auth: oasToken, status: 204},
		{name: "unblock no user", method: del, path: "/api/v2/user-blocks/auth0%7Cnope", auth: oasToken, status: 404},

		// Without a mail server, latch writes its emails to the log.
		{name: "an email verification ticket", method: post, path: "/api/v2/tickets/email-verification", auth: oasToken, status: 201,
			body: map[string]any{"user_id": "{user}", "client_id": "{client}", "result_url": "https://app.example.com/verified", "ttl_sec": 3600}},
		{name: "a ticket with a typo", method: post, path: "/api/v2/tickets/email-verification", auth: oasToken, status: 400, body: map[string]any{"user_idd": "{user}"}},
		{name: "a password change ticket", method: post, path: "/api/v2/tickets/password-change", auth: oasToken, status: 201,
			body: map[string]any{"connection_id": "{conn}", "email": email, "mark_email_as_verified": true}},
		{name: "a ticket that sets the password", method: post, path: "/api/v2/tickets/password-change", auth: oasToken, status: 400, body: map[string]any{"user_id": "{user}", "new_password": "x"}},
		{name: "a verification email", method: post, path: "/api/v2/jobs/verification-email", auth: oasToken, status: 201,
			body: map[string]any{"user_id": "{user}", "identity": map[string]any{"provider": "auth0", "user_id": "{userLocal}"}}, save: oasSave("mailJob", "id")},
		{name: "the verification email's job", method: get, path: "/api/v2/jobs/{mailJob}", auth: oasToken, status: 200},
		{name: "a verification email with a typo", method: post, path: "/api/v2/jobs/verification-email", auth: oasToken, status: 400, body: map[string]any{"usr": "{user}"}},

		{name: "import users", method: post, path: "/api/v2/jobs/users-imports", auth: oasToken, status: 202,
			form: map[string]string{"connection_id": "{conn}", "external_id": "oas", "upsert": "false",
				"users": `[{"email":"imported@example.com","email_verified":true},{"email":"not-an-email"}]`},
			save: oasSave("import", "id")},
		{name: "import without users", method: post, path: "/api/v2/jobs/users-imports", auth: oasToken, status: 400, form: map[string]string{"connection_id": "{conn}"}},
		{name: "import JSON", method: post, path: "/api/v2/jobs/users-imports", auth: oasToken, status: 415, body: map[string]any{"connection_id": "{conn}"}},
		{name: "the import, until it ends", method: get, path: "/api/v2/jobs/{import}", auth: oasToken, status: 200,
			until: func(v any) bool { s := oasDig(v, "status"); return s == "completed" || s == "failed" }},
		{name: "the import's failures", method: get, path: "/api/v2/jobs/{import}/errors", auth: oasToken, status: 200},
		{name: "export users", method: post, path: "/api/v2/jobs/users-exports", auth: oasToken, status: 201,
			body: map[string]any{"connection_id": "{conn}", "format": "csv", "fields": []any{map[string]any{"name": "email"}, map[string]any{"name": "user_metadata.plan", "export_as": "plan"}}},
			save: oasSave("export", "id")},
		{name: "export as XML", method: post, path: "/api/v2/jobs/users-exports", auth: oasToken, status: 400, body: map[string]any{"format": "xml"}},
		{name: "the export, until it is done", method: get, path: "/api/v2/jobs/{export}", auth: oasToken, status: 200,
			until: func(v any) bool { return oasDig(v, "status") == "completed" },
			save: func(v any, ids map[string]string) {
				loc, _ := oasDig(v, "location").(string)
				ids["exportToken"] = loc[strings.LastIndex(loc, "/")+1:]
			}},
		{name: "the export's failures", method: get, path: "/api/v2/jobs/{export}/errors", auth: oasToken, status: 204},
		{name: "no job", method: get, path: "/api/v2/jobs/job_nope", auth: oasToken, status: 404},
		{name: "no job's failures", method: get, path: "/api/v2/jobs/job_nope/errors", auth: oasToken, status: 404},
		{name: "download the export", method: get, path: "/api/v2/jobs/{export}/file/{exportToken}", auth: oasNoToken, status: 200},
		{name: "download with a wrong token", method: get, path: "/api/v2/jobs/{export}/file/nope", auth: oasNoToken, status: 404},

		{name: "delete the rule", method: del, path: "/api/v2/rules/{rule}", auth: oasToken, status: 204},
		{name: "delete the rule again", method: del, path: "/api/v2/rules/{rule}", auth: oasToken, status: 404},
		{name: "delete the user", method: del, path: "/api/v2/users/{user}", auth: oasToken, status: 204},
		{name: "delete the user again", method: del, path: "/api/v2/users/{user}", auth: oasToken, status: 404},
		{name: "delete the client", method: del, path: "/api/v2/clients/{client}", auth: oasToken, status: 204},
		{name: "delete the client again", method: del, path: "/api/v2/clients/{client}", auth: oasToken, status: 404},

		// Signing keys last: revoking the key that signed the token ends the token.
		{name: "list the keys", method: get, path: "/api/v2/keys/signing", auth: oasToken, status: 200,
			save: func(v any, ids map[string]string) {
				for _, k := range v.([]any) {
					if oasDig(k, "current") == true {
						ids["oldKid"], _ = oasDig(k, "kid").(string)
					}
				}
			}},
		{name: "rotate", method: post, path: "/api/v2/keys/signing/rotate", auth: oasToken, status: 201, save: oasSave("newKid", "kid")},
		{name: "get the new key", method: get, path: "/api/v2/keys/signing/{newKid}", auth: oasToken, status: 200},
		{name: "get no key", method: get, path: "/api/v2/keys/signing/nope", auth: oasToken, status: 404},
		{name: "revoke the current key", method: put, path: "/api/v2/keys/signing/{newKid}/revoke", auth: oasToken, status: 400},
		{name: "revoke no key", method: put, path: "/api/v2/keys/signing/nope/revoke", auth: oasToken, status: 404},
		{name: "revoke the old key", method: put, path: "/api/v2/keys/signing/{oldKid}/revoke", auth: oasFreshToken, status: 200},
		{name: "a token of the revoked key", method: get, path: "/api/v2/rules-configs", auth: oasToken, status: 401},
	})

	// Every operation was called and succeeded at least once, and each resource failed too.
	errorsByTag := map[string]bool{}
	for _, o := range d.ops {
		if len(o.seen) == 0 {
			t.Errorf("%s was never called", o.key)
			continue
		}
		succeeded := false
		for s := range o.seen {
			succeeded = succeeded || s < 300 || s == http.StatusNotModified
			if s >= 400 && s < 500 {
				for _, tag := range o.op["tags"].([]any) {
					errorsByTag[tag.(string)] = true
				}
			}
		}
		if !succeeded {
			t.Errorf("%s never succeeded (statuses %v)", o.key, slices.Sorted(maps.Keys(o.seen)))
		}
	}
	for _, tag := range d.doc["tags"].([]any) {
		name := tag.(map[string]any)["name"].(string)
		if !errorsByTag[name] && name != "Description" {
			t.Errorf("no error of %s was checked", name)
		}
	}
}

// TestOpenAPISecurityRequirements holds each operation's security requirements to latch:
// without a token it is a 401; with a token of only other scopes a 403 naming the accepted
// ones; with the scopes of any one requirement the request gets past the check; and a
// requirement of several scopes needs them all. The requests name nothing that exists and
// send no valid body, so that they change nothing once past the check.
func TestOpenAPISecurityRequirements(t *testing.T) {
	l := startLatch(t, oasGenerousLimits)
	d := fetchOpenAPI(t, l)
	granted := strings.Fields(jwtClaim(t, l.ManagementToken(t, ""), "scope"))
	tokens := map[string]string{}
	tokenFor := func(scopes []string) string {
		key := strings.Join(scopes, " ")
		if tokens[key] == "" {
			tokens[key] = l.ManagementToken(t, key)
		}
		return tokens[key]
	}
	call := func(t *testing.T, o *oasOperation, token string) (*http.Response, []byte) {
		t.Helper()
		path := "/api/v2" + strings.SplitN(o.key, " ", 2)[1]
		path = regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "nope")
		req, err := http.NewRequest(o.method, l.URL+path, nil)
		if _, hasBody := o.op["requestBody"]; hasBody {
			req, err = http.NewRequest(o.method, l.URL+path, strings.NewReader("x"))
			req.Header.Set("Content-Type", "text/plain")
		}
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, body := send(t, req)
		d.check(t, o.method, req.URL.EscapedPath(), resp, body)
		return resp, body
	}

	for _, o := range d.ops {
		t.Run(o.key, func(t *testing.T) {
			var alternatives [][]string
			accepted := map[string]bool{}
			for _, req := range o.op["security"].([]any) {
				for _, scopes := range req.(map[string]any) {
					var alt []string
					for _, s := range scopes.([]any) {
						alt = append(alt, s.(string))
						accepted[s.(string)] = true
					}
					alternatives = append(alternatives, alt)
				}
			}
			if len(alternatives) == 0 {
				if resp, body := call(t, o, ""); resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
					t.Errorf("public, but without a token: %d %s", resp.StatusCode, body)
				}
				return
			}
			if resp, body := call(t, o, ""); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("without a token: %d %s", resp.StatusCode, body)
			}
			var other string
			for _, s := range granted {
				if !accepted[s] {
					other = s
					break
				}
			}
			resp, body := call(t, o, tokenFor([]string{other}))
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("with %s only: %d %s", other, resp.StatusCode, body)
			}
			single := true
			var anyOf []string
			for _, alt := range alternatives {
				single = single && len(alt) == 1
				anyOf = append(anyOf, alt[0])
			}
			if want := "Insufficient scope, expected any of: " + strings.Join(anyOf, ","); single && !strings.Contains(string(body), `"message":"`+want+`"`) {
				t.Errorf("with %s only: %s, want the message %q", other, body, want)
			}
			for _, alt := range alternatives {
				if !oasAllGranted(alt, granted) {
					continue // not among the test client's scopes
				}
				if resp, body := call(t, o, tokenFor(alt)); resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
					t.Errorf("with %v: %d %s", alt, resp.StatusCode, body)
				}
				if len(alt) < 2 {
					continue
				}
				for _, s := range alt { // each scope of a requirement alone is not enough
					if resp, body := call(t, o, tokenFor([]string{s})); resp.StatusCode != http.StatusForbidden && !oasAloneSuffices(s, alternatives) {
						t.Errorf("with %s alone of %v: %d %s", s, alt, resp.StatusCode, body)
					}
				}
			}
		})
	}
}

func oasAllGranted(scopes, granted []string) bool {
	for _, s := range scopes {
		if !slices.Contains(granted, s) {
			return false
		}
	}
	return true
}

// coveredAlone reports whether scope is by itself one of the alternatives.
func oasAloneSuffices(scope string, alternatives [][]string) bool {
	for _, alt := range alternatives {
		if len(alt) == 1 && alt[0] == scope {
			return true
		}
	}
	return false
}

// TestOpenAPIRateLimitAnswer: a client past its limit gets the 429 the description declares.
func TestOpenAPIRateLimitAnswer(t *testing.T) {
	l := startLatch(t, func(c *Config) { c.MgmtRateLimit, c.MgmtRateBurst = 1, 2 })
	d := fetchOpenAPI(t, l)
	tok := l.ManagementToken(t, "")
	limited := false
	for i := 0; i < 10 && !limited; i++ {
		resp, body := l.Do(t, http.MethodGet, "/api/v2/rules-configs", tok, nil)
		d.check(t, http.MethodGet, "/api/v2/rules-configs", resp, body)
		if resp.Header.Get("X-RateLimit-Limit") == "" || resp.Header.Get("X-RateLimit-Remaining") == "" || resp.Header.Get("X-RateLimit-Reset") == "" {
			t.Errorf("answer %d without the X-RateLimit headers: %v", i, resp.Header)
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = true
			if resp.Header.Get("Retry-After") == "" {
				t.Error("a 429 without Retry-After")
			}
		}
	}
	if !limited {
		t.Fatal("ten requests in a row at 1 per second with a burst of 2 were never limited")
	}
}
