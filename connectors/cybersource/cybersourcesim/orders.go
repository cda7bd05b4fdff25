package cybersourcesim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// LineItem is one orderInformation.lineItems entry of a payment or credit, as kept and as
// Transaction Details shows it.
type LineItem struct {
	ProductCode string `json:"productCode,omitempty"`
	ProductName string `json:"productName,omitempty"`
	ProductSKU  string `json:"productSku,omitempty"`
	// Quantity is 1 when the request left it out, as Cybersource defaults it.
	Quantity  int             `json:"quantity"`
	UnitPrice decimal.Decimal `json:"unitPrice"`
	// TaxAmount is zero when the request left it out.
	TaxAmount decimal.Decimal `json:"taxAmount"`
	// TotalAmount is shown only when the request sent it.
	TotalAmount decimal.NullDecimal `json:"totalAmount"`
}

// maxLineItems bounds orderInformation.lineItems, as Cybersource does (offer0 … offer99).
const maxLineItems = 100

// readOrderData validates and copies a request's shipTo and lineItems. unitPrice is required on
// every line; quantity defaults to 1 and must be a whole number from 1; amounts must be plain
// decimals that are not negative and are truncated to the currency's decimals, as Cybersource
// does. A missing unitPrice is MISSING_FIELD, anything else wrong INVALID_DATA.
func readOrderData(now time.Time, o orderInformationIn, currency string) (*Address, []LineItem, *apiError) {
	var shipTo *Address
	if o.ShipTo != nil && *o.ShipTo != (Address{}) {
		a := *o.ShipTo
		shipTo = &a
	}
	if len(o.LineItems) > maxLineItems {
		return nil, nil, invalidField(now, "orderInformation.lineItems", fmt.Sprintf("has more than %d items", maxLineItems))
	}
	var missing []string
	items := make([]LineItem, 0, len(o.LineItems))
	for i, in := range o.LineItems {
		field := func(name string) string { return fmt.Sprintf("orderInformation.lineItems[%d].%s", i, name) }
		li := LineItem{ProductCode: strings.TrimSpace(in.ProductCode), ProductName: strings.TrimSpace(in.ProductName),
			ProductSKU: strings.TrimSpace(in.ProductSKU), Quantity: 1}
		if in.Quantity.present() {
			q, err := strconv.Atoi(strings.TrimSpace(in.Quantity.raw))
			if err != nil || q < 1 || q > 999999999 {
				return nil, nil, invalidField(now, field("quantity"), "must be a whole number from 1")
			}
			li.Quantity = q
		}
		if !in.UnitPrice.present() {
			missing = append(missing, field("unitPrice"))
		} else {
			d, e := lineAmount(now, field("unitPrice"), in.UnitPrice.raw, currency)
			if e != nil {
				return nil, nil, e
			}
			li.UnitPrice = d
		}
		if in.TaxAmount.present() {
			d, e := lineAmount(now, field("taxAmount"), in.TaxAmount.raw, currency)
			if e != nil {
				return nil, nil, e
			}
			li.TaxAmount = d
		}
		if in.TotalAmount.present() {
			d, e := lineAmount(now, field("totalAmount"), in.TotalAmount.raw, currency)
			if e != nil {
				return nil, nil, e
			}
			li.TotalAmount = decimal.NewNullDecimal(d)
		}
		items = append(items, li)
	}
	if len(missing) > 0 {
		return nil, nil, missingFields(now, missing...)
	}
	if len(items) == 0 {
		items = nil
	}
	return shipTo, items, nil
}

// lineAmount reads a line item amount: a plain decimal, not negative, truncated to the currency's
// decimals.
func lineAmount(now time.Time, field, raw, currency string) (decimal.Decimal, *apiError) {
	d, e := parseDecimal(now, field, raw)
	if e != nil {
		return decimal.Zero, e
	}
	if d.IsNegative() {
		return decimal.Zero, invalidField(now, field, "must not be negative")
	}
	if d.GreaterThan(maxAmount) {
		return decimal.Zero, invalidField(now, field, "exceeds the maximum amount")
	}
	return d.Truncate(int32(currencyExponent(currency))), nil
}

// lineItemsView is orderInformation.lineItems of Transaction Details.
func lineItemsView(items []LineItem, currency string) []obj {
	out := make([]obj, 0, len(items))
	for _, li := range items {
		o := obj{"quantity": li.Quantity, "unitPrice": money(li.UnitPrice, currency), "taxAmount": money(li.TaxAmount, currency)}
		if li.ProductCode != "" {
			o["productCode"] = li.ProductCode
		}
		if li.ProductName != "" {
			o["productName"] = li.ProductName
		}
		if li.ProductSKU != "" {
			o["productSku"] = li.ProductSKU
		}
		if li.TotalAmount.Valid {
			o["totalAmount"] = money(li.TotalAmount.Decimal, currency)
		}
		out = append(out, o)
	}
	return out
}

// riskRules are the Decision Manager rules that fired for a decision, as riskInformation.rules
// shows them: the sandbox profile's e-mail lists.
func riskRules(r *RiskResult) []obj {
	switch r.OriginalDecision {
	case DecisionReview:
		return []obj{{"name": RuleReviewEmail, "decision": DecisionReview}}
	case DecisionReject:
		return []obj{{"name": RuleRejectEmail, "decision": DecisionReject}}
	}
	return nil
}

// Names of the sandbox Decision Manager rules (riskInformation.rules[].name).
const (
	RuleReviewEmail = "Review: billing e-mail on the review list"
	RuleRejectEmail = "Reject: billing e-mail on the negative list"
)
