package cybersourcesim

import (
	"net/http"
	"strings"
	"time"
)

// Ways a review is resolved, as Review.Via records them.
const (
	ViaAPI            = "api"            // POST /risk/v1/decisions/{id}/actions
	ViaBusinessCenter = "businessCenter" // a reviewer in the Business Center: ResolveReview, POST /_sim/reviews/{id}
)

// reviewQueue is the Decision Manager queue reviews land in.
const reviewQueue = "Review Queue"

// openReview starts a Decision Manager case for payment t. The caller holds s.mu.
func (s *Server) openReview(now time.Time, t *Transaction) {
	s.state.reviews[t.ID] = &Review{ID: t.ID, ClientReferenceCode: t.ClientReferenceCode, Status: ReviewPending,
		OriginalDecision: DecisionReview, Profile: t.Risk.Profile, Queue: reviewQueue, CreatedAt: now}
	s.state.reviewOrder = append(s.state.reviewOrder, t.ID)
}

// ResolveReview is a reviewer deciding a Decision Manager case in the Business Center, like
// POST /_sim/reviews/{id}. decision is ACCEPT or REJECT. The payment's status becomes AUTHORIZED
// (accept) or AUTHORIZED_RISK_DECLINED (reject); the authorization is neither captured nor
// reversed, which is left to the merchant. A risk.casemanagement.decision.accept|reject webhook is
// sent and a row added to the conversion details report. The error says why nothing happened: an
// unknown case (404), a case already resolved or a decision other than ACCEPT or REJECT (400).
func (s *Server) ResolveReview(id, decision, reviewer, comments string) error {
	s.catchUp()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, e := s.resolveReview(s.clock.Now(), id, decision, reviewer, comments, ViaBusinessCenter, nil); e != nil {
		return e
	}
	return nil
}

// handleDecisionAction is POST /risk/v1/decisions/{id}/actions: resolve a case through the API,
// optionally capturing (with ACCEPT) or reversing (with REJECT) the authorization.
func (s *Server) handleDecisionAction(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		DecisionInformation struct {
			Decision string `json:"decision"`
			Comments string `json:"comments"`
		} `json:"decisionInformation"`
		ProcessingInformation struct {
			ActionList []string `json:"actionList"`
		} `json:"processingInformation"`
	}
	if e := decodeJSON(s.clock.Now(), body, &req); e != nil {
		writeAPIError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if strings.TrimSpace(req.DecisionInformation.Decision) == "" {
		writeAPIError(w, missingFields(now, "decisionInformation.decision"))
		return
	}
	embedded, e := s.resolveReview(now, pathID(r, "id"), req.DecisionInformation.Decision, s.opts.MerchantID,
		req.DecisionInformation.Comments, ViaAPI, req.ProcessingInformation.ActionList)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	status := "ACCEPTED"
	if strings.EqualFold(req.DecisionInformation.Decision, DecisionReject) {
		status = "REJECTED"
	}
	out := obj{"id": s.newUUID(), "submitTimeUtc": utcStamp(now), "status": status}
	if len(embedded) > 0 {
		out["_embedded"] = embedded
	}
	writeHAL(w, http.StatusOK, out)
}

// resolveReview decides case id and runs the requested actions. Everything is checked before
// anything changes. The caller holds s.mu.
func (s *Server) resolveReview(now time.Time, id, decision, reviewer, comments, via string, actions []string) (obj, *apiError) {
	rv := s.state.reviews[id]
	t := s.state.txns[id]
	if rv == nil || t == nil {
		return nil, notFound(now, "No Decision Manager case exists for "+id)
	}
	if rv.Status != ReviewPending {
		return nil, invalidRequest(now, reasonInvalidData, "Declined - The case has already been resolved with decision "+rv.Decision)
	}
	decision = strings.ToUpper(strings.TrimSpace(decision))
	if decision != DecisionAccept && decision != DecisionReject {
		return nil, invalidField(now, "decisionInformation.decision", "must be ACCEPT or REJECT")
	}
	var capture, reverse bool
	for _, a := range actions {
		switch a = strings.ToUpper(strings.TrimSpace(a)); {
		case a == "CAPTURE" && decision == DecisionAccept:
			capture = true
		case a == "REVERSE" && decision == DecisionReject:
			reverse = true
		default:
			return nil, invalidField(now, "processingInformation.actionList", "allows CAPTURE only with ACCEPT and REVERSE only with REJECT, not "+a)
		}
	}
	open := t.AuthorizedAmount.Sub(t.ReversedAmount).Sub(t.CapturedAmount)
	if capture {
		if e := s.checkCapture(now, t, open, t.Currency); e != nil {
			return nil, e
		}
		if !open.IsPositive() {
			return nil, invalidRequest(now, reasonExceedsAuthAmount, "Declined - Nothing is left to capture on this authorization.")
		}
	}
	if reverse {
		if e := checkReversal(now, t, t.AuthorizedAmount.Sub(t.ReversedAmount)); e != nil {
			return nil, e
		}
	}

	embedded := obj{}
	ref := clientReferenceIn{Code: t.ClientReferenceCode}
	if decision == DecisionAccept {
		t.Risk.Decision = DecisionAccept
		if t.Status == StatusAuthorizedPendingReview && t.Reason == "DECISION_PROFILE_REVIEW" {
			t.Status, t.Reason, t.ReasonCode = StatusAuthorized, "", "100"
		}
		if capture {
			c := s.applyCapture(now, t, ref, open)
			embedded["capture"] = obj{"status": c.Status, "_links": obj{"self": link(http.MethodGet, selfPath(c))}}
		}
	} else {
		t.Risk.Decision = DecisionReject
		if !t.Reversed {
			t.Status, t.Reason, t.ReasonCode = StatusAuthorizedRiskDeclined, "DECISION_PROFILE_REJECT", "481"
		}
		if reverse {
			r := s.applyReversal(now, t, ref, t.AuthorizedAmount.Sub(t.ReversedAmount))
			embedded["reversal"] = obj{"status": r.Status, "_links": obj{"self": link(http.MethodGet, selfPath(r))}}
		}
	}
	at := now
	rv.Status, rv.Decision, rv.Reviewer, rv.Comments, rv.Via, rv.ResolvedAt = ReviewResolved, decision, reviewer, comments, via, &at
	if capture {
		rv.Actions = append(rv.Actions, "CAPTURE")
	}
	if reverse {
		rv.Actions = append(rv.Actions, "REVERSE")
	}
	s.notifyDecision(rv, t, embedded)
	return embedded, nil
}

// notifyDecision queues the risk.casemanagement.decision.* webhook of a resolved case. The
// payload carries what the official SFCC cartridge reads: the order's code (also as
// referenceNumber), the reviewer's note in notes[0].comment and the capture link in
// _embedded.capture._links.self.href. The caller holds s.mu.
func (s *Server) notifyDecision(rv *Review, t *Transaction, embedded obj) {
	event := EventDecisionAccept
	if rv.Decision == DecisionReject {
		event = EventDecisionReject
	}
	data := obj{
		"_links":                     obj{"self": link(http.MethodGet, "/tss/v2/transactions/"+t.ID)},
		"id":                         t.ID,
		"type":                       "caseManagement",
		"version":                    "1.0",
		"referenceNumber":            t.ClientReferenceCode,
		"clientReferenceInformation": clientReference(t),
		"decision":                   rv.Decision,
		"originalDecision":           rv.OriginalDecision,
		"reviewer":                   rv.Reviewer,
		"queue":                      rv.Queue,
		"notes":                      []obj{{"comment": rv.Comments, "addedBy": rv.Reviewer, "date": utcStamp(*rv.ResolvedAt)}},
		"riskInformation":            obj{"profile": obj{"name": rv.Profile, "decision": rv.Decision}},
		"orderInformation":           obj{"amountDetails": obj{"totalAmount": money(t.Amount, t.Currency), "currency": t.Currency}},
		"status":                     t.Status,
	}
	if len(embedded) > 0 {
		data["_embedded"] = embedded
	}
	s.enqueue(event, ProductDecisionManager, t.ID, data)
}

// handleConversionDetails is GET /reporting/v3/conversion-details?startTime&endTime&organizationId:
// the review decisions made in the window, 404 when there are none.
func (s *Server) handleConversionDetails(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	q := r.URL.Query()
	if e := s.checkOrganization(now, q.Get("organizationId")); e != nil {
		writeAPIError(w, e)
		return
	}
	start, end, e := reportWindow(now, q)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	rows := []obj{}
	for _, id := range s.state.reviewOrder {
		rv := s.state.reviews[id]
		if rv.ResolvedAt == nil || rv.ResolvedAt.Before(start) || !rv.ResolvedAt.Before(end) {
			continue
		}
		rows = append(rows, obj{
			"merchantReferenceNumber": rv.ClientReferenceCode,
			"conversionTime":          utcStamp(*rv.ResolvedAt),
			"requestId":               rv.ID,
			"originalDecision":        rv.OriginalDecision,
			"newDecision":             rv.Decision,
			"reviewer":                rv.Reviewer,
			"reviewerComments":        rv.Comments,
			"queue":                   rv.Queue,
			"profile":                 rv.Profile,
			"notes":                   []obj{{"time": utcStamp(*rv.ResolvedAt), "addedBy": rv.Reviewer, "comments": rv.Comments}},
		})
	}
	if len(rows) == 0 {
		writeAPIError(w, reportingError(now, http.StatusNotFound, reasonNotFound, "No conversion details found for the requested window"))
		return
	}
	writeJSON(w, http.StatusOK, obj{"organizationId": s.opts.MerchantID, "startTime": utcStamp(start), "endTime": utcStamp(end),
		"conversionDetails": rows})
}
