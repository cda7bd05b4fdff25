package reconcile_test

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/payhub/payhub/sync/reconcile"
)

// BenchmarkReconcileMillion reconciles a generated settlement of a million lines against about
// a million payments (half expected, half unexpected candidates). PAYHUB_BENCH_LINES overrides
// the number of lines.
//
//	go test -run '^$' -bench ReconcileMillion -benchtime 1x ./sync/reconcile/
//
// Metrics, sampled from runtime/metrics every 10 ms during Reconcile:
//   - lines/s: lines reconciled per second.
//   - input_MB: live heap of the generated input before the run (heap objects after a GC).
//   - peak_heap_MB: the largest heap in use during the run (heap objects, live or not yet swept,
//     plus unused heap span space: what ReadMemStats calls HeapInuse), input included.
//   - peak_total_MB: the largest memory mapped by the Go runtime and not released to the OS
//     (heap, stacks, runtime metadata), input included: the process's resident size is close.
//   - alloc_MB: bytes allocated by the run.
func BenchmarkReconcileMillion(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("PAYHUB_BENCH_LINES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("PAYHUB_BENCH_LINES=%q: want a positive number", s)
		}
		n = v
	}
	opts := reconcile.GenOptions{}
	lines, payments, totals, want := reconcile.Generate(1, n, opts)
	cfg := opts.Config()
	b.Logf("%d lines, %d payments, %d totals", len(lines), len(payments), len(totals))

	var input, peakHeap, peakTotal, allocs uint64
	var elapsed time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		base := readMemory()
		b.StartTimer()

		stop, done := make(chan struct{}), make(chan memory)
		go sampleMemory(stop, done)
		start := time.Now()
		r := reconcile.Reconcile(lines, payments, totals, cfg)
		elapsed += time.Since(start)
		close(stop)
		peak := <-done

		b.StopTimer()
		end := readMemory()
		peakHeap, peakTotal = max(peakHeap, peak.heap, end.heap), max(peakTotal, peak.total, end.total)
		allocs += end.allocs - base.allocs
		input = max(input, base.heap)
		if got := r.Counts(); !equalCounts(got, want) {
			b.Fatalf("discrepancies %v, want %v", got, want)
		}
		runtime.KeepAlive(r)
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "lines/s")
	b.ReportMetric(float64(input)/(1<<20), "input_MB")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak_heap_MB")
	b.ReportMetric(float64(peakTotal)/(1<<20), "peak_total_MB")
	b.ReportMetric(float64(allocs)/float64(b.N)/(1<<20), "alloc_MB")
}

type memory struct{ heap, total, allocs uint64 }

var memoryMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/gc/heap/allocs:bytes",
}

func readMemory() memory {
	s := make([]metrics.Sample, len(memoryMetrics))
	for i, name := range memoryMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	v := func(i int) uint64 { return s[i].Value.Uint64() }
	return memory{heap: v(0) + v(1), total: v(2) - v(3), allocs: v(4)}
}

// sampleMemory reads memory every 10 ms until stop, then sends the peaks.
func sampleMemory(stop <-chan struct{}, done chan<- memory) {
	var peak memory
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		m := readMemory()
		peak.heap, peak.total = max(peak.heap, m.heap), max(peak.total, m.total)
		select {
		case <-stop:
			done <- peak
			return
		case <-t.C:
		}
	}
}

func equalCounts(got, want map[reconcile.DiscrepancyKind]int) bool {
	for _, k := range reconcile.DiscrepancyKinds() {
		if got[k] != want[k] {
			return false
		}
	}
	return true
}
