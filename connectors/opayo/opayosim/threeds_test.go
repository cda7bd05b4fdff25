package opayosim

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
var formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)

// hiddenFields returns the hidden inputs of an HTML page.
func hiddenFields(page string) map[string]string {
	out := map[string]string{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		out[m[1]] = m[2]
	}
	return out
}

func sca(notificationURL string) map[string]any {
	return map[string]any{
		"notificationURL": notificationURL, "browserIP": "203.0.113.7", "browserAcceptHeader": "text/html",
		"browserJavascriptEnabled": true, "browserLanguage": "en-GB", "browserUserAgent": "Mozilla/5.0",
		"challengeWindowSize": "Medium", "transType": "GoodsAndServicePurchase",
	}
}

// startChallenge posts a forced-3DS transaction and returns its 202 body.
func (b *bundle) startChallenge(txType, pan, mode string) map[string]any {
	b.t.Helper()
	msk, card := b.card(pan, "123")
	req := paymentBody(txType, msk, card, 5000)
	req["apply3DSecure"] = mode
	req["strongCustomerAuthentication"] = sca("https://shop.example/3ds-return")
	status, body := b.pi("POST", "/transactions", req)
	if status != http.StatusAccepted {
		b.t.Fatalf("want 202, got %d %v", status, body)
	}
	return body
}

// answerACS drives the ACS as the shopper's browser would and returns the cres it posts back.
func (b *bundle) answerACS(challenge map[string]any, password string) string {
	b.t.Helper()
	acs := str(challenge, "acsUrl")
	if acs != b.http.URL+ACSPath {
		b.t.Fatalf("acsUrl %q", acs)
	}
	form := url.Values{"creq": {str(challenge, "cReq")}, "threeDSSessionData": {"c2Vzc2lvbg"}, "password": {password}}
	status, _, page := b.do("POST", ACSPath, "application/x-www-form-urlencoded", form.Encode(), nil)
	if status != http.StatusOK {
		b.t.Fatalf("ACS: %d %s", status, page)
	}
	if m := formAction.FindStringSubmatch(page); m == nil || m[1] != "https://shop.example/3ds-return" {
		b.t.Fatalf("ACS page does not post to the notificationURL:\n%s", page)
	}
	fields := hiddenFields(page)
	if fields["threeDSSessionData"] != "c2Vzc2lvbg" || fields["cres"] == "" {
		b.t.Fatalf("ACS hidden fields %v", fields)
	}
	return fields["cres"]
}

func TestThreeDSChallengeOutcomes(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	cases := []struct {
		password, mode, threeDS, status, statusCode string
	}{
		{"password", "Force", "Authenticated", "Ok", "0000"},
		{"wrong", "Force", "NotAuthenticated", "Rejected", "4026"},
		{"A:D:06", "Force", "AttemptOnly", "Ok", "0000"},
		{"E:N:06", "Force", "Error", "Rejected", "4026"},
		{"U:N:06", "Force", "Incomplete", "Rejected", "4026"},
		{"wrong", "ForceIgnoringRules", "NotAuthenticated", "Ok", "0000"},
	}
	for _, c := range cases {
		ch := b.startChallenge("Payment", "4929000000006", c.mode)
		if str(ch, "statusCode") != "2021" || str(ch, "status") != "3DAuth" || str(ch, "cReq") == "" ||
			str(ch, "acsTransId") == "" || !guidPattern.MatchString(str(ch, "transactionId")) {
			t.Fatalf("202 body %v", ch)
		}
		id := str(ch, "transactionId")
		cres := b.answerACS(ch, c.password)
		status, body := b.pi("POST", "/transactions/"+id+"/3d-secure-challenge", map[string]any{"cRes": cres, "threeDSSessionData": "c2Vzc2lvbg"})
		if status != http.StatusCreated || str(body, "status") != c.status || str(body, "statusCode") != c.statusCode ||
			str(body, "3DSecure.status") != c.threeDS || str(body, "transactionId") != id {
			t.Errorf("%s/%s: %d %v", c.password, c.mode, status, body)
		}
		if c.status == "Ok" && str(body, "avsCvcCheck.status") != "AllMatched" {
			t.Errorf("%s: CVV not carried through the challenge: %v", c.password, body)
		}
		status, body = b.pi("POST", "/transactions/"+id+"/3d-secure-challenge", map[string]any{"cRes": cres})
		wantPiError(t, status, body, http.StatusForbidden, "1017")
		_, got := b.pi("GET", "/transactions/"+id, nil)
		if str(got, "status") != c.status {
			t.Errorf("%s: GET after challenge %v", c.password, got)
		}
	}
}

func TestThreeDSChallengeForAuthenticate(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	ch := b.startChallenge("Authenticate", "4929000000006", "Force")
	cres := b.answerACS(ch, "password")
	status, body := b.pi("POST", "/transactions/"+str(ch, "transactionId")+"/3d-secure-challenge", map[string]any{"cRes": cres})
	if status != http.StatusCreated || str(body, "status") != "Authenticated" || str(body, "statusCode") != "2010" {
		t.Fatalf("authenticate challenge: %d %v", status, body)
	}
}

func TestThreeDSChallengeErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	ch := b.startChallenge("Payment", "4929000000006", "Force")
	id := str(ch, "transactionId")
	status, _ := b.pi("GET", "/transactions/"+id, nil)
	if status != http.StatusOK {
		t.Fatalf("GET during challenge: %d", status)
	}
	status, body := b.pi("POST", "/transactions/"+id+"/3d-secure-challenge", map[string]any{})
	wantPiError(t, status, body, http.StatusUnprocessableEntity, "1003")
	status, body = b.pi("POST", "/transactions/"+id+"/3d-secure-challenge", map[string]any{"cRes": "bm90IGEgY3Jlcw"})
	wantPiError(t, status, body, http.StatusUnprocessableEntity, "1009")
	status, body = b.pi("POST", "/transactions/00000000-0000-0000-0000-000000000000/3d-secure-challenge", map[string]any{"cRes": "x"})
	wantPiError(t, status, body, http.StatusNotFound, "1012")
	paid := b.mustPay("Payment", "4929000000006", 100)
	status, body = b.pi("POST", "/transactions/"+paid+"/3d-secure-challenge", map[string]any{"cRes": "x"})
	wantPiError(t, status, body, http.StatusForbidden, "1017")

	// Without a password the ACS shows its challenge page, which posts back to itself.
	form := url.Values{"creq": {str(ch, "cReq")}, "threeDSSessionData": {"abc"}}
	status, _, page := b.do("POST", ACSPath, "application/x-www-form-urlencoded", form.Encode(), nil)
	if status != http.StatusOK || !strings.Contains(page, `name="password"`) || hiddenFields(page)["creq"] != str(ch, "cReq") {
		t.Fatalf("challenge page: %d\n%s", status, page)
	}
	status, _, _ = b.do("POST", ACSPath, "application/x-www-form-urlencoded", url.Values{"creq": {"garbage"}}.Encode(), nil)
	if status != http.StatusBadRequest {
		t.Fatalf("bad creq: %d", status)
	}
}

func TestThreeDSWithoutChallenge(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	cases := []struct{ pan, threeDS, status, statusCode string }{
		{"4929000005559", "CardNotEnrolled", "Ok", "0000"},
		{"4929000000014", "IssuerNotEnrolled", "Ok", "0000"},
		{"4929000000022", "Error", "Rejected", "4026"},
	}
	for _, c := range cases {
		msk, card := b.card(c.pan, "123")
		req := paymentBody("Payment", msk, card, 1000)
		req["apply3DSecure"] = "Force"
		req["strongCustomerAuthentication"] = sca("https://shop.example/3ds-return")
		status, body := b.pi("POST", "/transactions", req)
		if status != http.StatusCreated || str(body, "3DSecure.status") != c.threeDS || str(body, "status") != c.status || str(body, "statusCode") != c.statusCode {
			t.Errorf("%s: %d %v", c.pan, status, body)
		}
	}
	msk, card := b.card("4929000000006", "123")
	req := paymentBody("Payment", msk, card, 1000)
	req["apply3DSecure"] = "Force"
	status, body := b.pi("POST", "/transactions", req)
	wantPiError(t, status, body, http.StatusUnprocessableEntity, "1003")
	if str(body, "errors.0.property") != "strongCustomerAuthentication" {
		t.Fatalf("property %v", body)
	}
}
