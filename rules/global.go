package rules

import (
	"sync"
	"time"

	"github.com/dop251/goja"
)

// Bounds of what `global` keeps between runs.
const (
	maxGlobalBytes = 1 << 20
	maxGlobalKeys  = 1024
	globalBudget   = 100 * time.Millisecond
)

// globalStore is what survives of `global` between the runs of one Engine. Auth0 keeps the
// Node global object of a warm container, and says it "may be reset at any time". latch
// gives every run a fresh runtime and carries over the properties scripts set through
// `global` (global.x = ..., as Auth0's docs and rules do) whose values are JSON-serializable
// (token caches, counters, config objects), as their JSON: functions (a logger an earlier
// rule defined, say) and what JSON cannot hold (Dates come back as strings, Maps as {}) are
// dropped. Implicit globals (x = 1 without a declaration) and globalThis.x are visible for
// the rest of the run but not kept. Concurrent runs merge per key: a run writes back only
// the keys it changed or deleted.
type globalStore struct {
	mu   sync.Mutex
	vals map[string]string // key → JSON
}

func newGlobalStore() *globalStore { return &globalStore{vals: map[string]string{}} }

func (g *globalStore) snapshot() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]string, len(g.vals))
	for k, v := range g.vals {
		out[k] = v
	}
	return out
}

// update writes back what a run changed relative to what it started with.
func (g *globalStore) update(before, after map[string]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, v := range after {
		if before[k] != v {
			g.vals[k] = v
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			delete(g.vals, k)
		}
	}
	// Keep the whole within bounds: a run cannot see others' sizes, so trim here.
	size := 0
	for k, v := range g.vals {
		size += len(k) + len(v)
		if size > maxGlobalBytes || len(g.vals) > maxGlobalKeys {
			delete(g.vals, k)
			size -= len(k) + len(v)
		}
	}
}

// globalObject is the scripts' `global`: a proxy of the global object that notes the
// properties assigned or deleted through it, so that only those are serialized at the end
// (enumerating the global object would build every lazily-created builtin). Properties
// defined with Object.defineProperty are not noted.
func (r *run) globalObject() *goja.Object {
	g := r.vm.GlobalObject()
	touch := func(k string) bool {
		if len(r.globalTouched) < maxGlobalKeys {
			r.globalTouched[k] = true
		}
		return true
	}
	p := r.vm.NewProxy(g, &goja.ProxyTrapConfig{
		Set: func(target *goja.Object, k string, v goja.Value, _ goja.Value) bool {
			return target.Set(k, v) == nil && touch(k)
		},
		DeleteProperty: func(target *goja.Object, k string) bool {
			r.host.Delete(k)
			return target.Delete(k) == nil && touch(k)
		},
	})
	return r.vm.ToValue(p).(*goja.Object)
}

// persistGlobal saves what the run did to `global`, unless Run gave up on it: the values
// set through it, and the kept values it read (they may have been changed in place), as
// JSON; kept values it did not touch stay as they were.
func (r *run) persistGlobal() {
	if r.abandoned.Load() || (len(r.globalTouched) == 0 && len(r.globalRead) == 0) {
		return
	}
	r.scriptDeadline = time.Now().Add(globalBudget)
	r.wd.arm(globalBudget)
	defer r.wd.disarm()
	after := map[string]string{}
	size := 0
	for k, v := range r.globalBefore {
		if !r.globalTouched[k] && !r.globalRead[k] {
			after[k] = v
			size += len(k) + len(v)
		}
	}
	changed := make(map[string]bool, len(r.globalTouched)+len(r.globalRead))
	for k := range r.globalTouched {
		changed[k] = true
	}
	for k := range r.globalRead {
		changed[k] = true
	}
	g := r.vm.GlobalObject()
	for _, k := range sortedKeys(changed) {
		if r.wd.fired() != nil {
			break
		}
		var v goja.Value
		if guard(r.vm, func() { v = g.Get(k) }) != nil {
			continue
		}
		b, ok, err := stringify(r.vm, v, maxGlobalBytes-size, r.outOfTime)
		if err != nil || !ok {
			continue
		}
		size += len(k) + len(b)
		after[k] = string(b)
	}
	if r.wd.fired() != nil || r.abandoned.Load() {
		return
	}
	r.e.global.update(r.globalBefore, after)
}

// actionCache backs api.cache: per Engine, per action.
type actionCache struct {
	mu       sync.Mutex
	byScript map[string]map[string]cacheEntry
}

type cacheEntry struct {
	value   string
	expires time.Time
}

const cacheMaxScripts = 1024

func newActionCache() *actionCache {
	return &actionCache{byScript: map[string]map[string]cacheEntry{}}
}

func (c *actionCache) get(script, key string, now time.Time) (cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byScript[script][key]
	if !ok || !e.expires.After(now) {
		return cacheEntry{}, false
	}
	return e, true
}

func (c *actionCache) set(script, key string, e cacheEntry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.byScript[script]
	if m == nil {
		if len(c.byScript) >= cacheMaxScripts {
			clear(c.byScript)
		}
		m = map[string]cacheEntry{}
		c.byScript[script] = m
	}
	for k, old := range m {
		if !old.expires.After(now) {
			delete(m, k)
		}
	}
	if _, exists := m[key]; !exists && len(m) >= cacheMaxEntries {
		var victim string
		var soonest time.Time
		for k, old := range m {
			if victim == "" || old.expires.Before(soonest) {
				victim, soonest = k, old.expires
			}
		}
		delete(m, victim)
	}
	m[key] = e
}

func (c *actionCache) delete(script, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byScript[script], key)
}
