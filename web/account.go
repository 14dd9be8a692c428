package web

import "io"

// The pages of the account lifecycle by email: the form that asks for a reset link, the form
// that sets a new password with one, and the page that says what a link did.
const (
	pageForgotPassword = "forgot_password"
	pageResetPassword  = "reset_password"
	pageDone           = "done"
)

// ForgotPasswordView asks for the address to mail a reset link to.
type ForgotPasswordView struct {
	Common
	FormAction string
	CSRF       string
	// Email prefills the email field.
	Email string
	// ErrorKey is a catalogue key, ErrorText free text; at most one is set, ErrorKey wins.
	ErrorKey  string
	ErrorText string
	// LoginURL, when set, adds a link back to the login page.
	LoginURL string
}

// ResetPasswordView is the form that sets a new password with a reset link: the new password
// twice, with the connection's policy checked live.
type ResetPasswordView struct {
	Common
	FormAction string
	CSRF       string
	// Email names the account whose password this is (shown, not editable).
	Email     string
	ErrorKey  string
	ErrorText string
	// PasswordPreset and MinLength are the connection's policy, as on the signup page.
	PasswordPreset string
	MinLength      int
	// FieldErrors maps password or password_confirm to a catalogue key or a localized message.
	FieldErrors map[string]string
	// Hidden are extra hidden fields posted with the form (the link's ticket).
	Hidden []Field
}

// DoneView says what happened: a heading and a paragraph (catalogue keys) and, optionally, a
// link onwards.
type DoneView struct {
	Common
	// TitleKey is the heading's catalogue key, BodyKey the paragraph's.
	TitleKey string
	BodyKey  string
	// ContinueURL, when set, adds a "Continue" link (the application's result URL, or the
	// login page).
	ContinueURL string
	// ContinueKey is the link's catalogue key; empty means "done.continue".
	ContinueKey string
}

// ForgotPassword writes the page that asks for a reset link.
func (p *Pages) ForgotPassword(w io.Writer, v ForgotPasswordView) error {
	return p.render(w, pageForgotPassword, v.Locale, v)
}

// ResetPassword writes the page that sets a new password.
func (p *Pages) ResetPassword(w io.Writer, v ResetPasswordView) error {
	return p.render(w, pageResetPassword, v.Locale, v)
}

// Done writes the page that says what a link or a form did.
func (p *Pages) Done(w io.Writer, v DoneView) error {
	return p.render(w, pageDone, v.Locale, v)
}
