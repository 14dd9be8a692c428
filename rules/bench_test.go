package rules

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

// Five typical rules: the shapes that fill real tenants' pipelines.
var pipeline5 = []Script{
	{ID: "rul_claims", Name: "Copy metadata to claims", Kind: KindRule, Version: "1", Source: `function addClaims(user, context, callback) {
  var namespace = 'https://example.com/';
  user.user_metadata = user.user_metadata || {};
  context.idToken[namespace + 'plan'] = user.user_metadata.plan;
  context.idToken[namespace + 'locale'] = user.user_metadata.locale || 'en';
  context.accessToken[namespace + 'plan'] = user.user_metadata.plan;
  callback(null, user, context);
}`},
	{ID: "rul_count", Name: "Count logins", Kind: KindRule, Version: "1", Source: `function countLogins(user, context, callback) {
  user.user_metadata = user.user_metadata || {};
  user.user_metadata.login_count = (user.user_metadata.login_count || 0) + 1;
  auth0.users.updateUserMetadata(user.user_id, user.user_metadata)
    .then(function () { callback(null, user, context); })
    .catch(function (err) { callback(err); });
}`},
	{ID: "rul_domain", Name: "Deny by email domain", Kind: KindRule, Version: "1", Source: `function denyDomains(user, context, callback) {
  var blocked = ['evil.example', 'spam.example'];
  var domain = (user.email || '').split('@')[1];
  if (blocked.indexOf(domain) !== -1) {
    return callback(new UnauthorizedError('Access denied.'));
  }
  callback(null, user, context);
}`},
	{ID: "rul_config", Name: "Read configuration", Kind: KindRule, Version: "1", Source: `function readConfig(user, context, callback) {
  if (!configuration.API_AUDIENCE) {
    console.log('Missing configuration. Skipping.');
    return callback(null, user, context);
  }
  context.accessToken['https://example.com/aud'] = configuration.API_AUDIENCE;
  callback(null, user, context);
}`},
	{ID: "rul_geo", Name: "Add country", Kind: KindRule, Version: "1", Source: `function addCountry(user, context, callback) {
  if (context.request.geoip) {
    context.idToken['https://example.com/country'] = context.request.geoip.country_name;
    context.idToken['https://example.com/timezone'] = context.request.geoip.time_zone;
  }
  callback(null, user, context);
}`},
}

func benchRequest() Request {
	created := time.Date(2024, 3, 15, 15, 56, 44, 577e6, time.UTC)
	return Request{
		Trigger: TriggerPostLogin,
		Scripts: pipeline5,
		User: storage.User{
			ID: "auth0|507f1f77bcf86cd799439011", Connection: "Username-Password-Authentication",
			Email: "jane@example.com", EmailVerified: true, Name: "jane@example.com", Nickname: "jane",
			Picture:      "https://s.gravatar.com/avatar/x?s=480&r=pg&d=mp",
			UserMetadata: storage.Metadata{"plan": "silver", "locale": "fr", "login_count": json.Number("41")},
			AppMetadata:  storage.Metadata{"roles": []any{"admin"}},
			CreatedAt:    created, UpdatedAt: created, LastLogin: created, LastIP: "203.0.113.9", LoginsCount: 41,
		},
		Context: Context{
			Tenant: "acme", Issuer: "https://acme.example.com/", ClientID: "cl_123", ClientName: "Web",
			Connection: "Username-Password-Authentication", ConnectionID: "con_1", ConnectionStrategy: "auth0",
			Protocol: "oidc-basic-profile", Scopes: []string{"openid", "profile", "email"}, LoginsCount: 42,
			Request: HTTPRequest{IP: "203.0.113.9", UserAgent: "Mozilla/5.0", Hostname: "acme.example.com",
				Query: map[string]string{"client_id": "cl_123", "scope": "openid profile email"},
				Geoip: map[string]any{"country_code": "FR", "country_name": "France", "city_name": "Paris", "time_zone": "Europe/Paris", "latitude": 48.85, "longitude": 2.35}},
			AuthenticationMethods: []AuthenticationMethod{{Name: "pwd", Timestamp: created}},
		},
		Configuration: map[string]string{"API_AUDIENCE": "https://api.example.com"},
		Limits:        DefaultLimits(),
	}
}

// BenchmarkPipeline5 is the per-login cost of the engine: five typical rules, warm program
// cache. It reports the median (p50) and p99 wall time of the runs, and the process CPU time
// per run (GC included), which a busy machine distorts less than wall time.
func BenchmarkPipeline5(b *testing.B) {
	e := NewEngine(EngineOptions{})
	req := benchRequest()
	ctx := context.Background()
	if resp, err := e.Run(ctx, req); err != nil || resp.Outcome != OutcomeOK {
		b.Fatalf("warm-up: %v %+v", err, resp.Error)
	}
	durs := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		start := time.Now()
		resp, err := e.Run(ctx, req)
		durs = append(durs, time.Since(start))
		if err != nil || resp.Outcome != OutcomeOK {
			b.Fatalf("run: %v %+v", err, resp.Error)
		}
	}
	cpu := processCPU() - cpu0
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds()), "p99-µs")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(len(durs)), "cpu-µs/op")
	}
}

// BenchmarkCompile is the cost of a cache miss: parsing, checking and compiling one rule.
func BenchmarkCompile(b *testing.B) {
	src := pipeline5[1].Source
	for b.Loop() {
		if _, err := compileScript(KindRule, "bench", src, true); err != nil {
			b.Fatal(err)
		}
	}
}
