package sync_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/connectors/opayo/opayosim"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	"github.com/payhub/payhub/db"
	hubsync "github.com/payhub/payhub/sync"
)

func intp(n int) *int { return &n }

func TestFraudPolicyDecideDefaults(t *testing.T) {
	t.Parallel()
	var p hubsync.FraudPolicy // the zero value is the defaults
	cs := func(mod func(*hubsync.GatewayTxn)) hubsync.GatewayTxn {
		x := hubsync.GatewayTxn{Gateway: hubsync.GatewayCybersource, Kind: hubsync.KindAuthorization, RiskDecision: "accept",
			RiskScore: intp(99), AVSResult: "Y", CVCResult: "M"}
		mod(&x)
		return x
	}
	op := func(mod func(*hubsync.GatewayTxn)) hubsync.GatewayTxn {
		x := hubsync.GatewayTxn{Gateway: hubsync.GatewayOpayo, Kind: hubsync.KindSale, AVSResult: "Matched/Matched",
			CVCResult: "Matched", ThreeDS: "Authenticated"}
		mod(&x)
		return x
	}
	for _, c := range []struct {
		name     string
		txn      hubsync.GatewayTxn
		decision string
		reasons  []string
	}{
		{"clean cybersource, scores ignored", cs(func(*hubsync.GatewayTxn) {}), "accept", nil},
		{"clean opayo", op(func(*hubsync.GatewayTxn) {}), "accept", nil},
		{"no signals at all", hubsync.GatewayTxn{Gateway: hubsync.GatewayOpayo}, "accept", nil},
		{"opayo CV2 not matched", op(func(x *hubsync.GatewayTxn) { x.CVCResult = "NotMatched" }), "review", []string{"CV2 did not match"}},
		{"cybersource CVN N", cs(func(x *hubsync.GatewayTxn) { x.CVCResult = "N" }), "review", []string{"CV2 did not match"}},
		{"CV2 not provided", op(func(x *hubsync.GatewayTxn) { x.CVCResult = "NotProvided" }), "accept", nil},
		{"AVS mismatch is accepted", op(func(x *hubsync.GatewayTxn) { x.AVSResult = "NotMatched/NotMatched" }), "accept", nil},
		{"cybersource AVS N is accepted", cs(func(x *hubsync.GatewayTxn) { x.AVSResult = "N" }), "accept", nil},
		{"3-D Secure failed", op(func(x *hubsync.GatewayTxn) { x.ThreeDS = "NotAuthenticated" }), "reject",
			[]string{"3-D Secure authentication failed (NotAuthenticated)"}},
		{"3-D Secure error is no failure", op(func(x *hubsync.GatewayTxn) { x.ThreeDS = "Error" }), "accept", nil},
		{"3-D Secure attempt only", op(func(x *hubsync.GatewayTxn) { x.ThreeDS = "AttemptOnly" }), "accept", nil},
		{"3-D Secure incomplete", op(func(x *hubsync.GatewayTxn) { x.ThreeDS = "Incomplete" }), "accept", nil},
		{"card not enrolled", op(func(x *hubsync.GatewayTxn) { x.ThreeDS = "CardNotEnrolled" }), "accept", nil},
		{"Decision Manager reject", cs(func(x *hubsync.GatewayTxn) {
			x.RiskDecision, x.RiskReasons = "reject", []string{"RuleRejectEmail"}
		}), "reject", []string{"Decision Manager rejected the payment (RuleRejectEmail)"}},
		{"Decision Manager review", cs(func(x *hubsync.GatewayTxn) {
			x.RiskDecision, x.RiskReasons = "review", []string{"RuleReviewEmail"}
		}), "review", []string{"Decision Manager sent the payment to review (RuleReviewEmail)"}},
		{"T3M hold", op(func(x *hubsync.GatewayTxn) { x.RiskDecision, x.RiskReasons = "review", []string{"T3M action HOLD"} }),
			"review", []string{"ReD/T3M fraud screening sent the payment to review (T3M action HOLD)"}},
		{"T3M reject and CV2", op(func(x *hubsync.GatewayTxn) { x.RiskDecision, x.CVCResult = "reject", "NotMatched" }),
			"reject", []string{"ReD/T3M fraud screening rejected the payment", "CV2 did not match"}},
	} {
		decision, reasons := p.Decide(c.txn)
		if decision != c.decision || !reflect.DeepEqual(reasons, c.reasons) {
			t.Errorf("%s: %s %q, want %s %q", c.name, decision, reasons, c.decision, c.reasons)
		}
	}
}

func TestFraudPolicyDecideRules(t *testing.T) {
	t.Parallel()
	cs := func(mod func(*hubsync.GatewayTxn)) hubsync.GatewayTxn {
		x := hubsync.GatewayTxn{Gateway: hubsync.GatewayCybersource, Kind: hubsync.KindAuthorization, RiskDecision: "accept"}
		mod(&x)
		return x
	}
	op := func(mod func(*hubsync.GatewayTxn)) hubsync.GatewayTxn {
		x := hubsync.GatewayTxn{Gateway: hubsync.GatewayOpayo, Kind: hubsync.KindSale}
		mod(&x)
		return x
	}
	score := func(n int) func(*hubsync.GatewayTxn) { return func(x *hubsync.GatewayTxn) { x.RiskScore = intp(n) } }
	thresholds := hubsync.FraudPolicy{ReviewScore: 60, RejectScore: 90}
	strict := hubsync.FraudPolicy{AVSMismatch: "review", CVCMismatch: "reject", ThreeDSFailed: "review", GatewayReject: "review"}
	for _, c := range []struct {
		name     string
		policy   hubsync.FraudPolicy
		txn      hubsync.GatewayTxn
		decision string
		reasons  []string
	}{
		{"below the review score", thresholds, cs(score(59)), "accept", nil},
		{"at the review score", thresholds, cs(score(60)), "review", []string{"Decision Manager score 60 ≥ review threshold 60"}},
		{"above the review score", thresholds, cs(score(87)), "review", []string{"Decision Manager score 87 ≥ review threshold 60"}},
		{"at the reject score", thresholds, cs(score(90)), "reject", []string{"Decision Manager score 90 ≥ reject threshold 90"}},
		{"T3M score", thresholds, op(score(95)), "reject", []string{"ReD/T3M score 95 ≥ reject threshold 90"}},
		{"reject score alone", hubsync.FraudPolicy{RejectScore: 10}, cs(score(12)), "reject", []string{"Decision Manager score 12 ≥ reject threshold 10"}},
		{"review score alone, score below", hubsync.FraudPolicy{ReviewScore: 13}, cs(score(12)), "accept", nil},
		{"no score", thresholds, cs(func(*hubsync.GatewayTxn) {}), "accept", nil},
		{"negative T3M score", thresholds, op(score(-20)), "accept", nil},

		{"AVS both parts, reviewed", strict, op(func(x *hubsync.GatewayTxn) { x.AVSResult = "NotMatched/NotMatched" }), "review",
			[]string{"AVS: neither the address nor the postcode matched"}},
		{"AVS address part", strict, op(func(x *hubsync.GatewayTxn) { x.AVSResult = "NotMatched/Matched" }), "review",
			[]string{"AVS: the address did not match"}},
		{"AVS postcode part", strict, op(func(x *hubsync.GatewayTxn) { x.AVSResult = "Matched/NotMatched" }), "review",
			[]string{"AVS: the postcode did not match"}},
		{"AVS not provided is no mismatch", strict, op(func(x *hubsync.GatewayTxn) { x.AVSResult = "NotProvided/NotChecked" }), "accept", nil},
		{"cybersource AVS N", strict, cs(func(x *hubsync.GatewayTxn) { x.AVSResult = "N" }), "review",
			[]string{"AVS: neither the address nor the postcode matched"}},
		{"cybersource AVS A", strict, cs(func(x *hubsync.GatewayTxn) { x.AVSResult = "A" }), "review", []string{"AVS: the postcode did not match"}},
		{"cybersource AVS Z", strict, cs(func(x *hubsync.GatewayTxn) { x.AVSResult = "Z" }), "review", []string{"AVS: the address did not match"}},
		{"cybersource AVS Y", strict, cs(func(x *hubsync.GatewayTxn) { x.AVSResult = "Y" }), "accept", nil},
		{"AVS rejected", hubsync.FraudPolicy{AVSMismatch: "REJECT"}, cs(func(x *hubsync.GatewayTxn) { x.AVSResult = "N" }), "reject",
			[]string{"AVS: neither the address nor the postcode matched"}},
		{"CV2 rejected", strict, op(func(x *hubsync.GatewayTxn) { x.CVCResult = "NotMatched" }), "reject", []string{"CV2 did not match"}},
		{"CV2 accepted", hubsync.FraudPolicy{CVCMismatch: "accept"}, op(func(x *hubsync.GatewayTxn) { x.CVCResult = "NotMatched" }), "accept", nil},
		{"3-D Secure reviewed", strict, op(func(x *hubsync.GatewayTxn) { x.ThreeDS = "NotAuthenticated" }), "review",
			[]string{"3-D Secure authentication failed (NotAuthenticated)"}},
		{"3-D Secure EMV status R", hubsync.FraudPolicy{}, op(func(x *hubsync.GatewayTxn) { x.ThreeDS = "R" }), "reject",
			[]string{"3-D Secure authentication failed (R)"}},
		{"3-D Secure accepted", hubsync.FraudPolicy{ThreeDSFailed: "accept"}, op(func(x *hubsync.GatewayTxn) { x.ThreeDS = "NotAuthenticated" }), "accept", nil},
		{"gateway reject reviewed", strict, cs(func(x *hubsync.GatewayTxn) { x.RiskDecision = "reject" }), "review",
			[]string{"Decision Manager rejected the payment"}},
		{"gateway reject accepted", hubsync.FraudPolicy{GatewayReject: "accept"}, cs(func(x *hubsync.GatewayTxn) { x.RiskDecision = "reject" }), "accept", nil},
		{"a gateway review stays a review", hubsync.FraudPolicy{GatewayReject: "accept"}, cs(func(x *hubsync.GatewayTxn) { x.RiskDecision = "review" }),
			"review", []string{"Decision Manager sent the payment to review"}},
		{"an unknown action reviews", hubsync.FraudPolicy{CVCMismatch: "block"}, op(func(x *hubsync.GatewayTxn) { x.CVCResult = "NotMatched" }), "review",
			[]string{"CV2 did not match"}},
		{"the most severe rule wins, every reason kept", hubsync.FraudPolicy{ReviewScore: 50, AVSMismatch: "review"},
			cs(func(x *hubsync.GatewayTxn) {
				x.RiskScore, x.AVSResult, x.CVCResult, x.RiskDecision, x.RiskReasons = intp(70), "N", "N", "reject", []string{"velocity"}
			}), "reject", []string{"Decision Manager rejected the payment (velocity)", "Decision Manager score 70 ≥ review threshold 50",
				"CV2 did not match", "AVS: neither the address nor the postcode matched"}},
	} {
		decision, reasons := c.policy.Decide(c.txn)
		if decision != c.decision || !reflect.DeepEqual(reasons, c.reasons) {
			t.Errorf("%s: %s %q, want %s %q", c.name, decision, reasons, c.decision, c.reasons)
		}
	}
}

func TestFraudPolicyConfiguration(t *testing.T) {
	t.Parallel()
	want := hubsync.FraudPolicy{ReviewScore: 60, RejectScore: 90, AVSMismatch: "review", CVCMismatch: "reject",
		ThreeDSFailed: "review", GatewayReject: "review", Hold: "suspense"}
	const doc = `{"reviewScore": 60, "rejectScore": 90, "avsMismatch": "review", "cvcMismatch": "reject",
		"threeDsFailed": "review", "gatewayReject": "review", "hold": "suspense"}`
	var fromJSON hubsync.FraudPolicy
	if err := json.Unmarshal([]byte(doc), &fromJSON); err != nil || fromJSON != want {
		t.Errorf("from JSON: %+v %v", fromJSON, err)
	}
	var fromYAML hubsync.FraudPolicy
	yml := "reviewScore: 60\nrejectScore: 90\navsMismatch: review\ncvcMismatch: reject\nthreeDsFailed: review\ngatewayReject: review\nhold: suspense\n"
	if err := yaml.Unmarshal([]byte(yml), &fromYAML); err != nil || fromYAML != want {
		t.Errorf("from YAML: %+v %v", fromYAML, err)
	}
	if out, _ := json.Marshal(hubsync.FraudPolicy{}); string(out) != "{}" {
		t.Errorf("the defaults marshal as %s", out)
	}
	if err := want.Validate(); err != nil {
		t.Errorf("valid policy: %v", err)
	}
	if err := (hubsync.FraudPolicy{}).Validate(); err != nil {
		t.Errorf("zero policy: %v", err)
	}
	err := hubsync.FraudPolicy{ReviewScore: -1, CVCMismatch: "block", Hold: "freeze"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "cvcMismatch") || !strings.Contains(err.Error(), "hold") || !strings.Contains(err.Error(), "negative") {
		t.Errorf("invalid policy: %v", err)
	}
}

// fraudRig is an engine with both gateways' simulators and SYSPRO's, under a fraud policy.
type fraudRig struct {
	*harness
	cs    *cybersource.Client
	csSim *cybersourcesim.Server
	op    *opayo.Client
	opSim *opayosim.Server
	t3m   *t3mOpayo
	q     *db.Queries
}

// t3mOpayo is the Opayo client with a ReD/T3M screening result added to Reporting's details (the
// simulator screens nothing), by vendorTxCode.
type t3mOpayo struct {
	*opayo.Client
	mu     gosync.Mutex
	result map[string][2]string // vendorTxCode → score, action
}

func (c *t3mOpayo) GetTransactionDetail(ctx context.Context, ref opayo.TransactionRef) (*opayo.TransactionDetail, error) {
	d, err := c.Client.GetTransactionDetail(ctx, ref)
	if err != nil {
		return d, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.result[d.VendorTxCode]; ok {
		d.T3MScore, d.T3MAction = r[0], r[1]
	}
	return d, nil
}

func (c *t3mOpayo) screen(vendorTxCode, score, action string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.result[vendorTxCode] = [2]string{score, action}
}

func newFraudRig(t *testing.T, policy hubsync.FraudPolicy) *fraudRig {
	t.Helper()
	r := &fraudRig{csSim: cybersourcesim.New(cybersourcesim.Options{})}
	csSrv := httptest.NewServer(r.csSim)
	t.Cleanup(csSrv.Close)
	r.cs = newCybersourceClient(t, csSrv.URL)

	r.opSim = opayosim.New(opayosim.Options{NotificationRetry: opayosim.RetryPolicy{Count: -1}})
	opSrv := httptest.NewServer(r.opSim)
	t.Cleanup(func() {
		r.opSim.Close()
		opSrv.Close()
	})
	var err error
	r.op, err = opayo.New(opayo.Config{PiURL: opSrv.URL + opayosim.PiBasePath,
		IntegrationKey: opayosim.DefaultIntegrationKey, IntegrationPassword: opayosim.DefaultIntegrationPassword,
		Vendor: opayosim.DefaultVendor, ReportingURL: opSrv.URL + opayosim.ReportingPath,
		ReportingUser: opayosim.DefaultReportingUser, ReportingPassword: opayosim.DefaultReportingPassword})
	if err != nil {
		t.Fatal(err)
	}
	r.t3m = &t3mOpayo{Client: r.op, result: map[string][2]string{}}
	r.harness = newHarness(t, sysprosim.Options{}, hubsync.Config{CreateCustomers: true, Cybersource: r.cs, Opayo: r.t3m,
		Fraud: policy, PollInterval: time.Hour, StatusInterval: time.Hour})
	r.q = db.New(r.pool)
	return r
}

// csPayment takes a card payment at the Cybersource simulator: an authorization, or a sale when
// capture. The simulator's Decision Manager accepts it with score 12.
func (r *fraudRig) csPayment(t *testing.T, ref string, capture bool) *cybersource.PaymentResult {
	t.Helper()
	res, err := r.cs.CreatePayment(context.Background(), cybersource.PaymentRequest{Reference: ref, Capture: capture,
		Amount: dec("40.00"), Currency: "GBP",
		Card:      &cybersource.Card{Number: "4111111111111111", ExpirationMonth: "12", ExpirationYear: "2031", SecurityCode: "123"},
		BillTo:    &cybersource.Address{FirstName: "Fr", LastName: "Aud", Address1: "1 High St", Locality: "Leeds", PostalCode: "LS1 1AA", Country: "GB", Email: "fraud@example.com"},
		LineItems: []cybersource.LineItem{{ProductSKU: "A100", Quantity: 1, UnitPrice: dec("40.00")}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "AUTHORIZED" {
		t.Fatalf("payment %s at the simulator: %s", ref, res.Status)
	}
	return res
}

// csTxn is the payment as a webhook's lookup describes it (what Transaction Details says).
func csTxn(res *cybersource.PaymentResult, ref string, capture bool) hubsync.GatewayTxn {
	kind := hubsync.KindAuthorization
	if capture {
		kind = hubsync.KindSale
	}
	return hubsync.GatewayTxn{Gateway: hubsync.GatewayCybersource, TransactionID: res.ID, Kind: kind, GatewayStatus: res.Status,
		Reference: ref, Amount: dec("40.00"), Currency: "GBP", OccurredAt: time.Now(), CardBrand: "Visa", CardLastFour: "1111",
		AVSResult: "Y", CVCResult: "M", RiskScore: intp(12), RiskDecision: "accept",
		Customer: hubsync.Party{FirstName: "Fr", LastName: "Aud", Email: "fraud@example.com"},
		Lines:    []hubsync.Line{{SKU: "A100", Quantity: dec("1"), UnitPrice: dec("40.00")}}}
}

// opPayment takes a Pi payment (a sale, or a Deferred authorisation) at the Opayo simulator,
// with a security code that matches ("123") or not.
func (r *fraudRig) opPayment(t *testing.T, ref string, typ opayo.TransactionType, cv2 string) string {
	t.Helper()
	ctx := context.Background()
	msk, err := r.op.CreateMerchantSessionKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	card, err := r.op.CreateCardIdentifier(ctx, msk.Key, opayo.CardDetails{CardholderName: "SAM JONES",
		CardNumber: opayo.Secret("4929000000006"), ExpiryDate: "1230", SecurityCode: opayo.Secret(cv2)})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := r.op.CreateTransaction(ctx, opayo.PaymentRequest{Type: typ, VendorTxCode: ref, Amount: dec("25.00"), Currency: "GBP",
		Description: "Payhub web order", Card: opayo.CardMethod{MerchantSessionKey: msk.Key, CardIdentifier: card.ID},
		CustomerFirstName: "Sam", CustomerLastName: "Jones", CustomerEmail: "sam@example.com",
		BillingAddress: opayo.Address{Address1: "88 Test Street", City: "London", PostalCode: "412", Country: "GB"},
		EntryMethod:    opayo.EntryEcommerce})
	if err != nil {
		t.Fatal(err)
	}
	if !tx.Succeeded() {
		t.Fatalf("opayo payment %s: %s %s", ref, tx.Status, tx.StatusDetail)
	}
	return strings.ToUpper(tx.ID)
}

// deliver tells the hub about a gateway transaction as a webhook does (a lookup job), and waits
// until every job is done.
func (r *fraudRig) deliver(t *testing.T, gateway, id string) {
	t.Helper()
	if err := r.engine.EnqueueFetch(context.Background(), gateway, id); err != nil {
		t.Fatal(err)
	}
	r.idle(t)
}

// idle waits until no lookup, fraud policy or SYSPRO job is waiting or running.
func (r *fraudRig) idle(t *testing.T) {
	t.Helper()
	waitFor(t, "the jobs to finish", func() bool {
		return countRows(t, r.harness, `SELECT count(*) FROM river_job WHERE kind IN ('fetch_transaction', 'fraud_policy_reject', 'erp_posting')
			AND state NOT IN ('completed', 'cancelled', 'discarded')`) == 0
	})
	r.waitPostings(t, 30*time.Second)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *fraudRig) review(t *testing.T, paymentID int64) db.FraudReview {
	t.Helper()
	fr, err := r.q.GetFraudReviewByPayment(context.Background(), paymentID)
	if err != nil {
		t.Fatalf("fraud review of payment %d: %v", paymentID, err)
	}
	return fr
}

func (r *fraudRig) events(t *testing.T, kind string, paymentID int64) int {
	t.Helper()
	return countRows(t, r.harness, `SELECT count(*) FROM events WHERE kind = $1 AND (payload->>'paymentId')::bigint = $2`, kind, paymentID)
}

func (r *fraudRig) orderPostings(t *testing.T, orderID int64) int {
	t.Helper()
	return countRows(t, r.harness, `SELECT count(*) FROM erp_postings WHERE subject_type = 'sales_order' AND subject_id = $1 AND kind = 'sales_order'`, orderID)
}

// simFollowOns counts the simulator's transactions of kind acting on id.
func (r *fraudRig) simFollowOns(kind cybersourcesim.Kind, id string) int {
	n := 0
	for _, x := range r.csSim.State().Transactions {
		if x.Kind == kind && x.ParentID == id {
			n++
		}
	}
	return n
}

// opInstructions lists the instruction types Opayo holds for a transaction.
func (r *fraudRig) opInstructions(id string) []string {
	var out []string
	for _, x := range r.opSim.State().Transactions {
		if strings.EqualFold(x.TransactionID, id) {
			for _, in := range x.Instructions {
				out = append(out, in.InstructionType)
			}
		}
	}
	return out
}

func reasonsOf(t *testing.T, fr db.FraudReview) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal(fr.Reasons, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// An authorisation Decision Manager accepted, but with a score at the policy's review
// threshold, is held for a person; accepting it captures it and releases the order to SYSPRO.
func TestFraudPolicyScoreThresholdHoldsACybersourcePayment(t *testing.T) {
	r := newFraudRig(t, hubsync.FraudPolicy{ReviewScore: 10})
	ctx := context.Background()
	res := r.csPayment(t, "FRAUD-1", false)
	for range 3 { // the webhook, its retries and the poll all ask for it
		r.deliver(t, "cybersource", res.ID)
	}
	pay := paymentByTxn(t, r.harness, "cybersource", res.ID)
	if pay.Status != "authorized" || pay.RiskScore == nil || *pay.RiskScore != 12 {
		t.Fatalf("payment: %s score %v", pay.Status, pay.RiskScore)
	}
	fr := r.review(t, pay.ID)
	if fr.Status != "open" || fr.GatewayDecision != "review" || fr.Score == nil || *fr.Score != 12 ||
		!reflect.DeepEqual(reasonsOf(t, fr), []string{"Decision Manager score 12 ≥ review threshold 10"}) {
		t.Fatalf("review: %+v %s", fr, fr.Reasons)
	}
	if n := r.events(t, "fraud.review_opened", pay.ID); n != 1 {
		t.Fatalf("%d fraud.review_opened events, want 1", n)
	}
	if n := countRows(t, r.harness, `SELECT count(*) FROM fraud_reviews`); n != 1 {
		t.Fatalf("%d reviews", n)
	}
	o := orderByPO(t, r.harness, "FRAUD-1")
	if o.Status != "on_hold" || o.HoldReason == nil || *o.HoldReason != "payment under fraud review" || r.orderPostings(t, o.ID) != 0 {
		t.Fatalf("order under review: %s %v, %d postings", o.Status, o.HoldReason, r.orderPostings(t, o.ID))
	}

	decided, err := r.engine.DecideFraudReview(ctx, fr.ID, "ACCEPT", "known customer", "finance@test")
	if err != nil || decided.Status != "accepted" {
		t.Fatalf("accept: %+v %v", decided, err)
	}
	r.idle(t)
	if p := paymentByTxn(t, r.harness, "cybersource", res.ID); p.Status != "captured" {
		t.Fatalf("accepted payment: %s", p.Status)
	}
	if o := orderByPO(t, r.harness, "FRAUD-1"); o.Status != "open" || o.SysproOrderNumber == nil {
		t.Fatalf("order after acceptance: %s", o.Status)
	}
	counts := r.waitPostings(t, 30*time.Second)
	if counts["sales_order/succeeded"] != 1 || counts["ar_payment/succeeded"] != 1 {
		t.Fatalf("postings after acceptance: %v\n%s", counts, lastErrors(t, r.harness))
	}
}

// A review the policy opened on a sale (money already captured) has nothing to release at the
// gateway: accepting it closes the review, and the order goes on to SYSPRO with its receipt.
func TestFraudPolicyAcceptingAReviewOfACapturedSale(t *testing.T) {
	r := newFraudRig(t, hubsync.FraudPolicy{ReviewScore: 10})
	ctx := context.Background()
	res := r.csPayment(t, "FRAUD-SALE", true)
	r.deliver(t, "cybersource", res.ID)
	pay := paymentByTxn(t, r.harness, "cybersource", res.ID)
	fr := r.review(t, pay.ID)
	if pay.Status != "captured" || fr.Status != "open" {
		t.Fatalf("sale %s, review %s", pay.Status, fr.Status)
	}
	if o := orderByPO(t, r.harness, "FRAUD-SALE"); o.Status != "on_hold" {
		t.Fatalf("order under review: %s", o.Status)
	}
	decided, err := r.engine.DecideFraudReview(ctx, fr.ID, "ACCEPT", "known customer", "finance@test")
	if err != nil || decided.Status != "accepted" {
		t.Fatalf("accept: %+v %v", decided, err)
	}
	r.idle(t)
	if p := paymentByTxn(t, r.harness, "cybersource", res.ID); p.Status != "captured" {
		t.Fatalf("accepted sale: %s", p.Status)
	}
	counts := r.waitPostings(t, 30*time.Second)
	if counts["sales_order/succeeded"] != 1 || counts["ar_payment/succeeded"] != 1 {
		t.Fatalf("postings after acceptance: %v\n%s", counts, lastErrors(t, r.harness))
	}
}

// In suspense mode an authorisation under review has its order posted to SYSPRO, without the
// AR receipt, which follows the capture that accepting the review makes. A sale (captured
// money) under review is held even so: the order's posting would bring its receipt.
func TestFraudPolicySuspensePostsTheOrderButWithholdsTheReceipt(t *testing.T) {
	r := newFraudRig(t, hubsync.FraudPolicy{ReviewScore: 10, Hold: hubsync.FraudHoldSuspense})
	ctx := context.Background()
	auth := r.csPayment(t, "FRAUD-S1", false)
	r.deliver(t, "cybersource", auth.ID)
	sale := r.csPayment(t, "FRAUD-S2", true)
	r.deliver(t, "cybersource", sale.ID)

	pay := paymentByTxn(t, r.harness, "cybersource", auth.ID)
	if fr := r.review(t, pay.ID); fr.Status != "open" {
		t.Fatalf("review: %s", fr.Status)
	}
	o := orderByPO(t, r.harness, "FRAUD-S1")
	if o.Status != "open" || o.SysproOrderNumber == nil {
		t.Fatalf("order of an authorisation under review, in suspense mode: %s %v", o.Status, o.HoldReason)
	}
	counts := r.waitPostings(t, 30*time.Second)
	if counts["sales_order/succeeded"] != 1 || counts["ar_payment/succeeded"] != 0 || counts["ar_payment/pending"] != 0 {
		t.Fatalf("postings under review: %v\n%s", counts, lastErrors(t, r.harness))
	}
	salePay := paymentByTxn(t, r.harness, "cybersource", sale.ID)
	if fr := r.review(t, salePay.ID); fr.Status != "open" || salePay.Status != "captured" {
		t.Fatalf("sale: %s, review %s", salePay.Status, fr.Status)
	}
	if o := orderByPO(t, r.harness, "FRAUD-S2"); o.Status != "on_hold" || r.orderPostings(t, o.ID) != 0 {
		t.Fatalf("order of a captured sale under review: %s", o.Status)
	}

	if _, err := r.engine.DecideFraudReview(ctx, r.review(t, pay.ID).ID, "ACCEPT", "ok", "finance@test"); err != nil {
		t.Fatal(err)
	}
	r.idle(t)
	counts = r.waitPostings(t, 30*time.Second)
	if counts["sales_order/succeeded"] != 1 || counts["ar_payment/succeeded"] != 1 {
		t.Fatalf("postings after acceptance: %v\n%s", counts, lastErrors(t, r.harness))
	}
	if ar := r.sim.State().ArPayments; len(ar) != 1 || !ar[0].PaymentValue.Equal(dec("40.00")) {
		t.Fatalf("SYSPRO receipts: %+v", ar)
	}
}

// A payment Decision Manager accepted but whose score is at the policy's reject threshold is
// taken back at the gateway (an authorisation reversed, a sale voided), once however often the
// gateway tells the hub about it, and its order cancelled with the policy's reasons.
func TestFraudPolicyRejectScoreVoidsACybersourcePaymentOnce(t *testing.T) {
	r := newFraudRig(t, hubsync.FraudPolicy{RejectScore: 10})
	ctx := context.Background()
	auth := r.csPayment(t, "FRAUD-R1", false)
	sale := r.csPayment(t, "FRAUD-R2", true)

	// Webhooks arrive three times, at once, and a poll reads the payments too.
	var wg gosync.WaitGroup
	errs := make(chan error, 6)
	for range 3 {
		for _, x := range []hubsync.GatewayTxn{csTxn(auth, "FRAUD-R1", false), csTxn(sale, "FRAUD-R2", true)} {
			wg.Go(func() { errs <- r.engine.ApplyGatewayTxn(ctx, x) })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r.deliver(t, "cybersource", auth.ID)
	r.deliver(t, "cybersource", sale.ID)
	waitFor(t, "the rejections", func() bool {
		return countRows(t, r.harness, `SELECT count(*) FROM events WHERE kind = 'fraud.payment_rejected'`) == 2
	})
	r.idle(t)

	check := func(res *cybersource.PaymentResult, po string, simKind cybersourcesim.Kind, action string) {
		t.Helper()
		if n := r.simFollowOns(simKind, res.ID); n != 1 {
			t.Errorf("%s: %d %s at the simulator, want 1", po, n, simKind)
		}
		pay := paymentByTxn(t, r.harness, "cybersource", res.ID)
		if pay.Status != "voided" {
			t.Errorf("%s: payment %s", po, pay.Status)
		}
		fr := r.review(t, pay.ID)
		want := []string{"Decision Manager score 12 ≥ reject threshold 10"}
		if fr.Status != "rejected" || fr.GatewayDecision != "reject" || deref(fr.DecidedBy) != hubsync.FraudPolicyActor ||
			!reflect.DeepEqual(reasonsOf(t, fr), want) || deref(fr.Note) != want[0] {
			t.Errorf("%s: review %+v %s", po, fr, fr.Reasons)
		}
		if n := countRows(t, r.harness, `SELECT count(*) FROM fraud_reviews WHERE payment_id = $1`, pay.ID); n != 1 {
			t.Errorf("%s: %d reviews", po, n)
		}
		o := orderByPO(t, r.harness, po)
		if o.Status != "cancelled" || o.HoldReason == nil || *o.HoldReason != "fraud review rejected by policy: "+want[0] {
			t.Errorf("%s: order %s %v", po, o.Status, deref(o.HoldReason))
		}
		if n := r.orderPostings(t, o.ID); n != 0 {
			t.Errorf("%s: a rejected order was posted to SYSPRO (%d postings)", po, n)
		}
		if n := r.events(t, "fraud.payment_rejected", pay.ID); n != 1 {
			t.Errorf("%s: %d fraud.payment_rejected events", po, n)
		}
		var payload map[string]any
		if err := r.pool.QueryRow(ctx, `SELECT payload FROM events WHERE kind = 'fraud.payment_rejected' AND topic = 'fraud'
			AND (payload->>'paymentId')::bigint = $1`, pay.ID).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		if payload["action"] != action || payload["decidedBy"] != "policy" || payload["merchantReference"] != po {
			t.Errorf("%s: event payload %v", po, payload)
		}
		if n := r.events(t, "fraud.review_opened", pay.ID); n != 0 {
			t.Errorf("%s: a rejection was announced as a review to decide", po)
		}
	}
	check(auth, "FRAUD-R1", cybersourcesim.KindReversal, "reverse")
	check(sale, "FRAUD-R2", cybersourcesim.KindVoid, "void")

	// Delivered again after the rejection: nothing more happens.
	apply(t, r.harness, csTxn(auth, "FRAUD-R1", false), csTxn(sale, "FRAUD-R2", true))
	r.deliver(t, "cybersource", auth.ID)
	r.deliver(t, "cybersource", sale.ID)
	check(auth, "FRAUD-R1", cybersourcesim.KindReversal, "reverse")
	check(sale, "FRAUD-R2", cybersourcesim.KindVoid, "void")
}

// An Opayo payment whose CV2 did not match goes to review by default, once however often it is
// delivered; its order waits.
func TestFraudPolicyOpayoCV2MismatchOpensAReview(t *testing.T) {
	r := newFraudRig(t, hubsync.FraudPolicy{})
	id := r.opPayment(t, "FRAUD-O1", opayo.TransactionPayment, "999")
	clean := r.opPayment(t, "FRAUD-O2", opayo.TransactionPayment, "123")
	for range 3 {
		r.deliver(t, "opayo", id)
	}
	r.deliver(t, "opayo", clean)

	pay := paymentByTxn(t, r.harness, "opayo", id)
	if pay.Status != "captured" || deref(pay.CvcResult) != "NotMatched" {
		t.Fatalf("payment: %s cvc %s", pay.Status, deref(pay.CvcResult))
	}
	fr := r.review(t, pay.ID)
	if fr.Status != "open" || fr.GatewayDecision != "review" || fr.Gateway != "opayo" ||
		!reflect.DeepEqual(reasonsOf(t, fr), []string{"CV2 did not match"}) {
		t.Fatalf("review: %+v %s", fr, fr.Reasons)
	}
	if n := r.events(t, "fraud.review_opened", pay.ID); n != 1 {
		t.Fatalf("%d fraud.review_opened events", n)
	}
	o := orderByPO(t, r.harness, "FRAUD-O1")
	if o.Status != "on_hold" || r.orderPostings(t, o.ID) != 0 {
		t.Fatalf("order under review: %s, %d postings", o.Status, r.orderPostings(t, o.ID))
	}
	if len(r.opInstructions(id)) != 0 {
		t.Fatalf("a review touched the payment at the gateway: %v", r.opInstructions(id))
	}

	// The payment whose CV2 matched goes on to SYSPRO.
	cleanPay := paymentByTxn(t, r.harness, "opayo", clean)
	if _, err := r.q.GetFraudReviewByPayment(context.Background(), cleanPay.ID); err == nil {
		t.Fatalf("a clean payment was reviewed")
	}
	if o := orderByPO(t, r.harness, "FRAUD-O2"); o.Status != "open" {
		t.Fatalf("clean order: %s\n%s", o.Status, lastErrors(t, r.harness))
	}
}

// Opayo's ReD/T3M screening reaches the policy: HOLD is a review (with the score kept), REJECT
// rejects — a Deferred is aborted, a payment voided — as does a CV2 mismatch the policy rejects.
func TestFraudPolicyOpayoT3MAndRejections(t *testing.T) {
	r := newFraudRig(t, hubsync.FraudPolicy{CVCMismatch: "reject", ReviewScore: 40})

	held := r.opPayment(t, "FRAUD-T1", opayo.TransactionPayment, "123")
	r.t3m.screen("FRAUD-T1", "41", "HOLD")
	r.deliver(t, "opayo", held)
	pay := paymentByTxn(t, r.harness, "opayo", held)
	if deref(pay.RiskDecision) != "review" || pay.RiskScore == nil || *pay.RiskScore != 41 {
		t.Fatalf("T3M not carried: %v %v", deref(pay.RiskDecision), pay.RiskScore)
	}
	fr := r.review(t, pay.ID)
	if fr.Status != "open" || fr.GatewayDecision != "review" || !reflect.DeepEqual(reasonsOf(t, fr),
		[]string{"ReD/T3M fraud screening sent the payment to review (T3M action HOLD)", "ReD/T3M score 41 ≥ review threshold 40"}) {
		t.Fatalf("T3M HOLD review: %+v %s", fr, fr.Reasons)
	}
	if o := orderByPO(t, r.harness, "FRAUD-T1"); o.Status != "on_hold" {
		t.Fatalf("order of a T3M HOLD: %s", o.Status)
	}

	deferred := r.opPayment(t, "FRAUD-T2", opayo.TransactionDeferred, "123")
	r.t3m.screen("FRAUD-T2", "7", "REJECT")
	sale := r.opPayment(t, "FRAUD-T3", opayo.TransactionPayment, "999")
	for range 2 {
		r.deliver(t, "opayo", deferred)
		r.deliver(t, "opayo", sale)
	}
	waitFor(t, "the rejections", func() bool {
		return countRows(t, r.harness, `SELECT count(*) FROM events WHERE kind = 'fraud.payment_rejected'`) == 2
	})
	r.idle(t)
	for _, c := range []struct {
		id, po, instruction, reason string
	}{
		{deferred, "FRAUD-T2", "abort", "ReD/T3M fraud screening rejected the payment (T3M action REJECT)"},
		{sale, "FRAUD-T3", "void", "CV2 did not match"},
	} {
		if got := r.opInstructions(c.id); !reflect.DeepEqual(got, []string{c.instruction}) {
			t.Errorf("%s: instructions at Opayo %v, want [%s]", c.po, got, c.instruction)
		}
		p := paymentByTxn(t, r.harness, "opayo", c.id)
		fr := r.review(t, p.ID)
		if p.Status != "voided" || fr.Status != "rejected" || deref(fr.DecidedBy) != "policy" || !reflect.DeepEqual(reasonsOf(t, fr), []string{c.reason}) {
			t.Errorf("%s: payment %s, review %+v %s", c.po, p.Status, fr, fr.Reasons)
		}
		if o := orderByPO(t, r.harness, c.po); o.Status != "cancelled" || !strings.Contains(deref(o.HoldReason), c.reason) {
			t.Errorf("%s: order %s %q", c.po, o.Status, deref(o.HoldReason))
		}
		if n := r.events(t, "fraud.payment_rejected", p.ID); n != 1 {
			t.Errorf("%s: %d fraud.payment_rejected events", c.po, n)
		}
	}
	if n := countRows(t, r.harness, `SELECT count(*) FROM erp_postings`); n != 0 {
		t.Errorf("%d SYSPRO postings for orders under review or rejected", n)
	}
}
