package mail_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/latchauth/latch/mail"
	"github.com/latchauth/latch/web"
)

const (
	hostileName = `<script>alert("x")</script> & Co`
	testLink    = "https://acme.test/u/email-verification?ticket=Zm9v-YmFy_0&lang=fr"
)

// The subjects, literally: a catalogue mix-up (a key missing in French, a wrong key) changes them.
var wantSubjects = map[string]map[string]string{
	"en": {
		mail.KindVerifyEmail:     "Verify your email address for Acme",
		mail.KindResetPassword:   "Reset your Acme password",
		mail.KindPasswordChanged: "Your Acme password was changed",
		mail.KindBlockedAccount:  "Your Acme account was blocked",
	},
	"fr": {
		mail.KindVerifyEmail:     "Confirmez votre adresse e-mail pour Acme",
		mail.KindResetPassword:   "Réinitialisez votre mot de passe Acme",
		mail.KindPasswordChanged: "Le mot de passe de votre compte Acme a été modifié",
		mail.KindBlockedAccount:  "Votre compte Acme a été bloqué",
	},
}

var wantGreeting = map[string]string{"en": "Hello ", "fr": "Bonjour "}

func TestRenderEveryKindInEveryLocale(t *testing.T) {
	tm := newTemplates(t)
	for _, locale := range []string{"en", "fr"} {
		for _, kind := range mail.Kinds() {
			t.Run(locale+"/"+kind, func(t *testing.T) {
				m, err := tm.Render(kind, locale, mail.Data{
					User:      mail.User{Email: "zoe@example.test", Name: hostileName},
					Link:      testLink,
					ExpiresIn: 24 * time.Hour,
					IP:        "203.0.113.9",
				})
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				if m.Kind != kind {
					t.Errorf("Kind = %q, want %q", m.Kind, kind)
				}
				if m.Subject != wantSubjects[locale][kind] {
					t.Errorf("Subject = %q, want %q", m.Subject, wantSubjects[locale][kind])
				}
				if err := m.Validate(); err != nil {
					t.Errorf("the rendered message does not validate: %v", err)
				}
				to, err := mail.ParseAddress(m.To)
				if err != nil || to.Address != "zoe@example.test" || to.Name != hostileName {
					t.Errorf("To = %q parses as %+v, %v; want the user's name and address", m.To, to, err)
				}

				// Text: the greeting in the locale, the brand, the link exactly once.
				if !strings.Contains(m.Text, wantGreeting[locale]+hostileName+",") {
					t.Errorf("text lacks the %s greeting with the name:\n%s", locale, m.Text)
				}
				if !strings.Contains(m.Text, "Acme") {
					t.Errorf("text lacks the brand name:\n%s", m.Text)
				}
				if n := strings.Count(m.Text, testLink); n != 1 {
					t.Errorf("the link appears %d times in the text, want 1:\n%s", n, m.Text)
				}
				if !slices.Contains(strings.Split(m.Text, "\n"), testLink) {
					t.Errorf("the link is not on a line of its own in the text:\n%s", m.Text)
				}
				wantExpiry := map[string]string{"en": "This link expires in 1 day.", "fr": "Ce lien expire dans 1 jour."}[locale]
				if !strings.Contains(m.Text, wantExpiry) {
					t.Errorf("text lacks %q:\n%s", wantExpiry, m.Text)
				}
				if kind == mail.KindBlockedAccount && !strings.Contains(m.Text, "203.0.113.9") {
					t.Errorf("blocked-account text lacks the IP:\n%s", m.Text)
				}

				checkHTML(t, m.HTML, locale, "Acme", "#00aa77")
			})
		}
	}
}

// checkHTML parses an HTML body and checks it as a mail client would see it.
func checkHTML(t *testing.T, body, locale, brand, primary string) {
	t.Helper()
	root, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("HTML does not parse: %v", err)
	}
	var links, hostileTexts int
	var texts []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.ElementNode:
			switch n.Data {
			case "script", "style", "link", "iframe", "form":
				t.Errorf("HTML has a <%s> element", n.Data)
			case "html":
				if attrOf(n, "lang") != locale {
					t.Errorf(`<html lang=%q>, want %q`, attrOf(n, "lang"), locale)
				}
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") || a.Key == "class" {
					t.Errorf("<%s %s=%q>: want inline styles and no handlers", n.Data, a.Key, a.Val)
				}
				if strings.Contains(a.Val, "https://acme.test/") {
					links++
					if n.Data != "a" || a.Key != "href" || a.Val != testLink {
						t.Errorf("<%s %s=%q>: want the link, as it is, only in an <a href>", n.Data, a.Key, a.Val)
					}
				}
			}
		case html.TextNode:
			texts = append(texts, n.Data)
			if strings.Contains(n.Data, "https://acme.test/") {
				links++
			}
			if strings.Contains(n.Data, hostileName) {
				hostileTexts++
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	if links != 1 {
		t.Errorf("the link appears %d times in the HTML, want 1", links)
	}
	if hostileTexts != 1 {
		t.Errorf("the user's name appears %d times as text in the HTML, want 1 (escaped, not markup)", hostileTexts)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, `"x")`) {
		t.Errorf("the hostile name reached the HTML unescaped")
	}
	if !strings.Contains(strings.Join(texts, " "), brand) {
		t.Errorf("the HTML does not show the brand %q", brand)
	}
	if !strings.Contains(body, "background-color:"+primary) {
		t.Errorf("the HTML does not use the primary colour %s", primary)
	}
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func TestRenderLocale(t *testing.T) {
	tm := newTemplates(t)
	tests := map[string]string{"fr": "fr", "fr-CA": "fr", "FR_ca": "fr", "en-GB": "en", "de": "en", "": "en", "xx-yy": "en"}
	for tag, want := range tests {
		m, err := tm.Render(mail.KindResetPassword, tag, mail.Data{User: mail.User{Email: "a@x.test"}, Link: testLink})
		if err != nil {
			t.Fatalf("Render(%q): %v", tag, err)
		}
		if m.Subject != wantSubjects[want][mail.KindResetPassword] {
			t.Errorf("locale %q: subject %q, want the %s one", tag, m.Subject, want)
		}
	}
}

// Mail and pages speak the same languages, so that a locale the pages chose fits mail.
func TestLocalesMatchThePages(t *testing.T) {
	pages, err := web.New(web.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := newTemplates(t).Locales(), pages.Locales(); !slices.Equal(got, want) {
		t.Errorf("mail locales %v, pages locales %v", got, want)
	}
}

func TestRenderWithoutNameOrExpiry(t *testing.T) {
	tm := newTemplates(t)
	m, err := tm.Render(mail.KindVerifyEmail, "en", mail.Data{User: mail.User{Email: "a@x.test"}, Link: testLink})
	if err != nil {
		t.Fatal(err)
	}
	if m.To != "<a@x.test>" && m.To != "a@x.test" {
		t.Errorf("To = %q, want the bare address", m.To)
	}
	if !strings.HasPrefix(m.Text, "Hello,\n") {
		t.Errorf("text does not start with the nameless greeting:\n%s", m.Text)
	}
	if strings.Contains(m.Text, "expires") || strings.Contains(m.HTML, "expires") {
		t.Errorf("no ExpiresIn, yet an expiry sentence:\n%s", m.Text)
	}
}

func TestPasswordChangedLinkIsOptional(t *testing.T) {
	tm := newTemplates(t)
	m, err := tm.Render(mail.KindPasswordChanged, "fr", mail.Data{User: mail.User{Email: "a@x.test", Name: "Zoé"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "http") || strings.Contains(m.HTML, "href") {
		t.Errorf("no link given, yet one rendered:\n%s\n%s", m.Text, m.HTML)
	}
	if !strings.Contains(m.Text, "contactez-nous") || !strings.Contains(m.Text, "(a@x.test)") {
		t.Errorf("text lacks the French no-link advice or the address:\n%s", m.Text)
	}
}

func TestExpiresInWording(t *testing.T) {
	tm := newTemplates(t)
	tests := []struct {
		d      time.Duration
		en, fr string
	}{
		{24 * time.Hour, "1 day", "1 jour"},
		{72 * time.Hour, "3 days", "3 jours"},
		{time.Hour, "1 hour", "1 heure"},
		{36 * time.Hour, "36 hours", "36 heures"},
		{90 * time.Minute, "90 minutes", "90 minutes"},
		{30 * time.Second, "1 minute", "1 minute"},
		{61 * time.Second, "2 minutes", "2 minutes"},
	}
	for _, tt := range tests {
		for locale, want := range map[string]string{"en": "expires in " + tt.en + ".", "fr": "expire dans " + tt.fr + "."} {
			m, err := tm.Render(mail.KindVerifyEmail, locale, mail.Data{User: mail.User{Email: "a@x.test"}, Link: testLink, ExpiresIn: tt.d})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
				t.Errorf("%v in %s: want %q in the text and the HTML:\n%s", tt.d, locale, want, m.Text)
			}
		}
	}
}

func TestRenderRefuses(t *testing.T) {
	tm := newTemplates(t)
	ok := mail.Data{User: mail.User{Email: "a@x.test", Name: "Ann"}, Link: testLink}
	with := func(f func(*mail.Data)) mail.Data { d := ok; f(&d); return d }
	tests := []struct {
		name string
		kind string
		data mail.Data
	}{
		{"name with CRLF", mail.KindVerifyEmail, with(func(d *mail.Data) { d.User.Name = "Ann\r\nBcc: b@y.test" })},
		{"name with LF", mail.KindVerifyEmail, with(func(d *mail.Data) { d.User.Name = "Ann\nX" })},
		{"email with CRLF", mail.KindVerifyEmail, with(func(d *mail.Data) { d.User.Email = "a@x.test\r\nBcc: b@y.test" })},
		{"email with a name", mail.KindVerifyEmail, with(func(d *mail.Data) { d.User.Email = "Eve <a@x.test>" })},
		{"two emails", mail.KindVerifyEmail, with(func(d *mail.Data) { d.User.Email = "a@x.test, b@y.test" })},
		{"no email", mail.KindVerifyEmail, with(func(d *mail.Data) { d.User.Email = "" })},
		{"no link", mail.KindVerifyEmail, with(func(d *mail.Data) { d.Link = "" })},
		{"no unblock link", mail.KindBlockedAccount, with(func(d *mail.Data) { d.Link = "" })},
		{"http link", mail.KindResetPassword, with(func(d *mail.Data) { d.Link = "http://acme.test/reset?t=1" })},
		{"javascript link", mail.KindResetPassword, with(func(d *mail.Data) { d.Link = "javascript:alert(1)" })},
		{"relative link", mail.KindResetPassword, with(func(d *mail.Data) { d.Link = "/u/reset?t=1" })},
		{"link with user", mail.KindResetPassword, with(func(d *mail.Data) { d.Link = "https://user@acme.test/reset" })},
		{"link with a space", mail.KindResetPassword, with(func(d *mail.Data) { d.Link = "https://acme.test/a b" })},
		{"link with a quote", mail.KindResetPassword, with(func(d *mail.Data) { d.Link = `https://acme.test/a"onmouseover="x` })},
		{"link with CRLF", mail.KindResetPassword, with(func(d *mail.Data) { d.Link = "https://acme.test/a\r\nX: y" })},
		{"bad optional link", mail.KindPasswordChanged, with(func(d *mail.Data) { d.Link = "ftp://acme.test/" })},
		{"bad IP", mail.KindBlockedAccount, with(func(d *mail.Data) { d.IP = "<b>1.2.3.4</b>" })},
		{"negative expiry", mail.KindBlockedAccount, with(func(d *mail.Data) { d.ExpiresIn = -time.Hour })},
		{"unknown kind", "welcome", ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tm.Render(tt.kind, "en", tt.data)
			if !errors.Is(err, mail.ErrInvalidMessage) {
				t.Fatalf("Render = %+v, %v; want ErrInvalidMessage", m, err)
			}
		})
	}
}

func TestRenderDevelopmentLinks(t *testing.T) {
	tm := newTemplates(t)
	for _, link := range []string{"http://localhost:8080/u/verify?t=1", "http://127.0.0.1:3000/x", "http://[::1]/x", "https://acme.test/%2Fa?b=c&d=e#f"} {
		m, err := tm.Render(mail.KindVerifyEmail, "en", mail.Data{User: mail.User{Email: "a@x.test"}, Link: link})
		if err != nil {
			t.Errorf("link %s: %v", link, err)
			continue
		}
		if strings.Count(m.Text, link) != 1 {
			t.Errorf("link %s not shown as it is in the text", link)
		}
	}
}

// A long name stays in the greeting but out of To, which has a length limit.
func TestLongNameLeftOutOfTo(t *testing.T) {
	tm := newTemplates(t)
	long := strings.Repeat("é", 200)
	m, err := tm.Render(mail.KindVerifyEmail, "en", mail.Data{User: mail.User{Email: "a@x.test", Name: long}, Link: testLink})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.To, "=?") || !strings.Contains(m.Text, long) {
		t.Errorf("To = %q; text has the name: %v", m.To, strings.Contains(m.Text, long))
	}
}

func TestBrandInMail(t *testing.T) {
	render := func(t *testing.T, o mail.TemplateOptions) mail.Message {
		t.Helper()
		tm, err := mail.NewTemplates(o)
		if err != nil {
			t.Fatalf("NewTemplates: %v", err)
		}
		m, err := tm.Render(mail.KindVerifyEmail, "en", mail.Data{User: mail.User{Email: "a@x.test"}, Link: testLink})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	t.Run("defaults", func(t *testing.T) {
		m := render(t, mail.TemplateOptions{})
		if m.Subject != "Verify your email address for latch" || !strings.Contains(m.HTML, "background-color:#1d4ed8") {
			t.Errorf("subject %q; default colour in HTML: %v", m.Subject, strings.Contains(m.HTML, "#1d4ed8"))
		}
	})
	t.Run("https logo", func(t *testing.T) {
		m := render(t, mail.TemplateOptions{Brand: web.Brand{Name: "Acme & Sons", LogoURL: "https://cdn.acme.test/logo.png"}})
		if !strings.Contains(m.HTML, `<img src="https://cdn.acme.test/logo.png" alt="Acme &amp; Sons"`) {
			t.Errorf("no logo with the escaped name as alt:\n%s", m.HTML)
		}
	})
	t.Run("asset logo with base URL", func(t *testing.T) {
		m := render(t, mail.TemplateOptions{Brand: web.Brand{LogoURL: "/u/assets/logo.png"}, BaseURL: "https://id.acme.test/"})
		if !strings.Contains(m.HTML, `src="https://id.acme.test/u/assets/logo.png"`) {
			t.Errorf("logo not made absolute:\n%s", m.HTML)
		}
	})
	t.Run("asset logo without base URL", func(t *testing.T) {
		m := render(t, mail.TemplateOptions{Brand: web.Brand{LogoURL: "/u/assets/logo.png"}})
		if strings.Contains(m.HTML, "<img") {
			t.Errorf("a relative logo cannot show in a mail client, yet:\n%s", m.HTML)
		}
	})
	t.Run("light primary colour", func(t *testing.T) {
		m := render(t, mail.TemplateOptions{Brand: web.Brand{PrimaryColor: "#ffeb3b"}})
		if !strings.Contains(m.HTML, "color:#000000") {
			t.Errorf("button text on yellow is not black:\n%s", m.HTML)
		}
	})
	for name, b := range map[string]web.Brand{
		"bad colour":        {PrimaryColor: "red"},
		"bad background":    {BackgroundColor: "#12345"},
		"http logo":         {LogoURL: "http://cdn.acme.test/logo.png"},
		"javascript logo":   {LogoURL: "javascript:alert(1)"},
		"name with CRLF":    {Name: "Acme\r\nBcc: x@y.test"},
		"name far too long": {Name: strings.Repeat("A", 101)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := mail.NewTemplates(mail.TemplateOptions{Brand: b}); err == nil {
				t.Errorf("NewTemplates accepted brand %+v", b)
			}
		})
	}
}

func TestTemplateOverrides(t *testing.T) {
	write := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	t.Run("replaces a template", func(t *testing.T) {
		dir := write(t, map[string]string{
			"verify-email.txt": `{{define "subject"}}Welcome to {{.Brand.Name}}{{end}}{{define "content"}}Hi {{.User.Email}}, click {{.Link}} ({{duration .ExpiresIn}}){{end}}`,
			".hidden":          "ignored",
		})
		tm, err := mail.NewTemplates(mail.TemplateOptions{Brand: web.Brand{Name: "Acme"}, TemplatesDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		m, err := tm.Render(mail.KindVerifyEmail, "fr", mail.Data{User: mail.User{Email: "a@x.test"}, Link: testLink, ExpiresIn: 2 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != "Welcome to Acme" || !strings.HasPrefix(m.Text, "Hi a@x.test, click "+testLink+" (2 heures)") {
			t.Errorf("override not used: %q\n%s", m.Subject, m.Text)
		}
		// The other templates are still the embedded ones.
		if !strings.Contains(m.HTML, "Confirmer mon adresse e-mail") {
			t.Errorf("HTML is not the embedded French one:\n%s", m.HTML)
		}
	})
	for name, files := range map[string]map[string]string{
		"unknown file":    {"welcome.txt": "x"},
		"does not parse":  {"layout.html": "{{if}}"},
		"no subject":      {"reset-password.txt": `{{define "content"}}{{.Link}}{{end}}`},
		"drops the link":  {"verify-email.html": `{{define "content"}}<p>Hello</p>{{end}}`},
		"fails to render": {"layout.txt": `{{template "content" .}}{{.NoSuchField}}`},
		"ambiguous html":  {"layout.html": `{{if .Link}}<a href="{{end}}{{template "content" .}}`},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := mail.NewTemplates(mail.TemplateOptions{TemplatesDir: write(t, files)}); err == nil {
				t.Errorf("NewTemplates accepted the override %v", files)
			}
		})
	}
}

func BenchmarkRender(b *testing.B) {
	tm := newTemplates(b)
	d := mail.Data{User: mail.User{Email: "zoe@example.test", Name: "Zoé"}, Link: testLink, ExpiresIn: 24 * time.Hour}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tm.Render(mail.KindVerifyEmail, "fr", d); err != nil {
			b.Fatal(err)
		}
	}
}
