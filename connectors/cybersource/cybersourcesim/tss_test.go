package cybersourcesim

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// appNames lists the application names of a Transaction Details answer.
func appNames(r response) string {
	var names []string
	apps, _ := walk(r.body, "applicationInformation.applications").([]any)
	for _, a := range apps {
		names = append(names, a.(map[string]any)["name"].(string))
	}
	return strings.Join(names, ",")
}

func TestTransactionDetailsListTheApplications(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	saleID := b.pay(t, sale(paymentReq("td-1", "40.00", CardVisa))).str("id")
	refundID := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+saleID+"/refunds", amountBody("td-1", "10.00")).str("id")
	voidID := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/refunds/"+refundID+"/voids", nil).str("id")
	authID := b.pay(t, set(paymentReq("td-2", "9.00", CardVisa), "orderInformation.billTo.email", "review@x.com")).str("id")
	revID := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+authID+"/reversals",
		map[string]any{"reversalInformation": map[string]any{"amountDetails": map[string]any{"totalAmount": "9.00"}}}).str("id")
	declID := b.pay(t, paymentReq("td-3", "9.00", CardDeclined)).str("id")

	cases := []struct {
		id, apps, status, reasonCode string
		more                         map[string]string
	}{
		{saleID, "ics_auth,ics_decision,ics_bill", "AUTHORIZED", "100", map[string]string{
			"paymentInformation.card.suffix": "1111", "paymentInformation.card.prefix": "411111",
			"orderInformation.amountDetails.authorizedAmount": "40.00", "riskInformation.profile.decision": "ACCEPT",
			"applicationInformation.status": "PENDING", "rootId": saleID, "merchantId": DefaultMerchantID}},
		{refundID, "ics_credit", "VOIDED", "100", map[string]string{"rootId": saleID, "_links.relatedTransactions.0.href": "/tss/v2/transactions/" + saleID}},
		{voidID, "ics_void", "VOIDED", "100", nil},
		{authID, "ics_auth,ics_decision", "REVERSED", "480", map[string]string{"riskInformation.profile.decision": "REVIEW",
			"applicationInformation.rFlag": "DREVIEW"}},
		{revID, "ics_auth_reversal", "REVERSED", "100", nil},
		{declID, "ics_auth", "DECLINED", "203", map[string]string{"applicationInformation.rCode": "0",
			"applicationInformation.applications.0.rFlag": "DCARDREFUSED", "errorInformation.reason": "PROCESSOR_DECLINED"}},
	}
	for _, c := range cases {
		r := b.must(t, http.StatusOK, http.MethodGet, "/tss/v2/transactions/"+c.id, nil)
		if got := appNames(r); got != c.apps {
			t.Errorf("%s: applications %s, want %s", c.id, got, c.apps)
		}
		if r.str("status") != c.status || r.str("applicationInformation.reasonCode") != c.reasonCode {
			t.Errorf("%s: status %s reason %s, want %s %s", c.id, r.str("status"), r.str("applicationInformation.reasonCode"), c.status, c.reasonCode)
		}
		if r.str("submitTimeUTC") == "" || r.str("id") != c.id {
			t.Errorf("%s: %s", c.id, r.raw)
		}
		for path, want := range c.more {
			if got := r.str(path); got != want {
				t.Errorf("%s: %s = %q, want %q", c.id, path, got, want)
			}
		}
	}
	if r := b.do(t, http.MethodGet, "/tss/v2/transactions/0000000000000000000000", nil); r.status != 404 || r.str("reason") != "NOT_FOUND" {
		t.Fatalf("unknown id: %d %s", r.status, r.raw)
	}
}

func TestTransactionsAreHiddenUntilIndexed(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{IndexDelay: time.Minute})
	id := b.pay(t, paymentReq("ix-1", "1.00", CardVisa)).str("id")
	b.must(t, http.StatusNotFound, http.MethodGet, "/tss/v2/transactions/"+id, nil)
	b.sim.Clock().Advance(time.Minute)
	b.must(t, http.StatusOK, http.MethodGet, "/tss/v2/transactions/"+id, nil)
}

func TestTransactionSearchQueries(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	first := b.pay(t, sale(paymentReq("ts-A", "1.00", CardVisa)))
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+first.str("id")+"/refunds", amountBody("", "1.00"))
	b.sim.Clock().Advance(2 * 24 * time.Hour)
	second := b.pay(t, paymentReq("ts-B", "2.00", CardMastercard))
	b.pay(t, paymentReq("other", "3.00", CardVisa))
	firstTx, _ := b.sim.State().Transaction(first.str("id"))

	cases := []struct {
		name, query string
		wantTotal   int
	}{
		{"by code finds the payment and its refund", "clientReferenceInformation.code:ts-A", 2},
		{"by id", "id:" + second.str("id"), 1},
		{"by reconciliation id", "reconciliationId:" + firstTx.ReconciliationID, 1},
		{"by merchant", "merchantId:" + DefaultMerchantID, 4},
		{"prefix", "clientReferenceInformation.code:ts-*", 3},
		{"AND narrows", "clientReferenceInformation.code:ts-A AND id:" + first.str("id"), 1},
		{"OR widens", "clientReferenceInformation.code:ts-B OR clientReferenceInformation.code:other", 2},
		{"parentheses", "(clientReferenceInformation.code:ts-B OR clientReferenceInformation.code:other) AND merchantId:" + DefaultMerchantID, 2},
		{"today only", "submitTimeUtc:[NOW/DAY TO NOW/DAY+1DAY}", 2},
		{"last 7 days", "clientReferenceInformation.code:ts-A AND submitTimeUtc:[NOW/DAY-7DAYS TO NOW/DAY+1DAY}", 2},
		{"before yesterday", "submitTimeUtc:[* TO NOW-1DAY}", 2},
		{"absolute range", "submitTimeUtc:[2026-04-10T00:00:00Z TO 2026-04-11T00:00:00Z}", 2},
		{"date-only bounds", "submitTimeUtc:[2026-04-12 TO 2026-04-13]", 2},
		{"nothing", "clientReferenceInformation.code:none", 0},
	}
	for _, c := range cases {
		r := b.must(t, http.StatusCreated, http.MethodPost, "/tss/v2/searches", map[string]any{"query": c.query, "limit": 100})
		if r.str("totalCount") != strconv.Itoa(c.wantTotal) {
			t.Errorf("%s: totalCount %s, want %d: %s", c.name, r.str("totalCount"), c.wantTotal, r.raw)
		}
	}

	// Paging and sorting.
	r := b.must(t, http.StatusCreated, http.MethodPost, "/tss/v2/searches",
		map[string]any{"query": "merchantId:" + DefaultMerchantID, "offset": 1, "limit": 2, "sort": "submitTimeUtc:asc,id:asc", "name": "n", "save": false})
	if r.str("count") != "2" || r.str("totalCount") != "4" || r.str("_embedded.transactionSummaries.0.clientReferenceInformation.code") != "ts-A" ||
		r.str("_embedded.transactionSummaries.0._links.transactionDetail.href") == "" {
		t.Fatalf("paged search: %s", r.raw)
	}
	got := b.must(t, http.StatusOK, http.MethodGet, "/tss/v2/searches/"+r.str("searchId"), nil)
	if got.str("searchId") != r.str("searchId") || got.str("totalCount") != "4" {
		t.Fatalf("GET search: %s", got.raw)
	}
	b.must(t, http.StatusNotFound, http.MethodGet, "/tss/v2/searches/nope", nil)

	bad := []map[string]any{
		{"query": "id:1", "limit": 2501},
		{"query": "unknownField:1"},
		{"query": "submitTimeUtc:[NOW TO"},
		{"query": "id:1", "sort": "amount:asc"},
		{"query": "submitTimeUtc:[NOW-1FORTNIGHT TO NOW]"},
	}
	for _, body := range bad {
		if r := b.do(t, http.MethodPost, "/tss/v2/searches", body); r.status != 400 || r.str("reason") != "INVALID_DATA" {
			t.Errorf("%v: %d %s", body, r.status, r.raw)
		}
	}
	if r := b.do(t, http.MethodPost, "/tss/v2/searches", map[string]any{}); r.str("reason") != "MISSING_FIELD" {
		t.Errorf("search without query: %s", r.raw)
	}
}
