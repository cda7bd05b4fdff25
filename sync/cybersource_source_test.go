package sync

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
)

// csEnv is a Cybersource simulator behind real HTTP, a client of it, a fresh database and an
// engine (not started) built on both.
type csEnv struct {
	sim    *cybersourcesim.Server
	client *cybersource.Client
	pool   *pgxpool.Pool
	engine *Engine
	hooks  *csHookSink
	url    string // the simulator's base URL
}

// csHookSink keeps the webhook bodies the simulator delivers.
type csHookSink struct {
	mu     stdsync.Mutex
	bodies [][]byte
}

func (h *csHookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, b)
	h.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// wait returns the first delivered body of eventType about transaction id.
func (h *csHookSink) wait(t *testing.T, eventType, id string) []byte {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		for _, b := range h.bodies {
			n, err := cybersource.ParseNotification(b)
			if err == nil && n.EventType == eventType && n.Payload.TransactionID == id {
				h.mu.Unlock()
				return b
			}
		}
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s webhook about %s delivered", eventType, id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newCsEnv(t *testing.T, opts cybersourcesim.Options) *csEnv {
	t.Helper()
	env := &csEnv{hooks: &csHookSink{}}
	hookSrv := httptest.NewServer(env.hooks)
	t.Cleanup(hookSrv.Close)
	opts.WebhookURL = hookSrv.URL
	env.sim = cybersourcesim.New(opts)
	simSrv := httptest.NewServer(env.sim)
	env.url = simSrv.URL
	t.Cleanup(func() {
		simSrv.Close()
		env.sim.Close()
	})
	var err error
	env.client, err = cybersource.New(cybersource.Config{BaseURL: simSrv.URL, MerchantID: cybersourcesim.DefaultMerchantID,
		KeyID: cybersourcesim.DefaultKeyID, Secret: cybersourcesim.DefaultSecret})
	if err != nil {
		t.Fatal(err)
	}
	env.pool = dbtest.New(t)
	env.engine, err = New(Config{Pool: env.pool, Cybersource: env.client})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

var (
	csBillTo = &cybersource.Address{FirstName: "Ada", LastName: "Lovelace", Company: "Analytical Engines Ltd",
		Address1: "1 Harbour Road", Address2: "Floor 2", Locality: "Bristol", AdministrativeArea: "Avon",
		PostalCode: "BS1 1AA", Country: "GB", Email: "ada@example.com", PhoneNumber: "+441170000000"}
	csShipTo = &cybersource.Address{FirstName: "Grace", LastName: "Hopper", Address1: "2 Dock Lane", Address2: "Unit 4",
		Locality: "Leeds", AdministrativeArea: "West Yorkshire", PostalCode: "LS1 4AP", Country: "GB"}
)

func csDec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// csPay creates a payment through the client and fails unless the simulator answers status.
func csPay(t *testing.T, env *csEnv, p cybersource.PaymentRequest, status string) *cybersource.PaymentResult {
	t.Helper()
	if p.Currency == "" {
		p.Currency = "GBP"
	}
	if p.BillTo == nil {
		b := *csBillTo
		p.BillTo = &b
	}
	res, err := env.client.CreatePayment(context.Background(), p)
	if err != nil || res.Status != status {
		t.Fatalf("payment %s: %+v %v, want %s", p.Reference, res, err, status)
	}
	return res
}

func csVisa(cvv string) *cybersource.Card {
	return &cybersource.Card{Number: "4111111111111111", ExpirationMonth: "12", ExpirationYear: "2031", SecurityCode: cvv}
}

func csFetch(t *testing.T, env *csEnv, id string) GatewayTxn {
	t.Helper()
	tx, err := env.engine.fetchCybersource(context.Background(), id)
	if err != nil {
		t.Fatalf("fetch %s: %v", id, err)
	}
	if tx.TransactionID != id || tx.Gateway != GatewayCybersource {
		t.Fatalf("fetch %s: id %q gateway %q", id, tx.TransactionID, tx.Gateway)
	}
	if len(tx.Raw) == 0 || !json.Valid(tx.Raw) || strings.Contains(string(tx.Raw), "4111111111111111") ||
		strings.Contains(string(tx.Raw), "5555555555554444") {
		t.Errorf("fetch %s: raw answer missing, invalid or holding a card number: %s", id, tx.Raw)
	}
	return tx
}

func csSubmitted(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at.UTC()
}

// pair is the "kind:status" a status_map rule keys on.
func csPair(tx GatewayTxn) string { return tx.Kind + ":" + tx.GatewayStatus }

func TestCybersourceFetchDescribesASaleInFull(t *testing.T) {
	t.Parallel()
	env := newCsEnv(t, cybersourcesim.Options{})
	shipTo := *csShipTo
	res := csPay(t, env, cybersource.PaymentRequest{
		Reference: "ORD-1001", Capture: true, Amount: csDec("52.40"), ShipTo: &shipTo, Card: csVisa("123"),
		Actions: []string{cybersource.ActionTokenCreate}, ActionTokenTypes: []string{cybersource.TokenTypeCustomer},
		LineItems: []cybersource.LineItem{
			{ProductCode: "WIDGET", ProductName: "Blue widget", ProductSKU: "WID-BLUE-01", Quantity: 2,
				UnitPrice: csDec("20.00"), TaxAmount: csDec("4.00"), TotalAmount: csDec("44.00")},
			{ProductCode: "FREIGHT", ProductName: "Delivery", UnitPrice: csDec("8.40")},
		},
	}, "AUTHORIZED")
	customerID := res.TokenInformation.Customer.ID
	if customerID == "" {
		t.Fatalf("no customer token: %s", res.Raw)
	}

	tx := csFetch(t, env, res.ID)
	score := 12
	want := GatewayTxn{
		Gateway: GatewayCybersource, TransactionID: res.ID, Kind: KindSale, GatewayStatus: "PENDING",
		GatewayStatusCode: "100", Reference: "ORD-1001", Amount: csDec("52.40"), Currency: "GBP",
		OccurredAt: csSubmitted(t, res.SubmitTimeUTC), CardBrand: "Visa", CardLastFour: "1111", CardExpiryMonth: 12,
		CardExpiryYear: 2031, AVSResult: "Y", CVCResult: "M", RiskScore: &score, RiskDecision: "accept",
		Customer: Party{GatewayCustomerID: customerID, FirstName: "Ada", LastName: "Lovelace",
			Company: "Analytical Engines Ltd", Email: "ada@example.com", Phone: "+441170000000",
			BillTo: Address{Line1: "1 Harbour Road", Line2: "Floor 2", City: "Bristol", Region: "Avon", PostalCode: "BS1 1AA", Country: "GB"}},
		ShipTo: Address{Line1: "2 Dock Lane", Line2: "Unit 4", City: "Leeds", Region: "West Yorkshire", PostalCode: "LS1 4AP",
			Country: "GB", Name: "Grace Hopper"},
		Lines: []Line{
			{SKU: "WID-BLUE-01", Name: "Blue widget", Quantity: csDec("2"), UnitPrice: csDec("20.00"), TaxAmount: csDec("4.00"), TotalAmount: csDec("44.00")},
			{SKU: "FREIGHT", Name: "Delivery", Quantity: csDec("1"), UnitPrice: csDec("8.40"), TaxAmount: csDec("0"), TotalAmount: csDec("8.40")},
		},
	}
	assertTxn(t, tx, want)

	// After the daily cut-off the sale is batched.
	env.sim.Clock().Advance(24 * time.Hour)
	if got := csFetch(t, env, res.ID); csPair(got) != "sale:BATCHED" {
		t.Errorf("after the cut-off: %s, want sale:BATCHED", csPair(got))
	}
}

// assertTxn compares every field a source sets (Raw is checked by the caller).
func assertTxn(t *testing.T, got, want GatewayTxn) {
	t.Helper()
	errorf := func(field string, g, w any) {
		t.Errorf("%s %s: %s = %v, want %v", want.Kind, want.TransactionID, field, g, w)
	}
	for _, c := range []struct {
		field string
		g, w  string
	}{
		{"Gateway", got.Gateway, want.Gateway}, {"TransactionID", got.TransactionID, want.TransactionID},
		{"ParentTransactionID", got.ParentTransactionID, want.ParentTransactionID}, {"Kind", got.Kind, want.Kind},
		{"GatewayStatus", got.GatewayStatus, want.GatewayStatus}, {"GatewayStatusCode", got.GatewayStatusCode, want.GatewayStatusCode},
		{"Reference", got.Reference, want.Reference}, {"Currency", got.Currency, want.Currency},
		{"CardBrand", got.CardBrand, want.CardBrand}, {"CardLastFour", got.CardLastFour, want.CardLastFour},
		{"AVSResult", got.AVSResult, want.AVSResult}, {"CVCResult", got.CVCResult, want.CVCResult},
		{"ThreeDS", got.ThreeDS, want.ThreeDS}, {"RiskDecision", got.RiskDecision, want.RiskDecision},
		{"Description", got.Description, want.Description},
	} {
		if c.g != c.w {
			errorf(c.field, c.g, c.w)
		}
	}
	if !strings.HasPrefix(got.GatewayStatusDetail, want.GatewayStatusDetail) || (want.GatewayStatusDetail == "") != (got.GatewayStatusDetail == "") {
		errorf("GatewayStatusDetail", got.GatewayStatusDetail, want.GatewayStatusDetail+"…")
	}
	if !got.Amount.Equal(want.Amount) {
		errorf("Amount", got.Amount, want.Amount)
	}
	if !got.OccurredAt.Equal(want.OccurredAt) {
		errorf("OccurredAt", got.OccurredAt, want.OccurredAt)
	}
	if got.CardExpiryMonth != want.CardExpiryMonth || got.CardExpiryYear != want.CardExpiryYear {
		errorf("CardExpiry", [2]int{got.CardExpiryMonth, got.CardExpiryYear}, [2]int{want.CardExpiryMonth, want.CardExpiryYear})
	}
	if (got.RiskScore == nil) != (want.RiskScore == nil) || (got.RiskScore != nil && *got.RiskScore != *want.RiskScore) {
		errorf("RiskScore", csPtrString(got.RiskScore), csPtrString(want.RiskScore))
	}
	if !slices.Equal(got.RiskReasons, want.RiskReasons) {
		errorf("RiskReasons", got.RiskReasons, want.RiskReasons)
	}
	if got.Customer != want.Customer {
		errorf("Customer", got.Customer, want.Customer)
	}
	if got.ShipTo != want.ShipTo {
		errorf("ShipTo", got.ShipTo, want.ShipTo)
	}
	if len(got.Lines) != len(want.Lines) {
		errorf("Lines", got.Lines, want.Lines)
		return
	}
	for i, l := range want.Lines {
		g := got.Lines[i]
		if g.SKU != l.SKU || g.Name != l.Name || !g.Quantity.Equal(l.Quantity) || !g.UnitPrice.Equal(l.UnitPrice) ||
			!g.TaxAmount.Equal(l.TaxAmount) || !g.TotalAmount.Equal(l.TotalAmount) {
			errorf("Lines["+string(rune('0'+i))+"]", g, l)
		}
	}
}

func csPtrString(p *int) string {
	if p == nil {
		return "nil"
	}
	b, _ := json.Marshal(*p)
	return string(b)
}

func TestCybersourceFetchNamesEveryKindAndStatus(t *testing.T) {
	t.Parallel()
	env := newCsEnv(t, cybersourcesim.Options{})
	ctx := context.Background()
	mc := &cybersource.Card{Number: "5555555555554444", ExpirationMonth: "03", ExpirationYear: "2030", SecurityCode: "321"}

	// An authorization, then a partial capture of it.
	auth := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-2001", Amount: csDec("30.00"), Card: mc}, "AUTHORIZED")
	capture, err := env.client.Capture(ctx, auth.ID, cybersource.CaptureRequest{Reference: "ORD-2001-C1", Amount: csDec("25.00"), Currency: "GBP"})
	if err != nil {
		t.Fatal(err)
	}
	// A decline, a review on the security code, Decision Manager review and reject.
	declined := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-2002", Amount: csDec("5.00"),
		Card: &cybersource.Card{Number: "4000000000000002", ExpirationMonth: "12", ExpirationYear: "2031"}}, "DECLINED")
	cvReview := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-2003", Amount: csDec("6.00"), Card: csVisa("999")}, "AUTHORIZED_PENDING_REVIEW")
	dmBill := *csBillTo
	dmBill.Email = "review@example.com"
	dmReview := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-2004", Amount: csDec("7.00"), Card: csVisa("123"), BillTo: &dmBill}, "AUTHORIZED_PENDING_REVIEW")
	rejBill := *csBillTo
	rejBill.Email = "reject@example.com"
	dmReject := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-2005", Amount: csDec("8.00"), Card: csVisa("123"), BillTo: &rejBill}, "AUTHORIZED_RISK_DECLINED")
	// A sale refunded in part; another sale voided; an authorization reversed.
	sale := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-2006", Capture: true, Amount: csDec("40.00"), Card: csVisa("123")}, "AUTHORIZED")
	refund, err := env.client.RefundPayment(ctx, sale.ID, cybersource.RefundRequest{Reference: "ORD-2006-R1", Amount: csDec("10.00"), Currency: "GBP"})
	if err != nil {
		t.Fatal(err)
	}
	voidedSale := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-2007", Capture: true, Amount: csDec("9.00"), Card: csVisa("123")}, "AUTHORIZED")
	void, err := env.client.Void(ctx, cybersource.VoidPayment, voidedSale.ID, "ORD-2007-V")
	if err != nil {
		t.Fatal(err)
	}
	reversedAuth := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-2008", Amount: csDec("11.00"), Card: csVisa("123")}, "AUTHORIZED")
	reversal, err := env.client.Reverse(ctx, reversedAuth.ID, cybersource.ReversalRequest{Reference: "ORD-2008-X", Amount: csDec("11.00"), Currency: "GBP"})
	if err != nil {
		t.Fatal(err)
	}

	twelve, seventyFive, ninetyFive := 12, 75, 95
	visaCard := func(tx GatewayTxn) GatewayTxn {
		tx.CardBrand, tx.CardLastFour, tx.CardExpiryMonth, tx.CardExpiryYear = "Visa", "1111", 12, 2031
		return tx
	}
	customer := Party{FirstName: "Ada", LastName: "Lovelace", Company: "Analytical Engines Ltd", Email: "ada@example.com",
		Phone: "+441170000000", BillTo: Address{Line1: "1 Harbour Road", Line2: "Floor 2", City: "Bristol", Region: "Avon",
			PostalCode: "BS1 1AA", Country: "GB"}}
	withEmail := func(email string) Party { p := customer; p.Email = email; return p }
	base := func(id, ref, kind, status, code string, amount string, at string) GatewayTxn {
		return GatewayTxn{Gateway: GatewayCybersource, TransactionID: id, Kind: kind, GatewayStatus: status, GatewayStatusCode: code,
			Reference: ref, Amount: csDec(amount), Currency: "GBP", OccurredAt: csSubmitted(t, at)}
	}

	cases := []GatewayTxn{}
	a := base(auth.ID, "ORD-2001", KindAuthorization, "AUTHORIZED", "100", "30.00", auth.SubmitTimeUTC)
	a.CardBrand, a.CardLastFour, a.CardExpiryMonth, a.CardExpiryYear = "Mastercard", "4444", 3, 2030
	a.AVSResult, a.CVCResult, a.RiskScore, a.RiskDecision, a.Customer = "Y", "M", &twelve, "accept", customer
	cases = append(cases, a)

	c := base(capture.ID, "ORD-2001-C1", KindCapture, "PENDING", "100", "25.00", capture.SubmitTimeUTC)
	c.ParentTransactionID = auth.ID
	c.CardBrand, c.CardLastFour, c.CardExpiryMonth, c.CardExpiryYear = "Mastercard", "4444", 3, 2030
	cases = append(cases, c)

	d := visaCard(base(declined.ID, "ORD-2002", KindAuthorization, "DECLINED", "203", "5.00", declined.SubmitTimeUTC))
	d.GatewayStatusDetail, d.Customer = "PROCESSOR_DECLINED: Decline - General decline", customer
	d.CardLastFour = "0002"
	cases = append(cases, d)

	cv := visaCard(base(cvReview.ID, "ORD-2003", KindAuthorization, "AUTHORIZED_PENDING_REVIEW", "230", "6.00", cvReview.SubmitTimeUTC))
	cv.GatewayStatusDetail, cv.AVSResult, cv.CVCResult, cv.RiskScore, cv.RiskDecision, cv.Customer =
		"CV_FAILED: Soft Decline", "Y", "N", &twelve, "accept", customer
	cases = append(cases, cv)

	rv := visaCard(base(dmReview.ID, "ORD-2004", KindAuthorization, "AUTHORIZED_PENDING_REVIEW", "480", "7.00", dmReview.SubmitTimeUTC))
	rv.GatewayStatusDetail, rv.AVSResult, rv.CVCResult, rv.RiskScore, rv.RiskDecision, rv.RiskReasons, rv.Customer =
		"DECISION_PROFILE_REVIEW: ", "Y", "M", &seventyFive, "review", []string{cybersourcesim.RuleReviewEmail}, withEmail("review@example.com")
	cases = append(cases, rv)

	rj := visaCard(base(dmReject.ID, "ORD-2005", KindAuthorization, "AUTHORIZED_RISK_DECLINED", "481", "8.00", dmReject.SubmitTimeUTC))
	rj.GatewayStatusDetail, rj.AVSResult, rj.CVCResult, rj.RiskScore, rj.RiskDecision, rj.RiskReasons, rj.Customer =
		"DECISION_PROFILE_REJECT: ", "Y", "M", &ninetyFive, "reject", []string{cybersourcesim.RuleRejectEmail}, withEmail("reject@example.com")
	cases = append(cases, rj)

	s := visaCard(base(sale.ID, "ORD-2006", KindSale, "PENDING", "100", "40.00", sale.SubmitTimeUTC))
	s.AVSResult, s.CVCResult, s.RiskScore, s.RiskDecision, s.Customer = "Y", "M", &twelve, "accept", customer
	cases = append(cases, s)

	r := visaCard(base(refund.ID, "ORD-2006-R1", KindRefund, "PENDING", "100", "10.00", refund.SubmitTimeUTC))
	r.ParentTransactionID = sale.ID
	cases = append(cases, r)

	vs := visaCard(base(voidedSale.ID, "ORD-2007", KindSale, "VOIDED", "100", "9.00", voidedSale.SubmitTimeUTC))
	vs.AVSResult, vs.CVCResult, vs.RiskScore, vs.RiskDecision, vs.Customer = "Y", "M", &twelve, "accept", customer
	cases = append(cases, vs)

	v := visaCard(base(void.ID, "ORD-2007-V", KindVoid, "VOIDED", "100", "9.00", void.SubmitTimeUTC))
	v.ParentTransactionID = voidedSale.ID
	cases = append(cases, v)

	ra := visaCard(base(reversedAuth.ID, "ORD-2008", KindAuthorization, "REVERSED", "100", "11.00", reversedAuth.SubmitTimeUTC))
	ra.AVSResult, ra.CVCResult, ra.RiskScore, ra.RiskDecision, ra.Customer = "Y", "M", &twelve, "accept", customer
	cases = append(cases, ra)

	x := visaCard(base(reversal.ID, "ORD-2008-X", KindVoid, "REVERSED", "100", "11.00", reversal.SubmitTimeUTC))
	x.ParentTransactionID = reversedAuth.ID
	cases = append(cases, x)

	for _, want := range cases {
		assertTxn(t, csFetch(t, env, want.TransactionID), want)
	}

	// A review accepted becomes AUTHORIZED; settlement moves captures and refunds to BATCHED.
	if err := env.sim.ResolveReview(dmReview.ID, "ACCEPT", "analyst", "fine"); err != nil {
		t.Fatal(err)
	}
	env.sim.Clock().Advance(24 * time.Hour)
	for id, want := range map[string]string{
		dmReview.ID: "authorization:AUTHORIZED", capture.ID: "capture:BATCHED", refund.ID: "refund:BATCHED",
		sale.ID: "sale:BATCHED", auth.ID: "authorization:AUTHORIZED", voidedSale.ID: "sale:VOIDED",
	} {
		if got := csFetch(t, env, id); csPair(got) != want {
			t.Errorf("%s after the cut-off: %s, want %s", id, csPair(got), want)
		}
	}
	if got := csFetch(t, env, dmReview.ID); got.RiskDecision != "accept" {
		t.Errorf("accepted review: risk decision %q", got.RiskDecision)
	}
}

func TestCybersourceFetchErrors(t *testing.T) {
	t.Parallel()
	env := newCsEnv(t, cybersourcesim.Options{IndexDelay: time.Hour})
	pay := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-3001", Amount: csDec("3.00"), Card: csVisa("123")}, "AUTHORIZED")

	// Not indexed yet: not found, to be retried.
	_, err := env.engine.fetchCybersource(context.Background(), pay.ID)
	if !errors.Is(err, ErrTxnNotFound) || isPermanent(err) || !cybersource.IsNotFound(err) {
		t.Fatalf("unindexed transaction: %v (permanent %v)", err, isPermanent(err))
	}
	env.sim.Clock().Advance(time.Hour)
	if tx := csFetch(t, env, pay.ID); csPair(tx) != "authorization:AUTHORIZED" {
		t.Errorf("once indexed: %s", csPair(tx))
	}

	// A refused credential is permanent.
	bad, err := cybersource.New(cybersource.Config{BaseURL: env.url, MerchantID: cybersourcesim.DefaultMerchantID,
		KeyID: cybersourcesim.DefaultKeyID, Secret: "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE="})
	if err != nil {
		t.Fatal(err)
	}
	badEngine := &Engine{cfg: Config{Cybersource: bad}}
	if _, err := badEngine.fetchCybersource(context.Background(), pay.ID); !isPermanent(err) || errors.Is(err, ErrTxnNotFound) {
		t.Errorf("refused credential: %v, want a permanent error", err)
	}
	// A transport failure is transient.
	down, _ := cybersource.New(cybersource.Config{BaseURL: "http://127.0.0.1:1", MerchantID: cybersourcesim.DefaultMerchantID,
		KeyID: cybersourcesim.DefaultKeyID, Secret: cybersourcesim.DefaultSecret})
	downEngine := &Engine{cfg: Config{Cybersource: down}}
	if _, err := downEngine.fetchCybersource(context.Background(), pay.ID); err == nil || isPermanent(err) || errors.Is(err, ErrTxnNotFound) {
		t.Errorf("unreachable gateway: %v, want a transient error", err)
	}
}

// storeMessage records a verified webhook body as the intake would.
func csStoreMessage(t *testing.T, env *csEnv, eventID string, body []byte) db.InboundMessage {
	t.Helper()
	msg, err := db.New(env.pool).RecordInboundMessage(context.Background(), db.RecordInboundMessageParams{
		Source: GatewayCybersource, ExternalEventID: &eventID, ContentType: "application/json", Headers: []byte(`{}`),
		Body: redactCardNumbers(string(body)), SignatureStatus: "valid", Status: "received"})
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestCybersourceNotificationsAreNormalisedFromTransactionDetails(t *testing.T) {
	t.Parallel()
	env := newCsEnv(t, cybersourcesim.Options{})
	ctx := context.Background()

	// A sale announces its capture; the stored message yields the sale as TSS describes it.
	sale := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-4001", Capture: true, Amount: csDec("15.00"), Card: csVisa("123")}, "AUTHORIZED")
	msg := csStoreMessage(t, env, "evt-sale", env.hooks.wait(t, cybersource.EventCaptureAccepted, sale.ID))
	txns, err := env.engine.normaliseCybersourceMessage(ctx, msg)
	if err != nil || len(txns) != 1 || txns[0].TransactionID != sale.ID || csPair(txns[0]) != "sale:PENDING" ||
		txns[0].Reference != "ORD-4001" || !txns[0].Amount.Equal(csDec("15.00")) {
		t.Fatalf("sale notification: %+v %v", txns, err)
	}

	// A refund's notification yields the refund, linked to the sale.
	refund, err := env.client.RefundPayment(ctx, sale.ID, cybersource.RefundRequest{Reference: "ORD-4001-R", Amount: csDec("5.00"), Currency: "GBP"})
	if err != nil {
		t.Fatal(err)
	}
	msg = csStoreMessage(t, env, "evt-refund", env.hooks.wait(t, cybersource.EventRefundAccepted, refund.ID))
	txns, err = env.engine.normaliseCybersourceMessage(ctx, msg)
	if err != nil || len(txns) != 1 || csPair(txns[0]) != "refund:PENDING" || txns[0].ParentTransactionID != sale.ID {
		t.Fatalf("refund notification: %+v %v", txns, err)
	}

	// A Decision Manager case accepted with a capture yields the payment and the capture.
	bill := *csBillTo
	bill.Email = "review@example.com"
	review := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-4002", Amount: csDec("20.00"), Card: csVisa("123"), BillTo: &bill}, "AUTHORIZED_PENDING_REVIEW")
	action, err := env.client.TakeReviewAction(ctx, review.ID, cybersource.ReviewAction{Decision: cybersource.DecisionAccept,
		Comments: "known customer", Actions: []string{cybersource.ReviewActionCapture}})
	if err != nil {
		t.Fatal(err)
	}
	msg = csStoreMessage(t, env, "evt-case", env.hooks.wait(t, cybersource.EventDecisionAccept, review.ID))
	txns, err = env.engine.normaliseCybersourceMessage(ctx, msg)
	if err != nil || len(txns) != 2 {
		t.Fatalf("case notification: %+v %v (action %+v)", txns, err, action)
	}
	if txns[0].TransactionID != review.ID || csPair(txns[0]) != "authorization:AUTHORIZED" || txns[0].RiskDecision != "accept" {
		t.Errorf("case payment: %s %s %s", txns[0].TransactionID, csPair(txns[0]), txns[0].RiskDecision)
	}
	if csPair(txns[1]) != "capture:PENDING" || txns[1].ParentTransactionID != review.ID || !txns[1].Amount.Equal(csDec("20.00")) {
		t.Errorf("case capture: %+v", txns[1])
	}

	// A token life-cycle event concerns no transaction.
	token := csStoreMessage(t, env, "evt-token", []byte(`{"eventType":"tms.networktoken.provisioned","webhookId":"w","productId":"tokenManagement",`+
		`"organizationId":"payhub_sandbox","eventDate":"2026-11-21T10:00:00","payload":{"data":{"_links":{},"id":"7010000000016241111",`+
		`"type":"tokenizedCardEnrollments","version":"1.0"},"organizationId":"payhub_sandbox"}}`))
	if txns, err := env.engine.normaliseCybersourceMessage(ctx, token); txns != nil || err != nil {
		t.Errorf("token event: %+v %v, want nothing", txns, err)
	}

	// A malformed body, or a payments event without an id, is permanent.
	for i, body := range []string{`{not json`, `{"payload":{}}`, `{"eventType":"payments.capture.status.accepted","payload":{"data":{"type":"captures"}}}`} {
		m := csStoreMessage(t, env, "evt-bad-"+string(rune('a'+i)), []byte(body))
		if _, err := env.engine.normaliseCybersourceMessage(ctx, m); !isPermanent(err) {
			t.Errorf("body %s: %v, want a permanent error", body, err)
		}
	}
}

func TestCybersourceNotificationOfAnUnindexedTransactionIsRetried(t *testing.T) {
	t.Parallel()
	env := newCsEnv(t, cybersourcesim.Options{IndexDelay: time.Hour})
	pay := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-4101", Amount: csDec("2.00"), Card: csVisa("123")}, "AUTHORIZED")
	msg := csStoreMessage(t, env, "evt-1", env.hooks.wait(t, "payments.authorization.status.accepted", pay.ID))
	_, err := env.engine.normaliseCybersourceMessage(context.Background(), msg)
	if !errors.Is(err, ErrTxnNotFound) || isPermanent(err) {
		t.Fatalf("unindexed: %v", err)
	}
}

// fetchJobIDs lists the transactions of the queued lookups at gateway.
func fetchJobIDs(t *testing.T, pool *pgxpool.Pool, gateway string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT args->>'transactionId' FROM river_job
		WHERE kind = 'fetch_transaction' AND args->>'gateway' = $1 ORDER BY id`, gateway)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func csStorePayment(t *testing.T, pool *pgxpool.Pool, id, kind, gatewayStatus string) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference, kind,
		status, gateway_status, amount, currency, occurred_at) VALUES ('cybersource', $1, 'REF', $2, 'authorized', $3, 1, 'GBP', now())`,
		id, kind, gatewayStatus); err != nil {
		t.Fatal(err)
	}
}

// cursorPosition is the stored position of the sync cursor name.
func cursorPosition(t *testing.T, pool *pgxpool.Pool, name string) string {
	t.Helper()
	c, err := db.New(pool).GetSyncCursor(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return c.Position
}

func TestCybersourcePollerQueuesUnknownAndChangedPaymentsAndAdvancesItsCursor(t *testing.T) {
	t.Parallel()
	// The simulator starts two days back, so that one transaction is older than the first poll's
	// look-back.
	env := newCsEnv(t, cybersourcesim.Options{Start: time.Now().Add(-48 * time.Hour)})
	ctx := context.Background()
	old := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-5000", Amount: csDec("1.00"), Card: csVisa("123")}, "AUTHORIZED")
	env.sim.Clock().Advance(48 * time.Hour)

	unknown := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-5001", Capture: true, Amount: csDec("10.00"), Card: csVisa("123")}, "AUTHORIZED")
	same := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-5002", Amount: csDec("11.00"), Card: csVisa("123")}, "AUTHORIZED")
	changed := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-5003", Amount: csDec("12.00"), Card: csVisa("999")}, "AUTHORIZED_PENDING_REVIEW")
	csStorePayment(t, env.pool, same.ID, KindAuthorization, "AUTHORIZED")
	csStorePayment(t, env.pool, changed.ID, KindAuthorization, "AUTHORIZED") // the gateway now says review
	csStorePayment(t, env.pool, old.ID, KindAuthorization, "SOMETHING_ELSE") // outside the window: not looked at

	now := time.Now()
	res, err := env.engine.pollCybersource(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(-CybersourcePollLookback - CybersourcePollOverlap).UTC().Truncate(time.Second); !res.From.Equal(want) {
		t.Errorf("first poll searched from %s, want %s", res.From, want)
	}
	if res.Hits != 3 || !slices.Equal(res.Enqueued, []string{unknown.ID, changed.ID}) {
		t.Errorf("first poll: %d hits, enqueued %v, want 3 hits and [%s %s]", res.Hits, res.Enqueued, unknown.ID, changed.ID)
	}
	if got := fetchJobIDs(t, env.pool, GatewayCybersource); !slices.Equal(got, []string{unknown.ID, changed.ID}) {
		t.Errorf("queued lookups %v", got)
	}
	newest := slices.MaxFunc([]time.Time{csSubmitted(t, unknown.SubmitTimeUTC), csSubmitted(t, same.SubmitTimeUTC),
		csSubmitted(t, changed.SubmitTimeUTC)}, time.Time.Compare)
	if pos := cursorPosition(t, env.pool, CybersourceCursor); pos != newest.Format(time.RFC3339Nano) || !res.Cursor.Equal(newest) {
		t.Errorf("cursor %s (%s), want %s", pos, res.Cursor, newest.Format(time.RFC3339Nano))
	}

	// Polling again finds the same transactions (the overlap); the waiting lookups are not doubled.
	res, err = env.engine.pollCybersource(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := newest.Add(-CybersourcePollOverlap); !res.From.Equal(want) || res.Hits != 3 {
		t.Errorf("second poll: from %s, %d hits; want from %s, 3 hits", res.From, res.Hits, want)
	}
	if n := len(fetchJobIDs(t, env.pool, GatewayCybersource)); n != 2 {
		t.Errorf("%d lookups queued after the second poll, want 2", n)
	}

	// Once the hub knows them as the gateway does, nothing is queued; a new payment is, and
	// moves the cursor.
	csStorePayment(t, env.pool, unknown.ID, KindSale, "PENDING")
	if _, err := env.pool.Exec(ctx, `UPDATE payments SET gateway_status = 'AUTHORIZED_PENDING_REVIEW' WHERE gateway_transaction_id = $1`, changed.ID); err != nil {
		t.Fatal(err)
	}
	res, err = env.engine.pollCybersource(ctx, time.Now())
	if err != nil || len(res.Enqueued) != 0 {
		t.Errorf("poll with everything known: enqueued %v, %v", res.Enqueued, err)
	}
	env.sim.Clock().Advance(2 * time.Minute)
	fresh := csPay(t, env, cybersource.PaymentRequest{Reference: "ORD-5004", Amount: csDec("13.00"), Card: csVisa("123")}, "AUTHORIZED")
	res, err = env.engine.pollCybersource(ctx, time.Now())
	if err != nil || !slices.Equal(res.Enqueued, []string{fresh.ID}) {
		t.Errorf("poll after a new payment: enqueued %v, %v; want [%s]", res.Enqueued, err, fresh.ID)
	}
	if n := len(fetchJobIDs(t, env.pool, GatewayCybersource)); n != 3 {
		t.Errorf("%d lookups queued, want 3", n)
	}
	if pos, want := cursorPosition(t, env.pool, CybersourceCursor), csSubmitted(t, fresh.SubmitTimeUTC).Format(time.RFC3339Nano); pos != want {
		t.Errorf("cursor %s, want %s", pos, want)
	}
	// A capture, once known, is not looked up again until the gateway changes its status: at the
	// daily cut-off it and the sale are batched.
	capture, err := env.client.Capture(ctx, same.ID, cybersource.CaptureRequest{Reference: "ORD-5002-C", Amount: csDec("11.00"), Currency: "GBP"})
	if err != nil {
		t.Fatal(err)
	}
	csStorePayment(t, env.pool, capture.ID, KindCapture, "PENDING")
	csStorePayment(t, env.pool, fresh.ID, KindAuthorization, "AUTHORIZED")
	res, err = env.engine.pollCybersource(ctx, time.Now())
	if err != nil || len(res.Enqueued) != 0 {
		t.Errorf("poll with the capture known: enqueued %v, %v", res.Enqueued, err)
	}
	env.sim.Clock().Advance(24 * time.Hour)
	res, err = env.engine.pollCybersource(ctx, time.Now())
	if err != nil || !slices.Equal(res.Enqueued, []string{unknown.ID, capture.ID}) {
		t.Errorf("poll after the cut-off: enqueued %v, %v; want [%s %s]", res.Enqueued, err, unknown.ID, capture.ID)
	}
	// The sale's earlier lookup still waits, so only the capture's is new.
	if n := len(fetchJobIDs(t, env.pool, GatewayCybersource)); n != 4 {
		t.Errorf("%d lookups queued, want 4", n)
	}
}

func TestCybersourcePollerIsRegisteredOnlyWhenConfigured(t *testing.T) {
	t.Parallel()
	r := &registry{}
	(&Engine{cfg: Config{PollInterval: time.Minute}}).registerCybersource(r)
	if r.working || len(r.periodic) != 0 {
		t.Errorf("without Cybersource: %+v", r)
	}
	env := newCsEnv(t, cybersourcesim.Options{})
	if !env.engine.working {
		t.Error("an engine with Cybersource has no workers")
	}
	// The poll job is unique while one waits.
	ctx := context.Background()
	first, err := env.engine.river.Insert(ctx, pollCybersourceArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := env.engine.river.Insert(ctx, pollCybersourceArgs{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.UniqueSkippedAsDuplicate || !second.UniqueSkippedAsDuplicate || first.Job.Kind != "poll_cybersource" {
		t.Errorf("poll jobs: first skipped %v, second skipped %v, kind %s", first.UniqueSkippedAsDuplicate, second.UniqueSkippedAsDuplicate, first.Job.Kind)
	}
}

func TestCybersourceStatusWithoutStatusTextIsDerivedFromTheApplications(t *testing.T) {
	t.Parallel()
	app := func(name, rCode, reason, rFlag, status string) cybersource.Application {
		return cybersource.Application{Name: name, RCode: cybersource.Code(rCode), ReasonCode: cybersource.Code(reason), RFlag: rFlag, Status: status}
	}
	ai := func(reason string, apps ...cybersource.Application) cybersource.ApplicationInformation {
		return cybersource.ApplicationInformation{ReasonCode: cybersource.Code(reason), Applications: apps}
	}
	ok := func(name string) cybersource.Application { return app(name, "1", "100", "SOK", "") }
	for _, c := range []struct {
		name string
		ai   cybersource.ApplicationInformation
		want string
	}{
		// The real TSS answer of an authorization carries no status at all.
		{"approved", ai("100", ok("ics_auth"), app("ics_pa_validate", "1", "100", "SOK", "")), "authorization:AUTHORIZED"},
		{"declined", ai("203", app("ics_auth", "0", "203", "DCARDREFUSED", "")), "authorization:DECLINED"},
		{"dm review", ai("480", ok("ics_auth"), app("ics_decision", "1", "480", "DREVIEW", "")), "authorization:AUTHORIZED_PENDING_REVIEW"},
		{"avs review", ai("200", ok("ics_auth")), "authorization:AUTHORIZED_PENDING_REVIEW"},
		{"dm reject", ai("481", ok("ics_auth"), app("ics_decision", "0", "481", "DREJECT", ""), ok("ics_auth_reversal")), "authorization:AUTHORIZED_RISK_DECLINED"},
		{"sale", ai("100", ok("ics_auth"), app("ics_bill", "1", "100", "SOK", "TRANSMITTED")), "sale:TRANSMITTED"},
		{"sale without bill status", ai("100", ok("ics_auth"), ok("ics_bill")), "sale:PENDING"},
		{"capture", ai("100", app("ics_bill", "1", "100", "SOK", "PENDING")), "capture:PENDING"},
		{"refund", ai("100", ok("ics_credit")), "refund:PENDING"},
		{"failed refund", ai("233", app("ics_credit", "0", "233", "DINVALIDDATA", "")), "refund:DECLINED"},
		{"void", ai("100", ok("ics_void")), "void:VOIDED"},
		{"reversal", ai("100", ok("ics_auth_reversal")), "void:REVERSED"},
		{"failed void", ai("246", app("ics_void", "0", "246", "DNOTVOIDABLE", "")), "void:FAILED"},
	} {
		kind, isPayment := cybersourceKind(c.ai)
		if got := kind + ":" + cybersourceStatus(kind, "", c.ai); !isPayment || got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if _, isPayment := cybersourceKind(ai("100", ok("ics_decision"))); isPayment {
		t.Error("a stand-alone decision is not a payment")
	}
	// Status text wins: applicationInformation.status, then the top-level status, upper-cased.
	if got := cybersourceStatus(KindCapture, "pending", cybersource.ApplicationInformation{Status: "Transmitted"}); got != "TRANSMITTED" {
		t.Errorf("status text: %s", got)
	}
	if got := cybersourceStatus(KindAuthorization, "partial_authorized", ai("100", ok("ics_auth"))); got != "PARTIAL_AUTHORIZED" {
		t.Errorf("top-level status: %s", got)
	}
}

func TestCybersourceCardBrandAndRawRedaction(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ code, name, method, want string }{
		{"001", "", "", "Visa"}, {"002", "MASTERCARD", "", "Mastercard"}, {"003", "", "", "Amex"}, {"004", "", "", "Discover"},
		{"", "MasterCard", "", "Mastercard"}, {"999", "Elo Debit", "", "Elo Debit"}, {"", "", "VI", "Visa"}, {"", "", "", ""},
	} {
		if got := cybersourceCardBrand(c.code, c.name, c.method); got != c.want {
			t.Errorf("brand(%q, %q, %q) = %q, want %q", c.code, c.name, c.method, got, c.want)
		}
	}
	raw := json.RawMessage(`{"id":"6510049442466278803211","note":"card 4111111111111111","n":4111111111111111,"nested":[{"x":"5555555555554444"}]}`)
	got := csRedactRaw(raw)
	if !json.Valid(got) || strings.Contains(string(got), "4111111111111111") || strings.Contains(string(got), "5555555555554444") ||
		!strings.Contains(string(got), "6510049442466278803211") {
		t.Errorf("redacted raw: %s", got)
	}
	if clean := json.RawMessage(`{"id":"6510049442466278803211"}`); string(csRedactRaw(clean)) != string(clean) {
		t.Errorf("clean raw changed: %s", csRedactRaw(clean))
	}
}
