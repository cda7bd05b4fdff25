package cybersourcesim

import (
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// handleCapture is POST /pts/v2/payments/{id}/captures: capture part or all of an authorization.
// The captures of one authorization may not add up to more than it authorized
// (EXCEEDS_AUTH_AMOUNT). A capture answers PENDING until the next settlement cut-off.
func (s *Server) handleCapture(w http.ResponseWriter, r *http.Request, body []byte) {
	var req followOnRequest
	if e := decodeJSON(s.clock.Now(), body, &req); e != nil {
		writeAPIError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	p := s.state.txns[pathID(r, "id")]
	if p == nil || (p.Kind != KindAuthorization && p.Kind != KindSale) {
		writeAPIError(w, notFound(now, "The requested payment does not exist: "+pathID(r, "id")))
		return
	}
	var missing []string
	amount, currency, e := readAmount(now, "orderInformation.amountDetails", req.OrderInformation.AmountDetails, &missing)
	if len(missing) > 0 {
		writeAPIError(w, missingFields(now, missing...))
		return
	}
	if e == nil {
		e = s.checkCapture(now, p, amount, currency)
	}
	if e != nil {
		writeAPIError(w, e)
		return
	}
	c := s.applyCapture(now, p, req.ClientReferenceInformation, amount)
	writeHAL(w, http.StatusCreated, captureBody(c))
}

// applyCapture records a capture that checkCapture allowed.
func (s *Server) applyCapture(now time.Time, p *Transaction, ref clientReferenceIn, amount decimal.Decimal) *Transaction {
	c := s.newFollowOn(now, KindCapture, p, p, ref, amount)
	c.Status = StatusPending
	c.SettlementStatus = SettlementPending
	c.Applications = []Application{okApplication("ics_bill", SettlementPending, c.ReconciliationID)}
	p.CapturedAmount = p.CapturedAmount.Add(amount)
	s.state.add(c)
	s.notify(EventCaptureAccepted, c)
	return c
}

// checkCapture applies the capture rules to authorization p.
func (s *Server) checkCapture(now time.Time, p *Transaction, amount decimal.Decimal, currency string) *apiError {
	switch {
	case currency != p.Currency:
		return invalidField(now, "orderInformation.amountDetails.currency", "does not match the authorization's currency "+p.Currency)
	case !p.AuthorizedAmount.IsPositive():
		return invalidRequest(now, reasonMissingAuth, "Declined - The authorization was declined, so there is nothing to capture.")
	case p.Reversed:
		return invalidRequest(now, reasonAuthAlreadyReversed, messageAuthAlreadyReversed)
	}
	remaining := p.AuthorizedAmount.Sub(p.ReversedAmount).Sub(p.CapturedAmount)
	if amount.GreaterThan(remaining) {
		return invalidRequest(now, reasonExceedsAuthAmount, messageExceedsAuthAmount,
			fieldDetail{Field: "orderInformation.amountDetails.totalAmount", Reason: reasonInvalidData})
	}
	return nil
}

// newFollowOn makes a transaction that acts on parent, in the chain that started with root. Its
// merchant reference code is the one sent, or the parent's.
func (s *Server) newFollowOn(now time.Time, kind Kind, parent, root *Transaction, ref clientReferenceIn, amount decimal.Decimal) *Transaction {
	code := strings.TrimSpace(ref.Code)
	if code == "" {
		code = parent.ClientReferenceCode
	}
	t := &Transaction{
		ID:                  s.newTransactionID(now),
		Kind:                kind,
		ReasonCode:          "100",
		MerchantID:          s.opts.MerchantID,
		ClientReferenceCode: code,
		ClientTransactionID: strings.TrimSpace(ref.TransactionID),
		SubmitTime:          now,
		Currency:            parent.Currency,
		Amount:              amount,
		ParentID:            parent.ID,
		RootID:              root.ID,
		ReconciliationID:    s.newReconciliationID(),
		Card:                parent.Card,
		CustomerID:          parent.CustomerID,
		PaymentInstrumentID: parent.PaymentInstrumentID,

		InstrumentIdentifierID: parent.InstrumentIdentifierID,
	}
	if parent.Card != nil {
		c := *parent.Card
		t.Card = &c
	}
	return t
}
