package flow

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchauth/latch/storage"
)

// ConsoleClientID is the built-in client of the admin console. It lives in code, not in the
// store, so no one can change its callbacks or delete it through the Management API.
const ConsoleClientID = "latch-console"

// consoleClientName is the console client's name, in its record and in the event log.
const consoleClientName = "latch admin console"

// DefaultConsoleSessionTimeout is how long a console sign-in lasts before the admin must
// enter credentials again.
const DefaultConsoleSessionTimeout = time.Hour

// Default roles (in app_metadata.roles) that make a user a console admin or viewer.
const (
	DefaultAdminRole  = "admin"
	DefaultViewerRole = "viewer"
)

// ConsoleSettings say who may use the admin console and with which Management API scopes.
type ConsoleSettings struct {
	// Admins lists user ids and email addresses given every Management API scope. An email
	// matches only a verified address: anyone may sign up with an unverified one.
	Admins []string
	// AdminRole and ViewerRole are roles in app_metadata.roles: the first holds every
	// scope, the second only the read:* scopes. Empty fields take the defaults; "-" turns a
	// role off.
	AdminRole  string
	ViewerRole string
	// SessionTimeout bounds a console sign-in: its access token's lifetime, and the max_age
	// the console asks for, so that an older SSO session asks for the password again.
	SessionTimeout time.Duration
}

func withConsoleDefaults(c ConsoleSettings) ConsoleSettings {
	if c.AdminRole == "" {
		c.AdminRole = DefaultAdminRole
	}
	if c.ViewerRole == "" {
		c.ViewerRole = DefaultViewerRole
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = DefaultConsoleSessionTimeout
	}
	admins := make([]string, 0, len(c.Admins))
	for _, a := range c.Admins {
		if a = strings.TrimSpace(a); a != "" {
			if strings.Contains(a, "@") && !strings.Contains(a, "|") {
				a = strings.ToLower(a)
			}
			admins = append(admins, a)
		}
	}
	c.Admins = admins
	return c
}

// ConsoleConfig is what the console's page needs to sign an admin in.
type ConsoleConfig struct {
	Issuer      string `json:"issuer"`
	ClientID    string `json:"client_id"`
	Audience    string `json:"audience"`
	Scope       string `json:"scope"`
	RedirectURI string `json:"redirect_uri"`
	LogoutURL   string `json:"logout_url"`
	// MaxAge is the session timeout in seconds, sent as /authorize's max_age.
	MaxAge int `json:"max_age"`
}

// ConsoleConfig describes the console client to the console's page.
func (s *Service) ConsoleConfig() ConsoleConfig {
	home := s.issuerURL + "admin/"
	return ConsoleConfig{
		Issuer: s.issuerURL, ClientID: ConsoleClientID, Audience: s.ManagementAudience(),
		Scope:       "openid profile email " + strings.Join(ManagementScopes, " "),
		RedirectURI: home + "callback",
		LogoutURL:   s.issuerURL + "v2/logout?client_id=" + ConsoleClientID + "&returnTo=" + url.QueryEscape(home),
		MaxAge:      int(s.console.SessionTimeout.Seconds()),
	}
}

// consoleClient is the console's client record for an issuer: a public SPA that signs in
// with a code and PKCE, gets no refresh token, and may ask for the Management API audience.
func consoleClient(issuerURL string) storage.Client {
	home := issuerURL + "admin/"
	origin := strings.TrimSuffix(issuerURL, "/")
	if u, err := url.Parse(issuerURL); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	return storage.Client{
		ID: ConsoleClientID, Name: consoleClientName, AppType: "spa",
		IsFirstParty: true, OIDCConformant: true,
		Callbacks:               []string{home + "callback"},
		AllowedLogoutURLs:       []string{home},
		WebOrigins:              []string{origin},
		GrantTypes:              []string{GrantAuthorizationCode},
		TokenEndpointAuthMethod: "none",
	}
}

// client finds a client by id: the console's built-in one, or one from the store.
func (s *Service) client(ctx context.Context, id string) (storage.Client, error) {
	if id == ConsoleClientID {
		return s.consoleApp, nil
	}
	return s.clients.GetClient(ctx, id)
}

// ErrNotAdmin refuses a console sign-in or call by a user who is not a console admin.
var ErrNotAdmin = errors.New("not an administrator")

// adminScopes are the Management API scopes a user holds as a console admin; none for
// anyone else, or for a blocked user.
func (s *Service) adminScopes(u storage.User) []string {
	if u.Blocked {
		return nil
	}
	c := s.console
	for _, a := range c.Admins {
		if a == u.ID || (u.EmailVerified && u.Email != "" && a == strings.ToLower(u.Email)) {
			return ManagementScopes
		}
	}
	roles := metadataStrings(u.AppMetadata["roles"])
	switch {
	case c.AdminRole != "-" && slices.Contains(roles, c.AdminRole):
		return ManagementScopes
	case c.ViewerRole != "-" && slices.Contains(roles, c.ViewerRole):
		return readScopes()
	}
	return nil
}

// metadataStrings reads a metadata value that should be a list of strings (or one string).
func metadataStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return v
	}
	return nil
}

// readScopes are the read:* Management API scopes: what a viewer holds.
func readScopes() []string {
	var out []string
	for _, s := range ManagementScopes {
		if strings.HasPrefix(s, "read:") {
			out = append(out, s)
		}
	}
	return out
}

// consoleDecision decides a console sign-in instead of the rules: the tenant's rules never
// run for it (a faulty or hostile rule must not lock admins out, nor change what their
// token grants). The token gets the requested scopes the admin holds, and no others.
func (s *Service) consoleDecision(in loginInput) (loginDecision, error) {
	held := s.adminScopes(in.user)
	if len(held) == 0 {
		return loginDecision{}, &DeniedError{Code: "access_denied", Message: "This account is not an administrator of latch."}
	}
	granted := []string{}
	for _, sc := range in.scopes {
		if !strings.Contains(sc, ":") || slices.Contains(held, sc) {
			granted = append(granted, sc)
		}
	}
	return loginDecision{scopes: granted}, nil
}

// ConsoleScopes are the Management API scopes a console token may use now: those it was
// granted that its user still holds. Checked on every call, so that blocking or demoting an
// admin takes effect at once rather than when the token expires.
func (s *Service) ConsoleScopes(ctx context.Context, userID string, granted []string) ([]string, error) {
	u, err := s.users.GetUser(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotAdmin
	}
	if err != nil {
		return nil, err
	}
	held := s.adminScopes(u)
	var out []string
	for _, sc := range granted {
		if slices.Contains(held, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, ErrNotAdmin
	}
	return out, nil
}

// accessTokenLifetime is how long a user's access token for the client lasts.
func (s *Service) accessTokenLifetime(c storage.Client) time.Duration {
	if c.ID == ConsoleClientID {
		return s.console.SessionTimeout
	}
	return DefaultAccessTokenLifetime
}

// userAudience resolves the API a user's access token is for. Without an audience the
// token is good for /userinfo only; the Management API is open to the console alone.
func (s *Service) userAudience(c storage.Client, requested string) (string, error) {
	switch {
	case requested == "" || requested == s.UserinfoAudience():
		return s.UserinfoAudience(), nil
	case requested == s.ManagementAudience() && c.ID == ConsoleClientID:
		return requested, nil
	default:
		return "", denied("access_denied", "Service not found: %s", requested)
	}
}

// IsConsoleToken says whether a verified access token was issued to the admin console for
// a user (and so must be checked against the user's current admin rights).
func IsConsoleToken(claims map[string]any) bool {
	azp, _ := claims["azp"].(string)
	sub, _ := claims["sub"].(string)
	return azp == ConsoleClientID && sub != "" && !strings.HasSuffix(sub, "@clients")
}
