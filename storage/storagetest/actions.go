package storagetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/latchauth/latch/storage"
)

var actionTests = []subtest{
	{"CreateGet", testActionCreateGet},
	{"NotFound", testActionNotFound},
	{"UniqueName", testActionUniqueName},
	{"List", testActionList},
	{"Update", testActionUpdate},
	{"UpdaterError", testActionUpdaterError},
	{"Bindings", testActionBindings},
	{"BindingsMissingAction", testActionBindingsMissingAction},
	{"DeleteDropsBindings", testActionDeleteDropsBindings},
}

// newAction returns an action with every field set; n keeps names and times distinct.
func newAction(n int) storage.Action {
	return storage.Action{
		ID:                storage.NewActionID(),
		Name:              fmt.Sprintf("action %d", n),
		Code:              fmt.Sprintf("exports.onExecutePostLogin = async (event, api) => {\n\t// %d 🦊 \"q\" \\ b\r\n};", n),
		Runtime:           "node18",
		SupportedTriggers: []string{"post-login", "pre-user-registration"},
		Deployed:          n%2 == 0,
		CreatedAt:         at(n),
		UpdatedAt:         at(n + 1),
	}
}

func createAction(t *testing.T, s storage.Store, a storage.Action) storage.Action {
	t.Helper()
	must(t, "CreateAction "+a.Name, s.CreateAction(t.Context(), a))
	return a
}

func getAction(t *testing.T, s storage.Store, id string) storage.Action {
	t.Helper()
	a, err := s.GetAction(t.Context(), id)
	must(t, "GetAction "+id, err)
	return a
}

func bindingActionIDs(t *testing.T, s storage.Store, trigger string) []string {
	t.Helper()
	l, err := s.ListTriggerBindings(t.Context(), trigger)
	must(t, "ListTriggerBindings "+trigger, err)
	return ids(l, func(b storage.ActionBinding) string { return b.ActionID })
}

func testActionCreateGet(t *testing.T, s storage.Store) {
	for _, a := range []storage.Action{
		newAction(1),
		newAction(2),
		// No triggers (read back as an empty list), no times.
		{ID: storage.NewActionID(), Name: "bare", Code: "x", SupportedTriggers: []string{}},
	} {
		createAction(t, s, a)
		assertEqual(t, "GetAction "+a.Name, getAction(t, s, a.ID), a)
	}
}

func testActionNotFound(t *testing.T, s storage.Store) {
	ctx := t.Context()
	createAction(t, s, newAction(1))
	_, err := s.GetAction(ctx, "act_missing")
	wantErr(t, "GetAction missing", err, storage.ErrNotFound)
	_, err = s.UpdateAction(ctx, "act_missing", func(a storage.Action) (storage.Action, error) { return a, nil })
	wantErr(t, "UpdateAction missing", err, storage.ErrNotFound)
	wantErr(t, "DeleteAction missing", s.DeleteAction(ctx, "act_missing"), storage.ErrNotFound)
}

func testActionUniqueName(t *testing.T, s storage.Store) {
	ctx := t.Context()
	a := createAction(t, s, newAction(1))
	sameID := newAction(2)
	sameID.ID = a.ID
	wantErr(t, "CreateAction same id", s.CreateAction(ctx, sameID), storage.ErrAlreadyExists)
	sameName := newAction(3)
	sameName.Name = a.Name
	wantErr(t, "CreateAction same name", s.CreateAction(ctx, sameName), storage.ErrAlreadyExists)

	b := createAction(t, s, newAction(4))
	_, err := s.UpdateAction(ctx, b.ID, func(x storage.Action) (storage.Action, error) { x.Name = a.Name; return x, nil })
	wantErr(t, "UpdateAction to a taken name", err, storage.ErrAlreadyExists)
	assertEqual(t, "action after refused rename", getAction(t, s, b.ID), b)
}

func testActionList(t *testing.T, s storage.Store) {
	got, err := s.ListActions(t.Context())
	must(t, "ListActions empty", err)
	if len(got) != 0 {
		t.Fatalf("ListActions on an empty store = %v", got)
	}
	var want []storage.Action
	for _, n := range []int{5, 1, 3} {
		want = append(want, createAction(t, s, newAction(n)))
	}
	slices.SortFunc(want, func(a, b storage.Action) int { return a.CreatedAt.Compare(b.CreatedAt) })
	got, err = s.ListActions(t.Context())
	must(t, "ListActions", err)
	if len(got) != len(want) {
		t.Fatalf("ListActions = %d actions, want %d", len(got), len(want))
	}
	for i := range want {
		assertEqual(t, fmt.Sprintf("ListActions[%d]", i), got[i], want[i])
	}
}

func testActionUpdate(t *testing.T, s storage.Store) {
	a := createAction(t, s, newAction(1))
	want := a
	want.Name, want.Code, want.Deployed, want.UpdatedAt = "renamed", "changed", true, at(50)
	want.SupportedTriggers = []string{"post-user-registration"}
	got, err := s.UpdateAction(t.Context(), a.ID, func(x storage.Action) (storage.Action, error) {
		assertEqual(t, "updater input", x, a)
		x.Name, x.Code, x.Deployed, x.UpdatedAt = want.Name, want.Code, true, want.UpdatedAt
		x.SupportedTriggers = want.SupportedTriggers
		x.ID = "act_other" // ignored
		return x, nil
	})
	must(t, "UpdateAction", err)
	assertEqual(t, "UpdateAction result", got, want)
	assertEqual(t, "GetAction after update", getAction(t, s, a.ID), want)
}

func testActionUpdaterError(t *testing.T, s storage.Store) {
	a := createAction(t, s, newAction(1))
	_, err := s.UpdateAction(t.Context(), a.ID, func(x storage.Action) (storage.Action, error) {
		x.Name = "changed"
		return x, errUpdater
	})
	if err != errUpdater { //nolint:errorlint // the contract: returned unchanged
		t.Fatalf("UpdateAction with a failing updater = %v, want errUpdater itself", err)
	}
	assertEqual(t, "action after aborted update", getAction(t, s, a.ID), a)
}

func testActionBindings(t *testing.T, s storage.Store) {
	ctx := t.Context()
	a, b, c := createAction(t, s, newAction(1)), createAction(t, s, newAction(2)), createAction(t, s, newAction(3))
	if got := bindingActionIDs(t, s, "post-login"); len(got) != 0 {
		t.Fatalf("bindings of an empty store = %v", got)
	}
	in := []storage.ActionBinding{
		{ID: storage.NewBindingID(), ActionID: c.ID, DisplayName: "third", Trigger: "ignored", Order: 99},
		{ID: storage.NewBindingID(), ActionID: a.ID, DisplayName: "first"},
	}
	got, err := s.SetTriggerBindings(ctx, "post-login", in)
	must(t, "SetTriggerBindings", err)
	want := []storage.ActionBinding{
		{ID: in[0].ID, Trigger: "post-login", ActionID: c.ID, Order: 1, DisplayName: "third"},
		{ID: in[1].ID, Trigger: "post-login", ActionID: a.ID, Order: 2, DisplayName: "first"},
	}
	assertEqual(t, "SetTriggerBindings result", got, want)
	listed, err := s.ListTriggerBindings(ctx, "post-login")
	must(t, "ListTriggerBindings", err)
	assertEqual(t, "ListTriggerBindings", listed, want)

	// Other triggers are separate; the same action may be bound to several.
	_, err = s.SetTriggerBindings(ctx, "pre-user-registration", []storage.ActionBinding{{ID: storage.NewBindingID(), ActionID: a.ID}})
	must(t, "SetTriggerBindings other trigger", err)

	// Replacing replaces the whole list; an empty list clears it.
	_, err = s.SetTriggerBindings(ctx, "post-login", []storage.ActionBinding{{ID: storage.NewBindingID(), ActionID: b.ID}})
	must(t, "SetTriggerBindings replace", err)
	if got := bindingActionIDs(t, s, "post-login"); !slices.Equal(got, []string{b.ID}) {
		t.Fatalf("bindings after replace = %v, want [%s]", got, b.ID)
	}
	_, err = s.SetTriggerBindings(ctx, "post-login", nil)
	must(t, "SetTriggerBindings clear", err)
	if got := bindingActionIDs(t, s, "post-login"); len(got) != 0 {
		t.Fatalf("bindings after clear = %v", got)
	}
	if got := bindingActionIDs(t, s, "pre-user-registration"); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("other trigger's bindings = %v, want [%s]", got, a.ID)
	}
}

func testActionBindingsMissingAction(t *testing.T, s storage.Store) {
	ctx := t.Context()
	a := createAction(t, s, newAction(1))
	_, err := s.SetTriggerBindings(ctx, "post-login", []storage.ActionBinding{{ID: storage.NewBindingID(), ActionID: a.ID}})
	must(t, "SetTriggerBindings", err)
	_, err = s.SetTriggerBindings(ctx, "post-login", []storage.ActionBinding{
		{ID: storage.NewBindingID(), ActionID: a.ID}, {ID: storage.NewBindingID(), ActionID: "act_missing"},
	})
	wantErr(t, "SetTriggerBindings with a missing action", err, storage.ErrNotFound)
	if got := bindingActionIDs(t, s, "post-login"); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("bindings after a refused replace = %v, want the old [%s]", got, a.ID)
	}
}

func testActionDeleteDropsBindings(t *testing.T, s storage.Store) {
	ctx := t.Context()
	a, b := createAction(t, s, newAction(1)), createAction(t, s, newAction(2))
	_, err := s.SetTriggerBindings(ctx, "post-login", []storage.ActionBinding{
		{ID: storage.NewBindingID(), ActionID: a.ID}, {ID: storage.NewBindingID(), ActionID: b.ID},
	})
	must(t, "SetTriggerBindings", err)
	must(t, "DeleteAction", s.DeleteAction(ctx, a.ID))
	_, err = s.GetAction(ctx, a.ID)
	wantErr(t, "GetAction deleted", err, storage.ErrNotFound)
	if got := bindingActionIDs(t, s, "post-login"); !slices.Equal(got, []string{b.ID}) {
		t.Fatalf("bindings after delete = %v, want [%s]", got, b.ID)
	}
}
