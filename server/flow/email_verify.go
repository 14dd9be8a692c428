package flow

// Email verification: the link that sets email_verified, mailed after a signup (unless
// EmailSettings.NoSignupVerification), after an admin creates a user with an unverified
// address (unless verify_email is false) or asks for it (verify_email: true on a patch,
// POST /api/v2/jobs/verification-email), and the tickets an admin hands out
// (POST /api/v2/tickets/email-verification).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchauth/latch/mail"
	"github.com/latchauth/latch/storage"
)

// JobVerificationEmail is the type of the job POST /api/v2/jobs/verification-email answers
// with. The job is done when it is created: the message is queued by then.
const JobVerificationEmail = "verification_email"

// verifiedMessage is the message Auth0 adds to the result URL after a verification.
const verifiedMessage = "Your email was verified. You can continue using the application."

// sendVerification issues a verification ticket for u and queues its email, and records svr
// or fvr. The error says why nothing was queued.
func (s *Service) sendVerification(ctx context.Context, u storage.User, locale string, o ticketOptions) error {
	if u.Email == "" {
		return errors.New("the user has no email address")
	}
	ttl := s.email.settings.VerifyTTL
	link, err := s.issueTicket(ctx, storage.TicketVerifyEmail, u, ttl, o)
	if err != nil {
		s.log.ErrorContext(ctx, "verification email not sent", "user_id", u.ID, "error", err)
	} else {
		err = s.mailUser(ctx, mail.KindVerifyEmail, locale, u, link, ttl, "")
	}
	if err != nil {
		s.recordEmailEvent(ctx, EventFailedVerificationEmailRequest, "The verification email could not be sent", u, "", o.clientID)
		return err
	}
	s.recordEmailEvent(ctx, EventSuccessVerificationEmailRequest, "", u, "", o.clientID)
	return nil
}

// verifyLater sends u a verification email after the current request, unless there is no
// address, no way to mail, or (unless asked explicitly) nothing to verify.
func (s *Service) verifyLater(ctx context.Context, u storage.User, locale, clientID string, explicit bool) {
	if !s.email.enabled() || u.Email == "" || u.EmailVerified && !explicit {
		return
	}
	s.later(ctx, "verification email", func(ctx context.Context) {
		_ = s.sendVerification(ctx, u, locale, ticketOptions{clientID: clientID})
	})
}

// verifyAfterSignup is the verification email of a new database user. Database connections
// send it by default, as Auth0's do; EmailSettings.NoSignupVerification turns it off.
func (s *Service) verifyAfterSignup(ctx context.Context, u storage.User, req SignupRequest) {
	if s.email.settings.NoSignupVerification || !s.email.enabled() {
		return
	}
	s.verifyLater(ctx, u, s.mailLocale(req.Request.Language, userLocale(u)), req.ClientID, false)
}

// verifyAfterAdminWrite is the verification email of a user an admin created or changed:
// verify says what the request's verify_email asked. true sends one even for a verified
// address (Auth0: it "overrides email_verified"); not set, a creation sends one when the
// address is unverified, a change none.
func (s *Service) verifyAfterAdminWrite(ctx context.Context, u storage.User, verify Patch[bool], created bool) {
	switch {
	case verify.given() && verify.Value:
		s.verifyLater(ctx, u, s.mailLocale(userLocale(u)), "", true)
	case created && !verify.given():
		s.verifyLater(ctx, u, s.mailLocale(userLocale(u)), "", false)
	}
}

// VerifyEmail follows a verification link: the ticket is spent and the user's address marked
// verified, if it is still the address the link was sent to. Errors: ErrTicketInvalid,
// ErrEmailUnavailable. sv or fv goes to the event log.
func (s *Service) VerifyEmail(ctx context.Context, token string) (out TicketOutcome, err error) {
	if !s.email.enabled() {
		return TicketOutcome{}, ErrEmailUnavailable
	}
	var (
		t storage.Ticket
		u storage.User
	)
	defer func() {
		if err != nil {
			s.recordEmailEvent(ctx, EventFailedVerificationEmail, err.Error(), u, "", t.ClientID)
		} else {
			s.recordEmailEvent(ctx, EventSuccessVerificationEmail, "", u, "", t.ClientID)
		}
	}()
	if !validToken(token) {
		return TicketOutcome{}, ErrTicketInvalid
	}
	if t, u, err = s.useTicket(ctx, token, storage.TicketVerifyEmail); err != nil {
		return TicketOutcome{}, err
	}
	now := s.now()
	u, err = s.users.UpdateUser(ctx, u.ID, func(cur storage.User) (storage.User, error) {
		if !ticketAddressMatches(t, cur) { // the address changed since the ticket was read
			return cur, ErrTicketInvalid
		}
		if !cur.EmailVerified {
			cur.EmailVerified, cur.UpdatedAt = true, now
		}
		return cur, nil
	})
	if err != nil {
		return TicketOutcome{}, ticketError(err)
	}
	// The address is verified: other links for it have nothing left to do.
	if _, rerr := s.email.tickets.RevokeUserTickets(ctx, u.ID, storage.TicketVerifyEmail); rerr != nil {
		s.log.WarnContext(ctx, "revoking the other verification links", "user_id", u.ID, "error", rerr)
	}
	return TicketOutcome{Email: u.Email, RedirectURL: resultRedirect(t, u.Email, verifiedMessage)}, nil
}

// ---------------------------------------------------------------------------------------
// Management API

// EmailVerificationTicketRequest is the body of POST /api/v2/tickets/email-verification.
type EmailVerificationTicketRequest struct {
	UserID    string
	ClientID  string
	ResultURL string
	// TTLSeconds is the ticket's lifetime; 0 means EmailSettings.VerifyTTL.
	TTLSeconds             int
	IncludeEmailInRedirect bool
}

// CreateEmailVerificationTicket makes a verification link for an admin to hand to the user
// (nothing is mailed). Errors: *InvalidRequestError, storage.ErrNotFound (no such user),
// ErrEmailUnavailable.
func (s *Service) CreateEmailVerificationTicket(ctx context.Context, r EmailVerificationTicketRequest) (string, error) {
	if !s.email.enabled() {
		return "", ErrEmailUnavailable
	}
	ttl, err := ticketTTL(r.TTLSeconds, s.email.settings.VerifyTTL)
	if err != nil {
		return "", err
	}
	if err := s.checkTicketTarget(ctx, r.ClientID, r.ResultURL); err != nil {
		return "", err
	}
	u, err := s.ticketSubject(ctx, r.UserID)
	if err != nil {
		return "", err
	}
	return s.issueTicket(ctx, storage.TicketVerifyEmail, u, ttl, ticketOptions{
		clientID: r.ClientID, resultURL: r.ResultURL, includeEmail: r.IncludeEmailInRedirect,
	})
}

// VerificationEmailJobRequest is the body of POST /api/v2/jobs/verification-email.
type VerificationEmailJobRequest struct {
	UserID   string
	ClientID string
}

// SendVerificationEmailJob mails the user a verification link now and answers with Auth0's
// job, completed (the message is queued; a delivery failure shows in the event log as fvr).
// The job is kept like the other jobs when the store keeps jobs.
func (s *Service) SendVerificationEmailJob(ctx context.Context, r VerificationEmailJobRequest) (storage.Job, error) {
	if !s.email.enabled() {
		return storage.Job{}, ErrEmailUnavailable
	}
	if err := s.checkTicketTarget(ctx, r.ClientID, ""); err != nil {
		return storage.Job{}, err
	}
	u, err := s.ticketSubject(ctx, r.UserID)
	if err != nil {
		return storage.Job{}, err
	}
	if err := s.sendVerification(ctx, u, s.mailLocale(userLocale(u)), ticketOptions{clientID: r.ClientID}); err != nil {
		return storage.Job{}, fmt.Errorf("send the verification email: %w", err)
	}
	now := s.now()
	j := storage.Job{
		ID: newJobID(), Type: JobVerificationEmail, Status: storage.JobCompleted,
		CreatedAt: now, UpdatedAt: now, CompletedAt: now, ExpiresAt: now.Add(s.jobSettings.Retention),
	}
	if s.jobs != nil {
		if err := s.jobs.CreateJob(ctx, j); err != nil {
			return storage.Job{}, fmt.Errorf("create job: %w", err)
		}
	}
	return j, nil
}

// ticketTTL is the lifetime an admin asked for in ttl_sec (0: def), within MaxTicketTTL.
func ticketTTL(seconds int, def time.Duration) (time.Duration, error) {
	switch {
	case seconds == 0:
		return def, nil
	case seconds < 0 || time.Duration(seconds)*time.Second > MaxTicketTTL:
		return 0, payloadError("ttl_sec", "'Value %d is out of range 0 to %d' on property ttl_sec.", seconds, int(MaxTicketTTL/time.Second))
	}
	return time.Duration(seconds) * time.Second, nil
}

// checkTicketTarget validates a ticket's client_id (it must exist) and result_url (a URL a
// browser may be sent to).
func (s *Service) checkTicketTarget(ctx context.Context, clientID, resultURL string) error {
	if clientID != "" {
		if _, err := s.clients.GetClient(ctx, clientID); errors.Is(err, storage.ErrNotFound) {
			return payloadError("client_id", "'The client does not exist: %s' on property client_id.", quoteInput(clientID))
		} else if err != nil {
			return err
		}
	}
	if resultURL != "" && (len(resultURL) > maxClientURLLen || !isRedirectURL(resultURL)) {
		return payloadError("result_url", "'Object didn't pass validation for format absolute URL: %s' on property result_url.", quoteInput(resultURL))
	}
	return nil
}

// ticketSubject finds the user a ticket is for; they need an address to be mailed at.
func (s *Service) ticketSubject(ctx context.Context, userID string) (storage.User, error) {
	if userID == "" {
		return storage.User{}, missingProperty("user_id")
	}
	u, err := s.users.GetUser(ctx, userID)
	if err != nil {
		return storage.User{}, err
	}
	if u.Email == "" {
		return storage.User{}, payloadError("user_id", "'The user has no email address' on property user_id.")
	}
	return u, nil
}
