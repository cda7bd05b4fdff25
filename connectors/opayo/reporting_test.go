package opayo

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
)

func TestReportingSignatureMatchesThePublishedVectors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		command, params, want string
	}{
		{"getTransactionDetail", "<vpstxid>12345</vpstxid>", "4a0787ba97d65455d24be4d1768133ac"},
		{"getTokenCount", "", "eca0a57c18e960a6cba53f685597b6c2"},
	}
	for _, tc := range cases {
		if got := ReportingSignature(tc.command, "", "", tc.params, ""); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.command, got, tc.want)
		}
	}
	// The envelope signs the parameters exactly as it sends them.
	doc := reportingEnvelope("getTransactionDetail", "", "", "", []reportingParam{{"vpstxid", "12345"}})
	want := "<vspaccess><command>getTransactionDetail</command><vendor></vendor><user></user><vpstxid>12345</vpstxid><signature>4a0787ba97d65455d24be4d1768133ac</signature></vspaccess>"
	if doc != want {
		t.Errorf("envelope\n%s\nwant\n%s", doc, want)
	}
}

var (
	reCommand   = regexp.MustCompile(`^<vspaccess><command>([^<]*)</command><vendor>([^<]*)</vendor><user>([^<]*)</user>(.*)<signature>([0-9a-f]{32})</signature></vspaccess>$`)
	reParamElem = regexp.MustCompile(`<([a-z]+)>([^<]*)</([a-z]+)>`)
)

// reportingRequest is a decoded, signature-checked Reporting request.
type reportingRequest struct {
	command string
	params  map[string]string
}

// parseReportingRequest checks a request the way Opayo does: form field XML, and an MD5 over
// the parts as sent plus the password.
func parseReportingRequest(t *testing.T, body []byte, password string) (reportingRequest, bool) {
	t.Helper()
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Errorf("not a form: %v", err)
		return reportingRequest{}, false
	}
	m := reCommand.FindStringSubmatch(form.Get("XML"))
	if m == nil {
		t.Errorf("XML field not a signed vspaccess: %q", form.Get("XML"))
		return reportingRequest{}, false
	}
	if ReportingSignature(m[1], m[2], m[3], m[4], password) != m[5] {
		return reportingRequest{command: m[1]}, false
	}
	rr := reportingRequest{command: m[1], params: map[string]string{}}
	for _, p := range reParamElem.FindAllStringSubmatch(m[4], -1) {
		rr.params[p[1]] = p[2]
	}
	return rr, true
}

func vspaccess(inner string) string {
	return `<?xml version="1.0" encoding="ISO-8859-1"?><vspaccess><errorcode>0000</errorcode>` + inner + `<timestamp>20/11/2026 10:00:00</timestamp></vspaccess>`
}

func latin1(t *testing.T, s string) string {
	t.Helper()
	b, err := charmap.ISO8859_1.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const detailXML = `<vpstxid>{1E7D9C70-DBE2-4726-88EA-D369810D801D}</vpstxid><vendortxcode>payhub-0001</vendortxcode>
<transactiontype>Payment</transactiontype><txstateid>16</txstateid><status>Successfully authorised transaction.</status>
<description>Order 1</description><amount>1,083.40</amount><currency>GBP</currency>
<started>20/07/2026 14:03:01.123</started><completed>20/07/2026 14:03:02.456</completed>
<securitykey>IK776BWNHN</securitykey><clientip>1.2.3.4</clientip><giftaid>NO</giftaid><paymentsystem>VISA</paymentsystem>
<expirydate>1230</expirydate><last4digits>0006</last4digits><authprocessor>Elavon</authprocessor><merchantnumber>123</merchantnumber>
<vpsauthcode>9962</vpsauthcode><bankauthcode>999777</bankauthcode><batchid>2419</batchid>
<billingfirstnames>Renée</billingfirstnames><billingsurname>Jones</billingsurname><billingaddress>88</billingaddress><billingcity>London</billingcity>
<billingpostcode>412</billingpostcode><billingcountry>GB</billingcountry><deliverysurname>Jones</deliverysurname><cardholder>R JONES</cardholder>
<refunded>YES</refunded><repeated>NO</repeated><cv2result>MATCHED</cv2result><addressresult>MATCHED</addressresult><postcoderesult>MATCHED</postcoderesult>
<threedresult>OK</threedresult><t3maction>OK</t3maction><declinecode>00</declinecode><surcharge>0.00</surcharge>`

func TestGetTransactionDetailSignsAndParsesEveryField(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(r recorded) (int, string) {
		rr, ok := parseReportingRequest(t, r.Body, testRepPass)
		if !ok {
			return 200, vspaccessError("0010", "Invalid signature")
		}
		if rr.command != "getTransactionDetail" {
			return 200, vspaccessError("0013", "unknown command")
		}
		if rr.params["vendortxcode"] == "missing" {
			return 200, vspaccessError("0043", "Transaction not found")
		}
		return 200, latin1(t, vspaccess(detailXML))
	})
	c := piClient(t, f)
	ctx := context.Background()
	d, err := c.GetTransactionDetail(ctx, ByVPSTxID("{1E7D9C70-DBE2-4726-88EA-D369810D801D}"))
	if err != nil {
		t.Fatal(err)
	}
	london, _ := time.LoadLocation("Europe/London")
	checks := []struct {
		name string
		ok   bool
	}{
		{"ids", d.VPSTxID == "{1E7D9C70-DBE2-4726-88EA-D369810D801D}" && d.VendorTxCode == "payhub-0001"},
		{"state", d.TxStateID == TxStateAuthorised && d.TransactionType == "Payment"},
		{"amount", d.Amount.String() == "1083.4" && d.Currency == "GBP" && d.Surcharge.IsZero()},
		{"started", d.Started.Equal(time.Date(2026, 7, 20, 14, 3, 1, 123e6, london)) && d.Started.UTC().Hour() == 13},
		{"completed", d.Completed.Equal(time.Date(2026, 7, 20, 14, 3, 2, 456e6, london))},
		{"security key", string(d.SecurityKey) == "IK776BWNHN"},
		{"batch", d.BatchID == "2419" && d.AuthProcessor == "Elavon"},
		{"flags", d.Refunded && !d.Repeated && !d.GiftAid},
		{"latin-1 text", d.Billing.FirstNames == "Renée" && d.Billing.Postcode == "412"},
		{"card", d.PaymentSystem == "VISA" && d.Last4Digits == "0006" && d.Cardholder == "R JONES"},
		{"checks", d.CV2Result == "MATCHED" && d.ThreeDResult == "OK" && d.BankAuthCode == "999777"},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("%s wrong: %+v", ch.name, d)
		}
	}
	if _, err := c.GetTransactionDetail(ctx, ByVendorTxCode("missing")); !IsNotFound(err) || !strings.Contains(err.Error(), "0043") {
		t.Errorf("missing: %v", err)
	}
	if _, err := c.GetTransactionDetail(ctx, TransactionRef{}); !IsInvalidRequest(err) {
		t.Errorf("empty ref: %v", err)
	}
	if _, err := c.GetTransactionDetail(ctx, TransactionRef{VPSTxID: "a", VendorTxCode: "b"}); !IsInvalidRequest(err) {
		t.Errorf("both refs: %v", err)
	}

	wrong, err := New(Config{ReportingURL: f.srv.URL + "/access/access.htm", Vendor: testVendor, ReportingUser: testRepUser, ReportingPassword: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.GetTransactionDetail(ctx, ByVPSTxID("x"))
	if !IsConfiguration(err) || !strings.Contains(err.Error(), "0010 Invalid signature") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("bad password: %v", err)
	}
}

func vspaccessError(code, text string) string {
	return `<?xml version="1.0" encoding="ISO-8859-1"?><vspaccess><errorcode>` + code + `</errorcode><error>` + text + `</error><timestamp>20/11/2026 10:00:00</timestamp></vspaccess>`
}

func TestParseReportingResponseClassifiesErrorCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code  string
		class Class
	}{
		{"0010", ClassConfiguration},
		{"0008", ClassConfiguration},
		{"0044", ClassConfiguration},
		{"0039", ClassInvalidRequest},
		{"0099", ClassInvalidRequest},
		{"0042", ClassInvalidRequest},
		{"0001", ClassInvalidRequest},
		{"0043", ClassNotFound},
		{"0009", ClassTransient},
		{"2222", ClassInvalidRequest},
		{"2999", ClassBusiness},
	}
	for _, tc := range cases {
		_, err := parseReportingResponse("cmd", []byte(vspaccessError(tc.code, "Text for "+tc.code)))
		e, ok := err.(*Error)
		if !ok || e.Class != tc.class || e.Code != tc.code || e.Message != "Text for "+tc.code {
			t.Errorf("%s: %#v", tc.code, err)
		}
	}
	for _, body := range []string{``, `<html>`, `<other><errorcode>0000</errorcode></other>`, `<vspaccess></vspaccess>`, `<vspaccess><errorcode>0000</errorcode>`} {
		if _, err := parseReportingResponse("cmd", []byte(body)); !IsTransient(err) {
			t.Errorf("%q: %v, want transient", body, err)
		}
	}
}

func TestParseReportingResponseDecodesCharsets(t *testing.T) {
	t.Parallel()
	cases := map[string][]byte{
		"declared latin-1":      []byte(latin1(t, `<?xml version="1.0" encoding="ISO-8859-1"?><vspaccess><errorcode>0000</errorcode><cardholder>Zoë Ä</cardholder></vspaccess>`)),
		"undeclared latin-1":    []byte(latin1(t, `<vspaccess><errorcode>0000</errorcode><cardholder>Zoë Ä</cardholder></vspaccess>`)),
		"utf-8":                 []byte(`<?xml version="1.0" encoding="UTF-8"?><vspaccess><errorcode>0000</errorcode><cardholder>Zoë Ä</cardholder></vspaccess>`),
		"undeclared utf-8":      []byte(`<vspaccess><errorcode>0000</errorcode><cardholder>Zoë Ä</cardholder></vspaccess>`),
		"declared windows-1252": append([]byte(`<?xml version="1.0" encoding="windows-1252"?><vspaccess><errorcode>0000</errorcode><cardholder>Zo`), []byte("\xeb \xc4</cardholder></vspaccess>")...),
	}
	for name, body := range cases {
		root, err := parseReportingResponse("cmd", body)
		if err != nil || root.value("cardholder") != "Zoë Ä" {
			t.Errorf("%s: %v %q", name, err, root.value("cardholder"))
		}
	}
}

func TestMonthWindowsNeverSpanMoreThanACalendarMonth(t *testing.T) {
	t.Parallel()
	london, _ := time.LoadLocation("Europe/London")
	start := time.Date(2026, 1, 15, 9, 30, 0, 0, london)
	end := time.Date(2026, 3, 31, 12, 0, 0, 0, london)
	got := monthWindows(start, end)
	want := []string{
		"15/01/2026 09:30:00-31/01/2026 23:59:59",
		"01/02/2026 00:00:00-28/02/2026 23:59:59",
		"01/03/2026 00:00:00-31/03/2026 12:00:00",
	}
	if len(got) != len(want) {
		t.Fatalf("windows = %v", got)
	}
	for i, w := range got {
		if s := formatReportingDate(w.start) + "-" + formatReportingDate(w.end); s != want[i] {
			t.Errorf("window %d = %s, want %s", i, s, want[i])
		}
	}
	if one := monthWindows(start, start); len(one) != 1 || !one[0].start.Equal(one[0].end) {
		t.Errorf("single instant = %v", one)
	}
}

// listServer answers getTransactionList/getBatchDetail from rows, enforcing Opayo's limits:
// windows of at most 50 rows (0099) and date ranges within one month (0039).
func listServer(t *testing.T, rows int, calls *[]string) *fake {
	return newFake(t, func(r recorded) (int, string) {
		rr, ok := parseReportingRequest(t, r.Body, testRepPass)
		if !ok {
			return 200, vspaccessError("0010", "bad signature")
		}
		start, _ := strconv.Atoi(rr.params["startrow"])
		end, _ := strconv.Atoi(rr.params["endrow"])
		if end-start > 50 {
			return 200, vspaccessError("0099", "endrow - startrow must be <= 50")
		}
		if sd, ed := rr.params["startdate"], rr.params["enddate"]; sd != "" {
			s, err1 := time.Parse(reportingDateLayout, sd)
			e, err2 := time.Parse(reportingDateLayout, ed)
			if err1 != nil || err2 != nil || e.After(s.AddDate(0, 1, 0)) {
				return 200, vspaccessError("0039", "range longer than one month")
			}
		}
		*calls = append(*calls, fmt.Sprintf("%s %s..%s %d-%d", rr.command, rr.params["startdate"], rr.params["enddate"], start, end))
		var b strings.Builder
		fmt.Fprintf(&b, "<transactions><totalrows>%d</totalrows>", rows)
		last := min(end, rows)
		for i := start; i <= last; i++ {
			fmt.Fprintf(&b, "<transaction><vpstxid>{T-%03d}</vpstxid><vendortxcode>v-%03d</vendortxcode><transactiontype>Payment</transactiontype><started>01/03/2026 10:00:00.000</started><amount>%d.50</amount><currency>GBP</currency><result>SUCCESS</result></transaction>", i, i, i)
		}
		fmt.Fprintf(&b, "<endrow>%d</endrow></transactions>", last)
		return 200, vspaccess(b.String())
	})
}

func TestGetTransactionListPagesInFiftiesAndSplitsMonths(t *testing.T) {
	t.Parallel()
	var calls []string
	f := listServer(t, 120, &calls)
	c := piClient(t, f)
	london, _ := time.LoadLocation("Europe/London")
	q := TransactionListQuery{Start: time.Date(2026, 2, 10, 0, 0, 0, 0, london), End: time.Date(2026, 3, 5, 0, 0, 0, 0, london)}
	var got []TransactionSummary
	if err := c.GetTransactionList(context.Background(), q, func(s TransactionSummary) error { got = append(got, s); return nil }); err != nil {
		t.Fatal(err)
	}
	// Two month windows, each read in three pages of up to 50 rows.
	if len(got) != 240 || len(calls) != 6 {
		t.Fatalf("%d rows in %d calls: %v", len(got), len(calls), calls)
	}
	wantCalls := []string{
		"getTransactionList 10/02/2026 00:00:00..28/02/2026 23:59:59 1-50",
		"getTransactionList 10/02/2026 00:00:00..28/02/2026 23:59:59 51-100",
		"getTransactionList 10/02/2026 00:00:00..28/02/2026 23:59:59 101-150",
		"getTransactionList 01/03/2026 00:00:00..05/03/2026 00:00:00 1-50",
	}
	for i, w := range wantCalls {
		if calls[i] != w {
			t.Errorf("call %d = %q, want %q", i, calls[i], w)
		}
	}
	if s := got[119]; s.VPSTxID != "{T-120}" || s.Amount.String() != "120.5" || s.Result != "SUCCESS" || s.Started.IsZero() {
		t.Errorf("row 120 = %+v", s)
	}

	// The iterator stops fetching when the caller stops ranging.
	calls = nil
	n := 0
	for s, err := range c.TransactionList(context.Background(), q) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 60 || s.VPSTxID == "" {
			break
		}
	}
	if len(calls) != 2 {
		t.Errorf("iterator made %d calls for 60 rows: %v", len(calls), calls)
	}
	if err := c.GetTransactionList(context.Background(), TransactionListQuery{Start: q.End, End: q.Start}, func(TransactionSummary) error { return nil }); !IsInvalidRequest(err) {
		t.Errorf("reversed range: %v", err)
	}
}

func TestBatchListAndDetail(t *testing.T) {
	t.Parallel()
	var calls []string
	detail := listServer(t, 51, &calls)
	batches := newFake(t, func(r recorded) (int, string) {
		rr, ok := parseReportingRequest(t, r.Body, testRepPass)
		if !ok || rr.command != "getBatchList" {
			return 200, vspaccessError("0010", "bad")
		}
		return 200, vspaccess(`<batches><batch><batchid>2419</batchid><authprocessorname>Elavon</authprocessorname><completed>21/07/2026 00:00:05.000</completed>
<transactiongroups><transactiongroup><currency>GBP</currency><paymentnumber>3</paymentnumber><paymentvalue>150.00</paymentvalue><refundnumber>1</refundnumber><refundvalue>20.50</refundvalue></transactiongroup>
<transactiongroup><currency>EUR</currency><paymentnumber>1</paymentnumber><paymentvalue>10.00</paymentvalue><refundvalue>0.00</refundvalue></transactiongroup></transactiongroups></batch></batches>`)
	})
	ctx := context.Background()
	list, err := piClient(t, batches).GetBatchList(ctx, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 7, 31, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != "2419" || list[0].AuthProcessor != "Elavon" || list[0].Completed.IsZero() || len(list[0].Groups) != 2 {
		t.Fatalf("batches = %+v", list)
	}
	g := list[0].Groups[0]
	if g.Currency != "GBP" || g.PaymentNumber != 3 || g.RefundNumber != 1 || g.Net().String() != "129.5" {
		t.Errorf("GBP group = %+v net %s", g, g.Net())
	}
	var rows []TransactionSummary
	if err := piClient(t, detail).GetBatchDetail(ctx, "2419", "Elavon", func(s TransactionSummary) error { rows = append(rows, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 51 || len(calls) != 2 || !strings.HasPrefix(calls[1], "getBatchDetail") {
		t.Errorf("%d rows, calls %v", len(rows), calls)
	}
}
