package flow

// The Management API's action use cases (AUTH0-COMPAT §4): create, update, deploy and
// delete actions, bind deployed actions to triggers, and boundActions, which the login and
// the signup read. Code is compiled when saved, as rules' scripts are.
//
// latch keeps one version of an action. Deploying marks it bindable; a later PATCH of a
// deployed action's code takes effect at once in the flows it is bound to (Auth0 would keep
// running the last deployed version until the next deploy).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
)

// Action errors the Management API maps to its own bodies.
var (
	ErrActionNameTaken = errors.New("another action has this name")
	// ErrActionBound: an action bound to a trigger is deleted without force.
	ErrActionBound = errors.New("the action is bound to a trigger")
	// ErrUnknownTrigger: a trigger latch does not run.
	ErrUnknownTrigger = errors.New("unknown trigger")
)

// Action limits. Auth0 documents none for the name; the code's bound is the rules' one.
const (
	MaxActionCodeBytes = 100 << 10
	maxActionNameLen   = 255
	// MaxTriggerBindings bounds one trigger's flow.
	MaxTriggerBindings = 20
	// ActionRuntime is the only runtime latch accepts (the scripts run on goja, whatever
	// the name says).
	ActionRuntime = "node18"
)

// ActionTriggers are the triggers latch runs actions at, in Auth0's ids.
var ActionTriggers = []string{rules.TriggerPostLogin, rules.TriggerPreUserRegistration, rules.TriggerPostUserRegistration}

// KnownTrigger says whether latch runs actions at trigger.
func KnownTrigger(trigger string) bool { return slices.Contains(ActionTriggers, trigger) }

// AdminActionPatch is the body of POST /api/v2/actions/actions and PATCH .../{id}.
type AdminActionPatch struct {
	Name              Patch[string]
	Code              Patch[string]
	Runtime           Patch[string]
	SupportedTriggers Patch[[]string]
}

// AdminCreateAction validates, compiles and stores a new, undeployed action.
func (s *Service) AdminCreateAction(ctx context.Context, p AdminActionPatch) (storage.Action, error) {
	if !p.Name.given() {
		return storage.Action{}, missingProperty("name")
	}
	if !p.Code.given() {
		return storage.Action{}, missingProperty("code")
	}
	if !p.SupportedTriggers.given() {
		return storage.Action{}, missingProperty("supported_triggers")
	}
	if err := checkActionPatch(p); err != nil {
		return storage.Action{}, err
	}
	now := storage.Time(s.now())
	a := storage.Action{
		ID: storage.NewActionID(), Name: p.Name.Value, Code: p.Code.Value, Runtime: ActionRuntime,
		SupportedTriggers: slices.Clone(p.SupportedTriggers.Value), CreatedAt: now, UpdatedAt: now,
	}
	defer s.changed(ctx, storage.TopicRules)
	if err := s.actionStore.CreateAction(ctx, a); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return storage.Action{}, ErrActionNameTaken
		}
		return storage.Action{}, err
	}
	return a, nil
}

// AdminUpdateAction applies a patch in one storage update. An action may not stop
// supporting a trigger it is bound to.
func (s *Service) AdminUpdateAction(ctx context.Context, id string, p AdminActionPatch) (storage.Action, error) {
	for _, f := range []struct {
		name string
		null bool
	}{{"name", p.Name.Null}, {"code", p.Code.Null}, {"runtime", p.Runtime.Null}, {"supported_triggers", p.SupportedTriggers.Null}} {
		if f.null {
			return storage.Action{}, payloadError(f.name, "'%s cannot be null' on property %s.", f.name, f.name)
		}
	}
	if err := checkActionPatch(p); err != nil {
		return storage.Action{}, err
	}
	var boundTo []string
	if p.SupportedTriggers.given() {
		var err error
		if boundTo, err = s.triggersBinding(ctx, id); err != nil {
			return storage.Action{}, err
		}
		for _, t := range boundTo {
			if !slices.Contains(p.SupportedTriggers.Value, t) {
				return storage.Action{}, payloadError("supported_triggers", "'The action is bound to %s: unbind it before removing the trigger' on property supported_triggers.", t)
			}
		}
	}
	now := storage.Time(s.now())
	defer s.changed(ctx, storage.TopicRules)
	updated, err := s.actionStore.UpdateAction(ctx, id, func(a storage.Action) (storage.Action, error) {
		if p.Name.given() {
			a.Name = p.Name.Value
		}
		if p.Code.given() {
			a.Code = p.Code.Value
		}
		if p.SupportedTriggers.given() {
			a.SupportedTriggers = slices.Clone(p.SupportedTriggers.Value)
		}
		a.UpdatedAt = now
		return a, nil
	})
	if errors.Is(err, storage.ErrAlreadyExists) {
		return storage.Action{}, ErrActionNameTaken
	}
	return updated, err
}

// AdminDeployAction makes the action bindable.
func (s *Service) AdminDeployAction(ctx context.Context, id string) (storage.Action, error) {
	now := storage.Time(s.now())
	defer s.changed(ctx, storage.TopicRules)
	return s.actionStore.UpdateAction(ctx, id, func(a storage.Action) (storage.Action, error) {
		a.Deployed, a.UpdatedAt = true, now
		return a, nil
	})
}

// AdminDeleteAction deletes an action; one bound to a trigger only with force, which
// unbinds it too.
func (s *Service) AdminDeleteAction(ctx context.Context, id string, force bool) error {
	if _, err := s.actionStore.GetAction(ctx, id); err != nil {
		return err
	}
	if !force {
		bound, err := s.triggersBinding(ctx, id)
		if err != nil {
			return err
		}
		if len(bound) > 0 {
			return ErrActionBound
		}
	}
	defer s.changed(ctx, storage.TopicRules)
	return s.actionStore.DeleteAction(ctx, id)
}

// triggersBinding lists the triggers the action is bound to.
func (s *Service) triggersBinding(ctx context.Context, actionID string) ([]string, error) {
	var out []string
	for _, t := range ActionTriggers {
		bs, err := s.actionStore.ListTriggerBindings(ctx, t)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(bs, func(b storage.ActionBinding) bool { return b.ActionID == actionID }) {
			out = append(out, t)
		}
	}
	return out, nil
}

// BindingRef names an action to bind, by id or by name.
type BindingRef struct {
	Type        string // "action_id" or "action_name"
	Value       string
	DisplayName string
}

// AdminSetTriggerBindings replaces a trigger's bindings. Every action must exist, be
// deployed and support the trigger; an action appears at most once.
func (s *Service) AdminSetTriggerBindings(ctx context.Context, trigger string, refs []BindingRef) ([]storage.ActionBinding, error) {
	if !KnownTrigger(trigger) {
		return nil, ErrUnknownTrigger
	}
	if len(refs) > MaxTriggerBindings {
		return nil, payloadError("bindings", "'Too many bindings (%d), maximum %d' on property bindings.", len(refs), MaxTriggerBindings)
	}
	all, err := s.actionStore.ListActions(ctx)
	if err != nil {
		return nil, err
	}
	bindings := make([]storage.ActionBinding, 0, len(refs))
	seen := map[string]bool{}
	for i, ref := range refs {
		idx := -1
		switch ref.Type {
		case "action_id":
			idx = slices.IndexFunc(all, func(a storage.Action) bool { return a.ID == ref.Value })
		case "action_name":
			idx = slices.IndexFunc(all, func(a storage.Action) bool { return a.Name == ref.Value })
		default:
			return nil, payloadError("bindings", "'ref.type must be action_id or action_name, got %s' on property bindings[%d].ref.type.", quoteInput(ref.Type), i)
		}
		if idx < 0 {
			return nil, payloadError("bindings", "'No action with %s %s' on property bindings[%d].ref.", strings.TrimPrefix(ref.Type, "action_"), quoteInput(ref.Value), i)
		}
		a := all[idx]
		switch {
		case !a.Deployed:
			return nil, payloadError("bindings", "'The action %s is not deployed' on property bindings[%d].ref.", quoteInput(a.Name), i)
		case !a.SupportsTrigger(trigger):
			return nil, payloadError("bindings", "'The action %s does not support the trigger %s' on property bindings[%d].ref.", quoteInput(a.Name), trigger, i)
		case seen[a.ID]:
			return nil, payloadError("bindings", "'The action %s is bound twice' on property bindings[%d].ref.", quoteInput(a.Name), i)
		}
		seen[a.ID] = true
		display := ref.DisplayName
		if display == "" {
			display = a.Name
		}
		if n := utf8.RuneCountInString(display); n > maxActionNameLen {
			return nil, payloadError("bindings", "'String is too long (%d chars), maximum %d' on property bindings[%d].display_name.", n, maxActionNameLen, i)
		}
		bindings = append(bindings, storage.ActionBinding{ID: storage.NewBindingID(), ActionID: a.ID, DisplayName: display})
	}
	defer s.changed(ctx, storage.TopicRules)
	out, err := s.actionStore.SetTriggerBindings(ctx, trigger, bindings)
	if errors.Is(err, storage.ErrNotFound) { // deleted since we looked
		return nil, payloadError("bindings", "'An action named in bindings no longer exists' on property bindings.")
	}
	return out, err
}

func checkActionPatch(p AdminActionPatch) error {
	if p.Name.given() {
		name := p.Name.Value
		if strings.TrimSpace(name) == "" {
			return missingProperty("name")
		}
		if n := utf8.RuneCountInString(name); n > maxActionNameLen {
			return payloadError("name", "'String is too long (%d chars), maximum %d' on property name.", n, maxActionNameLen)
		}
	}
	if p.Runtime.given() && p.Runtime.Value != ActionRuntime {
		return payloadError("runtime", "'latch runs actions on runtime %s only, got %s' on property runtime.", ActionRuntime, quoteInput(p.Runtime.Value))
	}
	if p.SupportedTriggers.given() {
		if len(p.SupportedTriggers.Value) == 0 {
			return payloadError("supported_triggers", "'Too few items (0), minimum 1' on property supported_triggers.")
		}
		for _, t := range p.SupportedTriggers.Value {
			if !KnownTrigger(t) {
				return payloadError("supported_triggers", "'latch runs actions at %s only, got %s' on property supported_triggers.", strings.Join(ActionTriggers, ", "), quoteInput(t))
			}
		}
	}
	if p.Code.given() {
		return checkActionCode(p.Code.Value)
	}
	return nil
}

// checkActionCode bounds the code and compiles it.
func checkActionCode(code string) error {
	return checkScript(rules.KindAction, "code", code, MaxActionCodeBytes)
}

// ---------------------------------------------------------------------------------------
// What the login and the signup run

// actionCaches holds each trigger's bound actions, as EnabledRules holds the rules: from
// memory, invalidated by this Service's action writes.
type actionCaches struct {
	postLogin, preRegistration, postRegistration ruleCache
}

func (c *actionCaches) of(trigger string) *ruleCache {
	switch trigger {
	case rules.TriggerPostLogin:
		return &c.postLogin
	case rules.TriggerPreUserRegistration:
		return &c.preRegistration
	case rules.TriggerPostUserRegistration:
		return &c.postRegistration
	}
	return nil
}

func (s *Service) invalidateActions() {
	for _, t := range ActionTriggers {
		s.boundActionSets.of(t).invalidate()
	}
}

// boundActions returns the actions bound to trigger, in the order they run. The caller owns
// what it gets.
func (s *Service) boundActions(ctx context.Context, trigger string) ([]rules.Script, error) {
	c := s.boundActionSets.of(trigger)
	if c == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownTrigger, trigger)
	}
	set, err := c.get(ctx, func(ctx context.Context) (ruleSet, error) { return s.loadBoundActions(ctx, trigger) })
	if err != nil {
		return nil, err
	}
	return slices.Clone(set.scripts), nil
}

func (s *Service) loadBoundActions(ctx context.Context, trigger string) (ruleSet, error) {
	bs, err := s.actionStore.ListTriggerBindings(ctx, trigger)
	if err != nil {
		return ruleSet{}, fmt.Errorf("list %s bindings: %w", trigger, err)
	}
	set := ruleSet{scripts: []rules.Script{}}
	for _, b := range bs {
		a, err := s.actionStore.GetAction(ctx, b.ActionID)
		if err != nil {
			return ruleSet{}, fmt.Errorf("action %s bound to %s: %w", b.ActionID, trigger, err)
		}
		set.scripts = append(set.scripts, rules.Script{
			ID: a.ID, Name: a.Name, Kind: rules.KindAction, Version: scriptVersion(a.Code), Source: a.Code,
		})
	}
	return set, nil
}
