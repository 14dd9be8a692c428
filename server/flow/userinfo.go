package flow

import (
	"context"
	"errors"
	"fmt"

	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/tokens"
)

// ErrNoOpenID: the access token was not granted the openid scope.
var ErrNoOpenID = errors.New("the access token does not carry the openid scope")

// ErrUnknownSubject: the token's user no longer exists.
var ErrUnknownSubject = errors.New("the token's user does not exist")

// UserInfo answers /userinfo for a verified access token's claims: the standard claims of
// the current profile, filtered by the granted scopes, plus the custom claims that the ID
// token of the same grant carried (AUTH0-COMPAT §2.5).
func (s *Service) UserInfo(ctx context.Context, claims map[string]any) (map[string]any, error) {
	scope, _ := claims["scope"].(string)
	scopes := tokens.ParseScope(scope)
	if !tokens.HasScope(scopes, "openid") {
		return nil, ErrNoOpenID
	}
	sub, _ := claims["sub"].(string)
	u, err := s.users.GetUser(ctx, sub)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrUnknownSubject
	}
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	if u.Blocked {
		return nil, ErrUserBlocked
	}
	var custom map[string]any
	if jti, _ := claims["jti"].(string); jti != "" {
		g, err := s.grant(ctx, jti)
		switch {
		case err == nil && g.UserID == u.ID:
			custom = g.Claims
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return nil, fmt.Errorf("userinfo grant: %w", err)
		}
	}
	return userinfoClaims(u, scopes, custom), nil
}

// userinfoClaims is the /userinfo body: the profile's standard claims for the scopes (always
// the latest values) and the custom claims the grant's ID token carried.
func userinfoClaims(u storage.User, scopes []string, custom map[string]any) map[string]any {
	out := tokens.UserClaims(u, scopes)
	for k, v := range custom {
		if _, standard := out[k]; !standard {
			out[k] = v
		}
	}
	out["sub"] = u.ID
	return out
}

// grant reads a grant, from memory when it was seen recently.
func (s *Service) grant(ctx context.Context, id string) (storage.Grant, error) {
	if g, ok := s.recentGrants.Get(id); ok {
		return g, nil
	}
	g, err := s.issuances.GetGrant(ctx, id)
	if err == nil {
		s.recentGrants.Put(id, g)
	}
	return g, err
}
