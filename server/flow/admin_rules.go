package flow

// The Management API's rule use cases (AUTH0-COMPAT §5.5, §5.6): create, update and delete
// rules, set and delete rules-configs variables, and EnabledRules, which the login reads.
// Scripts are compiled when saved, so that a rule that cannot run is refused up front rather
// than failing every login; configuration values are sealed before they reach the store.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
)

// Rule conflicts: the name, or the order within the stage, belongs to another rule.
var (
	ErrRuleNameTaken  = errors.New("another rule has this name")
	ErrRuleOrderTaken = errors.New("another rule has this order")
)

// Rule limits. The script's is Auth0's recommended size for all enabled rules together,
// applied per rule; the name's bounds hostile input (Auth0 documents none).
const (
	MaxRuleScriptBytes = 100 << 10
	maxRuleNameLen     = 255
)

// rulePattern is Auth0's rule name: letters, digits, spaces and '-', neither starting nor
// ending with '-' or a space (DOCS1 rules legacy.md).
var rulePattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9 -]*[A-Za-z0-9])?$`)

// AdminRulePatch is the body of POST /api/v2/rules and PATCH /api/v2/rules/{id}.
type AdminRulePatch struct {
	Name    Patch[string]
	Script  Patch[string]
	Enabled Patch[bool]
	// Order null (or absent) on create puts the rule after the others; on update, null
	// leaves the order alone (deploy-cli sends null for "no opinion").
	Order Patch[int]
	// Stage can be given on create only, and only as login_success.
	Stage Patch[string]
}

// AdminCreateRule validates, compiles and stores a new rule. Enabled defaults to true.
func (s *Service) AdminCreateRule(ctx context.Context, p AdminRulePatch) (storage.Rule, error) {
	if !p.Name.given() {
		return storage.Rule{}, missingProperty("name")
	}
	if err := checkRuleName(p.Name.Value); err != nil {
		return storage.Rule{}, err
	}
	if !p.Script.given() {
		return storage.Rule{}, missingProperty("script")
	}
	if err := checkRuleScript(p.Script.Value); err != nil {
		return storage.Rule{}, err
	}
	if p.Stage.given() && p.Stage.Value != storage.RuleStageLoginSuccess {
		return storage.Rule{}, payloadError("stage", "'latch runs rules at stage login_success only, got %s' on property stage.", quoteInput(p.Stage.Value))
	}
	now := storage.Time(s.now()) // as the store keeps it, so that POST and GET agree
	r := storage.Rule{
		ID: storage.NewRuleID(), Name: p.Name.Value, Script: p.Script.Value,
		Enabled: !p.Enabled.given() || p.Enabled.Value, Order: p.Order.Value,
		Stage: storage.RuleStageLoginSuccess, CreatedAt: now, UpdatedAt: now,
	}
	defer s.changed(ctx, storage.TopicRules)
	var err error
	stored := r
	if p.Order.given() {
		err = s.ruleStore.CreateRule(ctx, r)
	} else {
		stored, err = s.ruleStore.AppendRule(ctx, r)
	}
	if err != nil {
		return storage.Rule{}, s.ruleWriteError(ctx, err, r)
	}
	return stored, nil
}

// AdminUpdateRule applies a patch to a rule in one storage update.
func (s *Service) AdminUpdateRule(ctx context.Context, id string, p AdminRulePatch) (storage.Rule, error) {
	if p.Stage.Set {
		return storage.Rule{}, payloadError("stage", "'A rule's stage cannot be changed' on property stage.")
	}
	for _, f := range []struct {
		name string
		null bool
	}{{"name", p.Name.Null}, {"script", p.Script.Null}, {"enabled", p.Enabled.Null}} {
		if f.null {
			return storage.Rule{}, payloadError(f.name, "'%s cannot be null' on property %s.", f.name, f.name)
		}
	}
	if p.Name.given() {
		if err := checkRuleName(p.Name.Value); err != nil {
			return storage.Rule{}, err
		}
	}
	if p.Script.given() {
		if err := checkRuleScript(p.Script.Value); err != nil {
			return storage.Rule{}, err
		}
	}
	now := s.now()
	var candidate storage.Rule
	defer s.changed(ctx, storage.TopicRules)
	updated, err := s.ruleStore.UpdateRule(ctx, id, func(r storage.Rule) (storage.Rule, error) {
		if p.Name.given() {
			r.Name = p.Name.Value
		}
		if p.Script.given() {
			r.Script = p.Script.Value
		}
		if p.Enabled.given() {
			r.Enabled = p.Enabled.Value
		}
		if p.Order.given() {
			r.Order = p.Order.Value
		}
		r.UpdatedAt = now
		candidate = r
		return r, nil
	})
	if err != nil {
		return storage.Rule{}, s.ruleWriteError(ctx, err, candidate)
	}
	return updated, nil
}

// AdminDeleteRule deletes a rule.
func (s *Service) AdminDeleteRule(ctx context.Context, id string) error {
	defer s.changed(ctx, storage.TopicRules)
	return s.ruleStore.DeleteRule(ctx, id)
}

// ruleWriteError tells a taken name from a taken order after a collision.
func (s *Service) ruleWriteError(ctx context.Context, err error, r storage.Rule) error {
	if !errors.Is(err, storage.ErrAlreadyExists) {
		return err
	}
	all, lerr := s.ruleStore.ListRules(ctx)
	if lerr != nil {
		return fmt.Errorf("%w; then, finding which rule: %w", err, lerr)
	}
	for _, other := range all {
		if other.ID != r.ID && other.Name == r.Name {
			return ErrRuleNameTaken
		}
	}
	return ErrRuleOrderTaken
}

func checkRuleName(name string) error {
	if n := utf8.RuneCountInString(name); n > maxRuleNameLen {
		return payloadError("name", "'String is too long (%d chars), maximum %d' on property name.", n, maxRuleNameLen)
	}
	if !rulePattern.MatchString(name) {
		return payloadError("name", "'A rule name may contain only letters, digits, spaces and \"-\", and cannot start or end with \"-\" or a space: %s' on property name.", quoteInput(name))
	}
	return nil
}

// checkRuleScript bounds the script and compiles it.
func checkRuleScript(script string) error {
	return checkScript(rules.KindRule, "script", script, MaxRuleScriptBytes)
}

// checkScript bounds a rule's script or an action's code (property names it in messages),
// and compiles it, so that a broken script is refused when it is saved, never at a login.
func checkScript(kind, property, source string, maxBytes int) error {
	if strings.TrimSpace(source) == "" {
		return missingProperty(property)
	}
	if len(source) > maxBytes {
		return payloadError(property, "'The %s is %d bytes, maximum %d' on property %s.", property, len(source), maxBytes, property)
	}
	err := rules.Check(kind, source)
	if err == nil {
		return nil
	}
	var (
		syn *rules.SyntaxError
		mod *rules.ModuleError
	)
	switch {
	case errors.As(err, &syn):
		return payloadError(property, "'Syntax error at line %d, column %d: %s' on property %s.", syn.Line, syn.Column, quoteInput(syn.Message), property)
	case errors.As(err, &mod):
		return payloadError(property, "'%s (line %d, column %d)' on property %s.", quoteInput(mod.Error()), mod.Line, mod.Column, property)
	default: // *rules.ShapeError: not a rule function, or no action handler
		return payloadError(property, "'%s' on property %s.", quoteInput(err.Error()), property)
	}
}

// ---------------------------------------------------------------------------------------
// Rules configs

// Rules-configs limits: Auth0's for Actions secrets, which replace them (AUTH0-COMPAT §4).
const (
	MaxRulesConfigKeyLen   = 128
	MaxRulesConfigValueLen = 4096 // characters
)

var rulesConfigKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// ValidRulesConfigKey says whether key can name a rules-configs variable.
func ValidRulesConfigKey(key string) bool {
	return len(key) <= MaxRulesConfigKeyLen && rulesConfigKey.MatchString(key)
}

// rulesConfigAD binds a sealed value to its key: a value copied onto another key, or onto
// another kind of sealed record, does not open.
func rulesConfigAD(key string) []byte { return []byte("latch rules config " + key) }

// AdminSetRulesConfig creates or replaces a variable; the value is stored sealed.
func (s *Service) AdminSetRulesConfig(ctx context.Context, key, value string) error {
	if !ValidRulesConfigKey(key) {
		return payloadError("key", "'The key must match ^[A-Za-z0-9_-]+$ and be at most %d characters' on property key.", MaxRulesConfigKeyLen)
	}
	if n := utf8.RuneCountInString(value); n > MaxRulesConfigValueLen {
		return payloadError("value", "'String is too long (%d chars), maximum %d' on property value.", n, MaxRulesConfigValueLen)
	}
	if s.sealer == nil {
		return errors.New("flow: no sealer to store rules-configs values with")
	}
	defer s.changed(ctx, storage.TopicRules)
	return s.ruleConfigs.SetRulesConfig(ctx, key, s.sealer.Seal([]byte(value), rulesConfigAD(key)))
}

// AdminDeleteRulesConfig deletes a variable; storage.ErrNotFound when there is none.
func (s *Service) AdminDeleteRulesConfig(ctx context.Context, key string) error {
	defer s.changed(ctx, storage.TopicRules)
	return s.ruleConfigs.DeleteRulesConfig(ctx, key)
}

// ---------------------------------------------------------------------------------------
// What the login runs

// EnabledRules returns the enabled rules in the order they run, and the rules-configs
// variables opened (the rules' `configuration`). Every login calls it, so it answers from
// memory; the use cases above invalidate the memory when they write, which keeps it right
// while this process is the only writer of rules (an SQLite deployment). The caller owns
// what it gets: changing it changes nothing here.
func (s *Service) EnabledRules(ctx context.Context) ([]rules.Script, map[string]string, error) {
	set, err := s.enabledRules.get(ctx, s.loadEnabledRules)
	if err != nil {
		return nil, nil, err
	}
	return slices.Clone(set.scripts), maps.Clone(set.configuration), nil
}

func (s *Service) loadEnabledRules(ctx context.Context) (ruleSet, error) {
	all, err := s.ruleStore.ListRules(ctx)
	if err != nil {
		return ruleSet{}, fmt.Errorf("list rules: %w", err)
	}
	set := ruleSet{scripts: []rules.Script{}, configuration: map[string]string{}}
	for _, r := range all {
		if !r.Enabled || r.Stage != storage.RuleStageLoginSuccess {
			continue
		}
		set.scripts = append(set.scripts, rules.Script{
			ID: r.ID, Name: r.Name, Kind: rules.KindRule, Version: scriptVersion(r.Script), Source: r.Script,
		})
	}
	sealed, err := s.ruleConfigs.GetRulesConfigs(ctx)
	if err != nil {
		return ruleSet{}, fmt.Errorf("read rules configs: %w", err)
	}
	if len(sealed) > 0 && s.sealer == nil {
		return ruleSet{}, errors.New("flow: no sealer to open rules-configs values with")
	}
	for key, blob := range sealed {
		value, err := s.sealer.Open(blob, rulesConfigAD(key))
		if err != nil {
			return ruleSet{}, fmt.Errorf("rules config %q: %w", key, err)
		}
		set.configuration[key] = string(value)
	}
	return set, nil
}

// scriptVersion identifies a script's source, so that compiled programs are cached by it.
func scriptVersion(source string) string {
	sum := sha256.Sum256([]byte(source))
	return hex.EncodeToString(sum[:])
}

// ruleSet is what EnabledRules answers.
type ruleSet struct {
	scripts       []rules.Script
	configuration map[string]string
}

// ruleCache holds the last ruleSet loaded. Its zero value is empty and ready.
//
// The generation closes the race between a load and a write: a load notes the generation
// before it reads the store, and its result is kept only if no write happened since.
type ruleCache struct {
	mu    sync.Mutex
	gen   uint64
	set   ruleSet
	valid bool
	// loading holds a token while a load runs, so that the logins that find the cache
	// empty after a write wait for one read of the store instead of each making their own.
	// Made on first use.
	loading chan struct{}
}

func (c *ruleCache) cached() (ruleSet, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set, c.gen, c.valid
}

// get answers from the cache, or loads (once for all the callers waiting) and keeps the
// result unless a write came in the meantime.
func (c *ruleCache) get(ctx context.Context, load func(context.Context) (ruleSet, error)) (ruleSet, error) {
	if set, _, ok := c.cached(); ok {
		return set, nil
	}
	unlock, err := c.lock(ctx)
	if err != nil {
		return ruleSet{}, err
	}
	defer unlock()
	set, gen, ok := c.cached()
	if ok {
		return set, nil
	}
	if set, err = load(ctx); err != nil {
		return ruleSet{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.set, c.valid = set, true
	}
	return set, nil
}

// lock waits for the loading token, or for ctx to end.
func (c *ruleCache) lock(ctx context.Context) (unlock func(), err error) {
	c.mu.Lock()
	if c.loading == nil {
		c.loading = make(chan struct{}, 1)
	}
	loading := c.loading
	c.mu.Unlock()
	select {
	case loading <- struct{}{}:
		return func() { <-loading }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// invalidate forgets the cached set. Writers call it when their write is over, whether it
// succeeded or not (a write that failed late may still have committed).
func (c *ruleCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.set, c.valid = ruleSet{}, false
}
