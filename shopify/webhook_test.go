package shopify

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/ordermill/ordermill/domain"
)

// Shopify's sample payloads for the shop-naming topics, for demo.myshopify.com
// (id 954889). Shopify's test app/uninstalled payload leaves myshopify_domain
// null; a real delivery carries the shop's.
const (
	sampleShopRedact     = `{"shop_id": 954889, "shop_domain": "demo.myshopify.com"}`
	sampleCustomerRedact = `{"shop_id": 954889, "shop_domain": "demo.myshopify.com", "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"}, "orders_to_redact": [299938, 280263, 220458]}`
	sampleDataRequest    = `{"shop_id":954889,"shop_domain":"demo.myshopify.com","orders_requested":[299938,280263,220458],"customer":{"id":191167,"email":"john@example.com","phone":"555-625-1199"},"data_request":{"id":9999}}`
	sampleAppUninstalled = `{"id":954889,"name":"Super Toys","email":"super@supertoys.com","domain":"supertoys.example","province":"Tennessee",` +
		`"country":"US","address1":"190 MacLaren Street","zip":"37178","city":"Houston","phone":"3213213210","primary_locale":"en",` +
		`"created_at":"2024-01-09T10:00:00-05:00","updated_at":"2024-03-01T10:00:00-05:00","country_code":"US","currency":"USD",` +
		`"customer_email":"super@supertoys.com","iana_timezone":"America/New_York","shop_owner":"John Smith","plan_name":"enterprise",` +
		`"myshopify_domain":"demo.myshopify.com","primary_location_id":655441491}`
	sampleRefund    = `{"id":509562969,"order_id":5000000000000000123,"created_at":"2024-03-01T10:00:00-05:00","transactions":[{"amount":"10.00","kind":"refund","status":"success"}],"refund_line_items":[]}`
	sampleInventory = `{"inventory_item_id":271878346596884015,"location_id":24826418,"available":6,"updated_at":"2024-03-01T10:00:00-05:00"}`
)

var demoSigner = Signer{Domain: demoShop, ShopID: 954889}

// TestDecodeWebhookTopicMatrix posts every genuine body under every
// topic: only a body of the topic itself decodes; the privacy topics and
// app/uninstalled refuse the others as topic mismatches.
func TestDecodeWebhookTopicMatrix(t *testing.T) {
	order, err := os.ReadFile("testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string]string{ // the topic each genuine body was sent for
		"orders/updated":          string(order),
		"refunds/create":          sampleRefund,
		"inventory_levels/update": sampleInventory,
		"shop/redact":             sampleShopRedact,
		"customers/redact":        sampleCustomerRedact,
		"customers/data_request":  sampleDataRequest,
		"app/uninstalled":         sampleAppUninstalled,
	}
	shopNaming := []string{"shop/redact", "customers/redact", "customers/data_request", "app/uninstalled"}
	for _, topic := range append([]string{"orders/create", "orders/updated", "orders/cancelled"}, shopNaming...) {
		for sentAs, body := range bodies {
			genuine := sentAs == topic || (strings.HasPrefix(topic, "orders/") && strings.HasPrefix(sentAs, "orders/"))
			v, err := DecodeWebhook(topic, []byte(body), demoSigner)
			switch {
			case genuine && err != nil:
				t.Errorf("%s body as %s: %v", sentAs, topic, err)
			case genuine && v == nil:
				t.Errorf("%s body as %s: decoded to nothing", sentAs, topic)
			case !genuine && err == nil:
				t.Errorf("%s body accepted as %s: %+v", sentAs, topic, v)
			case !genuine:
				var ve *domain.ValidationError
				if !errors.As(err, &ve) {
					t.Errorf("%s body as %s: error %v is not a *domain.ValidationError", sentAs, topic, err)
				}
				if isShopNaming := TopicNamesShop(topic); isShopNaming != errors.Is(err, ErrTopicMismatch) {
					t.Errorf("%s body as %s: topic mismatch = %v, want %v (%v)", sentAs, topic, !isShopNaming, isShopNaming, err)
				}
			}
		}
	}
}

func TestDecodeWebhookShopNamingTopics(t *testing.T) {
	unknownID := Signer{Domain: demoShop}
	tests := []struct {
		name   string
		topic  string
		body   string
		signer Signer
		want   any      // the decoded body when accepted
		fields []string // the fields named when refused
	}{
		{"shop/redact", "shop/redact", sampleShopRedact, demoSigner,
			ComplianceRequest{Topic: "shop/redact", ShopID: 954889, ShopDomain: demoShop}, nil},
		{"shop/redact, shop id not recorded", "shop/redact", sampleShopRedact, unknownID,
			ComplianceRequest{Topic: "shop/redact", ShopID: 954889, ShopDomain: demoShop}, nil},
		{"customers/redact", "customers/redact", sampleCustomerRedact, demoSigner,
			ComplianceRequest{Topic: "customers/redact", ShopID: 954889, ShopDomain: demoShop, CustomerID: 191167,
				Orders: []int64{299938, 280263, 220458}}, nil},
		{"customers/redact with ids as strings", "customers/redact",
			`{"shop_id":"954889","shop_domain":"demo.myshopify.com","customer":{"id":"7000000000000000001"},"orders_to_redact":["5000000000000000123"]}`, demoSigner,
			ComplianceRequest{Topic: "customers/redact", ShopID: 954889, ShopDomain: demoShop, CustomerID: 7000000000000000001,
				Orders: []int64{5000000000000000123}}, nil},
		{"customers/data_request", "customers/data_request", sampleDataRequest, demoSigner,
			ComplianceRequest{Topic: "customers/data_request", ShopID: 954889, ShopDomain: demoShop, CustomerID: 191167,
				Orders: []int64{299938, 280263, 220458}}, nil},
		{"app/uninstalled", "app/uninstalled", sampleAppUninstalled, demoSigner,
			Shop{ID: 954889, MyshopifyDomain: demoShop}, nil},
		{"app/uninstalled, shop id not recorded", "app/uninstalled", sampleAppUninstalled, unknownID,
			Shop{ID: 954889, MyshopifyDomain: demoShop}, nil},

		// Another shop's genuine body, re-posted under this shop (a shared app secret).
		{"shop/redact of another shop", "shop/redact", `{"shop_id":954890,"shop_domain":"other.myshopify.com"}`, demoSigner,
			nil, []string{"shop_id", "shop_domain"}},
		{"shop/redact of another shop, shop id not recorded", "shop/redact", `{"shop_id":954890,"shop_domain":"other.myshopify.com"}`, unknownID,
			nil, []string{"shop_domain"}},
		{"shop/redact naming this domain with another id", "shop/redact", `{"shop_id":954890,"shop_domain":"demo.myshopify.com"}`, demoSigner,
			nil, []string{"shop_id"}},
		{"app/uninstalled of another shop", "app/uninstalled", `{"id":954890,"myshopify_domain":"other.myshopify.com"}`, demoSigner,
			nil, []string{"id", "myshopify_domain"}},
		{"app/uninstalled naming the custom domain only", "app/uninstalled", `{"id":954889,"domain":"demo.myshopify.com"}`, demoSigner,
			nil, []string{"myshopify_domain"}},
		{"customers/redact of another shop", "customers/redact",
			strings.ReplaceAll(sampleCustomerRedact, "demo.myshopify.com", "other.myshopify.com"), demoSigner, nil, []string{"shop_domain"}},

		// Bodies that lack what the topic requires.
		{"shop/redact without shop id", "shop/redact", `{"shop_domain":"demo.myshopify.com"}`, demoSigner, nil, []string{"shop_id"}},
		{"shop/redact with shop id 0", "shop/redact", `{"shop_id":0,"shop_domain":"demo.myshopify.com"}`, unknownID, nil, []string{"shop_id"}},
		{"shop/redact with an empty object", "shop/redact", `{}`, demoSigner, nil, []string{"shop_id", "shop_domain"}},
		{"customers/redact without customer", "customers/redact", `{"shop_id":954889,"shop_domain":"demo.myshopify.com","orders_to_redact":[]}`,
			demoSigner, nil, []string{"customer.id"}},
		{"customers/redact with customer null", "customers/redact", `{"shop_id":954889,"shop_domain":"demo.myshopify.com","customer":null}`,
			demoSigner, nil, []string{"customer.id"}},
		{"customers/data_request with customer id 0", "customers/data_request", `{"shop_id":954889,"shop_domain":"demo.myshopify.com","customer":{"id":0}}`,
			demoSigner, nil, []string{"customer.id"}},
		{"customers/redact with a fractional order id", "customers/redact",
			`{"shop_id":954889,"shop_domain":"demo.myshopify.com","customer":{"id":1},"orders_to_redact":[1.5]}`, demoSigner, nil, []string{"orders_to_redact[0]"}},
		{"app/uninstalled without id", "app/uninstalled", `{"myshopify_domain":"demo.myshopify.com"}`, demoSigner, nil, []string{"id"}},

		// Bodies of a sibling topic.
		{"customers/redact as shop/redact", "shop/redact", sampleCustomerRedact, demoSigner, nil, []string{"customer", "orders_to_redact"}},
		{"data request as shop/redact", "shop/redact", sampleDataRequest, demoSigner, nil, []string{"customer", "orders_requested", "data_request"}},
		{"data request as customers/redact", "customers/redact", sampleDataRequest, demoSigner, nil, []string{"orders_requested", "data_request"}},
		{"customers/redact as data request", "customers/data_request", sampleCustomerRedact, demoSigner, nil, []string{"orders_to_redact"}},
		{"shop/redact as app/uninstalled", "app/uninstalled", sampleShopRedact, demoSigner, nil, []string{"id", "myshopify_domain"}},
		{"app/uninstalled as shop/redact", "shop/redact", sampleAppUninstalled, demoSigner, nil, []string{"shop_id", "shop_domain"}},

		// Not JSON objects at all.
		{"truncated", "shop/redact", sampleShopRedact[:20], demoSigner, nil, []string{"body"}},
		{"an array", "app/uninstalled", `[954889]`, demoSigner, nil, []string{"body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := DecodeWebhook(tt.topic, []byte(tt.body), tt.signer)
			if tt.fields == nil {
				if err != nil || !reflect.DeepEqual(v, tt.want) {
					t.Fatalf("got %+v, %v; want %+v", v, err, tt.want)
				}
				return
			}
			var tm *TopicMismatchError
			if !errors.As(err, &tm) || !errors.Is(err, ErrTopicMismatch) {
				t.Fatalf("err = %v, want a *TopicMismatchError", err)
			}
			var got []string
			for _, f := range tm.Err.Fields {
				got = append(got, f.Field)
			}
			if !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("fields = %v, want %v (%v)", got, tt.fields, err)
			}
			if tm.Topic != tt.topic || tm.Shop != tt.signer.Domain || !strings.HasPrefix(err.Error(), "not a "+tt.topic+" body of "+demoShop+": ") {
				t.Errorf("error = %q", err)
			}
		})
	}
}

func TestDecodeWebhookOtherTopics(t *testing.T) {
	if v, err := DecodeWebhook("shop/update", []byte(sampleAppUninstalled), demoSigner); v != nil || err != nil {
		t.Errorf("a topic Ordermill does not act on decoded to %+v, %v", v, err)
	}
	if v, err := DecodeWebhook("refunds/create", []byte(sampleRefund), demoSigner); err != nil || v.(RefundBody).OrderID != 5000000000000000123 {
		t.Errorf("refund: %+v, %v", v, err)
	}
	if v, err := DecodeWebhook("inventory_levels/update", []byte(sampleInventory), demoSigner); err != nil || v.(InventoryLevel).Available != 6 {
		t.Errorf("inventory level: %+v, %v", v, err)
	}
	for _, topic := range []string{"shop/redact", "customers/redact", "app/uninstalled"} {
		if !TopicNamesShop(topic) {
			t.Errorf("%s names no shop", topic)
		}
	}
	if TopicNamesShop("orders/create") {
		t.Error("orders/create names its shop")
	}
}
