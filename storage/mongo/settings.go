package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/latchauth/latch/storage"
)

var _ storage.Settings = (*Store)(nil)

// Settings are documents {_id: name, value: JSON text, version}. A setting never set has
// no document, or (after a first update lost a race to create it) an empty value.

func (s *Store) settings() *mongo.Collection { return s.db.Collection("settings") }

func (s *Store) GetSetting(ctx context.Context, name string) ([]byte, error) {
	op := fmt.Sprintf("get setting %q", name)
	raw, err := s.settings().FindOne(ctx, byID(name)).Raw()
	if err != nil {
		return nil, dbError(op, err)
	}
	v, _ := raw.Lookup("value").StringValueOK()
	if v == "" {
		return nil, fmt.Errorf("mongo: %s: %w", op, storage.ErrNotFound)
	}
	return []byte(v), nil
}

func (s *Store) UpdateSetting(ctx context.Context, name string, update func([]byte) ([]byte, error)) ([]byte, error) {
	op := fmt.Sprintf("update setting %q", name)
	// The compare-and-swap needs a document: make an empty one first (losing that race to
	// another instance is fine).
	_, err := s.settings().InsertOne(ctx, bson.D{{Key: "_id", Value: name}, {Key: "value", Value: ""}, {Key: "version", Value: int64(0)}})
	if err != nil && !errors.Is(dbError(op, err), storage.ErrAlreadyExists) {
		return nil, dbError(op, err)
	}
	var out []byte
	err = s.casUpdate(ctx, s.settings(), op, name, nil, func(raw bson.Raw) (bson.D, []string, error) {
		var cur []byte
		if v, _ := raw.Lookup("value").StringValueOK(); v != "" {
			cur = []byte(v)
		}
		next, err := update(cur)
		if err != nil {
			return nil, nil, err
		}
		out = next
		return bson.D{{Key: "value", Value: string(next)}}, nil, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
