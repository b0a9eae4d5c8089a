package privacy_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/audit"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/internal/testenv"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
	"github.com/ordermill/ordermill/projections"
	"github.com/ordermill/ordermill/workers"
)

// shopPerson is a customer of a test shop, with every personal field a
// Shopify order body carries.
type shopPerson struct {
	id                       int64
	email, first, last       string
	phone, street, city, zip string
}

func (p shopPerson) secrets() []string {
	return []string{p.email, p.first + " " + p.last, p.phone, p.street, p.city, p.zip}
}

// orderWebhook is an orders/create body as Shopify sends it; a person with
// no id is a guest checkout (no customer object).
func orderWebhook(shopifyID int64, name string, p shopPerson) []byte {
	address := map[string]any{"first_name": p.first, "last_name": p.last, "name": p.first + " " + p.last,
		"address1": p.street, "city": p.city, "zip": p.zip, "country_code": "US", "phone": p.phone}
	body := map[string]any{
		"id": shopifyID, "name": name, "email": p.email, "phone": p.phone, "currency": "USD",
		"created_at": "2025-11-24T10:00:00-05:00", "updated_at": "2025-11-24T10:00:00-05:00",
		"financial_status": "paid", "fulfillment_status": nil, "total_price": "30.00", "subtotal_price": "30.00",
		"note": "Leave it with " + p.first + " at " + p.street, "shipping_address": address, "billing_address": address,
		"line_items": []map[string]any{{"id": shopifyID + 1, "variant_id": 44020394000103, "sku": "MUG",
			"title": "Mug", "quantity": 1, "price": "30.00"}},
	}
	if p.id != 0 {
		body["customer"] = map[string]any{"id": p.id, "email": p.email, "first_name": p.first, "last_name": p.last,
			"phone": p.phone, "default_address": address}
	}
	b, _ := json.Marshal(body)
	return b
}

func signBody(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// dumpEverySchema returns every row of every table outside the system
// schemas (shadow and retired copies of read models included), as text.
func dumpEverySchema(ctx context.Context, t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	var names []pgx.Identifier
	var schema, table string
	if _, err := pgx.ForEachRow(rows, []any{&schema, &table}, func() error {
		names = append(names, pgx.Identifier{schema, table})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, name := range names {
		var text *string
		if err := pool.QueryRow(ctx, `SELECT string_agg(r::text, E'\n') FROM `+name.Sanitize()+` r`).Scan(&text); err != nil {
			t.Fatalf("dump %s: %v", name.Sanitize(), err)
		}
		if text != nil {
			out[strings.Join(name, ".")] = *text
		}
	}
	return out
}

// After shop/redact for one shop, delivered over HTTP while a second shop
// goes on: every data key of the shop is destroyed, every raw body of the
// shop reads as erased through the API, the read models (and a shadow
// rebuild's copy made before) are scrubbed, in-place and shadow rebuilds
// write [erased], the auditor's export, the data-request export, Redis,
// the logs and every table hold none of the shop's personal data, and the
// other shop's data still reads in full.
func TestShopRedactErasesTheShopEverywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const (
		shopA, secretA = "erase-a.myshopify.com", "erase-a-secret"
		shopB, secretB = "keep-b.myshopify.com", "keep-b-secret"
	)
	sim := testenv.StartSimulator(t)
	env := apitest.New(t, func(c *config.Config) {
		c.SESEndpoint, c.ShopifyAPIURL = sim.URL, sim.URL
		c.WorkerClaimIdle, c.WorkerRetryInterval = time.Second, 20*time.Millisecond
	})
	p := env.Platform
	ctx := context.Background()
	for _, s := range []struct{ domain, secret string }{{shopA, secretA}, {shopB, secretB}} {
		if _, err := p.App().RegisterShop(ctx, shops.Registration{Domain: s.domain, Name: s.domain, Currency: "USD",
			WebhookSecrets: []string{s.secret}, AccessToken: "shpat_" + s.secret}, eventstore.Metadata{Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	workersCtx, stopWorkers := context.WithCancel(ctx)
	workersDone := make(chan error, 1)
	go func() { workersDone <- workers.NewRouter(p.WorkersConfig(), p.WorkerHandlers()...).Run(workersCtx) }()
	t.Cleanup(func() { stopWorkers(); <-workersDone })

	ownerA, auditorA := env.UserToken(t, shopA, domain.RoleOwner), env.UserToken(t, shopA, domain.RoleAuditor)
	ownerB := env.UserToken(t, shopB, domain.RoleOwner)

	deliver := func(shop, secret, topic, id string, body []byte) {
		t.Helper()
		resp := env.Do(t, "POST", "/webhooks/shopify", "", body, "X-Shopify-Shop-Domain", shop, "X-Shopify-Topic", topic,
			"X-Shopify-Webhook-Id", id, "X-Shopify-Event-Id", "ev-"+id, "X-Shopify-Triggered-At", "2025-11-24T15:00:00Z",
			"X-Shopify-Api-Version", "2025-01", "X-Shopify-Hmac-Sha256", signBody(body, secret))
		if text := apitest.ReadBody(t, resp); resp.StatusCode != http.StatusOK {
			t.Fatalf("deliver %s %s: %d %s", topic, id, resp.StatusCode, text)
		}
	}
	// Shop A: two customers, a guest checkout, a manual order sent with an
	// Idempotency-Key, a data request. Shop B: one customer, one manual order.
	ada := shopPerson{7100000000000000001, "ada.alphason@erase-a.test", "Adaline", "Alphason", "+15550100001", "12 Erasure Lane", "Alphaville", "AA-10001"}
	bo := shopPerson{7100000000000000002, "bo.betamax@erase-a.test", "Borislav", "Betamax", "+15550100002", "34 Shredder Road", "Betaburg", "AA-10002"}
	guest := shopPerson{0, "guest.gammaray@erase-a.test", "Gunnhild", "Gammaray", "+15550100003", "56 Keyless Court", "Gammatown", "AA-10003"}
	manualA := shopPerson{email: "manual.deltoid@erase-a.test", first: "Mandisa", last: "Deltoid"}
	kept := shopPerson{7200000000000000001, "kim.keeper@keep-b.test", "Kimberley", "Keeper", "+15550200001", "78 Stays Street", "Keepton", "BB-20001"}
	manualB := shopPerson{email: "manual.kept@keep-b.test", first: "Morwenna", last: "Kept"}
	secretsA := append(append(append(ada.secrets(), bo.secrets()...), guest.secrets()...), manualA.email, manualA.first+" "+manualA.last)

	// Both shops opted in, so their Shopify orders have confirmations to erase.
	for _, owner := range []string{ownerA, ownerB} {
		resp := env.Do(t, "PATCH", "/api/v1/shop/settings", owner, map[string]any{"shopify_order_confirmations": true})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("opt in to confirmations: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
		}
		resp.Body.Close()
	}
	deliver(shopA, secretA, "orders/create", "a-1", orderWebhook(6100000000000000001, "#A1", ada))
	deliver(shopA, secretA, "orders/create", "a-2", orderWebhook(6100000000000000011, "#A2", bo))
	deliver(shopA, secretA, "orders/create", "a-3", orderWebhook(6100000000000000021, "#A3", guest))
	deliver(shopA, secretA, "orders/create", "a-4", orderWebhook(6100000000000000031, "#A4", ada))
	request, _ := json.Marshal(map[string]any{"shop_id": 11, "shop_domain": shopA, "orders_requested": []int64{6100000000000000001},
		"customer": map[string]any{"id": ada.id, "email": ada.email, "phone": ada.phone}, "data_request": map[string]any{"id": 9}})
	deliver(shopA, secretA, "customers/data_request", "a-5", request)
	deliver(shopB, secretB, "orders/create", "b-1", orderWebhook(6200000000000000001, "#B1", kept))
	manual := func(token string, who shopPerson, key string) string {
		t.Helper()
		resp := env.Do(t, "POST", "/api/v1/orders", token, map[string]any{"email": who.email, "customer_name": who.first + " " + who.last,
			"currency": "USD", "lines": []map[string]any{{"sku": "MUG", "title": "Mug", "quantity": 1, "unit_price": 3000}}},
			"Idempotency-Key", key)
		var created struct {
			ID string `json:"id"`
		}
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create order: %d %s", resp.StatusCode, apitest.ReadBody(t, resp))
		}
		apitest.Decode(t, resp, &created)
		return created.ID
	}
	manualOrderA := manual(ownerA, manualA, "manual-a")
	manual(ownerB, manualB, "manual-b")

	pool := p.Pool
	waitFor(t, "every webhook processed, every order projected and every confirmation sent", func() bool {
		return count(ctx, t, pool, `SELECT count(*) FROM webhooks_view WHERE status = 'processed'`) == 6 &&
			count(ctx, t, pool, `SELECT count(*) FROM orders_view`) == 7 &&
			count(ctx, t, pool, `SELECT count(*) FROM emails_view WHERE kind = 'order_confirmation' AND status = 'sent'`) == 7
	})
	if n := count(ctx, t, pool, `SELECT count(*) FROM webhooks_view WHERE status = 'failed'`); n != 0 {
		t.Fatalf("%d webhooks failed", n)
	}
	// The API caches an order of shop A; a shadow rebuild of the orders and
	// emails, not swapped in, keeps a copy of every shop's rows.
	if text := apitest.ReadBody(t, env.Do(t, "GET", "/api/v1/orders/"+manualOrderA, ownerA, nil)); !strings.Contains(text, manualA.email) {
		t.Fatalf("shop A's manual order before erasure: %s", text)
	}
	if n, _ := p.Redis.Exists(ctx, projections.OrderCacheKey(p.Config.StreamPrefix, uuid.MustParse(manualOrderA))).Result(); n != 1 {
		t.Fatal("the order read was not cached: the cache check below would prove nothing")
	}
	withCipher := func(ps ...projections.Projector) []projections.Projector { return projections.WithCipher(p.Cipher, ps) }
	shadow, err := projections.OpenShadow(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	defer shadow.Close()
	for _, pr := range withCipher(projections.NewOrders(nil, ""), projections.NewEmails()) {
		if _, err := shadow.Rebuild(ctx, pr, nil); err != nil {
			t.Fatal(err)
		}
	}
	if dump := dumpEverySchema(ctx, t, pool); !strings.Contains(dump[projections.ShadowSchema+".orders_view"], ada.email) {
		t.Fatal("the shadow copy lacks shop A's emails: the search below would prove nothing")
	}
	// A dead letter whose error quotes what failed, as a mail provider's refusal can.
	if _, err := pool.Exec(ctx, `INSERT INTO dead_letters (shop, handler, event_id, stream_id, stream_version, event_type, error, attempts)
		VALUES ($1, 'email', $2, 'email-x', 1, 'order.placed', $3, 3)`, shopA, uuid.New(), "rejected recipient "+ada.email); err != nil {
		t.Fatal(err)
	}
	var liveKeys int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM data_keys WHERE shop = $1 AND destroyed_at IS NULL`, shopA).Scan(&liveKeys); err != nil || liveKeys < 3 {
		t.Fatalf("shop A has %d live data keys (%v), want one per customer and the shop's", liveKeys, err)
	}

	find := func(where, text string, needles []string) {
		t.Helper()
		for _, n := range needles {
			if strings.Contains(text, n) {
				t.Errorf("%s contains %q", where, n)
			}
		}
	}

	// shop/redact for shop A.
	redact, _ := json.Marshal(map[string]any{"shop_id": 11, "shop_domain": shopA})
	deliver(shopA, secretA, "shop/redact", "a-redact", redact)
	waitFor(t, "the shop's erasure", func() bool {
		return count(ctx, t, pool, `SELECT count(*) FROM events WHERE event_type = 'shop.redacted'`) == 1
	})

	// Right away, before any rebuild: every table of every schema, the shadow
	// copy made before the erasure included.
	for table, text := range dumpEverySchema(ctx, t, pool) {
		find("table "+table+" right after the erasure", text, secretsA)
	}

	// Every key of shop A is destroyed, and the record says how many.
	redactions, err := p.Store.ReadStream(ctx, domain.RedactionStream(shopA), 1)
	if err != nil {
		t.Fatal(err)
	}
	var rec domain.ShopRedacted
	if err := json.Unmarshal(redactions[0].Data, &rec); err != nil || rec.KeysDestroyed != liveKeys {
		t.Errorf("shop.redacted = %+v (%v), want %d keys destroyed", rec, err, liveKeys)
	}
	if n := count(ctx, t, pool, `SELECT count(*) FROM data_keys WHERE shop = $1 AND (destroyed_at IS NULL OR wrapped_key IS NOT NULL)`, shopA); n != 0 {
		t.Errorf("%d data keys of shop A are still live", n)
	}
	if n := count(ctx, t, pool, `SELECT count(*) FROM data_keys WHERE shop = $1 AND destroyed_at IS NULL`, shopB); n == 0 {
		t.Error("shop B lost its data keys")
	}

	// Each raw body of shop A reads as erased through the API; shop B's reads in full.
	var list struct {
		Items []struct{ ID, WebhookID string } `json:"items"`
	}
	apitest.Decode(t, env.Do(t, "GET", "/api/v1/webhooks?limit=100", auditorA, nil), &list)
	if len(list.Items) != 6 {
		t.Fatalf("shop A lists %d webhooks, want 6", len(list.Items))
	}
	for _, w := range list.Items {
		resp := env.Do(t, "GET", "/api/v1/webhooks/"+w.ID, auditorA, nil)
		text := apitest.ReadBody(t, resp)
		var detail struct {
			BodyBase64 []byte `json:"body_base64"`
			BodyErased bool   `json:"body_erased"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(text), &detail) != nil {
			t.Fatalf("webhook %s of shop A: %d %s", w.WebhookID, resp.StatusCode, text)
		}
		if !detail.BodyErased || string(detail.BodyBase64) != eventstore.Erased {
			t.Errorf("webhook %s of shop A: body_erased %v, body %q", w.WebhookID, detail.BodyErased, detail.BodyBase64)
		}
		find("webhook "+w.WebhookID+" of shop A", text, secretsA)
	}
	apitest.Decode(t, env.Do(t, "GET", "/api/v1/webhooks", ownerB, nil), &list)
	if len(list.Items) != 1 {
		t.Fatalf("shop B lists %d webhooks, want 1", len(list.Items))
	}
	var detailB struct {
		BodyBase64 []byte `json:"body_base64"`
		BodyErased bool   `json:"body_erased"`
	}
	apitest.Decode(t, env.Do(t, "GET", "/api/v1/webhooks/"+list.Items[0].ID, ownerB, nil), &detailB)
	if detailB.BodyErased || !strings.Contains(string(detailB.BodyBase64), kept.street) {
		t.Errorf("shop B's webhook after shop A's erasure: erased %v, body %q", detailB.BodyErased, detailB.BodyBase64)
	}

	// What the API shows of each shop's orders: live, then after an in-place
	// rebuild, then after a shadow rebuild swapped in.
	checkOrders := func(when string) {
		t.Helper()
		text := apitest.ReadBody(t, env.Do(t, "GET", "/api/v1/orders?limit=100", ownerA, nil))
		find("shop A's orders "+when, text, secretsA)
		if n := strings.Count(text, `"email":"`+eventstore.Erased+`"`); n != 5 {
			t.Errorf("shop A's orders %s: %d emails read %s, want 5: %s", when, n, eventstore.Erased, text)
		}
		find("shop A's cached order "+when, apitest.ReadBody(t, env.Do(t, "GET", "/api/v1/orders/"+manualOrderA, ownerA, nil)), secretsA)
		text = apitest.ReadBody(t, env.Do(t, "GET", "/api/v1/orders?limit=100", ownerB, nil))
		for _, s := range []string{kept.email, kept.first + " " + kept.last, manualB.email, manualB.first + " " + manualB.last} {
			if !strings.Contains(text, s) {
				t.Errorf("shop B's orders %s lack %q: %s", when, s, text)
			}
		}
		var emailsA, emailsB int
		if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE shop = $1 AND to_address = $3),
				count(*) FILTER (WHERE shop = $2 AND to_address LIKE '%@keep-b.test')
			FROM emails_view WHERE kind = 'order_confirmation'`, shopA, shopB, eventstore.Erased).Scan(&emailsA, &emailsB); err != nil {
			t.Fatal(err)
		}
		if emailsA != 5 || emailsB != 2 {
			t.Errorf("emails_view %s: %d of shop A's confirmations erased (want 5), %d of shop B's readable (want 2)\n%s", when, emailsA, emailsB,
				dumpEverySchema(ctx, t, pool)["public.emails_view"])
		}
	}
	checkOrders("after the erasure")
	for _, pr := range withCipher(projections.NewOrders(p.Redis, p.Config.StreamPrefix), projections.NewEmails()) {
		if _, err := projections.Rebuild(ctx, p.Store, pr, nil); err != nil {
			t.Fatal(err)
		}
	}
	checkOrders("after an in-place rebuild")
	for _, pr := range withCipher(projections.NewOrders(nil, ""), projections.NewEmails()) {
		if _, err := shadow.Rebuild(ctx, pr, nil); err != nil {
			t.Fatal(err)
		}
		if err := shadow.Swap(ctx, pr); err != nil {
			t.Fatal(err)
		}
	}
	checkOrders("after a shadow rebuild")

	// The auditor's export, the data request's export and an order's state
	// in time travel hold nothing of shop A in clear.
	export := apitest.ReadBody(t, env.Do(t, "GET", "/api/v1/audit/export", auditorA, nil))
	if strings.Count(export, "\n") < 10 {
		t.Fatalf("audit export is short: %s", export)
	}
	find("the audit export", export, secretsA)
	var reqs struct {
		Items []struct{ ID, Topic string } `json:"items"`
	}
	apitest.Decode(t, env.Do(t, "GET", "/api/v1/privacy/requests", ownerA, nil), &reqs)
	exported := 0
	for _, r := range reqs.Items {
		if r.Topic != "customers/data_request" {
			continue
		}
		text := apitest.ReadBody(t, env.Do(t, "GET", "/api/v1/privacy/requests/"+r.ID+"/export", ownerA, nil))
		find("the data request export", text, secretsA)
		if !strings.Contains(text, eventstore.Erased) {
			t.Errorf("the data request export shows no erased field: %s", text)
		}
		exported++
	}
	if exported != 1 {
		t.Errorf("%d data request exports, want 1", exported)
	}
	find("time travel", apitest.ReadBody(t, env.Do(t, "GET", "/api/v1/audit/orders/"+manualOrderA+"/state", auditorA, nil)), secretsA)

	// Redis: the relay's streams, the order cache, everything under the prefix.
	keys, err := p.Redis.Keys(ctx, p.Config.StreamPrefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("redis keys under the test prefix: %v, %v", keys, err)
	}
	var streams int
	for _, k := range keys {
		switch p.Redis.Type(ctx, k).Val() {
		case "stream":
			msgs, err := p.Redis.XRange(ctx, k, "-", "+").Result()
			if err != nil {
				t.Fatal(err)
			}
			streams += len(msgs)
			for _, m := range msgs {
				find("redis stream "+k, fmt.Sprint(m.Values), secretsA)
			}
		case "string":
			find("redis key "+k, p.Redis.Get(ctx, k).Val(), secretsA)
		case "hash":
			find("redis hash "+k, fmt.Sprint(p.Redis.HGetAll(ctx, k).Val()), secretsA)
		}
	}
	if streams == 0 {
		t.Fatal("no stream messages in Redis: the search proved nothing")
	}

	// Every table of every schema, and the log lines. The search finds what
	// is there: shop B's customer in orders_view.
	dump := dumpEverySchema(ctx, t, pool)
	for table, text := range dump {
		find("table "+table, text, secretsA)
	}
	if !strings.Contains(dump["public.orders_view"], kept.email) {
		t.Error("orders_view lacks shop B's customer: the search would miss a leak")
	}
	find("the log lines", env.Logs(), secretsA)

	// Erasure rewrote no event: the chain still verifies.
	if res, err := audit.New(p.Store).Verify(ctx, nil); err != nil || len(res.Findings) != 0 {
		t.Errorf("verify after erasure: findings %v, %v", res.Findings, err)
	}
}
