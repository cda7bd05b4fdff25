package cybersourcesim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
)

// SettlementQuirks make the next settlement run misreport some transactions in the Payment Batch
// Detail Report, so that tests can produce real settlement discrepancies end to end. Omit leaves
// the listed transactions out of the report; Amounts reports each listed transaction with the
// given (positive) amount instead of its own, negated for a refund or credit as usual. Either way
// the transaction is settled (BATCHED) and counts at its true amount in the batch summaries and
// net fundings (fees included), so the report no longer adds up to them. That is the point.
type SettlementQuirks struct {
	Omit    []string                   `json:"omit,omitempty"`
	Amounts map[string]decimal.Decimal `json:"amounts,omitempty"`
}

func (q SettlementQuirks) empty() bool { return len(q.Omit) == 0 && len(q.Amounts) == 0 }

func (q SettlementQuirks) clone() SettlementQuirks {
	return SettlementQuirks{Omit: slices.Clone(q.Omit), Amounts: maps.Clone(q.Amounts)}
}

// SetSettlementQuirks replaces the quirks the next settlement run applies, like POST
// /_sim/settlement-quirks; the zero value clears them. Every transaction named must be a capture,
// sale, refund or credit still pending settlement, and an amount must be positive with no more
// decimals than the currency allows; a transaction may not be both omitted and re-amounted. Due
// cut-offs run first, so the quirks apply to the first cut-off still to come. The run that
// batches the transactions consumes the quirks, whether or not each transaction was still there
// to batch (one voided meanwhile is simply not reported, as before).
func (s *Server) SetSettlementQuirks(q SettlementQuirks) error {
	s.catchUp()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	check := func(id string) error {
		t := st.txns[id]
		switch {
		case t == nil:
			return fmt.Errorf("unknown transaction %q", id)
		case t.SettlementStatus != SettlementPending:
			what := "is not a capture, sale, refund or credit"
			if t.SettlementStatus != "" {
				what = "is " + t.SettlementStatus + ", not pending settlement"
			}
			return fmt.Errorf("transaction %s (%s) %s", id, t.Kind, what)
		}
		return nil
	}
	omit := map[string]bool{}
	for _, id := range q.Omit {
		id = strings.TrimSpace(id)
		if err := check(id); err != nil {
			return fmt.Errorf("omit: %w", err)
		}
		omit[id] = true
	}
	amounts := map[string]decimal.Decimal{}
	for _, id := range slices.Sorted(maps.Keys(q.Amounts)) {
		a := q.Amounts[id]
		id = strings.TrimSpace(id)
		if err := check(id); err != nil {
			return fmt.Errorf("amounts: %w", err)
		}
		if omit[id] {
			return fmt.Errorf("transaction %s is both omitted and given an amount", id)
		}
		exp := int32(currencyExponent(st.txns[id].Currency))
		if !a.IsPositive() || !a.Equal(a.Round(exp)) {
			return fmt.Errorf("amounts: %s for %s must be positive with at most %d decimals", a, id, exp)
		}
		amounts[id] = a
	}
	next := SettlementQuirks{}
	if len(omit) > 0 {
		next.Omit = slices.Sorted(maps.Keys(omit))
	}
	if len(amounts) > 0 {
		next.Amounts = amounts
	}
	st.quirks = next
	return nil
}

// applyQuirks marks e as the pending quirks say. The caller holds s.mu.
func (st *gatewayState) applyQuirks(e *BatchEntry) {
	if slices.Contains(st.quirks.Omit, e.TransactionID) {
		e.OmittedFromReport = true
	}
	if a, ok := st.quirks.Amounts[e.TransactionID]; ok {
		if e.Amount.IsNegative() {
			a = a.Neg()
		}
		e.ReportedAmount = &a
	}
}

// handleSimGetSettlementQuirks is GET /_sim/settlement-quirks: the quirks still to be applied.
func (s *Server) handleSimGetSettlementQuirks(w http.ResponseWriter, _ *http.Request) {
	s.catchUp()
	s.mu.Lock()
	q := s.state.quirks.clone()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, q)
}

// handleSimSettlementQuirks is POST /_sim/settlement-quirks {"omit":["<id>"],"amounts":{"<id>":
// "9.99"}}: see SetSettlementQuirks; {} or an empty body clears them. It answers the quirks now
// pending, or 400 {"error"}.
func (s *Server) handleSimSettlementQuirks(w http.ResponseWriter, r *http.Request) {
	var q SettlementQuirks
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil && !errors.Is(err, io.EOF) {
		writeJSON(w, http.StatusBadRequest, obj{"error": "bad settlement quirks JSON: " + err.Error()})
		return
	}
	if err := s.SetSettlementQuirks(q); err != nil {
		writeJSON(w, http.StatusBadRequest, obj{"error": err.Error()})
		return
	}
	s.handleSimGetSettlementQuirks(w, r)
}
