package sync_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/payhub/payhub/db/dbtest"
	hubsync "github.com/payhub/payhub/sync"
)

func TestScanAnomaliesLearnsACustomersNormalAndFlagsAnOutlierOnce(t *testing.T) {
	pool := dbtest.New(t)
	engine, err := hubsync.New(hubsync.Config{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var customerID int64
	if err := pool.QueryRow(ctx, `INSERT INTO customers (code, name, email) VALUES ('C0042', 'Analytical Engines', 'ada@example.com') RETURNING id`).Scan(&customerID); err != nil {
		t.Fatal(err)
	}
	pay := func(i int, amount string, at time.Time) {
		t.Helper()
		if _, err := pool.Exec(ctx, `INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference, kind, status, amount,
			currency, occurred_at, customer_id, card_brand, card_last_four, card_expiry_month, card_expiry_year, created_at)
			VALUES ('opayo', $1, $2, 'sale', 'captured', $3, 'GBP', $4, $5, 'visa', $6, 12, 2030, now() - interval '1 minute')`,
			fmt.Sprintf("TX-%04d", i), fmt.Sprintf("ORD-%04d", i), amount, at, customerID, fmt.Sprintf("%04d", 1000+i%7)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now().Add(-30 * 24 * time.Hour)
	for i := range 40 {
		pay(i, fmt.Sprintf("%d.%02d", 110+(i*37)%45, i), start.Add(time.Duration(i)*17*time.Hour))
	}
	if n, err := engine.ScanAnomalies(ctx); err != nil || n != 0 {
		t.Fatalf("normal history raised %d anomalies (%v)", n, err)
	}
	pay(99, "4950.00", time.Now().Add(-2*time.Minute))
	n, err := engine.ScanAnomalies(ctx)
	if err != nil || n == 0 {
		t.Fatalf("the outlier raised %d anomalies (%v)", n, err)
	}
	var kind, severity, summary string
	var score *float64
	var explanation *string
	if err := pool.QueryRow(ctx, `SELECT kind, severity, summary, score, explanation FROM anomalies WHERE kind = 'amount_outlier_customer'`).
		Scan(&kind, &severity, &summary, &score, &explanation); err != nil {
		t.Fatal(err)
	}
	if score == nil || *score <= 0 || explanation == nil || !strings.Contains(*explanation, "C0042") || !strings.Contains(*explanation, "4,950.00") {
		t.Errorf("anomaly %s %s: score %v, explanation %v", kind, severity, score, explanation)
	}
	var events int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE kind = 'anomaly.raised' AND payload->>'kind' = 'amount_outlier_customer'`).Scan(&events); err != nil || events != 1 {
		t.Errorf("%d anomaly.raised events (%v)", events, err)
	}
	// A scan with nothing new raises nothing, and the cursor survives a new detector (a restart).
	if n, err := engine.ScanAnomalies(ctx); err != nil || n != 0 {
		t.Errorf("a scan with nothing new raised %d (%v)", n, err)
	}
	restarted, err := hubsync.New(hubsync.Config{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := restarted.ScanAnomalies(ctx); err != nil || n != 0 {
		t.Errorf("a restarted hub raised %d again (%v)", n, err)
	}
}

func TestScanAnomaliesJudgesSettlementDiscrepanciesAgainstTheMerchantsNoise(t *testing.T) {
	pool := dbtest.New(t)
	engine, err := hubsync.New(hubsync.Config{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	discrepancy := func(i int, expected, actual string) {
		t.Helper()
		if _, err := pool.Exec(ctx, `INSERT INTO settlement_discrepancies (gateway, settlement_date, kind, dedupe_key, currency,
			expected, actual, explanation) VALUES ('cybersource', '2026-11-01', 'amount_mismatch', $1, 'GBP', $2, $3, 'line differs')`,
			fmt.Sprintf("k%d", i), expected, actual); err != nil {
			t.Fatal(err)
		}
	}
	// Rounding noise is learned, never raised.
	for i := range 12 {
		discrepancy(i, "10.00", fmt.Sprintf("%d.%02d", 11+i%3, 10+i))
	}
	if n, err := engine.ScanAnomalies(ctx); err != nil || n != 0 {
		t.Fatalf("usual discrepancies raised %d anomalies (%v)", n, err)
	}
	discrepancy(99, "480.00", "80.00")
	if n, err := engine.ScanAnomalies(ctx); err != nil || n != 1 {
		t.Fatalf("a 400.00 discrepancy raised %d anomalies (%v)", n, err)
	}
	var subject string
	var explanation *string
	if err := pool.QueryRow(ctx, `SELECT subject_type, explanation FROM anomalies WHERE kind = 'settlement_mismatch'`).Scan(&subject, &explanation); err != nil {
		t.Fatal(err)
	}
	if subject != "settlement_discrepancy" || explanation == nil || !strings.Contains(*explanation, "400.00") {
		t.Errorf("anomaly about %s: %v", subject, explanation)
	}
}
