package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetricsExposed(t *testing.T) {
	m := New()
	m.Request("/userinfo", "GET", 200, 3*time.Millisecond)
	m.Request("/userinfo", "GET", 401, time.Millisecond)
	m.Login("ok")
	m.Signup("user_exists")
	m.Rule("add-claims", "ok", 80*time.Microsecond)
	m.Rule("add-claims", "timeout", 5*time.Second)
	m.Pipeline("post-login", "ok", 200*time.Microsecond)
	m.EventsWritten(3)
	m.EventsDropped("queue_full", 2)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`latch_http_request_duration_seconds_count{code="2xx",method="GET",route="/userinfo"} 1`,
		`latch_http_request_duration_seconds_count{code="4xx",method="GET",route="/userinfo"} 1`,
		`latch_logins_total{outcome="ok"} 1`,
		`latch_signups_total{outcome="user_exists"} 1`,
		`latch_rule_executions_total{outcome="timeout",rule="add-claims"} 1`,
		`latch_rule_duration_seconds_count{rule="add-claims"} 2`,
		`latch_rules_pipeline_duration_seconds_count{outcome="ok",trigger="post-login"} 1`,
		`latch_events_written_total 3`,
		`latch_events_dropped_total{reason="queue_full"} 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	var m *Metrics
	m.Request("/x", "GET", 200, time.Second)
	m.Login("ok")
	m.Signup("ok")
	m.Rule("r", "ok", time.Second)
	m.Pipeline("post-login", "ok", time.Second)
	m.EventsWritten(1)
	m.EventsDropped("queue_full", 1)
}
