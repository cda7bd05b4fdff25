package opayosim

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Faults are injected failures, set by Options.Faults or POST /_sim/faults. Rates are probabilities
// per protocol request (0..1): Pi, Reporting and Server registration. The browser pages (card
// selection, the ACS) and the /_sim control routes are never faulted.
//
// Faults never corrupt state: a request either applies completely or not at all.
//   - ErrorRate: the request fails before anything is applied: Pi answers 500
//     {"errors":[{"code":9999,...}]}, Reporting <errorcode>0009</errorcode>, Server registration
//     Status=ERROR with 5003.
//   - TimeoutRate: the request hangs until the client gives up or MaxHang passes. Half of the
//     timeouts hang before applying (then answer Pi 408/9998 or the Reporting/Server error), half
//     after applying, like a gateway that takes the payment while the caller has already timed out.
type Faults struct {
	ErrorRate   float64 `json:"errorRate"`
	TimeoutRate float64 `json:"timeoutRate"`
	// LatencyMs is added to every protocol request, on top of Options.Latency.
	LatencyMs int `json:"latencyMs"`
}

// faultPlan is what happens to one request.
type faultPlan int

const (
	faultNone faultPlan = iota
	faultFailBefore
	faultHangBefore
	faultHangAfter
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

func (fi *faultInjector) plan() faultPlan {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f := fi.faults
	r := fi.rng.Float64()
	switch {
	case r < f.ErrorRate:
		return faultFailBefore
	case r < f.ErrorRate+f.TimeoutRate:
		if fi.rng.IntN(2) == 0 {
			return faultHangBefore
		}
		return faultHangAfter
	}
	return faultNone
}

// protocolKind says which wire protocol a path belongs to, so a fault is answered in its shape.
type protocolKind int

const (
	kindNone protocolKind = iota
	kindPi
	kindReporting
	kindServer
)

// writeFault answers an injected error in the protocol's own shape.
func (s *Server) writeFault(w http.ResponseWriter, kind protocolKind, timeout bool) {
	switch kind {
	case kindPi:
		if timeout {
			writePiErrors(w, http.StatusRequestTimeout, []piError{{Code: 9998, Description: piErrorText[9998]}})
			return
		}
		writePiErrors(w, http.StatusInternalServerError, []piError{{Code: 9999, Description: piErrorText[9999]}})
	case kindReporting:
		writeReporting(w, s.clock.Now(), reportingError("0009"))
	case kindServer:
		writeFormReply(w, [][2]string{
			{"VPSProtocol", ServerProtocolVersion},
			{"Status", "ERROR"},
			{"StatusDetail", "5003 : Internal server error."},
		})
	}
}

// hang holds the request until the client gives up or max passes. It reports whether the client
// is still there.
func hang(ctx context.Context, max time.Duration) bool {
	t := time.NewTimer(max)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
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

// bufferedResponse holds a handler's answer so that an injected "hang after applying" can withhold
// it while the state change has already happened.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedResponse() *bufferedResponse { return &bufferedResponse{header: http.Header{}} }

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) flushTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}
