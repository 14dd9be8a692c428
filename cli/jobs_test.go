package cli

// STAND-IN JOBS SERVER. fakeJobs answers the jobs endpoints (POST /api/v2/jobs/users-imports
// and users-exports, GET /api/v2/jobs/{id} and /errors) with Auth0's shapes, in front of the
// real latch: every other request (discovery, /oauth/token, /api/v2/connections) passes
// through to latch unchanged, so the token and the connection id are real. It was written
// before latch served jobs; jobs_latch_test.go now runs import and export against latch
// itself. The stand-in stays for what latch cannot be made to do on demand: answer 429 with
// a Retry-After, report a job in each stage (pending, processing with a percentage, done)
// for the progress bar, fail an export, and put an export's file on another host. An
// integrator who can provoke those on latch can point these tests at it (replace
// newFakeJobs(t, shared).asServer() by shared) and drop fakeJobs.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeJob struct {
	id, typ, connID string
	polls           int
	users           []map[string]any // an import's users
	upsert          bool
	format          string
	fail            bool // the whole job fails
	elsewhere       bool // the export's file is on another host
}

// importRecord is what one POST /jobs/users-imports carried.
type importRecord struct {
	connectionID, upsert, filename, contentType string
	users                                       []byte
}

type fakeJobs struct {
	t      *testing.T
	latch  *latchServer
	server *httptest.Server
	proxy  *httputil.ReverseProxy

	mu      sync.Mutex
	jobs    map[string]*fakeJob
	seq     int
	imports []importRecord
	exports []map[string]any
	// throttle answers the next GET /jobs/{id} with 429 and this Retry-After.
	throttle string
	// exportContent is the file an export produces, served by the fake itself or by
	// elsewhere, another host.
	exportContent []byte
	elsewhere     *httptest.Server
	failExports   bool
	// exportElsewhere puts the next exports' files on another host.
	exportElsewhere bool
	// downloadAuth records the Authorization header of each download, wherever served.
	downloadAuth []string
}

func newFakeJobs(t *testing.T, latch *latchServer) *fakeJobs {
	target, err := url.Parse(latch.URL)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeJobs{t: t, latch: latch, jobs: map[string]*fakeJob{}, proxy: httputil.NewSingleHostReverseProxy(target)}
	f.server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.server.Close)
	f.elsewhere = httptest.NewServer(http.HandlerFunc(f.download))
	t.Cleanup(f.elsewhere.Close)
	return f
}

// locked runs fn with the fake's lock held: the handlers run on the server's goroutines.
func (f *fakeJobs) locked(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// server is the fake as a latchServer for run: its URL, latch's credentials.
func (f *fakeJobs) asServer() *latchServer {
	return &latchServer{URL: f.server.URL, ClientID: f.latch.ClientID, ClientSecret: f.latch.ClientSecret}
}

func (f *fakeJobs) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/downloads/"):
		f.download(w, r)
	case p == "/api/v2/jobs/users-imports" && r.Method == http.MethodPost:
		f.createImport(w, r)
	case p == "/api/v2/jobs/users-exports" && r.Method == http.MethodPost:
		f.createExport(w, r)
	case strings.HasPrefix(p, "/api/v2/jobs/") && r.Method == http.MethodGet:
		f.getJob(w, r)
	default:
		f.proxy.ServeHTTP(w, r)
	}
}

// authorized checks the bearer token the way latch would: by using it on latch.
func (f *fakeJobs) authorized(w http.ResponseWriter, r *http.Request) bool {
	req, _ := http.NewRequest(http.MethodGet, f.latch.URL+"/api/v2/connections", nil)
	req.Header.Set("Authorization", r.Header.Get("Authorization"))
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		writeJSONStatus(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"})
		return false
	}
	return true
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeJobs) newJob(j *fakeJob) map[string]any {
	f.seq++
	j.id = fmt.Sprintf("job_%d", f.seq)
	f.jobs[j.id] = j
	return map[string]any{"status": jobPending, "type": j.typ, "id": j.id, "connection_id": j.connID, "created_at": "2026-01-01T00:00:00.000Z"}
}

func (f *fakeJobs) createImport(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		writeJSONStatus(w, 400, map[string]any{"statusCode": 400, "error": "Bad Request", "message": err.Error()})
		return
	}
	file, hdr, err := r.FormFile("users")
	if err != nil {
		writeJSONStatus(w, 400, map[string]any{"statusCode": 400, "error": "Bad Request", "message": "users file: " + err.Error()})
		return
	}
	data, _ := io.ReadAll(file)
	var users []map[string]any
	if err := json.Unmarshal(data, &users); err != nil {
		writeJSONStatus(w, 400, map[string]any{"statusCode": 400, "error": "Bad Request", "message": "users: " + err.Error()})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.imports = append(f.imports, importRecord{
		connectionID: r.FormValue("connection_id"), upsert: r.FormValue("upsert"),
		filename: hdr.Filename, contentType: hdr.Header.Get("Content-Type"), users: data,
	})
	job := f.newJob(&fakeJob{typ: "users_import", connID: r.FormValue("connection_id"), users: users, upsert: r.FormValue("upsert") == "true"})
	writeJSONStatus(w, http.StatusCreated, job)
}

func (f *fakeJobs) createExport(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeJSONStatus(w, 400, map[string]any{"statusCode": 400, "error": "Bad Request", "message": err.Error()})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exports = append(f.exports, body)
	conn, _ := body["connection_id"].(string)
	format, _ := body["format"].(string)
	job := f.newJob(&fakeJob{typ: "users_export", connID: conn, format: format, fail: f.failExports, elsewhere: f.exportElsewhere})
	writeJSONStatus(w, http.StatusCreated, job)
}

// getJob answers GET /jobs/{id} (pending, then processing, then done) and /jobs/{id}/errors.
func (f *fakeJobs) getJob(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		writeJSONStatus(w, 401, map[string]any{"statusCode": 401, "error": "Unauthorized", "message": "Missing authentication"})
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, "/api/v2/jobs/")
	id, sub, _ := strings.Cut(rest, "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		writeJSONStatus(w, 404, map[string]any{"statusCode": 404, "error": "Not Found", "message": "The job does not exist.", "errorCode": "inexistent_job"})
		return
	}
	if sub == "errors" {
		var errs []map[string]any
		for _, u := range j.users {
			if _, ok := u["email"]; !ok {
				errs = append(errs, map[string]any{"user": u, "errors": []map[string]any{{"code": "INVALID_FORMAT", "message": "Missing required property: email", "path": "email"}}})
			}
		}
		if len(errs) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSONStatus(w, 200, errs)
		return
	}
	if f.throttle != "" {
		w.Header().Set("Retry-After", f.throttle)
		f.throttle = ""
		writeJSONStatus(w, 429, map[string]any{"statusCode": 429, "error": "Too Many Requests", "message": "Global limit has been reached", "errorCode": "too_many_requests"})
		return
	}
	j.polls++
	out := map[string]any{"type": j.typ, "id": j.id, "connection_id": j.connID, "created_at": "2026-01-01T00:00:00.000Z"}
	switch {
	case j.polls == 1:
		out["status"], out["percentage_done"] = jobPending, 0
	case j.polls == 2:
		out["status"], out["percentage_done"], out["time_left_seconds"] = jobProcessing, 50, 2
	case j.fail:
		out["status"], out["status_details"] = jobFailed, "the export store is unavailable"
	default:
		out["status"] = jobCompleted
		if j.typ == "users_import" {
			var sum jobSummary
			for _, u := range j.users {
				email, ok := u["email"].(string)
				switch {
				case !ok:
					sum.Failed++
				case strings.HasPrefix(email, "existing") && j.upsert:
					sum.Updated++
				default:
					sum.Inserted++
				}
				sum.Total++
			}
			out["summary"] = sum
		} else {
			out["format"] = j.format
			if j.elsewhere {
				out["location"] = f.elsewhere.URL + "/downloads/" + j.id
			} else {
				out["location"] = "/downloads/" + j.id // relative: resolved against latch's URL
			}
		}
	}
	writeJSONStatus(w, 200, out)
}

func (f *fakeJobs) download(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.downloadAuth = append(f.downloadAuth, r.Header.Get("Authorization"))
	content := f.exportContent
	f.mu.Unlock()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(content)
	zw.Close()
	w.Header().Set("Content-Type", "application/gzip")
	w.Write(buf.Bytes())
}

// recordSleeps is a sleep that waits for nothing and remembers what it was asked.
type recordSleeps struct {
	mu     sync.Mutex
	asked  []time.Duration
	sleeps func(ctx context.Context, d time.Duration) error
}

func newRecordSleeps() *recordSleeps {
	r := &recordSleeps{}
	r.sleeps = func(ctx context.Context, d time.Duration) error {
		r.mu.Lock()
		r.asked = append(r.asked, d)
		r.mu.Unlock()
		return ctx.Err()
	}
	return r
}

func (r *recordSleeps) contains(d time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.asked {
		if a == d {
			return true
		}
	}
	return false
}

// connectionIDOf reads a connection's id from latch itself.
func connectionIDOf(t *testing.T, s *latchServer, name string) string {
	t.Helper()
	var conns []struct{ ID, Name string }
	s.api(t, http.MethodGet, "/api/v2/connections?name="+url.QueryEscape(name), nil, http.StatusOK, &conns)
	if len(conns) != 1 || !strings.HasPrefix(conns[0].ID, "con_") {
		t.Fatalf("connection %s: %+v", name, conns)
	}
	return conns[0].ID
}

func TestUsersImport(t *testing.T) {
	f := newFakeJobs(t, shared)
	s := f.asServer()
	connID := connectionIDOf(t, shared, "Username-Password-Authentication")
	file := filepath.Join(t.TempDir(), "users.json")
	users := `[
  {"email": "new-1@import.example", "email_verified": true},
  {"email": "existing@import.example", "user_metadata": {"plan": "gold"}},
  {"email": "new-2@import.example"},
  {"name": "no email at all"}
]`
	os.WriteFile(file, []byte(users), 0o600)

	sleeps := newRecordSleeps()
	f.locked(func() { f.throttle = "3" })
	r := run(t, s, runOpts{sleep: sleeps.sleeps, stderrTTY: true}, "users", "import", file, "--connection", "Username-Password-Authentication", "--upsert", "--wait")
	// One user was refused: the job ran, the operation failed (exit 1), and each refusal
	// is shown with its place in the file.
	if r.code != ExitFailed {
		t.Fatalf("import with a refused user: %s", r)
	}
	for _, want := range []string{
		"import job job_1 completed: 2 inserted, 1 updated, 1 failed (of 4)",
		`#4 {"name":"no email at all"}: INVALID_FORMAT: Missing required property: email (email)`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("no %q in\n%s", want, r)
		}
	}
	// The 429 was waited out for its Retry-After, then retried.
	if !sleeps.contains(3*time.Second) || !strings.Contains(r.stderr, "rate limiting") {
		t.Errorf("429: sleeps %v\n%s", sleeps.asked, r)
	}
	// A progress bar on the terminal.
	if !strings.Contains(r.stderr, "] 100%") || !strings.Contains(r.stderr, "processing") {
		t.Errorf("progress bar: %q", r.stderr)
	}
	var imports []importRecord
	f.locked(func() { imports = append(imports, f.imports...) })
	if len(imports) != 1 {
		t.Fatalf("imports sent: %d", len(imports))
	}
	got := imports[0]
	if got.connectionID != connID || got.upsert != "true" || string(got.users) != users || got.filename != "users.json" || got.contentType != "application/json" {
		t.Errorf("the import sent: %+v (want connection %s)", got, connID)
	}

	// Without --wait: the job id, exit 0; `users job` then follows it.
	r = mustRun(t, s, ExitOK, "users", "import", file, "--connection", "Username-Password-Authentication")
	f.locked(func() { imports = append(imports[:0], f.imports...) })
	if !strings.Contains(r.stdout, "import job job_2: pending") || !strings.Contains(r.stdout, "latch users job job_2") || imports[1].upsert != "false" {
		t.Fatalf("import without --wait: %s", r)
	}
	r = mustRun(t, s, ExitOK, "users", "job", "job_2")
	if !strings.Contains(r.stdout, "pending") {
		t.Errorf("users job, pending: %s", r)
	}
	r = run(t, s, runOpts{sleep: sleeps.sleeps}, "users", "job", "job_2", "--wait", "--output", "json")
	var report struct {
		Job    job            `json:"job"`
		Errors []jobUserError `json:"errors"`
	}
	if r.code != ExitFailed || json.Unmarshal([]byte(r.stdout), &report) != nil || report.Job.Status != jobCompleted || len(report.Errors) != 1 {
		t.Fatalf("users job --wait --output json: %+v\n%s", report, r)
	}

	// A file of users where every one is fine: exit 0.
	okFile := filepath.Join(t.TempDir(), "ok.json")
	os.WriteFile(okFile, []byte(`[{"email":"fine@import.example"}]`), 0o600)
	r = run(t, s, runOpts{sleep: sleeps.sleeps}, "users", "import", okFile, "--connection", "Username-Password-Authentication", "--wait")
	if r.code != ExitOK || !strings.Contains(r.stdout, "1 inserted, 0 updated, 0 failed (of 1)") {
		t.Fatalf("clean import: %s", r)
	}

	// Usage and lookup errors.
	if r = run(t, s, runOpts{}, "users", "import", file, "--connection", "No-Such-Connection"); r.code != ExitFailed || !strings.Contains(r.stderr, `no connection named "No-Such-Connection"`) {
		t.Errorf("unknown connection: %s", r)
	}
	if r = run(t, s, runOpts{}, "users", "import", file); r.code != ExitUsage || !strings.Contains(r.stderr, "--connection") {
		t.Errorf("no --connection: %s", r)
	}
	notArray := filepath.Join(t.TempDir(), "users.json")
	os.WriteFile(notArray, []byte(`{"email":"a@b.c"}`), 0o600)
	if r = run(t, s, runOpts{}, "users", "import", notArray, "--connection", "Username-Password-Authentication"); r.code != ExitUsage || !strings.Contains(r.stderr, "JSON array") {
		t.Errorf("not an array: %s", r)
	}
	f.locked(func() {
		if len(f.imports) != 3 {
			t.Errorf("refused imports were sent: %d imports", len(f.imports))
		}
	})
}

func TestUsersExport(t *testing.T) {
	f := newFakeJobs(t, shared)
	s := f.asServer()
	connID := connectionIDOf(t, shared, "Username-Password-Authentication")
	content := []byte("{\"email\":\"a@export.example\",\"plan\":\"gold\"}\n{\"email\":\"b@export.example\",\"plan\":\"silver\"}\n")
	f.locked(func() { f.exportContent = content })
	sleeps := newRecordSleeps()
	out := filepath.Join(t.TempDir(), "users.ndjson")

	r := run(t, s, runOpts{sleep: sleeps.sleeps}, "users", "export", "--connection", "Username-Password-Authentication",
		"--fields", "email, user_metadata.plan=plan", "-o", out)
	if r.code != ExitOK || !strings.Contains(r.stdout, "(2 lines,") {
		t.Fatalf("export: %s", r)
	}
	data, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(data, content) {
		t.Fatalf("exported file (ungzip'd): %q, %v", data, err)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("the export holds user data; mode %v", fi.Mode().Perm())
	}
	wantBody := map[string]any{"connection_id": connID, "format": "json", "fields": []any{
		map[string]any{"name": "email"}, map[string]any{"name": "user_metadata.plan", "export_as": "plan"},
	}}
	f.locked(func() {
		if len(f.exports) != 1 || mustMarshal(t, f.exports[0]) != mustMarshal(t, wantBody) {
			t.Errorf("export request: %v, want %v", f.exports, wantBody)
		}
		// The location is latch's own: the token went along.
		if len(f.downloadAuth) != 1 || !strings.HasPrefix(f.downloadAuth[0], "Bearer ") {
			t.Errorf("download from latch: %d downloads, a bearer token on the first: %v", len(f.downloadAuth), len(f.downloadAuth) > 0 && strings.HasPrefix(f.downloadAuth[0], "Bearer "))
		}
	})

	// To stdout, CSV; -o FILE.gz keeps the gzip.
	r = run(t, s, runOpts{sleep: sleeps.sleeps}, "users", "export", "--connection", "Username-Password-Authentication", "--format", "csv")
	var format any
	f.locked(func() { format = f.exports[1]["format"] })
	if r.code != ExitOK || r.stdout != string(content) || format != "csv" {
		t.Fatalf("export to stdout: %s", r)
	}
	gz := filepath.Join(t.TempDir(), "users.csv.gz")
	mustRunWith(t, s, runOpts{sleep: sleeps.sleeps}, ExitOK, "users", "export", "--connection", "Username-Password-Authentication", "-o", gz)
	raw, _ := os.ReadFile(gz)
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("-o FILE.gz is not gzip: %v", err)
	}
	if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, content) {
		t.Errorf("-o FILE.gz content: %q", plain)
	}
	if r = run(t, s, runOpts{}, "users", "export", "--connection", "Username-Password-Authentication", "--format", "xml"); r.code != ExitUsage {
		t.Errorf("--format xml: %s", r)
	}

	// A failed job: exit 1 with its details.
	f.locked(func() { f.failExports = true })
	r = run(t, s, runOpts{sleep: sleeps.sleeps}, "users", "export", "--connection", "Username-Password-Authentication", "-o", filepath.Join(t.TempDir(), "x"))
	if r.code != ExitFailed || !strings.Contains(r.stderr, "failed") || !strings.Contains(r.stderr, "the export store is unavailable") {
		t.Fatalf("failed export: %s", r)
	}
}

// A location on another host (a storage bucket's signed URL) gets no token.
func TestUsersExportDownloadElsewhereGetsNoToken(t *testing.T) {
	f := newFakeJobs(t, shared)
	f.locked(func() { f.exportContent, f.exportElsewhere = []byte("a\n"), true })
	r := run(t, f.asServer(), runOpts{}, "users", "export", "--connection", "Username-Password-Authentication")
	if r.code != ExitOK || r.stdout != "a\n" {
		t.Fatalf("export from elsewhere: %s", r)
	}
	f.locked(func() {
		if len(f.downloadAuth) != 1 || f.downloadAuth[0] != "" {
			t.Fatalf("the download elsewhere carried an Authorization header (%d downloads, non-empty: %v)", len(f.downloadAuth), len(f.downloadAuth) > 0 && f.downloadAuth[0] != "")
		}
	})
}

func mustRunWith(t *testing.T, s *latchServer, o runOpts, want int, args ...string) result {
	t.Helper()
	r := run(t, s, o, args...)
	if r.code != want {
		t.Fatalf("latch %s: want exit %d, got %s", strings.Join(args, " "), want, r)
	}
	return r
}
