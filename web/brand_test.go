package web

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBrandColoursValidated(t *testing.T) {
	for _, bad := range []string{"red", "#12", "#1234", "#12345", "#1234567", "#ggg", "1d4ed8", "#1d4ed8;}", "rgb(0,0,0)",
		"#fff; background: url(x)", "#fff\n#000"} {
		if _, err := New(Options{Brand: Brand{PrimaryColor: bad}}); err == nil {
			t.Errorf("PrimaryColor %q accepted", bad)
		}
		if _, err := New(Options{Brand: Brand{BackgroundColor: bad}}); err == nil {
			t.Errorf("BackgroundColor %q accepted", bad)
		}
	}
	// Every problem is reported, not only the first.
	_, err := New(Options{Brand: Brand{PrimaryColor: "blue", BackgroundColor: "#12", LogoURL: "http://x/logo.png",
		CustomCSSFile: filepath.Join(t.TempDir(), "missing.css")}})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"PrimaryColor", "BackgroundColor", "LogoURL", "CustomCSSFile"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	// Good values, the short form included, are accepted and normalized.
	p := newPages(t, Options{Brand: Brand{PrimaryColor: "#A0F", BackgroundColor: "#00FF00"}})
	if p.brand.PrimaryColor != "#aa00ff" || p.brand.BackgroundColor != "#00ff00" || p.brand.Name != "latch" {
		t.Errorf("brand %+v", p.brand)
	}
}

func TestLogoURLValidated(t *testing.T) {
	for _, bad := range []string{"http://cdn.example.com/logo.png", "javascript:alert(1)", "data:image/png;base64,xx",
		"//cdn.example.com/logo.png", "logo.png", "/u/assets/../admin", "/u/assets//x.png", "https://", "https://user:pw@cdn.example.com/l.png"} {
		if _, err := New(Options{Brand: Brand{LogoURL: bad}}); err == nil {
			t.Errorf("LogoURL %q accepted", bad)
		}
	}
	for _, good := range []string{"https://cdn.example.com/logo.png?v=2", "/u/assets/logo.svg"} {
		if _, err := New(Options{Brand: Brand{LogoURL: good}}); err != nil {
			t.Errorf("LogoURL %q: %v", good, err)
		}
	}
}

func TestBrandShown(t *testing.T) {
	p := newPages(t, Options{Brand: Brand{Name: "Acme <Corp>", LogoURL: "https://cdn.example.com/logo.png"}})
	var b bytes.Buffer
	if err := p.Login(&b, LoginView{}); err != nil {
		t.Fatal(err)
	}
	d := parseHTML(t, b.Bytes())
	if title := text(d.tag("title")[0]); title != "Log in | Acme <Corp>" {
		t.Errorf("title %q", title)
	}
	imgs := d.tag("img")
	if len(imgs) != 1 {
		t.Fatalf("%d images", len(imgs))
	}
	if src, _ := attr(imgs[0], "src"); src != "https://cdn.example.com/logo.png" {
		t.Errorf("logo src %q", src)
	}
	if alt, _ := attr(imgs[0], "alt"); alt != "Acme <Corp>" {
		t.Errorf("logo alt %q", alt)
	}
	// Without a logo the header shows the name.
	p = newPages(t, Options{Brand: Brand{Name: "Acme"}})
	b.Reset()
	if err := p.Error(&b, ErrorView{}); err != nil {
		t.Fatal(err)
	}
	d = parseHTML(t, b.Bytes())
	if len(d.tag("img")) != 0 || len(d.tag("header")) != 1 || strings.TrimSpace(text(d.tag("header")[0])) != "Acme" {
		t.Errorf("header %q", text(d.tag("header")[0]))
	}
}

// TestDefaultContrast: the default colours reach WCAG AA (4.5:1 for text, 3:1 for borders)
// on the white card, and so does the text computed for any brand colour.
func TestDefaultContrast(t *testing.T) {
	for name, c := range map[string]string{"primary": DefaultPrimaryColor, "text": colorText, "muted": colorMuted,
		"error": colorError, "success": colorSuccess} {
		if r := contrast(c, colorSurface); r < 4.5 {
			t.Errorf("%s %s on white: %.2f:1", name, c, r)
		}
	}
	if r := contrast(textOn(DefaultPrimaryColor), DefaultPrimaryColor); r < 4.5 {
		t.Errorf("button text: %.2f:1", r)
	}
	if r := contrast(colorText, DefaultBackgroundColor); r < 4.5 {
		t.Errorf("text on the default background: %.2f:1", r)
	}
	if r := contrast(colorBorder, colorSurface); r < 3 {
		t.Errorf("border: %.2f:1", r)
	}
	// The known values of the formula.
	if r := contrast("#000", "#fff"); r < 20.99 || r > 21.01 {
		t.Errorf("black on white: %.3f", r)
	}
	if r := contrast("#777777", "#ffffff"); r < 4.47 || r > 4.49 {
		t.Errorf("#777 on white: %.3f (want 4.48)", r)
	}
	// Whatever the brand colour, its button text reaches 4.5:1.
	for r := 0; r < 256; r += 15 {
		for g := 0; g < 256; g += 15 {
			for b := 0; b < 256; b += 15 {
				c := fmt.Sprintf("#%02x%02x%02x", r, g, b)
				if x := contrast(textOn(c), c); x < 4.5 {
					t.Fatalf("text on %s: %.2f:1", c, x)
				}
			}
		}
	}
}

// TestBrandCSS: a light primary colour still gives readable links (the text colour instead).
func TestBrandCSS(t *testing.T) {
	css := string(brandCSS(Brand{PrimaryColor: "#ffee00", BackgroundColor: "#000000"}))
	for _, want := range []string{"--latch-primary: #ffee00;", "--latch-on-primary: #000000;", "--latch-link: " + colorText + ";",
		"--latch-background: #000000;", "--latch-on-background: #ffffff;"} {
		if !strings.Contains(css, want) {
			t.Errorf("brand.css lacks %q:\n%s", want, css)
		}
	}
	css = string(brandCSS(Brand{PrimaryColor: DefaultPrimaryColor, BackgroundColor: DefaultBackgroundColor}))
	for _, want := range []string{"--latch-link: " + DefaultPrimaryColor + ";", "--latch-on-primary: #ffffff;"} {
		if !strings.Contains(css, want) {
			t.Errorf("brand.css lacks %q:\n%s", want, css)
		}
	}
}

func get(t *testing.T, h http.Handler, method, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAssets(t *testing.T) {
	dir := t.TempDir()
	custom := filepath.Join(dir, "acme.css")
	if err := os.WriteFile(custom, []byte(".card { border-radius: 0 }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newPages(t, Options{Brand: Brand{PrimaryColor: "#123456", BackgroundColor: "#abcdef", CustomCSSFile: custom}})
	h := http.StripPrefix("/u/assets", p.Assets())

	for path, ct := range map[string]string{
		"/u/assets/latch.css":      "text/css; charset=utf-8",
		"/u/assets/brand.css":      "text/css; charset=utf-8",
		"/u/assets/custom.css":     "text/css; charset=utf-8",
		"/u/assets/policy.js":      "text/javascript; charset=utf-8",
		"/u/assets/form_post.js":   "text/javascript; charset=utf-8",
		"/u/assets/web_message.js": "text/javascript; charset=utf-8",
	} {
		rec := get(t, h, "GET", path)
		if rec.Code != 200 {
			t.Errorf("%s: %d", path, rec.Code)
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != ct {
			t.Errorf("%s: Content-Type %q, want %q", path, got, ct)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", path, got)
		}
		if got := rec.Header().Get("Cache-Control"); got == "" {
			t.Errorf("%s: no Cache-Control", path)
		}
		if rec.Body.Len() == 0 {
			t.Errorf("%s: empty", path)
		}
	}
	brand := get(t, h, "GET", "/u/assets/brand.css").Body.String()
	if !strings.Contains(brand, "--latch-primary: #123456;") || !strings.Contains(brand, "--latch-background: #abcdef;") {
		t.Errorf("brand.css:\n%s", brand)
	}
	if got := get(t, h, "GET", "/u/assets/custom.css").Body.String(); got != ".card { border-radius: 0 }\n" {
		t.Errorf("custom.css %q", got)
	}

	for _, path := range []string{"/u/assets/", "/u/assets/nope.js", "/u/assets/../web.go", "/u/assets/../../go.mod",
		"/u/assets/%2e%2e/web.go", "/u/assets/..%2fweb.go", "/u/assets/static/latch.css", "/u/assets//latch.css",
		"/u/assets/./latch.css", "/u/assets/LATCH.CSS", "/u/assets/locales/en.json", "/u/assets/templates/login.html"} {
		rec := get(t, h, "GET", path)
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, rec.Code)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: 404 without nosniff", path)
		}
	}
	if rec := get(t, h, "POST", "/u/assets/latch.css"); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	if rec := get(t, h, "HEAD", "/u/assets/latch.css"); rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("HEAD: %d, %d bytes", rec.Code, rec.Body.Len())
	}

	// Without a custom CSS file there is no custom.css, and no page links it.
	plain := newPages(t, Options{})
	if rec := get(t, http.StripPrefix("/u/assets", plain.Assets()), "GET", "/u/assets/custom.css"); rec.Code != 404 {
		t.Errorf("custom.css without CustomCSSFile: %d", rec.Code)
	}
	var b bytes.Buffer
	if err := plain.Login(&b, LoginView{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "custom.css") {
		t.Error("custom.css linked without CustomCSSFile")
	}
}

// TestAssetURLsServed: every asset a page links is served, with the long cache for its version
// and revalidation by ETag.
func TestAssetURLsServed(t *testing.T) {
	dir := t.TempDir()
	custom := filepath.Join(dir, "c.css")
	if err := os.WriteFile(custom, []byte("h1{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newPages(t, Options{Brand: Brand{CustomCSSFile: custom}})
	h := http.StripPrefix("/u/assets", p.Assets())
	seen := map[string]bool{}
	forEachPage(t, p, func(t *testing.T, pg page, locale string, d doc) {
		for _, n := range append(d.tag("script"), d.tag("link")...) {
			u, ok := attr(n, "src")
			if !ok {
				u, ok = attr(n, "href")
			}
			if !ok {
				continue
			}
			seen[strings.SplitN(u, "?", 2)[0]] = true
			rec := get(t, h, "GET", u)
			if rec.Code != 200 {
				t.Errorf("%s: %d", u, rec.Code)
				continue
			}
			if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("%s: Cache-Control %q", u, got)
			}
			etag := rec.Header().Get("ETag")
			if rec := get(t, h, "GET", u, "If-None-Match", etag); rec.Code != http.StatusNotModified {
				t.Errorf("%s with If-None-Match %s: %d", u, etag, rec.Code)
			}
		}
	})
	for _, want := range []string{"/u/assets/latch.css", "/u/assets/brand.css", "/u/assets/custom.css",
		"/u/assets/policy.js", "/u/assets/form_post.js", "/u/assets/web_message.js"} {
		if !seen[want] {
			t.Errorf("no page links %s", want)
		}
	}
	// A stale or missing version must be revalidated.
	if got := get(t, h, "GET", "/u/assets/latch.css?v=old").Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("stale version: Cache-Control %q", got)
	}
}

// TestStaticFiles checks what the styles and scripts promise: visible focus, reduced motion,
// no string-to-code or HTML-writing APIs in the scripts.
func TestStaticFiles(t *testing.T) {
	css := readStatic(t, "latch.css")
	for _, want := range []string{":focus-visible", "prefers-reduced-motion: reduce", "var(--latch-focus)", "max-width"} {
		if !strings.Contains(css, want) {
			t.Errorf("latch.css lacks %q", want)
		}
	}
	for _, name := range []string{"policy.js", "form_post.js", "web_message.js"} {
		js := readStatic(t, name)
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function(", "setTimeout('", ", '*')"} {
			if strings.Contains(js, bad) {
				t.Errorf("%s uses %s", name, bad)
			}
		}
	}
	if js := readStatic(t, "web_message.js"); !strings.Contains(js, "window.opener || window.parent") ||
		!strings.Contains(js, "type: 'authorization_response'") || !strings.Contains(js, "data.targetOrigin)") {
		t.Error("web_message.js does not post the authorization response to the opener or parent for the target origin")
	}
}

func readStatic(t *testing.T, name string) string {
	t.Helper()
	f, err := staticFS.Open("static/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("login.html", `{{define "title"}}Custom{{end}}{{define "content"}}<h1>Custom {{t "login.heading"}}</h1><p>{{.Email}}</p>{{end}}`)
	write(".DS_Store", "ignored")
	p := newPages(t, Options{TemplatesDir: dir})
	var b bytes.Buffer
	if err := p.Login(&b, LoginView{Common: Common{"fr"}, Email: "<x>"}); err != nil {
		t.Fatal(err)
	}
	d := parseHTML(t, b.Bytes())
	if h1 := text(d.tag("h1")[0]); h1 != "Custom Bienvenue" {
		t.Errorf("override h1 %q", h1)
	}
	if !strings.Contains(b.String(), "<p>&lt;x&gt;</p>") {
		t.Errorf("override not escaped: %s", b.String())
	}
	if title := text(d.tag("title")[0]); title != "Custom | latch" {
		t.Errorf("title %q: the layout should still wrap the override", title)
	}
	// The other pages are untouched.
	b.Reset()
	if err := p.Signup(&b, SignupView{}); err != nil {
		t.Fatal(err)
	}
	if h1 := text(parseHTML(t, b.Bytes()).tag("h1")[0]); h1 != "Create your account" {
		t.Errorf("signup h1 %q", h1)
	}

	// The layout can be overridden too.
	write("layout.html", `<!DOCTYPE html><html lang="{{locale}}"><head><title>T</title></head><body><main>{{block "content" .}}{{end}}</main><footer>Acme footer</footer></body></html>`)
	p = newPages(t, Options{TemplatesDir: dir})
	b.Reset()
	if err := p.Error(&b, ErrorView{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Acme footer") {
		t.Errorf("layout override not used: %s", b.String())
	}

	// A file that names no template is an error, and so is a broken override.
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "logon.html"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{TemplatesDir: bad}); err == nil || !strings.Contains(err.Error(), "logon.html") {
		t.Errorf("unknown override: %v", err)
	}
	for name, body := range map[string]string{
		"signup.html":     `{{define "content"}}{{if}}{{end}}`,                 // parse error
		"error.html":      `{{define "content"}}{{nosuchfunc}}{{end}}`,         // unknown function
		"logged_out.html": `{{define "content"}}<a href="{{.ReturnTo}}{{end}}`, // unfinished attribute: escaping fails
		"form_post.html":  `{{define "content"}}{{asset "nope.js"}}{{end}}`,    // fails when executed
	} {
		broken := t.TempDir()
		if err := os.WriteFile(filepath.Join(broken, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := New(Options{TemplatesDir: broken})
		if err == nil || !strings.Contains(err.Error(), filepath.Join(broken, name)) {
			t.Errorf("broken %s: %v (want an error naming the file)", name, err)
		}
	}
	if _, err := New(Options{TemplatesDir: filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing TemplatesDir accepted")
	}
}
