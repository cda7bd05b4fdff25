package cybersource_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
)

func totalIn(amounts []cybersource.CurrencyAmount, currency string) (decimal.Decimal, bool) {
	for _, a := range amounts {
		if a.Currency == currency {
			return a.Value, true
		}
	}
	return decimal.Zero, false
}

func TestSimNetFundingsShowAChargeback(t *testing.T) {
	t.Parallel()
	env := newSimEnv(t, cybersource.AuthHTTPSignature, cybersourcesim.Options{})
	ctx := t.Context()
	p := cardPayment("CB-1", "4111111111111111", "100.00")
	p.Capture = true
	sale := mustPay(t, env.c, p)

	if code, raw := simControl(t, env, "/_sim/chargebacks", `{"transactionId":"`+sale.ID+`","amount":"25.00"}`); code != http.StatusBadRequest {
		t.Fatalf("chargeback before settlement: %d %s, want 400", code, raw)
	}
	env.sim.Clock().Advance(24 * time.Hour) // the sale settles; chargebacks now land on the 11th
	if code, raw := simControl(t, env, "/_sim/chargebacks", `{"transactionId":"`+sale.ID+`","amount":"25.00","reason":"fraud"}`); code != http.StatusCreated {
		t.Fatalf("chargeback: %d %s", code, raw)
	}

	day := simStart.Truncate(24 * time.Hour)
	nf, err := env.query.NetFundings(ctx, cybersource.ReportWindow{Start: day, End: day.Add(48 * time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	// 100.00 purchased, fee 1.70, 25.00 charged back.
	for what, want := range map[string]struct {
		got  []cybersource.CurrencyAmount
		want string
	}{
		"totalPurchases": {nf.TotalPurchases, "100.00"}, "totalFees": {nf.TotalFees, "1.70"},
		"totalChargebacks": {nf.TotalChargebacks, "25.00"}, "netTotal": {nf.NetTotal, "73.30"},
	} {
		if got, ok := totalIn(want.got, "USD"); !ok || !got.Equal(dec(want.want)) {
			t.Errorf("%s = %+v, want USD %s", what, want.got, want.want)
		}
	}
	var rows int
	for _, s := range nf.Summaries {
		if s.Type == "CHARGEBACKS" {
			rows++
			if s.PaymentSubType != "VI" || s.CurrencyCode != "USD" || s.FundedCount != 1 || !s.FundedAmount.Equal(dec("25")) {
				t.Errorf("CHARGEBACKS row %+v", s)
			}
		}
	}
	if rows != 1 {
		t.Errorf("CHARGEBACKS rows = %d: %+v", rows, nf.Summaries)
	}
	// The sale's own day has no chargeback.
	first, err := env.query.NetFundings(ctx, cybersource.ReportWindow{Start: day, End: day.Add(24 * time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := totalIn(first.TotalChargebacks, "USD"); !got.IsZero() {
		t.Errorf("chargebacks on the sale's day: %+v", first.TotalChargebacks)
	}
}

func TestSimSettlementQuirksReachTheBatchDetailReader(t *testing.T) {
	t.Parallel()
	env := newSimEnv(t, cybersource.AuthHTTPSignature, cybersourcesim.Options{})
	ctx := t.Context()
	var ids []string
	for i, amount := range []string{"10.00", "20.00", "30.00"} {
		p := cardPayment(fmt.Sprintf("QK-%d", i+1), "4111111111111111", amount)
		p.Capture = true
		ids = append(ids, mustPay(t, env.c, p).ID)
	}
	if code, raw := simControl(t, env, "/_sim/settlement-quirks", `{"omit":["`+ids[0]+`"],"amounts":{"`+ids[1]+`":"19.99"}}`); code != http.StatusOK {
		t.Fatalf("settlement quirks: %d %s", code, raw)
	}
	env.sim.Clock().Advance(24 * time.Hour)

	day := simStart.Truncate(24 * time.Hour)
	rc, err := env.query.DownloadReport(ctx, cybersource.ReportDownload{ReportDate: day, ReportName: cybersource.ReportNamePaymentBatchDetail})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	r := cybersource.NewBatchDetailReader(rc)
	rows := map[string]decimal.Decimal{}
	reported := decimal.Zero
	for r.Next() {
		rows[r.Record().RequestID] = r.Record().Amount
		reported = reported.Add(r.Record().Amount)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok := rows[ids[0]]; ok || !rows[ids[1]].Equal(dec("19.99")) || !rows[ids[2]].Equal(dec("30")) || len(rows) != 2 {
		t.Fatalf("report rows %v", rows)
	}
	sums, err := env.query.PaymentBatchSummaries(ctx, cybersource.ReportWindow{Start: day, End: day.Add(24 * time.Hour)}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(sums.Summaries) != 1 || sums.Summaries[0].SalesCount != 3 || !sums.Summaries[0].SalesAmount.Equal(dec("60")) {
		t.Fatalf("batch summaries %+v", sums.Summaries)
	}
	if reported.Equal(sums.Summaries[0].SalesAmount) {
		t.Fatalf("the report adds up to the summaries (%s)", reported)
	}
}
