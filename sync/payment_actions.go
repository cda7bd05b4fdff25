package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/db"
)

// Posting kinds for what a finance decision owes SYSPRO.
const PostingOrderStatus = "order_status" // SORTOS: cancel the order

// More user error codes (see RefundPayment's).
const (
	ErrCodeNotVoidable     = "NOT_VOIDABLE"
	ErrCodeNotCapturable   = "NOT_CAPTURABLE"
	ErrCodeReviewNotOpen   = "REVIEW_NOT_OPEN"
	ErrCodeInvalidDecision = "INVALID_DECISION"
	ErrCodeGatewayRefused  = "GATEWAY_REFUSED"
	ErrCodeOutcomeUnknown  = "OUTCOME_UNKNOWN"
	ErrCodePaymentNotKnown = "PAYMENT_STATE_UNKNOWN"
	ErrCodeAmountTooLarge  = "AMOUNT_TOO_LARGE"
)

// VoidPayment cancels a payment at its gateway before it settles: an authorisation is reversed
// (Cybersource) or aborted (an Opayo deferred payment); a sale or capture not yet batched is
// voided. The canonical payment follows from the gateway's answer, and an order not yet in SYSPRO
// whose only money that was is cancelled. A payment whose state is not known is refused: the
// janitor learns it first.
func (e *Engine) VoidPayment(ctx context.Context, paymentID int64, actor string) (db.Payment, error) {
	pay, err := e.payment(ctx, paymentID)
	if err != nil {
		return pay, err
	}
	switch pay.Status {
	case "unknown", "pending":
		return pay, userErr(ErrCodePaymentNotKnown, "payment %s is %s at the gateway; it can be voided once its state is known", pay.GatewayTransactionID, pay.Status)
	case "authorized", "review", "captured":
	default:
		return pay, userErr(ErrCodeNotVoidable, "payment %s is %s: only an authorisation or an unsettled capture can be voided (refund a settled one)", pay.GatewayTransactionID, pay.Status)
	}
	var t *GatewayTxn
	switch pay.Gateway {
	case GatewayCybersource:
		if e.cfg.Cybersource == nil {
			return pay, userErr(ErrCodeGatewayUnavailable, "cybersource is not configured on this hub")
		}
		if pay.Kind == KindAuthorization {
			t, err = e.reverseCybersource(ctx, pay)
		} else {
			t, err = e.voidCybersource(ctx, pay)
		}
		if err != nil {
			return pay, gatewayErr(err)
		}
	case GatewayOpayo:
		if e.cfg.Opayo == nil {
			return pay, userErr(ErrCodeGatewayUnavailable, "opayo is not configured on this hub")
		}
		var err error
		if pay.Kind == KindAuthorization && pay.Status == "authorized" {
			_, err = e.cfg.Opayo.Abort(ctx, pay.GatewayTransactionID)
		} else {
			_, err = e.cfg.Opayo.Void(ctx, pay.GatewayTransactionID)
		}
		if err != nil {
			return pay, gatewayErr(err)
		}
	}
	return e.afterAction(ctx, pay, t, actor, "payment.voided")
}

// CapturePayment captures an authorisation: all of it when amount is zero. Cybersource makes a
// capture transaction; Opayo releases the deferred payment.
func (e *Engine) CapturePayment(ctx context.Context, paymentID int64, amount decimal.Decimal, actor string) (db.Payment, error) {
	pay, err := e.payment(ctx, paymentID)
	if err != nil {
		return pay, err
	}
	if pay.Kind != KindAuthorization || pay.Status != "authorized" {
		return pay, userErr(ErrCodeNotCapturable, "payment %s is a %s %s: only an authorisation that is authorized can be captured", pay.GatewayTransactionID, pay.Status, pay.Kind)
	}
	if amount.IsZero() {
		amount = pay.Amount
	}
	if amount.IsNegative() || amount.GreaterThan(pay.Amount) {
		return pay, userErr(ErrCodeAmountTooLarge, "capture of %s is more than the %s authorised", amount.StringFixed(2), pay.Amount.StringFixed(2))
	}
	var t *GatewayTxn
	switch pay.Gateway {
	case GatewayCybersource:
		if e.cfg.Cybersource == nil {
			return pay, userErr(ErrCodeGatewayUnavailable, "cybersource is not configured on this hub")
		}
		if t, err = e.captureCybersource(ctx, pay, amount); err != nil {
			return pay, gatewayErr(err)
		}
	case GatewayOpayo:
		if e.cfg.Opayo == nil {
			return pay, userErr(ErrCodeGatewayUnavailable, "opayo is not configured on this hub")
		}
		if _, err := e.cfg.Opayo.Release(ctx, pay.GatewayTransactionID, amount, pay.Currency); err != nil {
			return pay, gatewayErr(err)
		}
	}
	return e.afterAction(ctx, pay, t, actor, "payment.captured")
}

// DecideFraudReview settles a review a person made: ACCEPT releases the payment (Decision
// Manager accept, capturing an authorisation; an Opayo deferred payment is released) and its
// order goes on to SYSPRO; REJECT reverses or voids the payment (Decision Manager reject;
// Opayo abort) and cancels the order, in SYSPRO too when it is there already.
func (e *Engine) DecideFraudReview(ctx context.Context, reviewID int64, decision, comment, actor string) (db.FraudReview, error) {
	decision = strings.ToUpper(decision)
	if decision != "ACCEPT" && decision != "REJECT" {
		return db.FraudReview{}, userErr(ErrCodeInvalidDecision, "decision must be ACCEPT or REJECT, not %q", decision)
	}
	fr, err := e.queries.GetFraudReview(ctx, reviewID)
	if errors.Is(err, pgx.ErrNoRows) {
		return fr, userErr(ErrCodeNotFound, "fraud review %d does not exist", reviewID)
	}
	if err != nil {
		return fr, err
	}
	if fr.Status != "open" {
		return fr, userErr(ErrCodeReviewNotOpen, "fraud review %d is already %s", reviewID, fr.Status)
	}
	pay, err := e.payment(ctx, fr.PaymentID)
	if err != nil {
		return fr, err
	}
	var t *GatewayTxn
	// A review the hub's fraud policy opened on money already taken (a captured sale) has nothing
	// to release at the gateway: accepting it only closes the review.
	policyOnly := decision == "ACCEPT" && pay.Status != "review" && pay.Status != "authorized"
	switch {
	case policyOnly:
	case pay.Gateway == GatewayCybersource:
		if e.cfg.Cybersource == nil {
			return fr, userErr(ErrCodeGatewayUnavailable, "cybersource is not configured on this hub")
		}
		action := cybersource.ReviewAction{Decision: cybersource.DecisionAccept, Comments: comment}
		if decision == "REJECT" {
			action = cybersource.ReviewAction{Decision: cybersource.DecisionReject, Comments: comment, Actions: []string{cybersource.ReviewActionReverse}}
		}
		_, err := e.cfg.Cybersource.TakeReviewAction(ctx, pay.GatewayTransactionID, action)
		if cybersource.IsNotFound(err) {
			// No Decision Manager case: the processor held it (AVS or CVV mismatch). Accepting
			// captures the authorisation, rejecting reverses it.
			if decision == "ACCEPT" {
				t, err = e.captureCybersource(ctx, pay, pay.Amount)
			} else {
				t, err = e.reverseCybersource(ctx, pay)
			}
		}
		if err != nil {
			return fr, gatewayErr(err)
		}
	case pay.Gateway == GatewayOpayo:
		if e.cfg.Opayo == nil {
			return fr, userErr(ErrCodeGatewayUnavailable, "opayo is not configured on this hub")
		}
		var err error
		if decision == "ACCEPT" {
			_, err = e.cfg.Opayo.Release(ctx, pay.GatewayTransactionID, pay.Amount, pay.Currency)
		} else {
			_, err = e.cfg.Opayo.Abort(ctx, pay.GatewayTransactionID)
		}
		if err != nil {
			return fr, gatewayErr(err)
		}
	}
	// The gateway's view of the payment (or the follow-on it made) now decides the canonical
	// one; the reviewer's decision and note are recorded on the review.
	if t == nil {
		fetched, err := e.fetchTxn(ctx, pay.Gateway, pay.GatewayTransactionID)
		if err != nil {
			return fr, err
		}
		t = &fetched
	}
	status := map[string]string{"ACCEPT": "accepted", "REJECT": "rejected"}[decision]
	err = e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		closed, ok, err := closeFraudReview(ctx, q, pay, status, actor, comment)
		if err != nil {
			return err
		}
		if ok {
			fr = closed
		}
		if err := e.applyGatewayTxn(ctx, tx, q, *t); err != nil {
			return err
		}
		if decision == "REJECT" && pay.SalesOrderID != nil {
			return e.cancelOrderTx(ctx, tx, q, *pay.SalesOrderID, "fraud review rejected by "+actor)
		}
		return nil
	})
	return fr, err
}

// cancelOrderTx cancels an order: canonically at once when it is not in SYSPRO yet, else
// through a SORTOS posting (status \) that SYSPRO's answer completes.
func (e *Engine) cancelOrderTx(ctx context.Context, tx pgx.Tx, q *db.Queries, orderID int64, reason string) error {
	order, err := q.GetSalesOrder(ctx, orderID)
	if err != nil {
		return err
	}
	if order.SysproOrderNumber != nil {
		_, err := e.EnqueuePostingTx(ctx, tx, PostingRequest{Kind: PostingOrderStatus, BusinessObject: "SORTOS",
			SubjectType: "sales_order", SubjectID: order.ID, IdempotencyKey: "order_cancel:" + order.CustomerPoNumber})
		return err
	}
	moved, err := moveOrderStatus(ctx, q, order, "cancelled", &reason, map[string]any{"reason": reason})
	if err != nil || !moved {
		return err
	}
	// A posting still waiting for this order is no longer owed.
	return q.CancelPendingPostings(ctx, db.CancelPendingPostingsParams{SubjectType: "sales_order", SubjectID: order.ID})
}

// postOrderCancel cancels a posted order in SYSPRO (SORTOS to \). An order SYSPRO already
// cancelled counts as done; one it has completed is its business error (dead-lettered).
func (e *Engine) postOrderCancel(ctx context.Context, p db.ErpPosting) (postingOutcome, error) {
	order, err := e.queries.GetSalesOrder(ctx, p.SubjectID)
	if err != nil {
		return postingOutcome{}, err
	}
	if order.SysproOrderNumber == nil {
		return postingOutcome{}, permanent(fmt.Errorf("sync: order %s is not in SYSPRO", order.CustomerPoNumber))
	}
	number := *order.SysproOrderNumber
	detail, err := e.cfg.Syspro.QuerySalesOrder(ctx, number)
	if err != nil {
		return postingOutcome{}, err
	}
	if !detail.OrderStatus.Cancelled() {
		if _, err := e.cfg.Syspro.ChangeOrderStatus(ctx, syspro.OrderStatusChange{SalesOrder: number, NewStatus: syspro.OrderStatusCancelled}); err != nil {
			return postingOutcome{}, err
		}
	}
	return postingOutcome{reference: number, response: map[string]string{"salesOrder": number, "status": `\`},
		apply: func(ctx context.Context, _ pgx.Tx, q *db.Queries) error {
			reason := "cancelled in SYSPRO"
			_, err := moveOrderStatus(ctx, q, order, "cancelled", &reason, map[string]any{"sysproOrderNumber": number})
			return err
		}}, nil
}

// afterAction records what a finance action did: the gateway's new transaction when it made one,
// else the payment as the gateway now reports it.
func (e *Engine) afterAction(ctx context.Context, pay db.Payment, t *GatewayTxn, actor, kind string) (db.Payment, error) {
	if t == nil {
		fetched, err := e.fetchTxn(ctx, pay.Gateway, pay.GatewayTransactionID)
		if err != nil {
			return pay, err
		}
		t = &fetched
	}
	var out db.Payment
	err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		if err := e.applyGatewayTxn(ctx, tx, q, *t); err != nil {
			return err
		}
		var err error
		if out, err = q.GetPayment(ctx, pay.ID); err != nil {
			return err
		}
		if kind == "payment.voided" && out.SalesOrderID != nil && out.Status == "voided" {
			if err := e.cancelOrderTx(ctx, tx, q, *out.SalesOrderID, "payment voided by "+actor); err != nil {
				return err
			}
		}
		return appendEvent(ctx, q, TopicPayment, kind, "payment", pay.ID, map[string]any{
			"paymentId": pay.ID, "gateway": pay.Gateway, "gatewayTransactionId": pay.GatewayTransactionID, "by": actor, "status": out.Status,
			"gatewayFollowOnId": t.TransactionID,
		})
	})
	return out, err
}

func (e *Engine) payment(ctx context.Context, id int64) (db.Payment, error) {
	p, err := e.queries.GetPayment(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, userErr(ErrCodeNotFound, "payment %d does not exist", id)
	}
	return p, err
}

// gatewayErr turns a gateway's refusal into a user error and leaves other failures as they are.
func gatewayErr(err error) error {
	if unknownOutcome(err) {
		return userErr(ErrCodeOutcomeUnknown, "the gateway's answer was lost (%v); the payment's state will be read again shortly, check it before retrying", err)
	}
	if cybersource.IsBusiness(err) || opayo.IsBusiness(err) || opayo.IsInvalidRequest(err) {
		return userErr(ErrCodeGatewayRefused, "%v", err)
	}
	return err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (e *Engine) captureCybersource(ctx context.Context, pay db.Payment, amount decimal.Decimal) (*GatewayTxn, error) {
	ref := fmt.Sprintf("CP-%d", pay.ID)
	res, err := e.cfg.Cybersource.Capture(ctx, pay.GatewayTransactionID, cybersource.CaptureRequest{Reference: ref, TransactionID: ref, Amount: amount, Currency: pay.Currency})
	if err != nil {
		return nil, err
	}
	if res.Declined() {
		return nil, userErr(ErrCodeGatewayRefused, "Cybersource refused the capture: %s %s", res.Status, res.Reason())
	}
	return followOn(pay, res.ID, KindCapture, res.Status, amount), nil
}

func (e *Engine) reverseCybersource(ctx context.Context, pay db.Payment) (*GatewayTxn, error) {
	res, err := e.cfg.Cybersource.Reverse(ctx, pay.GatewayTransactionID, cybersource.ReversalRequest{Reference: fmt.Sprintf("VD-%d", pay.ID), Amount: pay.Amount, Currency: pay.Currency})
	if err != nil {
		return nil, err
	}
	if res.Declined() {
		return nil, userErr(ErrCodeGatewayRefused, "Cybersource refused the reversal: %s %s", res.Status, res.Reason())
	}
	return followOn(pay, res.ID, KindVoid, res.Status, pay.Amount), nil
}

func (e *Engine) voidCybersource(ctx context.Context, pay db.Payment) (*GatewayTxn, error) {
	target := cybersource.VoidPayment
	if pay.Kind == KindCapture {
		target = cybersource.VoidCapture
	}
	res, err := e.cfg.Cybersource.Void(ctx, target, pay.GatewayTransactionID, fmt.Sprintf("VD-%d", pay.ID))
	if err != nil {
		return nil, err
	}
	if res.Declined() {
		return nil, userErr(ErrCodeGatewayRefused, "Cybersource refused to void %s: %s %s", pay.GatewayTransactionID, res.Status, res.Reason())
	}
	return followOn(pay, res.ID, KindVoid, res.Status, pay.Amount), nil
}

// followOn is the gateway transaction a capture, void or reversal of pay made.
func followOn(pay db.Payment, id, kind, status string, amount decimal.Decimal) *GatewayTxn {
	return &GatewayTxn{Gateway: pay.Gateway, TransactionID: id, ParentTransactionID: pay.GatewayTransactionID, Kind: kind,
		GatewayStatus: status, Reference: pay.MerchantReference, Amount: amount, Currency: pay.Currency, OccurredAt: time.Now().UTC(),
		CardBrand: deref(pay.CardBrand), CardLastFour: deref(pay.CardLastFour)}
}
