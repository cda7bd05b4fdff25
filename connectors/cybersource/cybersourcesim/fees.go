package cybersourcesim

import "github.com/shopspring/decimal"

// FeeRule is the processing fee charged on each settled purchase (capture or sale): Percent of the
// amount plus Fixed, rounded to the currency's minor unit. Refunds and credits carry no fee. Net
// funding reports show the fees as FEES.
type FeeRule struct {
	Percent decimal.Decimal `json:"percent"`
	Fixed   decimal.Decimal `json:"fixed"`
}

// The default fee rule: 1.5% + 0.20 per purchase.
const (
	DefaultFeePercent = "1.5"
	DefaultFeeFixed   = "0.20"
)

// DefaultFeeRule returns 1.5% + 0.20 per purchase.
func DefaultFeeRule() FeeRule {
	return FeeRule{Percent: decimal.RequireFromString(DefaultFeePercent), Fixed: decimal.RequireFromString(DefaultFeeFixed)}
}

// For returns the fee on a purchase of amount in currency.
func (f FeeRule) For(amount decimal.Decimal, currency string) decimal.Decimal {
	exp := int32(currencyExponent(currency))
	return amount.Mul(f.Percent).Div(decimal.NewFromInt(100)).Add(f.Fixed).Round(exp)
}
