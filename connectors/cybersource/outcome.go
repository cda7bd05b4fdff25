package cybersource

import "encoding/json"

// Statuses of /pts answers (protocol §3, §4). Every 201 carries one; read it, not the HTTP code.
const (
	StatusAuthorized              = "AUTHORIZED"
	StatusPartialAuthorized       = "PARTIAL_AUTHORIZED"
	StatusAuthorizedPendingReview = "AUTHORIZED_PENDING_REVIEW"
	StatusAuthorizedRiskDeclined  = "AUTHORIZED_RISK_DECLINED"
	StatusPendingAuthentication   = "PENDING_AUTHENTICATION"
	StatusPendingReview           = "PENDING_REVIEW"
	StatusDeclined                = "DECLINED"
	StatusInvalidRequest          = "INVALID_REQUEST"
	StatusPending                 = "PENDING"
	StatusTransmitted             = "TRANSMITTED"
	StatusCompleted               = "COMPLETED"
	StatusVoided                  = "VOIDED"
	StatusCancelled               = "CANCELLED"
	StatusFailed                  = "FAILED"
	StatusReversed                = "REVERSED"
)

// Outcome is what every /pts answer shares: the transaction Cybersource created, its raw status
// and, for declines and reviews, errorInformation's reason. Payment, capture, refund, void and
// reversal results embed it.
type Outcome struct {
	// ID is the 22-digit transaction (request) id.
	ID string `json:"id"`
	// Status is Cybersource's status, kept raw (the Status* constants).
	Status string `json:"status"`
	// SubmitTimeUTC is "YYYY-MM-DDThh:mm:ssZ", kept raw.
	SubmitTimeUTC string `json:"submitTimeUtc"`
	// ReconciliationID links the transaction to settlement reports.
	ReconciliationID string `json:"reconciliationId"`
	// ClientReferenceInformation echoes the merchant reference code.
	ClientReferenceInformation ClientReference `json:"clientReferenceInformation"`
	// ErrorInformation holds the reason of a decline, review or failure.
	ErrorInformation ErrorInformation `json:"errorInformation"`
	// ProcessorInformation carries approval, AVS and CVN codes.
	ProcessorInformation ProcessorInformation `json:"processorInformation"`
	// Links are the follow-on operations Cybersource offers (capture, authReversal, void, refund).
	Links Links `json:"_links"`
	// Raw is the answer as received, for audit storage.
	Raw json.RawMessage `json:"-"`
}

func (o *Outcome) setRaw(b []byte) { o.Raw = append(json.RawMessage(nil), b...) }

// Reason is errorInformation.reason: PROCESSOR_DECLINED, AVS_FAILED, DECISION_PROFILE_REVIEW…
func (o *Outcome) Reason() string { return o.ErrorInformation.Reason }

// Declined reports a transaction Cybersource created but refused: DECLINED, INVALID_REQUEST,
// FAILED, or AUTHORIZED_RISK_DECLINED (where the authorization exists; see NeedsReversal).
func (o *Outcome) Declined() bool {
	switch o.Status {
	case StatusDeclined, StatusAuthorizedRiskDeclined, StatusInvalidRequest, StatusFailed:
		return true
	}
	return false
}

// PendingReview reports a transaction Decision Manager holds for a person: it ends in a
// risk.casemanagement.decision webhook, a conversion-details row, or TakeReviewAction.
func (o *Outcome) PendingReview() bool {
	return o.Status == StatusAuthorizedPendingReview || o.Status == StatusPendingReview
}

// NeedsReversal reports an authorization that Decision Manager rejected after the issuer approved
// it: the hold on the card stays until the merchant reverses it.
func (o *Outcome) NeedsReversal() bool { return o.Status == StatusAuthorizedRiskDeclined }

// Err returns nil unless the outcome is Declined, and then an *Error of ClassDeclined (or
// ClassInvalidRequest for a 201 INVALID_REQUEST) that keeps the status, reason, message and id.
// Calls return declines as results, not errors, because a decline is a business outcome with a
// transaction id that must be recorded; Err is for callers who prefer to branch on errors.
func (o *Outcome) Err() error {
	if !o.Declined() {
		return nil
	}
	class := ClassDeclined
	if o.Status == StatusInvalidRequest {
		class = ClassInvalidRequest
	}
	return &Error{
		Class: class, HTTPStatus: 201, Status: o.Status, Reason: o.ErrorInformation.Reason,
		Message: o.ErrorInformation.Message, Details: o.ErrorInformation.Details, ID: o.ID,
		SubmitTimeUTC: o.SubmitTimeUTC,
	}
}
