package opayosim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestSettlementQuirksMisreportTheNextBatchDetail(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	omitted := b.mustPay("Payment", "4929000000006", 2000)
	reamounted := b.mustPay("Payment", "4929000000006", 1000)
	_, rf := b.refund(reamounted, 400)
	refund := str(rf, "transactionId")
	plain := b.mustPay("Payment", "4929000000006", 500)
	unreleased := b.mustPay("Deferred", "4929000000006", 300)

	control := func(method, body string) (int, map[string]any) {
		t.Helper()
		status, _, raw := b.do(method, "/_sim/settlement-quirks", "application/json", body, nil)
		return status, decodeJSON(t, raw)
	}
	refusals := []struct{ body, want string }{
		{`{"omit":["nope"]}`, `unknown transaction "nope"`},
		{`{"omit":["` + unreleased + `"]}`, "is not captured"},
		{`{"amounts":{"` + plain + `":"0"}}`, "must be positive"},
		{`{"amounts":{"` + plain + `":"1.234"}}`, "at most 2 decimals"},
		{`{"omit":["` + plain + `"],"amounts":{"{` + strings.ToLower(plain) + `}":"1.00"}}`, "both omitted and given an amount"},
		{`{"omit":`, "bad settlement quirks JSON"},
	}
	for _, c := range refusals {
		status, body := control("POST", c.body)
		if status != http.StatusBadRequest || !strings.Contains(str(body, "error"), c.want) {
			t.Errorf("%s: %d %v, want 400 %q", c.body, status, body, c.want)
		}
	}

	// Braced, lower-case vpstxids are accepted.
	status, body := control("POST", `{"omit":["{`+strings.ToLower(omitted)+`}"],"amounts":{"`+reamounted+`":"9.99","`+refund+`":"4.50"}}`)
	if status != http.StatusOK || str(body, "omit.0") != omitted || str(body, "amounts."+reamounted) != "9.99" {
		t.Fatalf("set quirks: %d %v", status, body)
	}
	if _, got := control("GET", ""); str(got, "amounts."+refund) != "4.5" {
		t.Fatalf("GET quirks: %v", got)
	}

	b.sim.Clock().Advance(24 * time.Hour)
	snap := b.sim.State()
	if len(snap.SettlementQuirks.Omit)+len(snap.SettlementQuirks.Amounts) != 0 {
		t.Errorf("the run did not consume the quirks: %+v", snap.SettlementQuirks)
	}
	if len(snap.Batches) != 1 {
		t.Fatalf("batches %+v", snap.Batches)
	}
	bs := snap.Batches[0]
	if len(bs.TransactionIDs) != 4 || len(bs.OmittedTransactionIDs) != 1 || bs.OmittedTransactionIDs[0] != omitted ||
		!bs.ReportedAmounts[reamounted].Equal(decimal.RequireFromString("9.99")) || !bs.ReportedAmounts[refund].Equal(decimal.RequireFromString("4.5")) {
		t.Fatalf("batch %+v", bs)
	}
	if ts := b.stateOf(omitted); ts.BatchID != bs.BatchID {
		t.Errorf("the omitted payment is not settled: %+v", ts)
	}

	// getBatchList keeps the true totals: 35.00 in payments, 4.00 refunded.
	list := b.report("getBatchList", "<startdate>11/04/2026 00:00:00</startdate><enddate>11/04/2026 23:59:59</enddate>")
	mustContain(t, list, "<paymentnumber>3</paymentnumber><paymentvalue>35.00</paymentvalue><refundnumber>1</refundnumber><refundvalue>4.00</refundvalue>")
	detail := b.report("getBatchDetail", "<batchid>"+bs.BatchID+"</batchid><authprocessor>Elavon</authprocessor>")
	if xmlField(detail, "totalrows") != "3" || strings.Count(detail, "<transaction>") != 3 || strings.Contains(detail, omitted) {
		t.Fatalf("batch detail:\n%s", detail)
	}
	mustContain(t, detail,
		"<vpstxid>{"+reamounted+"}</vpstxid>", "<amount>9.99</amount>",
		"<vpstxid>{"+refund+"}</vpstxid>", "<amount>4.50</amount>",
		"<vpstxid>{"+plain+"}</vpstxid>", "<amount>5.00</amount>")
	if got := xmlField(b.report("getTransactionDetail", "<vpstxid>"+omitted+"</vpstxid>"), "batchid"); got != bs.BatchID {
		t.Errorf("getTransactionDetail batchid of the omitted payment = %q", got)
	}

	// One run only: the next day's batch is reported as it is; settled transactions are refused.
	next := b.mustPay("Payment", "4929000000006", 200)
	if status, body := control("POST", `{"omit":["`+plain+`"]}`); status != 400 || !strings.Contains(str(body, "error"), "already settled in batch") {
		t.Fatalf("quirk on a settled transaction: %d %v", status, body)
	}
	b.sim.Clock().Advance(24 * time.Hour)
	snap = b.sim.State()
	second := snap.Batches[len(snap.Batches)-1]
	detail = b.report("getBatchDetail", "<batchid>"+second.BatchID+"</batchid><authprocessor>Elavon</authprocessor>")
	mustContain(t, detail, "<vpstxid>{"+next+"}</vpstxid>", "<amount>2.00</amount>")
	if len(second.OmittedTransactionIDs) != 0 || len(second.ReportedAmounts) != 0 {
		t.Fatalf("second batch %+v", second)
	}

	// Go API, and {} clears.
	third := b.mustPay("Payment", "4929000000006", 100)
	if err := b.sim.SetSettlementQuirks(SettlementQuirks{Omit: []string{third}}); err != nil {
		t.Fatal(err)
	}
	if status, body := control("POST", `{}`); status != 200 || len(body) != 0 {
		t.Fatalf("clear: %d %v", status, body)
	}
	if q := b.sim.State().SettlementQuirks; len(q.Omit)+len(q.Amounts) != 0 {
		t.Fatalf("quirks after clearing: %+v", q)
	}
}
