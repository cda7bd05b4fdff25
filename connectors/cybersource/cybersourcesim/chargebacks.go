package cybersourcesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Chargeback is a cardholder dispute the acquirer debited from the merchant's funding, against a
// settled sale or capture. It is recorded on the simulator clock's day (Date) and appears in the
// net fundings of windows containing that day, as CHARGEBACKS.
type Chargeback struct {
	ID string `json:"id"`
	// TransactionID is the sale or capture charged back; RootID the payment it belongs to.
	TransactionID     string `json:"transactionId"`
	RootID            string `json:"rootId"`
	Kind              Kind   `json:"kind"`
	MerchantReference string `json:"merchantReference,omitempty"`
	BatchID           string `json:"batchId"`
	PaymentMethod     string `json:"paymentMethod"`
	CardType          string `json:"cardType"`
	Currency          string `json:"currency"`
	// Amount is positive: what the merchant loses.
	Amount decimal.Decimal `json:"amount"`
	Reason string          `json:"reason,omitempty"`
	// Date is the day (YYYY-MM-DD, UTC) the chargeback was recorded, which decides the net
	// fundings window it falls in.
	Date      string    `json:"date"`
	CreatedAt time.Time `json:"createdAt"`
}

// ChargebackRequest is the body of POST /_sim/chargebacks. Amount is a decimal string; empty
// means all of the settled amount not yet charged back.
type ChargebackRequest struct {
	TransactionID string `json:"transactionId"`
	Amount        string `json:"amount,omitempty"`
	Reason        string `json:"reason,omitempty"`
}

// Chargeback records a chargeback, like POST /_sim/chargebacks. The transaction must be a sale or
// capture already settled in a batch; the chargebacks against it may add up to at most its
// settled amount. The error says why nothing was recorded.
func (s *Server) Chargeback(req ChargebackRequest) (Chargeback, error) {
	s.catchUp()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state
	now := s.clock.Now()
	id := strings.TrimSpace(req.TransactionID)
	t := st.txns[id]
	switch {
	case id == "":
		return Chargeback{}, fmt.Errorf("transactionId is required")
	case t == nil:
		return Chargeback{}, fmt.Errorf("unknown transaction %q", id)
	case t.Kind != KindSale && t.Kind != KindCapture:
		return Chargeback{}, fmt.Errorf("transaction %s (%s) is not a sale or capture; only a settled sale or capture can be charged back", id, t.Kind)
	case t.SettlementStatus != SettlementBatched:
		return Chargeback{}, fmt.Errorf("transaction %s (%s) is not settled (settlement status %s); only a settled sale or capture can be charged back",
			id, t.Kind, t.SettlementStatus)
	}
	entry, batchID := st.batchEntryOf(id)
	if entry == nil {
		return Chargeback{}, fmt.Errorf("transaction %s has no batch entry", id)
	}
	settled := entry.Amount
	left := settled
	for _, cb := range st.chargebacks {
		if cb.TransactionID == id {
			left = left.Sub(cb.Amount)
		}
	}
	amount := left
	if raw := strings.TrimSpace(req.Amount); raw != "" {
		a, e := parseAmount(now, "amount", raw, t.Currency)
		if e != nil {
			return Chargeback{}, fmt.Errorf("amount %q must be a positive decimal with at most %d decimals",
				raw, currencyExponent(t.Currency))
		}
		amount = a
	}
	if !left.IsPositive() {
		return Chargeback{}, fmt.Errorf("transaction %s is already charged back in full (%s %s)", id, money(settled, t.Currency), t.Currency)
	}
	if amount.GreaterThan(left) {
		return Chargeback{}, fmt.Errorf("amount %s %s exceeds what can be charged back on %s: settled %s, already charged back %s",
			money(amount, t.Currency), t.Currency, id, money(settled, t.Currency), money(settled.Sub(left), t.Currency))
	}
	st.chargebackSeq++
	cb := &Chargeback{
		ID: fmt.Sprintf("CB%08d", st.chargebackSeq), TransactionID: id, RootID: t.RootID, Kind: t.Kind,
		MerchantReference: t.ClientReferenceCode, BatchID: batchID, PaymentMethod: entry.PaymentMethod, CardType: entry.CardType,
		Currency: t.Currency, Amount: amount, Reason: strings.TrimSpace(req.Reason),
		Date: startOfDay(now).Format(time.DateOnly), CreatedAt: now,
	}
	st.chargebacks = append(st.chargebacks, cb)
	return *cb, nil
}

// batchEntryOf finds the batch entry of a settled transaction and its batch id.
func (st *gatewayState) batchEntryOf(id string) (*BatchEntry, string) {
	for _, b := range st.batches {
		for i := range b.Entries {
			if b.Entries[i].TransactionID == id {
				return &b.Entries[i], b.ID
			}
		}
	}
	return nil, ""
}

// handleSimChargeback is POST /_sim/chargebacks {"transactionId","amount","reason"}: 201 with the
// chargeback, or 400 {"error"}.
func (s *Server) handleSimChargeback(w http.ResponseWriter, r *http.Request) {
	var req ChargebackRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, obj{"error": "bad chargeback JSON: " + err.Error()})
		return
	}
	cb, err := s.Chargeback(req)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, obj{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusCreated, cb)
}
