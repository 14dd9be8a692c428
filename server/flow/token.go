package flow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/tokens"
)

// TokenResponse is the body of a successful /oauth/token (AUTH0-COMPAT §2.4).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	TokenType    string `json:"token_type"`
}

// PasswordGrant is a resource-owner password login.
type PasswordGrant struct {
	Client    storage.Client
	GrantType string // GrantPassword or GrantPasswordRealm, as the client sent it
	Username  string
	Password  string
	// Realm names the connection; empty means DefaultConnection.
	Realm    string
	Scope    string
	Audience string
	IP       string
	// Request describes the HTTP request for the rules (context.request); IP above is its ip.
	Request rules.HTTPRequest
}

// PasswordLogin verifies a user's password and issues tokens.
func (s *Service) PasswordLogin(ctx context.Context, g PasswordGrant) (TokenResponse, error) {
	if !g.Client.HasGrantType(g.GrantType) {
		return TokenResponse{}, denied("unauthorized_client", "Grant type '%s' not allowed for the client.", g.GrantType)
	}
	if g.Username == "" {
		return TokenResponse{}, missing("username")
	}
	if g.Password == "" {
		return TokenResponse{}, missing("password")
	}
	realm := g.Realm
	if realm == "" {
		realm = DefaultConnection
	}
	conn, err := s.databaseConnection(ctx, realm, g.Client.ID)
	if err != nil {
		return TokenResponse{}, err
	}
	audience, err := s.userAudience(g.Audience)
	if err != nil {
		return TokenResponse{}, err
	}

	u, err := s.verifyPassword(ctx, conn.Name, g.Username, g.Password)
	if err != nil {
		return TokenResponse{}, err
	}
	if u.Blocked {
		return TokenResponse{}, ErrUserBlocked
	}
	scopes := tokens.ParseScope(g.Scope)
	now := s.now()
	req := g.Request
	req.IP = g.IP
	decision, err := s.runPostLogin(ctx, loginInput{
		user: countLogin(u, now, g.IP), client: g.Client, connection: conn, protocol: "oauth2-password",
		scopes: scopes, audience: audience, request: req,
	})
	if err != nil {
		return TokenResponse{}, err
	}
	u, err = s.saveLogin(ctx, u.ID, now, g.IP, decision.writes)
	if err != nil {
		return TokenResponse{}, err
	}
	return s.issueUserTokens(ctx, u, g.Client, scopes, audience, g.GrantType, decision)
}

// verifyPassword finds the user by email (or username) and checks the password. An unknown
// user costs one bcrypt comparison, like a wrong password, so timing tells nothing.
func (s *Service) verifyPassword(ctx context.Context, connection, login, pw string) (storage.User, error) {
	u, err := s.findLogin(ctx, connection, login)
	if errors.Is(err, storage.ErrNotFound) {
		s.hasher.VerifyMissing(pw)
		return storage.User{}, ErrWrongCredentials
	}
	if err != nil {
		return storage.User{}, err
	}
	hash, err := s.passwords.PasswordHash(ctx, u.ID)
	if errors.Is(err, storage.ErrNotFound) {
		s.hasher.VerifyMissing(pw)
		return storage.User{}, ErrWrongCredentials
	}
	if err != nil {
		return storage.User{}, err
	}
	if !s.hasher.Verify(hash, pw) {
		return storage.User{}, ErrWrongCredentials
	}
	return u, nil
}

func (s *Service) findLogin(ctx context.Context, connection, login string) (storage.User, error) {
	login = strings.ToLower(strings.TrimSpace(login))
	if strings.Contains(login, "@") {
		u, err := s.users.GetUserByEmail(ctx, connection, login)
		if !errors.Is(err, storage.ErrNotFound) {
			return u, err
		}
	}
	return s.users.GetUserByUsername(ctx, connection, login)
}

// countLogin is the profile as this login leaves it: what rules see (their user.last_login
// and context.stats.loginsCount already count the login, AUTH0-COMPAT §1.1).
func countLogin(u storage.User, now time.Time, ip string) storage.User {
	u.LastLogin = now
	u.UpdatedAt = now
	u.LoginsCount++
	if ip != "" {
		u.LastIP = ip
	}
	return u
}

// saveLogin records the login and the metadata the rules asked to save, in one atomic
// update: either both land or neither does.
func (s *Service) saveLogin(ctx context.Context, userID string, now time.Time, ip string, writes []rules.MetadataWrite) (storage.User, error) {
	u, err := s.users.UpdateUser(ctx, userID, func(u storage.User) (storage.User, error) {
		u = countLogin(u, now, ip)
		applyMetadataWrites(&u, writes)
		return u, nil
	})
	if err != nil {
		return storage.User{}, fmt.Errorf("record login: %w", err)
	}
	return u, nil
}

// userAudience resolves the API a user's access token is for. Without an audience the
// token is good for /userinfo only.
func (s *Service) userAudience(requested string) (string, error) {
	switch requested {
	case "", s.UserinfoAudience():
		return s.UserinfoAudience(), nil
	default:
		return "", denied("access_denied", "Service not found: %s", requested)
	}
}

// issueUserTokens signs the access token (and the ID token when openid was asked for) and
// records the grant, so that /userinfo can answer with the same custom claims.
func (s *Service) issueUserTokens(ctx context.Context, u storage.User, c storage.Client, scopes []string, audience, grantType string, d loginDecision) (TokenResponse, error) {
	now := s.now()
	grantID := storage.NewGrantID()
	scope := strings.Join(scopes, " ")
	if d.scopes != nil {
		// The rules changed what the access token grants.
		scope = strings.Join(d.scopes, " ")
	}
	custom := d.idClaims

	atExp := now.Add(DefaultAccessTokenLifetime)
	var aud any = audience
	if audience != s.UserinfoAudience() && tokens.HasScope(scopes, "openid") {
		aud = []string{audience, s.UserinfoAudience()}
	}
	atClaims := make(map[string]any, len(d.atClaims)+8)
	for k, v := range d.atClaims {
		atClaims[k] = v
	}
	for k, v := range map[string]any{
		"iss": s.issuerURL, "sub": u.ID, "aud": aud, "azp": c.ID,
		"iat": now.Unix(), "exp": atExp.Unix(), "scope": scope, "jti": grantID, "gty": grantType,
	} {
		atClaims[k] = v // protocol claims always win (the claim policy drops them from rules anyway)
	}
	at, err := s.issuer.SignAccessToken(atClaims)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("sign access token: %w", err)
	}
	resp := TokenResponse{AccessToken: at, Scope: scope, ExpiresIn: int(DefaultAccessTokenLifetime.Seconds()), TokenType: "Bearer"}

	if tokens.HasScope(scopes, "openid") {
		claims := tokens.UserClaims(u, scopes)
		for k, v := range custom {
			claims[k] = v
		}
		lifetime := DefaultIDTokenLifetime
		if l := c.JWTConfiguration.LifetimeInSeconds; l > 0 {
			lifetime = time.Duration(l) * time.Second
		}
		claims["iss"] = s.issuerURL
		claims["sub"] = u.ID
		claims["aud"] = c.ID
		claims["iat"] = now.Unix()
		claims["exp"] = now.Add(lifetime).Unix()
		claims["auth_time"] = u.LastLogin.Unix()
		if resp.IDToken, err = s.issuer.SignIDToken(claims); err != nil {
			return TokenResponse{}, fmt.Errorf("sign id token: %w", err)
		}
	}

	g := storage.Grant{
		ID: grantID, UserID: u.ID, ClientID: c.ID, Audience: audience, Scope: scope,
		Claims: custom, CreatedAt: now, ExpiresAt: atExp,
	}
	if err := s.issuances.CreateGrant(ctx, g); err != nil {
		return TokenResponse{}, fmt.Errorf("record grant: %w", err)
	}
	s.recentGrants.Put(g.ID, g)
	return resp, nil
}

// ClientCredentialsGrant issues a machine-to-machine access token for an API the client
// was granted.
func (s *Service) ClientCredentialsGrant(ctx context.Context, c storage.Client, audience, scope string) (TokenResponse, error) {
	if !c.HasGrantType(GrantClientCredentials) || c.TokenEndpointAuthMethod == "none" {
		return TokenResponse{}, denied("unauthorized_client", "Grant type '%s' not allowed for the client.", GrantClientCredentials)
	}
	if audience == "" {
		return TokenResponse{}, missing("audience")
	}
	grant, err := s.grants.GetClientGrant(ctx, c.ID, audience)
	if errors.Is(err, storage.ErrNotFound) {
		return TokenResponse{}, denied("access_denied",
			"Client is not authorized to access %q. You might probably want to create a \"client-grant\" associated to this API.", audience)
	}
	if err != nil {
		return TokenResponse{}, err
	}
	granted := grant.Scope
	if scope != "" {
		granted = intersect(tokens.ParseScope(scope), grant.Scope)
	}
	now := s.now()
	exp := now.Add(DefaultAccessTokenLifetime)
	scopeStr := strings.Join(granted, " ")
	at, err := s.issuer.SignAccessToken(map[string]any{
		"iss": s.issuerURL, "sub": c.ID + "@clients", "aud": audience, "azp": c.ID,
		"iat": now.Unix(), "exp": exp.Unix(), "scope": scopeStr, "gty": "client-credentials",
		"jti": storage.NewGrantID(),
	})
	if err != nil {
		return TokenResponse{}, fmt.Errorf("sign access token: %w", err)
	}
	return TokenResponse{AccessToken: at, Scope: scopeStr, ExpiresIn: int(DefaultAccessTokenLifetime.Seconds()), TokenType: "Bearer"}, nil
}

// intersect keeps the requested scopes that are allowed, in the requested order.
func intersect(requested, allowed []string) []string {
	out := make([]string, 0, len(requested))
	for _, r := range requested {
		if tokens.HasScope(allowed, r) {
			out = append(out, r)
		}
	}
	return out
}
