package mgmtapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
)

// The document is checked three ways here: that it is a well-formed OpenAPI 3.1 document
// whose schemas are valid in the OAS dialect, that it describes exactly the routes the
// Handler registers, and that its schemas name exactly the properties of the Go types that
// render the answers. cmd/latch's conformance test then holds real answers to it.

const (
	// openAPIDocURL is the base URI the document is loaded under; its $refs are relative.
	openAPIDocURL = "urn:latch:openapi.json"
	// oasDialectURL is OpenAPI 3.1's default schema dialect.
	oasDialectURL = "https://spec.openapis.org/oas/3.1/dialect/base"
)

// oasDialect is the OAS 3.1 base dialect as its vocabularies define it: JSON Schema 2020-12,
// plus OpenAPI's own annotation keywords (discriminator, example, externalDocs, xml), whose
// vocabulary is optional.
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

// openAPIStructure is the shape of an OpenAPI 3.1 document, for the objects this document
// uses: every object is closed (apart from x- extensions), so a misspelt field fails. The
// Schema Objects inside are checked by compiling them in the OAS dialect instead.
const openAPIStructure = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "urn:latch:test:openapi-structure",
  "$ref": "#/$defs/extensible",
  "type": "object",
  "required": ["openapi", "info", "paths"],
  "properties": {
    "openapi": {"type": "string", "pattern": "^3\\.1\\.\\d+$"},
    "jsonSchemaDialect": {"type": "string", "format": "uri"},
    "info": {
      "$ref": "#/$defs/extensible",
      "type": "object",
      "required": ["title", "version"],
      "properties": {
        "title": {"type": "string", "minLength": 1}, "version": {"type": "string", "minLength": 1},
        "summary": {"type": "string"}, "description": {"type": "string"},
        "termsOfService": {"type": "string"}, "contact": {"type": "object"},
        "license": {"type": "object", "required": ["name"]}
      },
      "unevaluatedProperties": false
    },
    "servers": {"type": "array", "items": {"$ref": "#/$defs/server"}},
    "tags": {
      "type": "array",
      "items": {
        "$ref": "#/$defs/extensible",
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}, "description": {"type": "string"}, "externalDocs": {"type": "object"}},
        "unevaluatedProperties": false
      }
    },
    "paths": {
      "type": "object",
      "propertyNames": {"pattern": "^/"},
      "additionalProperties": {"$ref": "#/$defs/pathItem"}
    },
    "components": {
      "$ref": "#/$defs/extensible",
      "type": "object",
      "properties": {
        "schemas": {"type": "object", "additionalProperties": {"type": ["object", "boolean"]}},
        "responses": {"type": "object", "additionalProperties": {"$ref": "#/$defs/responseOrRef"}},
        "parameters": {"type": "object", "additionalProperties": {"$ref": "#/$defs/parameterOrRef"}},
        "requestBodies": {"type": "object", "additionalProperties": {"$ref": "#/$defs/requestBody"}},
        "headers": {"type": "object", "additionalProperties": {"$ref": "#/$defs/header"}},
        "securitySchemes": {"type": "object", "additionalProperties": {"$ref": "#/$defs/securityScheme"}}
      },
      "unevaluatedProperties": false
    },
    "security": {"type": "array", "items": {"$ref": "#/$defs/securityRequirement"}},
    "externalDocs": {"type": "object"}
  },
  "unevaluatedProperties": false,
  "$defs": {
    "extensible": {"patternProperties": {"^x-": true}},
    "ref": {
      "type": "object",
      "required": ["$ref"],
      "properties": {"$ref": {"type": "string", "format": "uri-reference"}, "summary": {"type": "string"}, "description": {"type": "string"}},
      "additionalProperties": false
    },
    "server": {
      "$ref": "#/$defs/extensible",
      "type": "object",
      "required": ["url"],
      "properties": {"url": {"type": "string"}, "description": {"type": "string"}, "variables": {"type": "object"}},
      "unevaluatedProperties": false
    },
    "pathItem": {
      "$ref": "#/$defs/extensible",
      "type": "object",
      "properties": {
        "summary": {"type": "string"}, "description": {"type": "string"},
        "servers": {"type": "array", "items": {"$ref": "#/$defs/server"}},
        "parameters": {"type": "array", "items": {"$ref": "#/$defs/parameterOrRef"}},
        "get": {"$ref": "#/$defs/operation"}, "put": {"$ref": "#/$defs/operation"},
        "post": {"$ref": "#/$defs/operation"}, "delete": {"$ref": "#/$defs/operation"},
        "options": {"$ref": "#/$defs/operation"}, "head": {"$ref": "#/$defs/operation"},
        "patch": {"$ref": "#/$defs/operation"}, "trace": {"$ref": "#/$defs/operation"}
      },
      "unevaluatedProperties": false
    },
    "operation": {
      "$ref": "#/$defs/extensible",
      "type": "object",
      "required": ["responses"],
      "properties": {
        "tags": {"type": "array", "items": {"type": "string"}},
        "summary": {"type": "string"}, "description": {"type": "string"},
        "externalDocs": {"type": "object"},
        "operationId": {"type": "string", "minLength": 1},
        "parameters": {"type": "array", "items": {"$ref": "#/$defs/parameterOrRef"}},
        "requestBody": {"if": {"required": ["$ref"]}, "then": {"$ref": "#/$defs/ref"}, "else": {"$ref": "#/$defs/requestBody"}},
        "responses": {"$ref": "#/$defs/responses"},
        "callbacks": {"type": "object"},
        "deprecated": {"type": "boolean"},
        "security": {"type": "array", "items": {"$ref": "#/$defs/securityRequirement"}},
        "servers": {"type": "array", "items": {"$ref": "#/$defs/server"}}
      },
      "unevaluatedProperties": false
    },
    "parameterOrRef": {"if": {"required": ["$ref"]}, "then": {"$ref": "#/$defs/ref"}, "else": {"$ref": "#/$defs/parameter"}},
    "parameter": {
      "$ref": "#/$defs/extensible",
      "type": "object",
      "required": ["name", "in"],
      "properties": {
        "name": {"type": "string", "minLength": 1},
        "in": {"enum": ["query", "header", "path", "cookie"]},
        "description": {"type": "string"},
        "required": {"type": "boolean"},
        "deprecated": {"type": "boolean"},
        "allowEmptyValue": {"type": "boolean"},
        "style": {"enum": ["matrix", "label", "simple", "form", "spaceDelimited", "pipeDelimited", "deepObject"]},
        "explode": {"type": "boolean"},
        "allowReserved": {"type": "boolean"},
        "schema": {"type": ["object", "boolean"]},
        "content": {"$ref": "#/$defs/content", "minProperties": 1, "maxProperties": 1},
        "example": true,
        "examples": {"type": "object"}
      },
      "oneOf": [{"required": ["schema"]}, {"required": ["content"]}],
      "if": {"properties": {"in": {"const": "path"}}},
      "then": {"required": ["required"], "properties": {"required": {"const": true}}},
      "unevaluatedProperties": false
    },
    "requestBody": {
      "$ref": "#/$defs/extensible",
      "type": "object",
      "required": ["content"],
      "properties": {"description": {"type": "string"}, "content": {"$ref": "#/$defs/content"}, "required": {"type": "boolean"}},
      "unevaluatedProperties": false
    },
    "content": {"type": "object", "additionalProperties": {"$ref": "#/$defs/mediaType"}},
    "mediaType": {
      "$ref": "#/$defs/extensible",
      "type": "object",
      "properties": {
        "schema": {"type": ["object", "boolean"]},
        "example": true,
        "examples": {"type": "object"},
        "encoding": {
          "type": "object",
          "additionalProperties": {
            "$ref": "#/$defs/extensible",
            "type": "object",
            "properties": {
              "contentType": {"type": "string"}, "headers": {"type": "object"},
              "style": {"type": "string"}, "explode": {"type": "boolean"}, "allowReserved": {"type": "boolean"}
            },
            "unevaluatedProperties": false
          }
        }
      },
      "unevaluatedProperties": false
    },
    "responses": {
      "type": "object",
      "minProperties": 1,
      "propertyNames": {"pattern": "^([1-5](\\d\\d|XX)|default|x-.*)$"},
      "additionalProperties": {"$ref": "#/$defs/responseOrRef"}
    },
    "responseOrRef": {"if": {"required": ["$ref"]}, "then": {"$ref": "#/$defs/ref"}, "else": {"$ref": "#/$defs/response"}},
    "response": {
      "$ref": "#/$defs/extensible",
      "type": "object",
      "required": ["description"],
      "properties": {
        "description": {"type": "string"},
        "headers": {"type": "object", "additionalProperties": {"$ref": "#/$defs/header"}},
        "content": {"$ref": "#/$defs/content"},
        "links": {"type": "object"}
      },
      "unevaluatedProperties": false
    },
    "header": {
      "$ref": "#/$defs/extensible",
      "type": "object",
      "properties": {
        "description": {"type": "string"}, "required": {"type": "boolean"}, "deprecated": {"type": "boolean"},
        "style": {"const": "simple"}, "explode": {"type": "boolean"},
        "schema": {"type": ["object", "boolean"]}, "content": {"$ref": "#/$defs/content"},
        "example": true, "examples": {"type": "object"}
      },
      "oneOf": [{"required": ["schema"]}, {"required": ["content"]}],
      "unevaluatedProperties": false
    },
    "securityScheme": {
      "$ref": "#/$defs/extensible",
      "type": "object",
      "required": ["type"],
      "properties": {
        "type": {"enum": ["apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"]},
        "description": {"type": "string"},
        "name": {"type": "string"}, "in": {"enum": ["query", "header", "cookie"]},
        "scheme": {"type": "string"}, "bearerFormat": {"type": "string"},
        "flows": {"type": "object"}, "openIdConnectUrl": {"type": "string"}
      },
      "if": {"properties": {"type": {"const": "http"}}},
      "then": {"required": ["scheme"]},
      "unevaluatedProperties": false
    },
    "securityRequirement": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}
  }
}`

// loadOpenAPI decodes the embedded document, failing on a property given twice: encoding/json
// keeps the last silently, and in a hand-written file that is a typo.
func loadOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	if err := noDuplicateKeys(json.NewDecoder(bytes.NewReader(openAPIDocument)), "#"); err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(openAPIDocument))
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return doc.(map[string]any)
}

// noDuplicateKeys reads one JSON value from dec and reports the first object key given twice.
func noDuplicateKeys(dec *json.Decoder, at string) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%s: %w", at, err)
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return fmt.Errorf("%s: %w", at, err)
			}
			key := k.(string)
			if seen[key] {
				return fmt.Errorf("%s: property %q is given twice", at, key)
			}
			seen[key] = true
			if err := noDuplicateKeys(dec, at+"/"+key); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := noDuplicateKeys(dec, fmt.Sprintf("%s/%d", at, i)); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	}
	return err
}

// openAPICompiler compiles schemas of doc (by JSON pointer) in the dialect doc names, the way
// an OpenAPI 3.1 tool reads them.
func openAPICompiler(t *testing.T, doc map[string]any) *jsonschema.Compiler {
	t.Helper()
	dialect, err := jsonschema.UnmarshalJSON(strings.NewReader(oasDialect))
	if err != nil {
		t.Fatal(err)
	}
	// A Schema Object's dialect is the document's jsonSchemaDialect; $schema at the root of
	// the resource says so to the compiler.
	withDialect := map[string]any{"$schema": doc["jsonSchemaDialect"]}
	for k, v := range doc {
		withDialect[k] = v
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	for url, res := range map[string]any{oasDialectURL: dialect, openAPIDocURL: withDialect} {
		if err := c.AddResource(url, res); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// pointerURL is the location of the value at the JSON pointer tokens in the document.
func pointerURL(tokens ...string) string {
	var b strings.Builder
	for _, tok := range tokens {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
		b.WriteString("/" + url.PathEscape(tok))
	}
	return openAPIDocURL + "#" + b.String()
}

// compileAt compiles the schema at the JSON pointer tokens.
func compileAt(t *testing.T, c *jsonschema.Compiler, tokens ...string) *jsonschema.Schema {
	t.Helper()
	s, err := c.Compile(pointerURL(tokens...))
	if err != nil {
		t.Fatalf("schema at %s: %v", strings.Join(tokens, "/"), err)
	}
	return s
}

// methods are the operations a Path Item may hold.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operation is one method of one path.
type operation struct {
	path, method string
	op           map[string]any
	parameters   []map[string]any // the path item's and the operation's, refs resolved
}

func operations(t *testing.T, doc map[string]any) []operation {
	t.Helper()
	var ops []operation
	paths := doc["paths"].(map[string]any)
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item := paths[p].(map[string]any)
		for _, m := range methods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			o := operation{path: p, method: m, op: op}
			for _, list := range []any{item["parameters"], op["parameters"]} {
				ps, _ := list.([]any)
				for _, prm := range ps {
					o.parameters = append(o.parameters, resolve(t, doc, prm.(map[string]any)))
				}
			}
			ops = append(ops, o)
		}
	}
	return ops
}

// resolve follows a Reference Object within the document.
func resolve(t *testing.T, doc map[string]any, v map[string]any) map[string]any {
	t.Helper()
	ref, ok := v["$ref"].(string)
	if !ok {
		return v
	}
	target, err := lookup(doc, ref)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := target.(map[string]any)
	if !ok {
		t.Fatalf("%s is not an object", ref)
	}
	return resolve(t, doc, m)
}

// lookup finds the value a local reference (#/a/b) names.
func lookup(doc any, ref string) (any, error) {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("reference %q leaves the document", ref)
	}
	v := doc
	for _, tok := range strings.Split(ptr, "/")[1:] {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := v.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("reference %q: no %q", ref, tok)
			}
			v = next
		case []any:
			var i int
			if _, err := fmt.Sscan(tok, &i); err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("reference %q: no item %q", ref, tok)
			}
			v = c[i]
		default:
			return nil, fmt.Errorf("reference %q: %q is inside a scalar", ref, tok)
		}
	}
	return v, nil
}

// walk calls fn with every object of v and its JSON pointer tokens.
func walk(v any, at []string, fn func(at []string, obj map[string]any)) {
	switch c := v.(type) {
	case map[string]any:
		fn(at, c)
		for _, k := range slices.Sorted(maps.Keys(c)) {
			walk(c[k], append(slices.Clone(at), k), fn)
		}
	case []any:
		for i, e := range c {
			walk(e, append(slices.Clone(at), fmt.Sprint(i)), fn)
		}
	}
}

var templateParam = regexp.MustCompile(`\{([^}/]+)\}`)

func TestOpenAPIDocumentIsValidOpenAPI31(t *testing.T) {
	doc := loadOpenAPI(t)

	t.Run("structure", func(t *testing.T) {
		meta, err := jsonschema.UnmarshalJSON(strings.NewReader(openAPIStructure))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("urn:latch:test:openapi-structure", meta); err != nil {
			t.Fatal(err)
		}
		if err := c.MustCompile("urn:latch:test:openapi-structure").Validate(any(doc)); err != nil {
			t.Fatalf("openapi.json is not an OpenAPI 3.1 document: %v", err)
		}
	})

	t.Run("references resolve", func(t *testing.T) {
		walk(any(doc), nil, func(at []string, obj map[string]any) {
			if ref, ok := obj["$ref"].(string); ok {
				if _, err := lookup(any(doc), ref); err != nil {
					t.Errorf("at %s: %v", strings.Join(at, "/"), err)
				}
			}
		})
	})

	t.Run("schemas compile in the OAS dialect", func(t *testing.T) {
		c := openAPICompiler(t, doc)
		n := 0
		walk(any(doc), nil, func(at []string, obj map[string]any) {
			inComponents := len(at) == 3 && at[0] == "components" && at[1] == "schemas"
			if s, ok := obj["schema"]; ok && !slices.Contains(at, "schemas") {
				if _, isSchema := s.(map[string]any); isSchema {
					compileAt(t, c, append(slices.Clone(at), "schema")...)
					n++
				}
			}
			if inComponents {
				compileAt(t, c, at...)
				n++
			}
		})
		if n < 40 {
			t.Errorf("compiled only %d schemas: the walk missed some", n)
		}
	})

	t.Run("operations", func(t *testing.T) {
		schemes := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
		var tags []string
		for _, tag := range doc["tags"].([]any) {
			tags = append(tags, tag.(map[string]any)["name"].(string))
		}
		ids := map[string]string{}
		for _, o := range operations(t, doc) {
			name := strings.ToUpper(o.method) + " " + o.path
			id, _ := o.op["operationId"].(string)
			if id == "" {
				t.Errorf("%s: no operationId", name)
			} else if other, dup := ids[id]; dup {
				t.Errorf("%s: operationId %s is %s's too", name, id, other)
			}
			ids[id] = name
			opTags, _ := o.op["tags"].([]any)
			if len(opTags) == 0 {
				t.Errorf("%s: no tag", name)
			}
			for _, tag := range opTags {
				if !slices.Contains(tags, tag.(string)) {
					t.Errorf("%s: tag %q is not declared", name, tag)
				}
			}
			// Path parameters: exactly those of the template, each once.
			var inPath []string
			seen := map[string]bool{}
			for _, p := range o.parameters {
				key := p["in"].(string) + ":" + p["name"].(string)
				if seen[key] {
					t.Errorf("%s: parameter %s is declared twice", name, key)
				}
				seen[key] = true
				if p["in"] == "path" {
					inPath = append(inPath, p["name"].(string))
				}
			}
			var want []string
			for _, m := range templateParam.FindAllStringSubmatch(o.path, -1) {
				want = append(want, m[1])
			}
			sort.Strings(inPath)
			sort.Strings(want)
			if !slices.Equal(inPath, want) {
				t.Errorf("%s: path parameters %v, the template has %v", name, inPath, want)
			}
			// Security: every operation says, with a known scheme; an empty list is public.
			sec, ok := o.op["security"].([]any)
			if !ok {
				t.Errorf("%s: no security requirement (write [] for a public operation)", name)
			}
			for _, req := range sec {
				for s, scopes := range req.(map[string]any) {
					if _, ok := schemes[s]; !ok {
						t.Errorf("%s: unknown security scheme %s", name, s)
					}
					if len(scopes.([]any)) == 0 {
						t.Errorf("%s: a requirement of %s without scopes", name, s)
					}
				}
			}
			// Every secured operation answers 401 and 403.
			responses := o.op["responses"].(map[string]any)
			if len(sec) > 0 {
				for _, status := range []string{"401", "403"} {
					if _, ok := responses[status]; !ok {
						t.Errorf("%s: secured but no %s", name, status)
					}
				}
			}
			// A body-reading operation answers 415 and 400.
			if _, ok := o.op["requestBody"]; ok {
				for _, status := range []string{"400", "415"} {
					if _, ok := responses[status]; !ok {
						t.Errorf("%s: reads a body but no %s", name, status)
					}
				}
			}
		}
	})
}

// routeKey is "METHOD /path" with the parameters of either notation as {}.
func routeKey(method, path string) string {
	path = regexp.MustCompile(`:[^/]+|\{[^}/]+\}`).ReplaceAllString(path, "{}")
	return strings.ToUpper(method) + " " + path
}

// publicRoutes are the Management API routes server/routes.go registers outside the
// authenticated group, with the handlers of this package.
var publicRoutes = []string{
	routeKey(http.MethodGet, "/api/v2/jobs/:id/file/:token"), // (*Handler).ExportFile
	routeKey(http.MethodGet, "/api/v2/openapi.json"),         // OpenAPI
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	e := echo.New()
	(&Handler{}).Routes(e.Group("/api/v2"))
	served := slices.Clone(publicRoutes)
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound {
			continue // the group's catch-all, so that its middleware runs for unknown paths
		}
		served = append(served, routeKey(r.Method, r.Path))
	}

	var described []string
	public := map[string]bool{}
	for _, o := range operations(t, doc) {
		k := routeKey(o.method, "/api/v2"+o.path)
		described = append(described, k)
		if sec, _ := o.op["security"].([]any); len(sec) == 0 {
			public[k] = true
		}
	}
	sort.Strings(served)
	sort.Strings(described)
	for _, k := range served {
		if !slices.Contains(described, k) {
			t.Errorf("%s is served but not described", k)
		}
	}
	for _, k := range described {
		if !slices.Contains(served, k) {
			t.Errorf("%s is described but not served", k)
		}
	}
	for _, k := range described {
		if public[k] != slices.Contains(publicRoutes, k) {
			t.Errorf("%s: public in the document is %v, in latch %v", k, public[k], slices.Contains(publicRoutes, k))
		}
	}
	if len(described) < 45 {
		t.Errorf("only %d operations described", len(described))
	}
}

// responseSchema compiles the JSON schema of a components/responses entry.
func responseSchema(t *testing.T, c *jsonschema.Compiler, name string) *jsonschema.Schema {
	t.Helper()
	return compileAt(t, c, "components", "responses", name, "content", "application/json", "schema")
}

// asInstance turns a Go value into what the validator reads, as it goes over the wire.
func asInstance(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestOpenAPIErrorBodies(t *testing.T) {
	doc := loadOpenAPI(t)
	c := openAPICompiler(t, doc)

	// The errors latch answers, as the handlers build them, each against the response the
	// document declares for its status.
	for _, tc := range []struct {
		response string
		err      error
	}{
		{"BadRequest", apierror.InvalidBody("Payload validation error: 'Missing required property: name'.")},
		{"BadRequest", apierror.InvalidQuery("Query validation error: 'per_page must be an integer from 1 to 100' on property per_page.")},
		{"BadRequest", userError(flow.ErrConnectionNotFound)},
		{"Unauthorized", apierror.ManagementUnauthorized("Missing authentication")},
		{"Unauthorized", apierror.ManagementUnauthorized("Invalid token")},
		{"Forbidden", insufficientScope("read:users", "read:user_idp_tokens")},
		{"NotFound", userNotFound()},
		{"NotFound", actionNotFound()},
		{"Conflict", userError(flow.ErrUserExists)},
		{"Conflict", ruleError(flow.ErrRuleNameTaken)},
		{"PayloadTooLarge", jobError(flow.ErrImportTooLarge)},
		{"UnsupportedMediaType", errUnsupportedMediaType(t)},
		{"TooManyRequests", userError(flow.ErrBusy)},
		{"InternalError", apierror.ManagementServerError(errors.New("disk on fire"))},
		{"NotImplemented", jobError(flow.ErrJobsUnavailable)},
	} {
		t.Run(tc.response+"/"+tc.err.Error(), func(t *testing.T) {
			if err := responseSchema(t, c, tc.response).Validate(asInstance(t, tc.err)); err != nil {
				t.Errorf("%s does not match components/responses/%s: %v", asJSON(t, tc.err), tc.response, err)
			}
		})
	}

	// The body is closed: nothing but its five properties, and the 401 alone has attributes
	// and no errorCode.
	for _, tc := range []struct {
		response, body string
	}{
		{"NotFound", `{"statusCode":404,"error":"Not Found","message":"m","errorCode":"inexistent_user","extra":1}`},
		{"NotFound", `{"statusCode":404,"error":"Not Found","message":"m"}`},
		{"NotFound", `{"statusCode":400,"error":"Not Found","message":"m","errorCode":"x"}`},
		{"NotFound", `{"statusCode":404,"error":"Not Found","message":"m","errorCode":"x","attributes":{"error":"m"}}`},
		{"Unauthorized", `{"statusCode":401,"error":"Unauthorized","message":"m","errorCode":"x","attributes":{"error":"m"}}`},
		{"Unauthorized", `{"statusCode":401,"error":"Unauthorized","message":"m"}`},
		{"Unauthorized", `{"statusCode":401,"error":"Unauthorized","message":"m","attributes":{"error":"m","more":1}}`},
		{"Forbidden", `{"statusCode":403,"error":"Forbidden","message":"no","errorCode":"insufficient_scope"}`},
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if responseSchema(t, c, tc.response).Validate(inst) == nil {
			t.Errorf("components/responses/%s accepts %s", tc.response, tc.body)
		}
	}

	// The schema's properties are exactly the Go type's.
	wantProps(t, doc, "Error", jsonNames(reflect.TypeFor[apierror.Management]()))
	if errSchema := schemaOf(t, doc, "Error"); errSchema["additionalProperties"] != false {
		t.Errorf("the error body schema must be closed: additionalProperties %v", errSchema["additionalProperties"])
	}
}

func errUnsupportedMediaType(t *testing.T) error {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x"))
	req.Header.Set("Content-Type", "text/plain")
	_, err := readObject(echo.New().NewContext(req, httptest.NewRecorder()))
	var m *apierror.Management
	if !errors.As(err, &m) || m.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("a text/plain body: %v", err)
	}
	return err
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestOpenAPISuccessSchemasAreOpen: latch may add properties to what it answers, so no 2xx
// schema is closed; clients that validate must not break on a new property.
func TestOpenAPISuccessSchemasAreOpen(t *testing.T) {
	doc := loadOpenAPI(t)
	for _, o := range operations(t, doc) {
		for status, r := range o.op["responses"].(map[string]any) {
			if !strings.HasPrefix(status, "2") {
				continue
			}
			resp := resolve(t, doc, r.(map[string]any))
			content, _ := resp["content"].(map[string]any)
			for mt, m := range content {
				s, ok := m.(map[string]any)["schema"]
				if !ok {
					continue
				}
				where := fmt.Sprintf("%s %s %s %s", strings.ToUpper(o.method), o.path, status, mt)
				checkOpen(t, doc, s, where, map[string]bool{})
			}
		}
	}
}

func checkOpen(t *testing.T, doc map[string]any, s any, where string, seen map[string]bool) {
	t.Helper()
	obj, ok := s.(map[string]any)
	if !ok {
		return
	}
	if ref, ok := obj["$ref"].(string); ok && !seen[ref] {
		seen[ref] = true
		target, err := lookup(any(doc), ref)
		if err != nil {
			t.Fatal(err)
		}
		checkOpen(t, doc, target, where+" → "+ref, seen)
	}
	for _, kw := range []string{"additionalProperties", "unevaluatedProperties"} {
		if obj[kw] == false {
			t.Errorf("%s: %s is false", where, kw)
		}
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := obj[kw].([]any)
		for _, sub := range list {
			checkOpen(t, doc, sub, where, seen)
		}
	}
	for _, kw := range []string{"items", "additionalProperties"} {
		checkOpen(t, doc, obj[kw], where, seen)
	}
	props, _ := obj["properties"].(map[string]any)
	for name, sub := range props {
		checkOpen(t, doc, sub, where+"."+name, seen)
	}
}

// jsonNames are the JSON property names of a struct type.
func jsonNames(typ reflect.Type) []string {
	var names []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

func schemaOf(t *testing.T, doc map[string]any, name string) map[string]any {
	t.Helper()
	s, err := lookup(any(doc), "#/components/schemas/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return s.(map[string]any)
}

// propertiesAt are the property names a schema declares (ptr: a property path inside it).
func propertiesAt(t *testing.T, doc map[string]any, name string, ptr ...string) []string {
	t.Helper()
	s := schemaOf(t, doc, name)
	for _, p := range ptr {
		s = resolve(t, doc, s["properties"].(map[string]any)[p].(map[string]any))
	}
	props, _ := s["properties"].(map[string]any)
	out := slices.Sorted(maps.Keys(props))
	return out
}

func wantProps(t *testing.T, doc map[string]any, name string, want []string, ptr ...string) {
	t.Helper()
	got := propertiesAt(t, doc, name, ptr...)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("components/schemas/%s%s declares %v; latch has %v", name, strings.Join(append([]string{""}, ptr...), "."), got, want)
	}
}

// TestOpenAPISchemasMatchTheGoShapes: every property latch renders or reads is described,
// and nothing described is missing, so that a field added to a handler fails here until
// the document has it too.
func TestOpenAPISchemasMatchTheGoShapes(t *testing.T) {
	doc := loadOpenAPI(t)
	for name, typ := range map[string]reflect.Type{
		"User":               reflect.TypeFor[userJSON](),
		"Identity":           reflect.TypeFor[storage.Identity](),
		"Client":             reflect.TypeFor[clientJSON](),
		"RefreshTokenPolicy": reflect.TypeFor[storage.RefreshTokenPolicy](),
		"Connection":         reflect.TypeFor[connectionJSON](),
		"Rule":               reflect.TypeFor[ruleJSON](),
		"SigningKey":         reflect.TypeFor[keyJSON](),
		"Action":             reflect.TypeFor[actionJSON](),
		"Trigger":            reflect.TypeFor[triggerJSON](),
		"ActionVersion":      reflect.TypeFor[actionVersionJSON](),
		"Binding":            reflect.TypeFor[bindingJSON](),
		"LogEvent":           reflect.TypeFor[logJSON](),
		"Job":                reflect.TypeFor[jobJSON](),
		"ExportField":        reflect.TypeFor[exportField](),
		"JobError":           reflect.TypeFor[jobErrorJSON](),
		"DryRunResult":       reflect.TypeFor[flow.DryRunResult](),
		"MetadataDiff":       reflect.TypeFor[flow.MetadataDiff](),
		"DailyStats":         reflect.TypeFor[dailyStatJSON](),
		"UserBlocks": reflect.TypeFor[struct {
			BlockedFor []flow.UserBlock `json:"blocked_for"`
		}](),
	} {
		wantProps(t, doc, name, jsonNames(typ))
	}
	wantProps(t, doc, "Client", jsonNames(reflect.TypeFor[storage.JWTConfiguration]()), "jwt_configuration")
	wantProps(t, doc, "Connection", jsonNames(reflect.TypeFor[connectionOptionsJSON]()), "options")
	wantProps(t, doc, "Job", jsonNames(reflect.TypeFor[jobSummaryJSON]()), "summary")

	// What the handlers accept.
	wantProps(t, doc, "UserCreate", userCreateProperties)
	wantProps(t, doc, "UserUpdate", userUpdateProperties)
	wantProps(t, doc, "ClientWrite", clientProperties)
	wantProps(t, doc, "ClientWrite", refreshTokenProperties, "refresh_token")
	wantProps(t, doc, "ClientWrite", jwtConfigurationProperties, "jwt_configuration")
	wantProps(t, doc, "ConnectionUpdate", connectionUpdateProperties)
	wantProps(t, doc, "ConnectionUpdate", connectionOptionsProperties, "options")
	wantProps(t, doc, "RuleCreate", ruleCreateProperties)
	wantProps(t, doc, "RuleUpdate", ruleUpdateProperties)
	wantProps(t, doc, "ActionWrite", actionCreateProperties)
}

func TestOpenAPIHandler(t *testing.T) {
	e := echo.New()
	e.GET("/api/v2/openapi.json", OpenAPI)
	get := func(header http.Header) *http.Response {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/api/v2/openapi.json", nil)
		for k, v := range header {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Result()
	}

	resp := get(nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !bytes.Equal(body, openAPIDocument) {
		t.Error("the body is not the embedded document")
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "public") || !strings.Contains(cc, "max-age=") {
		t.Errorf("Cache-Control %q", cc)
	}
	etag := resp.Header.Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{32}"$`).MatchString(etag) {
		t.Fatalf("ETag %q", etag)
	}

	resp = get(http.Header{"If-None-Match": {etag}})
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("If-None-Match with the ETag: %d, %d bytes", resp.StatusCode, len(body))
	}
	resp = get(http.Header{"If-None-Match": {`"0000"`}})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("If-None-Match with another ETag: %d", resp.StatusCode)
	}
}
