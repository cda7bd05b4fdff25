package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/payhub/payhub/db"
)

// ErrTxnNotFound is what a source returns when the gateway does not (yet) know a transaction:
// Cybersource indexes new transactions after a delay. The lookup is retried.
var ErrTxnNotFound = errors.New("sync: the gateway does not know the transaction (yet)")

// fetchTransactionArgs asks for one gateway transaction to be read and applied: polling, the
// janitor and unverifiable notifications use it. Only one such job per transaction waits at a time.
type fetchTransactionArgs struct {
	Gateway       string `json:"gateway"`
	TransactionID string `json:"transactionId"`
}

func (fetchTransactionArgs) Kind() string { return "fetch_transaction" }

// waitingStates are the job states in which a second identical job would be redundant.
var waitingStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}

func (fetchTransactionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 12, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waitingStates}}
}

// janitorArgs is the periodic re-query of payments whose state is not known.
type janitorArgs struct{}

func (janitorArgs) Kind() string { return "payment_janitor" }

func (janitorArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: waitingStates}}
}

// registerNormalise adds the normalisation workers when a gateway is configured.
func (e *Engine) registerNormalise(r *registry) {
	if e.cfg.Cybersource == nil && e.cfg.Opayo == nil {
		return
	}
	river.AddWorker(r.workers, &normaliseInboundWorker{engine: e})
	river.AddWorker(r.workers, &fetchTransactionWorker{engine: e})
	river.AddWorker(r.workers, &janitorWorker{engine: e})
	river.AddWorker(r.workers, &refundRecheckWorker{engine: e})
	r.every(e.cfg.PollInterval, janitorArgs{})
	r.working = true
}

// EnqueueFetchTx asks, in the caller's transaction, for a gateway transaction to be read and applied.
func (e *Engine) EnqueueFetchTx(ctx context.Context, tx pgx.Tx, gateway, transactionID string) error {
	if _, err := e.river.InsertTx(ctx, tx, fetchTransactionArgs{Gateway: gateway, TransactionID: transactionID}, nil); err != nil {
		return fmt.Errorf("sync: enqueue fetch of %s %s: %w", gateway, transactionID, err)
	}
	return nil
}

// EnqueueFetch is EnqueueFetchTx in a transaction of its own.
func (e *Engine) EnqueueFetch(ctx context.Context, gateway, transactionID string) error {
	return e.inTx(ctx, func(tx pgx.Tx, _ *db.Queries) error { return e.EnqueueFetchTx(ctx, tx, gateway, transactionID) })
}

type normaliseInboundWorker struct {
	river.WorkerDefaults[normaliseInboundArgs]
	engine *Engine
}

func (w *normaliseInboundWorker) Timeout(*river.Job[normaliseInboundArgs]) time.Duration {
	return w.engine.jobTimeout(time.Minute)
}

// Work reads a stored, verified message, asks its source what it means now, and applies that.
func (w *normaliseInboundWorker) Work(ctx context.Context, job *river.Job[normaliseInboundArgs]) error {
	e := w.engine
	msg, err := e.queries.GetInboundMessage(ctx, job.Args.MessageID)
	if err != nil {
		return fmt.Errorf("sync: load inbound message %d: %w", job.Args.MessageID, err)
	}
	if msg.Status != "received" {
		return nil
	}
	var txns []GatewayTxn
	switch msg.Source {
	case GatewayCybersource:
		txns, err = e.normaliseCybersourceMessage(ctx, msg)
	case GatewayOpayo:
		txns, err = e.normaliseOpayoMessage(ctx, msg)
	default:
		err = permanent(fmt.Errorf("sync: inbound message %d has unknown source %q", msg.ID, msg.Source))
	}
	if err != nil {
		if isPermanent(err) || job.Attempt >= job.MaxAttempts {
			if ferr := e.failInbound(ctx, msg.ID, err); ferr != nil {
				return ferr
			}
			return river.JobCancel(err)
		}
		return err
	}
	return e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		for _, t := range txns {
			if err := e.applyGatewayTxn(ctx, tx, q, t); err != nil {
				return err
			}
		}
		return q.MarkInboundMessage(ctx, db.MarkInboundMessageParams{ID: msg.ID, Status: "processed"})
	})
}

// failInbound records why a message could not be applied.
func (e *Engine) failInbound(ctx context.Context, id int64, cause error) error {
	text := cause.Error()
	return e.queries.MarkInboundMessage(ctx, db.MarkInboundMessageParams{ID: id, Status: "failed", Error: &text})
}

type fetchTransactionWorker struct {
	river.WorkerDefaults[fetchTransactionArgs]
	engine *Engine
}

func (w *fetchTransactionWorker) Timeout(*river.Job[fetchTransactionArgs]) time.Duration {
	return w.engine.jobTimeout(time.Minute)
}

func (w *fetchTransactionWorker) Work(ctx context.Context, job *river.Job[fetchTransactionArgs]) error {
	e := w.engine
	t, err := e.fetchTxn(ctx, job.Args.Gateway, job.Args.TransactionID)
	if err != nil {
		if isPermanent(err) {
			return river.JobCancel(err)
		}
		return err
	}
	return e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error { return e.applyGatewayTxn(ctx, tx, q, t) })
}

// fetchTxn asks the gateway about one transaction.
func (e *Engine) fetchTxn(ctx context.Context, gateway, id string) (GatewayTxn, error) {
	switch {
	case gateway == GatewayCybersource && e.cfg.Cybersource != nil:
		return e.fetchCybersource(ctx, id)
	case gateway == GatewayOpayo && e.cfg.Opayo != nil:
		return e.fetchOpayo(ctx, id)
	}
	return GatewayTxn{}, permanent(fmt.Errorf("sync: gateway %q is not configured here", gateway))
}

type janitorWorker struct {
	river.WorkerDefaults[janitorArgs]
	engine *Engine
}

// Work queues a lookup of every payment whose state is unknown or still pending at the gateway,
// oldest first, so that no follow-up waits on a guess.
func (w *janitorWorker) Work(ctx context.Context, _ *river.Job[janitorArgs]) error {
	e := w.engine
	rows, err := e.queries.ListPaymentsToRecheck(ctx, 500)
	if err != nil {
		return err
	}
	// Refunds left submitted by a hub that died mid-call, or unknown after a lost answer.
	refunds, err := e.queries.ListRefundsToRecheck(ctx, db.ListRefundsToRecheckParams{Limit: 500, OlderThanSeconds: 120})
	if err != nil {
		return err
	}
	return e.inTx(ctx, func(tx pgx.Tx, _ *db.Queries) error {
		for _, r := range refunds {
			if _, err := e.river.InsertTx(ctx, tx, refundRecheckArgs{RefundID: r.ID}, nil); err != nil {
				return err
			}
		}
		for _, p := range rows {
			if (p.Gateway == GatewayCybersource && e.cfg.Cybersource == nil) || (p.Gateway == GatewayOpayo && e.cfg.Opayo == nil) {
				continue
			}
			if err := e.EnqueueFetchTx(ctx, tx, p.Gateway, p.GatewayTransactionID); err != nil {
				return err
			}
		}
		return nil
	})
}

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
