package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
)

// user is the part of a Management API user the text output shows; --output json prints
// what latch sent, whole.
type user struct {
	UserID        string          `json:"user_id"`
	Email         string          `json:"email"`
	EmailVerified *bool           `json:"email_verified"`
	Username      string          `json:"username"`
	Name          string          `json:"name"`
	Identities    []identity      `json:"identities"`
	UserMetadata  json.RawMessage `json:"user_metadata"`
	AppMetadata   json.RawMessage `json:"app_metadata"`
	CreatedAt     string          `json:"created_at"`
	LastLogin     string          `json:"last_login"`
	LoginsCount   int64           `json:"logins_count"`
	Blocked       bool            `json:"blocked"`
}

type identity struct {
	Connection string `json:"connection"`
	Provider   string `json:"provider"`
}

func usersByEmail(ctx context.Context, c *client, email string) ([]user, error) {
	var users []user
	err := c.call(ctx, http.MethodGet, "/api/v2/users-by-email?email="+url.QueryEscape(email), nil, &users)
	return users, err
}

// ---------------------------------------------------------------------------------------
// latch users get ID|EMAIL

// looksLikeEmail tells an email from a user id: ids are provider|id, emails have an @ and
// no |.
func looksLikeEmail(s string) bool {
	return strings.Contains(s, "@") && !strings.Contains(s, "|")
}

func usersGet(ctx context.Context, name string, args []string, env Env) error {
	cmd := newCommand(name, env)
	pos, err := cmd.parse(args, "latch users get ID|EMAIL", 1)
	if err != nil {
		return err
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if looksLikeEmail(pos[0]) {
		err = c.call(ctx, http.MethodGet, "/api/v2/users-by-email?email="+url.QueryEscape(pos[0]), nil, &raw)
	} else {
		err = c.call(ctx, http.MethodGet, "/api/v2/users/"+url.PathEscape(pos[0]), nil, &raw)
	}
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return fmt.Errorf("no user %s", pos[0])
	}
	if err != nil {
		return err
	}
	var users []user
	if looksLikeEmail(pos[0]) {
		if err := json.Unmarshal(raw, &users); err != nil {
			return err
		}
		if len(users) == 0 {
			if cmd.json() {
				_ = writeJSON(cmd.stdout(), raw)
			}
			return fmt.Errorf("no user has the email %s", pos[0])
		}
	} else {
		var u user
		if err := json.Unmarshal(raw, &u); err != nil {
			return err
		}
		users = []user{u}
	}
	if cmd.json() {
		return writeJSON(cmd.stdout(), raw)
	}
	for i, u := range users {
		if i > 0 {
			fmt.Fprintln(cmd.stdout())
		}
		printUser(cmd.stdout(), u)
	}
	return nil
}

func printUser(w io.Writer, u user) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var conns []string
	for _, id := range u.Identities {
		conns = append(conns, id.Connection)
	}
	rows := [][2]string{
		{"user_id", u.UserID}, {"email", u.Email}, {"username", u.Username}, {"name", u.Name},
		{"connection", strings.Join(conns, ", ")}, {"created_at", u.CreatedAt}, {"last_login", u.LastLogin},
		{"logins_count", strconv.FormatInt(u.LoginsCount, 10)},
	}
	if u.EmailVerified != nil {
		rows = append(rows, [2]string{"email_verified", strconv.FormatBool(*u.EmailVerified)})
	}
	if u.Blocked {
		rows = append(rows, [2]string{"blocked", "true"})
	}
	rows = append(rows, [2]string{"user_metadata", string(compactRaw(u.UserMetadata))}, [2]string{"app_metadata", string(compactRaw(u.AppMetadata))})
	for _, r := range rows {
		if r[1] != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
		}
	}
	_ = tw.Flush()
}

func compactRaw(raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return []byte("{}")
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	return []byte(compactJSON(v))
}

// ---------------------------------------------------------------------------------------
// latch users search Q

func usersSearch(ctx context.Context, name string, args []string, env Env) error {
	cmd := newCommand(name, env)
	perPage := cmd.fs.Int("per-page", 50, "users a page (1 to 100)")
	page := cmd.fs.Int("page", 0, "the page to show (from 0)")
	all := cmd.fs.Bool("all", false, "every page")
	sort := cmd.fs.String("sort", "", "FIELD:1 (ascending) or FIELD:-1")
	pos, err := cmd.parse(args, `latch users search [Q] [--per-page N] [--page N] [--all] [--sort FIELD:1|-1]   (Q: Auth0's v3 syntax, e.g. email:"jane@example.com" or user_metadata.plan:gold)`, -1)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usageErrorf("quote the query: it is one argument (got %d)", len(pos))
	}
	if *perPage < 1 || *perPage > 100 {
		return usageErrorf("--per-page %d: want 1 to 100", *perPage)
	}
	if *page < 0 || (*all && cmd.set["page"]) {
		return usageErrorf("--page: want a page from 0, and not with --all")
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	q := url.Values{"per_page": {strconv.Itoa(*perPage)}, "include_totals": {"true"}, "search_engine": {"v3"}}
	if len(pos) == 1 && strings.TrimSpace(pos[0]) != "" {
		q.Set("q", pos[0])
	}
	if *sort != "" {
		q.Set("sort", *sort)
	}
	var found []json.RawMessage
	total := 0
	for p := *page; ; p++ {
		q.Set("page", strconv.Itoa(p))
		var env struct {
			Users []json.RawMessage `json:"users"`
			Total int               `json:"total"`
		}
		if err := c.call(ctx, http.MethodGet, "/api/v2/users?"+q.Encode(), nil, &env); err != nil {
			return err
		}
		found, total = append(found, env.Users...), env.Total
		if !*all || len(env.Users) == 0 || len(found) >= total {
			break
		}
	}
	if cmd.json() {
		return writeJSON(cmd.stdout(), nonNil(found))
	}
	tw := tabwriter.NewWriter(cmd.stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER_ID\tEMAIL\tNAME\tLOGINS\tLAST_LOGIN")
	for _, raw := range found {
		var u user
		if err := json.Unmarshal(raw, &u); err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", u.UserID, u.Email, u.Name, u.LoginsCount, u.LastLogin)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if *all {
		fmt.Fprintf(env.Stderr, "%d users\n", len(found))
	} else {
		fmt.Fprintf(env.Stderr, "%d users shown of %d (page %d; --all for every page)\n", len(found), total, *page)
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// Connections

// connectionID resolves a connection's name to its id (con_...), which the jobs take.
func connectionID(ctx context.Context, c *client, name string) (string, error) {
	var conns []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := c.call(ctx, http.MethodGet, "/api/v2/connections?name="+url.QueryEscape(name), nil, &conns); err != nil {
		return "", err
	}
	for _, conn := range conns {
		if conn.Name == name {
			return conn.ID, nil
		}
	}
	return "", fmt.Errorf("latch has no connection named %q", name)
}
