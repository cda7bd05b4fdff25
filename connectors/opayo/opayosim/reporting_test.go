package opayosim

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestReportingEnvelopeErrors(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	params := "<vpstxid>{00000000-0000-0000-0000-000000000000}</vpstxid>"
	sig := reportingSignature("getTransactionDetail", DefaultVendor, DefaultReportingUser, params, DefaultReportingPassword)
	envelope := func(command, vendor, user, signature string) string {
		return fmt.Sprintf("<vspaccess><command>%s</command><vendor>%s</vendor><user>%s</user>%s<signature>%s</signature></vspaccess>",
			command, vendor, user, params, signature)
	}
	unknownSig := reportingSignature("getSomething", DefaultVendor, DefaultReportingUser, params, DefaultReportingPassword)
	cases := []struct {
		name, xml, code string
	}{
		{"not XML", "<vspaccess><command>", "0001"},
		{"empty", " ", "0001"},
		{"wrong root", "<access><command>x</command></access>", "0002"},
		{"wrong user", envelope("getTransactionDetail", DefaultVendor, "someone", sig), "0008"},
		{"wrong vendor", envelope("getTransactionDetail", "sandbox", DefaultReportingUser, sig), "0008"},
		{"bad signature", envelope("getTransactionDetail", DefaultVendor, DefaultReportingUser, strings.Repeat("0", 32)), "0010"},
		{"missing signature", strings.Replace(envelope("getTransactionDetail", DefaultVendor, DefaultReportingUser, ""), "<signature></signature>", "", 1), "0010"},
		{"upper-case signature accepted", envelope("getTransactionDetail", DefaultVendor, DefaultReportingUser, strings.ToUpper(sig)), "0043"},
		{"unknown command", envelope("getSomething", DefaultVendor, DefaultReportingUser, unknownSig), "0013"},
	}
	for _, c := range cases {
		body := b.reportRaw(c.xml)
		if got := xmlField(body, "errorcode"); got != c.code {
			t.Errorf("%s: errorcode %s, want %s\n%s", c.name, got, c.code, body)
		}
		if !strings.HasPrefix(body, `<?xml version="1.0" encoding="ISO-8859-1"?>`) || !strings.HasSuffix(body, "</timestamp></vspaccess>") {
			t.Errorf("%s: envelope shape:\n%s", c.name, body)
		}
		if c.code != "0000" && xmlField(body, "error") == "" {
			t.Errorf("%s: no <error> text", c.name)
		}
	}
	if ts := xmlField(b.reportRaw(" "), "timestamp"); ts != "10/04/2026 09:00:00" {
		t.Fatalf("timestamp %q", ts)
	}
}

func TestReportingTransactionDetail(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	msk, card := b.card("4929000000006", "123")
	req := paymentBody("Payment", msk, card, 8340)
	req["description"] = "Café order £ €"
	_, body := b.pi("POST", "/transactions", req)
	id, code := str(body, "transactionId"), req["vendorTxCode"].(string)
	b.refund(id, 1000)

	for _, params := range []string{"<vpstxid>" + id + "</vpstxid>", "<vpstxid>{" + id + "}</vpstxid>", "<vendortxcode>" + code + "</vendortxcode>"} {
		detail := b.report("getTransactionDetail", params)
		want := map[string]string{
			"errorcode": "0000", "vpstxid": "{" + id + "}", "vendortxcode": code, "transactiontype": "Payment",
			"txstateid": "16", "status": "Successfully authorised transaction.", "amount": "83.40", "currency": "GBP",
			"started": "10/04/2026 09:00:00.000", "securitykey": b.stateOf(id).SecurityKey, "paymentsystem": "VISA",
			"last4digits": "0006", "expirydate": "0330", "authprocessor": "Elavon", "bankauthcode": "999777",
			"batchid": "", "refunded": "YES", "repeated": "NO", "cv2result": "MATCHED", "addressresult": "MATCHED",
			"postcoderesult": "MATCHED", "threedresult": "NOTCHECKED", "declinecode": "00", "billingsurname": "Jones",
		}
		for k, v := range want {
			if got := xmlField(detail, k); got != v && !(v == "" && strings.Contains(detail, "<"+k+"></"+k+">")) {
				t.Errorf("%s: <%s> = %q, want %q", params, k, got, v)
			}
		}
		// ISO-8859-1: é and £ are single bytes.
		if !strings.Contains(detail, "Caf\xe9 order \xa3 &#8364;") {
			t.Errorf("description not ISO-8859-1 encoded: %q", xmlField(detail, "description"))
		}
	}
	if got := xmlField(b.report("getTransactionDetail", ""), "errorcode"); got != "0042" {
		t.Fatalf("no identifier: %s", got)
	}
	if got := xmlField(b.report("getTransactionDetail", "<vendortxcode>nope</vendortxcode>"), "errorcode"); got != "0043" {
		t.Fatalf("unknown: %s", got)
	}

	b.sim.Clock().Advance(16 * time.Hour)
	detail := b.report("getTransactionDetail", "<vpstxid>"+id+"</vpstxid>")
	if xmlField(detail, "batchid") != "1001" || xmlField(detail, "txstateid") != "16" {
		t.Fatalf("settled detail:\n%s", detail)
	}
}

func TestReportingTransactionListDatesAndWindow(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	for i := 0; i < 60; i++ {
		b.mustPay("Payment", "4929000000006", int64(100+i))
	}
	window := func(start, end string, extra string) string {
		return "<startdate>" + start + "</startdate><enddate>" + end + "</enddate>" + extra
	}
	cases := []struct {
		name, params, code string
	}{
		{"start after end", window("11/04/2026 00:00:00", "10/04/2026 00:00:00", ""), "0038"},
		{"more than a month", window("01/03/2026 00:00:00", "02/04/2026 00:00:00", ""), "0039"},
		{"bad date", window("2026-04-10", "11/04/2026 00:00:00", ""), "3009"},
		{"missing end", "<startdate>10/04/2026 00:00:00</startdate>", "3001"},
		{"window too large", window("10/04/2026 00:00:00", "11/04/2026 00:00:00", "<startrow>1</startrow><endrow>52</endrow>"), "0099"},
		{"end before start row", window("10/04/2026 00:00:00", "11/04/2026 00:00:00", "<startrow>5</startrow><endrow>4</endrow>"), "2222"},
		{"exactly a month", window("10/03/2026 09:00:00", "10/04/2026 09:00:00", ""), "0000"},
	}
	for _, c := range cases {
		if got := xmlField(b.report("getTransactionList", c.params), "errorcode"); got != c.code {
			t.Errorf("%s: errorcode %s, want %s", c.name, got, c.code)
		}
	}
	page := b.report("getTransactionList", window("10/04/2026 00:00:00", "10/04/2026 23:59:59", "<startrow>51</startrow><endrow>100</endrow>"))
	if xmlField(page, "totalrows") != "60" || xmlField(page, "startrow") != "51" || xmlField(page, "endrow") != "60" ||
		strings.Count(page, "<transaction>") != 10 || xmlField(page, "rownumber") != "51" || xmlField(page, "result") != "SUCCESS" {
		t.Fatalf("second page:\n%s", page)
	}
	first := b.report("getTransactionList", window("10/04/2026 00:00:00", "10/04/2026 23:59:59", ""))
	if strings.Count(first, "<transaction>") != 50 || xmlField(first, "amount") != "1.00" {
		t.Fatalf("default window:\n%s", first)
	}
	desc := b.report("getTransactionList", window("10/04/2026 00:00:00", "10/04/2026 23:59:59", "<sortorder>DESC</sortorder>"))
	if xmlField(desc, "amount") != "1.59" {
		t.Fatalf("DESC first row amount %s", xmlField(desc, "amount"))
	}
	none := b.report("getTransactionList", window("01/01/2026 00:00:00", "02/01/2026 00:00:00", ""))
	if xmlField(none, "totalrows") != "0" || strings.Contains(none, "<transaction>") {
		t.Fatalf("empty range:\n%s", none)
	}
}

func TestReportingBatchListAndDetail(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	visa := b.mustPay("Payment", "4929000000006", 8340)
	b.mustPay("Payment", "374200000000004", 1500)
	b.refund(visa, 340)
	b.sim.Clock().Advance(24 * time.Hour)

	list := b.report("getBatchList", "<startdate>11/04/2026 00:00:00</startdate><enddate>11/04/2026 23:59:59</enddate>")
	if xmlField(list, "errorcode") != "0000" || strings.Count(list, "<batch>") != 2 {
		t.Fatalf("batch list:\n%s", list)
	}
	mustContain(t, list,
		"<batchid>1001</batchid><authprocessorname>Elavon</authprocessorname>",
		"<completed>11/04/2026 00:00:00.000</completed>",
		"<transactiongroup><currency>GBP</currency><paymentnumber>1</paymentnumber><paymentvalue>83.40</paymentvalue><refundnumber>1</refundnumber><refundvalue>3.40</refundvalue></transactiongroup>",
		"<batchid>1002</batchid><authprocessorname>American Express</authprocessorname>",
		"<paymentvalue>15.00</paymentvalue>")
	if got := xmlField(b.report("getBatchList", "<startdate>01/01/2026 00:00:00</startdate><enddate>11/04/2026 23:59:59</enddate>"), "errorcode"); got != "0039" {
		t.Fatalf("batch list range: %s", got)
	}

	detail := b.report("getBatchDetail", "<batchid>1001</batchid><authprocessor>Elavon</authprocessor><startrow>1</startrow><endrow>50</endrow>")
	if xmlField(detail, "totalrows") != "2" || strings.Count(detail, "<transaction>") != 2 {
		t.Fatalf("batch detail:\n%s", detail)
	}
	mustContain(t, detail, "<vpstxid>{"+visa+"}</vpstxid>", "<transactiontype>Refund</transactiontype>", "<amount>3.40</amount>")
	if got := xmlField(b.report("getBatchDetail", "<authprocessor>Elavon</authprocessor>"), "errorcode"); got != "3001" {
		t.Fatalf("missing batchid: %s", got)
	}
	if got := b.report("getBatchDetail", "<batchid>1001</batchid><authprocessor>American Express</authprocessor>"); xmlField(got, "totalrows") != "0" {
		t.Fatalf("wrong processor:\n%s", got)
	}
	if got := xmlField(b.report("getBatchDetail", "<batchid>1001</batchid><authprocessor>Elavon</authprocessor><startrow>1</startrow><endrow>60</endrow>"), "errorcode"); got != "0099" {
		t.Fatalf("batch detail window: %s", got)
	}
}
