package opayo

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These targets prove that no input, however malformed, makes a parser panic or hang. Run one
// with e.g. go test -run '^$' -fuzz FuzzParseReportingResponse -fuzztime 20s ./connectors/opayo/

func FuzzParseReportingResponse(f *testing.F) {
	f.Add([]byte(vspaccess(detailXML)))
	f.Add([]byte(vspaccessError("0010", "Invalid signature")))
	f.Add([]byte(vspaccess(`<transactions><totalrows>2</totalrows><transaction><vpstxid>a</vpstxid><amount>1.00</amount><started>01/01/2026 00:00:00.000</started></transaction><endrow>1</endrow></transactions>`)))
	f.Add([]byte(vspaccess(`<batches><batch><batchid>1</batchid><completed>x</completed><transactiongroups><transactiongroup><paymentvalue>1e99</paymentvalue></transactiongroup></transactiongroups></batch></batches>`)))
	f.Add([]byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><vspaccess><errorcode>0000</errorcode><cardholder>Zo\xeb</cardholder></vspaccess>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		root, err := parseReportingResponse("fuzz", body)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		_, _ = parseTransactionDetail(root)
		_, _ = parseBatchList(root)
		for _, r := range root.child("transactions").all("transaction") {
			_, _ = parseTransactionSummary(r)
		}
	})
}

func FuzzParseNotificationBody(f *testing.F) {
	f.Add([]byte(vectorForm().Encode()))
	f.Add([]byte("VPSTxId=%7BA%7D&Status=OK&TxType=TOKEN&Token=x&VPSSignature=00"))
	f.Add([]byte("%zz"))
	f.Add([]byte("VPSTxId=a&VPSTxId=b&Status=OK"))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseNotificationBody(body)
		if err != nil {
			return
		}
		if n.VPSTxID == "" || n.Status == "" {
			t.Fatal("parsed a notification without VPSTxId or Status")
		}
		// A verified notification must carry exactly the MD5 of its fields and the key.
		if err := n.Verify("fuzz-key", "v"); err == nil {
			sum := n.signature("fuzz-key", "v")
			if !strings.EqualFold(strings.TrimSpace(n.VPSSignature), hex.EncodeToString(sum[:])) {
				t.Fatal("verified a signature that is not the MD5 of the fields")
			}
		}
	})
}

func FuzzParseLegacyResponse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "legacy", "*.txt"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("Status=OK REPEATED\r\nStatusDetail=4042 : dup\r\n"))
	f.Add([]byte("Status=INVALID\r\nStatusDetail=3082 : x\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseLegacyResponse(body)
		if err != nil {
			return
		}
		if e := r.Err("fuzz"); e != nil {
			if r.Accepted() {
				t.Fatal("accepted response returned an error")
			}
			_ = e.Error()
		}
	})
}

func FuzzParsePiTransaction(f *testing.F) {
	f.Add([]byte(specTransaction))
	f.Add([]byte(`{"transactionId":"T","status":"Ok","amount":567,"currency":"GBP"}`))
	f.Add([]byte(`{"transactionId":"T","status":"Ok","retrievalReference":1e400,"amount":{"totalAmount":"9223372036854775808"}}`))
	f.Add([]byte(`{"statusCode":"2021","transactionId":"T","acsUrl":"u","cReq":"c","status":"3DAuth"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, cur := range []string{"", "GBP", "JPY"} {
			tx, err := parseTransaction(body, cur)
			if err == nil && tx.ID == "" && tx.Status == "" {
				t.Fatal("accepted a body without transactionId or status")
			}
		}
	})
}

func FuzzParsePiError(f *testing.F) {
	f.Add(422, false, []byte(`{"errors":[{"code":1005,"property":"p","description":"d","clientMessage":"c"}]}`))
	f.Add(403, false, []byte(`{"code":"1018","description":"d"}`))
	f.Add(403, false, []byte(`{"statusCode":2000,"statusDetail":"d","transactionId":"T"}`))
	f.Add(502, false, []byte(`<html>`))
	f.Add(401, true, []byte(`{"code":1002,"description":"Authentication failed"}`))
	f.Fuzz(func(t *testing.T, status int, bearer bool, body []byte) {
		e := parsePiError("fuzz", status, body, bearer)
		if e.Class < ClassTransient || e.Class > ClassDuplicate || e.Message == "" {
			t.Fatalf("unclassified: %+v", e)
		}
		_ = e.Error()
	})
}
