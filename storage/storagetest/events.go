package storagetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

var eventTests = []subtest{
	{"RoundTrip", testEventRoundTrip},
	{"AppendIsAtomic", testEventAppendAtomic},
	{"Filters", testEventFilters},
	{"PagingAndTotals", testEventPaging},
	{"OrderWithTies", testEventOrder},
	{"EventsAfter", testEventsAfter},
	{"DeleteBefore", testEventDeleteBefore},
}

// newEvent returns an event of typ at minute n with the common fields set; its id comes
// from ids, so that events made in order have ids in order.
func newEvent(ids *storage.EventIDs, typ, userID, clientID string, n int) storage.Event {
	return storage.Event{
		ID: ids.Next(at(n)), Type: typ, Date: at(n), Description: "event " + typ,
		UserID: userID, ClientID: clientID, IP: "203.0.113.7",
	}
}

func appendEvents(t *testing.T, s storage.Store, events ...storage.Event) {
	t.Helper()
	must(t, "AppendEvents", s.AppendEvents(t.Context(), events))
}

func listEvents(t *testing.T, s storage.Store, q storage.EventQuery) ([]storage.Event, int) {
	t.Helper()
	if q.Page.PerPage == 0 {
		q.Page.PerPage = 100
	}
	got, total, err := s.ListEvents(t.Context(), q)
	must(t, "ListEvents", err)
	return got, total
}

func eventIDs(events []storage.Event) []string {
	return ids(events, func(e storage.Event) string { return e.ID })
}

func testEventRoundTrip(t *testing.T, s storage.Store) {
	ctx := t.Context()
	gen := storage.NewEventIDs()
	full := storage.Event{
		ID: gen.Next(base), Type: "s", Date: at(1), Description: "Success Login",
		UserID: "auth0|abc", UserName: "jane@example.com", ClientID: "client-1", ClientName: "My App",
		Connection: "Username-Password-Authentication", ConnectionID: "con_1", Strategy: "auth0",
		StrategyType: "database", Audience: "https://api.example.com/", Scope: "openid profile",
		IP: "2001:db8::1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", Hostname: "login.example.com",
		Details: mustMetadata(t, `{"rules":{"outcome":"ok","duration_ms":1000000,"ratio":0.1,
			"scripts":[{"name":"a","duration_ms":12345678901234567}]},"console":["a","ü ✓"],"none":null,"t":true}`),
	}
	bare := storage.Event{ID: gen.Next(base), Type: "fu", Date: at(2)}
	appendEvents(t, s, full, bare)

	got, err := s.GetEvent(ctx, full.ID)
	must(t, "GetEvent", err)
	assertEqual(t, "event", got, full)
	if n, ok := got.Details["rules"].(map[string]any)["duration_ms"].(json.Number); !ok || n.String() != "1000000" {
		t.Errorf("details number = %#v, want json.Number 1000000", got.Details["rules"])
	}
	gotBare, err := s.GetEvent(ctx, bare.ID)
	must(t, "GetEvent bare", err)
	assertEqual(t, "bare event", gotBare, bare)
	if gotBare.Details == nil {
		t.Error("details of an event written without any come back nil")
	}

	_, err = s.GetEvent(ctx, "90020250101000000000000000000000000000000000000000000000")
	wantErr(t, "GetEvent missing", err, storage.ErrNotFound)

	got.Details["added"] = "x"
	again, err := s.GetEvent(ctx, full.ID)
	must(t, "GetEvent again", err)
	assertEqual(t, "event after a caller changed a returned one", again, full)

	must(t, "AppendEvents of nothing", s.AppendEvents(ctx, nil))
}

func testEventAppendAtomic(t *testing.T, s storage.Store) {
	ctx := t.Context()
	gen := storage.NewEventIDs()
	first := newEvent(gen, "s", "u1", "c1", 1)
	appendEvents(t, s, first)
	fresh := newEvent(gen, "f", "u1", "c1", 2)
	dup := newEvent(gen, "fp", "u2", "c1", 3)
	dup.ID = first.ID
	wantErr(t, "AppendEvents with a taken id", s.AppendEvents(ctx, []storage.Event{fresh, dup}), storage.ErrAlreadyExists)
	_, err := s.GetEvent(ctx, fresh.ID)
	wantErr(t, "the batch's other event", err, storage.ErrNotFound)
	if _, total := listEvents(t, s, storage.EventQuery{}); total != 1 {
		t.Errorf("events after a refused batch = %d, want 1", total)
	}
}

func testEventFilters(t *testing.T, s storage.Store) {
	gen := storage.NewEventIDs()
	e := []storage.Event{
		newEvent(gen, "s", "auth0|u1", "c1", 1),  // 0
		newEvent(gen, "fp", "auth0|u1", "c1", 2), // 1
		newEvent(gen, "fu", "", "c2", 3),         // 2
		newEvent(gen, "s", "auth0|u2", "c2", 4),  // 3
		newEvent(gen, "sapi", "", "c1", 5),       // 4
		newEvent(gen, "s", "auth0|u1", "c2", 6),  // 5
	}
	appendEvents(t, s, e...)
	pick := func(idx ...int) []string {
		var out []string
		for i := len(e) - 1; i >= 0; i-- { // newest first
			if slices.Contains(idx, i) {
				out = append(out, e[i].ID)
			}
		}
		return out
	}
	for _, c := range []struct {
		name string
		q    storage.EventQuery
		want []string
	}{
		{"all", storage.EventQuery{}, pick(0, 1, 2, 3, 4, 5)},
		{"one type", storage.EventQuery{Types: []string{"s"}}, pick(0, 3, 5)},
		{"two types", storage.EventQuery{Types: []string{"fp", "fu"}}, pick(1, 2)},
		{"unknown type", storage.EventQuery{Types: []string{"nope"}}, nil},
		{"user", storage.EventQuery{UserID: "auth0|u1"}, pick(0, 1, 5)},
		{"client", storage.EventQuery{ClientID: "c2"}, pick(2, 3, 5)},
		{"user and client", storage.EventQuery{UserID: "auth0|u1", ClientID: "c2"}, pick(5)},
		{"type and user", storage.EventQuery{Types: []string{"s"}, UserID: "auth0|u1"}, pick(0, 5)},
		{"from (inclusive)", storage.EventQuery{From: at(4)}, pick(3, 4, 5)},
		{"to (exclusive)", storage.EventQuery{To: at(3)}, pick(0, 1)},
		{"to between milliseconds", storage.EventQuery{To: at(3).Add(500 * time.Microsecond)}, pick(0, 1, 2)},
		{"from between milliseconds", storage.EventQuery{From: at(3).Add(500 * time.Microsecond)}, pick(3, 4, 5)},
		{"range and type", storage.EventQuery{From: at(2), To: at(6), Types: []string{"s", "fu"}}, pick(2, 3)},
		{"everything", storage.EventQuery{From: at(1), To: at(7), Types: []string{"s"}, UserID: "auth0|u1", ClientID: "c1"}, pick(0)},
	} {
		got, total := listEvents(t, s, c.q)
		if !slices.Equal(eventIDs(got), c.want) {
			t.Errorf("%s: ids = %v, want %v", c.name, eventIDs(got), c.want)
		}
		if total != len(c.want) {
			t.Errorf("%s: total = %d, want %d", c.name, total, len(c.want))
		}
	}
}

func testEventPaging(t *testing.T, s storage.Store) {
	gen := storage.NewEventIDs()
	var all []storage.Event
	for i := range 7 {
		typ := "s"
		if i%2 == 1 {
			typ = "fp"
		}
		all = append(all, newEvent(gen, typ, "auth0|u", "c", i))
	}
	appendEvents(t, s, all...)
	var seen []string
	for page := 0; ; page++ {
		got, total := listEvents(t, s, storage.EventQuery{Page: storage.Page{Page: page, PerPage: 3}})
		if total != 7 {
			t.Fatalf("page %d: total = %d, want 7", page, total)
		}
		if len(got) == 0 {
			break
		}
		seen = append(seen, eventIDs(got)...)
	}
	want := eventIDs(all)
	slices.Reverse(want)
	if !slices.Equal(seen, want) {
		t.Errorf("pages = %v, want %v", seen, want)
	}
	got, total := listEvents(t, s, storage.EventQuery{Types: []string{"fp"}, Page: storage.Page{Page: 1, PerPage: 2}})
	if total != 3 || !slices.Equal(eventIDs(got), []string{all[1].ID}) {
		t.Errorf("second page of fp = %v (total %d), want [%s] (total 3)", eventIDs(got), total, all[1].ID)
	}
	_, _, err := s.ListEvents(t.Context(), storage.EventQuery{Page: storage.Page{PerPage: 0}})
	if err == nil {
		t.Error("ListEvents with per_page 0: no error")
	}
}

func testEventOrder(t *testing.T, s storage.Store) {
	gen := storage.NewEventIDs()
	// Three events in one millisecond, written in two batches, then one later.
	same := at(5)
	a := storage.Event{ID: gen.Next(same), Type: "s", Date: same}
	b := storage.Event{ID: gen.Next(same), Type: "s", Date: same}
	c := storage.Event{ID: gen.Next(same), Type: "s", Date: same}
	d := storage.Event{ID: gen.Next(at(6)), Type: "s", Date: at(6)}
	// An event written late with an earlier date: lists go by date, checkpoints by id.
	early := storage.Event{ID: gen.Next(at(7)), Type: "f", Date: at(1)}
	appendEvents(t, s, b, a)
	appendEvents(t, s, early, d, c)

	want := []string{d.ID, c.ID, b.ID, a.ID, early.ID}
	for range 3 { // the same order every time
		got, _ := listEvents(t, s, storage.EventQuery{})
		if !slices.Equal(eventIDs(got), want) {
			t.Fatalf("newest first = %v, want %v", eventIDs(got), want)
		}
	}
	got, _ := listEvents(t, s, storage.EventQuery{Oldest: true})
	slices.Reverse(want)
	if !slices.Equal(eventIDs(got), want) {
		t.Errorf("oldest first = %v, want %v", eventIDs(got), want)
	}
}

func testEventsAfter(t *testing.T, s storage.Store) {
	ctx := t.Context()
	gen := storage.NewEventIDs()
	var all []storage.Event
	for i := range 5 {
		all = append(all, newEvent(gen, "s", "u", "c", 10-i)) // dates going back, ids going up
	}
	appendEvents(t, s, all[3], all[0], all[4], all[2], all[1])
	got, err := s.EventsAfter(ctx, "", 3)
	must(t, "EventsAfter start", err)
	if want := eventIDs(all[:3]); !slices.Equal(eventIDs(got), want) {
		t.Errorf("EventsAfter(\"\", 3) = %v, want %v", eventIDs(got), want)
	}
	got, err = s.EventsAfter(ctx, all[2].ID, 10)
	must(t, "EventsAfter checkpoint", err)
	if want := eventIDs(all[3:]); !slices.Equal(eventIDs(got), want) {
		t.Errorf("EventsAfter(third, 10) = %v, want %v", eventIDs(got), want)
	}
	got, err = s.EventsAfter(ctx, all[4].ID, 10)
	must(t, "EventsAfter last", err)
	if len(got) != 0 {
		t.Errorf("EventsAfter(last) = %v, want none", eventIDs(got))
	}
}

func testEventDeleteBefore(t *testing.T, s storage.Store) {
	ctx := t.Context()
	gen := storage.NewEventIDs()
	old1 := newEvent(gen, "s", "u", "c", 1)
	old2 := newEvent(gen, "f", "u", "c", 2)
	atCut := newEvent(gen, "s", "u", "c", 3)
	live := newEvent(gen, "s", "u", "c", 4)
	appendEvents(t, s, old1, old2, atCut, live)

	n, err := s.DeleteEventsBefore(ctx, at(3))
	must(t, "DeleteEventsBefore", err)
	if n != 2 {
		t.Errorf("deleted %d, want 2", n)
	}
	for _, e := range []storage.Event{old1, old2} {
		_, err := s.GetEvent(ctx, e.ID)
		wantErr(t, "GetEvent of a deleted event", err, storage.ErrNotFound)
	}
	got, total := listEvents(t, s, storage.EventQuery{})
	if total != 2 || !slices.Equal(eventIDs(got), []string{live.ID, atCut.ID}) {
		t.Errorf("left = %v (total %d), want the two newest", eventIDs(got), total)
	}
	if n, err := s.DeleteEventsBefore(ctx, at(3)); err != nil || n != 0 {
		t.Errorf("second sweep = %d, %v; want 0, nil", n, err)
	}
}
