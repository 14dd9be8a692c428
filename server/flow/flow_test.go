package flow

import (
	"errors"
	"strings"
	"testing"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
)

// The use cases run end to end, through HTTP and the real store, in cmd/latch's tests;
// these cover the pure checks they rely on.

func TestNormalizeEmail(t *testing.T) {
	ok := map[string]string{
		"Jane.Doe@Example.COM": "jane.doe@example.com",
		"a+tag@sub.example.io": "a+tag@sub.example.io",
	}
	for in, want := range ok {
		if got, err := normalizeEmail(in); err != nil || got != want {
			t.Errorf("normalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "plain", "a@b", "a@.example.com", "a@example.com.", "Jane <jane@example.com>",
		"a b@example.com", strings.Repeat("a", 65) + "@example.com", "a@" + strings.Repeat("b", 250) + ".com",
	} {
		_, err := normalizeEmail(in)
		var inv *InvalidRequestError
		if !errors.As(err, &inv) || inv.Field != "email" {
			t.Errorf("normalizeEmail(%q) = %v, want an email error", in, err)
		}
	}
}

func TestCheckSignupMetadata(t *testing.T) {
	eleven := storage.Metadata{}
	for i := range 11 {
		eleven[string(rune('a'+i))] = "v"
	}
	bad := map[string]storage.Metadata{
		"too many":       eleven,
		"not a string":   {"n": 1},
		"nested":         {"o": map[string]any{"x": "y"}},
		"long value":     {"v": strings.Repeat("x", 501)},
		"long name":      {strings.Repeat("k", 101): "v"},
		"dotted":         {"a.b": "v"},
		"dollar":         {"$set": "v"},
		"null value":     {"v": nil},
		"boolean string": {"v": true},
	}
	for name, m := range bad {
		if err := checkSignupMetadata(m); err == nil {
			t.Errorf("%s: accepted %v", name, m)
		}
	}
	good := storage.Metadata{"plan": "silver", "k": strings.Repeat("x", 500), strings.Repeat("n", 100): "✓"}
	if err := checkSignupMetadata(good); err != nil {
		t.Errorf("good metadata refused: %v", err)
	}
	if err := checkSignupMetadata(nil); err != nil {
		t.Errorf("no metadata refused: %v", err)
	}
}

func TestSecretsEqual(t *testing.T) {
	if !secretsEqual("s3cret", "s3cret") {
		t.Error("equal secrets differ")
	}
	for _, c := range [][2]string{{"s3cret", "s3creT"}, {"s3cret", "s3cret "}, {"", ""}, {"x", ""}} {
		if secretsEqual(c[0], c[1]) {
			t.Errorf("secretsEqual(%q, %q) = true", c[0], c[1])
		}
	}
}

func TestIntersectKeepsRequestedOrder(t *testing.T) {
	got := intersect([]string{"b", "x", "a"}, []string{"a", "b", "c"})
	if strings.Join(got, " ") != "b a" {
		t.Fatalf("intersect = %v", got)
	}
}

func TestProfileDefaults(t *testing.T) {
	u := storage.User{Email: "jane.doe@example.com"}
	applyProfileDefaults(&u)
	if u.Name != "jane.doe@example.com" || u.Nickname != "jane.doe" || !strings.HasPrefix(u.Picture, "https://s.gravatar.com/avatar/") {
		t.Fatalf("defaults: %+v", u)
	}
	u = storage.User{Email: "x@example.com", Name: "X", Nickname: "ex", Picture: "https://example.com/x.png"}
	applyProfileDefaults(&u)
	if u.Name != "X" || u.Nickname != "ex" || u.Picture != "https://example.com/x.png" {
		t.Fatalf("defaults overwrote given values: %+v", u)
	}
}

func TestGrantedScopes(t *testing.T) {
	req := []string{"openid", "profile", "read:x"}
	cases := []struct {
		resp rules.Response
		want string
	}{
		{rules.Response{}, "<nil>"},
		{rules.Response{AccessTokenScopes: []string{"openid"}}, "openid"},
		{rules.Response{AccessTokenScopesAdded: []string{"write:x", "openid"}}, "openid profile read:x write:x"},
		{rules.Response{AccessTokenScopesRemoved: []string{"read:x"}}, "openid profile"},
		{rules.Response{AccessTokenScopes: []string{"a"}, AccessTokenScopesAdded: []string{"b"}, AccessTokenScopesRemoved: []string{"a"}}, "b"},
	}
	for _, c := range cases {
		got := grantedScopes(req, c.resp)
		s := strings.Join(got, " ")
		if got == nil {
			s = "<nil>"
		}
		if s != c.want {
			t.Errorf("grantedScopes(%+v) = %q, want %q", c.resp, s, c.want)
		}
	}
}
