package reconcile

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// The engine never copies a Line or a Payment. It ranks them (lines by batch and number,
// payments by id, every other field breaking ties, so that input order cannot matter), keeps one
// compact record per item in rank order, and works on ranks: int32 indexes into those records.
// Groups of items (the lines of one transaction id, the items of one reference bucket) are
// linked lists threaded through the records' next fields, not slices, so indexing a million items
// allocates a few large arrays and two maps rather than millions of small objects.

// state is what the rules have done with a line or a payment.
type state uint8

const (
	free    state = iota // no rule has used it yet
	matched              // in a Match; for a payment, consumed by one
	settled              // accounted for by a discrepancy (amount, currency, kind, duplicate)
	invalid              // rejected on input: InvalidInput
)

// lrec is a line in the engine: 32 bytes, no pointers.
type lrec struct {
	amt  int64 // units of 0.0001
	date int64 // Unix nanoseconds, clamped to the int64 range
	src  int32 // index in the caller's lines
	next int32 // -1 ends a list; rule 1 links the lines of a transaction, rules 2–3 those of a bucket
	kind Kind
	st   state
}

// prec is a payment in the engine.
type prec struct {
	amt      int64
	date     int64
	src      int32
	next     int32 // rule 1: payments with the same transaction id; rules 2–3: a bucket's payments
	kind     Kind
	st       state
	expected bool
}

// mrec is a match: e.mlines[lo:hi] and e.mpays[plo:phi], both ascending.
type mrec struct {
	lo, hi, plo, phi int32
	diff             int64 // lines minus payments, in units
	note             int32 // index in e.notes; 0 is no note
	method           uint8 // index in methods
}

var methods = [...]Method{MethodGatewayID, MethodReference, MethodSplit, MethodGroup, MethodLeg}

const (
	byGatewayID uint8 = iota
	byReference
	bySplit
	byGroup
	byLeg
)

// drec is a discrepancy with its sort key.
type drec struct {
	d         Discrepancy
	line, pay int32 // first line and payment ranks; none sorts last
	kind      int   // position in DiscrepancyKinds
	sub       int   // orders discrepancies of one kind on the same items (totals)
}

const none = math.MaxInt32

type engine struct {
	lines    []Line
	payments []Payment
	tol      int64  // units
	window   uint64 // nanoseconds
	prog     progress

	ls []lrec // in rank order
	ps []prec

	byTxn map[string]int32 // gateway transaction id -> lowest-ranked payment; rules 1 and 4

	ms     []mrec
	mlines []int32
	mpays  []int32
	notes  []string
	ds     []drec
	sums   map[string]*Sums

	// scratch, reused per group
	bufL, bufP, kindL, kindP, curL []int32
	pair                           pairing
}

func newEngine(lines []Line, payments []Payment, cfg Config) *engine {
	if len(lines) >= none || len(payments) >= none {
		panic("reconcile: more than 2^31-1 lines or payments")
	}
	window := cfg.DateWindow
	if window <= 0 {
		window = DefaultDateWindow
	}
	e := &engine{
		lines:    lines,
		payments: payments,
		tol:      toleranceUnits(cfg.Tolerance),
		window:   uint64(window),
		notes:    []string{""},
	}
	nl, np := len(lines), len(payments)
	// Every line ends in at most one match, most in one: size the match arrays once.
	e.ms, e.mlines, e.mpays = make([]mrec, 0, nl), make([]int32, 0, nl), make([]int32, 0, nl)
	e.prog = progress{fn: cfg.Progress, total: 3*nl + 2*np}
	e.prog.step = max(1, e.prog.total/200)
	e.prog.next = e.prog.step
	return e
}

func (e *engine) line(r int32) *Line       { return &e.lines[e.ls[r].src] }
func (e *engine) payment(r int32) *Payment { return &e.payments[e.ps[r].src] }

// prepare validates and converts the input and ranks it.
func (e *engine) prepare() {
	lo := rankOrder(len(e.lines), func(a, b int32) int { return compareLines(&e.lines[a], &e.lines[b]) })
	e.ls = make([]lrec, len(lo))
	for r, i := range lo {
		e.prog.add(1)
		l := &e.lines[i]
		amt, ok := toUnits(l.Amount)
		e.ls[r] = lrec{amt: amt, date: unixNano(l.Date), src: i, next: -1, kind: l.Kind}
		if why := invalidReason("line", l.Kind.valid(), l.Kind, l.Amount, ok, amt); why != "" {
			e.ls[r].st = invalid
			rs := []int32{int32(r)}
			e.report(InvalidInput, rs, nil, decimal.Zero, l.Amount, fmt.Sprintf(
				"%s (%s, %s %s) cannot be used: %s. It was left out of matching, sums and totals.",
				capital(e.linesPhrase(rs)), l.Kind, money(l.Amount), l.Currency, why))
		}
	}
	po := rankOrder(len(e.payments), func(a, b int32) int { return comparePayments(&e.payments[a], &e.payments[b]) })
	e.ps = make([]prec, len(po))
	for r, i := range po {
		e.prog.add(1)
		p := &e.payments[i]
		amt, ok := toUnits(p.Amount)
		e.ps[r] = prec{amt: amt, date: unixNano(p.Date), src: i, next: -1, kind: p.Kind, expected: p.Expected}
		if why := invalidReason("payment", p.Kind == Sale || p.Kind == Refund, p.Kind, p.Amount, ok, amt); why != "" {
			e.ps[r].st = invalid
			ps := []int32{int32(r)}
			e.report(InvalidInput, nil, ps, decimal.Zero, p.Amount, fmt.Sprintf(
				"%s (%s, %s %s) cannot be used: %s. It was left out of matching.",
				capital(e.paysPhrase(ps)), p.Kind, money(p.Amount), p.Currency, why))
		}
	}
}

func invalidReason(what string, kindOK bool, k Kind, amount decimal.Decimal, exact bool, amt int64) string {
	switch {
	case !kindOK:
		return fmt.Sprintf("%s is not a valid kind for a %s", k, what)
	case !exact && amount.Round(-unitExp).Equal(amount):
		return "the amount is too large"
	case !exact:
		return "the amount is not exact at 4 decimal places"
	case amt < 0:
		return "the amount is negative, but amounts are magnitudes"
	}
	return ""
}

// rankOrder returns 0..n-1 sorted by cmp; input already in order (the usual case) is only checked.
func rankOrder(n int, cmp func(a, b int32) int) []int32 {
	o := make([]int32, n)
	for i := range o {
		o[i] = int32(i)
	}
	if !slices.IsSortedFunc(o, cmp) {
		slices.SortFunc(o, cmp)
	}
	return o
}

// compareLines orders lines by batch and number, then by every other field, so that two lines
// comparing equal are interchangeable and input order cannot change the result.
func compareLines(a, b *Line) int {
	if c := strings.Compare(a.Batch, b.Batch); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Number, b.Number); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	if c := strings.Compare(a.GatewayTxnID, b.GatewayTxnID); c != 0 {
		return c
	}
	if c := strings.Compare(a.Reference, b.Reference); c != 0 {
		return c
	}
	if c := strings.Compare(a.Currency, b.Currency); c != 0 {
		return c
	}
	if c := a.Date.Compare(b.Date); c != 0 {
		return c
	}
	return a.Amount.Cmp(b.Amount)
}

func comparePayments(a, b *Payment) int {
	if c := cmp.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Kind, b.Kind); c != 0 {
		return c
	}
	if c := strings.Compare(a.GatewayTxnID, b.GatewayTxnID); c != 0 {
		return c
	}
	if c := strings.Compare(a.Reference, b.Reference); c != 0 {
		return c
	}
	if c := strings.Compare(a.Currency, b.Currency); c != 0 {
		return c
	}
	if c := a.Date.Compare(b.Date); c != 0 {
		return c
	}
	if a.Expected != b.Expected {
		if a.Expected {
			return 1
		}
		return -1
	}
	return a.Amount.Cmp(b.Amount)
}

var minTime, maxTime = time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)

// unixNano is t.UnixNano clamped to the int64 range (years 1677 to 2262) instead of undefined.
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// dist is |a-b|, which always fits a uint64.
func dist(a, b int64) uint64 {
	if a > b {
		return uint64(a) - uint64(b)
	}
	return uint64(b) - uint64(a)
}

func (e *engine) amountsMatch(a, b int64) bool { return dist(a, b) <= uint64(e.tol) }

// ---------------------------------------------------------------------------------------------
// Rule 1: gateway transaction id.

func (e *engine) matchByTxnID() {
	e.byTxn = make(map[string]int32, len(e.ps))
	// Backwards, prepending: each list then runs in ascending rank from the head in the map.
	for r := len(e.ps) - 1; r >= 0; r-- {
		e.prog.add(1)
		p := &e.ps[r]
		txn := e.payments[p.src].GatewayTxnID
		if p.st == invalid || txn == "" {
			continue
		}
		if h, ok := e.byTxn[txn]; ok {
			p.next = h
		}
		e.byTxn[txn] = int32(r)
	}
	heads := make([]int32, len(e.ps)) // payment list head -> its lines
	for i := range heads {
		heads[i] = -1
	}
	for r := len(e.ls) - 1; r >= 0; r-- {
		e.prog.add(1)
		l := &e.ls[r]
		txn := e.lines[l.src].GatewayTxnID
		if l.st != free || l.kind.leg() || txn == "" {
			continue
		}
		if h, ok := e.byTxn[txn]; ok {
			l.next = heads[h]
			heads[h] = int32(r)
		}
	}
	for p, l := range heads {
		if l >= 0 {
			e.settleTxn(int32(p), l)
		}
	}
}

// settleTxn resolves the lines and payments sharing one transaction id.
func (e *engine) settleTxn(ph, lh int32) {
	pays := e.chainP(ph, e.bufP[:0])
	lines := e.chainL(lh, e.bufL[:0])
	e.bufP, e.bufL = pays, lines
	by := subject{"transaction", e.line(lines[0]).GatewayTxnID}
	for _, k := range [...]Kind{Sale, Refund} {
		e.kindL, e.kindP = e.ofKindL(lines, k, e.kindL[:0]), e.ofKindP(pays, k, e.kindP[:0])
		if len(e.kindL) > 0 && len(e.kindP) > 0 {
			e.settleSameKind(e.kindL, e.kindP, by)
		}
	}
	// Lines still free have a kind that no payment with this transaction id has.
	for _, l := range lines {
		if e.ls[l].st != free {
			continue
		}
		p := pays[0]
		ll, pp := e.line(l), e.payment(p)
		e.report(KindMismatch, []int32{l}, []int32{p}, unitsDecimal(e.ps[p].amt), unitsDecimal(e.ls[l].amt), fmt.Sprintf(
			"%s is %s %s of %s %s %s, but %s with that transaction is %s %s of %s %s.",
			capital(e.linesPhrase([]int32{l})), article(ll.Kind), ll.Kind, moneyUnits(e.ls[l].amt), ll.Currency, by,
			e.paysPhrase([]int32{p}), article(pp.Kind), pp.Kind, moneyUnits(e.ps[p].amt), pp.Currency))
		e.settleNamed(l, p)
	}
}

// settleNamed marks a line, and the payment a kind or currency mismatch named, as accounted for.
// The payment may still be matched by another line of its transaction afterwards.
func (e *engine) settleNamed(l, p int32) {
	e.ls[l].st = settled
	if e.ps[p].st == free {
		e.ps[p].st = settled
	}
}

// settleSameKind resolves lines and payments of one transaction id and one kind (rule 1).
func (e *engine) settleSameKind(lines, pays []int32, by subject) {
	same := e.curL[:0]
	for _, l := range lines {
		if e.payWithCurrency(pays, e.line(l).Currency) < 0 {
			e.currencyMismatch(l, pays[0], by)
			continue
		}
		same = append(same, l)
	}
	e.curL = same
	if len(same) == 0 {
		return
	}
	if len(pays) == 1 {
		// Split captures: the lines together settle the payment, identical lines included.
		if e.settles(same, pays, byGatewayID) {
			return
		}
		if len(same) > 1 {
			if same = e.dropDuplicates(same, pays, by); e.settles(same, pays, byGatewayID) {
				return
			}
		}
	}
	restL, restP, done := e.pairOneToOne(same, pays)
	switch {
	case len(restL) == 0:
		// Payments left over stay free for reference matching.
	case len(restP) == 0:
		e.amountMismatch(restL, pays, by, done)
	case !e.settles(restL, restP, byGatewayID):
		e.amountMismatch(restL, restP, by, nil)
	}
}

// settles matches lines to payments when they are in one currency and add up within tolerance.
func (e *engine) settles(lines, pays []int32, oneToOne uint8) bool {
	cur := e.payment(pays[0]).Currency
	for _, p := range pays {
		if e.payment(p).Currency != cur {
			return false
		}
	}
	for _, l := range lines {
		if e.line(l).Currency != cur {
			return false
		}
	}
	if !e.sumL(lines).sub(e.sumP(pays)).within(e.tol) {
		return false
	}
	e.match(groupMethod(len(lines), len(pays), oneToOne), lines, pays)
	return true
}

// pairOneToOne matches each line, in order, to the first payment left of its currency and
// amount. It returns the lines and payments left, and the lines it matched.
func (e *engine) pairOneToOne(lines, pays []int32) (restL, restP, done []int32) {
	if len(lines)*len(pays) > 1<<16 { // a pathological id shared by thousands: report, do not search
		return slices.Clone(lines), slices.Clone(pays), nil
	}
	used := make([]bool, len(pays))
	for _, l := range lines {
		j := -1
		for i, p := range pays {
			if !used[i] && e.amountsMatch(e.ls[l].amt, e.ps[p].amt) && e.line(l).Currency == e.payment(p).Currency {
				j = i
				break
			}
		}
		if j < 0 {
			restL = append(restL, l)
			continue
		}
		used[j] = true
		done = append(done, l)
		e.match(byGatewayID, []int32{l}, []int32{pays[j]})
	}
	for i, p := range pays {
		if !used[i] {
			restP = append(restP, p)
		}
	}
	return restL, restP, done
}

func (e *engine) payWithCurrency(pays []int32, cur string) int {
	for i, p := range pays {
		if e.payment(p).Currency == cur {
			return i
		}
	}
	return -1
}

func (e *engine) currencyMismatch(l, p int32, by subject) {
	ll, pp := e.line(l), e.payment(p)
	e.report(CurrencyMismatch, []int32{l}, []int32{p}, unitsDecimal(e.ps[p].amt), unitsDecimal(e.ls[l].amt), fmt.Sprintf(
		"%s settles %s %s %s, but %s with that transaction is in %s (%s %s).",
		capital(e.linesPhrase([]int32{l})), moneyUnits(e.ls[l].amt), ll.Currency, by,
		e.paysPhrase([]int32{p}), pp.Currency, moneyUnits(e.ps[p].amt), pp.Currency))
	e.settleNamed(l, p)
}

// dropDuplicates reports every line identical (kind, transaction, reference, currency, amount)
// to an earlier one and returns the others, ascending.
func (e *engine) dropDuplicates(lines, pays []int32, by subject) []int32 {
	sorted := slices.Clone(lines)
	slices.SortFunc(sorted, func(a, b int32) int {
		if c := e.compareIdentity(a, b); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	distinct := make([]int32, 0, len(lines))
	for i, l := range sorted {
		orig := l
		for j := i - 1; j >= 0 && e.compareIdentity(sorted[j], l) == 0; j-- {
			orig = sorted[j]
		}
		if orig == l {
			distinct = append(distinct, l)
			continue
		}
		e.duplicate(l, orig, pays, by)
	}
	slices.Sort(distinct)
	return distinct
}

// compareIdentity compares what makes two lines the same settlement: all but batch, number, date.
func (e *engine) compareIdentity(a, b int32) int {
	la, lb := e.line(a), e.line(b)
	if c := cmp.Compare(e.ls[a].amt, e.ls[b].amt); c != 0 {
		return c
	}
	if c := cmp.Compare(la.Kind, lb.Kind); c != 0 {
		return c
	}
	if c := strings.Compare(la.GatewayTxnID, lb.GatewayTxnID); c != 0 {
		return c
	}
	if c := strings.Compare(la.Reference, lb.Reference); c != 0 {
		return c
	}
	return strings.Compare(la.Currency, lb.Currency)
}

func (e *engine) duplicate(dup, orig int32, pays []int32, by subject) {
	l := e.line(dup)
	amt := e.ls[dup].amt
	both := wideOf(amt)
	both.add(amt)
	against := ""
	if len(pays) > 0 {
		against = " against " + e.paysPhrase(pays)
	}
	e.report(DuplicateLine, []int32{orig, dup}, pays, unitsDecimal(amt), both.decimal(), fmt.Sprintf(
		"%s settles %s %s of %s %s %s a second time: %s already settled it%s.",
		capital(e.linesPhrase([]int32{dup})), article(l.Kind), l.Kind, moneyUnits(amt), l.Currency, by,
		e.linesPhrase([]int32{orig}), against))
	e.ls[dup].st = settled
}

// amountMismatch reports lines whose amounts do not add up to the payments'. When settledBy is
// set, the payments are already matched to those lines and the lines are a further settlement.
func (e *engine) amountMismatch(lines, pays []int32, by subject, settledBy []int32) {
	sumL, sumP := e.sumL(lines), e.sumP(pays)
	total := sumL
	if settledBy != nil {
		total = e.sumL(slices.Concat(settledBy, lines))
	}
	cur := e.line(lines[0]).Currency
	diff := total.sub(sumP).decimal()
	var what string
	if settledBy != nil {
		what = fmt.Sprintf("%s %s a further %s %s %s, but %s (%s %s) %s already settled in full by %s",
			capital(e.linesPhrase(lines)), verb(len(lines), "settles", "settle"), money(sumL.decimal()), cur, by,
			e.paysPhrase(pays), money(sumP.decimal()), e.payment(pays[0]).Currency, verb(len(pays), "is", "are"),
			e.linesPhrase(settledBy))
	} else {
		what = fmt.Sprintf("%s %s %s %s%s %s, but %s %s %s %s",
			capital(e.linesPhrase(lines)), verb(len(lines), "settles", "settle"), money(sumL.decimal()), cur,
			verb(len(lines), "", " in total"), by, e.paysPhrase(pays), verb(len(pays), "is", "add up to"),
			money(sumP.decimal()), e.payment(pays[0]).Currency)
	}
	e.report(AmountMismatch, lines, pays, sumP.decimal(), total.decimal(),
		fmt.Sprintf("%s (difference %s, %s).", what, money(diff), e.tolerancePhrase()))
	for _, l := range lines {
		e.ls[l].st = settled
	}
	for _, p := range pays {
		if e.ps[p].st == free {
			e.ps[p].st = settled
		}
	}
}

func (e *engine) tolerancePhrase() string {
	if e.tol == 0 {
		return "no tolerance"
	}
	return "tolerance " + moneyUnits(e.tol)
}

// ---------------------------------------------------------------------------------------------
// Rules 2 and 3: merchant reference, currency and kind.

type bucketKey struct {
	ref, cur string
	kind     Kind
}

type bucket struct{ lh, lt, ph, pt int32 }

func (e *engine) matchByRef() {
	idx := make(map[bucketKey]int32)
	var buckets []bucket
	for r := range e.ls {
		l := &e.ls[r]
		src := &e.lines[l.src]
		if l.st != free || (l.kind != Sale && l.kind != Refund) || src.Reference == "" {
			continue
		}
		k := bucketKey{src.Reference, src.Currency, l.kind}
		b, ok := idx[k]
		if !ok {
			b = int32(len(buckets))
			buckets = append(buckets, bucket{-1, -1, -1, -1})
			idx[k] = b
		}
		l.next = -1
		if t := buckets[b].lt; t >= 0 {
			e.ls[t].next = int32(r)
		} else {
			buckets[b].lh = int32(r)
		}
		buckets[b].lt = int32(r)
	}
	if len(buckets) == 0 {
		return
	}
	for r := range e.ps {
		p := &e.ps[r]
		src := &e.payments[p.src]
		if p.st != free || src.Reference == "" {
			continue
		}
		b, ok := idx[bucketKey{src.Reference, src.Currency, p.kind}]
		if !ok {
			continue
		}
		p.next = -1
		if t := buckets[b].pt; t >= 0 {
			e.ps[t].next = int32(r)
		} else {
			buckets[b].ph = int32(r)
		}
		buckets[b].pt = int32(r)
	}
	for _, b := range buckets {
		if b.ph >= 0 {
			e.settleBucket(b)
		}
	}
}

func (e *engine) settleBucket(b bucket) {
	lines := e.chainL(b.lh, e.bufL[:0])
	pays := e.chainP(b.ph, e.bufP[:0])
	e.bufL, e.bufP = lines, pays
	if len(lines) > 1 || len(pays) > 1 {
		e.pairByDate(lines, pays)
	}
	// Rule 3: what is left of the bucket, lines against payments dated within the window of them.
	// For a lone line and payment, the usual bucket, this is rule 2 and settles with "reference".
	restL := e.kindL[:0]
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, l := range lines {
		if e.ls[l].st == free {
			restL = append(restL, l)
			lo, hi = min(lo, e.ls[l].date), max(hi, e.ls[l].date)
		}
	}
	e.kindL = restL
	if len(restL) == 0 {
		return
	}
	restP := e.kindP[:0]
	for _, p := range pays {
		d := e.ps[p].date
		if e.ps[p].st == free && (d >= lo || dist(lo, d) <= e.window) && (d <= hi || dist(d, hi) <= e.window) {
			restP = append(restP, p)
		}
	}
	e.kindP = restP
	if len(restP) == 0 {
		return
	}
	if !e.settles(restL, restP, byReference) {
		e.amountMismatch(restL, restP, subject{"reference", e.line(restL[0]).Reference}, nil)
	}
}

// ---------------------------------------------------------------------------------------------
// Rule 4: fee and chargeback legs.

func (e *engine) matchLegs() {
	var byRef []int32 // legs to look up by reference
	for r := range e.ls {
		l := &e.ls[r]
		if l.st != free || !l.kind.leg() {
			continue
		}
		if p, ok := e.byTxn[e.lines[l.src].GatewayTxnID]; ok {
			e.leg(int32(r), p)
			continue
		}
		if e.lines[l.src].Reference != "" {
			byRef = append(byRef, int32(r))
			continue
		}
		e.leg(int32(r), -1)
	}
	e.byTxn = nil // rule 1 and the legs were its only users
	if len(byRef) == 0 {
		return
	}
	// Only the references the legs ask for are indexed: the first (lowest id) valid payment of each.
	first := make(map[string]int32, len(byRef))
	for _, r := range byRef {
		first[e.line(r).Reference] = -1
	}
	for r := range e.ps {
		if e.ps[r].st == invalid {
			continue
		}
		ref := e.payments[e.ps[r].src].Reference
		if p, ok := first[ref]; ok && p < 0 {
			first[ref] = int32(r)
		}
	}
	for _, r := range byRef {
		e.leg(r, first[e.line(r).Reference])
	}
}

// leg records a fee or chargeback line, tied to payment p when p >= 0.
func (e *engine) leg(r, p int32) {
	var pays []int32
	note := ""
	l := e.line(r)
	if p >= 0 {
		pays = []int32{p}
	} else if names := namesOf(l.GatewayTxnID, l.Reference); names != "" {
		note = fmt.Sprintf("%s %s names %s, which matches no payment.", capital(e.linesPhrase([]int32{r})), l.Kind, names)
	} else if l.Kind == Chargeback {
		note = fmt.Sprintf("%s chargeback of %s %s names no transaction or reference.",
			capital(e.linesPhrase([]int32{r})), moneyUnits(e.ls[r].amt), l.Currency)
	}
	e.addMatch(byLeg, []int32{r}, pays, 0, note)
}

func namesOf(txn, ref string) string {
	switch {
	case txn != "" && ref != "":
		return "transaction " + txn + " and reference " + ref
	case txn != "":
		return "transaction " + txn
	case ref != "":
		return "reference " + ref
	}
	return ""
}

// ---------------------------------------------------------------------------------------------
// Rule 5: what is left.

type identity struct {
	txn, ref, cur string
	kind          Kind
	amt           int64
}

func (e *engine) identityOf(r int32) identity {
	l := e.line(r)
	return identity{l.GatewayTxnID, l.Reference, l.Currency, l.Kind, e.ls[r].amt}
}

func (e *engine) reportLeft() {
	// A leftover line identical to an earlier line is a duplicate; others are unmatched.
	var left []int32
	first := make(map[identity]int32)
	for r := range e.ls {
		l := &e.ls[r]
		if l.st == free && !l.kind.leg() {
			left = append(left, int32(r))
			if src := &e.lines[l.src]; src.GatewayTxnID != "" || src.Reference != "" {
				first[e.identityOf(int32(r))] = int32(r)
			}
		}
	}
	if len(first) > 0 {
		for r := range e.ls {
			if e.ls[r].st == invalid || e.ls[r].kind.leg() {
				continue
			}
			id := e.identityOf(int32(r))
			if f, ok := first[id]; ok && int32(r) < f {
				first[id] = int32(r)
			}
		}
	}
	for _, r := range left {
		l := e.line(r)
		if orig, ok := first[e.identityOf(r)]; ok && orig < r {
			e.duplicate(r, orig, nil, forWhat(l.GatewayTxnID, l.Reference))
			continue
		}
		what := namesOf(l.GatewayTxnID, l.Reference)
		if what == "" {
			what = "no transaction or reference"
		}
		e.report(UnmatchedLine, []int32{r}, nil, decimal.Zero, unitsDecimal(e.ls[r].amt), fmt.Sprintf(
			"%s settles %s %s of %s %s (%s), but no payment matches it.",
			capital(e.linesPhrase([]int32{r})), article(l.Kind), l.Kind, moneyUnits(e.ls[r].amt), l.Currency, what))
	}
	for r := range e.ps {
		p := &e.ps[r]
		if p.st != free || !p.expected {
			continue
		}
		src := &e.payments[p.src]
		what := namesOf(src.GatewayTxnID, src.Reference)
		if what == "" {
			what = "no transaction or reference"
		}
		ps := []int32{int32(r)}
		e.report(UnmatchedPayment, nil, ps, unitsDecimal(p.amt), decimal.Zero, fmt.Sprintf(
			"%s, %s %s of %s %s on %s (%s), was expected in this settlement, but no line settles it.",
			capital(e.paysPhrase(ps)), article(p.kind), p.kind, moneyUnits(p.amt), src.Currency,
			src.Date.Format("2006-01-02"), what))
	}
}

// subject is what the items of a group share, for explanations: "for transaction 123".
// It is only turned into a string when a discrepancy needs it.
type subject struct{ what, id string }

func (s subject) String() string { return "for " + s.what + " " + s.id }

func forWhat(txn, ref string) subject {
	if txn != "" {
		return subject{"transaction", txn}
	}
	return subject{"reference", ref}
}

// ---------------------------------------------------------------------------------------------
// Rule 6 and the sums.

type batchCur struct{ batch, cur string }

type tally struct {
	sum [Adjustment + 1]wide
	n   [Adjustment + 1]int
}

func (e *engine) total(totals []Totals) {
	tallies := make(map[batchCur]*tally)
	var last batchCur
	var t *tally
	for r := range e.ls {
		e.prog.add(1)
		l := &e.ls[r]
		if l.st == invalid {
			continue
		}
		src := &e.lines[l.src]
		if t == nil || src.Batch != last.batch || src.Currency != last.cur {
			last = batchCur{src.Batch, src.Currency}
			if t = tallies[last]; t == nil {
				t = new(tally)
				tallies[last] = t
			}
		}
		t.sum[l.kind].add(l.amt)
		t.n[l.kind]++
	}

	byCur := make(map[string]*tally)
	for k, t := range tallies {
		c := byCur[k.cur]
		if c == nil {
			c = new(tally)
			byCur[k.cur] = c
		}
		for kind := Sale; kind <= Adjustment; kind++ {
			c.sum[kind] = c.sum[kind].plus(t.sum[kind])
		}
	}
	e.sums = make(map[string]*Sums, len(byCur))
	for cur, c := range byCur {
		e.sums[cur] = &Sums{Sales: c.sum[Sale].decimal(), Refunds: c.sum[Refund].decimal(), Fees: c.sum[Fee].decimal(),
			Chargebacks: c.sum[Chargeback].decimal(), Adjustments: c.sum[Adjustment].decimal()}
	}

	sorted := slices.Clone(totals)
	slices.SortStableFunc(sorted, func(a, b Totals) int {
		return cmp.Or(strings.Compare(a.Batch, b.Batch), strings.Compare(a.Currency, b.Currency))
	})
	tol := unitsDecimal(e.tol)
	for i, want := range sorted {
		got := tallies[batchCur{want.Batch, want.Currency}]
		if got == nil {
			got = new(tally)
		}
		for j, m := range measures(&want) {
			var reported, summed decimal.Decimal
			var differs bool
			var text string
			if m.count {
				n := got.n[m.kind]
				reported, summed = decimal.NewFromInt(int64(m.reportedN)), decimal.NewFromInt(int64(n))
				differs = m.reportedN > 0 && m.reportedN != n
				text = fmt.Sprintf("Batch %s reports %d %s in %s, but it has %d %s %s.",
					want.Batch, m.reportedN, m.name, want.Currency, n, m.kind, verb(n, "line", "lines"))
			} else {
				reported, summed = m.reported, got.sum[m.kind].decimal()
				diff := summed.Sub(reported)
				differs = m.has && diff.Abs().GreaterThan(tol)
				text = fmt.Sprintf("Batch %s reports %s of %s %s, but its %s lines add up to %s %s (difference %s, %s).",
					want.Batch, m.name, money(reported), want.Currency, m.kind, money(summed), want.Currency,
					money(diff), e.tolerancePhrase())
			}
			if !differs {
				continue
			}
			e.ds = append(e.ds, drec{
				d: Discrepancy{Kind: TotalMismatch, Batch: want.Batch, Currency: want.Currency, Expected: reported,
					Actual: summed, Measure: m.measure, Explanation: text},
				line: none, pay: none, kind: slices.Index(DiscrepancyKinds(), TotalMismatch), sub: i*8 + j,
			})
		}
	}
}

type measure struct {
	measure, name string
	kind          Kind
	count, has    bool
	reported      decimal.Decimal
	reportedN     int
}

func measures(t *Totals) []measure {
	return []measure{
		{measure: "sales", name: "sales", kind: Sale, has: t.HasSales, reported: t.Sales},
		{measure: "refunds", name: "refunds", kind: Refund, has: t.HasRefunds, reported: t.Refunds},
		{measure: "fees", name: "fees", kind: Fee, has: t.HasFees, reported: t.Fees},
		{measure: "chargebacks", name: "chargebacks", kind: Chargeback, has: t.HasChargebacks, reported: t.Chargebacks},
		{measure: "sales_count", name: "sales", kind: Sale, count: true, reportedN: t.SalesCount},
		{measure: "refund_count", name: "refunds", kind: Refund, count: true, reportedN: t.RefundCount},
	}
}

// ---------------------------------------------------------------------------------------------
// Building blocks.

func (e *engine) chainL(h int32, buf []int32) []int32 {
	for r := h; r >= 0; r = e.ls[r].next {
		buf = append(buf, r)
	}
	return buf
}

func (e *engine) chainP(h int32, buf []int32) []int32 {
	for r := h; r >= 0; r = e.ps[r].next {
		buf = append(buf, r)
	}
	return buf
}

func (e *engine) ofKindL(lines []int32, k Kind, buf []int32) []int32 {
	for _, l := range lines {
		if e.ls[l].kind == k {
			buf = append(buf, l)
		}
	}
	return buf
}

func (e *engine) ofKindP(pays []int32, k Kind, buf []int32) []int32 {
	for _, p := range pays {
		if e.ps[p].kind == k {
			buf = append(buf, p)
		}
	}
	return buf
}

func (e *engine) sumL(lines []int32) wide {
	var s wide
	for _, l := range lines {
		s.add(e.ls[l].amt)
	}
	return s
}

func (e *engine) sumP(pays []int32) wide {
	var s wide
	for _, p := range pays {
		s.add(e.ps[p].amt)
	}
	return s
}

// groupMethod names a match of nl lines and np payments: one to one keeps the rule's method.
func groupMethod(nl, np int, oneToOne uint8) uint8 {
	switch {
	case np > 1:
		return byGroup
	case nl > 1:
		return bySplit
	}
	return oneToOne
}

// match records lines settling payments; the difference is within tolerance, so it fits int64.
func (e *engine) match(method uint8, lines, pays []int32) {
	diff, _ := e.sumL(lines).sub(e.sumP(pays)).int64()
	e.addMatch(method, lines, pays, diff, "")
	for _, p := range pays {
		e.ps[p].st = matched
	}
}

func (e *engine) addMatch(method uint8, lines, pays []int32, diff int64, note string) {
	m := mrec{lo: int32(len(e.mlines)), plo: int32(len(e.mpays)), diff: diff, method: method}
	e.mlines = append(e.mlines, lines...)
	e.mpays = append(e.mpays, pays...)
	m.hi, m.phi = int32(len(e.mlines)), int32(len(e.mpays))
	if note != "" {
		m.note = int32(len(e.notes))
		e.notes = append(e.notes, note)
	}
	e.ms = append(e.ms, m)
	for _, l := range lines {
		e.ls[l].st = matched
	}
}

// report records a discrepancy about lines and payments (ranks, ascending).
func (e *engine) report(kind DiscrepancyKind, lines, pays []int32, expected, actual decimal.Decimal, explanation string) {
	d := Discrepancy{Kind: kind, Expected: expected, Actual: actual, Explanation: explanation}
	rec := drec{line: none, pay: none, kind: slices.Index(DiscrepancyKinds(), kind)}
	if len(lines) > 0 {
		l := e.line(lines[0])
		d.Batch, d.Currency, d.Reference, d.GatewayTxnID = l.Batch, l.Currency, l.Reference, l.GatewayTxnID
		d.Lines = make([]int, len(lines))
		for i, r := range lines {
			d.Lines[i] = e.line(r).Number
		}
		rec.line = lines[0]
	}
	if len(pays) > 0 {
		p := e.payment(pays[0])
		d.Currency = cmp.Or(d.Currency, p.Currency)
		d.Reference = cmp.Or(d.Reference, p.Reference)
		d.GatewayTxnID = cmp.Or(d.GatewayTxnID, p.GatewayTxnID)
		d.Payments = make([]int64, len(pays))
		for i, r := range pays {
			d.Payments[i] = e.payment(r).ID
		}
		rec.pay = pays[0]
	}
	rec.d = d
	e.ds = append(e.ds, rec)
}

func (e *engine) result() Result {
	r := Result{Sums: e.sums, MatchedLines: len(e.mlines), UnmatchedLines: len(e.ls) - len(e.mlines)}
	for _, p := range e.ps {
		if p.st == matched {
			r.MatchedPayments++
		} else if p.expected {
			r.UnmatchedPayments++
		}
	}

	// Every line is in at most one match, so ordering matches by their first line is a walk over
	// the lines; all the matches' numbers and ids share two backing arrays.
	first := make([]int32, len(e.ls))
	for i := range first {
		first[i] = -1
	}
	for i, m := range e.ms {
		first[e.mlines[m.lo]] = int32(i)
	}
	numbers := make([]int, len(e.mlines))
	ids := make([]int64, len(e.mpays))
	r.Matches = make([]Match, 0, len(e.ms))
	nn, ni := 0, 0
	for _, i := range first {
		if i < 0 {
			continue
		}
		m := &e.ms[i]
		out := Match{Method: methods[m.method], Batch: e.line(e.mlines[m.lo]).Batch,
			Difference: unitsDecimal(m.diff), Note: e.notes[m.note]}
		for _, l := range e.mlines[m.lo:m.hi] {
			numbers[nn] = e.line(l).Number
			nn++
		}
		out.Lines = numbers[nn-int(m.hi-m.lo) : nn : nn]
		if m.phi > m.plo {
			for _, p := range e.mpays[m.plo:m.phi] {
				ids[ni] = e.payment(p).ID
				ni++
			}
			out.Payments = ids[ni-int(m.phi-m.plo) : ni : ni]
		}
		r.Matches = append(r.Matches, out)
	}

	slices.SortFunc(e.ds, func(a, b drec) int {
		return cmp.Or(strings.Compare(a.d.Batch, b.d.Batch), cmp.Compare(a.line, b.line), cmp.Compare(a.pay, b.pay),
			cmp.Compare(a.kind, b.kind), cmp.Compare(a.sub, b.sub))
	})
	r.Discrepancies = make([]Discrepancy, len(e.ds))
	for i := range e.ds {
		r.Discrepancies[i] = e.ds[i].d
	}
	e.prog.finish()
	return r
}

// ---------------------------------------------------------------------------------------------
// Words.

// maxNamed is how many lines or payments an explanation lists before saying "and N more".
const maxNamed = 10

func (e *engine) linesPhrase(rs []int32) string {
	batch := e.line(rs[0]).Batch
	return listPhrase("line", "lines", len(rs), func(i int) string {
		l := e.line(rs[i])
		if l.Batch != batch {
			return fmt.Sprintf("%d (batch %s)", l.Number, l.Batch)
		}
		return fmt.Sprint(l.Number)
	})
}

func (e *engine) paysPhrase(ps []int32) string {
	return listPhrase("payment", "payments", len(ps), func(i int) string { return fmt.Sprint(e.payment(ps[i]).ID) })
}

// listPhrase gives "line 4", "lines 4 and 5", "lines 4, 5 and 9", "lines 4, 5, ... and 3 more".
func listPhrase(one, many string, n int, name func(int) string) string {
	if n == 1 {
		return one + " " + name(0)
	}
	names := make([]string, 0, min(n, maxNamed))
	for i := range min(n, maxNamed) {
		names = append(names, name(i))
	}
	if n > maxNamed {
		return fmt.Sprintf("%s %s and %d more", many, strings.Join(names, ", "), n-maxNamed)
	}
	return many + " " + strings.Join(names[:n-1], ", ") + " and " + names[n-1]
}

func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func article(k Kind) string {
	if k == Adjustment {
		return "an"
	}
	return "a"
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// progress calls Config.Progress about every total/200 units of work.
type progress struct {
	fn                func(done, total int)
	total, done, next int
	step              int
}

func (p *progress) add(n int) {
	if p.fn == nil {
		return
	}
	p.done += n
	if p.done >= p.next && p.done < p.total {
		p.fn(p.done, p.total)
		p.next = p.done + p.step
	}
}

func (p *progress) finish() {
	if p.fn != nil {
		p.fn(p.total, p.total)
	}
}
