package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Event is the payload of one stored event. Payloads are plain structs with
// json tags; EventType is a stable namespaced name such as "order.placed" that
// is stored next to the payload and never changes once released.
type Event interface {
	EventType() string
}

// ErrUnknownEventType is returned by DecodeEvent for a type it does not know.
var ErrUnknownEventType = errors.New("unknown event type")

// registry maps every event type name to its payload's Go type. DecodeEvent
// returns payloads as values, which is what the aggregates' apply switches expect.
var registry = func() map[string]reflect.Type {
	events := []Event{
		OrderPlaced{}, OrderPaid{}, OrderFulfilled{}, OrderCancelled{}, OrderRefunded{}, OrderSnapshotApplied{},
		OrderEdited{}, OrderFulfillmentUpdated{}, OrderDeleted{}, OrderAnnotated{}, OrderDeletionHeld{},
		InventoryReserved{}, InventoryReleased{}, InventoryCommitted{}, InventoryAdjusted{}, InventoryCounted{}, InventoryLevelSynced{}, InventoryBackordered{}, OrderBackordered{},
		InventoryItemMapped{}, InventoryItemLevelHeld{}, LocationNamed{},
		ShopRegistered{}, ShopUninstalled{}, ShopSettingsChanged{}, ShopReinstalled{},
		UserRegistered{}, UserRoleChanged{}, UserDeactivated{},
		APITokenCreated{}, APITokenRevoked{},
		WebhookReceived{}, WebhookProcessed{}, WebhookFailed{}, WebhookDuplicateReceived{}, WebhookComplianceRecorded{},
		CustomerRedacted{}, ShopRedacted{},
		EmailSent{}, EmailFailed{},
		ReportRequested{}, ReportCompleted{}, ReportFailed{},
	}
	m := make(map[string]reflect.Type, len(events))
	for _, e := range events {
		if _, dup := m[e.EventType()]; dup {
			panic("domain: duplicate event type " + e.EventType())
		}
		m[e.EventType()] = reflect.TypeOf(e)
	}
	return m
}()

// EventTypes lists every registered event type name, sorted.
func EventTypes() []string {
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// DecodeEvent turns a stored event type and JSON payload back into its payload
// struct. Unknown fields are ignored so that older code can read newer events.
func DecodeEvent(eventType string, data []byte) (Event, error) {
	return DecodeEventWith(eventType, data, json.Unmarshal)
}

// DecodeEventWith is DecodeEvent with another JSON decoder that fills a
// pointer to the payload as json.Unmarshal would: the event store decodes
// with a faster one (eventstore.DecodeEvent).
func DecodeEventWith(eventType string, data []byte, unmarshal func([]byte, any) error) (Event, error) {
	t, ok := registry[eventType]
	if !ok {
		return nil, fmt.Errorf("decode %q: %w", eventType, ErrUnknownEventType)
	}
	ptr := reflect.New(t)
	if err := unmarshal(data, ptr.Interface()); err != nil {
		return nil, fmt.Errorf("decode %q: %w", eventType, err)
	}
	return ptr.Elem().Interface().(Event), nil
}

// OrderStream is the stream of one order: "order-<uuid>".
func OrderStream(id uuid.UUID) string { return "order-" + id.String() }

// InventoryStream is the stream of one stock item of a shop: "inventory-<shop>:<key>".
// Shop domains contain no colon, so the first colon separates shop and key.
func InventoryStream(shop, key string) string { return "inventory-" + shop + ":" + key }

// ShopStream is the stream of one tenant: "shop-<shop domain>".
func ShopStream(shop string) string { return "shop-" + shop }

// UserStream is the stream of one user: "user-<uuid>".
func UserStream(id uuid.UUID) string { return "user-" + id.String() }

// APITokenStream is the stream of one API token: "apitoken-<uuid>".
func APITokenStream(id uuid.UUID) string { return "apitoken-" + id.String() }

// shopifyOrderNamespace is the fixed UUID v5 namespace for Shopify order ids.
// Changing it would give every Shopify order a new aggregate id: never change it.
var shopifyOrderNamespace = uuid.MustParse("6f1d8a3e-5c2b-4e7a-9b0d-3a8c1e2f4d60")

// ShopifyOrderID derives the order id for a Shopify order deterministically,
// so that every redelivered or later webhook for it lands on the same aggregate.
// The shop domain is lower-cased because Shopify treats domains case-insensitively.
func ShopifyOrderID(shop string, shopifyOrderID int64) uuid.UUID {
	name := strings.ToLower(shop) + "/" + strconv.FormatInt(shopifyOrderID, 10)
	return uuid.NewSHA1(shopifyOrderNamespace, []byte(name))
}
