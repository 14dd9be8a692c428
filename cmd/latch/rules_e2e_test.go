package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
)

// The compatibility corpus: rules written the way the public Auth0 rule templates are
// written, each checked end to end — signup → login → claims in the ID token and in
// /userinfo → metadata saved.

const ns = "https://example.com/"

var corpus = []struct{ name, script string }{
	{"claims-from-metadata", `function addClaims(user, context, callback) {
  user.user_metadata = user.user_metadata || {};
  context.idToken['https://example.com/plan'] = user.user_metadata.plan;
  context.accessToken['https://example.com/plan'] = user.user_metadata.plan;
  context.idToken.favorite_color = user.user_metadata.color;
  callback(null, user, context);
}`},
	{"count-logins", `function countLogins(user, context, callback) {
  user.user_metadata = user.user_metadata || {};
  user.user_metadata.logins = (user.user_metadata.logins || 0) + 1;
  auth0.users.updateUserMetadata(user.user_id, user.user_metadata)
    .then(function () {
      context.idToken['https://example.com/logins'] = user.user_metadata.logins;
      callback(null, user, context);
    })
    .catch(function (err) { callback(err); });
}`},
	{"first-login", `function (user, context, callback) {
  context.idToken['https://example.com/first_login'] = context.stats.loginsCount === 1;
  callback(null, user, context);
}`},
	{"country", `function (user, context, callback) {
  var geo = context.request.geoip || {};
  context.idToken['https://example.com/country'] = geo.country_code || 'unknown';
  callback(null, user, context);
}`},
	{"tier-from-configuration", `function (user, context, callback) {
  if (!configuration.DEFAULT_TIER) return callback(new Error('DEFAULT_TIER is not configured'));
  user.app_metadata = user.app_metadata || {};
  if (!user.app_metadata.tier) {
    user.app_metadata.tier = configuration.DEFAULT_TIER;
    auth0.users.updateAppMetadata(user.user_id, user.app_metadata)
      .then(function () { callback(null, user, context); })
      .catch(callback);
    return;
  }
  callback(null, user, context);
}`},
	{"global-cache", `function (user, context, callback) {
  global.seen = global.seen || 0;
  global.seen++;
  context.idToken['https://example.com/cache_ok'] = typeof global.seen === 'number';
  callback(null, user, context);
}`},
	{"deny-domain", `function (user, context, callback) {
  if (user.email.split('@')[1] === 'blocked.example') {
    return callback(new UnauthorizedError('Access denied for this domain.'));
  }
  callback(null, user, context);
}`},
}

// outsideAPI is the rule that calls an API through the allow-list.
const outsideAPI = `function (user, context, callback) {
  request.get({ url: '%URL%/score?email=' + encodeURIComponent(user.email), json: true }, function (err, response, body) {
    if (err) return callback(err);
    if (response.statusCode !== 200) return callback(new Error('scoring failed'));
    context.idToken['https://example.com/score'] = body.score;
    callback(null, user, context);
  });
}`

func createRule(t *testing.T, l *testLatch, mgmt, name, script string) string {
	t.Helper()
	resp, body := l.Do(t, http.MethodPost, "/api/v2/rules", mgmt, map[string]any{"name": name, "script": script})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create rule %s: %d %s", name, resp.StatusCode, body)
	}
	var r struct{ ID string }
	mustJSON(t, body, &r)
	return r.ID
}

func TestRulesCorpusEndToEnd(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"score": 42}`))
	}))
	defer api.Close()
	apiURL, _ := url.Parse(api.URL)
	l := startLatch(t, func(c *Config) {
		c.RulesAllowedHosts = apiURL.Hostname()
		c.RulesPrivateNetworks = "true"
	})
	ctx := context.Background()
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)

	if resp, body := l.Do(t, http.MethodPut, "/api/v2/rules-configs/DEFAULT_TIER", mgmt, map[string]any{"value": "gold"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("rules-config: %d %s", resp.StatusCode, body)
	}
	for _, r := range corpus {
		createRule(t, l, mgmt, r.name, r.script)
	}
	createRule(t, l, mgmt, "outside-api", strings.ReplaceAll(outsideAPI, "%URL%", api.URL))

	created := signup(t, l, clientID, "jane@example.com", "Correct-Horse-9", map[string]any{"plan": "silver", "color": "teal"})
	userID := "auth0|" + created["_id"].(string)

	provider, err := oidc.NewProvider(ctx, l.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: clientID})
	login := func(n int) (map[string]any, map[string]any, tokenResponse) {
		t.Helper()
		tr := realmLogin(t, l, clientID, secret, "jane@example.com", "Correct-Horse-9")
		idTok, err := verifier.Verify(ctx, tr.IDToken)
		if err != nil {
			t.Fatalf("login %d: ID token: %v", n, err)
		}
		var claims map[string]any
		_ = idTok.Claims(&claims)
		return claims, userinfo(t, l, tr.AccessToken), tr
	}

	claims, info, tr := login(1)
	want := map[string]any{
		ns + "plan": "silver", "favorite_color": "teal", ns + "logins": float64(1), ns + "first_login": true,
		ns + "country": "unknown", ns + "cache_ok": true, ns + "score": float64(42),
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("first login: ID token %s = %#v, want %#v", k, claims[k], v)
		}
		if info[k] != v {
			t.Errorf("first login: /userinfo %s = %#v, want %#v", k, info[k], v)
		}
	}
	if at := decodeJWTPayload(t, tr.AccessToken); at[ns+"plan"] != "silver" {
		t.Errorf("access token claim: %v", at)
	}

	claims, info, _ = login(2)
	if claims[ns+"logins"] != float64(2) || claims[ns+"first_login"] != false || info[ns+"logins"] != float64(2) {
		t.Errorf("second login: logins %v first_login %v userinfo %v", claims[ns+"logins"], claims[ns+"first_login"], info[ns+"logins"])
	}

	// What the rules saved is in the profile, next to what signup stored.
	resp, body := l.Do(t, http.MethodGet, "/api/v2/users/"+url.PathEscape(userID), mgmt, nil)
	var u struct {
		UserMetadata map[string]any `json:"user_metadata"`
		AppMetadata  map[string]any `json:"app_metadata"`
		LoginsCount  int            `json:"logins_count"`
	}
	mustJSON(t, body, &u)
	if resp.StatusCode != 200 || u.UserMetadata["logins"] != float64(2) || u.UserMetadata["plan"] != "silver" ||
		u.AppMetadata["tier"] != "gold" || u.LoginsCount != 2 {
		t.Fatalf("saved profile: %s", body)
	}
	if strings.Contains(string(body), `"logins":2.0`) || !strings.Contains(string(body), `"logins":2`) {
		t.Fatalf("an integer counter must stay an integer: %s", body)
	}
}

// A denial reaches the client with the rule's message, and nothing the rules asked to save
// is saved: not the metadata, not the login.
func TestRuleDenialSavesNothing(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	createRule(t, l, mgmt, "count-logins", corpus[1].script) // runs first and asks to save
	createRule(t, l, mgmt, "deny-domain", corpus[6].script)
	created := signup(t, l, clientID, "eve@blocked.example", "Correct-Horse-9", nil)
	userID := "auth0|" + created["_id"].(string)

	resp, body := l.PostForm(t, "/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
		"client_id": {clientID}, "client_secret": {secret}, "username": {"eve@blocked.example"}, "password": {"Correct-Horse-9"},
		"scope": {"openid"},
	})
	wantOAuthError(t, resp, body, http.StatusUnauthorized, "unauthorized", "Access denied for this domain.")

	resp, body = l.Do(t, http.MethodGet, "/api/v2/users/"+url.PathEscape(userID), mgmt, nil)
	var u map[string]any
	mustJSON(t, body, &u)
	if resp.StatusCode != http.StatusOK || u["logins_count"] != float64(0) || len(u["user_metadata"].(map[string]any)) != 0 {
		t.Fatalf("a denied login saved something: %s", body)
	}
}

// A rule that fails (throws, or never calls back in time) fails the login with a
// server_error that does not leak the rule's internals, and other logins carry on.
func TestRuleFailureIsServerError(t *testing.T) {
	l := startLatch(t, func(c *Config) {
		c.RulesScriptTimeout = Duration(500_000_000)
		c.RulesTimeout = Duration(1_000_000_000)
	})
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	createRule(t, l, mgmt, "fragile", `function (user, context, callback) {
  if (user.email === 'boom@example.com') throw new Error('secret internals');
  if (user.email === 'hang@example.com') return; // never calls back
  callback(null, user, context);
}`)
	for _, email := range []string{"boom@example.com", "hang@example.com", "fine@example.com"} {
		signup(t, l, clientID, email, "Correct-Horse-9", nil)
	}
	for _, email := range []string{"boom@example.com", "hang@example.com"} {
		resp, body := l.PostForm(t, "/oauth/token", url.Values{
			"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
			"client_id": {clientID}, "client_secret": {secret}, "username": {email}, "password": {"Correct-Horse-9"},
		})
		wantOAuthError(t, resp, body, http.StatusInternalServerError, "server_error", "rule")
		if strings.Contains(string(body), "secret internals") {
			t.Fatalf("the rule's error leaked to the client: %s", body)
		}
		// The admin finds the cause in the log, under the request's id.
		id := resp.Header.Get("X-Request-Id")
		found := false
		for _, line := range strings.Split(l.Logs.String(), "\n") {
			found = found || (id != "" && strings.Contains(line, `msg="rules ran"`) && strings.Contains(line, "request_id="+id))
		}
		if !found {
			t.Fatalf("no rules log line with request id %q:\n%s", id, l.Logs.String())
		}
	}
	realmLogin(t, l, clientID, secret, "fine@example.com", "Correct-Horse-9")
	if !strings.Contains(l.Logs.String(), "secret internals") {
		t.Fatal("the rule's error is not in the log")
	}
}

// The claim policy applies to what rules set: restricted claims are dropped (and the drop is
// logged), standard claims stay scope-filtered, and more than 100 KB of custom claims fails
// the login rather than issuing a truncated token.
func TestRuleClaimPolicy(t *testing.T) {
	l := startLatch(t)
	mgmt := l.ManagementToken(t, "")
	clientID, secret := appClient(t, l, mgmt)
	createRule(t, l, mgmt, "claims", `function (user, context, callback) {
  context.idToken.sub = 'auth0|someone-else';
  context.idToken.iss = 'https://evil.example/';
  context.idToken.roles = ['admin'];
  context.idToken.email = 'spoofed@example.com';
  context.idToken.nickname = 'from-a-rule';
  context.idToken['https://example.com/ok'] = true;
  if (user.email === 'big@example.com') context.idToken['https://example.com/big'] = 'x'.repeat(150 * 1024);
  callback(null, user, context);
}`)
	created := signup(t, l, clientID, "claims@example.com", "Correct-Horse-9", nil)
	signup(t, l, clientID, "big@example.com", "Correct-Horse-9", nil)
	userID := "auth0|" + created["_id"].(string)

	resp, body := l.PostForm(t, "/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
		"client_id": {clientID}, "client_secret": {secret}, "username": {"claims@example.com"}, "password": {"Correct-Horse-9"},
		"scope": {"openid profile"}, // no email scope
	})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	var tr tokenResponse
	mustJSON(t, body, &tr)
	claims := decodeJWTPayload(t, tr.IDToken)
	if claims["sub"] != userID || claims["iss"] != l.Issuer {
		t.Fatalf("a rule overrode a protocol claim: sub %v iss %v", claims["sub"], claims["iss"])
	}
	if _, ok := claims["roles"]; ok {
		t.Fatalf("restricted claim roles was issued: %v", claims)
	}
	if _, ok := claims["email"]; ok {
		t.Fatalf("email without the email scope: %v", claims)
	}
	if claims["nickname"] != "from-a-rule" || claims["https://example.com/ok"] != true {
		t.Fatalf("allowed claims missing: %v", claims)
	}
	if logs := l.Logs.String(); !strings.Contains(logs, "rules set claims that were dropped") || !strings.Contains(logs, "id_token:roles") {
		t.Fatalf("the drop was not logged:\n%s", logs)
	}

	resp, body = l.PostForm(t, "/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
		"client_id": {clientID}, "client_secret": {secret}, "username": {"big@example.com"}, "password": {"Correct-Horse-9"},
		"scope": {"openid"},
	})
	wantOAuthError(t, resp, body, http.StatusInternalServerError, "server_error", "rule")
}
