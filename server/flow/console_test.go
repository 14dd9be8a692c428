package flow

import (
	"slices"
	"testing"

	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/storage"
)

func TestAdminScopes(t *testing.T) {
	s := &Service{console: withConsoleDefaults(ConsoleSettings{Admins: []string{" Ada@Example.com ", "auth0|boss", ""}})}
	reads := readScopes()
	if len(reads) == 0 || slices.ContainsFunc(reads, func(s string) bool { return s[:5] != "read:" }) {
		t.Fatalf("readScopes() = %v", reads)
	}
	for _, c := range []struct {
		name string
		user storage.User
		want []string
	}{
		{"listed verified email, any case", storage.User{ID: "auth0|1", Email: "ada@example.com", EmailVerified: true}, ManagementScopes},
		{"listed email, unverified", storage.User{ID: "auth0|1", Email: "ada@example.com"}, nil},
		{"listed id", storage.User{ID: "auth0|boss"}, ManagementScopes},
		{"listed id, blocked", storage.User{ID: "auth0|boss", Blocked: true}, nil},
		{"admin role in a list", storage.User{ID: "auth0|2", AppMetadata: storage.Metadata{"roles": []any{"x", "admin"}}}, ManagementScopes},
		{"admin role as a string", storage.User{ID: "auth0|2", AppMetadata: storage.Metadata{"roles": "admin"}}, ManagementScopes},
		{"viewer role", storage.User{ID: "auth0|3", AppMetadata: storage.Metadata{"roles": []any{"viewer"}}}, reads},
		{"role in user_metadata does not count", storage.User{ID: "auth0|4", UserMetadata: storage.Metadata{"roles": []any{"admin"}}}, nil},
		{"roles of the wrong type", storage.User{ID: "auth0|5", AppMetadata: storage.Metadata{"roles": map[string]any{"admin": true}}}, nil},
	} {
		if got := s.adminScopes(c.user); !slices.Equal(got, c.want) {
			t.Errorf("%s: adminScopes = %v, want %v", c.name, got, c.want)
		}
	}

	off := &Service{console: withConsoleDefaults(ConsoleSettings{AdminRole: "-", ViewerRole: "-"})}
	if got := off.adminScopes(storage.User{AppMetadata: storage.Metadata{"roles": []any{"admin", "viewer", "-"}}}); got != nil {
		t.Fatalf("roles turned off, adminScopes = %v", got)
	}
}

func TestConsoleDecisionGrantsOnlyHeldScopes(t *testing.T) {
	s := &Service{console: withConsoleDefaults(ConsoleSettings{})}
	viewer := storage.User{ID: "auth0|v", AppMetadata: storage.Metadata{"roles": []any{"viewer"}}}
	d, err := s.consoleDecision(loginInput{user: viewer, scopes: []string{"openid", "email", "read:users", "delete:users", "made:up"}})
	if err != nil || !slices.Equal(d.scopes, []string{"openid", "email", "read:users"}) {
		t.Fatalf("viewer decision = %v, %v", d.scopes, err)
	}
	if _, err := s.consoleDecision(loginInput{user: storage.User{ID: "auth0|n"}, scopes: []string{"openid"}}); err == nil {
		t.Fatal("a non-admin got a console decision")
	}
}

func TestGeneratedAdminPasswordMeetsThePolicies(t *testing.T) {
	good := password.PolicyFor(storage.ConnectionOptions{PasswordPolicy: "good"})
	excellent := password.PolicyFor(storage.ConnectionOptions{PasswordPolicy: "excellent"})
	refused := 0
	for range 500 {
		pw := generatedAdminPassword()
		if !good.Check(pw).Verified {
			t.Fatalf("generated password %q fails the good policy", pw)
		}
		if !excellent.Check(pw).Verified {
			refused++ // drawn again by BootstrapAdmin
		}
	}
	if refused > 50 {
		t.Fatalf("%d of 500 generated passwords fail the excellent policy", refused)
	}
}
