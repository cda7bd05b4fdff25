package sync_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	hubsync "github.com/payhub/payhub/sync"
)

// harness is one engine on a fresh database, posting to a SYSPRO simulator over HTTP.
type harness struct {
	url    string // the SYSPRO simulator's base URL
	pool   *pgxpool.Pool
	sim    *sysprosim.Server
	engine *hubsync.Engine
}

func newHarness(t *testing.T, simOpts sysprosim.Options, cfg hubsync.Config) *harness {
	t.Helper()
	pool := dbtest.New(t)
	simOpts.SeatsPerOperator = 4
	sim := sysprosim.New(simOpts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg.Pool, cfg.Syspro = pool, newSysproClient(t, srv.URL)
	if cfg.Backoff == (hubsync.Backoff{}) {
		cfg.Backoff = hubsync.Backoff{Base: 10 * time.Millisecond, Max: 200 * time.Millisecond}
	}
	cfg.FetchPollInterval = 100 * time.Millisecond
	e, err := hubsync.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		e.Stop(sctx)
		cancel()
	})
	return &harness{url: srv.URL, pool: pool, sim: sim, engine: e}
}

// order is a shop order paid by one captured card payment, as normalisation leaves it.
type order struct {
	po, customer, stockCode string
	quantity, price         string
}

// placeOrder writes the canonical rows of o and enqueues its SYSPRO posting, in one transaction.
func (h *harness) placeOrder(t *testing.T, o order) (orderID int64) {
	t.Helper()
	ctx := context.Background()
	qty, price := decimal.RequireFromString(o.quantity), decimal.RequireFromString(o.price)
	total := qty.Mul(price)
	err := pgx.BeginFunc(ctx, h.pool, func(tx pgx.Tx) error {
		var customerID int64
		if err := tx.QueryRow(ctx, `INSERT INTO customers (code, name, email) VALUES ($1, $2, $3)
			ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
			o.customer, "Customer "+o.customer, strings.ToLower(o.customer)+"@example.com").Scan(&customerID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO sales_orders (customer_id, customer_po_number, source, currency, total_amount, ship_to)
			VALUES ($1, $2, 'cybersource', 'GBP', $3, '{"line1":"1 Harbour Road","city":"Bristol","postalCode":"bs1 1aa"}') RETURNING id`,
			customerID, o.po, total).Scan(&orderID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sales_order_lines (sales_order_id, line_number, stock_code, quantity, unit_price, line_total)
			VALUES ($1, 1, $2, $3, $4, $5)`, orderID, o.stockCode, qty, price, total); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference, kind, sales_order_id,
			customer_id, status, amount, currency, occurred_at) VALUES ('cybersource', $1, $2, 'sale', $3, $4, 'captured', $5, 'GBP', now())`,
			"TX-"+o.po, o.po, orderID, customerID, total); err != nil {
			return err
		}
		_, err := h.engine.EnqueuePostingTx(ctx, tx, hubsync.PostingRequest{
			Kind: hubsync.PostingSalesOrder, BusinessObject: "SORTOI", SubjectType: "sales_order", SubjectID: orderID,
			IdempotencyKey: "sales_order:" + o.po,
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return orderID
}

// waitPostings waits until no posting is pending or in progress, and returns the count per status.
func (h *harness) waitPostings(t *testing.T, timeout time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		counts := map[string]int{}
		rows, err := db.New(h.pool).CountErpPostingsByStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		open := 0
		for _, r := range rows {
			counts[r.Kind+"/"+r.Status] += int(r.Postings)
			if r.Status == "pending" || r.Status == "in_progress" {
				open += int(r.Postings)
			}
		}
		if open == 0 {
			return counts
		}
		if time.Now().After(deadline) {
			dumpJobs(t, h)
			t.Fatalf("postings still open after %v: %v", timeout, counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h *harness) posting(t *testing.T, key string) db.ErpPosting {
	t.Helper()
	p, err := db.New(h.pool).GetErpPostingByIdempotencyKey(context.Background(), key)
	if err != nil {
		t.Fatalf("posting %s: %v", key, err)
	}
	return p
}

func TestPaidOrderBecomesASysproOrderAndAnArReceipt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sysprosim.Options{}, hubsync.Config{})
	id := h.placeOrder(t, order{po: "WEB-1001", customer: "WEBS01", stockCode: "A100", quantity: "2", price: "49.99"})

	counts := h.waitPostings(t, 30*time.Second)
	if counts["sales_order/succeeded"] != 1 || counts["ar_payment/succeeded"] != 1 || len(counts) != 2 {
		t.Fatalf("postings %v, want one succeeded sales order and one AR payment", counts)
	}
	st := h.sim.State()
	if len(st.SalesOrders) != 1 || st.SalesOrders[0].CustomerPoNumber != "WEB-1001" || st.SalesOrders[0].Customer != "WEBS01" {
		t.Fatalf("SYSPRO orders %+v", st.SalesOrders)
	}
	if len(st.ArPayments) != 1 || !st.ArPayments[0].PaymentValue.Equal(decimal.RequireFromString("99.98")) ||
		st.ArPayments[0].Reference != "TX-WEB-1001" {
		t.Fatalf("SYSPRO AR payments %+v", st.ArPayments)
	}
	o, err := db.New(h.pool).GetSalesOrder(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if o.SysproOrderNumber == nil || *o.SysproOrderNumber != st.SalesOrders[0].SalesOrder || o.Status != "open" {
		t.Errorf("canonical order: number %v status %s, SYSPRO has %s", o.SysproOrderNumber, o.Status, st.SalesOrders[0].SalesOrder)
	}
	if p := h.posting(t, "sales_order:WEB-1001"); p.SysproReference == nil || *p.SysproReference != st.SalesOrders[0].SalesOrder {
		t.Errorf("posting reference %v", p.SysproReference)
	}
	var kinds []string
	rows, _ := h.pool.Query(context.Background(), `SELECT kind FROM events WHERE topic IN ('erp', 'order', 'payment') ORDER BY xact_id, id`)
	kinds, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"erp_posting.queued", "order.posted_to_erp", "erp_posting.queued", "erp_posting.succeeded",
		"payment.posted_to_erp", "erp_posting.succeeded"}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", kinds, want)
	}
}

func TestSysproBusinessErrorsAreDeadLetteredAndRepostSucceedsAfterTheFix(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sysprosim.Options{}, hubsync.Config{})
	h.placeOrder(t, order{po: "WEB-2001", customer: "WEBS01", stockCode: "ZZ999", quantity: "1", price: "10.00"})
	h.placeOrder(t, order{po: "WEB-2002", customer: "NEWC01", stockCode: "A100", quantity: "1", price: "49.99"})

	counts := h.waitPostings(t, 30*time.Second)
	if counts["sales_order/dead"] != 2 || len(counts) != 1 {
		t.Fatalf("postings %v, want two dead sales orders", counts)
	}
	stock := h.posting(t, "sales_order:WEB-2001")
	if stock.ErrorClass == nil || *stock.ErrorClass != "business" || stock.LastError == nil ||
		!strings.Contains(*stock.LastError, "Stock code 'ZZ999' not found") {
		t.Errorf("bad stock code posting: class %v error %v number %v", deref(stock.ErrorClass), deref(stock.LastError), deref(stock.SysproErrorNumber))
	}
	if stock.Attempts != 1 {
		t.Errorf("a business error was tried %d times, want once", stock.Attempts)
	}
	customer := h.posting(t, "sales_order:WEB-2002")
	if customer.LastError == nil || !strings.Contains(*customer.LastError, "invalid customer NEWC01") {
		t.Errorf("unknown customer posting: %v", customer.LastError)
	}
	var anomalies, failed int
	h.pool.QueryRow(context.Background(), `SELECT count(*) FROM anomalies WHERE kind = 'erp_posting_dead' AND status = 'open'`).Scan(&anomalies)
	h.pool.QueryRow(context.Background(), `SELECT count(*) FROM sales_orders WHERE status = 'failed'`).Scan(&failed)
	if anomalies != 2 || failed != 2 {
		t.Errorf("%d open anomalies and %d failed orders, want 2 and 2", anomalies, failed)
	}
	if n := len(h.sim.State().SalesOrders); n != 0 {
		t.Fatalf("SYSPRO holds %d orders after refusals", n)
	}

	// Reposting before the fix fails the same way; after it, both orders go through.
	if _, err := h.engine.Repost(context.Background(), stock.ID, "ops@example.com"); err != nil {
		t.Fatal(err)
	}
	if counts := h.waitPostings(t, 5*time.Second); counts["sales_order/dead"] != 2 {
		t.Fatalf("repost before the fix: %v", counts)
	}
	if _, err := h.engine.Repost(context.Background(), customer.ID+1000, "ops"); err == nil {
		t.Error("reposting a posting that is not dead succeeded")
	}
	h.sim.Seed(sysprosim.Seed{
		Stock: []sysprosim.StockItem{{StockCode: "ZZ999", Description: "New item", StockUom: "EA",
			Warehouses: []*sysprosim.WarehouseStock{{Warehouse: "FG", QtyOnHand: decimal.NewFromInt(5)}}}},
		Customers: []sysprosim.Customer{{Customer: "NEWC01", Name: "New Customer", Currency: "GBP"}},
	})
	for _, p := range []db.ErpPosting{stock, customer} {
		if _, err := h.engine.Repost(context.Background(), p.ID, "ops@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	counts = h.waitPostings(t, 30*time.Second)
	if counts["sales_order/succeeded"] != 2 || counts["ar_payment/succeeded"] != 2 || len(counts) != 2 {
		t.Fatalf("after the fix: %v", counts)
	}
	if n := len(h.sim.State().SalesOrders); n != 2 {
		t.Errorf("SYSPRO holds %d orders, want 2", n)
	}
}

func TestUnknownCustomerIsCreatedWhenPolicyAllows(t *testing.T) {
	t.Parallel()
	h := newHarness(t, sysprosim.Options{}, hubsync.Config{CreateCustomers: true})
	h.placeOrder(t, order{po: "WEB-3001", customer: "NEWC02", stockCode: "B100", quantity: "3", price: "8.00"})
	if counts := h.waitPostings(t, 30*time.Second); counts["sales_order/succeeded"] != 1 || counts["ar_payment/succeeded"] != 1 {
		t.Fatalf("postings %v", counts)
	}
	found := false
	for _, c := range h.sim.State().Customers {
		if c.Customer == "NEWC02" {
			found = c.Name == "Customer NEWC02"
		}
	}
	if !found {
		t.Error("customer NEWC02 was not created in SYSPRO with its canonical name")
	}
}

func TestOrdersArePostedExactlyOnceUnderSysproFaults(t *testing.T) {
	t.Parallel()
	const n = 60
	h := newHarness(t, sysprosim.Options{
		Faults:    sysprosim.Faults{ErrorRate: 0.1, LostResponseRate: 0.1},
		FaultSeed: 7,
	}, hubsync.Config{})
	for i := range n {
		h.placeOrder(t, order{po: fmt.Sprintf("FLT-%04d", i), customer: "WEBS01", stockCode: "B100", quantity: "1", price: "8.00"})
	}
	counts := h.waitPostings(t, 2*time.Minute)
	if counts["sales_order/succeeded"] != n || counts["ar_payment/succeeded"] != n {
		dumpJobs(t, h)
		t.Fatalf("postings %v, want %d succeeded of each", counts, n)
	}
	st := h.sim.State()
	seen := map[string]int{}
	for _, o := range st.SalesOrders {
		seen["order "+o.CustomerPoNumber]++
	}
	for _, p := range st.ArPayments {
		seen["receipt "+p.Reference]++
	}
	if len(st.SalesOrders) != n || len(st.ArPayments) != n {
		t.Errorf("SYSPRO holds %d orders and %d receipts, want %d of each", len(st.SalesOrders), len(st.ArPayments), n)
	}
	for k, c := range seen {
		if c != 1 {
			t.Errorf("%s posted %d times", k, c)
		}
	}
	var retried int
	h.pool.QueryRow(context.Background(), `SELECT count(*) FROM erp_postings WHERE attempts > 1`).Scan(&retried)
	if retried == 0 {
		t.Error("no posting needed a retry: the faults were not exercised")
	}
}

// dumpJobs logs the River jobs and unfinished postings, to explain a failure.
func dumpJobs(t *testing.T, h *harness) {
	rows, err := h.pool.Query(context.Background(), `SELECT id, kind, state, attempt, args::text, coalesce(array_to_string(errors::text[], ' | '),'') FROM river_job ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var kind, state, args, errs string
		var attempt int
		rows.Scan(&id, &kind, &state, &attempt, &args, &errs)
		if len(errs) > 300 {
			errs = errs[:300]
		}
		t.Logf("job %d %s %s attempt %d %s %s", id, kind, state, attempt, args, errs)
	}
	rows, _ = h.pool.Query(context.Background(), `SELECT id, idempotency_key, status, attempts, coalesce(last_error,'') FROM erp_postings ORDER BY id`)
	for rows.Next() {
		var id int64
		var key, status, lastErr string
		var attempts int
		rows.Scan(&id, &key, &status, &attempts, &lastErr)
		if status != "succeeded" {
			t.Logf("posting %d %s %s attempts %d %s", id, key, status, attempts, lastErr)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
