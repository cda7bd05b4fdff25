package cybersourcesim

import (
	"net/http"
	"slices"
	"strconv"
)

// The JSON bodies the simulator answers with, built from a Transaction. The POST that creates a
// transaction and a later GET of its self link answer the same shape, the GET with the current
// status.

// obj is a JSON object under construction.
type obj = map[string]any

// link is one HAL link.
func link(method, href string) obj { return obj{"method": method, "href": href} }

// selfPath is the GET path of a transaction of the given kind.
func selfPath(t *Transaction) string {
	switch t.Kind {
	case KindCapture:
		return "/pts/v2/captures/" + t.ID
	case KindRefund:
		return "/pts/v2/refunds/" + t.ID
	case KindCredit:
		return "/pts/v2/credits/" + t.ID
	case KindVoid:
		return "/pts/v2/voids/" + t.ID
	case KindReversal:
		return "/pts/v2/reversals/" + t.ID
	}
	return "/pts/v2/payments/" + t.ID
}

// reasonMessages are the errorInformation.message texts of non-success answers.
var reasonMessages = map[string]string{
	"PROCESSOR_DECLINED":      "Decline - General decline of the card. No other information provided by the issuing bank.",
	"INSUFFICIENT_FUND":       "Decline - Insufficient funds in the account.",
	"EXPIRED_CARD":            "Decline - Expired card. You might also receive this if the expiration date you provided does not match the date the issuing bank has on file.",
	"INVALID_ACCOUNT":         "Decline - Invalid account number.",
	"CV_FAILED":               "Soft Decline - The authorization request was approved by the issuing bank but declined by CyberSource because it did not pass the card verification number (CVN) check.",
	"AVS_FAILED":              "Soft Decline - The authorization request was approved by the issuing bank but declined by CyberSource because it did not pass the Address Verification System (AVS) check.",
	"DECISION_PROFILE_REVIEW": "Decision Manager marked the order for review.",
	"DECISION_PROFILE_REJECT": "Decision Manager rejected the order.",
}

func clientReference(t *Transaction) obj {
	o := obj{}
	if t.ClientReferenceCode != "" {
		o["code"] = t.ClientReferenceCode
	}
	if t.ClientTransactionID != "" {
		o["transactionId"] = t.ClientTransactionID
	}
	return o
}

// processorInformation is what the processor answered for a payment or credit.
func processorInformation(t *Transaction) obj {
	p := obj{}
	if t.ApprovalCode != "" {
		p["approvalCode"] = t.ApprovalCode
	}
	if t.NetworkTransactionID != "" {
		p["transactionId"] = t.NetworkTransactionID
		p["networkTransactionId"] = t.NetworkTransactionID
	}
	if t.ResponseCode != "" {
		p["responseCode"] = t.ResponseCode
	}
	if t.AVSCode != "" {
		p["avs"] = obj{"code": t.AVSCode, "codeRaw": t.AVSCode}
	}
	if t.CVNCode != "" {
		p["cardVerification"] = obj{"resultCode": t.CVNCode, "resultCodeRaw": t.CVNCode}
	}
	return p
}

func riskInformation(t *Transaction) obj {
	if t.Risk == nil {
		return nil
	}
	ri := obj{
		"profile":   obj{"name": t.Risk.Profile, "selectorRule": "Default Active Profile", "decision": t.Risk.Decision},
		"score":     obj{"result": strconv.Itoa(t.Risk.Score), "factorCodes": []string{"V"}, "modelUsed": "default"},
		"infoCodes": obj{"velocity": []string{"VEL-NAME"}},
	}
	if rules := riskRules(t.Risk); rules != nil {
		ri["rules"] = rules
	}
	return ri
}

// paymentBody is the answer of POST /pts/v2/payments and GET /pts/v2/payments/{id}.
func paymentBody(t *Transaction) obj {
	links := obj{"self": link(http.MethodGet, selfPath(t))}
	switch {
	case t.Kind == KindSale && !t.Voided:
		links["void"] = link(http.MethodPost, "/pts/v2/payments/"+t.ID+"/voids")
		links["refund"] = link(http.MethodPost, "/pts/v2/payments/"+t.ID+"/refunds")
	case t.Kind == KindAuthorization && t.AuthorizedAmount.IsPositive() && !t.Reversed:
		links["authReversal"] = link(http.MethodPost, "/pts/v2/payments/"+t.ID+"/reversals")
		links["capture"] = link(http.MethodPost, "/pts/v2/payments/"+t.ID+"/captures")
	}
	amounts := obj{"currency": t.Currency, "totalAmount": money(t.Amount, t.Currency)}
	if t.AuthorizedAmount.IsPositive() {
		amounts["authorizedAmount"] = money(t.AuthorizedAmount, t.Currency)
	}
	b := obj{
		"_links":                     links,
		"id":                         t.ID,
		"submitTimeUtc":              utcStamp(t.SubmitTime),
		"status":                     t.Status,
		"reconciliationId":           t.ReconciliationID,
		"clientReferenceInformation": clientReference(t),
		"orderInformation":           obj{"amountDetails": amounts},
		"processorInformation":       processorInformation(t),
	}
	if t.Card != nil {
		b["paymentAccountInformation"] = obj{"card": obj{"type": t.Card.Type}}
		b["paymentInformation"] = obj{"card": obj{"type": t.Card.Type}, "tokenizedCard": obj{"type": t.Card.Type}}
	}
	if t.Reason != "" {
		b["errorInformation"] = obj{"reason": t.Reason, "message": reasonMessages[t.Reason]}
	}
	if ri := riskInformation(t); ri != nil {
		b["riskInformation"] = ri
	}
	if t.TokensCreated {
		ti := obj{"instrumentIdentifierNew": t.InstrumentIdentifierNew}
		if t.CustomerID != "" {
			ti["customer"] = obj{"id": t.CustomerID}
		}
		if t.PaymentInstrumentID != "" {
			ti["paymentInstrument"] = obj{"id": t.PaymentInstrumentID}
		}
		if t.InstrumentIdentifierID != "" {
			ti["instrumentIdentifier"] = obj{"id": t.InstrumentIdentifierID, "state": "ACTIVE"}
		}
		b["tokenInformation"] = ti
	}
	return b
}

// captureBody is the answer of a capture.
func captureBody(t *Transaction) obj {
	links := obj{"self": link(http.MethodGet, selfPath(t))}
	if !t.Voided {
		links["refund"] = link(http.MethodPost, "/pts/v2/captures/"+t.ID+"/refunds")
		if t.SettlementStatus == SettlementPending {
			links["void"] = link(http.MethodPost, "/pts/v2/captures/"+t.ID+"/voids")
		}
	}
	return obj{
		"_links":                     links,
		"id":                         t.ID,
		"submitTimeUtc":              utcStamp(t.SubmitTime),
		"status":                     t.Status,
		"reconciliationId":           t.ReconciliationID,
		"clientReferenceInformation": clientReference(t),
		"orderInformation":           obj{"amountDetails": obj{"totalAmount": money(t.Amount, t.Currency), "currency": t.Currency}},
	}
}

// refundBody is the answer of a refund of a payment or a capture.
func refundBody(t *Transaction) obj {
	links := obj{"self": link(http.MethodGet, selfPath(t))}
	if !t.Voided && t.SettlementStatus == SettlementPending {
		links["void"] = link(http.MethodPost, "/pts/v2/refunds/"+t.ID+"/voids")
	}
	return obj{
		"_links":                     links,
		"id":                         t.ID,
		"submitTimeUtc":              utcStamp(t.SubmitTime),
		"status":                     t.Status,
		"reconciliationId":           t.ReconciliationID,
		"clientReferenceInformation": clientReference(t),
		"refundAmountDetails":        obj{"refundAmount": money(t.Amount, t.Currency), "currency": t.Currency},
		"orderInformation":           obj{"amountDetails": obj{"currency": t.Currency}},
		"processorInformation":       obj{"approvalCode": t.ApprovalCode, "responseCode": t.ResponseCode},
	}
}

// creditBody is the answer of a stand-alone credit.
func creditBody(t *Transaction) obj {
	links := obj{"self": link(http.MethodGet, selfPath(t))}
	if !t.Voided && t.SettlementStatus == SettlementPending {
		links["void"] = link(http.MethodPost, "/pts/v2/credits/"+t.ID+"/voids")
	}
	b := obj{
		"_links":                     links,
		"id":                         t.ID,
		"submitTimeUtc":              utcStamp(t.SubmitTime),
		"status":                     t.Status,
		"reconciliationId":           t.ReconciliationID,
		"clientReferenceInformation": clientReference(t),
		"creditAmountDetails":        obj{"creditAmount": money(t.Amount, t.Currency), "currency": t.Currency},
		"orderInformation":           obj{"amountDetails": obj{"currency": t.Currency}},
		"processorInformation":       processorInformation(t),
	}
	if t.Card != nil {
		b["paymentAccountInformation"] = obj{"card": obj{"type": t.Card.Type}}
		b["paymentInformation"] = obj{"card": obj{"type": t.Card.Type}}
	}
	if t.Reason != "" {
		b["errorInformation"] = obj{"reason": t.Reason, "message": reasonMessages[t.Reason]}
	}
	return b
}

// voidBody is the answer of a void; original is what was voided.
func voidBody(t, original *Transaction) obj {
	details := obj{"voidAmount": money(t.Amount, t.Currency), "currency": t.Currency}
	if original != nil {
		details["originalTransactionAmount"] = money(original.Amount, original.Currency)
	}
	return obj{
		"_links":                     obj{"self": link(http.MethodGet, selfPath(t))},
		"id":                         t.ID,
		"submitTimeUtc":              utcStamp(t.SubmitTime),
		"status":                     t.Status,
		"clientReferenceInformation": clientReference(t),
		"voidAmountDetails":          details,
		"orderInformation":           obj{"amountDetails": obj{"currency": t.Currency}},
	}
}

// reversalBody is the answer of an authorization reversal.
func reversalBody(t, original *Transaction) obj {
	details := obj{"reversedAmount": money(t.Amount, t.Currency), "currency": t.Currency}
	if original != nil {
		details["originalTransactionAmount"] = money(original.AuthorizedAmount, original.Currency)
	}
	return obj{
		"_links":                     obj{"self": link(http.MethodGet, selfPath(t))},
		"id":                         t.ID,
		"submitTimeUtc":              utcStamp(t.SubmitTime),
		"status":                     t.Status,
		"reconciliationId":           t.ReconciliationID,
		"clientReferenceInformation": clientReference(t),
		"reversalAmountDetails":      details,
		"orderInformation":           obj{"amountDetails": obj{"currency": t.Currency}},
		"processorInformation":       obj{"responseCode": t.ResponseCode},
	}
}

// transactionBody picks the body shape of t's kind.
func (st *gatewayState) transactionBody(t *Transaction) obj {
	switch t.Kind {
	case KindCapture:
		return captureBody(t)
	case KindRefund:
		return refundBody(t)
	case KindCredit:
		return creditBody(t)
	case KindVoid:
		return voidBody(t, st.txns[t.ParentID])
	case KindReversal:
		return reversalBody(t, st.txns[t.ParentID])
	}
	return paymentBody(t)
}

// handleGetTransaction answers GET on a transaction's self link, for the given kinds only.
func (s *Server) handleGetTransaction(kinds ...Kind) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		s.mu.Lock()
		defer s.mu.Unlock()
		now := s.clock.Now()
		t := s.state.txns[pathID(r, "id")]
		if t == nil || !slices.Contains(kinds, t.Kind) {
			writeAPIError(w, notFound(now, "The requested resource does not exist: "+pathID(r, "id")))
			return
		}
		writeHAL(w, http.StatusOK, s.state.transactionBody(t))
	}
}
