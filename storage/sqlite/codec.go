package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/latchauth/latch/storage"
)

// Times are INTEGER unix milliseconds, NULL for the zero time: 0 would be 1970, a real
// instant, and the zero time must come back as zero.
func timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return storage.Time(t).UnixMilli()
}

func timeCol(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

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

// decodeMetadata goes through storage.DecodeMetadata so that numbers come back as the
// json.Number text that was stored.
func decodeMetadata(s string) (storage.Metadata, error) {
	m, err := storage.DecodeMetadata([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode metadata: %w", err)
	}
	if m == nil {
		m = storage.Metadata{}
	}
	return m, nil
}

// normalMetadata returns m as a read would return it, so that what an update returns is
// equal to what the next read returns (a float64 the caller put in comes back as a
// json.Number) and shares nothing with the caller's value.
func normalMetadata(m storage.Metadata) (string, storage.Metadata, error) {
	text, err := encodeMetadata(m)
	if err != nil {
		return "", nil, err
	}
	out, err := decodeMetadata(text)
	return text, out, err
}

// Lists are JSON text; nil is stored as [] so that readers get an empty list, not null.
func encodeList(l []string) string {
	if l == nil {
		return "[]"
	}
	b, _ := json.Marshal(l) // strings always encode
	return string(b)
}

func decodeList(s string) ([]string, error) {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("decode list: %w", err)
	}
	if l == nil {
		l = []string{}
	}
	return l, nil
}

func encodeStringMap(m map[string]string) string {
	if m == nil {
		return "{}"
	}
	b, _ := json.Marshal(m) // strings always encode
	return string(b)
}

func decodeStringMap(s string) (map[string]string, error) {
	m := map[string]string{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode map: %w", err)
	}
	return m, nil
}
