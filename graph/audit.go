package graph

// The audit log: every mutation leaves a row of who (the key's name and id) asked for what (the
// mutation, its subject), with which input (its arguments) and how it ended.
//
// The handler writes it for every Mutation field by itself (the @hasRole directive, which every
// Mutation field must carry, runs the field through directives.audited), refusals of an
// authenticated key included, so a new mutation cannot forget it; a resolver only names the
// subject it acted on with AuditSubject. A payload with userErrors is recorded as failed, with
// the errors' codes and messages; a payload answered from its idempotency key (see
// idempotency.go) as ok with details.idempotentReplay. Audit writes one entry directly, for
// anything else worth recording.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/99designs/gqlgen/graphql"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/auth"
	hubsync "github.com/payhub/payhub/sync"
)

// Outcomes of an audited action (audit_log.outcome).
const (
	// AuditOK: the action was done.
	AuditOK = "ok"
	// AuditRefused: the key may not do it.
	AuditRefused = "refused"
	// AuditFailed: it was tried and failed; the entry's details.error says why.
	AuditFailed = "failed"
)

// actorAnonymous is the actor of an entry written without a principal (not by an API request).
const actorAnonymous = "anonymous"

// AuditEntry is one audit_log row. The actor is the principal in the context.
type AuditEntry struct {
	// Action is what was asked, e.g. the mutation's name ("refundPayment").
	Action string
	// SubjectType and SubjectID name what it acted on ("payment", its row id), when known.
	SubjectType string
	SubjectID   *int64
	// Input is what the caller sent, stored as JSON (nil: none).
	Input any
	// Outcome is AuditOK, AuditRefused or AuditFailed.
	Outcome string
	// Error says why it was refused or failed.
	Error string
	// Details are more facts for details, beside the error (e.g. that a mutation was answered
	// from its idempotency key).
	Details map[string]any
}

// Audit writes an entry through q (a transaction's queries, to record it with the change).
func Audit(ctx context.Context, q *db.Queries, e AuditEntry) error {
	if e.Action == "" || e.Outcome == "" {
		return errors.New("audit: an entry needs an action and an outcome")
	}
	params := db.InsertAuditLogParams{Actor: actorAnonymous, Action: e.Action, Outcome: e.Outcome, Details: []byte("{}")}
	if p := auth.PrincipalFrom(ctx); p != nil {
		params.Actor, params.ApiKeyID = p.Name, &p.KeyID
	}
	if e.SubjectType != "" {
		params.SubjectType = &e.SubjectType
	}
	params.SubjectID = e.SubjectID
	if e.Input != nil {
		input, err := json.Marshal(e.Input)
		if err != nil {
			return fmt.Errorf("audit %s: input: %w", e.Action, err)
		}
		if params.Input, err = redactAuditInput(input); err != nil {
			return fmt.Errorf("audit %s: input: %w", e.Action, err)
		}
	}
	if e.Error != "" || len(e.Details) > 0 {
		m := make(map[string]any, len(e.Details)+1)
		for k, v := range e.Details {
			m[k] = v
		}
		if e.Error != "" {
			m["error"] = e.Error
		}
		details, err := json.Marshal(m)
		if err != nil {
			return err
		}
		params.Details = details
	}
	if _, err := q.InsertAuditLog(ctx, params); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// auditSecretFields are input fields whose values the audit log never keeps: short-lived payment
// credentials (a Cybersource transient token, an Opayo merchant session key).
var auditSecretFields = map[string]bool{"transientToken": true, "merchantSessionKey": true}

// redactAuditInput removes from a mutation's input what must not be stored: the values of
// auditSecretFields, and any text holding a card number (placeOrder refuses those, and the
// refusal is audited too).
func redactAuditInput(raw []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if s, ok := val.(string); ok && auditSecretFields[k] && s != "" {
					x[k] = "[redacted]"
					continue
				}
				x[k] = walk(val)
			}
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case string:
			if hubsync.ContainsCardNumber(x) {
				return "[card number removed]"
			}
		}
		return v
	}
	return json.Marshal(walk(v))
}

// auditSubject is where a mutation's resolver leaves, for audited, the subject and what the
// payload said that the error does not: its user errors, and whether it was a replay.
type auditSubject struct {
	typ      string
	id       *int64
	failure  string
	replayed bool
}

type auditSubjectKey struct{}

// AuditSubject names the subject of the mutation being resolved (e.g. "payment" and its row id)
// in its audit entry. Outside a mutation it does nothing.
func AuditSubject(ctx context.Context, subjectType string, id int64) {
	if s, ok := ctx.Value(auditSubjectKey{}).(*auditSubject); ok {
		s.typ, s.id = subjectType, &id
	}
}

// auditFailure records in the mutation's audit entry that it was refused with user errors (the
// payload's userErrors): the outcome is AuditFailed, with the errors in details.
func auditFailure(ctx context.Context, failure string) {
	if s, ok := ctx.Value(auditSubjectKey{}).(*auditSubject); ok {
		s.failure = failure
	}
}

// auditReplayed records that the mutation was answered from its idempotency key, without acting.
func auditReplayed(ctx context.Context) {
	if s, ok := ctx.Value(auditSubjectKey{}).(*auditSubject); ok {
		s.replayed = true
	}
}

// audited runs a Mutation field (its role check and resolver) and records it: its name, arguments
// and outcome. A mutation refused for want of any key is not recorded (it is logged): anyone can
// send those, and they must not be able to fill the table.
func (d *directives) audited(ctx context.Context, fc *graphql.FieldContext, run graphql.Resolver) (any, error) {
	subject := &auditSubject{}
	res, err := run(context.WithValue(ctx, auditSubjectKey{}, subject))
	entry := AuditEntry{Action: fc.Field.Name, SubjectType: subject.typ, SubjectID: subject.id, Outcome: AuditOK}
	if len(fc.Args) > 0 {
		entry.Input = fc.Args
	}
	if subject.replayed {
		entry.Details = map[string]any{"idempotentReplay": true}
	}
	var refusal *accessError
	switch {
	case errors.As(err, &refusal) && refusal.code == CodeUnauthenticated:
		d.logger.InfoContext(ctx, "graphql: refused an unauthenticated mutation", "mutation", fc.Field.Name)
		return res, err
	case errors.As(err, &refusal):
		entry.Outcome, entry.Error = AuditRefused, refusal.msg
	case err != nil:
		entry.Outcome, entry.Error = AuditFailed, err.Error()
	case subject.failure != "":
		entry.Outcome, entry.Error = AuditFailed, subject.failure
	}
	// Recorded even when the client has gone: the mutation may have been done.
	if werr := Audit(context.WithoutCancel(ctx), d.queries, entry); werr != nil {
		d.logger.ErrorContext(ctx, "graphql: writing the audit log failed", "mutation", fc.Field.Name, "err", werr)
	}
	return res, err
}
