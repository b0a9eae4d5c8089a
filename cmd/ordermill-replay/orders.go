package main

import "github.com/ordermill/ordermill/domain"

// money formats minor units in the currency's own decimals: 1250 EUR is
// "12.50 EUR", 1250 JPY "1250 JPY".
func money(amount int64, currency string) string {
	return domain.Money{Amount: amount, Currency: currency}.Decimal() + " " + currency
}
