package userquery

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Parse parses q. A nil Node with a nil error means every user (q is "*" or "*:*"). Every
// error is a *ParseError.
func Parse(q string) (Node, error) {
	n, err := parse(q, true)
	if err != nil {
		return nil, err // a typed nil *ParseError must not become a non-nil error
	}
	return n, nil
}

// parse is Parse with the limits optional: a tree's String may exceed them (a bare value
// becomes one clause per default field), and the round-trip tests re-parse it.
func parse(q string, limits bool) (Node, *ParseError) {
	if limits && len(q) > MaxLength {
		return nil, errAt(MaxLength, "the query is longer than %d bytes", MaxLength)
	}
	if !utf8.ValidString(q) {
		for i, r := range q {
			if r == utf8.RuneError {
				return nil, errAt(i, "the query is not valid UTF-8")
			}
		}
	}
	// A NUL ends strings for some backends' pattern matching (SQLite's GLOB): a value that
	// holds one would match more than it says. No field holds one.
	if i := strings.IndexByte(q, 0); i >= 0 {
		return nil, errAt(i, "the query holds a NUL character")
	}
	switch strings.TrimSpace(q) {
	case "":
		return nil, errAt(0, "the query is empty")
	case "*", "*:*":
		return nil, nil
	}
	p := &parser{lx: lexer{q: q}, limits: limits}
	n, err := p.or(nil)
	if err != nil {
		return nil, err
	}
	t, err := p.peek()
	if err != nil {
		return nil, err
	}
	if t.kind != tEOF {
		return nil, errAt(t.pos, "unexpected %s", t.describe())
	}
	return n, nil
}

type parser struct {
	lx      lexer
	ahead   *token
	depth   int
	clauses int
	limits  bool
}

func (p *parser) peek() (token, *ParseError) {
	if p.ahead == nil {
		t, err := p.lx.next()
		if err != nil {
			return token{}, err
		}
		p.ahead = &t
	}
	return *p.ahead, nil
}

func (p *parser) take() (token, *ParseError) {
	t, err := p.peek()
	p.ahead = nil
	return t, err
}

func (p *parser) enter(pos int) *ParseError {
	p.depth++
	if p.limits && p.depth > MaxDepth {
		return errAt(pos, "the query nests deeper than %d levels", MaxDepth)
	}
	return nil
}

func (p *parser) clause(pos int) *ParseError {
	p.clauses++
	if p.limits && p.clauses > MaxClauses {
		return errAt(pos, "the query has more than %d clauses", MaxClauses)
	}
	return nil
}

// or := and (("OR" | adjacency) and)*. def is the field of an enclosing field:( ... ) group.
func (p *parser) or(def *Field) (Node, *ParseError) {
	first, err := p.and(def)
	if err != nil {
		return nil, err
	}
	nodes := []Node{first}
	for {
		t, err := p.peek()
		if err != nil {
			return nil, err
		}
		switch t.kind {
		case tEOF, tRParen:
			return mkOr(nodes), nil
		case tOr:
			p.take()
		}
		n, err := p.and(def)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
}

// and := unary (("AND" unary) | (NOT-clause))*: `a NOT b` means a AND NOT b, as in Lucene.
func (p *parser) and(def *Field) (Node, *ParseError) {
	first, err := p.unary(def)
	if err != nil {
		return nil, err
	}
	nodes := []Node{first}
	for {
		t, err := p.peek()
		if err != nil {
			return nil, err
		}
		switch t.kind {
		case tAnd:
			p.take()
		case tNot:
		default:
			return mkAnd(nodes), nil
		}
		n, err := p.unary(def)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
}

func (p *parser) unary(def *Field) (Node, *ParseError) {
	t, err := p.take()
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tNot:
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		n, err := p.unary(def)
		if err != nil {
			return nil, err
		}
		p.depth--
		return &Not{Node: n}, nil
	case tLParen:
		return p.group(t, def)
	case tWord:
		next, err := p.peek()
		if err != nil {
			return nil, err
		}
		if next.kind == tColon {
			p.take()
			return p.fieldClause(t)
		}
		return p.bare(t, def)
	case tPhrase:
		return p.bare(t, def)
	case tLBracket, tLBrace:
		if def == nil {
			return nil, errAt(t.pos, "a range needs a field, as in logins_count:[1 TO 5]")
		}
		if err := p.clause(t.pos); err != nil {
			return nil, err
		}
		return p.rangeClause(*def, t)
	case tEOF:
		return nil, errAt(t.pos, "the query ends where a value or a field:value was expected")
	}
	return nil, errAt(t.pos, "unexpected %s where a value or a field:value was expected", t.describe())
}

// group parses "( or )" after its opening parenthesis.
func (p *parser) group(open token, def *Field) (Node, *ParseError) {
	if err := p.enter(open.pos); err != nil {
		return nil, err
	}
	n, err := p.or(def)
	if err != nil {
		return nil, err
	}
	t, err := p.take()
	if err != nil {
		return nil, err
	}
	if t.kind != tRParen {
		return nil, errAt(open.pos, "this '(' is never closed")
	}
	p.depth--
	return n, nil
}

// fieldClause parses what follows "name:".
func (p *parser) fieldClause(name token) (Node, *ParseError) {
	if err := p.clause(name.pos); err != nil {
		return nil, err
	}
	if len(name.parts) > 1 {
		if name.text == "*" {
			return nil, errAt(name.pos, "*:* stands only for the whole query")
		}
		return nil, errAt(name.pos, "field names cannot contain wildcards")
	}
	v, err := p.take()
	if err != nil {
		return nil, err
	}
	if name.text == "_exists_" && !name.escaped {
		if v.kind != tWord && v.kind != tPhrase || v.kind == tWord && len(v.parts) > 1 {
			return nil, errAt(v.pos, "_exists_: takes a field name, as in _exists_:last_login")
		}
		f, ferr := resolveField(v.text)
		if ferr != nil {
			return nil, errAt(v.pos, "%s", ferr)
		}
		return &Exists{Field: f}, nil
	}
	f, ferr := resolveField(name.text)
	if ferr != nil {
		return nil, errAt(name.pos, "%s", ferr)
	}
	switch v.kind {
	case tLParen:
		p.clauses-- // the clauses inside count
		return p.group(v, &f)
	case tLBracket, tLBrace:
		return p.rangeClause(f, v)
	case tWord:
		return wordTerm(f, v)
	case tPhrase:
		return exactTerm(f, v.text, v.pos)
	}
	return nil, errAt(v.pos, "expected a value after %s:, found %s", clip(name.text), v.describe())
}

// bare parses a value without a field: for the enclosing group's field, or else for every
// default field.
func (p *parser) bare(t token, def *Field) (Node, *ParseError) {
	if err := p.clause(t.pos); err != nil {
		return nil, err
	}
	if t.kind == tWord && allEmpty(t.parts) {
		if def != nil {
			return &Exists{Field: *def}, nil
		}
		return nil, errAt(t.pos, "a lone * stands only for the whole query")
	}
	term := func(f Field) (Node, *ParseError) {
		if t.kind == tPhrase {
			return exactTerm(f, t.text, t.pos)
		}
		return wordTerm(f, t)
	}
	if def != nil {
		return term(*def)
	}
	nodes := make([]Node, 0, len(DefaultFields))
	for _, name := range DefaultFields {
		n, err := term(Field{Name: name})
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return mkOr(nodes), nil
}

func allEmpty(parts []string) bool {
	for _, s := range parts {
		if s != "" {
			return false
		}
	}
	return true
}

// wordTerm builds the node of an unquoted value: exact, prefix, wildcard, or (a lone *)
// existence.
func wordTerm(f Field, t token) (Node, *ParseError) {
	if len(t.parts) == 1 {
		return exactTerm(f, t.text, t.pos)
	}
	if allEmpty(t.parts) {
		return &Exists{Field: f}, nil
	}
	if err := needPath(f, t.pos); err != nil {
		return nil, err
	}
	switch {
	case f.Name == UserMetadata:
		return nil, errAt(t.pos, "wildcards are not available on user_metadata fields")
	case f.Type() != Text && f.Type() != Metadata:
		return nil, errAt(t.pos, "wildcards only apply to text fields, not to %s", f.Name)
	}
	// a**b is a*b: drop the empty parts between two stars.
	parts := []string{t.parts[0]}
	for i, s := range t.parts[1:] {
		if s != "" || i == len(t.parts)-2 {
			parts = append(parts, s)
		}
	}
	if f.CaseInsensitive() {
		for i := range parts {
			parts[i] = strings.ToLower(parts[i])
		}
	}
	if len(parts) == 2 && parts[1] == "" {
		return &Term{Field: f, Kind: Prefix, Value: parts[0]}, nil
	}
	literal := 0
	for _, s := range parts {
		literal += utf8.RuneCountInString(s)
	}
	if literal < 3 {
		return nil, errAt(t.pos, "a wildcard other than a trailing * needs at least 3 literal characters (name:*usa, not name:*sa)")
	}
	return &Term{Field: f, Kind: Wildcard, Parts: parts}, nil
}

// needPath refuses a metadata root where a value is compared (user_metadata:x).
func needPath(f Field, pos int) *ParseError {
	if f.IsMetadata() && len(f.Path) == 0 {
		return errAt(pos, "name a key below %s, as in %s.plan:gold", f.Name, f.Name)
	}
	return nil
}

// exactTerm builds the node that compares the whole value, typed for the field.
func exactTerm(f Field, v string, pos int) (Node, *ParseError) {
	if err := needPath(f, pos); err != nil {
		return nil, err
	}
	if v == "" {
		return nil, errAt(pos, "empty value for %s", f.String())
	}
	switch f.Type() {
	case Integer:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, errAt(pos, "%s takes an integer, not %q", f.Name, clip(v))
		}
		return &Term{Field: f, Value: strconv.FormatInt(n, 10)}, nil
	case Boolean:
		if v != "true" && v != "false" {
			return nil, errAt(pos, "%s takes true or false, not %q", f.Name, clip(v))
		}
		return &Term{Field: f, Value: v}, nil
	case Date:
		first, last, ok := parseDate(v)
		if !ok {
			return nil, errAt(pos, "%s takes a date such as 2024-01-31 or 2024-01-31T12:00:00.000Z, not %q", f.Name, clip(v))
		}
		return &Range{Field: f, Lo: dateBound(first, true), Hi: dateBound(last, true)}, nil
	}
	if f.CaseInsensitive() {
		v = strings.ToLower(v)
	}
	return &Term{Field: f, Value: v}, nil
}

func dateBound(t time.Time, inclusive bool) *Bound {
	return &Bound{Value: t.UTC().Format(isoMillis), Time: t, Inclusive: inclusive}
}

// rangeClause parses "lo TO hi" and the closing bracket after the opening one.
func (p *parser) rangeClause(f Field, open token) (Node, *ParseError) {
	loTok, err := p.rangeBound()
	if err != nil {
		return nil, err
	}
	to, err := p.lx.rangeToken()
	if err != nil {
		return nil, err
	}
	if to.kind != tWord || to.text != "TO" {
		return nil, errAt(to.pos, "expected TO in the range, found %s", to.describe())
	}
	hiTok, err := p.rangeBound()
	if err != nil {
		return nil, err
	}
	closer, err := p.lx.rangeToken()
	if err != nil {
		return nil, err
	}
	if closer.kind != tRBracket && closer.kind != tRBrace {
		return nil, errAt(open.pos, "this range is never closed with ] or }")
	}
	if err := needPath(f, open.pos); err != nil {
		return nil, err
	}
	switch {
	case f.Name == UserMetadata:
		return nil, errAt(open.pos, "ranges are not available on user_metadata fields")
	case f.Type() == Boolean:
		return nil, errAt(open.pos, "%s is true or false: it has no ranges", f.Name)
	}
	loIncl, hiIncl := open.kind == tLBracket, closer.kind == tRBracket
	if loTok == nil && hiTok == nil {
		return &Exists{Field: f}, nil
	}
	r := &Range{Field: f}
	if f.Type() == Metadata {
		r.Numeric = true
		for _, b := range []*token{loTok, hiTok} {
			if b != nil {
				if _, ok := ParseNumber(b.text); !ok {
					r.Numeric = false
				}
			}
		}
	}
	bound := func(b *token, inclusive, upper bool) (*Bound, *ParseError) {
		if b == nil {
			return nil, nil
		}
		switch f.Type() {
		case Integer:
			n, err := strconv.ParseInt(b.text, 10, 64)
			if err != nil {
				return nil, errAt(b.pos, "%s takes an integer, not %q", f.Name, clip(b.text))
			}
			return &Bound{Value: strconv.FormatInt(n, 10), Inclusive: inclusive}, nil
		case Date:
			first, last, ok := parseDate(b.text)
			if !ok {
				return nil, errAt(b.pos, "%s takes a date such as 2024-01-31 or 2024-01-31T12:00:00.000Z, not %q", f.Name, clip(b.text))
			}
			// Lower inclusive and upper exclusive bounds start where the date starts;
			// the others where it ends.
			if inclusive != upper {
				return dateBound(first, inclusive), nil
			}
			return dateBound(last, inclusive), nil
		case Text:
			v := b.text
			if f.CaseInsensitive() {
				v = strings.ToLower(v)
			}
			return &Bound{Value: v, Inclusive: inclusive}, nil
		}
		return &Bound{Value: b.text, Inclusive: inclusive}, nil
	}
	if r.Lo, err = bound(loTok, loIncl, false); err != nil {
		return nil, err
	}
	if r.Hi, err = bound(hiTok, hiIncl, true); err != nil {
		return nil, err
	}
	return r, nil
}

// rangeBound reads one bound: nil for an open end (*).
func (p *parser) rangeBound() (*token, *ParseError) {
	t, err := p.lx.rangeToken()
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case tPhrase:
		return &t, nil
	case tWord:
		if t.text == "*" {
			return nil, nil
		}
		if t.text == "TO" {
			return nil, errAt(t.pos, "a range needs a value on each side of TO (* for an open end)")
		}
		if len(t.parts) > 1 {
			return nil, errAt(t.pos, "wildcards are not allowed in range bounds, except * for an open end")
		}
		return &t, nil
	}
	return nil, errAt(t.pos, "expected a range bound, found %s", t.describe())
}

func mkAnd(nodes []Node) Node {
	if len(nodes) == 1 {
		return nodes[0]
	}
	var flat []Node
	for _, n := range nodes {
		if a, ok := n.(*And); ok {
			flat = append(flat, a.Nodes...)
		} else {
			flat = append(flat, n)
		}
	}
	return &And{Nodes: flat}
}

func mkOr(nodes []Node) Node {
	if len(nodes) == 1 {
		return nodes[0]
	}
	var flat []Node
	for _, n := range nodes {
		if o, ok := n.(*Or); ok {
			flat = append(flat, o.Nodes...)
		} else {
			flat = append(flat, n)
		}
	}
	return &Or{Nodes: flat}
}
