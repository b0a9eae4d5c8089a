package testenv

import (
	"context"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a Redis Cluster of the test's own: three masters, each
// with one replica, on free ports, keeping nothing on disk but each node's
// cluster configuration, so a node restarted after a failover rejoins as
// the replica of the one that took over.
type RedisCluster struct {
	Nodes []*RedisServer
	t     testing.TB
}

// clusterNodeTimeout is how long a master may be unreachable before its
// replica takes over (Redis's default is 15 s).
const clusterNodeTimeout = "3000"

// StartRedisCluster starts six redis-server nodes and joins them with
// redis-cli --cluster create; they are stopped when the test ends.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skip(bin + " is not installed")
		}
	}
	c := &RedisCluster{t: t}
	args := []string{"--cluster", "create"}
	for range 6 {
		n := &RedisServer{Addr: FreeAddr(t), t: t, dir: t.TempDir(),
			extra: []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", clusterNodeTimeout}}
		n.Start()
		t.Cleanup(n.Kill)
		c.Nodes = append(c.Nodes, n)
		args = append(args, n.Addr)
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitHealthy(c.Nodes[0])
	return c
}

// Addrs are the nodes' addresses.
func (c *RedisCluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// URL is the comma-separated list of every node's redis:// URL, the form
// ORDERMILL_REDIS_URL takes for a cluster.
func (c *RedisCluster) URL() string {
	return "redis://" + strings.Join(c.Addrs(), ",redis://")
}

// String names the cluster's masters and replicas, for reports.
func (c *RedisCluster) String() string {
	var masters, replicas []string
	for _, n := range c.Nodes {
		for _, line := range c.clusterNodes(n) {
			if strings.Contains(line.flags, "myself") {
				if strings.Contains(line.flags, "master") {
					masters = append(masters, n.Addr)
				} else {
					replicas = append(replicas, n.Addr)
				}
			}
		}
	}
	return "Redis Cluster, masters " + strings.Join(masters, " ") + ", replicas " + strings.Join(replicas, " ")
}

// KillMaster kills (SIGKILL) the master that serves key, waits until its
// replica has taken over its slots, then starts the killed node again, which
// rejoins as a replica. It returns the killed node's address.
func (c *RedisCluster) KillMaster(key string) string {
	c.t.Helper()
	victim := c.masterFor(key)
	victim.Kill()
	var survivor *RedisServer
	for _, n := range c.Nodes {
		if n != victim {
			survivor = n
			break
		}
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.t.Fatalf("no replica took over from %s", victim.Addr)
		}
		promoted := false
		for _, line := range c.clusterNodes(survivor) {
			if line.addr == victim.Addr && strings.Contains(line.flags, "fail") && !strings.Contains(line.flags, "fail?") {
				promoted = true
			}
		}
		if promoted && c.healthy(survivor, 5) {
			break
		}
	}
	victim.Start()
	c.waitHealthy(survivor)
	return victim.Addr
}

// RestartMaster kills the master that serves key and starts it again at
// once, before a replica can take over: it comes back empty, as a Redis
// without persistence does, and its replica copies the emptiness. It
// returns the restarted node's address.
func (c *RedisCluster) RestartMaster(key string) string {
	c.t.Helper()
	victim := c.masterFor(key)
	victim.Restart()
	c.waitHealthy(victim)
	return victim.Addr
}

func (c *RedisCluster) masterFor(key string) *RedisServer {
	c.t.Helper()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	defer client.Close()
	master, err := client.MasterForKey(c.t.Context(), key)
	if err != nil {
		c.t.Fatalf("master of %s: %v", key, err)
	}
	for _, n := range c.Nodes {
		if n.Addr == master.Options().Addr {
			return n
		}
	}
	c.t.Fatalf("master of %s is %s, not a node of this cluster", key, master.Options().Addr)
	return nil
}

// waitHealthy waits until the cluster, as seen from n, covers every slot and
// has three masters and three replicas, all connected.
func (c *RedisCluster) waitHealthy(n *RedisServer) {
	c.t.Helper()
	for deadline := time.Now().Add(time.Minute); !c.healthy(n, 6); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.t.Fatalf("redis cluster did not become healthy: %v", c.clusterNodes(n))
		}
	}
}

// healthy reports whether n sees every slot served, three masters and at
// least live nodes reachable, and every running replica synced.
func (c *RedisCluster) healthy(n *RedisServer, live int) bool {
	client := redis.NewClient(&redis.Options{Addr: n.Addr})
	defer client.Close()
	info, err := client.ClusterInfo(c.t.Context()).Result()
	if err != nil || !strings.Contains(info, "cluster_state:ok") {
		return false
	}
	reachable, masters := 0, 0
	for _, line := range c.clusterNodes(n) {
		if strings.Contains(line.flags, "fail") || line.link != "connected" {
			continue
		}
		reachable++
		if strings.Contains(line.flags, "master") && line.slots {
			masters++
		}
	}
	if reachable < live || masters != 3 {
		return false
	}
	// Every replica has finished its first sync.
	for _, node := range c.Nodes {
		if !node.Running() {
			continue
		}
		nc := redis.NewClient(&redis.Options{Addr: node.Addr})
		repl, err := nc.Info(c.t.Context(), "replication").Result()
		nc.Close()
		if err != nil || strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
			return false
		}
	}
	return true
}

type clusterNode struct {
	addr, flags, link string
	slots             bool
}

// clusterNodes is CLUSTER NODES as n sees it (empty when n does not answer).
func (c *RedisCluster) clusterNodes(n *RedisServer) []clusterNode {
	client := redis.NewClient(&redis.Options{Addr: n.Addr})
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := client.ClusterNodes(ctx).Result()
	if err != nil {
		return nil
	}
	var nodes []clusterNode
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		nodes = append(nodes, clusterNode{addr: addr, flags: f[2], link: f[7], slots: len(f) > 8})
	}
	slices.SortFunc(nodes, func(a, b clusterNode) int { return strings.Compare(a.addr, b.addr) })
	return nodes
}
