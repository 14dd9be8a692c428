package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// logEvent is the part of an auth event the text output shows; --output json prints each
// event as latch sent it, one a line.
type logEvent struct {
	LogID       string `json:"log_id"`
	Date        string `json:"date"`
	Type        string `json:"type"`
	Description string `json:"description"`
	ClientID    string `json:"client_id"`
	ClientName  string `json:"client_name"`
	IP          string `json:"ip"`
	UserID      string `json:"user_id"`
	UserName    string `json:"user_name"`
	Connection  string `json:"connection"`
}

// eventNames are Auth0's names of the event types latch records.
var eventNames = map[string]string{
	"s": "Success Login", "f": "Failed Login", "fp": "Failed Login (Incorrect Password)",
	"fu": "Failed Login (Invalid Email/Username)", "ss": "Success Signup", "fs": "Failed Signup",
	"ssa": "Success Silent Auth", "fsa": "Failed Silent Auth",
	"seacft": "Success Exchange (Authorization Code)", "feacft": "Failed Exchange (Authorization Code)",
	"sertft": "Success Exchange (Refresh Token)", "fertft": "Failed Exchange (Refresh Token)",
	"seccft": "Success Exchange (Client Credentials)", "feccft": "Failed Exchange (Client Credentials)",
	"slo": "Success Logout", "sapi": "Success API Operation",
	"limit_wc": "Blocked Account", "limit_mu": "Blocked IP Address",
	"sv": "Success Verification Email", "fv": "Failed Verification Email",
	"svr": "Success Verification Email Request", "fvr": "Failed Verification Email Request",
	"scp": "Success Change Password", "fcp": "Failed Change Password",
	"scpr": "Success Change Password Request", "fcpr": "Failed Change Password Request",
	"fn": "Failed Sending Notification", "ublkdu": "User login block released",
}

// maxTake is the most events one request of /api/v2/logs answers.
const maxTake = 100

// eventTypePattern is a type code, or a prefix with a trailing *.
var eventTypePattern = regexp.MustCompile(`^[a-z_]+\*?$`)

// logFilter is --type and --user, applied by latch's q for the first page and by the CLI to
// what --follow reads after (checkpoint paging takes no filter).
type logFilter struct {
	types  []string
	userID string
}

func (f logFilter) match(e logEvent) bool {
	if f.userID != "" && e.UserID != f.userID {
		return false
	}
	if len(f.types) == 0 {
		return true
	}
	return slices.ContainsFunc(f.types, func(t string) bool {
		if prefix, ok := strings.CutSuffix(t, "*"); ok {
			return strings.HasPrefix(e.Type, prefix)
		}
		return e.Type == t
	})
}

// query is the filter in latch's log search syntax.
func (f logFilter) query() string {
	var clauses []string
	switch len(f.types) {
	case 0:
	case 1:
		clauses = append(clauses, "type:"+f.types[0])
	default:
		clauses = append(clauses, "type:("+strings.Join(f.types, " OR ")+")")
	}
	if f.userID != "" {
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(f.userID)
		clauses = append(clauses, `user_id:"`+esc+`"`)
	}
	return strings.Join(clauses, " AND ")
}

func logsTail(ctx context.Context, name string, args []string, env Env) error {
	cmd := newCommand(name, env)
	types := cmd.fs.String("type", "", "event types, comma-separated (s, f, fp, ss, sapi, f* ...)")
	userID := cmd.fs.String("user", "", "only this user's events (a user_id)")
	take := cmd.fs.Int("take", 50, "how many recent events to show (1 to 100)")
	follow := cmd.fs.Bool("follow", false, "keep polling for new events (every second) until interrupted")
	if _, err := cmd.parse(args, "latch logs tail [--type s,f] [--user ID] [--take N] [--follow]", 0); err != nil {
		return err
	}
	if *take < 1 || *take > maxTake {
		return usageErrorf("--take %d: want 1 to %d", *take, maxTake)
	}
	f := logFilter{userID: *userID}
	for _, t := range strings.Split(*types, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if !eventTypePattern.MatchString(t) {
			return usageErrorf("--type %q: want type codes such as s, f, fp or f*", t)
		}
		f.types = append(f.types, t)
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	// The checkpoint comes first: an event written while the recent ones are read is then
	// read again by the first poll, and printed once (printed remembers it).
	var checkpoint string
	if *follow {
		var newest []logEvent
		if err := c.call(ctx, http.MethodGet, "/api/v2/logs?sort=date:-1&per_page=1&fields=log_id", nil, &newest); err != nil {
			return err
		}
		if len(newest) == 1 {
			checkpoint = newest[0].LogID
		}
	}
	q := url.Values{"sort": {"date:-1"}, "per_page": {strconv.Itoa(*take)}}
	if s := f.query(); s != "" {
		q.Set("q", s)
	}
	var recent []json.RawMessage
	if err := c.call(ctx, http.MethodGet, "/api/v2/logs?"+q.Encode(), nil, &recent); err != nil {
		return err
	}
	printed := map[string]bool{}
	for i := len(recent) - 1; i >= 0; i-- { // oldest first, as tail does
		if err := printEvent(cmd, recent[i], printed); err != nil {
			return err
		}
	}
	if !*follow {
		return nil
	}
	for {
		if err := env.wait(ctx, env.poll()); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil // interrupted: the normal end of --follow
			}
			return err
		}
		for {
			path := "/api/v2/logs?take=" + strconv.Itoa(maxTake)
			if checkpoint != "" {
				path += "&from=" + url.QueryEscape(checkpoint)
			}
			var batch []json.RawMessage
			if err := c.call(ctx, http.MethodGet, path, nil, &batch); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			for _, raw := range batch {
				var e logEvent
				if err := json.Unmarshal(raw, &e); err != nil {
					return err
				}
				checkpoint = e.LogID
				if !f.match(e) {
					continue
				}
				if err := printEvent(cmd, raw, printed); err != nil {
					return err
				}
			}
			if len(batch) < maxTake {
				break
			}
		}
		// Checkpoint paging never answers an event twice: only the recent events printed
		// before the first poll needed remembering.
		clear(printed)
	}
}

// printEvent prints an event once: NDJSON with --output json, a line for a person otherwise.
func printEvent(cmd *command, raw json.RawMessage, printed map[string]bool) error {
	var e logEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return err
	}
	if printed[e.LogID] {
		return nil
	}
	printed[e.LogID] = true
	if cmd.json() {
		return writeJSONLine(cmd.stdout(), raw)
	}
	return writeEventLine(cmd.stdout(), e)
}

func writeEventLine(w io.Writer, e logEvent) error {
	what := eventNames[e.Type]
	if what == "" {
		what = e.Type
	}
	if e.Description != "" && e.Description != what {
		what += ": " + e.Description
	}
	line := fmt.Sprintf("%s  %-7s %s", e.Date, e.Type, what)
	if e.UserID != "" || e.UserName != "" {
		line += "  user=" + e.UserID
		if e.UserName != "" {
			line += " (" + e.UserName + ")"
		}
	}
	if e.ClientName != "" || e.ClientID != "" {
		line += "  client=" + e.ClientName
		if e.ClientName == "" {
			line += e.ClientID
		}
	}
	if e.IP != "" {
		line += "  ip=" + e.IP
	}
	_, err := fmt.Fprintln(w, line)
	return err
}
