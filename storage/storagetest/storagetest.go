// Package storagetest is the conformance suite that every storage backend runs, so that
// the service layer can rely on one behaviour whatever the backend. A backend's test file
// is a few lines handing its constructor to RunTests.
package storagetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

// RunTests runs the whole suite against stores made by newStore. Each subtest gets a fresh,
// empty store; the suite closes it when the subtest ends (and fails if Close fails), so
// newStore should only arrange the cleanup of what Close leaves behind (files, databases).
func RunTests(t *testing.T, newStore func(t *testing.T) storage.Store) {
	open := func(t *testing.T) storage.Store {
		t.Helper()
		s := newStore(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	groups := []struct {
		name  string
		tests []subtest
	}{
		{"Users", userTests},
		{"Search", searchTests},
		{"Metadata", metadataTests},
		{"Passwords", passwordTests},
		{"Clients", clientTests},
		{"ClientGrants", clientGrantTests},
		{"Connections", connectionTests},
		{"SigningKeys", signingKeyTests},
		{"Grants", grantTests},
		{"Rules", ruleTests},
		{"RulesConfigs", rulesConfigTests},
		{"Actions", actionTests},
		{"RefreshTokens", refreshTokenTests},
		{"Events", eventTests},
		{"Ping", []subtest{{"Ping", testPing}}},
		{"Concurrency", concurrencyTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, st := range g.tests {
				t.Run(st.name, func(t *testing.T) { st.run(t, open(t)) })
			}
		})
	}
}

type subtest struct {
	name string
	run  func(t *testing.T, s storage.Store)
}

func testPing(t *testing.T, s storage.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping on an open store: %v", err)
	}
}

// base is a fixed instant with sub-millisecond digits, so that fixtures built from it
// also check the store's truncation. Fixtures keep their times distinct, so ordering
// never depends on a backend's tie-break.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535_897_932, time.UTC)

// at returns base plus n minutes, normalised as a store returns it.
func at(n int) time.Time { return storage.Time(base.Add(time.Duration(n) * time.Minute)) }

// errUpdater is returned by updaters that must abort an update.
var errUpdater = errors.New("updater refused")

func wantErr(t *testing.T, op string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error = %v, want %v", op, err, want)
	}
}

func must(t *testing.T, op string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
}

// mustMetadata decodes a fixture the way the API layer decodes request bodies.
func mustMetadata(t *testing.T, s string) storage.Metadata {
	t.Helper()
	m, err := storage.DecodeMetadata([]byte(s))
	if err != nil {
		t.Fatalf("fixture %s: %v", s, err)
	}
	return m
}

// assertEqual compares two values of the same struct type field by field and names the
// fields that differ. The contract does not say whether an empty list or map comes back
// nil or empty, so the two are equal here; times must be equal instants and in UTC.
func assertEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := diff(got, want); d != "" {
		t.Errorf("%s differs:\n%s", what, d)
	}
}

var timeType = reflect.TypeFor[time.Time]()

func diff(got, want any) string {
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	if g.Type() != w.Type() {
		return fmt.Sprintf("type %v, want %v", g.Type(), w.Type())
	}
	if g.Kind() != reflect.Struct || g.Type() == timeType {
		return diffValue(g, w)
	}
	var b strings.Builder
	for i := range g.NumField() {
		if d := diffValue(g.Field(i), w.Field(i)); d != "" {
			fmt.Fprintf(&b, "  %s: %s\n", g.Type().Field(i).Name, d)
		}
	}
	return b.String()
}

func diffValue(g, w reflect.Value) string {
	if g.Type() == timeType {
		gt, wt := g.Interface().(time.Time), w.Interface().(time.Time)
		if !gt.Equal(wt) {
			return fmt.Sprintf("got %v, want %v", gt, wt)
		}
		if !gt.IsZero() && gt.Location() != time.UTC {
			return fmt.Sprintf("got %v in %v, want UTC", gt, gt.Location())
		}
		return ""
	}
	switch g.Kind() {
	case reflect.Slice, reflect.Map:
		if g.Len() == 0 && w.Len() == 0 {
			return ""
		}
	case reflect.Struct:
		if d := diff(g.Interface(), w.Interface()); d != "" {
			return "{\n  " + strings.ReplaceAll(strings.TrimRight(d, "\n"), "\n", "\n  ") + "\n  }"
		}
		return ""
	}
	if !reflect.DeepEqual(g.Interface(), w.Interface()) {
		if gm, ok := g.Interface().(storage.Metadata); ok {
			return diffMetadata(gm, w.Interface().(storage.Metadata))
		}
		return fmt.Sprintf("got %#v, want %#v", g.Interface(), w.Interface())
	}
	return ""
}

// diffMetadata names the top-level keys that differ, with Go types, since a float64 and a
// json.Number print alike as JSON.
func diffMetadata(got, want storage.Metadata) string {
	keys := make(map[string]bool)
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	var lines []string
	for k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !gok:
			lines = append(lines, fmt.Sprintf("%q missing, want %#v", k, w))
		case !wok:
			lines = append(lines, fmt.Sprintf("%q = %#v, not expected", k, g))
		case !reflect.DeepEqual(g, w):
			lines = append(lines, fmt.Sprintf("%q = %#v, want %#v", k, g, w))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "; ")
}

func sortedBy[T any](items []T, key func(T) string) []T {
	out := slices.Clone(items)
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	return out
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return out
}
