package graph_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	"github.com/payhub/payhub/db/dbtest"
	"github.com/payhub/payhub/graph"
	"github.com/payhub/payhub/graph/auth"
	hubsync "github.com/payhub/payhub/sync"
)

// checkoutAPI is the API as a storefront uses it: the engine running on the SYSPRO and
// Cybersource simulators, and a storefront key.
type checkoutAPI struct {
	*bundle
	csSim  *cybersourcesim.Server
	sysSim *sysprosim.Server
}

func newCheckoutAPI(t *testing.T) *checkoutAPI {
	t.Helper()
	pool := dbtest.New(t)
	api := &checkoutAPI{sysSim: sysprosim.New(sysprosim.Options{SeatsPerOperator: 4}), csSim: cybersourcesim.New(cybersourcesim.Options{})}
	spSrv := httptest.NewServer(api.sysSim)
	t.Cleanup(spSrv.Close)
	sp, err := syspro.New(syspro.Config{BaseURL: spSrv.URL + sysprosim.BasePath, Operator: "ADMIN",
		OperatorPassword: "admin", CompanyID: "EDU1", Seats: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close(context.Background()) })
	csSrv := httptest.NewServer(api.csSim)
	t.Cleanup(csSrv.Close)
	cs, err := cybersource.New(cybersource.Config{BaseURL: csSrv.URL, MerchantID: cybersourcesim.DefaultMerchantID,
		KeyID: cybersourcesim.DefaultKeyID, Secret: cybersourcesim.DefaultSecret})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := hubsync.New(hubsync.Config{Pool: pool, Syspro: sp, Cybersource: cs, PollInterval: time.Hour,
		StatusInterval: time.Hour, FetchPollInterval: 100 * time.Millisecond,
		Backoff: hubsync.Backoff{Base: 10 * time.Millisecond, Max: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		engine.Stop(sctx) //nolint:errcheck
		cancel()
	})
	server := httptest.NewServer(graph.NewHandler(graph.HandlerConfig{Pool: pool, Engine: engine}))
	t.Cleanup(server.Close)
	api.bundle = &bundle{pool: pool, server: server, key: newKey(t, pool, "shop", auth.Storefront)}
	return api
}

// token stands in for the shopper's browser: Microform turns the card into a transient token.
func (a *checkoutAPI) token(t *testing.T, number string) string {
	t.Helper()
	tok, err := a.csSim.IssueTransientToken(cybersourcesim.TransientTokenRequest{Number: number, ExpirationMonth: "12",
		ExpirationYear: "2031", SecurityCode: "123"})
	if err != nil {
		t.Fatal(err)
	}
	return tok.TransientToken
}

const placeOrderMutation = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) {
	order { id number customerPoNumber status total { amount currency } lines { stockCode quantity } customer { code } }
	payment { id status kind card { brand lastFour } amount { amount currency } }
	userErrors { code message field } } }`

type placeOrderPayload struct {
	Order *struct {
		ID, CustomerPoNumber, Status string
		Number                       *string
		Total                        struct{ Amount, Currency string }
		Lines                        []struct{ StockCode, Quantity string }
		Customer                     struct{ Code string }
	}
	Payment *struct {
		ID, Status, Kind string
		Card             struct{ Brand, LastFour string }
		Amount           struct{ Amount, Currency string }
	}
	UserErrors []userError
}

func orderInput(key, ref, token string) map[string]any {
	return map[string]any{
		"idempotencyKey": key, "customerPoNumber": ref, "currency": "GBP",
		"customer": map[string]any{"code": "000001", "name": "Bayside Bikes",
			"billTo": map[string]any{"line1": "1 Harbour Road", "city": "Bristol", "postalCode": "BS1 1AA", "country": "GB"}},
		"lines":   []any{map[string]any{"stockCode": "A100", "quantity": "2", "unitPrice": "49.99"}},
		"payment": map[string]any{"gateway": "CYBERSOURCE", "cybersource": map[string]any{"transientToken": token}},
	}
}

func TestPlaceOrderOverGraphQL(t *testing.T) {
	api := newCheckoutAPI(t)
	token := api.token(t, "4111111111111111")
	var got placeOrderPayload
	api.mutate(t, placeOrderMutation, orderInput("place-1", "SHOP-1", token), &got)
	if len(got.UserErrors) > 0 || got.Order == nil || got.Payment == nil {
		t.Fatalf("placeOrder: %+v", got)
	}
	o, p := got.Order, got.Payment
	if o.Status != "OPEN" || o.Number == nil || o.Total.Amount != "99.98" || o.Customer.Code != "000001" || len(o.Lines) != 1 {
		t.Fatalf("order %+v", o)
	}
	if p.Status != "CAPTURED" || p.Kind != "SALE" || p.Card.LastFour != "1111" || p.Card.Brand == "" {
		t.Fatalf("payment %+v", p)
	}

	// The same request again: the same order, as it stands, and no second charge.
	charges := len(api.csSim.State().Transactions)
	var again placeOrderPayload
	api.mutate(t, placeOrderMutation, orderInput("place-1", "SHOP-1", token), &again)
	if again.Order == nil || again.Order.ID != o.ID || again.Payment == nil || again.Payment.ID != p.ID {
		t.Fatalf("repeat: %+v", again)
	}
	if n := len(api.csSim.State().Transactions); n != charges {
		t.Fatalf("the repeat charged again: %d transactions, was %d", n, charges)
	}

	// The audit log keeps who placed what, without the token.
	input := scalar[string](t, api.pool, `SELECT input::text FROM audit_log WHERE action = 'placeOrder' ORDER BY id LIMIT 1`)
	if strings.Contains(input, token) || !strings.Contains(input, "SHOP-1") || !strings.Contains(input, "[redacted]") {
		t.Fatalf("audit input: %s", input)
	}
}

func TestPlaceOrderRefusesACardNumberAndKeepsNoTraceOfIt(t *testing.T) {
	api := newCheckoutAPI(t)
	const pan = "4111111111111111"
	in := orderInput("pan-1", "SHOP-PAN", api.token(t, pan))
	in["lines"] = []any{map[string]any{"stockCode": "A100", "quantity": "1", "unitPrice": "10.00", "description": "card " + pan}}
	var got placeOrderPayload
	api.mutate(t, placeOrderMutation, in, &got)
	if len(got.UserErrors) != 1 || got.UserErrors[0].Code != hubsync.ErrCodeCardDataRefused || got.Order != nil {
		t.Fatalf("payload %+v", got)
	}
	if f := strings.Join(got.UserErrors[0].Field, "."); f != "input.lines.0.description" {
		t.Fatalf("field %s", f)
	}
	if strings.Contains(got.UserErrors[0].Message, pan) {
		t.Fatalf("message repeats the card number: %s", got.UserErrors[0].Message)
	}
	// Nowhere in the database: not the audit log, not an order, not a payment.
	for _, q := range []string{`SELECT coalesce(string_agg(input::text || details::text, ' '), '') FROM audit_log`,
		`SELECT coalesce(string_agg(customer_po_number, ' '), '') FROM sales_orders`} {
		if s := scalar[string](t, api.pool, q); strings.Contains(s, pan) {
			t.Fatalf("%s holds the card number: %s", q, s)
		}
	}
	if n := len(api.csSim.State().Transactions); n != 0 {
		t.Fatalf("%d gateway calls for a refused order", n)
	}
}

func TestPlaceOrderUserErrorsNameTheField(t *testing.T) {
	api := newCheckoutAPI(t)
	in := orderInput("stock-1", "SHOP-STOCK", api.token(t, "4111111111111111"))
	in["lines"] = []any{map[string]any{"stockCode": "C200", "quantity": "5", "unitPrice": "120.00"}}
	var got placeOrderPayload
	api.mutate(t, placeOrderMutation, in, &got)
	if len(got.UserErrors) != 1 || got.UserErrors[0].Code != hubsync.ErrCodeOutOfStock ||
		strings.Join(got.UserErrors[0].Field, ".") != "input.lines.0.quantity" || !strings.Contains(got.UserErrors[0].Message, "C200") {
		t.Fatalf("payload %+v", got)
	}
	// A refusal binds nothing: the key works again once the order is fixed.
	in["allowBackorder"] = true
	api.mutate(t, placeOrderMutation, in, &got)
	if len(got.UserErrors) != 0 || got.Order == nil {
		t.Fatalf("after the fix: %+v", got)
	}
}
