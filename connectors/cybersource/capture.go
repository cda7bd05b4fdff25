package cybersource

import (
	"context"
	"net/http"

	"github.com/shopspring/decimal"
)

// CaptureRequest captures (part of) an authorization (POST /pts/v2/payments/{id}/captures, §4).
type CaptureRequest struct {
	// Reference is clientReferenceInformation.code; give each capture its own.
	Reference string
	// TransactionID is clientReferenceInformation.transactionId, which TimeoutVoid keys on.
	TransactionID string
	// Amount and Currency are what to capture; the sum of captures may not exceed the
	// authorization (400 EXCEEDS_AUTH_AMOUNT).
	Amount   decimal.Decimal
	Currency string
	// LineItems are optional level-II/III detail.
	LineItems []LineItem
	// MerchantDefinedInformation is merchantDefinedInformation[].
	MerchantDefinedInformation []MerchantDefinedField
}

// CaptureResult is a capture's 201 answer; its status is PENDING until the daily batch
// (TRANSMITTED for online captures). Links name the capture's void and refund.
type CaptureResult struct {
	Outcome
	OrderInformation OrderInformation `json:"orderInformation"`
}

// followOn is the body of captures and refunds.
type followOn struct {
	ClientReferenceInformation *ClientReference       `json:"clientReferenceInformation,omitempty"`
	OrderInformation           *wireOrder             `json:"orderInformation,omitempty"`
	MerchantDefinedInformation []MerchantDefinedField `json:"merchantDefinedInformation,omitempty"`
}

func followOnWire(op, reference, transactionID string, amount decimal.Decimal, currency string, items []LineItem, mdd []MerchantDefinedField) (*followOn, error) {
	order, err := orderWire(op, amount, currency, nil, nil, items)
	if err != nil {
		return nil, err
	}
	return &followOn{ClientReferenceInformation: clientRef(reference, transactionID), OrderInformation: order, MerchantDefinedInformation: mdd}, nil
}

// Capture captures an authorization. Errors: 400 EXCEEDS_AUTH_AMOUNT, AUTH_ALREADY_REVERSED,
// TRANSACTION_ALREADY_SETTLED, MISSING_AUTH (ClassInvalidRequest), 404 for an unknown id, and
// transient failures after which the capture may exist (OutcomeUnknown).
func (c *Client) Capture(ctx context.Context, paymentID string, r CaptureRequest) (*CaptureResult, error) {
	const op = "Capture"
	if err := requireID(op, "paymentID", paymentID); err != nil {
		return nil, err
	}
	body, err := followOnWire(op, r.Reference, r.TransactionID, r.Amount, r.Currency, r.LineItems, r.MerchantDefinedInformation)
	if err != nil {
		return nil, err
	}
	var res CaptureResult
	if _, err := c.do(ctx, request{op: op, method: http.MethodPost, path: pathf("/pts/v2/payments/%s/captures", paymentID), body: body}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
