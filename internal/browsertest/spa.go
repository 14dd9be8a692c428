package browsertest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The states of the test SPA, in #status and window.spaState.
const (
	SPALoading       = "loading"       // the SDK client is being created
	SPACallback      = "callback"      // handleRedirectCallback is running
	SPAReady         = "ready"         // the client is ready, nobody is logged in
	SPAAuthenticated = "authenticated" // the client has a user (after the callback, or a silent login)
	SPARedirecting   = "redirecting"   // login() or logout() is leaving the page
	SPAError         = "error"         // start-up, the callback, login() or logout() failed: see #error
)

// bundlePath is the SDK's browser bundle (UMD, global `auth0`) inside the SPA's directory.
const bundlePath = "node_modules/@auth0/auth0-spa-js/dist/auth0-spa-js.production.js"

// SPAConfig is how the test SPA creates its SDK client:
//
//	createAuth0Client({domain: Domain, clientId: ClientID,
//	    authorizationParams: {redirect_uri: origin + "/", audience: Audience, scope: Scope, ...AuthorizationParams},
//	    useRefreshTokens: UseRefreshTokens, cacheLocation: CacheLocation, ...Options})
//
// Empty fields are left out, so the SDK's defaults apply.
type SPAConfig struct {
	// Domain is latch's base URL with its scheme, e.g. "http://127.0.0.1:PORT": the SDK keeps an
	// explicit scheme (and adds https:// only to a bare host). The SDK then expects the ID token's
	// iss to be Domain + "/".
	Domain   string
	ClientID string
	// Audience, when set, is the authorizationParams.audience of every request.
	Audience string
	// Scope, when set, is the authorizationParams.scope (the SDK adds openid, and offline_access
	// with UseRefreshTokens; its default is "openid profile email").
	Scope string
	// UseRefreshTokens makes getTokenSilently use the refresh-token grant rather than the
	// silent-authentication iframe.
	UseRefreshTokens         bool
	UseRefreshTokensFallback bool
	// CacheLocation is "memory" (the SDK's default) or "localstorage".
	CacheLocation string
	// AuthorizationParams are more authorizationParams, e.g. {"connection": "..."}.
	AuthorizationParams map[string]string
	// AuthorizeTimeoutSeconds bounds the silent-authentication iframe: 10 when zero (the SDK's
	// own default is 60, longer than a Browser's action timeout).
	AuthorizeTimeoutSeconds int
	// Options are more top-level options of createAuth0Client, set last (e.g. "leeway",
	// "useCookiesForTransactions").
	Options map[string]any
}

// clientOptions returns the options of createAuth0Client for an app at origin.
func (c SPAConfig) clientOptions(origin string) map[string]any {
	params := map[string]any{"redirect_uri": origin + "/"}
	if c.Audience != "" {
		params["audience"] = c.Audience
	}
	if c.Scope != "" {
		params["scope"] = c.Scope
	}
	for k, v := range c.AuthorizationParams {
		params[k] = v
	}
	timeout := c.AuthorizeTimeoutSeconds
	if timeout == 0 {
		timeout = 10
	}
	opts := map[string]any{
		"domain":                    c.Domain,
		"clientId":                  c.ClientID,
		"authorizationParams":       params,
		"useRefreshTokens":          c.UseRefreshTokens,
		"authorizeTimeoutInSeconds": timeout,
		"useRefreshTokensFallback":  c.UseRefreshTokensFallback,
	}
	if c.CacheLocation != "" {
		opts["cacheLocation"] = c.CacheLocation
	}
	maps.Copy(opts, c.Options)
	return opts
}

// SPA is the test SPA served over http (or https) on 127.0.0.1, on a port of its own: the same host as
// latch in the tests, so the two are same-site, and latch's SameSite=Lax session cookie reaches
// the SDK's silent-authentication iframe.
type SPA struct {
	// Origin is "http://127.0.0.1:PORT" (https with StartSPATLS); the app's redirect_uri (and logout's returnTo) is
	// Origin + "/".
	Origin string

	dir string
	mu  sync.Mutex
	cfg *SPAConfig
}

// ServeSPA serves the test SPA of testdata/spa with cfg until the test ends, and returns its
// origin, e.g. "http://127.0.0.1:41234". Without the SDK in testdata/spa/node_modules it skips
// the test, or fails it under CI=true.
func ServeSPA(t testing.TB, cfg SPAConfig) string {
	t.Helper()
	s := StartSPA(t)
	s.Configure(cfg)
	return s.Origin
}

// ServeSPATLS is ServeSPA over https (a self-signed certificate, which the Browser accepts), for
// a latch that serves https: Chromium's SameSite rules count the scheme, so an http SPA is not
// same-site with an https latch.
func ServeSPATLS(t testing.TB, cfg SPAConfig) string {
	t.Helper()
	s := StartSPATLS(t)
	s.Configure(cfg)
	return s.Origin
}

// StartSPA serves the test SPA over http until the test ends, with no configuration yet: for a
// test that needs the SPA's origin (to register it as the client's callback URL, say) before it
// knows the client's ID. Configure it before the browser loads it.
func StartSPA(t testing.TB) *SPA {
	t.Helper()
	return startSPA(t, false)
}

// StartSPATLS is StartSPA over https.
func StartSPATLS(t testing.TB) *SPA {
	t.Helper()
	return startSPA(t, true)
}

func startSPA(t testing.TB, useTLS bool) *SPA {
	t.Helper()
	dir, err := SPADir()
	if err != nil {
		skipOrFail(t, "browsertest: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("browsertest: SPA: listen: %v", err)
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	s := &SPA{Origin: scheme + "://" + ln.Addr().String(), dir: dir}
	srv := httptest.NewUnstartedServer(s)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ReadHeaderTimeout = 10 * time.Second
	if useTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return s
}

// Configure sets (or changes) the configuration that the app gets on its next load.
func (s *SPA) Configure(cfg SPAConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg = &cfg
}

// RedirectURI is the app's redirect_uri: Origin + "/".
func (s *SPA) RedirectURI() string { return s.Origin + "/" }

// ServeHTTP serves index.html (at "/", with any query: the callback), app.js, the generated
// config.js and the SDK's bundle; nothing else.
func (s *SPA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/", "/index.html":
		s.serveFile(w, r, "index.html", "text/html; charset=utf-8")
	case "/app.js":
		s.serveFile(w, r, "app.js", "text/javascript; charset=utf-8")
	case "/auth0-spa-js.production.js":
		s.serveFile(w, r, bundlePath, "text/javascript; charset=utf-8")
	case "/auth0-spa-js.production.js.map":
		s.serveFile(w, r, bundlePath+".map", "application/json")
	case "/config.js":
		s.mu.Lock()
		cfg := s.cfg
		s.mu.Unlock()
		var body any // null until Configure: the app then reports that it has no configuration
		if cfg != nil {
			body = map[string]any{"auth0": cfg.clientOptions(s.Origin), "sdkVersion": s.sdkVersion()}
		}
		js, err := json.MarshalIndent(body, "", "  ")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		fmt.Fprintf(w, "window.LATCH_SPA_CONFIG = %s;\n", js)
	default:
		http.NotFound(w, r)
	}
}

func (s *SPA) serveFile(w http.ResponseWriter, r *http.Request, name, contentType string) {
	data, err := os.ReadFile(filepath.Join(s.dir, filepath.FromSlash(name)))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(data)
}

// sdkVersion returns the version of the SDK in node_modules, "" if unknown.
func (s *SPA) sdkVersion() string {
	data, err := os.ReadFile(filepath.Join(s.dir, "node_modules", "@auth0", "auth0-spa-js", "package.json"))
	if err != nil {
		return ""
	}
	var pkg struct {
		Version string `json:"version"`
	}
	_ = json.Unmarshal(data, &pkg)
	return pkg.Version
}

// SPADir returns the test SPA's directory ($LATCH_TEST_SPA_DIR, or testdata/spa at the
// repository's root), once it holds the SDK's bundle.
func SPADir() (string, error) {
	dir := os.Getenv("LATCH_TEST_SPA_DIR")
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "testdata", "spa")
	}
	if _, err := os.Stat(filepath.Join(dir, "app.js")); err != nil {
		return "", fmt.Errorf("no test SPA in %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(bundlePath))); err != nil {
		return "", fmt.Errorf("the test SPA has no SDK bundle (%w): run scripts/test.sh, or (cd %s && npm ci --ignore-scripts)", err, dir)
	}
	return dir, nil
}

// SilentResult is what the SPA's silent() returns: the tokens of getTokenSilently, or its error.
type SilentResult struct {
	OK               bool   `json:"ok"`
	AccessToken      string `json:"access_token"`
	IDToken          string `json:"id_token"`
	ExpiresIn        int64  `json:"expires_in"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// SPAFailure is the last error that the SPA showed in #error.
type SPAFailure struct {
	Action           string `json:"action"` // init, callback, refresh, login, claims, user, silent, logout
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func (f *SPAFailure) String() string {
	if f == nil {
		return "none"
	}
	return fmt.Sprintf("%s: %s: %s", f.Action, f.Error, f.ErrorDescription)
}

// SPAState returns the SPA's state (#status) now, "" when the page is not the SPA.
func (b *Browser) SPAState() string {
	b.t.Helper()
	var s string
	b.Eval(`typeof window.spaState === 'string' ? window.spaState : ''`, &s)
	return s
}

// SPALastError returns the error that the SPA shows in #error, or nil.
func (b *Browser) SPALastError() *SPAFailure {
	b.t.Helper()
	var f *SPAFailure
	b.Eval(`window.lastError ?? null`, &f)
	return f
}

// WaitSPA waits until the page is the SPA in one of states (SPAReady, SPAAuthenticated, ...)
// and returns that state. Reaching SPAError, when not among states, fails the test at once with
// the SPA's error. It keeps waiting across navigations (to latch's pages and back).
func (b *Browser) WaitSPA(states ...string) string {
	b.t.Helper()
	want, _ := json.Marshal(states)
	deadline := time.Now().Add(b.timeout)
	last := ""
	for {
		raw, err := b.tryEval(`(() => {
			if (typeof window.spaState !== 'string') return null;
			return {state: window.spaState, error: window.lastError ?? null};
		})()`, time.Until(deadline))
		if err == nil {
			var st *struct {
				State string      `json:"state"`
				Error *SPAFailure `json:"error"`
			}
			if json.Unmarshal(raw, &st) == nil && st != nil {
				last = st.State
				for _, s := range states {
					if s == st.State {
						return s
					}
				}
				if st.State == SPAError {
					b.t.Fatalf("browser: wait for the SPA to be %s: it failed: %s", want, st.Error)
				}
			}
		}
		if !b.pause(deadline) {
			url, _ := b.tryEval(`location.href`, 2*time.Second)
			b.t.Fatalf("browser: wait for the SPA to be %s: not after %s; its state: %q; page: %s",
				want, b.timeout, last, url)
		}
	}
}

// SPALogin starts the SPA's login(params) (loginWithRedirect; e.g. {"screen_hint": "signup"})
// and returns without waiting: the page then leaves for latch's /authorize.
func (b *Browser) SPALogin(params map[string]string) {
	b.t.Helper()
	b.WaitFor(`typeof window.login === 'function'`)
	p, _ := json.Marshal(params)
	b.Eval(fmt.Sprintf(`void window.login(%s)`, p), nil)
}

// SPALogout starts the SPA's logout(), back to the SPA's "/", and returns without waiting.
func (b *Browser) SPALogout() {
	b.t.Helper()
	b.WaitFor(`typeof window.logout === 'function'`)
	b.Eval(`void window.logout()`, nil)
}

// SPAClaims returns the SPA's getIdTokenClaims() (nil when nobody is logged in). The raw ID
// token is in "__raw".
func (b *Browser) SPAClaims() map[string]any {
	b.t.Helper()
	var c map[string]any
	b.Eval(`window.claims()`, &c)
	return c
}

// SPAUser returns the SPA's getUser() (nil when nobody is logged in).
func (b *Browser) SPAUser() map[string]any {
	b.t.Helper()
	var u map[string]any
	b.Eval(`window.user()`, &u)
	return u
}

// SPASilent runs the SPA's silent(params): getTokenSilently({cacheMode: 'off'}), through the
// silent-authentication iframe or the refresh token, and returns the tokens or the error.
func (b *Browser) SPASilent(params map[string]string) SilentResult {
	b.t.Helper()
	p := []byte("undefined")
	if params != nil {
		p, _ = json.Marshal(params)
	}
	var r SilentResult
	b.Eval(fmt.Sprintf(`window.silent(%s)`, p), &r)
	return r
}
