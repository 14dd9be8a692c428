package flow

import (
	"errors"
	"fmt"

	"github.com/latchauth/latch/password"
)

// Errors the use cases return. Handlers map them to their endpoint's error shape.
var (
	// ErrWrongCredentials: unknown user or wrong password — deliberately indistinguishable.
	ErrWrongCredentials = errors.New("wrong email or password")
	// ErrUserBlocked: an admin blocked the user.
	ErrUserBlocked = errors.New("user is blocked")
	// ErrClientAuth: unknown client, wrong or missing secret.
	ErrClientAuth = errors.New("client authentication failed")
	// ErrUserExists / ErrUsernameExists: signup collided with an existing user.
	ErrUserExists     = errors.New("the user already exists")
	ErrUsernameExists = errors.New("the username already exists")
	// ErrBusy: too many password checks are running; the client should retry shortly.
	ErrBusy = password.ErrBusy
	// ErrTooManyAttempts: brute-force protection blocks this identifier from this IP.
	ErrTooManyAttempts = errors.New("too many failed attempts")
	// ErrPasswordInDictionary: the password is on the list of common passwords.
	ErrPasswordInDictionary = errors.New("password is too common")
)

// InvalidRequestError is a request that is well-formed but not acceptable: a missing or
// bad field. Message is safe to show.
type InvalidRequestError struct {
	Field   string
	Message string
}

func (e *InvalidRequestError) Error() string { return e.Message }

func invalid(field, format string, args ...any) error {
	return &InvalidRequestError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// missing is Auth0's wording for a required parameter that was not sent.
func missing(field string) error {
	return &InvalidRequestError{Field: field, Message: "Missing required parameter: " + field}
}

// WeakPasswordError carries the policy report for the signup error body.
type WeakPasswordError struct {
	Result password.Result
	Policy string
}

func (e *WeakPasswordError) Error() string { return "password is too weak" }

// DeniedError refuses a grant for a reason the client may read, e.g. a client that may
// not use an API, or a rule's denial. Code is the OAuth error code.
type DeniedError struct {
	Code    string // access_denied, unauthorized_client, unauthorized
	Message string
}

func (e *DeniedError) Error() string { return e.Code + ": " + e.Message }

func denied(code, format string, args ...any) error {
	return &DeniedError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// SignupDeniedError is a pre-user-registration action refusing a signup
// (api.access.deny, api.validation.error). Message is the action's message for the end
// user, safe to show.
type SignupDeniedError struct {
	Code    string // the action's code, or "invalid_signup"
	Message string
}

func (e *SignupDeniedError) Error() string { return "signup denied: " + e.Code + ": " + e.Message }
