package flow

// Brute-force notifications (AUTH0-COMPAT §6.1): when failed logins from one IP block an
// account's identifier, the account's owner is mailed a notice with an unblock link, at most
// once an hour per IP, so that an attacker spraying accounts from one address cannot turn
// latch into a mail cannon.

import (
	"context"
	"time"

	"github.com/latchauth/latch/mail"
	"github.com/latchauth/latch/storage"
)

// blockedMailThrottle allows one blocked-account notice per IP an hour.
var blockedMailThrottle = storage.Limit{Burst: 1, Interval: time.Hour}

// unblockedMessage is added to a result URL after an unblock.
const unblockedMessage = "Your account was unblocked."

// tracedUser is the user the login in ctx named (zero when it named nobody, or ctx carries
// no login).
func tracedUser(ctx context.Context) storage.User {
	if tr := traceOf(ctx); tr != nil {
		return tr.user
	}
	return storage.User{}
}

// notifyBlocked mails u the notice that failed logins from ip blocked their account, with an
// unblock link; u is zero when the identifier names nobody, and then nothing is sent.
func (s *Service) notifyBlocked(ctx context.Context, u storage.User, ip string) {
	if !s.email.enabled() || u.ID == "" || u.Email == "" {
		return
	}
	if s.shortLived != nil && ip != "" {
		ok, _, err := s.shortLived.TakeRate(ctx, "blocked-mail:"+ip, blockedMailThrottle)
		if err != nil {
			s.log.WarnContext(ctx, "blocked-account notice: throttle", "error", err)
			return
		}
		if !ok {
			return // this IP already caused a notice this hour
		}
	}
	locale := s.mailLocale(userLocale(u))
	s.later(ctx, "blocked-account email", func(ctx context.Context) {
		ttl := s.email.settings.UnblockTTL
		link, err := s.issueTicket(ctx, storage.TicketUnblock, u, ttl, ticketOptions{})
		if err != nil {
			s.log.ErrorContext(ctx, "blocked-account notice not sent", "user_id", u.ID, "error", err)
		} else {
			err = s.mailUser(ctx, mail.KindBlockedAccount, locale, u, link, ttl, ip)
		}
		if err != nil {
			s.recordEmailEvent(ctx, EventFailedNotification, "The blocked-account notice could not be sent", u, "", "")
		}
	})
}

// UnblockAccount follows an unblock link: the ticket is spent and the brute-force blocks of
// the user's identifiers (email and username) lifted from every IP. Errors:
// ErrTicketInvalid, ErrEmailUnavailable. ublkdu goes to the event log.
func (s *Service) UnblockAccount(ctx context.Context, token string) (TicketOutcome, error) {
	if !s.email.enabled() {
		return TicketOutcome{}, ErrEmailUnavailable
	}
	if !validToken(token) {
		return TicketOutcome{}, ErrTicketInvalid
	}
	t, u, err := s.useTicket(ctx, token, storage.TicketUnblock)
	if err != nil {
		return TicketOutcome{}, err
	}
	if err := s.Unblock(ctx, u.Email, u.Username); err != nil {
		return TicketOutcome{}, err
	}
	if _, err := s.email.tickets.RevokeUserTickets(ctx, u.ID, storage.TicketUnblock); err != nil {
		s.log.WarnContext(ctx, "revoking the other unblock links", "user_id", u.ID, "error", err)
	}
	s.recordEmailEvent(ctx, EventUserUnblocked, "User login block released by the user's unblock link", u, "", t.ClientID)
	return TicketOutcome{Email: u.Email, RedirectURL: resultRedirect(t, u.Email, unblockedMessage)}, nil
}
