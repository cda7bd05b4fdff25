package traffic

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/connectors/opayo/opayosim"
)

// These tests place orders through the real simulators, over HTTP.

type env struct {
	cs     *cybersource.Client
	op     *opayo.Client
	csSim  *cybersourcesim.Server
	opSim  *opayosim.Server
	logBuf *syncBuffer
}

func newEnv(t *testing.T, withCybersource, withOpayo bool) env {
	t.Helper()
	e := env{logBuf: &syncBuffer{}}
	httpClient := &http.Client{Timeout: 10 * time.Second}
	if withCybersource {
		e.csSim = cybersourcesim.New(cybersourcesim.Options{})
		srv := httptest.NewServer(e.csSim)
		t.Cleanup(func() { srv.Close(); e.csSim.Close() })
		c, err := cybersource.New(cybersource.Config{BaseURL: srv.URL, MerchantID: cybersourcesim.DefaultMerchantID,
			KeyID: cybersourcesim.DefaultKeyID, Secret: cybersourcesim.DefaultSecret, HTTPClient: httpClient})
		if err != nil {
			t.Fatal(err)
		}
		e.cs = c
	}
	if withOpayo {
		e.opSim = opayosim.New(opayosim.Options{})
		srv := httptest.NewServer(e.opSim)
		t.Cleanup(func() { srv.Close(); e.opSim.Close() })
		c, err := opayo.New(opayo.Config{PiURL: srv.URL + opayosim.PiBasePath, IntegrationKey: opayosim.DefaultIntegrationKey,
			IntegrationPassword: opayosim.DefaultIntegrationPassword, Vendor: opayosim.DefaultVendor, HTTPClient: httpClient})
		if err != nil {
			t.Fatal(err)
		}
		e.op = c
	}
	return e
}

func (e env) generator(orders int, rate float64) *Generator {
	return &Generator{Cybersource: e.cs, Opayo: e.op, Orders: orders, Rate: rate, Seed: 7, Log: e.logBuf, RunID: "T"}
}

// pans are every card number the generator may use; none may reach the log.
var pans = []string{cybersourcesim.CardVisa, cybersourcesim.CardMastercard, cybersourcesim.CardDeclined, cybersourcesim.CardInsufficientFunds, opayoCardVisa, opayoCardMC, opayoCardDeclined}

func checkNoCardNumbers(t *testing.T, log string) {
	t.Helper()
	for _, pan := range pans {
		if strings.Contains(log, pan) {
			t.Errorf("the log shows card number %s", pan)
		}
	}
}

func TestTheMixOfOrdersReachesBothGateways(t *testing.T) {
	e := newEnv(t, true, true)
	const n = 200
	sum, err := e.generator(n, 0).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", sum)
	if sum.Orders != n || sum.Failed != 0 {
		t.Fatalf("summary %s; log:\n%s", sum, e.logBuf)
	}
	total := 0
	for c := range numCategories {
		got, want := sum.Count(c), shares[c]*n/100
		total += got
		if got < want-1 || got > want+1 {
			t.Errorf("%s: %d orders, want %d±1", c, got, want)
		}
	}
	if total != n {
		t.Errorf("categories add up to %d, want %d", total, n)
	}

	cs := e.csSim.State()
	refs := map[string]bool{}
	var payments, declined, reviews, refunds, captures int
	for _, tx := range cs.Transactions {
		if !strings.HasPrefix(tx.ClientReferenceCode, "DEMO-T-") {
			t.Errorf("reference %q", tx.ClientReferenceCode)
		}
		switch tx.Kind {
		case cybersourcesim.KindAuthorization, cybersourcesim.KindSale:
			payments++
			if refs[tx.ClientReferenceCode] {
				t.Errorf("reference %s used twice", tx.ClientReferenceCode)
			}
			refs[tx.ClientReferenceCode] = true
			switch tx.Status {
			case cybersource.StatusDeclined:
				declined++
			case cybersource.StatusAuthorizedPendingReview:
				reviews++
			}
		case cybersourcesim.KindRefund:
			refunds++
		case cybersourcesim.KindCapture:
			captures++
		}
	}
	if want := n - sum.Count(OpayoPayment); payments != want {
		t.Errorf("Cybersource has %d payments, want %d", payments, want)
	}
	if declined != sum.Count(Decline) || reviews != sum.Count(FraudReview) || refunds != sum.Count(Refunded) {
		t.Errorf("Cybersource has %d declined, %d in review, %d refunds; summary %s", declined, reviews, refunds, sum)
	}
	if captures == 0 {
		t.Errorf("no clean sale was authorised first and captured afterwards")
	}

	op := e.opSim.State()
	if len(op.Transactions) != sum.Count(OpayoPayment) {
		t.Errorf("Opayo has %d transactions, want %d", len(op.Transactions), sum.Count(OpayoPayment))
	}
	for _, tx := range op.Transactions {
		if tx.Status != "Ok" || !strings.HasPrefix(tx.VendorTxCode, "DEMO-T-") || refs[tx.VendorTxCode] {
			t.Errorf("Opayo transaction %s %s %s", tx.VendorTxCode, tx.TransactionType, tx.Status)
		}
	}

	log := e.logBuf.String()
	if lines := strings.Count(log, "\n"); lines != n {
		t.Errorf("%d log lines, want one per order", lines)
	}
	for _, want := range []string{"DEMO-T-0001", "unknown stock", "fraud review", "refunded", "opayo payment", "PROCESSOR_DECLINED"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	checkNoCardNumbers(t, log)
}

func TestRunsContinueTheNumberingAndKeepTheRate(t *testing.T) {
	e := newEnv(t, true, false)
	g := e.generator(3, 20)
	start := time.Now()
	if sum, err := g.Run(context.Background()); err != nil || sum.Orders != 3 {
		t.Fatalf("first run: %s, %v", sum, err)
	}
	if took := time.Since(start); took < 90*time.Millisecond {
		t.Errorf("3 orders at 20/s took %v, want at least 100ms", took)
	}
	g.Orders = 2
	if sum, err := g.Run(context.Background()); err != nil || sum.Orders != 2 {
		t.Fatalf("second run: %s, %v", sum, err)
	}
	log := e.logBuf.String()
	for _, ref := range []string{"DEMO-T-0001", "DEMO-T-0003", "DEMO-T-0004", "DEMO-T-0005"} {
		if strings.Count(log, ref+" ") != 1 {
			t.Errorf("%s not logged exactly once:\n%s", ref, log)
		}
	}
	// Only Cybersource: the Opayo share is paid through Cybersource.
	if strings.Contains(log, " opayo ") {
		t.Errorf("an order went to Opayo, which is not there:\n%s", log)
	}
}

func TestContinuousTrafficStopsWithItsContext(t *testing.T) {
	e := newEnv(t, true, true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	sum, err := e.generator(0, 50).Run(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want the context's error", err)
	}
	if sum.Orders < 2 || sum.Orders > 20 || sum.Failed != 0 {
		t.Errorf("in 300ms at 50/s: %s", sum)
	}
}

func TestOpayoAlonePlacesEveryOrderThroughOpayo(t *testing.T) {
	e := newEnv(t, false, true)
	const n = 40
	sum, err := e.generator(n, 0).Run(context.Background())
	if err != nil || sum.Orders != n || sum.Failed != 0 {
		t.Fatalf("%s, %v; log:\n%s", sum, err, e.logBuf)
	}
	if sum.Count(FraudReview) != 0 || sum.Count(BadStock) != 0 || sum.Count(Decline) == 0 || sum.Count(Refunded) == 0 {
		t.Errorf("summary %s", sum)
	}
	var payments, refunds, declined int
	for _, tx := range e.opSim.State().Transactions {
		switch tx.TransactionType {
		case "Payment":
			payments++
			if tx.Status == "NotAuthed" {
				declined++
			}
		case "Refund":
			refunds++
		}
	}
	if payments != n || refunds != sum.Count(Refunded) || declined != sum.Count(Decline) {
		t.Errorf("Opayo has %d payments (%d declined) and %d refunds; summary %s", payments, declined, refunds, sum)
	}
	checkNoCardNumbers(t, e.logBuf.String())
}

func TestFailuresAreCountedAndTheRunGoesOn(t *testing.T) {
	e := newEnv(t, true, false)
	e.csSim.SetFaults(cybersourcesim.Faults{ErrorRate: 1})
	sum, err := e.generator(3, 0).Run(context.Background())
	if err != nil || sum.Orders != 3 || sum.Failed != 3 {
		t.Fatalf("%s, %v", sum, err)
	}
	if !strings.Contains(e.logBuf.String(), "FAILED") {
		t.Errorf("log:\n%s", e.logBuf)
	}
}

func TestNoGatewayIsAnError(t *testing.T) {
	if _, err := (&Generator{Orders: 1}).Run(context.Background()); !errors.Is(err, ErrNoGateway) {
		t.Fatalf("Run = %v", err)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestPlaceMakesOneOrderOfTheCategoryAndLeavesTheMixAlone(t *testing.T) {
	e := newEnv(t, true, false)
	g := e.generator(0, 0)
	ref, err := g.Place(context.Background(), CleanSale)
	if err != nil || !strings.HasPrefix(ref, "DEMO-T-") {
		t.Fatalf("Place: %q, %v", ref, err)
	}
	declined, err := g.Place(context.Background(), Decline)
	if err != nil || declined == ref {
		t.Fatalf("Place(Decline): %q, %v", declined, err)
	}
	statuses := map[string]string{}
	for _, tx := range e.csSim.State().Transactions {
		if tx.ClientReferenceCode != "" && statuses[tx.ClientReferenceCode] == "" {
			statuses[tx.ClientReferenceCode] = tx.Status
		}
	}
	if statuses[declined] != "DECLINED" || statuses[ref] == "" || statuses[ref] == "DECLINED" {
		t.Errorf("the simulator's first answers: %v (clean %s, declined %s)", statuses, ref, declined)
	}
	if _, err := g.Place(context.Background(), Category(99)); err == nil {
		t.Error("an unknown category was placed")
	}
	if _, err := (&Generator{}).Place(context.Background(), CleanSale); !errors.Is(err, ErrNoGateway) {
		t.Errorf("no gateway: %v", err)
	}
	checkNoCardNumbers(t, e.logBuf.String())
}
