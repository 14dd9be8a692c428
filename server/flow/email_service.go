package flow

// The account lifecycle by email: a link to verify an address (after signup, or when an admin
// asks), a link to reset a forgotten password, a notice that the password changed, and a
// notice with an unblock link when brute-force protection blocks an account.
//
// Every link carries a ticket: 256 random bits that exist only in the message; the store
// keeps their SHA-256 (storage.Tickets). A ticket is for one kind of link, one user and the
// address it was sent to, expires, and works once. The token is never logged: the only place
// a link reaches a log is mail's Log sender, which development uses when no mail server is
// configured.
//
// Sending never holds up or fails the request that causes it: the work that follows an answer
// (storing a ticket, rendering, queueing) runs after it (later), and delivery runs in the mail
// queue, which retries. Failures are logged, counted (latch_mail_messages_total) and written to
// the event log (fvr, fcpr, fn).

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/latchauth/latch/mail"
	"github.com/latchauth/latch/storage"
)

// EmailSettings tunes the email flows; zero fields take the defaults.
type EmailSettings struct {
	// VerifyTTL is how long a verification link works (DefaultVerifyTTL).
	VerifyTTL time.Duration
	// ResetTTL is how long a password-reset link works (DefaultResetTTL).
	ResetTTL time.Duration
	// UnblockTTL is how long an unblock link works (DefaultUnblockTTL).
	UnblockTTL time.Duration
	// NoSignupVerification turns off the verification email that follows a signup.
	NoSignupVerification bool
}

const (
	// DefaultVerifyTTL is Auth0's lifetime of a verification ticket (432000 s).
	DefaultVerifyTTL = 5 * 24 * time.Hour
	// DefaultResetTTL is shorter than Auth0's five days: a reset link is a credential for the
	// account, and whoever asked for one uses it within minutes.
	DefaultResetTTL = 24 * time.Hour
	// DefaultUnblockTTL matches the verification link's: lifting a block is harmless to the
	// owner, and the block itself lasts up to 30 days.
	DefaultUnblockTTL = 5 * 24 * time.Hour
	// MaxTicketTTL bounds the ttl_sec an admin may ask of the tickets API.
	MaxTicketTTL = 30 * 24 * time.Hour

	// maxEmailWork bounds the email work running after its request was answered; past it,
	// the work runs before the answer rather than being dropped.
	maxEmailWork = 64
	// emailWorkTimeout bounds one piece of that work (a store write, a render, a queue push).
	emailWorkTimeout = 30 * time.Second
)

// Event type codes (Auth0's) of the email flows.
const (
	EventSuccessVerificationEmail        = "sv"     // the user verified the address
	EventFailedVerificationEmail         = "fv"     // a verification link was refused
	EventSuccessVerificationEmailRequest = "svr"    // a verification email was queued
	EventFailedVerificationEmailRequest  = "fvr"    // one could not be sent
	EventSuccessChangePassword           = "scp"    // a reset link set a new password
	EventFailedChangePassword            = "fcp"    // a reset link was refused, or the new password
	EventSuccessChangePasswordRequest    = "scpr"   // a reset email was queued
	EventFailedChangePasswordRequest     = "fcpr"   // a reset request sent nothing
	EventFailedNotification              = "fn"     // a notice (password changed, blocked) was not sent
	EventUserUnblocked                   = "ublkdu" // an unblock link lifted brute-force blocks
)

// EmailEventTypes lists the event type codes of the email flows.
var EmailEventTypes = []string{
	EventSuccessVerificationEmail, EventFailedVerificationEmail, EventSuccessVerificationEmailRequest,
	EventFailedVerificationEmailRequest, EventSuccessChangePassword, EventFailedChangePassword,
	EventSuccessChangePasswordRequest, EventFailedChangePasswordRequest, EventFailedNotification,
	EventUserUnblocked,
}

// Errors of the email flows.
var (
	// ErrEmailUnavailable: latch was started without mail, templates or a ticket store.
	ErrEmailUnavailable = errors.New("email is not configured")
	// ErrTicketInvalid: a link's ticket is unknown, expired, already used, for another kind
	// of link, or for an address the user no longer has. Deliberately one error: the page
	// says the same for each.
	ErrTicketInvalid = errors.New("the link is invalid, has expired or was already used")
	// ErrTooManyResetRequests: password resets were asked too often for the address or from
	// the IP (wrapped in a *ThrottledError).
	ErrTooManyResetRequests = errors.New("too many password reset requests")
)

// The paths of the links, under the issuer.
var ticketPaths = map[string]string{
	storage.TicketVerifyEmail:   "u/email-verification",
	storage.TicketResetPassword: "u/reset-password",
	storage.TicketUnblock:       "u/unblock",
}

// emailFlows is what the email flows hold.
type emailFlows struct {
	sender    mail.Sender
	templates *mail.Templates
	tickets   storage.Tickets
	settings  EmailSettings

	mu      sync.Mutex
	closed  bool // FinishEmail was called: work runs before its answer
	running sync.WaitGroup
	slots   chan struct{}
}

func newEmailFlows(d Deps) *emailFlows {
	st := d.Email
	st.VerifyTTL = cmp.Or(max(st.VerifyTTL, 0), DefaultVerifyTTL)
	st.ResetTTL = cmp.Or(max(st.ResetTTL, 0), DefaultResetTTL)
	st.UnblockTTL = cmp.Or(max(st.UnblockTTL, 0), DefaultUnblockTTL)
	return &emailFlows{
		sender: d.Mail, templates: d.MailTemplates, tickets: d.Tickets, settings: st,
		slots: make(chan struct{}, maxEmailWork),
	}
}

// enabled says whether latch can send email with links.
func (e *emailFlows) enabled() bool {
	return e != nil && e.sender != nil && e.templates != nil && e.tickets != nil
}

// later runs work after the request that causes it is answered, so that the answer neither
// waits for it nor, by its timing, tells what it found. work's context keeps ctx's values
// (the request id and the client's address, for logs and events), not its cancellation.
func (s *Service) later(ctx context.Context, what string, work func(ctx context.Context)) {
	ctx = context.WithoutCancel(ctx)
	run := func() {
		defer func() {
			if r := recover(); r != nil {
				s.log.ErrorContext(ctx, "email work panicked", "work", what, "panic", fmt.Sprint(r))
			}
		}()
		wctx, cancel := context.WithTimeout(ctx, emailWorkTimeout)
		defer cancel()
		work(wctx)
	}
	e := s.email
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		run()
		return
	}
	select {
	case e.slots <- struct{}{}:
		e.running.Add(1)
		e.mu.Unlock()
		go func() {
			defer func() { <-e.slots; e.running.Done() }()
			run()
		}()
	default:
		e.mu.Unlock()
		run() // every slot is taken: do the work now rather than drop it
	}
}

// FinishEmail waits for the email work of requests already answered (tickets to store,
// messages to queue), or for ctx to end. Call it once the HTTP server has stopped and before
// the mail queue closes; work started afterwards runs at once.
func (s *Service) FinishEmail(ctx context.Context) error {
	e := s.email
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { e.running.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for email work: %w", ctx.Err())
	}
}

// PruneTickets deletes the tickets that have expired and says how many.
func (s *Service) PruneTickets(ctx context.Context) (int, error) {
	if s.email.tickets == nil {
		return 0, nil
	}
	return s.email.tickets.DeleteExpiredTickets(ctx, s.now())
}

// ticketOptions are what a ticket carries besides its user.
type ticketOptions struct {
	clientID     string
	resultURL    string
	includeEmail bool
	markVerified bool
}

// issueTicket stores a new ticket of kind for u, good for ttl, and returns its link.
func (s *Service) issueTicket(ctx context.Context, kind string, u storage.User, ttl time.Duration, o ticketOptions) (string, error) {
	token := storage.NewOpaqueToken()
	now := s.now()
	t := storage.Ticket{
		ID: storage.TokenID(token), Kind: kind, UserID: u.ID, Email: strings.ToLower(u.Email),
		ClientID: o.clientID, ResultURL: o.resultURL, IncludeEmailInRedirect: o.includeEmail,
		MarkEmailVerified: o.markVerified, CreatedAt: now, ExpiresAt: storage.Time(now.Add(ttl)),
	}
	if err := s.email.tickets.CreateTicket(ctx, t); err != nil {
		return "", fmt.Errorf("store %s ticket: %w", kind, err)
	}
	return s.issuerURL + ticketPaths[kind] + "?" + url.Values{"ticket": {token}}.Encode(), nil
}

// useTicket spends the ticket of token, of kind, and returns it with its user. The user must
// still have the address the ticket was sent to: a link mailed to an old address is refused.
// Everything that makes a link unusable is ErrTicketInvalid.
func (s *Service) useTicket(ctx context.Context, token, kind string) (storage.Ticket, storage.User, error) {
	t, err := s.email.tickets.ConsumeTicket(ctx, storage.TokenID(token), kind, s.now())
	if err != nil {
		return storage.Ticket{}, storage.User{}, ticketError(err)
	}
	u, err := s.ticketUser(ctx, t)
	return t, u, err
}

// peekTicket is useTicket without spending the ticket (to show a page before a form's submit).
func (s *Service) peekTicket(ctx context.Context, token, kind string) (storage.Ticket, storage.User, error) {
	t, err := s.email.tickets.GetTicket(ctx, storage.TokenID(token), kind, s.now())
	if err != nil {
		return storage.Ticket{}, storage.User{}, ticketError(err)
	}
	u, err := s.ticketUser(ctx, t)
	return t, u, err
}

func (s *Service) ticketUser(ctx context.Context, t storage.Ticket) (storage.User, error) {
	u, err := s.users.GetUser(ctx, t.UserID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return storage.User{}, ErrTicketInvalid // the user was deleted
	case err != nil:
		return storage.User{}, err
	case !ticketAddressMatches(t, u):
		return storage.User{}, ErrTicketInvalid
	}
	return u, nil
}

// ticketAddressMatches says whether u still has the address t was issued for.
func ticketAddressMatches(t storage.Ticket, u storage.User) bool {
	return t.Email != "" && strings.EqualFold(t.Email, u.Email)
}

func ticketError(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return ErrTicketInvalid
	}
	return err
}

// validToken says whether a string could be a ticket's token at all (43 base64url
// characters), so that junk never reaches the store.
func validToken(token string) bool {
	if len(token) != 43 {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// mailUser renders a message of kind for u and queues it. The error says why it was not
// queued (the caller records its event); a delivery that fails later reaches
// RecordMailResult through the queue.
func (s *Service) mailUser(ctx context.Context, kind, locale string, u storage.User, link string, expiresIn time.Duration, ip string) error {
	m, err := s.email.templates.Render(kind, locale, mail.Data{
		User: mail.User{Email: u.Email, Name: mailName(u)}, Link: link, ExpiresIn: expiresIn, IP: ip,
	})
	if err != nil {
		s.metrics.Mail(kind, mail.OutcomeFailed)
		s.log.ErrorContext(ctx, "email not rendered", "kind", kind, "user_id", u.ID, "error", err)
		return fmt.Errorf("render %s: %w", kind, err)
	}
	if err := s.email.sender.Send(ctx, m); err != nil {
		if !errors.Is(err, mail.ErrQueueFull) { // the queue counts what it drops
			s.metrics.Mail(kind, mail.OutcomeDropped)
		}
		s.log.ErrorContext(ctx, "email not queued", "kind", kind, "user_id", u.ID, "error", err)
		return fmt.Errorf("queue %s: %w", kind, err)
	}
	return nil
}

// mailName is the name a message greets u by: the profile's name with any control
// character made a space (a name is the user's own text and must never shape a header), and
// none when the name is only the email (Auth0's default).
func mailName(u storage.User) string {
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, u.Name)
	name = strings.Join(strings.Fields(name), " ")
	if strings.EqualFold(name, u.Email) {
		return ""
	}
	return name
}

// userLocale is the language the user asked for in their profile (user_metadata.locale),
// if any: messages an admin causes have no browser to ask.
func userLocale(u storage.User) string {
	if l, ok := u.UserMetadata["locale"].(string); ok {
		return l
	}
	return ""
}

// mailLocale picks the language of a message: the first of the candidates (language tags,
// or Accept-Language headers) that latch has templates for, else English. A header's tags
// are taken by their q values.
func (s *Service) mailLocale(candidates ...string) string {
	supported := map[string]bool{}
	for _, l := range s.email.templates.Locales() {
		supported[l] = true
	}
	for _, c := range candidates {
		for _, tag := range acceptedLanguages(c) {
			base, _, _ := strings.Cut(strings.ToLower(strings.ReplaceAll(tag, "_", "-")), "-")
			if supported[base] {
				return base
			}
		}
	}
	return "en"
}

// acceptedLanguages lists the tags of an Accept-Language header (or a single tag), most
// wanted first; q=0 and malformed weights are left out.
func acceptedLanguages(header string) []string {
	type choice struct {
		tag string
		q   float64
	}
	var choices []choice
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		if tag == "" || tag == "*" {
			continue
		}
		q := 1.0
		if name, value, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(name) == "q" {
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil || v < 0 || v > 1 {
				v = 0
			}
			q = v
		}
		if q > 0 {
			choices = append(choices, choice{tag, q})
		}
	}
	sort.SliceStable(choices, func(i, j int) bool { return choices[i].q > choices[j].q })
	out := make([]string, len(choices))
	for i, c := range choices {
		out[i] = c.tag
	}
	return out
}

// recordEmailEvent writes an event of the email flows about u (or, when u has no id, about
// the address in name).
func (s *Service) recordEmailEvent(ctx context.Context, typ, description string, u storage.User, name, clientID string) {
	e := s.newEvent(ctx, typ, description)
	if u.ID != "" {
		eventWithUser(&e, u)
	} else {
		e.UserName = name
	}
	e.ClientID = clientID
	if typ[0] == 'f' && description != "" {
		e.Details = eventError(description, "")
	}
	s.events.record(e, nil)
}

// mailEvents are, per kind of message, the event of a message that could not be delivered.
var mailEvents = map[string]string{
	mail.KindVerifyEmail:     EventFailedVerificationEmailRequest,
	mail.KindResetPassword:   EventFailedChangePasswordRequest,
	mail.KindPasswordChanged: EventFailedNotification,
	mail.KindBlockedAccount:  EventFailedNotification,
}

// RecordMailResult is the mail queue's OnResult: a message the queue gave up on is written to
// the event log (fvr, fcpr or fn) under its recipient's address. Deliveries are not: the
// request that queued the message wrote its event (svr, scpr).
func (s *Service) RecordMailResult(m mail.Message, err error) {
	if err == nil {
		return
	}
	typ, ok := mailEvents[m.Kind]
	if !ok {
		typ = EventFailedNotification
	}
	to := m.To
	if a, perr := mail.ParseAddress(m.To); perr == nil {
		to = a.Address
	}
	e := s.newEvent(context.Background(), typ, "The email could not be delivered: "+err.Error())
	e.UserName = to
	e.Details = eventError(e.Description, "")
	e.Details["kind"] = m.Kind
	s.events.record(e, nil)
}

// resultRedirect is a ticket's result_url with what the user's outcome adds to it: Auth0's
// success parameters, and the address when the ticket asks for it.
func resultRedirect(t storage.Ticket, email, message string) string {
	if t.ResultURL == "" {
		return ""
	}
	u, err := url.Parse(t.ResultURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("success", "true")
	q.Set("code", "success")
	if message != "" {
		q.Set("message", message)
	}
	if t.IncludeEmailInRedirect {
		q.Set("email", email)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// TicketOutcome is what following a link did: for whom, and where the user goes next
// (RedirectURL, "" for latch's own page).
type TicketOutcome struct {
	Email       string
	RedirectURL string
}
