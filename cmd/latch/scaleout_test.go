package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/mongotest"
	"github.com/latchauth/latch/internal/redistest"
	"github.com/latchauth/latch/storage/mongo"
)

// twoInstances starts two latch instances on one MongoDB (embedded FerretDB, or
// $LATCH_TEST_MONGO_URI) and one Redis, as a deployment behind a load balancer runs them.
func twoInstances(t *testing.T) (a, b *testLatch) {
	t.Helper()
	mongoURI := mongotest.Start(t).URI(t)
	redisURL := redistest.NewServer(t).URL()
	kek := make([]byte, 32)
	rand.Read(kek)
	shared := func(c *Config) {
		c.Store, c.MongoURI, c.RedisURL = "mongo", mongoURI, redisURL
		c.SecretKey = base64.StdEncoding.EncodeToString(kek)
	}
	a = startLatch(t, shared)
	// Behind one load balancer, both instances are one issuer: tokens either signs verify
	// at the other. (The harness reads a latch's URL from its issuer, so B's is set back.)
	b = startLatch(t, shared, func(c *Config) { c.Issuer = a.Issuer })
	b.URL = "http://" + b.Config.Addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(b.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return a, b
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("B not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventually retries check until it returns "" or the deadline passes; it returns the last
// complaint. Change notices take a moment to cross: the deadline is generous, not a timing
// assertion.
func eventually(deadline time.Duration, check func() string) string {
	end := time.Now().Add(deadline)
	for {
		msg := check()
		if msg == "" || time.Now().After(end) {
			return msg
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTwoInstancesShareEverything(t *testing.T) {
	a, b := twoInstances(t)
	mgmtA, mgmtB := a.ManagementToken(t, ""), b.ManagementToken(t, "")
	spa := spaClient(t, a, mgmtA, nil)
	appID, appSecret := mgmtAppClient(t, b, mgmtB)
	signup(t, b, spa, "two@example.com", strongPassword, map[string]any{"plan": "gold"})

	t.Run("LoginAcrossInstances", func(t *testing.T) {
		// /authorize on A; the login form and the code exchange on B.
		verifier, challenge := pkce()
		uaA := newUserAgent(t, a)
		action, csrf := uaA.toLoginPage(t, authorizeParams(spa, challenge))
		uaB := &userAgent{l: b, client: uaA.client} // the same browser (cookies are per host, not port)
		resp, body := uaB.postForm(t, action, url.Values{"csrf": {csrf}, "username": {"two@example.com"}, "password": {strongPassword}})
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("login form on B: %d %s", resp.StatusCode, body)
		}
		back, _ := url.Parse(resp.Header.Get("Location"))
		resp, data := b.PostForm(t, "/oauth/token", url.Values{
			"grant_type": {"authorization_code"}, "client_id": {spa}, "code": {back.Query().Get("code")},
			"redirect_uri": {spaCallback}, "code_verifier": {verifier},
		})
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), "id_token") {
			t.Fatalf("code exchange on B: %d %s", resp.StatusCode, data)
		}
		// The code is spent for A too.
		resp, _ = a.PostForm(t, "/oauth/token", url.Values{
			"grant_type": {"authorization_code"}, "client_id": {spa}, "code": {back.Query().Get("code")},
			"redirect_uri": {spaCallback}, "code_verifier": {verifier},
		})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("the code replayed on A: %d, want 403", resp.StatusCode)
		}
	})

	t.Run("RuleUploadedOnAAppliesOnB", func(t *testing.T) {
		// B has run the (empty) rule pipeline already, so it caches it.
		passwordLogin(t, b, appID, appSecret, "two@example.com", strongPassword, http.StatusOK)
		mgmtJSON(t, a, http.MethodPost, "/api/v2/rules", mgmtA, map[string]any{"name": "plan-claim",
			"script": `function (user, context, callback) { context.idToken["https://example.com/plan"] = user.user_metadata.plan; callback(null, user, context); }`}, http.StatusCreated)
		start := time.Now()
		if msg := eventually(5*time.Second, func() string {
			resp, body := b.PostForm(t, "/oauth/token", url.Values{
				"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {dbConnection},
				"client_id": {appID}, "client_secret": {appSecret}, "username": {"two@example.com"}, "password": {strongPassword},
				"scope": {"openid"},
			})
			var tr struct {
				IDToken string `json:"id_token"`
			}
			mustJSON(t, body, &tr)
			if resp.StatusCode != http.StatusOK || jwtClaim(t, tr.IDToken, "https://example.com/plan") != "gold" {
				return "B's ID token has no plan claim yet"
			}
			return ""
		}); msg != "" {
			t.Fatal(msg)
		}
		t.Logf("the rule reached B %v after it was saved on A", time.Since(start).Round(time.Millisecond))
	})

	t.Run("BruteForceCountersShared", func(t *testing.T) {
		mgmtCreateUser(t, a, mgmtA, "target@example.com", nil)
		for i := range 10 {
			l := a
			if i%2 == 1 {
				l = b
			}
			passwordLogin(t, l, appID, appSecret, "target@example.com", "Wrong-Password-1", http.StatusForbidden)
		}
		passwordLogin(t, b, appID, appSecret, "target@example.com", strongPassword, http.StatusTooManyRequests)
		passwordLogin(t, a, appID, appSecret, "target@example.com", strongPassword, http.StatusTooManyRequests)
	})

	t.Run("AttackProtectionChangedOnAAppliesOnB", func(t *testing.T) {
		mgmtCreateUser(t, a, mgmtA, "settings@example.com", nil)
		// B reads (and caches) the defaults first.
		passwordLogin(t, b, appID, appSecret, "settings@example.com", "Wrong-Password-1", http.StatusForbidden)
		mgmtJSON(t, a, http.MethodPatch, "/api/v2/attack-protection/brute-force-protection", mgmtA, map[string]any{"max_attempts": 2}, http.StatusOK)
		if msg := eventually(5*time.Second, func() string {
			bf := mgmtJSON(t, b, http.MethodGet, "/api/v2/attack-protection/brute-force-protection", mgmtB, nil, http.StatusOK)
			if fmt.Sprint(bf["max_attempts"]) != "2" {
				return "B does not read the new settings"
			}
			return ""
		}); msg != "" {
			t.Fatal(msg)
		}
		// The second failure reaches B's threshold of 2: the next attempt on B is held back.
		passwordLogin(t, b, appID, appSecret, "settings@example.com", "Wrong-Password-1", http.StatusForbidden)
		if msg := eventually(5*time.Second, func() string {
			resp, _ := b.PostForm(t, "/oauth/token", url.Values{
				"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {dbConnection},
				"client_id": {appID}, "client_secret": {appSecret}, "username": {"settings@example.com"}, "password": {strongPassword},
			})
			if resp.StatusCode != http.StatusTooManyRequests {
				return fmt.Sprintf("B after two failures with max_attempts 2: %d, want 429", resp.StatusCode)
			}
			return ""
		}); msg != "" {
			t.Error(msg)
		}
	})

	t.Run("KeyRotationOnASeenByB", func(t *testing.T) {
		resp, body := a.Do(t, http.MethodPost, "/api/v2/keys/signing/rotate", mgmtA, nil)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("rotate on A: %d %s", resp.StatusCode, body)
		}
		var rotated struct{ KID string }
		mustJSON(t, body, &rotated)
		if msg := eventually(5*time.Second, func() string {
			_, jwks := b.Do(t, http.MethodGet, "/.well-known/jwks.json", "", nil)
			if !strings.Contains(string(jwks), rotated.KID) {
				return "B's JWKS lacks the key A rotated to"
			}
			return ""
		}); msg != "" {
			t.Fatal(msg)
		}
		// A token A signs with the new key is good at B's /userinfo, and B signs with it too.
		access := passwordLogin(t, a, appID, appSecret, "two@example.com", strongPassword, http.StatusOK)
		if resp, body := b.Do(t, http.MethodGet, "/userinfo", access, nil); resp.StatusCode != http.StatusOK {
			resp2, body2 := a.Do(t, http.MethodGet, "/userinfo", access, nil)
			t.Errorf("/userinfo on B with A's token (kid %s, rotated to %s) after the rotation: %d %s; on A: %d %s", jwtHeaderKID(t, access), rotated.KID, resp.StatusCode, body, resp2.StatusCode, body2)
		}
		if msg := eventually(5*time.Second, func() string {
			access := passwordLogin(t, b, appID, appSecret, "two@example.com", strongPassword, http.StatusOK)
			if kid := jwtHeaderKID(t, access); kid != rotated.KID {
				return "B still signs with " + kid
			}
			return ""
		}); msg != "" {
			t.Error(msg)
		}
	})

	t.Run("RefreshReuseDetectedAcrossInstances", func(t *testing.T) {
		verifier, challenge := pkce()
		back := newUserAgent(t, a).login(t, authorizeParams(spa, challenge), "two@example.com", strongPassword)
		resp, body := a.PostForm(t, "/oauth/token", url.Values{
			"grant_type": {"authorization_code"}, "client_id": {spa}, "code": {back.Query().Get("code")},
			"redirect_uri": {spaCallback}, "code_verifier": {verifier},
		})
		var tr struct {
			RefreshToken string `json:"refresh_token"`
		}
		mustJSON(t, body, &tr)
		if resp.StatusCode != http.StatusOK || tr.RefreshToken == "" {
			t.Fatalf("exchange: %d %s", resp.StatusCode, body)
		}
		refresh := func(l *testLatch, rt string) (int, string) {
			resp, body := l.PostForm(t, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {spa}, "refresh_token": {rt}})
			var out struct {
				RefreshToken string `json:"refresh_token"`
			}
			_ = jsonUnmarshal(body, &out)
			return resp.StatusCode, out.RefreshToken
		}
		code, next := refresh(a, tr.RefreshToken)
		if code != http.StatusOK || next == "" {
			t.Fatalf("rotation on A: %d", code)
		}
		// The old token, replayed on B (past any leeway), revokes the family everywhere.
		if code, _ := refresh(b, tr.RefreshToken); code != http.StatusForbidden {
			t.Fatalf("reuse on B: %d, want 403", code)
		}
		if code, _ := refresh(a, next); code != http.StatusForbidden {
			t.Errorf("the family's newest token on A after reuse on B: %d, want 403", code)
		}
	})
}

// jwtHeaderKID reads the kid of a JWT's header without verifying it.
func jwtHeaderKID(t *testing.T, jwt string) string {
	t.Helper()
	head, _, _ := strings.Cut(jwt, ".")
	data, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("JWT header: %v", err)
	}
	var h struct{ Kid string }
	mustJSON(t, data, &h)
	return h.Kid
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// Instances started at the same moment on one empty store all come up: one creates the
// bootstrap client, the others find it.
func TestInstancesStartingTogether(t *testing.T) {
	mongoURI := mongotest.Start(t).URI(t)
	// The collections and indexes exist first: FerretDB v1 breaks under concurrent index
	// creation (MongoDB does not), and what is under test is the bootstrap's race.
	pre, err := mongo.Open(t.Context(), mongoURI, mongo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// FerretDB has been seen to stall a disconnect under load: do not wait for it long.
	closed := make(chan struct{})
	go func() { pre.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Log("closing the first connection took over 10 s; going on")
	}
	kek := make([]byte, 32)
	rand.Read(kek)
	type instance struct {
		url  string
		errc chan error
	}
	var all []instance
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg := defaults()
		cfg.Addr, cfg.DataDir, cfg.BcryptCost = ln.Addr().String(), t.TempDir(), testBcryptCost
		cfg.Issuer = "http://" + cfg.Addr + "/"
		cfg.BootstrapClientID, cfg.BootstrapClientSecret = "bootstrap-client", "bootstrap-secret-0123456789abcdef0123456789"
		cfg.Store, cfg.MongoURI, cfg.SecretKey = "mongo", mongoURI, base64.StdEncoding.EncodeToString(kek)
		if problems := cfg.finish(); len(problems) > 0 {
			t.Fatal(problems)
		}
		ctx, cancel := context.WithCancel(context.Background())
		in := instance{url: "http://" + cfg.Addr, errc: make(chan error, 1)}
		go func() { in.errc <- serve(ctx, cfg, ln, io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
		t.Cleanup(func() { cancel(); <-in.errc })
		all = append(all, in)
	}
	for i, in := range all {
		deadline := time.Now().Add(30 * time.Second)
		for {
			select {
			case err := <-in.errc:
				in.errc <- err // for the cleanup
				t.Fatalf("instance %d stopped while starting: %v", i, err)
			default:
			}
			resp, err := http.Get(in.url + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %d not ready", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if tok := processTokenFor(t, in.url, "bootstrap-client", "bootstrap-secret-0123456789abcdef0123456789"); tok == "" {
			t.Errorf("instance %d gave no Management API token", i)
		}
	}
}
