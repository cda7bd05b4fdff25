package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/db"
)

// RefundRequest asks for money back on one captured payment. IdempotencyKey names the request:
// sending it again (also concurrently) returns the first refund and never refunds twice.
type RefundRequest struct {
	PaymentID      int64
	Amount         decimal.Decimal
	Currency       string
	Reason         string
	RequestedBy    string
	IdempotencyKey string
}

// UserError is a refusal the caller can act on, with a stable code for APIs.
type UserError struct {
	Code    string
	Message string
	// Field is the request field it is about, as a path (e.g. ["lines", "0", "quantity"]); nil
	// when it is about the request as a whole or the API knows the field by the code.
	Field []string
}

func (e *UserError) Error() string { return e.Message }

// User error codes of RefundPayment.
const (
	ErrCodeInvalidAmount       = "INVALID_AMOUNT"
	ErrCodeCurrencyMismatch    = "CURRENCY_MISMATCH"
	ErrCodeExceedsRemaining    = "EXCEEDS_REMAINING"
	ErrCodeNotRefundable       = "NOT_REFUNDABLE"
	ErrCodeIdempotencyConflict = "IDEMPOTENCY_CONFLICT"
	ErrCodeNotFound            = "NOT_FOUND"
	ErrCodeGatewayUnavailable  = "GATEWAY_NOT_CONFIGURED"
)

func userErr(code, format string, args ...any) error {
	return &UserError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// refundRecheckArgs looks up, at the gateway, a refund whose outcome was lost.
type refundRecheckArgs struct {
	RefundID int64 `json:"refundId"`
}

func (refundRecheckArgs) Kind() string { return "refund_recheck" }

func (refundRecheckArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 20, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waitingStates}}
}

// refundGiveUpAfter is how long a refund the gateway has no record of stays unknown before it is
// declared failed (never resent: a person decides).
const refundGiveUpAfter = 30 * time.Minute

// RefundPayment refunds part or all of a captured payment at its gateway:
//
//  1. In one transaction, with the payment locked: the request is checked (amount above zero and
//     at most what was captured less every refund not failed, same currency) and recorded as
//     submitted under its idempotency key. A repeat of the key returns that refund as it stands.
//  2. The gateway is called with the refund's own reference (RF-<id>).
//  3. Its answer is recorded: succeeded (with the refund's gateway transaction applied, which moves
//     the payment to partially_refunded or refunded), failed (with the gateway's reason), or
//     unknown when the answer was lost — then a refund_recheck job looks it up by reference until
//     known, and it keeps holding its amount so nothing is ever refunded twice.
func (e *Engine) RefundPayment(ctx context.Context, r RefundRequest) (db.Refund, error) {
	if strings.TrimSpace(r.IdempotencyKey) == "" {
		return db.Refund{}, userErr(ErrCodeInvalidAmount, "an idempotency key is required")
	}
	if !r.Amount.IsPositive() {
		return db.Refund{}, userErr(ErrCodeInvalidAmount, "the refund amount must be above zero, not %s", r.Amount)
	}
	var refund db.Refund
	var pay db.Payment
	fresh := false
	err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		if existing, err := q.GetRefundByIdempotencyKey(ctx, r.IdempotencyKey); err == nil {
			refund = existing
			return sameRefund(existing, r)
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		p, err := q.GetPaymentByIDForUpdate(ctx, r.PaymentID)
		if errors.Is(err, pgx.ErrNoRows) {
			return userErr(ErrCodeNotFound, "payment %d does not exist", r.PaymentID)
		}
		if err != nil {
			return err
		}
		pay = p
		if err := refundable(p, r); err != nil {
			return err
		}
		held, err := q.SumRefundsHeld(ctx, p.ID)
		if err != nil {
			return err
		}
		if remaining := p.Amount.Sub(held); r.Amount.GreaterThan(remaining) {
			return userErr(ErrCodeExceedsRemaining, "refund of %s %s is more than the %s %s left to refund on payment %s (captured %s, already refunded or being refunded %s)",
				r.Amount.StringFixed(2), p.Currency, remaining.StringFixed(2), p.Currency, p.GatewayTransactionID,
				p.Amount.StringFixed(2), held.StringFixed(2))
		}
		created, err := q.CreateRefund(ctx, db.CreateRefundParams{PaymentID: p.ID, Amount: r.Amount, Currency: p.Currency,
			Reason: r.Reason, RequestedBy: r.RequestedBy, IdempotencyKey: r.IdempotencyKey})
		if errors.Is(err, pgx.ErrNoRows) { // a concurrent request with the key committed first
			existing, gerr := q.GetRefundByIdempotencyKey(ctx, r.IdempotencyKey)
			if gerr != nil {
				return gerr
			}
			refund = existing
			return sameRefund(existing, r)
		}
		if err != nil {
			return err
		}
		refund, fresh = created, true
		return appendEvent(ctx, q, TopicPayment, "refund.submitted", "refund", created.ID, refundPayload(created, p))
	})
	if err != nil || !fresh {
		return refund, err
	}
	return e.sendRefund(ctx, refund, pay)
}

// sameRefund checks that a repeated idempotency key repeats the same request.
func sameRefund(existing db.Refund, r RefundRequest) error {
	if existing.PaymentID != r.PaymentID || !existing.Amount.Equal(r.Amount) {
		return userErr(ErrCodeIdempotencyConflict, "idempotency key %q was used for a refund of %s on payment %d; this request differs",
			r.IdempotencyKey, existing.Amount.StringFixed(2), existing.PaymentID)
	}
	return nil
}

// refundable checks the payment and the request against each other.
func refundable(p db.Payment, r RefundRequest) error {
	if r.Currency != "" && !strings.EqualFold(r.Currency, p.Currency) {
		return userErr(ErrCodeCurrencyMismatch, "payment %s is in %s; a refund in %s is not possible", p.GatewayTransactionID, p.Currency, strings.ToUpper(r.Currency))
	}
	capturedKind := p.Kind == KindSale || p.Kind == KindCapture || (p.Kind == KindAuthorization && p.Gateway == GatewayOpayo)
	switch {
	case !capturedKind:
		return userErr(ErrCodeNotRefundable, "payment %s is a %s; only captured payments can be refunded", p.GatewayTransactionID, p.Kind)
	case p.Status != "captured" && p.Status != "settled" && p.Status != "partially_refunded":
		return userErr(ErrCodeNotRefundable, "payment %s is %s; only captured or settled payments can be refunded", p.GatewayTransactionID, p.Status)
	}
	return nil
}

// refundReference is a refund's own reference (RF-<id>), at the gateway and on its SYSPRO credit
// note: what a lookup after a lost answer finds it by.
func refundReference(id int64) string { return fmt.Sprintf("RF-%d", id) }

// sendRefund calls the gateway for a submitted refund and records what it said.
func (e *Engine) sendRefund(ctx context.Context, refund db.Refund, pay db.Payment) (db.Refund, error) {
	ref := refundReference(refund.ID)
	var t GatewayTxn
	var callErr error
	switch {
	case pay.Gateway == GatewayCybersource && e.cfg.Cybersource != nil:
		t, callErr = e.refundCybersource(ctx, ref, refund, pay)
	case pay.Gateway == GatewayOpayo && e.cfg.Opayo != nil:
		t, callErr = e.refundOpayo(ctx, ref, refund, pay)
	default:
		callErr = userErr(ErrCodeGatewayUnavailable, "%s is not configured on this hub", pay.Gateway)
	}
	if callErr != nil {
		if unknownOutcome(callErr) {
			return e.refundUnknown(ctx, refund, pay.Gateway, callErr)
		}
		return e.settleRefundFailed(ctx, refund, pay.Gateway, callErr.Error())
	}
	return e.settleRefundFromGateway(ctx, refund, t)
}

// unknownOutcome says whether a failed call may nevertheless have moved money.
func unknownOutcome(err error) bool {
	var ue *UserError
	switch {
	case errors.As(err, &ue):
		return false
	case cybersource.OutcomeUnknown(err):
		return true
	case errors.Is(err, cybersource.ErrTransient), opayo.IsTransient(err):
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

func (e *Engine) refundCybersource(ctx context.Context, ref string, refund db.Refund, pay db.Payment) (GatewayTxn, error) {
	req := cybersource.RefundRequest{Reference: ref, TransactionID: ref, Amount: refund.Amount, Currency: pay.Currency}
	var res *cybersource.RefundResult
	var err error
	if pay.Kind == KindCapture {
		res, err = e.cfg.Cybersource.RefundCapture(ctx, pay.GatewayTransactionID, req)
	} else {
		res, err = e.cfg.Cybersource.RefundPayment(ctx, pay.GatewayTransactionID, req)
	}
	if err != nil {
		return GatewayTxn{}, err
	}
	if res.Declined() {
		return GatewayTxn{}, fmt.Errorf("Cybersource refused the refund: %s %s", res.Status, res.Reason())
	}
	return refundTxn(pay, res.ID, res.Status, refund.Amount), nil
}

func (e *Engine) refundOpayo(ctx context.Context, ref string, refund db.Refund, pay db.Payment) (GatewayTxn, error) {
	res, err := e.cfg.Opayo.CreateTransaction(ctx, opayo.RefundRequest{ReferenceTransactionID: pay.GatewayTransactionID,
		VendorTxCode: ref, Amount: refund.Amount, Currency: pay.Currency, Description: "Refund " + ref})
	if err != nil {
		return GatewayTxn{}, err
	}
	if !res.Succeeded() {
		return GatewayTxn{}, fmt.Errorf("Opayo refused the refund: %s %s %s", res.Status, res.StatusCode, res.StatusDetail)
	}
	return refundTxn(pay, res.ID, string(res.Status), refund.Amount), nil
}

// refundTxn is the refund's gateway transaction as the gateway's answer describes it.
func refundTxn(pay db.Payment, id, status string, amount decimal.Decimal) GatewayTxn {
	return GatewayTxn{Gateway: pay.Gateway, TransactionID: id, ParentTransactionID: pay.GatewayTransactionID, Kind: KindRefund,
		GatewayStatus: status, Reference: pay.MerchantReference, Amount: amount, Currency: pay.Currency, OccurredAt: time.Now().UTC()}
}

// settleRefundFromGateway records a refund the gateway accepted, with its transaction.
func (e *Engine) settleRefundFromGateway(ctx context.Context, refund db.Refund, t GatewayTxn) (db.Refund, error) {
	var out db.Refund
	err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		if err := e.applyGatewayTxn(ctx, tx, q, t); err != nil {
			return err
		}
		p, err := q.GetPaymentByGatewayTransaction(ctx, db.GetPaymentByGatewayTransactionParams{Gateway: t.Gateway, GatewayTransactionID: t.TransactionID})
		if err != nil {
			return err
		}
		out, err = q.SettleRefund(ctx, db.SettleRefundParams{ID: refund.ID, Status: "succeeded", GatewayRefundID: &t.TransactionID, RefundPaymentID: &p.ID})
		if err != nil {
			return err
		}
		if err := e.enqueueCreditNoteTx(ctx, tx, q, out); err != nil {
			return err
		}
		return appendEvent(ctx, q, TopicPayment, "refund.succeeded", "refund", out.ID, map[string]any{
			"refundId": out.ID, "paymentId": out.PaymentID, "gateway": t.Gateway, "amount": out.Amount, "currency": out.Currency,
			"gatewayRefundId": t.TransactionID, "requestedBy": out.RequestedBy,
		})
	})
	return out, err
}

func (e *Engine) settleRefundFailed(ctx context.Context, refund db.Refund, gateway, reason string) (db.Refund, error) {
	var out db.Refund
	err := e.inTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		var err error
		out, err = q.SettleRefund(ctx, db.SettleRefundParams{ID: refund.ID, Status: "failed", FailureReason: &reason})
		if err != nil {
			return err
		}
		return appendEvent(ctx, q, TopicPayment, "refund.failed", "refund", out.ID, map[string]any{
			"refundId": out.ID, "paymentId": out.PaymentID, "gateway": gateway, "amount": out.Amount, "reason": reason,
		})
	})
	return out, err
}

// refundUnknown records that the gateway's answer was lost and queues the lookup.
func (e *Engine) refundUnknown(ctx context.Context, refund db.Refund, gateway string, cause error) (db.Refund, error) {
	var out db.Refund
	reason := "the gateway's answer was lost: " + cause.Error()
	err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		var err error
		out, err = q.SettleRefund(ctx, db.SettleRefundParams{ID: refund.ID, Status: "unknown", FailureReason: &reason})
		if err != nil {
			return err
		}
		if _, err := e.river.InsertTx(ctx, tx, refundRecheckArgs{RefundID: refund.ID}, nil); err != nil {
			return err
		}
		return appendEvent(ctx, q, TopicPayment, "refund.unknown", "refund", out.ID, map[string]any{
			"refundId": out.ID, "paymentId": out.PaymentID, "gateway": gateway, "amount": out.Amount, "reason": reason,
		})
	})
	return out, err
}

type refundRecheckWorker struct {
	river.WorkerDefaults[refundRecheckArgs]
	engine *Engine
}

func (w *refundRecheckWorker) Timeout(*river.Job[refundRecheckArgs]) time.Duration {
	return w.engine.jobTimeout(time.Minute)
}

// Work looks a refund of unknown outcome up by its reference. Found, it is recorded as the
// gateway has it; not found, the lookup is retried (the gateway may index it late) until
// refundGiveUpAfter, after which the refund is failed: it is never sent again by itself.
func (w *refundRecheckWorker) Work(ctx context.Context, job *river.Job[refundRecheckArgs]) error {
	_, err := w.engine.RecheckRefund(ctx, job.Args.RefundID)
	return err
}

// RecheckRefund asks the gateway about a refund whose outcome is not known and records the
// answer; an error means it is still not known.
func (e *Engine) RecheckRefund(ctx context.Context, refundID int64) (db.Refund, error) {
	refund, err := e.queries.GetRefund(ctx, refundID)
	if err != nil {
		return refund, err
	}
	if refund.Status != "unknown" && refund.Status != "submitted" {
		return refund, nil
	}
	pay, err := e.queries.GetPayment(ctx, refund.PaymentID)
	if err != nil {
		return refund, err
	}
	ref := refundReference(refund.ID)
	t, found, err := e.findRefund(ctx, pay, ref)
	if err != nil {
		return refund, err
	}
	if found {
		return e.settleRefundFromGateway(ctx, refund, t)
	}
	if time.Since(refund.CreatedAt) > refundGiveUpAfter {
		return e.settleRefundFailed(ctx, refund, pay.Gateway, fmt.Sprintf("%s has no refund %s %v after it was sent; not resent", pay.Gateway, ref, refundGiveUpAfter))
	}
	return refund, fmt.Errorf("sync: refund %s not found at %s yet", ref, pay.Gateway)
}

// findRefund looks a refund up at its gateway by its reference.
func (e *Engine) findRefund(ctx context.Context, pay db.Payment, ref string) (GatewayTxn, bool, error) {
	switch {
	case pay.Gateway == GatewayCybersource && e.cfg.Cybersource != nil:
		hits, err := e.cfg.Cybersource.FindByReference(ctx, ref)
		if err != nil {
			return GatewayTxn{}, false, err
		}
		for _, h := range hits {
			t, err := e.fetchCybersource(ctx, h.ID)
			if err != nil {
				return GatewayTxn{}, false, err
			}
			if t.Kind == KindRefund {
				return t, true, nil
			}
		}
		return GatewayTxn{}, false, nil
	case pay.Gateway == GatewayOpayo && e.cfg.Opayo != nil:
		d, err := e.cfg.Opayo.GetTransactionDetail(ctx, opayo.ByVendorTxCode(ref))
		if opayo.IsNotFound(err) {
			return GatewayTxn{}, false, nil
		}
		if err != nil {
			return GatewayTxn{}, false, err
		}
		t, err := e.fetchOpayo(ctx, strings.Trim(d.VPSTxID, "{}"))
		if err != nil {
			return GatewayTxn{}, false, err
		}
		if t.ParentTransactionID == "" {
			t.ParentTransactionID = pay.GatewayTransactionID
		}
		return t, true, nil
	}
	return GatewayTxn{}, false, permanent(fmt.Errorf("sync: %s is not configured here", pay.Gateway))
}

func refundPayload(r db.Refund, p db.Payment) map[string]any {
	return map[string]any{"refundId": r.ID, "paymentId": p.ID, "gateway": p.Gateway, "gatewayTransactionId": p.GatewayTransactionID,
		"amount": r.Amount, "currency": r.Currency, "reason": r.Reason, "requestedBy": r.RequestedBy}
}
