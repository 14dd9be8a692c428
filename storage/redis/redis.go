package redis

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/latchauth/latch/storage"
)

// ErrUnavailable is wrapped by every error that comes from Redis being unreachable or not
// ready: the request may succeed later, and the HTTP layer answers 503.
var ErrUnavailable = fmt.Errorf("shared state: %w", storage.ErrUnavailable)

// errClusterNode: the URL of one server named a node of a Redis Cluster, which redirects
// the keys of the other nodes' slots (MOVED) to them.
var errClusterNode = errors.New("the URL names one node of a Redis Cluster (a cluster's URL starts with redis+cluster://)")

// errNoExpiry: a short-lived record must say when it ends.
var errNoExpiry = errors.New("ExpiresAt is required")

// DefaultPrefix starts every key when WithPrefix is not given.
const DefaultPrefix = "latch:"

// ttlSlack is how long after a record's end Redis keeps its key: the largest difference
// between the clocks of two instances that still gives them the same answers.
const ttlSlack = time.Minute

// maxUpdateAttempts bounds the compare-and-swap retries of UpdateSession, so that a session
// written without pause by others fails with storage.ErrConflict rather than spinning.
const maxUpdateAttempts = 100

// State implements storage.ShortLived and storage.Changes on a Redis server. It is safe for
// concurrent use; make it with New, and Close it when done.
type State struct {
	rdb      goredis.UniversalClient // a *goredis.Client, or a *goredis.ClusterClient
	observer Observer                // nil: none
	prefix   string
	channel  string
	now      func() time.Time

	mu     sync.Mutex
	closed bool
	subs   map[*subscription]struct{} // running Subscribe loops, stopped by Close
	wg     sync.WaitGroup
}

var (
	_ storage.ShortLived = (*State)(nil)
	_ storage.Changes    = (*State)(nil)
)

// Option changes a State made by New.
type Option func(*State)

// WithPrefix starts every key, and the channel of change notices, with prefix instead of
// DefaultPrefix, so that several latch deployments (or tests) may share one Redis. A prefix
// holding a hash tag ("{latch}:") would put every key in one slot, so on one master, of a
// Redis Cluster; the layout needs none (doc.go).
func WithPrefix(prefix string) Option { return func(s *State) { s.prefix = prefix } }

// WithClock makes now the State's clock (nil: time.Now). Expiry is judged by it, never by
// Redis's clock; tests move it.
func WithClock(now func() time.Time) Option {
	return func(s *State) {
		if now != nil {
			s.now = now
		}
	}
}

// quietDriver silences go-redis' own logger, once per process: it prints every failed dial
// to stderr, while latch reports the errors its calls return, with their request.
var quietDriver sync.Once

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// New connects to the Redis at url and checks that it answers. url is what go-redis'
// ParseURL reads, for one server: redis://[user:password@]host:port/db, rediss:// for TLS, or
// unix:///path/to/socket?db=N, with client options (pool_size, max_retries, dial_timeout,
// …) as query parameters. For a Redis Cluster the scheme says so, redis+cluster:// or
// rediss+cluster://, and the rest is what go-redis' ParseClusterURL reads:
// redis+cluster://[user:password@]host:port?addr=host:port&addr=host:port, the nodes the
// client asks for the cluster's layout (one is enough; the others are where it asks when
// that one is down). A Redis that does not answer is an error wrapping ErrUnavailable.
func New(ctx context.Context, url string, opts ...Option) (*State, error) {
	rdb, err := newClient(url)
	if err != nil {
		return nil, fmt.Errorf("redis: parse URL: %w", err)
	}
	quietDriver.Do(func() { goredis.SetLogger(quietLogger{}) })
	s := &State{
		rdb:    rdb,
		prefix: DefaultPrefix,
		now:    time.Now,
		subs:   map[*subscription]struct{}{},
	}
	rdb.AddHook(tracingHook{})
	for _, opt := range opts {
		opt(s)
	}
	s.channel = s.prefix + "changes"
	if err := s.Ping(ctx); err != nil {
		_ = s.rdb.Close()
		return nil, err
	}
	return s, nil
}

// clusterSuffix ends the scheme of a URL that names a Redis Cluster (redis+cluster://,
// rediss+cluster://): a cluster cannot be told from one server by its address, and a
// client of one server on a cluster node fails on every key of the other nodes' slots.
const clusterSuffix = "+cluster"

// newClient makes the client that url names: of one server, or of a Redis Cluster.
func newClient(url string) (goredis.UniversalClient, error) {
	if scheme, rest, ok := strings.Cut(url, "://"); ok {
		if base, ok := strings.CutSuffix(strings.ToLower(scheme), clusterSuffix); ok {
			o, err := clusterOptions(base + "://" + rest)
			if err != nil {
				return nil, err
			}
			o.DialerRetries = 1 // one dial per attempt, as for one server (below)
			return goredis.NewClusterClient(o), nil
		}
	}
	o, err := goredis.ParseURL(url)
	if err != nil {
		return nil, redactURLError(err, url)
	}
	// One dial per attempt: the command's own retries (max_retries) already wait and try
	// again, and a Redis that refuses connections should cost a request a 503 soon, not the
	// seconds that retries of retries take.
	o.DialerRetries = 1
	return goredis.NewClient(o), nil
}

// replicaReads are the cluster options that send reads to replicas. A replica may not yet
// have what its master just wrote (a login transaction created by one instance and read by
// the next, a failure just counted), so latch refuses them.
var replicaReads = []string{"read_only", "route_by_latency", "route_randomly"}

// clusterOptions reads the URL of a cluster, with its plain scheme (redis://, rediss://).
func clusterOptions(url string) (*goredis.ClusterOptions, error) {
	u, err := neturl.Parse(url)
	if err != nil {
		return nil, redactURLError(err, url)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("scheme %s%s: a Redis Cluster is reached by redis+cluster:// or rediss+cluster://", u.Scheme, clusterSuffix)
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" && db != "0" {
		return nil, errors.New("a Redis Cluster has no database but 0: drop the URL's path")
	}
	u.Path = ""
	q := u.Query()
	for _, name := range replicaReads {
		if on, err := strconv.ParseBool(q.Get(name)); err == nil && on {
			return nil, fmt.Errorf("%s: latch must read what was just written, which a replica may not have yet", name)
		}
	}
	o, err := goredis.ParseClusterURL(u.String())
	if err != nil {
		return nil, redactURLError(err, url)
	}
	return o, nil
}

// redactURLError keeps a password of url out of err's message.
func redactURLError(err error, url string) error {
	if !strings.Contains(url, "@") && !strings.Contains(strings.ToLower(url), "password") {
		return err
	}
	return errors.New("invalid URL (not shown: it may hold a password)")
}

// Ping says whether Redis answers (for /readyz). On a cluster every master must answer: with
// one down, the keys of its slots cannot be reached, and soon the others refuse every
// command (CLUSTERDOWN).
func (s *State) Ping(ctx context.Context) error {
	var err error
	if c, ok := s.rdb.(*goredis.ClusterClient); ok {
		err = s.pingMasters(ctx, c)
	} else {
		err = s.rdb.Ping(ctx).Err()
	}
	if err != nil {
		return s.fail(ctx, "ping", err)
	}
	return nil
}

// pingMasters asks the cluster for its layout, then PINGs every master. Those go through the
// clients of the nodes, not the cluster's own, so the observer is told here: one "ping".
func (s *State) pingMasters(ctx context.Context, c *goredis.ClusterClient) error {
	start := time.Now()
	err := c.ForEachMaster(ctx, func(ctx context.Context, node *goredis.Client) error {
		return node.Ping(ctx).Err()
	})
	if s.observer != nil {
		s.observer.ObserveCall("ping", time.Since(start), callError(err))
	}
	return err
}

// Close stops every subscription and closes the connections. The State is unusable after.
func (s *State) Close() error {
	s.mu.Lock()
	s.closed = true
	for sub := range s.subs {
		sub.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return s.rdb.Close()
}

// clock is the current instant as expiries are compared with it (milliseconds, like them).
func (s *State) clock() time.Time { return storage.Time(s.now()) }

// key is the key of a record of kind for the caller's id (see the key layout in doc.go).
func (s *State) key(kind, id string) string {
	sum := sha256.Sum256([]byte(id))
	return s.prefix + kind + ":" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// fail wraps err, from the Redis operation op, for the caller: with ErrUnavailable too when
// Redis is unreachable or not ready. The error of the caller's own context ending is no
// sign of Redis's health, and goes as it is.
func (s *State) fail(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	if unavailable(err) {
		return fmt.Errorf("redis: %s: %w: %w", op, ErrUnavailable, err)
	}
	if _, cluster := s.rdb.(*goredis.ClusterClient); !cluster && goredis.HasErrorPrefix(err, "MOVED") {
		return fmt.Errorf("redis: %s: %w: %w", op, errClusterNode, err)
	}
	return fmt.Errorf("redis: %s: %w", op, err)
}

// unavailable says whether err means that Redis cannot serve now but may later, rather than
// that the request itself is wrong.
func unavailable(err error) bool {
	var rerr goredis.Error
	if errors.As(err, &rerr) {
		// An error reply: the server is up. Only those that say it is not ready count.
		return goredis.IsLoadingError(err) || goredis.IsClusterDownError(err) ||
			goredis.IsTryAgainError(err) || goredis.IsMasterDownError(err) ||
			goredis.IsMaxClientsError(err) || goredis.IsReadOnlyError(err) ||
			goredis.HasErrorPrefix(err, "BUSY")
	}
	// Anything else but a closed client comes from the connection: refused or dropped, timed
	// out, or no connection free in the pool.
	return !errors.Is(err, goredis.ErrClosed)
}

// ms is t in Unix milliseconds, as records keep times (0 for the zero time).
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS is the time that ms gave n for.
func fromMS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// ttl is how long Redis keeps a key whose record ends at end: until end plus ttlSlack, in
// whole milliseconds, counted from now.
func ttl(now, end time.Time) int64 {
	d := max(end.Sub(now), 0) + ttlSlack
	return d.Milliseconds()
}

// newVersion returns a token that no other write of a session uses.
func newVersion() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
