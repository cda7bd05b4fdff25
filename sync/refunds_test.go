package sync_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	hubsync "github.com/payhub/payhub/sync"
)

// newRefundRig is an engine on a fresh database with the Cybersource simulator, and one captured
// sale of 100.00 the hub knows.
func newRefundRig(t *testing.T) (*hubsync.Engine, *cybersourcesim.Server, *db.Queries, db.Payment) {
	t.Helper()
	pool := dbtest.New(t)
	sim := cybersourcesim.New(cybersourcesim.Options{MaxHang: 20 * time.Millisecond})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cs := newCybersourceClient(t, srv.URL)
	e, err := hubsync.New(hubsync.Config{Pool: pool, Cybersource: cs})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.CreatePayment(context.Background(), cybersource.PaymentRequest{Reference: "RF-SHOP-1", Capture: true,
		Amount: dec("100.00"), Currency: "GBP",
		Card:   &cybersource.Card{Number: "4111111111111111", ExpirationMonth: "12", ExpirationYear: "2031", SecurityCode: "123"},
		BillTo: &cybersource.Address{FirstName: "Ref", LastName: "Und", Address1: "1 High St", Locality: "Leeds", PostalCode: "LS1 1AA", Country: "GB", Email: "refund@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ApplyGatewayTxn(context.Background(), hubsync.GatewayTxn{Gateway: "cybersource", TransactionID: res.ID,
		Kind: hubsync.KindSale, GatewayStatus: "PENDING", Reference: "RF-SHOP-1", Amount: dec("100.00"), Currency: "GBP",
		OccurredAt: time.Now(), Customer: hubsync.Party{Email: "refund@example.com"}}); err != nil {
		t.Fatal(err)
	}
	q := db.New(pool)
	pay, err := q.GetPaymentByGatewayTransaction(context.Background(), db.GetPaymentByGatewayTransactionParams{Gateway: "cybersource", GatewayTransactionID: res.ID})
	if err != nil {
		t.Fatal(err)
	}
	return e, sim, q, pay
}

// simRefunds counts the refunds the Cybersource simulator holds.
func simRefunds(sim *cybersourcesim.Server) int {
	n := 0
	for _, tx := range sim.State().Transactions {
		if tx.Kind == cybersourcesim.KindRefund {
			n++
		}
	}
	return n
}

func userCode(err error) string {
	var ue *hubsync.UserError
	if errors.As(err, &ue) {
		return ue.Code
	}
	return ""
}

func TestRefundsAreIdempotentBoundedAndNeverDoubled(t *testing.T) {
	e, sim, q, pay := newRefundRig(t)
	ctx := context.Background()

	// Ten identical requests at once: one refund at the gateway, the same row for all.
	var wg sync.WaitGroup
	ids := make(chan int64, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.RefundPayment(ctx, hubsync.RefundRequest{PaymentID: pay.ID, Amount: dec("30.00"), Currency: "GBP",
				Reason: "damaged", RequestedBy: "finance-test", IdempotencyKey: "refund-once"})
			if err != nil {
				t.Error(err)
				return
			}
			ids <- r.ID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 || simRefunds(sim) != 1 {
		t.Fatalf("ten identical requests made refund rows %v and %d gateway refunds", seen, simRefunds(sim))
	}
	r, _ := q.GetRefundByIdempotencyKey(ctx, "refund-once")
	if r.Status != "succeeded" || r.GatewayRefundID == nil || r.RefundPaymentID == nil {
		t.Fatalf("refund: %+v", r)
	}
	p, _ := q.GetPayment(ctx, pay.ID)
	if p.Status != "partially_refunded" {
		t.Fatalf("payment after a partial refund: %s", p.Status)
	}

	// Refused before any gateway call: too much, wrong currency, a reused key with other terms.
	before := simRefunds(sim)
	_, err := e.RefundPayment(ctx, hubsync.RefundRequest{PaymentID: pay.ID, Amount: dec("70.01"), IdempotencyKey: "too-much", RequestedBy: "t"})
	if userCode(err) != hubsync.ErrCodeExceedsRemaining {
		t.Fatalf("refund above the remaining 70.00: %v", err)
	}
	if _, err := e.RefundPayment(ctx, hubsync.RefundRequest{PaymentID: pay.ID, Amount: dec("1"), Currency: "EUR", IdempotencyKey: "eur", RequestedBy: "t"}); userCode(err) != hubsync.ErrCodeCurrencyMismatch {
		t.Fatalf("refund in another currency: %v", err)
	}
	if _, err := e.RefundPayment(ctx, hubsync.RefundRequest{PaymentID: pay.ID, Amount: dec("5"), IdempotencyKey: "refund-once", RequestedBy: "t"}); userCode(err) != hubsync.ErrCodeIdempotencyConflict {
		t.Fatalf("reused key with another amount: %v", err)
	}
	if _, err := e.RefundPayment(ctx, hubsync.RefundRequest{PaymentID: pay.ID, Amount: dec("0"), IdempotencyKey: "zero", RequestedBy: "t"}); userCode(err) != hubsync.ErrCodeInvalidAmount {
		t.Fatalf("zero refund: %v", err)
	}
	if simRefunds(sim) != before {
		t.Fatalf("a refused refund reached the gateway")
	}

	// The gateway applies a refund but the answer is lost: unknown, holding its amount, until the
	// lookup by reference finds it.
	sim.SetFaults(cybersourcesim.Faults{TimeoutRate: 1})
	lost, err := e.RefundPayment(ctx, hubsync.RefundRequest{PaymentID: pay.ID, Amount: dec("50.00"), IdempotencyKey: "lost", RequestedBy: "t"})
	sim.SetFaults(cybersourcesim.Faults{})
	if err != nil || lost.Status != "unknown" {
		t.Fatalf("refund with a lost answer: %+v %v", lost, err)
	}
	if _, err := e.RefundPayment(ctx, hubsync.RefundRequest{PaymentID: pay.ID, Amount: dec("25.00"), IdempotencyKey: "meanwhile", RequestedBy: "t"}); userCode(err) != hubsync.ErrCodeExceedsRemaining {
		t.Fatalf("the unknown refund's amount was not held: %v", err)
	}
	again, err := e.RefundPayment(ctx, hubsync.RefundRequest{PaymentID: pay.ID, Amount: dec("50.00"), IdempotencyKey: "lost", RequestedBy: "t"})
	if err != nil || again.ID != lost.ID || again.Status != "unknown" || simRefunds(sim) != before+1 {
		t.Fatalf("repeating the lost refund: %+v %v, %d gateway refunds", again, err, simRefunds(sim))
	}
	found, err := e.RecheckRefund(ctx, lost.ID)
	if err != nil || found.Status != "succeeded" {
		t.Fatalf("recheck: %+v %v", found, err)
	}
	if p, _ := q.GetPayment(ctx, pay.ID); p.Status != "partially_refunded" {
		t.Fatalf("payment after 80.00 of 100.00 refunded: %s", p.Status)
	}
	last, err := e.RefundPayment(ctx, hubsync.RefundRequest{PaymentID: pay.ID, Amount: dec("20.00"), IdempotencyKey: "rest", RequestedBy: "t"})
	if err != nil || last.Status != "succeeded" {
		t.Fatalf("the rest: %+v %v", last, err)
	}
	if p, _ := q.GetPayment(ctx, pay.ID); p.Status != "refunded" {
		t.Fatalf("payment after a full refund: %s", p.Status)
	}
}
