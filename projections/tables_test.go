package projections

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
)

// seedEveryCategory appends events of each kind the projectors read.
func seedEveryCategory(t *testing.T, f *fixture) {
	order, report := uuid.New(), uuid.New()
	placedEvents := f.appendEvents(t, domain.OrderStream(order), placed(order), paid,
		domain.OrderFulfilled{FulfillmentID: "f1", Lines: []domain.LineQuantity{lq("l1", 2)}, FulfilledAt: t0},
		domain.OrderRefunded{RefundID: "r1", Amount: 1000, Lines: []domain.LineQuantity{lq("l2", 1)}, RefundedAt: t0})
	f.appendEvents(t, domain.InventoryStream(shop, "TEE"),
		domain.InventoryCounted{OnHand: 10, Reason: "initial count"},
		domain.InventoryReserved{OrderID: order, Quantity: 2},
		domain.InventoryCommitted{OrderID: order, FulfillmentID: "f1", Quantity: 2})
	f.appendEvents(t, domain.WebhookStream(shop, "w1"),
		domain.WebhookReceived{Shop: shop, Topic: "orders/create", WebhookID: "w1", ReceivedAt: t0},
		domain.WebhookProcessed{Result: "order placed", OrderID: order.String(), Events: 1})
	f.appendEvents(t, domain.WebhookStream(shop, "w2"),
		domain.WebhookReceived{Shop: shop, Topic: "orders/create", WebhookID: "w2", ReceivedAt: t0},
		domain.WebhookFailed{Reason: "malformed body"})
	f.appendEvents(t, domain.EmailStream(placedEvents[0].ID, domain.EmailOrderConfirmation),
		domain.EmailFailed{To: "ann@example.com", Subject: "Your order", Kind: domain.EmailOrderConfirmation,
			Reason: "throttled", SourceEventID: placedEvents[0].ID, FailedAt: t0},
		domain.EmailSent{To: "ann@example.com", Subject: "Your order", Kind: domain.EmailOrderConfirmation,
			SESMessageID: "m1", SourceEventID: placedEvents[0].ID, SentAt: t0.Add(time.Minute)})
	f.appendEvents(t, domain.ReportStream(report),
		domain.ReportRequested{ReportID: report, Shop: shop, Kind: domain.ReportSalesSummary, From: "2026-03-01",
			To: "2026-03-31", RequestedBy: "owner", RequestedAt: t0},
		domain.ReportCompleted{Rows: 1, Bytes: 10, CompletedAt: t0})
	f.appendEvents(t, domain.LocationStream(shop, 65094860801),
		domain.LocationNamed{Shop: shop, LocationID: 65094860801, Name: "Warehouse", UpdatedAt: t0},
		domain.LocationNamed{Shop: shop, LocationID: 65094860801, Name: "Main warehouse", UpdatedAt: t0.Add(time.Hour)})
}

// A read model is its projector file, its migration and one line in All: so
// each projector must declare every table it writes, or a shadow rebuild
// would miss it and an erasure would not know it. Each projector here
// rebuilds as a database role that may write only its declared tables (and
// the runner's bookkeeping), and the declared tables are exactly the read
// models the migrations create.
func TestProjectorsWriteOnlyTheirDeclaredTables(t *testing.T) {
	f := newFixture(t)
	seedEveryCategory(t, f)

	var readModels []string
	if err := pgx.BeginFunc(f.ctx, f.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(f.ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE '%\_view' ORDER BY 1`)
		if err != nil {
			return err
		}
		readModels, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, p := range All(nil, "") {
		declared = append(declared, p.Tables()...)
		for _, pd := range p.PersonalData() {
			if !slices.Contains(p.Tables(), pd.Table) {
				t.Errorf("%s: personal data in %s, which is not one of its tables %v", p.Name(), pd.Table, p.Tables())
			}
		}
	}
	slices.Sort(declared)
	if !slices.Equal(declared, readModels) {
		t.Errorf("projectors declare the tables %v; the migrations create the read models %v", declared, readModels)
	}

	for _, p := range All(nil, "") {
		role := fmt.Sprintf("projector_%s_%d", p.Name(), time.Now().UnixNano())
		writable := append([]string{"projection_streams", "projection_progress"}, p.Tables()...)
		stmts := []string{`CREATE ROLE ` + role,
			`GRANT USAGE ON SCHEMA public TO ` + role,
			`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ` + role,
			`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ` + role}
		for _, table := range writable {
			stmts = append(stmts, `GRANT INSERT, UPDATE, DELETE, TRUNCATE ON `+table+` TO `+role)
		}
		for _, stmt := range stmts {
			if _, err := f.pool.Exec(f.ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			f.pool.Exec(f.ctx, `DROP OWNED BY `+role)
			f.pool.Exec(f.ctx, `DROP ROLE `+role)
		})
		cfg := f.pool.Config().Copy()
		cfg.ConnConfig.RuntimeParams["role"] = role
		restricted, err := pgxpool.NewWithConfig(f.ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		n, err := Rebuild(f.ctx, eventstore.New(restricted), p, nil)
		restricted.Close()
		if err != nil {
			t.Errorf("%s writes a table it does not declare (it may write %v): %v", p.Name(), writable, err)
			continue
		}
		if n == 0 {
			t.Errorf("%s rebuilt from no events: the seed misses its categories %v", p.Name(), p.Categories())
		}
	}
}
