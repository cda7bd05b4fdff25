package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/connectors/opayo/opayosim"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
)

// rig is a hub's outside world for end-to-end tests: the three simulators over real HTTP, a
// database, and the hub binary run as separate processes (replicas) that can be killed.
type rig struct {
	t          *testing.T
	bin, dir   string
	dbURL      string
	config     string
	syspro     *sysprosim.Server
	cyber      *cybersourcesim.Server
	opayoSim   *opayosim.Server
	csClient   *cybersource.Client
	opClient   *opayo.Client
	webhooks   chan capturedWebhook
	pool       *pgxpool.Pool
	mu         sync.Mutex
	hubs       map[string]*hubProcess // by address
	hubLogs    []*bytes.Buffer
	deliveries atomic.Int64 // webhook deliveries acknowledged
}

type capturedWebhook struct{ body []byte }

type hubProcess struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan struct{}
}

// newRig starts the simulators (SYSPRO with the given faults) and writes the hub's config. The
// Cybersource simulator's webhooks are captured, not delivered: the test delivers them.
func newRig(t *testing.T, faults sysprosim.Faults, seatsPerReplica int) *rig {
	t.Helper()
	r := &rig{t: t, bin: buildHub(t), dir: dataDir(t), dbURL: dbtest.NewURL(t), hubs: map[string]*hubProcess{},
		webhooks: make(chan capturedWebhook, 100000)}
	r.syspro = sysprosim.New(sysprosim.Options{SeatsPerOperator: 4, Faults: faults, FaultSeed: 20261121})
	sysproSrv := httptest.NewServer(r.syspro)
	t.Cleanup(sysproSrv.Close)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.webhooks <- capturedWebhook{body: body}
	}))
	t.Cleanup(collector.Close)
	r.cyber = cybersourcesim.New(cybersourcesim.Options{WebhookURL: collector.URL})
	cyberSrv := httptest.NewServer(r.cyber)
	t.Cleanup(cyberSrv.Close)
	r.opayoSim = opayosim.New(opayosim.Options{})
	opayoSrv := httptest.NewServer(r.opayoSim)
	t.Cleanup(opayoSrv.Close)

	var err error
	r.csClient, err = cybersource.New(cybersource.Config{BaseURL: cyberSrv.URL, MerchantID: cybersourcesim.DefaultMerchantID,
		KeyID: cybersourcesim.DefaultKeyID, Secret: cybersourcesim.DefaultSecret})
	if err != nil {
		t.Fatal(err)
	}
	r.opClient, err = opayo.New(opayo.Config{PiURL: opayoSrv.URL + opayosim.PiBasePath, IntegrationKey: opayosim.DefaultIntegrationKey,
		IntegrationPassword: opayosim.DefaultIntegrationPassword, Vendor: opayosim.DefaultVendor})
	if err != nil {
		t.Fatal(err)
	}
	r.config = filepath.Join(r.dir, "hub.yaml")
	cfg := fmt.Sprintf(`
cybersource: {url: %s, merchantId: %s, keyId: %s, secret: %s, webhookKeys: [{id: %s, key: %s}]}
opayo: {piUrl: %s, integrationKey: %s, integrationPassword: %s, vendor: %s, reportingUrl: %s, reportingUser: %s, reportingPassword: %s}
syspro: {url: %s, operator: ADMIN, operatorPassword: admin, companyId: EDU1, companyPassword: "", seats: %d}
sync: {createCustomers: true, pollInterval: 1s, statusInterval: 1h, retryBase: 20ms, retryMax: 500ms, rescueAfter: 20s}
`, cyberSrv.URL, cybersourcesim.DefaultMerchantID, cybersourcesim.DefaultKeyID, cybersourcesim.DefaultSecret,
		cybersourcesim.DefaultWebhookKeyID, cybersourcesim.DefaultWebhookKey,
		opayoSrv.URL+opayosim.PiBasePath, opayosim.DefaultIntegrationKey, opayosim.DefaultIntegrationPassword, opayosim.DefaultVendor,
		opayoSrv.URL+opayosim.ReportingPath, opayosim.DefaultReportingUser, opayosim.DefaultReportingPassword,
		sysproSrv.URL+sysprosim.BasePath, seatsPerReplica)
	if err := os.WriteFile(r.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	pool, err := db.Connect(context.Background(), r.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	r.pool = pool
	return r
}

// start runs one `hub serve` replica on addr and waits until it is ready.
func (r *rig) start(addr string) {
	r.t.Helper()
	cmd, logs, _ := serve(r.t, r.bin, r.dir, addr, "DATABASE_URL="+r.dbURL, "HUB_CONFIG="+r.config)
	p := &hubProcess{cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }() //nolint:errcheck
	r.mu.Lock()
	r.hubs[addr] = p
	r.hubLogs = append(r.hubLogs, logs)
	r.mu.Unlock()
}

// kill ends a replica with SIGKILL: no shutdown, no hand-back, whatever it was doing.
func (r *rig) kill(addr string) {
	r.mu.Lock()
	p := r.hubs[addr]
	delete(r.hubs, addr)
	r.mu.Unlock()
	p.cmd.Process.Kill()
	<-p.done
}

// deliver posts one webhook to a replica, signed now (as each Cybersource retry is), until a
// replica acknowledges it: while the hub is down, Cybersource keeps retrying too.
func (r *rig) deliver(ctx context.Context, addrs []string, body []byte) error {
	key := cybersource.WebhookKey{ID: cybersourcesim.DefaultWebhookKeyID, Key: cybersourcesim.DefaultWebhookKey}
	for attempt := 0; ; attempt++ {
		sig, err := cybersource.SignWebhook(body, key, time.Now())
		if err != nil {
			return err
		}
		addr := addrs[attempt%len(addrs)]
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/webhooks/cybersource", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("v-c-signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body) //nolint:errcheck
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				r.deliveries.Add(1)
				return nil
			}
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusBadRequest {
				return fmt.Errorf("webhook refused: HTTP %d", resp.StatusCode)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// redeliver takes the captured webhooks in windows and delivers every one three times, the
// copies of a window shuffled, so deliveries arrive repeated and out of order.
func (r *rig) redeliver(ctx context.Context, addrs func() []string, rng *rand.Rand) error {
	var window []capturedWebhook
	flush := func() error {
		var batch [][]byte
		for _, w := range window {
			batch = append(batch, w.body, w.body, w.body)
		}
		rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
		window = window[:0]
		var g sync.WaitGroup
		errs := make(chan error, len(batch))
		sem := make(chan struct{}, 8)
		for _, b := range batch {
			g.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; g.Done() }()
				if err := r.deliver(ctx, addrs(), b); err != nil && ctx.Err() == nil {
					errs <- err
				}
			}()
		}
		g.Wait()
		close(errs)
		return <-errs
	}
	for {
		select {
		case w := <-r.webhooks:
			window = append(window, w)
			if len(window) < 40 {
				continue
			}
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			return nil
		}
		if len(window) > 0 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}

// pay makes payment i through Cybersource (with line items) or, every fifth, Opayo Pi.
func (r *rig) pay(ctx context.Context, run string, i int) error {
	ref := fmt.Sprintf("EO-%s-%05d", run, i)
	customer := i % 40
	email := fmt.Sprintf("shopper%02d@example.com", customer)
	qty := int64(1 + i%3)
	amount := decimal.NewFromInt(qty).Mul(decimal.RequireFromString("8.00")).Add(decimal.RequireFromString("49.99"))
	if i%5 == 4 {
		msk, err := r.opClient.CreateMerchantSessionKey(ctx)
		if err != nil {
			return err
		}
		ci, err := r.opClient.CreateCardIdentifier(ctx, msk.Key, opayo.CardDetails{CardholderName: "SHOPPER " + strconv.Itoa(customer),
			CardNumber: opayo.Secret("4929000000006"), ExpiryDate: "1230", SecurityCode: "123"})
		if err != nil {
			return err
		}
		tx, err := r.opClient.CreateTransaction(ctx, opayo.PaymentRequest{Type: opayo.TransactionPayment, VendorTxCode: ref,
			Amount: amount, Currency: "GBP", Description: "Order " + ref,
			Card:              opayo.CardMethod{MerchantSessionKey: msk.Key, CardIdentifier: ci.ID},
			CustomerFirstName: "Shopper", CustomerLastName: strconv.Itoa(customer), CustomerEmail: email,
			BillingAddress: opayo.Address{Address1: "1 High Street", City: "Leeds", PostalCode: "LS1 1AA", Country: "GB"},
			EntryMethod:    opayo.EntryEcommerce})
		if err != nil {
			return err
		}
		if !tx.Succeeded() {
			return fmt.Errorf("opayo payment %s: %s", ref, tx.Status)
		}
		return nil
	}
	res, err := r.csClient.CreatePayment(ctx, cybersource.PaymentRequest{Reference: ref, Capture: true, Amount: amount, Currency: "GBP",
		Card:   &cybersource.Card{Number: "4111111111111111", ExpirationMonth: "12", ExpirationYear: "2031", SecurityCode: "123"},
		BillTo: &cybersource.Address{FirstName: "Shopper", LastName: strconv.Itoa(customer), Address1: "1 High Street", Locality: "Leeds", PostalCode: "LS1 1AA", Country: "GB", Email: email},
		LineItems: []cybersource.LineItem{
			{ProductSKU: "A100", ProductName: "Bike helmet", Quantity: 1, UnitPrice: decimal.RequireFromString("49.99")},
			{ProductSKU: "B100", ProductName: "Water bottle", Quantity: int(qty), UnitPrice: decimal.RequireFromString("8.00")},
		}})
	if err != nil {
		return err
	}
	if res.Status != "AUTHORIZED" {
		return fmt.Errorf("cybersource payment %s: %s", ref, res.Status)
	}
	return nil
}

// payAll makes n payments with a few shoppers at once, calling progress after each.
func (r *rig) payAll(ctx context.Context, run string, n int, progress func(done int)) error {
	var next, done atomic.Int64
	var g sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		g.Add(1)
		go func() {
			defer g.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := r.pay(ctx, run, i); err != nil {
					errs <- err
					return
				}
				progress(int(done.Add(1)))
			}
		}()
	}
	g.Wait()
	close(errs)
	return <-errs
}

// settled waits until SYSPRO has want orders and want receipts and the outbox is empty. The
// simulator's state (a deep copy) is read only when the outbox looks empty or every few seconds:
// under the race detector copying it is what the test would otherwise spend its CPU on.
func (r *rig) settled(timeout time.Duration, want int) (orders, receipts int) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	lastRead := time.Time{}
	for {
		var open, done int
		r.pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE status IN ('pending', 'in_progress')),
			count(*) FILTER (WHERE status = 'succeeded') FROM erp_postings`).Scan(&open, &done) //nolint:errcheck
		if (open == 0 && done >= 2*want) || time.Since(lastRead) > 10*time.Second || time.Now().After(deadline) {
			st := r.syspro.State()
			orders, receipts, lastRead = len(st.SalesOrders), len(st.ArPayments), time.Now()
			if orders >= want && receipts >= want && open == 0 {
				return orders, receipts
			}
		}
		if time.Now().After(deadline) {
			r.t.Logf("after %v: SYSPRO has %d orders and %d receipts of %d; %d postings open", timeout, orders, receipts, want, open)
			return orders, receipts
		}
		time.Sleep(time.Second)
	}
}

// checkExact asserts that SYSPRO and the canonical model hold each payment exactly once.
func (r *rig) checkExact(want int) {
	t := r.t
	t.Helper()
	st := r.syspro.State()
	pos := map[string]int{}
	for _, o := range st.SalesOrders {
		pos[o.CustomerPoNumber]++
	}
	refs := map[string]int{}
	for _, p := range st.ArPayments {
		refs[p.Reference]++
	}
	dupOrders, dupReceipts := 0, 0
	for _, n := range pos {
		if n > 1 {
			dupOrders++
		}
	}
	for _, n := range refs {
		if n > 1 {
			dupReceipts++
		}
	}
	if len(pos) != want || len(st.SalesOrders) != want || dupOrders != 0 {
		t.Errorf("SYSPRO sales orders: %d for %d distinct PO numbers (%d duplicated); want %d", len(st.SalesOrders), len(pos), dupOrders, want)
	}
	if len(refs) != want || len(st.ArPayments) != want || dupReceipts != 0 {
		t.Errorf("SYSPRO AR receipts: %d for %d distinct references (%d duplicated); want %d", len(st.ArPayments), len(refs), dupReceipts, want)
	}
	var payments, orders, posted, dead int
	q := `SELECT (SELECT count(*) FROM payments WHERE status = 'captured'),
	             (SELECT count(*) FROM sales_orders),
	             (SELECT count(*) FROM sales_orders WHERE status = 'open' AND syspro_order_number IS NOT NULL),
	             (SELECT count(*) FROM erp_postings WHERE status = 'dead')`
	if err := r.pool.QueryRow(context.Background(), q).Scan(&payments, &orders, &posted, &dead); err != nil {
		t.Fatal(err)
	}
	if payments != want || orders != want || posted != want || dead != 0 {
		t.Errorf("canonical: %d captured payments, %d orders, %d posted, %d dead postings; want %d, %d, %d, 0", payments, orders, posted, dead, want, want, want)
	}
	// Every posted order's events name its SYSPRO number.
	var linked int
	r.pool.QueryRow(context.Background(), `SELECT count(DISTINCT subject_id) FROM events WHERE kind = 'order.posted_to_erp'`).Scan(&linked) //nolint:errcheck
	if linked != want {
		t.Errorf("order.posted_to_erp events for %d orders; want %d", linked, want)
	}
}

// dumpState logs what the canonical model and the job queue hold, for a failed run.
func (r *rig) dumpState() {
	for _, q := range []string{
		`SELECT gateway || ' ' || kind || ' ' || status, count(*) FROM payments GROUP BY 1 ORDER BY 1`,
		`SELECT kind || ' ' || state, count(*) FROM river_job GROUP BY 1 ORDER BY 1`,
		`SELECT kind || ' ' || state || ' ' || left(errors[array_length(errors, 1)]->>'error', 300), count(*) FROM river_job
		 WHERE errors IS NOT NULL AND state <> 'completed' GROUP BY 1 ORDER BY 2 DESC LIMIT 10`,
		`SELECT name || ' ' || position, 0 FROM sync_cursors`,
	} {
		rows, err := r.pool.Query(context.Background(), q)
		if err != nil {
			r.t.Logf("%s: %v", q, err)
			continue
		}
		for rows.Next() {
			var k string
			var n int
			rows.Scan(&k, &n) //nolint:errcheck
			r.t.Logf("  %-80s %d", k, n)
		}
		rows.Close()
	}
}

func (r *rig) dumpLogs() {
	r.dumpState()
	r.mu.Lock()
	running := make([]string, 0, len(r.hubs))
	for addr := range r.hubs {
		running = append(running, addr)
	}
	r.mu.Unlock()
	for _, addr := range running { // their logs are read once they have exited
		r.kill(addr)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, l := range r.hubLogs {
		s := l.String()
		if len(s) > 6000 {
			s = s[len(s)-6000:]
		}
		r.t.Logf("hub log %d (tail):\n%s", i, s)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestExactlyOnceUnderFaultsRedeliveriesAndKills is the sync engine's acceptance test: SYSPRO
// fails 20% of calls (10% errors, 10% answers lost after the posting was applied), every
// Cybersource webhook arrives three times and out of order, Opayo payments are found only by
// polling, and the hub is killed with SIGKILL twice mid-run and restarted. Every payment must
// still become exactly one SYSPRO order and one AR receipt. PAYHUB_EXACTLY_ONCE_PAYMENTS sets the
// number of payments (2,000).
func TestExactlyOnceUnderFaultsRedeliveriesAndKills(t *testing.T) {
	n := envInt("PAYHUB_EXACTLY_ONCE_PAYMENTS", 2000)
	r := newRig(t, sysprosim.Faults{ErrorRate: 0.10, LostResponseRate: 0.10}, 4)
	addr := freeAddr(t)
	r.start(addr)
	var current atomic.Value
	current.Store([]string{addr})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	delivered := make(chan error, 1)
	go func() {
		delivered <- r.redeliver(ctx, func() []string { return current.Load().([]string) }, rand.New(rand.NewPCG(1, 2)))
	}()

	// Kill the hub at a third and at two thirds of the payments, and start it again.
	kills := make(chan int, 2)
	paid := make(chan error, 1)
	start := time.Now()
	go func() {
		paid <- r.payAll(ctx, "K", n, func(done int) {
			if done == n/3 || done == 2*n/3 {
				kills <- done
			}
		})
	}()
	var payErr error
	paidDone := false
	for killed := 0; killed < 2; {
		select {
		case at := <-kills:
			r.kill(addr)
			t.Logf("hub killed with SIGKILL after %d payments (%v)", at, time.Since(start).Round(time.Millisecond))
			time.Sleep(500 * time.Millisecond)
			r.start(addr)
			killed++
		case payErr = <-paid:
			paidDone = true
			if payErr != nil {
				t.Fatal(payErr)
			}
			paid = nil // the kills it signalled are still buffered
		}
	}
	if !paidDone {
		if err := <-paid; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d payments made in %v", n, time.Since(start).Round(time.Millisecond))
	orders, receipts := r.settled(15*time.Minute, n)
	t.Logf("SYSPRO has %d orders and %d receipts %v after the first payment; %d webhook deliveries acknowledged",
		orders, receipts, time.Since(start).Round(time.Millisecond), r.deliveries.Load())
	cancel()
	if err := <-delivered; err != nil {
		t.Errorf("redelivery: %v", err)
	}
	r.checkExact(n)
	if t.Failed() {
		r.dumpLogs()
	}
}

// TestTwoReplicasShareTheWorkWithoutDoingAnyJobTwice runs two `hub serve` processes on one
// database, webhooks spread over both: every posting is attempted exactly once (SYSPRO has no
// faults here, so a second attempt could only be the same job run twice), and both replicas work.
func TestTwoReplicasShareTheWorkWithoutDoingAnyJobTwice(t *testing.T) {
	n := envInt("PAYHUB_REPLICA_PAYMENTS", 300)
	// The SYSPRO licence has 4 seats; each replica uses 2 of them (syspro.seats is per process).
	r := newRig(t, sysprosim.Faults{}, 2)
	a, b := freeAddr(t), freeAddr(t)
	r.start(a)
	r.start(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	delivered := make(chan error, 1)
	go func() {
		delivered <- r.redeliver(ctx, func() []string { return []string{a, b} }, rand.New(rand.NewPCG(3, 4)))
	}()
	if err := r.payAll(ctx, "R", n, func(int) {}); err != nil {
		t.Fatal(err)
	}
	r.settled(3*time.Minute, n)
	cancel()
	if err := <-delivered; err != nil {
		t.Errorf("redelivery: %v", err)
	}
	r.checkExact(n)

	var postings, attempts int
	if err := r.pool.QueryRow(context.Background(), `SELECT count(*), coalesce(sum(attempts), 0) FROM erp_postings`).Scan(&postings, &attempts); err != nil {
		t.Fatal(err)
	}
	if attempts != postings {
		t.Errorf("%d postings took %d attempts: some posting was worked twice", postings, attempts)
	}
	var twice int
	if err := r.pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE state = 'completed' AND attempt > 1`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice != 0 {
		t.Errorf("%d jobs ran more than once", twice)
	}
	rows, err := r.pool.Query(context.Background(), `SELECT attempted_by[1], count(*) FROM river_job
		WHERE state = 'completed' AND kind = 'erp_posting' GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	workers := map[string]int{}
	for rows.Next() {
		var who string
		var jobs int
		if err := rows.Scan(&who, &jobs); err != nil {
			t.Fatal(err)
		}
		workers[who] = jobs
	}
	rows.Close()
	t.Logf("SYSPRO postings per replica: %v", workers)
	if len(workers) != 2 {
		t.Errorf("postings were worked by %d replicas, want 2: %v", len(workers), workers)
	}
	if t.Failed() {
		r.dumpLogs()
	}
}
