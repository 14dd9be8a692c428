// Package browsertest drives a real, headless Chromium from Go tests, through chromedp, and
// serves the test single-page app of testdata/spa: a real app on Auth0's SDK
// @auth0/auth0-spa-js, to log in to latch in the browser as a customer's app would.
//
// It is for tests only: import it from _test.go files, never from the server's code.
//
// The browser is Debian's Chromium (/usr/bin/chromium, or $LATCH_TEST_CHROMIUM), never one that
// chromedp or a tool downloads. When it is missing, New skips the test, or fails it under
// CI=true (scripts/test.sh installs it). The SPA needs its npm dependencies in
// testdata/spa/node_modules (scripts/test.sh runs npm ci); ServeSPA skips or fails likewise.
//
// A test reads like this:
//
//	b := browsertest.New(t)
//	origin := browsertest.ServeSPA(t, browsertest.SPAConfig{Domain: latchURL, ClientID: id})
//	b.Navigate(origin)
//	b.WaitSPA(browsertest.SPAReady)
//	b.SPALogin(nil)                      // to latch's login page
//	b.Fill("#email", "ann@example.com")  // latch's form: selectors are latch's own
//	b.Fill("#password", "…")
//	b.Click("button[type=submit]")
//	b.WaitSPA(browsertest.SPAAuthenticated)
//	claims := b.SPAClaims()
//	b.Screenshot("logged-in")
//	b.AssertNoConsoleErrors()
//
// Every action is bounded by the browser's timeout (DefaultTimeout), and a helper that fails
// calls t.Fatalf. When the test has failed, the cleanup takes a screenshot named "failure" and
// logs the page's URL, its navigations and its console. A Browser belongs to the goroutine of
// its test: do not use one from several goroutines.
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// DefaultTimeout bounds each action of a Browser (and each wait), so that a hang fails the test
// rather than the whole suite's -timeout.
const DefaultTimeout = 30 * time.Second

// startTimeout bounds the start of Chromium.
const startTimeout = 60 * time.Second

// DefaultChromium is where Debian's chromium package puts its launcher.
const DefaultChromium = "/usr/bin/chromium"

// Browser is one headless Chromium with one tab, for one test. Make it with New.
type Browser struct {
	t       testing.TB
	ctx     context.Context // the tab's chromedp context
	timeout time.Duration

	mu          sync.Mutex
	closed      bool // set by the cleanup: chromedp's goroutines may not log to t after it
	console     []ConsoleMessage
	navigations []string
}

// ConsoleMessage is one message of the page's console: a call of the console API, an uncaught
// exception (or unhandled promise rejection), or an entry of the browser's log (a failed
// request, a blocked cookie, ...).
type ConsoleMessage struct {
	// Level is "error", "warning", "info", "log" or "debug"; "exception" for an uncaught
	// exception. A failed console.assert is an "error".
	Level string
	// Source is "console" for the console API, "exception", or the browser log's source, e.g.
	// "network", "security", "javascript".
	Source string
	Text   string
	// URL and Line (0-based) tell where it came from, when known.
	URL  string
	Line int64
}

// IsError reports whether the message is an error or an uncaught exception.
func (m ConsoleMessage) IsError() bool {
	return m.Level == "error" || m.Level == "exception"
}

func (m ConsoleMessage) String() string {
	s := m.Level + " (" + m.Source + "): " + m.Text
	if m.URL != "" {
		s += fmt.Sprintf(" [%s:%d]", m.URL, m.Line+1)
	}
	return s
}

// Option changes how New starts the browser.
type Option func(*options)

type options struct {
	timeout       time.Duration
	width, height int
	flags         map[string]any
}

// WithTimeout sets the bound of each action and wait (DefaultTimeout by default).
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// WithWindowSize sets the size of the browser's window (1280x900 by default). SetViewport
// changes the viewport of a running browser.
func WithWindowSize(width, height int) Option {
	return func(o *options) { o.width, o.height = width, height }
}

// WithFlag adds a Chromium command-line flag (value true for a bare --name, false to drop a
// default one, or a string for --name=value).
func WithFlag(name string, value any) Option {
	return func(o *options) { o.flags[name] = value }
}

// skipOrFail skips the test, or fails it under CI=true, where nothing may be skipped.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// chromiumPath finds Debian's Chromium: $LATCH_TEST_CHROMIUM, /usr/bin/chromium, or chromium on
// the PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("LATCH_TEST_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("LATCH_TEST_CHROMIUM=%s: %w", p, err)
		}
		return p, nil
	}
	if _, err := os.Stat(DefaultChromium); err == nil {
		return DefaultChromium, nil
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		return "", fmt.Errorf("no %s and no chromium on the PATH (Debian package chromium; scripts/test.sh installs it)", DefaultChromium)
	}
	return p, nil
}

// New starts a headless Chromium with a fresh profile for the test, and stops it when the test
// ends. Without Chromium it skips the test, or fails it under CI=true.
func New(t testing.TB, opts ...Option) *Browser {
	t.Helper()
	path, err := chromiumPath()
	if err != nil {
		skipOrFail(t, "browsertest: %v", err)
	}
	o := options{timeout: DefaultTimeout, width: 1280, height: 900, flags: map[string]any{}}
	for _, opt := range opts {
		opt(&o)
	}

	// chromedp's defaults (headless, no first run, no background networking, ...), then the
	// flags this machine needs, spelled out. chromedp adds a fresh temporary --user-data-dir,
	// removed (after killing any leftover child process) when the browser stops.
	alloc := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// latch's dev TLS uses a self-signed certificate.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(o.width, o.height),
	)
	for name, value := range o.flags {
		alloc = append(alloc, chromedp.Flag(name, value))
	}
	var output lockedBuffer // Chromium's stdout and stderr, shown when it fails to start
	alloc = append(alloc, chromedp.CombinedOutput(&output))

	b := &Browser{t: t, timeout: o.timeout}
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), alloc...)
	ctx, cancel := chromedp.NewContext(allocCtx,
		chromedp.WithListener(b.onEvent),
		chromedp.WithLogf(b.logf),
		chromedp.WithErrorf(b.logf),
	)
	b.ctx = ctx
	stop := func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		cancel()
		allocCancel()
	}

	// The first action starts the browser and ties it to ctx, so it runs without a timeout of
	// its own (see chromedp's docs): bound it from outside.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case err = <-started:
	case <-timer.C:
		stop()
		<-started
		err = fmt.Errorf("no answer in %s", startTimeout)
	}
	if err != nil {
		stop()
		t.Fatalf("browsertest: starting %s: %v\nits output:\n%s", path, err, output.String())
	}

	t.Cleanup(func() {
		if t.Failed() {
			b.dumpForFailure()
		}
		stop()
	})
	return b
}

// logf is chromedp's logger: to the test's log while the test runs.
func (b *Browser) logf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.t.Logf("chromedp: "+format, args...)
	}
}

// onEvent runs in the tab's event loop, in the order of the events: it must be quick and must
// not send commands.
func (b *Browser) onEvent(ev any) {
	var m ConsoleMessage
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		level := string(ev.Type)
		if ev.Type == runtime.ConsoleAPICalledTypeAssert {
			level = "error"
		}
		m = ConsoleMessage{Level: level, Source: "console", Text: consoleArgs(ev.Args)}
		if st := ev.StackTrace; st != nil && len(st.CallFrames) > 0 {
			m.URL, m.Line = st.CallFrames[0].URL, st.CallFrames[0].LineNumber
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		if d == nil {
			return
		}
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			desc, _, _ := strings.Cut(d.Exception.Description, "\n    at ")
			text += " " + desc
		}
		m = ConsoleMessage{Level: "exception", Source: "exception", Text: text, URL: d.URL, Line: d.LineNumber}
	case *log.EventEntryAdded:
		e := ev.Entry
		if e == nil {
			return
		}
		level := string(e.Level)
		if e.Level == log.EntryLevelVerbose {
			level = "debug"
		}
		m = ConsoleMessage{Level: level, Source: string(e.Source), Text: e.Text, URL: e.URL, Line: e.LineNumber}
	case *page.EventFrameNavigated:
		if ev.Frame != nil && ev.Frame.ParentID == "" {
			b.mu.Lock()
			b.navigations = append(b.navigations, ev.Frame.URL)
			b.mu.Unlock()
		}
		return
	default:
		return
	}
	b.mu.Lock()
	b.console = append(b.console, m)
	b.mu.Unlock()
}

// consoleArgs renders the arguments of a console call about as DevTools shows them.
func consoleArgs(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		var s string
		switch {
		case len(a.Value) > 0:
			var str string
			if json.Unmarshal(a.Value, &str) == nil {
				s = str
			} else {
				s = string(a.Value)
			}
		case a.UnserializableValue != "":
			s = string(a.UnserializableValue)
		case a.Description != "":
			s = a.Description
		default:
			s = string(a.Type)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// ConsoleMessages returns every console message of the page so far, of all levels, in order.
func (b *Browser) ConsoleMessages() []ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]ConsoleMessage(nil), b.console...)
}

// ConsoleErrors returns the console's errors and uncaught exceptions so far.
func (b *Browser) ConsoleErrors() []ConsoleMessage {
	var errs []ConsoleMessage
	for _, m := range b.ConsoleMessages() {
		if m.IsError() {
			errs = append(errs, m)
		}
	}
	return errs
}

// ClearConsole forgets the console messages so far, e.g. after a step that was expected to log
// an error.
func (b *Browser) ClearConsole() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.console = nil
}

// AssertNoConsoleErrors fails the test (without stopping it) when the console has an error or
// an uncaught exception, other than those whose text contains one of allowed.
//
// Messages arrive in order with the browser's replies, so an error that the page logged before
// the last action returned is there; one that a timer or a late request logs may not be yet:
// wait on the page's state first.
func (b *Browser) AssertNoConsoleErrors(allowed ...string) {
	b.t.Helper()
	if bad := b.unexpectedConsoleErrors(allowed...); len(bad) > 0 {
		lines := make([]string, len(bad))
		for i, m := range bad {
			lines[i] = "  " + m.String()
		}
		b.t.Errorf("browser console has %d error(s):\n%s", len(bad), strings.Join(lines, "\n"))
	}
}

// unexpectedConsoleErrors returns the console's errors whose text contains none of allowed.
func (b *Browser) unexpectedConsoleErrors(allowed ...string) []ConsoleMessage {
	var bad []ConsoleMessage
	for _, m := range b.ConsoleErrors() {
		if !slices.ContainsFunc(allowed, func(a string) bool { return strings.Contains(m.Text, a) }) {
			bad = append(bad, m)
		}
	}
	return bad
}

// Navigations returns the URLs that the tab's top frame loaded, in order (redirects that the
// server answered with 3xx are not listed; the page they led to is).
func (b *Browser) Navigations() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.navigations...)
}

// Context returns the tab's chromedp context, for what the helpers do not cover. Bound what you
// run on it: context.WithTimeout(b.Context(), b.Timeout()).
func (b *Browser) Context() context.Context { return b.ctx }

// Timeout returns the bound of each action.
func (b *Browser) Timeout() time.Duration { return b.timeout }

// Do runs chromedp actions with the browser's timeout, and fails the test on an error.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	b.do("actions", actions...)
}

func (b *Browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
}

// run runs one action with the browser's timeout and returns its value; it fails the test on an
// error.
func run[T any](b *Browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// Navigate loads url in the tab and waits for its load event.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	b.do("navigate to "+url, chromedp.Navigate(url))
}

// Reload reloads the page and waits for its load event.
func (b *Browser) Reload() {
	b.t.Helper()
	b.do("reload", chromedp.Reload())
}

// WaitVisible waits until the element of the CSS selector is visible.
func (b *Browser) WaitVisible(sel string) {
	b.t.Helper()
	b.do("wait for "+sel+" to be visible", chromedp.WaitVisible(chromedp.CSS(sel)))
}

// WaitNotPresent waits until no element matches the CSS selector.
func (b *Browser) WaitNotPresent(sel string) {
	b.t.Helper()
	b.do("wait for "+sel+" to go", chromedp.WaitNotPresent(chromedp.CSS(sel)))
}

// Fill replaces the value of the input (or textarea) of the CSS selector by typing value into it,
// key by key, as a person would. A "\n" in value presses Enter.
func (b *Browser) Fill(sel, value string) {
	b.t.Helper()
	empty := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const el = document.querySelector(%s);
			el.focus();
			el.value = '';
			el.dispatchEvent(new Event('input', {bubbles: true}));
		})()`, jsString(sel)))(ctx, t)
		return err
	})
	b.do("fill "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), empty, chromedp.SendKeys(chromedp.CSS(sel), value))
}

// Click clicks (with the mouse) the element of the CSS selector, once it is visible.
func (b *Browser) Click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// Text returns the rendered text (innerText) of the element of the CSS selector, waiting until
// it exists.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	b.do("wait for "+sel, chromedp.WaitReady(chromedp.CSS(sel)))
	var s string
	b.Eval(fmt.Sprintf(`document.querySelector(%s).innerText`, jsString(sel)), &s)
	return s
}

// Value returns the value of the form field of the CSS selector, waiting until it exists.
func (b *Browser) Value(sel string) string {
	b.t.Helper()
	b.do("wait for "+sel, chromedp.WaitReady(chromedp.CSS(sel)))
	var s string
	b.Eval(fmt.Sprintf(`document.querySelector(%s).value`, jsString(sel)), &s)
	return s
}

// Exists reports whether an element matches the CSS selector now, without waiting.
func (b *Browser) Exists(sel string) bool {
	b.t.Helper()
	var ok bool
	b.Eval(fmt.Sprintf(`document.querySelector(%s) !== null`, jsString(sel)), &ok)
	return ok
}

// Title returns the document's title.
func (b *Browser) Title() string {
	b.t.Helper()
	var s string
	b.Eval(`document.title`, &s)
	return s
}

// Eval evaluates the JavaScript expression in the page, awaits it if it is a promise, and
// decodes its JSON value into out (a pointer; nil to drop the value; undefined decodes as
// null). A thrown exception fails the test.
func (b *Browser) Eval(js string, out any) {
	b.t.Helper()
	raw := run(b, "eval "+short(js), chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if out == nil {
		return
	}
	if len(raw) == 0 {
		raw = []byte("null")
	}
	if err := json.Unmarshal(raw, out); err != nil {
		b.t.Fatalf("browser: eval %s: decoding %s into %T: %v", short(js), raw, out, err)
	}
}

// WaitFor waits until the JavaScript expression is truthy. It keeps polling across navigations
// (an expression that throws, or a page that is loading, counts as not yet), and fails the test
// after the browser's timeout.
func (b *Browser) WaitFor(js string) {
	b.t.Helper()
	b.waitFor("wait for "+short(js), fmt.Sprintf(`(() => { try { return !!(%s); } catch (e) { return false; } })()`, js), nil)
}

// WaitText waits until the rendered text of the element of the CSS selector contains substr,
// and returns that text.
func (b *Browser) WaitText(sel, substr string) string {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("wait for %s to contain %q", sel, substr),
		fmt.Sprintf(`(() => { const el = document.querySelector(%s); return el !== null && el.innerText.includes(%s); })()`,
			jsString(sel), jsString(substr)),
		func() string {
			raw, err := b.tryEval(fmt.Sprintf(`document.querySelector(%s)?.innerText ?? null`, jsString(sel)), 2*time.Second)
			if err != nil {
				return fmt.Sprintf("text of %s: %v", sel, err)
			}
			return fmt.Sprintf("text of %s: %s", sel, raw)
		})
	return b.Text(sel)
}

// WaitURL waits until the page's URL satisfies ok, and returns it.
func (b *Browser) WaitURL(what string, ok func(url string) bool) string {
	b.t.Helper()
	deadline := time.Now().Add(b.timeout)
	last, lastErr := "", error(nil)
	for {
		u, err := b.tryEval(`location.href`, time.Until(deadline))
		if err == nil {
			var s string
			if json.Unmarshal(u, &s) == nil {
				last = s
				if ok(s) {
					return s
				}
			}
		} else if !cutOff(err, deadline) {
			lastErr = err
		}
		if !b.pause(deadline) {
			b.t.Fatalf("browser: wait for URL %s: not after %s; URL: %q (last error: %v); navigations: %q",
				what, b.timeout, last, lastErr, b.Navigations())
		}
	}
}

// WaitURLPrefix waits until the page's URL starts with prefix, and returns it.
func (b *Browser) WaitURLPrefix(prefix string) string {
	b.t.Helper()
	return b.WaitURL("starting with "+prefix, func(u string) bool { return strings.HasPrefix(u, prefix) })
}

// CurrentURL returns the page's URL (waiting, within the timeout, for a loading page to have
// one).
func (b *Browser) CurrentURL() string {
	b.t.Helper()
	return b.WaitURL("of the page", func(string) bool { return true })
}

// waitFor polls the boolean expression js until it is true; detail, if set, adds to the failure
// message.
func (b *Browser) waitFor(what, js string, detail func() string) {
	b.t.Helper()
	deadline := time.Now().Add(b.timeout)
	var lastErr error
	for {
		raw, err := b.tryEval(js, time.Until(deadline))
		if err == nil && strings.TrimSpace(string(raw)) == "true" {
			return
		}
		if err != nil && !cutOff(err, deadline) {
			lastErr = err
		}
		if !b.pause(deadline) {
			msg := fmt.Sprintf("browser: %s: not after %s", what, b.timeout)
			if lastErr != nil {
				msg += fmt.Sprintf(" (last error: %v)", lastErr)
			}
			if detail != nil {
				msg += "; " + detail()
			}
			b.t.Fatal(msg)
		}
	}
}

// tryEval evaluates js once, for at most d (and 5 s), and returns its JSON value.
func (b *Browser) tryEval(js string, d time.Duration) ([]byte, error) {
	d = min(d, 5*time.Second)
	if d <= 0 {
		return nil, context.DeadlineExceeded
	}
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[[]byte](js))
}

// cutOff reports whether err is only the wait's own deadline, which says nothing of the page.
func cutOff(err error, deadline time.Time) bool {
	return errors.Is(err, context.DeadlineExceeded) && !time.Now().Before(deadline)
}

// pause waits a polling interval, and reports false when the deadline has passed.
func (b *Browser) pause(deadline time.Time) bool {
	if time.Now().After(deadline) {
		return false
	}
	t := time.NewTimer(min(50*time.Millisecond, time.Until(deadline)))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.ctx.Done():
		return false
	}
}

// Cookies returns every cookie of the browser, of all sites.
func (b *Browser) Cookies() []*network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	res, err := chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		b.t.Fatalf("browser: cookies: %v", err)
	}
	return res.Cookies
}

// CookiesFor returns the cookies that the browser would send to url.
func (b *Browser) CookiesFor(url string) []*network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		b.t.Fatalf("browser: cookies for %s: %v", url, err)
	}
	return res.Cookies
}

// Cookie returns the browser's first cookie named name, or nil.
func (b *Browser) Cookie(name string) *network.Cookie {
	b.t.Helper()
	for _, c := range b.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// SetViewport sets the page's viewport (CSS pixels), e.g. 390x844 for a phone.
func (b *Browser) SetViewport(width, height int) {
	b.t.Helper()
	b.do(fmt.Sprintf("set the viewport to %dx%d", width, height), chromedp.EmulateViewport(int64(width), int64(height)))
}

// Screenshot writes a full-page PNG of the page to
// test-output/screenshots/<TestName>/<name>.png at the repository's root (git-ignored), logs
// its path and returns it.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	png := run(b, "screenshot", chromedp.FullScreenshot(100))
	path, err := b.writeScreenshot(name, png)
	if err != nil {
		b.t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	b.t.Logf("screenshot: %s", path)
	return path
}

func (b *Browser) writeScreenshot(name string, png []byte) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "test-output", "screenshots")
	for _, part := range strings.Split(b.t.Name(), "/") {
		dir = filepath.Join(dir, safeName(part))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, safeName(name)+".png")
	return path, os.WriteFile(path, png, 0o644)
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safeName makes s a file name: letters, digits, '.', '_' and '-'.
func safeName(s string) string {
	s = strings.Trim(unsafeChars.ReplaceAllString(s, "_"), "._")
	if s == "" {
		return "_"
	}
	return s
}

// dumpForFailure records what the page looked like when the test failed: a screenshot, the URL,
// the navigations, the console.
func (b *Browser) dumpForFailure() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		b.t.Logf("browser at failure: no screenshot: %v", err)
	} else if path, err := b.writeScreenshot("failure", png); err != nil {
		b.t.Logf("browser at failure: screenshot: %v", err)
	} else {
		b.t.Logf("browser at failure: screenshot %s", path)
	}
	if u, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`)); err == nil {
		b.t.Logf("browser at failure: URL %s", u)
	}
	b.t.Logf("browser at failure: navigations %q", b.Navigations())
	for _, m := range b.ConsoleMessages() {
		b.t.Logf("browser at failure: console %s", m)
	}
}

// RepoRoot returns the repository's root: the nearest directory above the working directory
// (a package's, under go test) that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// short cuts a script for an error message.
func short(js string) string {
	js = strings.Join(strings.Fields(js), " ")
	if len(js) > 80 {
		return js[:77] + "..."
	}
	return js
}

// lockedBuffer is a bytes.Buffer safe for the writer goroutine and a reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
