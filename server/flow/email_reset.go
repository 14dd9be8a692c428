package flow

// Password reset: POST /dbconnections/change_password (AUTH0-COMPAT §2.2) mails a link to
// the hosted reset page, and POST /api/v2/tickets/password-change makes one for an admin. A
// successful reset sets the password, lifts brute-force blocks (§6.1), revokes the user's
// refresh tokens and SSO sessions, and mails "your password was changed".

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/latchauth/latch/mail"
	"github.com/latchauth/latch/storage"
)

// Throttles of password-reset requests, counted for every well-formed request whether or not
// the address has an account (so they tell nothing about accounts): an IP may ask
// ResetIPBurst times at once and once more every ResetIPInterval (50 an hour); an address
// may be asked for ResetEmailBurst times at once and once more every ResetEmailInterval (3 an
// hour), so that nobody can fill a mailbox with reset links.
const (
	ResetIPBurst       = 50
	ResetIPInterval    = 72 * time.Second
	ResetEmailBurst    = 3
	ResetEmailInterval = 20 * time.Minute
)

var (
	resetIPThrottle    = storage.Limit{Burst: ResetIPBurst, Interval: ResetIPInterval}
	resetEmailThrottle = storage.Limit{Burst: ResetEmailBurst, Interval: ResetEmailInterval}
)

// PasswordResetRequest is POST /dbconnections/change_password.
type PasswordResetRequest struct {
	ClientID   string
	Connection string
	Email      string
	// IP is the client's address, which the IP throttle counts.
	IP string
	// Locale is the language of the email, as the page's negotiation chose it.
	Locale string
}

// RequestPasswordReset answers a reset request. It returns nil whether or not the address has
// an account, and in the same time: what follows the throttles (finding the user, storing
// the ticket, queueing the email) runs after the answer. Errors are about the request
// itself: *InvalidRequestError (no or bad connection or email), ErrClientAuth (unknown
// client), a *ThrottledError wrapping ErrTooManyResetRequests, ErrEmailUnavailable.
func (s *Service) RequestPasswordReset(ctx context.Context, r PasswordResetRequest) error {
	if !s.email.enabled() {
		return ErrEmailUnavailable
	}
	if r.ClientID != "" {
		if _, err := s.clients.GetClient(ctx, r.ClientID); errors.Is(err, storage.ErrNotFound) {
			return ErrClientAuth
		} else if err != nil {
			return err
		}
	}
	conn, err := s.databaseConnection(ctx, r.Connection, r.ClientID)
	if err != nil {
		return err
	}
	email, err := normalizeEmail(r.Email)
	if err != nil {
		return err
	}
	if err := s.takeResetRequest(ctx, r.IP, conn.Name, email); err != nil {
		s.recordEmailEvent(ctx, EventFailedChangePasswordRequest, "Too many password reset requests", storage.User{}, email, r.ClientID)
		return err
	}
	s.later(ctx, "password reset email", func(ctx context.Context) { s.sendReset(ctx, conn, email, r) })
	return nil
}

// takeResetRequest counts a reset request against its IP and its address, or refuses it.
func (s *Service) takeResetRequest(ctx context.Context, ip, connection, email string) error {
	if s.shortLived == nil {
		return nil
	}
	take := func(key string, l storage.Limit) error {
		ok, wait, err := s.shortLived.TakeRate(ctx, key, l)
		if err != nil {
			// Without the counters nothing bounds the mail a flood would send: refuse.
			return fmt.Errorf("password reset throttle: %w", err)
		}
		if !ok {
			return &ThrottledError{Err: ErrTooManyResetRequests, RetryAfter: wait}
		}
		return nil
	}
	if ip != "" && !s.exempt(ip) {
		if err := take("reset-ip:"+ip, resetIPThrottle); err != nil {
			return err
		}
	}
	// The key names the address by its hash, so the shared state holds no addresses.
	sum := sha256.Sum256([]byte(connection + "\x00" + email))
	return take("reset-email:"+hex.EncodeToString(sum[:16]), resetEmailThrottle)
}

// sendReset mails the user of email a reset link, if there is one; scpr or fcpr goes to the
// event log.
func (s *Service) sendReset(ctx context.Context, conn storage.Connection, email string, r PasswordResetRequest) {
	u, err := s.users.GetUserByEmail(ctx, conn.Name, email)
	if errors.Is(err, storage.ErrNotFound) {
		s.recordEmailEvent(ctx, EventFailedChangePasswordRequest, "No user with this email in connection "+conn.Name, storage.User{}, email, r.ClientID)
		return
	}
	if err == nil {
		ttl := s.email.settings.ResetTTL
		var link string
		if link, err = s.issueTicket(ctx, storage.TicketResetPassword, u, ttl, ticketOptions{clientID: r.ClientID}); err == nil {
			err = s.mailUser(ctx, mail.KindResetPassword, r.Locale, u, link, ttl, "")
		}
	}
	if err != nil {
		s.log.ErrorContext(ctx, "password reset email not sent", "connection", conn.Name, "error", err)
		s.recordEmailEvent(ctx, EventFailedChangePasswordRequest, "The password reset email could not be sent", u, email, r.ClientID)
		return
	}
	s.recordEmailEvent(ctx, EventSuccessChangePasswordRequest, "", u, email, r.ClientID)
}

// ResetPage is what the hosted reset page shows: whose password it is, and the policy of
// their connection.
type ResetPage struct {
	Email      string
	Connection storage.Connection
}

// PasswordResetPage checks a reset link without spending it. Errors: ErrTicketInvalid,
// ErrEmailUnavailable.
func (s *Service) PasswordResetPage(ctx context.Context, token string) (ResetPage, error) {
	if !s.email.enabled() {
		return ResetPage{}, ErrEmailUnavailable
	}
	if !validToken(token) {
		return ResetPage{}, ErrTicketInvalid
	}
	_, u, err := s.peekTicket(ctx, token, storage.TicketResetPassword)
	if err != nil {
		return ResetPage{}, err
	}
	conn, err := s.connections.GetConnectionByName(ctx, u.Connection)
	if err != nil {
		return ResetPage{}, fmt.Errorf("connection of user: %w", err)
	}
	return ResetPage{Email: u.Email, Connection: conn}, nil
}

// PasswordReset is the reset page's submission.
type PasswordReset struct {
	Token    string
	Password string
	// Locale is the language of the "password changed" email.
	Locale string
}

// ResetPassword sets a new password with a reset link. The password is checked against the
// connection's policy before the link is spent, so a refused password can be corrected; then
// the ticket is spent (once: a second submit fails) and the password set, with
// last_password_reset, atomically. Errors: ErrTicketInvalid, *WeakPasswordError,
// ErrPasswordInDictionary, *InvalidRequestError (no password), ErrBusy,
// ErrEmailUnavailable. scp or fcp goes to the event log.
func (s *Service) ResetPassword(ctx context.Context, r PasswordReset) (out TicketOutcome, err error) {
	if !s.email.enabled() {
		return TicketOutcome{}, ErrEmailUnavailable
	}
	var (
		t storage.Ticket
		u storage.User
	)
	defer func() {
		if err != nil {
			desc, _ := failureText(err)
			if errors.Is(err, ErrTicketInvalid) {
				desc = err.Error()
			}
			s.recordEmailEvent(ctx, EventFailedChangePassword, desc, u, "", t.ClientID)
		} else {
			s.recordEmailEvent(ctx, EventSuccessChangePassword, "", u, "", t.ClientID)
		}
	}()
	if !validToken(r.Token) {
		return TicketOutcome{}, ErrTicketInvalid
	}
	if t, u, err = s.peekTicket(ctx, r.Token, storage.TicketResetPassword); err != nil {
		return TicketOutcome{}, err
	}
	if r.Password == "" {
		return TicketOutcome{}, missing("password")
	}
	conn, err := s.connections.GetConnectionByName(ctx, u.Connection)
	if err != nil {
		return TicketOutcome{}, fmt.Errorf("connection of user: %w", err)
	}
	if err := s.checkPassword(conn, r.Password); err != nil {
		return TicketOutcome{}, err
	}
	hash, err := s.hashPassword(ctx, r.Password)
	if err != nil {
		return TicketOutcome{}, err
	}
	// Spent here, once the password is known to be acceptable.
	if t, _, err = s.useTicket(ctx, r.Token, storage.TicketResetPassword); err != nil {
		return TicketOutcome{}, err
	}
	now := s.now()
	u, err = s.passwords.UpdateUserAndPassword(ctx, u.ID, hash, func(cur storage.User) (storage.User, error) {
		if !ticketAddressMatches(t, cur) {
			return cur, ErrTicketInvalid
		}
		cur.LastPasswordReset, cur.UpdatedAt = now, now
		if t.MarkEmailVerified {
			cur.EmailVerified = true
		}
		return cur, nil
	})
	if err != nil {
		return TicketOutcome{}, ticketError(err)
	}
	s.afterPasswordReset(ctx, u, r.Locale)
	return TicketOutcome{Email: u.Email, RedirectURL: resultRedirect(t, u.Email, "")}, nil
}

// afterPasswordReset ends what the old password opened: brute-force blocks are lifted, the
// user's refresh tokens and SSO sessions revoked, the other reset links spent; then the user
// is told. The password is set by now, so failures here are logged, not returned.
func (s *Service) afterPasswordReset(ctx context.Context, u storage.User, locale string) {
	if err := s.Unblock(ctx, u.Email, u.Username); err != nil {
		s.log.WarnContext(ctx, "lifting brute-force blocks after a password reset", "user_id", u.ID, "error", err)
	}
	if _, err := s.refreshTokens.RevokeUserRefreshTokens(ctx, u.ID); err != nil {
		s.log.ErrorContext(ctx, "revoking refresh tokens after a password reset", "user_id", u.ID, "error", err)
	}
	if s.shortLived != nil {
		if _, err := s.shortLived.DeleteUserSessions(ctx, u.ID); err != nil {
			s.log.ErrorContext(ctx, "ending SSO sessions after a password reset", "user_id", u.ID, "error", err)
		}
	}
	if _, err := s.email.tickets.RevokeUserTickets(ctx, u.ID, storage.TicketResetPassword); err != nil {
		s.log.WarnContext(ctx, "revoking the other reset links", "user_id", u.ID, "error", err)
	}
	s.later(ctx, "password changed email", func(ctx context.Context) {
		if err := s.mailUser(ctx, mail.KindPasswordChanged, s.mailLocale(locale, userLocale(u)), u, "", 0, ""); err != nil {
			s.recordEmailEvent(ctx, EventFailedNotification, "The password changed notice could not be sent", u, "", "")
		}
	})
}

// PasswordChangeTicketRequest is the body of POST /api/v2/tickets/password-change: the user
// by id, or by connection id and email.
type PasswordChangeTicketRequest struct {
	UserID       string
	ConnectionID string
	Email        string
	ClientID     string
	ResultURL    string
	// TTLSeconds is the ticket's lifetime; 0 means EmailSettings.ResetTTL.
	TTLSeconds             int
	MarkEmailAsVerified    bool
	IncludeEmailInRedirect bool
}

// CreatePasswordChangeTicket makes a reset link for an admin to hand to the user (nothing is
// mailed). Errors: *InvalidRequestError, storage.ErrNotFound (no such user),
// ErrConnectionNotFound, ErrEmailUnavailable.
func (s *Service) CreatePasswordChangeTicket(ctx context.Context, r PasswordChangeTicketRequest) (string, error) {
	if !s.email.enabled() {
		return "", ErrEmailUnavailable
	}
	ttl, err := ticketTTL(r.TTLSeconds, s.email.settings.ResetTTL)
	if err != nil {
		return "", err
	}
	if err := s.checkTicketTarget(ctx, r.ClientID, r.ResultURL); err != nil {
		return "", err
	}
	var u storage.User
	switch {
	case r.UserID != "" && (r.ConnectionID != "" || r.Email != ""):
		return "", payloadError("user_id", "'user_id cannot be given with connection_id or email'.")
	case r.UserID != "":
		if u, err = s.ticketSubject(ctx, r.UserID); err != nil {
			return "", err
		}
	case r.ConnectionID == "" || r.Email == "":
		return "", payloadError("user_id", "'Give user_id, or connection_id and email'.")
	default:
		conn, err := s.jobConnection(ctx, r.ConnectionID)
		if err != nil {
			return "", err
		}
		email, err := adminEmail(r.Email)
		if err != nil {
			return "", err
		}
		if u, err = s.users.GetUserByEmail(ctx, conn.Name, email); err != nil {
			return "", err
		}
	}
	return s.issueTicket(ctx, storage.TicketResetPassword, u, ttl, ticketOptions{
		clientID: r.ClientID, resultURL: r.ResultURL, includeEmail: r.IncludeEmailInRedirect,
		markVerified: r.MarkEmailAsVerified,
	})
}

// ResetRequestForm is the hosted forgot-password page's submission, within a login
// transaction (whose client and connection it asks for).
type ResetRequestForm struct {
	TransactionID string
	CSRF          string
	Email         string
	IP            string
	Locale        string
}

// RequestPasswordResetForm checks the form's transaction and CSRF token and asks for the
// reset email as RequestPasswordReset does. Errors: those of RequestPasswordReset, and
// ErrTransactionNotFound or ErrCSRF for a stale form.
func (s *Service) RequestPasswordResetForm(ctx context.Context, f ResetRequestForm) error {
	page, _, err := s.formTransaction(ctx, f.TransactionID, f.CSRF)
	if err != nil {
		return err
	}
	return s.RequestPasswordReset(ctx, PasswordResetRequest{
		ClientID: page.Client.ID, Connection: page.Connection.Name, Email: f.Email, IP: f.IP, Locale: f.Locale,
	})
}
