package opayosim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"

	"github.com/shopspring/decimal"
)

// SettlementQuirks make the next settlement run misreport some transactions in getBatchDetail, so
// that tests can produce real settlement discrepancies end to end. Transactions are named by Pi
// transactionId or Reporting vpstxid (braces and case do not matter). Omit leaves the listed
// transactions out of getBatchDetail (totalrows shrinks too); Amounts shows each listed transaction
// there with the given amount in major units ("9.99") instead of its captured amount. Either way
// the transaction is settled (it carries the batchid, also in getTransactionDetail) and counts at
// its true amount in getBatchList's transactiongroups, so the detail no longer adds up to them.
// That is the point.
type SettlementQuirks struct {
	Omit    []string                   `json:"omit,omitempty"`
	Amounts map[string]decimal.Decimal `json:"amounts,omitempty"`
}

func (q SettlementQuirks) clone() SettlementQuirks {
	return SettlementQuirks{Omit: slices.Clone(q.Omit), Amounts: maps.Clone(q.Amounts)}
}

// SetSettlementQuirks replaces the quirks the next settlement run applies, like POST
// /_sim/settlement-quirks; the zero value clears them. Every transaction named must be captured
// and not yet settled (a Payment, Repeat, Authorise, Refund or released Deferred that a midnight
// run would batch), each amount positive with no more decimals than its currency allows, and no
// transaction both omitted and re-amounted. Due midnights run first, so the quirks apply to the
// next midnight still to come, which consumes them.
func (s *Server) SetSettlementQuirks(q SettlementQuirks) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settleDue(s.clock.Now())
	check := func(raw string) (*transaction, error) {
		t := s.txs[unbraced(raw)]
		if t == nil {
			return nil, fmt.Errorf("unknown transaction %q", raw)
		}
		if _, _, ok := t.captured(); !ok || t.batchID != "" {
			why := "is not captured"
			if t.batchID != "" {
				why = "is already settled in batch " + t.batchID
			}
			return nil, fmt.Errorf("transaction %s (%s, txstateid %d) %s; only a transaction awaiting settlement can be misreported",
				t.id, t.txType, t.txState, why)
		}
		return t, nil
	}
	next := SettlementQuirks{}
	omit := map[string]bool{}
	for _, raw := range q.Omit {
		t, err := check(raw)
		if err != nil {
			return fmt.Errorf("omit: %w", err)
		}
		omit[t.id] = true
	}
	for _, raw := range slices.Sorted(maps.Keys(q.Amounts)) {
		t, err := check(raw)
		if err != nil {
			return fmt.Errorf("amounts: %w", err)
		}
		if omit[t.id] {
			return fmt.Errorf("transaction %s is both omitted and given an amount", t.id)
		}
		a, exp := q.Amounts[raw], exponent(t.currency)
		if !a.IsPositive() || !a.Equal(a.Round(exp)) {
			return fmt.Errorf("amounts: %s for %s must be positive with at most %d decimals (%s)", a, t.id, exp, t.currency)
		}
		if next.Amounts == nil {
			next.Amounts = map[string]decimal.Decimal{}
		}
		next.Amounts[t.id] = a
	}
	if len(omit) > 0 {
		next.Omit = slices.Sorted(maps.Keys(omit))
	}
	s.quirks = next
	return nil
}

// applyQuirks records on b how the pending quirks misreport its transactions. The caller holds
// s.mu.
func (s *Server) applyQuirks(b *batch) {
	for _, t := range b.txs {
		if slices.Contains(s.quirks.Omit, t.id) {
			if b.omitted == nil {
				b.omitted = map[string]bool{}
			}
			b.omitted[t.id] = true
		}
		if a, ok := s.quirks.Amounts[t.id]; ok {
			if b.reported == nil {
				b.reported = map[string]int64{}
			}
			b.reported[t.id] = a.Shift(exponent(t.currency)).IntPart()
		}
	}
}

// handleSettlementQuirks is POST /_sim/settlement-quirks {"omit":["<id>"],"amounts":{"<id>":
// "9.99"}}: see SetSettlementQuirks; {} or an empty body clears them. It answers the quirks now
// pending, or 400 {"error"}.
func (s *Server) handleSettlementQuirks(w http.ResponseWriter, r *http.Request) {
	var q SettlementQuirks
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil && !errors.Is(err, io.EOF) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad settlement quirks JSON: " + err.Error()})
		return
	}
	if err := s.SetSettlementQuirks(q); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s.handleGetSettlementQuirks(w, r)
}

// handleGetSettlementQuirks is GET /_sim/settlement-quirks: the quirks still to be applied.
func (s *Server) handleGetSettlementQuirks(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.settleDue(s.clock.Now())
	q := s.quirks.clone()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, q)
}

// reportedAmount is what getBatchDetail shows for t in b, in minor units, and whether it shows t.
func (b *batch) reportedAmount(t *transaction) (int64, bool) {
	if b.omitted[t.id] {
		return 0, false
	}
	if a, ok := b.reported[t.id]; ok {
		return a, true
	}
	amount, _, _ := t.captured()
	return amount, true
}
