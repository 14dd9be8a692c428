package storage

import (
	"fmt"
	"slices"
	"strings"
)

// User search (Users.SearchUsers) takes a query tree from storage/userquery: the fields,
// the values and what each node means are documented there, and the Search group of
// storagetest pins the results down for every backend. Its contract, beyond that:
//   - a nil query matches every user;
//   - the total is the number of users the query matches, whatever the page;
//   - users come in the order of the UserSort, ties broken by created_at then user id in
//     the same direction (the zero UserSort is created_at ascending); text sorts byte-wise
//     on the stored value (email and username are stored lower-cased); a user without a
//     value for the field (last_login before the first login, an empty name) sorts lower
//     than any value, so first in ascending order and last in descending order;
//   - a search sees a consistent snapshot: the page and the total agree.

// UserSort orders search results: Field is one of UserSortFields, or "" for the default
// order (created_at ascending).
type UserSort struct {
	Field string
	Desc  bool
}

// UserSortFields are the fields users can be sorted by (Auth0 sorts by profile fields,
// never by metadata).
var UserSortFields = []string{
	"user_id", "email", "username", "name", "nickname", "given_name", "family_name",
	"created_at", "updated_at", "last_login", "logins_count",
}

// ParseUserSort reads the `sort` parameter of GET /api/v2/users: "field:1" for ascending,
// "field:-1" for descending. An empty string is the default order.
func ParseUserSort(s string) (UserSort, error) {
	if s == "" {
		return UserSort{}, nil
	}
	field, dir, ok := strings.Cut(s, ":")
	if !ok || (dir != "1" && dir != "-1") {
		return UserSort{}, fmt.Errorf("sort must be field:1 (ascending) or field:-1 (descending)")
	}
	if !slices.Contains(UserSortFields, field) {
		return UserSort{}, fmt.Errorf("users cannot be sorted by %q; sortable: %s", clipName(field), strings.Join(UserSortFields, ", "))
	}
	return UserSort{Field: field, Desc: dir == "-1"}, nil
}

func clipName(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:64]) + "..."
	}
	return s
}
