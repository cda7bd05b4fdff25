package opayo

import (
	"testing"

	"golang.org/x/text/encoding/charmap"
)

func BenchmarkVerifyNotification(b *testing.B) {
	n, err := ParseNotification(vectorForm())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := n.Verify(vectorKey, ""); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseReportingTransactionDetail(b *testing.B) {
	body, err := charmap.ISO8859_1.NewEncoder().Bytes([]byte(vspaccess(detailXML)))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		root, err := parseReportingResponse("getTransactionDetail", body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := parseTransactionDetail(root); err != nil {
			b.Fatal(err)
		}
	}
}
