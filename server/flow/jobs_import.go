package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/latchauth/latch/password/importhash"
	"github.com/latchauth/latch/storage"
)

// importFields are the properties of a user in an import file (Auth0's bulk import schema).
var importFields = map[string]string{
	"email": "string", "email_verified": "boolean", "user_id": "string", "username": "string",
	"given_name": "string", "family_name": "string", "name": "string", "nickname": "string",
	"picture": "string", "blocked": "boolean", "phone_number": "string", "phone_verified": "boolean",
	"app_metadata": "object", "user_metadata": "object",
	"password_hash": "string", "custom_password_hash": "object", "mfa_factors": "array",
}

// importUser is one user of a file, read: the request it amounts to and which properties the
// file gave (an upsert changes those alone).
type importUser struct {
	index int // in the file
	raw   json.RawMessage
	req   AdminUserRequest
	given map[string]bool
}

// readImportUser decodes one user of the file; what is wrong is reported in Auth0's shape.
func readImportUser(raw json.RawMessage) (AdminUserRequest, map[string]bool, []storage.JobErrorDetail) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return AdminUserRequest{}, nil, []storage.JobErrorDetail{jobDetail("INVALID_TYPE", "", "The user must be a JSON object.")}
	}
	var req AdminUserRequest
	given := make(map[string]bool, len(obj))
	var problems []storage.JobErrorDetail
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys) // errors in a stable order
	for _, k := range keys {
		v := obj[k]
		kind, known := importFields[k]
		if !known {
			problems = append(problems, jobDetail("OBJECT_ADDITIONAL_PROPERTIES", k, "Additional properties not allowed: %s", quoteInput(k)))
			continue
		}
		if k == "mfa_factors" {
			problems = append(problems, jobDetail("UNSUPPORTED", k, "mfa_factors cannot be imported: latch has no multi-factor authentication."))
			continue
		}
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			continue // as if absent
		}
		given[k] = true
		var err error
		switch kind {
		case "string":
			var str string
			if err = json.Unmarshal(v, &str); err == nil {
				setImportString(&req, k, str)
			}
		case "boolean":
			var b bool
			if err = json.Unmarshal(v, &b); err == nil {
				setImportBool(&req, k, b)
			}
		case "object":
			if k == "custom_password_hash" {
				if v = bytes.TrimSpace(v); len(v) == 0 || v[0] != '{' {
					err = errors.New("not an object")
				}
				req.CustomPasswordHash = v
				break
			}
			var m storage.Metadata
			if m, err = storage.DecodeMetadata(v); err == nil && m == nil {
				err = errors.New("not an object")
			}
			if k == "user_metadata" {
				req.UserMetadata = m
			} else {
				req.AppMetadata = m
			}
		}
		if err != nil {
			problems = append(problems, jobDetail("INVALID_TYPE", k, "Invalid type: expected %s for %s", kind, k))
		}
	}
	if !given["email"] {
		problems = append(problems, jobDetail("OBJECT_MISSING_REQUIRED_PROPERTY", "email", "Missing required property: email"))
	}
	if given["password_hash"] && given["custom_password_hash"] {
		problems = append(problems, jobDetail("INVALID_FORMAT", "custom_password_hash", "Only one of password_hash and custom_password_hash may be given."))
	}
	return req, given, problems
}

func setImportString(req *AdminUserRequest, k, v string) {
	switch k {
	case "email":
		req.Email = v
	case "user_id":
		req.UserID = v
	case "username":
		req.Username = v
	case "given_name":
		req.GivenName = v
	case "family_name":
		req.FamilyName = v
	case "name":
		req.Name = v
	case "nickname":
		req.Nickname = v
	case "picture":
		req.Picture = v
	case "phone_number":
		req.PhoneNumber = v
	case "password_hash":
		req.PasswordHash = v
	}
}

func setImportBool(req *AdminUserRequest, k string, v bool) {
	switch k {
	case "email_verified":
		req.EmailVerified = v
	case "blocked":
		req.Blocked = v
	case "phone_verified":
		req.PhoneVerified = v
	}
}

// runImport imports the job's file batch by batch, recording progress after each batch.
func (s *Service) runImport(ctx context.Context, j storage.Job) error {
	conn, err := s.jobConnection(ctx, j.ConnectionID)
	if err != nil {
		return err
	}
	input, err := s.jobs.JobInput(ctx, j.ID)
	if err != nil {
		return fmt.Errorf("read users file: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(input))
	if _, err := d.Token(); err != nil { // the file was checked when the job was made
		return fmt.Errorf("read users file: %w", err)
	}
	var batch []importUser
	index := 0
	for d.More() {
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return fmt.Errorf("read users file: %w", err)
		}
		batch = append(batch, importUser{index: index, raw: raw})
		index++
		if len(batch) == importBatch {
			if err := s.importBatch(ctx, j, conn, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		if err := s.importBatch(ctx, j, conn, batch); err != nil {
			return err
		}
	}
	_, err = s.jobs.UpdateJob(ctx, j.ID, func(cur storage.Job) (storage.Job, error) {
		if cur.Owner != s.instance {
			return cur, errJobTaken
		}
		return s.finished(cur, storage.JobCompleted, ""), nil
	})
	return err
}

// importBatch validates a batch, stores its valid users in one storage call, and records
// the outcome in the job.
func (s *Service) importBatch(ctx context.Context, j storage.Job, conn storage.Connection, batch []importUser) error {
	now := s.now()
	var (
		users  []storage.ImportedUser
		from   []int // users[i] is batch[from[i]]
		failed []storage.JobError
	)
	for bi := range batch {
		iu := &batch[bi]
		var problems []storage.JobErrorDetail
		iu.req, iu.given, problems = readImportUser(iu.raw)
		var u storage.User
		var hash string
		if len(problems) == 0 {
			var err error
			if u, err = newAdminUser(conn, iu.req, now); err == nil {
				hash, err = importedHash(iu.req.PasswordHash, iu.req.CustomPasswordHash)
			}
			if err != nil {
				problems = append(problems, detailOf(err))
			}
		}
		if len(problems) > 0 {
			failed = append(failed, jobError(*iu, problems))
			continue
		}
		users = append(users, storage.ImportedUser{User: u, PasswordHash: hash})
		from = append(from, bi)
	}
	var merge storage.MergeImported
	if j.Upsert {
		merge = func(existing storage.User, existingHash string, i int) (storage.User, string, error) {
			return s.mergeImported(ctx, existing, existingHash, users[i], batch[from[i]].given, now)
		}
	}
	var inserted, updated int
	if len(users) > 0 {
		results, err := s.imports.ImportUsers(ctx, users, merge)
		if err != nil {
			return fmt.Errorf("import users: %w", err)
		}
		for i, r := range results {
			switch {
			case r.Inserted:
				inserted++
			case r.Updated:
				updated++
			default:
				failed = append(failed, jobError(batch[from[i]], []storage.JobErrorDetail{s.importConflict(ctx, users[i].User, r.Err)}))
			}
		}
	}
	sort.Slice(failed, func(a, b int) bool { return failed[a].Index < failed[b].Index })
	return s.heartbeat(ctx, j.ID, func(cur *storage.Job) {
		cur.Processed += len(batch)
		cur.Summary.Inserted += inserted
		cur.Summary.Updated += updated
		cur.Summary.Failed += len(failed)
		if room := maxJobErrors - len(cur.Errors); room > 0 {
			cur.Errors = append(cur.Errors, failed[:min(room, len(failed))]...)
		}
	})
}

// mergeImported is an upsert: the properties the file gave replace the stored ones, metadata
// is merged at the first level, and an imported hash replaces the stored hash only while
// that one is itself an imported hash never used to log in (a bcrypt hash latch made at a
// login or a password change is the user's current password and stays).
func (s *Service) mergeImported(ctx context.Context, existing storage.User, existingHash string, in storage.ImportedUser, given map[string]bool, now time.Time) (storage.User, string, error) {
	u, iu := existing, in.User
	if given["email"] && iu.Email != u.Email {
		u.Email, u.EmailVerified = iu.Email, false
	}
	for _, f := range []struct {
		name     string
		dst, src *string
	}{
		{"username", &u.Username, &iu.Username}, {"given_name", &u.GivenName, &iu.GivenName},
		{"family_name", &u.FamilyName, &iu.FamilyName}, {"name", &u.Name, &iu.Name},
		{"nickname", &u.Nickname, &iu.Nickname}, {"picture", &u.Picture, &iu.Picture},
		{"phone_number", &u.PhoneNumber, &iu.PhoneNumber},
	} {
		if given[f.name] {
			*f.dst = *f.src
		}
	}
	for _, f := range []struct {
		name     string
		dst, src *bool
	}{
		{"email_verified", &u.EmailVerified, &iu.EmailVerified}, {"blocked", &u.Blocked, &iu.Blocked},
		{"phone_verified", &u.PhoneVerified, &iu.PhoneVerified},
	} {
		if given[f.name] {
			*f.dst = *f.src
		}
	}
	if given["user_metadata"] {
		u.UserMetadata = storage.MergeMetadata(u.UserMetadata, iu.UserMetadata)
	}
	if given["app_metadata"] {
		u.AppMetadata = storage.MergeMetadata(u.AppMetadata, iu.AppMetadata)
	}
	if err := s.watchMetadataSize(ctx, u, true); err != nil {
		return storage.User{}, "", err
	}
	u.UpdatedAt = now
	hash := ""
	if in.PasswordHash != "" && (existingHash == "" || importhash.IsImported(existingHash)) {
		hash = in.PasswordHash
	}
	return u, hash, nil
}

// detailOf turns a validation error into an import error detail.
func detailOf(err error) storage.JobErrorDetail {
	var ire *InvalidRequestError
	if errors.As(err, &ire) {
		return jobDetail("INVALID_FORMAT", ire.Field, "%s", ire.Message)
	}
	return jobDetail("INVALID_FORMAT", "", "%s", err.Error())
}

// importConflict explains why the store refused a user.
func (s *Service) importConflict(ctx context.Context, u storage.User, err error) storage.JobErrorDetail {
	if !errors.Is(err, storage.ErrAlreadyExists) {
		return detailOf(err)
	}
	if other, gerr := s.users.GetUserByEmail(ctx, u.Connection, u.Email); gerr == nil && other.ID != u.ID {
		return jobDetail("DUPLICATED_USER", "email", "The user already exists and upsert is false.")
	}
	if u.Username != "" {
		if other, gerr := s.users.GetUserByUsername(ctx, u.Connection, u.Username); gerr == nil && other.ID != u.ID {
			return jobDetail("DUPLICATED_USER", "username", "The username is taken by another user.")
		}
	}
	return jobDetail("DUPLICATED_USER", "user_id", "A user with this user_id already exists.")
}

// jobError is a failed user as the errors endpoint shows it: the user as the file gave it,
// with any hash left out (a hash never leaves latch, even the imported one).
func jobError(iu importUser, problems []storage.JobErrorDetail) storage.JobError {
	user, err := storage.DecodeMetadata(iu.raw)
	if err != nil || user == nil {
		user = storage.Metadata{}
	}
	delete(user, "password_hash")
	delete(user, "custom_password_hash")
	return storage.JobError{Index: iu.index, User: user, Errors: problems}
}
