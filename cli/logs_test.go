package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestLogsTail(t *testing.T) {
	s := shared
	clientID, secret := s.appClient(t)
	email := unique("tail") + "@cli.example.com"
	userID := s.signup(t, clientID, email, nil)
	s.login(t, clientID, secret, email)

	// The signup and the login show, oldest first, with the user; events are written in the
	// background, hence the retries.
	var r result
	eventually(t, func() string {
		r = run(t, s, runOpts{}, "logs", "tail", "--user", userID, "--type", "s,ss")
		ss, sl := strings.Index(r.stdout, "  ss      Success Signup"), strings.Index(r.stdout, "  s       Success Login")
		if r.code != 0 || ss < 0 || sl < 0 {
			return fmt.Sprintf("logs tail does not show the signup and the login yet: %s", r)
		}
		if ss > sl {
			return fmt.Sprintf("logs tail is not oldest first: %s", r)
		}
		return ""
	})
	if !strings.Contains(r.stdout, "user="+userID) || !strings.Contains(r.stdout, "client=cli test app") {
		t.Errorf("event lines: %s", r)
	}
	// --type filters: no failed logins for this user.
	r = mustRun(t, s, ExitOK, "logs", "tail", "--user", userID, "--type", "f,fp")
	if strings.TrimSpace(r.stdout) != "" {
		t.Errorf("--type f,fp shows: %s", r)
	}
	// --output json: one event a line, each JSON, each of the asked types and user.
	r = mustRun(t, s, ExitOK, "logs", "tail", "--user", userID, "--type", "s*", "--output", "json")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("--output json: want the signup and the login, got %s", r)
	}
	for _, l := range lines {
		var e logEvent
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.UserID != userID || (e.Type != "s" && e.Type != "ss") {
			t.Errorf("--output json line %q: %v %+v", l, err, e)
		}
	}
	if r = run(t, s, runOpts{}, "logs", "tail", "--type", "s OR f"); r.code != ExitUsage {
		t.Errorf("a --type that is not a type: %s", r)
	}
}

func TestLogsTailFollow(t *testing.T) {
	s := shared
	clientID, secret := s.appClient(t)
	email := unique("follow") + "@cli.example.com"
	userID := s.signup(t, clientID, email, nil)
	s.login(t, clientID, secret, email)
	// Wait until the first login is on record, so that the one below is new to --follow.
	eventually(t, func() string {
		if r := run(t, s, runOpts{}, "logs", "tail", "--user", userID, "--type", "s"); strings.Count(r.stdout, "Success Login") != 1 {
			return "the first login is not on record: " + r.String()
		}
		return ""
	})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan result, 1)
	go func() {
		done <- run(t, s, runOpts{ctx: ctx, stdout: out, sleep: func(ctx context.Context, d time.Duration) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
				return nil
			}
		}}, "logs", "tail", "--user", userID, "--type", "s", "--follow", "--output", "json")
	}()
	eventually(t, func() string {
		if strings.Count(out.String(), "\n") < 1 {
			return "--follow did not print the recent login: " + out.String()
		}
		return ""
	})
	s.login(t, clientID, secret, email)
	s.login(t, clientID, secret, email)
	eventually(t, func() string {
		if n := strings.Count(out.String(), "\n"); n < 3 {
			return fmt.Sprintf("--follow printed %d of the 3 logins:\n%s", n, out.String())
		}
		return ""
	})
	cancel()
	r := <-done
	if r.code != ExitOK {
		t.Fatalf("interrupted --follow: %s", r)
	}
	ids := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e logEvent
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Type != "s" || e.UserID != userID {
			t.Errorf("--follow line %q: %v", l, err)
		}
		if ids[e.LogID] {
			t.Errorf("event %s printed twice", e.LogID)
		}
		ids[e.LogID] = true
	}
	if len(ids) != 3 {
		t.Errorf("--follow printed %d logins, want 3:\n%s", len(ids), out.String())
	}
}
