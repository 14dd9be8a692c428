package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/storage/sqlite"
	"github.com/latchauth/latch/tokens"
)

// oauthErr decodes an OAuth error body and checks status, code and description.
func wantOAuthError(t *testing.T, resp *http.Response, body []byte, status int, code, descContains string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %s", body)
	}
	if e.Error != code || !strings.Contains(e.Description, descContains) {
		t.Fatalf("error %q %q, want %q containing %q", e.Error, e.Description, code, descContains)
	}
}

func TestTokenEndpointBadInput(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	signup(t, l, clientID, "bob@example.com", "Correct-Horse-9", nil)
	realm := "http://auth0.com/oauth/grant-type/password-realm"
	good := func() url.Values {
		return url.Values{"grant_type": {realm}, "realm": {"Username-Password-Authentication"}, "client_id": {clientID},
			"client_secret": {secret}, "username": {"bob@example.com"}, "password": {"Correct-Horse-9"}, "scope": {"openid"}}
	}
	with := func(k, v string) url.Values { f := good(); f.Set(k, v); return f }
	without := func(k string) url.Values { f := good(); f.Del(k); return f }

	cases := []struct {
		name   string
		form   url.Values
		status int
		code   string
		desc   string
	}{
		{"missing grant_type", without("grant_type"), 400, "invalid_request", "Missing required parameter: grant_type"},
		{"unsupported grant", with("grant_type", "urn:nope"), 400, "unsupported_grant_type", "urn:nope"},
		{"missing client_id", without("client_id"), 400, "invalid_request", "Missing required parameter: client_id"},
		{"unknown client", with("client_id", "nope"), 401, "access_denied", "Unauthorized"},
		{"wrong secret", with("client_secret", secret+"x"), 401, "access_denied", "Unauthorized"},
		{"missing secret", without("client_secret"), 401, "access_denied", "Unauthorized"},
		{"wrong password", with("password", "Wrong-Horse-9"), 403, "invalid_grant", "Wrong email or password."},
		{"unknown user", with("username", "nobody@example.com"), 403, "invalid_grant", "Wrong email or password."},
		{"missing username", without("username"), 400, "invalid_request", "Missing required parameter: username"},
		{"missing password", without("password"), 400, "invalid_request", "Missing required parameter: password"},
		{"missing realm", without("realm"), 400, "invalid_request", "Missing required parameter: realm"},
		{"unknown realm", with("realm", "nope"), 400, "invalid_request", "connection"},
		{"unknown audience", with("audience", "https://api.example.com/"), 403, "access_denied", "Service not found"},
		{"client_credentials for an app without the grant", url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "audience": {l.Issuer + "api/v2/"}}, 403, "unauthorized_client", "client_credentials"},
		{"client_credentials without audience", url.Values{"grant_type": {"client_credentials"}, "client_id": {l.ClientID}, "client_secret": {l.ClientSecret}}, 400, "invalid_request", "audience"},
		{"client_credentials for an API not granted", url.Values{"grant_type": {"client_credentials"}, "client_id": {l.ClientID}, "client_secret": {l.ClientSecret}, "audience": {"https://other/"}}, 403, "access_denied", "not authorized"},
		{"password grant for the M2M client", url.Values{"grant_type": {"password"}, "client_id": {l.ClientID}, "client_secret": {l.ClientSecret}, "username": {"bob@example.com"}, "password": {"Correct-Horse-9"}}, 403, "unauthorized_client", "password"},
		{"invalid UTF-8", with("username", "bob\xff@example.com"), 400, "invalid_request", "UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := l.PostForm(t, "/oauth/token", tc.form)
			wantOAuthError(t, resp, body, tc.status, tc.code, tc.desc)
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("error without Cache-Control: no-store")
			}
		})
	}

	raw := func(ct, body string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodPost, l.URL+"/oauth/token", strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		return send(t, req)
	}
	t.Run("wrong content type", func(t *testing.T) {
		resp, body := raw("text/plain", good().Encode())
		wantOAuthError(t, resp, body, 400, "invalid_request", "Content-Type")
	})
	t.Run("malformed JSON", func(t *testing.T) {
		resp, body := raw("application/json", `{"grant_type":`)
		wantOAuthError(t, resp, body, 400, "invalid_request", "JSON")
	})
	t.Run("malformed form", func(t *testing.T) {
		resp, body := raw("application/x-www-form-urlencoded", "grant_type=%zz")
		wantOAuthError(t, resp, body, 400, "invalid_request", "form")
	})
	t.Run("parameter twice", func(t *testing.T) {
		resp, body := raw("application/x-www-form-urlencoded", good().Encode()+"&username=eve@example.com")
		wantOAuthError(t, resp, body, 400, "invalid_request", "more than once")
	})
	t.Run("oversized", func(t *testing.T) {
		resp, body := raw("application/x-www-form-urlencoded", good().Encode()+"&pad="+strings.Repeat("a", 70<<10))
		wantOAuthError(t, resp, body, 400, "invalid_request", "larger")
	})
	t.Run("JSON body works", func(t *testing.T) {
		form := good()
		m := map[string]string{}
		for k := range form {
			m[k] = form.Get(k)
		}
		m["unknown_extra"] = "ignored"
		resp, body := l.Do(t, http.MethodPost, "/oauth/token", "", m)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "id_token") {
			t.Fatalf("JSON token request: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("client_secret_basic", func(t *testing.T) {
		form := without("client_secret")
		req, _ := http.NewRequest(http.MethodPost, l.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
		resp, body := send(t, req)
		if resp.StatusCode != 200 {
			t.Fatalf("basic auth: %d %s", resp.StatusCode, body)
		}
		req, _ = http.NewRequest(http.MethodPost, l.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(clientID, "wrong")
		resp, body = send(t, req)
		wantOAuthError(t, resp, body, 401, "access_denied", "Unauthorized")
	})
	t.Run("password with realm acts as password-realm", func(t *testing.T) {
		resp, body := l.PostForm(t, "/oauth/token", with("grant_type", "password"))
		if resp.StatusCode != 200 {
			t.Fatalf("password+realm: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("blocked user", func(t *testing.T) {
		signup(t, l, clientID, "blocked@example.com", "Correct-Horse-9", nil)
		resp, body := l.Do(t, http.MethodGet, "/api/v2/users-by-email?email=blocked@example.com", mgmt, nil)
		var users []map[string]any
		mustJSON(t, body, &users)
		if resp.StatusCode != 200 || len(users) != 1 {
			t.Fatalf("users-by-email: %d %s", resp.StatusCode, body)
		}
		id := users[0]["user_id"].(string)
		if resp, body := l.Do(t, http.MethodPatch, "/api/v2/users/"+url.PathEscape(id), mgmt, map[string]any{"blocked": true}); resp.StatusCode != 200 {
			t.Fatalf("block: %d %s", resp.StatusCode, body)
		}
		resp, body = l.PostForm(t, "/oauth/token", with("username", "blocked@example.com"))
		wantOAuthError(t, resp, body, 401, "unauthorized", "user is blocked")
		// A blocked user with a wrong password learns nothing more than a wrong password.
		resp, body = l.PostForm(t, "/oauth/token", func() url.Values { f := with("username", "blocked@example.com"); f.Set("password", "nope"); return f }())
		wantOAuthError(t, resp, body, 403, "invalid_grant", "Wrong email or password.")
	})
	t.Run("management token with a scope subset", func(t *testing.T) {
		tok := l.ManagementToken(t, "read:users nonexistent:scope")
		resp, body := l.Do(t, http.MethodPost, "/api/v2/users", tok, map[string]any{"connection": "Username-Password-Authentication", "email": "x@example.com", "password": "Correct-Horse-9"})
		if resp.StatusCode != 403 || !strings.Contains(string(body), `"errorCode":"insufficient_scope"`) || !strings.Contains(string(body), "create:users") {
			t.Fatalf("scope subset: %d %s", resp.StatusCode, body)
		}
		claims := decodeJWTPayload(t, tok)
		if claims["scope"] != "read:users" {
			t.Fatalf("granted scope %v, want read:users only", claims["scope"])
		}
	})
}

func TestSignupBadInput(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, _ := appClient(t, l, mgmt)
	base := func() map[string]any {
		return map[string]any{"client_id": clientID, "connection": "Username-Password-Authentication", "email": "new@example.com", "password": "Correct-Horse-9"}
	}
	with := func(k string, v any) map[string]any { m := base(); m[k] = v; return m }
	without := func(k string) map[string]any { m := base(); delete(m, k); return m }
	bigMeta := map[string]any{}
	for i := range 11 {
		bigMeta[string(rune('a'+i))] = "x"
	}
	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"missing email", without("email"), 400, "invalid_signup"},
		{"missing password", without("password"), 400, "invalid_signup"},
		{"missing connection", without("connection"), 400, "invalid_signup"},
		{"missing client_id", without("client_id"), 400, "invalid_signup"},
		{"unknown client", with("client_id", "nope"), 401, "unauthorized"},
		{"unknown connection", with("connection", "nope"), 400, "invalid_signup"},
		{"bad email", with("email", "not-an-email"), 400, "invalid_signup"},
		{"email with display name", with("email", "Eve <eve@example.com>"), 400, "invalid_signup"},
		{"weak password", with("password", "short"), 400, "invalid_password"},
		{"common password", with("password", "Password1"), 400, "password_dictionary_error"},
		{"11 metadata properties", with("user_metadata", bigMeta), 400, "invalid_signup"},
		{"non-string metadata", with("user_metadata", map[string]any{"n": 1}), 400, "invalid_signup"},
		{"long metadata value", with("user_metadata", map[string]any{"v": strings.Repeat("x", 501)}), 400, "invalid_signup"},
		{"long metadata name", with("user_metadata", map[string]any{strings.Repeat("k", 101): "v"}), 400, "invalid_signup"},
		{"dotted metadata key", with("user_metadata", map[string]any{"a.b": "v"}), 400, "invalid_signup"},
		{"dollar metadata key", with("user_metadata", map[string]any{"$where": "v"}), 400, "invalid_signup"},
		{"metadata not an object", with("user_metadata", []string{"x"}), 400, "invalid_signup"},
		{"email not a string", with("email", 42), 400, "invalid_signup"},
		{"username on a connection without usernames", with("username", "bob"), 400, "invalid_signup"},
		{"name too long", with("name", strings.Repeat("n", 151)), 400, "invalid_signup"},
		{"email too long", with("email", strings.Repeat("a", 65)+"@example.com"), 400, "invalid_signup"},
		{"bad phone", with("phone_number", "555-1234"), 400, "invalid_signup"},
		{"bad picture", with("picture", "javascript:alert(1)"), 400, "invalid_signup"},
		{"malformed JSON", `{"email":`, 400, "invalid_signup"},
		{"not an object", `["email"]`, 400, "invalid_signup"},
		{"trailing data", `{} {}`, 400, "invalid_signup"},
		{"invalid UTF-8", []byte("{\"client_id\":\"" + clientID + "\",\"connection\":\"Username-Password-Authentication\",\"email\":\"a\xff@example.com\",\"password\":\"Correct-Horse-9\"}"), 400, "invalid_signup"},
		{"oversized", with("name", strings.Repeat("n", 70<<10)), 413, "invalid_signup"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := l.Do(t, http.MethodPost, "/dbconnections/signup", "", tc.body)
			var e struct {
				Name       string `json:"name"`
				Code       string `json:"code"`
				StatusCode int    `json:"statusCode"`
			}
			mustJSON(t, body, &e)
			if resp.StatusCode != tc.status || e.Code != tc.code || e.StatusCode != tc.status || e.Name == "" {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
			// Nothing was written: the address is still free.
			resp, body = l.Do(t, http.MethodGet, "/api/v2/users-by-email?email=new@example.com", mgmt, nil)
			if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "[]" {
				t.Fatalf("a failed signup left a user behind: %s", body)
			}
		})
	}

	t.Run("weak password body", func(t *testing.T) {
		resp, body := l.Do(t, http.MethodPost, "/dbconnections/signup", "", with("password", "short"))
		var e struct {
			Name        string `json:"name"`
			Message     string `json:"message"`
			Description struct {
				Rules []struct {
					Code     string `json:"code"`
					Verified bool   `json:"verified"`
					Format   []any  `json:"format"`
				} `json:"rules"`
				Verified bool `json:"verified"`
			} `json:"description"`
			Policy string `json:"policy"`
		}
		mustJSON(t, body, &e)
		if resp.StatusCode != 400 || e.Name != "PasswordStrengthError" || e.Message != "Password is too weak" || e.Description.Verified || !strings.Contains(e.Policy, "At least 8 characters") {
			t.Fatalf("weak password body: %s", body)
		}
		if len(e.Description.Rules) == 0 || e.Description.Rules[0].Code != "lengthAtLeast" || e.Description.Rules[0].Verified {
			t.Fatalf("rules: %s", body)
		}
	})
	t.Run("wrong content type", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, l.URL+"/dbconnections/signup", strings.NewReader("email=a@b.co"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, body := send(t, req)
		if resp.StatusCode != 415 || !strings.Contains(string(body), `"code":"invalid_signup"`) {
			t.Fatalf("content type: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("duplicate, any case", func(t *testing.T) {
		signup(t, l, clientID, "dup@example.com", "Correct-Horse-9", nil)
		resp, body := l.Do(t, http.MethodPost, "/dbconnections/signup", "", with("email", "DUP@Example.com"))
		if resp.StatusCode != 400 || strings.TrimSpace(string(body)) != `{"statusCode":400,"name":"BadRequestError","code":"user_exists","description":"The user already exists."}` {
			t.Fatalf("duplicate: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("integers in metadata stay exact", func(t *testing.T) {
		out := signup(t, l, clientID, "meta@example.com", "Correct-Horse-9", map[string]any{"a": "1", "b": "ünïcødé ✓"})
		if m, _ := out["user_metadata"].(map[string]any); m["b"] != "ünïcødé ✓" {
			t.Fatalf("signup user_metadata: %v", out)
		}
	})
}

func TestUserinfoRejectsBadTokens(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	signup(t, l, clientID, "ui@example.com", "Correct-Horse-9", nil)
	tr := realmLogin(t, l, clientID, secret, "ui@example.com", "Correct-Horse-9")

	parts := strings.Split(tr.AccessToken, ".")
	payload := decodeJWTPayload(t, tr.AccessToken)
	b64 := base64.RawURLEncoding.EncodeToString
	enc := func(v any) string { d, _ := json.Marshal(v); return b64(d) }

	tampered := payload
	tampered["sub"] = "auth0|000000000000000000000000"
	algNone := enc(map[string]string{"alg": "none", "typ": "at+jwt"}) + "." + parts[1] + "."

	// HS256 signed with the server's public key, the classic key-confusion attack.
	hsWith := func(key []byte) string {
		hdr := enc(map[string]string{"alg": "HS256", "typ": "at+jwt", "kid": decodeJWTHeader(t, tr.AccessToken)["kid"].(string)})
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(hdr + "." + parts[1]))
		return hdr + "." + parts[1] + "." + b64(mac.Sum(nil))
	}
	pubDER, pubPEM := serverPublicKey(t, l)

	expired := signWithServerKey(t, l, map[string]any{
		"iss": l.Issuer, "sub": payload["sub"], "aud": l.Issuer + "userinfo", "scope": "openid",
		"iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix(),
	})

	cases := map[string]string{
		"garbage":                   "not-a-jwt",
		"tampered payload":          parts[0] + "." + enc(tampered) + "." + parts[2],
		"alg none":                  algNone,
		"HS256 with public key DER": hsWith(pubDER),
		"HS256 with public key PEM": hsWith(pubPEM),
		"ID token as access token":  tr.IDToken,
		"expired":                   expired,
		"truncated signature":       tr.AccessToken[:len(tr.AccessToken)-5],
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			resp, body := l.Do(t, http.MethodGet, "/userinfo", tok, nil)
			wantOAuthError(t, resp, body, 401, "invalid_token", "")
			if h := resp.Header.Get("WWW-Authenticate"); !strings.Contains(h, `error="invalid_token"`) {
				t.Fatalf("WWW-Authenticate = %q", h)
			}
		})
	}
	t.Run("missing token", func(t *testing.T) {
		resp, body := l.Do(t, http.MethodGet, "/userinfo", "", nil)
		wantOAuthError(t, resp, body, 401, "invalid_token", "Missing")
		if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("no WWW-Authenticate challenge")
		}
	})
	t.Run("management token is not for userinfo", func(t *testing.T) {
		resp, body := l.Do(t, http.MethodGet, "/userinfo", mgmt, nil)
		wantOAuthError(t, resp, body, 401, "invalid_token", "")
	})
	t.Run("POST with form token", func(t *testing.T) {
		resp, body := l.PostForm(t, "/userinfo", url.Values{"access_token": {tr.AccessToken}})
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"sub":"`) {
			t.Fatalf("POST /userinfo: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("token without openid", func(t *testing.T) {
		resp, body := l.PostForm(t, "/oauth/token", url.Values{
			"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
			"client_id": {clientID}, "client_secret": {secret}, "username": {"ui@example.com"}, "password": {"Correct-Horse-9"},
		})
		var tr2 tokenResponse
		mustJSON(t, body, &tr2)
		if resp.StatusCode != 200 || tr2.IDToken != "" {
			t.Fatalf("login without openid: %d %s", resp.StatusCode, body)
		}
		resp, body = l.Do(t, http.MethodGet, "/userinfo", tr2.AccessToken, nil)
		wantOAuthError(t, resp, body, 403, "insufficient_scope", "openid")
	})
}

// TestRestartKeepsEverything: users, clients, keys and the bootstrap client survive a
// restart, and tokens issued before it still verify.
func TestRestartKeepsEverything(t *testing.T) {
	l := startLatch(t, func(c *Config) { c.BootstrapClientID, c.BootstrapClientSecret = "", "" })
	out := l.Output.String()
	secretLine := ""
	for _, line := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "client_secret:"); ok {
			secretLine = strings.TrimSpace(s)
		}
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "client_id:"); ok {
			l.ClientID = strings.TrimSpace(s)
		}
	}
	if secretLine == "" || l.ClientID == "" {
		t.Fatalf("first start did not print generated bootstrap credentials:\n%s", out)
	}
	l.ClientSecret = secretLine
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	signup(t, l, clientID, "keep@example.com", "Correct-Horse-9", map[string]any{"k": "v"})
	tr := realmLogin(t, l, clientID, secret, "keep@example.com", "Correct-Horse-9")
	jwksBefore := getBody(t, l.URL+"/.well-known/jwks.json")
	kek, _ := os.ReadFile(filepath.Join(l.DataDir, "secret.key"))
	if info, err := os.Stat(filepath.Join(l.DataDir, "secret.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("generated secret.key mode: %v %v", info, err)
	}

	l.Output = &syncBuffer{}
	l.Restart()
	if strings.Contains(l.Output.String(), secretLine) || !strings.Contains(l.Output.String(), l.ClientID) {
		t.Fatalf("restart re-printed the secret or lost the client:\n%s", l.Output.String())
	}
	kekAfter, _ := os.ReadFile(filepath.Join(l.DataDir, "secret.key"))
	if string(kek) != string(kekAfter) {
		t.Fatal("restart changed the key-encryption key")
	}
	if got := getBody(t, l.URL+"/.well-known/jwks.json"); got != jwksBefore {
		t.Fatalf("JWKS changed across restart:\n%s\n%s", jwksBefore, got)
	}
	if info := userinfo(t, l, tr.AccessToken); info["email"] != "keep@example.com" {
		t.Fatalf("old access token after restart: %v", info)
	}
	provider, err := oidcProvider(t, l)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Verifier(&oidcConfig{ClientID: clientID}).Verify(context.Background(), tr.IDToken); err != nil {
		t.Fatalf("old ID token after restart: %v", err)
	}
	// The same bootstrap secret and app client still work; the user is still there.
	mgmt = l.ManagementToken(t, "")
	realmLogin(t, l, clientID, secret, "keep@example.com", "Correct-Horse-9")
	resp, body := l.Do(t, http.MethodGet, "/api/v2/users-by-email?email=keep@example.com", mgmt, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"user_metadata":{"k":"v"}`) {
		t.Fatalf("user after restart: %d %s", resp.StatusCode, body)
	}
}

func TestHealthAndDiscovery(t *testing.T) {
	l := startLatch(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, body := l.Do(t, http.MethodGet, p, "", nil); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
	resp, body := l.Do(t, http.MethodGet, "/.well-known/openid-configuration", "", nil)
	var d map[string]any
	mustJSON(t, body, &d)
	if resp.StatusCode != 200 || d["issuer"] != l.Issuer || d["jwks_uri"] != l.Issuer+".well-known/jwks.json" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("discovery: %s", body)
	}
	var jwks jose.JSONWebKeySet
	mustJSON(t, []byte(getBody(t, l.URL+"/.well-known/jwks.json")), &jwks)
	if len(jwks.Keys) != 2 || jwks.Keys[0].Algorithm != "RS256" || jwks.Keys[0].Use != "sig" || jwks.Keys[0].KeyID == "" || len(jwks.Keys[0].Certificates) != 1 {
		t.Fatalf("jwks: %+v", jwks)
	}
	if jwks.Keys[0].IsPublic() == false {
		t.Fatal("JWKS publishes a private key")
	}
	resp, body = l.Do(t, http.MethodGet, "/no/such/route", "", nil)
	wantOAuthError(t, resp, body, 404, "not_found", "Not Found")
}

func getBody(t *testing.T, u string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	resp, body := send(t, req)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	return string(body)
}

func decodeJWTPart(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	data, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("decode JWT part: %v", err)
	}
	var m map[string]any
	mustJSON(t, data, &m)
	return m
}

func decodeJWTPayload(t *testing.T, tok string) map[string]any { return decodeJWTPart(t, tok, 1) }
func decodeJWTHeader(t *testing.T, tok string) map[string]any  { return decodeJWTPart(t, tok, 0) }

// serverPublicKey returns the signing key's public part as PKIX DER and PEM.
func serverPublicKey(t *testing.T, l *testLatch) (der, pemBytes []byte) {
	t.Helper()
	var jwks jose.JSONWebKeySet
	mustJSON(t, []byte(getBody(t, l.URL+"/.well-known/jwks.json")), &jwks)
	der, err := x509.MarshalPKIXPublicKey(jwks.Keys[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	return der, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// signWithServerKey signs an access token with latch's own key (see signWithServerIssuer),
// to make tokens the server would never issue (e.g. expired ones).
func signWithServerKey(t *testing.T, l *testLatch, claims map[string]any) string {
	t.Helper()
	return signWithServerIssuer(t, l, func(i *tokens.Issuer) (string, error) { return i.SignAccessToken(claims) })
}

// signWithServerIssuer signs with latch's own key, read from its data dir the way latch
// reads it. latch holds the store exclusively, so it is stopped meanwhile and started again.
func signWithServerIssuer(t *testing.T, l *testLatch, sign func(*tokens.Issuer) (string, error)) string {
	t.Helper()
	l.Stop()
	defer l.Restart()
	kekText, err := os.ReadFile(filepath.Join(l.DataDir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	kek, err := tokens.ParseKEK(strings.TrimSpace(string(kekText)))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(filepath.Join(l.DataDir, "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sealer, _ := tokens.NewSealer(kek)
	keys := tokens.NewKeySet(store, sealer)
	if err := keys.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	tok, err := sign(tokens.NewIssuer(l.Issuer, keys))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
