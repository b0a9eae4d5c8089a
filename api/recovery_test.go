package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/bus"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
	"github.com/ordermill/ordermill/workers"
)

type bulkRequeueOut struct {
	DryRun   bool  `json:"dry_run"`
	Matched  int64 `json:"matched"`
	Requeued int   `json:"requeued"`
	Items    []struct {
		DeadLetter struct {
			ID      int64  `json:"id"`
			Handler string `json:"handler"`
		} `json:"dead_letter"`
		Explanation struct {
			What    string     `json:"what"`
			Why     string     `json:"why"`
			Effect  string     `json:"effect"`
			OrderID *uuid.UUID `json:"order_id"`
		} `json:"explanation"`
		Result string `json:"result"`
	} `json:"items"`
}

// TestBulkRequeueDeadLetters previews a re-queue by filter, checks that the
// preview changed nothing, then runs it and finds exactly the selected dead
// letters re-queued and published to their handler's stream.
func TestBulkRequeueDeadLetters(t *testing.T) {
	e, _ := newContractEnv(t)
	const shop = "recover.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)
	auditor := e.UserToken(t, shop, domain.RoleAuditor)
	other := e.UserToken(t, "recover-other.myshopify.com", domain.RoleOwner)
	ctx := context.Background()
	pool := e.Platform.Pool
	// Dead letters as the workers record them, on the order.placed events.
	deadLetter := func(token, handler, errText string) (id int64, order string) {
		t.Helper()
		o := placeOrder(t, e, token, sampleOrder("r@example.test"))
		if err := pool.QueryRow(ctx, `INSERT INTO dead_letters (shop, handler, event_id, stream_id, stream_version, event_type, error, attempts)
			SELECT tenant_id, $2, event_id, stream_id, stream_version, event_type, $3, 3 FROM events
			WHERE stream_id = 'order-' || $1 AND stream_version = 1 RETURNING id`, o.ID, handler, errText).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id, o.ID
	}
	mail1, order1 := deadLetter(owner, workers.EmailHandlerName, "ses: 429 Too Many Requests")
	mail2, _ := deadLetter(owner, workers.EmailHandlerName, "ses: 429 Too Many Requests")
	stock, _ := deadLetter(owner, workers.InventoryHandlerName, "insufficient stock on hand: MUG has 0")
	elsewhere, _ := deadLetter(other, workers.EmailHandlerName, "ses: 429 Too Many Requests")
	open := func() map[int64]bool {
		rows, err := pool.Query(ctx, `SELECT id FROM dead_letters WHERE requeued_at IS NULL`)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[int64]bool{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids[id] = true
		}
		return ids
	}
	requeueStream := bus.RequeueTopic(e.Platform.Config.StreamPrefix, workers.EmailHandlerName)
	published := func() int64 {
		n, err := e.Platform.Redis.XLen(ctx, requeueStream).Result()
		if err != nil && !strings.Contains(err.Error(), "nil") {
			t.Fatal(err)
		}
		return n
	}

	var preview bulkRequeueOut
	apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodPost, "/api/v1/dead-letters/requeue", owner,
		map[string]any{"handler": "email", "error_contains": "TOO MANY", "dry_run": true}), http.StatusOK), &preview)
	if !preview.DryRun || preview.Matched != 2 || len(preview.Items) != 2 || preview.Requeued != 0 {
		t.Fatalf("preview: %+v", preview)
	}
	first := preview.Items[0]
	if first.DeadLetter.ID != mail1 || first.Result != "would_requeue" || first.Explanation.OrderID == nil ||
		first.Explanation.OrderID.String() != order1 || !strings.Contains(first.Explanation.Why, "slow down") ||
		first.Explanation.Effect == "" {
		t.Errorf("preview of the first: %+v", first)
	}
	if still := open(); !still[mail1] || !still[mail2] || published() != 0 {
		t.Fatalf("the dry run changed something: open %v, published %d", still, published())
	}

	var done bulkRequeueOut
	apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodPost, "/api/v1/dead-letters/requeue", owner,
		map[string]any{"handler": "email", "error_contains": "429"}), http.StatusOK), &done)
	if done.DryRun || done.Requeued != 2 || len(done.Items) != 2 || done.Items[1].Result != "requeued" {
		t.Fatalf("requeue: %+v", done)
	}
	still := open()
	if still[mail1] || still[mail2] || !still[stock] || !still[elsewhere] {
		t.Errorf("open after the requeue: %v (mail %d %d requeued; stock %d and the other shop's %d stay)", still, mail1, mail2, stock, elsewhere)
	}
	if n := published(); n != 2 {
		t.Errorf("%d messages on %s, want 2", n, requeueStream)
	}

	var again bulkRequeueOut
	apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodPost, "/api/v1/dead-letters/requeue", owner,
		map[string]any{"handler": "email", "dry_run": true}), http.StatusOK), &again)
	if again.Matched != 0 || len(again.Items) != 0 {
		t.Errorf("after the requeue the preview still matches %+v", again)
	}
	apitest.Problem(t, e.Do(t, http.MethodPost, "/api/v1/dead-letters/requeue", owner,
		map[string]any{"since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"}), http.StatusUnprocessableEntity)
	apitest.Problem(t, e.Do(t, http.MethodPost, "/api/v1/dead-letters/requeue", owner, map[string]any{"handlr": "email"}),
		http.StatusBadRequest)
	apitest.Problem(t, e.Do(t, http.MethodPost, "/api/v1/dead-letters/requeue", auditor, map[string]any{"dry_run": true}),
		http.StatusForbidden)

	// The list explains each open one and links its order.
	text := apitest.ReadBody(t, expectStatus(t, e.Do(t, http.MethodGet, "/api/v1/dead-letters", auditor, nil), http.StatusOK))
	if !strings.Contains(text, `"explanation":{"what":"Moving stock for this order (order.placed) failed."`) ||
		!strings.Contains(text, "not enough stock") {
		t.Errorf("dead letters: %s", text)
	}
}

type bulkRedeliveryOut struct {
	DryRun      bool  `json:"dry_run"`
	Matched     int64 `json:"matched"`
	Redelivered int   `json:"redelivered"`
	Items       []struct {
		Outcome struct {
			Status string `json:"status"`
		} `json:"outcome"`
		Changes []struct {
			Stream string   `json:"stream"`
			Events []string `json:"events"`
		} `json:"changes"`
		Result string `json:"result"`
	} `json:"items"`
}

// TestBulkRedeliverFailedWebhooks previews processing a failed webhook again
// (the events it would append, nothing written), then does it.
func TestBulkRedeliverFailedWebhooks(t *testing.T) {
	e, _ := newContractEnv(t)
	const shop = "redeliver.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)
	expectStatus(t, e.Do(t, http.MethodPost, "/api/v1/shops", owner, map[string]any{"domain": shop, "name": "Redeliver",
		"currency": "JPY", "webhook_secrets": []string{"secret-" + shop}, "access_token": "shpat_x"}), http.StatusCreated).Body.Close()
	body := []byte(orderBody)
	expectStatus(t, deliver(t, e, "/webhooks/shopify", shop, "orders/create", "w-bulk", body, sign(body, "secret-"+shop)),
		http.StatusOK).Body.Close()
	row := waitWebhookRow(t, e, owner, "w-bulk")
	ctx := context.Background()
	pool := e.Platform.Pool
	// As if processing had failed: no worker runs in this test.
	if _, err := pool.Exec(ctx, `UPDATE webhooks_view SET status = 'failed', error = 'shop was not ready' WHERE id = $1`, row); err != nil {
		t.Fatal(err)
	}
	count := func() (n int64) {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE tenant_id = $1`, shop).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()

	var preview bulkRedeliveryOut
	apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodPost, "/api/v1/webhooks/redeliver", owner,
		map[string]any{"topic": "orders/create", "error_contains": "NOT READY", "dry_run": true}), http.StatusOK), &preview)
	if preview.Matched != 1 || len(preview.Items) != 1 || preview.Items[0].Result != "would_redeliver" {
		t.Fatalf("preview: %+v", preview)
	}
	var appended []string
	for _, c := range preview.Items[0].Changes {
		appended = append(appended, c.Events...)
	}
	if !strings.Contains(strings.Join(appended, " "), "order.placed") {
		t.Errorf("the preview would append %v, want the order placed", appended)
	}
	if n := count(); n != before {
		t.Fatalf("the dry run appended %d events", n-before)
	}

	var none bulkRedeliveryOut
	apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodPost, "/api/v1/webhooks/redeliver", owner,
		map[string]any{"topic": "orders/updated", "dry_run": true}), http.StatusOK), &none)
	if none.Matched != 0 {
		t.Errorf("another topic matched %+v", none)
	}

	var done bulkRedeliveryOut
	apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodPost, "/api/v1/webhooks/redeliver", owner,
		map[string]any{"topic": "orders/create"}), http.StatusOK), &done)
	if done.Redelivered != 1 || done.Items[0].Outcome.Status != "processed" {
		t.Fatalf("redelivery: %+v", done)
	}
	if n := count(); n <= before {
		t.Errorf("the redelivery appended nothing")
	}
}
