package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/sync/reconcile"
)

// Defaults of SettlementConfig.
const (
	// SettlementLookbackDefault is how many past days the daily import asks for again, so a
	// batch the gateway published late is still reconciled. Re-running a day changes nothing.
	SettlementLookbackDefault = 3
	// SettlementIntervalDefault is how often the import runs.
	SettlementIntervalDefault = time.Hour
	// SettlementDateWindowDefault is how far a settlement line's date may be from its payment's
	// when matched by merchant reference.
	SettlementDateWindowDefault = 72 * time.Hour
)

// SettlementConfig is how settlements are imported, matched and journaled.
type SettlementConfig struct {
	// Tolerance is the largest difference between a line and its payment that still matches;
	// zero matches exactly. Differences inside it are posted as FX and rounding differences.
	Tolerance decimal.Decimal `json:"tolerance"`
	// DateWindow bounds matching by merchant reference; zero is SettlementDateWindowDefault.
	DateWindow time.Duration `json:"dateWindow"`
	// Interval is how often the import looks for new batches; zero is SettlementIntervalDefault.
	// Negative turns the periodic import off (hub reconcile and the API still work).
	Interval time.Duration `json:"interval"`
	// Lookback is how many days before yesterday are imported again; zero is
	// SettlementLookbackDefault.
	Lookback int `json:"lookback"`
	// GL derives the journal of a reconciled batch.
	GL GLRules `json:"gl"`
}

// settlementDay is what a gateway settled on one business day, as imported.
type settlementDay struct {
	gateway string
	day     time.Time // midnight UTC of the business day
	batches []importedBatch
}

// importedBatch is one gateway batch: its lines and the gateway's own totals.
type importedBatch struct {
	id     string
	lines  []reconcile.Line // Number is 1-based within the batch
	totals []reconcile.Totals
}

// currency is the batch's main currency: that of most of its lines (the column is required).
func (b importedBatch) currency() string {
	count := map[string]int{}
	best := ""
	for _, l := range b.lines {
		count[l.Currency]++
		if count[l.Currency] > count[best] || (count[l.Currency] == count[best] && l.Currency < best) {
			best = l.Currency
		}
	}
	if best == "" && len(b.totals) > 0 {
		best = b.totals[0].Currency
	}
	if best == "" {
		best = "GBP"
	}
	return best
}

// CybersourceReports is what settlement import needs of Cybersource; *cybersource.Client has it.
type CybersourceReports interface {
	DownloadReport(ctx context.Context, r cybersource.ReportDownload) (io.ReadCloser, error)
	PaymentBatchSummaries(ctx context.Context, w cybersource.ReportWindow, rollUp, breakdown string) (*cybersource.PaymentBatchSummaries, error)
	NetFundings(ctx context.Context, w cybersource.ReportWindow, groupName string) (*cybersource.NetFundings, error)
}

// OpayoReports is what settlement import needs of Opayo Reporting; *opayo.Client has it.
type OpayoReports interface {
	GetBatchList(ctx context.Context, start, end time.Time) ([]opayo.Batch, error)
	GetBatchDetail(ctx context.Context, batchID, authProcessor string, fn func(opayo.TransactionSummary) error) error
	GetTransactionDetail(ctx context.Context, ref opayo.TransactionRef) (*opayo.TransactionDetail, error)
}

// fetchCybersourceDay reads a day's settlement: the Payment Batch Detail report (captures
// ics_bill and refunds ics_credit, line by line), the payment batch summaries (what the batch
// adds up to) and the net fundings (fees and chargebacks, which become lines of their own).
func (e *Engine) fetchCybersourceDay(ctx context.Context, src CybersourceReports, day time.Time) (settlementDay, error) {
	out := settlementDay{gateway: GatewayCybersource, day: day}
	rc, err := src.DownloadReport(ctx, cybersource.ReportDownload{ReportDate: day, ReportName: cybersource.ReportNamePaymentBatchDetail})
	var ce *cybersource.Error
	if errors.As(err, &ce) && ce.Class == cybersource.ClassNotFound {
		return out, nil // nothing settled that day (yet)
	}
	if err != nil {
		return out, fmt.Errorf("sync: cybersource batch detail %s: %w", day.Format(time.DateOnly), err)
	}
	defer rc.Close()
	byID := map[string]*importedBatch{}
	var order []string
	r := cybersource.NewBatchDetailReader(rc)
	for r.Next() {
		rec := r.Record()
		b := byID[rec.BatchID]
		if b == nil {
			b = &importedBatch{id: rec.BatchID}
			byID[rec.BatchID] = b
			order = append(order, rec.BatchID)
		}
		kind := reconcile.Sale
		switch {
		case rec.TransactionType == cybersource.TransactionTypeRefund:
			kind = reconcile.Refund
		case rec.TransactionType != cybersource.TransactionTypeCapture:
			kind = reconcile.Adjustment
		}
		date := rec.BatchDate
		if date.IsZero() {
			date = day
		}
		b.lines = append(b.lines, reconcile.Line{
			Number: len(b.lines) + 1, Batch: rec.BatchID, Kind: kind, GatewayTxnID: rec.RequestID,
			Reference: rec.MerchantRefNumber, Amount: rec.Amount.Abs(), Currency: strings.ToUpper(rec.Currency), Date: date,
		})
	}
	if err := r.Err(); err != nil {
		return out, fmt.Errorf("sync: cybersource batch detail %s: %w", day.Format(time.DateOnly), err)
	}
	if len(order) == 0 {
		return out, nil
	}
	// The summaries and fundings are per day; they belong to the day's first batch (Cybersource
	// closes one batch a day per merchant).
	first := byID[order[0]]
	w := cybersource.ReportWindow{Start: day, End: day.Add(24 * time.Hour)}
	sums, err := src.PaymentBatchSummaries(ctx, w, "", "")
	if err != nil {
		return out, fmt.Errorf("sync: cybersource batch summaries %s: %w", day.Format(time.DateOnly), err)
	}
	totals := map[string]*reconcile.Totals{}
	total := func(cur string) *reconcile.Totals {
		cur = strings.ToUpper(cur)
		t := totals[cur]
		if t == nil {
			t = &reconcile.Totals{Batch: first.id, Currency: cur}
			totals[cur] = t
		}
		return t
	}
	for _, s := range sums.Summaries {
		t := total(s.CurrencyCode)
		t.Sales, t.HasSales = t.Sales.Add(s.SalesAmount.Abs()), true
		t.Refunds, t.HasRefunds = t.Refunds.Add(s.CreditAmount.Abs()), true
		t.SalesCount += s.SalesCount
		t.RefundCount += s.CreditCount
	}
	funds, err := src.NetFundings(ctx, w, "")
	if err != nil {
		return out, fmt.Errorf("sync: cybersource net fundings %s: %w", day.Format(time.DateOnly), err)
	}
	legs := func(kind reconcile.Kind, amounts []cybersource.CurrencyAmount, note string) {
		for _, a := range amounts {
			if a.Value.IsZero() {
				continue
			}
			first.lines = append(first.lines, reconcile.Line{
				Number: len(first.lines) + 1, Batch: first.id, Kind: kind, Reference: note,
				Amount: a.Value.Abs(), Currency: strings.ToUpper(a.Currency), Date: day,
			})
		}
	}
	legs(reconcile.Fee, funds.TotalFees, "net funding: fees")
	legs(reconcile.Chargeback, funds.TotalChargebacks, "net funding: chargebacks")
	for _, id := range order {
		b := byID[id]
		if b == first {
			for _, cur := range slices.Sorted(maps.Keys(totals)) {
				b.totals = append(b.totals, *totals[cur])
			}
		}
		out.batches = append(out.batches, *b)
	}
	return out, nil
}

// opayoLondon is the zone of Opayo's settlement day.
var opayoLondon = mustLoadLocation("Europe/London")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// fetchOpayoDay reads the batches Opayo closed at the end of day (midnight Europe/London):
// getBatchList for their totals per currency, getBatchDetail for their transactions, and
// getTransactionDetail for a transaction the batch row leaves without its merchant reference.
func (e *Engine) fetchOpayoDay(ctx context.Context, src OpayoReports, day time.Time) (settlementDay, error) {
	out := settlementDay{gateway: GatewayOpayo, day: day}
	midnight := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, opayoLondon)
	batches, err := src.GetBatchList(ctx, midnight.Add(-12*time.Hour), midnight.Add(12*time.Hour))
	if err != nil {
		return out, fmt.Errorf("sync: opayo batch list %s: %w", day.Format(time.DateOnly), err)
	}
	sort.Slice(batches, func(i, j int) bool { return batches[i].ID < batches[j].ID })
	for _, ob := range batches {
		// A batch closed at midnight settles the day before it.
		if d := ob.Completed.In(opayoLondon).Add(-time.Minute); d.Year() != day.Year() || d.YearDay() != day.YearDay() {
			continue
		}
		b := importedBatch{id: ob.ID}
		for _, g := range ob.Groups {
			b.totals = append(b.totals, reconcile.Totals{
				Batch: ob.ID, Currency: strings.ToUpper(g.Currency), Sales: g.PaymentValue, Refunds: g.RefundValue,
				SalesCount: g.PaymentNumber, RefundCount: g.RefundNumber, HasSales: true, HasRefunds: true,
			})
		}
		err := src.GetBatchDetail(ctx, ob.ID, ob.AuthProcessor, func(t opayo.TransactionSummary) error {
			kind := reconcile.Sale
			switch strings.ToUpper(t.TransactionType) {
			case "REFUND":
				kind = reconcile.Refund
			case "PAYMENT", "RELEASE", "AUTHORISE", "REPEAT", "DEFERRED", "AUTHENTICATE":
			default:
				kind = reconcile.Adjustment
			}
			ref := t.VendorTxCode
			if ref == "" && t.VPSTxID != "" {
				d, err := src.GetTransactionDetail(ctx, opayo.TransactionRef{VPSTxID: t.VPSTxID})
				if err != nil {
					return fmt.Errorf("transaction %s: %w", t.VPSTxID, err)
				}
				ref = d.VendorTxCode
			}
			b.lines = append(b.lines, reconcile.Line{
				Number: len(b.lines) + 1, Batch: ob.ID, Kind: kind, GatewayTxnID: strings.Trim(t.VPSTxID, "{}"),
				Reference: ref, Amount: t.Amount.Abs(), Currency: strings.ToUpper(t.Currency), Date: t.Started.UTC(),
			})
			return nil
		})
		if err != nil {
			return out, fmt.Errorf("sync: opayo batch %s detail: %w", ob.ID, err)
		}
		out.batches = append(out.batches, b)
	}
	return out, nil
}

// digest fingerprints what was imported for a batch.
func (b importedBatch) digest() string {
	h := sha256.New()
	for _, l := range b.lines {
		fmt.Fprintf(h, "%d|%d|%s|%s|%s|%s|%s\n", l.Number, l.Kind, l.GatewayTxnID, l.Reference, l.Amount.String(), l.Currency, l.Date.UTC().Format(time.RFC3339))
	}
	for _, t := range b.totals {
		fmt.Fprintf(h, "T|%s|%s|%s|%s|%s|%d|%d|%t%t%t%t\n", t.Currency, t.Sales, t.Refunds, t.Fees, t.Chargebacks,
			t.SalesCount, t.RefundCount, t.HasSales, t.HasRefunds, t.HasFees, t.HasChargebacks)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// storeDay records a day's batches and lines. A batch imported before with the same content is
// left as it is; a changed one has its lines replaced (unless its journal is posted).
func (e *Engine) storeDay(ctx context.Context, d settlementDay) ([]db.SettlementBatch, error) {
	var out []db.SettlementBatch
	err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		out = out[:0]
		for _, b := range d.batches {
			var s reconcile.Sums
			for _, l := range b.lines {
				s.Add(l.Kind, l.Amount)
			}
			totals, err := json.Marshal(totalsJSON(b.totals))
			if err != nil {
				return err
			}
			row, err := q.UpsertSettlementBatch(ctx, db.UpsertSettlementBatchParams{
				Gateway: d.gateway, GatewayBatchID: b.id, BatchDate: d.day, Currency: b.currency(),
				GrossAmount: s.Sales, RefundAmount: s.Refunds, FeeAmount: s.Fees, ChargebackAmount: s.Chargebacks,
				NetAmount: s.Net(), LineCount: int32(len(b.lines)), ReportedTotals: totals, Digest: b.digest(),
			})
			if errors.Is(err, pgx.ErrNoRows) {
				if row, err = q.GetSettlementBatchByGatewayID(ctx, db.GetSettlementBatchByGatewayIDParams{Gateway: d.gateway, GatewayBatchID: b.id}); err != nil {
					return err
				}
				out = append(out, row)
				continue
			}
			if err != nil {
				return fmt.Errorf("sync: store batch %s: %w", b.id, err)
			}
			if err := q.DeleteSettlementLines(ctx, row.ID); err != nil {
				return err
			}
			params := make([]db.InsertSettlementLinesParams, len(b.lines))
			for i, l := range b.lines {
				date := l.Date
				params[i] = db.InsertSettlementLinesParams{
					SettlementBatchID: row.ID, LineNumber: int32(l.Number), Kind: l.Kind.String(),
					GatewayTransactionID: nonEmpty(l.GatewayTxnID), MerchantReference: nonEmpty(l.Reference),
					Amount: l.Amount, FeeAmount: decimal.Zero, Currency: l.Currency, OccurredAt: &date,
				}
			}
			if _, err := q.InsertSettlementLines(ctx, params); err != nil {
				return fmt.Errorf("sync: store lines of batch %s: %w", b.id, err)
			}
			if err := appendEvent(ctx, q, TopicSettlement, "settlement.batch_imported", "settlement_batch", row.ID, batchPayload(row)); err != nil {
				return err
			}
			out = append(out, row)
		}
		return nil
	})
	return out, err
}

// totalsJSON is the reported_totals column: the gateway's totals per currency.
func totalsJSON(ts []reconcile.Totals) []map[string]any {
	out := []map[string]any{}
	for _, t := range ts {
		m := map[string]any{"currency": t.Currency}
		if t.HasSales {
			m["sales"], m["salesCount"] = t.Sales, t.SalesCount
		}
		if t.HasRefunds {
			m["refunds"], m["refundCount"] = t.Refunds, t.RefundCount
		}
		if t.HasFees {
			m["fees"] = t.Fees
		}
		if t.HasChargebacks {
			m["chargebacks"] = t.Chargebacks
		}
		out = append(out, m)
	}
	return out
}

// totalsFromJSON reads reported_totals back.
func totalsFromJSON(batch string, raw []byte) ([]reconcile.Totals, error) {
	var rows []struct {
		Currency    string           `json:"currency"`
		Sales       *decimal.Decimal `json:"sales"`
		Refunds     *decimal.Decimal `json:"refunds"`
		Fees        *decimal.Decimal `json:"fees"`
		Chargebacks *decimal.Decimal `json:"chargebacks"`
		SalesCount  int              `json:"salesCount"`
		RefundCount int              `json:"refundCount"`
	}
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, fmt.Errorf("sync: reported totals of batch %s: %w", batch, err)
	}
	out := make([]reconcile.Totals, 0, len(rows))
	for _, r := range rows {
		t := reconcile.Totals{Batch: batch, Currency: r.Currency, SalesCount: r.SalesCount, RefundCount: r.RefundCount}
		if r.Sales != nil {
			t.Sales, t.HasSales = *r.Sales, true
		}
		if r.Refunds != nil {
			t.Refunds, t.HasRefunds = *r.Refunds, true
		}
		if r.Fees != nil {
			t.Fees, t.HasFees = *r.Fees, true
		}
		if r.Chargebacks != nil {
			t.Chargebacks, t.HasChargebacks = *r.Chargebacks, true
		}
		out = append(out, t)
	}
	return out, nil
}

// ReconcileProgress reports a long reconciliation's progress: stage is "import", "match" or
// "record"; done of total units.
type ReconcileProgress func(stage string, done, total int)

// ReconcileReport is the outcome of reconciling one gateway's day.
type ReconcileReport struct {
	Gateway       string
	Day           time.Time
	Batches       []db.SettlementBatch
	Result        reconcile.Result
	Discrepancies []db.SettlementDiscrepancy
	Lines         int
	Payments      int
}

// Reconciled says whether every batch of the day matched and no expected payment was missing.
func (r *ReconcileReport) Reconciled() bool { return r.Result.Reconciled() }

// ReconcileDay imports a gateway's settlement of one business day, matches it against the
// canonical payments, records the matches and the discrepancy report, raises anomalies for
// mismatches and journals the batches that reconciled. Running it again for the same day changes
// nothing unless the gateway's files or the payments changed.
func (e *Engine) ReconcileDay(ctx context.Context, gateway string, day time.Time, progress ReconcileProgress) (*ReconcileReport, error) {
	gateway, err := parseGateway(gateway)
	if err != nil {
		return nil, err
	}
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	if progress == nil {
		progress = func(string, int, int) {}
	}
	var imported settlementDay
	switch gateway {
	case GatewayCybersource:
		src, ok := e.cfg.Cybersource.(CybersourceReports)
		if !ok {
			return nil, userErr(ErrCodeGatewayUnavailable, "Cybersource reporting is not configured on this hub")
		}
		imported, err = e.fetchCybersourceDay(ctx, src, day)
	case GatewayOpayo:
		src, ok := e.cfg.Opayo.(OpayoReports)
		if !ok {
			return nil, userErr(ErrCodeGatewayUnavailable, "Opayo Reporting is not configured on this hub")
		}
		imported, err = e.fetchOpayoDay(ctx, src, day)
	}
	if err != nil {
		return nil, err
	}
	if _, err := e.storeDay(ctx, imported); err != nil {
		return nil, err
	}
	return e.reconcileStoredDay(ctx, gateway, day, progress)
}

// settlementDayBounds is the business day of a gateway: UTC for Cybersource, Europe/London for Opayo.
func settlementDayBounds(gateway string, day time.Time) (time.Time, time.Time) {
	loc := time.UTC
	if gateway == GatewayOpayo {
		loc = opayoLondon
	}
	from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
	return from, from.AddDate(0, 0, 1)
}

// reconcileStoredDay matches the stored batches of a day against the payments and records the
// outcome.
func (e *Engine) reconcileStoredDay(ctx context.Context, gateway string, day time.Time, progress ReconcileProgress) (*ReconcileReport, error) {
	cfg := e.cfg.Settlement
	if progress == nil {
		progress = func(string, int, int) {}
	}
	batches, err := e.queries.ListSettlementBatchesForDay(ctx, db.ListSettlementBatchesForDayParams{Gateway: gateway, BatchDate: day})
	if err != nil {
		return nil, err
	}
	batchIDs := make([]int64, len(batches))
	byID := map[int64]db.SettlementBatch{}
	byGatewayID := map[string]db.SettlementBatch{}
	var totals []reconcile.Totals
	for i, b := range batches {
		batchIDs[i] = b.ID
		byID[b.ID] = b
		byGatewayID[b.GatewayBatchID] = b
		ts, err := totalsFromJSON(b.GatewayBatchID, b.ReportedTotals)
		if err != nil {
			return nil, err
		}
		totals = append(totals, ts...)
	}
	stored, err := e.queries.ListSettlementLinesOfBatches(ctx, batchIDs)
	if err != nil {
		return nil, err
	}
	lineID := map[[2]int64]int64{} // (batch, line number) → line id
	lines := make([]reconcile.Line, len(stored))
	for i, l := range stored {
		b := byID[l.SettlementBatchID]
		lineID[[2]int64{b.ID, int64(l.LineNumber)}] = l.ID
		date := b.BatchDate
		if l.OccurredAt != nil {
			date = *l.OccurredAt
		}
		lines[i] = reconcile.Line{Number: int(l.LineNumber), Batch: b.GatewayBatchID, Kind: lineKind(l.Kind),
			GatewayTxnID: deref(l.GatewayTransactionID), Reference: deref(l.MerchantReference), Amount: l.Amount,
			Currency: strings.TrimSpace(l.Currency), Date: date}
	}
	window := cfg.DateWindow
	if window <= 0 {
		window = SettlementDateWindowDefault
	}
	from, to := settlementDayBounds(gateway, day)
	candidates, err := e.queries.ListSettlementCandidates(ctx, db.ListSettlementCandidatesParams{
		Gateway: gateway, OccurredFrom: from.Add(-window), OccurredTo: to.Add(window), DayBatchIds: batchIDs,
	})
	if err != nil {
		return nil, err
	}
	payments := make([]reconcile.Payment, len(candidates))
	for i, p := range candidates {
		kind := reconcile.Sale
		if p.Kind == KindRefund {
			kind = reconcile.Refund
		}
		payments[i] = reconcile.Payment{ID: p.ID, GatewayTxnID: p.GatewayTransactionID, Reference: p.MerchantReference,
			Kind: kind, Amount: p.Amount, Currency: strings.TrimSpace(p.Currency), Date: p.OccurredAt,
			// A payment of the day is owed by the day's settlement only once the gateway has
			// published one: before that, nothing is missing yet.
			Expected: len(batches) > 0 && !p.OccurredAt.Before(from) && p.OccurredAt.Before(to)}
	}
	progress("import", 1, 1)
	res := reconcile.Reconcile(lines, payments, totals, reconcile.Config{
		Tolerance: cfg.Tolerance, DateWindow: window,
		Progress: func(done, total int) { progress("match", done, total) },
	})
	report := &ReconcileReport{Gateway: gateway, Day: day, Result: res, Lines: len(lines), Payments: len(payments)}
	err = e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		report.Batches = report.Batches[:0]
		return e.recordReconciliation(ctx, tx, q, report, batches, byGatewayID, lineID, progress)
	})
	if err != nil {
		return nil, err
	}
	return report, nil
}

// recordChunk is how many lines one statement updates; discrepancyChunk how many discrepancies
// one statement writes.
const (
	recordChunk      = 10000
	discrepancyChunk = 5000
)

// recordReconciliation writes a run's matches, discrepancies and batch statuses, in one
// transaction, and leaves the batches as they end in report.Batches. A batch whose journal is
// posted is final: its lines keep their matches.
func (e *Engine) recordReconciliation(ctx context.Context, tx pgx.Tx, q *db.Queries, report *ReconcileReport,
	batches []db.SettlementBatch, byGatewayID map[string]db.SettlementBatch, lineID map[[2]int64]int64, progress ReconcileProgress) error {
	res := report.Result
	locked := make([]db.SettlementBatch, len(batches))
	open := map[int64]bool{} // batches this run may change
	var openIDs []int64
	for i, b := range batches {
		var err error
		if locked[i], err = q.GetSettlementBatchForUpdate(ctx, b.ID); err != nil {
			return err
		}
		if locked[i].Status != "journal_posted" {
			open[b.ID] = true
			openIDs = append(openIDs, b.ID)
		}
	}
	if err := q.ClearSettlementMatches(ctx, openIDs); err != nil {
		return err
	}
	// Line outcomes: matched by the method, or the discrepancy that names them.
	type outcome struct {
		status, method, note string
		payment              int64
	}
	outcomes := map[int64]*outcome{}
	var links []db.InsertSettlementMatchesParams
	lineRef := func(batch string, number int) (int64, bool) {
		b, ok := byGatewayID[batch]
		if !ok || !open[b.ID] {
			return 0, false
		}
		id, ok := lineID[[2]int64{b.ID, int64(number)}]
		return id, ok
	}
	total := len(res.Matches) + len(res.Discrepancies)
	done := 0
	tick := func() {
		done++
		if done%recordChunk == 0 || done == total {
			progress("record", done, total)
		}
	}
	for _, m := range res.Matches {
		for _, ln := range m.Lines {
			id, ok := lineRef(m.Batch, ln)
			if !ok {
				continue
			}
			o := &outcome{status: "matched", method: string(m.Method)}
			if len(m.Payments) > 0 {
				o.payment = m.Payments[0]
			}
			o.note = m.Note
			outcomes[id] = o
			for _, p := range m.Payments {
				links = append(links, db.InsertSettlementMatchesParams{SettlementLineID: id, PaymentID: p, Method: string(m.Method)})
			}
		}
		tick()
	}
	lineStatus := map[reconcile.DiscrepancyKind]string{
		reconcile.AmountMismatch: "amount_mismatch", reconcile.CurrencyMismatch: "currency_mismatch",
		reconcile.KindMismatch: "kind_mismatch", reconcile.DuplicateLine: "duplicate", reconcile.UnmatchedLine: "unmatched",
		reconcile.InvalidInput: "ignored",
	}
	// The discrepancies are written in chunks; rows[i] is res.Discrepancies[i]'s, when its batch
	// is open (or it belongs to the day).
	type discrepancyRow struct {
		SettlementBatchID    *int64           `json:"settlement_batch_id"`
		Kind                 string           `json:"kind"`
		DedupeKey            string           `json:"dedupe_key"`
		LineNumbers          []int            `json:"line_numbers"`
		PaymentIDs           []int64          `json:"payment_ids"`
		Currency             *string          `json:"currency"`
		Expected             *decimal.Decimal `json:"expected"`
		Actual               *decimal.Decimal `json:"actual"`
		MerchantReference    *string          `json:"merchant_reference"`
		GatewayTransactionID *string          `json:"gateway_transaction_id"`
		Explanation          string           `json:"explanation"`
	}
	var rows []discrepancyRow
	for _, d := range res.Discrepancies {
		var batchID *int64
		if b, ok := byGatewayID[d.Batch]; ok {
			batchID = &b.ID
			if !open[b.ID] {
				tick()
				continue
			}
		}
		for _, ln := range d.Lines {
			if id, ok := lineRef(d.Batch, ln); ok {
				if st, ok := lineStatus[d.Kind]; ok {
					o := outcomes[id]
					if o == nil {
						o = &outcome{}
						outcomes[id] = o
					}
					o.status, o.note = st, d.Explanation
					if len(d.Payments) > 0 {
						o.payment = d.Payments[0]
					}
				}
			}
		}
		r := discrepancyRow{SettlementBatchID: batchID, Kind: string(d.Kind), DedupeKey: discrepancyKey(d),
			LineNumbers: append([]int{}, d.Lines...), PaymentIDs: append([]int64{}, d.Payments...), Currency: nonEmpty(d.Currency),
			MerchantReference: nonEmpty(d.Reference), GatewayTransactionID: nonEmpty(d.GatewayTxnID), Explanation: d.Explanation}
		if !d.Expected.IsZero() || !d.Actual.IsZero() {
			r.Expected, r.Actual = &d.Expected, &d.Actual
		}
		if d.IsCount() { // lines, not money: the API's currency is that of amounts only
			r.Currency = nil
		}
		rows = append(rows, r)
		tick()
	}
	keep := make([]string, len(rows))
	stored := make(map[string]db.SettlementDiscrepancy, len(rows))
	fresh := map[string]bool{} // inserted, or changed, by this run
	for start := 0; start < len(rows); start += discrepancyChunk {
		chunk := rows[start:min(start+discrepancyChunk, len(rows))]
		raw, err := json.Marshal(chunk)
		if err != nil {
			return err
		}
		written, err := q.UpsertSettlementDiscrepancies(ctx, db.UpsertSettlementDiscrepanciesParams{
			Gateway: report.Gateway, SettlementDate: report.Day, Rows: raw})
		if err != nil {
			return fmt.Errorf("sync: record discrepancies: %w", err)
		}
		for _, w := range written {
			stored[w.DedupeKey], fresh[w.DedupeKey] = w, true
		}
		var unchanged []string
		for i, r := range chunk {
			keep[start+i] = r.DedupeKey
			if !fresh[r.DedupeKey] {
				unchanged = append(unchanged, r.DedupeKey)
			}
		}
		if len(unchanged) > 0 {
			found, err := q.ListSettlementDiscrepanciesByKeys(ctx, db.ListSettlementDiscrepanciesByKeysParams{
				Gateway: report.Gateway, SettlementDate: report.Day, DedupeKeys: unchanged})
			if err != nil {
				return err
			}
			for _, f := range found {
				stored[f.DedupeKey] = f
			}
		}
	}
	mismatched := map[int64]int{}
	dayLevel := 0
	for _, r := range rows {
		row := stored[r.DedupeKey]
		report.Discrepancies = append(report.Discrepancies, row)
		if row.Status == "open" {
			if r.SettlementBatchID != nil {
				mismatched[*r.SettlementBatchID]++
			} else if fresh[r.DedupeKey] {
				dayLevel++
			}
		}
	}
	if _, err := q.ResolveVanishedDiscrepancies(ctx, db.ResolveVanishedDiscrepanciesParams{
		Gateway: report.Gateway, SettlementDate: report.Day, KeepKeys: keep,
	}); err != nil {
		return err
	}
	// Write every open line's outcome in chunks (unmatched unless a match or a discrepancy named
	// it), in line id order: deterministic, and kinder to the index.
	ids := make([]int64, 0, len(lineID))
	for key, id := range lineID {
		if !open[key[0]] {
			continue
		}
		if outcomes[id] == nil {
			outcomes[id] = &outcome{status: "unmatched"}
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for start := 0; start < len(ids); start += recordChunk {
		chunk := ids[start:min(start+recordChunk, len(ids))]
		p := db.SetSettlementLineMatchesParams{}
		for _, id := range chunk {
			o := outcomes[id]
			p.Ids = append(p.Ids, id)
			p.MatchStatuses = append(p.MatchStatuses, o.status)
			p.MatchMethods = append(p.MatchMethods, o.method)
			p.PaymentIds = append(p.PaymentIds, o.payment)
			p.MatchNotes = append(p.MatchNotes, o.note)
		}
		if err := q.SetSettlementLineMatches(ctx, p); err != nil {
			return fmt.Errorf("sync: record line matches: %w", err)
		}
	}
	if len(links) > 0 {
		if _, err := q.InsertSettlementMatches(ctx, dedupeLinks(links)); err != nil {
			return fmt.Errorf("sync: record settlement matches: %w", err)
		}
	}
	now := time.Now()
	for _, cur := range locked {
		b := cur // cur moves on; b is the batch as locked
		if !open[b.ID] {
			report.Batches = append(report.Batches, cur)
			continue
		}
		var err error
		next := cur.Status
		switch {
		case mismatched[b.ID] > 0:
			next = "mismatched"
		case cur.Status == "imported" || cur.Status == "mismatched":
			next = "matched"
		}
		changed := next != cur.Status
		if changed {
			if cur, err = q.SetSettlementBatchStatus(ctx, db.SetSettlementBatchStatusParams{ID: b.ID, Status: next, ReconciledAt: &now}); err != nil {
				return err
			}
			kind := "settlement.batch_reconciled"
			if next == "mismatched" {
				kind = "settlement.batch_mismatched"
			}
			payload := batchPayload(cur)
			payload["openDiscrepancies"] = mismatched[b.ID]
			if err := appendEvent(ctx, q, TopicSettlement, kind, "settlement_batch", cur.ID, payload); err != nil {
				return err
			}
		}
		if changed && next == "mismatched" {
			if err := e.raiseSettlementAnomaly(ctx, q, cur, mismatched[b.ID], report); err != nil {
				return err
			}
		}
		if next == "matched" || next == "accepted" {
			if err := e.journalBatchTx(ctx, tx, q, cur); err != nil {
				return err
			}
		}
		report.Batches = append(report.Batches, cur)
	}
	if dayLevel > 0 {
		return raiseAnomaly(ctx, q, anomaly{
			kind: "settlement_mismatch", severity: "warning", subjectType: "settlement_day", subjectID: report.Day.Unix() / 86400,
			dedupeKey: fmt.Sprintf("settlement_unsettled:%s:%s", report.Gateway, report.Day.Format(time.DateOnly)),
			summary: fmt.Sprintf("%d more %s payment(s) of %s were not in any settlement batch", dayLevel, report.Gateway,
				report.Day.Format(time.DateOnly)),
			details: map[string]any{"gateway": report.Gateway, "date": report.Day.Format(time.DateOnly), "unsettledPayments": dayLevel},
		})
	}
	return nil
}

// raiseSettlementAnomaly tells operations a batch did not reconcile, with what is wrong in it.
func (e *Engine) raiseSettlementAnomaly(ctx context.Context, q *db.Queries, b db.SettlementBatch, open int, report *ReconcileReport) error {
	kinds := map[string]int{}
	for _, d := range report.Discrepancies {
		if d.SettlementBatchID != nil && *d.SettlementBatchID == b.ID && d.Status == "open" {
			kinds[d.Kind]++
		}
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		parts = append(parts, fmt.Sprintf("%d %s", kinds[k], strings.ReplaceAll(k, "_", " ")))
	}
	severity := "warning"
	if kinds[string(reconcile.TotalMismatch)] > 0 || kinds[string(reconcile.AmountMismatch)] > 0 {
		severity = "critical"
	}
	score := float64(open)
	return raiseAnomaly(ctx, q, anomaly{
		kind: "settlement_mismatch", severity: severity, subjectType: "settlement_batch", subjectID: b.ID,
		dedupeKey: fmt.Sprintf("settlement_mismatch:%d", b.ID),
		summary: fmt.Sprintf("%s settlement batch %s of %s does not reconcile: %s", b.Gateway, b.GatewayBatchID,
			b.BatchDate.Format(time.DateOnly), strings.Join(parts, ", ")),
		explanation: fmt.Sprintf("The batch holds %d lines for a net %s %s. Its journal is not posted to SYSPRO until finance resolves or accepts the %d open discrepancies (see settlementBatch in the API or `hub reconcile`).",
			b.LineCount, b.NetAmount.StringFixed(2), b.Currency, open),
		score:   &score,
		details: map[string]any{"gateway": b.Gateway, "batchId": b.GatewayBatchID, "date": b.BatchDate.Format(time.DateOnly), "discrepancies": kinds},
	})
}

// discrepancyKey identifies a discrepancy across runs of the same day.
func discrepancyKey(d reconcile.Discrepancy) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|%s|%s|", d.Kind, d.Batch, d.Currency, d.GatewayTxnID, d.Reference)
	for _, n := range d.Lines {
		fmt.Fprintf(&b, "l%d,", n)
	}
	for _, p := range d.Payments {
		fmt.Fprintf(&b, "p%d,", p)
	}
	b.WriteString(d.Measure) // a batch has one total mismatch per measure
	sum := sha256.Sum256([]byte(b.String()))
	return string(d.Kind) + ":" + hex.EncodeToString(sum[:12])
}

// dedupeLinks drops repeated (line, payment) pairs.
func dedupeLinks(in []db.InsertSettlementMatchesParams) []db.InsertSettlementMatchesParams {
	seen := map[[2]int64]bool{}
	out := in[:0]
	for _, l := range in {
		k := [2]int64{l.SettlementLineID, l.PaymentID}
		if !seen[k] {
			seen[k] = true
			out = append(out, l)
		}
	}
	return out
}

// settlementDayArgs reconciles one gateway's day; one job per gateway and day waits at a time.
type settlementDayArgs struct {
	Gateway string `json:"gateway"`
	Day     string `json:"day"`
}

func (settlementDayArgs) Kind() string { return "settlement_day" }

func (settlementDayArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waitingStates}}
}

type settlementDayWorker struct {
	river.WorkerDefaults[settlementDayArgs]
	engine *Engine
}

func (w *settlementDayWorker) Timeout(*river.Job[settlementDayArgs]) time.Duration {
	return w.engine.jobTimeout(10 * time.Minute)
}

func (w *settlementDayWorker) Work(ctx context.Context, job *river.Job[settlementDayArgs]) error {
	day, err := time.Parse(time.DateOnly, job.Args.Day)
	if err != nil {
		return river.JobCancel(fmt.Errorf("sync: settlement day %q: %w", job.Args.Day, err))
	}
	_, err = w.engine.ReconcileDay(ctx, job.Args.Gateway, day, nil)
	var ue *UserError
	if errors.As(err, &ue) {
		return river.JobCancel(err)
	}
	return err
}

// settlementImportArgs is the periodic import: it enqueues yesterday and the Lookback days
// before it for every configured gateway.
type settlementImportArgs struct{}

func (settlementImportArgs) Kind() string { return "settlement_import" }

func (settlementImportArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: waitingStates}}
}

type settlementImportWorker struct {
	river.WorkerDefaults[settlementImportArgs]
	engine *Engine
}

func (w *settlementImportWorker) Work(ctx context.Context, _ *river.Job[settlementImportArgs]) error {
	e := w.engine
	lookback := e.cfg.Settlement.Lookback
	if lookback <= 0 {
		lookback = SettlementLookbackDefault
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	return e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		for _, g := range e.settlementGateways() {
			for i := lookback; i >= 1; i-- {
				day := today.AddDate(0, 0, -i)
				if _, err := e.river.InsertTx(ctx, tx, settlementDayArgs{Gateway: g, Day: day.Format(time.DateOnly)}, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// settlementGateways are the gateways whose reports this hub can read.
func (e *Engine) settlementGateways() []string {
	var out []string
	if _, ok := e.cfg.Cybersource.(CybersourceReports); ok {
		out = append(out, GatewayCybersource)
	}
	if _, ok := e.cfg.Opayo.(OpayoReports); ok {
		out = append(out, GatewayOpayo)
	}
	return out
}

// registerSettlement adds the settlement workers, and the daily import when a gateway's reports
// are configured.
func (e *Engine) registerSettlement(r *registry) {
	if len(e.settlementGateways()) == 0 {
		return
	}
	river.AddWorker(r.workers, &settlementDayWorker{engine: e})
	river.AddWorker(r.workers, &settlementImportWorker{engine: e})
	if e.cfg.Settlement.Interval >= 0 {
		interval := e.cfg.Settlement.Interval
		if interval == 0 {
			interval = SettlementIntervalDefault
		}
		r.every(interval, settlementImportArgs{})
	}
	r.working = true
}

// EnqueueReconcileDay asks for a gateway's day to be (re)reconciled by a worker.
func (e *Engine) EnqueueReconcileDay(ctx context.Context, gateway string, day time.Time) error {
	gateway, err := parseGateway(gateway)
	if err != nil {
		return err
	}
	if !slices.Contains(e.settlementGateways(), gateway) {
		return userErr(ErrCodeGatewayUnavailable, "%s reporting is not configured on this hub", gateway)
	}
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	if err := dayIsOver(day); err != nil {
		return err
	}
	res, err := e.river.Insert(ctx, settlementDayArgs{Gateway: gateway, Day: day.Format(time.DateOnly)}, nil)
	if err != nil {
		return err
	}
	// A day is reconciled by one job at a time. One that waits to start will read the reports as
	// they are now, so this request is served by it; one already running may have read them
	// before what this request is about, so say so rather than answer "queued" for nothing.
	if res.UniqueSkippedAsDuplicate && res.Job != nil && res.Job.State == rivertype.JobStateRunning {
		return userErr(ErrCodeReconciliationRunning, "the %s settlement of %s is being reconciled right now; ask again once it is done (watch settlementBatches)",
			gateway, day.Format(time.DateOnly))
	}
	return nil
}

// dayIsOver refuses a business day that has not ended: its settlement cannot be complete.
func dayIsOver(day time.Time) error {
	if !day.Before(time.Now().UTC().Truncate(24 * time.Hour)) {
		return userErr(ErrCodeSettlementDateInFuture, "%s has not ended yet: a day can be reconciled once it is over", day.Format(time.DateOnly))
	}
	return nil
}

// lineKind reads a stored line's kind; what the engine does not know is an adjustment.
func lineKind(s string) reconcile.Kind {
	k, err := reconcile.ParseKind(s)
	if err != nil {
		return reconcile.Adjustment
	}
	return k
}
