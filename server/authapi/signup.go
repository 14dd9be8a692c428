package authapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/bind"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
)

type signupBody struct {
	ClientID     string          `json:"client_id"`
	Connection   string          `json:"connection"`
	Email        string          `json:"email"`
	Password     string          `json:"password"`
	Username     string          `json:"username"`
	GivenName    string          `json:"given_name"`
	FamilyName   string          `json:"family_name"`
	Name         string          `json:"name"`
	Nickname     string          `json:"nickname"`
	Picture      string          `json:"picture"`
	PhoneNumber  string          `json:"phone_number"`
	UserMetadata json.RawMessage `json:"user_metadata"`
}

type signupResponse struct {
	ID            string           `json:"_id"`
	IDAlias       string           `json:"id"`
	EmailVerified bool             `json:"email_verified"`
	Email         string           `json:"email"`
	Username      string           `json:"username,omitempty"`
	GivenName     string           `json:"given_name,omitempty"`
	FamilyName    string           `json:"family_name,omitempty"`
	Name          string           `json:"name,omitempty"`
	Nickname      string           `json:"nickname,omitempty"`
	Picture       string           `json:"picture,omitempty"`
	UserMetadata  storage.Metadata `json:"user_metadata,omitempty"`
}

// Signup serves POST /dbconnections/signup (AUTH0-COMPAT §2.1).
func (h *Handler) Signup(c echo.Context) error {
	var body signupBody
	if err := bind.JSON(c.Request(), MaxBody, &body); err != nil {
		var be *bind.Error
		errors.As(err, &be)
		e := apierror.BadSignup("invalid_signup", be.Message)
		e.StatusCode = be.Status
		return e
	}
	var meta storage.Metadata
	if len(body.UserMetadata) > 0 && string(body.UserMetadata) != "null" {
		m, err := storage.DecodeMetadata(body.UserMetadata)
		if err != nil {
			return apierror.BadSignup("invalid_signup", "user_metadata must be an object")
		}
		meta = m
	}
	u, err := h.Flow.Signup(c.Request().Context(), flow.SignupRequest{
		ClientID: body.ClientID, Connection: body.Connection, Email: body.Email, Password: body.Password,
		Username: body.Username, GivenName: body.GivenName, FamilyName: body.FamilyName, Name: body.Name,
		Nickname: body.Nickname, Picture: body.Picture, PhoneNumber: body.PhoneNumber, UserMetadata: meta,
		Request: signupRuleRequest(c, body),
	})
	if err != nil {
		return signupError(err)
	}
	return c.JSON(http.StatusOK, signupResponse{
		ID: u.LocalID(), IDAlias: u.LocalID(), EmailVerified: u.EmailVerified, Email: u.Email,
		Username: u.Username, GivenName: u.GivenName, FamilyName: u.FamilyName, Name: u.Name,
		Nickname: u.Nickname, Picture: u.Picture, UserMetadata: u.UserMetadata,
	})
}

// signupError translates flow errors into the database-connection error body.
func signupError(err error) error {
	var (
		inv    *flow.InvalidRequestError
		weak   *flow.WeakPasswordError
		denied *flow.SignupDeniedError
	)
	switch {
	case errors.As(err, &denied):
		// A pre-user-registration action refused: its code and its message for the user.
		// Auth0's exact body is UNCONFIRMED (docs/compatibility.md).
		return apierror.BadSignup(denied.Code, denied.Message)
	case errors.As(err, &inv):
		return apierror.BadSignup("invalid_signup", inv.Message)
	case errors.As(err, &weak):
		return &apierror.DBConnection{
			StatusCode: http.StatusBadRequest, Name: "PasswordStrengthError", Code: "invalid_password",
			Message: "Password is too weak", Description: weak.Result, Policy: weak.Policy,
		}
	case errors.Is(err, flow.ErrPasswordInDictionary):
		return &apierror.DBConnection{
			StatusCode: http.StatusBadRequest, Name: "PasswordDictionaryError", Code: "password_dictionary_error",
			Message: "Password is too common", Description: "Password is too common",
		}
	case errors.Is(err, flow.ErrUserExists):
		return apierror.BadSignup("user_exists", "The user already exists.")
	case errors.Is(err, flow.ErrUsernameExists):
		return apierror.BadSignup("username_exists", "The username provided is in use already.")
	case errors.Is(err, flow.ErrBusy):
		return &apierror.DBConnection{StatusCode: http.StatusTooManyRequests, Name: "TooManyRequestsError", Code: "too_many_requests",
			Description: "The server is busy checking passwords; retry shortly.", RetryAfter: 1}
	case errors.Is(err, flow.ErrTooManySignups):
		// Suspicious-IP throttling (AUTH0-COMPAT §6.2): the code and description of its login
		// refusal, in this endpoint's shape. Auth0's exact signup body is UNCONFIRMED.
		return &apierror.DBConnection{StatusCode: http.StatusTooManyRequests, Name: "TooManyRequestsError", Code: "too_many_attempts",
			Description: suspiciousIPDescription, RetryAfter: flow.RetryAfterSeconds(err)}
	case errors.Is(err, flow.ErrClientAuth):
		return &apierror.DBConnection{StatusCode: http.StatusUnauthorized, Name: "UnauthorizedError", Code: "unauthorized", Description: "Unknown client."}
	default:
		return &apierror.DBConnection{StatusCode: http.StatusInternalServerError, Name: "InternalServerError", Code: "internal_error", Description: "Internal error", Cause: err}
	}
}

// signupRuleRequest describes the signup for the actions (event.request): the body's string
// fields without the password, and the client's address.
func signupRuleRequest(c echo.Context, body signupBody) rules.HTTPRequest {
	params := map[string]string{}
	for k, v := range map[string]string{
		"client_id": body.ClientID, "connection": body.Connection, "email": body.Email, "username": body.Username,
		"given_name": body.GivenName, "family_name": body.FamilyName, "name": body.Name, "nickname": body.Nickname,
		"picture": body.Picture, "phone_number": body.PhoneNumber,
	} {
		if v != "" {
			params[k] = v
		}
	}
	req := ruleRequest(c.Request(), params)
	req.IP = c.RealIP()
	return req
}
