package opayo

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// currencyExponents lists the ISO 4217 currencies whose minor unit is not the hundredth. Every
// other well-formed code has two decimals (GBP, EUR, USD, ...). A wrong exponent would charge a
// customer 100 times too much or too little, so the table follows ISO 4217, not habit.
var currencyExponents = map[string]int32{
	// No minor unit.
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	// Thousandths.
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// Ten-thousandths.
	"CLF": 4, "UYW": 4,
}

// CurrencyExponent returns the number of decimals of currency's minor unit (GBP 2, JPY 0,
// KWD 3), or false when currency is not three upper-case letters.
func CurrencyExponent(currency string) (int32, bool) {
	if !isCurrencyCode(currency) {
		return 0, false
	}
	if e, ok := currencyExponents[currency]; ok {
		return e, true
	}
	return 2, true
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// ToMinorUnits converts an amount in major units to the integer minor units Pi puts on the wire
// (10.50 GBP → 1050, 1050 JPY → 1050). It refuses negative amounts, amounts with more decimals
// than the currency has, amounts beyond int64, and unknown currency codes, rather than round.
func ToMinorUnits(amount decimal.Decimal, currency string) (int64, error) {
	exp, ok := CurrencyExponent(currency)
	if !ok {
		return 0, fmt.Errorf("currency %q is not an ISO 4217 code", currency)
	}
	if amount.IsNegative() {
		return 0, fmt.Errorf("amount %s %s is negative", amount.String(), currency)
	}
	minor := amount.Shift(exp)
	if !minor.IsInteger() {
		return 0, fmt.Errorf("amount %s %s has more than %d decimals", amount.String(), currency, exp)
	}
	bi := minor.BigInt()
	if !bi.IsInt64() {
		return 0, fmt.Errorf("amount %s %s is too large", amount.String(), currency)
	}
	return bi.Int64(), nil
}

// FromMinorUnits converts Pi's integer minor units back to major units (1050 GBP → 10.50). An
// unknown currency is read with two decimals, the common case; callers that care check
// CurrencyExponent first.
func FromMinorUnits(minor int64, currency string) decimal.Decimal {
	exp, ok := CurrencyExponent(currency)
	if !ok {
		exp = 2
	}
	return decimal.New(minor, -exp)
}

// formatMajor renders an amount for the form-POST protocols, which take major units with
// exactly the currency's decimals ("10.50", "1050" for JPY).
func formatMajor(amount decimal.Decimal, currency string) (string, error) {
	if _, err := ToMinorUnits(amount, currency); err != nil {
		return "", err
	}
	exp, _ := CurrencyExponent(currency)
	return amount.StringFixed(exp), nil
}

// parseReportingAmount reads a Reporting amount such as "83.40" or "1,083.40"; empty is zero.
func parseReportingAmount(s string) (decimal.Decimal, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, ",", ""))
	if s == "" {
		return decimal.Zero, nil
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, fmt.Errorf("amount %q is not a decimal", truncate(s, 40))
	}
	// Reject absurd exponents ("1e999999999") that would make later arithmetic explode.
	if exp := d.Exponent(); exp > 30 || exp < -30 {
		return decimal.Zero, fmt.Errorf("amount %q is out of range", truncate(s, 40))
	}
	return d, nil
}

// truncate shortens outside text that is quoted into an error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
