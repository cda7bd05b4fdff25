package sync

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/payhub/payhub/db"
)

// Event topics, as the events table allows them.
const (
	TopicPayment    = "payment"
	TopicOrder      = "order"
	TopicFraud      = "fraud"
	TopicAnomaly    = "anomaly"
	TopicErp        = "erp"
	TopicSettlement = "settlement"
	TopicCustomer   = "customer"
)

// appendEvent adds one event to the ordered log in the caller's transaction.
func appendEvent(ctx context.Context, q *db.Queries, topic, kind, subjectType string, subjectID int64, payload any) error {
	raw, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("sync: event %s payload: %w", kind, err)
	}
	if _, err := q.AppendEvent(ctx, db.AppendEventParams{
		Topic: topic, Kind: kind, SubjectType: subjectType, SubjectID: subjectID, Payload: raw,
	}); err != nil {
		return fmt.Errorf("sync: append event %s: %w", kind, err)
	}
	return nil
}

// raiseAnomaly records (or re-opens) the anomaly identified by dedupeKey. The anomaly.raised
// event is emitted only when it opens: a condition seen again on every retry or check (an
// unmapped status, an order SYSPRO lost) refreshes the open anomaly without repeating the news.
func raiseAnomaly(ctx context.Context, q *db.Queries, a anomaly) error {
	details, err := json.Marshal(a.details)
	if err != nil {
		return fmt.Errorf("sync: anomaly details: %w", err)
	}
	row, err := q.RaiseAnomaly(ctx, db.RaiseAnomalyParams{
		Kind: a.kind, Severity: a.severity, SubjectType: &a.subjectType, SubjectID: &a.subjectID,
		DedupeKey: a.dedupeKey, Summary: a.summary, Details: details, Score: a.score, Explanation: nonEmpty(a.explanation),
	})
	if err != nil {
		return fmt.Errorf("sync: raise anomaly %s: %w", a.kind, err)
	}
	if !row.Opened {
		return nil
	}
	return appendEvent(ctx, q, TopicAnomaly, "anomaly.raised", "anomaly", row.ID, map[string]any{
		"anomalyId": row.ID, "kind": a.kind, "severity": a.severity, "summary": a.summary,
		"subjectType": a.subjectType, "subjectId": a.subjectID, "score": a.score,
	})
}

// anomaly is a condition the hub detected that an operator should look at. score (how unusual,
// from the detector) and explanation (the longer plain-language account) are optional.
type anomaly struct {
	kind, severity, subjectType, dedupeKey, summary string
	subjectID                                       int64
	details                                         any
	score                                           *float64
	explanation                                     string
}
