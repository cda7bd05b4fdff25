package model

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/events"
)

// TypeEvent is the Event type's name in global IDs.
const TypeEvent = "Event"

// Event is one entry of the event log, as subscriptions and node(id:) show it.
type Event struct {
	ID          string
	Cursor      string
	Topic       EventTopic
	Kind        string
	SubjectType string
	// SubjectID is the subject's global ID, when the API has its type.
	SubjectID  *string
	Payload    json.RawMessage
	OccurredAt time.Time

	SubjectRowID int64
}

func (Event) IsNode()         {}
func (e Event) GetID() string { return e.ID }

// subjectTypes are the API's types of the log's subject types.
var subjectTypes = map[string]string{
	"payment":      TypePayment,
	"sales_order":  TypeOrder,
	"customer":     TypeCustomer,
	"refund":       TypeRefund,
	"erp_posting":  TypeErpPosting,
	"fraud_review": TypeFraudReview,
	"anomaly":      TypeAnomaly,
	"mapping_rule": TypeMappingRule,

	"settlement_batch":       TypeSettlementBatch,
	"settlement_discrepancy": TypeSettlementDiscrepancy,
	"gl_journal":             TypeGlJournal,
}

// SubjectTypeName is the API's type of a subject type of the log (or of an anomaly, a posting),
// "" when the API has none.
func SubjectTypeName(subjectType string) string { return subjectTypes[subjectType] }

// StoredSubjectType is the subject type the tables store for rows of the API's type typeName,
// "" when there is none: SubjectTypeName the other way.
func StoredSubjectType(typeName string) string {
	for stored, t := range subjectTypes {
		if t == typeName {
			return stored
		}
	}
	return ""
}

// EventFromLog converts an event as the broker delivers it.
func EventFromLog(e *events.Event) *Event {
	out := &Event{
		ID:           EncodeGlobalID(TypeEvent, e.ID),
		Cursor:       e.Cursor,
		Topic:        EventTopic(strings.ToUpper(e.Topic)),
		Kind:         e.Kind,
		SubjectType:  e.SubjectType,
		Payload:      e.Payload,
		OccurredAt:   e.OccurredAt,
		SubjectRowID: e.SubjectID,
	}
	if t := subjectTypes[e.SubjectType]; t != "" {
		id := EncodeGlobalID(t, e.SubjectID)
		out.SubjectID = &id
	}
	return out
}

// EventFromRow converts a row of the events table.
func EventFromRow(r db.Event) *Event { return EventFromLog(events.FromRow(r)) }
