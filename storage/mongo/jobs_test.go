package mongo

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/latchauth/latch/storage"
)

// Files larger than a BSON document may be (16 MiB) are cut into chunks, read back whole, and their
// chunks go when the file is replaced, dropped with the job's end, or expires with it.
func TestJobFilesLargerThanADocument(t *testing.T) {
	// Smaller chunks exercise the same code at a fraction of the cost: FerretDB takes
	// seconds over a document of 8 MiB.
	defer func(n int) { chunkSize = n }(chunkSize)
	chunkSize = 256 << 10
	s := openTest(t)
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	big := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return b
	}
	chunks := func() int64 {
		t.Helper()
		n, err := s.jobFiles.CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	now := storage.Now()
	input := big(2*chunkSize + 1000)
	j := storage.Job{ID: "job_big", Type: storage.JobUsersImport, Status: storage.JobPending, Input: input,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	if n := chunks(); n != 3 {
		t.Errorf("%d chunks for an input of 2 chunks and a bit, want 3", n)
	}
	got, err := s.JobInput(ctx, j.ID)
	if err != nil || !bytes.Equal(got, input) {
		t.Fatalf("JobInput = %d bytes, %v; want the %d stored", len(got), err, len(input))
	}

	first, second := big(chunkSize+1), big(10)
	for _, out := range [][]byte{first, second} {
		if err := s.SetJobOutput(ctx, j.ID, out); err != nil {
			t.Fatal(err)
		}
		got, err := s.JobOutput(ctx, j.ID)
		if err != nil || !bytes.Equal(got, out) {
			t.Fatalf("JobOutput = %d bytes, %v; want the %d stored", len(got), err, len(out))
		}
	}
	if n := chunks(); n != 3+1 {
		t.Errorf("%d chunks after replacing the output, want the input's 3 and the new output's 1", n)
	}

	if _, err := s.UpdateJob(ctx, j.ID, func(j storage.Job) (storage.Job, error) {
		j.Status = storage.JobCompleted
		return j, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.JobInput(ctx, j.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("JobInput of an ended job = %v, want ErrNotFound", err)
	}
	if n := chunks(); n != 1 {
		t.Errorf("%d chunks after the job ended, want the output's 1", n)
	}

	if n, err := s.DeleteExpiredJobs(ctx, now.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredJobs = %d, %v", n, err)
	}
	if n := chunks(); n != 0 {
		t.Errorf("%d chunks after the job expired, want none", n)
	}
}
