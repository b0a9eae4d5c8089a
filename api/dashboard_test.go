package api_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

type dashboardOut struct {
	Days []struct {
		Date           string `json:"date"`
		Orders         int64  `json:"orders"`
		Webhooks       int64  `json:"webhooks"`
		WebhooksFailed int64  `json:"webhooks_failed"`
	} `json:"days"`
	Sales []struct {
		Date             string `json:"date"`
		Currency         string `json:"currency"`
		CurrencyExponent int    `json:"currency_exponent"`
		Orders           int64  `json:"orders"`
		Gross            int64  `json:"gross"`
		Refunded         int64  `json:"refunded"`
	} `json:"sales"`
	AverageOrderValue []struct {
		Currency string `json:"currency"`
		Orders   int64  `json:"orders"`
		Average  int64  `json:"average"`
	} `json:"average_order_value"`
	TopProducts []struct {
		Title string `json:"title"`
		Units int64  `json:"units"`
	} `json:"top_products"`
	Backorders struct {
		Items int64 `json:"items"`
	} `json:"backorders"`
}

// dashboardOrder places an order of one line at a given time.
func dashboardOrder(currency, title string, quantity int, unitPrice int64, at string) map[string]any {
	return map[string]any{"currency": currency, "email": "d@example.test", "placed_at": at,
		"lines": []map[string]any{{"sku": "DASH-" + title, "title": title, "quantity": quantity, "unit_price": unitPrice}}}
}

// TestDashboardEqualsEvents checks every figure of the dashboard against a
// SQL count over the event store itself, not over the read models it reads.
func TestDashboardEqualsEvents(t *testing.T) {
	e, _ := newContractEnv(t)
	const shop = "dash.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)
	stranger := e.UserToken(t, "dash-other.myshopify.com", domain.RoleOwner)
	placeOrder(t, e, stranger, dashboardOrder("JPY", "Elsewhere", 9, 100, "2025-03-01T12:00:00Z"))

	placeOrder(t, e, owner, dashboardOrder("JPY", "Mug", 2, 1500, "2025-03-01T00:00:00Z"))
	placeOrder(t, e, owner, dashboardOrder("JPY", "Tea", 1, 999, "2025-03-01T23:59:59Z"))
	placeOrder(t, e, owner, dashboardOrder("USD", "Mug", 1, 1999, "2025-03-02T08:00:00+09:00")) // 1 March in UTC
	tea := placeOrder(t, e, owner, dashboardOrder("USD", "Tea", 3, 250, "2025-03-02T10:00:00Z"))
	voided := placeOrder(t, e, owner, dashboardOrder("USD", "Lamp", 5, 10000, "2025-03-02T11:00:00Z"))
	cancelled, _ := expectOrder(t, e, http.MethodPost, "/api/v1/orders/"+voided.ID+"/cancel", owner,
		map[string]any{"reason": "customer"}, http.StatusOK)
	expectStatus(t, e.Fresh(t, "/api/v1/orders", owner, cancelled.Position), http.StatusOK).Body.Close()
	// A refund of part of the 2 March USD order, once paid.
	expectOrder(t, e, http.MethodPost, "/api/v1/orders/"+tea.ID+"/pay", owner, map[string]any{}, http.StatusOK)
	refunded, _ := expectOrder(t, e, http.MethodPost, "/api/v1/orders/"+tea.ID+"/refund", owner, map[string]any{"amount": 100}, http.StatusOK)
	expectStatus(t, e.Fresh(t, "/api/v1/orders", owner, refunded.Position), http.StatusOK).Body.Close()

	// Webhooks, counted on the day they arrived (stored): more than a page
	// of the list holds (the figure once stopped at one page), some failed,
	// and one of another shop.
	var lastHook eventstore.Position
	hook := func(shopDomain, id string, failed bool) {
		t.Helper()
		events := []domain.Event{domain.WebhookReceived{Shop: shopDomain, Topic: "orders/create", WebhookID: id, ReceivedAt: time.Now().UTC()}}
		if failed {
			events = append(events, domain.WebhookFailed{Reason: "malformed body"})
		}
		encoded, err := eventstore.Encode(shopDomain, eventstore.Metadata{}, events...)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.Platform.Store.Append(context.Background(), domain.WebhookStream(shopDomain, id), eventstore.NoStream, encoded...)
		if err != nil {
			t.Fatal(err)
		}
		lastHook = res.Position
	}
	for i := range 206 {
		hook(shop, fmt.Sprintf("d-%d", i), i%50 == 0)
	}
	hook("dash-other.myshopify.com", "x-0", false)
	expectStatus(t, e.Fresh(t, "/api/v1/webhooks", owner, lastHook.String()), http.StatusOK).Body.Close()
	// The webhooks' projector applies streams in parallel batches: wait until
	// it has them all, then hold the figures to the events.
	today := time.Now().UTC()
	var recent dashboardOut
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodGet, "/api/v1/dashboard?from="+today.AddDate(0, 0, -1).Format(time.DateOnly)+
			"&to="+today.Format(time.DateOnly), owner, nil), http.StatusOK), &recent)
		var n int64
		for _, day := range recent.Days {
			n += day.Webhooks
		}
		if n == 206 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard counts %d of 206 webhooks", n)
		}
	}

	var d dashboardOut
	apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodGet, "/api/v1/dashboard?from=2025-02-28&to=2025-03-03", owner, nil),
		http.StatusOK), &d)

	ctx := context.Background()
	pool := e.Platform.Pool
	// Orders per UTC day, from the order.placed events.
	want := map[string]int64{}
	rows, err := pool.Query(ctx, `SELECT to_char(((data->>'placed_at')::timestamptz AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD'), count(*)
		FROM events WHERE tenant_id = $1 AND event_type = 'order.placed' GROUP BY 1`, shop)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var day string
		var n int64
		if err := rows.Scan(&day, &n); err != nil {
			t.Fatal(err)
		}
		want[day] = n
	}
	if len(d.Days) != 4 {
		t.Fatalf("days %+v, want 28 Feb to 3 Mar", d.Days)
	}
	for _, day := range d.Days {
		if day.Orders != want[day.Date] {
			t.Errorf("%s: dashboard counts %d orders, events %d", day.Date, day.Orders, want[day.Date])
		}
	}
	if want["2025-03-01"] != 3 || want["2025-03-02"] != 2 {
		t.Fatalf("events per day %v: the fixture is not what the test means", want)
	}

	// Webhooks per UTC day of arrival and those that failed, from the webhook events.
	type hooks struct{ received, failed int64 }
	wantHooks := map[string]hooks{}
	rows, err = pool.Query(ctx, `SELECT to_char((r.recorded_at AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD'),
			count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM events f WHERE f.stream_id = r.stream_id AND f.event_type = 'webhook.failed'))
		FROM events r WHERE r.tenant_id = $1 AND r.event_type = 'webhook.received' GROUP BY 1`, shop)
	if err != nil {
		t.Fatal(err)
	}
	var all hooks
	for rows.Next() {
		var day string
		var h hooks
		if err := rows.Scan(&day, &h.received, &h.failed); err != nil {
			t.Fatal(err)
		}
		wantHooks[day] = h
		all.received, all.failed = all.received+h.received, all.failed+h.failed
	}
	if all != (hooks{206, 5}) {
		t.Fatalf("webhook events %v: the fixture is not what the test means", wantHooks)
	}
	for _, day := range append(d.Days, recent.Days...) {
		if got := (hooks{day.Webhooks, day.WebhooksFailed}); got != wantHooks[day.Date] {
			t.Errorf("%s: dashboard counts webhooks %+v, events %+v", day.Date, got, wantHooks[day.Date])
		}
	}

	// Sales per day and currency: placed orders' totals, less those cancelled unpaid.
	type key struct{ day, currency string }
	wantSales := map[key][3]int64{}
	// Refunds count on the day of the order they refund, as the sales summary has them.
	rows, err = pool.Query(ctx, `SELECT to_char(((p.data->>'placed_at')::timestamptz AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD'),
			p.data->>'currency', count(*), sum((p.data->>'total')::bigint),
			coalesce(sum((SELECT sum((r.data->>'amount')::bigint) FROM events r WHERE r.stream_id = p.stream_id AND r.event_type = 'order.refunded')), 0)::bigint
		FROM events p WHERE p.tenant_id = $1 AND p.event_type = 'order.placed'
			AND NOT EXISTS (SELECT 1 FROM events c WHERE c.stream_id = p.stream_id AND c.event_type = 'order.cancelled')
		GROUP BY 1, 2`, shop)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k key
		var v [3]int64
		if err := rows.Scan(&k.day, &k.currency, &v[0], &v[1], &v[2]); err != nil {
			t.Fatal(err)
		}
		wantSales[k] = v
	}
	if wantSales[key{"2025-03-02", "USD"}][2] != 100 {
		t.Fatalf("refund events %v: the fixture is not what the test means", wantSales)
	}
	if len(d.Sales) != len(wantSales) {
		t.Fatalf("sales %+v, events say %v", d.Sales, wantSales)
	}
	for _, s := range d.Sales {
		if w := wantSales[key{s.Date, s.Currency}]; w != [3]int64{s.Orders, s.Gross, s.Refunded} {
			t.Errorf("sales %s %s: %d orders, %d gross, %d refunded; events: %v", s.Date, s.Currency, s.Orders, s.Gross, s.Refunded, w)
		}
		if s.CurrencyExponent != domain.CurrencyExponent(s.Currency) {
			t.Errorf("sales in %s carry exponent %d", s.Currency, s.CurrencyExponent)
		}
	}

	// Average order value per currency, rounded half up to a minor unit.
	for _, a := range d.AverageOrderValue {
		var n, avg int64
		if err := pool.QueryRow(ctx, `SELECT count(*), round(avg((p.data->>'total')::bigint))::bigint
			FROM events p WHERE p.tenant_id = $1 AND p.event_type = 'order.placed' AND p.data->>'currency' = $2
				AND NOT EXISTS (SELECT 1 FROM events c WHERE c.stream_id = p.stream_id AND c.event_type = 'order.cancelled')`,
			shop, a.Currency).Scan(&n, &avg); err != nil {
			t.Fatal(err)
		}
		if a.Orders != n || a.Average != avg {
			t.Errorf("average %s: %d over %d orders; events: %d over %d", a.Currency, a.Average, a.Orders, avg, n)
		}
	}
	if len(d.AverageOrderValue) != 2 {
		t.Errorf("average order value in %d currencies, want JPY and USD: %+v", len(d.AverageOrderValue), d.AverageOrderValue)
	}
	// Per currency (revenue is never summed across them): Tea 3 in USD first; the
	// voided lamp and the other shop's order do not count.
	if len(d.TopProducts) != 4 || d.TopProducts[0].Title != "Tea" || d.TopProducts[0].Units != 3 {
		t.Errorf("top products %+v", d.TopProducts)
	}
	for _, p := range d.TopProducts {
		if p.Title == "Lamp" || p.Title == "Elsewhere" {
			t.Errorf("top products hold %+v", p)
		}
	}

	problem := apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/dashboard?from=2025-03-05&to=2025-03-01", owner, nil), http.StatusBadRequest)
	if len(problem.Errors) != 1 || problem.Errors[0].Field != "to" {
		t.Errorf("reversed range: %+v", problem)
	}
	apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/dashboard?from=2023-01-01&to=2025-01-01", owner, nil), http.StatusBadRequest)
	apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/dashboard?from=yesterday", owner, nil), http.StatusBadRequest)
}

// TestOrdersExport checks that the CSV holds every order the list's filters
// select, beyond one page, with amounts in each currency's own digits.
func TestOrdersExport(t *testing.T) {
	e, _ := newContractEnv(t)
	const shop = "export.myshopify.com"
	owner := e.UserToken(t, shop, domain.RoleOwner)
	auditor := e.UserToken(t, shop, domain.RoleAuditor)
	var last orderOut
	for i := range 3 {
		last = placeOrder(t, e, owner, dashboardOrder("KWD", fmt.Sprint("Oud", i), 1, 12345, "2025-04-01T10:00:00Z"))
	}
	for _, c := range []string{"JPY", "HUF", "USD"} {
		last = placeOrder(t, e, owner, dashboardOrder(c, "Pen", 1, 1999, "2025-04-02T10:00:00Z"))
	}
	var list struct {
		Items []struct {
			Currency         string `json:"currency"`
			CurrencyExponent int    `json:"currency_exponent"`
		} `json:"items"`
	}
	apitest.Decode(t, expectStatus(t, e.Fresh(t, "/api/v1/orders", owner, last.Position), http.StatusOK), &list)
	exponents := map[string]int{"KWD": 3, "JPY": 0, "HUF": 2, "USD": 2} // ISO 4217, not CLDR's 0 for HUF
	for _, o := range list.Items {
		if o.CurrencyExponent != exponents[o.Currency] {
			t.Errorf("an order in %s carries exponent %d", o.Currency, o.CurrencyExponent)
		}
	}
	var detail struct {
		CurrencyExponent int `json:"currency_exponent"`
		Lines            []struct {
			CurrencyExponent int `json:"currency_exponent"`
		} `json:"lines"`
	}
	apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodGet, "/api/v1/orders/"+last.ID, owner, nil), http.StatusOK), &detail)
	if detail.CurrencyExponent != 2 || len(detail.Lines) != 1 || detail.Lines[0].CurrencyExponent != 2 {
		t.Errorf("the USD order reads %+v", detail)
	}

	// The history names the person who placed the order, not user:<uuid>.
	var history struct {
		Items []struct {
			Metadata  struct{ Actor string } `json:"metadata"`
			ActorName string                 `json:"actor_name"`
		} `json:"items"`
	}
	apitest.Decode(t, expectStatus(t, e.Do(t, http.MethodGet, "/api/v1/orders/"+last.ID+"/events", auditor, nil), http.StatusOK), &history)
	if len(history.Items) == 0 || !strings.HasPrefix(history.Items[0].ActorName, "owner-") ||
		!strings.HasPrefix(history.Items[0].Metadata.Actor, "user:") {
		t.Errorf("history: %+v", history.Items)
	}

	read := func(path, token string) [][]string {
		t.Helper()
		resp := expectStatus(t, e.Do(t, http.MethodGet, path, token, nil), http.StatusOK)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("content type %q", ct)
		}
		records, err := csv.NewReader(strings.NewReader(apitest.ReadBody(t, resp))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return records
	}
	// limit is ignored: the export is every matching order, not one page.
	all := read("/api/v1/orders/export?limit=1&sort=total", owner)
	if len(all) != 7 || strings.Join(all[0][:7], ",") != "name,placed_at,customer_name,email,currency,subtotal,total" {
		t.Fatalf("export: %v", all)
	}
	totals := map[string]string{}
	for _, r := range all[1:] {
		totals[r[4]] = r[6]
		if r[3] != "d@example.test" {
			t.Errorf("owner sees email %q", r[3])
		}
	}
	for currency, want := range map[string]string{"KWD": "12.345", "JPY": "1999", "HUF": "19.99", "USD": "19.99"} {
		if totals[currency] != want {
			t.Errorf("total in %s reads %q, want %q", currency, totals[currency], want)
		}
	}
	april2 := read("/api/v1/orders/export?created_from=2025-04-02T00:00:00Z", auditor)
	if len(april2) != 4 {
		t.Fatalf("filtered export: %v", april2)
	}
	for _, r := range april2[1:] {
		if r[3] != "d•••@example.test" {
			t.Errorf("an auditor sees email %q, want it masked", r[3])
		}
	}
	apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/orders/export?status=lost", owner, nil), http.StatusBadRequest)
	apitest.Problem(t, e.Do(t, http.MethodGet, "/api/v1/orders/export?cursor=abc", owner, nil), http.StatusBadRequest)
}
