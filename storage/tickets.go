package storage

import (
	"context"
	"time"
)

// Ticket kinds: what following a ticket's link does.
const (
	// TicketVerifyEmail marks the user's address verified.
	TicketVerifyEmail = "verify_email"
	// TicketResetPassword lets the user choose a new password.
	TicketResetPassword = "reset_password"
	// TicketUnblock lifts the brute-force blocks of the user's identifiers.
	TicketUnblock = "unblock"
)

// Ticket is the single-use secret behind a link latch mails to a user (or that the
// Management API hands to an admin): verify an address, reset a password, unblock an
// account. The token in the link is never stored: ID is its SHA-256 (hex, TokenID), so a copy
// of the store cannot be replayed as links.
//
// A ticket is bound to its user and to the address it was issued for: the flows refuse it
// once the user's email is another one, so a link sent to an old address stops working
// when the address changes.
type Ticket struct {
	ID     string
	Kind   string // TicketVerifyEmail, TicketResetPassword or TicketUnblock
	UserID string
	// Email is the user's address (lower-cased) when the ticket was issued.
	Email string
	// ClientID names the application the ticket was issued for ("" for none).
	ClientID string
	// ResultURL is where the user goes once the ticket is used ("" for latch's own page);
	// with IncludeEmailInRedirect the address is added to it.
	ResultURL              string
	IncludeEmailInRedirect bool
	// MarkEmailVerified (password resets) also marks the address verified: following the
	// link proved the user reads it.
	MarkEmailVerified bool

	CreatedAt time.Time
	ExpiresAt time.Time
}

// Tickets stores tickets. It is durable (a link outlives a restart) and kept apart from
// Store, like Jobs, so that a backend can offer it or not.
//
// Expiry is judged against the now the caller passes, so that the service's clock decides
// (and tests can move it); an expired ticket is as good as gone.
type Tickets interface {
	// CreateTicket stores t. ErrAlreadyExists when the id is taken.
	CreateTicket(ctx context.Context, t Ticket) error
	// GetTicket returns the ticket of this id and kind that has not expired at now, without
	// using it up; ErrNotFound for an unknown, used, revoked or expired ticket, or one of
	// another kind.
	GetTicket(ctx context.Context, id, kind string, now time.Time) (Ticket, error)
	// ConsumeTicket uses the ticket up and returns it, atomically: of any number of
	// concurrent calls for one ticket, exactly one succeeds. ErrNotFound (and nothing
	// changes) for an unknown, used, revoked or expired ticket, or one of another kind —
	// so a link of one kind presented where another is expected is not spent.
	ConsumeTicket(ctx context.Context, id, kind string, now time.Time) (Ticket, error)
	// RevokeUserTickets deletes the user's tickets of kind ("" for every kind) and says how
	// many there were.
	RevokeUserTickets(ctx context.Context, userID, kind string) (int, error)
	// DeleteExpiredTickets deletes the tickets that expired before now and says how many.
	DeleteExpiredTickets(ctx context.Context, now time.Time) (int, error)
}
