package graph

import (
	"time"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/model"
)

// The filters of the back office's lists (backoffice.graphqls) as query parameters; nil fields
// are no filter. They live here, not in backoffice.resolvers.go, which gqlgen rewrites.

// deadLetterLimitDefault is DeadLetterFilter.limit's default, as repostDeadLetters applies it.
const deadLetterLimitDefault = 100

// subjectParams reads a filter's subjectId: the global ID of a record the API has, as the
// (subject_type, subject_id) pair the tables store; both nil when id is nil.
func subjectParams(field string, id *string) (*string, *int64, error) {
	if id == nil {
		return nil, nil, nil
	}
	typeName, rowID, err := model.DecodeGlobalID(*id)
	subjectType := model.StoredSubjectType(typeName)
	if err != nil || subjectType == "" {
		return nil, nil, badInput("filter.%s: invalid ID %q: expected the ID of an Order, Payment, Customer, Refund, ErpPosting, FraudReview, Anomaly, MappingRule, SettlementBatch, SettlementDiscrepancy or GlJournal", field, *id)
	}
	return &subjectType, &rowID, nil
}

// enumParam is an optional enum filter in its stored spelling.
func enumParam[E ~string](e *E) *string {
	if e == nil {
		return nil
	}
	s := dbEnum(*e)
	return &s
}

func refundCountParams(f *model.RefundFilter) (db.CountRefundsParams, error) {
	var p db.CountRefundsParams
	if f == nil {
		return p, nil
	}
	p.Statuses = dbEnums(f.Status)
	p.Gateway = enumParam(f.Gateway)
	p.CreatedFrom, p.CreatedTo = f.CreatedAfter, f.CreatedBefore
	if f.PaymentID != nil {
		id, err := decodeIDOf(model.TypePayment, *f.PaymentID)
		if err != nil {
			return p, badInput("filter.paymentId: %v", err)
		}
		p.PaymentID = &id
	}
	return p, nil
}

func erpPostingCountParams(f *model.ErpPostingFilter) (db.CountErpPostingsParams, error) {
	var p db.CountErpPostingsParams
	if f == nil {
		return p, nil
	}
	p.Statuses = dbEnums(f.Status)
	p.Kinds = dbEnums(f.Kind)
	p.ErrorClass = enumParam(f.ErrorClass)
	p.CreatedFrom, p.CreatedTo = f.CreatedAfter, f.CreatedBefore
	var err error
	p.SubjectType, p.SubjectID, err = subjectParams("subjectId", f.SubjectID)
	return p, err
}

// deadLetterCountParams reads a DeadLetterFilter as repostDeadLetters does: the same kind,
// errorClass and limit (1..500, default 100; a limit out of range is bad input here, where the
// mutation answers it as a user error).
func deadLetterCountParams(f *model.DeadLetterFilter) (db.CountDeadLettersParams, error) {
	p := db.CountDeadLettersParams{QueueLimit: deadLetterLimitDefault}
	if f == nil {
		return p, nil
	}
	p.Kind = enumParam(f.Kind)
	p.ErrorClass = enumParam(f.ErrorClass)
	if f.Limit != nil {
		if *f.Limit < 1 || *f.Limit > deadLetterLimitMax {
			return p, badInput("filter.limit is 1..%d, not %d", deadLetterLimitMax, *f.Limit)
		}
		p.QueueLimit = int32(*f.Limit)
	}
	return p, nil
}

// deadAtCursor is the time in a deadLetters cursor. A dead posting always has dead_at; one
// without (written by hand) sorts last, and a cursor past every time ends the list there
// rather than starting it over.
func deadAtCursor(deadAt *time.Time) time.Time {
	if deadAt == nil {
		return time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	}
	return *deadAt
}

func fraudReviewCountParams(f *model.FraudReviewFilter) db.CountFraudReviewsParams {
	var p db.CountFraudReviewsParams
	if f == nil {
		return p
	}
	p.Statuses = dbEnums(f.Status)
	p.Gateway = enumParam(f.Gateway)
	return p
}

func anomalyCountParams(f *model.AnomalyFilter) (db.CountAnomaliesParams, error) {
	var p db.CountAnomaliesParams
	if f == nil {
		return p, nil
	}
	p.Statuses = dbEnums(f.Status)
	p.Severities = dbEnums(f.Severity)
	p.Kinds = f.Kind
	var err error
	p.SubjectType, p.SubjectID, err = subjectParams("subjectId", f.SubjectID)
	return p, err
}

func mappingRuleCountParams(f *model.MappingRuleFilter) db.CountMappingRulesParams {
	var p db.CountMappingRulesParams
	if f == nil {
		return p
	}
	p.Kinds = dbEnums(f.Kind)
	p.Scope = f.Scope
	return p
}
