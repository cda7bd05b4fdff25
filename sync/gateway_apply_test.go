package sync_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	"github.com/payhub/payhub/db"
	hubsync "github.com/payhub/payhub/sync"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// sale is a captured Cybersource sale of two helmets (sent as two lines) and three bottles.
func sale(ref, txid, email string) hubsync.GatewayTxn {
	return hubsync.GatewayTxn{
		Gateway: hubsync.GatewayCybersource, TransactionID: txid, Kind: hubsync.KindSale, GatewayStatus: "AUTHORIZED",
		GatewayStatusCode: "100", Reference: ref, Amount: dec("128.98"), Currency: "gbp",
		OccurredAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), CardBrand: "Visa", CardLastFour: "1111",
		CardExpiryMonth: 12, CardExpiryYear: 2031,
		Customer: hubsync.Party{FirstName: "Ada", LastName: "Lovelace", Email: email,
			BillTo: hubsync.Address{Line1: "1  Analytical   Way", City: "London", PostalCode: "ec1a 1bb", Country: "gb"}},
		Lines: []hubsync.Line{
			{SKU: "A100", Name: "Helmet", Quantity: dec("1"), UnitPrice: dec("49.99")},
			{SKU: "A100", Name: "Helmet", Quantity: dec("1"), UnitPrice: dec("49.99")},
			{SKU: "B100", Name: "Bottle", Quantity: dec("3"), UnitPrice: dec("8.00")},
		},
	}
}

func apply(t *testing.T, h *harness, txns ...hubsync.GatewayTxn) {
	t.Helper()
	for _, x := range txns {
		if err := h.engine.ApplyGatewayTxn(context.Background(), x); err != nil {
			t.Fatalf("apply %s %s: %v", x.Kind, x.TransactionID, err)
		}
	}
}

func exec(t *testing.T, h *harness, sql string, args ...any) {
	t.Helper()
	if _, err := h.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

func countRows(t *testing.T, h *harness, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := h.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func paymentByTxn(t *testing.T, h *harness, gateway, id string) db.Payment {
	t.Helper()
	p, err := db.New(h.pool).GetPaymentByGatewayTransaction(context.Background(),
		db.GetPaymentByGatewayTransactionParams{Gateway: gateway, GatewayTransactionID: id})
	if err != nil {
		t.Fatalf("payment %s: %v", id, err)
	}
	return p
}

func orderByPO(t *testing.T, h *harness, po string) db.SalesOrder {
	t.Helper()
	o, err := db.New(h.pool).GetSalesOrderByCustomerPoNumber(context.Background(), po)
	if err != nil {
		t.Fatalf("order %s: %v", po, err)
	}
	return o
}

func TestGatewaySaleBecomesACanonicalOrderPostedToSyspro(t *testing.T) {
	h := newHarness(t, sysprosim.Options{}, hubsync.Config{CreateCustomers: true})
	// The shop's SKU BOTTLE is SYSPRO's B100: a stock_code rule says so.
	exec(t, h, `INSERT INTO mapping_rules (kind, scope, key, value) VALUES ('stock_code', 'cybersource', 'BOTTLE', '{"stockCode": "B100"}')`)

	s := sale("WEB-1001", "7000000000000000001", "ada@example.com")
	s.Lines[2].SKU = "BOTTLE"
	apply(t, h, s)
	events := countRows(t, h, `SELECT count(*) FROM events`)
	apply(t, h, s) // the same record again: nothing changes
	if got := countRows(t, h, `SELECT count(*) FROM events`); got != events {
		t.Fatalf("applying the same record twice added %d events", got-events)
	}
	counts := h.waitPostings(t, 30*time.Second)
	if counts["sales_order/succeeded"] != 1 || counts["ar_payment/succeeded"] != 1 {
		t.Fatalf("postings: %v\n%s", counts, lastErrors(t, h))
	}

	o := orderByPO(t, h, "WEB-1001")
	if o.Status != "open" || o.SysproOrderNumber == nil || o.Source != "cybersource" || o.Currency != "GBP" ||
		!o.TotalAmount.Equal(dec("128.98")) || !o.SubtotalAmount.Equal(dec("123.98")) || !o.ShippingAmount.Equal(dec("5.00")) {
		t.Fatalf("order: %+v", o)
	}
	lines, _ := db.New(h.pool).ListSalesOrderLinesByOrderIDs(context.Background(), []int64{o.ID})
	if len(lines) != 2 || lines[0].SalesOrderLine.StockCode != "A100" || !lines[0].SalesOrderLine.Quantity.Equal(dec("2")) ||
		lines[1].SalesOrderLine.StockCode != "B100" || !lines[1].SalesOrderLine.LineTotal.Equal(dec("24")) {
		t.Fatalf("lines not mapped and aggregated: %+v", lines)
	}
	c, err := db.New(h.pool).GetCustomer(context.Background(), *o.CustomerID)
	if err != nil || c.Code != "W000001" || c.Name != "Ada Lovelace" || string(c.BillingAddress) == "" {
		t.Fatalf("customer: %+v %v", c, err)
	}
	if got := string(o.ShipTo); got != `{"city": "London", "line1": "1 Analytical Way", "country": "GB", "postalCode": "EC1A 1BB"}` {
		t.Fatalf("ship-to not standardised: %s", got)
	}
	p := paymentByTxn(t, h, "cybersource", s.TransactionID)
	if p.Status != "captured" || p.SalesOrderID == nil || *p.SalesOrderID != o.ID || p.CardLastFour == nil || *p.CardLastFour != "1111" {
		t.Fatalf("payment: %+v", p)
	}

	st := h.sim.State()
	var simOrder *sysprosim.SalesOrder
	for i := range st.SalesOrders {
		if st.SalesOrders[i].CustomerPoNumber == "WEB-1001" {
			simOrder = &st.SalesOrders[i]
		}
	}
	if simOrder == nil || simOrder.Customer != "W000001" || len(simOrder.Lines) != 2 || simOrder.ShipPostalCode != "EC1A 1BB" {
		t.Fatalf("SYSPRO order: %+v", simOrder)
	}
	if len(st.ArPayments) != 1 || !st.ArPayments[0].PaymentValue.Equal(dec("128.98")) || st.ArPayments[0].Reference != s.TransactionID {
		t.Fatalf("SYSPRO AR payments: %+v", st.ArPayments)
	}

	// A second order from the same shopper finds the customer by e-mail.
	apply(t, h, sale("WEB-1002", "7000000000000000002", "ADA@example.com"))
	if o2 := orderByPO(t, h, "WEB-1002"); *o2.CustomerID != *o.CustomerID {
		t.Fatalf("second order has another customer")
	}
}

func TestFraudReviewHoldsTheOrderUntilTheGatewayDecides(t *testing.T) {
	h := newHarness(t, sysprosim.Options{}, hubsync.Config{CreateCustomers: true})
	score := 87
	auth := sale("WEB-2001", "7100000000000000001", "rev@example.com")
	auth.Kind, auth.GatewayStatus, auth.GatewayStatusCode = hubsync.KindAuthorization, "AUTHORIZED_PENDING_REVIEW", "480"
	auth.RiskDecision, auth.RiskScore, auth.RiskReasons = "review", &score, []string{"velocity"}
	apply(t, h, auth)

	o := orderByPO(t, h, "WEB-2001")
	if o.Status != "on_hold" || o.HoldReason == nil {
		t.Fatalf("order under review: %+v", o)
	}
	if n := countRows(t, h, `SELECT count(*) FROM fraud_reviews WHERE status = 'open' AND gateway_decision = 'review' AND score = 87`); n != 1 {
		t.Fatalf("open reviews: %d", n)
	}
	if n := countRows(t, h, `SELECT count(*) FROM erp_postings`); n != 0 {
		t.Fatalf("an order under review was posted")
	}

	auth.GatewayStatus, auth.GatewayStatusCode, auth.RiskDecision = "AUTHORIZED", "100", "accept"
	apply(t, h, auth)
	counts := h.waitPostings(t, 30*time.Second)
	if counts["sales_order/succeeded"] != 1 {
		t.Fatalf("postings after acceptance: %v\n%s", counts, lastErrors(t, h))
	}
	if o := orderByPO(t, h, "WEB-2001"); o.Status != "open" {
		t.Fatalf("order after acceptance: %s", o.Status)
	}
	if n := countRows(t, h, `SELECT count(*) FROM fraud_reviews WHERE status = 'accepted' AND decided_by = 'gateway'`); n != 1 {
		t.Fatalf("review not closed")
	}
	// An authorisation is not money received: no AR receipt until it is captured.
	if counts["ar_payment/succeeded"] != 0 {
		t.Fatalf("receipt for an authorisation: %v", counts)
	}
	capture := hubsync.GatewayTxn{Gateway: "cybersource", TransactionID: "7100000000000000002", ParentTransactionID: auth.TransactionID,
		Kind: hubsync.KindCapture, GatewayStatus: "PENDING", Reference: "WEB-2001", Amount: auth.Amount, Currency: "GBP",
		OccurredAt: auth.OccurredAt.Add(time.Hour)}
	apply(t, h, capture)
	counts = h.waitPostings(t, 30*time.Second)
	if counts["ar_payment/succeeded"] != 1 {
		t.Fatalf("capture did not post a receipt: %v", counts)
	}
	if p := paymentByTxn(t, h, "cybersource", auth.TransactionID); p.Status != "captured" {
		t.Fatalf("authorisation after capture: %s", p.Status)
	}
}

func TestDeclinesRefundsStaleReadsAndUnmappedStatuses(t *testing.T) {
	h := newHarness(t, sysprosim.Options{}, hubsync.Config{CreateCustomers: true})
	declined := sale("WEB-3001", "7200000000000000001", "dec@example.com")
	declined.GatewayStatus, declined.GatewayStatusCode = "DECLINED", "202"
	apply(t, h, declined)
	if p := paymentByTxn(t, h, "cybersource", declined.TransactionID); p.Status != "declined" || p.SalesOrderID != nil {
		t.Fatalf("declined payment: %+v", p)
	}
	if n := countRows(t, h, `SELECT count(*) FROM sales_orders`); n != 0 {
		t.Fatalf("a decline made an order")
	}
	// The shopper tries another card under the same reference.
	retry := sale("WEB-3001", "7200000000000000002", "dec@example.com")
	apply(t, h, retry)
	o := orderByPO(t, h, "WEB-3001")
	if o.Status != "posting" {
		t.Fatalf("order after the retry: %s", o.Status)
	}

	// Two refunds: the first leaves the sale partially refunded, the second refunded.
	refund := func(id, amount string) hubsync.GatewayTxn {
		return hubsync.GatewayTxn{Gateway: "cybersource", TransactionID: id, ParentTransactionID: retry.TransactionID,
			Kind: hubsync.KindRefund, GatewayStatus: "PENDING", Reference: "WEB-3001", Amount: dec(amount), Currency: "GBP",
			OccurredAt: retry.OccurredAt.Add(time.Hour)}
	}
	apply(t, h, refund("7200000000000000003", "28.98"))
	if p := paymentByTxn(t, h, "cybersource", retry.TransactionID); p.Status != "partially_refunded" {
		t.Fatalf("after a partial refund: %s", p.Status)
	}
	apply(t, h, refund("7200000000000000004", "100.00"))
	if p := paymentByTxn(t, h, "cybersource", retry.TransactionID); p.Status != "refunded" {
		t.Fatalf("after the full refund: %s", p.Status)
	}
	// A stale read (the sale as it was before the refunds) moves nothing back.
	apply(t, h, retry)
	if p := paymentByTxn(t, h, "cybersource", retry.TransactionID); p.Status != "refunded" || p.GatewayStatus != "AUTHORIZED" {
		t.Fatalf("a stale read moved the payment: %s %s", p.Status, p.GatewayStatus)
	}

	// A status no rule maps: kept as unknown, an anomaly raised, the janitor's list has it.
	odd := sale("WEB-3002", "7200000000000000005", "odd@example.com")
	odd.GatewayStatus = "SOMETHING_NEW"
	apply(t, h, odd)
	if p := paymentByTxn(t, h, "cybersource", odd.TransactionID); p.Status != "unknown" {
		t.Fatalf("unmapped status: %s", p.Status)
	}
	if n := countRows(t, h, `SELECT count(*) FROM anomalies WHERE kind = 'unmapped_gateway_status' AND status = 'open'`); n != 1 {
		t.Fatalf("no anomaly for the unmapped status")
	}
	// Seen again (the janitor re-reads it): the open anomaly is refreshed, not announced twice.
	apply(t, h, odd)
	if n := countRows(t, h, `SELECT count(*) FROM events WHERE kind = 'anomaly.raised'`); n != 1 {
		t.Fatalf("%d anomaly.raised events for one open anomaly, want 1", n)
	}
	recheck, _ := db.New(h.pool).ListPaymentsToRecheck(context.Background(), 10)
	if len(recheck) != 1 || recheck[0].GatewayTransactionID != odd.TransactionID {
		t.Fatalf("janitor's list: %+v", recheck)
	}
	// Once an admin maps it, the next read applies.
	exec(t, h, `INSERT INTO mapping_rules (kind, scope, key, value, updated_by) VALUES ('status_map', 'cybersource', 'sale:SOMETHING_NEW', '{"status": "captured"}', 'test')`)
	apply(t, h, odd)
	if p := paymentByTxn(t, h, "cybersource", odd.TransactionID); p.Status != "captured" {
		t.Fatalf("after the rule: %s", p.Status)
	}
	h.waitPostings(t, 30*time.Second)
}

func TestOpayoPaymentWithoutLinesAndForeignCurrency(t *testing.T) {
	h := newHarness(t, sysprosim.Options{}, hubsync.Config{CreateCustomers: true})
	// A GBP customer already known to SYSPRO pays in euros.
	exec(t, h, `INSERT INTO customers (code, name, email, currency) VALUES ('000002', 'Outdoor World', 'ap@outdoor.example', 'GBP')`)
	pay := hubsync.GatewayTxn{Gateway: "opayo", TransactionID: "A1B2C3D4-0000-4000-8000-000000000001", Kind: hubsync.KindSale,
		GatewayStatus: "Ok", GatewayStatusCode: "16", Reference: "OP-4001", Amount: dec("100.00"), Currency: "EUR",
		OccurredAt: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), Description: "Order OP-4001",
		Customer: hubsync.Party{FirstName: "Pat", LastName: "Buyer", Email: "AP@outdoor.example"}}
	apply(t, h, pay)
	counts := h.waitPostings(t, 30*time.Second)
	if counts["sales_order/dead"] != 1 {
		t.Fatalf("without an FX rate the order should be dead: %v", counts)
	}
	dead := h.posting(t, "sales_order:OP-4001")
	if dead.LastError == nil || !strings.Contains(*dead.LastError, "no FX rate EUR/GBP") {
		t.Fatalf("dead posting's error: %v", dead.LastError)
	}
	exec(t, h, `INSERT INTO mapping_rules (kind, scope, key, value) VALUES ('fx_rate', '*', 'EUR/GBP',
		'{"rates": [{"from": "2026-01-01", "rate": "0.8000"}, {"from": "2026-11-01", "rate": "0.8500"}, {"from": "2026-12-01", "rate": "0.9000"}]}')`)
	if _, err := h.engine.Repost(context.Background(), dead.ID, "test"); err != nil {
		t.Fatal(err)
	}
	counts = h.waitPostings(t, 30*time.Second)
	if counts["sales_order/succeeded"] != 1 || counts["ar_payment/succeeded"] != 1 {
		t.Fatalf("after the rate: %v", counts)
	}
	st := h.sim.State()
	var found bool
	for _, o := range st.SalesOrders {
		if o.CustomerPoNumber == "OP-4001" {
			found = true
			if o.Customer != "000002" || len(o.Lines) != 1 || o.Lines[0].StockCode != "WEBSALE" || !o.Lines[0].Price.Equal(dec("85")) {
				t.Fatalf("SYSPRO order: %+v", o)
			}
		}
	}
	if !found || len(st.ArPayments) != 1 || !st.ArPayments[0].PaymentValue.Equal(dec("85")) {
		t.Fatalf("SYSPRO: order found %v, payments %+v", found, st.ArPayments)
	}
}

func lastErrors(t *testing.T, h *harness) string {
	rows, _ := h.pool.Query(context.Background(), `SELECT idempotency_key || ': ' || coalesce(last_error, '') FROM erp_postings`)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

func TestShortStockIsReportedAndReceiptsWaitForShipmentByPolicy(t *testing.T) {
	h := newHarness(t, sysprosim.Options{}, hubsync.Config{CreateCustomers: true, ArPaymentAt: hubsync.ArPaymentAtShip})
	s := sale("WEB-5001", "7500000000000000001", "seat@example.com")
	s.Lines = []hubsync.Line{{SKU: "C200", Name: "Child seat", Quantity: dec("5"), UnitPrice: dec("120.00")}}
	s.Amount = dec("600.00")
	apply(t, h, s)
	counts := h.waitPostings(t, 30*time.Second)
	if counts["sales_order/succeeded"] != 1 || counts["ar_payment/succeeded"] != 0 {
		t.Fatalf("postings: %v\n%s", counts, lastErrors(t, h))
	}
	var summary string
	if err := h.pool.QueryRow(context.Background(), `SELECT summary FROM anomalies WHERE kind = 'stock_short'`).Scan(&summary); err != nil ||
		!strings.Contains(summary, "wants 5 of C200 in FG, SYSPRO had 3 available") {
		t.Fatalf("stock_short anomaly: %q %v", summary, err)
	}

	// The goods leave: SYSPRO moves the order to 9; the read-back owes SYSPRO the receipt.
	o := orderByPO(t, h, "WEB-5001")
	client := newSysproClient(t, h.url)
	if _, err := client.ChangeOrderStatus(context.Background(), syspro.OrderStatusChange{SalesOrder: *o.SysproOrderNumber, NewStatus: "9"}); err != nil {
		t.Fatal(err)
	}
	if err := h.engine.RefreshOrderStatus(context.Background(), o.ID); err != nil {
		t.Fatal(err)
	}
	counts = h.waitPostings(t, 30*time.Second)
	if counts["ar_payment/succeeded"] != 1 {
		t.Fatalf("after shipment: %v\n%s", counts, lastErrors(t, h))
	}
	if o := orderByPO(t, h, "WEB-5001"); o.Status != "complete" {
		t.Fatalf("order after shipment: %s", o.Status)
	}
}

// Webhooks come out of order: the capture (which carries no lines) arrives before its
// authorization. The order it makes waits for its lines instead of dying as "no lines", takes
// them from the authorization, and is posted to SYSPRO with them.
func TestACaptureBeforeItsAuthorizationMakesAnOrderThatWaitsForItsLines(t *testing.T) {
	h := newHarness(t, sysprosim.Options{}, hubsync.Config{CreateCustomers: true})
	auth := sale("WEB-3001", "7200000000000000001", "grace@example.com")
	auth.Kind = hubsync.KindAuthorization
	capture := hubsync.GatewayTxn{Gateway: "cybersource", TransactionID: "7200000000000000002", ParentTransactionID: auth.TransactionID,
		Kind: hubsync.KindCapture, GatewayStatus: "PENDING", Reference: "WEB-3001", Amount: auth.Amount, Currency: "GBP",
		OccurredAt: auth.OccurredAt.Add(time.Minute), Customer: auth.Customer}
	apply(t, h, capture)
	o := orderByPO(t, h, "WEB-3001")
	if n := countRows(t, h, `SELECT count(*) FROM sales_order_lines WHERE sales_order_id = $1`, o.ID); n != 0 {
		t.Fatalf("the capture carried no lines, yet the order has %d", n)
	}
	time.Sleep(300 * time.Millisecond) // the posting tries (and waits) before the authorization comes
	apply(t, h, auth)
	counts := h.waitPostings(t, 30*time.Second)
	if counts["sales_order/succeeded"] != 1 || counts["sales_order/dead"] != 0 {
		t.Fatalf("postings: %v\n%s", counts, lastErrors(t, h))
	}
	o = orderByPO(t, h, "WEB-3001")
	if o.Status != "open" || !o.SubtotalAmount.Equal(dec("123.98")) || !o.ShippingAmount.Equal(dec("5.00")) {
		t.Fatalf("order after its lines came: %+v", o)
	}
	var simLines int
	for _, so := range h.sim.State().SalesOrders {
		if so.CustomerPoNumber == "WEB-3001" {
			simLines = len(so.Lines)
		}
	}
	if simLines != 2 {
		t.Fatalf("SYSPRO has the order with %d lines, want 2", simLines)
	}
	// A later record with lines (a redelivery) adds none: the order has its lines.
	apply(t, h, auth)
	if n := countRows(t, h, `SELECT count(*) FROM sales_order_lines WHERE sales_order_id = $1`, o.ID); n != 2 {
		t.Fatalf("lines after a redelivery: %d", n)
	}
}
