package flow

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/tokens"
)

// DryRunRequest asks what a login of a real user to a real client would do with the rules
// as they are, or with one rule replaced by a draft — without saving or issuing anything.
type DryRunRequest struct {
	UserID   string
	ClientID string
	Scope    string // default "openid profile email"
	Audience string
	// Draft runs in place of the rule with its ID, or after the rules when it has no ID.
	Draft *DraftRule
}

// DraftRule is a rule that is not saved.
type DraftRule struct {
	ID     string
	Name   string
	Script string
}

// DryRunResult is everything a dry run shows.
type DryRunResult struct {
	Outcome       string               `json:"outcome"`
	Denial        *rules.Denial        `json:"denial,omitempty"`
	Error         *rules.ScriptError   `json:"error,omitempty"`
	IDToken       map[string]any       `json:"id_token,omitempty"`
	AccessToken   map[string]any       `json:"access_token,omitempty"`
	Userinfo      map[string]any       `json:"userinfo,omitempty"`
	UserMetadata  MetadataDiff         `json:"user_metadata"`
	AppMetadata   MetadataDiff         `json:"app_metadata"`
	DroppedClaims []string             `json:"dropped_claims,omitempty"`
	Console       []string             `json:"console"`
	Timings       []rules.ScriptTiming `json:"timings"`
	DurationMS    float64              `json:"duration_ms"`
}

// MetadataDiff shows a metadata object before and after the writes the rules asked for.
type MetadataDiff struct {
	Before  storage.Metadata `json:"before"`
	After   storage.Metadata `json:"after"`
	Changed bool             `json:"changed"`
}

// Errors of a dry run's inputs.
var (
	ErrDryRunUser   = errors.New("the user does not exist")
	ErrDryRunClient = errors.New("the client does not exist")
)

// DryRun runs the post-login pipeline for a user and a client and reports what a login
// would issue and save. It saves nothing: no login is counted, no metadata written.
func (s *Service) DryRun(ctx context.Context, req DryRunRequest) (DryRunResult, error) {
	u, err := s.users.GetUser(ctx, req.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		return DryRunResult{}, ErrDryRunUser
	}
	if err != nil {
		return DryRunResult{}, err
	}
	c, err := s.clients.GetClient(ctx, req.ClientID)
	if errors.Is(err, storage.ErrNotFound) {
		return DryRunResult{}, ErrDryRunClient
	}
	if err != nil {
		return DryRunResult{}, err
	}
	conn, err := s.connections.GetConnectionByName(ctx, u.Connection)
	if err != nil {
		return DryRunResult{}, fmt.Errorf("connection of user: %w", err)
	}
	audience, err := s.userAudience(c, req.Audience)
	if err != nil {
		return DryRunResult{}, err
	}
	scripts, configuration, err := s.EnabledRules(ctx)
	if err != nil {
		return DryRunResult{}, err
	}
	if req.Draft != nil {
		if err := rules.Check(rules.KindRule, req.Draft.Script); err != nil {
			return DryRunResult{}, err
		}
		scripts = withDraft(scripts, *req.Draft)
	}
	scope := req.Scope
	if scope == "" {
		scope = "openid profile email"
	}
	now := s.now()
	in := loginInput{
		user: countLogin(u, now, ""), client: c, connection: conn, protocol: "oauth2-password",
		scopes: tokens.ParseScope(scope), audience: audience,
		request: rules.HTTPRequest{Query: map[string]string{}, Body: map[string]string{}, Geoip: map[string]any{}},
	}
	out := DryRunResult{
		UserMetadata: MetadataDiff{Before: u.UserMetadata, After: u.UserMetadata},
		AppMetadata:  MetadataDiff{Before: u.AppMetadata, After: u.AppMetadata},
		Console:      []string{}, Timings: []rules.ScriptTiming{},
	}
	resp := rules.Response{Outcome: rules.OutcomeOK}
	if len(scripts) > 0 && s.rules != nil {
		if resp, err = s.rules.Run(ctx, s.postLoginRequest(in, scripts, configuration)); err != nil {
			return DryRunResult{}, fmt.Errorf("run rules: %w", err)
		}
	}
	out.Outcome, out.Denial, out.Error = resp.Outcome, resp.Denial, resp.Error
	out.Console, out.Timings = append(out.Console, resp.Console...), append(out.Timings, resp.Timings...)
	out.DurationMS = float64(resp.Duration.Microseconds()) / 1000

	d, dropped, err := s.decide(ctx, in, resp)
	out.DroppedClaims = dropped
	if err != nil {
		var den *DeniedError
		if !errors.As(err, &den) && !errors.Is(err, ErrRuleFailed) && !errors.Is(err, ErrClaimsTooLarge) {
			return DryRunResult{}, err
		}
		if errors.Is(err, ErrClaimsTooLarge) {
			out.Outcome = rules.OutcomeError
			out.Error = &rules.ScriptError{Kind: "invalid_result", Message: err.Error()}
		}
		return out, nil
	}
	after := in.user
	applyMetadataWrites(&after, d.writes)
	out.UserMetadata.After, out.AppMetadata.After = after.UserMetadata, after.AppMetadata
	out.UserMetadata.Changed = !reflect.DeepEqual(map[string]any(u.UserMetadata), map[string]any(after.UserMetadata))
	out.AppMetadata.Changed = !reflect.DeepEqual(map[string]any(u.AppMetadata), map[string]any(after.AppMetadata))

	tc := s.buildTokenClaims(issuance{
		user: after, client: c, scopes: in.scopes, audience: audience, grantType: GrantPasswordRealm, grantID: "dry-run", decision: d,
	}, now)
	out.AccessToken, out.IDToken = tc.access, tc.id
	if tokens.HasScope(in.scopes, "openid") {
		out.Userinfo = userinfoClaims(after, in.scopes, tc.custom)
	}
	return out, nil
}

// withDraft puts the draft in place of the rule with its ID, or last.
func withDraft(scripts []rules.Script, d DraftRule) []rules.Script {
	draft := rules.Script{ID: d.ID, Name: d.Name, Kind: rules.KindRule, Version: "draft:" + scriptVersion(d.Script), Source: d.Script}
	if draft.ID == "" {
		draft.ID = "draft"
	}
	if draft.Name == "" {
		draft.Name = "draft"
	}
	for i, s := range scripts {
		if d.ID != "" && s.ID == d.ID {
			out := append([]rules.Script(nil), scripts...)
			out[i] = draft
			return out
		}
	}
	return append(append([]rules.Script(nil), scripts...), draft)
}
