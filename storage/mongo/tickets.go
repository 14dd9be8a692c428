package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/latchauth/latch/storage"
)

var _ storage.Tickets = (*Store)(nil)

// ticketDoc is a ticket as stored; _id is the token's SHA-256 (storage.Ticket.ID).
type ticketDoc struct {
	ID                     string    `bson:"_id"`
	Kind                   string    `bson:"kind"`
	UserID                 string    `bson:"user_id"`
	Email                  string    `bson:"email"`
	ClientID               string    `bson:"client_id"`
	ResultURL              string    `bson:"result_url"`
	IncludeEmailInRedirect bool      `bson:"include_email_in_redirect"`
	MarkEmailVerified      bool      `bson:"mark_email_verified"`
	CreatedAt              time.Time `bson:"created_at"`
	ExpiresAt              time.Time `bson:"expires_at"`
}

func (d ticketDoc) ticket() storage.Ticket {
	return storage.Ticket{
		ID: d.ID, Kind: d.Kind, UserID: d.UserID, Email: d.Email, ClientID: d.ClientID,
		ResultURL: d.ResultURL, IncludeEmailInRedirect: d.IncludeEmailInRedirect,
		MarkEmailVerified: d.MarkEmailVerified,
		CreatedAt:         storage.Time(d.CreatedAt), ExpiresAt: storage.Time(d.ExpiresAt),
	}
}

func (s *Store) tickets() *mongo.Collection { return s.db.Collection("tickets") }

// liveTicket selects the ticket of id and kind that has not expired at now (at its expiry
// instant it is gone).
func liveTicket(id, kind string, now time.Time) bson.D {
	return bson.D{{Key: "_id", Value: id}, {Key: "kind", Value: kind}, {Key: "expires_at", Value: bson.D{{Key: "$gt", Value: storage.Time(now)}}}}
}

func (s *Store) CreateTicket(ctx context.Context, t storage.Ticket) error {
	d := ticketDoc{
		ID: t.ID, Kind: t.Kind, UserID: t.UserID, Email: t.Email, ClientID: t.ClientID,
		ResultURL: t.ResultURL, IncludeEmailInRedirect: t.IncludeEmailInRedirect,
		MarkEmailVerified: t.MarkEmailVerified, CreatedAt: storage.Time(t.CreatedAt), ExpiresAt: storage.Time(t.ExpiresAt),
	}
	_, err := s.tickets().InsertOne(ctx, d)
	return dbError("create ticket", err)
}

func (s *Store) GetTicket(ctx context.Context, id, kind string, now time.Time) (storage.Ticket, error) {
	var d ticketDoc
	if err := s.tickets().FindOne(ctx, liveTicket(id, kind, now)).Decode(&d); err != nil {
		return storage.Ticket{}, dbError("get ticket", err)
	}
	return d.ticket(), nil
}

// ConsumeTicket deletes the ticket as it reads it: one atomic findAndModify on MongoDB. The
// in-process lock covers FerretDB v1, whose conditional writes are not atomic (doc.go).
func (s *Store) ConsumeTicket(ctx context.Context, id, kind string, now time.Time) (storage.Ticket, error) {
	var d ticketDoc
	err := s.locked(ctx, "consume ticket", func() error {
		return s.tickets().FindOneAndDelete(ctx, liveTicket(id, kind, now)).Decode(&d)
	}, lockKey(s.tickets(), id))
	if err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return storage.Ticket{}, fmt.Errorf("mongo: consume ticket: %w", storage.ErrNotFound)
		}
		return storage.Ticket{}, dbError("consume ticket", err)
	}
	return d.ticket(), nil
}

func (s *Store) RevokeUserTickets(ctx context.Context, userID, kind string) (int, error) {
	filter := bson.D{{Key: "user_id", Value: userID}}
	if kind != "" {
		filter = append(filter, bson.E{Key: "kind", Value: kind})
	}
	res, err := s.tickets().DeleteMany(ctx, filter)
	if err != nil {
		return 0, dbError("revoke tickets", err)
	}
	return int(res.DeletedCount), nil
}

func (s *Store) DeleteExpiredTickets(ctx context.Context, now time.Time) (int, error) {
	res, err := s.tickets().DeleteMany(ctx, bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: storage.Time(now)}}}})
	if err != nil {
		return 0, dbError("delete expired tickets", err)
	}
	return int(res.DeletedCount), nil
}
