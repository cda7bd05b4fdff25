package reconcile

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// TestPairByDateIsTheGreedy compares rule 2 with the definition it implements: list every pair
// within tolerance and window, sort by date distance, payment id, line number, take greedily.
// Small amounts and dates make ties common.
func TestPairByDateIsTheGreedy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 5000 {
		tol := rng.Int64N(3)
		window := time.Duration(1+rng.IntN(6)) * time.Hour
		var lines []Line
		var pays []Payment
		for i := range 1 + rng.IntN(12) {
			lines = append(lines, Line{Number: i + 1, Kind: Sale, Reference: "R", Currency: "GBP",
				Amount: decimal.New(1000+rng.Int64N(4), unitExp), Date: settlementDay.Add(time.Duration(rng.IntN(9)-4) * time.Hour)})
		}
		for i := range 1 + rng.IntN(12) {
			pays = append(pays, Payment{ID: int64(i + 1), Kind: Sale, Reference: "R", Currency: "GBP",
				Amount: decimal.New(1000+rng.Int64N(4), unitExp), Date: settlementDay.Add(time.Duration(rng.IntN(9)-4) * time.Hour)})
		}
		e := newEngine(lines, pays, Config{Tolerance: decimal.New(tol, unitExp), DateWindow: window})
		e.prepare()
		ranks := func(n int) []int32 {
			r := make([]int32, n)
			for i := range r {
				r[i] = int32(i)
			}
			return r
		}
		e.pairByDate(ranks(len(lines)), ranks(len(pays)))
		var got []string
		for _, m := range e.ms {
			got = append(got, fmt.Sprintf("line %d-payment %d", lines[e.mlines[m.lo]].Number, pays[e.mpays[m.plo]].ID))
		}
		if want := greedy(lines, pays, tol, window); !slices.Equal(got, want) {
			t.Fatalf("case %d (tolerance %d units, window %s):\nlines %v\npayments %v\ngot  %v\nwant %v",
				iter, tol, window, brief(lines), briefP(pays), got, want)
		}
	}
}

func greedy(lines []Line, pays []Payment, tol int64, window time.Duration) []string {
	type pair struct {
		d    time.Duration
		p, l int
	}
	var pairs []pair
	for l := range lines {
		for p := range pays {
			d := lines[l].Date.Sub(pays[p].Date).Abs()
			diff := lines[l].Amount.Sub(pays[p].Amount).Abs()
			if d <= window && diff.LessThanOrEqual(decimal.New(tol, unitExp)) {
				pairs = append(pairs, pair{d, p, l})
			}
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.p, b.p), cmp.Compare(a.l, b.l))
	})
	usedL, usedP := map[int]bool{}, map[int]bool{}
	var out []string
	for _, c := range pairs {
		if !usedL[c.l] && !usedP[c.p] {
			usedL[c.l], usedP[c.p] = true, true
			out = append(out, fmt.Sprintf("line %d-payment %d", lines[c.l].Number, pays[c.p].ID))
		}
	}
	return out
}

func brief(ls []Line) (s []string) {
	for _, l := range ls {
		s = append(s, fmt.Sprintf("%d:%s@%s", l.Number, l.Amount, l.Date.Sub(settlementDay)))
	}
	return s
}

func briefP(ps []Payment) (s []string) {
	for _, p := range ps {
		s = append(s, fmt.Sprintf("%d:%s@%s", p.ID, p.Amount, p.Date.Sub(settlementDay)))
	}
	return s
}

// TestLargeReferenceBuckets: a merchant sending one constant reference, with lines carrying no
// transaction id, still gets one to one matches, and a bucket of identical items stays linear.
func TestLargeReferenceBuckets(t *testing.T) {
	const n = 20_000
	for _, identical := range []bool{false, true} {
		lines, pays := make([]Line, n), make([]Payment, n)
		for i := range n {
			amt, at := decimal.New(int64(10_000+i*7919%49_000*200), unitExp), settlementDay.Add(-time.Duration(i%40)*time.Hour)
			if identical {
				amt, at = decimal.New(999, -2), settlementDay
			}
			lines[i] = Line{Number: i + 1, Batch: "B1", Kind: Sale, Reference: "WEB", Amount: amt, Currency: "GBP", Date: settlementDay}
			pays[i] = Payment{ID: int64(i + 1), Kind: Sale, Reference: "WEB", Amount: amt, Currency: "GBP", Date: at, Expected: true}
		}
		start := time.Now()
		r := Reconcile(lines, pays, nil, cent)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("identical %v: %s for %d lines", identical, took, n)
		}
		if !r.Reconciled() || len(r.Matches) != n {
			t.Fatalf("identical %v: %d matches, %d discrepancies; want %d reference matches", identical, len(r.Matches), len(r.Discrepancies), n)
		}
		for _, m := range r.Matches {
			if m.Method != MethodReference || int64(m.Lines[0]) != m.Payments[0] {
				t.Fatalf("identical %v: match %+v, want line n with payment n by reference", identical, m)
			}
		}
	}
}
