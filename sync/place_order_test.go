package sync_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/connectors/opayo/opayosim"
	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	hubsync "github.com/payhub/payhub/sync"
)

// checkoutRig is a running engine with all three simulators, as a storefront sees the hub.
type checkoutRig struct {
	engine  *hubsync.Engine
	pool    *pgxpool.Pool
	q       *db.Queries
	syspro  *sysprosim.Server
	sp      *syspro.Client
	cs      *cybersourcesim.Server
	op      *opayo.Client
	opSim   *opayosim.Server
	onStock func() // called on each INVQRY the engine makes, before it is sent
}

// spySyspro is the SYSPRO client with a hook on stock queries, for the tests that need SYSPRO to
// change between the hub's checks and its order (someone at SYSPRO doing their job meanwhile).
type spySyspro struct {
	*syspro.Client
	rig *checkoutRig
}

func (s spySyspro) StockAvailable(ctx context.Context, code, wh string) (*syspro.StockItem, error) {
	if s.rig.onStock != nil {
		s.rig.onStock()
	}
	return s.Client.StockAvailable(ctx, code, wh)
}

func newCheckoutRig(t *testing.T, createCustomers bool) *checkoutRig {
	t.Helper()
	pool := dbtest.New(t)
	rig := &checkoutRig{q: db.New(pool), pool: pool}

	rig.syspro = sysprosim.New(sysprosim.Options{SeatsPerOperator: 4})
	spSrv := httptest.NewServer(rig.syspro)
	t.Cleanup(spSrv.Close)
	rig.sp = newSysproClient(t, spSrv.URL)

	rig.cs = cybersourcesim.New(cybersourcesim.Options{})
	csSrv := httptest.NewServer(rig.cs)
	t.Cleanup(csSrv.Close)
	cs, err := cybersource.New(cybersource.Config{BaseURL: csSrv.URL, MerchantID: cybersourcesim.DefaultMerchantID,
		KeyID: cybersourcesim.DefaultKeyID, Secret: cybersourcesim.DefaultSecret})
	if err != nil {
		t.Fatal(err)
	}

	rig.opSim = opayosim.New(opayosim.Options{NotificationRetry: opayosim.RetryPolicy{Count: -1}})
	opSrv := httptest.NewServer(rig.opSim)
	t.Cleanup(opSrv.Close)
	rig.op, err = opayo.New(opayo.Config{PiURL: opSrv.URL + opayosim.PiBasePath,
		IntegrationKey: opayosim.DefaultIntegrationKey, IntegrationPassword: opayosim.DefaultIntegrationPassword,
		Vendor: opayosim.DefaultVendor, ReportingURL: opSrv.URL + opayosim.ReportingPath,
		ReportingUser: opayosim.DefaultReportingUser, ReportingPassword: opayosim.DefaultReportingPassword})
	if err != nil {
		t.Fatal(err)
	}

	e, err := hubsync.New(hubsync.Config{Pool: pool, Syspro: spySyspro{rig.sp, rig}, Cybersource: cs, Opayo: rig.op,
		CreateCustomers: createCustomers, PollInterval: time.Hour, StatusInterval: time.Hour,
		Backoff: hubsync.Backoff{Base: 10 * time.Millisecond, Max: 100 * time.Millisecond}, MaxAttempts: 3,
		FetchPollInterval: 100 * time.Millisecond, PlaceOrderWait: 20 * time.Second})
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
	rig.engine = e
	return rig
}

// transientToken tokenises a card as the shopper's browser would (Microform), at the simulator.
func (r *checkoutRig) transientToken(t *testing.T, number, cvv string) string {
	t.Helper()
	tok, err := r.cs.IssueTransientToken(cybersourcesim.TransientTokenRequest{Number: number, ExpirationMonth: "12",
		ExpirationYear: "2031", SecurityCode: cvv})
	if err != nil {
		t.Fatal(err)
	}
	return tok.TransientToken
}

// cardIdentifier tokenises a card as Opayo's drop-in checkout would, with a session key the hub made.
func (r *checkoutRig) cardIdentifier(t *testing.T, pan string) (msk, card string) {
	t.Helper()
	ctx := context.Background()
	key, err := r.engine.CreateOpayoMerchantSessionKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := r.op.CreateCardIdentifier(ctx, key.Key, opayo.CardDetails{CardholderName: "SAM JONES",
		CardNumber: opayo.Secret(pan), ExpiryDate: "1230", SecurityCode: "123"})
	if err != nil {
		t.Fatal(err)
	}
	return key.Key, ci.ID
}

func (r *checkoutRig) gatewayTransactions(t *testing.T) int {
	t.Helper()
	return len(r.cs.State().Transactions)
}

func (r *checkoutRig) sysproOrders(t *testing.T, po string) []sysprosim.SalesOrder {
	t.Helper()
	var out []sysprosim.SalesOrder
	for _, so := range r.syspro.State().SalesOrders {
		if so.CustomerPoNumber == po {
			out = append(out, so)
		}
	}
	return out
}

func checkoutRequest(key, ref, token string) hubsync.PlaceOrderRequest {
	return hubsync.PlaceOrderRequest{
		IdempotencyKey: key, Reference: ref, Currency: "GBP",
		Customer: hubsync.OrderCustomer{Code: "000001", Name: "Bayside Bikes", Email: "accounts@bayside.example",
			BillTo: hubsync.Address{Line1: "1 Harbour Road", City: "Bristol", PostalCode: "BS1 1AA", Country: "GB"}},
		Lines: []hubsync.PlaceOrderLine{
			{StockCode: "A100", Quantity: dec("2"), UnitPrice: dec("49.99")},
			{StockCode: "B100", Quantity: dec("1"), UnitPrice: dec("8.00"), Description: "Water bottle"},
		},
		Payment:     hubsync.PaymentMethod{Gateway: "cybersource", Capture: true, TransientToken: token},
		RequestedBy: "shop",
	}
}

func TestPlaceOrderPaysWithATokenAndLandsInSyspro(t *testing.T) {
	rig := newCheckoutRig(t, false)
	ctx := context.Background()
	req := checkoutRequest("k1", "WEB-1001", rig.transientToken(t, "4111111111111111", "123"))
	placed, err := rig.engine.PlaceOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if placed.Order.SysproOrderNumber == nil || placed.Order.Status != "open" {
		t.Fatalf("order %s is %s with SYSPRO number %v; want open with a number", placed.Order.CustomerPoNumber, placed.Order.Status, placed.Order.SysproOrderNumber)
	}
	if !placed.Order.TotalAmount.Equal(dec("107.98")) {
		t.Fatalf("total %s, want 107.98", placed.Order.TotalAmount)
	}
	p := placed.Payment
	if p == nil || p.Status != "captured" || p.Kind != "sale" || deref(p.CardLastFour) != "1111" || deref(p.CardBrand) == "" {
		t.Fatalf("payment %+v; want a captured sale of a card ending 1111", p)
	}
	sos := rig.sysproOrders(t, "WEB-1001")
	if len(sos) != 1 || sos[0].Customer != "000001" || len(sos[0].Lines) != 2 {
		t.Fatalf("SYSPRO has %d orders for WEB-1001: %+v", len(sos), sos)
	}

	// A repeat of the placement answers the same order and pays nothing more.
	before := rig.gatewayTransactions(t)
	again, err := rig.engine.PlaceOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.Order.ID != placed.Order.ID || again.Payment == nil || again.Payment.ID != p.ID {
		t.Fatalf("repeat answered %+v; want the first order and payment", again)
	}
	if n := rig.gatewayTransactions(t); n != before {
		t.Fatalf("a repeat made %d more gateway transactions", n-before)
	}
	// The same reference under another key is another order's: refused.
	other := checkoutRequest("k2", "WEB-1001", rig.transientToken(t, "4111111111111111", "123"))
	if _, err := rig.engine.PlaceOrder(ctx, other); userCode(err) != hubsync.ErrCodeReferenceInUse {
		t.Fatalf("reused reference: %v", err)
	}

	// The AR receipt follows the order into SYSPRO.
	deadline := time.Now().Add(20 * time.Second)
	for {
		paid := false
		for _, ap := range rig.syspro.State().ArPayments {
			if ap.Customer == "000001" && ap.PaymentValue.Equal(dec("107.98")) {
				paid = true
			}
		}
		if paid {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no AR receipt for WEB-1001 in SYSPRO: %+v", rig.syspro.State().ArPayments)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPlaceOrderRefusesBeforeAnyMoneyMoves(t *testing.T) {
	rig := newCheckoutRig(t, false)
	ctx := context.Background()
	token := rig.transientToken(t, "4111111111111111", "123")
	cases := []struct {
		name string
		edit func(r *hubsync.PlaceOrderRequest)
		code string
	}{
		{"card number in a description", func(r *hubsync.PlaceOrderRequest) { r.Lines[0].Description = "card 4111 1111 1111 1111 exp 12/31" }, hubsync.ErrCodeCardDataRefused},
		{"card number as the token", func(r *hubsync.PlaceOrderRequest) { r.Payment.TransientToken = "4111111111111111" }, hubsync.ErrCodeCardDataRefused},
		{"card number in the address", func(r *hubsync.PlaceOrderRequest) { r.Customer.BillTo.Line2 = "5555-5555-5555-4444" }, hubsync.ErrCodeCardDataRefused},
		{"not a token", func(r *hubsync.PlaceOrderRequest) { r.Payment.TransientToken = "hello" }, hubsync.ErrCodeTokenRefused},
		{"two payment sources", func(r *hubsync.PlaceOrderRequest) { r.Payment.PaymentInstrumentID = "PI1" }, hubsync.ErrCodeInvalidInput},
		{"no lines", func(r *hubsync.PlaceOrderRequest) { r.Lines = nil }, hubsync.ErrCodeInvalidInput},
		{"three decimals", func(r *hubsync.PlaceOrderRequest) { r.Lines[0].UnitPrice = dec("1.005") }, hubsync.ErrCodeInvalidInput},
		{"bad reference", func(r *hubsync.PlaceOrderRequest) { r.Reference = "WEB 1/2" }, hubsync.ErrCodeInvalidInput},
		{"customer SYSPRO does not know", func(r *hubsync.PlaceOrderRequest) { r.Customer.Code = "NOPE01" }, hubsync.ErrCodeUnknownCustomer},
		{"new shopper without customer creation", func(r *hubsync.PlaceOrderRequest) {
			r.Customer.Code, r.Customer.Email = "", "new@example.com"
		}, hubsync.ErrCodeUnknownCustomer},
		{"customer on hold", func(r *hubsync.PlaceOrderRequest) { r.Customer.Code = "HOLD01" }, hubsync.ErrCodeCustomerOnHold},
		{"over the credit limit", func(r *hubsync.PlaceOrderRequest) {
			r.Customer.Code = "000002"
			r.Lines = []hubsync.PlaceOrderLine{{StockCode: "B100", Quantity: dec("400"), UnitPrice: dec("12.60")}}
		}, hubsync.ErrCodeCreditLimitExceeded},
		{"unknown stock code", func(r *hubsync.PlaceOrderRequest) { r.Lines[1].StockCode = "ZZ999" }, hubsync.ErrCodeUnknownStockCode},
		{"not stocked in the warehouse", func(r *hubsync.PlaceOrderRequest) { r.Lines[1].Warehouse = "WEB" }, hubsync.ErrCodeUnknownStockCode},
		{"too little stock", func(r *hubsync.PlaceOrderRequest) {
			r.Lines = []hubsync.PlaceOrderLine{{StockCode: "C200", Quantity: dec("5"), UnitPrice: dec("120.00")}}
		}, hubsync.ErrCodeOutOfStock},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := checkoutRequest("refuse-"+c.name, "REF-"+string(rune('A'+i)), token)
			c.edit(&req)
			_, err := rig.engine.PlaceOrder(ctx, req)
			if got := userCode(err); got != c.code {
				t.Fatalf("code %s (%v), want %s", got, err, c.code)
			}
			if strings.Contains(err.Error(), "4111") || strings.Contains(err.Error(), "5555") {
				t.Fatalf("the refusal repeats the card number: %v", err)
			}
		})
	}
	if n := rig.gatewayTransactions(t); n != 0 {
		t.Fatalf("refusals made %d gateway transactions", n)
	}
	if n := countRows(t, rig.h(), "SELECT count(*) FROM sales_orders"); n != 0 {
		t.Fatalf("refusals left %d orders", n)
	}

	// The same short order goes through when back-orders are allowed.
	req := checkoutRequest("backorder", "REF-BACKORDER", token)
	req.Lines = []hubsync.PlaceOrderLine{{StockCode: "C200", Quantity: dec("5"), UnitPrice: dec("120.00")}}
	req.AllowBackorder = true
	placed, err := rig.engine.PlaceOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if placed.Order.SysproOrderNumber == nil {
		t.Fatalf("back-ordered order not in SYSPRO: %+v", placed.Order)
	}
}

// h is the rig as the shared test helpers (countRows, exec) take it.
func (r *checkoutRig) h() *harness { return &harness{pool: r.pool, engine: r.engine} }

func TestPlaceOrderDeclinedCardCancelsTheOrder(t *testing.T) {
	rig := newCheckoutRig(t, false)
	req := checkoutRequest("d1", "WEB-DECL", rig.transientToken(t, "4000000000000002", "123"))
	_, err := rig.engine.PlaceOrder(context.Background(), req)
	if userCode(err) != hubsync.ErrCodePaymentDeclined {
		t.Fatalf("declined card: %v", err)
	}
	o, err := rig.q.GetSalesOrderByCustomerPoNumber(context.Background(), "WEB-DECL")
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != "cancelled" {
		t.Fatalf("order after a decline is %s, want cancelled", o.Status)
	}
	if n := len(rig.sysproOrders(t, "WEB-DECL")); n != 0 {
		t.Fatalf("SYSPRO got %d orders for a declined card", n)
	}
}

func TestPlaceOrderUnderFraudReviewIsHeld(t *testing.T) {
	rig := newCheckoutRig(t, false)
	req := checkoutRequest("r1", "WEB-REVIEW", rig.transientToken(t, "4111111111111111", "999"))
	placed, err := rig.engine.PlaceOrder(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if placed.Order.Status != "on_hold" || placed.Payment == nil || placed.Payment.Status != "review" {
		t.Fatalf("order %s, payment %+v; want on_hold under review", placed.Order.Status, placed.Payment)
	}
	if n := countRows(t, rig.h(), "SELECT count(*) FROM fraud_reviews WHERE status = 'open'"); n != 1 {
		t.Fatalf("%d open fraud reviews, want 1", n)
	}
	if n := len(rig.sysproOrders(t, "WEB-REVIEW")); n != 0 {
		t.Fatalf("SYSPRO got an order under review")
	}
}

// SYSPRO refuses the order after the card was charged (credit control put the customer on hold
// meanwhile): the payment is voided and the order cancelled, with SYSPRO's words.
func TestPlaceOrderSysproRefusalVoidsThePayment(t *testing.T) {
	rig := newCheckoutRig(t, false)
	ctx := context.Background()
	hold := true
	rig.onStock = func() {
		rig.onStock = nil
		if _, err := rig.sp.UpdateCustomer(ctx, syspro.CustomerSetup{Customer: "000001", OnHold: &hold}); err != nil {
			t.Error(err)
		}
	}
	req := checkoutRequest("v1", "WEB-VOID", rig.transientToken(t, "4111111111111111", "123"))
	_, err := rig.engine.PlaceOrder(ctx, req)
	if userCode(err) != hubsync.ErrCodeErpRefused || !strings.Contains(err.Error(), "on hold") {
		t.Fatalf("want ERP_REFUSED with SYSPRO's reason, got %v", err)
	}
	o, err := rig.q.GetSalesOrderByCustomerPoNumber(ctx, "WEB-VOID")
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != "cancelled" {
		t.Fatalf("order is %s, want cancelled", o.Status)
	}
	if !strings.Contains(deref(o.HoldReason), "on hold") {
		t.Fatalf("the order's reason is %q, not SYSPRO's", deref(o.HoldReason))
	}
	pays, err := rig.q.ListPaymentsByOrderIDs(ctx, []int64{o.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(pays) == 0 || pays[0].Status != "voided" {
		t.Fatalf("payments %+v, want the sale voided", pays)
	}
	voids := 0
	for _, tx := range rig.cs.State().Transactions {
		if tx.Kind == cybersourcesim.KindVoid || tx.Kind == cybersourcesim.KindReversal {
			voids++
		}
	}
	if voids != 1 {
		t.Fatalf("%d voids at the gateway, want 1", voids)
	}
}

func TestPlaceOrderThroughOpayoForANewShopper(t *testing.T) {
	rig := newCheckoutRig(t, true)
	ctx := context.Background()
	msk, card := rig.cardIdentifier(t, "4929000000006")
	req := hubsync.PlaceOrderRequest{
		IdempotencyKey: "o1", Reference: "OPY-2001", Currency: "GBP",
		Customer: hubsync.OrderCustomer{Email: "sam.jones@example.com", Name: "Sam Jones",
			BillTo: hubsync.Address{Line1: "88 Test Street", City: "London", PostalCode: "412", Country: "GB"}},
		Lines:   []hubsync.PlaceOrderLine{{StockCode: "A100", Quantity: dec("1"), UnitPrice: dec("49.99")}},
		Payment: hubsync.PaymentMethod{Gateway: "opayo", Capture: true, MerchantSessionKey: msk, CardIdentifier: card},
	}
	placed, err := rig.engine.PlaceOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if placed.Order.SysproOrderNumber == nil || placed.Payment == nil || placed.Payment.Status != "captured" {
		t.Fatalf("order %+v payment %+v", placed.Order, placed.Payment)
	}
	c, err := rig.q.GetCustomer(ctx, *placed.Order.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.Code, "W") {
		t.Fatalf("new shopper got code %s", c.Code)
	}
	found := false
	for _, cu := range rig.syspro.State().Customers {
		found = found || cu.Customer == c.Code
	}
	if !found {
		t.Fatalf("SYSPRO has no customer %s", c.Code)
	}
}
