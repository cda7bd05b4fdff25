package cybersourcesim

import (
	"net/http"
	"testing"
)

func TestCapturesMayNotExceedTheAuthorization(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.pay(t, paymentReq("cap-1", "100.00", CardVisa)).str("id")
	c1 := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+id+"/captures", amountBody("cap-1", "60.00"))
	if c1.str("status") != "PENDING" || c1.str("orderInformation.amountDetails.totalAmount") != "60.00" ||
		c1.str("_links.self.href") != "/pts/v2/captures/"+c1.str("id") || c1.str("_links.void.href") == "" || c1.str("_links.refund.href") == "" {
		t.Fatalf("capture answer: %s", c1.raw)
	}
	r := b.do(t, http.MethodPost, "/pts/v2/payments/"+id+"/captures", amountBody("cap-1", "40.01"))
	if r.status != http.StatusBadRequest || r.str("reason") != "EXCEEDS_AUTH_AMOUNT" {
		t.Fatalf("over-capture: %d %s", r.status, r.raw)
	}
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+id+"/captures", amountBody("cap-1", "40.00"))
	p, _ := b.sim.State().Transaction(id)
	if p.CapturedAmount.String() != "100" || len(p.FollowOns) != 2 {
		t.Fatalf("payment after captures: %+v", p)
	}
	c, _ := b.sim.State().Transaction(c1.str("id"))
	if c.Kind != KindCapture || c.ParentID != id || c.RootID != id {
		t.Fatalf("capture links: %+v", c)
	}
	// GET on the capture's self link.
	if g := b.must(t, http.StatusOK, http.MethodGet, "/pts/v2/captures/"+c1.str("id"), nil); g.str("id") != c1.str("id") {
		t.Fatalf("GET capture: %s", g.raw)
	}
}

func TestCaptureErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	declined := b.pay(t, paymentReq("ce-1", "10.00", CardDeclined)).str("id")
	reversed := b.pay(t, set(paymentReq("ce-2", "10.00", CardVisa), "orderInformation.billTo.email", "reject@x.com")).str("id")
	ok := b.pay(t, paymentReq("ce-3", "10.00", CardVisa)).str("id")
	cases := []struct {
		name, path string
		body       map[string]any
		status     int
		reason     string
	}{
		{"declined authorization", "/pts/v2/payments/" + declined + "/captures", amountBody("", "10.00"), 400, "MISSING_AUTH"},
		{"reversed authorization", "/pts/v2/payments/" + reversed + "/captures", amountBody("", "10.00"), 400, "AUTH_ALREADY_REVERSED"},
		{"unknown payment", "/pts/v2/payments/1234567890123456789012/captures", amountBody("", "10.00"), 404, "NOT_FOUND"},
		{"missing amount", "/pts/v2/payments/" + ok + "/captures", map[string]any{}, 400, "MISSING_FIELD"},
		{"other currency", "/pts/v2/payments/" + ok + "/captures", set(amountBody("", "1.00"), "orderInformation.amountDetails.currency", "EUR"), 400, "INVALID_DATA"},
	}
	for _, c := range cases {
		r := b.do(t, http.MethodPost, c.path, c.body)
		if r.status != c.status || r.str("reason") != c.reason {
			t.Errorf("%s: %d %s", c.name, r.status, r.raw)
		}
	}
	nf := b.do(t, http.MethodGet, "/pts/v2/refunds/1234567890123456789012", nil)
	if nf.status != 404 || nf.str("status") != "NOT_FOUND" || nf.str("message") == "" || nf.str("submitTimeUtc") == "" {
		t.Fatalf("404 shape: %s", nf.raw)
	}
}

func TestRefundsMayNotExceedWhatWasCaptured(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	saleID := b.pay(t, sale(paymentReq("rf-1", "50.00", CardVisa))).str("id")
	r1 := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+saleID+"/refunds", amountBody("rf-1", "30.00"))
	if r1.str("status") != "PENDING" || r1.str("refundAmountDetails.refundAmount") != "30.00" ||
		r1.str("_links.void.href") != "/pts/v2/refunds/"+r1.str("id")+"/voids" {
		t.Fatalf("refund answer: %s", r1.raw)
	}
	if r := b.do(t, http.MethodPost, "/pts/v2/payments/"+saleID+"/refunds", amountBody("rf-1", "20.01")); r.status != 400 || r.str("reason") != "INVALID_AMOUNT" {
		t.Fatalf("over-refund: %d %s", r.status, r.raw)
	}
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+saleID+"/refunds", amountBody("rf-1", "20.00"))

	// Refunds of a capture count against the capture and the payment.
	authID := b.pay(t, paymentReq("rf-2", "80.00", CardVisa)).str("id")
	if r := b.do(t, http.MethodPost, "/pts/v2/payments/"+authID+"/refunds", amountBody("rf-2", "1.00")); r.str("reason") != "INVALID_AMOUNT" {
		t.Fatalf("refund of an uncaptured authorization: %s", r.raw)
	}
	capID := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+authID+"/captures", amountBody("rf-2", "50.00")).str("id")
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/captures/"+capID+"/refunds", amountBody("rf-2", "40.00"))
	if r := b.do(t, http.MethodPost, "/pts/v2/captures/"+capID+"/refunds", amountBody("rf-2", "10.01")); r.str("reason") != "INVALID_AMOUNT" {
		t.Fatalf("over-refund of a capture: %s", r.raw)
	}
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+authID+"/refunds", amountBody("rf-2", "10.00"))
	if r := b.do(t, http.MethodPost, "/pts/v2/captures/"+capID+"/refunds", amountBody("rf-2", "0.01")); r.str("reason") != "INVALID_AMOUNT" {
		t.Fatalf("refund beyond the payment's captures: %s", r.raw)
	}
	snap := b.sim.State()
	p, _ := snap.Transaction(authID)
	c, _ := snap.Transaction(capID)
	if p.RefundedAmount.String() != "50" || c.RefundedAmount.String() != "40" || len(snap.Refunds) != 4 {
		t.Fatalf("refund totals: payment %s capture %s, %d refunds", p.RefundedAmount, c.RefundedAmount, len(snap.Refunds))
	}
}

func TestVoidsBeforeBatchingOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	saleID := b.pay(t, sale(paymentReq("vd-1", "30.00", CardVisa))).str("id")
	v := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+saleID+"/voids", map[string]any{"clientReferenceInformation": map[string]any{"code": "vd-1"}})
	if v.str("status") != "VOIDED" || v.str("voidAmountDetails.voidAmount") != "30.00" || v.str("voidAmountDetails.originalTransactionAmount") != "30.00" {
		t.Fatalf("void answer: %s", v.raw)
	}
	if r := b.do(t, http.MethodPost, "/pts/v2/payments/"+saleID+"/voids", nil); r.str("reason") != "NOT_VOIDABLE" {
		t.Fatalf("second void: %s", r.raw)
	}
	if r := b.do(t, http.MethodPost, "/pts/v2/payments/"+saleID+"/refunds", amountBody("", "1.00")); r.str("reason") != "CAPTURE_ALREADY_VOIDED" {
		t.Fatalf("refund of a voided sale: %s", r.raw)
	}

	authID := b.pay(t, paymentReq("vd-2", "30.00", CardVisa)).str("id")
	if r := b.do(t, http.MethodPost, "/pts/v2/payments/"+authID+"/voids", nil); r.str("reason") != "NOT_VOIDABLE" {
		t.Fatalf("void of an authorization: %s", r.raw)
	}
	capID := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+authID+"/captures", amountBody("", "30.00")).str("id")
	refundID := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/captures/"+capID+"/refunds", amountBody("", "5.00")).str("id")
	if r := b.do(t, http.MethodPost, "/pts/v2/captures/"+capID+"/voids", nil); r.str("reason") != "NOT_VOIDABLE" {
		t.Fatalf("void of a capture with refunds: %s", r.raw)
	}
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/refunds/"+refundID+"/voids", nil)
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/captures/"+capID+"/voids", nil)
	if r := b.do(t, http.MethodPost, "/pts/v2/captures/"+capID+"/refunds", amountBody("", "1.00")); r.str("reason") != "CAPTURE_ALREADY_VOIDED" {
		t.Fatalf("refund of a voided capture: %s", r.raw)
	}
	p, _ := b.sim.State().Transaction(authID)
	if !p.CapturedAmount.IsZero() || !p.RefundedAmount.IsZero() {
		t.Fatalf("voids did not undo the totals: %+v", p)
	}

	// After the cut-off a capture is batched and can no longer be voided.
	late := b.pay(t, sale(paymentReq("vd-3", "12.00", CardVisa))).str("id")
	b.nextDay(t)
	if r := b.do(t, http.MethodPost, "/pts/v2/payments/"+late+"/voids", nil); r.status != 400 || r.str("reason") != "NOT_VOIDABLE" {
		t.Fatalf("void after batching: %d %s", r.status, r.raw)
	}
	creditID := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/credits", paymentReq("vd-4", "3.00", CardVisa)).str("id")
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/credits/"+creditID+"/voids", nil)
}

func TestReversalsOnUncapturedAuthorizationsOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	rev := func(amount string) map[string]any {
		return map[string]any{"clientReferenceInformation": map[string]any{"code": "rv"},
			"reversalInformation": map[string]any{"amountDetails": map[string]any{"totalAmount": amount}, "reason": "testing"}}
	}
	authID := b.pay(t, paymentReq("rv-1", "70.00", CardVisa)).str("id")
	r := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+authID+"/reversals", rev("70.00"))
	if r.str("status") != "REVERSED" || r.str("reversalAmountDetails.reversedAmount") != "70.00" {
		t.Fatalf("reversal answer: %s", r.raw)
	}
	cases := []struct {
		name, id, amount, reason string
	}{
		{"already reversed", authID, "70.00", "AUTH_ALREADY_REVERSED"},
		{"captured sale", b.pay(t, sale(paymentReq("rv-2", "5.00", CardVisa))).str("id"), "5.00", "TRANSACTION_ALREADY_SETTLED"},
		{"more than authorized", b.pay(t, paymentReq("rv-3", "5.00", CardVisa)).str("id"), "5.01", "INVALID_AMOUNT"},
		{"declined", b.pay(t, paymentReq("rv-4", "5.00", CardDeclined)).str("id"), "5.00", "MISSING_AUTH"},
	}
	for _, c := range cases {
		if r := b.do(t, http.MethodPost, "/pts/v2/payments/"+c.id+"/reversals", rev(c.amount)); r.status != 400 || r.str("reason") != c.reason {
			t.Errorf("%s: %d %s", c.name, r.status, r.raw)
		}
	}
	if r := b.do(t, http.MethodPost, "/pts/v2/payments/"+authID+"/reversals", map[string]any{}); r.str("reason") != "MISSING_FIELD" {
		t.Fatalf("reversal without amount: %s", r.raw)
	}
	p, _ := b.sim.State().Transaction(authID)
	if !p.Reversed || p.Status != StatusReversed {
		t.Fatalf("reversed authorization: %+v", p)
	}
}

func TestTimeoutVoidAndReversalFindTheTransactionByMerchantTransactionID(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	req := sale(paymentReq("tv-1", "15.00", CardServerTimeout))
	set(req, "clientReferenceInformation.transactionId", "mti-sale-1")
	if r := b.do(t, http.MethodPost, "/pts/v2/payments", req); r.status != http.StatusBadGateway {
		t.Fatalf("timeout card: %s", r.raw)
	}
	v := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/voids",
		map[string]any{"clientReferenceInformation": map[string]any{"code": "tv-1", "transactionId": "mti-sale-1"}})
	if v.str("status") != "VOIDED" {
		t.Fatalf("timeout void: %s", v.raw)
	}
	auth := paymentReq("tv-2", "15.00", CardVisa)
	set(auth, "clientReferenceInformation.transactionId", "mti-auth-1")
	authID := b.pay(t, auth).str("id")
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/reversals", map[string]any{
		"clientReferenceInformation": map[string]any{"code": "tv-2", "transactionId": "mti-auth-1"},
		"reversalInformation":        map[string]any{"amountDetails": map[string]any{"totalAmount": "15.00"}}})
	if p, _ := b.sim.State().Transaction(authID); !p.Reversed {
		t.Fatalf("timeout reversal did not reverse: %+v", p)
	}
	if r := b.do(t, http.MethodPost, "/pts/v2/voids", map[string]any{"clientReferenceInformation": map[string]any{"transactionId": "nope"}}); r.status != 404 {
		t.Fatalf("timeout void of nothing: %d %s", r.status, r.raw)
	}
	if r := b.do(t, http.MethodPost, "/pts/v2/reversals", map[string]any{}); r.str("reason") != "MISSING_FIELD" {
		t.Fatalf("timeout reversal without id: %s", r.raw)
	}
}

func TestCreditsAreStandaloneAndPending(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	r := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/credits", paymentReq("cr-1", "8.50", CardAmex))
	if r.str("status") != "PENDING" || r.str("creditAmountDetails.creditAmount") != "8.50" || r.str("_links.self.href") != "/pts/v2/credits/"+r.str("id") {
		t.Fatalf("credit answer: %s", r.raw)
	}
	if g := b.must(t, http.StatusOK, http.MethodGet, "/pts/v2/credits/"+r.str("id"), nil); g.str("status") != "PENDING" {
		t.Fatalf("GET credit: %s", g.raw)
	}
	if r := b.do(t, http.MethodPost, "/pts/v2/credits", set(paymentReq("cr-2", "8.50", CardVisa), "orderInformation.amountDetails.totalAmount", nil)); r.str("reason") != "MISSING_FIELD" {
		t.Fatalf("credit without amount: %s", r.raw)
	}
}
