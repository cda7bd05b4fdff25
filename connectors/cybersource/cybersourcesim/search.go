package cybersourcesim

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// Transaction Search limits (protocol doc §5).
const (
	searchLimitDefault = 20
	searchLimitMax     = 2500
	searchSortDefault  = "submitTimeUtc:desc"
)

// handleCreateSearch is POST /tss/v2/searches: run a query (see parseQuery) over the transactions
// that are indexed, sort and page the matches, keep the result under a new searchId and answer 201.
func (s *Server) handleCreateSearch(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		Save     bool   `json:"save"`
		Name     string `json:"name"`
		Timezone string `json:"timezone"`
		Query    string `json:"query"`
		Offset   *int   `json:"offset"`
		Limit    *int   `json:"limit"`
		Sort     string `json:"sort"`
	}
	if e := decodeJSON(s.clock.Now(), body, &req); e != nil {
		writeAPIError(w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if strings.TrimSpace(req.Query) == "" {
		writeAPIError(w, missingFields(now, "query"))
		return
	}
	offset, limit := 0, searchLimitDefault
	if req.Offset != nil {
		offset = *req.Offset
	}
	if req.Limit != nil {
		limit = *req.Limit
	}
	if offset < 0 {
		writeAPIError(w, invalidField(now, "offset", "must not be negative"))
		return
	}
	if limit < 1 || limit > searchLimitMax {
		writeAPIError(w, invalidField(now, "limit", "must be between 1 and 2500"))
		return
	}
	loc := time.UTC
	if req.Timezone != "" {
		if l, err := time.LoadLocation(req.Timezone); err == nil {
			loc = l
		}
	}
	q, err := parseQuery(req.Query, now, loc)
	if err != nil {
		writeAPIError(w, invalidField(now, "query", err.Error()))
		return
	}
	sortSpec := req.Sort
	if strings.TrimSpace(sortSpec) == "" {
		sortSpec = searchSortDefault
	}
	less, err := parseSort(sortSpec)
	if err != nil {
		writeAPIError(w, invalidField(now, "sort", err.Error()))
		return
	}

	var matches []*Transaction
	for _, id := range s.state.txnOrder {
		t := s.state.txns[id]
		if s.indexed(t, now) && q.match(t) {
			matches = append(matches, t)
		}
	}
	sort.SliceStable(matches, func(i, j int) bool { return less(matches[i], matches[j]) })
	total := len(matches)
	page := []obj{}
	for i := offset; i < total && i < offset+limit; i++ {
		page = append(page, s.summaryBody(matches[i]))
	}
	id := s.newUUID()
	result := obj{
		"searchId": id, "save": req.Save, "name": req.Name, "timezone": req.Timezone, "query": req.Query,
		"offset": offset, "limit": limit, "sort": sortSpec, "count": len(page), "totalCount": total,
		"status": "COMPLETED", "submitTimeUtc": utcStamp(now),
		"_embedded": obj{"transactionSummaries": page},
		"_links":    obj{"self": link(http.MethodGet, "/tss/v2/searches/"+id)},
	}
	s.state.searches[id] = result
	writeHAL(w, http.StatusCreated, result)
}

// handleGetSearch is GET /tss/v2/searches/{id}: the result of an earlier search.
func (s *Server) handleGetSearch(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	result, ok := s.state.searches[pathID(r, "id")]
	if !ok {
		writeAPIError(w, notFound(s.clock.Now(), "The requested search does not exist: "+pathID(r, "id")))
		return
	}
	writeHAL(w, http.StatusOK, result)
}

// summaryBody is one transactionSummaries entry.
func (s *Server) summaryBody(t *Transaction) obj {
	order := obj{"amountDetails": obj{"totalAmount": money(t.Amount, t.Currency), "currency": t.Currency}}
	if t.BillTo != nil {
		order["billTo"] = obj{"firstName": t.BillTo.FirstName, "lastName": t.BillTo.LastName, "email": t.BillTo.Email}
	}
	b := obj{
		"id":                         t.ID,
		"submitTimeUtc":              utcStamp(t.SubmitTime),
		"merchantId":                 t.MerchantID,
		"status":                     t.Status,
		"applicationInformation":     applicationInformation(t),
		"clientReferenceInformation": withApplicationName(clientReference(t)),
		"orderInformation":           order,
		"paymentInformation":         paymentInformationView(t),
		"processorInformation":       obj{"processor": obj{"name": "sandbox"}},
		"_links":                     obj{"transactionDetail": link(http.MethodGet, "/tss/v2/transactions/"+t.ID)},
	}
	if t.Risk != nil {
		b["riskInformation"] = obj{"profile": obj{"name": t.Risk.Profile, "decision": t.Risk.Decision}}
	}
	return b
}
