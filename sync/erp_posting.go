package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/db"
)

// Posting kinds: what the hub owes SYSPRO, one business object call each.
const (
	PostingCustomer   = "customer"    // ARSSCS
	PostingSalesOrder = "sales_order" // SORTOI, after COMFND find-first
	PostingArPayment  = "ar_payment"  // ARSTPY, after COMFND find-first
)

// Error classes stored on a failed posting.
const (
	ClassTransient     = "transient"
	ClassBusiness      = "business"
	ClassConfiguration = "configuration"
)

// PostingRequest asks for one SYSPRO call about one canonical row. IdempotencyKey names the
// consequence ("sales_order:42"): asking twice for the same key yields the same posting.
type PostingRequest struct {
	Kind           string
	BusinessObject string
	SubjectType    string
	SubjectID      int64
	IdempotencyKey string
}

// erpPostingArgs is the River job that works one posting. Round is the posting's attempt count
// when the job was enqueued: River keeps one job per posting and round, so a repost of a dead
// posting gets a job of its own while a duplicate enqueue in the same round does not.
type erpPostingArgs struct {
	PostingID int64 `json:"postingId"`
	Round     int32 `json:"round"`
}

func (erpPostingArgs) Kind() string { return "erp_posting" }

func (erpPostingArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSyspro, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// EnqueuePostingTx adds the posting and its job in the caller's transaction, so that the posting
// exists exactly when the canonical change that caused it does. It returns the existing posting
// when the idempotency key is already known.
func (e *Engine) EnqueuePostingTx(ctx context.Context, tx pgx.Tx, req PostingRequest) (db.ErpPosting, error) {
	q := e.queries.WithTx(tx)
	row, err := q.CreateErpPosting(ctx, db.CreateErpPostingParams{
		Kind: req.Kind, BusinessObject: req.BusinessObject, SubjectType: req.SubjectType,
		SubjectID: req.SubjectID, IdempotencyKey: req.IdempotencyKey,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return q.GetErpPostingByIdempotencyKey(ctx, req.IdempotencyKey)
	}
	if err != nil {
		return row, fmt.Errorf("sync: create posting %s: %w", req.IdempotencyKey, err)
	}
	if _, err := e.river.InsertTx(ctx, tx, erpPostingArgs{PostingID: row.ID}, nil); err != nil {
		return row, fmt.Errorf("sync: enqueue posting %d: %w", row.ID, err)
	}
	return row, appendEvent(ctx, q, TopicErp, "erp_posting.queued", "erp_posting", row.ID, postingPayload(row))
}

// Repost puts a dead posting back in the queue, once whatever SYSPRO refused has been fixed (a
// stock code added, a customer created). actor is recorded in the event.
func (e *Engine) Repost(ctx context.Context, postingID int64, actor string) (db.ErpPosting, error) {
	var row db.ErpPosting
	err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		var err error
		row, err = q.ReviveErpPosting(ctx, postingID)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("sync: posting %d is not in the dead-letter queue", postingID)
		}
		if err != nil {
			return err
		}
		if row.Kind == PostingSalesOrder {
			if _, err := q.RetrySalesOrderPosting(ctx, row.SubjectID); err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		if _, err := e.river.InsertTx(ctx, tx, erpPostingArgs{PostingID: row.ID, Round: row.Attempts}, nil); err != nil {
			return fmt.Errorf("sync: enqueue posting %d: %w", row.ID, err)
		}
		payload := postingPayload(row)
		payload["actor"] = actor
		return appendEvent(ctx, q, TopicErp, "erp_posting.reposted", "erp_posting", row.ID, payload)
	})
	return row, err
}

// postingOutcome is what a successful SYSPRO call leaves: SYSPRO's reference, its answer for the
// record, and the canonical consequences to apply in the completing transaction.
type postingOutcome struct {
	reference string
	response  any
	apply     func(ctx context.Context, tx pgx.Tx, q *db.Queries) error
}

// erpPostingWorker works erp_posting jobs.
type erpPostingWorker struct {
	river.WorkerDefaults[erpPostingArgs]
	engine *Engine
}

// Timeout covers a posting's whole conversation with SYSPRO (find first, then add).
func (w *erpPostingWorker) Timeout(*river.Job[erpPostingArgs]) time.Duration {
	return w.engine.jobTimeout(2 * time.Minute)
}

func (w *erpPostingWorker) Work(ctx context.Context, job *river.Job[erpPostingArgs]) error {
	e := w.engine
	p, err := e.queries.ClaimErpPosting(ctx, job.Args.PostingID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // already succeeded, dead or cancelled
	}
	if err != nil {
		return err
	}
	out, err := e.post(ctx, p)
	if err == nil {
		// If recording the outcome fails, SYSPRO already has the document; the retry finds it
		// first and records it then.
		if err = e.completePosting(ctx, p, out); err == nil {
			e.observePosting(p.Kind, "succeeded", "")
			return nil
		}
	}
	class := errorClass(err)
	if class == ClassTransient && job.Attempt < job.MaxAttempts {
		if derr := e.deferPosting(ctx, p, err); derr != nil {
			return errors.Join(err, derr)
		}
		e.observePosting(p.Kind, "retry", class)
		e.log.Warn("posting to SYSPRO failed, will retry", "posting", p.ID, "kind", p.Kind, "attempt", job.Attempt, "error", err)
		return err
	}
	if kerr := e.killPosting(ctx, p, err, class); kerr != nil {
		return errors.Join(err, kerr)
	}
	e.observePosting(p.Kind, "dead", class)
	e.log.Error("posting to SYSPRO is dead", "posting", p.ID, "kind", p.Kind, "class", class, "error", err)
	return river.JobCancel(err)
}

// post makes the SYSPRO call behind a posting.
func (e *Engine) post(ctx context.Context, p db.ErpPosting) (postingOutcome, error) {
	switch p.Kind {
	case PostingSalesOrder:
		return e.postSalesOrder(ctx, p)
	case PostingArPayment:
		return e.postArPayment(ctx, p)
	case PostingOrderStatus:
		return e.postOrderCancel(ctx, p)
	case PostingCreditNote:
		return e.postCreditNote(ctx, p)
	case PostingCustomer:
		return e.postCustomer(ctx, p)
	case PostingGlJournal:
		return e.postGlJournal(ctx, p)
	}
	return postingOutcome{}, permanent(fmt.Errorf("sync: posting kind %q has no handler", p.Kind))
}

func (e *Engine) completePosting(ctx context.Context, p db.ErpPosting, out postingOutcome) error {
	raw, err := json.Marshal(out.response)
	if err != nil {
		return err
	}
	response, ref := string(raw), out.reference
	return e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.CompleteErpPosting(ctx, db.CompleteErpPostingParams{ID: p.ID, Response: &response, SysproReference: &ref})
		if err != nil {
			return fmt.Errorf("sync: complete posting %d: %w", p.ID, err)
		}
		if out.apply != nil {
			if err := out.apply(ctx, tx, q); err != nil {
				return err
			}
		}
		return appendEvent(ctx, q, TopicErp, "erp_posting.succeeded", "erp_posting", row.ID, postingPayload(row))
	})
}

func (e *Engine) deferPosting(ctx context.Context, p db.ErpPosting, cause error) error {
	msg, number := errorText(cause)
	class := ClassTransient
	_, err := e.queries.DeferErpPosting(ctx, db.DeferErpPostingParams{
		ID: p.ID, LastError: &msg, ErrorClass: &class, SysproErrorNumber: number,
	})
	return err
}

// killPosting moves the posting to the dead-letter queue with SYSPRO's message, marks what it was
// about as failed, and raises an anomaly for the operator.
func (e *Engine) killPosting(ctx context.Context, p db.ErpPosting, cause error, class string) error {
	msg, number := errorText(cause)
	return e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		row, err := q.KillErpPosting(ctx, db.KillErpPostingParams{
			ID: p.ID, LastError: &msg, ErrorClass: &class, SysproErrorNumber: number,
		})
		if err != nil {
			return fmt.Errorf("sync: kill posting %d: %w", p.ID, err)
		}
		if p.Kind == PostingSalesOrder {
			if _, err := q.MarkSalesOrderFailed(ctx, p.SubjectID); err != nil {
				return err
			}
		}
		severity := "warning"
		if class == ClassConfiguration {
			severity = "critical"
		}
		if err := raiseAnomaly(ctx, q, anomaly{
			kind: "erp_posting_dead", severity: severity, subjectType: "erp_posting", subjectID: row.ID,
			dedupeKey: fmt.Sprintf("erp_posting_dead:%d", row.ID),
			summary:   fmt.Sprintf("SYSPRO refused %s %s: %s", row.BusinessObject, row.IdempotencyKey, msg),
			details:   postingPayload(row),
		}); err != nil {
			return err
		}
		return appendEvent(ctx, q, TopicErp, "erp_posting.dead", "erp_posting", row.ID, postingPayload(row))
	})
}

// postingPayload is a posting as events and anomalies report it.
func postingPayload(p db.ErpPosting) map[string]any {
	m := map[string]any{
		"postingId": p.ID, "kind": p.Kind, "businessObject": p.BusinessObject, "status": p.Status,
		"subjectType": p.SubjectType, "subjectId": p.SubjectID, "idempotencyKey": p.IdempotencyKey,
		"attempts": p.Attempts,
	}
	if p.LastError != nil {
		m["lastError"] = *p.LastError
	}
	if p.SysproReference != nil {
		m["sysproReference"] = *p.SysproReference
	}
	return m
}

// permanentError marks a failure of the hub's own data that no retry can fix (an order without a
// customer); it is dead-lettered like a SYSPRO business error.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

// errorClass sorts a posting failure into the class stored on the posting.
func errorClass(err error) string {
	var perm permanentError
	switch {
	case errors.As(err, &perm), syspro.IsBusiness(err):
		return ClassBusiness
	case syspro.IsConfiguration(err):
		return ClassConfiguration
	}
	return ClassTransient
}

// errorText is the message stored on a posting: SYSPRO's own text when SYSPRO answered, and its
// error number when it gave one.
func errorText(err error) (string, *string) {
	var se *syspro.Error
	if errors.As(err, &se) && se.Number != 0 {
		n := fmt.Sprint(se.Number)
		return err.Error(), &n
	}
	return err.Error(), nil
}
