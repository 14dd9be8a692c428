package authapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/bind"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/web"
)

// SessionCookie is the name of the SSO session cookie.
const SessionCookie = "latch_session"

// maxFormBody bounds the hosted pages' form posts.
const maxFormBody = 16 << 10

// authorizeParams are the /authorize parameters latch reads; any other is ignored
// (AUTH0-COMPAT §0.8), and none of these may be sent twice (RFC 6749 §3.1).
var authorizeParams = []string{
	"client_id", "redirect_uri", "response_type", "response_mode", "scope", "audience", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt", "max_age", "login_hint", "screen_hint",
	"connection", "ui_locales",
}

// Authorize serves GET /authorize (AUTH0-COMPAT §2.3).
func (h *Handler) Authorize(c echo.Context) error {
	q := c.Request().URL.Query()
	for _, name := range authorizeParams {
		if len(q[name]) > 1 {
			return h.errorPage(c, http.StatusBadRequest, "invalid_request", "Parameter "+name+" was sent more than once.")
		}
	}
	r := flow.AuthorizeRequest{
		ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), ResponseType: q.Get("response_type"),
		ResponseMode: q.Get("response_mode"), Scope: q.Get("scope"), Audience: q.Get("audience"),
		State: q.Get("state"), Nonce: q.Get("nonce"), CodeChallenge: q.Get("code_challenge"),
		CodeChallengeMethod: q.Get("code_challenge_method"), Prompt: q.Get("prompt"), MaxAge: q.Get("max_age"),
		LoginHint: q.Get("login_hint"), ScreenHint: q.Get("screen_hint"), Connection: q.Get("connection"),
		UILocales: q.Get("ui_locales"),
	}
	req := ruleRequest(c.Request(), nil)
	req.IP = c.RealIP()
	out, err := h.Flow.Authorize(c.Request().Context(), r, sessionToken(c), req)
	var pe *flow.PageError
	switch {
	case errors.As(err, &pe):
		return h.errorPage(c, http.StatusBadRequest, pe.Code, pe.Description)
	case errors.Is(err, flow.ErrTooManyTransactions):
		c.Response().Header().Set("Retry-After", strconv.Itoa(flow.RetryAfterSeconds(err)))
		return h.errorPage(c, http.StatusTooManyRequests, "too_many_requests", "Too many logins were started from this address. Try again later.")
	case err != nil:
		return h.serverErrorPage(c, err)
	case out.Response != nil:
		return h.deliver(c, out.Response)
	}
	page := "/u/login"
	if out.Transaction.ScreenHint == "signup" {
		page = "/u/signup"
	}
	return c.Redirect(http.StatusFound, page+"?"+url.Values{"state": {out.Transaction.ID}}.Encode())
}

// LoginPage serves GET /u/login.
func (h *Handler) LoginPage(c echo.Context) error {
	page, err := h.Flow.LoginPageFor(c.Request().Context(), c.QueryParam("state"))
	if err != nil {
		return h.staleFormPage(c, err)
	}
	return h.renderLogin(c, http.StatusOK, page, page.Transaction.LoginHint, "", "")
}

// SubmitLogin serves POST /u/login.
func (h *Handler) SubmitLogin(c echo.Context) error {
	return h.submitForm(c, func(ctx context.Context, txID string, form map[string]string) (flow.BrowserLogin, error) {
		return h.Flow.SubmitLogin(ctx, flow.LoginForm{
			TransactionID: txID, CSRF: form["csrf"], Username: form["username"], Password: form["password"],
			IP: c.RealIP(), Request: ruleRequest(c.Request(), form),
		})
	}, h.loginRefused)
}

// submitForm runs a hosted page's form: submit does the use case; on success the browser
// goes back to the client with the new session's cookie. A stale form (transaction gone,
// CSRF token wrong) gets an error page; other refusals go to refused, with the page to
// show again.
func (h *Handler) submitForm(c echo.Context,
	submit func(ctx context.Context, txID string, form map[string]string) (flow.BrowserLogin, error),
	refused func(c echo.Context, page flow.LoginPage, form map[string]string, err error) error,
) error {
	form, err := readForm(c)
	if err != nil {
		return h.errorPage(c, http.StatusBadRequest, "invalid_request", err.Error())
	}
	ctx := c.Request().Context()
	txID := c.QueryParam("state")
	res, err := submit(ctx, txID, form)
	if err == nil {
		return h.finishBrowserLogin(c, res)
	}
	if errors.Is(err, flow.ErrTransactionNotFound) || errors.Is(err, flow.ErrCSRF) {
		return h.staleFormPage(c, err)
	}
	page, perr := h.Flow.LoginPageFor(ctx, txID)
	if perr != nil {
		return h.staleFormPage(c, perr)
	}
	return refused(c, page, form, err)
}

// loginRefused shows the login page again, or the too-many-attempts page.
func (h *Handler) loginRefused(c echo.Context, page flow.LoginPage, form map[string]string, err error) error {
	var inv *flow.InvalidRequestError
	switch {
	case errors.Is(err, flow.ErrTooManyAttempts), errors.Is(err, flow.ErrSuspiciousIP):
		if s := flow.RetryAfterSeconds(err); s > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(s))
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		var buf bytes.Buffer
		if err := h.Pages.TooManyAttempts(&buf, web.TooManyAttemptsView{Common: h.common(c, page.Transaction.UILocales), LoginURL: loginURL(page.Transaction.ID)}); err != nil {
			return h.serverErrorPage(c, err)
		}
		return h.sendPage(c, http.StatusTooManyRequests, buf.Bytes())
	case errors.Is(err, flow.ErrWrongCredentials):
		return h.renderLogin(c, http.StatusUnauthorized, page, form["username"], "error.wrong_credentials", "")
	case errors.Is(err, flow.ErrBusy):
		c.Response().Header().Set("Retry-After", "1")
		return h.renderLogin(c, http.StatusServiceUnavailable, page, form["username"], "error.generic", "")
	case errors.As(err, &inv):
		return h.renderLogin(c, http.StatusBadRequest, page, form["username"], "", inv.Message)
	default:
		return h.serverErrorPage(c, err)
	}
}

func (h *Handler) renderLogin(c echo.Context, status int, page flow.LoginPage, email, errKey, errText string) error {
	tx := page.Transaction
	var buf bytes.Buffer
	err := h.Pages.Login(&buf, web.LoginView{
		Common: h.common(c, tx.UILocales), FormAction: loginURL(tx.ID), CSRF: tx.CSRF, Email: email,
		ErrorKey: errKey, ErrorText: errText, SignupURL: "/u/signup?" + url.Values{"state": {tx.ID}}.Encode(),
		ClientName: page.Client.Name, UsernameAllowed: page.Connection.Options.RequiresUsername,
		ForgotPasswordURL: ForgotPasswordURL(tx.ID),
	})
	if err != nil {
		return h.serverErrorPage(c, err)
	}
	return h.sendPage(c, status, buf.Bytes(), tx.RedirectURI)
}

// SignupPage serves GET /u/signup.
func (h *Handler) SignupPage(c echo.Context) error {
	page, err := h.Flow.LoginPageFor(c.Request().Context(), c.QueryParam("state"))
	if err != nil {
		return h.staleFormPage(c, err)
	}
	return h.renderSignup(c, http.StatusOK, page, signupState{email: page.Transaction.LoginHint})
}

// signupState is what the signup page shows again after a refusal.
type signupState struct {
	email, username string
	errKey, errText string
	fieldErrors     map[string]string
}

// SubmitSignup serves POST /u/signup.
func (h *Handler) SubmitSignup(c echo.Context) error {
	return h.submitForm(c, func(ctx context.Context, txID string, form map[string]string) (flow.BrowserLogin, error) {
		return h.Flow.SubmitSignup(ctx, flow.SignupForm{
			TransactionID: txID, CSRF: form["csrf"], Email: form["email"], Username: form["username"],
			Password: form["password"], IP: c.RealIP(), Request: ruleRequest(c.Request(), form),
		})
	}, h.signupRefused)
}

// signupRefused shows the signup page again with what went wrong.
func (h *Handler) signupRefused(c echo.Context, page flow.LoginPage, form map[string]string, err error) error {
	st := signupState{email: form["email"], username: form["username"], fieldErrors: map[string]string{}}
	var (
		inv  *flow.InvalidRequestError
		weak *flow.WeakPasswordError
		den  *flow.SignupDeniedError
	)
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, flow.ErrUserExists), errors.Is(err, flow.ErrUsernameExists):
		st.errKey = "error.email_taken"
	case errors.As(err, &weak), errors.Is(err, flow.ErrPasswordInDictionary):
		st.fieldErrors["password"] = h.Pages.Message(h.locale(c, page.Transaction.UILocales), "error.invalid_password")
	case errors.As(err, &den):
		st.errText = den.Message
	case errors.As(err, &inv):
		if inv.Field == "email" {
			st.fieldErrors["email"] = h.Pages.Message(h.locale(c, page.Transaction.UILocales), "error.invalid_email")
		} else {
			st.errText = inv.Message
		}
	case errors.Is(err, flow.ErrBusy):
		c.Response().Header().Set("Retry-After", "1")
		status, st.errKey = http.StatusServiceUnavailable, "error.generic"
	case errors.Is(err, flow.ErrTooManySignups):
		// The too-many-attempts page speaks of a blocked account: wrong for a signup.
		c.Response().Header().Set("Retry-After", strconv.Itoa(flow.RetryAfterSeconds(err)))
		status, st.errKey = http.StatusTooManyRequests, "error.generic"
	default:
		return h.serverErrorPage(c, err)
	}
	return h.renderSignup(c, status, page, st)
}

func (h *Handler) renderSignup(c echo.Context, status int, page flow.LoginPage, st signupState) error {
	tx := page.Transaction
	opts := page.Connection.Options
	preset := opts.PasswordPolicy
	if preset == "" {
		preset = "none"
	}
	var buf bytes.Buffer
	err := h.Pages.Signup(&buf, web.SignupView{
		Common: h.common(c, tx.UILocales), FormAction: "/u/signup?" + url.Values{"state": {tx.ID}}.Encode(),
		CSRF: tx.CSRF, Email: st.email, ErrorKey: st.errKey, ErrorText: st.errText, LoginURL: loginURL(tx.ID),
		ClientName: page.Client.Name, RequiresUsername: opts.RequiresUsername, PasswordPreset: preset,
		MinLength: opts.MinLength, FieldErrors: st.fieldErrors, Username: st.username,
	})
	if err != nil {
		return h.serverErrorPage(c, err)
	}
	return h.sendPage(c, status, buf.Bytes(), tx.RedirectURI)
}

// finishBrowserLogin sets the new session's cookie and answers the client.
func (h *Handler) finishBrowserLogin(c echo.Context, res flow.BrowserLogin) error {
	if res.SessionToken != "" {
		c.SetCookie(h.sessionCookie(res.SessionToken, res.Session.ExpiresAt))
	}
	return h.deliver(c, res.Response)
}

// deliver sends an authorization response to the client per its response mode.
func (h *Handler) deliver(c echo.Context, r *flow.AuthResponse) error {
	noStore(c)
	switch r.Mode {
	case flow.ModeFormPost:
		fields := make([]web.Field, 0, len(r.Params))
		for _, k := range sortedKeys(r.Params) {
			fields = append(fields, web.Field{Name: k, Value: r.Params.Get(k)})
		}
		var buf bytes.Buffer
		if err := h.Pages.FormPost(&buf, web.FormPostView{Common: h.common(c, ""), Action: r.RedirectURI, Fields: fields}); err != nil {
			return h.serverErrorPage(c, err)
		}
		// The auto-submitting form may post to the client's own origin.
		c.Response().Header().Set("Content-Security-Policy", pageCSP("'none'", "'self' "+r.TargetOrigin()))
		return c.HTMLBlob(http.StatusOK, buf.Bytes())
	case flow.ModeWebMessage:
		target := r.TargetOrigin()
		if !containsOrigin(r.WebOrigins, target) {
			return h.errorPage(c, http.StatusBadRequest, "invalid_request",
				"The origin "+target+" is not in the list of allowed web origins of the application.")
		}
		response := make(map[string]string, len(r.Params))
		for k := range r.Params {
			response[k] = r.Params.Get(k)
		}
		var buf bytes.Buffer
		if err := h.Pages.WebMessage(&buf, web.WebMessageView{Common: h.common(c, ""), TargetOrigin: target, Response: response}); err != nil {
			return h.serverErrorPage(c, err)
		}
		// Only the client's allowed web origins may frame the answer (silent authentication
		// runs it in a hidden iframe). X-Frame-Options cannot list origins, so it goes.
		c.Response().Header().Del("X-Frame-Options")
		c.Response().Header().Set("Content-Security-Policy", pageCSP(strings.Join(r.WebOrigins, " "), "'none'"))
		return c.HTMLBlob(http.StatusOK, buf.Bytes())
	default:
		return c.Redirect(http.StatusFound, r.URL())
	}
}

// Logout serves GET /v2/logout (AUTH0-COMPAT §2.6).
func (h *Handler) Logout(c echo.Context) error {
	q := c.Request().URL.Query()
	return h.logout(c, flow.LogoutRequest{
		SessionToken: sessionToken(c), ClientID: q.Get("client_id"), ReturnTo: q.Get("returnTo"),
	}, false, q.Get("ui_locales"))
}

// OIDCLogout serves OpenID Connect RP-initiated logout at /oidc/logout (GET or POST). It asks
// the user to confirm unless the client proves itself with an id_token_hint.
func (h *Handler) OIDCLogout(c echo.Context) error {
	params, err := logoutParams(c)
	if err != nil {
		return h.errorPage(c, http.StatusBadRequest, "invalid_request", err.Error())
	}
	r := flow.LogoutRequest{
		SessionToken: sessionToken(c), ClientID: params["client_id"], ReturnTo: params["post_logout_redirect_uri"],
		IDTokenHint: params["id_token_hint"], State: params["state"],
	}
	return h.logout(c, r, true, params["ui_locales"])
}

// ConfirmLogout serves POST /oidc/logout/confirm: the confirmation form's answer.
func (h *Handler) ConfirmLogout(c echo.Context) error {
	form, err := readForm(c)
	if err != nil {
		return h.errorPage(c, http.StatusBadRequest, "invalid_request", err.Error())
	}
	token := sessionToken(c)
	if !flow.CheckLogoutCSRF(token, form["csrf"]) {
		return h.staleFormPage(c, flow.ErrCSRF)
	}
	r := flow.LogoutRequest{SessionToken: token, ClientID: form["client_id"], ReturnTo: form["post_logout_redirect_uri"], State: form["state"]}
	plan, err := h.Flow.PlanLogout(c.Request().Context(), r, true)
	if err != nil {
		return h.logoutError(c, err)
	}
	return h.endSession(c, token, plan.Redirect, form["ui_locales"])
}

func (h *Handler) logout(c echo.Context, r flow.LogoutRequest, oidc bool, uiLocales string) error {
	plan, err := h.Flow.PlanLogout(c.Request().Context(), r, oidc)
	if err != nil {
		return h.logoutError(c, err)
	}
	if plan.Confirm {
		hidden := []web.Field{}
		for _, f := range []web.Field{{Name: "client_id", Value: r.ClientID}, {Name: "post_logout_redirect_uri", Value: r.ReturnTo}, {Name: "state", Value: r.State}, {Name: "ui_locales", Value: uiLocales}} {
			if f.Value != "" {
				hidden = append(hidden, f)
			}
		}
		var buf bytes.Buffer
		err := h.Pages.LogoutConfirm(&buf, web.LogoutConfirmView{
			Common: h.common(c, uiLocales), FormAction: "/oidc/logout/confirm", CSRF: flow.LogoutCSRF(r.SessionToken),
			ClientName: plan.ClientName, Hidden: hidden,
		})
		if err != nil {
			return h.serverErrorPage(c, err)
		}
		return h.sendPage(c, http.StatusOK, buf.Bytes(), r.ReturnTo)
	}
	return h.endSession(c, r.SessionToken, plan.Redirect, uiLocales)
}

func (h *Handler) logoutError(c echo.Context, err error) error {
	var pe *flow.PageError
	if errors.As(err, &pe) {
		return h.errorPage(c, http.StatusBadRequest, pe.Code, pe.Description)
	}
	return h.serverErrorPage(c, err)
}

// endSession ends the SSO session, clears its cookie, and goes on to redirect (or shows
// the logged-out page).
func (h *Handler) endSession(c echo.Context, token, redirect, uiLocales string) error {
	if err := h.Flow.EndSession(c.Request().Context(), token); err != nil {
		return h.serverErrorPage(c, err)
	}
	expired := h.sessionCookie("", time.Unix(0, 0))
	expired.MaxAge = -1
	c.SetCookie(expired)
	if redirect != "" {
		return c.Redirect(http.StatusFound, redirect)
	}
	var buf bytes.Buffer
	if err := h.Pages.LoggedOut(&buf, web.LoggedOutView{Common: h.common(c, uiLocales)}); err != nil {
		return h.serverErrorPage(c, err)
	}
	return h.sendPage(c, http.StatusOK, buf.Bytes())
}

// logoutParams reads /oidc/logout's parameters from the query (GET) or a form (POST).
func logoutParams(c echo.Context) (map[string]string, error) {
	if c.Request().Method == http.MethodPost {
		return readForm(c)
	}
	out := map[string]string{}
	for k, vs := range c.Request().URL.Query() {
		if len(vs) > 1 {
			return nil, errors.New("parameter " + k + " was sent more than once")
		}
		out[k] = vs[0]
	}
	return out, nil
}

// readForm reads a hosted page's url-encoded form.
func readForm(c echo.Context) (map[string]string, error) {
	if bind.MediaType(c.Request()) != "application/x-www-form-urlencoded" {
		return nil, errors.New("the form must be sent as application/x-www-form-urlencoded")
	}
	params, err := bind.Params(c.Request(), maxFormBody)
	if err != nil {
		var be *bind.Error
		if errors.As(err, &be) {
			return nil, errors.New(be.Message)
		}
		return nil, err
	}
	return params, nil
}

func sessionToken(c echo.Context) string {
	ck, err := c.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	return ck.Value
}

// sessionCookie is the SSO cookie. Under TLS it is SameSite=None so that silent
// authentication in a cross-site iframe sees it (AUTH0-COMPAT §7); without TLS browsers
// refuse SameSite=None, and Lax still reaches same-site iframes (an SPA on another port of
// the same host).
func (h *Handler) sessionCookie(value string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{Name: SessionCookie, Value: value, Path: "/", HttpOnly: true, Expires: expires, SameSite: http.SameSiteLaxMode}
	if h.Secure {
		ck.Secure = true
		ck.SameSite = http.SameSiteNoneMode
	}
	return ck
}

func loginURL(txID string) string { return "/u/login?" + url.Values{"state": {txID}}.Encode() }

// staleFormPage answers a page whose transaction is gone or whose CSRF token is wrong.
func (h *Handler) staleFormPage(c echo.Context, err error) error {
	switch {
	case errors.Is(err, flow.ErrCSRF):
		return h.errorPageKey(c, http.StatusForbidden, "error.csrf", "")
	case errors.Is(err, flow.ErrTransactionNotFound):
		return h.errorPageKey(c, http.StatusBadRequest, "error.session_expired", "")
	default:
		return h.serverErrorPage(c, err)
	}
}

// errorPage shows an error whose description is safe to show.
func (h *Handler) errorPage(c echo.Context, status int, code, description string) error {
	return h.errorPageKey(c, status, "error.generic", code+": "+description)
}

// serverErrorPage logs the cause and shows only the request id.
func (h *Handler) serverErrorPage(c echo.Context, err error) error {
	h.Log.ErrorContext(c.Request().Context(), "page failed", "path", c.Request().URL.Path, "error", err)
	if errors.Is(err, storage.ErrUnavailable) {
		// A store that is down for a while: the same page, and a status that says retry.
		c.Response().Header().Set("Retry-After", "1")
		return h.errorPageKey(c, http.StatusServiceUnavailable, "error.generic", "")
	}
	return h.errorPageKey(c, http.StatusInternalServerError, "error.generic", "")
}

func (h *Handler) errorPageKey(c echo.Context, status int, titleKey, description string) error {
	var buf bytes.Buffer
	err := h.Pages.Error(&buf, web.ErrorView{
		Common: h.common(c, c.QueryParam("ui_locales")), TitleKey: titleKey, DescriptionText: description,
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
	})
	if err != nil {
		return c.String(http.StatusInternalServerError, "internal error")
	}
	return h.sendPage(c, status, buf.Bytes())
}

// sendPage writes a hosted page with the pages' security headers: a strict CSP that allows
// only latch's own scripts and styles, never framed, never cached. A form on the page may
// post to latch and follow the redirect to returnTo's origin (browsers apply form-action to
// the redirects after a submit too).
func (h *Handler) sendPage(c echo.Context, status int, body []byte, returnTo ...string) error {
	formAction := "'self'"
	for _, u := range returnTo {
		if o := originOf(u); o != "" {
			formAction += " " + o
		}
	}
	hd := c.Response().Header()
	hd.Set("Content-Security-Policy", pageCSP("'none'", formAction))
	hd.Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, body)
}

// pageCSP is the hosted pages' Content-Security-Policy.
func pageCSP(frameAncestors, formAction string) string {
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; " +
		"object-src 'none'; base-uri 'none'; form-action " + formAction + "; frame-ancestors " + frameAncestors
}

func (h *Handler) common(c echo.Context, uiLocales string) web.Common {
	return web.Common{Locale: h.locale(c, uiLocales)}
}

func (h *Handler) locale(c echo.Context, uiLocales string) string {
	return h.Pages.Locale(uiLocales, c.Request().Header.Get("Accept-Language"))
}

func containsOrigin(origins []string, origin string) bool {
	for _, o := range origins {
		if strings.TrimSuffix(o, "/") == origin {
			return origin != ""
		}
	}
	return false
}

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// originOf is scheme://host[:port] of an absolute URL ("" when it has none).
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Favicon answers the browser's automatic /favicon.ico request without a 404.
func Favicon(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=86400")
	return c.NoContent(http.StatusNoContent)
}
