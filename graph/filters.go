package graph

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/model"
)

// noSuchRow is a row id no table uses: a filter on an unknown customer code matches nothing.
const noSuchRow = int64(-1)

// paymentCountParams turns a PaymentFilter into query parameters (nil fields = no filter).
func (r *Resolver) paymentCountParams(ctx context.Context, f *model.PaymentFilter) (db.CountPaymentsParams, error) {
	var p db.CountPaymentsParams
	if f == nil {
		return p, nil
	}
	p.Statuses = dbEnums(f.Status)
	p.Kinds = dbEnums(f.Kind)
	if f.Gateway != nil {
		g := dbEnum(*f.Gateway)
		p.Gateway = &g
	}
	p.MerchantReference = f.MerchantReference
	p.OccurredFrom, p.OccurredTo = f.OccurredFrom, f.OccurredTo
	if f.CustomerCode != nil {
		id, err := r.customerIDByCode(ctx, *f.CustomerCode)
		if err != nil {
			return p, err
		}
		p.CustomerID = &id
	}
	if f.OrderID != nil {
		id, err := decodeIDOf(model.TypeOrder, *f.OrderID)
		if err != nil {
			return p, badInput("filter.orderId: %v", err)
		}
		p.SalesOrderID = &id
	}
	return p, nil
}

// orderCountParams turns an OrderFilter into query parameters.
func (r *Resolver) orderCountParams(ctx context.Context, f *model.OrderFilter) (db.CountSalesOrdersParams, error) {
	var p db.CountSalesOrdersParams
	if f == nil {
		return p, nil
	}
	p.Statuses = dbEnums(f.Status)
	if f.Source != nil {
		s := dbEnum(*f.Source)
		p.Source = &s
	}
	p.OrderedFrom, p.OrderedTo = f.OrderedFrom, f.OrderedTo
	if f.CustomerCode != nil {
		id, err := r.customerIDByCode(ctx, *f.CustomerCode)
		if err != nil {
			return p, err
		}
		p.CustomerID = &id
	}
	return p, nil
}

// customerCountParams turns a CustomerFilter into query parameters.
func customerCountParams(f *model.CustomerFilter) db.CountCustomersParams {
	var p db.CountCustomersParams
	if f == nil {
		return p
	}
	if f.Status != nil {
		s := dbEnum(*f.Status)
		p.Status = &s
	}
	if f.Search != nil && strings.TrimSpace(*f.Search) != "" {
		s := escapeLike(strings.TrimSpace(*f.Search))
		p.Search = &s
	}
	return p
}

func (r *Resolver) customerIDByCode(ctx context.Context, code string) (int64, error) {
	c, err := r.Queries.GetCustomerByCode(ctx, code)
	if errors.Is(err, pgx.ErrNoRows) {
		return noSuchRow, nil
	}
	return c.ID, err
}

// escapeLike makes a search text match literally inside an ILIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
