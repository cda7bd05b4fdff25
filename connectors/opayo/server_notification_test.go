package opayo

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// vectorForm is the notification of opayo.md §4.1's test vector (omnipay-sagepay
// ServerNotifyRequestTest): VPSTxId {F955C22E-…}, VendorTxCode 438791, Status OK, TxAuthNo 4255,
// vendor "", AVSCV2 c, SecurityKey JEUPDN1N7E, AddressResult … CardType = d … l, Last4Digits
// 1234, DeclineCode 00, ExpiryDate 0722, BankAuthCode 999777 → 285765407193faa9b8e432e6b55f5849.
func vectorForm() url.Values {
	return url.Values{
		"VPSProtocol":    {"3.00"},
		"TxType":         {"PAYMENT"},
		"VPSTxId":        {"{F955C22E-F67B-4DA3-8EA3-6DAC68FA59D2}"},
		"VendorTxCode":   {"438791"},
		"Status":         {"OK"},
		"TxAuthNo":       {"4255"},
		"AVSCV2":         {"c"},
		"AddressResult":  {"d"},
		"PostCodeResult": {"e"},
		"CV2Result":      {"f"},
		"GiftAid":        {"g"},
		"3DSecureStatus": {"h"},
		"CAVV":           {"i"},
		"AddressStatus":  {"j"},
		"PayerStatus":    {"k"},
		"CardType":       {"l"},
		"Last4Digits":    {"1234"},
		"DeclineCode":    {"00"},
		"ExpiryDate":     {"0722"},
		"BankAuthCode":   {"999777"},
		"VPSSignature":   {"285765407193FAA9B8E432E6B55F5849"},
	}
}

const vectorKey = "JEUPDN1N7E"

func TestVerifyAcceptsThePublishedVector(t *testing.T) {
	t.Parallel()
	n, err := ParseNotification(vectorForm())
	if err != nil {
		t.Fatal(err)
	}
	sum := n.signature(vectorKey, "")
	if hex.EncodeToString(sum[:]) != "285765407193faa9b8e432e6b55f5849" {
		t.Fatalf("signature = %x", sum)
	}
	for _, sig := range []string{"285765407193FAA9B8E432E6B55F5849", "285765407193faa9b8e432e6b55f5849"} {
		n.VPSSignature = sig
		if err := n.Verify(vectorKey, ""); err != nil {
			t.Errorf("Verify with %s: %v", sig, err)
		}
	}
	// The 4.00 chain only adds fields that are empty here, so the vector holds for 4.00 too.
	n.VPSProtocol = "4.00"
	if err := n.Verify(vectorKey, ""); err != nil {
		t.Errorf("4.00 without 4.00 fields: %v", err)
	}
}

// sign is the §4.1 chain written out independently of Notification.signature.
func sign(parts ...string) string {
	sum := md5.Sum([]byte(strings.Join(parts, "")))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func TestVerifyRejectsForgeriesAndTampering(t *testing.T) {
	t.Parallel()
	v4 := url.Values{
		"VPSProtocol": {"4.00"}, "TxType": {"PAYMENT"}, "VPSTxId": {"{1E7D9C70-DBE2-4726-88EA-D369810D801D}"},
		"VendorTxCode": {"payhub-0001"}, "Status": {"OK"}, "TxAuthNo": {"9962"}, "AVSCV2": {"ALL MATCH"},
		"AddressResult": {"MATCHED"}, "PostCodeResult": {"MATCHED"}, "CV2Result": {"MATCHED"}, "GiftAid": {"0"},
		"3DSecureStatus": {"OK"}, "CAVV": {"AAA"}, "CardType": {"VISA"}, "Last4Digits": {"0006"}, "DeclineCode": {"00"},
		"ExpiryDate": {"1230"}, "BankAuthCode": {"999777"}, "ACSTransID": {"acs-1"}, "DSTransID": {"ds-1"}, "SchemeTraceID": {"st-1"},
	}
	v4.Set("VPSSignature", sign("{1E7D9C70-DBE2-4726-88EA-D369810D801D}", "payhub-0001", "OK", "9962", "payhubsandbox", "ALL MATCH", "",
		"IK776BWNHN", "MATCHED", "MATCHED", "MATCHED", "0", "OK", "AAA", "", "", "VISA", "0006", "00", "1230", "", "999777", "acs-1", "ds-1", "st-1"))
	v3 := url.Values{}
	for k, vs := range v4 {
		v3[k] = vs
	}
	v3.Set("VPSProtocol", "3.00")
	v3.Set("VPSSignature", sign("{1E7D9C70-DBE2-4726-88EA-D369810D801D}", "payhub-0001", "OK", "9962", "payhubsandbox", "ALL MATCH", "",
		"IK776BWNHN", "MATCHED", "MATCHED", "MATCHED", "0", "OK", "AAA", "", "", "VISA", "0006", "00", "1230", "", "999777"))
	token := url.Values{"VPSProtocol": {"4.00"}, "TxType": {"TOKEN"}, "VPSTxId": {"{AB12}"}, "VendorTxCode": {"tok-1"}, "Status": {"OK"},
		"Token": {"{TOKEN-GUID}"}, "CardType": {"VISA"}, "Last4Digits": {"0006"}, "ExpiryDate": {"1230"}}
	token.Set("VPSSignature", sign("AB12", "tok-1", "OK", "", "payhubsandbox", "", "{TOKEN-GUID}", "IK776BWNHN"))

	with := func(base url.Values, k, v string) url.Values {
		out := url.Values{}
		for key, vs := range base {
			out[key] = append([]string(nil), vs...)
		}
		if v == "" {
			out.Del(k)
		} else {
			out.Set(k, v)
		}
		return out
	}
	cases := []struct {
		name   string
		form   url.Values
		key    string
		vendor string
		want   error
	}{
		{"valid 4.00", v4, "IK776BWNHN", "PayhubSandbox", nil},
		{"valid 3.00 ignores 4.00 fields", v3, "IK776BWNHN", "payhubsandbox", nil},
		{"valid token registration", token, "IK776BWNHN", "payhubsandbox", nil},
		{"forged: wrong security key", v4, "XXXXXXXXXX", "payhubsandbox", ErrSignatureMismatch},
		{"forged: another vendor", v4, "IK776BWNHN", "othervendor", ErrSignatureMismatch},
		{"tampered status", with(v4, "Status", "NOTAUTHED"), "IK776BWNHN", "payhubsandbox", ErrSignatureMismatch},
		{"tampered last four", with(v4, "Last4Digits", "1111"), "IK776BWNHN", "payhubsandbox", ErrSignatureMismatch},
		{"tampered 4.00 field", with(v4, "DSTransID", "ds-2"), "IK776BWNHN", "payhubsandbox", ErrSignatureMismatch},
		{"downgraded protocol", with(v4, "VPSProtocol", "3.00"), "IK776BWNHN", "payhubsandbox", ErrSignatureMismatch},
		{"token with braces kept", with(token, "VPSSignature", sign("{AB12}", "tok-1", "OK", "", "payhubsandbox", "", "{TOKEN-GUID}", "IK776BWNHN")), "IK776BWNHN", "payhubsandbox", ErrSignatureMismatch},
		{"missing signature", with(v4, "VPSSignature", ""), "IK776BWNHN", "payhubsandbox", ErrNotSigned},
		{"signature not hex", with(v4, "VPSSignature", "not-a-signature-not-a-signature!"), "IK776BWNHN", "payhubsandbox", ErrSignatureMismatch},
		{"signature truncated", with(v4, "VPSSignature", v4.Get("VPSSignature")[:30]), "IK776BWNHN", "payhubsandbox", ErrSignatureMismatch},
		{"no security key", v4, "", "payhubsandbox", ErrNoSecurityKey},
	}
	for _, tc := range cases {
		n, err := ParseNotification(tc.form)
		if err != nil {
			t.Errorf("%s: parse: %v", tc.name, err)
			continue
		}
		err = n.Verify(tc.key, tc.vendor)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), tc.key) && tc.key != "" {
			t.Errorf("%s: error leaks the security key: %v", tc.name, err)
		}
	}
}

func TestParseNotificationRejectsMalformedForms(t *testing.T) {
	t.Parallel()
	good := vectorForm().Encode()
	cases := map[string]string{
		"not a form":            "%zz=1&Status=OK",
		"no VPSTxId":            "Status=OK&VendorTxCode=1",
		"no Status":             "VPSTxId=%7BA%7D",
		"conflicting duplicate": good + "&Status=NOTAUTHED",
		"empty body":            "",
		"oversized":             good + "&x=" + strings.Repeat("a", maxNotificationBytes),
	}
	for name, body := range cases {
		if _, err := ParseNotificationBody([]byte(body)); !errors.Is(err, ErrMalformedNotification) {
			t.Errorf("%s: %v", name, err)
		}
	}
	n, err := ParseNotificationBody([]byte(good + "&Status=OK"))
	if err != nil || n.Status != "OK" || n.ThreeDSecureStatus != "h" || n.VPSTxID != "{F955C22E-F67B-4DA3-8EA3-6DAC68FA59D2}" {
		t.Errorf("identical duplicate: %+v, %v", n, err)
	}
	req := httptest.NewRequest(http.MethodPost, "/notify", strings.NewReader(good))
	if n, err := ParseNotificationRequest(req); err != nil || n.Verify(vectorKey, "") != nil {
		t.Errorf("from request: %v", err)
	}
	if _, err := ParseNotificationRequest(httptest.NewRequest(http.MethodGet, "/notify?"+good, nil)); !errors.Is(err, ErrMalformedNotification) {
		t.Errorf("GET: %v", err)
	}
}

func TestWriteNotificationReplyWritesCRLFLines(t *testing.T) {
	t.Parallel()
	cases := []struct {
		reply Reply
		want  string
	}{
		{Reply{Status: ReplyOK, RedirectURL: "https://shop.example/done?o=1"}, "Status=OK\r\nRedirectURL=https://shop.example/done?o=1\r\n"},
		{Reply{Status: ReplyInvalid, RedirectURL: "https://shop.example/failed", StatusDetail: "Signature mismatch"},
			"Status=INVALID\r\nRedirectURL=https://shop.example/failed\r\nStatusDetail=Signature mismatch\r\n"},
		{Reply{Status: ReplyError, RedirectURL: "http://127.0.0.1:8080/e"}, "Status=ERROR\r\nRedirectURL=http://127.0.0.1:8080/e\r\n"},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		if err := WriteNotificationReply(rec, tc.reply); err != nil {
			t.Fatal(err)
		}
		if rec.Body.String() != tc.want || rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
			t.Errorf("wrote %d %q %q, want %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(), tc.want)
		}
		parsed, err := ParseLegacyResponse(rec.Body.Bytes())
		if err != nil || parsed.Status != string(tc.reply.Status) || parsed.RedirectURL != tc.reply.RedirectURL {
			t.Errorf("round trip: %+v, %v", parsed, err)
		}
	}
	bad := []Reply{
		{Status: "MAYBE", RedirectURL: "https://x/"},
		{Status: ReplyOK},
		{Status: ReplyOK, RedirectURL: "/relative"},
		{Status: ReplyOK, RedirectURL: "https://x/\r\nStatus=OK"},
		{Status: ReplyInvalid, RedirectURL: "https://x/", StatusDetail: "a\nStatus=OK"},
		{Status: ReplyOK, RedirectURL: "https://x/", StatusDetail: strings.Repeat("x", 256)},
	}
	for _, r := range bad {
		var sb strings.Builder
		if err := WriteNotificationReply(&sb, r); err == nil || sb.Len() != 0 {
			t.Errorf("reply %+v written as %q, err %v", r, sb.String(), err)
		}
	}
}
