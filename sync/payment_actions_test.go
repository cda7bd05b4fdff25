package sync_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	hubsync "github.com/payhub/payhub/sync"
)

// actionRig is an engine with the Cybersource simulator, placing payments there and telling the
// hub about them as Transaction Details would.
type actionRig struct {
	t      *testing.T
	engine *hubsync.Engine
	cs     *cybersource.Client
	q      *db.Queries
}

func newActionRig(t *testing.T) *actionRig {
	pool := dbtest.New(t)
	srv := httptest.NewServer(cybersourcesim.New(cybersourcesim.Options{}))
	t.Cleanup(srv.Close)
	cs := newCybersourceClient(t, srv.URL)
	e, err := hubsync.New(hubsync.Config{Pool: pool, Cybersource: cs})
	if err != nil {
		t.Fatal(err)
	}
	return &actionRig{t: t, engine: e, cs: cs, q: db.New(pool)}
}

// pay places a payment at the simulator and records it as the hub's normalisation would.
func (r *actionRig) pay(ref string, capture bool, cvv string) db.Payment {
	return r.payAs(ref, capture, cvv, "act@example.com")
}

func (r *actionRig) payAs(ref string, capture bool, cvv, email string) db.Payment {
	r.t.Helper()
	res, err := r.cs.CreatePayment(context.Background(), cybersource.PaymentRequest{Reference: ref, Capture: capture,
		Amount: dec("40.00"), Currency: "GBP",
		Card:      &cybersource.Card{Number: "4111111111111111", ExpirationMonth: "12", ExpirationYear: "2031", SecurityCode: cvv},
		BillTo:    &cybersource.Address{FirstName: "Act", LastName: "Ion", Address1: "1 High St", Locality: "Leeds", PostalCode: "LS1 1AA", Country: "GB", Email: email},
		LineItems: []cybersource.LineItem{{ProductSKU: "A100", Quantity: 1, UnitPrice: dec("40.00")}}})
	if err != nil {
		r.t.Fatal(err)
	}
	kind := hubsync.KindAuthorization
	if capture {
		kind = hubsync.KindSale
	}
	t := hubsync.GatewayTxn{Gateway: "cybersource", TransactionID: res.ID, Kind: kind, GatewayStatus: res.Status, Reference: ref,
		Amount: dec("40.00"), Currency: "GBP", OccurredAt: time.Now(), Customer: hubsync.Party{Email: "act@example.com"},
		Lines: []hubsync.Line{{SKU: "A100", Quantity: dec("1"), UnitPrice: dec("40.00")}}}
	if res.PendingReview() {
		t.RiskDecision = "review"
	}
	if err := r.engine.ApplyGatewayTxn(context.Background(), t); err != nil {
		r.t.Fatal(err)
	}
	p, err := r.q.GetPaymentByGatewayTransaction(context.Background(), db.GetPaymentByGatewayTransactionParams{Gateway: "cybersource", GatewayTransactionID: res.ID})
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

func (r *actionRig) orderStatus(p db.Payment) string {
	r.t.Helper()
	o, err := r.q.GetSalesOrder(context.Background(), *p.SalesOrderID)
	if err != nil {
		r.t.Fatal(err)
	}
	return o.Status
}

func (r *actionRig) review(p db.Payment) int64 {
	r.t.Helper()
	fr, err := r.q.GetFraudReviewByPayment(context.Background(), p.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	return fr.ID
}

func TestFinanceActionsReachTheGatewayAndTheCanonicalModel(t *testing.T) {
	r := newActionRig(t)
	ctx := context.Background()

	// Capture an authorisation: a capture transaction, the authorisation captured.
	auth := r.pay("ACT-1", false, "123")
	if auth.Status != "authorized" {
		t.Fatalf("authorisation: %s", auth.Status)
	}
	captured, err := r.engine.CapturePayment(ctx, auth.ID, decimal.Zero, "finance@test")
	if err != nil || captured.Status != "captured" {
		t.Fatalf("capture: %+v %v", captured.Status, err)
	}
	if _, err := r.engine.CapturePayment(ctx, auth.ID, decimal.Zero, "finance@test"); userCode(err) != hubsync.ErrCodeNotCapturable {
		t.Fatalf("second capture: %v", err)
	}

	// Void a sale before settlement: the sale voided, its order (not in SYSPRO yet) cancelled.
	sale := r.pay("ACT-2", true, "123")
	voided, err := r.engine.VoidPayment(ctx, sale.ID, "finance@test")
	if err != nil || voided.Status != "voided" {
		t.Fatalf("void: %+v %v", voided.Status, err)
	}
	if s := r.orderStatus(sale); s != "cancelled" {
		t.Fatalf("order of a voided sale: %s", s)
	}
	if _, err := r.engine.VoidPayment(ctx, sale.ID, "finance@test"); userCode(err) != hubsync.ErrCodeNotVoidable {
		t.Fatalf("second void: %v", err)
	}

	// A review accepted by a person: Decision Manager accepts, the payment is authorized, the
	// review records who and why, the order leaves its hold for SYSPRO.
	held := r.pay("ACT-3", false, "999")
	if held.Status != "review" || r.orderStatus(held) != "on_hold" {
		t.Fatalf("held payment: %s, order %s", held.Status, r.orderStatus(held))
	}
	fr, err := r.engine.DecideFraudReview(ctx, r.review(held), "accept", "customer called, genuine", "finance@test")
	if err != nil || fr.Status != "accepted" || fr.DecidedBy == nil || *fr.DecidedBy != "finance@test" {
		t.Fatalf("accept: %+v %v", fr, err)
	}
	if p, _ := r.q.GetPayment(ctx, held.ID); p.Status != "captured" {
		t.Fatalf("accepted payment: %s", p.Status)
	}
	if s := r.orderStatus(held); s != "posting" {
		t.Fatalf("order after acceptance: %s", s)
	}
	if _, err := r.engine.DecideFraudReview(ctx, fr.ID, "REJECT", "", "finance@test"); userCode(err) != hubsync.ErrCodeReviewNotOpen {
		t.Fatalf("deciding twice: %v", err)
	}

	// A Decision Manager case accepted the same way.
	dm := r.payAs("ACT-5", false, "123", "review@example.com")
	if dm.Status != "review" {
		t.Fatalf("Decision Manager review: %s", dm.Status)
	}
	if fr, err := r.engine.DecideFraudReview(ctx, r.review(dm), "ACCEPT", "ok", "finance@test"); err != nil || fr.Status != "accepted" {
		t.Fatalf("accepting a Decision Manager case: %+v %v", fr, err)
	}
	if p, _ := r.q.GetPayment(ctx, dm.ID); p.Status != "authorized" && p.Status != "captured" {
		t.Fatalf("payment of an accepted case: %s (%s)", p.Status, p.GatewayStatus)
	}

	// A review rejected: the authorisation reversed at the gateway, the order cancelled.
	bad := r.pay("ACT-4", false, "999")
	fr, err = r.engine.DecideFraudReview(ctx, r.review(bad), "REJECT", "stolen card", "finance@test")
	if err != nil || fr.Status != "rejected" {
		t.Fatalf("reject: %+v %v", fr, err)
	}
	p, _ := r.q.GetPayment(ctx, bad.ID)
	if p.Status != "declined" && p.Status != "voided" {
		t.Fatalf("rejected payment: %s (%s)", p.Status, p.GatewayStatus)
	}
	if s := r.orderStatus(bad); s != "cancelled" {
		t.Fatalf("order after rejection: %s", s)
	}
	if _, err := r.engine.DecideFraudReview(ctx, 99999, "ACCEPT", "", "x"); userCode(err) != hubsync.ErrCodeNotFound {
		t.Fatalf("unknown review: %v", err)
	}
}

func TestVoidingAPostedSaleCancelsTheSysproOrder(t *testing.T) {
	srv := httptest.NewServer(cybersourcesim.New(cybersourcesim.Options{}))
	t.Cleanup(srv.Close)
	cs := newCybersourceClient(t, srv.URL)
	h := newHarness(t, sysprosim.Options{}, hubsync.Config{CreateCustomers: true, Cybersource: cs})
	r := &actionRig{t: t, engine: h.engine, cs: cs, q: db.New(h.pool)}
	sale := r.pay("ACT-9", true, "123")
	if counts := h.waitPostings(t, 30*time.Second); counts["sales_order/succeeded"] != 1 {
		t.Fatalf("postings: %v", counts)
	}
	if _, err := r.engine.VoidPayment(context.Background(), sale.ID, "finance@test"); err != nil {
		t.Fatal(err)
	}
	if counts := h.waitPostings(t, 30*time.Second); counts["order_status/succeeded"] != 1 {
		t.Fatalf("postings after the void: %v\n%s", counts, lastErrors(t, h))
	}
	if s := r.orderStatus(sale); s != "cancelled" {
		t.Fatalf("canonical order: %s", s)
	}
	for _, o := range h.sim.State().SalesOrders {
		if o.CustomerPoNumber == "ACT-9" && o.OrderStatus != `\` {
			t.Fatalf("SYSPRO order status %q, want cancelled", o.OrderStatus)
		}
	}
}

func TestARefundOfAPostedOrderIsCreditedInSysproOnce(t *testing.T) {
	srv := httptest.NewServer(cybersourcesim.New(cybersourcesim.Options{}))
	t.Cleanup(srv.Close)
	cs := newCybersourceClient(t, srv.URL)
	// Half of SYSPRO's answers are lost after the call was applied: the credit note's find-first
	// must still leave exactly one.
	h := newHarness(t, sysprosim.Options{}, hubsync.Config{CreateCustomers: true, Cybersource: cs})
	r := &actionRig{t: t, engine: h.engine, cs: cs, q: db.New(h.pool)}
	sale := r.pay("ACT-10", true, "123")
	if counts := h.waitPostings(t, 30*time.Second); counts["sales_order/succeeded"] != 1 {
		t.Fatalf("postings: %v", counts)
	}
	h.sim.SetFaults(sysprosim.Faults{LostResponseRate: 0.5})
	refund, err := r.engine.RefundPayment(context.Background(), hubsync.RefundRequest{PaymentID: sale.ID, Amount: dec("12.50"),
		Reason: "late delivery", RequestedBy: "finance@test", IdempotencyKey: "credit-1"})
	if err != nil || refund.Status != "succeeded" {
		t.Fatalf("refund: %+v %v", refund, err)
	}
	if counts := h.waitPostings(t, 60*time.Second); counts["credit_note/succeeded"] != 1 {
		t.Fatalf("postings after the refund: %v\n%s", counts, lastErrors(t, h))
	}
	h.sim.SetFaults(sysprosim.Faults{})
	notes := h.sim.State().CreditNotes
	if len(notes) != 1 || notes[0].CustomerPoNumber != fmt.Sprintf("RF-%d", refund.ID) || !notes[0].Total().Equal(dec("12.50")) {
		t.Fatalf("SYSPRO credit notes: %+v", notes)
	}
	got, _ := r.q.GetRefund(context.Background(), refund.ID)
	if got.SysproCreditRef == nil || *got.SysproCreditRef != notes[0].CreditNoteNumber {
		t.Fatalf("refund's SYSPRO reference: %v", got.SysproCreditRef)
	}
}
