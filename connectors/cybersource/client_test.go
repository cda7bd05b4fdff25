package cybersource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

const (
	testMerchant = "payhub_test"
	testKeyID    = "key-1"
	testSecret   = "dGVzdC1zaGFyZWQtc2VjcmV0LW9mLTMyLWJ5dGVzISE="
	testPAN      = "4111111111111111"
	testCVV      = "737"
)

// recorded is one request as the fake received it.
type recorded struct {
	Method, Path, RawQuery, Accept, ContentType, Host string
	Body                                              []byte
}

// fakeCybersource verifies each request's authentication as Cybersource would and answers with
// respond.
type fakeCybersource struct {
	mu      sync.Mutex
	reqs    []recorded
	respond func(r recorded) (status int, body string)
}

func (f *fakeCybersource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	keys := []SigningKey{{KeyID: testKeyID, MerchantID: testMerchant, Secret: testSecret}}
	var err error
	if r.Header.Get("Signature") != "" {
		_, err = VerifyHTTPSignature(r, body, keys, time.Now(), 0)
	} else {
		_, err = VerifyJWT(r, body, keys, time.Now(), 0)
	}
	if err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"response":{"rmsg":"Authentication Failed: %s"}}`, err)
		return
	}
	rec := recorded{Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Accept: r.Header.Get("Accept"),
		ContentType: r.Header.Get("Content-Type"), Host: r.Host, Body: body}
	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	respond := f.respond
	f.mu.Unlock()
	status, out := http.StatusOK, `{}`
	if respond != nil {
		status, out = respond(rec)
	}
	if strings.HasPrefix(out, "{") {
		w.Header().Set("Content-Type", "application/hal+json")
	}
	w.WriteHeader(status)
	io.WriteString(w, out)
}

func (f *fakeCybersource) last(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("no request reached the server")
	}
	return f.reqs[len(f.reqs)-1]
}

func newFakeClient(t *testing.T, auth string, respond func(recorded) (int, string)) (*Client, *fakeCybersource) {
	t.Helper()
	f := &fakeCybersource{respond: respond}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL, MerchantID: testMerchant, KeyID: testKeyID, Secret: testSecret, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

func answer(status int, body string) func(recorded) (int, string) {
	return func(recorded) (int, string) { return status, body }
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// jsonEqual compares two JSON texts by value.
func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body\n %s\nwant\n %s", got, want)
	}
}

func TestConfigStringRedactsTheSecret(t *testing.T) {
	t.Parallel()
	cfg := Config{BaseURL: SandboxBaseURL, MerchantID: testMerchant, KeyID: testKeyID, Secret: testSecret}
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg)} {
		if strings.Contains(s, testSecret) || !strings.Contains(s, "redacted") {
			t.Errorf("printed config %q", s)
		}
	}
	for _, v := range []fmt.Stringer{
		SigningKey{KeyID: "k", Secret: testSecret}, WebhookKey{ID: "k", Key: testSecret},
	} {
		if strings.Contains(fmt.Sprintf("%v %+v %#v", v, v, v), testSecret) {
			t.Errorf("%T prints its secret", v)
		}
	}
	s, _ := NewHTTPSigner("m", "k", testSecret)
	j, _ := NewJWTSigner("m", "k", testSecret)
	for _, v := range []any{s, j} {
		if strings.Contains(fmt.Sprintf("%v %+v", v, v), "test-shared") {
			t.Errorf("%T prints its key", v)
		}
	}
}

func TestNewRefusesBadConfigurationWithoutEchoingTheSecret(t *testing.T) {
	t.Parallel()
	good := Config{BaseURL: SandboxBaseURL, MerchantID: testMerchant, KeyID: testKeyID, Secret: testSecret}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"relative base URL", func(c *Config) { c.BaseURL = "apitest.cybersource.com" }},
		{"ftp base URL", func(c *Config) { c.BaseURL = "ftp://x" }},
		{"user info in base URL", func(c *Config) { c.BaseURL = "https://u:p@x" }},
		{"no merchant", func(c *Config) { c.MerchantID = "" }},
		{"no key id", func(c *Config) { c.KeyID = "" }},
		{"secret not base64", func(c *Config) { c.Secret = "not base64 %%% " + testSecret }},
		{"empty secret", func(c *Config) { c.Secret = "" }},
		{"jwt with bad secret", func(c *Config) { c.Auth = AuthJWT; c.Secret = "%%%" + testSecret }},
		{"unknown auth", func(c *Config) { c.Auth = "oauth" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tt.edit(&cfg)
			_, err := New(cfg)
			if !IsConfiguration(err) {
				t.Fatalf("err = %v, want a configuration error", err)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Fatalf("error echoes the secret: %v", err)
			}
		})
	}
	if _, err := New(good); err != nil {
		t.Fatal(err)
	}
}

func TestCreatePaymentSendsTheProtocolExampleBody(t *testing.T) {
	t.Parallel()
	c, f := newFakeClient(t, AuthHTTPSignature, answer(201, `{"id":"1","status":"AUTHORIZED"}`))
	_, err := c.CreatePayment(t.Context(), PaymentRequest{
		Reference: "TC50171_3", CommerceIndicator: "internet",
		Actions: []string{ActionTokenCreate}, ActionTokenTypes: []string{TokenTypeCustomer, TokenTypePaymentInstrument},
		Card:   &Card{Number: testPAN, ExpirationMonth: "12", ExpirationYear: "2031", SecurityCode: "123"},
		Amount: dec("102.21"), Currency: "USD",
		BillTo: &Address{FirstName: "John", LastName: "Doe", Address1: "1 Market St", Locality: "san francisco",
			AdministrativeArea: "CA", PostalCode: "94105", Country: "US", Email: "test@cybs.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := f.last(t)
	if r.Method != http.MethodPost || r.Path != "/pts/v2/payments" || r.ContentType != "application/json" || r.Accept != "application/hal+json" {
		t.Errorf("request %s %s content-type %q accept %q", r.Method, r.Path, r.ContentType, r.Accept)
	}
	// Protocol §3's example request, verbatim.
	jsonEqual(t, r.Body, `{"clientReferenceInformation":{"code":"TC50171_3"},
 "processingInformation":{"capture":false,"commerceIndicator":"internet","actionList":["TOKEN_CREATE"],"actionTokenTypes":["customer","paymentInstrument"]},
 "paymentInformation":{"card":{"number":"4111111111111111","expirationMonth":"12","expirationYear":"2031","securityCode":"123"}},
 "orderInformation":{"amountDetails":{"totalAmount":"102.21","currency":"USD"},
  "billTo":{"firstName":"John","lastName":"Doe","address1":"1 Market St","locality":"san francisco","administrativeArea":"CA","postalCode":"94105","country":"US","email":"test@cybs.com"}}}`)
}

func TestCreatePaymentWireForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  PaymentRequest
		want string
	}{
		{
			name: "sale with tokens, ship-to, line items, MDD and DECISION_SKIP",
			req: PaymentRequest{
				Reference: "SO-1", TransactionID: "MTI-1", Capture: true, Actions: []string{ActionDecisionSkip},
				CustomerID: "F2F3ADA770102B51E053A2598D0A9078", PaymentInstrumentID: "A1B2",
				Amount: dec("100"), Currency: "USD",
				ShipTo: &Address{Country: "US", PostalCode: "10001"},
				LineItems: []LineItem{{ProductCode: "default", ProductName: "Widget", ProductSKU: "W-1", Quantity: 2,
					UnitPrice: dec("50"), TotalAmount: dec("100"), TaxAmount: dec("0")}},
				MerchantDefinedInformation: []MerchantDefinedField{{Key: "1", Value: "web"}},
				DecisionProfile:            "strict", CustomerIPAddress: "10.0.0.1",
			},
			want: `{"clientReferenceInformation":{"code":"SO-1","transactionId":"MTI-1"},
				"processingInformation":{"capture":true,"actionList":["DECISION_SKIP"]},
				"paymentInformation":{"customer":{"id":"F2F3ADA770102B51E053A2598D0A9078"},"paymentInstrument":{"id":"A1B2"}},
				"orderInformation":{"amountDetails":{"totalAmount":"100.00","currency":"USD"},"shipTo":{"postalCode":"10001","country":"US"},
					"lineItems":[{"productCode":"default","productName":"Widget","productSku":"W-1","quantity":2,"unitPrice":"50.00","totalAmount":"100.00"}]},
				"deviceInformation":{"ipAddress":"10.0.0.1"},
				"merchantDefinedInformation":[{"key":"1","value":"web"}],
				"riskInformation":{"profile":{"name":"strict"}}}`,
		},
		{
			name: "zero-decimal currency",
			req:  PaymentRequest{Reference: "JP-1", InstrumentIdentifierID: "7010000000016241111", Amount: dec("1000"), Currency: "JPY"},
			want: `{"clientReferenceInformation":{"code":"JP-1"},"processingInformation":{"capture":false},
				"paymentInformation":{"instrumentIdentifier":{"id":"7010000000016241111"}},
				"orderInformation":{"amountDetails":{"totalAmount":"1000","currency":"JPY"}}}`,
		},
		{
			name: "nothing but a reference: Cybersource decides what is missing",
			req:  PaymentRequest{Reference: "X"},
			want: `{"clientReferenceInformation":{"code":"X"},"processingInformation":{"capture":false}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, f := newFakeClient(t, AuthJWT, answer(201, `{"id":"1","status":"AUTHORIZED"}`))
			if _, err := c.CreatePayment(t.Context(), tt.req); err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, f.last(t).Body, tt.want)
		})
	}
}

func TestAmountsWithTooManyDecimalsAreRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	c, f := newFakeClient(t, AuthHTTPSignature, nil)
	ctx := t.Context()
	calls := map[string]func() error{
		"payment": func() error {
			_, err := c.CreatePayment(ctx, PaymentRequest{Reference: "r", Amount: dec("10.005"), Currency: "USD"})
			return err
		},
		"JPY payment": func() error {
			_, err := c.CreatePayment(ctx, PaymentRequest{Reference: "r", Amount: dec("10.5"), Currency: "JPY"})
			return err
		},
		"line item": func() error {
			_, err := c.CreatePayment(ctx, PaymentRequest{Reference: "r", Amount: dec("1"), Currency: "USD", LineItems: []LineItem{{UnitPrice: dec("0.001")}}})
			return err
		},
		"capture": func() error {
			_, err := c.Capture(ctx, "1", CaptureRequest{Amount: dec("1.001"), Currency: "USD"})
			return err
		},
		"refund": func() error {
			_, err := c.RefundCapture(ctx, "1", RefundRequest{Amount: dec("1.001"), Currency: "EUR"})
			return err
		},
		"reversal": func() error {
			_, err := c.Reverse(ctx, "1", ReversalRequest{Amount: dec("1.001"), Currency: "GBP"})
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !IsInvalidRequest(err) || OutcomeUnknown(err) {
			t.Errorf("%s: err = %v, want a local invalid-request error", name, err)
		}
	}
	if n := len(f.reqs); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// paymentResponse is protocol §3's 201 example with TOKEN_CREATE and risk fields added.
const paymentResponse = `{"_links":{"authReversal":{"method":"POST","href":"/pts/v2/payments/6510049442466278803211/reversals"},
 "self":{"method":"GET","href":"/pts/v2/payments/6510049442466278803211"},
 "capture":{"method":"POST","href":"/pts/v2/payments/6510049442466278803211/captures"}},
 "clientReferenceInformation":{"code":"TC50171_3"},"id":"6510049442466278803211",
 "orderInformation":{"amountDetails":{"authorizedAmount":"100.00","currency":"USD"}},
 "paymentInformation":{"card":{"type":"001"}},
 "processorInformation":{"approvalCode":"831000","transactionId":"016153570198200","networkTransactionId":"016153570198200",
   "responseCode":"00","avs":{"code":"Y","codeRaw":"Y"},"cardVerification":{"resultCode":"M"}},
 "riskInformation":{"profile":{"name":"default","selectorRule":"r1"},"score":{"result":42,"factorCodes":["V"],"modelUsed":"default"}},
 "tokenInformation":{"instrumentIdentifierNew":true,"customer":{"id":"C1"},"paymentInstrument":{"id":"P1"},"instrumentIdentifier":{"id":"7010000000016241111","state":"ACTIVE"}},
 "reconciliationId":"6510049442466278803211","status":"AUTHORIZED","submitTimeUtc":"2022-04-26T20:29:04Z"}`

func TestCreatePaymentKeepsTheRawAnswer(t *testing.T) {
	t.Parallel()
	c, _ := newFakeClient(t, AuthHTTPSignature, answer(201, paymentResponse))
	res, err := c.CreatePayment(t.Context(), PaymentRequest{Reference: "TC50171_3", Amount: dec("100"), Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"id", res.ID, "6510049442466278803211"},
		{"status", res.Status, StatusAuthorized},
		{"submitTimeUtc", res.SubmitTimeUTC, "2022-04-26T20:29:04Z"},
		{"reconciliationId", res.ReconciliationID, "6510049442466278803211"},
		{"reference", res.ClientReferenceInformation.Code, "TC50171_3"},
		{"authorized", res.OrderInformation.AmountDetails.AuthorizedAmount.String(), "100"},
		{"avs", res.ProcessorInformation.AVS.Code, "Y"},
		{"avs raw", res.ProcessorInformation.AVS.CodeRaw, "Y"},
		{"cvn", res.ProcessorInformation.CardVerification.ResultCode, "M"},
		{"approval", res.ProcessorInformation.ApprovalCode, "831000"},
		{"score", res.RiskInformation.Score.Result.String(), "42"},
		{"customer token", res.TokenInformation.Customer.ID, "C1"},
		{"instrument identifier", res.TokenInformation.InstrumentIdentifier.ID, "7010000000016241111"},
		{"capture link", res.Links.Href("capture"), "/pts/v2/payments/6510049442466278803211/captures"},
		{"card type", res.PaymentInformation.Card.Type, "001"},
		{"declined", res.Declined(), false},
		{"err", res.Err(), nil},
		{"raw kept", json.Valid(res.Raw), true},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDeclinesAndReviewsAreResultsNotErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status, reason                    string
		declined, review, reversal, isErr bool
	}{
		{StatusDeclined, "PROCESSOR_DECLINED", true, false, false, true},
		{StatusDeclined, "INSUFFICIENT_FUND", true, false, false, true},
		{StatusDeclined, "EXPIRED_CARD", true, false, false, true},
		{StatusAuthorizedRiskDeclined, "DECISION_PROFILE_REJECT", true, false, true, true},
		{StatusAuthorizedPendingReview, "AVS_FAILED", false, true, false, false},
		{StatusAuthorizedPendingReview, "DECISION_PROFILE_REVIEW", false, true, false, false},
		{StatusPendingReview, "DECISION_PROFILE_REVIEW", false, true, false, false},
		{StatusInvalidRequest, "INVALID_DATA", true, false, false, true},
		{StatusPartialAuthorized, "", false, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.status+"/"+tt.reason, func(t *testing.T) {
			t.Parallel()
			body := fmt.Sprintf(`{"id":"7","status":%q,"errorInformation":{"reason":%q,"message":"Decline - text"}}`, tt.status, tt.reason)
			c, _ := newFakeClient(t, AuthHTTPSignature, answer(201, body))
			res, err := c.CreatePayment(t.Context(), PaymentRequest{Reference: "r", Card: &Card{Number: testPAN, SecurityCode: testCVV}})
			if err != nil {
				t.Fatalf("a 201 is not an error: %v", err)
			}
			if res.Declined() != tt.declined || res.PendingReview() != tt.review || res.NeedsReversal() != tt.reversal {
				t.Errorf("declined %v review %v reversal %v", res.Declined(), res.PendingReview(), res.NeedsReversal())
			}
			if res.Reason() != tt.reason {
				t.Errorf("reason %q", res.Reason())
			}
			derr := res.Err()
			if (derr != nil) != tt.isErr {
				t.Fatalf("Err() = %v", derr)
			}
			if derr != nil {
				var e *Error
				if !errors.As(derr, &e) || e.Reason != tt.reason || e.ID != "7" || !IsBusiness(derr) || IsTransient(derr) {
					t.Errorf("Err() = %#v", derr)
				}
				if tt.status == StatusInvalidRequest != IsInvalidRequest(derr) || (tt.status != StatusInvalidRequest) != IsDeclined(derr) {
					t.Errorf("class of %v", derr)
				}
			}
		})
	}
}

func TestErrorAnswersAreClassifiedOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		status         int
		body           string
		class          Class
		wantStatus     string
		wantReason     string
		wantMessage    string
		wantDetails    []ErrorDetail
		duplicate      bool
		outcomeUnknown bool
	}{
		{name: "400 missing field", status: 400,
			body:  `{"submitTimeUtc":"2026-01-01T00:00:00Z","status":"INVALID_REQUEST","reason":"MISSING_FIELD","message":"Declined - The request is missing one or more fields","details":[{"field":"orderInformation.billTo.country","reason":"MISSING_FIELD"}]}`,
			class: ClassInvalidRequest, wantStatus: "INVALID_REQUEST", wantReason: "MISSING_FIELD",
			wantMessage: "Declined - The request is missing one or more fields",
			wantDetails: []ErrorDetail{{Field: "orderInformation.billTo.country", Reason: "MISSING_FIELD"}}},
		{name: "400 duplicate", status: 400, body: `{"status":"INVALID_REQUEST","reason":"DUPLICATE_REQUEST","message":"dup"}`,
			class: ClassInvalidRequest, wantStatus: "INVALID_REQUEST", wantReason: "DUPLICATE_REQUEST", wantMessage: "dup", duplicate: true},
		{name: "400 not voidable", status: 400, body: `{"status":"INVALID_REQUEST","reason":"NOT_VOIDABLE","message":"m"}`,
			class: ClassInvalidRequest, wantStatus: "INVALID_REQUEST", wantReason: "NOT_VOIDABLE", wantMessage: "m"},
		{name: "400 processor unavailable is transient", status: 400, body: `{"status":"INVALID_REQUEST","reason":"PROCESSOR_UNAVAILABLE","message":"m"}`,
			class: ClassTransient, wantStatus: "INVALID_REQUEST", wantReason: "PROCESSOR_UNAVAILABLE", wantMessage: "m", outcomeUnknown: true},
		{name: "401 rmsg text", status: 401, body: `{"response":{"rmsg":"Authentication Failed"}}`,
			class: ClassAuth, wantMessage: "Authentication Failed"},
		{name: "401 OAuth rmsg object", status: 401, body: `{"response":{"rmsg":{"error":"ACCESS_TOKEN_EXPIRED","message":"expired"}}}`,
			class: ClassAuth, wantReason: "ACCESS_TOKEN_EXPIRED", wantMessage: "expired"},
		{name: "403 forbidden", status: 403, body: `{"status":"FORBIDDEN_ACCESS","reason":"FORBIDDEN_ACCESS","message":"no"}`,
			class: ClassAuth, wantStatus: "FORBIDDEN_ACCESS", wantReason: "FORBIDDEN_ACCESS", wantMessage: "no"},
		{name: "404 PTS", status: 404, body: `{"status":"NOT_FOUND","reason":"NOT_FOUND","message":"gone"}`,
			class: ClassNotFound, wantStatus: "NOT_FOUND", wantReason: "NOT_FOUND", wantMessage: "gone"},
		{name: "404 TMS", status: 404, body: `{"errors":[{"type":"notFound","message":"Token not found","details":[{"name":"id","location":"path"}]}]}`,
			class: ClassNotFound, wantReason: "notFound", wantMessage: "Token not found", wantDetails: []ErrorDetail{{Field: "id", Location: "path"}}},
		{name: "409 TMS conflict", status: 409, body: `{"errors":[{"type":"conflict","message":"Action cannot be performed as the PaymentInstrument is the customers default"}]}`,
			class: ClassInvalidRequest, wantReason: "conflict", wantMessage: "Action cannot be performed as the PaymentInstrument is the customers default"},
		{name: "410 deleted token", status: 410, body: `{"errors":[{"type":"notAvailable","message":"deleted"}]}`,
			class: ClassNotFound, wantReason: "notAvailable", wantMessage: "deleted"},
		{name: "502 server timeout", status: 502, body: `{"submitTimeUtc":"x","status":"SERVER_ERROR","reason":"SERVER_TIMEOUT","message":"Error - General system failure."}`,
			class: ClassTransient, wantStatus: "SERVER_ERROR", wantReason: "SERVER_TIMEOUT", wantMessage: "Error - General system failure.", outcomeUnknown: true},
		{name: "502 system error", status: 502, body: `{"status":"SERVER_ERROR","reason":"SYSTEM_ERROR","message":"m"}`,
			class: ClassTransient, wantStatus: "SERVER_ERROR", wantReason: "SYSTEM_ERROR", wantMessage: "m", outcomeUnknown: true},
		{name: "502 service timeout", status: 502, body: `{"status":"SERVER_ERROR","reason":"SERVICE_TIMEOUT","message":"m"}`,
			class: ClassTransient, wantStatus: "SERVER_ERROR", wantReason: "SERVICE_TIMEOUT", wantMessage: "m", outcomeUnknown: true},
		{name: "503 HTML from a proxy", status: 503, body: `<html>busy</html>`,
			class: ClassTransient, wantMessage: "Service Unavailable", outcomeUnknown: true},
		{name: "429", status: 429, body: ``, class: ClassTransient, wantMessage: "Too Many Requests", outcomeUnknown: true},
		{name: "405 is ours to fix", status: 405, body: ``, class: ClassConfiguration, wantMessage: "Method Not Allowed"},
		{name: "400 with odd field types keeps the simple fields", status: 400, body: `{"status":"INVALID_REQUEST","reason":"INVALID_DATA","message":"m","details":"oops"}`,
			class: ClassInvalidRequest, wantStatus: "INVALID_REQUEST", wantReason: "INVALID_DATA", wantMessage: "m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newFakeClient(t, AuthHTTPSignature, answer(tt.status, tt.body))
			_, err := c.CreatePayment(t.Context(), PaymentRequest{Reference: "r", Amount: dec("1"), Currency: "USD",
				Card: &Card{Number: testPAN, SecurityCode: testCVV}})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v", err)
			}
			if e.Class != tt.class || e.HTTPStatus != tt.status || e.Status != tt.wantStatus || e.Reason != tt.wantReason || e.Message != tt.wantMessage {
				t.Errorf("got class %v status %d %q reason %q message %q", e.Class, e.HTTPStatus, e.Status, e.Reason, e.Message)
			}
			if len(tt.wantDetails) > 0 && !reflect.DeepEqual(e.Details, tt.wantDetails) {
				t.Errorf("details %+v", e.Details)
			}
			if IsDuplicate(err) != tt.duplicate || OutcomeUnknown(err) != tt.outcomeUnknown {
				t.Errorf("duplicate %v outcome unknown %v", IsDuplicate(err), OutcomeUnknown(err))
			}
			if e.Op != "CreatePayment" || e.Method != http.MethodPost || e.Path != "/pts/v2/payments" {
				t.Errorf("op %q %s %s", e.Op, e.Method, e.Path)
			}
			assertNoSecrets(t, err)
		})
	}
}

func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	s := fmt.Sprintf("%v %+v %#v", err, err, err)
	for _, secret := range []string{testPAN, testSecret, "test-shared-secret"} {
		if strings.Contains(s, secret) {
			t.Errorf("error text holds a secret: %s", s)
		}
	}
}

func TestTransportFailures(t *testing.T) {
	t.Parallel()
	t.Run("refused connection never left", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c, err := New(Config{BaseURL: "http://" + addr, MerchantID: testMerchant, KeyID: testKeyID, Secret: testSecret})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CreatePayment(t.Context(), PaymentRequest{Reference: "r", Card: &Card{Number: testPAN, SecurityCode: testCVV}})
		if !IsTransient(err) || OutcomeUnknown(err) {
			t.Fatalf("err = %v: want transient with a known outcome", err)
		}
		assertNoSecrets(t, err)
	})
	t.Run("timeout after sending leaves the outcome unknown", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		c, err := New(Config{BaseURL: srv.URL, MerchantID: testMerchant, KeyID: testKeyID, Secret: testSecret,
			HTTPClient: &http.Client{Timeout: 100 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CreatePayment(t.Context(), PaymentRequest{Reference: "r", Card: &Card{Number: testPAN, SecurityCode: testCVV}})
		if !IsTransient(err) || !OutcomeUnknown(err) {
			t.Fatalf("err = %v: want transient with an unknown outcome", err)
		}
		_, err = c.GetTransaction(t.Context(), "1")
		if !IsTransient(err) || OutcomeUnknown(err) {
			t.Fatalf("GET err = %v: a read has no outcome to lose", err)
		}
		assertNoSecrets(t, err)
	})
	t.Run("undecodable 201 is transient", func(t *testing.T) {
		t.Parallel()
		c, _ := newFakeClient(t, AuthHTTPSignature, answer(201, `{"id":"1","status":"AUTHORIZED","orderInformation":{"amountDetails":{"authorizedAmount":"lots"}}}`))
		_, err := c.CreatePayment(t.Context(), PaymentRequest{Reference: "r"})
		if !IsTransient(err) || !OutcomeUnknown(err) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		t.Parallel()
		c, _ := newFakeClient(t, AuthHTTPSignature, nil)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := c.GetTransaction(ctx, "1")
		if !IsTransient(err) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestCardNeverPrintsItsNumberOrCode(t *testing.T) {
	t.Parallel()
	card := Card{Number: testPAN, ExpirationMonth: "12", ExpirationYear: "2031", SecurityCode: testCVV, Type: "001"}
	req := PaymentRequest{Reference: "r", Card: &card}
	js, _ := json.Marshal(card)
	for _, s := range []string{
		fmt.Sprint(card), fmt.Sprintf("%+v", card), fmt.Sprintf("%#v", card), fmt.Sprintf("%s", card), fmt.Sprintf("%d", card),
		fmt.Sprintf("%x", card), fmt.Sprintf("%v", req), fmt.Sprintf("%+v", req), fmt.Sprintf("%#v", req), fmt.Sprintf("%v", &req), string(js),
	} {
		if strings.Contains(s, testPAN) || strings.Contains(s, "securityCode\":\"737") || strings.Contains(s, "737") && !strings.Contains(testPAN, "737") {
			t.Errorf("printed card: %s", s)
		}
	}
	if got := MaskPAN(testPAN); got != "************1111" {
		t.Errorf("MaskPAN = %s", got)
	}
	if MaskPAN("1234") != "****" || MaskPAN("") != "" {
		t.Error("short numbers must be fully masked")
	}
}

func TestRefundAcceptsBothAmountShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
	}{
		{"refundAmountDetails", `{"id":"9","status":"PENDING","refundAmountDetails":{"refundAmount":"10.50","currency":"USD"},"_links":{"self":{"href":"/pts/v2/refunds/9"},"void":{"href":"/pts/v2/refunds/9/voids","method":"POST"}}}`},
		{"creditAmountDetails", `{"id":"9","status":"PENDING","creditAmountDetails":{"creditAmount":"10.50","currency":"USD"},"_links":{"self":{"href":"/pts/v2/credits/9"}}}`},
		{"numbers instead of strings", `{"id":"9","status":"PENDING","refundAmountDetails":{"refundAmount":10.50,"currency":"USD"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, f := newFakeClient(t, AuthHTTPSignature, answer(201, tt.body))
			res, err := c.RefundPayment(t.Context(), "6510049442466278803211", RefundRequest{Reference: "RF-1", Amount: dec("10.5"), Currency: "USD"})
			if err != nil {
				t.Fatal(err)
			}
			amount, currency := res.Amount()
			if !amount.Equal(dec("10.50")) || currency != "USD" || res.Status != StatusPending {
				t.Errorf("amount %s %s status %s", amount, currency, res.Status)
			}
			jsonEqual(t, f.last(t).Body, `{"clientReferenceInformation":{"code":"RF-1"},"orderInformation":{"amountDetails":{"totalAmount":"10.50","currency":"USD"}}}`)
		})
	}
}

// TestEveryCallUsesItsEndpoint pins each call's method, path, query, Accept header and body.
func TestEveryCallUsesItsEndpoint(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	window := ReportWindow{Start: day, End: day.Add(24 * time.Hour), OrganizationID: "org"}
	tests := []struct {
		name   string
		call   func(ctx context.Context, c *Client) error
		method string
		path   string
		query  string
		accept string
		body   string // "" for none
		status int
		answer string
	}{
		{"Capture", func(ctx context.Context, c *Client) error {
			_, err := c.Capture(ctx, "111", CaptureRequest{Reference: "C1", Amount: dec("5"), Currency: "USD"})
			return err
		}, "POST", "/pts/v2/payments/111/captures", "", "", `{"clientReferenceInformation":{"code":"C1"},"orderInformation":{"amountDetails":{"totalAmount":"5.00","currency":"USD"}}}`, 201, `{"status":"PENDING"}`},
		{"RefundPayment", func(ctx context.Context, c *Client) error {
			_, err := c.RefundPayment(ctx, "111", RefundRequest{Reference: "R1", Amount: dec("5"), Currency: "USD"})
			return err
		}, "POST", "/pts/v2/payments/111/refunds", "", "", `{"clientReferenceInformation":{"code":"R1"},"orderInformation":{"amountDetails":{"totalAmount":"5.00","currency":"USD"}}}`, 201, `{}`},
		{"RefundCapture", func(ctx context.Context, c *Client) error {
			_, err := c.RefundCapture(ctx, "222", RefundRequest{Reference: "R2", Amount: dec("5"), Currency: "USD"})
			return err
		}, "POST", "/pts/v2/captures/222/refunds", "", "", `{"clientReferenceInformation":{"code":"R2"},"orderInformation":{"amountDetails":{"totalAmount":"5.00","currency":"USD"}}}`, 201, `{}`},
		{"Void payment", func(ctx context.Context, c *Client) error {
			_, err := c.Void(ctx, VoidPayment, "111", "V1")
			return err
		}, "POST", "/pts/v2/payments/111/voids", "", "", `{"clientReferenceInformation":{"code":"V1"}}`, 201, `{}`},
		{"Void capture", func(ctx context.Context, c *Client) error {
			_, err := c.Void(ctx, VoidCapture, "222", "V2")
			return err
		}, "POST", "/pts/v2/captures/222/voids", "", "", `{"clientReferenceInformation":{"code":"V2"}}`, 201, `{}`},
		{"Void refund", func(ctx context.Context, c *Client) error {
			_, err := c.Void(ctx, VoidRefund, "333", "V3")
			return err
		}, "POST", "/pts/v2/refunds/333/voids", "", "", `{"clientReferenceInformation":{"code":"V3"}}`, 201, `{}`},
		{"Void credit", func(ctx context.Context, c *Client) error {
			_, err := c.Void(ctx, VoidCredit, "444", "V4")
			return err
		}, "POST", "/pts/v2/credits/444/voids", "", "", `{"clientReferenceInformation":{"code":"V4"}}`, 201, `{}`},
		{"TimeoutVoid", func(ctx context.Context, c *Client) error {
			_, err := c.TimeoutVoid(ctx, "V5", "MTI-9")
			return err
		}, "POST", "/pts/v2/voids", "", "", `{"clientReferenceInformation":{"code":"V5","transactionId":"MTI-9"}}`, 201, `{}`},
		{"Reverse", func(ctx context.Context, c *Client) error {
			_, err := c.Reverse(ctx, "111", ReversalRequest{Reference: "RV1", Amount: dec("102.21"), Currency: "USD", Reason: "fraud"})
			return err
		}, "POST", "/pts/v2/payments/111/reversals", "", "", `{"clientReferenceInformation":{"code":"RV1"},"reversalInformation":{"amountDetails":{"totalAmount":"102.21","currency":"USD"},"reason":"fraud"}}`, 201, `{"status":"REVERSED"}`},
		{"TimeoutReversal", func(ctx context.Context, c *Client) error {
			_, err := c.TimeoutReversal(ctx, "MTI-8", ReversalRequest{Reference: "RV2", Amount: dec("1"), Currency: "USD"})
			return err
		}, "POST", "/pts/v2/reversals", "", "", `{"clientReferenceInformation":{"code":"RV2","transactionId":"MTI-8"},"reversalInformation":{"amountDetails":{"totalAmount":"1.00","currency":"USD"}}}`, 201, `{}`},
		{"GetTransaction", func(ctx context.Context, c *Client) error {
			_, err := c.GetTransaction(ctx, "6510049442466278803211")
			return err
		}, "GET", "/tss/v2/transactions/6510049442466278803211", "", "", "", 200, `{"id":"6510049442466278803211"}`},
		{"SearchTransactions", func(ctx context.Context, c *Client) error {
			_, err := c.SearchTransactions(ctx, SearchRequest{Query: "clientReferenceInformation.code:TC50171_3", Timezone: "UTC", Limit: 50, Sort: "id:asc"})
			return err
		}, "POST", "/tss/v2/searches", "", "", `{"save":false,"name":"payhub","timezone":"UTC","query":"clientReferenceInformation.code:TC50171_3","offset":0,"limit":50,"sort":"id:asc"}`, 201, `{"searchId":"s1"}`},
		{"GetSearch", func(ctx context.Context, c *Client) error {
			_, err := c.GetSearch(ctx, "s1")
			return err
		}, "GET", "/tss/v2/searches/s1", "", "", "", 200, `{"searchId":"s1"}`},
		{"TakeReviewAction", func(ctx context.Context, c *Client) error {
			_, err := c.TakeReviewAction(ctx, "111", ReviewAction{Decision: DecisionAccept, Comments: "ok", Actions: []string{ReviewActionCapture}})
			return err
		}, "POST", "/risk/v1/decisions/111/actions", "", "", `{"decisionInformation":{"decision":"ACCEPT","comments":"ok"},"processingInformation":{"actionList":["CAPTURE"]}}`, 201, `{"status":"ACCEPTED"}`},
		{"ConversionDetails", func(ctx context.Context, c *Client) error {
			_, err := c.ConversionDetails(ctx, day, day.Add(time.Hour), "org")
			return err
		}, "GET", "/reporting/v3/conversion-details", "endTime=2026-03-01T01%3A00%3A00Z&organizationId=org&startTime=2026-03-01T00%3A00%3A00Z", "", "", 200, `{}`},
		{"CreateCustomer", func(ctx context.Context, c *Client) error {
			_, err := c.CreateCustomer(ctx, CustomerRequest{MerchantCustomerID: "WEBS01", Email: "a@b.c", Reference: "cust"})
			return err
		}, "POST", "/tms/v2/customers", "", "", `{"buyerInformation":{"merchantCustomerID":"WEBS01","email":"a@b.c"},"clientReferenceInformation":{"code":"cust"}}`, 201, `{"id":"C1"}`},
		{"GetCustomer", func(ctx context.Context, c *Client) error {
			_, err := c.GetCustomer(ctx, "C1")
			return err
		}, "GET", "/tms/v2/customers/C1", "", "", "", 200, `{"id":"C1"}`},
		{"UpdateCustomer", func(ctx context.Context, c *Client) error {
			_, err := c.UpdateCustomer(ctx, "C1", CustomerRequest{Email: "new@b.c", DefaultPaymentInstrumentID: "P1"})
			return err
		}, "PATCH", "/tms/v2/customers/C1", "", "", `{"buyerInformation":{"email":"new@b.c"},"defaultPaymentInstrument":{"id":"P1"}}`, 200, `{"id":"C1"}`},
		{"DeleteCustomer", func(ctx context.Context, c *Client) error {
			return c.DeleteCustomer(ctx, "C1")
		}, "DELETE", "/tms/v2/customers/C1", "", "", "", 204, ``},
		{"CreatePaymentInstrument", func(ctx context.Context, c *Client) error {
			_, err := c.CreatePaymentInstrument(ctx, "C1", PaymentInstrumentRequest{InstrumentIdentifierID: "7010000000016241111",
				Card: CardExpiry{ExpirationMonth: "12", ExpirationYear: "2031", Type: "001"}, BillTo: &Address{Country: "US"}, Default: true})
			return err
		}, "POST", "/tms/v2/customers/C1/payment-instruments", "", "", `{"default":true,"card":{"expirationMonth":"12","expirationYear":"2031","type":"001"},"billTo":{"country":"US"},"instrumentIdentifier":{"id":"7010000000016241111"}}`, 201, `{"id":"P1"}`},
		{"ListPaymentInstruments", func(ctx context.Context, c *Client) error {
			_, err := c.ListPaymentInstruments(ctx, "C1", 10, 5)
			return err
		}, "GET", "/tms/v2/customers/C1/payment-instruments", "limit=5&offset=10", "", "", 200, `{"_embedded":{"paymentInstruments":[{"id":"P1"}]}}`},
		{"GetPaymentInstrument", func(ctx context.Context, c *Client) error {
			_, err := c.GetPaymentInstrument(ctx, "C1", "P1")
			return err
		}, "GET", "/tms/v2/customers/C1/payment-instruments/P1", "", "", "", 200, `{"id":"P1"}`},
		{"DeletePaymentInstrument", func(ctx context.Context, c *Client) error {
			return c.DeletePaymentInstrument(ctx, "C1", "P1")
		}, "DELETE", "/tms/v2/customers/C1/payment-instruments/P1", "", "", "", 204, ``},
		{"CreateInstrumentIdentifier", func(ctx context.Context, c *Client) error {
			_, err := c.CreateInstrumentIdentifier(ctx, Card{Number: testPAN, SecurityCode: testCVV, ExpirationMonth: "12"})
			return err
		}, "POST", "/tms/v1/instrumentidentifiers", "", "", `{"card":{"number":"4111111111111111"}}`, 201, `{"id":"7010000000016241111","card":{"number":"411111XXXXXX1111"}}`},
		{"DownloadReport", func(ctx context.Context, c *Client) error {
			rc, err := c.DownloadReport(ctx, ReportDownload{OrganizationID: "org", ReportDate: day, ReportName: ReportNamePaymentBatchDetail})
			if err == nil {
				rc.Close()
			}
			return err
		}, "GET", "/reporting/v3/report-downloads", "organizationId=org&reportDate=2026-03-01&reportName=PaymentBatchDetailReport", "text/csv", "", 200, "a,b\r\n"},
		{"PaymentBatchSummaries", func(ctx context.Context, c *Client) error {
			_, err := c.PaymentBatchSummaries(ctx, window, "day", "all")
			return err
		}, "GET", "/reporting/v3/payment-batch-summaries", "breakdown=all&endTime=2026-03-02T00%3A00%3A00Z&organizationId=org&rollUp=day&startTime=2026-03-01T00%3A00%3A00Z", "", "", 200, `{}`},
		{"NetFundings", func(ctx context.Context, c *Client) error {
			_, err := c.NetFundings(ctx, window, "")
			return err
		}, "GET", "/reporting/v3/net-fundings", "endTime=2026-03-02T00%3A00%3A00Z&organizationId=org&startTime=2026-03-01T00%3A00%3A00Z", "", "", 200, `{}`},
	}
	for _, auth := range []string{AuthHTTPSignature, AuthJWT} {
		for _, tt := range tests {
			t.Run(auth+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				c, f := newFakeClient(t, auth, answer(tt.status, tt.answer))
				if err := tt.call(t.Context(), c); err != nil {
					t.Fatal(err)
				}
				r := f.last(t)
				if r.Method != tt.method || r.Path != tt.path || r.RawQuery != tt.query {
					t.Errorf("sent %s %s?%s", r.Method, r.Path, r.RawQuery)
				}
				wantAccept := tt.accept
				if wantAccept == "" {
					wantAccept = "application/hal+json"
				}
				if r.Accept != wantAccept {
					t.Errorf("Accept %q", r.Accept)
				}
				if tt.body == "" {
					if len(r.Body) != 0 || r.ContentType != "" {
						t.Errorf("unexpected body %q (%s)", r.Body, r.ContentType)
					}
				} else {
					jsonEqual(t, r.Body, tt.body)
				}
			})
		}
	}
}

func TestLocalChecksRefuseBadCallsBeforeSending(t *testing.T) {
	t.Parallel()
	c, f := newFakeClient(t, AuthHTTPSignature, nil)
	ctx := t.Context()
	calls := map[string]func() error{
		"void target": func() error { _, err := c.Void(ctx, "payouts", "1", "r"); return err },
		"empty id":    func() error { _, err := c.Capture(ctx, " ", CaptureRequest{}); return err },
		"accept with reverse": func() error {
			_, err := c.TakeReviewAction(ctx, "1", ReviewAction{Decision: DecisionAccept, Actions: []string{ReviewActionReverse}})
			return err
		},
		"reject with capture": func() error {
			_, err := c.TakeReviewAction(ctx, "1", ReviewAction{Decision: DecisionReject, Actions: []string{ReviewActionCapture}})
			return err
		},
		"review decision": func() error {
			_, err := c.TakeReviewAction(ctx, "1", ReviewAction{Decision: DecisionReview})
			return err
		},
		"empty query": func() error { _, err := c.SearchTransactions(ctx, SearchRequest{}); return err },
		"limit too big": func() error {
			_, err := c.SearchTransactions(ctx, SearchRequest{Query: "a:b", Limit: SearchLimitMax + 1})
			return err
		},
		"no card number": func() error { _, err := c.CreateInstrumentIdentifier(ctx, Card{}); return err },
		"no report name": func() error { _, err := c.DownloadReport(ctx, ReportDownload{ReportDate: time.Now()}); return err },
		"no reference":   func() error { _, err := c.FindByReference(ctx, ""); return err },
		"path injection is escaped, not refused": func() error {
			_, err := c.GetTransaction(ctx, "../../tms/v2/customers/X")
			if err != nil {
				return err
			}
			if p := f.last(t).Path; p != "/tss/v2/transactions/..%2F..%2Ftms%2Fv2%2Fcustomers%2FX" {
				return fmt.Errorf("path %s", p)
			}
			return localError("test", ClassInvalidRequest, "ok")
		},
	}
	for name, call := range calls {
		if err := call(); !IsInvalidRequest(err) {
			t.Errorf("%s: err = %v, want invalid request", name, err)
		}
	}
}

func TestSearchAllPagesByOffset(t *testing.T) {
	t.Parallel()
	const total = 7
	c, f := newFakeClient(t, AuthHTTPSignature, func(r recorded) (int, string) {
		var q searchBody
		_ = json.Unmarshal(r.Body, &q)
		var hits []string
		for i := q.Offset; i < total && i < q.Offset+q.Limit; i++ {
			hits = append(hits, fmt.Sprintf(`{"id":"%d","clientReferenceInformation":{"code":"REF"}}`, i))
		}
		return 201, fmt.Sprintf(`{"searchId":"s","offset":%d,"limit":%d,"count":%d,"totalCount":%d,"_embedded":{"transactionSummaries":[%s]}}`,
			q.Offset, q.Limit, len(hits), total, strings.Join(hits, ","))
	})
	var ids []string
	for tr, err := range c.SearchAll(t.Context(), SearchRequest{Query: "clientReferenceInformation.code:REF", Limit: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tr.ID)
	}
	if strings.Join(ids, ",") != "0,1,2,3,4,5,6" {
		t.Errorf("ids %v", ids)
	}
	if n := len(f.reqs); n != 3 {
		t.Errorf("%d pages fetched, want 3", n)
	}

	found, err := c.FindByReference(t.Context(), "REF")
	if err != nil || len(found) != total {
		t.Fatalf("FindByReference = %d, %v", len(found), err)
	}
	var q searchBody
	_ = json.Unmarshal(f.last(t).Body, &q)
	if q.Query != "clientReferenceInformation.code:REF" || q.Sort != "submitTimeUtc:asc" {
		t.Errorf("FindByReference sent %+v", q)
	}
}

func TestSearchAllStopsWhenTheServerIgnoresTheOffset(t *testing.T) {
	t.Parallel()
	c, f := newFakeClient(t, AuthHTTPSignature, answer(201,
		`{"totalCount":4,"_embedded":{"transactionSummaries":[{"id":"a"},{"id":"b"}]}}`))
	n := 0
	for _, err := range c.SearchAll(t.Context(), SearchRequest{Query: "a:b", Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n > 100 {
			t.Fatal("runaway pager")
		}
	}
	if len(f.reqs) > 5 {
		t.Errorf("%d requests", len(f.reqs))
	}
}

func TestSearchAllYieldsTheErrorOnce(t *testing.T) {
	t.Parallel()
	c, _ := newFakeClient(t, AuthHTTPSignature, answer(502, `{"status":"SERVER_ERROR","reason":"SYSTEM_ERROR"}`))
	var errs int
	for _, err := range c.SearchAll(t.Context(), SearchRequest{Query: "a:b"}) {
		if !IsTransient(err) {
			t.Fatalf("err = %v", err)
		}
		errs++
	}
	if errs != 1 {
		t.Errorf("%d errors yielded", errs)
	}
}

func TestSearchQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		q    SearchQuery
		want string
	}{
		{NewSearchQuery(), ""},
		{NewSearchQuery().And("clientReferenceInformation.code", "TC50171_3"), "clientReferenceInformation.code:TC50171_3"},
		{NewSearchQuery().And("clientReferenceInformation.code", "TC50171_3").AndRaw("submitTimeUtc:[NOW/DAY-7DAYS TO NOW/DAY+1DAY}"),
			"clientReferenceInformation.code:TC50171_3 AND submitTimeUtc:[NOW/DAY-7DAYS TO NOW/DAY+1DAY}"},
		{NewSearchQuery().And("a", "x y").And("b", `q"u\o`).And("c", ""), `a:"x y" AND b:"q\"u\\o" AND c:""`},
		{NewSearchQuery().And("a", "1:2"), `a:"1:2"`},
	}
	for _, tt := range tests {
		if got := tt.q.String(); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
	base := NewSearchQuery().And("a", "1")
	x, y := base.And("b", "2"), base.And("c", "3")
	if x.String() != "a:1 AND b:2" || y.String() != "a:1 AND c:3" {
		t.Errorf("And shares state: %s / %s", x, y)
	}
}

func TestResponsesDecodeTheDocumentedShapes(t *testing.T) {
	t.Parallel()
	t.Run("transaction detail", func(t *testing.T) {
		t.Parallel()
		c, _ := newFakeClient(t, AuthHTTPSignature, answer(200, `{"id":"6510049442466278803211","rootId":"6510049442466278803211",
			"reconciliationId":"R","merchantId":"m","submitTimeUTC":"2022-04-26T20:29:04Z","status":"TRANSMITTED",
			"applicationInformation":{"status":"TRANSMITTED","reasonCode":100,"rCode":"1","rFlag":"SOK",
				"applications":[{"name":"ics_bill","status":"PENDING","reasonCode":"100","rCode":1,"rMessage":"Request was processed successfully.","reconciliationId":"R"}]},
			"orderInformation":{"amountDetails":{"totalAmount":"100.00","currency":"USD","authorizedAmount":"100.00","settlementAmount":"100.00"},
				"lineItems":[{"productCode":"default","quantity":1,"unitPrice":"100.00"}]},
			"riskInformation":{"profile":{"name":"p","decision":"REVIEW"},"score":{"result":"77"}},
			"clientReferenceInformation":{"code":"TC50171_3"},"_links":{"self":{"href":"/tss/v2/transactions/6510049442466278803211","method":"GET"}}}`))
		tr, err := c.GetTransaction(t.Context(), "6510049442466278803211")
		if err != nil {
			t.Fatal(err)
		}
		app, ok := tr.ApplicationInformation.Application("ics_bill")
		if !ok || app.RCode != "1" || app.ReasonCode != "100" || tr.ApplicationInformation.ReasonCode != "100" ||
			tr.SubmitTimeUTC != "2022-04-26T20:29:04Z" || tr.RiskInformation.Profile.Decision != "REVIEW" ||
			!tr.OrderInformation.AmountDetails.SettlementAmount.Equal(dec("100")) || tr.OrderInformation.LineItems[0].Quantity != "1" {
			t.Errorf("decoded %+v", tr)
		}
	})
	t.Run("submitTimeUtc spelling too", func(t *testing.T) {
		t.Parallel()
		c, _ := newFakeClient(t, AuthHTTPSignature, answer(200, `{"id":"1","submitTimeUtc":"2022-04-26T20:29:04Z"}`))
		tr, err := c.GetTransaction(t.Context(), "1")
		if err != nil || tr.SubmitTimeUTC != "2022-04-26T20:29:04Z" {
			t.Fatalf("%+v %v", tr, err)
		}
	})
	t.Run("links as arrays", func(t *testing.T) {
		t.Parallel()
		var l Links
		if err := json.Unmarshal([]byte(`{"a":[{"href":"/x"}],"b":"/y","c":null,"d":{"href":"/z","method":"GET"}}`), &l); err != nil {
			t.Fatal(err)
		}
		if l.Href("a") != "/x" || l.Href("b") != "/y" || l.Href("c") != "" || l["d"].Method != "GET" {
			t.Errorf("%+v", l)
		}
	})
	t.Run("instrument identifier masks an unmasked number", func(t *testing.T) {
		t.Parallel()
		c, _ := newFakeClient(t, AuthHTTPSignature, answer(200, `{"id":"7010000000016241111","state":"ACTIVE","card":{"number":"4111111111111111"}}`))
		ii, err := c.CreateInstrumentIdentifier(t.Context(), Card{Number: testPAN})
		if err != nil {
			t.Fatal(err)
		}
		if !ii.Existing || ii.Card.MaskedNumber != "************1111" {
			t.Errorf("%+v", ii)
		}
	})
	t.Run("review action", func(t *testing.T) {
		t.Parallel()
		c, _ := newFakeClient(t, AuthHTTPSignature, answer(201, `{"id":"1","status":"ACCEPTED","_embedded":{"capture":{"status":"PENDING","_links":{"self":{"href":"/pts/v2/captures/99"}}}}}`))
		r, err := c.TakeReviewAction(t.Context(), "1", ReviewAction{Decision: DecisionAccept, Actions: []string{ReviewActionCapture}})
		if err != nil || r.Status != "ACCEPTED" || r.Embedded.Capture == nil || r.Embedded.Capture.Links.Href("self") != "/pts/v2/captures/99" {
			t.Fatalf("%+v %v", r, err)
		}
	})
	t.Run("net fundings and batch summaries", func(t *testing.T) {
		t.Parallel()
		c, _ := newFakeClient(t, AuthHTTPSignature, func(r recorded) (int, string) {
			if strings.Contains(r.Path, "net-fundings") {
				return 200, `{"netFundingSummaries":[{"type":"PURCHASES","paymentSubType":"VI","conveyedCount":2,"conveyedAmount":"200.00","settledCount":2,"fundedCount":2,"fundedAmount":"195.00","currencyCode":"USD"}],
					"totalPurchases":[{"currency":"USD","value":"200.00"}],"netTotal":[{"currency":"USD","value":"195.00"}]}`
			}
			return 200, `{"paymentBatchSummaries":[{"currencyCode":"USD","paymentSubTypeDescription":"Visa","salesCount":2,"salesAmount":"200.00","creditCount":1,"creditAmount":"5.00","merchantId":"m"}]}`
		})
		w := ReportWindow{Start: time.Now().Add(-time.Hour), End: time.Now()}
		nf, err := c.NetFundings(t.Context(), w, "")
		if err != nil || !nf.Summaries[0].FundedAmount.Equal(dec("195")) || !nf.NetTotal[0].Value.Equal(dec("195")) {
			t.Fatalf("%+v %v", nf, err)
		}
		bs, err := c.PaymentBatchSummaries(t.Context(), w, "", "")
		if err != nil || bs.Summaries[0].SalesCount != 2 || !bs.Summaries[0].CreditAmount.Equal(dec("5")) {
			t.Fatalf("%+v %v", bs, err)
		}
	})
}

func TestDownloadReportStreamsAndClassifiesErrors(t *testing.T) {
	t.Parallel()
	csvText := "Payment Batch Detail Report,1.0,2026-03-01 to 2026-03-01,,,,,,,\r\n" +
		"batch_id,merchant_id,batch_date,request_id,merchant_ref_number,trans_ref_no,payment_method,currency,amount,transaction_type\r\n" +
		"1,m,2026-03-01,111,REF,1,Visa,USD,10.00,ics_bill\r\n"
	c, _ := newFakeClient(t, AuthJWT, func(r recorded) (int, string) {
		if strings.Contains(r.RawQuery, "2026-03-02") {
			return 404, `{"submitTimeUtc":"x","reason":"NO_REPORTS_FOUND","message":"No Reports Found"}`
		}
		return 200, csvText
	})
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rc, err := c.DownloadReport(t.Context(), ReportDownload{ReportDate: day, ReportName: ReportNamePaymentBatchDetail})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	r := NewBatchDetailReader(rc)
	var n int
	for r.Next() {
		n++
	}
	if r.Err() != nil || n != 1 {
		t.Fatalf("%d records, %v", n, r.Err())
	}
	_, err = c.DownloadReport(t.Context(), ReportDownload{ReportDate: day.AddDate(0, 0, 1), ReportName: ReportNamePaymentBatchDetail})
	if !IsNotFound(err) || !strings.Contains(err.Error(), "No Reports Found") {
		t.Fatalf("err = %v", err)
	}
}

func TestHostOverrideIsSentAndSigned(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{AuthHTTPSignature, AuthJWT} {
		f := &fakeCybersource{}
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		c, err := New(Config{BaseURL: srv.URL, MerchantID: testMerchant, KeyID: testKeyID, Secret: testSecret, Auth: auth, Host: "apitest.cybersource.com"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetTransaction(t.Context(), "1"); err != nil {
			t.Fatalf("%s: %v", auth, err)
		}
		if h := f.last(t).Host; h != "apitest.cybersource.com" {
			t.Errorf("%s: Host %q", auth, h)
		}
	}
}

func TestWrongSecretIsAnAuthError(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{AuthHTTPSignature, AuthJWT} {
		f := &fakeCybersource{}
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		c, err := New(Config{BaseURL: srv.URL, MerchantID: testMerchant, KeyID: testKeyID, Secret: "b3RoZXItc2VjcmV0", Auth: auth})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetTransaction(t.Context(), "1")
		if !IsAuth(err) || !strings.Contains(err.Error(), "Authentication Failed") {
			t.Errorf("%s: err = %v", auth, err)
		}
	}
}

func TestLongErrorMessagesAreCutOnARuneBoundary(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 400) // 800 bytes
	c, _ := newFakeClient(t, AuthHTTPSignature, answer(400, `{"status":"INVALID_REQUEST","reason":"INVALID_DATA","message":"`+long+`"}`))
	_, err := c.GetTransaction(t.Context(), "1")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	if !strings.HasSuffix(e.Message, "…") || len(e.Message) > maxMessageBytes+len("…") || !utf8.ValidString(e.Message) ||
		strings.TrimSuffix(e.Message, "…") != strings.Repeat("é", maxMessageBytes/2) {
		t.Errorf("message of %d bytes: %q", len(e.Message), e.Message)
	}
}
