package main

// PostgreSQL for FerretDB's PostgreSQL handler (-ferretdb postgresql): Debian's postgresql,
// a cluster of its own in a temporary directory, on a free loopback port.
//
// FerretDB v1 pushes an equality filter down to PostgreSQL as `_jsonb->'field' @> value`,
// but creates its indexes as B-trees on `_jsonb->'field'`, which serve =, <, > and never @>:
// every lookup, even by _id, is then a sequential scan of the table (EXPLAIN shows a
// Parallel Seq Scan). A GIN index on the same expression does serve @>. With -pg-gin,
// latchbench adds one beside each of FerretDB's indexes (addGINIndexes), so that the
// MongoDB figures measure latch's queries on indexes, as on MongoDB, rather than FerretDB's
// scans. FerretDB does not know these indexes; they are a benchmark's stand-in for the
// indexes a real MongoDB would use, not a way to run latch in production.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type postgres struct {
	bin     string // the directory of initdb, postgres and psql
	version string
	dir     string
	port    int
	cmd     *exec.Cmd
	cred    *syscall.Credential // the postgres user's, when latchbench runs as root
}

// url is what FerretDB connects to.
func (p *postgres) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/ferretdb?pool_max_conns=20", p.port)
}

func startPostgres() (*postgres, error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		return nil, fmt.Errorf("no /usr/lib/postgresql/*/bin/postgres (Debian package postgresql)")
	}
	slices.SortFunc(bins, func(a, b string) int { return pgMajor(a) - pgMajor(b) })
	p := &postgres{bin: filepath.Dir(bins[len(bins)-1])}
	p.version = strconv.Itoa(pgMajor(bins[len(bins)-1]))
	var err error
	if p.dir, err = os.MkdirTemp("", "latchbench-postgres-"); err != nil {
		return nil, err
	}
	// PostgreSQL refuses to run as root: as root, run it as Debian's postgres user.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, and no postgres user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(p.dir, uid, gid); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(p.dir, "data")
	initdb := p.command("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(p.dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	if p.port, err = freePort(); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(p.dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	p.cmd = p.command("postgres", "-D", data, "-p", strconv.Itoa(p.port), "-c", "listen_addresses=127.0.0.1", "-k", p.dir)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := launch(p.cmd); err != nil {
		os.RemoveAll(p.dir)
		return nil, err
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		err := p.psqlDB("postgres", "CREATE DATABASE ferretdb")
		if err == nil {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("PostgreSQL did not start: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pgMajor is the major version in /usr/lib/postgresql/15/bin/postgres.
func pgMajor(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

func (p *postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Dir = p.dir
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd
}

// psql runs sql in FerretDB's database.
func (p *postgres) psql(sql string) error { return p.psqlDB("ferretdb", sql) }

func (p *postgres) psqlDB(db, sql string) error {
	_, err := p.query(db, sql)
	return err
}

func (p *postgres) query(db, sql string) (string, error) {
	cmd := p.command("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
		"-p", strconv.Itoa(p.port), "-U", "postgres", "-d", db, "-c", sql)
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return "", fmt.Errorf("psql %q: %w: %s", sql, err, ee.Stderr)
		}
		return "", fmt.Errorf("psql %q: %w", sql, err)
	}
	return string(out), nil
}

// addGINIndexes adds the GIN indexes of FerretDB's tables in database db (see the file's
// comment) and returns how many it made.
func (p *postgres) addGINIndexes(db string) (int, error) {
	if !safeName.MatchString(db) {
		return 0, fmt.Errorf("database name %q", db)
	}
	out, err := p.query("ferretdb", fmt.Sprintf(`SELECT _jsonb::text FROM %q._ferretdb_database_metadata`, db))
	if err != nil {
		return 0, err
	}
	stmts, err := ginStatements(db, strings.Split(strings.TrimSpace(out), "\n"))
	if err != nil {
		return 0, err
	}
	for _, s := range stmts {
		if err := p.psql(s); err != nil {
			return 0, err
		}
	}
	return len(stmts), nil
}

// safeName is what ginStatements puts in SQL unquoted or within quotes: latch's
// collection and field names and FerretDB's table names are all of this form.
var safeName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// ginSkip are fields of latch's indexes that get no GIN index: dates, which are compared
// by range and sorted on (FerretDB pushes neither down), and fields with a handful of values
// (connection, status, type, stage, order, n), whose posting lists would be most of the
// table: an equality on them never narrows a lookup that another field does not already.
var ginSkip = []string{"created_at", "expires_at", "idle_expires_at", "date", "connection", "status", "type", "stage", "order", "n"}

// ginStatements turns the rows of FerretDB's metadata table of schema (one JSON document
// per collection: its table and its indexes' keys) into CREATE INDEX statements: a GIN
// index on _jsonb->'field' for _id and for every top-level field of the collection's
// indexes but those of ginSkip.
func ginStatements(schema string, rows []string) ([]string, error) {
	var stmts []string
	for _, row := range rows {
		if strings.TrimSpace(row) == "" {
			continue
		}
		var coll struct {
			Table   string `json:"table"`
			Indexes []struct {
				Key map[string]any `json:"key"`
			} `json:"indexes"`
		}
		if err := json.Unmarshal([]byte(row), &coll); err != nil {
			return nil, fmt.Errorf("FerretDB metadata: %w", err)
		}
		if !safeName.MatchString(coll.Table) {
			return nil, fmt.Errorf("FerretDB metadata: table %q", coll.Table)
		}
		fields := []string{"_id"}
		for _, ix := range coll.Indexes {
			for f := range ix.Key {
				if safeName.MatchString(f) && !slices.Contains(ginSkip, f) && !slices.Contains(fields, f) {
					fields = append(fields, f)
				}
			}
		}
		slices.Sort(fields[1:])
		for _, f := range fields {
			stmts = append(stmts, fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q.%q USING gin ((_jsonb->'%s'))`,
				coll.Table+"_gin_"+strings.TrimPrefix(f, "_"), schema, coll.Table, f))
		}
	}
	return stmts, nil
}

// stop shuts PostgreSQL down (a fast shutdown) and removes its files.
func (p *postgres) stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(os.Interrupt)
		waitOrKill(p.cmd, 20*time.Second)
	}
	_ = os.RemoveAll(p.dir)
}
