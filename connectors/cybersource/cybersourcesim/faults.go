package cybersourcesim

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Faults are injected failures, set by Options.Faults, SetFaults or POST /_sim/faults. Rates are
// probabilities per protocol request (0..1, summing to at most 1); the /_sim control routes are
// never faulted.
//
//   - ErrorRate: the request fails BEFORE anything is checked or applied, with 502
//     {"status":"SERVER_ERROR","reason":"SYSTEM_ERROR"}. Retrying is always safe.
//   - TimeoutRate: the request hangs until the client gives up (its connection closes) or
//     Options.MaxHang passes. Then the request IS applied, as a gateway that processed the payment
//     while the caller had already timed out: the client never sees the outcome (or, if it waited
//     MaxHang, sees 502 SERVER_TIMEOUT), and must find the result with a TSS search by
//     clientReferenceInformation.code, or undo it with a timeout void or reversal.
//   - LatencyMs is added to every protocol request, on top of Options.Latency.
type Faults struct {
	ErrorRate   float64 `json:"errorRate"`
	TimeoutRate float64 `json:"timeoutRate"`
	LatencyMs   int     `json:"latencyMs"`
}

// valid reports whether the rates are probabilities that sum to at most 1 and latency is not negative.
func (f Faults) valid() bool {
	ok := func(r float64) bool { return r >= 0 && r <= 1 }
	return ok(f.ErrorRate) && ok(f.TimeoutRate) && f.ErrorRate+f.TimeoutRate <= 1 && f.LatencyMs >= 0
}

// faultPlan is what happens to one request.
type faultPlan int

const (
	faultNone faultPlan = iota
	faultError
	faultTimeout
)

// faultInjector rolls the dice for each request, reproducibly for a given seed.
type faultInjector struct {
	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand
}

func newFaultInjector(f Faults, seed uint64) *faultInjector {
	return &faultInjector{faults: f, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (fi *faultInjector) set(f Faults) {
	fi.mu.Lock()
	fi.faults = f
	fi.mu.Unlock()
}

func (fi *faultInjector) get() Faults {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.faults
}

func (fi *faultInjector) plan() faultPlan {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := fi.faults
	if f.ErrorRate == 0 && f.TimeoutRate == 0 {
		return faultNone
	}
	r := fi.rng.Float64()
	switch {
	case r < f.ErrorRate:
		return faultError
	case r < f.ErrorRate+f.TimeoutRate:
		return faultTimeout
	}
	return faultNone
}

// sleepCtx waits d unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
