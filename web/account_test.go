package web

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// accountPages are the pages of the email flows with every optional part shown.
func accountPages() []page {
	return []page{
		{"forgot_password", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.ForgotPassword(&b, ForgotPasswordView{Common: Common{l}, FormAction: "/u/forgot-password?state=abc",
				CSRF: "csrf-forgot", Email: "jane@example.com", ErrorKey: "error.too_many_requests", LoginURL: "/u/login?state=abc"})
			return b.Bytes(), err
		}, "csrf-forgot"},
		{"reset_password", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.ResetPassword(&b, ResetPasswordView{Common: Common{l}, FormAction: "/u/reset-password", CSRF: "csrf-reset",
				Email: "jane@example.com", ErrorText: "Something about the form.", PasswordPreset: "excellent", MinLength: 12,
				FieldErrors: map[string]string{"password": "error.invalid_password", "password_confirm": "error.password_mismatch"},
				Hidden:      []Field{{"ticket", "tkt"}}})
			return b.Bytes(), err
		}, "csrf-reset"},
		{"reset_password-plain", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.ResetPassword(&b, ResetPasswordView{Common: Common{l}, FormAction: "/u/reset-password", CSRF: "csrf-reset2"})
			return b.Bytes(), err
		}, "csrf-reset2"},
		{"done", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.Done(&b, DoneView{Common: Common{l}, TitleKey: "done.password_changed.title",
				BodyKey: "done.password_changed.body", ContinueURL: "https://app.example.com/"})
			return b.Bytes(), err
		}, ""},
		{"done-default", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.Done(&b, DoneView{Common: Common{l}})
			return b.Bytes(), err
		}, ""},
	}
}

// The account pages meet the bar of the other pages: one h1, a title, labels and
// autocomplete on every visible input, aria-describedby pointing at alerts, no inline code,
// one POST form with its CSRF field where there is a form.
func TestAccountPagesMarkup(t *testing.T) {
	p := newPages(t, Options{})
	for _, pg := range accountPages() {
		for _, locale := range p.Locales() {
			t.Run(pg.name+"/"+locale, func(t *testing.T) {
				out, err := pg.render(p, locale)
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				d := parseHTML(t, out)
				if lang, _ := attr(d.tag("html")[0], "lang"); lang != locale {
					t.Errorf("lang %q", lang)
				}
				if h1 := d.tag("h1"); len(h1) != 1 || strings.TrimSpace(text(h1[0])) == "" {
					t.Errorf("%d h1", len(h1))
				}
				if strings.Contains(d.raw, "style=") || len(d.tag("style")) > 0 {
					t.Error("inline style")
				}
				for _, s := range d.tag("script") {
					if src, ok := attr(s, "src"); !ok || !strings.HasPrefix(src, "/u/assets/") {
						t.Errorf("script %v", s.Attr)
					}
				}
				ids := map[string]bool{}
				for _, n := range d.all(func(n *html.Node) bool { _, ok := attr(n, "id"); return ok }) {
					id, _ := attr(n, "id")
					if ids[id] {
						t.Errorf("duplicate id %q", id)
					}
					ids[id] = true
				}
				labels := map[string]bool{}
				for _, l := range d.tag("label") {
					if f, ok := attr(l, "for"); ok && strings.TrimSpace(text(l)) != "" {
						labels[f] = true
					}
				}
				for _, in := range d.tag("input") {
					typ, _ := attr(in, "type")
					if typ == "hidden" {
						continue
					}
					id, _ := attr(in, "id")
					if !labels[id] {
						t.Errorf("input %q has no label", id)
					}
					if _, ok := attr(in, "autocomplete"); !ok {
						t.Errorf("input %q has no autocomplete", id)
					}
				}
				for _, n := range d.all(func(n *html.Node) bool { _, ok := attr(n, "aria-describedby"); return ok }) {
					v, _ := attr(n, "aria-describedby")
					for _, id := range strings.Fields(v) {
						if !ids[id] {
							t.Errorf("aria-describedby points at %q, not on the page", id)
						}
					}
				}
				for _, in := range d.all(func(n *html.Node) bool { v, _ := attr(n, "aria-invalid"); return v == "true" }) {
					v, _ := attr(in, "aria-describedby")
					alert := false
					for _, id := range strings.Fields(v) {
						if n := d.byID(id); n != nil {
							if role, _ := attr(n, "role"); role == "alert" {
								alert = true
							}
						}
					}
					if !alert {
						t.Errorf("invalid input %v is not described by an alert", in.Attr)
					}
				}
				forms := d.tag("form")
				if pg.csrf == "" {
					if len(forms) != 0 {
						t.Errorf("%d forms on a page without one", len(forms))
					}
					return
				}
				if len(forms) != 1 {
					t.Fatalf("%d forms", len(forms))
				}
				if m, _ := attr(forms[0], "method"); m != "post" {
					t.Errorf("method %q", m)
				}
				csrf := d.all(func(n *html.Node) bool { v, _ := attr(n, "name"); return n.Data == "input" && v == "csrf" })
				if len(csrf) != 1 {
					t.Fatalf("%d csrf fields", len(csrf))
				}
				if v, _ := attr(csrf[0], "value"); v != pg.csrf {
					t.Errorf("csrf value %q, want %q", v, pg.csrf)
				}
			})
		}
	}
}

// The reset page asks for the new password twice, as a new password, with the connection's
// policy under it for policy.js; the ticket rides as a hidden field, never in the action.
func TestResetPasswordPage(t *testing.T) {
	p := newPages(t, Options{})
	var b bytes.Buffer
	err := p.ResetPassword(&b, ResetPasswordView{Common: Common{"en"}, FormAction: "/u/reset-password", CSRF: "c",
		Email: "jane@example.com", PasswordPreset: "fair", MinLength: 10, Hidden: []Field{{"ticket", "t0ken"}},
		FieldErrors: map[string]string{"password_confirm": "error.password_mismatch"}})
	if err != nil {
		t.Fatal(err)
	}
	d := parseHTML(t, b.Bytes())
	for _, id := range []string{"password", "password_confirm"} {
		in := d.byID(id)
		if in == nil {
			t.Fatalf("no #%s", id)
		}
		if typ, _ := attr(in, "type"); typ != "password" {
			t.Errorf("#%s type %q", id, typ)
		}
		if ac, _ := attr(in, "autocomplete"); ac != "new-password" {
			t.Errorf("#%s autocomplete %q", id, ac)
		}
	}
	rules := d.all(func(n *html.Node) bool { _, ok := attr(n, "data-policy-for"); return ok })
	if len(rules) != 1 {
		t.Fatalf("%d policy lists", len(rules))
	}
	if v, _ := attr(rules[0], "data-preset"); v != "fair" {
		t.Errorf("data-preset %q", v)
	}
	if v, _ := attr(rules[0], "data-min-length"); v != "10" {
		t.Errorf("data-min-length %q", v)
	}
	if !strings.Contains(d.raw, "policy.js") {
		t.Error("the page does not load policy.js")
	}
	if e := d.byID("password_confirm-error"); e == nil || !strings.Contains(text(e), "do not match") {
		t.Errorf("the confirmation's error is not shown")
	}
	ticket := d.all(func(n *html.Node) bool { v, _ := attr(n, "name"); return v == "ticket" })
	if len(ticket) != 1 {
		t.Fatalf("%d ticket fields", len(ticket))
	}
	if typ, _ := attr(ticket[0], "type"); typ != "hidden" {
		t.Errorf("ticket field type %q", typ)
	}
	if action, _ := attr(d.tag("form")[0], "action"); strings.Contains(action, "t0ken") {
		t.Errorf("the form action %q carries the ticket", action)
	}
	if !d.contains("jane@example.com") {
		t.Error("the page does not say whose password it is")
	}
}

// Hostile values are escaped in every field of the account views; a javascript: continue
// link is neutralised.
func TestAccountPagesEscape(t *testing.T) {
	p := newPages(t, Options{})
	const evil = `"><script>alert(1)</script><x y="`
	var b bytes.Buffer
	if err := p.ResetPassword(&b, ResetPasswordView{Common: Common{"en"}, FormAction: "/u/reset-password?x=" + evil, CSRF: evil,
		Email: evil, ErrorText: evil, FieldErrors: map[string]string{"password": evil}, Hidden: []Field{{"ticket", evil}}}); err != nil {
		t.Fatal(err)
	}
	if err := p.ForgotPassword(&b, ForgotPasswordView{Common: Common{"fr"}, FormAction: "/x", CSRF: evil, Email: evil,
		ErrorText: evil, LoginURL: "javascript:alert(1)"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Done(&b, DoneView{Common: Common{"en"}, ContinueURL: "javascript:alert(1)"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "<script>alert") {
		t.Fatal("a value reached the page unescaped")
	}
	if strings.Contains(out, `href="javascript:`) {
		t.Fatal("a javascript: URL reached an href")
	}
}

// The login page links to the forgot-password page only when the server gives its URL.
func TestLoginForgotPasswordLink(t *testing.T) {
	p := newPages(t, Options{})
	for _, url := range []string{"", "/u/forgot-password?state=abc"} {
		var b bytes.Buffer
		if err := p.Login(&b, LoginView{Common: Common{"fr"}, FormAction: "/u/login", CSRF: "c", ForgotPasswordURL: url}); err != nil {
			t.Fatal(err)
		}
		d := parseHTML(t, b.Bytes())
		links := d.all(func(n *html.Node) bool {
			h, _ := attr(n, "href")
			return n.Data == "a" && h == "/u/forgot-password?state=abc"
		})
		if want := url != ""; (len(links) == 1) != want {
			t.Fatalf("ForgotPasswordURL %q: %d links", url, len(links))
		}
		if url != "" && strings.TrimSpace(text(links[0])) != "Mot de passe oublié ?" {
			t.Errorf("link text %q", text(links[0]))
		}
	}
}
