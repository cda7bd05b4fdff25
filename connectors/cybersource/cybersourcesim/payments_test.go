package cybersourcesim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var transactionIDPattern = regexp.MustCompile(`^[0-9]{22}$`)

func TestAuthorizationAnswersLikeTheDocExample(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	r := b.pay(t, paymentReq("TC50171_3", "102.21", CardVisa))
	checks := map[string]string{
		"status":                          "AUTHORIZED",
		"clientReferenceInformation.code": "TC50171_3",
		"orderInformation.amountDetails.authorizedAmount": "102.21",
		"orderInformation.amountDetails.currency":         "USD",
		"paymentInformation.card.type":                    "001",
		"processorInformation.responseCode":               "00",
		"processorInformation.avs.code":                   "Y",
		"_links.capture.href":                             "/pts/v2/payments/" + r.str("id") + "/captures",
		"_links.authReversal.href":                        "/pts/v2/payments/" + r.str("id") + "/reversals",
		"_links.self.method":                              "GET",
		"riskInformation.profile.decision":                "ACCEPT",
	}
	for path, want := range checks {
		if got := r.str(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if !transactionIDPattern.MatchString(r.str("id")) {
		t.Errorf("id %q is not 22 digits", r.str("id"))
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", r.str("submitTimeUtc")); err != nil {
		t.Errorf("submitTimeUtc %q: %v", r.str("submitTimeUtc"), err)
	}
	if len(r.str("processorInformation.approvalCode")) != 6 || r.str("reconciliationId") == "" {
		t.Errorf("approval code or reconciliation id missing: %s", r.raw)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/hal+json") {
		t.Errorf("content type %q", ct)
	}
}

func TestSandboxMagicValuesSteerTheOutcome(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	cases := []struct {
		name       string
		req        map[string]any
		wantStatus string
		wantReason string
		check      map[string]string
	}{
		{"visa approves", paymentReq("m-visa", "10.00", CardVisa), "AUTHORIZED", "", map[string]string{"paymentInformation.card.type": "001"}},
		{"mastercard approves", paymentReq("m-mc", "10.00", CardMastercard), "AUTHORIZED", "", map[string]string{"paymentInformation.card.type": "002"}},
		{"amex approves with a 4-digit code", paymentReq("m-amex", "10.00", CardAmex), "AUTHORIZED", "", map[string]string{"paymentInformation.card.type": "003"}},
		{"decline card", paymentReq("m-decl", "10.00", CardDeclined), "DECLINED", "PROCESSOR_DECLINED", map[string]string{"processorInformation.responseCode": "05"}},
		{"insufficient funds card", paymentReq("m-nsf", "10.00", CardInsufficientFunds), "DECLINED", "INSUFFICIENT_FUND", nil},
		{"expiry last month", set(paymentReq("m-exp", "10.00", CardVisa), "paymentInformation.card.expirationYear", "2026"),
			"AUTHORIZED", "", nil}, // December 2026 is still valid in April 2026
		{"expired card", set(set(paymentReq("m-exp2", "10.00", CardVisa), "paymentInformation.card.expirationYear", "2026"),
			"paymentInformation.card.expirationMonth", "03"), "DECLINED", "EXPIRED_CARD", nil},
		{"security code 999", set(paymentReq("m-cvn", "10.00", CardVisa), "paymentInformation.card.securityCode", "999"),
			"AUTHORIZED_PENDING_REVIEW", "CV_FAILED", map[string]string{"processorInformation.cardVerification.resultCode": "N"}},
		{"postal code 99999", set(paymentReq("m-avs", "10.00", CardVisa), "orderInformation.billTo.postalCode", "99999"),
			"AUTHORIZED_PENDING_REVIEW", "AVS_FAILED", map[string]string{"processorInformation.avs.code": "N"}},
		{"review@ e-mail", set(paymentReq("m-rev", "10.00", CardVisa), "orderInformation.billTo.email", "review@example.com"),
			"AUTHORIZED_PENDING_REVIEW", "DECISION_PROFILE_REVIEW", map[string]string{"riskInformation.profile.decision": "REVIEW", "riskInformation.score.result": "75"}},
		{"reject@ e-mail", set(paymentReq("m-rej", "10.00", CardVisa), "orderInformation.billTo.email", "reject@example.com"),
			"AUTHORIZED_RISK_DECLINED", "DECISION_PROFILE_REJECT", map[string]string{"riskInformation.profile.decision": "REJECT"}},
		{"DECISION_SKIP bypasses Decision Manager", set(set(paymentReq("m-skip", "10.00", CardVisa), "orderInformation.billTo.email", "reject@example.com"),
			"processingInformation.actionList", []string{"DECISION_SKIP"}), "AUTHORIZED", "", map[string]string{"riskInformation": ""}},
		{"luhn failure", paymentReq("m-luhn", "10.00", "4111111111111112"), "DECLINED", "INVALID_ACCOUNT", nil},
	}
	for _, c := range cases {
		r := b.pay(t, c.req)
		if r.str("status") != c.wantStatus || r.str("errorInformation.reason") != c.wantReason {
			t.Errorf("%s: %s/%s, want %s/%s", c.name, r.str("status"), r.str("errorInformation.reason"), c.wantStatus, c.wantReason)
		}
		for path, want := range c.check {
			if got := r.str(path); got != want {
				t.Errorf("%s: %s = %q, want %q", c.name, path, got, want)
			}
		}
	}
	snap := b.sim.State()
	rej := snap.ByReference("m-rej")[0]
	if !rej.Reversed || rej.Status != StatusAuthorizedRiskDeclined {
		t.Errorf("a Decision Manager reject is not reversed: %+v", rej)
	}
	if len(snap.Reviews) != 1 || snap.Reviews[0].ID != snap.ByReference("m-rev")[0].ID || snap.Reviews[0].Status != ReviewPending {
		t.Errorf("reviews = %+v", snap.Reviews)
	}
}

func TestSaleCapturesAtOnceAndSettlesPending(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	r := b.pay(t, sale(paymentReq("sale-1", "49.99", CardMastercard)))
	if r.str("status") != "AUTHORIZED" || r.str("_links.void.href") == "" || r.str("_links.capture") != "" {
		t.Fatalf("sale answer: %s", r.raw)
	}
	tx, _ := b.sim.State().Transaction(r.str("id"))
	if tx.Kind != KindSale || tx.SettlementStatus != SettlementPending || !tx.CapturedAmount.Equal(tx.Amount) {
		t.Fatalf("sale state: %+v", tx)
	}
	// A sale that goes to review is not captured.
	rv := b.pay(t, sale(set(paymentReq("sale-2", "10.00", CardVisa), "orderInformation.billTo.email", "review@x.com")))
	tx, _ = b.sim.State().Transaction(rv.str("id"))
	if tx.Kind != KindAuthorization || !tx.CapturedAmount.IsZero() {
		t.Fatalf("reviewed sale was captured: %+v", tx)
	}
}

func TestPaymentValidationErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	cases := []struct {
		name        string
		req         map[string]any
		wantReason  string
		wantDetails []string
	}{
		{"no amount, currency or billTo", set(set(paymentReq("v1", "1.00", CardVisa), "orderInformation.amountDetails", nil), "orderInformation.billTo", nil),
			"MISSING_FIELD", []string{"orderInformation.amountDetails.totalAmount", "orderInformation.amountDetails.currency",
				"orderInformation.billTo.firstName", "orderInformation.billTo.lastName", "orderInformation.billTo.address1",
				"orderInformation.billTo.locality", "orderInformation.billTo.country", "orderInformation.billTo.email"}},
		{"no card", set(paymentReq("v2", "1.00", CardVisa), "paymentInformation", nil), "MISSING_FIELD",
			[]string{"paymentInformation.card.number", "paymentInformation.card.expirationMonth", "paymentInformation.card.expirationYear"}},
		{"only the country missing", set(paymentReq("v3", "1.00", CardVisa), "orderInformation.billTo.country", nil), "MISSING_FIELD",
			[]string{"orderInformation.billTo.country"}},
		{"amount is not a number", paymentReq("v4", "ten", CardVisa), "INVALID_DATA", []string{"orderInformation.amountDetails.totalAmount"}},
		{"amount in exponent form", paymentReq("v5", "1e3", CardVisa), "INVALID_DATA", []string{"orderInformation.amountDetails.totalAmount"}},
		{"zero amount", paymentReq("v6", "0.00", CardVisa), "INVALID_AMOUNT", []string{"orderInformation.amountDetails.totalAmount"}},
		{"three decimals", paymentReq("v7", "1.005", CardVisa), "INVALID_AMOUNT", []string{"orderInformation.amountDetails.totalAmount"}},
		{"negative amount", paymentReq("v8", "-5.00", CardVisa), "INVALID_AMOUNT", []string{"orderInformation.amountDetails.totalAmount"}},
		{"two-digit security code", set(paymentReq("v9", "1.00", CardVisa), "paymentInformation.card.securityCode", "12"), "INVALID_DATA",
			[]string{"paymentInformation.card.securityCode"}},
		{"three-digit Amex code", set(paymentReq("v10", "1.00", CardAmex), "paymentInformation.card.securityCode", "123"), "INVALID_DATA",
			[]string{"paymentInformation.card.securityCode"}},
		{"card type not accepted", paymentReq("v11", "1.00", "9111111111111111"), "CARD_TYPE_NOT_ACCEPTED", []string{"paymentInformation.card.number"}},
		{"month 13", set(paymentReq("v12", "1.00", CardVisa), "paymentInformation.card.expirationMonth", "13"), "INVALID_DATA",
			[]string{"paymentInformation.card.expirationMonth", "paymentInformation.card.expirationYear"}},
		{"unknown customer token", set(paymentReq("v13", "1.00", CardVisa), "paymentInformation", map[string]any{"customer": map[string]any{"id": "ABC"}}),
			"INVALID_DATA", []string{"paymentInformation.customer.id"}},
	}
	for _, c := range cases {
		r := b.do(t, http.MethodPost, "/pts/v2/payments", c.req)
		if r.status != http.StatusBadRequest || r.str("status") != "INVALID_REQUEST" || r.str("reason") != c.wantReason {
			t.Errorf("%s: %d %s", c.name, r.status, r.raw)
			continue
		}
		var details []string
		for _, d := range r.body["details"].([]any) {
			details = append(details, d.(map[string]any)["field"].(string))
		}
		if strings.Join(details, ",") != strings.Join(c.wantDetails, ",") {
			t.Errorf("%s: details %v, want %v", c.name, details, c.wantDetails)
		}
		if r.str("submitTimeUtc") == "" || r.str("message") == "" {
			t.Errorf("%s: 400 lacks submitTimeUtc or message: %s", c.name, r.raw)
		}
	}
	if n := len(b.sim.State().Transactions); n != 0 {
		t.Fatalf("invalid requests created %d transactions", n)
	}
	r := b.do(t, http.MethodPost, "/pts/v2/payments", `{"orderInformation":`)
	if r.status != http.StatusBadRequest || r.str("reason") != "INVALID_DATA" {
		t.Fatalf("malformed JSON: %d %s", r.status, r.raw)
	}
}

func TestSameMerchantReferenceWithin15MinutesIsADuplicate(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.pay(t, paymentReq("dup-1", "5.00", CardVisa))
	r := b.do(t, http.MethodPost, "/pts/v2/payments", paymentReq("dup-1", "5.00", CardVisa))
	if r.status != http.StatusBadRequest || r.str("reason") != "DUPLICATE_REQUEST" {
		t.Fatalf("second payment: %d %s", r.status, r.raw)
	}
	b.sim.Clock().Advance(16 * time.Minute)
	b.pay(t, paymentReq("dup-1", "5.00", CardVisa))
	// A payment without a code is never a duplicate.
	b.pay(t, set(paymentReq("", "5.00", CardVisa), "clientReferenceInformation", nil))
	b.pay(t, set(paymentReq("", "5.00", CardVisa), "clientReferenceInformation", nil))
}

func TestServerTimeoutCardCreatesThePaymentSystemErrorCardDoesNot(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	r := b.do(t, http.MethodPost, "/pts/v2/payments", paymentReq("to-1", "20.00", CardServerTimeout))
	if r.status != http.StatusBadGateway || r.str("status") != "SERVER_ERROR" || r.str("reason") != "SERVER_TIMEOUT" {
		t.Fatalf("timeout card: %d %s", r.status, r.raw)
	}
	s := b.must(t, http.StatusCreated, http.MethodPost, "/tss/v2/searches",
		map[string]any{"query": "clientReferenceInformation.code:to-1 AND submitTimeUtc:[NOW/DAY-7DAYS TO NOW/DAY+1DAY}"})
	if s.str("totalCount") != "1" || s.str("_embedded.transactionSummaries.0.status") != "AUTHORIZED" {
		t.Fatalf("the timed-out payment is not found by its code: %s", s.raw)
	}
	// Retrying with the same code is a duplicate, which is how a client learns it went through.
	if r := b.do(t, http.MethodPost, "/pts/v2/payments", paymentReq("to-1", "20.00", CardVisa)); r.str("reason") != "DUPLICATE_REQUEST" {
		t.Fatalf("retry after timeout: %s", r.raw)
	}

	r = b.do(t, http.MethodPost, "/pts/v2/payments", paymentReq("se-1", "20.00", CardSystemError))
	if r.status != http.StatusBadGateway || r.str("reason") != "SYSTEM_ERROR" {
		t.Fatalf("system error card: %d %s", r.status, r.raw)
	}
	if got := b.sim.State().ByReference("se-1"); len(got) != 0 {
		t.Fatalf("system error created %v", got)
	}
	b.pay(t, paymentReq("se-1", "20.00", CardVisa)) // and a retry is not a duplicate
}

func TestStateNeverShowsTheCardNumber(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	req := paymentReq("pan-1", "10.00", CardMastercard)
	set(req, "processingInformation.actionList", []string{"TOKEN_CREATE"})
	b.pay(t, req)
	raw, err := json.Marshal(b.sim.State())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), CardMastercard) || strings.Contains(string(raw), `"123"`) {
		t.Fatalf("state exposes card data: %s", raw)
	}
	if !strings.Contains(string(raw), "555555XXXXXX4444") {
		t.Fatalf("state lacks the masked number: %s", raw)
	}
	control := b.control(t, http.MethodGet, "/_sim/state", "")
	if strings.Contains(string(control.raw), CardMastercard) {
		t.Fatal("/_sim/state exposes the card number")
	}
}
