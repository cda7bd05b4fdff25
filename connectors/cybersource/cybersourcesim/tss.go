package cybersourcesim

import (
	"net/http"
	"slices"
	"time"
)

// handleTransactionDetails is GET /tss/v2/transactions/{id} (protocol doc §5): any transaction of
// any kind, with its SCMP applications, the card (masked), the risk decision and links to the
// transactions it is related to.
func (s *Server) handleTransactionDetails(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	t := s.state.txns[pathID(r, "id")]
	if t == nil || !s.indexed(t, now) {
		writeAPIError(w, notFound(now, "The requested resource does not exist: "+pathID(r, "id")))
		return
	}
	writeHAL(w, http.StatusOK, s.detailsBody(t))
}

// indexed reports whether t is visible to Transaction Search and Details yet (Options.IndexDelay).
func (s *Server) indexed(t *Transaction, now time.Time) bool {
	return now.Sub(t.SubmitTime) >= s.opts.IndexDelay
}

// detailsBody is the Transaction Details view of t. The caller holds s.mu.
func (s *Server) detailsBody(t *Transaction) obj {
	amounts := obj{"totalAmount": money(t.Amount, t.Currency), "currency": t.Currency}
	switch t.Kind {
	case KindAuthorization, KindSale:
		amounts["authorizedAmount"] = money(t.AuthorizedAmount, t.Currency)
		amounts["refundBalance"] = money(t.CapturedAmount.Sub(t.RefundedAmount), t.Currency)
	case KindCapture:
		amounts["refundBalance"] = money(t.Amount.Sub(t.RefundedAmount), t.Currency)
	}
	if t.SettlementStatus == SettlementBatched {
		amounts["settlementAmount"] = money(t.Amount, t.Currency)
	}
	order := obj{"amountDetails": amounts}
	if t.BillTo != nil {
		order["billTo"] = *t.BillTo
	}
	if t.ShipTo != nil {
		order["shipTo"] = *t.ShipTo
	}
	if len(t.LineItems) > 0 {
		order["lineItems"] = lineItemsView(t.LineItems, t.Currency)
	}
	related := []obj{}
	if p := s.state.txns[t.ParentID]; p != nil && p.ID != t.ID {
		related = append(related, link(http.MethodGet, "/tss/v2/transactions/"+p.ID))
	}
	for _, id := range t.FollowOns {
		related = append(related, link(http.MethodGet, "/tss/v2/transactions/"+id))
	}
	b := obj{
		"id":                         t.ID,
		"rootId":                     t.RootID,
		"reconciliationId":           t.ReconciliationID,
		"merchantId":                 t.MerchantID,
		"submitTimeUTC":              utcStamp(t.SubmitTime),
		"submitTimeUtc":              utcStamp(t.SubmitTime),
		"status":                     t.Status,
		"applicationInformation":     applicationInformation(t),
		"clientReferenceInformation": withApplicationName(clientReference(t)),
		"orderInformation":           order,
		"paymentInformation":         paymentInformationView(t),
		"processorInformation":       withProcessorName(processorInformation(t)),
		"_links":                     obj{"self": link(http.MethodGet, "/tss/v2/transactions/"+t.ID), "relatedTransactions": related},
	}
	if t.Risk != nil {
		risk := obj{"profile": obj{"name": t.Risk.Profile, "decision": t.Risk.Decision},
			"score": obj{"result": t.Risk.Score}}
		if rules := riskRules(t.Risk); rules != nil {
			risk["rules"] = rules
		}
		b["riskInformation"] = risk
	}
	if t.Reason != "" {
		b["errorInformation"] = obj{"reason": t.Reason, "message": reasonMessages[t.Reason]}
	}
	if t.TransientTokenJTI != "" {
		b["tokenInformation"] = obj{"jti": t.TransientTokenJTI}
	}
	if t.BatchID != "" {
		b["settlementInformation"] = obj{"batchId": t.BatchID, "batchDate": t.BatchDate}
	}
	return b
}

// applicationInformation is the overall result and the applications of t.
func applicationInformation(t *Transaction) obj {
	rCode, rFlag := "1", "SOK"
	if t.ReasonCode != "100" {
		rCode = "0"
		for _, a := range t.Applications {
			if a.ReasonCode != "100" {
				rFlag = a.RFlag
				if a.RCode == "1" {
					rCode = "1"
				}
				break
			}
		}
		if rFlag == "SOK" {
			rFlag = map[string]string{"200": "DAVSNO", "230": "DCV"}[t.ReasonCode]
		}
	}
	status := t.Status
	if t.SettlementStatus != "" && t.Kind == KindSale {
		status = t.SettlementStatus
	}
	apps := slices.Clone(t.Applications)
	if apps == nil {
		apps = []Application{}
	}
	return obj{"status": status, "reasonCode": t.ReasonCode, "rCode": rCode, "rFlag": rFlag, "applications": apps}
}

// paymentInformationView is the card (masked) and tokens of t.
func paymentInformationView(t *Transaction) obj {
	pi := obj{}
	if t.Card != nil {
		pi["card"] = obj{"prefix": t.Card.Prefix, "suffix": t.Card.Suffix, "type": t.Card.Type, "brandName": t.Card.Brand,
			"expirationMonth": t.Card.ExpirationMonth, "expirationYear": t.Card.ExpirationYear}
		pi["paymentType"] = obj{"name": "CARD", "type": "credit card", "method": t.Card.Brand}
	}
	if t.CustomerID != "" {
		pi["customer"] = obj{"id": t.CustomerID}
	}
	if t.PaymentInstrumentID != "" {
		pi["paymentInstrument"] = obj{"id": t.PaymentInstrumentID}
	}
	if t.InstrumentIdentifierID != "" {
		pi["instrumentIdentifier"] = obj{"id": t.InstrumentIdentifierID}
	}
	return pi
}

func withApplicationName(o obj) obj {
	o["applicationName"] = "REST API"
	return o
}

func withProcessorName(o obj) obj {
	o["processor"] = obj{"name": "sandbox"}
	return o
}
