package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/model"
	hubsync "github.com/payhub/payhub/sync"
)

// deadLetterLimitMax bounds repostDeadLetters' filter.limit.
const deadLetterLimitMax = 500

// actorOf is who the engine records as acting: the API key's name.
func actorOf(ctx context.Context) string {
	if p := auth.PrincipalFrom(ctx); p != nil {
		return p.Name
	}
	return actorAnonymous
}

// noUserErrors is the userErrors of a payload that did what was asked (a list, never null).
func noUserErrors() []*model.UserError { return []*model.UserError{} }

// userErrors turns the engine's refusal into userErrors; fields names, per code, the input field
// it is about ("amount.currency": input.amount.currency). Any other error is returned as it is (the client sees "internal error").
func userErrors(err error, fields map[string]string) ([]*model.UserError, error) {
	var ue *hubsync.UserError
	if !errors.As(err, &ue) {
		return nil, err
	}
	e := &model.UserError{Code: ue.Code, Message: ue.Message}
	if ue.Field != nil {
		e.Field = append([]string{"input"}, ue.Field...)
	} else if f, ok := fields[ue.Code]; ok {
		e.Field = append([]string{"input"}, strings.Split(f, ".")...)
	}
	if ue.Code == hubsync.ErrCodeIdempotencyConflict {
		e.Field = []string{"input", "idempotencyKey"}
	}
	return []*model.UserError{e}, nil
}

// invalidInput is a user error about one input field.
func invalidInput(field, format string, args ...any) *model.UserError {
	return &model.UserError{Code: CodeInvalidInput, Message: fmt.Sprintf(format, args...), Field: []string{"input", field}}
}

// inputID reads a global ID of an input field that must name a row of typeName.
func inputID(field, typeName, id string) (int64, *model.UserError) {
	got, rowID, err := model.DecodeGlobalID(id)
	if err != nil || got != typeName {
		return 0, &model.UserError{Code: CodeInvalidID, Field: []string{"input", field},
			Message: fmt.Sprintf("%s %q is not the ID of a %s", field, id, typeName)}
	}
	return rowID, nil
}

// oneError is a list of a single user error, or none.
func oneError(e *model.UserError) []*model.UserError {
	if e == nil {
		return nil
	}
	return []*model.UserError{e}
}

// subject is the object an ErpPosting or Anomaly is about, when the API shows its type: the
// subject_type names a table.
func (r *Resolver) subject(ctx context.Context, subjectType string, id int64) (model.Node, error) {
	typeName := model.SubjectTypeName(subjectType)
	if typeName == "" {
		return nil, nil
	}
	return r.nodeByID(ctx, typeName, id)
}

// nodeByID fetches a row of one of the API's types (errUnknownType for a type it does not have);
// a missing row is a null result.
func (r *Resolver) nodeByID(ctx context.Context, typeName string, rowID int64) (model.Node, error) {
	switch typeName {
	case model.TypePayment:
		return nilIfMissing(r.loaders(ctx).PaymentByID.Load(ctx, rowID))
	case model.TypeOrder:
		return nilIfMissing(r.loaders(ctx).OrderByID.Load(ctx, rowID))
	case model.TypeCustomer:
		return nilIfMissing(r.loaders(ctx).CustomerByID.Load(ctx, rowID))
	case model.TypeRefund:
		row, err := r.Queries.GetRefund(ctx, rowID)
		return one(row, err, model.RefundFromRow)
	case model.TypeErpPosting:
		row, err := r.Queries.GetErpPosting(ctx, rowID)
		return one(row, err, model.ErpPostingFromRow)
	case model.TypeFraudReview:
		row, err := r.Queries.GetFraudReview(ctx, rowID)
		return one(row, err, model.FraudReviewFromRow)
	case model.TypeAnomaly:
		row, err := r.Queries.GetAnomaly(ctx, rowID)
		return one(row, err, model.AnomalyFromRow)
	case model.TypeMappingRule:
		row, err := r.Queries.GetMappingRule(ctx, rowID)
		return one(row, err, model.MappingRuleFromRow)
	case model.TypeEvent:
		return r.eventNode(ctx, rowID)
	case model.TypeSettlementBatch:
		return nilIfMissing(r.loaders(ctx).SettlementBatchByID.Load(ctx, rowID))
	case model.TypeSettlementDiscrepancy:
		row, err := r.Queries.GetSettlementDiscrepancy(ctx, rowID)
		return one(row, err, model.SettlementDiscrepancyFromRow)
	case model.TypeGlJournal:
		row, err := r.Queries.GetGlJournal(ctx, rowID)
		return one(row, err, model.GlJournalFromRow)
	}
	return nil, errUnknownType
}

var errUnknownType = errors.New("unknown node type")

// The input field each of the engine's refusal codes is about, per kind of mutation.
var (
	refundFields = map[string]string{
		hubsync.ErrCodeNotFound:         "paymentId",
		hubsync.ErrCodeNotRefundable:    "paymentId",
		hubsync.ErrCodeInvalidAmount:    "amount.amount",
		hubsync.ErrCodeExceedsRemaining: "amount.amount",
		hubsync.ErrCodeCurrencyMismatch: "amount.currency",
	}
	paymentFields = map[string]string{
		hubsync.ErrCodeNotFound:         "paymentId",
		hubsync.ErrCodeNotVoidable:      "paymentId",
		hubsync.ErrCodeNotCapturable:    "paymentId",
		hubsync.ErrCodePaymentNotKnown:  "paymentId",
		hubsync.ErrCodeAmountTooLarge:   "amount.amount",
		hubsync.ErrCodeCurrencyMismatch: "amount.currency",
	}
)

// placeOrderRequest is the engine's form of a placeOrder input.
func placeOrderRequest(in model.PlaceOrderInput) hubsync.PlaceOrderRequest {
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	addr := func(a *model.AddressInput) hubsync.Address {
		if a == nil {
			return hubsync.Address{}
		}
		return hubsync.Address{Line1: str(a.Line1), Line2: str(a.Line2), City: str(a.City), Region: str(a.Region),
			PostalCode: str(a.PostalCode), Country: str(a.Country)}
	}
	req := hubsync.PlaceOrderRequest{Reference: in.CustomerPoNumber, Currency: in.Currency,
		AllowBackorder: in.AllowBackorder != nil && *in.AllowBackorder}
	if c := in.Customer; c != nil {
		req.Customer = hubsync.OrderCustomer{Code: str(c.Code), Email: str(c.Email), Name: str(c.Name), Phone: str(c.Phone),
			BillTo: addr(c.BillTo)}
	}
	if in.ShipTo != nil {
		s := addr(in.ShipTo)
		req.ShipTo = &s
	}
	for _, l := range in.Lines {
		if l == nil {
			continue
		}
		req.Lines = append(req.Lines, hubsync.PlaceOrderLine{StockCode: l.StockCode, Description: str(l.Description),
			Warehouse: str(l.Warehouse), Quantity: l.Quantity, UnitPrice: l.UnitPrice})
	}
	if p := in.Payment; p != nil {
		req.Payment = hubsync.PaymentMethod{Gateway: strings.ToLower(string(p.Gateway)), Capture: p.Capture == nil || *p.Capture}
		if cs := p.Cybersource; cs != nil {
			req.Payment.TransientToken, req.Payment.PaymentInstrumentID, req.Payment.TMSCustomerID =
				str(cs.TransientToken), str(cs.PaymentInstrumentID), str(cs.CustomerID)
		}
		if op := p.Opayo; op != nil {
			req.Payment.MerchantSessionKey, req.Payment.CardIdentifier = str(op.MerchantSessionKey), op.CardIdentifier
			req.Payment.Reusable = op.Reusable != nil && *op.Reusable
		}
	}
	return req
}

// currentPlacement reloads a placeOrder payload's order and payment, so that a repeat answers
// them as they now stand.
func (r *Resolver) currentPlacement(ctx context.Context, out *model.PlaceOrderPayload) (*model.PlaceOrderPayload, error) {
	order, err := r.Queries.GetSalesOrder(ctx, out.Order.RowID)
	if err != nil {
		return nil, err
	}
	fresh := &model.PlaceOrderPayload{Order: model.OrderFromRow(order), UserErrors: out.UserErrors}
	if out.Payment != nil {
		pay, err := r.Queries.GetPayment(ctx, out.Payment.RowID)
		if err != nil {
			return nil, err
		}
		fresh.Payment = model.PaymentFromRow(pay)
	}
	return fresh, nil
}
