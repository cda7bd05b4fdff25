package opayosim

import (
	"crypto/md5"
	"encoding/hex"
	"regexp"
	"strings"
)

// reportingSignature is the Reporting & Admin API signature (opayo.md §3.1): lower-case hex MD5 of
// <command>C</command><vendor>V</vendor><user>U</user>, the parameters exactly as sent, and
// <password>P</password>, over UTF-8 bytes.
func reportingSignature(command, vendor, user, params, password string) string {
	sum := md5.Sum([]byte("<command>" + command + "</command><vendor>" + vendor + "</vendor><user>" + user + "</user>" +
		params + "<password>" + password + "</password>"))
	return hex.EncodeToString(sum[:])
}

var whitespaceBetweenTags = regexp.MustCompile(`>\s+<`)

// reportingSignatureValid checks a request signature in either hex case. It accepts the parameters
// as sent and, for clients that pretty-print their XML, with whitespace between tags removed.
func reportingSignatureValid(given, command, vendor, user, params, password string) bool {
	given = strings.TrimSpace(given)
	if given == "" {
		return false
	}
	if strings.EqualFold(given, reportingSignature(command, vendor, user, params, password)) {
		return true
	}
	compact := whitespaceBetweenTags.ReplaceAllString(strings.TrimSpace(params), "><")
	return strings.EqualFold(given, reportingSignature(command, vendor, user, compact, password))
}

// notificationSignatureFields is the VPSSignature field chain of a Server notification
// (opayo.md §4.1). VendorName and SecurityKey are not posted; the gateway fills them in.
var notificationSignatureFields = []string{
	"VPSTxId", "VendorTxCode", "Status", "TxAuthNo", "VendorName", "AVSCV2", "Token", "SecurityKey",
	"AddressResult", "PostCodeResult", "CV2Result", "GiftAid", "3DSecureStatus", "CAVV", "AddressStatus",
	"PayerStatus", "CardType", "Last4Digits", "DeclineCode", "ExpiryDate", "FraudResponse", "BankAuthCode",
}

// notificationSignatureFields400 are appended for protocol 4.00.
var notificationSignatureFields400 = []string{"ACSTransID", "DSTransID", "SchemeTraceID"}

// notificationSignature computes VPSSignature: upper-case hex MD5 of the field chain, with the
// vendor name lower-cased, missing fields as "", Token only for TxType TOKEN, and for protocol 4.00
// ACSTransID, DSTransID and SchemeTraceID appended. For a successful TOKEN registration the chain
// stops after SecurityKey and VPSTxId loses its braces.
func notificationSignature(fields map[string]string, vendor, securityKey, protocol string) string {
	get := func(name string) string {
		switch name {
		case "VendorName":
			return strings.ToLower(vendor)
		case "SecurityKey":
			return securityKey
		case "Token":
			if fields["TxType"] != "TOKEN" {
				return ""
			}
		}
		return fields[name]
	}
	tokenOK := fields["TxType"] == "TOKEN" && fields["Status"] == "OK"
	var b strings.Builder
	for _, name := range notificationSignatureFields {
		v := get(name)
		if name == "VPSTxId" && tokenOK {
			v = strings.Trim(v, "{}")
		}
		b.WriteString(v)
		if name == "SecurityKey" && tokenOK {
			break
		}
	}
	if !tokenOK && protocol == "4.00" {
		for _, name := range notificationSignatureFields400 {
			b.WriteString(get(name))
		}
	}
	sum := md5.Sum([]byte(b.String()))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
