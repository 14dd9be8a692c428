package redistest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// EnvClusterURL names the variable that points the tests at a running Redis Cluster, by a
// URL of ClusterScheme.
const EnvClusterURL = "LATCH_TEST_REDIS_CLUSTER_URL"

// ClusterScheme is the scheme of a cluster's URL, as storage/redis reads it:
// redis+cluster://host:port?addr=host:port&addr=host:port.
const ClusterScheme = "redis+cluster"

// clusterSize is how many masters a test cluster has (and no replicas): three, the fewest
// that Redis Cluster's tooling accepts, and enough for keys to spread over several nodes.
const clusterSize = 3

// slotCount is the number of hash slots of every Redis Cluster.
const slotCount = 16384

// clusterTimeout bounds how long the nodes may take to agree on the cluster, after they
// were started or after one came back.
const clusterTimeout = 60 * time.Second

// nodeTimeout is the nodes' cluster-node-timeout: how long a node may stay silent before the
// others take it for failed. Long enough that a busy test machine does not make a live node
// look failed (with no replicas, that takes the whole cluster down).
const nodeTimeout = 5 * time.Second

// sharedCluster is the cluster of ClusterURL when $LATCH_TEST_REDIS_CLUSTER_URL is not set.
var sharedCluster sharedServer[*cluster]

// ClusterURL returns the URL of the Redis Cluster shared by the tests of the binary:
// $LATCH_TEST_REDIS_CLUSTER_URL when it is set, otherwise a cluster of three redis-server
// masters that the binary starts on first use, once, and Main stops. Tests keep their keys
// under ClusterPrefix.
func ClusterURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvClusterURL); u != "" {
		return u
	}
	needBinary(t)
	return sharedCluster.get(t, "a Redis Cluster", startCluster)
}

// ClusterPrefix is Prefix on the cluster of ClusterURL: a key prefix no other test uses,
// whose keys, on every master, are deleted when t ends.
func ClusterPrefix(t testing.TB) string {
	t.Helper()
	url := ClusterURL(t)
	return newPrefix(t, func(prefix string) error { return deleteClusterKeys(url, prefix) })
}

// ClusterOptions parses the URL of a cluster (ClusterScheme) into go-redis' options, for
// tests that look at the cluster with a client of their own.
func ClusterOptions(url string) (*redis.ClusterOptions, error) {
	rest, ok := strings.CutPrefix(url, ClusterScheme+"://")
	if !ok {
		return nil, fmt.Errorf("redistest: %q is not a %s:// URL", url, ClusterScheme)
	}
	return redis.ParseClusterURL("redis://" + rest)
}

// deleteClusterKeys deletes the keys under prefix on every master, one DEL per key: keys in
// different hash slots cannot share a command.
func deleteClusterKeys(url, prefix string) error {
	opt, err := ClusterOptions(url)
	if err != nil {
		return err
	}
	c := redis.NewClusterClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		iter := node.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			return err
		}
		_, err := node.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Del(ctx, k)
			}
			return nil
		})
		return err
	})
}

// Cluster is a Redis Cluster of one test's own: three masters, each owning a third of the
// hash slots, no replicas. A test may stop a node and start it again: for fault tests (a
// master down mid-run, then back).
type Cluster struct {
	t testing.TB
	c *cluster
}

// NewCluster starts a cluster for t, stopped when t ends.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	needBinary(t)
	c, err := startCluster(t.TempDir())
	if err != nil {
		t.Fatalf("redistest: start a Redis Cluster: %v", err)
	}
	t.Cleanup(c.stop) // registered after TempDir: runs before the directory goes
	return &Cluster{t: t, c: c}
}

// URL is the cluster's URL, naming every node (the same across restarts of a node).
func (c *Cluster) URL() string { return c.c.url() }

// Addrs are the nodes' addresses (host:port), in the order of their slot ranges: node 0
// owns the first third of the slots.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.c.nodes))
	for i, n := range c.c.nodes {
		addrs[i] = n.addr()
	}
	return addrs
}

// StopNode kills node i (as a crash would) and waits until it has exited. Its slots are
// then served by no one: commands on their keys fail, and once the other nodes have taken
// it for failed, the whole cluster refuses commands (CLUSTERDOWN). Stopping a stopped node
// does nothing.
func (c *Cluster) StopNode(i int) {
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	n := c.c.nodes[i]
	if n.p != nil {
		n.p.stop()
		n.p = nil
	}
}

// StartNode starts the stopped node i again, on its ports and with its cluster
// configuration (its id and slots; its keys are gone, nothing is persisted), and waits
// until every node sees the cluster whole again. Starting a running node does nothing.
func (c *Cluster) StartNode(i int) {
	c.t.Helper()
	c.c.mu.Lock()
	defer c.c.mu.Unlock()
	n := c.c.nodes[i]
	if n.p != nil {
		return
	}
	p, err := start(n.dir, n.port, n.args()...)
	if err != nil {
		c.t.Fatalf("redistest: restart cluster node %d on port %d: %v", i, n.port, err)
	}
	n.p = p
	if err := c.c.waitWhole(); err != nil {
		c.t.Fatalf("redistest: cluster after node %d came back: %v", i, err)
	}
}

// cluster is the running nodes of a Redis Cluster.
type cluster struct {
	dir   string
	mu    sync.Mutex
	nodes []*clusterNode
}

// clusterNode is one master, with a directory of its own for its cluster configuration.
type clusterNode struct {
	dir           string
	port, busPort int
	p             *process // nil while stopped
}

func (n *clusterNode) addr() string { return fmt.Sprintf("127.0.0.1:%d", n.port) }

// args are the node's cluster arguments to redis-server.
func (n *clusterNode) args() []string {
	return []string{
		"--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(n.dir, "nodes.conf"),
		"--cluster-port", strconv.Itoa(n.busPort),
		"--cluster-node-timeout", strconv.FormatInt(nodeTimeout.Milliseconds(), 10),
	}
}

func (c *cluster) url() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s://%s", ClusterScheme, c.nodes[0].addr())
	for i, n := range c.nodes[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		fmt.Fprintf(&b, "%saddr=%s", sep, n.addr())
	}
	return b.String()
}

func (c *cluster) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if n.p != nil {
			n.p.stop()
			n.p = nil
		}
	}
}

// startCluster starts clusterSize nodes under dir, gives each a third of the slots, has
// them meet, and waits until every node sees the cluster whole.
func startCluster(dir string) (*cluster, error) {
	c := &cluster{dir: dir}
	for i := range clusterSize {
		n, err := startNode(filepath.Join(dir, fmt.Sprintf("node%d", i)))
		if err != nil {
			c.stop()
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
		c.nodes = append(c.nodes, n)
	}
	if err := c.form(); err != nil {
		c.stop()
		return nil, err
	}
	if err := c.waitWhole(); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// startNode starts a cluster node on two free loopback ports, its own and its cluster bus's
// (given, so that it need not be the port plus 10000, which may be taken or out of range).
func startNode(dir string) (*clusterNode, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var errs []error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		bus, err := freePort()
		if err != nil {
			return nil, err
		}
		if bus == port {
			continue
		}
		n := &clusterNode{dir: dir, port: port, busPort: bus}
		if n.p, err = start(dir, port, n.args()...); err == nil {
			return n, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// form gives node i the i-th third of the slots and a config epoch of its own (so that they
// need not settle a collision), and introduces every node to the first.
func (c *cluster) form() error {
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	for i, n := range c.nodes {
		rc := nodeClient(n)
		first, last := i*slotCount/clusterSize, (i+1)*slotCount/clusterSize-1
		err := rc.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err()
		if err == nil {
			err = rc.ClusterAddSlotsRange(ctx, first, last).Err()
		}
		_ = rc.Close()
		if err != nil {
			return fmt.Errorf("node %d: assign slots %d-%d: %w", i, first, last, err)
		}
	}
	rc := nodeClient(c.nodes[0])
	defer rc.Close()
	for i, n := range c.nodes[1:] {
		// MEET with the bus port: the node's bus is not on the default port plus 10000.
		if err := rc.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", n.port, n.busPort).Err(); err != nil {
			return fmt.Errorf("node 0 meets node %d: %w", i+1, err)
		}
	}
	return nil
}

// waitWhole waits until every node says that the cluster is ok (every slot served) and
// knows every node, or clusterTimeout has passed, or a node has exited.
func (c *cluster) waitWhole() error {
	deadline := time.Now().Add(clusterTimeout)
	for {
		err := c.whole()
		if err == nil {
			return nil
		}
		for i, n := range c.nodes {
			if n.p == nil {
				continue
			}
			select {
			case <-n.p.exited:
				return fmt.Errorf("node %d exited: %v; its output: %s", i, n.p.cmd.ProcessState, strings.TrimSpace(n.p.log.String()))
			default:
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ok within %v: %w", clusterTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// whole says, as an error, what keeps the cluster from being whole; nil when it is.
func (c *cluster) whole() error {
	for i, n := range c.nodes {
		if n.p == nil {
			return fmt.Errorf("node %d is stopped", i)
		}
		rc := nodeClient(n)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := rc.ClusterInfo(ctx).Result()
		cancel()
		_ = rc.Close()
		if err != nil {
			return fmt.Errorf("node %d: CLUSTER INFO: %w", i, err)
		}
		fields := map[string]string{}
		for line := range strings.SplitSeq(info, "\n") {
			k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
			fields[k] = v
		}
		if fields["cluster_state"] != "ok" || fields["cluster_known_nodes"] != strconv.Itoa(clusterSize) {
			return fmt.Errorf("node %d: cluster_state:%s, cluster_known_nodes:%s", i, fields["cluster_state"], fields["cluster_known_nodes"])
		}
	}
	return nil
}

// nodeClient is a client of one node alone, failing at once rather than retrying.
func nodeClient(n *clusterNode) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: n.addr(), MaxRetries: -1, DialTimeout: time.Second})
}
