package reconcile

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// CSVHeader is the first row WriteCSV writes.
func CSVHeader() []string {
	return []string{"batch", "kind", "lines", "payments", "reference", "gateway_transaction_id",
		"currency", "expected", "actual", "difference", "explanation"}
}

// WriteCSV writes the discrepancies of r, one row each after CSVHeader. Line numbers and payment
// ids are separated by spaces; difference is actual minus expected; amounts have two decimal
// places, or four when they need them.
func WriteCSV(w io.Writer, r Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader()); err != nil {
		return err
	}
	for _, d := range r.Discrepancies {
		row := []string{d.Batch, string(d.Kind), joinInts(d.Lines), joinInts(d.Payments), d.Reference, d.GatewayTxnID,
			d.Currency, money(d.Expected), money(d.Actual), money(d.Actual.Sub(d.Expected)), d.Explanation}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func joinInts[T int | int64](xs []T) string {
	var b strings.Builder
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(int64(x), 10))
	}
	return b.String()
}
