package cybersource_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
)

// These tests pay with Flex transient tokens: the token is issued over HTTP by the simulator's
// /_sim/transient-tokens (the stand-in for the shopper's browser and Microform), then the real
// client pays with it, never seeing a card number.

// simControl calls a /_sim route and returns the status and body.
func simControl(t *testing.T, env simEnv, path, body string) (int, []byte) {
	t.Helper()
	res, err := http.Post(env.url+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, raw
}

// issueToken tokenizes a card through POST /_sim/transient-tokens.
func issueToken(t *testing.T, env simEnv, pan, month, year, cvn string) cybersourcesim.IssuedTransientToken {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"number": pan, "expirationMonth": month, "expirationYear": year, "securityCode": cvn})
	status, raw := simControl(t, env, "/_sim/transient-tokens", string(body))
	if status != http.StatusCreated {
		t.Fatalf("/_sim/transient-tokens: %d %s", status, raw)
	}
	if bytes.Contains(raw, []byte(pan)) || (cvn != "" && bytes.Contains(raw, []byte(`"`+cvn+`"`))) {
		t.Fatalf("the token answer holds the card: %s", raw)
	}
	var tok cybersourcesim.IssuedTransientToken
	if err := json.Unmarshal(raw, &tok); err != nil || tok.TransientToken == "" || tok.JTI == "" || tok.ExpiresAt.IsZero() {
		t.Fatalf("token answer %s: %v", raw, err)
	}
	return tok
}

func tokenPayment(ref, token, amount string) cybersource.PaymentRequest {
	return cybersource.PaymentRequest{Reference: ref, TransientTokenJWT: token, Amount: dec(amount), Currency: "USD",
		BillTo: billTo("test@cybs.com", "94105")}
}

// wantTokenRefused checks the 400 INVALID_DATA naming tokenInformation.transientTokenJwt, and
// that the error does not repeat the token.
func wantTokenRefused(t *testing.T, what string, err error, token string) {
	t.Helper()
	e := wantErr(t, err, cybersource.ClassInvalidRequest, http.StatusBadRequest, "INVALID_DATA")
	if len(e.Details) != 1 || e.Details[0].Field != "tokenInformation.transientTokenJwt" || e.Status != "INVALID_REQUEST" {
		t.Errorf("%s: error %+v, want INVALID_REQUEST with field tokenInformation.transientTokenJwt", what, e)
	}
	if token != "" && strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), token) {
		t.Errorf("%s: the error holds the token", what)
	}
}

func TestSimTransientTokenAuthorizeAndSale(t *testing.T) {
	t.Parallel()
	for _, auth := range authModes {
		t.Run(auth, func(t *testing.T) {
			t.Parallel()
			env := newSimEnv(t, auth, cybersourcesim.Options{})
			ctx := t.Context()

			visa := issueToken(t, env, "4111111111111111", "12", "2031", "123")
			if want := env.sim.Clock().Now().Add(cybersource.TransientTokenLifetime); visa.ExpiresAt.After(want) || want.Sub(visa.ExpiresAt) > 2*time.Second {
				t.Errorf("expiresAt %s, want about %s", visa.ExpiresAt, want)
			}
			info, err := cybersource.ParseTransientToken(visa.TransientToken)
			if err != nil {
				t.Fatal(err)
			}
			if info.JTI != visa.JTI || !info.ExpiresAt.Equal(visa.ExpiresAt) || info.ExpiresAt.Sub(info.IssuedAt) != cybersource.TransientTokenLifetime ||
				info.Issuer != "Flex/08" || info.LastFour != "1111" || info.BIN != "411111" || info.CardType != "001" ||
				info.MaskedNumber != "XXXXXXXXXXXX1111" || info.ExpirationMonth != "12" || info.ExpirationYear != "2031" {
				t.Fatalf("parsed token %#v", info)
			}
			if info.Expired(env.sim.Clock().Now()) {
				t.Fatal("a fresh token parses as expired")
			}

			authz := mustPay(t, env.c, tokenPayment("TT-A1", visa.TransientToken, "25.00"))
			if authz.Status != cybersource.StatusAuthorized || authz.Links.Href("capture") == "" ||
				!authz.OrderInformation.AmountDetails.AuthorizedAmount.Equal(dec("25")) ||
				authz.PaymentInformation.Card.Type != "001" || authz.ProcessorInformation.CardVerification.ResultCode != "M" {
				t.Fatalf("authorization %+v", authz)
			}
			detail, err := env.c.GetTransaction(ctx, authz.ID)
			if err != nil {
				t.Fatal(err)
			}
			card := detail.PaymentInformation.Card
			if card.Type != "001" || card.Prefix != "411111" || card.Suffix != "1111" || card.ExpirationMonth != "12" ||
				card.ExpirationYear != "2031" || detail.TokenInformation.JTI != visa.JTI || !bytes.Contains(detail.Raw, []byte(`"brandName":"Visa"`)) {
				t.Fatalf("transaction details card %+v token %+v\n%s", card, detail.TokenInformation, detail.Raw)
			}
			if _, err := env.c.Capture(ctx, authz.ID, cybersource.CaptureRequest{Reference: "TT-A1-C", Amount: dec("25"), Currency: "USD"}); err != nil {
				t.Fatal(err)
			}

			// Single use: the token has served an authorization.
			_, err = env.c.CreatePayment(ctx, tokenPayment("TT-A2", visa.TransientToken, "5.00"))
			wantTokenRefused(t, "reuse", err, visa.TransientToken)

			// A sale with a Mastercard token whose type the simulator derived from the BIN.
			mc := issueToken(t, env, "5555555555554444", "01", "2030", "")
			p := tokenPayment("TT-S1", mc.TransientToken, "40.00")
			p.Capture = true
			sale := mustPay(t, env.c, p)
			if sale.Status != cybersource.StatusAuthorized || sale.Links.Href("refund") == "" || sale.PaymentInformation.Card.Type != "002" {
				t.Fatalf("sale %+v", sale)
			}
			detail, err = env.c.GetTransaction(ctx, sale.ID)
			if err != nil {
				t.Fatal(err)
			}
			if c := detail.PaymentInformation.Card; c.Type != "002" || c.Suffix != "4444" || c.ExpirationMonth != "01" || c.ExpirationYear != "2030" ||
				!bytes.Contains(detail.Raw, []byte(`"brandName":"MasterCard"`)) {
				t.Fatalf("sale details card %+v", c)
			}
			if _, err := env.c.RefundPayment(ctx, sale.ID, cybersource.RefundRequest{Reference: "TT-S1-R", Amount: dec("40"), Currency: "USD"}); err != nil {
				t.Fatal(err)
			}

			// The state dump shows the tokens masked and never a card number or security code.
			res, err := http.Get(env.url + "/_sim/state")
			if err != nil {
				t.Fatal(err)
			}
			state, _ := io.ReadAll(res.Body)
			res.Body.Close()
			for _, secret := range []string{"4111111111111111", "5555555555554444", "securityCode", visa.TransientToken} {
				if bytes.Contains(state, []byte(secret)) {
					t.Errorf("/_sim/state holds %q", secret)
				}
			}
			var snap cybersourcesim.Snapshot
			if err := json.Unmarshal(state, &snap); err != nil || len(snap.TransientTokens) != 2 || snap.TransientTokens[0].UsedBy != authz.ID ||
				snap.TransientTokens[0].Card.Masked != "411111XXXXXX1111" || snap.TransientTokens[1].UsedBy != sale.ID {
				t.Fatalf("state tokens %+v %v", snap.TransientTokens, err)
			}
		})
	}
}

func TestSimTransientTokenRefusals(t *testing.T) {
	t.Parallel()
	env := newSimEnv(t, cybersource.AuthJWT, cybersourcesim.Options{})
	other := newSimEnv(t, cybersource.AuthJWT, cybersourcesim.Options{})
	ctx := t.Context()

	// Expired: the simulator clock moves past exp (POST /_sim/clock, as a demo would).
	late := issueToken(t, env, "4111111111111111", "12", "2031", "123")
	if status, raw := simControl(t, env, "/_sim/clock", `{"advance":"16m"}`); status != http.StatusOK {
		t.Fatalf("/_sim/clock: %d %s", status, raw)
	}
	if info, err := cybersource.ParseTransientToken(late.TransientToken); err != nil || !info.Expired(env.sim.Clock().Now()) {
		t.Fatalf("ParseTransientToken says the late token is live: %v", err)
	}
	_, err := env.c.CreatePayment(ctx, tokenPayment("TT-X1", late.TransientToken, "1.00"))
	wantTokenRefused(t, "expired", err, late.TransientToken)

	// Issued by another simulator: a well-formed JWT this one never issued.
	foreign := issueToken(t, other, "4111111111111111", "12", "2031", "123")
	_, err = env.c.CreatePayment(ctx, tokenPayment("TT-X2", foreign.TransientToken, "1.00"))
	wantTokenRefused(t, "foreign", err, foreign.TransientToken)

	// Altered: a live token whose payload was edited keeps its jti but loses its signature.
	live := issueToken(t, env, "4111111111111111", "12", "2031", "123")
	parts := strings.Split(live.TransientToken, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = bytes.Replace(payload, []byte(`"12"`), []byte(`"11"`), 1)
	altered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
	_, err = env.c.CreatePayment(ctx, tokenPayment("TT-X3", altered, "1.00"))
	wantTokenRefused(t, "altered", err, altered)

	// Malformed.
	for i, bad := range []string{"not-a-jwt", "a.b.c", parts[0] + "." + parts[1], "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"} {
		_, err = env.c.CreatePayment(ctx, tokenPayment(fmt.Sprintf("TT-M%d", i), bad, "1.00"))
		wantTokenRefused(t, "malformed "+bad, err, "")
	}

	// Card and token together are refused before sending.
	p := tokenPayment("TT-X4", live.TransientToken, "1.00")
	p.Card = &cybersource.Card{Number: "4111111111111111", ExpirationMonth: "12", ExpirationYear: "2031"}
	_, err = env.c.CreatePayment(ctx, p)
	if e := wantErr(t, err, cybersource.ClassInvalidRequest, 0, ""); cybersource.OutcomeUnknown(err) || strings.Contains(e.Error(), live.TransientToken) {
		t.Fatalf("card + token: %v", err)
	}

	// None of the refusals created a transaction, and the live token still pays.
	if n := len(env.sim.State().Transactions); n != 0 {
		t.Fatalf("%d transactions after refusals", n)
	}
	if res := mustPay(t, env.c, tokenPayment("TT-X5", live.TransientToken, "1.00")); res.Status != cybersource.StatusAuthorized {
		t.Fatalf("live token after refusals: %+v", res)
	}
}

func TestSimTransientTokenMagicValues(t *testing.T) {
	t.Parallel()
	env := newSimEnv(t, cybersource.AuthHTTPSignature, cybersourcesim.Options{})
	ctx := t.Context()
	cases := []struct {
		name, pan, month, year, cvn, email, postal string
		status, reason                             string
	}{
		{"processor declined", "4000000000000002", "12", "2031", "123", "", "", cybersource.StatusDeclined, "PROCESSOR_DECLINED"},
		{"insufficient funds", "4000000000009995", "12", "2031", "123", "", "", cybersource.StatusDeclined, "INSUFFICIENT_FUND"},
		{"expired card", "4111111111111111", "01", "2020", "123", "", "", cybersource.StatusDeclined, "EXPIRED_CARD"},
		{"Luhn failure", "4111111111111112", "12", "2031", "123", "", "", cybersource.StatusDeclined, "INVALID_ACCOUNT"},
		{"CVN failed", "4111111111111111", "12", "2031", "999", "", "", cybersource.StatusAuthorizedPendingReview, "CV_FAILED"},
		{"AVS failed", "4111111111111111", "12", "2031", "123", "", "99999", cybersource.StatusAuthorizedPendingReview, "AVS_FAILED"},
		{"DM review", "4111111111111111", "12", "2031", "123", "review@cybs.com", "", cybersource.StatusAuthorizedPendingReview, "DECISION_PROFILE_REVIEW"},
		{"DM reject", "4111111111111111", "12", "2031", "123", "reject@cybs.com", "", cybersource.StatusAuthorizedRiskDeclined, "DECISION_PROFILE_REJECT"},
		{"Amex", "378282246310005", "12", "2031", "1234", "", "", cybersource.StatusAuthorized, ""},
	}
	for i, c := range cases {
		tok := issueToken(t, env, c.pan, c.month, c.year, c.cvn)
		p := tokenPayment(fmt.Sprintf("TT-MAGIC-%d", i), tok.TransientToken, "3.00")
		if c.email != "" {
			p.BillTo.Email = c.email
		}
		if c.postal != "" {
			p.BillTo.PostalCode = c.postal
		}
		res := mustPay(t, env.c, p)
		if res.Status != c.status || res.Reason() != c.reason {
			t.Errorf("%s: %s/%s, want %s/%s", c.name, res.Status, res.Reason(), c.status, c.reason)
		}
		// A decline leaves the token usable; an issuer approval consumes it.
		p.Reference += "-again"
		_, err := env.c.CreatePayment(ctx, p)
		if c.status == cybersource.StatusDeclined {
			if err != nil {
				t.Errorf("%s: a declined token was consumed: %v", c.name, err)
			}
		} else {
			wantTokenRefused(t, c.name+" reuse", err, tok.TransientToken)
		}
	}

	// A token payment without billTo misses the fields a card payment misses.
	tok := issueToken(t, env, "4111111111111111", "12", "2031", "123")
	p := tokenPayment("TT-NOBILL", tok.TransientToken, "3.00")
	p.BillTo = nil
	_, err := env.c.CreatePayment(ctx, p)
	if e := wantErr(t, err, cybersource.ClassInvalidRequest, 400, "MISSING_FIELD"); len(e.Details) != 6 {
		t.Errorf("missing billTo: %+v", e.Details)
	}

	// A SERVER_TIMEOUT payment consumed its token, yet resending it is a DUPLICATE_REQUEST as
	// with a card, so the recovery of OutcomeUnknown works with tokens too.
	tmo := issueToken(t, env, "4000000000000259", "12", "2031", "123")
	p = tokenPayment("TT-TMO", tmo.TransientToken, "12.34")
	_, err = env.c.CreatePayment(ctx, p)
	wantErr(t, err, cybersource.ClassTransient, 502, "SERVER_TIMEOUT")
	if _, err := env.c.CreatePayment(ctx, p); !cybersource.IsDuplicate(err) {
		t.Fatalf("resend after SERVER_TIMEOUT: %v, want DUPLICATE_REQUEST", err)
	}
	p.Reference = "TT-TMO-2"
	_, err = env.c.CreatePayment(ctx, p)
	wantTokenRefused(t, "timeout token reuse", err, tmo.TransientToken)
}
