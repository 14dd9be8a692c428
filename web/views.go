package web

// The views: what the server's handlers give each page. Every view embeds Common. Strings are
// shown as text and escaped for their context (html/template); the *URL fields go through
// html/template's URL filter, so a javascript: URL is replaced by "#ZgotmplZ".

// Common is what every page needs.
type Common struct {
	// Locale is "en" or "fr", usually Pages.Locale's answer. A region tag ("fr-CA") counts as
	// its language; anything else renders in English.
	Locale string `json:"-"`
}

// Field is one hidden form field.
type Field struct {
	Name  string
	Value string
}

// LoginView is the login page: email (or username) and password.
type LoginView struct {
	Common
	// FormAction is the URL the form posts to.
	FormAction string
	// CSRF is the value of the hidden "csrf" field.
	CSRF string
	// Email prefills the username field (login_hint, or what the user typed before an error).
	Email string
	// ErrorKey is a catalogue key ("error.wrong_credentials"); ErrorText is free text (from an
	// admin's rule), shown verbatim. At most one is set; ErrorKey wins.
	ErrorKey  string
	ErrorText string
	// SignupURL, when set, adds a "Sign up" link.
	SignupURL string
	// ForgotPasswordURL, when set, adds a "Forgot your password?" link to the page that asks
	// for a reset link.
	ForgotPasswordURL string
	// ClientName is the application's name, shown as "Log in to <ClientName> to continue".
	ClientName string
	// UsernameAllowed makes the first field a text field labelled "Email or username"
	// instead of an email field labelled "Email". It is still named "username".
	UsernameAllowed bool
	// Hidden are extra hidden fields posted with the form.
	Hidden []Field
}

// SignupView is the signup page: email, optional username, password with its live policy.
type SignupView struct {
	Common
	FormAction string
	CSRF       string
	// Email prefills the email field.
	Email     string
	ErrorKey  string
	ErrorText string
	// LoginURL, when set, adds a "Log in" link.
	LoginURL   string
	ClientName string
	// RequiresUsername adds a "username" field, prefilled with Username.
	RequiresUsername bool
	Username         string
	// PasswordPreset is the connection's password policy: none, low, fair, good, excellent
	// (anything else counts as none, as on the server). MinLength overrides the preset's
	// minimum length when > 0.
	PasswordPreset string
	MinLength      int
	// FieldErrors maps a field name (email, username, password) to a catalogue key or to an
	// already localized message, shown under that field.
	FieldErrors map[string]string
	// Hidden are extra hidden fields posted with the form.
	Hidden []Field
}

// TooManyAttemptsView is the page shown when brute-force protection refuses a login.
type TooManyAttemptsView struct {
	Common
	// LoginURL, when set, adds a link back to the login page.
	LoginURL string
}

// ErrorView is the generic error page.
type ErrorView struct {
	Common
	// TitleKey is the catalogue key of the heading; empty means "error.title".
	TitleKey string
	// DescriptionText is free text, shown verbatim.
	DescriptionText string
	// RequestID is shown small, for support.
	RequestID string
}

// LoggedOutView is the page of a logout without a return URL.
type LoggedOutView struct {
	Common
	// ReturnTo, when set, adds a link back to the application.
	ReturnTo string
}

// LogoutConfirmView asks "Log out of <ClientName>?" (OIDC logout without id_token_hint).
type LogoutConfirmView struct {
	Common
	FormAction string
	CSRF       string
	ClientName string
	// Hidden are extra hidden fields posted with the form (post_logout_redirect_uri, state...).
	Hidden []Field
}

// FormPostView is the OAuth 2.0 form_post response: a form that submits itself to Action.
type FormPostView struct {
	Common
	// Action is the client's redirect_uri; it must be an absolute http or https URL.
	Action string
	// Fields are posted as hidden fields (code, state, id_token...).
	Fields []Field
}

// WebMessageView is the response_mode=web_message response: the page posts
// {type: "authorization_response", response: Response} to its opener or parent window.
// The JSON names are those the page's script reads.
type WebMessageView struct {
	Common
	// TargetOrigin is the origin of the redirect_uri ("https://app.example.com"); the message is
	// delivered only to a window of that origin. It must be an http or https origin.
	TargetOrigin string `json:"targetOrigin"`
	// Response is the authorization response: code and state, or error, error_description
	// and state.
	Response map[string]string `json:"response"`
}
