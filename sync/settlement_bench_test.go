package sync

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	gosync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payhub/payhub/db/dbtest"
	"github.com/payhub/payhub/sync/reconcile"
)

// BenchmarkReconcileStoredDayMillion is the whole database path of a day's reconciliation: a
// batch of a million lines is stored (COPY), then read back with a million candidate payments,
// matched, and every line's outcome, match and discrepancy written. PAYHUB_BENCH_LINES sets the
// size. Run: go test -run '^$' -bench ReconcileStoredDayMillion -benchtime 1x -timeout 30m ./sync/
func BenchmarkReconcileStoredDayMillion(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("PAYHUB_BENCH_LINES"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	lines, payments, totals, _ := reconcile.Generate(7, n, reconcile.GenOptions{Batches: 1, Start: day.Add(20 * time.Hour), Candidates: -1})
	for b.Loop() {
		b.StopTimer()
		pool := dbtest.New(b)
		e, err := New(Config{Pool: pool})
		if err != nil {
			b.Fatal(err)
		}
		seen := map[string]bool{}
		rows := make([][]any, 0, len(payments))
		for _, p := range payments {
			id := p.GatewayTxnID
			if id == "" || seen[id] {
				id = fmt.Sprintf("%s#%d", id, p.ID)
			}
			seen[id] = true
			kind, status := "sale", "captured"
			if p.Kind == reconcile.Refund {
				kind, status = "refund", "refunded"
			}
			rows = append(rows, []any{"cybersource", id, p.Reference, kind, status, p.Amount, p.Currency, p.Date})
		}
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{"payments"}, []string{"gateway", "gateway_transaction_id",
			"merchant_reference", "kind", "status", "amount", "currency", "occurred_at"}, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		rows = nil
		imported := settlementDay{gateway: GatewayCybersource, day: day}
		byBatch := map[string]*importedBatch{}
		var order []string
		for _, l := range lines {
			ib := byBatch[l.Batch]
			if ib == nil {
				ib = &importedBatch{id: l.Batch}
				byBatch[l.Batch] = ib
				order = append(order, l.Batch)
			}
			ib.lines = append(ib.lines, l)
		}
		for _, t := range totals {
			if ib := byBatch[t.Batch]; ib != nil {
				ib.totals = append(ib.totals, t)
			}
		}
		for _, id := range order {
			imported.batches = append(imported.batches, *byBatch[id])
		}
		runtime.GC()
		peak := sampleHeap()
		b.StartTimer()

		start := time.Now()
		if _, err := e.storeDay(ctx, imported); err != nil {
			b.Fatal(err)
		}
		stored := time.Since(start)
		report, err := e.reconcileStoredDay(ctx, GatewayCybersource, day, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		maxHeap := peak()
		b.ReportMetric(stored.Seconds(), "store_s")
		b.ReportMetric(time.Since(start).Seconds()-stored.Seconds(), "match_and_record_s")
		b.ReportMetric(float64(maxHeap)/(1<<20), "peak_heap_MB")
		b.Logf("%d lines, %d payments, %d candidates, %d discrepancies, %d matched lines", report.Lines, len(payments),
			report.Payments, len(report.Discrepancies), report.Result.MatchedLines)
		b.StartTimer()
	}
}

// sampleHeap samples the heap in use every 10 ms until the returned function is called, which
// answers the largest value seen.
func sampleHeap() func() uint64 {
	var mu gosync.Mutex
	var max uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			mu.Lock()
			if m.HeapInuse > max {
				max = m.HeapInuse
			}
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		mu.Lock()
		defer mu.Unlock()
		return max
	}
}
