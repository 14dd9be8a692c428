// Package mongotest gives tests a MongoDB to talk to: the server named by
// $LATCH_TEST_MONGO_URI when it is set, or else FerretDB (its SQLite handler) embedded in the
// test process, listening on 127.0.0.1 with its data in a temporary directory. Either way the
// server is real: the driver speaks the wire protocol to it over TCP.
//
// Every URI names a database of its own, so tests using it can run in parallel; the database
// is dropped when the test ends. Tests that need to take the server down (to see what a
// store does while it is away) start a Server of their own: stopping the shared one would
// break every other test.
package mongotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// EnvURI names the variable that points the tests at a real MongoDB, e.g.
// mongodb://127.0.0.1:27017/?replicaSet=rs0.
const EnvURI = "LATCH_TEST_MONGO_URI"

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
	sharedDir  string
)

// URI returns the URI of a new, empty database for t, on the real MongoDB of
// $LATCH_TEST_MONGO_URI or else on the embedded FerretDB that the test binary shares. The
// database is dropped when t ends.
func URI(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURI)
	if base == "" {
		sharedOnce.Do(func() {
			// The shared server outlives every test, so its directory cannot be a
			// t.TempDir; it goes when the process ends (see Main) or with the OS's /tmp.
			sharedDir, sharedErr = os.MkdirTemp("", "latch-ferretdb-")
			if sharedErr != nil {
				return
			}
			shared, sharedErr = startServer(sharedDir, "127.0.0.1:0")
		})
		if sharedErr != nil {
			t.Fatalf("mongotest: start embedded FerretDB: %v", sharedErr)
		}
		base = shared.baseURI()
	}
	uri, err := withDatabase(base, newDatabaseName())
	if err != nil {
		t.Fatalf("mongotest: %s: %v", EnvURI, err)
	}
	t.Cleanup(func() { dropDatabase(t, uri) })
	return uri
}

// Main runs the tests of a package that uses URI, then stops the shared server and removes
// its files: call it from TestMain as os.Exit(mongotest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	if sharedDir != "" {
		_ = os.RemoveAll(sharedDir)
	}
	return code
}

// Server is an embedded FerretDB that a test owns: it can be stopped and started again on
// the same port with the same data, as a MongoDB server restarting would be.
type Server struct {
	dir  string
	addr string // 127.0.0.1:port, fixed at the first start

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start starts an embedded FerretDB for t alone, with its data in a t.TempDir; it is
// stopped when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := startServer(t.TempDir(), "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mongotest: start embedded FerretDB: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// URI returns the URI of a new database on s. It stays valid across Stop and Restart.
func (s *Server) URI(t testing.TB) string {
	t.Helper()
	uri, err := withDatabase(s.baseURI(), newDatabaseName())
	if err != nil {
		t.Fatal(err)
	}
	return uri
}

func (s *Server) baseURI() string { return "mongodb://" + s.addr + "/" }

// Stop shuts the server down and waits until its listener and every connection are
// closed. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
	s.cancel, s.done = nil, nil
}

// Restart starts a stopped server again on the same address, with the data it had.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		t.Fatal("mongotest: Restart of a running server")
	}
	// The port was just released; another process may hold it for a moment (TIME_WAIT does
	// not block a listener, but a racing bind might).
	var err error
	for range 50 {
		if err = s.run(s.addr); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("mongotest: restart FerretDB on %s: %v", s.addr, err)
}

func startServer(dir, addr string) (*Server, error) {
	s := &Server{dir: dir}
	if err := s.run(addr); err != nil {
		return nil, err
	}
	return s, nil
}

// run starts FerretDB on addr and records the address it listens on. s.mu is held or s is
// not shared yet.
func (s *Server) run(addr string) error {
	// FerretDB's New does not report a port in use until it listens; check first, so that
	// Restart can retry instead of hanging on an address it will never get.
	if addr != "127.0.0.1:0" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		_ = l.Close()
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: (&url.URL{Scheme: "file", Path: s.dir + "/"}).String(),
		// Errors only: FerretDB logs every connection at info level, and every command it
		// does not know (the driver's endSessions) as a warning.
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	// MongoDBURI waits for the listener; its host is the address actually bound.
	u, err := url.Parse(f.MongoDBURI())
	if err != nil {
		cancel()
		<-done
		return err
	}
	s.addr, s.cancel, s.done = u.Host, cancel, done
	return nil
}

// newDatabaseName is unique per call: tests in parallel never share a database.
func newDatabaseName() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "latchtest_" + hex.EncodeToString(b)
}

// withDatabase puts db in the path of uri, keeping its hosts and options.
func withDatabase(uri, db string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", err
	}
	if u.Scheme != "mongodb" && u.Scheme != "mongodb+srv" {
		return "", fmt.Errorf("not a MongoDB URI: %q", redact(uri))
	}
	u.Path = "/" + db
	return u.String(), nil
}

// redact drops the password of a URI before it is printed.
func redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "(unparsable URI)"
	}
	return u.Redacted()
}

func dropDatabase(t testing.TB, uri string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(10 * time.Second))
	if err != nil {
		t.Logf("mongotest: drop test database: %v", err)
		return
	}
	defer func() { _ = c.Disconnect(ctx) }()
	db := strings.TrimPrefix(mustPath(uri), "/")
	if err := c.Database(db).Drop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("mongotest: drop test database %s: %v", db, err)
	}
}

func mustPath(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	return u.Path
}
