package sync_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	hubsync "github.com/payhub/payhub/sync"
)

// settleEnv is a Cybersource simulator on a fixed day, a SYSPRO simulator and a running engine.
type settleEnv struct {
	cs     *cybersourcesim.Server
	csc    *cybersource.Client
	erp    *sysprosim.Server
	pool   *pgxpool.Pool
	engine *hubsync.Engine
	day    time.Time
}

func newSettleEnv(t *testing.T, cfg hubsync.SettlementConfig) *settleEnv {
	t.Helper()
	env := &settleEnv{}
	// The simulators live on a day of their own, in an open SYSPRO period.
	now := time.Now().UTC()
	env.day = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, 9)
	if !env.day.Before(now.Truncate(24 * time.Hour)) {
		env.day = now.Truncate(24*time.Hour).AddDate(0, 0, -1)
	}
	env.cs = cybersourcesim.New(cybersourcesim.Options{Start: env.day.Add(9 * time.Hour), SignatureSkew: 24 * 400 * time.Hour})
	csSrv := httptest.NewServer(env.cs)
	t.Cleanup(func() { csSrv.Close(); env.cs.Close() })
	env.csc = newCybersourceClient(t, csSrv.URL)
	env.erp = sysprosim.New(sysprosim.Options{SeatsPerOperator: 4})
	erpSrv := httptest.NewServer(env.erp)
	t.Cleanup(erpSrv.Close)
	env.pool = dbtest.New(t)
	cfg.Interval = -1
	var err error
	env.engine, err = hubsync.New(hubsync.Config{Pool: env.pool, Cybersource: env.csc, Syspro: newSysproClient(t, erpSrv.URL),
		Settlement: cfg, Anomaly: hubsync.AnomalyConfig{Interval: -1}, FetchPollInterval: 100 * time.Millisecond,
		Backoff: hubsync.Backoff{Base: 10 * time.Millisecond, Max: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := env.engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		env.engine.Stop(sctx) //nolint:errcheck
		cancel()
	})
	return env
}

// sale takes a card payment at the simulator and, unless record is false, records it as a
// canonical captured payment (as normalisation would) with the given amount and currency.
func (env *settleEnv) sale(t *testing.T, ref, amount string, record bool, canonical ...string) string {
	t.Helper()
	res, err := env.csc.CreatePayment(context.Background(), cybersource.PaymentRequest{Reference: ref, Capture: true,
		Amount: decimal.RequireFromString(amount), Currency: "GBP",
		Card: &cybersource.Card{Number: "4111111111111111", ExpirationMonth: "12", ExpirationYear: "2031", SecurityCode: "123"},
		BillTo: &cybersource.Address{FirstName: "Ada", LastName: "Lovelace", Address1: "1 Harbour Road", Locality: "Bristol",
			PostalCode: "BS1 1AA", Email: "ada@example.com", Country: "GB"}})
	if err != nil {
		t.Fatal(err)
	}
	if !record {
		return res.ID
	}
	amt, cur, kind := amount, "GBP", "sale"
	if len(canonical) > 0 {
		amt = canonical[0]
	}
	if len(canonical) > 1 {
		cur = canonical[1]
	}
	env.payment(t, res.ID, ref, kind, amt, cur, env.cs.Clock().Now())
	return res.ID
}

func (env *settleEnv) payment(t *testing.T, id, ref, kind, amount, currency string, at time.Time) {
	t.Helper()
	status := "captured"
	if kind == "refund" {
		status = "refunded"
	}
	if _, err := env.pool.Exec(context.Background(), `INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference,
		kind, status, amount, currency, occurred_at) VALUES ('cybersource', $1, $2, $3, $4, $5, $6, $7)`,
		id, ref, kind, status, amount, currency, at); err != nil {
		t.Fatal(err)
	}
}

// snapshot is the settlement state of the database, to show that a re-run changes nothing.
func (env *settleEnv) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT id, status, digest, line_count, gross_amount, net_amount, reconciled_at FROM settlement_batches ORDER BY id`,
		`SELECT id, line_number, match_status, coalesce(match_method, ''), coalesce(payment_id, 0) FROM settlement_lines ORDER BY id`,
		`SELECT settlement_line_id, payment_id, method FROM settlement_matches ORDER BY 1, 2`,
		`SELECT id, kind, status, dedupe_key, explanation, updated_at FROM settlement_discrepancies ORDER BY id`,
		`SELECT id, status, coalesce(reference, '') FROM gl_journals ORDER BY id`,
		`SELECT id, status, idempotency_key FROM erp_postings ORDER BY id`,
		`SELECT count(*) FROM events`,
		`SELECT id, status, detected_at FROM anomalies ORDER BY id`,
	} {
		rows, err := env.pool.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
	}
	return b.String()
}

func TestSettlementDayWithEveryDiscrepancyIsReportedAndNotJournaledUntilAccepted(t *testing.T) {
	env := newSettleEnv(t, hubsync.SettlementConfig{Tolerance: decimal.RequireFromString("0.01")})
	ctx := context.Background()
	clean := env.sale(t, "ORD-1001", "120.00", true)
	env.sale(t, "ORD-1002", "35.50", true)
	omitted := env.sale(t, "ORD-1003", "80.00", true)          // the gateway's detail report leaves it out
	misreported := env.sale(t, "ORD-1004", "64.00", true)      // the detail report says 60.00
	unknown := env.sale(t, "ORD-1005", "19.99", false)         // settled, but the hub never recorded it
	rounded := env.sale(t, "ORD-1006", "10.00", true, "9.995") // inside the 0.01 tolerance
	euro := env.sale(t, "ORD-1007", "42.00", true, "42.00", "EUR")
	env.payment(t, "NEVER-SETTLED", "ORD-1008", "sale", "15.00", "GBP", env.cs.Clock().Now())
	if err := env.cs.SetSettlementQuirks(cybersourcesim.SettlementQuirks{Omit: []string{omitted},
		Amounts: map[string]decimal.Decimal{misreported: decimal.RequireFromString("60.00")}}); err != nil {
		t.Fatal(err)
	}
	env.cs.Clock().Advance(24 * time.Hour)

	report, err := env.engine.ReconcileDay(ctx, "cybersource", env.day, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Batches) != 1 || report.Batches[0].Status != "mismatched" {
		t.Fatalf("want one mismatched batch, got %+v", report.Batches)
	}
	kinds := map[string][]string{}
	for _, d := range report.Discrepancies {
		kinds[d.Kind] = append(kinds[d.Kind], d.Explanation)
	}
	for kind, mention := range map[string]string{
		"unmatched_payment":         "ORD-1003",
		"amount_mismatch":           misreported,
		"unmatched_settlement_line": unknown,
		"currency_mismatch":         euro,
		"total_mismatch":            "",
	} {
		found := false
		for _, e := range kinds[kind] {
			found = found || strings.Contains(e, mention)
		}
		if !found {
			t.Errorf("no %s discrepancy naming %q; report: %v", kind, mention, kinds)
		}
	}
	if !slices.ContainsFunc(kinds["unmatched_payment"], func(e string) bool { return strings.Contains(e, "ORD-1008") }) {
		t.Errorf("the payment the gateway never settled is not reported: %v", kinds["unmatched_payment"])
	}
	for _, e := range slices.Concat(kinds["amount_mismatch"], kinds["unmatched_settlement_line"]) {
		if strings.Contains(e, rounded) || strings.Contains(e, clean) {
			t.Errorf("a line within tolerance or clean was reported: %s", e)
		}
	}
	// A count that differs (the omitted line) is a number of lines, not money: no currency.
	var counts, countsWithCurrency int
	if err := env.pool.QueryRow(ctx, `SELECT count(*), count(currency) FROM settlement_discrepancies
		WHERE kind = 'total_mismatch' AND explanation ~ 'reports [0-9]+ (sales|refunds) in'`).Scan(&counts, &countsWithCurrency); err != nil {
		t.Fatal(err)
	}
	if counts == 0 || countsWithCurrency != 0 {
		t.Errorf("%d count mismatches, %d of them with a currency; want some, none with one", counts, countsWithCurrency)
	}
	q := db.New(env.pool)
	if _, err := q.GetLiveGlJournalOfBatch(ctx, &report.Batches[0].ID); err == nil {
		t.Fatal("a mismatched batch got a GL journal")
	}
	var anomalies int
	if err := env.pool.QueryRow(ctx, `SELECT count(*) FROM anomalies WHERE kind = 'settlement_mismatch'`).Scan(&anomalies); err != nil || anomalies == 0 {
		t.Fatalf("no settlement_mismatch anomaly (%d, %v)", anomalies, err)
	}

	// Re-running the day changes nothing.
	before := env.snapshot(t)
	if _, err := env.engine.ReconcileDay(ctx, "cybersource", env.day, nil); err != nil {
		t.Fatal(err)
	}
	if after := env.snapshot(t); after != before {
		t.Fatalf("re-running the day changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// Finance accepts the batch: its journal is derived, balanced, and posted to SYSPRO once.
	if _, err := env.engine.AcceptSettlementBatch(ctx, report.Batches[0].ID, "", "finance@example.com"); err == nil {
		t.Fatal("accepting without a note was allowed")
	}
	batch, err := env.engine.AcceptSettlementBatch(ctx, report.Batches[0].ID, "agreed with the acquirer", "finance@example.com")
	if err != nil {
		t.Fatal(err)
	}
	journal := waitJournalPosted(t, env, batch.ID)
	lines, err := q.ListGlJournalLines(ctx, []int64{journal.ID})
	if err != nil {
		t.Fatal(err)
	}
	sum := decimal.Zero
	for _, l := range lines {
		sum = sum.Add(l.Amount)
		if !l.Amount.Equal(l.Amount.Round(2)) {
			t.Errorf("journal line %d is not in whole cents: %s", l.LineNumber, l.Amount)
		}
	}
	if !sum.IsZero() || len(lines) < 2 {
		t.Fatalf("journal does not balance: %d lines sum to %s", len(lines), sum)
	}
	st := env.erp.State()
	if len(st.GlJournals) != 1 || st.GlJournals[0].Reference != *journal.Reference {
		t.Fatalf("SYSPRO holds %d journals: %+v", len(st.GlJournals), st.GlJournals)
	}
	if got := fmt.Sprintf("%010d", st.GlJournals[0].Journal); journal.SysproJournalNumber == nil || *journal.SysproJournalNumber != got {
		t.Errorf("journal number stored %v, SYSPRO's %s", journal.SysproJournalNumber, got)
	}
	b, _ := q.GetSettlementBatch(ctx, batch.ID)
	if b.Status != "journal_posted" {
		t.Errorf("batch is %s after its journal posted", b.Status)
	}
	// Posting twice is impossible: a second journal for the batch is refused by the database, and
	// reconciling the day again neither drafts nor posts another.
	ref := "PAYHUB-CS-again"
	if _, err := q.CreateGlJournal(ctx, db.CreateGlJournalParams{SettlementBatchID: &batch.ID, JournalDate: env.day, Reference: &ref}); err == nil {
		t.Error("a second live journal was drafted for the batch")
	}
	if _, err := env.engine.ReconcileDay(ctx, "cybersource", env.day, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(env.erp.State().GlJournals); n != 1 {
		t.Fatalf("SYSPRO holds %d journals after a re-run", n)
	}
}

func TestCleanSettlementDayIsJournaledOnItsOwn(t *testing.T) {
	env := newSettleEnv(t, hubsync.SettlementConfig{})
	ctx := context.Background()
	for i := range 5 {
		env.sale(t, fmt.Sprintf("ORD-2%03d", i), fmt.Sprintf("%d.25", 20+i), true)
	}
	// A partial refund: the gateway settles it as a credit.
	first := env.sale(t, "ORD-2100", "50.00", true)
	rf, err := env.csc.RefundPayment(ctx, first, cybersource.RefundRequest{Reference: "ORD-2100", Amount: decimal.RequireFromString("20.00"), Currency: "GBP"})
	if err != nil {
		t.Fatal(err)
	}
	env.payment(t, rf.ID, "ORD-2100", "refund", "20.00", "GBP", env.cs.Clock().Now())
	env.cs.Clock().Advance(24 * time.Hour)
	report, err := env.engine.ReconcileDay(ctx, "cybersource", env.day, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !report.Reconciled() || len(report.Batches) != 1 {
		t.Fatalf("a clean day did not reconcile: %+v", report.Result.Discrepancies)
	}
	b := report.Batches[0]
	if !b.RefundAmount.Equal(decimal.RequireFromString("20.00")) || b.FeeAmount.IsZero() {
		t.Errorf("batch refunds %s fees %s", b.RefundAmount, b.FeeAmount)
	}
	journal := waitJournalPosted(t, env, b.ID)
	lines, _ := db.New(env.pool).ListGlJournalLines(ctx, []int64{journal.ID})
	byCode := map[string]decimal.Decimal{}
	for _, l := range lines {
		byCode[l.LedgerCode] = byCode[l.LedgerCode].Add(l.Amount)
	}
	// The bank got the net; clearing gave up sales less refunds; fees are an expense.
	if !byCode["1000"].Equal(b.NetAmount) || !byCode["1050"].Equal(b.GrossAmount.Sub(b.RefundAmount).Neg()) || !byCode["4100"].Equal(b.FeeAmount) {
		t.Errorf("journal by ledger code %v; batch gross %s refunds %s fees %s net %s", byCode, b.GrossAmount, b.RefundAmount, b.FeeAmount, b.NetAmount)
	}
}

// waitJournalPosted waits for the batch's journal to be posted to SYSPRO.
func waitJournalPosted(t *testing.T, env *settleEnv, batchID int64) db.GlJournal {
	t.Helper()
	q := db.New(env.pool)
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := q.GetLiveGlJournalOfBatch(context.Background(), &batchID)
		if err == nil && j.Status == "posted" {
			return j
		}
		if time.Now().After(deadline) {
			var dead []string
			rows, _ := env.pool.Query(context.Background(), `SELECT coalesce(last_error, '') FROM erp_postings WHERE kind = 'gl_journal'`)
			for rows.Next() {
				var s string
				rows.Scan(&s) //nolint:errcheck
				dead = append(dead, s)
			}
			rows.Close()
			t.Fatalf("journal of batch %d not posted (%+v, %v); postings: %v", batchID, j, err, dead)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Asking for a day that is being reconciled right now is said to be so, not answered "queued":
// the running job may have read the reports before what the request is about.
func TestReconcilingADayAlreadyRunningIsRefusedNotSwallowed(t *testing.T) {
	env := newSettleEnv(t, hubsync.SettlementConfig{})
	ctx := context.Background()
	env.sale(t, "ORD-3001", "20.00", true)
	env.cs.Clock().Advance(24 * time.Hour)
	env.cs.SetFaults(cybersourcesim.Faults{LatencyMs: 1500}) // the import takes a while
	if err := env.engine.EnqueueReconcileDay(ctx, "cybersource", env.day); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var running int
		if err := env.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'settlement_day' AND state = 'running'`).Scan(&running); err != nil {
			t.Fatal(err)
		}
		if running > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the settlement_day job never ran")
		}
		time.Sleep(20 * time.Millisecond)
	}
	err := env.engine.EnqueueReconcileDay(ctx, "cybersource", env.day)
	var ue *hubsync.UserError
	if !errors.As(err, &ue) || ue.Code != hubsync.ErrCodeReconciliationRunning {
		t.Fatalf("a request while the day runs: %v, want %s", err, hubsync.ErrCodeReconciliationRunning)
	}
}
