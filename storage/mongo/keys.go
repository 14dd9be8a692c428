package mongo

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/latchauth/latch/storage"
)

type signingKeyDoc struct {
	KID        string `bson:"_id"`
	Alg        string `bson:"alg"`
	PublicDER  []byte `bson:"public_der"`
	CertDER    []byte `bson:"cert_der"`
	SealedPriv []byte `bson:"sealed_priv"`
	State      string `bson:"state"`
	// CurrentSlot is "current" for the current key and "kid:" and the kid for the others:
	// its unique index lets at most one key be current, with every other key distinct.
	CurrentSlot  string     `bson:"current_slot"`
	CreatedAt    *time.Time `bson:"created_at,omitempty"`
	CurrentSince *time.Time `bson:"current_since,omitempty"`
	CurrentUntil *time.Time `bson:"current_until,omitempty"`
	RevokedAt    *time.Time `bson:"revoked_at,omitempty"`
	// Seq orders keys created in the same millisecond: ObjectIDs made by one process
	// increase.
	Seq     bson.ObjectID `bson:"seq"`
	Version int64         `bson:"version"`
}

var signingKeyTimes = []string{"created_at", "current_since", "current_until", "revoked_at"}

func newSigningKeyDoc(k storage.SigningKey) signingKeyDoc {
	d := signingKeyDoc{
		KID: k.KID, Alg: k.Alg, PublicDER: bytes.Clone(k.PublicDER), CertDER: bytes.Clone(k.CertDER),
		SealedPriv: bytes.Clone(k.SealedPriv), State: k.State, CurrentSlot: "kid:" + k.KID,
		CreatedAt: timePtr(k.CreatedAt), CurrentSince: timePtr(k.CurrentSince),
		CurrentUntil: timePtr(k.CurrentUntil), RevokedAt: timePtr(k.RevokedAt),
	}
	if k.State == storage.KeyCurrent {
		d.CurrentSlot = storage.KeyCurrent
	}
	return d
}

func (d signingKeyDoc) key() storage.SigningKey {
	return storage.SigningKey{
		KID: d.KID, Alg: d.Alg, PublicDER: bytes.Clone(d.PublicDER), CertDER: bytes.Clone(d.CertDER),
		SealedPriv: bytes.Clone(d.SealedPriv), State: d.State, CreatedAt: timeVal(d.CreatedAt),
		CurrentSince: timeVal(d.CurrentSince), CurrentUntil: timeVal(d.CurrentUntil), RevokedAt: timeVal(d.RevokedAt),
	}
}

func (s *Store) CreateSigningKey(ctx context.Context, k storage.SigningKey) error {
	d := newSigningKeyDoc(k)
	d.Seq, d.Version = bson.NewObjectID(), 1
	_, err := s.signingKeys.InsertOne(ctx, d)
	return dbError(fmt.Sprintf("create signing key %q", k.KID), err)
}

// ListSigningKeys returns every key, newest first; keys created in the same millisecond
// come in reverse insertion order.
func (s *Store) ListSigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	const op = "list signing keys"
	cur, err := s.signingKeys.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}, {Key: "seq", Value: -1}}))
	if err != nil {
		return nil, dbError(op, err)
	}
	return collect(ctx, op, cur, func(raw bson.Raw) (storage.SigningKey, error) {
		var d signingKeyDoc
		if err := bson.Unmarshal(raw, &d); err != nil {
			return storage.SigningKey{}, dbError(op, err)
		}
		return d.key(), nil
	})
}

// UpdateSigningKey is a compare-and-swap on the key's version (see casUpdate); making it
// current while another key is collides on current_slot's unique index.
func (s *Store) UpdateSigningKey(ctx context.Context, kid string, update func(storage.SigningKey) (storage.SigningKey, error)) (storage.SigningKey, error) {
	op := fmt.Sprintf("update signing key %q", kid)
	var out storage.SigningKey
	err := s.casUpdate(ctx, s.signingKeys, op, kid, nil, func(raw bson.Raw) (bson.D, []string, error) {
		var old signingKeyDoc
		if err := bson.Unmarshal(raw, &old); err != nil {
			return nil, nil, dbError(op, err)
		}
		nk, err := update(old.key())
		if err != nil {
			return nil, nil, err
		}
		nk.KID = kid
		d := newSigningKeyDoc(nk)
		d.Seq = old.Seq
		out = d.key()
		return fields(d, signingKeyTimes...)
	})
	if err != nil {
		return storage.SigningKey{}, err
	}
	return out, nil
}
