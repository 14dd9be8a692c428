package sandbox

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/rules"
)

// A realistic post-login pipeline of five rules, as Auth0 tenants write them.
var benchPipeline = []rules.Script{
	rule("rul_email_verified", `function emailVerified(user, context, callback) {
  if (!user.email_verified) {
    return callback(new UnauthorizedError('Please verify your email before logging in.'));
  }
  callback(null, user, context);
}`),
	rule("rul_domain", `function allowDomain(user, context, callback) {
  var domain = user.email.split('@')[1];
  if (configuration.ALLOWED_DOMAIN && domain !== configuration.ALLOWED_DOMAIN) {
    return callback(new UnauthorizedError('Access denied.'));
  }
  callback(null, user, context);
}`),
	rule("rul_roles", `function addRoles(user, context, callback) {
  var namespace = 'https://acme.example.com/';
  var roles = (user.app_metadata && user.app_metadata.roles) || [];
  context.idToken[namespace + 'roles'] = roles;
  context.accessToken[namespace + 'roles'] = roles;
  context.idToken[namespace + 'plan'] = user.app_metadata.plan;
  callback(null, user, context);
}`),
	rule("rul_counter", `function countLogins(user, context, callback) {
  user.app_metadata = user.app_metadata || {};
  user.app_metadata.counter = (user.app_metadata.counter || 0) + 1;
  user.user_metadata.last_client = context.clientName;
  callback(null, user, context);
}`),
	rule("rul_context", `function enrich(user, context, callback) {
  var ns = 'https://acme.example.com/';
  context.idToken[ns + 'logins'] = context.stats ? context.stats.loginsCount : 0;
  context.idToken[ns + 'client'] = context.clientID;
  context.idToken[ns + 'ip'] = context.request.ip;
  if (context.request.query && context.request.query.prompt === 'none') {
    context.idToken[ns + 'silent'] = true;
  }
  console.log('login of', user.user_id, 'from', context.request.ip);
  callback(null, user, context);
}`),
}

// BenchmarkPoolRun runs the five-rule pipeline at concurrency 2 through a pool of two
// workers, and through the in-process engine for comparison: the difference is the cost of
// the process boundary (encoding, two pipe writes, decoding).
func BenchmarkPoolRun(b *testing.B) {
	req := loginRequest(benchPipeline...)
	req.Limits = rules.DefaultLimits()
	check := func(b *testing.B, resp rules.Response, err error) {
		if err != nil || resp.Outcome != rules.OutcomeOK {
			b.Fatalf("run: %+v %+v, %v", resp, resp.Error, err)
		}
	}
	runConcurrently := func(b *testing.B, r rules.Runner) {
		// Warm the compile caches (each worker's).
		for range 4 {
			resp, err := r.Run(context.Background(), req)
			check(b, resp, err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		var wg sync.WaitGroup
		var next sync.Mutex
		n := 0
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					next.Lock()
					if n >= b.N {
						next.Unlock()
						return
					}
					n++
					next.Unlock()
					resp, err := r.Run(context.Background(), req)
					if err != nil || resp.Outcome != rules.OutcomeOK {
						b.Errorf("run: %+v %+v, %v", resp, resp.Error, err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b.Run("pool", func(b *testing.B) {
		runConcurrently(b, newEnginePool(b, PoolOptions{Workers: 2, Logger: quiet}))
	})
	b.Run("in-process", func(b *testing.B) {
		runConcurrently(b, rules.NewEngine(rules.EngineOptions{Logger: quiet}))
	})
	b.Run("round-trip", func(b *testing.B) {
		// The bare cost of the process boundary, sequential: the same request (login data,
		// five scripts' sources) to a fake worker that answers at once.
		p, err := NewPool(PoolOptions{Workers: 1, Logger: quiet, test: map[string]string{"mode": "fake"}})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		fake := req
		fake.Scripts = append([]rules.Script{{ID: "rul_fake", Kind: rules.KindRule, Source: "ok"}}, req.Scripts...)
		b.ReportAllocs()
		b.ResetTimer()
		lat := make([]time.Duration, 0, b.N)
		for range b.N {
			start := time.Now()
			resp, err := p.Run(context.Background(), fake)
			lat = append(lat, time.Since(start))
			check(b, resp, err)
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	})
}
