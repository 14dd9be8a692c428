package bind

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func request(ct, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	return r
}

func wantBindError(t *testing.T, err error, status int, contains string) {
	t.Helper()
	var be *Error
	if !errors.As(err, &be) {
		t.Fatalf("error %v (%T), want *bind.Error", err, err)
	}
	if be.Status != status || !strings.Contains(be.Message, contains) {
		t.Fatalf("got %d %q, want %d containing %q", be.Status, be.Message, status, contains)
	}
}

func TestJSON(t *testing.T) {
	type body struct {
		Name string `json:"name"`
		Meta any    `json:"meta"`
	}
	var b body
	if err := JSON(request("application/json; charset=utf-8", `{"name":"x","meta":{"n":1000000}}`), 1024, &b); err != nil {
		t.Fatal(err)
	}
	if b.Name != "x" || b.Meta.(map[string]any)["n"] != json.Number("1000000") {
		t.Fatalf("decoded %+v: numbers must stay exact", b)
	}

	cases := []struct {
		name, ct, body string
		status         int
		contains       string
	}{
		{"no content type", "", `{}`, 415, "application/json"},
		{"form content type", "application/x-www-form-urlencoded", `{}`, 415, "application/json"},
		{"empty", "application/json", ``, 400, "empty"},
		{"array", "application/json", `[1]`, 400, "JSON object"},
		{"malformed", "application/json", `{"name":`, 400, "not valid JSON"},
		{"trailing data", "application/json", `{} {}`, 400, "after the JSON object"},
		{"wrong type", "application/json", `{"name":5}`, 400, "name must be of type string"},
		{"invalid UTF-8", "application/json", "{\"name\":\"\xff\"}", 400, "UTF-8"},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", 2000) + `"}`, 413, "larger than 1024"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b body
			wantBindError(t, JSON(request(tc.ct, tc.body), 1024, &b), tc.status, tc.contains)
		})
	}
}

func TestParams(t *testing.T) {
	p, err := Params(request("application/x-www-form-urlencoded", "grant_type=password&username=a%40b.co"), 1024)
	if err != nil || p["grant_type"] != "password" || p["username"] != "a@b.co" {
		t.Fatalf("form: %v %v", p, err)
	}
	p, err = Params(request("application/json", `{"grant_type":"password","max_age":30,"ok":true,"nested":{"x":1},"list":[1],"nul":null}`), 1024)
	if err != nil {
		t.Fatal(err)
	}
	if p["grant_type"] != "password" || p["max_age"] != "30" || p["ok"] != "true" {
		t.Fatalf("JSON scalars: %v", p)
	}
	for _, k := range []string{"nested", "list", "nul"} {
		if _, ok := p[k]; ok {
			t.Fatalf("non-scalar %q kept: %v", k, p)
		}
	}

	cases := []struct {
		name, ct, body string
		status         int
		contains       string
	}{
		{"no content type", "", "a=b", 415, "Content-Type"},
		{"text", "text/plain", "a=b", 415, "Content-Type"},
		{"bad escape", "application/x-www-form-urlencoded", "a=%zz", 400, "not a valid form"},
		{"repeated", "application/x-www-form-urlencoded", "a=1&a=2", 400, "more than once"},
		{"invalid UTF-8 value", "application/x-www-form-urlencoded", "a=%ff", 400, "UTF-8"},
		{"invalid UTF-8 body", "application/x-www-form-urlencoded", "a=\xff", 400, "UTF-8"},
		{"too large", "application/x-www-form-urlencoded", "a=" + strings.Repeat("b", 2000), 413, "larger"},
		{"malformed JSON", "application/json", `{"a":`, 400, "not valid JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Params(request(tc.ct, tc.body), 1024)
			wantBindError(t, err, tc.status, tc.contains)
		})
	}
}

func TestMediaType(t *testing.T) {
	for ct, want := range map[string]string{
		"Application/JSON; charset=UTF-8": "application/json",
		"":                                "",
		"garbage;;":                       "",
	} {
		r := request(ct, "")
		if got := MediaType(r); got != want {
			t.Errorf("MediaType(%q) = %q, want %q", ct, got, want)
		}
	}
}
