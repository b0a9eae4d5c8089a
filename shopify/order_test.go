package shopify

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ordermill/ordermill/domain"
)

const demoShop = "demo.myshopify.com"

func loadOrder(t testing.TB) domain.ShopifyOrder {
	t.Helper()
	body, err := os.ReadFile("testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := DecodeOrder(body)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// roundTrip passes events through their stored JSON form.
func roundTrip(t *testing.T, evs []domain.Event) []domain.Event {
	t.Helper()
	out := make([]domain.Event, len(evs))
	for i, e := range evs {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = domain.DecodeEvent(e.EventType(), data); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestDecodeOrder(t *testing.T) {
	s := loadOrder(t)
	if s.ID != 5000000000000000123 || s.Customer.ID != 7000000000000000001 {
		t.Fatalf("ids lost precision: %d %d", s.ID, s.Customer.ID)
	}
	if s.LineItems[1].ID != 9000000000000000002 { // sent as a string
		t.Fatalf("string id = %d", s.LineItems[1].ID)
	}
	if s.LineItems[0].Price != (domain.Money{Amount: 1999, Currency: "USD"}) || s.TotalPrice != (domain.Money{Amount: 6497, Currency: "USD"}) || s.SubtotalPrice != (domain.Money{Amount: 5497, Currency: "USD"}) {
		t.Fatalf("money = %v %v %v", s.LineItems[0].Price, s.TotalPrice, s.SubtotalPrice)
	}
	if s.LineItems[1].SKU != "" || domain.InventoryKey(s.LineItems[1].SKU, s.LineItems[1].VariantID) != "variant-4000000000000000002" {
		t.Fatalf("sku null: %q", s.LineItems[1].SKU)
	}
	if want := time.Date(2024, 3, 2, 14, 30, 0, 0, time.UTC); !s.UpdatedAt.Equal(want) {
		t.Fatalf("updated_at = %v, want %v", s.UpdatedAt, want)
	}
	if !s.CancelledAt.IsZero() || s.Refunds[0].Amount() != 500 || s.Fulfillments[1].Status != "cancelled" {
		t.Fatalf("unexpected %+v", s)
	}
}

func TestDecodeOrderJPY(t *testing.T) {
	body := `{"id":1,"name":"#1","currency":"JPY","created_at":"2024-03-01T10:00:00+09:00","updated_at":"2024-03-01T10:00:00+09:00",
		"total_price":"3500","subtotal_price":"3000.0","line_items":[{"id":2,"variant_id":3,"sku":"TEA","title":"Tea","quantity":2,"price":1500}]}`
	s, err := DecodeOrder([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if s.TotalPrice.Amount != 3500 || s.SubtotalPrice.Amount != 3000 || s.LineItems[0].Price.Amount != 1500 {
		t.Fatalf("JPY amounts = %v %v %v", s.TotalPrice, s.SubtotalPrice, s.LineItems[0].Price)
	}
}

func TestDecodeOrderErrorsNameTheField(t *testing.T) {
	valid := `{"id":1,"name":"#1","currency":"USD","created_at":"2024-03-01T10:00:00Z","updated_at":"2024-03-01T10:00:00Z","total_price":"1.00","subtotal_price":"1.00","line_items":[{"id":2,"title":"T","quantity":1,"price":"1.00"}]}`
	tests := []struct {
		name, from, to, field string
	}{
		{"not json", valid, "{", "body"},
		{"float id", `"id":1,`, `"id":1.5,`, "id"},
		{"id too big", `"id":1,`, `"id":99999999999999999999,`, "id"},
		{"missing id", `"id":1,`, ``, "id"},
		{"bad price", `"price":"1.00"`, `"price":"1.005"`, "line_items[0].price"},
		{"word price", `"price":"1.00"`, `"price":"free"`, "line_items[0].price"},
		{"negative price", `"price":"1.00"`, `"price":"-1.00"`, "line_items[0].price"},
		{"bad quantity", `"quantity":1`, `"quantity":"two"`, "line_items[0].quantity"},
		{"zero quantity", `"quantity":1`, `"quantity":0`, "line_items[0].quantity"},
		{"bad time", `"updated_at":"2024-03-01T10:00:00Z"`, `"updated_at":"yesterday"`, "updated_at"},
		{"time without offset", `"updated_at":"2024-03-01T10:00:00Z"`, `"updated_at":"2024-03-01T10:00:00"`, "updated_at"},
		{"bad currency", `"currency":"USD"`, `"currency":"dollars"`, "currency"},
		{"no lines", `"line_items":[{"id":2,"title":"T","quantity":1,"price":"1.00"}]`, `"line_items":[]`, "line_items"},
		{"name is a number", `"name":"#1"`, `"name":1`, "name"},
		{"unknown fulfilled line", `"line_items":[`, `"fulfillments":[{"id":5,"status":"success","created_at":"2024-03-01T10:00:00Z","line_items":[{"id":3,"quantity":1}]}],"line_items":[`, "fulfillments[0].line_items[0].id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Replace(valid, tt.from, tt.to, 1)
			if body == valid && tt.from != valid {
				t.Fatal("test did not change the body")
			}
			if tt.from == valid {
				body = tt.to
			}
			_, err := DecodeOrder([]byte(body))
			var ve *domain.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *domain.ValidationError", err)
			}
			for _, f := range ve.Fields {
				if f.Field == tt.field {
					return
				}
			}
			t.Fatalf("error %q does not name %s", err, tt.field)
		})
	}
	if _, err := DecodeOrder([]byte(valid)); err != nil {
		t.Fatalf("valid body rejected: %v", err)
	}
}

func TestDecodeInventoryLevel(t *testing.T) {
	l, err := DecodeInventoryLevel([]byte(`{"inventory_item_id":9007199254740993,"location_id":"655441491","available":-2,"updated_at":"2024-03-01T10:00:00-05:00"}`))
	if err != nil || l.InventoryItemID != 9007199254740993 || l.LocationID != 655441491 || l.Available != -2 || !l.Tracked {
		t.Fatalf("got %+v, %v", l, err)
	}
	l, err = DecodeInventoryLevel([]byte(`{"inventory_item_id":1,"location_id":2,"available":null,"updated_at":"2024-03-01T10:00:00Z"}`))
	if err != nil || l.Tracked {
		t.Fatalf("untracked: got %+v, %v", l, err)
	}
	var ve *domain.ValidationError
	if _, err := DecodeInventoryLevel([]byte(`{"location_id":2,"available":1}`)); !errors.As(err, &ve) || len(ve.Fields) != 2 {
		t.Fatalf("missing fields: %v", err)
	}
}

func FuzzDecodeOrder(f *testing.F) {
	body, err := os.ReadFile("testdata/order.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	f.Add([]byte(`{"id":"1","name":"#1","currency":"JPY","created_at":"2024-03-01T10:00:00+09:00","updated_at":"2024-03-01T10:00:00+09:00","total_price":1,"subtotal_price":"1","line_items":[{"id":2,"title":"T","quantity":1,"price":"1.0"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := DecodeOrder(body)
		if err != nil {
			var ve *domain.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("decode error is not a *domain.ValidationError: %v", err)
			}
			return
		}
		if err := domain.CheckJSON(body); err != nil {
			t.Fatalf("decoded a body that is not processed as sent: %v", err)
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("decoded order does not re-validate: %v", err)
		}
		o := &domain.Order{}
		evs, err := o.ApplyShopifySnapshot(s, demoShop)
		if err != nil {
			return // a consistent payload can still break a business rule (over-fulfilment)
		}
		for _, e := range evs {
			o.Apply(e)
		}
		replayed, err := domain.NewOrderFromHistory(roundTrip(t, evs))
		if err != nil || !reflect.DeepEqual(replayed.Snapshot(), o.Snapshot()) {
			t.Fatalf("replay differs: %v", err)
		}
	})
}

// PostgreSQL cannot store U+0000, so a body holding one is refused as
// invalid (recorded as failed, never retried); the text "\u0000" after a
// literal backslash is ordinary data.
func TestDecodeOrderRefusesNUL(t *testing.T) {
	order := func(title string) []byte {
		return []byte(`{"id":1,"name":"#1","currency":"USD","created_at":"2024-03-01T10:00:00Z","updated_at":"2024-03-01T10:00:00Z",
			"total_price":"1.00","subtotal_price":"1.00","line_items":[{"id":2,"variant_id":3,"sku":"TEA","title":"` + title + `","quantity":1,"price":"1.00"}]}`)
	}
	for _, title := range []string{`Tea\u0000`, `\\\u0000`, `a\\\\\u0000b`} {
		var ve *domain.ValidationError
		if _, err := DecodeOrder(order(title)); !errors.As(err, &ve) || !strings.Contains(err.Error(), "U+0000") {
			t.Errorf("title %s: %v, want a validation error naming U+0000", title, err)
		}
	}
	for _, title := range []string{`\\u0000`, `u0000`, `\\\\u0000`} {
		if _, err := DecodeOrder(order(title)); err != nil {
			t.Errorf("title %s: %v", title, err)
		}
	}
}

// BenchmarkDecodeOrder measures what processing an orders/* webhook does
// with its body: the JSON check, then the decoding.
func BenchmarkDecodeOrder(b *testing.B) {
	body, err := os.ReadFile("testdata/order.json")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("CheckBody+DecodeOrder", func(b *testing.B) { // what processing an orders/* webhook does
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := CheckBody(body); err != nil {
				b.Fatal(err)
			}
			if _, err := DecodeOrder(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecodeOrder", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeOrder(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Shopify's own sample payloads (testdata/samples) decode with what
// Ordermill models of them.
func TestDecodeShopifySamples(t *testing.T) {
	read := func(name string) []byte { return readSample(t, name) }
	o, err := DecodeOrder(read("orders_updated.json"))
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != 450789469 || o.FinancialStatus != "partially_refunded" || o.FulfillmentStatus != "" ||
		o.TotalPrice.Amount != 59894 || o.CurrentTotalPrice.Amount != 19965 || o.CurrentTotalDiscounts.Amount != 333 ||
		o.TotalOutstanding == nil || o.TotalOutstanding.Amount != 0 || o.PaidInFull.Amount != 19965+20900 {
		t.Fatalf("order = %+v", o)
	}
	if got := []int{o.LineItems[0].CurrentQuantity, o.LineItems[1].CurrentQuantity, o.LineItems[2].CurrentQuantity}; got[0] != 0 || got[1] != 1 || got[2] != 0 {
		t.Fatalf("current quantities = %v", got)
	}
	if f := o.Fulfillments[0]; f.Status != "failure" || f.TrackingNumbers[0] != "1Z2345" || o.Refunds[0].Note != "it broke during shipping" {
		t.Fatalf("fulfillment %+v, refund %+v", f, o.Refunds[0])
	}
	r, err := DecodeRefund(read("refunds_create.json"), "USD")
	if err != nil || r.OrderID != 450789469 || r.Refund.Amount() != 4194 || r.Refund.Note != "wrong size" {
		t.Fatalf("refund = %+v, %v", r, err)
	}
	if s := r.Refund.RefundLineItems[0].Subtotal; s == nil || *s != (domain.Money{Amount: 0, Currency: "USD"}) {
		t.Fatalf("refund line subtotal = %v, want the sample's 0.00", s)
	}
	f, err := DecodeFulfillment(read("fulfillments_create.json"))
	if err != nil || f.OrderID != 450789469 || f.Status != "success" || f.TrackingNumbers[0] != "MS1562678" || len(f.TrackingURLs) != 1 {
		t.Fatalf("fulfillment = %+v, %v", f, err)
	}
	if id, ok := OrderIDOf(TopicFulfillmentsCreate, read("fulfillments_create.json")); !ok || id != 450789469 {
		t.Fatalf("OrderIDOf = %d, %v", id, ok)
	}
}

// Line items name the product in title and the variant in variant_title,
// which is null for custom lines; products name each variant, and a
// product without options has one variant titled "Default Title", which
// names nothing. Locations name the places stock webhooks give by id.
func TestDecodeSampleNames(t *testing.T) {
	read := func(name string) []byte { return readSample(t, name) }
	lineTitles := func(name string) [][2]string {
		t.Helper()
		o, err := DecodeOrder(read(name))
		if err != nil {
			t.Fatal(err)
		}
		var out [][2]string
		for _, li := range o.LineItems {
			out = append(out, [2]string{li.Title, li.VariantTitle})
		}
		return out
	}
	for name, want := range map[string][][2]string{
		"orders_create.json":              {{"IPod Touch 8GB", "Black"}},
		"orders_updated.json":             {{"IPod Nano - 8gb", "green"}, {"IPod Nano - 8gb", "red"}, {"IPod Nano - 8gb", "black"}},
		"orders_partially_fulfilled.json": {{"Red Leather Coat", ""}, {"Blue Suede Shoes", ""}, {"Raspberry Beret", ""}},
	} {
		if got := lineTitles(name); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: line titles = %q, want %q", name, got, want)
		}
	}
	p, err := DecodeProduct(read("products_update.json"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "IPod Nano - 8GB" || len(p.Variants) != 4 || p.Variants[0].Title != "Pink" || p.Variants[3].Title != "Black" {
		t.Fatalf("products/update = %+v", p)
	}
	loc, err := DecodeLocation(read("locations_update.json"))
	if err != nil || loc.ID != 655441491 || loc.Name != "50 Rideau Street" || loc.UpdatedAt.IsZero() {
		t.Fatalf("locations/update = %+v, %v", loc, err)
	}
	if _, err := DecodeLocation([]byte(`{"id": 655441491, "name": " ", "updated_at": "2024-01-02T09:05:00-05:00"}`)); err == nil {
		t.Fatal("a location without a name decodes")
	}
	p, err = DecodeProduct(read("products_create.json"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "Burton Custom Freestyle 151" || len(p.Variants) != 1 || p.Variants[0].Title != "" {
		t.Fatalf("products/create = %+v", p)
	}
}

// readSample is one of Shopify's sample payloads in testdata/samples.
func readSample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/samples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
