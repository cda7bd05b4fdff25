package graph_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhub/payhub/graph"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/model"
	hubsync "github.com/payhub/payhub/sync"
)

// settlementFixture is what seedSettlement adds to seedFixture.
type settlementFixture struct {
	fixture
	// main is MAIN-1: a mismatched Cybersource batch of 2026-11-03 with five lines (two matched,
	// one a group of two payments, one unmatched, one ignored fee) and three discrepancies (two
	// open, one resolved).
	main int64
	// second is MAIN-2: a mismatched batch with two open discrepancies.
	second int64
	// matched is BATCH-1, a matched batch; posted is BATCH-4, journal_posted, with a cancelled and a
	// posted journal.
	matched, posted int64
	// groupIDs are the two payments MAIN-1's line 4 settled together.
	groupIDs []int64
	// Discrepancies: of MAIN-1 (unmatched line 3, total mismatch, resolved amount mismatch), of
	// MAIN-2 (two open), and of the day only (no batch).
	unmatchedLine, totalMismatch, resolvedAmount int64
	secondA, secondB                             int64
	dayOnly                                      int64
	// postedJournal is BATCH-4's live journal.
	postedJournal int64
}

// seedSettlement adds settlement batches, lines, matches, discrepancies and journals. Batch
// dates repeat in pairs, so the batch list must break ties on id.
func seedSettlement(t testing.TB, pool *pgxpool.Pool) settlementFixture {
	t.Helper()
	s := settlementFixture{fixture: seedFixture(t, pool)}
	seedPayments(t, pool, 4)

	// 12 batches BATCH-1..12: Opayo (EUR) every third, else Cybersource (GBP); two a day from
	// 2026-11-01; statuses in turn.
	exec(t, pool, `INSERT INTO settlement_batches (gateway, gateway_batch_id, batch_date, currency, gross_amount,
		refund_amount, fee_amount, chargeback_amount, net_amount, line_count, status, reported_totals)
		SELECT CASE WHEN i % 3 = 0 THEN 'opayo' ELSE 'cybersource' END, 'BATCH-' || i, date '2026-11-01' + (i - 1) / 2,
		       CASE WHEN i % 3 = 0 THEN 'EUR' ELSE 'GBP' END, 100 * i, i, 0.5 * i, 0, 100 * i - 1.5 * i, i,
		       (ARRAY['imported', 'matched', 'mismatched', 'accepted', 'journal_posted', 'failed'])[1 + (i - 1) % 6],
		       jsonb_build_array(jsonb_build_object('currency', 'GBP', 'sales', 100 * i))
		FROM generate_series(1, 12) AS i`)
	s.matched = scalar[int64](t, pool, `SELECT id FROM settlement_batches WHERE gateway_batch_id = 'BATCH-2'`)
	s.posted = scalar[int64](t, pool, `SELECT id FROM settlement_batches WHERE gateway_batch_id = 'BATCH-5'`)

	s.main = scalar[int64](t, pool, `INSERT INTO settlement_batches (gateway, gateway_batch_id, batch_date, currency,
		gross_amount, refund_amount, fee_amount, net_amount, line_count, status, reconciled_at, reported_totals)
		VALUES ('cybersource', 'MAIN-1', '2026-11-03', 'GBP', 200, 20, 2.5, 177.5, 5, 'mismatched', '2026-11-04T06:00:00Z',
		        '[{"currency": "GBP", "sales": "200.00", "refunds": "20.00", "fees": "2.50", "count": 5}]') RETURNING id`)
	s.second = scalar[int64](t, pool, `INSERT INTO settlement_batches (gateway, gateway_batch_id, batch_date, currency,
		gross_amount, net_amount, line_count, status) VALUES ('cybersource', 'MAIN-2', '2026-11-04', 'GBP', 10, 10, 0, 'mismatched')
		RETURNING id`)
	s.groupIDs = []int64{
		scalar[int64](t, pool, `SELECT id FROM payments WHERE gateway_transaction_id = 'TX000000001'`),
		scalar[int64](t, pool, `SELECT id FROM payments WHERE gateway_transaction_id = 'TX000000002'`),
	}
	exec(t, pool, `INSERT INTO settlement_lines (settlement_batch_id, line_number, kind, gateway_transaction_id,
		merchant_reference, amount, fee_amount, currency, payment_id, match_status, match_method, match_note, occurred_at) VALUES
		($1, 1, 'sale', '7012345678901234567890', 'WEB-1001', 120.00, 1.20, 'GBP', $2, 'matched', 'gateway_id', NULL, '2026-11-03T10:00:00Z'),
		($1, 2, 'refund', '7012345678901234567999', 'WEB-1001', -20.00, 0, 'GBP', $3, 'matched', 'reference', NULL, '2026-11-03T11:00:00Z'),
		($1, 3, 'sale', 'CS-UNKNOWN-1', 'WEB-9999', 50.00, 0.50, 'GBP', NULL, 'unmatched', NULL, 'no payment has this id or reference', NULL),
		($1, 4, 'sale', NULL, 'GROUP-1', 30.00, 0, 'GBP', NULL, 'matched', 'group', NULL, NULL),
		($1, 5, 'fee', NULL, NULL, -2.50, 0, 'GBP', NULL, 'ignored', NULL, NULL, NULL)`, s.main, s.saleID, s.refundID)
	exec(t, pool, `INSERT INTO settlement_matches (settlement_line_id, payment_id, method)
		SELECT l.id, m.payment_id, m.method FROM settlement_lines l
		JOIN (VALUES (1, $2::bigint, 'gateway_id'), (2, $3::bigint, 'reference'), (4, $4::bigint, 'group'), (4, $5::bigint, 'group'))
		     AS m (line_number, payment_id, method) ON m.line_number = l.line_number
		WHERE l.settlement_batch_id = $1`, s.main, s.saleID, s.refundID, s.groupIDs[0], s.groupIDs[1])

	insert := `INSERT INTO settlement_discrepancies (gateway, settlement_date, settlement_batch_id, kind, dedupe_key,
		line_numbers, payment_ids, currency, expected, actual, merchant_reference, gateway_transaction_id, explanation,
		status, resolved_by, resolved_at, resolution_note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`
	s.unmatchedLine = scalar[int64](t, pool, insert, "cybersource", "2026-11-03", s.main, "unmatched_settlement_line",
		"line:MAIN-1:3", []int32{3}, []int64{}, "GBP", nil, "50.00", "WEB-9999", "CS-UNKNOWN-1",
		"line 3 settled 50.00 GBP that no payment accounts for", "open", nil, nil, nil)
	s.totalMismatch = scalar[int64](t, pool, insert, "cybersource", "2026-11-03", s.main, "total_mismatch",
		"total:MAIN-1:GBP", []int32{}, []int64{}, "GBP", "180.0000", "177.5", nil, nil,
		"the lines add up to 177.50 GBP; the gateway reported 180.00", "open", nil, nil, nil)
	s.resolvedAmount = scalar[int64](t, pool, insert, "cybersource", "2026-11-03", s.main, "amount_mismatch",
		"amount:MAIN-1:1", []int32{1}, []int64{s.saleID}, "GBP", "120.00", "119.00", "WEB-1001", "7012345678901234567890",
		"line 1 settled 119.00 of a 120.00 payment", "resolved", "reconciliation", time.Date(2026, 11, 4, 7, 0, 0, 0, time.UTC),
		"no longer found when the day was reconciled again")
	s.secondA = scalar[int64](t, pool, insert, "cybersource", "2026-11-04", s.second, "amount_mismatch", "amount:MAIN-2:1",
		[]int32{1}, []int64{s.groupIDs[0]}, "GBP", "10", "9", nil, nil, "amounts differ", "open", nil, nil, nil)
	s.secondB = scalar[int64](t, pool, insert, "cybersource", "2026-11-04", s.second, "duplicate_settlement_line", "dup:MAIN-2:2",
		[]int32{1, 2}, []int64{}, nil, nil, nil, nil, nil, "line 2 repeats line 1", "open", nil, nil, nil)
	s.dayOnly = scalar[int64](t, pool, insert, "cybersource", "2026-11-03", nil, "unmatched_payment", "payment:TX3",
		[]int32{}, []int64{s.groupIDs[1], s.declinedID, 999999}, "GBP", "12.00", nil, nil, nil,
		"no batch of the day settled these payments", "open", nil, nil, nil)
	// Six more, on the generated batches: kinds and statuses in turn.
	exec(t, pool, `INSERT INTO settlement_discrepancies (gateway, settlement_date, settlement_batch_id, kind, dedupe_key,
		explanation, status)
		SELECT b.gateway, b.batch_date, b.id,
		       (ARRAY['unmatched_settlement_line', 'amount_mismatch', 'currency_mismatch', 'kind_mismatch'])[1 + i % 4],
		       'gen:' || i, 'generated ' || i, (ARRAY['open', 'accepted', 'resolved'])[1 + i % 3]
		FROM generate_series(1, 6) AS i JOIN settlement_batches b ON b.gateway_batch_id = 'BATCH-' || (i + 6)`)

	// BATCH-5's journals: a cancelled one, then the posted one that replaced it.
	exec(t, pool, `INSERT INTO gl_journals (settlement_batch_id, journal_date, description, status, reference, currency)
		VALUES ($1, '2026-11-03', 'first try', 'cancelled', 'PAYHUB-BATCH-5-A', 'GBP')`, s.posted)
	s.postedJournal = scalar[int64](t, pool, `INSERT INTO gl_journals (settlement_batch_id, journal_date, description, status,
		reference, currency, syspro_journal_number, syspro_year, syspro_period, posted_at)
		VALUES ($1, '2026-11-03', 'Cybersource settlement BATCH-5', 'posted', 'PAYHUB-BATCH-5-B', 'GBP', '000042', 2026, 11,
		        '2026-11-04T08:00:00Z') RETURNING id`, s.posted)
	exec(t, pool, `INSERT INTO gl_journal_lines (gl_journal_id, line_number, ledger_code, description, amount) VALUES
		($1, 1, '1100-BANK', 'payout', 492.5000), ($1, 2, '6100-FEES', 'gateway fees', 2.5),
		($1, 3, '1150-CLEARING', 'card receipts', -495.0000)`, s.postedJournal)
	return s
}

func TestSettlementBatchesFilterAndPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seedSettlement(t, b.pool)
	checkList(t, b, "settlementBatches", "SettlementBatchFilter", "settlement_batches", model.TypeSettlementBatch,
		"batch_date DESC, id DESC", []listCase{
			{name: "gateway", filter: map[string]any{"gateway": "OPAYO"}, where: "gateway = 'opayo'"},
			{name: "status", filter: map[string]any{"statuses": []string{"MISMATCHED"}}, where: "status = 'mismatched'"},
			{name: "statuses", filter: map[string]any{"statuses": []string{"ACCEPTED", "JOURNAL_POSTED"}},
				where: "status IN ('accepted', 'journal_posted')"},
			{name: "no status", filter: map[string]any{"statuses": []string{}}, where: "false", empty: true},
			{name: "from", filter: map[string]any{"dateFrom": "2026-11-04"}, where: "batch_date >= '2026-11-04'"},
			{name: "to", filter: map[string]any{"dateTo": "2026-11-02"}, where: "batch_date <= '2026-11-02'"},
			{name: "one day", filter: map[string]any{"dateFrom": "2026-11-03", "dateTo": "2026-11-03"},
				where: "batch_date = '2026-11-03'"},
			{name: "combined", filter: map[string]any{"gateway": "CYBERSOURCE", "statuses": []string{"MISMATCHED", "MATCHED"},
				"dateFrom": "2026-11-01", "dateTo": "2026-11-04"},
				where: "gateway = 'cybersource' AND status IN ('mismatched', 'matched') AND batch_date BETWEEN '2026-11-01' AND '2026-11-04'"},
		})
}

func TestSettlementDiscrepanciesFilterAndPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seedSettlement(t, b.pool)
	checkList(t, b, "settlementDiscrepancies", "SettlementDiscrepancyFilter", "settlement_discrepancies",
		model.TypeSettlementDiscrepancy, "id", []listCase{
			{name: "batch", filter: map[string]any{"batchId": model.EncodeGlobalID(model.TypeSettlementBatch, s.main)},
				where: "settlement_batch_id = $1", args: []any{s.main}},
			{name: "batch without any", filter: map[string]any{"batchId": model.EncodeGlobalID(model.TypeSettlementBatch, s.matched)},
				where: "settlement_batch_id = $1", args: []any{s.matched}, empty: true},
			{name: "gateway", filter: map[string]any{"gateway": "OPAYO"}, where: "gateway = 'opayo'"},
			{name: "date", filter: map[string]any{"date": "2026-11-03"}, where: "settlement_date = '2026-11-03'"},
			{name: "open", filter: map[string]any{"statuses": []string{"OPEN"}}, where: "status = 'open'"},
			{name: "closed", filter: map[string]any{"statuses": []string{"ACCEPTED", "RESOLVED"}}, where: "status <> 'open'"},
			{name: "kinds", filter: map[string]any{"kinds": []string{"AMOUNT_MISMATCH", "TOTAL_MISMATCH"}},
				where: "kind IN ('amount_mismatch', 'total_mismatch')"},
			{name: "no kind", filter: map[string]any{"kinds": []string{}}, where: "false", empty: true},
			{name: "combined", filter: map[string]any{"gateway": "CYBERSOURCE", "date": "2026-11-03", "statuses": []string{"OPEN"}},
				where: "gateway = 'cybersource' AND settlement_date = '2026-11-03' AND status = 'open'"},
		})

	// A discrepancy in full: its batch, its payments (one deleted meanwhile is left out), the
	// difference, and a discrepancy of the day only has no batch.
	var out struct {
		SettlementDiscrepancies struct {
			TotalCount int
			Nodes      []struct {
				ID, Kind, Gateway, SettlementDate, Explanation, Status string
				Batch                                                  *struct{ ID, BatchID string }
				LineNumbers                                            []int
				Payments                                               []struct{ ID string }
				Currency, Expected, Actual, Difference                 *string
				MerchantReference, GatewayTransactionID                *string
				ResolvedBy, ResolvedAt, ResolutionNote                 *string
			}
		}
	}
	b.query(t, `query($f: SettlementDiscrepancyFilter) { settlementDiscrepancies(filter: $f) { totalCount nodes {
		id kind gateway settlementDate explanation status batch { id batchId } lineNumbers payments { id }
		currency expected actual difference merchantReference gatewayTransactionId resolvedBy resolvedAt resolutionNote } } }`,
		map[string]any{"f": map[string]any{"date": "2026-11-03", "gateway": "CYBERSOURCE"}}, &out)
	got := out.SettlementDiscrepancies
	if got.TotalCount != 4 || len(got.Nodes) != 4 {
		t.Fatalf("discrepancies of 2026-11-03: %+v", got)
	}
	byID := map[string]int{}
	for i, n := range got.Nodes {
		byID[n.ID] = i
	}
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	total := got.Nodes[byID[model.EncodeGlobalID(model.TypeSettlementDiscrepancy, s.totalMismatch)]]
	if total.Kind != "TOTAL_MISMATCH" || total.Gateway != "CYBERSOURCE" || total.SettlementDate != "2026-11-03" ||
		total.Batch == nil || total.Batch.BatchID != "MAIN-1" || len(total.LineNumbers) != 0 || len(total.Payments) != 0 ||
		str(total.Currency) != "GBP" || str(total.Expected) != "180.00" || str(total.Actual) != "177.50" ||
		str(total.Difference) != "-2.50" || total.Status != "OPEN" || total.ResolvedBy != nil {
		t.Errorf("total mismatch = %+v (expected %s actual %s difference %s)", total, str(total.Expected), str(total.Actual), str(total.Difference))
	}
	resolved := got.Nodes[byID[model.EncodeGlobalID(model.TypeSettlementDiscrepancy, s.resolvedAmount)]]
	if resolved.Status != "RESOLVED" || str(resolved.ResolvedBy) != "reconciliation" || str(resolved.ResolvedAt) != "2026-11-04T07:00:00Z" ||
		!strings.Contains(str(resolved.ResolutionNote), "no longer found") || !slices.Equal(resolved.LineNumbers, []int{1}) ||
		len(resolved.Payments) != 1 || resolved.Payments[0].ID != model.EncodeGlobalID(model.TypePayment, s.saleID) ||
		str(resolved.Difference) != "-1.00" || str(resolved.GatewayTransactionID) != "7012345678901234567890" {
		t.Errorf("resolved amount mismatch = %+v", resolved)
	}
	day := got.Nodes[byID[model.EncodeGlobalID(model.TypeSettlementDiscrepancy, s.dayOnly)]]
	wantPayments := []string{model.EncodeGlobalID(model.TypePayment, s.groupIDs[1]), model.EncodeGlobalID(model.TypePayment, s.declinedID)}
	var gotPayments []string
	for _, p := range day.Payments {
		gotPayments = append(gotPayments, p.ID)
	}
	if day.Kind != "UNMATCHED_PAYMENT" || day.Batch != nil || !slices.Equal(gotPayments, wantPayments) ||
		str(day.Expected) != "12.00" || day.Actual != nil || day.Difference != nil {
		t.Errorf("day-only discrepancy = %+v, payments %v want %v", day, gotPayments, wantPayments)
	}
}

func TestSettlementBatchShowsLinesPaymentsDiscrepanciesAndJournal(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seedSettlement(t, b.pool)
	mainID := model.EncodeGlobalID(model.TypeSettlementBatch, s.main)

	type line struct {
		LineNumber                              int
		Kind, Currency, MatchStatus             string
		MatchMethod, Note, OccurredAt           *string
		GatewayTransactionID, MerchantReference *string
		Amount, Fee                             struct{ Amount, Currency string }
		Payments                                []struct{ ID string }
	}
	type lineConnection struct {
		TotalCount int
		Edges      []struct {
			Cursor string
			Node   line
		}
		PageInfo struct {
			HasNextPage bool
			EndCursor   *string
		}
	}
	type batchPage struct {
		SettlementBatch struct {
			ID, Gateway, BatchID, BatchDate, Currency, Status string
			Gross, Refunds, Fees, Chargebacks, Net            struct{ Amount, Currency string }
			LineCount                                         int
			ReconciledAt, AcceptedBy                          *string
			ReportedTotals                                    []map[string]any
			Open                                              []struct{ ID, Status string }
			All                                               []struct{ ID, Status string }
			Lines                                             lineConnection
			Journal                                           *struct{ ID string }
		}
	}
	const q = `query($id: ID!, $after: String) { settlementBatch(id: $id) {
		id gateway batchId batchDate currency status gross { amount currency } refunds { amount currency }
		fees { amount currency } chargebacks { amount currency } net { amount currency } lineCount reconciledAt acceptedBy
		reportedTotals
		open: discrepancies(statuses: [OPEN]) { id status }
		all: discrepancies { id status }
		lines(first: 2, after: $after) { totalCount edges { cursor node { lineNumber kind currency matchStatus matchMethod note
			occurredAt gatewayTransactionId merchantReference amount { amount currency } fee { amount currency } payments { id } } }
			pageInfo { hasNextPage endCursor } }
		journal { id } } }`
	var lines []line
	var after any
	var out batchPage
	for page := 0; ; page++ {
		out = batchPage{} // decoding into the last page would reuse its slices
		b.query(t, q, map[string]any{"id": mainID, "after": after}, &out)
		c := out.SettlementBatch.Lines
		if c.TotalCount != 5 {
			t.Fatalf("page %d: lines totalCount %d, want 5", page, c.TotalCount)
		}
		for _, e := range c.Edges {
			lines = append(lines, e.Node)
		}
		if !c.PageInfo.HasNextPage {
			break
		}
		if page > 5 {
			t.Fatal("lines never end")
		}
		after = *c.PageInfo.EndCursor
	}
	sb := out.SettlementBatch
	if sb.ID != mainID || sb.Gateway != "CYBERSOURCE" || sb.BatchID != "MAIN-1" || sb.BatchDate != "2026-11-03" ||
		sb.Currency != "GBP" || sb.Status != "MISMATCHED" || sb.Gross.Amount != "200.00" || sb.Gross.Currency != "GBP" ||
		sb.Refunds.Amount != "20.00" || sb.Fees.Amount != "2.50" || sb.Chargebacks.Amount != "0.00" || sb.Net.Amount != "177.50" ||
		sb.LineCount != 5 || sb.ReconciledAt == nil || *sb.ReconciledAt != "2026-11-04T06:00:00Z" || sb.AcceptedBy != nil ||
		len(sb.ReportedTotals) != 1 || sb.ReportedTotals[0]["fees"] != "2.50" || sb.Journal != nil {
		t.Errorf("batch = %+v", sb)
	}
	discrepancyIDs := func(ids ...int64) []string {
		var out []string
		for _, id := range ids {
			out = append(out, model.EncodeGlobalID(model.TypeSettlementDiscrepancy, id))
		}
		return out
	}
	idsOf := func(ds []struct{ ID, Status string }) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	if got, want := idsOf(sb.Open), discrepancyIDs(s.unmatchedLine, s.totalMismatch); !slices.Equal(got, want) {
		t.Errorf("open discrepancies %v, want %v", got, want)
	}
	if got, want := idsOf(sb.All), discrepancyIDs(s.unmatchedLine, s.totalMismatch, s.resolvedAmount); !slices.Equal(got, want) {
		t.Errorf("all discrepancies %v, want %v", got, want)
	}

	if len(lines) != 5 {
		t.Fatalf("%d lines over the pages, want 5", len(lines))
	}
	payments := func(l line) []string {
		out := []string{}
		for _, p := range l.Payments {
			out = append(out, p.ID)
		}
		return out
	}
	pay := func(id int64) string { return model.EncodeGlobalID(model.TypePayment, id) }
	want := []struct {
		kind, status, method, amount, fee string
		payments                          []string
	}{
		{"SALE", "MATCHED", "GATEWAY_ID", "120.00", "1.20", []string{pay(s.saleID)}},
		{"REFUND", "MATCHED", "REFERENCE", "-20.00", "0.00", []string{pay(s.refundID)}},
		{"SALE", "UNMATCHED", "", "50.00", "0.50", []string{}},
		{"SALE", "MATCHED", "GROUP", "30.00", "0.00", []string{pay(s.groupIDs[0]), pay(s.groupIDs[1])}},
		{"FEE", "IGNORED", "", "-2.50", "0.00", []string{}},
	}
	for i, l := range lines {
		w := want[i]
		method := ""
		if l.MatchMethod != nil {
			method = *l.MatchMethod
		}
		if l.LineNumber != i+1 || l.Kind != w.kind || l.MatchStatus != w.status || method != w.method || l.Currency != "GBP" ||
			l.Amount.Amount != w.amount || l.Amount.Currency != "GBP" || l.Fee.Amount != w.fee || !slices.Equal(payments(l), w.payments) {
			t.Errorf("line %d = %+v (payments %v), want %+v", i+1, l, payments(l), w)
		}
	}
	if l := lines[2]; l.Note == nil || !strings.Contains(*l.Note, "no payment") || l.GatewayTransactionID == nil ||
		*l.GatewayTransactionID != "CS-UNKNOWN-1" || l.OccurredAt != nil {
		t.Errorf("unmatched line = %+v", l)
	}

	// matchStatuses narrows the lines, and totalCount with them.
	var matched struct {
		SettlementBatch struct{ Lines lineConnection }
	}
	b.query(t, `query($id: ID!) { settlementBatch(id: $id) { lines(matchStatuses: [UNMATCHED, IGNORED]) {
		totalCount edges { node { lineNumber } } } } }`, map[string]any{"id": mainID}, &matched)
	if c := matched.SettlementBatch.Lines; c.TotalCount != 2 || len(c.Edges) != 2 || c.Edges[0].Node.LineNumber != 3 ||
		c.Edges[1].Node.LineNumber != 5 {
		t.Errorf("unmatched and ignored lines = %+v", c)
	}

	// A cursor of one batch's lines is refused by another's.
	resp := b.do(t, `query($id: ID!, $after: String) { settlementBatch(id: $id) { lines(after: $after) { totalCount } } }`,
		map[string]any{"id": model.EncodeGlobalID(model.TypeSettlementBatch, s.second), "after": after})
	if len(resp.Errors) == 0 || !strings.Contains(resp.Errors[0].Message, "unknown cursor") {
		t.Errorf("another batch's line cursor: %+v", resp.Errors)
	}

	// The journal of a posted batch is its live one, its lines split into debit and credit.
	var posted struct {
		SettlementBatch struct {
			Status  string
			Journal *struct {
				ID, Status, JournalDate, Description, CreatedAt string
				Reference, Currency, SysproJournalNumber        *string
				SysproYear, SysproPeriod                        *int
				PostedAt, LastError                             *string
				DebitTotal, CreditTotal                         string
				SettlementBatch                                 struct{ ID string }
				Lines                                           []struct {
					LineNumber              int
					LedgerCode, Description string
					Debit, Credit           string
				}
			}
		}
	}
	b.query(t, `query($id: ID!) { settlementBatch(id: $id) { status journal { id status journalDate description createdAt
		reference currency sysproJournalNumber sysproYear sysproPeriod postedAt lastError debitTotal creditTotal
		settlementBatch { id } lines { lineNumber ledgerCode description debit credit } } } }`,
		map[string]any{"id": model.EncodeGlobalID(model.TypeSettlementBatch, s.posted)}, &posted)
	j := posted.SettlementBatch.Journal
	if j == nil {
		t.Fatalf("posted batch without a journal: %+v", posted)
	}
	if j.ID != model.EncodeGlobalID(model.TypeGlJournal, s.postedJournal) || j.Status != "POSTED" || j.JournalDate != "2026-11-03" ||
		j.Reference == nil || *j.Reference != "PAYHUB-BATCH-5-B" || j.Currency == nil || *j.Currency != "GBP" ||
		j.SysproJournalNumber == nil || *j.SysproJournalNumber != "000042" || j.SysproYear == nil || *j.SysproYear != 2026 ||
		j.SysproPeriod == nil || *j.SysproPeriod != 11 || j.PostedAt == nil || j.LastError != nil ||
		j.DebitTotal != "495.00" || j.CreditTotal != "495.00" || j.SettlementBatch.ID != model.EncodeGlobalID(model.TypeSettlementBatch, s.posted) {
		t.Errorf("journal = %+v", j)
	}
	wantLines := [][3]string{{"1100-BANK", "492.50", "0.00"}, {"6100-FEES", "2.50", "0.00"}, {"1150-CLEARING", "0.00", "495.00"}}
	if len(j.Lines) != len(wantLines) {
		t.Fatalf("journal lines = %+v", j.Lines)
	}
	for i, l := range j.Lines {
		if l.LineNumber != i+1 || l.LedgerCode != wantLines[i][0] || l.Debit != wantLines[i][1] || l.Credit != wantLines[i][2] {
			t.Errorf("journal line %d = %+v, want %v", i+1, l, wantLines[i])
		}
	}

	// node(id:) fetches the three types; a missing batch is null.
	for _, tt := range []struct{ id, typename string }{
		{mainID, "SettlementBatch"},
		{model.EncodeGlobalID(model.TypeSettlementDiscrepancy, s.totalMismatch), "SettlementDiscrepancy"},
		{model.EncodeGlobalID(model.TypeGlJournal, s.postedJournal), "GlJournal"},
	} {
		var node struct {
			Node *struct{ Typename, ID string }
		}
		b.query(t, `query($id: ID!) { node(id: $id) { typename: __typename id } }`, map[string]any{"id": tt.id}, &node)
		if node.Node == nil || node.Node.Typename != tt.typename || node.Node.ID != tt.id {
			t.Errorf("node(%s) = %+v, want a %s", tt.id, node.Node, tt.typename)
		}
	}
	var missing struct{ SettlementBatch *struct{ ID string } }
	b.query(t, `query($id: ID!) { settlementBatch(id: $id) { id } }`,
		map[string]any{"id": model.EncodeGlobalID(model.TypeSettlementBatch, 999999)}, &missing)
	if missing.SettlementBatch != nil {
		t.Errorf("a missing batch = %+v", missing.SettlementBatch)
	}
	if resp := b.do(t, `{ settlementBatch(id: "`+model.EncodeGlobalID(model.TypePayment, s.saleID)+`") { id } }`, nil); len(resp.Errors) == 0 ||
		!strings.Contains(resp.Errors[0].Message, "expected the ID of a SettlementBatch") {
		t.Errorf("settlementBatch with a payment's ID: %+v", resp.Errors)
	}
}

func TestSettlementListsRefuseBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := seedSettlement(t, b.pool)
	var page map[string]boConnection
	b.query(t, `{ settlementBatches(first: 1) { pageInfo { endCursor } } }`, nil, &page)
	batchCursor := *page["settlementBatches"].PageInfo.EndCursor
	tests := []struct{ name, query, want string }{
		{"first over the maximum", `{ settlementBatches(first: 501) { totalCount } }`, "first must be at most 500"},
		{"lines first over the maximum", `{ settlementBatch(id: "` + model.EncodeGlobalID(model.TypeSettlementBatch, s.main) +
			`") { lines(first: 501) { totalCount } } }`, "first must be at most 500"},
		{"a batch cursor in discrepancies", `{ settlementDiscrepancies(after: "` + batchCursor + `") { totalCount } }`, "unknown cursor"},
		{"batchId of a payment", `{ settlementDiscrepancies(filter: {batchId: "` + model.EncodeGlobalID(model.TypePayment, s.saleID) +
			`"}) { totalCount } }`, "filter.batchId"},
		{"a date with a time", `{ settlementBatches(filter: {dateFrom: "2026-11-01T00:00:00Z"}) { totalCount } }`, "YYYY-MM-DD"},
		{"a date that is no day", `{ settlementDiscrepancies(filter: {date: "2026-02-30"}) { totalCount } }`, "YYYY-MM-DD"},
		{"bad enum", `{ settlementBatches(filter: {statuses: [SETTLED]}) { totalCount } }`, "SETTLED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := b.do(t, tt.query, nil)
			if resp.Status >= 500 || len(resp.Errors) == 0 {
				t.Fatalf("HTTP %d, data %s, no error", resp.Status, resp.Data)
			}
			if !strings.Contains(resp.Errors[0].Message, tt.want) {
				t.Errorf("error %q does not say %q", resp.Errors[0].Message, tt.want)
			}
		})
	}
}

// TestSettlementTotalCountIsCountedOnlyWhenAsked: settlementBatches and settlementDiscrepancies
// run their count queries only for totalCount.
func TestSettlementTotalCountIsCountedOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	recorder := &sqlRecorder{}
	pool := tracedPool(t, recorder)
	b := newBundle(t, pool)
	seedSettlement(t, pool)

	var data map[string]boConnection
	recorder.counts()
	b.query(t, `{ settlementBatches(first: 2) { nodes { id } } }`, nil, &data)
	if n, names := recorder.counts(); n != 0 || len(data["settlementBatches"].Nodes) != 2 {
		t.Errorf("settlementBatches without totalCount: count queries %v", names)
	}
	b.query(t, `{ settlementBatches(first: 2) { totalCount nodes { id } } }`, nil, &data)
	if n, names := recorder.counts(); n != 1 || names[0] != "CountSettlementBatches" || data["settlementBatches"].TotalCount != 15 {
		t.Errorf("settlementBatches with totalCount %d: count queries %v", data["settlementBatches"].TotalCount, names)
	}

	b.query(t, `{ settlementDiscrepancies(first: 2) { nodes { id } } }`, nil, &data)
	if n, names := recorder.counts(); n != 0 {
		t.Errorf("settlementDiscrepancies without totalCount: count queries %v", names)
	}
	b.query(t, `{ settlementDiscrepancies(first: 2) { totalCount nodes { id } } }`, nil, &data)
	if n, names := recorder.counts(); n != 1 || names[0] != "CountSettlementDiscrepancies" || data["settlementDiscrepancies"].TotalCount != 12 {
		t.Errorf("settlementDiscrepancies with totalCount %d: count queries %v", data["settlementDiscrepancies"].TotalCount, names)
	}
}

// The settlement operations are the back office's: a storefront key is refused every one of
// them, and a dashboard key the mutations (TestRoleMatrix and TestMutationRoleMatrix cover
// every role; this names the operations).
func TestSettlementOperationsAreForbiddenToTheStorefront(t *testing.T) {
	t.Parallel()
	r := newMutationRig(t, false)
	s := seedSettlement(t, r.pool)
	batch := model.EncodeGlobalID(model.TypeSettlementBatch, s.main)
	ops := []struct {
		field, query string
		vars         map[string]any
		dashboard    bool
	}{
		{"settlementBatches", `{ settlementBatches { totalCount } }`, nil, true},
		{"settlementBatch", `query($id: ID!) { settlementBatch(id: $id) { id } }`, map[string]any{"id": batch}, true},
		{"settlementDiscrepancies", `{ settlementDiscrepancies { totalCount } }`, nil, true},
		{"acceptSettlementBatch", acceptBatchMutation,
			map[string]any{"input": map[string]any{"idempotencyKey": "sf-1", "id": batch, "note": "shop"}}, false},
		{"resolveSettlementDiscrepancy", resolveDiscrepancyMutation, map[string]any{"input": map[string]any{"idempotencyKey": "sf-2",
			"id": model.EncodeGlobalID(model.TypeSettlementDiscrepancy, s.unmatchedLine), "note": "shop"}}, false},
		{"reconcileSettlement", reconcileMutation,
			map[string]any{"input": map[string]any{"idempotencyKey": "sf-3", "gateway": "CYBERSOURCE", "date": "2026-11-03"}}, false},
	}
	for _, role := range []auth.Role{auth.Storefront, auth.Dashboard} {
		for _, op := range ops {
			resp := r.as(r.keys[role]).do(t, op.query, op.vars)
			if role == auth.Dashboard && op.dashboard {
				if len(resp.Errors) > 0 {
					t.Errorf("%s as dashboard: %+v", op.field, resp.Errors)
				}
				continue
			}
			var data map[string]json.RawMessage
			json.Unmarshal(resp.Data, &data) //nolint:errcheck
			if resp.Status != http.StatusOK || len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != graph.CodeForbidden ||
				!strings.Contains(resp.Errors[0].Message, "."+op.field) || (len(data[op.field]) > 0 && string(data[op.field]) != "null") {
				t.Errorf("%s as %s: HTTP %d, errors %+v, data %s", op.field, role, resp.Status, resp.Errors, resp.Data)
			}
		}
	}
	// Nothing was done.
	if st := scalar[string](t, r.pool, `SELECT status FROM settlement_batches WHERE id = $1`, s.main); st != "mismatched" {
		t.Errorf("a refused acceptance changed the batch to %s", st)
	}
	if n := scalar[int64](t, r.pool, `SELECT count(*) FROM audit_log WHERE outcome = 'refused' AND action IN
		('acceptSettlementBatch', 'resolveSettlementDiscrepancy', 'reconcileSettlement')`); n != 6 {
		t.Errorf("%d refused settlement mutations audited, want 6", n)
	}
}

const (
	acceptBatchMutation = `mutation($input: AcceptSettlementBatchInput!) { acceptSettlementBatch(input: $input) {
		settlementBatch { id status batchDate gross { amount currency } reportedTotals acceptedBy acceptedAt acceptanceNote
			discrepancies { id status resolvedBy resolutionNote } journal { id status } }
		userErrors { code message field } } }`
	resolveDiscrepancyMutation = `mutation($input: ResolveSettlementDiscrepancyInput!) { resolveSettlementDiscrepancy(input: $input) {
		settlementDiscrepancy { id status resolvedBy resolvedAt resolutionNote expected actual difference batch { id status } }
		userErrors { code message field } } }`
	reconcileMutation = `mutation($input: ReconcileSettlementInput!) { reconcileSettlement(input: $input) {
		queued userErrors { code message field } } }`
)

type acceptBatchPayload struct {
	SettlementBatch *struct {
		ID, Status                             string
		AcceptedBy, AcceptedAt, AcceptanceNote *string
		Discrepancies                          []struct {
			ID, Status                 string
			ResolvedBy, ResolutionNote *string
		}
		Journal *struct{ ID, Status string }
	}
	UserErrors []userError
}

type resolveDiscrepancyPayload struct {
	SettlementDiscrepancy *struct {
		ID, Status                             string
		ResolvedBy, ResolvedAt, ResolutionNote *string
		Expected, Actual, Difference           *string
		Batch                                  *struct{ ID, Status string }
	}
	UserErrors []userError
}

// wantUserError checks that a payload was refused with one user error of code about field.
func wantUserError(t *testing.T, what string, errs []userError, code string, field ...string) {
	t.Helper()
	if len(errs) != 1 || errs[0].Code != code || !slices.Equal(errs[0].Field, field) {
		t.Errorf("%s: user errors %+v, want %s on %v", what, errs, code, field)
	}
}

func TestAcceptSettlementBatch(t *testing.T) {
	t.Parallel()
	r := newMutationRig(t, false)
	s := seedSettlement(t, r.pool)
	mainID := model.EncodeGlobalID(model.TypeSettlementBatch, s.main)

	// Refusals first: each binds nothing.
	var refused acceptBatchPayload
	r.mutate(t, acceptBatchMutation, map[string]any{"idempotencyKey": "acc-1", "id": mainID, "note": "  "}, &refused)
	wantUserError(t, "no note", refused.UserErrors, hubsync.ErrCodeInvalidInput, "input", "note")
	r.mutate(t, acceptBatchMutation, map[string]any{"idempotencyKey": "acc-matched",
		"id": model.EncodeGlobalID(model.TypeSettlementBatch, s.matched), "note": "fine"}, &refused)
	wantUserError(t, "a matched batch", refused.UserErrors, hubsync.ErrCodeBatchNotMismatched, "input", "id")
	if refused.SettlementBatch != nil || !strings.Contains(refused.UserErrors[0].Message, "BATCH-2") {
		t.Errorf("a matched batch: %+v", refused)
	}
	r.mutate(t, acceptBatchMutation, map[string]any{"idempotencyKey": "acc-missing",
		"id": model.EncodeGlobalID(model.TypeSettlementBatch, 999999), "note": "fine"}, &refused)
	wantUserError(t, "a missing batch", refused.UserErrors, hubsync.ErrCodeNotFound, "input", "id")
	r.mutate(t, acceptBatchMutation, map[string]any{"idempotencyKey": "acc-payment",
		"id": model.EncodeGlobalID(model.TypePayment, s.saleID), "note": "fine"}, &refused)
	wantUserError(t, "a payment's ID", refused.UserErrors, graph.CodeInvalidID, "input", "id")
	if st := scalar[string](t, r.pool, `SELECT status FROM settlement_batches WHERE id = $1`, s.matched); st != "matched" {
		t.Fatalf("the matched batch became %s", st)
	}

	// The acceptance: the batch is ACCEPTED, its open discrepancies ACCEPTED with the note, the
	// one already resolved left as it was.
	input := map[string]any{"idempotencyKey": "acc-1", "id": mainID, "note": "gateway fee rounding, agreed with the bank"}
	resp := r.do(t, acceptBatchMutation, map[string]any{"input": input})
	if len(resp.Errors) > 0 {
		t.Fatalf("accept: %+v", resp.Errors)
	}
	var first struct{ AcceptSettlementBatch acceptBatchPayload }
	if err := json.Unmarshal(resp.Data, &first); err != nil {
		t.Fatal(err)
	}
	got := first.AcceptSettlementBatch
	sb := got.SettlementBatch
	if len(got.UserErrors) != 0 || sb == nil || sb.ID != mainID || sb.Status != "ACCEPTED" || sb.AcceptedBy == nil ||
		*sb.AcceptedBy != "mut-finance" || sb.AcceptedAt == nil || sb.AcceptanceNote == nil || *sb.AcceptanceNote != input["note"] {
		t.Fatalf("accept: %+v", got)
	}
	statuses := map[string]string{}
	for _, d := range sb.Discrepancies {
		statuses[d.ID] = d.Status
		if d.Status == "ACCEPTED" && (d.ResolvedBy == nil || *d.ResolvedBy != "mut-finance" || d.ResolutionNote == nil ||
			*d.ResolutionNote != input["note"]) {
			t.Errorf("accepted discrepancy = %+v", d)
		}
	}
	wantStatuses := map[string]string{
		model.EncodeGlobalID(model.TypeSettlementDiscrepancy, s.unmatchedLine):  "ACCEPTED",
		model.EncodeGlobalID(model.TypeSettlementDiscrepancy, s.totalMismatch):  "ACCEPTED",
		model.EncodeGlobalID(model.TypeSettlementDiscrepancy, s.resolvedAmount): "RESOLVED",
	}
	if len(statuses) != len(wantStatuses) {
		t.Errorf("discrepancies after acceptance: %v, want %v", statuses, wantStatuses)
	}
	for id, want := range wantStatuses {
		if statuses[id] != want {
			t.Errorf("discrepancy %s is %s after acceptance, want %s", id, statuses[id], want)
		}
	}
	// The day's discrepancy without a batch is not the batch's to accept.
	if st := scalar[string](t, r.pool, `SELECT status FROM settlement_discrepancies WHERE id = $1`, s.dayOnly); st != "open" {
		t.Errorf("the day's discrepancy became %s", st)
	}
	if n := scalar[int64](t, r.pool, `SELECT count(*) FROM events WHERE kind = 'settlement.batch_accepted' AND subject_id = $1`, s.main); n != 1 {
		t.Errorf("%d settlement.batch_accepted events, want 1", n)
	}
	// The engine journals an accepted batch like a matched one.
	if sb.Journal == nil {
		var why []string
		rows, err := r.pool.Query(t.Context(), `SELECT summary FROM anomalies WHERE subject_type = 'settlement_batch' AND subject_id = $1`, s.main)
		if err == nil {
			for rows.Next() {
				var summary string
				rows.Scan(&summary) //nolint:errcheck
				why = append(why, summary)
			}
			rows.Close()
		}
		t.Errorf("the accepted batch has no GL journal (anomalies about it: %v)", why)
	} else {
		// The drafted journal balances, as the API shows it.
		var node struct {
			Node struct {
				Status, DebitTotal, CreditTotal string
				SettlementBatch                 struct{ ID string }
				Lines                           []struct{ Debit, Credit string }
			}
		}
		r.query(t, `query($id: ID!) { node(id: $id) { ... on GlJournal { status debitTotal creditTotal settlementBatch { id }
			lines { debit credit } } } }`, map[string]any{"id": sb.Journal.ID}, &node)
		j := node.Node
		if j.Status == "CANCELLED" || j.Status == "FAILED" || len(j.Lines) < 2 || j.DebitTotal != j.CreditTotal ||
			j.DebitTotal == "0.00" || j.SettlementBatch.ID != mainID {
			t.Errorf("the accepted batch's journal = %+v", j)
		}
	}
	if n := scalar[int64](t, r.pool, `SELECT count(*) FROM audit_log WHERE action = 'acceptSettlementBatch' AND outcome = 'ok'
		AND subject_type = 'settlement_batch' AND subject_id = $1`, s.main); n != 1 {
		t.Errorf("%d ok audit entries of the acceptance, want 1", n)
	}

	// The same key again: the same payload, answered from the key, nothing done twice.
	again := r.do(t, acceptBatchMutation, map[string]any{"input": input})
	if len(again.Errors) > 0 || string(again.Data) != string(resp.Data) {
		t.Errorf("replay answered\n%s\nwant\n%s (errors %+v)", again.Data, resp.Data, again.Errors)
	}
	if n := scalar[int64](t, r.pool, `SELECT count(*) FROM audit_log WHERE action = 'acceptSettlementBatch'
		AND details @> '{"idempotentReplay": true}'`); n != 1 {
		t.Errorf("%d audit entries of a replayed acceptance, want 1", n)
	}
	if n := scalar[int64](t, r.pool, `SELECT count(*) FROM events WHERE kind = 'settlement.batch_accepted' AND subject_id = $1`, s.main); n != 1 {
		t.Errorf("after the replay: %d settlement.batch_accepted events, want 1", n)
	}
	// The key with another note is a conflict; a new key is a new request, refused now.
	var conflict acceptBatchPayload
	r.mutate(t, acceptBatchMutation, map[string]any{"idempotencyKey": "acc-1", "id": mainID, "note": "another reason"}, &conflict)
	wantUserError(t, "the key with another note", conflict.UserErrors, graph.CodeIdempotencyConflict, "input", "idempotencyKey")
	var twice acceptBatchPayload
	r.mutate(t, acceptBatchMutation, map[string]any{"idempotencyKey": "acc-2", "id": mainID, "note": "again"}, &twice)
	wantUserError(t, "accepting twice", twice.UserErrors, hubsync.ErrCodeBatchNotMismatched, "input", "id")
}

func TestResolveSettlementDiscrepancy(t *testing.T) {
	t.Parallel()
	r := newMutationRig(t, false)
	s := seedSettlement(t, r.pool)
	a := model.EncodeGlobalID(model.TypeSettlementDiscrepancy, s.secondA)
	second := model.EncodeGlobalID(model.TypeSettlementBatch, s.second)

	var out resolveDiscrepancyPayload
	r.mutate(t, resolveDiscrepancyMutation, map[string]any{"idempotencyKey": "res-1", "id": a, "note": ""}, &out)
	wantUserError(t, "no note", out.UserErrors, hubsync.ErrCodeInvalidInput, "input", "note")
	r.mutate(t, resolveDiscrepancyMutation, map[string]any{"idempotencyKey": "res-x",
		"id": model.EncodeGlobalID(model.TypeSettlementBatch, s.second), "note": "x"}, &out)
	wantUserError(t, "a batch's ID", out.UserErrors, graph.CodeInvalidID, "input", "id")
	r.mutate(t, resolveDiscrepancyMutation, map[string]any{"idempotencyKey": "res-y",
		"id": model.EncodeGlobalID(model.TypeSettlementDiscrepancy, 999999), "note": "x"}, &out)
	wantUserError(t, "a missing discrepancy", out.UserErrors, hubsync.ErrCodeNotFound, "input", "id")

	input := map[string]any{"idempotencyKey": "res-1", "id": a, "note": "refunded the difference"}
	resp := r.do(t, resolveDiscrepancyMutation, map[string]any{"input": input})
	var first struct{ ResolveSettlementDiscrepancy resolveDiscrepancyPayload }
	if len(resp.Errors) > 0 || json.Unmarshal(resp.Data, &first) != nil {
		t.Fatalf("resolve: %+v %s", resp.Errors, resp.Data)
	}
	out = first.ResolveSettlementDiscrepancy
	d := out.SettlementDiscrepancy
	if len(out.UserErrors) != 0 || d == nil || d.ID != a || d.Status != "RESOLVED" || d.ResolvedBy == nil || *d.ResolvedBy != "mut-finance" ||
		d.ResolvedAt == nil || d.ResolutionNote == nil || *d.ResolutionNote != "refunded the difference" ||
		d.Expected == nil || *d.Expected != "10.00" || d.Actual == nil || *d.Actual != "9.00" || d.Difference == nil ||
		*d.Difference != "-1.00" || d.Batch == nil || d.Batch.ID != second || d.Batch.Status != "MISMATCHED" {
		t.Fatalf("resolve: %+v", out)
	}
	// The same key again answers the same, amounts and all.
	if again := r.do(t, resolveDiscrepancyMutation, map[string]any{"input": input}); len(again.Errors) > 0 ||
		string(again.Data) != string(resp.Data) {
		t.Errorf("replay answered\n%s\nwant\n%s (errors %+v)", again.Data, resp.Data, again.Errors)
	}
	if n := scalar[int64](t, r.pool, `SELECT count(*) FROM audit_log WHERE action = 'resolveSettlementDiscrepancy' AND outcome = 'ok'
		AND subject_type = 'settlement_discrepancy' AND subject_id = $1 AND NOT details ? 'idempotentReplay'`, s.secondA); n != 1 {
		t.Errorf("%d ok audit entries of the resolution, want 1", n)
	}

	// Twice, with a new key: DISCREPANCY_NOT_OPEN, saying what it is.
	var twice resolveDiscrepancyPayload
	r.mutate(t, resolveDiscrepancyMutation, map[string]any{"idempotencyKey": "res-2", "id": a, "note": "again"}, &twice)
	wantUserError(t, "resolving twice", twice.UserErrors, hubsync.ErrCodeDiscrepancyNotOpen, "input", "id")
	if twice.SettlementDiscrepancy != nil || len(twice.UserErrors) == 0 || !strings.Contains(twice.UserErrors[0].Message, "resolved") {
		t.Errorf("resolving twice: %+v", twice)
	}
	// An accepted one is not open either.
	accepted := scalar[int64](t, r.pool, `SELECT min(id) FROM settlement_discrepancies WHERE status = 'accepted'`)
	r.mutate(t, resolveDiscrepancyMutation, map[string]any{"idempotencyKey": "res-3",
		"id": model.EncodeGlobalID(model.TypeSettlementDiscrepancy, accepted), "note": "x"}, &twice)
	wantUserError(t, "resolving an accepted one", twice.UserErrors, hubsync.ErrCodeDiscrepancyNotOpen, "input", "id")

	// Resolving the batch's last open discrepancy clears the batch.
	var last resolveDiscrepancyPayload
	r.mutate(t, resolveDiscrepancyMutation, map[string]any{"idempotencyKey": "res-4",
		"id": model.EncodeGlobalID(model.TypeSettlementDiscrepancy, s.secondB), "note": "the gateway withdrew the duplicate"}, &last)
	if last.SettlementDiscrepancy == nil || last.SettlementDiscrepancy.Status != "RESOLVED" || last.SettlementDiscrepancy.Batch == nil ||
		last.SettlementDiscrepancy.Batch.Status != "MATCHED" {
		t.Errorf("resolving the last open one: %+v", last)
	}
}

func TestReconcileSettlementQueuesADay(t *testing.T) {
	t.Parallel()
	r := newMutationRig(t, false)

	var out struct {
		Queued     bool
		UserErrors []userError
	}
	// The rig has no Opayo; its Cybersource client reads reports.
	r.mutate(t, reconcileMutation, map[string]any{"idempotencyKey": "rec-1", "gateway": "OPAYO", "date": "2026-11-03"}, &out)
	wantUserError(t, "opayo", out.UserErrors, hubsync.ErrCodeGatewayUnavailable, "input", "gateway")
	if out.Queued {
		t.Error("queued for a gateway the hub has not")
	}
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	r.mutate(t, reconcileMutation, map[string]any{"idempotencyKey": "rec-2", "gateway": "CYBERSOURCE", "date": tomorrow}, &out)
	wantUserError(t, "tomorrow", out.UserErrors, hubsync.ErrCodeSettlementDateInFuture, "input", "date")

	r.mutate(t, reconcileMutation, map[string]any{"idempotencyKey": "rec-3", "gateway": "CYBERSOURCE", "date": "2026-01-15"}, &out)
	if !out.Queued || len(out.UserErrors) != 0 {
		t.Fatalf("reconcile a past day: %+v", out)
	}
	if n := scalar[int64](t, r.pool, `SELECT count(*) FROM river_job WHERE args->>'gateway' = 'cybersource'
		AND args->>'day' = '2026-01-15'`); n != 1 {
		t.Errorf("%d jobs queued for cybersource 2026-01-15, want 1", n)
	}
	if n := scalar[int64](t, r.pool, `SELECT count(*) FROM audit_log WHERE action = 'reconcileSettlement' AND outcome = 'ok'`); n != 1 {
		t.Errorf("%d ok audit entries of reconcileSettlement, want 1", n)
	}
	resp := r.do(t, reconcileMutation, map[string]any{"input": map[string]any{"idempotencyKey": "rec-4", "gateway": "CYBERSOURCE",
		"date": "15/01/2026"}})
	if len(resp.Errors) == 0 || !strings.Contains(resp.Errors[0].Message, "YYYY-MM-DD") {
		t.Errorf("a date not in the form: %+v", resp.Errors)
	}
}

// An anomaly shows the detector's score and explanation.
func TestAnomalyShowsScoreAndExplanation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exec(t, b.pool, `INSERT INTO anomalies (kind, severity, dedupe_key, summary, details, score, explanation) VALUES
		('unusual_payment', 'warning', 'scored', 'an unusual payment', '{}', 4.25, 'amount 12x the customer''s usual'),
		('stock_short', 'info', 'unscored', 'stock short', '{}', NULL, NULL)`)
	var out struct {
		Anomalies struct {
			Nodes []struct {
				Kind        string
				Score       *float64
				Explanation *string
			}
		}
	}
	b.query(t, `{ anomalies { nodes { kind score explanation } } }`, nil, &out)
	if len(out.Anomalies.Nodes) != 2 {
		t.Fatalf("anomalies = %+v", out.Anomalies.Nodes)
	}
	for _, n := range out.Anomalies.Nodes {
		switch n.Kind {
		case "unusual_payment":
			if n.Score == nil || *n.Score != 4.25 || n.Explanation == nil || *n.Explanation != "amount 12x the customer's usual" {
				t.Errorf("scored anomaly = %+v", n)
			}
		default:
			if n.Score != nil || n.Explanation != nil {
				t.Errorf("unscored anomaly = %+v", n)
			}
		}
	}
}
