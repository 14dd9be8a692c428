package main

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	//lint:ignore SA1019 the test makes the MD4 hashes legacy systems hold, to import them
	"golang.org/x/crypto/md4"
	"golang.org/x/crypto/pbkdf2"
	"golang.org/x/crypto/scrypt"

	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/sqlite"
)

// The hashes below are made here with Go's libraries, apart from latch's own code, as the
// systems users come from would have made them.

const importPassword = "Old-System-Secret-42"

func b64(b []byte) string    { return base64.StdEncoding.EncodeToString(b) }
func rawB64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

func digestHash(t *testing.T, alg string, data []byte) []byte {
	t.Helper()
	switch alg {
	case "md4":
		h := md4.New()
		h.Write(data)
		return h.Sum(nil)
	case "md5":
		s := md5.Sum(data)
		return s[:]
	case "sha1":
		s := sha1.Sum(data)
		return s[:]
	case "sha256":
		s := sha256.Sum256(data)
		return s[:]
	case "sha512":
		s := sha512.Sum512(data)
		return s[:]
	}
	t.Fatalf("no digest %s", alg)
	return nil
}

// importUsersByAlgorithm is one user per hash algorithm of an import file, each with
// importPassword.
func importUsersByAlgorithm(t *testing.T) []map[string]any {
	t.Helper()
	pw := []byte(importPassword)
	salt := "s4lt-value"
	users := []map[string]any{}
	add := func(name string, extra map[string]any) {
		u := map[string]any{"email": name + "@import.example.com", "email_verified": true,
			"user_metadata": map[string]any{"algorithm": name}}
		for k, v := range extra {
			u[k] = v
		}
		users = append(users, u)
	}
	bc, err := bcrypt.GenerateFromPassword(pw, 4)
	if err != nil {
		t.Fatal(err)
	}
	add("bcrypt", map[string]any{"password_hash": string(bc)})
	add("md4", map[string]any{"custom_password_hash": map[string]any{"algorithm": "md4",
		"hash": map[string]any{"value": hex.EncodeToString(digestHash(t, "md4", pw)), "encoding": "hex"}}})
	add("md5", map[string]any{"custom_password_hash": map[string]any{"algorithm": "md5",
		"hash": map[string]any{"value": hex.EncodeToString(digestHash(t, "md5", append([]byte(salt), pw...))), "encoding": "hex"},
		"salt": map[string]any{"value": salt, "encoding": "utf8", "position": "prefix"}}})
	add("sha1", map[string]any{"custom_password_hash": map[string]any{"algorithm": "sha1",
		"hash": map[string]any{"value": b64(digestHash(t, "sha1", pw)), "encoding": "base64"}}})
	add("sha256", map[string]any{"custom_password_hash": map[string]any{"algorithm": "sha256",
		"hash": map[string]any{"value": b64(digestHash(t, "sha256", append(append([]byte{}, pw...), salt...))), "encoding": "base64"},
		"salt": map[string]any{"value": salt, "encoding": "utf8", "position": "suffix"}}})
	add("sha512", map[string]any{"custom_password_hash": map[string]any{"algorithm": "sha512",
		"hash": map[string]any{"value": hex.EncodeToString(digestHash(t, "sha512", pw)), "encoding": "hex"}}})
	mac := hmac.New(sha256.New, []byte("hmac-key"))
	mac.Write(pw)
	add("hmac", map[string]any{"custom_password_hash": map[string]any{"algorithm": "hmac",
		"hash": map[string]any{"value": hex.EncodeToString(mac.Sum(nil)), "encoding": "hex", "digest": "sha256",
			"key": map[string]any{"value": "hmac-key", "encoding": "utf8"}}}})
	pbSalt := []byte("pbkdf2-salt-16b!")
	pb := pbkdf2.Key(pw, pbSalt, 1000, 32, sha256.New)
	add("pbkdf2", map[string]any{"custom_password_hash": map[string]any{"algorithm": "pbkdf2",
		"hash": map[string]any{"value": fmt.Sprintf("$pbkdf2-sha256$i=1000,l=32$%s$%s", rawB64(pbSalt), rawB64(pb)), "encoding": "utf8"}}})
	a2Salt := []byte("argon2-salt-16b!")
	a2 := argon2.IDKey(pw, a2Salt, 1, 1024, 1, 32)
	add("argon2", map[string]any{"custom_password_hash": map[string]any{"algorithm": "argon2",
		"hash": map[string]any{"value": fmt.Sprintf("$argon2id$v=19$m=1024,t=1,p=1$%s$%s", rawB64(a2Salt), rawB64(a2)), "encoding": "utf8"}}})
	sc, err := scrypt.Key(pw, []byte(salt), 1024, 8, 1, 32)
	if err != nil {
		t.Fatal(err)
	}
	add("scrypt", map[string]any{"custom_password_hash": map[string]any{"algorithm": "scrypt",
		"hash": map[string]any{"value": hex.EncodeToString(sc), "encoding": "hex"},
		"salt": map[string]any{"value": salt, "encoding": "utf8"}, "keylen": 32, "cost": 1024}})
	ssha := sha1.Sum(append(append([]byte{}, pw...), "ld4p"...))
	add("ldap", map[string]any{"custom_password_hash": map[string]any{"algorithm": "ldap",
		"hash": map[string]any{"value": "{SSHA}" + b64(append(ssha[:], "ld4p"...)), "encoding": "utf8"}}})
	return users
}

// importJob posts an import and returns the job the API answered.
func importJob(t *testing.T, l *testLatch, tok, connectionID string, users any, upsert bool) map[string]any {
	t.Helper()
	file, err := json.Marshal(users)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := postImport(t, l, tok, map[string]string{"connection_id": connectionID, "upsert": fmt.Sprint(upsert), "external_id": "migration-1"}, file)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("users-imports: %d %s", resp.StatusCode, body)
	}
	return decodeJSON(t, body)
}

// postImport sends the multipart form of an import (file nil: no users part).
func postImport(t *testing.T, l *testLatch, tok string, fields map[string]string, file []byte) (*http.Response, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if file != nil {
		fw, _ := w.CreateFormFile("users", "users.json")
		fw.Write(file)
	}
	w.Close()
	return mgmtRaw(t, l, http.MethodPost, "/api/v2/jobs/users-imports", tok, w.FormDataContentType(), buf.Bytes())
}

// waitJob polls a job until it is no longer pending or processing.
func waitJob(t *testing.T, l *testLatch, tok, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j := mgmtJSON(t, l, http.MethodGet, "/api/v2/jobs/"+id, tok, nil, http.StatusOK)
		if s := j["status"]; s != "pending" && s != "processing" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %v after 30s", id, j["status"])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func connectionID(t testing.TB, l *testLatch, tok string) string {
	t.Helper()
	resp, body := l.Do(t, http.MethodGet, "/api/v2/connections", tok, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("connections: %d %s", resp.StatusCode, body)
	}
	for _, c := range decodeJSONArray(t, body) {
		if c := c.(map[string]any); c["name"] == dbConnection {
			return c["id"].(string)
		}
	}
	t.Fatal("no database connection")
	return ""
}

func TestImportJobEveryHashAlgorithmLogsIn(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	conn := connectionID(t, l, tok)
	appID, appSecret := mgmtAppClient(t, l, tok)
	mgmtCreateUser(t, l, tok, "taken@import.example.com", nil)

	users := importUsersByAlgorithm(t)
	good := len(users)
	users = append(users,
		map[string]any{"email": "taken@import.example.com"},                       // exists, no upsert
		map[string]any{"email": "not-an-email"},                                   // invalid
		map[string]any{"email": "extra@import.example.com", "password": "plain"},  // unknown property
		map[string]any{"email": "mfa@import.example.com", "mfa_factors": []any{}}, // not supported
		map[string]any{"email": "weird@import.example.com", "custom_password_hash": map[string]any{"algorithm": "rot13", "hash": map[string]any{"value": "x", "encoding": "utf8"}}},
		map[string]any{"email_verified": true}, // no email
		map[string]any{"email": "md4@import.example.com", "password_hash": "$2a$10$" + strings.Repeat("a", 53)}, // duplicate within the file
	)
	job := importJob(t, l, tok, conn, users, false)
	if job["status"] != "pending" || job["type"] != "users_import" || job["connection_id"] != conn ||
		job["external_id"] != "migration-1" || !strings.HasPrefix(job["id"].(string), "job_") {
		t.Fatalf("job as created: %v", job)
	}
	done := waitJob(t, l, tok, job["id"].(string))
	sum, _ := done["summary"].(map[string]any)
	if done["status"] != "completed" || sum == nil || sum["inserted"] != json.Number(fmt.Sprint(good)) ||
		sum["failed"] != json.Number("7") || sum["total"] != json.Number(fmt.Sprint(len(users))) || sum["updated"] != json.Number("0") {
		t.Fatalf("finished job: %v", done)
	}

	resp, body := l.Do(t, http.MethodGet, "/api/v2/jobs/"+job["id"].(string)+"/errors", tok, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("errors: %d %s", resp.StatusCode, body)
	}
	if bytes.Contains(body, []byte("$2a$10$")) || bytes.Contains(body, []byte(`"hash"`)) {
		t.Errorf("the errors endpoint shows password hashes: %s", body)
	}
	wantCodes := map[string]string{
		"taken@import.example.com": "DUPLICATED_USER", "not-an-email": "INVALID_FORMAT",
		"extra@import.example.com": "OBJECT_ADDITIONAL_PROPERTIES", "mfa@import.example.com": "UNSUPPORTED",
		"weird@import.example.com": "INVALID_FORMAT", "": "OBJECT_MISSING_REQUIRED_PROPERTY",
		"md4@import.example.com": "DUPLICATED_USER",
	}
	errs := decodeJSONArray(t, body)
	if len(errs) != len(wantCodes) {
		t.Fatalf("%d failed users reported, want %d: %s", len(errs), len(wantCodes), body)
	}
	for _, e := range errs {
		e := e.(map[string]any)
		email, _ := e["user"].(map[string]any)["email"].(string)
		first := e["errors"].([]any)[0].(map[string]any)
		if first["code"] != wantCodes[email] || first["message"] == "" {
			t.Errorf("error for %q: %v, want code %s", email, first, wantCodes[email])
		}
	}

	// Every imported user logs in with the old system's password, and not with another.
	for _, u := range users[:good] {
		email := u["email"].(string)
		passwordLogin(t, l, appID, appSecret, email, "Wrong-Password-1", http.StatusForbidden)
		passwordLogin(t, l, appID, appSecret, email, importPassword, http.StatusOK)
	}

	// The first login replaced each imported hash with latch's bcrypt: a re-import of another
	// hash with upsert no longer changes the password, though it updates the profile.
	again := []map[string]any{{"email": "md5@import.example.com", "name": "Renamed",
		"custom_password_hash": map[string]any{"algorithm": "md5",
			"hash": map[string]any{"value": hex.EncodeToString(digestHash(t, "md5", []byte("Another-Password-9"))), "encoding": "hex"}}}}
	done = waitJob(t, l, tok, importJob(t, l, tok, conn, again, true)["id"].(string))
	if sum := done["summary"].(map[string]any); sum["updated"] != json.Number("1") {
		t.Fatalf("upsert after login: %v", done)
	}
	passwordLogin(t, l, appID, appSecret, "md5@import.example.com", importPassword, http.StatusOK)
	passwordLogin(t, l, appID, appSecret, "md5@import.example.com", "Another-Password-9", http.StatusForbidden)

	l.Stop()
	s, err := sqlite.Open(filepath.Join(l.DataDir, "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.GetUserByEmail(t.Context(), dbConnection, "md5@import.example.com")
	if err != nil || u.Name != "Renamed" {
		t.Fatalf("upserted user: %+v %v", u, err)
	}
	for _, u := range users[:good] {
		stored, err := s.GetUserByEmail(t.Context(), dbConnection, u["email"].(string))
		if err != nil {
			t.Fatal(err)
		}
		hash, _ := s.PasswordHash(t.Context(), stored.ID)
		if !strings.HasPrefix(hash, "$2") {
			t.Errorf("%s: hash after the first login is %.12q..., want bcrypt", u["email"], hash)
		}
	}
}

func TestImportJobUpsertChangesOnlyGivenFields(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	conn := connectionID(t, l, tok)
	first := []map[string]any{{"email": "u@example.com", "user_id": "legacy-17", "given_name": "Ada", "family_name": "L",
		"user_metadata": map[string]any{"color": "red", "size": 3}, "app_metadata": map[string]any{"plan": "gold"}}}
	done := waitJob(t, l, tok, importJob(t, l, tok, conn, first, false)["id"].(string))
	if done["summary"].(map[string]any)["inserted"] != json.Number("1") {
		t.Fatalf("first import: %v", done)
	}
	user := mgmtJSON(t, l, http.MethodGet, "/api/v2/users/auth0|legacy-17", tok, nil, http.StatusOK)
	if user["email_verified"] != false || user["given_name"] != "Ada" {
		t.Fatalf("imported user: %v", user)
	}

	second := []map[string]any{{"email": "u@example.com", "given_name": "Grace", "email_verified": true,
		"user_metadata": map[string]any{"size": 4}}}
	done = waitJob(t, l, tok, importJob(t, l, tok, conn, second, false)["id"].(string))
	if s := done["summary"].(map[string]any); s["failed"] != json.Number("1") || s["updated"] != json.Number("0") {
		t.Fatalf("import over an existing user without upsert: %v", done)
	}
	done = waitJob(t, l, tok, importJob(t, l, tok, conn, second, true)["id"].(string))
	if s := done["summary"].(map[string]any); s["updated"] != json.Number("1") || s["failed"] != json.Number("0") {
		t.Fatalf("upsert: %v", done)
	}
	user = mgmtJSON(t, l, http.MethodGet, "/api/v2/users/auth0|legacy-17", tok, nil, http.StatusOK)
	um := user["user_metadata"].(map[string]any)
	if user["given_name"] != "Grace" || user["family_name"] != "L" || user["email_verified"] != true ||
		um["color"] != "red" || um["size"] != json.Number("4") || user["app_metadata"].(map[string]any)["plan"] != "gold" {
		t.Fatalf("after upsert: %v", user)
	}
	resp, _ := l.Do(t, http.MethodGet, "/api/v2/jobs/"+done["id"].(string)+"/errors", tok, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("errors of a job without any: %d, want 204", resp.StatusCode)
	}
}

func TestImportJobRefusals(t *testing.T) {
	l := startLatch(t, func(c *Config) { c.ImportMaxMiB = 1 })
	tok := l.ManagementToken(t, "")
	conn := connectionID(t, l, tok)
	fields := map[string]string{"connection_id": conn}
	cases := []struct {
		name   string
		fields map[string]string
		file   []byte
		status int
		code   string
		msg    string
	}{
		{"no users", fields, nil, 400, "invalid_body", "Missing required property: users"},
		{"no connection", map[string]string{}, []byte(`[{"email":"a@b.co"}]`), 400, "invalid_body", "connection_id"},
		{"unknown connection", map[string]string{"connection_id": "con_0000000000000000"}, []byte(`[{"email":"a@b.co"}]`), 400, "inexistent_connection", "connection"},
		{"cut short", fields, []byte(`[{"email": "a@b.co"`), 400, "invalid_body", "unexpected end of input"},
		{"not JSON", fields, []byte(`[{"email": "a@b.co"},,]`), 400, "invalid_body", "syntax error at byte"},
		{"not an array", fields, []byte(`{"email":"a@b.co"}`), 400, "invalid_body", "JSON array"},
		{"an array of strings", fields, []byte(`["a@b.co"]`), 400, "invalid_body", "user 0 of the users file is not a JSON object"},
		{"empty array", fields, []byte(`[]`), 400, "invalid_body", "holds no user"},
		{"trailing data", fields, []byte(`[{"email":"a@b.co"}] [1]`), 400, "invalid_body", "after its array"},
		{"too large", fields, append(append([]byte(`[{"email":"a@b.co","user_metadata":{"x":"`), bytes.Repeat([]byte("a"), 1<<20)...), `"}}]`...), 413, "payload_too_large", "too large"},
		{"bad upsert", map[string]string{"connection_id": conn, "upsert": "maybe"}, []byte(`[{"email":"a@b.co"}]`), 400, "invalid_body", "boolean"},
		{"unknown field", map[string]string{"connection_id": conn, "evil": "1"}, []byte(`[{"email":"a@b.co"}]`), 400, "invalid_body", "Additional properties"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := postImport(t, l, tok, c.fields, c.file)
			wantMgmtError(t, resp, body, c.status, c.code, c.msg)
		})
	}
	resp, body := mgmtRaw(t, l, http.MethodPost, "/api/v2/jobs/users-imports", tok, "application/json", []byte(`{"users":[]}`))
	wantMgmtError(t, resp, body, 415, "unsupported_media_type", "multipart/form-data")
	readOnly := l.ManagementToken(t, "read:users")
	resp, body = postImport(t, l, readOnly, fields, []byte(`[{"email":"a@b.co"}]`))
	wantMgmtError(t, resp, body, 403, "insufficient_scope", "create:users")
	resp, body = l.Do(t, http.MethodGet, "/api/v2/jobs/job_doesnotexist0000", tok, nil)
	wantMgmtError(t, resp, body, 404, "inexistent_job", "does not exist")
	// Nothing of the refused requests was imported.
	if list := decodeJSONArray(t, mgmtGetRaw(t, l, "/api/v2/users-by-email?email=a@b.co", tok)); len(list) != 0 {
		t.Errorf("a refused import stored users: %v", list)
	}
}

// readExport downloads an export from its location, without a Management API token.
func readExport(t *testing.T, location string) []byte {
	t.Helper()
	resp, err := http.Get(location)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("download: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestExportJob(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	conn := connectionID(t, l, tok)
	for i := range 3 {
		mgmtCreateUser(t, l, tok, fmt.Sprintf("e%d@example.com", i), map[string]any{
			"user_metadata": map[string]any{"plan": map[string]any{"tier": fmt.Sprintf("t%d", i)}, "note": "a, \"quoted\"\nline"},
		})
	}

	job := mgmtJSON(t, l, http.MethodPost, "/api/v2/jobs/users-exports", tok, map[string]any{"connection_id": conn, "format": "json"}, http.StatusCreated)
	if job["type"] != "users_export" || job["status"] != "pending" || job["format"] != "json" || job["connection"] != dbConnection {
		t.Fatalf("export job: %v", job)
	}
	done := waitJob(t, l, tok, job["id"].(string))
	location, _ := done["location"].(string)
	if done["status"] != "completed" || !strings.HasPrefix(location, l.URL+"/api/v2/jobs/") {
		t.Fatalf("export done: %v", done)
	}
	lines := strings.Split(strings.TrimSpace(string(readExport(t, location))), "\n")
	if len(lines) != 3 {
		t.Fatalf("NDJSON export has %d lines, want 3", len(lines))
	}
	for _, line := range lines {
		u := decodeJSON(t, []byte(line))
		if !strings.HasPrefix(u["user_id"].(string), "auth0|") || !strings.HasSuffix(u["email"].(string), "@example.com") ||
			u["user_metadata"].(map[string]any)["plan"] == nil || u["created_at"] == nil {
			t.Errorf("exported user: %v", u)
		}
		if strings.Contains(line, "$2") || strings.Contains(line, "password") {
			t.Errorf("an export shows a password hash: %s", line)
		}
	}

	job = mgmtJSON(t, l, http.MethodPost, "/api/v2/jobs/users-exports", tok, map[string]any{"format": "csv", "limit": 2,
		"fields": []any{map[string]any{"name": "email"}, map[string]any{"name": "user_metadata.plan.tier", "export_as": "tier"},
			map[string]any{"name": "user_metadata.note"}, map[string]any{"name": "identities[0].connection", "export_as": "provider"}}}, http.StatusCreated)
	done = waitJob(t, l, tok, job["id"].(string))
	rows, err := csv.NewReader(bytes.NewReader(readExport(t, done["location"].(string)))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || strings.Join(rows[0], "|") != "email|tier|user_metadata.note|provider" {
		t.Fatalf("CSV export: %q", rows)
	}
	for _, r := range rows[1:] {
		if !strings.HasPrefix(r[1], "t") || r[2] != "a, \"quoted\"\nline" || r[3] != dbConnection {
			t.Errorf("CSV row %q", r)
		}
	}

	// The location is the only key to the file.
	resp, err := http.Get(location[:len(location)-4] + "0000")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("download with a wrong token: %d, want 404", resp.StatusCode)
	}

	for _, bad := range []struct {
		body map[string]any
		msg  string
	}{
		{map[string]any{"format": "xml"}, "No enum match"},
		{map[string]any{"format": "csv", "fields": []any{map[string]any{"name": "user_metadata"}}}, "cannot be exported whole as CSV"},
		{map[string]any{"fields": []any{map[string]any{"name": "password_hash"}}}, "not a field latch exports"},
		{map[string]any{"fields": []any{map[string]any{"nome": "email"}}}, "must be {name, export_as}"},
		{map[string]any{"connection_id": "con_nope"}, "connection does not exist"},
		{map[string]any{"limit": -1}, "minimum"},
		{map[string]any{"evil": true}, "Additional properties"},
	} {
		resp, body := l.Do(t, http.MethodPost, "/api/v2/jobs/users-exports", tok, bad.body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), bad.msg) {
			t.Errorf("export %v: %d %s, want 400 with %q", bad.body, resp.StatusCode, body, bad.msg)
		}
	}
}

// A job whose instance stopped in the middle is failed at the next start, with what it had
// done; nothing is left pending in silence.
func TestJobInterruptedByAStopIsFailedCleanly(t *testing.T) {
	l := startLatch(t)
	l.Stop()
	s, err := sqlite.Open(filepath.Join(l.DataDir, "latch.db"))
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	err = s.CreateJob(t.Context(), storage.Job{
		ID: "job_interrupted00001", Type: storage.JobUsersImport, Status: storage.JobProcessing,
		ConnectionID: "con_x", Connection: dbConnection, Input: []byte(`[{"email":"a@b.co"}]`),
		Processed: 500, Summary: storage.JobSummary{Total: 1200, Inserted: 498, Failed: 2},
		Owner: "gone", Heartbeat: old, CreatedAt: old, UpdatedAt: old, ExpiresAt: time.Now().Add(time.Hour),
	})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	l.Restart()
	tok := l.ManagementToken(t, "")
	j := waitJob(t, l, tok, "job_interrupted00001")
	msg, _ := j["message"].(string)
	if j["status"] != "failed" || !strings.Contains(msg, "interrupted") || !strings.Contains(msg, "500 of 1200") ||
		j["summary"].(map[string]any)["inserted"] != json.Number("498") {
		t.Fatalf("interrupted job after a restart: %v", j)
	}
}

// POST /api/v2/users takes an imported hash in place of a password.
func TestMgmtCreateUserWithImportedHash(t *testing.T) {
	l := startLatch(t)
	tok := l.ManagementToken(t, "")
	appID, appSecret := mgmtAppClient(t, l, tok)
	bc, _ := bcrypt.GenerateFromPassword([]byte(importPassword), 4)
	mgmtJSON(t, l, http.MethodPost, "/api/v2/users", tok, map[string]any{"connection": dbConnection, "email": "h1@example.com", "password_hash": string(bc)}, http.StatusCreated)
	mgmtJSON(t, l, http.MethodPost, "/api/v2/users", tok, map[string]any{"connection": dbConnection, "email": "h2@example.com",
		"custom_password_hash": map[string]any{"algorithm": "sha256", "hash": map[string]any{"value": hex.EncodeToString(digestHash(t, "sha256", []byte(importPassword))), "encoding": "hex"}}}, http.StatusCreated)
	for _, email := range []string{"h1@example.com", "h2@example.com"} {
		passwordLogin(t, l, appID, appSecret, email, importPassword, http.StatusOK)
	}
	for _, bad := range []struct {
		body map[string]any
		msg  string
	}{
		{map[string]any{"password_hash": "md5:abc"}, "password_hash"},
		{map[string]any{"password_hash": string(bc), "password": strongPassword}, "Only one of"},
		{map[string]any{"custom_password_hash": map[string]any{"algorithm": "scrypt", "hash": map[string]any{"value": "00", "encoding": "hex"}, "keylen": 32, "cost": 1 << 30}}, "custom_password_hash"},
		{map[string]any{"custom_password_hash": "md5"}, "Expected type object"},
	} {
		body := map[string]any{"connection": dbConnection, "email": "bad@example.com"}
		for k, v := range bad.body {
			body[k] = v
		}
		resp, data := l.Do(t, http.MethodPost, "/api/v2/users", tok, body)
		wantMgmtError(t, resp, data, http.StatusBadRequest, "invalid_body", bad.msg)
	}
}
