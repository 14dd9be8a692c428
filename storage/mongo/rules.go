package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/latchauth/latch/storage"
)

type ruleDoc struct {
	ID        string     `bson:"_id"`
	Name      string     `bson:"name"`
	Enabled   bool       `bson:"enabled"`
	Script    string     `bson:"script"`
	Order     int        `bson:"order"`
	Stage     string     `bson:"stage"`
	CreatedAt *time.Time `bson:"created_at,omitempty"`
	UpdatedAt *time.Time `bson:"updated_at,omitempty"`
	Version   int64      `bson:"version"`
}

func newRuleDoc(r storage.Rule) ruleDoc {
	return ruleDoc{
		ID: r.ID, Name: r.Name, Enabled: r.Enabled, Script: r.Script, Order: r.Order, Stage: r.Stage,
		CreatedAt: timePtr(r.CreatedAt), UpdatedAt: timePtr(r.UpdatedAt), Version: 1,
	}
}

func (d ruleDoc) rule() storage.Rule {
	return storage.Rule{
		ID: d.ID, Name: d.Name, Enabled: d.Enabled, Script: d.Script, Order: d.Order, Stage: d.Stage,
		CreatedAt: timeVal(d.CreatedAt), UpdatedAt: timeVal(d.UpdatedAt),
	}
}

func decodeRule(op string, raw bson.Raw) (storage.Rule, error) {
	var d ruleDoc
	if err := bson.Unmarshal(raw, &d); err != nil {
		return storage.Rule{}, dbError(op, err)
	}
	return d.rule(), nil
}

func (s *Store) CreateRule(ctx context.Context, r storage.Rule) error {
	_, err := s.rules.InsertOne(ctx, newRuleDoc(r))
	return dbError(fmt.Sprintf("create rule %q", r.ID), err)
}

// AppendRule reads the stage's highest order and inserts the rule after it. The unique
// index on (stage, order) makes two appends that read the same highest order collide: the
// loser reads again and takes the next one. A collision on the id or the name instead is
// ErrAlreadyExists (the duplicate-key error does not say which index it hit everywhere,
// so the store looks).
func (s *Store) AppendRule(ctx context.Context, r storage.Rule) (storage.Rule, error) {
	op := fmt.Sprintf("append rule %q", r.ID)
	var out storage.Rule
	// Appends of this process queue per stage instead of colliding.
	err := s.locked(ctx, op, func() (err error) {
		out, err = s.appendRule(ctx, op, r)
		return err
	}, lockKey(s.rules, "stage\x00"+r.Stage))
	if err != nil {
		return storage.Rule{}, err
	}
	return out, nil
}

func (s *Store) appendRule(ctx context.Context, op string, r storage.Rule) (storage.Rule, error) {
	last := options.FindOne().SetSort(bson.D{{Key: "order", Value: -1}}).SetProjection(bson.D{{Key: "order", Value: 1}})
	for attempt := 0; ; attempt++ {
		var top struct {
			Order int `bson:"order"`
		}
		err := s.rules.FindOne(ctx, bson.D{{Key: "stage", Value: r.Stage}}, last).Decode(&top)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return storage.Rule{}, dbError(op, err)
		}
		r.Order = top.Order + 1
		d := newRuleDoc(r)
		_, err = s.rules.InsertOne(ctx, d)
		if err == nil {
			return d.rule(), nil
		}
		if !duplicateKey(err) {
			return storage.Rule{}, dbError(op, err)
		}
		taken, cerr := s.rules.CountDocuments(ctx, bson.D{{Key: "$or", Value: bson.A{byID(r.ID), bson.D{{Key: "name", Value: r.Name}}}}})
		if cerr != nil {
			return storage.Rule{}, dbError(op, cerr)
		}
		if taken > 0 {
			return storage.Rule{}, dbError(op, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return storage.Rule{}, fmt.Errorf("mongo: %s: %w", op, err)
		}
	}
}

func (s *Store) GetRule(ctx context.Context, id string) (storage.Rule, error) {
	op := fmt.Sprintf("get rule %q", id)
	raw, err := s.rules.FindOne(ctx, byID(id)).Raw()
	if err != nil {
		return storage.Rule{}, dbError(op, err)
	}
	return decodeRule(op, raw)
}

func (s *Store) ListRules(ctx context.Context) ([]storage.Rule, error) {
	const op = "list rules"
	cur, err := s.rules.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "order", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, dbError(op, err)
	}
	return collect(ctx, op, cur, func(raw bson.Raw) (storage.Rule, error) { return decodeRule(op, raw) })
}

// UpdateRule is a compare-and-swap on the rule's version (see casUpdate); a taken name or
// order collides on its unique index.
func (s *Store) UpdateRule(ctx context.Context, id string, update func(storage.Rule) (storage.Rule, error)) (storage.Rule, error) {
	op := fmt.Sprintf("update rule %q", id)
	var out storage.Rule
	err := s.casUpdate(ctx, s.rules, op, id, nil, func(raw bson.Raw) (bson.D, []string, error) {
		old, err := decodeRule(op, raw)
		if err != nil {
			return nil, nil, err
		}
		nr, err := update(old)
		if err != nil {
			return nil, nil, err
		}
		nr.ID = id
		d := newRuleDoc(nr)
		out = d.rule()
		return fields(d, "created_at", "updated_at")
	})
	if err != nil {
		return storage.Rule{}, err
	}
	return out, nil
}

func (s *Store) DeleteRule(ctx context.Context, id string) error {
	op := fmt.Sprintf("delete rule %q", id)
	return s.locked(ctx, op, func() error { return deleteOne(ctx, s.rules, op, byID(id)) }, lockKey(s.rules, id))
}

// Rules-configs: one document per key, the sealed value as binary.

type rulesConfigDoc struct {
	Key   string `bson:"_id"`
	Value []byte `bson:"sealed_value"`
}

// SetRulesConfig replaces the document or creates it. Two upserts of a new key can race
// to insert it; the loser's duplicate-key error means the key now exists, and replacing
// it again is then an ordinary update.
func (s *Store) SetRulesConfig(ctx context.Context, key string, sealedValue []byte) error {
	op := fmt.Sprintf("set rules config %q", key)
	doc := rulesConfigDoc{Key: key, Value: append([]byte{}, sealedValue...)}
	var err error
	for range 2 {
		_, err = s.rulesConfigs.ReplaceOne(ctx, byID(key), doc, options.Replace().SetUpsert(true))
		if !duplicateKey(err) {
			break
		}
	}
	return dbError(op, err)
}

func (s *Store) ListRulesConfigKeys(ctx context.Context) ([]string, error) {
	const op = "list rules config keys"
	cur, err := s.rulesConfigs.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).
		SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, dbError(op, err)
	}
	return collect(ctx, op, cur, func(raw bson.Raw) (string, error) {
		k, ok := raw.Lookup("_id").StringValueOK()
		if !ok {
			return "", fmt.Errorf("mongo: %s: a key is not a string", op)
		}
		return k, nil
	})
}

func (s *Store) GetRulesConfigs(ctx context.Context) (map[string][]byte, error) {
	const op = "get rules configs"
	cur, err := s.rulesConfigs.Find(ctx, bson.D{})
	if err != nil {
		return nil, dbError(op, err)
	}
	docs, err := collect(ctx, op, cur, func(raw bson.Raw) (rulesConfigDoc, error) {
		var d rulesConfigDoc
		return d, dbError(op, bson.Unmarshal(raw, &d))
	})
	if err != nil {
		return nil, err
	}
	configs := make(map[string][]byte, len(docs))
	for _, d := range docs {
		configs[d.Key] = append([]byte{}, d.Value...)
	}
	return configs, nil
}

func (s *Store) DeleteRulesConfig(ctx context.Context, key string) error {
	return deleteOne(ctx, s.rulesConfigs, fmt.Sprintf("delete rules config %q", key), byID(key))
}
