package reconcile

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// Kind says what a settlement line (or a payment) moves.
type Kind uint8

// The zero Kind is not valid: a line or payment that leaves it unset is reported as InvalidInput
// instead of silently counting as a sale.
const (
	Sale       Kind = iota + 1 // money in: a capture or a sale
	Refund                     // money out to the cardholder
	Fee                        // the gateway's or acquirer's charge
	Chargeback                 // money taken back by the card scheme
	Adjustment                 // any other correction by the gateway
)

var kindNames = [...]string{Sale: "sale", Refund: "refund", Fee: "fee", Chargeback: "chargeback", Adjustment: "adjustment"}

func (k Kind) String() string {
	if k.valid() {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind is the inverse of String.
func ParseKind(s string) (Kind, error) {
	for k := Sale; k <= Adjustment; k++ {
		if kindNames[k] == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("reconcile: unknown kind %q", s)
}

func (k Kind) valid() bool { return k >= Sale && k <= Adjustment }

// leg reports whether lines of this kind are legs (rule 4): they never consume a payment.
func (k Kind) leg() bool { return k == Fee || k == Chargeback }

// Line is one settlement line of a gateway batch.
type Line struct {
	Number       int    // line number in the batch (1-based), used in reports
	Batch        string // gateway batch id
	Kind         Kind
	GatewayTxnID string          // may be empty
	Reference    string          // merchant reference, may be empty
	Amount       decimal.Decimal // magnitude, positive: a refund of 5.00 is Amount 5.00, Kind Refund
	Currency     string
	Date         time.Time
}

// Payment is one canonical money movement at the gateway.
type Payment struct {
	ID           int64
	GatewayTxnID string
	Reference    string
	Kind         Kind            // Sale or Refund only
	Amount       decimal.Decimal // positive
	Currency     string
	Date         time.Time // when it was captured or refunded
	Expected     bool      // true: it must appear in this settlement; false: only a candidate
}

// Totals is what the gateway says a batch adds up to in one currency (batch summaries, net
// fundings, the Opayo batch list). A zero amount with its Has* flag false means "not reported";
// a zero count means "not reported".
type Totals struct {
	Batch    string
	Currency string

	Sales, Refunds, Fees, Chargebacks decimal.Decimal // magnitudes
	SalesCount, RefundCount           int

	HasSales, HasRefunds, HasFees, HasChargebacks bool
}

// Config tunes a run. The zero Config matches amounts exactly with a 72 h date window.
type Config struct {
	// Tolerance is the largest amount difference a match may have (e.g. 0.01); zero means exact.
	// Totals are compared with the same tolerance. Amounts are exact at 4 places, so a tolerance
	// with more places is truncated to 4 without changing any outcome.
	Tolerance decimal.Decimal
	// DateWindow bounds reference matching: |line.Date - payment.Date| <= DateWindow. Zero or
	// negative means DefaultDateWindow.
	DateWindow time.Duration
	// Progress, when set, is called at most about 200 times over a run, with done increasing and
	// the last call having done == total. The units are abstract amounts of work.
	Progress func(done, total int)
}

// DefaultDateWindow is the reference-matching date window when Config.DateWindow is not set.
const DefaultDateWindow = 72 * time.Hour

// Method says which rule produced a Match.
type Method string

const (
	MethodGatewayID Method = "gateway_id" // one line, one payment, same gateway transaction id
	MethodReference Method = "reference"  // one line, one payment, same merchant reference
	MethodSplit     Method = "split"      // one payment settled by several lines (split captures)
	MethodGroup     Method = "group"      // several payments settled by one or more lines (partial refunds)
	MethodLeg       Method = "leg"        // a fee or chargeback line, tied to a payment when it names one
)

// Match is a set of lines that settles a set of payments. For a leg, Payments is the payment the
// fee or chargeback belongs to (if it names one) and that payment is not consumed by it.
type Match struct {
	Method     Method
	Batch      string          // the batch of the first line
	Lines      []int           // Line.Number, ascending
	Payments   []int64         // Payment.ID, ascending
	Difference decimal.Decimal // lines minus payments, within tolerance (zero for legs)
	Note       string          // for legs worth a look, e.g. a chargeback naming no payment we know
}

// DiscrepancyKind classifies a Discrepancy.
type DiscrepancyKind string

const (
	UnmatchedLine    DiscrepancyKind = "unmatched_settlement_line" // a line with no payment
	UnmatchedPayment DiscrepancyKind = "unmatched_payment"         // an Expected payment no line settled
	AmountMismatch   DiscrepancyKind = "amount_mismatch"           // same txn id (or reference group), amounts differ beyond tolerance
	CurrencyMismatch DiscrepancyKind = "currency_mismatch"         // same txn id, different currency
	DuplicateLine    DiscrepancyKind = "duplicate_settlement_line" // the same gateway txn settled twice in this run
	TotalMismatch    DiscrepancyKind = "total_mismatch"            // lines do not add up to the gateway's Totals
	KindMismatch     DiscrepancyKind = "kind_mismatch"             // line says refund but the payment is a sale, etc.
	// InvalidInput is a line or payment the engine cannot use: an amount that is negative, not
	// exact at 4 decimal places or too large, or a kind that is not valid for it. It takes no part
	// in matching, sums or totals.
	InvalidInput DiscrepancyKind = "invalid_input"
)

// DiscrepancyKinds lists every DiscrepancyKind, in the order reports group them.
func DiscrepancyKinds() []DiscrepancyKind {
	return []DiscrepancyKind{UnmatchedLine, UnmatchedPayment, AmountMismatch, CurrencyMismatch,
		DuplicateLine, TotalMismatch, KindMismatch, InvalidInput}
}

// Discrepancy is one thing a finance clerk has to look at.
type Discrepancy struct {
	Kind     DiscrepancyKind
	Batch    string  // the batch of the first line, or of the Totals; empty for a payment alone
	Lines    []int   // Line.Number, ascending
	Payments []int64 // Payment.ID, ascending
	Currency string
	// Expected and Actual are what should have settled and what did: payment vs line amounts,
	// reported vs summed totals, counts for count measures.
	Expected, Actual        decimal.Decimal
	Reference, GatewayTxnID string
	Measure                 string // TotalMismatch only: sales, refunds, fees, chargebacks, sales_count, refund_count
	Explanation             string // plain English
}

// IsCount reports whether Expected and Actual are numbers of lines (a TotalMismatch of a count
// measure), not amounts in Currency.
func (d Discrepancy) IsCount() bool {
	return d.Measure == "sales_count" || d.Measure == "refund_count"
}

// Sums are the valid lines of one currency added up by kind, for the GL journal.
type Sums struct {
	Sales, Refunds, Fees, Chargebacks, Adjustments decimal.Decimal
}

// Add counts one line of kind k (an unknown kind as an adjustment).
func (s *Sums) Add(k Kind, amount decimal.Decimal) {
	switch k {
	case Sale:
		s.Sales = s.Sales.Add(amount)
	case Refund:
		s.Refunds = s.Refunds.Add(amount)
	case Fee:
		s.Fees = s.Fees.Add(amount)
	case Chargeback:
		s.Chargebacks = s.Chargebacks.Add(amount)
	default:
		s.Adjustments = s.Adjustments.Add(amount)
	}
}

// Net is what reaches the bank: sales less refunds, fees and chargebacks, plus adjustments.
func (s *Sums) Net() decimal.Decimal {
	return s.Sales.Sub(s.Refunds).Sub(s.Fees).Sub(s.Chargebacks).Add(s.Adjustments)
}

// Result is the outcome of Reconcile.
type Result struct {
	Matches       []Match       // ordered by batch and first line number
	Discrepancies []Discrepancy // ordered by batch, first line number, first payment id, kind

	// MatchedLines counts lines in a Match (legs included); UnmatchedLines the others, so the two
	// add up to the number of lines. MatchedPayments counts payments consumed by a Match (a leg
	// does not consume); UnmatchedPayments counts Expected payments that no Match consumed,
	// whether reported as UnmatchedPayment or as part of another discrepancy.
	MatchedLines, UnmatchedLines, MatchedPayments, UnmatchedPayments int

	Sums map[string]*Sums // by currency
}

// Reconciled reports whether the run found no discrepancy.
func (r Result) Reconciled() bool { return len(r.Discrepancies) == 0 }

// Counts returns the number of discrepancies of each kind; every kind has an entry.
func (r Result) Counts() map[DiscrepancyKind]int {
	c := make(map[DiscrepancyKind]int, len(DiscrepancyKinds()))
	for _, k := range DiscrepancyKinds() {
		c[k] = 0
	}
	for _, d := range r.Discrepancies {
		c[d.Kind]++
	}
	return c
}

// Reconcile matches settlement lines to payments and reports every discrepancy; see the package
// documentation for the rules. It is pure and deterministic: the same lines, payments and totals,
// in any order, give the same Result.
func Reconcile(lines []Line, payments []Payment, totals []Totals, cfg Config) Result {
	e := newEngine(lines, payments, cfg)
	e.prepare()
	e.matchByTxnID() // rule 1
	e.matchLegs()    // rule 4; legs consume nothing, so they can go before rules 2 and 3
	e.matchByRef()   // rules 2 and 3
	e.reportLeft()   // rule 5
	e.total(totals)  // rule 6 and Sums
	return e.result()
}
