package opayosim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testStart is a Friday morning in London summer time.
var testStart = time.Date(2026, 4, 10, 9, 0, 0, 0, london)

// bundle is one simulator behind a real HTTP listener.
type bundle struct {
	t    *testing.T
	sim  *Server
	http *httptest.Server
}

func setup(t *testing.T, opts Options) *bundle {
	t.Helper()
	if opts.Start.IsZero() {
		opts.Start = testStart
	}
	sim := New(opts)
	ts := httptest.NewServer(sim)
	t.Cleanup(func() {
		ts.Close()
		sim.Close()
	})
	return &bundle{t: t, sim: sim, http: ts}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends a request and returns the status, headers and body.
func (b *bundle) do(method, path, contentType, body string, header map[string]string) (int, http.Header, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.http.URL+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}

func basic(key, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"+password))
}

var defaultBasic = basic(DefaultIntegrationKey, DefaultIntegrationPassword)

// pi sends a Pi request with the default Basic credentials and decodes the JSON answer (numbers as
// json.Number).
func (b *bundle) pi(method, path string, body any) (int, map[string]any) {
	b.t.Helper()
	return b.piAuth(method, path, body, defaultBasic)
}

func (b *bundle) piAuth(method, path string, body any, auth string) (int, map[string]any) {
	b.t.Helper()
	var text string
	switch v := body.(type) {
	case nil:
	case string:
		text = v
	default:
		raw, _ := json.Marshal(v)
		text = string(raw)
	}
	h := map[string]string{}
	if auth != "" {
		h["Authorization"] = auth
	}
	status, _, out := b.do(method, PiBasePath+path, "application/json", text, h)
	return status, decodeJSON(b.t, out)
}

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	if strings.TrimSpace(s) == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, s)
	}
	return m
}

// get walks a dotted path through decoded JSON ("errors.0.code", "3DSecure.status").
func get(m any, path string) any {
	cur := m
	for _, p := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[p]
		case []any:
			var i int
			if _, err := fmt.Sscanf(p, "%d", &i); err != nil || i >= len(v) {
				return nil
			}
			cur = v[i]
		default:
			return nil
		}
	}
	return cur
}

// str renders a JSON value for comparisons ("1018", "Ok").
func str(m any, path string) string {
	v := get(m, path)
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func (b *bundle) msk() string {
	b.t.Helper()
	status, body := b.pi("POST", "/merchant-session-keys", map[string]any{"vendorName": DefaultVendor})
	if status != http.StatusCreated {
		b.t.Fatalf("create msk: %d %v", status, body)
	}
	return str(body, "merchantSessionKey")
}

// card tokenises a card with a fresh merchant session key and returns (msk, cardIdentifier).
func (b *bundle) card(pan, cvv string) (string, string) {
	b.t.Helper()
	msk := b.msk()
	details := map[string]any{"cardholderName": "SAM JONES", "cardNumber": pan, "expiryDate": "0330"}
	if cvv != "" {
		details["securityCode"] = cvv
	}
	status, body := b.piAuth("POST", "/card-identifiers", map[string]any{"cardDetails": details}, "Bearer "+msk)
	if status != http.StatusCreated {
		b.t.Fatalf("create card identifier: %d %v", status, body)
	}
	return msk, str(body, "cardIdentifier")
}

var codeSeq atomic.Int64

func nextCode(prefix string) string { return fmt.Sprintf("%s-%d", prefix, codeSeq.Add(1)) }

// paymentBody is a valid Payment request that passes AVS (address 88, postcode 412).
func paymentBody(txType, msk, cardID string, amount int64) map[string]any {
	return map[string]any{
		"transactionType":   txType,
		"paymentMethod":     map[string]any{"card": map[string]any{"merchantSessionKey": msk, "cardIdentifier": cardID}},
		"vendorTxCode":      nextCode("order"),
		"amount":            amount,
		"currency":          "GBP",
		"description":       "Sandbox order",
		"customerFirstName": "Sam",
		"customerLastName":  "Jones",
		"billingAddress":    map[string]any{"address1": "88 Test Street", "city": "London", "postalCode": "412", "country": "GB"},
	}
}

// pay tokenises pan and takes a transaction of txType for amount; it returns the HTTP status and body.
func (b *bundle) pay(txType, pan string, amount int64) (int, map[string]any) {
	b.t.Helper()
	msk, card := b.card(pan, "123")
	return b.pi("POST", "/transactions", paymentBody(txType, msk, card, amount))
}

// mustPay is pay that insists on 201 Ok and returns the transaction id.
func (b *bundle) mustPay(txType, pan string, amount int64) string {
	b.t.Helper()
	status, body := b.pay(txType, pan, amount)
	if status != http.StatusCreated || str(body, "status") != "Ok" {
		b.t.Fatalf("pay %s %s: %d %v", txType, pan, status, body)
	}
	return str(body, "transactionId")
}

func (b *bundle) refund(id string, amount int64) (int, map[string]any) {
	b.t.Helper()
	return b.pi("POST", "/transactions", map[string]any{
		"transactionType": "Refund", "referenceTransactionId": id, "vendorTxCode": nextCode("refund"),
		"amount": amount, "description": "Refund",
	})
}

func (b *bundle) instruct(id, kind string, amount int64) (int, map[string]any) {
	b.t.Helper()
	body := map[string]any{"instructionType": kind}
	if amount > 0 {
		body["amount"] = amount
	}
	return b.pi("POST", "/transactions/"+id+"/instructions", body)
}

// wantPiError checks an error answer: HTTP status and code, in either Pi error shape.
func wantPiError(t *testing.T, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	code := str(body, "code")
	if code == "" {
		code = str(body, "errors.0.code")
	}
	if status != wantStatus || code != wantCode {
		t.Fatalf("got %d code %s, want %d code %s: %v", status, code, wantStatus, wantCode, body)
	}
}

// stateOf returns one transaction of the simulator state.
func (b *bundle) stateOf(id string) TransactionState {
	b.t.Helper()
	for _, ts := range b.sim.State().Transactions {
		if ts.TransactionID == id {
			return ts
		}
	}
	b.t.Fatalf("transaction %s not in state", id)
	return TransactionState{}
}

// report sends a signed Reporting command with the default credentials and returns the body.
func (b *bundle) report(command, params string) string {
	b.t.Helper()
	sig := reportingSignature(command, DefaultVendor, DefaultReportingUser, params, DefaultReportingPassword)
	return b.reportRaw(fmt.Sprintf("<vspaccess><command>%s</command><vendor>%s</vendor><user>%s</user>%s<signature>%s</signature></vspaccess>",
		command, DefaultVendor, DefaultReportingUser, params, sig))
}

func (b *bundle) reportRaw(xmlText string) string {
	b.t.Helper()
	status, h, body := b.do("POST", ReportingPath, "application/x-www-form-urlencoded", url.Values{"XML": {xmlText}}.Encode(), nil)
	if status != http.StatusOK {
		b.t.Fatalf("reporting: HTTP %d %s", status, body)
	}
	if ct := h.Get("Content-Type"); !strings.Contains(ct, "ISO-8859-1") {
		b.t.Fatalf("reporting content type %q", ct)
	}
	return body
}

// xmlField returns the text of the first <name> element.
func xmlField(body, name string) string {
	m := regexp.MustCompile("<" + name + ">([^<]*)</" + name + ">").FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Fatalf("response lacks %q:\n%s", w, body)
		}
	}
}

// formLines parses a form-protocol reply (CRLF lines of Name=Value).
func formLines(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("reply line %q is not Name=Value in:\n%q", line, body)
		}
		out[k] = v
	}
	return out
}

// registration is a valid Server-protocol registration form.
func registration(notificationURL string) url.Values {
	return url.Values{
		"VPSProtocol": {"4.00"}, "TxType": {"PAYMENT"}, "Vendor": {DefaultVendor},
		"VendorTxCode": {nextCode("srv")}, "Amount": {"83.40"}, "Currency": {"GBP"},
		"Description": {"Sandbox order"}, "NotificationURL": {notificationURL},
		"BillingSurname": {"Jones"}, "BillingFirstnames": {"Sam"}, "BillingAddress1": {"88 Test Street"},
		"BillingCity": {"London"}, "BillingPostCode": {"412"}, "BillingCountry": {"GB"},
		"DeliverySurname": {"Jones"}, "DeliveryFirstnames": {"Sam"}, "DeliveryAddress1": {"88 Test Street"},
		"DeliveryCity": {"London"}, "DeliveryPostCode": {"412"}, "DeliveryCountry": {"GB"},
	}
}

func (b *bundle) register(form url.Values) map[string]string {
	b.t.Helper()
	status, h, body := b.do("POST", ServerRegisterPath, "application/x-www-form-urlencoded", form.Encode(), nil)
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		b.t.Fatalf("register: HTTP %d %s %q", status, h.Get("Content-Type"), body)
	}
	return formLines(b.t, body)
}

// shopperPays posts card details to a NextURL and returns the status, Location and body.
func (b *bundle) shopperPays(nextURL string, card url.Values) (int, string, string) {
	b.t.Helper()
	resp, err := noRedirect.Post(nextURL, "application/x-www-form-urlencoded", strings.NewReader(card.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(raw)
}

func goodCard(pan string) url.Values {
	return url.Values{"CardNumber": {pan}, "ExpiryDate": {"0330"}, "CV2": {"123"}, "CardHolder": {"SAM JONES"}}
}

// vendorEndpoint is a NotificationURL that records each POST and answers with reply(n) for the
// n-th call (1-based).
type vendorEndpoint struct {
	*httptest.Server
	calls atomic.Int64
	forms chan url.Values
}

func newVendorEndpoint(t *testing.T, reply func(n int, w http.ResponseWriter)) *vendorEndpoint {
	t.Helper()
	v := &vendorEndpoint{forms: make(chan url.Values, 32)}
	v.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(v.calls.Add(1))
		_ = r.ParseForm()
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("notification content type %q", r.Header.Get("Content-Type"))
		}
		v.forms <- r.PostForm
		reply(n, w)
	}))
	t.Cleanup(v.Close)
	return v
}

func replyOK(redirect string) func(int, http.ResponseWriter) {
	return func(_ int, w http.ResponseWriter) {
		_, _ = io.WriteString(w, "Status=OK\r\nRedirectURL="+redirect+"\r\nStatusDetail=thanks\r\n")
	}
}
