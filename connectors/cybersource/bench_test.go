package cybersource

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func BenchmarkHTTPSignatureSign(b *testing.B) {
	s := vectorSigner(b)
	req := httptest.NewRequest(http.MethodPost, "https://apitest.cybersource.com/pts/v2/payments", nil)
	body := []byte(vectorBody)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SignRequest(req, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHTTPSignatureVerify(b *testing.B) {
	r := signedVectorRequest(b)
	r.RequestURI = "/pts/v2/payments"
	body, keys := []byte(vectorBody), vectorKeys()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyHTTPSignature(r, body, keys, vectorTime, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJWTSign(b *testing.B) {
	s := vectorJWTSigner(b)
	req := httptest.NewRequest(http.MethodPost, "https://apitest.cybersource.com/pts/v2/payments", nil)
	body := []byte(vectorBody)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SignRequest(req, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWebhookVerify verifies a signed notification against two configured keys (a
// rotation in progress), the new one first.
func BenchmarkWebhookVerify(b *testing.B) {
	header := signHook(b, hookKeyOld, hookBody, hookTime)
	keys := []WebhookKey{hookKeyNew, hookKeyOld}
	b.ReportAllocs()
	b.SetBytes(int64(len(hookBody)))
	for b.Loop() {
		if err := VerifyWebhook(header, hookBody, keys, hookTime, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// batchReportRows is the number of data rows of the generated report.
const batchReportRows = 1_000_000

// writeBatchReport writes a Payment Batch Detail report of rows data rows (captures and refunds,
// some merchant references quoted) and returns its path.
func writeBatchReport(b *testing.B, rows int) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "pbd.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprint(w, "Payment Batch Detail Report,1.0,2026-03-01 to 2026-03-01,,,,,,,\r\n")
	fmt.Fprint(w, "batch_id,merchant_id,batch_date,request_id,merchant_ref_number,trans_ref_no,payment_method,currency,amount,transaction_type\r\n")
	for i := range rows {
		ref, amount, typ := fmt.Sprintf("SO-%08d", i), fmt.Sprintf("%d.%02d", 1+i%9999, i%100), TransactionTypeCapture
		if i%10 == 9 {
			amount, typ = "-"+amount, TransactionTypeRefund
		}
		if i%50 == 0 {
			ref = `"` + ref + `, ""web"""`
		}
		fmt.Fprintf(w, "%d,payhub_sandbox,2026-03-01,65100494%014d,%s,%010d,Visa,USD,%s,%s\r\n", 1000+i/100000, i, ref, i, amount, typ)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkBatchDetailReportParse streams a generated 1,000,000-row report from disk through
// BatchDetailReader on every iteration and reports rows per second.
func BenchmarkBatchDetailReportParse(b *testing.B) {
	path := writeBatchReport(b, batchReportRows)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var rows int
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r := NewBatchDetailReader(f)
		n := 0
		for r.Next() {
			n++
		}
		f.Close()
		if err := r.Err(); err != nil || n != batchReportRows {
			b.Fatalf("%d rows, %v", n, err)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
}
