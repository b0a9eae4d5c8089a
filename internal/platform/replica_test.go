package platform_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// TestReadModelsComeFromTheReplica points ORDERMILL_DATABASE_READ_URL at a
// second database standing in for a replica: writes land on the primary,
// order reads answer from the replica, and show an order only once its
// read-model rows are there (copied here as replication would).
func TestReadModelsComeFromTheReplica(t *testing.T) {
	replicaURL := testenv.DatabaseURL(t)
	e := apitest.New(t, func(c *config.Config) { c.DatabaseReadURL = replicaURL })
	if e.Platform.ReadPool == e.Platform.Pool {
		t.Fatal("the read pool is the primary's")
	}
	const shop = "replica.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)
	resp := e.Do(t, http.MethodPost, "/api/v1/orders", owner, map[string]any{
		"email": "buyer@example.com", "customer_name": "Ada", "currency": "EUR",
		"lines": []map[string]any{{"sku": "SKU-1", "title": "Mug", "quantity": 1, "unit_price": 1250}},
	}, "Idempotency-Key", "replica-1")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("place order: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
	}
	var placed struct{ ID, Position string }
	apitest.Decode(t, resp, &placed)

	ctx := context.Background()
	primary := e.Platform.Pool
	waitFor(t, "the projector to write the primary's read model", func() bool {
		var n int
		_ = primary.QueryRow(ctx, `SELECT count(*) FROM orders_view WHERE id = $1`, placed.ID).Scan(&n)
		return n == 1
	})
	list := func() []struct{ ID string } {
		var page struct{ Items []struct{ ID string } }
		resp := e.Do(t, http.MethodGet, "/api/v1/orders", owner, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("list orders: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
		}
		apitest.Decode(t, resp, &page)
		return page.Items
	}
	if items := list(); len(items) != 0 {
		t.Fatalf("orders listed from the primary, not the replica: %v", items)
	}
	// Read-your-writes waits for the replica's progress, not the primary's.
	resp = e.Do(t, http.MethodGet, "/api/v1/orders/"+placed.ID, owner, nil, "X-Min-Position", placed.Position)
	if got := resp.Header.Get("X-Consistency"); got != "stale" {
		t.Fatalf("read with the write's position before the replica has it: X-Consistency %q, want stale", got)
	}
	resp.Body.Close()

	// Replicate the read-model rows, and the projector's progress, by hand.
	replica := e.Platform.ReadPool
	for _, rowsOf := range []struct {
		table, where string
		args         []any
	}{
		{"orders_view", "id = $1", []any{placed.ID}},
		{"order_lines_view", "order_id = $1", []any{placed.ID}},
		{"projection_progress", "projection = 'orders'", nil},
	} {
		table := rowsOf.table
		rows, err := primary.Query(ctx, `SELECT to_jsonb(t) FROM `+table+` t WHERE `+rowsOf.where, rowsOf.args...)
		if err != nil {
			t.Fatal(err)
		}
		var records [][]byte
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			records = append(records, b)
		}
		if err := rows.Err(); err != nil || len(records) == 0 {
			t.Fatalf("%s rows of the order: %d, %v", table, len(records), err)
		}
		for _, r := range records {
			if _, err := replica.Exec(ctx, `INSERT INTO `+table+` SELECT * FROM jsonb_populate_record(NULL::`+table+`, $1)`, r); err != nil {
				t.Fatalf("replicate %s: %v", table, err)
			}
		}
	}
	if items := list(); len(items) != 1 || items[0].ID != placed.ID {
		t.Fatalf("orders listed from the replica: %v, want [%s]", items, placed.ID)
	}
	// No notification reaches the watcher for rows copied by hand: its poll
	// of the replica finds the progress.
	resp = e.Fresh(t, "/api/v1/orders/"+placed.ID, owner, placed.Position)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Consistency") == "stale" {
		t.Fatalf("read with the write's position once the replica has it: %d, X-Consistency %q",
			resp.StatusCode, resp.Header.Get("X-Consistency"))
	}
}
