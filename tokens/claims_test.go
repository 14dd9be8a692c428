package tokens

import (
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

func TestUserClaims(t *testing.T) {
	full := storage.User{
		ID: "auth0|0123456789abcdef01234567", Connection: "Username-Password-Authentication",
		Email: "jane@example.com", EmailVerified: true, PhoneNumber: "+15555550100",
		Name: "Jane Doe", Nickname: "jane", GivenName: "Jane", FamilyName: "Doe",
		Picture:   "https://s.gravatar.com/avatar/x.png",
		UpdatedAt: time.Date(2023, 11, 15, 14, 30, 0, 0, time.UTC),
	}
	bare := storage.User{ID: "auth0|0123456789abcdef01234568", Email: "bob@example.com"}
	for _, tc := range []struct {
		name   string
		user   storage.User
		scopes string
		want   map[string]any
	}{
		{"openid only", full, "openid", map[string]any{"sub": full.ID}},
		{"no scopes", full, "", map[string]any{"sub": full.ID}},
		{"profile", full, "openid profile", map[string]any{
			"sub": full.ID, "name": "Jane Doe", "nickname": "jane", "given_name": "Jane",
			"family_name": "Doe", "picture": full.Picture, "updated_at": "2023-11-15T14:30:00.000Z",
		}},
		{"email", full, "openid email", map[string]any{
			"sub": full.ID, "email": "jane@example.com", "email_verified": true,
		}},
		{"phone", full, "openid phone", map[string]any{
			"sub": full.ID, "phone_number": "+15555550100", "phone_number_verified": false,
		}},
		{"profile email, empty profile fields left out", bare, "openid profile email", map[string]any{
			"sub": bare.ID, "email": "bob@example.com", "email_verified": false,
		}},
		{"email scope, no email", storage.User{ID: "auth0|x"}, "openid email", map[string]any{"sub": "auth0|x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := UserClaims(tc.user, ParseScope(tc.scopes))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("UserClaims =\n%v\nwant\n%v", got, tc.want)
			}
		})
	}
}

func TestFormatTime(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2023, 11, 15, 14, 30, 0, 0, time.UTC):                      "2023-11-15T14:30:00.000Z",
		time.Date(2023, 11, 15, 14, 30, 0, 123456789, time.UTC):              "2023-11-15T14:30:00.123Z",
		time.Date(2023, 11, 15, 15, 30, 0, 5e6, time.FixedZone("CET", 3600)): "2023-11-15T14:30:00.005Z",
	} {
		if got := FormatTime(in); got != want {
			t.Errorf("FormatTime(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestFilterCustomClaims(t *testing.T) {
	for _, tc := range []struct {
		name        string
		scopes      string
		custom      map[string]any
		wantKept    []string
		wantDropped []string
	}{
		{
			name:   "restricted claims are dropped",
			scopes: "openid profile email",
			custom: map[string]any{
				"iss": "x", "sub": "x", "aud": "x", "exp": 1, "iat": 1, "nonce": "x", "auth_time": 1,
				"azp": "x", "roles": []any{"admin"}, "permissions": "x", "x5t#S256": "x", "org_id": "x",
			},
			wantDropped: []string{"aud", "auth_time", "azp", "exp", "iat", "iss", "nonce", "org_id", "permissions", "roles", "sub", "x5t#S256"},
		},
		{
			name:        "standard claims need their scope",
			scopes:      "openid",
			custom:      map[string]any{"email": "x", "email_verified": true, "name": "x", "picture": "x", "phone_number": "x", "address": map[string]any{}, "locale": "fr"},
			wantDropped: []string{"address", "email", "email_verified", "locale", "name", "phone_number", "picture"},
		},
		{
			name:     "standard claims with their scope are kept",
			scopes:   "openid profile email phone address",
			custom:   map[string]any{"email": "x", "email_verified": true, "name": "x", "middle_name": "x", "preferred_username": "x", "website": "x", "phone_number_verified": true, "address": map[string]any{}},
			wantKept: []string{"address", "email", "email_verified", "middle_name", "name", "phone_number_verified", "preferred_username", "website"},
		},
		{
			name:        "profile scope does not grant email",
			scopes:      "openid profile",
			custom:      map[string]any{"email": "x", "nickname": "x"},
			wantKept:    []string{"nickname"},
			wantDropped: []string{"email"},
		},
		{
			name:   "namespaced and plain custom claims are kept",
			scopes: "openid",
			custom: map[string]any{
				"https://example.com/roles": []any{"admin"}, "http://example.com/tier": "gold",
				"https://myauth0.com/x": 1, "https://auth0.com.example.org/x": 1,
				"favourite_color": "blue", "auth0.com/not-a-url": 1, "https://": 1,
			},
			wantKept: []string{"auth0.com/not-a-url", "favourite_color", "http://example.com/tier", "https://", "https://auth0.com.example.org/x", "https://example.com/roles", "https://myauth0.com/x"},
		},
		{
			name:   "Auth0's own namespaces are dropped",
			scopes: "openid",
			custom: map[string]any{
				"https://auth0.com/x": 1, "https://tenant.auth0.com/x": 1, "http://AUTH0.COM/x": 1,
				"https://auth0.com./x": 1, "HTTPS://sandbox.webtask.io/x": 1, "https://x.webtask.run/y": 1,
				"https://user@auth0.com/x": 1, "https://auth0.com:443/x": 1, "urn:auth0:x": 1, "URN:AUTH0:y": 1,
			},
			wantDropped: []string{"HTTPS://sandbox.webtask.io/x", "URN:AUTH0:y", "http://AUTH0.COM/x", "https://auth0.com./x", "https://auth0.com/x", "https://auth0.com:443/x", "https://tenant.auth0.com/x", "https://user@auth0.com/x", "https://x.webtask.run/y", "urn:auth0:x"},
		},
		{
			name:   "claim names are case-sensitive",
			scopes: "openid",
			custom: map[string]any{"ISS": "x", "Email": "x"},
			// Not the restricted or standard names: plain custom claims.
			wantKept: []string{"Email", "ISS"},
		},
		{name: "nil", scopes: "openid", custom: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before map[string]any
			if tc.custom != nil {
				before = maps.Clone(tc.custom)
			}
			kept, dropped := FilterCustomClaims(tc.custom, ParseScope(tc.scopes))
			if got := slices.Sorted(maps.Keys(kept)); !slices.Equal(got, tc.wantKept) {
				t.Errorf("kept = %q, want %q", got, tc.wantKept)
			}
			if !slices.Equal(dropped, tc.wantDropped) {
				t.Errorf("dropped = %q, want %q", dropped, tc.wantDropped)
			}
			for k, v := range kept {
				if !reflect.DeepEqual(v, tc.custom[k]) {
					t.Errorf("kept[%q] = %v, want the value given", k, v)
				}
			}
			if !reflect.DeepEqual(tc.custom, before) {
				t.Error("FilterCustomClaims modified its argument")
			}
			if kept == nil {
				t.Error("kept is nil; want an empty map")
			}
		})
	}
}

func TestRestrictedClaims(t *testing.T) {
	names := RestrictedClaims()
	if !slices.IsSorted(names) || !slices.Contains(names, "iss") || !slices.Contains(names, "x5t#S256") {
		t.Fatalf("RestrictedClaims = %v", names)
	}
	names[0] = "changed"
	if IsRestrictedClaim("changed") {
		t.Fatal("RestrictedClaims returned the package's own set")
	}
	for _, n := range names[1:] {
		if _, standard := StandardClaimScope(n); standard {
			t.Errorf("%q is both restricted and an overridable standard claim", n)
		}
	}
	if s, ok := StandardClaimScope("email_verified"); !ok || s != "email" {
		t.Fatalf("StandardClaimScope(email_verified) = %q, %v", s, ok)
	}
	if IsNamespaced("roles") || !IsNamespaced("https://example.com/roles") {
		t.Fatal("IsNamespaced")
	}
}

func TestCustomClaimsSize(t *testing.T) {
	for _, tc := range []struct {
		name   string
		custom map[string]any
		want   int
	}{
		{"nil", nil, len("null")},
		{"empty", map[string]any{}, len("{}")},
		{"one", map[string]any{"a": "b"}, len(`{"a":"b"}`)},
		{"at the limit", map[string]any{"a": strings.Repeat("x", MaxCustomClaimsBytes-len(`{"a":""}`))}, MaxCustomClaimsBytes},
		{"unencodable", map[string]any{"a": math.NaN()}, math.MaxInt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CustomClaimsSize(tc.custom); got != tc.want {
				t.Fatalf("CustomClaimsSize = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestParseScope(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"   ", []string{}},
		{"openid", []string{"openid"}},
		{"openid profile email", []string{"openid", "profile", "email"}},
		{"  email  openid\tprofile ", []string{"email", "openid", "profile"}},
		{"openid profile openid email profile", []string{"openid", "profile", "email"}},
		{"read:users Read:users", []string{"read:users", "Read:users"}},
	} {
		got := ParseScope(tc.in)
		if !slices.Equal(got, tc.want) {
			t.Errorf("ParseScope(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	scopes := ParseScope("openid email")
	if !HasScope(scopes, "email") || HasScope(scopes, "profile") || HasScope(nil, "openid") {
		t.Fatal("HasScope")
	}
}
