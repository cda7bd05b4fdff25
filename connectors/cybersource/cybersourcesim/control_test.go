package cybersourcesim

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestClockRunsAndAdvances(t *testing.T) {
	t.Parallel()
	c := NewClock(testStart)
	first := c.Now()
	if first.Before(testStart) || first.Sub(testStart) > time.Second {
		t.Fatalf("clock starts at %s", first)
	}
	time.Sleep(5 * time.Millisecond)
	if !c.Now().After(first) {
		t.Fatal("clock does not run")
	}
	c.Advance(24 * time.Hour)
	c.Advance(-time.Hour) // ignored
	if d := c.Now().Sub(testStart); d < 24*time.Hour || d > 24*time.Hour+time.Second {
		t.Fatalf("advanced clock at +%s", d)
	}
	if wall := NewClock(time.Time{}); time.Since(wall.Now()).Abs() > time.Second {
		t.Fatalf("zero start is not the wall clock: %s", wall.Now())
	}
}

func TestControlRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.pay(t, sale(paymentReq("ctl-1", "1.00", CardVisa)))

	st := b.control(t, http.MethodGet, "/_sim/state", "")
	var snap Snapshot
	if err := json.Unmarshal(st.raw, &snap); err != nil || len(snap.Transactions) != 1 || len(snap.Captures) != 1 || snap.MerchantID != DefaultMerchantID {
		t.Fatalf("/_sim/state: %v %s", err, st.raw)
	}
	cases := []struct {
		method, path, body string
		status             int
	}{
		{http.MethodPost, "/_sim/faults", `{"errorRate":2}`, 400},
		{http.MethodPost, "/_sim/faults", `{"errorRate":0.6,"timeoutRate":0.6}`, 400},
		{http.MethodPost, "/_sim/faults", `{"latencyMs":-1}`, 400},
		{http.MethodPost, "/_sim/faults", `not json`, 400},
		{http.MethodPost, "/_sim/faults", `{"errorRate":0.1,"timeoutRate":0.05,"latencyMs":5}`, 200},
		{http.MethodPost, "/_sim/clock", `{"advance":"-1h"}`, 400},
		{http.MethodPost, "/_sim/clock", `{"advance":"soon"}`, 400},
		{http.MethodPost, "/_sim/clock", `{"advance":"24h"}`, 200},
		{http.MethodGet, "/_sim/clock", ``, 200},
		{http.MethodPost, "/_sim/reviews/nope", `{"decision":"ACCEPT"}`, 404},
	}
	for _, c := range cases {
		if r := b.control(t, c.method, c.path, c.body); r.status != c.status {
			t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, r.status, r.raw)
		}
	}
	f := b.control(t, http.MethodGet, "/_sim/faults", "")
	if f.str("errorRate") != "0.1" || f.str("timeoutRate") != "0.05" || f.str("latencyMs") != "5" {
		t.Fatalf("faults: %s", f.raw)
	}
	if snap := b.sim.State(); len(snap.Batches) != 1 || !strings.HasPrefix(snap.Now.Format(time.DateOnly), "2026-04-11") {
		t.Fatalf("the clock advance did not settle: %+v", snap.Batches)
	}
	if r := b.do(t, http.MethodGet, "/pts/v2/nothing-here", nil); r.status != 404 || r.str("status") != "NOT_FOUND" {
		t.Fatalf("unknown route: %d %s", r.status, r.raw)
	}
}

func TestInjectedErrorsFailBeforeAnything(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Faults: Faults{ErrorRate: 1}})
	r := b.do(t, http.MethodPost, "/pts/v2/payments", paymentReq("fe-1", "1.00", CardVisa))
	if r.status != http.StatusBadGateway || r.str("status") != "SERVER_ERROR" || r.str("reason") != "SYSTEM_ERROR" {
		t.Fatalf("injected error: %d %s", r.status, r.raw)
	}
	if n := len(b.sim.State().Transactions); n != 0 {
		t.Fatalf("an injected error created %d transactions", n)
	}
	// Even an unsigned request gets the 502: the fault comes before authentication.
	resp, err := http.Post(b.http.URL+"/pts/v2/payments", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("unsigned request under errorRate 1: %d", resp.StatusCode)
	}
	b.sim.SetFaults(Faults{})
	b.pay(t, paymentReq("fe-1", "1.00", CardVisa))
}

func TestInjectedTimeoutsHangThenApply(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Faults: Faults{TimeoutRate: 1}, MaxHang: 10 * time.Second})
	client := &http.Client{Timeout: 200 * time.Millisecond}
	req, _ := http.NewRequest(http.MethodPost, b.http.URL+"/pts/v2/payments", strings.NewReader(mustJSON(t, paymentReq("ft-1", "1.00", CardVisa))))
	body := []byte(mustJSON(t, paymentReq("ft-1", "1.00", CardVisa)))
	signHTTP(req, body, DefaultMerchantID, DefaultKeyID, DefaultSecret, time.Now())
	start := time.Now()
	_, err := client.Do(req)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("expected a client timeout, got %v", err)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Fatal("the request did not hang")
	}
	snap := waitState(t, b.sim, func(s Snapshot) bool { return len(s.ByReference("ft-1")) == 1 })
	if snap.ByReference("ft-1")[0].Status != StatusAuthorized {
		t.Fatalf("the timed-out payment: %+v", snap.ByReference("ft-1")[0])
	}

	// A client that waits longer than MaxHang gets 502 SERVER_TIMEOUT, and the work is done.
	short := setup(t, Options{Faults: Faults{TimeoutRate: 1}, MaxHang: 50 * time.Millisecond})
	r := short.do(t, http.MethodPost, "/pts/v2/payments", paymentReq("ft-2", "1.00", CardVisa))
	if r.status != http.StatusBadGateway || r.str("reason") != "SERVER_TIMEOUT" || len(short.sim.State().ByReference("ft-2")) != 1 {
		t.Fatalf("after MaxHang: %d %s", r.status, r.raw)
	}
}

func TestLatencyIsAdded(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Latency: 30 * time.Millisecond, Faults: Faults{LatencyMs: 30}})
	start := time.Now()
	b.must(t, http.StatusNotFound, http.MethodGet, "/tss/v2/transactions/1", nil)
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Fatalf("answered after %s", d)
	}
}

func TestListenAndServeStopsWithItsContext(t *testing.T) {
	t.Parallel()
	sim := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sim.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/_sim/clock")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not stop")
	}
	if err := sim.ListenAndServe(context.Background(), "256.0.0.1:1"); err == nil {
		t.Fatal("ListenAndServe on a bad address succeeded")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
