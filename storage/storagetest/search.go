package storagetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/userquery"
)

// The Search group: one fixed set of users and a table of q expressions with the exact
// users each must find. Every backend runs the same table; a backend that translates the
// query tree differently from the others fails here, not in production.

var searchTests = []subtest{
	{"Queries", testSearchQueries},
	{"Algebra", testSearchAlgebra},
	{"Sort", testSearchSort},
	{"Paging", testSearchPaging},
	{"FollowsWrites", testSearchFollowsWrites},
	{"Hostile", testSearchHostile},
}

// day is noon UTC on the nth day of January 2024 (n > 31 runs into February).
func day(n int) time.Time { return time.Date(2024, 1, n, 12, 0, 0, 0, time.UTC) }

// searchID is the id of fixture user n; user 7 comes from another provider.
func searchID(n int) string {
	if n == 7 {
		return "ad|s07"
	}
	return fmt.Sprintf("auth0|s%02d", n)
}

// searchUsers is the fixture. User n is created on day(n), so the default order is by n.
func searchUsers(t *testing.T) []storage.User {
	type fx struct {
		email, username, name, nickname, given, family string
		verified, blocked                              bool
		logins                                         int64
		lastLogin, updated                             int // days; 0 = never / created
		phone                                          string
		phoneVerified                                  bool
		lastIP, conn                                   string
		userMeta, appMeta                              string
	}
	fixtures := map[int]fx{
		1: {email: "Alice.Smith@Example.com", username: "alice", name: "Alice Smith", nickname: "alice", given: "Alice", family: "Smith",
			verified: true, logins: 5, lastLogin: 30, updated: 30, lastIP: "10.0.0.1",
			userMeta: `{"plan":"gold","lang":"en","prefs":{"fontSize":13,"theme":"dark"}}`, appMeta: `{"roles":["admin","billing"],"tier":3}`},
		2: {email: "bob.jones@example.com", name: "Bob Jones", nickname: "bobby", given: "Bob", family: "Jones",
			userMeta: `{"plan":"silver","addresses":[{"city":"Paris"},{"city":"Seattle"}]}`, appMeta: `{"roles":["billing"],"tier":1}`},
		3: {email: "carol@EXAMPLE.org", name: "Carol Danvers", nickname: "Captain", verified: true, blocked: true, logins: 12, lastLogin: 10,
			userMeta: `{"plan":"gold","approved":false}`, appMeta: `{"tier":2.5}`},
		4: {email: "dave@example.net", name: "Dave O'Brien", nickname: "dave", verified: true, logins: 1, lastLogin: 4,
			phone: "+15551234567", phoneVerified: true, userMeta: `{"lang":"fr"}`, appMeta: `{"flags":{"beta":true}}`},
		5: {email: "emile@example.fr", name: "Émile Zola", nickname: "ÉMILE", given: "Émile", family: "Zola", logins: 7, lastLogin: 20,
			userMeta: `{"plan":"Gold"}`, appMeta: `{"tier":"3"}`},
		6: {username: "Frank", name: "frank", nickname: "frank", logins: 3, phone: "+15550000006", conn: "usernames"},
		7: {email: "grace@example.com", name: "Grace Hopper", nickname: "grace", verified: true, logins: 100, lastLogin: 25,
			lastIP: "10.0.0.1", conn: "corp-ldap", userMeta: `{"prefs":{"fontSize":"13"}}`, appMeta: `{"roles":[]}`},
		8: {email: "heidi@sub.example.com", name: "Heidi Klum", nickname: "heidi", logins: 20,
			userMeta: `{"nested":{"deep":{"x":"y"},"none":null},"empty":{}}`},
		9:  {email: "ivan@example.com", name: "Ivan Petrov", logins: 2, userMeta: `{"tags":["a b","c:d"]}`, appMeta: `{"score":1e3}`},
		10: {email: "judy@example.com", name: "Judy*Star", logins: 4},
		11: {email: "kim@example.com", name: "100%_sure", logins: 4},
		12: {email: "leo@example.com", name: "Leo Tolstoy", given: "Leo", family: "Tolstoy", verified: true, logins: 9, updated: 40, lastIP: "10.0.0.2"},
		13: {email: "mallory@evil.example", name: "Mallory", blocked: true, logins: 50, lastLogin: 13,
			userMeta: `{"plan":"free"}`, appMeta: `{"roles":["admin"]}`},
		14: {email: "nina@example.com", username: "nina", name: "nina", verified: true, logins: 6,
			userMeta: `{"lang":"en","count":5}`, appMeta: `{"tier":10}`},
		15: {email: "oscar@example.com", name: "Oscar", logins: 8, userMeta: `{"count":5.0}`},
		16: {email: "peggy@example.com", name: "Peggy Olson", nickname: "peggy", verified: true, logins: 11, appMeta: `{"since":"2021-06-01"}`},
		17: {email: "quinn@example.com", name: "Quinn", logins: 13, appMeta: `{"since":"2019-03-15"}`},
		18: {email: "rupert@example.co.uk", name: "Rupert", verified: true, logins: 14},
		19: {email: "sybil@example.com", name: "Sybil", logins: 15, userMeta: `{"approved":true}`},
		20: {email: "trent@example.com", name: "Trent", given: "trent", verified: true, logins: 16, appMeta: `{"tier":-1}`},
	}
	users := make([]storage.User, 0, len(fixtures))
	for n := 1; n <= len(fixtures); n++ {
		f := fixtures[n]
		meta := func(s string) storage.Metadata {
			if s == "" {
				return storage.Metadata{}
			}
			return mustMetadata(t, s)
		}
		u := storage.User{
			ID: searchID(n), Connection: "Username-Password-Authentication",
			Email: f.email, EmailVerified: f.verified, Username: f.username,
			PhoneNumber: f.phone, PhoneVerified: f.phoneVerified,
			Name: f.name, Nickname: f.nickname, GivenName: f.given, FamilyName: f.family,
			Picture:      "https://example.com/p.png",
			UserMetadata: meta(f.userMeta), AppMetadata: meta(f.appMeta),
			Blocked: f.blocked, CreatedAt: day(n), UpdatedAt: day(n), LastIP: f.lastIP, LoginsCount: f.logins,
		}
		if f.conn != "" {
			u.Connection = f.conn
		}
		if f.updated != 0 {
			u.UpdatedAt = day(f.updated)
		}
		if f.lastLogin != 0 {
			u.LastLogin = day(f.lastLogin)
		}
		users = append(users, u)
	}
	return users
}

func seedSearch(t *testing.T, s storage.Store) {
	t.Helper()
	for _, u := range searchUsers(t) {
		createUser(t, s, u)
	}
}

func all(except ...int) []int {
	var out []int
	for n := 1; n <= 20; n++ {
		if !slices.Contains(except, n) {
			out = append(out, n)
		}
	}
	return out
}

// searchCases: q and the fixture users it finds, in any order.
var searchCases = []struct {
	q    string
	want []int
}{
	// Whole values; email and the names compare case-insensitively.
	{`email:alice.smith@example.com`, []int{1}},
	{`email:"ALICE.SMITH@EXAMPLE.COM"`, []int{1}},
	{`email:alice*`, []int{1}},
	{`email.domain:example.com`, []int{1, 2, 7, 9, 10, 11, 12, 14, 15, 16, 17, 19, 20}},
	{`email.domain:"EXAMPLE.ORG"`, []int{3}},
	{`email.domain:example.co*`, []int{1, 2, 7, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20}},
	{`name:"alice smith"`, []int{1}},
	{`name:Alice\ Smith`, []int{1}},
	{`name:alice`, nil}, // not a word of the name: v3 does not tokenize
	{`name:ali*`, []int{1}},
	{`name:*smith`, []int{1}},
	{`name:*ols*`, []int{12, 16}},
	{`nickname:émile`, []int{5}},
	{`nickname:captain`, []int{3}},
	{`given_name:ÉMILE AND family_name:zola`, []int{5}},
	{`given_name:trent`, []int{20}},
	{`family_name:tol*`, []int{12}},
	{`name:[a TO c}`, []int{1, 2}},
	// Special characters are literal: no LIKE or GLOB leaks through.
	{`name:judy\*star`, []int{10}},
	{`name:judy*`, []int{10}},
	{`name:100%_sure`, []int{11}},
	{`name:100%*`, []int{11}},
	{`name:*_su*`, []int{11}},
	{`name:*%_s*`, []int{11}},
	{`name:"dave o'brien"`, []int{4}},
	// Case-sensitive text fields and the identities.
	{`user_id:"auth0|s01"`, []int{1}},
	{`user_id:auth0*`, all(7)},
	{`user_id:AUTH0*`, nil},
	{`identities.connection:corp-ldap`, []int{7}},
	{`identities.provider:ad`, []int{7}},
	{`identities.user_id:s01`, []int{1}},
	{`username:FRANK`, []int{6}},
	{`_exists_:username`, []int{1, 6, 14}},
	{`last_ip:"10.0.0.1"`, []int{1, 7}},
	// Numbers and ranges.
	{`logins_count:5`, []int{1}},
	{`logins_count:[5 TO 12]`, []int{1, 3, 5, 12, 14, 15, 16}},
	{`logins_count:{5 TO 12}`, []int{5, 12, 14, 15, 16}},
	{`logins_count:[100 TO *]`, []int{7}},
	{`logins_count:{15 TO *]`, []int{7, 8, 13, 20}},
	{`logins_count:[* TO 1]`, []int{2, 4}},
	// Dates: a partial date is an interval; bounds round as Elasticsearch's do.
	{`created_at:[2024-01-03 TO 2024-01-05]`, []int{3, 4, 5}},
	{`created_at:{2024-01-03 TO 2024-01-05}`, []int{4}},
	{`created_at:2024-01-02`, []int{2}},
	{`created_at:[2024-01-19T12:00:00.000Z TO *]`, []int{19, 20}},
	{`created_at:{2024-01-19T12:00:00.000Z TO *]`, []int{20}},
	{`created_at:[2024-01-02T13:00+02:00 TO 2024-01-02T12]`, []int{2}},
	{`created_at:[2024-01-02T11:00+02:00 TO 2024-01-02T11]`, nil},
	{`updated_at:2024-02`, []int{12}},
	{`last_login:[* TO 2024-01-10]`, []int{3, 4}},
	{`_exists_:last_login`, []int{1, 3, 4, 5, 7, 13}},
	{`NOT _exists_:last_login`, all(1, 3, 4, 5, 7, 13)},
	{`NOT last_login:[2024-01-05 TO *]`, all(1, 3, 5, 7, 13)},
	// Booleans: email_verified and phone_verified exist only with an email or a phone.
	{`email_verified:true`, []int{1, 3, 4, 7, 12, 14, 16, 18, 20}},
	{`email_verified:false`, []int{2, 5, 8, 9, 10, 11, 13, 15, 17, 19}},
	{`blocked:true`, []int{3, 13}},
	{`blocked:false`, all(3, 13)},
	{`phone_verified:true`, []int{4}},
	{`phone_verified:false`, []int{6}},
	{`_exists_:phone_number`, []int{4, 6}},
	// Metadata: case-sensitive, typed, nested, arrays flattened, empty values not indexed.
	{`user_metadata.plan:gold`, []int{1, 3}},
	{`user_metadata.plan:"Gold"`, []int{5}},
	{`user_metadata.plan:*`, []int{1, 2, 3, 5, 13}},
	{`user_metadata.prefs.fontSize:13`, []int{1, 7}},
	{`user_metadata.addresses.city:"Seattle"`, []int{2}},
	{`_exists_:user_metadata.prefs`, []int{1, 7}},
	{`_exists_:user_metadata.nested`, []int{8}},
	{`_exists_:user_metadata.nested.none`, nil},
	{`_exists_:user_metadata.empty`, nil},
	{`_exists_:user_metadata`, []int{1, 2, 3, 4, 5, 7, 8, 9, 13, 14, 15, 19}},
	{`user_metadata.approved:false`, []int{3}},
	{`user_metadata.approved:true`, []int{19}},
	{`user_metadata.tags:"c:d"`, []int{9}},
	{`user_metadata.tags:a\ b`, []int{9}},
	{`user_metadata.count:5`, []int{14, 15}},
	{`app_metadata.roles:admin`, []int{1, 13}},
	{`app_metadata.roles:billing`, []int{1, 2}},
	{`_exists_:app_metadata.roles`, []int{1, 2, 13}},
	{`app_metadata.tier:3`, []int{1, 5}},
	{`app_metadata.tier:[2 TO 3]`, []int{1, 3}},
	{`app_metadata.tier:[* TO 1]`, []int{2, 20}},
	{`app_metadata.flags.beta:true`, []int{4}},
	{`app_metadata.score:1000`, []int{9}},
	{`app_metadata.since:[2020-01-01 TO *]`, []int{16}},
	{`app_metadata.since:20*`, []int{16, 17}},
	// Operators, groups, bare values.
	{`(user_metadata.plan:gold OR user_metadata.plan:silver) AND NOT blocked:true`, []int{1, 2}},
	{`name:(alice* OR bob*)`, []int{1, 2}},
	{`user_metadata.plan:gold user_metadata.plan:silver`, []int{1, 2, 3}},
	{`user_metadata.plan:gold NOT blocked:true`, []int{1}},
	{`email.domain:example.com AND logins_count:[10 TO *]`, []int{7, 16, 17, 19, 20}},
	{`NOT email.domain:example.com`, []int{3, 4, 5, 6, 8, 13, 18}},
	{`NOT (blocked:true OR email_verified:true)`, []int{2, 5, 6, 8, 9, 10, 11, 15, 17, 19}},
	{`NOT NOT blocked:true`, []int{3, 13}},
	{`alice`, []int{1}},
	{`"Bob Jones"`, []int{2}},
	{`heidi*`, []int{8}},
	{`*`, all()},
}

func searchIDs(t *testing.T, s storage.Store, q string, sort storage.UserSort, page storage.Page) ([]string, int) {
	t.Helper()
	n, err := userquery.Parse(q)
	if err != nil {
		t.Fatalf("Parse(%s): %v", q, err)
	}
	users, total, err := s.SearchUsers(t.Context(), n, sort, page)
	if err != nil {
		t.Fatalf("SearchUsers(%s): %v", q, err)
	}
	return ids(users, func(u storage.User) string { return u.ID }), total
}

func wantIDs(ns []int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = searchID(n)
	}
	return out
}

func testSearchQueries(t *testing.T, s storage.Store) {
	seedSearch(t, s)
	if len(searchCases) < 40 {
		t.Fatalf("only %d cases", len(searchCases))
	}
	for _, tc := range searchCases {
		t.Run(tc.q, func(t *testing.T) {
			got, total := searchIDs(t, s, tc.q, storage.UserSort{}, storage.Page{PerPage: 100})
			slices.Sort(got)
			want := wantIDs(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("q=%s\n got %v\nwant %v", tc.q, got, want)
			}
			if total != len(want) {
				t.Errorf("q=%s: total %d, want %d", tc.q, total, len(want))
			}
		})
	}
	// A search returns whole users, as GetUser does.
	users, _, err := s.SearchUsers(t.Context(), mustParse(t, `user_metadata.plan:gold AND blocked:false`), storage.UserSort{}, storage.Page{PerPage: 10})
	must(t, "SearchUsers", err)
	if len(users) != 1 {
		t.Fatalf("found %d users, want 1", len(users))
	}
	assertEqual(t, "searched user", users[0], getUser(t, s, searchID(1)))
}

// testSearchAlgebra: AND, OR and NOT of the table's queries find the intersection, the
// union and the complement of what the parts find, with totals to match, whatever the
// backend's plan for the combination.
func testSearchAlgebra(t *testing.T, s storage.Store) {
	seedSearch(t, s)
	var parts []string
	for _, tc := range searchCases {
		if tc.q != "*" {
			parts = append(parts, tc.q)
		}
	}
	found := map[string]map[string]bool{}
	set := func(q string) map[string]bool {
		t.Helper()
		if r, ok := found[q]; ok {
			return r
		}
		got, total := searchIDs(t, s, q, storage.UserSort{}, storage.Page{PerPage: 100})
		if total != len(got) {
			t.Errorf("q=%s: total %d for %d users", q, total, len(got))
		}
		r := map[string]bool{}
		for _, id := range got {
			r[id] = true
		}
		found[q] = r
		return r
	}
	everyone := set("*")
	check := func(q string, want func(id string) bool) {
		t.Helper()
		got := set(q)
		for id := range everyone {
			if got[id] != want(id) {
				t.Errorf("q=%s: user %s found %v, want %v", q, id, got[id], want(id))
			}
		}
	}
	// A fixed walk through the pairs: every part is combined with a few others.
	for i, a := range parts {
		for _, step := range []int{1, 7, 23} {
			b := parts[(i+step)%len(parts)]
			A, B := set(a), set(b)
			check("("+a+") AND ("+b+")", func(id string) bool { return A[id] && B[id] })
			check("("+a+") OR ("+b+")", func(id string) bool { return A[id] || B[id] })
			check("("+a+") AND NOT ("+b+")", func(id string) bool { return A[id] && !B[id] })
		}
		A := set(a)
		check("NOT ("+a+")", func(id string) bool { return !A[id] })
	}
}

func mustParse(t *testing.T, q string) userquery.Node {
	t.Helper()
	n, err := userquery.Parse(q)
	if err != nil {
		t.Fatalf("Parse(%s): %v", q, err)
	}
	return n
}

func testSearchSort(t *testing.T, s storage.Store) {
	seedSearch(t, s)
	page := storage.Page{PerPage: 100}
	for _, tc := range []struct {
		q    string
		sort storage.UserSort
		want []int
	}{
		{`*`, storage.UserSort{}, all()},
		{`*`, storage.UserSort{Field: "created_at"}, all()},
		{`*`, storage.UserSort{Field: "created_at", Desc: true}, []int{20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
		// Ties (10 and 11 have 4 logins) go by created_at in the sort's direction.
		{`email.domain:example.com`, storage.UserSort{Field: "logins_count", Desc: true}, []int{7, 20, 19, 17, 16, 12, 15, 14, 1, 11, 10, 9, 2}},
		{`email.domain:example.com`, storage.UserSort{Field: "logins_count"}, []int{2, 9, 10, 11, 1, 14, 15, 12, 16, 17, 19, 20, 7}},
		// No email sorts first ascending.
		{`*`, storage.UserSort{Field: "email"}, []int{6, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}},
		// Never logged in sorts last descending.
		{`*`, storage.UserSort{Field: "last_login", Desc: true}, []int{1, 7, 5, 13, 3, 4, 20, 19, 18, 17, 16, 15, 14, 12, 11, 10, 9, 8, 6, 2}},
		{`_exists_:last_login`, storage.UserSort{Field: "last_login"}, []int{4, 3, 13, 5, 7, 1}},
		{`blocked:false AND _exists_:username`, storage.UserSort{Field: "username", Desc: true}, []int{14, 6, 1}},
		{`email_verified:true`, storage.UserSort{Field: "updated_at", Desc: true}, []int{12, 1, 20, 18, 16, 14, 7, 4, 3}},
		{`_exists_:app_metadata.tier`, storage.UserSort{Field: "user_id"}, []int{1, 2, 3, 5, 14, 20}},
	} {
		got, _ := searchIDs(t, s, tc.q, tc.sort, page)
		if want := wantIDs(tc.want); !slices.Equal(got, want) {
			t.Errorf("q=%s sort=%+v\n got %v\nwant %v", tc.q, tc.sort, got, want)
		}
	}
	// Without a query, the default order is ListUsers' order.
	listed, _, err := s.ListUsers(t.Context(), page)
	must(t, "ListUsers", err)
	searched, total, err := s.SearchUsers(t.Context(), nil, storage.UserSort{}, page)
	must(t, "SearchUsers(nil)", err)
	if total != 20 || !slices.Equal(ids(listed, userID), ids(searched, userID)) {
		t.Errorf("SearchUsers(nil) = %v (total %d), ListUsers = %v", ids(searched, userID), total, ids(listed, userID))
	}
	if _, _, err := s.SearchUsers(t.Context(), nil, storage.UserSort{Field: "user_metadata.plan"}, page); err == nil {
		t.Error("sort by metadata: no error")
	}
}

func userID(u storage.User) string { return u.ID }

func testSearchPaging(t *testing.T, s storage.Store) {
	seedSearch(t, s)
	const q = `user_id:auth0*`
	sort := storage.UserSort{Field: "logins_count", Desc: true}
	full, total := searchIDs(t, s, q, sort, storage.Page{PerPage: 100})
	if total != 19 || len(full) != 19 {
		t.Fatalf("%s: %d users, total %d; want 19", q, len(full), total)
	}
	var paged []string
	for p := 0; ; p++ {
		got, total := searchIDs(t, s, q, sort, storage.Page{Page: p, PerPage: 4})
		if total != 19 {
			t.Errorf("page %d: total %d, want 19", p, total)
		}
		if len(got) > 4 {
			t.Fatalf("page %d: %d users", p, len(got))
		}
		paged = append(paged, got...)
		if len(got) < 4 {
			break
		}
	}
	if !slices.Equal(paged, full) {
		t.Errorf("pages %v\nwant  %v", paged, full)
	}
	got, total := searchIDs(t, s, q, sort, storage.Page{Page: 1000, PerPage: 4})
	if len(got) != 0 || total != 19 {
		t.Errorf("page past the end: %v, total %d", got, total)
	}
}

// The index a backend keeps for search follows every write: create, update (also one that
// changes the metadata maps in place), update with a password, delete.
func testSearchFollowsWrites(t *testing.T, s storage.Store) {
	ctx := t.Context()
	find := func(q string) []string {
		t.Helper()
		got, _ := searchIDs(t, s, q, storage.UserSort{}, storage.Page{PerPage: 10})
		return got
	}
	expect := func(q string, want ...string) {
		t.Helper()
		if got := find(q); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("q=%s: %v, want %v", q, got, want)
		}
	}
	u := newUser("db", "zed@example.com", 1)
	u.Name = "Zed"
	u.UserMetadata = storage.Metadata{"plan": "bronze"}
	u.AppMetadata = storage.Metadata{"roles": []any{"viewer"}}
	createUser(t, s, u)
	expect(`user_metadata.plan:bronze`, u.ID)
	expect(`name:zed`, u.ID)

	_, err := s.UpdateUser(ctx, u.ID, func(v storage.User) (storage.User, error) {
		v.Name = "Zack"
		v.UserMetadata = storage.Metadata{"plan": "platinum"}
		return v, nil
	})
	must(t, "UpdateUser", err)
	expect(`user_metadata.plan:bronze`)
	expect(`user_metadata.plan:platinum`, u.ID)
	expect(`name:zed`)
	expect(`name:zack`, u.ID)

	_, err = s.UpdateUser(ctx, u.ID, func(v storage.User) (storage.User, error) {
		v.UserMetadata["plan"] = "diamond" // in place
		return v, nil
	})
	must(t, "UpdateUser in place", err)
	expect(`user_metadata.plan:platinum`)
	expect(`user_metadata.plan:diamond`, u.ID)

	_, err = s.UpdateUser(ctx, u.ID, func(v storage.User) (storage.User, error) {
		v.LoginsCount++
		v.LastLogin = at(100)
		return v, nil
	})
	must(t, "UpdateUser (a login)", err)
	expect(`user_metadata.plan:diamond AND app_metadata.roles:viewer AND logins_count:2`, u.ID)

	_, err = s.UpdateUserAndPassword(ctx, u.ID, "$2a$10$other", func(v storage.User) (storage.User, error) {
		v.AppMetadata = storage.Metadata{"roles": []any{"editor"}}
		return v, nil
	})
	must(t, "UpdateUserAndPassword", err)
	expect(`app_metadata.roles:viewer`)
	expect(`app_metadata.roles:editor`, u.ID)

	_, err = s.UpdateUser(ctx, u.ID, func(v storage.User) (storage.User, error) { return v, errUpdater })
	wantErr(t, "UpdateUser with a failing updater", err, errUpdater)
	expect(`app_metadata.roles:editor`, u.ID)

	must(t, "DeleteUser", s.DeleteUser(ctx, u.ID))
	expect(`user_metadata.plan:diamond`)
	expect(`name:zack`)
	expect(`_exists_:user_metadata`)
}

// Values that would mean something to SQL or to a document store find nothing and break
// nothing.
func testSearchHostile(t *testing.T, s storage.Store) {
	seedSearch(t, s)
	for _, q := range []string{
		`name:"x' OR '1'='1"`, `name:"x\" OR 1=1 --"`, `user_id:"*"`, `email:"%"`, `email:"_"`,
		`user_metadata.plan:"{\"$ne\": null}"`, `user_metadata.plan:"$ne"`, `name:"\u0000"`,
		`user_metadata.a\'b:x`, `app_metadata.x\"y:1`, `user_metadata.__proto__:x`,
		`email:` + strings.Repeat("a", 2000), `name:a\[b*`, `name:*\[x\]*`, `name:*\?\?\?*`,
	} {
		got, total := searchIDs(t, s, q, storage.UserSort{}, storage.Page{PerPage: 100})
		if len(got) != 0 || total != 0 {
			t.Errorf("q=%s found %v (total %d)", q, got, total)
		}
	}
	// The largest queries the parser lets through: every clause a bare value (one test per
	// default field each), and the deepest nesting.
	words := make([]string, userquery.MaxClauses)
	for i := range words {
		words[i] = fmt.Sprintf("w%d*", i)
	}
	if got, total := searchIDs(t, s, strings.Join(words, " "), storage.UserSort{Field: "name"}, storage.Page{PerPage: 100}); len(got) != 0 || total != 0 {
		t.Errorf("%d bare values: found %v (total %d)", len(words), got, total)
	}
	deep := strings.Repeat("NOT ", userquery.MaxDepth-1) + "(name:nobody)"
	if got, total := searchIDs(t, s, deep, storage.UserSort{}, storage.Page{PerPage: 100}); len(got) != 20 || total != 20 {
		t.Errorf("%d nested NOTs: found %d users (total %d), want 20", userquery.MaxDepth-1, len(got), total)
	}
	got, _ := searchIDs(t, s, `*`, storage.UserSort{}, storage.Page{PerPage: 100})
	if len(got) != 20 {
		t.Errorf("after hostile queries: %d users, want 20", len(got))
	}
}
