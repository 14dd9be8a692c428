package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/latchauth/latch/storage"
)

// refreshTokenDoc: _id is the token's SHA-256, never the token. Absent times are "never"
// (expiry) and "not yet" (rotation).
type refreshTokenDoc struct {
	ID            string     `bson:"_id"`
	FamilyID      string     `bson:"family_id"`
	UserID        string     `bson:"user_id"`
	ClientID      string     `bson:"client_id"`
	Audience      string     `bson:"audience"`
	Scope         string     `bson:"scope"`
	SessionID     string     `bson:"session_id"`
	AuthTime      *time.Time `bson:"auth_time,omitempty"`
	CreatedAt     *time.Time `bson:"created_at,omitempty"`
	ExpiresAt     *time.Time `bson:"expires_at,omitempty"`
	IdleExpiresAt *time.Time `bson:"idle_expires_at,omitempty"`
	RotatedAt     *time.Time `bson:"rotated_at,omitempty"`
}

func newRefreshTokenDoc(rt storage.RefreshToken) refreshTokenDoc {
	return refreshTokenDoc{
		ID: rt.ID, FamilyID: rt.FamilyID, UserID: rt.UserID, ClientID: rt.ClientID, Audience: rt.Audience,
		Scope: rt.Scope, SessionID: rt.SessionID, AuthTime: timePtr(rt.AuthTime), CreatedAt: timePtr(rt.CreatedAt),
		ExpiresAt: timePtr(rt.ExpiresAt), IdleExpiresAt: timePtr(rt.IdleExpiresAt), RotatedAt: timePtr(rt.RotatedAt),
	}
}

func (d refreshTokenDoc) token() storage.RefreshToken {
	return storage.RefreshToken{
		ID: d.ID, FamilyID: d.FamilyID, UserID: d.UserID, ClientID: d.ClientID, Audience: d.Audience,
		Scope: d.Scope, SessionID: d.SessionID, AuthTime: timeVal(d.AuthTime), CreatedAt: timeVal(d.CreatedAt),
		ExpiresAt: timeVal(d.ExpiresAt), IdleExpiresAt: timeVal(d.IdleExpiresAt), RotatedAt: timeVal(d.RotatedAt),
	}
}

func (s *Store) CreateRefreshToken(ctx context.Context, rt storage.RefreshToken) error {
	_, err := s.refreshTokens.InsertOne(ctx, newRefreshTokenDoc(rt))
	return dbError(fmt.Sprintf("create refresh token of family %q", rt.FamilyID), err)
}

// GetRefreshToken does not name the id in its errors: the id of a token is as good as the
// token for finding it in the database, and errors end up in logs.
func (s *Store) GetRefreshToken(ctx context.Context, id string) (storage.RefreshToken, error) {
	var d refreshTokenDoc
	if err := s.refreshTokens.FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return storage.RefreshToken{}, dbError("get refresh token", err)
	}
	return d.token(), nil
}

// RotateRefreshToken stores the next token first, then marks the old one rotated with a
// conditional update (only if it is not rotated yet); when that finds nothing to rotate,
// it deletes the next token again. Of concurrent rotations of one token, the first
// conditional update wins.
//
// This order keeps every state in between harmless without a transaction: until the
// rotation is marked, the next token exists but nobody holds it (the caller hands it out
// only on success), whereas marking first would show the old token rotated, and a
// legitimate use of it as reuse, before the next one could be stored. Should the clean-up
// itself fail, what stays behind is a token nobody has.
func (s *Store) RotateRefreshToken(ctx context.Context, oldID string, at time.Time, next storage.RefreshToken) error {
	const op = "rotate refresh token"
	if at.IsZero() {
		// An absent rotated_at means "not rotated": a zero instant would rotate nothing.
		return fmt.Errorf("mongo: %s: the rotation time is zero", op)
	}
	return s.locked(ctx, op, func() error { return s.rotate(ctx, op, oldID, at, next) },
		s.userTokensKey(next.UserID), s.familyKey(next.FamilyID))
}

func (s *Store) rotate(ctx context.Context, op, oldID string, at time.Time, next storage.RefreshToken) error {
	if _, err := s.refreshTokens.InsertOne(ctx, newRefreshTokenDoc(next)); err != nil {
		return dbError(op, err)
	}
	res, err := s.refreshTokens.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: oldID}, {Key: "rotated_at", Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "rotated_at", Value: storage.Time(at)}}}})
	if err == nil && res.MatchedCount == 1 {
		return nil
	}
	// Not rotated: take the next token back, whatever happened to the caller's context.
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	if _, derr := s.refreshTokens.DeleteOne(cctx, byID(next.ID)); derr != nil && err == nil {
		err = derr
	}
	if err != nil {
		return dbError(op, err)
	}
	n, err := s.refreshTokens.CountDocuments(ctx, byID(oldID))
	switch {
	case err != nil:
		return dbError(op, err)
	case n == 0:
		return notFound(op)
	}
	return fmt.Errorf("mongo: %s: %w (already rotated)", op, storage.ErrConflict)
}

// userTokensKey and familyKey lock the refresh tokens of a user and of a family: a rotation
// takes both, a revocation the one it deletes by, so that none comes between the steps of
// a rotation (see doc.go).
func (s *Store) userTokensKey(userID string) string {
	return lockKey(s.refreshTokens, "user\x00"+userID)
}

func (s *Store) familyKey(familyID string) string {
	return lockKey(s.refreshTokens, "family\x00"+familyID)
}

func (s *Store) RevokeRefreshTokenFamily(ctx context.Context, familyID string) (int, error) {
	op := fmt.Sprintf("revoke refresh token family %q", familyID)
	return s.deleteTokens(ctx, op, bson.D{{Key: "family_id", Value: familyID}}, s.familyKey(familyID))
}

func (s *Store) RevokeUserRefreshTokens(ctx context.Context, userID string) (int, error) {
	op := fmt.Sprintf("revoke refresh tokens of %q", userID)
	return s.deleteTokens(ctx, op, bson.D{{Key: "user_id", Value: userID}}, s.userTokensKey(userID))
}

func (s *Store) deleteTokens(ctx context.Context, op string, filter bson.D, key string) (int, error) {
	var n int
	err := s.locked(ctx, op, func() error {
		res, err := s.refreshTokens.DeleteMany(ctx, filter)
		if err != nil {
			return dbError(op, err)
		}
		n = int(res.DeletedCount)
		return nil
	}, key)
	return n, err
}

// DeleteExpiredRefreshTokens removes tokens whose absolute or idle expiry is strictly
// before now; an absent expiry never expires.
func (s *Store) DeleteExpiredRefreshTokens(ctx context.Context, now time.Time) (int, error) {
	before := bson.D{{Key: "$lt", Value: msCeil(now)}}
	res, err := s.refreshTokens.DeleteMany(ctx, bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "expires_at", Value: before}},
		bson.D{{Key: "idle_expires_at", Value: before}},
	}}})
	if err != nil {
		return 0, dbError("delete expired refresh tokens", err)
	}
	return int(res.DeletedCount), nil
}
