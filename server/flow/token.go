package flow

import (
	"cmp"
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
	ctx, tr := withLoginTrace(ctx)
	resp, err := s.passwordLogin(ctx, g)
	s.metrics.Login(loginOutcome(err))
	s.recordLogin(ctx, tr, loginAttempt{client: g.Client, connection: cmp.Or(g.Realm, DefaultConnection),
		login: g.Username, ip: g.IP, userAgent: g.Request.UserAgent}, err)
	return resp, err
}

// loginOutcome names an outcome for the metrics.
func loginOutcome(err error) string {
	var den *DeniedError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrWrongCredentials):
		return "wrong_credentials"
	case errors.Is(err, ErrUserBlocked):
		return "blocked"
	case errors.Is(err, ErrTooManyAttempts):
		return "too_many_attempts"
	case errors.Is(err, ErrSuspiciousIP):
		return "suspicious_ip"
	case errors.As(err, &den):
		return "denied"
	case errors.Is(err, ErrRuleFailed), errors.Is(err, ErrClaimsTooLarge):
		return "rule_failed"
	default:
		var inv *InvalidRequestError
		if errors.As(err, &inv) {
			return "invalid_request"
		}
		return "error"
	}
}

func (s *Service) passwordLogin(ctx context.Context, g PasswordGrant) (TokenResponse, error) {
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
	audience, err := s.userAudience(g.Client, g.Audience)
	if err != nil {
		return TokenResponse{}, err
	}

	identifier := strings.ToLower(strings.TrimSpace(g.Username))
	if err := s.checkBruteForce(ctx, identifier, g.IP); err != nil {
		return TokenResponse{}, err
	}
	if err := s.checkSuspiciousIP(ctx, g.IP); err != nil {
		return TokenResponse{}, err
	}
	u, err := s.verifyPassword(ctx, conn.Name, g.Username, g.Password)
	if errors.Is(err, ErrWrongCredentials) {
		s.recordFailure(ctx, identifier, g.IP)
		s.recordIPFailure(ctx, g.IP)
	}
	if err != nil {
		return TokenResponse{}, err
	}
	s.clearFailures(ctx, identifier, g.IP)
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
	return s.issueUserTokens(ctx, issuance{
		user: u, client: g.Client, scopes: scopes, audience: audience, grantType: g.GrantType, decision: decision,
	})
}

// verifyPassword finds the user by email (or username) and checks the password. An unknown
// user costs one bcrypt comparison, like a wrong password, so timing tells nothing.
func (s *Service) verifyPassword(ctx context.Context, connection, login, pw string) (storage.User, error) {
	leave, err := s.hashSlot(ctx)
	if err != nil {
		return storage.User{}, err
	}
	defer leave()
	u, err := s.findLogin(ctx, connection, login)
	traceOf(ctx).noteUser(u) // for the login's event: a wrong password (fp) or an unknown user (fu)
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
	if !s.verifyStoredHash(ctx, u.ID, hash, pw) {
		return storage.User{}, ErrWrongCredentials
	}
	traceOf(ctx).noteVerified()
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
		if len(writes) > 0 {
			if err := s.watchMetadataSize(ctx, u, false); err != nil {
				return u, err
			}
		}
		return u, nil
	})
	if err != nil {
		return storage.User{}, fmt.Errorf("record login: %w", err)
	}
	return u, nil
}

// tokenClaims are the claim sets of one issuance, before signing.
type tokenClaims struct {
	scope   string
	access  map[string]any
	id      map[string]any // nil without the openid scope
	custom  map[string]any // the ID token's custom claims, kept with the grant for /userinfo
	expires time.Time      // of the access token
}

// issuance is what one token response is made from.
type issuance struct {
	user      storage.User
	client    storage.Client
	scopes    []string // as requested: they decide the ID token's standard claims
	audience  string
	grantType string
	grantID   string // "" for a new one
	decision  loginDecision
	// authTime is when the user entered credentials (zero: the user's last login).
	authTime time.Time
	// nonce is the authorize request's; tokens from other grants carry none (AUTH0-COMPAT §0.5).
	nonce string
}

// buildTokenClaims computes what the access token and the ID token of a login will say.
// It is pure, so a dry run shows exactly what a login would issue.
func (s *Service) buildTokenClaims(in issuance, now time.Time) tokenClaims {
	u, c, d, scopes := in.user, in.client, in.decision, in.scopes
	scope := strings.Join(scopes, " ")
	if d.scopes != nil {
		// The rules changed what the access token grants.
		scope = strings.Join(d.scopes, " ")
	}
	atExp := now.Add(s.accessTokenLifetime(c))
	var aud any = in.audience
	if in.audience != s.UserinfoAudience() && tokens.HasScope(scopes, "openid") {
		aud = []string{in.audience, s.UserinfoAudience()}
	}
	access := make(map[string]any, len(d.atClaims)+9)
	for k, v := range d.atClaims {
		access[k] = v
	}
	for k, v := range map[string]any{
		"iss": s.issuerURL, "sub": u.ID, "aud": aud, "azp": c.ID,
		"iat": now.Unix(), "exp": atExp.Unix(), "scope": scope, "jti": in.grantID, "gty": in.grantType,
	} {
		access[k] = v // protocol claims always win (the claim policy drops them from rules anyway)
	}
	tc := tokenClaims{scope: scope, access: access, custom: d.idClaims, expires: atExp}
	if tokens.HasScope(scopes, "openid") {
		id := tokens.UserClaims(u, scopes)
		for k, v := range d.idClaims {
			id[k] = v
		}
		lifetime := DefaultIDTokenLifetime
		if l := c.JWTConfiguration.LifetimeInSeconds; l > 0 {
			lifetime = time.Duration(l) * time.Second
		}
		authTime := in.authTime
		if authTime.IsZero() {
			authTime = u.LastLogin
		}
		id["iss"] = s.issuerURL
		id["sub"] = u.ID
		id["aud"] = c.ID
		id["iat"] = now.Unix()
		id["exp"] = now.Add(lifetime).Unix()
		id["auth_time"] = authTime.Unix()
		if in.nonce != "" {
			id["nonce"] = in.nonce
		}
		tc.id = id
	}
	return tc
}

// issueUserTokens signs the access token (and the ID token when openid was asked for) and
// records the grant, so that /userinfo can answer with the same custom claims.
func (s *Service) issueUserTokens(ctx context.Context, in issuance) (TokenResponse, error) {
	now := s.now()
	if in.grantID == "" {
		in.grantID = storage.NewGrantID()
	}
	tc := s.buildTokenClaims(in, now)
	at, err := s.issuer.SignAccessToken(tc.access)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("sign access token: %w", err)
	}
	resp := TokenResponse{AccessToken: at, Scope: tc.scope, ExpiresIn: int(tc.expires.Sub(now).Seconds()), TokenType: "Bearer"}
	if tc.id != nil {
		tc.id["at_hash"] = tokens.HalfHash(at)
		if resp.IDToken, err = s.issuer.SignIDToken(tc.id); err != nil {
			return TokenResponse{}, fmt.Errorf("sign id token: %w", err)
		}
	}
	g := storage.Grant{
		ID: in.grantID, UserID: in.user.ID, ClientID: in.client.ID, Audience: in.audience, Scope: tc.scope,
		Claims: tc.custom, CreatedAt: now, ExpiresAt: tc.expires,
	}
	if err := s.issuances.CreateGrant(ctx, g); err != nil {
		return TokenResponse{}, fmt.Errorf("record grant: %w", err)
	}
	s.recentGrants.Put(g.ID, g)
	return resp, nil
}

// ClientCredentialsGrant issues a machine-to-machine access token for an API the client
// was granted.
func (s *Service) ClientCredentialsGrant(ctx context.Context, c storage.Client, audience, scope string) (resp TokenResponse, err error) {
	defer s.recordExchange(ctx, clientCredsExchange, c, &resp, &err)
	return s.clientCredentialsGrant(ctx, c, audience, scope)
}

func (s *Service) clientCredentialsGrant(ctx context.Context, c storage.Client, audience, scope string) (TokenResponse, error) {
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
