package authapi

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/bind"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/web"
)

// The account lifecycle by email, over HTTP: POST /dbconnections/change_password
// (AUTH0-COMPAT §2.2), the hosted pages that ask for a reset link (/u/forgot-password) and
// set a new password with one (/u/reset-password), and the links that verify an address
// (/u/email-verification) and lift a brute-force block (/u/unblock).

// resetSentText is Auth0's answer to a reset request, the same whether or not the address
// has an account.
const resetSentText = "We've just sent you an email to reset your password."

// ResetCSRFCookie holds the reset form's CSRF token (double submit: the form must send the
// cookie's value back). It is scoped to the reset page and SameSite=Strict, so another site
// can neither read nor send it.
const ResetCSRFCookie = "latch_reset_csrf"

const resetPath = "/u/reset-password"

type changePasswordBody struct {
	ClientID     string `json:"client_id"`
	Email        string `json:"email"`
	Connection   string `json:"connection"`
	Organization string `json:"organization"`
}

// ChangePassword serves POST /dbconnections/change_password: the reset email, and a
// text/plain answer that is the same whether or not the address has an account. The body is
// JSON (as the SDKs send it) or a form.
func (h *Handler) ChangePassword(c echo.Context) error {
	var body changePasswordBody
	if bind.MediaType(c.Request()) == "application/x-www-form-urlencoded" {
		params, err := bind.Params(c.Request(), MaxBody)
		if err != nil {
			return changePasswordBindError(err)
		}
		body = changePasswordBody{ClientID: params["client_id"], Email: params["email"], Connection: params["connection"]}
	} else if err := bind.JSON(c.Request(), MaxBody, &body); err != nil {
		return changePasswordBindError(err)
	}
	err := h.Flow.RequestPasswordReset(c.Request().Context(), flow.PasswordResetRequest{
		ClientID: body.ClientID, Connection: body.Connection, Email: body.Email, IP: c.RealIP(),
		Locale: h.Pages.Locale("", c.Request().Header.Get("Accept-Language")),
	})
	if err != nil {
		return changePasswordError(err)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.String(http.StatusOK, resetSentText)
}

func changePasswordBindError(err error) error {
	var be *bind.Error
	if !errors.As(err, &be) {
		return err
	}
	e := apierror.BadSignup("invalid_request", be.Message)
	e.StatusCode = be.Status
	return e
}

// changePasswordError translates flow errors into the database-connection error body.
func changePasswordError(err error) error {
	var inv *flow.InvalidRequestError
	switch {
	case errors.As(err, &inv):
		return apierror.BadSignup("invalid_request", inv.Message)
	case errors.Is(err, flow.ErrClientAuth):
		return &apierror.DBConnection{StatusCode: http.StatusUnauthorized, Name: "UnauthorizedError", Code: "unauthorized", Description: "Unknown client."}
	case errors.Is(err, flow.ErrTooManyResetRequests):
		return &apierror.DBConnection{StatusCode: http.StatusTooManyRequests, Name: "TooManyRequestsError", Code: "too_many_requests",
			Description: "Too many password reset requests. Try again later.", RetryAfter: flow.RetryAfterSeconds(err)}
	case errors.Is(err, flow.ErrEmailUnavailable):
		return &apierror.DBConnection{StatusCode: http.StatusNotImplemented, Name: "NotImplementedError", Code: "not_implemented",
			Description: "This server sends no email."}
	default:
		return &apierror.DBConnection{StatusCode: http.StatusInternalServerError, Name: "InternalServerError", Code: "internal_error", Description: "Internal error", Cause: err}
	}
}

// ---------------------------------------------------------------------------------------
// /u/forgot-password: the hosted login's "Forgot your password?"

// ForgotPasswordURL is the forgot-password page of a login transaction, for the login page's
// link (web.LoginView.ForgotPasswordURL).
func ForgotPasswordURL(txID string) string {
	return "/u/forgot-password?" + url.Values{"state": {txID}}.Encode()
}

// ForgotPasswordPage serves GET /u/forgot-password.
func (h *Handler) ForgotPasswordPage(c echo.Context) error {
	page, err := h.Flow.LoginPageFor(c.Request().Context(), c.QueryParam("state"))
	if err != nil {
		return h.staleFormPage(c, err)
	}
	return h.renderForgotPassword(c, http.StatusOK, page, page.Transaction.LoginHint, "")
}

// SubmitForgotPassword serves POST /u/forgot-password: the email goes out as
// /dbconnections/change_password sends it, for the transaction's client and connection.
func (h *Handler) SubmitForgotPassword(c echo.Context) error {
	form, err := readForm(c)
	if err != nil {
		return h.errorPage(c, http.StatusBadRequest, "invalid_request", err.Error())
	}
	ctx := c.Request().Context()
	txID := c.QueryParam("state")
	page, err := h.Flow.LoginPageFor(ctx, txID)
	if err != nil {
		return h.staleFormPage(c, err)
	}
	locale := h.locale(c, page.Transaction.UILocales)
	err = h.Flow.RequestPasswordResetForm(ctx, flow.ResetRequestForm{
		TransactionID: txID, CSRF: form["csrf"], Email: form["email"], IP: c.RealIP(), Locale: locale,
	})
	var inv *flow.InvalidRequestError
	switch {
	case err == nil:
	case errors.Is(err, flow.ErrTransactionNotFound), errors.Is(err, flow.ErrCSRF):
		return h.staleFormPage(c, err)
	case errors.As(err, &inv):
		return h.renderForgotPassword(c, http.StatusBadRequest, page, form["email"], "error.invalid_email")
	case errors.Is(err, flow.ErrTooManyResetRequests):
		c.Response().Header().Set("Retry-After", strconv.Itoa(flow.RetryAfterSeconds(err)))
		return h.renderForgotPassword(c, http.StatusTooManyRequests, page, form["email"], "error.too_many_requests")
	default:
		return h.serverErrorPage(c, err)
	}
	return h.renderDone(c, web.DoneView{Common: web.Common{Locale: locale}, TitleKey: "done.reset_sent.title",
		BodyKey: "done.reset_sent.body", ContinueURL: loginURL(txID), ContinueKey: "forgot_password.back"})
}

func (h *Handler) renderForgotPassword(c echo.Context, status int, page flow.LoginPage, email, errKey string) error {
	tx := page.Transaction
	var buf bytes.Buffer
	err := h.Pages.ForgotPassword(&buf, web.ForgotPasswordView{
		Common: h.common(c, tx.UILocales), FormAction: ForgotPasswordURL(tx.ID), CSRF: tx.CSRF, Email: email,
		ErrorKey: errKey, LoginURL: loginURL(tx.ID),
	})
	if err != nil {
		return h.serverErrorPage(c, err)
	}
	return h.sendPage(c, status, buf.Bytes())
}

// ---------------------------------------------------------------------------------------
// /u/reset-password: a new password with a reset link

// resetState is what the reset page shows again after a refusal.
type resetState struct {
	errKey      string
	fieldErrors map[string]string
}

// ResetPasswordPage serves GET /u/reset-password?ticket=…: the form, if the link is good. The
// link is not spent by showing it (mail scanners fetch links), only by a successful submit.
func (h *Handler) ResetPasswordPage(c echo.Context) error {
	ticket := c.QueryParam("ticket")
	page, err := h.Flow.PasswordResetPage(c.Request().Context(), ticket)
	if err != nil {
		return h.linkRefused(c, err)
	}
	// A reset form already open in another tab keeps working: its token is reused.
	csrf := storage.NewOpaqueToken()
	if ck, err := c.Cookie(ResetCSRFCookie); err == nil && len(ck.Value) == len(csrf) {
		csrf = ck.Value
	}
	c.SetCookie(h.resetCSRFCookie(csrf, time.Hour))
	return h.renderReset(c, http.StatusOK, page, ticket, csrf, resetState{})
}

// SubmitResetPassword serves POST /u/reset-password.
func (h *Handler) SubmitResetPassword(c echo.Context) error {
	form, err := readForm(c)
	if err != nil {
		return h.errorPage(c, http.StatusBadRequest, "invalid_request", err.Error())
	}
	if !h.resetCSRFMatches(c, form["csrf"]) {
		return h.staleFormPage(c, flow.ErrCSRF)
	}
	ctx := c.Request().Context()
	ticket, csrf := form["ticket"], form["csrf"]
	page, err := h.Flow.PasswordResetPage(ctx, ticket)
	if err != nil {
		return h.linkRefused(c, err)
	}
	locale := h.locale(c, "")
	fieldError := func(status int, field, key string) error {
		return h.renderReset(c, status, page, ticket, csrf, resetState{fieldErrors: map[string]string{field: key}})
	}
	if form["password"] != "" && subtle.ConstantTimeCompare([]byte(form["password"]), []byte(form["password_confirm"])) != 1 {
		return fieldError(http.StatusBadRequest, "password_confirm", "error.password_mismatch")
	}
	out, err := h.Flow.ResetPassword(ctx, flow.PasswordReset{Token: ticket, Password: form["password"], Locale: locale})
	var (
		weak *flow.WeakPasswordError
		inv  *flow.InvalidRequestError
	)
	switch {
	case err == nil:
	case errors.Is(err, flow.ErrTicketInvalid), errors.Is(err, flow.ErrEmailUnavailable):
		return h.linkRefused(c, err)
	case errors.As(err, &weak):
		return fieldError(http.StatusBadRequest, "password", "error.invalid_password")
	case errors.Is(err, flow.ErrPasswordInDictionary):
		return fieldError(http.StatusBadRequest, "password", "error.password_too_common")
	case errors.As(err, &inv):
		return fieldError(http.StatusBadRequest, "password", "error.required")
	case errors.Is(err, flow.ErrBusy):
		c.Response().Header().Set("Retry-After", "1")
		return h.renderReset(c, http.StatusServiceUnavailable, page, ticket, csrf, resetState{errKey: "error.generic"})
	default:
		return h.serverErrorPage(c, err)
	}
	expired := h.resetCSRFCookie("", 0)
	expired.MaxAge = -1
	c.SetCookie(expired)
	return h.renderDone(c, web.DoneView{Common: web.Common{Locale: locale}, TitleKey: "done.password_changed.title",
		BodyKey: "done.password_changed.body", ContinueURL: out.RedirectURL})
}

func (h *Handler) renderReset(c echo.Context, status int, page flow.ResetPage, ticket, csrf string, st resetState) error {
	opts := page.Connection.Options
	preset := opts.PasswordPolicy
	if preset == "" {
		preset = "none"
	}
	var buf bytes.Buffer
	err := h.Pages.ResetPassword(&buf, web.ResetPasswordView{
		Common: h.common(c, ""), FormAction: resetPath, CSRF: csrf, Email: page.Email, ErrorKey: st.errKey,
		PasswordPreset: preset, MinLength: opts.MinLength, FieldErrors: st.fieldErrors,
		Hidden: []web.Field{{Name: "ticket", Value: ticket}},
	})
	if err != nil {
		return h.serverErrorPage(c, err)
	}
	return h.sendPage(c, status, buf.Bytes())
}

func (h *Handler) resetCSRFCookie(value string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{
		Name: ResetCSRFCookie, Value: value, Path: resetPath, HttpOnly: true, Secure: h.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge / time.Second),
	}
}

// resetCSRFMatches checks the form's CSRF token against the cookie set with the form.
func (h *Handler) resetCSRFMatches(c echo.Context, fromForm string) bool {
	ck, err := c.Cookie(ResetCSRFCookie)
	if err != nil || ck.Value == "" || fromForm == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(ck.Value), []byte(fromForm)) == 1
}

// ---------------------------------------------------------------------------------------
// /u/email-verification and /u/unblock: links that act when followed

// VerifyEmailLink serves GET /u/email-verification?ticket=…: the address is verified, and
// the user sent to the ticket's result URL or shown latch's page.
func (h *Handler) VerifyEmailLink(c echo.Context) error {
	return h.followLink(c, h.Flow.VerifyEmail, "done.email_verified.title", "done.email_verified.body")
}

// UnblockLink serves GET /u/unblock?ticket=…: the brute-force blocks of the account are
// lifted.
func (h *Handler) UnblockLink(c echo.Context) error {
	return h.followLink(c, h.Flow.UnblockAccount, "done.unblocked.title", "done.unblocked.body")
}

func (h *Handler) followLink(c echo.Context, follow func(context.Context, string) (flow.TicketOutcome, error), titleKey, bodyKey string) error {
	out, err := follow(c.Request().Context(), c.QueryParam("ticket"))
	if err != nil {
		return h.linkRefused(c, err)
	}
	if out.RedirectURL != "" {
		noStore(c)
		return c.Redirect(http.StatusFound, out.RedirectURL)
	}
	return h.renderDone(c, web.DoneView{Common: h.common(c, ""), TitleKey: titleKey, BodyKey: bodyKey})
}

// linkRefused is the page of a link that cannot be used: the same for every reason (unknown,
// expired, used, another kind, an address that changed).
func (h *Handler) linkRefused(c echo.Context, err error) error {
	switch {
	case errors.Is(err, flow.ErrTicketInvalid):
		locale := h.locale(c, "")
		return h.errorPageKey(c, http.StatusBadRequest, "error.link_invalid", h.Pages.Message(locale, "error.link_invalid_body"))
	case errors.Is(err, flow.ErrEmailUnavailable):
		return h.errorPage(c, http.StatusNotImplemented, "not_implemented", "This server sends no email.")
	default:
		return h.serverErrorPage(c, err)
	}
}

func (h *Handler) renderDone(c echo.Context, v web.DoneView) error {
	var buf bytes.Buffer
	if err := h.Pages.Done(&buf, v); err != nil {
		return h.serverErrorPage(c, err)
	}
	return h.sendPage(c, http.StatusOK, buf.Bytes())
}
