package opayo

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMerchantSessionKeyCalls(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(r recorded) (int, string) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/GONE") {
			return 404, `{"code":1006,"description":"Merchant Session Keys not found"}`
		}
		status := http.StatusCreated
		if r.Method == http.MethodGet {
			status = http.StatusOK
		}
		return status, `{"merchantSessionKey":"M1E996F5-A9BC-41FE-B088-E5B73DB94277","expiry":"2015-08-11T11:45:16.285+01:00"}`
	})
	c := piClient(t, f)
	ctx := context.Background()
	msk, err := c.CreateMerchantSessionKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2015, 8, 11, 10, 45, 16, 285e6, time.UTC)
	if msk.Key != "M1E996F5-A9BC-41FE-B088-E5B73DB94277" || !msk.Expiry.Equal(want) {
		t.Errorf("msk = %+v", msk)
	}
	r := f.requests()[0]
	if r.Path != "/api/v1/merchant-session-keys" || string(r.Body) != `{"vendorName":"sandbox"}` || !strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") {
		t.Errorf("create request: %s %s %q", r.Path, r.Body, r.Header.Get("Authorization"))
	}
	if _, err := c.CheckMerchantSessionKey(ctx, msk.Key); err != nil {
		t.Errorf("check: %v", err)
	}
	if _, err := c.CheckMerchantSessionKey(ctx, "GONE"); !IsNotFound(err) {
		t.Errorf("check unknown: %v", err)
	}
}

func TestCardIdentifierCallsUseTheSessionKeyAndKeepTheCardOutOfErrors(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(r recorded) (int, string) {
		switch {
		case r.Method == http.MethodPost && r.Path == "/api/v1/card-identifiers":
			if strings.Contains(string(r.Body), `"cardholderName":"BAD"`) {
				return 422, `{"errors":[{"code":1007,"property":"cardDetails.cardNumber","description":"The card number has failed our validity checks and is invalid","clientMessage":"The card number is invalid"}]}`
			}
			return 201, `{"cardIdentifier":"C6F92981-8C2D-457A-AA1E-16EBCD6D3AC6","expiry":"2015-08-11T11:45:16.285+01:00","cardType":"Visa"}`
		case r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/security-code"):
			return 204, ``
		case r.Method == http.MethodDelete:
			return 200, ``
		}
		return 404, ``
	})
	c := piClient(t, f)
	ctx := context.Background()
	card := CardDetails{CardholderName: "SAM JONES", CardNumber: testPAN, ExpiryDate: "1230", SecurityCode: testCVV}
	ci, err := c.CreateCardIdentifier(ctx, "MSK-1", card)
	if err != nil || ci.ID != "C6F92981-8C2D-457A-AA1E-16EBCD6D3AC6" || ci.CardType != "Visa" || ci.Expiry.IsZero() {
		t.Fatalf("create: %+v, %v", ci, err)
	}
	r := f.requests()[0]
	if r.Header.Get("Authorization") != "Bearer MSK-1" {
		t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
	}
	body := decodeJSON(t, r.Body)["cardDetails"].(map[string]any)
	if body["cardNumber"] != testPAN || body["securityCode"] != testCVV || body["expiryDate"] != "1230" || body["cardholderName"] != "SAM JONES" {
		t.Errorf("card details on the wire: %v", body)
	}

	card.CardholderName = "BAD"
	_, err = c.CreateCardIdentifier(ctx, "MSK-1", card)
	if !IsInvalidRequest(err) || !strings.Contains(err.Error(), "cardDetails.cardNumber") {
		t.Errorf("invalid card: %v", err)
	}
	if strings.Contains(err.Error(), testPAN) || strings.Contains(err.Error(), "MSK-1") {
		t.Errorf("error leaks request values: %v", err)
	}

	if err := c.LinkSecurityCode(ctx, "MSK-2", "C6F9", testCVV); err != nil {
		t.Errorf("link: %v", err)
	}
	link := f.requests()[2]
	if link.Path != "/api/v1/card-identifiers/C6F9/security-code" || link.Header.Get("Authorization") != "Bearer MSK-2" || string(link.Body) != `{"securityCode":"123"}` {
		t.Errorf("link request: %s %q %s", link.Path, link.Header.Get("Authorization"), link.Body)
	}
	if err := c.DeleteCardIdentifier(ctx, "C6F9"); err != nil {
		t.Errorf("delete: %v", err)
	}
	del := f.requests()[3]
	if del.Method != http.MethodDelete || del.Path != "/api/v1/card-identifiers/C6F9" || !strings.HasPrefix(del.Header.Get("Authorization"), "Basic ") {
		t.Errorf("delete request: %s %s", del.Method, del.Path)
	}
}

func TestInstructionsSendTheirTypeAndReleaseAmount(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(r recorded) (int, string) {
		if r.Method == http.MethodGet {
			return 200, `{"instructions":[{"instructionType":"release","date":"2015-08-11T11:45:16.285+01:00"},{"instructionType":"void","date":"2018-31-05T10:30"}]}`
		}
		m := decodeJSON(t, r.Body)
		if m["instructionType"] == "release" && m["amount"] == float64(20001) {
			return 403, `{"code":1021,"description":"This release amount will exceed the amount of the original transaction"}`
		}
		return 201, `{"instructionType":"` + m["instructionType"].(string) + `","date":"2015-08-11T11:45:16.285+01:00"}`
	})
	c := piClient(t, f)
	ctx := context.Background()
	calls := []struct {
		name string
		call func() (*Instruction, error)
		want string
	}{
		{"void", func() (*Instruction, error) { return c.Void(ctx, "T1") }, `{"instructionType":"void"}`},
		{"abort", func() (*Instruction, error) { return c.Abort(ctx, "T1") }, `{"instructionType":"abort"}`},
		{"cancel", func() (*Instruction, error) { return c.Cancel(ctx, "T1") }, `{"instructionType":"cancel"}`},
		{"release", func() (*Instruction, error) { return c.Release(ctx, "T1", mustDecimal("100.00"), "GBP") }, `{"instructionType":"release","amount":10000}`},
	}
	for i, tc := range calls {
		in, err := tc.call()
		if err != nil || string(in.Type) != tc.name || in.Date.IsZero() {
			t.Errorf("%s: %+v, %v", tc.name, in, err)
			continue
		}
		r := f.requests()[i]
		if r.Path != "/api/v1/transactions/T1/instructions" || string(r.Body) != tc.want {
			t.Errorf("%s: %s %s", tc.name, r.Path, r.Body)
		}
	}
	if _, err := c.Release(ctx, "T1", mustDecimal("200.01"), "GBP"); !IsBusiness(err) {
		t.Errorf("release over: %v", err)
	}
	if _, err := c.Release(ctx, "T1", mustDecimal("1.001"), "GBP"); !IsInvalidRequest(err) {
		t.Errorf("release with three decimals: %v", err)
	}
	list, err := c.ListInstructions(ctx, "T1")
	if err != nil || len(list) != 2 || list[0].Type != InstructionRelease || list[0].Date.IsZero() || list[1].Type != InstructionVoid || !list[1].Date.IsZero() {
		t.Errorf("list = %+v, %v", list, err)
	}
}

func TestThreeDSecureCompletions(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(r recorded) (int, string) {
		switch {
		case strings.HasSuffix(r.Path, "/3d-secure-challenge"):
			if strings.Contains(string(r.Body), "again") {
				return 403, `{"code":1017,"description":"Operation not allowed for this transaction"}`
			}
			return 201, specTransaction
		case strings.HasSuffix(r.Path, "/3d-secure"):
			return 201, `{"status":"Authenticated"}`
		}
		return 404, ``
	})
	c := piClient(t, f)
	ctx := context.Background()
	tx, err := c.Complete3DSChallenge(ctx, "T1", "cres-value")
	if err != nil || tx.Status != StatusOk {
		t.Fatalf("challenge: %+v, %v", tx, err)
	}
	if r := f.requests()[0]; r.Path != "/api/v1/transactions/T1/3d-secure-challenge" || string(r.Body) != `{"cRes":"cres-value"}` {
		t.Errorf("challenge request %s %s", r.Path, r.Body)
	}
	if _, err := c.Complete3DSChallenge(ctx, "T1", "again"); !IsBusiness(err) {
		t.Errorf("second submit: %v", err)
	}
	res, err := c.Complete3DSv1(ctx, "T1", "parES")
	if err != nil || res.Status != "Authenticated" {
		t.Errorf("3DSv1: %+v, %v", res, err)
	}
	if r := f.requests()[2]; r.Path != "/api/v1/transactions/T1/3d-secure" || string(r.Body) != `{"paRes":"parES"}` {
		t.Errorf("3DSv1 request %s %s", r.Path, r.Body)
	}
}
