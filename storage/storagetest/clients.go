package storagetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/latchauth/latch/storage"
)

var clientTests = []subtest{
	{"CreateGet", testClientCreateGet},
	{"NotFoundAndDuplicate", testClientNotFoundAndDuplicate},
	{"ListPaging", testClientListPaging},
	{"Update", testClientUpdate},
	{"UpdaterError", testClientUpdaterError},
	{"Delete", testClientDelete},
	{"ReturnsCopies", testClientReturnsCopies},
}

var clientGrantTests = []subtest{
	{"CreateGet", testClientGrantCreateGet},
	{"UniquePerClientAudience", testClientGrantUnique},
	{"List", testClientGrantList},
	{"Delete", testClientGrantDelete},
}

// newClient returns a client with every field set.
func newClient(n int) storage.Client {
	return storage.Client{
		ID:                storage.NewClientID(),
		Secret:            storage.NewClientSecret(),
		Name:              fmt.Sprintf("App %d — ünïcode 🦊", n),
		Description:       "A test application",
		AppType:           "regular_web",
		IsFirstParty:      true,
		OIDCConformant:    true,
		Callbacks:         []string{"https://app.example.com/callback", "http://localhost:3000/cb"},
		AllowedOrigins:    []string{"https://app.example.com"},
		WebOrigins:        []string{"https://app.example.com", "https://www.example.com"},
		AllowedLogoutURLs: []string{"https://app.example.com/logout"},
		GrantTypes:        []string{"authorization_code", "refresh_token", "client_credentials"},

		TokenEndpointAuthMethod: "client_secret_post",
		ClientMetadata:          map[string]string{"team": "identity", "tier": "gold", "empty": ""},
		JWTConfiguration: storage.JWTConfiguration{
			Alg:               "RS256",
			LifetimeInSeconds: 36000,
			SecretEncoded:     true,
		},
		RefreshToken: storage.RefreshTokenPolicy{
			RotationType:              storage.RotationRotating,
			ExpirationType:            storage.ExpirationExpiring,
			Leeway:                    3,
			TokenLifetime:             86400 + n,
			InfiniteTokenLifetime:     true,
			IdleTokenLifetime:         3600,
			InfiniteIdleTokenLifetime: true,
		},
		AllowPlainPKCE: true, CrossOriginAuthentication: true, SSODisabled: true, InitiateLoginURI: "https://app.example.com/login",
		CreatedAt: at(n),
		UpdatedAt: at(n + 1),
	}
}

func getClient(t *testing.T, s storage.Store, id string) storage.Client {
	t.Helper()
	c, err := s.GetClient(t.Context(), id)
	must(t, "GetClient "+id, err)
	return c
}

func testClientCreateGet(t *testing.T, s storage.Store) {
	in := newClient(1)
	must(t, "CreateClient", s.CreateClient(t.Context(), in))
	got := getClient(t, s, in.ID)
	assertEqual(t, "GetClient", got, in)
	// Spelled out because assertEqual treats empty and nil lists alike.
	if len(got.Callbacks) != 2 || got.Callbacks[1] != "http://localhost:3000/cb" || len(got.ClientMetadata) != 3 {
		t.Errorf("lists or metadata lost: callbacks %v, client_metadata %v", got.Callbacks, got.ClientMetadata)
	}

	bare := storage.Client{ID: storage.NewClientID(), Name: "bare", CreatedAt: at(2)}
	must(t, "CreateClient bare", s.CreateClient(t.Context(), bare))
	got = getClient(t, s, bare.ID)
	assertEqual(t, "bare client", got, bare)
	if got.HasGrantType("authorization_code") {
		t.Error("bare client has a grant type it was not given")
	}
	// The store applies no defaults: a client that says nothing reads back the zero policy.
	if got.RefreshToken != (storage.RefreshTokenPolicy{}) || got.AllowPlainPKCE {
		t.Errorf("bare client: refresh_token %+v, allow_plain_pkce %v; want zero values", got.RefreshToken, got.AllowPlainPKCE)
	}
}

func testClientNotFoundAndDuplicate(t *testing.T, s storage.Store) {
	ctx := t.Context()
	c := newClient(1)
	must(t, "CreateClient", s.CreateClient(ctx, c))

	dup := newClient(2)
	dup.ID = c.ID
	wantErr(t, "CreateClient same id", s.CreateClient(ctx, dup), storage.ErrAlreadyExists)
	assertEqual(t, "client after refused duplicate", getClient(t, s, c.ID), c)

	_, err := s.GetClient(ctx, "missing")
	wantErr(t, "GetClient missing", err, storage.ErrNotFound)
	_, err = s.UpdateClient(ctx, "missing", func(c storage.Client) (storage.Client, error) { return c, nil })
	wantErr(t, "UpdateClient missing", err, storage.ErrNotFound)
	wantErr(t, "DeleteClient missing", s.DeleteClient(ctx, "missing"), storage.ErrNotFound)
}

func testClientListPaging(t *testing.T, s storage.Store) {
	ctx := t.Context()
	got, total, err := s.ListClients(ctx, storage.Page{PerPage: 5})
	must(t, "ListClients empty", err)
	if len(got) != 0 || total != 0 {
		t.Fatalf("ListClients on an empty store = %d, total %d; want 0, 0", len(got), total)
	}

	byAge := make([]string, 5)
	for _, i := range []int{3, 1, 4, 0, 2} {
		c := newClient(i)
		must(t, "CreateClient", s.CreateClient(ctx, c))
		byAge[i] = c.ID
	}
	var seen []string
	for page, wantLen := range []int{2, 2, 1, 0} {
		got, total, err := s.ListClients(ctx, storage.Page{Page: page, PerPage: 2})
		must(t, "ListClients", err)
		if total != 5 || len(got) != wantLen {
			t.Fatalf("ListClients page %d = %d clients, total %d; want %d, 5", page, len(got), total, wantLen)
		}
		seen = append(seen, ids(got, func(c storage.Client) string { return c.ID })...)
	}
	if !slices.Equal(seen, byAge) {
		t.Errorf("ListClients pages = %v, want %v (oldest first)", seen, byAge)
	}
	all, _, err := s.ListClients(ctx, storage.Page{PerPage: 10})
	must(t, "ListClients all", err)
	assertEqual(t, "ListClients[0]", all[0], getClient(t, s, byAge[0]))
}

func testClientUpdate(t *testing.T, s storage.Store) {
	c := newClient(1)
	must(t, "CreateClient", s.CreateClient(t.Context(), c))

	updated, err := s.UpdateClient(t.Context(), c.ID, func(old storage.Client) (storage.Client, error) {
		assertEqual(t, "updater input", old, c)
		old.Name = "Renamed"
		old.Callbacks = append(old.Callbacks, "https://new.example.com/cb")
		old.WebOrigins = nil
		old.GrantTypes = []string{"implicit"}
		old.ClientMetadata = map[string]string{"only": "this"}
		old.JWTConfiguration.LifetimeInSeconds = 60
		old.JWTConfiguration.SecretEncoded = false
		old.TokenEndpointAuthMethod = "none"
		old.RefreshToken = storage.RefreshTokenPolicy{
			RotationType: storage.RotationNonRotating, ExpirationType: storage.ExpirationNonExpires,
			TokenLifetime: 60,
		}
		old.AllowPlainPKCE = false
		old.UpdatedAt = at(50)
		return old, nil
	})
	must(t, "UpdateClient", err)

	want := c
	want.Name = "Renamed"
	want.Callbacks = append(slices.Clone(c.Callbacks), "https://new.example.com/cb")
	want.WebOrigins = nil
	want.GrantTypes = []string{"implicit"}
	want.ClientMetadata = map[string]string{"only": "this"}
	want.JWTConfiguration.LifetimeInSeconds = 60
	want.JWTConfiguration.SecretEncoded = false
	want.TokenEndpointAuthMethod = "none"
	want.RefreshToken = storage.RefreshTokenPolicy{
		RotationType: storage.RotationNonRotating, ExpirationType: storage.ExpirationNonExpires,
		TokenLifetime: 60,
	}
	want.AllowPlainPKCE = false
	want.UpdatedAt = at(50)
	assertEqual(t, "UpdateClient result", updated, want)
	assertEqual(t, "GetClient after update", getClient(t, s, c.ID), want)
}

func testClientUpdaterError(t *testing.T, s storage.Store) {
	c := newClient(1)
	must(t, "CreateClient", s.CreateClient(t.Context(), c))
	_, err := s.UpdateClient(t.Context(), c.ID, func(old storage.Client) (storage.Client, error) {
		old.Name = "changed"
		return old, errUpdater
	})
	wantErr(t, "UpdateClient with a failing updater", err, errUpdater)
	assertEqual(t, "client after a failed updater", getClient(t, s, c.ID), c)
}

func testClientDelete(t *testing.T, s storage.Store) {
	ctx := t.Context()
	c, keep := newClient(1), newClient(2)
	must(t, "CreateClient", s.CreateClient(ctx, c))
	must(t, "CreateClient", s.CreateClient(ctx, keep))
	must(t, "DeleteClient", s.DeleteClient(ctx, c.ID))
	_, err := s.GetClient(ctx, c.ID)
	wantErr(t, "GetClient after delete", err, storage.ErrNotFound)
	wantErr(t, "DeleteClient twice", s.DeleteClient(ctx, c.ID), storage.ErrNotFound)
	assertEqual(t, "other client after delete", getClient(t, s, keep.ID), keep)
	_, total, err := s.ListClients(ctx, storage.Page{PerPage: 10})
	must(t, "ListClients", err)
	if total != 1 {
		t.Errorf("ListClients total after delete = %d, want 1", total)
	}
}

func testClientReturnsCopies(t *testing.T, s storage.Store) {
	in := newClient(1)
	must(t, "CreateClient", s.CreateClient(t.Context(), in))
	want := newClientCopy(in)

	in.Callbacks[0] = "changed by caller"
	in.ClientMetadata["team"] = "changed by caller"
	got := getClient(t, s, in.ID)
	got.Callbacks[0] = "changed by reader"
	got.GrantTypes[0] = "changed by reader"
	got.ClientMetadata["team"] = "changed by reader"

	assertEqual(t, "client after callers changed values", getClient(t, s, in.ID), want)
}

func newClientCopy(c storage.Client) storage.Client {
	c.Callbacks = slices.Clone(c.Callbacks)
	c.AllowedOrigins = slices.Clone(c.AllowedOrigins)
	c.WebOrigins = slices.Clone(c.WebOrigins)
	c.AllowedLogoutURLs = slices.Clone(c.AllowedLogoutURLs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	m := make(map[string]string, len(c.ClientMetadata))
	for k, v := range c.ClientMetadata {
		m[k] = v
	}
	c.ClientMetadata = m
	return c
}

func newClientGrant(clientID, audience string) storage.ClientGrant {
	return storage.ClientGrant{
		ID:       storage.NewClientGrantID(),
		ClientID: clientID,
		Audience: audience,
		Scope:    []string{"read:users", "update:users", "create:users"},
	}
}

func testClientGrantCreateGet(t *testing.T, s storage.Store) {
	ctx := t.Context()
	g := newClientGrant("client-1", "https://api.example.com/")
	must(t, "CreateClientGrant", s.CreateClientGrant(ctx, g))

	got, err := s.GetClientGrant(ctx, "client-1", "https://api.example.com/")
	must(t, "GetClientGrant", err)
	assertEqual(t, "GetClientGrant", got, g)
	if !slices.Equal(got.Scope, g.Scope) {
		t.Errorf("scope = %v, want %v in order", got.Scope, g.Scope)
	}

	noScope := storage.ClientGrant{ID: storage.NewClientGrantID(), ClientID: "client-1", Audience: "urn:empty"}
	must(t, "CreateClientGrant without scopes", s.CreateClientGrant(ctx, noScope))
	got, err = s.GetClientGrant(ctx, "client-1", "urn:empty")
	must(t, "GetClientGrant without scopes", err)
	assertEqual(t, "grant without scopes", got, noScope)

	_, err = s.GetClientGrant(ctx, "client-1", "https://other.example.com/")
	wantErr(t, "GetClientGrant other audience", err, storage.ErrNotFound)
	_, err = s.GetClientGrant(ctx, "client-2", "https://api.example.com/")
	wantErr(t, "GetClientGrant other client", err, storage.ErrNotFound)
}

func testClientGrantUnique(t *testing.T, s storage.Store) {
	ctx := t.Context()
	g := newClientGrant("client-1", "https://api.example.com/")
	must(t, "CreateClientGrant", s.CreateClientGrant(ctx, g))

	sameTarget := newClientGrant("client-1", "https://api.example.com/")
	sameTarget.Scope = []string{"other"}
	wantErr(t, "CreateClientGrant same client and audience", s.CreateClientGrant(ctx, sameTarget), storage.ErrAlreadyExists)

	sameID := newClientGrant("client-2", "https://else.example.com/")
	sameID.ID = g.ID
	wantErr(t, "CreateClientGrant same id", s.CreateClientGrant(ctx, sameID), storage.ErrAlreadyExists)

	got, err := s.GetClientGrant(ctx, "client-1", "https://api.example.com/")
	must(t, "GetClientGrant", err)
	assertEqual(t, "grant after refused duplicates", got, g)

	// The same audience for another client is a different grant.
	other := newClientGrant("client-2", "https://api.example.com/")
	must(t, "CreateClientGrant other client", s.CreateClientGrant(ctx, other))
	got, err = s.GetClientGrant(ctx, "client-2", "https://api.example.com/")
	must(t, "GetClientGrant other client", err)
	if got.ID != other.ID {
		t.Errorf("GetClientGrant(client-2) = %s, want %s", got.ID, other.ID)
	}
}

func testClientGrantList(t *testing.T, s storage.Store) {
	ctx := t.Context()
	var want []storage.ClientGrant
	for _, aud := range []string{"urn:b", "urn:a", "urn:c"} {
		g := newClientGrant("client-1", aud)
		must(t, "CreateClientGrant", s.CreateClientGrant(ctx, g))
		want = append(want, g)
	}
	must(t, "CreateClientGrant other client", s.CreateClientGrant(ctx, newClientGrant("client-2", "urn:a")))

	got, err := s.ListClientGrants(ctx, "client-1")
	must(t, "ListClientGrants", err)
	// The contract does not order this list.
	byID := func(g storage.ClientGrant) string { return g.ID }
	got, want = sortedBy(got, byID), sortedBy(want, byID)
	if len(got) != len(want) {
		t.Fatalf("ListClientGrants = %v, want %v", ids(got, byID), ids(want, byID))
	}
	for i := range want {
		assertEqual(t, "ListClientGrants item", got[i], want[i])
	}

	none, err := s.ListClientGrants(ctx, "client-none")
	must(t, "ListClientGrants none", err)
	if len(none) != 0 {
		t.Errorf("ListClientGrants(client-none) = %d grants, want 0", len(none))
	}
}

func testClientGrantDelete(t *testing.T, s storage.Store) {
	ctx := t.Context()
	g := newClientGrant("client-1", "urn:a")
	keep := newClientGrant("client-1", "urn:b")
	must(t, "CreateClientGrant", s.CreateClientGrant(ctx, g))
	must(t, "CreateClientGrant", s.CreateClientGrant(ctx, keep))

	must(t, "DeleteClientGrant", s.DeleteClientGrant(ctx, g.ID))
	_, err := s.GetClientGrant(ctx, "client-1", "urn:a")
	wantErr(t, "GetClientGrant after delete", err, storage.ErrNotFound)
	wantErr(t, "DeleteClientGrant twice", s.DeleteClientGrant(ctx, g.ID), storage.ErrNotFound)
	list, err := s.ListClientGrants(ctx, "client-1")
	must(t, "ListClientGrants", err)
	if len(list) != 1 || list[0].ID != keep.ID {
		t.Errorf("ListClientGrants after delete = %v, want [%s]", ids(list, func(g storage.ClientGrant) string { return g.ID }), keep.ID)
	}

	// The (client, audience) pair is free again.
	must(t, "CreateClientGrant again", s.CreateClientGrant(ctx, newClientGrant("client-1", "urn:a")))
}
