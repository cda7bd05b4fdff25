package opayosim

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestSandboxCardOutcomes(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	cases := []struct {
		pan, status, statusCode, cardType, bankCode string
	}{
		{"4929000000006", "Ok", "0000", "Visa", "00"},
		{"4929000005559", "Ok", "0000", "Visa", "00"},
		{"5404000000000001", "Ok", "0000", "MasterCard", "00"},
		{"4462000000000003", "Ok", "0000", "VisaDebit", "00"},
		{"374200000000004", "Ok", "0000", "AmericanExpress", "00"},
		{"4929602110085639", "NotAuthed", "2000", "Visa", "05"},
		{"5403814948608092", "NotAuthed", "2000", "MasterCard", "05"},
	}
	for _, c := range cases {
		status, body := b.pay("Payment", c.pan, 3840)
		if status != http.StatusCreated || str(body, "status") != c.status || str(body, "statusCode") != c.statusCode ||
			str(body, "paymentMethod.card.cardType") != c.cardType || str(body, "bankResponseCode") != c.bankCode {
			t.Errorf("%s: %d %v", c.pan, status, body)
			continue
		}
		if str(body, "paymentMethod.card.lastFourDigits") != c.pan[len(c.pan)-4:] || str(body, "amount.totalAmount") != "3840" ||
			str(body, "currency") != "GBP" || str(body, "3DSecure.status") != "NotChecked" || str(body, "transactionType") != "Payment" {
			t.Errorf("%s: body %v", c.pan, body)
		}
		if !guidPattern.MatchString(str(body, "transactionId")) {
			t.Errorf("%s: transactionId %q", c.pan, str(body, "transactionId"))
		}
		ok := c.status == "Ok"
		if (get(body, "retrievalReference") != nil) != ok || (str(body, "bankAuthorisationCode") != "") != ok {
			t.Errorf("%s: retrievalReference/bankAuthorisationCode presence wrong: %v", c.pan, body)
		}
		if c.status == "NotAuthed" && str(body, "statusDetail") != "The Authorisation was Declined by the bank." {
			t.Errorf("%s: statusDetail %q", c.pan, str(body, "statusDetail"))
		}
	}
}

func TestRetrievalReferenceIsAJSONNumber(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.mustPay("Payment", "4929000000006", 1000)
	status, body := b.pi("GET", "/transactions/"+id, nil)
	if status != http.StatusOK {
		t.Fatalf("GET: %d %v", status, body)
	}
	if _, ok := get(body, "retrievalReference").(json.Number); !ok {
		t.Fatalf("retrievalReference is %T, want a JSON number", get(body, "retrievalReference"))
	}
	if _, ok := get(body, "statusCode").(string); !ok {
		t.Fatalf("statusCode must be a string: %v", body)
	}
	status, body = b.pi("GET", "/transactions/00000000-0000-0000-0000-000000000000", nil)
	wantPiError(t, status, body, http.StatusNotFound, "1012")
	status, body = b.piAuth("GET", "/transactions/"+id, nil, "")
	wantPiError(t, status, body, http.StatusUnauthorized, "1001")
}

func TestAvsCvcChecks(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	cases := []struct {
		name, address1, postcode, cvv, mode          string
		wantStatus, wantAddr, wantPost, wantSec, txs string
	}{
		{"all match", "88", "412", "123", "", "AllMatched", "Matched", "Matched", "Matched", "Ok"},
		{"security code only", "407 St. John Street", "EC1V 4AB", "123", "", "SecurityCodeMatchOnly", "NotMatched", "NotMatched", "Matched", "Ok"},
		{"address only", "88", "412", "999", "", "AddressMatchOnly", "Matched", "Matched", "NotMatched", "Ok"},
		{"nothing", "1 Road", "999", "999", "", "NoMatches", "NotMatched", "NotMatched", "NotMatched", "Ok"},
		{"no cvv", "88", "412", "", "", "AddressMatchOnly", "Matched", "Matched", "NotProvided", "Ok"},
		{"disabled", "88", "412", "123", "Disable", "NotChecked", "NotChecked", "NotChecked", "NotChecked", "Ok"},
		{"forced and failing", "1 Road", "412", "123", "Force", "SecurityCodeMatchOnly", "NotMatched", "Matched", "Matched", "Rejected"},
		{"forced ignoring rules", "1 Road", "412", "123", "ForceIgnoringRules", "SecurityCodeMatchOnly", "NotMatched", "Matched", "Matched", "Ok"},
	}
	for _, c := range cases {
		msk, card := b.card("4929000000006", c.cvv)
		req := paymentBody("Payment", msk, card, 1000)
		req["billingAddress"] = map[string]any{"address1": c.address1, "city": "London", "postalCode": c.postcode, "country": "GB"}
		if c.mode != "" {
			req["applyAvsCvcCheck"] = c.mode
		}
		status, body := b.pi("POST", "/transactions", req)
		got := [5]string{str(body, "avsCvcCheck.status"), str(body, "avsCvcCheck.address"), str(body, "avsCvcCheck.postalCode"),
			str(body, "avsCvcCheck.securityCode"), str(body, "status")}
		want := [5]string{c.wantStatus, c.wantAddr, c.wantPost, c.wantSec, c.txs}
		if status != http.StatusCreated || got != want {
			t.Errorf("%s: %d %v, want %v", c.name, status, got, want)
		}
		if c.txs == "Rejected" && (str(body, "statusCode") != "2001" || get(body, "retrievalReference") != nil) {
			t.Errorf("%s: rejection body %v", c.name, body)
		}
	}
}

func TestTransactionValidationErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	cases := []struct {
		name       string
		mutate     func(map[string]any)
		wantStatus int
		code       string
		property   string
	}{
		{"missing vendorTxCode", func(m map[string]any) { delete(m, "vendorTxCode") }, 422, "1003", "vendorTxCode"},
		{"vendorTxCode too long", func(m map[string]any) { m["vendorTxCode"] = "12345678901234567890123456789012345678901" }, 422, "1004", "vendorTxCode"},
		{"vendorTxCode invalid characters", func(m map[string]any) { m["vendorTxCode"] = "a b" }, 422, "1005", "vendorTxCode"},
		{"amount as string", func(m map[string]any) { m["amount"] = "1000" }, 422, "1016", "amount"},
		{"amount with fraction", func(m map[string]any) { m["amount"] = 10.5 }, 422, "1016", "amount"},
		{"amount zero", func(m map[string]any) { m["amount"] = 0 }, 422, "1009", "amount"},
		{"missing amount", func(m map[string]any) { delete(m, "amount") }, 422, "1003", "amount"},
		{"unknown currency", func(m map[string]any) { m["currency"] = "XYZ" }, 422, "1010", "currency"},
		{"missing description", func(m map[string]any) { m["description"] = "" }, 422, "1003", "description"},
		{"missing first name", func(m map[string]any) { delete(m, "customerFirstName") }, 422, "1003", "customerFirstName"},
		{"missing billing address", func(m map[string]any) { delete(m, "billingAddress") }, 422, "1003", "billingAddress"},
		{"missing city", func(m map[string]any) {
			m["billingAddress"] = map[string]any{"address1": "88", "postalCode": "412", "country": "GB"}
		}, 422, "1003", "billingAddress.city"},
		{"missing postcode", func(m map[string]any) {
			m["billingAddress"] = map[string]any{"address1": "88", "city": "London", "country": "GB"}
		}, 422, "1003", "billingAddress.postalCode"},
		{"US without state", func(m map[string]any) {
			m["billingAddress"] = map[string]any{"address1": "88", "city": "Austin", "postalCode": "412", "country": "US"}
		}, 422, "1003", "billingAddress.state"},
		{"bad country", func(m map[string]any) {
			m["billingAddress"] = map[string]any{"address1": "88", "city": "London", "postalCode": "412", "country": "GBR"}
		}, 422, "1009", "billingAddress.country"},
		{"bad apply3DSecure", func(m map[string]any) { m["apply3DSecure"] = "Always" }, 422, "1009", "apply3DSecure"},
		{"wrong JSON type", func(m map[string]any) { m["giftAid"] = "yes" }, 422, "1009", "giftAid"},
		{"missing payment method", func(m map[string]any) { delete(m, "paymentMethod") }, 422, "1003", "paymentMethod"},
		{"missing transaction type", func(m map[string]any) { delete(m, "transactionType") }, 422, "1003", "transactionType"},
		{"unknown transaction type", func(m map[string]any) { m["transactionType"] = "Sale" }, 422, "1009", "transactionType"},
		{"missing merchant session key", func(m map[string]any) {
			m["paymentMethod"] = map[string]any{"card": map[string]any{"cardIdentifier": m["paymentMethod"].(map[string]any)["card"].(map[string]any)["cardIdentifier"]}}
		}, 422, "1003", "paymentMethod.card.merchantSessionKey"},
		{"unknown card identifier", func(m map[string]any) {
			m["paymentMethod"] = map[string]any{"card": map[string]any{"merchantSessionKey": "X", "cardIdentifier": "NOPE"}}
		}, 422, "1011", "paymentMethod.card.cardIdentifier"},
	}
	for _, c := range cases {
		msk, card := b.card("4929000000006", "123")
		req := paymentBody("Payment", msk, card, 1000)
		c.mutate(req)
		status, body := b.pi("POST", "/transactions", req)
		if status != c.wantStatus || str(body, "errors.0.code") != c.code || str(body, "errors.0.property") != c.property ||
			str(body, "errors.0.description") == "" || str(body, "errors.0.clientMessage") == "" {
			t.Errorf("%s: %d %v, want %d %s on %s", c.name, status, body, c.wantStatus, c.code, c.property)
		}
	}
	status, body := b.pi("POST", "/transactions", "")
	wantPiError(t, status, body, http.StatusUnprocessableEntity, "1015")
	status, body = b.pi("POST", "/transactions", "{not json")
	wantPiError(t, status, body, http.StatusBadRequest, "1000")
	if get(body, "property") != nil {
		t.Fatalf("non-422 error carries a property: %v", body)
	}
	status, body = b.pi("POST", "/transactions", map[string]any{"transactionType": "Payment"})
	if status != 422 || len(get(body, "errors").([]any)) < 5 {
		t.Fatalf("all problems are reported at once: %v", body)
	}
}

func TestDuplicateVendorTxCodePolicies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		policy     DuplicatePolicy
		firstPAN   string
		wantStatus int
		wantCode   string
	}{
		{"default rejects with 4042", DuplicateReject, "4929000000006", 422, "4042"},
		{"4001 variant", DuplicateReject4001, "4929000000006", 422, "4001"},
		{"after success rejects a reuse of a successful code", DuplicateRejectAfterSuccess, "4929000000006", 422, "4042"},
		{"after success allows a reuse of a declined code", DuplicateRejectAfterSuccess, "4929602110085639", 201, ""},
		{"allow", DuplicateAllow, "4929000000006", 201, ""},
	}
	for _, c := range cases {
		b := setup(t, Options{DuplicateVendorTxCode: c.policy})
		msk, card := b.card(c.firstPAN, "123")
		first := paymentBody("Payment", msk, card, 1000)
		if status, body := b.pi("POST", "/transactions", first); status != http.StatusCreated {
			t.Fatalf("%s: first: %d %v", c.name, status, body)
		}
		msk2, card2 := b.card("4929000000006", "123")
		second := paymentBody("Payment", msk2, card2, 1000)
		second["vendorTxCode"] = first["vendorTxCode"]
		status, body := b.pi("POST", "/transactions", second)
		if status != c.wantStatus || (c.wantCode != "" && (str(body, "errors.0.code") != c.wantCode || str(body, "errors.0.property") != "vendorTxCode")) {
			t.Errorf("%s: %d %v", c.name, status, body)
		}
	}
}

func TestRefundsUpToTheOriginalAmount(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.mustPay("Payment", "4929000000006", 1000)
	status, body := b.refund(id, 400)
	if status != http.StatusCreated || str(body, "transactionType") != "Refund" || str(body, "status") != "Ok" || str(body, "currency") != "GBP" {
		t.Fatalf("partial refund: %d %v", status, body)
	}
	if status, body = b.refund(id, 600); status != http.StatusCreated {
		t.Fatalf("remaining refund: %d %v", status, body)
	}
	status, body = b.refund(id, 1)
	wantPiError(t, status, body, http.StatusForbidden, "1018")
	if ts := b.stateOf(id); ts.RefundedMinor != 1000 || ts.RefundedAmount.String() != "10" {
		t.Fatalf("refunded total %+v", ts)
	}

	declined := func() string {
		_, body := b.pay("Payment", "4929602110085639", 500)
		return str(body, "transactionId")
	}()
	status, body = b.refund(declined, 100)
	wantPiError(t, status, body, http.StatusForbidden, "1014")

	status, body = b.refund("00000000-0000-0000-0000-000000000000", 100)
	wantPiError(t, status, body, http.StatusNotFound, "1012")

	status, body = b.pi("POST", "/transactions", map[string]any{"transactionType": "Refund", "vendorTxCode": nextCode("r"), "amount": 1, "description": "x"})
	wantPiError(t, status, body, http.StatusUnprocessableEntity, "1003")
}

func TestRepeatReauthorisesTheOriginalCard(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.mustPay("Payment", "5404000000000001", 1000)
	repeat := map[string]any{"transactionType": "Repeat", "referenceTransactionId": id, "vendorTxCode": nextCode("rep"),
		"amount": 2500, "currency": "GBP", "description": "Monthly"}
	status, body := b.pi("POST", "/transactions", repeat)
	if status != http.StatusCreated || str(body, "status") != "Ok" || str(body, "transactionType") != "Repeat" ||
		str(body, "paymentMethod.card.cardType") != "MasterCard" || str(body, "amount.totalAmount") != "2500" {
		t.Fatalf("repeat: %d %v", status, body)
	}
	declinedID := func() string { _, body := b.pay("Payment", "4929602110085639", 500); return str(body, "transactionId") }()
	repeat["referenceTransactionId"], repeat["vendorTxCode"] = declinedID, nextCode("rep")
	status, body = b.pi("POST", "/transactions", repeat)
	wantPiError(t, status, body, http.StatusForbidden, "1014")
}

func TestAuthenticateThenAuthoriseAndCancel(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	status, body := b.pay("Authenticate", "4929000000006", 1000)
	if status != http.StatusCreated || str(body, "status") != "Registered" || str(body, "statusCode") != "2011" {
		t.Fatalf("authenticate: %d %v", status, body)
	}
	authID := str(body, "transactionId")
	authorise := func(amount int64) (int, map[string]any) {
		return b.pi("POST", "/transactions", map[string]any{"transactionType": "Authorise", "referenceTransactionId": authID,
			"vendorTxCode": nextCode("auth"), "amount": amount, "description": "Capture"})
	}
	if status, body = authorise(1100); status != http.StatusCreated || str(body, "status") != "Ok" || str(body, "transactionType") != "Authorise" {
		t.Fatalf("authorise 110%%: %d %v", status, body)
	}
	status, body = authorise(100)
	wantPiError(t, status, body, http.StatusForbidden, "4044")
	if status, body = authorise(50); status != http.StatusCreated {
		t.Fatalf("authorise up to 115%%: %d %v", status, body)
	}
	status, body = b.instruct(authID, "cancel", 0)
	if status != http.StatusCreated || str(body, "instructionType") != "cancel" {
		t.Fatalf("cancel: %d %v", status, body)
	}
	_, body = b.pi("GET", "/transactions/"+authID, nil)
	if str(body, "statusCode") != "2012" {
		t.Fatalf("after cancel: %v", body)
	}
	status, body = authorise(10)
	wantPiError(t, status, body, http.StatusForbidden, "1014")

	payID := b.mustPay("Payment", "4929000000006", 1000)
	status, body = b.pi("POST", "/transactions", map[string]any{"transactionType": "Authorise", "referenceTransactionId": payID,
		"vendorTxCode": nextCode("auth"), "amount": 100, "description": "Capture"})
	wantPiError(t, status, body, http.StatusForbidden, "1013")
}

func TestZeroValueAuthenticateIsAllowed(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	status, body := b.pay("Authenticate", "4929000000006", 0)
	if status != http.StatusCreated || str(body, "status") != "Registered" {
		t.Fatalf("zero authenticate: %d %v", status, body)
	}
}
