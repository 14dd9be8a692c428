package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchauth/latch/storage"
)

var _ storage.Tickets = (*Store)(nil)

const ticketColumns = `id, kind, user_id, email, client_id, result_url, include_email_in_redirect,
	mark_email_verified, created_at, expires_at`

func scanTicket(sc scanner) (storage.Ticket, error) {
	var (
		t       storage.Ticket
		created int64
		expires int64
	)
	err := sc.Scan(&t.ID, &t.Kind, &t.UserID, &t.Email, &t.ClientID, &t.ResultURL,
		&t.IncludeEmailInRedirect, &t.MarkEmailVerified, &created, &expires)
	if err != nil {
		return storage.Ticket{}, err
	}
	t.CreatedAt, t.ExpiresAt = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	return t, nil
}

// Errors of the ticket methods never name the id: it finds the ticket as well as the token
// does, and errors end up in logs.

func (s *Store) CreateTicket(ctx context.Context, t storage.Ticket) error {
	const op = "create ticket"
	if t.ID == "" || t.Kind == "" || t.UserID == "" || t.CreatedAt.IsZero() || t.ExpiresAt.IsZero() {
		return fmt.Errorf("sqlite: %s: id, kind, user, creation and expiry are required", op)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO tickets (`+ticketColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Kind, t.UserID, t.Email, t.ClientID, t.ResultURL, t.IncludeEmailInRedirect, t.MarkEmailVerified,
		timeArg(t.CreatedAt), timeArg(t.ExpiresAt))
	return dbError(op, err)
}

func (s *Store) GetTicket(ctx context.Context, id, kind string, now time.Time) (storage.Ticket, error) {
	t, err := scanTicket(s.r.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets
		WHERE id = ? AND kind = ? AND expires_at > ?`, id, kind, timeArg(now)))
	if err != nil {
		return storage.Ticket{}, dbError("get ticket", err)
	}
	return t, nil
}

// ConsumeTicket deletes the ticket and returns the row it deleted, in one statement on the
// write connection: two consumers cannot both see the row.
func (s *Store) ConsumeTicket(ctx context.Context, id, kind string, now time.Time) (storage.Ticket, error) {
	t, err := scanTicket(s.w.QueryRowContext(ctx, `DELETE FROM tickets
		WHERE id = ? AND kind = ? AND expires_at > ? RETURNING `+ticketColumns, id, kind, timeArg(now)))
	if err != nil {
		return storage.Ticket{}, dbError("consume ticket", err)
	}
	return t, nil
}

func (s *Store) RevokeUserTickets(ctx context.Context, userID, kind string) (int, error) {
	op := fmt.Sprintf("revoke tickets of %q", userID)
	if kind == "" {
		res, err := s.w.ExecContext(ctx, `DELETE FROM tickets WHERE user_id = ?`, userID)
		return affected(op, res, err)
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM tickets WHERE user_id = ? AND kind = ?`, userID, kind)
	return affected(op, res, err)
}

func (s *Store) DeleteExpiredTickets(ctx context.Context, now time.Time) (int, error) {
	if now.IsZero() {
		return 0, errors.New("sqlite: delete expired tickets: now is zero")
	}
	res, err := s.w.ExecContext(ctx, `DELETE FROM tickets WHERE expires_at < ?`, timeArg(now))
	return affected("delete expired tickets", res, err)
}
