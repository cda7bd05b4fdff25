package cybersource

import (
	"context"
	"net/http"

	"github.com/shopspring/decimal"
)

// VoidTarget is the kind of transaction a void cancels: the path segment of
// POST /pts/v2/{payments,captures,refunds,credits}/{id}/voids.
type VoidTarget string

// Void targets.
const (
	VoidPayment VoidTarget = "payments"
	VoidCapture VoidTarget = "captures"
	VoidRefund  VoidTarget = "refunds"
	VoidCredit  VoidTarget = "credits"
)

// VoidAmountDetails is voidAmountDetails of a void answer.
type VoidAmountDetails struct {
	VoidAmount                decimal.Decimal `json:"voidAmount"`
	OriginalTransactionAmount decimal.Decimal `json:"originalTransactionAmount"`
	Currency                  string          `json:"currency"`
}

// VoidResult is a void's 201 answer: VOIDED, CANCELLED or FAILED.
type VoidResult struct {
	Outcome
	VoidAmountDetails VoidAmountDetails `json:"voidAmountDetails"`
}

type voidBody struct {
	ClientReferenceInformation *ClientReference `json:"clientReferenceInformation,omitempty"`
}

// Void cancels a capture, refund, credit or sale before it is batched. After batching Cybersource
// answers 400 NOT_VOIDABLE (ClassInvalidRequest): refund instead. To cancel an authorization, use
// Reverse.
func (c *Client) Void(ctx context.Context, target VoidTarget, id, reference string) (*VoidResult, error) {
	const op = "Void"
	switch target {
	case VoidPayment, VoidCapture, VoidRefund, VoidCredit:
	default:
		return nil, localError(op, ClassInvalidRequest, "void target %q is not payments, captures, refunds or credits", string(target))
	}
	if err := requireID(op, "id", id); err != nil {
		return nil, err
	}
	var res VoidResult
	r := request{op: op, method: http.MethodPost, path: pathf("/pts/v2/"+string(target)+"/%s/voids", id),
		body: voidBody{ClientReferenceInformation: clientRef(reference, "")}}
	if _, err := c.do(ctx, r, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// TimeoutVoid voids whatever transaction carries clientReferenceInformation.transactionId
// (POST /pts/v2/voids): the way out when a capture, refund or sale timed out and its id is unknown.
func (c *Client) TimeoutVoid(ctx context.Context, reference, transactionID string) (*VoidResult, error) {
	const op = "TimeoutVoid"
	if err := requireID(op, "transactionID", transactionID); err != nil {
		return nil, err
	}
	var res VoidResult
	r := request{op: op, method: http.MethodPost, path: "/pts/v2/voids",
		body: voidBody{ClientReferenceInformation: clientRef(reference, transactionID)}}
	if _, err := c.do(ctx, r, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
