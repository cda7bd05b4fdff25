package cybersourcesim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestSettlementQuirksMisreportTheNextBatchDetailReport(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	omitted := b.pay(t, sale(paymentReq("q-omit", "20.00", CardVisa))).str("id")
	reamounted := b.pay(t, sale(paymentReq("q-amount", "10.00", CardVisa))).str("id")
	refund := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+reamounted+"/refunds", amountBody("q-refund", "4.00")).str("id")
	plain := b.pay(t, sale(paymentReq("q-plain", "5.00", CardVisa))).str("id")
	authID := b.pay(t, paymentReq("q-auth", "3.00", CardVisa)).str("id")

	refusals := []struct{ body, want string }{
		{`{"omit":["nope"]}`, `unknown transaction "nope"`},
		{`{"omit":["` + authID + `"]}`, "is not a capture, sale, refund or credit"},
		{`{"amounts":{"` + plain + `":"0"}}`, "must be positive"},
		{`{"amounts":{"` + plain + `":"1.234"}}`, "at most 2 decimals"},
		{`{"omit":["` + plain + `"],"amounts":{"` + plain + `":"1.00"}}`, "both omitted and given an amount"},
		{`{"amounts":{"` + plain + `":"abc"}}`, "bad settlement quirks JSON"},
	}
	for _, c := range refusals {
		r := b.control(t, http.MethodPost, "/_sim/settlement-quirks", c.body)
		if r.status != http.StatusBadRequest || !strings.Contains(r.str("error"), c.want) {
			t.Errorf("%s: %d %s, want 400 %q", c.body, r.status, r.raw, c.want)
		}
	}
	if q := b.sim.State().SettlementQuirks; !q.empty() {
		t.Fatalf("a refused POST left quirks: %+v", q)
	}

	set := b.control(t, http.MethodPost, "/_sim/settlement-quirks",
		`{"omit":["`+omitted+`"],"amounts":{"`+reamounted+`":"9.99","`+refund+`":"4.50"}}`)
	if set.status != http.StatusOK || set.str("omit.0") != omitted || set.str("amounts."+reamounted) != "9.99" {
		t.Fatalf("set quirks: %d %s", set.status, set.raw)
	}
	if g := b.control(t, http.MethodGet, "/_sim/settlement-quirks", ""); g.str("amounts."+refund) != "4.5" {
		t.Fatalf("GET quirks: %s", g.raw)
	}

	b.nextDay(t)
	snap := b.sim.State()
	if !snap.SettlementQuirks.empty() {
		t.Errorf("the run did not consume the quirks: %+v", snap.SettlementQuirks)
	}
	if len(snap.Batches) != 1 || len(snap.Batches[0].Entries) != 4 {
		t.Fatalf("batches: %+v", snap.Batches)
	}
	for _, e := range snap.Batches[0].Entries {
		switch e.TransactionID {
		case omitted:
			if !e.OmittedFromReport || e.ReportedAmount != nil {
				t.Errorf("omitted entry %+v", e)
			}
		case reamounted, refund:
			if e.OmittedFromReport || e.ReportedAmount == nil {
				t.Errorf("re-amounted entry %+v", e)
			}
		default:
			if e.OmittedFromReport || e.ReportedAmount != nil {
				t.Errorf("plain entry %+v", e)
			}
		}
	}
	if tx, _ := snap.Transaction(omitted); tx.SettlementStatus != SettlementBatched {
		t.Errorf("the omitted sale is not settled: %+v", tx)
	}

	csv := string(b.do(t, http.MethodGet, reportPath("2026-04-10", PaymentBatchDetailReport), nil, "Accept", "text/csv").raw)
	lines := strings.Split(strings.TrimSuffix(csv, "\r\n"), "\r\n")
	if len(lines) != 5 || strings.Contains(csv, omitted) {
		t.Fatalf("CSV keeps the omitted sale or lost another row:\n%s", csv)
	}
	for id, want := range map[string]string{reamounted: ",9.99,ics_bill", refund: ",-4.50,ics_credit", plain: ",5.00,ics_bill"} {
		found := false
		for _, l := range lines {
			if strings.Contains(l, id) {
				found = true
				if !strings.HasSuffix(l, want) {
					t.Errorf("row of %s = %q, want suffix %q", id, l, want)
				}
			}
		}
		if !found {
			t.Errorf("no row for %s:\n%s", id, csv)
		}
	}
	xml := string(b.do(t, http.MethodGet, reportPath("2026-04-10", PaymentBatchDetailReport), nil, "Accept", "application/xml").raw)
	if strings.Contains(xml, omitted) || !strings.Contains(xml, "<Amount>9.99</Amount>") || !strings.Contains(xml, "<Amount>-4.50</Amount>") {
		t.Fatalf("XML:\n%s", xml)
	}

	// The summaries and net fundings still count every transaction at its true amount.
	window := query("organizationId", DefaultMerchantID, "startTime", "2026-04-10T00:00:00Z", "endTime", "2026-04-11T00:00:00Z")
	s := b.must(t, http.StatusOK, http.MethodGet, "/reporting/v3/payment-batch-summaries?"+window, nil)
	if s.str("paymentBatchSummaries.0.salesCount") != "3" || s.str("paymentBatchSummaries.0.salesAmount") != "35.00" ||
		s.str("paymentBatchSummaries.0.creditAmount") != "4.00" {
		t.Fatalf("batch summaries: %s", s.raw)
	}
	n := b.must(t, http.StatusOK, http.MethodGet, "/reporting/v3/net-fundings?"+window, nil)
	if n.str("totalPurchases.0.value") != "35.00" || n.str("totalRefunds.0.value") != "4.00" {
		t.Fatalf("net fundings: %s", n.raw)
	}

	// The quirks were for one run only.
	next := b.pay(t, sale(paymentReq("q-next", "2.00", CardVisa))).str("id")
	if r := b.control(t, http.MethodPost, "/_sim/settlement-quirks", `{"omit":["`+plain+`"]}`); r.status != 400 ||
		!strings.Contains(r.str("error"), "is BATCHED, not pending settlement") {
		t.Fatalf("quirk on a settled transaction: %d %s", r.status, r.raw)
	}
	b.nextDay(t)
	if csv := string(b.do(t, http.MethodGet, reportPath("2026-04-11", PaymentBatchDetailReport), nil, "Accept", "text/csv").raw); !strings.Contains(csv, next+",q-next,") ||
		!strings.Contains(csv, ",2.00,ics_bill") {
		t.Fatalf("the next day's report:\n%s", csv)
	}

	// Go API, and {} clears.
	third := b.pay(t, sale(paymentReq("q-third", "1.00", CardVisa))).str("id")
	if err := b.sim.SetSettlementQuirks(SettlementQuirks{Amounts: map[string]decimal.Decimal{third: decimal.RequireFromString("0.5")}}); err != nil {
		t.Fatal(err)
	}
	if r := b.control(t, http.MethodPost, "/_sim/settlement-quirks", `{}`); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("clear: %d %s", r.status, r.raw)
	}
	var snapJSON Snapshot
	if err := json.Unmarshal(b.control(t, http.MethodGet, "/_sim/state", "").raw, &snapJSON); err != nil || !snapJSON.SettlementQuirks.empty() {
		t.Fatalf("/_sim/state quirks after clearing: %v %+v", err, snapJSON.SettlementQuirks)
	}
}
