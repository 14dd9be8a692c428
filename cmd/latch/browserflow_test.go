package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// spaCallback is the callback URL of the test SPA clients.
const spaCallback = "http://127.0.0.1:3000/callback"

// spaClient creates a public single-page-app client (PKCE, refresh tokens) whose callback,
// web origin and logout URL are on 127.0.0.1:3000.
func spaClient(t testing.TB, l *testLatch, mgmtToken string, extra map[string]any) string {
	t.Helper()
	body := map[string]any{
		"name": "test spa", "app_type": "spa",
		"callbacks":           []string{spaCallback},
		"web_origins":         []string{"http://127.0.0.1:3000"},
		"allowed_logout_urls": []string{"http://127.0.0.1:3000/bye"},
	}
	for k, v := range extra {
		body[k] = v
	}
	resp, data := l.Do(t, http.MethodPost, "/api/v2/clients", mgmtToken, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create spa client: %d %s", resp.StatusCode, data)
	}
	var c struct {
		ClientID string `json:"client_id"`
	}
	mustJSON(t, data, &c)
	return c.ClientID
}

// userAgent is a browser without JavaScript: it keeps cookies and does not follow
// redirects, so that tests see every hop.
type userAgent struct {
	l      *testLatch
	client *http.Client
}

func newUserAgent(t testing.TB, l *testLatch) *userAgent {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &userAgent{l: l, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (ua *userAgent) do(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := ua.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(data)
}

// get fetches a URL, absolute or relative to latch.
func (ua *userAgent) get(t testing.TB, target string) (*http.Response, string) {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		target = ua.l.URL + target
	}
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ua.do(t, req)
}

func (ua *userAgent) postForm(t testing.TB, target string, form url.Values) (*http.Response, string) {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		target = ua.l.URL + target
	}
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return ua.do(t, req)
}

// authorize sends GET /authorize with params.
func (ua *userAgent) authorize(t testing.TB, params url.Values) (*http.Response, string) {
	t.Helper()
	return ua.get(t, "/authorize?"+params.Encode())
}

// toLoginPage follows /authorize's redirect to the login page and returns the page and
// its form's action and CSRF token.
func (ua *userAgent) toLoginPage(t testing.TB, params url.Values) (action, csrf string) {
	t.Helper()
	resp, body := ua.authorize(t, params)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d, want 302 to the login page: %s", resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/u/login?state=") && !strings.HasPrefix(loc, "/u/signup?state=") {
		t.Fatalf("authorize redirected to %q, want the login page", loc)
	}
	resp, body = ua.get(t, loc)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login page: %d %s", resp.StatusCode, body)
	}
	return formAction(t, body), formCSRF(t, body)
}

// login runs the whole interactive login and returns the redirect to the client.
func (ua *userAgent) login(t testing.TB, params url.Values, email, pw string) *url.URL {
	t.Helper()
	action, csrf := ua.toLoginPage(t, params)
	resp, body := ua.postForm(t, action, url.Values{"csrf": {csrf}, "username": {email}, "password": {pw}})
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login form: %d, want 302 to the client: %s", resp.StatusCode, body)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var (
	csrfInput  = regexp.MustCompile(`<input[^>]*name="csrf"[^>]*>`)
	valueAttr  = regexp.MustCompile(`value="([^"]*)"`)
	formTag    = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	errorBlock = regexp.MustCompile(`role="alert"[^>]*>([^<]*)`)
)

func formCSRF(t testing.TB, page string) string {
	t.Helper()
	tag := csrfInput.FindString(page)
	m := valueAttr.FindStringSubmatch(tag)
	if m == nil || m[1] == "" {
		t.Fatalf("no CSRF field in the page:\n%s", page)
	}
	return html.UnescapeString(m[1])
}

func formAction(t testing.TB, page string) string {
	t.Helper()
	m := formTag.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in the page:\n%s", page)
	}
	return html.UnescapeString(m[1])
}

// pkce returns a verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = "verifier-" + strings.Repeat("x", 40) + randomSuffix()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

var suffixCounter int

func randomSuffix() string {
	suffixCounter++
	return strings.Repeat("y", suffixCounter%5)
}

// authorizeParams are a code-flow request of the SPA client.
func authorizeParams(clientID, challenge string) url.Values {
	return url.Values{
		"client_id": {clientID}, "redirect_uri": {spaCallback}, "response_type": {"code"},
		"scope": {"openid profile email offline_access"}, "state": {"st-123"}, "nonce": {"n-456"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
