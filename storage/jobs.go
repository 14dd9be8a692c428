package storage

import (
	"context"
	"time"
)

// Job types and statuses, as the Management API names them (AUTH0-COMPAT §5.9).
const (
	JobUsersImport = "users_import"
	JobUsersExport = "users_export"

	JobPending    = "pending"
	JobProcessing = "processing"
	JobCompleted  = "completed"
	JobFailed     = "failed"
)

// Job is a long-running Management API task: a user import or export. It is durable so that
// every instance can answer for it, and so that a restart finds it (and fails it cleanly
// when it was cut short: see flow's job runner).
type Job struct {
	ID     string // "job_" + 16 characters
	Type   string // JobUsersImport or JobUsersExport
	Status string

	ConnectionID string
	Connection   string // the connection's name
	ExternalID   string

	// Import: the file and the options it came with. Input is stored by CreateJob and read
	// back with JobInput only (GetJob and UpdateJob leave it nil: it may be large); the store
	// drops it when the job ends.
	Upsert              bool
	SendCompletionEmail bool
	Input               []byte

	// Export: the format ("json" for NDJSON, "csv"), the fields (empty: the default set) and
	// at most how many users (0: all).
	Format string
	Fields []ExportField
	Limit  int

	// Progress: how many users of Total were handled, and what happened to them.
	Processed int
	Summary   JobSummary
	// Errors lists the import's failed users, in file order (bounded by the runner).
	Errors []JobError
	// Message says why a failed job failed.
	Message string
	// DownloadToken is the random secret of a completed export's download location.
	DownloadToken string
	// Owner is the instance running the job, and Heartbeat when it last said so: a job whose
	// heartbeat is old lost its instance.
	Owner     string
	Heartbeat time.Time

	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt time.Time
	// ExpiresAt is when the job, and an export's file, are deleted.
	ExpiresAt time.Time
}

// ExportField is one column of an export: a profile attribute (or a metadata path such as
// "user_metadata.plan"), and the name it is exported as ("" keeps Name).
type ExportField struct {
	Name     string
	ExportAs string
}

// JobSummary counts an import's outcome (Auth0's summary object).
type JobSummary struct {
	Failed   int
	Updated  int
	Inserted int
	Total    int
}

// JobError is one user an import could not store: its position in the file (0-based), the
// user as the file gave it, and why.
type JobError struct {
	Index  int
	User   Metadata
	Errors []JobErrorDetail
}

// JobErrorDetail is one reason, in Auth0's shape: a code such as "DUPLICATED_USER" or
// "INVALID_FORMAT", a message and the path of the offending field.
type JobErrorDetail struct {
	Code    string
	Message string
	Path    string
}

// Jobs stores jobs and export files.
type Jobs interface {
	// CreateJob stores a new job; ErrAlreadyExists when the id is taken.
	CreateJob(ctx context.Context, j Job) error
	GetJob(ctx context.Context, id string) (Job, error)
	// UpdateJob replaces the job with what update returns (see the package contract), but
	// never its input; when the job ends (completed or failed), its input is dropped.
	UpdateJob(ctx context.Context, id string, update func(Job) (Job, error)) (Job, error)
	// JobInput returns the file the job was created with; ErrNotFound when the job is gone
	// or has ended.
	JobInput(ctx context.Context, id string) ([]byte, error)
	// ListUnfinishedJobs returns the pending and processing jobs, oldest first.
	ListUnfinishedJobs(ctx context.Context) ([]Job, error)
	// SetJobOutput stores an export's file (replacing any before); ErrNotFound when there is
	// no such job.
	SetJobOutput(ctx context.Context, id string, data []byte) error
	// JobOutput returns the export's file; ErrNotFound when the job or its file is missing.
	JobOutput(ctx context.Context, id string) ([]byte, error)
	// DeleteExpiredJobs removes the jobs (and files) that expired before now.
	DeleteExpiredJobs(ctx context.Context, now time.Time) (int, error)
}

// ImportedUser is one user of an import, ready to store: the profile and its password hash
// ("" for none).
type ImportedUser struct {
	User         User
	PasswordHash string
}

// MergeImported decides what an upsert makes of an existing user: given the user as stored,
// its password hash ("" for none) and the index of the imported user in the batch, it
// returns the profile to store and the hash to store ("" keeps the stored one). Like an
// updater it may run more than once and must not call the store.
type MergeImported func(existing User, existingHash string, i int) (User, string, error)

// ImportResult is what became of one imported user.
type ImportResult struct {
	Inserted bool
	Updated  bool
	// Err is nil, ErrAlreadyExists (without upsert: the id, email or username is taken), or
	// the error merge returned.
	Err error
}

// UserImports stores imported users in batches, far faster than one CreateUser each.
type UserImports interface {
	// ImportUsers stores users in order. Without merge, each user is created, or fails with
	// ErrAlreadyExists and leaves nothing behind. With merge, a user that matches a stored
	// user of its connection — by id, else by email, else by username — is replaced by what
	// merge returns; one that matches none is created. Results has one entry per user; the
	// error is for a failure of the whole batch (then nothing of it may have been stored).
	ImportUsers(ctx context.Context, users []ImportedUser, merge MergeImported) ([]ImportResult, error)
}
