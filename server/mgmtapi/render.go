package mgmtapi

// The JSON shapes of users and clients, and the reading of request bodies, query strings and
// path ids that every Management API handler shares. Errors are Auth0's body (§5.2).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/bind"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/tokens"
)

// isoMillis is Auth0's timestamp format (AUTH0-COMPAT §1.1).
const isoMillis = "2006-01-02T15:04:05.000Z"

func isoTime(t time.Time) string { return t.UTC().Format(isoMillis) }

// isoTimeOrEmpty leaves "never" out of the JSON.
func isoTimeOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return isoTime(t)
}

// ---------------------------------------------------------------------------------------
// Users

// userJSON is a user as GET /api/v2/users/{id} answers (AUTH0-COMPAT §1.1). The password
// hash is not part of storage.User, so it cannot end up here.
type userJSON struct {
	UserID            string             `json:"user_id"`
	Email             string             `json:"email,omitempty"`
	EmailVerified     *bool              `json:"email_verified,omitempty"`
	Username          string             `json:"username,omitempty"`
	PhoneNumber       string             `json:"phone_number,omitempty"`
	PhoneVerified     *bool              `json:"phone_verified,omitempty"`
	Name              string             `json:"name"`
	Nickname          string             `json:"nickname"`
	GivenName         string             `json:"given_name,omitempty"`
	FamilyName        string             `json:"family_name,omitempty"`
	Picture           string             `json:"picture"`
	Identities        []storage.Identity `json:"identities"`
	UserMetadata      storage.Metadata   `json:"user_metadata"`
	AppMetadata       storage.Metadata   `json:"app_metadata"`
	CreatedAt         string             `json:"created_at"`
	UpdatedAt         string             `json:"updated_at"`
	LastLogin         string             `json:"last_login,omitempty"`
	LastIP            string             `json:"last_ip,omitempty"`
	LoginsCount       int64              `json:"logins_count"`
	LastPasswordReset string             `json:"last_password_reset,omitempty"`
	Blocked           bool               `json:"blocked,omitempty"`
}

func renderUser(u storage.User) userJSON {
	out := userJSON{
		UserID: u.ID, Email: u.Email, Username: u.Username, PhoneNumber: u.PhoneNumber,
		Name: u.Name, Nickname: u.Nickname, GivenName: u.GivenName, FamilyName: u.FamilyName,
		Picture: u.Picture, Identities: u.Identities(),
		UserMetadata: u.UserMetadata, AppMetadata: u.AppMetadata,
		CreatedAt: isoTime(u.CreatedAt), UpdatedAt: isoTime(u.UpdatedAt),
		LastLogin: isoTimeOrEmpty(u.LastLogin), LastIP: u.LastIP, LoginsCount: u.LoginsCount,
		LastPasswordReset: isoTimeOrEmpty(u.LastPasswordReset), Blocked: u.Blocked,
	}
	if u.Email != "" {
		out.EmailVerified = &u.EmailVerified
	}
	if u.PhoneNumber != "" {
		out.PhoneVerified = &u.PhoneVerified
	}
	if out.UserMetadata == nil {
		out.UserMetadata = storage.Metadata{}
	}
	if out.AppMetadata == nil {
		out.AppMetadata = storage.Metadata{}
	}
	return out
}

// ---------------------------------------------------------------------------------------
// Clients

// clientJSON is a client as the Management API answers (AUTH0-COMPAT §5.7).
type clientJSON struct {
	ClientID                string                     `json:"client_id"`
	Name                    string                     `json:"name"`
	Description             string                     `json:"description,omitempty"`
	ClientSecret            string                     `json:"client_secret,omitempty"`
	AppType                 string                     `json:"app_type,omitempty"`
	IsFirstParty            bool                       `json:"is_first_party"`
	OIDCConformant          bool                       `json:"oidc_conformant"`
	Callbacks               []string                   `json:"callbacks"`
	AllowedOrigins          []string                   `json:"allowed_origins"`
	WebOrigins              []string                   `json:"web_origins"`
	AllowedLogoutURLs       []string                   `json:"allowed_logout_urls"`
	GrantTypes              []string                   `json:"grant_types"`
	TokenEndpointAuthMethod string                     `json:"token_endpoint_auth_method"`
	ClientMetadata          map[string]string          `json:"client_metadata"`
	JWTConfiguration        storage.JWTConfiguration   `json:"jwt_configuration"`
	RefreshToken            storage.RefreshTokenPolicy `json:"refresh_token"`
	AllowPlainPKCE          bool                       `json:"allow_plain_pkce"`
	CrossOriginAuth         bool                       `json:"cross_origin_authentication"`
	SSODisabled             bool                       `json:"sso_disabled"`
	InitiateLoginURI        string                     `json:"initiate_login_uri,omitempty"`
}

// renderClient shapes a client; the secret is included only when withSecret (Auth0 shows it
// to tokens with read:client_keys, and once to the creator).
func renderClient(c storage.Client, withSecret bool) clientJSON {
	out := clientJSON{
		ClientID: c.ID, Name: c.Name, Description: c.Description, AppType: c.AppType,
		IsFirstParty: c.IsFirstParty, OIDCConformant: c.OIDCConformant,
		Callbacks: nonNil(c.Callbacks), AllowedOrigins: nonNil(c.AllowedOrigins),
		WebOrigins: nonNil(c.WebOrigins), AllowedLogoutURLs: nonNil(c.AllowedLogoutURLs),
		GrantTypes: nonNil(c.GrantTypes), TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		ClientMetadata: c.ClientMetadata, JWTConfiguration: c.JWTConfiguration,
		RefreshToken: c.RefreshToken, AllowPlainPKCE: c.AllowPlainPKCE,
		CrossOriginAuth: c.CrossOriginAuthentication, SSODisabled: c.SSODisabled, InitiateLoginURI: c.InitiateLoginURI,
	}
	if out.RefreshToken.RotationType == "" {
		out.RefreshToken = storage.DefaultRefreshTokenPolicy() // what the client gets
	}
	if withSecret {
		out.ClientSecret = c.Secret
	}
	if out.ClientMetadata == nil {
		out.ClientMetadata = map[string]string{}
	}
	return out
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// ---------------------------------------------------------------------------------------
// Scopes

// tokenHasScope reports whether the request's token was granted scope.
func tokenHasScope(c echo.Context, scope string) bool {
	granted, _ := c.Get(grantedScopesKey).([]string)
	return tokens.HasScope(granted, scope)
}

func insufficientScope(anyOf ...string) error {
	return apierror.NewManagement(http.StatusForbidden, "insufficient_scope", "Insufficient scope, expected any of: "+strings.Join(anyOf, ","))
}

// ---------------------------------------------------------------------------------------
// Path ids

// maxPathIDLen bounds ids taken from the path; no stored id comes near it.
const maxPathIDLen = 512

// pathID reads a path parameter. Ids are sent URL-encoded (auth0%7C...); echo hands over the
// escaped form whenever the path holds an escape the default encoding would not produce
// (%2F), and the decoded form otherwise, so decode exactly once. ok is false for an id that
// cannot name anything (bad escape, invalid UTF-8, too long).
func pathID(c echo.Context, name string) (id string, ok bool) {
	id = c.Param(name)
	if c.Request().URL.RawPath != "" {
		var err error
		if id, err = url.PathUnescape(id); err != nil {
			return "", false
		}
	}
	if id == "" || len(id) > maxPathIDLen || !utf8.ValidString(id) {
		return "", false
	}
	return id, true
}

// ---------------------------------------------------------------------------------------
// Bodies

// jsonObject is a request body: a JSON object whose properties stay raw until a handler reads
// each with the type it expects.
type jsonObject map[string]json.RawMessage

// readObject reads the body strictly (bind.JSON) and translates bind's errors: a body that is
// too large, malformed or not UTF-8 is a 400 invalid_body, a body that is not JSON a 415.
func readObject(c echo.Context) (jsonObject, error) {
	var o jsonObject
	if err := bind.JSON(c.Request(), MaxBody, &o); err != nil {
		return nil, bodyError(err)
	}
	return o, nil
}

func bodyError(err error) error {
	var be *bind.Error
	if !errors.As(err, &be) {
		return apierror.ManagementServerError(err)
	}
	switch be.Status {
	case http.StatusUnsupportedMediaType:
		return apierror.NewManagement(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
	case http.StatusRequestEntityTooLarge:
		// Auth0 documents a 1 MB payload limit and answers a larger body as a validation error.
		return apierror.InvalidBody(fmt.Sprintf("Payload validation error: the request body is larger than %d bytes.", MaxBody))
	default:
		return apierror.InvalidBody(be.Message)
	}
}

// allowOnly refuses properties the endpoint does not know, as Auth0's schemas do.
func (o jsonObject) allowOnly(allowed ...string) error {
	var extra []string
	for k := range o {
		if !slices.Contains(allowed, k) {
			extra = append(extra, quoteName(k))
		}
	}
	if len(extra) == 0 {
		return nil
	}
	slices.Sort(extra)
	return apierror.InvalidBody("Payload validation error: 'Additional properties not allowed: " + strings.Join(extra, ",") + "'")
}

// quoteName shortens a property name before it is echoed in an error.
func quoteName(s string) string {
	if utf8.RuneCountInString(s) > 64 {
		return string([]rune(s)[:64]) + "..."
	}
	return s
}

// fieldReader reads typed properties from a body and keeps the first type error, so that a
// handler reads every property and checks once.
type fieldReader struct {
	o      jsonObject
	prefix string // "jwt_configuration." for a nested object
	err    error
}

func jsonKind(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	if s == "" {
		return "null"
	}
	switch s[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

func typeError(want, got, property string) error {
	return apierror.InvalidBody(fmt.Sprintf("Payload validation error: 'Expected type %s but found type %s' on property %s.", want, got, property))
}

// raw returns the property and whether it is there and not null. A property already failed
// or absent gives ok false; null sets p.Null.
func (r *fieldReader) raw(name, want string) (json.RawMessage, flowPatchHead, bool) {
	if r.err != nil {
		return nil, flowPatchHead{}, false
	}
	v, ok := r.o[name]
	if !ok {
		return nil, flowPatchHead{}, false
	}
	kind := jsonKind(v)
	if kind == "null" {
		return nil, flowPatchHead{set: true, null: true}, false
	}
	if kind != want && !(want == "integer" && kind == "number") {
		r.err = typeError(want, kind, r.prefix+name)
		return nil, flowPatchHead{}, false
	}
	return v, flowPatchHead{set: true}, true
}

// flowPatchHead is the Set/Null part of a flow.Patch.
type flowPatchHead struct{ set, null bool }

func patchOf[T any](h flowPatchHead, v T) flow.Patch[T] {
	return flow.Patch[T]{Set: h.set, Null: h.null, Value: v}
}

func (r *fieldReader) str(name string) flow.Patch[string] {
	v, h, ok := r.raw(name, "string")
	var s string
	if ok {
		if err := json.Unmarshal(v, &s); err != nil {
			r.err = typeError("string", jsonKind(v), r.prefix+name)
		}
	}
	return patchOf(h, s)
}

func (r *fieldReader) boolean(name string) flow.Patch[bool] {
	v, h, ok := r.raw(name, "boolean")
	var b bool
	if ok {
		b = strings.TrimSpace(string(v)) == "true"
	}
	return patchOf(h, b)
}

// integer reads a whole number that fits in 32 bits; anything else is a validation error.
func (r *fieldReader) integer(name string) flow.Patch[int] {
	v, h, ok := r.raw(name, "integer")
	var n int
	if ok {
		i, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
		switch {
		case err != nil && errors.Is(err, strconv.ErrRange), err == nil && (i > math.MaxInt32 || i < math.MinInt32):
			r.err = apierror.InvalidBody(fmt.Sprintf("Payload validation error: 'Value is out of range' on property %s%s.", r.prefix, name))
		case err != nil:
			r.err = typeError("integer", "number", r.prefix+name)
		default:
			n = int(i)
		}
	}
	return patchOf(h, n)
}

// stringList reads an array of strings; null reads as an empty list.
func (r *fieldReader) stringList(name string) flow.Patch[[]string] {
	v, h, ok := r.raw(name, "array")
	if !ok {
		if h.null {
			return flow.Patch[[]string]{Set: true, Null: true, Value: []string{}}
		}
		return patchOf[[]string](h, nil)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		r.err = typeError("array", jsonKind(v), r.prefix+name)
		return flow.Patch[[]string]{}
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		var s string
		if jsonKind(item) != "string" || json.Unmarshal(item, &s) != nil {
			r.err = typeError("string", jsonKind(item), fmt.Sprintf("%s%s[%d]", r.prefix, name, i))
			return flow.Patch[[]string]{}
		}
		out = append(out, s)
	}
	return patchOf(h, out)
}

// metadata reads a metadata object with exact numbers; null reads as nil (Set and Null).
func (r *fieldReader) metadata(name string) flow.Patch[storage.Metadata] {
	v, h, ok := r.raw(name, "object")
	var m storage.Metadata
	if ok {
		var err error
		if m, err = storage.DecodeMetadata(v); err != nil {
			r.err = typeError("object", jsonKind(v), r.prefix+name)
		}
	}
	return patchOf(h, m)
}

// object reads a nested object, to be read with its own fieldReader.
func (r *fieldReader) object(name string) (jsonObject, flowPatchHead) {
	v, h, ok := r.raw(name, "object")
	if !ok {
		return nil, h
	}
	var o jsonObject
	if err := json.Unmarshal(v, &o); err != nil {
		r.err = typeError("object", jsonKind(v), r.prefix+name)
		return nil, flowPatchHead{}
	}
	return o, h
}

// ---------------------------------------------------------------------------------------
// Query strings

// Paging limits: per_page defaults to 50 and may go up to 100 (AUTH0-COMPAT §5.4, §5.5).
const (
	defaultPerPage = 50
	maxPerPage     = 100
	maxPage        = math.MaxInt32 / maxPerPage
)

func queryError(format string, args ...any) error {
	return apierror.InvalidQuery("Query validation error: " + fmt.Sprintf(format, args...))
}

// listQuery is the paging part of a list request.
type listQuery struct {
	page   storage.Page
	totals bool
}

func readListQuery(c echo.Context) (listQuery, error) {
	q := listQuery{page: storage.Page{Page: 0, PerPage: defaultPerPage}}
	if s := c.QueryParam("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxPage {
			return q, queryError("'page must be an integer from 0 to %d' on property page.", maxPage)
		}
		q.page.Page = n
	}
	if s := c.QueryParam("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPerPage {
			return q, queryError("'per_page must be an integer from 1 to %d' on property per_page.", maxPerPage)
		}
		q.page.PerPage = n
	}
	var err error
	if q.totals, err = queryBool(c, "include_totals", false); err != nil {
		return q, err
	}
	return q, nil
}

// checkpointQuery is checkpoint pagination, the other way Auth0 pages some lists (GET
// /connections among them): instead of page numbers, from names where a page starts and take
// how long it is, and each answer says where the next page starts (next), or that there is
// none. Auth0's Node SDK (v5 and later) pages connections this way only, and sends
// include_totals=true with it, which checkpoint pagination does not support and ignores.
type checkpointQuery struct {
	from string // "" is the first page
	take int
}

// readCheckpointQuery reads from and take; ok is false when neither is given, and the list
// is then paged by page and per_page.
func readCheckpointQuery(c echo.Context) (q checkpointQuery, ok bool, err error) {
	params := c.QueryParams()
	if !params.Has("from") && !params.Has("take") {
		return q, false, nil
	}
	q = checkpointQuery{from: c.QueryParam("from"), take: defaultPerPage}
	if s := c.QueryParam("take"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPerPage {
			return q, true, queryError("'take must be an integer from 1 to %d' on property take.", maxPerPage)
		}
		q.take = n
	}
	return q, true, nil
}

// checkpointPage cuts one page out of items ordered by id (ascending, as the ids are the
// checkpoints): the items from the one whose id is q.from on, at most q.take of them, and the
// id the next page starts at, "" when this page is the last. A from that names no item starts
// at the first id after it, so a page stays right when the item it started at was deleted.
func checkpointPage[T any](items []T, id func(T) string, q checkpointQuery) (page []T, next string) {
	sorted := slices.SortedFunc(slices.Values(items), func(a, b T) int { return strings.Compare(id(a), id(b)) })
	start, _ := slices.BinarySearchFunc(sorted, q.from, func(it T, from string) int { return strings.Compare(id(it), from) })
	end := min(start+q.take, len(sorted))
	if end < len(sorted) {
		next = id(sorted[end])
	}
	return sorted[start:end], next
}

func queryBool(c echo.Context, name string, def bool) (bool, error) {
	s := c.QueryParam(name)
	switch s {
	case "":
		return def, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, queryError("'Expected type boolean but found type string' on property %s.", name)
}

// fieldFilter is the fields/include_fields pair: keep only the listed properties, or all
// but them.
type fieldFilter struct {
	names   []string
	include bool
}

func readFieldFilter(c echo.Context) (fieldFilter, error) {
	f := fieldFilter{include: true}
	for _, n := range strings.Split(c.QueryParam("fields"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			f.names = append(f.names, n)
		}
	}
	var err error
	f.include, err = queryBool(c, "include_fields", true)
	return f, err
}

// apply returns v, or the object v marshals to with only the wanted properties.
func (f fieldFilter) apply(v any) (any, error) {
	if len(f.names) == 0 {
		return v, nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(all))
	for k, raw := range all {
		if slices.Contains(f.names, k) == f.include {
			out[k] = raw
		}
	}
	return out, nil
}

// applyAll filters every item of a list.
func applyAll[T any](f fieldFilter, items []T) ([]any, error) {
	out := make([]any, 0, len(items))
	for _, it := range items {
		v, err := f.apply(it)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// pageEnvelope is the include_totals=true answer; the list goes under key.
func pageEnvelope(q listQuery, total int, key string, items []any) map[string]any {
	return map[string]any{
		"start": q.page.Offset(), "limit": q.page.PerPage, "length": len(items), "total": total,
		key: items,
	}
}

// getByID answers GET /<resource>/{id}: the id from the path, one read, the fields filter.
func getByID[T, J any](c echo.Context, read func(context.Context, string) (T, error), render func(T) J,
	notFound func() error, translate func(error) error) error {
	f, err := readFieldFilter(c)
	if err != nil {
		return err
	}
	id, ok := pathID(c, "id")
	if !ok {
		return notFound()
	}
	v, err := read(c.Request().Context(), id)
	if err != nil {
		return translate(err)
	}
	out, err := f.apply(render(v))
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	return c.JSON(http.StatusOK, out)
}

// deleteByID answers DELETE /<resource>/{id}: the id from the path, one delete, 204.
func deleteByID(c echo.Context, del func(context.Context, string) error, notFound func() error, translate func(error) error) error {
	id, ok := pathID(c, "id")
	if !ok {
		return notFound()
	}
	if err := del(c.Request().Context(), id); err != nil {
		return translate(err)
	}
	return c.NoContent(http.StatusNoContent)
}
