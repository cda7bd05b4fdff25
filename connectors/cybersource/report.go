package cybersource

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Transaction types in the Payment Batch Detail report.
const (
	// TransactionTypeCapture is a capture (ics_bill), with a positive amount.
	TransactionTypeCapture = "ics_bill"
	// TransactionTypeRefund is a refund (ics_credit), with a negative amount.
	TransactionTypeRefund = "ics_credit"
)

// ErrMalformedReport matches every *ReportError.
var ErrMalformedReport = errors.New("cybersource: malformed report")

// ReportError is a report that cannot be read, with the 1-based line it failed on.
type ReportError struct {
	Line int
	// Column is the column at fault, when one is.
	Column string
	Msg    string
	cause  error
}

// Error renders like "cybersource: report line 7: amount: "12,5" is not a decimal".
func (e *ReportError) Error() string {
	col := ""
	if e.Column != "" {
		col = e.Column + ": "
	}
	return fmt.Sprintf("cybersource: report line %d: %s%s", e.Line, col, e.Msg)
}

// Unwrap exposes the CSV parser's error.
func (e *ReportError) Unwrap() error { return e.cause }

// Is matches ErrMalformedReport.
func (e *ReportError) Is(target error) bool { return target == ErrMalformedReport }

// BatchDetailHeader is the report's first line: "Payment Batch Detail Report,1.0,<from> to <to>".
type BatchDetailHeader struct {
	Title   string
	Version string
	From    time.Time
	To      time.Time
	// Columns are the column names of the second line, lower-cased, in file order.
	Columns []string
}

// BatchDetailRecord is one settled capture or refund.
type BatchDetailRecord struct {
	// Line is the record's 1-based line in the file.
	Line       int
	BatchID    string
	MerchantID string
	BatchDate  time.Time
	// RequestID is the REST transaction id of the capture or refund.
	RequestID string
	// MerchantRefNumber is its clientReferenceInformation.code.
	MerchantRefNumber string
	TransRefNo        string
	PaymentMethod     string
	Currency          string
	// Amount is positive for captures and negative for refunds.
	Amount decimal.Decimal
	// TransactionType is TransactionTypeCapture or TransactionTypeRefund (kept raw).
	TransactionType string
	// PaymentProcessor is set by report variants that carry a payment_processor column.
	PaymentProcessor string
}

// Column names the reader knows; it finds them by name, so order and extra columns do not matter.
const (
	colBatchID           = "batch_id"
	colMerchantID        = "merchant_id"
	colBatchDate         = "batch_date"
	colRequestID         = "request_id"
	colMerchantRefNumber = "merchant_ref_number"
	colTransRefNo        = "trans_ref_no"
	colPaymentMethod     = "payment_method"
	colCurrency          = "currency"
	colAmount            = "amount"
	colTransactionType   = "transaction_type"
	colPaymentProcessor  = "payment_processor"
)

// requiredColumns must be present for a file to be read at all.
var requiredColumns = []string{colBatchID, colBatchDate, colRequestID, colMerchantRefNumber, colCurrency, colAmount, colTransactionType}

// BatchDetailReader streams a Payment Batch Detail Report CSV (v1.0): CRLF or LF line ends,
// quoted fields with doubled inner quotes, columns located by header name. It holds one record at
// a time, so a file of any size reads in constant memory.
//
//	r := cybersource.NewBatchDetailReader(body)
//	for r.Next() {
//		rec := r.Record()
//	}
//	if err := r.Err(); err != nil { … }
type BatchDetailReader struct {
	csv     *csv.Reader
	header  BatchDetailHeader
	index   map[string]int
	width   int
	started bool
	rec     BatchDetailRecord
	err     error
	line    int // line of the last record read
	// lastDate caches batch_date parsing, since a file holds few distinct dates.
	lastDateText string
	lastDate     time.Time
}

// NewBatchDetailReader reads the report from r. Nothing is read until Header or Next.
func NewBatchDetailReader(r io.Reader) *BatchDetailReader {
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\xEF\xBB\xBF")) {
		_, _ = br.Discard(3)
	}
	c := csv.NewReader(br)
	c.FieldsPerRecord = -1
	c.ReuseRecord = true
	return &BatchDetailReader{csv: c}
}

// Header reads (once) and returns the title line and the column names.
func (r *BatchDetailReader) Header() (BatchDetailHeader, error) {
	if !r.started {
		r.started = true
		r.err = r.readPreamble()
	}
	return r.header, r.err
}

// Next advances to the next record, returning false at the end or on an error (see Err).
func (r *BatchDetailReader) Next() bool {
	if _, err := r.Header(); err != nil {
		return false
	}
	if r.err != nil {
		return false
	}
	fields, err := r.csv.Read()
	if err == io.EOF {
		return false
	}
	if err != nil {
		r.err = r.csvError(err)
		return false
	}
	line, _ := r.csv.FieldPos(0)
	r.line = line
	rec, err := r.parseRecord(line, fields)
	if err != nil {
		r.err = err
		return false
	}
	r.rec = rec
	return true
}

// Record returns the record Next moved to.
func (r *BatchDetailReader) Record() BatchDetailRecord { return r.rec }

// Err returns the first error met, or nil at a clean end of file.
func (r *BatchDetailReader) Err() error { return r.err }

func (r *BatchDetailReader) readPreamble() error {
	title, err := r.csv.Read()
	if err == io.EOF {
		return &ReportError{Line: 1, Msg: "empty file"}
	}
	if err != nil {
		return r.csvError(err)
	}
	line, _ := r.csv.FieldPos(0)
	r.line = line
	if len(title) < 3 || !strings.HasSuffix(strings.TrimSpace(title[0]), "Report") || strings.TrimSpace(title[1]) == "" {
		return &ReportError{Line: line, Msg: `first line is not "<name> Report,<version>,<from> to <to>"`}
	}
	h := BatchDetailHeader{Title: strings.TrimSpace(title[0]), Version: strings.TrimSpace(title[1])}
	from, to, ok := strings.Cut(title[2], " to ")
	if !ok {
		return &ReportError{Line: line, Msg: "date range is not \"<from> to <to>\""}
	}
	if h.From, err = parseReportDate(from); err != nil {
		return &ReportError{Line: line, Msg: "report start date is not a date"}
	}
	if h.To, err = parseReportDate(to); err != nil {
		return &ReportError{Line: line, Msg: "report end date is not a date"}
	}

	cols, err := r.csv.Read()
	if err == io.EOF {
		return &ReportError{Line: line + 1, Msg: "column header line missing"}
	}
	if err != nil {
		return r.csvError(err)
	}
	line, _ = r.csv.FieldPos(0)
	r.line = line
	r.index = make(map[string]int, len(cols))
	for i, c := range cols {
		name := strings.ToLower(strings.TrimSpace(c))
		h.Columns = append(h.Columns, name)
		if _, dup := r.index[name]; dup && name != "" {
			return &ReportError{Line: line, Column: name, Msg: "column appears twice"}
		}
		r.index[name] = i
	}
	for _, c := range requiredColumns {
		if _, ok := r.index[c]; !ok {
			return &ReportError{Line: line, Column: c, Msg: "required column missing"}
		}
	}
	r.width = len(cols)
	r.header = h
	return nil
}

func (r *BatchDetailReader) parseRecord(line int, f []string) (BatchDetailRecord, error) {
	if len(f) != r.width {
		return BatchDetailRecord{}, &ReportError{Line: line, Msg: fmt.Sprintf("%d fields, the header has %d", len(f), r.width)}
	}
	get := func(col string) string {
		if i, ok := r.index[col]; ok {
			return f[i]
		}
		return ""
	}
	rec := BatchDetailRecord{
		Line:              line,
		BatchID:           get(colBatchID),
		MerchantID:        get(colMerchantID),
		RequestID:         get(colRequestID),
		MerchantRefNumber: get(colMerchantRefNumber),
		TransRefNo:        get(colTransRefNo),
		PaymentMethod:     get(colPaymentMethod),
		Currency:          get(colCurrency),
		TransactionType:   get(colTransactionType),
		PaymentProcessor:  get(colPaymentProcessor),
	}
	if rec.RequestID == "" {
		return rec, &ReportError{Line: line, Column: colRequestID, Msg: "empty"}
	}
	if rec.Currency == "" {
		return rec, &ReportError{Line: line, Column: colCurrency, Msg: "empty"}
	}
	amount := get(colAmount)
	var err error
	if rec.Amount, err = decimal.NewFromString(strings.TrimSpace(amount)); err != nil {
		return rec, &ReportError{Line: line, Column: colAmount, Msg: fmt.Sprintf("%q is not a decimal", truncate(amount, 40))}
	}
	date := get(colBatchDate)
	if date == r.lastDateText && !r.lastDate.IsZero() {
		rec.BatchDate = r.lastDate
	} else if rec.BatchDate, err = parseReportDate(date); err != nil {
		return rec, &ReportError{Line: line, Column: colBatchDate, Msg: fmt.Sprintf("%q is not a date", truncate(date, 40))}
	} else {
		r.lastDateText, r.lastDate = date, rec.BatchDate
	}
	return rec, nil
}

// parseReportDate accepts the report's dates (2003-05-01) and the date-times newer files use.
func parseReportDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var err error
	for _, layout := range []string{time.DateOnly, time.RFC3339, time.DateTime, "2006-01-02T15:04:05"} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// csvError converts the CSV parser's errors; a read failure is placed after the last line read.
func (r *BatchDetailReader) csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ReportError{Line: pe.Line, Msg: pe.Err.Error(), cause: err}
	}
	return &ReportError{Line: r.line + 1, Msg: "read: " + err.Error(), cause: err}
}
