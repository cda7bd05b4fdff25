package reconcile

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// GenOptions tunes Generate. The zero value gives the defaults documented on each field.
type GenOptions struct {
	Batches    int       // settlement batches, one a day; default 2
	Currencies []string  // default GBP, EUR, USD
	Start      time.Time // settlement time of the first batch; default 2026-03-02 06:00 UTC
	// Candidates is the number of unexpected candidate payments (captured, settling in another
	// batch) per line; default 0.5, which with the other payments gives about one payment a line.
	// Negative means none.
	Candidates float64
	// DiscrepancyRate is the share of orders that carry one injected discrepancy; default 0.005.
	// Kinds are injected in turn, so every kind comes up once there are enough orders.
	DiscrepancyRate float64
	// TotalMismatches is the number of batch totals measures misreported; default 2.
	TotalMismatches int
	// Clean turns off every injected discrepancy: want is then all zeros.
	Clean bool
	// Tolerance is the Config tolerance the data and want are built for: default 0.01, below 1.00.
	// Exact builds for Tolerance zero instead.
	Tolerance decimal.Decimal
	Exact     bool
}

// Config is the Config that the counts Generate returns assume.
func (o GenOptions) Config() Config {
	return Config{Tolerance: o.withDefaults().Tolerance, DateWindow: DefaultDateWindow}
}

func (o GenOptions) withDefaults() GenOptions {
	if o.Batches <= 0 {
		o.Batches = 2
	}
	if len(o.Currencies) == 0 {
		o.Currencies = []string{"GBP", "EUR", "USD"}
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	}
	if o.Candidates == 0 {
		o.Candidates = 0.5
	}
	if o.DiscrepancyRate == 0 {
		o.DiscrepancyRate = 0.005
	}
	if o.TotalMismatches == 0 {
		o.TotalMismatches = 2
	}
	if o.Clean {
		o.DiscrepancyRate, o.TotalMismatches = -1, -1
	}
	switch {
	case o.Exact:
		o.Tolerance = decimal.Zero
	case o.Tolerance.IsZero():
		o.Tolerance = decimal.New(1, -2)
	}
	return o
}

// Generate makes a realistic, reproducible settlement of exactly n lines: mostly clean one to one
// sales with a fee line each, sales matched only by reference, split captures, refunds, partial
// refunds settled as one line, chargebacks (some naming no payment), standalone fees, unexpected
// candidate payments, and injected discrepancies of every kind. want is the exact number of
// discrepancies of each kind that Reconcile with opts.Config() reports.
func Generate(seed int64, n int, opts GenOptions) (lines []Line, payments []Payment, totals []Totals, want map[DiscrepancyKind]int) {
	o := opts.withDefaults()
	g := &gen{
		rng:     rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)),
		o:       o,
		tol:     toleranceUnits(o.Tolerance),
		lines:   make([]Line, 0, n),
		pays:    make([]Payment, 0, n/2+int(max(0, o.Candidates)*float64(n))+16),
		tallies: make(map[batchCur]*tally),
		want:    make(map[DiscrepancyKind]int),
	}
	if g.tol >= unitsOf(1) {
		panic("reconcile: Generate builds data for tolerances below 1.00")
	}
	for _, k := range DiscrepancyKinds() {
		g.want[k] = 0
	}
	for b := range o.Batches {
		quota := n / o.Batches
		if b < n%o.Batches {
			quota++
		}
		g.batch(b, quota)
	}
	if o.Candidates > 0 {
		for range int(math.Round(o.Candidates * float64(n))) {
			g.day = o.Start.AddDate(0, 0, g.rng.IntN(o.Batches))
			g.pay(Sale, g.txnID(), g.reference(), g.amount(), g.currency(), g.paidAt(), false)
		}
	}
	return g.lines, g.pays, g.totals(), g.want
}

type gen struct {
	rng *rand.Rand
	o   GenOptions
	tol int64

	lines []Line
	pays  []Payment

	batchID string
	day     time.Time
	number  int // last line number in the batch
	seq     int // makes transaction ids and references unique
	orders  int
	inject  int // injected discrepancies so far

	tallies map[batchCur]*tally // valid lines added up, for the batch totals
	want    map[DiscrepancyKind]int
}

// maxOrderLines is the most lines one order (clean or injected) makes.
const maxOrderLines = 4

func unitsOf(whole int64) int64 { return whole * pow10[-unitExp] }

func (g *gen) batch(b, quota int) {
	g.day = g.o.Start.AddDate(0, 0, b)
	g.batchID = "B" + g.day.Format("20060102")
	g.number = 0
	for end := len(g.lines) + quota; len(g.lines) < end; {
		if end-len(g.lines) < maxOrderLines {
			g.refund() // one line
			continue
		}
		g.orders++
		if g.injectNow() {
			g.injectOne()
			continue
		}
		switch x := g.rng.IntN(1000); {
		case x < 730:
			g.sale()
		case x < 810:
			g.referenceOnlySale()
		case x < 850:
			g.splitCapture()
		case x < 950:
			g.refund()
		case x < 980:
			g.partialRefunds()
		case x < 990:
			g.chargeback()
		default:
			g.line(Fee, "", "", unitsOf(1)+100*int64(g.rng.IntN(2000)), g.currency()) // e.g. a monthly fee
		}
	}
}

func (g *gen) injectNow() bool {
	if g.o.DiscrepancyRate < 0 {
		return false
	}
	// Early orders make sure every kind comes up even in a small run.
	return g.rng.Float64() < g.o.DiscrepancyRate || (g.inject < len(injected) && g.orders%16 == 0)
}

// ---------------------------------------------------------------------------------------------
// Clean orders.

func (g *gen) sale() {
	a, txn, ref, cur := g.amount(), g.txnID(), g.reference(), g.currency()
	g.pay(Sale, txn, ref, a, cur, g.paidAt(), true)
	settled := a
	if g.tol > 0 && g.rng.IntN(10) == 0 {
		settled += g.tol // a rounding difference within tolerance
	}
	g.line(Sale, txn, ref, settled, cur)
	g.line(Fee, txn, ref, fee(a), cur)
}

// referenceOnlySale is settled with the merchant reference only, as Opayo batches can be.
func (g *gen) referenceOnlySale() {
	a, ref, cur := g.amount(), g.reference(), g.currency()
	txn := g.txnID()
	if g.rng.IntN(2) == 0 {
		txn = ""
	}
	g.pay(Sale, txn, ref, a, cur, g.paidAt(), true)
	g.line(Sale, "", ref, a, cur)
	g.line(Fee, "", ref, fee(a), cur)
}

// splitCapture is one payment captured in two parts, each settled with its own fee.
func (g *gen) splitCapture() {
	a, txn, ref, cur := g.amount()+unitsOf(1), g.txnID(), g.reference(), g.currency()
	first := a / 200 * 100 // half, to the cent: the two lines are often identical
	if g.rng.IntN(2) == 0 {
		first = unitsOf(1) + 100*int64(g.rng.IntN(int((a-2*unitsOf(1))/100)+1))
	}
	g.pay(Sale, txn, ref, a, cur, g.paidAt(), true)
	for _, part := range [2]int64{first, a - first} {
		g.line(Sale, txn, ref, part, cur)
		g.line(Fee, txn, ref, fee(part), cur)
	}
}

func (g *gen) refund() {
	a, txn, ref, cur := g.amount(), g.txnID(), g.reference(), g.currency()
	g.pay(Refund, txn, ref, a, cur, g.paidAt(), true)
	g.line(Refund, txn, ref, a, cur)
}

// partialRefunds are two or three refunds of one order settled as one refund line.
func (g *gen) partialRefunds() {
	ref, cur := g.reference(), g.currency()
	var total int64
	for range 2 + g.rng.IntN(2) {
		part := unitsOf(1) + 100*int64(g.rng.IntN(9901))
		g.pay(Refund, g.txnID(), ref, part, cur, g.paidAt(), true)
		total += part
	}
	g.line(Refund, "", ref, total, cur)
}

// chargeback takes back an old sale (a candidate payment settled long ago), or names a
// transaction we do not know.
func (g *gen) chargeback() {
	a, txn, ref, cur := g.amount(), g.txnID(), g.reference(), g.currency()
	if g.rng.IntN(10) < 7 {
		g.pay(Sale, txn, ref, a, cur, g.day.AddDate(0, 0, -40), false)
		g.line(Chargeback, txn, ref, a, cur)
		return
	}
	g.line(Chargeback, txn, "", a, cur)
}

// ---------------------------------------------------------------------------------------------
// Injected discrepancies: each makes exactly one discrepancy of its kind and no other.

var injected = [...]DiscrepancyKind{UnmatchedLine, UnmatchedPayment, AmountMismatch, CurrencyMismatch,
	DuplicateLine, KindMismatch, InvalidInput}

func (g *gen) injectOne() {
	kind := injected[g.inject%len(injected)]
	g.inject++
	g.want[kind]++
	a, txn, ref, cur := g.amount(), g.txnID(), g.reference(), g.currency()
	off := g.tol + unitsOf(1) // beyond tolerance
	switch variant := g.rng.IntN(3); kind {
	case UnmatchedLine:
		switch variant {
		case 0: // names nothing we know
			g.line(Sale, txn, ref, a, cur)
		case 1:
			g.line(Adjustment, "", "", a, cur)
		default: // its payment is a candidate from outside the date window
			g.pay(Sale, txn, ref, a, cur, g.day.AddDate(0, 0, -10), false)
			g.line(Sale, "", ref, a, cur)
		}
	case UnmatchedPayment:
		g.pay([2]Kind{Sale, Refund}[variant%2], txn, ref, a, cur, g.paidAt(), true)
	case AmountMismatch:
		switch variant {
		case 0:
			g.pay(Sale, txn, ref, a, cur, g.paidAt(), true)
			g.line(Sale, txn, ref, a+off, cur)
			g.line(Fee, txn, ref, fee(a), cur)
		case 1: // a reference group
			g.pay(Sale, txn, ref, a, cur, g.paidAt(), true)
			g.line(Sale, "", ref, a+off, cur)
		default: // a split capture whose parts do not add up
			a += unitsOf(10)
			g.pay(Sale, txn, ref, a, cur, g.paidAt(), true)
			g.line(Sale, txn, ref, a/200*100, cur)
			g.line(Sale, txn, ref, a-a/200*100+off, cur)
		}
	case CurrencyMismatch:
		other := "CHF"
		if i := slices.Index(g.o.Currencies, cur); len(g.o.Currencies) > 1 {
			other = g.o.Currencies[(i+1)%len(g.o.Currencies)]
		}
		g.pay(Sale, txn, ref, a, cur, g.paidAt(), true)
		g.line(Sale, txn, ref, a, other)
	case DuplicateLine:
		if variant == 0 {
			g.pay(Sale, txn, ref, a, cur, g.paidAt(), true)
			g.line(Sale, txn, ref, a, cur)
			g.line(Sale, txn, ref, a, cur)
			g.line(Fee, txn, ref, fee(a), cur)
			return
		}
		g.pay(Sale, txn, ref, a, cur, g.paidAt(), true)
		g.line(Sale, "", ref, a, cur)
		g.line(Sale, "", ref, a, cur)
	case KindMismatch:
		if variant == 0 { // a refund line carrying the sale's transaction id
			g.pay(Sale, txn, ref, a, cur, g.paidAt(), true)
			g.line(Sale, txn, ref, a, cur)
			g.line(Refund, txn, ref, a/200*100, cur)
			return
		}
		g.pay(Sale, txn, ref, a, cur, g.day.AddDate(0, 0, -20), false)
		g.line(Refund, txn, ref, a, cur)
	case InvalidInput:
		switch variant {
		case 0: // not exact at 4 places
			g.badLine(Sale, txn, ref, decimal.New(a*10+5, unitExp-1), cur)
		case 1:
			g.badLine(Refund, txn, ref, decimal.New(-a, unitExp), cur)
		default:
			g.badPay(Sale, txn, ref, decimal.New(a*10+5, unitExp-1), cur, g.paidAt(), true)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Building blocks.

func (g *gen) pay(kind Kind, txn, ref string, amt int64, cur string, at time.Time, expected bool) {
	g.badPay(kind, txn, ref, decimal.New(amt, unitExp), cur, at, expected)
}

// badPay adds a payment whose amount may be invalid.
func (g *gen) badPay(kind Kind, txn, ref string, amt decimal.Decimal, cur string, at time.Time, expected bool) {
	g.pays = append(g.pays, Payment{ID: int64(len(g.pays) + 1), GatewayTxnID: txn, Reference: ref, Kind: kind,
		Amount: amt, Currency: cur, Date: at, Expected: expected})
}

// line adds a valid line, and counts it towards its batch totals.
func (g *gen) line(kind Kind, txn, ref string, amt int64, cur string) {
	g.badLine(kind, txn, ref, decimal.New(amt, unitExp), cur)
	k := batchCur{g.batchID, cur}
	t := g.tallies[k]
	if t == nil {
		t = new(tally)
		g.tallies[k] = t
	}
	t.sum[kind].add(amt)
	t.n[kind]++
}

// badLine adds a line without counting it towards the totals: Reconcile leaves invalid lines out.
func (g *gen) badLine(kind Kind, txn, ref string, amt decimal.Decimal, cur string) {
	g.number++
	g.lines = append(g.lines, Line{Number: g.number, Batch: g.batchID, Kind: kind, GatewayTxnID: txn,
		Reference: ref, Amount: amt, Currency: cur, Date: g.day})
}

// totals reports every batch and currency as the gateway would, then misreports some measures.
func (g *gen) totals() []Totals {
	out := make([]Totals, 0, len(g.tallies))
	for k, t := range g.tallies {
		out = append(out, Totals{Batch: k.batch, Currency: k.cur,
			Sales: t.sum[Sale].decimal(), Refunds: t.sum[Refund].decimal(), Fees: t.sum[Fee].decimal(),
			Chargebacks: t.sum[Chargeback].decimal(), SalesCount: t.n[Sale], RefundCount: t.n[Refund],
			HasSales: true, HasRefunds: true, HasFees: true, HasChargebacks: true})
	}
	slices.SortFunc(out, func(a, b Totals) int {
		return cmp.Or(cmp.Compare(a.Batch, b.Batch), cmp.Compare(a.Currency, b.Currency))
	})
	const measures = 6
	off := unitsDecimal(g.tol + unitsOf(1))
	for i := range min(max(0, g.o.TotalMismatches), measures*len(out)) {
		t := &out[i%len(out)]
		switch i / len(out) {
		case 0:
			t.Sales = t.Sales.Add(off)
		case 1:
			t.Refunds = t.Refunds.Add(off)
		case 2:
			t.Fees = t.Fees.Add(off)
		case 3:
			t.Chargebacks = t.Chargebacks.Add(off)
		case 4:
			t.SalesCount++
		case 5:
			t.RefundCount++
		}
		g.want[TotalMismatch]++
	}
	return out
}

// amount is 1.00 to 500.00, to the cent.
func (g *gen) amount() int64 { return unitsOf(1) + 100*int64(g.rng.IntN(49_901)) }

// fee is 1.5% to the cent plus 0.20.
func fee(a int64) int64 { return a*15/1000/100*100 + 2000 }

func (g *gen) currency() string { return g.o.Currencies[g.rng.IntN(len(g.o.Currencies))] }

// paidAt is when a payment settling in the current batch was captured: 1 to 40 hours before.
func (g *gen) paidAt() time.Time {
	return g.day.Add(-time.Hour - time.Duration(g.rng.Int64N(int64(39*time.Hour))))
}

func (g *gen) txnID() string {
	g.seq++
	return strconv.FormatInt(7_000_000_000_000_000+int64(g.seq)*7919%1_000_000_000_000_000, 10)
}

func (g *gen) reference() string {
	g.seq++
	return fmt.Sprintf("ORD-%08d", g.seq)
}
