// Package inproc keeps latch's shared, short-lived state in the process: right for a single
// instance. Several instances share it through Redis instead.
package inproc

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/latchauth/latch/storage"
)

// maxIdentifiers bounds the identifiers tracked, so that a flood of logins for made-up
// names cannot grow memory without end: past it, lapsed entries are swept, and if that is
// not enough the oldest entries go.
const maxIdentifiers = 100_000

// LoginFailures implements storage.LoginFailures in memory.
type LoginFailures struct {
	mu  sync.Mutex
	now func() time.Time
	ids map[string]map[string]failure // identifier -> ip -> failure
}

type failure struct {
	count   int
	expires time.Time
}

var _ storage.LoginFailures = (*LoginFailures)(nil)

// NewLoginFailures returns an empty counter; now is its clock (nil: time.Now).
func NewLoginFailures(now func() time.Time) *LoginFailures {
	if now == nil {
		now = time.Now
	}
	return &LoginFailures{now: now, ids: map[string]map[string]failure{}}
}

// FailureCount implements storage.LoginFailures.
func (l *LoginFailures) FailureCount(_ context.Context, identifier, ip string) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.ids[identifier][ip]
	if !ok || !l.now().Before(f.expires) {
		return 0, nil
	}
	return f.count, nil
}

// RecordFailure implements storage.LoginFailures.
func (l *LoginFailures) RecordFailure(_ context.Context, identifier, ip string, ttl time.Duration) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	ips, ok := l.ids[identifier]
	if !ok {
		if len(l.ids) >= maxIdentifiers {
			l.sweep(now)
		}
		ips = map[string]failure{}
		l.ids[identifier] = ips
	}
	f := ips[ip]
	if !now.Before(f.expires) {
		f.count = 0
	}
	f.count++
	f.expires = now.Add(ttl)
	ips[ip] = f
	return f.count, nil
}

// ClearFailures implements storage.LoginFailures.
func (l *LoginFailures) ClearFailures(_ context.Context, identifier, ip string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ip == "" {
		delete(l.ids, identifier)
		return nil
	}
	delete(l.ids[identifier], ip)
	if len(l.ids[identifier]) == 0 {
		delete(l.ids, identifier)
	}
	return nil
}

// BlockedIPs implements storage.LoginFailures.
func (l *LoginFailures) BlockedIPs(_ context.Context, identifier string, threshold int) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var out []string
	for ip, f := range l.ids[identifier] {
		if now.Before(f.expires) && f.count >= threshold {
			out = append(out, ip)
		}
	}
	slices.Sort(out)
	return out, nil
}

// sweep drops lapsed entries, and then, if still full, the entries that lapse soonest.
func (l *LoginFailures) sweep(now time.Time) {
	type lapse struct {
		id string
		at time.Time
	}
	var all []lapse
	for id, ips := range l.ids {
		latest := time.Time{}
		for ip, f := range ips {
			if !now.Before(f.expires) {
				delete(ips, ip)
				continue
			}
			if f.expires.After(latest) {
				latest = f.expires
			}
		}
		if len(ips) == 0 {
			delete(l.ids, id)
			continue
		}
		all = append(all, lapse{id, latest})
	}
	if len(l.ids) < maxIdentifiers {
		return
	}
	slices.SortFunc(all, func(a, b lapse) int { return a.at.Compare(b.at) })
	for _, e := range all[:len(all)/10+1] {
		delete(l.ids, e.id)
	}
}
