package opayosim

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestInjectedErrorsAnswerInEachProtocolsShape(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Faults: Faults{ErrorRate: 1}})
	status, body := b.pi("POST", "/merchant-session-keys", map[string]any{"vendorName": DefaultVendor})
	if status != http.StatusInternalServerError || str(body, "errors.0.code") != "9999" {
		t.Fatalf("Pi fault: %d %v", status, body)
	}
	if got := xmlField(b.report("getTransactionList", ""), "errorcode"); got != "0009" {
		t.Fatalf("Reporting fault: %s", got)
	}
	if r := b.register(registration("https://shop.example/n")); r["Status"] != "ERROR" || !strings.HasPrefix(r["StatusDetail"], "5003 : ") {
		t.Fatalf("Server fault: %v", r)
	}
	if len(b.sim.State().Transactions) != 0 {
		t.Fatal("a failed request changed state")
	}
	// Control routes are never faulted.
	if status, _, _ := b.do("GET", "/_sim/state", "", "", nil); status != http.StatusOK {
		t.Fatalf("state under faults: %d", status)
	}
	b.sim.SetFaults(Faults{})
	if status, _ := b.pi("POST", "/merchant-session-keys", map[string]any{"vendorName": DefaultVendor}); status != http.StatusCreated {
		t.Fatalf("after clearing faults: %d", status)
	}
}

func TestInjectedTimeoutHangsUntilTheClientGivesUp(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Faults: Faults{TimeoutRate: 1}, MaxHang: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", b.http.URL+PiBasePath+"/merchant-session-keys", strings.NewReader(`{"vendorName":"payhubsandbox"}`))
	req.Header.Set("Authorization", defaultBasic)
	start := time.Now()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("request under TimeoutRate 1 answered")
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("hang outlived the client")
	}
}

func TestInjectedTimeoutEndsAfterMaxHang(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Faults: Faults{TimeoutRate: 1}, MaxHang: 20 * time.Millisecond, FaultSeed: 7})
	sawBefore, sawAfter := false, false
	for i := 0; i < 20 && !(sawBefore && sawAfter); i++ {
		status, body := b.pi("POST", "/merchant-session-keys", map[string]any{"vendorName": DefaultVendor})
		switch {
		case status == http.StatusRequestTimeout && str(body, "errors.0.code") == "9998":
			sawBefore = true
		case status == http.StatusCreated:
			sawAfter = true // applied, answered late
		default:
			t.Fatalf("unexpected %d %v", status, body)
		}
	}
	if !sawBefore || !sawAfter {
		t.Fatalf("before=%v after=%v", sawBefore, sawAfter)
	}
}

func TestLatencyIsAdded(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Latency: 30 * time.Millisecond, Faults: Faults{LatencyMs: 20}})
	start := time.Now()
	b.msk()
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("request took %v", d)
	}
}

func TestControlRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	cases := []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/_sim/faults", `{"errorRate":0.2,"timeoutRate":0.05,"latencyMs":5}`, 200},
		{"POST", "/_sim/faults", `{"errorRate":2}`, 400},
		{"POST", "/_sim/faults", `{`, 400},
		{"GET", "/_sim/faults", "", 200},
		{"POST", "/_sim/clock", `{"advance":"1h"}`, 200},
		{"POST", "/_sim/clock", `{"advance":"soon"}`, 400},
		{"POST", "/_sim/clock", `{"advance":"-1h"}`, 400},
		{"GET", "/_sim/clock", "", 200},
		{"GET", "/_sim/state", "", 200},
		{"GET", "/_sim/nothing", "", 404},
	}
	for _, c := range cases {
		status, _, body := b.do(c.method, c.path, "application/json", c.body, nil)
		if status != c.want {
			t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, status, body)
		}
	}
	if f := b.sim.faults.get(); f.ErrorRate != 0.2 || f.LatencyMs != 5 {
		t.Fatalf("faults %+v", f)
	}
	if !b.sim.Clock().Now().Equal(testStart.Add(time.Hour)) {
		t.Fatalf("clock %v", b.sim.Clock().Now())
	}
}

func TestStateIsJSONAndHoldsNoCardNumbers(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.mustPay("Payment", "4929000000006", 1000)
	b.mustPay("Payment", "374200000000004", 1000)
	vendor := newVendorEndpoint(t, replyOK("https://shop.example/done"))
	reg := b.register(registration(vendor.URL))
	b.shopperPays(reg["NextURL"], url.Values{"CardNumber": {"5404 0000 0000 0001"}, "ExpiryDate": {"0330"}, "CV2": {"123"}, "CardHolder": {"SAM"}})
	status, _, raw := b.do("GET", "/_sim/state", "", "", nil)
	if status != http.StatusOK {
		t.Fatalf("state: %d", status)
	}
	for _, pan := range []string{"4929000000006", "374200000000004", "5404000000000001", "securityCode", "\"123\""} {
		if strings.Contains(raw, pan) {
			t.Errorf("state exposes %q", pan)
		}
	}
	var snap Snapshot
	if err := json.Unmarshal([]byte(raw), &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Transactions) != 3 || snap.Transactions[2].LastFourDigits != "0001" || snap.MerchantSessionKeys != 2 ||
		len(snap.Notifications) != 1 || snap.Transactions[0].SecurityKey == "" {
		t.Fatalf("snapshot %+v", snap)
	}
}

func TestServeStopsWithItsContext(t *testing.T) {
	t.Parallel()
	sim := New(Options{Start: testStart})
	defer sim.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/_sim/state")
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

func TestPublicURLIsUsedForLinks(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{PublicURL: "https://opayo.sandbox.test/"})
	r := b.register(registration("https://shop.example/n"))
	if !strings.HasPrefix(r["NextURL"], "https://opayo.sandbox.test/gateway/service/cardselection?vpstxid={") {
		t.Fatalf("NextURL %q", r["NextURL"])
	}
}

func TestConcurrentPaymentsOnOneSimulator(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	// post is safe to call from several goroutines: it reports failures instead of stopping the test.
	post := func(path, auth string, body any) (int, map[string]any, error) {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", b.http.URL+PiBasePath+path, strings.NewReader(string(raw)))
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		err = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out, err
	}
	const n = 16
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, m, err := post("/merchant-session-keys", defaultBasic, map[string]any{"vendorName": DefaultVendor})
			if err != nil {
				errs <- err
				return
			}
			msk := str(m, "merchantSessionKey")
			_, c, err := post("/card-identifiers", "Bearer "+msk, map[string]any{"cardDetails": map[string]any{
				"cardholderName": "SAM", "cardNumber": "4929000000006", "expiryDate": "0330", "securityCode": "123"}})
			if err != nil {
				errs <- err
				return
			}
			status, p, err := post("/transactions", defaultBasic, paymentBody("Payment", msk, str(c, "cardIdentifier"), 100))
			if err == nil && (status != http.StatusCreated || str(p, "status") != "Ok") {
				err = fmt.Errorf("payment: %d %v", status, p)
			}
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	b.sim.Clock().Advance(24 * time.Hour)
	snap := b.sim.State()
	if len(snap.Transactions) != n || len(snap.Batches) != 1 || snap.Batches[0].Groups[0].PaymentNumber != n {
		t.Fatalf("after %d concurrent payments: %d transactions, batches %+v", n, len(snap.Transactions), snap.Batches)
	}
}
