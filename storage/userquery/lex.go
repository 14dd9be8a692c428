package userquery

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseError is a query that cannot be parsed or searched. Pos is the 0-based byte offset
// in the query where the problem is.
type ParseError struct {
	Pos int
	Msg string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s (at position %d)", e.Msg, e.Pos) }

func errAt(pos int, format string, args ...any) *ParseError {
	return &ParseError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tPhrase
	tColon
	tLParen
	tRParen
	tLBracket // [
	tLBrace   // {
	tRBracket // ]
	tRBrace   // }
	tAnd
	tOr
	tNot
)

type token struct {
	kind tokKind
	pos  int
	// text is a word's or a phrase's value, escapes resolved. For a word, parts is the
	// text split at its unescaped '*' (one part when there is none).
	text    string
	parts   []string
	escaped bool // the word had a backslash escape (so it is never a keyword)
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "the end of the query"
	case tWord:
		return fmt.Sprintf("%q", clip(t.text))
	case tPhrase:
		return "a quoted value"
	case tColon:
		return "':'"
	case tLParen:
		return "'('"
	case tRParen:
		return "')'"
	case tLBracket:
		return "'['"
	case tLBrace:
		return "'{'"
	case tRBracket:
		return "']'"
	case tRBrace:
		return "'}'"
	case tAnd:
		return "AND"
	case tOr:
		return "OR"
	default:
		return "NOT"
	}
}

// isSpecial reports the characters with a meaning somewhere in the syntax; String escapes
// all of them inside words.
func isSpecial(r rune) bool {
	return strings.ContainsRune(`+-&|!(){}[]^"~*?:\/`, r)
}

func isSpace(r rune) bool { return unicode.IsSpace(r) }

// endsWord: characters that end an unquoted word (besides whitespace).
func endsWord(r rune) bool { return strings.ContainsRune(`(){}[]":^~/`, r) }

type lexer struct {
	q     string
	pos   int
	colon bool // the last token was ':', so a '+' or '-' starts a value (logins_count:-1)
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.q) {
		r, n := utf8.DecodeRuneInString(l.q[l.pos:])
		if !isSpace(r) {
			return
		}
		l.pos += n
	}
}

// next lexes one token in the normal state.
func (l *lexer) next() (token, *ParseError) {
	t, err := l.lex()
	l.colon = err == nil && t.kind == tColon
	return t, err
}

func (l *lexer) lex() (token, *ParseError) {
	l.skipSpace()
	start := l.pos
	if l.pos >= len(l.q) {
		return token{kind: tEOF, pos: start}, nil
	}
	rest := l.q[l.pos:]
	if k := punctuation(rest[0]); k != tEOF {
		l.pos++
		return token{kind: k, pos: start}, nil
	}
	switch {
	case strings.HasPrefix(rest, "&&"):
		l.pos += 2
		return token{kind: tAnd, pos: start}, nil
	case strings.HasPrefix(rest, "||"):
		l.pos += 2
		return token{kind: tOr, pos: start}, nil
	}
	switch rest[0] {
	case '!':
		l.pos++
		return token{kind: tNot, pos: start}, nil
	case '"':
		return l.phrase()
	case '+', '-':
		if l.colon {
			break
		}
		return token{}, errAt(start, "'%c' prefixes are not supported; use AND and NOT (or escape it: \\%c)", rest[0], rest[0])
	case '~':
		return token{}, errAt(start, "fuzzy and proximity searches (~) are not supported")
	case '^':
		return token{}, errAt(start, "boosts (^) are not supported")
	case '/':
		return token{}, errAt(start, "regular expressions (/.../) are not supported; escape the slash (\\/) or quote the value")
	}
	t, err := l.word()
	if err == nil && !t.escaped && len(t.parts) == 1 {
		// Operators are upper case; "and" is a value, as in Lucene.
		switch t.text {
		case "AND":
			t.kind = tAnd
		case "OR":
			t.kind = tOr
		case "NOT":
			t.kind = tNot
		}
	}
	return t, err
}

func punctuation(c byte) tokKind {
	switch c {
	case '(':
		return tLParen
	case ')':
		return tRParen
	case '[':
		return tLBracket
	case '{':
		return tLBrace
	case ']':
		return tRBracket
	case '}':
		return tRBrace
	case ':':
		return tColon
	}
	return tEOF
}

// word lexes an unquoted word: escapes resolved, split at unescaped '*'.
func (l *lexer) word() (token, *ParseError) {
	start := l.pos
	var (
		cur     strings.Builder
		parts   []string
		escaped bool
	)
	for l.pos < len(l.q) {
		r, n := utf8.DecodeRuneInString(l.q[l.pos:])
		if isSpace(r) || endsWord(r) {
			break
		}
		switch r {
		case '\\':
			if l.pos+n >= len(l.q) {
				return token{}, errAt(l.pos, "the query ends with a lone backslash")
			}
			e, en := utf8.DecodeRuneInString(l.q[l.pos+n:])
			cur.WriteRune(e)
			escaped = true
			l.pos += n + en
			continue
		case '*':
			parts = append(parts, cur.String())
			cur.Reset()
		case '?':
			return token{}, errAt(l.pos, "'?' wildcards are not supported; use * (or escape it: \\?)")
		default:
			cur.WriteRune(r)
		}
		l.pos += n
	}
	parts = append(parts, cur.String())
	return token{kind: tWord, pos: start, text: strings.Join(parts, "*"), parts: parts, escaped: escaped}, nil
}

// phrase lexes a double-quoted value; a backslash escapes the next character.
func (l *lexer) phrase() (token, *ParseError) {
	start := l.pos
	l.pos++ // opening quote
	var b strings.Builder
	for l.pos < len(l.q) {
		r, n := utf8.DecodeRuneInString(l.q[l.pos:])
		switch r {
		case '"':
			l.pos += n
			return token{kind: tPhrase, pos: start, text: b.String()}, nil
		case '\\':
			if l.pos+n >= len(l.q) {
				return token{}, errAt(start, "unterminated quoted value")
			}
			e, en := utf8.DecodeRuneInString(l.q[l.pos+n:])
			b.WriteRune(e)
			l.pos += n + en
			continue
		}
		b.WriteRune(r)
		l.pos += n
	}
	return token{}, errAt(start, "unterminated quoted value")
}

// rangeToken lexes inside [ ... ] and { ... }: a quoted value, a closing bracket, or a run
// of anything else up to whitespace or a closing bracket (so dates need no escaping).
func (l *lexer) rangeToken() (token, *ParseError) {
	l.skipSpace()
	start := l.pos
	if l.pos >= len(l.q) {
		return token{kind: tEOF, pos: start}, nil
	}
	switch l.q[l.pos] {
	case ']':
		l.pos++
		return token{kind: tRBracket, pos: start}, nil
	case '}':
		l.pos++
		return token{kind: tRBrace, pos: start}, nil
	case '"':
		return l.phrase()
	}
	for l.pos < len(l.q) {
		r, n := utf8.DecodeRuneInString(l.q[l.pos:])
		if isSpace(r) || r == ']' || r == '}' {
			break
		}
		l.pos += n
	}
	text := l.q[start:l.pos]
	return token{kind: tWord, pos: start, text: text, parts: strings.Split(text, "*")}, nil
}
