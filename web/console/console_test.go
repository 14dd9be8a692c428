package console

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Result(), string(body)
}

func TestHandler(t *testing.T) {
	h, err := Handler(map[string]string{"client_id": "latch-console"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/callback", "/rules/rul_1"} {
		resp, body := get(t, h, http.MethodGet, path)
		if resp.StatusCode != 200 || !strings.Contains(body, `<script type="module" src="/admin/js/app.js">`) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s: %d %q, want the page", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Fatalf("GET %s: CSP %q", path, csp)
		}
	}
	// Every script is preloaded from the page, so that the browser does not discover the
	// modules one import at a time.
	_, page := get(t, h, http.MethodGet, "/")
	scripts, _ := fs.Glob(assets, "assets/js/*.js")
	more, _ := fs.Glob(assets, "assets/js/*/*.js")
	for _, p := range append(scripts, more...) {
		link := `<link rel="modulepreload" href="/admin/` + strings.TrimPrefix(p, "assets/") + `">`
		if !strings.Contains(page, link) || strings.Index(page, link) > strings.Index(page, "</head>") {
			t.Errorf("the page does not preload %s in its head", p)
		}
	}
	if len(scripts) < 3 {
		t.Fatalf("found %d scripts", len(scripts))
	}

	resp, body := get(t, h, http.MethodGet, "/config.json")
	if resp.StatusCode != 200 || body != `{"client_id":"latch-console"}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("config.json: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp, _ := get(t, h, http.MethodGet, "/js/app.js"); resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("app.js: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, path := range []string{"/js/missing.js", "/../console.go", "/assets/index.html.bak"} {
		if resp, _ := get(t, h, http.MethodGet, path); resp.StatusCode != 404 {
			t.Fatalf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, _ := get(t, h, http.MethodDelete, "/"); resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("DELETE /: %d", resp.StatusCode)
	}
	// The ETag lets the browser revalidate instead of downloading again.
	req := httptest.NewRequest(http.MethodGet, "/js/app.js", nil)
	first, _ := get(t, h, http.MethodGet, "/js/app.js")
	req.Header.Set("If-None-Match", first.Header.Get("ETag"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("revalidation: %d, want 304", rec.Code)
	}
}
