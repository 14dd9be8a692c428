// Package password holds what latch knows about passwords: Auth0's legacy password policies
// (the none/low/fair/good/excellent presets, a minimum-length override and the dictionary of
// common passwords), the rule report Auth0 returns when a password is too weak, and bcrypt
// hashing.
//
// The rule codes, messages and policy text reproduce what Auth0 sends (its policy library is
// auth0/password-sheriff), so that clients which show or translate them keep working.
//
// Length: bcrypt reads only the first 72 bytes of a password, and Auth0's legacy policies
// silently ignore the rest instead of refusing long passwords. latch does the same: no policy
// here has a maximum length, and Hasher truncates to 72 bytes (see hash.go).
package password

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/latchauth/latch/storage"
)

// The preset names of storage.ConnectionOptions.PasswordPolicy.
const (
	PresetNone      = "none"
	PresetLow       = "low"
	PresetFair      = "fair"
	PresetGood      = "good"
	PresetExcellent = "excellent"
)

// Bounds of the minimum-length override (Auth0's password_complexity_options.min_length).
const (
	MinLengthFloor   = 1
	MinLengthCeiling = 128
)

// Rule codes as Auth0 reports them.
const (
	CodeNonEmpty          = "nonEmpty"
	CodeLengthAtLeast     = "lengthAtLeast"
	CodeShouldContain     = "shouldContain"
	CodeContainsAtLeast   = "containsAtLeast"
	CodeIdenticalChars    = "identicalChars"
	CodeLowerCase         = "lowerCase"
	CodeUpperCase         = "upperCase"
	CodeNumbers           = "numbers"
	CodeSpecialCharacters = "specialCharacters"
)

// Policy is the password policy of one database connection. Build it with PolicyFor; the zero
// Policy behaves as the "none" preset.
type Policy struct {
	// Preset is one of the Preset* names.
	Preset string
	// MinLength is the minimum length in characters (Unicode code points) that the policy
	// demands: the preset's, or the connection's override.
	MinLength int
	// Dictionary refuses the shipped common passwords (see InDictionary). Auth0 reports it
	// apart from the rules, as password_dictionary_error, so Check leaves it out.
	Dictionary bool
}

// PolicyFor builds the policy of a connection. An empty or unknown preset is "none", Auth0's
// default. A MinLength above 128 counts as 128; zero or less means no override.
func PolicyFor(opts storage.ConnectionOptions) Policy {
	p := Policy{
		Preset:     strings.ToLower(strings.TrimSpace(opts.PasswordPolicy)),
		Dictionary: opts.PasswordDictionary,
	}
	switch p.Preset {
	case PresetLow:
		p.MinLength = 6
	case PresetFair, PresetGood:
		p.MinLength = 8
	case PresetExcellent:
		p.MinLength = 10
	default:
		p.Preset, p.MinLength = PresetNone, 1
	}
	if opts.MinLength > 0 {
		p.MinLength = min(max(opts.MinLength, MinLengthFloor), MinLengthCeiling)
	}
	return p
}

// Result is Auth0's report on a password: the "description" of an invalid_password error.
type Result struct {
	Rules    []Rule `json:"rules"`
	Verified bool   `json:"verified"`
}

// Rule is one line of the report. Message is printf-style with Format as its arguments, so a
// client can translate the message by Code and still fill in the numbers.
type Rule struct {
	Message  string `json:"message"`
	Format   []any  `json:"format,omitempty"`
	Code     string `json:"code"`
	Verified bool   `json:"verified"`
	// Items are the character classes of shouldContain and containsAtLeast.
	Items []Rule `json:"items,omitempty"`
}

// Text is the message with its format arguments filled in.
func (r Rule) Text() string {
	if len(r.Format) == 0 {
		return r.Message
	}
	return fmt.Sprintf(r.Message, r.Format...)
}

// Check applies the policy's rules to pw and reports on each of them; Result.Verified says
// whether pw passes them all. The dictionary is not one of the rules (see Policy.Dictionary).
func (p Policy) Check(pw string) Result {
	rules := p.rules(pw)
	verified := true
	for _, r := range rules {
		verified = verified && r.Verified
	}
	return Result{Rules: rules, Verified: verified}
}

// RefusesAsCommon reports whether the policy refuses pw because it is in the dictionary of
// common passwords.
func (p Policy) RefusesAsCommon(pw string) bool {
	return p.Dictionary && InDictionary(pw)
}

// PolicyText describes the policy as Auth0's "policy" field of an invalid_password error does:
// one "* " line per rule, and the character classes indented by one space below their rule.
func (p Policy) PolicyText() string {
	var b strings.Builder
	for i, r := range p.rules("") {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("* " + r.Text())
		for _, item := range r.Items {
			b.WriteString("\n * " + item.Text())
		}
	}
	return b.String()
}

// rules evaluates the policy's rules, in Auth0's order, against pw.
func (p Policy) rules(pw string) []Rule {
	if p.Preset == "" && p.MinLength == 0 {
		p.Preset, p.MinLength = PresetNone, 1
	}
	rules := []Rule{lengthRule(p.MinLength, pw)}
	switch p.Preset {
	case PresetFair:
		rules = append(rules, shouldContain(pw, lowerCase, upperCase, numbers))
	case PresetGood:
		rules = append(rules, containsAtLeast(pw, 3, lowerCase, upperCase, numbers, specialCharacters))
	case PresetExcellent:
		rules = append(rules,
			containsAtLeast(pw, 3, lowerCase, upperCase, numbers, specialCharacters),
			identicalChars(pw, 2))
	}
	return rules
}

// lengthRule counts characters as Unicode code points. (Auth0 counts UTF-16 code units, so a
// character outside the Basic Multilingual Plane, such as an emoji, counts twice there.)
func lengthRule(minLength int, pw string) Rule {
	ok := pw != "" && utf8.RuneCountInString(pw) >= minLength
	if minLength <= 1 {
		return Rule{Message: "Non-empty password required", Code: CodeNonEmpty, Verified: ok}
	}
	return Rule{
		Message:  "At least %d characters in length",
		Format:   []any{minLength},
		Code:     CodeLengthAtLeast,
		Verified: ok,
	}
}

func shouldContain(pw string, classes ...charClass) Rule {
	items := checkClasses(pw, classes)
	ok := true
	for _, item := range items {
		ok = ok && item.Verified
	}
	return Rule{Message: "Should contain:", Code: CodeShouldContain, Verified: ok, Items: items}
}

func containsAtLeast(pw string, atLeast int, classes ...charClass) Rule {
	items := checkClasses(pw, classes)
	found := 0
	for _, item := range items {
		if item.Verified {
			found++
		}
	}
	return Rule{
		Message:  "Contain at least %d of the following %d types of characters:",
		Format:   []any{atLeast, len(classes)},
		Code:     CodeContainsAtLeast,
		Verified: found >= atLeast,
		Items:    items,
	}
}

// identicalChars refuses a run of more than limit identical characters.
func identicalChars(pw string, limit int) Rule {
	ok := pw != ""
	var prev rune
	run := 0
	for _, c := range pw {
		if run > 0 && c == prev {
			run++
		} else {
			prev, run = c, 1
		}
		if run > limit {
			ok = false
			break
		}
	}
	return Rule{
		Message:  `No more than %d identical characters in a row (e.g., "%s" not allowed)`,
		Format:   []any{limit, strings.Repeat("a", limit+1)},
		Code:     CodeIdenticalChars,
		Verified: ok,
	}
}

// charClass is one of the kinds of character that fair, good and excellent ask for. Like
// Auth0's, the classes are ASCII only: "é" is neither lower case nor special.
type charClass struct {
	code, message string
	has           func(rune) bool
}

var (
	lowerCase = charClass{CodeLowerCase, "lower case letters (a-z)",
		func(c rune) bool { return 'a' <= c && c <= 'z' }}
	upperCase = charClass{CodeUpperCase, "upper case letters (A-Z)",
		func(c rune) bool { return 'A' <= c && c <= 'Z' }}
	numbers = charClass{CodeNumbers, "numbers (i.e. 0-9)",
		func(c rune) bool { return '0' <= c && c <= '9' }}
	// specialCharacters is OWASP's list of password special characters, which Auth0 uses:
	// the space and every ASCII punctuation mark, not only the !@#$%^&* of the message.
	specialCharacters = charClass{CodeSpecialCharacters, "special characters (e.g. !@#$%^&*)",
		func(c rune) bool { return strings.ContainsRune(owaspSpecial, c) }}
)

const owaspSpecial = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

func checkClasses(pw string, classes []charClass) []Rule {
	items := make([]Rule, len(classes))
	for i, class := range classes {
		items[i] = Rule{
			Message:  class.message,
			Code:     class.code,
			Verified: strings.IndexFunc(pw, class.has) >= 0,
		}
	}
	return items
}
