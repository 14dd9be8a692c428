package mongo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/latchauth/latch/storage"
)

type actionDoc struct {
	ID                string     `bson:"_id"`
	Name              string     `bson:"name"`
	Code              string     `bson:"code"`
	Runtime           string     `bson:"runtime"`
	SupportedTriggers []string   `bson:"supported_triggers"`
	Deployed          bool       `bson:"deployed"`
	CreatedAt         *time.Time `bson:"created_at,omitempty"`
	UpdatedAt         *time.Time `bson:"updated_at,omitempty"`
	Version           int64      `bson:"version"`
}

func newActionDoc(a storage.Action) actionDoc {
	return actionDoc{
		ID: a.ID, Name: a.Name, Code: a.Code, Runtime: a.Runtime, SupportedTriggers: list(a.SupportedTriggers),
		Deployed: a.Deployed, CreatedAt: timePtr(a.CreatedAt), UpdatedAt: timePtr(a.UpdatedAt), Version: 1,
	}
}

func (d actionDoc) action() storage.Action {
	return storage.Action{
		ID: d.ID, Name: d.Name, Code: d.Code, Runtime: d.Runtime, SupportedTriggers: list(d.SupportedTriggers),
		Deployed: d.Deployed, CreatedAt: timeVal(d.CreatedAt), UpdatedAt: timeVal(d.UpdatedAt),
	}
}

func decodeAction(op string, raw bson.Raw) (storage.Action, error) {
	var d actionDoc
	if err := bson.Unmarshal(raw, &d); err != nil {
		return storage.Action{}, dbError(op, err)
	}
	return d.action(), nil
}

func (s *Store) CreateAction(ctx context.Context, a storage.Action) error {
	_, err := s.actions.InsertOne(ctx, newActionDoc(a))
	return dbError(fmt.Sprintf("create action %q", a.ID), err)
}

func (s *Store) GetAction(ctx context.Context, id string) (storage.Action, error) {
	op := fmt.Sprintf("get action %q", id)
	raw, err := s.actions.FindOne(ctx, byID(id)).Raw()
	if err != nil {
		return storage.Action{}, dbError(op, err)
	}
	return decodeAction(op, raw)
}

func (s *Store) ListActions(ctx context.Context) ([]storage.Action, error) {
	const op = "list actions"
	cur, err := s.actions.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, dbError(op, err)
	}
	return collect(ctx, op, cur, func(raw bson.Raw) (storage.Action, error) { return decodeAction(op, raw) })
}

// UpdateAction is a compare-and-swap on the action's version (see casUpdate).
func (s *Store) UpdateAction(ctx context.Context, id string, update func(storage.Action) (storage.Action, error)) (storage.Action, error) {
	op := fmt.Sprintf("update action %q", id)
	var out storage.Action
	err := s.casUpdate(ctx, s.actions, op, id, nil, func(raw bson.Raw) (bson.D, []string, error) {
		old, err := decodeAction(op, raw)
		if err != nil {
			return nil, nil, err
		}
		na, err := update(old)
		if err != nil {
			return nil, nil, err
		}
		na.ID = id
		d := newActionDoc(na)
		out = d.action()
		return fields(d, "created_at", "updated_at")
	})
	if err != nil {
		return storage.Action{}, err
	}
	return out, nil
}

// Trigger bindings: one document per trigger holding its whole list, so that replacing
// the list is one write, atomic without a transaction.

type triggerDoc struct {
	Trigger  string       `bson:"_id"`
	Bindings []bindingDoc `bson:"bindings"`
	Version  int64        `bson:"version"`
}

type bindingDoc struct {
	ID          string `bson:"id"`
	ActionID    string `bson:"action_id"`
	Order       int    `bson:"order"`
	DisplayName string `bson:"display_name"`
}

// DeleteAction deletes the action, then takes it out of every trigger's list. A binding
// that a concurrent SetTriggerBindings wrote after the action was checked but before it
// was deleted would stay in a list; ListTriggerBindings leaves out bindings whose action
// is gone, so it is never seen either way.
func (s *Store) DeleteAction(ctx context.Context, id string) error {
	op := fmt.Sprintf("delete action %q", id)
	err := s.locked(ctx, op, func() error { return deleteOne(ctx, s.actions, op, byID(id)) }, lockKey(s.actions, id))
	if err != nil {
		return err
	}
	cur, err := s.triggers.Find(ctx, bson.D{{Key: "bindings.action_id", Value: id}}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return dbError(op, err)
	}
	triggers, err := collect(ctx, op, cur, func(raw bson.Raw) (string, error) {
		t, _ := raw.Lookup("_id").StringValueOK()
		return t, nil
	})
	if err != nil {
		return err
	}
	for _, t := range triggers {
		err := s.casUpdate(ctx, s.triggers, op, t, nil, func(raw bson.Raw) (bson.D, []string, error) {
			var d triggerDoc
			if err := bson.Unmarshal(raw, &d); err != nil {
				return nil, nil, dbError(op, err)
			}
			d.Bindings = slices.DeleteFunc(d.Bindings, func(b bindingDoc) bool { return b.ActionID == id })
			return bson.D{{Key: "bindings", Value: d.Bindings}}, nil, nil
		})
		if err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}

// SetTriggerBindings checks that every action exists, then sets the trigger's list in one
// update of its document (created with the trigger's first list).
func (s *Store) SetTriggerBindings(ctx context.Context, trigger string, bindings []storage.ActionBinding) ([]storage.ActionBinding, error) {
	op := fmt.Sprintf("set bindings of %q", trigger)
	ids := make([]string, 0, len(bindings))
	seen := make(map[string]bool, len(bindings))
	for _, b := range bindings {
		if seen[b.ID] {
			return nil, fmt.Errorf("mongo: %s: binding %q given twice: %w", op, b.ID, storage.ErrAlreadyExists)
		}
		seen[b.ID] = true
		if !slices.Contains(ids, b.ActionID) {
			ids = append(ids, b.ActionID)
		}
	}
	if len(ids) > 0 {
		n, err := s.actions.CountDocuments(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
		if err != nil {
			return nil, dbError(op, err)
		}
		if int(n) != len(ids) {
			return nil, fmt.Errorf("mongo: %s: an action does not exist: %w", op, storage.ErrNotFound)
		}
	}
	doc := triggerDoc{Trigger: trigger, Bindings: make([]bindingDoc, len(bindings))}
	out := make([]storage.ActionBinding, len(bindings))
	for i, b := range bindings {
		doc.Bindings[i] = bindingDoc{ID: b.ID, ActionID: b.ActionID, Order: i + 1, DisplayName: b.DisplayName}
		out[i] = storage.ActionBinding{ID: b.ID, Trigger: trigger, ActionID: b.ActionID, Order: i + 1, DisplayName: b.DisplayName}
	}
	err := s.locked(ctx, op, func() (err error) {
		for range 2 { // as SetRulesConfig: a racing first upsert of the trigger
			_, err = s.triggers.UpdateOne(ctx, byID(trigger), bson.D{
				{Key: "$set", Value: bson.D{{Key: "bindings", Value: doc.Bindings}}},
				{Key: "$inc", Value: bson.D{{Key: "version", Value: 1}}},
			}, options.UpdateOne().SetUpsert(true))
			if !duplicateKey(err) {
				break
			}
		}
		return dbError(op, err)
	}, lockKey(s.triggers, trigger))
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListTriggerBindings returns the trigger's list, less the bindings of actions that no
// longer exist (see DeleteAction).
func (s *Store) ListTriggerBindings(ctx context.Context, trigger string) ([]storage.ActionBinding, error) {
	op := fmt.Sprintf("list bindings of %q", trigger)
	var d triggerDoc
	if err := s.triggers.FindOne(ctx, byID(trigger)).Decode(&d); err != nil {
		if isNotFound(dbError(op, err)) {
			return []storage.ActionBinding{}, nil
		}
		return nil, dbError(op, err)
	}
	out := []storage.ActionBinding{}
	if len(d.Bindings) == 0 {
		return out, nil
	}
	ids := make([]string, len(d.Bindings))
	for i, b := range d.Bindings {
		ids[i] = b.ActionID
	}
	cur, err := s.actions.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, dbError(op, err)
	}
	live, err := collect(ctx, op, cur, func(raw bson.Raw) (string, error) {
		id, _ := raw.Lookup("_id").StringValueOK()
		return id, nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(d.Bindings, func(a, b bindingDoc) int { return a.Order - b.Order })
	for _, b := range d.Bindings {
		if slices.Contains(live, b.ActionID) {
			out = append(out, storage.ActionBinding{ID: b.ID, Trigger: trigger, ActionID: b.ActionID, Order: b.Order, DisplayName: b.DisplayName})
		}
	}
	return out, nil
}
