package sync

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payhub/payhub/db"
)

// Error codes of finance's settlement actions.
const (
	ErrCodeBatchNotMismatched     = "BATCH_NOT_MISMATCHED"
	ErrCodeDiscrepancyNotOpen     = "DISCREPANCY_NOT_OPEN"
	ErrCodeUnknownGateway         = "UNKNOWN_GATEWAY"
	ErrCodeSettlementDateInFuture = "SETTLEMENT_DATE_IN_FUTURE"
	ErrCodeReconciliationRunning  = "RECONCILIATION_RUNNING"
)

// AcceptSettlementBatch is finance accepting a mismatched batch as it stands: its open
// discrepancies become accepted, and the batch's journal is drafted from its lines as they stand.
func (e *Engine) AcceptSettlementBatch(ctx context.Context, batchID int64, note, actor string) (db.SettlementBatch, error) {
	if strings.TrimSpace(note) == "" {
		return db.SettlementBatch{}, userErr(ErrCodeInvalidInput, "a note saying why the batch is accepted is required")
	}
	var out db.SettlementBatch
	err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		b, err := q.GetSettlementBatchForUpdate(ctx, batchID)
		if errors.Is(err, pgx.ErrNoRows) {
			return userErr(ErrCodeNotFound, "settlement batch %d does not exist", batchID)
		}
		if err != nil {
			return err
		}
		if b.Status != "mismatched" {
			return userErr(ErrCodeBatchNotMismatched, "settlement batch %s is %s, not mismatched", b.GatewayBatchID, b.Status)
		}
		if out, err = q.AcceptSettlementBatch(ctx, db.AcceptSettlementBatchParams{ID: b.ID, AcceptedBy: &actor, AcceptanceNote: &note}); err != nil {
			return err
		}
		if _, err := q.AcceptDiscrepanciesOfBatch(ctx, db.AcceptDiscrepanciesOfBatchParams{
			SettlementBatchID: &b.ID, ResolvedBy: &actor, ResolutionNote: &note,
		}); err != nil {
			return err
		}
		if err := appendEvent(ctx, q, TopicSettlement, "settlement.batch_accepted", "settlement_batch", b.ID, map[string]any{
			"settlementBatchId": b.ID, "gateway": b.Gateway, "batchId": b.GatewayBatchID, "acceptedBy": actor, "note": note,
		}); err != nil {
			return err
		}
		return e.journalBatchTx(ctx, tx, q, out)
	})
	return out, err
}

// ResolveSettlementDiscrepancy records what finance did about one discrepancy. When it was the
// batch's last open one, the batch counts as matched and is journaled.
func (e *Engine) ResolveSettlementDiscrepancy(ctx context.Context, id int64, note, actor string) (db.SettlementDiscrepancy, error) {
	if strings.TrimSpace(note) == "" {
		return db.SettlementDiscrepancy{}, userErr(ErrCodeInvalidInput, "a note saying what was done is required")
	}
	var out db.SettlementDiscrepancy
	err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		d, err := q.GetSettlementDiscrepancy(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return userErr(ErrCodeNotFound, "settlement discrepancy %d does not exist", id)
		}
		if err != nil {
			return err
		}
		var batch db.SettlementBatch
		if d.SettlementBatchID != nil {
			// Lock the batch first, as reconciliation does, so two resolutions of its last two
			// discrepancies cannot both miss that the batch is now clear.
			if batch, err = q.GetSettlementBatchForUpdate(ctx, *d.SettlementBatchID); err != nil {
				return err
			}
		}
		out, err = q.ResolveSettlementDiscrepancy(ctx, db.ResolveSettlementDiscrepancyParams{ID: id, ResolvedBy: &actor, ResolutionNote: &note})
		if errors.Is(err, pgx.ErrNoRows) {
			return userErr(ErrCodeDiscrepancyNotOpen, "settlement discrepancy %d is already %s", id, d.Status)
		}
		if err != nil {
			return err
		}
		if err := appendEvent(ctx, q, TopicSettlement, "settlement.discrepancy_resolved", "settlement_discrepancy", out.ID, map[string]any{
			"discrepancyId": out.ID, "kind": out.Kind, "settlementBatchId": out.SettlementBatchID, "resolvedBy": actor, "note": note,
		}); err != nil {
			return err
		}
		if d.SettlementBatchID == nil || batch.Status != "mismatched" {
			return nil
		}
		open, err := q.CountOpenDiscrepanciesOfBatch(ctx, &batch.ID)
		if err != nil || open > 0 {
			return err
		}
		now := time.Now()
		if batch, err = q.SetSettlementBatchStatus(ctx, db.SetSettlementBatchStatusParams{ID: batch.ID, Status: "matched", ReconciledAt: &now}); err != nil {
			return err
		}
		if err := appendEvent(ctx, q, TopicSettlement, "settlement.batch_reconciled", "settlement_batch", batch.ID, batchPayload(batch)); err != nil {
			return err
		}
		return e.journalBatchTx(ctx, tx, q, batch)
	})
	return out, err
}

// batchPayload is a settlement batch in events.
func batchPayload(b db.SettlementBatch) map[string]any {
	return map[string]any{
		"settlementBatchId": b.ID, "gateway": b.Gateway, "batchId": b.GatewayBatchID,
		"batchDate": b.BatchDate.Format(time.DateOnly), "status": b.Status, "currency": b.Currency,
		"gross": b.GrossAmount, "refunds": b.RefundAmount, "fees": b.FeeAmount, "chargebacks": b.ChargebackAmount,
		"net": b.NetAmount, "lineCount": b.LineCount,
	}
}

// parseGateway checks a gateway name given by a person.
func parseGateway(g string) (string, error) {
	switch s := strings.ToLower(strings.TrimSpace(g)); s {
	case GatewayCybersource, GatewayOpayo:
		return s, nil
	}
	return "", userErr(ErrCodeUnknownGateway, "gateway must be cybersource or opayo, not %q", g)
}
