package mongo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/latchauth/latch/storage"
)

type eventDoc struct {
	ID           string    `bson:"_id"`
	Type         string    `bson:"type"`
	Date         time.Time `bson:"date"`
	Description  string    `bson:"description"`
	UserID       string    `bson:"user_id"`
	UserName     string    `bson:"user_name"`
	ClientID     string    `bson:"client_id"`
	ClientName   string    `bson:"client_name"`
	Connection   string    `bson:"connection"`
	ConnectionID string    `bson:"connection_id"`
	Strategy     string    `bson:"strategy"`
	StrategyType string    `bson:"strategy_type"`
	Audience     string    `bson:"audience"`
	Scope        string    `bson:"scope"`
	IP           string    `bson:"ip"`
	UserAgent    string    `bson:"user_agent"`
	Hostname     string    `bson:"hostname"`
	// Details is JSON text (see codec.go).
	Details string `bson:"details"`
	// Batch names the AppendEvents call that wrote the event, so that a batch that fails
	// halfway can take back exactly what it wrote.
	Batch string `bson:"batch"`
}

func (d eventDoc) event() (storage.Event, error) {
	details, err := decodeMetadata(d.Details)
	if err != nil {
		return storage.Event{}, fmt.Errorf("event %s: details: %w", d.ID, err)
	}
	return storage.Event{
		ID: d.ID, Type: d.Type, Date: d.Date.UTC(), Description: d.Description,
		UserID: d.UserID, UserName: d.UserName, ClientID: d.ClientID, ClientName: d.ClientName,
		Connection: d.Connection, ConnectionID: d.ConnectionID, Strategy: d.Strategy,
		StrategyType: d.StrategyType, Audience: d.Audience, Scope: d.Scope, IP: d.IP,
		UserAgent: d.UserAgent, Hostname: d.Hostname, Details: details,
	}, nil
}

func decodeEvent(op string, raw bson.Raw) (storage.Event, error) {
	var d eventDoc
	if err := bson.Unmarshal(raw, &d); err != nil {
		return storage.Event{}, dbError(op, err)
	}
	e, err := d.event()
	if err != nil {
		return storage.Event{}, fmt.Errorf("mongo: %s: %w", op, err)
	}
	return e, nil
}

// AppendEvents inserts the batch with one ordered insert. It is all or none without a
// transaction: when an insert fails, the events of the batch that went in are deleted
// again before the error returns (readers may see them in between).
func (s *Store) AppendEvents(ctx context.Context, events []storage.Event) error {
	const op = "append events"
	if len(events) == 0 {
		return nil
	}
	batch := newBatchID()
	docs := make([]any, 0, len(events))
	ids := make([]string, 0, len(events))
	for _, e := range events {
		if e.ID == "" || e.Type == "" || e.Date.IsZero() {
			return fmt.Errorf("mongo: %s: an event needs an id, a type and a date", op)
		}
		details, err := encodeMetadata(e.Details)
		if err != nil {
			return fmt.Errorf("mongo: %s: event %s: %w", op, e.ID, err)
		}
		docs = append(docs, eventDoc{
			ID: e.ID, Type: e.Type, Date: storage.Time(e.Date), Description: e.Description,
			UserID: e.UserID, UserName: e.UserName, ClientID: e.ClientID, ClientName: e.ClientName,
			Connection: e.Connection, ConnectionID: e.ConnectionID, Strategy: e.Strategy,
			StrategyType: e.StrategyType, Audience: e.Audience, Scope: e.Scope, IP: e.IP,
			UserAgent: e.UserAgent, Hostname: e.Hostname, Details: details, Batch: batch,
		})
		ids = append(ids, e.ID)
	}
	_, err := s.events.InsertMany(ctx, docs)
	if err == nil {
		return nil
	}
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	_, derr := s.events.DeleteMany(cctx, bson.D{
		{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}},
		{Key: "batch", Value: batch},
	})
	if derr != nil {
		return fmt.Errorf("%w (and undoing the batch: %v)", dbError(op, err), derr)
	}
	return dbError(op, err)
}

func newBatchID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Store) GetEvent(ctx context.Context, id string) (storage.Event, error) {
	op := fmt.Sprintf("get event %q", id)
	raw, err := s.events.FindOne(ctx, byID(id)).Raw()
	if err != nil {
		return storage.Event{}, dbError(op, err)
	}
	return decodeEvent(op, raw)
}

func (s *Store) ListEvents(ctx context.Context, q storage.EventQuery) ([]storage.Event, int, error) {
	const op = "list events"
	if err := checkPage(q.Page); err != nil {
		return nil, 0, err
	}
	filter := bson.D{}
	if len(q.Types) > 0 {
		filter = append(filter, bson.E{Key: "type", Value: bson.D{{Key: "$in", Value: q.Types}}})
	}
	if q.UserID != "" {
		filter = append(filter, bson.E{Key: "user_id", Value: q.UserID})
	}
	if q.ClientID != "" {
		filter = append(filter, bson.E{Key: "client_id", Value: q.ClientID})
	}
	date := bson.D{}
	if !q.From.IsZero() {
		date = append(date, bson.E{Key: "$gte", Value: msCeil(q.From)})
	}
	if !q.To.IsZero() {
		date = append(date, bson.E{Key: "$lt", Value: msCeil(q.To)})
	}
	if len(date) > 0 {
		filter = append(filter, bson.E{Key: "date", Value: date})
	}
	dir := -1
	if q.Oldest {
		dir = 1
	}
	cur, err := s.events.Find(ctx, filter, options.Find().
		SetSort(bson.D{{Key: "date", Value: dir}, {Key: "_id", Value: dir}}).
		SetSkip(int64(q.Page.Offset())).SetLimit(int64(q.Page.PerPage)))
	if err != nil {
		return nil, 0, dbError(op, err)
	}
	out, err := collect(ctx, op, cur, func(raw bson.Raw) (storage.Event, error) { return decodeEvent(op, raw) })
	if err != nil {
		return nil, 0, err
	}
	total, err := pageTotal(ctx, s.events, filter, q.Page, len(out))
	if err != nil {
		return nil, 0, dbError(op, err)
	}
	return out, total, nil
}

func (s *Store) EventsAfter(ctx context.Context, afterID string, limit int) ([]storage.Event, error) {
	const op = "list events after a checkpoint"
	if limit <= 0 {
		return nil, fmt.Errorf("mongo: %s: invalid limit %d", op, limit)
	}
	cur, err := s.events.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: afterID}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, dbError(op, err)
	}
	return collect(ctx, op, cur, func(raw bson.Raw) (storage.Event, error) { return decodeEvent(op, raw) })
}

// DeleteEventsBefore deletes the events dated before t, in one deleteMany: the server
// yields to other operations as it goes.
func (s *Store) DeleteEventsBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.events.DeleteMany(ctx, bson.D{{Key: "date", Value: bson.D{{Key: "$lt", Value: msCeil(t)}}}})
	if err != nil {
		return 0, dbError("delete old events", err)
	}
	return int(res.DeletedCount), nil
}
