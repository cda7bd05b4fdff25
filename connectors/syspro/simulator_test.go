package syspro_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
)

// These tests run the client against the simulator over real HTTP.

func newSimClient(t testing.TB, opts sysprosim.Options, cfg syspro.Config) (*syspro.Client, *sysprosim.Server) {
	t.Helper()
	sim := sysprosim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL + sysprosim.BasePath
	if cfg.Operator == "" {
		cfg.Operator, cfg.OperatorPassword, cfg.CompanyID = "ADMIN", "admin", "EDU1"
	}
	c, err := syspro.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c, sim
}

func webOrder(po string) syspro.SalesOrder {
	return syspro.SalesOrder{
		CustomerPoNumber: po,
		Customer:         "WEBS01",
		OrderDate:        time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		Warehouse:        "FG",
		Lines: []syspro.SalesOrderLine{
			{StockCode: "A100", Warehouse: "FG", Quantity: decimal.NewFromInt(1), Price: decimal.RequireFromString("49.99")},
		},
	}
}

func ordersWithPO(sim *sysprosim.Server, po string) int {
	n := 0
	for _, o := range sim.State().SalesOrders {
		if o.CustomerPoNumber == po {
			n++
		}
	}
	return n
}

func TestClientPostsAndFindsSalesOrdersInTheSimulator(t *testing.T) {
	c, sim := newSimClient(t, sysprosim.Options{}, syspro.Config{})
	ctx := context.Background()

	first, err := c.PostSalesOrder(ctx, webOrder("WEB-1001"), syspro.SalesOrderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first.SalesOrder == "" || first.Existing {
		t.Fatalf("first post = %+v", first)
	}
	again, err := c.PostSalesOrder(ctx, webOrder("WEB-1001"), syspro.SalesOrderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Existing || again.SalesOrder != first.SalesOrder {
		t.Errorf("second post = %+v, want the existing order %s", again, first.SalesOrder)
	}
	if n := ordersWithPO(sim, "WEB-1001"); n != 1 {
		t.Errorf("simulator holds %d orders for WEB-1001", n)
	}
	detail, err := c.QuerySalesOrder(ctx, first.SalesOrder)
	if err != nil || detail.CustomerPoNumber != "WEB-1001" || detail.Customer != "WEBS01" {
		t.Errorf("SORQRY = %+v, %v", detail, err)
	}

	bad := webOrder("WEB-1002")
	bad.Lines[0].StockCode = "B100X"
	_, err = c.PostSalesOrder(ctx, bad, syspro.SalesOrderOptions{})
	var sErr *syspro.Error
	if !syspro.IsBusiness(err) || !errors.As(err, &sErr) || sErr.Number != 240004 {
		t.Errorf("unknown stock code: %v, want business error 240004", err)
	}
	if n := ordersWithPO(sim, "WEB-1002"); n != 0 {
		t.Errorf("a refused order was stored %d times", n)
	}
}

func TestClientRefusedCredentialsAreAConfigurationError(t *testing.T) {
	c, _ := newSimClient(t, sysprosim.Options{}, syspro.Config{Operator: "ADMIN", OperatorPassword: "wrong", CompanyID: "EDU1"})
	_, err := c.GetLogonProfile(context.Background())
	if !syspro.IsConfiguration(err) {
		t.Fatalf("bad password: %v, want a configuration error", err)
	}
}

// postAll posts n orders through the client, retrying transient failures as the sync engine will.
func postAll(t testing.TB, c *syspro.Client, n, workers int) {
	t.Helper()
	ctx := context.Background()
	jobs := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				po := fmt.Sprintf("LOAD-%05d", i)
				for attempt := 1; ; attempt++ {
					_, err := c.PostSalesOrder(ctx, webOrder(po), syspro.SalesOrderOptions{AllocationAction: "B"})
					if err == nil {
						break
					}
					if !syspro.IsTransient(err) || attempt == 50 {
						errs <- fmt.Errorf("%s attempt %d: %w", po, attempt, err)
						break
					}
				}
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestThousandOrdersUnderFaultsArriveExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("posts 1,000 orders")
	}
	const n = 1000
	c, sim := newSimClient(t, sysprosim.Options{
		Latency:          50 * time.Millisecond,
		Faults:           sysprosim.Faults{ErrorRate: 0.1, LostResponseRate: 0.1},
		MaxHang:          time.Second,
		SeatsPerOperator: 4,
	}, syspro.Config{Seats: 4})
	postAll(t, c, n, 8)

	count := map[string]int{}
	for _, o := range sim.State().SalesOrders {
		count[o.CustomerPoNumber]++
	}
	if len(count) != n {
		t.Errorf("simulator holds orders for %d PO numbers, want %d", len(count), n)
	}
	for po, k := range count {
		if k != 1 {
			t.Errorf("%s stored %d times", po, k)
		}
	}
}

// BenchmarkPostSalesOrderThroughput posts sales orders (find first, SORTOI, find again) through
// the session pool against the simulator at 50 ms latency, with 8 concurrent callers sharing 1 or
// 4 licence seats.
func BenchmarkPostSalesOrderThroughput(b *testing.B) {
	for _, seats := range []int{1, 4} {
		b.Run(fmt.Sprintf("seats=%d", seats), func(b *testing.B) {
			c, _ := newSimClient(b, sysprosim.Options{Latency: 50 * time.Millisecond, SeatsPerOperator: seats},
				syspro.Config{Seats: seats})
			var seq atomic.Int64
			b.SetParallelism(4) // 4 × GOMAXPROCS callers
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					po := fmt.Sprintf("BENCH-%d", seq.Add(1))
					if _, err := c.PostSalesOrder(context.Background(), webOrder(po), syspro.SalesOrderOptions{}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "orders/s")
		})
	}
}
