package sysprosim

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Business-object error numbers. 240004, 100028 and 100030 are SYSPRO's own (syspro.md §2); no
// public capture shows the numbers for the other conditions, so the simulator assigns its own in
// SYSPRO's style and keeps SYSPRO's wording where it is known.
const (
	ErrNoStockCodeNotFound  = "240004"
	ErrNoInvalidDate        = "100028"
	ErrNoCannotBeSpaces     = "100030"
	ErrNoNotNumeric         = "100031"
	ErrNoCustomerNotFound   = "200101"
	ErrNoCustomerOnHold     = "200102"
	ErrNoCustomerExists     = "200103"
	ErrNoNotInWarehouse     = "240005"
	ErrNoDuplicatePoNumber  = "300110"
	ErrNoSalesOrderNotFound = "300101"
	ErrNoSalesOrderExists   = "300102"
	ErrNoStatusTransition   = "300120"
	ErrNoBackOrder          = "300130"
	ErrNoUnsupportedAction  = "300140"
	ErrNoInvoiceNotFound    = "400101"
	ErrNoOverPayment        = "400102"
	ErrNoPaymentMismatch    = "400103"
	ErrNoCreditNoteNotFound = "400201"
	ErrNoCreditNoteExists   = "400202"
	ErrNoLedgerNotFound     = "500101"
	ErrNoLedgerOnHold       = "500102"
	ErrNoPeriodClosed       = "500103"
	ErrNoNotBalanced        = "500104"
)

func errf(number, format string, args ...any) *boError {
	return &boError{Number: number, Text: fmt.Sprintf(format, args...)}
}

func errSpaces(parent, element string) *boError {
	return errf(ErrNoCannotBeSpaces, "XML element '{%s}{%s}' cannot be spaces", parent, element)
}

func errStockNotFound(code string) *boError {
	return errf(ErrNoStockCodeNotFound, "Stock code '%s' not found", code)
}

func errCustomerNotFound(code string) *boError {
	return errf(ErrNoCustomerNotFound, "Customer '%s' not found", code)
}

// checkDate accepts an empty date or CCYY-MM-DD, as SYSPRO input requires (error 100028).
func checkDate(s string) *boError {
	if s == "" {
		return nil
	}
	if _, err := time.Parse("2006-01-02", s); err != nil {
		return errf(ErrNoInvalidDate, "Date '%s' is invalid - date must be in CCYY-MM-DD format", s)
	}
	return nil
}

// parseMoney reads an amount with at most two decimals: SYSPRO rejects more as "not numeric"
// (syspro.md §3.1, a live observation).
func parseMoney(field, s string) (decimal.Decimal, *boError) {
	d, err := decimal.NewFromString(s)
	if err != nil || d.Exponent() < -2 {
		return decimal.Zero, errf(ErrNoNotNumeric, "%s '%s' is not numeric", field, s)
	}
	return d, nil
}

// parseQty reads a quantity (up to six decimals).
func parseQty(field, s string) (decimal.Decimal, *boError) {
	d, err := decimal.NewFromString(s)
	if err != nil || !d.Equal(d.Round(6)) {
		return decimal.Zero, errf(ErrNoNotNumeric, "%s '%s' is not numeric", field, s)
	}
	return d, nil
}

func parseDate(s string) (time.Time, error) { return time.Parse("2006-01-02", s) }
