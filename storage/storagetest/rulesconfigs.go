package storagetest

import (
	"bytes"
	"maps"
	"slices"
	"testing"

	"github.com/latchauth/latch/storage"
)

var rulesConfigTests = []subtest{
	{"SetListGet", testRulesConfigSetListGet},
	{"Replace", testRulesConfigReplace},
	{"Delete", testRulesConfigDelete},
	{"ReturnsCopies", testRulesConfigReturnsCopies},
}

// sealedValue stands for a sealed blob: binary, with NUL and high bytes.
func sealedValue(tag byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) ^ tag
	}
	b[0] = 0
	return b
}

func getRulesConfigs(t *testing.T, s storage.Store) map[string][]byte {
	t.Helper()
	m, err := s.GetRulesConfigs(t.Context())
	must(t, "GetRulesConfigs", err)
	return m
}

func listRulesConfigKeys(t *testing.T, s storage.Store) []string {
	t.Helper()
	keys, err := s.ListRulesConfigKeys(t.Context())
	must(t, "ListRulesConfigKeys", err)
	return keys
}

func assertConfigs(t *testing.T, what string, got, want map[string][]byte) {
	t.Helper()
	if !maps.EqualFunc(got, want, bytes.Equal) {
		t.Errorf("%s: got keys %v, want %v (or values differ)", what, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
}

func testRulesConfigSetListGet(t *testing.T, s storage.Store) {
	ctx := t.Context()
	if keys := listRulesConfigKeys(t, s); len(keys) != 0 {
		t.Fatalf("ListRulesConfigKeys on an empty store = %v", keys)
	}
	if m := getRulesConfigs(t, s); len(m) != 0 {
		t.Fatalf("GetRulesConfigs on an empty store = %d entries", len(m))
	}
	want := map[string][]byte{
		"SLACK_HOOK_URL": sealedValue(1, 60),
		"api-key_2":      sealedValue(2, 4200),
		"A":              sealedValue(3, 28),
		"empty":          {},
	}
	for _, k := range []string{"api-key_2", "SLACK_HOOK_URL", "empty", "A"} {
		must(t, "SetRulesConfig "+k, s.SetRulesConfig(ctx, k, want[k]))
	}
	if got, wantKeys := listRulesConfigKeys(t, s), []string{"A", "SLACK_HOOK_URL", "api-key_2", "empty"}; !slices.Equal(got, wantKeys) {
		t.Errorf("ListRulesConfigKeys = %v, want %v (sorted)", got, wantKeys)
	}
	assertConfigs(t, "GetRulesConfigs", getRulesConfigs(t, s), want)
}

func testRulesConfigReplace(t *testing.T, s storage.Store) {
	ctx := t.Context()
	must(t, "SetRulesConfig", s.SetRulesConfig(ctx, "KEY", sealedValue(1, 40)))
	must(t, "SetRulesConfig other", s.SetRulesConfig(ctx, "OTHER", sealedValue(2, 40)))
	must(t, "SetRulesConfig again", s.SetRulesConfig(ctx, "KEY", sealedValue(3, 10)))
	assertConfigs(t, "configs after replace", getRulesConfigs(t, s), map[string][]byte{
		"KEY": sealedValue(3, 10), "OTHER": sealedValue(2, 40),
	})
	if keys := listRulesConfigKeys(t, s); !slices.Equal(keys, []string{"KEY", "OTHER"}) {
		t.Errorf("ListRulesConfigKeys after replace = %v", keys)
	}
}

func testRulesConfigDelete(t *testing.T, s storage.Store) {
	ctx := t.Context()
	must(t, "SetRulesConfig", s.SetRulesConfig(ctx, "GONE", sealedValue(1, 40)))
	must(t, "SetRulesConfig", s.SetRulesConfig(ctx, "KEEP", sealedValue(2, 40)))
	must(t, "DeleteRulesConfig", s.DeleteRulesConfig(ctx, "GONE"))
	wantErr(t, "DeleteRulesConfig twice", s.DeleteRulesConfig(ctx, "GONE"), storage.ErrNotFound)
	wantErr(t, "DeleteRulesConfig missing", s.DeleteRulesConfig(ctx, "never"), storage.ErrNotFound)
	assertConfigs(t, "configs after delete", getRulesConfigs(t, s), map[string][]byte{"KEEP": sealedValue(2, 40)})
	// Keys compare exactly.
	wantErr(t, "DeleteRulesConfig other case", s.DeleteRulesConfig(ctx, "keep"), storage.ErrNotFound)
	must(t, "SetRulesConfig again", s.SetRulesConfig(ctx, "GONE", sealedValue(3, 40)))
}

func testRulesConfigReturnsCopies(t *testing.T, s storage.Store) {
	ctx := t.Context()
	in := sealedValue(1, 40)
	must(t, "SetRulesConfig", s.SetRulesConfig(ctx, "KEY", in))
	in[1] ^= 0xff
	got := getRulesConfigs(t, s)
	got["KEY"][2] ^= 0xff
	got["ADDED"] = []byte("by reader")
	assertConfigs(t, "configs after callers changed values", getRulesConfigs(t, s), map[string][]byte{"KEY": sealedValue(1, 40)})
}
