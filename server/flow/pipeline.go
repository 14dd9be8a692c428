package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/tokens"
)

// ErrRuleFailed: a rule or action failed (threw, timed out, ran out of memory). The
// details go to the log; the client learns only that the login could not complete.
var ErrRuleFailed = errors.New("a rule failed")

// ErrClaimsTooLarge: the rules set more custom claims than a token may carry.
var ErrClaimsTooLarge = errors.New("custom claims exceed the size limit")

// loginInput is what the post-login pipeline is told about a login.
type loginInput struct {
	user       storage.User // with this login's counters applied
	client     storage.Client
	connection storage.Connection
	protocol   string
	scopes     []string
	audience   string
	request    rules.HTTPRequest
}

// loginDecision is what the pipeline decided for a login that may go ahead.
type loginDecision struct {
	writes   []rules.MetadataWrite
	idClaims map[string]any // filtered by the claim policy
	atClaims map[string]any // filtered by the claim policy
	// scopes replaces the granted scopes when not nil.
	scopes []string
}

// runPostLogin runs the enabled rules and post-login actions. A denial comes back as a
// *DeniedError, a failure as ErrRuleFailed; either way nothing is to be saved.
func (s *Service) runPostLogin(ctx context.Context, in loginInput) (loginDecision, error) {
	if in.client.ID == ConsoleClientID {
		return s.consoleDecision(in)
	}
	scripts, configuration, err := s.postLoginScripts(ctx)
	if err != nil {
		return loginDecision{}, err
	}
	if len(scripts) == 0 || s.rules == nil {
		return loginDecision{}, nil
	}
	resp, err := s.rules.Run(ctx, s.postLoginRequest(in, scripts, configuration))
	if err != nil {
		return loginDecision{}, fmt.Errorf("run rules: %w", err)
	}
	s.logPipeline(ctx, in, resp)
	traceOf(ctx).notePipeline(in.connection, resp)
	d, _, err := s.decide(ctx, in, resp)
	return d, err
}

// postLoginRequest describes a login to the pipeline.
func (s *Service) postLoginRequest(in loginInput, scripts []rules.Script, configuration map[string]string) rules.Request {
	return rules.Request{
		Trigger:       rules.TriggerPostLogin,
		Scripts:       scripts,
		User:          in.user,
		Configuration: configuration,
		Limits:        s.ruleLimits,
		Context: rules.Context{
			Issuer:             s.issuerURL,
			ClientID:           in.client.ID,
			ClientName:         in.client.Name,
			ClientMetadata:     in.client.ClientMetadata,
			ConnectionID:       in.connection.ID,
			Connection:         in.connection.Name,
			ConnectionStrategy: in.connection.Strategy,
			Protocol:           in.protocol,
			Scopes:             in.scopes,
			Audience:           in.audience,
			LoginsCount:        in.user.LoginsCount,
			Request:            in.request,
			AuthenticationMethods: []rules.AuthenticationMethod{
				{Name: "pwd", Timestamp: in.user.LastLogin},
			},
		},
	}
}

// decide turns the pipeline's response into what the login does: go ahead with these
// writes and claims, or stop with a denial or a failure. dropped names the claims the claim
// policy removed.
func (s *Service) decide(ctx context.Context, in loginInput, resp rules.Response) (d loginDecision, dropped []string, err error) {
	switch resp.Outcome {
	case rules.OutcomeOK:
	case rules.OutcomeDenied:
		code, msg := "access_denied", "Access denied"
		if resp.Denial != nil {
			if resp.Denial.Code != "" {
				code = resp.Denial.Code
			}
			if resp.Denial.Message != "" {
				msg = resp.Denial.Message
			}
		}
		return loginDecision{}, nil, &DeniedError{Code: code, Message: msg}
	default:
		if resp.Error != nil {
			return loginDecision{}, nil, fmt.Errorf("%w: %s (%s): %s", ErrRuleFailed, resp.Error.Name, resp.Error.Kind, resp.Error.Message)
		}
		return loginDecision{}, nil, ErrRuleFailed
	}

	d = loginDecision{writes: resp.MetadataWrites, scopes: grantedScopes(in.scopes, resp)}
	var droppedID, droppedAT []string
	d.idClaims, droppedID = tokens.FilterCustomClaims(resp.IDTokenClaims, in.scopes)
	d.atClaims, droppedAT = tokens.FilterCustomClaims(resp.AccessTokenClaims, in.scopes)
	for _, k := range droppedID {
		dropped = append(dropped, "id_token:"+k)
	}
	for _, k := range droppedAT {
		dropped = append(dropped, "access_token:"+k)
	}
	if len(dropped) > 0 {
		s.log.WarnContext(ctx, "rules set claims that were dropped", "user_id", in.user.ID, "client_id", in.client.ID,
			"claims", strings.Join(dropped, ","))
	}
	if tokens.CustomClaimsSize(d.idClaims) > tokens.MaxCustomClaimsBytes || tokens.CustomClaimsSize(d.atClaims) > tokens.MaxCustomClaimsBytes {
		return loginDecision{}, dropped, ErrClaimsTooLarge
	}
	for _, w := range d.writes {
		if err := checkRuleMetadataWrite(w); err != nil {
			return loginDecision{}, dropped, fmt.Errorf("%w: %v", ErrRuleFailed, err)
		}
	}
	return d, dropped, nil
}

// checkRuleMetadataWrite applies the storage rules to what a script asked to save: no "."
// or "$" in keys, no reserved app_metadata keys.
func checkRuleMetadataWrite(w rules.MetadataWrite) error {
	switch w.Field {
	case rules.FieldUserMetadata:
		return storage.CheckMetadataKeys(w.Patch)
	case rules.FieldAppMetadata:
		return storage.CheckAppMetadata(w.Patch)
	default:
		return fmt.Errorf("unknown metadata field %q", w.Field)
	}
}

// applyMetadataWrites merges the writes into the user, in the order the scripts made them.
func applyMetadataWrites(u *storage.User, writes []rules.MetadataWrite) {
	for _, w := range writes {
		switch w.Field {
		case rules.FieldUserMetadata:
			u.UserMetadata = storage.MergeMetadata(u.UserMetadata, w.Patch)
		case rules.FieldAppMetadata:
			u.AppMetadata = storage.MergeMetadata(u.AppMetadata, w.Patch)
		}
	}
}

// logPipeline records every script's outcome and time, and what the scripts printed, with
// the request's context (the request id travels in ctx through the logger's handler).
func (s *Service) logPipeline(ctx context.Context, in loginInput, resp rules.Response) {
	attrs := []slog.Attr{
		slog.String("user_id", in.user.ID), slog.String("client_id", in.client.ID),
		slog.String("outcome", resp.Outcome), slog.Duration("duration", resp.Duration),
	}
	for _, t := range resp.Timings {
		attrs = append(attrs, slog.Group("script", slog.String("id", t.ScriptID), slog.String("name", t.Name),
			slog.String("outcome", t.Outcome), slog.Duration("duration", t.Duration)))
	}
	if resp.Error != nil {
		attrs = append(attrs, slog.String("error", resp.Error.Kind+": "+resp.Error.Message), slog.String("failed_script", resp.Error.Name))
	}
	if len(resp.Console) > 0 {
		attrs = append(attrs, slog.Any("console", resp.Console))
	}
	for _, t := range resp.Timings {
		s.metrics.Rule(t.Name, t.Outcome, t.Duration)
	}
	s.metrics.Pipeline(rules.TriggerPostLogin, resp.Outcome, resp.Duration)
	level := slog.LevelInfo
	if resp.Outcome == rules.OutcomeError {
		level = slog.LevelWarn
	}
	s.log.LogAttrs(ctx, level, "rules ran", attrs...)
}

// grantedScopes is what the access token grants after the scripts: the requested scopes, or
// the list a rule set (context.accessToken.scope), then the actions' addScope and
// removeScope. nil means unchanged.
func grantedScopes(requested []string, resp rules.Response) []string {
	if resp.AccessTokenScopes == nil && len(resp.AccessTokenScopesAdded) == 0 && len(resp.AccessTokenScopesRemoved) == 0 {
		return nil
	}
	base := requested
	if resp.AccessTokenScopes != nil {
		base = resp.AccessTokenScopes
	}
	out := make([]string, 0, len(base)+len(resp.AccessTokenScopesAdded))
	for _, sc := range append(append([]string(nil), base...), resp.AccessTokenScopesAdded...) {
		if !tokens.HasScope(out, sc) && !tokens.HasScope(resp.AccessTokenScopesRemoved, sc) {
			out = append(out, sc)
		}
	}
	return out
}
