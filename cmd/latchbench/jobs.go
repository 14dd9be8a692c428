package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// importUsers is the size of the import and export runs.
const importUsers = 100_000

// importExport imports importUsers users with bcrypt hashes through one users-imports job,
// then exports every user as NDJSON, and reports users per second from the request that
// made each job to the poll that found it completed.
func importExport(l *latch, c *client, mgmt string) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), 10)
	if err != nil {
		return err
	}
	users := make([]map[string]any, importUsers)
	for i := range users {
		users[i] = map[string]any{
			"email": fmt.Sprintf("imported%d@example.com", i), "email_verified": true,
			"password_hash": string(hash), "user_metadata": map[string]any{"plan": "gold", "n": i},
		}
	}
	file, err := json.Marshal(users)
	if err != nil {
		return err
	}
	var conns []struct{ ID, Name string }
	if err := c.getJSON(l.url+"/api/v2/connections", mgmt, &conns); err != nil {
		return err
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("connection_id", conns[0].ID)
	fw, _ := w.CreateFormFile("users", "users.json")
	fw.Write(file)
	w.Close()

	start := time.Now()
	req, _ := http.NewRequest(http.MethodPost, l.url+"/api/v2/jobs/users-imports", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+mgmt)
	var job struct{ ID string }
	if err := c.do(req, &job); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	done, err := c.waitJob(l.url, mgmt, job.ID)
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Printf("\nimport of %d users with bcrypt hashes (%.1f MB file): %v = %.0f users/s (goal ≥ 5 000), inserted %v, failed %v\n",
		importUsers, float64(len(file))/1e6, took.Round(time.Millisecond), importUsers/took.Seconds(), done.Summary["inserted"], done.Summary["failed"])

	start = time.Now()
	if err := c.postJSONAuthOut(l.url+"/api/v2/jobs/users-exports", mgmt, map[string]any{"format": "json"}, &job); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if done, err = c.waitJob(l.url, mgmt, job.ID); err != nil {
		return err
	}
	resp, err := c.http.Get(done.Location)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body := &countingReader{r: resp.Body}
	zr, err := gzip.NewReader(body)
	if err != nil {
		return err
	}
	total := 0
	lines := bufio.NewScanner(zr)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		total++
	}
	if err := lines.Err(); err != nil {
		return err
	}
	took = time.Since(start)
	n := body.n
	fmt.Printf("export of %d users as NDJSON (%.1f MB gzip'd, downloaded): %v = %.0f users/s (goal ≥ 20 000)\n",
		total, float64(n)/1e6, took.Round(time.Millisecond), float64(total)/took.Seconds())
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type jobStatus struct {
	Status   string
	Location string
	Message  string
	Summary  map[string]any
}

func (c *client) waitJob(base, mgmt, id string) (jobStatus, error) {
	for {
		var j jobStatus
		if err := c.getJSON(base+"/api/v2/jobs/"+id, mgmt, &j); err != nil {
			return j, err
		}
		switch j.Status {
		case "completed":
			return j, nil
		case "failed":
			return j, fmt.Errorf("job %s failed: %s", id, j.Message)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *client) getJSON(u, bearer string, out any) error {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	return c.do(req, out)
}

func (c *client) postJSONAuthOut(u, bearer string, body, out any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	return c.do(req, out)
}
