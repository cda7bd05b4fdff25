package opayosim

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var vpsTxIDPattern = regexp.MustCompile(`^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$`)

func TestServerRegistrationReply(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	_, _, raw := b.do("POST", ServerRegisterPath, "application/x-www-form-urlencoded", registration("https://shop.example/notify").Encode(), nil)
	lines := strings.Split(raw, "\r\n")
	if len(lines) != 7 || lines[6] != "" {
		t.Fatalf("want six CRLF-terminated lines, got %q", raw)
	}
	names := []string{"VPSProtocol", "Status", "StatusDetail", "VPSTxId", "SecurityKey", "NextURL"}
	for i, n := range names {
		if !strings.HasPrefix(lines[i], n+"=") {
			t.Fatalf("line %d is %q, want %s=", i, lines[i], n)
		}
	}
	r := formLines(t, raw)
	if r["VPSProtocol"] != "4.00" || r["Status"] != "OK" || r["StatusDetail"] != "0000 : The Transaction was Registered Successfully." ||
		!vpsTxIDPattern.MatchString(r["VPSTxId"]) || !regexp.MustCompile(`^[A-Z0-9]{10}$`).MatchString(r["SecurityKey"]) ||
		r["NextURL"] != b.http.URL+"/gateway/service/cardselection?vpstxid="+r["VPSTxId"] {
		t.Fatalf("registration %v", r)
	}
	// Not visible to Pi until the shopper pays, but visible to Reporting.
	status, body := b.pi("GET", "/transactions/"+strings.Trim(r["VPSTxId"], "{}"), nil)
	wantPiError(t, status, body, http.StatusNotFound, "1012")
	detail := b.report("getTransactionDetail", "<vpstxid>"+r["VPSTxId"]+"</vpstxid>")
	if xmlField(detail, "txstateid") != "2" || xmlField(detail, "securitykey") != r["SecurityKey"] {
		t.Fatalf("reporting before payment:\n%s", detail)
	}
}

func TestServerRegistrationErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	cases := []struct {
		name   string
		mutate func(f map[string][]string)
		status string
		detail string
	}{
		{"missing NotificationURL", func(f map[string][]string) { delete(f, "NotificationURL") }, "INVALID", "3076 : The NotificationURL is required."},
		{"relative NotificationURL", func(f map[string][]string) { f["NotificationURL"] = []string{"/notify"} }, "INVALID", "3011 : The NotificationURL format is invalid."},
		{"missing VendorTxCode", func(f map[string][]string) { delete(f, "VendorTxCode") }, "MALFORMED", "3009 : The VendorTxCode is missing."},
		{"another vendor", func(f map[string][]string) { f["Vendor"] = []string{"sandbox"} }, "INVALID", "4000 : The VendorName is invalid or the account is not active."},
		{"missing protocol", func(f map[string][]string) { delete(f, "VPSProtocol") }, "MALFORMED", "3096 : The VPSProtocol value is required."},
		{"old protocol", func(f map[string][]string) { f["VPSProtocol"] = []string{"2.23"} }, "INVALID", "3098 : The VPSProtocol value is not supported by the system in use."},
		{"bad TxType", func(f map[string][]string) { f["TxType"] = []string{"REFUND"} }, "INVALID", "3014 : The TxType or PaymentType is invalid."},
		{"amount with comma", func(f map[string][]string) { f["Amount"] = []string{"1,000.00"} }, "INVALID", "3032 : The Amount format is invalid."},
		{"three decimals", func(f map[string][]string) { f["Amount"] = []string{"10.001"} }, "INVALID", "3006 : The fractional part of the Amount is invalid for the specified currency."},
		{"zero amount", func(f map[string][]string) { f["Amount"] = []string{"0.00"} }, "INVALID", "3005 : The Amount is outside the mininum and maximum limits."},
		{"missing amount", func(f map[string][]string) { delete(f, "Amount") }, "MALFORMED", "3031 : The Amount value is required."},
		{"bad currency", func(f map[string][]string) { f["Currency"] = []string{"XYZ"} }, "INVALID", "3003 : The Currency is invalid."},
		{"long description", func(f map[string][]string) { f["Description"] = []string{strings.Repeat("x", 101)} }, "INVALID", "3082 : The Description value is too long."},
		{"missing billing surname", func(f map[string][]string) { delete(f, "BillingSurname") }, "MALFORMED", "3107 : The BillingSurname field is required."},
		{"missing delivery country", func(f map[string][]string) { delete(f, "DeliveryCountry") }, "MALFORMED", "3128 : The DeliveryCountry field is required."},
	}
	for _, c := range cases {
		form := registration("https://shop.example/notify")
		c.mutate(form)
		r := b.register(form)
		if r["Status"] != c.status || r["StatusDetail"] != c.detail || r["VPSTxId"] != "" {
			t.Errorf("%s: %v, want %s %q", c.name, r, c.status, c.detail)
		}
	}
}

func TestServerReRegistration(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	vendor := newVendorEndpoint(t, replyOK("https://shop.example/done"))
	form := registration(vendor.URL)
	first := b.register(form)
	again := b.register(form)
	if again["Status"] != "OK REPEATED" || !strings.HasPrefix(again["StatusDetail"], "4042 : ") ||
		again["VPSTxId"] != first["VPSTxId"] || again["SecurityKey"] != first["SecurityKey"] || again["NextURL"] != first["NextURL"] {
		t.Fatalf("re-registration %v vs %v", again, first)
	}
	form.Set("Amount", "1.00")
	if r := b.register(form); r["Status"] != "MALFORMED" || !strings.HasPrefix(r["StatusDetail"], "4002 : ") {
		t.Fatalf("different amount: %v", r)
	}
	form.Set("Amount", "83.40")
	if status, _, _ := b.shopperPays(first["NextURL"], goodCard("4929000000006")); status != http.StatusFound {
		t.Fatalf("payment status %d", status)
	}
	if r := b.register(form); r["Status"] != "INVALID" || !strings.HasPrefix(r["StatusDetail"], "4042 : ") {
		t.Fatalf("after payment: %v", r)
	}
}

// expectedSignature recomputes VPSSignature from the posted fields by the §4.1 chain, independently
// of the simulator's signer.
func expectedSignature(f map[string][]string, securityKey string) string {
	g := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	chain := g("VPSTxId") + g("VendorTxCode") + g("Status") + g("TxAuthNo") + strings.ToLower(DefaultVendor) + g("AVSCV2") +
		"" + securityKey + g("AddressResult") + g("PostCodeResult") + g("CV2Result") + g("GiftAid") + g("3DSecureStatus") +
		g("CAVV") + g("AddressStatus") + g("PayerStatus") + g("CardType") + g("Last4Digits") + g("DeclineCode") +
		g("ExpiryDate") + g("FraudResponse") + g("BankAuthCode") + g("ACSTransID") + g("DSTransID") + g("SchemeTraceID")
	sum := md5.Sum([]byte(chain))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func TestServerPaymentNotifiesSignedAndRedirects(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	vendor := newVendorEndpoint(t, replyOK("https://shop.example/done?order=1"))
	reg := b.register(registration(vendor.URL))
	status, location, _ := b.shopperPays(reg["NextURL"], goodCard("4929000000006"))
	if status != http.StatusFound || location != "https://shop.example/done?order=1" {
		t.Fatalf("shopper: %d %q", status, location)
	}
	f := <-vendor.forms
	want := map[string]string{
		"VPSProtocol": "4.00", "TxType": "PAYMENT", "VPSTxId": reg["VPSTxId"], "Status": "OK",
		"StatusDetail": "0000 : The Authorisation was Successful.", "AVSCV2": "ALL MATCH", "AddressResult": "MATCHED",
		"PostCodeResult": "MATCHED", "CV2Result": "MATCHED", "GiftAid": "0", "3DSecureStatus": "NOTCHECKED",
		"CardType": "VISA", "Last4Digits": "0006", "ExpiryDate": "0330", "DeclineCode": "00", "BankAuthCode": "999777",
	}
	for k, v := range want {
		if f.Get(k) != v {
			t.Errorf("notification %s = %q, want %q", k, f.Get(k), v)
		}
	}
	for _, k := range []string{"TxAuthNo", "SchemeTraceID", "VPSSignature"} {
		if f.Get(k) == "" {
			t.Errorf("notification lacks %s", k)
		}
	}
	if _, ok := f["ACSTransID"]; !ok {
		t.Error("4.00 notification lacks ACSTransID")
	}
	if got, want := f.Get("VPSSignature"), expectedSignature(f, reg["SecurityKey"]); got != want {
		t.Fatalf("VPSSignature %s, want %s", got, want)
	}

	id := strings.Trim(reg["VPSTxId"], "{}")
	ts := b.stateOf(id)
	if ts.Origin != "server" || ts.TxStateID != txStateAuthorised || ts.AmountMinor != 8340 || ts.LastFourDigits != "0006" {
		t.Fatalf("state %+v", ts)
	}
	snap := b.sim.State()
	if len(snap.Notifications) != 1 || snap.Notifications[0].State != DeliveryDelivered || len(snap.Notifications[0].Attempts) != 1 ||
		snap.Notifications[0].Attempts[0].ReplyStatus != "OK" || snap.Notifications[0].RedirectURL != "https://shop.example/done?order=1" {
		t.Fatalf("notifications %+v", snap.Notifications)
	}
	status, body := b.pi("GET", "/transactions/"+id, nil)
	if status != http.StatusOK || str(body, "status") != "Ok" || str(body, "transactionType") != "Payment" || str(body, "amount.totalAmount") != "8340" {
		t.Fatalf("Pi view: %d %v", status, body)
	}
	detail := b.report("getTransactionDetail", "<vpstxid>"+reg["VPSTxId"]+"</vpstxid>")
	if xmlField(detail, "securitykey") != reg["SecurityKey"] || xmlField(detail, "txstateid") != "16" || xmlField(detail, "amount") != "83.40" {
		t.Fatalf("reporting:\n%s", detail)
	}
	// Pi refunds work on a Server payment.
	if status, body := b.refund(id, 1000); status != http.StatusCreated {
		t.Fatalf("refund of server payment: %d %v", status, body)
	}
	// Paying twice is refused.
	if _, _, page := b.shopperPays(reg["NextURL"], goodCard("4929000000006")); !strings.Contains(page, "5004") {
		t.Fatalf("second payment page: %s", page)
	}
}

func TestServerPaymentOutcomes(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	vendor := newVendorEndpoint(t, replyOK("https://shop.example/done"))
	cases := []struct {
		name, txType string
		card         map[string][]string
		status       string
		detailPrefix string
		txState      int
	}{
		{"declined card", "PAYMENT", goodCard("4929602110085639"), "NOTAUTHED", "2000 : ", txStateDeclined},
		{"deferred", "DEFERRED", goodCard("5404000000000001"), "OK", "0000 : ", txStateDeferred},
		{"authenticate", "AUTHENTICATE", goodCard("4929000000006"), "REGISTERED", "2011 : ", txStateRegistered},
		{"shopper cancels", "PAYMENT", map[string][]string{"action": {"cancel"}}, "ABORT", "2013 : ", txStateCustomerAborted},
	}
	for _, c := range cases {
		form := registration(vendor.URL)
		form.Set("TxType", c.txType)
		reg := b.register(form)
		status, _, _ := b.shopperPays(reg["NextURL"], c.card)
		f := <-vendor.forms
		if status != http.StatusFound || f.Get("Status") != c.status || !strings.HasPrefix(f.Get("StatusDetail"), c.detailPrefix) ||
			f.Get("TxType") != c.txType {
			t.Errorf("%s: shopper %d, notification %v", c.name, status, f)
		}
		if f.Get("VPSSignature") != expectedSignature(f, reg["SecurityKey"]) {
			t.Errorf("%s: bad signature", c.name)
		}
		if got := b.stateOf(strings.Trim(reg["VPSTxId"], "{}")).TxStateID; got != c.txState {
			t.Errorf("%s: txstateid %d, want %d", c.name, got, c.txState)
		}
	}
}

func TestServerCardPageRejectsBadCards(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	vendor := newVendorEndpoint(t, replyOK("https://shop.example/done"))
	reg := b.register(registration(vendor.URL))
	status, _, page := b.do("GET", strings.TrimPrefix(reg["NextURL"], b.http.URL), "", "", nil)
	if status != http.StatusOK || !strings.Contains(page, `name="CardNumber"`) {
		t.Fatalf("payment page: %d %s", status, page)
	}
	cases := []struct {
		name   string
		card   map[string][]string
		detail string
	}{
		{"Luhn", map[string][]string{"CardNumber": {"4929000000007"}, "ExpiryDate": {"0330"}, "CV2": {"123"}, "CardHolder": {"S"}}, "5011 : "},
		{"expired", map[string][]string{"CardNumber": {"4929000000006"}, "ExpiryDate": {"0120"}, "CV2": {"123"}, "CardHolder": {"S"}}, "5013 : "},
		{"no CV2", map[string][]string{"CardNumber": {"4929000000006"}, "ExpiryDate": {"0330"}, "CardHolder": {"S"}}, "5017 : "},
		{"no holder", map[string][]string{"CardNumber": {"4929000000006"}, "ExpiryDate": {"0330"}, "CV2": {"123"}}, "5012 : "},
	}
	for _, c := range cases {
		status, _, page := b.shopperPays(reg["NextURL"], c.card)
		if status != http.StatusOK || !strings.Contains(page, c.detail) || !strings.Contains(page, `name="CardNumber"`) {
			t.Errorf("%s: %d %s", c.name, status, page)
		}
	}
	if vendor.calls.Load() != 0 {
		t.Fatalf("rejected card details notified the vendor")
	}
	if status, _, _ := b.shopperPays(b.http.URL+CardSelectionPath+"?vpstxid={00000000-0000-0000-0000-000000000000}", goodCard("4929000000006")); status != http.StatusNotFound {
		t.Fatalf("unknown transaction: %d", status)
	}
}
