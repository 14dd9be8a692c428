package storage

import (
	"context"
	"time"
)

// This file holds what browser logins need: the short-lived state of a login in progress
// (transactions, SSO sessions, authorization codes), kept in-process by storage/inproc and
// in Redis at scale, and the durable refresh tokens.
//
// Short-lived records carry their own expiry. A backend never returns an expired record: it
// answers ErrNotFound as if the record had never been, and may forget it at any time after.

// LoginTransaction is an /authorize request waiting for the user to log in: what the client
// asked for, kept under a random id that the login page's URL carries. It is deleted once the
// login finishes, so a transaction completes at most once.
type LoginTransaction struct {
	ID string // 128 random bits, URL-safe

	ClientID     string
	RedirectURI  string
	ResponseType string // "code", "id_token" or "id_token token"
	ResponseMode string // "query", "fragment", "form_post" or "web_message"
	Scope        string
	Audience     string
	State        string
	Nonce        string

	CodeChallenge       string
	CodeChallengeMethod string // "S256" or "plain"

	Prompt     string // "", "login" or "none"
	MaxAge     int    // seconds; -1 when absent
	LoginHint  string
	ScreenHint string // "signup" opens the signup page
	Connection string
	UILocales  string

	// CSRF is the token every form of this transaction must send back.
	CSRF string

	CreatedAt time.Time
	ExpiresAt time.Time
}

// LoginTransactions stores logins in progress.
type LoginTransactions interface {
	// CreateTransaction stores t until t.ExpiresAt. ErrAlreadyExists when the id is taken.
	CreateTransaction(ctx context.Context, t LoginTransaction) error
	// GetTransaction returns the transaction; ErrNotFound when unknown or expired.
	GetTransaction(ctx context.Context, id string) (LoginTransaction, error)
	// DeleteTransaction forgets the transaction. It returns ErrNotFound when there was none,
	// so that of two concurrent finishers exactly one sees nil.
	DeleteTransaction(ctx context.Context, id string) error
}

// Session is an SSO session: the user logged in on this browser. The cookie holds a random
// secret; ID is its SHA-256 (hex), so a copy of the store cannot be replayed as cookies.
type Session struct {
	ID     string
	UserID string
	// AuthTime is when the user last proved who they are (entered a password).
	AuthTime time.Time
	// Clients are the client ids that received tokens through this session.
	Clients []string

	CreatedAt time.Time
	// LastSeen is the last time the session was used; IdleExpiresAt is LastSeen plus the
	// idle lifetime, capped by ExpiresAt, the absolute end.
	LastSeen      time.Time
	IdleExpiresAt time.Time
	ExpiresAt     time.Time
}

// Sessions stores SSO sessions.
type Sessions interface {
	// CreateSession stores s. ErrAlreadyExists when the id is taken.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the session; ErrNotFound when unknown, or past its IdleExpiresAt
	// or ExpiresAt.
	GetSession(ctx context.Context, id string) (Session, error)
	// UpdateSession replaces the session with what update returns (see the package
	// contract); ErrNotFound when it is unknown or expired.
	UpdateSession(ctx context.Context, id string, update func(Session) (Session, error)) (Session, error)
	// DeleteSession forgets the session; ErrNotFound when there was none.
	DeleteSession(ctx context.Context, id string) error
	// DeleteUserSessions forgets every session of the user and says how many there were.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
}

// AuthCode is an authorization code: the outcome of a finished login, exchanged once at
// /oauth/token for the tokens it describes. The code itself is never stored: ID is its
// SHA-256 (hex).
type AuthCode struct {
	ID          string
	ClientID    string
	RedirectURI string
	UserID      string
	SessionID   string

	Scope string // as requested (it decides the ID token's standard claims)
	// AccessScope is what the access token grants when the rules changed it ("" when not).
	AccessScope string
	Audience    string
	Nonce       string
	AuthTime    time.Time

	CodeChallenge       string
	CodeChallengeMethod string

	// IDClaims and AccessClaims are the custom claims the rules set for each token.
	IDClaims     Metadata
	AccessClaims Metadata

	// FamilyID names what the exchange issues (the grant and the refresh-token family), so
	// that a replayed code can revoke it.
	FamilyID string

	CreatedAt time.Time
	ExpiresAt time.Time
}

// AuthCodes stores authorization codes.
type AuthCodes interface {
	// CreateCode stores c until c.ExpiresAt. ErrAlreadyExists when the id is taken.
	CreateCode(ctx context.Context, c AuthCode) error
	// ConsumeCode marks the code used and returns it, atomically: of any number of concurrent
	// calls for one code, exactly one succeeds. A code that was already used returns
	// ErrCodeReused together with the code as stored, so that the caller can revoke what the
	// first use issued; backends remember used codes for at least UsedCodeMemory after they
	// expire. Unknown or expired codes are ErrNotFound.
	ConsumeCode(ctx context.Context, id string) (AuthCode, error)
}

// UsedCodeMemory is how long after its expiry a used code is still recognised as reused.
const UsedCodeMemory = 10 * time.Minute

// RefreshToken is one token of a refresh-token family. Rotation replaces a token by the next
// of its family; using a replaced token again revokes the family. The token itself is never
// stored: ID is its SHA-256 (hex).
type RefreshToken struct {
	ID       string
	FamilyID string
	UserID   string
	ClientID string
	Audience string
	Scope    string
	// SessionID is the SSO session the family was issued in ("" for none).
	SessionID string
	AuthTime  time.Time

	CreatedAt time.Time
	// ExpiresAt is the family's absolute end (zero: never); rotation does not extend it.
	ExpiresAt time.Time
	// IdleExpiresAt is when the token lapses unless used (zero: never).
	IdleExpiresAt time.Time
	// RotatedAt is when the token was exchanged for the next one (zero: not yet).
	RotatedAt time.Time
}

// RefreshTokens stores refresh tokens (durable).
type RefreshTokens interface {
	// CreateRefreshToken stores t. ErrAlreadyExists when the id is taken.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// GetRefreshToken returns the token, rotated or not; ErrNotFound when unknown or revoked.
	// Expiry is the caller's to check.
	GetRefreshToken(ctx context.Context, id string) (RefreshToken, error)
	// RotateRefreshToken sets the RotatedAt of token oldID to at and stores next, atomically,
	// only if oldID has not been rotated before: ErrConflict when it has (nothing is stored),
	// ErrNotFound when oldID is unknown or revoked.
	RotateRefreshToken(ctx context.Context, oldID string, at time.Time, next RefreshToken) error
	// RevokeRefreshTokenFamily deletes every token of the family and says how many.
	RevokeRefreshTokenFamily(ctx context.Context, familyID string) (int, error)
	// RevokeUserRefreshTokens deletes every token of the user and says how many.
	RevokeUserRefreshTokens(ctx context.Context, userID string) (int, error)
	// DeleteExpiredRefreshTokens deletes tokens past ExpiresAt or IdleExpiresAt and says how
	// many.
	DeleteExpiredRefreshTokens(ctx context.Context, now time.Time) (int, error)
}
