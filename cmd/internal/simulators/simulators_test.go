package simulators

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBaseURLCanBeCalled(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:9103": "http://127.0.0.1:9103",
		"0.0.0.0:9103":   "http://127.0.0.1:9103",
		"[::]:9103":      "http://127.0.0.1:9103",
		"[::1]:9103":     "http://[::1]:9103",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := BaseURL(a); got != want {
			t.Errorf("BaseURL(%s) = %s, want %s", addr, got, want)
		}
	}
}

func TestStartBindsFreePortsAndServesUntilTheContextEnds(t *testing.T) {
	set, err := Start(Options{SysproAddr: "127.0.0.1:0", OpayoAddr: "127.0.0.1:0", CybersourceAddr: "127.0.0.1:0",
		Credentials: DefaultCredentials()})
	if err != nil {
		t.Fatal(err)
	}
	var banner strings.Builder
	set.Banner(&banner)
	for _, u := range []string{set.SysproRestURL(), set.OpayoPiURL(), set.CybersourceURL(), set.SysproURL() + "/_sim/state"} {
		if !strings.Contains(banner.String(), u) || strings.HasSuffix(u, ":0") {
			t.Errorf("banner lacks %s:\n%s", u, banner.String())
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- set.Serve(ctx) }()
	for _, base := range []string{set.SysproURL(), set.OpayoURL(), set.CybersourceURL()} {
		resp, err := http.Get(base + "/_sim/state")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("%s/_sim/state: %v %v", base, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	if c, err := set.CybersourceClient(); err != nil || c == nil {
		t.Errorf("Cybersource client: %v", err)
	}
	if c, err := set.OpayoClient(); err != nil || c == nil {
		t.Errorf("Opayo client: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(set.SysproURL(), "http://"), time.Second); err == nil {
		t.Error("SYSPRO simulator still accepts connections")
	}
}

func TestStartReleasesEverythingWhenAnAddressIsBusy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()
	if _, err := Start(Options{SysproAddr: addr, CybersourceAddr: busy.Addr().String(), Credentials: DefaultCredentials()}); err == nil {
		t.Fatal("Start on a busy address succeeded")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the SYSPRO address was not released: %v", err)
	}
	ln.Close()
}

func TestOpayoClockStartSetsTheOpayoSimulatorsClock(t *testing.T) {
	start := time.Date(2026, 3, 14, 22, 30, 0, 0, time.UTC)
	set, err := Start(Options{OpayoAddr: "127.0.0.1:0", Credentials: DefaultCredentials(), OpayoClockStart: start})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- set.Serve(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	resp, err := http.Get(set.OpayoURL() + "/_sim/clock")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var clock struct{ Now time.Time }
	if err := json.NewDecoder(resp.Body).Decode(&clock); err != nil {
		t.Fatal(err)
	}
	if !clock.Now.Equal(start) {
		t.Errorf("the Opayo simulator's clock says %s, want %s", clock.Now, start)
	}
}
