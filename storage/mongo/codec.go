package mongo

import (
	"encoding/json"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/latchauth/latch/storage"
)

// Times are BSON dates (milliseconds, like storage.Time), and absent for the zero time: a
// date of 0 would be 1970, a real instant. Absent sorts below every date, as the zero time
// must (storage/search.go).
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = storage.Time(t)
	return &t
}

func timeVal(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return p.UTC()
}

// msCeil is t rounded up to the millisecond: stored dates are whole milliseconds, so
// "before t" is "before t rounded up", as in the other backends.
func msCeil(t time.Time) time.Time {
	ms := t.Truncate(time.Millisecond)
	if t.After(ms) {
		ms = ms.Add(time.Millisecond)
	}
	return ms.UTC()
}

// Metadata (user_metadata, app_metadata, grant claims, event details) is stored as its JSON
// text, as the API wrote it: BSON cannot hold every key JSON can (NUL bytes; servers refuse
// keys with "." or starting with "$"), and text keeps every number's digits. Search reads
// a typed copy of its values instead (see search.go).

// encodeMetadata stores nil as {} so that reads never return nil metadata.
func encodeMetadata(m storage.Metadata) (string, error) {
	if m == nil {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("encode metadata: %w", err)
	}
	return string(b), nil
}

// decodeMetadata keeps numbers as the json.Number text that was stored.
func decodeMetadata(s string) (storage.Metadata, error) {
	if s == "" {
		return storage.Metadata{}, nil
	}
	m, err := storage.DecodeMetadata([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	if m == nil {
		m = storage.Metadata{}
	}
	return m, nil
}

// normalMetadata returns m's text and m as a read would return it, so that what a write
// returns equals what the next read returns and shares nothing with the caller's value.
func normalMetadata(m storage.Metadata) (string, storage.Metadata, error) {
	text, err := encodeMetadata(m)
	if err != nil {
		return "", nil, err
	}
	out, err := decodeMetadata(text)
	return text, out, err
}

// list returns a copy of l, empty for nil: stored lists are arrays, never null, and what
// the store returns shares nothing with what it was given.
func list(l []string) []string { return append([]string{}, l...) }

// stringMapText stores a map[string]string as JSON text, for the same reason as metadata:
// its keys are the user's.
func stringMapText(m map[string]string) string {
	if m == nil {
		return "{}"
	}
	b, _ := json.Marshal(m) // strings always encode
	return string(b)
}

func decodeStringMap(s string) (map[string]string, error) {
	m := map[string]string{}
	if s == "" {
		return m, nil
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode map: %w", err)
	}
	return m, nil
}

// fields turns a document struct into the $set and $unset of an update: every field the
// struct marshals but _id, and the optional fields it leaves out (zero times).
func fields(doc any, optional ...string) (bson.D, []string, error) {
	raw, err := bson.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	elems, err := bson.Raw(raw).Elements()
	if err != nil {
		return nil, nil, err
	}
	set := make(bson.D, 0, len(elems))
	present := make(map[string]bool, len(elems))
	for _, e := range elems {
		k := e.Key()
		present[k] = true
		if k != "_id" && k != "version" {
			set = append(set, bson.E{Key: k, Value: e.Value()})
		}
	}
	var unset []string
	for _, f := range optional {
		if !present[f] {
			unset = append(unset, f)
		}
	}
	return set, unset, nil
}
