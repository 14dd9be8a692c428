package mongo

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/sqlite"
	"github.com/latchauth/latch/storage/userquery"
)

// hostileUsers have what a document store could mistake for structure: metadata keys with
// "$", ".", "/", "%" or NUL, names and values with regular-expression and operator syntax,
// and arrays of values that ranges must not mix up.
func hostileUsers(t *testing.T) []storage.User {
	meta := func(s string) storage.Metadata {
		m, err := storage.DecodeMetadata([]byte(s))
		if err != nil {
			t.Fatalf("fixture %s: %v", s, err)
		}
		return m
	}
	mk := func(n int, name, userMeta, appMeta string) storage.User {
		return storage.User{
			ID: fmt.Sprintf("auth0|h%02d", n), Connection: "db", Email: fmt.Sprintf("h%02d@example.com", n),
			Name: name, UserMetadata: meta(userMeta), AppMetadata: meta(appMeta),
			CreatedAt: time.Date(2024, 1, n, 12, 0, 0, 0, time.UTC),
		}
	}
	return []storage.User{
		mk(1, "abc", `{"$where": "sleep(1000)", "a.b": "x", "plan": {"$ne": null}}`, `{}`),
		mk(2, "a.c", `{"a": {"b": "x"}, "x\u0000y": "nul"}`, `{}`),
		mk(3, "a+c", `{"p/q": "v"}`, `{"scores": [1, 5], "tags": ["a", "d"]}`),
		mk(4, "a(c", `{"p": {"q": "v"}}`, `{"scores": 3, "tags": "b"}`),
		mk(5, "a|c", `{"p%2Fq": "w"}`, `{"scores": [2.5, 10], "tags": ["bb", "z"]}`),
		mk(6, "^ac$", `{"plan": "$ne"}`, `{"scores": ["3"], "tags": [1, 2]}`),
		mk(7, "line1\nline2", `{}`, `{"code": "a(c*"}`),
		mk(8, `back\slash`, `{}`, `{"code": "a.c", "zero": 0, "off": false, "empty": ""}`),
		mk(9, "nul\x00byte", `{}`, `{"scores": [0, 100, 3]}`),
	}
}

// seedHostile stores the hostile users in a Store and, for reference, in the SQLite
// backend: both must find the same users for every query.
func seedHostile(t *testing.T) (*Store, *sqlite.Store) {
	t.Helper()
	m := openTest(t)
	t.Cleanup(func() { _ = m.Close() })
	l, err := sqlite.Open(filepath.Join(t.TempDir(), "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	for _, u := range hostileUsers(t) {
		for _, s := range []storage.Store{m, l} {
			if err := s.CreateUser(t.Context(), u, ""); err != nil {
				t.Fatalf("CreateUser %s: %v", u.ID, err)
			}
		}
	}
	return m, l
}

func searchIDs(t *testing.T, s storage.Store, q userquery.Node) ([]string, error) {
	t.Helper()
	users, total, err := s.SearchUsers(t.Context(), q, storage.UserSort{}, storage.Page{PerPage: 100})
	if err != nil {
		return nil, err
	}
	if total != len(users) {
		t.Errorf("q=%v: total %d for %d users", q, total, len(users))
	}
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids, nil
}

func hostileIDs(ns ...int) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, fmt.Sprintf("auth0|h%02d", n))
	}
	return out
}

// Metadata keys that are not valid BSON keys, or that a server would refuse, come back
// exactly as they were written.
func TestHostileMetadataRoundTrip(t *testing.T) {
	m, _ := seedHostile(t)
	for _, want := range hostileUsers(t) {
		got, err := m.GetUser(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("GetUser %s: %v", want.ID, err)
		}
		if !reflect.DeepEqual(got.UserMetadata, want.UserMetadata) || !reflect.DeepEqual(got.AppMetadata, want.AppMetadata) {
			t.Errorf("%s: metadata %#v / %#v, want %#v / %#v", want.ID, got.UserMetadata, got.AppMetadata, want.UserMetadata, want.AppMetadata)
		}
		if got.Name != want.Name {
			t.Errorf("%s: name %q, want %q", want.ID, got.Name, want.Name)
		}
	}
}

func TestSearchHostileInput(t *testing.T) {
	m, l := seedHostile(t)
	for _, tc := range []struct {
		q    string
		want []string
	}{
		// A "." inside a key is not a path, and "/" and "%" are plain characters.
		{`user_metadata.a.b:x`, hostileIDs(2)},
		{`user_metadata.p.q:v`, hostileIDs(4)},
		{`user_metadata.p\/q:v`, hostileIDs(3)},
		{`user_metadata.p%2Fq:w`, hostileIDs(5)},
		{`user_metadata.p%2Fq:v`, hostileIDs()},
		// Operators are values, never operators.
		{`user_metadata.plan:"$ne"`, hostileIDs(6)},
		{`_exists_:user_metadata.plan`, hostileIDs(6)},
		{`user_metadata.plan:"{\"$ne\": null}"`, hostileIDs()},
		// Regular-expression syntax in wildcards is literal.
		{`name:*a.c*`, hostileIDs(2)},
		{`name:a\+c*`, hostileIDs(3)},
		{`name:a\(c*`, hostileIDs(4)},
		{`name:a\|c`, hostileIDs(5)},
		{`name:\^ac*`, hostileIDs(6)},
		{`name:*ac$`, hostileIDs(6)},
		{`name:*\\slash`, hostileIDs(8)},
		{`app_metadata.code:a\(c\*`, hostileIDs(7)},
		{`app_metadata.code:a.*`, hostileIDs(8)},
		{`app_metadata.code:*\(c\**`, hostileIDs(7)},
		// A wildcard spans lines; its end is the end of the value, not of a line.
		{`name:line1*line2`, hostileIDs(7)},
		{`name:line1*`, hostileIDs(7)},
		{`name:*line1`, hostileIDs()},
		// A range with two bounds needs one value within both, not one value per bound.
		{`app_metadata.scores:[2 TO 3]`, hostileIDs(4, 5, 9)},
		{`app_metadata.scores:{1 TO 5}`, hostileIDs(4, 5, 9)},
		{`NOT app_metadata.scores:[2 TO 3]`, hostileIDs(1, 2, 3, 6, 7, 8)},
		{`app_metadata.scores:[4 TO *]`, hostileIDs(3, 5, 9)},
		{`app_metadata.tags:[b TO c]`, hostileIDs(4, 5)},
		{`app_metadata.tags:[1 TO 2]`, hostileIDs(6)},
		{`app_metadata.scores:3`, hostileIDs(4, 6, 9)},
		// Zero values are values.
		{`app_metadata.zero:0`, hostileIDs(8)},
		{`app_metadata.zero:[0 TO 0]`, hostileIDs(8)},
		{`app_metadata.off:false`, hostileIDs(8)},
		{`_exists_:app_metadata.empty`, hostileIDs(8)},
	} {
		t.Run(tc.q, func(t *testing.T) {
			q, err := userquery.Parse(tc.q)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := searchIDs(t, m, q)
			if err != nil {
				t.Fatalf("SearchUsers: %v", err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("found %v, want %v", got, tc.want)
			}
			ref, err := searchIDs(t, l, q)
			if err != nil {
				t.Fatalf("SearchUsers on SQLite: %v", err)
			}
			slices.Sort(ref)
			if !slices.Equal(got, ref) {
				t.Errorf("found %v, the SQLite backend %v", got, ref)
			}
		})
	}
}

// Trees built in code can hold what Parse never produces: NUL in a value (which a BSON
// regex cannot carry as is), and metadata keys that would read as an operator or a path.
func TestSearchTreesParseCannotMake(t *testing.T) {
	m, l := seedHostile(t)
	name := userquery.Field{Name: "name"}
	for _, tc := range []struct {
		what string
		q    userquery.Node
		want []string
		// sameAsSQLite is false where the SQLite backend answers differently: its GLOB
		// pattern ends at a NUL, so that it matches every user.
		sameAsSQLite bool
	}{
		{"NUL in a prefix", &userquery.Term{Field: name, Kind: userquery.Prefix, Value: "nul\x00"}, hostileIDs(9), true},
		{"NUL in a wildcard", &userquery.Term{Field: name, Kind: userquery.Wildcard, Parts: []string{"", "\x00byte"}}, hostileIDs(9), false},
		{"NUL in a key", &userquery.Term{Field: userquery.Field{Name: userquery.UserMetadata, Path: []string{"x\x00y"}}, Value: "nul"}, hostileIDs(2), true},
	} {
		got, err := searchIDs(t, m, tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.what, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: found %v, want %v", tc.what, got, tc.want)
		}
		if !tc.sameAsSQLite {
			continue
		}
		ref, err := searchIDs(t, l, tc.q)
		if err != nil {
			t.Fatalf("%s on SQLite: %v", tc.what, err)
		}
		if !slices.Equal(got, ref) {
			t.Errorf("%s: found %v, the SQLite backend %v", tc.what, got, ref)
		}
	}
	// Keys that cannot have come from a query are refused, not matched or interpreted.
	for _, path := range [][]string{{"$where"}, {"plan", "$ne"}, {"a.b"}, {""}, {"p", "$gt"}} {
		for _, q := range []userquery.Node{
			&userquery.Term{Field: userquery.Field{Name: userquery.UserMetadata, Path: path}, Value: "x"},
			&userquery.Exists{Field: userquery.Field{Name: userquery.UserMetadata, Path: path}},
			&userquery.Range{Field: userquery.Field{Name: userquery.AppMetadata, Path: path}, Lo: &userquery.Bound{Value: "1", Inclusive: true}, Numeric: true},
		} {
			if got, err := searchIDs(t, m, q); err == nil {
				t.Errorf("%v: found %v, want an error", q, got)
			}
		}
	}
	for _, f := range []string{"password_hash", "version", "q.m", "$where"} {
		q := &userquery.Term{Field: userquery.Field{Name: f}, Value: "x"}
		if got, err := searchIDs(t, m, q); err == nil {
			t.Errorf("field %q: found %v, want an error", f, got)
		}
	}
}
