package workers

import (
	"strings"
	"testing"

	"github.com/ordermill/ordermill/bus"
)

func TestExplainDeadLetter(t *testing.T) {
	for _, c := range []struct {
		name             string
		dl               bus.DeadLetter
		what, why, order string
		inventoryKey     string
	}{
		{"stock on an order", bus.DeadLetter{Handler: InventoryHandlerName, EventType: "order.fulfilled", Attempts: 3,
			StreamID: "order-9beaef78-7505-585e-a98d-3b698d3aa962", Error: "insufficient stock on hand: MUG has 0"},
			"Moving stock", "not enough stock", "9beaef78-7505-585e-a98d-3b698d3aa962", ""},
		{"email throttled", bus.DeadLetter{Handler: EmailHandlerName, EventType: "order.placed", Attempts: 3,
			StreamID: "order-not-a-uuid", Error: "ses: 429 Too Many Requests"}, "email", "slow down", "", ""},
		{"an inventory stream", bus.DeadLetter{Handler: "restock", EventType: "inventory.adjusted", Attempts: 1,
			StreamID: "inventory-demo.myshopify.com:MUG-1", Error: "boom"}, "restock", "boom", "", "MUG-1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := ExplainDeadLetter(c.dl)
			if !strings.Contains(x.What, c.what) || !strings.Contains(x.Why, c.why) || x.Effect == "" {
				t.Errorf("%+v", x)
			}
			got := ""
			if x.OrderID != nil {
				got = x.OrderID.String()
			}
			if got != c.order {
				t.Errorf("order %q, want %q", got, c.order)
			}
			if x.InventoryKey != c.inventoryKey {
				t.Errorf("inventory key %q, want %q", x.InventoryKey, c.inventoryKey)
			}
		})
	}
}
