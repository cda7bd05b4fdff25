package cybersourcesim

import (
	"net/http"
	"time"

	"github.com/shopspring/decimal"
)

// handleRefundPayment is POST /pts/v2/payments/{id}/refunds: refund what was captured on a payment
// (a sale, or an authorization with captures).
func (s *Server) handleRefundPayment(w http.ResponseWriter, r *http.Request, body []byte) {
	s.handleRefund(w, r, body, false)
}

// handleRefundCapture is POST /pts/v2/captures/{id}/refunds: refund one capture.
func (s *Server) handleRefundCapture(w http.ResponseWriter, r *http.Request, body []byte) {
	s.handleRefund(w, r, body, true)
}

// handleRefund checks that the refunds of a capture, and of the payment as a whole, add up to no
// more than was captured (else 400 INVALID_AMOUNT) and answers PENDING.
func (s *Server) handleRefund(w http.ResponseWriter, r *http.Request, body []byte, ofCapture bool) {
	var req followOnRequest
	if e := decodeJSON(s.clock.Now(), body, &req); e != nil {
		writeAPIError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	target := s.state.txns[pathID(r, "id")]
	var root, capture *Transaction
	switch {
	case target == nil:
	case target.Kind == KindCapture:
		capture, root = target, s.state.txns[target.RootID]
	case !ofCapture && (target.Kind == KindAuthorization || target.Kind == KindSale):
		root = target
	}
	if root == nil {
		writeAPIError(w, notFound(now, "The requested resource does not exist: "+pathID(r, "id")))
		return
	}
	var missing []string
	amount, currency, e := readAmount(now, "orderInformation.amountDetails", req.OrderInformation.AmountDetails, &missing)
	if len(missing) > 0 {
		writeAPIError(w, missingFields(now, missing...))
		return
	}
	if e == nil {
		e = s.checkRefund(now, root, capture, currency, amount)
	}
	if e != nil {
		writeAPIError(w, e)
		return
	}
	parent := root
	if capture != nil {
		parent = capture
	}
	rf := s.newFollowOn(now, KindRefund, parent, root, req.ClientReferenceInformation, amount)
	rf.Status = StatusPending
	rf.SettlementStatus = SettlementPending
	rf.ApprovalCode = s.newApprovalCode()
	rf.ResponseCode = "00"
	rf.Applications = []Application{okApplication("ics_credit", SettlementPending, rf.ReconciliationID)}
	root.RefundedAmount = root.RefundedAmount.Add(amount)
	if capture != nil {
		capture.RefundedAmount = capture.RefundedAmount.Add(amount)
	}
	s.state.add(rf)
	s.notify(EventRefundAccepted, rf)
	writeHAL(w, http.StatusCreated, refundBody(rf))
}

// checkRefund applies the refund rules to a refund of root, or of one of its captures.
func (s *Server) checkRefund(now time.Time, root, capture *Transaction, currency string, amount decimal.Decimal) *apiError {
	if currency != root.Currency {
		return invalidField(now, "orderInformation.amountDetails.currency", "does not match the payment's currency "+root.Currency)
	}
	if capture != nil && capture.Voided {
		return invalidRequest(now, reasonCaptureAlreadyVoided, messageCaptureAlreadyVoided)
	}
	if capture == nil && !root.CapturedAmount.IsPositive() && s.hasVoidedCapture(root) {
		return invalidRequest(now, reasonCaptureAlreadyVoided, messageCaptureAlreadyVoided)
	}
	refundable := root.CapturedAmount.Sub(root.RefundedAmount)
	if capture != nil {
		refundable = decimal.Min(refundable, capture.Amount.Sub(capture.RefundedAmount))
	}
	if amount.GreaterThan(refundable) {
		return invalidRequest(now, reasonInvalidAmount, messageRefundExceedsCaptured+" Refundable: "+money(refundable, root.Currency),
			fieldDetail{Field: "orderInformation.amountDetails.totalAmount", Reason: reasonInvalidAmount})
	}
	return nil
}

// hasVoidedCapture reports whether root is a voided sale or has a voided capture.
func (s *Server) hasVoidedCapture(root *Transaction) bool {
	if root.Kind == KindSale && root.Voided {
		return true
	}
	for _, id := range root.FollowOns {
		if c := s.state.txns[id]; c != nil && c.Kind == KindCapture && c.Voided {
			return true
		}
	}
	return false
}
