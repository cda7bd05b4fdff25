package reconcile

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

var settlementDay = time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// ln is a line of batch B1 dated on the settlement day.
func ln(n int, k Kind, txn, ref, amt, cur string) Line {
	return Line{Number: n, Batch: "B1", Kind: k, GatewayTxnID: txn, Reference: ref, Amount: dec(amt), Currency: cur,
		Date: settlementDay}
}

// pay is an expected payment captured two hours before the settlement.
func pay(id int64, k Kind, txn, ref, amt, cur string) Payment {
	return Payment{ID: id, Kind: k, GatewayTxnID: txn, Reference: ref, Amount: dec(amt), Currency: cur,
		Date: settlementDay.Add(-2 * time.Hour), Expected: true}
}

func at(p Payment, before time.Duration) Payment {
	p.Date = settlementDay.Add(-before)
	return p
}

func candidate(p Payment) Payment {
	p.Expected = false
	return p
}

type wantMatch struct {
	method Method
	lines  []int
	pays   []int64
	diff   string // checked when set
	note   string // a substring of the note; an empty note is checked when unset
}

type wantDiscrepancy struct {
	kind             DiscrepancyKind
	lines            []int
	pays             []int64
	expected, actual string   // checked when set
	says             []string // substrings of the explanation
}

var cent = Config{Tolerance: dec("0.01")}

func TestReconcileRules(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		lines   []Line
		pays    []Payment
		totals  []Totals
		matches []wantMatch
		discs   []wantDiscrepancy
	}{
		// Rule 1: gateway transaction id.
		{
			name:    "gateway id one to one",
			lines:   []Line{ln(1, Sale, "T1", "R1", "25.00", "GBP")},
			pays:    []Payment{pay(10, Sale, "T1", "R1", "25.00", "GBP")},
			matches: []wantMatch{{method: MethodGatewayID, lines: []int{1}, pays: []int64{10}, diff: "0"}},
		},
		{
			name:    "gateway id ignores the date window",
			lines:   []Line{ln(1, Sale, "T1", "R1", "25.00", "GBP")},
			pays:    []Payment{at(pay(10, Sale, "T1", "", "25.00", "GBP"), 30*24*time.Hour)},
			matches: []wantMatch{{method: MethodGatewayID, lines: []int{1}, pays: []int64{10}}},
		},
		{
			name:    "gateway id within tolerance",
			cfg:     cent,
			lines:   []Line{ln(1, Sale, "T1", "R1", "25.01", "GBP")},
			pays:    []Payment{pay(10, Sale, "T1", "R1", "25.00", "GBP")},
			matches: []wantMatch{{method: MethodGatewayID, lines: []int{1}, pays: []int64{10}, diff: "0.01"}},
		},
		{
			name:  "gateway id tolerance off",
			lines: []Line{ln(1, Sale, "T1", "R1", "25.01", "GBP")},
			pays:  []Payment{pay(10, Sale, "T1", "R1", "25.00", "GBP")},
			discs: []wantDiscrepancy{{kind: AmountMismatch, lines: []int{1}, pays: []int64{10}, expected: "25", actual: "25.01",
				says: []string{"Line 1 settles 25.01 GBP for transaction T1", "payment 10 is 25.00 GBP", "difference 0.01", "no tolerance"}}},
		},
		{
			name:  "gateway id beyond tolerance",
			cfg:   cent,
			lines: []Line{ln(1, Sale, "T1", "R1", "24.00", "GBP")},
			pays:  []Payment{pay(10, Sale, "T1", "R1", "25.00", "GBP")},
			discs: []wantDiscrepancy{{kind: AmountMismatch, lines: []int{1}, pays: []int64{10}, expected: "25", actual: "24",
				says: []string{"Line 1", "24.00 GBP", "25.00 GBP", "difference -1.00", "tolerance 0.01"}}},
		},
		{
			name:  "currency mismatch",
			lines: []Line{ln(1, Sale, "T1", "R1", "25.00", "EUR")},
			pays:  []Payment{pay(10, Sale, "T1", "R1", "25.00", "GBP")},
			discs: []wantDiscrepancy{{kind: CurrencyMismatch, lines: []int{1}, pays: []int64{10},
				says: []string{"Line 1 settles 25.00 EUR for transaction T1", "payment 10", "is in GBP (25.00 GBP)"}}},
		},
		{
			name:    "kind mismatch: a refund line with the sale's transaction id",
			lines:   []Line{ln(1, Sale, "T1", "R1", "25.00", "GBP"), ln(2, Refund, "T1", "R1", "5.00", "GBP")},
			pays:    []Payment{pay(10, Sale, "T1", "R1", "25.00", "GBP")},
			matches: []wantMatch{{method: MethodGatewayID, lines: []int{1}, pays: []int64{10}}},
			discs: []wantDiscrepancy{{kind: KindMismatch, lines: []int{2}, pays: []int64{10}, expected: "25", actual: "5",
				says: []string{"Line 2 is a refund of 5.00 GBP for transaction T1", "payment 10", "a sale of 25.00 GBP"}}},
		},
		{
			name:  "kind mismatch alone uses the payment",
			lines: []Line{ln(1, Adjustment, "T1", "", "3.00", "GBP")},
			pays:  []Payment{pay(10, Sale, "T1", "R1", "25.00", "GBP")},
			discs: []wantDiscrepancy{{kind: KindMismatch, lines: []int{1}, pays: []int64{10},
				says: []string{"Line 1 is an adjustment of 3.00 GBP"}}},
		},
		{
			name:    "duplicate line",
			lines:   []Line{ln(1, Sale, "T1", "R1", "25.00", "GBP"), ln(2, Sale, "T1", "R1", "25.00", "GBP")},
			pays:    []Payment{pay(10, Sale, "T1", "R1", "25.00", "GBP")},
			matches: []wantMatch{{method: MethodGatewayID, lines: []int{1}, pays: []int64{10}}},
			discs: []wantDiscrepancy{{kind: DuplicateLine, lines: []int{1, 2}, pays: []int64{10}, expected: "25", actual: "50",
				says: []string{"Line 2 settles a sale of 25.00 GBP for transaction T1 a second time", "line 1 already settled it"}}},
		},
		{
			name:    "a further line for a settled transaction",
			lines:   []Line{ln(1, Sale, "T1", "R1", "25.00", "GBP"), ln(2, Sale, "T1", "R1", "3.00", "GBP")},
			pays:    []Payment{pay(10, Sale, "T1", "R1", "25.00", "GBP")},
			matches: []wantMatch{{method: MethodGatewayID, lines: []int{1}, pays: []int64{10}}},
			discs: []wantDiscrepancy{{kind: AmountMismatch, lines: []int{2}, pays: []int64{10}, expected: "25", actual: "28",
				says: []string{"Line 2 settles a further 3.00 GBP for transaction T1", "payment 10 (25.00 GBP) is already settled in full by line 1", "difference 3.00"}}},
		},
		{
			name:    "split capture in identical halves",
			lines:   []Line{ln(1, Sale, "T1", "R1", "12.00", "GBP"), ln(2, Sale, "T1", "R1", "12.00", "GBP")},
			pays:    []Payment{pay(10, Sale, "T1", "R1", "24.00", "GBP")},
			matches: []wantMatch{{method: MethodSplit, lines: []int{1, 2}, pays: []int64{10}}},
		},
		{
			name:    "split capture uneven, within tolerance",
			cfg:     cent,
			lines:   []Line{ln(1, Sale, "T1", "R1", "10.00", "GBP"), ln(2, Sale, "T1", "R1", "14.01", "GBP")},
			pays:    []Payment{pay(10, Sale, "T1", "R1", "24.00", "GBP")},
			matches: []wantMatch{{method: MethodSplit, lines: []int{1, 2}, pays: []int64{10}, diff: "0.01"}},
		},
		{
			name:  "split capture not adding up",
			lines: []Line{ln(1, Sale, "T1", "R1", "10.00", "GBP"), ln(2, Sale, "T1", "R1", "15.00", "GBP")},
			pays:  []Payment{pay(10, Sale, "T1", "R1", "24.00", "GBP")},
			discs: []wantDiscrepancy{{kind: AmountMismatch, lines: []int{1, 2}, pays: []int64{10}, expected: "24", actual: "25",
				says: []string{"Lines 1 and 2 settle 25.00 GBP in total for transaction T1", "payment 10 is 24.00 GBP"}}},
		},
		{
			name:  "payments sharing a transaction id pair one to one",
			lines: []Line{ln(1, Sale, "T1", "", "5.00", "GBP"), ln(2, Sale, "T1", "", "20.00", "GBP")},
			pays:  []Payment{pay(10, Sale, "T1", "R1", "20.00", "GBP"), pay(11, Sale, "T1", "R1", "5.00", "GBP")},
			matches: []wantMatch{
				{method: MethodGatewayID, lines: []int{1}, pays: []int64{11}},
				{method: MethodGatewayID, lines: []int{2}, pays: []int64{10}},
			},
		},

		// Rule 2: reference.
		{
			name:    "reference when the line has no transaction id",
			lines:   []Line{ln(1, Sale, "", "R1", "25.00", "GBP")},
			pays:    []Payment{pay(10, Sale, "T9", "R1", "25.00", "GBP")},
			matches: []wantMatch{{method: MethodReference, lines: []int{1}, pays: []int64{10}}},
		},
		{
			name:  "reference needs the same kind",
			lines: []Line{ln(1, Refund, "", "R1", "25.00", "GBP")},
			pays:  []Payment{pay(10, Sale, "", "R1", "25.00", "GBP")},
			discs: []wantDiscrepancy{
				{kind: UnmatchedPayment, pays: []int64{10}},
				{kind: UnmatchedLine, lines: []int{1}, says: []string{"Line 1 settles a refund of 25.00 GBP (reference R1)"}},
			},
		},
		{
			name:  "reference prefers the closest date",
			lines: []Line{ln(1, Sale, "", "R1", "25.00", "GBP")},
			pays: []Payment{at(pay(10, Sale, "", "R1", "25.00", "GBP"), 30*time.Hour),
				at(pay(11, Sale, "", "R1", "25.00", "GBP"), 2*time.Hour)},
			matches: []wantMatch{{method: MethodReference, lines: []int{1}, pays: []int64{11}}},
			discs: []wantDiscrepancy{{kind: UnmatchedPayment, pays: []int64{10}, expected: "25", actual: "0",
				says: []string{"Payment 10, a sale of 25.00 GBP on 2026-03-01 (reference R1), was expected"}}},
		},
		{
			name:  "reference tie goes to the lowest payment id",
			lines: []Line{ln(1, Sale, "", "R1", "25.00", "GBP")},
			pays: []Payment{candidate(pay(11, Sale, "", "R1", "25.00", "GBP")),
				candidate(pay(10, Sale, "", "R1", "25.00", "GBP"))},
			matches: []wantMatch{{method: MethodReference, lines: []int{1}, pays: []int64{10}}},
		},
		{
			name: "reference: the closer pair wins over line order",
			lines: []Line{ln(1, Sale, "", "R1", "25.00", "GBP"),
				func() Line {
					l := ln(2, Sale, "", "R1", "25.00", "GBP")
					l.Date = settlementDay.Add(-20 * time.Hour)
					return l
				}()},
			pays: []Payment{at(pay(10, Sale, "", "R1", "25.00", "GBP"), 20*time.Hour),
				at(pay(11, Sale, "", "R1", "25.00", "GBP"), 0)},
			matches: []wantMatch{
				{method: MethodReference, lines: []int{1}, pays: []int64{11}},
				{method: MethodReference, lines: []int{2}, pays: []int64{10}},
			},
		},
		{
			name:    "date window boundary inside",
			cfg:     Config{DateWindow: 24 * time.Hour},
			lines:   []Line{ln(1, Sale, "", "R1", "25.00", "GBP")},
			pays:    []Payment{at(pay(10, Sale, "", "R1", "25.00", "GBP"), 24*time.Hour)},
			matches: []wantMatch{{method: MethodReference, lines: []int{1}, pays: []int64{10}}},
		},
		{
			name:  "date window boundary outside",
			cfg:   Config{DateWindow: 24 * time.Hour},
			lines: []Line{ln(1, Sale, "", "R1", "25.00", "GBP")},
			pays:  []Payment{at(pay(10, Sale, "", "R1", "25.00", "GBP"), 24*time.Hour+time.Nanosecond)},
			discs: []wantDiscrepancy{
				{kind: UnmatchedPayment, pays: []int64{10}},
				{kind: UnmatchedLine, lines: []int{1}},
			},
		},
		{
			name:  "date window boundary with several items",
			cfg:   Config{DateWindow: 24 * time.Hour},
			lines: []Line{ln(1, Sale, "", "R1", "25.00", "GBP"), ln(2, Sale, "", "R1", "10.00", "GBP")},
			pays: []Payment{at(pay(10, Sale, "", "R1", "25.00", "GBP"), 24*time.Hour),
				at(pay(11, Sale, "", "R1", "10.00", "GBP"), 24*time.Hour)},
			matches: []wantMatch{
				{method: MethodReference, lines: []int{1}, pays: []int64{10}},
				{method: MethodReference, lines: []int{2}, pays: []int64{11}},
			},
		},
		{
			name:    "default date window is 72 hours",
			lines:   []Line{ln(1, Sale, "", "R1", "25.00", "GBP"), ln(2, Sale, "", "R2", "25.00", "GBP")},
			pays:    []Payment{at(pay(10, Sale, "", "R1", "25.00", "GBP"), 72*time.Hour), candidate(at(pay(11, Sale, "", "R2", "25.00", "GBP"), 72*time.Hour+time.Second))},
			matches: []wantMatch{{method: MethodReference, lines: []int{1}, pays: []int64{10}}},
			discs:   []wantDiscrepancy{{kind: UnmatchedLine, lines: []int{2}}},
		},

		// Rule 3: reference groups.
		{
			name:  "partial refunds settled as one line",
			lines: []Line{ln(1, Refund, "", "R1", "20.00", "GBP")},
			pays: []Payment{pay(10, Refund, "T10", "R1", "10.00", "GBP"), pay(11, Refund, "T11", "R1", "5.00", "GBP"),
				pay(12, Refund, "T12", "R1", "5.00", "GBP")},
			matches: []wantMatch{{method: MethodGroup, lines: []int{1}, pays: []int64{10, 11, 12}}},
		},
		{
			name:    "split capture by reference",
			lines:   []Line{ln(1, Sale, "", "R1", "10.00", "GBP"), ln(2, Sale, "", "R1", "20.00", "GBP")},
			pays:    []Payment{pay(10, Sale, "T1", "R1", "30.00", "GBP")},
			matches: []wantMatch{{method: MethodSplit, lines: []int{1, 2}, pays: []int64{10}}},
		},
		{
			name:  "reference group amount mismatch",
			lines: []Line{ln(1, Refund, "", "R1", "20.00", "GBP")},
			pays:  []Payment{pay(10, Refund, "", "R1", "10.00", "GBP"), pay(11, Refund, "", "R1", "5.00", "GBP")},
			discs: []wantDiscrepancy{{kind: AmountMismatch, lines: []int{1}, pays: []int64{10, 11}, expected: "15", actual: "20",
				says: []string{"Line 1 settles 20.00 GBP for reference R1", "payments 10 and 11 add up to 15.00 GBP", "difference 5.00"}}},
		},
		{
			name:    "a group leaves out payments outside the window",
			lines:   []Line{ln(1, Refund, "", "R1", "15.00", "GBP")},
			pays:    []Payment{pay(10, Refund, "", "R1", "10.00", "GBP"), pay(11, Refund, "", "R1", "5.00", "GBP"), at(pay(12, Refund, "", "R1", "5.00", "GBP"), 10*24*time.Hour)},
			matches: []wantMatch{{method: MethodGroup, lines: []int{1}, pays: []int64{10, 11}}},
			discs:   []wantDiscrepancy{{kind: UnmatchedPayment, pays: []int64{12}}},
		},

		// Rule 4: legs.
		{
			name:  "fee leg by transaction id does not consume the payment",
			lines: []Line{ln(1, Sale, "T1", "R1", "25.00", "GBP"), ln(2, Fee, "T1", "R1", "0.58", "GBP")},
			pays:  []Payment{pay(10, Sale, "T1", "R1", "25.00", "GBP")},
			matches: []wantMatch{
				{method: MethodGatewayID, lines: []int{1}, pays: []int64{10}},
				{method: MethodLeg, lines: []int{2}, pays: []int64{10}},
			},
		},
		{
			name:  "fee leg by reference",
			lines: []Line{ln(1, Sale, "", "R1", "25.00", "GBP"), ln(2, Fee, "", "R1", "0.58", "GBP")},
			pays:  []Payment{pay(10, Sale, "", "R1", "25.00", "GBP")},
			matches: []wantMatch{
				{method: MethodReference, lines: []int{1}, pays: []int64{10}},
				{method: MethodLeg, lines: []int{2}, pays: []int64{10}},
			},
		},
		{
			name:    "standalone fee",
			lines:   []Line{ln(1, Fee, "", "", "9.99", "GBP")},
			matches: []wantMatch{{method: MethodLeg, lines: []int{1}}},
		},
		{
			name:    "chargeback of an old sale",
			lines:   []Line{ln(1, Chargeback, "T1", "", "25.00", "GBP")},
			pays:    []Payment{candidate(at(pay(10, Sale, "T1", "R1", "25.00", "GBP"), 40*24*time.Hour))},
			matches: []wantMatch{{method: MethodLeg, lines: []int{1}, pays: []int64{10}}},
		},
		{
			name:    "chargeback naming no payment",
			lines:   []Line{ln(1, Chargeback, "T404", "R404", "25.00", "GBP")},
			matches: []wantMatch{{method: MethodLeg, lines: []int{1}, note: "Line 1 chargeback names transaction T404 and reference R404, which matches no payment"}},
		},
		{
			name:    "chargeback naming nothing",
			lines:   []Line{ln(1, Chargeback, "", "", "25.00", "GBP")},
			matches: []wantMatch{{method: MethodLeg, lines: []int{1}, note: "names no transaction or reference"}},
		},

		// Rule 5: leftovers.
		{
			name:  "unmatched line",
			lines: []Line{ln(7, Sale, "T5", "R5", "25.00", "GBP")},
			discs: []wantDiscrepancy{{kind: UnmatchedLine, lines: []int{7}, expected: "0", actual: "25",
				says: []string{"Line 7 settles a sale of 25.00 GBP (transaction T5 and reference R5), but no payment matches it"}}},
		},
		{
			name:  "adjustment is unmatched",
			lines: []Line{ln(1, Adjustment, "", "", "2.50", "GBP")},
			discs: []wantDiscrepancy{{kind: UnmatchedLine, lines: []int{1}, says: []string{"Line 1 settles an adjustment of 2.50 GBP (no transaction or reference)"}}},
		},
		{
			name:    "duplicate by reference",
			lines:   []Line{ln(1, Sale, "", "R1", "25.00", "GBP"), ln(2, Sale, "", "R1", "25.00", "GBP")},
			pays:    []Payment{pay(10, Sale, "", "R1", "25.00", "GBP")},
			matches: []wantMatch{{method: MethodReference, lines: []int{1}, pays: []int64{10}}},
			discs:   []wantDiscrepancy{{kind: DuplicateLine, lines: []int{1, 2}, says: []string{"Line 2 settles a sale of 25.00 GBP for reference R1 a second time"}}},
		},
		{
			name: "unexpected candidate payments are ignored",
			pays: []Payment{candidate(pay(10, Sale, "T1", "R1", "25.00", "GBP"))},
		},
		{
			name:  "unmatched payment",
			pays:  []Payment{pay(10, Refund, "T1", "R1", "25.00", "GBP")},
			discs: []wantDiscrepancy{{kind: UnmatchedPayment, pays: []int64{10}, says: []string{"Payment 10, a refund of 25.00 GBP", "transaction T1 and reference R1", "no line settles it"}}},
		},

		// Rule 6: totals.
		{
			name: "totals",
			lines: []Line{ln(1, Sale, "T1", "", "25.00", "GBP"), ln(2, Sale, "T2", "", "10.00", "GBP"),
				ln(3, Refund, "T3", "", "5.00", "GBP"), ln(4, Fee, "", "", "1.00", "GBP"), ln(5, Chargeback, "", "", "3.00", "GBP")},
			pays: []Payment{pay(10, Sale, "T1", "", "25.00", "GBP"), pay(11, Sale, "T2", "", "10.00", "GBP"),
				pay(12, Refund, "T3", "", "5.00", "GBP")},
			totals: []Totals{{Batch: "B1", Currency: "GBP", Sales: dec("35"), Refunds: dec("6"), Fees: dec("1"), Chargebacks: dec("99"),
				SalesCount: 3, HasSales: true, HasRefunds: true, HasFees: true}},
			matches: []wantMatch{
				{method: MethodGatewayID, lines: []int{1}, pays: []int64{10}},
				{method: MethodGatewayID, lines: []int{2}, pays: []int64{11}},
				{method: MethodGatewayID, lines: []int{3}, pays: []int64{12}},
				{method: MethodLeg, lines: []int{4}},
				{method: MethodLeg, lines: []int{5}, note: "chargeback of 3.00 GBP names no transaction or reference"},
			},
			discs: []wantDiscrepancy{
				{kind: TotalMismatch, expected: "6", actual: "5", says: []string{"Batch B1 reports refunds of 6.00 GBP, but its refund lines add up to 5.00 GBP", "difference -1.00"}},
				{kind: TotalMismatch, expected: "3", actual: "2", says: []string{"Batch B1 reports 3 sales in GBP, but it has 2 sale lines"}},
			},
		},
		{
			name:    "totals within tolerance",
			cfg:     cent,
			lines:   []Line{ln(1, Fee, "", "", "1.00", "GBP"), ln(2, Fee, "", "", "1.00", "EUR")},
			totals:  []Totals{{Batch: "B1", Currency: "GBP", Fees: dec("1.01"), HasFees: true}, {Batch: "B1", Currency: "EUR", Fees: dec("1.02"), HasFees: true}},
			matches: []wantMatch{{method: MethodLeg, lines: []int{1}}, {method: MethodLeg, lines: []int{2}}},
			discs: []wantDiscrepancy{{kind: TotalMismatch, expected: "1.02", actual: "1",
				says: []string{"Batch B1 reports fees of 1.02 EUR", "add up to 1.00 EUR", "tolerance 0.01"}}},
		},
		{
			name:   "totals of a batch without lines",
			totals: []Totals{{Batch: "B9", Currency: "GBP", Sales: dec("10"), HasSales: true, RefundCount: 1}},
			discs: []wantDiscrepancy{
				{kind: TotalMismatch, expected: "10", actual: "0", says: []string{"Batch B9 reports sales of 10.00 GBP"}},
				{kind: TotalMismatch, expected: "1", actual: "0", says: []string{"Batch B9 reports 1 refunds in GBP, but it has 0 refund lines"}},
			},
		},

		// Input that cannot be used.
		{
			name:  "amount not exact at 4 places",
			lines: []Line{ln(3, Sale, "T1", "R1", "25.00005", "GBP")},
			discs: []wantDiscrepancy{{kind: InvalidInput, lines: []int{3}, actual: "25.00005",
				says: []string{"Line 3 (sale, 25.00005 GBP) cannot be used: the amount is not exact at 4 decimal places"}}},
		},
		{
			name:  "negative amount and a payment kind that cannot be",
			lines: []Line{ln(1, Refund, "T1", "R1", "-5.00", "GBP")},
			pays:  []Payment{pay(10, Fee, "T2", "R2", "5.00", "GBP")},
			discs: []wantDiscrepancy{
				{kind: InvalidInput, pays: []int64{10}, says: []string{"Payment 10 (fee, 5.00 GBP) cannot be used: fee is not a valid kind for a payment"}},
				{kind: InvalidInput, lines: []int{1}, says: []string{"Line 1 (refund, -5.00 GBP)", "negative"}},
			},
		},
	}

	produced := map[DiscrepancyKind]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Reconcile(tt.lines, tt.pays, tt.totals, tt.cfg)
			checkMatches(t, r.Matches, tt.matches)
			checkDiscrepancies(t, r.Discrepancies, tt.discs)
			if r.Reconciled() != (len(tt.discs) == 0) {
				t.Errorf("Reconciled() = %v with %d discrepancies", r.Reconciled(), len(r.Discrepancies))
			}
			for _, d := range r.Discrepancies {
				produced[d.Kind] = true
			}
		})
	}
	for _, k := range DiscrepancyKinds() {
		if !produced[k] {
			t.Errorf("no test produces %s", k)
		}
	}
}

func checkMatches(t *testing.T, got []Match, want []wantMatch) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d matches, want %d: %+v", len(got), len(want), got)
		return
	}
	for i, w := range want {
		g := got[i]
		if g.Method != w.method || !slices.Equal(g.Lines, w.lines) || !slices.Equal(g.Payments, w.pays) {
			t.Errorf("match %d = %s lines %v payments %v, want %s lines %v payments %v",
				i, g.Method, g.Lines, g.Payments, w.method, w.lines, w.pays)
		}
		if w.diff != "" && !g.Difference.Equal(dec(w.diff)) {
			t.Errorf("match %d difference %s, want %s", i, g.Difference, w.diff)
		}
		if (w.note == "") != (g.Note == "") || !strings.Contains(g.Note, w.note) {
			t.Errorf("match %d note %q, want it to say %q", i, g.Note, w.note)
		}
	}
}

func checkDiscrepancies(t *testing.T, got []Discrepancy, want []wantDiscrepancy) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d discrepancies, want %d:\n%s", len(got), len(want), describe(got))
		return
	}
	for i, w := range want {
		g := got[i]
		if g.Kind != w.kind || !slices.Equal(g.Lines, w.lines) || !slices.Equal(g.Payments, w.pays) {
			t.Errorf("discrepancy %d = %s lines %v payments %v, want %s lines %v payments %v",
				i, g.Kind, g.Lines, g.Payments, w.kind, w.lines, w.pays)
		}
		if w.expected != "" && !g.Expected.Equal(dec(w.expected)) {
			t.Errorf("discrepancy %d expected %s, want %s", i, g.Expected, w.expected)
		}
		if w.actual != "" && !g.Actual.Equal(dec(w.actual)) {
			t.Errorf("discrepancy %d actual %s, want %s", i, g.Actual, w.actual)
		}
		for _, s := range w.says {
			if !strings.Contains(g.Explanation, s) {
				t.Errorf("discrepancy %d explanation %q does not say %q", i, g.Explanation, s)
			}
		}
		// Every explanation names its lines and payments.
		for _, n := range g.Lines {
			if !strings.Contains(g.Explanation, fmt.Sprint(n)) {
				t.Errorf("discrepancy %d explanation %q does not name line %d", i, g.Explanation, n)
			}
		}
		for _, id := range g.Payments {
			if !strings.Contains(g.Explanation, fmt.Sprint(id)) {
				t.Errorf("discrepancy %d explanation %q does not name payment %d", i, g.Explanation, id)
			}
		}
	}
}

func describe(ds []Discrepancy) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "  %s lines %v payments %v: %s\n", d.Kind, d.Lines, d.Payments, d.Explanation)
	}
	return b.String()
}

func TestResultCounts(t *testing.T) {
	lines := []Line{
		ln(1, Sale, "T1", "", "25.00", "GBP"), // matched
		ln(2, Fee, "T1", "", "0.50", "GBP"),   // leg: matched, consumes nothing
		ln(3, Sale, "T2", "", "9.00", "GBP"),  // amount mismatch with payment 11
		ln(4, Sale, "T9", "", "1.00", "GBP"),  // unmatched
	}
	pays := []Payment{
		pay(10, Sale, "T1", "", "25.00", "GBP"),
		pay(11, Sale, "T2", "", "10.00", "GBP"),
		pay(12, Sale, "T3", "", "10.00", "GBP"),            // unmatched
		candidate(pay(13, Sale, "T4", "", "10.00", "GBP")), // ignored
	}
	r := Reconcile(lines, pays, nil, Config{})
	if r.MatchedLines != 2 || r.UnmatchedLines != 2 || r.MatchedPayments != 1 || r.UnmatchedPayments != 2 {
		t.Errorf("matched lines %d, unmatched lines %d, matched payments %d, unmatched payments %d; want 2, 2, 1, 2",
			r.MatchedLines, r.UnmatchedLines, r.MatchedPayments, r.UnmatchedPayments)
	}
	want := map[DiscrepancyKind]int{AmountMismatch: 1, UnmatchedLine: 1, UnmatchedPayment: 1}
	for k, n := range r.Counts() {
		if n != want[k] {
			t.Errorf("%s: %d, want %d", k, n, want[k])
		}
	}
	gbp := r.Sums["GBP"]
	if gbp == nil || !gbp.Sales.Equal(dec("35")) || !gbp.Fees.Equal(dec("0.5")) || !gbp.Refunds.IsZero() {
		t.Errorf("GBP sums %+v, want sales 35.00 and fees 0.50", gbp)
	}
}

// TestDeterminism shuffles the input and expects the same Result, down to the order of matches
// and discrepancies and the words of every explanation.
func TestDeterminism(t *testing.T) {
	lines, pays, totals, _ := Generate(7, 5000, GenOptions{})
	want := Reconcile(lines, pays, totals, GenOptions{}.Config())
	for seed := range uint64(3) {
		rng := rand.New(rand.NewPCG(seed, seed))
		l, p, tt := slices.Clone(lines), slices.Clone(pays), slices.Clone(totals)
		rng.Shuffle(len(l), func(i, j int) { l[i], l[j] = l[j], l[i] })
		rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		rng.Shuffle(len(tt), func(i, j int) { tt[i], tt[j] = tt[j], tt[i] })
		got := Reconcile(l, p, tt, GenOptions{}.Config())
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffle %d: the result differs", seed)
		}
	}
}

func TestProgress(t *testing.T) {
	lines, pays, totals, _ := Generate(3, 20_000, GenOptions{})
	var calls, last, total int
	cfg := GenOptions{}.Config()
	cfg.Progress = func(done, n int) {
		if done < last || (total != 0 && n != total) {
			t.Fatalf("progress went from %d to %d of %d (total was %d)", last, done, n, total)
		}
		calls, last, total = calls+1, done, n
	}
	Reconcile(lines, pays, totals, cfg)
	if calls < 100 || calls > 210 || last != total || total == 0 {
		t.Errorf("%d progress calls, last %d of %d; want 100 to 210, ending at the total", calls, last, total)
	}

	calls = 0
	cfg.Progress = func(done, n int) { calls++; last, total = done, n }
	Reconcile(nil, nil, nil, cfg)
	if calls != 1 || last != 0 || total != 0 {
		t.Errorf("empty run: %d calls, last (%d, %d); want one call (0, 0)", calls, last, total)
	}
}

func TestKindString(t *testing.T) {
	for k := Sale; k <= Adjustment; k++ {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if s := Kind(0).String(); s != "kind(0)" {
		t.Errorf("Kind(0) = %q", s)
	}
	if _, err := ParseKind("capture"); err == nil {
		t.Error("ParseKind(capture) did not fail")
	}
	names := []string{Sale.String(), Refund.String(), Fee.String(), Chargeback.String(), Adjustment.String()}
	if !slices.Equal(names, []string{"sale", "refund", "fee", "chargeback", "adjustment"}) {
		t.Errorf("kind names %v", names)
	}
}
