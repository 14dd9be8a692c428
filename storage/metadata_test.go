package storage

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// mustDecode builds metadata the way the API layer does, so that expectations use the
// same representation (json.Number, map[string]any, []any) as stored values.
func mustDecode(t *testing.T, s string) Metadata {
	t.Helper()
	m, err := DecodeMetadata([]byte(s))
	if err != nil {
		t.Fatalf("DecodeMetadata(%s): %v", s, err)
	}
	return m
}

func TestMergeMetadata(t *testing.T) {
	tests := []struct {
		name  string
		old   string
		patch string
		want  string
	}{
		{
			name:  "adds and replaces top-level keys",
			old:   `{"a":1,"b":"x"}`,
			patch: `{"b":"y","c":true}`,
			want:  `{"a":1,"b":"y","c":true}`,
		},
		{
			name:  "null deletes a key",
			old:   `{"a":1,"b":2}`,
			patch: `{"a":null,"c":3}`,
			want:  `{"b":2,"c":3}`,
		},
		{
			name:  "null for a missing key is a no-op",
			old:   `{"a":1}`,
			patch: `{"z":null}`,
			want:  `{"a":1}`,
		},
		{
			name:  "empty patch clears everything",
			old:   `{"a":1,"b":{"c":2}}`,
			patch: `{}`,
			want:  `{}`,
		},
		{
			name:  "empty patch on empty metadata",
			old:   `{}`,
			patch: `{}`,
			want:  `{}`,
		},
		{
			name:  "nested objects are replaced, not merged",
			old:   `{"prefs":{"theme":"dark","lang":"fr"}}`,
			patch: `{"prefs":{"lang":"en"}}`,
			want:  `{"prefs":{"lang":"en"}}`,
		},
		{
			name:  "nested null is stored, not interpreted",
			old:   `{"prefs":{"theme":"dark"}}`,
			patch: `{"prefs":{"theme":null}}`,
			want:  `{"prefs":{"theme":null}}`,
		},
		{
			name:  "arrays are replaced",
			old:   `{"tags":[1,2,3]}`,
			patch: `{"tags":[4]}`,
			want:  `{"tags":[4]}`,
		},
		{
			name:  "null old metadata",
			old:   `null`,
			patch: `{"a":1}`,
			want:  `{"a":1}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, patch, want := mustDecode(t, tt.old), mustDecode(t, tt.patch), mustDecode(t, tt.want)
			oldCopy, patchCopy := old.Clone(), patch.Clone()
			if tt.old == "null" {
				oldCopy = nil
			}

			got := MergeMetadata(old, patch)

			if got == nil {
				t.Fatal("MergeMetadata returned nil")
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("MergeMetadata(%s, %s) = %v, want %v", tt.old, tt.patch, got, want)
			}
			if !reflect.DeepEqual(old, oldCopy) {
				t.Errorf("old was mutated: %v, was %v", old, oldCopy)
			}
			if !reflect.DeepEqual(patch, patchCopy) {
				t.Errorf("patch was mutated: %v, was %v", patch, patchCopy)
			}
		})
	}
}

// The result must share nothing with its inputs: a later change to the result (by the
// next merge, or by a caller) must not reach back into a stored or cached value.
func TestMergeMetadataSharesNothing(t *testing.T) {
	old := mustDecode(t, `{"keep":{"deep":[1,{"x":1}]}}`)
	patch := mustDecode(t, `{"new":{"list":[1,2]}}`)

	got := MergeMetadata(old, patch)
	got["keep"].(map[string]any)["deep"].([]any)[1].(map[string]any)["x"] = "changed"
	got["new"].(map[string]any)["list"].([]any)[0] = "changed"

	if want := mustDecode(t, `{"keep":{"deep":[1,{"x":1}]}}`); !reflect.DeepEqual(old, want) {
		t.Errorf("old changed through the result: %v", old)
	}
	if want := mustDecode(t, `{"new":{"list":[1,2]}}`); !reflect.DeepEqual(patch, want) {
		t.Errorf("patch changed through the result: %v", patch)
	}
}

func TestDecodeMetadata(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Metadata
		wantErr bool
	}{
		{
			name: "integers stay exact json.Number",
			in:   `{"n":1000000,"big":9007199254740993,"neg":-42}`,
			want: Metadata{"n": json.Number("1000000"), "big": json.Number("9007199254740993"), "neg": json.Number("-42")},
		},
		{
			name: "floats keep their text",
			in:   `{"f":1.5,"e":1e-7}`,
			want: Metadata{"f": json.Number("1.5"), "e": json.Number("1e-7")},
		},
		{
			name: "nested values",
			in:   `{"o":{"a":[true,null,"s",2]},"empty":{},"none":[]}`,
			want: Metadata{
				"o":     map[string]any{"a": []any{true, nil, "s", json.Number("2")}},
				"empty": map[string]any{},
				"none":  []any{},
			},
		},
		{
			name: "unicode",
			in:   `{"name":"Zoë 🦊","\u00e9":"\u2603"}`,
			want: Metadata{"name": "Zoë 🦊", "é": "☃"},
		},
		{name: "null is nil", in: `null`, want: nil},
		{name: "whitespace around the object", in: " \n{\"a\":1}\n ", want: Metadata{"a": json.Number("1")}},
		{name: "trailing object rejected", in: `{"a":1}{"b":2}`, wantErr: true},
		{name: "trailing value rejected", in: `{"a":1} 2`, wantErr: true},
		{name: "array rejected", in: `[1,2]`, wantErr: true},
		{name: "string rejected", in: `"x"`, wantErr: true},
		{name: "truncated rejected", in: `{"a":`, wantErr: true},
		{name: "empty input rejected", in: ``, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeMetadata([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("DecodeMetadata(%q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeMetadata(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecodeMetadata(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
		})
	}
}

// Encoding what was decoded must give back the same text for numbers: this is what lets a
// backend store metadata as JSON without turning 1000000 into 1e+06.
func TestDecodeMetadataNumbersRoundTrip(t *testing.T) {
	in := `{"a":1000000,"b":9007199254740992,"c":0.1,"d":-3}`
	m := mustDecode(t, in)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("round trip = %s, want %s", out, in)
	}
}

func TestCheckMetadataKeys(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
		wantKey string // the offending key, named in the error
	}{
		{name: "plain keys", in: `{"a":1,"b_c":{"d-e":[{"f":1}]},"ünï":"x"}`},
		{name: "empty", in: `{}`},
		{name: "dots and dollars in values are fine", in: `{"a":"x.y$z","b":["$.", {"c":"."}]}`},
		{name: "dot at top level", in: `{"a.b":1}`, wantErr: true, wantKey: "a.b"},
		{name: "dollar at top level", in: `{"$set":1}`, wantErr: true, wantKey: "$set"},
		{name: "dot nested", in: `{"a":{"b":{"c.d":1}}}`, wantErr: true, wantKey: "c.d"},
		{name: "dollar nested", in: `{"a":{"$b":1}}`, wantErr: true, wantKey: "$b"},
		{name: "inside an array", in: `{"a":[1,{"ok":1},{"x.y":2}]}`, wantErr: true, wantKey: "x.y"},
		{name: "inside nested arrays", in: `{"a":[[{"$x":1}]]}`, wantErr: true, wantKey: "$x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckMetadataKeys(mustDecode(t, tt.in))
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("CheckMetadataKeys(%s) = %v, want nil", tt.in, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidMetadata) {
				t.Fatalf("CheckMetadataKeys(%s) = %v, want ErrInvalidMetadata", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.wantKey) {
				t.Errorf("error %q does not name the key %q", err, tt.wantKey)
			}
		})
	}
}

// Values built in Go rather than decoded may hold a nested Metadata; it is checked too.
func TestCheckMetadataKeysNestedMetadataValue(t *testing.T) {
	m := Metadata{"outer": Metadata{"in.ner": 1}}
	if err := CheckMetadataKeys(m); !errors.Is(err, ErrInvalidMetadata) {
		t.Fatalf("CheckMetadataKeys = %v, want ErrInvalidMetadata", err)
	}
}

func TestCheckAppMetadata(t *testing.T) {
	for _, key := range ReservedAppMetadataKeys {
		t.Run("reserved "+key, func(t *testing.T) {
			err := CheckAppMetadata(Metadata{key: "x"})
			if !errors.Is(err, ErrInvalidMetadata) {
				t.Fatalf("CheckAppMetadata({%q}) = %v, want ErrInvalidMetadata", key, err)
			}
			if !strings.Contains(err.Error(), key) {
				t.Errorf("error %q does not name the key %q", err, key)
			}
		})
	}

	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{name: "ordinary keys", in: `{"plan":"gold","roles":["admin"]}`},
		{name: "empty", in: `{}`},
		{name: "reserved names are fine below the top level", in: `{"profile":{"email":"x","user_id":"y"}}`},
		{name: "reserved names are case-sensitive", in: `{"Email":"x","BLOCKED":true}`},
		{name: "dot keys refused", in: `{"a.b":1}`, wantErr: true},
		{name: "nested dollar keys refused", in: `{"a":[{"$b":1}]}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckAppMetadata(mustDecode(t, tt.in))
			if tt.wantErr != (err != nil) {
				t.Fatalf("CheckAppMetadata(%s) = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidMetadata) {
				t.Errorf("error %v is not ErrInvalidMetadata", err)
			}
		})
	}
}
