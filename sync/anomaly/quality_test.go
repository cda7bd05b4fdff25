package anomaly

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestDetectorQualityOnLabelledData runs the default detector over two synthetic months (seeds 1
// and 2, default size) and requires precision and recall of at least 0.9 for every kind, with
// the units Evaluate documents. It logs the table, the labelled events missed by scenario, and a
// few false positives of each kind, so a failure says what went wrong.
func TestDetectorQualityOnLabelledData(t *testing.T) {
	opts := DefaultSynthOptions()
	if testing.Short() {
		opts.Events, opts.Customers = 80_000, 1500
	}
	for _, seed := range []int64{1, 2} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			events := Synthesize(seed, opts)
			checkSynthetic(t, events, opts)

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			d := New(DefaultConfig())
			start := time.Now()
			q, dets := evaluate(d, events)
			elapsed := time.Since(start)
			runtime.GC()
			runtime.ReadMemStats(&after)
			t.Logf("%d events in %v; detector state %+v, live heap %.1f MB after the run (events included)",
				len(events), elapsed.Round(time.Millisecond), d.Sizes(), float64(after.HeapAlloc)/1e6)

			t.Logf("%-24s %5s %5s %5s %8s %6s %9s %6s", "kind", "TP", "FP", "FN", "labelled", "found", "precision", "recall")
			for _, k := range Kinds() {
				x := q[k]
				t.Logf("%-24s %5d %5d %5d %8d %6d %9.3f %6.3f", k, x.TP, x.FP, x.FN, x.Labelled, x.Found, x.Precision, x.Recall)
			}
			logDiagnostics(t, events, dets)
			for _, k := range Kinds() {
				if x := q[k]; x.Precision < 0.9 || x.Recall < 0.9 {
					t.Errorf("%s: precision %.3f, recall %.3f; want both ≥ 0.9", k, x.Precision, x.Recall)
				}
			}
		})
	}
}

// TestQualityGateCanFail shows that the quality measurement discriminates: a detector with the
// learning taken out (a global amount threshold, velocity without learned baselines, no
// minimum ratio) fails it.
func TestQualityGateCanFail(t *testing.T) {
	opts := DefaultSynthOptions()
	opts.Events, opts.Customers = 60_000, 1000
	events := Synthesize(7, opts)
	cfg := DefaultConfig()
	// Judge every customer against a crude, global notion of "big": one scale for everybody,
	// no shrinkage towards what was learned and no minimum ratio.
	cfg.CustomerPriorScale, cfg.CustomerPriorWeight, cfg.CustomerZ, cfg.CustomerMinRatio = 1e-9, 1e-9, 2, 1e-9
	cfg.Card.Count, cfg.Email.Count, cfg.IP.Count = 3, 3, 3
	q := Evaluate(New(cfg), events)
	failed := 0
	for _, k := range []Kind{AmountOutlierCustomer, CardVelocity, EmailVelocity, IPVelocity} {
		x := q[k]
		t.Logf("%-24s precision %.3f recall %.3f", k, x.Precision, x.Recall)
		if x.Precision < 0.9 || x.Recall < 0.9 {
			failed++
		}
	}
	if failed != 4 {
		t.Errorf("%d of 4 crippled rules fail the gate, want all", failed)
	}
}

// checkSynthetic holds the generator to its promises.
func checkSynthetic(t *testing.T, events []Labelled, opts SynthOptions) {
	t.Helper()
	incidents := map[Kind]map[int]bool{}
	refs := map[Ref]bool{}
	var last time.Time
	for i, l := range events {
		r := RefOf(l.Event)
		if refs[r] {
			t.Fatalf("event %d: %v is not unique", i, r)
		}
		refs[r] = true
		if l.Event.At.Before(last) {
			t.Fatalf("event %d is out of order", i)
		}
		last = l.Event.At
		if l.Warmup && len(l.Labels) > 0 {
			t.Fatalf("warm-up event %d is labelled", i)
		}
		for _, k := range l.Labels {
			if incidents[k] == nil {
				incidents[k] = map[int]bool{}
			}
			incidents[k][l.Incident] = true
		}
	}
	want := 100
	if testing.Short() {
		want = opts.PerKind * 9 / 10
	}
	for _, k := range Kinds() {
		if n := len(incidents[k]); n < want {
			t.Errorf("%s: %d incidents injected, want at least %d", k, n, want)
		}
	}
}

func logDiagnostics(t *testing.T, events []Labelled, dets []*detection) {
	t.Helper()
	byRef := make(map[Ref]Labelled, len(events))
	for _, l := range events {
		byRef[RefOf(l.Event)] = l
	}
	found := map[Kind]map[Ref]bool{}
	shown := map[Kind]int{}
	for _, det := range dets {
		tp := false
		for r := range det.involved {
			if found[det.kind] == nil {
				found[det.kind] = map[Ref]bool{}
			}
			found[det.kind][r] = true
			tp = tp || hasKind(byRef[r].Labels, det.kind)
		}
		if !tp && shown[det.kind] < 2 {
			shown[det.kind]++
			var why []string
			for r := range det.involved {
				if s := byRef[r].Scenario; s != "" {
					why = append(why, s)
				}
			}
			sort.Strings(why)
			t.Logf("FP %s: %s [involves injected: %s]", det.kind, det.first.Explanation, strings.Join(why, ","))
		}
	}
	missed := map[string]int{}
	for _, l := range events {
		for _, k := range l.Labels {
			if !found[k][RefOf(l.Event)] {
				missed[string(k)+" in "+l.Scenario]++
			}
		}
	}
	keys := make([]string, 0, len(missed))
	for k := range missed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("missed: %d labels of %s", missed[k], k)
	}
}
