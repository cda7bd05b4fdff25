package opayosim

import (
	"regexp"
	"strings"

	"github.com/shopspring/decimal"
)

// currencyExponents lists the currencies the simulated merchant account accepts and their number of
// minor-unit digits (ISO 4217). Pi amounts are integers in these minor units.
var currencyExponents = map[string]int32{
	"GBP": 2, "EUR": 2, "USD": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2,
	"HUF": 2, "AUD": 2, "CAD": 2, "NZD": 2, "HKD": 2, "SGD": 2, "ZAR": 2, "JPY": 0,
}

func knownCurrency(c string) bool {
	_, ok := currencyExponents[c]
	return ok
}

func exponent(currency string) int32 {
	if e, ok := currencyExponents[currency]; ok {
		return e
	}
	return 2
}

// majorAmount converts integer minor units to a decimal in major units (8340 GBP → 83.40).
func majorAmount(minor int64, currency string) decimal.Decimal {
	return decimal.New(minor, -exponent(currency))
}

// formatMajor writes minor units as Reporting and the form protocols do: "83.40", "1000" for JPY.
func formatMajor(minor int64, currency string) string {
	return majorAmount(minor, currency).StringFixed(exponent(currency))
}

var formAmountPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// Form-protocol amount limits: 0.01 to 100,000 in major units (legacy error 3005).
var (
	minFormAmount = decimal.RequireFromString("0.01")
	maxFormAmount = decimal.RequireFromString("100000")
)

// parseFormAmount parses a form-protocol Amount ("123.45") into minor units. On failure it returns
// the legacy status code that real Opayo gives.
func parseFormAmount(s, currency string) (int64, string) {
	if !formAmountPattern.MatchString(s) {
		return 0, "3032"
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return 0, "3032"
	}
	exp := exponent(currency)
	if exp == 0 && strings.Contains(s, ".") {
		return 0, "3056"
	}
	if -d.Exponent() > exp {
		return 0, "3006"
	}
	if d.LessThan(minFormAmount) || d.GreaterThan(maxFormAmount) {
		return 0, "3005"
	}
	return d.Shift(exp).IntPart(), ""
}
