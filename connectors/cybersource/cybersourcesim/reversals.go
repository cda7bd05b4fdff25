package cybersourcesim

import (
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// handleReversal is POST /pts/v2/payments/{id}/reversals: release an authorization that has not
// been captured. A captured one answers TRANSACTION_ALREADY_SETTLED, a reversed one
// AUTH_ALREADY_REVERSED.
func (s *Server) handleReversal(w http.ResponseWriter, r *http.Request, body []byte) {
	var req reversalRequest
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
	rv, e := s.reverse(now, p, &req)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	writeHAL(w, http.StatusCreated, reversalBody(rv, p))
}

// handleTimeoutReversal is POST /pts/v2/reversals: reverse the authorization that was sent with
// clientReferenceInformation.transactionId, for a client that never got the answer.
func (s *Server) handleTimeoutReversal(w http.ResponseWriter, r *http.Request, body []byte) {
	var req reversalRequest
	if e := decodeJSON(s.clock.Now(), body, &req); e != nil {
		writeAPIError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	mti := strings.TrimSpace(req.ClientReferenceInformation.TransactionID)
	if mti == "" {
		writeAPIError(w, missingFields(now, "clientReferenceInformation.transactionId"))
		return
	}
	p := s.state.txns[s.state.byMTI[mti]]
	if p == nil || (p.Kind != KindAuthorization && p.Kind != KindSale) {
		writeAPIError(w, notFound(now, "No authorization was sent with clientReferenceInformation.transactionId "+mti))
		return
	}
	req.ClientReferenceInformation.TransactionID = ""
	rv, e := s.reverse(now, p, &req)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	writeHAL(w, http.StatusCreated, reversalBody(rv, p))
}

// reverse releases all or part of authorization p.
func (s *Server) reverse(now time.Time, p *Transaction, req *reversalRequest) (*Transaction, *apiError) {
	ad := req.ReversalInformation.AmountDetails
	if !ad.TotalAmount.present() {
		return nil, missingFields(now, "reversalInformation.amountDetails.totalAmount")
	}
	currency := strings.ToUpper(strings.TrimSpace(ad.Currency))
	if currency == "" {
		currency = p.Currency
	}
	if currency != p.Currency {
		return nil, invalidField(now, "reversalInformation.amountDetails.currency", "does not match the authorization's currency "+p.Currency)
	}
	amount, e := parseAmount(now, "reversalInformation.amountDetails.totalAmount", ad.TotalAmount.raw, currency)
	if e != nil {
		return nil, e
	}
	if e := checkReversal(now, p, amount); e != nil {
		return nil, e
	}
	return s.applyReversal(now, p, req.ClientReferenceInformation, amount), nil
}

// checkReversal applies the reversal rules to authorization p.
func checkReversal(now time.Time, p *Transaction, amount decimal.Decimal) *apiError {
	switch {
	case !p.AuthorizedAmount.IsPositive():
		return invalidRequest(now, reasonMissingAuth, "Declined - The authorization was declined, so there is nothing to reverse.")
	case p.Reversed:
		return invalidRequest(now, reasonAuthAlreadyReversed, messageAuthAlreadyReversed)
	case p.CapturedAmount.IsPositive():
		return invalidRequest(now, reasonTransactionSettled, messageTransactionSettled)
	}
	if amount.GreaterThan(p.AuthorizedAmount.Sub(p.ReversedAmount)) {
		return invalidRequest(now, reasonInvalidAmount, "Declined - The reversal amount exceeds the authorized amount not yet reversed.",
			fieldDetail{Field: "reversalInformation.amountDetails.totalAmount", Reason: reasonInvalidAmount})
	}
	return nil
}

// applyReversal records a reversal that checkReversal allowed.
func (s *Server) applyReversal(now time.Time, p *Transaction, ref clientReferenceIn, amount decimal.Decimal) *Transaction {
	rv := s.newFollowOn(now, KindReversal, p, p, ref, amount)
	rv.Status = StatusReversed
	rv.ResponseCode = "00"
	rv.Applications = []Application{okApplication("ics_auth_reversal", "", rv.ReconciliationID)}
	p.ReversedAmount = p.ReversedAmount.Add(amount)
	if p.ReversedAmount.Equal(p.AuthorizedAmount) {
		p.Reversed = true
		p.Status = StatusReversed
	}
	s.state.add(rv)
	s.notify(EventReversalAccepted, rv)
	return rv
}
