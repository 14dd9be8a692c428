package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/dop251/goja"
	"golang.org/x/net/html"

	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/storage"
)

// TestPasswordPolicyAttributes: the signup page gives policy.js the policy the server applies
// (preset and effective minimum length as data- attributes) and lists exactly the server's
// rules, by code, in its order, with their texts.
func TestPasswordPolicyAttributes(t *testing.T) {
	p := newPages(t, Options{})
	tests := []struct {
		preset     string
		minLength  int
		wantPreset string
		wantMin    int
		wantCodes  []string
	}{
		{"", 0, "none", 1, []string{"nonEmpty"}},
		{"none", 0, "none", 1, []string{"nonEmpty"}},
		{"none", 12, "none", 12, []string{"lengthAtLeast"}},
		{"low", 0, "low", 6, []string{"lengthAtLeast"}},
		{"fair", 0, "fair", 8, []string{"lengthAtLeast", "shouldContain", "lowerCase", "upperCase", "numbers"}},
		{"good", 0, "good", 8, []string{"lengthAtLeast", "containsAtLeast", "lowerCase", "upperCase", "numbers", "specialCharacters"}},
		{"excellent", 0, "excellent", 10, []string{"lengthAtLeast", "containsAtLeast", "lowerCase", "upperCase", "numbers", "specialCharacters", "identicalChars"}},
		{"Excellent ", 16, "excellent", 16, []string{"lengthAtLeast", "containsAtLeast", "lowerCase", "upperCase", "numbers", "specialCharacters", "identicalChars"}},
		{"good", 500, "good", 128, []string{"lengthAtLeast", "containsAtLeast", "lowerCase", "upperCase", "numbers", "specialCharacters"}},
		{"bogus", 0, "none", 1, []string{"nonEmpty"}},
	}
	for _, tc := range tests {
		for _, locale := range []string{"en", "fr"} {
			name := fmt.Sprintf("%s/%d/%s", tc.preset, tc.minLength, locale)
			var b bytes.Buffer
			if err := p.Signup(&b, SignupView{Common: Common{locale}, PasswordPreset: tc.preset, MinLength: tc.minLength}); err != nil {
				t.Fatal(err)
			}
			d := parseHTML(t, b.Bytes())
			lists := d.all(func(n *html.Node) bool { _, ok := attr(n, "data-policy-for"); return ok })
			if len(lists) != 1 {
				t.Fatalf("%s: %d policy lists", name, len(lists))
			}
			list := lists[0]
			preset, _ := attr(list, "data-preset")
			minLength, _ := attr(list, "data-min-length")
			forID, _ := attr(list, "data-policy-for")
			live, _ := attr(list, "aria-live")
			if preset != tc.wantPreset || minLength != strconv.Itoa(tc.wantMin) {
				t.Errorf("%s: data-preset=%q data-min-length=%q, want %q %d", name, preset, minLength, tc.wantPreset, tc.wantMin)
			}
			if live != "polite" {
				t.Errorf("%s: aria-live=%q", name, live)
			}
			if in := d.byID(forID); in == nil || in.Data != "input" {
				t.Errorf("%s: data-policy-for=%q names no input", name, forID)
			} else if v, _ := attr(in, "aria-describedby"); !strings.Contains(v, "password-policy") {
				t.Errorf("%s: the password input is not described by the policy (%q)", name, v)
			}
			for _, key := range []string{"data-met-label", "data-unmet-label"} {
				if v, _ := attr(list, key); v != p.Message(locale, strings.TrimSuffix(strings.Replace(key, "data-", "policy.", 1), "-label")) {
					t.Errorf("%s: %s=%q", name, key, v)
				}
			}

			// The rules, against the server's own.
			pol := password.PolicyFor(storage.ConnectionOptions{PasswordPolicy: tc.preset, MinLength: tc.minLength})
			var want []string
			for _, r := range pol.Check("").Rules {
				want = append(want, r.Code)
				for _, it := range r.Items {
					want = append(want, it.Code)
				}
			}
			var codes []string
			for _, li := range d.all(func(n *html.Node) bool { _, ok := attr(n, "data-code"); return ok && n.Data == "li" }) {
				c, _ := attr(li, "data-code")
				codes = append(codes, c)
				if s := li.FirstChild; s == nil || s.Data != "span" || func() string { v, _ := attr(s, "aria-atomic"); return v }() != "true" {
					t.Errorf("%s: rule %s has no atomic span", name, c)
				}
			}
			if !reflect.DeepEqual(codes, want) || !reflect.DeepEqual(codes, tc.wantCodes) {
				t.Errorf("%s: rules %v, server %v, want %v", name, codes, want, tc.wantCodes)
			}
			if tc.wantMin > 1 && locale == "en" && !d.contains(fmt.Sprintf("At least %d characters in length", tc.wantMin)) {
				t.Errorf("%s: the length rule does not show %d", name, tc.wantMin)
			}
		}
	}
}

// TestPolicyJSMirrorsServer runs static/policy.js in a JavaScript engine and checks that it
// judges passwords exactly as package password does, rule by rule, for every preset.
func TestPolicyJSMirrorsServer(t *testing.T) {
	vm := goja.New()
	if _, err := vm.RunString(readStatic(t, "policy.js")); err != nil {
		t.Fatalf("policy.js: %v", err)
	}
	obj := vm.Get("latchPasswordPolicy")
	if obj == nil {
		t.Fatal("policy.js defines no latchPasswordPolicy")
	}
	evaluate, ok := goja.AssertFunction(obj.ToObject(vm).Get("evaluate"))
	if !ok {
		t.Fatal("latchPasswordPolicy.evaluate is not a function")
	}
	stringify, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("stringify"))

	type rule struct {
		Code     string `json:"code"`
		Verified bool   `json:"verified"`
		Items    []rule `json:"items,omitempty"`
	}
	var fromGo func([]password.Rule) []rule
	fromGo = func(rs []password.Rule) []rule {
		var out []rule
		for _, r := range rs {
			out = append(out, rule{r.Code, r.Verified, fromGo(r.Items)})
		}
		return out
	}

	passwords := []string{"", " ", "a", "aa", "aaa", "abc", "Abc1", "Abcdefg1", "abcdefgh", "ABCDEFGH1", "Abcdefgh1!",
		"aaAbcdefg1!", "aaaAbcdefg1!", "Abcdefg1!!!", "ÀÉÎõü12345", "éééééééééé", "😀😀😀😀😀😀Aa1", "😀😀😀", "😀😀",
		"pass word1A", "Aa1Aa1Aa1Aa1", "\"'\\<>`~{}|", "tab\there", "abc\u0000def", "ａｂｃＡＢＣ１２３", "123456789", "Tr0ub4dor&3",
		strings.Repeat("x", 200), "aAa1!aA", "Ab1 ", "AAAbbb111"}
	// Every string of up to 3 characters over an alphabet of the interesting classes.
	alphabet := []string{"a", "A", "1", "!", " ", "é", "😀"}
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		passwords = append(passwords, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(prefix+c, n-1)
		}
	}
	gen("", 3)

	checked := 0
	for _, preset := range []string{"none", "low", "fair", "good", "excellent"} {
		for _, minLength := range []int{0, 1, 3, 12} {
			pol := password.PolicyFor(storage.ConnectionOptions{PasswordPolicy: preset, MinLength: minLength})
			for _, pw := range passwords {
				res, err := evaluate(goja.Undefined(), vm.ToValue(pol.Preset), vm.ToValue(pol.MinLength), vm.ToValue(pw))
				if err != nil {
					t.Fatalf("evaluate(%q, %d, %q): %v", pol.Preset, pol.MinLength, pw, err)
				}
				js, err := stringify(goja.Undefined(), res)
				if err != nil {
					t.Fatal(err)
				}
				var got []rule
				if err := json.Unmarshal([]byte(js.String()), &got); err != nil {
					t.Fatalf("%s: %v", js, err)
				}
				want := fromGo(pol.Check(pw).Rules)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("policy %s/%d, password %q:\n  js %+v\n  go %+v", pol.Preset, pol.MinLength, pw, got, want)
				}
				checked++
			}
		}
	}
	t.Logf("%d cases agree", checked)
}
