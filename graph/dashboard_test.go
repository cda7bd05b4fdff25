package graph_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	"github.com/payhub/payhub/graph"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/events"
	"github.com/payhub/payhub/graph/model"
)

// ---- viewer ----

func TestViewerIsTheRequestsKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tt := range []struct {
		name string
		role auth.Role
		want string
	}{
		{"the shop", auth.Storefront, "STOREFRONT"},
		{"Finance desk", auth.Finance, "FINANCE"},
	} {
		key := newKey(t, b.pool, tt.name, tt.role)
		var out struct{ Viewer struct{ Name, Role string } }
		b.as(key).query(t, `{ viewer { name role } }`, nil, &out)
		if out.Viewer.Name != tt.name || out.Viewer.Role != tt.want {
			t.Errorf("viewer of %s's key = %+v, want %s %s", tt.name, out.Viewer, tt.name, tt.want)
		}
	}
	resp := b.as("").do(t, `{ viewer { name } }`, nil)
	if len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != graph.CodeUnauthenticated {
		t.Errorf("viewer without a key: %+v", resp.Errors)
	}
}

// ---- paymentStats ----

// seedPaymentStats writes payments around the window 2026-11-01T00:00Z..04:00Z (and two just
// outside it), plus fraud reviews, postings and anomalies in every status that matters.
func seedPaymentStats(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	exec(t, pool, `INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference, kind, status, amount, currency, occurred_at)
		VALUES
		('cybersource', 'ST-1', 'R1', 'sale', 'captured', 10.00, 'GBP', '2026-11-01T00:10:00Z'),
		('cybersource', 'ST-2', 'R2', 'sale', 'captured', 5.5, 'GBP', '2026-11-01T00:50:00Z'),
		('cybersource', 'ST-3', 'R3', 'sale', 'captured', 2, 'EUR', '2026-11-01T00:20:00Z'),
		('cybersource', 'ST-4', 'R4', 'capture', 'settled', 7.25, 'EUR', '2026-11-01T00:30:00Z'),
		('opayo', 'ST-5', 'R5', 'sale', 'declined', 99, 'GBP', '2026-11-01T01:15:00Z'),
		('opayo', 'ST-6', 'R6', 'authorization', 'authorized', 20, 'GBP', '2026-11-01T01:20:00Z'),
		('cybersource', 'ST-7', 'R7', 'refund', 'captured', 3, 'GBP', '2026-11-01T01:30:00Z'),
		('opayo', 'ST-8', 'R8', 'sale', 'voided', 6, 'GBP', '2026-11-01T02:30:00Z'),
		('opayo', 'ST-9', 'R9', 'sale', 'pending', 4, 'GBP', '2026-11-01T02:40:00Z'),
		('opayo', 'ST-10', 'R10', 'sale', 'partially_refunded', 8.1, 'GBP', '2026-11-01T03:00:00Z'),
		('opayo', 'ST-11', 'R11', 'sale', 'refunded', 12, 'GBP', '2026-11-01T03:59:59.999999Z'),
		('cybersource', 'ST-12', 'R12', 'sale', 'captured', 100, 'GBP', '2026-11-01T04:00:00Z'),
		('cybersource', 'ST-13', 'R13', 'sale', 'captured', 1, 'GBP', '2026-10-31T23:59:59Z')`)
	exec(t, pool, `INSERT INTO fraud_reviews (payment_id, gateway, gateway_decision, status)
		SELECT id, gateway, 'review', (ARRAY['open', 'accepted', 'open', 'rejected'])[n]
		FROM (SELECT id, gateway, row_number() OVER (ORDER BY id)::int AS n FROM payments ORDER BY id LIMIT 4) p`)
	exec(t, pool, `INSERT INTO erp_postings (kind, business_object, subject_type, subject_id, idempotency_key, status, dead_at)
		VALUES ('ar_payment', 'ARSTPY', 'payment', 1, 'stats-1', 'dead', now()), ('ar_payment', 'ARSTPY', 'payment', 2, 'stats-2', 'pending', NULL),
		       ('ar_payment', 'ARSTPY', 'payment', 3, 'stats-3', 'dead', now()), ('ar_payment', 'ARSTPY', 'payment', 4, 'stats-4', 'succeeded', NULL)`)
	exec(t, pool, `INSERT INTO anomalies (kind, severity, dedupe_key, summary, status) VALUES
		('k', 'info', 'stats-a1', 'a1', 'open'), ('k', 'info', 'stats-a2', 'a2', 'acknowledged'),
		('k', 'info', 'stats-a3', 'a3', 'resolved'), ('k', 'info', 'stats-a4', 'a4', 'open'), ('k', 'info', 'stats-a5', 'a5', 'open')`)
}

type statsOut struct {
	From, To      string
	BucketMinutes int
	Groups        []struct {
		Gateway, Kind, Status string
		Count                 int
		Amount                struct{ Amount, Currency string }
	}
	Volume []struct {
		Start   string
		Count   int
		Amounts []struct{ Amount, Currency string }
	}
	ReviewsPending, DeadLetters, OpenAnomalies int
}

func (s statsOut) groups() []string {
	out := make([]string, len(s.Groups))
	for i, g := range s.Groups {
		out[i] = fmt.Sprintf("%s %s %s %d %s %s", g.Gateway, g.Kind, g.Status, g.Count, g.Amount.Amount, g.Amount.Currency)
	}
	return out
}

func (s statsOut) volume() []string {
	out := make([]string, len(s.Volume))
	for i, v := range s.Volume {
		amounts := []string{}
		for _, a := range v.Amounts {
			amounts = append(amounts, a.Amount+" "+a.Currency)
		}
		out[i] = fmt.Sprintf("%s %d [%s]", v.Start, v.Count, strings.Join(amounts, ", "))
	}
	return out
}

const paymentStatsQuery = `query($from: DateTime!, $to: DateTime!, $m: Int) {
	paymentStats(from: $from, to: $to, bucketMinutes: $m) {
		from to bucketMinutes
		groups { gateway kind status count amount { amount currency } }
		volume { start count amounts { amount currency } }
		reviewsPending deadLetters openAnomalies } }`

func TestPaymentStatsFigures(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedPaymentStats(t, b.pool)
	dashboard := b.as(newKey(t, b.pool, "dash", auth.Dashboard))

	var out struct{ PaymentStats statsOut }
	dashboard.query(t, paymentStatsQuery, map[string]any{"from": "2026-11-01T00:00:00Z", "to": "2026-11-01T04:00:00Z"}, &out)
	s := out.PaymentStats
	if s.From != "2026-11-01T00:00:00Z" || s.To != "2026-11-01T04:00:00Z" || s.BucketMinutes != 60 {
		t.Errorf("window = %s..%s by %d, want the one asked for, by the default 60", s.From, s.To, s.BucketMinutes)
	}
	wantGroups := []string{
		"CYBERSOURCE CAPTURE SETTLED 1 7.25 EUR",
		"CYBERSOURCE REFUND CAPTURED 1 3.00 GBP",
		"CYBERSOURCE SALE CAPTURED 1 2.00 EUR",
		"CYBERSOURCE SALE CAPTURED 2 15.50 GBP",
		"OPAYO AUTHORIZATION AUTHORIZED 1 20.00 GBP",
		"OPAYO SALE DECLINED 1 99.00 GBP",
		"OPAYO SALE PARTIALLY_REFUNDED 1 8.10 GBP",
		"OPAYO SALE PENDING 1 4.00 GBP",
		"OPAYO SALE REFUNDED 1 12.00 GBP",
		"OPAYO SALE VOIDED 1 6.00 GBP",
	}
	if got := s.groups(); !slices.Equal(got, wantGroups) {
		t.Errorf("groups:\n got %q\nwant %q", got, wantGroups)
	}
	// Money taken: sales and captures that took it. The refund, the declined, voided and pending
	// sales and the authorisation are not; the hours 01 and 02 have none but are there.
	wantVolume := []string{
		"2026-11-01T00:00:00Z 4 [9.25 EUR, 15.50 GBP]",
		"2026-11-01T01:00:00Z 0 []",
		"2026-11-01T02:00:00Z 0 []",
		"2026-11-01T03:00:00Z 2 [20.10 GBP]",
	}
	if got := s.volume(); !slices.Equal(got, wantVolume) {
		t.Errorf("hourly volume:\n got %q\nwant %q", got, wantVolume)
	}
	if s.ReviewsPending != 2 || s.DeadLetters != 2 || s.OpenAnomalies != 3 {
		t.Errorf("reviewsPending %d, deadLetters %d, openAnomalies %d; want 2, 2, 3", s.ReviewsPending, s.DeadLetters, s.OpenAnomalies)
	}

	// Buckets start at from, not on the hour, and the last one is cut short by to.
	dashboard.query(t, paymentStatsQuery, map[string]any{"from": "2026-11-01T00:15:00Z", "to": "2026-11-01T04:00:00Z", "m": 90}, &out)
	wantVolume = []string{
		"2026-11-01T00:15:00Z 3 [9.25 EUR, 5.50 GBP]",
		"2026-11-01T01:45:00Z 1 [8.10 GBP]",
		"2026-11-01T03:15:00Z 1 [12.00 GBP]",
	}
	if got := out.PaymentStats.volume(); !slices.Equal(got, wantVolume) {
		t.Errorf("90-minute volume from 00:15:\n got %q\nwant %q", got, wantVolume)
	}
	// The 00:10 sale is before the window now: its group holds the 00:50 one alone.
	if got := out.PaymentStats.groups(); len(got) != 10 || got[3] != "CYBERSOURCE SALE CAPTURED 1 5.50 GBP" {
		t.Errorf("groups from 00:15: %q", got)
	}

	// A window without payments: every bucket, all empty.
	dashboard.query(t, paymentStatsQuery, map[string]any{"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z", "m": 1440}, &out)
	if got := out.PaymentStats.volume(); len(out.PaymentStats.Groups) != 0 || !slices.Equal(got, []string{"2026-12-01T00:00:00Z 0 []"}) {
		t.Errorf("empty day: groups %v, volume %q", out.PaymentStats.groups(), got)
	}
}

func TestPaymentStatsRefusesBadWindows(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name, from, to string
		minutes        any
		want           string
	}{
		{"to equal to from", "2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z", nil, "must be after from"},
		{"to before from", "2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z", nil, "must be after from"},
		{"bucket of 0", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", 0, "bucketMinutes is 1..1440, not 0"},
		{"bucket over a day", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", 1441, "bucketMinutes is 1..1440, not 1441"},
		{"1001 buckets", "2026-11-01T00:00:00Z", "2026-11-01T16:41:00Z", 1, "makes 1001 buckets; at most 1000"},
		{"a bucket more for a minute more", "2026-11-01T00:00:00Z", "2026-12-12T16:01:00Z", 60, "makes 1001 buckets"},
	}
	for _, tt := range tests {
		resp := b.do(t, paymentStatsQuery, map[string]any{"from": tt.from, "to": tt.to, "m": tt.minutes})
		if len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != "BAD_USER_INPUT" ||
			!strings.Contains(resp.Errors[0].Message, tt.want) {
			t.Errorf("%s: errors %+v, want BAD_USER_INPUT saying %q", tt.name, resp.Errors, tt.want)
		}
	}
	// The limits themselves are allowed.
	var out struct{ PaymentStats statsOut }
	b.query(t, `{ paymentStats(from: "2026-11-01T00:00:00Z", to: "2026-11-01T16:40:00Z", bucketMinutes: 1) { volume { count } } }`, nil, &out)
	if len(out.PaymentStats.Volume) != 1000 {
		t.Errorf("1000 one-minute buckets: got %d", len(out.PaymentStats.Volume))
	}
	b.query(t, `{ paymentStats(from: "2026-11-01T00:00:00Z", to: "2026-11-01T00:00:00.000001Z", bucketMinutes: 1440) { volume { start } } }`, nil, &out)
	if len(out.PaymentStats.Volume) != 1 {
		t.Errorf("a window of a microsecond: %d buckets, want 1", len(out.PaymentStats.Volume))
	}
}

// queryNames returns the names of the sqlc queries run since the last call (in order, repeated).
func (r *sqlRecorder) queryNames() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var names []string
	for _, s := range r.sql {
		if name, ok := strings.CutPrefix(s, "-- name: "); ok {
			names = append(names, strings.Fields(name)[0])
		}
	}
	r.sql = nil
	return names
}

// TestPaymentStatsRunsOnlyWhatIsAsked: each figure is its own single query, run only when selected.
func TestPaymentStatsRunsOnlyWhatIsAsked(t *testing.T) {
	t.Parallel()
	recorder := &sqlRecorder{}
	pool := tracedPool(t, recorder)
	b := newBundle(t, pool)
	seedPaymentStats(t, pool)
	window := `from: "2026-11-01T00:00:00Z", to: "2026-11-01T04:00:00Z"`
	hub := func(names []string) []string { // the API key's own lookups aside
		return slices.DeleteFunc(names, func(n string) bool { return strings.Contains(n, "APIKey") })
	}
	tests := []struct {
		selection string
		want      []string
	}{
		{"from bucketMinutes", nil},
		{"groups { count }", []string{"PaymentStatsGroups"}},
		{"volume { count }", []string{"PaymentVolume"}},
		{"reviewsPending", []string{"CountFraudReviews"}},
		{"deadLetters openAnomalies", []string{"CountAnomalies", "CountErpPostings"}},
	}
	for _, tt := range tests {
		recorder.queryNames()
		var out map[string]any
		b.query(t, `{ paymentStats(`+window+`) { `+tt.selection+` } }`, nil, &out)
		got := hub(recorder.queryNames())
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("paymentStats { %s } ran %v, want %v", tt.selection, got, tt.want)
		}
	}
}

// ---- settlementDays ----

func seedSettlementDays(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	exec(t, pool, `INSERT INTO settlement_batches (gateway, gateway_batch_id, batch_date, currency, net_amount, line_count, status)
		VALUES
		('cybersource', 'D-A', '2026-11-03', 'GBP', 100, 3, 'matched'),
		('cybersource', 'D-B', '2026-11-03', 'GBP', 50.5, 2, 'mismatched'),
		('cybersource', 'D-C', '2026-11-03', 'EUR', 20, 1, 'matched'),
		('opayo', 'D-D', '2026-11-03', 'EUR', 10, 1, 'imported'),
		('opayo', 'D-E', '2026-11-01', 'EUR', 5.125, 4, 'journal_posted'),
		('opayo', 'D-E2', '2026-11-01', 'EUR', 1, 0, 'accepted'),
		('cybersource', 'D-F', '2026-10-20', 'GBP', 999, 9, 'matched')`)
	exec(t, pool, `INSERT INTO settlement_discrepancies (gateway, settlement_date, settlement_batch_id, kind, dedupe_key, explanation, status)
		VALUES
		('cybersource', '2026-11-03', (SELECT id FROM settlement_batches WHERE gateway_batch_id = 'D-B'), 'amount_mismatch', 'd1', 'x', 'open'),
		('cybersource', '2026-11-03', (SELECT id FROM settlement_batches WHERE gateway_batch_id = 'D-B'), 'total_mismatch', 'd2', 'x', 'accepted'),
		('cybersource', '2026-11-02', NULL, 'unmatched_payment', 'd3', 'no batch settled it', 'open'),
		('cybersource', '2026-11-02', NULL, 'unmatched_payment', 'd4', 'no batch settled it', 'resolved'),
		('cybersource', '2026-11-02', NULL, 'unmatched_payment', 'd5', 'no batch settled it', 'open'),
		('opayo', '2026-11-10', NULL, 'unmatched_payment', 'd6', 'outside the range', 'open')`)
}

type settlementDayOut struct {
	Gateway, Date string
	BatchCount    int
	LineCount     int
	Batches       []struct {
		Status string
		Count  int
	}
	Net                  []struct{ Amount, Currency string }
	DiscrepancyCount     int
	OpenDiscrepancyCount int
}

func (d settlementDayOut) String() string {
	var batches, net []string
	for _, b := range d.Batches {
		batches = append(batches, fmt.Sprintf("%s:%d", b.Status, b.Count))
	}
	for _, n := range d.Net {
		net = append(net, n.Amount+" "+n.Currency)
	}
	return fmt.Sprintf("%s %s batches %d lines %d [%s] net [%s] discrepancies %d open %d", d.Date, d.Gateway, d.BatchCount,
		d.LineCount, strings.Join(batches, " "), strings.Join(net, ", "), d.DiscrepancyCount, d.OpenDiscrepancyCount)
}

const settlementDaysQuery = `query($f: SettlementDayFilter!) { settlementDays(filter: $f) {
	gateway date batchCount lineCount batches { status count } net { amount currency } discrepancyCount openDiscrepancyCount } }`

func TestSettlementDays(t *testing.T) {
	t.Parallel()
	recorder := &sqlRecorder{}
	pool := tracedPool(t, recorder)
	b := newBundle(t, pool)
	seedSettlementDays(t, pool)

	days := func(filter map[string]any) []string {
		t.Helper()
		var out struct{ SettlementDays []settlementDayOut }
		b.query(t, settlementDaysQuery, map[string]any{"f": filter}, &out)
		s := make([]string, len(out.SettlementDays))
		for i, d := range out.SettlementDays {
			s[i] = d.String()
		}
		return s
	}
	recorder.queryNames()
	got := days(map[string]any{"dateFrom": "2026-11-01", "dateTo": "2026-11-05"})
	want := []string{
		"2026-11-03 CYBERSOURCE batches 3 lines 6 [MATCHED:2 MISMATCHED:1] net [20.00 EUR, 150.50 GBP] discrepancies 2 open 1",
		"2026-11-03 OPAYO batches 1 lines 1 [IMPORTED:1] net [10.00 EUR] discrepancies 0 open 0",
		// Payments no batch settled: a day without batches.
		"2026-11-02 CYBERSOURCE batches 0 lines 0 [] net [] discrepancies 3 open 2",
		"2026-11-01 OPAYO batches 2 lines 4 [ACCEPTED:1 JOURNAL_POSTED:1] net [6.1250 EUR] discrepancies 0 open 0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("settlementDays:\n got %q\nwant %q", got, want)
	}
	if names := slices.DeleteFunc(recorder.queryNames(), func(n string) bool { return strings.Contains(n, "APIKey") }); len(names) > 3 {
		t.Errorf("settlementDays of 4 days ran %d queries: %v", len(names), names)
	}

	got = days(map[string]any{"gateway": "OPAYO", "dateFrom": "2026-11-01", "dateTo": "2026-11-10"})
	want = []string{
		"2026-11-10 OPAYO batches 0 lines 0 [] net [] discrepancies 1 open 1",
		"2026-11-03 OPAYO batches 1 lines 1 [IMPORTED:1] net [10.00 EUR] discrepancies 0 open 0",
		"2026-11-01 OPAYO batches 2 lines 4 [ACCEPTED:1 JOURNAL_POSTED:1] net [6.1250 EUR] discrepancies 0 open 0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("settlementDays of Opayo:\n got %q\nwant %q", got, want)
	}
	// One day, both ends included.
	if got := days(map[string]any{"dateFrom": "2026-10-20", "dateTo": "2026-10-20"}); len(got) != 1 ||
		!strings.HasPrefix(got[0], "2026-10-20 CYBERSOURCE batches 1 lines 9") {
		t.Errorf("one day: %q", got)
	}
	if got := days(map[string]any{"dateFrom": "2025-01-01", "dateTo": "2025-12-31"}); len(got) != 0 {
		t.Errorf("a year without settlements: %q", got)
	}
}

func TestSettlementDaysRefusesBadRanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name     string
		from, to string
		want     string
	}{
		{"dateTo before dateFrom", "2026-11-02", "2026-11-01", "filter.dateTo (2026-11-01) is before filter.dateFrom (2026-11-02)"},
		{"367 days", "2026-01-01", "2027-01-02", "is 367 days; at most 366"},
		{"not a date", "2026-11-01", "soon", "YYYY-MM-DD"},
	}
	for _, tt := range tests {
		resp := b.do(t, settlementDaysQuery, map[string]any{"f": map[string]any{"dateFrom": tt.from, "dateTo": tt.to}})
		if len(resp.Errors) != 1 || !strings.Contains(resp.Errors[0].Message, tt.want) || resp.Status >= 500 {
			t.Errorf("%s: HTTP %d, errors %+v, want one saying %q", tt.name, resp.Status, resp.Errors, tt.want)
		}
	}
	var out struct{ SettlementDays []settlementDayOut }
	b.query(t, settlementDaysQuery, map[string]any{"f": map[string]any{"dateFrom": "2024-01-01", "dateTo": "2024-12-31"}}, &out)
}

// ---- the chain ----

// chainFixture adds to seedFixture what the chain of the Cybersource sale shows: two AR postings
// (and one about another payment), a sales order posting, a settlement line in the fixture's
// batch matched to it, two refunds and a fraud review.
type chainFixture struct {
	fixture
	arFirst, arSecond, orderPosting int64
	refundFirst, refundSecond       int64
	review                          int64
}

func seedChain(t testing.TB, pool *pgxpool.Pool) chainFixture {
	t.Helper()
	c := chainFixture{fixture: seedFixture(t, pool)}
	posting := `INSERT INTO erp_postings (kind, business_object, subject_type, subject_id, idempotency_key, status, created_at)
		VALUES ($1, $2, $3, $4, $5, 'succeeded', $6) RETURNING id`
	// Written newest first: the list must come oldest first all the same.
	c.arSecond = scalar[int64](t, pool, posting, "ar_payment", "ARSTPY", "payment", c.saleID, "chain-ar-2", "2026-11-01T12:00:00Z")
	c.arFirst = scalar[int64](t, pool, posting, "ar_payment", "ARSTPY", "payment", c.saleID, "chain-ar-1", "2026-11-01T11:00:00Z")
	scalar[int64](t, pool, posting, "ar_payment", "ARSTPY", "payment", c.authID, "chain-ar-other", "2026-11-01T11:00:00Z")
	// A posting about the customer whose id is the sale's id: not the sale's.
	scalar[int64](t, pool, posting, "customer", "ARSSCS", "customer", c.saleID, "chain-customer", "2026-11-01T11:00:00Z")
	c.orderPosting = scalar[int64](t, pool, posting, "sales_order", "SORTOI", "sales_order", c.order1ID, "chain-order", "2026-11-01T10:30:00Z")

	exec(t, pool, `INSERT INTO settlement_lines (settlement_batch_id, line_number, kind, gateway_transaction_id, amount, currency,
		payment_id, match_status, match_method) VALUES ($1, 1, 'sale', '7012345678901234567890', 120, 'GBP', $2, 'matched', 'gateway_id'),
		($1, 2, 'fee', NULL, -1.2, 'GBP', NULL, 'ignored', NULL)`, c.batchID, c.saleID)
	exec(t, pool, `INSERT INTO settlement_matches (settlement_line_id, payment_id, method)
		SELECT id, $2, 'gateway_id' FROM settlement_lines WHERE settlement_batch_id = $1 AND line_number = 1`, c.batchID, c.saleID)

	refund := `INSERT INTO refunds (payment_id, amount, currency, requested_by, idempotency_key, status, created_at)
		VALUES ($1, $2, 'GBP', 'clerk', $3, 'succeeded', $4) RETURNING id`
	c.refundSecond = scalar[int64](t, pool, refund, c.saleID, "15.00", "chain-refund-2", "2026-11-03T09:00:00Z")
	c.refundFirst = scalar[int64](t, pool, refund, c.saleID, "5.00", "chain-refund-1", "2026-11-02T09:00:00Z")
	c.review = scalar[int64](t, pool, `INSERT INTO fraud_reviews (payment_id, gateway, gateway_decision, score, status)
		VALUES ($1, 'cybersource', 'review', 55, 'accepted') RETURNING id`, c.saleID)
	return c
}

type chainPayment struct {
	ErpPostings     []struct{ ID, Kind string }
	SettlementLines []struct {
		LineNumber int
		Kind       string
		Batch      struct{ ID, BatchID string }
	}
	Refunds []struct {
		ID     string
		Amount struct{ Amount string }
	}
	FraudReview *struct{ ID, Status string }
	Order       *struct{ ErpPostings []struct{ ID, Kind string } }
}

const chainQuery = `query($id: ID!) { payment(id: $id) {
	erpPostings { id kind } settlementLines { lineNumber kind batch { id batchId } }
	refunds { id amount { amount } } fraudReview { id status } order { erpPostings { id kind } } } }`

func TestPaymentChain(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := seedChain(t, b.pool)
	dashboard := b.as(newKey(t, b.pool, "dash", auth.Dashboard))
	gid := model.EncodeGlobalID

	var out struct{ Payment chainPayment }
	dashboard.query(t, chainQuery, map[string]any{"id": gid(model.TypePayment, c.saleID)}, &out)
	p := out.Payment
	if got, want := fmt.Sprint(p.ErpPostings), fmt.Sprint([]struct{ ID, Kind string }{
		{gid(model.TypeErpPosting, c.arFirst), "AR_PAYMENT"}, {gid(model.TypeErpPosting, c.arSecond), "AR_PAYMENT"}}); got != want {
		t.Errorf("erpPostings = %s, want %s", got, want)
	}
	if len(p.SettlementLines) != 1 || p.SettlementLines[0].LineNumber != 1 || p.SettlementLines[0].Kind != "SALE" ||
		p.SettlementLines[0].Batch.ID != gid(model.TypeSettlementBatch, c.batchID) || p.SettlementLines[0].Batch.BatchID != "FIX-BATCH-1" {
		t.Errorf("settlementLines = %+v", p.SettlementLines)
	}
	if len(p.Refunds) != 2 || p.Refunds[0].ID != gid(model.TypeRefund, c.refundFirst) || p.Refunds[0].Amount.Amount != "5.00" ||
		p.Refunds[1].ID != gid(model.TypeRefund, c.refundSecond) {
		t.Errorf("refunds = %+v, want refund %d then %d", p.Refunds, c.refundFirst, c.refundSecond)
	}
	if p.FraudReview == nil || p.FraudReview.ID != gid(model.TypeFraudReview, c.review) || p.FraudReview.Status != "ACCEPTED" {
		t.Errorf("fraudReview = %+v", p.FraudReview)
	}
	if p.Order == nil || len(p.Order.ErpPostings) != 1 || p.Order.ErpPostings[0].ID != gid(model.TypeErpPosting, c.orderPosting) ||
		p.Order.ErpPostings[0].Kind != "SALES_ORDER" {
		t.Errorf("order.erpPostings = %+v", p.Order)
	}

	// A payment with none of them: empty lists, no review; its order has no postings.
	dashboard.query(t, chainQuery, map[string]any{"id": gid(model.TypePayment, c.declinedID)}, &out)
	p = out.Payment
	if len(p.ErpPostings)+len(p.SettlementLines)+len(p.Refunds) != 0 || p.FraudReview != nil || p.Order != nil ||
		p.ErpPostings == nil || p.SettlementLines == nil || p.Refunds == nil {
		t.Errorf("declined payment's chain = %+v", p)
	}
	dashboard.query(t, chainQuery, map[string]any{"id": gid(model.TypePayment, c.authID)}, &out)
	if p := out.Payment; len(p.ErpPostings) != 1 || p.Order == nil || len(p.Order.ErpPostings) != 0 {
		t.Errorf("authorisation's chain = %+v", p)
	}
}

// TestPaymentChainIsForbiddenToTheStorefront: the shop reads its payments and orders, not the
// back office's links of them; every back-office key reads them.
func TestPaymentChainIsForbiddenToTheStorefront(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := seedChain(t, b.pool)
	pay := model.EncodeGlobalID(model.TypePayment, c.saleID)
	fields := map[string]string{
		"Payment.erpPostings":     `erpPostings { id }`,
		"Payment.settlementLines": `settlementLines { lineNumber }`,
		"Payment.refunds":         `refunds { id }`,
		"Payment.fraudReview":     `fraudReview { id }`,
		"Order.erpPostings":       `order { erpPostings { id } }`,
	}
	for _, role := range auth.Roles {
		key := newKey(t, b.pool, "chain-"+string(role), role)
		for field, selection := range fields {
			resp := b.as(key).do(t, `query($id: ID!) { payment(id: $id) { id `+selection+` } }`, map[string]any{"id": pay})
			if role == auth.Storefront {
				if resp.Status != http.StatusOK || len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != graph.CodeForbidden ||
					!strings.Contains(resp.Errors[0].Message, field) || strings.Contains(string(resp.Data), "RXJwUG9zdGluZ") ||
					strings.Contains(string(resp.Data), "RnJhdWRSZXZpZXc") || strings.Contains(string(resp.Data), "UmVmdW5k") ||
					strings.Contains(string(resp.Data), "lineNumber") {
					t.Errorf("%s as storefront: HTTP %d, errors %+v, data %s", field, resp.Status, resp.Errors, resp.Data)
				}
				continue
			}
			var data struct {
				Payment map[string]json.RawMessage
			}
			json.Unmarshal(resp.Data, &data) //nolint:errcheck
			if len(resp.Errors) > 0 || data.Payment == nil || len(data.Payment) != 2 {
				t.Errorf("%s as %s: errors %+v, data %s", field, role, resp.Errors, resp.Data)
			}
			for name, v := range data.Payment {
				if name != "id" && (string(v) == "null" || string(v) == "[]" || strings.Contains(string(v), "[]")) {
					t.Errorf("%s as %s: %s is empty: %s", field, role, name, v)
				}
			}
		}
	}
}

// TestPaymentChainIsBatched: a page of payments asking for every link costs one query per link,
// not one per payment.
func TestPaymentChainIsBatched(t *testing.T) {
	t.Parallel()
	recorder := &sqlRecorder{}
	pool := tracedPool(t, recorder)
	b := newBundle(t, pool)
	seedChain(t, pool)
	seedPayments(t, pool, 60)
	// Every payment gets a posting, a refund, a fraud review (one has one already) and a line.
	exec(t, pool, `INSERT INTO erp_postings (kind, business_object, subject_type, subject_id, idempotency_key)
		SELECT 'ar_payment', 'ARSTPY', 'payment', id, 'batched-' || id FROM payments`)
	exec(t, pool, `INSERT INTO refunds (payment_id, amount, currency, requested_by, idempotency_key)
		SELECT id, 1, 'GBP', 'clerk', 'batched-' || id FROM payments`)
	exec(t, pool, `INSERT INTO fraud_reviews (payment_id, gateway, gateway_decision)
		SELECT id, gateway, 'review' FROM payments WHERE id NOT IN (SELECT payment_id FROM fraud_reviews)`)
	exec(t, pool, `INSERT INTO settlement_lines (settlement_batch_id, line_number, kind, amount, currency, payment_id, match_status)
		SELECT (SELECT min(id) FROM settlement_batches), 100 + row_number() OVER (ORDER BY id), 'sale', amount, currency, id, 'matched'
		FROM payments`)
	exec(t, pool, `INSERT INTO settlement_matches (settlement_line_id, payment_id, method)
		SELECT id, payment_id, 'gateway_id' FROM settlement_lines WHERE line_number > 100`)

	recorder.queryNames()
	var out struct {
		Payments struct {
			Nodes []chainPayment
		}
	}
	b.query(t, `{ payments(first: 50) { nodes {
		erpPostings { id } settlementLines { lineNumber batch { id } } refunds { id } fraudReview { id }
		order { erpPostings { id } } } } }`, nil, &out)
	names := recorder.queryNames()
	if len(out.Payments.Nodes) != 50 {
		t.Fatalf("%d payments", len(out.Payments.Nodes))
	}
	for _, p := range out.Payments.Nodes {
		if len(p.ErpPostings) == 0 || len(p.Refunds) == 0 || p.FraudReview == nil || len(p.SettlementLines) == 0 {
			t.Fatalf("incomplete chain %+v", p)
		}
	}
	perQuery := map[string]int{}
	for _, n := range names {
		perQuery[n]++
	}
	// One each (ListErpPostingsOfSubjects twice: payments' and orders'). A slow machine (-race,
	// a loaded CI runner) splits a batch window (1ms) now and then, so up to 10 are allowed, as in
	// TestListsBatchTheirLookups; without batching each would run once per payment, 50 times.
	for name, want := range map[string]int{"ListErpPostingsOfSubjects": 2, "ListRefundsOfPayments": 1,
		"ListFraudReviewsOfPayments": 1, "ListSettlementLinesOfPayments": 1, "ListSettlementBatchesByIDs": 1} {
		if n := perQuery[name]; n < want || n > 10 {
			t.Errorf("%s ran %d times for a page of 50 payments, want %d", name, n, want)
		}
	}
	t.Logf("a page of 50 payments with their chains: %d queries %v", len(names), perQuery)
}

// ---- subscriptions' customerCode ----

// TestSubscriptionFiltersByCustomerCode: an event carries the customer of its payment or order as
// it stood when written (AppendEvent fills it in); customerCode delivers that customer's events
// only, on the replay from the log and live.
func TestSubscriptionFiltersByCustomerCode(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	q := db.New(pool)
	broker := startBroker(t, pool, events.Config{})
	server := liveServer(t, pool, broker)
	key := newKey(t, pool, "dashboard", auth.Dashboard)
	f := seedFixture(t, pool) // Acme: the sale (order 1); Betty: the authorisation (order 2); the declined sale: nobody's
	bettyRefund := scalar[int64](t, pool, `INSERT INTO refunds (payment_id, amount, currency, requested_by, idempotency_key)
		VALUES ($1, 2, 'EUR', 'clerk', 'cc-refund') RETURNING id`, f.authID)
	bettyReview := scalar[int64](t, pool, `INSERT INTO fraud_reviews (payment_id, gateway, gateway_decision)
		VALUES ($1, 'opayo', 'review') RETURNING id`, f.authID)

	start := appendEvent(t, q, "order", "test.start", "sales_order", 0, map[string]any{})
	type written struct {
		name     string
		customer int64 // 0: nobody's
	}
	var log []written
	write := func() {
		for _, e := range []struct {
			written
			topic, kind, subjectType string
			subjectID                int64
			payload                  map[string]any
		}{
			{written{"acme-sale", f.acmeID}, "payment", "payment.recorded", "payment", f.saleID, map[string]any{"paymentId": f.saleID}},
			{written{"betty-auth", f.bettyID}, "payment", "payment.recorded", "payment", f.authID, map[string]any{"paymentId": f.authID}},
			{written{"nobody-declined", 0}, "payment", "payment.recorded", "payment", f.declinedID, map[string]any{"paymentId": f.declinedID}},
			// A refund names its payment in the payload (the refund itself need not exist)...
			{written{"acme-refund", f.acmeID}, "payment", "refund.succeeded", "refund", 7, map[string]any{"refundId": 7, "paymentId": f.saleID}},
			// ... or is found through the refunds table.
			{written{"betty-refund", f.bettyID}, "payment", "refund.failed", "refund", bettyRefund, map[string]any{"refundId": bettyRefund}},
			{written{"nobody-webhook", 0}, "payment", "webhook.received", "inbound_message", 3, map[string]any{"source": "opayo"}},
			// A paymentId that is no whole number is no payment's (and no error).
			{written{"nobody-odd-id", 0}, "payment", "webhook.received", "inbound_message", 4, map[string]any{"paymentId": "12x"}},
			{written{"nobody-fraction", 0}, "payment", "webhook.received", "inbound_message", 5, map[string]any{"paymentId": 1.5}},
			{written{"acme-review", f.acmeID}, "fraud", "fraud.review_closed", "fraud_review", 6, map[string]any{"paymentId": f.saleID}},
			{written{"betty-review", f.bettyID}, "fraud", "fraud.review_opened", "fraud_review", bettyReview, map[string]any{}},
			{written{"acme-order", f.acmeID}, "order", "order.created", "sales_order", f.order1ID, map[string]any{}},
		} {
			e.payload["name"] = e.name
			ev := appendEvent(t, q, e.topic, e.kind, e.subjectType, e.subjectID, e.payload)
			var got int64
			if ev.CustomerID != nil {
				got = *ev.CustomerID
			}
			if got != e.customer {
				t.Errorf("%s: event written with customer %d, want %d", e.name, got, e.customer)
			}
			log = append(log, e.written)
		}
	}

	tests := []struct {
		field, filterType string
		filter            map[string]any
		want              []string
	}{
		{"paymentEvents", "PaymentEventFilter", map[string]any{"customerCode": "ACME01"}, []string{"acme-sale", "acme-refund"}},
		{"paymentEvents", "PaymentEventFilter", map[string]any{"customerCode": "BETTY2"}, []string{"betty-auth", "betty-refund"}},
		{"paymentEvents", "PaymentEventFilter", map[string]any{"customerCode": "ACME01", "kinds": []string{"refund.succeeded"}}, []string{"acme-refund"}},
		{"fraudEvents", "FraudEventFilter", map[string]any{"customerCode": "ACME01"}, []string{"acme-review"}},
		{"fraudEvents", "FraudEventFilter", map[string]any{"customerCode": "BETTY2"}, []string{"betty-review"}},
	}
	c := dialSubscriber(t, server.URL, "graphql-transport-ws", key)
	for i, tt := range tests {
		c.subscribe(t, fmt.Sprint(i), fmt.Sprintf(`subscription($after: String, $filter: %s) { %s(after: $after, filter: $filter) { payload } }`,
			tt.filterType, tt.field), map[string]any{"after": cursorOf(start), "filter": tt.filter})
	}
	write() // replayed from the log
	time.Sleep(300 * time.Millisecond)
	write() // live
	got := map[string][]string{}
	deadline := time.After(20 * time.Second)
	for complete := false; !complete; {
		complete = true
		for i, tt := range tests {
			if len(got[fmt.Sprint(i)]) < 2*len(tt.want) {
				complete = false
			}
		}
		if complete {
			break
		}
		select {
		case m, ok := <-c.in:
			if !ok {
				t.Fatalf("socket closed: %v", c.err)
			}
			if m.Type != "next" {
				t.Fatalf("message %+v", m)
			}
			var resp struct{ Data map[string]eventOut }
			json.Unmarshal(m.Payload, &resp) //nolint:errcheck
			for _, ev := range resp.Data {
				var p struct{ Name string }
				json.Unmarshal(ev.Payload, &p) //nolint:errcheck
				got[m.ID] = append(got[m.ID], p.Name)
			}
		case <-deadline:
			t.Fatalf("after 20s: %v", got)
		}
	}
	time.Sleep(200 * time.Millisecond) // anything more would be wrong
	for len(c.in) > 0 {
		m := <-c.in
		t.Errorf("unexpected extra message %s %s", m.ID, m.Payload)
	}
	for i, tt := range tests {
		if want := append(slices.Clone(tt.want), tt.want...); !slices.Equal(got[fmt.Sprint(i)], want) {
			t.Errorf("%s %v: got %v, want %v", tt.field, tt.filter, got[fmt.Sprint(i)], want)
		}
	}

	// The customer is the one of when the event was written: the sale moving to Betty later
	// leaves its earlier events Acme's.
	exec(t, pool, `UPDATE payments SET customer_id = $1 WHERE id = $2`, f.bettyID, f.saleID)
	moved := appendEvent(t, q, "payment", "payment.status_changed", "payment", f.saleID, map[string]any{"paymentId": f.saleID})
	if moved.CustomerID == nil || *moved.CustomerID != f.bettyID {
		t.Errorf("event after the move: customer %v, want Betty's %d", moved.CustomerID, f.bettyID)
	}
	if n := scalar[int64](t, pool, `SELECT count(*) FROM events WHERE subject_type = 'payment' AND subject_id = $1 AND customer_id = $2`,
		f.saleID, f.acmeID); n != 2 {
		t.Errorf("%d of the sale's events are still Acme's, want 2", n)
	}

	// An unknown code is refused, naming it.
	c2 := dialSubscriber(t, server.URL, "graphql-transport-ws", key)
	c2.subscribe(t, "unknown", `subscription { fraudEvents(filter: {customerCode: "NOPE99"}) { id } }`, nil)
	r := c2.collect(t, "unknown", 5*time.Second, func(received) bool { return false })
	if len(r.errors) != 1 || r.errors[0].Extensions["code"] != "BAD_USER_INPUT" || !strings.Contains(r.errors[0].Message, `"NOPE99"`) ||
		!strings.Contains(r.errors[0].Message, "customerCode") {
		t.Errorf("unknown customer code: %+v", r)
	}
}
