package metrics

import (
	"context"
	"errors"
	"time"
)

// StorageCalls records the calls latch makes to one storage backend, as
// latch_storage_call_duration_seconds and latch_storage_call_errors_total. It is the
// Observer of storage/redis (redis.WithObserver) and of storage/mongo (Options.Observer):
// those packages define the interface and know nothing of Prometheus.
type StorageCalls struct {
	m       *Metrics
	backend string
	ops     map[string]bool // op names kept as labels; any other becomes "other"
}

// redisOps are the Redis commands that get a label of their own: those latch sends, and a
// few neighbours. Command names come from code, not requests, but a fixed set keeps the
// label set small whatever a future change sends.
var redisOps = set("ping", "get", "set", "del", "exists", "expire", "pexpire", "ttl", "pttl",
	"hget", "hset", "hmget", "hgetall", "hdel", "zadd", "zrange", "zrangebyscore", "zrem",
	"zremrangebyscore", "publish", "eval", "evalsha", "script", "pipeline")

// mongoOps are the MongoDB commands that get a label of their own (names as the server
// spells them).
var mongoOps = set("ping", "hello", "buildInfo", "find", "insert", "update", "delete",
	"findAndModify", "aggregate", "count", "distinct", "getMore", "killCursors", "bulkWrite",
	"listIndexes", "createIndexes", "dropIndexes", "listCollections", "create", "drop",
	"dropDatabase", "commitTransaction", "abortTransaction")

func set(names ...string) map[string]bool {
	s := make(map[string]bool, len(names))
	for _, n := range names {
		s[n] = true
	}
	return s
}

// RedisCalls is the observer of the calls to Redis (backend="redis").
func (m *Metrics) RedisCalls() *StorageCalls {
	if m == nil {
		return nil
	}
	return &StorageCalls{m: m, backend: "redis", ops: redisOps}
}

// MongoCalls is the observer of the commands sent to MongoDB (backend="mongo").
func (m *Metrics) MongoCalls() *StorageCalls {
	if m == nil {
		return nil
	}
	return &StorageCalls{m: m, backend: "mongo", ops: mongoOps}
}

// ObserveCall records one call: its time, and whether it failed. A call whose caller gave
// up (context.Canceled: the client went away) is timed but not counted as an error, since
// it says nothing of the backend's health; a deadline that ran out is counted, since a
// slow backend is what it usually means. A nil *StorageCalls records nothing.
func (c *StorageCalls) ObserveCall(op string, d time.Duration, err error) {
	if c == nil {
		return
	}
	if !c.ops[op] {
		op = "other"
	}
	c.m.storageCalls.WithLabelValues(c.backend, op).Observe(d.Seconds())
	if err != nil && !errors.Is(err, context.Canceled) {
		c.m.storageErrors.WithLabelValues(c.backend, op).Inc()
	}
}
