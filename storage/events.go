package storage

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// Event is one entry of the auth event log (Auth0's tenant logs): a login, a signup, a
// token exchange, a Management API write... Type is Auth0's log event type code ("s",
// "fp", "seacft", "sapi", ...). Every field but ID, Type and Date may be empty.
type Event struct {
	// ID is the log_id: see NewEventIDs. Ids sort in the order events were written.
	ID   string
	Type string
	// Date is when the event happened (UTC, milliseconds).
	Date        time.Time
	Description string

	UserID       string
	UserName     string
	ClientID     string
	ClientName   string
	Connection   string
	ConnectionID string
	Strategy     string
	StrategyType string
	Audience     string
	Scope        string

	IP        string
	UserAgent string
	Hostname  string

	// Details is free-form: the error, the rules' outcome and console output, the request
	// of a Management API write. The writer bounds its size.
	Details Metadata
}

// EventQuery selects events. The zero value selects every event, newest first.
type EventQuery struct {
	// Types keeps events of any of these types; empty keeps every type.
	Types    []string
	UserID   string
	ClientID string
	// From (inclusive) and To (exclusive) bound the event's Date; zero leaves that side open.
	From, To time.Time
	// Oldest lists oldest first; newest first otherwise. Events of the same millisecond
	// come in id order (reversed for newest first), so the order is stable.
	Oldest bool
	Page   Page
}

// Events stores the auth event log. Events are written by one background writer per
// instance, in batches, and never change once written.
type Events interface {
	// AppendEvents stores events in one atomic step: all or none. ErrAlreadyExists when an
	// id is taken.
	AppendEvents(ctx context.Context, events []Event) error
	// GetEvent finds an event by log_id; ErrNotFound when there is none.
	GetEvent(ctx context.Context, id string) (Event, error)
	// ListEvents returns one page of the events that q selects, and how many it selects in
	// all.
	ListEvents(ctx context.Context, q EventQuery) ([]Event, int, error)
	// EventsAfter returns up to limit events whose id sorts after afterID ("" from the
	// first), by ascending id: Auth0's "checkpoint" paging, which a log shipper follows
	// without missing events written late.
	EventsAfter(ctx context.Context, afterID string, limit int) ([]Event, error)
	// DeleteEventsBefore removes the events whose Date is before t and says how many.
	DeleteEventsBefore(ctx context.Context, t time.Time) (int, error)
}

// EventIDs makes log_ids shaped like Auth0's: 56 digits, "900", the UTC time to the
// millisecond (yyyymmddhhmmssSSS), then 36 digits that are random for each new millisecond
// and count up within one. Ids from one generator therefore sort strictly in the order they
// were made, and ids from generators on different instances sort by time first. Use one
// generator per process (the event writer); it is safe for concurrent use.
type EventIDs struct {
	mu     sync.Mutex
	lastMS int64
	hi, lo uint64 // the 36 digits, as two numbers below 10^18
}

// NewEventIDs returns a generator.
func NewEventIDs() *EventIDs { return &EventIDs{} }

const eighteenDigits = 1_000_000_000_000_000_000

// Next returns the id of an event written at t. A t at or before the previous id's
// millisecond (a clock stepping back) continues from that millisecond, so ids never go
// backwards.
func (g *EventIDs) Next(t time.Time) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := t.UnixMilli()
	if ms > g.lastMS {
		g.lastMS = ms
		var b [16]byte
		_, _ = rand.Read(b[:])
		g.hi = binary.BigEndian.Uint64(b[:8]) % eighteenDigits
		// Leave room to count up within the millisecond without carrying into hi.
		g.lo = binary.BigEndian.Uint64(b[8:]) % (eighteenDigits / 2)
	} else {
		g.lo++
		if g.lo == eighteenDigits {
			g.lo = 0
			g.hi = (g.hi + 1) % eighteenDigits
		}
	}
	stamp := time.UnixMilli(g.lastMS).UTC()
	return fmt.Sprintf("900%s%03d%018d%018d", stamp.Format("20060102150405"), stamp.Nanosecond()/int(time.Millisecond), g.hi, g.lo)
}
