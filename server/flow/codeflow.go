package flow

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/tokens"
)

// The token endpoint's refusals of codes and refresh tokens (AUTH0-COMPAT §2.4): one
// message whatever the reason, so that a guess learns nothing.
var (
	errInvalidCode         = &DeniedError{Code: "invalid_grant", Message: "Invalid authorization code"}
	errInvalidVerifier     = &DeniedError{Code: "invalid_grant", Message: "Failed to verify code verifier"}
	errInvalidRefreshToken = &DeniedError{Code: "invalid_grant", Message: "Unknown or invalid refresh token."}
)

// CodeGrant is grant_type=authorization_code.
type CodeGrant struct {
	Client       storage.Client
	Code         string
	RedirectURI  string
	CodeVerifier string
}

// ExchangeCode redeems an authorization code for the tokens its login decided. A code is
// good once: a second use fails and revokes what the first issued (RFC 9700 §4.5).
func (s *Service) ExchangeCode(ctx context.Context, g CodeGrant) (out TokenResponse, failure error) {
	defer s.recordExchange(ctx, codeExchange, g.Client, &out, &failure)
	if !g.Client.HasGrantType(GrantAuthorizationCode) {
		return TokenResponse{}, denied("unauthorized_client", "Grant type '%s' not allowed for the client.", GrantAuthorizationCode)
	}
	// Malformed requests are refused before the code is spent.
	if g.Code == "" {
		return TokenResponse{}, missing("code")
	}
	if g.RedirectURI == "" {
		return TokenResponse{}, missing("redirect_uri")
	}
	ac, err := s.shortLived.ConsumeCode(ctx, storage.TokenID(g.Code))
	switch {
	case errors.Is(err, storage.ErrCodeReused):
		s.revokeFamily(ctx, ac.FamilyID, "authorization code replayed")
		return TokenResponse{}, errInvalidCode
	case errors.Is(err, storage.ErrNotFound):
		return TokenResponse{}, errInvalidCode
	case err != nil:
		return TokenResponse{}, err
	}
	if ac.ClientID != g.Client.ID || ac.RedirectURI != g.RedirectURI {
		return TokenResponse{}, errInvalidCode
	}
	if !verifierMatches(ac, g.CodeVerifier) {
		return TokenResponse{}, errInvalidVerifier
	}
	u, err := s.users.GetUser(ctx, ac.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return TokenResponse{}, errInvalidCode
	}
	if err != nil {
		return TokenResponse{}, err
	}
	if u.Blocked {
		return TokenResponse{}, ErrUserBlocked
	}
	scopes := tokens.ParseScope(ac.Scope)
	d := loginDecision{idClaims: ac.IDClaims, atClaims: ac.AccessClaims}
	if ac.AccessScope != "" {
		d.scopes = tokens.ParseScope(ac.AccessScope)
	}
	resp, err := s.issueUserTokens(ctx, issuance{
		user: u, client: g.Client, scopes: scopes, audience: ac.Audience, grantType: GrantAuthorizationCode,
		grantID: ac.FamilyID, decision: d, authTime: ac.AuthTime, nonce: ac.Nonce,
	})
	if err != nil {
		return TokenResponse{}, err
	}
	if s.issuesRefreshTokens(g.Client, scopes) {
		rt, err := s.newRefreshToken(ctx, g.Client, storage.RefreshToken{
			FamilyID: ac.FamilyID, UserID: u.ID, ClientID: g.Client.ID, Audience: ac.Audience,
			Scope: ac.Scope, SessionID: ac.SessionID, AuthTime: ac.AuthTime,
		}, time.Time{})
		if err != nil {
			return TokenResponse{}, err
		}
		resp.RefreshToken = rt
	}
	return resp, nil
}

// verifierMatches checks the PKCE verifier against the code's challenge (RFC 7636 §4.6). A
// verifier sent for a code issued without a challenge is refused too: accepting it would
// let an attacker who stripped the challenge pass as a PKCE client (RFC 9700 §2.1.1).
func verifierMatches(ac storage.AuthCode, verifier string) bool {
	if ac.CodeChallenge == "" {
		return verifier == ""
	}
	if len(verifier) < 43 || len(verifier) > 128 || !isPKCEChars(verifier) {
		return false
	}
	want := verifier
	if ac.CodeChallengeMethod == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(ac.CodeChallenge)) == 1
}

// issuesRefreshTokens: a client that may use the refresh_token grant gets one when it asks
// for offline_access.
func (s *Service) issuesRefreshTokens(c storage.Client, scopes []string) bool {
	return c.HasGrantType(GrantRefreshToken) && tokens.HasScope(scopes, "offline_access")
}

// refreshPolicy is the client's refresh-token policy, with Auth0's defaults filled in.
func refreshPolicy(c storage.Client) storage.RefreshTokenPolicy {
	p := c.RefreshToken
	d := storage.DefaultRefreshTokenPolicy()
	if p.RotationType == "" {
		p.RotationType = d.RotationType
	}
	if p.ExpirationType == "" {
		p.ExpirationType = d.ExpirationType
	}
	if p.TokenLifetime <= 0 {
		p.TokenLifetime = d.TokenLifetime
	}
	if p.IdleTokenLifetime <= 0 {
		p.IdleTokenLifetime = d.IdleTokenLifetime
	}
	return p
}

// newRefreshToken stores a refresh token of t's family and returns its value. familyEnd is
// the family's absolute end, zero for a new family (it gets the client's lifetime).
func (s *Service) newRefreshToken(ctx context.Context, c storage.Client, t storage.RefreshToken, familyEnd time.Time) (string, error) {
	token, t := s.nextRefreshToken(c, t, familyEnd)
	if err := s.refreshTokens.CreateRefreshToken(ctx, t); err != nil {
		return "", fmt.Errorf("store refresh token: %w", err)
	}
	return token, nil
}

// nextRefreshToken fills in a refresh token's id and lifetimes.
func (s *Service) nextRefreshToken(c storage.Client, t storage.RefreshToken, familyEnd time.Time) (string, storage.RefreshToken) {
	p := refreshPolicy(c)
	now := s.now()
	token := storage.NewOpaqueToken()
	t.ID = storage.TokenID(token)
	t.CreatedAt = now
	t.RotatedAt = time.Time{}
	t.ExpiresAt = familyEnd
	if familyEnd.IsZero() && p.ExpirationType == storage.ExpirationExpiring && !p.InfiniteTokenLifetime {
		t.ExpiresAt = now.Add(time.Duration(p.TokenLifetime) * time.Second)
	}
	t.IdleExpiresAt = time.Time{}
	if p.ExpirationType == storage.ExpirationExpiring && !p.InfiniteIdleTokenLifetime {
		t.IdleExpiresAt = now.Add(time.Duration(p.IdleTokenLifetime) * time.Second)
		if !t.ExpiresAt.IsZero() {
			t.IdleExpiresAt = minTime(t.IdleExpiresAt, t.ExpiresAt)
		}
	}
	return token, t
}

// revokeFamily revokes a refresh-token family and the grant of its first issuance.
func (s *Service) revokeFamily(ctx context.Context, familyID, why string) {
	if familyID == "" {
		return
	}
	n, err := s.refreshTokens.RevokeRefreshTokenFamily(ctx, familyID)
	if err != nil {
		s.log.ErrorContext(ctx, "revoking a refresh-token family failed", "reason", why, "error", err)
		return
	}
	s.log.WarnContext(ctx, "refresh-token family revoked", "reason", why, "tokens", n)
}

// RefreshGrant is grant_type=refresh_token.
type RefreshGrant struct {
	Client       storage.Client
	RefreshToken string
	Scope        string
	IP           string
	Request      rules.HTTPRequest
}

// Refresh exchanges a refresh token for new tokens. The rules run again (protocol
// oauth2-refresh-token) without counting a login. A rotating client gets a new refresh
// token each time; presenting a rotated one again (outside the client's leeway) revokes the
// whole family (AUTH0-COMPAT §2.4).
func (s *Service) Refresh(ctx context.Context, g RefreshGrant) (out TokenResponse, failure error) {
	defer s.recordExchange(ctx, refreshExchange, g.Client, &out, &failure)
	if !g.Client.HasGrantType(GrantRefreshToken) {
		return TokenResponse{}, denied("unauthorized_client", "Grant type '%s' not allowed for the client.", GrantRefreshToken)
	}
	if g.RefreshToken == "" {
		return TokenResponse{}, missing("refresh_token")
	}
	now := s.now()
	rt, err := s.refreshTokens.GetRefreshToken(ctx, storage.TokenID(g.RefreshToken))
	if errors.Is(err, storage.ErrNotFound) {
		return TokenResponse{}, errInvalidRefreshToken
	}
	if err != nil {
		return TokenResponse{}, err
	}
	if rt.ClientID != g.Client.ID || lapsed(rt.ExpiresAt, now) || lapsed(rt.IdleExpiresAt, now) {
		return TokenResponse{}, errInvalidRefreshToken
	}
	policy := refreshPolicy(g.Client)
	leeway := time.Duration(policy.Leeway) * time.Second
	if !rt.RotatedAt.IsZero() && now.Sub(rt.RotatedAt) > leeway {
		s.revokeFamily(ctx, rt.FamilyID, "rotated refresh token reused")
		return TokenResponse{}, errInvalidRefreshToken
	}
	scopes := tokens.ParseScope(rt.Scope)
	if g.Scope != "" {
		asked := tokens.ParseScope(g.Scope)
		for _, sc := range asked {
			if !tokens.HasScope(scopes, sc) {
				return TokenResponse{}, denied("invalid_scope", "The scope %q was not granted to the refresh token.", sc)
			}
		}
		scopes = asked
	}
	u, err := s.users.GetUser(ctx, rt.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return TokenResponse{}, errInvalidRefreshToken
	}
	if err != nil {
		return TokenResponse{}, err
	}
	if u.Blocked {
		return TokenResponse{}, ErrUserBlocked
	}
	conn, err := s.connections.GetConnectionByName(ctx, u.Connection)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("load connection %q: %w", u.Connection, err)
	}
	req := g.Request
	req.IP = g.IP
	decision, err := s.runPostLogin(ctx, loginInput{
		user: u, client: g.Client, connection: conn, protocol: "oauth2-refresh-token",
		scopes: scopes, audience: rt.Audience, request: req,
	})
	if err != nil {
		return TokenResponse{}, err
	}
	if len(decision.writes) > 0 {
		if u, err = s.saveMetadataWrites(ctx, u.ID, decision.writes); err != nil {
			return TokenResponse{}, err
		}
	}

	var next string
	if policy.RotationType == storage.RotationRotating {
		token, nt := s.nextRefreshToken(g.Client, storage.RefreshToken{
			FamilyID: rt.FamilyID, UserID: rt.UserID, ClientID: rt.ClientID, Audience: rt.Audience,
			Scope: rt.Scope, SessionID: rt.SessionID, AuthTime: rt.AuthTime,
		}, rt.ExpiresAt)
		if rt.RotatedAt.IsZero() {
			err = s.refreshTokens.RotateRefreshToken(ctx, rt.ID, now, nt)
		} else {
			err = storage.ErrConflict // a reuse within the leeway: another token of the family
		}
		if errors.Is(err, storage.ErrConflict) {
			// Rotated meanwhile by a concurrent request. Within the leeway both get tokens;
			// otherwise this is a reuse.
			if leeway <= 0 {
				s.revokeFamily(ctx, rt.FamilyID, "rotated refresh token reused")
				return TokenResponse{}, errInvalidRefreshToken
			}
			err = s.refreshTokens.CreateRefreshToken(ctx, nt)
		}
		if errors.Is(err, storage.ErrNotFound) {
			return TokenResponse{}, errInvalidRefreshToken // revoked meanwhile
		}
		if err != nil {
			return TokenResponse{}, fmt.Errorf("rotate refresh token: %w", err)
		}
		next = token
	}
	resp, err := s.issueUserTokens(ctx, issuance{
		user: u, client: g.Client, scopes: scopes, audience: rt.Audience, grantType: GrantRefreshToken,
		decision: decision, authTime: rt.AuthTime,
	})
	if err != nil {
		return TokenResponse{}, err
	}
	resp.RefreshToken = next
	return resp, nil
}

// lapsed says whether a deadline (zero: none) has passed.
func lapsed(deadline, now time.Time) bool {
	return !deadline.IsZero() && !now.Before(deadline)
}

// RevokeRefreshToken serves POST /oauth/revoke (AUTH0-COMPAT §2.7): the token's family
// ends. Unknown tokens, and tokens of another client, are answered alike and left alone
// (RFC 7009 §2.2).
func (s *Service) RevokeRefreshToken(ctx context.Context, c storage.Client, token string) error {
	if token == "" {
		return missing("token")
	}
	rt, err := s.refreshTokens.GetRefreshToken(ctx, storage.TokenID(token))
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rt.ClientID != c.ID {
		return nil
	}
	if _, err := s.refreshTokens.RevokeRefreshTokenFamily(ctx, rt.FamilyID); err != nil {
		return fmt.Errorf("revoke refresh token: %w", err)
	}
	return nil
}
