package opayosim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSettlementBatchesThePreviousDayPerAcquirer(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	visa := b.mustPay("Payment", "4929000000006", 1000)
	mc := b.mustPay("Payment", "5404000000000001", 2000)
	amex := b.mustPay("Payment", "374200000000004", 3000)
	euro := func() string {
		msk, card := b.card("4929000000006", "123")
		req := paymentBody("Payment", msk, card, 4550)
		req["currency"] = "EUR"
		_, body := b.pi("POST", "/transactions", req)
		return str(body, "transactionId")
	}()
	_, refund := b.refund(visa, 500)
	_, declined := b.pay("Payment", "4929602110085639", 700)
	unreleased := b.mustPay("Deferred", "4929000000006", 800)
	released := b.mustPay("Deferred", "4929000000006", 900)
	b.instruct(released, "release", 600)
	voided := b.mustPay("Payment", "4929000000006", 1100)
	b.instruct(voided, "void", 0)

	b.sim.Clock().Advance(14*time.Hour + 59*time.Minute) // 23:59, still Friday
	if n := len(b.sim.State().Batches); n != 0 {
		t.Fatalf("%d batches before midnight", n)
	}
	saturday := b.mustPay("Payment", "4929000000006", 1200) // 23:59 Friday
	b.sim.Clock().Advance(2 * time.Minute)                  // 00:01 Saturday

	snap := b.sim.State()
	if len(snap.Batches) != 2 {
		t.Fatalf("batches %+v", snap.Batches)
	}
	elavon, amexBatch := snap.Batches[0], snap.Batches[1]
	if elavon.AuthProcessor != AuthProcessorElavon || amexBatch.AuthProcessor != AuthProcessorAmex ||
		elavon.BatchID == amexBatch.BatchID || elavon.BusinessDay != "2026-04-10" {
		t.Fatalf("batches %+v", snap.Batches)
	}
	wantCompleted := time.Date(2026, 4, 11, 0, 0, 0, 0, london)
	if !elavon.Completed.Equal(wantCompleted) {
		t.Fatalf("completed %v", elavon.Completed)
	}
	// Elavon GBP: visa 10.00 + mc 20.00 + released 6.00 + 23:59 payment 12.00; refund 5.00. EUR 45.50.
	gbp, eur := elavon.Groups[1], elavon.Groups[0]
	if gbp.Currency != "GBP" || gbp.PaymentNumber != 4 || gbp.PaymentValue.String() != "48" || gbp.RefundNumber != 1 || gbp.RefundValue.String() != "5" {
		t.Fatalf("GBP group %+v", gbp)
	}
	if eur.Currency != "EUR" || eur.PaymentNumber != 1 || eur.PaymentValue.String() != "45.5" {
		t.Fatalf("EUR group %+v", eur)
	}
	if g := amexBatch.Groups[0]; g.PaymentNumber != 1 || g.PaymentValue.String() != "30" {
		t.Fatalf("Amex group %+v", g)
	}
	settled := map[string]bool{visa: true, mc: true, amex: true, euro: true, str(refund, "transactionId"): true, released: true, saturday: true}
	for _, ts := range snap.Transactions {
		if ts.Settled != settled[ts.TransactionID] {
			t.Errorf("%s %s settled=%v", ts.TransactionType, ts.VendorTxCode, ts.Settled)
		}
	}
	for _, id := range []string{str(declined, "transactionId"), unreleased, voided} {
		if b.stateOf(id).BatchID != "" {
			t.Errorf("%s was batched", id)
		}
	}
	if ts := b.stateOf(visa); ts.TxStateID != txStateAuthorised || ts.BatchID != elavon.BatchID {
		t.Fatalf("settled payment %+v", ts)
	}

	// The next midnight batches only what was captured on Saturday.
	sunday := b.mustPay("Payment", "4929000000006", 100)
	b.sim.Clock().Advance(24 * time.Hour)
	snap = b.sim.State()
	if len(snap.Batches) != 3 || snap.Batches[2].TransactionIDs[0] != sunday || len(snap.Batches[2].TransactionIDs) != 1 {
		t.Fatalf("second day batches %+v", snap.Batches)
	}
}

func TestSettlementHappensOnRequestsAndViaSimClock(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.mustPay("Payment", "4929000000006", 1000)
	status, _, body := b.do("POST", "/_sim/clock", "application/json", `{"advance":"24h"}`, nil)
	if status != http.StatusOK || !strings.Contains(body, "2026-04-11T09:00:00") {
		t.Fatalf("clock: %d %s", status, body)
	}
	_, got := b.pi("GET", "/transactions/"+id, nil)
	if got == nil {
		t.Fatal("GET failed")
	}
	detail := b.report("getTransactionDetail", "<vpstxid>"+id+"</vpstxid>")
	if xmlField(detail, "batchid") != "1001" {
		t.Fatalf("batchid after the clock passed midnight:\n%s", detail)
	}
}

func TestSettlementAcrossSeveralMidnightsKeepsDaysApart(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.mustPay("Payment", "4929000000006", 1000)
	b.sim.Clock().Advance(24 * time.Hour)
	b.mustPay("Payment", "4929000000006", 2000)
	b.sim.Clock().Advance(72 * time.Hour)
	snap := b.sim.State()
	if len(snap.Batches) != 2 || snap.Batches[0].BusinessDay != "2026-04-10" || snap.Batches[1].BusinessDay != "2026-04-11" {
		t.Fatalf("batches %+v", snap.Batches)
	}
}
