package syspro

import (
	"encoding/xml"
	"time"

	"github.com/shopspring/decimal"
)

// moneyDecimals is SYSPRO's price and value rule: a Price with more decimals is rejected live as
// "not numeric" (syspro.md §3.1), so amounts are checked, never silently rounded.
const moneyDecimals = 2

// dateLayout is the only input date format SYSPRO accepts (error 100028 otherwise).
const dateLayout = "2006-01-02"

// formatMoney renders an amount with exactly two decimals, or rejects it.
func formatMoney(bo, field string, d decimal.Decimal) (string, error) {
	if !d.Equal(d.Round(moneyDecimals)) {
		return "", invalidRequest(bo, "%s %s has more than %d decimals", field, d.String(), moneyDecimals)
	}
	return d.StringFixed(moneyDecimals), nil
}

// formatQty renders a quantity without trailing zeros; SYSPRO takes up to the stock code's decimals.
func formatQty(d decimal.Decimal) string { return d.String() }

// formatDate renders a date as CCYY-MM-DD; the zero time leaves the element empty so SYSPRO
// applies its default (usually the company date).
func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(dateLayout)
}

// yn renders SYSPRO's Y/N flags.
func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

// marshalXML renders a request document compactly: the XML travels in a GET query string, where
// every byte counts against URL limits.
func marshalXML(v any) (string, error) {
	b, err := xml.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
