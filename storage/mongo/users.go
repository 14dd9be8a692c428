package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/latchauth/latch/storage"
)

// userDoc is a user as stored. The password hash lives in the same document, in the field
// passwordField, which no struct here has: reads leave it out with userProjection, and
// only PasswordHash asks for it, so a hash cannot reach a storage.User.
type userDoc struct {
	ID         string `bson:"_id"`
	Connection string `bson:"connection"`
	Email      string `bson:"email"`
	// UniqEmail and UniqUsername carry the uniqueness per connection: "e"+email, or
	// "n"+id when the user has none (so users without one never collide).
	UniqEmail     string `bson:"uniq_email"`
	EmailVerified bool   `bson:"email_verified"`
	Username      string `bson:"username"`
	UniqUsername  string `bson:"uniq_username"`
	PhoneNumber   string `bson:"phone_number"`
	PhoneVerified bool   `bson:"phone_verified"`
	Name          string `bson:"name"`
	Nickname      string `bson:"nickname"`
	GivenName     string `bson:"given_name"`
	FamilyName    string `bson:"family_name"`
	Picture       string `bson:"picture"`
	UserMetadata  string `bson:"user_metadata"`
	AppMetadata   string `bson:"app_metadata"`
	Blocked       bool   `bson:"blocked"`

	CreatedAt         *time.Time `bson:"created_at,omitempty"`
	UpdatedAt         *time.Time `bson:"updated_at,omitempty"`
	LastLogin         *time.Time `bson:"last_login,omitempty"`
	LastIP            string     `bson:"last_ip"`
	LoginsCount       int64      `bson:"logins_count"`
	LastPasswordReset *time.Time `bson:"last_password_reset,omitempty"`

	// Search holds what SearchUsers compares that the fields above cannot answer
	// (search.go); reads leave it out.
	Search *searchDoc `bson:"q,omitempty"`
	// Version counts the writes; compare-and-swap writes against it.
	Version int64 `bson:"version"`
}

const passwordField = "password_hash"

// userTimes are the optional fields of a user document.
var userTimes = []string{"created_at", "updated_at", "last_login", "last_password_reset"}

// userProjection is every read of users but PasswordHash's: no hash, no search copy.
var userProjection = bson.D{{Key: passwordField, Value: 0}, {Key: "q", Value: 0}}

func findUser() *options.FindOneOptionsBuilder {
	return options.FindOne().SetProjection(userProjection)
}

// newUserDoc normalises u as the store keeps it (email and username lower-cased, times in
// milliseconds, metadata as text) and returns the document with u as a read would return it.
func newUserDoc(u storage.User) (userDoc, storage.User, error) {
	d := userDoc{
		ID: u.ID, Connection: u.Connection,
		Email: strings.ToLower(u.Email), EmailVerified: u.EmailVerified,
		Username: strings.ToLower(u.Username), PhoneNumber: u.PhoneNumber, PhoneVerified: u.PhoneVerified,
		Name: u.Name, Nickname: u.Nickname, GivenName: u.GivenName, FamilyName: u.FamilyName, Picture: u.Picture,
		Blocked: u.Blocked, CreatedAt: timePtr(u.CreatedAt), UpdatedAt: timePtr(u.UpdatedAt),
		LastLogin: timePtr(u.LastLogin), LastIP: u.LastIP, LoginsCount: u.LoginsCount,
		LastPasswordReset: timePtr(u.LastPasswordReset),
	}
	d.UniqEmail, d.UniqUsername = "n"+d.ID, "n"+d.ID
	if d.Email != "" {
		d.UniqEmail = "e" + d.Email
	}
	if d.Username != "" {
		d.UniqUsername = "u" + d.Username
	}
	var err error
	var userMeta, appMeta storage.Metadata
	if d.UserMetadata, userMeta, err = normalMetadata(u.UserMetadata); err != nil {
		return userDoc{}, storage.User{}, fmt.Errorf("user_metadata: %w", err)
	}
	if d.AppMetadata, appMeta, err = normalMetadata(u.AppMetadata); err != nil {
		return userDoc{}, storage.User{}, fmt.Errorf("app_metadata: %w", err)
	}
	out := d.userWith(userMeta, appMeta)
	d.Search = newSearchDoc(out)
	return d, out, nil
}

// user decodes the document.
func (d userDoc) user() (storage.User, error) {
	userMeta, err := decodeMetadata(d.UserMetadata)
	if err != nil {
		return storage.User{}, fmt.Errorf("user %s: user_metadata: %w", d.ID, err)
	}
	appMeta, err := decodeMetadata(d.AppMetadata)
	if err != nil {
		return storage.User{}, fmt.Errorf("user %s: app_metadata: %w", d.ID, err)
	}
	return d.userWith(userMeta, appMeta), nil
}

func (d userDoc) userWith(userMeta, appMeta storage.Metadata) storage.User {
	return storage.User{
		ID: d.ID, Connection: d.Connection, Email: d.Email, EmailVerified: d.EmailVerified,
		Username: d.Username, PhoneNumber: d.PhoneNumber, PhoneVerified: d.PhoneVerified,
		Name: d.Name, Nickname: d.Nickname, GivenName: d.GivenName, FamilyName: d.FamilyName,
		Picture: d.Picture, UserMetadata: userMeta, AppMetadata: appMeta, Blocked: d.Blocked,
		CreatedAt: timeVal(d.CreatedAt), UpdatedAt: timeVal(d.UpdatedAt), LastLogin: timeVal(d.LastLogin),
		LastIP: d.LastIP, LoginsCount: d.LoginsCount, LastPasswordReset: timeVal(d.LastPasswordReset),
	}
}

func decodeUser(op string, sr *mongo.SingleResult) (storage.User, error) {
	var d userDoc
	if err := sr.Decode(&d); err != nil {
		return storage.User{}, dbError(op, err)
	}
	u, err := d.user()
	if err != nil {
		return storage.User{}, fmt.Errorf("mongo: %s: %w", op, err)
	}
	return u, nil
}

func (s *Store) CreateUser(ctx context.Context, u storage.User, passwordHash string) error {
	op := fmt.Sprintf("create user %q", u.ID)
	d, _, err := newUserDoc(u)
	if err != nil {
		return fmt.Errorf("mongo: %s: %w", op, err)
	}
	d.Version = 1
	raw, err := bson.Marshal(d)
	if err != nil {
		return fmt.Errorf("mongo: %s: %w", op, err)
	}
	doc := bson.Raw(raw)
	if passwordHash != "" {
		// One document: the user and the hash are stored together or not at all.
		doc, err = appendField(doc, passwordField, passwordHash)
		if err != nil {
			return fmt.Errorf("mongo: %s: %w", op, err)
		}
	}
	_, err = s.users.InsertOne(ctx, doc)
	return dbError(op, err)
}

// appendField adds one field to a marshalled document.
func appendField(doc bson.Raw, key string, value any) (bson.Raw, error) {
	elems, err := doc.Elements()
	if err != nil {
		return nil, err
	}
	d := make(bson.D, 0, len(elems)+1)
	for _, e := range elems {
		d = append(d, bson.E{Key: e.Key(), Value: e.Value()})
	}
	d = append(d, bson.E{Key: key, Value: value})
	return bson.Marshal(d)
}

func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	return decodeUser(fmt.Sprintf("get user %q", id), s.users.FindOne(ctx, byID(id), findUser()))
}

func (s *Store) GetUserByEmail(ctx context.Context, connection, email string) (storage.User, error) {
	op := fmt.Sprintf("get user by email in %q", connection)
	if email == "" {
		return storage.User{}, notFound(op)
	}
	filter := bson.D{{Key: "connection", Value: connection}, {Key: "uniq_email", Value: "e" + strings.ToLower(email)}}
	return decodeUser(op, s.users.FindOne(ctx, filter, findUser()))
}

func (s *Store) GetUserByUsername(ctx context.Context, connection, username string) (storage.User, error) {
	op := fmt.Sprintf("get user by username in %q", connection)
	if username == "" {
		return storage.User{}, notFound(op)
	}
	filter := bson.D{{Key: "connection", Value: connection}, {Key: "uniq_username", Value: "u" + strings.ToLower(username)}}
	return decodeUser(op, s.users.FindOne(ctx, filter, findUser()))
}

// usersOldestFirst is the default order of users: created_at, then id.
var usersOldestFirst = bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}

func (s *Store) ListUsersByEmail(ctx context.Context, email string) ([]storage.User, error) {
	if email == "" {
		return []storage.User{}, nil
	}
	return s.findUsers(ctx, "list users by email", bson.D{{Key: "email", Value: strings.ToLower(email)}},
		options.Find().SetSort(usersOldestFirst))
}

func (s *Store) ListUsers(ctx context.Context, page storage.Page) ([]storage.User, int, error) {
	return s.SearchUsers(ctx, nil, storage.UserSort{}, page)
}

// findUsers runs a query of users; opts gets the projection that leaves the hash out.
func (s *Store) findUsers(ctx context.Context, op string, filter bson.D, opts *options.FindOptionsBuilder) ([]storage.User, error) {
	cur, err := s.users.Find(ctx, filter, opts.SetProjection(userProjection))
	if err != nil {
		return nil, dbError(op, err)
	}
	defer cur.Close(ctx)
	users := []storage.User{}
	for cur.Next(ctx) {
		var d userDoc
		if err := cur.Decode(&d); err != nil {
			return nil, dbError(op, err)
		}
		u, err := d.user()
		if err != nil {
			return nil, fmt.Errorf("mongo: %s: %w", op, err)
		}
		users = append(users, u)
	}
	if err := cur.Err(); err != nil {
		return nil, dbError(op, err)
	}
	return users, nil
}

// UpdateUser is a compare-and-swap on the user's version (see casUpdate): the updater
// may run more than once when writers race. It sets every profile field and leaves the
// password hash alone. The id cannot be changed by the updater.
func (s *Store) UpdateUser(ctx context.Context, id string, update func(storage.User) (storage.User, error)) (storage.User, error) {
	return s.updateUser(ctx, id, nil, update)
}

// UpdateUserAndPassword is UpdateUser that also sets the hash: the hash is a field of the
// user's document, so one conditional update changes both or neither.
func (s *Store) UpdateUserAndPassword(ctx context.Context, id, hash string, update func(storage.User) (storage.User, error)) (storage.User, error) {
	if hash == "" {
		return storage.User{}, fmt.Errorf("mongo: update user %q: empty password hash", id)
	}
	return s.updateUser(ctx, id, &hash, update)
}

func (s *Store) updateUser(ctx context.Context, id string, hash *string, update func(storage.User) (storage.User, error)) (storage.User, error) {
	op := fmt.Sprintf("update user %q", id)
	var out storage.User
	err := s.casUpdate(ctx, s.users, op, id, userProjection, func(raw bson.Raw) (bson.D, []string, error) {
		var d userDoc
		if err := bson.Unmarshal(raw, &d); err != nil {
			return nil, nil, fmt.Errorf("mongo: %s: %w", op, err)
		}
		old, err := d.user()
		if err != nil {
			return nil, nil, fmt.Errorf("mongo: %s: %w", op, err)
		}
		nu, err := update(old)
		if err != nil {
			return nil, nil, err
		}
		nu.ID = id
		nd, normal, err := newUserDoc(nu)
		if err != nil {
			return nil, nil, fmt.Errorf("mongo: %s: %w", op, err)
		}
		set, unset, err := fields(nd, userTimes...)
		if err != nil {
			return nil, nil, fmt.Errorf("mongo: %s: %w", op, err)
		}
		if hash != nil {
			set = append(set, bson.E{Key: passwordField, Value: *hash})
		}
		out = normal
		return set, unset, nil
	})
	if err != nil {
		return storage.User{}, err
	}
	return out, nil
}

// DeleteUser removes the user's refresh tokens, then the user (with its hash). Two writes:
// tokens first, so that a failure in between leaves a user who must log in again, never
// tokens of a user who is gone. Grants are the caller's to remove.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	op := fmt.Sprintf("delete user %q", id)
	return s.locked(ctx, op, func() error {
		if _, err := s.refreshTokens.DeleteMany(ctx, bson.D{{Key: "user_id", Value: id}}); err != nil {
			return dbError(op, err)
		}
		return deleteOne(ctx, s.users, op, byID(id))
	}, lockKey(s.users, id), s.userTokensKey(id))
}

func (s *Store) PasswordHash(ctx context.Context, userID string) (string, error) {
	op := fmt.Sprintf("password hash of %q", userID)
	var d struct {
		Hash *string `bson:"password_hash"`
	}
	err := s.users.FindOne(ctx, byID(userID), options.FindOne().SetProjection(bson.D{{Key: passwordField, Value: 1}})).Decode(&d)
	if err != nil {
		return "", dbError(op, err)
	}
	if d.Hash == nil {
		return "", notFound(op)
	}
	return *d.Hash, nil
}

// SetPasswordHash replaces the user's hash; an empty hash removes it, as CreateUser treats
// an empty hash as "no password". It bumps the version, so that an update racing with it
// is retried rather than written over it.
func (s *Store) SetPasswordHash(ctx context.Context, userID, hash string) error {
	op := fmt.Sprintf("set password hash of %q", userID)
	update := bson.D{{Key: "$set", Value: bson.D{{Key: passwordField, Value: hash}}}}
	if hash == "" {
		update = bson.D{{Key: "$unset", Value: bson.D{{Key: passwordField, Value: ""}}}}
	}
	update = append(update, bson.E{Key: "$inc", Value: bson.D{{Key: "version", Value: 1}}})
	return s.locked(ctx, op, func() error {
		res, err := s.users.UpdateOne(ctx, byID(userID), update)
		if err != nil {
			return dbError(op, err)
		}
		if res.MatchedCount == 0 {
			return notFound(op)
		}
		return nil
	}, lockKey(s.users, userID))
}

// isNotFound says whether err is the store's ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
