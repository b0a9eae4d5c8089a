package domain

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Money is an amount in the minor units of an ISO 4217 currency (cents for
// USD, yen for JPY). Amounts are never held in floating point.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// currencyExponents lists the ISO 4217 currencies whose minor unit is not 1/100.
var currencyExponents = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
	"KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
	"XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// CurrencyExponent returns the number of decimal digits of the currency's minor
// unit: 0 for JPY, 3 for KWD, 2 for most others.
func CurrencyExponent(code string) int {
	if e, ok := currencyExponents[code]; ok {
		return e
	}
	return 2
}

// IsCurrencyCode reports whether code has the shape of an ISO 4217 code:
// three upper-case ASCII letters.
func IsCurrencyCode(code string) bool {
	if len(code) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if code[i] < 'A' || code[i] > 'Z' {
			return false
		}
	}
	return true
}

// ParseMoney converts a non-negative decimal string as Shopify sends it
// ("19.99", "1500", "1500.0" for JPY) into minor units of currency. Fractional
// digits beyond the currency's exponent are accepted only when they are zeros.
func ParseMoney(decimal, currency string) (Money, error) {
	if !IsCurrencyCode(currency) {
		return Money{}, invalid("currency", "must be a three-letter ISO 4217 code, got %q", currency)
	}
	amount, err := parseMinorUnits(decimal, CurrencyExponent(currency))
	if err != nil {
		return Money{}, invalid("amount", "%v", err)
	}
	return Money{Amount: amount, Currency: currency}, nil
}

func parseMinorUnits(s string, exp int) (int64, error) {
	if s == "" {
		return 0, errors.New("is empty")
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if !allDigits(whole) || (hasDot && !allDigits(frac)) {
		return 0, errors.New("must be a non-negative decimal number like 19.99, got " + strconv.Quote(s))
	}
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			return 0, errors.New("has more than " + strconv.Itoa(exp) + " decimal places: " + strconv.Quote(s))
		}
		frac = frac[:exp]
	}
	frac += strings.Repeat("0", exp-len(frac))
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, errors.New("is too large: " + strconv.Quote(s))
	}
	return n, nil
}

// allDigits reports whether s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Decimal formats the amount with the currency's number of decimals, the
// inverse of ParseMoney: Money{1999, "USD"} is "19.99", Money{1500, "JPY"} is "1500".
func (m Money) Decimal() string {
	return formatMinorUnits(m.Amount, CurrencyExponent(m.Currency))
}

// String is the decimal amount followed by the currency code, for logs and errors.
func (m Money) String() string { return m.Decimal() + " " + m.Currency }

func formatMinorUnits(amount int64, exp int) string {
	digits := strconv.FormatInt(amount, 10)
	sign := ""
	if amount < 0 {
		sign, digits = "-", digits[1:] // string form avoids overflow at math.MinInt64
	}
	if exp == 0 {
		return sign + digits
	}
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
}

// mulAdd returns acc + qty*price, reporting false on int64 overflow.
func mulAdd(acc int64, qty int, price int64) (int64, bool) {
	if qty < 0 || price < 0 || acc < 0 {
		return 0, false
	}
	if qty != 0 && price > math.MaxInt64/int64(qty) {
		return 0, false
	}
	line := int64(qty) * price
	if acc > math.MaxInt64-line {
		return 0, false
	}
	return acc + line, true
}
