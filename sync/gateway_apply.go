package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/db"
)

// Payment statuses that stand for money the shopper has committed: an order is made and posted
// for them.
var committedStatuses = map[string]bool{"authorized": true, "captured": true, "settled": true,
	"partially_refunded": true, "refunded": true}

// applyGatewayTxn makes the canonical rows agree with what the gateway says of one transaction,
// in the caller's transaction, and decides the consequences: the payment is inserted or moved on
// (only along allowed transitions, so a stale read never moves it back), the customer is found
// or created, the order is created from the gateway's lines when the shop did not place it
// through the hub, a fraud review is opened or closed, refunds and voids update the payment they
// act on, and a committed payment queues the order's SYSPRO posting. Applying the same txn
// twice changes nothing the second time.
func (e *Engine) applyGatewayTxn(ctx context.Context, tx pgx.Tx, q *db.Queries, t GatewayTxn) error {
	if t.Gateway == "" || t.TransactionID == "" || t.Kind == "" {
		return permanent(fmt.Errorf("sync: gateway transaction without gateway, id or kind: %+v", t.TransactionID))
	}
	r, err := loadRules(ctx, q)
	if err != nil {
		return err
	}
	status, mapped := r.paymentStatus(t.Gateway, t.Kind, t.GatewayStatus)
	if !mapped {
		status = "unknown"
	}
	// Serialise work on one order and one transaction across workers and replicas: order first,
	// then transaction, always in that order.
	if t.Reference != "" {
		if err := q.LockKey(ctx, "order:"+t.Reference); err != nil {
			return err
		}
	}
	if err := q.LockKey(ctx, "txn:"+t.Gateway+":"+t.TransactionID); err != nil {
		return err
	}

	var parent *db.Payment
	if t.ParentTransactionID != "" {
		p, err := q.GetPaymentForUpdate(ctx, db.GetPaymentForUpdateParams{Gateway: t.Gateway, GatewayTransactionID: t.ParentTransactionID})
		switch {
		case err == nil:
			parent = &p
		case errors.Is(err, pgx.ErrNoRows):
			// Not seen yet (its webhook may come later): read it from the gateway.
			if err := e.EnqueueFetchTx(ctx, tx, t.Gateway, t.ParentTransactionID); err != nil {
				return err
			}
		default:
			return err
		}
	}

	existing, err := q.GetPaymentForUpdate(ctx, db.GetPaymentForUpdateParams{Gateway: t.Gateway, GatewayTransactionID: t.TransactionID})
	known := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}

	// The order: the one the shop placed (customer PO number = merchant reference), or one made
	// from the gateway's record once the shopper has committed money.
	var order *db.SalesOrder
	if t.Reference != "" {
		o, err := q.GetSalesOrderForUpdate(ctx, t.Reference)
		switch {
		case err == nil:
			order = &o
			if err := completeOrderLines(ctx, q, r, o, t); err != nil {
				return err
			}
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		case makesOrder(t.Kind, status) && parent == nil:
			o, err := e.createOrderFromGateway(ctx, q, r, t)
			if err != nil {
				return err
			}
			order = &o
		}
	}
	if order == nil && parent != nil && parent.SalesOrderID != nil {
		o, err := q.GetSalesOrder(ctx, *parent.SalesOrderID)
		if err != nil {
			return err
		}
		order = &o
	}
	var orderID, customerID *int64
	if order != nil {
		orderID, customerID = &order.ID, order.CustomerID
	}
	var parentID *int64
	if parent != nil {
		parentID = &parent.ID
	}

	var pay db.Payment
	prev := "" // the payment's status before this txn; "" when it is new
	if known {
		prev = existing.Status
	}
	if !known {
		pay, err = q.InsertGatewayPayment(ctx, insertParams(t, status, parentID, orderID, customerID))
		if err != nil {
			return fmt.Errorf("sync: record %s payment %s: %w", t.Gateway, t.TransactionID, err)
		}
		if err := appendEvent(ctx, q, TopicPayment, "payment.recorded", "payment", pay.ID, paymentPayload(pay, "")); err != nil {
			return err
		}
	} else {
		next := existing.Status
		if status != existing.Status {
			ok, err := q.IsStatusMoveAllowed(ctx, db.IsStatusMoveAllowedParams{Entity: "payment", FromStatus: existing.Status, ToStatus: status})
			if err != nil {
				return err
			}
			if ok {
				next = status
			} else {
				e.log.Debug("gateway status not applied: not a move forward", "gateway", t.Gateway,
					"transaction", t.TransactionID, "from", existing.Status, "to", status, "gatewayStatus", t.GatewayStatus)
			}
		}
		pay, err = q.UpdateGatewayPayment(ctx, updateParams(t, next == status, next, existing, parentID, orderID, customerID))
		if err != nil {
			return fmt.Errorf("sync: update %s payment %s: %w", t.Gateway, t.TransactionID, err)
		}
		if pay.Status != existing.Status {
			if err := appendEvent(ctx, q, TopicPayment, "payment.status_changed", "payment", pay.ID, paymentPayload(pay, existing.Status)); err != nil {
				return err
			}
		}
	}
	if !mapped {
		if err := raiseAnomaly(ctx, q, anomaly{
			kind: "unmapped_gateway_status", severity: "warning", subjectType: "payment", subjectID: pay.ID,
			dedupeKey: fmt.Sprintf("unmapped_gateway_status:%s:%s:%s", t.Gateway, t.Kind, t.GatewayStatus),
			summary: fmt.Sprintf("%s status %q of a %s has no status_map rule; the payment is kept as unknown",
				t.Gateway, t.GatewayStatus, t.Kind),
			details: map[string]any{"gateway": t.Gateway, "kind": t.Kind, "gatewayStatus": t.GatewayStatus, "transactionId": t.TransactionID},
		}); err != nil {
			return err
		}
	}

	if err := e.applyRisk(ctx, tx, q, t, pay, prev); err != nil {
		return err
	}
	if parent != nil {
		if err := e.applyToParent(ctx, q, pay, *parent); err != nil {
			return err
		}
	}
	if order != nil {
		return e.advanceOrder(ctx, tx, q, *order, pay)
	}
	return nil
}

// makesOrder says whether a transaction of this kind and status is the shopper committing to an
// order (or possibly so: under fraud review). A declined attempt makes none; the shopper may try
// again under the same reference.
func makesOrder(kind, status string) bool {
	if kind != KindAuthorization && kind != KindSale && kind != KindCapture {
		return false
	}
	return committedStatuses[status] || status == "review"
}

// createOrderFromGateway makes the canonical order of a payment the shop did not place through
// the hub: customer found or created, lines mapped to SYSPRO stock codes and aggregated.
func (e *Engine) createOrderFromGateway(ctx context.Context, q *db.Queries, r *rules, t GatewayTxn) (db.SalesOrder, error) {
	customer, err := e.resolveCustomer(ctx, q, t)
	if err != nil {
		return db.SalesOrder{}, err
	}
	lines := orderLines(r, t)
	subtotal, tax, shipping := orderAmounts(lines, t.Amount)
	shipTo := standardAddress(t.ShipTo)
	if shipTo == (Address{}) {
		shipTo = standardAddress(t.Customer.BillTo)
	}
	shipJSON, _ := json.Marshal(shipTo)
	o, err := q.CreateSalesOrder(ctx, db.CreateSalesOrderParams{
		CustomerID: &customer.ID, CustomerPoNumber: t.Reference, Status: "received", Source: t.Gateway,
		Currency: strings.ToUpper(t.Currency), SubtotalAmount: subtotal, TaxAmount: tax, ShippingAmount: shipping,
		TotalAmount: t.Amount, ShipTo: shipJSON, OrderedAt: t.OccurredAt,
	})
	if err != nil {
		return o, fmt.Errorf("sync: create order %s: %w", t.Reference, err)
	}
	if err := insertOrderLines(ctx, q, o, lines); err != nil {
		return o, err
	}
	return o, appendEvent(ctx, q, TopicOrder, "order.created", "sales_order", o.ID, map[string]any{
		"orderId": o.ID, "customerPoNumber": o.CustomerPoNumber, "source": o.Source, "customerId": customer.ID,
		"customerCode": customer.Code, "currency": o.Currency, "totalAmount": o.TotalAmount, "lines": len(lines),
	})
}

// orderAmounts splits an order's total into its lines' subtotal and tax and the rest (shipping).
func orderAmounts(lines []orderLine, total decimal.Decimal) (subtotal, tax, shipping decimal.Decimal) {
	for _, l := range lines {
		subtotal = subtotal.Add(l.total)
		tax = tax.Add(l.tax)
	}
	shipping = total.Sub(subtotal).Sub(tax)
	if shipping.IsNegative() {
		shipping = decimal.Zero
	}
	return subtotal, tax, shipping
}

func insertOrderLines(ctx context.Context, q *db.Queries, o db.SalesOrder, lines []orderLine) error {
	for i, l := range lines {
		var wh *string
		if l.warehouse != "" {
			wh = &l.warehouse
		}
		if err := q.CreateSalesOrderLine(ctx, db.CreateSalesOrderLineParams{
			SalesOrderID: o.ID, LineNumber: int32(i + 1), StockCode: l.stockCode, Description: l.description,
			Warehouse: wh, Quantity: l.quantity, UnitPrice: l.unitPrice, LineTotal: l.total,
		}); err != nil {
			return fmt.Errorf("sync: line %d of order %s: %w", i+1, o.CustomerPoNumber, err)
		}
	}
	return nil
}

// completeOrderLines gives lines to an order that was made without any: its first gateway record
// was a follow-on (a capture whose authorization had not arrived yet) that carried none, and t,
// the same order's record with lines, came after. An order SYSPRO already has is left alone.
func completeOrderLines(ctx context.Context, q *db.Queries, r *rules, o db.SalesOrder, t GatewayTxn) error {
	// An order made without lines has a zero subtotal (orderAmounts); any other order is left
	// alone without a query, so the webhooks and polls of orders that have their lines, nearly
	// all of them, pay nothing for this.
	if len(t.Lines) == 0 || !o.SubtotalAmount.IsZero() || o.SysproOrderNumber != nil || o.Status == "cancelled" {
		return nil
	}
	have, err := q.ListSalesOrderLinesByOrderIDs(ctx, []int64{o.ID})
	if err != nil || len(have) > 0 {
		return err
	}
	lines := orderLines(r, t)
	if err := insertOrderLines(ctx, q, o, lines); err != nil {
		return err
	}
	subtotal, tax, shipping := orderAmounts(lines, o.TotalAmount)
	return q.SetSalesOrderAmounts(ctx, db.SetSalesOrderAmountsParams{ID: o.ID, SubtotalAmount: subtotal, TaxAmount: tax, ShippingAmount: shipping})
}

type orderLine struct {
	stockCode, description, warehouse string
	quantity, unitPrice, tax, total   decimal.Decimal
}

// orderLines maps the gateway's lines to SYSPRO stock codes and aggregates lines of the same
// stock code and price into one (SYSPRO rejects nothing for it, and a clerk reads one line per
// item). A payment without lines becomes one line of the gateway's default item ("*" rule).
func orderLines(r *rules, t GatewayTxn) []orderLine {
	var out []orderLine
	index := map[string]int{}
	for _, l := range t.Lines {
		qty := l.Quantity
		if !qty.IsPositive() {
			qty = decimal.NewFromInt(1)
		}
		price := l.UnitPrice
		if price.IsZero() && l.TotalAmount.IsPositive() {
			price = l.TotalAmount.Sub(l.TaxAmount).DivRound(qty, 4)
		}
		ol := orderLine{stockCode: strings.TrimSpace(l.SKU), description: l.Name, quantity: qty, unitPrice: price, tax: l.TaxAmount}
		if rule, ok := r.stockCode(t.Gateway, ol.stockCode); ok {
			ol.stockCode, ol.warehouse = rule.StockCode, rule.Warehouse
			if rule.Description != "" {
				ol.description = rule.Description
			}
		}
		if ol.stockCode == "" {
			ol.stockCode = "UNKNOWN"
		}
		key := ol.stockCode + "|" + ol.warehouse + "|" + ol.unitPrice.String()
		if i, ok := index[key]; ok {
			out[i].quantity = out[i].quantity.Add(ol.quantity)
			out[i].tax = out[i].tax.Add(ol.tax)
			continue
		}
		index[key] = len(out)
		out = append(out, ol)
	}
	if len(out) == 0 {
		if rule, ok := r.stockCode(t.Gateway, "*"); ok {
			desc := rule.Description
			if desc == "" {
				desc = t.Description
			}
			out = append(out, orderLine{stockCode: rule.StockCode, description: desc, warehouse: rule.Warehouse,
				quantity: decimal.NewFromInt(1), unitPrice: t.Amount})
		}
	}
	for i := range out {
		out[i].total = out[i].quantity.Mul(out[i].unitPrice).Round(4)
	}
	return out
}

// resolveCustomer finds the payer: by the gateway's customer profile, then by e-mail; a payer
// the hub has never seen becomes a new customer with a hub-assigned code (W000001...), which
// SYSPRO gets when the order is posted if the policy allows creating customers.
func (e *Engine) resolveCustomer(ctx context.Context, q *db.Queries, t GatewayTxn) (db.Customer, error) {
	p := t.Customer
	if p.GatewayCustomerID != "" {
		c, err := q.GetCustomerByLink(ctx, db.GetCustomerByLinkParams{System: t.Gateway, ExternalID: p.GatewayCustomerID})
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return c, err
		}
	}
	email := strings.TrimSpace(p.Email)
	if email != "" {
		// Serialise creation per e-mail so two first orders of one shopper make one customer.
		if err := q.LockKey(ctx, "customer:"+strings.ToLower(email)); err != nil {
			return db.Customer{}, err
		}
		c, err := q.GetCustomerByEmail(ctx, email)
		if err == nil {
			return c, e.linkProfile(ctx, q, c, t)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return c, err
		}
	}
	code, err := q.NextCustomerCode(ctx)
	if err != nil {
		return db.Customer{}, err
	}
	name := strings.TrimSpace(p.FirstName + " " + p.LastName)
	switch {
	case p.Company != "":
		name = p.Company
	case name == "" && email != "":
		name = email
	case name == "":
		name = "Web customer " + code
	}
	bill, _ := json.Marshal(standardAddress(p.BillTo))
	ship, _ := json.Marshal(standardAddress(t.ShipTo))
	return createCustomer(ctx, q, db.CreateCustomerParams{
		Code: code, Name: name, Email: nonEmpty(email), Phone: nonEmpty(strings.TrimSpace(p.Phone)),
		Currency: strings.ToUpper(t.Currency), BillingAddress: bill, ShippingAddress: ship,
	}, t.Gateway, p.GatewayCustomerID)
}

// createCustomer records a new canonical customer, links it to its identity in the system it
// came from (when that system named one), and announces it.
func createCustomer(ctx context.Context, q *db.Queries, params db.CreateCustomerParams, source, externalID string) (db.Customer, error) {
	c, err := q.CreateCustomer(ctx, params)
	if err != nil {
		return c, fmt.Errorf("sync: create customer %s: %w", params.Code, err)
	}
	if externalID != "" {
		if err := q.LinkCustomer(ctx, db.LinkCustomerParams{CustomerID: c.ID, System: source, ExternalID: externalID}); err != nil {
			return c, err
		}
	}
	return c, appendEvent(ctx, q, TopicCustomer, "customer.created", "customer", c.ID, map[string]any{
		"customerId": c.ID, "code": c.Code, "name": c.Name, "source": source,
	})
}

// linkProfile records the gateway's customer profile id against the canonical customer.
func (e *Engine) linkProfile(ctx context.Context, q *db.Queries, c db.Customer, t GatewayTxn) error {
	if t.Customer.GatewayCustomerID == "" {
		return nil
	}
	return q.LinkCustomer(ctx, db.LinkCustomerParams{CustomerID: c.ID, System: t.Gateway, ExternalID: t.Customer.GatewayCustomerID})
}

// applyRisk decides what the fraud screening of a payment means, by the fraud policy
// (Config.Fraud; see FraudPolicy.Decide). prev is the payment's status before this txn ("" when
// it is new).
//
// The policy screens an authorization or sale once, when the payment is first seen holding money
// (authorized, captured, settled) or in review — prev is "", pending, unknown or review — so a
// transaction delivered again, or read again after a change of policy, is never screened twice:
//
//   - review opens a fraud review (gateway_decision review, the policy's reasons and the score)
//     and appends fraud.review_opened; advanceOrder holds the order per the policy's Hold mode.
//   - reject opens the review as a rejection (gateway_decision reject) and queues the
//     fraud_policy_reject job in this transaction: the gateway calls that take the money back
//     (DecideFraudReview's REJECT path; a void or refund of captured money) run there, outside
//     any transaction, and the job then records the review as rejected by "policy", cancels the
//     order and appends fraud.payment_rejected. The order is held meanwhile.
//   - accept changes nothing, except that a payment the gateway itself holds in review always
//     gets a review.
//
// A declined, voided or failed payment that the gateway screened as review or reject gets that
// review recorded and closed at once as rejected (the gateway decided), as before. When the
// gateway decides a payment it held (the payment leaves review), the open review is closed with
// that outcome; a review the policy opened on a payment the gateway accepted stays open until a
// person decides it (DecideFraudReview) or its money is gone.
func (e *Engine) applyRisk(ctx context.Context, tx pgx.Tx, q *db.Queries, t GatewayTxn, pay db.Payment, prev string) error {
	holdsMoney := pay.Status == "review" || pay.Status == "authorized" || pay.Status == "captured" || pay.Status == "settled"
	moneyGone := moneyGoneStatus(pay.Status)
	firstSight := prev == "" || prev == "pending" || prev == "unknown" || prev == "review"
	screened := (t.Kind == KindAuthorization || t.Kind == KindSale) && firstSight

	decision, reasons := FraudAccept, []string(nil)
	switch {
	case holdsMoney && screened:
		decision, reasons = e.cfg.Fraud.Decide(t)
	case moneyGone && (t.RiskDecision == FraudReview || t.RiskDecision == FraudReject):
		// Recorded as the gateway screened it; closed as rejected below.
		decision, reasons = t.RiskDecision, gatewayRiskReasons(t)
	}
	if pay.Status == "review" && decision == FraudAccept {
		// The gateway holds the payment: a person has to decide whatever the policy says.
		decision = FraudReview
		if reasons = gatewayRiskReasons(t); len(reasons) == 0 {
			reasons = []string{strings.TrimSpace("the gateway holds the payment for review: " + t.GatewayStatus + " " + t.GatewayStatusCode)}
		}
	}
	if decision != FraudAccept {
		reasonsJSON, _ := json.Marshal(append([]string{}, reasons...))
		fr, err := q.OpenFraudReview(ctx, db.OpenFraudReviewParams{PaymentID: pay.ID, Gateway: t.Gateway,
			GatewayDecision: decision, Score: riskScore(t.RiskScore), Reasons: reasonsJSON})
		switch {
		case errors.Is(err, pgx.ErrNoRows): // already open or decided: nothing new
		case err != nil:
			return err
		case decision == FraudReject && holdsMoney:
			// The policy rejects money the shopper committed: take it back outside this transaction.
			if err := e.enqueuePolicyRejectTx(ctx, tx, fr.ID); err != nil {
				return err
			}
		default:
			if err := appendEvent(ctx, q, TopicFraud, "fraud.review_opened", "fraud_review", fr.ID, map[string]any{
				"fraudReviewId": fr.ID, "paymentId": pay.ID, "gateway": t.Gateway, "decision": decision,
				"score": t.RiskScore, "reasons": reasons, "merchantReference": t.Reference,
			}); err != nil {
				return err
			}
		}
	}

	outcome := ""
	switch {
	case pay.Status == "review":
		return nil
	case committedStatuses[pay.Status] && prev == "review":
		outcome = "accepted" // the gateway released what it held
	case moneyGone:
		outcome = "rejected"
	default:
		return nil
	}
	by, note := "gateway", "decided at the gateway: payment "+pay.Status
	if outcome == "rejected" && prev != "" && !moneyGoneStatus(prev) {
		// The money this payment held is gone: when the policy had rejected it (its job is
		// taking the money back, or someone did first), the rejection is the policy's.
		if open, err := q.GetFraudReviewByPayment(ctx, pay.ID); err == nil && open.Status == "open" && open.GatewayDecision == FraudReject {
			by, note = FraudPolicyActor, policyNote(open)
		} else if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
	}
	_, _, err := closeFraudReview(ctx, q, pay, outcome, by, note)
	return err
}

// applyToParent carries a refund or void over to the payment it acts on.
func (e *Engine) applyToParent(ctx context.Context, q *db.Queries, child db.Payment, parent db.Payment) error {
	next := parent.Status
	switch {
	case child.Kind == KindRefund && child.Status == "refunded":
		refunded, err := q.SumChildPayments(ctx, db.SumChildPaymentsParams{ParentPaymentID: &parent.ID, Kind: KindRefund, Statuses: []string{"refunded"}})
		if err != nil {
			return err
		}
		if refunded.GreaterThanOrEqual(parent.Amount) {
			next = "refunded"
		} else if refunded.IsPositive() {
			next = "partially_refunded"
		}
	case child.Kind == KindVoid && child.Status == "voided":
		next = "voided"
	case child.Kind == KindCapture && committedStatuses[child.Status] && (parent.Status == "authorized" || parent.Status == "review"):
		// A capture of an authorisation: the money is the capture's; the authorisation is done.
		next = "captured"
	default:
		return nil
	}
	if next == parent.Status {
		return nil
	}
	ok, err := q.IsStatusMoveAllowed(ctx, db.IsStatusMoveAllowedParams{Entity: "payment", FromStatus: parent.Status, ToStatus: next})
	if err != nil || !ok {
		return err
	}
	updated, err := q.SetPaymentStatus(ctx, db.SetPaymentStatusParams{ID: parent.ID, Status: next})
	if err != nil {
		return err
	}
	return appendEvent(ctx, q, TopicPayment, "payment.status_changed", "payment", updated.ID, paymentPayload(updated, parent.Status))
}

// advanceOrder decides what the order's payments mean for it: a payment under review (held by
// the gateway, or with an open fraud review) holds it, a committed payment sends it to SYSPRO
// (once), a posted order owes SYSPRO the receipts of its captured payments, and an order whose
// only money was voided before posting is cancelled (with the fraud review's reason when one
// rejected it).
//
// Under the fraud policy's Hold mode "suspense" an order under review is posted to SYSPRO all
// the same, and its AR receipts are withheld until no review is open. Exceptions, held as in
// "hold" mode: an order whose review is a pending rejection, and an order with captured money
// while a review is open, because the SYSPRO order posting itself queues the receipts of
// captured payments (see FraudPolicy.Hold).
func (e *Engine) advanceOrder(ctx context.Context, tx pgx.Tx, q *db.Queries, order db.SalesOrder, pay db.Payment) error {
	payments, err := q.ListPaymentsByOrderIDs(ctx, []int64{order.ID})
	if err != nil {
		return err
	}
	inReview, committed := false, false
	for _, p := range payments {
		switch {
		case p.Status == "review":
			inReview = true
		case committedStatuses[p.Status] && p.Kind != KindRefund:
			committed = true
		}
	}
	fraud, err := orderFraudState(ctx, q, payments)
	if err != nil {
		return err
	}
	held := inReview || fraud.open
	// Suspense: money under review goes to SYSPRO with its order, unless a receipt would follow.
	suspense := held && e.cfg.Fraud.suspense() && !fraud.rejectPending && !fraud.receivable
	setStatus := func(to string, hold *string) error {
		_, err := moveOrderStatus(ctx, q, order, to, hold, map[string]any{
			"holdReason": hold, "sysproOrderNumber": order.SysproOrderNumber,
		})
		return err
	}
	switch {
	case held && !suspense && order.SysproOrderNumber == nil:
		reason := "payment under fraud review"
		return setStatus("on_hold", &reason)
	case (committed || suspense) && order.SysproOrderNumber == nil && (order.Status == "received" || order.Status == "on_hold"):
		if _, err := e.EnqueuePostingTx(ctx, tx, PostingRequest{
			Kind: PostingSalesOrder, BusinessObject: "SORTOI", SubjectType: "sales_order", SubjectID: order.ID,
			IdempotencyKey: "sales_order:" + order.CustomerPoNumber,
		}); err != nil {
			return err
		}
		return setStatus("posting", nil)
	case committed && order.SysproOrderNumber != nil:
		if held {
			return nil // the receipts wait for the review's decision
		}
		return e.enqueueArPaymentsTx(ctx, tx, q, order.ID)
	case !committed && !held && order.SysproOrderNumber == nil && pay.Status == "voided" &&
		(order.Status == "received" || order.Status == "on_hold"):
		reason := "payment voided at the gateway"
		if fraud.rejectedReason != "" {
			reason = fraud.rejectedReason
		}
		return setStatus("cancelled", &reason)
	}
	return nil
}

// moveOrderStatus moves the order to status to, with hold as the reason, when the order state
// machine allows the move, and appends order.status_changed (orderId, customerPoNumber, from, to
// and extra). It says whether the order moved; a refused move, or none, changes nothing.
func moveOrderStatus(ctx context.Context, q *db.Queries, order db.SalesOrder, to string, hold *string, extra map[string]any) (bool, error) {
	if to == order.Status {
		return false, nil
	}
	ok, err := q.IsStatusMoveAllowed(ctx, db.IsStatusMoveAllowedParams{Entity: "sales_order", FromStatus: order.Status, ToStatus: to})
	if err != nil || !ok {
		return false, err
	}
	if _, err := q.SetSalesOrderStatus(ctx, db.SetSalesOrderStatusParams{ID: order.ID, Status: to, HoldReason: hold}); err != nil {
		return false, err
	}
	payload := map[string]any{"orderId": order.ID, "customerPoNumber": order.CustomerPoNumber, "from": order.Status, "to": to}
	for k, v := range extra {
		payload[k] = v
	}
	return true, appendEvent(ctx, q, TopicOrder, "order.status_changed", "sales_order", order.ID, payload)
}

// standardAddress trims every part, collapses inner spaces, upper-cases the postcode and the
// country code: the form SYSPRO's address lines are filled from.
func standardAddress(a Address) Address {
	clean := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	return Address{
		Line1: clean(a.Line1), Line2: clean(a.Line2), City: clean(a.City), Region: clean(a.Region),
		PostalCode: strings.ToUpper(clean(a.PostalCode)), Country: strings.ToUpper(clean(a.Country)), Name: clean(a.Name),
	}
}

func paymentPayload(p db.Payment, from string) map[string]any {
	m := map[string]any{
		"paymentId": p.ID, "gateway": p.Gateway, "gatewayTransactionId": p.GatewayTransactionID,
		"merchantReference": p.MerchantReference, "kind": p.Kind, "status": p.Status,
		"gatewayStatus": p.GatewayStatus, "amount": p.Amount, "currency": p.Currency,
		"salesOrderId": p.SalesOrderID, "riskDecision": p.RiskDecision,
	}
	if from != "" {
		m["from"] = from
	}
	return m
}

func insertParams(t GatewayTxn, status string, parentID, orderID, customerID *int64) db.InsertGatewayPaymentParams {
	p := db.InsertGatewayPaymentParams{
		Gateway: t.Gateway, GatewayTransactionID: t.TransactionID, MerchantReference: t.Reference, Kind: t.Kind,
		ParentPaymentID: parentID, SalesOrderID: orderID, CustomerID: customerID, Status: status,
		GatewayStatus: t.GatewayStatus, GatewayStatusCode: t.GatewayStatusCode, GatewayStatusDetail: t.GatewayStatusDetail,
		Amount: t.Amount, Currency: strings.ToUpper(t.Currency), CardBrand: nonEmpty(t.CardBrand),
		CardLastFour: validLastFour(t.CardLastFour), AvsResult: nonEmpty(t.AVSResult), CvcResult: nonEmpty(t.CVCResult),
		ThreeDsStatus: nonEmpty(t.ThreeDS), RiskScore: riskScore(t.RiskScore), RiskDecision: nonEmpty(t.RiskDecision),
		OccurredAt: t.OccurredAt,
	}
	if t.CardExpiryMonth >= 1 && t.CardExpiryMonth <= 12 {
		m := int16(t.CardExpiryMonth)
		p.CardExpiryMonth = &m
	}
	if t.CardExpiryYear >= 2000 && t.CardExpiryYear <= 2100 {
		y := int16(t.CardExpiryYear)
		p.CardExpiryYear = &y
	}
	return p
}

func updateParams(t GatewayTxn, applied bool, status string, old db.Payment, parentID, orderID, customerID *int64) db.UpdateGatewayPaymentParams {
	p := db.UpdateGatewayPaymentParams{
		ID: old.ID, Status: status, GatewayStatus: t.GatewayStatus, GatewayStatusCode: t.GatewayStatusCode,
		GatewayStatusDetail: t.GatewayStatusDetail, ParentPaymentID: parentID, SalesOrderID: orderID, CustomerID: customerID,
		CardBrand: nonEmpty(t.CardBrand), CardLastFour: validLastFour(t.CardLastFour), AvsResult: nonEmpty(t.AVSResult),
		CvcResult: nonEmpty(t.CVCResult), ThreeDsStatus: nonEmpty(t.ThreeDS), RiskScore: riskScore(t.RiskScore),
		RiskDecision: nonEmpty(t.RiskDecision),
	}
	if !applied {
		// The gateway status was not applied (a stale read): keep the gateway fields that go with
		// the canonical status.
		p.GatewayStatus, p.GatewayStatusCode, p.GatewayStatusDetail = old.GatewayStatus, old.GatewayStatusCode, old.GatewayStatusDetail
	}
	return p
}

// validLastFour keeps only a well-formed last four digits.
func validLastFour(s string) *string {
	s = strings.TrimSpace(s)
	if len(s) > 4 {
		s = s[len(s)-4:]
	}
	if len(s) != 4 || strings.Trim(s, "0123456789") != "" {
		return nil
	}
	return &s
}

func riskScore(s *int) *int32 {
	if s == nil {
		return nil
	}
	v := int32(*s)
	return &v
}

// ApplyGatewayTxn applies what a gateway said of one transaction in a transaction of its own:
// what the normalisation jobs do, for callers that hold a gateway's answer themselves (a refund
// the API just made, a test).
func (e *Engine) ApplyGatewayTxn(ctx context.Context, t GatewayTxn) error {
	return e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error { return e.applyGatewayTxn(ctx, tx, q, t) })
}
