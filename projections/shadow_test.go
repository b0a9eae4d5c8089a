package projections

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// shoutingOrders is the orders projector after a change: it now writes
// customer names in capitals.
type shoutingOrders struct{ *Orders }

func (p shoutingOrders) ApplyBatch(ctx context.Context, tx pgx.Tx, events []eventstore.Event) error {
	return shout(ctx, tx, p.Orders.ApplyBatch(ctx, tx, events))
}

func (p shoutingOrders) FoldBatch(ctx context.Context, events []eventstore.Event) (Load, error) {
	load, err := p.Orders.FoldBatch(ctx, events)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, tx pgx.Tx) error { return shout(ctx, tx, load(ctx, tx)) }, nil
}

func shout(ctx context.Context, tx pgx.Tx, err error) error {
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE orders_view SET customer_name = upper(customer_name) WHERE customer_name <> upper(customer_name)`)
	return err
}

func TestShadowRebuildDiffAndSwapWhileReadersRead(t *testing.T) {
	f := newFixture(t)
	var ids []uuid.UUID
	for i := range 12 {
		id := uuid.New()
		o := placed(id)
		if i%4 == 0 {
			o.CustomerName = fmt.Sprintf("customer %d", i) // the changed projector capitalises these
		} else {
			o.CustomerName = fmt.Sprintf("CUSTOMER %d", i)
		}
		f.appendEvents(t, domain.OrderStream(id), o, paid)
		ids = append(ids, id)
	}
	waitReadable(t, f)
	live := NewOrders(nil, "")
	if _, err := Rebuild(f.ctx, f.store, live, nil); err != nil {
		t.Fatal(err)
	}
	// Drift in the live table: a row lost and a row that no event explains.
	stray := uuid.New()
	if _, err := f.pool.Exec(f.ctx, `WITH lines AS (DELETE FROM order_lines_view WHERE order_id = $1)
		DELETE FROM orders_view WHERE id = $1`, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(f.ctx, `INSERT INTO orders_view SELECT $1, shop, name, NULL, source, email, customer_name, currency,
		subtotal, total, paid, refunded, status, financial_status, fulfillment_status, item_count, placed_at, cancelled_at,
		shopify_updated_at, version, updated_at FROM orders_view WHERE id = $2`, stray, ids[2]); err != nil {
		t.Fatal(err)
	}

	shadow, err := OpenShadow(f.ctx, f.pool)
	if err != nil {
		t.Fatal(err)
	}
	defer shadow.Close()
	changed := shoutingOrders{NewOrders(nil, "")}
	res, err := shadow.Rebuild(f.ctx, changed, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 24 {
		t.Fatalf("rebuilt from %d events, want 24", res.Events)
	}
	// Indexes and constraints, built concurrently after the load, are the live tables' own.
	for _, table := range []string{"orders_view", "order_lines_view"} {
		if live, built := tableDefinitions(t, f, "public", table), tableDefinitions(t, f, ShadowSchema, table); len(live) < 2 || !slices.Equal(live, built) {
			t.Fatalf("%s: shadow table has %q, live %q", table, built, live)
		}
	}
	var liveProgress int64
	if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM projection_streams WHERE projection = 'orders'`).Scan(&liveProgress); err != nil || liveProgress != 12 {
		t.Fatalf("the shadow rebuild touched live bookkeeping: %d rows, %v", liveProgress, err)
	}

	diffs, err := shadow.Diff(f.ctx, changed, 10)
	if err != nil {
		t.Fatal(err)
	}
	d := diffs[0]
	if d.Table != "orders_view" || !slices.Equal(d.Key, []string{"id"}) || d.LiveRows != 12 || d.ShadowRows != 12 ||
		d.Added != 1 || d.Removed != 1 || d.Changed != 3 {
		t.Fatalf("orders_view diff: %+v", d)
	}
	got := map[string]string{}
	for _, ex := range d.Examples {
		got[ex.Key["id"].(string)] = ex.Kind
		if ex.Kind == "changed" && (len(ex.Columns) != 1 || ex.Columns[0].Column != "customer_name" ||
			ex.Columns[0].Shadow != strings.ToUpper(ex.Columns[0].Live.(string))) {
			t.Errorf("changed row names columns %+v", ex.Columns)
		}
	}
	want := map[string]string{ids[1].String(): "added", stray.String(): "removed",
		ids[0].String(): "changed", ids[4].String(): "changed", ids[8].String(): "changed"}
	if len(got) != len(want) {
		t.Fatalf("diff examples %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("diff examples %v, want %v", got, want)
		}
	}
	// The lost order's lines went with it: the shadow adds them back.
	if l := diffs[1]; l.Table != "order_lines_view" || l.Added != 3 || l.Removed != 0 || l.Changed != 0 {
		t.Fatalf("order_lines_view diff: %+v", l)
	}

	// An order placed after the rebuild must still be in the swapped-in table.
	late := uuid.New()
	f.appendEvents(t, domain.OrderStream(late), placed(late))
	waitReadable(t, f)

	// Readers query the live tables throughout the swap; none may see an error.
	var (
		stop    atomic.Bool
		queries atomic.Int64
		wg      sync.WaitGroup
		errs    = make(chan error, 100)
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				var n int
				err := f.pool.QueryRow(context.Background(), `SELECT count(*) FROM orders_view o
					JOIN order_lines_view l ON l.order_id = o.id WHERE o.shop = $1`, shop).Scan(&n)
				if err != nil {
					errs <- err
					return
				}
				queries.Add(1)
			}
		}()
	}
	waitQueries := func(n int64) {
		for queries.Load() < n && len(errs) == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	waitQueries(20) // readers are up before the swap starts
	before := queries.Load()
	if err := shadow.Swap(f.ctx, changed); err != nil {
		t.Fatal(err)
	}
	waitQueries(queries.Load() + 20) // and keep answering after it
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("reader failed during the swap: %v", err)
	}
	if queries.Load() <= before {
		t.Fatal("no reader query ran after the swap began")
	}

	var names []string
	rows, err := f.pool.Query(f.ctx, `SELECT customer_name FROM orders_view ORDER BY customer_name`)
	if err != nil {
		t.Fatal(err)
	}
	names, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 13 || slices.ContainsFunc(names, func(n string) bool { return n == "customer 4" }) {
		t.Fatalf("live orders after swap: %v", names)
	}
	var lateName string
	if err := f.pool.QueryRow(f.ctx, `SELECT name FROM orders_view WHERE id = $1`, late).Scan(&lateName); err != nil {
		t.Fatalf("an order placed between rebuild and swap: %v", err)
	}
	var version int64
	if err := f.pool.QueryRow(f.ctx, `SELECT version FROM projection_streams WHERE projection = 'orders' AND stream_id = $1`,
		domain.OrderStream(late)).Scan(&version); err != nil || version != 1 {
		t.Fatalf("live bookkeeping after swap: version %d, %v", version, err)
	}
	// The swapped-in tables carry the migrations' index and constraint names.
	var n int
	if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname IN
		('orders_view_pkey', 'orders_view_shop_placed', 'orders_view_shopify', 'order_lines_view_pkey')`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("indexes after swap: %d, %v", n, err)
	}
	if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM pg_tables WHERE schemaname IN ($1, $2)`,
		ShadowSchema, retiredSchema).Scan(&n); err != nil || n != 2 { // only the shadow bookkeeping tables remain
		t.Fatalf("tables left behind: %d, %v", n, err)
	}
	// The projector keeps working on the swapped-in tables.
	more := f.appendEvents(t, domain.OrderStream(late), paid)
	f.applyOnce(t, live, more[0], Applied)
}

// tableDefinitions lists the definitions of a table's indexes and
// constraints, without its schema's name, in order.
func tableDefinitions(t *testing.T, f *fixture, schema, table string) []string {
	t.Helper()
	var defs []string
	err := f.pool.QueryRow(f.ctx, `SELECT array_agg(replace(d, $2 || '.', '') ORDER BY d) FROM (
		SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = ($2 || '.' || $1)::regclass
		UNION ALL
		SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = ($2 || '.' || $1)::regclass
	) AS defs(d)`, table, schema).Scan(&defs)
	if err != nil {
		t.Fatal(err)
	}
	return defs
}

// waitReadable waits until readers of "all" see every appended event: a
// transaction open elsewhere on the server holds back what they may read.
func waitReadable(t *testing.T, f *fixture) {
	t.Helper()
	waitFor(t, "appended events to become readable", func() bool {
		var pending bool
		err := f.pool.QueryRow(f.ctx, `SELECT EXISTS (SELECT 1 FROM events
			WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot()))`).Scan(&pending)
		return err == nil && !pending
	})
}
