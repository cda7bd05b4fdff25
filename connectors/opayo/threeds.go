package opayo

import (
	"context"
	"encoding/json"
	"net/http"
)

// Complete3DSChallenge finishes a 3DSv2 challenge (POST /transactions/{id}/3d-secure-challenge
// with {"cRes"}): cRes is the "cres" field the ACS posted to the StrongCustomerAuthentication
// NotificationURL. The answer is the full transaction, Ok or Rejected (4026) like any other
// outcome; a second submission is ClassBusiness (1017). Opayo may briefly answer 404 for a
// GetTransaction right after, so callers re-reading the transaction should retry NotFound.
func (c *Client) Complete3DSChallenge(ctx context.Context, transactionID, cRes string) (*Transaction, error) {
	const op = "Complete3DSChallenge"
	if transactionID == "" || cRes == "" {
		return nil, invalidRequest(op, "transaction id and cRes are required")
	}
	ans, err := c.doPi(ctx, piCall{op: op, method: http.MethodPost,
		path: "/transactions/" + pathSegment(transactionID) + "/3d-secure-challenge",
		body: map[string]string{"cRes": cRes}})
	if err != nil {
		return nil, err
	}
	return transactionAnswer(op, ans, "")
}

// ThreeDSecureResult is the legacy 3DSv1 answer: only the 3DSecure status.
type ThreeDSecureResult struct {
	// Status is Authenticated, NotAuthenticated, Error, AttemptOnly, Incomplete, ...
	Status string
}

// Complete3DSv1 finishes a legacy 3DSv1 authentication (POST /transactions/{id}/3d-secure with
// {"paRes"}), within 20 minutes of the 202. Opayo answers with the 3-D Secure status only:
// read the outcome with GetTransaction.
func (c *Client) Complete3DSv1(ctx context.Context, transactionID, paRes string) (*ThreeDSecureResult, error) {
	const op = "Complete3DSv1"
	if transactionID == "" || paRes == "" {
		return nil, invalidRequest(op, "transaction id and paRes are required")
	}
	ans, err := c.doPi(ctx, piCall{op: op, method: http.MethodPost,
		path: "/transactions/" + pathSegment(transactionID) + "/3d-secure",
		body: map[string]string{"paRes": paRes}})
	if err != nil {
		return nil, err
	}
	var w struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(ans.body, &w); err != nil {
		return nil, decodeError(op, ans.status, err)
	}
	return &ThreeDSecureResult{Status: w.Status}, nil
}
