package storagetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/latchauth/latch/storage"
)

// JobStore is what a backend offers for Management API jobs: the jobs themselves, batched
// user imports, and the users and hashes those land in.
type JobStore interface {
	storage.Jobs
	storage.UserImports
	storage.Users
	storage.Passwords
}

// RunJobs is the conformance suite of storage.Jobs and storage.UserImports. newStore returns
// a fresh, empty store (closed by the caller's cleanup).
func RunJobs(t *testing.T, newStore func(t *testing.T) JobStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s JobStore)
	}{
		{"JobCreateGetUpdate", testJobCreateGetUpdate},
		{"JobUnfinishedAndExpired", testJobUnfinishedAndExpired},
		{"JobOutput", testJobOutput},
		{"ImportInsert", testImportInsert},
		{"ImportConflicts", testImportConflicts},
		{"ImportUpsert", testImportUpsert},
		{"ImportMergeRefuses", testImportMergeRefuses},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

func newJob(id string, n int) storage.Job {
	return storage.Job{
		ID: id, Type: storage.JobUsersImport, Status: storage.JobPending,
		ConnectionID: "con_0123456789abcdef", Connection: "Username-Password-Authentication",
		ExternalID: "ext-1", Upsert: true, Input: []byte(`[{"email":"a@example.com"}]`),
		Fields:    []storage.ExportField{{Name: "email", ExportAs: "mail"}},
		CreatedAt: at(n), UpdatedAt: at(n), ExpiresAt: at(n + 1440),
	}
}

func testJobCreateGetUpdate(t *testing.T, s JobStore) {
	ctx := t.Context()
	j := newJob("job_aaaaaaaaaaaaaaaa", 1)
	must(t, "CreateJob", s.CreateJob(ctx, j))
	if err := s.CreateJob(ctx, j); !errors.Is(err, storage.ErrAlreadyExists) {
		t.Errorf("CreateJob twice = %v, want ErrAlreadyExists", err)
	}
	got, err := s.GetJob(ctx, j.ID)
	must(t, "GetJob", err)
	input := j.Input
	j.Input = nil // GetJob leaves the input out
	if !reflect.DeepEqual(got, j) {
		t.Errorf("GetJob =\n%+v\nwant\n%+v", got, j)
	}
	in, err := s.JobInput(ctx, j.ID)
	must(t, "JobInput", err)
	if string(in) != string(input) {
		t.Errorf("JobInput = %q, want %q", in, input)
	}
	// Progress leaves the input alone, even when the updater sets another.
	_, err = s.UpdateJob(ctx, j.ID, func(j storage.Job) (storage.Job, error) {
		j.Status, j.Processed, j.Input = storage.JobProcessing, 1, []byte("other")
		return j, nil
	})
	must(t, "UpdateJob", err)
	if in, err := s.JobInput(ctx, j.ID); err != nil || string(in) != string(input) {
		t.Errorf("JobInput after an update = %q, %v; want it unchanged", in, err)
	}
	if _, err := s.JobInput(ctx, "job_missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("JobInput of a missing job = %v, want ErrNotFound", err)
	}
	if _, err := s.GetJob(ctx, "job_missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetJob of a missing job = %v, want ErrNotFound", err)
	}
	updated, err := s.UpdateJob(ctx, j.ID, func(j storage.Job) (storage.Job, error) {
		j.Status = storage.JobCompleted
		j.Input = nil
		j.Processed = 1
		j.Summary = storage.JobSummary{Failed: 1, Total: 1}
		j.Errors = []storage.JobError{{Index: 0, User: storage.Metadata{"email": "a@example.com", "n": json.Number("12.5")},
			Errors: []storage.JobErrorDetail{{Code: "DUPLICATED_USER", Message: "The user already exists.", Path: "email"}}}}
		j.CompletedAt = at(5)
		return j, nil
	})
	must(t, "UpdateJob", err)
	again, err := s.GetJob(ctx, j.ID)
	must(t, "GetJob after update", err)
	if !reflect.DeepEqual(again, updated) || again.Status != storage.JobCompleted || again.Input != nil || len(again.Errors) != 1 {
		t.Errorf("after UpdateJob: get =\n%+v\nupdate returned\n%+v", again, updated)
	}
	if _, err := s.JobInput(ctx, j.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("JobInput of a completed job = %v, want ErrNotFound (dropped)", err)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateJob(ctx, j.ID, func(storage.Job) (storage.Job, error) { return storage.Job{}, boom }); err != boom {
		t.Errorf("UpdateJob with a failing updater = %v, want the updater's error", err)
	}
	if _, err := s.UpdateJob(ctx, "job_missing", func(j storage.Job) (storage.Job, error) { return j, nil }); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UpdateJob of a missing job = %v, want ErrNotFound", err)
	}
}

func testJobUnfinishedAndExpired(t *testing.T, s JobStore) {
	ctx := t.Context()
	for i, status := range []string{storage.JobProcessing, storage.JobCompleted, storage.JobPending, storage.JobFailed} {
		j := newJob(fmt.Sprintf("job_%016d", i), i)
		j.Status = status
		must(t, "CreateJob", s.CreateJob(ctx, j))
	}
	unfinished, err := s.ListUnfinishedJobs(ctx)
	must(t, "ListUnfinishedJobs", err)
	var ids []string
	for _, j := range unfinished {
		ids = append(ids, j.ID)
	}
	if want := []string{"job_0000000000000000", "job_0000000000000002"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ListUnfinishedJobs = %v, want %v (oldest first)", ids, want)
	}
	// Jobs expire at at(i+1440): those of i = 0 and 1 are gone at at(1442).
	n, err := s.DeleteExpiredJobs(ctx, at(1442))
	must(t, "DeleteExpiredJobs", err)
	if n != 2 {
		t.Errorf("DeleteExpiredJobs = %d, want 2", n)
	}
	if _, err := s.GetJob(ctx, "job_0000000000000001"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("an expired job is still there: %v", err)
	}
	if _, err := s.GetJob(ctx, "job_0000000000000002"); err != nil {
		t.Errorf("a job not yet expired is gone: %v", err)
	}
}

func testJobOutput(t *testing.T, s JobStore) {
	ctx := t.Context()
	j := newJob("job_bbbbbbbbbbbbbbbb", 1)
	must(t, "CreateJob", s.CreateJob(ctx, j))
	if _, err := s.JobOutput(ctx, j.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("JobOutput before any = %v, want ErrNotFound", err)
	}
	data := []byte{0x1f, 0x8b, 0, 1, 2, 255}
	must(t, "SetJobOutput", s.SetJobOutput(ctx, j.ID, data))
	got, err := s.JobOutput(ctx, j.ID)
	must(t, "JobOutput", err)
	if !reflect.DeepEqual(got, data) {
		t.Errorf("JobOutput = %v, want %v", got, data)
	}
	if err := s.SetJobOutput(ctx, "job_missing", data); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("SetJobOutput of a missing job = %v, want ErrNotFound", err)
	}
	// The job itself is unchanged by its output.
	again, err := s.GetJob(ctx, j.ID)
	must(t, "GetJob", err)
	j.Input = nil
	if !reflect.DeepEqual(again, j) {
		t.Errorf("the job changed with its output: %+v", again)
	}
}

func getImported(t *testing.T, s JobStore, id string) storage.User {
	t.Helper()
	u, err := s.GetUser(t.Context(), id)
	must(t, "GetUser "+id, err)
	return u
}

func imported(email string, n int, hash string) storage.ImportedUser {
	u := newUser("db", email, n)
	return storage.ImportedUser{User: u, PasswordHash: hash}
}

func testImportInsert(t *testing.T, s JobStore) {
	ctx := t.Context()
	batch := []storage.ImportedUser{imported("a@example.com", 1, "$2a$10$hashA"), imported("b@example.com", 2, "")}
	res, err := s.ImportUsers(ctx, batch, nil)
	must(t, "ImportUsers", err)
	if len(res) != 2 || !res[0].Inserted || !res[1].Inserted || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("ImportUsers = %+v, want two inserted", res)
	}
	got := getImported(t, s, batch[0].User.ID)
	if !reflect.DeepEqual(got, batch[0].User) {
		t.Errorf("imported user =\n%+v\nwant\n%+v", got, batch[0].User)
	}
	if h, err := s.PasswordHash(ctx, batch[0].User.ID); err != nil || h != "$2a$10$hashA" {
		t.Errorf("PasswordHash of the imported user = %q, %v", h, err)
	}
	if _, err := s.PasswordHash(ctx, batch[1].User.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("PasswordHash of a user imported without one = %v, want ErrNotFound", err)
	}
	if u, err := s.GetUserByEmail(ctx, "db", "b@example.com"); err != nil || u.ID != batch[1].User.ID {
		t.Errorf("GetUserByEmail of an imported user = %+v, %v", u, err)
	}
}

func testImportConflicts(t *testing.T, s JobStore) {
	ctx := t.Context()
	first := imported("a@example.com", 1, "$2a$10$first")
	_, err := s.ImportUsers(ctx, []storage.ImportedUser{first}, nil)
	must(t, "ImportUsers", err)
	sameEmail := imported("A@Example.com", 2, "$2a$10$second")
	fresh := imported("c@example.com", 3, "")
	dupInBatch := imported("c@example.com", 4, "")
	res, err := s.ImportUsers(ctx, []storage.ImportedUser{sameEmail, fresh, dupInBatch}, nil)
	must(t, "ImportUsers", err)
	if len(res) != 3 {
		t.Fatalf("ImportUsers returned %d results, want 3", len(res))
	}
	if !errors.Is(res[0].Err, storage.ErrAlreadyExists) || res[0].Inserted {
		t.Errorf("a taken email = %+v, want ErrAlreadyExists", res[0])
	}
	if !res[1].Inserted || res[1].Err != nil {
		t.Errorf("a new user after a conflict = %+v, want inserted", res[1])
	}
	if !errors.Is(res[2].Err, storage.ErrAlreadyExists) {
		t.Errorf("an email taken earlier in the batch = %+v, want ErrAlreadyExists", res[2])
	}
	// The conflicting users left nothing behind, and the first keeps its hash.
	if _, err := s.GetUser(ctx, sameEmail.User.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a refused user was stored: %v", err)
	}
	if h, _ := s.PasswordHash(ctx, first.User.ID); h != "$2a$10$first" {
		t.Errorf("the existing user's hash = %q after a refused import", h)
	}
}

func testImportUpsert(t *testing.T, s JobStore) {
	ctx := t.Context()
	a, b := imported("a@example.com", 1, "$2a$10$a"), imported("b@example.com", 2, "$2a$10$b")
	_, err := s.ImportUsers(ctx, []storage.ImportedUser{a, b}, nil)
	must(t, "ImportUsers", err)

	byEmail := imported("A@example.com", 5, "$latch-import$new") // a different id, the same email
	byID := imported("other@example.com", 6, "")
	byID.User.ID = b.User.ID
	byID.User.Username = b.User.Username
	newcomer := imported("n@example.com", 7, "")
	var seen []string
	batch := []storage.ImportedUser{byEmail, byID, newcomer}
	merge := func(existing storage.User, hash string, i int) (storage.User, string, error) {
		in := batch[i]
		seen = append(seen, existing.ID+" "+hash)
		existing.Name = in.User.Name
		existing.UserMetadata = storage.MergeMetadata(existing.UserMetadata, storage.Metadata{"imported": true})
		return existing, in.PasswordHash, nil
	}
	res, err := s.ImportUsers(ctx, batch, merge)
	must(t, "ImportUsers with merge", err)
	if !res[0].Updated || !res[1].Updated || !res[2].Inserted {
		t.Fatalf("results = %+v, want updated, updated, inserted", res)
	}
	if len(seen) < 2 || seen[0] != a.User.ID+" $2a$10$a" || seen[len(seen)-1] != b.User.ID+" $2a$10$b" {
		t.Errorf("merge saw %v; want a's then b's stored id and hash", seen)
	}
	gotA := getImported(t, s, a.User.ID)
	if gotA.Name != byEmail.User.Name || gotA.UserMetadata["imported"] != true || gotA.Email != "a@example.com" {
		t.Errorf("user matched by email = %+v", gotA)
	}
	if h, _ := s.PasswordHash(ctx, a.User.ID); h != "$latch-import$new" {
		t.Errorf("hash after a merge that gives one = %q", h)
	}
	if h, _ := s.PasswordHash(ctx, b.User.ID); h != "$2a$10$b" {
		t.Errorf("hash after a merge that keeps it = %q", h)
	}
	if _, err := s.GetUser(ctx, byEmail.User.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("an upsert that matched created a second user: %v", err)
	}
	if _, total, err := s.SearchUsers(ctx, nil, storage.UserSort{}, storage.Page{PerPage: 10}); err != nil || total != 3 {
		t.Errorf("users after the upsert: %d, %v; want 3", total, err)
	}
}

func testImportMergeRefuses(t *testing.T, s JobStore) {
	ctx := t.Context()
	a := imported("a@example.com", 1, "$2a$10$a")
	_, err := s.ImportUsers(ctx, []storage.ImportedUser{a}, nil)
	must(t, "ImportUsers", err)
	refused := errors.New("refused")
	merge := func(existing storage.User, _ string, _ int) (storage.User, string, error) {
		return storage.User{}, "", refused
	}
	again := imported("a@example.com", 2, "$2a$10$other")
	res, err := s.ImportUsers(ctx, []storage.ImportedUser{again}, merge)
	must(t, "ImportUsers", err)
	if !errors.Is(res[0].Err, refused) || res[0].Updated {
		t.Errorf("a refused merge = %+v, want merge's error", res[0])
	}
	if got := getImported(t, s, a.User.ID); !reflect.DeepEqual(got, a.User) {
		t.Errorf("a refused merge changed the user: %+v", got)
	}
}
