package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/latchauth/latch/internal/redistest"
	"github.com/latchauth/latch/storage"
	"github.com/latchauth/latch/storage/storagetest"
)

// The tests of this file run on a real Redis Cluster of three masters (redistest), where
// the keys of a deployment spread over every node and a command on keys of two hash slots
// is refused (CROSSSLOT): whatever passes here keeps to one slot per command.

// clusterClient is a plain client of the cluster at url, to look at what a State wrote.
func clusterClient(t testing.TB, url string) *goredis.ClusterClient {
	t.Helper()
	o, err := redistest.ClusterOptions(url)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClusterClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// masterOf is the address of the master that serves key.
func masterOf(t testing.TB, c *goredis.ClusterClient, key string) string {
	t.Helper()
	node, err := c.MasterForKey(t.Context(), key)
	if err != nil {
		t.Fatalf("the master of %s: %v", key, err)
	}
	return node.Options().Addr
}

func TestClusterShortLived(t *testing.T) {
	url := redistest.ClusterURL(t)
	storagetest.RunShortLived(t, func(t *testing.T) (storage.ShortLived, func(time.Duration)) {
		clock, advance := fakeClock()
		return open(t, url, WithPrefix(redistest.ClusterPrefix(t)), WithClock(clock)), advance
	})
}

func TestClusterConcurrentAcrossInstances(t *testing.T) {
	concurrentAcrossInstances(t, redistest.ClusterURL(t), redistest.ClusterPrefix(t))
}

func TestClusterChanges(t *testing.T) {
	url := redistest.ClusterURL(t)
	t.Run("Instances", func(t *testing.T) { testChanges(t, url, redistest.ClusterPrefix(t)) })
	t.Run("SubscriptionEnds", func(t *testing.T) { subscriptionEnds(t, url, redistest.ClusterPrefix(t)) })

	// A subscriber listens on one node (the master of the channel's slot); a notice published
	// on any node reaches it over the cluster's bus.
	t.Run("PublishedOnEveryNode", func(t *testing.T) {
		s := open(t, url, WithPrefix(redistest.ClusterPrefix(t)))
		got := make(topics, 64)
		must(t, s.Subscribe(t.Context(), got.fn))
		raw := clusterClient(t, url)
		var nodes []string
		var mu sync.Mutex
		err := raw.ForEachMaster(t.Context(), func(ctx context.Context, node *goredis.Client) error {
			mu.Lock()
			nodes = append(nodes, node.Options().Addr)
			mu.Unlock()
			return node.Publish(ctx, s.channel, "from "+node.Options().Addr).Err()
		})
		must(t, err)
		if len(nodes) != 3 {
			t.Fatalf("published on %d masters, want 3: %v", len(nodes), nodes)
		}
		var want []string
		for _, n := range nodes {
			want = append(want, "from "+n)
		}
		got.want(t, "notices published on each master", want...)
	})
}

// argsHook keeps the arguments of every command a client sends.
type argsHook struct {
	mu   sync.Mutex
	cmds [][]any
}

func (h *argsHook) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return next(ctx, network, addr)
	}
}

func (h *argsHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.mu.Lock()
		h.cmds = append(h.cmds, slices.Clone(cmd.Args()))
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (h *argsHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.mu.Lock()
		for _, cmd := range cmds {
			h.cmds = append(h.cmds, slices.Clone(cmd.Args()))
		}
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

// Every command the State sends touches keys of one hash slot, while the keys of one login
// (its transaction, failure counter, rate limit, session and the user's index, code) lie in
// many slots, on several masters: a command that paired two of them would be refused
// (CROSSSLOT), as the check at the end shows Redis does.
func TestClusterOneSlotPerCommand(t *testing.T) {
	url := redistest.ClusterURL(t)
	s := open(t, url, WithPrefix(redistest.ClusterPrefix(t)))
	sent := &argsHook{}
	s.rdb.AddHook(sent)
	ctx := t.Context()
	now := time.Now()

	// One login, through every method that touches Redis.
	must(t, s.CreateTransaction(ctx, storage.LoginTransaction{ID: "tx-1", ExpiresAt: now.Add(time.Hour)}))
	_, err := s.GetTransaction(ctx, "tx-1")
	must(t, err)
	_, err = s.RecordFailure(ctx, "jane@example.com", "10.0.0.1", time.Hour)
	must(t, err)
	_, err = s.FailureCount(ctx, "jane@example.com", "10.0.0.1")
	must(t, err)
	_, err = s.BlockedIPs(ctx, "jane@example.com", 1)
	must(t, err)
	limit := storage.Limit{Burst: 5, Interval: time.Minute}
	_, _, err = s.PeekRate(ctx, "login:10.0.0.1", limit)
	must(t, err)
	_, err = s.TakeRateState(ctx, "login:10.0.0.1", limit)
	must(t, err)
	must(t, s.ClearFailures(ctx, "jane@example.com", "10.0.0.1"))
	must(t, s.ClearFailures(ctx, "jane@example.com", ""))
	x := storage.Session{ID: "sess-1", UserID: "auth0|jane", ExpiresAt: now.Add(time.Hour)}
	must(t, s.CreateSession(ctx, x))
	must(t, s.CreateSession(ctx, storage.Session{ID: "sess-2", UserID: "auth0|jane", ExpiresAt: now.Add(time.Hour)}))
	_, err = s.UpdateSession(ctx, x.ID, func(x storage.Session) (storage.Session, error) {
		x.Clients = append(x.Clients, "client-1")
		return x, nil
	})
	must(t, err)
	_, err = s.GetSession(ctx, x.ID)
	must(t, err)
	must(t, s.CreateCode(ctx, storage.AuthCode{ID: "code-1", ExpiresAt: now.Add(time.Minute)}))
	_, err = s.ConsumeCode(ctx, "code-1")
	must(t, err)
	must(t, s.DeleteTransaction(ctx, "tx-1"))
	must(t, s.DeleteSession(ctx, "sess-2"))
	if n, err := s.DeleteUserSessions(ctx, "auth0|jane"); err != nil || n != 1 {
		t.Fatalf("DeleteUserSessions = %d, %v; want 1", n, err)
	}
	must(t, s.Publish(ctx, storage.TopicRules))
	must(t, s.Ping(ctx))

	raw := clusterClient(t, url)
	sent.mu.Lock()
	cmds := slices.Clone(sent.cmds)
	sent.mu.Unlock()
	slots := map[int64]bool{}
	masters := map[string]bool{}
	for _, args := range cmds {
		name := strings.ToLower(fmt.Sprint(args[0]))
		if name == "ping" || name == "publish" {
			continue // no key
		}
		keys, err := raw.Do(ctx, append([]any{"command", "getkeys"}, args...)...).StringSlice()
		if err != nil {
			t.Fatalf("COMMAND GETKEYS %v: %v", args, err)
		}
		if len(keys) == 0 {
			t.Fatalf("%v: no key", args)
		}
		var own []int64
		for _, k := range keys {
			slot, err := raw.ClusterKeySlot(ctx, k).Result()
			must(t, err)
			if !slices.Contains(own, slot) {
				own = append(own, slot)
			}
			slots[slot] = true
			masters[masterOf(t, raw, k)] = true
		}
		if len(own) != 1 {
			t.Errorf("%s touches keys of %d slots: %v", name, len(own), keys)
		}
	}
	if len(cmds) < 20 {
		t.Fatalf("only %d commands seen: the hook missed calls", len(cmds))
	}
	// tx, fail, rate, sess ×2, usess, code: seven keys, each in a slot of its own (two of
	// them sharing one is a 1-in-16384 chance per pair).
	if len(slots) < 6 {
		t.Errorf("the login's keys lie in %d slots, want them spread", len(slots))
	}
	t.Logf("%d commands, on keys of %d slots served by %d masters", len(cmds), len(slots), len(masters))

	// Redis does refuse a command on the keys of a session and of its user's index.
	err = raw.Exists(ctx, s.key("sess", "sess-1"), s.key("usess", "auth0|jane")).Err()
	if err == nil || !goredis.HasErrorPrefix(err, "CROSSSLOT") {
		t.Fatalf("EXISTS on a session and its user's index: %v, want CROSSSLOT", err)
	}
}

// A master of the cluster goes down: the keys of its slots cannot be reached, and Ping and
// the calls on them fail with ErrUnavailable; it comes back (empty): calls succeed again on
// the same State, and a subscriber whose node it was gets every topic, then new notices.
func TestClusterNodeDownAndBack(t *testing.T) {
	cl := redistest.NewCluster(t)
	s, other := open(t, cl.URL()), open(t, cl.URL())
	raw := clusterClient(t, cl.URL())
	ctx := t.Context()

	// The node to stop is the subscriber's: the master of the channel's slot.
	down := slices.Index(cl.Addrs(), masterOf(t, raw, s.channel))
	if down < 0 {
		t.Fatalf("the channel's master %s is not among %v", masterOf(t, raw, s.channel), cl.Addrs())
	}
	id := ""
	for i := 0; id == "" && i < 1000; i++ {
		if candidate := fmt.Sprintf("tx-%d", i); masterOf(t, raw, s.key("tx", candidate)) == cl.Addrs()[down] {
			id = candidate
		}
	}
	if id == "" {
		t.Fatalf("no transaction id of 1000 has its key on node %d", down)
	}
	got := make(topics, 256)
	must(t, other.Subscribe(ctx, got.fn))
	must(t, s.Publish(ctx, storage.TopicRules))
	got.want(t, "before the fault", storage.TopicRules)
	exp := time.Now().Add(time.Hour)
	must(t, s.CreateTransaction(ctx, storage.LoginTransaction{ID: id, State: "before", ExpiresAt: exp}))

	cl.StopNode(down)

	if err := s.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping with a master down: %v, want ErrUnavailable", err)
	}
	if _, err := s.GetTransaction(ctx, id); !errors.Is(err, ErrUnavailable) {
		t.Errorf("GetTransaction of a key on the master that is down: %v, want ErrUnavailable", err)
	}
	if err := s.CreateTransaction(ctx, storage.LoginTransaction{ID: id, ExpiresAt: exp}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("CreateTransaction of a key on the master that is down: %v, want ErrUnavailable", err)
	}

	cl.StartNode(down)

	deadline := time.Now().Add(recoveryWait)
	for {
		err := s.CreateTransaction(ctx, storage.LoginTransaction{ID: id, State: "after", ExpiresAt: exp})
		if err == nil {
			break // the node came back empty: the id is free again
		}
		if time.Now().After(deadline) {
			t.Fatalf("CreateTransaction still fails %v after the master is back: %v", recoveryWait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if tx, err := other.GetTransaction(ctx, id); err != nil || tx.State != "after" {
		t.Fatalf("GetTransaction after the master came back: %+v, %v", tx, err)
	}
	must(t, s.Ping(ctx))
	got.want(t, "after the master came back", storage.AllTopics...)
	must(t, s.Publish(ctx, "after-restart"))
	got.want(t, "a notice after the restart", "after-restart")
}

// Cluster URLs that cannot work are refused before any connection, with no password in the
// message, and never as an unavailable Redis (the configuration is wrong, not Redis).
func TestNewClusterURLErrors(t *testing.T) {
	for _, tc := range []struct{ url, says string }{
		{"redis+cluster://127.0.0.1:7000/3", "database"},
		{"redis+cluster://127.0.0.1:7000?read_only=true", "read_only"},
		{"redis+cluster://127.0.0.1:7000?route_by_latency=1", "route_by_latency"},
		{"redis+cluster://127.0.0.1:7000?route_randomly=true", "route_randomly"},
		{"redis+cluster://127.0.0.1:7000?addr=nohost", "addr"},
		{"redis+cluster://127.0.0.1:7000?pool_size=many", "pool_size"},
		{"redis+cluster://127.0.0.1:7000?no_such_option=1", "no_such_option"},
		{"unix+cluster:///tmp/redis.sock", "scheme"},
		{"redis+cluster://user:s3cret@[bad", ""},
		{"redis+cluster://user:s3cret@127.0.0.1:7000?pool_size=x", ""},
	} {
		_, err := New(t.Context(), tc.url)
		if err == nil {
			t.Errorf("New(%q): no error", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("New(%q): %v, want it to name %q", tc.url, err, tc.says)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("New(%q): the error shows the password: %v", tc.url, err)
		}
		if errors.Is(err, ErrUnavailable) {
			t.Errorf("New(%q): a bad URL is not an unavailable Redis: %v", tc.url, err)
		}
	}
}

// The scheme decides: a cluster's URL on a server that is not a cluster fails at New, and a
// single server's URL on a node of a cluster fails on keys of other nodes with a message
// that says why; neither is taken for an unavailable Redis.
func TestClusterURLMismatch(t *testing.T) {
	ctx := t.Context()
	srv := redistest.NewServer(t)
	asCluster := strings.Replace(srv.URL(), "redis://", "redis+cluster://", 1)
	if _, err := New(ctx, asCluster); err == nil || errors.Is(err, ErrUnavailable) {
		t.Errorf("New(%q) on a server that is not a cluster: %v, want an error other than ErrUnavailable", asCluster, err)
	}

	url := redistest.ClusterURL(t)
	opt, err := redistest.ClusterOptions(url)
	must(t, err)
	node := open(t, "redis://"+opt.Addrs[0], WithPrefix(redistest.ClusterPrefix(t)))
	var moved error
	for i := 0; moved == nil && i < 1000; i++ {
		if _, err := node.GetTransaction(ctx, fmt.Sprint(i)); !errors.Is(err, storage.ErrNotFound) {
			moved = err
		}
	}
	if !errors.Is(moved, errClusterNode) || errors.Is(moved, ErrUnavailable) || !strings.Contains(moved.Error(), "redis+cluster://") {
		t.Fatalf("a key of another node through a single server's URL: %v, want errClusterNode", moved)
	}

	// The scheme is read as URL schemes are, whatever its case.
	mixed := open(t, "REDIS+Cluster"+strings.TrimPrefix(url, redistest.ClusterScheme), WithPrefix(redistest.ClusterPrefix(t)))
	must(t, mixed.CreateTransaction(ctx, storage.LoginTransaction{ID: "t", ExpiresAt: time.Now().Add(time.Hour)}))
}

// On a cluster, as on one server, New is one observed "ping" (though it PINGs each master)
// and a read is one "hmget".
func TestClusterObserver(t *testing.T) {
	rec := &recorder{}
	s := open(t, redistest.ClusterURL(t), WithPrefix(redistest.ClusterPrefix(t)), WithObserver(rec))
	if got := summary(rec.take()); !slices.Equal(got, []string{"ping"}) {
		t.Errorf("New: observed %v, want [ping]", got)
	}
	if _, err := s.GetSession(t.Context(), "absent"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("GetSession of an absent session: %v", err)
	}
	if got := summary(rec.take()); !slices.Equal(got, []string{"hmget"}) {
		t.Errorf("GetSession: observed %v, want [hmget]", got)
	}
}
