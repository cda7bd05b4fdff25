package sysprosim

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Faults are injected failures, set by Options.Faults or POST /_sim/faults. Rates are probabilities
// per protocol request (0..1); the control routes are never faulted.
//
// Faults never corrupt state: a request either applies completely or not at all. What varies is
// whether the client learns the outcome:
//   - ErrorRate: the request fails BEFORE anything is applied.
//   - TimeoutRate: the request hangs until the client gives up (its context ends) or MaxHang
//     passes. Half of the timeouts hang before applying, half after applying, like a slow SYSPRO
//     that commits while the caller has already timed out.
//   - LostResponseRate: the request is applied, then the response is lost (an error instead).
//
// A failure is, with equal odds, the "ERROR: ..." text of a real SYSPRO server fault, an HTTP 500
// WCF fault, or a connection closed without a response.
type Faults struct {
	ErrorRate        float64 `json:"errorRate"`
	TimeoutRate      float64 `json:"timeoutRate"`
	LostResponseRate float64 `json:"lostResponseRate"`
	// LatencyMs is added to every protocol request, on top of Options.Latency.
	LatencyMs int `json:"latencyMs"`
}

// FaultErrorText is the "ERROR: " body an injected error returns: a real transient SYSPRO server
// fault (recordings/syspro/logoff_error-1-logoff.response.txt).
const FaultErrorText = "ERROR: Unable to read the SYSPRO base directory registry string BaseDir8"

// MaxHangDefault bounds how long an injected timeout holds a request when the client never gives up.
const MaxHangDefault = 2 * time.Minute

// faultPlan is what happens to one request.
type faultPlan int

const (
	faultNone faultPlan = iota
	faultFailBefore
	faultHangBefore
	faultHangAfter
	faultFailAfter
)

// faultInjector rolls the dice for each request.
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

// plan picks this request's fate and, for failures, the failure kind (0 ERROR text, 1 HTTP 500,
// 2 closed connection).
func (fi *faultInjector) plan() (faultPlan, int) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := fi.faults
	r := fi.rng.Float64()
	kind := fi.rng.IntN(3)
	switch {
	case r < f.ErrorRate:
		return faultFailBefore, kind
	case r < f.ErrorRate+f.TimeoutRate:
		if fi.rng.IntN(2) == 0 {
			return faultHangBefore, kind
		}
		return faultHangAfter, kind
	case r < f.ErrorRate+f.TimeoutRate+f.LostResponseRate:
		return faultFailAfter, kind
	}
	return faultNone, kind
}

// writeFailure sends an injected failure of the given kind.
func writeFailure(w http.ResponseWriter, kind int) {
	switch kind {
	case 0:
		writeText(w, FaultErrorText)
	case 1:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<html><body>Request Error: The server encountered an error processing the request.</body></html>"))
	default:
		// Aborting the handler makes net/http close the connection without a response.
		panic(http.ErrAbortHandler)
	}
}

// hang holds the request until the client gives up or max passes.
func hang(ctx context.Context, max time.Duration) {
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
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
