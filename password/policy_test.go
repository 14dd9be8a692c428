package password

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/latchauth/latch/storage"
)

func TestPolicyFor(t *testing.T) {
	tests := []struct {
		name string
		opts storage.ConnectionOptions
		want Policy
	}{
		{"default is none", storage.ConnectionOptions{}, Policy{Preset: "none", MinLength: 1}},
		{"unknown is none", storage.ConnectionOptions{PasswordPolicy: "strong"}, Policy{Preset: "none", MinLength: 1}},
		{"none", storage.ConnectionOptions{PasswordPolicy: "none"}, Policy{Preset: "none", MinLength: 1}},
		{"low", storage.ConnectionOptions{PasswordPolicy: "low"}, Policy{Preset: "low", MinLength: 6}},
		{"fair", storage.ConnectionOptions{PasswordPolicy: "fair"}, Policy{Preset: "fair", MinLength: 8}},
		{"good", storage.ConnectionOptions{PasswordPolicy: "good"}, Policy{Preset: "good", MinLength: 8}},
		{"excellent", storage.ConnectionOptions{PasswordPolicy: "excellent"}, Policy{Preset: "excellent", MinLength: 10}},
		{"case and spaces", storage.ConnectionOptions{PasswordPolicy: " Good "}, Policy{Preset: "good", MinLength: 8}},
		{"min length overrides up", storage.ConnectionOptions{PasswordPolicy: "good", MinLength: 12}, Policy{Preset: "good", MinLength: 12}},
		{"min length overrides down", storage.ConnectionOptions{PasswordPolicy: "excellent", MinLength: 4}, Policy{Preset: "excellent", MinLength: 4}},
		{"min length on none", storage.ConnectionOptions{MinLength: 8}, Policy{Preset: "none", MinLength: 8}},
		{"min length 128", storage.ConnectionOptions{MinLength: 128}, Policy{Preset: "none", MinLength: 128}},
		{"min length above 128", storage.ConnectionOptions{MinLength: 500}, Policy{Preset: "none", MinLength: 128}},
		{"negative min length ignored", storage.ConnectionOptions{PasswordPolicy: "low", MinLength: -3}, Policy{Preset: "low", MinLength: 6}},
		{"dictionary", storage.ConnectionOptions{PasswordPolicy: "fair", PasswordDictionary: true}, Policy{Preset: "fair", MinLength: 8, Dictionary: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PolicyFor(tt.opts); got != tt.want {
				t.Errorf("PolicyFor(%+v) = %+v, want %+v", tt.opts, got, tt.want)
			}
		})
	}
}

// The passwords come from Auth0's own policy tests (auth0/password-sheriff test/policies),
// plus edge cases of ours.
func TestCheckPresets(t *testing.T) {
	tests := []struct {
		preset string
		pw     string
		want   bool
	}{
		{"none", "", false},
		{"none", "a", true},
		{"none", " ", true},
		{"none", "é", true},

		{"low", "", false},
		{"low", "hello", false},
		{"low", "hello!", true},
		{"low", "héllo!", true}, // six characters, seven bytes
		{"low", "日本語日本", false},
		{"low", "日本語日本語", true},

		{"fair", "", false},
		{"fair", "hello", false},
		{"fair", "7charac", false},
		{"fair", "Ab1defg", false}, // one short
		{"fair", "KTHXBYE123", false},
		{"fair", "123hellogoodbye", false},
		{"fair", "helloGOODBYE", false},
		{"fair", "someP123", true},
		{"fair", "somePASSWORD123", true},
		{"fair", "ÉÇÀÔéèàô12", false}, // accented letters are not a-z / A-Z

		{"good", "", false},
		{"good", "hello", false},
		{"good", "7C arac", false},
		{"good", "HELLO123", false},
		{"good", "!@#     HELLO", false},
		{"good", "1234!@# ", false},
		{"good", "hello  !@# ", false},
		{"good", "helo1234", false},
		{"good", "helloHELLOBYE", false},
		{"good", "hello1234567", false},
		{"good", "someP1! ", true},
		{"good", "somePASSWORD123!@# ", true},
		{"good", "hello12 ", true},  // space is special
		{"good", "hello12~", true},  // so is every ASCII punctuation mark
		{"good", "HELLO12`", true},  // including the backquote
		{"good", "hello12é", false}, // but not a non-ASCII letter
		{"good", "aaaaaaA1", true},  // good does not limit runs
		{"good", "Passw0rd", true},  // the dictionary is separate
		{"good", "helloHEL", false}, // two classes
		{"good", "helloHE1", true},  // three classes
		{"good", "hello HE", true},  // lower, upper, special
		{"good", "12345 AB", true},  // numbers, special, upper
		{"good", "abcdefgh", false}, // one class
		{"good", "Ab1!", false},     // four classes, too short
		{"good", "Ab1!Ab1!", true},  // exactly eight
		{"good", "日本語Ab1!x", true},  // eight characters, more bytes
		{"good", "日本語日本語日本", false}, // eight characters, no class

		{"excellent", "", false},
		{"excellent", "hello", false},
		{"excellent", "7C arac#", false},
		{"excellent", "HELLO12345", false},
		{"excellent", "!@#  HELLO", false},
		{"excellent", "hello12345", false},
		{"excellent", "helloHELLO", false},
		{"excellent", "hello111HELLO", false},
		{"excellent", "somePas1! ", true},
		{"excellent", "somePas!! ", true},
		{"excellent", "somePas123", true},
		{"excellent", "some!as123", true},
		{"excellent", "somePASSWORD123!@# ", true},
		{"excellent", "Ab1!Ab1!A", false}, // nine
		{"excellent", "aaBcd1!xyz", true}, // two in a row is fine
		{"excellent", "aaaBcd1!xy", false},
		{"excellent", "Bcd1!xyzzz", false}, // run at the end
		{"excellent", "Bcd1!   xy", false}, // spaces count
		{"excellent", "Bcd1!ééé-x", false}, // and so do runs of non-ASCII characters
		{"excellent", "Bcd1!éé-xé", true},
	}
	for _, tt := range tests {
		t.Run(tt.preset+"/"+tt.pw, func(t *testing.T) {
			p := PolicyFor(storage.ConnectionOptions{PasswordPolicy: tt.preset})
			got := p.Check(tt.pw)
			if got.Verified != tt.want {
				t.Errorf("%s.Check(%q).Verified = %v, want %v; rules %+v", tt.preset, tt.pw, got.Verified, tt.want, got.Rules)
			}
			// Verified must be the conjunction of the rules.
			all := true
			for _, r := range got.Rules {
				all = all && r.Verified
			}
			if all != got.Verified {
				t.Errorf("Verified = %v but rules say %v", got.Verified, all)
			}
		})
	}
}

func TestCheckMinLengthOverride(t *testing.T) {
	p := PolicyFor(storage.ConnectionOptions{PasswordPolicy: "good", MinLength: 12})
	if p.Check("Ab1!Ab1!Ab1").Verified {
		t.Error("11 characters passed a 12-character minimum")
	}
	if !p.Check("Ab1!Ab1!Ab1!").Verified {
		t.Error("12 characters failed a 12-character minimum")
	}
	r := p.Check("x").Rules[0]
	if r.Code != CodeLengthAtLeast || !reflect.DeepEqual(r.Format, []any{12}) {
		t.Errorf("length rule = %+v, want lengthAtLeast [12]", r)
	}

	// A minimum of 1 is Auth0's "nonEmpty" rule, whatever the preset.
	p = PolicyFor(storage.ConnectionOptions{PasswordPolicy: "low", MinLength: 1})
	if r := p.Check("").Rules[0]; r.Code != CodeNonEmpty || r.Verified {
		t.Errorf("min_length 1 on empty password: %+v, want unverified nonEmpty", r)
	}
	if !p.Check("x").Verified {
		t.Error("one character failed min_length 1")
	}
}

func TestZeroPolicyIsNone(t *testing.T) {
	var p Policy
	if p.Check("").Verified || !p.Check("x").Verified {
		t.Error("zero Policy does not behave as none")
	}
	if got := p.PolicyText(); got != "* Non-empty password required" {
		t.Errorf("zero Policy text = %q", got)
	}
}

// TestRuleReport checks every rule code, the items and the verified flags of the report.
func TestRuleReport(t *testing.T) {
	lengthAtLeast := func(n int, ok bool) Rule {
		return Rule{Message: "At least %d characters in length", Format: []any{n}, Code: "lengthAtLeast", Verified: ok}
	}
	item := func(code, message string, ok bool) Rule {
		return Rule{Message: message, Code: code, Verified: ok}
	}
	classes := func(lower, upper, num, special bool) []Rule {
		return []Rule{
			item("lowerCase", "lower case letters (a-z)", lower),
			item("upperCase", "upper case letters (A-Z)", upper),
			item("numbers", "numbers (i.e. 0-9)", num),
			item("specialCharacters", "special characters (e.g. !@#$%^&*)", special),
		}
	}
	containsAtLeast := func(ok bool, items []Rule) Rule {
		return Rule{Message: "Contain at least %d of the following %d types of characters:",
			Format: []any{3, 4}, Code: "containsAtLeast", Verified: ok, Items: items}
	}
	identical := func(ok bool) Rule {
		return Rule{Message: `No more than %d identical characters in a row (e.g., "%s" not allowed)`,
			Format: []any{2, "aaa"}, Code: "identicalChars", Verified: ok}
	}

	tests := []struct {
		preset, pw string
		want       Result
	}{
		{"none", "", Result{Rules: []Rule{{Message: "Non-empty password required", Code: "nonEmpty"}}}},
		{"none", "x", Result{Rules: []Rule{{Message: "Non-empty password required", Code: "nonEmpty", Verified: true}}, Verified: true}},
		{"low", "abcde", Result{Rules: []Rule{lengthAtLeast(6, false)}}},
		{"low", "abcdef", Result{Rules: []Rule{lengthAtLeast(6, true)}, Verified: true}},
		{"fair", "abcdefg1", Result{Rules: []Rule{
			lengthAtLeast(8, true),
			{Message: "Should contain:", Code: "shouldContain", Verified: false, Items: classes(true, false, true, false)[:3]},
		}}},
		{"fair", "abcdeF1", Result{Rules: []Rule{
			lengthAtLeast(8, false),
			{Message: "Should contain:", Code: "shouldContain", Verified: true, Items: classes(true, true, true, false)[:3]},
		}}},
		{"good", "hello!!!", Result{Rules: []Rule{
			lengthAtLeast(8, true),
			containsAtLeast(false, classes(true, false, false, true)),
		}}},
		{"good", "HELLO!!1", Result{Rules: []Rule{
			lengthAtLeast(8, true),
			containsAtLeast(true, classes(false, true, true, true)),
		}, Verified: true}},
		{"excellent", "Hello!!!1x", Result{Rules: []Rule{
			lengthAtLeast(10, true),
			containsAtLeast(true, classes(true, true, true, true)),
			identical(false),
		}}},
		{"excellent", "", Result{Rules: []Rule{
			lengthAtLeast(10, false),
			containsAtLeast(false, classes(false, false, false, false)),
			identical(false), // an empty password verifies nothing, as in Auth0
		}}},
		{"excellent", "Hello!!1xy", Result{Rules: []Rule{
			lengthAtLeast(10, true),
			containsAtLeast(true, classes(true, true, true, true)),
			identical(true),
		}, Verified: true}},
	}
	for _, tt := range tests {
		t.Run(tt.preset+"/"+tt.pw, func(t *testing.T) {
			got := PolicyFor(storage.ConnectionOptions{PasswordPolicy: tt.preset}).Check(tt.pw)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check(%q) =\n%+v\nwant\n%+v", tt.pw, got, tt.want)
			}
		})
	}
}

// TestResultJSON compares the report with the description of an invalid_password error as
// Auth0 sends it (observed in auth0/go-auth0's test fixtures); field order aside, it must be
// the same JSON.
func TestResultJSON(t *testing.T) {
	const auth0 = `{"rules":[
		{"message":"At least %d characters in length","format":[8],"code":"lengthAtLeast","verified":true},
		{"message":"Contain at least %d of the following %d types of characters:","code":"containsAtLeast","format":[3,4],"items":[
			{"message":"lower case letters (a-z)","code":"lowerCase","verified":true},
			{"message":"upper case letters (A-Z)","code":"upperCase","verified":false},
			{"message":"numbers (i.e. 0-9)","code":"numbers","verified":false},
			{"message":"special characters (e.g. !@#$%^&*)","code":"specialCharacters","verified":true}],
		"verified":false}],
		"verified":false}`
	res := PolicyFor(storage.ConnectionOptions{PasswordPolicy: "good"}).Check("hello world!")
	body, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(auth0), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JSON =\n%s\nwant (as Auth0)\n%s", body, auth0)
	}

	// nonEmpty has neither format nor items, and an unverified rule still says so.
	body, _ = json.Marshal(Policy{}.Check(""))
	if want := `{"rules":[{"message":"Non-empty password required","code":"nonEmpty","verified":false}],"verified":false}`; string(body) != want {
		t.Errorf("JSON = %s, want %s", body, want)
	}
}

func TestPolicyText(t *testing.T) {
	tests := []struct {
		preset    string
		minLength int
		want      string
	}{
		{"none", 0, "* Non-empty password required"},
		{"low", 0, "* At least 6 characters in length"},
		{"fair", 0, "* At least 8 characters in length\n" +
			"* Should contain:\n" +
			" * lower case letters (a-z)\n" +
			" * upper case letters (A-Z)\n" +
			" * numbers (i.e. 0-9)"},
		// Exactly Auth0's "policy" field (auth0/go-auth0 test fixture).
		{"good", 0, "* At least 8 characters in length\n" +
			"* Contain at least 3 of the following 4 types of characters:\n" +
			" * lower case letters (a-z)\n" +
			" * upper case letters (A-Z)\n" +
			" * numbers (i.e. 0-9)\n" +
			" * special characters (e.g. !@#$%^&*)"},
		{"excellent", 0, "* At least 10 characters in length\n" +
			"* Contain at least 3 of the following 4 types of characters:\n" +
			" * lower case letters (a-z)\n" +
			" * upper case letters (A-Z)\n" +
			" * numbers (i.e. 0-9)\n" +
			" * special characters (e.g. !@#$%^&*)\n" +
			`* No more than 2 identical characters in a row (e.g., "aaa" not allowed)`},
		{"good", 14, "* At least 14 characters in length\n" +
			"* Contain at least 3 of the following 4 types of characters:\n" +
			" * lower case letters (a-z)\n" +
			" * upper case letters (A-Z)\n" +
			" * numbers (i.e. 0-9)\n" +
			" * special characters (e.g. !@#$%^&*)"},
	}
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			p := PolicyFor(storage.ConnectionOptions{PasswordPolicy: tt.preset, MinLength: tt.minLength})
			if got := p.PolicyText(); got != tt.want {
				t.Errorf("PolicyText() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestRuleText(t *testing.T) {
	r := identicalChars("x", 2)
	if got, want := r.Text(), `No more than 2 identical characters in a row (e.g., "aaa" not allowed)`; got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
	r = lengthRule(1, "x")
	if got := r.Text(); got != "Non-empty password required" {
		t.Errorf("Text() = %q", got)
	}
}

// Long passwords are not refused: bcrypt ignores what lies past 72 bytes, as Auth0 does.
func TestNoMaximumLength(t *testing.T) {
	pw := "Ab1!" + strings.Repeat("xy", 500) // passes every preset, lower, upper, digit, special
	for _, preset := range []string{"none", "low", "fair", "good", "excellent"} {
		p := PolicyFor(storage.ConnectionOptions{PasswordPolicy: preset})
		if !p.Check(pw).Verified {
			t.Errorf("%s refused a %d-byte password", preset, len(pw))
		}
	}
}

func TestRefusesAsCommon(t *testing.T) {
	on := PolicyFor(storage.ConnectionOptions{PasswordPolicy: "low", PasswordDictionary: true})
	off := PolicyFor(storage.ConnectionOptions{PasswordPolicy: "low"})
	if !on.RefusesAsCommon("password") {
		t.Error("dictionary on: password accepted")
	}
	if on.RefusesAsCommon("correct horse battery staple 7") {
		t.Error("dictionary on: uncommon password refused")
	}
	if off.RefusesAsCommon("password") {
		t.Error("dictionary off: password refused")
	}
}
