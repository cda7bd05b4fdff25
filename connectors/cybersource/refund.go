package cybersource

import (
	"context"
	"net/http"

	"github.com/shopspring/decimal"
)

// RefundRequest refunds (part of) a captured payment (§4).
type RefundRequest struct {
	// Reference is clientReferenceInformation.code; give each refund its own.
	Reference string
	// TransactionID is clientReferenceInformation.transactionId, which TimeoutVoid keys on.
	TransactionID string
	// Amount and Currency are what to refund; refunds beyond what was captured are refused (400
	// INVALID_AMOUNT or INVALID_DATA).
	Amount   decimal.Decimal
	Currency string
	// LineItems are optional.
	LineItems []LineItem
	// MerchantDefinedInformation is merchantDefinedInformation[].
	MerchantDefinedInformation []MerchantDefinedField
}

// RefundAmountDetails is refundAmountDetails of a refund answer.
type RefundAmountDetails struct {
	RefundAmount decimal.Decimal `json:"refundAmount"`
	Currency     string          `json:"currency"`
}

// CreditAmountDetails is creditAmountDetails, which some refund answers carry instead (§4).
type CreditAmountDetails struct {
	CreditAmount decimal.Decimal `json:"creditAmount"`
	Currency     string          `json:"currency"`
}

// RefundResult is a refund's 201 answer, status PENDING until the daily batch.
type RefundResult struct {
	Outcome
	RefundAmountDetails RefundAmountDetails `json:"refundAmountDetails"`
	CreditAmountDetails CreditAmountDetails `json:"creditAmountDetails"`
	OrderInformation    OrderInformation    `json:"orderInformation"`
}

// Amount returns the refunded amount and currency from refundAmountDetails, or from
// creditAmountDetails when Cybersource answered in that shape, or from orderInformation.
func (r *RefundResult) Amount() (decimal.Decimal, string) {
	switch {
	case r.RefundAmountDetails.Currency != "" || !r.RefundAmountDetails.RefundAmount.IsZero():
		return r.RefundAmountDetails.RefundAmount, r.RefundAmountDetails.Currency
	case r.CreditAmountDetails.Currency != "" || !r.CreditAmountDetails.CreditAmount.IsZero():
		return r.CreditAmountDetails.CreditAmount, r.CreditAmountDetails.Currency
	}
	return r.OrderInformation.AmountDetails.TotalAmount, r.OrderInformation.AmountDetails.Currency
}

// RefundPayment refunds a payment that was captured (POST /pts/v2/payments/{id}/refunds): use it
// with a sale's id, or an authorization whose capture id is not at hand.
func (c *Client) RefundPayment(ctx context.Context, paymentID string, r RefundRequest) (*RefundResult, error) {
	return c.refund(ctx, "RefundPayment", "/pts/v2/payments/%s/refunds", paymentID, r)
}

// RefundCapture refunds a capture (POST /pts/v2/captures/{id}/refunds).
func (c *Client) RefundCapture(ctx context.Context, captureID string, r RefundRequest) (*RefundResult, error) {
	return c.refund(ctx, "RefundCapture", "/pts/v2/captures/%s/refunds", captureID, r)
}

func (c *Client) refund(ctx context.Context, op, format, id string, r RefundRequest) (*RefundResult, error) {
	if err := requireID(op, "id", id); err != nil {
		return nil, err
	}
	body, err := followOnWire(op, r.Reference, r.TransactionID, r.Amount, r.Currency, r.LineItems, r.MerchantDefinedInformation)
	if err != nil {
		return nil, err
	}
	var res RefundResult
	if _, err := c.do(ctx, request{op: op, method: http.MethodPost, path: pathf(format, id), body: body}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
