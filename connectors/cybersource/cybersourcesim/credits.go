package cybersourcesim

import (
	"net/http"
	"strings"
)

// handleCredit is POST /pts/v2/credits: a stand-alone credit to a card, not tied to a payment. It
// is validated like a payment, answers PENDING and settles as ics_credit.
func (s *Server) handleCredit(w http.ResponseWriter, r *http.Request, body []byte) {
	var req paymentRequest
	if e := decodeJSON(s.clock.Now(), body, &req); e != nil {
		writeAPIError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	src, billTo, amount, currency, e := s.readCharge(now, &req)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	shipTo, lineItems, e := readOrderData(now, req.OrderInformation, currency)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	summary := summarize(src.pan, src.brand, src.month, src.year)
	t := &Transaction{
		ID:                  s.newTransactionID(now),
		Kind:                KindCredit,
		Status:              StatusPending,
		ReasonCode:          "100",
		SettlementStatus:    SettlementPending,
		MerchantID:          s.opts.MerchantID,
		ClientReferenceCode: strings.TrimSpace(req.ClientReferenceInformation.Code),
		ClientTransactionID: strings.TrimSpace(req.ClientReferenceInformation.TransactionID),
		SubmitTime:          now,
		Currency:            currency,
		Amount:              amount,
		ReconciliationID:    s.newReconciliationID(),
		Card:                &summary,
		BillTo:              billTo,
		ShipTo:              shipTo,
		LineItems:           lineItems,
		ResponseCode:        "00",
		CustomerID:          src.customerID,
		PaymentInstrumentID: src.paymentInstrumentID,

		InstrumentIdentifierID: src.instrumentIdentifierID,
	}
	t.RootID = t.ID
	if !luhnValid(src.pan) {
		t.Status, t.SettlementStatus, t.Reason, t.ReasonCode, t.ResponseCode = StatusDeclined, "", "INVALID_ACCOUNT", "231", "14"
		t.Applications = []Application{{Name: "ics_credit", ReasonCode: "231", RCode: "0", RFlag: "DINVALIDCARD",
			RMessage: rMessages["231"], ReconciliationID: t.ReconciliationID, ReturnCode: 1020000}}
	} else {
		t.ApprovalCode = s.newApprovalCode()
		t.Applications = []Application{okApplication("ics_credit", SettlementPending, t.ReconciliationID)}
	}
	s.state.add(t)
	if t.Status == StatusPending {
		s.notify(EventCreditAccepted, t)
	}
	writeHAL(w, http.StatusCreated, creditBody(t))
}
