package userquery

import (
	"fmt"
	"slices"
	"strings"
)

// Type is the kind of values a field holds.
type Type int

const (
	Text Type = iota
	Integer
	Boolean
	Date
	Metadata // any JSON value below user_metadata or app_metadata
)

// Metadata roots.
const (
	UserMetadata = "user_metadata"
	AppMetadata  = "app_metadata"
)

// Field is a searchable field: a root field of the profile (Name, no Path), or a path
// below user_metadata or app_metadata (Name is the root, Path the keys below it). A
// metadata root without a path only occurs in Exists.
type Field struct {
	Name string
	Path []string
}

// rootField describes a profile field. "Has a value" (Exists) means: for text, a non-empty
// string; for dates, a set instant; email_verified when the user has an email,
// phone_verified when the user has a phone number; logins_count and blocked always. A Term
// on a field matches only users that have it (email_verified:false leaves out users without
// an email), as the profile JSON would not carry the property for them.
type rootField struct {
	typ             Type
	caseInsensitive bool
}

// rootFields are the searchable profile fields (AUTH0-COMPAT §5.4, Auth0's "searchable
// fields" and the normalized profile). Derived ones: email.domain is what follows the last
// "@" of the email; identities.connection is the user's connection, identities.provider
// the part of user_id before "|", identities.user_id the part after it.
var rootFields = map[string]rootField{
	"user_id":               {Text, false},
	"email":                 {Text, true},
	"email.domain":          {Text, true},
	"username":              {Text, true}, // stored lower-cased: a mixed-case value could never match
	"name":                  {Text, true},
	"nickname":              {Text, true},
	"given_name":            {Text, true},
	"family_name":           {Text, true},
	"phone_number":          {Text, false},
	"picture":               {Text, false},
	"last_ip":               {Text, false},
	"identities.connection": {Text, false},
	"identities.provider":   {Text, false},
	"identities.user_id":    {Text, false},
	"email_verified":        {Boolean, false},
	"phone_verified":        {Boolean, false},
	"blocked":               {Boolean, false},
	"logins_count":          {Integer, false},
	"created_at":            {Date, false},
	"updated_at":            {Date, false},
	"last_login":            {Date, false},
	"last_password_reset":   {Date, false},
}

// DefaultFields are the fields a value without a field name is compared with: the text
// fields that name a user. Auth0 does not document its list; it only says metadata is not
// among them.
var DefaultFields = []string{
	"user_id", "email", "username", "name", "nickname", "given_name", "family_name", "phone_number",
}

// RootFields lists the searchable profile fields, sorted.
func RootFields() []string {
	out := make([]string, 0, len(rootFields))
	for k := range rootFields {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// IsMetadata reports whether the field is (below) user_metadata or app_metadata.
func (f Field) IsMetadata() bool { return f.Name == UserMetadata || f.Name == AppMetadata }

// Type is the type of the field's values.
func (f Field) Type() Type {
	if f.IsMetadata() {
		return Metadata
	}
	return rootFields[f.Name].typ
}

// CaseInsensitive reports whether values of the field compare lower-cased: email, the
// names, username (Auth0: "email, name, given_name, family_name, and nickname"; everything
// else, metadata included, is case-sensitive).
func (f Field) CaseInsensitive() bool { return !f.IsMetadata() && rootFields[f.Name].caseInsensitive }

// Key is the field's dotted name: "email", "user_metadata.prefs.fontSize". Metadata keys
// cannot contain "." (AUTH0-COMPAT §1.2), so the key is unambiguous.
func (f Field) Key() string {
	if len(f.Path) == 0 {
		return f.Name
	}
	return f.Name + "." + strings.Join(f.Path, ".")
}

// String renders the field as the query syntax writes it.
func (f Field) String() string {
	if len(f.Path) == 0 {
		return f.Name
	}
	parts := make([]string, len(f.Path))
	for i, p := range f.Path {
		parts[i] = escapeWord(p)
	}
	return f.Name + "." + strings.Join(parts, ".")
}

// resolveField turns a field name as written into a Field, or says why it cannot be
// searched.
func resolveField(name string) (Field, error) {
	if _, ok := rootFields[name]; ok {
		return Field{Name: name}, nil
	}
	for _, root := range []string{UserMetadata, AppMetadata} {
		if name == root {
			return Field{Name: root}, nil
		}
		rest, ok := strings.CutPrefix(name, root+".")
		if !ok {
			continue
		}
		path := strings.Split(rest, ".")
		if len(path) > MaxPathSegments {
			return Field{}, fmt.Errorf("metadata path %q is deeper than %d keys", clip(name), MaxPathSegments)
		}
		for _, seg := range path {
			if seg == "" {
				return Field{}, fmt.Errorf("metadata path %q has an empty key", clip(name))
			}
			if strings.Contains(seg, "$") {
				return Field{}, fmt.Errorf("metadata path %q: keys cannot contain '$'", clip(name))
			}
		}
		return Field{Name: root, Path: path}, nil
	}
	switch {
	case name == "connection":
		return Field{}, fmt.Errorf("field \"connection\" is not supported in search v3; use identities.connection")
	case name == "organization_id":
		return Field{}, fmt.Errorf("field \"organization_id\" cannot be searched: latch has no organizations")
	case strings.HasSuffix(name, ".raw"):
		return Field{}, fmt.Errorf("field %q: the .raw suffix of search v2 is not supported; v3 matches whole values", clip(name))
	}
	return Field{}, fmt.Errorf("unknown field %q; searchable: %s, user_metadata.*, app_metadata.*",
		clip(name), strings.Join(RootFields(), ", "))
}

// clip shortens what the caller wrote before it is echoed in an error.
func clip(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64]) + "..."
	}
	return s
}
