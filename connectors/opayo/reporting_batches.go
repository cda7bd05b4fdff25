package opayo

import (
	"context"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// Batch is one settlement batch from getBatchList: what Opayo sent one acquirer for one day
// (opayo.md §3.5, §5). Values are gross; acquirer fees are not in them.
type Batch struct {
	ID string
	// AuthProcessor is the acquirer's name, as getBatchDetail's authprocessor wants it.
	AuthProcessor string
	// Completed is when the batch was closed, in Europe/London.
	Completed time.Time
	// Groups holds one entry per currency.
	Groups []BatchCurrency
}

// BatchCurrency is one currency's totals within a batch, in major units.
type BatchCurrency struct {
	Currency      string
	PaymentNumber int
	PaymentValue  decimal.Decimal
	RefundNumber  int
	RefundValue   decimal.Decimal
}

// Net is PaymentValue − RefundValue: what the acquirer should pay out before fees.
func (g BatchCurrency) Net() decimal.Decimal { return g.PaymentValue.Sub(g.RefundValue) }

// GetBatchList returns the settlement batches closed between start and end, oldest month
// first; ranges longer than a month are fetched as calendar-month windows.
func (c *Client) GetBatchList(ctx context.Context, start, end time.Time) ([]Batch, error) {
	const cmd = "getBatchList"
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return nil, invalidRequest(cmd, "start and end are required and end must not be before start")
	}
	var out []Batch
	for _, w := range monthWindows(start, end) {
		root, err := c.reportingCall(ctx, cmd, []reportingParam{
			{"startdate", formatReportingDate(w.start)},
			{"enddate", formatReportingDate(w.end)},
		})
		if err != nil {
			return nil, err
		}
		batches, err := parseBatchList(root)
		if err != nil {
			return nil, &Error{Class: ClassTransient, Op: cmd, Message: "unreadable response: " + sanitize(err.Error()), cause: err}
		}
		out = append(out, batches...)
	}
	return out, nil
}

func parseBatchList(root *xmlNode) ([]Batch, error) {
	var out []Batch
	for _, b := range root.child("batches").all("batch") {
		batch := Batch{ID: b.value("batchid"), AuthProcessor: b.value("authprocessorname")}
		if batch.AuthProcessor == "" {
			batch.AuthProcessor = b.value("authprocessor")
		}
		var err error
		if batch.Completed, err = parseReportingTime(b.value("completed")); err != nil {
			return nil, err
		}
		for _, g := range b.child("transactiongroups").all("transactiongroup") {
			grp := BatchCurrency{Currency: g.value("currency")}
			if grp.PaymentNumber, err = atoiOrZero(g.value("paymentnumber")); err != nil {
				return nil, err
			}
			if grp.RefundNumber, err = atoiOrZero(g.value("refundnumber")); err != nil {
				return nil, err
			}
			if grp.PaymentValue, err = parseReportingAmount(g.value("paymentvalue")); err != nil {
				return nil, err
			}
			if grp.RefundValue, err = parseReportingAmount(g.value("refundvalue")); err != nil {
				return nil, err
			}
			batch.Groups = append(batch.Groups, grp)
		}
		out = append(out, batch)
	}
	return out, nil
}

func atoiOrZero(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.Atoi(s)
}

// GetBatchDetail calls fn for every transaction in a settlement batch, in pages of 50 rows.
// authProcessor is the batch's AuthProcessor from GetBatchList.
func (c *Client) GetBatchDetail(ctx context.Context, batchID, authProcessor string, fn func(TransactionSummary) error) error {
	const cmd = "getBatchDetail"
	if batchID == "" {
		return invalidRequest(cmd, "batch id is required")
	}
	base := []reportingParam{{"batchid", batchID}}
	if authProcessor != "" {
		base = append(base, reportingParam{"authprocessor", authProcessor})
	}
	return c.pagedTransactions(ctx, cmd, base, fn)
}
