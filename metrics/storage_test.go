package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// scrape is what /metrics serves now.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// expose checks that body holds every line of want, and no line holding a string of
// refuse.
func expose(t *testing.T, body string, want, refuse []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w+"\n") {
			t.Errorf("metrics lack %q:\n%s", w, grep(body, "latch_storage"))
		}
	}
	for _, r := range refuse {
		if strings.Contains(body, r) {
			t.Errorf("metrics hold %q:\n%s", r, grep(body, r))
		}
	}
}

func TestStorageCallMetrics(t *testing.T) {
	m := New()
	r, mg := m.RedisCalls(), m.MongoCalls()
	r.ObserveCall("hmget", 2*time.Millisecond, nil)
	r.ObserveCall("hmget", 3*time.Second, fmt.Errorf("dial: %w", errors.New("connection refused")))
	r.ObserveCall("evalsha", time.Millisecond, context.DeadlineExceeded)
	r.ObserveCall("evalsha", time.Millisecond, fmt.Errorf("read: %w", context.Canceled))
	r.ObserveCall("flushall", time.Millisecond, errors.New("NOPERM"))        // not in the set
	r.ObserveCall("hget\x00{id=\"x\"}", time.Millisecond, errors.New("odd")) // nor this
	mg.ObserveCall("findAndModify", 5*time.Millisecond, nil)
	mg.ObserveCall("find", time.Millisecond, errors.New("connection closed"))

	expose(t, scrape(t, m), []string{
		`latch_storage_call_duration_seconds_count{backend="redis",op="hmget"} 2`,
		`latch_storage_call_duration_seconds_bucket{backend="redis",op="hmget",le="0.0025"} 1`,
		`latch_storage_call_errors_total{backend="redis",op="hmget"} 1`,
		`latch_storage_call_duration_seconds_count{backend="redis",op="evalsha"} 2`,
		// The deadline counts, the caller's cancellation does not.
		`latch_storage_call_errors_total{backend="redis",op="evalsha"} 1`,
		`latch_storage_call_duration_seconds_count{backend="redis",op="other"} 2`,
		`latch_storage_call_errors_total{backend="redis",op="other"} 2`,
		`latch_storage_call_duration_seconds_count{backend="mongo",op="findAndModify"} 1`,
		`latch_storage_call_errors_total{backend="mongo",op="find"} 1`,
	}, []string{`op="flushall"`, `errors_total{backend="mongo",op="findAndModify"}`, `hget\`})

	var none *Metrics
	none.RedisCalls().ObserveCall("ping", time.Second, errors.New("x")) // records nothing
	none.MongoCalls().ObserveCall("find", time.Second, nil)
}

// Every command the storage backends send keeps a label of its own: none of them is
// lumped into "other". The lists are what storage/redis and storage/mongo send (their
// Observer tests see these names from a real Redis and a real FerretDB).
func TestStorageOpMetricsKnown(t *testing.T) {
	m := New()
	r, mg := m.RedisCalls(), m.MongoCalls()
	redisSends := []string{"ping", "hget", "hmget", "hgetall", "hdel", "del", "zrange", "zrem",
		"publish", "evalsha", "eval", "pipeline"}
	mongoSends := []string{"ping", "listIndexes", "createIndexes", "insert", "find", "getMore",
		"killCursors", "update", "delete", "findAndModify", "aggregate", "count"}
	for _, op := range redisSends {
		r.ObserveCall(op, time.Millisecond, nil)
	}
	for _, op := range mongoSends {
		mg.ObserveCall(op, time.Millisecond, nil)
	}
	var want []string
	for _, op := range redisSends {
		want = append(want, `latch_storage_call_duration_seconds_count{backend="redis",op="`+op+`"} 1`)
	}
	for _, op := range mongoSends {
		want = append(want, `latch_storage_call_duration_seconds_count{backend="mongo",op="`+op+`"} 1`)
	}
	expose(t, scrape(t, m), want, []string{`op="other"`})
}
