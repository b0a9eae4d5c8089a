package domain

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// sampleEvents holds one fully populated payload of every event type.
func sampleEvents() []Event {
	id := uuid.MustParse("22222222-2222-4222-8222-222222222222")
	at := time.Date(2024, 3, 1, 15, 4, 5, 123456789, time.UTC)
	lq := []LineQuantity{{LineID: "9000000000000000001", Quantity: 2}}
	return []Event{
		OrderPlaced{
			OrderID: id, Shop: "demo.myshopify.com", Name: "#1001", ShopifyID: 5000000000000000123, CustomerID: 7, Source: SourceShopify,
			Email: "a@example.com", CustomerName: "A B", Currency: "JPY",
			Lines:    []PlacedLine{{ID: "9000000000000000001", SKU: "", VariantID: 4000000000000000001, Title: "Mug", Quantity: 2, UnitPrice: 1500}},
			Subtotal: 3000, Total: 3500, PlacedAt: at, ShopifyUpdatedAt: at,
		},
		OrderPaid{Amount: 3500, PaidAt: at},
		OrderFulfilled{FulfillmentID: "6000000000000000001", Lines: lq, FulfilledAt: at},
		OrderCancelled{Reason: "fraud", CancelledAt: at},
		OrderRefunded{RefundID: "8000000000000000001", Amount: 1500, Lines: lq, RefundedAt: at},
		OrderSnapshotApplied{ShopifyUpdatedAt: at, CustomerID: 7, Email: "a@example.com", CustomerName: "A B",
			Facts: &OrderFacts{Name: "#1001", Currency: "JPY", Total: 3500, FinancialStatus: FinancialAuthorized, Tags: []string{"vip"},
				Shipments: []Shipment{{ID: "6000000000000000001", Status: ShipmentSuccess, Lines: lq, TrackingNumbers: []string{"1Z"}, CreatedAt: at, UpdatedAt: at}}},
			Overrides: []Override{{Field: "cancelled", Before: "true", After: "false"}}},
		OrderEdited{Lines: []PlacedLine{{ID: "9000000000000000001", Title: "Mug", Quantity: 3, UnitPrice: 1500}}, Subtotal: 4500, Total: 5000, EditedAt: at},
		OrderFulfillmentUpdated{FulfillmentID: "6000000000000000001", Status: "cancelled", TrackingNumbers: []string{"1Z"}, UpdatedAt: at},
		OrderDeleted{DeletedAt: at},
		OrderAnnotated{Note: "Gift wrap", Tags: []string{"vip"}, AnnotatedAt: at},
		InventoryReserved{Shop: "demo.myshopify.com", Key: "MUG", OrderID: id, Quantity: 3, Backordered: 1},
		InventoryReleased{Shop: "demo.myshopify.com", Key: "MUG", OrderID: id, Quantity: 3},
		InventoryCommitted{Shop: "demo.myshopify.com", Key: "MUG", OrderID: id, FulfillmentID: "f1", Quantity: 3, Released: 2},
		InventoryAdjusted{Shop: "demo.myshopify.com", Key: "MUG", Delta: -2, Reason: "damaged"},
		InventoryCounted{Shop: "demo.myshopify.com", Key: "MUG", OnHand: 10, Reason: "stocktake"},
		InventoryLevelSynced{Shop: "demo.myshopify.com", Key: "MUG", LocationID: 65094860801, Available: -1, UpdatedAt: at},
		InventoryBackordered{Shop: "demo.myshopify.com", Key: "MUG", OrderID: id, FulfillmentID: "f1", Quantity: 2, OnHand: 1},
		OrderBackordered{Key: "MUG", FulfillmentID: "f1", Quantity: 2, OnHand: 1},
		InventoryItemMapped{Shop: "demo.myshopify.com", InventoryItemID: 46120394000101, VariantID: 44020394000101, SKU: "MUG", Key: "MUG",
			ProductTitle: "Enamel Mug", VariantTitle: "350 ml"},
		InventoryItemLevelHeld{Shop: "demo.myshopify.com", InventoryItemID: 46120394000101, Level: StockLevel{LocationID: 65094860801, Available: 4, UpdatedAt: at}},
		LocationNamed{Shop: "demo.myshopify.com", LocationID: 65094860801, Name: "Warehouse", UpdatedAt: at},
		OrderDeletionHeld{DeletedAt: at},
		ShopRegistered{Shop: "demo.myshopify.com", Name: "Demo", Currency: "USD", ShopifyID: 954889, RegisteredAt: at},
		ShopUninstalled{UninstalledAt: at},
		ShopSettingsChanged{Settings: ShopSettings{ShopifyOrderConfirmations: true}, ChangedAt: at},
		ShopReinstalled{ReinstalledAt: at},
		UserRegistered{UserID: id, Shop: "demo.myshopify.com", Email: "a@example.com", Name: "A", Role: RoleStaff, RegisteredAt: at},
		UserRoleChanged{Role: RoleOwner, ChangedAt: at},
		UserDeactivated{DeactivatedAt: at},
		APITokenCreated{TokenID: id, Shop: "demo.myshopify.com", Name: "erp", Role: RoleAuditor, TokenHash: "ab", Prefix: "om_ab", ExpiresAt: at, CreatedAt: at},
		APITokenRevoked{RevokedAt: at},
		EmailSent{To: "a@example.com", Subject: "Welcome", Kind: EmailWelcome, SESMessageID: "m-1", SourceEventID: id, SentAt: at},
		EmailFailed{To: "a@example.com", Subject: "Welcome", Kind: EmailWelcome, Reason: "MessageRejected", SourceEventID: id, FailedAt: at},
		ReportRequested{ReportID: id, Shop: "demo.myshopify.com", Kind: ReportSalesSummary, From: "2024-03-01", To: "2024-03-31", RequestedBy: "user-1", RequestedAt: at},
		ReportCompleted{Rows: 31, Bytes: 2048, CompletedAt: at},
		ReportFailed{Reason: "too large", FailedAt: at},
		WebhookReceived{Shop: "demo.myshopify.com", Topic: "orders/create", WebhookID: "w-1", EventID: "e-1", TriggeredAt: "2024-03-01T15:04:05Z",
			APIVersion: "2025-01", Headers: map[string]string{"X-Shopify-Topic": "orders/create"}, Body: []byte("{\"id\":1}\n"), ReceivedAt: at},
		WebhookProcessed{Result: "applied", Detail: "order placed", OrderID: id.String(), Events: 2},
		WebhookFailed{Reason: "body: is not a valid JSON object"},
		WebhookDuplicateReceived{ReceivedAt: time.Date(2024, 3, 1, 10, 0, 5, 0, time.UTC), TriggeredAt: "2024-03-01T10:00:00Z"},
		WebhookComplianceRecorded{Topic: "customers/redact", Shop: "demo.myshopify.com", CustomerID: 7, OrdersAffected: []int64{5000000000000000123}},
		CustomerRedacted{Shop: "demo.myshopify.com", CustomerID: 7, Orders: []uuid.UUID{id}, KeysDestroyed: 1, RedactedAt: at},
		ShopRedacted{Shop: "demo.myshopify.com", KeysDestroyed: 3, RedactedAt: at},
	}
}

func TestDecodeEventRoundTrip(t *testing.T) {
	var seen []string
	for _, e := range sampleEvents() {
		t.Run(e.EventType(), func(t *testing.T) {
			data, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeEvent(e.EventType(), data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, e) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, e)
			}
		})
		seen = append(seen, e.EventType())
	}
	sort.Strings(seen)
	if !reflect.DeepEqual(seen, EventTypes()) {
		t.Fatalf("samples cover %v, registry has %v", seen, EventTypes())
	}
}

func TestDecodeEventErrors(t *testing.T) {
	if _, err := DecodeEvent("order.exploded", []byte(`{}`)); !errors.Is(err, ErrUnknownEventType) {
		t.Errorf("unknown type: err = %v", err)
	}
	if _, err := DecodeEvent("order.paid", []byte(`{"amount":"x"}`)); err == nil || errors.Is(err, ErrUnknownEventType) {
		t.Errorf("bad payload: err = %v", err)
	}
	e, err := DecodeEvent("order.paid", []byte(`{"amount":5,"paid_at":"2024-03-01T00:00:00Z","added_later":true}`))
	if err != nil || e.(OrderPaid).Amount != 5 {
		t.Errorf("unknown fields must be ignored: %v, %v", e, err)
	}
}

func TestEventJSONIsSnakeCase(t *testing.T) {
	data, _ := json.Marshal(OrderFulfilled{FulfillmentID: "f", Lines: []LineQuantity{{"a", 1}}, FulfilledAt: t0})
	want := `{"fulfillment_id":"f","lines":[{"line_id":"a","quantity":1}],"fulfilled_at":"2024-03-01T12:00:00Z"}`
	if string(data) != want {
		t.Fatalf("got %s, want %s", data, want)
	}
	data, _ = json.Marshal(APITokenCreated{})
	if strings.Contains(string(data), "expires_at") {
		t.Fatalf("zero expires_at must be omitted: %s", data)
	}
}

func TestStreamNames(t *testing.T) {
	id := uuid.MustParse("33333333-3333-4333-8333-333333333333")
	for got, want := range map[string]string{
		OrderStream(id): "order-33333333-3333-4333-8333-333333333333",
		InventoryStream("demo.myshopify.com", "MUG-BLUE"): "inventory-demo.myshopify.com:MUG-BLUE",
		ShopStream("demo.myshopify.com"):                  "shop-demo.myshopify.com",
		UserStream(id):                                    "user-33333333-3333-4333-8333-333333333333",
		APITokenStream(id):                                "apitoken-33333333-3333-4333-8333-333333333333",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestShopifyOrderIDIsDeterministic(t *testing.T) {
	a := ShopifyOrderID("demo.myshopify.com", 5000000000000000123)
	if a != ShopifyOrderID("demo.myshopify.com", 5000000000000000123) || a != ShopifyOrderID("DEMO.myshopify.com", 5000000000000000123) {
		t.Fatal("same shop and order must give the same id")
	}
	if a.Version() != 5 {
		t.Fatalf("version = %d, want 5", a.Version())
	}
	for _, other := range []uuid.UUID{
		ShopifyOrderID("demo.myshopify.com", 5000000000000000124),
		ShopifyOrderID("other.myshopify.com", 5000000000000000123),
	} {
		if other == a {
			t.Fatal("different orders share an id")
		}
	}
}
