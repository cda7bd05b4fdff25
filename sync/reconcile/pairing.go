package reconcile

import (
	"cmp"
	"math"
	"slices"
)

// Rule 2 inside one (reference, currency, kind) bucket is a greedy over every (line, payment)
// pair whose amounts agree within tolerance and dates within the window: closest dates first,
// then the lowest payment id, then the lowest line number, skipping items already taken.
//
// Listing the pairs is quadratic in a bucket of look-alike items (a merchant sending one
// constant reference, a subscription of one amount), so the greedy runs lazily instead:
//
//   - the bucket's payments are sorted by amount, date and rank, so each amount is a run sorted by
//     date, and the runs within tolerance of a line's amount are a range of runs;
//   - lines of one amount and date are a group: they have the same candidates in the same order,
//     and take them in line order;
//   - a heap holds each group's best pair; union-find "next free" pointers skip taken payments, so
//     a group finds its nearest free payment in a run with two binary searches and two finds;
//   - a popped pair whose payment was taken meanwhile is recomputed and pushed back: the heap
//     holds lower bounds, so the pair popped with a free payment is the greedy's next pair.
//
// Recomputing is bounded (pickBudget per group, maxRuns runs per pick) so that adversarial
// input stays near-linear; a group out of budget leaves its lines to rule 3.

const (
	pickBudget = 64 // recomputations of a group's pair after its payment was taken
	maxRuns    = 64 // amounts examined per pick, the nearest to the group's amount
)

// pairing is rule 2's scratch, reused from bucket to bucket.
type pairing struct {
	pays        []int32 // the bucket's payments by amount, date, rank
	runs        []int32 // start of each run of one amount in pays, then len(pays)
	right, left []int32 // union-find: next free position at or after i / at or before i-1 (shifted by one)
	lines       []int32 // the bucket's lines by amount, date, rank
	groups      []lineGroup
	heap        []pick
}

type lineGroup struct {
	next, end int32 // lines[next:end] are the group's free lines
	rlo, rhi  int32 // runs[rlo:rhi] are the amounts within tolerance
	budget    int32
}

type pick struct {
	dist   uint64
	p, l   int32 // payment and line ranks
	pos, g int32 // position of p in pays; the group
}

func (a pick) less(b pick) bool {
	return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(a.p, b.p), cmp.Compare(a.l, b.l)) < 0
}

func (e *engine) pairByDate(lines, pays []int32) {
	s := &e.pair
	byAmountDate := func(amt func(int32) int64, date func(int32) int64) func(a, b int32) int {
		return func(a, b int32) int {
			return cmp.Or(cmp.Compare(amt(a), amt(b)), cmp.Compare(date(a), date(b)), cmp.Compare(a, b))
		}
	}
	pamt, pdate := func(p int32) int64 { return e.ps[p].amt }, func(p int32) int64 { return e.ps[p].date }
	lamt, ldate := func(l int32) int64 { return e.ls[l].amt }, func(l int32) int64 { return e.ls[l].date }

	s.pays = append(s.pays[:0], pays...)
	slices.SortFunc(s.pays, byAmountDate(pamt, pdate))
	n := int32(len(s.pays))
	s.runs = s.runs[:0]
	for i, p := range s.pays {
		if i == 0 || pamt(p) != pamt(s.pays[i-1]) {
			s.runs = append(s.runs, int32(i))
		}
	}
	s.runs = append(s.runs, n)
	s.right, s.left = slices.Grow(s.right[:0], int(n)+1), slices.Grow(s.left[:0], int(n)+1)
	for i := range n + 1 {
		s.right, s.left = append(s.right, i), append(s.left, i)
	}

	s.lines = append(s.lines[:0], lines...)
	slices.SortFunc(s.lines, byAmountDate(lamt, ldate))
	s.groups, s.heap = s.groups[:0], s.heap[:0]
	runAmt := func(k int32) int64 { return pamt(s.pays[s.runs[k]]) }
	nruns := int32(len(s.runs) - 1)
	for i := 0; i < len(s.lines); {
		l := s.lines[i]
		j := i + 1
		for j < len(s.lines) && lamt(s.lines[j]) == lamt(l) && ldate(s.lines[j]) == ldate(l) {
			j++
		}
		amt := lamt(l)
		g := lineGroup{next: int32(i), end: int32(j), budget: pickBudget,
			rlo: searchRuns(nruns, func(k int32) bool { return runAmt(k) >= amt-e.tol }),
			rhi: searchRuns(nruns, func(k int32) bool { return runAmt(k) > amt+e.tol })}
		if g.rhi-g.rlo > maxRuns {
			mid := searchRuns(nruns, func(k int32) bool { return runAmt(k) >= amt })
			g.rlo = max(g.rlo, mid-maxRuns/2)
			g.rhi = min(g.rhi, g.rlo+maxRuns)
		}
		s.groups = append(s.groups, g)
		e.pushPick(int32(len(s.groups) - 1))
		i = j
	}

	for len(s.heap) > 0 {
		c := s.popPick()
		g := &s.groups[c.g]
		if s.right[c.pos] != c.pos { // taken since this pick was made
			if g.budget > 0 {
				g.budget--
				e.pushPick(c.g)
			}
			continue
		}
		e.match(byReference, []int32{c.l}, []int32{c.p})
		s.right[c.pos], s.left[c.pos+1] = c.pos+1, c.pos
		g.next++
		e.pushPick(c.g)
	}
}

// pushPick pushes the best pair of group gi's next line, if it has one.
func (e *engine) pushPick(gi int32) {
	s := &e.pair
	g := &s.groups[gi]
	if g.next >= g.end {
		return
	}
	l := s.lines[g.next]
	date := e.ls[l].date
	best := pick{dist: math.MaxUint64, p: -1, l: l, g: gi}
	consider := func(pos int32) {
		p := s.pays[pos]
		d := dist(date, e.ps[p].date)
		if d <= e.window && (d < best.dist || (d == best.dist && p < best.p)) {
			best.dist, best.p, best.pos = d, p, pos
		}
	}
	for k := g.rlo; k < g.rhi; k++ {
		start, end := s.runs[k], s.runs[k+1]
		at := start + s.searchDate(e, start, end, date) // first position dated at or after the line
		if i := find(s.right, at); i < end {
			consider(i)
		}
		if i := find(s.left, at) - 1; i >= start {
			// The nearest earlier date; of its payments, the free one with the lowest rank.
			consider(find(s.right, start+s.searchDate(e, start, end, e.ps[s.pays[i]].date)))
		}
	}
	if best.p >= 0 {
		s.heap = append(s.heap, best)
		s.up(len(s.heap) - 1)
	}
}

// searchDate returns the offset in pays[start:end] of the first payment dated at or after date.
func (s *pairing) searchDate(e *engine, start, end int32, date int64) int32 {
	i, _ := slices.BinarySearchFunc(s.pays[start:end], date, func(p int32, d int64) int { return cmp.Compare(e.ps[p].date, d) })
	return int32(i)
}

func searchRuns(n int32, f func(int32) bool) int32 {
	lo, hi := int32(0), n
	for lo < hi {
		if m := int32(uint32(lo+hi) >> 1); !f(m) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// find follows next to the position that points to itself, compressing the path.
func find(next []int32, i int32) int32 {
	root := i
	for next[root] != root {
		root = next[root]
	}
	for next[i] != root {
		next[i], i = root, next[i]
	}
	return root
}

func (s *pairing) up(i int) {
	h := s.heap
	for i > 0 {
		parent := (i - 1) / 2
		if !h[i].less(h[parent]) {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (s *pairing) popPick() pick {
	h := s.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	s.heap = h[:last]
	h = s.heap
	for i := 0; ; {
		small, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h[l].less(h[small]) {
			small = l
		}
		if r < len(h) && h[r].less(h[small]) {
			small = r
		}
		if small == i {
			return top
		}
		h[i], h[small] = h[small], h[i]
		i = small
	}
}
