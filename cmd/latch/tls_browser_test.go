package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTLSBrowserSecurity: under HTTPS the SSO cookie is Secure and SameSite=None (silent
// authentication from a cross-site iframe needs both) and every answer carries HSTS.
func TestTLSBrowserSecurity(t *testing.T) {
	l := startTLSLatch(t, func(c *Config) { c.TLSSelfSigned = true })
	certPEM, err := os.ReadFile(filepath.Join(l.Config.DataDir, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	c := httpsClient(roots)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	base := "https://" + l.Addr
	do := func(method, path, ctype string, body []byte, header map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp, data
	}
	form := func(v url.Values) []byte { return []byte(v.Encode()) }

	resp, body := do(http.MethodPost, "/oauth/token", "application/x-www-form-urlencoded", form(url.Values{
		"grant_type": {"client_credentials"}, "client_id": {l.Config.BootstrapClientID},
		"client_secret": {l.Config.BootstrapClientSecret}, "audience": {base + "/api/v2/"},
	}), nil)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("management token: %d %s", resp.StatusCode, body)
	}
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
		t.Fatalf("HSTS on the token endpoint = %q", hsts)
	}
	bearer := map[string]string{"Authorization": "Bearer " + tok.AccessToken}
	clientBody, _ := json.Marshal(map[string]any{"name": "tls spa", "app_type": "spa", "callbacks": []string{spaCallback}})
	resp, body = do(http.MethodPost, "/api/v2/clients", "application/json", clientBody, bearer)
	var cl struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal(body, &cl); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create client: %d %s", resp.StatusCode, body)
	}
	userBody, _ := json.Marshal(map[string]any{"client_id": cl.ClientID, "connection": "Username-Password-Authentication", "email": "tls@example.com", "password": "Secure-Cookie-1"})
	if resp, body := do(http.MethodPost, "/dbconnections/signup", "application/json", userBody, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("signup: %d %s", resp.StatusCode, body)
	}

	_, challenge := pkce()
	resp, _ = do(http.MethodGet, "/authorize?"+authorizeParams(cl.ClientID, challenge).Encode(), "", nil, nil)
	page := resp.Header.Get("Location")
	resp, body = do(http.MethodGet, page, "", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("login page over HTTPS: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	resp, body = do(http.MethodPost, formAction(t, string(body)), "application/x-www-form-urlencoded",
		form(url.Values{"csrf": {formCSRF(t, string(body))}, "username": {"tls@example.com"}, "password": {"Secure-Cookie-1"}}), nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "latch_session" {
			session = ck
		}
	}
	if session == nil || !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteNoneMode {
		t.Fatalf("session cookie under HTTPS = %+v, want Secure, HttpOnly, SameSite=None", session)
	}
}
