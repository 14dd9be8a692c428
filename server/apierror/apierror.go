// Package apierror holds the three error shapes latch answers with, one per family of
// endpoints, so that every handler speaks the shape its clients parse:
//   - OAuth errors (RFC 6749/6750) on /oauth/token, /userinfo and friends;
//   - database-connection errors on /dbconnections/* ({name, code, description, statusCode});
//   - Management API errors ({statusCode, error, message, errorCode}).
//
// Each carries an optional internal cause that is logged by the server's error handler
// and never sent to the client.
package apierror

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/latchauth/latch/storage"
)

// OAuth is an RFC 6749 §5.2 error: {"error","error_description"}.
type OAuth struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	// WWWAuthenticate is set on 401s from bearer-protected resources (RFC 6750 §3).
	WWWAuthenticate string `json:"-"`
	// RetryAfter, when > 0, is sent as the Retry-After header (seconds).
	RetryAfter int   `json:"-"`
	Cause      error `json:"-"`
}

func (e *OAuth) Error() string {
	return fmt.Sprintf("oauth %d %s: %s", e.Status, e.Code, e.Description)
}
func (e *OAuth) Unwrap() error { return e.Cause }

// NewOAuth builds an OAuth error.
func NewOAuth(status int, code, description string) *OAuth {
	return &OAuth{Status: status, Code: code, Description: description}
}

// WithCause returns a copy that remembers the internal cause for the log.
func (e *OAuth) WithCause(err error) *OAuth { c := *e; c.Cause = err; return &c }

// InvalidRequest is the 400 for a malformed request.
func InvalidRequest(description string) *OAuth {
	return NewOAuth(http.StatusBadRequest, "invalid_request", description)
}

// MissingParameter is Auth0's wording for a required parameter that was not sent.
func MissingParameter(name string) *OAuth {
	return InvalidRequest("Missing required parameter: " + name)
}

// InvalidToken is the 401 of a bearer-protected resource for a bad token.
func InvalidToken(description string) *OAuth {
	e := NewOAuth(http.StatusUnauthorized, "invalid_token", description)
	e.WWWAuthenticate = fmt.Sprintf("Bearer error=%q, error_description=%q", "invalid_token", description)
	return e
}

// ServerError is the OAuth 500; the cause is logged only.
func ServerError(cause error) *OAuth {
	if errors.Is(cause, storage.ErrUnavailable) {
		e := NewOAuth(http.StatusServiceUnavailable, "temporarily_unavailable", "The service is temporarily unavailable; retry shortly.")
		e.Cause, e.RetryAfter = cause, 1
		return e
	}
	return &OAuth{Status: http.StatusInternalServerError, Code: "server_error", Description: "Internal error", Cause: cause}
}

// DBConnection is the error shape of /dbconnections/*:
// {"name","code","description","statusCode"} plus "message" and "policy" for weak passwords.
type DBConnection struct {
	StatusCode  int    `json:"statusCode"`
	Name        string `json:"name"`
	Code        string `json:"code"`
	Message     string `json:"message,omitempty"`
	Description any    `json:"description"`
	Policy      string `json:"policy,omitempty"`
	RetryAfter  int    `json:"-"` // seconds, sent as Retry-After when > 0
	Cause       error  `json:"-"`
}

func (e *DBConnection) Error() string {
	return fmt.Sprintf("dbconnection %d %s: %v", e.StatusCode, e.Code, e.Description)
}
func (e *DBConnection) Unwrap() error { return e.Cause }

// BadSignup is a 400 BadRequestError with a code and a plain description.
func BadSignup(code, description string) *DBConnection {
	return &DBConnection{StatusCode: http.StatusBadRequest, Name: "BadRequestError", Code: code, Description: description}
}

// Management is the Management API v2 error body.
type Management struct {
	StatusCode int    `json:"statusCode"`
	Err        string `json:"error"`
	Message    string `json:"message"`
	ErrorCode  string `json:"errorCode,omitempty"`
	// Attributes appears on 401s: {"error": "<message>"}.
	Attributes map[string]string `json:"attributes,omitempty"`
	RetryAfter int               `json:"-"` // seconds, sent as Retry-After when > 0
	Cause      error             `json:"-"`
}

func (e *Management) Error() string {
	return fmt.Sprintf("management %d %s: %s", e.StatusCode, e.ErrorCode, e.Message)
}
func (e *Management) Unwrap() error { return e.Cause }

// NewManagement builds a Management API error; the "error" field is the status text.
func NewManagement(status int, errorCode, message string) *Management {
	return &Management{StatusCode: status, Err: http.StatusText(status), Message: message, ErrorCode: errorCode}
}

// InvalidBody is the 400 for a body that fails validation.
func InvalidBody(message string) *Management {
	return NewManagement(http.StatusBadRequest, "invalid_body", message)
}

// InvalidQuery is the 400 for bad query-string parameters.
func InvalidQuery(message string) *Management {
	return NewManagement(http.StatusBadRequest, "invalid_query_string", message)
}

// ManagementUnauthorized is the 401 for a missing or bad bearer token.
func ManagementUnauthorized(message string) *Management {
	e := NewManagement(http.StatusUnauthorized, "", message)
	e.Attributes = map[string]string{"error": message}
	return e
}

// ManagementServerError is the 500; the cause is logged only.
func ManagementServerError(cause error) *Management {
	if errors.Is(cause, storage.ErrUnavailable) {
		e := NewManagement(http.StatusServiceUnavailable, "temporarily_unavailable", "The service is temporarily unavailable; retry shortly.")
		e.Cause, e.RetryAfter = cause, 1
		return e
	}
	e := NewManagement(http.StatusInternalServerError, "internal_error", "Internal error")
	e.Cause = cause
	return e
}

// Busy is the OAuth answer when every password-hashing slot is taken: retry in a second.
func Busy() *OAuth {
	e := NewOAuth(http.StatusTooManyRequests, "too_many_requests", "The server is busy checking passwords; retry shortly.")
	e.RetryAfter = 1
	return e
}
