package cybersource

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/shopspring/decimal"
)

// ReportNamePaymentBatchDetail is the Payment Batch Detail report that BatchDetailReader parses.
const ReportNamePaymentBatchDetail = "PaymentBatchDetailReport"

// reportDateLayout is reportDate's format.
const reportDateLayout = "2006-01-02"

// ReportDownload names one report file (GET /reporting/v3/report-downloads, §8).
type ReportDownload struct {
	// OrganizationID is the merchant's organization; optional for a single merchant.
	OrganizationID string
	// ReportDate is the report's day; only its calendar date in UTC is used.
	ReportDate time.Time
	// ReportName is e.g. ReportNamePaymentBatchDetail.
	ReportName string
	// ReportTime selects one of several reports of a day, e.g. "00:00:00+05:00". Optional.
	ReportTime string
}

// DownloadReport streams a report as CSV; the caller reads and closes it (for the Payment Batch
// Detail report, through NewBatchDetailReader). Unlike the SDK it asks once, with Accept text/csv.
// A report that does not exist is ClassNotFound ("No Reports Found").
func (c *Client) DownloadReport(ctx context.Context, r ReportDownload) (io.ReadCloser, error) {
	const op = "DownloadReport"
	if r.ReportName == "" || r.ReportDate.IsZero() {
		return nil, localError(op, ClassInvalidRequest, "report name and date are required")
	}
	q := url.Values{"reportDate": {r.ReportDate.UTC().Format(reportDateLayout)}, "reportName": {r.ReportName}}
	if r.OrganizationID != "" {
		q.Set("organizationId", r.OrganizationID)
	}
	if r.ReportTime != "" {
		q.Set("reportTime", r.ReportTime)
	}
	return c.stream(ctx, request{op: op, method: http.MethodGet, path: "/reporting/v3/report-downloads", query: q, accept: acceptCSV})
}

// ReportWindow is the time range and scope of a reporting query.
type ReportWindow struct {
	Start, End     time.Time
	OrganizationID string
}

func (w ReportWindow) query() url.Values {
	q := url.Values{"startTime": {w.Start.UTC().Format(reportingTimeLayout)}, "endTime": {w.End.UTC().Format(reportingTimeLayout)}}
	if w.OrganizationID != "" {
		q.Set("organizationId", w.OrganizationID)
	}
	return q
}

// PaymentBatchSummary is one currency and payment type's settled totals.
type PaymentBatchSummary struct {
	CurrencyCode              string          `json:"currencyCode"`
	PaymentSubTypeDescription string          `json:"paymentSubTypeDescription"`
	StartTime                 string          `json:"startTime"`
	EndTime                   string          `json:"endTime"`
	SalesCount                int             `json:"salesCount"`
	SalesAmount               decimal.Decimal `json:"salesAmount"`
	CreditCount               int             `json:"creditCount"`
	CreditAmount              decimal.Decimal `json:"creditAmount"`
	AccountID                 string          `json:"accountId"`
	AccountName               string          `json:"accountName"`
	MerchantID                string          `json:"merchantId"`
	MerchantName              string          `json:"merchantName"`
}

// PaymentBatchSummaries is GET /reporting/v3/payment-batch-summaries.
type PaymentBatchSummaries struct {
	StartTime string                `json:"startTime"`
	EndTime   string                `json:"endTime"`
	Summaries []PaymentBatchSummary `json:"paymentBatchSummaries"`
}

// PaymentBatchSummaries returns settled sales and credits per currency and payment type in w.
// rollUp and breakdown are passed through when set.
func (c *Client) PaymentBatchSummaries(ctx context.Context, w ReportWindow, rollUp, breakdown string) (*PaymentBatchSummaries, error) {
	q := w.query()
	if rollUp != "" {
		q.Set("rollUp", rollUp)
	}
	if breakdown != "" {
		q.Set("breakdown", breakdown)
	}
	var res PaymentBatchSummaries
	if _, err := c.do(ctx, request{op: "PaymentBatchSummaries", method: http.MethodGet, path: "/reporting/v3/payment-batch-summaries", query: q}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// NetFundingSummary is one funding line: PURCHASES, REFUNDS, FEES or CHARGEBACKS.
type NetFundingSummary struct {
	Type           string          `json:"type"`
	PaymentSubType string          `json:"paymentSubType"`
	ConveyedCount  int             `json:"conveyedCount"`
	ConveyedAmount decimal.Decimal `json:"conveyedAmount"`
	SettledCount   int             `json:"settledCount"`
	FundedCount    int             `json:"fundedCount"`
	FundedAmount   decimal.Decimal `json:"fundedAmount"`
	CurrencyCode   string          `json:"currencyCode"`
}

// CurrencyAmount is a total in one currency.
type CurrencyAmount struct {
	Currency string          `json:"currency"`
	Value    decimal.Decimal `json:"value"`
}

// NetFundings is GET /reporting/v3/net-fundings.
type NetFundings struct {
	StartTime        string              `json:"startTime"`
	EndTime          string              `json:"endTime"`
	Summaries        []NetFundingSummary `json:"netFundingSummaries"`
	TotalPurchases   []CurrencyAmount    `json:"totalPurchases"`
	TotalRefunds     []CurrencyAmount    `json:"totalRefunds"`
	TotalFees        []CurrencyAmount    `json:"totalFees"`
	TotalChargebacks []CurrencyAmount    `json:"totalChargebacks"`
	NetTotal         []CurrencyAmount    `json:"netTotal"`
}

// NetFundings returns what was funded in w; groupName is passed through when set.
func (c *Client) NetFundings(ctx context.Context, w ReportWindow, groupName string) (*NetFundings, error) {
	q := w.query()
	if groupName != "" {
		q.Set("groupName", groupName)
	}
	var res NetFundings
	if _, err := c.do(ctx, request{op: "NetFundings", method: http.MethodGet, path: "/reporting/v3/net-fundings", query: q}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
