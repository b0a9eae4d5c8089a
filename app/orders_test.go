package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// shopifyAnswer stands in for Shopify behind the write-back port: it
// records what it was sent and answers with refusal, or with the events
// the local command would raise.
type shopifyAnswer struct {
	sent    []domain.Action
	refusal error
}

func (s *shopifyAnswer) Send(_ context.Context, o *domain.Order, cmd app.OrderCommand) ([]domain.Event, error) {
	s.sent = append(s.sent, cmd.Action())
	if s.refusal != nil {
		return nil, s.refusal
	}
	return o.Cancel(cmd.(app.CancelOrder).Reason, time.Now())
}

func placeOrder(t *testing.T, a *app.App, by app.Caller, cmd domain.PlaceOrderCommand) {
	t.Helper()
	cmd.Shop, cmd.Email, cmd.Currency, cmd.PlacedAt = by.Shop, "ada@example.com", "EUR", time.Now()
	cmd.Lines = []domain.PlacedLine{{ID: "1", SKU: "MUG", Title: "Mug", Quantity: 1, UnitPrice: 1200}}
	cmd.Subtotal, cmd.Total = 1200, 1200
	if _, err := a.PlaceOrder(context.Background(), by, cmd); err != nil {
		t.Fatal(err)
	}
}

// Commands on a Shopify order go through the write-back port, and its
// refusal changes nothing; a local order never reaches it.
func TestOrderCommandsOnShopifyOrdersGoThroughTheWriteBack(t *testing.T) {
	store := eventstore.New(testenv.Pool(t))
	ctx := context.Background()
	a := app.New(store)
	shopify := &shopifyAnswer{}
	a.SetWriteBack(shopify)
	by := app.Caller{Shop: shop}

	remote := domain.ShopifyOrderID(shop, 4501)
	placeOrder(t, a, by, domain.PlaceOrderCommand{OrderID: remote, Name: "#4501", Source: domain.SourceShopify, ShopifyID: 4501,
		ShopifyUpdatedAt: time.Now()})
	local := uuid.New()
	placeOrder(t, a, by, domain.PlaceOrderCommand{OrderID: local, Name: "M-1", Source: domain.SourceAPI})

	shopify.refusal = errors.New("Shopify: order cannot be cancelled")
	if _, err := a.CancelOrder(ctx, by, app.Precondition{}, app.CancelOrder{ID: remote, Reason: "x"}); !errors.Is(err, shopify.refusal) {
		t.Fatalf("refused cancel: %v, want Shopify's refusal", err)
	}
	if events, _ := store.ReadStream(ctx, domain.OrderStream(remote), 1); len(events) != 1 {
		t.Fatalf("after Shopify refused, the order has %d events, want 1", len(events))
	}
	shopify.refusal = nil
	res, err := a.CancelOrder(ctx, by, app.Precondition{}, app.CancelOrder{ID: remote, Reason: "customer"})
	if err != nil || res.Aggregate.Status() != domain.StatusCancelled || res.Appended.Version != 2 {
		t.Fatalf("cancel through Shopify: %v, status %s at version %d", err, res.Aggregate.Status(), res.Appended.Version)
	}
	if _, err := a.PayOrder(ctx, by, app.Precondition{}, app.PayOrder{ID: local}); err != nil {
		t.Fatal(err)
	}
	want := []domain.Action{domain.ActionCancel, domain.ActionCancel}
	if len(shopify.sent) != len(want) || shopify.sent[0] != want[0] || shopify.sent[1] != want[1] {
		t.Fatalf("sent to Shopify %v, want %v (the local order's payment stays local)", shopify.sent, want)
	}
}
