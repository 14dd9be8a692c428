package flow

// Management API jobs (AUTH0-COMPAT §5.9): user imports and exports run in the background by
// a runner in every instance. A job is durable: any instance answers for it, and a job cut
// short by a stopped instance is failed with what it had done, never left half-done in
// silence (importing again with upsert finishes it).

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/latchauth/latch/storage"
)

// JobSettings tunes the job runner; zero fields take the defaults.
type JobSettings struct {
	// MaxImportBytes bounds an import's file (default DefaultMaxImportBytes).
	MaxImportBytes int64
	// Retention is how long a finished job, and an export's file, are kept (default 24 h).
	Retention time.Duration
	// Poll is how often the runner looks for jobs other instances created (default 2 s).
	Poll time.Duration
}

const (
	// DefaultMaxImportBytes bounds an import file. Auth0 takes 500 KB per job; latch takes
	// far more so that a migration needs few jobs, and still bounds what one request holds
	// in memory.
	DefaultMaxImportBytes = 64 << 20
	// importBatch is how many users one storage call imports. Larger batches import faster
	// (fewer commits and checkpoints: 4 400 users/s at 2 000, 5 600–6 200 at 5 000 on the
	// benchmark machine) but hold the embedded store's one writer longer, about half a second
	// a batch, during which logins' writes wait.
	importBatch = 5000
	// maxJobErrors bounds the failed users a job keeps in detail; the summary counts them all.
	maxJobErrors = 10_000
	// maxExportFields is Auth0's limit on an export's fields.
	maxExportFields = 30
	// staleJob is how long a processing job may go without a heartbeat before it is taken
	// for the job of an instance that stopped.
	staleJob = time.Minute
)

func withJobDefaults(j JobSettings) JobSettings {
	if j.MaxImportBytes <= 0 {
		j.MaxImportBytes = DefaultMaxImportBytes
	}
	if j.Retention <= 0 {
		j.Retention = 24 * time.Hour
	}
	if j.Poll <= 0 {
		j.Poll = 2 * time.Second
	}
	return j
}

// Job errors.
var (
	ErrJobNotFound     = errors.New("the job does not exist")
	ErrJobsUnavailable = errors.New("the store keeps no jobs")
	// ErrImportTooLarge: the import file is larger than JobSettings.MaxImportBytes.
	ErrImportTooLarge = errors.New("the users file is too large")
)

// MaxImportBytes is the largest import file this service takes.
func (s *Service) MaxImportBytes() int64 { return s.jobSettings.MaxImportBytes }

// newJobID makes an id shaped like Auth0's: "job_" and 16 letters or digits.
func newJobID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b [16]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "job_" + string(b[:])
}

// jobConnection finds the database connection a job names by id.
func (s *Service) jobConnection(ctx context.Context, id string) (storage.Connection, error) {
	if id == "" {
		return storage.Connection{}, missingProperty("connection_id")
	}
	conn, err := s.connections.GetConnection(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && conn.Strategy != "auth0") {
		return storage.Connection{}, ErrConnectionNotFound
	}
	if err != nil {
		return storage.Connection{}, fmt.Errorf("read connection: %w", err)
	}
	return conn, nil
}

// ImportJobRequest is the form of POST /api/v2/jobs/users-imports.
type ImportJobRequest struct {
	ConnectionID        string
	Users               []byte
	Upsert              bool
	ExternalID          string
	SendCompletionEmail bool
}

// CreateImportJob checks the file is a JSON array of objects and queues the import.
func (s *Service) CreateImportJob(ctx context.Context, req ImportJobRequest) (storage.Job, error) {
	if s.jobs == nil {
		return storage.Job{}, ErrJobsUnavailable
	}
	conn, err := s.jobConnection(ctx, req.ConnectionID)
	if err != nil {
		return storage.Job{}, err
	}
	if int64(len(req.Users)) > s.jobSettings.MaxImportBytes {
		return storage.Job{}, fmt.Errorf("%w (%d bytes, at most %d)", ErrImportTooLarge, len(req.Users), s.jobSettings.MaxImportBytes)
	}
	if len(req.ExternalID) > 255 {
		return storage.Job{}, payloadError("external_id", "'String is too long (%d chars), maximum 255' on property external_id.", len(req.ExternalID))
	}
	total, err := countImportUsers(req.Users)
	if err != nil {
		return storage.Job{}, payloadError("users", "'%s' on property users.", err)
	}
	now := s.now()
	j := storage.Job{
		ID: newJobID(), Type: storage.JobUsersImport, Status: storage.JobPending,
		ConnectionID: conn.ID, Connection: conn.Name, ExternalID: req.ExternalID,
		Upsert: req.Upsert, SendCompletionEmail: req.SendCompletionEmail, Input: req.Users,
		Summary:   storage.JobSummary{Total: total},
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.jobSettings.Retention),
	}
	if err := s.jobs.CreateJob(ctx, j); err != nil {
		return storage.Job{}, fmt.Errorf("create job: %w", err)
	}
	s.wakeJobs()
	j.Input = nil
	return j, nil
}

// countImportUsers checks that data is one JSON array of objects and counts them, so that
// a malformed file is refused before anything is imported.
func countImportUsers(data []byte) (int, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return 0, errors.New("the users file is empty")
	}
	d := json.NewDecoder(bytes.NewReader(data))
	if tok, err := d.Token(); err != nil || tok != json.Delim('[') {
		return 0, errors.New("the users file must be a JSON array of users")
	}
	n := 0
	for d.More() {
		var obj map[string]json.RawMessage
		if err := d.Decode(&obj); err != nil {
			return 0, fmt.Errorf("user %d of the users file is not a JSON object (%v)", n, jsonProblem(err))
		}
		n++
	}
	if _, err := d.Token(); err != nil {
		return 0, fmt.Errorf("the users file is not valid JSON (%v)", jsonProblem(err))
	}
	if _, err := d.Token(); err == nil {
		return 0, errors.New("the users file holds something after its array")
	}
	if n == 0 {
		return 0, errors.New("the users file holds no user")
	}
	return n, nil
}

// jsonProblem says what is wrong with a JSON input without echoing it.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("a %s where an object was expected", te.Value)
	}
	return "unexpected end of input"
}

// ExportJobRequest is the body of POST /api/v2/jobs/users-exports.
type ExportJobRequest struct {
	// ConnectionID limits the export to one connection ("" exports every user).
	ConnectionID string
	Format       string // "json" (NDJSON, the default) or "csv"
	Limit        int    // 0: every user
	Fields       []storage.ExportField
}

// CreateExportJob checks the request and queues the export.
func (s *Service) CreateExportJob(ctx context.Context, req ExportJobRequest) (storage.Job, error) {
	if s.jobs == nil {
		return storage.Job{}, ErrJobsUnavailable
	}
	var conn storage.Connection
	if req.ConnectionID != "" {
		var err error
		if conn, err = s.jobConnection(ctx, req.ConnectionID); err != nil {
			return storage.Job{}, err
		}
	}
	switch req.Format {
	case "":
		req.Format = "json"
	case "json", "csv":
	default:
		return storage.Job{}, payloadError("format", "'No enum match for: %q' on property format.", quoteInput(req.Format))
	}
	if req.Limit < 0 {
		return storage.Job{}, payloadError("limit", "'Value %d is less than minimum 1' on property limit.", req.Limit)
	}
	if len(req.Fields) > maxExportFields {
		return storage.Job{}, payloadError("fields", "'Array is too long (%d), maximum %d' on property fields.", len(req.Fields), maxExportFields)
	}
	for i, f := range req.Fields {
		if err := checkExportField(f, req.Format); err != nil {
			return storage.Job{}, payloadError(fmt.Sprintf("fields[%d]", i), "'%s' on property fields[%d].name.", err, i)
		}
	}
	now := s.now()
	j := storage.Job{
		ID: newJobID(), Type: storage.JobUsersExport, Status: storage.JobPending,
		ConnectionID: conn.ID, Connection: conn.Name,
		Format: req.Format, Limit: req.Limit, Fields: req.Fields,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.jobSettings.Retention),
	}
	if err := s.jobs.CreateJob(ctx, j); err != nil {
		return storage.Job{}, fmt.Errorf("create job: %w", err)
	}
	s.wakeJobs()
	return j, nil
}

// GetJob returns a job without its input.
func (s *Service) GetJob(ctx context.Context, id string) (storage.Job, error) {
	if s.jobs == nil {
		return storage.Job{}, ErrJobNotFound
	}
	j, err := s.jobs.GetJob(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Job{}, ErrJobNotFound
	}
	if err != nil {
		return storage.Job{}, err
	}
	j.Input = nil
	return j, nil
}

// ExportFile returns a completed export's file when token is the one its location carries.
func (s *Service) ExportFile(ctx context.Context, id, token string) ([]byte, error) {
	j, err := s.GetJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.Type != storage.JobUsersExport || j.Status != storage.JobCompleted || j.DownloadToken == "" ||
		subtle.ConstantTimeCompare([]byte(token), []byte(j.DownloadToken)) != 1 {
		return nil, ErrJobNotFound
	}
	data, err := s.jobs.JobOutput(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrJobNotFound
	}
	return data, err
}

// ExportLocation is where a completed export is downloaded: a URL holding the job's random
// download token, which works without a Management API token, as Auth0's pre-signed
// location does. It lives as long as the job.
func (s *Service) ExportLocation(j storage.Job) string {
	if j.Type != storage.JobUsersExport || j.Status != storage.JobCompleted || j.DownloadToken == "" {
		return ""
	}
	return s.issuerURL + "api/v2/jobs/" + j.ID + "/file/" + j.DownloadToken
}

// ---------------------------------------------------------------------------------------
// The runner

// RunJobs runs queued jobs until ctx ends: first it fails the jobs an instance stopped in
// the middle of, then it takes pending jobs one at a time, as they come (this instance's
// are woken at once, other instances' found by polling).
func (s *Service) RunJobs(ctx context.Context) {
	if s.jobs == nil {
		return
	}
	tick := time.NewTicker(s.jobSettings.Poll)
	defer tick.Stop()
	for {
		s.runPendingJobs(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.jobWake:
		}
	}
}

// wakeJobs tells this instance's runner a job is waiting.
func (s *Service) wakeJobs() {
	select {
	case s.jobWake <- struct{}{}:
	default:
	}
}

func (s *Service) runPendingJobs(ctx context.Context) {
	jobs, err := s.jobs.ListUnfinishedJobs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.WarnContext(ctx, "listing jobs", "error", err)
		}
		return
	}
	for _, j := range jobs {
		if ctx.Err() != nil {
			return
		}
		switch {
		case j.Status == storage.JobProcessing && s.now().Sub(j.Heartbeat) > staleJob:
			s.failInterrupted(ctx, j.ID)
		case j.Status == storage.JobPending:
			if claimed, ok := s.claimJob(ctx, j.ID); ok {
				s.runJob(ctx, claimed)
			}
		}
	}
}

// claimJob moves a pending job to processing under this instance's name. Two instances
// racing for a job both try; the store's compare-and-swap lets one of them see it pending.
func (s *Service) claimJob(ctx context.Context, id string) (storage.Job, bool) {
	j, err := s.jobs.UpdateJob(ctx, id, func(j storage.Job) (storage.Job, error) {
		if j.Status != storage.JobPending {
			return j, errJobTaken
		}
		j.Status, j.Owner, j.Heartbeat, j.UpdatedAt = storage.JobProcessing, s.instance, s.now(), s.now()
		return j, nil
	})
	if err != nil {
		if !errors.Is(err, errJobTaken) && ctx.Err() == nil {
			s.log.WarnContext(ctx, "claiming a job", "job_id", id, "error", err)
		}
		return storage.Job{}, false
	}
	return j, true
}

var errJobTaken = errors.New("job taken by another instance")

// failInterrupted fails a job whose instance stopped: what it imported stays, and the
// message says how far it got.
func (s *Service) failInterrupted(ctx context.Context, id string) {
	_, err := s.jobs.UpdateJob(ctx, id, func(j storage.Job) (storage.Job, error) {
		if j.Status != storage.JobProcessing || s.now().Sub(j.Heartbeat) <= staleJob {
			return j, errJobTaken
		}
		msg := "The job was interrupted: the latch instance running it stopped."
		if j.Type == storage.JobUsersImport {
			msg += fmt.Sprintf(" %d of %d users were handled (%d inserted, %d updated, %d failed); import the file again with upsert to finish.",
				j.Processed, j.Summary.Total, j.Summary.Inserted, j.Summary.Updated, j.Summary.Failed)
		}
		return s.finished(j, storage.JobFailed, msg), nil
	})
	if err != nil && !errors.Is(err, errJobTaken) && ctx.Err() == nil {
		s.log.WarnContext(ctx, "failing an interrupted job", "job_id", id, "error", err)
	}
}

// finished is j ended with status: its input dropped, its completion dated.
func (s *Service) finished(j storage.Job, status, message string) storage.Job {
	now := s.now()
	j.Status, j.Message, j.Input = status, message, nil
	j.CompletedAt, j.UpdatedAt, j.Heartbeat = now, now, now
	j.ExpiresAt = now.Add(s.jobSettings.Retention)
	return j
}

func (s *Service) runJob(ctx context.Context, j storage.Job) {
	started := s.now()
	var err error
	switch j.Type {
	case storage.JobUsersImport:
		err = s.runImport(ctx, j)
	case storage.JobUsersExport:
		err = s.runExport(ctx, j)
	default:
		err = fmt.Errorf("unknown job type %q", j.Type)
	}
	if err == nil {
		s.log.InfoContext(ctx, "job completed", "job_id", j.ID, "type", j.Type, "took", s.now().Sub(started))
		return
	}
	if ctx.Err() != nil {
		return // shutting down: the job goes stale and the next start fails it
	}
	s.log.WarnContext(ctx, "job failed", "job_id", j.ID, "type", j.Type, "error", err)
	_, uerr := s.jobs.UpdateJob(ctx, j.ID, func(cur storage.Job) (storage.Job, error) {
		return s.finished(cur, storage.JobFailed, jobFailure(err)), nil
	})
	if uerr != nil {
		s.log.WarnContext(ctx, "recording a failed job", "job_id", j.ID, "error", uerr)
	}
}

// jobFailure is the message a failed job shows: the validation message when there is one,
// a generic one otherwise (the cause is in the log).
func jobFailure(err error) string {
	var ire *InvalidRequestError
	if errors.As(err, &ire) {
		return ire.Message
	}
	if errors.Is(err, ErrConnectionNotFound) {
		return "The connection of the job does not exist any more."
	}
	return "The job failed because of an internal error; see latch's log."
}

// heartbeat records progress; it fails when the job is no longer this instance's.
func (s *Service) heartbeat(ctx context.Context, id string, change func(*storage.Job)) error {
	_, err := s.jobs.UpdateJob(ctx, id, func(j storage.Job) (storage.Job, error) {
		if j.Status != storage.JobProcessing || j.Owner != s.instance {
			return j, errJobTaken
		}
		change(&j)
		j.Heartbeat, j.UpdatedAt = s.now(), s.now()
		return j, nil
	})
	return err
}

// jobDetail is one error of an imported user in Auth0's words.
func jobDetail(code, path, format string, args ...any) storage.JobErrorDetail {
	return storage.JobErrorDetail{Code: code, Path: path, Message: fmt.Sprintf(format, args...)}
}

// randomToken is a download token: 128 random bits, hex.
func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
