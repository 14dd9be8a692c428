// Package metrics holds latch's Prometheus metrics, in a registry of its own (no global
// state), and the handler that exposes them.
package metrics

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is every metric latch records. A nil *Metrics records nothing, so that code
// and tests that do not care need not build one.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.HistogramVec // route, method, status class
	logins   *prometheus.CounterVec   // outcome
	signups  *prometheus.CounterVec   // outcome

	ruleRuns     *prometheus.CounterVec   // rule, outcome
	ruleDuration *prometheus.HistogramVec // rule
	pipelines    *prometheus.HistogramVec // trigger, outcome

	eventsWritten prometheus.Counter
	eventsDropped *prometheus.CounterVec // reason

	mail *prometheus.CounterVec // kind, outcome

	storageCalls  *prometheus.HistogramVec // backend, op (storage.go)
	storageErrors *prometheus.CounterVec   // backend, op

	hashGate atomic.Pointer[hashSlotsRef] // read by the password-hash gauges (password.go)
}

// New builds the metrics, with Go runtime and process metrics alongside.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "latch_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method", "code"})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latch_logins_total", Help: "Password logins by outcome.",
	}, []string{"outcome"})
	m.signups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latch_signups_total", Help: "Signups by outcome.",
	}, []string{"outcome"})
	m.ruleRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latch_rule_executions_total", Help: "Rule and action executions by outcome (ok, denied, error, timeout, memory).",
	}, []string{"rule", "outcome"})
	m.ruleDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "latch_rule_duration_seconds", Help: "Time one rule or action ran.",
		Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .05, .25, 1, 5, 20},
	}, []string{"rule"})
	m.pipelines = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "latch_rules_pipeline_duration_seconds", Help: "Time a whole rules pipeline ran.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .05, .25, 1, 5, 20},
	}, []string{"trigger", "outcome"})
	m.eventsWritten = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "latch_events_written_total", Help: "Auth events written to the event log.",
	})
	m.eventsDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latch_events_dropped_total", Help: "Auth events not written: queue_full (overload), store_error, or shutdown (recorded after the writer stopped).",
	}, []string{"reason"})
	m.mail = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latch_mail_messages_total", Help: "Outgoing email by kind and outcome: sent, failed (given up), retried (an attempt failed, another is scheduled), dropped (queue full or closed).",
	}, []string{"kind", "outcome"})
	m.storageCalls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "latch_storage_call_duration_seconds", Help: "Time of one call to a storage backend (mongo: a command; redis: a command with its retries), by command.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"backend", "op"})
	m.storageErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latch_storage_call_errors_total", Help: "Calls to a storage backend that failed (unreachable, timed out, refused), by command; not-found answers are not errors.",
	}, []string{"backend", "op"})
	m.reg.MustRegister(m.requests, m.logins, m.signups, m.ruleRuns, m.ruleDuration, m.pipelines,
		m.eventsWritten, m.eventsDropped, m.mail, m.storageCalls, m.storageErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(m.hashGauges()...)
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Request records one HTTP request; route is the route pattern, never the raw path (raw
// paths carry ids and would make unbounded label sets).
func (m *Metrics) Request(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, method, statusClass(status)).Observe(d.Seconds())
}

// Login counts a login attempt's outcome (ok, wrong_credentials, blocked, denied, error...).
func (m *Metrics) Login(outcome string) {
	if m != nil {
		m.logins.WithLabelValues(outcome).Inc()
	}
}

// Signup counts a signup's outcome.
func (m *Metrics) Signup(outcome string) {
	if m != nil {
		m.signups.WithLabelValues(outcome).Inc()
	}
}

// Rule records one rule's or action's run.
func (m *Metrics) Rule(name, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.ruleRuns.WithLabelValues(name, outcome).Inc()
	m.ruleDuration.WithLabelValues(name).Observe(d.Seconds())
}

// Pipeline records a whole pipeline run.
func (m *Metrics) Pipeline(trigger, outcome string, d time.Duration) {
	if m != nil {
		m.pipelines.WithLabelValues(trigger, outcome).Observe(d.Seconds())
	}
}

// EventsWritten counts auth events stored in the event log.
func (m *Metrics) EventsWritten(n int) {
	if m != nil {
		m.eventsWritten.Add(float64(n))
	}
}

// EventsDropped counts auth events that were not stored, and why (queue_full, store_error,
// shutdown).
func (m *Metrics) EventsDropped(reason string, n int) {
	if m != nil {
		m.eventsDropped.WithLabelValues(reason).Add(float64(n))
	}
}

func statusClass(status int) string {
	switch {
	case status >= 500:
		return "5xx"
	case status >= 400:
		return "4xx"
	case status >= 300:
		return "3xx"
	default:
		return "2xx"
	}
}
