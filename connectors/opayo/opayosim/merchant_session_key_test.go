package opayosim

import (
	"net/http"
	"testing"
	"time"
)

func TestMerchantSessionKeyLivesFourHundredSeconds(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	status, body := b.pi("POST", "/merchant-session-keys", map[string]any{"vendorName": DefaultVendor})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, body)
	}
	key := str(body, "merchantSessionKey")
	if !guidPattern.MatchString(key) {
		t.Fatalf("key %q is not an upper-case GUID", key)
	}
	expiry, err := time.Parse(time.RFC3339Nano, str(body, "expiry"))
	if err != nil || !expiry.Equal(testStart.Add(400*time.Second)) {
		t.Fatalf("expiry %q (%v), want start+400s", str(body, "expiry"), err)
	}
	if status, got := b.pi("GET", "/merchant-session-keys/"+key, nil); status != http.StatusOK || str(got, "merchantSessionKey") != key {
		t.Fatalf("GET live key: %d %v", status, got)
	}
	if status, _ := b.piAuth("GET", "/merchant-session-keys/"+key, nil, "Bearer "+key); status != http.StatusOK {
		t.Fatalf("GET with the key as bearer: %d", status)
	}
	b.sim.Clock().Advance(401 * time.Second)
	status, body = b.pi("GET", "/merchant-session-keys/"+key, nil)
	wantPiError(t, status, body, http.StatusNotFound, "1006")
	if b.sim.State().ActiveMerchantSessionKeys != 0 || b.sim.State().MerchantSessionKeys != 1 {
		t.Fatalf("state counts %+v", b.sim.State())
	}
}

func TestMerchantSessionKeyRequestErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	cases := []struct {
		name       string
		auth       string
		body       any
		wantStatus int
		wantCode   string
	}{
		{"no credentials", "", map[string]any{"vendorName": DefaultVendor}, 401, "1001"},
		{"wrong password", basic(DefaultIntegrationKey, "nope"), map[string]any{"vendorName": DefaultVendor}, 401, "1002"},
		{"wrong scheme", "Bearer " + DefaultIntegrationKey, map[string]any{"vendorName": DefaultVendor}, 401, "1001"},
		{"another vendor", defaultBasic, map[string]any{"vendorName": "sandbox"}, 401, "1002"},
		{"missing vendorName", defaultBasic, map[string]any{}, 422, "1003"},
		{"empty body", defaultBasic, "", 422, "1015"},
		{"malformed JSON", defaultBasic, "{", 400, "1000"},
	}
	for _, c := range cases {
		status, body := b.piAuth("POST", "/merchant-session-keys", c.body, c.auth)
		code := str(body, "code")
		if code == "" {
			code = str(body, "errors.0.code")
		}
		if status != c.wantStatus || code != c.wantCode {
			t.Errorf("%s: got %d/%s, want %d/%s (%v)", c.name, status, code, c.wantStatus, c.wantCode, body)
		}
	}
	status, body := b.pi("POST", "/merchant-session-keys", map[string]any{})
	if str(body, "errors.0.property") != "vendorName" || str(body, "errors.0.clientMessage") == "" || status != 422 {
		t.Fatalf("422 shape: %v", body)
	}
}

func TestMerchantSessionKeyCreatesOnlyOneCardIdentifier(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	msk, _ := b.card("4929000000006", "123")
	status, body := b.piAuth("POST", "/card-identifiers", map[string]any{"cardDetails": map[string]any{
		"cardholderName": "SAM JONES", "cardNumber": "4929000000006", "expiryDate": "0330"}}, "Bearer "+msk)
	wantPiError(t, status, body, http.StatusUnauthorized, "1002")
}

func TestMerchantSessionKeyRemovedAfterThreeFailedAttempts(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	msk := b.msk()
	bad := map[string]any{"cardDetails": map[string]any{"cardholderName": "SAM", "cardNumber": "4929000000007", "expiryDate": "0330"}}
	for i := 1; i <= 3; i++ {
		status, body := b.piAuth("POST", "/card-identifiers", bad, "Bearer "+msk)
		wantPiError(t, status, body, http.StatusUnprocessableEntity, "1007")
	}
	good := map[string]any{"cardDetails": map[string]any{"cardholderName": "SAM", "cardNumber": "4929000000006", "expiryDate": "0330"}}
	status, body := b.piAuth("POST", "/card-identifiers", good, "Bearer "+msk)
	wantPiError(t, status, body, http.StatusUnauthorized, "1002")
	status, body = b.pi("GET", "/merchant-session-keys/"+msk, nil)
	wantPiError(t, status, body, http.StatusNotFound, "1006")
}

func TestExpiredMerchantSessionKeyCannotCreateCardIdentifier(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	msk := b.msk()
	b.sim.Clock().Advance(400 * time.Second)
	good := map[string]any{"cardDetails": map[string]any{"cardholderName": "SAM", "cardNumber": "4929000000006", "expiryDate": "0330"}}
	status, body := b.piAuth("POST", "/card-identifiers", good, "Bearer "+msk)
	wantPiError(t, status, body, http.StatusUnauthorized, "1002")
	status, body = b.piAuth("POST", "/card-identifiers", good, "")
	wantPiError(t, status, body, http.StatusUnauthorized, "1001")
}
