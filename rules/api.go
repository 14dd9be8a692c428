// Package rules runs admin-authored JavaScript at login and signup: Auth0 Rules
// (`function (user, context, callback)`) and Auth0 Actions (`exports.onExecutePostLogin`,
// pre- and post-user-registration), on goja.
//
// It is data in, data out: a Request names the scripts and the inputs, a Response says what
// the scripts decided (deny, claims, metadata writes) and what they printed. It does no
// storage calls and knows nothing of HTTP; the caller persists what the Response asks for.
// Every type here is JSON-serializable, so that a Request can cross a process boundary to a
// sandboxed worker and its Response come back (rules/sandbox).
package rules

import (
	"context"
	"strconv"
	"time"

	"github.com/latchauth/latch/storage"
)

// Script kinds.
const (
	KindRule   = "rule"   // function (user, context, callback) {...}
	KindAction = "action" // exports.onExecute<Trigger> = async (event, api) => {...}
)

// Triggers: when a pipeline runs.
const (
	TriggerPostLogin            = "post-login"
	TriggerPreUserRegistration  = "pre-user-registration"
	TriggerPostUserRegistration = "post-user-registration"
)

// Script is one rule or action, as stored.
type Script struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Version identifies the source (e.g. a hash of it); compiled programs are cached by it.
	Version string `json:"version"`
	Source  string `json:"source"`
}

// Limits bound one pipeline run.
type Limits struct {
	Pipeline  time.Duration `json:"pipeline"`   // whole run; default 20 s
	PerScript time.Duration `json:"per_script"` // each script; default 5 s
	// MaxConsoleBytes caps what console.* output is kept (the rest is dropped and counted).
	MaxConsoleBytes int `json:"max_console_bytes"`
	// AllowedHosts are the host names (or "*.example.com" suffixes) that outbound HTTP may
	// reach; empty means no outbound HTTP at all.
	AllowedHosts []string `json:"allowed_hosts"`
	// AllowPrivateNetworks lets outbound HTTP reach loopback, private and link-local
	// addresses (tests and trusted deployments only).
	AllowPrivateNetworks bool `json:"allow_private_networks"`
}

// DefaultLimits are Auth0's: 20 s for the whole pipeline.
func DefaultLimits() Limits {
	return Limits{Pipeline: 20 * time.Second, PerScript: 5 * time.Second, MaxConsoleBytes: 16 << 10}
}

// Request is one pipeline run.
type Request struct {
	Trigger string `json:"trigger"`
	// Scripts run in this order: the enabled rules by ascending order, then the actions
	// bound to the trigger. Rules only run on TriggerPostLogin.
	Scripts []Script `json:"scripts"`
	// User is the profile as stored, before this login's changes (for pre-user-registration,
	// the user about to be created, without an id).
	User    storage.User `json:"user"`
	Context Context      `json:"context"`
	// Configuration is the rules-configs map (rules' `configuration`, actions' `event.secrets`).
	Configuration map[string]string `json:"configuration"`
	Limits        Limits            `json:"limits"`
}

// Context is what the login knows about itself (AUTH0-COMPAT §3.4, §4).
type Context struct {
	Tenant             string            `json:"tenant"`
	Issuer             string            `json:"issuer"` // "<issuer>" with trailing slash; auth0.domain derives from it
	ClientID           string            `json:"client_id"`
	ClientName         string            `json:"client_name"`
	ClientMetadata     map[string]string `json:"client_metadata"`
	ConnectionID       string            `json:"connection_id"`
	Connection         string            `json:"connection"`
	ConnectionStrategy string            `json:"connection_strategy"`
	// Protocol is e.g. oauth2-password, oauth2-resource-owner, oidc-basic-profile,
	// oauth2-refresh-token, redirect-callback.
	Protocol    string      `json:"protocol"`
	Scopes      []string    `json:"scopes"`   // requested
	Audience    string      `json:"audience"` // requested API
	SessionID   string      `json:"session_id"`
	LoginsCount int64       `json:"logins_count"` // including this login
	Request     HTTPRequest `json:"request"`
	// AuthenticationMethods e.g. [{name:"pwd", timestamp: <ms>}].
	AuthenticationMethods []AuthenticationMethod `json:"authentication_methods"`
}

// HTTPRequest describes the end user's request.
type HTTPRequest struct {
	IP        string            `json:"ip"`
	UserAgent string            `json:"user_agent"`
	Hostname  string            `json:"hostname"`
	Method    string            `json:"method"`
	Language  string            `json:"language"`
	Query     map[string]string `json:"query"`
	Body      map[string]string `json:"body"` // secrets (password, client_secret) removed
	Geoip     map[string]any    `json:"geoip"`
}

// AuthenticationMethod is one way the user authenticated.
type AuthenticationMethod struct {
	Name      string    `json:"name"`
	Timestamp time.Time `json:"timestamp"`
}

// Outcomes of a pipeline.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied" // a script denied the login on purpose
	OutcomeError  = "error"  // a script failed: threw, timed out, ran out of memory, never called back
)

// Response is what the pipeline decided. On OutcomeDenied and OutcomeError nothing must be
// persisted and no token issued.
type Response struct {
	Outcome string `json:"outcome"`
	// Denial is set with OutcomeDenied. Code is "unauthorized" for UnauthorizedError and
	// "access_denied" otherwise (AUTH0-COMPAT §2.3).
	Denial *Denial `json:"denial,omitempty"`
	// Error is set with OutcomeError: which script, and a message fit for the admin's log
	// (not for the end user).
	Error *ScriptError `json:"error,omitempty"`

	// MetadataWrites are the metadata updates the scripts asked to persist, in the order they
	// asked; each is a top-level merge patch (null deletes a key, {} clears the object).
	MetadataWrites []MetadataWrite `json:"metadata_writes,omitempty"`
	// IDTokenClaims and AccessTokenClaims are the custom claims the scripts set, unfiltered:
	// the caller applies the claim policy (tokens.FilterCustomClaims) and the size limit.
	IDTokenClaims     map[string]any `json:"id_token_claims,omitempty"`
	AccessTokenClaims map[string]any `json:"access_token_claims,omitempty"`
	// AccessTokenScopes, when non-nil, replaces the granted scopes (context.accessToken.scope).
	AccessTokenScopes []string `json:"access_token_scopes,omitempty"`
	// AccessTokenScopesAdded and AccessTokenScopesRemoved are the actions'
	// api.accessToken.addScope / removeScope, to apply after AccessTokenScopes (or to the
	// granted scopes when it is nil). A scope is in at most one of them (the last call wins).
	AccessTokenScopesAdded   []string       `json:"access_token_scopes_added,omitempty"`
	AccessTokenScopesRemoved []string       `json:"access_token_scopes_removed,omitempty"`
	Console                  []string       `json:"console,omitempty"`
	Timings                  []ScriptTiming `json:"timings"`
	Duration                 time.Duration  `json:"duration"`
}

// Denial is a deliberate refusal.
type Denial struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// UserMessage is shown to the end user where a script gave one (pre-user-registration).
	UserMessage string `json:"user_message,omitempty"`
	ScriptID    string `json:"script_id"`
}

// ScriptError is a script that failed.
type ScriptError struct {
	ScriptID string `json:"script_id"`
	Name     string `json:"name"`
	// Kind is "exception", "timeout", "memory", "no_callback", "invalid_result", "internal".
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Metadata fields a write may target.
const (
	FieldUserMetadata = "user_metadata"
	FieldAppMetadata  = "app_metadata"
)

// MetadataWrite is one metadata update a script asked to persist.
type MetadataWrite struct {
	Field string           `json:"field"`
	Patch storage.Metadata `json:"patch"`
}

// ScriptTiming says how one script went.
type ScriptTiming struct {
	ScriptID string        `json:"script_id"`
	Name     string        `json:"name"`
	Outcome  string        `json:"outcome"`
	Duration time.Duration `json:"duration"`
}

// SyntaxError is a script that does not compile, with its position (1-based).
type SyntaxError struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func (e *SyntaxError) Error() string {
	return "syntax error at line " + strconv.Itoa(e.Line) + ", column " + strconv.Itoa(e.Column) + ": " + e.Message
}

// Runner runs pipelines. The in-process Engine implements it, and so does the sandboxed
// worker pool; callers depend on this interface.
type Runner interface {
	Run(ctx context.Context, req Request) (Response, error)
}
