package sqlite

// User search: the userquery tree becomes a WHERE clause over users, every value a bound
// parameter; column names and operators come from the tables below, never from the query.
//
// Most fields are columns (email and username are stored lower-cased, so they compare as
// they are). What a column cannot answer with an index lives in user_search, one row per
// (field, kind, value, user): the lower-cased names (name, nickname, given_name,
// family_name) and every scalar of the metadata under its dotted path, array levels left out
// (user_metadata.addresses.city for {"addresses": [{"city": "Paris"}]}). Metadata values
// keep their JSON type in kind ('s' string, 'n' number, 'b' boolean as 0/1), so that 13
// and "13" are told apart where it matters (ranges) and both match where it does not
// (a term). The rows are rewritten with the user, in the same transaction.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/userquery"
)

// emailDomain is what follows the last "@" of the email (empty without one). The expression is
// the one indexed by users_email_domain (migration 6): keep them identical, or the index
// stops being used. rtrim strips every character but "@" from the right, so its length is
// the position of the last "@".
const emailDomain = `(CASE WHEN instr(email, '@') > 0 THEN substr(email, length(rtrim(email, replace(email, '@', ''))) + 1) ELSE '' END)`

// columns maps root fields to the SQL that reads them.
var columns = map[string]string{
	"user_id":               "id",
	"email":                 "email",
	"email.domain":          emailDomain,
	"username":              "username",
	"name":                  "name",
	"nickname":              "nickname",
	"given_name":            "given_name",
	"family_name":           "family_name",
	"phone_number":          "phone_number",
	"picture":               "picture",
	"last_ip":               "last_ip",
	"identities.connection": "connection",
	"identities.provider":   `(CASE WHEN instr(id, '|') > 0 THEN substr(id, 1, instr(id, '|') - 1) ELSE id END)`,
	"identities.user_id":    `(CASE WHEN instr(id, '|') > 0 THEN substr(id, instr(id, '|') + 1) ELSE id END)`,
	"email_verified":        "email_verified",
	"phone_verified":        "phone_verified",
	"blocked":               "blocked",
	"logins_count":          "logins_count",
	"created_at":            "created_at",
	"updated_at":            "updated_at",
	"last_login":            "last_login",
	"last_password_reset":   "last_password_reset",
}

// foldedNames are the case-insensitive fields stored as typed: their terms and ranges go
// through the lower-cased copy in user_search.
var foldedNames = []string{"name", "nickname", "given_name", "family_name"}

func isFoldedName(f userquery.Field) bool {
	return len(f.Path) == 0 && (f.Name == "name" || f.Name == "nickname" || f.Name == "given_name" || f.Name == "family_name")
}

// presence is the condition under which a user has the field, for the fields whose column
// alone does not say it (AUTH0-COMPAT §5.4; userquery.rootField).
var presence = map[string]string{
	"email_verified": "email <> ''",
	"phone_verified": "phone_number <> ''",
	"blocked":        "1",
	"logins_count":   "1",
}

// sortColumns are the columns of storage.UserSortFields.
var sortColumns = map[string]string{
	"user_id": "id", "email": "email", "username": "username", "name": "name",
	"nickname": "nickname", "given_name": "given_name", "family_name": "family_name",
	"created_at": "created_at", "updated_at": "updated_at", "last_login": "last_login",
	"logins_count": "logins_count",
}

// orderBy returns the ORDER BY clause of a sort: the field, then created_at and id, all in
// the sort's direction (so that created_at either way walks users_created). NULL (no
// value) sorts first ascending and last descending, as SQLite does by default.
func orderBy(s storage.UserSort) (string, error) {
	if s.Field == "" {
		return `created_at, id`, nil
	}
	col, ok := sortColumns[s.Field]
	if !ok {
		return "", fmt.Errorf("sqlite: users cannot be sorted by %q", s.Field)
	}
	dir := ""
	if s.Desc {
		dir = " DESC"
	}
	if col == "created_at" {
		return `created_at` + dir + `, id` + dir, nil
	}
	return col + dir + `, created_at` + dir + `, id` + dir, nil
}

// SearchUsers runs the query and the count in one read transaction. A query's SQL text
// depends on the query, so it is not kept in the prepared-statement cache (which holds the
// store's fixed queries for the life of the pool); only the listing without a query is.
func (s *Store) SearchUsers(ctx context.Context, q userquery.Node, sort storage.UserSort, page storage.Page) ([]storage.User, int, error) {
	const op = "search users"
	if err := checkPage(page); err != nil {
		return nil, 0, err
	}
	order, err := orderBy(sort)
	if err != nil {
		return nil, 0, err
	}
	where := func(correlated bool) (string, []any, error) {
		if q == nil {
			return "", nil, nil
		}
		w := whereBuilder{correlated: correlated}
		if err := w.node(q); err != nil {
			return "", nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		return ` WHERE ` + w.b.String(), w.args, nil
	}
	cond, args, err := where(false)
	if err != nil {
		return nil, 0, err
	}
	count, countArgs, err := countQuery(q, cond, args)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	var (
		users []storage.User
		total int
	)
	run := func(tx runner) error {
		if err := tx.QueryRowContext(ctx, count, countArgs...).Scan(&total); err != nil {
			return err
		}
		if total == 0 || page.Offset() >= total {
			users = []storage.User{}
			return nil
		}
		from, cond, args := ` FROM users`, cond, args
		if q != nil && (sort.Field == "" || sort.Field == "created_at") {
			scan, err := scanCheaper(ctx, tx, page, total)
			if err != nil {
				return err
			}
			if scan {
				from = ` FROM users INDEXED BY users_created`
				if cond, args, err = where(true); err != nil {
					return err
				}
			}
		}
		list := `SELECT ` + userColumns + from + cond + ` ORDER BY ` + order + ` LIMIT ? OFFSET ?`
		if sort.Field != "" && sort.Field != "created_at" {
			// No index gives this order, so every match is sorted. Sort the rowids alone
			// (the keys mostly come from users_search_filter) and read the page's rows
			// after: SQLite's sorter would otherwise copy whole rows, a hundred times the
			// work over 100 000 users.
			list = `SELECT ` + userColumns + ` FROM users WHERE rowid IN (SELECT rowid` + from + cond +
				` ORDER BY ` + order + ` LIMIT ? OFFSET ?) ORDER BY ` + order
		}
		var err error
		users, err = queryUsers(ctx, tx, list, append(append([]any(nil), args...), page.PerPage, page.Offset())...)
		return err
	}
	if q == nil {
		err = s.readTx(ctx, run)
	} else {
		err = s.uncachedReadTx(ctx, run)
	}
	if err != nil {
		return nil, 0, dbError(op, err)
	}
	return users, total, nil
}

// countQuery counts the matches. When the query is, or is a conjunction with, an exact
// value of a field kept in user_search that no user can hold twice (a string that does not
// read as a number or a boolean: one row per user at most), the count starts from those
// rows and joins the users, which saves SQLite gathering them into a temporary list first.
func countQuery(q userquery.Node, cond string, args []any) (string, []any, error) {
	d, rest, ok := joinDriver(q)
	if !ok {
		return `SELECT count(*) FROM users` + cond, args, nil
	}
	w := whereBuilder{}
	w.sql(`SELECT count(*) FROM user_search AS d JOIN users ON users.id = d.user_id`+
		` WHERE d.field = ? AND d.kind = 's' AND d.value = ?`, d.Field.Key(), d.Value)
	for _, n := range rest {
		w.sql(" AND ")
		if err := w.group(n); err != nil {
			return "", nil, err
		}
	}
	return w.b.String(), w.args, nil
}

func joinDriver(q userquery.Node) (*userquery.Term, []userquery.Node, bool) {
	nodes := []userquery.Node{q}
	if a, ok := q.(*userquery.And); ok {
		nodes = a.Nodes
	}
	for i, n := range nodes {
		t, ok := n.(*userquery.Term)
		if !ok || t.Kind != userquery.Exact {
			continue
		}
		_, number := userquery.ParseNumber(t.Value)
		text := !number && t.Value != "true" && t.Value != "false"
		if isFoldedName(t.Field) || t.Field.IsMetadata() && text {
			return t, append(slices.Clone(nodes[:i]), nodes[i+1:]...), true
		}
	}
	return nil, nil, false
}

// scanCheaper decides how to find a page of matches in created_at order, once their number
// is known. SQLite would rather gather every match through the indexes of the query and
// sort them, which costs as many row reads as there are matches; walking users_created in
// order and testing each user stops at the end of the page, after about
// (offset + per_page) × users / matches reads. Choose the walk when that is fewer.
// max(rowid) stands for the number of users (an overestimate after deletes, which only
// favours SQLite's own plan).
func scanCheaper(ctx context.Context, tx runner, page storage.Page, matches int) (bool, error) {
	var n sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(rowid) FROM users`).Scan(&n); err != nil {
		return false, err
	}
	end := int64(page.Offset() + page.PerPage)
	return end*n.Int64 < int64(matches)*int64(matches), nil
}

// uncachedReadTx is readTx for one-off statements: they run on the transaction without
// being prepared on the pool.
func (s *Store) uncachedReadTx(ctx context.Context, fn func(tx runner) error) error {
	tx, err := s.r.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// whereBuilder writes a tree as SQL. Every leaf it writes is true or false, never NULL, so
// that NOT is a set complement (a user without last_login is in NOT last_login:[...]).
//
// A condition on user_search rows is written in one of two forms. Uncorrelated,
// "id IN (SELECT user_id FROM user_search WHERE ...)", SQLite can start from the matching
// rows and look the users up: the right plan to count matches or gather a few. Correlated,
// "EXISTS (SELECT 1 FROM user_search WHERE user_id = users.id AND ...)", it probes each
// user it meets: the right plan when walking users in created_at order to the end of a page
// (see scanCheaper), which the other form would make gather every match first.
type whereBuilder struct {
	b          strings.Builder
	args       []any
	correlated bool
}

// rows opens a condition on the user's user_search rows; the caller writes the conditions
// on the row, then ")".
func (w *whereBuilder) rows() {
	if w.correlated {
		w.sql("EXISTS (SELECT 1 FROM user_search WHERE user_id = users.id AND ")
	} else {
		w.sql("id IN (SELECT user_id FROM user_search WHERE ")
	}
}

// union adds another set of conditions on a row, inside rows.
func (w *whereBuilder) union() {
	if w.correlated {
		w.sql(" UNION ALL SELECT 1 FROM user_search WHERE user_id = users.id AND ")
	} else {
		w.sql(" UNION ALL SELECT user_id FROM user_search WHERE ")
	}
}

func (w *whereBuilder) sql(s string, args ...any) {
	w.b.WriteString(s)
	w.args = append(w.args, args...)
}

func (w *whereBuilder) node(n userquery.Node) error {
	switch n := n.(type) {
	case *userquery.And:
		return w.list(n.Nodes, " AND ")
	case *userquery.Or:
		return w.list(n.Nodes, " OR ")
	case *userquery.Not:
		w.sql("NOT ")
		return w.group(n.Node)
	case *userquery.Term:
		return w.term(n)
	case *userquery.Range:
		return w.rangeNode(n)
	case *userquery.Exists:
		return w.exists(n.Field)
	}
	return fmt.Errorf("unknown query node %T", n)
}

func (w *whereBuilder) group(n userquery.Node) error {
	w.sql("(")
	if err := w.node(n); err != nil {
		return err
	}
	w.sql(")")
	return nil
}

// list joins nodes with op, in balanced halves past a few, so that SQLite's expression
// depth (1000 by default) grows with the logarithm of a long OR, not with its length.
func (w *whereBuilder) list(nodes []userquery.Node, op string) error {
	if len(nodes) > 8 {
		half := len(nodes) / 2
		w.sql("(")
		if err := w.list(nodes[:half], op); err != nil {
			return err
		}
		w.sql(op)
		if err := w.list(nodes[half:], op); err != nil {
			return err
		}
		w.sql(")")
		return nil
	}
	w.sql("(")
	for i, n := range nodes {
		if i > 0 {
			w.sql(op)
		}
		if err := w.node(n); err != nil {
			return err
		}
	}
	w.sql(")")
	return nil
}

func rootColumn(f userquery.Field) (string, error) {
	col, ok := columns[f.Name]
	if !ok || len(f.Path) > 0 {
		return "", fmt.Errorf("field %q has no column", f.Key())
	}
	return col, nil
}

// prefixEnd is the least string above every string that starts with p: no valid UTF-8 holds
// the byte 0xFF, and SQLite compares text byte-wise, so [p, p+"\xff") is exactly the strings
// starting with p, and an index can serve it.
func prefixEnd(p string) string { return p + "\xff" }

// globPattern turns wildcard parts into a GLOB pattern (case-sensitive, unlike LIKE, which
// folds ASCII in SQLite) with the literal characters that GLOB treats specially bracketed.
func globPattern(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('*')
		}
		for _, r := range p {
			switch r {
			case '*', '?', '[':
				b.WriteByte('[')
				b.WriteRune(r)
				b.WriteByte(']')
			default:
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

func (w *whereBuilder) term(t *userquery.Term) error {
	f := t.Field
	if f.IsMetadata() {
		return w.metadataTerm(t)
	}
	if isFoldedName(f) {
		w.searchRows(f.Key(), "s", func(w *whereBuilder) { w.textMatch("value", t) })
		return nil
	}
	col, err := rootColumn(f)
	if err != nil {
		return err
	}
	switch f.Type() {
	case userquery.Boolean:
		w.sql("("+presence[f.Name]+" AND "+col+" = ?)", t.Value == "true")
	case userquery.Integer:
		n, ok := userquery.ParseNumber(t.Value)
		if !ok || !n.IsInt {
			return fmt.Errorf("%s: %q is not an integer", f.Name, t.Value)
		}
		w.sql(col+" = ?", n.Int)
	case userquery.Text:
		w.textMatch(col, t)
	default:
		return fmt.Errorf("%s: no term on a %v field", f.Name, f.Type())
	}
	return nil
}

// textMatch compares a text column (never NULL) with a term. Values are never empty, so a
// match implies the user has the field.
func (w *whereBuilder) textMatch(col string, t *userquery.Term) {
	switch t.Kind {
	case userquery.Prefix:
		w.sql("("+col+" >= ? AND "+col+" < ?)", t.Value, prefixEnd(t.Value))
	case userquery.Wildcard:
		w.sql(col+" GLOB ?", globPattern(t.Parts))
	default:
		w.sql(col+" = ?", t.Value)
	}
}

// searchRows writes "the user has a user_search row of this field and kind that cond
// accepts".
func (w *whereBuilder) searchRows(field, kind string, cond func(*whereBuilder)) {
	w.rows()
	w.sql("field = ? AND kind = ? AND ", field, kind)
	cond(w)
	w.sql(")")
}

// metadataTerm: a text value equals a string; it also equals a number or a boolean when it
// reads as one (user_metadata.fontSize:13 finds 13 and "13").
func (w *whereBuilder) metadataTerm(t *userquery.Term) error {
	key := t.Field.Key()
	if t.Kind != userquery.Exact {
		w.searchRows(key, "s", func(w *whereBuilder) { w.textMatch("value", t) })
		return nil
	}
	w.rows()
	w.sql("field = ? AND kind = 's' AND value = ?", key, t.Value)
	if n, ok := userquery.ParseNumber(t.Value); ok {
		w.union()
		w.sql("field = ? AND kind = 'n' AND value = ?", key, n.Value())
	}
	if t.Value == "true" || t.Value == "false" {
		w.union()
		w.sql("field = ? AND kind = 'b' AND value = ?", key, t.Value == "true")
	}
	w.sql(")")
	return nil
}

func (w *whereBuilder) rangeNode(r *userquery.Range) error {
	f := r.Field
	if f.IsMetadata() {
		kind := "s"
		if r.Numeric {
			kind = "n"
		}
		var err error
		w.searchRows(f.Key(), kind, func(w *whereBuilder) {
			err = w.bounds("value", r, func(b *userquery.Bound) (any, error) {
				if !r.Numeric {
					return b.Value, nil
				}
				n, ok := userquery.ParseNumber(b.Value)
				if !ok {
					return nil, fmt.Errorf("%s: %q is not a number", f.Key(), b.Value)
				}
				return n.Value(), nil
			})
		})
		return err
	}
	if isFoldedName(f) {
		var err error
		w.searchRows(f.Key(), "s", func(w *whereBuilder) {
			err = w.bounds("value", r, func(b *userquery.Bound) (any, error) { return b.Value, nil })
		})
		return err
	}
	col, err := rootColumn(f)
	if err != nil {
		return err
	}
	switch f.Type() {
	case userquery.Integer:
		return w.bounds(col, r, func(b *userquery.Bound) (any, error) {
			n, ok := userquery.ParseNumber(b.Value)
			if !ok || !n.IsInt {
				return nil, fmt.Errorf("%s: %q is not an integer", f.Name, b.Value)
			}
			return n.Int, nil
		})
	case userquery.Date:
		w.sql("(" + col + " IS NOT NULL AND ")
		err := w.bounds(col, r, func(b *userquery.Bound) (any, error) { return timeArg(b.Time), nil })
		w.sql(")")
		return err
	case userquery.Text:
		// A user without the field (an empty string) is in no range.
		w.sql("(" + col + " <> '' AND ")
		err := w.bounds(col, r, func(b *userquery.Bound) (any, error) { return b.Value, nil })
		w.sql(")")
		return err
	}
	return fmt.Errorf("%s: no range on a %v field", f.Name, f.Type())
}

// bounds writes the comparisons of a range's bounds (at least one is set).
func (w *whereBuilder) bounds(col string, r *userquery.Range, arg func(*userquery.Bound) (any, error)) error {
	var conds []string
	var args []any
	for _, b := range []struct {
		bound    *userquery.Bound
		incl, ex string
	}{{r.Lo, " >= ?", " > ?"}, {r.Hi, " <= ?", " < ?"}} {
		if b.bound == nil {
			continue
		}
		v, err := arg(b.bound)
		if err != nil {
			return err
		}
		op := b.ex
		if b.bound.Inclusive {
			op = b.incl
		}
		conds = append(conds, col+op)
		args = append(args, v)
	}
	if len(conds) == 0 {
		conds = append(conds, "1")
	}
	w.sql("("+strings.Join(conds, " AND ")+")", args...)
	return nil
}

func (w *whereBuilder) exists(f userquery.Field) error {
	if f.IsMetadata() {
		// A path exists when it holds a scalar, or an object or array that (at some depth)
		// does: "a.b" itself, or any key below "a.b." — the fields in ["a.b.", "a.b/"),
		// since "/" follows "." and keys hold no ".".
		key := f.Key()
		if len(f.Path) == 0 {
			w.rows()
			w.sql("field >= ? AND field < ?)", key+".", key+"/")
			return nil
		}
		w.rows()
		w.sql("field = ?", key)
		w.union()
		w.sql("field >= ? AND field < ?)", key+".", key+"/")
		return nil
	}
	col, err := rootColumn(f)
	if err != nil {
		return err
	}
	if cond, ok := presence[f.Name]; ok {
		w.sql("(" + cond + ")")
		return nil
	}
	switch f.Type() {
	case userquery.Date:
		w.sql(col + " IS NOT NULL")
	case userquery.Text:
		w.sql(col + " <> ''")
	default:
		return fmt.Errorf("%s: no existence test for a %v field", f.Name, f.Type())
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// The user_search rows of a user.

// searchEntry is one user_search row, less the user id.
type searchEntry struct {
	field, kind string
	value       any // string, int64, float64 or bool
}

// key identifies the row as SQLite's primary key does: 5 and 5.0 are one number.
func (e searchEntry) key() string {
	v := e.value
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		v = int64(f)
	}
	return fmt.Sprintf("%s\x00%s\x00%v", e.field, e.kind, v)
}

// searchEntries lists the rows of a user whose metadata is normalised (decoded from its
// stored JSON, as scanUser and newUserRow leave it).
func searchEntries(u storage.User) []searchEntry {
	var out []searchEntry
	for i, v := range []string{u.Name, u.Nickname, u.GivenName, u.FamilyName} {
		if v != "" {
			out = append(out, searchEntry{foldedNames[i], "s", strings.ToLower(v)})
		}
	}
	out = flattenMetadata(out, userquery.UserMetadata, u.UserMetadata)
	return flattenMetadata(out, userquery.AppMetadata, u.AppMetadata)
}

func flattenMetadata(out []searchEntry, path string, v any) []searchEntry {
	switch t := v.(type) {
	case storage.Metadata:
		return flattenMetadata(out, path, map[string]any(t))
	case map[string]any:
		for k, e := range t {
			if k == "" || strings.ContainsAny(k, ".$") {
				continue // such keys cannot be named in a query (AUTH0-COMPAT §1.2)
			}
			out = flattenMetadata(out, path+"."+k, e)
		}
	case []any:
		for _, e := range t {
			out = flattenMetadata(out, path, e) // arrays are flattened: the path skips them
		}
	case string:
		out = append(out, searchEntry{path, "s", t})
	case bool:
		out = append(out, searchEntry{path, "b", t})
	case json.Number:
		if n, ok := userquery.ParseNumber(string(t)); ok {
			out = append(out, searchEntry{path, "n", n.Value()})
		}
	case float64:
		out = append(out, searchEntry{path, "n", t})
	}
	// null, and anything else, is not indexed (Auth0: "Metadata fields that contain an
	// empty array, empty object, or null value are not indexed").
	return out
}

// writeSearchRows brings the user's user_search rows from before to after (nil before: a
// new user), touching only the rows that differ, so that a login, which changes none,
// writes none. Run it in the transaction that writes the user.
func writeSearchRows(ctx context.Context, tx runner, userID string, before, after []searchEntry) error {
	had := make(map[string]searchEntry, len(before))
	for _, e := range before {
		had[e.key()] = e
	}
	added := make(map[string]bool, len(after))
	for _, e := range after {
		k := e.key()
		if _, ok := had[k]; ok {
			delete(had, k)
			continue
		}
		if added[k] {
			continue
		}
		added[k] = true
		if _, err := tx.ExecContext(ctx, insertSearchRow, e.field, e.kind, e.value, userID); err != nil {
			return err
		}
	}
	for _, e := range had {
		if _, err := tx.ExecContext(ctx, deleteSearchRow, e.field, e.kind, e.value, userID); err != nil {
			return err
		}
	}
	return nil
}

const (
	insertSearchRow = `INSERT OR IGNORE INTO user_search (field, kind, value, user_id) VALUES (?, ?, ?, ?)`
	deleteSearchRow = `DELETE FROM user_search WHERE field = ? AND kind = ? AND value = ? AND user_id = ?`
)

// indexAllUsers fills user_search for every user, in batches: the backfill of the
// migration that created it.
func indexAllUsers(ctx context.Context, tx *sql.Tx) error {
	last := ""
	for {
		users, err := queryUsers(ctx, tx, `SELECT `+userColumns+` FROM users WHERE id > ? ORDER BY id LIMIT 500`, last)
		if err != nil {
			return err
		}
		if len(users) == 0 {
			return nil
		}
		for _, u := range users {
			if err := writeSearchRows(ctx, tx, u.ID, nil, searchEntries(u)); err != nil {
				return err
			}
		}
		last = users[len(users)-1].ID
	}
}
