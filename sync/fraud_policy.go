package sync

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/payhub/payhub/db"
)

// What the fraud policy makes of a payment (FraudPolicy.Decide), and the actions its rules take.
const (
	FraudAccept = "accept"
	FraudReview = "review"
	FraudReject = "reject"
)

// Hold modes (FraudPolicy.Hold).
const (
	// FraudHoldOrder keeps an order under review out of SYSPRO until the review is decided.
	FraudHoldOrder = "hold"
	// FraudHoldSuspense posts an order under review to SYSPRO and withholds its AR receipts until
	// the review is accepted (see FraudPolicy.Hold for what it covers).
	FraudHoldSuspense = "suspense"
)

// FraudPolicyActor is who the policy's decisions are recorded as: fraud_reviews.decided_by, the
// actor of the void, refund or review action it takes.
const FraudPolicyActor = "policy"

// Defaults of FraudPolicy: what an empty field means.
const (
	FraudAVSMismatchDefault   = FraudAccept
	FraudCVCMismatchDefault   = FraudReview
	FraudThreeDSFailedDefault = FraudReject
	FraudGatewayRejectDefault = FraudReject
	FraudHoldDefault          = FraudHoldOrder
)

// FraudPolicy says what the gateways' risk signals mean for a payment: Cybersource Decision
// Manager's decision and score, Opayo's ReD/T3M screening (its action and score), AVS, CV2 and
// 3-D Secure results. The zero value is the defaults: scores ignored, a CV2 mismatch reviewed,
// an AVS mismatch accepted, a failed 3-D Secure authentication and a gateway REJECT rejected,
// orders under review held out of SYSPRO.
//
// An action is "accept", "review" or "reject"; empty is the field's default, and anything else
// counts as "review" (Validate reports it).
type FraudPolicy struct {
	// ReviewScore, when above zero, sends a payment whose risk score (Decision Manager's, or
	// ReD/T3M's) is at or above it to review, however the gateway decided.
	ReviewScore int `json:"reviewScore,omitempty" yaml:"reviewScore,omitempty"`
	// RejectScore, when above zero, rejects a payment whose risk score is at or above it.
	RejectScore int `json:"rejectScore,omitempty" yaml:"rejectScore,omitempty"`
	// AVSMismatch is the action when the address or the postcode did not match (Opayo
	// NotMatched in either part; Cybersource AVS codes N, C, K, A, O, W, Z, L). Default accept.
	AVSMismatch string `json:"avsMismatch,omitempty" yaml:"avsMismatch,omitempty"`
	// CVCMismatch is the action when the card security code did not match (Opayo NotMatched,
	// Cybersource CVN result N). Default review.
	CVCMismatch string `json:"cvcMismatch,omitempty" yaml:"cvcMismatch,omitempty"`
	// ThreeDSFailed is the action when 3-D Secure authentication failed or was rejected (Opayo
	// NotAuthenticated, NOTAUTHED; the EMV statuses N and R, Rejected, Failed). Error,
	// Incomplete, AttemptOnly, not enrolled and not checked are not failures. Cybersource's
	// Transaction Details carry no authentication result, so this applies to Opayo. Default reject.
	ThreeDSFailed string `json:"threeDsFailed,omitempty" yaml:"threeDsFailed,omitempty"`
	// GatewayReject is what a gateway REJECT means (Decision Manager REJECT, ReD/T3M REJECT) for
	// a payment that still holds money. Default reject. A payment the gateway declined is only
	// recorded (a review closed as rejected by the gateway), whatever this says.
	GatewayReject string `json:"gatewayReject,omitempty" yaml:"gatewayReject,omitempty"`
	// Hold is what happens to the order of a payment under review: "hold" (the default) keeps it
	// out of SYSPRO (on_hold) until the review is decided. "suspense" posts it to SYSPRO and
	// withholds its AR receipts until the review is accepted: SORTOI offers no way to post an
	// order in suspense (the connector always posts it open), and putting it into SYSPRO status S
	// afterwards would need a SORTOS posting kind the outbox does not have, so the order is not
	// blocked in SYSPRO itself — unpaid, it must not be fulfilled. The review's rejection cancels
	// it in SYSPRO (SORTOS). Two cases are held as in "hold" mode even so: a pending rejection,
	// and an order with captured money while its review is open, because the SYSPRO order
	// posting queues the receipts of captured payments itself. So in practice suspense applies
	// to authorisations (Cybersource authorizations, Opayo Deferred payments), whose receipt
	// waits for the capture that accepting the review makes.
	Hold string `json:"hold,omitempty" yaml:"hold,omitempty"`
}

// Validate reports settings Decide would not take as written.
func (p FraudPolicy) Validate() error {
	var problems []string
	if p.ReviewScore < 0 || p.RejectScore < 0 {
		problems = append(problems, "scores must not be negative (0 is off)")
	}
	for _, f := range []struct{ name, value string }{
		{"avsMismatch", p.AVSMismatch}, {"cvcMismatch", p.CVCMismatch},
		{"threeDsFailed", p.ThreeDSFailed}, {"gatewayReject", p.GatewayReject},
	} {
		switch strings.ToLower(strings.TrimSpace(f.value)) {
		case "", FraudAccept, FraudReview, FraudReject:
		default:
			problems = append(problems, fmt.Sprintf("%s is %q; want accept, review or reject", f.name, f.value))
		}
	}
	switch strings.ToLower(strings.TrimSpace(p.Hold)) {
	case "", FraudHoldOrder, FraudHoldSuspense:
	default:
		problems = append(problems, fmt.Sprintf("hold is %q; want hold or suspense", p.Hold))
	}
	if len(problems) > 0 {
		return fmt.Errorf("sync: fraud policy: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Decide says what the policy makes of one gateway transaction: "accept", "review" or "reject",
// the most severe of what its rules say, with a plain-language reason for every rule that did
// not accept (none when the decision is accept). The rules, in order:
//
//   - The gateway's own decision (RiskDecision): reject takes GatewayReject's action, review is
//     a review.
//   - The risk score: at or above RejectScore (when set) rejects, else at or above ReviewScore
//     (when set) reviews.
//   - The card security code did not match: CVCMismatch.
//   - The address or postcode did not match: AVSMismatch.
//   - 3-D Secure authentication failed: ThreeDSFailed.
func (p FraudPolicy) Decide(t GatewayTxn) (decision string, reasons []string) {
	decision = FraudAccept
	add := func(action, reason string) {
		if action == FraudAccept {
			return
		}
		reasons = append(reasons, reason)
		if fraudSeverity(action) > fraudSeverity(decision) {
			decision = action
		}
	}
	for _, reason := range gatewayRiskReasons(t) {
		if t.RiskDecision == FraudReject {
			add(fraudAction(p.GatewayReject, FraudGatewayRejectDefault), reason)
		} else {
			add(FraudReview, reason)
		}
	}
	if t.RiskScore != nil {
		score := *t.RiskScore
		switch {
		case p.RejectScore > 0 && score >= p.RejectScore:
			add(FraudReject, fmt.Sprintf("%s %d ≥ reject threshold %d", riskScoreName(t.Gateway), score, p.RejectScore))
		case p.ReviewScore > 0 && score >= p.ReviewScore:
			add(FraudReview, fmt.Sprintf("%s %d ≥ review threshold %d", riskScoreName(t.Gateway), score, p.ReviewScore))
		}
	}
	if cvcMismatch(t.CVCResult) {
		add(fraudAction(p.CVCMismatch, FraudCVCMismatchDefault), "CV2 did not match")
	}
	if what, ok := avsMismatch(t.AVSResult); ok {
		add(fraudAction(p.AVSMismatch, FraudAVSMismatchDefault), "AVS: "+what)
	}
	if threeDSFailed(t.ThreeDS) {
		add(fraudAction(p.ThreeDSFailed, FraudThreeDSFailedDefault), fmt.Sprintf("3-D Secure authentication failed (%s)", strings.TrimSpace(t.ThreeDS)))
	}
	return decision, reasons
}

// suspense says whether orders under review go to SYSPRO (Hold "suspense").
func (p FraudPolicy) suspense() bool {
	return strings.EqualFold(strings.TrimSpace(p.Hold), FraudHoldSuspense)
}

// fraudAction reads a configured action: empty is def, anything unknown a review.
func fraudAction(v, def string) string {
	switch v = strings.ToLower(strings.TrimSpace(v)); v {
	case "":
		return def
	case FraudAccept, FraudReview, FraudReject:
		return v
	}
	return FraudReview
}

func fraudSeverity(decision string) int {
	switch decision {
	case FraudReject:
		return 2
	case FraudReview:
		return 1
	}
	return 0
}

// riskScreeningName names the gateway's fraud screening.
func riskScreeningName(gateway string) string {
	switch gateway {
	case GatewayCybersource:
		return "Decision Manager"
	case GatewayOpayo:
		return "ReD/T3M fraud screening"
	}
	return "the gateway's fraud screening"
}

// riskScoreName names the gateway's risk score.
func riskScoreName(gateway string) string {
	switch gateway {
	case GatewayCybersource:
		return "Decision Manager score"
	case GatewayOpayo:
		return "ReD/T3M score"
	}
	return "risk score"
}

func riskRules(rules []string) string {
	if len(rules) == 0 {
		return ""
	}
	return " (" + strings.Join(rules, ", ") + ")"
}

// gatewayRiskReasons is the gateway's own verdict in plain language (none when it gave none).
func gatewayRiskReasons(t GatewayTxn) []string {
	switch t.RiskDecision {
	case FraudReject:
		return []string{riskScreeningName(t.Gateway) + " rejected the payment" + riskRules(t.RiskReasons)}
	case FraudReview:
		return []string{riskScreeningName(t.Gateway) + " sent the payment to review" + riskRules(t.RiskReasons)}
	}
	return nil
}

// cvcMismatch reads a security code result: Opayo's NotMatched (Pi and Reporting spelling) or
// Cybersource's CVN code N.
func cvcMismatch(r string) bool {
	switch strings.ToUpper(strings.TrimSpace(r)) {
	case "NOTMATCHED", "N":
		return true
	}
	return false
}

// avsMismatch reads an AVS result and says what did not match: Opayo's "address/postcode" (each
// Matched, NotMatched, NotProvided or NotChecked), or a Cybersource AVS code.
func avsMismatch(r string) (string, bool) {
	const neither, address, postcode = "neither the address nor the postcode matched", "the address did not match", "the postcode did not match"
	r = strings.TrimSpace(r)
	if a, p, ok := strings.Cut(r, "/"); ok {
		notMatched := func(part string) bool { return strings.EqualFold(strings.TrimSpace(part), "NotMatched") }
		am, pm := notMatched(a), notMatched(p)
		switch {
		case am && pm:
			return neither, true
		case am:
			return address, true
		case pm:
			return postcode, true
		}
		return "", false
	}
	switch strings.ToUpper(r) {
	case "N", "C", "K", "NOTMATCHED": // no match; international no match; Amex name only
		return neither, true
	case "A", "O": // the street matched, the postal code did not
		return postcode, true
	case "W", "Z", "L": // the postal code matched, the street did not
		return address, true
	}
	return "", false
}

// threeDSFailed reads a 3-D Secure result: authentication failed or was rejected.
func threeDSFailed(s string) bool {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "NOTAUTHENTICATED", "NOTAUTHED", "REJECTED", "FAILED", "N", "R":
		return true
	}
	return false
}

// moneyGoneStatus says whether a payment in this status holds no money (any more).
func moneyGoneStatus(status string) bool {
	return status == "declined" || status == "voided" || status == "failed"
}

// closeFraudReview closes the open review of pay with status (accepted or rejected) and appends
// fraud.review_closed. ok is false when no review was open.
func closeFraudReview(ctx context.Context, q *db.Queries, pay db.Payment, status, by, note string) (fr db.FraudReview, ok bool, err error) {
	fr, err = q.CloseFraudReview(ctx, db.CloseFraudReviewParams{PaymentID: pay.ID, Status: status, DecidedBy: &by, Note: &note})
	if errors.Is(err, pgx.ErrNoRows) {
		return fr, false, nil
	}
	if err != nil {
		return fr, false, err
	}
	return fr, true, appendEvent(ctx, q, TopicFraud, "fraud.review_closed", "fraud_review", fr.ID, map[string]any{
		"fraudReviewId": fr.ID, "paymentId": pay.ID, "gateway": pay.Gateway, "status": status, "decidedBy": by, "note": note,
	})
}

// reviewReasons decodes a review's reasons.
func reviewReasons(fr db.FraudReview) []string {
	var reasons []string
	_ = json.Unmarshal(fr.Reasons, &reasons)
	return reasons
}

// policyNote is the note a rejection by the policy is recorded with: its reasons.
func policyNote(fr db.FraudReview) string {
	if reasons := reviewReasons(fr); len(reasons) > 0 {
		return strings.Join(reasons, "; ")
	}
	return "rejected by the fraud policy"
}

// orderFraud is what the fraud reviews of an order's payments mean for the order.
type orderFraud struct {
	// open: a payment that holds money (or is in review) has an open review.
	open bool
	// rejectPending: one of those is a rejection the policy's job has still to carry out.
	rejectPending bool
	// receivable: the order has captured money (an AR receipt would be owed) while a review is open.
	receivable bool
	// rejectedReason is why the order is cancelled when a review rejected its payment.
	rejectedReason string
}

// orderFraudState reads the fraud reviews of an order's payments.
func orderFraudState(ctx context.Context, q *db.Queries, payments []db.Payment) (orderFraud, error) {
	var st orderFraud
	receivables := false
	for _, p := range payments {
		if receivable(p) {
			receivables = true
		}
		if p.Kind == KindRefund || p.Kind == KindVoid {
			continue
		}
		fr, err := q.GetFraudReviewByPayment(ctx, p.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return st, err
		}
		live := p.Status == "review" || committedStatuses[p.Status]
		switch {
		case fr.Status == "open" && live:
			st.open = true
			if fr.GatewayDecision == FraudReject {
				st.rejectPending = true
			}
		case fr.Status == "rejected" || (fr.Status == "open" && fr.GatewayDecision == FraudReject):
			by := cmp.Or(deref(fr.DecidedBy), FraudPolicyActor)
			note := deref(fr.Note)
			if by == FraudPolicyActor || note == "" {
				note = policyNote(fr)
			}
			st.rejectedReason = "fraud review rejected by " + by + ": " + note
		}
	}
	st.receivable = st.open && receivables
	return st, nil
}

// fraudPolicyRejectArgs carries out the policy's rejection of one payment: the gateway calls that
// take the money back, which must not run inside the transaction that decided it. Only one waits
// per review.
type fraudPolicyRejectArgs struct {
	FraudReviewID int64 `json:"fraudReviewId"`
}

func (fraudPolicyRejectArgs) Kind() string { return "fraud_policy_reject" }

func (fraudPolicyRejectArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 12, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waitingStates}}
}

// enqueuePolicyRejectTx queues the rejection of a review's payment in the caller's transaction.
func (e *Engine) enqueuePolicyRejectTx(ctx context.Context, tx pgx.Tx, reviewID int64) error {
	if _, err := e.river.InsertTx(ctx, tx, fraudPolicyRejectArgs{FraudReviewID: reviewID}, nil); err != nil {
		return fmt.Errorf("sync: enqueue the fraud policy's rejection of review %d: %w", reviewID, err)
	}
	return nil
}

// registerFraudPolicy adds the worker of the policy's rejections when a gateway is configured.
func (e *Engine) registerFraudPolicy(r *registry) {
	if e.cfg.Cybersource == nil && e.cfg.Opayo == nil {
		return
	}
	river.AddWorker(r.workers, &fraudPolicyRejectWorker{engine: e})
	r.working = true
}

type fraudPolicyRejectWorker struct {
	river.WorkerDefaults[fraudPolicyRejectArgs]
	engine *Engine
}

func (w *fraudPolicyRejectWorker) Timeout(*river.Job[fraudPolicyRejectArgs]) time.Duration {
	return w.engine.jobTimeout(2 * time.Minute)
}

func (w *fraudPolicyRejectWorker) Work(ctx context.Context, job *river.Job[fraudPolicyRejectArgs]) error {
	err := w.engine.rejectByPolicy(ctx, job.Args.FraudReviewID)
	if err != nil && isPermanent(err) {
		return river.JobCancel(err)
	}
	return err
}

// rejectByPolicy carries out the policy's rejection of the payment of review reviewID:
//
//  1. The money is taken back at the gateway. A payment the gateway holds in review, and an
//     authorisation not captured, go through DecideFraudReview's REJECT (Decision Manager reject
//     and reverse, else a reversal; Opayo abort), decided by "policy" with the policy's reasons
//     as its note — which also closes the review and cancels the order. Captured money is
//     voided (VoidPayment), else, once settled, refunded in full (RefundPayment, idempotency key
//     fraud-policy:<review id>). A payment that holds no money any more needs no call.
//  2. In one transaction: the review is closed as rejected by "policy" (when still open), the
//     order cancelled (through SORTOS when it is in SYSPRO) and fraud.payment_rejected appended.
//
// A review a person (or the gateway) decided first is left alone. A refusal by the gateway is
// checked against the gateway's view of the payment: money already gone (an earlier attempt's
// call went through) finishes the rejection; otherwise an anomaly is raised, the review stays
// open for a person and the job stops. Failures whose outcome is unknown are retried.
//
// fraud.payment_rejected is appended once per rejection, except that a worker dying between the
// gateway's answer and this job's completion makes the retry append it again: consumers should
// de-duplicate on fraudReviewId.
func (e *Engine) rejectByPolicy(ctx context.Context, reviewID int64) error {
	fr, err := e.queries.GetFraudReview(ctx, reviewID)
	if errors.Is(err, pgx.ErrNoRows) {
		return permanent(fmt.Errorf("sync: fraud review %d does not exist", reviewID))
	}
	if err != nil {
		return err
	}
	switch {
	case fr.Status == "open":
	case fr.Status == "rejected" && deref(fr.DecidedBy) == FraudPolicyActor:
		// Rejected already (an earlier run, or the payment's voiding seen by normalisation):
		// make sure the order and the event follow.
		return e.finishPolicyReject(ctx, fr.ID, "none")
	default:
		return nil // a person or the gateway decided
	}
	pay, err := e.payment(ctx, fr.PaymentID)
	if err != nil {
		return err
	}
	action, err := e.takeBackPayment(ctx, fr, pay)
	if err != nil {
		var ue *UserError
		switch {
		case errors.As(err, &ue) && ue.Code == ErrCodeReviewNotOpen:
			// Decided meanwhile: by someone else, or by the policy (the payment's void was seen).
			return e.rejectByPolicyDecided(ctx, reviewID)
		case !errors.As(err, &ue) || ue.Code == ErrCodeOutcomeUnknown:
			return err // transient, or the outcome is unknown: try again
		}
		gone, rerr := e.paymentMoneyGone(ctx, pay)
		if rerr != nil {
			if isPermanent(rerr) {
				return e.policyRejectFailed(ctx, fr, pay, errors.Join(err, rerr))
			}
			return rerr
		}
		if !gone {
			return e.policyRejectFailed(ctx, fr, pay, err)
		}
		action = "none"
	}
	return e.finishPolicyReject(ctx, fr.ID, action)
}

// rejectByPolicyDecided finishes a rejection found decided: only when the policy decided it.
func (e *Engine) rejectByPolicyDecided(ctx context.Context, reviewID int64) error {
	fr, err := e.queries.GetFraudReview(ctx, reviewID)
	if err != nil {
		return err
	}
	if fr.Status == "rejected" && deref(fr.DecidedBy) == FraudPolicyActor {
		return e.finishPolicyReject(ctx, fr.ID, "none")
	}
	return nil
}

// takeBackPayment makes the gateway calls that undo pay (see rejectByPolicy) and names what it
// did: reverse, abort, void, refund or none.
func (e *Engine) takeBackPayment(ctx context.Context, fr db.FraudReview, pay db.Payment) (string, error) {
	switch {
	case pay.Status == "review" || (pay.Status == "authorized" && pay.Kind == KindAuthorization):
		if _, err := e.DecideFraudReview(ctx, fr.ID, "REJECT", policyNote(fr), FraudPolicyActor); err != nil {
			return "", err
		}
		if pay.Gateway == GatewayOpayo {
			return "abort", nil
		}
		return "reverse", nil
	case pay.Status == "authorized" || pay.Status == "captured":
		_, err := e.VoidPayment(ctx, pay.ID, FraudPolicyActor)
		var ue *UserError
		if err == nil || pay.Status != "captured" || !errors.As(err, &ue) ||
			(ue.Code != ErrCodeGatewayRefused && ue.Code != ErrCodeNotVoidable) {
			return "void", err
		}
		// Not voidable any more (settled meanwhile): refund it.
	case pay.Status == "settled" || pay.Status == "partially_refunded":
	default:
		return "none", nil // no money held any more
	}
	return "refund", e.refundByPolicy(ctx, fr, pay)
}

// refundByPolicy refunds what is left of pay, once per review.
func (e *Engine) refundByPolicy(ctx context.Context, fr db.FraudReview, pay db.Payment) error {
	key := fmt.Sprintf("fraud-policy:%d", fr.ID)
	refund, err := e.queries.GetRefundByIdempotencyKey(ctx, key)
	switch {
	case err == nil:
		if refund.Status != "failed" {
			return nil // sent before; a lost answer is settled by the refund recheck
		}
		return userErr(ErrCodeGatewayRefused, "the fraud policy's refund %d failed: %s", refund.ID, deref(refund.FailureReason))
	case !errors.Is(err, pgx.ErrNoRows):
		return err
	}
	held, err := e.queries.SumRefundsHeld(ctx, pay.ID)
	if err != nil {
		return err
	}
	remaining := pay.Amount.Sub(held)
	if !remaining.IsPositive() {
		return nil
	}
	refund, err = e.RefundPayment(ctx, RefundRequest{PaymentID: pay.ID, Amount: remaining, Currency: pay.Currency,
		Reason: "rejected by the fraud policy: " + policyNote(fr), RequestedBy: FraudPolicyActor, IdempotencyKey: key})
	if err != nil {
		return err
	}
	if refund.Status == "failed" {
		return userErr(ErrCodeGatewayRefused, "the fraud policy's refund %d failed: %s", refund.ID, deref(refund.FailureReason))
	}
	return nil
}

// paymentMoneyGone reads the payment from its gateway again, applies what it says, and reports
// whether it holds money no longer.
func (e *Engine) paymentMoneyGone(ctx context.Context, pay db.Payment) (bool, error) {
	t, err := e.fetchTxn(ctx, pay.Gateway, pay.GatewayTransactionID)
	if err != nil {
		return false, err
	}
	var now db.Payment
	err = e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		if err := e.applyGatewayTxn(ctx, tx, q, t); err != nil {
			return err
		}
		var err error
		now, err = q.GetPayment(ctx, pay.ID)
		return err
	})
	if err != nil {
		return false, err
	}
	return moneyGoneStatus(now.Status) || now.Status == "refunded", nil
}

// policyRejectFailed records that the gateway refused to give the money back: the review stays
// open (its order held) for a person, with an anomaly saying why.
func (e *Engine) policyRejectFailed(ctx context.Context, fr db.FraudReview, pay db.Payment, cause error) error {
	err := e.inTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		return raiseAnomaly(ctx, q, anomaly{
			kind: "fraud_policy_reject_failed", severity: "critical", subjectType: "fraud_review", subjectID: fr.ID,
			dedupeKey: fmt.Sprintf("fraud_policy_reject_failed:%d", fr.ID),
			summary: fmt.Sprintf("the fraud policy rejected %s payment %s (%s) but the gateway refused to give the money back: %s; the review stays open for a person",
				pay.Gateway, pay.GatewayTransactionID, policyNote(fr), truncate(redactCardNumbers(cause.Error()), 300)),
			details: map[string]any{"fraudReviewId": fr.ID, "paymentId": pay.ID, "gateway": pay.Gateway,
				"gatewayTransactionId": pay.GatewayTransactionID, "paymentStatus": pay.Status, "reasons": reviewReasons(fr)},
		})
	})
	if err != nil {
		return err
	}
	return permanent(fmt.Errorf("sync: fraud policy rejection of review %d: %w", fr.ID, cause))
}

// finishPolicyReject closes the review as rejected by the policy (when still open), cancels the
// payment's order and appends fraud.payment_rejected, in one transaction.
func (e *Engine) finishPolicyReject(ctx context.Context, reviewID int64, action string) error {
	return e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		fr, err := q.GetFraudReview(ctx, reviewID)
		if err != nil {
			return err
		}
		pay, err := q.GetPayment(ctx, fr.PaymentID)
		if err != nil {
			return err
		}
		if pay.MerchantReference != "" {
			// As normalisation does: the order first, so the two never wait on each other.
			if err := q.LockKey(ctx, "order:"+pay.MerchantReference); err != nil {
				return err
			}
		}
		note := policyNote(fr)
		if fr.Status == "open" {
			closed, ok, err := closeFraudReview(ctx, q, pay, "rejected", FraudPolicyActor, note)
			if err != nil {
				return err
			}
			if ok {
				fr = closed
			}
		}
		if pay.SalesOrderID != nil {
			if err := e.cancelOrderTx(ctx, tx, q, *pay.SalesOrderID, "fraud review rejected by "+FraudPolicyActor+": "+note); err != nil {
				return err
			}
		}
		return appendEvent(ctx, q, TopicFraud, "fraud.payment_rejected", "fraud_review", fr.ID, map[string]any{
			"fraudReviewId": fr.ID, "paymentId": pay.ID, "gateway": pay.Gateway, "gatewayTransactionId": pay.GatewayTransactionID,
			"merchantReference": pay.MerchantReference, "salesOrderId": pay.SalesOrderID, "score": fr.Score,
			"reasons": reviewReasons(fr), "action": action, "paymentStatus": pay.Status, "decidedBy": FraudPolicyActor,
		})
	})
}
