package cybersource

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeTransientToken builds header.payload.signature from raw JSON parts.
func fakeTransientToken(header, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(payload)) + "." + enc([]byte("not-a-real-signature"))
}

// docTokenPayload is the documented Microform v2 "token payload for accepting card information".
const docTokenPayload = `{"iss":"Flex/08","exp":1728911080,"type":"mf-2.0.0","iat":1728910180,
 "jti":"1D1S6JK9RL6EK667H1I370689A63I2I8YLFJSPJ1EUSKIPMJJWEL670D16E89AF8",
 "content":{"paymentInformation":{"card":{"expirationYear":{"value":"2025"},
  "number":{"detectedCardTypes":["001"],"maskedValue":"XXXXXXXXXXXX1111","bin":"411111"},
  "securityCode":{},"expirationMonth":{"value":"01"}}}}}`

func TestCreatePaymentSendsTheTransientToken(t *testing.T) {
	t.Parallel()
	c, f := newFakeClient(t, AuthJWT, answer(201, `{"id":"1","status":"AUTHORIZED"}`))
	token := fakeTransientToken(`{"kid":"k","alg":"RS256"}`, docTokenPayload)
	_, err := c.CreatePayment(t.Context(), PaymentRequest{
		Reference: "TT-1", TransientTokenJWT: " " + token + "\n", Capture: true,
		Amount: dec("10"), Currency: "USD", BillTo: &Address{Country: "US"}, ShippingAddressID: "SA1",
	})
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, f.last(t).Body, `{"clientReferenceInformation":{"code":"TT-1"},"processingInformation":{"capture":true},
		"paymentInformation":{"shippingAddress":{"id":"SA1"}},
		"tokenInformation":{"transientTokenJwt":"`+token+`"},
		"orderInformation":{"amountDetails":{"totalAmount":"10.00","currency":"USD"},"billTo":{"country":"US"}}}`)
}

func TestTransientTokenStandsAlone(t *testing.T) {
	t.Parallel()
	c, f := newFakeClient(t, AuthHTTPSignature, answer(201, `{"id":"1","status":"AUTHORIZED"}`))
	token := fakeTransientToken(`{"kid":"k","alg":"RS256"}`, docTokenPayload)
	base := PaymentRequest{Reference: "TT-2", TransientTokenJWT: token, Amount: dec("1"), Currency: "USD"}
	for name, mod := range map[string]func(*PaymentRequest){
		"card":                  func(p *PaymentRequest) { p.Card = &Card{Number: testPAN, SecurityCode: testCVV} },
		"customer":              func(p *PaymentRequest) { p.CustomerID = "C1" },
		"payment instrument":    func(p *PaymentRequest) { p.PaymentInstrumentID = "PI1" },
		"instrument identifier": func(p *PaymentRequest) { p.InstrumentIdentifierID = "7010000000016241111" },
		"blank token":           func(p *PaymentRequest) { p.TransientTokenJWT = "  " },
	} {
		p := base
		mod(&p)
		_, err := c.CreatePayment(t.Context(), p)
		if !IsInvalidRequest(err) || OutcomeUnknown(err) {
			t.Errorf("%s: err = %v, want a local invalid request", name, err)
			continue
		}
		if s := fmt.Sprintf("%v %+v %#v", err, err, err); strings.Contains(s, token) || strings.Contains(s, testPAN) || strings.Contains(s, testCVV) {
			t.Errorf("%s: error holds the token or card: %s", name, s)
		}
	}
	f.mu.Lock()
	sent := len(f.reqs)
	f.mu.Unlock()
	if sent != 0 {
		t.Fatalf("%d refused requests reached the server", sent)
	}
}

func TestParseTransientTokenReadsTheDocumentedPayload(t *testing.T) {
	t.Parallel()
	info, err := ParseTransientToken(fakeTransientToken(`{"kid":"3g","alg":"RS256"}`, docTokenPayload))
	if err != nil {
		t.Fatal(err)
	}
	want := TransientTokenInfo{
		JTI: "1D1S6JK9RL6EK667H1I370689A63I2I8YLFJSPJ1EUSKIPMJJWEL670D16E89AF8", Issuer: "Flex/08", Version: "mf-2.0.0",
		IssuedAt: time.Unix(1728910180, 0).UTC(), ExpiresAt: time.Unix(1728911080, 0).UTC(),
		MaskedNumber: "XXXXXXXXXXXX1111", BIN: "411111", LastFour: "1111", CardType: "001", DetectedCardTypes: []string{"001"},
		ExpirationMonth: "01", ExpirationYear: "2025",
	}
	if fmt.Sprintf("%#v", info) != fmt.Sprintf("%#v", want) {
		t.Fatalf("info\n %#v\nwant\n %#v", info, want)
	}
	if info.Expired(want.ExpiresAt.Add(-time.Second)) || !info.Expired(want.ExpiresAt) {
		t.Error("Expired is wrong around exp")
	}
	if info.ExpiresAt.Sub(info.IssuedAt) != TransientTokenLifetime {
		t.Errorf("lifetime %s", info.ExpiresAt.Sub(info.IssuedAt))
	}
}

func TestParseTransientTokenLenientShapes(t *testing.T) {
	t.Parallel()
	// Padded base64, plain-string card fields, a fractional exp and a card.type: all accepted.
	enc := base64.URLEncoding.EncodeToString
	token := enc([]byte(`{"alg":"RS256"}`)) + "." +
		enc([]byte(`{"jti":"J1","exp":1728911080.5,"content":{"paymentInformation":{"card":{"number":{"maskedValue":"XXXXXXXXXXX0005"},"type":"003","expirationMonth":"12","expirationYear":2031}}}}`)) +
		".c2ln"
	info, err := ParseTransientToken(token)
	if err != nil {
		t.Fatal(err)
	}
	if info.JTI != "J1" || info.LastFour != "0005" || info.CardType != "003" || info.ExpirationMonth != "12" || info.ExpirationYear != "2031" ||
		!info.IssuedAt.IsZero() || info.ExpiresAt != time.Unix(1728911080, 5e8).UTC() {
		t.Fatalf("info %#v", info)
	}
}

func TestParseTransientTokenRefusesMalformedTokensWithoutEchoingThem(t *testing.T) {
	t.Parallel()
	enc := base64.RawURLEncoding.EncodeToString
	header := enc([]byte(`{"alg":"RS256"}`))
	sig := enc([]byte("sig"))
	bad := map[string]string{
		"empty":             "",
		"two parts":         header + "." + enc([]byte(docTokenPayload)),
		"four parts":        header + "." + enc([]byte(docTokenPayload)) + "." + sig + "." + sig,
		"empty signature":   header + "." + enc([]byte(docTokenPayload)) + ".",
		"header not JSON":   enc([]byte("4111111111111111")) + "." + enc([]byte(docTokenPayload)) + "." + sig,
		"no alg":            enc([]byte(`{"kid":"x"}`)) + "." + enc([]byte(docTokenPayload)) + "." + sig,
		"payload not b64":   header + ".4111111111111111!" + "." + sig,
		"payload array":     header + "." + enc([]byte(`["4111111111111111"]`)) + "." + sig,
		"no jti":            header + "." + enc([]byte(`{"exp":1728911080}`)) + "." + sig,
		"no exp":            header + "." + enc([]byte(`{"jti":"J"}`)) + "." + sig,
		"string exp":        header + "." + enc([]byte(`{"jti":"J","exp":"tomorrow"}`)) + "." + sig,
		"zero exp":          header + "." + enc([]byte(`{"jti":"J","exp":0}`)) + "." + sig,
		"signature not b64": header + "." + enc([]byte(docTokenPayload)) + ".%%%",
		"too long":          header + "." + strings.Repeat("A", maxTransientTokenBytes) + "." + sig,
	}
	for name, token := range bad {
		info, err := ParseTransientToken(token)
		if !IsInvalidRequest(err) {
			t.Errorf("%s: err = %v, info %#v", name, err, info)
			continue
		}
		s := fmt.Sprintf("%v %+v %#v", err, err, err)
		if strings.Contains(s, "4111111111111111") || (len(token) > 20 && strings.Contains(s, token[:20])) {
			t.Errorf("%s: error echoes the token: %s", name, s)
		}
	}
}
