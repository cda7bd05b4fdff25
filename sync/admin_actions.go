package sync

// The back office's actions that are not about money: reposting one dead posting with a clear
// refusal, resolving an anomaly, and editing a mapping rule. Like the finance actions they are
// what the GraphQL mutations call; a refusal is a *UserError.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/db"
)

// TopicConfig is the event topic of configuration edits (mapping rules).
const TopicConfig = "config"

// More user error codes (see RefundPayment's).
const (
	ErrCodeNotDead         = "NOT_DEAD"
	ErrCodeAlreadyResolved = "ALREADY_RESOLVED"
	ErrCodeNoteRequired    = "NOTE_REQUIRED"
	ErrCodeInvalidRule     = "INVALID_RULE"
)

// RepostPosting is Repost with its refusals told apart: a posting that does not exist is
// ErrCodeNotFound, one that is not dead (any more) ErrCodeNotDead.
func (e *Engine) RepostPosting(ctx context.Context, postingID int64, actor string) (db.ErpPosting, error) {
	row, err := e.Repost(ctx, postingID, actor)
	if err == nil {
		return row, nil
	}
	p, gerr := e.queries.GetErpPosting(ctx, postingID)
	switch {
	case errors.Is(gerr, pgx.ErrNoRows):
		return row, userErr(ErrCodeNotFound, "posting %d does not exist", postingID)
	case gerr == nil && p.Status != "dead":
		return p, userErr(ErrCodeNotDead, "posting %d (%s %s) is %s, not in the dead-letter queue", p.ID, p.BusinessObject, p.IdempotencyKey, p.Status)
	}
	return row, err
}

// ResolveAnomaly closes an open or acknowledged anomaly with a note saying what was done, and
// emits anomaly.resolved. The detector re-opens it if the condition comes back.
func (e *Engine) ResolveAnomaly(ctx context.Context, anomalyID int64, note, actor string) (db.Anomaly, error) {
	note = strings.TrimSpace(note)
	if note == "" {
		return db.Anomaly{}, userErr(ErrCodeNoteRequired, "say how anomaly %d was resolved: the note is required", anomalyID)
	}
	var out db.Anomaly
	err := e.inTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		a, err := q.GetAnomalyForUpdate(ctx, anomalyID)
		if errors.Is(err, pgx.ErrNoRows) {
			return userErr(ErrCodeNotFound, "anomaly %d does not exist", anomalyID)
		}
		if err != nil {
			return err
		}
		if a.Status == "resolved" {
			by, at := deref(a.ResolvedBy), ""
			if a.ResolvedAt != nil {
				at = " at " + a.ResolvedAt.UTC().Format(time.RFC3339)
			}
			return userErr(ErrCodeAlreadyResolved, "anomaly %d was already resolved by %s%s", anomalyID, by, at)
		}
		if out, err = q.ResolveAnomaly(ctx, db.ResolveAnomalyParams{ID: a.ID, ResolvedBy: &actor, ResolutionNote: &note}); err != nil {
			return err
		}
		return appendEvent(ctx, q, TopicAnomaly, "anomaly.resolved", "anomaly", out.ID, map[string]any{
			"anomalyId": out.ID, "kind": out.Kind, "severity": out.Severity, "summary": out.Summary, "from": a.Status,
			"resolvedBy": actor, "note": note, "subjectType": out.SubjectType, "subjectId": out.SubjectID,
		})
	})
	return out, err
}

// MappingRuleUpdate sets the value of one mapping rule, adding the rule if there is none.
type MappingRuleUpdate struct {
	Kind, Scope, Key string
	Value            []byte
	UpdatedBy        string
}

// UpdateMappingRule validates and stores a rule, and emits mapping_rule.updated. The value is
// checked twice: by ValidateMappingRule, and by reading every rule back the way the normaliser
// does, in the same transaction, so that a rule the engine would refuse is never stored.
func (e *Engine) UpdateMappingRule(ctx context.Context, u MappingRuleUpdate) (db.MappingRule, error) {
	u.Kind, u.Scope, u.Key = strings.TrimSpace(u.Kind), strings.TrimSpace(u.Scope), strings.TrimSpace(u.Key)
	if err := ValidateMappingRule(u.Kind, u.Scope, u.Key, u.Value); err != nil {
		return db.MappingRule{}, userErr(ErrCodeInvalidRule, "%v", err)
	}
	var value bytes.Buffer
	if err := json.Compact(&value, u.Value); err != nil {
		return db.MappingRule{}, userErr(ErrCodeInvalidRule, "the value is not JSON: %v", err)
	}
	var out db.MappingRule
	err := e.inTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		var previous json.RawMessage
		old, err := q.GetMappingRuleForUpdate(ctx, db.GetMappingRuleForUpdateParams{Kind: u.Kind, Scope: u.Scope, Key: u.Key})
		switch {
		case err == nil:
			previous = old.Value
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if out, err = q.UpsertMappingRule(ctx, db.UpsertMappingRuleParams{Kind: u.Kind, Scope: u.Scope, Key: u.Key,
			Value: value.Bytes(), UpdatedBy: u.UpdatedBy}); err != nil {
			return err
		}
		if _, err := loadRules(ctx, q); err != nil {
			return userErr(ErrCodeInvalidRule, "the mapping rules would not load with this change: %s", strings.TrimPrefix(err.Error(), "sync: "))
		}
		return appendEvent(ctx, q, TopicConfig, "mapping_rule.updated", "mapping_rule", out.ID, map[string]any{
			"ruleId": out.ID, "kind": out.Kind, "scope": out.Scope, "key": out.Key, "value": json.RawMessage(out.Value),
			"previous": previous, "updatedBy": u.UpdatedBy,
		})
	})
	return out, err
}

// Canonical statuses a status_map rule may name: order statuses for SYSPRO's codes (scope
// "syspro"), payment statuses for the gateways'.
var (
	paymentStatuses = []string{"pending", "review", "authorized", "captured", "settled", "partially_refunded",
		"refunded", "voided", "declined", "failed", "unknown"}
	orderStatuses = []string{"received", "on_hold", "posting", "open", "in_warehouse", "to_invoice", "complete",
		"cancelled", "failed"}
	ruleKinds        = []string{RuleStatusMap, "gl_account", RuleFXRate, RuleAddress, RuleStockCode}
	gatewayScopes    = []string{GatewayCybersource, GatewayOpayo, "*"}
	transactionKinds = []string{KindAuthorization, KindCapture, KindSale, KindRefund, KindVoid, "*"}
	currencyPair     = regexp.MustCompile(`^[A-Z]{3}/[A-Z]{3}$`)
)

// ValidateMappingRule checks a rule before it is stored: its kind, scope and key, and that its
// value parses the way the engine reads it (see loadRules), naming what is wrong.
func ValidateMappingRule(kind, scope, key string, value []byte) error {
	if !slices.Contains(ruleKinds, kind) {
		return fmt.Errorf("kind %q is not one of %s", kind, strings.Join(ruleKinds, ", "))
	}
	if scope == "" || key == "" {
		return errors.New("a rule needs a scope (a gateway, syspro or *) and a key")
	}
	if !json.Valid(value) {
		return errors.New("the value is not JSON")
	}
	if trimmed := bytes.TrimSpace(value); len(trimmed) == 0 || trimmed[0] != '{' {
		return errors.New("the value must be a JSON object")
	}
	strict := func(v any) error {
		d := json.NewDecoder(bytes.NewReader(value))
		d.DisallowUnknownFields()
		return d.Decode(v)
	}
	switch kind {
	case RuleStatusMap:
		var v struct {
			Status string `json:"status"`
		}
		if err := strict(&v); err != nil || v.Status == "" {
			return fmt.Errorf(`a status_map value is {"status": "<canonical status>"}%s`, because(err))
		}
		allowed, what := paymentStatuses, "payment"
		if scope == "syspro" {
			allowed, what = orderStatuses, "order"
		} else {
			if !slices.Contains(gatewayScopes, scope) {
				return fmt.Errorf("status_map scope %q is not a gateway (cybersource, opayo), syspro or *", scope)
			}
			txKind, status, ok := strings.Cut(key, ":")
			if !ok || status == "" || !slices.Contains(transactionKinds, txKind) {
				return fmt.Errorf(`a gateway status_map key is "<kind>:<gateway status>" with kind one of %s (e.g. "sale:AUTHORIZED"), not %q`,
					strings.Join(transactionKinds, ", "), key)
			}
		}
		if !slices.Contains(allowed, v.Status) {
			return fmt.Errorf("%q is not a canonical %s status (one of %s)", v.Status, what, strings.Join(allowed, ", "))
		}
	case RuleStockCode:
		var v stockRule
		if err := strict(&v); err != nil || strings.TrimSpace(v.StockCode) == "" {
			return fmt.Errorf(`a stock_code value is {"stockCode": "...", "description": "...", "warehouse": "..."} with stockCode required%s`, because(err))
		}
		if !slices.Contains(gatewayScopes, scope) && scope != "syspro" {
			return fmt.Errorf("stock_code scope %q is not a gateway (cybersource, opayo), syspro (the refund credit note's line) or *", scope)
		}
	case RuleFXRate:
		var v struct {
			Rates []struct {
				From string          `json:"from"`
				Rate decimal.Decimal `json:"rate"`
			} `json:"rates"`
		}
		if err := strict(&v); err != nil || len(v.Rates) == 0 {
			return fmt.Errorf(`an fx_rate value is {"rates": [{"from": "YYYY-MM-DD", "rate": "0.85"}, ...]} with at least one rate%s`, because(err))
		}
		if !currencyPair.MatchString(strings.ToUpper(key)) || strings.EqualFold(key[:3], key[4:]) {
			return fmt.Errorf(`an fx_rate key is a pair of two currencies such as "EUR/GBP", not %q`, key)
		}
		for _, x := range v.Rates {
			if _, err := time.Parse(time.DateOnly, x.From); err != nil || !x.Rate.IsPositive() {
				return fmt.Errorf("rate %s from %q: want a positive rate and a YYYY-MM-DD date", x.Rate, x.From)
			}
		}
	}
	return nil
}

func because(err error) string {
	if err == nil {
		return ""
	}
	return " (" + err.Error() + ")"
}
