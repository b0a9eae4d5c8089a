package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/config"
	"github.com/ordermill/ordermill/internal/platform"
	"github.com/ordermill/ordermill/internal/shops"
)

// The demo shop. Its stock uses the simulator's catalogue, so the orders the
// simulator trickles in reserve stock that exists.
const (
	demoShop          = "demo.myshopify.com"
	demoWebhookSecret = config.DemoShopifyClientSecret // the demo app signs its webhooks with its client secret
	demoPassword      = "ordermill-demo"
)

// demoUsers all sign in with demoPassword.
var demoUsers = []struct {
	email, name string
	role        domain.Role
}{
	{"owner@demo.test", "Olivia Owner", domain.RoleOwner},
	{"staff@demo.test", "Sam Staff", domain.RoleStaff},
	{"auditor@demo.test", "Avery Auditor", domain.RoleAuditor},
}

// A product without a SKU is stocked by variant, as Shopify sends sku null.
var demoStock = []struct {
	sku     string
	variant int64
	onHand  int
	title   string
	option  string // the variant's title; empty for a product without options
	price   int64
}{
	{"BEAN-CHR", 44020394000101, 40, "Merino Beanie", "Charcoal", 2900},
	{"TOTE-NAT", 44020394000102, 60, "Canvas Tote", "Natural", 1800},
	{"MUG-350", 44020394000103, 80, "Enamel Mug", "350 ml", 1450},
	{"", 44020394000104, 500, "Gift Card", "", 2500},
	{"SOCK-3PK", 44020394000105, 45, "Wool Socks", "3 pack", 2199},
	{"NOTE-A5", 44020394000106, 25, "Leather Notebook", "A5", 3400},
	{"", 44020394000107, 200, "Handmade Soap (sample)", "", 650},
	{"PLNT-CER", 44020394000108, 12, "Ceramic Planter", "", 4100},
}

// seedNamespace makes the demo's ids deterministic, which is what makes seed idempotent.
var seedNamespace = uuid.MustParse("0b7f4c5e-4a43-4f51-9f3e-6f7264657273")

func seedCmd(args []string) error {
	fs := newFlagSet("seed", "seed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	ctx := context.Background()
	p, err := platform.Open(ctx, cfg, platform.NewLogger(cfg.LogLevel), true)
	if err != nil {
		return err
	}
	defer p.Close()
	meta := eventstore.Metadata{Actor: "seed", Source: "seed"}

	// No Admin API token: the demo shop gets one by installing the app
	// (make run does, through the simulator's OAuth).
	_, err = p.App().RegisterShop(ctx, shops.Registration{Domain: demoShop, Name: "Demo Shop", Currency: "USD",
		WebhookSecrets: []string{demoWebhookSecret}}, meta)
	if err != nil && !errors.Is(err, shops.ErrShopExists) {
		return fmt.Errorf("demo shop: %w", err)
	}
	for _, u := range demoUsers {
		_, err := app.New(p.Store).RegisterUser(ctx, app.Caller{Shop: demoShop, Meta: meta}, app.NewUser{Email: u.email,
			Name: u.name, Role: u.role, Password: demoPassword, BcryptCost: cfg.BcryptCost})
		if err != nil && !errors.Is(err, app.ErrEmailTaken) {
			return fmt.Errorf("user %s: %w", u.email, err)
		}
	}
	for _, s := range demoStock {
		key := domain.InventoryKey(s.sku, s.variant)
		_, err := app.Update(ctx, p.Store, domain.InventoryStream(demoShop, key), app.LoadInventory(demoShop, key),
			func(inv *domain.Inventory) ([]domain.Event, error) { return inv.Count(s.onHand, "opening stock") },
			app.By(demoShop, meta), app.Expect(eventstore.NoStream))
		if err := seeded(err); err != nil {
			return err
		}
	}
	if err := seedOrders(ctx, p.Store, meta); err != nil {
		return err
	}
	fmt.Printf("demo shop %s ready: sign in to it as owner@demo.test, staff@demo.test or auditor@demo.test with password %q\n",
		demoShop, demoPassword)
	return nil
}

// seedOrders places a few manual orders in different states; the inventory
// worker reserves their stock like any other order's.
func seedOrders(ctx context.Context, store *eventstore.Store, meta eventstore.Metadata) error {
	now := time.Now().UTC()
	for i, spec := range []struct {
		customer, email string
		items           []int // indexes into demoStock
		paid, fulfilled bool
		cancelled       bool
	}{
		{"Ada Lovelace", "ada@example.com", []int{0, 2}, true, true, false},
		{"Grace Hopper", "grace@example.com", []int{1}, true, false, false},
		{"Alan Turing", "alan@example.com", []int{4, 5, 2}, false, false, false},
		{"Katherine Johnson", "katherine@example.com", []int{7}, false, false, true},
		{"Edsger Dijkstra", "edsger@example.com", []int{3}, true, false, false},
	} {
		id := uuid.NewSHA1(seedNamespace, fmt.Appendf(nil, "order-%d", i))
		cmd := domain.PlaceOrderCommand{OrderID: id, Shop: demoShop, Name: fmt.Sprintf("#D%03d", i+1),
			Source: domain.SourceAPI, Email: spec.email, CustomerName: spec.customer, Currency: "USD",
			PlacedAt: now.Add(-time.Duration(len(spec.items)+i) * 37 * time.Minute)}
		for n, idx := range spec.items {
			s := demoStock[idx]
			cmd.Lines = append(cmd.Lines, domain.PlacedLine{ID: fmt.Sprintf("line-%d", n+1), SKU: s.sku,
				VariantID: s.variant, Title: s.title, VariantTitle: s.option, Quantity: 1 + n%2, UnitPrice: s.price})
			cmd.Subtotal += s.price * int64(1+n%2)
		}
		cmd.Total = cmd.Subtotal
		events, err := domain.PlaceOrder(cmd)
		if err != nil {
			return fmt.Errorf("seed order %s: %w", cmd.Name, err)
		}
		order, err := domain.NewOrderFromHistory(events)
		if err != nil {
			return err
		}
		later := func(step func() ([]domain.Event, error)) error {
			more, err := step()
			if err != nil {
				return fmt.Errorf("seed order %s: %w", cmd.Name, err)
			}
			for _, e := range more {
				order.Apply(e)
			}
			events = append(events, more...)
			return nil
		}
		at := cmd.PlacedAt.Add(5 * time.Minute)
		if spec.paid {
			if err := later(func() ([]domain.Event, error) { return order.MarkPaid(cmd.Total, at) }); err != nil {
				return err
			}
		}
		if spec.fulfilled {
			var lines []domain.LineQuantity
			for _, l := range cmd.Lines {
				lines = append(lines, domain.LineQuantity{LineID: l.ID, Quantity: l.Quantity})
			}
			if err := later(func() ([]domain.Event, error) {
				return order.Fulfill("seed-fulfillment-1", lines, at, domain.Tracking{})
			}); err != nil {
				return err
			}
		}
		if spec.cancelled {
			if err := later(func() ([]domain.Event, error) { return order.Cancel("customer", at) }); err != nil {
				return err
			}
		}
		_, err = app.Update(ctx, store, domain.OrderStream(id),
			func([]domain.Event) (*domain.Order, error) { return &domain.Order{}, nil },
			func(*domain.Order) ([]domain.Event, error) { return events, nil },
			app.By(demoShop, meta), app.Expect(eventstore.NoStream))
		if err := seeded(err); err != nil {
			return err
		}
	}
	return nil
}

// seeded is the error of creating a seeded stream: one that exists already
// is no error, so a second seed changes nothing.
func seeded(err error) error {
	if errors.Is(err, eventstore.ErrConcurrency) {
		return nil
	}
	return err
}
