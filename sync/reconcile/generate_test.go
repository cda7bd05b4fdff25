package reconcile

import (
	"reflect"
	"testing"
)

// TestGenerateWant reconciles generated settlements and expects exactly the discrepancies
// Generate says it injected, of every kind.
func TestGenerateWant(t *testing.T) {
	for _, tc := range []struct {
		seed int64
		opts GenOptions
	}{
		{1, GenOptions{}},
		{2, GenOptions{Batches: 5, Currencies: []string{"GBP"}, TotalMismatches: 9}},
		{3, GenOptions{Exact: true, DiscrepancyRate: 0.02}},
	} {
		const n = 20_000
		lines, pays, totals, want := Generate(tc.seed, n, tc.opts)
		if len(lines) != n {
			t.Errorf("seed %d: %d lines, want %d", tc.seed, len(lines), n)
		}
		r := Reconcile(lines, pays, totals, tc.opts.Config())
		got := r.Counts()
		for _, k := range DiscrepancyKinds() {
			if want[k] == 0 {
				t.Errorf("seed %d: Generate injected no %s", tc.seed, k)
			}
			if got[k] != want[k] {
				t.Errorf("seed %d: %d %s, want %d", tc.seed, got[k], k, want[k])
			}
		}
		if t.Failed() {
			t.Logf("discrepancies:\n%s", describe(r.Discrepancies))
			return
		}
		// The clean data exercises every method, and legs with notes.
		methods, notes := map[Method]int{}, 0
		for _, m := range r.Matches {
			methods[m.Method]++
			if m.Note != "" {
				notes++
			}
		}
		for _, m := range []Method{MethodGatewayID, MethodReference, MethodSplit, MethodGroup, MethodLeg} {
			if methods[m] == 0 {
				t.Errorf("seed %d: no %s match", tc.seed, m)
			}
		}
		if notes == 0 {
			t.Errorf("seed %d: no leg with a note", tc.seed)
		}
		if r.MatchedLines+r.UnmatchedLines != n || r.MatchedLines < n*9/10 {
			t.Errorf("seed %d: %d matched and %d unmatched lines of %d", tc.seed, r.MatchedLines, r.UnmatchedLines, n)
		}
	}
}

func TestGenerateClean(t *testing.T) {
	lines, pays, totals, want := Generate(4, 5_000, GenOptions{Clean: true})
	for k, n := range want {
		if n != 0 {
			t.Errorf("clean data wants %d %s", n, k)
		}
	}
	if r := Reconcile(lines, pays, totals, GenOptions{}.Config()); !r.Reconciled() {
		t.Errorf("clean data does not reconcile:\n%s", describe(r.Discrepancies))
	}
}

func TestGenerateIsReproducible(t *testing.T) {
	l1, p1, t1, w1 := Generate(5, 3_000, GenOptions{})
	l2, p2, t2, w2 := Generate(5, 3_000, GenOptions{})
	if !reflect.DeepEqual(l1, l2) || !reflect.DeepEqual(p1, p2) || !reflect.DeepEqual(t1, t2) || !reflect.DeepEqual(w1, w2) {
		t.Error("the same seed generated different data")
	}
	if l3, _, _, _ := Generate(6, 3_000, GenOptions{}); reflect.DeepEqual(l1, l3) {
		t.Error("another seed generated the same lines")
	}
}
