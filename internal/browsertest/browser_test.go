package browsertest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
)

// pages is a tiny site for the self-test: a form, a page that writes to the console's error
// level in three ways, and a clean page.
func pages() http.Handler {
	mux := http.NewServeMux()
	html := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>%s</title></head><body>%s</body></html>`,
			"self-test", body)
	}
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "abc", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		html(w, `
<form id="f" onsubmit="return false">
  <label>Name <input id="name" autocomplete="off"></label>
  <button id="go" type="button">Greet</button>
</form>
<p id="out"></p>
<a id="next" href="/clean">next</a>
<script>
  console.log('form loaded');
  document.getElementById('go').addEventListener('click', () => {
    document.getElementById('out').textContent = 'Hello, ' + document.getElementById('name').value;
  });
</script>`)
	})
	mux.HandleFunc("GET /noisy", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<p>noisy</p>
<img src="/missing.png" alt="">
<script>console.warn('just a warning'); console.error('boom', 42);</script>
<script>throw new Error('kaput');</script>`)
	})
	mux.HandleFunc("GET /clean", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<p id="clean">clean</p><script>console.info('all good');</script>`)
	})
	return mux
}

func TestBrowser(t *testing.T) {
	srv := httptest.NewServer(pages()) // on 127.0.0.1
	t.Cleanup(srv.Close)
	b := New(t)

	// A form, filled and clicked as a person would.
	b.Navigate(srv.URL + "/form")
	b.WaitVisible("#name")
	if got := b.Title(); got != "self-test" {
		t.Errorf("Title = %q", got)
	}
	b.Fill("#name", "Ann")
	b.Click("#go")
	if got := b.WaitText("#out", "Hello, Ann"); got != "Hello, Ann" {
		t.Errorf("WaitText = %q", got)
	}
	b.Fill("#name", "Bob") // Fill replaces the value
	if got := b.Value("#name"); got != "Bob" {
		t.Errorf("Value after the second Fill = %q, want Bob", got)
	}
	b.Click("#go")
	b.WaitText("#out", "Bob")
	if got := b.Text("#out"); got != "Hello, Bob" {
		t.Errorf("Text = %q, want %q", got, "Hello, Bob")
	}
	if !b.Exists("#out") || b.Exists("#nothing-here") {
		t.Error("Exists is wrong")
	}
	var sum int
	b.Eval(`Promise.resolve(20 + 22)`, &sum)
	if sum != 42 {
		t.Errorf("Eval = %d, want 42", sum)
	}

	// The cookie that the page set.
	c := b.Cookie("sid")
	if c == nil || c.Value != "abc" || !c.HTTPOnly {
		t.Errorf("Cookie(sid) = %+v", c)
	}
	if cs := b.CookiesFor(srv.URL + "/"); !slices.ContainsFunc(cs, func(c2 *network.Cookie) bool { return c2.Name == "sid" }) {
		t.Errorf("CookiesFor(%s) has no sid: %d cookies", srv.URL, len(cs))
	}

	// A full-page PNG under test-output/screenshots/<TestName>/.
	path := b.Screenshot("form filled")
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "test-output", "screenshots", "TestBrowser", "form_filled.png"); path != want {
		t.Errorf("Screenshot path = %s, want %s", path, want)
	}
	png, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot %s is not a PNG (err %v)", path, err)
	}

	// The form page logged, at level log only.
	if errs := b.ConsoleErrors(); len(errs) != 0 {
		t.Errorf("console errors on the form page: %v", errs)
	}
	if !slices.ContainsFunc(b.ConsoleMessages(), func(m ConsoleMessage) bool {
		return m.Level == "log" && m.Source == "console" && m.Text == "form loaded"
	}) {
		t.Errorf("console.log('form loaded') missing: %v", b.ConsoleMessages())
	}

	// A link to another page.
	b.Click("#next")
	if u := b.WaitURLPrefix(srv.URL + "/clean"); u != srv.URL+"/clean" {
		t.Errorf("WaitURLPrefix = %s", u)
	}
	b.WaitVisible("#clean")
	if u := b.CurrentURL(); u != srv.URL+"/clean" {
		t.Errorf("CurrentURL = %s", u)
	}

	// The viewport.
	b.SetViewport(390, 844)
	var width int
	b.Eval(`window.innerWidth`, &width)
	if width != 390 {
		t.Errorf("innerWidth after SetViewport(390, 844) = %d", width)
	}
	b.AssertNoConsoleErrors()

	// A page with a console.error, an uncaught exception and a failed request: all reported.
	b.Navigate(srv.URL + "/noisy")
	b.WaitFor(`document.readyState === 'complete'`)
	errs := b.ConsoleErrors()
	has := func(level, source, text string) bool {
		return slices.ContainsFunc(errs, func(m ConsoleMessage) bool {
			return m.Level == level && m.Source == source && strings.Contains(m.Text, text)
		})
	}
	if !has("error", "console", "boom 42") {
		t.Errorf("console.error('boom', 42) not reported: %v", errs)
	}
	if !has("exception", "exception", "kaput") {
		t.Errorf("the uncaught Error('kaput') not reported: %v", errs)
	}
	if !has("error", "network", "404") {
		t.Errorf("the image's 404 not reported: %v", errs)
	}
	if len(errs) != 3 {
		t.Errorf("%d console errors, want 3 (each once): %v", len(errs), errs)
	}
	if !slices.ContainsFunc(b.ConsoleMessages(), func(m ConsoleMessage) bool {
		return m.Level == "warning" && m.Text == "just a warning"
	}) {
		t.Errorf("console.warn missing: %v", b.ConsoleMessages())
	}
	if bad := b.unexpectedConsoleErrors(); len(bad) != 3 {
		t.Errorf("unexpectedConsoleErrors() = %v, want the 3 errors", bad)
	}
	if bad := b.unexpectedConsoleErrors("boom", "kaput", "404"); len(bad) != 0 {
		t.Errorf("unexpectedConsoleErrors(all allowed) = %v", bad)
	}
	b.AssertNoConsoleErrors("boom", "kaput", "404")

	// After ClearConsole, a clean page reports none.
	b.ClearConsole()
	b.Navigate(srv.URL + "/clean")
	b.WaitVisible("#clean")
	if errs := b.ConsoleErrors(); len(errs) != 0 {
		t.Errorf("console errors on the clean page: %v", errs)
	}
	b.AssertNoConsoleErrors()

	// The top frame's navigations, in order.
	want := []string{srv.URL + "/form", srv.URL + "/clean", srv.URL + "/noisy", srv.URL + "/clean"}
	if got := b.Navigations(); !slices.Equal(got[len(got)-len(want):], want) {
		t.Errorf("Navigations = %q, want them to end with %q", got, want)
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"form filled":   "form_filled",
		"../../etc":     "etc",
		"a/b":           "a_b",
		"ok-1.2_x":      "ok-1.2_x",
		"":              "_",
		"login (phone)": "login_phone",
	} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}
