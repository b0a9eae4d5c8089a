package chaos_test

import (
	"testing"

	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
)

// streamsKey is in the hash slot of every relayed stream: the faults that
// lose Redis data hit the master that serves it.
var streamsKey = relay.StreamKey("chaos:", "relay.marker")

// chaosRedis is the Redis the platform runs on: one server, or a cluster
// (ORDERMILL_CHAOS_REDIS=cluster) of three masters with a replica each.
type chaosRedis struct {
	t       *testing.T
	single  *testenv.RedisServer
	cluster *testenv.RedisCluster
}

func startRedis(t *testing.T, kind string) *chaosRedis {
	t.Helper()
	switch kind {
	case "", "single":
		return &chaosRedis{t: t, single: testenv.StartRedis(t)}
	case "cluster":
		return &chaosRedis{t: t, cluster: testenv.StartRedisCluster(t)}
	}
	t.Fatalf("ORDERMILL_CHAOS_REDIS=%q: want single or cluster", kind)
	return nil
}

// URL is ORDERMILL_REDIS_URL for the platform.
func (r *chaosRedis) URL() string {
	if r.cluster != nil {
		return r.cluster.URL()
	}
	return r.single.URL()
}

func (r *chaosRedis) String() string {
	if r.cluster != nil {
		return r.cluster.String()
	}
	return "Redis " + r.single.Addr + " (one server)"
}

// extraFaults are the faults only a cluster has.
func (r *chaosRedis) extraFaults() []string {
	if r.cluster != nil {
		return []string{"redis failover"}
	}
	return nil
}

// Restart empties Redis as a restart without persistence does: the one
// server, or the streams' master of the cluster (and so its replica) before
// a failover can save its data.
func (r *chaosRedis) Restart() {
	if r.cluster != nil {
		r.t.Logf("restarted master %s empty", r.cluster.RestartMaster(streamsKey))
		return
	}
	r.single.Restart()
}

// Failover kills the streams' master of the cluster; its replica takes over, with
// whatever replication had not yet copied lost, and the killed node rejoins
// as a replica.
func (r *chaosRedis) Failover() {
	r.t.Logf("killed master %s; its replica took over", r.cluster.KillMaster(streamsKey))
}
