package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/requestid"
)

// testLatch is a real latch server on 127.0.0.1 with its own SQLite data dir, started the
// way the binary starts it (serve), for tests that go through real HTTP.
type testLatch struct {
	URL     string // http://127.0.0.1:port, no trailing slash
	Issuer  string // URL + "/"
	DataDir string
	// ClientID and ClientSecret are the bootstrap Management API client's.
	ClientID     string
	ClientSecret string
	Config       Config
	Output       *syncBuffer // what serve printed for a person
	Logs         *syncBuffer // latch's log (warnings and errors)

	t      testing.TB
	cancel context.CancelFunc
	done   chan error
}

// testBcryptCost keeps tests fast; the benchmark uses the real default.
const testBcryptCost = 4

// startLatch starts latch and stops it when the test ends. mutate may adjust the config.
func startLatch(t testing.TB, mutate ...func(*Config)) *testLatch {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	cfg := defaults()
	cfg.Addr = ln.Addr().String()
	cfg.Issuer = "http://" + cfg.Addr + "/"
	cfg.DataDir = t.TempDir()
	cfg.BcryptCost = testBcryptCost
	cfg.BootstrapClientID = "bootstrap-client"
	cfg.BootstrapClientSecret = "bootstrap-secret-0123456789abcdef0123456789"
	// Tests call the Management API in quick bursts; the rate-limit test sets its own.
	cfg.MgmtRateLimit, cfg.MgmtRateBurst = 10000, 10000
	cfg.BootstrapAdminEmail = "" // tests that need a console admin configure one
	for _, m := range mutate {
		m(&cfg)
	}
	if problems := cfg.finish(); len(problems) > 0 {
		t.Fatalf("test config: %v", problems)
	}
	l := &testLatch{
		URL: strings.TrimSuffix(cfg.Issuer, "/"), Issuer: cfg.Issuer, DataDir: cfg.DataDir,
		ClientID: cfg.BootstrapClientID, ClientSecret: cfg.BootstrapClientSecret, Config: cfg,
		Output: &syncBuffer{}, Logs: &syncBuffer{}, t: t,
	}
	l.start(ln)
	t.Cleanup(l.Stop)
	return l
}

func (l *testLatch) start(ln net.Listener) {
	l.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan error, 1)
	log := slog.New(requestid.NewHandler(slog.NewTextHandler(testLogWriter{l.t, l.Logs}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	go func() { l.done <- serve(ctx, l.Config, ln, l.Output, log) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(l.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-l.done:
			l.t.Fatalf("latch exited during start: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("latch not ready after 20s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop shuts latch down gracefully and fails the test if serve returned an error.
func (l *testLatch) Stop() {
	if l.cancel == nil {
		return
	}
	l.cancel()
	l.cancel = nil
	if err := <-l.done; err != nil {
		l.t.Errorf("latch stopped with an error: %v", err)
	}
}

// Restart stops latch and starts it again on the same address and data dir.
func (l *testLatch) Restart() {
	l.t.Helper()
	l.Stop()
	ln, err := net.Listen("tcp", l.Config.Addr)
	if err != nil {
		l.t.Fatalf("listen again: %v", err)
	}
	l.start(ln)
}

// ManagementToken gets a Management API token for the bootstrap client; scope "" means
// every scope the client was granted.
func (l *testLatch) ManagementToken(t testing.TB, scope string) string {
	t.Helper()
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {l.ClientID}, "client_secret": {l.ClientSecret},
		"audience": {l.Issuer + "api/v2/"},
	}
	if scope != "" {
		form.Set("scope", scope)
	}
	resp, body := l.PostForm(t, "/oauth/token", form)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("management token: %d %s", resp.StatusCode, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	mustJSON(t, body, &tok)
	return tok.AccessToken
}

// Do sends a request. body may be nil, a string or []byte (sent as-is with
// Content-Type application/json), or any other value (marshalled to JSON).
func (l *testLatch) Do(t testing.TB, method, path, token string, body any) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, l.URL+path, r)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(t, req)
}

// PostForm posts an application/x-www-form-urlencoded body.
func (l *testLatch) PostForm(t testing.TB, path string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, l.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(t, req)
}

func send(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, data
}

func mustJSON(t testing.TB, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}

// testLogWriter sends latch's log to the test log, so it shows only for failing tests.
type testLogWriter struct {
	t    testing.TB
	keep *syncBuffer
}

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return w.keep.Write(p)
}

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
