package cybersourcesim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// netFundingRows indexes the netFundingSummaries rows by type and payment sub-type.
func netFundingRows(t *testing.T, r response) map[string]map[string]any {
	t.Helper()
	rows := map[string]map[string]any{}
	for _, x := range walk(r.body, "netFundingSummaries").([]any) {
		m := x.(map[string]any)
		rows[m["type"].(string)+"/"+m["paymentSubType"].(string)] = m
	}
	return rows
}

func TestChargebacksShowInNetFundings(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	// The 10th: settledDay's business and a 7.00 Visa sale. The 11th: a sale still pending and a
	// voided one.
	saleID, refundID, captureID, _ := settledDay(t, b)
	lateID := b.pay(t, sale(paymentReq("cb-late", "7.00", CardVisa))).str("id")
	b.nextDay(t)
	pendingID := b.pay(t, sale(paymentReq("cb-pending", "8.00", CardVisa))).str("id")
	voidedID := b.pay(t, sale(paymentReq("cb-voided", "6.00", CardVisa))).str("id")
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+voidedID+"/voids", nil)
	authID := b.pay(t, paymentReq("cb-auth", "9.00", CardVisa)).str("id")

	refusals := []struct{ body, want string }{
		{`{"transactionId":"nope"}`, "unknown transaction"},
		{`{"transactionId":""}`, "transactionId is required"},
		{`{"transactionId":"` + refundID + `"}`, "(refund) is not a sale or capture"},
		{`{"transactionId":"` + authID + `"}`, "(authorization) is not a sale or capture"},
		{`{"transactionId":"` + pendingID + `"}`, "is not settled (settlement status PENDING)"},
		{`{"transactionId":"` + voidedID + `"}`, "is not settled (settlement status VOIDED)"},
		{`{"transactionId":"` + saleID + `","amount":"100.01"}`, "exceeds what can be charged back"},
		{`{"transactionId":"` + saleID + `","amount":"-1"}`, "must be a positive decimal"},
		{`{"transactionId":"` + saleID + `","amount":"1.001"}`, "must be a positive decimal"},
		{`{"transactionId":"` + saleID + `","amount":"ten"}`, "must be a positive decimal"},
		{`not json`, "bad chargeback JSON"},
	}
	for _, c := range refusals {
		r := b.control(t, http.MethodPost, "/_sim/chargebacks", c.body)
		if r.status != http.StatusBadRequest || !strings.Contains(r.str("error"), c.want) {
			t.Errorf("%s: %d %s, want 400 %q", c.body, r.status, r.raw, c.want)
		}
	}

	partial := b.control(t, http.MethodPost, "/_sim/chargebacks", `{"transactionId":"`+saleID+`","amount":"12.50","reason":"fraud"}`)
	if partial.status != http.StatusCreated || partial.str("transactionId") != saleID || partial.str("amount") != "12.5" ||
		partial.str("date") != "2026-04-11" || partial.str("reason") != "fraud" || partial.str("paymentMethod") != "Visa" || partial.str("id") == "" {
		t.Fatalf("partial chargeback: %d %s", partial.status, partial.raw)
	}
	// The rest of the sale, then nothing left.
	if r := b.control(t, http.MethodPost, "/_sim/chargebacks", `{"transactionId":"`+saleID+`","amount":"87.51"}`); r.status != 400 {
		t.Fatalf("above what is left: %d %s", r.status, r.raw)
	}
	cb, err := b.sim.Chargeback(ChargebackRequest{TransactionID: captureID}) // the whole 50.00
	if err != nil || !cb.Amount.Equal(decimal.RequireFromString("50")) || cb.PaymentMethod != "MasterCard" || cb.Kind != KindCapture {
		t.Fatalf("whole chargeback: %+v %v", cb, err)
	}
	if _, err := b.sim.Chargeback(ChargebackRequest{TransactionID: captureID}); err == nil || !strings.Contains(err.Error(), "in full") {
		t.Fatalf("second whole chargeback: %v", err)
	}
	if _, err := b.sim.Chargeback(ChargebackRequest{TransactionID: lateID, Amount: "7.00"}); err != nil {
		t.Fatalf("chargeback of the sale settled at the last cut-off: %v", err)
	}

	st := b.control(t, http.MethodGet, "/_sim/state", "")
	var snap Snapshot
	if err := json.Unmarshal(st.raw, &snap); err != nil || len(snap.Chargebacks) != 3 || snap.Chargebacks[0].TransactionID != saleID ||
		snap.Chargebacks[1].TransactionID != captureID || snap.Chargebacks[0].ID == snap.Chargebacks[1].ID {
		t.Fatalf("/_sim/state chargebacks: %v %+v", err, snap.Chargebacks)
	}

	// The 10th's batch holds purchases of 157.00 (fees 1.70, 0.95 and 0.31), refunds of 35.00
	// and no chargebacks; the 11th has the chargebacks and no batch yet.
	day10 := query("organizationId", DefaultMerchantID, "startTime", "2026-04-10T00:00:00Z", "endTime", "2026-04-11T00:00:00Z")
	n10 := b.must(t, http.StatusOK, http.MethodGet, "/reporting/v3/net-fundings?"+day10, nil)
	if n10.str("totalChargebacks.0.value") != "0.00" || n10.str("netTotal.0.value") != "119.04" {
		t.Fatalf("net fundings of the 10th: %s", n10.raw)
	}
	day11 := query("organizationId", DefaultMerchantID, "startTime", "2026-04-11T00:00:00Z", "endTime", "2026-04-12T00:00:00Z")
	n11 := b.must(t, http.StatusOK, http.MethodGet, "/reporting/v3/net-fundings?"+day11, nil)
	checks := map[string]string{
		"totalChargebacks.0.value": "69.50", "totalChargebacks.0.currency": "USD",
		"totalPurchases.0.value": "0.00", "totalFees.0.value": "0.00", "netTotal.0.value": "-69.50",
	}
	for path, want := range checks {
		if got := n11.str(path); got != want {
			t.Errorf("net fundings of the 11th %s = %s, want %s: %s", path, got, want, n11.raw)
		}
	}
	rows := netFundingRows(t, n11)
	if vi := rows["CHARGEBACKS/VI"]; vi == nil || vi["conveyedCount"] != float64(2) || vi["fundedAmount"] != "19.50" || vi["currencyCode"] != "USD" {
		t.Errorf("CHARGEBACKS/VI row: %v", vi)
	}
	if mc := rows["CHARGEBACKS/MC"]; mc == nil || mc["fundedCount"] != float64(1) || mc["conveyedAmount"] != "50.00" {
		t.Errorf("CHARGEBACKS/MC row: %v", mc)
	}

	// Both days: purchases 157.00 (fees 2.96), refunds 35.00, chargebacks 69.50.
	both := query("organizationId", DefaultMerchantID, "startTime", "2026-04-10T00:00:00Z", "endTime", "2026-04-12T00:00:00Z")
	n := b.must(t, http.StatusOK, http.MethodGet, "/reporting/v3/net-fundings?"+both, nil)
	if n.str("totalPurchases.0.value") != "157.00" || n.str("totalFees.0.value") != "2.96" ||
		n.str("totalChargebacks.0.value") != "69.50" || n.str("netTotal.0.value") != "49.54" {
		t.Fatalf("net fundings of both days: %s", n.raw)
	}
	var types []string
	for _, r := range walk(n.body, "netFundingSummaries").([]any) {
		types = append(types, r.(map[string]any)["type"].(string))
	}
	if got := strings.Join(types, ","); !strings.HasSuffix(got, "CHARGEBACKS,CHARGEBACKS") || !strings.HasPrefix(got, "PURCHASES") {
		t.Errorf("row order: %s", got)
	}
	// Chargebacks do not touch the batch summaries.
	s := b.must(t, http.StatusOK, http.MethodGet, "/reporting/v3/payment-batch-summaries?"+day10, nil)
	if strings.Contains(string(s.raw), "hargeback") {
		t.Errorf("batch summaries mention chargebacks: %s", s.raw)
	}
}
