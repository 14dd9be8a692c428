package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/userquery"
)

func TestUserSearchStep(t *testing.T) {
	if !strings.Contains(migrations[userSearchStep-1], "CREATE TABLE user_search") {
		t.Fatalf("migration %d does not create user_search: userSearchStep is stale", userSearchStep)
	}
	// The index serves email.domain only while its expression is emailDomain's.
	if !strings.Contains(migrations[userSearchStep-1], "ON users ("+emailDomain+")") {
		t.Error("users_email_domain is not on the expression of emailDomain")
	}
}

// A database from before user search gets user_search filled from its users when it is
// opened.
func TestMigrateIndexesExistingUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	db, err := sql.Open("sqlite", dsn(path, Options{BusyTimeout: 5 * time.Second, Synchronous: "NORMAL"}, false))
	if err != nil {
		t.Fatal(err)
	}
	steps := append(slices.Clone(migrations[:userSearchStep-1]), fmt.Sprintf(`PRAGMA user_version = %d`, userSearchStep-1))
	for i := range 1200 { // more than one batch of indexAllUsers
		steps = append(steps, fmt.Sprintf(`INSERT INTO users (id, connection, email, name, user_metadata, app_metadata)
			VALUES ('auth0|%04d', 'db', 'u%d@example.com', 'User %d', '{"plan":"%s","n":%d}', '{"roles":["r%d"]}')`,
			i, i, i, []string{"gold", "free"}[i%2], i, i%3))
	}
	for _, q := range steps {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			t.Fatalf("build an old database: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open of an old database: %v", err)
	}
	defer s.Close()
	for q, want := range map[string]int{
		`user_metadata.plan:gold`: 600, `user_metadata.n:[* TO 9]`: 0, `user_metadata.n:7`: 1,
		`app_metadata.roles:r1`: 400, `name:"user 1199"`: 1, `name:user\ 11*`: 111,
	} {
		n, err := userquery.Parse(q)
		if err != nil {
			// user_metadata ranges are refused; the count stays as wanted.
			continue
		}
		_, total, err := s.SearchUsers(t.Context(), n, storage.UserSort{}, storage.Page{PerPage: 1})
		if err != nil || total != want {
			t.Errorf("q=%s after the upgrade: total %d, %v; want %d", q, total, err, want)
		}
	}
}

// The plans the 20 ms goal rests on (BenchmarkSearch100k): each query reaches its users
// through an index, and a search's SQL never enters the prepared-statement cache.
func TestSearchPlans(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	users := make([]storage.User, 300)
	for i := range users {
		users[i] = searchBenchUser(i)
	}
	bulkCreateUsers(t, s, users)
	for q, want := range map[string][]string{
		`email:"user5@example.com"`:                              {"INDEX users_email_created"},
		`email.domain:example.com`:                               {"INDEX users_email_domain"},
		`user_metadata.plan:gold AND logins_count:[5 TO *]`:      {"USING PRIMARY KEY (field=? AND kind=? AND value=?)", "COVERING INDEX users_search_filter"},
		`app_metadata.tier:4`:                                    {"user_search USING PRIMARY KEY"},
		`name:user\ 1*`:                                          {"user_search USING PRIMARY KEY"},
		`_exists_:user_metadata.prefs AND user_id:auth0\|abc*`:   {"user_search USING PRIMARY KEY"},
		`user_metadata.plan:gold AND NOT email.domain:x.org`:     {"USING PRIMARY KEY (field=? AND kind=? AND value=?)"},
		`app_metadata.roles:user OR user_metadata.lang:"fr"`:     {"user_search USING PRIMARY KEY"},
		`created_at:[2024-01-01 TO 2024-01-02] AND blocked:true`: {"INDEX users_created"},
	} {
		n, err := userquery.Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		where, args, err := func() (string, []any, error) {
			var w whereBuilder
			err := w.node(n)
			return " WHERE " + w.b.String(), w.args, err
		}()
		if err != nil {
			t.Fatal(err)
		}
		count, countArgs, err := countQuery(n, where, args)
		if err != nil {
			t.Fatal(err)
		}
		plan := queryPlan(t, s, count, countArgs)
		for _, w := range want {
			if !strings.Contains(plan, w) {
				t.Errorf("q=%s: count plan %q lacks %q", q, plan, w)
			}
		}
		if strings.Contains(plan, "SCAN users") && !strings.Contains(plan, "SCAN users USING") {
			t.Errorf("q=%s: count reads the whole table: %s", q, plan)
		}
	}

	// Every search's SQL stays out of the cache of prepared statements.
	cached := func() int {
		n := 0
		s.r.m.Range(func(_, _ any) bool { n++; return true })
		return n
	}
	before := cached()
	for i := range 50 {
		n, err := userquery.Parse(fmt.Sprintf(`user_metadata.plan:gold AND logins_count:[%d TO *] OR name:"x%d"`, i, i))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SearchUsers(t.Context(), n, storage.UserSort{Field: "email"}, storage.Page{PerPage: 5}); err != nil {
			t.Fatal(err)
		}
	}
	if after := cached(); after != before {
		t.Errorf("prepared statements: %d before the searches, %d after", before, after)
	}
}

func queryPlan(t *testing.T, s *Store, query string, args []any) string {
	t.Helper()
	rows, err := s.r.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	return strings.Join(steps, " | ")
}

// A page in created_at order walks users_created and probes user_search per user when
// that reads fewer rows than gathering every match; the two plans find the same page.
func TestSearchWalkMatchesGather(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	users := make([]storage.User, 2000)
	for i := range users {
		users[i] = searchBenchUser(i)
	}
	bulkCreateUsers(t, s, users)
	n, err := userquery.Parse(`user_metadata.lang:fr AND NOT app_metadata.tier:1`)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []storage.Page{{PerPage: 10}, {Page: 3, PerPage: 50}, {Page: 1, PerPage: 100}} {
		for _, desc := range []bool{false, true} {
			sort := storage.UserSort{Field: "created_at", Desc: desc}
			got, total, err := s.SearchUsers(t.Context(), n, sort, p)
			if err != nil {
				t.Fatal(err)
			}
			// The same page, gathered: sort by created_at through the generic path
			// (updated_at equals created_at in these users).
			want, wantTotal, err := s.SearchUsers(t.Context(), n, storage.UserSort{Field: "updated_at", Desc: desc}, p)
			if err != nil {
				t.Fatal(err)
			}
			if total != wantTotal || !slices.Equal(userIDs(got), userIDs(want)) {
				t.Errorf("page %+v desc=%v: walked %v (total %d), gathered %v (total %d)", p, desc, userIDs(got), total, userIDs(want), wantTotal)
			}
		}
	}
	var w whereBuilder
	w.correlated = true
	if err := w.node(n); err != nil {
		t.Fatal(err)
	}
	plan := queryPlan(t, s, `SELECT id FROM users INDEXED BY users_created WHERE `+w.b.String()+` ORDER BY created_at LIMIT 10`, w.args)
	if !strings.Contains(plan, "SCAN users USING COVERING INDEX users_created") || strings.Contains(plan, "LIST SUBQUERY") {
		t.Errorf("walk plan: %s", plan)
	}
	scan, err := scanCheaper(t.Context(), s.r, storage.Page{PerPage: 10}, 700)
	if err != nil || !scan {
		t.Errorf("scanCheaper(10 of 700 in 2000) = %v, %v; want true", scan, err)
	}
	scan, err = scanCheaper(t.Context(), s.r, storage.Page{PerPage: 100}, 20)
	if err != nil || scan {
		t.Errorf("scanCheaper(100 of 20 in 2000) = %v, %v; want false", scan, err)
	}
}

func userIDs(users []storage.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}
