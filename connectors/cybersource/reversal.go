package cybersource

import (
	"context"
	"net/http"

	"github.com/shopspring/decimal"
)

// ReversalRequest releases an authorization's hold (§4).
type ReversalRequest struct {
	// Reference is clientReferenceInformation.code.
	Reference string
	// Amount and Currency are reversalInformation.amountDetails: normally the full authorized
	// amount.
	Amount   decimal.Decimal
	Currency string
	// Reason is reversalInformation.reason, free text.
	Reason string
}

// ReversalAmountDetails is reversalAmountDetails of a reversal answer.
type ReversalAmountDetails struct {
	ReversedAmount            decimal.Decimal `json:"reversedAmount"`
	OriginalTransactionAmount decimal.Decimal `json:"originalTransactionAmount"`
	Currency                  string          `json:"currency"`
}

// ReversalResult is a reversal's 201 answer, status REVERSED when it worked.
type ReversalResult struct {
	Outcome
	ReversalAmountDetails ReversalAmountDetails `json:"reversalAmountDetails"`
}

type reversalBody struct {
	ClientReferenceInformation *ClientReference `json:"clientReferenceInformation,omitempty"`
	ReversalInformation        struct {
		AmountDetails wireAmount `json:"amountDetails"`
		Reason        string     `json:"reason,omitempty"`
	} `json:"reversalInformation"`
}

func (r ReversalRequest) wire(op, transactionID string) (*reversalBody, error) {
	a, err := formatAmount(op, "reversalInformation.amountDetails.totalAmount", r.Amount, r.Currency)
	if err != nil {
		return nil, err
	}
	b := &reversalBody{ClientReferenceInformation: clientRef(r.Reference, transactionID)}
	b.ReversalInformation.AmountDetails = wireAmount{TotalAmount: a, Currency: r.Currency}
	b.ReversalInformation.Reason = r.Reason
	return b, nil
}

// Reverse reverses an authorization (POST /pts/v2/payments/{id}/reversals). Errors include 400
// AUTH_ALREADY_REVERSED and TRANSACTION_ALREADY_SETTLED; a captured authorization is refunded,
// not reversed. Use it on AUTHORIZED_RISK_DECLINED results (Outcome.NeedsReversal).
func (c *Client) Reverse(ctx context.Context, paymentID string, r ReversalRequest) (*ReversalResult, error) {
	const op = "Reverse"
	if err := requireID(op, "paymentID", paymentID); err != nil {
		return nil, err
	}
	body, err := r.wire(op, "")
	if err != nil {
		return nil, err
	}
	var res ReversalResult
	if _, err := c.do(ctx, request{op: op, method: http.MethodPost, path: pathf("/pts/v2/payments/%s/reversals", paymentID), body: body}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// TimeoutReversal reverses the authorization that carries clientReferenceInformation.transactionId
// (POST /pts/v2/reversals): the way out when an authorization timed out and its id is unknown.
func (c *Client) TimeoutReversal(ctx context.Context, transactionID string, r ReversalRequest) (*ReversalResult, error) {
	const op = "TimeoutReversal"
	if err := requireID(op, "transactionID", transactionID); err != nil {
		return nil, err
	}
	body, err := r.wire(op, transactionID)
	if err != nil {
		return nil, err
	}
	var res ReversalResult
	if _, err := c.do(ctx, request{op: op, method: http.MethodPost, path: "/pts/v2/reversals", body: body}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
