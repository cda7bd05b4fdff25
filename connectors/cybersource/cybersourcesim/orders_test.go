package cybersourcesim

import (
	"net/http"
	"testing"
)

func TestTransactionDetailsShowTheOrderData(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	req := sale(paymentReq("od-1", "52.40", CardVisa))
	set(req, "orderInformation.shipTo", map[string]any{"firstName": "Grace", "lastName": "Hopper", "address1": "2 Dock Lane",
		"address2": "Unit 4", "locality": "Leeds", "administrativeArea": "WYK", "postalCode": "LS1 4AP", "country": "GB",
		"phoneNumber": "+441130000000"})
	set(req, "orderInformation.lineItems", []any{
		map[string]any{"productCode": "WIDGET", "productName": "Blue widget", "productSku": "WID-BLUE-01", "quantity": 2,
			"unitPrice": "20.00", "taxAmount": "4.00", "totalAmount": "44.00"},
		// A number instead of a string, no quantity, no tax, too many decimals: leniently read.
		map[string]any{"productCode": "shipping_only", "productName": "Delivery", "unitPrice": 8.405},
	})
	id := b.pay(t, req).str("id")

	r := b.must(t, http.StatusOK, http.MethodGet, "/tss/v2/transactions/"+id, nil)
	for path, want := range map[string]string{
		"orderInformation.shipTo.firstName":            "Grace",
		"orderInformation.shipTo.address1":             "2 Dock Lane",
		"orderInformation.shipTo.address2":             "Unit 4",
		"orderInformation.shipTo.locality":             "Leeds",
		"orderInformation.shipTo.administrativeArea":   "WYK",
		"orderInformation.shipTo.postalCode":           "LS1 4AP",
		"orderInformation.shipTo.country":              "GB",
		"orderInformation.shipTo.phoneNumber":          "+441130000000",
		"orderInformation.billTo.firstName":            "John",
		"orderInformation.lineItems.0.productCode":     "WIDGET",
		"orderInformation.lineItems.0.productName":     "Blue widget",
		"orderInformation.lineItems.0.productSku":      "WID-BLUE-01",
		"orderInformation.lineItems.0.quantity":        "2",
		"orderInformation.lineItems.0.unitPrice":       "20.00",
		"orderInformation.lineItems.0.taxAmount":       "4.00",
		"orderInformation.lineItems.0.totalAmount":     "44.00",
		"orderInformation.lineItems.1.productCode":     "shipping_only",
		"orderInformation.lineItems.1.productSku":      "",
		"orderInformation.lineItems.1.quantity":        "1",
		"orderInformation.lineItems.1.unitPrice":       "8.40",
		"orderInformation.lineItems.1.taxAmount":       "0.00",
		"orderInformation.lineItems.1.totalAmount":     "",
		"orderInformation.amountDetails.totalAmount":   "52.40",
		"orderInformation.amountDetails.currency":      "USD",
		"applicationInformation.applications.2.name":   "ics_bill",
		"applicationInformation.applications.2.status": "PENDING",
	} {
		if got := r.str(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if q, ok := walk(r.body, "orderInformation.lineItems.0.quantity").(float64); !ok || q != 2 {
		t.Errorf("quantity is %T %v, want the number 2", walk(r.body, "orderInformation.lineItems.0.quantity"), q)
	}

	// The state keeps them too, and a follow-on does not repeat them.
	st := b.sim.State()
	tx, _ := st.Transaction(id)
	if tx.ShipTo == nil || tx.ShipTo.Locality != "Leeds" || len(tx.LineItems) != 2 || tx.LineItems[0].ProductSKU != "WID-BLUE-01" ||
		tx.LineItems[0].Quantity != 2 || !tx.LineItems[1].TotalAmount.Decimal.IsZero() || tx.LineItems[1].TotalAmount.Valid {
		t.Errorf("state: %+v %+v", tx.ShipTo, tx.LineItems)
	}
	refundID := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+id+"/refunds", amountBody("od-1", "8.40")).str("id")
	rf := b.must(t, http.StatusOK, http.MethodGet, "/tss/v2/transactions/"+refundID, nil)
	if rf.str("orderInformation.lineItems") != "" || rf.str("orderInformation.shipTo") != "" {
		t.Errorf("refund repeats the order data: %s", rf.raw)
	}

	// A payment without order data shows none.
	plain := b.pay(t, paymentReq("od-2", "1.00", CardVisa)).str("id")
	p := b.must(t, http.StatusOK, http.MethodGet, "/tss/v2/transactions/"+plain, nil)
	if p.str("orderInformation.lineItems") != "" || p.str("orderInformation.shipTo") != "" {
		t.Errorf("plain payment shows order data: %s", p.raw)
	}
}

func TestLineItemsAreValidated(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	cases := []struct {
		name          string
		item          map[string]any
		reason, field string
	}{
		{"no unit price", map[string]any{"productSku": "A", "quantity": 1}, "MISSING_FIELD", "orderInformation.lineItems[0].unitPrice"},
		{"zero quantity", map[string]any{"productSku": "A", "quantity": 0, "unitPrice": "1.00"}, "INVALID_DATA", "orderInformation.lineItems[0].quantity"},
		{"fractional quantity", map[string]any{"productSku": "A", "quantity": 1.5, "unitPrice": "1.00"}, "INVALID_DATA", "orderInformation.lineItems[0].quantity"},
		{"negative price", map[string]any{"productSku": "A", "unitPrice": "-1.00"}, "INVALID_DATA", "orderInformation.lineItems[0].unitPrice"},
		{"bad tax", map[string]any{"productSku": "A", "unitPrice": "1.00", "taxAmount": "1,00"}, "INVALID_DATA", "orderInformation.lineItems[0].taxAmount"},
	}
	for i, c := range cases {
		req := set(paymentReq("lv-"+string(rune('a'+i)), "1.00", CardVisa), "orderInformation.lineItems", []any{c.item})
		r := b.must(t, http.StatusBadRequest, http.MethodPost, "/pts/v2/payments", req)
		if r.str("reason") != c.reason || r.str("details.0.field") != c.field {
			t.Errorf("%s: %s", c.name, r.raw)
		}
	}
	if n := len(b.sim.State().Transactions); n != 0 {
		t.Errorf("%d transactions created by refused requests", n)
	}
}

func TestTransactionDetailsListTheDecisionManagerRules(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	review := b.pay(t, set(paymentReq("dm-1", "5.00", CardVisa), "orderInformation.billTo.email", "review@example.com")).str("id")
	reject := b.pay(t, set(paymentReq("dm-2", "5.00", CardVisa), "orderInformation.billTo.email", "reject@example.com")).str("id")
	accept := b.pay(t, paymentReq("dm-3", "5.00", CardVisa)).str("id")
	for id, want := range map[string][2]string{review: {RuleReviewEmail, "REVIEW"}, reject: {RuleRejectEmail, "REJECT"}} {
		r := b.must(t, http.StatusOK, http.MethodGet, "/tss/v2/transactions/"+id, nil)
		if r.str("riskInformation.rules.0.name") != want[0] || r.str("riskInformation.rules.0.decision") != want[1] ||
			r.str("riskInformation.profile.decision") != want[1] {
			t.Errorf("%s: riskInformation %s", want[1], r.str("riskInformation"))
		}
	}
	if r := b.must(t, http.StatusOK, http.MethodGet, "/tss/v2/transactions/"+accept, nil); r.str("riskInformation.rules") != "" {
		t.Errorf("accepted payment lists rules: %s", r.str("riskInformation"))
	}
	// The rule stays once the case is resolved.
	if err := b.sim.ResolveReview(review, "ACCEPT", "analyst", "ok"); err != nil {
		t.Fatal(err)
	}
	r := b.must(t, http.StatusOK, http.MethodGet, "/tss/v2/transactions/"+review, nil)
	if r.str("riskInformation.rules.0.name") != RuleReviewEmail || r.str("riskInformation.profile.decision") != "ACCEPT" ||
		r.str("status") != "AUTHORIZED" {
		t.Errorf("resolved review: %s %s", r.str("status"), r.str("riskInformation"))
	}
}
