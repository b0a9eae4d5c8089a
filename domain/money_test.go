package domain

import (
	"errors"
	"math"
	"testing"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in, currency string
		want         int64
		wantErr      bool
	}{
		{"19.99", "USD", 1999, false},
		{"19.9", "USD", 1990, false},
		{"19", "USD", 1900, false},
		{"0.00", "EUR", 0, false},
		{"19.990", "USD", 1999, false},
		{"1500", "JPY", 1500, false},
		{"1500.0", "JPY", 1500, false},
		{"1500.00", "KRW", 1500, false},
		{"12.345", "KWD", 12345, false},
		{"12.3", "BHD", 12300, false},
		{"1.2345", "CLF", 12345, false},
		{"92233720368547758.07", "USD", math.MaxInt64, false},
		{"92233720368547758.08", "USD", 0, true},
		{"99999999999999999999", "JPY", 0, true},
		{"1500.5", "JPY", 0, true},
		{"19.999", "USD", 0, true},
		{"12.3456", "KWD", 0, true},
		{"-3.50", "USD", 0, true},
		{"+3.50", "USD", 0, true},
		{"", "USD", 0, true},
		{"abc", "USD", 0, true},
		{"1e3", "USD", 0, true},
		{"1.", "USD", 0, true},
		{".5", "USD", 0, true},
		{"1.2.3", "USD", 0, true},
		{" 1.00", "USD", 0, true},
		{"NaN", "USD", 0, true},
		{"1.00", "usd", 0, true},
		{"1.00", "US", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in+" "+tt.currency, func(t *testing.T) {
			got, err := ParseMoney(tt.in, tt.currency)
			if tt.wantErr {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("ParseMoney = %v, %v; want *ValidationError", got, err)
				}
				return
			}
			if err != nil || got != (Money{Amount: tt.want, Currency: tt.currency}) {
				t.Fatalf("ParseMoney = %v, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestMoneyDecimal(t *testing.T) {
	tests := []struct {
		m    Money
		want string
	}{
		{Money{1999, "USD"}, "19.99"},
		{Money{5, "USD"}, "0.05"},
		{Money{0, "USD"}, "0.00"},
		{Money{-350, "USD"}, "-3.50"},
		{Money{1500, "JPY"}, "1500"},
		{Money{12345, "KWD"}, "12.345"},
		{Money{7, "TND"}, "0.007"},
		{Money{math.MinInt64, "USD"}, "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := tt.m.Decimal(); got != tt.want {
			t.Errorf("%#v.Decimal() = %q, want %q", tt.m, got, tt.want)
		}
		if tt.m.Amount >= 0 {
			if back, err := ParseMoney(tt.want, tt.m.Currency); err != nil || back != tt.m {
				t.Errorf("ParseMoney(%q) = %v, %v; want %v", tt.want, back, err, tt.m)
			}
		}
	}
	if s := (Money{1999, "USD"}).String(); s != "19.99 USD" {
		t.Errorf("String() = %q", s)
	}
}

func TestCurrencyExponent(t *testing.T) {
	for code, want := range map[string]int{"USD": 2, "EUR": 2, "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3} {
		if got := CurrencyExponent(code); got != want {
			t.Errorf("CurrencyExponent(%s) = %d, want %d", code, got, want)
		}
	}
}
