package flow

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/tokens"
)

// BrowserSettings are the lifetimes of browser logins.
type BrowserSettings struct {
	// TransactionLifetime bounds the time between /authorize and the login form's submit.
	TransactionLifetime time.Duration
	// CodeLifetime bounds the time between the redirect and the code exchange.
	CodeLifetime time.Duration
	// SessionIdle ends an SSO session not used for this long; SessionLifetime ends it in
	// any case.
	SessionIdle     time.Duration
	SessionLifetime time.Duration
}

// DefaultBrowserSettings are Auth0's defaults: sessions end after 3 days idle or 7 days;
// codes live a minute.
func DefaultBrowserSettings() BrowserSettings {
	return BrowserSettings{
		TransactionLifetime: time.Hour,
		CodeLifetime:        time.Minute,
		SessionIdle:         72 * time.Hour,
		SessionLifetime:     7 * 24 * time.Hour,
	}
}

// Errors of the hosted pages.
var (
	// ErrTransactionNotFound: the login page's transaction is unknown, expired or finished.
	ErrTransactionNotFound = errors.New("the login transaction is unknown or has expired")
	// ErrCSRF: a form came back without its transaction's CSRF token.
	ErrCSRF = errors.New("the form's CSRF token does not match")
)

// LoginPage is what the hosted login and signup pages show for a transaction.
type LoginPage struct {
	Transaction storage.LoginTransaction
	Client      storage.Client
	Connection  storage.Connection
}

// LoginPageFor finds the transaction of a login page.
func (s *Service) LoginPageFor(ctx context.Context, txID string) (LoginPage, error) {
	if txID == "" {
		return LoginPage{}, ErrTransactionNotFound
	}
	tx, err := s.shortLived.GetTransaction(ctx, txID)
	if errors.Is(err, storage.ErrNotFound) {
		return LoginPage{}, ErrTransactionNotFound
	}
	if err != nil {
		return LoginPage{}, err
	}
	c, err := s.client(ctx, tx.ClientID)
	if errors.Is(err, storage.ErrNotFound) {
		return LoginPage{}, ErrTransactionNotFound // the client was deleted meanwhile
	}
	if err != nil {
		return LoginPage{}, err
	}
	conn, err := s.connections.GetConnectionByName(ctx, tx.Connection)
	if err != nil {
		return LoginPage{}, fmt.Errorf("load connection %q: %w", tx.Connection, err)
	}
	return LoginPage{Transaction: tx, Client: c, Connection: conn}, nil
}

// LoginForm is the hosted login page's submission.
type LoginForm struct {
	TransactionID string
	CSRF          string
	Username      string
	Password      string
	IP            string
	Request       rules.HTTPRequest
}

// BrowserLogin is a finished browser login: the answer for the client and, when the user
// just entered credentials, a new SSO session whose cookie the browser must get.
type BrowserLogin struct {
	Response     *AuthResponse
	SessionToken string
	Session      storage.Session
}

// SubmitLogin checks the login form's credentials and finishes the transaction. Errors
// that the page shows again: ErrWrongCredentials, ErrTooManyAttempts, ErrSuspiciousIP,
// ErrBusy, *InvalidRequestError; ErrCSRF and ErrTransactionNotFound mean the form is stale.
// Refusals after the password was right (blocked user, a rule's denial) are a Response for
// the client, as /authorize would send them.
func (s *Service) SubmitLogin(ctx context.Context, f LoginForm) (_ BrowserLogin, err error) {
	page, p, err := s.formTransaction(ctx, f.TransactionID, f.CSRF)
	if err != nil {
		return BrowserLogin{}, err
	}
	ctx, tr := withLoginTrace(ctx)
	defer func() {
		if err != nil && !tr.verified { // once the password is right, completeLogin records the login
			s.recordLogin(ctx, tr, loginAttempt{client: page.Client, connection: page.Connection.Name,
				login: f.Username, ip: f.IP, userAgent: f.Request.UserAgent}, err)
		}
	}()
	if f.Username == "" {
		return BrowserLogin{}, missing("username")
	}
	if f.Password == "" {
		return BrowserLogin{}, missing("password")
	}
	identifier := strings.ToLower(strings.TrimSpace(f.Username))
	if err := s.checkBruteForce(ctx, identifier, f.IP); err != nil {
		s.metrics.Login(loginOutcome(err))
		return BrowserLogin{}, err
	}
	if err := s.checkSuspiciousIP(ctx, f.IP); err != nil {
		s.metrics.Login(loginOutcome(err))
		return BrowserLogin{}, err
	}
	u, err := s.verifyPassword(ctx, page.Connection.Name, f.Username, f.Password)
	if errors.Is(err, ErrWrongCredentials) {
		s.recordFailure(ctx, identifier, f.IP)
		s.recordIPFailure(ctx, f.IP)
	}
	if err != nil {
		s.metrics.Login(loginOutcome(err))
		return BrowserLogin{}, err
	}
	s.clearFailures(ctx, identifier, f.IP)
	return s.finishTransaction(ctx, p, u, f.IP, f.Request)
}

// SignupForm is the hosted signup page's submission.
type SignupForm struct {
	TransactionID string
	CSRF          string
	Email         string
	Username      string
	Password      string
	IP            string
	Request       rules.HTTPRequest
}

// SubmitSignup creates the user as POST /dbconnections/signup does (the pre-registration
// actions run) and logs them in (the rules run). Errors are those of Signup and of
// SubmitLogin's stale-form cases.
func (s *Service) SubmitSignup(ctx context.Context, f SignupForm) (BrowserLogin, error) {
	page, p, err := s.formTransaction(ctx, f.TransactionID, f.CSRF)
	if err != nil {
		return BrowserLogin{}, err
	}
	req := f.Request
	req.IP = f.IP
	u, err := s.Signup(ctx, SignupRequest{
		ClientID: page.Client.ID, Connection: page.Connection.Name, Email: f.Email, Username: f.Username,
		Password: f.Password, Request: req,
	})
	if err != nil {
		return BrowserLogin{}, err
	}
	return s.finishTransaction(ctx, p, u, f.IP, f.Request)
}

// formTransaction loads a form's transaction and checks its CSRF token.
func (s *Service) formTransaction(ctx context.Context, txID, csrf string) (LoginPage, authParams, error) {
	page, err := s.LoginPageFor(ctx, txID)
	if err != nil {
		return LoginPage{}, authParams{}, err
	}
	if csrf == "" || subtle.ConstantTimeCompare([]byte(csrf), []byte(page.Transaction.CSRF)) != 1 {
		return LoginPage{}, authParams{}, ErrCSRF
	}
	return page, authParams{client: page.Client, tx: page.Transaction, scopes: tokens.ParseScope(page.Transaction.Scope)}, nil
}

// finishTransaction ends the transaction (once: a second submit finds it gone), starts an
// SSO session and completes the login.
func (s *Service) finishTransaction(ctx context.Context, p authParams, u storage.User, ip string, req rules.HTTPRequest) (BrowserLogin, error) {
	if err := s.shortLived.DeleteTransaction(ctx, p.tx.ID); errors.Is(err, storage.ErrNotFound) {
		return BrowserLogin{}, ErrTransactionNotFound
	} else if err != nil {
		return BrowserLogin{}, err
	}
	if u.Blocked {
		s.metrics.Login(loginOutcome(ErrUserBlocked))
		resp := errorResponse(p, "unauthorized", "user is blocked")
		s.recordCompletion(ctx, nil, p, u, completion{ip: ip, request: req}, resp, nil)
		return BrowserLogin{Response: resp}, nil
	}
	token, sess, err := s.newSession(ctx, u.ID)
	if err != nil {
		return BrowserLogin{}, err
	}
	req.IP = ip
	resp, err := s.completeLogin(ctx, p, u, sess, completion{counted: true, ip: ip, request: req})
	if err != nil || resp.IsError() {
		// A login the rules refused (or that failed) leaves no session behind: the next
		// /authorize must not find one and skip the login page.
		if derr := s.shortLived.DeleteSession(ctx, sess.ID); derr != nil && !errors.Is(derr, storage.ErrNotFound) {
			s.log.WarnContext(ctx, "ending the session of a refused login", "error", derr)
		}
		return BrowserLogin{Response: resp}, err
	}
	return BrowserLogin{Response: resp, SessionToken: token, Session: sess}, nil
}

// newSession starts an SSO session for a user who just entered credentials.
func (s *Service) newSession(ctx context.Context, userID string) (string, storage.Session, error) {
	now := s.now()
	token := storage.NewOpaqueToken()
	sess := storage.Session{
		ID: storage.TokenID(token), UserID: userID, AuthTime: now, CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(s.browser.SessionLifetime),
	}
	sess.IdleExpiresAt = minTime(now.Add(s.browser.SessionIdle), sess.ExpiresAt)
	if err := s.shortLived.CreateSession(ctx, sess); err != nil {
		return "", storage.Session{}, fmt.Errorf("store session: %w", err)
	}
	return token, sess, nil
}

// activeSession resolves an SSO cookie to its session and user; a zero session when there
// is none (no cookie, unknown, expired, or its user is gone).
func (s *Service) activeSession(ctx context.Context, token string) (storage.Session, storage.User, error) {
	if token == "" {
		return storage.Session{}, storage.User{}, nil
	}
	sess, err := s.shortLived.GetSession(ctx, storage.TokenID(token))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Session{}, storage.User{}, nil
	}
	if err != nil {
		return storage.Session{}, storage.User{}, err
	}
	u, err := s.users.GetUser(ctx, sess.UserID)
	if errors.Is(err, storage.ErrNotFound) {
		_ = s.shortLived.DeleteSession(ctx, sess.ID)
		return storage.Session{}, storage.User{}, nil
	}
	if err != nil {
		return storage.Session{}, storage.User{}, err
	}
	return sess, u, nil
}

// completion says how a login was reached.
type completion struct {
	// counted: the user entered credentials, so the login counts (logins_count, last_login).
	counted bool
	// silent: prompt=none, which neither counts nor shows anything.
	silent  bool
	ip      string
	request rules.HTTPRequest
}

// completeLogin runs the rules for an authenticated user and answers the client: a code,
// or tokens for the implicit response types. Refusals (blocked user, a rule's denial or
// failure) become an error response for the client.
func (s *Service) completeLogin(ctx context.Context, p authParams, u storage.User, sess storage.Session, c completion) (resp *AuthResponse, err error) {
	ctx, trace := withLoginTrace(ctx)
	defer func() { s.recordCompletion(ctx, trace, p, u, c, resp, err) }()
	if u.Blocked {
		return errorResponse(p, "unauthorized", "user is blocked"), nil
	}
	conn, err := s.connections.GetConnectionByName(ctx, u.Connection)
	if err != nil {
		return nil, fmt.Errorf("load connection %q: %w", u.Connection, err)
	}
	audience, err := s.userAudience(p.client, p.tx.Audience)
	if err != nil {
		return nil, err // checked at /authorize; the API cannot have vanished since
	}
	now := s.now()
	ruleUser := u
	if c.counted {
		ruleUser = countLogin(u, now, c.ip)
	}
	protocol := "oidc-basic-profile"
	if p.tx.ResponseType != ResponseCode {
		protocol = "oidc-implicit-profile"
	}
	c.request.Query = authorizeQuery(p.tx)
	decision, err := s.runPostLogin(ctx, loginInput{
		user: ruleUser, client: p.client, connection: conn, protocol: protocol,
		scopes: p.scopes, audience: audience, request: c.request,
	})
	var den *DeniedError
	switch {
	case errors.As(err, &den):
		s.metrics.Login("denied")
		return errorResponse(p, den.Code, den.Message), nil
	case errors.Is(err, ErrRuleFailed), errors.Is(err, ErrClaimsTooLarge):
		s.metrics.Login("rule_failed")
		s.log.WarnContext(ctx, "login failed in the rules", "user_id", u.ID, "client_id", p.client.ID, "error", err)
		return errorResponse(p, "server_error", "The login could not be completed because a rule failed."), nil
	case err != nil:
		return nil, err
	}
	switch {
	case c.counted:
		if u, err = s.saveLogin(ctx, u.ID, now, c.ip, decision.writes); err != nil {
			return nil, err
		}
	case len(decision.writes) > 0:
		if u, err = s.saveMetadataWrites(ctx, u.ID, decision.writes); err != nil {
			return nil, err
		}
	}
	if err := s.touchSession(ctx, sess, p.client.ID); err != nil {
		return nil, err
	}
	if !c.silent {
		s.metrics.Login("ok")
	}

	in := issuance{
		user: u, client: p.client, scopes: p.scopes, audience: audience, decision: decision,
		authTime: sess.AuthTime, nonce: p.tx.Nonce, grantID: storage.NewGrantID(), grantType: GrantImplicit,
	}
	v := url.Values{}
	if p.tx.ResponseType == ResponseCode {
		code, err := s.newCode(ctx, p, in, sess)
		if err != nil {
			return nil, err
		}
		v.Set("code", code)
	} else {
		tr, err := s.issueUserTokens(ctx, in)
		if err != nil {
			return nil, err
		}
		v.Set("id_token", tr.IDToken)
		if p.tx.ResponseType == ResponseIDTokenToken {
			v.Set("access_token", tr.AccessToken)
			v.Set("token_type", tr.TokenType)
			v.Set("expires_in", fmt.Sprint(tr.ExpiresIn))
			v.Set("scope", tr.Scope)
		}
	}
	if p.tx.State != "" {
		v.Set("state", p.tx.State)
	}
	return &AuthResponse{RedirectURI: p.tx.RedirectURI, Mode: p.tx.ResponseMode, Params: v, WebOrigins: p.client.WebOrigins}, nil
}

// newCode stores the authorization code of a finished login, with everything the token
// exchange will sign.
func (s *Service) newCode(ctx context.Context, p authParams, in issuance, sess storage.Session) (string, error) {
	now := s.now()
	code := storage.NewOpaqueToken()
	ac := storage.AuthCode{
		ID: storage.TokenID(code), ClientID: p.client.ID, RedirectURI: p.tx.RedirectURI, UserID: in.user.ID,
		SessionID: sess.ID, Scope: p.tx.Scope, Audience: in.audience, Nonce: p.tx.Nonce, AuthTime: sess.AuthTime,
		CodeChallenge: p.tx.CodeChallenge, CodeChallengeMethod: p.tx.CodeChallengeMethod,
		IDClaims: storage.Metadata(in.decision.idClaims), AccessClaims: storage.Metadata(in.decision.atClaims),
		FamilyID: in.grantID, CreatedAt: now, ExpiresAt: now.Add(s.browser.CodeLifetime),
	}
	if in.decision.scopes != nil {
		ac.AccessScope = strings.Join(in.decision.scopes, " ")
	}
	if err := s.shortLived.CreateCode(ctx, ac); err != nil {
		return "", fmt.Errorf("store code: %w", err)
	}
	return code, nil
}

// touchSession records the session's use: its idle lifetime starts again (never past its
// absolute end) and the client joins its list.
func (s *Service) touchSession(ctx context.Context, sess storage.Session, clientID string) error {
	now := s.now()
	_, err := s.shortLived.UpdateSession(ctx, sess.ID, func(cur storage.Session) (storage.Session, error) {
		cur.LastSeen = now
		cur.IdleExpiresAt = minTime(now.Add(s.browser.SessionIdle), cur.ExpiresAt)
		if !slices.Contains(cur.Clients, clientID) {
			cur.Clients = append(cur.Clients, clientID)
		}
		return cur, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil // it lapsed in between; the login itself stands
	}
	return err
}

// saveMetadataWrites saves what the rules asked to persist, without counting a login.
func (s *Service) saveMetadataWrites(ctx context.Context, userID string, writes []rules.MetadataWrite) (storage.User, error) {
	u, err := s.users.UpdateUser(ctx, userID, func(u storage.User) (storage.User, error) {
		applyMetadataWrites(&u, writes)
		u.UpdatedAt = s.now()
		return u, s.watchMetadataSize(ctx, u, false)
	})
	if err != nil {
		return storage.User{}, fmt.Errorf("save metadata: %w", err)
	}
	return u, nil
}

// authorizeQuery is context.request.query for rules: the authorize parameters, without the
// PKCE challenge.
func authorizeQuery(tx storage.LoginTransaction) map[string]string {
	q := map[string]string{
		"client_id": tx.ClientID, "redirect_uri": tx.RedirectURI, "response_type": tx.ResponseType,
		"response_mode": tx.ResponseMode, "scope": tx.Scope, "state": tx.State,
	}
	for k, v := range map[string]string{
		"audience": tx.Audience, "nonce": tx.Nonce, "prompt": tx.Prompt, "login_hint": tx.LoginHint,
		"screen_hint": tx.ScreenHint, "connection": tx.Connection, "ui_locales": tx.UILocales,
	} {
		if v != "" {
			q[k] = v
		}
	}
	return q
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
