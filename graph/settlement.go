package graph

import (
	"context"
	"errors"
	"strconv"

	"github.com/shopspring/decimal"
	"github.com/vikstrous/dataloadgen"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/model"
	hubsync "github.com/payhub/payhub/sync"
)

// Settlement reconciliation's lists and objects (settlement.graphqls). They live here, not in
// settlement.resolvers.go, which gqlgen rewrites.

// discrepancyChunk is how many rows one query of allDiscrepancies reads.
const discrepancyChunk = 10_000

// The input field each of the engine's refusal codes is about, per settlement mutation.
var (
	acceptBatchFields = map[string]string{
		hubsync.ErrCodeNotFound:           "id",
		hubsync.ErrCodeBatchNotMismatched: "id",
		hubsync.ErrCodeInvalidInput:       "note",
	}
	resolveDiscrepancyFields = map[string]string{
		hubsync.ErrCodeNotFound:           "id",
		hubsync.ErrCodeDiscrepancyNotOpen: "id",
		hubsync.ErrCodeInvalidInput:       "note",
	}
	reconcileFields = map[string]string{
		hubsync.ErrCodeUnknownGateway:         "gateway",
		hubsync.ErrCodeGatewayUnavailable:     "gateway",
		hubsync.ErrCodeSettlementDateInFuture: "date",
	}
)

func settlementBatchCountParams(f *model.SettlementBatchFilter) db.CountSettlementBatchesParams {
	var p db.CountSettlementBatchesParams
	if f == nil {
		return p
	}
	p.Gateway = enumParam(f.Gateway)
	p.Statuses = dbEnums(f.Statuses)
	p.DateFrom, p.DateTo = model.DateParam(f.DateFrom), model.DateParam(f.DateTo)
	return p
}

// settlementDiscrepancyParams reads a SettlementDiscrepancyFilter as the list's parameters
// (without its keyset and limit).
func settlementDiscrepancyParams(f *model.SettlementDiscrepancyFilter) (db.ListSettlementDiscrepanciesParams, error) {
	var p db.ListSettlementDiscrepanciesParams
	if f == nil {
		return p, nil
	}
	p.Gateway = enumParam(f.Gateway)
	p.SettlementDate = model.DateParam(f.Date)
	p.Statuses = dbEnums(f.Statuses)
	p.Kinds = dbEnums(f.Kinds)
	if f.BatchID != nil {
		id, err := decodeIDOf(model.TypeSettlementBatch, *f.BatchID)
		if err != nil {
			return p, badInput("filter.batchId: %v", err)
		}
		p.SettlementBatchID = &id
	}
	return p, nil
}

// decodeIDCursor reads an `after` argument of a list ordered by row id.
func decodeIDCursor(kind string, after *string) (int64, error) {
	key, err := decodeKeyCursor(kind, after)
	if err != nil || key == nil {
		return 0, err
	}
	id, err := strconv.ParseInt(*key, 10, 64)
	if err != nil || id <= 0 {
		return 0, unknownCursor(*after)
	}
	return id, nil
}

// decodeLineCursor reads an `after` argument of a batch's lines: a cursor of another batch's
// lines is refused. 0 when there is none.
func decodeLineCursor(batchID int64, after *string) (int32, error) {
	keys, err := decodeKeysCursor(cursorSettlementLine, 2, after)
	if err != nil || keys == nil {
		return 0, err
	}
	batch, err1 := strconv.ParseInt(keys[0], 10, 64)
	line, err2 := strconv.ParseInt(keys[1], 10, 32)
	if err1 != nil || err2 != nil || batch != batchID || line <= 0 {
		return 0, unknownCursor(*after)
	}
	return int32(line), nil
}

func encodeLineCursor(l db.SettlementLine) string {
	return encodeKeysCursor(cursorSettlementLine, strconv.FormatInt(l.SettlementBatchID, 10), strconv.Itoa(int(l.LineNumber)))
}

// allDiscrepancies lists every discrepancy p's filter matches, oldest first.
func (r *Resolver) allDiscrepancies(ctx context.Context, p db.ListSettlementDiscrepanciesParams) ([]*model.SettlementDiscrepancy, error) {
	out := []*model.SettlementDiscrepancy{}
	p.AfterID, p.RowLimit = 0, discrepancyChunk
	for {
		rows, err := r.Queries.ListSettlementDiscrepancies(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			out = append(out, model.SettlementDiscrepancyFromRow(row))
		}
		if len(rows) < discrepancyChunk {
			return out, nil
		}
		p.AfterID = rows[len(rows)-1].ID
	}
}

// loadPayments fetches payments by row id through the request's loader, in the order given;
// a payment that no longer exists is left out.
func (r *Resolver) loadPayments(ctx context.Context, ids []int64) ([]*model.Payment, error) {
	loader := r.loaders(ctx).PaymentByID
	thunks := make([]func() (*model.Payment, error), len(ids))
	for i, id := range ids {
		thunks[i] = loader.LoadThunk(ctx, id)
	}
	out := make([]*model.Payment, 0, len(ids))
	for _, thunk := range thunks {
		p, err := thunk()
		if errors.Is(err, dataloadgen.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// batchJournal is the journal a batch shows: its live one (not cancelled), else its latest.
func batchJournal(journals []db.GlJournal) *model.GlJournal {
	if len(journals) == 0 {
		return nil
	}
	for _, j := range journals {
		if j.Status != "cancelled" {
			return model.GlJournalFromRow(j)
		}
	}
	return model.GlJournalFromRow(journals[len(journals)-1])
}

// journalLines are a journal's lines, in its currency.
func (r *Resolver) journalLines(ctx context.Context, j *model.GlJournal) ([]*model.GlJournalLine, error) {
	rows, err := r.loaders(ctx).JournalLinesByJournalID.Load(ctx, j.RowID)
	if err != nil {
		return nil, err
	}
	currency := ""
	if j.Currency != nil {
		currency = *j.Currency
	}
	out := make([]*model.GlJournalLine, len(rows))
	for i, row := range rows {
		out[i] = model.GlJournalLineFromRow(row, currency)
	}
	return out, nil
}

// journalTotal sums the debit (or credit) side of a journal's lines.
func (r *Resolver) journalTotal(ctx context.Context, j *model.GlJournal, side func(*model.GlJournalLine) decimal.Decimal) (*decimal.Decimal, error) {
	lines, err := r.journalLines(ctx, j)
	if err != nil {
		return nil, err
	}
	currency := ""
	if j.Currency != nil {
		currency = *j.Currency
	}
	total := model.NewMoney(decimal.New(0, -4), currency).Amount // 0 at the currency's scale
	for _, l := range lines {
		total = total.Add(side(l))
	}
	return &total, nil
}
