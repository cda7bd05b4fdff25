package opayosim

import (
	"strings"
	"testing"
)

// The two vectors of opayo.md §3.1 (EBZ ReportingTest.php), with vendor, user and password empty.
func TestReportingSignatureMatchesPublishedVectors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, command, params, want string
	}{
		{"getTransactionDetail by vpstxid", "getTransactionDetail", "<vpstxid>12345</vpstxid>", "4a0787ba97d65455d24be4d1768133ac"},
		{"getTokenCount without params", "getTokenCount", "", "eca0a57c18e960a6cba53f685597b6c2"},
	}
	for _, c := range cases {
		if got := reportingSignature(c.command, "", "", c.params, ""); got != c.want {
			t.Errorf("%s: signature %s, want %s", c.name, got, c.want)
		}
		if !reportingSignatureValid(c.want, c.command, "", "", c.params, "") {
			t.Errorf("%s: lower-case vector rejected", c.name)
		}
		if !reportingSignatureValid(strings.ToUpper(c.want), c.command, "", "", c.params, "") {
			t.Errorf("%s: upper-case vector rejected", c.name)
		}
		if reportingSignatureValid(c.want, c.command, "", "", c.params, "x") {
			t.Errorf("%s: accepted with another password", c.name)
		}
	}
	if !reportingSignatureValid("4a0787ba97d65455d24be4d1768133ac", "getTransactionDetail", "", "", "\n  <vpstxid>12345</vpstxid>\n", "") {
		t.Error("pretty-printed parameters rejected")
	}
}

// The vector of opayo.md §4.1 (OMN ServerNotifyRequestTest): protocol 3.00 fields, vendor empty,
// Token and FraudResponse absent. The 4.00 chain gives the same hash because ACSTransID, DSTransID
// and SchemeTraceID are empty.
func TestNotificationSignatureMatchesPublishedVector(t *testing.T) {
	t.Parallel()
	fields := map[string]string{
		"TxType": "PAYMENT", "VPSTxId": "{F955C22E-F67B-4DA3-8EA3-6DAC68FA59D2}", "VendorTxCode": "438791",
		"Status": "OK", "TxAuthNo": "4255", "AVSCV2": "c", "AddressResult": "d", "PostCodeResult": "e",
		"CV2Result": "f", "GiftAid": "g", "3DSecureStatus": "h", "CAVV": "i", "AddressStatus": "j",
		"PayerStatus": "k", "CardType": "l", "Last4Digits": "1234", "DeclineCode": "00",
		"ExpiryDate": "0722", "BankAuthCode": "999777",
	}
	const want = "285765407193FAA9B8E432E6B55F5849"
	for _, protocol := range []string{"3.00", "4.00"} {
		if got := notificationSignature(fields, "", "JEUPDN1N7E", protocol); got != want {
			t.Errorf("protocol %s: VPSSignature %s, want %s", protocol, got, want)
		}
	}
	fields["SchemeTraceID"] = "TRACE"
	if notificationSignature(fields, "", "JEUPDN1N7E", "4.00") == want {
		t.Error("4.00 chain ignores SchemeTraceID")
	}
	if notificationSignature(fields, "", "JEUPDN1N7E", "3.00") != want {
		t.Error("3.00 chain includes SchemeTraceID")
	}
	if notificationSignature(fields, "PayHubSandbox", "JEUPDN1N7E", "3.00") != notificationSignature(fields, "payhubsandbox", "JEUPDN1N7E", "3.00") {
		t.Error("vendor name is not lower-cased")
	}
}
