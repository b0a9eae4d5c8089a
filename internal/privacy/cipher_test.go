package privacy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/privacy"
	"github.com/ordermill/ordermill/internal/secrets"
	"github.com/ordermill/ordermill/internal/testenv"
)

func newKey(t *testing.T) *secrets.Key {
	t.Helper()
	raw := make([]byte, secrets.KeySize)
	_, _ = rand.Read(raw)
	k, err := secrets.NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const shop = "privacy.myshopify.com"

func placed(customerID int64, email, name string) domain.OrderPlaced {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return domain.OrderPlaced{OrderID: uuid.New(), Shop: shop, Name: "#1", ShopifyID: 10, CustomerID: customerID,
		Source: domain.SourceShopify, Email: email, CustomerName: name, Currency: "USD",
		Lines:    []domain.PlacedLine{{ID: "1", SKU: "MUG", Title: "Mug", Quantity: 1, UnitPrice: 500}},
		Subtotal: 500, Total: 500, PlacedAt: at, ShopifyUpdatedAt: at}
}

// appendPlaced stores an order.placed through a store that seals.
func appendPlaced(ctx context.Context, t *testing.T, store *eventstore.Store, e domain.OrderPlaced) eventstore.Event {
	t.Helper()
	encoded, err := eventstore.Encode(shop, eventstore.Metadata{}, e)
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.Append(ctx, domain.OrderStream(e.OrderID), eventstore.NoStream, encoded...)
	if err != nil {
		t.Fatal(err)
	}
	return res.Events[0]
}

func decodePlaced(t *testing.T, e eventstore.Event) domain.OrderPlaced {
	t.Helper()
	d, err := domain.DecodeEvent(e.Type, e.Data)
	if err != nil {
		t.Fatal(err)
	}
	return d.(domain.OrderPlaced)
}

// Personal fields are stored sealed, under the customer's key, and read back
// in clear; the rest of the event stays readable as stored.
func TestSealOpenRoundTrip(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	keys := privacy.NewKeyring(pool, newKey(t))
	store := eventstore.New(pool)
	store.SetCipher(privacy.NewCipher(keys))

	want := placed(7001, "ada@example.test", "Ada Lovelace")
	stored := appendPlaced(ctx, t, store, want)
	raw := decodePlaced(t, stored)
	if strings.Contains(string(stored.Data), "ada@example.test") || strings.Contains(string(stored.Data), "Lovelace") {
		t.Fatalf("stored event holds personal data in clear: %s", stored.Data)
	}
	if raw.Total != 500 || raw.CustomerID != 7001 || raw.Lines[0].Title != "Mug" {
		t.Fatalf("non-personal fields are not stored as given: %+v", raw)
	}
	read, err := store.ReadStream(ctx, domain.OrderStream(want.OrderID), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodePlaced(t, read[0]); got.Email != want.Email || got.CustomerName != want.CustomerName {
		t.Fatalf("opened %q %q, want %q %q", got.Email, got.CustomerName, want.Email, want.CustomerName)
	}

	// A raw webhook body is sealed under the customer the body names, and
	// still decodes (as opaque bytes) for a reader that does not open it.
	body := []byte(`{"id":1,"customer":{"id":7001,"email":"ada@example.test"}}`)
	wh, err := eventstore.Encode(shop, eventstore.Metadata{}, domain.WebhookReceived{Shop: shop, Topic: "orders/create",
		WebhookID: "w1", Body: body, ReceivedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	res, err := store.Append(ctx, domain.WebhookStream(shop, "w1"), eventstore.NoStream, wh...)
	if err != nil {
		t.Fatal(err)
	}
	var sealed domain.WebhookReceived
	if err := json.Unmarshal(res.Events[0].Data, &sealed); err != nil {
		t.Fatalf("sealed webhook does not decode: %v", err)
	}
	if strings.Contains(string(sealed.Body), "ada@example.test") {
		t.Fatal("stored webhook body holds personal data in clear")
	}
	read, err = store.ReadStream(ctx, domain.WebhookStream(shop, "w1"), 1)
	if err != nil {
		t.Fatal(err)
	}
	var opened domain.WebhookReceived
	if err := json.Unmarshal(read[0].Data, &opened); err != nil || string(opened.Body) != string(body) {
		t.Fatalf("opened body %q (%v), want %q", opened.Body, err, body)
	}
	var subjects []string
	rows, _ := pool.Query(ctx, `SELECT subject FROM data_keys ORDER BY subject`)
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		subjects = append(subjects, s)
	}
	if strings.Join(subjects, ",") != "customer:7001" {
		t.Fatalf("data keys for %v, want one for customer:7001", subjects)
	}
}

// Data sealed under one master key does not open under another, and a
// sealed field moved to another field does not open either.
func TestOpenWithWrongKeyFails(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	store := eventstore.New(pool)
	store.SetCipher(privacy.NewCipher(privacy.NewKeyring(pool, newKey(t))))
	e := placed(7002, "grace@example.test", "Grace Hopper")
	stored := appendPlaced(ctx, t, store, e)

	other := eventstore.New(pool)
	other.SetCipher(privacy.NewCipher(privacy.NewKeyring(pool, newKey(t))))
	if _, err := other.ReadStream(ctx, domain.OrderStream(e.OrderID), 1); !errors.Is(err, secrets.ErrOpen) {
		t.Fatalf("read under another master key: %v, want ErrOpen", err)
	}

	var obj map[string]json.RawMessage
	_ = json.Unmarshal(stored.Data, &obj)
	obj["customer_name"] = obj["email"]
	swapped, _ := json.Marshal(obj)
	moved := []eventstore.Event{{Type: stored.Type, StreamID: stored.StreamID, Data: swapped}}
	if err := store.Open(ctx, moved); !errors.Is(err, secrets.ErrOpen) {
		t.Fatalf("open a field moved to another field: %v, want ErrOpen", err)
	}
}

// Destroying a customer's key erases that customer only; rotating the
// master key re-wraps live keys and leaves events as they were.
func TestDestroyAndRotate(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	master := newKey(t)
	keys := privacy.NewKeyring(pool, master)
	store := eventstore.New(pool)
	store.SetCipher(privacy.NewCipher(keys))
	gone := appendPlaced(ctx, t, store, placed(1, "gone@example.test", "Gone Person"))
	kept := appendPlaced(ctx, t, store, placed(2, "kept@example.test", "Kept Person"))

	for range 2 { // the second run finds nothing to destroy
		if _, err := keys.Destroy(ctx, shop, privacy.CustomerSubject(1)); err != nil {
			t.Fatal(err)
		}
	}
	read := func(s *eventstore.Store, e eventstore.Event) domain.OrderPlaced {
		events, err := s.ReadStream(ctx, e.StreamID, 1)
		if err != nil {
			t.Fatal(err)
		}
		return decodePlaced(t, events[0])
	}
	if got := read(store, gone); got.Email != eventstore.Erased || got.CustomerName != eventstore.Erased {
		t.Fatalf("erased customer reads %q %q", got.Email, got.CustomerName)
	}
	if got := read(store, kept); got.Email != "kept@example.test" {
		t.Fatalf("other customer reads %q", got.Email)
	}

	next := newKey(t)
	var before []byte
	_ = pool.QueryRow(ctx, `SELECT string_agg(data::text, '' ORDER BY global_position) FROM events`).Scan(&before)
	n, err := keys.Rotate(ctx, next)
	if err != nil || n != 1 {
		t.Fatalf("rotate: %d keys, %v; want 1 live key", n, err)
	}
	if n, err := keys.Rotate(ctx, next); err != nil || n != 0 {
		t.Fatalf("rotate again: %d keys, %v; want 0", n, err)
	}
	var after []byte
	_ = pool.QueryRow(ctx, `SELECT string_agg(data::text, '' ORDER BY global_position) FROM events`).Scan(&after)
	if string(before) != string(after) {
		t.Fatal("rotation changed stored events")
	}
	rotated := eventstore.New(pool)
	rotated.SetCipher(privacy.NewCipher(privacy.NewKeyring(pool, next)))
	if got := read(rotated, kept); got.Email != "kept@example.test" {
		t.Fatalf("after rotation the kept customer reads %q", got.Email)
	}
	if got := read(rotated, gone); got.Email != eventstore.Erased {
		t.Fatalf("after rotation the erased customer reads %q", got.Email)
	}
}

// DestroyShop destroys every key of one shop, its own and its customers',
// and no other shop's; Destroy with no subjects destroys nothing.
func TestDestroyShopDestroysEveryKeyOfThatShopOnly(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	master := newKey(t)
	keys := privacy.NewKeyring(pool, master)
	store := eventstore.New(pool)
	store.SetCipher(privacy.NewCipher(keys))
	const other = "other.myshopify.com"
	appendFor := func(tenant string, customerID int64, email string) eventstore.Event {
		e := placed(customerID, email, "Some One")
		e.Shop = tenant
		encoded, err := eventstore.Encode(tenant, eventstore.Metadata{}, e)
		if err != nil {
			t.Fatal(err)
		}
		res, err := store.Append(ctx, domain.OrderStream(e.OrderID), eventstore.NoStream, encoded...)
		if err != nil {
			t.Fatal(err)
		}
		return res.Events[0]
	}
	// Two customers and a guest order (the shop's own key) here, the same
	// customer id at the other shop.
	erased := []eventstore.Event{appendFor(shop, 1, "one@example.test"), appendFor(shop, 2, "two@example.test"),
		appendFor(shop, 0, "guest@example.test")}
	kept := appendFor(other, 1, "one@other.example.test")

	if n, err := keys.Destroy(ctx, shop); err != nil || n != 0 {
		t.Fatalf("Destroy without subjects: %d keys, %v; want 0", n, err)
	}
	if n, err := keys.DestroyShop(ctx, shop); err != nil || n != 3 {
		t.Fatalf("DestroyShop: %d keys, %v; want 3", n, err)
	}
	if n, err := keys.DestroyShop(ctx, shop); err != nil || n != 0 {
		t.Fatalf("DestroyShop again: %d keys, %v; want 0", n, err)
	}
	var live, destroyed int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE destroyed_at IS NULL), count(*) FILTER (WHERE wrapped_key IS NULL)
		FROM data_keys WHERE shop = $1`, shop).Scan(&live, &destroyed); err != nil || live != 0 || destroyed != 3 {
		t.Fatalf("data_keys of %s: %d live, %d without a key (%v); want 0 and 3", shop, live, destroyed, err)
	}
	// A fresh keyring reads from the table, not from the cache Destroy updated.
	fresh := eventstore.New(pool)
	fresh.SetCipher(privacy.NewCipher(privacy.NewKeyring(pool, master)))
	for _, s := range []*eventstore.Store{store, fresh} {
		for _, e := range erased {
			events, err := s.ReadStream(ctx, e.StreamID, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got := decodePlaced(t, events[0]); got.Email != eventstore.Erased || got.CustomerName != eventstore.Erased {
				t.Errorf("%s after DestroyShop reads %q %q", e.StreamID, got.Email, got.CustomerName)
			}
		}
		events, err := s.ReadStream(ctx, kept.StreamID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodePlaced(t, events[0]); got.Email != "one@other.example.test" {
			t.Errorf("the other shop's order reads %q", got.Email)
		}
	}
}

// Processes sealing at once for the same new customers agree on one key per
// customer: a batch makes the keys it lacks in one statement, and a key
// another process made meanwhile is found instead.
func TestConcurrentSealsShareOneKeyPerCustomer(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	master := newKey(t)
	const customers, processes = 20, 4
	sealed := make([][]eventstore.NewEvent, processes)
	errs := make(chan error, processes)
	for p := range processes {
		cipher := privacy.NewCipher(privacy.NewKeyring(pool, master))
		for c := range 2 * customers { // each customer twice in one batch
			e, err := eventstore.Encode(shop, eventstore.Metadata{}, placed(int64(9000+c%customers), fmt.Sprintf("c%d@example.test", c%customers), "C"))
			if err != nil {
				t.Fatal(err)
			}
			sealed[p] = append(sealed[p], e...)
		}
		go func() { errs <- cipher.Seal(ctx, sealed[p]) }()
	}
	for range processes {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var keys, subjects int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT subject) FROM data_keys
		WHERE shop = $1 AND subject LIKE 'customer:9%'`, shop).Scan(&keys, &subjects); err != nil {
		t.Fatal(err)
	}
	if keys != customers || subjects != customers {
		t.Fatalf("%d keys for %d customers, want one each of %d", keys, subjects, customers)
	}
	reader := privacy.NewCipher(privacy.NewKeyring(pool, master))
	for p := range processes {
		events := make([]eventstore.Event, len(sealed[p]))
		for i, e := range sealed[p] {
			if strings.Contains(string(e.Data), "@example.test") {
				t.Fatalf("sealed event holds the email in clear: %s", e.Data)
			}
			events[i] = eventstore.Event{Type: e.Type, Data: e.Data}
		}
		if err := reader.Open(ctx, events); err != nil {
			t.Fatal(err)
		}
		for i, e := range events {
			if got, want := decodePlaced(t, e).Email, fmt.Sprintf("c%d@example.test", i%customers); got != want {
				t.Fatalf("process %d event %d opened to %q, want %q", p, i, got, want)
			}
		}
	}
}

// When a group-commit batch fails (here one append names an invalid stream)
// and its appends are retried alone, each is stored sealed with a key that
// is stored too: another process reads them all back.
func TestFailedBatchCachesNoKey(t *testing.T) {
	ctx := context.Background()
	_, _, store, reader := sealingStores(t)
	var captures []*capture
	for i := range 30 {
		c := newCapture(fmt.Sprintf("fail-%d", i), 8000+i)
		if i == 15 {
			c.stream = "Not A Stream"
		}
		captures = append(captures, c)
	}
	captureAtOnce(ctx, t, map[*eventstore.Store][]*capture{store: captures})
	for _, c := range captures {
		if c.stream == "Not A Stream" {
			if c.err == nil {
				t.Error("an append to an invalid stream succeeded")
			}
			continue
		}
		if c.err != nil {
			t.Fatalf("%s: %v", c.stream, c.err)
		}
		c.checkOpens(ctx, t, reader)
	}
}

// sealingStores are a store that seals on a fresh database and, in another
// process as it were, a reader that has cached no key: it reads what is stored.
func sealingStores(t *testing.T) (pool *pgxpool.Pool, master *secrets.Key, store, reader *eventstore.Store) {
	pool, master = testenv.Pool(t), newKey(t)
	store, reader = eventstore.New(pool), eventstore.New(pool)
	store.SetCipher(privacy.NewCipher(privacy.NewKeyring(pool, master)))
	reader.SetCipher(privacy.NewCipher(privacy.NewKeyring(pool, master)))
	return pool, master, store, reader
}

// capture is one webhook delivery of a test, naming a customer.
type capture struct {
	stream string
	body   []byte
	err    error
}

func newCapture(webhookID string, customer int) *capture {
	return &capture{stream: domain.WebhookStream(shop, webhookID),
		body: fmt.Appendf(nil, `{"id":1,"customer":{"id":%d,"email":"c%d@example.test"}}`, customer, customer)}
}

// captureAtOnce captures every store's deliveries through its group commit,
// all released at the same moment.
func captureAtOnce(ctx context.Context, t *testing.T, captures map[*eventstore.Store][]*capture) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for store, cs := range captures {
		for _, c := range cs {
			e, err := eventstore.Encode(shop, eventstore.Metadata{}, domain.WebhookReceived{Shop: shop, Topic: "orders/create",
				WebhookID: c.stream, Body: c.body, ReceivedAt: time.Now().UTC()})
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				<-start
				_, c.err = store.AppendGrouped(ctx, c.stream, eventstore.NoStream, e[0])
			})
		}
	}
	close(start)
	wg.Wait()
}

// checkOpens reads the delivery back through reader and compares its body.
func (c *capture) checkOpens(ctx context.Context, t *testing.T, reader *eventstore.Store) {
	t.Helper()
	read, err := reader.ReadStream(ctx, c.stream, 1)
	if err != nil {
		t.Fatalf("%s does not open: %v", c.stream, err)
	}
	var got domain.WebhookReceived
	if err := json.Unmarshal(read[0].Data, &got); err != nil || string(got.Body) != string(c.body) {
		t.Fatalf("%s opened to %q (%v), want %q", c.stream, got.Body, err, c.body)
	}
}

// sealedWithSQL is, for each stored webhook of a test, the id of the data
// key its body is sealed with ("sealed:v1:<id>:…", base64).
const sealedWithSQL = `SELECT e.transaction_id, e.stream_id,
       convert_from(substring(decode(e.data ->> 'body_base64', 'base64') FROM 11 FOR 36), 'UTF8')::uuid AS key
  FROM events e WHERE e.event_type = 'webhook.received'`

// A webhook naming a new customer stores the customer's key in the
// statement that stores the webhook: one transaction, so the key commits
// exactly when the event does. Captured one by one (a quiet shop's batches
// of one) and many at once.
func TestCaptureStoresNewKeyInItsEventsTransaction(t *testing.T) {
	ctx := context.Background()
	pool, _, store, reader := sealingStores(t)
	var captures []*capture
	for i := range 5 {
		c := newCapture(fmt.Sprintf("alone-%d", i), 8100+i)
		captureAtOnce(ctx, t, map[*eventstore.Store][]*capture{store: {c}})
		captures = append(captures, c)
	}
	var together []*capture
	for i := range 30 {
		together = append(together, newCapture(fmt.Sprintf("together-%d", i), 8200+i))
	}
	captureAtOnce(ctx, t, map[*eventstore.Store][]*capture{store: together})
	for _, c := range append(captures, together...) {
		if c.err != nil {
			t.Fatalf("%s: %v", c.stream, c.err)
		}
		c.checkOpens(ctx, t, reader)
	}
	var events, inTheirTransaction, transactions int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE k.xmin::text::bigint = s.transaction_id::text::bigint % 4294967296),
		count(DISTINCT s.transaction_id)
		FROM (`+sealedWithSQL+`) s JOIN data_keys k ON k.id = s.key`).Scan(&events, &inTheirTransaction, &transactions); err != nil {
		t.Fatal(err)
	}
	if want := len(captures) + len(together); events != want || inTheirTransaction != want {
		t.Errorf("%d of %d webhooks sealed with a stored key, %d of them stored in the key's transaction; want all %d",
			events, want, inTheirTransaction, want)
	}
	if transactions >= events-len(captures) {
		t.Errorf("%d webhooks in %d transactions: the captures were not grouped", events, transactions)
	}
}

// Processes capturing at once for the same new customers, each making the
// customers' keys in its batches' statements, end with one key per
// customer, and every webhook sealed with its customer's one key: a batch
// whose key lost to another process's seals its events again with the
// winner. The same holds for a customer whose key exists but is not cached.
func TestConcurrentFirstCapturesShareOneKeyPerCustomer(t *testing.T) {
	ctx := context.Background()
	pool, master, _, reader := sealingStores(t)
	const customers, processes = 20, 4
	// Customer 8300 has a key already, made by a process long gone.
	if err := privacy.NewCipher(privacy.NewKeyring(pool, master)).Seal(ctx, []eventstore.NewEvent{mustEncode(t, placed(8300, "c@example.test", "C"))}); err != nil {
		t.Fatal(err)
	}
	var existing uuid.UUID
	if err := pool.QueryRow(ctx, `SELECT id FROM data_keys WHERE subject = 'customer:8300'`).Scan(&existing); err != nil {
		t.Fatal(err)
	}
	captures := map[*eventstore.Store][]*capture{}
	for p := range processes {
		store := eventstore.New(pool)
		store.SetCipher(privacy.NewCipher(privacy.NewKeyring(pool, master)))
		for c := range customers {
			captures[store] = append(captures[store], newCapture(fmt.Sprintf("race-%d-%d", p, c), 8300+c))
		}
	}
	captureAtOnce(ctx, t, captures)
	for _, cs := range captures {
		for _, c := range cs {
			if c.err != nil {
				t.Fatalf("%s: %v", c.stream, c.err)
			}
			c.checkOpens(ctx, t, reader)
		}
	}
	var keys, subjects int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT subject) FROM data_keys WHERE shop = $1`, shop).Scan(&keys, &subjects); err != nil {
		t.Fatal(err)
	}
	if keys != customers || subjects != customers {
		t.Fatalf("%d keys for %d customers, want one each of %d", keys, subjects, customers)
	}
	var sealed, withLiveKey, withExisting int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(k.id), count(*) FILTER (WHERE s.key = $1)
		FROM (`+sealedWithSQL+`) s LEFT JOIN data_keys k ON k.id = s.key AND k.destroyed_at IS NULL`, existing).Scan(&sealed, &withLiveKey, &withExisting); err != nil {
		t.Fatal(err)
	}
	if sealed != customers*processes || withLiveKey != sealed || withExisting != processes {
		t.Errorf("%d webhooks stored, %d sealed with a live key, %d with customer 8300's existing key; want %d, all, %d",
			sealed, withLiveKey, withExisting, customers*processes, processes)
	}
}

func mustEncode(t *testing.T, e domain.Event) eventstore.NewEvent {
	t.Helper()
	encoded, err := eventstore.Encode(shop, eventstore.Metadata{}, e)
	if err != nil {
		t.Fatal(err)
	}
	return encoded[0]
}

// Sealing rewrites the personal fields only: every other field of the
// payload keeps its exact JSON, escapes and all.
func TestSealLeavesOtherFieldsAsEncoded(t *testing.T) {
	ctx := context.Background()
	cipher := privacy.NewCipher(privacy.NewKeyring(testenv.Pool(t), newKey(t)))
	odd := "Tee \"quoted\" \\ <b>&amp;</b> é 東京 🙂 \u2028 \t"
	order := placed(7002, "zoë@example.test", odd)
	order.Lines[0].Title = odd
	events, err := eventstore.Encode(shop, eventstore.Metadata{}, order,
		domain.WebhookReceived{Shop: shop, Topic: "orders/create", WebhookID: "w-odd", Headers: map[string]string{"X-Odd": odd},
			Body: []byte(`{"id":1,"note":"` + strings.ReplaceAll(odd, `"`, `\"`) + `","customer":{"id":7002}}`), ReceivedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	sealed := slices.Clone(events)
	if err := cipher.Seal(ctx, sealed); err != nil {
		t.Fatal(err)
	}
	for i := range events {
		var before, after map[string]json.RawMessage
		if err := json.Unmarshal(events[i].Data, &before); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(sealed[i].Data, &after); err != nil {
			t.Fatalf("%s: sealed payload is not JSON: %v", events[i].Type, err)
		}
		if len(after) != len(before) {
			t.Errorf("%s: %d fields after sealing, %d before", events[i].Type, len(after), len(before))
		}
		personal := map[string]bool{"email": true, "customer_name": true, "body_base64": true}
		for name, v := range before {
			switch {
			case personal[name] && bytes.Equal(after[name], v):
				t.Errorf("%s.%s was not sealed", events[i].Type, name)
			case !personal[name] && !bytes.Equal(after[name], v):
				t.Errorf("%s.%s changed: %s, was %s", events[i].Type, name, after[name], v)
			}
		}
	}
}

// A seal reads only the keys it needs, however much the key table has grown
// since its statements were planned. Plans made while data_keys was nearly
// empty, and never remade because no ANALYZE ran (autovacuum off, or not
// yet), once read every key in the table on every seal.
func TestSealAndOpenReadOnlyTheKeysTheyNeed(t *testing.T) {
	ctx := context.Background()
	db := testenv.WithoutStatistics(t, "data_keys")
	admin, pool := db.Admin, db.Conn
	master := newKey(t)
	seal := func(customers ...int64) []eventstore.NewEvent {
		t.Helper()
		var events []eventstore.NewEvent
		for _, c := range customers {
			e, err := eventstore.Encode(shop, eventstore.Metadata{}, placed(c, fmt.Sprintf("c%d@example.test", c), "C"))
			if err != nil {
				t.Fatal(err)
			}
			events = append(events, e...)
		}
		// A fresh keyring each time, like a process just started: nothing cached.
		if err := privacy.NewCipher(privacy.NewKeyring(pool, master)).Seal(ctx, events); err != nil {
			t.Fatal(err)
		}
		return events
	}
	open := func(events []eventstore.NewEvent) []eventstore.Event {
		t.Helper()
		read := make([]eventstore.Event, len(events))
		for i, e := range events {
			read[i] = eventstore.Event{Type: e.Type, Data: e.Data}
		}
		if err := privacy.NewCipher(privacy.NewKeyring(pool, master)).Open(ctx, read); err != nil {
			t.Fatal(err)
		}
		return read
	}
	// Plans are made now, on a nearly empty table: first uses, lookups of
	// keys that exist, and opening.
	for c := range int64(10) {
		seal(100 + c)
	}
	for c := range int64(10) {
		open(seal(100 + c))
	}
	if _, err := admin.Exec(ctx, `INSERT INTO data_keys (id, shop, subject, wrapped_key)
		SELECT gen_random_uuid(), $1, 'customer:' || (1000000 + g), '\x00' FROM generate_series(1, 20000) g`, shop); err != nil {
		t.Fatal(err)
	}
	before := db.RowsRead(t)
	events := seal(100, 101, 102, 103, 104, 200, 201, 202, 203, 204) // 5 known customers, 5 new
	sealed := db.RowsRead(t)
	if n := sealed - before; n > 100 {
		t.Errorf("sealing for 10 customers read %d rows of data_keys", n)
	}
	read := open(events)
	if n := db.RowsRead(t) - sealed; n > 100 {
		t.Errorf("opening for 10 customers read %d rows of data_keys", n)
	}
	// Known customers kept their key, new ones got one each.
	var keys, subjects int
	if err := admin.QueryRow(ctx, `SELECT count(*), count(DISTINCT subject) FROM data_keys
		WHERE shop = $1 AND subject IN ('customer:100', 'customer:104', 'customer:200', 'customer:204')`, shop).Scan(&keys, &subjects); err != nil {
		t.Fatal(err)
	}
	if keys != 4 || subjects != 4 {
		t.Errorf("%d keys for %d subjects, want one each of 4", keys, subjects)
	}
	for i, c := range []int64{100, 101, 102, 103, 104, 200, 201, 202, 203, 204} {
		if got, want := decodePlaced(t, read[i]).Email, fmt.Sprintf("c%d@example.test", c); got != want {
			t.Errorf("customer %d's event opened to %q, want %q", c, got, want)
		}
	}
}
