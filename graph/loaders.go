package graph

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/model"
)

// loaderWait is how long a loader gathers keys before one batched query; resolvers of one list
// run concurrently, so a short wait collects the whole page.
const loaderWait = time.Millisecond

// Loaders batch the lookups list resolvers make, one set per request, so a page of 500 payments
// asking for their orders costs one query, not 500.
type Loaders struct {
	PaymentByID           *dataloadgen.Loader[int64, *model.Payment]
	OrderByID             *dataloadgen.Loader[int64, *model.Order]
	CustomerByID          *dataloadgen.Loader[int64, *model.Customer]
	OrderLinesByOrderID   *dataloadgen.Loader[int64, []*model.OrderLine]
	PaymentsByOrderID     *dataloadgen.Loader[int64, []*model.Payment]
	CustomerLinksByCustID *dataloadgen.Loader[int64, []*model.CustomerLink]

	// Settlement reconciliation (settlement.graphqls).
	SettlementBatchByID *dataloadgen.Loader[int64, *model.SettlementBatch]
	// JournalsByBatchID are a batch's GL journals, oldest first.
	JournalsByBatchID *dataloadgen.Loader[int64, []db.GlJournal]
	// JournalLinesByJournalID are a journal's lines in line order (converted by the resolver,
	// which knows the journal's currency).
	JournalLinesByJournalID *dataloadgen.Loader[int64, []db.GlJournalLine]
	// PaymentIDsByLineID are the payments a settlement line was matched to (settlement_matches).
	PaymentIDsByLineID *dataloadgen.Loader[int64, []int64]

	// The links of an order's chain (dashboard.graphqls).
	// ErpPostingsByPaymentID / ErpPostingsByOrderID are the SYSPRO postings whose subject is the
	// payment / the sales order, oldest first.
	ErpPostingsByPaymentID *dataloadgen.Loader[int64, []*model.ErpPosting]
	ErpPostingsByOrderID   *dataloadgen.Loader[int64, []*model.ErpPosting]
	// RefundsByPaymentID are a payment's refunds, oldest first.
	RefundsByPaymentID *dataloadgen.Loader[int64, []*model.Refund]
	// FraudReviewByPaymentID is a payment's fraud review (not found: it had none).
	FraudReviewByPaymentID *dataloadgen.Loader[int64, *model.FraudReview]
	// SettlementLinesByPaymentID are the settlement lines a payment was matched to.
	SettlementLinesByPaymentID *dataloadgen.Loader[int64, []*model.SettlementLine]
}

type loadersKey struct{}

// NewLoaders returns a fresh set of loaders reading through q.
func NewLoaders(q *db.Queries) *Loaders {
	opt := dataloadgen.WithWait(loaderWait)
	return &Loaders{
		PaymentByID: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []int64) (map[int64]*model.Payment, error) {
			rows, err := q.ListPaymentsByIDs(ctx, ids)
			return indexBy(rows, err, func(r db.Payment) (int64, *model.Payment) { return r.ID, model.PaymentFromRow(r) })
		}, opt),
		OrderByID: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []int64) (map[int64]*model.Order, error) {
			rows, err := q.ListSalesOrdersByIDs(ctx, ids)
			return indexBy(rows, err, func(r db.SalesOrder) (int64, *model.Order) { return r.ID, model.OrderFromRow(r) })
		}, opt),
		CustomerByID: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []int64) (map[int64]*model.Customer, error) {
			rows, err := q.ListCustomersByIDs(ctx, ids)
			return indexBy(rows, err, func(r db.Customer) (int64, *model.Customer) { return r.ID, model.CustomerFromRow(r) })
		}, opt),
		OrderLinesByOrderID: dataloadgen.NewLoader(func(ctx context.Context, ids []int64) ([][]*model.OrderLine, []error) {
			rows, err := q.ListSalesOrderLinesByOrderIDs(ctx, ids)
			return groupBy(ids, rows, err, func(r db.ListSalesOrderLinesByOrderIDsRow) (int64, *model.OrderLine) {
				return r.SalesOrderLine.SalesOrderID, model.OrderLineFromRow(r.SalesOrderLine, r.Currency)
			})
		}, opt),
		PaymentsByOrderID: dataloadgen.NewLoader(func(ctx context.Context, ids []int64) ([][]*model.Payment, []error) {
			rows, err := q.ListPaymentsByOrderIDs(ctx, ids)
			return groupBy(ids, rows, err, func(r db.Payment) (int64, *model.Payment) {
				return *r.SalesOrderID, model.PaymentFromRow(r)
			})
		}, opt),
		CustomerLinksByCustID: dataloadgen.NewLoader(func(ctx context.Context, ids []int64) ([][]*model.CustomerLink, []error) {
			rows, err := q.ListCustomerLinksByCustomerIDs(ctx, ids)
			return groupBy(ids, rows, err, func(r db.CustomerLink) (int64, *model.CustomerLink) {
				return r.CustomerID, model.CustomerLinkFromRow(r)
			})
		}, opt),
		SettlementBatchByID: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []int64) (map[int64]*model.SettlementBatch, error) {
			rows, err := q.ListSettlementBatchesByIDs(ctx, ids)
			return indexBy(rows, err, func(r db.SettlementBatch) (int64, *model.SettlementBatch) {
				return r.ID, model.SettlementBatchFromRow(r)
			})
		}, opt),
		JournalsByBatchID: dataloadgen.NewLoader(func(ctx context.Context, ids []int64) ([][]db.GlJournal, []error) {
			rows, err := q.ListGlJournalsOfBatches(ctx, ids)
			rows = slices.DeleteFunc(rows, func(j db.GlJournal) bool { return j.SettlementBatchID == nil })
			return groupBy(ids, rows, err, func(j db.GlJournal) (int64, db.GlJournal) { return *j.SettlementBatchID, j })
		}, opt),
		JournalLinesByJournalID: dataloadgen.NewLoader(func(ctx context.Context, ids []int64) ([][]db.GlJournalLine, []error) {
			rows, err := q.ListGlJournalLines(ctx, ids)
			return groupBy(ids, rows, err, func(l db.GlJournalLine) (int64, db.GlJournalLine) { return l.GlJournalID, l })
		}, opt),
		PaymentIDsByLineID: dataloadgen.NewLoader(func(ctx context.Context, ids []int64) ([][]int64, []error) {
			rows, err := q.ListSettlementMatchesOfLines(ctx, ids)
			return groupBy(ids, rows, err, func(m db.SettlementMatch) (int64, int64) { return m.SettlementLineID, m.PaymentID })
		}, opt),
		ErpPostingsByPaymentID: erpPostingsLoader(q, "payment", opt),
		ErpPostingsByOrderID:   erpPostingsLoader(q, "sales_order", opt),
		RefundsByPaymentID: dataloadgen.NewLoader(func(ctx context.Context, ids []int64) ([][]*model.Refund, []error) {
			rows, err := q.ListRefundsOfPayments(ctx, ids)
			return groupBy(ids, rows, err, func(r db.Refund) (int64, *model.Refund) { return r.PaymentID, model.RefundFromRow(r) })
		}, opt),
		FraudReviewByPaymentID: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []int64) (map[int64]*model.FraudReview, error) {
			rows, err := q.ListFraudReviewsOfPayments(ctx, ids)
			return indexBy(rows, err, func(r db.FraudReview) (int64, *model.FraudReview) { return r.PaymentID, model.FraudReviewFromRow(r) })
		}, opt),
		SettlementLinesByPaymentID: dataloadgen.NewLoader(func(ctx context.Context, ids []int64) ([][]*model.SettlementLine, []error) {
			rows, err := q.ListSettlementLinesOfPayments(ctx, ids)
			return groupBy(ids, rows, err, func(r db.ListSettlementLinesOfPaymentsRow) (int64, *model.SettlementLine) {
				return r.PaymentID, model.SettlementLineFromRow(r.SettlementLine)
			})
		}, opt),
	}
}

// erpPostingsLoader loads the postings about records of one subject type (as erp_postings stores
// it: "payment", "sales_order"), each record's oldest first.
func erpPostingsLoader(q *db.Queries, subjectType string, opt dataloadgen.Option) *dataloadgen.Loader[int64, []*model.ErpPosting] {
	return dataloadgen.NewLoader(func(ctx context.Context, ids []int64) ([][]*model.ErpPosting, []error) {
		rows, err := q.ListErpPostingsOfSubjects(ctx, db.ListErpPostingsOfSubjectsParams{SubjectType: subjectType, SubjectIds: ids})
		return groupBy(ids, rows, err, func(p db.ErpPosting) (int64, *model.ErpPosting) { return p.SubjectID, model.ErpPostingFromRow(p) })
	}, opt)
}

// WithLoaders gives every request its own loaders, so nothing is cached across requests. A
// websocket gets none: each response on it gets its own (see websocketExtension).
func WithLoaders(q *db.Queries, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWebsocket(r) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := context.WithValue(r.Context(), loadersKey{}, NewLoaders(q))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// lazyLoadersKey holds the loaders of one response on a websocket (see websocketExtension).
type lazyLoadersKey struct{}

// lazyLoaders makes its loaders on first use: most events of a subscription load nothing.
type lazyLoaders struct {
	queries *db.Queries
	once    sync.Once
	l       *Loaders
}

func (z *lazyLoaders) get() *Loaders {
	z.once.Do(func() { z.l = NewLoaders(z.queries) })
	return z.l
}

// loaders returns the response's loaders on a websocket, else the request's, or a fresh set for
// callers outside an HTTP request.
func (r *Resolver) loaders(ctx context.Context) *Loaders {
	if z, ok := ctx.Value(lazyLoadersKey{}).(*lazyLoaders); ok {
		return z.get()
	}
	if l, ok := ctx.Value(loadersKey{}).(*Loaders); ok {
		return l
	}
	return NewLoaders(r.Queries)
}

func indexBy[R any, V any](rows []R, err error, conv func(R) (int64, V)) (map[int64]V, error) {
	if err != nil {
		return nil, err
	}
	out := make(map[int64]V, len(rows))
	for _, r := range rows {
		k, v := conv(r)
		out[k] = v
	}
	return out, nil
}

func groupBy[R any, V any](keys []int64, rows []R, err error, conv func(R) (int64, V)) ([][]V, []error) {
	if err != nil {
		return nil, []error{err}
	}
	byKey := make(map[int64][]V, len(keys))
	for _, r := range rows {
		k, v := conv(r)
		byKey[k] = append(byKey[k], v)
	}
	out := make([][]V, len(keys))
	for i, k := range keys {
		out[i] = byKey[k]
		if out[i] == nil {
			out[i] = []V{}
		}
	}
	return out, nil
}
