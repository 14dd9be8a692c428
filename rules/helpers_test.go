package rules

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

// testNow is the clock the tests' engines use.
var testNow = time.Date(2026, 11, 18, 12, 0, 0, 123e6, time.UTC)

func newTestEngine(t testing.TB) *Engine {
	t.Helper()
	return NewEngine(EngineOptions{Now: func() time.Time { return testNow }})
}

// testUser is a database user before this login.
func testUser() storage.User {
	created := time.Date(2024, 3, 15, 15, 56, 44, 577e6, time.UTC)
	return storage.User{
		ID: "auth0|507f1f77bcf86cd799439011", Connection: "Username-Password-Authentication",
		Email: "jane@example.com", EmailVerified: true, Name: "Jane Doe", Nickname: "jane",
		GivenName: "Jane", Picture: "https://example.com/jane.png",
		UserMetadata: storage.Metadata{"plan": "silver", "count": json.Number("1000000")},
		AppMetadata:  storage.Metadata{"groups": []any{"admins"}, "name": "from app_metadata"},
		CreatedAt:    created, UpdatedAt: created, LastLogin: created, LastIP: "198.51.100.1", LoginsCount: 6,
	}
}

func testContext() Context {
	return Context{
		Tenant: "acme", Issuer: "https://acme.example.com/", ClientID: "cl_web", ClientName: "Web App",
		ClientMetadata: map[string]string{"tier": "gold"},
		Connection:     "Username-Password-Authentication", ConnectionID: "con_1", ConnectionStrategy: "auth0",
		Protocol: "oidc-basic-profile", Scopes: []string{"openid", "profile"}, Audience: "https://api.example.com",
		SessionID: "sess_1", LoginsCount: 7,
		Request: HTTPRequest{IP: "203.0.113.7", UserAgent: "test-agent", Hostname: "acme.example.com", Method: "GET", Language: "fr",
			Query: map[string]string{"prompt": "login", "response_type": "code", "state": "xyz"},
			Geoip: map[string]any{"country_code": "FR", "country_name": "France", "time_zone": "Europe/Paris", "latitude": 48.85}},
		AuthenticationMethods: []AuthenticationMethod{{Name: "pwd", Timestamp: time.Date(2026, 11, 18, 11, 59, 59, 0, time.UTC)}},
	}
}

func script(kind, id, src string) Script {
	return Script{ID: id, Name: id, Kind: kind, Source: src}
}

// rulesRequest is a post-login run of the given rule sources (ids rule1, rule2...).
func rulesRequest(sources ...string) Request {
	req := Request{
		Trigger:       TriggerPostLogin,
		User:          testUser(),
		Context:       testContext(),
		Configuration: map[string]string{"API_KEY": "k-123", "DOMAIN": "example.com"},
		Limits:        Limits{Pipeline: 5 * time.Second, PerScript: 2 * time.Second, MaxConsoleBytes: 4096},
	}
	for i, src := range sources {
		req.Scripts = append(req.Scripts, script(KindRule, "rule"+string(rune('1'+i)), src))
	}
	return req
}

func runReq(t testing.TB, e *Engine, req Request) Response {
	t.Helper()
	resp, err := e.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return resp
}

// asJSON renders v for comparisons (json.Number and float64 print alike).
func asJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// sameJSON compares v with the JSON text want, ignoring formatting and key order.
func sameJSON(t testing.TB, what string, v any, want string) {
	t.Helper()
	if want == "" {
		want = "null"
	}
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation %q: %v", what, want, err)
	}
	got := asJSON(t, v)
	if asJSON(t, w) != normalize(t, got) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func normalize(t testing.TB, s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("normalize %q: %v", s, err)
	}
	return asJSON(t, v)
}

// expect is what a table case checks; empty fields are not checked.
type expect struct {
	outcome     string
	denialCode  string
	denialMsg   string
	userMessage string
	errKind     string
	errContains string
	idClaims    string // JSON
	atClaims    string // JSON
	scopes      string // JSON
	writes      string // JSON of MetadataWrites
	console     []string
}

func (w expect) check(t *testing.T, resp Response) {
	t.Helper()
	if w.outcome == "" {
		w.outcome = OutcomeOK
	}
	if resp.Outcome != w.outcome {
		t.Fatalf("outcome = %q (denial %+v, error %+v, console %q), want %q", resp.Outcome, resp.Denial, resp.Error, resp.Console, w.outcome)
	}
	if w.denialCode != "" && (resp.Denial == nil || resp.Denial.Code != w.denialCode) {
		t.Errorf("denial = %+v, want code %q", resp.Denial, w.denialCode)
	}
	if w.denialMsg != "" && (resp.Denial == nil || resp.Denial.Message != w.denialMsg) {
		t.Errorf("denial = %+v, want message %q", resp.Denial, w.denialMsg)
	}
	if w.userMessage != "" && (resp.Denial == nil || resp.Denial.UserMessage != w.userMessage) {
		t.Errorf("denial = %+v, want user message %q", resp.Denial, w.userMessage)
	}
	if w.errKind != "" && (resp.Error == nil || resp.Error.Kind != w.errKind) {
		t.Errorf("error = %+v, want kind %q", resp.Error, w.errKind)
	}
	if w.errContains != "" && (resp.Error == nil || !strings.Contains(resp.Error.Message, w.errContains)) {
		t.Errorf("error = %+v, want a message containing %q", resp.Error, w.errContains)
	}
	if w.idClaims != "" {
		sameJSON(t, "id token claims", resp.IDTokenClaims, w.idClaims)
	}
	if w.atClaims != "" {
		sameJSON(t, "access token claims", resp.AccessTokenClaims, w.atClaims)
	}
	if w.scopes != "" {
		sameJSON(t, "scopes", resp.AccessTokenScopes, w.scopes)
	}
	if w.writes != "" {
		sameJSON(t, "metadata writes", resp.MetadataWrites, w.writes)
	}
	if w.console != nil {
		if len(resp.Console) != len(w.console) {
			t.Errorf("console = %q, want %q", resp.Console, w.console)
		} else {
			for i := range w.console {
				if !strings.Contains(resp.Console[i], w.console[i]) {
					t.Errorf("console[%d] = %q, want it to contain %q", i, resp.Console[i], w.console[i])
				}
			}
		}
	}
}
