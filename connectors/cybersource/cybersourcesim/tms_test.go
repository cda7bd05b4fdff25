package cybersourcesim

import (
	"net/http"
	"regexp"
	"testing"
)

var (
	tokenIDPattern      = regexp.MustCompile(`^[0-9A-F]{32}$`)
	identifierIDPattern = regexp.MustCompile(`^[0-9]{16,19}$`)
)

func TestInstrumentIdentifiersTokenizeACardOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	r := b.must(t, http.StatusCreated, http.MethodPost, "/tms/v1/instrumentidentifiers", map[string]any{"card": map[string]any{"number": CardVisa}})
	id := r.str("id")
	if !identifierIDPattern.MatchString(id) || id[len(id)-4:] != "1111" || r.str("card.number") != "411111XXXXXX1111" ||
		r.str("object") != "instrumentIdentifier" || r.str("state") != "ACTIVE" {
		t.Fatalf("instrument identifier: %s", r.raw)
	}
	again := b.must(t, http.StatusOK, http.MethodPost, "/tms/v1/instrumentidentifiers", map[string]any{"card": map[string]any{"number": CardVisa}})
	if again.str("id") != id {
		t.Fatalf("same card, new identifier: %s", again.raw)
	}
	b.must(t, http.StatusOK, http.MethodGet, "/tms/v1/instrumentidentifiers/"+id, nil)
	b.must(t, http.StatusOK, http.MethodPatch, "/tms/v1/instrumentidentifiers/"+id, map[string]any{})

	errs := []struct {
		name   string
		body   map[string]any
		status int
		typ    string
	}{
		{"no number", map[string]any{"card": map[string]any{}}, 400, "missingFields"},
		{"not a card number", map[string]any{"card": map[string]any{"number": "4111111111111112"}}, 400, "invalidFields"},
	}
	for _, c := range errs {
		r := b.do(t, http.MethodPost, "/tms/v1/instrumentidentifiers", c.body)
		if r.status != c.status || r.str("errors.0.type") != c.typ || r.str("errors.0.message") == "" {
			t.Errorf("%s: %d %s", c.name, r.status, r.raw)
		}
	}
	if r := b.do(t, http.MethodGet, "/tms/v1/instrumentidentifiers/7010000000000001111", nil); r.status != 404 || r.str("errors.0.type") != "notFound" {
		t.Fatalf("unknown identifier: %d %s", r.status, r.raw)
	}
}

func TestCustomersAndPaymentInstruments(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	c := b.must(t, http.StatusCreated, http.MethodPost, "/tms/v2/customers", map[string]any{
		"buyerInformation":           map[string]any{"merchantCustomerID": "CUST-001", "email": "jane@example.com"},
		"clientReferenceInformation": map[string]any{"code": "tms-1"}})
	cid := c.str("id")
	if !tokenIDPattern.MatchString(cid) || c.str("buyerInformation.merchantCustomerID") != "CUST-001" ||
		c.str("_links.self.href") != "/tms/v2/customers/"+cid || c.str("metadata.creator") != DefaultMerchantID {
		t.Fatalf("customer: %s", c.raw)
	}
	pi1 := b.must(t, http.StatusCreated, http.MethodPost, "/tms/v2/customers/"+cid+"/payment-instruments", map[string]any{
		"card":                 map[string]any{"expirationMonth": "12", "expirationYear": "2031", "type": "001"},
		"billTo":               map[string]any{"firstName": "Jane", "lastName": "Roe", "address1": "1 High St", "locality": "Leeds", "country": "GB", "email": "jane@example.com"},
		"instrumentIdentifier": map[string]any{"card": map[string]any{"number": CardVisa}}})
	if !tokenIDPattern.MatchString(pi1.str("id")) || pi1.str("default") != "true" || pi1.str("_embedded.instrumentIdentifier.card.number") != "411111XXXXXX1111" {
		t.Fatalf("first payment instrument: %s", pi1.raw)
	}
	ii := b.must(t, http.StatusCreated, http.MethodPost, "/tms/v1/instrumentidentifiers", map[string]any{"card": map[string]any{"number": CardMastercard}}).str("id")
	pi2 := b.must(t, http.StatusCreated, http.MethodPost, "/tms/v2/customers/"+cid+"/payment-instruments", map[string]any{
		"card": map[string]any{"expirationMonth": "01", "expirationYear": "2030"}, "instrumentIdentifier": map[string]any{"id": ii}})
	if pi2.str("default") != "false" {
		t.Fatalf("second instrument became the default: %s", pi2.raw)
	}
	list := b.must(t, http.StatusOK, http.MethodGet, "/tms/v2/customers/"+cid+"/payment-instruments", nil)
	if list.str("total") != "2" || list.str("_embedded.paymentInstruments.1.id") != pi2.str("id") {
		t.Fatalf("list: %s", list.raw)
	}
	got := b.must(t, http.StatusOK, http.MethodGet, "/tms/v2/customers/"+cid, nil)
	if got.str("defaultPaymentInstrument.id") != pi1.str("id") {
		t.Fatalf("default instrument: %s", got.raw)
	}

	// Deleting the default while another exists conflicts; switching the default first works.
	if r := b.do(t, http.MethodDelete, "/tms/v2/customers/"+cid+"/payment-instruments/"+pi1.str("id"), nil); r.status != 409 || r.str("errors.0.type") != "conflict" {
		t.Fatalf("delete default: %d %s", r.status, r.raw)
	}
	if r := b.do(t, http.MethodDelete, "/tms/v1/instrumentidentifiers/"+ii, nil); r.status != 409 {
		t.Fatalf("delete an identifier in use: %d %s", r.status, r.raw)
	}
	b.must(t, http.StatusOK, http.MethodPatch, "/tms/v2/customers/"+cid, map[string]any{"defaultPaymentInstrument": map[string]any{"id": pi2.str("id")}})
	if r := b.do(t, http.MethodDelete, "/tms/v2/customers/"+cid+"/payment-instruments/"+pi1.str("id"), nil); r.status != http.StatusNoContent || len(r.raw) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if r := b.do(t, http.MethodGet, "/tms/v2/customers/"+cid+"/payment-instruments/"+pi1.str("id"), nil); r.status != 410 {
		t.Fatalf("deleted instrument: %d %s", r.status, r.raw)
	}
	b.must(t, http.StatusOK, http.MethodPatch, "/tms/v2/customers/"+cid+"/payment-instruments/"+pi2.str("id"),
		map[string]any{"card": map[string]any{"expirationYear": "2033"}})
	if r := b.must(t, http.StatusOK, http.MethodGet, "/tms/v1/paymentinstruments/"+pi2.str("id"), nil); r.str("card.expirationYear") != "2033" {
		t.Fatalf("patched instrument: %s", r.raw)
	}

	errs := []struct {
		name, method, path string
		body               map[string]any
		status             int
		typ                string
	}{
		{"bad e-mail", http.MethodPost, "/tms/v2/customers", map[string]any{"buyerInformation": map[string]any{"email": "not an address"}}, 400, "invalidFields"},
		{"instrument without expiry", http.MethodPost, "/tms/v2/customers/" + cid + "/payment-instruments", map[string]any{"instrumentIdentifier": map[string]any{"id": ii}}, 400, "missingFields"},
		{"default of another customer", http.MethodPatch, "/tms/v2/customers/" + cid, map[string]any{"defaultPaymentInstrument": map[string]any{"id": "0000"}}, 400, "invalidFields"},
		{"unknown customer", http.MethodGet, "/tms/v2/customers/0123456789ABCDEF0123456789ABCDEF", nil, 404, "notFound"},
	}
	for _, c := range errs {
		if r := b.do(t, c.method, c.path, c.body); r.status != c.status || r.str("errors.0.type") != c.typ {
			t.Errorf("%s: %d %s", c.name, r.status, r.raw)
		}
	}

	b.must(t, http.StatusNoContent, http.MethodDelete, "/tms/v2/customers/"+cid, nil)
	if r := b.do(t, http.MethodGet, "/tms/v2/customers/"+cid, nil); r.status != 410 || r.str("errors.0.type") != "notAvailable" {
		t.Fatalf("deleted customer: %d %s", r.status, r.raw)
	}
	snap := b.sim.State()
	if len(snap.Customers) != 1 || !snap.Customers[0].Deleted || len(snap.PaymentInstruments) != 2 || len(snap.InstrumentIdentifiers) != 2 {
		t.Fatalf("TMS state: %+v", snap)
	}
}

func TestPaymentsWithTokens(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	req := paymentReq("tok-1", "20.00", CardAmex)
	set(req, "processingInformation.actionList", []string{"TOKEN_CREATE"})
	set(req, "processingInformation.actionTokenTypes", []string{"customer", "paymentInstrument"})
	r := b.pay(t, req)
	cid, pid := r.str("tokenInformation.customer.id"), r.str("tokenInformation.paymentInstrument.id")
	if !tokenIDPattern.MatchString(cid) || !tokenIDPattern.MatchString(pid) || r.str("tokenInformation.instrumentIdentifierNew") != "true" ||
		!identifierIDPattern.MatchString(r.str("tokenInformation.instrumentIdentifier.id")) {
		t.Fatalf("TOKEN_CREATE answer: %s", r.raw)
	}

	byCustomer := map[string]any{
		"clientReferenceInformation": map[string]any{"code": "tok-2"},
		"paymentInformation":         map[string]any{"customer": map[string]any{"id": cid}},
		"orderInformation":           map[string]any{"amountDetails": map[string]any{"totalAmount": "7.00", "currency": "USD"}},
	}
	p := b.pay(t, byCustomer)
	if p.str("status") != "AUTHORIZED" || p.str("paymentInformation.card.type") != "003" {
		t.Fatalf("payment by customer token: %s", p.raw)
	}
	byInstrument := set(set(byCustomer, "paymentInformation", map[string]any{"paymentInstrument": map[string]any{"id": pid}}), "clientReferenceInformation.code", "tok-3")
	b.pay(t, byInstrument)
	tx := b.sim.State().ByReference("tok-3")[0]
	if tx.CustomerID != cid || tx.PaymentInstrumentID != pid || tx.Card.Suffix != "0005" || tx.BillTo == nil || tx.BillTo.Email != "test@cybs.com" {
		t.Fatalf("token payment state: %+v", tx)
	}
	// A declined payment creates no tokens.
	declined := set(paymentReq("tok-4", "1.00", CardDeclined), "processingInformation.actionList", []string{"TOKEN_CREATE"})
	if d := b.pay(t, declined); d.str("tokenInformation") != "" {
		t.Fatalf("declined payment made tokens: %s", d.raw)
	}
	// Charging a deleted customer's token is refused.
	b.must(t, http.StatusNoContent, http.MethodDelete, "/tms/v2/customers/"+cid, nil)
	if r := b.do(t, http.MethodPost, "/pts/v2/payments", set(byCustomer, "clientReferenceInformation.code", "tok-5")); r.status != 400 {
		t.Fatalf("payment with a deleted customer: %d %s", r.status, r.raw)
	}
}
