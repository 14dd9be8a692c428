package mongo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/latchauth/latch/storage"
)

// ErrUnavailable: the server cannot be reached (refused, timed out, no primary). Errors
// that wrap it mean "try again later" (HTTP 503), not "the request was wrong". The driver
// keeps trying in the background, so a Store recovers by itself once the server is back.
var ErrUnavailable = fmt.Errorf("mongo: %w", storage.ErrUnavailable)

// DefaultDatabase is the database used when neither the URI nor Options name one.
const DefaultDatabase = "latch"

// Options tune a Store. The zero value is a good default.
type Options struct {
	// Database overrides the database named in the URI's path; DefaultDatabase when
	// neither names one.
	Database string
	// WriteConcern is "majority" or a number of members ("1"). Empty means what the URI
	// says (w=...), or else "majority": an acknowledged write then survives the loss of
	// the primary.
	WriteConcern string
	// ReadConcern is "majority" or "local". Empty means what the URI says
	// (readConcernLevel=...), or else "majority": a read never returns a write that a
	// failover could roll back.
	ReadConcern string
	// ServerSelectionTimeout bounds how long an operation waits for a usable server
	// before failing with ErrUnavailable. 0 means what the URI says
	// (serverSelectionTimeoutMS), or else 5s; the driver's own 30s would hold requests
	// far longer than a client waits.
	ServerSelectionTimeout time.Duration
	// Observer, when set, is told of every command sent to the server (metrics.go).
	Observer Observer
}

// Store implements storage.Store on one MongoDB database.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	locks  *keyLocks

	users, clients, clientGrants, connections, signingKeys, grants *mongo.Collection
	rules, rulesConfigs, actions, triggers, refreshTokens, events  *mongo.Collection
	jobs, jobFiles                                                 *mongo.Collection
}

var _ storage.Store = (*Store)(nil)

// Open connects to the server at uri, checks that it answers, and creates the indexes the
// Store relies on (an index that exists already is left as it is). ctx bounds Open only.
func Open(ctx context.Context, uri string, opts Options) (*Store, error) {
	co := options.Client().ApplyURI(uri).SetAppName("latch")
	if err := co.Validate(); err != nil {
		return nil, fmt.Errorf("mongo: %w", err)
	}
	dbName, err := databaseName(uri, opts.Database)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.WriteConcern == "majority" || opts.WriteConcern == "" && co.WriteConcern == nil:
		co.SetWriteConcern(writeconcern.Majority())
	case opts.WriteConcern != "":
		n, err := strconv.Atoi(opts.WriteConcern)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("mongo: write concern must be \"majority\" or a number of members, got %q", opts.WriteConcern)
		}
		co.SetWriteConcern(&writeconcern.WriteConcern{W: n})
	}
	switch opts.ReadConcern {
	case "":
		if co.ReadConcern == nil {
			co.SetReadConcern(readconcern.Majority())
		}
	case "majority", "local":
		co.SetReadConcern(&readconcern.ReadConcern{Level: opts.ReadConcern})
	default:
		return nil, fmt.Errorf("mongo: read concern must be \"majority\" or \"local\", got %q", opts.ReadConcern)
	}
	// Compare-and-swap reads the version it then writes against; reading it from a
	// secondary that lags would only cost retries, but reading anything else there could
	// return a user as it was before the write the caller just made.
	co.SetReadPreference(readpref.Primary())
	switch {
	case opts.ServerSelectionTimeout > 0:
		co.SetServerSelectionTimeout(opts.ServerSelectionTimeout)
	case co.ServerSelectionTimeout == nil:
		co.SetServerSelectionTimeout(5 * time.Second)
	}

	observe(co, opts.Observer)

	client, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("mongo: connect: %w", err)
	}
	s := newStore(client, dbName)
	if err := s.Ping(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	if err := s.createIndexes(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return s, nil
}

// databaseName picks the database: Options, then the URI's path, then the default.
func databaseName(uri, override string) (string, error) {
	name := override
	if name == "" {
		u, err := url.Parse(uri)
		if err != nil {
			return "", fmt.Errorf("mongo: parse URI: %w", err)
		}
		name = strings.TrimPrefix(u.Path, "/")
	}
	if name == "" {
		name = DefaultDatabase
	}
	if strings.ContainsAny(name, `/\. "$`+"\x00") || len(name) > 63 {
		return "", fmt.Errorf("mongo: invalid database name %q", name)
	}
	return name, nil
}

func newStore(client *mongo.Client, dbName string) *Store {
	db := client.Database(dbName)
	return &Store{
		client:        client,
		db:            db,
		locks:         newKeyLocks(),
		users:         db.Collection("users"),
		clients:       db.Collection("clients"),
		clientGrants:  db.Collection("client_grants"),
		connections:   db.Collection("connections"),
		signingKeys:   db.Collection("signing_keys"),
		grants:        db.Collection("grants"),
		rules:         db.Collection("rules"),
		rulesConfigs:  db.Collection("rules_configs"),
		actions:       db.Collection("actions"),
		triggers:      db.Collection("action_triggers"),
		refreshTokens: db.Collection("refresh_tokens"),
		events:        db.Collection("events"),
		jobs:          db.Collection("jobs"),
		jobFiles:      db.Collection("job_files"),
	}
}

// index is one index of a collection: its name, and its keys as "field" (ascending) or
// "-field" (descending).
type index struct {
	name   string
	unique bool
	keys   []string
}

// indexes are what the Store's queries need. Uniqueness that must ignore absent values
// (users without an email) is kept on derived fields that are never absent (see doc.go),
// since partial indexes are not available everywhere.
var indexes = map[string][]index{
	"users": {
		{"users_connection_email", true, []string{"connection", "uniq_email"}},
		{"users_connection_username", true, []string{"connection", "uniq_username"}},
		{"users_email_created", false, []string{"email", "created_at"}},
		{"users_created", false, []string{"created_at", "_id"}},
	},
	"clients":         {{"clients_created", false, []string{"created_at", "_id"}}},
	"client_grants":   {{"client_grants_client_audience", true, []string{"client_id", "audience"}}},
	"connections":     {{"connections_name", true, []string{"name"}}, {"connections_created", false, []string{"created_at", "_id"}}},
	"signing_keys":    {{"signing_keys_one_current", true, []string{"current_slot"}}},
	"grants":          {{"grants_user", false, []string{"user_id"}}, {"grants_expires", false, []string{"expires_at"}}},
	"rules":           {{"rules_name", true, []string{"name"}}, {"rules_stage_order", true, []string{"stage", "order"}}},
	"actions":         {{"actions_name", true, []string{"name"}}, {"actions_created", false, []string{"created_at", "_id"}}},
	"action_triggers": {{"action_triggers_action", false, []string{"bindings.action_id"}}},
	"refresh_tokens": {
		{"refresh_tokens_family", false, []string{"family_id"}},
		{"refresh_tokens_user", false, []string{"user_id"}},
		{"refresh_tokens_expires", false, []string{"expires_at"}},
		{"refresh_tokens_idle_expires", false, []string{"idle_expires_at"}},
	},
	"events": {
		{"events_date", false, []string{"date", "_id"}},
		{"events_type_date", false, []string{"type", "date"}},
		{"events_user_date", false, []string{"user_id", "date"}},
		{"events_client_date", false, []string{"client_id", "date"}},
	},
	"jobs":      {{"jobs_status_created", false, []string{"status", "created_at"}}, {"jobs_expires", false, []string{"expires_at"}}},
	"job_files": {{"job_files_gen", false, []string{"gen", "n"}}, {"job_files_job", false, []string{"job"}}},
}

// createIndexes creates the indexes that are missing (by name). Asking for ones that exist
// is harmless on MongoDB, but FerretDB v1 fails when a request mixes existing and new ones.
func (s *Store) createIndexes(ctx context.Context) error {
	for coll, list := range indexes {
		op := "create indexes of " + coll
		cur, err := s.db.Collection(coll).Indexes().List(ctx)
		if err != nil {
			return dbError(op, err)
		}
		existing, err := collect(ctx, op, cur, func(raw bson.Raw) (string, error) {
			name, _ := raw.Lookup("name").StringValueOK()
			return name, nil
		})
		if err != nil {
			return err
		}
		models := make([]mongo.IndexModel, 0, len(list))
		for _, ix := range list {
			if slices.Contains(existing, ix.name) {
				continue
			}
			keys := bson.D{}
			for _, k := range ix.keys {
				if f, ok := strings.CutPrefix(k, "-"); ok {
					keys = append(keys, bson.E{Key: f, Value: -1})
				} else {
					keys = append(keys, bson.E{Key: k, Value: 1})
				}
			}
			o := options.Index().SetName(ix.name)
			if ix.unique {
				o.SetUnique(true)
			}
			models = append(models, mongo.IndexModel{Keys: keys, Options: o})
		}
		if len(models) == 0 {
			continue
		}
		if _, err := s.db.Collection(coll).Indexes().CreateMany(ctx, models); err != nil {
			return dbError(op, err)
		}
	}
	return nil
}

// Ping asks the primary to answer.
func (s *Store) Ping(ctx context.Context) error {
	return dbError("ping", s.client.Ping(ctx, readpref.Primary()))
}

// Close disconnects, waiting up to 10s for operations in flight.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.client.Disconnect(ctx); err != nil {
		return fmt.Errorf("mongo: close: %w", err)
	}
	return nil
}

// dbError translates driver errors into the storage sentinels and ErrUnavailable, keeping
// the driver's message for the logs, but for duplicates: the server's message quotes the
// duplicate key (an email, a token's id), and errors end up in logs.
func dbError(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("mongo: %s: %w", op, storage.ErrNotFound)
	case duplicateKey(err):
		return fmt.Errorf("mongo: %s: %w", op, storage.ErrAlreadyExists)
	case unavailable(err):
		return fmt.Errorf("mongo: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("mongo: %s: %w", op, err)
}

// duplicateKey says whether err is a unique index refusing a write. FerretDB v1 reports an
// update that breaks a unique index as an internal error carrying SQLite's message, not as
// MongoDB's code 11000, so that message is recognised too.
func duplicateKey(err error) bool {
	if mongo.IsDuplicateKeyError(err) {
		return true
	}
	var se mongo.ServerError
	return errors.As(err, &se) && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// unavailable says whether err means the server could not be reached, rather than that
// it refused the operation.
func unavailable(err error) bool {
	var sse topology.ServerSelectionError
	var wqe topology.WaitQueueTimeoutError
	return errors.As(err, &sse) || errors.As(err, &wqe) || mongo.IsNetworkError(err) ||
		errors.Is(err, mongo.ErrClientDisconnected)
}

func notFound(op string) error { return fmt.Errorf("mongo: %s: %w", op, storage.ErrNotFound) }

func checkPage(p storage.Page) error {
	if p.Page < 0 || p.PerPage <= 0 {
		return fmt.Errorf("mongo: invalid page %+v", p)
	}
	return nil
}

// byID is the filter of one document.
func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

// cleanupContext is for the writes that undo part of a failed operation: they must run even
// when the caller's context is what made it fail.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// keyLocks serialise this process's writes to one document, or to one set of documents
// (a token family): see doc.go for why. A key is the collection's name and the document's
// id; keys share a fixed number of stripes, each a channel of one slot, so that waiting
// for one respects the caller's context.
type keyLocks struct{ stripes [256]chan struct{} }

func newKeyLocks() *keyLocks {
	l := &keyLocks{}
	for i := range l.stripes {
		l.stripes[i] = make(chan struct{}, 1)
	}
	return l
}

// lock takes the stripes of keys, in stripe order (so that two callers taking the same
// stripes never wait for each other crosswise), and returns the function that releases
// them.
func (l *keyLocks) lock(ctx context.Context, keys ...string) (func(), error) {
	idx := make([]int, 0, len(keys))
	for _, k := range keys {
		h := fnv.New32a()
		_, _ = h.Write([]byte(k))
		i := int(h.Sum32() % uint32(len(l.stripes)))
		if !slices.Contains(idx, i) {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	unlock := func(n int) {
		for _, i := range idx[:n] {
			<-l.stripes[i]
		}
	}
	for n, i := range idx {
		select {
		case l.stripes[i] <- struct{}{}:
		case <-ctx.Done():
			unlock(n)
			return nil, ctx.Err()
		}
	}
	return func() { unlock(len(idx)) }, nil
}

// lockKey names a document (or a set of documents) for keyLocks.
func lockKey(coll *mongo.Collection, id string) string { return coll.Name() + "\x00" + id }

// locked runs fn holding the locks of keys.
func (s *Store) locked(ctx context.Context, op string, fn func() error, keys ...string) error {
	unlock, err := s.locks.lock(ctx, keys...)
	if err != nil {
		return fmt.Errorf("mongo: %s: %w", op, err)
	}
	defer unlock()
	return fn()
}

// casUpdate is the read-modify-write of one document under optimistic concurrency. It
// reads the document (with projection, nil for all of it), lets apply compute what to
// $set and $unset, and writes that only if the document's version is still the one read,
// bumping it; when another write came in between, it starts over. apply may therefore run
// several times (the storage contract allows it). apply's error is returned unchanged.
//
// Writers in this process take the document's lock first: they queue rather than race
// (see doc.go), and the version check is what keeps writers of other processes apart.
func (s *Store) casUpdate(ctx context.Context, coll *mongo.Collection, op, id string, projection bson.D,
	apply func(raw bson.Raw) (set bson.D, unset []string, err error)) error {
	return s.locked(ctx, op, func() error { return casUpdate(ctx, coll, op, id, projection, apply) }, lockKey(coll, id))
}

func casUpdate(ctx context.Context, coll *mongo.Collection, op, id string, projection bson.D,
	apply func(raw bson.Raw) (set bson.D, unset []string, err error)) error {
	find := options.FindOne()
	if projection != nil {
		find.SetProjection(projection)
	}
	for attempt := 0; ; attempt++ {
		raw, err := coll.FindOne(ctx, byID(id), find).Raw()
		if err != nil {
			return dbError(op, err)
		}
		version, ok := raw.Lookup("version").AsInt64OK()
		if !ok {
			return fmt.Errorf("mongo: %s: the document has no version", op)
		}
		set, unset, err := apply(raw)
		if err != nil {
			return err
		}
		update := bson.D{{Key: "$set", Value: append(set, bson.E{Key: "version", Value: version + 1})}}
		if len(unset) > 0 {
			u := make(bson.D, len(unset))
			for i, f := range unset {
				u[i] = bson.E{Key: f, Value: ""}
			}
			update = append(update, bson.E{Key: "$unset", Value: u})
		}
		res, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: version}}, update)
		if err != nil {
			return dbError(op, err)
		}
		if res.MatchedCount == 1 {
			return nil
		}
		if err := backoff(ctx, attempt); err != nil {
			return fmt.Errorf("mongo: %s: %w", op, err)
		}
	}
}

// backoff waits before the next try of a lost race: not at all after the first loss, then
// a random while that grows with the losses (up to 50ms), so that writers contending for
// one document spread out instead of colliding again.
func backoff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return ctx.Err()
	}
	limit := time.Duration(min(1<<min(attempt, 10), 50)) * time.Millisecond
	t := time.NewTimer(rand.N(limit) + time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
