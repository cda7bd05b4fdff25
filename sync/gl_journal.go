package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/sync/reconcile"
)

// PostingGlJournal is the posting of a settlement batch's GL journal (GENTJL, after COMFND
// find-first by the journal's reference).
const PostingGlJournal = "gl_journal"

// GL measures: what a settlement batch's journal is derived from.
const (
	MeasureSales         = "sales"          // captures and sales settled
	MeasureRefunds       = "refunds"        // refunds settled
	MeasureFees          = "fees"           // the gateway's fees
	MeasureChargebacks   = "chargebacks"    // chargebacks taken back
	MeasureAdjustments   = "adjustments"    // other lines (signed)
	MeasureFXDifferences = "fx_differences" // what converting to the ledger currency left over
)

// GLRule posts one measure: its amount debits Debit and credits Credit (a negative amount the
// other way round).
type GLRule struct {
	Measure string `json:"measure"`
	Debit   string `json:"debit"`
	Credit  string `json:"credit"`
	// Gateway limits the rule to one gateway; empty is every gateway. A gateway's own rule for a
	// measure wins over the general one.
	Gateway string `json:"gateway,omitempty"`
}

// GLRules derive a settlement batch's journal.
type GLRules struct {
	// Currency is the ledger's currency; batches in others are converted with the fx_rate
	// mapping rules at the batch date. Empty is GBP.
	Currency string `json:"currency"`
	// Rules map measures to ledger codes; empty is DefaultGLRules.
	Rules []GLRule `json:"rules"`
	// Off leaves batches unjournaled (reconciliation only).
	Off bool `json:"off"`
}

// DefaultGLRules book a settlement the usual way: the AR receipts debited card clearing (1050)
// when the payments were taken; the settlement moves the money from clearing to the bank (1000),
// with fees (4100) and chargebacks (4150) as expenses, and what conversion rounding leaves to FX
// differences (7900).
func DefaultGLRules() []GLRule {
	return []GLRule{
		{Measure: MeasureSales, Debit: "1000", Credit: "1050"},
		{Measure: MeasureRefunds, Debit: "1050", Credit: "1000"},
		{Measure: MeasureFees, Debit: "4100", Credit: "1000"},
		{Measure: MeasureChargebacks, Debit: "4150", Credit: "1000"},
		{Measure: MeasureAdjustments, Debit: "1000", Credit: "1050"},
		{Measure: MeasureFXDifferences, Debit: "7900", Credit: "1000"},
	}
}

// Validate checks the rules a hub starts with.
func (g GLRules) Validate() error {
	seen := map[string]bool{}
	for i, r := range g.Rules {
		switch r.Measure {
		case MeasureSales, MeasureRefunds, MeasureFees, MeasureChargebacks, MeasureAdjustments, MeasureFXDifferences:
		default:
			return fmt.Errorf("gl rule %d: measure %q is not one of sales, refunds, fees, chargebacks, adjustments, fx_differences", i+1, r.Measure)
		}
		if strings.TrimSpace(r.Debit) == "" || strings.TrimSpace(r.Credit) == "" || r.Debit == r.Credit {
			return fmt.Errorf("gl rule %d (%s): needs two different ledger codes, debit and credit", i+1, r.Measure)
		}
		if r.Gateway != "" && r.Gateway != GatewayCybersource && r.Gateway != GatewayOpayo {
			return fmt.Errorf("gl rule %d (%s): gateway %q is not cybersource or opayo", i+1, r.Measure, r.Gateway)
		}
		k := r.Gateway + "|" + r.Measure
		if seen[k] {
			return fmt.Errorf("gl rule %d: a second rule for %s %s", i+1, r.Measure, r.Gateway)
		}
		seen[k] = true
	}
	return nil
}

func (g GLRules) currency() string {
	if g.Currency == "" {
		return "GBP"
	}
	return strings.ToUpper(g.Currency)
}

// rule finds the rule of a measure for a gateway.
func (g GLRules) rule(gateway, measure string) (GLRule, bool) {
	rules := g.Rules
	if len(rules) == 0 {
		rules = DefaultGLRules()
	}
	var general *GLRule
	for i, r := range rules {
		if r.Measure != measure {
			continue
		}
		if r.Gateway == gateway {
			return r, true
		}
		if r.Gateway == "" {
			general = &rules[i]
		}
	}
	if general != nil {
		return *general, true
	}
	return GLRule{}, false
}

// journalLine is one entry of a derived journal: positive debits, negative credits.
type journalLine struct {
	ledgerCode, description string
	amount                  decimal.Decimal
}

// deriveJournal turns a batch's lines into a balanced journal in the ledger currency. Each
// measure is converted once per currency and posted to both its ledger codes, so every rule
// balances on its own; the bank side of each currency is converted at the batch date and the
// clearing side per line date, and what the two conversions leave is the FX difference.
func deriveJournal(g GLRules, gateway string, batchDate time.Time, lines []db.SettlementLine, r *rules) ([]journalLine, error) {
	to := g.currency()
	cents := func(d decimal.Decimal) decimal.Decimal { return d.Round(2) }
	var converted reconcile.Sums               // the measures in the ledger currency, each line at its date
	byCurrency := map[string]*reconcile.Sums{} // what the bank received, per currency
	for _, l := range lines {
		kind, cur := lineKind(l.Kind), strings.TrimSpace(l.Currency)
		day := batchDate
		if l.OccurredAt != nil {
			day = *l.OccurredAt
		}
		amount, err := r.convert(l.Amount, cur, to, day)
		if err != nil {
			return nil, err
		}
		converted.Add(kind, amount)
		if byCurrency[cur] == nil {
			byCurrency[cur] = &reconcile.Sums{}
		}
		byCurrency[cur].Add(kind, l.Amount)
	}
	bank := decimal.Zero
	for _, cur := range slices.Sorted(maps.Keys(byCurrency)) {
		net, err := r.convert(byCurrency[cur].Net(), cur, to, batchDate)
		if err != nil {
			return nil, err
		}
		bank = bank.Add(cents(net))
	}
	measures := reconcile.Sums{Sales: cents(converted.Sales), Refunds: cents(converted.Refunds), Fees: cents(converted.Fees),
		Chargebacks: cents(converted.Chargebacks), Adjustments: cents(converted.Adjustments)}
	var out []journalLine
	for _, m := range []struct {
		measure string
		amount  decimal.Decimal
	}{
		{MeasureSales, measures.Sales}, {MeasureRefunds, measures.Refunds}, {MeasureFees, measures.Fees},
		{MeasureChargebacks, measures.Chargebacks}, {MeasureAdjustments, measures.Adjustments},
		// The rules above move measures.Net() into the bank; the bank got bank. The rest is FX.
		{MeasureFXDifferences, measures.Net().Sub(bank)},
	} {
		if m.amount.IsZero() {
			continue
		}
		rule, ok := g.rule(gateway, m.measure)
		if !ok {
			return nil, fmt.Errorf("no GL rule for %s: add one to settlement.glRules", m.measure)
		}
		what := gateway + " " + strings.ReplaceAll(m.measure, "_", " ")
		out = append(out, journalLine{rule.Debit, what, m.amount}, journalLine{rule.Credit, what, m.amount.Neg()})
	}
	return compactJournal(out), nil
}

// compactJournal nets the entries per ledger code and side, in a stable order: debits first.
func compactJournal(in []journalLine) []journalLine {
	type key struct {
		code  string
		debit bool
	}
	sum := map[key]decimal.Decimal{}
	desc := map[key][]string{}
	var keys []key
	for _, l := range in {
		k := key{l.ledgerCode, l.amount.IsPositive()}
		if _, ok := sum[k]; !ok {
			keys = append(keys, k)
		}
		sum[k] = sum[k].Add(l.amount)
		desc[k] = append(desc[k], l.description)
	}
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].debit != keys[j].debit {
			return keys[i].debit
		}
		return keys[i].code < keys[j].code
	})
	out := make([]journalLine, 0, len(keys))
	for _, k := range keys {
		out = append(out, journalLine{ledgerCode: k.code, description: truncate(strings.Join(desc[k], "; "), 100), amount: sum[k]})
	}
	return out
}

// glJournalReference is the reference a batch's journal is posted under in SYSPRO, and found by
// after a lost answer.
func glJournalReference(b db.SettlementBatch) string {
	gw := "CS"
	if b.Gateway == GatewayOpayo {
		gw = "OP"
	}
	return truncate(fmt.Sprintf("PAYHUB-%s-%s", gw, b.GatewayBatchID), 30)
}

// journalBatchTx drafts the GL journal of a reconciled (or accepted) batch and queues its
// posting, once: a batch with a live journal keeps it.
func (e *Engine) journalBatchTx(ctx context.Context, tx pgx.Tx, q *db.Queries, b db.SettlementBatch) error {
	g := e.cfg.Settlement.GL
	if g.Off || (b.Status != "matched" && b.Status != "accepted") {
		return nil
	}
	if _, err := q.GetLiveGlJournalOfBatch(ctx, &b.ID); err == nil {
		return nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	lines, err := q.ListSettlementLines(ctx, db.ListSettlementLinesParams{SettlementBatchID: b.ID, RowLimit: 1 << 30})
	if err != nil {
		return err
	}
	r, err := loadRules(ctx, q)
	if err != nil {
		return err
	}
	entries, err := deriveJournal(g, b.Gateway, b.BatchDate, lines, r)
	if err != nil {
		// The journal cannot be derived (a missing FX rate or rule): say so where finance looks.
		return raiseAnomaly(ctx, q, anomaly{
			kind: "gl_journal_underivable", severity: "critical", subjectType: "settlement_batch", subjectID: b.ID,
			dedupeKey: fmt.Sprintf("gl_journal_underivable:%d", b.ID),
			summary:   fmt.Sprintf("the GL journal of %s batch %s cannot be derived: %v", b.Gateway, b.GatewayBatchID, err),
			details:   map[string]any{"batchId": b.GatewayBatchID, "error": err.Error()},
		})
	}
	if len(entries) == 0 {
		return nil // nothing moved
	}
	ref := glJournalReference(b)
	cur := g.currency()
	j, err := q.CreateGlJournal(ctx, db.CreateGlJournalParams{
		SettlementBatchID: &b.ID, JournalDate: b.BatchDate, Reference: &ref, Currency: &cur,
		Description: truncate(fmt.Sprintf("%s settlement %s of %s", b.Gateway, b.GatewayBatchID, b.BatchDate.Format(time.DateOnly)), 100),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // another run drafted it first
	}
	if err != nil {
		return fmt.Errorf("sync: draft journal of batch %s: %w", b.GatewayBatchID, err)
	}
	for i, l := range entries {
		if err := q.InsertGlJournalLine(ctx, db.InsertGlJournalLineParams{
			GlJournalID: j.ID, LineNumber: int32(i + 1), LedgerCode: l.ledgerCode, Description: l.description, Amount: l.amount,
		}); err != nil {
			return err
		}
	}
	if _, err := q.SetGlJournalStatus(ctx, db.SetGlJournalStatusParams{ID: j.ID, Status: "posting"}); err != nil {
		return err
	}
	if _, err := e.EnqueuePostingTx(ctx, tx, PostingRequest{
		Kind: PostingGlJournal, BusinessObject: "GENTJL", SubjectType: "gl_journal", SubjectID: j.ID,
		IdempotencyKey: "gl_journal:" + ref,
	}); err != nil {
		return err
	}
	return appendEvent(ctx, q, TopicSettlement, "settlement.journal_drafted", "gl_journal", j.ID, map[string]any{
		"glJournalId": j.ID, "settlementBatchId": b.ID, "reference": ref, "currency": cur, "lines": len(entries),
	})
}

// GLPoster is what GL journal postings need of SYSPRO; *syspro.Client has it.
type GLPoster interface {
	PostGlJournalOnce(ctx context.Context, j syspro.GlJournal) (*syspro.GlJournalResult, error)
}

// postGlJournal posts a drafted journal through GENTJL. The connector looks its reference up
// first, so a retry after a lost answer finds the journal instead of posting it twice.
func (e *Engine) postGlJournal(ctx context.Context, p db.ErpPosting) (postingOutcome, error) {
	poster, ok := e.cfg.Syspro.(GLPoster)
	if !ok {
		return postingOutcome{}, permanent(errors.New("sync: this hub's SYSPRO client cannot post GL journals"))
	}
	j, err := e.queries.GetGlJournal(ctx, p.SubjectID)
	if err != nil {
		return postingOutcome{}, fmt.Errorf("sync: load journal %d: %w", p.SubjectID, err)
	}
	lines, err := e.queries.ListGlJournalLines(ctx, []int64{j.ID})
	if err != nil {
		return postingOutcome{}, err
	}
	gj := syspro.GlJournal{JournalDate: j.JournalDate, Reference: deref(j.Reference), Notation: j.Description}
	for _, l := range lines {
		gj.Entries = append(gj.Entries, syspro.GlJournalEntry{LedgerCode: l.LedgerCode, Amount: l.Amount, Reference: deref(j.Reference), Comment: l.Description})
	}
	res, err := poster.PostGlJournalOnce(ctx, gj)
	if err != nil {
		return postingOutcome{}, err
	}
	if res.GlJournal == "" {
		return postingOutcome{}, fmt.Errorf("sync: GENTJL for %s answered without a journal number", deref(j.Reference))
	}
	return postingOutcome{
		reference: res.GlJournal,
		response:  res,
		apply: func(ctx context.Context, tx pgx.Tx, q *db.Queries) error {
			year, period := int32(res.GlYear), int32(res.GlPeriod)
			posted, err := q.MarkGlJournalPosted(ctx, db.MarkGlJournalPostedParams{
				ID: j.ID, SysproJournalNumber: &res.GlJournal, SysproYear: &year, SysproPeriod: &period,
			})
			if err != nil {
				return fmt.Errorf("sync: record journal %s: %w", res.GlJournal, err)
			}
			if posted.SettlementBatchID != nil {
				b, err := q.GetSettlementBatch(ctx, *posted.SettlementBatchID)
				if err != nil {
					return err
				}
				if b.Status == "matched" || b.Status == "accepted" || b.Status == "failed" {
					if b, err = q.SetSettlementBatchStatus(ctx, db.SetSettlementBatchStatusParams{ID: b.ID, Status: "journal_posted"}); err != nil {
						return err
					}
				}
			}
			return appendEvent(ctx, q, TopicSettlement, "settlement.journal_posted", "gl_journal", j.ID, map[string]any{
				"glJournalId": j.ID, "settlementBatchId": posted.SettlementBatchID, "reference": deref(j.Reference),
				"sysproJournal": res.GlJournal, "glYear": res.GlYear, "glPeriod": res.GlPeriod, "existing": res.Existing,
			})
		},
	}, nil
}
