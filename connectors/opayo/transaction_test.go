package opayo

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// specTransaction is the 201 example of opayo.md §2.5 (Opayo's OpenAPI and the EBZ/DJ fixtures),
// with retrievalReference as a JSON number.
const specTransaction = `{"transactionId":"T6569400-1516-0A3F-E3FA-7F222CC79221","transactionType":"Payment","status":"Ok",
 "statusCode":"0000","statusDetail":"The Authorisation was Successful.","retrievalReference":8636128,
 "bankResponseCode":"00","bankAuthorisationCode":"999777",
 "paymentMethod":{"card":{"cardType":"Visa","lastFourDigits":"0006","expiryDate":"0317","cardIdentifier":"C6F92981-8C2D-457A-AA1E-16EBCD6D3AC6","reusable":false}},
 "amount":{"totalAmount":3840,"saleAmount":3840,"surchargeAmount":0},"currency":"GBP",
 "3DSecure":{"status":"NotChecked"},
 "avsCvcCheck":{"status":"SecurityCodeMatchOnly","address":"NotMatched","postalCode":"NotMatched","securityCode":"Matched"}}`

func TestParseTransactionReadsTheSpecExample(t *testing.T) {
	t.Parallel()
	tx, err := parseTransaction([]byte(specTransaction), "")
	if err != nil {
		t.Fatal(err)
	}
	if tx.ID != "T6569400-1516-0A3F-E3FA-7F222CC79221" || tx.Type != TransactionPayment || tx.Status != StatusOk ||
		tx.StatusCode != "0000" || tx.RetrievalReference != "8636128" || tx.BankResponseCode != "00" || tx.BankAuthorisationCode != "999777" {
		t.Errorf("header fields: %+v", tx)
	}
	if tx.Card == nil || tx.Card.CardType != "Visa" || tx.Card.LastFourDigits != "0006" || tx.Card.ExpiryDate != "0317" || tx.Card.Reusable {
		t.Errorf("card: %+v", tx.Card)
	}
	if !tx.Amount.Total.Equal(decimal.RequireFromString("38.40")) || !tx.Amount.Sale.Equal(decimal.RequireFromString("38.40")) || !tx.Amount.Surcharge.IsZero() {
		t.Errorf("amount: %+v", tx.Amount)
	}
	if tx.AvsCvcCheck == nil || tx.AvsCvcCheck.Status != "SecurityCodeMatchOnly" || tx.AvsCvcCheck.SecurityCode != "Matched" {
		t.Errorf("avs: %+v", tx.AvsCvcCheck)
	}
	if tx.ThreeDSecureStatus != "NotChecked" || !tx.Succeeded() || tx.Declined() || tx.NeedsChallenge() {
		t.Errorf("3ds/outcome: %+v", tx)
	}
}

func TestParseTransactionReadsPublishedDeclines(t *testing.T) {
	t.Parallel()
	decline := jsonBlocks(t, "pi", "test-card-details.md")[0]
	rejected := readTestdata(t, "pi", "sandbox-accounts-rejected.json")
	cases := []struct {
		name   string
		body   []byte
		status TransactionStatus
		code   string
		id     string
	}{
		{"declined by the bank (test-card-details.md)", decline, StatusNotAuthed, "2000", "786D4F71-C1CB-8065-E609-FB29C026BF91"},
		{"rejected by rules (sandbox-accounts.md)", rejected, StatusRejected, "2001", "759F9DE3-0641-324D-AAF9-825C0608A305"},
	}
	for _, tc := range cases {
		tx, err := parseTransaction(tc.body, "")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tx.Status != tc.status || tx.StatusCode != tc.code || tx.ID != tc.id || !tx.Declined() || tx.Succeeded() {
			t.Errorf("%s: %+v", tc.name, tx)
		}
		if !tx.Amount.Total.Equal(decimal.NewFromInt(100)) || tx.Currency != "GBP" || tx.Card.ExpiryDate != "0320" {
			t.Errorf("%s: amount %v currency %q card %+v", tc.name, tx.Amount.Total, tx.Currency, tx.Card)
		}
	}
}

func TestParseTransactionToleratesTheKnownVariants(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		body  string
		hint  string
		check func(*Transaction) bool
	}{
		{"retrievalReference as string", `{"transactionId":"T","status":"Ok","retrievalReference":"9493946"}`, "",
			func(tx *Transaction) bool { return tx.RetrievalReference == "9493946" }},
		{"statusCode as number", `{"transactionId":"T","status":"NotAuthed","statusCode":2000}`, "",
			func(tx *Transaction) bool { return tx.StatusCode == "2000" }},
		{"card expiry named expiry", `{"transactionId":"T","status":"Ok","paymentMethod":{"card":{"cardType":"Visa","lastFourDigits":"0006","expiry":"1229"}}}`, "",
			func(tx *Transaction) bool { return tx.Card.ExpiryDate == "1229" }},
		{"old avsCvsCheck spelling", `{"transactionId":"T","status":"Ok","avsCvsCheck":{"status":"AllMatched"}}`, "",
			func(tx *Transaction) bool { return tx.AvsCvcCheck != nil && tx.AvsCvcCheck.Status == "AllMatched" }},
		{"amount as a bare integer", `{"transactionId":"T","status":"Ok","amount":567,"currency":"GBP"}`, "",
			func(tx *Transaction) bool { return tx.Amount.Total.Equal(decimal.RequireFromString("5.67")) }},
		{"amount without currency uses the request's", `{"transactionId":"T","status":"Ok","amount":{"totalAmount":1050}}`, "JPY",
			func(tx *Transaction) bool { return tx.Amount.Total.Equal(decimal.NewFromInt(1050)) }},
		{"amount without any currency stays zero", `{"transactionId":"T","status":"Ok","amount":{"totalAmount":1050}}`, "",
			func(tx *Transaction) bool { return tx.Amount.Total.IsZero() }},
		{"3DSv2 challenge", `{"statusCode":"2021","statusDetail":"Please redirect your customer to the ACSURL to complete the 3DS Transaction","transactionId":"T","acsTransId":"A","dsTransId":"D","acsUrl":"https://acs.example/challenge","cReq":"eyJ9","status":"3DAuth"}`, "",
			func(tx *Transaction) bool {
				return tx.NeedsChallenge() && tx.ACSURL == "https://acs.example/challenge" && tx.CReq == "eyJ9" && tx.ACSTransID == "A" && tx.DSTransID == "D"
			}},
		{"3DSv1 redirect", `{"statusCode":"2007","transactionId":"T","acsUrl":"https://acs","paReq":"eJxV","status":"3DAuth"}`, "",
			func(tx *Transaction) bool { return tx.PaReq == "eJxV" && tx.StatusCode == "2007" }},
		{"failed 3DSv2 without transactionType", `{"statusCode":"4026","statusDetail":"3D-Authentication failed.","transactionId":"T","status":"Rejected"}`, "",
			func(tx *Transaction) bool { return tx.Type == "" && tx.Status == StatusRejected && tx.Declined() }},
		{"voided GET", `{"transactionId":"T","transactionType":"Payment","status":"Ok","statusCode":"2005","statusDetail":"The Void was Successful.","retrievalReference":0}`, "",
			func(tx *Transaction) bool { return tx.StatusCode == "2005" && tx.RetrievalReference == "0" }},
		{"additional decline detail", `{"transactionId":"T","status":"NotAuthed","statusCode":"2000","additionalDeclineDetail":{"additionalDeclineCode":"03","additionalDeclineCodeDescription":"DECLINED","additionalDeclineCodeCategory":"03"}}`, "",
			func(tx *Transaction) bool {
				d := tx.AdditionalDeclineDetail
				return d != nil && d.Code == "03" && d.Description == "DECLINED" && d.Category == "03"
			}},
		{"authenticated", `{"transactionId":"T","transactionType":"Authenticate","status":"Authenticated","statusCode":"2010"}`, "",
			func(tx *Transaction) bool { return tx.Succeeded() }},
	}
	for _, tc := range cases {
		tx, err := parseTransaction([]byte(tc.body), tc.hint)
		if err != nil || !tc.check(tx) {
			t.Errorf("%s: %+v, %v", tc.name, tx, err)
		}
	}
	for _, bad := range []string{`[]`, `{}`, `{"transactionId":"T","amount":"12.5"}`, `{"transactionId":"T","retrievalReference":true}`, `not json`} {
		if _, err := parseTransaction([]byte(bad), "GBP"); err == nil {
			t.Errorf("parseTransaction(%s) accepted a body that is not a transaction", bad)
		}
	}
}

func payment() PaymentRequest {
	return PaymentRequest{
		VendorTxCode: "payhub-0001", Amount: decimal.RequireFromString("100.00"), Currency: "GBP", Description: "Order 1",
		Card:              CardMethod{MerchantSessionKey: "M1E996F5-A9BC-41FE-B088-E5B73DB94277", CardIdentifier: "C6F92981-8C2D-457A-AA1E-16EBCD6D3AC6"},
		CustomerFirstName: "Sam", CustomerLastName: "Jones",
		BillingAddress: Address{Address1: "88", City: "London", PostalCode: "412", Country: "GB"},
	}
}

func TestCreateTransactionSendsEachTypeAsPiExpects(t *testing.T) {
	t.Parallel()
	withSCA := payment()
	withSCA.Type = TransactionDeferred
	withSCA.Apply3DSecure = CheckForce
	withSCA.ApplyAvsCvcCheck = CheckDisable
	withSCA.EntryMethod = EntryEcommerce
	withSCA.Card.Save = true
	withSCA.StrongCustomerAuthentication = &StrongCustomerAuthentication{NotificationURL: "https://shop/3ds", BrowserIP: "1.2.3.4",
		BrowserAcceptHeader: "text/html", BrowserLanguage: "en-GB", BrowserUserAgent: "UA", ChallengeWindowSize: "Small", TransType: "GoodsAndServicePurchase"}
	withSCA.CredentialType = &CredentialType{COFUsage: "First", InitiatedType: "CIT"}
	withSCA.ShippingDetails = &ShippingDetails{RecipientFirstName: "Sam", RecipientLastName: "Jones", ShippingAddress1: "1 Road", ShippingCity: "Leeds", ShippingCountry: "GB"}
	reusable := payment()
	reusable.Card = CardMethod{CardIdentifier: "C6F9", Reusable: true}
	reusable.Type = TransactionAuthenticate
	reusable.Amount = decimal.Zero

	cases := []struct {
		name  string
		req   TransactionRequest
		check func(m map[string]any) string
	}{
		{"payment", payment(), func(m map[string]any) string {
			card := m["paymentMethod"].(map[string]any)["card"].(map[string]any)
			switch {
			case m["transactionType"] != "Payment" || m["amount"] != float64(10000) || m["currency"] != "GBP":
				return "type/amount/currency"
			case card["merchantSessionKey"] != "M1E996F5-A9BC-41FE-B088-E5B73DB94277" || card["save"] != nil || card["reusable"] != nil:
				return "card"
			case m["billingAddress"].(map[string]any)["postalCode"] != "412" || m["customerFirstName"] != "Sam":
				return "billing"
			case m["apply3DSecure"] != nil || m["referenceTransactionId"] != nil:
				return "unset fields were sent"
			}
			return ""
		}},
		{"deferred with SCA and save", withSCA, func(m map[string]any) string {
			sca := m["strongCustomerAuthentication"].(map[string]any)
			switch {
			case m["transactionType"] != "Deferred" || m["apply3DSecure"] != "Force" || m["applyAvsCvcCheck"] != "Disable" || m["entryMethod"] != "Ecommerce":
				return "settings"
			case sca["notificationURL"] != "https://shop/3ds" || sca["browserJavascriptEnabled"] != false || sca["transType"] != "GoodsAndServicePurchase":
				return "sca"
			case m["credentialType"].(map[string]any)["cofUsage"] != "First":
				return "credentialType"
			case m["paymentMethod"].(map[string]any)["card"].(map[string]any)["save"] != true:
				return "save"
			case m["shippingDetails"].(map[string]any)["shippingCity"] != "Leeds":
				return "shipping"
			}
			return ""
		}},
		{"zero authenticate with reusable card", reusable, func(m map[string]any) string {
			card := m["paymentMethod"].(map[string]any)["card"].(map[string]any)
			if m["transactionType"] != "Authenticate" || m["amount"] != float64(0) || card["reusable"] != true || card["merchantSessionKey"] != nil {
				return "authenticate"
			}
			return ""
		}},
		{"repeat", RepeatRequest{ReferenceTransactionID: "6FEA2619-2B60-75F0-AF78-4960EDFCB0A1", VendorTxCode: "rpt-1", Amount: decimal.RequireFromString("1050"), Currency: "JPY", Description: "again", GiftAid: true}, func(m map[string]any) string {
			if m["transactionType"] != "Repeat" || m["referenceTransactionId"] != "6FEA2619-2B60-75F0-AF78-4960EDFCB0A1" || m["amount"] != float64(1050) || m["currency"] != "JPY" || m["giftAid"] != true {
				return "repeat"
			}
			return ""
		}},
		{"refund sends no currency", RefundRequest{ReferenceTransactionID: "56A59178-EA46-5731-BBAF-B08415CCE499", VendorTxCode: "rfd-1", Amount: decimal.RequireFromString("0.04"), Currency: "GBP", Description: "Demo Refund"}, func(m map[string]any) string {
			if m["transactionType"] != "Refund" || m["amount"] != float64(4) || m["currency"] != nil || m["paymentMethod"] != nil {
				return "refund"
			}
			return ""
		}},
		{"authorise", AuthoriseRequest{ReferenceTransactionID: "AUTH-1", VendorTxCode: "az-1", Amount: decimal.RequireFromString("12.34"), Currency: "EUR", Description: "ship", ApplyAvsCvcCheck: CheckForce, SecurityCode: testCVV}, func(m map[string]any) string {
			if m["transactionType"] != "Authorise" || m["amount"] != float64(1234) || m["currency"] != nil || m["cv2"] != testCVV || m["applyAvsCvcCheck"] != "Force" {
				return "authorise"
			}
			return ""
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, func(recorded) (int, string) { return http.StatusCreated, specTransaction })
			c := piClient(t, f)
			tx, err := c.CreateTransaction(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if tx.HTTPStatus != http.StatusCreated {
				t.Errorf("HTTPStatus = %d", tx.HTTPStatus)
			}
			r := f.requests()[0]
			if r.Method != http.MethodPost || r.Path != "/api/v1/transactions" || r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("request %s %s %q", r.Method, r.Path, r.Header.Get("Content-Type"))
			}
			wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testKey+":"+testPassword))
			if r.Header.Get("Authorization") != wantAuth {
				t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
			}
			if msg := tc.check(decodeJSON(t, r.Body)); msg != "" {
				t.Errorf("%s wrong in %s", msg, r.Body)
			}
		})
	}
}

func TestCreateTransactionRefusesInvalidRequestsWithoutSending(t *testing.T) {
	t.Parallel()
	tooLong := payment()
	tooLong.VendorTxCode = strings.Repeat("x", 41)
	pennies := payment()
	pennies.Amount = decimal.RequireFromString("10.001")
	yen := RepeatRequest{ReferenceTransactionID: "R", VendorTxCode: "v", Amount: decimal.RequireFromString("10.5"), Currency: "JPY", Description: "d"}
	noMSK := payment()
	noMSK.Card.MerchantSessionKey = ""
	badType := payment()
	badType.Type = TransactionRefund
	noBilling := payment()
	noBilling.BillingAddress.City = ""
	cases := map[string]TransactionRequest{
		"vendorTxCode over 40":        tooLong,
		"three decimals in GBP":       pennies,
		"decimals in JPY":             yen,
		"fresh card without MSK":      noMSK,
		"refund type on payment":      badType,
		"billing city missing":        noBilling,
		"refund without reference":    RefundRequest{VendorTxCode: "v", Amount: decimal.NewFromInt(1), Currency: "GBP", Description: "d"},
		"refund without currency":     RefundRequest{ReferenceTransactionID: "R", VendorTxCode: "v", Amount: decimal.NewFromInt(1), Description: "d"},
		"authorise without reference": AuthoriseRequest{VendorTxCode: "v", Amount: decimal.NewFromInt(1), Currency: "GBP", Description: "d"},
		"repeat without description":  RepeatRequest{ReferenceTransactionID: "R", VendorTxCode: "v", Amount: decimal.NewFromInt(1), Currency: "GBP"},
		"nil":                         nil,
	}
	f := newFake(t, func(recorded) (int, string) { return http.StatusCreated, specTransaction })
	c := piClient(t, f)
	for name, req := range cases {
		if _, err := c.CreateTransaction(context.Background(), req); !IsInvalidRequest(err) {
			t.Errorf("%s: err = %v, want invalid request", name, err)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests reached Opayo", n)
	}
}

func TestCreateTransactionReturnsDeclinesAndChallengesAsTransactions(t *testing.T) {
	t.Parallel()
	decline := jsonBlocks(t, "pi", "test-card-details.md")[0]
	cases := []struct {
		name   string
		status int
		body   string
		want   TransactionStatus
	}{
		{"201 NotAuthed", http.StatusCreated, string(decline), StatusNotAuthed},
		{"202 3DAuth", http.StatusAccepted, `{"statusCode":"2021","transactionId":"T","acsUrl":"https://acs","cReq":"c","status":"3DAuth"}`, Status3DAuth},
	}
	for _, tc := range cases {
		f := newFake(t, func(recorded) (int, string) { return tc.status, tc.body })
		tx, err := piClient(t, f).CreateTransaction(context.Background(), payment())
		if err != nil || tx.Status != tc.want || tx.HTTPStatus != tc.status {
			t.Errorf("%s: %+v, %v", tc.name, tx, err)
		}
	}
}

func TestCreateTransactionFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		body   string
		is     func(error) bool
	}{
		{"duplicate vendorTxCode", 422, `{"errors":[{"code":4042,"description":"The VendorTxCode has been used before."}]}`, IsDuplicateVendorTxCode},
		{"refund over original", 403, `{"code":1018,"description":"This refund amount will exceed the amount of the original transaction"}`, IsBusiness},
		{"bad credentials", 401, `{"code":1002,"description":"Authentication failed"}`, IsConfiguration},
		{"opayo down", 500, `{"code":9999,"description":"An internal error occurred at Sage Pay"}`, IsTransient},
		{"201 that is not a transaction", 201, `<html/>`, IsTransient},
	}
	for _, tc := range cases {
		f := newFake(t, func(recorded) (int, string) { return tc.status, tc.body })
		_, err := piClient(t, f).CreateTransaction(context.Background(), payment())
		if !tc.is(err) {
			t.Errorf("%s: err = %v", tc.name, err)
		}
	}
}

func TestTransportFailureIsTransientAndHidesCredentials(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(recorded) (int, string) { return 200, "" })
	c := piClient(t, f)
	f.srv.Close()
	_, err := c.GetTransaction(context.Background(), "T1")
	if !IsTransient(err) {
		t.Fatalf("err = %v, want transient", err)
	}
	for _, s := range []string{testKey, testPassword, base64.StdEncoding.EncodeToString([]byte(testKey + ":" + testPassword))} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error leaks credentials: %v", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.GetTransaction(ctx, "T1"); !IsTransient(err) || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("cancelled call: %v", err)
	}
}

func TestGetTransactionEscapesTheID(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(recorded) (int, string) { return 404, `{"code":1012,"description":"Transaction not found"}` })
	_, err := piClient(t, f).GetTransaction(context.Background(), "../merchant-session-keys")
	if !IsNotFound(err) {
		t.Errorf("err = %v", err)
	}
	if p := f.requests()[0].RawPath; p != "/api/v1/transactions/..%2Fmerchant-session-keys" {
		t.Errorf("path = %q", p)
	}
}
