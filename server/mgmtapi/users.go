package mgmtapi

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/userquery"
)

// Scopes of the user endpoints (AUTH0-COMPAT §5.1). The *current_user scopes are left out:
// they only make sense for a token whose subject is the user, and Management tokens here
// come from client_credentials.
var (
	scopesReadUsers   = []string{"read:users", "read:user_idp_tokens"}
	scopesUpdateUsers = []string{"update:users", "update:users_app_metadata"}
)

func (h *Handler) userRoutes(g *echo.Group) {
	g.GET("/users", h.listUsers, requireScope(scopesReadUsers...))
	g.POST("/users", h.createUser, requireScope("create:users"))
	g.GET("/users/:id", h.getUser, requireScope(scopesReadUsers...))
	g.PATCH("/users/:id", h.updateUser, requireScope(scopesUpdateUsers...))
	g.DELETE("/users/:id", h.deleteUser, requireScope("delete:users"))
	g.GET("/users-by-email", h.usersByEmail, requireScope("read:users"))
}

func userNotFound() error {
	return apierror.NewManagement(http.StatusNotFound, "inexistent_user", "The user does not exist.")
}

// userError translates what the user use cases return.
func userError(err error) error {
	var (
		inv  *flow.InvalidRequestError
		weak *flow.WeakPasswordError
	)
	switch {
	case errors.As(err, &inv):
		return apierror.InvalidBody(inv.Message)
	// Messages as Auth0 sends them; the errorCode of the password errors is UNCONFIRMED.
	case errors.As(err, &weak):
		return apierror.NewManagement(http.StatusBadRequest, "auth0_idp_error", "PasswordStrengthError: Password is too weak")
	case errors.Is(err, flow.ErrPasswordInDictionary):
		return apierror.NewManagement(http.StatusBadRequest, "auth0_idp_error", "PasswordDictionaryError: Password is too common")
	case errors.Is(err, flow.ErrUserExists):
		return apierror.NewManagement(http.StatusConflict, "auth0_idp_error", "The user already exists.")
	case errors.Is(err, flow.ErrUsernameExists):
		return apierror.NewManagement(http.StatusConflict, "auth0_idp_error", "The username provided is in use already.")
	case errors.Is(err, flow.ErrConnectionNotFound):
		return apierror.NewManagement(http.StatusBadRequest, "inexistent_connection", "The connection does not exist.")
	case errors.Is(err, storage.ErrNotFound):
		return userNotFound()
	case errors.Is(err, flow.ErrBusy):
		e := apierror.NewManagement(http.StatusTooManyRequests, "too_many_requests", "Too many password changes at once; retry shortly.")
		e.RetryAfter = 1
		return e
	default:
		return apierror.ManagementServerError(err)
	}
}

// Properties of POST /users and PATCH /users/{id} (AUTH0-COMPAT §5.4).
var (
	userCreateProperties = []string{
		"connection", "user_id", "email", "email_verified", "password", "username", "phone_number",
		"phone_verified", "given_name", "family_name", "name", "nickname", "picture", "blocked",
		"user_metadata", "app_metadata", "verify_email", "password_hash", "custom_password_hash",
	}
	userUpdateProperties = []string{
		"connection", "client_id", "email", "email_verified", "password", "username", "phone_number",
		"phone_verified", "given_name", "family_name", "name", "nickname", "picture", "blocked",
		"user_metadata", "app_metadata", "verify_email", "verify_phone_number",
	}
	// metadataProperties are all that a token with update:users_app_metadata alone may change.
	metadataProperties = []string{"user_metadata", "app_metadata"}
)

// createUser serves POST /api/v2/users.
func (h *Handler) createUser(c echo.Context) error {
	o, err := readObject(c)
	if err != nil {
		return err
	}
	if err := o.allowOnly(userCreateProperties...); err != nil {
		return err
	}
	r := fieldReader{o: o}
	req := flow.AdminUserRequest{
		Connection:    r.str("connection").Value,
		UserID:        r.str("user_id").Value,
		Email:         r.str("email").Value,
		EmailVerified: r.boolean("email_verified").Value,
		Password:      r.str("password").Value,
		Username:      r.str("username").Value,
		PhoneNumber:   r.str("phone_number").Value,
		PhoneVerified: r.boolean("phone_verified").Value,
		GivenName:     r.str("given_name").Value,
		FamilyName:    r.str("family_name").Value,
		Name:          r.str("name").Value,
		Nickname:      r.str("nickname").Value,
		Picture:       r.str("picture").Value,
		Blocked:       r.boolean("blocked").Value,
		UserMetadata:  r.metadata("user_metadata").Value,
		AppMetadata:   r.metadata("app_metadata").Value,
		PasswordHash:  r.str("password_hash").Value,
	}
	if raw, _, ok := r.raw("custom_password_hash", "object"); ok {
		req.CustomPasswordHash = raw
	}
	req.VerifyEmail = r.boolean("verify_email")
	if r.err != nil {
		return r.err
	}
	u, err := h.Flow.AdminCreateUser(c.Request().Context(), req)
	if err != nil {
		return userError(err)
	}
	return c.JSON(http.StatusCreated, renderUser(u))
}

// getUser serves GET /api/v2/users/{id}.
func (h *Handler) getUser(c echo.Context) error {
	return getByID(c, h.Store.GetUser, renderUser, userNotFound, userError)
}

// updateUser serves PATCH /api/v2/users/{id} (merge semantics in flow.AdminUserPatch).
func (h *Handler) updateUser(c echo.Context) error {
	id, ok := pathID(c, "id")
	if !ok {
		return userNotFound()
	}
	o, err := readObject(c)
	if err != nil {
		return err
	}
	if err := o.allowOnly(userUpdateProperties...); err != nil {
		return err
	}
	if len(o) == 0 {
		return apierror.InvalidBody("Payload validation error: 'Too few properties defined (0), minimum 1'.")
	}
	if !tokenHasScope(c, "update:users") {
		for k := range o {
			if !slices.Contains(metadataProperties, k) {
				return insufficientScope("update:users")
			}
		}
	}
	r := fieldReader{o: o}
	p := flow.AdminUserPatch{
		Connection:    r.str("connection").Value,
		Email:         r.str("email"),
		EmailVerified: r.boolean("email_verified"),
		Password:      r.str("password"),
		Username:      r.str("username"),
		PhoneNumber:   r.str("phone_number"),
		PhoneVerified: r.boolean("phone_verified"),
		GivenName:     r.str("given_name"),
		FamilyName:    r.str("family_name"),
		Name:          r.str("name"),
		Nickname:      r.str("nickname"),
		Picture:       r.str("picture"),
		Blocked:       r.boolean("blocked"),
		UserMetadata:  r.metadata("user_metadata"),
		AppMetadata:   r.metadata("app_metadata"),
	}
	r.str("client_id")               // names the application on whose behalf; nothing to do yet
	r.boolean("verify_phone_number") // accepted and ignored: latch sends no text messages
	p.VerifyEmail = r.boolean("verify_email")
	if r.err != nil {
		return r.err
	}
	for _, b := range []struct {
		name string
		p    flow.Patch[bool]
	}{{"email_verified", p.EmailVerified}, {"phone_verified", p.PhoneVerified}, {"blocked", p.Blocked}} {
		if b.p.Null {
			return typeError("boolean", "null", b.name)
		}
	}
	u, err := h.Flow.AdminUpdateUser(c.Request().Context(), id, p)
	if err != nil {
		return userError(err)
	}
	return c.JSON(http.StatusOK, renderUser(u))
}

// deleteUser serves DELETE /api/v2/users/{id}.
func (h *Handler) deleteUser(c echo.Context) error {
	return deleteByID(c, h.Flow.AdminDeleteUser, userNotFound, userError)
}

// usersByEmail serves GET /api/v2/users-by-email: a bare array, possibly of users from
// several connections.
func (h *Handler) usersByEmail(c echo.Context) error {
	f, err := readFieldFilter(c)
	if err != nil {
		return err
	}
	email := strings.TrimSpace(c.QueryParam("email"))
	if email == "" {
		return queryError("'Missing required property: email'.")
	}
	if len(email) > 254 {
		return c.JSON(http.StatusOK, []any{})
	}
	users, err := h.Store.ListUsersByEmail(c.Request().Context(), strings.ToLower(email))
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	return h.renderUsers(c, f, users, nil, 0)
}

// listUsers serves GET /api/v2/users: a bare array, or with include_totals the envelope that
// the Node SDK pages with. q is Auth0's user search syntax v3 (storage/userquery), parsed
// into a tree that the store translates; an invalid q is a 400 that gives the position.
func (h *Handler) listUsers(c echo.Context) error {
	params := c.QueryParams()
	engine := c.QueryParam("search_engine")
	switch engine {
	case "", "v1", "v2", "v3":
	default:
		return queryError("'No enum match for: %s' on property search_engine.", quoteName(engine))
	}
	var query userquery.Node
	if params.Has("q") {
		if engine == "v1" || engine == "v2" {
			return queryError("search_engine %s is no longer available; send q in the v3 syntax with search_engine=v3.", engine)
		}
		q := c.QueryParam("q")
		if q == "" {
			return queryError("'String is too short (0 chars), minimum 1' on property q.")
		}
		var err error
		if query, err = userquery.Parse(q); err != nil {
			return searchError(q, err)
		}
	}
	sort, err := storage.ParseUserSort(c.QueryParam("sort"))
	if err != nil {
		return queryError("'%s' on property sort.", err.Error())
	}
	lq, err := readListQuery(c)
	if err != nil {
		return err
	}
	f, err := readFieldFilter(c)
	if err != nil {
		return err
	}
	users, total, err := h.Store.SearchUsers(c.Request().Context(), query, sort, lq.page)
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	return h.renderUsers(c, f, users, &lq, total)
}

// searchError is the 400 for a q that does not parse. The position is counted in
// characters from 0, as for the q of /logs.
func searchError(q string, err error) error {
	var pe *userquery.ParseError
	if !errors.As(err, &pe) {
		return apierror.ManagementServerError(err)
	}
	pos := utf8.RuneCountInString(q[:min(pe.Pos, len(q))])
	return queryError("'invalid q at position %d: %s' on property q.", pos, pe.Msg)
}

// renderUsers answers a list: the bare array, or the envelope when q asks for totals.
func (h *Handler) renderUsers(c echo.Context, f fieldFilter, users []storage.User, q *listQuery, total int) error {
	shaped := make([]userJSON, 0, len(users))
	for _, u := range users {
		shaped = append(shaped, renderUser(u))
	}
	items, err := applyAll(f, shaped)
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	if q != nil && q.totals {
		return c.JSON(http.StatusOK, pageEnvelope(*q, total, "users", items))
	}
	return c.JSON(http.StatusOK, items)
}
