package main

// The servers latch instances share in the scale runs: a MongoDB (one named by a URI, or
// FerretDB run by latchbench in a child process of its own, so that its CPU time is read
// apart from the load client's) and a Redis.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/redis/go-redis/v9"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// ferretChild is the -only value that makes latchbench the FerretDB child process.
const ferretChild = "ferretdb-child"

// mongoServer is the MongoDB of a run.
type mongoServer struct {
	uri   string // without a database
	label string
	// scans: every lookup but one by _id reads the whole collection (FerretDB v1's SQLite
	// handler; its PostgreSQL handler without the GIN indexes of postgres.go).
	scans bool
	procs []proc
	dbs   []string // the databases latch instances were given

	external bool
	dir      string // the SQLite handler's files
	child    *exec.Cmd
	pg       *postgres
	gin      bool
	indexed  []string // the databases that have their GIN indexes
}

// startMongo starts what o asks for: nothing when it names a MongoDB, else FerretDB with
// its SQLite handler (data in a temporary directory) or its PostgreSQL handler (on a
// PostgreSQL started for the run).
func startMongo(o scaleOptions) (*mongoServer, error) {
	if *o.mongoURI != "" {
		u, err := url.Parse(*o.mongoURI)
		if err != nil || (u.Scheme != "mongodb" && u.Scheme != "mongodb+srv") {
			return nil, fmt.Errorf("-mongo-uri: not a MongoDB URI")
		}
		return &mongoServer{uri: *o.mongoURI, label: "MongoDB at " + u.Host, external: true}, nil
	}
	m := &mongoServer{}
	var backendURL string
	switch *o.ferretdb {
	case "sqlite":
		dir, err := os.MkdirTemp("", "latchbench-ferretdb-")
		if err != nil {
			return nil, err
		}
		m.dir, backendURL = dir, (&url.URL{Scheme: "file", Path: dir + "/"}).String()
		m.label, m.scans = "FerretDB v1 (SQLite handler)", true
	case "postgresql":
		pg, err := startPostgres()
		if err != nil {
			return nil, fmt.Errorf("postgresql: %w", err)
		}
		m.pg, m.gin, backendURL = pg, *o.pgGIN, pg.url()
		m.procs = append(m.procs, proc{"PostgreSQL", func() time.Duration { return cpuTree(pg.cmd.Process.Pid) }})
		m.label, m.scans = "FerretDB v1 (PostgreSQL "+pg.version+" handler, no extra index)", true
		if m.gin {
			m.label, m.scans = "FerretDB v1 (PostgreSQL "+pg.version+" handler, with GIN indexes)", false
		}
	default:
		return nil, fmt.Errorf("-ferretdb %q: want sqlite or postgresql", *o.ferretdb)
	}
	exe, err := os.Executable()
	if err != nil {
		m.stop()
		return nil, err
	}
	cmd := exec.Command(exe, "-only", ferretChild, "-ferretdb", *o.ferretdb, "-ferretdb-url", backendURL)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		m.stop()
		return nil, err
	}
	if err := launch(cmd); err != nil {
		m.stop()
		return nil, err
	}
	m.child = cmd
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		m.stop()
		return nil, fmt.Errorf("FerretDB child: %w", err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	m.uri = strings.TrimSpace(strings.TrimPrefix(line, "URI "))
	pid := cmd.Process.Pid
	m.procs = append([]proc{{"FerretDB", func() time.Duration { return cpuTime(pid) }}}, m.procs...)
	return m, nil
}

// used notes a database that latch is given, to be dropped at the end on a MongoDB that
// outlives the run.
func (m *mongoServer) used(db string) {
	if !slices.Contains(m.dbs, db) {
		m.dbs = append(m.dbs, db)
	}
}

// afterFill runs once latch has created its collections and indexes in db and users were
// imported: with PostgreSQL, it adds the GIN indexes (once: building them over the
// imported rows is quicker than keeping them up to date through the import) and has the
// planner learn the tables' new sizes.
func (m *mongoServer) afterFill(db string) error {
	if m.pg == nil {
		return nil
	}
	if m.gin && !slices.Contains(m.indexed, db) {
		start := time.Now()
		n, err := m.pg.addGINIndexes(db)
		if err != nil {
			return err
		}
		m.indexed = append(m.indexed, db)
		fmt.Printf("(PostgreSQL: %d GIN indexes added beside FerretDB's own in %v, see postgres.go)\n", n, time.Since(start).Round(time.Millisecond))
	}
	return m.pg.psql("ANALYZE")
}

func (m *mongoServer) stop() {
	if m.external {
		for _, db := range m.dbs {
			dropDatabase(m.uri, db)
		}
	}
	if m.child != nil {
		_ = m.child.Process.Signal(os.Interrupt)
		waitOrKill(m.child, 20*time.Second)
	}
	if m.pg != nil {
		m.pg.stop()
	}
	if m.dir != "" {
		_ = os.RemoveAll(m.dir)
	}
}

// dropDatabase removes the database a run made on a MongoDB it was given.
func dropDatabase(uri, db string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		fmt.Fprintf(os.Stderr, "latchbench: drop database %s: %v\n", db, err)
		return
	}
	defer func() { _ = c.Disconnect(ctx) }()
	if err := c.Database(db).Drop(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "latchbench: drop database %s: %v\n", db, err)
	}
}

func waitOrKill(cmd *exec.Cmd, d time.Duration) {
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
	}
}

// serveFerretDB is the child process: FerretDB on a free loopback port, until interrupted
// (or until its parent dies: the parent asks the kernel for that signal). It prints
// "URI mongodb://..." once it listens.
func serveFerretDB(o scaleOptions) error {
	cfg := &ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:  *o.ferretdb,
		// Errors only: FerretDB logs every connection at info level.
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	}
	switch *o.ferretdb {
	case "sqlite":
		cfg.SQLiteURL = *o.childURL
	case "postgresql":
		cfg.PostgreSQLURL = *o.childURL
	}
	f, err := ferretdb.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	fmt.Printf("URI %s\n", f.MongoDBURI()) // MongoDBURI waits for the listener
	<-done
	return nil
}

// redisServer is Debian's redis-server on a free loopback port, nothing persisted.
type redisServer struct {
	dir  string
	port int
	cmd  *exec.Cmd
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func startRedis() (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not installed (Debian package redis-server): %w", err)
	}
	dir, err := os.MkdirTemp("", "latchbench-redis-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"), "--loglevel", "warning", "--daemonize", "no")
	if err := launch(cmd); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	r := &redisServer{dir: dir, port: port, cmd: cmd}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	for deadline := time.Now().Add(20 * time.Second); ; {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return r, nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			r.stop()
			return nil, fmt.Errorf("redis-server on port %d does not answer PING: %w; its log: %s", port, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *redisServer) stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	_ = os.RemoveAll(r.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// cpuTree is the CPU time of pid and of its descendants, the live ones and those it has
// waited for (PostgreSQL forks a process per connection and per parallel worker).
func cpuTree(pid int) time.Duration {
	parents := map[int][]int{}
	own := map[int]time.Duration{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, cpu, err := procStat(p)
		if err != nil {
			continue
		}
		parents[ppid] = append(parents[ppid], p)
		own[p] = cpu
	}
	var total time.Duration
	var walk func(int)
	walk = func(p int) {
		total += own[p]
		for _, child := range parents[p] {
			walk(child)
		}
	}
	walk(pid)
	return total
}

// procStat reads the parent of pid and the CPU time (user and system, its own and that of
// the children it waited for) from /proc/PID/stat, in ticks of 10 ms.
func procStat(pid int) (ppid int, cpu time.Duration, err error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, err
	}
	i := strings.LastIndexByte(string(data), ')')
	f := strings.Fields(string(data[i+1:]))
	if i < 0 || len(f) < 15 {
		return 0, 0, errors.New("short stat")
	}
	ppid, _ = strconv.Atoi(f[1])
	var ticks int64
	for _, s := range f[11:15] { // utime, stime, cutime, cstime
		n, _ := strconv.ParseInt(s, 10, 64)
		ticks += n
	}
	return ppid, time.Duration(ticks) * 10 * time.Millisecond, nil
}
