package model

import (
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/payhub/payhub/db"
)

// Type names of the back office's objects in global IDs.
const (
	TypeRefund      = "Refund"
	TypeErpPosting  = "ErpPosting"
	TypeFraudReview = "FraudReview"
	TypeAnomaly     = "Anomaly"
	TypeMappingRule = "MappingRule"
)

// MarshalJSON writes a JSON scalar as the JSON it holds (null when empty).
func MarshalJSON(raw json.RawMessage) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		if len(raw) == 0 {
			raw = json.RawMessage("null")
		}
		w.Write(raw) //nolint:errcheck
	})
}

// UnmarshalJSON reads a JSON scalar: whatever value the client sent, as JSON.
func UnmarshalJSON(v any) (json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, BadInput("JSON value: %v", err)
	}
	return raw, nil
}

// Refund is a refund asked for through the API.
type Refund struct {
	ID               string
	RowID            int64
	Amount           *Money
	Reason           string
	Status           RefundStatus
	RequestedBy      string
	GatewayRefundID  *string
	FailureReason    *string
	SysproCreditNote *string
	CreatedAt        time.Time
	UpdatedAt        time.Time

	PaymentID       int64
	RefundPaymentID *int64
}

// ErpPosting is one posting of the SYSPRO outbox.
type ErpPosting struct {
	ID                string
	RowID             int64
	Kind              ErpPostingKind
	BusinessObject    string
	SubjectType       string
	IdempotencyKey    string
	Status            ErpPostingStatus
	Attempts          int
	LastError         *string
	ErrorClass        *ErpErrorClass
	SysproErrorNumber *string
	SysproReference   *string
	NextAttemptAt     *time.Time
	SucceededAt       *time.Time
	DeadAt            *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time

	SubjectID int64
}

// FraudReview is a payment held for a person's decision.
type FraudReview struct {
	ID              string
	RowID           int64
	Gateway         Gateway
	GatewayDecision RiskDecision
	Score           *int
	Reasons         []string
	Status          FraudReviewStatus
	DecidedBy       *string
	DecidedAt       *time.Time
	Note            *string
	CreatedAt       time.Time
	UpdatedAt       time.Time

	PaymentID int64
}

// Anomaly is a condition the hub detected.
type Anomaly struct {
	ID             string
	RowID          int64
	Kind           string
	Severity       AnomalySeverity
	Status         AnomalyStatus
	Summary        string
	Details        json.RawMessage
	Score          *float64
	Explanation    *string
	SubjectType    *string
	ResolvedBy     *string
	ResolvedAt     *time.Time
	ResolutionNote *string
	DetectedAt     time.Time
	UpdatedAt      time.Time

	SubjectID *int64
}

// MappingRule is one rule of mapping_rules.
type MappingRule struct {
	ID        string
	RowID     int64
	Kind      MappingRuleKind
	Scope     string
	Key       string
	Value     json.RawMessage
	UpdatedBy string
	UpdatedAt time.Time
}

func (Refund) IsNode()              {}
func (r Refund) GetID() string      { return r.ID }
func (ErpPosting) IsNode()          {}
func (p ErpPosting) GetID() string  { return p.ID }
func (FraudReview) IsNode()         {}
func (f FraudReview) GetID() string { return f.ID }
func (Anomaly) IsNode()             {}
func (a Anomaly) GetID() string     { return a.ID }
func (MappingRule) IsNode()         {}
func (m MappingRule) GetID() string { return m.ID }

// RefundFromRow converts a stored refund.
func RefundFromRow(r db.Refund) *Refund {
	return &Refund{
		ID:               EncodeGlobalID(TypeRefund, r.ID),
		RowID:            r.ID,
		Amount:           NewMoney(r.Amount, r.Currency),
		Reason:           r.Reason,
		Status:           RefundStatus(strings.ToUpper(r.Status)),
		RequestedBy:      r.RequestedBy,
		GatewayRefundID:  r.GatewayRefundID,
		FailureReason:    r.FailureReason,
		SysproCreditNote: r.SysproCreditRef,
		CreatedAt:        r.CreatedAt,
		UpdatedAt:        r.UpdatedAt,
		PaymentID:        r.PaymentID,
		RefundPaymentID:  r.RefundPaymentID,
	}
}

// ErpPostingFromRow converts a stored posting.
func ErpPostingFromRow(r db.ErpPosting) *ErpPosting {
	p := &ErpPosting{
		ID:                EncodeGlobalID(TypeErpPosting, r.ID),
		RowID:             r.ID,
		Kind:              ErpPostingKind(strings.ToUpper(r.Kind)),
		BusinessObject:    r.BusinessObject,
		SubjectType:       r.SubjectType,
		IdempotencyKey:    r.IdempotencyKey,
		Status:            ErpPostingStatus(strings.ToUpper(r.Status)),
		Attempts:          int(r.Attempts),
		LastError:         r.LastError,
		SysproErrorNumber: r.SysproErrorNumber,
		SysproReference:   r.SysproReference,
		NextAttemptAt:     r.NextAttemptAt,
		SucceededAt:       r.SucceededAt,
		DeadAt:            r.DeadAt,
		CreatedAt:         r.CreatedAt,
		UpdatedAt:         r.UpdatedAt,
		SubjectID:         r.SubjectID,
	}
	if r.ErrorClass != nil {
		c := ErpErrorClass(strings.ToUpper(*r.ErrorClass))
		p.ErrorClass = &c
	}
	return p
}

// FraudReviewFromRow converts a stored fraud review.
func FraudReviewFromRow(r db.FraudReview) *FraudReview {
	f := &FraudReview{
		ID:              EncodeGlobalID(TypeFraudReview, r.ID),
		RowID:           r.ID,
		Gateway:         Gateway(strings.ToUpper(r.Gateway)),
		GatewayDecision: RiskDecision(strings.ToUpper(r.GatewayDecision)),
		Reasons:         []string{},
		Status:          FraudReviewStatus(strings.ToUpper(r.Status)),
		DecidedBy:       r.DecidedBy,
		DecidedAt:       r.DecidedAt,
		Note:            r.Note,
		CreatedAt:       r.CreatedAt,
		UpdatedAt:       r.UpdatedAt,
		PaymentID:       r.PaymentID,
	}
	if r.Score != nil {
		s := int(*r.Score)
		f.Score = &s
	}
	if len(r.Reasons) > 0 {
		json.Unmarshal(r.Reasons, &f.Reasons) //nolint:errcheck // a malformed list shows as empty
	}
	return f
}

// AnomalyFromRow converts a stored anomaly.
func AnomalyFromRow(r db.Anomaly) *Anomaly {
	return &Anomaly{
		ID:             EncodeGlobalID(TypeAnomaly, r.ID),
		RowID:          r.ID,
		Kind:           r.Kind,
		Severity:       AnomalySeverity(strings.ToUpper(r.Severity)),
		Status:         AnomalyStatus(strings.ToUpper(r.Status)),
		Summary:        r.Summary,
		Details:        json.RawMessage(r.Details),
		Score:          r.Score,
		Explanation:    r.Explanation,
		SubjectType:    r.SubjectType,
		ResolvedBy:     r.ResolvedBy,
		ResolvedAt:     r.ResolvedAt,
		ResolutionNote: r.ResolutionNote,
		DetectedAt:     r.DetectedAt,
		UpdatedAt:      r.UpdatedAt,
		SubjectID:      r.SubjectID,
	}
}

// MappingRuleFromRow converts a stored mapping rule.
func MappingRuleFromRow(r db.MappingRule) *MappingRule {
	return &MappingRule{
		ID:        EncodeGlobalID(TypeMappingRule, r.ID),
		RowID:     r.ID,
		Kind:      MappingRuleKind(strings.ToUpper(r.Kind)),
		Scope:     r.Scope,
		Key:       r.Key,
		Value:     json.RawMessage(r.Value),
		UpdatedBy: r.UpdatedBy,
		UpdatedAt: r.UpdatedAt,
	}
}
