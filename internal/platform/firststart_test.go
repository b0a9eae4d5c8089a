package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/relay"
)

// TestFreshStartLogsNoError starts the platform as a newcomer's first
// `make run` does: a Redis that never held anything, a new database, the
// demo seed, the simulator standing in for Shopify and SES. The consumers start first and are blocked reading their
// streams when the relay leads for the first time, which is when the relay
// used to delete the streams under them. No line of any process may be an
// ERROR, and no line may carry a key twice.
func TestFreshStartLogsNoError(t *testing.T) {
	server := testenv.StartRedis(t)
	dbURL := testenv.DatabaseURL(t)
	sim := testenv.StartSimulator(t)
	bin := buildOrdermill(t)
	env := append(os.Environ(),
		"ORDERMILL_DATABASE_URL="+dbURL,
		"ORDERMILL_DATABASE_READ_URL=",
		"ORDERMILL_REDIS_URL="+server.URL(),
		"ORDERMILL_STREAM_PREFIX=ordermill:",
		"ORDERMILL_DATA_DIR="+t.TempDir(),
		"ORDERMILL_LOG_LEVEL=info",
		"ORDERMILL_SHOPIFY_API_URL="+sim.URL,
		"ORDERMILL_SES_ENDPOINT="+sim.URL,
	)
	seed := exec.Command(bin, "seed")
	seed.Env = env
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("ordermill seed: %v\n%s", err, out)
	}

	consumers := startProcess(t, bin, env, "consumers", "projectors,workers")
	rdb := redis.NewClient(&redis.Options{Addr: server.Addr})
	defer rdb.Close()
	// Both kinds of consumer: a batch projector and a Watermill worker.
	waitFor(t, "the consumer groups on the order stream", func() bool {
		infos, err := rdb.XInfoGroups(context.Background(), relay.Topic("ordermill:", "order")).Result()
		var names []string
		for _, g := range infos {
			names = append(names, g.Name)
		}
		return err == nil && slices.Contains(names, "ordermill:projectors") && slices.Contains(names, "ordermill:worker.email")
	})
	time.Sleep(2 * time.Second) // every consumer is now blocked in XREADGROUP

	front := startProcess(t, bin, env, "front", "api,relay")
	waitFor(t, "the relay to lead", func() bool {
		v, _ := front.metrics(t).Sum("ordermill_relay_leader", nil)
		return v == 1
	})
	pool := testenv.PoolFor(t, dbURL)
	waitFor(t, "the seed to be relayed and projected", func() bool {
		var n int
		_ = pool.QueryRow(context.Background(), `SELECT count(*) FROM orders_view`).Scan(&n)
		lag, ok := front.metrics(t).Sum("ordermill_relay_lag_events", map[string]string{"checkpoint": "relay"})
		return n == 5 && ok && lag == 0
	})
	// Watermill subscribers claim every few seconds: give a late error time to show.
	time.Sleep(6 * time.Second)
	front.stop(t)
	consumers.stop(t)

	for _, p := range []*process{consumers, front} {
		lines := strings.Split(strings.TrimSpace(p.log(t)), "\n")
		for _, line := range lines {
			keys, err := topLevelKeys(line)
			if err != nil {
				t.Errorf("%s: not a JSON log line (%v): %s", p.name, err, line)
				continue
			}
			var rec struct{ Level string }
			_ = json.Unmarshal([]byte(line), &rec)
			if rec.Level == "ERROR" {
				t.Errorf("%s logged an ERROR on a healthy first start: %s", p.name, line)
			}
			for i, k := range keys {
				if slices.Contains(keys[:i], k) {
					t.Errorf("%s: key %q appears twice: %s", p.name, k, line)
				}
			}
		}
		if !strings.Contains(p.log(t), `"msg":"starting"`) {
			t.Errorf("%s never logged that it was starting", p.name)
		}
	}
}

// topLevelKeys lists the keys of a JSON object in order, repeats included
// (encoding/json keeps only the last of repeated keys).
func topLevelKeys(line string) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(line)))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
