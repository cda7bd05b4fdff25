package cybersourcesim

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// handleVoid is POST /pts/v2/{payments,captures,refunds,credits}/{id}/voids for the given kinds.
// A void cancels a sale, capture, refund or credit that has not been batched yet; after the
// settlement cut-off the answer is 400 NOT_VOIDABLE.
func (s *Server) handleVoid(kinds ...Kind) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		var req followOnRequest
		if e := decodeJSON(s.clock.Now(), body, &req); e != nil {
			writeAPIError(w, e)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		now := s.clock.Now()
		target := s.state.txns[pathID(r, "id")]
		if target == nil || !slices.Contains(kinds, target.Kind) {
			writeAPIError(w, notFound(now, "The requested resource does not exist: "+pathID(r, "id")))
			return
		}
		v, e := s.void(now, target, req.ClientReferenceInformation)
		if e != nil {
			writeAPIError(w, e)
			return
		}
		writeHAL(w, http.StatusCreated, voidBody(v, target))
	}
}

// handleTimeoutVoid is POST /pts/v2/voids: void whatever was sent with
// clientReferenceInformation.transactionId, for a client that never got the answer.
func (s *Server) handleTimeoutVoid(w http.ResponseWriter, r *http.Request, body []byte) {
	var req followOnRequest
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
	target := s.state.txns[s.state.byMTI[mti]]
	if target == nil {
		writeAPIError(w, notFound(now, "No transaction was sent with clientReferenceInformation.transactionId "+mti))
		return
	}
	ref := req.ClientReferenceInformation
	ref.TransactionID = ""
	v, e := s.void(now, target, ref)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	writeHAL(w, http.StatusCreated, voidBody(v, target))
}

// void cancels target, or says why it cannot.
func (s *Server) void(now time.Time, target *Transaction, ref clientReferenceIn) (*Transaction, *apiError) {
	switch {
	case target.Kind == KindAuthorization:
		return nil, invalidRequest(now, reasonNotVoidable, "Declined - An authorization is not voidable: send an authorization reversal.")
	case target.Voided:
		return nil, invalidRequest(now, reasonNotVoidable, "Declined - The transaction has already been voided.")
	case target.SettlementStatus == SettlementBatched:
		return nil, invalidRequest(now, reasonNotVoidable, messageNotVoidable)
	case target.SettlementStatus != SettlementPending:
		return nil, invalidRequest(now, reasonNotVoidable, "Declined - The transaction is not voidable.")
	case (target.Kind == KindSale || target.Kind == KindCapture) && s.hasLiveRefunds(target):
		return nil, invalidRequest(now, reasonNotVoidable, "Declined - The capture has refunds: void them first.")
	}
	root := s.state.txns[target.RootID]
	v := s.newFollowOn(now, KindVoid, target, root, ref, target.Amount)
	v.Status = StatusVoided
	v.Applications = []Application{okApplication("ics_void", "", "")}

	target.Voided = true
	target.Status = StatusVoided
	target.SettlementStatus = SettlementVoided
	switch target.Kind {
	case KindSale, KindCapture:
		root.CapturedAmount = root.CapturedAmount.Sub(target.Amount)
	case KindRefund:
		root.RefundedAmount = root.RefundedAmount.Sub(target.Amount)
		if p := s.state.txns[target.ParentID]; p != nil && p.Kind == KindCapture {
			p.RefundedAmount = p.RefundedAmount.Sub(target.Amount)
		}
	}
	s.state.add(v)
	s.notify(EventVoidAccepted, v)
	return v, nil
}

// hasLiveRefunds reports whether a sale or capture has refunds that are not voided.
func (s *Server) hasLiveRefunds(t *Transaction) bool {
	ids := t.FollowOns
	if t.Kind == KindSale {
		ids = s.state.txns[t.RootID].FollowOns
	}
	for _, id := range ids {
		if rf := s.state.txns[id]; rf != nil && rf.Kind == KindRefund && !rf.Voided {
			return true
		}
	}
	return false
}
