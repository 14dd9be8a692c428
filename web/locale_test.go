package web

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"slices"
	"testing"
	"text/template/parse"
)

func TestLocale(t *testing.T) {
	p := newPages(t, Options{})
	tests := []struct {
		ui, accept, want string
	}{
		{"", "", "en"},
		{"fr", "", "fr"},
		{"fr-CA", "", "fr"},
		{"FR_ca", "", "fr"},
		{"de fr en", "", "fr"},  // the first supported ui_locale
		{"de  en fr", "", "en"}, // in order, not the best
		{"en", "fr", "en"},      // ui_locales beats Accept-Language
		{"de", "fr", "fr"},      // no supported ui_locale: Accept-Language
		{"", "fr-CH, fr;q=0.9, en;q=0.8", "fr"},
		{"", "de;q=1, en;q=0.5, fr;q=0.9", "fr"}, // by q, not by position
		{"", "fr;q=0.2, en;q=0.3", "en"},
		{"", "fr;q=0, de", "en"},               // q=0 means not acceptable
		{"", "en;q=0, fr;q=0.1", "fr"},         //
		{"", "*;q=0.9, fr;q=0.5", "fr"},        // the wildcard names no language
		{"", "fr;q=abc, en;q=0.5", "en"},       // a malformed weight counts as 0
		{"", "fr;q=2", "en"},                   // out of range
		{"", " fr-ca ; q=0.7 ,de", "fr"},       // spacing and case
		{"", "es, de-AT", "en"},                // nothing supported
		{"x-klingon", "zz", "en"},              // nothing supported
		{"", "frr", "en"},                      // not a prefix match
		{"", "en-GB;q=0.8, fr-FR;q=0.8", "en"}, // a tie keeps the header's order
	}
	for _, tc := range tests {
		if got := p.Locale(tc.ui, tc.accept); got != tc.want {
			t.Errorf("Locale(%q, %q) = %q, want %q", tc.ui, tc.accept, got, tc.want)
		}
	}
}

func TestMessage(t *testing.T) {
	p := newPages(t, Options{})
	if got := p.Message("en", "error.wrong_credentials"); got != "Wrong email or password." {
		t.Errorf("en: %q", got)
	}
	if got := p.Message("en", "error.user_blocked"); got != "user is blocked" {
		t.Errorf("user_blocked: %q", got)
	}
	if got := p.Message("fr-CA", "error.wrong_credentials"); got != "Adresse e-mail ou mot de passe incorrect." {
		t.Errorf("fr-CA: %q", got)
	}
	if got := p.Message("de", "error.csrf"); got != p.Message("en", "error.csrf") {
		t.Errorf("unknown locale: %q", got)
	}
	if got := p.Message("fr", "no.such.key"); got != "no.such.key" {
		t.Errorf("unknown key: %q", got)
	}
	// Falls back to English when a locale lacks a key.
	p.catalogs = map[string]map[string]string{"en": {"k": "English"}, "fr": {}}
	if got := p.Message("fr", "k"); got != "English" {
		t.Errorf("fallback: %q", got)
	}
}

func readCatalogs(t *testing.T) map[string]map[string]string {
	t.Helper()
	c, err := loadCatalogs(localeFS)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var verb = regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]+)?[a-zA-Z]`)

// TestCataloguesComplete: en and fr have the same keys, no empty text, and the same format
// verbs in the same order (so fmt.Sprintf fills both alike).
func TestCataloguesComplete(t *testing.T) {
	c := readCatalogs(t)
	if len(c) != 2 || c["en"] == nil || c["fr"] == nil {
		t.Fatalf("%d catalogues, want en and fr", len(c))
	}
	for _, pair := range [][2]string{{"en", "fr"}, {"fr", "en"}} {
		for k := range c[pair[0]] {
			if _, ok := c[pair[1]][k]; !ok {
				t.Errorf("%q is in %s.json but not in %s.json", k, pair[0], pair[1])
			}
		}
	}
	for lang, cat := range c {
		for k, v := range cat {
			if v == "" {
				t.Errorf("%s: %q is empty", lang, k)
			}
		}
	}
	for k, en := range c["en"] {
		if a, b := verb.FindAllString(en, -1), verb.FindAllString(c["fr"][k], -1); !slices.Equal(a, b) {
			t.Errorf("%q: en has verbs %v, fr %v", k, a, b)
		}
	}
	// The catalogues must be objects of strings and nothing else.
	for _, f := range []string{"locales/en.json", "locales/fr.json"} {
		data, _ := fs.ReadFile(localeFS, f)
		var raw map[string]any
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		for k, v := range raw {
			if _, ok := v.(string); !ok {
				t.Errorf("%s: %q is not a string", f, k)
			}
		}
	}
}

// TestRequiredKeys: the keys the server's handlers use exist, with the texts Auth0 shows where
// clients may compare them.
func TestRequiredKeys(t *testing.T) {
	c := readCatalogs(t)
	for _, k := range []string{
		"error.wrong_credentials", "error.too_many_attempts", "error.user_blocked", "error.email_taken",
		"error.invalid_password", "error.invalid_email", "error.csrf", "error.session_expired", "error.generic",
		"login.title", "signup.title", "logged_out.heading", "logout_confirm.heading", "form_post.continue",
		"policy.lower_case", "policy.identical_chars",
	} {
		if c["en"][k] == "" {
			t.Errorf("en lacks %q", k)
		}
	}
	if got := c["en"]["error.wrong_credentials"]; got != "Wrong email or password." {
		t.Errorf("error.wrong_credentials = %q", got)
	}
	if got := c["en"]["error.user_blocked"]; got != "user is blocked" {
		t.Errorf("error.user_blocked = %q", got)
	}
	// Every rule code of package password has a text.
	for code, key := range policyKeys {
		if c["en"][key] == "" {
			t.Errorf("rule %s: en lacks %q", code, key)
		}
	}
}

// templateKeys finds the literal keys of every call of t in the parsed templates: {{t "k"}},
// and {{t (or .X "k")}}.
func templateKeys(t *testing.T, p *Pages) map[string]bool {
	t.Helper()
	found := map[string]bool{}
	var walk func(n parse.Node)
	strs := func(n parse.Node) {
		var inner func(parse.Node)
		inner = func(n parse.Node) {
			switch n := n.(type) {
			case *parse.StringNode:
				found[n.Text] = true
			case *parse.PipeNode:
				for _, c := range n.Cmds {
					for _, a := range c.Args {
						inner(a)
					}
				}
			}
		}
		inner(n)
	}
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "t" && len(n.Args) > 1 {
				strs(n.Args[1])
			}
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		}
	}
	for _, set := range p.pages["en"] {
		for _, tmpl := range set.Templates() {
			if tmpl.Tree != nil {
				walk(tmpl.Tree.Root)
			}
		}
	}
	return found
}

// TestTemplateKeysExist: every key the templates name exists in every catalogue.
func TestTemplateKeysExist(t *testing.T) {
	p := newPages(t, Options{})
	used := templateKeys(t, p)
	if len(used) < 40 {
		t.Fatalf("found only %d keys in the templates: the walk is broken", len(used))
	}
	c := readCatalogs(t)
	for k := range used {
		for lang, cat := range c {
			if _, ok := cat[k]; !ok {
				t.Errorf("the templates use %q, missing from %s.json", k, lang)
			}
		}
	}
}
