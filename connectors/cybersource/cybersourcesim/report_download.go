package cybersourcesim

import (
	"encoding/xml"
	"net/http"
	"strings"
	"time"
)

// PaymentBatchDetailReport is the reportName of the daily Payment Batch Detail Report.
const PaymentBatchDetailReport = "PaymentBatchDetailReport"

// handleReportDownload is GET /reporting/v3/report-downloads?organizationId&reportDate&reportName:
// the Payment Batch Detail Report of one batch date, as CSV (Accept: text/csv) or XML (anything
// else, the SDK's default). The report of a day exists once its cut-off has passed; a day that
// has not been cut off, that precedes the simulator's start, or another report name is 404.
func (s *Server) handleReportDownload(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	q := r.URL.Query()
	if e := s.checkOrganization(now, q.Get("organizationId")); e != nil {
		writeAPIError(w, e)
		return
	}
	var missing []fieldDetail
	for _, f := range []string{"reportDate", "reportName"} {
		if strings.TrimSpace(q.Get(f)) == "" {
			missing = append(missing, fieldDetail{Field: f, Reason: reasonMissingField})
		}
	}
	if len(missing) > 0 {
		writeAPIError(w, reportingError(now, http.StatusBadRequest, reasonInvalidData, "Missing required query parameters", missing...))
		return
	}
	date, err := time.Parse(time.DateOnly, q.Get("reportDate"))
	if err != nil {
		writeAPIError(w, reportingError(now, http.StatusBadRequest, reasonInvalidData, "reportDate must be yyyy-mm-dd",
			fieldDetail{Field: "reportDate", Reason: reasonInvalidData}))
		return
	}
	if q.Get("reportName") != PaymentBatchDetailReport || !s.state.reportAvailable(date, now) {
		writeAPIError(w, reportingError(now, http.StatusNotFound, reasonNotFound, "No Reports Found"))
		return
	}
	day := date.Format(time.DateOnly)
	batches := s.state.batchesOn(day)
	if strings.Contains(strings.ToLower(r.Header.Get("Accept")), "text/csv") {
		w.Header().Set("Content-Type", "text/csv")
		w.Header().Set("Content-Disposition", `attachment; filename="`+PaymentBatchDetailReport+`-`+day+`.csv"`)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(paymentBatchDetailCSV(s.opts.MerchantID, day, batches)))
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(paymentBatchDetailXML(s.opts.MerchantID, day, batches))
}

// paymentBatchDetailCSV renders the Payment Batch Detail Report, CSV version 1.0 (protocol doc
// §8): a title line, the column names, then one row per batched transaction, CRLF line ends.
// Settlement quirks apply here: an omitted entry has no row, a re-amounted one its ReportedAmount.
func paymentBatchDetailCSV(merchantID, day string, batches []*Batch) string {
	var b strings.Builder
	line := func(fields ...string) {
		for i, f := range fields {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(csvField(f))
		}
		b.WriteString("\r\n")
	}
	line("Payment Batch Detail Report", "1.0", day+" to "+day, "", "", "", "", "", "", "")
	line("batch_id", "merchant_id", "batch_date", "request_id", "merchant_ref_number", "trans_ref_no",
		"payment_method", "currency", "amount", "transaction_type")
	for _, bt := range batches {
		for _, e := range bt.Entries {
			if e.OmittedFromReport {
				continue
			}
			line(bt.ID, merchantID, bt.Date, e.TransactionID, e.MerchantReference, e.ReconciliationID,
				e.PaymentMethod, e.Currency, money(e.reportAmount(), e.Currency), e.Application)
		}
	}
	return b.String()
}

// csvField quotes a field that holds a comma, a quote or a line break, doubling inner quotes.
func csvField(f string) string {
	if !strings.ContainsAny(f, ",\"\r\n") {
		return f
	}
	return `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
}

// The XML version of the report, after Cybersource's pbdr.dtd layout.
type pbdReport struct {
	XMLName         xml.Name   `xml:"Report"`
	Name            string     `xml:"Name,attr"`
	Version         string     `xml:"Version,attr"`
	MerchantID      string     `xml:"MerchantID,attr"`
	ReportStartDate string     `xml:"ReportStartDate,attr"`
	ReportEndDate   string     `xml:"ReportEndDate,attr"`
	Batches         []pbdBatch `xml:"Batches>Batch"`
}

type pbdBatch struct {
	BatchID   string       `xml:"BatchID,attr"`
	BatchDate string       `xml:"BatchDate,attr"`
	Requests  []pbdRequest `xml:"Requests>Request"`
}

type pbdRequest struct {
	RequestID                  string `xml:"RequestID,attr"`
	MerchantReferenceNumber    string `xml:"MerchantReferenceNumber,attr"`
	TransactionReferenceNumber string `xml:"TransactionReferenceNumber"`
	PaymentMethod              string `xml:"PaymentMethod"`
	CurrencyCode               string `xml:"CurrencyCode"`
	Amount                     string `xml:"Amount"`
	TransactionType            string `xml:"TransactionType"`
}

func paymentBatchDetailXML(merchantID, day string, batches []*Batch) []byte {
	rep := pbdReport{Name: "Payment Batch Detail", Version: "1.0", MerchantID: merchantID,
		ReportStartDate: day + "T00:00:00-00:00", ReportEndDate: day + "T23:59:59-00:00", Batches: []pbdBatch{}}
	for _, bt := range batches {
		pb := pbdBatch{BatchID: bt.ID, BatchDate: bt.Date}
		for _, e := range bt.Entries {
			if e.OmittedFromReport {
				continue
			}
			pb.Requests = append(pb.Requests, pbdRequest{RequestID: e.TransactionID, MerchantReferenceNumber: e.MerchantReference,
				TransactionReferenceNumber: e.ReconciliationID, PaymentMethod: e.PaymentMethod, CurrencyCode: e.Currency,
				Amount: money(e.reportAmount(), e.Currency), TransactionType: e.Application})
		}
		rep.Batches = append(rep.Batches, pb)
	}
	out, _ := xml.MarshalIndent(rep, "", "  ")
	return append([]byte(xml.Header), append(out, '\n')...)
}
