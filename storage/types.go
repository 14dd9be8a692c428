package storage

import (
	"slices"
	"strings"
	"time"
)

// User is a profile as Auth0 shapes it (AUTH0-COMPAT §1.1). The password hash is not
// here on purpose: see Passwords.
type User struct {
	// ID is the full user id, "<provider>|<id>", e.g. "auth0|507f1f77bcf86cd799439011".
	ID string
	// Connection is the name of the connection the user belongs to.
	Connection string

	Email         string // lower-cased
	EmailVerified bool
	Username      string // lower-cased; empty when the connection does not use usernames
	PhoneNumber   string
	PhoneVerified bool

	Name       string
	Nickname   string
	GivenName  string
	FamilyName string
	Picture    string

	UserMetadata Metadata // the user's own; never nil in values returned by a store
	AppMetadata  Metadata // the admin's; never nil in values returned by a store

	Blocked           bool
	CreatedAt         time.Time
	UpdatedAt         time.Time
	LastLogin         time.Time // zero until the first login
	LastIP            string
	LoginsCount       int64
	LastPasswordReset time.Time
}

// Provider is the part of the id before "|" ("auth0" for database users).
func (u User) Provider() string {
	p, _, _ := strings.Cut(u.ID, "|")
	return p
}

// LocalID is the id without its provider prefix: the identity's user_id and signup's _id.
func (u User) LocalID() string {
	_, id, ok := strings.Cut(u.ID, "|")
	if !ok {
		return u.ID
	}
	return id
}

// Identity is one entry of the profile's identities array.
type Identity struct {
	Connection string `json:"connection"`
	UserID     string `json:"user_id"`
	Provider   string `json:"provider"`
	IsSocial   bool   `json:"isSocial"`
}

// Identities are derived: a database user has exactly one, its own connection.
func (u User) Identities() []Identity {
	return []Identity{{Connection: u.Connection, UserID: u.LocalID(), Provider: u.Provider()}}
}

// Client is an application (AUTH0-COMPAT §5.7).
type Client struct {
	ID          string // client_id
	Secret      string // high-entropy; compared in constant time by its users
	Name        string
	Description string
	// AppType is one of spa, native, regular_web, non_interactive.
	AppType        string
	IsFirstParty   bool
	OIDCConformant bool

	Callbacks         []string
	AllowedOrigins    []string
	WebOrigins        []string
	AllowedLogoutURLs []string
	GrantTypes        []string

	// TokenEndpointAuthMethod is none, client_secret_post or client_secret_basic.
	TokenEndpointAuthMethod string
	ClientMetadata          map[string]string
	JWTConfiguration        JWTConfiguration
	// RefreshToken says how the client's refresh tokens rotate and expire.
	RefreshToken RefreshTokenPolicy
	// AllowPlainPKCE lets the client use code_challenge_method=plain; S256 otherwise.
	AllowPlainPKCE bool
	// CrossOriginAuthentication, SSODisabled and InitiateLoginURI are Auth0's
	// cross_origin_authentication, sso_disabled (each login asks for credentials again, the
	// SSO session notwithstanding) and initiate_login_uri.
	CrossOriginAuthentication bool
	SSODisabled               bool
	InitiateLoginURI          string

	CreatedAt time.Time
	UpdatedAt time.Time
}

// HasGrantType says whether the client may use the grant type.
func (c Client) HasGrantType(gt string) bool {
	for _, g := range c.GrantTypes {
		if g == gt {
			return true
		}
	}
	return false
}

// JWTConfiguration tunes the ID tokens issued to a client.
type JWTConfiguration struct {
	Alg               string `json:"alg,omitempty"`
	LifetimeInSeconds int    `json:"lifetime_in_seconds,omitempty"`
	SecretEncoded     bool   `json:"secret_encoded"`
}

// RefreshTokenPolicy is a client's refresh-token configuration, in Auth0's shape.
type RefreshTokenPolicy struct {
	// RotationType is "rotating" or "non-rotating".
	RotationType string `json:"rotation_type"`
	// ExpirationType is "expiring" or "non-expiring".
	ExpirationType string `json:"expiration_type"`
	// Leeway is how many seconds a rotated token may still be used (for concurrent requests).
	Leeway                    int  `json:"leeway"`
	TokenLifetime             int  `json:"token_lifetime"`
	InfiniteTokenLifetime     bool `json:"infinite_token_lifetime"`
	IdleTokenLifetime         int  `json:"idle_token_lifetime"`
	InfiniteIdleTokenLifetime bool `json:"infinite_idle_token_lifetime"`
}

// Refresh-token policy values.
const (
	RotationRotating     = "rotating"
	RotationNonRotating  = "non-rotating"
	ExpirationExpiring   = "expiring"
	ExpirationNonExpires = "non-expiring"
)

// DefaultRefreshTokenPolicy is what a client gets when it says nothing: rotating tokens,
// 30 days absolute and 15 days idle.
func DefaultRefreshTokenPolicy() RefreshTokenPolicy {
	return RefreshTokenPolicy{
		RotationType: RotationRotating, ExpirationType: ExpirationExpiring,
		TokenLifetime: 2592000, IdleTokenLifetime: 1296000,
	}
}

// ClientGrant lets a client obtain tokens for an API with client_credentials.
type ClientGrant struct {
	ID       string
	ClientID string
	Audience string
	Scope    []string
}

// Connection is an identity source. latch has database connections (strategy "auth0").
type Connection struct {
	ID       string // con_...
	Name     string
	Strategy string
	Options  ConnectionOptions
	// EnabledClients lists client ids allowed to use the connection; empty means all.
	EnabledClients []string
	CreatedAt      time.Time
}

// ConnectionOptions are a database connection's settings.
type ConnectionOptions struct {
	// PasswordPolicy is one of Auth0's presets: none, low, fair, good, excellent.
	PasswordPolicy string `json:"passwordPolicy,omitempty"`
	// MinLength overrides the preset's minimum length when > 0.
	MinLength int `json:"min_length,omitempty"`
	// PasswordDictionary refuses passwords from the shipped list of common passwords.
	PasswordDictionary bool `json:"password_dictionary"`
	// RequiresUsername makes signup demand a username.
	RequiresUsername bool `json:"requires_username"`
}

// AllowsClient says whether the client may use this connection.
func (c Connection) AllowsClient(clientID string) bool {
	if len(c.EnabledClients) == 0 {
		return true
	}
	for _, id := range c.EnabledClients {
		if id == clientID {
			return true
		}
	}
	return false
}

// SigningKey is a token signing key. The private key is sealed with the key-encryption key
// before it reaches the store.
type SigningKey struct {
	KID        string
	Alg        string // RS256
	PublicDER  []byte // PKIX public key
	CertDER    []byte // self-signed certificate for x5c
	SealedPriv []byte // private key, sealed (AEAD) by the key-encryption key
	// State is "current" (signs), "next" (published, will sign), "previous" (verifies only)
	// or "revoked" (neither).
	State     string
	CreatedAt time.Time
	// CurrentSince and CurrentUntil bound the time the key signed.
	CurrentSince time.Time
	CurrentUntil time.Time
	RevokedAt    time.Time
}

// Signing key states.
const (
	KeyCurrent  = "current"
	KeyNext     = "next"
	KeyPrevious = "previous"
	KeyRevoked  = "revoked"
)

// Grant records one issuance of tokens: who got them, for which client and audience, with
// which scopes, and the custom claims the ID token carried. The access token names it in
// its jti claim.
type Grant struct {
	ID       string
	UserID   string
	ClientID string
	Audience string
	Scope    string // space-separated, as granted
	// Claims are the custom (non-standard) claims that the ID token carried.
	Claims    Metadata
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Rule is an Auth0 rule: a script that runs at a stage of the login, in ascending order
// (AUTH0-COMPAT §3.1, §5.5).
type Rule struct {
	ID      string // rul_...
	Name    string
	Enabled bool
	Script  string
	Order   int
	// Stage is when the rule runs; latch runs RuleStageLoginSuccess only.
	Stage     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RuleStageLoginSuccess is the stage of rules that run after a successful login.
const RuleStageLoginSuccess = "login_success"

// Action is an Auth0 action (AUTH0-COMPAT §4): code that runs at the triggers it is bound
// to. latch keeps one version of each action: Deployed says whether that version may be
// bound (Auth0's draft/deployed split, without the version history).
type Action struct {
	ID                string // act_...
	Name              string
	Code              string
	Runtime           string // "node18"
	SupportedTriggers []string
	Deployed          bool
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// SupportsTrigger says whether the action declares the trigger.
func (a Action) SupportsTrigger(trigger string) bool {
	return slices.Contains(a.SupportedTriggers, trigger)
}

// ActionBinding puts an action in a trigger's flow; bindings run by ascending Order.
type ActionBinding struct {
	ID          string // bnd_...
	Trigger     string
	ActionID    string
	Order       int
	DisplayName string
}
