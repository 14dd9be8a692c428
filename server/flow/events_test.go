package flow

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/metrics"
	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
)

// eventStore keeps events in memory. AppendEvents can be held (block) or made to fail:
// the real store cannot be made to stall or break on demand, and the queue's behaviour
// under a stalled store is what these tests are about.
type eventStore struct {
	storage.Store // nil: only the event methods (and the name lookups) are used

	mu      sync.Mutex
	batches [][]storage.Event
	block   chan struct{} // when set, AppendEvents waits until it is closed
	entered chan struct{} // when set, AppendEvents signals it is called
	fail    error
}

func (m *eventStore) AppendEvents(_ context.Context, events []storage.Event) error {
	if m.entered != nil {
		m.entered <- struct{}{}
	}
	if m.block != nil {
		<-m.block
	}
	if m.fail != nil {
		return m.fail
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches = append(m.batches, slices.Clone(events))
	return nil
}

func (m *eventStore) GetUser(context.Context, string) (storage.User, error) {
	return storage.User{}, storage.ErrNotFound
}

func (m *eventStore) GetClient(_ context.Context, id string) (storage.Client, error) {
	return storage.Client{ID: id, Name: "name of " + id}, nil
}

func (m *eventStore) written() []storage.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []storage.Event
	for _, b := range m.batches {
		out = append(out, b...)
	}
	return out
}

// metricValue reads one sample from the metrics' text exposition.
func metricValue(t *testing.T, m *metrics.Metrics, sample string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			return v
		}
	}
	return ""
}

func closeLog(t *testing.T, l *eventLog) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
}

func TestEventLogWritesInBatches(t *testing.T) {
	st := &eventStore{}
	m := metrics.New()
	l := newEventLog(st, st, st, m, nil, eventLogOptions{batch: 256, flushEvery: 20 * time.Millisecond})
	for i := range 600 {
		l.record(storage.Event{Type: "s", Date: storage.Now(), ClientID: "c1", Description: fmt.Sprint(i)}, nil)
	}
	// The writer flushes on its own (a full batch, or the timer): wait for it, bounded.
	deadline := time.Now().Add(10 * time.Second)
	for len(st.written()) < 600 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := st.written()
	if len(got) != 600 {
		t.Fatalf("written %d events, want 600", len(got))
	}
	st.mu.Lock()
	batches := st.batches
	st.mu.Unlock()
	for _, b := range batches {
		if len(b) > 256 {
			t.Errorf("a batch of %d events, want at most 256", len(b))
		}
	}
	for i, e := range got {
		if e.Description != fmt.Sprint(i) {
			t.Fatalf("event %d is %q: order not kept", i, e.Description)
		}
		if i > 0 && e.ID <= got[i-1].ID {
			t.Fatalf("ids out of order: %s after %s", e.ID, got[i-1].ID)
		}
		if len(e.ID) != 56 {
			t.Fatalf("id %q: want 56 digits", e.ID)
		}
		if e.ClientName != "name of c1" {
			t.Fatalf("client name = %q, want it looked up", e.ClientName)
		}
	}
	closeLog(t, l)
	if v := metricValue(t, m, "latch_events_written_total"); v != "600" {
		t.Errorf("latch_events_written_total = %q, want 600", v)
	}
}

// A stalled store never holds up record: once the queue is full, events are dropped and
// counted.
func TestEventLogDropsWhenFull(t *testing.T) {
	st := &eventStore{block: make(chan struct{}), entered: make(chan struct{}, 10)}
	m := metrics.New()
	l := newEventLog(st, nil, nil, m, nil, eventLogOptions{queue: 4, batch: 1})
	l.record(storage.Event{Type: "s", Date: storage.Now()}, nil)
	<-st.entered // the writer holds that one, stuck in the store
	for range 4 + 3 {
		l.record(storage.Event{Type: "f", Date: storage.Now()}, nil) // returns at once
	}
	if v := metricValue(t, m, `latch_events_dropped_total{reason="queue_full"}`); v != "3" {
		t.Errorf(`dropped (queue_full) = %q, want 3`, v)
	}
	close(st.block)
	closeLog(t, l)
	if n := len(st.written()); n != 5 {
		t.Errorf("written %d events, want 5 (1 held + 4 queued)", n)
	}
	l.record(storage.Event{Type: "s", Date: storage.Now()}, nil)
	if v := metricValue(t, m, `latch_events_dropped_total{reason="shutdown"}`); v != "1" {
		t.Errorf(`dropped (shutdown) = %q, want 1`, v)
	}
}

func TestEventLogCloseWritesWhatIsQueued(t *testing.T) {
	st := &eventStore{}
	l := newEventLog(st, nil, nil, nil, nil, eventLogOptions{batch: 1000, flushEvery: time.Hour})
	for range 10 {
		l.record(storage.Event{Type: "s", Date: storage.Now()}, nil)
	}
	closeLog(t, l)
	if n := len(st.written()); n != 10 {
		t.Errorf("written %d events at close, want 10", n)
	}
	closeLog(t, l) // a second close is harmless
}

func TestEventLogStoreFailureIsCounted(t *testing.T) {
	st := &eventStore{fail: errors.New("disk full")}
	m := metrics.New()
	l := newEventLog(st, nil, nil, m, nil, eventLogOptions{batch: 2})
	for range 4 {
		l.record(storage.Event{Type: "s", Date: storage.Now()}, nil)
	}
	closeLog(t, l)
	if v := metricValue(t, m, `latch_events_dropped_total{reason="store_error"}`); v != "4" {
		t.Errorf(`dropped (store_error) = %q, want 4`, v)
	}
}

// A panic while completing an event costs that batch, never the process.
func TestEventLogSurvivesAPanic(t *testing.T) {
	st := &eventStore{}
	m := metrics.New()
	l := newEventLog(st, nil, nil, m, nil, eventLogOptions{batch: 1})
	l.record(storage.Event{Type: "s", Date: storage.Now()}, func(*storage.Event) { panic("bug") })
	l.record(storage.Event{Type: "f", Date: storage.Now()}, nil)
	closeLog(t, l)
	if got := st.written(); len(got) != 1 || got[0].Type != "f" {
		t.Errorf("written %+v, want the second event only", got)
	}
}

// The login event's type says why a login failed, and it carries the rules' outcome and
// console output (capped).
func TestRecordLoginTypes(t *testing.T) {
	st := &eventStore{}
	s := New(Deps{Store: st})
	ctx := WithRequestInfo(context.Background(), "198.51.100.1", "curl/8", "auth.example.com")
	client := storage.Client{ID: "app", Name: "App"}
	user := storage.User{ID: "auth0|u1", Email: "jane@example.com", Connection: DefaultConnection}
	long := strings.Repeat("x", maxConsoleBytes)
	pipeline := rules.Response{
		Outcome: rules.OutcomeOK, Console: []string{"hello from a rule", long},
		Timings: []rules.ScriptTiming{{ScriptID: "rul_1", Name: "log", Outcome: "ok", Duration: 1500 * time.Microsecond}},
	}
	for _, c := range []struct {
		name string
		tr   loginTrace
		err  error
	}{
		{"success", loginTrace{user: user, verified: true, pipeline: &pipeline}, nil},
		{"wrong password", loginTrace{user: user}, ErrWrongCredentials},
		{"unknown user", loginTrace{}, ErrWrongCredentials},
		{"brute force", loginTrace{}, ErrTooManyAttempts},
		{"suspicious ip", loginTrace{}, &ThrottledError{Err: ErrSuspiciousIP}},
		{"denied", loginTrace{user: user, verified: true}, &DeniedError{Code: "access_denied", Message: "not today"}},
	} {
		s.recordLogin(ctx, &c.tr, loginAttempt{client: client, connection: DefaultConnection, login: "Jane@example.com", ip: "203.0.113.9"}, c.err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := st.written()
	var types []string
	for _, e := range got {
		types = append(types, e.Type)
	}
	if want := []string{"s", "fp", "fu", "limit_wc", "limit_mu", "f"}; !slices.Equal(types, want) {
		t.Fatalf("types = %v, want %v", types, want)
	}
	ok, fp, fu, den := got[0], got[1], got[2], got[5]
	if ok.UserID != user.ID || ok.UserName != "jane@example.com" || ok.ClientName != "App" || ok.IP != "203.0.113.9" ||
		ok.UserAgent != "curl/8" || ok.Hostname != "auth.example.com" || ok.Connection != DefaultConnection {
		t.Errorf("success event = %+v", ok)
	}
	r, _ := ok.Details["rules"].(map[string]any)
	console, _ := r["console"].([]any)
	if len(console) != 2 || console[0] != "hello from a rule" || r["console_truncated"] != true ||
		len("hello from a rule")+len(console[1].(string)) != maxConsoleBytes {
		t.Errorf("details.rules console = %v (truncated %v), want the first line and the rest cut at %d bytes", len(console), r["console_truncated"], maxConsoleBytes)
	}
	if scripts, _ := r["scripts"].([]any); len(scripts) != 1 || scripts[0].(map[string]any)["duration_ms"] != 1.5 {
		t.Errorf("details.rules scripts = %v", r["scripts"])
	}
	if fp.UserID != user.ID || fp.UserName != "Jane@example.com" || fp.Description != "Wrong email or password." {
		t.Errorf("fp event = %+v", fp)
	}
	if fu.UserID != "" || fu.UserName != "Jane@example.com" {
		t.Errorf("fu event = %+v", fu)
	}
	if den.Description != "not today" || den.Details["error"].(map[string]any)["oauthError"] != "access_denied" {
		t.Errorf("denial event = %+v", den)
	}
}

func TestTokenSubject(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, c := range []struct{ payload, sub, aud string }{
		{`{"sub":"auth0|1","aud":"https://api/"}`, "auth0|1", "https://api/"},
		{`{"sub":"auth0|1","aud":["https://api/","https://x/userinfo"]}`, "auth0|1", "https://api/"},
		{`not json`, "", ""},
	} {
		sub, aud := tokenSubject("h." + enc(c.payload) + ".s")
		if sub != c.sub || aud != c.aud {
			t.Errorf("tokenSubject(%s) = %q, %q; want %q, %q", c.payload, sub, aud, c.sub, c.aud)
		}
	}
	if sub, _ := tokenSubject("not-a-jwt"); sub != "" {
		t.Errorf("tokenSubject of garbage = %q", sub)
	}
}

func TestCapConsole(t *testing.T) {
	kept, cut := capConsole([]string{"ab", "cd"}, 10)
	if len(kept) != 2 || cut {
		t.Errorf("under the limit: %v, %v", kept, cut)
	}
	kept, cut = capConsole([]string{"ab", "é✓z"}, 4) // é is 2 bytes, ✓ 3: the cut falls inside ✓
	if !cut || len(kept) != 2 || kept[1] != "é" {
		t.Errorf("cut inside a character: %q, %v", kept, cut)
	}
}
