package redistest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func clusterClient(t *testing.T, url string) *redis.ClusterClient {
	t.Helper()
	o, err := ClusterOptions(url)
	if err != nil {
		t.Fatalf("ClusterOptions(%q): %v", url, err)
	}
	c := redis.NewClusterClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// The shared cluster is a real one: three masters that split the slots between them, keys
// that land on all three, and multi-key commands across slots refused.
func TestClusterURL(t *testing.T) {
	url := ClusterURL(t)
	if again := ClusterURL(t); again != url {
		t.Fatalf("ClusterURL started a second cluster: %s, then %s", url, again)
	}
	if os.Getenv(EnvClusterURL) == "" && !strings.HasPrefix(url, ClusterScheme+"://127.0.0.1:") {
		t.Fatalf("the binary's own cluster is at %s, want loopback", url)
	}
	c := clusterClient(t, url)
	ctx := t.Context()

	shards, err := c.ClusterShards(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	covered, masters := int64(0), map[string]bool{}
	for _, sh := range shards {
		for _, r := range sh.Slots {
			covered += r.End - r.Start + 1
		}
		for _, n := range sh.Nodes {
			if n.Role == "master" && n.Health == "online" {
				masters[fmt.Sprintf("%s:%d", n.IP, n.Port)] = true
			}
		}
	}
	if covered != slotCount || len(masters) != clusterSize {
		t.Fatalf("CLUSTER SHARDS: %d slots over %d masters online, want %d over %d: %+v", covered, len(masters), slotCount, clusterSize, shards)
	}

	prefix := ClusterPrefix(t)
	for i := range 30 {
		if err := c.Set(ctx, fmt.Sprintf("%sk%d", prefix, i), "v", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var holding []string
	var mu sync.Mutex // ForEachMaster calls fn on every master at once
	err = c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		keys, err := node.Keys(ctx, prefix+"*").Result()
		mu.Lock()
		defer mu.Unlock()
		if len(keys) > 0 {
			holding = append(holding, node.Options().Addr)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(holding) != clusterSize {
		t.Errorf("30 keys landed on the masters %v only, want all %d", holding, clusterSize)
	}

	err = c.Do(ctx, "MGET", prefix+"k0", prefix+"k1", prefix+"k2", prefix+"k3").Err()
	if err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
		t.Fatalf("MGET over keys of different slots: %v, want CROSSSLOT", err)
	}
}

// A cluster prefix is the test's own, and its keys are gone from every master once the
// test ends.
func TestClusterPrefix(t *testing.T) {
	c := clusterClient(t, ClusterURL(t))
	var prefix string
	t.Run("writer", func(t *testing.T) {
		prefix = ClusterPrefix(t)
		if other := ClusterPrefix(t); other == prefix {
			t.Fatalf("two calls gave the same prefix %q", prefix)
		}
		for i := range 30 {
			if err := c.Set(t.Context(), fmt.Sprintf("%sk%d", prefix, i), "v", time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	var left []string
	var mu sync.Mutex
	err := c.ForEachMaster(t.Context(), func(ctx context.Context, node *redis.Client) error {
		keys, err := node.Keys(ctx, prefix+"*").Result()
		mu.Lock()
		left = append(left, keys...)
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("keys left under the prefix after its test ended: %v", left)
	}
}

// A node of a cluster stops (the keys of its slots cannot be reached) and starts again: the
// cluster is whole, and the node serves its slots, empty.
func TestClusterNodeStopStart(t *testing.T) {
	cl := NewCluster(t)
	if got := len(cl.Addrs()); got != clusterSize {
		t.Fatalf("%d nodes, want %d", got, clusterSize)
	}
	c := clusterClient(t, cl.URL())
	ctx := t.Context()
	// A key of every node, found by asking the cluster where each lands.
	keyOf := map[string]string{}
	for i := 0; len(keyOf) < clusterSize && i < 1000; i++ {
		k := fmt.Sprintf("k%d", i)
		if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		node, err := c.MasterForKey(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := keyOf[node.Options().Addr]; !ok {
			keyOf[node.Options().Addr] = k
		}
	}
	stopped := cl.Addrs()[1]
	key := keyOf[stopped]
	if key == "" {
		t.Fatalf("no key landed on node 1 (%s): %v", stopped, keyOf)
	}

	cl.StopNode(1)
	cl.StopNode(1) // stopping a stopped node does nothing
	if err := c.Get(ctx, key).Err(); err == nil || errors.Is(err, redis.Nil) {
		t.Fatalf("GET of a key of the stopped node: %v, want an error", err)
	}

	cl.StartNode(1)
	cl.StartNode(1) // starting a running node does nothing
	if cl.Addrs()[1] != stopped {
		t.Fatalf("node 1 moved: %s, then %s", stopped, cl.Addrs()[1])
	}
	deadline := time.Now().Add(clusterTimeout)
	for {
		err := c.Get(ctx, key).Err()
		if errors.Is(err, redis.Nil) {
			break // served again, and empty: nothing is persisted
		}
		if err == nil {
			t.Fatalf("GET of a key written before the restart found it: nothing should be persisted")
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET of a key of the restarted node still fails after %v: %v", clusterTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for addr, k := range keyOf {
		if addr == stopped {
			continue
		}
		if v, err := c.Get(ctx, k).Result(); err != nil || v != "v" {
			t.Errorf("GET %s on the node %s that kept running: %q, %v", k, addr, v, err)
		}
	}
}
