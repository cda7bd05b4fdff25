package cybersourcesim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// settledDay makes a day of business on 2026-04-10 and crosses its cut-off: a Visa sale of 100.00
// (refunded 30.00), a Mastercard authorization captured 50.00, a capture that is voided, and a
// stand-alone Amex credit of 5.00. It returns the ids in report order.
func settledDay(t *testing.T, b *testBundle) (saleID, refundID, captureID, creditID string) {
	t.Helper()
	saleID = b.pay(t, sale(paymentReq(`ord,"7"`, "100.00", CardVisa))).str("id")
	refundID = b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+saleID+"/refunds", amountBody("", "30.00")).str("id")
	authID := b.pay(t, paymentReq("ord-8", "80.00", CardMastercard)).str("id")
	captureID = b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+authID+"/captures", amountBody("", "50.00")).str("id")
	voided := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+authID+"/captures", amountBody("", "10.00")).str("id")
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/captures/"+voided+"/voids", nil)
	creditID = b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/credits", paymentReq("cred-9", "5.00", CardAmex)).str("id")
	return saleID, refundID, captureID, creditID
}

func reportPath(date, name string) string {
	return "/reporting/v3/report-downloads?" + query("organizationId", DefaultMerchantID, "reportDate", date, "reportName", name)
}

func TestCutOffBatchesThePreviousDay(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	saleID, refundID, captureID, creditID := settledDay(t, b)
	if snap := b.sim.State(); len(snap.Batches) != 0 {
		t.Fatalf("batched before the cut-off: %+v", snap.Batches)
	}
	if r := b.do(t, http.MethodGet, reportPath("2026-04-10", PaymentBatchDetailReport), nil, "Accept", "text/csv"); r.status != 404 {
		t.Fatalf("report before the cut-off: %d %s", r.status, r.raw)
	}
	b.control(t, http.MethodPost, "/_sim/clock", `{"advance":"15h"}`) // 00:00 on the 11th
	snap := b.sim.State()
	if len(snap.Batches) != 1 {
		t.Fatalf("batches: %+v", snap.Batches)
	}
	batch := snap.Batches[0]
	if batch.Date != "2026-04-10" || !batch.ClosedAt.Equal(time.Date(2026, 4, 11, 0, 0, 0, 0, time.UTC)) || len(batch.Entries) != 4 {
		t.Fatalf("batch: %+v", batch)
	}
	for _, id := range []string{saleID, refundID, captureID, creditID} {
		tx, _ := snap.Transaction(id)
		if tx.SettlementStatus != SettlementBatched || tx.BatchID != batch.ID || tx.BatchDate != "2026-04-10" {
			t.Errorf("%s (%s) not batched: %+v", id, tx.Kind, tx)
		}
	}
	if c, _ := snap.Transaction(captureID); c.Status != SettlementBatched {
		t.Errorf("batched capture status %s", c.Status)
	}

	rec := func(id string) Transaction { tx, _ := snap.Transaction(id); return tx }
	want := "Payment Batch Detail Report,1.0,2026-04-10 to 2026-04-10,,,,,,,\r\n" +
		"batch_id,merchant_id,batch_date,request_id,merchant_ref_number,trans_ref_no,payment_method,currency,amount,transaction_type\r\n" +
		batch.ID + ",payhub_sandbox,2026-04-10," + saleID + `,"ord,""7""",` + rec(saleID).ReconciliationID + ",Visa,USD,100.00,ics_bill\r\n" +
		batch.ID + ",payhub_sandbox,2026-04-10," + refundID + `,"ord,""7""",` + rec(refundID).ReconciliationID + ",Visa,USD,-30.00,ics_credit\r\n" +
		batch.ID + ",payhub_sandbox,2026-04-10," + captureID + ",ord-8," + rec(captureID).ReconciliationID + ",MasterCard,USD,50.00,ics_bill\r\n" +
		batch.ID + ",payhub_sandbox,2026-04-10," + creditID + ",cred-9," + rec(creditID).ReconciliationID + ",American Express,USD,-5.00,ics_credit\r\n"
	csv := b.do(t, http.MethodGet, reportPath("2026-04-10", PaymentBatchDetailReport), nil, "Accept", "text/csv")
	if csv.status != 200 || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CSV: %d %s", csv.status, csv.header)
	}
	if string(csv.raw) != want {
		t.Fatalf("CSV:\n%q\nwant:\n%q", csv.raw, want)
	}
	xml := b.do(t, http.MethodGet, reportPath("2026-04-10", PaymentBatchDetailReport), nil, "Accept", "application/xml")
	if xml.status != 200 || !strings.Contains(string(xml.raw), `<Batch BatchID="`+batch.ID+`" BatchDate="2026-04-10">`) ||
		!strings.Contains(string(xml.raw), `<Amount>-30.00</Amount>`) {
		t.Fatalf("XML: %d %s", xml.status, xml.raw)
	}

	errs := []struct {
		path   string
		status int
	}{
		{reportPath("2026-04-11", PaymentBatchDetailReport), 404},                    // not cut off yet
		{reportPath("2026-04-09", PaymentBatchDetailReport), 404},                    // before the simulator started
		{reportPath("2026-04-10", "TransactionRequestReport"), 404},                  // unknown report
		{reportPath("10/04/2026", PaymentBatchDetailReport), 400},                    // bad date
		{"/reporting/v3/report-downloads?" + query("reportDate", "2026-04-10"), 400}, // no report name
		{"/reporting/v3/report-downloads?" + query("organizationId", "someone", "reportDate", "2026-04-10", "reportName", PaymentBatchDetailReport), 403},
	}
	for _, c := range errs {
		if r := b.do(t, http.MethodGet, c.path, nil, "Accept", "text/csv"); r.status != c.status {
			t.Errorf("%s: %d, want %d: %s", c.path, r.status, c.status, r.raw)
		}
	}

	// A day with nothing settled still has its (empty) report.
	b.nextDay(t)
	empty := b.do(t, http.MethodGet, reportPath("2026-04-11", PaymentBatchDetailReport), nil, "Accept", "text/csv")
	if empty.status != 200 || strings.Count(string(empty.raw), "\r\n") != 2 {
		t.Fatalf("empty day: %d %q", empty.status, empty.raw)
	}
}

func TestBatchesAreOnePerSubmitDay(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.pay(t, sale(paymentReq("d1", "1.00", CardVisa)))
	b.sim.Clock().Advance(24 * time.Hour) // the 11th: the 10th is batched
	b.pay(t, sale(paymentReq("d2", "2.00", CardVisa)))
	b.sim.Clock().Advance(12 * time.Hour)
	b.pay(t, sale(paymentReq("d3", "3.00", CardVisa))) // the 11th at 21:00
	b.sim.Clock().Advance(3 * 24 * time.Hour)          // the 14th
	snap := b.sim.State()
	if len(snap.Batches) != 2 || snap.Batches[0].Date != "2026-04-10" || snap.Batches[1].Date != "2026-04-11" ||
		len(snap.Batches[1].Entries) != 2 || snap.Batches[0].ID == snap.Batches[1].ID {
		t.Fatalf("batches: %+v", snap.Batches)
	}
}

func TestBatchSummariesAndNetFundings(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	settledDay(t, b)
	b.nextDay(t)
	window := query("organizationId", DefaultMerchantID, "startTime", "2026-04-10T00:00:00Z", "endTime", "2026-04-11T00:00:00Z")
	s := b.must(t, http.StatusOK, http.MethodGet, "/reporting/v3/payment-batch-summaries?"+window, nil)
	rows := map[string]map[string]any{}
	for _, r := range walk(s.body, "paymentBatchSummaries").([]any) {
		m := r.(map[string]any)
		rows[m["paymentSubTypeDescription"].(string)] = m
	}
	visa := rows["Visa"]
	if len(rows) != 3 || visa["salesCount"] != float64(1) || visa["salesAmount"] != "100.00" || visa["creditCount"] != float64(1) ||
		visa["creditAmount"] != "30.00" || rows["American Express"]["creditAmount"] != "5.00" || rows["MasterCard"]["salesAmount"] != "50.00" {
		t.Fatalf("batch summaries: %s", s.raw)
	}
	if r := b.must(t, http.StatusOK, http.MethodGet, "/reporting/v3/payment-batch-summaries?"+window+"&rollUp=day", nil); r.str("paymentBatchSummaries.0.startTime") != "2026-04-10T00:00:00Z" {
		t.Fatalf("rolled up by day: %s", r.raw)
	}

	n := b.must(t, http.StatusOK, http.MethodGet, "/reporting/v3/net-fundings?"+window, nil)
	// Fees at 1.5% + 0.20: 1.70 on 100.00 and 0.95 on 50.00.
	checks := map[string]string{
		"totalPurchases.0.value": "150.00", "totalRefunds.0.value": "35.00", "totalFees.0.value": "2.65",
		"totalChargebacks.0.value": "0.00", "netTotal.0.value": "112.35", "netTotal.0.currency": "USD",
	}
	for path, want := range checks {
		if got := n.str(path); got != want {
			t.Errorf("net fundings %s = %s, want %s", path, got, want)
		}
	}
	var feeRows int
	for _, r := range walk(n.body, "netFundingSummaries").([]any) {
		if r.(map[string]any)["type"] == "FEES" {
			feeRows++
		}
	}
	if feeRows != 2 {
		t.Errorf("FEES rows: %d: %s", feeRows, n.raw)
	}
	if r := b.do(t, http.MethodGet, "/reporting/v3/net-fundings?"+query("startTime", "2026-04-11T00:00:00Z", "endTime", "2026-04-10T00:00:00Z"), nil); r.status != 400 {
		t.Fatalf("reversed window: %d %s", r.status, r.raw)
	}

	// The fee rule is an option.
	free := setup(t, Options{Fee: &FeeRule{Percent: decimal.Zero, Fixed: decimal.RequireFromString("0.10")}})
	free.pay(t, sale(paymentReq("f1", "100.00", CardVisa)))
	free.nextDay(t)
	if r := free.must(t, http.StatusOK, http.MethodGet, "/reporting/v3/net-fundings?"+window, nil); r.str("totalFees.0.value") != "0.10" {
		t.Fatalf("custom fee: %s", r.raw)
	}
	if fee := DefaultFeeRule().For(decimal.RequireFromString("33.33"), "USD"); fee.String() != "0.7" {
		t.Fatalf("default fee on 33.33 = %s", fee)
	}
}
