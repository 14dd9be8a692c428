package web

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"
)

func newPages(t *testing.T, o Options) *Pages {
	t.Helper()
	p, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// page is one page rendered from one view.
type page struct {
	name   string
	render func(p *Pages, locale string) ([]byte, error)
	csrf   string // the CSRF value its forms must carry; "" for pages without a CSRF form
}

// fullPages are the pages with every optional part shown: errors, links, hidden fields, a
// username field, a policy with every rule.
func fullPages() []page {
	fields := []Field{{"state", "st"}, {"nonce", "n"}}
	return []page{
		{"login", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.Login(&b, LoginView{Common: Common{l}, FormAction: "/u/login?state=abc", CSRF: "csrf-login",
				Email: "jane@example.com", ErrorKey: "error.wrong_credentials", SignupURL: "/u/signup?state=abc",
				ClientName: "My App", Hidden: fields})
			return b.Bytes(), err
		}, "csrf-login"},
		{"login-username", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.Login(&b, LoginView{Common: Common{l}, FormAction: "/u/login", CSRF: "csrf-login2",
				ErrorText: "Access denied by a rule.", UsernameAllowed: true})
			return b.Bytes(), err
		}, "csrf-login2"},
		{"signup", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.Signup(&b, SignupView{Common: Common{l}, FormAction: "/u/signup?state=abc", CSRF: "csrf-signup",
				Email: "jane@example.com", ErrorKey: "error.email_taken", LoginURL: "/u/login", ClientName: "My App",
				RequiresUsername: true, Username: "jane", PasswordPreset: "excellent",
				FieldErrors: map[string]string{"email": "error.invalid_email", "username": "Already taken, sorry.",
					"password": "error.invalid_password"}, Hidden: fields})
			return b.Bytes(), err
		}, "csrf-signup"},
		{"signup-plain", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.Signup(&b, SignupView{Common: Common{l}, FormAction: "/u/signup", CSRF: "csrf-signup2"})
			return b.Bytes(), err
		}, "csrf-signup2"},
		{"too_many_attempts", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.TooManyAttempts(&b, TooManyAttemptsView{Common: Common{l}, LoginURL: "/u/login"})
			return b.Bytes(), err
		}, ""},
		{"error", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.Error(&b, ErrorView{Common: Common{l}, TitleKey: "error.session_expired",
				DescriptionText: "The state parameter is missing.", RequestID: "req-123"})
			return b.Bytes(), err
		}, ""},
		{"error-default", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.Error(&b, ErrorView{Common: Common{l}})
			return b.Bytes(), err
		}, ""},
		{"logged_out", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.LoggedOut(&b, LoggedOutView{Common: Common{l}, ReturnTo: "https://app.example.com/"})
			return b.Bytes(), err
		}, ""},
		{"logout_confirm", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.LogoutConfirm(&b, LogoutConfirmView{Common: Common{l}, FormAction: "/oidc/logout", CSRF: "csrf-logout",
				ClientName: "My App", Hidden: []Field{{"post_logout_redirect_uri", "https://app.example.com/"}}})
			return b.Bytes(), err
		}, "csrf-logout"},
		{"form_post", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.FormPost(&b, FormPostView{Common: Common{l}, Action: "https://app.example.com/callback",
				Fields: []Field{{"code", "c0de"}, {"state", "st"}}})
			return b.Bytes(), err
		}, ""},
		{"web_message", func(p *Pages, l string) ([]byte, error) {
			var b bytes.Buffer
			err := p.WebMessage(&b, WebMessageView{Common: Common{l}, TargetOrigin: "https://app.example.com",
				Response: map[string]string{"code": "c0de", "state": "st"}})
			return b.Bytes(), err
		}, ""},
	}
}

// forEachPage renders every page in every locale and hands the result to check.
func forEachPage(t *testing.T, p *Pages, check func(t *testing.T, pg page, locale string, d doc)) {
	for _, pg := range fullPages() {
		for _, locale := range p.Locales() {
			t.Run(pg.name+"/"+locale, func(t *testing.T) {
				out, err := pg.render(p, locale)
				if err != nil {
					t.Fatalf("render: %v", err)
				}
				check(t, pg, locale, parseHTML(t, out))
			})
		}
	}
}

// TestNoInlineCode proves that every page works under a CSP without 'unsafe-inline': no
// inline script (only src= scripts, and JSON data blocks), no <style>, no style= and no on*
// attribute, no javascript: URL, and every asset an absolute /u/assets/ path.
func TestNoInlineCode(t *testing.T) {
	p := newPages(t, Options{Brand: Brand{LogoURL: "https://cdn.example.com/logo.png"}})
	forEachPage(t, p, func(t *testing.T, pg page, locale string, d doc) {
		for _, n := range d.all(func(*html.Node) bool { return true }) {
			for _, a := range n.Attr {
				k := strings.ToLower(a.Key)
				if strings.HasPrefix(k, "on") {
					t.Errorf("<%s> has an event handler attribute %s", n.Data, a.Key)
				}
				if k == "style" {
					t.Errorf("<%s> has a style attribute", n.Data)
				}
				if (k == "href" || k == "src" || k == "action") &&
					strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
					t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
				}
			}
		}
		if s := d.tag("style"); len(s) > 0 {
			t.Errorf("%d <style> elements", len(s))
		}
		for _, s := range d.tag("script") {
			src, hasSrc := attr(s, "src")
			typ, _ := attr(s, "type")
			switch {
			case hasSrc:
				if !strings.HasPrefix(src, "/u/assets/") {
					t.Errorf("script src %q is not under /u/assets/", src)
				}
				if strings.TrimSpace(text(s)) != "" {
					t.Errorf("script with src has content %q", text(s))
				}
			case typ == "application/json":
				// A data block: never executed.
			default:
				t.Errorf("inline script: %q", text(s))
			}
		}
		for _, l := range d.tag("link") {
			if rel, _ := attr(l, "rel"); rel == "stylesheet" {
				if href, _ := attr(l, "href"); !strings.HasPrefix(href, "/u/assets/") {
					t.Errorf("stylesheet %q is not under /u/assets/", href)
				}
			}
		}
	})
}

// TestAccessibleMarkup checks what can be checked in the markup: the language, one h1, a
// title, the viewport, a label for every input, unique ids, aria-describedby pointing at real
// elements, and errors shown as alerts.
func TestAccessibleMarkup(t *testing.T) {
	p := newPages(t, Options{})
	forEachPage(t, p, func(t *testing.T, pg page, locale string, d doc) {
		htmls := d.tag("html")
		if lang, _ := attr(htmls[0], "lang"); lang != locale {
			t.Errorf("<html lang=%q>, want %q", lang, locale)
		}
		if h1 := d.tag("h1"); len(h1) != 1 || strings.TrimSpace(text(h1[0])) == "" {
			t.Errorf("%d <h1> elements (want one, not empty)", len(h1))
		}
		if title := d.tag("title"); len(title) != 1 || !strings.HasSuffix(text(title[0]), " | latch") {
			t.Errorf("title: %v", d.tag("title"))
		}
		viewport := d.all(func(n *html.Node) bool { v, _ := attr(n, "name"); return n.Data == "meta" && v == "viewport" })
		if len(viewport) != 1 {
			t.Errorf("no viewport meta")
		} else if c, _ := attr(viewport[0], "content"); !strings.Contains(c, "width=device-width") {
			t.Errorf("viewport %q", c)
		}
		if len(d.tag("main")) != 1 {
			t.Errorf("want one <main>")
		}

		ids := map[string]bool{}
		for _, n := range d.all(func(n *html.Node) bool { _, ok := attr(n, "id"); return ok }) {
			id, _ := attr(n, "id")
			if ids[id] {
				t.Errorf("duplicate id %q", id)
			}
			ids[id] = true
		}
		labels := map[string]string{}
		for _, l := range d.tag("label") {
			if f, ok := attr(l, "for"); ok {
				labels[f] = strings.TrimSpace(text(l))
			}
		}
		for _, in := range d.all(func(n *html.Node) bool { return n.Data == "input" || n.Data == "select" || n.Data == "textarea" }) {
			typ, _ := attr(in, "type")
			if typ == "hidden" || typ == "submit" {
				continue
			}
			id, _ := attr(in, "id")
			if id == "" || labels[id] == "" {
				name, _ := attr(in, "name")
				t.Errorf("input %q (id %q) has no label", name, id)
			}
			if _, ok := attr(in, "autocomplete"); !ok {
				t.Errorf("input %q has no autocomplete", id)
			}
		}
		for _, n := range d.all(func(n *html.Node) bool { _, ok := attr(n, "aria-describedby"); return ok }) {
			v, _ := attr(n, "aria-describedby")
			if strings.TrimSpace(v) == "" {
				t.Errorf("<%s> has an empty aria-describedby", n.Data)
			}
			for _, id := range strings.Fields(v) {
				if !ids[id] {
					t.Errorf("aria-describedby points at %q, which is not on the page", id)
				}
			}
		}
		for _, b := range d.tag("button") {
			if strings.TrimSpace(text(b)) == "" {
				t.Errorf("a button without text")
			}
			if typ, _ := attr(b, "type"); typ != "submit" {
				t.Errorf("button type %q", typ)
			}
		}
		for _, a := range d.tag("a") {
			if strings.TrimSpace(text(a)) == "" {
				t.Errorf("a link without text")
			}
		}
		// Every error message is an alert, and every invalid input points at one.
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
	})
}

// TestErrorsShown: the form error and the field errors appear, linked to their inputs.
func TestErrorsShown(t *testing.T) {
	p := newPages(t, Options{})
	var b bytes.Buffer
	if err := p.Signup(&b, SignupView{Common: Common{"fr"}, ErrorText: "Refusé par une règle",
		RequiresUsername: true,
		FieldErrors:      map[string]string{"email": "error.email_taken", "username": "Pris, désolé", "password": "error.invalid_password"}}); err != nil {
		t.Fatal(err)
	}
	d := parseHTML(t, b.Bytes())
	want := map[string]string{
		"form-error":     "Refusé par une règle",
		"email-error":    p.Message("fr", "error.email_taken"),
		"username-error": "Pris, désolé",
		"password-error": p.Message("fr", "error.invalid_password"),
	}
	for id, msg := range want {
		n := d.byID(id)
		if n == nil {
			t.Errorf("no #%s", id)
			continue
		}
		if got := strings.TrimSpace(text(n)); got != msg {
			t.Errorf("#%s = %q, want %q", id, got, msg)
		}
		if role, _ := attr(n, "role"); role != "alert" {
			t.Errorf("#%s has role %q", id, role)
		}
	}
	for field, id := range map[string]string{"email": "email-error", "username": "username-error", "password": "password-error"} {
		in := d.byID(field)
		if v, _ := attr(in, "aria-describedby"); !strings.Contains(" "+v+" ", " "+id+" ") {
			t.Errorf("#%s aria-describedby=%q, want it to include %s", field, v, id)
		}
	}
	if v, _ := attr(d.tag("form")[0], "aria-describedby"); v != "form-error" {
		t.Errorf("form aria-describedby=%q", v)
	}

	// Login: the credentials error describes both fields; ErrorKey wins over ErrorText.
	b.Reset()
	if err := p.Login(&b, LoginView{ErrorKey: "error.wrong_credentials", ErrorText: "ignored"}); err != nil {
		t.Fatal(err)
	}
	d = parseHTML(t, b.Bytes())
	if got := text(d.byID("form-error")); got != "Wrong email or password." {
		t.Errorf("login error %q", got)
	}
	for _, id := range []string{"username", "password"} {
		if v, _ := attr(d.byID(id), "aria-describedby"); v != "form-error" {
			t.Errorf("#%s aria-describedby=%q", id, v)
		}
	}
	// No error: no alert, no aria-invalid.
	b.Reset()
	if err := p.Login(&b, LoginView{}); err != nil {
		t.Fatal(err)
	}
	d = parseHTML(t, b.Bytes())
	if d.byID("form-error") != nil || len(d.all(func(n *html.Node) bool { _, ok := attr(n, "aria-invalid"); return ok })) > 0 {
		t.Error("an error shown without one")
	}
}

// TestFormsCarryCSRF: every form that posts to latch has the hidden csrf field with the view's
// value and posts with POST. The form_post page posts to the client and must not leak it.
func TestFormsCarryCSRF(t *testing.T) {
	p := newPages(t, Options{})
	forEachPage(t, p, func(t *testing.T, pg page, locale string, d doc) {
		forms := d.tag("form")
		for _, f := range forms {
			if m, _ := attr(f, "method"); m != "post" {
				t.Errorf("form method %q", m)
			}
		}
		if pg.name == "form_post" {
			if len(forms) != 1 {
				t.Fatalf("%d forms", len(forms))
			}
			if d.contains("csrf") {
				t.Error("the form_post page mentions csrf")
			}
			return
		}
		if pg.csrf == "" {
			if len(forms) > 0 {
				t.Errorf("%s has a form but the test expects none", pg.name)
			}
			return
		}
		if len(forms) != 1 {
			t.Fatalf("%d forms", len(forms))
		}
		found := 0
		for _, in := range d.tag("input") {
			name, _ := attr(in, "name")
			if name != "csrf" {
				continue
			}
			found++
			typ, _ := attr(in, "type")
			val, _ := attr(in, "value")
			if typ != "hidden" || val != pg.csrf {
				t.Errorf("csrf input type %q value %q, want hidden %q", typ, val, pg.csrf)
			}
		}
		if found != 1 {
			t.Errorf("%d csrf fields", found)
		}
	})
}

// TestFormFields checks the names, types and autocomplete of the login and signup fields.
func TestFormFields(t *testing.T) {
	p := newPages(t, Options{})
	type field struct{ typ, autocomplete string }
	check := func(t *testing.T, out []byte, want map[string]field) {
		t.Helper()
		d := parseHTML(t, out)
		got := map[string]field{}
		for _, in := range d.tag("input") {
			typ, _ := attr(in, "type")
			if typ == "hidden" {
				continue
			}
			name, _ := attr(in, "name")
			ac, _ := attr(in, "autocomplete")
			got[name] = field{typ, ac}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("fields %v, want %v", got, want)
		}
	}
	var b bytes.Buffer
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(p.Login(&b, LoginView{Email: "jane@example.com"}))
	check(t, b.Bytes(), map[string]field{"username": {"email", "username"}, "password": {"password", "current-password"}})
	if d := parseHTML(t, b.Bytes()); func() string { v, _ := attr(d.byID("username"), "value"); return v }() != "jane@example.com" {
		t.Error("email not prefilled")
	}
	b.Reset()
	must(p.Login(&b, LoginView{UsernameAllowed: true}))
	check(t, b.Bytes(), map[string]field{"username": {"text", "username"}, "password": {"password", "current-password"}})
	b.Reset()
	must(p.Signup(&b, SignupView{}))
	check(t, b.Bytes(), map[string]field{"email": {"email", "email"}, "password": {"password", "new-password"}})
	b.Reset()
	must(p.Signup(&b, SignupView{RequiresUsername: true}))
	check(t, b.Bytes(), map[string]field{"email": {"email", "email"}, "username": {"text", "username"}, "password": {"password", "new-password"}})

	// Links appear only when their URL is set.
	b.Reset()
	must(p.Login(&b, LoginView{}))
	if len(parseHTML(t, b.Bytes()).tag("a")) != 0 {
		t.Error("a sign-up link without SignupURL")
	}
	b.Reset()
	must(p.Login(&b, LoginView{SignupURL: "/u/signup?state=x"}))
	if a := parseHTML(t, b.Bytes()).tag("a"); len(a) != 1 || text(a[0]) != "Sign up" {
		t.Error("no sign-up link")
	}
}

// hostile are values an attacker chooses (state, login_hint, a client name, a rule's error).
var hostile = []string{
	`</script><script>alert(1)</script>`,
	`"'><img src=x onerror=alert(1)>`,
	"line\u2028separator\u2029end",
	`javascript:alert(1)`,
	`</title><style>*{}</style><!--`,
	`{{.CSRF}} %s %d %!`,
	`<svg onload=alert(1)>`,
}

// fill sets every string of v (recursively, through slices of fields and maps) to s and every
// bool to true, so that every optional part of the page shows.
func fill(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), s)
		}
	case reflect.Slice:
		sl := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(sl.Index(i), s)
		}
		v.Set(sl)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for _, k := range []string{"email", "username", "password", "state", "code", "error_description", s} {
			val := reflect.New(v.Type().Elem()).Elem()
			fill(val, s)
			m.SetMapIndex(reflect.ValueOf(k), val)
		}
		v.Set(m)
	}
}

// TestHostileValuesEscaped fills every field of every view with each hostile value and checks
// that none of them turns into markup: no element or attribute appears that the page does not
// have anyway, and the value shows up as text (or attribute value), exactly.
func TestHostileValuesEscaped(t *testing.T) {
	p := newPages(t, Options{})
	type render func(v any) ([]byte, error)
	views := []struct {
		name    string
		view    any
		render  render
		scripts int  // <script> elements the page has anyway
		shown   bool // whether some string field is shown as text
	}{
		{"login", &LoginView{}, func(v any) ([]byte, error) {
			var b bytes.Buffer
			err := p.Login(&b, *v.(*LoginView))
			return b.Bytes(), err
		}, 0, true},
		{"signup", &SignupView{}, func(v any) ([]byte, error) {
			var b bytes.Buffer
			err := p.Signup(&b, *v.(*SignupView))
			return b.Bytes(), err
		}, 1, true},
		{"too_many_attempts", &TooManyAttemptsView{}, func(v any) ([]byte, error) {
			var b bytes.Buffer
			err := p.TooManyAttempts(&b, *v.(*TooManyAttemptsView))
			return b.Bytes(), err
		}, 0, false},
		{"error", &ErrorView{}, func(v any) ([]byte, error) {
			var b bytes.Buffer
			err := p.Error(&b, *v.(*ErrorView))
			return b.Bytes(), err
		}, 0, true},
		{"logged_out", &LoggedOutView{}, func(v any) ([]byte, error) {
			var b bytes.Buffer
			err := p.LoggedOut(&b, *v.(*LoggedOutView))
			return b.Bytes(), err
		}, 0, false},
		{"logout_confirm", &LogoutConfirmView{}, func(v any) ([]byte, error) {
			var b bytes.Buffer
			err := p.LogoutConfirm(&b, *v.(*LogoutConfirmView))
			return b.Bytes(), err
		}, 0, true},
		{"form_post", &FormPostView{}, func(v any) ([]byte, error) {
			var b bytes.Buffer
			vv := *v.(*FormPostView)
			vv.Action = "https://app.example.com/cb?x=" + vv.Fields[0].Value
			err := p.FormPost(&b, vv)
			return b.Bytes(), err
		}, 1, true},
		{"web_message", &WebMessageView{}, func(v any) ([]byte, error) {
			var b bytes.Buffer
			vv := *v.(*WebMessageView)
			vv.TargetOrigin = "https://app.example.com"
			err := p.WebMessage(&b, vv)
			return b.Bytes(), err
		}, 2, true},
	}
	// The markup of each page with harmless values, to compare the hostile renderings against.
	shape := func(d doc) map[string]int {
		count := map[string]int{}
		for _, n := range d.all(func(*html.Node) bool { return true }) {
			count["<"+n.Data+">"]++
			for _, a := range n.Attr {
				count[n.Data+"@"+a.Key]++
			}
		}
		return count
	}
	for _, tc := range views {
		t.Run(tc.name, func(t *testing.T) {
			benign := reflect.New(reflect.TypeOf(tc.view).Elem())
			fill(benign.Elem(), "benign")
			out, err := tc.render(benign.Interface())
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			want := shape(parseHTML(t, out))
			for _, h := range hostile {
				v := reflect.New(reflect.TypeOf(tc.view).Elem())
				fill(v.Elem(), h)
				out, err := tc.render(v.Interface())
				if err != nil {
					t.Fatalf("%q: render: %v", h, err)
				}
				d := parseHTML(t, out)
				got := shape(d)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%q changes the markup:\n got %v\nwant %v", h, got, want)
				}
				if n := len(d.tag("script")); n != tc.scripts {
					t.Errorf("%q: %d scripts, want %d", h, n, tc.scripts)
				}
				if len(d.tag("img")) > 0 || len(d.tag("svg")) > 0 || len(d.tag("style")) > 0 {
					t.Errorf("%q: injected element", h)
				}
				if tc.shown && !d.contains(h) && tc.name != "web_message" {
					t.Errorf("%q is not shown verbatim", h)
				}
				if lang, _ := attr(d.tag("html")[0], "lang"); lang != "en" {
					t.Errorf("%q as locale: lang %q", h, lang)
				}
				if strings.Contains(string(out), "<img") || strings.Contains(string(out), "<script>alert") {
					t.Errorf("%q: raw markup in the output", h)
				}
			}
		})
	}
}

// TestWebMessage: the data block carries exactly the response and the origin, whatever the
// values, and the page refuses a target origin that is not one.
func TestWebMessage(t *testing.T) {
	p := newPages(t, Options{})
	resp := map[string]string{"state": strings.Join(hostile, ""), "code": "abc", "error_description": "a\u2028b\u2029c</SCRIPT >"}
	var b bytes.Buffer
	if err := p.WebMessage(&b, WebMessageView{TargetOrigin: "https://app.example.com:8443", Response: resp}); err != nil {
		t.Fatal(err)
	}
	raw := b.String()
	for _, bad := range []string{"\u2028", "\u2029", "</script><script>", "</SCRIPT"} {
		if strings.Contains(raw, bad) {
			t.Errorf("raw output contains %q", bad)
		}
	}
	d := parseHTML(t, b.Bytes())
	block := d.byID("web-message-data")
	if block == nil || block.Data != "script" {
		t.Fatal("no data block")
	}
	if typ, _ := attr(block, "type"); typ != "application/json" {
		t.Errorf("data block type %q", typ)
	}
	var data struct {
		TargetOrigin string            `json:"targetOrigin"`
		Response     map[string]string `json:"response"`
	}
	if err := json.Unmarshal([]byte(text(block)), &data); err != nil {
		t.Fatalf("data block %q: %v", text(block), err)
	}
	if data.TargetOrigin != "https://app.example.com:8443" || !reflect.DeepEqual(data.Response, resp) {
		t.Errorf("data block %+v", data)
	}
	var scripts []string
	for _, s := range d.tag("script") {
		if src, ok := attr(s, "src"); ok {
			scripts = append(scripts, src)
		}
	}
	if len(scripts) != 1 || !strings.HasPrefix(scripts[0], "/u/assets/web_message.js?v=") {
		t.Errorf("scripts %v", scripts)
	}

	for _, origin := range []string{"", "*", "null", "https://app.example.com/", "https://app.example.com/cb",
		"https://app.example.com?x", "https://app.example.com#", "javascript:alert(1)", "ftp://x", "https://u@app.example.com", "app.example.com"} {
		if err := p.WebMessage(&b, WebMessageView{TargetOrigin: origin}); err == nil {
			t.Errorf("target origin %q accepted", origin)
		}
	}
}

// TestFormPost: the form posts every field to the action, and shows a button without scripts.
func TestFormPost(t *testing.T) {
	p := newPages(t, Options{})
	var b bytes.Buffer
	fields := []Field{{"code", "c0de"}, {"state", `"><x`}, {"submit", "shadow"}}
	if err := p.FormPost(&b, FormPostView{Action: "https://app.example.com/callback?a=1&b=2", Fields: fields}); err != nil {
		t.Fatal(err)
	}
	d := parseHTML(t, b.Bytes())
	form := d.byID("form-post")
	if form == nil {
		t.Fatal("no form#form-post")
	}
	if a, _ := attr(form, "action"); a != "https://app.example.com/callback?a=1&b=2" {
		t.Errorf("action %q", a)
	}
	var got []Field
	for _, in := range d.tag("input") {
		n, _ := attr(in, "name")
		v, _ := attr(in, "value")
		got = append(got, Field{n, v})
	}
	if !reflect.DeepEqual(got, fields) {
		t.Errorf("fields %v, want %v", got, fields)
	}
	ns := d.tag("noscript")
	if len(ns) != 1 || len(parseHTML(t, b.Bytes()).all(func(n *html.Node) bool {
		return n.Data == "button" && n.Parent != nil && n.Parent.Data == "noscript"
	})) != 1 {
		t.Error("no submit button inside <noscript>")
	}
	for _, action := range []string{"", "javascript:alert(1)", "/relative", "data:text/html,x", "com.example.app:/cb"} {
		if err := p.FormPost(&b, FormPostView{Action: action}); err == nil {
			t.Errorf("action %q accepted", action)
		}
	}
}

// TestConcurrentRendering runs pages in parallel (meaningful under -race).
func TestConcurrentRendering(t *testing.T) {
	p := newPages(t, Options{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, pg := range fullPages() {
				for _, l := range []string{"en", "fr"} {
					if _, err := pg.render(p, l); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestLogoutConfirm shows the application's name and the hidden fields.
func TestLogoutConfirm(t *testing.T) {
	p := newPages(t, Options{})
	var b bytes.Buffer
	if err := p.LogoutConfirm(&b, LogoutConfirmView{Common: Common{"fr"}, ClientName: "Mon App", FormAction: "/oidc/logout",
		CSRF: "x", Hidden: []Field{{"state", "s1"}}}); err != nil {
		t.Fatal(err)
	}
	d := parseHTML(t, b.Bytes())
	if h := text(d.tag("h1")[0]); h != "Se déconnecter de Mon App\u00a0?" {
		t.Errorf("h1 %q", h)
	}
	if !d.contains("s1") {
		t.Error("hidden field missing")
	}
}
