package privacy_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/privacy"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/projections"
	"github.com/ordermill/ordermill/shopify"
)

// raceSetup is a sealing store, a projector running as another process
// would (its own keyring), and an eraser with a keyring of its own.
type raceSetup struct {
	pool      *pgxpool.Pool
	store     *eventstore.Store
	projector *projections.Orders
	cipher    *privacy.Cipher // the projector's
	eraser    *privacy.Eraser
}

func newRaceSetup(t *testing.T) raceSetup {
	pool, master, store, _ := sealingStores(t)
	rdb, prefix := testenv.Redis(t)
	cipher := privacy.NewCipher(privacy.NewKeyring(pool, master))
	orders := projections.NewOrders(rdb, prefix)
	projections.WithCipher(cipher, []projections.Projector{orders})
	eraser := privacy.NewEraser(eventstore.New(pool), privacy.NewKeyring(pool, master),
		projections.NewRedactor(pool, projections.All(rdb, prefix)), slog.New(slog.DiscardHandler))
	return raceSetup{pool: pool, store: store, projector: orders, cipher: cipher, eraser: eraser}
}

// redactRequest stores the compliance record of a customers/redact.
func (s raceSetup) redactRequest(ctx context.Context, t *testing.T, customerID int64) eventstore.Event {
	t.Helper()
	encoded, err := eventstore.Encode(shop, eventstore.Metadata{}, domain.WebhookComplianceRecorded{
		Topic: shopify.TopicCustomersRedact, Shop: shop, CustomerID: customerID})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.store.Append(ctx, domain.WebhookStream(shop, uuid.NewString()), eventstore.NoStream, encoded...)
	if err != nil {
		t.Fatal(err)
	}
	return res.Events[0]
}

func (s raceSetup) email(ctx context.Context, t *testing.T, order uuid.UUID) string {
	t.Helper()
	var email string
	if err := s.pool.QueryRow(ctx, `SELECT email FROM orders_view WHERE id = $1`, order).Scan(&email); err != nil {
		t.Fatal(err)
	}
	return email
}

// A projector that opened a customer's order and has not yet committed
// holds the erasure off until it commits, so the scrub that follows covers
// what it wrote. Without the lock the erasure would scrub first and the
// projector's commit would leave the email in clear.
func TestErasureWaitsForAProjectorThatOpenedTheKey(t *testing.T) {
	ctx := context.Background()
	s := newRaceSetup(t)
	const customer = 41
	order := appendPlaced(ctx, t, s.store, placed(customer, "ann@example.com", "Ann Lee"))
	request := s.redactRequest(ctx, t, customer)

	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := s.projector.ApplyBatch(ctx, tx, []eventstore.Event{order}); err != nil {
		t.Fatal(err)
	}

	erased := make(chan error, 1)
	go func() { erased <- s.eraser.EraseCustomer(ctx, request, shop, customer) }()
	// The eraser's destruction of the key waits on the projector's lock.
	waitFor(t, "the key's destruction to wait for the projector", func() bool {
		return count(ctx, t, s.pool, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE data_keys%'`) == 1
	})
	select {
	case err := <-erased:
		t.Fatalf("the erasure ended while the projector held the key: %v", err)
	default:
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-erased; err != nil {
		t.Fatal(err)
	}
	id := decodePlaced(t, order).OrderID
	if got := s.email(ctx, t, id); got != eventstore.Erased {
		t.Fatalf("orders_view.email after the erasure = %q, want %q", got, eventstore.Erased)
	}
}

// A projector whose process still caches a key that another process
// destroyed reads the key's state in its own transaction: an order it
// applies after the erasure shows [erased], not the cached plaintext.
func TestProjectorDoesNotOpenWithACachedDestroyedKey(t *testing.T) {
	ctx := context.Background()
	s := newRaceSetup(t)
	const customer = 42
	first := appendPlaced(ctx, t, s.store, placed(customer, "bo@example.com", "Bo Chan"))
	again := placed(customer, "bo@example.com", "Bo Chan")
	again.ShopifyID, again.Name = 11, "#2"
	second := appendPlaced(ctx, t, s.store, again)

	// The projector's process opens the first order: its keyring caches the key.
	apply := func(e eventstore.Event) {
		t.Helper()
		if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			return s.projector.ApplyBatch(ctx, tx, []eventstore.Event{e})
		}); err != nil {
			t.Fatal(err)
		}
	}
	apply(first)
	if got := s.email(ctx, t, decodePlaced(t, first).OrderID); got != "bo@example.com" {
		t.Fatalf("email before the erasure = %q", got)
	}
	cached := []eventstore.Event{second}
	if err := s.cipher.Open(ctx, cached); err != nil {
		t.Fatal(err)
	}
	if got := decodePlaced(t, cached[0]).Email; got != "bo@example.com" {
		t.Fatalf("the projector's keyring does not hold the key: opened %q", got)
	}

	if err := s.eraser.EraseCustomer(ctx, s.redactRequest(ctx, t, customer), shop, customer); err != nil {
		t.Fatal(err)
	}
	// Within KeyCacheTTL the projector's keyring still holds the key, but the
	// projector reads the key's state in its transaction.
	apply(second)
	for _, e := range []eventstore.Event{first, second} {
		if got := s.email(ctx, t, decodePlaced(t, e).OrderID); got != eventstore.Erased {
			t.Fatalf("orders_view.email of %s = %q, want %q", e.StreamID, got, eventstore.Erased)
		}
	}
}
