package sync

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/db"
)

// PostingCreditNote is the SYSPRO credit of a refund (SORTCH + SORTCL, found first by COMFND).
const PostingCreditNote = "credit_note"

// enqueueCreditNoteTx owes SYSPRO the credit of a succeeded refund whose order SYSPRO has. A
// refund of an order not in SYSPRO needs none: the order is posted net of nothing and the
// receipt and refund cancel out in the gateway's settlement.
func (e *Engine) enqueueCreditNoteTx(ctx context.Context, tx pgx.Tx, q *db.Queries, refund db.Refund) error {
	pay, err := q.GetPayment(ctx, refund.PaymentID)
	if err != nil || pay.SalesOrderID == nil {
		return err
	}
	order, err := q.GetSalesOrder(ctx, *pay.SalesOrderID)
	if err != nil || order.SysproOrderNumber == nil {
		return err
	}
	_, err = e.EnqueuePostingTx(ctx, tx, PostingRequest{Kind: PostingCreditNote, BusinessObject: "SORTCH",
		SubjectType: "refund", SubjectID: refund.ID, IdempotencyKey: fmt.Sprintf("credit_note:%d", refund.ID)})
	return err
}

// postCreditNote credits a refund to the order's customer in SYSPRO: one line of the refunded
// value, on the stock code the stock_code rule "syspro"/"refund" names (else the order's first
// line's), in the customer's currency. The credit note carries the refund's reference (RF-<id>)
// as its customer PO number, which is how a retry finds it instead of adding another.
func (e *Engine) postCreditNote(ctx context.Context, p db.ErpPosting) (postingOutcome, error) {
	refund, err := e.queries.GetRefund(ctx, p.SubjectID)
	if err != nil {
		return postingOutcome{}, err
	}
	pay, err := e.queries.GetPayment(ctx, refund.PaymentID)
	if err != nil {
		return postingOutcome{}, err
	}
	if pay.SalesOrderID == nil {
		return postingOutcome{}, permanent(fmt.Errorf("sync: refund %d has no order to credit", refund.ID))
	}
	order, err := e.queries.GetSalesOrder(ctx, *pay.SalesOrderID)
	if err != nil {
		return postingOutcome{}, err
	}
	customer, err := e.queries.GetCustomer(ctx, derefID(order.CustomerID))
	if err != nil {
		return postingOutcome{}, permanent(fmt.Errorf("sync: customer of order %s: %w", order.CustomerPoNumber, err))
	}
	lines, err := e.queries.ListSalesOrderLinesByOrderIDs(ctx, []int64{order.ID})
	if err != nil {
		return postingOutcome{}, err
	}
	r, err := loadRules(ctx, e.queries)
	if err != nil {
		return postingOutcome{}, err
	}
	line := syspro.CreditNoteLine{CreditReason: "RF", Quantity: decimal.NewFromInt(1), Warehouse: e.cfg.DefaultWarehouse}
	if rule, ok := r.stockCode("syspro", "refund"); ok {
		line.StockCode = rule.StockCode
		if rule.Warehouse != "" {
			line.Warehouse = rule.Warehouse
		}
	} else if len(lines) > 0 {
		line.StockCode = lines[0].SalesOrderLine.StockCode
		if wh := lines[0].SalesOrderLine.Warehouse; wh != nil && *wh != "" {
			line.Warehouse = *wh
		}
	} else {
		return postingOutcome{}, permanent(fmt.Errorf("sync: order %s has no line to credit and no stock_code rule syspro/refund", order.CustomerPoNumber))
	}
	if line.Price, err = r.convert(refund.Amount, refund.Currency, customer.Currency, refund.CreatedAt); err != nil {
		return postingOutcome{}, permanent(fmt.Errorf("sync: refund %d: %w", refund.ID, err))
	}
	ref := refundReference(refund.ID)
	res, err := e.cfg.Syspro.PostCreditNoteOnce(ctx, syspro.CreditNote{Customer: customer.Code, CustomerPoNumber: ref,
		CreditNoteDate: refund.CreatedAt, Lines: []syspro.CreditNoteLine{line}})
	if err != nil {
		return postingOutcome{}, err
	}
	return postingOutcome{reference: res.CreditNoteNumber, response: res,
		apply: func(ctx context.Context, _ pgx.Tx, q *db.Queries) error {
			if err := q.SetRefundCreditRef(ctx, db.SetRefundCreditRefParams{ID: refund.ID, SysproCreditRef: &res.CreditNoteNumber}); err != nil {
				return err
			}
			return appendEvent(ctx, q, TopicPayment, "refund.credited_in_erp", "refund", refund.ID, map[string]any{
				"refundId": refund.ID, "paymentId": pay.ID, "gateway": pay.Gateway, "sysproCreditNote": res.CreditNoteNumber,
				"sysproOrderNumber": order.SysproOrderNumber, "existing": res.Existing,
			})
		}}, nil
}
