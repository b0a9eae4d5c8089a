package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"sync"
	"testing"
	"time"

	"github.com/ordermill/ordermill/internal/config"
)

// Config is a platform configuration of the test's own: a fresh database, a
// Redis key prefix, a temporary data dir, a random master key, worker
// retries and claims short enough for a test, and no scheduled audit.
func Config(t testing.TB) config.Config {
	t.Helper()
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	_, prefix := Redis(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg.DatabaseURL = DatabaseURL(t)
	cfg.DatabaseReadURL = cfg.DatabaseURL
	cfg.RedisURL, cfg.StreamPrefix = RedisURL(), prefix
	cfg.DataDir, cfg.MasterKey = t.TempDir(), base64.StdEncoding.EncodeToString(key)
	cfg.WorkerClaimIdle, cfg.WorkerRetryInterval = time.Second, 20*time.Millisecond
	cfg.AuditInterval = 0
	return cfg
}

// LogBuffer collects log lines that goroutines write while the test reads them.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
