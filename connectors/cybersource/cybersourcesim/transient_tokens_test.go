package cybersourcesim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// issue calls POST /_sim/transient-tokens and fails unless it answers 201.
func (b *testBundle) issue(t *testing.T, body string) IssuedTransientToken {
	t.Helper()
	r := b.control(t, http.MethodPost, "/_sim/transient-tokens", body)
	if r.status != http.StatusCreated {
		t.Fatalf("/_sim/transient-tokens %s: %d %s", body, r.status, r.raw)
	}
	var out IssuedTransientToken
	if err := json.Unmarshal(r.raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// tokenReq is paymentReq paying with a transient token instead of a card.
func tokenReq(code, amount, token string) map[string]any {
	req := paymentReq(code, amount, CardVisa)
	delete(req, "paymentInformation")
	req["tokenInformation"] = map[string]any{"transientTokenJwt": token}
	return req
}

func decodePart(t *testing.T, part string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatalf("part is not base64url: %v", err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("part is not JSON: %v %s", err, raw)
	}
	return v
}

func TestTransientTokenShape(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	r := b.control(t, http.MethodPost, "/_sim/transient-tokens",
		`{"number":"4111 1111 1111 1111","expirationMonth":"3","expirationYear":"31","securityCode":"123","type":"001"}`)
	if r.status != http.StatusCreated || strings.Contains(string(r.raw), CardVisa) {
		t.Fatalf("issue: %d %s", r.status, r.raw)
	}
	if len(r.body) != 3 || r.str("jti") == "" || r.str("expiresAt") == "" {
		t.Fatalf("answer keys: %s", r.raw)
	}
	exp, err := time.Parse(time.RFC3339, r.str("expiresAt"))
	if err != nil || exp.Sub(b.sim.Clock().Now()) > TransientTokenLifetime || exp.Sub(b.sim.Clock().Now()) < TransientTokenLifetime-2*time.Second {
		t.Fatalf("expiresAt %q (%v), now %s", r.str("expiresAt"), err, b.sim.Clock().Now())
	}
	parts := strings.Split(r.str("transientToken"), ".")
	if len(parts) != 3 || parts[2] == "" {
		t.Fatalf("token has %d parts", len(parts))
	}
	header := decodePart(t, parts[0])
	if len(header) != 2 || header["kid"] != TransientTokenKeyID || header["alg"] != "RS256" {
		t.Errorf("header %v", header)
	}
	payload := decodePart(t, parts[1])
	claims := response{body: payload}
	iat, _ := payload["iat"].(float64)
	expClaim, _ := payload["exp"].(float64)
	if claims.str("iss") != "Flex/08" || claims.str("type") != "mf-2.0.0" || claims.str("jti") != r.str("jti") || len(claims.str("jti")) != 64 ||
		expClaim-iat != 900 || int64(expClaim) != exp.Unix() {
		t.Errorf("claims %v", payload)
	}
	card := "content.paymentInformation.card."
	if claims.str(card+"number.maskedValue") != "XXXXXXXXXXXX1111" || claims.str(card+"number.bin") != "411111" ||
		claims.str(card+"number.detectedCardTypes") != `["001"]` || claims.str(card+"expirationMonth.value") != "03" ||
		claims.str(card+"expirationYear.value") != "2031" || claims.str(card+"securityCode") != "{}" {
		t.Errorf("card claims %v", payload["content"])
	}
	rawPayload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if strings.Contains(string(rawPayload), CardVisa) || strings.Contains(string(rawPayload), `"123"`) {
		t.Errorf("payload holds the card number or security code: %s", rawPayload)
	}
	// Without a security code the token says none was captured.
	noCVN := b.issue(t, `{"number":"5555555555554444","expirationMonth":"12","expirationYear":"2031"}`)
	p := decodePart(t, strings.Split(noCVN.TransientToken, ".")[1])
	if c := (response{body: p}); c.str(card+"securityCode") != "" || c.str(card+"number.detectedCardTypes") != `["002"]` {
		t.Errorf("no-CVN claims %v", p["content"])
	}
}

func TestTransientTokenIssueRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	for _, body := range []string{
		`not json`,
		`{"expirationMonth":"12","expirationYear":"2031"}`,
		`{"number":"4111-x","expirationMonth":"12","expirationYear":"2031"}`,
		`{"number":"41111111111","expirationMonth":"12","expirationYear":"2031"}`,
		`{"number":"9111111111111111","expirationMonth":"12","expirationYear":"2031"}`,
		`{"number":"4111111111111111","expirationMonth":"12","expirationYear":"2031","type":"002"}`,
		`{"number":"4111111111111111","expirationMonth":"12","expirationYear":"2031","type":"099"}`,
		`{"number":"4111111111111111","expirationYear":"2031"}`,
		`{"number":"4111111111111111","expirationMonth":"13","expirationYear":"2031"}`,
		`{"number":"4111111111111111","expirationMonth":"12","expirationYear":"2031","securityCode":"12"}`,
		`{"number":"378282246310005","expirationMonth":"12","expirationYear":"2031","securityCode":"123"}`,
	} {
		r := b.control(t, http.MethodPost, "/_sim/transient-tokens", body)
		if r.status != http.StatusBadRequest || r.str("error") == "" || strings.Contains(string(r.raw), "4111111111111111") {
			t.Errorf("%s: %d %s", body, r.status, r.raw)
		}
	}
	if n := len(b.sim.State().TransientTokens); n != 0 {
		t.Fatalf("%d tokens issued by refused requests", n)
	}
	if r := b.control(t, http.MethodGet, "/_sim/transient-tokens", ""); r.status == http.StatusCreated || r.status == http.StatusOK {
		t.Errorf("GET /_sim/transient-tokens answered %d", r.status)
	}
}

func TestTransientTokenPaysLikeACard(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	tok := b.issue(t, `{"number":"4111111111111111","expirationMonth":"12","expirationYear":"2031","securityCode":"123"}`)
	req := set(tokenReq("tt-1", "10.00", tok.TransientToken), "processingInformation.actionList", []string{"TOKEN_CREATE"})
	res := b.pay(t, sale(req))
	if res.str("status") != StatusAuthorized || res.str("paymentInformation.card.type") != "001" ||
		res.str("processorInformation.cardVerification.resultCode") != "M" || res.str("tokenInformation.instrumentIdentifier.id") == "" {
		t.Fatalf("payment %s", res.raw)
	}
	id := res.str("id")
	d := b.must(t, http.StatusOK, http.MethodGet, "/tss/v2/transactions/"+id, nil)
	if d.str("paymentInformation.card.suffix") != "1111" || d.str("paymentInformation.card.prefix") != "411111" ||
		d.str("paymentInformation.card.brandName") != "Visa" || d.str("paymentInformation.card.expirationYear") != "2031" ||
		d.str("tokenInformation.jti") != tok.JTI || d.str("applicationInformation.status") != SettlementPending {
		t.Fatalf("details %s", d.raw)
	}
	st := b.sim.State()
	txn, _ := st.Transaction(id)
	if txn.Kind != KindSale || txn.TransientTokenJTI != tok.JTI || txn.Card == nil || txn.Card.Masked != "411111XXXXXX1111" ||
		len(st.InstrumentIdentifiers) != 1 || len(st.TransientTokens) != 1 || st.TransientTokens[0].UsedBy != id {
		t.Fatalf("state %+v tokens %+v", txn, st.TransientTokens)
	}
	// The card data behind a used token is gone from memory.
	b.sim.mu.Lock()
	kept := *b.sim.state.transientTokens[tok.JTI]
	b.sim.mu.Unlock()
	if kept.pan != "" || kept.securityCode != "" {
		t.Fatal("a used token still holds its card")
	}
	// Reuse, same or other reference.
	for _, code := range []string{"tt-2", "tt-3"} {
		r := b.must(t, http.StatusBadRequest, http.MethodPost, "/pts/v2/payments", tokenReq(code, "1.00", tok.TransientToken))
		if r.str("status") != "INVALID_REQUEST" || r.str("reason") != "INVALID_DATA" ||
			r.str("details.0.field") != "tokenInformation.transientTokenJwt" || r.str("details.0.reason") != "INVALID_DATA" ||
			strings.Contains(string(r.raw), tok.TransientToken) {
			t.Fatalf("reuse: %s", r.raw)
		}
	}
}

func TestTransientTokenRefusedWithOtherSources(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	tok := b.issue(t, `{"number":"4111111111111111","expirationMonth":"12","expirationYear":"2031"}`)
	for name, req := range map[string]map[string]any{
		"card number": set(tokenReq("o-1", "1.00", tok.TransientToken), "paymentInformation.card.number", CardVisa),
		"customer":    set(tokenReq("o-2", "1.00", tok.TransientToken), "paymentInformation.customer.id", "C1"),
		"instrument":  set(tokenReq("o-3", "1.00", tok.TransientToken), "paymentInformation.paymentInstrument.id", "P1"),
	} {
		r := b.must(t, http.StatusBadRequest, http.MethodPost, "/pts/v2/payments", req)
		if r.str("reason") != "INVALID_DATA" || r.str("details.0.field") != "tokenInformation.transientTokenJwt" {
			t.Errorf("%s: %s", name, r.raw)
		}
	}
	// Expiry and security code sent beside the token win over the token's, as with an instrument.
	req := set(tokenReq("o-4", "1.00", tok.TransientToken), "paymentInformation.card.securityCode", SecurityCodeCVFailed)
	if r := b.pay(t, req); r.str("status") != StatusAuthorizedPendingReview || r.str("errorInformation.reason") != "CV_FAILED" {
		t.Fatalf("token with security code: %s", r.raw)
	}
}

func TestTransientTokenExpiryAndCredits(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	tok := b.issue(t, `{"number":"4111111111111111","expirationMonth":"12","expirationYear":"2031","securityCode":"123"}`)
	// A stand-alone credit may use a live token and does not consume it.
	credit := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/credits", tokenReq("cr-1", "2.00", tok.TransientToken))
	if credit.str("status") != StatusPending || credit.str("paymentInformation.card.type") != "001" {
		t.Fatalf("credit %s", credit.raw)
	}
	b.sim.Clock().Advance(TransientTokenLifetime - time.Minute)
	b.pay(t, tokenReq("ex-1", "1.00", tok.TransientToken))

	late := b.issue(t, `{"number":"4111111111111111","expirationMonth":"12","expirationYear":"2031","securityCode":"123"}`)
	idle := b.issue(t, `{"number":"4111111111111111","expirationMonth":"12","expirationYear":"2031","securityCode":"123"}`)
	b.control(t, http.MethodPost, "/_sim/clock", `{"advance":"16m"}`)
	r := b.must(t, http.StatusBadRequest, http.MethodPost, "/pts/v2/payments", tokenReq("ex-2", "1.00", late.TransientToken))
	if r.str("reason") != "INVALID_DATA" || !strings.Contains(r.str("message"), "expired") {
		t.Fatalf("expired: %s", r.raw)
	}
	// Issuing another token sweeps the card data of expired ones, even of one never presented.
	b.issue(t, `{"number":"5555555555554444","expirationMonth":"12","expirationYear":"2031"}`)
	b.sim.mu.Lock()
	kept := *b.sim.state.transientTokens[idle.JTI]
	b.sim.mu.Unlock()
	if kept.pan != "" || kept.securityCode != "" {
		t.Fatal("an expired token still holds its card")
	}
	st := b.control(t, http.MethodGet, "/_sim/state", "")
	for _, secret := range []string{CardVisa, CardMastercard, "securityCode"} {
		if strings.Contains(string(st.raw), secret) {
			t.Errorf("/_sim/state holds %q", secret)
		}
	}
}
