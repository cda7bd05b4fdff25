package anomaly

import (
	"sync"
	"testing"
	"time"
)

var (
	benchOnce   sync.Once
	benchEvents []Event
)

// benchData is one synthesized stream (seed 1, default size), events only.
func benchData(b *testing.B) []Event {
	benchOnce.Do(func() {
		for _, l := range Synthesize(1, DefaultSynthOptions()) {
			benchEvents = append(benchEvents, l.Event)
		}
	})
	return benchEvents
}

// BenchmarkObserve feeds the synthesized stream to one detector from one goroutine. When b.N
// exceeds the stream, the stream is replayed shifted forward in time, so the detector keeps
// seeing fresh, ordered events (the replays look like a new month to it).
func BenchmarkObserve(b *testing.B) {
	events := benchData(b)
	span := events[len(events)-1].At.Sub(events[0].At) + time.Hour
	d := New(DefaultConfig())
	findings := 0
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		e := events[i%len(events)]
		if lap := i / len(events); lap > 0 {
			e.At = e.At.Add(time.Duration(lap) * span)
		}
		findings += len(d.Observe(e))
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(findings)/float64(b.N), "findings/event")
}

// BenchmarkObserveParallel shares one detector between GOMAXPROCS goroutines (b.RunParallel).
// Events arrive slightly out of order across goroutines, as they would from concurrent workers.
func BenchmarkObserveParallel(b *testing.B) {
	events := benchData(b)
	span := events[len(events)-1].At.Sub(events[0].At) + time.Hour
	d := New(DefaultConfig())
	var mu sync.Mutex
	next := 0
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			i := next
			next++
			mu.Unlock()
			e := events[i%len(events)]
			if lap := i / len(events); lap > 0 {
				e.At = e.At.Add(time.Duration(lap) * span)
			}
			d.Observe(e)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
