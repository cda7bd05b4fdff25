package sync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/connectors/opayo/opayosim"
	"github.com/payhub/payhub/db/dbtest"
)

// These tests run the engine against the Opayo simulator over real HTTP and a real Postgres.

// opayoEnv is one simulator, a client of it, and an engine (not started) on a fresh database.
type opayoEnv struct {
	t      *testing.T
	sim    *opayosim.Server
	base   string
	client *opayo.Client
	engine *Engine
	pool   *pgxpool.Pool
}

func newOpayoEnv(t *testing.T, opts opayosim.Options) *opayoEnv {
	t.Helper()
	if opts.NotificationRetry == (opayosim.RetryPolicy{}) {
		opts.NotificationRetry = opayosim.RetryPolicy{Count: -1}
	}
	sim := opayosim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		sim.Close()
		srv.Close()
	})
	client, err := opayo.New(opayo.Config{
		PiURL:               srv.URL + opayosim.PiBasePath,
		IntegrationKey:      opayosim.DefaultIntegrationKey,
		IntegrationPassword: opayosim.DefaultIntegrationPassword,
		Vendor:              opayosim.DefaultVendor,
		ReportingURL:        srv.URL + opayosim.ReportingPath,
		ReportingUser:       opayosim.DefaultReportingUser,
		ReportingPassword:   opayosim.DefaultReportingPassword,
		HTTPClient:          &http.Client{Timeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	pool := dbtest.New(t)
	e, err := New(Config{Pool: pool, Opayo: client})
	if err != nil {
		t.Fatal(err)
	}
	return &opayoEnv{t: t, sim: sim, base: srv.URL, client: client, engine: e, pool: pool}
}

var opayoCodeSeq atomic.Int64

func opayoCode(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1_000_000_000, opayoCodeSeq.Add(1))
}

// piPayment is a Pi payment request for pan that passes the sandbox AVS/CV2 checks.
func (env *opayoEnv) piPayment(pan string, typ opayo.TransactionType, amount string) opayo.PaymentRequest {
	env.t.Helper()
	ctx := context.Background()
	msk, err := env.client.CreateMerchantSessionKey(ctx)
	if err != nil {
		env.t.Fatal(err)
	}
	card, err := env.client.CreateCardIdentifier(ctx, msk.Key, opayo.CardDetails{
		CardholderName: "SAM JONES", CardNumber: opayo.Secret(pan), ExpiryDate: "1230", SecurityCode: "123",
	})
	if err != nil {
		env.t.Fatal(err)
	}
	return opayo.PaymentRequest{
		Type: typ, VendorTxCode: opayoCode("pi"), Amount: decimal.RequireFromString(amount), Currency: "GBP",
		Description: "Payhub web order", Card: opayo.CardMethod{MerchantSessionKey: msk.Key, CardIdentifier: card.ID},
		CustomerFirstName: "Sam", CustomerLastName: "Jones", CustomerEmail: "sam@example.com",
		BillingAddress: opayo.Address{Address1: "88 Test Street", City: "London", PostalCode: "412", Country: "GB"},
		ShippingDetails: &opayo.ShippingDetails{RecipientFirstName: "Ada", RecipientLastName: "Jones",
			ShippingAddress1: "1 Harbour Road", ShippingCity: "Bristol", ShippingPostalCode: "BS1 1AA", ShippingCountry: "GB"},
	}
}

func (env *opayoEnv) pay(req opayo.TransactionRequest) *opayo.Transaction {
	env.t.Helper()
	tx, err := env.client.CreateTransaction(context.Background(), req)
	if err != nil {
		env.t.Fatal(err)
	}
	return tx
}

// opayoPiOnly is the client as a hub without a working Reporting sees it: Reporting knows nothing.
type opayoPiOnly struct{ *opayo.Client }

func (opayoPiOnly) GetTransactionDetail(context.Context, opayo.TransactionRef) (*opayo.TransactionDetail, error) {
	return nil, &opayo.Error{Class: opayo.ClassNotFound, Op: "getTransactionDetail", Code: "0043", Message: "not found"}
}

func TestFetchOpayoDescribesTransactionsInTheOpayoVocabulary(t *testing.T) {
	t.Parallel()
	env := newOpayoEnv(t, opayosim.Options{})
	ctx := context.Background()
	piEngine, err := New(Config{Pool: env.pool, Opayo: opayoPiOnly{env.client}})
	if err != nil {
		t.Fatal(err)
	}

	payReq := env.piPayment("4929000000006", opayo.TransactionPayment, "38.40")
	payment := env.pay(payReq)
	deferred := env.pay(env.piPayment("5404000000000001", opayo.TransactionDeferred, "20.00"))
	declined := env.pay(env.piPayment("4929602110085639", opayo.TransactionPayment, "12.00"))
	refundCode := opayoCode("rf")
	refund := env.pay(opayo.RefundRequest{ReferenceTransactionID: payment.ID, VendorTxCode: refundCode,
		Amount: decimal.RequireFromString("10.00"), Currency: "GBP", Description: "Partial refund"})
	challengeReq := env.piPayment("4929000000006", opayo.TransactionPayment, "15.00")
	challengeReq.Apply3DSecure = opayo.CheckForce
	challengeReq.StrongCustomerAuthentication = &opayo.StrongCustomerAuthentication{
		NotificationURL: "https://shop.example/3ds", BrowserIP: "203.0.113.7", BrowserAcceptHeader: "text/html",
		BrowserJavascriptEnabled: true, BrowserLanguage: "en-GB", BrowserUserAgent: "Mozilla/5.0",
		ChallengeWindowSize: "Medium", TransType: "GoodsAndServicePurchase",
	}
	challenge := env.pay(challengeReq)
	if payment.Status != opayo.StatusOk || deferred.Status != opayo.StatusOk || declined.Status != opayo.StatusNotAuthed ||
		refund.Status != opayo.StatusOk || challenge.Status != opayo.Status3DAuth {
		t.Fatalf("setup: payment %s, deferred %s, declined %s, refund %s, challenge %s",
			payment.Status, deferred.Status, declined.Status, refund.Status, challenge.Status)
	}

	// The payment in full: Reporting's detail, with the customer, both addresses and the card.
	got, err := env.engine.fetchOpayo(ctx, "{"+strings.ToLower(payment.ID)+"}")
	if err != nil {
		t.Fatal(err)
	}
	want := GatewayTxn{
		Gateway: GatewayOpayo, TransactionID: payment.ID, Kind: KindSale,
		GatewayStatus: "Ok", GatewayStatusCode: "16", GatewayStatusDetail: "Successfully authorised transaction.",
		Reference: payReq.VendorTxCode, Amount: decimal.RequireFromString("38.40"), Currency: "GBP",
		CardBrand: "Visa", CardLastFour: "0006", CardExpiryMonth: 12, CardExpiryYear: 2030,
		AVSResult: "Matched/Matched", CVCResult: "Matched", ThreeDS: "NotChecked",
		Customer: Party{FirstName: "Sam", LastName: "Jones", Email: "sam@example.com",
			BillTo: Address{Line1: "88 Test Street", City: "London", PostalCode: "412", Country: "GB", Name: "Sam Jones"}},
		ShipTo:      Address{Line1: "1 Harbour Road", City: "Bristol", PostalCode: "BS1 1AA", Country: "GB", Name: "Ada Jones"},
		Description: "Payhub web order",
	}
	if got.OccurredAt.Location() != time.UTC || time.Since(got.OccurredAt).Abs() > time.Minute {
		t.Errorf("OccurredAt %v, want the completion time in UTC", got.OccurredAt)
	}
	raw := string(got.Raw)
	detail, err := env.client.GetTransactionDetail(ctx, opayo.ByVPSTxID(payment.ID))
	if err != nil || detail.SecurityKey.IsZero() {
		t.Fatalf("detail: %v", err)
	}
	if !strings.Contains(raw, `"source":"reporting.getTransactionDetail"`) || !strings.Contains(raw, payReq.VendorTxCode) ||
		strings.Contains(raw, string(detail.SecurityKey)) || strings.Contains(raw, "SecurityKey") {
		t.Errorf("Raw must describe the Reporting answer without its security key: %s", raw)
	}
	got.OccurredAt = time.Time{}
	assertTxn(t, got, want)

	cases := []struct {
		name, id, kind, status, code, parent string
		engine                               *Engine
		amount                               string
	}{
		{"deferred before release", deferred.ID, KindAuthorization, "Deferred", "14", "", env.engine, "20.00"},
		{"declined card", declined.ID, KindSale, "NotAuthed", "12", "", env.engine, "12.00"},
		{"refund", refund.ID, KindRefund, "Ok", "16", payment.ID, env.engine, "10.00"},
		{"3-D Secure challenge pending", challenge.ID, KindSale, "Pending", "5", "", env.engine, "15.00"},
		{"payment, Pi only", payment.ID, KindSale, "Ok", "0000", "", piEngine, "38.40"},
		{"deferred before release, Pi only", deferred.ID, KindAuthorization, "Deferred", "0000", "", piEngine, "20.00"},
		{"declined card, Pi only", declined.ID, KindSale, "NotAuthed", "2000", "", piEngine, "12.00"},
		{"3-D Secure challenge pending, Pi only", challenge.ID, KindSale, "3DAuth", "2021", "", piEngine, "15.00"},
	}
	for _, c := range cases {
		got, err := c.engine.fetchOpayo(ctx, c.id)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got.TransactionID != c.id || got.Kind != c.kind || got.GatewayStatus != c.status || got.GatewayStatusCode != c.code ||
			got.ParentTransactionID != c.parent || !got.Amount.Equal(decimal.RequireFromString(c.amount)) || got.Currency != "GBP" {
			t.Errorf("%s: got %s %s %s/%s parent %q amount %s %s, want %s %s %s/%s parent %q amount %s", c.name,
				got.TransactionID, got.Kind, got.GatewayStatus, got.GatewayStatusCode, got.ParentTransactionID, got.Amount, got.Currency,
				c.id, c.kind, c.status, c.code, c.parent, c.amount)
		}
		if got.GatewayStatusDetail == "" || len(got.Raw) == 0 || got.OccurredAt.IsZero() {
			t.Errorf("%s: detail %q, raw %d bytes, occurred %v", c.name, got.GatewayStatusDetail, len(got.Raw), got.OccurredAt)
		}
	}
	if got, _ := env.engine.fetchOpayo(ctx, declined.ID); got.Reference == "" || got.CardLastFour != "5639" || got.CardBrand != "Visa" {
		t.Errorf("declined: reference %q, card %s %s", got.Reference, got.CardBrand, got.CardLastFour)
	}

	// Released, the deferred stays an authorization and reads Ok; voided, a payment reads Voided.
	if _, err := env.client.Release(ctx, deferred.ID, decimal.RequireFromString("20.00"), "GBP"); err != nil {
		t.Fatal(err)
	}
	second := env.pay(env.piPayment("4462000000000003", opayo.TransactionPayment, "5.00"))
	if _, err := env.client.Void(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, id, kind, status, code string
		engine                       *Engine
	}{
		{"deferred after release", deferred.ID, KindAuthorization, "Ok", "16", env.engine},
		{"deferred after release, Pi only", deferred.ID, KindAuthorization, "Ok", "2004", piEngine},
		{"voided payment", second.ID, KindSale, "Voided", "18", env.engine},
		{"voided payment, Pi only", second.ID, KindSale, "Voided", "2005", piEngine},
	} {
		got, err := c.engine.fetchOpayo(ctx, c.id)
		if err != nil || got.Kind != c.kind || got.GatewayStatus != c.status || got.GatewayStatusCode != c.code {
			t.Errorf("%s: %s %s/%s, %v; want %s %s/%s", c.name, got.Kind, got.GatewayStatus, got.GatewayStatusCode, err, c.kind, c.status, c.code)
		}
	}

	for _, e := range []*Engine{env.engine, piEngine} {
		if _, err := e.fetchOpayo(ctx, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, ErrTxnNotFound) || isPermanent(err) {
			t.Errorf("unknown transaction: %v, want ErrTxnNotFound (retried)", err)
		}
	}
	if _, err := env.engine.fetchOpayo(ctx, "<not an id>"); !isPermanent(err) {
		t.Errorf("malformed id: %v, want a permanent error", err)
	}
}

func TestOpayoPollerQueuesExactlyUnknownAndChangedPaymentsAndAdvancesTheCursor(t *testing.T) {
	t.Parallel()
	env := newOpayoEnv(t, opayosim.Options{})
	ctx := context.Background()

	known := env.pay(env.piPayment("4929000000006", opayo.TransactionPayment, "10.00"))
	changed := env.pay(env.piPayment("5404000000000001", opayo.TransactionDeferred, "20.00"))
	unknown := env.pay(env.piPayment("4929602110085639", opayo.TransactionPayment, "30.00"))
	if _, err := env.client.Release(ctx, changed.ID, decimal.RequireFromString("20.00"), "GBP"); err != nil {
		t.Fatal(err)
	}
	// Payhub knows the first as authorised, and the second only as the unreleased deferred.
	for _, p := range []struct{ id, kind, status, gatewayStatus string }{
		{known.ID, KindSale, "captured", "Ok"},
		{changed.ID, KindAuthorization, "authorized", "Deferred"},
	} {
		if _, err := env.pool.Exec(ctx, `INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference, kind, status,
			gateway_status, amount, currency, occurred_at) VALUES ('opayo', $1, 'ref', $2, $3, $4, 10, 'GBP', now())`,
			p.id, p.kind, p.status, p.gatewayStatus); err != nil {
			t.Fatal(err)
		}
	}
	details := map[string]*opayo.TransactionDetail{}
	for _, id := range []string{known.ID, changed.ID, unknown.ID} {
		d, err := env.client.GetTransactionDetail(ctx, opayo.ByVPSTxID(id))
		if err != nil {
			t.Fatal(err)
		}
		details[id] = d
	}
	newest := details[unknown.ID].Started.UTC()

	now := time.Now()
	poll, err := env.engine.pollOpayo(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if poll.Listed != 3 || !poll.From.Equal(now.Add(-opayoPollLookback-opayoPollOverlap)) {
		t.Errorf("first poll listed %d from %v, want 3 from 24h15m back", poll.Listed, poll.From)
	}
	if got := strings.Join(poll.Fetch, ","); got != changed.ID+","+unknown.ID {
		t.Errorf("queued %s, want the changed and the unknown payment (%s,%s)", got, changed.ID, unknown.ID)
	}
	if got := fetchJobIDs(t, env.pool, GatewayOpayo); strings.Join(got, ",") != strings.Join(poll.Fetch, ",") {
		t.Errorf("fetch_transaction jobs %v, want %v", got, poll.Fetch)
	}
	if pos := cursorPosition(t, env.pool, opayoCursor); pos != newest.Format(time.RFC3339Nano) || !poll.Cursor.Equal(newest) {
		t.Errorf("cursor %q (%v), want the newest Started %s", pos, poll.Cursor, newest.Format(time.RFC3339Nano))
	}

	// Payhub catches up on both; the next poll starts at the cursor less the overlap and queues
	// nothing; a transaction taken since is queued once.
	for id, status := range map[string]string{changed.ID: "Ok", unknown.ID: "NotAuthed"} {
		if _, err := env.pool.Exec(ctx, `INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference, kind, status,
			gateway_status, amount, currency, occurred_at) VALUES ('opayo', $1, 'ref', 'sale', 'pending', $2, 1, 'GBP', now())
			ON CONFLICT (gateway, gateway_transaction_id) DO UPDATE SET gateway_status = EXCLUDED.gateway_status`, id, status); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := env.pool.Exec(ctx, `DELETE FROM river_job WHERE kind = 'fetch_transaction'`); err != nil {
		t.Fatal(err)
	}
	poll, err = env.engine.pollOpayo(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !poll.From.Equal(newest.Add(-opayoPollOverlap)) || poll.Listed != 3 || len(poll.Fetch) != 0 || len(fetchJobIDs(t, env.pool, GatewayOpayo)) != 0 {
		t.Errorf("second poll: from %v listed %d queued %v; want from %v, 3 listed, none queued", poll.From, poll.Listed, poll.Fetch, newest.Add(-opayoPollOverlap))
	}
	later := env.pay(env.piPayment("4462000000000003", opayo.TransactionPayment, "7.00"))
	poll, err = env.engine.pollOpayo(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	d, err := env.client.GetTransactionDetail(ctx, opayo.ByVPSTxID(later.ID))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(poll.Fetch, ",") != later.ID || strings.Join(fetchJobIDs(t, env.pool, GatewayOpayo), ",") != later.ID ||
		cursorPosition(t, env.pool, opayoCursor) != d.Started.UTC().Format(time.RFC3339Nano) {
		t.Errorf("third poll queued %v (jobs %v), cursor %s; want only %s and its Started", poll.Fetch, fetchJobIDs(t, env.pool, GatewayOpayo), cursorPosition(t, env.pool, opayoCursor), later.ID)
	}

	// Reporting down: the poll fails, the cursor stays, nothing is queued.
	env.sim.SetFaults(opayosim.Faults{ErrorRate: 1})
	before := cursorPosition(t, env.pool, opayoCursor)
	if _, err := env.engine.pollOpayo(ctx, time.Now()); err == nil || !opayo.IsTransient(err) {
		t.Errorf("poll with Reporting down: %v, want a transient error", err)
	}
	if cursorPosition(t, env.pool, opayoCursor) != before || len(fetchJobIDs(t, env.pool, GatewayOpayo)) != 1 {
		t.Errorf("a failed poll changed the cursor or the queue")
	}
}

func TestOpayoPollerIsRegisteredOnlyWithOpayo(t *testing.T) {
	t.Parallel()
	client, err := opayo.New(opayo.Config{Vendor: "v", ReportingURL: "http://127.0.0.1:1/access/access.htm"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		opayo    Opayo
		periodic int
	}{
		{"without opayo", nil, 0},
		{"with opayo", client, 1},
	} {
		e := &Engine{cfg: Config{Opayo: c.opayo, PollInterval: time.Minute}}
		r := &registry{workers: river.NewWorkers()}
		e.registerOpayo(r)
		if len(r.periodic) != c.periodic || r.working != (c.periodic == 1) {
			t.Errorf("%s: %d periodic jobs, working %v", c.name, len(r.periodic), r.working)
		}
	}
	// River accepts the worker, the periodic job and its unique options together.
	if _, err := New(Config{Pool: dbtest.New(t), Opayo: client}); err != nil {
		t.Errorf("engine with opayo: %v", err)
	}
}
