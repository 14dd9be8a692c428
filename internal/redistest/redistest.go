// Package redistest gives tests a real Redis: Debian's redis-server, never a fake.
//
// It is for tests only: import it from _test.go files, never from the server's code.
//
// URL(t) is the server every test of the binary shares: $LATCH_TEST_REDIS_URL when it is set
// (scripts/test.sh starts one redis-server for the whole run and sets it), otherwise a
// redis-server that the test binary starts on first use, once, on a free loopback port. That
// server lives until the binary ends: the package that uses URL should have
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
//
// which stops it after the tests; should the binary die first (a panic, -timeout), the
// kernel kills the server with it (Linux's parent-death signal), so no redis-server outlives
// its test binary either way.
//
// The shared server is shared with other test binaries too (go test runs packages in
// parallel), so a test never flushes it: it keeps its keys under Prefix(t), a key prefix no
// other test uses, whose keys are deleted when the test ends.
//
// NewServer(t) starts a server of the test's own, which the test may Stop and Start again on
// the same port: for fault tests (Redis down mid-run, then back). It also listens on a unix
// socket (SocketURL).
//
// ClusterURL(t) and ClusterPrefix(t) are the same for a Redis Cluster of three masters (no
// replicas) that the binary starts on first use, or the one of $LATCH_TEST_REDIS_CLUSTER_URL;
// its URL is a redis+cluster:// URL, as storage/redis reads it. NewCluster(t) starts a
// cluster of the test's own, whose nodes it may stop and start again. The nodes are
// redis-server processes with cluster-enabled, each on free loopback ports (its own and its
// cluster bus's) with a directory of its own; the helpers give each a third of the slots,
// have them meet, and wait until every node says cluster_state:ok.
//
// When redis-server is missing, these helpers skip the test, or fail it under CI=true
// (scripts/test.sh installs the Debian package redis-server).
package redistest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvURL names the variable that points the tests at a running server.
const EnvURL = "LATCH_TEST_REDIS_URL"

// Binary is the server the helpers start: Debian's, found on PATH.
const Binary = "redis-server"

// startTimeout bounds how long a server may take to answer PING after it was started.
const startTimeout = 20 * time.Second

// running is a server (or cluster) that a helper started in a temporary directory.
type running interface {
	url() string
	stop()
}

// sharedServer is a server started once per test binary, on first use, and stopped by Main.
type sharedServer[T running] struct {
	once sync.Once
	srv  T
	dir  string // "" until the start succeeded
	url  string
	err  error
}

// get starts the server on first use (start runs in a fresh temporary directory) and
// returns its URL; a failed start fails every test that asks.
func (s *sharedServer[T]) get(t testing.TB, what string, start func(dir string) (T, error)) string {
	t.Helper()
	s.once.Do(func() {
		dir, err := os.MkdirTemp("", "latch-redistest-")
		if err != nil {
			s.err = err
			return
		}
		if s.srv, s.err = start(dir); s.err != nil {
			os.RemoveAll(dir)
			return
		}
		s.dir, s.url = dir, s.srv.url()
	})
	if s.err != nil {
		t.Fatalf("redistest: start %s: %v", what, s.err)
	}
	return s.url
}

// close stops the server, if it was started, and removes its directory.
func (s *sharedServer[T]) close() {
	if s.dir != "" {
		s.srv.stop()
		os.RemoveAll(s.dir)
	}
}

// shared is the server of URL when $LATCH_TEST_REDIS_URL is not set.
var shared sharedServer[*process]

// URL returns the URL of the Redis server shared by the tests (see the package doc).
func URL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	needBinary(t)
	return shared.get(t, Binary, startFree)
}

// Main runs the package's tests and then stops the server that URL started and the
// cluster that ClusterURL started, if they did: call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	shared.close()
	sharedCluster.close()
	os.Exit(code)
}

// Prefix returns a key prefix that no other test uses (nor any other run: it is random),
// on the server of URL; when t ends, every key under it is deleted. It ends with ':' and
// holds no glob or hash-tag characters.
func Prefix(t testing.TB) string {
	t.Helper()
	url := URL(t)
	return newPrefix(t, func(prefix string) error { return deleteKeys(url, prefix) })
}

// newPrefix returns a fresh prefix, whose keys del deletes when t ends.
func newPrefix(t testing.TB, del func(prefix string) error) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	prefix := "latchtest:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		if err := del(prefix); err != nil {
			t.Errorf("redistest: delete the keys under %s: %v", prefix, err)
		}
	})
	return prefix
}

func deleteKeys(url, prefix string) error {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return err
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := c.Del(ctx, keys[:n]...).Err(); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// Server is a redis-server of one test's own, on a fixed loopback port, that the test can
// stop and start again. Its data is not kept across a restart (no persistence): a restart
// is a fresh, empty server, as a Redis that crashed and came back without a snapshot.
type Server struct {
	t    testing.TB
	dir  string
	port int

	mu sync.Mutex
	p  *process // nil while stopped
}

// NewServer starts a server for t, stopped when t ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	needBinary(t)
	dir := t.TempDir()
	p, err := startFree(dir)
	if err != nil {
		t.Fatalf("redistest: start %s: %v", Binary, err)
	}
	s := &Server{t: t, dir: dir, port: p.port, p: p}
	t.Cleanup(s.Stop) // registered after TempDir: runs before the directory goes
	return s
}

// URL is the server's URL (the same across restarts).
func (s *Server) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

// SocketURL is the URL of the server's unix socket, which it listens on too.
func (s *Server) SocketURL() string { return "unix://" + socketPath(s.dir) + "?db=0" }

func socketPath(dir string) string { return filepath.Join(dir, "redis.sock") }

// Stop kills the server (as a crash would: clients see their connections drop) and waits
// until it has exited. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		s.p.stop()
		s.p = nil
	}
}

// Start starts the stopped server again on the same port and waits until it answers.
// Starting a running server does nothing.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		return
	}
	p, err := start(s.dir, s.port)
	if err != nil {
		s.t.Fatalf("redistest: restart %s on port %d: %v", Binary, s.port, err)
	}
	s.p = p
}

// needBinary skips t, or fails it under CI=true, when redis-server is not installed.
func needBinary(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath(Binary); err == nil {
		return
	}
	msg := fmt.Sprintf("redistest: %s is not installed (Debian package redis-server; scripts/test.sh installs it), and $%s is not set", Binary, EnvURL)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// process is one running redis-server.
type process struct {
	dir    string
	port   int
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait returned
	log    *syncBuffer
}

func (p *process) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", p.port) }

func (p *process) stop() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// startFree starts a server on a free loopback port. The port is found by listening on
// port 0 and closing the listener, so another process may take it before the server binds:
// then it tries another.
func startFree(dir string) (*process, error) {
	var errs []error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		p, err := start(dir, port)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs redis-server on port, with nothing persisted, and waits until it answers PING.
// extra are more arguments for the server (a cluster node's).
func start(dir string, port int, extra ...string) (*process, error) {
	log := &syncBuffer{}
	args := []string{
		"--bind", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--unixsocket", socketPath(dir),
		"--unixsocketperm", "700",
		"--logfile", "", // to stdout, kept for the error message
		"--loglevel", "warning",
		"--daemonize", "no",
	}
	cmd := exec.Command(Binary, append(args, extra...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := launch(cmd); err != nil {
		return nil, err
	}
	p := &process{dir: dir, port: port, cmd: cmd, exited: make(chan struct{}), log: log}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	if err := p.waitReady(); err != nil {
		p.stop()
		return nil, fmt.Errorf("%w; its output: %s", err, strings.TrimSpace(log.String()))
	}
	return p, nil
}

// waitReady waits until the server answers PING, or has exited, or startTimeout passed.
func (p *process) waitReady() error {
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", p.port), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited: %v", Binary, p.cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s on port %d did not answer PING within %v: %v", Binary, p.port, startTimeout, err)
		}
	}
}

// launcher starts every server from one goroutine locked to its OS thread, which never
// exits. Linux sends the parent-death signal when the thread that started the child ends,
// not the process; with a thread that lives as long as the process, the servers die with
// the test binary, however it ends.
var launcher struct {
	once sync.Once
	reqs chan launchReq
}

type launchReq struct {
	cmd  *exec.Cmd
	done chan error
}

func launch(cmd *exec.Cmd) error {
	launcher.once.Do(func() {
		launcher.reqs = make(chan launchReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread must outlive every server
			for r := range launcher.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	setDeathSignal(cmd)
	done := make(chan error, 1)
	launcher.reqs <- launchReq{cmd, done}
	return <-done
}

// syncBuffer is a bytes.Buffer that the server's output and a reader may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
