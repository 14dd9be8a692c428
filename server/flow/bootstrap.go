package flow

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/latchauth/latch/storage"
)

// ManagementScopes are every scope the Management API checks; the bootstrap client gets
// them all.
var ManagementScopes = []string{
	"read:users", "create:users", "update:users", "delete:users",
	"read:users_app_metadata", "update:users_app_metadata", "create:users_app_metadata", "delete:users_app_metadata",
	"read:clients", "create:clients", "update:clients", "delete:clients",
	"read:client_keys", "update:client_keys",
	"read:client_grants", "create:client_grants", "update:client_grants", "delete:client_grants",
	"read:connections", "create:connections", "update:connections", "delete:connections",
	"read:rules", "create:rules", "update:rules", "delete:rules",
	"read:rules_configs", "update:rules_configs", "delete:rules_configs",
	"read:actions", "create:actions", "update:actions", "delete:actions",
	"read:signing_keys", "create:signing_keys", "update:signing_keys",
	"read:logs", "read:logs_users", "read:stats", "create:user_tickets",
	"read:attack_protection", "update:attack_protection",
}

// BootstrapClientName names the machine-to-machine client created at first start.
const BootstrapClientName = "latch bootstrap (Management API)"

// BootstrapResult says what Bootstrap created. The secret is set only when the client was
// created just now with a generated secret, so that it is shown exactly once.
type BootstrapResult struct {
	ConnectionCreated bool
	ClientCreated     bool
	ClientID          string
	GeneratedSecret   string
}

// Bootstrap makes a fresh store usable: the default database connection and a
// Management API client. It changes nothing that already exists, so it runs at every start.
// clientID and secret come from configuration; empty values are generated.
func (s *Service) Bootstrap(ctx context.Context, clientID, secret string) (BootstrapResult, error) {
	var res BootstrapResult
	if _, err := s.connections.GetConnectionByName(ctx, DefaultConnection); errors.Is(err, storage.ErrNotFound) {
		err := s.connections.CreateConnection(ctx, storage.Connection{
			ID: storage.NewConnectionID(), Name: DefaultConnection, Strategy: "auth0",
			Options:   storage.ConnectionOptions{PasswordPolicy: "fair", PasswordDictionary: true},
			CreatedAt: s.now(),
		})
		if err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
			return res, fmt.Errorf("create default connection: %w", err)
		}
		res.ConnectionCreated = err == nil
	} else if err != nil {
		return res, fmt.Errorf("read default connection: %w", err)
	}

	existing, err := s.bootstrapClient(ctx)
	if err != nil {
		return res, err
	}
	if existing != "" {
		res.ClientID = existing
		return res, s.grantAllManagementScopes(ctx, existing)
	}
	generated := secret == ""
	if clientID == "" {
		clientID = storage.NewClientID()
	}
	if generated {
		secret = storage.NewClientSecret()
	}
	now := s.now()
	c := storage.Client{
		ID: clientID, Secret: secret, Name: BootstrapClientName, AppType: "non_interactive",
		IsFirstParty: true, OIDCConformant: true,
		GrantTypes:              []string{GrantClientCredentials},
		TokenEndpointAuthMethod: "client_secret_post",
		ClientMetadata:          map[string]string{"latch_bootstrap": "true"},
		CreatedAt:               now, UpdatedAt: now,
	}
	if err := s.clients.CreateClient(ctx, c); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			// Instances starting together on one empty store: another created it first.
			if existing, ferr := s.bootstrapClient(ctx); ferr == nil && existing != "" {
				res.ClientID = existing
				return res, s.grantAllManagementScopes(ctx, existing)
			}
		}
		return res, fmt.Errorf("create bootstrap client: %w", err)
	}
	g := storage.ClientGrant{ID: storage.NewClientGrantID(), ClientID: clientID, Audience: s.ManagementAudience(), Scope: ManagementScopes}
	if err := s.grants.CreateClientGrant(ctx, g); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return res, fmt.Errorf("grant bootstrap client: %w", err)
	}
	res.ClientCreated, res.ClientID = true, clientID
	if generated {
		res.GeneratedSecret = secret
	}
	return res, nil
}

// bootstrapClient finds the client Bootstrap created earlier, by its marker.
func (s *Service) bootstrapClient(ctx context.Context) (string, error) {
	for page := 0; ; page++ {
		cs, _, err := s.clients.ListClients(ctx, storage.Page{Page: page, PerPage: 100})
		if err != nil {
			return "", fmt.Errorf("list clients: %w", err)
		}
		for _, c := range cs {
			if c.ClientMetadata["latch_bootstrap"] == "true" {
				return c.ID, nil
			}
		}
		if len(cs) < 100 {
			return "", nil
		}
	}
}

// grantAllManagementScopes gives the bootstrap client the scopes that newer versions of
// latch added since it was created (its grant is otherwise only written at creation).
func (s *Service) grantAllManagementScopes(ctx context.Context, clientID string) error {
	g, err := s.grants.GetClientGrant(ctx, clientID, s.ManagementAudience())
	if errors.Is(err, storage.ErrNotFound) {
		g = storage.ClientGrant{ID: storage.NewClientGrantID(), ClientID: clientID, Audience: s.ManagementAudience()}
	} else if err != nil {
		return fmt.Errorf("read bootstrap grant: %w", err)
	}
	missing := false
	for _, sc := range ManagementScopes {
		if !slices.Contains(g.Scope, sc) {
			g.Scope = append(g.Scope, sc)
			missing = true
		}
	}
	if !missing {
		return nil
	}
	// Replace the grant: storage has no update for grants, and this runs once per start.
	if err := s.grants.DeleteClientGrant(ctx, g.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("update bootstrap grant: %w", err)
	}
	if err := s.grants.CreateClientGrant(ctx, g); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		// (ErrAlreadyExists: another instance starting at the same time wrote it.)
		return fmt.Errorf("update bootstrap grant: %w", err)
	}
	return nil
}

// BootstrapAdmin creates the first console admin: a verified user of the default connection
// with the admin role in app_metadata. Called at first start only, so that deleting the
// account later does not bring it back. An empty password is generated and returned, to be
// shown once.
func (s *Service) BootstrapAdmin(ctx context.Context, email, password string) (generated string, err error) {
	for attempt := 0; ; attempt++ {
		pw := password
		if pw == "" {
			pw = generatedAdminPassword()
			generated = pw
		}
		_, err = s.AdminCreateUser(ctx, AdminUserRequest{
			Connection: DefaultConnection, Email: email, EmailVerified: true, Password: pw,
			Name: "latch admin", AppMetadata: storage.Metadata{"roles": []any{s.console.AdminRole}},
			VerifyEmail: Patch[bool]{Set: true, Value: false},
		})
		var weak *WeakPasswordError
		if password != "" || attempt == 9 || !(errors.As(err, &weak) || errors.Is(err, ErrPasswordInDictionary)) {
			break
		}
	}
	if errors.Is(err, ErrUserExists) {
		return "", nil // instances starting together: another created it first
	}
	if err != nil {
		return "", fmt.Errorf("create bootstrap admin: %w", err)
	}
	return generated, nil
}

// generatedAdminPassword is random, with every character class any password policy asks
// for; a draw that the connection's policy still refuses (three identical characters in a
// row, say) is drawn again by BootstrapAdmin.
func generatedAdminPassword() string { return storage.NewOpaqueToken()[:20] + "-Aa1" }
