package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/latchauth/latch/internal/mongotest"
	"github.com/latchauth/latch/internal/redistest"
)

// otlpReceiver is an OpenTelemetry collector's OTLP/HTTP trace endpoint, in the test
// process: it decodes what latch exports and keeps the spans.
type otlpReceiver struct {
	URL   string
	mu    sync.Mutex
	spans []*tracepb.Span
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &otlpReceiver{URL: "http://" + ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		var export coltracepb.ExportTraceServiceRequest
		if req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" || err != nil || proto.Unmarshal(body, &export) != nil {
			t.Errorf("the collector got %s %s (%s), not an OTLP/HTTP protobuf export", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range export.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				r.spans = append(r.spans, ss.Spans...)
			}
		}
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

// trace returns the spans of one trace, by name.
func (r *otlpReceiver) trace(traceID []byte) map[string][]*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]*tracepb.Span{}
	for _, s := range r.spans {
		if string(s.TraceId) == string(traceID) {
			out[s.Name] = append(out[s.Name], s)
		}
	}
	return out
}

func spanAttr(s *tracepb.Span, key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			if v := a.Value.GetStringValue(); v != "" {
				return v
			}
			if a.Value.GetIntValue() != 0 {
				return strings.TrimSpace(a.Value.String())
			}
		}
	}
	return ""
}

// TestTraces: with otel_endpoint set, a login traced by its caller (traceparent) exports
// the request's span as the caller's child, and inside it the password hashing, the rules
// pipeline (one event per rule) and, on MongoDB and Redis, each call; nothing secret rides
// along.
func TestTraces(t *testing.T) {
	for _, store := range []string{"sqlite", "mongo+redis"} {
		t.Run(store, func(t *testing.T) {
			rec := startOTLPReceiver(t)
			l := startLatch(t, func(c *Config) {
				c.OTelEndpoint = rec.URL
				if store == "mongo+redis" {
					kek := make([]byte, 32)
					rand.Read(kek)
					c.Store, c.MongoURI, c.SecretKey = "mongo", mongotest.Start(t).URI(t), base64.StdEncoding.EncodeToString(kek)
					c.RedisURL = redistest.NewServer(t).URL()
				}
			})
			tok := l.ManagementToken(t, "")
			appID, appSecret := mgmtAppClient(t, l, tok)
			mgmtCreateUser(t, l, tok, "traced@example.com", nil)
			createRule(t, l, tok, "traced-rule", `function (user, context, callback) { callback(null, user, context); }`)

			traceID, parentID := make([]byte, 16), make([]byte, 8)
			rand.Read(traceID)
			rand.Read(parentID)
			req, _ := http.NewRequest(http.MethodPost, l.URL+"/oauth/token", strings.NewReader(url.Values{
				"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {dbConnection},
				"client_id": {appID}, "client_secret": {appSecret}, "username": {"traced@example.com"}, "password": {strongPassword},
			}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("traceparent", "00-"+hex.EncodeToString(traceID)+"-"+hex.EncodeToString(parentID)+"-01")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("traced login: %d", resp.StatusCode)
			}
			l.Stop() // flushes the exporter

			spans := rec.trace(traceID)
			root := spans["POST /oauth/token"]
			if len(root) != 1 {
				t.Fatalf("spans of the trace: %v, want one POST /oauth/token", names(spans))
			}
			server := root[0]
			if string(server.ParentSpanId) != string(parentID) || server.Kind != tracepb.Span_SPAN_KIND_SERVER {
				t.Fatalf("the request's span is not the caller's child: parent %x kind %v", server.ParentSpanId, server.Kind)
			}
			if spanAttr(server, "http.route") != "/oauth/token" || spanAttr(server, "latch.request_id") == "" {
				t.Fatalf("request span attributes: %v", server.Attributes)
			}
			for _, name := range []string{"password hashing", "rules post-login"} {
				if len(spans[name]) != 1 || string(spans[name][0].ParentSpanId) != string(server.SpanId) {
					t.Fatalf("no %q span under the request span: %v", name, names(spans))
				}
			}
			rulesSpan := spans["rules post-login"][0]
			if len(rulesSpan.Events) != 1 || spanAttr(&tracepb.Span{Attributes: rulesSpan.Events[0].Attributes}, "latch.rule.name") != "traced-rule" {
				t.Fatalf("rules span events: %v", rulesSpan.Events)
			}
			if store == "mongo+redis" {
				for _, system := range []string{"mongodb ", "redis "} {
					var calls int
					for name, ss := range spans {
						if strings.HasPrefix(name, system) {
							calls += len(ss)
							if ss[0].Kind != tracepb.Span_SPAN_KIND_CLIENT || ss[0].EndTimeUnixNano < ss[0].StartTimeUnixNano {
								t.Fatalf("%s span: kind %v", name, ss[0].Kind)
							}
						}
					}
					if calls == 0 {
						t.Fatalf("no %scall spans in the login's trace: %v", system, names(spans))
					}
				}
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			for _, s := range rec.spans {
				for _, a := range s.Attributes {
					if v := a.Value.String(); strings.Contains(v, strongPassword) || strings.Contains(v, appSecret) {
						t.Fatalf("span %q carries a secret in %s", s.Name, a.Key)
					}
				}
			}
		})
	}
}

func names(spans map[string][]*tracepb.Span) []string {
	var out []string
	for n := range spans {
		out = append(out, n)
	}
	return out
}
