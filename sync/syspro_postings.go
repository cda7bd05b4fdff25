package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/db"
)

// orderLinesGrace is how long an order without lines may wait for them before its posting is a
// business error: webhooks arrive out of order, and a capture that comes before its
// authorization may carry no lines.
const orderLinesGrace = 10 * time.Minute

// postSalesOrder adds the canonical order to SYSPRO through SORTOI. The connector looks the
// customer PO number up first, so a retry after a lost answer finds the order instead of adding it
// twice. The order is rebuilt from the canonical rows on every attempt, so a repost after a fix
// (a stock-code mapping, a customer) sends the corrected order.
func (e *Engine) postSalesOrder(ctx context.Context, p db.ErpPosting) (postingOutcome, error) {
	order, err := e.queries.GetSalesOrder(ctx, p.SubjectID)
	if err != nil {
		return postingOutcome{}, fmt.Errorf("sync: load order %d: %w", p.SubjectID, err)
	}
	customer, err := e.ensureCustomer(ctx, order.CustomerID)
	if err != nil {
		return postingOutcome{}, err
	}
	lines, err := e.queries.ListSalesOrderLinesByOrderIDs(ctx, []int64{order.ID})
	if err != nil {
		return postingOutcome{}, err
	}
	so := syspro.SalesOrder{
		CustomerPoNumber: order.CustomerPoNumber,
		Customer:         customer.Code,
		OrderDate:        order.OrderedAt,
		Warehouse:        e.cfg.DefaultWarehouse,
		CustomerName:     customer.Name,
	}
	if customer.Email != nil {
		so.Email = *customer.Email
	}
	so.ShipAddress, so.ShipPostalCode = sysproAddress(order.ShipTo)
	r, err := loadRules(ctx, e.queries)
	if err != nil {
		return postingOutcome{}, err
	}
	for _, l := range lines {
		wh := e.cfg.DefaultWarehouse
		if l.SalesOrderLine.Warehouse != nil && *l.SalesOrderLine.Warehouse != "" {
			wh = *l.SalesOrderLine.Warehouse
		}
		// SYSPRO prices the order in the customer's currency; the shop may have charged another.
		price, err := r.convert(l.SalesOrderLine.UnitPrice, order.Currency, customer.Currency, order.OrderedAt)
		if err != nil {
			return postingOutcome{}, permanent(fmt.Errorf("sync: order %s: %w", order.CustomerPoNumber, err))
		}
		so.Lines = append(so.Lines, syspro.SalesOrderLine{
			StockCode: l.SalesOrderLine.StockCode, Warehouse: wh,
			Quantity: l.SalesOrderLine.Quantity, Price: price,
		})
	}
	if len(so.Lines) == 0 {
		err := fmt.Errorf("sync: order %s has no lines to post", order.CustomerPoNumber)
		if time.Since(order.CreatedAt) < orderLinesGrace {
			// Made from a capture that came before its authorization: the lines come with that.
			return postingOutcome{}, fmt.Errorf("%w yet (waiting up to %v for the gateway record that carries them)", err, orderLinesGrace)
		}
		return postingOutcome{}, permanent(err)
	}
	short, err := e.checkStock(ctx, so.Lines)
	if err != nil {
		return postingOutcome{}, err
	}
	res, err := e.cfg.Syspro.PostSalesOrder(ctx, so, syspro.SalesOrderOptions{})
	if err != nil {
		return postingOutcome{}, err
	}
	if res.SalesOrder == "" {
		return postingOutcome{}, fmt.Errorf("sync: SORTOI for %s answered without an order number", order.CustomerPoNumber)
	}
	return postingOutcome{
		reference: res.SalesOrder,
		response:  res,
		apply: func(ctx context.Context, tx pgx.Tx, q *db.Queries) error {
			status := string(res.OrderStatus)
			posted, err := q.MarkSalesOrderPosted(ctx, db.MarkSalesOrderPostedParams{
				ID: order.ID, SysproOrderNumber: &res.SalesOrder, SysproStatus: nonEmpty(status),
			})
			if err != nil {
				return fmt.Errorf("sync: record SYSPRO order %s: %w", res.SalesOrder, err)
			}
			for _, l := range short {
				if err := raiseAnomaly(ctx, q, anomaly{
					kind: "stock_short", severity: "warning", subjectType: "sales_order", subjectID: order.ID,
					dedupeKey: fmt.Sprintf("stock_short:%d:%s:%s", order.ID, l.StockCode, l.Warehouse),
					summary: fmt.Sprintf("order %s wants %s of %s in %s, SYSPRO had %s available: SYSPRO back-orders the rest",
						order.CustomerPoNumber, l.Quantity, l.StockCode, l.Warehouse, l.Available),
					details: map[string]any{"stockCode": l.StockCode, "warehouse": l.Warehouse, "quantity": l.Quantity,
						"available": l.Available, "sysproOrderNumber": res.SalesOrder},
				}); err != nil {
					return err
				}
			}
			if err := appendEvent(ctx, q, TopicOrder, "order.posted_to_erp", "sales_order", order.ID, map[string]any{
				"orderId": order.ID, "customerPoNumber": order.CustomerPoNumber, "sysproOrderNumber": res.SalesOrder,
				"status": posted.Status, "existing": res.Existing,
			}); err != nil {
				return err
			}
			return e.enqueueArPaymentsTx(ctx, tx, q, order.ID)
		},
	}, nil
}

// enqueueArPaymentsTx owes SYSPRO an AR receipt for every captured payment of a posted order.
// Called both when the order is posted and when a payment is captured: whichever happens second
// enqueues it, and the idempotency key makes the other call a no-op.
func (e *Engine) enqueueArPaymentsTx(ctx context.Context, tx pgx.Tx, q *db.Queries, orderID int64) error {
	if e.cfg.ArPaymentAt == ArPaymentAtShip {
		order, err := q.GetSalesOrder(ctx, orderID)
		if err != nil || !shipped(order.Status) {
			return err // the status read-back enqueues them once SYSPRO ships
		}
	}
	payments, err := q.ListPaymentsByOrderIDs(ctx, []int64{orderID})
	if err != nil {
		return err
	}
	for _, pay := range payments {
		if !receivable(pay) {
			continue
		}
		if _, err := e.EnqueuePostingTx(ctx, tx, PostingRequest{
			Kind: PostingArPayment, BusinessObject: "ARSTPY", SubjectType: "payment", SubjectID: pay.ID,
			IdempotencyKey: fmt.Sprintf("ar_payment:%s:%s", pay.Gateway, pay.GatewayTransactionID),
		}); err != nil {
			return err
		}
	}
	return nil
}

// receivable says whether a payment is money received that SYSPRO should see as an AR receipt.
func receivable(p db.Payment) bool {
	if p.Kind != "sale" && p.Kind != "capture" {
		return false
	}
	switch p.Status {
	case "captured", "settled", "partially_refunded", "refunded":
		return true
	}
	return false
}

// postArPayment posts a captured payment as an unapplied AR receipt against the order's customer
// (SYSPRO raises the invoice at shipment; the receipt is matched to it there). The gateway
// transaction id is the receipt's reference, which is how a retry finds it.
func (e *Engine) postArPayment(ctx context.Context, p db.ErpPosting) (postingOutcome, error) {
	pay, err := e.queries.GetPayment(ctx, p.SubjectID)
	if err != nil {
		return postingOutcome{}, fmt.Errorf("sync: load payment %d: %w", p.SubjectID, err)
	}
	if pay.SalesOrderID == nil {
		return postingOutcome{}, permanent(fmt.Errorf("sync: payment %s has no order", pay.GatewayTransactionID))
	}
	order, err := e.queries.GetSalesOrder(ctx, *pay.SalesOrderID)
	if err != nil {
		return postingOutcome{}, err
	}
	if order.SysproOrderNumber == nil {
		// The receipt follows its order; the order's posting enqueues it again once it succeeds.
		return postingOutcome{}, permanent(fmt.Errorf("sync: order %s of payment %s is not in SYSPRO yet",
			order.CustomerPoNumber, pay.GatewayTransactionID))
	}
	customer, err := e.queries.GetCustomer(ctx, derefID(order.CustomerID))
	if err != nil {
		return postingOutcome{}, permanent(fmt.Errorf("sync: customer of order %s: %w", order.CustomerPoNumber, err))
	}
	r, err := loadRules(ctx, e.queries)
	if err != nil {
		return postingOutcome{}, err
	}
	amount, err := r.convert(pay.Amount, pay.Currency, customer.Currency, pay.OccurredAt)
	if err != nil {
		return postingOutcome{}, permanent(fmt.Errorf("sync: payment %s: %w", pay.GatewayTransactionID, err))
	}
	res, err := e.cfg.Syspro.PostArPaymentOnce(ctx, syspro.ArPayment{
		Customer:    customer.Code,
		PaymentType: syspro.PaymentTypeOther,
		Reference:   pay.GatewayTransactionID,
		PaymentDate: pay.OccurredAt,
		Unapplied:   amount,
	})
	if err != nil {
		return postingOutcome{}, err
	}
	ref := fmt.Sprintf("%d/%02d journal %s", res.TrnYear, res.TrnMonth, strings.TrimSpace(res.Journal))
	return postingOutcome{
		reference: ref,
		response:  res,
		apply: func(ctx context.Context, _ pgx.Tx, q *db.Queries) error {
			return appendEvent(ctx, q, TopicPayment, "payment.posted_to_erp", "payment", pay.ID, map[string]any{
				"paymentId": pay.ID, "gateway": pay.Gateway, "gatewayTransactionId": pay.GatewayTransactionID,
				"sysproReference": ref, "sysproOrderNumber": *order.SysproOrderNumber, "existing": res.Existing,
			})
		},
	}, nil
}

// postCustomer makes sure SYSPRO knows the canonical customer.
func (e *Engine) postCustomer(ctx context.Context, p db.ErpPosting) (postingOutcome, error) {
	id := p.SubjectID
	c, err := e.ensureCustomer(ctx, &id)
	if err != nil {
		return postingOutcome{}, err
	}
	return postingOutcome{reference: c.Code, response: map[string]string{"customer": c.Code}}, nil
}

// ensureCustomer returns the order's customer once SYSPRO knows it: ARSQRY first, then ARSSCS
// when the engine may create customers. Otherwise an unknown customer is SYSPRO's business error.
func (e *Engine) ensureCustomer(ctx context.Context, customerID *int64) (db.Customer, error) {
	if customerID == nil {
		return db.Customer{}, permanent(errors.New("sync: the order has no customer"))
	}
	c, err := e.queries.GetCustomer(ctx, *customerID)
	if err != nil {
		return c, fmt.Errorf("sync: load customer %d: %w", *customerID, err)
	}
	// A customer SYSPRO already confirmed (linked) is not asked about again: SORTOI refuses an
	// unknown customer anyway, as the business error it is.
	links, err := e.queries.ListCustomerLinksByCustomerIDs(ctx, []int64{c.ID})
	if err != nil {
		return c, err
	}
	for _, l := range links {
		if l.System == "syspro" && l.ExternalID == c.Code {
			return c, nil
		}
	}
	known := func() (db.Customer, error) {
		return c, e.queries.LinkCustomer(ctx, db.LinkCustomerParams{CustomerID: c.ID, System: "syspro", ExternalID: c.Code})
	}
	_, err = e.cfg.Syspro.QueryCustomer(ctx, c.Code)
	switch {
	case err == nil:
		return known()
	case !syspro.IsBusiness(err):
		return c, err
	case !e.cfg.CreateCustomers:
		return c, fmt.Errorf("invalid customer %s: %w", c.Code, err)
	}
	setup := syspro.CustomerSetup{Customer: c.Code, Name: c.Name, Currency: c.Currency}
	if c.Email != nil {
		setup.Email = *c.Email
	}
	if c.Phone != nil {
		setup.Telephone = *c.Phone
	}
	setup.SoldToAddr, setup.SoldPostalCode = sysproAddress(c.BillingAddress)
	if _, err := e.cfg.Syspro.AddCustomer(ctx, setup); err != nil {
		// A lost answer to an earlier add leaves the customer there; ARSQRY says so.
		if _, qerr := e.cfg.Syspro.QueryCustomer(ctx, c.Code); qerr == nil {
			return known()
		}
		return c, err
	}
	return known()
}

// sysproAddress lays a canonical address (JSON with line1, line2, city, region, postalCode,
// country) onto SYSPRO's five 40-character lines and a postcode.
func sysproAddress(raw []byte) ([5]string, string) {
	var a struct {
		Line1, Line2, City, Region, PostalCode, Country string
	}
	var out [5]string
	if len(raw) == 0 || json.Unmarshal(raw, &a) != nil {
		return out, ""
	}
	i := 0
	for _, part := range []string{a.Line1, a.Line2, a.City, a.Region, a.Country} {
		part = strings.TrimSpace(part)
		if part == "" || i == len(out) {
			continue
		}
		out[i] = truncate(part, 40)
		i++
	}
	return out, strings.ToUpper(strings.TrimSpace(a.PostalCode))
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func derefID(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// shortLine is an order line SYSPRO has too little stock for.
type shortLine struct {
	StockCode, Warehouse string
	Quantity, Available  decimal.Decimal
}

// checkStock asks SYSPRO (INVQRY) about every stock code of an order before it is added. A stock
// code SYSPRO does not know, or one not stocked in the line's warehouse, is SYSPRO's business
// error, dead-lettered with its text before SORTOI is tried; too little stock is reported back
// (SYSPRO back-orders it, and an anomaly tells the operator).
func (e *Engine) checkStock(ctx context.Context, lines []syspro.SalesOrderLine) ([]shortLine, error) {
	want := map[[2]string]decimal.Decimal{}
	var order [][2]string
	for _, l := range lines {
		k := [2]string{l.StockCode, l.Warehouse}
		if _, ok := want[k]; !ok {
			order = append(order, k)
		}
		want[k] = want[k].Add(l.Quantity)
	}
	var short []shortLine
	for _, k := range order {
		item, err := e.cfg.Syspro.StockAvailable(ctx, k[0], k[1])
		if err != nil {
			return nil, err
		}
		var wh *syspro.WarehouseStock
		for i := range item.Warehouses {
			if strings.EqualFold(item.Warehouses[i].Warehouse, k[1]) {
				wh = &item.Warehouses[i]
			}
		}
		if wh == nil {
			return nil, permanent(fmt.Errorf("stock code %s is not stocked in warehouse %s", k[0], k[1]))
		}
		if wh.AvailableQty.LessThan(want[k]) {
			short = append(short, shortLine{StockCode: k[0], Warehouse: k[1], Quantity: want[k], Available: wh.AvailableQty})
		}
	}
	return short, nil
}
