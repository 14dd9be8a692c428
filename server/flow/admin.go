package flow

// The Management API's use cases (AUTH0-COMPAT §5.4 users, §5.7 clients): create, update and
// delete users and clients on an administrator's behalf. Validation failures are
// *InvalidRequestError whose Message is Auth0's "Payload validation error: ..." wording, ready
// for an invalid_body answer.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchauth/latch/storage"
)

// ErrConnectionNotFound: the request named a connection that does not exist (or is not a
// database connection).
var ErrConnectionNotFound = errors.New("the connection does not exist")

// Patch is one attribute of a partial update: absent (Set false), unset with null (Set and
// Null), or set to Value.
type Patch[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// SetTo is a Patch that sets v.
func SetTo[T any](v T) Patch[T] { return Patch[T]{Set: true, Value: v} }

// given reports whether the patch sets a value (rather than being absent or null).
func (p Patch[T]) given() bool { return p.Set && !p.Null }

// MaxMetadataDepth bounds how deeply metadata objects and arrays may nest. Auth0 keeps
// profiles in MongoDB, which refuses documents nested deeper than 100 levels; a limit well
// below that keeps every backend (and every reader of the profile) safe.
const MaxMetadataDepth = 64

// payloadError is a validation failure in Auth0's words.
func payloadError(field, format string, args ...any) error {
	return &InvalidRequestError{Field: field, Message: "Payload validation error: " + fmt.Sprintf(format, args...)}
}

func missingProperty(field string) error {
	return payloadError(field, "'Missing required property: %s'.", field)
}

// quoteInput shortens client input before it is echoed in an error message.
func quoteInput(s string) string {
	const limit = 100
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit]) + "..."
}

// ---------------------------------------------------------------------------------------
// Users

// AdminUserRequest is the body of POST /api/v2/users. Empty strings mean "not given".
type AdminUserRequest struct {
	Connection string
	// UserID, when given, is the id without its provider: the user becomes "auth0|<UserID>".
	UserID        string
	Email         string
	EmailVerified bool
	Password      string
	Username      string
	PhoneNumber   string
	PhoneVerified bool
	GivenName     string
	FamilyName    string
	Name          string
	Nickname      string
	Picture       string
	Blocked       bool
	UserMetadata  storage.Metadata
	AppMetadata   storage.Metadata
	// PasswordHash is a bcrypt hash and CustomPasswordHash an Auth0 custom_password_hash
	// object, imported instead of a password (at most one of the three is given).
	PasswordHash       string
	CustomPasswordHash json.RawMessage
	// VerifyEmail is verify_email: true mails a verification link, false mails none; not set,
	// one is mailed when the address is unverified.
	VerifyEmail Patch[bool]
}

// customUserID is what Auth0 accepts as a caller-chosen database user id (without "auth0|").
var customUserID = regexp.MustCompile(`^[A-Za-z0-9._~@+\-]{1,128}$`)

// AdminCreateUser creates a user in a database connection, with a password checked against
// the connection's policy and hashed, or with a hash imported from another system
// (PasswordHash or CustomPasswordHash, AUTH0-COMPAT §5.9). name, nickname and picture get
// Auth0's defaults.
func (s *Service) AdminCreateUser(ctx context.Context, req AdminUserRequest) (storage.User, error) {
	if req.Connection == "" {
		return storage.User{}, missingProperty("connection")
	}
	conn, err := s.adminConnection(ctx, req.Connection)
	if err != nil {
		return storage.User{}, err
	}
	given := 0
	for _, v := range []bool{req.Password != "", req.PasswordHash != "", len(req.CustomPasswordHash) > 0} {
		if v {
			given++
		}
	}
	switch {
	case req.Email == "":
		return storage.User{}, missingProperty("email")
	case given == 0:
		return storage.User{}, missingProperty("password")
	case given > 1:
		return storage.User{}, payloadError("password", "'Only one of password, password_hash and custom_password_hash may be given'.")
	}
	u, err := newAdminUser(conn, req, s.now())
	if err != nil {
		return storage.User{}, err
	}
	var hash string
	if req.Password != "" {
		if err := s.checkPassword(conn, req.Password); err != nil {
			return storage.User{}, err
		}
		if hash, err = s.hashPassword(ctx, req.Password); err != nil {
			return storage.User{}, fmt.Errorf("hash password: %w", err)
		}
	} else if hash, err = importedHash(req.PasswordHash, req.CustomPasswordHash); err != nil {
		return storage.User{}, err
	}
	if err := s.users.CreateUser(ctx, u, hash); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return storage.User{}, s.whichExists(ctx, u)
		}
		return storage.User{}, fmt.Errorf("create user: %w", err)
	}
	s.verifyAfterAdminWrite(ctx, u, req.VerifyEmail, true)
	// Answer with what a read returns (the store normalises), so POST and GET agree.
	if stored, err := s.users.GetUser(ctx, u.ID); err == nil {
		return stored, nil
	}
	return u, nil
}

// newAdminUser validates everything of req but the password and builds the user it
// describes in conn, created at now.
func newAdminUser(conn storage.Connection, req AdminUserRequest, now time.Time) (storage.User, error) {
	if req.Email == "" {
		return storage.User{}, missingProperty("email")
	}
	email, err := adminEmail(req.Email)
	if err != nil {
		return storage.User{}, err
	}
	username, err := checkUsername(conn, req.Username)
	if err != nil {
		return storage.User{}, err
	}
	if err := checkProfileFields(req.PhoneNumber, req.GivenName, req.FamilyName, req.Name, req.Nickname, req.Picture); err != nil {
		return storage.User{}, err
	}
	if err := checkUserMetadata(req.UserMetadata); err != nil {
		return storage.User{}, err
	}
	if err := checkAppMetadata(req.AppMetadata); err != nil {
		return storage.User{}, err
	}
	if err := checkMetadataSize(req.UserMetadata, req.AppMetadata); err != nil {
		return storage.User{}, err
	}
	id := storage.NewUserID()
	if req.UserID != "" {
		if !customUserID.MatchString(req.UserID) {
			return storage.User{}, payloadError("user_id", "'user_id may use letters, digits and ._~@+- (1 to 128 characters)' on property user_id.")
		}
		id = "auth0|" + req.UserID
	}
	u := storage.User{
		ID: id, Connection: conn.Name,
		Email: email, EmailVerified: req.EmailVerified, Username: username,
		PhoneNumber: req.PhoneNumber, PhoneVerified: req.PhoneVerified && req.PhoneNumber != "",
		GivenName: req.GivenName, FamilyName: req.FamilyName, Name: req.Name, Nickname: req.Nickname,
		Picture: req.Picture, Blocked: req.Blocked,
		UserMetadata: req.UserMetadata.Clone(), AppMetadata: req.AppMetadata.Clone(),
		CreatedAt: now, UpdatedAt: now,
	}
	applyProfileDefaults(&u)
	return u, nil
}

// AdminUserPatch is the body of PATCH /api/v2/users/{id}. Absent attributes are left alone;
// null (or an empty string) unsets an attribute: given_name, family_name, phone_number and
// username are cleared, name, nickname and picture go back to their defaults. Metadata is
// merged at the first level (storage.MergeMetadata); null metadata is treated like {}.
type AdminUserPatch struct {
	// Connection, when given, must be the user's connection.
	Connection    string
	Email         Patch[string]
	EmailVerified Patch[bool]
	Password      Patch[string]
	Username      Patch[string]
	PhoneNumber   Patch[string]
	PhoneVerified Patch[bool]
	GivenName     Patch[string]
	FamilyName    Patch[string]
	Name          Patch[string]
	Nickname      Patch[string]
	Picture       Patch[string]
	Blocked       Patch[bool]
	UserMetadata  Patch[storage.Metadata]
	AppMetadata   Patch[storage.Metadata]
	// VerifyEmail is verify_email: true mails a verification link when the address ends
	// unverified.
	VerifyEmail Patch[bool]
}

// AdminUpdateUser applies a patch to a user in one storage update and returns the result.
func (s *Service) AdminUpdateUser(ctx context.Context, id string, p AdminUserPatch) (storage.User, error) {
	var email string
	if p.Email.Set {
		if !p.Email.given() || p.Email.Value == "" {
			return storage.User{}, payloadError("email", "'A database user must have an email' on property email.")
		}
		var err error
		if email, err = adminEmail(p.Email.Value); err != nil {
			return storage.User{}, err
		}
	}
	if p.Password.Set && (!p.Password.given() || p.Password.Value == "") {
		return storage.User{}, payloadError("password", "'A password cannot be removed' on property password.")
	}
	for _, f := range []struct {
		name string
		p    Patch[string]
	}{
		{"phone_number", p.PhoneNumber}, {"given_name", p.GivenName}, {"family_name", p.FamilyName},
		{"name", p.Name}, {"nickname", p.Nickname}, {"picture", p.Picture},
	} {
		if f.p.given() {
			if err := checkProfileField(f.name, f.p.Value); err != nil {
				return storage.User{}, err
			}
		}
	}
	if p.UserMetadata.given() {
		if err := checkUserMetadata(p.UserMetadata.Value); err != nil {
			return storage.User{}, err
		}
	}
	if p.AppMetadata.given() {
		if err := checkAppMetadata(p.AppMetadata.Value); err != nil {
			return storage.User{}, err
		}
	}

	// The username rules and the password policy belong to the user's connection.
	var (
		username string
		hash     string
	)
	if p.Password.Set || p.Username.Set || p.Connection != "" {
		current, err := s.users.GetUser(ctx, id)
		if err != nil {
			return storage.User{}, err
		}
		if p.Connection != "" && p.Connection != current.Connection {
			return storage.User{}, payloadError("connection", "'The user does not belong to connection %s' on property connection.", quoteInput(p.Connection))
		}
		conn, err := s.connections.GetConnectionByName(ctx, current.Connection)
		if err != nil {
			return storage.User{}, fmt.Errorf("connection of user: %w", err)
		}
		if p.Username.Set {
			if username, err = checkUsername(conn, p.Username.Value); err != nil {
				return storage.User{}, err
			}
		}
		if p.Password.Set {
			if err := s.checkPassword(conn, p.Password.Value); err != nil {
				return storage.User{}, err
			}
			if hash, err = s.hashPassword(ctx, p.Password.Value); err != nil {
				return storage.User{}, fmt.Errorf("hash password: %w", err)
			}
		}
	}

	now := s.now()
	var candidate storage.User
	apply := func(u storage.User) (storage.User, error) {
		if p.Connection != "" && p.Connection != u.Connection {
			return u, payloadError("connection", "'The user does not belong to connection %s' on property connection.", quoteInput(p.Connection))
		}
		if p.Email.Set && email != u.Email {
			u.Email = email
			u.EmailVerified = false // a new address is unverified unless the patch says otherwise
		}
		if p.EmailVerified.Set {
			u.EmailVerified = p.EmailVerified.Value
		}
		if p.Username.Set {
			u.Username = username
		}
		if p.PhoneNumber.Set {
			u.PhoneNumber = p.PhoneNumber.Value
		}
		if p.PhoneVerified.Set {
			u.PhoneVerified = p.PhoneVerified.Value
		}
		if u.PhoneNumber == "" {
			u.PhoneVerified = false
		}
		for _, f := range []struct {
			p   Patch[string]
			dst *string
		}{
			{p.GivenName, &u.GivenName}, {p.FamilyName, &u.FamilyName}, {p.Name, &u.Name},
			{p.Nickname, &u.Nickname}, {p.Picture, &u.Picture},
		} {
			if f.p.Set {
				*f.dst = f.p.Value
			}
		}
		applyProfileDefaults(&u)
		if p.Blocked.Set {
			u.Blocked = p.Blocked.Value
		}
		if p.UserMetadata.Set {
			u.UserMetadata = storage.MergeMetadata(u.UserMetadata, p.UserMetadata.Value)
		}
		if p.AppMetadata.Set {
			u.AppMetadata = storage.MergeMetadata(u.AppMetadata, p.AppMetadata.Value)
		}
		if hash != "" {
			u.LastPasswordReset = now
		}
		u.UpdatedAt = now
		if err := s.watchMetadataSize(ctx, u, true); err != nil {
			return u, err
		}
		candidate = u
		return u, nil
	}
	// A password change lands with the profile change (last_password_reset) atomically.
	var updated storage.User
	var err error
	if hash != "" {
		updated, err = s.passwords.UpdateUserAndPassword(ctx, id, hash, apply)
		if err == nil {
			// A new password lifts brute-force blocks (AUTH0-COMPAT §6.1).
			if uerr := s.Unblock(ctx, updated.Email, updated.Username); uerr != nil {
				s.log.WarnContext(ctx, "lifting brute-force blocks after a password change", "error", uerr)
			}
		}
	} else {
		updated, err = s.users.UpdateUser(ctx, id, apply)
	}
	if err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return storage.User{}, s.whichExists(ctx, candidate)
		}
		return storage.User{}, err
	}
	s.verifyAfterAdminWrite(ctx, updated, p.VerifyEmail, false)
	return updated, nil
}

// AdminDeleteUser deletes a user and the records of the tokens issued to them. The grants go
// first: should the second step fail, a retry finds the user and finishes the job.
func (s *Service) AdminDeleteUser(ctx context.Context, id string) error {
	if _, err := s.users.GetUser(ctx, id); err != nil {
		return err
	}
	if err := s.issuances.DeleteUserGrants(ctx, id); err != nil {
		return fmt.Errorf("delete grants of user: %w", err)
	}
	return s.users.DeleteUser(ctx, id)
}

// adminConnection finds the database connection the Management API names.
func (s *Service) adminConnection(ctx context.Context, name string) (storage.Connection, error) {
	conn, err := s.connections.GetConnectionByName(ctx, name)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && conn.Strategy != "auth0") {
		return storage.Connection{}, ErrConnectionNotFound
	}
	if err != nil {
		return storage.Connection{}, fmt.Errorf("read connection: %w", err)
	}
	return conn, nil
}

// whichExists tells a taken email from a taken username (or id) after a collision.
func (s *Service) whichExists(ctx context.Context, u storage.User) error {
	if other, err := s.users.GetUserByEmail(ctx, u.Connection, u.Email); err == nil && other.ID != u.ID {
		return ErrUserExists
	}
	if u.Username != "" {
		if other, err := s.users.GetUserByUsername(ctx, u.Connection, u.Username); err == nil && other.ID != u.ID {
			return ErrUsernameExists
		}
	}
	return ErrUserExists
}

// adminEmail validates and lower-cases an address.
func adminEmail(raw string) (string, error) {
	email, err := normalizeEmail(raw)
	if err != nil {
		return "", payloadError("email", "'Object didn't pass validation for format email: %s' on property email.", quoteInput(raw))
	}
	return email, nil
}

// checkUsername validates a username against the connection's settings. An empty username
// is allowed only where usernames are not required.
func checkUsername(conn storage.Connection, raw string) (string, error) {
	username := strings.ToLower(raw)
	switch {
	case username == "" && conn.Options.RequiresUsername:
		return "", missingProperty("username")
	case username != "" && !conn.Options.RequiresUsername:
		return "", payloadError("username", "'Cannot set username for connection without requires_username' on property username.")
	case username != "" && (!usernamePattern.MatchString(username) || isEmail(username)):
		return "", payloadError("username", "'username may use letters, digits and _+-.!#$'^`~@ (1 to 128 characters) and must not be an email' on property username.")
	}
	return username, nil
}

// checkProfileFields checks the free-form profile attributes that signup and the Management
// API accept; empty ones are not given.
func checkProfileFields(phone, givenName, familyName, name, nickname, picture string) error {
	for _, f := range []struct{ name, value string }{
		{"phone_number", phone}, {"given_name", givenName}, {"family_name", familyName},
		{"name", name}, {"nickname", nickname}, {"picture", picture},
	} {
		if err := checkProfileField(f.name, f.value); err != nil {
			return err
		}
	}
	return nil
}

// checkProfileField applies the limits of AUTH0-COMPAT §1.1 to a non-empty attribute.
func checkProfileField(name, v string) error {
	if v == "" {
		return nil
	}
	limit := 0
	switch name {
	case "name", "given_name", "family_name":
		limit = maxNameLen
	case "nickname":
		limit = maxNicknameLen
	case "picture":
		limit = maxPictureLen
	case "phone_number":
		if !phonePattern.MatchString(v) {
			return payloadError(name, "'Object didn't pass validation for format E.164 phone number: %s' on property phone_number.", quoteInput(v))
		}
		return nil
	}
	if n := utf8.RuneCountInString(v); limit > 0 && n > limit {
		return payloadError(name, "'String is too long (%d chars), maximum %d' on property %s.", n, limit, name)
	}
	if name == "picture" {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return payloadError(name, "'Object didn't pass validation for format absolute http(s) URL: %s' on property picture.", quoteInput(v))
		}
	}
	return nil
}

func checkUserMetadata(m storage.Metadata) error {
	if err := storage.CheckMetadataKeys(m); err != nil {
		return payloadError("user_metadata", "user_metadata %s.", metadataReason(err))
	}
	return checkMetadataDepth("user_metadata", m)
}

func checkAppMetadata(m storage.Metadata) error {
	if err := storage.CheckAppMetadata(m); err != nil {
		return payloadError("app_metadata", "app_metadata %s.", metadataReason(err))
	}
	return checkMetadataDepth("app_metadata", m)
}

func metadataReason(err error) string {
	return strings.TrimPrefix(err.Error(), storage.ErrInvalidMetadata.Error()+": ")
}

// Metadata size: Auth0 warns in its logs when a profile passes 10 KB and keeps writing;
// latch warns at the same size and refuses past MaxMetadataBytes, so that no profile grows
// without bound (every login reads it, and tokens may carry parts of it).
const (
	MetadataWarnBytes = 10 * 1024
	MaxMetadataBytes  = 256 * 1024
)

// metadataSize is the size of both metadata objects as JSON.
func metadataSize(user, app storage.Metadata) int {
	n := 0
	for _, m := range []storage.Metadata{user, app} {
		if b, err := json.Marshal(m); err == nil {
			n += len(b)
		}
	}
	return n
}

// ErrMetadataTooLarge: a write would take a profile's metadata past MaxMetadataBytes.
var ErrMetadataTooLarge = errors.New("user_metadata and app_metadata together are larger than allowed")

func checkMetadataSize(user, app storage.Metadata) error {
	if n := metadataSize(user, app); n > MaxMetadataBytes {
		return payloadError("user_metadata", "'user_metadata and app_metadata together take %d bytes, more than the %d allowed'.", n, MaxMetadataBytes)
	}
	return nil
}

// watchMetadataSize is the check of a profile about to be saved: past MaxMetadataBytes it
// refuses (ErrMetadataTooLarge, or a payload error for the Management API), past
// MetadataWarnBytes it logs a warning and lets the write through.
func (s *Service) watchMetadataSize(ctx context.Context, u storage.User, payload bool) error {
	n := metadataSize(u.UserMetadata, u.AppMetadata)
	switch {
	case n > MaxMetadataBytes && payload:
		return checkMetadataSize(u.UserMetadata, u.AppMetadata)
	case n > MaxMetadataBytes:
		return fmt.Errorf("%w (%d bytes, at most %d)", ErrMetadataTooLarge, n, MaxMetadataBytes)
	case n > MetadataWarnBytes:
		s.log.WarnContext(ctx, "profile metadata is larger than 10 KB", "user_id", u.ID, "bytes", n)
	}
	return nil
}

func checkMetadataDepth(field string, m storage.Metadata) error {
	if nestedDeeperThan(map[string]any(m), MaxMetadataDepth) {
		return payloadError(field, "%s is nested too deeply (at most %d levels).", field, MaxMetadataDepth)
	}
	return nil
}

// nestedDeeperThan reports whether v nests objects and arrays more than limit levels deep.
func nestedDeeperThan(v any, limit int) bool {
	var children []any
	switch t := v.(type) {
	case map[string]any:
		for _, e := range t {
			children = append(children, e)
		}
	case storage.Metadata:
		return nestedDeeperThan(map[string]any(t), limit)
	case []any:
		children = t
	default:
		return false
	}
	if limit == 0 {
		return true
	}
	for _, c := range children {
		if nestedDeeperThan(c, limit-1) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------------------
// Clients

// Client settings latch understands (AUTH0-COMPAT §5.7).
var (
	AppTypes                 = []string{"spa", "native", "regular_web", "non_interactive"}
	TokenEndpointAuthMethods = []string{"none", "client_secret_post", "client_secret_basic"}
	// KnownGrantTypes are the grant types Auth0 lets a client list.
	KnownGrantTypes = []string{
		GrantAuthorizationCode, GrantImplicit, GrantRefreshToken, GrantClientCredentials,
		GrantPassword, GrantPasswordRealm,
		"http://auth0.com/oauth/grant-type/mfa-oob", "http://auth0.com/oauth/grant-type/mfa-otp",
		"http://auth0.com/oauth/grant-type/mfa-recovery-code",
		"urn:ietf:params:oauth:grant-type:device_code",
		"urn:ietf:params:oauth:grant-type:token-exchange",
		"urn:openid:params:grant-type:ciba",
	}
)

// Client limits. client_metadata's are Auth0's (AUTH0-COMPAT §1.2), the description's
// Auth0's documented 140 characters; the others bound hostile input.
const (
	maxClientNameLen         = 255
	maxClientDescriptionLen  = 140
	maxClientMetadataKeys    = 10
	maxClientMetadataLen     = 255
	maxClientURLs            = 100
	maxClientURLLen          = 2048
	maxIDTokenLifetime       = 2592000 // 30 days
	defaultAppType           = "regular_web"
	bootstrapMarkerKey       = "latch_bootstrap"
	defaultJWTAlg            = "RS256"
	defaultIDTokenLifetimeS  = 36000
	clientMetadataKeyCharset = `^[A-Za-z0-9_:,\-+=*?"/\\()<>@\t ]+$`
)

var clientMetadataKey = regexp.MustCompile(clientMetadataKeyCharset)

// AdminClientPatch is the body of POST /api/v2/clients and PATCH /api/v2/clients/{id}.
// Lists are replaced whole (null empties them); ClientMetadata is merged key by key and a
// nil value deletes its key.
type AdminClientPatch struct {
	Name                    Patch[string]
	Description             Patch[string]
	AppType                 Patch[string]
	IsFirstParty            Patch[bool]
	OIDCConformant          Patch[bool]
	Callbacks               Patch[[]string]
	AllowedOrigins          Patch[[]string]
	WebOrigins              Patch[[]string]
	AllowedLogoutURLs       Patch[[]string]
	GrantTypes              Patch[[]string]
	TokenEndpointAuthMethod Patch[string]
	ClientMetadata          map[string]*string
	JWTConfiguration        *JWTConfigurationPatch
	RefreshToken            *RefreshTokenPatch
	// AllowPlainPKCE (latch's own property, allow_plain_pkce) lets the client use
	// code_challenge_method=plain.
	AllowPlainPKCE            Patch[bool]
	CrossOriginAuthentication Patch[bool]
	SSODisabled               Patch[bool]
	InitiateLoginURI          Patch[string]
}

// RefreshTokenPatch changes a client's refresh_token settings field by field.
type RefreshTokenPatch struct {
	RotationType              Patch[string]
	ExpirationType            Patch[string]
	Leeway                    Patch[int]
	TokenLifetime             Patch[int]
	InfiniteTokenLifetime     Patch[bool]
	IdleTokenLifetime         Patch[int]
	InfiniteIdleTokenLifetime Patch[bool]
}

// Refresh-token setting bounds (Auth0's): lifetimes up to a year, leeway up to a minute.
const (
	maxRefreshTokenLifetime = 31557600
	maxRefreshTokenLeeway   = 60
)

// JWTConfigurationPatch changes a client's jwt_configuration field by field.
type JWTConfigurationPatch struct {
	Alg               Patch[string]
	LifetimeInSeconds Patch[int]
	SecretEncoded     Patch[bool]
}

// DefaultGrantTypes are the grant types of a new client that lists none, by app_type, as
// Auth0's dashboard sets them up: browser and native apps get the interactive grants,
// machine-to-machine apps client_credentials, regular web apps both (the password grants are
// never on by default; ask for them explicitly).
func DefaultGrantTypes(appType string) []string {
	switch appType {
	case "spa", "native":
		return []string{GrantAuthorizationCode, GrantImplicit, GrantRefreshToken}
	case "non_interactive":
		return []string{GrantClientCredentials}
	default:
		return []string{GrantAuthorizationCode, GrantImplicit, GrantRefreshToken, GrantClientCredentials}
	}
}

// DefaultTokenEndpointAuthMethod: public clients (SPAs and native apps cannot keep a secret)
// authenticate with none, the others with client_secret_post.
func DefaultTokenEndpointAuthMethod(appType string) string {
	if appType == "spa" || appType == "native" {
		return "none"
	}
	return "client_secret_post"
}

// AdminCreateClient creates a client with a generated id and secret. Unset settings get
// Auth0's defaults: app_type regular_web, first party, OIDC conformant, RS256 ID tokens for
// 36000 s, and the grant types and authentication method of DefaultGrantTypes and
// DefaultTokenEndpointAuthMethod for the app_type.
func (s *Service) AdminCreateClient(ctx context.Context, p AdminClientPatch) (storage.Client, error) {
	if !p.Name.given() {
		return storage.Client{}, missingProperty("name")
	}
	if err := checkClientPatch(p); err != nil {
		return storage.Client{}, err
	}
	appType := defaultAppType
	if p.AppType.given() {
		appType = p.AppType.Value
	}
	now := s.now()
	c := storage.Client{
		ID: storage.NewClientID(), Secret: storage.NewClientSecret(),
		AppType: appType, IsFirstParty: true, OIDCConformant: true,
		Callbacks: []string{}, AllowedOrigins: []string{}, WebOrigins: []string{}, AllowedLogoutURLs: []string{},
		GrantTypes:              DefaultGrantTypes(appType),
		TokenEndpointAuthMethod: DefaultTokenEndpointAuthMethod(appType),
		ClientMetadata:          map[string]string{},
		JWTConfiguration:        storage.JWTConfiguration{Alg: defaultJWTAlg, LifetimeInSeconds: defaultIDTokenLifetimeS},
		CreatedAt:               now, UpdatedAt: now,
	}
	c, err := applyClientPatch(c, p)
	if err != nil {
		return storage.Client{}, err
	}
	if err := s.clients.CreateClient(ctx, c); err != nil {
		return storage.Client{}, fmt.Errorf("create client: %w", err)
	}
	s.changed(ctx, storage.TopicClients)
	if stored, err := s.clients.GetClient(ctx, c.ID); err == nil {
		return stored, nil
	}
	return c, nil
}

// AdminUpdateClient applies a patch to a client in one storage update.
func (s *Service) AdminUpdateClient(ctx context.Context, id string, p AdminClientPatch) (storage.Client, error) {
	if err := checkClientPatch(p); err != nil {
		return storage.Client{}, err
	}
	now := s.now()
	defer s.changed(ctx, storage.TopicClients)
	return s.clients.UpdateClient(ctx, id, func(c storage.Client) (storage.Client, error) {
		c, err := applyClientPatch(c, p)
		if err != nil {
			return c, err
		}
		c.UpdatedAt = now
		return c, nil
	})
}

// AdminDeleteClient deletes a client and its client grants. The grants go first: a grant
// left behind would be inherited by a client created later under the same id (the bootstrap
// client's id comes from configuration), and should deleting the client then fail, a retry
// finishes the job.
func (s *Service) AdminDeleteClient(ctx context.Context, id string) error {
	if _, err := s.clients.GetClient(ctx, id); err != nil {
		return err
	}
	grants, err := s.grants.ListClientGrants(ctx, id)
	if err != nil {
		return fmt.Errorf("list client grants: %w", err)
	}
	for _, g := range grants {
		if err := s.grants.DeleteClientGrant(ctx, g.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("delete client grant: %w", err)
		}
	}
	defer s.changed(ctx, storage.TopicClients)
	return s.clients.DeleteClient(ctx, id)
}

// checkClientPatch validates everything that does not depend on the stored client.
func checkClientPatch(p AdminClientPatch) error {
	if p.Name.Set {
		switch {
		case !p.Name.given() || strings.TrimSpace(p.Name.Value) == "":
			return payloadError("name", "'String is too short (0 chars), minimum 1' on property name.")
		case strings.ContainsAny(p.Name.Value, "<>"):
			return payloadError("name", "'String does not match pattern: ^[^<>]+$' on property name.")
		case utf8.RuneCountInString(p.Name.Value) > maxClientNameLen:
			return payloadError("name", "'String is too long (%d chars), maximum %d' on property name.", utf8.RuneCountInString(p.Name.Value), maxClientNameLen)
		}
	}
	if n := utf8.RuneCountInString(p.Description.Value); n > maxClientDescriptionLen {
		return payloadError("description", "'String is too long (%d chars), maximum %d' on property description.", n, maxClientDescriptionLen)
	}
	if err := checkEnum("app_type", p.AppType, AppTypes); err != nil {
		return err
	}
	if err := checkEnum("token_endpoint_auth_method", p.TokenEndpointAuthMethod, TokenEndpointAuthMethods); err != nil {
		return err
	}
	if err := checkRefreshTokenPatch(p.RefreshToken); err != nil {
		return err
	}
	for _, l := range []struct {
		name    string
		p       Patch[[]string]
		isValid func(string) bool
	}{
		{"callbacks", p.Callbacks, isRedirectURL}, {"allowed_logout_urls", p.AllowedLogoutURLs, isRedirectURL},
		{"allowed_origins", p.AllowedOrigins, isOrigin}, {"web_origins", p.WebOrigins, isOrigin},
	} {
		if len(l.p.Value) > maxClientURLs {
			return payloadError(l.name, "'Array is too long (%d), maximum %d' on property %s.", len(l.p.Value), maxClientURLs, l.name)
		}
		for i, v := range l.p.Value {
			if len(v) > maxClientURLLen || !l.isValid(v) {
				return payloadError(l.name, "'Object didn't pass validation for format absolute URL: %s' on property %s[%d].", quoteInput(v), l.name, i)
			}
		}
	}
	for i, g := range p.GrantTypes.Value {
		if !slices.Contains(KnownGrantTypes, g) {
			return payloadError("grant_types", "'No enum match for: %s' on property grant_types[%d].", quoteInput(g), i)
		}
	}
	if len(p.ClientMetadata) > maxClientMetadataKeys {
		return payloadError("client_metadata", "'Too many properties defined (%d), maximum %d' on property client_metadata.", len(p.ClientMetadata), maxClientMetadataKeys)
	}
	for _, k := range slices.Sorted(maps.Keys(p.ClientMetadata)) {
		v := p.ClientMetadata[k]
		if utf8.RuneCountInString(k) > maxClientMetadataLen || !clientMetadataKey.MatchString(k) {
			return payloadError("client_metadata", "'client_metadata property names are 1 to 255 letters, digits, spaces or :,-+=_*?\"/\\()<>@' on property client_metadata (%s).", quoteInput(k))
		}
		if v != nil && utf8.RuneCountInString(*v) > maxClientMetadataLen {
			return payloadError("client_metadata", "'String is too long (%d chars), maximum %d' on property client_metadata.%s.", utf8.RuneCountInString(*v), maxClientMetadataLen, quoteInput(k))
		}
	}
	if j := p.JWTConfiguration; j != nil {
		if j.Alg.Set && (!j.Alg.given() || j.Alg.Value != defaultJWTAlg) {
			return payloadError("jwt_configuration", "'No enum match for: %s' on property jwt_configuration.alg (latch signs ID tokens with RS256 only).", quoteInput(j.Alg.Value))
		}
		if j.LifetimeInSeconds.given() && (j.LifetimeInSeconds.Value < 1 || j.LifetimeInSeconds.Value > maxIDTokenLifetime) {
			return payloadError("jwt_configuration", "'Value %d is out of range 1 to %d' on property jwt_configuration.lifetime_in_seconds.", j.LifetimeInSeconds.Value, maxIDTokenLifetime)
		}
	}
	return nil
}

func checkEnum(name string, p Patch[string], allowed []string) error {
	if p.Set && !slices.Contains(allowed, p.Value) {
		return payloadError(name, "'No enum match for: %s' on property %s (one of %s).", quoteInput(p.Value), name, strings.Join(allowed, ", "))
	}
	return nil
}

// applyClientPatch changes c as the patch says; checkClientPatch has already passed.
func applyClientPatch(c storage.Client, p AdminClientPatch) (storage.Client, error) {
	if p.Name.Set {
		c.Name = p.Name.Value
	}
	if p.Description.Set {
		c.Description = p.Description.Value
	}
	if p.AppType.Set {
		c.AppType = p.AppType.Value
	}
	if p.IsFirstParty.Set {
		c.IsFirstParty = p.IsFirstParty.Value
	}
	if p.OIDCConformant.Set {
		c.OIDCConformant = p.OIDCConformant.Value
	}
	for _, l := range []struct {
		p   Patch[[]string]
		dst *[]string
	}{
		{p.Callbacks, &c.Callbacks}, {p.AllowedOrigins, &c.AllowedOrigins}, {p.WebOrigins, &c.WebOrigins},
		{p.AllowedLogoutURLs, &c.AllowedLogoutURLs},
	} {
		if l.p.Set {
			*l.dst = append([]string{}, l.p.Value...)
		}
	}
	if p.GrantTypes.Set {
		c.GrantTypes = []string{}
		for _, g := range p.GrantTypes.Value {
			if !slices.Contains(c.GrantTypes, g) {
				c.GrantTypes = append(c.GrantTypes, g)
			}
		}
	}
	if p.TokenEndpointAuthMethod.Set {
		c.TokenEndpointAuthMethod = p.TokenEndpointAuthMethod.Value
	}
	if p.AllowPlainPKCE.Set {
		c.AllowPlainPKCE = p.AllowPlainPKCE.Value
	}
	if p.CrossOriginAuthentication.Set {
		c.CrossOriginAuthentication = p.CrossOriginAuthentication.Value
	}
	if p.SSODisabled.Set {
		c.SSODisabled = p.SSODisabled.Value
	}
	if p.InitiateLoginURI.Set {
		// Auth0: an https URL, without a fragment, that starts a login at the application.
		if v := p.InitiateLoginURI.Value; v != "" {
			u, err := url.Parse(v)
			if err != nil || u.Scheme != "https" || u.Host == "" || u.Fragment != "" || len(v) > 2048 {
				return c, payloadError("initiate_login_uri", "'initiate_login_uri must be an https URL without a fragment' on property initiate_login_uri.")
			}
		}
		c.InitiateLoginURI = p.InitiateLoginURI.Value
	}
	if r := p.RefreshToken; r != nil {
		if c.RefreshToken.RotationType == "" {
			c.RefreshToken = storage.DefaultRefreshTokenPolicy()
		}
		rt := &c.RefreshToken
		for _, f := range []struct {
			p   Patch[string]
			dst *string
		}{{r.RotationType, &rt.RotationType}, {r.ExpirationType, &rt.ExpirationType}} {
			if f.p.Set {
				*f.dst = f.p.Value
			}
		}
		for _, f := range []struct {
			p   Patch[int]
			dst *int
		}{{r.Leeway, &rt.Leeway}, {r.TokenLifetime, &rt.TokenLifetime}, {r.IdleTokenLifetime, &rt.IdleTokenLifetime}} {
			if f.p.Set {
				*f.dst = f.p.Value
			}
		}
		for _, f := range []struct {
			p   Patch[bool]
			dst *bool
		}{{r.InfiniteTokenLifetime, &rt.InfiniteTokenLifetime}, {r.InfiniteIdleTokenLifetime, &rt.InfiniteIdleTokenLifetime}} {
			if f.p.Set {
				*f.dst = f.p.Value
			}
		}
	}
	if len(p.ClientMetadata) > 0 {
		merged := make(map[string]string, len(c.ClientMetadata)+len(p.ClientMetadata))
		for k, v := range c.ClientMetadata {
			merged[k] = v
		}
		for k, v := range p.ClientMetadata {
			old, had := c.ClientMetadata[k]
			if k == bootstrapMarkerKey && (v == nil && had || v != nil && (!had || *v != old)) {
				return c, payloadError("client_metadata", "'client_metadata.%s is reserved: latch uses it to find its bootstrap client' on property client_metadata.", bootstrapMarkerKey)
			}
			if v == nil {
				delete(merged, k)
			} else {
				merged[k] = *v
			}
		}
		if len(merged) > maxClientMetadataKeys {
			return c, payloadError("client_metadata", "'Too many properties defined (%d), maximum %d' on property client_metadata.", len(merged), maxClientMetadataKeys)
		}
		c.ClientMetadata = merged
	}
	if j := p.JWTConfiguration; j != nil {
		if j.Alg.Set {
			c.JWTConfiguration.Alg = j.Alg.Value
		}
		if j.LifetimeInSeconds.Set {
			c.JWTConfiguration.LifetimeInSeconds = j.LifetimeInSeconds.Value
		}
		if j.SecretEncoded.Set {
			c.JWTConfiguration.SecretEncoded = j.SecretEncoded.Value
		}
	}
	return c, nil
}

// isRedirectURL accepts an absolute URL a browser may be sent to: http(s) with a host, or a
// native app's own scheme (com.example.app:/callback); never a fragment, nor a scheme that
// runs code or reads files.
func isRedirectURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Fragment != "" || strings.Contains(s, "#") || !utf8.ValidString(s) {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "javascript", "data", "vbscript", "file", "blob", "about":
		return false
	case "http", "https":
		return u.Host != "" && u.Opaque == ""
	default:
		return u.Host != "" || u.Path != "" || u.Opaque != ""
	}
}

// isOrigin accepts scheme://host[:port], with at most a trailing "/".
func isOrigin(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, "?#") {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "javascript", "data", "vbscript", "file", "blob", "about", "":
		return false
	}
	return u.Path == "" || u.Path == "/"
}

func checkRefreshTokenPatch(r *RefreshTokenPatch) error {
	if r == nil {
		return nil
	}
	if err := checkEnum("refresh_token.rotation_type", r.RotationType, []string{storage.RotationRotating, storage.RotationNonRotating}); err != nil {
		return err
	}
	if err := checkEnum("refresh_token.expiration_type", r.ExpirationType, []string{storage.ExpirationExpiring, storage.ExpirationNonExpires}); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		p    Patch[int]
		max  int
	}{
		{"leeway", r.Leeway, maxRefreshTokenLeeway}, {"token_lifetime", r.TokenLifetime, maxRefreshTokenLifetime},
		{"idle_token_lifetime", r.IdleTokenLifetime, maxRefreshTokenLifetime},
	} {
		if f.p.Set && (f.p.Value < 0 || f.p.Value > f.max || f.name != "leeway" && f.p.Value == 0) {
			return payloadError("refresh_token."+f.name, "'Number out of range' on property refresh_token.%s (want 1 to %d).", f.name, f.max)
		}
	}
	return nil
}
