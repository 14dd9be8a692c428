package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The tests run the CLI against a real latch: the binary of cmd/latch, built once here and
// started as its own process on 127.0.0.1 with a temporary data dir, as an operator runs it.

var (
	latchBin string       // the built binary
	shared   *latchServer // the latch most tests talk to
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "latch-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if latchBin, err = buildLatch(tmp); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	shared, err = startServer(filepath.Join(tmp, "data"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if err := shared.stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// buildLatch builds ./cmd/latch from the module root (found with `go env GOMOD`) into dir.
func buildLatch(dir string) (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(dir, "latch")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/latch")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building latch: %v\n%s", err, out)
	}
	return bin, nil
}

// latchServer is a running latch process.
type latchServer struct {
	URL          string // http(s)://127.0.0.1:port, no trailing slash
	DataDir      string
	ClientID     string
	ClientSecret string

	cmd    *exec.Cmd
	output *syncBuffer
	exited chan struct{}
	http   *http.Client

	mu    sync.Mutex
	token string
}

const (
	testClientID     = "cli-test-bootstrap"
	testClientSecret = "cli-test-secret-0123456789abcdef0123456789"
)

// startServer starts latch with its data in dataDir; extraEnv adds LATCH_* settings.
func startServer(dataDir string, extraEnv ...string) (*latchServer, error) {
	var lastErr error
	for range 3 { // the port is picked, freed and then taken by latch: another may win it
		s, err := tryStartServer(dataDir, extraEnv)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func tryStartServer(dataDir string, extraEnv []string) (*latchServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	scheme := "http"
	for _, e := range extraEnv {
		if e == "LATCH_TLS_SELF_SIGNED=true" {
			scheme = "https"
		}
	}
	s := &latchServer{
		URL: scheme + "://" + addr, DataDir: dataDir, ClientID: testClientID, ClientSecret: testClientSecret,
		output: &syncBuffer{}, exited: make(chan struct{}),
		// Only for the readiness check and the tests' own setup calls.
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}, //nolint:gosec // test setup against a self-signed latch
	}
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "LATCH_") {
			env = append(env, e)
		}
	}
	env = append(env, "LATCH_ADDR="+addr, "LATCH_DATA_DIR="+dataDir,
		"LATCH_BOOTSTRAP_CLIENT_ID="+testClientID, "LATCH_BOOTSTRAP_CLIENT_SECRET="+testClientSecret,
		"LATCH_BCRYPT_COST=4", "LATCH_LOG_LEVEL=warn", "LATCH_RULES_WORKERS=2",
		"LATCH_BOOTSTRAP_ADMIN_EMAIL=-") // no console admin among the users the tests count
	env = append(env, extraEnv...)
	s.cmd = exec.Command(latchBin, "serve")
	s.cmd.Env = env
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := s.http.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("latch exited during start:\n%s", s.output.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = s.stop()
			return nil, fmt.Errorf("latch not ready after 30s: %v\n%s", err, s.output.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// stop ends latch with SIGTERM, as an orchestrator would, and waits for it.
func (s *latchServer) stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("latch did not stop within 30s of SIGTERM")
	}
}

// startExtraServer starts another latch for one test and stops it when the test ends.
func startExtraServer(t *testing.T, extraEnv ...string) *latchServer {
	t.Helper()
	s, err := startServer(t.TempDir(), extraEnv...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// ---------------------------------------------------------------------------------------
// Running the CLI

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// runOpts adjust one run: the environment (over the server's credentials), stdin and
// whether it is a terminal.
type runOpts struct {
	env      map[string]string
	stdin    string
	stdinTTY bool
	// stderrTTY makes stderr a terminal: progress bars are drawn.
	stderrTTY bool
	ctx       context.Context
	stdout    io.Writer // default: captured
	// sleep replaces the waits between polls and before retries (default: none at all).
	sleep func(ctx context.Context, d time.Duration) error
}

// cliEnv is the environment of a run: the server's credentials, and a config home of the
// test's own, so that no profiles file of the machine is read.
func cliEnv(t *testing.T, s *latchServer, extra map[string]string) func(string) string {
	home := t.TempDir()
	env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config")}
	if s != nil {
		env["LATCH_URL"], env["LATCH_CLIENT_ID"], env["LATCH_CLIENT_SECRET"] = s.URL, s.ClientID, s.ClientSecret
	}
	for k, v := range extra {
		env[k] = v
	}
	return func(k string) string { return env[k] }
}

// run runs `latch ARGS...` (the admin part) in process against s.
func run(t *testing.T, s *latchServer, o runOpts, args ...string) result {
	t.Helper()
	var out, errOut syncBuffer
	env := Env{
		Stdin: strings.NewReader(o.stdin), Stdout: &out, Stderr: &errOut,
		Getenv:           cliEnv(t, s, o.env),
		StdinIsTerminal:  func() bool { return o.stdinTTY },
		StderrIsTerminal: func() bool { return o.stderrTTY },
		sleep:            func(ctx context.Context, d time.Duration) error { return ctx.Err() },
	}
	if o.stdout != nil {
		env.Stdout = o.stdout
	}
	if o.sleep != nil {
		env.sleep = o.sleep
	}
	ctx := o.ctx
	if ctx == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
	}
	code := Run(ctx, args, env)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// mustRun runs and fails the test unless the exit code is want.
func mustRun(t *testing.T, s *latchServer, want int, args ...string) result {
	t.Helper()
	r := run(t, s, runOpts{}, args...)
	if r.code != want {
		t.Fatalf("latch %s: want exit %d, got %s", strings.Join(args, " "), want, r)
	}
	return r
}

// ---------------------------------------------------------------------------------------
// The tests' own calls to latch (setup and checks), independent of the CLI's client.

func (s *latchServer) mgmtToken(t *testing.T) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" {
		return s.token
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	s.postForm(t, "/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {s.ClientSecret},
		"audience": {s.URL + "/api/v2/"},
	}, http.StatusOK, &tok)
	s.token = tok.AccessToken
	return s.token
}

// api sends a Management API request and decodes the answer into out; want is the status.
func (s *latchServer) api(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.mgmtToken(t))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	s.do(t, req, want, out)
}

func (s *latchServer) postForm(t *testing.T, path string, form url.Values, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	s.do(t, req, want, out)
}

func (s *latchServer) do(t *testing.T, req *http.Request, want int, out any) {
	t.Helper()
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: want %d, got %d %s", req.Method, req.URL.Path, want, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", req.Method, req.URL.Path, err, data)
		}
	}
}

// appClient creates an application that logs users in with a password.
func (s *latchServer) appClient(t *testing.T) (id, secret string) {
	t.Helper()
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	s.api(t, http.MethodPost, "/api/v2/clients", map[string]any{
		"name": "cli test app", "app_type": "regular_web",
		"grant_types":                []string{"password", "http://auth0.com/oauth/grant-type/password-realm"},
		"token_endpoint_auth_method": "client_secret_post",
	}, http.StatusCreated, &c)
	return c.ClientID, c.ClientSecret
}

const testPassword = "Correct-Horse-9"

// signup signs a user up on the default database connection and returns the user_id.
func (s *latchServer) signup(t *testing.T, clientID, email string, meta map[string]any) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/dbconnections/signup", strings.NewReader(mustMarshal(t, map[string]any{
		"client_id": clientID, "connection": "Username-Password-Authentication",
		"email": email, "password": testPassword, "user_metadata": meta,
	})))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	var out struct {
		ID string `json:"_id"`
	}
	s.do(t, req, http.StatusOK, &out)
	var users []struct {
		UserID string `json:"user_id"`
	}
	s.api(t, http.MethodGet, "/api/v2/users-by-email?email="+url.QueryEscape(email), nil, http.StatusOK, &users)
	if len(users) != 1 {
		t.Fatalf("after signing %s up, %d users have the email", email, len(users))
	}
	return users[0].UserID
}

// login logs the user in with password-realm, as an application does.
func (s *latchServer) login(t *testing.T, clientID, secret, email string) {
	t.Helper()
	s.postForm(t, "/oauth/token", url.Values{
		"grant_type": {"http://auth0.com/oauth/grant-type/password-realm"}, "realm": {"Username-Password-Authentication"},
		"client_id": {clientID}, "client_secret": {secret}, "username": {email}, "password": {testPassword},
		"scope": {"openid profile email"},
	}, http.StatusOK, nil)
}

// uniqueCounter makes names unique on the shared latch, also across -count runs.
var uniqueCounter atomic.Int64

// unique is prefix with a number no other call of this process had.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, uniqueCounter.Add(1))
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// eventually retries check until it returns "" (the events of a login are written in the
// background) and fails with its last complaint after a generous deadline.
func eventually(t *testing.T, check func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		msg := check()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer that a running command and the test may share.
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
