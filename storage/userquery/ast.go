// Package userquery parses Auth0's user search syntax, version 3 (the `q` of
// GET /api/v2/users; AUTH0-COMPAT §5.4), into a small tree that each storage backend
// translates into its own query language. Backends never see the query text: the tree they
// get has only whitelisted fields, values already normalised for the field (lower-cased
// where the field is case-insensitive, integers and booleans in canonical form, dates
// resolved to instants), and wildcards in a structured form, so a backend has nothing left
// to validate or escape except for its own query language.
//
// The package imports nothing of latch, so that storage can depend on it.
//
// # Syntax
//
//	field:value          the whole value, not a word of it (v3 does not tokenize)
//	field:"a phrase"     the same, with spaces; `field:a\ phrase` too
//	field:jo*            values starting with "jo"
//	field:*son, j*n      other wildcards need at least 3 literal characters in all
//	field:*              the field exists (as _exists_:field)
//	field:[lo TO hi]     a range: [ ] inclusive, { } exclusive, mixable; * is an open end
//	_exists_:field       the field has a value
//	a AND b, a OR b, NOT a, ( ), field:(a OR b)
//	a b                  adjacent clauses: a OR b, except `a NOT b`, which is a AND NOT b
//	&& || !              aliases of AND OR NOT
//	value                a bare value: any of DefaultFields (never metadata)
//	*                    alone: every user (Parse returns nil)
//
// Operators must be upper case, as in Lucene; precedence is NOT, then AND, then OR.
// Refused with a *ParseError: `?` wildcards, fuzzy `~`, boosts `^`, regular expressions
// `/.../`, `+`/`-` prefixes (use AND and NOT), unknown fields, ranges and wildcards on
// user_metadata, values of the wrong type for the field (logins_count:abc), and input
// beyond the limits below.
package userquery

import (
	"strings"
	"time"
)

// Limits on what Parse accepts, so that hostile input costs little.
const (
	// MaxLength is the longest q, in bytes.
	MaxLength = 4096
	// MaxDepth bounds the nesting of parentheses, field groups and NOT.
	MaxDepth = 20
	// MaxClauses bounds the clauses (field:value, ranges, _exists_, bare values) as written.
	MaxClauses = 64
	// MaxPathSegments bounds a metadata path (user_metadata.a.b.c has 3).
	MaxPathSegments = 16
)

// Node is one node of a query tree: *And, *Or, *Not, *Term, *Range or *Exists.
type Node interface {
	// String renders the node in the query syntax; Parse gives back an equal tree.
	String() string
	isNode()
}

// And matches users that every node matches. It has at least two nodes, none an *And.
type And struct{ Nodes []Node }

// Or matches users that any node matches. It has at least two nodes, none an *Or.
type Or struct{ Nodes []Node }

// Not matches the users that Node does not match: a set complement, so users that lack the
// field are in it (NOT blocked:true includes users never blocked).
type Not struct{ Node Node }

// TermKind says how a Term compares.
type TermKind int

const (
	// Exact: the whole value equals Value.
	Exact TermKind = iota
	// Prefix: the value starts with Value (the pattern was Value*).
	Prefix
	// Wildcard: the value matches Parts joined by "any run of characters, possibly none";
	// an empty first (last) part means the pattern starts (ends) with *.
	Wildcard
)

// Term compares a field with a value. Booleans and integers are in canonical form
// ("true", "false", "42"); text of a case-insensitive field is lower-cased
// (strings.ToLower), and the backend compares it with the lower-cased stored value. Prefix
// and Wildcard terms only occur on text fields and app_metadata. Date fields never have
// terms: a date value becomes a Range over the interval it names.
type Term struct {
	Field Field
	Kind  TermKind
	Value string   // Exact and Prefix
	Parts []string // Wildcard
}

// Range matches values between two bounds; a nil bound is an open end. On text fields it
// compares strings byte-wise (lower-cased first where the field is case-insensitive), on
// logins_count integers, on date fields instants. On app_metadata it compares numbers when
// Numeric (every bound given is a number; string values are then left out) and strings
// otherwise (number values left out).
type Range struct {
	Field   Field
	Lo, Hi  *Bound
	Numeric bool
}

// Bound is one end of a Range.
type Bound struct {
	// Value is the bound of text, integer and metadata ranges, normalised as Term.Value.
	Value string
	// Time is the bound of date ranges, UTC, milliseconds; Value is empty then. A partial
	// date is resolved as Elasticsearch does: "2024-01" as a lower inclusive or upper
	// exclusive bound is the first instant of January, as a lower exclusive or upper
	// inclusive bound the last millisecond of it, so that [2024-01 TO 2024-01] is January.
	Time      time.Time
	Inclusive bool
}

// Exists matches users that have a value for the field; see Field for what "have" means.
type Exists struct{ Field Field }

func (*And) isNode()    {}
func (*Or) isNode()     {}
func (*Not) isNode()    {}
func (*Term) isNode()   {}
func (*Range) isNode()  {}
func (*Exists) isNode() {}

// ---------------------------------------------------------------------------------------
// Rendering. The output is canonical: Parse(n.String()) is equal to n, and String of that
// is the same text. Values are always quoted, groups always parenthesised.

func (n *And) String() string { return join(n.Nodes, " AND ") }
func (n *Or) String() string  { return join(n.Nodes, " OR ") }

func join(nodes []Node, op string) string {
	parts := make([]string, len(nodes))
	for i, c := range nodes {
		parts[i] = c.String()
	}
	return "(" + strings.Join(parts, op) + ")"
}

func (n *Not) String() string { return "NOT " + n.Node.String() }

func (n *Term) String() string {
	switch n.Kind {
	case Prefix:
		return n.Field.String() + ":" + escapeWord(n.Value) + "*"
	case Wildcard:
		parts := make([]string, len(n.Parts))
		for i, p := range n.Parts {
			parts[i] = escapeWord(p)
		}
		return n.Field.String() + ":" + strings.Join(parts, "*")
	default:
		return n.Field.String() + ":" + quote(n.Value)
	}
}

func (n *Range) String() string {
	var b strings.Builder
	b.WriteString(n.Field.String())
	b.WriteString(":")
	if n.Lo != nil && !n.Lo.Inclusive {
		b.WriteString("{")
	} else {
		b.WriteString("[")
	}
	b.WriteString(n.Lo.text())
	b.WriteString(" TO ")
	b.WriteString(n.Hi.text())
	if n.Hi != nil && !n.Hi.Inclusive {
		b.WriteString("}")
	} else {
		b.WriteString("]")
	}
	return b.String()
}

func (b *Bound) text() string {
	switch {
	case b == nil:
		return "*"
	case !b.Time.IsZero():
		return quote(b.Time.UTC().Format(isoMillis))
	default:
		return quote(b.Value)
	}
}

func (n *Exists) String() string { return "_exists_:" + n.Field.String() }

// quote renders a phrase: backslash and double quote escaped.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// escapeWord renders literal text as (part of) an unquoted word: every character that is
// special anywhere in the syntax, and whitespace, gets a backslash.
func escapeWord(s string) string {
	var b strings.Builder
	for _, r := range s {
		if isSpecial(r) || isSpace(r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

const isoMillis = "2006-01-02T15:04:05.000Z"
