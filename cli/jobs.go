package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// User import and export go through Auth0's jobs API: POST /api/v2/jobs/users-imports
// (multipart: users, connection_id, upsert) and /api/v2/jobs/users-exports ({connection_id,
// format, fields}) create a job; GET /api/v2/jobs/{id} says how it goes; GET
// /api/v2/jobs/{id}/errors lists the users an import refused; a finished export has a
// location to download its gzip'd file from.

// Job statuses.
const (
	jobPending    = "pending"
	jobProcessing = "processing"
	jobCompleted  = "completed"
	jobFailed     = "failed"
)

// maxImportBytes bounds the file read into memory for an import.
const maxImportBytes = 64 << 20

type job struct {
	ID              string      `json:"id"`
	Type            string      `json:"type"`
	Status          string      `json:"status"`
	ConnectionID    string      `json:"connection_id"`
	Connection      string      `json:"connection"`
	CreatedAt       string      `json:"created_at"`
	Location        string      `json:"location"`
	Format          string      `json:"format"`
	PercentageDone  int         `json:"percentage_done"`
	TimeLeftSeconds int         `json:"time_left_seconds"`
	Summary         *jobSummary `json:"summary"`
	// Message or status_details say why a job failed.
	Message       string          `json:"message"`
	StatusDetails json.RawMessage `json:"status_details"`
}

// why is what latch said about the job's outcome, if anything.
func (j job) why() string {
	if j.Message != "" {
		return j.Message
	}
	if len(j.StatusDetails) > 0 && string(j.StatusDetails) != "null" {
		var s string
		if json.Unmarshal(j.StatusDetails, &s) == nil {
			return s
		}
		return string(compactRaw(j.StatusDetails))
	}
	return ""
}

type jobSummary struct {
	Failed   int `json:"failed"`
	Updated  int `json:"updated"`
	Inserted int `json:"inserted"`
	Total    int `json:"total"`
}

// jobUserError is one user an import refused.
type jobUserError struct {
	User   json.RawMessage `json:"user"`
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Path    string `json:"path"`
	} `json:"errors"`
}

func (j job) finished() bool { return j.Status == jobCompleted || j.Status == jobFailed }

func getJob(ctx context.Context, c *client, id string) (job, json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.call(ctx, http.MethodGet, "/api/v2/jobs/"+url.PathEscape(id), nil, &raw); err != nil {
		return job{}, nil, err
	}
	var j job
	if err := json.Unmarshal(raw, &j); err != nil {
		return job{}, nil, fmt.Errorf("GET /api/v2/jobs/%s: %w", id, err)
	}
	return j, raw, nil
}

// waitJob polls the job until it completes or fails, drawing a progress bar on a terminal.
func waitJob(ctx context.Context, c *client, env Env, id string) (job, json.RawMessage, error) {
	var bar *progressBar
	if env.stderrTTY() {
		bar = &progressBar{w: env.Stderr}
		defer bar.done()
	}
	for {
		j, raw, err := getJob(ctx, c, id)
		if err != nil {
			return j, raw, err
		}
		if bar != nil {
			pct := j.PercentageDone
			if j.Status == jobCompleted {
				pct = 100
			}
			bar.draw(j.Status, pct, time.Duration(j.TimeLeftSeconds)*time.Second)
		}
		if j.finished() {
			return j, raw, nil
		}
		if err := env.wait(ctx, env.poll()); err != nil {
			return j, raw, err
		}
	}
}

// jobErrors reads GET /jobs/{id}/errors: the refused users, or (for a job that failed as a
// whole) a job object whose status_details say why. No content means no errors.
func jobErrors(ctx context.Context, c *client, id string) ([]jobUserError, json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.call(ctx, http.MethodGet, "/api/v2/jobs/"+url.PathEscape(id)+"/errors", nil, &raw); err != nil {
		return nil, nil, err
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, raw, nil
	}
	var errs []jobUserError
	if err := json.Unmarshal(trimmed, &errs); err != nil {
		return nil, raw, fmt.Errorf("GET /api/v2/jobs/%s/errors: %w", id, err)
	}
	return errs, raw, nil
}

// ---------------------------------------------------------------------------------------
// latch users import FILE --connection NAME

func usersImport(ctx context.Context, name string, args []string, env Env) error {
	cmd := newCommand(name, env)
	conn := cmd.fs.String("connection", "", "the database connection to import into (required)")
	upsert := cmd.fs.Bool("upsert", false, "update users that exist (by email) instead of failing them")
	wait := cmd.fs.Bool("wait", false, "wait for the job to finish and report what it did")
	usage := "latch users import FILE --connection NAME [--upsert] [--wait]   (FILE: a JSON array of users, Auth0's import format)"
	pos, err := cmd.parse(args, usage, 1)
	if err != nil {
		return err
	}
	if *conn == "" {
		return usageErrorf("missing --connection\nusage: %s", usage)
	}
	data, err := readFileLimited(pos[0], maxImportBytes)
	if err != nil {
		return usageErrorf("%v", err)
	}
	var local []json.RawMessage
	if err := json.Unmarshal(data, &local); err != nil {
		return usageErrorf("%s is not a JSON array of users (Auth0's import format): %v", pos[0], err)
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	connID, err := connectionID(ctx, c, *conn)
	if err != nil {
		return err
	}
	body, contentType, err := importBody(filepath.Base(pos[0]), data, connID, *upsert)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := c.callRaw(ctx, http.MethodPost, "/api/v2/jobs/users-imports", contentType, body, true, &raw); err != nil {
		return err
	}
	var j job
	if err := json.Unmarshal(raw, &j); err != nil || j.ID == "" {
		return fmt.Errorf("POST /api/v2/jobs/users-imports: no job in the answer: %s", raw)
	}
	if !*wait {
		if cmd.json() {
			return writeJSON(cmd.stdout(), raw)
		}
		fmt.Fprintf(cmd.stdout(), "import job %s: %s (%d users sent to %s)\nfollow it with: latch users job %s\n", j.ID, j.Status, len(local), *conn, j.ID)
		return nil
	}
	return reportJob(ctx, cmd, c, j.ID, local)
}

// importBody is the multipart form of POST /jobs/users-imports.
func importBody(filename string, users []byte, connID string, upsert bool) ([]byte, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="users"; filename=%q`, filename))
	h.Set("Content-Type", "application/json")
	part, err := mw.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(users); err != nil {
		return nil, "", err
	}
	for k, v := range map[string]string{"connection_id": connID, "upsert": fmt.Sprint(upsert)} {
		if err := mw.WriteField(k, v); err != nil {
			return nil, "", err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// reportJob waits for an import job and reports it: the counts, then each refused user (with
// its position in the file when local, the users sent, is known). A job with failures is
// an operation that failed.
func reportJob(ctx context.Context, cmd *command, c *client, id string, local []json.RawMessage) error {
	j, raw, err := waitJob(ctx, c, cmd.env, id)
	if err != nil {
		return err
	}
	var errs []jobUserError
	var errsRaw json.RawMessage
	sum := j.Summary
	if j.Status == jobFailed || (sum != nil && sum.Failed > 0) {
		if errs, errsRaw, err = jobErrors(ctx, c, id); err != nil {
			return err
		}
	}
	if cmd.json() {
		out := map[string]any{"job": raw, "errors": nonNil(errs)}
		if errs == nil && len(bytes.TrimSpace(errsRaw)) > 0 {
			out["errors"] = errsRaw
		}
		if err := writeJSON(cmd.stdout(), out); err != nil {
			return err
		}
	} else {
		w := cmd.stdout()
		fmt.Fprintf(w, "%s job %s %s", strings.TrimPrefix(j.Type, "users_"), j.ID, j.Status)
		if sum != nil {
			fmt.Fprintf(w, ": %d inserted, %d updated, %d failed (of %d)", sum.Inserted, sum.Updated, sum.Failed, sum.Total)
		}
		fmt.Fprintln(w)
		if why := j.why(); why != "" {
			fmt.Fprintf(w, "details: %s\n", why)
		}
		if j.Location != "" {
			fmt.Fprintf(w, "location: %s\n", j.Location)
		}
		printJobErrors(w, errs, local)
		if errs == nil && len(bytes.TrimSpace(errsRaw)) > 0 {
			fmt.Fprintf(w, "errors: %s\n", compactRaw(errsRaw))
		}
	}
	if j.Status == jobFailed || (sum != nil && sum.Failed > 0) {
		return failed
	}
	return nil
}

// printJobErrors prints each refused user with its errors; #N is its place in the file.
func printJobErrors(w io.Writer, errs []jobUserError, local []json.RawMessage) {
	if len(errs) == 0 {
		return
	}
	canon := make([]string, len(local))
	emails := make([]string, len(local))
	for i, u := range local {
		canon[i] = canonicalJSON(u)
		var e struct {
			Email string `json:"email"`
		}
		_ = json.Unmarshal(u, &e)
		emails[i] = e.Email
	}
	fmt.Fprintln(w, "failed users:")
	for _, e := range errs {
		var who struct {
			Email  string `json:"email"`
			UserID string `json:"user_id"`
		}
		_ = json.Unmarshal(e.User, &who)
		label := who.Email
		if label == "" {
			label = who.UserID
		}
		if label == "" {
			label = string(compactRaw(e.User))
		}
		if i := findUser(canon, emails, e.User, who.Email); i >= 0 {
			label = fmt.Sprintf("#%d %s", i+1, label)
		}
		for _, d := range e.Errors {
			line := fmt.Sprintf("  %s: %s: %s", label, d.Code, d.Message)
			if d.Path != "" {
				line += " (" + d.Path + ")"
			}
			fmt.Fprintln(w, line)
		}
		if len(e.Errors) == 0 {
			fmt.Fprintf(w, "  %s: refused\n", label)
		}
	}
}

// findUser finds a refused user in the file: the same object, or else the same email when
// only one user of the file has it.
func findUser(canon, emails []string, u json.RawMessage, email string) int {
	c := canonicalJSON(u)
	for i := range canon {
		if canon[i] == c {
			return i
		}
	}
	found := -1
	for i, e := range emails {
		if email != "" && strings.EqualFold(e, email) {
			if found >= 0 {
				return -1
			}
			found = i
		}
	}
	return found
}

func canonicalJSON(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v) // maps marshal with sorted keys
	return string(b)
}

// ---------------------------------------------------------------------------------------
// latch users job ID

func usersJob(ctx context.Context, name string, args []string, env Env) error {
	cmd := newCommand(name, env)
	wait := cmd.fs.Bool("wait", false, "wait for the job to finish")
	pos, err := cmd.parse(args, "latch users job ID [--wait]", 1)
	if err != nil {
		return err
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	if *wait {
		return reportJob(ctx, cmd, c, pos[0], nil)
	}
	j, raw, err := getJob(ctx, c, pos[0])
	if err != nil {
		return err
	}
	if j.finished() {
		return reportJob(ctx, cmd, c, pos[0], nil)
	}
	if cmd.json() {
		return writeJSON(cmd.stdout(), raw)
	}
	fmt.Fprintf(cmd.stdout(), "%s job %s %s: %d%% done\n", strings.TrimPrefix(j.Type, "users_"), j.ID, j.Status, j.PercentageDone)
	return nil
}

// ---------------------------------------------------------------------------------------
// latch users export --connection NAME

// exportField is one of the fields an export writes; export_as renames its column.
type exportField struct {
	Name     string `json:"name"`
	ExportAs string `json:"export_as,omitempty"`
}

// parseExportFields reads "email,user_metadata.plan=plan".
func parseExportFields(s string) ([]exportField, error) {
	var out []exportField
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, as, _ := strings.Cut(f, "=")
		name, as = strings.TrimSpace(name), strings.TrimSpace(as)
		if name == "" {
			return nil, fmt.Errorf("--fields: %q has no field name", f)
		}
		out = append(out, exportField{Name: name, ExportAs: as})
	}
	return out, nil
}

func usersExport(ctx context.Context, name string, args []string, env Env) error {
	cmd := newCommand(name, env)
	conn := cmd.fs.String("connection", "", "the connection whose users to export (required)")
	format := cmd.fs.String("format", "ndjson", "ndjson (one JSON user a line) or csv")
	fieldsFlag := cmd.fs.String("fields", "", "fields to export, comma-separated; name=column renames (default: latch's)")
	outFile := cmd.fs.String("o", "", "write to FILE (FILE.gz: keep it gzip'd) instead of stdout")
	usage := "latch users export --connection NAME [--format ndjson|csv] [--fields a,b=alias] [-o FILE]"
	if _, err := cmd.parse(args, usage, 0); err != nil {
		return err
	}
	if *conn == "" {
		return usageErrorf("missing --connection\nusage: %s", usage)
	}
	apiFormat := map[string]string{"ndjson": "json", "json": "json", "csv": "csv"}[*format]
	if apiFormat == "" {
		return usageErrorf("--format %q: want ndjson or csv", *format)
	}
	fields, err := parseExportFields(*fieldsFlag)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if *outFile == "" && cmd.json() {
		return usageErrorf("--output json needs -o FILE: without it the export itself goes to stdout")
	}
	c, err := cmd.client()
	if err != nil {
		return err
	}
	connID, err := connectionID(ctx, c, *conn)
	if err != nil {
		return err
	}
	body := map[string]any{"connection_id": connID, "format": apiFormat}
	if len(fields) > 0 {
		body["fields"] = fields
	}
	var created job
	if err := c.call(ctx, http.MethodPost, "/api/v2/jobs/users-exports", body, &created); err != nil {
		return err
	}
	if created.ID == "" {
		return errors.New("POST /api/v2/jobs/users-exports: no job id in the answer")
	}
	j, raw, err := waitJob(ctx, c, env, created.ID)
	if err != nil {
		return err
	}
	if j.Status != jobCompleted {
		msg := fmt.Sprintf("export job %s %s", j.ID, j.Status)
		if why := j.why(); why != "" {
			msg += ": " + why
		}
		return errors.New(msg)
	}
	if j.Location == "" {
		return fmt.Errorf("export job %s completed without a location to download", j.ID)
	}
	lines, n, err := c.downloadExport(ctx, j.Location, *outFile, env.Stdout)
	if err != nil {
		return err
	}
	switch {
	case cmd.json():
		return writeJSON(cmd.stdout(), map[string]any{"job": raw, "file": *outFile, "bytes": n, "lines": lines})
	case *outFile != "" && lines < 0:
		fmt.Fprintf(cmd.stdout(), "exported %s users of %s to %s (%d bytes, gzip'd)\n", *format, *conn, *outFile, n)
	case *outFile != "":
		fmt.Fprintf(cmd.stdout(), "exported %s users of %s to %s (%d lines, %d bytes)\n", *format, *conn, *outFile, lines, n)
	default:
		fmt.Fprintf(env.Stderr, "exported %d lines (%d bytes)\n", lines, n)
	}
	return nil
}

// downloadExport fetches an export's file and writes it, ungzip'd unless the file name ends
// in .gz, to outFile (through a temporary file in the same directory, mode 0600: it holds
// user data) or to stdout. The token goes along only to latch itself: a location elsewhere
// (a storage bucket's signed URL) gets no Authorization header.
func (c *client) downloadExport(ctx context.Context, location, outFile string, stdout io.Writer) (lines, n int64, err error) {
	base, err := url.Parse(c.base)
	if err != nil {
		return 0, 0, err
	}
	loc, err := base.Parse(location)
	if err != nil {
		return 0, 0, fmt.Errorf("export location %q: %w", location, err)
	}
	if loc.Scheme != "https" && loc.Scheme != "http" {
		return 0, 0, fmt.Errorf("export location %q: not an http(s) URL", location)
	}
	sameOrigin := loc.Scheme == base.Scheme && loc.Host == base.Host
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return 0, 0, err
	}
	hc := c.http
	if sameOrigin {
		if err := c.login(ctx); err != nil {
			return 0, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
	} else {
		// Another host: verified normally, whatever --insecure-skip-verify says of latch.
		strict := c.cr
		strict.insecure = false
		conf, err := tlsConfig(strict)
		if err != nil {
			return 0, 0, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = conf
		hc = &http.Client{Transport: tr}
	}
	resp, err := hc.Do(req)
	if err != nil {
		if sameOrigin {
			return 0, 0, &unreachableError{url: c.base, err: unwrapURLError(err)}
		}
		return 0, 0, fmt.Errorf("downloading the export from %s: %w", loc.Host, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return 0, 0, parseAPIError("GET "+loc.Path, resp.StatusCode, body)
	}
	var src io.Reader = bufio.NewReader(resp.Body)
	keepGzip := strings.HasSuffix(outFile, ".gz")
	if !keepGzip {
		br := src.(*bufio.Reader)
		if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
			zr, err := gzip.NewReader(br)
			if err != nil {
				return 0, 0, fmt.Errorf("the export is not valid gzip: %w", err)
			}
			defer zr.Close()
			src = zr
		}
	}
	counter := &lineCounter{}
	if outFile == "" {
		n, err = io.Copy(io.MultiWriter(stdout, counter), src)
		return counter.lines, n, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(outFile), "."+filepath.Base(outFile)+".*.part")
	if err != nil {
		return 0, 0, err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing left to remove
	n, err = io.Copy(io.MultiWriter(tmp, counter), src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, fmt.Errorf("downloading the export: %w", err)
	}
	if err := os.Rename(tmp.Name(), outFile); err != nil {
		return 0, 0, err
	}
	if keepGzip {
		return -1, n, nil // lines of compressed bytes mean nothing
	}
	return counter.lines, n, nil
}

type lineCounter struct{ lines int64 }

func (l *lineCounter) Write(p []byte) (int, error) {
	l.lines += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}
