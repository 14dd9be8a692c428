package mgmtapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
)

func TestCheckpointPageWalksEveryItemOnce(t *testing.T) {
	// Out of order on purpose: pages follow the ids, not the order the store lists.
	items := []string{"con_d", "con_a", "con_e", "con_c", "con_b"}
	id := func(s string) string { return s }
	for take := 1; take <= 6; take++ {
		var got []string
		q := checkpointQuery{take: take}
		for pages := 0; ; pages++ {
			if pages > len(items) {
				t.Fatalf("take %d: more pages than items: %v", take, got)
			}
			page, next := checkpointPage(items, id, q)
			if len(page) > take {
				t.Fatalf("take %d: a page of %d", take, len(page))
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			if next == q.from {
				t.Fatalf("take %d: next %q repeats the page", take, next)
			}
			q.from = next
		}
		if want := []string{"con_a", "con_b", "con_c", "con_d", "con_e"}; !slices.Equal(got, want) {
			t.Errorf("take %d: walked %v, want %v", take, got, want)
		}
	}
	if !slices.Equal(items, []string{"con_d", "con_a", "con_e", "con_c", "con_b"}) {
		t.Errorf("checkpointPage reordered its input: %v", items)
	}
}

func TestCheckpointPageFromADeletedItem(t *testing.T) {
	items := []string{"con_a", "con_c", "con_d"}
	page, next := checkpointPage(items, func(s string) string { return s }, checkpointQuery{from: "con_b", take: 1})
	if !slices.Equal(page, []string{"con_c"}) || next != "con_d" {
		t.Errorf("from a missing id: %v next %q, want [con_c] next con_d", page, next)
	}
	page, next = checkpointPage(items, func(s string) string { return s }, checkpointQuery{from: "con_z", take: 5})
	if len(page) != 0 || next != "" {
		t.Errorf("from past the end: %v next %q, want an empty last page", page, next)
	}
	page, next = checkpointPage([]string(nil), func(s string) string { return s }, checkpointQuery{take: 5})
	if len(page) != 0 || next != "" {
		t.Errorf("no items: %v next %q", page, next)
	}
}

func TestReadCheckpointQuery(t *testing.T) {
	read := func(query string) (checkpointQuery, bool, error) {
		req := httptest.NewRequest(http.MethodGet, "/connections?"+query, nil)
		return readCheckpointQuery(echo.New().NewContext(req, httptest.NewRecorder()))
	}
	if _, ok, err := read("page=0&per_page=50&include_totals=true"); ok || err != nil {
		t.Errorf("offset paging read as checkpoint: ok %v err %v", ok, err)
	}
	if q, ok, err := read("include_totals=true&take=2"); !ok || err != nil || q.take != 2 || q.from != "" {
		t.Errorf("take=2: %+v ok %v err %v", q, ok, err)
	}
	if q, ok, err := read("from=con_b"); !ok || err != nil || q.take != defaultPerPage || q.from != "con_b" {
		t.Errorf("from alone: %+v ok %v err %v, want take %d", q, ok, err, defaultPerPage)
	}
	for _, bad := range []string{"take=0", "take=101", "take=x", "take=-1", "from=con_a&take=1.5"} {
		_, ok, err := read(bad)
		var me *apierror.Management
		if !ok || !errors.As(err, &me) || me.StatusCode != http.StatusBadRequest || me.ErrorCode != "invalid_query_string" {
			t.Errorf("%s: ok %v err %v, want a 400 invalid_query_string", bad, ok, err)
		}
	}
}
