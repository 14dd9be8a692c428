package storagetest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/latchauth/latch/storage"
)

var metadataTests = []subtest{
	{"RoundTrip", testMetadataRoundTrip},
	{"RoundTripThroughUpdate", testMetadataRoundTripThroughUpdate},
	{"EmptyValues", testMetadataEmptyValues},
}

// richMetadata has everything metadata may hold. Floats are ones every backend prints the
// same way (no exponent), since a document store keeps them as doubles.
const richMetadata = `{
	"million": 1000000,
	"max_safe": 9007199254740992,
	"min_safe": -9007199254740992,
	"zero": 0,
	"negative": -17,
	"pi": 3.14159,
	"half": -0.5,
	"yes": true,
	"no": false,
	"text": "plain",
	"empty_text": "",
	"html": "<b>&amp;</b> 'quoted' \"double\"",
	"escapes": "tab\tnewline\nbackslash\\",
	"unicode": "Zoë, 日本語, Ελληνικά",
	"emoji": "🦊 👍🏽 👩‍👩‍👧",
	"clé_ünïcode": "key with accents",
	"nested": {"level2": {"level3": {"n": 42, "list": [1, "two", {"three": 3.5}]}}},
	"array": [1, 2.25, "x", true, null, {"k": "v"}, [10, 20], [], {}],
	"empty_object": {},
	"empty_array": []
}`

func assertMetadata(t *testing.T, what string, got storage.Metadata, wantJSON string) {
	t.Helper()
	want := mustMetadata(t, wantJSON)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: %s", what, diffMetadata(got, want))
	}
	if n, ok := got["million"]; ok {
		if n != json.Number("1000000") {
			t.Errorf("%s: million = %#v, want json.Number(\"1000000\")", what, n)
		}
		b, err := json.Marshal(got)
		must(t, "json.Marshal", err)
		if strings.Contains(string(b), "e+") {
			t.Errorf("%s: encodes with an exponent: %s", what, b)
		}
	}
}

func testMetadataRoundTrip(t *testing.T, s storage.Store) {
	ctx := t.Context()
	u := newUser("db", "meta@example.com", 1)
	u.UserMetadata = mustMetadata(t, richMetadata)
	u.AppMetadata = mustMetadata(t, richMetadata)
	createUser(t, s, u)

	got := getUser(t, s, u.ID)
	assertMetadata(t, "user_metadata", got.UserMetadata, richMetadata)
	assertMetadata(t, "app_metadata", got.AppMetadata, richMetadata)

	byEmail, err := s.GetUserByEmail(ctx, "db", "meta@example.com")
	must(t, "GetUserByEmail", err)
	assertMetadata(t, "user_metadata by email", byEmail.UserMetadata, richMetadata)

	g := newGrant(u.ID, "client", 1)
	g.Claims = mustMetadata(t, richMetadata)
	must(t, "CreateGrant", s.CreateGrant(ctx, g))
	gotGrant, err := s.GetGrant(ctx, g.ID)
	must(t, "GetGrant", err)
	assertMetadata(t, "grant claims", gotGrant.Claims, richMetadata)
}

// The service layer updates metadata by merging a decoded patch into what the store
// returned; the result must come back exactly as well.
func testMetadataRoundTripThroughUpdate(t *testing.T, s storage.Store) {
	u := newUser("db", "merge@example.com", 1)
	u.UserMetadata = mustMetadata(t, `{"keep": 1000000, "drop": "x", "replace": {"a": 1, "b": 2}}`)
	createUser(t, s, u)

	patch := mustMetadata(t, `{"drop": null, "replace": {"c": 9007199254740992}, "new": [1.5, {"e": "🦊"}]}`)
	want := `{"keep": 1000000, "replace": {"c": 9007199254740992}, "new": [1.5, {"e": "🦊"}]}`
	updated, err := s.UpdateUser(t.Context(), u.ID, func(old storage.User) (storage.User, error) {
		old.UserMetadata = storage.MergeMetadata(old.UserMetadata, patch)
		return old, nil
	})
	must(t, "UpdateUser", err)
	assertMetadata(t, "UpdateUser result", updated.UserMetadata, want)
	assertMetadata(t, "GetUser after merge", getUser(t, s, u.ID).UserMetadata, want)

	// An empty patch clears everything, and the store keeps an empty (not nil) object.
	_, err = s.UpdateUser(t.Context(), u.ID, func(old storage.User) (storage.User, error) {
		old.UserMetadata = storage.MergeMetadata(old.UserMetadata, storage.Metadata{})
		return old, nil
	})
	must(t, "UpdateUser clear", err)
	got := getUser(t, s, u.ID).UserMetadata
	if got == nil || len(got) != 0 {
		t.Errorf("user_metadata after clearing = %#v, want an empty non-nil object", got)
	}
}

func testMetadataEmptyValues(t *testing.T, s storage.Store) {
	u := newUser("db", "empty@example.com", 1)
	u.UserMetadata = nil
	u.AppMetadata = storage.Metadata{}
	createUser(t, s, u)
	got := getUser(t, s, u.ID)
	if got.UserMetadata == nil || len(got.UserMetadata) != 0 {
		t.Errorf("user_metadata stored as nil = %#v, want empty non-nil", got.UserMetadata)
	}
	if got.AppMetadata == nil || len(got.AppMetadata) != 0 {
		t.Errorf("app_metadata stored as {} = %#v, want empty non-nil", got.AppMetadata)
	}

	// nil set by an updater is stored as an empty object too.
	updated, err := s.UpdateUser(t.Context(), u.ID, func(old storage.User) (storage.User, error) {
		old.AppMetadata = nil
		return old, nil
	})
	must(t, "UpdateUser", err)
	if updated.AppMetadata == nil || getUser(t, s, u.ID).AppMetadata == nil {
		t.Error("app_metadata set to nil by an updater comes back nil")
	}
}
