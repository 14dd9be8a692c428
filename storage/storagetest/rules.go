package storagetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/latchauth/latch/storage"
)

var ruleTests = []subtest{
	{"CreateGet", testRuleCreateGet},
	{"NotFound", testRuleNotFound},
	{"Unique", testRuleUnique},
	{"ListByOrder", testRuleListByOrder},
	{"Append", testRuleAppend},
	{"AppendConcurrently", testRuleAppendConcurrently},
	{"Update", testRuleUpdate},
	{"UpdateTaken", testRuleUpdateTaken},
	{"UpdaterError", testRuleUpdaterError},
	{"Delete", testRuleDelete},
}

// newRule returns a rule with every field set; n keeps names, orders and times distinct.
func newRule(n int) storage.Rule {
	return storage.Rule{
		ID:      storage.NewRuleID(),
		Name:    fmt.Sprintf("rule %d", n),
		Enabled: n%2 == 0,
		// Quotes, backslashes, NUL-free control characters and non-ASCII must survive.
		Script:    fmt.Sprintf("function (user, context, callback) {\n\t// règle %d 🦊 \"quoted\" \\ back\r\n\tcallback(null, user, context);\n}", n),
		Order:     n,
		Stage:     storage.RuleStageLoginSuccess,
		CreatedAt: at(n),
		UpdatedAt: at(n + 1),
	}
}

func createRule(t *testing.T, s storage.Store, r storage.Rule) storage.Rule {
	t.Helper()
	must(t, "CreateRule "+r.Name, s.CreateRule(t.Context(), r))
	return r
}

func getRule(t *testing.T, s storage.Store, id string) storage.Rule {
	t.Helper()
	r, err := s.GetRule(t.Context(), id)
	must(t, "GetRule "+id, err)
	return r
}

func listRuleIDs(t *testing.T, s storage.Store) []string {
	t.Helper()
	list, err := s.ListRules(t.Context())
	must(t, "ListRules", err)
	return ids(list, func(r storage.Rule) string { return r.ID })
}

func testRuleCreateGet(t *testing.T, s storage.Store) {
	for _, r := range []storage.Rule{
		newRule(1),
		newRule(2),
		// Zero and negative orders, a large script, no times.
		{ID: storage.NewRuleID(), Name: "zero", Script: strings.Repeat("x", 100<<10), Stage: storage.RuleStageLoginSuccess},
		{ID: storage.NewRuleID(), Name: "negative", Script: "s", Order: -7, Stage: storage.RuleStageLoginSuccess},
	} {
		createRule(t, s, r)
		assertEqual(t, "GetRule "+r.Name, getRule(t, s, r.ID), r)
	}
}

func testRuleNotFound(t *testing.T, s storage.Store) {
	ctx := t.Context()
	createRule(t, s, newRule(1))
	_, err := s.GetRule(ctx, "rul_missing")
	wantErr(t, "GetRule missing", err, storage.ErrNotFound)
	_, err = s.UpdateRule(ctx, "rul_missing", func(r storage.Rule) (storage.Rule, error) { return r, nil })
	wantErr(t, "UpdateRule missing", err, storage.ErrNotFound)
	wantErr(t, "DeleteRule missing", s.DeleteRule(ctx, "rul_missing"), storage.ErrNotFound)
}

func testRuleUnique(t *testing.T, s storage.Store) {
	ctx := t.Context()
	r := createRule(t, s, newRule(1))

	sameID := newRule(2)
	sameID.ID = r.ID
	wantErr(t, "CreateRule same id", s.CreateRule(ctx, sameID), storage.ErrAlreadyExists)
	sameName := newRule(3)
	sameName.Name = r.Name
	wantErr(t, "CreateRule same name", s.CreateRule(ctx, sameName), storage.ErrAlreadyExists)
	sameOrder := newRule(4)
	sameOrder.Order = r.Order
	wantErr(t, "CreateRule same order", s.CreateRule(ctx, sameOrder), storage.ErrAlreadyExists)
	_, err := s.AppendRule(ctx, sameName)
	wantErr(t, "AppendRule same name", err, storage.ErrAlreadyExists)
	if got := listRuleIDs(t, s); !slices.Equal(got, []string{r.ID}) {
		t.Fatalf("rules after refused duplicates = %v, want [%s]", got, r.ID)
	}
	assertEqual(t, "rule after refused duplicates", getRule(t, s, r.ID), r)

	// Names compare exactly; orders are unique within a stage only.
	otherCase := newRule(5)
	otherCase.Name = strings.ToUpper(r.Name)
	createRule(t, s, otherCase)
	otherStage := newRule(6)
	otherStage.Order, otherStage.Stage = r.Order, "login_failure"
	createRule(t, s, otherStage)
}

func testRuleListByOrder(t *testing.T, s storage.Store) {
	if got := listRuleIDs(t, s); len(got) != 0 {
		t.Fatalf("ListRules on an empty store = %v", got)
	}
	var want []storage.Rule
	for _, order := range []int{30, -1, 7, 0, 12} {
		r := newRule(order + 100)
		r.Order = order
		createRule(t, s, r)
		want = append(want, r)
	}
	slices.SortFunc(want, func(a, b storage.Rule) int { return a.Order - b.Order })
	got, err := s.ListRules(t.Context())
	must(t, "ListRules", err)
	if len(got) != len(want) {
		t.Fatalf("ListRules = %d rules, want %d", len(got), len(want))
	}
	for i := range want {
		assertEqual(t, fmt.Sprintf("ListRules[%d]", i), got[i], want[i])
	}
}

func testRuleAppend(t *testing.T, s storage.Store) {
	ctx := t.Context()
	first := newRule(1)
	first.Order = 999 // ignored
	got, err := s.AppendRule(ctx, first)
	must(t, "AppendRule first", err)
	want := first
	want.Order = 1
	assertEqual(t, "first appended rule", got, want)
	assertEqual(t, "GetRule of the first appended rule", getRule(t, s, first.ID), want)

	high := newRule(2)
	high.Order = 41
	createRule(t, s, high)
	// A rule of another stage does not count.
	other := newRule(3)
	other.Order, other.Stage = 500, "login_failure"
	createRule(t, s, other)

	next := newRule(4)
	got, err = s.AppendRule(ctx, next)
	must(t, "AppendRule", err)
	if got.Order != 42 {
		t.Errorf("appended after order 41: order %d, want 42", got.Order)
	}
	if stored := getRule(t, s, next.ID); stored.Order != 42 || stored.Name != next.Name || stored.Script != next.Script {
		t.Errorf("stored appended rule = %+v", stored)
	}

	otherStage := newRule(5)
	otherStage.Stage = "login_failure"
	got, err = s.AppendRule(ctx, otherStage)
	must(t, "AppendRule other stage", err)
	if got.Order != 501 {
		t.Errorf("appended in login_failure: order %d, want 501", got.Order)
	}
}

// Rules appended at once must each get their own order.
func testRuleAppendConcurrently(t *testing.T, s storage.Store) {
	ctx := t.Context()
	errs := parallel(func(i int) error {
		_, err := s.AppendRule(ctx, newRule(i))
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: AppendRule: %v", i, err)
		}
	}
	list, err := s.ListRules(ctx)
	must(t, "ListRules", err)
	if len(list) != workers {
		t.Fatalf("%d rules, want %d", len(list), workers)
	}
	for i, r := range list {
		if r.Order != i+1 {
			t.Errorf("rule %d has order %d, want %d", i, r.Order, i+1)
		}
	}
}

func testRuleUpdate(t *testing.T, s storage.Store) {
	r := createRule(t, s, newRule(1))
	keep := createRule(t, s, newRule(2))

	updated, err := s.UpdateRule(t.Context(), r.ID, func(old storage.Rule) (storage.Rule, error) {
		assertEqual(t, "updater input", old, r)
		old.ID = "rul_changed" // ignored: the id names the rule
		old.Name = "renamed"
		old.Enabled = !old.Enabled
		old.Script = "function (u, c, cb) { cb(null, u, c); }"
		old.Order = 77
		old.UpdatedAt = at(50)
		return old, nil
	})
	must(t, "UpdateRule", err)
	want := r
	want.Name, want.Enabled, want.Order, want.UpdatedAt = "renamed", !r.Enabled, 77, at(50)
	want.Script = "function (u, c, cb) { cb(null, u, c); }"
	assertEqual(t, "UpdateRule result", updated, want)
	assertEqual(t, "GetRule after update", getRule(t, s, r.ID), want)
	assertEqual(t, "other rule after update", getRule(t, s, keep.ID), keep)
	if got := listRuleIDs(t, s); !slices.Equal(got, []string{keep.ID, r.ID}) {
		t.Errorf("ListRules after reordering = %v, want %v", got, []string{keep.ID, r.ID})
	}

	// Keeping its own name and order is no conflict with itself.
	_, err = s.UpdateRule(t.Context(), r.ID, func(old storage.Rule) (storage.Rule, error) { return old, nil })
	must(t, "UpdateRule unchanged", err)
}

func testRuleUpdateTaken(t *testing.T, s storage.Store) {
	ctx := t.Context()
	r := createRule(t, s, newRule(1))
	other := createRule(t, s, newRule(2))
	for what, change := range map[string]func(*storage.Rule){
		"name":  func(x *storage.Rule) { x.Name = other.Name },
		"order": func(x *storage.Rule) { x.Order = other.Order },
	} {
		_, err := s.UpdateRule(ctx, r.ID, func(old storage.Rule) (storage.Rule, error) {
			change(&old)
			old.Script = "changed"
			return old, nil
		})
		wantErr(t, "UpdateRule to a taken "+what, err, storage.ErrAlreadyExists)
		assertEqual(t, "rule after a refused "+what, getRule(t, s, r.ID), r)
	}
}

func testRuleUpdaterError(t *testing.T, s storage.Store) {
	r := createRule(t, s, newRule(1))
	_, err := s.UpdateRule(t.Context(), r.ID, func(old storage.Rule) (storage.Rule, error) {
		old.Name = "changed"
		return old, errUpdater
	})
	wantErr(t, "UpdateRule with a failing updater", err, errUpdater)
	assertEqual(t, "rule after a failed updater", getRule(t, s, r.ID), r)
}

func testRuleDelete(t *testing.T, s storage.Store) {
	ctx := t.Context()
	r := createRule(t, s, newRule(1))
	keep := createRule(t, s, newRule(2))
	must(t, "DeleteRule", s.DeleteRule(ctx, r.ID))
	_, err := s.GetRule(ctx, r.ID)
	wantErr(t, "GetRule after delete", err, storage.ErrNotFound)
	wantErr(t, "DeleteRule twice", s.DeleteRule(ctx, r.ID), storage.ErrNotFound)
	if got := listRuleIDs(t, s); !slices.Equal(got, []string{keep.ID}) {
		t.Errorf("ListRules after delete = %v, want [%s]", got, keep.ID)
	}
	// Its name and order are free again.
	again := newRule(1)
	createRule(t, s, again)
}
