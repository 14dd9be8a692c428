package mongo

// User search: the userquery tree becomes a BSON filter. The filter's field paths come from
// the fixed tables below, or, for metadata, from the query's validated path run through
// metaKey; the user's values go only into operands ($eq, $in, ranges, and $regex patterns
// built with regexp.QuoteMeta), never into a key. Nothing is built from text.
//
// What the profile fields cannot answer is kept in each user's document, under "q",
// rewritten with every write of the user:
//   - the lower-cased names (name, nickname, given_name, family_name; absent when empty),
//     the email's domain, and the two halves of the user id;
//   - every scalar of the metadata, under its dotted path with array levels left out
//     (user_metadata.addresses.city for {"addresses": [{"city": "Paris"}]}), typed: q.m holds
//     one entry per path, {s: strings, n: numbers, b: booleans}, each a single value or,
//     when the path holds several, an array of them;
//   - q.p, every path (and every prefix of one) that holds a scalar: what _exists_ asks.
//
// A path is a key of q.m after metaKey: metadata keys with "." or "$" are left out (they
// cannot be named in a query, AUTH0-COMPAT §1.2), so the key holds neither; "/" joins the
// segments and "%", "/" and NUL within a segment are escaped.
//
// Any-element semantics (a filter on an array matches when one element does) give the
// right answer for every comparison but a range with two bounds, which must hold for one
// and the same value: a path with values 1 and 5 is not in [2 TO 3]. Such a range is
// answered directly for users with a single value there, and for users with several by
// reading those values (see rangeCandidates).

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/userquery"
)

// searchDoc is the "q" of a user document.
type searchDoc struct {
	Name        string `bson:"name,omitempty"`
	Nickname    string `bson:"nickname,omitempty"`
	GivenName   string `bson:"given_name,omitempty"`
	FamilyName  string `bson:"family_name,omitempty"`
	EmailDomain string `bson:"email_domain"`
	Provider    string `bson:"provider"`
	LocalID     string `bson:"local_id"`
	// Meta maps metaKey(path) to the path's values.
	Meta map[string]metaValues `bson:"m"`
	// Paths lists the paths that hold a scalar, and their prefixes.
	Paths []string `bson:"p"`
}

// metaValues are the values of one metadata path by type: nil (absent), one value, or an
// array of two or more.
type metaValues struct {
	S any `bson:"s,omitempty"`
	N any `bson:"n,omitempty"`
	B any `bson:"b,omitempty"`
}

func newSearchDoc(u storage.User) *searchDoc {
	d := &searchDoc{
		Name: strings.ToLower(u.Name), Nickname: strings.ToLower(u.Nickname),
		GivenName: strings.ToLower(u.GivenName), FamilyName: strings.ToLower(u.FamilyName),
		Provider: u.Provider(), LocalID: u.LocalID(),
	}
	if i := strings.LastIndexByte(u.Email, '@'); i >= 0 {
		d.EmailDomain = u.Email[i+1:]
	}
	ix := metaIndex{values: map[string]map[string][]any{}, seen: map[string]bool{}, paths: map[string]bool{}}
	ix.add([]string{userquery.UserMetadata}, map[string]any(u.UserMetadata))
	ix.add([]string{userquery.AppMetadata}, map[string]any(u.AppMetadata))
	d.Meta = make(map[string]metaValues, len(ix.values))
	for key, byKind := range ix.values {
		d.Meta[key] = metaValues{S: one(byKind["s"]), N: one(byKind["n"]), B: one(byKind["b"])}
	}
	d.Paths = make([]string, 0, len(ix.paths))
	for p := range ix.paths {
		d.Paths = append(d.Paths, p)
	}
	slices.Sort(d.Paths)
	return d
}

// one is nil for no value, the value for one, the list for several.
func one(vs []any) any {
	switch len(vs) {
	case 0:
		return nil
	case 1:
		return vs[0]
	}
	return vs
}

// metaIndex gathers the typed scalars of metadata, by path.
type metaIndex struct {
	values map[string]map[string][]any // metaKey -> kind -> distinct values
	seen   map[string]bool             // metaKey, kind, value: already added
	paths  map[string]bool
}

func (ix *metaIndex) add(path []string, v any) {
	switch t := v.(type) {
	case storage.Metadata:
		ix.add(path, map[string]any(t))
	case map[string]any:
		for k, e := range t {
			if k == "" || strings.ContainsAny(k, ".$") {
				continue // such keys cannot be named in a query (AUTH0-COMPAT §1.2)
			}
			ix.add(append(slices.Clip(path), k), e)
		}
	case []any:
		for _, e := range t {
			ix.add(path, e) // arrays are flattened: the path skips them
		}
	case string:
		ix.put(path, "s", t)
	case bool:
		ix.put(path, "b", t)
	case json.Number:
		if n, ok := userquery.ParseNumber(string(t)); ok {
			ix.put(path, "n", n.Value())
		}
	case float64:
		ix.put(path, "n", t)
	}
	// null, and anything else, is not indexed (Auth0: "Metadata fields that contain an
	// empty array, empty object, or null value are not indexed").
}

func (ix *metaIndex) put(path []string, kind string, v any) {
	key := metaKey(path)
	// 5 and 5.0 are one number.
	id := v
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		id = int64(f)
	}
	seen := fmt.Sprintf("%s\x00%s\x00%v", key, kind, id)
	if ix.seen[seen] {
		return
	}
	ix.seen[seen] = true
	if ix.values[key] == nil {
		ix.values[key] = map[string][]any{}
	}
	ix.values[key][kind] = append(ix.values[key][kind], v)
	for i := range path {
		ix.paths[strings.Join(path[:i+1], ".")] = true
	}
}

var metaKeyEscaper = strings.NewReplacer("%", "%25", "/", "%2F", "\x00", "%00")

// metaKey is the key of a metadata path in q.m: the segments, escaped, joined by "/". The
// segments hold no "." and no "$" (see checkPath), so neither does the key.
func metaKey(path []string) string {
	parts := make([]string, len(path))
	for i, p := range path {
		parts[i] = metaKeyEscaper.Replace(p)
	}
	return strings.Join(parts, "/")
}

// checkPath refuses a metadata path that could not have come from userquery.Parse: one
// that names no key, or a key that is empty or holds "." or "$" (such keys are never
// indexed, and would otherwise read as a path or an operator).
func checkPath(f userquery.Field) error {
	for _, seg := range f.Path {
		if seg == "" || strings.ContainsAny(seg, ".$") {
			return fmt.Errorf("metadata key %q cannot be searched", seg)
		}
	}
	return nil
}

// metaField is the path of one type of values of a metadata field in the user document.
func metaField(f userquery.Field, kind string) string {
	return "q.m." + metaKey(append([]string{f.Name}, f.Path...)) + "." + kind
}

// rootFields maps the profile fields of the query language to document fields, for terms,
// ranges and _exists_.
var rootFields = map[string]string{
	"user_id":               "_id",
	"email":                 "email",
	"email.domain":          "q.email_domain",
	"username":              "username",
	"name":                  "q.name",
	"nickname":              "q.nickname",
	"given_name":            "q.given_name",
	"family_name":           "q.family_name",
	"phone_number":          "phone_number",
	"picture":               "picture",
	"last_ip":               "last_ip",
	"identities.connection": "connection",
	"identities.provider":   "q.provider",
	"identities.user_id":    "q.local_id",
	"email_verified":        "email_verified",
	"phone_verified":        "phone_verified",
	"blocked":               "blocked",
	"logins_count":          "logins_count",
	"created_at":            "created_at",
	"updated_at":            "updated_at",
	"last_login":            "last_login",
	"last_password_reset":   "last_password_reset",
}

// presence is the condition under which a user has the field, for the fields whose value
// alone does not say it (AUTH0-COMPAT §5.4): nil is "always".
var presence = map[string]bson.D{
	"email_verified": {{Key: "email", Value: bson.D{{Key: "$gt", Value: ""}}}},
	"phone_verified": {{Key: "phone_number", Value: bson.D{{Key: "$gt", Value: ""}}}},
	"blocked":        nil,
	"logins_count":   nil,
}

// sortFields are the document fields of storage.UserSortFields: the names sort by their
// stored value, as typed, like the other backends.
var sortFields = map[string]string{
	"user_id": "_id", "email": "email", "username": "username", "name": "name",
	"nickname": "nickname", "given_name": "given_name", "family_name": "family_name",
	"created_at": "created_at", "updated_at": "updated_at", "last_login": "last_login",
	"logins_count": "logins_count",
}

// sortSpec is the field, then created_at and id, all in the sort's direction. Absent
// values (no last_login) sort below every value, as the contract wants.
func sortSpec(s storage.UserSort) (bson.D, error) {
	if s.Field == "" {
		return usersOldestFirst, nil
	}
	f, ok := sortFields[s.Field]
	if !ok {
		return nil, fmt.Errorf("mongo: users cannot be sorted by %q", s.Field)
	}
	dir := 1
	if s.Desc {
		dir = -1
	}
	switch f {
	case "_id": // unique: nothing to break ties
		return bson.D{{Key: "_id", Value: dir}}, nil
	case "created_at":
		return bson.D{{Key: "created_at", Value: dir}, {Key: "_id", Value: dir}}, nil
	}
	return bson.D{{Key: f, Value: dir}, {Key: "created_at", Value: dir}, {Key: "_id", Value: dir}}, nil
}

// SearchUsers reads the page, then counts the matches unless the page says how many there
// are (it is the last, and not empty). The two reads are not one snapshot: a user written
// in between can make the page and the total disagree by that user.
func (s *Store) SearchUsers(ctx context.Context, q userquery.Node, sort storage.UserSort, page storage.Page) ([]storage.User, int, error) {
	const op = "search users"
	if err := checkPage(page); err != nil {
		return nil, 0, err
	}
	order, err := sortSpec(sort)
	if err != nil {
		return nil, 0, err
	}
	filter := bson.D{}
	if q != nil {
		fb := filterBuilder{ctx: ctx, s: s}
		if filter, err = fb.node(q); err != nil {
			return nil, 0, fmt.Errorf("mongo: %s: %w", op, err)
		}
	}
	users, err := s.findUsers(ctx, op, filter, options.Find().SetSort(order).
		SetSkip(int64(page.Offset())).SetLimit(int64(page.PerPage)))
	if err != nil {
		return nil, 0, err
	}
	total, err := pageTotal(ctx, s.users, filter, page, len(users))
	if err != nil {
		return nil, 0, dbError(op, err)
	}
	return users, total, nil
}

// pageTotal is the number of documents filter matches, given that a page of them held n:
// a page that is neither full nor empty is the last, and says it without a count.
func pageTotal(ctx context.Context, coll *mongo.Collection, filter bson.D, page storage.Page, n int) (int, error) {
	if n > 0 && n < page.PerPage {
		return page.Offset() + n, nil
	}
	total, err := coll.CountDocuments(ctx, filter)
	return int(total), err
}

// filterBuilder turns a query tree into a filter. Every filter it returns matches a user
// or not (no three-valued logic), so that NOT is a set complement.
type filterBuilder struct {
	ctx context.Context
	s   *Store
}

// matchAll is the empty filter; $nor of it matches nothing.
var matchAll = bson.D{}

func (b *filterBuilder) node(n userquery.Node) (bson.D, error) {
	switch n := n.(type) {
	case *userquery.And:
		return b.list("$and", n.Nodes)
	case *userquery.Or:
		return b.list("$or", n.Nodes)
	case *userquery.Not:
		f, err := b.node(n.Node)
		if err != nil {
			return nil, err
		}
		return bson.D{{Key: "$nor", Value: bson.A{f}}}, nil
	case *userquery.Term:
		return b.term(n)
	case *userquery.Range:
		return b.rangeNode(n)
	case *userquery.Exists:
		return b.exists(n.Field)
	}
	return nil, fmt.Errorf("unknown query node %T", n)
}

func (b *filterBuilder) list(op string, nodes []userquery.Node) (bson.D, error) {
	fs := make(bson.A, len(nodes))
	for i, n := range nodes {
		f, err := b.node(n)
		if err != nil {
			return nil, err
		}
		fs[i] = f
	}
	return bson.D{{Key: op, Value: fs}}, nil
}

func rootField(f userquery.Field) (string, error) {
	field, ok := rootFields[f.Name]
	if !ok || len(f.Path) > 0 {
		return "", fmt.Errorf("field %q cannot be searched", f.Key())
	}
	return field, nil
}

func eq(field string, v any) bson.D { return bson.D{{Key: field, Value: v}} }

func (b *filterBuilder) term(t *userquery.Term) (bson.D, error) {
	f := t.Field
	if f.IsMetadata() {
		return b.metadataTerm(t)
	}
	field, err := rootField(f)
	if err != nil {
		return nil, err
	}
	switch f.Type() {
	case userquery.Boolean:
		cond := eq(field, t.Value == "true")
		if p := presence[f.Name]; p != nil {
			cond = append(slices.Clone(p), cond...)
		}
		return cond, nil
	case userquery.Integer:
		n, ok := userquery.ParseNumber(t.Value)
		if !ok || !n.IsInt {
			return nil, fmt.Errorf("%s: %q is not an integer", f.Name, t.Value)
		}
		return eq(field, n.Int), nil
	case userquery.Text:
		return textMatch(field, t), nil
	}
	return nil, fmt.Errorf("%s: no term on a %v field", f.Name, f.Type())
}

// textMatch compares a string field with a term. Values are never empty, so a match
// implies the user has the field.
func textMatch(field string, t *userquery.Term) bson.D {
	switch t.Kind {
	case userquery.Prefix:
		return regexMatch(field, "^"+quoteRegex(t.Value))
	case userquery.Wildcard:
		parts := make([]string, len(t.Parts))
		for i, p := range t.Parts {
			parts[i] = quoteRegex(p)
		}
		// [\s\S] is any character, newlines included, in Go's RE2 and in PCRE alike; \z is
		// the very end (PCRE's $ would also match before a final newline).
		return regexMatch(field, "^"+strings.Join(parts, `[\s\S]*`)+`\z`)
	}
	return eq(field, t.Value)
}

func regexMatch(field, pattern string) bson.D {
	return bson.D{{Key: field, Value: bson.D{{Key: "$regex", Value: pattern}}}}
}

// quoteRegex makes s a literal in a pattern. A BSON regex is a C string, so NUL becomes the
// escape \x00, which both RE2 and PCRE read as NUL.
func quoteRegex(s string) string {
	return strings.ReplaceAll(regexp.QuoteMeta(s), "\x00", `\x00`)
}

// metadataTerm: a text value equals a string; it also equals a number or a boolean when it
// reads as one (user_metadata.fontSize:13 finds 13 and "13").
func (b *filterBuilder) metadataTerm(t *userquery.Term) (bson.D, error) {
	f := t.Field
	if err := checkPath(f); err != nil {
		return nil, err
	}
	if len(f.Path) == 0 {
		return nil, fmt.Errorf("%s: a term needs a key below it", f.Name)
	}
	if t.Kind != userquery.Exact {
		return textMatch(metaField(f, "s"), t), nil
	}
	alts := bson.A{eq(metaField(f, "s"), t.Value)}
	if n, ok := userquery.ParseNumber(t.Value); ok {
		alts = append(alts, eq(metaField(f, "n"), n.Value()))
	}
	if t.Value == "true" || t.Value == "false" {
		alts = append(alts, eq(metaField(f, "b"), t.Value == "true"))
	}
	if len(alts) == 1 {
		return alts[0].(bson.D), nil
	}
	return bson.D{{Key: "$or", Value: alts}}, nil
}

// bounds is the operator document of a range's bounds (at least one is set).
func bounds(r *userquery.Range, value func(*userquery.Bound) (any, error)) (bson.D, error) {
	ops := bson.D{}
	for _, x := range []struct {
		bound    *userquery.Bound
		incl, ex string
	}{{r.Lo, "$gte", "$gt"}, {r.Hi, "$lte", "$lt"}} {
		if x.bound == nil {
			continue
		}
		v, err := value(x.bound)
		if err != nil {
			return nil, err
		}
		op := x.ex
		if x.bound.Inclusive {
			op = x.incl
		}
		ops = append(ops, bson.E{Key: op, Value: v})
	}
	return ops, nil
}

func textBound(b *userquery.Bound) (any, error) { return b.Value, nil }

func (b *filterBuilder) rangeNode(r *userquery.Range) (bson.D, error) {
	f := r.Field
	if f.IsMetadata() {
		return b.metadataRange(r)
	}
	field, err := rootField(f)
	if err != nil {
		return nil, err
	}
	var ops bson.D
	switch f.Type() {
	case userquery.Integer:
		ops, err = bounds(r, func(x *userquery.Bound) (any, error) {
			n, ok := userquery.ParseNumber(x.Value)
			if !ok || !n.IsInt {
				return nil, fmt.Errorf("%s: %q is not an integer", f.Name, x.Value)
			}
			return n.Int, nil
		})
	case userquery.Date:
		// An absent date is in no range: it is not a date, and comparisons only match
		// values of their own type.
		ops, err = bounds(r, func(x *userquery.Bound) (any, error) { return x.Time, nil })
	case userquery.Text:
		// A user without the field (an empty string) is in no range.
		ops, err = bounds(r, textBound)
		ops = append(bson.D{{Key: "$gt", Value: ""}}, ops...)
	default:
		return nil, fmt.Errorf("%s: no range on a %v field", f.Name, f.Type())
	}
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return b.exists(f)
	}
	return bson.D{{Key: field, Value: ops}}, nil
}

// metadataRange compares numbers when the range is numeric, strings otherwise.
func (b *filterBuilder) metadataRange(r *userquery.Range) (bson.D, error) {
	f := r.Field
	if err := checkPath(f); err != nil {
		return nil, err
	}
	if len(f.Path) == 0 {
		return nil, fmt.Errorf("%s: a range needs a key below it", f.Name)
	}
	kind, value := "s", textBound
	if r.Numeric {
		kind = "n"
		value = func(x *userquery.Bound) (any, error) {
			n, ok := userquery.ParseNumber(x.Value)
			if !ok {
				return nil, fmt.Errorf("%s: %q is not a number", f.Key(), x.Value)
			}
			return n.Value(), nil
		}
	}
	ops, err := bounds(r, value)
	if err != nil {
		return nil, err
	}
	field := metaField(f, kind)
	if len(ops) < 2 {
		// One bound: some value beyond it is all it takes, which is what a comparison
		// with an array asks.
		return bson.D{{Key: field, Value: ops}}, nil
	}
	single := bson.D{{Key: field, Value: ops}, {Key: field + ".1", Value: bson.D{{Key: "$exists", Value: false}}}}
	ids, err := b.rangeCandidates(field, ops)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return single, nil
	}
	return bson.D{{Key: "$or", Value: bson.A{single, eq("_id", bson.D{{Key: "$in", Value: ids}})}}}, nil
}

// rangeCandidates finds the users that hold several values at field and one of them
// within ops: it reads those values and compares them here, since a filter on an array
// would take each bound from a different value. Few users hold several values at a path a
// range is asked of; those that do are read with that field alone.
func (b *filterBuilder) rangeCandidates(field string, ops bson.D) (bson.A, error) {
	cur, err := b.s.users.Find(b.ctx,
		bson.D{{Key: field + ".1", Value: bson.D{{Key: "$exists", Value: true}}}},
		options.Find().SetProjection(bson.D{{Key: field, Value: 1}}))
	if err != nil {
		return nil, dbError("search users", err)
	}
	defer cur.Close(b.ctx)
	path := strings.Split(field, ".")
	ids := bson.A{}
	for cur.Next(b.ctx) {
		vals, ok := cur.Current.Lookup(path...).ArrayOK()
		if !ok {
			continue
		}
		elems, err := vals.Values()
		if err != nil {
			return nil, dbError("search users", err)
		}
		if slices.ContainsFunc(elems, func(v bson.RawValue) bool { return inRange(v, ops) }) {
			ids = append(ids, cur.Current.Lookup("_id"))
		}
	}
	if err := cur.Err(); err != nil {
		return nil, dbError("search users", err)
	}
	return ids, nil
}

// inRange compares a stored value with a range's operators as the server would: numbers
// with numbers, strings byte-wise with strings, anything else never.
func inRange(v bson.RawValue, ops bson.D) bool {
	for _, op := range ops {
		c, ok := compareBSON(v, op.Value)
		if !ok {
			return false
		}
		switch op.Key {
		case "$gt":
			ok = c > 0
		case "$gte":
			ok = c >= 0
		case "$lt":
			ok = c < 0
		case "$lte":
			ok = c <= 0
		}
		if !ok {
			return false
		}
	}
	return true
}

func compareBSON(v bson.RawValue, bound any) (int, bool) {
	switch bnd := bound.(type) {
	case string:
		s, ok := v.StringValueOK()
		if !ok {
			return 0, false
		}
		return strings.Compare(s, bnd), true
	case int64:
		if i, ok := v.AsInt64OK(); ok && v.Type != bson.TypeDouble {
			return cmpOrdered(i, bnd), true
		}
		if f, ok := v.AsFloat64OK(); ok {
			return cmpOrdered(f, float64(bnd)), true
		}
	case float64:
		if f, ok := v.AsFloat64OK(); ok {
			return cmpOrdered(f, bnd), true
		}
	}
	return 0, false
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (b *filterBuilder) exists(f userquery.Field) (bson.D, error) {
	if f.IsMetadata() {
		if err := checkPath(f); err != nil {
			return nil, err
		}
		return eq("q.p", f.Key()), nil
	}
	field, err := rootField(f)
	if err != nil {
		return nil, err
	}
	if p, ok := presence[f.Name]; ok {
		if p == nil {
			return matchAll, nil
		}
		return p, nil
	}
	switch f.Type() {
	case userquery.Date:
		return bson.D{{Key: field, Value: bson.D{{Key: "$exists", Value: true}}}}, nil
	case userquery.Text:
		return bson.D{{Key: field, Value: bson.D{{Key: "$gt", Value: ""}}}}, nil
	}
	return nil, fmt.Errorf("%s: no existence test for a %v field", f.Name, f.Type())
}
