// Package bind reads request bodies defensively: a size limit, a content-type check, valid
// UTF-8, exact numbers, and one error type that handlers translate into the error shape of
// their endpoint family.
package bind

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Error says why a body could not be read. Message is safe to show to the client.
type Error struct {
	// Status is 400, 413 or 415.
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

func fail(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// MediaType returns the request's media type, lower-cased, without parameters.
func MediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return strings.ToLower(mt)
}

// readBody reads at most limit bytes and refuses more, and refuses invalid UTF-8.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fail(http.StatusBadRequest, "could not read the request body")
	}
	if int64(len(data)) > limit {
		return nil, fail(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", limit)
	}
	if !utf8.Valid(data) {
		return nil, fail(http.StatusBadRequest, "request body is not valid UTF-8")
	}
	return data, nil
}

// JSON decodes a JSON object body into v. Numbers decode as json.Number wherever v holds
// an `any`, so integers keep their exact value.
func JSON(r *http.Request, limit int64, v any) error {
	if mt := MediaType(r); mt != "application/json" {
		return fail(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	data, err := readBody(r, limit)
	if err != nil {
		return err
	}
	return DecodeJSON(data, v)
}

// DecodeJSON decodes one JSON object, exact numbers, no trailing data.
func DecodeJSON(data []byte, v any) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return fail(http.StatusBadRequest, "request body is empty")
	}
	if trimmed[0] != '{' {
		return fail(http.StatusBadRequest, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return fail(http.StatusBadRequest, "%s must be of type %s", typeErr.Field, jsonType(typeErr.Type.Kind().String()))
		}
		return fail(http.StatusBadRequest, "request body is not valid JSON")
	}
	if dec.More() {
		return fail(http.StatusBadRequest, "request body has data after the JSON object")
	}
	return nil
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	default:
		return "number"
	}
}

// Params reads an OAuth request's parameters from a form (application/x-www-form-urlencoded)
// or a JSON object of scalar values. A parameter sent twice is an error (RFC 6749 §3.1).
func Params(r *http.Request, limit int64) (map[string]string, error) {
	mt := MediaType(r)
	switch mt {
	case "application/x-www-form-urlencoded":
		data, err := readBody(r, limit)
		if err != nil {
			return nil, err
		}
		values, perr := url.ParseQuery(string(data))
		if perr != nil {
			return nil, fail(http.StatusBadRequest, "request body is not a valid form")
		}
		out := make(map[string]string, len(values))
		for k, vs := range values {
			if len(vs) > 1 {
				return nil, fail(http.StatusBadRequest, "parameter %s was sent more than once", k)
			}
			if !utf8.ValidString(vs[0]) || !utf8.ValidString(k) {
				return nil, fail(http.StatusBadRequest, "request body is not valid UTF-8")
			}
			out[k] = vs[0]
		}
		return out, nil
	case "application/json":
		data, err := readBody(r, limit)
		if err != nil {
			return nil, err
		}
		var raw map[string]any
		if err := DecodeJSON(data, &raw); err != nil {
			return nil, err
		}
		out := make(map[string]string, len(raw))
		for k, v := range raw {
			switch t := v.(type) {
			case string:
				out[k] = t
			case json.Number:
				out[k] = t.String()
			case bool:
				out[k] = fmt.Sprint(t)
			case nil:
				// absent
			default:
				// Objects and arrays are not OAuth parameters; clients send extras (auth0-spa-js
				// spreads its options) and the server must ignore what it does not know.
			}
		}
		return out, nil
	default:
		return nil, fail(http.StatusUnsupportedMediaType, "Content-Type must be application/x-www-form-urlencoded or application/json")
	}
}
