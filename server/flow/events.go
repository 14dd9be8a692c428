package flow

// The auth event log (Auth0's tenant logs): every signup, login, token exchange, logout and
// Management API write leaves an event with Auth0's type code. Recording never waits: events
// go into a bounded queue that one writer goroutine empties in batches; when the queue is
// full the event is dropped and counted (latch_events_dropped_total), so that a slow or
// broken store can never slow a login down or fail it.

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchauth/latch/metrics"
	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
)

// Event type codes (Auth0's "log event type codes") that latch emits.
const (
	EventSuccessLogin         = "s"
	EventFailedLogin          = "f"
	EventWrongPassword        = "fp"
	EventWrongUsername        = "fu"
	EventSuccessSignup        = "ss"
	EventFailedSignup         = "fs"
	EventSuccessSilentAuth    = "ssa"
	EventFailedSilentAuth     = "fsa"
	EventSuccessCodeExchange  = "seacft"
	EventFailedCodeExchange   = "feacft"
	EventSuccessRefresh       = "sertft"
	EventFailedRefresh        = "fertft"
	EventSuccessClientCreds   = "seccft"
	EventFailedClientCreds    = "feccft"
	EventSuccessLogout        = "slo"
	EventSuccessAPIOperation  = "sapi"
	EventBlockedAccount       = "limit_wc"
	EventBlockedIPAddress     = "limit_mu"
	wrongCredentialsEventText = "Wrong email or password."
)

// EventTypes lists every type code latch emits.
var EventTypes = append([]string{
	EventSuccessLogin, EventFailedLogin, EventWrongPassword, EventWrongUsername,
	EventSuccessSignup, EventFailedSignup, EventSuccessSilentAuth, EventFailedSilentAuth,
	EventSuccessCodeExchange, EventFailedCodeExchange, EventSuccessRefresh, EventFailedRefresh,
	EventSuccessClientCreds, EventFailedClientCreds, EventSuccessLogout, EventSuccessAPIOperation,
	EventBlockedAccount, EventBlockedIPAddress,
}, EmailEventTypes...)

// Defaults of the event log.
const (
	DefaultEventRetention = 30 * 24 * time.Hour
	defaultEventQueue     = 10_000
	eventBatch            = 256
	eventFlushEvery       = 200 * time.Millisecond
	// eventWriteTimeout bounds one batch's write.
	eventWriteTimeout = 10 * time.Second
	// maxConsoleBytes bounds the rules' console output kept with a login event.
	maxConsoleBytes = 4 << 10
	// maxDetailsBytes bounds an event's details as stored.
	maxDetailsBytes = 16 << 10
)

// ---------------------------------------------------------------------------------------
// The request an event comes from

type requestInfoKey struct{}

type requestInfo struct{ ip, userAgent, hostname string }

// WithRequestInfo returns ctx carrying the client's address, user agent and the host it
// called, which events recorded while serving the request carry.
func WithRequestInfo(ctx context.Context, ip, userAgent, hostname string) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, requestInfo{ip: ip, userAgent: userAgent, hostname: hostname})
}

func requestInfoFrom(ctx context.Context) requestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(requestInfo)
	return ri
}

// ---------------------------------------------------------------------------------------
// What a login learns on the way, for its event

type loginTraceKey struct{}

// loginTrace collects, as a login goes, what its event reports: whom the credentials
// named, whether they were right, and what the rules did. One goroutine fills it; the event
// writer reads it only after the event is queued. A nil *loginTrace ignores every note.
type loginTrace struct {
	user       storage.User
	verified   bool
	connection storage.Connection
	pipeline   *rules.Response
}

// withLoginTrace returns ctx carrying a new trace.
func withLoginTrace(ctx context.Context) (context.Context, *loginTrace) {
	tr := &loginTrace{}
	return context.WithValue(ctx, loginTraceKey{}, tr), tr
}

func traceOf(ctx context.Context) *loginTrace {
	tr, _ := ctx.Value(loginTraceKey{}).(*loginTrace)
	return tr
}

// noteUser: the credentials named u (the password is not checked yet).
func (tr *loginTrace) noteUser(u storage.User) {
	if tr != nil {
		tr.user = u
	}
}

// noteVerified: the password was right.
func (tr *loginTrace) noteVerified() {
	if tr != nil {
		tr.verified = true
	}
}

// notePipeline: the post-login scripts ran with this answer.
func (tr *loginTrace) notePipeline(conn storage.Connection, resp rules.Response) {
	if tr != nil {
		tr.connection = conn
		tr.pipeline = &resp
	}
}

// ---------------------------------------------------------------------------------------
// The queue and its writer

// queuedEvent is an event and, optionally, work that completes it in the writer goroutine
// (off the request's path): decoding a token, shaping the rules' output.
type queuedEvent struct {
	ev     storage.Event
	finish func(*storage.Event)
}

// eventLog is the bounded queue and the goroutine that writes it out.
type eventLog struct {
	store   storage.Events
	users   storage.Users   // names users in events that carry only an id; may be nil
	clients storage.Clients // likewise for clients
	ids     *storage.EventIDs
	metrics *metrics.Metrics
	log     *slog.Logger
	now     func() time.Time

	queue      chan queuedEvent
	batch      int
	flushEvery time.Duration

	stopOnce sync.Once
	stopped  atomic.Bool
	stop     chan struct{}
	done     chan struct{}
}

type eventLogOptions struct {
	queue      int           // 0: defaultEventQueue
	batch      int           // 0: eventBatch
	flushEvery time.Duration // 0: eventFlushEvery
}

// newEventLog starts the writer; Close stops it.
func newEventLog(store storage.Events, users storage.Users, clients storage.Clients, m *metrics.Metrics, log *slog.Logger, o eventLogOptions) *eventLog {
	if o.queue <= 0 {
		o.queue = defaultEventQueue
	}
	if o.batch <= 0 {
		o.batch = eventBatch
	}
	if o.flushEvery <= 0 {
		o.flushEvery = eventFlushEvery
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &eventLog{
		store: store, users: users, clients: clients, ids: storage.NewEventIDs(), metrics: m, log: log,
		now: storage.Now, queue: make(chan queuedEvent, o.queue), batch: o.batch, flushEvery: o.flushEvery,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go l.run()
	return l
}

// record queues an event and returns at once: when the queue is full, or the log is
// closed, the event is dropped and counted.
func (l *eventLog) record(ev storage.Event, finish func(*storage.Event)) {
	if l == nil {
		return
	}
	if l.stopped.Load() {
		l.metrics.EventsDropped("shutdown", 1)
		return
	}
	select {
	case l.queue <- queuedEvent{ev: ev, finish: finish}:
	default:
		l.metrics.EventsDropped("queue_full", 1)
	}
}

// run writes batches of up to l.batch events, each at most l.flushEvery after its first
// event was queued, until Close; then it writes what is left in the queue.
func (l *eventLog) run() {
	defer close(l.done)
	batch := make([]queuedEvent, 0, l.batch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case q := <-l.queue:
			batch = append(batch, q)
			if len(batch) == 1 {
				timer.Reset(l.flushEvery)
			}
			if len(batch) >= l.batch {
				timer.Stop()
				batch = l.flush(batch)
			}
		case <-timer.C:
			batch = l.flush(batch)
		case <-l.stop:
			timer.Stop()
			for {
				select {
				case q := <-l.queue:
					if batch = append(batch, q); len(batch) >= l.batch {
						batch = l.flush(batch)
					}
				default:
					l.flush(batch)
					return
				}
			}
		}
	}
}

// flush completes the batch's events and writes them in one call. A failure is logged and
// counted: the events are lost, the logins they describe are not affected.
func (l *eventLog) flush(batch []queuedEvent) []queuedEvent {
	if len(batch) == 0 {
		return batch
	}
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("writing auth events panicked", "panic", fmt.Sprint(r))
			l.metrics.EventsDropped("store_error", len(batch))
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), eventWriteTimeout)
	defer cancel()
	events := make([]storage.Event, len(batch))
	for i, q := range batch {
		e := q.ev
		if q.finish != nil {
			q.finish(&e)
		}
		e.Details = capDetails(e.Details)
		e.ID = l.ids.Next(l.now())
		events[i] = e
	}
	l.nameParties(ctx, events)
	if err := l.store.AppendEvents(ctx, events); err != nil {
		l.log.Warn("writing auth events", "count", len(events), "error", err)
		l.metrics.EventsDropped("store_error", len(events))
	} else {
		l.metrics.EventsWritten(len(events))
	}
	clear(batch)
	return batch[:0]
}

// nameParties fills in the user and client names of events that carry only ids (token
// exchanges, signups), one lookup per distinct id in the batch.
func (l *eventLog) nameParties(ctx context.Context, events []storage.Event) {
	userNames, clientNames := map[string]string{}, map[string]string{}
	for i := range events {
		e := &events[i]
		if e.UserID != "" && e.UserName == "" && l.users != nil {
			name, ok := userNames[e.UserID]
			if !ok {
				if u, err := l.users.GetUser(ctx, e.UserID); err == nil {
					name = eventUserName(u)
				}
				userNames[e.UserID] = name
			}
			e.UserName = name
		}
		if e.ClientID != "" && e.ClientName == "" && l.clients != nil {
			name, ok := clientNames[e.ClientID]
			if !ok {
				if e.ClientID == ConsoleClientID {
					name = consoleClientName // built in, not in the store
				} else if c, err := l.clients.GetClient(ctx, e.ClientID); err == nil {
					name = c.Name
				}
				clientNames[e.ClientID] = name
			}
			e.ClientName = name
		}
	}
}

// close stops taking events, writes what is queued and waits for the writer (or ctx).
func (l *eventLog) close(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.stopOnce.Do(func() {
		l.stopped.Store(true)
		close(l.stop)
	})
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("writing the last auth events: %w", ctx.Err())
	}
}

// capDetails keeps details within maxDetailsBytes once encoded; larger ones are replaced
// by a note of their size.
func capDetails(d storage.Metadata) storage.Metadata {
	if len(d) == 0 {
		return d
	}
	b, err := json.Marshal(d)
	if err != nil {
		return storage.Metadata{"error": "details could not be encoded"}
	}
	if len(b) > maxDetailsBytes {
		return storage.Metadata{"truncated": true, "size_bytes": len(b)}
	}
	return d
}

// ---------------------------------------------------------------------------------------
// The Service's side

// Close writes the events still queued and stops the event writer; ctx bounds the wait.
// Events recorded afterwards are dropped (and counted).
func (s *Service) Close(ctx context.Context) error {
	return s.events.close(ctx)
}

// PruneEvents deletes the events older than the retention period and says how many.
func (s *Service) PruneEvents(ctx context.Context) (int, error) {
	if s.eventRetention <= 0 {
		return 0, nil
	}
	return s.eventStore.DeleteEventsBefore(ctx, s.now().Add(-s.eventRetention))
}

// newEvent starts an event of the request in ctx.
func (s *Service) newEvent(ctx context.Context, typ, description string) storage.Event {
	ri := requestInfoFrom(ctx)
	return storage.Event{
		Type: typ, Date: s.now(), Description: description,
		IP: ri.ip, UserAgent: ri.userAgent, Hostname: ri.hostname,
	}
}

func eventUserName(u storage.User) string {
	switch {
	case u.Email != "":
		return u.Email
	case u.Username != "":
		return u.Username
	default:
		return u.Name
	}
}

func eventWithClient(e *storage.Event, c storage.Client) {
	e.ClientID, e.ClientName = c.ID, c.Name
}

func eventWithUser(e *storage.Event, u storage.User) {
	e.UserID, e.UserName = u.ID, eventUserName(u)
	if e.Connection == "" {
		e.Connection = u.Connection
	}
}

func eventWithConnection(e *storage.Event, conn storage.Connection) {
	if conn.Name == "" {
		return
	}
	e.Connection, e.ConnectionID, e.Strategy = conn.Name, conn.ID, conn.Strategy
	if conn.Strategy == "auth0" {
		e.StrategyType = "database"
	}
}

// eventError is the details.error of a failure: the message, and the OAuth error code
// the client got when there is one.
func eventError(message, oauthCode string) storage.Metadata {
	e := map[string]any{"message": message}
	if oauthCode != "" {
		e["oauthError"] = oauthCode
	}
	return storage.Metadata{"error": e}
}

// failureText is what an event says of a failure: the reason, fit for the admin who reads
// the log (never shown to end users).
func failureText(err error) (description, oauthCode string) {
	var (
		inv  *InvalidRequestError
		den  *DeniedError
		weak *WeakPasswordError
		sd   *SignupDeniedError
	)
	switch {
	case errors.As(err, &den):
		return den.Message, den.Code
	case errors.As(err, &sd):
		return sd.Message, sd.Code
	case errors.As(err, &inv):
		return inv.Message, "invalid_request"
	case errors.As(err, &weak):
		return "PasswordStrengthError: Password is too weak", "invalid_password"
	case errors.Is(err, ErrWrongCredentials):
		return wrongCredentialsEventText, "invalid_grant"
	case errors.Is(err, ErrUserBlocked):
		return "user is blocked", "unauthorized"
	case errors.Is(err, ErrRuleFailed), errors.Is(err, ErrClaimsTooLarge):
		return err.Error(), "server_error"
	case errors.Is(err, ErrBusy):
		return "Too many password checks at once", "too_many_requests"
	case errors.Is(err, ErrClientAuth):
		return "Unauthorized", "access_denied"
	default:
		return err.Error(), "server_error"
	}
}

// loginAttempt is what a login's caller knows for its event.
type loginAttempt struct {
	client     storage.Client
	connection string
	login      string // the email or username as typed
	ip         string // the end user's address as attack protection counts it
	userAgent  string
}

// recordLogin records a password login's outcome: s, fp, fu, limit_wc, limit_mu or f, with
// the rules' outcome and console output when they ran.
func (s *Service) recordLogin(ctx context.Context, tr *loginTrace, a loginAttempt, err error) {
	if tr == nil {
		tr = &loginTrace{}
	}
	typ, desc := EventSuccessLogin, ""
	var details storage.Metadata
	switch {
	case err == nil:
	case errors.Is(err, ErrWrongCredentials) && tr.user.ID == "":
		typ, desc = EventWrongUsername, wrongCredentialsEventText
	case errors.Is(err, ErrWrongCredentials):
		typ, desc = EventWrongPassword, wrongCredentialsEventText
	case errors.Is(err, ErrTooManyAttempts):
		typ, desc = EventBlockedAccount, "Too many failed logins for this identifier from this IP address: further attempts are blocked"
	case errors.Is(err, ErrSuspiciousIP):
		typ, desc = EventBlockedIPAddress, "Too many failed logins from this IP address: further attempts are blocked"
	default:
		var code string
		typ = EventFailedLogin
		desc, code = failureText(err)
		details = eventError(desc, code)
	}
	e := s.newEvent(ctx, typ, desc)
	e.Details = details
	if a.ip != "" {
		e.IP = a.ip
	}
	if a.userAgent != "" {
		e.UserAgent = a.userAgent
	}
	eventWithClient(&e, a.client)
	e.Connection = a.connection
	if tr.user.ID != "" {
		eventWithUser(&e, tr.user)
	}
	if a.login != "" && (err != nil || e.UserName == "") {
		e.UserName = a.login // what was typed: the event says which identifier was tried
	}
	eventWithConnection(&e, tr.connection)
	s.events.record(e, pipelineFinisher(tr.pipeline))
}

// recordSignup records ss or fs (limit_mu when the IP signed up too often).
func (s *Service) recordSignup(ctx context.Context, req SignupRequest, u storage.User, err error) {
	typ, desc := EventSuccessSignup, ""
	var details storage.Metadata
	switch {
	case err == nil:
	case errors.Is(err, ErrTooManySignups):
		typ, desc = EventBlockedIPAddress, "Too many signups from this IP address: further attempts are blocked"
	default:
		var code string
		typ = EventFailedSignup
		desc, code = failureText(err)
		switch {
		case errors.Is(err, ErrUserExists):
			code = "user_exists"
		case errors.Is(err, ErrUsernameExists):
			code = "username_exists"
		}
		details = eventError(desc, code)
	}
	e := s.newEvent(ctx, typ, desc)
	e.Details = details
	if req.Request.IP != "" {
		e.IP = req.Request.IP
	}
	if req.Request.UserAgent != "" {
		e.UserAgent = req.Request.UserAgent
	}
	e.ClientID, e.Connection = req.ClientID, req.Connection
	if err == nil {
		eventWithUser(&e, u)
	} else {
		e.UserName = cmp.Or(req.Email, req.Username) // what was tried
	}
	s.events.record(e, nil)
}

// recordCompletion records the end of a browser login (completeLogin): s or f, ssa or fsa
// for prompt=none, with the rules' outcome.
func (s *Service) recordCompletion(ctx context.Context, tr *loginTrace, p authParams, u storage.User, c completion, resp *AuthResponse, err error) {
	if tr == nil {
		tr = &loginTrace{}
	}
	typ, desc := EventSuccessLogin, ""
	var details storage.Metadata
	if c.silent {
		typ = EventSuccessSilentAuth
	}
	failed := err != nil || resp == nil || resp.IsError()
	if failed {
		typ = EventFailedLogin
		if c.silent {
			typ = EventFailedSilentAuth
		}
		code := ""
		if err != nil {
			desc, code = failureText(err)
		} else if resp != nil {
			desc, code = resp.Params.Get("error_description"), resp.Params.Get("error")
		}
		details = eventError(desc, code)
	}
	e := s.newEvent(ctx, typ, desc)
	e.Details = details
	if c.ip != "" {
		e.IP = c.ip
	}
	if c.request.UserAgent != "" {
		e.UserAgent = c.request.UserAgent
	}
	eventWithClient(&e, p.client)
	eventWithUser(&e, u)
	eventWithConnection(&e, tr.connection)
	e.Audience, e.Scope = p.tx.Audience, p.tx.Scope
	s.events.record(e, pipelineFinisher(tr.pipeline))
}

// recordSilentAuthFailure records fsa for a prompt=none request without a session.
func (s *Service) recordSilentAuthFailure(ctx context.Context, p authParams, ip, userAgent string) {
	e := s.newEvent(ctx, EventFailedSilentAuth, "Login required")
	e.Details = eventError("Login required", "login_required")
	if ip != "" {
		e.IP = ip
	}
	if userAgent != "" {
		e.UserAgent = userAgent
	}
	eventWithClient(&e, p.client)
	s.events.record(e, nil)
}

// exchange names a token exchange for its event.
type exchange struct{ success, failure, grant string }

var (
	codeExchange        = exchange{EventSuccessCodeExchange, EventFailedCodeExchange, GrantAuthorizationCode}
	refreshExchange     = exchange{EventSuccessRefresh, EventFailedRefresh, GrantRefreshToken}
	clientCredsExchange = exchange{EventSuccessClientCreds, EventFailedClientCreds, GrantClientCredentials}
)

// recordExchange records a token exchange's outcome; it is deferred by the grants with
// pointers to their results. The user of a successful exchange is read from the access
// token that was just signed, in the writer goroutine.
func (s *Service) recordExchange(ctx context.Context, x exchange, c storage.Client, resp *TokenResponse, err *error) {
	if *err != nil {
		desc, code := failureText(*err)
		e := s.newEvent(ctx, x.failure, desc)
		e.Details = eventError(desc, code)
		e.Details["grant_type"] = x.grant
		eventWithClient(&e, c)
		s.events.record(e, nil)
		return
	}
	e := s.newEvent(ctx, x.success, "")
	eventWithClient(&e, c)
	e.Scope = resp.Scope
	e.Details = storage.Metadata{"grant_type": x.grant}
	at, userToken := resp.AccessToken, x != clientCredsExchange
	s.events.record(e, func(e *storage.Event) {
		sub, aud := tokenSubject(at)
		if userToken {
			e.UserID = sub
		}
		e.Audience = aud
	})
}

// tokenSubject reads sub and the first aud of a JWT this server just signed; nothing is
// verified (the token never left the process).
func tokenSubject(jwt string) (sub, aud string) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", ""
	}
	var c struct {
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return "", ""
	}
	var one string
	var many []string
	if json.Unmarshal(c.Aud, &one) != nil && json.Unmarshal(c.Aud, &many) == nil && len(many) > 0 {
		one = many[0]
	}
	return c.Sub, one
}

// recordLogout records slo for an SSO session that ended.
func (s *Service) recordLogout(ctx context.Context, sess storage.Session) {
	e := s.newEvent(ctx, EventSuccessLogout, "")
	e.UserID = sess.UserID
	if len(sess.Clients) > 0 {
		e.Details = storage.Metadata{"session_clients": toAnySlice(sess.Clients)}
	}
	s.events.record(e, nil)
}

// APIEvent is a Management API write that succeeded.
type APIEvent struct {
	// Description names the operation and the resource ("Update a rule").
	Description string
	// ClientID is the client whose token made the call (the token's azp).
	ClientID string
	Method   string
	Path     string // the request's path, ids included
	Status   int
	// Scopes are the token's scopes.
	Scopes []string
}

// RecordAPIEvent records a successful Management API write (sapi). The caller's address
// and user agent come from ctx (WithRequestInfo).
func (s *Service) RecordAPIEvent(ctx context.Context, a APIEvent) {
	e := s.newEvent(ctx, EventSuccessAPIOperation, a.Description)
	e.ClientID = a.ClientID
	request := map[string]any{"method": strings.ToLower(a.Method), "path": a.Path, "channel": "api"}
	if e.IP != "" {
		request["ip"] = e.IP
	}
	if e.UserAgent != "" {
		request["userAgent"] = e.UserAgent
	}
	if len(a.Scopes) > 0 {
		request["auth"] = map[string]any{"strategy": "jwt", "credentials": map[string]any{"scopes": toAnySlice(a.Scopes)}}
	}
	e.Details = storage.Metadata{"request": request, "response": map[string]any{"statusCode": a.Status}}
	s.events.record(e, nil)
}

// pipelineFinisher returns the work that adds the rules' outcome to an event's details in
// the writer goroutine (nil when no rules ran).
func pipelineFinisher(resp *rules.Response) func(*storage.Event) {
	if resp == nil {
		return nil
	}
	return func(e *storage.Event) {
		if e.Details == nil {
			e.Details = storage.Metadata{}
		}
		e.Details["rules"] = pipelineDetails(resp)
	}
}

// pipelineDetails is details.rules: the pipeline's outcome and time, each script's, and the
// console output (at most maxConsoleBytes in all).
func pipelineDetails(r *rules.Response) map[string]any {
	scripts := make([]any, 0, len(r.Timings))
	for _, t := range r.Timings {
		scripts = append(scripts, map[string]any{
			"id": t.ScriptID, "name": t.Name, "outcome": t.Outcome, "duration_ms": millis(t.Duration),
		})
	}
	d := map[string]any{"outcome": r.Outcome, "duration_ms": millis(r.Duration), "scripts": scripts}
	if console, cut := capConsole(r.Console, maxConsoleBytes); len(console) > 0 {
		d["console"] = console
		if cut {
			d["console_truncated"] = true
		}
	}
	if r.Error != nil {
		d["error"] = map[string]any{"script": r.Error.Name, "kind": r.Error.Kind, "message": r.Error.Message}
	}
	if r.Denial != nil {
		d["denial"] = map[string]any{"code": r.Denial.Code, "message": r.Denial.Message}
	}
	return d
}

// capConsole keeps the first lines of output up to limit bytes in all, cutting the last
// one kept at a character boundary; cut says whether anything was left out.
func capConsole(lines []string, limit int) (kept []any, cut bool) {
	used := 0
	for _, l := range lines {
		if used+len(l) <= limit {
			kept = append(kept, l)
			used += len(l)
			continue
		}
		if room := limit - used; room > 0 {
			kept = append(kept, strings.ToValidUTF8(l[:room], ""))
		}
		return kept, true
	}
	return kept, false
}

// millis is a duration in milliseconds, to the microsecond.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func toAnySlice(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}
