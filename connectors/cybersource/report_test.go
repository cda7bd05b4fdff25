package cybersource

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// docReport is protocol §8's sample, with CRLF line ends.
const docReport = "Payment Batch Detail Report,1.0,2003-05-01 to 2003-05-01,,,,,,,\r\n" +
	"batch_id,merchant_id,batch_date,request_id,merchant_ref_number,trans_ref_no,payment_method,currency,amount,transaction_type\r\n" +
	"123456,CyberSource,2003-05-01,0004172180000167905139,45CBBDE3378A553,5652882910,Visa,USD,100.00,ics_bill\r\n" +
	"123456,CyberSource,2003-05-01,0004173790000167905139,5DADC3D2F4B7118,5629152830,Visa,USD,-100.00,ics_credit\r\n"

func readAll(t *testing.T, r io.Reader) (BatchDetailHeader, []BatchDetailRecord, error) {
	t.Helper()
	br := NewBatchDetailReader(r)
	var recs []BatchDetailRecord
	for br.Next() {
		recs = append(recs, br.Record())
	}
	h, _ := br.Header()
	return h, recs, br.Err()
}

func TestBatchDetailReaderReadsTheProtocolSample(t *testing.T) {
	t.Parallel()
	h, recs, err := readAll(t, strings.NewReader(docReport))
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2003, 5, 1, 0, 0, 0, 0, time.UTC)
	if h.Title != "Payment Batch Detail Report" || h.Version != "1.0" || !h.From.Equal(day) || !h.To.Equal(day) || len(h.Columns) != 10 {
		t.Errorf("header %+v", h)
	}
	want := []BatchDetailRecord{
		{Line: 3, BatchID: "123456", MerchantID: "CyberSource", BatchDate: day, RequestID: "0004172180000167905139", MerchantRefNumber: "45CBBDE3378A553",
			TransRefNo: "5652882910", PaymentMethod: "Visa", Currency: "USD", Amount: dec("100.00"), TransactionType: TransactionTypeCapture},
		{Line: 4, BatchID: "123456", MerchantID: "CyberSource", BatchDate: day, RequestID: "0004173790000167905139", MerchantRefNumber: "5DADC3D2F4B7118",
			TransRefNo: "5629152830", PaymentMethod: "Visa", Currency: "USD", Amount: dec("-100.00"), TransactionType: TransactionTypeRefund},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records", len(recs))
	}
	for i := range want {
		got := recs[i]
		if !got.Amount.Equal(want[i].Amount) {
			t.Errorf("record %d amount %s", i, got.Amount)
		}
		got.Amount = want[i].Amount
		if got != want[i] {
			t.Errorf("record %d\n got %+v\nwant %+v", i, got, want[i])
		}
	}
}

func TestBatchDetailReaderTolerates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input string
		check func(t *testing.T, recs []BatchDetailRecord)
	}{
		{"LF line ends", strings.ReplaceAll(docReport, "\r\n", "\n"), func(t *testing.T, recs []BatchDetailRecord) {
			if len(recs) != 2 {
				t.Errorf("%d records", len(recs))
			}
		}},
		{"a byte-order mark", "\xEF\xBB\xBF" + docReport, func(t *testing.T, recs []BatchDetailRecord) {
			if len(recs) != 2 {
				t.Errorf("%d records", len(recs))
			}
		}},
		{"quoted fields with commas, quotes and line breaks",
			"Payment Batch Detail Report,1.0,2026-03-01 to 2026-03-01\r\n" +
				"batch_id,batch_date,request_id,merchant_ref_number,currency,amount,transaction_type\r\n" +
				"1,2026-03-01,111,\"SO-1, \"\"rush\"\"\r\nline2\",USD,\"1,000.00\",ics_bill\r\n",
			func(t *testing.T, recs []BatchDetailRecord) {
				t.Helper()
				if len(recs) != 0 {
					t.Errorf("1,000.00 must not parse: %+v", recs)
				}
			}},
		{"reordered and extra columns (payment_processor)",
			"Payment Submission Detail Report,1.0,2026-03-01 to 2026-03-02,,\r\n" +
				"Amount,Transaction_Type,payment_processor,request_id,merchant_ref_number,currency,batch_date,batch_id,extra\r\n" +
				"12.50,ics_bill,vdcfdc,111,\"SO-1, \"\"rush\"\"\",USD,2026-03-02,9,x\r\n",
			func(t *testing.T, recs []BatchDetailRecord) {
				t.Helper()
				if len(recs) != 1 || recs[0].PaymentProcessor != "vdcfdc" || recs[0].MerchantRefNumber != `SO-1, "rush"` ||
					!recs[0].Amount.Equal(dec("12.5")) || recs[0].BatchID != "9" || recs[0].MerchantID != "" {
					t.Errorf("%+v", recs)
				}
			}},
		{"empty lines and no trailing newline", strings.TrimSuffix(strings.Replace(docReport, "ics_bill\r\n", "ics_bill\r\n\r\n", 1), "\r\n"),
			func(t *testing.T, recs []BatchDetailRecord) {
				t.Helper()
				if len(recs) != 2 || recs[1].Line != 5 {
					t.Errorf("%+v", recs)
				}
			}},
		{"no data rows", strings.Join(strings.SplitAfter(docReport, "\r\n")[:2], ""), func(t *testing.T, recs []BatchDetailRecord) {
			if len(recs) != 0 {
				t.Errorf("%d records", len(recs))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, recs, err := readAll(t, strings.NewReader(tt.input))
			if tt.name == "quoted fields with commas, quotes and line breaks" {
				var re *ReportError
				if !errors.As(err, &re) || re.Line != 3 || re.Column != "amount" {
					t.Fatalf("err = %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			tt.check(t, recs)
		})
	}
}

func TestBatchDetailReaderReportsBadInputWithLineNumbers(t *testing.T) {
	t.Parallel()
	title := "Payment Batch Detail Report,1.0,2026-03-01 to 2026-03-01\r\n"
	cols := "batch_id,merchant_id,batch_date,request_id,merchant_ref_number,trans_ref_no,payment_method,currency,amount,transaction_type\r\n"
	row := "1,m,2026-03-01,111,SO-1,1,Visa,USD,10.00,ics_bill\r\n"
	tests := []struct {
		name, input string
		line        int
		column      string
		text        string
	}{
		{"empty file", "", 1, "", "empty file"},
		{"not a report", "hello,world\r\n", 1, "", "first line"},
		{"no date range", "Payment Batch Detail Report,1.0,yesterday\r\n", 1, "", "date range"},
		{"bad date in range", "Payment Batch Detail Report,1.0,2026-13-01 to 2026-03-01\r\n", 1, "", "start date"},
		{"no column header", title, 2, "", "column header"},
		{"required column missing", title + "batch_id,batch_date,request_id,currency,amount,transaction_type\r\n", 2, "merchant_ref_number", "required column"},
		{"duplicate column", title + strings.Replace(cols, "trans_ref_no", "amount", 1), 2, "amount", "twice"},
		{"short row", title + cols + row + "1,m,2026-03-01\r\n", 4, "", "3 fields"},
		{"bad amount", title + cols + row + row + strings.Replace(row, "10.00", "ten", 1), 5, "amount", `"ten" is not a decimal`},
		{"bad date", title + cols + strings.Replace(row, "2026-03-01", "01/03/2026", 1), 3, "batch_date", "not a date"},
		{"empty request id", title + cols + strings.Replace(row, "111", "", 1), 3, "request_id", "empty"},
		{"broken quotes", title + cols + row + "1,m,2026-03-01,\"111,SO,1,Visa,USD,1,ics_bill\r\n", 4, "", "quote"},
		{"bare quote in a field", title + cols + "1,m,2026-03-01,11\"1,SO,1,Visa,USD,1,ics_bill\r\n", 3, "", "quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := readAll(t, strings.NewReader(tt.input))
			var re *ReportError
			if !errors.As(err, &re) || !errors.Is(err, ErrMalformedReport) {
				t.Fatalf("err = %v", err)
			}
			if re.Line != tt.line || re.Column != tt.column || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("err = %v (line %d column %q), want line %d column %q containing %q", err, re.Line, re.Column, tt.line, tt.column, tt.text)
			}
		})
	}
}

func TestBatchDetailReaderStreamsFromAReaderThatFails(t *testing.T) {
	t.Parallel()
	r := io.MultiReader(strings.NewReader(docReport[:len(docReport)-30]), iotest.ErrReader(errors.New("connection reset")))
	_, recs, err := readAll(t, r)
	if re := (*ReportError)(nil); len(recs) != 1 || !errors.As(err, &re) || re.Line != 4 || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("%d records, err %v", len(recs), err)
	}
}

func TestBatchDetailReaderReadsOneByteAtATime(t *testing.T) {
	t.Parallel()
	_, recs, err := readAll(t, iotest.OneByteReader(strings.NewReader(docReport)))
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
}
