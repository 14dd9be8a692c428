package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/latchauth/latch/storage"
)

type grantDoc struct {
	ID       string `bson:"_id"`
	UserID   string `bson:"user_id"`
	ClientID string `bson:"client_id"`
	Audience string `bson:"audience"`
	Scope    string `bson:"scope"`
	// Claims is JSON text (see codec.go).
	Claims    string     `bson:"claims"`
	CreatedAt *time.Time `bson:"created_at,omitempty"`
	ExpiresAt *time.Time `bson:"expires_at,omitempty"`
}

func (s *Store) CreateGrant(ctx context.Context, g storage.Grant) error {
	op := fmt.Sprintf("create grant %q", g.ID)
	claims, err := encodeMetadata(g.Claims)
	if err != nil {
		return fmt.Errorf("mongo: %s: claims: %w", op, err)
	}
	_, err = s.grants.InsertOne(ctx, grantDoc{
		ID: g.ID, UserID: g.UserID, ClientID: g.ClientID, Audience: g.Audience, Scope: g.Scope,
		Claims: claims, CreatedAt: timePtr(g.CreatedAt), ExpiresAt: timePtr(g.ExpiresAt),
	})
	return dbError(op, err)
}

func (s *Store) GetGrant(ctx context.Context, id string) (storage.Grant, error) {
	op := fmt.Sprintf("get grant %q", id)
	var d grantDoc
	if err := s.grants.FindOne(ctx, byID(id)).Decode(&d); err != nil {
		return storage.Grant{}, dbError(op, err)
	}
	claims, err := decodeMetadata(d.Claims)
	if err != nil {
		return storage.Grant{}, fmt.Errorf("mongo: %s: claims: %w", op, err)
	}
	return storage.Grant{
		ID: d.ID, UserID: d.UserID, ClientID: d.ClientID, Audience: d.Audience, Scope: d.Scope,
		Claims: claims, CreatedAt: timeVal(d.CreatedAt), ExpiresAt: timeVal(d.ExpiresAt),
	}, nil
}

// DeleteExpiredGrants removes grants whose expiry is strictly before now; a grant without
// an expiry never expires (an absent date is never less than a date).
func (s *Store) DeleteExpiredGrants(ctx context.Context, now time.Time) (int, error) {
	res, err := s.grants.DeleteMany(ctx, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: msCeil(now)}}}})
	if err != nil {
		return 0, dbError("delete expired grants", err)
	}
	return int(res.DeletedCount), nil
}

func (s *Store) DeleteUserGrants(ctx context.Context, userID string) error {
	_, err := s.grants.DeleteMany(ctx, bson.D{{Key: "user_id", Value: userID}})
	return dbError(fmt.Sprintf("delete grants of %q", userID), err)
}
