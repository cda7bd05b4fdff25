package opayo

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePiErrorReadsThePublishedErrorList(t *testing.T) {
	t.Parallel()
	// The "Example JSON" of Opayo's published error-code section, byte for byte.
	var list []byte
	for _, b := range jsonBlocks(t, "pi", "description.md") {
		if strings.Contains(string(b), `"errors"`) {
			list = b
		}
	}
	if list == nil {
		t.Fatal("description.md has no error list example")
	}
	e := parsePiError("CreateCardIdentifier", 422, list, true)
	if e.Class != ClassInvalidRequest || e.Code != "1005" || e.Property != "cardDetails.cardholderName" ||
		e.Message != "Contains invalid characters" || e.ClientMessage != "The cardholder name contains invalid characters" {
		t.Errorf("first error = %+v", e)
	}
	if len(e.Details) != 4 || e.Details[2].Code != "1003" || e.Details[3].Property != "cardDetails.expiryDate" {
		t.Errorf("details = %+v", e.Details)
	}
	want := "opayo: CreateCardIdentifier: 1005 cardDetails.cardholderName: Contains invalid characters (and 3 more) (HTTP 422)"
	if e.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", e.Error(), want)
	}
	if !IsInvalidRequest(e) || IsTransient(e) || IsBusiness(e) {
		t.Errorf("helpers disagree with class %v", e.Class)
	}
}

func TestParsePiErrorClassifiesEveryShapeAndCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		status   int
		body     string
		class    Class
		code     string
		sentinel error
	}{
		{"auth values missing", 401, `{"code":1001,"description":"Authentication values are missing"}`, ClassConfiguration, "1001", ErrConfiguration},
		{"auth failed", 401, `{"code":"1002","description":"Authentication failed"}`, ClassConfiguration, "1002", ErrConfiguration},
		{"401 without body", 401, ``, ClassConfiguration, "", ErrConfiguration},
		{"bad request format", 400, `{"code":1000,"description":"Incorrect request format"}`, ClassInvalidRequest, "1000", ErrInvalidRequest},
		{"missing field", 422, `{"errors":[{"description":"Missing mandatory field","property":"vendorName","code":1003}]}`, ClassInvalidRequest, "1003", ErrInvalidRequest},
		{"integer required", 422, `{"errors":[{"code":1016,"property":"amount","description":"This parameter requires an integer"}]}`, ClassInvalidRequest, "1016", ErrInvalidRequest},
		{"legacy postcode", 422, `{"errors":[{"code":5055,"property":"billingAddress.postalCode","description":"A Postcode field contains invalid characters."}]}`, ClassInvalidRequest, "5055", ErrInvalidRequest},
		{"msk not found", 404, `{"code":1006,"description":"Merchant Session Keys not found"}`, ClassNotFound, "1006", ErrNotFound},
		{"transaction not found", 404, `{"code":1012,"description":"Transaction not found"}`, ClassNotFound, "1012", ErrNotFound},
		{"instructions not found", 404, `{"code":1019,"description":"Transaction instructions not found"}`, ClassNotFound, "1019", ErrNotFound},
		{"type not supported", 403, `{"code":1013,"description":"Transaction type not supported"}`, ClassBusiness, "1013", ErrBusiness},
		{"status not applicable", 403, `{"code":1014,"description":"Transaction status not applicable"}`, ClassBusiness, "1014", ErrBusiness},
		{"operation not allowed", 403, `{"code":1017,"description":"Operation not allowed for this transaction"}`, ClassBusiness, "1017", ErrBusiness},
		{"refund exceeds original", 403, `{"code":1018,"description":"This refund amount will exceed the amount of the original transaction"}`, ClassBusiness, "1018", ErrBusiness},
		{"already reusable", 422, `{"errors":[{"code":1020,"description":"Unable to save a card identifier that is already reusable"}]}`, ClassBusiness, "1020", ErrBusiness},
		{"release exceeds original", 403, `{"code":1021,"description":"This release amount will exceed the amount of the original transaction"}`, ClassBusiness, "1021", ErrBusiness},
		{"timeout", 408, `{"code":9998,"description":"Request timeout"}`, ClassTransient, "9998", ErrTransient},
		{"internal", 500, `{"code":9999,"description":"An internal error occurred at Sage Pay"}`, ClassTransient, "9999", ErrTransient},
		{"bad gateway page", 502, `<html><body>Bad Gateway</body></html>`, ClassTransient, "", ErrTransient},
		{"unavailable empty", 503, ``, ClassTransient, "", ErrTransient},
		{"duplicate 4042 list", 422, `{"errors":[{"code":4042,"description":"The VendorTxCode has been used before."}]}`, ClassDuplicate, "4042", ErrDuplicateVendorTxCode},
		{"duplicate 4001 single", 422, `{"code":"4001","description":"The VendorTxCode has been used before for another transaction."}`, ClassDuplicate, "4001", ErrDuplicateVendorTxCode},
		{"duplicate second in list", 422, `{"errors":[{"code":1009,"property":"x"},{"code":4042,"description":"dup"}]}`, ClassDuplicate, "1009", ErrDuplicateVendorTxCode},
		{"legacy shape decline", 403, `{"statusCode":"2000","statusDetail":"The Authorisation was Declined by the bank.","transactionId":"T1","status":"NotAuthed"}`, ClassBusiness, "2000", ErrBusiness},
		{"legacy shape 3ds failed", 403, `{"statusCode":4026,"statusDetail":"3D-Authentication failed."}`, ClassBusiness, "4026", ErrBusiness},
		{"legacy refund exceeds", 422, `{"statusCode":"4035","statusDetail":"This Refund would exceed the amount of the original transaction."}`, ClassBusiness, "4035", ErrBusiness},
		{"unknown card identifier on delete", 404, `{"code":1011,"description":"Merchant Session Keys or card identifier invalid"}`, ClassNotFound, "1011", ErrNotFound},
		{"unknown code falls back to status", 409, `{"code":7777,"description":"?"}`, ClassConfiguration, "7777", ErrConfiguration},
		{"method not allowed", 405, ``, ClassConfiguration, "", ErrConfiguration},
		{"too many requests", 429, ``, ClassTransient, "", ErrTransient},
	}
	sentinels := []error{ErrTransient, ErrBusiness, ErrInvalidRequest, ErrNotFound, ErrConfiguration, ErrDuplicateVendorTxCode}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := parsePiError("Op", tc.status, []byte(tc.body), false)
			if e.Class != tc.class || e.Code != tc.code || e.HTTPStatus != tc.status || e.Message == "" {
				t.Fatalf("got class %v code %q status %d message %q; want %v %q", e.Class, e.Code, e.HTTPStatus, e.Message, tc.class, tc.code)
			}
			var err error = e
			for _, s := range sentinels {
				if errors.Is(err, s) != (s == tc.sentinel) {
					t.Errorf("errors.Is(err, %v) = %v", s, errors.Is(err, s))
				}
			}
		})
	}
}

func TestA401OnASessionKeyCallMeansTheKeyIsGone(t *testing.T) {
	t.Parallel()
	body := []byte(`{"code":1002,"description":"Authentication failed"}`)
	if e := parsePiError("CreateCardIdentifier", 401, body, true); e.Class != ClassNotFound || e.Code != "1002" {
		t.Errorf("bearer 401 = %+v, want not found", e)
	}
	if e := parsePiError("CreateTransaction", 401, body, false); e.Class != ClassConfiguration {
		t.Errorf("basic 401 = %+v, want configuration", e)
	}
}

func TestParsePiErrorKeepsTheTransactionIDOfALegacyShapedDecline(t *testing.T) {
	t.Parallel()
	e := parsePiError("CreateTransaction", 403, []byte(`{"statusCode":"2000","statusDetail":"Declined","transactionId":"786D4F71-C1CB-8065-E609-FB29C026BF91","status":"NotAuthed"}`), false)
	if e.TransactionID != "786D4F71-C1CB-8065-E609-FB29C026BF91" || e.Status != "NotAuthed" {
		t.Errorf("got %+v", e)
	}
}

func TestErrorTextNeverEchoesACardNumber(t *testing.T) {
	t.Parallel()
	e := parsePiError("CreateCardIdentifier", 422, []byte(`{"errors":[{"code":1007,"property":"cardDetails.cardNumber","description":"Card 4929000000006 is invalid","clientMessage":"4929 0000 0000 6?"}]}`), true)
	if strings.Contains(e.Error(), testPAN) || strings.Contains(e.Message, testPAN) || strings.Contains(e.Details[0].Description, testPAN) {
		t.Errorf("error leaks the PAN: %q", e.Error())
	}
	if !strings.Contains(e.Message, redacted) {
		t.Errorf("message %q should show the redaction", e.Message)
	}
}

func TestSplitStatusDetail(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, code, text string }{
		{"3082 : The Description value is too long.", "3082", "The Description value is too long."},
		{"2005 : The Void was Successful.", "2005", "The Void was Successful."},
		{"4042:dup", "4042", "dup"},
		{"Server transaction registered successfully.", "", "Server transaction registered successfully."},
		{"12345 is not a code", "", "12345 is not a code"},
		{"", "", ""},
	}
	for _, tc := range cases {
		if code, text := splitStatusDetail(tc.in); code != tc.code || text != tc.text {
			t.Errorf("splitStatusDetail(%q) = %q, %q", tc.in, code, text)
		}
	}
}

func TestClassStringsAreStable(t *testing.T) {
	t.Parallel()
	want := map[Class]string{ClassTransient: "transient", ClassBusiness: "business", ClassInvalidRequest: "invalid_request",
		ClassNotFound: "not_found", ClassConfiguration: "configuration", ClassDuplicate: "duplicate", 0: "unknown"}
	for c, s := range want {
		if c.String() != s {
			t.Errorf("%d.String() = %q, want %q", c, c.String(), s)
		}
	}
}
