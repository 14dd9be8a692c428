package mgmtapi

// The q of GET /api/v2/logs: the part of Auth0's log search syntax (a Lucene subset) that
// latch answers. Clauses on type, user_id, client_id and date, joined by AND:
//
//	type:fp                          type:"fp"          type:(fp OR fu)     type:f*
//	user_id:"auth0|123"              client_id:abc
//	date:2024-05-01                  (that whole day; also 2024, 2024-05, ...T12:30, ...T12:30:15)
//	date:[2024-05-01 TO 2024-05-31]  (inclusive: through the end of May 31)
//	date:[2024-05-01 TO *]           date:{2024-05-01 TO 2024-06-01}  (exclusive)
//
// A date names the period its precision implies (a day, a month, a second...), in UTC unless
// it carries an offset: an inclusive bound takes the whole period in, an exclusive one leaves
// it out. The query is parsed into a storage.EventQuery, never spliced into SQL; anything
// else is a 400 that says where the query went wrong (a 0-based character position).

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
)

// maxLogQueryTypes bounds the types one query may list (after expanding wildcards).
const maxLogQueryTypes = 64

// logFilter is a parsed q.
type logFilter struct {
	types    []string
	noMatch  bool // a type wildcard that matches no type latch emits
	userID   string
	clientID string
	from, to time.Time
}

// apply sets the filter's fields of q.
func (f logFilter) apply(q *storage.EventQuery) {
	q.Types, q.UserID, q.ClientID, q.From, q.To = f.types, f.userID, f.clientID, f.from, f.to
}

// logQueryError is a q that latch cannot read; pos is a 0-based character position.
type logQueryError struct {
	pos int
	msg string
}

func (e *logQueryError) Error() string {
	return fmt.Sprintf("invalid q at position %d: %s", e.pos, e.msg)
}

type logQueryParser struct {
	in   []rune
	pos  int
	seen map[string]bool
	f    logFilter
}

// parseLogQuery reads q; "" (or only spaces) selects everything.
func parseLogQuery(q string) (logFilter, error) {
	p := &logQueryParser{in: []rune(q), seen: map[string]bool{}}
	p.spaces()
	if p.eof() {
		return logFilter{}, nil
	}
	for {
		if err := p.clause(); err != nil {
			return logFilter{}, err
		}
		sawSpace := p.spaces()
		if p.eof() {
			break
		}
		start := p.pos
		word := p.word()
		switch {
		case word == "AND" && sawSpace:
		case word == "OR" || word == "NOT" || word == "||" || word == "&&":
			return logFilter{}, p.errAt(start, "only AND may join clauses (%s is not supported)", word)
		default:
			return logFilter{}, p.errAt(start, "expected AND between clauses")
		}
		if !p.spaces() || p.eof() {
			return logFilter{}, p.errAt(p.pos, "expected a space and a clause after AND")
		}
	}
	return p.f, nil
}

func (p *logQueryParser) eof() bool { return p.pos >= len(p.in) }

func (p *logQueryParser) errAt(pos int, format string, args ...any) error {
	return &logQueryError{pos: pos, msg: fmt.Sprintf(format, args...)}
}

// spaces skips white space and says whether there was any.
func (p *logQueryParser) spaces() bool {
	start := p.pos
	for !p.eof() && unicode.IsSpace(p.in[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

// word reads up to the next space or structural character.
func (p *logQueryParser) word() string {
	start := p.pos
	for !p.eof() && !unicode.IsSpace(p.in[p.pos]) && !strings.ContainsRune(`()[]{}":`, p.in[p.pos]) {
		p.pos++
	}
	return string(p.in[start:p.pos])
}

// clause reads field:value.
func (p *logQueryParser) clause() error {
	start := p.pos
	field := p.word()
	if field == "" {
		return p.errAt(start, "expected a field name (type, user_id, client_id or date)")
	}
	if p.eof() || p.in[p.pos] != ':' {
		return p.errAt(p.pos, "expected ':' after %q: every term needs a field (type, user_id, client_id or date)", field)
	}
	p.pos++ // ':'
	switch field {
	case "type", "user_id", "client_id", "date":
	default:
		return p.errAt(start, "latch searches logs by type, user_id, client_id and date, not by %q", field)
	}
	if p.seen[field] {
		return p.errAt(start, "%s is given twice", field)
	}
	p.seen[field] = true
	if p.eof() || unicode.IsSpace(p.in[p.pos]) {
		return p.errAt(p.pos, "expected a value for %s", field)
	}
	switch field {
	case "type":
		return p.typeValue()
	case "date":
		return p.dateValue()
	}
	v, err := p.value(false)
	if err != nil {
		return err
	}
	if field == "user_id" {
		p.f.userID = v
	} else {
		p.f.clientID = v
	}
	return nil
}

// value reads a "quoted phrase" or a bare term (with \ escapes; a ':' must be escaped or
// quoted). Wildcards are refused unless allowStar, which lets a term end with one.
func (p *logQueryParser) value(allowStar bool) (string, error) {
	start := p.pos
	if p.in[p.pos] == '"' {
		p.pos++
		var b strings.Builder
		for {
			if p.eof() {
				return "", p.errAt(start, "unterminated quoted value")
			}
			r := p.in[p.pos]
			p.pos++
			switch r {
			case '"':
				return b.String(), nil
			case '\\':
				if p.eof() {
					return "", p.errAt(p.pos, "nothing to escape after \\")
				}
				b.WriteRune(p.in[p.pos])
				p.pos++
			default:
				b.WriteRune(r)
			}
		}
	}
	var b strings.Builder
	for !p.eof() && !unicode.IsSpace(p.in[p.pos]) && !strings.ContainsRune(`()[]{}":`, p.in[p.pos]) {
		r := p.in[p.pos]
		switch {
		case r == '\\':
			if p.pos+1 >= len(p.in) {
				return "", p.errAt(p.pos, "nothing to escape after \\")
			}
			p.pos++
			r = p.in[p.pos]
		case r == '?', r == '*' && !(allowStar && p.endOfTerm(p.pos+1)):
			return "", p.errAt(p.pos, "wildcards are not supported here")
		}
		b.WriteRune(r)
		p.pos++
	}
	if b.Len() == 0 {
		return "", p.errAt(start, "expected a value")
	}
	return b.String(), nil
}

func (p *logQueryParser) endOfTerm(i int) bool {
	return i >= len(p.in) || unicode.IsSpace(p.in[i]) || strings.ContainsRune(`()[]{}":`, p.in[i])
}

// typeValue reads one type, a prefix wildcard (f*: every type latch emits that starts
// with f), or a group of them joined by OR.
func (p *logQueryParser) typeValue() error {
	if err := p.typeList(); err != nil {
		return err
	}
	p.f.noMatch = len(p.f.types) == 0 // only wildcards that match no type latch emits
	return nil
}

func (p *logQueryParser) typeList() error {
	if p.in[p.pos] != '(' {
		return p.oneType()
	}
	open := p.pos
	p.pos++
	for {
		p.spaces()
		if p.eof() {
			return p.errAt(open, "unclosed (")
		}
		if err := p.oneType(); err != nil {
			return err
		}
		p.spaces()
		if p.eof() {
			return p.errAt(open, "unclosed (")
		}
		if p.in[p.pos] == ')' {
			p.pos++
			break
		}
		start := p.pos
		if p.word() != "OR" {
			return p.errAt(start, "expected OR or ) in the list of types")
		}
	}
	return nil
}

func (p *logQueryParser) oneType() error {
	start := p.pos
	quoted := p.in[p.pos] == '"'
	v, err := p.value(true)
	if err != nil {
		return err
	}
	var add []string
	if prefix, ok := strings.CutSuffix(v, "*"); ok && !quoted {
		for _, t := range flow.EventTypes {
			if strings.HasPrefix(t, prefix) {
				add = append(add, t)
			}
		}
	} else {
		add = []string{v}
	}
	for _, t := range add {
		if !slices.Contains(p.f.types, t) {
			p.f.types = append(p.f.types, t)
		}
	}
	if len(p.f.types) > maxLogQueryTypes {
		return p.errAt(start, "too many types (at most %d)", maxLogQueryTypes)
	}
	return nil
}

// dateValue reads a date (its whole period) or a range of dates.
func (p *logQueryParser) dateValue() error {
	open := p.in[p.pos]
	if open != '[' && open != '{' {
		start := p.pos
		v, err := p.value(false)
		if err != nil {
			return err
		}
		from, end, ok := parseLogDate(v)
		if !ok {
			return p.errAt(start, "%q is not a date like 2024-05-01 or 2024-05-01T12:30:00Z", v)
		}
		p.f.from, p.f.to = from, end
		return nil
	}
	p.pos++
	p.spaces()
	lowStart := p.pos
	low := p.bound()
	if low == "TO" || low == "" {
		return p.errAt(lowStart, "expected a date or * to start the range")
	}
	p.spaces()
	toStart := p.pos
	if p.bound() != "TO" {
		return p.errAt(toStart, "expected TO in the date range")
	}
	p.spaces()
	highStart := p.pos
	high := p.bound()
	p.spaces()
	if p.eof() || (p.in[p.pos] != ']' && p.in[p.pos] != '}') {
		return p.errAt(p.pos, "expected ] or } to close the date range")
	}
	closing := p.in[p.pos]
	p.pos++
	if low != "*" {
		start, end, ok := parseLogDate(low)
		if !ok {
			return p.errAt(lowStart, "%q is not a date like 2024-05-01 or 2024-05-01T12:30:00Z", low)
		}
		p.f.from = start
		if open == '{' {
			p.f.from = end
		}
	}
	if high != "*" {
		start, end, ok := parseLogDate(high)
		if !ok {
			return p.errAt(highStart, "%q is not a date like 2024-05-01 or 2024-05-01T12:30:00Z", high)
		}
		p.f.to = end
		if closing == '}' {
			p.f.to = start
		}
	}
	return nil
}

// bound reads one end of a range: up to a space or a bracket.
func (p *logQueryParser) bound() string {
	start := p.pos
	for !p.eof() && !unicode.IsSpace(p.in[p.pos]) && !strings.ContainsRune(`[]{}`, p.in[p.pos]) {
		p.pos++
	}
	return string(p.in[start:p.pos])
}

// logDateLayouts are the date forms q accepts, each with the period it names.
var logDateLayouts = []struct {
	layout string
	next   func(time.Time) time.Time
}{
	{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
	{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
	{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
	{"2006-01-02T15:04", func(t time.Time) time.Time { return t.Add(time.Minute) }},
	{"2006-01-02T15:04Z07:00", func(t time.Time) time.Time { return t.Add(time.Minute) }},
	{"2006-01-02T15:04:05", func(t time.Time) time.Time { return t.Add(time.Second) }},
	{"2006-01-02T15:04:05Z07:00", func(t time.Time) time.Time { return t.Add(time.Second) }},
	{"2006-01-02T15:04:05.000", func(t time.Time) time.Time { return t.Add(time.Millisecond) }},
	{"2006-01-02T15:04:05.000Z07:00", func(t time.Time) time.Time { return t.Add(time.Millisecond) }},
}

// parseLogDate returns the start of the period a date names and the start of the next.
func parseLogDate(s string) (start, end time.Time, ok bool) {
	for _, l := range logDateLayouts {
		if t, err := time.Parse(l.layout, s); err == nil {
			return t.UTC(), l.next(t).UTC(), true
		}
	}
	return time.Time{}, time.Time{}, false
}
