package userquery

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// bare is what a value without a field becomes: one exact term per default field.
func bare(v string) string {
	parts := make([]string, len(DefaultFields))
	for i, f := range DefaultFields {
		fv := strings.ToLower(v)
		if f == "user_id" || f == "phone_number" {
			fv = v
		}
		parts[i] = f + `:"` + fv + `"`
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

var validQueries = []struct{ q, want string }{
	// Terms: the whole value, quoted or escaped, lower-cased on case-insensitive fields.
	{`email:alice@example.com`, `email:"alice@example.com"`},
	{`email:"Alice@Example.COM"`, `email:"alice@example.com"`},
	{`name:"Jane Smith"`, `name:"jane smith"`},
	{`name:Jane\ Smith`, `name:"jane smith"`},
	{`nickname:ÉMILE`, `nickname:"émile"`},
	{`username:JohnDoe`, `username:"johndoe"`},
	{`user_id:auth0|507f1f77bcf86cd799439011`, `user_id:"auth0|507f1f77bcf86cd799439011"`},
	{`user_id:"AUTH0|X"`, `user_id:"AUTH0|X"`}, // case-sensitive
	{`email.domain:EXAMPLE.com`, `email.domain:"example.com"`},
	{`identities.connection:"Username-Password-Authentication"`, `identities.connection:"Username-Password-Authentication"`},
	{`phone_number:\+14155550100`, `phone_number:"+14155550100"`},
	{`last_ip:"10.0.0.1"`, `last_ip:"10.0.0.1"`},
	{`name:a-b+c!d&e|f`, `name:"a-b+c!d&e|f"`}, // operators only at the start of a word
	{`name:"say \"hi\" \\o/"`, `name:"say \"hi\" \\o/"`},
	{`name:"*not a wildcard*"`, `name:"*not a wildcard*"`},
	{`name:100\%_sure`, `name:"100%_sure"`},
	{`name : john`, `name:"john"`},
	// Typed fields.
	{`logins_count:007`, `logins_count:"7"`},
	{`logins_count:-1`, `logins_count:"-1"`},
	{`email_verified:true`, `email_verified:"true"`},
	{`blocked:"false"`, `blocked:"false"`},
	{`created_at:2018-12-18`, `created_at:["2018-12-18T00:00:00.000Z" TO "2018-12-18T23:59:59.999Z"]`},
	{`last_login:2017-12`, `last_login:["2017-12-01T00:00:00.000Z" TO "2017-12-31T23:59:59.999Z"]`},
	{`updated_at:2024`, `updated_at:["2024-01-01T00:00:00.000Z" TO "2024-12-31T23:59:59.999Z"]`},
	{`created_at:"2018-12-18T15:23:48.123Z"`, `created_at:["2018-12-18T15:23:48.123Z" TO "2018-12-18T15:23:48.123Z"]`},
	{`created_at:"2024-02-29T12:22"`, `created_at:["2024-02-29T12:22:00.000Z" TO "2024-02-29T12:22:59.999Z"]`},
	// Wildcards.
	{`name:jo*`, `name:jo*`},
	{`name:J*`, `name:j*`},
	{`name:*usa`, `name:*usa`},
	{`name:*ich*`, `name:*ich*`},
	{`name:jo*n`, `name:jo*n`},
	{`name:jo**n`, `name:jo*n`},
	{`name:jo**`, `name:jo*`},
	{`user_id:auth0*`, `user_id:auth0*`},
	{`name:a\*b*`, `name:a\*b*`},
	{`name:*`, `_exists_:name`},
	{`app_metadata.plan:go*`, `app_metadata.plan:go*`},
	// Ranges: [ ] inclusive, { } exclusive, * open; partial dates rounded as Elasticsearch does.
	{`logins_count:[1 TO 5]`, `logins_count:["1" TO "5"]`},
	{`logins_count:{100 TO *]`, `logins_count:{"100" TO *]`},
	{`logins_count:[100 TO 200}`, `logins_count:["100" TO "200"}`},
	{`logins_count:{* TO 5}`, `logins_count:[* TO "5"}`},
	{`logins_count:[* TO *]`, `_exists_:logins_count`},
	{`updated_at:[2018-01-15 TO *]`, `updated_at:["2018-01-15T00:00:00.000Z" TO *]`},
	{`updated_at:{2018-01-15 TO *]`, `updated_at:{"2018-01-15T23:59:59.999Z" TO *]`},
	{`updated_at:[* TO 2018-01-15]`, `updated_at:[* TO "2018-01-15T23:59:59.999Z"]`},
	{`updated_at:[* TO 2018-01-15}`, `updated_at:[* TO "2018-01-15T00:00:00.000Z"}`},
	{`created_at:[2024-01-01T10:00+02:00 TO 2024-01-01T12]`, `created_at:["2024-01-01T08:00:00.000Z" TO "2024-01-01T12:59:59.999Z"]`},
	{`name:[A TO M}`, `name:["a" TO "m"}`},
	{`app_metadata.tier:[2 TO 3.5]`, `app_metadata.tier:["2" TO "3.5"]`},
	{`app_metadata.since:[2020-01-01 TO "2021"]`, `app_metadata.since:["2020-01-01" TO "2021"]`},
	{`logins_count:[ 1 TO 5 ]`, `logins_count:["1" TO "5"]`},
	// Existence and metadata.
	{`_exists_:last_login`, `_exists_:last_login`},
	{`_exists_:user_metadata`, `_exists_:user_metadata`},
	{`_exists_:user_metadata.preferences.fontSize`, `_exists_:user_metadata.preferences.fontSize`},
	{`user_metadata.preferences.fontSize:13`, `user_metadata.preferences.fontSize:"13"`},
	{`user_metadata.addresses.city:"Paris"`, `user_metadata.addresses.city:"Paris"`},
	{`app_metadata.subscription.plan:"Gold"`, `app_metadata.subscription.plan:"Gold"`},
	{`user_metadata.my\ key:x`, `user_metadata.my\ key:"x"`},
	{`user_metadata.clé:Ünï`, `user_metadata.clé:"Ünï"`},
	{`user_metadata:*`, `_exists_:user_metadata`},
	// Operators, precedence, adjacency, groups.
	{`name:a AND name:b`, `(name:"a" AND name:"b")`},
	{`name:a && name:b`, `(name:"a" AND name:"b")`},
	{`name:a OR name:b`, `(name:"a" OR name:"b")`},
	{`name:a || name:b`, `(name:"a" OR name:"b")`},
	{`name:a name:b`, `(name:"a" OR name:"b")`},
	{`name:a NOT name:b`, `(name:"a" AND NOT name:"b")`},
	{`name:a !name:b`, `(name:"a" AND NOT name:"b")`},
	{`NOT blocked:true`, `NOT blocked:"true"`},
	{`NOT NOT blocked:true`, `NOT NOT blocked:"true"`},
	{`name:a OR name:b AND name:c`, `(name:"a" OR (name:"b" AND name:"c"))`},
	{`(name:a OR name:b) AND name:c`, `((name:"a" OR name:"b") AND name:"c")`},
	{`name:a AND (name:b AND name:c)`, `(name:"a" AND name:"b" AND name:"c")`},
	{`name:(john OR jane*)`, `(name:"john" OR name:jane*)`},
	{`name:(john jane)`, `(name:"john" OR name:"jane")`},
	{`name:(john AND NOT email:x)`, `(name:"john" AND NOT email:"x")`},
	{`logins_count:([1 TO 2] OR 5)`, `(logins_count:["1" TO "2"] OR logins_count:"5")`},
	{`name:(*)`, `_exists_:name`},
	{`name:and`, `name:"and"`},
	{`name:\AND`, `name:"and"`},
	{`name:"AND"`, `name:"and"`},
	// Bare values.
	{`alice`, bare("alice")},
	{`"Bob Jones"`, bare("Bob Jones")},
	{`and`, bare("and")},
	// Everything.
	{`*`, ``},
	{` *:* `, ``},
}

func TestParseValid(t *testing.T) {
	for _, tc := range validQueries {
		n, err := Parse(tc.q)
		if err != nil {
			t.Errorf("Parse(%s): %v", tc.q, err)
			continue
		}
		got := ""
		if n != nil {
			got = n.String()
		}
		if got != tc.want {
			t.Errorf("Parse(%s)\n got %s\nwant %s", tc.q, got, tc.want)
		}
		checkRoundTrip(t, tc.q)
	}
}

var invalidQueries = []struct {
	q   string
	pos int
	msg string
}{
	{``, 0, "empty"},
	{`   `, 0, "empty"},
	{`foo:bar`, 0, `unknown field "foo"`},
	{`name:a AND bogus:x`, 11, `unknown field "bogus"`},
	{`connection:x`, 0, "identities.connection"},
	{`organization_id:org_1`, 0, "no organizations"},
	{`name.raw:x`, 0, ".raw"},
	{`(name:a`, 0, "never closed"},
	{`name:a)`, 6, "unexpected ')'"},
	{`name:`, 5, "expected a value after name:"},
	{`name:)`, 5, "expected a value after name:"},
	{`:x`, 0, "unexpected ':'"},
	{`name:a AND`, 10, "ends"},
	{`AND name:a`, 0, "unexpected AND"},
	{`name:a OR OR name:b`, 10, "unexpected OR"},
	{`name:"unterminated`, 5, "unterminated"},
	{`name:x\`, 6, "backslash"},
	{`name:a?b`, 6, "'?' wildcards"},
	{`name:*sa`, 5, "at least 3 literal"},
	{`name:*ab*`, 5, "at least 3 literal"},
	{`name:a*b`, 5, "at least 3 literal"},
	{`logins_count:1*`, 13, "only apply to text"},
	{`user_metadata.plan:go*`, 19, "not available on user_metadata"},
	{`user_metadata.n:[1 TO 2]`, 16, "not available on user_metadata"},
	{`blocked:[true TO false]`, 8, "no ranges"},
	{`logins_count:abc`, 13, "integer"},
	{`logins_count:[1 TO x]`, 19, "integer"},
	{`logins_count:99999999999999999999`, 13, "integer"},
	{`blocked:yes`, 8, "true or false"},
	{`created_at:yesterday`, 11, "date"},
	{`created_at:2024-02-30`, 11, "date"},
	{`created_at:[2024-13 TO *]`, 12, "date"},
	{`logins_count:[1 TO 5`, 13, "never closed"},
	{`logins_count:[1 5]`, 16, "expected TO"},
	{`logins_count:[TO 5]`, 14, "each side of TO"},
	{`logins_count:[1* TO 5]`, 14, "wildcards are not allowed in range"},
	{`[1 TO 5]`, 0, "needs a field"},
	{`-blocked:true`, 0, "'-' prefixes"},
	{`+blocked:true`, 0, "'+' prefixes"},
	{`name:john~`, 9, "fuzzy"},
	{`name:john^2`, 9, "boost"},
	{`name:/jo.*/`, 5, "regular expressions"},
	{`name:a AND *`, 11, "lone *"},
	{`*:* AND name:a`, 0, "*:*"},
	{`na*e:x`, 0, "wildcards"},
	{`user_metadata:x`, 14, "key below user_metadata"},
	{`app_metadata:[1 TO 2]`, 13, "key below app_metadata"},
	{`user_metadata..x:1`, 0, "empty key"},
	{`user_metadata.a$b:1`, 0, "'$'"},
	{`_exists_:`, 9, "_exists_: takes a field"},
	{`_exists_:na*`, 9, "_exists_: takes a field"},
	{`_exists_:nope`, 9, `unknown field "nope"`},
	{`name:""`, 5, "empty value"},
	{"name:\xff", 5, "UTF-8"},
	{"name:*\x00byte", 6, "NUL"},
	{strings.Repeat("a", MaxLength+1), MaxLength, "longer than"},
	{strings.Repeat("(", MaxDepth+1) + "a" + strings.Repeat(")", MaxDepth+1), MaxDepth, "deeper"},
	{strings.Repeat("NOT ", MaxDepth+1) + "a", 4 * MaxDepth, "deeper"},
	{strings.Repeat("name:a ", MaxClauses) + "name:b", 7 * MaxClauses, "more than"},
	{"user_metadata." + strings.Repeat("a.", MaxPathSegments) + "a:1", 0, "deeper than"},
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range invalidQueries {
		n, err := Parse(tc.q)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%.60s) = %v, %v; want a *ParseError", tc.q, n, err)
			continue
		}
		if pe.Pos != tc.pos || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("Parse(%.60s): error at %d %q; want at %d, containing %q", tc.q, pe.Pos, pe.Msg, tc.pos, tc.msg)
		}
		if !strings.Contains(err.Error(), "position") {
			t.Errorf("Parse(%.60s): error text %q does not give the position", tc.q, err)
		}
	}
}

func TestParseLimitsAreInclusive(t *testing.T) {
	for _, q := range []string{
		strings.Repeat("(", MaxDepth) + "a" + strings.Repeat(")", MaxDepth),
		strings.Repeat("name:a ", MaxClauses-1) + "name:b",
		"user_metadata." + strings.Repeat("a.", MaxPathSegments-1) + "a:1",
		"name:" + strings.Repeat("a", MaxLength-len("name:")),
	} {
		if _, err := Parse(q); err != nil {
			t.Errorf("Parse(%.60s...): %v", q, err)
		}
	}
}

func TestParseTree(t *testing.T) {
	n, err := Parse(`user_metadata.prefs.fontSize:13 AND NOT logins_count:{5 TO *] OR app_metadata.roles:adm*`)
	if err != nil {
		t.Fatal(err)
	}
	want := &Or{Nodes: []Node{
		&And{Nodes: []Node{
			&Term{Field: Field{Name: UserMetadata, Path: []string{"prefs", "fontSize"}}, Kind: Exact, Value: "13"},
			&Not{Node: &Range{Field: Field{Name: "logins_count"}, Lo: &Bound{Value: "5"}}},
		}},
		&Term{Field: Field{Name: AppMetadata, Path: []string{"roles"}}, Kind: Prefix, Value: "adm"},
	}}
	if !reflect.DeepEqual(n, want) {
		t.Errorf("tree:\n got %s\nwant %s", n, want)
	}
	r, err := Parse(`created_at:{2024-01 TO 2024-03}`)
	if err != nil {
		t.Fatal(err)
	}
	rng := r.(*Range)
	if want := time.Date(2024, 1, 31, 23, 59, 59, 999e6, time.UTC); !rng.Lo.Time.Equal(want) || rng.Lo.Inclusive {
		t.Errorf("exclusive lower bound 2024-01: %v incl %v, want after %v", rng.Lo.Time, rng.Lo.Inclusive, want)
	}
	if want := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC); !rng.Hi.Time.Equal(want) || rng.Hi.Inclusive {
		t.Errorf("exclusive upper bound 2024-03: %v incl %v, want before %v", rng.Hi.Time, rng.Hi.Inclusive, want)
	}
	w, err := Parse(`name:*Ab*Cd`)
	if err != nil {
		t.Fatal(err)
	}
	if term := w.(*Term); term.Kind != Wildcard || !reflect.DeepEqual(term.Parts, []string{"", "ab", "cd"}) {
		t.Errorf("wildcard: %+v", term)
	}
	m, err := Parse(`app_metadata.tier:[1 TO x]`)
	if err != nil {
		t.Fatal(err)
	}
	if m.(*Range).Numeric {
		t.Error("a range with a text bound is numeric")
	}
	m, _ = Parse(`app_metadata.tier:[1 TO 2e3}`)
	if !m.(*Range).Numeric {
		t.Error("a range of numbers is not numeric")
	}
}

func TestParseNumber(t *testing.T) {
	for s, want := range map[string]Number{
		"0": {IsInt: true}, "-17": {Int: -17, IsInt: true}, "13": {Int: 13, IsInt: true},
		"1.5": {Float: 1.5}, "1e3": {Float: 1000}, "-0.25E-2": {Float: -0.0025},
		"9223372036854775808": {Float: 9223372036854775808},
	} {
		if got, ok := ParseNumber(s); !ok || got != want {
			t.Errorf("ParseNumber(%s) = %+v, %v; want %+v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "01", "+1", "1.", ".5", "0x10", "1_000", "NaN", "Inf", "1e400", "13 ", "abc"} {
		if _, ok := ParseNumber(s); ok {
			t.Errorf("ParseNumber(%q) accepted", s)
		}
	}
}

// checkRoundTrip: Parse never panics; an error has a position inside the query; a tree
// renders to text that parses back to the same tree and renders the same.
func checkRoundTrip(t *testing.T, q string) {
	t.Helper()
	n, err := Parse(q)
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("Parse(%q): error %T %v is not a *ParseError", q, err, err)
		}
		if pe.Pos < 0 || pe.Pos > len(q) {
			t.Fatalf("Parse(%q): error position %d outside the query", q, pe.Pos)
		}
		return
	}
	if n == nil {
		return
	}
	s := n.String()
	n2, perr := parse(s, false)
	if perr != nil {
		t.Fatalf("Parse(%q) rendered %q, which does not parse: %v", q, s, perr)
	}
	if !reflect.DeepEqual(n, n2) {
		t.Fatalf("Parse(%q) rendered %q, which parses to a different tree: %s", q, s, n2)
	}
	if s2 := n2.String(); s2 != s {
		t.Fatalf("Parse(%q): rendering is not stable:\n%s\n%s", q, s, s2)
	}
}

// FuzzParse runs over its seeds as part of `go test`; `go test -fuzz FuzzParse
// ./storage/userquery` explores further.
func FuzzParse(f *testing.F) {
	for _, tc := range validQueries {
		f.Add(tc.q)
	}
	for _, tc := range invalidQueries {
		if len(tc.q) < 200 {
			f.Add(tc.q)
		}
	}
	for _, s := range []string{
		`user_metadata.a\.b:1`, `name:"\`, `name:\"`, `a:b:c`, `((((`, `))))`, `NOT`, `!`, `&&`, `||`,
		`name:[a TO "b]`, `name:{"x" TO "y"}`, `"a" "b" c*`, `*a*`, `\*`, `\ `, "name:a\u3000b",
		`logins_count:[-5 TO -1]`, `name:(a OR (b AND (c OR NOT d)))`, `_exists_:"app_metadata.x y"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) { checkRoundTrip(t, q) })
}
