package cybersource

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"strings"
)

// SearchLimitMax is the largest page TSS serves; SearchLimitDefault is the page size SearchAll
// and FindByReference ask for.
const (
	SearchLimitMax     = 2500
	SearchLimitDefault = 100
)

// TransactionDetail is GET /tss/v2/transactions/{id} (§5).
type TransactionDetail struct {
	ID               string `json:"id"`
	RootID           string `json:"rootId"`
	ReconciliationID string `json:"reconciliationId"`
	MerchantID       string `json:"merchantId"`
	// SubmitTimeUTC matches both spellings the API uses (submitTimeUTC and submitTimeUtc).
	SubmitTimeUTC              string                 `json:"submitTimeUTC"`
	Status                     string                 `json:"status"`
	ApplicationInformation     ApplicationInformation `json:"applicationInformation"`
	ClientReferenceInformation ClientReference        `json:"clientReferenceInformation"`
	OrderInformation           OrderInformation       `json:"orderInformation"`
	PaymentInformation         PaymentInformation     `json:"paymentInformation"`
	ProcessorInformation       ProcessorInformation   `json:"processorInformation"`
	RiskInformation            RiskInformation        `json:"riskInformation"`
	ErrorInformation           ErrorInformation       `json:"errorInformation"`
	// TokenInformation.JTI names the transient token a payment was made with.
	TokenInformation TokenInformation `json:"tokenInformation"`
	Links            Links            `json:"_links"`
	// Raw is the answer as received.
	Raw json.RawMessage `json:"-"`
}

func (t *TransactionDetail) setRaw(b []byte) { t.Raw = append(json.RawMessage(nil), b...) }

// ApplicationInformation lists the SCMP applications a transaction ran (ics_auth, ics_bill =
// capture, ics_credit = refund, ics_auth_reversal, ics_void) with their results.
type ApplicationInformation struct {
	Status       string        `json:"status"`
	ReasonCode   Code          `json:"reasonCode"`
	RCode        Code          `json:"rCode"`
	RFlag        string        `json:"rFlag"`
	Applications []Application `json:"applications,omitempty"`
}

// Application is one SCMP application's result.
type Application struct {
	Name             string `json:"name"`
	Status           string `json:"status"`
	ReasonCode       Code   `json:"reasonCode"`
	RCode            Code   `json:"rCode"`
	RFlag            string `json:"rFlag"`
	ReconciliationID string `json:"reconciliationId"`
	RMessage         string `json:"rMessage"`
	ReturnCode       Code   `json:"returnCode"`
}

// Application returns the named application (e.g. "ics_bill") of a transaction.
func (a ApplicationInformation) Application(name string) (Application, bool) {
	for _, app := range a.Applications {
		if app.Name == name {
			return app, true
		}
	}
	return Application{}, false
}

// GetTransaction returns one transaction's details. TSS indexes asynchronously: a transaction
// created a moment ago may answer 404 (ClassNotFound) for a while.
func (c *Client) GetTransaction(ctx context.Context, id string) (*TransactionDetail, error) {
	const op = "GetTransaction"
	if err := requireID(op, "id", id); err != nil {
		return nil, err
	}
	var res TransactionDetail
	if _, err := c.do(ctx, request{op: op, method: http.MethodGet, path: pathf("/tss/v2/transactions/%s", id)}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// SearchRequest is POST /tss/v2/searches.
type SearchRequest struct {
	// Query is "field:value AND …"; build it with NewSearchQuery.
	Query string
	// Name labels the search; "payhub" when empty.
	Name string
	// Save keeps the search in the Business Center.
	Save bool
	// Timezone is the time zone of NOW-relative ranges, e.g. "UTC".
	Timezone string
	// Offset and Limit page through results; Limit is at most SearchLimitMax (20 when zero).
	Offset int
	Limit  int
	// Sort is e.g. "submitTimeUtc:desc" or "id:asc,submitTimeUtc:asc".
	Sort string
}

// SearchResult is a search's answer, from POST /tss/v2/searches or GET /tss/v2/searches/{id}.
type SearchResult struct {
	SearchID      string `json:"searchId"`
	Name          string `json:"name"`
	Save          bool   `json:"save"`
	Query         string `json:"query"`
	Timezone      string `json:"timezone"`
	Sort          string `json:"sort"`
	Offset        int    `json:"offset"`
	Limit         int    `json:"limit"`
	Count         int    `json:"count"`
	TotalCount    int    `json:"totalCount"`
	Status        string `json:"status"`
	SubmitTimeUTC string `json:"submitTimeUtc"`
	Embedded      struct {
		TransactionSummaries []TransactionSummary `json:"transactionSummaries"`
	} `json:"_embedded"`
	Links Links `json:"_links"`
}

// Transactions returns the page's transaction summaries.
func (r *SearchResult) Transactions() []TransactionSummary { return r.Embedded.TransactionSummaries }

// TransactionSummary is one search hit.
type TransactionSummary struct {
	ID                         string                 `json:"id"`
	SubmitTimeUTC              string                 `json:"submitTimeUtc"`
	MerchantID                 string                 `json:"merchantId"`
	Status                     string                 `json:"status"`
	ReconciliationID           string                 `json:"reconciliationId"`
	ApplicationInformation     ApplicationInformation `json:"applicationInformation"`
	ClientReferenceInformation ClientReference        `json:"clientReferenceInformation"`
	OrderInformation           OrderInformation       `json:"orderInformation"`
	PaymentInformation         PaymentInformation     `json:"paymentInformation"`
	ProcessorInformation       ProcessorInformation   `json:"processorInformation"`
	RiskInformation            RiskInformation        `json:"riskInformation"`
	Links                      Links                  `json:"_links"`
}

type searchBody struct {
	Save     bool   `json:"save"`
	Name     string `json:"name"`
	Timezone string `json:"timezone,omitempty"`
	Query    string `json:"query"`
	Offset   int    `json:"offset"`
	Limit    int    `json:"limit,omitempty"`
	Sort     string `json:"sort,omitempty"`
}

// SearchTransactions runs one search and returns one page of hits.
func (c *Client) SearchTransactions(ctx context.Context, r SearchRequest) (*SearchResult, error) {
	const op = "SearchTransactions"
	if strings.TrimSpace(r.Query) == "" {
		return nil, localError(op, ClassInvalidRequest, "query is required")
	}
	if r.Limit < 0 || r.Limit > SearchLimitMax || r.Offset < 0 {
		return nil, localError(op, ClassInvalidRequest, "limit must be 0..%d and offset not negative", SearchLimitMax)
	}
	name := r.Name
	if name == "" {
		name = "payhub"
	}
	body := searchBody{Save: r.Save, Name: name, Timezone: r.Timezone, Query: r.Query, Offset: r.Offset, Limit: r.Limit, Sort: r.Sort}
	var res SearchResult
	if _, err := c.do(ctx, request{op: op, method: http.MethodPost, path: "/tss/v2/searches", body: body}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// GetSearch returns a search's results again (GET /tss/v2/searches/{id}).
func (c *Client) GetSearch(ctx context.Context, searchID string) (*SearchResult, error) {
	const op = "GetSearch"
	if err := requireID(op, "searchID", searchID); err != nil {
		return nil, err
	}
	var res SearchResult
	if _, err := c.do(ctx, request{op: op, method: http.MethodGet, path: pathf("/tss/v2/searches/%s", searchID)}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// SearchAll pages through every hit of r, starting at r.Offset with pages of r.Limit
// (SearchLimitDefault when zero). An error ends the sequence after being yielded once. It stops
// on an empty page, at totalCount, or after as many pages as the first page's totalCount allows,
// so a server that ignores the offset cannot make it loop forever.
func (c *Client) SearchAll(ctx context.Context, r SearchRequest) iter.Seq2[TransactionSummary, error] {
	return func(yield func(TransactionSummary, error) bool) {
		if r.Limit == 0 {
			r.Limit = SearchLimitDefault
		}
		maxPages := -1
		for page := 0; maxPages < 0 || page < maxPages; page++ {
			res, err := c.SearchTransactions(ctx, r)
			if err != nil {
				yield(TransactionSummary{}, err)
				return
			}
			if maxPages < 0 {
				maxPages = (res.TotalCount-r.Offset)/r.Limit + 1
			}
			hits := res.Transactions()
			for _, t := range hits {
				if !yield(t, nil) {
					return
				}
			}
			r.Offset += len(hits)
			if len(hits) == 0 || r.Offset >= res.TotalCount {
				return
			}
		}
	}
}

// FindByReference returns every transaction whose clientReferenceInformation.code is code, oldest
// first. It is the lookup to run after a transient error on a payment, capture, refund, void or
// reversal (OutcomeUnknown), before deciding to resend: see OutcomeUnknown for the procedure.
// An empty result is not proof of absence right after the call, because TSS indexes
// asynchronously.
func (c *Client) FindByReference(ctx context.Context, code string) ([]TransactionSummary, error) {
	if strings.TrimSpace(code) == "" {
		return nil, localError("FindByReference", ClassInvalidRequest, "code is required")
	}
	q := NewSearchQuery().And("clientReferenceInformation.code", code)
	var out []TransactionSummary
	for t, err := range c.SearchAll(ctx, SearchRequest{Query: q.String(), Sort: "submitTimeUtc:asc", Limit: SearchLimitDefault}) {
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// SearchQuery builds a TSS query of field:value terms joined by AND (§5). The zero value is an
// empty query; each method returns a new SearchQuery and leaves its receiver unchanged.
type SearchQuery struct {
	terms []string
}

// NewSearchQuery returns an empty query.
func NewSearchQuery() SearchQuery { return SearchQuery{} }

// And adds field:value. The value is quoted, with '"' and '\' escaped, when it is empty or holds
// white space or query syntax, so a reference like `A B:C` stays one term.
func (q SearchQuery) And(field, value string) SearchQuery {
	return q.AndRaw(field + ":" + quoteSearchValue(value))
}

// AndRaw adds a term verbatim, for ranges such as
// "submitTimeUtc:[NOW/DAY-7DAYS TO NOW/DAY+1DAY}".
func (q SearchQuery) AndRaw(term string) SearchQuery {
	terms := make([]string, len(q.terms), len(q.terms)+1)
	copy(terms, q.terms)
	return SearchQuery{terms: append(terms, term)}
}

// String joins the terms with " AND ".
func (q SearchQuery) String() string { return strings.Join(q.terms, " AND ") }

func quoteSearchValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\r\n:\"\\()[]{}") {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
