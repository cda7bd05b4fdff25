package opayosim

import (
	"net/http"
	"regexp"
	"testing"
	"time"
)

var guidPattern = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

func TestCardIdentifierCreated(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	cases := []struct{ pan, cardType string }{
		{"4929000000006", "Visa"},
		{"5404000000000001", "MasterCard"},
		{"4462000000000003", "VisaDebit"},
		{"374200000000004", "AmericanExpress"},
		{"6759000000005", "Maestro"},
		{"4111111111111111", "Visa"}, // not a sandbox card, but Luhn-valid Visa
	}
	for _, c := range cases {
		msk := b.msk()
		status, body := b.piAuth("POST", "/card-identifiers", map[string]any{"cardDetails": map[string]any{
			"cardholderName": "SAM JONES", "cardNumber": c.pan, "expiryDate": "0330", "securityCode": "123"}}, "Bearer "+msk)
		if status != http.StatusCreated || str(body, "cardType") != c.cardType || !guidPattern.MatchString(str(body, "cardIdentifier")) {
			t.Errorf("%s: %d %v, want 201 %s", c.pan, status, body, c.cardType)
			continue
		}
		if exp, err := time.Parse(time.RFC3339Nano, str(body, "expiry")); err != nil || !exp.Equal(testStart.Add(400*time.Second)) {
			t.Errorf("%s: expiry %q", c.pan, str(body, "expiry"))
		}
	}
}

func TestSandboxCardsPassLuhn(t *testing.T) {
	t.Parallel()
	for pan := range sandboxCards {
		if !luhnValid(pan) {
			t.Errorf("%s fails Luhn", pan)
		}
	}
}

func TestCardIdentifierValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	cases := []struct {
		name     string
		details  map[string]any
		code     string
		property string
	}{
		{"missing cardholder", map[string]any{"cardNumber": "4929000000006", "expiryDate": "0330"}, "1003", "cardDetails.cardholderName"},
		{"missing number", map[string]any{"cardholderName": "S", "expiryDate": "0330"}, "1003", "cardDetails.cardNumber"},
		{"letters in number", map[string]any{"cardholderName": "S", "cardNumber": "4929x00000006", "expiryDate": "0330"}, "1005", "cardDetails.cardNumber"},
		{"fails Luhn", map[string]any{"cardholderName": "S", "cardNumber": "4929000000007", "expiryDate": "0330"}, "1007", "cardDetails.cardNumber"},
		{"unknown scheme", map[string]any{"cardholderName": "S", "cardNumber": "9999999999999995", "expiryDate": "0330"}, "1008", "cardDetails.cardNumber"},
		{"expiry not MMYY", map[string]any{"cardholderName": "S", "cardNumber": "4929000000006", "expiryDate": "13/30"}, "1005", "cardDetails.expiryDate"},
		{"expired", map[string]any{"cardholderName": "S", "cardNumber": "4929000000006", "expiryDate": "0326"}, "1009", "cardDetails.expiryDate"},
		{"bad security code", map[string]any{"cardholderName": "S", "cardNumber": "4929000000006", "expiryDate": "0330", "securityCode": "12"}, "1005", "cardDetails.securityCode"},
	}
	for _, c := range cases {
		msk := b.msk()
		status, body := b.piAuth("POST", "/card-identifiers", map[string]any{"cardDetails": c.details}, "Bearer "+msk)
		if status != http.StatusUnprocessableEntity || str(body, "errors.0.code") != c.code || str(body, "errors.0.property") != c.property {
			t.Errorf("%s: %d %v, want 422 %s on %s", c.name, status, body, c.code, c.property)
		}
	}
	// The expiry date is also accepted as "expiry" (OAS2's name).
	msk := b.msk()
	status, body := b.piAuth("POST", "/card-identifiers", map[string]any{"cardDetails": map[string]any{
		"cardholderName": "S", "cardNumber": "4929000000006", "expiry": "0330"}}, "Bearer "+msk)
	if status != http.StatusCreated {
		t.Fatalf("expiry alias: %d %v", status, body)
	}
}

func TestSavedCardIdentifierIsReusableWithLinkedSecurityCode(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	msk, card := b.card("4929000000006", "123")
	req := paymentBody("Payment", msk, card, 1000)
	req["paymentMethod"] = map[string]any{"card": map[string]any{"merchantSessionKey": msk, "cardIdentifier": card, "save": true}}
	status, body := b.pi("POST", "/transactions", req)
	if status != http.StatusCreated || str(body, "paymentMethod.card.reusable") != "true" {
		t.Fatalf("saving payment: %d %v", status, body)
	}

	// Without a linked CVV the reusable card is charged with securityCode NotProvided.
	reuse := paymentBody("Payment", "", card, 500)
	reuse["paymentMethod"] = map[string]any{"card": map[string]any{"cardIdentifier": card, "reusable": true}}
	status, body = b.pi("POST", "/transactions", reuse)
	if status != http.StatusCreated || str(body, "status") != "Ok" || str(body, "avsCvcCheck.securityCode") != "NotProvided" {
		t.Fatalf("reuse without CVV: %d %v", status, body)
	}

	// Linking a CVV with a fresh key makes the next charge check it.
	msk2 := b.msk()
	status, _, raw := b.do("POST", PiBasePath+"/card-identifiers/"+card+"/security-code", "application/json",
		`{"securityCode":"123"}`, map[string]string{"Authorization": "Bearer " + msk2})
	if status != http.StatusNoContent || raw != "" {
		t.Fatalf("link security code: %d %q", status, raw)
	}
	reuse = paymentBody("Payment", msk2, card, 700)
	reuse["paymentMethod"] = map[string]any{"card": map[string]any{"merchantSessionKey": msk2, "cardIdentifier": card, "reusable": true}}
	status, body = b.pi("POST", "/transactions", reuse)
	if status != http.StatusCreated || str(body, "avsCvcCheck.status") != "AllMatched" {
		t.Fatalf("reuse with linked CVV: %d %v", status, body)
	}

	// Saving an already reusable card is refused.
	again := paymentBody("Payment", "", card, 100)
	again["paymentMethod"] = map[string]any{"card": map[string]any{"cardIdentifier": card, "reusable": true, "save": true}}
	status, body = b.pi("POST", "/transactions", again)
	wantPiError(t, status, body, http.StatusUnprocessableEntity, "1020")

	// Reusable cards do not expire with the 400-second window.
	b.sim.Clock().Advance(2 * time.Hour)
	reuse = paymentBody("Payment", "", card, 300)
	reuse["paymentMethod"] = map[string]any{"card": map[string]any{"cardIdentifier": card, "reusable": true}}
	if status, body = b.pi("POST", "/transactions", reuse); status != http.StatusCreated {
		t.Fatalf("reuse two hours later: %d %v", status, body)
	}
	if got := b.sim.State().ReusableCardIdentifiers; got != 1 {
		t.Fatalf("reusable card identifiers = %d", got)
	}

	// DELETE removes it.
	status, _, _ = b.do("DELETE", PiBasePath+"/card-identifiers/"+card, "", "", map[string]string{"Authorization": defaultBasic})
	if status != http.StatusOK {
		t.Fatalf("delete: %d", status)
	}
	status, body = b.pi("DELETE", "/card-identifiers/"+card, nil)
	wantPiError(t, status, body, http.StatusNotFound, "1011")
}

func TestUnsavedCardIdentifierServesOneTransaction(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	msk, card := b.card("4929000000006", "123")
	if status, body := b.pi("POST", "/transactions", paymentBody("Payment", msk, card, 1000)); status != http.StatusCreated {
		t.Fatalf("first use: %d %v", status, body)
	}
	status, body := b.pi("POST", "/transactions", paymentBody("Payment", msk, card, 1000))
	wantPiError(t, status, body, http.StatusUnprocessableEntity, "1011")
	if str(body, "errors.0.property") != "paymentMethod.card.cardIdentifier" {
		t.Fatalf("property: %v", body)
	}
}
