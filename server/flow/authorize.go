package flow

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/tokens"
)

// AuthorizeRequest holds the parameters of GET /authorize (AUTH0-COMPAT §2.3) that latch
// reads; the endpoint ignores every other parameter.
type AuthorizeRequest struct {
	ClientID            string
	RedirectURI         string
	ResponseType        string
	ResponseMode        string
	Scope               string
	Audience            string
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              string
	MaxAge              string
	LoginHint           string
	ScreenHint          string
	Connection          string
	UILocales           string
}

// Response types latch issues. "code" is the default flow; the implicit ones are for
// legacy clients that enable the implicit grant.
const (
	ResponseCode         = "code"
	ResponseIDToken      = "id_token"
	ResponseIDTokenToken = "id_token token"
)

// Response modes (AUTH0-COMPAT §2.3).
const (
	ModeQuery      = "query"
	ModeFragment   = "fragment"
	ModeFormPost   = "form_post"
	ModeWebMessage = "web_message"
)

// PageError is an /authorize error that must not be sent to the redirect_uri, because the
// client or the redirect_uri is not trusted (RFC 6749 §4.1.2.1): it is shown on an error
// page instead. Description is safe to show.
type PageError struct {
	Code        string
	Description string
}

func (e *PageError) Error() string { return e.Code + ": " + e.Description }

// AuthResponse is what goes back to the client at its redirect_uri: a code or tokens, or an
// error, with the state, delivered per Mode.
type AuthResponse struct {
	RedirectURI string
	Mode        string
	Params      url.Values
	// WebOrigins are the client's allowed web origins: who may frame a web_message answer.
	WebOrigins []string
}

// URL is the redirect target for the query and fragment modes.
func (r AuthResponse) URL() string {
	sep := "?"
	if r.Mode == ModeFragment {
		sep = "#"
	} else if strings.Contains(r.RedirectURI, "?") {
		sep = "&"
	}
	return r.RedirectURI + sep + r.Params.Encode()
}

// TargetOrigin is the origin of the redirect_uri: where a web_message answer is posted.
func (r AuthResponse) TargetOrigin() string { return originOf(r.RedirectURI) }

// IsError says whether the response carries an error.
func (r AuthResponse) IsError() bool { return r.Params.Get("error") != "" }

// AuthorizeOutcome is the result of /authorize: either a response for the client now (the
// user has a session, or an error that may go back), or a login transaction whose login
// page the user must see.
type AuthorizeOutcome struct {
	Response    *AuthResponse
	Transaction *storage.LoginTransaction
}

// authParams is an /authorize request after validation: what a login transaction keeps.
type authParams struct {
	client storage.Client
	tx     storage.LoginTransaction
	scopes []string
}

// Authorize handles GET /authorize. sessionToken is the SSO cookie's value ("" without
// one). Errors are *PageError (show a page), or a failure of the server.
func (s *Service) Authorize(ctx context.Context, r AuthorizeRequest, sessionToken string, req rules.HTTPRequest) (AuthorizeOutcome, error) {
	p, resp, err := s.checkAuthorize(ctx, r)
	if err != nil || resp != nil {
		return AuthorizeOutcome{Response: resp}, err
	}
	sess, u, err := s.activeSession(ctx, sessionToken)
	if err != nil {
		return AuthorizeOutcome{}, err
	}
	// A client with sso_disabled asks for credentials at every login.
	hasSession := sess.ID != "" && p.tx.Prompt != "login" && !p.client.SSODisabled && fresh(sess, p.tx.MaxAge, s.now())
	if p.tx.Prompt == "none" {
		if !hasSession {
			s.recordSilentAuthFailure(ctx, p, req.IP, req.UserAgent)
			return AuthorizeOutcome{Response: errorResponse(p, "login_required", "Login required")}, nil
		}
		resp, err := s.completeLogin(ctx, p, u, sess, completion{silent: true, request: req})
		return AuthorizeOutcome{Response: resp}, err
	}
	if hasSession {
		resp, err := s.completeLogin(ctx, p, u, sess, completion{request: req})
		return AuthorizeOutcome{Response: resp}, err
	}
	if err := s.takeTransaction(ctx, req.IP); err != nil {
		return AuthorizeOutcome{}, err
	}
	tx := p.tx
	tx.ID = storage.NewOpaqueToken()
	tx.CSRF = storage.NewOpaqueToken()
	tx.CreatedAt = s.now()
	tx.ExpiresAt = tx.CreatedAt.Add(s.browser.TransactionLifetime)
	if err := s.shortLived.CreateTransaction(ctx, tx); err != nil {
		return AuthorizeOutcome{}, fmt.Errorf("store login transaction: %w", err)
	}
	return AuthorizeOutcome{Transaction: &tx}, nil
}

// fresh says whether the session satisfies max_age (seconds since the user last entered a
// password; -1: no limit).
func fresh(sess storage.Session, maxAge int, now time.Time) bool {
	return maxAge < 0 || now.Sub(sess.AuthTime) <= time.Duration(maxAge)*time.Second
}

// checkAuthorize validates the request. Until the client and the redirect_uri are known
// to be trusted, problems are *PageError; after, they become an error response for the
// client (the second result).
func (s *Service) checkAuthorize(ctx context.Context, r AuthorizeRequest) (authParams, *AuthResponse, error) {
	if r.ClientID == "" {
		return authParams{}, nil, &PageError{"invalid_request", "Missing required parameter: client_id"}
	}
	c, err := s.client(ctx, r.ClientID)
	if errors.Is(err, storage.ErrNotFound) {
		return authParams{}, nil, &PageError{"invalid_request", "Unknown client: " + r.ClientID}
	}
	if err != nil {
		return authParams{}, nil, err
	}
	if r.RedirectURI == "" {
		return authParams{}, nil, &PageError{"invalid_request", "Missing required parameter: redirect_uri"}
	}
	// Exact string comparison (RFC 9700 §4.1.3): no prefix, no wildcard, no normalisation.
	if !slices.Contains(c.Callbacks, r.RedirectURI) {
		return authParams{}, nil, &PageError{"invalid_request",
			fmt.Sprintf("The redirect_uri %q is not in the list of allowed callback URLs of the application.", r.RedirectURI)}
	}

	p := authParams{client: c, tx: storage.LoginTransaction{
		ClientID: c.ID, RedirectURI: r.RedirectURI, State: r.State, Nonce: r.Nonce,
		Audience: r.Audience, LoginHint: r.LoginHint, ScreenHint: r.ScreenHint,
		Connection: r.Connection, UILocales: r.UILocales, MaxAge: -1,
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: r.CodeChallengeMethod,
	}}
	// From here on the redirect_uri is trusted: errors go back to it. The response type
	// decides the mode errors use, so it is read first.
	respType, typeOK := normaliseResponseType(r.ResponseType)
	p.tx.ResponseType = respType
	p.tx.ResponseMode = defaultMode(respType)
	switch r.ResponseMode {
	case "":
	case ModeQuery, ModeFragment, ModeFormPost, ModeWebMessage:
		p.tx.ResponseMode = r.ResponseMode
	default:
		return p, errorResponse(p, "invalid_request", "Unsupported response_mode: "+r.ResponseMode), nil
	}
	// form_post and web_message answer with a page, which can address only an http(s)
	// redirect_uri, and web_message only one of the client's web origins. Checked here, not
	// only at delivery: a form_post to a custom-scheme callback used to end in a 500 after the
	// login had run, and a web_message refused at delivery had run (and counted) a login for
	// an answer that could never be delivered. The answer cannot use that mode, so a page.
	if msg := checkPageMode(c, p.tx.ResponseMode, r.RedirectURI); msg != "" {
		return authParams{}, nil, &PageError{"invalid_request", msg}
	}
	if r.ResponseType == "" {
		return p, errorResponse(p, "invalid_request", "Missing required parameter: response_type"), nil
	}
	if !typeOK {
		return p, errorResponse(p, "unsupported_response_type", "Unsupported response type: "+r.ResponseType), nil
	}
	if respType != ResponseCode && p.tx.ResponseMode == ModeQuery {
		// Tokens never travel in a query string (OAuth 2.0 Multiple Response Types §5).
		return p, errorResponse(p, "invalid_request", "response_mode=query is not allowed for response_type="+r.ResponseType), nil
	}
	grant := GrantAuthorizationCode
	if respType != ResponseCode {
		grant = GrantImplicit
	}
	if !c.HasGrantType(grant) {
		return p, errorResponse(p, "unauthorized_client", fmt.Sprintf("Grant type '%s' not allowed for the client.", grant)), nil
	}

	scope := r.Scope
	if strings.TrimSpace(scope) == "" {
		scope = "openid"
	}
	p.scopes = tokens.ParseScope(scope)
	p.tx.Scope = strings.Join(p.scopes, " ")
	if respType != ResponseCode && r.Nonce == "" {
		return p, errorResponse(p, "invalid_request", "Missing required parameter: nonce"), nil
	}
	if respType != ResponseCode && !tokens.HasScope(p.scopes, "openid") {
		return p, errorResponse(p, "invalid_request", "response_type "+respType+" needs the openid scope"), nil
	}
	if msg := checkPKCE(c, respType, r.CodeChallenge, r.CodeChallengeMethod); msg != "" {
		return p, errorResponse(p, "invalid_request", msg), nil
	}
	if respType == ResponseCode && r.CodeChallenge != "" && r.CodeChallengeMethod == "" {
		p.tx.CodeChallengeMethod = "plain" // RFC 7636 §4.3; allowed only when the client opted in
	}

	prompt, msg := parsePrompt(r.Prompt)
	if msg != "" {
		return p, errorResponse(p, "invalid_request", msg), nil
	}
	p.tx.Prompt = prompt
	if r.MaxAge != "" {
		n, err := strconv.Atoi(r.MaxAge)
		if err != nil || n < 0 {
			return p, errorResponse(p, "invalid_request", "max_age must be a non-negative integer"), nil
		}
		p.tx.MaxAge = n
	}
	if _, err := s.userAudience(c, r.Audience); err != nil {
		var den *DeniedError
		if errors.As(err, &den) {
			return p, errorResponse(p, den.Code, den.Message), nil
		}
		return p, nil, err
	}
	name := r.Connection
	if name == "" {
		name = DefaultConnection
	}
	if _, err := s.databaseConnection(ctx, name, c.ID); err != nil {
		var inv *InvalidRequestError
		if errors.As(err, &inv) {
			return p, errorResponse(p, "invalid_request", inv.Message), nil
		}
		return p, nil, err
	}
	p.tx.Connection = name
	return p, nil, nil
}

// normaliseResponseType accepts the response types latch issues, in any word order.
func normaliseResponseType(rt string) (string, bool) {
	words := strings.Fields(rt)
	slices.Sort(words)
	switch strings.Join(words, " ") {
	case "code":
		return ResponseCode, true
	case "id_token":
		return ResponseIDToken, true
	case "id_token token":
		return ResponseIDTokenToken, true
	default:
		return ResponseCode, false
	}
}

func defaultMode(responseType string) string {
	if responseType == ResponseCode {
		return ModeQuery
	}
	return ModeFragment
}

// checkPKCE enforces RFC 7636 and RFC 9700 §2.1.1: public clients must send a challenge,
// S256 unless the client opted in to plain. It returns the problem, or "".
func checkPKCE(c storage.Client, responseType, challenge, method string) string {
	if responseType != ResponseCode {
		return ""
	}
	if challenge == "" {
		if method != "" {
			return "code_challenge_method given without code_challenge"
		}
		if c.TokenEndpointAuthMethod == "none" {
			return "Missing required parameter: code_challenge (public clients must use PKCE)"
		}
		return ""
	}
	switch method {
	case "S256":
		// base64url of a SHA-256 digest: exactly 43 characters.
		if len(challenge) != 43 || !isPKCEChars(challenge) {
			return "code_challenge is not a valid S256 challenge"
		}
	case "", "plain":
		if !c.AllowPlainPKCE {
			return "code_challenge_method must be S256"
		}
		if len(challenge) < 43 || len(challenge) > 128 || !isPKCEChars(challenge) {
			return "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~]"
		}
	default:
		return "Unsupported code_challenge_method: " + method
	}
	return ""
}

// isPKCEChars says whether s uses only RFC 7636's unreserved characters.
func isPKCEChars(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_', r == '~':
		default:
			return false
		}
	}
	return true
}

// parsePrompt reads the space-separated prompt values. latch has no consent screen and
// one account per browser, so consent and select_account ask for nothing more.
func parsePrompt(prompt string) (string, string) {
	out := ""
	values := strings.Fields(prompt)
	for _, v := range values {
		switch v {
		case "none":
			if len(values) > 1 {
				return "", "prompt=none cannot be combined with other values"
			}
			out = "none"
		case "login":
			out = "login"
		case "consent", "select_account":
		default:
			return "", "Unsupported prompt: " + v
		}
	}
	return out, ""
}

// checkPageMode says why the response mode cannot answer at redirectURI, or "" when it can
// (the same conditions the delivery enforces).
func checkPageMode(c storage.Client, mode, redirectURI string) string {
	if mode != ModeFormPost && mode != ModeWebMessage {
		return ""
	}
	u, err := url.Parse(redirectURI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "response_mode=" + mode + " needs an http or https redirect_uri."
	}
	if mode == ModeWebMessage {
		target := originOf(redirectURI)
		if !slices.ContainsFunc(c.WebOrigins, func(o string) bool { return strings.TrimSuffix(o, "/") == target }) {
			return "The origin " + target + " is not in the list of allowed web origins of the application."
		}
	}
	return ""
}

// errorResponse is an OAuth error for the client, with its state.
func errorResponse(p authParams, code, description string) *AuthResponse {
	v := url.Values{"error": {code}, "error_description": {description}}
	if p.tx.State != "" {
		v.Set("state", p.tx.State)
	}
	return &AuthResponse{RedirectURI: p.tx.RedirectURI, Mode: p.tx.ResponseMode, Params: v, WebOrigins: p.client.WebOrigins}
}

// originOf is scheme://host[:port] of an absolute URL ("" when it has none).
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
