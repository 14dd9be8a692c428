package mgmtapi

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestParseLogQuery(t *testing.T) {
	for _, c := range []struct {
		q    string
		want logFilter
	}{
		{"", logFilter{}},
		{"   ", logFilter{}},
		{"type:fp", logFilter{types: []string{"fp"}}},
		{`type:"fp"`, logFilter{types: []string{"fp"}}},
		{"type:(fp OR fu OR fp)", logFilter{types: []string{"fp", "fu"}}},
		{"type:limit*", logFilter{types: []string{"limit_wc", "limit_mu"}}},
		{"type:nope*", logFilter{noMatch: true}},
		{"type:(nope* OR s)", logFilter{types: []string{"s"}}},
		{`user_id:"auth0|123"`, logFilter{userID: "auth0|123"}},
		{`user_id:auth0|123`, logFilter{userID: "auth0|123"}},
		{`user_id:"a \"quoted\" id"`, logFilter{userID: `a "quoted" id`}},
		{`client_id:abc\ def`, logFilter{clientID: "abc def"}},
		{`user_id:samlp\:x`, logFilter{userID: "samlp:x"}},
		{"type:s AND client_id:abc AND user_id:u", logFilter{types: []string{"s"}, clientID: "abc", userID: "u"}},
		{"date:2024-05-01", logFilter{from: day(2024, 5, 1), to: day(2024, 5, 2)}},
		{"date:2024-05", logFilter{from: day(2024, 5, 1), to: day(2024, 6, 1)}},
		{"date:2024", logFilter{from: day(2024, 1, 1), to: day(2025, 1, 1)}},
		{"date:[2024-05-01 TO 2024-05-31]", logFilter{from: day(2024, 5, 1), to: day(2024, 6, 1)}},
		{"date:{2024-05-01 TO 2024-05-31}", logFilter{from: day(2024, 5, 2), to: day(2024, 5, 31)}},
		{"date:[2018-12-18 TO *]", logFilter{from: day(2018, 12, 18)}},
		{"date:[* TO 2018-12-19}", logFilter{to: day(2018, 12, 19)}},
		{"date:[2019-01-01T01:00:00 TO 2019-01-01T12:23:45}", logFilter{
			from: time.Date(2019, 1, 1, 1, 0, 0, 0, time.UTC), to: time.Date(2019, 1, 1, 12, 23, 45, 0, time.UTC)}},
		{"date:[2019-01-01T01:00:00.250Z TO 2019-01-01T03:00:00+02:00]", logFilter{
			from: time.Date(2019, 1, 1, 1, 0, 0, 250e6, time.UTC), to: time.Date(2019, 1, 1, 1, 0, 1, 0, time.UTC)}},
	} {
		got, err := parseLogQuery(c.q)
		if err != nil {
			t.Errorf("%q: %v", c.q, err)
			continue
		}
		if !slices.Equal(got.types, c.want.types) || got.noMatch != c.want.noMatch || got.userID != c.want.userID ||
			got.clientID != c.want.clientID || !got.from.Equal(c.want.from) || !got.to.Equal(c.want.to) {
			t.Errorf("%q = %+v, want %+v", c.q, got, c.want)
		}
	}
}

func TestParseLogQueryErrors(t *testing.T) {
	for q, pos := range map[string]int{
		"fp":                          2,
		":fp":                         0,
		"ip:1.2.3.4":                  0,
		"type:":                       5,
		"type: fp":                    5,
		"type:fp OR type:fu":          8,
		"type:fp NOT user_id:x":       8,
		"type:fp user_id:x":           8,
		"type:fp AND":                 11,
		"type:fp AND type:fu":         12,
		"type:fpANDuser_id:x":         17,
		"user_id:a:b":                 9,
		"type:(fp fu)":                9,
		"type:(fp OR":                 5,
		"type:()":                     6,
		"user_id:a*":                  9,
		"user_id:?":                   8,
		`user_id:"open`:               8,
		"date:yesterday":              5,
		"date:[2024 2025]":            11,
		"date:[2024 TO 2025":          18,
		"date:[2024 TO tomorrow]":     14,
		"date:[ TO 2025]":             7,
		"(type:fp)":                   0,
		"type:fp AND date:2024 AND x": 27,
	} {
		_, err := parseLogQuery(q)
		var qe *logQueryError
		if !errors.As(err, &qe) {
			t.Errorf("%q: error %v, want a logQueryError", q, err)
			continue
		}
		if qe.pos != pos {
			t.Errorf("%q: error at %d (%s), want at %d", q, qe.pos, qe.msg, pos)
		}
	}
}
