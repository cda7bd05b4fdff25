package anomaly

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// zeroDecimalCurrencies have no minor unit.
var zeroDecimalCurrencies = map[string]bool{"JPY": true, "KRW": true, "VND": true, "CLP": true, "ISK": true}

// money formats an amount with thousands separators and the currency's decimals:
// "4,950.00 GBP".
func money(d decimal.Decimal, currency string) string {
	return number(d, currency) + " " + currency
}

// number formats an amount as money does, without the currency.
func number(d decimal.Decimal, currency string) string {
	places := int32(2)
	if zeroDecimalCurrencies[strings.ToUpper(currency)] {
		places = 0
	}
	s := d.StringFixed(places)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// amountString is how Details carry an amount: a plain decimal string.
func amountString(d decimal.Decimal, currency string) string {
	if zeroDecimalCurrencies[strings.ToUpper(currency)] {
		return d.StringFixed(0)
	}
	return d.StringFixed(2)
}

// expMoney turns a statistic on log amounts back into an amount, for display only.
func expMoney(logAmount float64) decimal.Decimal {
	return decimal.NewFromFloat(math.Exp(logAmount)).Round(2)
}

// logAmount is the natural log of a positive amount: the one conversion of money to float, for
// the statistics.
func logAmount(d decimal.Decimal) float64 {
	f, _ := d.Float64()
	return math.Log(f)
}

// times formats a ratio: "38" from ten up, "4.2" below.
func times(r float64) string {
	if r >= 10 {
		return number(decimal.NewFromFloat(r).Round(0), "JPY")
	}
	return fmt.Sprintf("%.1f", r)
}

// round2 keeps Details readable.
func round2(f float64) float64 { return math.Round(f*100) / 100 }

// span formats a duration to the second: "6m10s".
func span(d time.Duration) string {
	if d < time.Second {
		return "under a second"
	}
	return d.Round(time.Second).String()
}

// percent formats a ratio as a percentage.
func percent(r float64) string { return fmt.Sprintf("%.1f%%", r*100) }

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// window formats a configured window length for people: "10 min", "24 h".
func window(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return d.String()
}
