package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Metadata is a user_metadata or app_metadata object. Values are what encoding/json
// produces with UseNumber: numbers stay json.Number so that integers round-trip exactly
// (1000000 never becomes 1e+06), objects are map[string]any, arrays []any.
type Metadata map[string]any

// DecodeMetadata parses a JSON object, keeping numbers exact. null decodes to nil.
func DecodeMetadata(data []byte) (Metadata, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m Metadata
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("metadata: trailing data after the object")
	}
	return m, nil
}

// MergeMetadata applies patch to old the way Auth0's Management API does (AUTH0-COMPAT
// §5.4) and returns a new object, leaving both arguments untouched:
//   - an empty patch ({}) removes all metadata;
//   - otherwise each top-level key of patch replaces that key entirely (nested objects are
//     replaced, not merged), and a key whose value is null is deleted.
func MergeMetadata(old, patch Metadata) Metadata {
	if len(patch) == 0 {
		return Metadata{}
	}
	out := old.Clone()
	for k, v := range patch {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = cloneValue(v)
	}
	return out
}

// Clone returns a deep copy; a nil Metadata clones to an empty one.
func (m Metadata) Clone() Metadata {
	out := make(Metadata, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(t))
		for k, e := range t {
			c[k] = cloneValue(e)
		}
		return c
	case Metadata:
		return map[string]any(t.Clone())
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = cloneValue(e)
		}
		return c
	default:
		return v
	}
}

// ErrInvalidMetadata is returned by the metadata checks; it is wrapped with the reason.
var ErrInvalidMetadata = errors.New("invalid metadata")

// CheckMetadataKeys refuses keys, at any depth, that contain "." or "$" (AUTH0-COMPAT §1.2):
// they cannot be stored or searched.
func CheckMetadataKeys(m Metadata) error {
	return checkKeys(map[string]any(m), "")
}

func checkKeys(v any, path string) error {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if strings.ContainsAny(k, ".$") {
				return fmt.Errorf("%w: key %q%s must not contain '.' or '$'", ErrInvalidMetadata, k, where(path))
			}
			if err := checkKeys(e, join(path, k)); err != nil {
				return err
			}
		}
	case Metadata:
		return checkKeys(map[string]any(t), path)
	case []any:
		for i, e := range t {
			if err := checkKeys(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "/" + k
}

func where(path string) string {
	if path == "" {
		return ""
	}
	return " (in " + path + ")"
}

// ReservedAppMetadataKeys may not be used at the top level of app_metadata (AUTH0-COMPAT §1.2).
var ReservedAppMetadataKeys = []string{
	"__tenant", "_id", "blocked", "clientID", "created_at", "email_verified", "email",
	"globalClientID", "global_client_id", "identities", "lastIP", "lastLogin", "loginsCount",
	"metadata", "multifactor_last_modified", "multifactor", "updated_at", "user_id",
}

// CheckAppMetadata refuses reserved top-level keys and keys with "." or "$".
func CheckAppMetadata(m Metadata) error {
	for _, r := range ReservedAppMetadataKeys {
		if _, ok := m[r]; ok {
			return fmt.Errorf("%w: %q is a reserved app_metadata key", ErrInvalidMetadata, r)
		}
	}
	return CheckMetadataKeys(m)
}
