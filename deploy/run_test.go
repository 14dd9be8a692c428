package deploy

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/latchauth/latch/internal/mongotest"
	"github.com/latchauth/latch/internal/redistest"
	"github.com/latchauth/latch/tokens"
)

// TestMain stops the embedded MongoDB server (FerretDB) that mongotest.URI starts, and
// removes the binary buildLatch built.
func TestMain(m *testing.M) {
	code := mongotest.Main(m)
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// The real binary, started with the configuration the deployment files give it, proves the
// values are ones latch accepts (durations, sizes, the issuer, the mail sender) and that the
// secrets arrive through the *_FILE variables. MongoDB is the embedded FerretDB of
// internal/mongotest (or $LATCH_TEST_MONGO_URI), Redis a redis-server of the test's own. The
// listen addresses, the data directory and the store URLs move to the test's own; everything
// else is used as the files say.

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// built is the latch binary the tests start, built once per test run.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func buildLatch(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			built.err = fmt.Errorf("the go command is needed to build latch: %w", err)
			return
		}
		if built.dir, err = os.MkdirTemp("", "latch-deploy-test-"); err != nil {
			built.err = err
			return
		}
		bin := filepath.Join(built.dir, "latch")
		cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/latch")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as the Dockerfile builds it
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("building latch: %w\n%s", err, out)
			return
		}
		built.bin = bin
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// running is a latch process started by startLatch.
type running struct {
	addr, metricsAddr, dataDir string
	stdout, stderr             *syncBuffer
	cmd                        *exec.Cmd
	exited                     chan struct{}
}

// startLatch runs bin with exactly env (nothing inherited, so a developer's LATCH_* cannot
// interfere) and waits until /readyz answers 200.
func startLatch(t *testing.T, bin string, env map[string]string) *running {
	t.Helper()
	r := &running{
		addr: env["LATCH_ADDR"], metricsAddr: env["LATCH_METRICS_ADDR"], dataDir: env["LATCH_DATA_DIR"],
		stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{}),
	}
	r.cmd = newCommand(bin, env, r)
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.exited
	})

	deadline := time.Now().Add(90 * time.Second) // a hang guard, not a speed requirement
	for {
		select {
		case <-r.exited:
			t.Fatalf("latch exited during start: %v\nstdout:\n%s\nstderr:\n%s", r.cmd.ProcessState, r.stdout, r.stderr)
		default:
		}
		if resp, err := http.Get("http://" + r.addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("latch not ready after 90 s\nstderr:\n%s", r.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newCommand is `latch serve` with exactly env, its output into r's buffers.
func newCommand(bin string, env map[string]string, r *running) *exec.Cmd {
	cmd := exec.Command(bin, "serve")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = r.stdout, r.stderr
	return cmd
}

// stop sends SIGTERM, as an orchestrator does, and wants a clean exit.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("latch did not stop within 60 s of SIGTERM")
	}
	if code := r.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("latch exited with %d after SIGTERM\nstderr:\n%s", code, r.stderr)
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// runEnv turns a deployment's environment into one for a local run: override replaces
// values (an empty one removes the variable), the listen addresses and the data directory
// move to the test's own, and files gives the content of the file each *_FILE variable names.
func runEnv(t *testing.T, deployed, override, files map[string]string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range deployed {
		env[k] = v
	}
	for k, v := range override {
		if v == "" {
			delete(env, k)
		} else {
			env[k] = v
		}
	}
	env["LATCH_ADDR"] = freeAddr(t)
	if env["LATCH_METRICS_ADDR"] != "" {
		env["LATCH_METRICS_ADDR"] = freeAddr(t)
	}
	env["LATCH_DATA_DIR"] = filepath.Join(t.TempDir(), "data")
	env["TMPDIR"] = t.TempDir()
	dir := t.TempDir()
	for name := range env {
		if !strings.HasSuffix(name, "_FILE") {
			continue
		}
		content, ok := files[name]
		if !ok {
			t.Fatalf("no test content for %s", name)
		}
		path := filepath.Join(dir, strings.ToLower(name))
		if err := os.WriteFile(path, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env[name] = path
	}
	return env
}

// checkRunning asserts what the deployment relies on of a running latch, and returns a
// Management API token of the bootstrap client. secrets must appear in neither its standard
// output nor its log (a generated bootstrap secret is printed once, by design).
func checkRunning(t *testing.T, r *running, env map[string]string, clientSecret string, secrets ...string) string {
	t.Helper()
	issuer := env["LATCH_ISSUER"]
	var disc struct {
		Issuer string `json:"issuer"`
	}
	getJSON(t, "http://"+r.addr+"/.well-known/openid-configuration", &disc)
	if disc.Issuer != issuer {
		t.Errorf("issuer = %q, the deployment sets %q", disc.Issuer, issuer)
	}
	if resp, err := http.Get("http://" + r.addr + "/healthz"); err != nil {
		t.Errorf("/healthz: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("/healthz: %d", resp.StatusCode)
		}
	}
	if r.metricsAddr != "" {
		resp, err := http.Get("http://" + r.metricsAddr + "/metrics")
		if err != nil {
			t.Fatalf("metrics: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("# HELP")) {
			t.Errorf("GET /metrics on LATCH_METRICS_ADDR: %d, %.200s", resp.StatusCode, body)
		}
	}

	// The bootstrap client is the one the deployment names, with the secret it gives.
	clientID := env["LATCH_BOOTSTRAP_CLIENT_ID"]
	if clientID == "" {
		clientID = bootstrapClientID(t, r)
	}
	token := managementToken(t, r, issuer, clientID, clientSecret)
	for name, out := range map[string]*syncBuffer{"stdout": r.stdout, "stderr": r.stderr} {
		for _, secret := range secrets {
			if strings.Contains(out.String(), secret) {
				t.Errorf("a secret appears on %s", name)
			}
		}
	}
	return token
}

// bootstrapClientID reads the client_id latch prints at first start.
func bootstrapClientID(t *testing.T, r *running) string {
	t.Helper()
	for _, line := range strings.Split(r.stdout.String(), "\n") {
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "client_id:"); ok {
			return strings.TrimSpace(id)
		}
	}
	t.Fatalf("no client_id in latch's first-start output:\n%s", r.stdout)
	return ""
}

func managementToken(t *testing.T, r *running, issuer, clientID, clientSecret string) string {
	t.Helper()
	resp, err := http.PostForm("http://"+r.addr+"/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret},
		"audience": {issuer + "api/v2/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("client_credentials for the bootstrap client %s: %d %s", clientID, resp.StatusCode, body)
	}
	return tok.AccessToken
}

// managementGet answers GET path of the Management API with token.
func managementGet(t *testing.T, r *running, path, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+r.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func noGeneratedKEK(t *testing.T, r *running) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(r.dataDir, "secret.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("latch generated %s/secret.key although the deployment gives LATCH_SECRET_KEY_FILE (%v)", r.dataDir, err)
	}
}

// secretSettings are the file contents of a run's secrets.
type secretSettings struct {
	kek, clientSecret, smtpURL, mongoURI, redisURL string
}

func (s secretSettings) files() map[string]string {
	return map[string]string{
		"LATCH_SECRET_KEY_FILE":              s.kek,
		"LATCH_BOOTSTRAP_CLIENT_SECRET_FILE": s.clientSecret,
		"LATCH_SMTP_URL_FILE":                s.smtpURL,
		"LATCH_MONGO_URI_FILE":               s.mongoURI,
		"LATCH_REDIS_URL_FILE":               s.redisURL,
	}
}

func TestLatchRunsWithTheDeployConfiguration(t *testing.T) {
	bin := buildLatch(t)
	base := secretSettings{
		kek:          tokens.GenerateKEK(),
		clientSecret: "deploy-test-bootstrap-secret-0123456789abcdef",
		smtpURL:      "smtps://deploy-test:smtp-password-0123456789@127.0.0.1:1",
	}

	// The image alone, as `docker run` in docs/deploy.md starts it: the embedded store,
	// a generated key-encryption key, and an online backup of the running database.
	t.Run("image", func(t *testing.T) {
		env := map[string]string{"LATCH_ISSUER": "https://auth.example.com/"}
		for _, in := range parseDockerfile(t).final().instrs {
			if in.cmd == "ENV" {
				for k, v := range parseEnvInstruction(t, in.args) {
					env[k] = v
				}
			}
		}
		r := startLatch(t, bin, runEnv(t, env, nil, nil))
		if _, err := os.Stat(filepath.Join(r.dataDir, "secret.key")); err != nil {
			t.Errorf("no generated key-encryption key in the data dir: %v", err)
		}
		secret := ""
		for _, line := range strings.Split(r.stdout.String(), "\n") {
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), "client_secret:"); ok {
				secret = strings.TrimSpace(s)
			}
		}
		checkRunning(t, r, env, secret)
		checkOnlineBackup(t, r)
		r.stop(t)
	})

	// The Kubernetes pod's configuration, on MongoDB (FerretDB here) and Redis.
	t.Run("k8s", func(t *testing.T) {
		m := loadManifests(t)
		plain, _ := m.envOf(t)
		s := base
		s.mongoURI, s.redisURL = mongotest.URI(t), redistest.NewServer(t).URL()
		env := runEnv(t, plain, nil, s.files())
		r := startLatch(t, bin, env)
		checkRunning(t, r, env, s.clientSecret, s.clientSecret, s.kek, s.mongoURI, s.redisURL, "smtp-password-0123456789")
		noGeneratedKEK(t, r)
		r.stop(t)
	})

	// Both compose instances on one MongoDB and one Redis: what one signs, the other accepts.
	t.Run("compose", func(t *testing.T) {
		cf := loadCompose(t)
		s := base
		mongoURI, redisURL := mongotest.URI(t), redistest.NewServer(t).URL()
		var instances []*running
		var envs []map[string]string
		for _, name := range latchServices(cf) {
			deployed := readEnvFile(t, "latch.env")
			for k, v := range cf.Services[name].Environment {
				deployed[k] = v
			}
			env := runEnv(t, deployed, map[string]string{"LATCH_MONGO_URI": mongoURI, "LATCH_REDIS_URL": redisURL}, s.files())
			// One after the other: two first starts at once race to create the bootstrap
			// client, and compose's restart settles that; here it would only be noise.
			r := startLatch(t, bin, env)
			checkRunning(t, r, env, s.clientSecret, s.clientSecret, s.kek)
			noGeneratedKEK(t, r)
			instances, envs = append(instances, r), append(envs, env)
		}
		if len(instances) != 2 {
			t.Fatalf("%d latch services in compose", len(instances))
		}
		for i, r := range instances {
			other := instances[1-i]
			token := managementToken(t, other, envs[1-i]["LATCH_ISSUER"], envs[1-i]["LATCH_BOOTSTRAP_CLIENT_ID"], s.clientSecret)
			if code := managementGet(t, r, "/api/v2/clients", token); code != http.StatusOK {
				t.Errorf("instance %d refuses a token instance %d signed: %d", i+1, 2-i, code)
			}
		}
		for _, r := range instances {
			r.stop(t)
		}
	})
}

// checkOnlineBackup takes the backup docs/deploy.md describes, VACUUM INTO, while latch
// runs and holds the database, and checks the copy is whole: the schema at the live
// database's version, and the signing keys latch created.
func checkOnlineBackup(t *testing.T, r *running) {
	t.Helper()
	live := filepath.Join(r.dataDir, "latch.db")
	if _, err := os.Stat(live); err != nil {
		t.Fatalf("the embedded store is not at %s: %v", live, err)
	}
	ctx := context.Background()
	src, err := sql.Open("sqlite", "file:"+live+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	backup := filepath.Join(t.TempDir(), "latch-backup.db")
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, backup); err != nil {
		t.Fatalf("VACUUM INTO while latch runs: %v", err)
	}
	var liveVersion int
	if err := src.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&liveVersion); err != nil {
		t.Fatal(err)
	}

	dst, err := sql.Open("sqlite", "file:"+backup+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	var check string
	var version, keys, clients int
	if err := dst.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check of the backup = %q, %v", check, err)
	}
	if err := dst.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil || version != liveVersion || version == 0 {
		t.Errorf("backup schema version %d (%v), live %d", version, err, liveVersion)
	}
	if err := dst.QueryRowContext(ctx, `SELECT count(*) FROM signing_keys`).Scan(&keys); err != nil || keys == 0 {
		t.Errorf("backup holds %d signing keys (%v)", keys, err)
	}
	if err := dst.QueryRowContext(ctx, `SELECT count(*) FROM clients`).Scan(&clients); err != nil || clients == 0 {
		t.Errorf("backup holds %d clients (%v)", clients, err)
	}
}
