package flow

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/latchauth/latch/storage"
)

// exportPage is how many users one read of an export fetches.
const exportPage = 5000

// Export field names: profile attributes, the first identity's, and metadata (whole, in
// NDJSON only, or by dotted path).
var exportAttributes = map[string]func(u storage.User) any{
	"user_id":                  func(u storage.User) any { return u.ID },
	"email":                    func(u storage.User) any { return u.Email },
	"email_verified":           func(u storage.User) any { return u.EmailVerified },
	"username":                 func(u storage.User) any { return u.Username },
	"phone_number":             func(u storage.User) any { return u.PhoneNumber },
	"phone_verified":           func(u storage.User) any { return u.PhoneVerified },
	"name":                     func(u storage.User) any { return u.Name },
	"nickname":                 func(u storage.User) any { return u.Nickname },
	"given_name":               func(u storage.User) any { return u.GivenName },
	"family_name":              func(u storage.User) any { return u.FamilyName },
	"picture":                  func(u storage.User) any { return u.Picture },
	"blocked":                  func(u storage.User) any { return u.Blocked },
	"created_at":               func(u storage.User) any { return exportTime(u.CreatedAt) },
	"updated_at":               func(u storage.User) any { return exportTime(u.UpdatedAt) },
	"last_login":               func(u storage.User) any { return exportTime(u.LastLogin) },
	"last_password_reset":      func(u storage.User) any { return exportTime(u.LastPasswordReset) },
	"last_ip":                  func(u storage.User) any { return u.LastIP },
	"logins_count":             func(u storage.User) any { return u.LoginsCount },
	"identities[0].connection": func(u storage.User) any { return u.Connection },
	"identities[0].provider":   func(u storage.User) any { return u.Provider() },
	"identities[0].user_id":    func(u storage.User) any { return u.LocalID() },
	"identities[0].isSocial":   func(u storage.User) any { return false },
	"user_metadata":            func(u storage.User) any { return metadataOrEmpty(u.UserMetadata) },
	"app_metadata":             func(u storage.User) any { return metadataOrEmpty(u.AppMetadata) },
}

// defaultExportFields is what an export without fields carries; NDJSON adds the metadata so
// that an export imports back whole.
var defaultExportFields = []string{"user_id", "email", "email_verified", "username", "name", "nickname",
	"given_name", "family_name", "picture", "blocked", "created_at", "updated_at", "last_login", "logins_count"}

func exportTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func metadataOrEmpty(m storage.Metadata) storage.Metadata {
	if m == nil {
		return storage.Metadata{}
	}
	return m
}

// checkExportField accepts an attribute, or a metadata path (whole metadata objects only in
// NDJSON: a CSV cell holds one value).
func checkExportField(f storage.ExportField, format string) error {
	name := f.Name
	switch {
	case name == "":
		return errors.New("a field needs a name")
	case len(name) > 256 || len(f.ExportAs) > 256:
		return errors.New("field names are at most 256 characters")
	case (name == "user_metadata" || name == "app_metadata") && format == "csv":
		return fmt.Errorf("%s cannot be exported whole as CSV: name its fields (%s.some_key)", name, name)
	}
	if _, ok := exportAttributes[name]; ok {
		return nil
	}
	for _, prefix := range []string{"user_metadata.", "app_metadata."} {
		if path, ok := strings.CutPrefix(name, prefix); ok && path != "" && !strings.Contains(path, "..") &&
			!strings.HasSuffix(path, ".") {
			return nil
		}
	}
	return fmt.Errorf("%s is not a field latch exports", quoteInput(name))
}

// exportValue reads one field of a user (nil when the user has no such value).
func exportValue(u storage.User, name string) any {
	if read, ok := exportAttributes[name]; ok {
		return read(u)
	}
	var cur any
	switch {
	case strings.HasPrefix(name, "user_metadata."):
		cur, name = map[string]any(u.UserMetadata), strings.TrimPrefix(name, "user_metadata.")
	case strings.HasPrefix(name, "app_metadata."):
		cur, name = map[string]any(u.AppMetadata), strings.TrimPrefix(name, "app_metadata.")
	default:
		return nil
	}
	for _, key := range strings.Split(name, ".") {
		var m map[string]any
		switch t := cur.(type) {
		case map[string]any:
			m = t
		case storage.Metadata:
			m = t
		default:
			return nil
		}
		cur = m[key]
	}
	return cur
}

// exportColumns is the fields of the job with their output names.
func exportColumns(j storage.Job) []storage.ExportField {
	if len(j.Fields) > 0 {
		return j.Fields
	}
	names := defaultExportFields
	if j.Format != "csv" {
		names = append(names[:len(names):len(names)], "user_metadata", "app_metadata")
	}
	out := make([]storage.ExportField, len(names))
	for i, n := range names {
		out[i] = storage.ExportField{Name: n}
	}
	return out
}

// runExport writes the users of the job's connection (all users without one) as gzip'd
// NDJSON or CSV, stores the file with the job, and completes it with a download token.
func (s *Service) runExport(ctx context.Context, j storage.Job) error {
	cols := exportColumns(j)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	w := newExportWriter(zw, j.Format, cols)
	if err := w.header(); err != nil {
		return err
	}
	written := 0
	for page := 0; ; page++ {
		users, _, err := s.users.ListUsers(ctx, storage.Page{Page: page, PerPage: exportPage})
		if err != nil {
			return fmt.Errorf("export: list users: %w", err)
		}
		for _, u := range users {
			if j.ConnectionID != "" && u.Connection != j.Connection {
				continue
			}
			if err := w.user(u); err != nil {
				return err
			}
			written++
			if j.Limit > 0 && written == j.Limit {
				break
			}
		}
		if len(users) < exportPage || (j.Limit > 0 && written == j.Limit) {
			break
		}
		if err := s.heartbeat(ctx, j.ID, func(cur *storage.Job) { cur.Processed = written }); err != nil {
			return err
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("export: compress: %w", err)
	}
	if err := s.jobs.SetJobOutput(ctx, j.ID, buf.Bytes()); err != nil {
		return fmt.Errorf("export: store file: %w", err)
	}
	_, err := s.jobs.UpdateJob(ctx, j.ID, func(cur storage.Job) (storage.Job, error) {
		if cur.Owner != s.instance {
			return cur, errJobTaken
		}
		cur.Processed = written
		cur.Summary.Total = written
		cur.DownloadToken = randomToken()
		return s.finished(cur, storage.JobCompleted, ""), nil
	})
	return err
}

// exportWriter writes users as NDJSON (one object per line, keyed by the output names) or
// CSV (a header line, then one line per user; objects and arrays JSON-encoded in their cell).
type exportWriter struct {
	format string
	cols   []storage.ExportField
	csv    *csv.Writer
	enc    *json.Encoder
	row    []string
}

func newExportWriter(w *gzip.Writer, format string, cols []storage.ExportField) *exportWriter {
	ew := &exportWriter{format: format, cols: cols}
	if format == "csv" {
		ew.csv = csv.NewWriter(w)
		ew.row = make([]string, len(cols))
	} else {
		ew.enc = json.NewEncoder(w)
		ew.enc.SetEscapeHTML(false)
	}
	return ew
}

func outputName(f storage.ExportField) string {
	if f.ExportAs != "" {
		return f.ExportAs
	}
	return f.Name
}

func (w *exportWriter) header() error {
	if w.csv == nil {
		return nil
	}
	for i, c := range w.cols {
		w.row[i] = outputName(c)
	}
	return w.csv.Write(w.row)
}

func (w *exportWriter) user(u storage.User) error {
	if w.csv == nil {
		obj := make(map[string]any, len(w.cols))
		for _, c := range w.cols {
			if v := exportValue(u, c.Name); v != nil {
				obj[outputName(c)] = v
			}
		}
		if err := w.enc.Encode(obj); err != nil {
			return fmt.Errorf("export: encode user: %w", err)
		}
		return nil
	}
	for i, c := range w.cols {
		w.row[i] = csvCell(exportValue(u, c.Name))
	}
	return w.csv.Write(w.row)
}

func (w *exportWriter) flush() error {
	if w.csv == nil {
		return nil
	}
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return fmt.Errorf("export: write CSV: %w", err)
	}
	return nil
}

// csvCell is a value as text: strings as they are, numbers and booleans as JSON writes them,
// objects and arrays as JSON.
func csvCell(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case json.Number:
		return t.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
