package flow

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
)

// registrationRequest describes a signup to the pre- and post-user-registration actions.
func (s *Service) registrationRequest(trigger string, scripts []rules.Script, configuration map[string]string, u storage.User, signup SignupRequest, conn storage.Connection) rules.Request {
	return rules.Request{
		Trigger: trigger, Scripts: scripts, User: u, Configuration: configuration, Limits: s.ruleLimits,
		Context: rules.Context{
			Issuer: s.issuerURL, ClientID: signup.ClientID, ConnectionID: conn.ID, Connection: conn.Name,
			ConnectionStrategy: conn.Strategy, Protocol: "oauth2-password", Request: signup.Request,
		},
	}
}

// runPreRegistration runs the pre-user-registration actions on the user about to be
// created and applies the metadata they set. A denial is a *SignupDeniedError; a failure is
// ErrRuleFailed (the details go to the log only).
func (s *Service) runPreRegistration(ctx context.Context, u *storage.User, signup SignupRequest, conn storage.Connection) error {
	if s.rules == nil {
		return nil
	}
	scripts, err := s.boundActions(ctx, rules.TriggerPreUserRegistration)
	if err != nil || len(scripts) == 0 {
		return err
	}
	_, configuration, err := s.EnabledRules(ctx)
	if err != nil {
		return err
	}
	candidate := *u
	candidate.ID = "" // Auth0's event.user has no id yet
	resp, err := s.rules.Run(ctx, s.registrationRequest(rules.TriggerPreUserRegistration, scripts, configuration, candidate, signup, conn))
	if err != nil {
		return fmt.Errorf("run pre-user-registration actions: %w", err)
	}
	s.logRegistration(ctx, rules.TriggerPreUserRegistration, "", signup.ClientID, resp)
	switch resp.Outcome {
	case rules.OutcomeOK:
	case rules.OutcomeDenied:
		d := &SignupDeniedError{Code: "invalid_signup", Message: "Signup denied"}
		if resp.Denial != nil {
			if resp.Denial.Code != "" {
				d.Code = resp.Denial.Code
			}
			if resp.Denial.UserMessage != "" {
				d.Message = resp.Denial.UserMessage
			} else if resp.Denial.Message != "" {
				d.Message = resp.Denial.Message
			}
		}
		return d
	default:
		if resp.Error != nil {
			return fmt.Errorf("%w: %s (%s): %s", ErrRuleFailed, resp.Error.Name, resp.Error.Kind, resp.Error.Message)
		}
		return ErrRuleFailed
	}
	for _, w := range resp.MetadataWrites {
		if err := checkRuleMetadataWrite(w); err != nil {
			return fmt.Errorf("%w: %v", ErrRuleFailed, err)
		}
	}
	applyMetadataWrites(u, resp.MetadataWrites)
	if err := checkMetadataDepth("user_metadata", u.UserMetadata); err != nil {
		return fmt.Errorf("%w: %v", ErrRuleFailed, err)
	}
	if err := checkMetadataDepth("app_metadata", u.AppMetadata); err != nil {
		return fmt.Errorf("%w: %v", ErrRuleFailed, err)
	}
	return nil
}

// startPostRegistration runs the post-user-registration actions in the background: they
// can neither block nor fail the signup, and what goes wrong is logged. The bound actions
// are looked up before returning, so that nothing starts when none is bound.
func (s *Service) startPostRegistration(ctx context.Context, u storage.User, signup SignupRequest, conn storage.Connection) {
	if s.rules == nil {
		return
	}
	scripts, err := s.boundActions(ctx, rules.TriggerPostUserRegistration)
	if err != nil {
		s.log.WarnContext(ctx, "post-user-registration actions not run", "user_id", u.ID, "error", err)
		return
	}
	if len(scripts) == 0 {
		return
	}
	_, configuration, err := s.EnabledRules(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "post-user-registration actions not run", "user_id", u.ID, "error", err)
		return
	}
	req := s.registrationRequest(rules.TriggerPostUserRegistration, scripts, configuration, u, signup, conn)
	budget := s.ruleLimits.Pipeline
	if budget <= 0 {
		budget = rules.DefaultLimits().Pipeline
	}
	// Post-registration work is best effort and must never pile up: past a bound of runs in
	// flight, new ones are skipped (and logged) rather than queued without end.
	select {
	case s.postRegistrationSlots <- struct{}{}:
	default:
		s.log.WarnContext(ctx, "post-user-registration actions skipped: too many in flight", "user_id", u.ID)
		return
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget+5*time.Second)
	go func() {
		defer func() { <-s.postRegistrationSlots }()
		defer cancel()
		resp, err := s.rules.Run(bg, req)
		if err != nil {
			s.log.WarnContext(bg, "post-user-registration actions failed", "user_id", u.ID, "error", err)
			return
		}
		s.logRegistration(bg, rules.TriggerPostUserRegistration, u.ID, signup.ClientID, resp)
	}()
}

// logRegistration records a registration pipeline's outcome (a failure at warning level).
// userID is empty before the user exists.
func (s *Service) logRegistration(ctx context.Context, trigger, userID, clientID string, resp rules.Response) {
	attrs := []slog.Attr{
		slog.String("trigger", trigger), slog.String("user_id", userID), slog.String("client_id", clientID),
		slog.String("outcome", resp.Outcome), slog.Duration("duration", resp.Duration),
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
	s.metrics.Pipeline(trigger, resp.Outcome, resp.Duration)
	// Post-user-registration reports a failed action in its timing and console only (the
	// pipeline goes on): that is a warning too.
	level := slog.LevelInfo
	if resp.Outcome == rules.OutcomeError || slices.ContainsFunc(resp.Timings, func(t rules.ScriptTiming) bool { return t.Outcome == rules.OutcomeError }) {
		level = slog.LevelWarn
	}
	s.log.LogAttrs(ctx, level, "actions ran", attrs...)
}
