package sync_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	"github.com/payhub/payhub/db/dbtest"
	hubsync "github.com/payhub/payhub/sync"
)

// BenchmarkCybersourceWebhookIntake measures webhook intake: verify, store, enqueue the
// normalisation job and the event, commit, answer — many deliveries at once, as Cybersource
// sends them. msgs/s counts committed messages.
//
//	go test -run '^$' -bench CybersourceWebhookIntake -benchtime 5000x ./sync/
func BenchmarkCybersourceWebhookIntake(b *testing.B) {
	pool := dbtest.New(b)
	e, err := hubsync.New(hubsync.Config{Pool: pool})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(&hubsync.CybersourceWebhooks{Engine: e, Keys: []cybersource.WebhookKey{webhookKey}})
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var seq atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			body := []byte(fmt.Sprintf(`{"notificationId":"bench-%d","eventType":"payments.payments.accept","webhookId":"wh-1",`+
				`"payload":{"data":{"id":"%022d","clientReferenceInformation":{"code":"B-%d"}}}}`, i, i, i))
			sig, err := cybersource.SignWebhook(body, webhookKey, time.Now())
			if err != nil {
				b.Error(err)
				return
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("v-c-signature", sig)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("HTTP %d", resp.StatusCode)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	var stored int
	pool.QueryRow(context.Background(), `SELECT count(*) FROM inbound_messages WHERE status = 'received'`).Scan(&stored) //nolint:errcheck
	if stored != b.N {
		b.Fatalf("%d messages stored for %d deliveries", stored, b.N)
	}
	b.ReportMetric(float64(stored)/elapsed.Seconds(), "msgs/s")
}

// BenchmarkPaymentsEndToEnd measures the whole flow with SYSPRO answering every call after 50
// ms: a sale at the Cybersource simulator, its webhooks to the hub, normalisation (a Transaction
// Details lookup), the customer check, the SYSPRO sales order and the AR receipt. payments/s is
// payments whose order and receipt SYSPRO holds, per second from the first sale.
//
//	go test -run '^$' -bench PaymentsEndToEnd -benchtime 200x ./sync/
func BenchmarkPaymentsEndToEnd(b *testing.B) {
	pool := dbtest.New(b)
	ssim := sysprosim.New(sysprosim.Options{SeatsPerOperator: 4, Latency: 50 * time.Millisecond})
	sysproSrv := httptest.NewServer(ssim)
	defer sysproSrv.Close()
	// The simulator needs the webhook URL before the engine (which needs the simulator's client)
	// exists: the server's handler is set once the engine is built.
	hookMux := http.NewServeMux()
	hookSrv := httptest.NewServer(hookMux)
	defer hookSrv.Close()
	csim := cybersourcesim.New(cybersourcesim.Options{WebhookURL: hookSrv.URL})
	csSrv := httptest.NewServer(csim)
	defer csSrv.Close()
	cs := newCybersourceClient(b, csSrv.URL)
	sp := newSysproClient(b, sysproSrv.URL)
	e, err := hubsync.New(hubsync.Config{Pool: pool, Syspro: sp, Cybersource: cs, CreateCustomers: true,
		FetchPollInterval: 100 * time.Millisecond, PollInterval: time.Hour,
		Backoff: hubsync.Backoff{Base: 20 * time.Millisecond, Max: 500 * time.Millisecond}})
	if err != nil {
		b.Fatal(err)
	}
	hookMux.Handle("/", &hubsync.CybersourceWebhooks{Engine: e, Keys: []cybersource.WebhookKey{webhookKey}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		e.Stop(sctx) //nolint:errcheck
	}()

	b.ResetTimer()
	start := time.Now()
	sem := make(chan struct{}, 8)
	for i := range b.N {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			_, err := cs.CreatePayment(ctx, cybersource.PaymentRequest{Reference: fmt.Sprintf("BENCH-%06d", i), Capture: true,
				Amount: decimal.RequireFromString("57.99"), Currency: "GBP",
				Card: &cybersource.Card{Number: "4111111111111111", ExpirationMonth: "12", ExpirationYear: "2031", SecurityCode: "123"},
				BillTo: &cybersource.Address{FirstName: "Bench", LastName: "Shopper", Address1: "1 High Street", Locality: "Leeds",
					PostalCode: "LS1 1AA", Email: fmt.Sprintf("bench%02d@example.com", i%20), Country: "GB"},
				LineItems: []cybersource.LineItem{{ProductSKU: "A100", Quantity: 1, UnitPrice: decimal.RequireFromString("49.99")}, {ProductSKU: "B100", Quantity: 1, UnitPrice: decimal.RequireFromString("8.00")}},
			})
			if err != nil {
				b.Error(err)
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		st := ssim.State()
		if len(st.SalesOrders) >= b.N && len(st.ArPayments) >= b.N {
			break
		}
		if b.Failed() {
			b.FailNow()
		}
		if time.Now().After(deadline) {
			b.Fatalf("after 10 minutes SYSPRO has %d orders and %d receipts of %d", len(st.SalesOrders), len(st.ArPayments), b.N)
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "payments/s")
}

func newSysproClient(tb testing.TB, base string) *syspro.Client {
	tb.Helper()
	c, err := syspro.New(syspro.Config{BaseURL: base + sysprosim.BasePath, Operator: "ADMIN", OperatorPassword: "admin",
		CompanyID: "EDU1", Seats: 4})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close(context.Background()) }) //nolint:errcheck
	return c
}

// newCybersourceClient is a client of the Cybersource simulator at base, with its default credentials.
func newCybersourceClient(tb testing.TB, base string) *cybersource.Client {
	tb.Helper()
	c, err := cybersource.New(cybersource.Config{BaseURL: base, MerchantID: cybersourcesim.DefaultMerchantID,
		KeyID: cybersourcesim.DefaultKeyID, Secret: cybersourcesim.DefaultSecret})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
