package userquery

import (
	"regexp"
	"strconv"
	"time"
)

// Number is a JSON number: an int64 when it is written without fraction or exponent and
// fits, a float64 otherwise. Backends index metadata numbers through ParseNumber too, so a
// query's number and a stored one always get the same type.
type Number struct {
	Int   int64
	Float float64
	IsInt bool
}

var jsonNumber = regexp.MustCompile(`^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// ParseNumber reads s as a JSON number. ok is false for anything else, and for numbers too
// large for a float64.
func ParseNumber(s string) (n Number, ok bool) {
	m := jsonNumber.FindStringSubmatch(s)
	if m == nil {
		return Number{}, false
	}
	if m[1] == "" && m[2] == "" {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return Number{Int: i, IsInt: true}, true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Number{}, false
	}
	return Number{Float: f}, true
}

// Value is the number as an int64 or a float64.
func (n Number) Value() any {
	if n.IsInt {
		return n.Int
	}
	return n.Float
}

// A date as the query syntax writes it: a year, optionally month, day, hour, minutes,
// seconds and a fraction; with a time, optionally a zone (Z or ±hh:mm). No zone is UTC.
var dateSyntax = regexp.MustCompile(`^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(?:T([0-9]{2})(?::([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?)?)?$`)

// parseDate returns the interval that a possibly partial date names, in UTC milliseconds:
// "2024-01" is [2024-01-01T00:00:00.000Z, 2024-01-31T23:59:59.999Z].
func parseDate(s string) (first, last time.Time, ok bool) {
	m := dateSyntax.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, time.Time{}, false
	}
	num := func(i, def int) int {
		if m[i] == "" {
			return def
		}
		n, _ := strconv.Atoi(m[i])
		return n
	}
	y, mo, d, h, mi, sec := num(1, 0), num(2, 1), num(3, 1), num(4, 0), num(5, 0), num(6, 0)
	ns := 0
	if f := m[7]; f != "" {
		for len(f) < 9 {
			f += "0"
		}
		ns, _ = strconv.Atoi(f)
	}
	loc := time.UTC
	if z := m[8]; z != "" && z != "Z" {
		zh, _ := strconv.Atoi(z[1:3])
		zm, _ := strconv.Atoi(z[len(z)-2:])
		if zh > 23 || zm > 59 {
			return time.Time{}, time.Time{}, false
		}
		off := zh*3600 + zm*60
		if z[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, loc)
	// time.Date normalises 2024-02-30 into March: refuse instead.
	if t.Year() != y || int(t.Month()) != mo || t.Day() != d || t.Hour() != h || t.Minute() != mi || t.Second() != sec {
		return time.Time{}, time.Time{}, false
	}
	var next time.Time
	switch {
	case m[7] != "":
		next = t.Truncate(time.Millisecond).Add(time.Millisecond)
	case m[6] != "":
		next = t.Add(time.Second)
	case m[5] != "":
		next = t.Add(time.Minute)
	case m[4] != "":
		next = t.Add(time.Hour)
	case m[3] != "":
		next = t.AddDate(0, 0, 1)
	case m[2] != "":
		next = t.AddDate(0, 1, 0)
	default:
		next = t.AddDate(1, 0, 0)
	}
	first = t.UTC().Truncate(time.Millisecond)
	return first, next.UTC().Add(-time.Millisecond), true
}
