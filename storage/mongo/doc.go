// Package mongo is latch's durable store on MongoDB, for deployments that run several latch
// instances against one database. Open returns a storage.Store that also keeps Management
// API jobs (storage.Jobs, storage.UserImports). The conformance suites (storage/storagetest)
// run against it on FerretDB embedded in the test process (internal/mongotest), and against
// a real MongoDB when $LATCH_TEST_MONGO_URI names one.
//
// # Layout
//
// One database (from Options, else the URI's path, else "latch"), one collection per
// resource: users, clients, client_grants, connections, signing_keys, grants, rules,
// rules_configs, actions, action_triggers, refresh_tokens, events, jobs, job_files. Open
// creates the indexes that are missing; latch prunes expired rows itself, so there are no
// TTL indexes.
//
// Metadata (user_metadata, app_metadata, grant claims, event details) and clients'
// client_metadata are stored as JSON text, exactly as the API wrote them: BSON cannot carry
// every key JSON can (a NUL byte), servers refuse others ("$" first, "."), and text keeps
// every number's digits. What search needs of the metadata is kept beside it, typed (see
// search.go). Times are BSON dates, absent for the zero time.
//
// # Writes without transactions
//
// Every write is a single-document operation: a server without multi-document
// transactions (FerretDB v1) runs the same code. What must change together lives in one
// document, and what spans documents is ordered so that each state in between is harmless:
//
//   - The password hash is a field of the user's document that no read of a user asks for
//     (only PasswordHash does): UpdateUserAndPassword is one update that sets the profile
//     and the hash, and UpdateUser's update never names the hash, so it cannot write an old
//     one back.
//   - Updates are compare-and-swap on a version field: read, run the updater, update where
//     the version is still the one read (bumping it), start over when it is not. An updater
//     may run more than once, as the storage contract allows.
//   - Uniqueness is the server's unique indexes. Emails and usernames are unique per
//     connection but may be absent; partial indexes are not available everywhere, so the
//     index is on a derived field that is never absent: "e"+email, or "n"+the user id for a
//     user without one. "At most one current signing key" is the same idea: current_slot is
//     "current" for that key and "kid:"+kid for the others.
//   - AppendRule reads the stage's highest order and inserts after it; the unique index on
//     (stage, order) turns a race into a retry.
//   - A trigger's bindings are one document, replaced whole. DeleteAction deletes the action,
//     then removes it from the lists; a list read in between leaves out bindings of actions
//     that are gone, so the two steps never show.
//   - RotateRefreshToken inserts the next token, then marks the old one rotated with an update
//     that only matches an unrotated token, and deletes the next token again when that
//     matched nothing. Until the mark, the next token exists but nobody holds it.
//   - AppendEvents inserts the batch in order, and deletes what it inserted when an insert
//     fails (each event carries its batch's random id for that), so a batch lands whole or
//     not at all, though a reader may glimpse part of a failed one.
//   - DeleteUser deletes the user's refresh tokens before the user.
//   - A job's files (an import of up to 64 MiB, an export) outgrow a BSON document, so they
//     are chunks in job_files under a generation id: written whole before the job points at
//     them, deleted after it stops (jobs.go).
//   - ImportUsers stores the users one after the other (new ones by ordered inserts), so a
//     batch that fails midway leaves the users before the failure stored.
//   - SearchUsers counts, then reads the page: two reads, so a write in between can make the
//     page and the total disagree by that write.
//
// # Locks within the process
//
// Writes of one Store to one document (or to one token family, or one user's tokens) also
// take an in-process lock first. Writers of one instance then queue instead of racing, so
// an updater rarely runs twice; the version check is what keeps instances apart. The lock
// is also what makes one instance correct on FerretDB v1, which checks an update's filter
// and then writes the document as two steps, so that a conditional update there is not
// atomic and two concurrent ones can both apply. Several instances therefore need a server
// whose single-document updates are atomic: MongoDB (or FerretDB 2).
//
// # Errors
//
// Errors wrap the storage sentinels (a duplicate key is storage.ErrAlreadyExists, no
// document storage.ErrNotFound) or ErrUnavailable when the server cannot be reached, so
// that callers can answer 503; the driver reconnects by itself. Writes use write concern
// majority and reads read concern majority from the primary unless Options or the URI say
// otherwise, and every call honours its context's deadline (the writes that undo part of a
// failed operation get 30s of their own, so that a cancelled request leaves nothing half
// done behind).
package mongo
