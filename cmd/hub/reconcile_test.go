package main

import (
	"context"
	"encoding/csv"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/db/dbtest"
)

func TestReconcileCommandWritesTheDiscrepancyReport(t *testing.T) {
	bin := buildHub(t)
	url := dbtest.NewURL(t)
	env := []string{"DATABASE_URL=" + url}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"reconcile", "--date", "2026-11-01"}, "--gateway must be cybersource or opayo"},
		{[]string{"reconcile", "--gateway", "stripe", "--date", "2026-11-01"}, "--gateway must be cybersource or opayo"},
		{[]string{"reconcile", "--gateway", "opayo", "--date", "yesterday"}, "--date must be a day such as"},
		{[]string{"reconcile", "--gateway", "opayo", "--date", "2026-11-01", "--progress", "loud"}, "--progress must be auto, always or never"},
	} {
		stdout, stderr, code := hubRun(t, bin, env, tt.args...)
		if code != 2 || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, tt.want) {
			t.Errorf("hub %v: exit %d, stdout %q, stderr %q; want exit 2 and one line saying %q", tt.args, code, stdout, stderr, tt.want)
		}
	}
	if _, stderr, code := hubRun(t, bin, env, "reconcile", "--gateway", "opayo", "--date", "2026-11-01"); code != 1 ||
		!strings.Contains(stderr, "Opayo Reporting is not configured") {
		t.Errorf("unconfigured gateway: exit %d, %s", code, stderr)
	}

	// A day at the Cybersource simulator: one clean sale, one the report misstates, one the
	// hub never recorded, and one recorded payment the gateway never settled.
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -2)
	sim := cybersourcesim.New(cybersourcesim.Options{Start: day.Add(10 * time.Hour), SignatureSkew: 24 * 400 * time.Hour})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	client, err := cybersource.New(cybersource.Config{BaseURL: srv.URL, MerchantID: cybersourcesim.DefaultMerchantID,
		KeyID: cybersourcesim.DefaultKeyID, Secret: cybersourcesim.DefaultSecret})
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := hubRun(t, bin, env, "migrate"); code != 0 {
		t.Fatalf("hub migrate: %s", stderr)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	ids := map[string]string{}
	for _, p := range []struct {
		ref, amount string
		record      bool
	}{{"ORD-1", "100.00", true}, {"ORD-2", "45.00", true}, {"ORD-3", "12.00", false}} {
		res, err := client.CreatePayment(ctx, cybersource.PaymentRequest{Reference: p.ref, Capture: true,
			Amount: decimal.RequireFromString(p.amount), Currency: "GBP",
			Card: &cybersource.Card{Number: "4111111111111111", ExpirationMonth: "12", ExpirationYear: "2031", SecurityCode: "123"},
			BillTo: &cybersource.Address{FirstName: "Ada", LastName: "Lovelace", Address1: "1 Harbour Road", Locality: "Bristol",
				PostalCode: "BS1 1AA", Email: "ada@example.com", Country: "GB"}})
		if err != nil {
			t.Fatal(err)
		}
		ids[p.ref] = res.ID
		if p.record {
			if _, err := conn.Exec(ctx, `INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference, kind, status,
				amount, currency, occurred_at) VALUES ('cybersource', $1, $2, 'sale', 'captured', $3, 'GBP', $4)`,
				res.ID, p.ref, p.amount, sim.Clock().Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference, kind, status,
		amount, currency, occurred_at) VALUES ('cybersource', 'NEVER-SETTLED', 'ORD-4', 'sale', 'captured', 9.99, 'GBP', $1)`,
		sim.Clock().Now()); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetSettlementQuirks(cybersourcesim.SettlementQuirks{Amounts: map[string]decimal.Decimal{ids["ORD-2"]: decimal.RequireFromString("44.00")}}); err != nil {
		t.Fatal(err)
	}
	sim.Clock().Advance(24 * time.Hour)

	out := filepath.Join(t.TempDir(), "report.csv")
	env = append(env, "HUB_CYBERSOURCE_URL="+srv.URL, "HUB_CYBERSOURCE_MERCHANTID="+cybersourcesim.DefaultMerchantID,
		"HUB_CYBERSOURCE_KEYID="+cybersourcesim.DefaultKeyID, "HUB_CYBERSOURCE_SECRET="+cybersourcesim.DefaultSecret,
		"HUB_SETTLEMENT_INTERVAL=off")
	_, stderr, code := hubRun(t, bin, env, "reconcile", "--gateway", "cybersource", "--date", day.Format(time.DateOnly),
		"--out", out, "--progress", "always")
	if code != 0 {
		t.Fatalf("hub reconcile: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"cybersource settlement of " + day.Format(time.DateOnly), "MISMATCHED", "matching",
		"unmatched_payment (open)", "amount_mismatch (open)", "unmatched_settlement_line (open)", "total_mismatch (open)",
		"Discrepancy report: " + out} {
		if !strings.Contains(stderr, want) {
			t.Errorf("hub reconcile output lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, cybersourcesim.DefaultSecret) {
		t.Error("the Cybersource secret is in the output")
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 5 || rows[0][3] != "kind" || rows[0][13] != "explanation" {
		t.Fatalf("report has %d rows, header %v", len(rows), rows[0])
	}
	byKind := map[string]string{}
	for _, r := range rows[1:] {
		byKind[r[3]] += r[13] + " | "
		if r[0] != "cybersource" || r[1] != day.Format(time.DateOnly) || r[4] != "open" {
			t.Errorf("row %v: wrong gateway, date or status", r)
		}
	}
	for kind, mention := range map[string]string{"unmatched_payment": "ORD-4", "amount_mismatch": ids["ORD-2"],
		"unmatched_settlement_line": ids["ORD-3"], "total_mismatch": "sales"} {
		if !strings.Contains(byKind[kind], mention) {
			t.Errorf("no %s row naming %s: %q", kind, mention, byKind[kind])
		}
	}
	if strings.Contains(byKind["amount_mismatch"]+byKind["unmatched_settlement_line"], ids["ORD-1"]) {
		t.Errorf("the clean sale is reported: %v", byKind)
	}

	// A second run over the same day changes nothing and reports the same.
	_, stderr2, code := hubRun(t, bin, env, "reconcile", "--gateway", "cybersource", "--date", day.Format(time.DateOnly), "--progress", "never")
	if code != 0 || strings.Contains(stderr2, "matching") {
		t.Fatalf("second run: exit %d\n%s", code, stderr2)
	}
	var discrepancies int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM settlement_discrepancies`).Scan(&discrepancies); err != nil || discrepancies != len(rows)-1 {
		t.Errorf("after two runs the database holds %d discrepancies, the report %d (%v)", discrepancies, len(rows)-1, err)
	}
}
