// Package flow holds latch's use cases — signup, password login, client credentials,
// userinfo — with no HTTP in them. Handlers translate requests into calls here and the
// errors returned here into the error shape of their endpoint.
package flow

import (
	"cmp"
	"log/slog"
	"net/netip"
	"time"

	"github.com/latchauth/latch/internal/memo"
	"github.com/latchauth/latch/mail"
	"github.com/latchauth/latch/metrics"
	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/tokens"
)

// DefaultConnection is the database connection created at first start, and the one the
// plain password grant uses when no realm is given.
const DefaultConnection = "Username-Password-Authentication"

// Token lifetimes (AUTH0-COMPAT §1.3).
const (
	DefaultIDTokenLifetime     = 36000 * time.Second
	DefaultAccessTokenLifetime = 86400 * time.Second
)

// Grant type names as clients send them and as client records list them.
const (
	GrantPassword          = "password"
	GrantPasswordRealm     = "http://auth0.com/oauth/grant-type/password-realm"
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantImplicit          = "implicit"
)

// Service runs the use cases. Build it with New.
type Service struct {
	users         storage.Users
	passwords     storage.Passwords
	clients       storage.Clients
	grants        storage.ClientGrants
	connections   storage.Connections
	issuances     storage.Grants
	ruleStore     storage.Rules
	ruleConfigs   storage.RulesConfigs
	actionStore   storage.Actions
	refreshTokens storage.RefreshTokens
	shortLived    storage.ShortLived
	browser       BrowserSettings

	hasher *password.Hasher
	issuer *tokens.Issuer
	// issuerURL ends with "/"; audiences are derived from it.
	issuerURL string
	log       *slog.Logger
	now       func() time.Time

	sealer     *tokens.Sealer
	rules      rules.Runner
	ruleLimits rules.Limits
	metrics    *metrics.Metrics
	failures   storage.LoginFailures
	hashGate   *password.Gate
	// allowlist is exempt from brute-force protection and IP throttling.
	allowlist []netip.Prefix

	// postRegistrationSlots bounds the post-user-registration runs in flight.
	postRegistrationSlots chan struct{}

	// recentGrants remembers grants by id. Grants never change once written, so /userinfo
	// can answer from memory for a token it has seen or issued.
	recentGrants *memo.Map[string, storage.Grant]
	// enabledRules caches what EnabledRules loads; this Service's rule writes invalidate it.
	enabledRules ruleCache
	// boundActionSets caches each trigger's bound actions; this Service's action writes
	// invalidate them.
	boundActionSets actionCaches
	// corsOrigins caches the origins clients allow; this Service's client writes drop it.
	corsOrigins originSet
	// changes carries change notices to the other instances (changes.go); nil for one.
	changes storage.Changes
	// settings keeps tenant-wide settings (nil: the defaults, fixed); attack caches the
	// attack-protection settings (attack_protection.go).
	settings storage.Settings
	attack   attackCache

	// events queues auth events for the store (events.go); eventRetention is how long
	// PruneEvents keeps them.
	events         *eventLog
	eventStore     storage.Events
	eventRetention time.Duration

	// jobs and imports keep Management API jobs (nil: the store has none); jobWake wakes
	// this instance's runner; instance names this process in the jobs it runs.
	jobs        storage.Jobs
	imports     storage.UserImports
	jobSettings JobSettings
	jobWake     chan struct{}
	instance    string

	// email runs the account lifecycle by email (email_service.go).
	email *emailFlows
	// console says who may use the admin console, and consoleApp is its built-in client
	// (console.go).
	console    ConsoleSettings
	consoleApp storage.Client
}

// maxPostRegistrationRuns bounds the post-user-registration pipelines running at once.
const maxPostRegistrationRuns = 64

// recentGrantsSize bounds the grants remembered (each holds its custom claims, ≤ 100 KB
// and typically a few hundred bytes).
const recentGrantsSize = 4096

// Deps is what the use cases need.
type Deps struct {
	Store storage.Store
	// ShortLived holds logins in progress, sessions and codes.
	ShortLived storage.ShortLived
	// Browser sets the lifetimes of browser logins; zero fields take the defaults.
	Browser BrowserSettings
	Hasher  *password.Hasher
	Issuer  *tokens.Issuer
	// IssuerURL ends with "/".
	IssuerURL string
	// Sealer seals secrets at rest (rules-configs values).
	Sealer *tokens.Sealer
	// Rules runs rules and actions; nil runs none.
	Rules rules.Runner
	// RuleLimits bound each pipeline run.
	RuleLimits rules.Limits
	// HashGate bounds the bcrypt computations running at once; nil leaves them unbounded.
	HashGate *password.Gate
	// Failures counts failed logins for brute-force protection; nil turns it off.
	Failures storage.LoginFailures
	// Allowlist holds the addresses that brute-force protection and suspicious-IP
	// throttling leave alone (trusted networks, load tests).
	Allowlist []netip.Prefix
	// Metrics records outcomes and rule timings; nil records nothing.
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// EventRetention is how long auth events are kept (PruneEvents); 0 means
	// DefaultEventRetention.
	EventRetention time.Duration
	// EventQueue bounds the auth events waiting to be written; 0 means 10 000. Past it,
	// events are dropped (and counted) rather than slowing logins down.
	EventQueue int
	// Settings keeps tenant-wide settings (attack protection); nil keeps the defaults.
	Settings storage.Settings
	// Jobs and Imports keep user import and export jobs; nil turns the jobs API off.
	Jobs    storage.Jobs
	Imports storage.UserImports
	// JobSettings tunes the jobs; zero fields take the defaults.
	JobSettings JobSettings
	// Mail delivers email (a *mail.Queue, so that no request waits for a mail server),
	// MailTemplates renders it and Tickets keeps the secrets of its links. Without all three
	// latch sends no email, and the endpoints that need it say so.
	Mail          mail.Sender
	MailTemplates *mail.Templates
	Tickets       storage.Tickets
	// Email tunes the email flows; zero fields take the defaults.
	Email EmailSettings
	// Console says who may use the admin console; zero fields take the defaults.
	Console ConsoleSettings
}

// New builds the service.
func New(d Deps) *Service {
	store := d.Store
	s := &Service{
		users: store, passwords: store, clients: store, grants: store, connections: store, issuances: store,
		ruleStore: store, ruleConfigs: store, actionStore: store, refreshTokens: store,
		shortLived: d.ShortLived, browser: withBrowserDefaults(d.Browser),
		hasher: d.Hasher, issuer: d.Issuer, issuerURL: d.IssuerURL, log: d.Log, now: storage.Now,
		sealer: d.Sealer, rules: traced(d.Rules), ruleLimits: d.RuleLimits, metrics: d.Metrics, failures: d.Failures,
		hashGate: d.HashGate, allowlist: d.Allowlist,
		recentGrants:          memo.New[string, storage.Grant](recentGrantsSize),
		postRegistrationSlots: make(chan struct{}, maxPostRegistrationRuns),
		events:                newEventLog(store, store, store, d.Metrics, d.Log, eventLogOptions{queue: d.EventQueue}),
		eventStore:            store,
		eventRetention:        cmp.Or(d.EventRetention, DefaultEventRetention),
		settings:              d.Settings,
		jobs:                  d.Jobs,
		imports:               d.Imports,
		jobSettings:           withJobDefaults(d.JobSettings),
		jobWake:               make(chan struct{}, 1),
		instance:              storage.NewOpaqueToken()[:16],
		email:                 newEmailFlows(d),
		console:               withConsoleDefaults(d.Console),
	}
	s.consoleApp = consoleClient(d.IssuerURL)
	return s
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// ManagementAudience is the Management API's identifier: "<issuer>api/v2/".
func (s *Service) ManagementAudience() string { return s.issuerURL + "api/v2/" }

// UserinfoAudience is the audience of access tokens good for /userinfo.
func (s *Service) UserinfoAudience() string { return s.issuerURL + "userinfo" }

// withBrowserDefaults fills in the zero fields of b.
func withBrowserDefaults(b BrowserSettings) BrowserSettings {
	d := DefaultBrowserSettings()
	for _, f := range []struct{ v, def *time.Duration }{
		{&b.TransactionLifetime, &d.TransactionLifetime}, {&b.CodeLifetime, &d.CodeLifetime},
		{&b.SessionIdle, &d.SessionIdle}, {&b.SessionLifetime, &d.SessionLifetime},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return b
}
