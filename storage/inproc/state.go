package inproc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/latchauth/latch/storage"
)

// minSweep is the size below which a table is never swept.
const minSweep = 1024

// State implements storage.ShortLived in memory: logins in progress, SSO sessions,
// authorization codes, rate limits (ratelimit.go), and (through the embedded LoginFailures)
// failure counters.
//
// Memory is bounded without a background goroutine. A write that finds a table (one per
// kind of record) at its sweep threshold first drops every record that is gone (expired;
// for a used code, past ExpiresAt plus storage.UsedCodeMemory), then sets the next
// threshold to twice what survived, and at least minSweep. So a table never holds more than
// max(minSweep, 2 × the records alive at its last sweep), and a sweep costs at most two
// steps per write since the previous one. Reads also drop the expired record they find.
// Live records are never evicted: the contract lets a backend forget a record only after
// it expires, so what bounds the live ones is their lifetime and the rate they are made at.
//
// Records are copied in and out: a value passed to or returned by State shares no slice or
// map with what State keeps. Times are kept as storage.Time normalises them. A record is
// gone once the clock is past its expiry (at the expiry instant itself, it is still there).
type State struct {
	*LoginFailures

	mu       sync.Mutex
	now      func() time.Time
	txs      table[storage.LoginTransaction]
	sessions table[storage.Session]
	codes    table[authCode]
	// byUser indexes sessions by user: user id -> session ids. Every session in sessions is
	// in it, and nothing else is.
	byUser map[string]map[string]struct{}

	rates rateTable // under its own lock
}

type authCode struct {
	c    storage.AuthCode
	used bool
}

var _ storage.ShortLived = (*State)(nil)

// New returns empty state; now is its clock (nil: time.Now).
func New(now func() time.Time) *State {
	if now == nil {
		now = time.Now
	}
	s := &State{
		LoginFailures: NewLoginFailures(now),
		now:           now,
		txs:           newTable(func(t storage.LoginTransaction) time.Time { return t.ExpiresAt }),
		sessions:      newTable(sessionEnd),
		codes:         newTable(codeEnd),
		byUser:        map[string]map[string]struct{}{},
	}
	s.sessions.dropped = s.unindex
	return s
}

// clock is the current instant as the store compares it with expiries.
func (s *State) clock() time.Time { return storage.Time(s.now()) }

// sessionEnd is when a session is gone: at the earlier of its idle and absolute ends; a zero
// IdleExpiresAt means no idle limit.
func sessionEnd(x storage.Session) time.Time {
	if x.IdleExpiresAt.IsZero() || x.ExpiresAt.Before(x.IdleExpiresAt) {
		return x.ExpiresAt
	}
	return x.IdleExpiresAt
}

// codeEnd is when a code is gone: at its expiry, unless it was used, in which case it is
// remembered UsedCodeMemory longer so that a replay is recognised.
func codeEnd(c authCode) time.Time {
	if c.used {
		return c.c.ExpiresAt.Add(storage.UsedCodeMemory)
	}
	return c.c.ExpiresAt
}

var errNoExpiry = errors.New("ExpiresAt is required")

// CreateTransaction implements storage.LoginTransactions.
func (s *State) CreateTransaction(_ context.Context, t storage.LoginTransaction) error {
	if t.ExpiresAt.IsZero() {
		return fmt.Errorf("inproc: create transaction: %w", errNoExpiry)
	}
	t.CreatedAt, t.ExpiresAt = storage.Time(t.CreatedAt), storage.Time(t.ExpiresAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.txs.insert(t.ID, t, s.clock()) {
		return fmt.Errorf("inproc: create transaction: %w", storage.ErrAlreadyExists)
	}
	return nil
}

// GetTransaction implements storage.LoginTransactions.
func (s *State) GetTransaction(_ context.Context, id string) (storage.LoginTransaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.txs.get(id, s.clock())
	if !ok {
		return storage.LoginTransaction{}, fmt.Errorf("inproc: get transaction: %w", storage.ErrNotFound)
	}
	return t, nil // no slice or map: the value is a copy
}

// DeleteTransaction implements storage.LoginTransactions.
func (s *State) DeleteTransaction(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.txs.remove(id, s.clock()) {
		return fmt.Errorf("inproc: delete transaction: %w", storage.ErrNotFound)
	}
	return nil
}

// normalSession returns a copy of x as the store keeps it.
func normalSession(x storage.Session) storage.Session {
	x.Clients = slices.Clone(x.Clients)
	x.AuthTime, x.CreatedAt = storage.Time(x.AuthTime), storage.Time(x.CreatedAt)
	x.LastSeen = storage.Time(x.LastSeen)
	x.IdleExpiresAt, x.ExpiresAt = storage.Time(x.IdleExpiresAt), storage.Time(x.ExpiresAt)
	return x
}

func copySession(x storage.Session) storage.Session {
	x.Clients = slices.Clone(x.Clients)
	return x
}

// CreateSession implements storage.Sessions.
func (s *State) CreateSession(_ context.Context, x storage.Session) error {
	if x.ExpiresAt.IsZero() {
		return fmt.Errorf("inproc: create session: %w", errNoExpiry)
	}
	x = normalSession(x)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sessions.insert(x.ID, x, s.clock()) {
		return fmt.Errorf("inproc: create session: %w", storage.ErrAlreadyExists)
	}
	s.index(x)
	return nil
}

// GetSession implements storage.Sessions.
func (s *State) GetSession(_ context.Context, id string) (storage.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.sessions.get(id, s.clock())
	if !ok {
		return storage.Session{}, fmt.Errorf("inproc: get session: %w", storage.ErrNotFound)
	}
	return copySession(x), nil
}

// UpdateSession implements storage.Sessions. The updater runs once, under the lock.
func (s *State) UpdateSession(_ context.Context, id string, update func(storage.Session) (storage.Session, error)) (storage.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.sessions.get(id, s.clock())
	if !ok {
		return storage.Session{}, fmt.Errorf("inproc: update session: %w", storage.ErrNotFound)
	}
	x, err := update(copySession(old))
	if err != nil {
		return storage.Session{}, err
	}
	if x.ExpiresAt.IsZero() {
		return storage.Session{}, fmt.Errorf("inproc: update session: %w", errNoExpiry)
	}
	x.ID = id
	x = normalSession(x)
	s.unindex(id, old)
	s.sessions.items[id] = x
	s.index(x)
	return copySession(x), nil
}

// DeleteSession implements storage.Sessions.
func (s *State) DeleteSession(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.sessions.remove(id, s.clock()) {
		return fmt.Errorf("inproc: delete session: %w", storage.ErrNotFound)
	}
	return nil
}

// DeleteUserSessions implements storage.Sessions. Sessions that had already expired are
// forgotten too, but not counted.
func (s *State) DeleteUserSessions(_ context.Context, userID string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	n := 0
	for id := range s.byUser[userID] {
		if s.sessions.remove(id, now) { // remove unindexes: ranging over a map while deleting is fine
			n++
		}
	}
	return n, nil
}

func (s *State) index(x storage.Session) {
	ids := s.byUser[x.UserID]
	if ids == nil {
		ids = map[string]struct{}{}
		s.byUser[x.UserID] = ids
	}
	ids[x.ID] = struct{}{}
}

// unindex is the sessions table's dropped hook: it runs for every session that leaves it.
func (s *State) unindex(id string, x storage.Session) {
	ids := s.byUser[x.UserID]
	delete(ids, id)
	if len(ids) == 0 {
		delete(s.byUser, x.UserID)
	}
}

// copyCode returns a copy of c that shares no map with it.
func copyCode(c storage.AuthCode) storage.AuthCode {
	c.IDClaims, c.AccessClaims = cloneMetadata(c.IDClaims), cloneMetadata(c.AccessClaims)
	return c
}

func cloneMetadata(m storage.Metadata) storage.Metadata {
	if m == nil {
		return nil
	}
	return m.Clone()
}

// CreateCode implements storage.AuthCodes.
func (s *State) CreateCode(_ context.Context, c storage.AuthCode) error {
	if c.ExpiresAt.IsZero() {
		return fmt.Errorf("inproc: create code: %w", errNoExpiry)
	}
	c = copyCode(c)
	c.AuthTime, c.CreatedAt, c.ExpiresAt = storage.Time(c.AuthTime), storage.Time(c.CreatedAt), storage.Time(c.ExpiresAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.codes.insert(c.ID, authCode{c: c}, s.clock()) {
		return fmt.Errorf("inproc: create code: %w", storage.ErrAlreadyExists)
	}
	return nil
}

// ConsumeCode implements storage.AuthCodes.
func (s *State) ConsumeCode(_ context.Context, id string) (storage.AuthCode, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	// An unused code is gone at its expiry, so get finds only unexpired unused codes, and
	// used codes within UsedCodeMemory of their expiry.
	c, ok := s.codes.get(id, now)
	if !ok {
		return storage.AuthCode{}, fmt.Errorf("inproc: consume code: %w", storage.ErrNotFound)
	}
	if c.used {
		return copyCode(c.c), fmt.Errorf("inproc: consume code: %w", storage.ErrCodeReused)
	}
	c.used = true
	s.codes.items[id] = c
	return copyCode(c.c), nil
}

// table is one kind of record by id, with the sweeping described on State. Its methods
// take the current instant and expect State's lock held.
type table[V any] struct {
	items   map[string]V
	end     func(V) time.Time // when the record is gone
	sweepAt int
	// dropped, when set, runs for every record that leaves the table.
	dropped func(id string, v V)
}

func newTable[V any](end func(V) time.Time) table[V] {
	return table[V]{items: map[string]V{}, end: end, sweepAt: minSweep}
}

func (t *table[V]) drop(id string, v V) {
	delete(t.items, id)
	if t.dropped != nil {
		t.dropped(id, v)
	}
}

// get returns the record unless it is unknown or gone (and then drops it).
func (t *table[V]) get(id string, now time.Time) (V, bool) {
	v, ok := t.items[id]
	if !ok {
		return v, false
	}
	if now.After(t.end(v)) {
		t.drop(id, v)
		var zero V
		return zero, false
	}
	return v, true
}

// insert stores v unless a record that is not gone holds the id.
func (t *table[V]) insert(id string, v V, now time.Time) bool {
	if _, ok := t.get(id, now); ok {
		return false
	}
	if len(t.items) >= t.sweepAt {
		t.sweep(now)
	}
	t.items[id] = v
	return true
}

// remove drops the record and says whether it was there (and not gone).
func (t *table[V]) remove(id string, now time.Time) bool {
	v, ok := t.get(id, now)
	if ok {
		t.drop(id, v)
	}
	return ok
}

func (t *table[V]) sweep(now time.Time) {
	for id, v := range t.items {
		if now.After(t.end(v)) {
			t.drop(id, v)
		}
	}
	t.sweepAt = max(minSweep, 2*len(t.items))
}
