package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Import and export against latch's own jobs endpoints: the shapes the CLI reads are the
// ones latch answers. (jobs_test.go's stand-in covers what latch cannot be made to do on
// demand: a 429, a location on another host.)
func TestUsersImportExportAgainstLatch(t *testing.T) {
	s := startExtraServer(t)
	resp, err := http.Get(s.URL + "/api/v2/jobs/job_probe")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		if os.Getenv("CI") == "true" {
			t.Fatal("latch does not serve /api/v2/jobs")
		}
		t.Skip("latch does not serve /api/v2/jobs yet")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "users.json")
	os.WriteFile(file, []byte(`[
  {"email": "ann@jobs.example", "email_verified": true, "user_metadata": {"plan": "gold"}},
  {"email": "bob@jobs.example"},
  {"name": "nobody without an email"}
]`), 0o600)
	// Polls wait a little: latch runs the job in the background meanwhile.
	sleeps := func(ctx context.Context, d time.Duration) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
			return nil
		}
	}
	r := run(t, s, runOpts{sleep: sleeps}, "users", "import", file, "--connection", "Username-Password-Authentication", "--wait")
	if r.code != ExitFailed || !strings.Contains(r.stdout, "2 inserted, 0 updated, 1 failed (of 3)") ||
		!strings.Contains(r.stdout, `#3 {"name":"nobody without an email"}:`) {
		t.Fatalf("import: %s", r)
	}
	r = mustRun(t, s, ExitOK, "users", "get", "ann@jobs.example", "--output", "json")
	var found []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &found); err != nil || len(found) != 1 || mustMarshal(t, found[0]["user_metadata"]) != `{"plan":"gold"}` {
		t.Fatalf("the imported user: %v\n%s", err, r)
	}

	// --upsert updates the users that exist.
	os.WriteFile(file, []byte(`[{"email": "ann@jobs.example", "user_metadata": {"plan": "platinum"}}]`), 0o600)
	r = run(t, s, runOpts{sleep: sleeps}, "users", "import", file, "--connection", "Username-Password-Authentication", "--upsert", "--wait", "--output", "json")
	var report struct {
		Job job `json:"job"`
	}
	if r.code != ExitOK || json.Unmarshal([]byte(r.stdout), &report) != nil || report.Job.Summary == nil || report.Job.Summary.Updated != 1 {
		t.Fatalf("upsert: %s", r)
	}

	// Export as CSV with renamed columns, to a file.
	out := filepath.Join(dir, "users.csv")
	mustRunWith(t, s, runOpts{sleep: sleeps}, ExitOK, "users", "export", "--connection", "Username-Password-Authentication",
		"--format", "csv", "--fields", "email,user_metadata.plan=plan", "-o", out)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	slices.Sort(lines[1:])
	if want := []string{"email,plan", "ann@jobs.example,platinum", "bob@jobs.example,"}; !slices.Equal(lines, want) {
		t.Errorf("CSV export: %q, want %q", lines, want)
	}
	// NDJSON to stdout: one user a line.
	r = mustRunWith(t, s, runOpts{sleep: sleeps}, ExitOK, "users", "export", "--connection", "Username-Password-Authentication")
	var emails []string
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var u struct{ Email string }
		if err := json.Unmarshal([]byte(l), &u); err != nil {
			t.Fatalf("NDJSON line %q: %v", l, err)
		}
		emails = append(emails, u.Email)
	}
	slices.Sort(emails)
	if !slices.Equal(emails, []string{"ann@jobs.example", "bob@jobs.example"}) {
		t.Errorf("NDJSON export: %v", emails)
	}
}
