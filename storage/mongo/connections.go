package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/latchauth/latch/storage"
)

type connectionDoc struct {
	ID             string               `bson:"_id"`
	Name           string               `bson:"name"`
	Strategy       string               `bson:"strategy"`
	Options        connectionOptionsDoc `bson:"options"`
	EnabledClients []string             `bson:"enabled_clients"`
	CreatedAt      *time.Time           `bson:"created_at,omitempty"`
	Version        int64                `bson:"version"`
}

type connectionOptionsDoc struct {
	PasswordPolicy     string `bson:"password_policy"`
	MinLength          int    `bson:"min_length"`
	PasswordDictionary bool   `bson:"password_dictionary"`
	RequiresUsername   bool   `bson:"requires_username"`
}

func newConnectionDoc(c storage.Connection) connectionDoc {
	return connectionDoc{
		ID: c.ID, Name: c.Name, Strategy: c.Strategy, Options: connectionOptionsDoc(c.Options),
		EnabledClients: list(c.EnabledClients), CreatedAt: timePtr(c.CreatedAt),
	}
}

func (d connectionDoc) connection() storage.Connection {
	return storage.Connection{
		ID: d.ID, Name: d.Name, Strategy: d.Strategy, Options: storage.ConnectionOptions(d.Options),
		EnabledClients: list(d.EnabledClients), CreatedAt: timeVal(d.CreatedAt),
	}
}

func decodeConnection(op string, raw bson.Raw, err error) (storage.Connection, error) {
	if err != nil {
		return storage.Connection{}, dbError(op, err)
	}
	var d connectionDoc
	if err := bson.Unmarshal(raw, &d); err != nil {
		return storage.Connection{}, dbError(op, err)
	}
	return d.connection(), nil
}

func (s *Store) CreateConnection(ctx context.Context, c storage.Connection) error {
	d := newConnectionDoc(c)
	d.Version = 1
	_, err := s.connections.InsertOne(ctx, d)
	return dbError(fmt.Sprintf("create connection %q", c.Name), err)
}

func (s *Store) GetConnection(ctx context.Context, id string) (storage.Connection, error) {
	raw, err := s.connections.FindOne(ctx, byID(id)).Raw()
	return decodeConnection(fmt.Sprintf("get connection %q", id), raw, err)
}

func (s *Store) GetConnectionByName(ctx context.Context, name string) (storage.Connection, error) {
	raw, err := s.connections.FindOne(ctx, bson.D{{Key: "name", Value: name}}).Raw()
	return decodeConnection(fmt.Sprintf("get connection named %q", name), raw, err)
}

func (s *Store) ListConnections(ctx context.Context) ([]storage.Connection, error) {
	const op = "list connections"
	cur, err := s.connections.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, dbError(op, err)
	}
	return collect(ctx, op, cur, func(raw bson.Raw) (storage.Connection, error) { return decodeConnection(op, raw, nil) })
}

// UpdateConnection is a compare-and-swap on the connection's version (see casUpdate).
func (s *Store) UpdateConnection(ctx context.Context, id string, update func(storage.Connection) (storage.Connection, error)) (storage.Connection, error) {
	op := fmt.Sprintf("update connection %q", id)
	var out storage.Connection
	err := s.casUpdate(ctx, s.connections, op, id, nil, func(raw bson.Raw) (bson.D, []string, error) {
		old, err := decodeConnection(op, raw, nil)
		if err != nil {
			return nil, nil, err
		}
		nc, err := update(old)
		if err != nil {
			return nil, nil, err
		}
		nc.ID = id
		d := newConnectionDoc(nc)
		out = d.connection()
		return fields(d, "created_at")
	})
	if err != nil {
		return storage.Connection{}, err
	}
	return out, nil
}
