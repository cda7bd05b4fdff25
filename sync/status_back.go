package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/db"
)

// Status back: SYSPRO moves an order on (warehouse, invoicing, completion, cancellation) without
// telling anyone, so the hub asks. Every StatusInterval the periodic job syspro_order_status picks
// the orders SYSPRO may still change (in SYSPRO, canonical status open, in_warehouse, to_invoice or
// on_hold), those checked longest ago first, at most statusBackBatch of them, and queues one
// syspro_order_status_check job per order on the SYSPRO queue. That job reads the order with
// SORQRY, maps SYSPRO's OrderStatus to a canonical status through the mapping_rules of kind
// status_map and scope "syspro", and when the canonical status or the SYSPRO status changed,
// updates the order and appends order.status_changed in one transaction (payload orderId,
// customerPoNumber, sysproOrderNumber, from, to, sysproStatus, and shipped: true once the order is
// to_invoice or complete). The first SYSPRO status of an order whose posting reported none is
// recorded quietly when it leaves the canonical status as it was. Every check sets
// syspro_checked_at, without moving the order's updated_at when nothing else changed.
//
// Moves the order state machine refuses (say to_invoice back to in_warehouse) are not forced: the
// order keeps its status, records SYSPRO's, and an anomaly says which move was refused. An anomaly
// also reports a SYSPRO status no rule maps, and an order SYSPRO no longer knows; each is raised
// once, not at every check.

// statusBackBatch bounds the orders one read-back round queues.
const statusBackBatch = 200

// sysproStatusScope is the mapping_rules scope of SYSPRO's order statuses.
const sysproStatusScope = "syspro"

// statusBackStatuses are the canonical statuses an order in SYSPRO can still leave there.
var statusBackStatuses = map[string]bool{"open": true, "in_warehouse": true, "to_invoice": true, "on_hold": true}

// orderStatusArgs is the periodic read-back round.
type orderStatusArgs struct{}

func (orderStatusArgs) Kind() string { return "syspro_order_status" }

func (orderStatusArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: waitingStates}}
}

// orderStatusCheckArgs reads back one order. One such job per order waits at a time; a check that
// keeps failing gives up early, as the next round queues the order again.
type orderStatusCheckArgs struct {
	OrderID int64 `json:"orderId"`
}

func (orderStatusCheckArgs) Kind() string { return "syspro_order_status_check" }

func (orderStatusCheckArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSyspro, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waitingStates}}
}

// registerStatusBack adds the periodic read-back of open orders' SYSPRO status.
func (e *Engine) registerStatusBack(r *registry) {
	if e.cfg.Syspro == nil {
		return
	}
	river.AddWorker(r.workers, &orderStatusWorker{engine: e})
	river.AddWorker(r.workers, &orderStatusCheckWorker{engine: e})
	r.every(e.cfg.StatusInterval, orderStatusArgs{})
	r.working = true
}

type orderStatusWorker struct {
	river.WorkerDefaults[orderStatusArgs]
	engine *Engine
}

// Work queues a check of the orders checked longest ago.
func (w *orderStatusWorker) Work(ctx context.Context, _ *river.Job[orderStatusArgs]) error {
	e := w.engine
	ids, err := e.queries.ListSalesOrdersForStatusBack(ctx, statusBackBatch)
	if err != nil {
		return fmt.Errorf("sync: orders to read back: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: orderStatusCheckArgs{OrderID: id}}
	}
	return e.inTx(ctx, func(tx pgx.Tx, _ *db.Queries) error {
		if _, err := e.river.InsertManyTx(ctx, tx, params); err != nil {
			return fmt.Errorf("sync: queue order status checks: %w", err)
		}
		return nil
	})
}

type orderStatusCheckWorker struct {
	river.WorkerDefaults[orderStatusCheckArgs]
	engine *Engine
}

func (w *orderStatusCheckWorker) Timeout(*river.Job[orderStatusCheckArgs]) time.Duration {
	return w.engine.jobTimeout(time.Minute)
}

func (w *orderStatusCheckWorker) Work(ctx context.Context, job *river.Job[orderStatusCheckArgs]) error {
	err := w.engine.RefreshOrderStatus(ctx, job.Args.OrderID)
	if isPermanent(err) {
		return river.JobCancel(err)
	}
	return err
}

// RefreshOrderStatus asks SYSPRO about one order now and applies the answer (see the package's
// status-back notes above). Orders not in SYSPRO, or already finished, are left alone.
func (e *Engine) RefreshOrderStatus(ctx context.Context, orderID int64) error {
	if e.cfg.Syspro == nil {
		return permanent(errors.New("sync: SYSPRO is not configured here"))
	}
	order, err := e.queries.GetSalesOrder(ctx, orderID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sync: load order %d: %w", orderID, err)
	}
	if order.SysproOrderNumber == nil || !statusBackStatuses[order.Status] {
		return nil
	}
	number := *order.SysproOrderNumber
	detail, err := e.cfg.Syspro.QuerySalesOrder(ctx, number)
	switch {
	case err == nil && detail.SalesOrder == "":
		err = fmt.Errorf("sync: SORQRY for %s answered without the order", number)
		fallthrough
	case err != nil && syspro.IsBusiness(err):
		return e.orderMissingInSyspro(ctx, order, number, err)
	case err != nil:
		return fmt.Errorf("sync: read back order %s: %w", number, err)
	}
	return e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		// The rules are read afresh, so that an edit applies at the next check.
		r, err := loadRules(ctx, q)
		if err != nil {
			return err
		}
		if err := e.applyOrderStatus(ctx, q, orderID, number, detail, r); err != nil {
			return err
		}
		if e.cfg.ArPaymentAt != ArPaymentAtShip {
			return nil
		}
		// Receipts follow the goods: once SYSPRO has shipped the order, its payments are owed
		// (enqueueArPaymentsTx checks that it has).
		return e.enqueueArPaymentsTx(ctx, tx, q, orderID)
	})
}

// shipped says whether an order's goods have left (SYSPRO status 8 or 9).
func shipped(status string) bool { return status == "to_invoice" || status == "complete" }

// applyOrderStatus records SYSPRO's answer about one order, in the caller's transaction.
func (e *Engine) applyOrderStatus(ctx context.Context, q *db.Queries, orderID int64, number string,
	detail *syspro.SalesOrderDetail, r *rules) error {
	order, err := q.LockSalesOrder(ctx, orderID)
	if err != nil {
		return fmt.Errorf("sync: lock order %d: %w", orderID, err)
	}
	// The order may have moved while SYSPRO was asked.
	if order.SysproOrderNumber == nil || *order.SysproOrderNumber != number || !statusBackStatuses[order.Status] {
		return nil
	}
	sysproStatus := string(detail.OrderStatus)
	// What SYSPRO said before was already acted on: anomalies are raised when its status changes.
	news := order.SysproStatus == nil || *order.SysproStatus != sysproStatus
	from, to := order.Status, order.Status
	mapped, ok := r.orderStatus(sysproStatus)
	switch {
	case !ok && news:
		if err := raiseAnomaly(ctx, q, anomaly{
			kind: "syspro_status_unmapped", severity: "warning", subjectType: "sales_order", subjectID: order.ID,
			dedupeKey: fmt.Sprintf("syspro_status_unmapped:%d:%s", order.ID, sysproStatus),
			summary: fmt.Sprintf("SYSPRO order %s has status %q, which no status_map rule (scope syspro) maps; the order stays %s",
				number, sysproStatus, from),
			details: map[string]any{"sysproOrderNumber": number, "sysproStatus": sysproStatus, "sysproStatusDesc": detail.OrderStatusDesc},
		}); err != nil {
			return err
		}
	case ok && mapped != from:
		allowed, err := q.IsStatusMoveAllowed(ctx, db.IsStatusMoveAllowedParams{Entity: "sales_order", FromStatus: from, ToStatus: mapped})
		if err != nil {
			return fmt.Errorf("sync: order transition %s → %s: %w", from, mapped, err)
		}
		if allowed {
			to = mapped
			break
		}
		if !news {
			break
		}
		if err := raiseAnomaly(ctx, q, anomaly{
			kind: "order_status_move_refused", severity: "info", subjectType: "sales_order", subjectID: order.ID,
			dedupeKey: fmt.Sprintf("order_status_move_refused:%d:%s:%s", order.ID, from, mapped),
			summary: fmt.Sprintf("SYSPRO order %s is at status %q (%s), but the order may not move from %s to %s; it stays %s",
				number, sysproStatus, mapped, from, mapped, from),
			details: map[string]any{"sysproOrderNumber": number, "sysproStatus": sysproStatus, "from": from, "to": mapped},
		}); err != nil {
			return err
		}
	}
	if to == from && !news {
		return q.MarkSalesOrderSysproChecked(ctx, order.ID)
	}
	if _, err := q.ApplySysproOrderStatus(ctx, db.ApplySysproOrderStatusParams{
		ID: order.ID, Status: to, SysproStatus: nonEmpty(sysproStatus),
	}); err != nil {
		return fmt.Errorf("sync: record SYSPRO status of order %s: %w", number, err)
	}
	if to == from && order.SysproStatus == nil {
		// The first status heard of an order whose posting did not report one: nothing moved.
		return nil
	}
	payload := map[string]any{
		"orderId": order.ID, "customerPoNumber": order.CustomerPoNumber, "sysproOrderNumber": number,
		"from": from, "to": to, "sysproStatus": sysproStatus, "sysproStatusDesc": detail.OrderStatusDesc,
	}
	if order.SysproStatus != nil {
		payload["previousSysproStatus"] = *order.SysproStatus
	}
	if shipped(to) {
		payload["shipped"] = true
	}
	return appendEvent(ctx, q, TopicOrder, "order.status_changed", "sales_order", order.ID, payload)
}

// orderMissingInSyspro raises an anomaly for an order SYSPRO says it does not know, and records
// the check so that the order waits its turn again instead of being asked at every round.
func (e *Engine) orderMissingInSyspro(ctx context.Context, order db.SalesOrder, number string, cause error) error {
	return e.inTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		if err := q.MarkSalesOrderSysproChecked(ctx, order.ID); err != nil {
			return err
		}
		return raiseAnomaly(ctx, q, anomaly{
			kind: "syspro_order_missing", severity: "warning", subjectType: "sales_order", subjectID: order.ID,
			dedupeKey: fmt.Sprintf("syspro_order_missing:%d", order.ID),
			summary:   fmt.Sprintf("SYSPRO does not know order %s (customer PO %s) any more", number, order.CustomerPoNumber),
			details:   map[string]any{"sysproOrderNumber": number, "error": cause.Error()},
		})
	})
}
