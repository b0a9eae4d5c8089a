package platform_test

import (
	"testing"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
	"github.com/ordermill/ordermill/workers"
)

// TestDeadLetterMetricsStartAtZero: before anything failed, every handler's
// dead-letter and attempt counters and its open dead letters are there, at
// 0, so that dashboards show 0 and increase() counts the first dead letter.
func TestDeadLetterMetricsStartAtZero(t *testing.T) {
	e := apitest.New(t)
	workers.NewRouter(e.Platform.WorkersConfig(), workers.Handler{Name: "zero-probe", Categories: []string{"order"}})
	m := testenv.Scrape(t, e.MetricsURL+"/metrics")
	for _, c := range []struct {
		name   string
		labels map[string]string
	}{
		{"ordermill_worker_dead_letters_total", map[string]string{"handler": "zero-probe"}},
		{"ordermill_worker_attempts_total", map[string]string{"handler": "zero-probe", "result": "error"}},
		{"ordermill_worker_attempts_total", map[string]string{"handler": "zero-probe", "result": "ok"}},
		{"ordermill_dead_letters_open", map[string]string{"handler": workers.EmailHandlerName}},
		{"ordermill_dead_letters_open", map[string]string{"handler": app.WebhooksHandler}},
	} {
		if v, ok := m.Sum(c.name, c.labels); !ok || v != 0 {
			t.Errorf("%s%v = %v (found %v), want 0", c.name, c.labels, v, ok)
		}
	}
}
