package domain

import (
	"encoding/json"
	"os"
	"testing"
)

// TestMoneyAsTheWebAppShowsIt checks the web app's money fixtures against the
// server: the app's tests format these amounts and must read what the server writes.
func TestMoneyAsTheWebAppShowsIt(t *testing.T) {
	raw, err := os.ReadFile("../web/src/format/money-server.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Currency string `json:"currency"`
		Exponent int    `json:"exponent"`
		Minor    int64  `json:"minor"`
		Decimal  string `json:"decimal"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 4 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		if got := CurrencyExponent(c.Currency); got != c.Exponent {
			t.Errorf("%s: exponent %d, the app's fixture says %d", c.Currency, got, c.Exponent)
		}
		if got := (Money{Amount: c.Minor, Currency: c.Currency}).Decimal(); got != c.Decimal {
			t.Errorf("%s %d: the server writes %q, the app's fixture says %q", c.Currency, c.Minor, got, c.Decimal)
		}
		if m, err := ParseMoney(c.Decimal, c.Currency); err != nil || m.Amount != c.Minor {
			t.Errorf("%s %q parses to %v, %v", c.Currency, c.Decimal, m, err)
		}
	}
}
