package mongo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/latchauth/latch/storage"
)

var (
	_ storage.Jobs        = (*Store)(nil)
	_ storage.UserImports = (*Store)(nil)
)

// A job is a small document: its id, status, the times it is queried by, and the rest of
// it as JSON text (data), like the SQLite backend keeps it. Its files (an import's input,
// an export's output) can be far larger than a BSON document may be (16 MiB), so they are
// kept in job_files, cut into chunks, under a generation id that the job's document names:
// a file is written whole under a new generation before the job points at it, and the old
// generation's chunks are deleted after, so a reader never sees half of one.
type jobDoc struct {
	ID        string     `bson:"_id"`
	Status    string     `bson:"status"`
	CreatedAt *time.Time `bson:"created_at,omitempty"`
	ExpiresAt *time.Time `bson:"expires_at,omitempty"`
	Data      string     `bson:"data"`
	Input     *fileRef   `bson:"input,omitempty"`
	Output    *fileRef   `bson:"output,omitempty"`
	Version   int64      `bson:"version"`
}

// fileRef names a file's chunks and says what a whole read of them must add up to.
type fileRef struct {
	Gen    string `bson:"gen"`
	Size   int64  `bson:"size"`
	Chunks int    `bson:"chunks"`
}

type fileChunk struct {
	ID   string `bson:"_id"` // gen/n
	Job  string `bson:"job"`
	Gen  string `bson:"gen"`
	N    int    `bson:"n"`
	Data []byte `bson:"data"`
}

// chunkSize leaves room under the 16 MiB document limit (a variable for the tests).
var chunkSize = 8 << 20

// jobProjection is what a read of a job needs: not the references to its files.
var jobProjection = bson.D{{Key: "data", Value: 1}, {Key: "status", Value: 1}, {Key: "version", Value: 1}}

func encodeJob(j storage.Job) (string, error) {
	j.Input = nil
	b, err := json.Marshal(j)
	if err != nil {
		return "", fmt.Errorf("encode job: %w", err)
	}
	return string(b), nil
}

func decodeJobData(data string) (storage.Job, error) {
	var j storage.Job
	d := json.NewDecoder(bytes.NewReader([]byte(data)))
	d.UseNumber() // metadata of failed users keeps its numbers as written
	if err := d.Decode(&j); err != nil {
		return storage.Job{}, fmt.Errorf("decode job: %w", err)
	}
	return j, nil
}

// normalJob is j with its times as the store keeps them, and without its input.
func normalJob(j storage.Job) storage.Job {
	j.CreatedAt, j.UpdatedAt = storage.Time(j.CreatedAt), storage.Time(j.UpdatedAt)
	j.CompletedAt, j.ExpiresAt = storage.Time(j.CompletedAt), storage.Time(j.ExpiresAt)
	j.Heartbeat = storage.Time(j.Heartbeat)
	j.Input = nil
	return j
}

func (d jobDoc) job() (storage.Job, error) {
	j, err := decodeJobData(d.Data)
	if err != nil {
		return storage.Job{}, fmt.Errorf("job %s: %w", d.ID, err)
	}
	j.ID, j.Status = d.ID, d.Status
	return j, nil
}

// newJobDoc returns j's document and j as a read of it returns it.
func newJobDoc(j storage.Job) (jobDoc, storage.Job, error) {
	j = normalJob(j)
	data, err := encodeJob(j)
	if err != nil {
		return jobDoc{}, storage.Job{}, err
	}
	d := jobDoc{ID: j.ID, Status: j.Status, CreatedAt: timePtr(j.CreatedAt), ExpiresAt: timePtr(j.ExpiresAt), Data: data}
	out, err := d.job()
	return d, out, err
}

func jobEnded(status string) bool {
	return status == storage.JobCompleted || status == storage.JobFailed
}

func (s *Store) CreateJob(ctx context.Context, j storage.Job) error {
	op := fmt.Sprintf("create job %q", j.ID)
	d, _, err := newJobDoc(j)
	if err != nil {
		return fmt.Errorf("mongo: %s: %w", op, err)
	}
	d.Version = 1
	if j.Input != nil {
		if d.Input, err = s.writeFile(ctx, op, j.ID, j.Input); err != nil {
			return err
		}
	}
	if _, err := s.jobs.InsertOne(ctx, d); err != nil {
		if d.Input != nil {
			s.dropChunks(ctx, d.Input.Gen)
		}
		return dbError(op, err)
	}
	return nil
}

func (s *Store) GetJob(ctx context.Context, id string) (storage.Job, error) {
	op := fmt.Sprintf("get job %q", id)
	var d jobDoc
	if err := s.jobs.FindOne(ctx, byID(id), options.FindOne().SetProjection(jobProjection)).Decode(&d); err != nil {
		return storage.Job{}, dbError(op, err)
	}
	j, err := d.job()
	if err != nil {
		return storage.Job{}, fmt.Errorf("mongo: %s: %w", op, err)
	}
	return j, nil
}

// UpdateJob is a compare-and-swap on the job's version (see casUpdate); it never writes
// the input, and drops it (document reference, then chunks) once the job has ended.
func (s *Store) UpdateJob(ctx context.Context, id string, update func(storage.Job) (storage.Job, error)) (storage.Job, error) {
	op := fmt.Sprintf("update job %q", id)
	var (
		out     storage.Job
		dropped *fileRef
	)
	err := s.casUpdate(ctx, s.jobs, op, id, nil, func(raw bson.Raw) (bson.D, []string, error) {
		var old jobDoc
		if err := bson.Unmarshal(raw, &old); err != nil {
			return nil, nil, dbError(op, err)
		}
		cur, err := old.job()
		if err != nil {
			return nil, nil, fmt.Errorf("mongo: %s: %w", op, err)
		}
		nj, err := update(cur)
		if err != nil {
			return nil, nil, err
		}
		nj.ID = id
		d, normal, err := newJobDoc(nj)
		if err != nil {
			return nil, nil, fmt.Errorf("mongo: %s: %w", op, err)
		}
		out = normal
		set := bson.D{{Key: "status", Value: d.Status}, {Key: "data", Value: d.Data}}
		var unset []string
		if d.ExpiresAt != nil {
			set = append(set, bson.E{Key: "expires_at", Value: *d.ExpiresAt})
		} else {
			unset = append(unset, "expires_at")
		}
		dropped = nil
		if jobEnded(d.Status) && old.Input != nil {
			unset, dropped = append(unset, "input"), old.Input
		}
		return set, unset, nil
	})
	if err != nil {
		return storage.Job{}, err
	}
	if dropped != nil {
		s.dropChunks(ctx, dropped.Gen)
	}
	return out, nil
}

func (s *Store) JobInput(ctx context.Context, id string) ([]byte, error) {
	return s.readJobFile(ctx, fmt.Sprintf("input of job %q", id), id, "input")
}

func (s *Store) ListUnfinishedJobs(ctx context.Context) ([]storage.Job, error) {
	const op = "list unfinished jobs"
	cur, err := s.jobs.Find(ctx,
		bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{storage.JobPending, storage.JobProcessing}}}}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}).SetProjection(jobProjection))
	if err != nil {
		return nil, dbError(op, err)
	}
	return collect(ctx, op, cur, func(raw bson.Raw) (storage.Job, error) {
		var d jobDoc
		if err := bson.Unmarshal(raw, &d); err != nil {
			return storage.Job{}, dbError(op, err)
		}
		j, err := d.job()
		if err != nil {
			return storage.Job{}, fmt.Errorf("mongo: %s: %w", op, err)
		}
		return j, nil
	})
}

// SetJobOutput writes the file under a new generation, points the job at it, then deletes
// the generation it replaced.
func (s *Store) SetJobOutput(ctx context.Context, id string, data []byte) error {
	op := fmt.Sprintf("set output of job %q", id)
	ref, err := s.writeFile(ctx, op, id, data)
	if err != nil {
		return err
	}
	var old *fileRef
	err = s.casUpdate(ctx, s.jobs, op, id, bson.D{{Key: "output", Value: 1}, {Key: "version", Value: 1}},
		func(raw bson.Raw) (bson.D, []string, error) {
			var d jobDoc
			if err := bson.Unmarshal(raw, &d); err != nil {
				return nil, nil, dbError(op, err)
			}
			old = d.Output
			return bson.D{{Key: "output", Value: ref}}, nil, nil
		})
	if err != nil {
		s.dropChunks(ctx, ref.Gen)
		return err
	}
	if old != nil {
		s.dropChunks(ctx, old.Gen)
	}
	return nil
}

func (s *Store) JobOutput(ctx context.Context, id string) ([]byte, error) {
	return s.readJobFile(ctx, fmt.Sprintf("output of job %q", id), id, "output")
}

// DeleteExpiredJobs deletes the jobs that expired before now, then their files.
func (s *Store) DeleteExpiredJobs(ctx context.Context, now time.Time) (int, error) {
	const op = "delete expired jobs"
	filter := bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: storage.Time(now)}}}}
	cur, err := s.jobs.Find(ctx, filter, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return 0, dbError(op, err)
	}
	ids, err := collect(ctx, op, cur, func(raw bson.Raw) (string, error) {
		id, _ := raw.Lookup("_id").StringValueOK()
		return id, nil
	})
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	res, err := s.jobs.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return 0, dbError(op, err)
	}
	if _, err := s.jobFiles.DeleteMany(ctx, bson.D{{Key: "job", Value: bson.D{{Key: "$in", Value: ids}}}}); err != nil {
		return int(res.DeletedCount), dbError(op, err)
	}
	return int(res.DeletedCount), nil
}

// writeFile stores data in chunks under a new generation and returns its reference.
func (s *Store) writeFile(ctx context.Context, op, job string, data []byte) (*fileRef, error) {
	ref := &fileRef{Gen: newBatchID(), Size: int64(len(data))}
	var chunks []any
	for n := 0; n == 0 || n*chunkSize < len(data); n++ {
		part := data[n*chunkSize : min((n+1)*chunkSize, len(data))]
		chunks = append(chunks, fileChunk{ID: fmt.Sprintf("%s/%d", ref.Gen, n), Job: job, Gen: ref.Gen, N: n, Data: part})
	}
	ref.Chunks = len(chunks)
	for _, c := range chunks { // one at a time: each may be most of a message's size
		if _, err := s.jobFiles.InsertOne(ctx, c); err != nil {
			s.dropChunks(ctx, ref.Gen)
			return nil, dbError(op, err)
		}
	}
	return ref, nil
}

// readJobFile reads the file the job names. A file replaced while it is read loses its
// chunks midway; the read then starts over with the job's new reference.
func (s *Store) readJobFile(ctx context.Context, op, id, field string) ([]byte, error) {
	for range 3 {
		var d jobDoc
		err := s.jobs.FindOne(ctx, byID(id), options.FindOne().SetProjection(bson.D{{Key: field, Value: 1}})).Decode(&d)
		if err != nil {
			return nil, dbError(op, err)
		}
		ref := d.Input
		if field == "output" {
			ref = d.Output
		}
		if ref == nil {
			return nil, notFound(op)
		}
		data, err := s.readChunks(ctx, op, ref)
		if !errors.Is(err, errFileChanged) {
			return data, err
		}
	}
	return nil, fmt.Errorf("mongo: %s: the file kept changing while it was read", op)
}

var errFileChanged = errors.New("file changed")

func (s *Store) readChunks(ctx context.Context, op string, ref *fileRef) ([]byte, error) {
	cur, err := s.jobFiles.Find(ctx, bson.D{{Key: "gen", Value: ref.Gen}}, options.Find().SetSort(bson.D{{Key: "n", Value: 1}}))
	if err != nil {
		return nil, dbError(op, err)
	}
	data := make([]byte, 0, ref.Size)
	n := 0
	parts, err := collect(ctx, op, cur, func(raw bson.Raw) ([]byte, error) {
		var c fileChunk
		if err := bson.Unmarshal(raw, &c); err != nil {
			return nil, dbError(op, err)
		}
		if c.N != n {
			return nil, errFileChanged
		}
		n++
		return c.Data, nil
	})
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		data = append(data, p...)
	}
	if len(parts) != ref.Chunks || int64(len(data)) != ref.Size {
		return nil, errFileChanged
	}
	return data, nil
}

// dropChunks deletes a generation that nothing points at (any more), even when ctx has
// ended; what a failure leaves behind is unreachable, and goes with its job.
func (s *Store) dropChunks(ctx context.Context, gen string) {
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	_, _ = s.jobFiles.DeleteMany(cctx, bson.D{{Key: "gen", Value: gen}})
}

// ImportUsers stores the users one after the other; there is no transaction to make the
// batch one step, so a failure of the batch (the server gone) leaves the users before it
// stored. Without merge, runs of new users go in with one ordered insert each, stopped by
// the first conflict; the conflicting user is refused and the insert goes on after it.
func (s *Store) ImportUsers(ctx context.Context, users []storage.ImportedUser, merge storage.MergeImported) ([]storage.ImportResult, error) {
	results := make([]storage.ImportResult, len(users))
	if merge == nil {
		return results, s.insertImported(ctx, users, results)
	}
	for i, iu := range users {
		r, err := s.importOne(ctx, i, iu, merge)
		if err != nil {
			return nil, err
		}
		results[i] = r
	}
	return results, nil
}

func importedDoc(iu storage.ImportedUser) (bson.Raw, error) {
	d, _, err := newUserDoc(iu.User)
	if err != nil {
		return nil, err
	}
	d.Version = 1
	raw, err := bson.Marshal(d)
	if err != nil {
		return nil, err
	}
	if iu.PasswordHash == "" {
		return raw, nil
	}
	return appendField(raw, passwordField, iu.PasswordHash)
}

func (s *Store) insertImported(ctx context.Context, users []storage.ImportedUser, results []storage.ImportResult) error {
	const op = "import users"
	docs := make([]any, len(users))
	for i, iu := range users {
		doc, err := importedDoc(iu)
		if err != nil {
			results[i].Err = fmt.Errorf("mongo: import user %q: %w", iu.User.ID, err)
			continue
		}
		docs[i] = doc
	}
	for start := 0; start < len(docs); {
		// The run of documents up to the next one that could not be encoded.
		end := start
		for end < len(docs) && docs[end] != nil {
			end++
		}
		if end == start {
			start++
			continue
		}
		_, err := s.users.InsertMany(ctx, docs[start:end])
		failed := end // index of the user that stopped the insert
		if err != nil {
			var bwe mongo.BulkWriteException
			if !errors.As(err, &bwe) || len(bwe.WriteErrors) == 0 || !duplicateKey(err) {
				return dbError(op, err)
			}
			failed = start + bwe.WriteErrors[0].Index
			results[failed].Err = fmt.Errorf("mongo: import user %q: %w", users[failed].User.ID, storage.ErrAlreadyExists)
		}
		for i := start; i < failed; i++ {
			results[i].Inserted = true
		}
		start = failed + 1
		if failed == end {
			start = end
		}
	}
	return nil
}

// importOne upserts one user: the stored user it matches is updated through merge (as an
// update, with the user's hash), or else the user is inserted.
func (s *Store) importOne(ctx context.Context, i int, iu storage.ImportedUser, merge storage.MergeImported) (storage.ImportResult, error) {
	op := fmt.Sprintf("import user %q", iu.User.ID)
	id, err := s.findImported(ctx, op, iu.User)
	if err != nil {
		return storage.ImportResult{}, err
	}
	if id == "" {
		doc, err := importedDoc(iu)
		if err != nil {
			return storage.ImportResult{Err: fmt.Errorf("mongo: %s: %w", op, err)}, nil
		}
		if _, err := s.users.InsertOne(ctx, doc); err != nil {
			if err := dbError(op, err); errors.Is(err, storage.ErrAlreadyExists) {
				return storage.ImportResult{Err: err}, nil
			}
			return storage.ImportResult{}, dbError(op, err)
		}
		return storage.ImportResult{Inserted: true}, nil
	}
	var mergeErr error
	err = s.casUpdate(ctx, s.users, op, id, bson.D{{Key: "q", Value: 0}}, func(raw bson.Raw) (bson.D, []string, error) {
		var d userDoc
		if err := bson.Unmarshal(raw, &d); err != nil {
			return nil, nil, dbError(op, err)
		}
		old, err := d.user()
		if err != nil {
			return nil, nil, fmt.Errorf("mongo: %s: %w", op, err)
		}
		hash, _ := raw.Lookup(passwordField).StringValueOK()
		nu, newHash, err := merge(old, hash, i)
		if err != nil {
			mergeErr = err
			return nil, nil, err
		}
		nu.ID = id
		nd, _, err := newUserDoc(nu)
		if err != nil {
			return nil, nil, fmt.Errorf("mongo: %s: %w", op, err)
		}
		set, unset, err := fields(nd, userTimes...)
		if err != nil {
			return nil, nil, fmt.Errorf("mongo: %s: %w", op, err)
		}
		if newHash != "" {
			set = append(set, bson.E{Key: passwordField, Value: newHash})
		}
		return set, unset, nil
	})
	switch {
	case err == nil:
		return storage.ImportResult{Updated: true}, nil
	case mergeErr != nil && errors.Is(err, mergeErr), errors.Is(err, storage.ErrAlreadyExists):
		return storage.ImportResult{Err: err}, nil
	}
	return storage.ImportResult{}, err
}

// findImported returns the id of the stored user an imported one stands for: by id, else
// by email, else by username, within its connection ("" for none).
func (s *Store) findImported(ctx context.Context, op string, u storage.User) (string, error) {
	var filters []bson.D
	filters = append(filters, bson.D{{Key: "_id", Value: u.ID}, {Key: "connection", Value: u.Connection}})
	if email := strings.ToLower(u.Email); email != "" {
		filters = append(filters, bson.D{{Key: "connection", Value: u.Connection}, {Key: "uniq_email", Value: "e" + email}})
	}
	if name := strings.ToLower(u.Username); name != "" {
		filters = append(filters, bson.D{{Key: "connection", Value: u.Connection}, {Key: "uniq_username", Value: "u" + name}})
	}
	for _, f := range filters {
		raw, err := s.users.FindOne(ctx, f, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Raw()
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			continue
		case err != nil:
			return "", dbError(op, err)
		}
		id, _ := raw.Lookup("_id").StringValueOK()
		return id, nil
	}
	return "", nil
}
