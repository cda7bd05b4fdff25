package cybersource

import "github.com/shopspring/decimal"

// minorUnitsDefault is the number of decimals of most currencies, and of any currency this package
// does not know.
const minorUnitsDefault = 2

// minorUnits lists the ISO 4217 currencies whose minor unit is not two decimals.
var minorUnits = map[string]int32{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// currencyDecimals returns how many decimals an amount in currency may have.
func currencyDecimals(currency string) int32 {
	if n, ok := minorUnits[currency]; ok {
		return n
	}
	return minorUnitsDefault
}

// formatAmount renders an amount as the decimal string Cybersource expects ("102.21"), with
// exactly the currency's decimals. An amount with more decimals is refused, never rounded: a
// silently rounded payment is a reconciliation break.
func formatAmount(op, field string, d decimal.Decimal, currency string) (string, error) {
	places := currencyDecimals(currency)
	if !d.Equal(d.Round(places)) {
		return "", localError(op, ClassInvalidRequest, "%s %s has more than %d decimals for %q", field, d.String(), places, currency)
	}
	return d.StringFixed(places), nil
}
