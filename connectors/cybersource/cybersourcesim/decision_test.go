package cybersourcesim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func reviewPayment(t *testing.T, b *testBundle, code string, capture bool) string {
	t.Helper()
	req := set(paymentReq(code, "60.00", CardVisa), "orderInformation.billTo.email", "review@example.com")
	if capture {
		sale(req)
	}
	r := b.pay(t, req)
	if r.str("status") != StatusAuthorizedPendingReview {
		t.Fatalf("payment not in review: %s", r.raw)
	}
	return r.str("id")
}

func TestDecisionActionAcceptWithCaptureAndRejectWithReverse(t *testing.T) {
	t.Parallel()
	rec := newReceiver(t, nil)
	b := setup(t, Options{WebhookURL: rec.url()})
	accepted := reviewPayment(t, b, "dm-1", true)
	rejected := reviewPayment(t, b, "dm-2", false)

	r := b.must(t, http.StatusOK, http.MethodPost, "/risk/v1/decisions/"+accepted+"/actions", map[string]any{
		"decisionInformation":   map[string]any{"decision": "ACCEPT", "comments": "looks fine"},
		"processingInformation": map[string]any{"actionList": []string{"CAPTURE"}}})
	if r.str("status") != "ACCEPTED" || r.str("_embedded.capture.status") != "PENDING" ||
		!strings.HasPrefix(r.str("_embedded.capture._links.self.href"), "/pts/v2/captures/") {
		t.Fatalf("accept answer: %s", r.raw)
	}
	r = b.must(t, http.StatusOK, http.MethodPost, "/risk/v1/decisions/"+rejected+"/actions", map[string]any{
		"decisionInformation":   map[string]any{"decision": "REJECT", "comments": "stolen"},
		"processingInformation": map[string]any{"actionList": []string{"REVERSE"}}})
	if r.str("status") != "REJECTED" || r.str("_embedded.reversal.status") != "REVERSED" {
		t.Fatalf("reject answer: %s", r.raw)
	}

	snap := b.sim.State()
	a, _ := snap.Transaction(accepted)
	j, _ := snap.Transaction(rejected)
	if a.Status != StatusAuthorized || a.Risk.Decision != DecisionAccept || !a.CapturedAmount.Equal(a.Amount) {
		t.Errorf("accepted payment: %+v", a)
	}
	if !j.Reversed || j.Risk.Decision != DecisionReject {
		t.Errorf("rejected payment: %+v", j)
	}
	for _, rv := range snap.Reviews {
		if rv.Status != ReviewResolved || rv.Via != ViaAPI {
			t.Errorf("review %+v", rv)
		}
	}

	// The webhooks of both decisions arrive with the decision manager product.
	got := rec.waitFor(t, func(all []received) bool {
		return countEvents(all, EventDecisionAccept) == 1 && countEvents(all, EventDecisionReject) == 1
	})
	for _, m := range got {
		if m.header.Get(HeaderEventType) == EventDecisionAccept {
			if m.header.Get(HeaderProductName) != ProductDecisionManager || m.str("payload.data.decision") != "ACCEPT" ||
				m.str("payload.data.notes.0.comment") != "looks fine" || m.str("payload.data.clientReferenceInformation.code") != "dm-1" ||
				!strings.HasPrefix(m.str("payload.data._embedded.capture._links.self.href"), "/pts/v2/captures/") {
				t.Errorf("accept webhook: %s", m.body)
			}
		}
	}

	// Conversion details report both decisions in the window and nothing outside it.
	from := testStart.Add(-time.Hour).Format(time.RFC3339)
	to := testStart.Add(time.Hour).Format(time.RFC3339)
	cd := b.must(t, http.StatusOK, http.MethodGet, "/reporting/v3/conversion-details?"+query("startTime", from, "endTime", to, "organizationId", DefaultMerchantID), nil)
	if cd.str("conversionDetails.0.requestId") != accepted || cd.str("conversionDetails.0.newDecision") != "ACCEPT" ||
		cd.str("conversionDetails.0.originalDecision") != "REVIEW" || cd.str("conversionDetails.1.newDecision") != "REJECT" ||
		cd.str("conversionDetails.0.merchantReferenceNumber") != "dm-1" || cd.str("conversionDetails.1.reviewerComments") != "stolen" {
		t.Fatalf("conversion details: %s", cd.raw)
	}
	empty := b.do(t, http.MethodGet, "/reporting/v3/conversion-details?"+query("startTime", "2020-01-01T00:00:00Z", "endTime", "2020-01-02T00:00:00Z"), nil)
	if empty.status != 404 {
		t.Fatalf("empty window: %d %s", empty.status, empty.raw)
	}
	if bad := b.do(t, http.MethodGet, "/reporting/v3/conversion-details?startTime=x", nil); bad.status != 400 || bad.str("reason") != "INVALID_DATA" {
		t.Fatalf("bad window: %d %s", bad.status, bad.raw)
	}
}

func TestDecisionActionErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := reviewPayment(t, b, "dme-1", false)
	plain := b.pay(t, paymentReq("dme-2", "5.00", CardVisa)).str("id")
	action := func(decision string, actions ...string) map[string]any {
		return map[string]any{"decisionInformation": map[string]any{"decision": decision},
			"processingInformation": map[string]any{"actionList": actions}}
	}
	cases := []struct {
		name, id string
		body     map[string]any
		status   int
		reason   string
	}{
		{"CAPTURE with REJECT", id, action("REJECT", "CAPTURE"), 400, "INVALID_DATA"},
		{"REVERSE with ACCEPT", id, action("ACCEPT", "REVERSE"), 400, "INVALID_DATA"},
		{"unknown decision", id, action("MAYBE"), 400, "INVALID_DATA"},
		{"no decision", id, map[string]any{}, 400, "MISSING_FIELD"},
		{"not in review", plain, action("ACCEPT"), 404, "NOT_FOUND"},
	}
	for _, c := range cases {
		if r := b.do(t, http.MethodPost, "/risk/v1/decisions/"+c.id+"/actions", c.body); r.status != c.status || r.str("reason") != c.reason {
			t.Errorf("%s: %d %s", c.name, r.status, r.raw)
		}
	}
	b.must(t, http.StatusOK, http.MethodPost, "/risk/v1/decisions/"+id+"/actions", action("ACCEPT"))
	if r := b.do(t, http.MethodPost, "/risk/v1/decisions/"+id+"/actions", action("REJECT")); r.status != 400 {
		t.Fatalf("second decision: %d %s", r.status, r.raw)
	}
}

func TestResolveReviewIsTheBusinessCenterReviewer(t *testing.T) {
	t.Parallel()
	rec := newReceiver(t, nil)
	b := setup(t, Options{WebhookURL: rec.url()})
	first := reviewPayment(t, b, "rr-1", false)
	second := reviewPayment(t, b, "rr-2", false)

	if err := b.sim.ResolveReview(first, "ACCEPT", "alice", "called the customer"); err != nil {
		t.Fatal(err)
	}
	if err := b.sim.ResolveReview(first, "REJECT", "alice", ""); err == nil {
		t.Fatal("a resolved case was resolved again")
	}
	if err := b.sim.ResolveReview("0000", "ACCEPT", "alice", ""); err == nil {
		t.Fatal("an unknown case was resolved")
	}
	r := b.control(t, http.MethodPost, "/_sim/reviews/"+second, `{"decision":"REJECT","reviewer":"bob","comments":"fraud ring"}`)
	if r.status != http.StatusOK || r.str("decision") != "REJECT" || r.str("via") != ViaBusinessCenter {
		t.Fatalf("/_sim/reviews: %d %s", r.status, r.raw)
	}
	if r := b.control(t, http.MethodPost, "/_sim/reviews/"+second, `{"decision":"ACCEPT"}`); r.status != http.StatusBadRequest {
		t.Fatalf("/_sim/reviews on a resolved case: %d %s", r.status, r.raw)
	}

	snap := b.sim.State()
	a, _ := snap.Transaction(first)
	j, _ := snap.Transaction(second)
	if a.Status != StatusAuthorized || !a.CapturedAmount.IsZero() {
		t.Errorf("accepted in the Business Center: %+v", a)
	}
	if j.Status != StatusAuthorizedRiskDeclined || j.Reversed {
		t.Errorf("rejected in the Business Center: %+v", j)
	}
	// The merchant then captures the accepted one and reverses the rejected one itself.
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+first+"/captures", amountBody("", "60.00"))
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+second+"/reversals",
		map[string]any{"reversalInformation": map[string]any{"amountDetails": map[string]any{"totalAmount": "60.00"}}})
	tss := b.must(t, http.StatusOK, http.MethodGet, "/tss/v2/transactions/"+second, nil)
	if tss.str("riskInformation.profile.decision") != "REJECT" {
		t.Fatalf("TSS decision: %s", tss.raw)
	}

	got := rec.waitFor(t, func(all []received) bool {
		return countEvents(all, EventDecisionAccept) == 1 && countEvents(all, EventDecisionReject) == 1
	})
	for _, m := range got {
		if m.header.Get(HeaderEventType) == EventDecisionReject && (m.str("payload.data.reviewer") != "bob" || m.str("payload.data.referenceNumber") != "rr-2") {
			t.Errorf("reject webhook: %s", m.body)
		}
	}
}
