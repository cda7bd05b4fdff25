package opayo

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// recordingBody returns the body of a recorded raw HTTP response in testdata/legacy: every
// byte after the header block. The recordings' Content-Length headers understate several bodies
// (the fixtures were edited by hand), so the header is checked but its length is not trusted.
// The files store LF line ends, so the parser's bare-LF tolerance is what reads them.
func recordingBody(t testing.TB, name string) []byte {
	t.Helper()
	raw := readTestdata(t, "legacy", name)
	res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(raw)), nil)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("%s: not an HTTP 200 recording: %v", name, err)
	}
	res.Body.Close()
	_, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		// The stored fixtures have LF line ends throughout.
		_, body, ok = bytes.Cut(raw, []byte("\n\n"))
	}
	if !ok {
		t.Fatalf("%s: no end of headers", name)
	}
	return body
}

func TestParseLegacyResponseReadsEveryRecording(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file     string
		status   string
		code     string
		vpsTxID  string
		key      string
		accepted bool
		class    Class
		check    func(*LegacyResponse) bool
	}{
		{"DirectPurchase3dSecure.txt", "3DAUTH", "", "", "", true, 0, func(r *LegacyResponse) bool {
			return r.ThreeDSecureStatus == "OK" && r.MD == "065379457749061954" && strings.HasPrefix(r.ACSURL, "https://sandbox.opayo.eu.elavon.com/") && strings.HasPrefix(r.PAReq, "BSkaFwYF")
		}},
		{"DirectPurchaseFailure.txt", "INVALID", "", "", "", false, ClassDuplicate, nil},
		{"DirectPurchaseSuccess.txt", "OK", "", "{5A1BC414-5409-48DD-9B8B-DCDF096CE0BE}", "OUWLNYQTVT", true, 0, func(r *LegacyResponse) bool {
			return r.TxAuthNo == "9962" && r.AVSCV2 == "ALL MATCH" && r.AddressResult == "MATCHED" && r.PostCodeResult == "MATCHED" && r.CV2Result == "MATCHED"
		}},
		{"DirectPurchaseWithToken.txt", "OK", "", "{5A1BC414-5409-48DD-9B8B-DCDF096CE0BE}", "OUWLNYQTVT", true, 0, func(r *LegacyResponse) bool {
			return r.Token == "{ABCDEFGH-ABCD-ABCD-ABCD-ABCDEFGHIJKL}"
		}},
		{"ServerPurchaseFailure.txt", "INVALID", "3082", "", "", false, ClassInvalidRequest, func(r *LegacyResponse) bool {
			return r.StatusText == "The Description value is too long."
		}},
		{"ServerPurchaseSuccess.txt", "OK", "", "{1E7D9C70-DBE2-4726-88EA-D369810D801D}", "IK776BWNHN", true, 0, func(r *LegacyResponse) bool {
			return r.NextURL == "https://sandbox.opayo.eu.elavon.com/Simulator/VSPServerPaymentPage.asp?TransactionID={1E7D9C70-DBE2-4726-88EA-D369810D801D}"
		}},
		{"ServerPurchaseWithToken.txt", "OK", "", "{1E7D9C70-DBE2-4726-88EA-D369810D801D}", "IK776BWNHN", true, 0, func(r *LegacyResponse) bool {
			return r.Token == "{ABCDEFGH-ABCD-ABCD-ABCD-ABCDEFGHIJKL}" && r.NextURL != ""
		}},
		{"ServerTokenRegistrationFailure.txt", "INVALID", "3082", "", "", false, ClassInvalidRequest, nil},
		{"ServerTokenRegistrationSuccess.txt", "OK", "", "{1E7D9C70-DBE2-4726-88EA-D369810D801D}", "IK776BWNHN", true, 0, nil},
		{"SharedAbortFailure.txt", "INVALID", "4041", "", "", false, ClassBusiness, nil},
		{"SharedAbortSuccess.txt", "OK", "2005", "", "", true, 0, nil},
		{"SharedCaptureFailure.txt", "INVALID", "", "", "", false, ClassBusiness, nil},
		{"SharedCaptureSuccess.txt", "OK", "", "", "", true, 0, nil},
		{"SharedRefundFailure.txt", "MALFORMED", "3013", "{869BC439-1904-DF8A-DDC6-D13E3599FB98}", "", false, ClassInvalidRequest, nil},
		{"SharedRefundSuccess.txt", "OK", "0000", "{5A1BC414-5409-48DD-9B8B-DCDF096CE0BE}", "CLSMJYURGO", true, 0, nil},
		{"SharedRepeatAuthorize.txt", "OK", "", "{5A1BC414-5409-48DD-9B8B-DCDF096CE0BE}", "OUWLNYQTVT", true, 0, func(r *LegacyResponse) bool {
			return r.BankAuthCode == "T99777" && r.DeclineCode == "00"
		}},
		{"SharedRepeatAuthorizeFailure.txt", "NOTAUTHED", "", "{5A1BC414-5409-48DD-9B8B-DCDF096CE0BE}", "OUWLNYQTVT", false, ClassBusiness, func(r *LegacyResponse) bool {
			return r.BankAuthCode == "" && r.DeclineCode == "99"
		}},
		{"SharedVoidFailure.txt", "INVALID", "4041", "", "", false, ClassBusiness, nil},
		{"SharedVoidSuccess.txt", "OK", "2005", "", "", true, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			body := recordingBody(t, tc.file)
			r, err := ParseLegacyResponse(body)
			if err != nil {
				t.Fatal(err)
			}
			// Opayo sends CRLF; the same lines with CRLF ends must read identically.
			crlf, err := ParseLegacyResponse(bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n")))
			if err != nil || !reflect.DeepEqual(crlf, r) {
				t.Errorf("CRLF form differs: %+v, %v", crlf, err)
			}
			if r.VPSProtocol != "3.00" || r.Status != tc.status || r.StatusCode != tc.code || r.VPSTxID != tc.vpsTxID || string(r.SecurityKey) != tc.key || r.Accepted() != tc.accepted {
				t.Errorf("parsed %+v", r)
			}
			if tc.check != nil && !tc.check(r) {
				t.Errorf("fields: %+v", r)
			}
			err = r.Err("Op")
			if tc.accepted != (err == nil) {
				t.Fatalf("Err = %v", err)
			}
			if err != nil {
				e := err.(*Error)
				if e.Class != tc.class || e.Code != tc.code || e.Status != tc.status || e.TransactionID != tc.vpsTxID {
					t.Errorf("Err = %+v", e)
				}
				if tc.key != "" && strings.Contains(e.Error(), tc.key) {
					t.Errorf("error leaks the security key: %v", e)
				}
			}
		})
	}
}

func TestParseLegacyResponseRejectsGarbage(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"", "\r\n", "hello", "Status=OK\r\nStatus=OK", "=x\r\nStatus=OK", "Status OK=1", "StatusDetail=x"} {
		if _, err := ParseLegacyResponse([]byte(body)); err == nil {
			t.Errorf("%q accepted", body)
		}
	}
	if _, err := ParseLegacyResponse([]byte("Status=OK\r\nSecurityKey IK776BWNHN\r\n")); err == nil || strings.Contains(err.Error(), "IK776BWNHN") {
		t.Errorf("malformed line: %v", err)
	}
	r, err := ParseLegacyResponse([]byte("status=OK\nredirecturl=https://x/?a=b=c"))
	if err != nil || r.Status != "OK" || r.RedirectURL != "https://x/?a=b=c" {
		t.Errorf("case-insensitive keys and '=' in values: %+v, %v", r, err)
	}
}

func serverRequest() ServerRegistrationRequest {
	return ServerRegistrationRequest{
		VendorTxCode: "payhub-srv-1", Amount: decimal.RequireFromString("10.5"), Currency: "GBP", Description: "Order 9",
		NotificationURL: "https://hub.example/opayo/notify",
		Billing:         ServerAddress{Surname: "Jones", Firstnames: "Sam", Address1: "88", City: "London", PostCode: "412", Country: "GB"},
		Extra:           url.Values{"CustomerEMail": {"ignored@example.com"}, "COFUsage": {"FIRST"}},
		CustomerEMail:   "sam@example.com",
	}
}

func TestRegisterServerTransactionPostsTheFormAndReadsTheReply(t *testing.T) {
	t.Parallel()
	success := recordingBody(t, "ServerPurchaseSuccess.txt")
	failure := recordingBody(t, "ServerPurchaseFailure.txt")
	repeated := []byte("VPSProtocol=4.00\r\nStatus=OK REPEATED\r\nStatusDetail=4042 : The VendorTxCode has been used before.\r\nVPSTxId={1E7D9C70-DBE2-4726-88EA-D369810D801D}\r\nSecurityKey=IK776BWNHN\r\nNextURL=https://x/next\r\n")
	errorBody := []byte("VPSProtocol=4.00\r\nStatus=ERROR\r\nStatusDetail=5006 : Unable to redirect to Vendor's web site.\r\n")
	var form url.Values
	answers := map[string][]byte{"ok": success, "bad": failure, "rep": repeated, "err": errorBody}
	f := newFake(t, func(r recorded) (int, string) {
		form, _ = url.ParseQuery(string(r.Body))
		if r.Path != "/gateway/service/vspserver-register.vsp" {
			return 404, ""
		}
		return 200, string(answers[form.Get("Description")])
	})
	c := piClient(t, f)
	ctx := context.Background()

	req := serverRequest()
	req.Description = "ok"
	reg, err := c.RegisterServerTransaction(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if reg.VPSTxID != "{1E7D9C70-DBE2-4726-88EA-D369810D801D}" || string(reg.SecurityKey) != "IK776BWNHN" || !strings.HasPrefix(reg.NextURL, "https://") || reg.Repeated {
		t.Errorf("registration = %+v", reg)
	}
	want := map[string]string{
		"VPSProtocol": "4.00", "TxType": "PAYMENT", "Vendor": testVendor, "VendorTxCode": "payhub-srv-1", "Amount": "10.50",
		"Currency": "GBP", "NotificationURL": "https://hub.example/opayo/notify", "BillingSurname": "Jones", "DeliverySurname": "Jones",
		"DeliveryPostCode": "412", "BillingCountry": "GB", "CustomerEMail": "sam@example.com", "COFUsage": "FIRST",
	}
	for k, v := range want {
		if form.Get(k) != v {
			t.Errorf("form %s = %q, want %q", k, form.Get(k), v)
		}
	}

	req.Description = "rep"
	if reg, err := c.RegisterServerTransaction(ctx, req); err != nil || !reg.Repeated || reg.StatusCode != "4042" {
		t.Errorf("OK REPEATED: %+v, %v", reg, err)
	}
	req.Description = "bad"
	if _, err := c.RegisterServerTransaction(ctx, req); !IsInvalidRequest(err) || !strings.Contains(err.Error(), "3082 The Description value is too long.") {
		t.Errorf("INVALID: %v", err)
	}
	req.Description = "err"
	if _, err := c.RegisterServerTransaction(ctx, req); !IsTransient(err) {
		t.Errorf("ERROR: %v", err)
	}

	invalid := []func(*ServerRegistrationRequest){
		func(r *ServerRegistrationRequest) { r.TxType = "REFUND" },
		func(r *ServerRegistrationRequest) { r.NotificationURL = "/notify" },
		func(r *ServerRegistrationRequest) { r.Amount = decimal.RequireFromString("1.001") },
		func(r *ServerRegistrationRequest) { r.Billing.City = "" },
		func(r *ServerRegistrationRequest) { r.VendorTxCode = strings.Repeat("v", 41) },
	}
	before := len(f.requests())
	for i, mutate := range invalid {
		r := serverRequest()
		mutate(&r)
		if _, err := c.RegisterServerTransaction(ctx, r); !IsInvalidRequest(err) {
			t.Errorf("invalid %d: %v", i, err)
		}
	}
	if len(f.requests()) != before {
		t.Error("an invalid registration was sent")
	}
}
