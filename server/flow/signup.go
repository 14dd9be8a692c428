package flow

import (
	"context"
	"crypto/md5" //nolint:gosec // Gravatar addresses are defined as the MD5 of the email.
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/latchauth/latch/password"
	"github.com/latchauth/latch/rules"
	"github.com/latchauth/latch/storage"
)

// SignupRequest is a database-connection signup (AUTH0-COMPAT §2.1).
type SignupRequest struct {
	ClientID     string
	Connection   string
	Email        string
	Password     string
	Username     string
	GivenName    string
	FamilyName   string
	Name         string
	Nickname     string
	Picture      string
	PhoneNumber  string
	UserMetadata storage.Metadata
	// Request describes the HTTP request for the actions (event.request), secrets removed,
	// IP included.
	Request rules.HTTPRequest
}

// Signup limits on user_metadata (AUTH0-COMPAT §1.2): the public endpoint accepts a small
// bag of strings; anything richer goes through the Management API.
const (
	signupMetadataMaxProps    = 10
	signupMetadataMaxKeyLen   = 100
	signupMetadataMaxValueLen = 500
	maxNameLen                = 150
	maxNicknameLen            = 350
	maxPictureLen             = 2048
)

var (
	usernamePattern = regexp.MustCompile(`^[a-z0-9_+\-.!#$'^` + "`" + `~@]{1,128}$`)
	phonePattern    = regexp.MustCompile(`^\+[0-9]{1,15}$`)
)

// Signup creates a user in a database connection and returns it.
func (s *Service) Signup(ctx context.Context, req SignupRequest) (storage.User, error) {
	u, err := s.signup(ctx, req)
	s.metrics.Signup(signupOutcome(err))
	s.recordSignup(ctx, req, u, err)
	return u, err
}

func signupOutcome(err error) string {
	var (
		inv    *InvalidRequestError
		weak   *WeakPasswordError
		denied *SignupDeniedError
	)
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &denied):
		return "denied"
	case errors.Is(err, ErrTooManySignups):
		return "suspicious_ip"
	case errors.Is(err, ErrUserExists), errors.Is(err, ErrUsernameExists):
		return "user_exists"
	case errors.As(err, &weak), errors.Is(err, ErrPasswordInDictionary):
		return "weak_password"
	case errors.As(err, &inv), errors.Is(err, ErrClientAuth):
		return "invalid_request"
	default:
		return "error"
	}
}

func (s *Service) signup(ctx context.Context, req SignupRequest) (storage.User, error) {
	if req.ClientID == "" {
		return storage.User{}, missing("client_id")
	}
	if _, err := s.clients.GetClient(ctx, req.ClientID); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return storage.User{}, ErrClientAuth
		}
		return storage.User{}, err
	}
	conn, err := s.databaseConnection(ctx, req.Connection, req.ClientID)
	if err != nil {
		return storage.User{}, err
	}

	u, err := s.newUserFromSignup(req, conn)
	if err != nil {
		return storage.User{}, err
	}
	// The request is well-formed: from here on it counts against its IP, whatever comes of it.
	if err := s.takeSignup(ctx, req.Request.IP); err != nil {
		return storage.User{}, err
	}
	if err := s.checkPassword(conn, req.Password); err != nil {
		return storage.User{}, err
	}
	if err := s.runPreRegistration(ctx, &u, req, conn); err != nil {
		return storage.User{}, err
	}
	hash, err := s.hashPassword(ctx, req.Password)
	if err != nil {
		return storage.User{}, fmt.Errorf("hash password: %w", err)
	}
	if err := s.users.CreateUser(ctx, u, hash); err != nil {
		if errors.Is(err, storage.ErrAlreadyExists) {
			return storage.User{}, s.whichExists(ctx, u)
		}
		return storage.User{}, fmt.Errorf("create user: %w", err)
	}
	s.startPostRegistration(ctx, u, req, conn)
	s.verifyAfterSignup(ctx, u, req) // after the answer; never fails the signup
	return u, nil
}

// databaseConnection finds a connection the client may sign users up to or log them in with.
func (s *Service) databaseConnection(ctx context.Context, name, clientID string) (storage.Connection, error) {
	if name == "" {
		return storage.Connection{}, missing("connection")
	}
	conn, err := s.connections.GetConnectionByName(ctx, name)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && conn.Strategy != "auth0") {
		return storage.Connection{}, invalid("connection", "The connection does not exist: %s", name)
	}
	if err != nil {
		return storage.Connection{}, err
	}
	if !conn.AllowsClient(clientID) {
		return storage.Connection{}, invalid("connection", "The connection is not enabled for this client: %s", name)
	}
	return conn, nil
}

func (s *Service) newUserFromSignup(req SignupRequest, conn storage.Connection) (storage.User, error) {
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return storage.User{}, err
	}
	if req.Password == "" {
		return storage.User{}, missing("password")
	}
	username, err := checkUsername(conn, req.Username)
	if err != nil {
		return storage.User{}, err
	}
	if err := checkProfileFields(req.PhoneNumber, req.GivenName, req.FamilyName, req.Name, req.Nickname, req.Picture); err != nil {
		return storage.User{}, err
	}
	if err := checkSignupMetadata(req.UserMetadata); err != nil {
		return storage.User{}, err
	}

	now := s.now()
	u := storage.User{
		ID:           storage.NewUserID(),
		Connection:   conn.Name,
		Email:        email,
		Username:     username,
		PhoneNumber:  req.PhoneNumber,
		GivenName:    req.GivenName,
		FamilyName:   req.FamilyName,
		Name:         req.Name,
		Nickname:     req.Nickname,
		Picture:      req.Picture,
		UserMetadata: req.UserMetadata.Clone(),
		AppMetadata:  storage.Metadata{},
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	applyProfileDefaults(&u)
	return u, nil
}

// applyProfileDefaults fills what Auth0 generates for a database user (AUTH0-COMPAT §1.1):
// name is the email, nickname its local part, picture the email's Gravatar.
func applyProfileDefaults(u *storage.User) {
	if u.Name == "" {
		u.Name = u.Email
	}
	if u.Nickname == "" {
		local, _, _ := strings.Cut(u.Email, "@")
		u.Nickname = local
	}
	if u.Picture == "" {
		u.Picture = GravatarURL(u.Email)
	}
}

// GravatarURL is the default picture for an email.
func GravatarURL(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email)))) //nolint:gosec // see import
	return "https://s.gravatar.com/avatar/" + hex.EncodeToString(sum[:]) + "?s=480&r=pg&d=identicon"
}

// normalizeEmail checks an address and lower-cases it, as Auth0 does on save.
func normalizeEmail(raw string) (string, error) {
	if raw == "" {
		return "", missing("email")
	}
	if !isEmail(raw) {
		return "", invalid("email", "email is not a valid address")
	}
	local, _, _ := strings.Cut(raw, "@")
	if len(local) > 64 || len(raw) > 254 {
		return "", invalid("email", "email is too long")
	}
	return strings.ToLower(raw), nil
}

// isEmail accepts a bare addr-spec with a dotted domain, nothing more.
func isEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	_, domain, _ := strings.Cut(s, "@")
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

func checkSignupMetadata(m storage.Metadata) error {
	if len(m) > signupMetadataMaxProps {
		return invalid("user_metadata", "user_metadata may have at most %d properties", signupMetadataMaxProps)
	}
	for k, v := range m {
		if utf8.RuneCountInString(k) > signupMetadataMaxKeyLen {
			return invalid("user_metadata", "user_metadata property names must be at most %d characters", signupMetadataMaxKeyLen)
		}
		str, ok := v.(string)
		if !ok {
			return invalid("user_metadata", "user_metadata values must be strings (%q is not)", k)
		}
		if utf8.RuneCountInString(str) > signupMetadataMaxValueLen {
			return invalid("user_metadata", "user_metadata values must be at most %d characters (%q is longer)", signupMetadataMaxValueLen, k)
		}
	}
	if err := storage.CheckMetadataKeys(m); err != nil {
		return invalid("user_metadata", "%s", strings.TrimPrefix(err.Error(), storage.ErrInvalidMetadata.Error()+": "))
	}
	return nil
}

// checkPassword applies the connection's policy and dictionary.
func (s *Service) checkPassword(conn storage.Connection, pw string) error {
	policy := password.PolicyFor(conn.Options)
	if res := policy.Check(pw); !res.Verified {
		return &WeakPasswordError{Result: res, Policy: policy.PolicyText()}
	}
	if conn.Options.PasswordDictionary && password.InDictionary(pw) {
		return ErrPasswordInDictionary
	}
	return nil
}
