// Package storage holds latch's domain types, the small per-resource interfaces that every
// backend implements, and the sentinel errors they return.
//
// The contract every backend keeps:
//   - Errors are the sentinels below, wrapped with %w; callers compare with errors.Is.
//   - Times are stored and returned in UTC, truncated to milliseconds (the precision of
//     Auth0's ISO-8601 timestamps).
//   - Update methods take an updater function. A backend may call it more than once (for
//     example when a compare-and-swap loses a race), so it must have no side effects
//     beyond computing the new value. Returning an error from it aborts the update and the
//     error is returned unchanged.
//   - Each method is atomic on its own; nothing spans two calls.
//   - Values returned are copies: changing them never changes the store.
//   - The store never fills in CreatedAt or UpdatedAt; callers set them.
//   - An updater must not call the store (an embedded backend may hold its only write
//     connection while the updater runs).
//
// Durable state lives behind Store; shared, short-lived state (logins in progress, sessions,
// authorization codes, counters) behind ShortLived.
package storage

import (
	"context"
	"errors"
	"time"

	"github.com/latchauth/latch/storage/userquery"
)

// Sentinel errors. Backends wrap them with %w and context.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	ErrConflict      = errors.New("conflict")
	// ErrCodeReused: an authorization code was presented a second time (see AuthCodes).
	ErrCodeReused = errors.New("code already used")
	// ErrUnavailable: the backend cannot be reached right now (a database or Redis that is
	// down); the request may succeed later, with no restart. Backends wrap it.
	ErrUnavailable = errors.New("storage unavailable")
)

// Users stores user profiles. Emails and usernames are unique per connection, compared
// case-insensitively (they are stored lower-cased).
type Users interface {
	// CreateUser stores u with its password hash (empty for users without a password).
	// ErrAlreadyExists when the id, or the email or username within the connection, is taken.
	CreateUser(ctx context.Context, u User, passwordHash string) error
	GetUser(ctx context.Context, id string) (User, error)
	// GetUserByEmail finds the user with this email in one connection.
	GetUserByEmail(ctx context.Context, connection, email string) (User, error)
	// GetUserByUsername finds the user with this username in one connection.
	GetUserByUsername(ctx context.Context, connection, username string) (User, error)
	// ListUsersByEmail finds the users with this email across all connections, oldest first.
	ListUsersByEmail(ctx context.Context, email string) ([]User, error)
	// ListUsers pages through all users, oldest first.
	ListUsers(ctx context.Context, page Page) ([]User, int, error)
	// SearchUsers pages through the users q matches (nil: all), with their total (search.go).
	SearchUsers(ctx context.Context, q userquery.Node, sort UserSort, page Page) ([]User, int, error)
	// UpdateUser replaces the user with what update returns (see the package contract).
	// Changing the email or username to one taken in the connection is ErrAlreadyExists.
	UpdateUser(ctx context.Context, id string, update func(User) (User, error)) (User, error)
	DeleteUser(ctx context.Context, id string) error
}

// Passwords reads and writes password hashes. They are kept apart from User so that a
// hash can never travel with a profile into a response or a log.
type Passwords interface {
	// PasswordHash returns the user's hash; ErrNotFound when the user has none.
	PasswordHash(ctx context.Context, userID string) (string, error)
	SetPasswordHash(ctx context.Context, userID, hash string) error
	// UpdateUserAndPassword applies update to the user (as UpdateUser does) and replaces
	// the password hash, atomically: both change or neither does. hash must not be empty.
	UpdateUserAndPassword(ctx context.Context, userID, hash string, update func(User) (User, error)) (User, error)
}

// Clients stores applications.
type Clients interface {
	CreateClient(ctx context.Context, c Client) error
	GetClient(ctx context.Context, id string) (Client, error)
	ListClients(ctx context.Context, page Page) ([]Client, int, error)
	UpdateClient(ctx context.Context, id string, update func(Client) (Client, error)) (Client, error)
	DeleteClient(ctx context.Context, id string) error
}

// ClientGrants stores which APIs (audiences) a client may call with client_credentials, and
// with which scopes. One grant per (client, audience).
type ClientGrants interface {
	CreateClientGrant(ctx context.Context, g ClientGrant) error
	// GetClientGrant finds the grant of a client for an audience.
	GetClientGrant(ctx context.Context, clientID, audience string) (ClientGrant, error)
	ListClientGrants(ctx context.Context, clientID string) ([]ClientGrant, error)
	DeleteClientGrant(ctx context.Context, id string) error
}

// Connections stores identity sources (database connections for now).
type Connections interface {
	CreateConnection(ctx context.Context, c Connection) error
	GetConnection(ctx context.Context, id string) (Connection, error)
	GetConnectionByName(ctx context.Context, name string) (Connection, error)
	ListConnections(ctx context.Context) ([]Connection, error)
	UpdateConnection(ctx context.Context, id string, update func(Connection) (Connection, error)) (Connection, error)
}

// SigningKeys stores token signing keys. Private parts are stored sealed: the backend sees
// only ciphertext.
type SigningKeys interface {
	// CreateSigningKey stores a key. ErrAlreadyExists when the kid is taken, or when k is
	// current and another key already is: at most one key is current at any time, so
	// instances that race to create the first key settle on one.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// ListSigningKeys returns every key, newest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// UpdateSigningKey changes one key; making it current while another key is current is
	// ErrAlreadyExists.
	UpdateSigningKey(ctx context.Context, kid string, update func(SigningKey) (SigningKey, error)) (SigningKey, error)
}

// Grants stores what each token issuance granted, so that /userinfo can answer with the
// custom claims that the ID token of the same issuance carried.
type Grants interface {
	CreateGrant(ctx context.Context, g Grant) error
	GetGrant(ctx context.Context, id string) (Grant, error)
	// DeleteExpiredGrants removes grants that expired before now and says how many.
	DeleteExpiredGrants(ctx context.Context, now time.Time) (int, error)
	// DeleteUserGrants removes every grant of a user (when the user is deleted).
	DeleteUserGrants(ctx context.Context, userID string) error
}

// Rules stores Auth0 rules (AUTH0-COMPAT §5.5). Names are unique (compared exactly), and
// so are orders within a stage. Rules are few and small enough to list whole.
type Rules interface {
	// CreateRule stores r with the order it carries. ErrAlreadyExists when the id or the
	// name is taken, or another rule of the stage has the order.
	CreateRule(ctx context.Context, r Rule) error
	// AppendRule stores r after every rule of its stage: r.Order is ignored and the rule
	// gets the highest order of the stage plus one (1 for the stage's first rule). Choosing
	// the order and storing the rule are one atomic step, so rules appended concurrently
	// never collide on their order. It returns the rule as stored; ErrAlreadyExists when
	// the id or the name is taken.
	AppendRule(ctx context.Context, r Rule) (Rule, error)
	GetRule(ctx context.Context, id string) (Rule, error)
	// ListRules returns every rule by ascending order (ties, across stages, by id).
	ListRules(ctx context.Context) ([]Rule, error)
	// UpdateRule replaces the rule with what update returns (see the package contract).
	// A name or an order (within the stage) taken by another rule is ErrAlreadyExists.
	UpdateRule(ctx context.Context, id string, update func(Rule) (Rule, error)) (Rule, error)
	DeleteRule(ctx context.Context, id string) error
}

// RulesConfigs stores the rules-configs variables (AUTH0-COMPAT §3.6, §5.6): the
// `configuration` of rules. Values are stored sealed: the backend sees only ciphertext.
type RulesConfigs interface {
	// SetRulesConfig creates the variable or replaces its value.
	SetRulesConfig(ctx context.Context, key string, sealedValue []byte) error
	// ListRulesConfigKeys returns every key, sorted.
	ListRulesConfigKeys(ctx context.Context) ([]string, error)
	// GetRulesConfigs returns every variable, key to sealed value.
	GetRulesConfigs(ctx context.Context) (map[string][]byte, error)
	// DeleteRulesConfig removes a variable; ErrNotFound when there is none by that key.
	DeleteRulesConfig(ctx context.Context, key string) error
}

// Actions stores Auth0 actions and their trigger bindings (AUTH0-COMPAT §4). Names are
// unique (compared exactly). Actions are few and small enough to list whole.
type Actions interface {
	// CreateAction stores a. ErrAlreadyExists when the id or the name is taken.
	CreateAction(ctx context.Context, a Action) error
	GetAction(ctx context.Context, id string) (Action, error)
	// ListActions returns every action, oldest first (ties by id).
	ListActions(ctx context.Context) ([]Action, error)
	// UpdateAction replaces the action with what update returns (see the package contract).
	// A name taken by another action is ErrAlreadyExists.
	UpdateAction(ctx context.Context, id string, update func(Action) (Action, error)) (Action, error)
	// DeleteAction removes the action and every binding of it.
	DeleteAction(ctx context.Context, id string) error
	// SetTriggerBindings replaces the trigger's bindings, atomically, with bindings in the
	// order given: each gets Trigger = trigger and Order = its 1-based position; ID and
	// DisplayName are kept as given. ErrNotFound (and nothing changes) when a binding names
	// an action that does not exist. It returns the bindings as stored.
	SetTriggerBindings(ctx context.Context, trigger string, bindings []ActionBinding) ([]ActionBinding, error)
	// ListTriggerBindings returns the trigger's bindings by ascending order.
	ListTriggerBindings(ctx context.Context, trigger string) ([]ActionBinding, error)
}

// LoginFailures counts failed password logins per (identifier, IP) for brute-force
// protection. It is shared, short-lived state: in process for a single instance (storage/
// inproc), in Redis when instances share it. Identifiers are compared as given (callers
// lower-case them).
type LoginFailures interface {
	// FailureCount is the number of failures recorded for identifier from ip.
	FailureCount(ctx context.Context, identifier, ip string) (int, error)
	// RecordFailure adds one failure and returns the new count; the count lapses ttl after
	// the last failure.
	RecordFailure(ctx context.Context, identifier, ip string, ttl time.Duration) (int, error)
	// ClearFailures forgets identifier's failures from ip, or from every IP when ip is "".
	ClearFailures(ctx context.Context, identifier, ip string) error
	// BlockedIPs lists the IPs from which identifier has at least threshold failures.
	BlockedIPs(ctx context.Context, identifier string, threshold int) ([]string, error)
}

// Store is everything durable. Consumers should depend on the small interfaces above.
type Store interface {
	Users
	Passwords
	Clients
	ClientGrants
	Connections
	SigningKeys
	Grants
	Rules
	RulesConfigs
	Actions
	RefreshTokens
	Events
	// Ping says whether the store is reachable (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// ShortLived is the shared, short-lived state: in-process for one instance (storage/inproc),
// in Redis when several instances share it.
type ShortLived interface {
	LoginTransactions
	Sessions
	AuthCodes
	LoginFailures
	RateLimits
}

// Page selects a slice of a list: Page is 0-based, PerPage > 0.
type Page struct {
	Page    int
	PerPage int
}

// Offset is the number of items before the page.
func (p Page) Offset() int { return p.Page * p.PerPage }

// Now is the store's notion of the current instant: UTC, milliseconds.
func Now() time.Time { return Time(time.Now()) }

// Time normalises t to what every backend stores: UTC, truncated to milliseconds.
func Time(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Millisecond)
}
