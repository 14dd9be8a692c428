package flow

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/tokens"
)

const okScript = "function (user, context, callback) {\n  callback(null, user, context);\n}"

// ruleStore keeps rules and rules-configs in memory, with the contract's uniqueness and
// ordering (the conformance suite holds the real backends to the same), and counts the
// reads EnabledRules makes, to see when it answers from memory. flow's tests name no
// storage backend.
type ruleStore struct {
	storage.Store // nil: the rule use cases need nothing else

	mu      sync.Mutex
	rules   map[string]storage.Rule
	configs map[string][]byte

	lists, configReads atomic.Int64
}

func newRuleStore() *ruleStore {
	return &ruleStore{rules: map[string]storage.Rule{}, configs: map[string][]byte{}}
}

// taken says whether r's id (when checkID), name or order belongs to another rule.
func (m *ruleStore) taken(r storage.Rule, checkID bool) bool {
	for id, o := range m.rules {
		if (checkID && id == r.ID) || (id != r.ID && (o.Name == r.Name || (o.Stage == r.Stage && o.Order == r.Order))) {
			return true
		}
	}
	return false
}

func (m *ruleStore) CreateRule(_ context.Context, r storage.Rule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.taken(r, true) {
		return storage.ErrAlreadyExists
	}
	m.rules[r.ID] = r
	return nil
}

func (m *ruleStore) AppendRule(_ context.Context, r storage.Rule) (storage.Rule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r.Order = 1
	for _, o := range m.rules {
		if o.Stage == r.Stage && o.Order >= r.Order {
			r.Order = o.Order + 1
		}
	}
	if m.taken(r, true) {
		return storage.Rule{}, storage.ErrAlreadyExists
	}
	m.rules[r.ID] = r
	return r, nil
}

func (m *ruleStore) GetRule(_ context.Context, id string) (storage.Rule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rules[id]
	if !ok {
		return storage.Rule{}, storage.ErrNotFound
	}
	return r, nil
}

func (m *ruleStore) ListRules(context.Context) ([]storage.Rule, error) {
	m.lists.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	list := slices.Collect(maps.Values(m.rules))
	slices.SortFunc(list, func(a, b storage.Rule) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), strings.Compare(a.ID, b.ID))
	})
	return list, nil
}

func (m *ruleStore) UpdateRule(_ context.Context, id string, update func(storage.Rule) (storage.Rule, error)) (storage.Rule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.rules[id]
	if !ok {
		return storage.Rule{}, storage.ErrNotFound
	}
	r, err := update(old)
	if err != nil {
		return storage.Rule{}, err
	}
	r.ID = id
	if m.taken(r, false) {
		return storage.Rule{}, storage.ErrAlreadyExists
	}
	m.rules[id] = r
	return r, nil
}

func (m *ruleStore) DeleteRule(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.rules[id]; !ok {
		return storage.ErrNotFound
	}
	delete(m.rules, id)
	return nil
}

func (m *ruleStore) SetRulesConfig(_ context.Context, key string, sealed []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.configs[key] = slices.Clone(sealed)
	return nil
}

func (m *ruleStore) ListRulesConfigKeys(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.configs)), nil
}

func (m *ruleStore) GetRulesConfigs(context.Context) (map[string][]byte, error) {
	m.configReads.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][]byte, len(m.configs))
	for k, v := range m.configs {
		out[k] = slices.Clone(v)
	}
	return out, nil
}

func (m *ruleStore) DeleteRulesConfig(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.configs[key]; !ok {
		return storage.ErrNotFound
	}
	delete(m.configs, key)
	return nil
}

func newRulesService(t *testing.T) (*Service, *ruleStore) {
	t.Helper()
	sealer, err := tokens.NewSealer(make([]byte, tokens.KEKSize))
	if err != nil {
		t.Fatal(err)
	}
	store := newRuleStore()
	return New(Deps{Store: store, Sealer: sealer}), store
}

func createRule(t *testing.T, s *Service, name string, order Patch[int], enabled bool) storage.Rule {
	t.Helper()
	r, err := s.AdminCreateRule(t.Context(), AdminRulePatch{
		Name: SetTo(name), Script: SetTo(okScript + "\n// " + name), Enabled: SetTo(enabled), Order: order,
	})
	if err != nil {
		t.Fatalf("AdminCreateRule %s: %v", name, err)
	}
	return r
}

func enabledRules(t *testing.T, s *Service) ([]rules.Script, map[string]string) {
	t.Helper()
	scripts, config, err := s.EnabledRules(t.Context())
	if err != nil {
		t.Fatalf("EnabledRules: %v", err)
	}
	return scripts, config
}

func scriptNames(scripts []rules.Script) string {
	names := make([]string, len(scripts))
	for i, sc := range scripts {
		names[i] = sc.Name
	}
	return strings.Join(names, ",")
}

func TestEnabledRules(t *testing.T) {
	s, _ := newRulesService(t)
	scripts, config := enabledRules(t, s)
	if len(scripts) != 0 || config == nil || len(config) != 0 {
		t.Fatalf("EnabledRules on an empty store = %v, %v; want none and an empty map", scripts, config)
	}

	third := createRule(t, s, "third", SetTo(30), true)
	createRule(t, s, "off", SetTo(20), false)
	first := createRule(t, s, "first", SetTo(10), true)
	last := createRule(t, s, "last", Patch[int]{}, true) // after the others: order 31
	if last.Order != 31 {
		t.Errorf("rule without order got %d, want 31", last.Order)
	}
	for k, v := range map[string]string{"SLACK_URL": "https://hooks.example.com/x", "EMPTY": "", "UNICODE": "clé 🔑"} {
		if err := s.AdminSetRulesConfig(t.Context(), k, v); err != nil {
			t.Fatalf("AdminSetRulesConfig %s: %v", k, err)
		}
	}

	scripts, config = enabledRules(t, s)
	if got := scriptNames(scripts); got != "first,third,last" {
		t.Fatalf("EnabledRules = %s, want first,third,last", got)
	}
	sum := sha256.Sum256([]byte(first.Script))
	want := rules.Script{ID: first.ID, Name: "first", Kind: rules.KindRule, Version: hex.EncodeToString(sum[:]), Source: first.Script}
	if scripts[0] != want {
		t.Errorf("EnabledRules[0] = %+v, want %+v", scripts[0], want)
	}
	if scripts[1].Version == scripts[0].Version || scripts[1].ID != third.ID {
		t.Errorf("EnabledRules[1] = %+v", scripts[1])
	}
	if len(config) != 3 || config["SLACK_URL"] != "https://hooks.example.com/x" || config["UNICODE"] != "clé 🔑" {
		t.Errorf("configuration = %v", config)
	}
	if v, ok := config["EMPTY"]; !ok || v != "" {
		t.Errorf("configuration[EMPTY] = %q, %v", v, ok)
	}

	// The caller owns what it gets.
	scripts[0].Source = "changed"
	config["SLACK_URL"] = "changed"
	scripts, config = enabledRules(t, s)
	if scripts[0].Source != first.Script || config["SLACK_URL"] != "https://hooks.example.com/x" {
		t.Error("changing EnabledRules' answer changed the next answer")
	}
}

// Every login calls EnabledRules: it reads the store once, until a write through the
// service invalidates what it keeps.
func TestEnabledRulesCache(t *testing.T) {
	s, store := newRulesService(t)
	r := createRule(t, s, "one", Patch[int]{}, true)
	if err := s.AdminSetRulesConfig(t.Context(), "K", "v1"); err != nil {
		t.Fatal(err)
	}
	reads := func() int64 { return store.lists.Load() + store.configReads.Load() }

	enabledRules(t, s)
	before := reads()
	for range 100 {
		enabledRules(t, s)
	}
	if n := reads() - before; n != 0 {
		t.Fatalf("100 EnabledRules after the first read the store %d times, want 0", n)
	}

	ctx := t.Context()
	for _, w := range []struct {
		name  string
		write func() error
		check func(scripts []rules.Script, config map[string]string) bool
	}{
		{"update script", func() error {
			_, err := s.AdminUpdateRule(ctx, r.ID, AdminRulePatch{Script: SetTo(okScript + "// v2")})
			return err
		}, func(sc []rules.Script, _ map[string]string) bool {
			return len(sc) == 1 && strings.HasSuffix(sc[0].Source, "// v2")
		}},
		{"disable", func() error {
			_, err := s.AdminUpdateRule(ctx, r.ID, AdminRulePatch{Enabled: SetTo(false)})
			return err
		}, func(sc []rules.Script, _ map[string]string) bool { return len(sc) == 0 }},
		{"create", func() error {
			_, err := s.AdminCreateRule(ctx, AdminRulePatch{Name: SetTo("two"), Script: SetTo(okScript)})
			return err
		}, func(sc []rules.Script, _ map[string]string) bool { return scriptNames(sc) == "two" }},
		{"set config", func() error { return s.AdminSetRulesConfig(ctx, "K", "v2") },
			func(_ []rules.Script, c map[string]string) bool { return c["K"] == "v2" }},
		{"delete config", func() error { return s.AdminDeleteRulesConfig(ctx, "K") },
			func(_ []rules.Script, c map[string]string) bool { _, ok := c["K"]; return !ok }},
		{"delete rule", func() error { return s.AdminDeleteRule(ctx, r.ID) },
			func(sc []rules.Script, _ map[string]string) bool { return scriptNames(sc) == "two" }},
	} {
		if err := w.write(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if scripts, config := enabledRules(t, s); !w.check(scripts, config) {
			t.Errorf("after %s, EnabledRules = %s, %v", w.name, scriptNames(scripts), config)
		}
	}

	// A refused write leaves the store as it was; answering from the store again is right.
	_, err := s.AdminCreateRule(ctx, AdminRulePatch{Name: SetTo("two"), Script: SetTo(okScript)})
	if !errors.Is(err, ErrRuleNameTaken) {
		t.Fatalf("duplicate name: %v", err)
	}
	if scripts, _ := enabledRules(t, s); scriptNames(scripts) != "two" {
		t.Errorf("after a refused write: %s", scriptNames(scripts))
	}
}

// Logins read while admins write; once the writes are over, the next read sees all of them.
func TestEnabledRulesConcurrentWrites(t *testing.T) {
	s, _ := newRulesService(t)
	ctx := t.Context()
	const writers, readers = 8, 8
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range readers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := s.EnabledRules(ctx); err != nil {
					t.Errorf("EnabledRules: %v", err)
					return
				}
			}
		})
	}
	var writersDone sync.WaitGroup
	for i := range writers {
		writersDone.Go(func() {
			for j := range 5 {
				name := fmt.Sprintf("w%d-%d", i, j)
				if _, err := s.AdminCreateRule(ctx, AdminRulePatch{Name: SetTo(name), Script: SetTo(okScript)}); err != nil {
					t.Errorf("create %s: %v", name, err)
				}
				if err := s.AdminSetRulesConfig(ctx, name, name); err != nil {
					t.Errorf("set %s: %v", name, err)
				}
			}
		})
	}
	writersDone.Wait()
	close(stop)
	wg.Wait()
	scripts, config := enabledRules(t, s)
	if len(scripts) != writers*5 || len(config) != writers*5 {
		t.Errorf("after the writes: %d rules, %d configs; want %d each", len(scripts), len(config), writers*5)
	}
	for i, sc := range scripts[1:] {
		if sc.ID == scripts[i].ID {
			t.Errorf("rule %s listed twice", sc.ID)
		}
	}
}

// A value is sealed to its key: copied onto another key, it does not open.
func TestRulesConfigSealedToKey(t *testing.T) {
	s, store := newRulesService(t)
	if err := s.AdminSetRulesConfig(t.Context(), "A", "secret-a"); err != nil {
		t.Fatal(err)
	}
	sealed, err := store.GetRulesConfigs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed["A"]), "secret-a") {
		t.Fatal("the store holds the value in the clear")
	}
	if err := store.SetRulesConfig(t.Context(), "B", sealed["A"]); err != nil {
		t.Fatal(err)
	}
	s.enabledRules.invalidate() // the write went around the service
	if _, _, err := s.EnabledRules(t.Context()); !errors.Is(err, tokens.ErrUnseal) || !strings.Contains(err.Error(), `"B"`) {
		t.Errorf("EnabledRules with a value moved to another key = %v, want ErrUnseal naming B", err)
	}
}

func TestAdminRuleValidation(t *testing.T) {
	s, store := newRulesService(t)
	ctx := t.Context()
	taken := createRule(t, s, "taken", SetTo(5), true)

	for _, name := range []string{"a", "My rule", "rule-2", "A 1 - b", strings.Repeat("x", maxRuleNameLen)} {
		if err := checkRuleName(name); err != nil {
			t.Errorf("checkRuleName(%q) = %v", name, err)
		}
	}
	for _, name := range []string{
		"", " lead", "trail ", "-lead", "trail-", "tab\there", "new\nline", "dots.no", "ünï", "semi;colon",
		"under_score", "-", " ", strings.Repeat("x", maxRuleNameLen+1),
	} {
		if err := checkRuleName(name); err == nil {
			t.Errorf("checkRuleName(%q) accepted", name)
		}
	}

	invalid := func(field string) func(error) bool {
		return func(err error) bool {
			var inv *InvalidRequestError
			return errors.As(err, &inv) && inv.Field == field
		}
	}
	for _, tc := range []struct {
		name string
		p    AdminRulePatch
		ok   func(error) bool
	}{
		{"no name", AdminRulePatch{Script: SetTo(okScript)}, invalid("name")},
		{"null name", AdminRulePatch{Name: Patch[string]{Set: true, Null: true}, Script: SetTo(okScript)}, invalid("name")},
		{"no script", AdminRulePatch{Name: SetTo("x")}, invalid("script")},
		{"blank script", AdminRulePatch{Name: SetTo("x"), Script: SetTo(" \n\t ")}, invalid("script")},
		{"huge script", AdminRulePatch{Name: SetTo("x"), Script: SetTo(okScript + "//" + strings.Repeat("x", MaxRuleScriptBytes))}, invalid("script")},
		{"syntax error", AdminRulePatch{Name: SetTo("x"), Script: SetTo("function (user, context, callback) {\n  callback(null, user, context;\n}")}, func(err error) bool {
			var inv *InvalidRequestError
			return errors.As(err, &inv) && inv.Field == "script" && strings.Contains(inv.Message, "line 2")
		}},
		{"unknown module", AdminRulePatch{Name: SetTo("x"), Script: SetTo("function (user, context, callback) {\n  var x = require('no-such-module-latch');\n  callback(null, user, context);\n}")}, func(err error) bool {
			var inv *InvalidRequestError
			return errors.As(err, &inv) && inv.Field == "script" && strings.Contains(inv.Message, "no-such-module-latch")
		}},
		{"other stage", AdminRulePatch{Name: SetTo("x"), Script: SetTo(okScript), Stage: SetTo("pre_authorize")}, invalid("stage")},
		{"taken name", AdminRulePatch{Name: SetTo("taken"), Script: SetTo(okScript)}, func(err error) bool { return errors.Is(err, ErrRuleNameTaken) }},
		{"taken order", AdminRulePatch{Name: SetTo("x"), Script: SetTo(okScript), Order: SetTo(5)}, func(err error) bool { return errors.Is(err, ErrRuleOrderTaken) }},
	} {
		if _, err := s.AdminCreateRule(ctx, tc.p); !tc.ok(err) {
			t.Errorf("create, %s: %v", tc.name, err)
		}
	}
	if list, err := store.ListRules(ctx); err != nil || len(list) != 1 {
		t.Errorf("rules after refused creations: %d, %v", len(list), err)
	}

	other := createRule(t, s, "other", SetTo(6), true)
	for _, tc := range []struct {
		name string
		p    AdminRulePatch
		ok   func(error) bool
	}{
		{"stage", AdminRulePatch{Stage: SetTo(storage.RuleStageLoginSuccess)}, invalid("stage")},
		{"null script", AdminRulePatch{Script: Patch[string]{Set: true, Null: true}}, invalid("script")},
		{"null enabled", AdminRulePatch{Enabled: Patch[bool]{Set: true, Null: true}}, invalid("enabled")},
		{"bad name", AdminRulePatch{Name: SetTo("-x")}, invalid("name")},
		{"syntax error", AdminRulePatch{Script: SetTo("function (")}, invalid("script")},
		{"taken name", AdminRulePatch{Name: SetTo("taken")}, func(err error) bool { return errors.Is(err, ErrRuleNameTaken) }},
		{"taken order", AdminRulePatch{Order: SetTo(taken.Order)}, func(err error) bool { return errors.Is(err, ErrRuleOrderTaken) }},
	} {
		if _, err := s.AdminUpdateRule(ctx, other.ID, tc.p); !tc.ok(err) {
			t.Errorf("update, %s: %v", tc.name, err)
		}
	}
	if got, err := store.GetRule(ctx, other.ID); err != nil || got != other {
		t.Errorf("rule after refused updates = %+v, %v; want %+v", got, err, other)
	}

	// Null order on update leaves it alone.
	got, err := s.AdminUpdateRule(ctx, other.ID, AdminRulePatch{Order: Patch[int]{Set: true, Null: true}, Name: SetTo("renamed")})
	if err != nil || got.Order != other.Order || got.Name != "renamed" {
		t.Errorf("update with null order = %+v, %v", got, err)
	}
	if _, err := s.AdminUpdateRule(ctx, "rul_missing", AdminRulePatch{Enabled: SetTo(false)}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("update of a missing rule: %v", err)
	}
	if err := s.AdminDeleteRule(ctx, "rul_missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("delete of a missing rule: %v", err)
	}
}

func TestAdminRulesConfigValidation(t *testing.T) {
	s, store := newRulesService(t)
	ctx := t.Context()
	for _, key := range []string{"", "a b", "a.b", "a/b", "ü", "a\x00", strings.Repeat("k", MaxRulesConfigKeyLen+1)} {
		if err := s.AdminSetRulesConfig(ctx, key, "v"); err == nil {
			t.Errorf("key %q accepted", key)
		}
	}
	if err := s.AdminSetRulesConfig(ctx, strings.Repeat("k", MaxRulesConfigKeyLen), strings.Repeat("é", MaxRulesConfigValueLen)); err != nil {
		t.Errorf("longest key and value: %v", err)
	}
	if err := s.AdminSetRulesConfig(ctx, "K", strings.Repeat("v", MaxRulesConfigValueLen+1)); err == nil {
		t.Error("oversized value accepted")
	}
	if keys, _ := store.ListRulesConfigKeys(ctx); len(keys) != 1 {
		t.Errorf("keys after refusals: %v", keys)
	}
	if err := s.AdminDeleteRulesConfig(ctx, "never"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("delete of a missing key: %v", err)
	}

	noSealer := New(Deps{Store: store})
	if err := noSealer.AdminSetRulesConfig(ctx, "K", "v"); err == nil {
		t.Error("a service without a sealer stored a value")
	}
	if _, _, err := noSealer.EnabledRules(ctx); err == nil {
		t.Error("a service without a sealer opened values")
	}
}
