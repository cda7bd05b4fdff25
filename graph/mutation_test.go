package graph_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	"github.com/payhub/payhub/graph"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/model"
	hubsync "github.com/payhub/payhub/sync"
)

// mutationRig is the API with the sync engine behind it: the Cybersource simulator over HTTP as
// the gateway, a key per role, and (withSyspro) the SYSPRO simulator with the engine's workers
// running.
type mutationRig struct {
	*bundle
	engine *hubsync.Engine
	csSim  *cybersourcesim.Server
	cs     *cybersource.Client
	sysSim *sysprosim.Server
	keys   map[auth.Role]string
}

func newMutationRig(t *testing.T, withSyspro bool) *mutationRig {
	t.Helper()
	pool := dbtest.New(t)
	rig := &mutationRig{keys: map[auth.Role]string{}}
	cfg := hubsync.Config{Pool: pool}
	if withSyspro {
		rig.sysSim = sysprosim.New(sysprosim.Options{SeatsPerOperator: 4})
		srv := httptest.NewServer(rig.sysSim)
		t.Cleanup(srv.Close)
		client, err := syspro.New(syspro.Config{BaseURL: srv.URL + sysprosim.BasePath, Operator: "ADMIN",
			OperatorPassword: "admin", CompanyID: "EDU1", Seats: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close(context.Background()) })
		cfg.Syspro = client
		cfg.Backoff = hubsync.Backoff{Base: 10 * time.Millisecond, Max: 200 * time.Millisecond}
		cfg.FetchPollInterval = 100 * time.Millisecond
	} else {
		rig.csSim = cybersourcesim.New(cybersourcesim.Options{})
		srv := httptest.NewServer(rig.csSim)
		t.Cleanup(srv.Close)
		cs, err := cybersource.New(cybersource.Config{BaseURL: srv.URL, MerchantID: cybersourcesim.DefaultMerchantID,
			KeyID: cybersourcesim.DefaultKeyID, Secret: cybersourcesim.DefaultSecret})
		if err != nil {
			t.Fatal(err)
		}
		rig.cs, cfg.Cybersource = cs, cs
	}
	engine, err := hubsync.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if withSyspro {
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
	}
	rig.engine = engine
	for _, role := range auth.Roles {
		rig.keys[role] = newKey(t, pool, "mut-"+string(role), role)
	}
	rig.bundle = newBundleWith(t, graph.HandlerConfig{Pool: pool, Engine: engine}).as(rig.keys[auth.Finance])
	return rig
}

// pay places a payment of 100.00 GBP at the Cybersource simulator and records it as the hub's
// normalisation would: a sale when capture, else an authorisation (held for review with cvv 999).
func (r *mutationRig) pay(t *testing.T, ref string, capture bool, cvv string) db.Payment {
	t.Helper()
	ctx := context.Background()
	res, err := r.cs.CreatePayment(ctx, cybersource.PaymentRequest{Reference: ref, Capture: capture,
		Amount: decimal.RequireFromString("100.00"), Currency: "GBP",
		Card: &cybersource.Card{Number: "4111111111111111", ExpirationMonth: "12", ExpirationYear: "2031", SecurityCode: cvv},
		BillTo: &cybersource.Address{FirstName: "Mu", LastName: "Tation", Address1: "1 High St", Locality: "Leeds",
			PostalCode: "LS1 1AA", Country: "GB", Email: "mutation@example.com"},
		LineItems: []cybersource.LineItem{{ProductSKU: "A100", Quantity: 1, UnitPrice: decimal.RequireFromString("100.00")}}})
	if err != nil {
		t.Fatal(err)
	}
	kind := hubsync.KindAuthorization
	if capture {
		kind = hubsync.KindSale
	}
	txn := hubsync.GatewayTxn{Gateway: "cybersource", TransactionID: res.ID, Kind: kind, GatewayStatus: res.Status,
		Reference: ref, Amount: decimal.RequireFromString("100.00"), Currency: "GBP", OccurredAt: time.Now(),
		Customer: hubsync.Party{Email: "mutation@example.com"},
		Lines:    []hubsync.Line{{SKU: "A100", Quantity: decimal.NewFromInt(1), UnitPrice: decimal.RequireFromString("100.00")}}}
	if res.PendingReview() {
		txn.RiskDecision = "review"
	}
	if err := r.engine.ApplyGatewayTxn(ctx, txn); err != nil {
		t.Fatal(err)
	}
	p, err := db.New(r.pool).GetPaymentByGatewayTransaction(ctx, db.GetPaymentByGatewayTransactionParams{Gateway: "cybersource", GatewayTransactionID: res.ID})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// simCount counts the simulator's transactions of a kind.
func (r *mutationRig) simCount(kind cybersourcesim.Kind) int {
	n := 0
	for _, tx := range r.csSim.State().Transactions {
		if tx.Kind == kind {
			n++
		}
	}
	return n
}

type userError struct {
	Code, Message string
	Field         []string
}

// mutate runs a mutation that must not fail with a GraphQL error and returns its payload.
func (b *bundle) mutate(t *testing.T, query string, input map[string]any, out any) {
	t.Helper()
	resp := b.do(t, query, map[string]any{"input": input})
	if len(resp.Errors) > 0 || resp.Status != http.StatusOK {
		t.Fatalf("mutation failed (HTTP %d): %+v", resp.Status, resp.Errors)
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(resp.Data, &data); err != nil || len(data) != 1 {
		t.Fatalf("data %s: %v", resp.Data, err)
	}
	for _, payload := range data {
		if err := json.Unmarshal(payload, out); err != nil {
			t.Fatalf("decode payload: %v\n%s", err, payload)
		}
	}
}

const refundMutation = `mutation($input: RefundPaymentInput!) { refundPayment(input: $input) {
	refund { id status amount { amount currency } reason requestedBy gatewayRefundId failureReason sysproCreditNote
		payment { id status } refundTransaction { kind status } }
	userErrors { code message field } } }`

type refundPayload struct {
	Refund *struct {
		ID, Status, Reason, RequestedBy string
		GatewayRefundID                 *string
		SysproCreditNote                *string
		Amount                          struct{ Amount, Currency string }
		Payment                         struct{ ID, Status string }
		RefundTransaction               *struct{ Kind, Status string }
	}
	UserErrors []userError
}

func refundInput(key string, pay db.Payment, amount, currency string) map[string]any {
	return map[string]any{"idempotencyKey": key, "paymentId": model.EncodeGlobalID(model.TypePayment, pay.ID),
		"amount": map[string]any{"amount": amount, "currency": currency}, "reason": "damaged in transit"}
}

func TestRefundSentTenTimesAtOnceRefundsOnce(t *testing.T) {
	t.Parallel()
	r := newMutationRig(t, false)
	sale := r.pay(t, "MUT-REFUND-1", true, "123")

	var wg sync.WaitGroup
	type result struct {
		payload refundPayload
		err     error
	}
	results := make(chan result, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := r.send(refundMutation, map[string]any{"input": refundInput("refund-once", sale, "30.00", "GBP")})
			if err == nil && len(resp.Errors) > 0 {
				err = fmt.Errorf("errors %+v", resp.Errors)
			}
			var data struct{ RefundPayment refundPayload }
			if err == nil {
				err = json.Unmarshal(resp.Data, &data)
			}
			results <- result{data.RefundPayment, err}
		}()
	}
	wg.Wait()
	close(results)
	ids := map[string]int{}
	for res := range results {
		if res.err != nil {
			t.Fatal(res.err)
		}
		if len(res.payload.UserErrors) > 0 || res.payload.Refund == nil {
			t.Fatalf("payload %+v", res.payload)
		}
		ids[res.payload.Refund.ID]++
	}
	if len(ids) != 1 {
		t.Fatalf("ten identical requests answered refunds %v", ids)
	}
	if n := scalar[int64](t, r.pool, `SELECT count(*) FROM refunds`); n != 1 {
		t.Fatalf("%d refund rows, want 1", n)
	}
	if n := r.simCount(cybersourcesim.KindRefund); n != 1 {
		t.Fatalf("the gateway holds %d refunds, want 1", n)
	}

	// Once more, after the first is done: the refund as it stands, succeeded, with the API key's name.
	var again refundPayload
	r.mutate(t, refundMutation, refundInput("refund-once", sale, "30", "GBP"), &again)
	if again.Refund == nil || ids[again.Refund.ID] != 10 || again.Refund.Status != "SUCCEEDED" ||
		again.Refund.RequestedBy != "mut-finance" || again.Refund.GatewayRefundID == nil ||
		again.Refund.Amount.Amount != "30.00" || again.Refund.Payment.Status != "PARTIALLY_REFUNDED" ||
		again.Refund.RefundTransaction == nil || again.Refund.RefundTransaction.Kind != "REFUND" ||
		again.Refund.SysproCreditNote != nil { // the order is not in SYSPRO: nothing to credit there
		t.Fatalf("repeat: %+v", again.Refund)
	}

	// Refused with a user error and no gateway call: above what is left, the key reused for
	// another amount, the wrong currency.
	refused := []struct {
		name  string
		input map[string]any
		code  string
		field []string
		says  string
	}{
		{"above the remaining 70.00", refundInput("too-much", sale, "70.01", "GBP"), hubsync.ErrCodeExceedsRemaining,
			[]string{"input", "amount", "amount"}, "70.00 GBP left to refund"},
		{"the key reused for another amount", refundInput("refund-once", sale, "5.00", "GBP"), hubsync.ErrCodeIdempotencyConflict,
			[]string{"input", "idempotencyKey"}, `"refund-once"`},
		{"another currency", refundInput("in-euro", sale, "5.00", "EUR"), hubsync.ErrCodeCurrencyMismatch,
			[]string{"input", "amount", "currency"}, "EUR"},
		{"nothing", refundInput("zero", sale, "0", "GBP"), hubsync.ErrCodeInvalidAmount, []string{"input", "amount", "amount"}, "above zero"},
		{"no key", refundInput(" ", sale, "1", "GBP"), graph.CodeInvalidInput, []string{"input", "idempotencyKey"}, "required"},
		{"an order's ID", func() map[string]any {
			in := refundInput("order-id", sale, "1", "GBP")
			in["paymentId"] = model.EncodeGlobalID(model.TypeOrder, 1)
			return in
		}(), graph.CodeInvalidID, []string{"input", "paymentId"}, "not the ID of a Payment"},
	}
	for _, tt := range refused {
		var out refundPayload
		r.mutate(t, refundMutation, tt.input, &out)
		if out.Refund != nil || len(out.UserErrors) != 1 {
			t.Errorf("%s: %+v", tt.name, out)
			continue
		}
		e := out.UserErrors[0]
		if e.Code != tt.code || !slices.Equal(e.Field, tt.field) || !strings.Contains(e.Message, tt.says) {
			t.Errorf("%s: user error %+v, want %s on %v saying %q", tt.name, e, tt.code, tt.field, tt.says)
		}
		if strings.Contains(e.Message, "api:") {
			t.Errorf("%s: the message shows the engine's key: %s", tt.name, e.Message)
		}
	}
	if n := r.simCount(cybersourcesim.KindRefund); n != 1 {
		t.Fatalf("refused refunds reached the gateway: %d refunds there", n)
	}

	// Keys are each API key's own: another key's "refund-once" is another refund.
	var other refundPayload
	r.as(r.keys[auth.Admin]).mutate(t, refundMutation, refundInput("refund-once", sale, "20.00", "GBP"), &other)
	if other.Refund == nil || ids[other.Refund.ID] != 0 || other.Refund.Status != "SUCCEEDED" {
		t.Fatalf("another key's refund-once: %+v", other)
	}
}

const voidMutation = `mutation($input: VoidPaymentInput!) { voidPayment(input: $input) {
	payment { id status order { status } } userErrors { code message field } } }`

type paymentPayload struct {
	Payment *struct {
		ID, Status string
		Order      *struct{ Status string }
	}
	UserErrors []userError
}

func TestVoidRepeatedWithTheSameKeyAnswersTheStoredResult(t *testing.T) {
	t.Parallel()
	r := newMutationRig(t, false)
	authz := r.pay(t, "MUT-VOID-1", false, "123")
	input := map[string]any{"idempotencyKey": "void-1", "paymentId": model.EncodeGlobalID(model.TypePayment, authz.ID)}

	// Five at once with one key: one reversal at the gateway, the same answer for all.
	var wg sync.WaitGroup
	answers := make(chan string, 5)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := r.send(voidMutation, map[string]any{"input": input})
			if err != nil || len(resp.Errors) > 0 {
				answers <- fmt.Sprintf("error %v %+v", err, resp.Errors)
				return
			}
			answers <- string(resp.Data)
		}()
	}
	wg.Wait()
	close(answers)
	distinct := map[string]bool{}
	for a := range answers {
		distinct[a] = true
	}
	if len(distinct) != 1 {
		t.Fatalf("five identical voids answered %v", distinct)
	}
	var first paymentPayload
	for a := range distinct {
		var data struct{ VoidPayment paymentPayload }
		json.Unmarshal([]byte(a), &data) //nolint:errcheck
		first = data.VoidPayment
	}
	if first.Payment == nil || first.Payment.Status != "VOIDED" || len(first.UserErrors) != 0 {
		t.Fatalf("void: %+v", first)
	}
	reversals := r.simCount(cybersourcesim.KindReversal)
	if reversals != 1 {
		t.Fatalf("%d reversals at the gateway, want 1", reversals)
	}

	// Later, the same key: the stored payload, no second gateway call (a second void would be
	// refused as NOT_VOIDABLE).
	var again paymentPayload
	r.mutate(t, voidMutation, input, &again)
	if again.Payment == nil || again.Payment.ID != first.Payment.ID || again.Payment.Status != "VOIDED" || len(again.UserErrors) != 0 {
		t.Fatalf("repeat: %+v", again)
	}
	if n := r.simCount(cybersourcesim.KindReversal) + r.simCount(cybersourcesim.KindVoid); n != reversals {
		t.Fatalf("the repeat reached the gateway: %d voids and reversals", n)
	}
	replays := scalar[int64](t, r.pool, `SELECT count(*) FROM audit_log WHERE action = 'voidPayment' AND details @> '{"idempotentReplay": true}'`)
	if replays < 1 {
		t.Errorf("no audit entry says a void was answered from its key")
	}

	// The key with other input is refused; a new key for the same payment is a new request.
	other := r.pay(t, "MUT-VOID-2", false, "123")
	var conflict paymentPayload
	r.mutate(t, voidMutation, map[string]any{"idempotencyKey": "void-1", "paymentId": model.EncodeGlobalID(model.TypePayment, other.ID)}, &conflict)
	if len(conflict.UserErrors) != 1 || conflict.UserErrors[0].Code != graph.CodeIdempotencyConflict || conflict.Payment != nil {
		t.Fatalf("key reused for another payment: %+v", conflict)
	}
	var twice paymentPayload
	r.mutate(t, voidMutation, map[string]any{"idempotencyKey": "void-1-again", "paymentId": model.EncodeGlobalID(model.TypePayment, authz.ID)}, &twice)
	if len(twice.UserErrors) != 1 || twice.UserErrors[0].Code != hubsync.ErrCodeNotVoidable ||
		!slices.Equal(twice.UserErrors[0].Field, []string{"input", "paymentId"}) {
		t.Fatalf("voiding a voided payment: %+v", twice)
	}
	// A refusal binds nothing: that key is free for another request.
	if n := scalar[int64](t, r.pool, `SELECT count(*) FROM mutation_results WHERE idempotency_key = 'void-1-again'`); n != 0 {
		t.Errorf("a refused request left its key bound")
	}
	var freed paymentPayload
	r.mutate(t, voidMutation, map[string]any{"idempotencyKey": "void-1-again", "paymentId": model.EncodeGlobalID(model.TypePayment, other.ID)}, &freed)
	if freed.Payment == nil || freed.Payment.Status != "VOIDED" {
		t.Fatalf("the freed key: %+v", freed)
	}
}

func TestCaptureAndFraudReviewDecisions(t *testing.T) {
	t.Parallel()
	r := newMutationRig(t, false)
	const capture = `mutation($input: CapturePaymentInput!) { capturePayment(input: $input) {
		payment { id status } userErrors { code message field } } }`
	authz := r.pay(t, "MUT-CAP-1", false, "123")
	id := model.EncodeGlobalID(model.TypePayment, authz.ID)

	var wrong paymentPayload
	r.mutate(t, capture, map[string]any{"idempotencyKey": "cap-1", "paymentId": id,
		"amount": map[string]any{"amount": "40.00", "currency": "EUR"}}, &wrong)
	if len(wrong.UserErrors) != 1 || wrong.UserErrors[0].Code != hubsync.ErrCodeCurrencyMismatch {
		t.Fatalf("capture in another currency: %+v", wrong)
	}
	var tooMuch paymentPayload
	r.mutate(t, capture, map[string]any{"idempotencyKey": "cap-1", "paymentId": id,
		"amount": map[string]any{"amount": "100.01", "currency": "GBP"}}, &tooMuch)
	if len(tooMuch.UserErrors) != 1 || tooMuch.UserErrors[0].Code != hubsync.ErrCodeAmountTooLarge {
		t.Fatalf("capture above the authorisation: %+v", tooMuch)
	}
	var done paymentPayload
	r.mutate(t, capture, map[string]any{"idempotencyKey": "cap-1", "paymentId": id}, &done)
	if done.Payment == nil || done.Payment.Status != "CAPTURED" || r.simCount(cybersourcesim.KindCapture) != 1 {
		t.Fatalf("capture: %+v, %d captures at the gateway", done, r.simCount(cybersourcesim.KindCapture))
	}

	const decide = `mutation($input: DecideFraudReviewInput!) { decideFraudReview(input: $input) {
		fraudReview { id status decidedBy note gateway gatewayDecision payment { id status order { status } } }
		userErrors { code message field } } }`
	type reviewPayload struct {
		FraudReview *struct {
			ID, Status, Gateway, GatewayDecision string
			DecidedBy, Note                      *string
			Payment                              struct {
				ID, Status string
				Order      struct{ Status string }
			}
		}
		UserErrors []userError
	}
	held := r.pay(t, "MUT-REVIEW-1", false, "999")
	if held.Status != "review" {
		t.Fatalf("held payment is %s", held.Status)
	}
	fr, err := db.New(r.pool).GetFraudReviewByPayment(context.Background(), held.ID)
	if err != nil {
		t.Fatal(err)
	}
	reviewID := model.EncodeGlobalID(model.TypeFraudReview, fr.ID)
	var accepted reviewPayload
	r.mutate(t, decide, map[string]any{"idempotencyKey": "decide-1", "id": reviewID, "decision": "ACCEPT",
		"comment": "customer called, genuine"}, &accepted)
	a := accepted.FraudReview
	if a == nil || a.ID != reviewID || a.Status != "ACCEPTED" || a.DecidedBy == nil || *a.DecidedBy != "mut-finance" ||
		a.Note == nil || *a.Note != "customer called, genuine" || a.Gateway != "CYBERSOURCE" || a.GatewayDecision != "REVIEW" ||
		a.Payment.Status != "CAPTURED" || a.Payment.Order.Status == "ON_HOLD" {
		t.Fatalf("accept: %+v", accepted)
	}
	var again reviewPayload
	r.mutate(t, decide, map[string]any{"idempotencyKey": "decide-2", "id": reviewID, "decision": "REJECT"}, &again)
	if len(again.UserErrors) != 1 || again.UserErrors[0].Code != hubsync.ErrCodeReviewNotOpen {
		t.Fatalf("deciding twice: %+v", again)
	}

	bad := r.pay(t, "MUT-REVIEW-2", false, "999")
	fr, err = db.New(r.pool).GetFraudReviewByPayment(context.Background(), bad.ID)
	if err != nil {
		t.Fatal(err)
	}
	var rejected reviewPayload
	r.mutate(t, decide, map[string]any{"idempotencyKey": "decide-3", "id": model.EncodeGlobalID(model.TypeFraudReview, fr.ID),
		"decision": "REJECT", "comment": "stolen card"}, &rejected)
	if rj := rejected.FraudReview; rj == nil || rj.Status != "REJECTED" || (rj.Payment.Status != "VOIDED" && rj.Payment.Status != "DECLINED") ||
		rj.Payment.Order.Status != "CANCELLED" {
		t.Fatalf("reject: %+v", rejected)
	}
}

func TestResolveAnomalyAndUpdateMappingRule(t *testing.T) {
	t.Parallel()
	r := newMutationRig(t, false)
	ctx := context.Background()
	anomalyID := scalar[int64](t, r.pool, `INSERT INTO anomalies (kind, severity, subject_type, subject_id, dedupe_key, summary, details)
		VALUES ('unmapped_gateway_status', 'warning', 'payment', 1, 'unmapped:1', 'status FOO unmapped', '{"status": "FOO"}') RETURNING id`)
	id := model.EncodeGlobalID(model.TypeAnomaly, anomalyID)
	const resolve = `mutation($input: ResolveAnomalyInput!) { resolveAnomaly(input: $input) {
		anomaly { id kind status severity summary details resolvedBy resolvedAt resolutionNote } userErrors { code message field } } }`
	type anomalyPayload struct {
		Anomaly *struct {
			ID, Kind, Status, Severity, Summary string
			Details                             map[string]any
			ResolvedBy, ResolvedAt              *string
			ResolutionNote                      *string
		}
		UserErrors []userError
	}
	var noNote anomalyPayload
	r.mutate(t, resolve, map[string]any{"idempotencyKey": "res-1", "id": id, "note": "  "}, &noNote)
	if len(noNote.UserErrors) != 1 || noNote.UserErrors[0].Code != hubsync.ErrCodeNoteRequired ||
		!slices.Equal(noNote.UserErrors[0].Field, []string{"input", "note"}) {
		t.Fatalf("without a note: %+v", noNote)
	}
	var resolved anomalyPayload
	r.mutate(t, resolve, map[string]any{"idempotencyKey": "res-1", "id": id, "note": "added a status_map rule"}, &resolved)
	a := resolved.Anomaly
	if a == nil || a.Status != "RESOLVED" || a.Severity != "WARNING" || a.Details["status"] != "FOO" || a.ResolvedBy == nil ||
		*a.ResolvedBy != "mut-finance" || a.ResolvedAt == nil || *a.ResolutionNote != "added a status_map rule" {
		t.Fatalf("resolve: %+v", resolved)
	}
	if n := scalar[int64](t, r.pool, `SELECT count(*) FROM events WHERE kind = 'anomaly.resolved' AND subject_id = $1`, anomalyID); n != 1 {
		t.Errorf("%d anomaly.resolved events, want 1", n)
	}
	var twice anomalyPayload
	r.mutate(t, resolve, map[string]any{"idempotencyKey": "res-2", "id": id, "note": "again"}, &twice)
	if len(twice.UserErrors) != 1 || twice.UserErrors[0].Code != hubsync.ErrCodeAlreadyResolved ||
		!strings.Contains(twice.UserErrors[0].Message, "mut-finance") {
		t.Fatalf("resolving twice: %+v", twice)
	}

	const update = `mutation($input: UpdateMappingRuleInput!) { updateMappingRule(input: $input) {
		mappingRule { id kind scope key value updatedBy } userErrors { code message field } } }`
	type rulePayload struct {
		MappingRule *struct {
			ID, Kind, Scope, Key, UpdatedBy string
			Value                           map[string]any
		}
		UserErrors []userError
	}
	admin := r.as(r.keys[auth.Admin])
	invalid := []struct {
		name   string
		input  map[string]any
		reason string
	}{
		{"a status that does not exist", map[string]any{"kind": "STATUS_MAP", "scope": "opayo", "key": "sale:Ok",
			"value": map[string]any{"status": "capturd"}}, `"capturd" is not a canonical payment status`},
		{"an empty status", map[string]any{"kind": "STATUS_MAP", "scope": "opayo", "key": "sale:Ok",
			"value": map[string]any{"status": ""}}, `{"status": "<canonical status>"}`},
		{"a key without the kind", map[string]any{"kind": "STATUS_MAP", "scope": "cybersource", "key": "AUTHORIZED",
			"value": map[string]any{"status": "authorized"}}, `"<kind>:<gateway status>"`},
		{"a rate without a date", map[string]any{"kind": "FX_RATE", "key": "EUR/GBP",
			"value": map[string]any{"rates": []any{map[string]any{"from": "soon", "rate": "0.85"}}}}, "YYYY-MM-DD"},
		{"a stock rule without a code", map[string]any{"kind": "STOCK_CODE", "scope": "opayo", "key": "*",
			"value": map[string]any{"description": "x"}}, "stockCode required"},
		{"not an object", map[string]any{"kind": "ADDRESS", "key": "syspro", "value": "lines"}, "JSON object"},
	}
	for i, tt := range invalid {
		tt.input["idempotencyKey"] = fmt.Sprintf("rule-bad-%d", i)
		var out rulePayload
		admin.mutate(t, update, tt.input, &out)
		if out.MappingRule != nil || len(out.UserErrors) != 1 || out.UserErrors[0].Code != hubsync.ErrCodeInvalidRule ||
			!slices.Equal(out.UserErrors[0].Field, []string{"input", "value"}) || !strings.Contains(out.UserErrors[0].Message, tt.reason) {
			t.Errorf("%s: %+v, want INVALID_RULE saying %q", tt.name, out, tt.reason)
		}
	}
	var before []byte
	if err := r.pool.QueryRow(ctx, `SELECT value FROM mapping_rules WHERE kind = 'status_map' AND scope = 'opayo' AND key = 'sale:Ok'`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(before), `"captured"`) {
		t.Fatalf("a refused edit was stored: %s", before)
	}

	var ok rulePayload
	admin.mutate(t, update, map[string]any{"idempotencyKey": "rule-1", "kind": "FX_RATE", "key": "EUR/GBP",
		"value": map[string]any{"rates": []any{map[string]any{"from": "2026-11-01", "rate": "0.85"}}}}, &ok)
	rule := ok.MappingRule
	if rule == nil || rule.Kind != "FX_RATE" || rule.Scope != "*" || rule.Key != "EUR/GBP" || rule.UpdatedBy != "mut-admin" ||
		fmt.Sprint(rule.Value["rates"]) != "[map[from:2026-11-01 rate:0.85]]" {
		t.Fatalf("update: %+v", ok)
	}
	if n := scalar[int64](t, r.pool, `SELECT count(*) FROM events WHERE topic = 'config' AND kind = 'mapping_rule.updated'`); n != 1 {
		t.Errorf("%d mapping_rule.updated events, want 1", n)
	}
	var node struct{ Node struct{ Key string } }
	admin.query(t, `query($id: ID!) { node(id: $id) { ... on MappingRule { key } } }`, map[string]any{"id": rule.ID}, &node)
	if node.Node.Key != "EUR/GBP" {
		t.Errorf("node(mapping rule) = %+v", node)
	}
}

// waitPostings waits until no posting is pending or in progress and returns the count per
// kind/status.
func waitPostings(t *testing.T, pool *pgxpool.Pool, timeout time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		rows, err := db.New(pool).CountErpPostingsByStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		counts, open := map[string]int{}, 0
		for _, r := range rows {
			counts[r.Kind+"/"+r.Status] += int(r.Postings)
			if r.Status == "pending" || r.Status == "in_progress" {
				open += int(r.Postings)
			}
		}
		if open == 0 {
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("postings still open after %v: %v", timeout, counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// placeOrder writes a shop order paid by a captured sale and enqueues its SYSPRO posting.
func (r *mutationRig) placeOrder(t *testing.T, po, customer, stockCode string) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		var customerID, orderID int64
		if err := tx.QueryRow(ctx, `INSERT INTO customers (code, name, email) VALUES ($1, $2, $3)
			ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
			customer, "Customer "+customer, strings.ToLower(customer)+"@example.com").Scan(&customerID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `INSERT INTO sales_orders (customer_id, customer_po_number, source, currency, total_amount, ship_to)
			VALUES ($1, $2, 'cybersource', 'GBP', 10, '{"line1":"1 Harbour Road","city":"Bristol","postalCode":"bs1 1aa"}') RETURNING id`,
			customerID, po).Scan(&orderID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sales_order_lines (sales_order_id, line_number, stock_code, quantity, unit_price, line_total)
			VALUES ($1, 1, $2, 1, 10, 10)`, orderID, stockCode); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO payments (gateway, gateway_transaction_id, merchant_reference, kind, sales_order_id,
			customer_id, status, amount, currency, occurred_at) VALUES ('cybersource', $1, $2, 'sale', $3, $4, 'captured', 10, 'GBP', now())`,
			"TX-"+po, po, orderID, customerID); err != nil {
			return err
		}
		_, err := r.engine.EnqueuePostingTx(ctx, tx, hubsync.PostingRequest{Kind: hubsync.PostingSalesOrder, BusinessObject: "SORTOI",
			SubjectType: "sales_order", SubjectID: orderID, IdempotencyKey: "sales_order:" + po})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRepostDeadPostingsAfterTheFix(t *testing.T) {
	t.Parallel()
	r := newMutationRig(t, true)
	r.placeOrder(t, "MUT-3001", "WEBS01", "ZZ998")
	r.placeOrder(t, "MUT-3002", "NEWC09", "A100")
	r.placeOrder(t, "MUT-3003", "NEWC10", "A100")
	if counts := waitPostings(t, r.pool, 30*time.Second); counts["sales_order/dead"] != 3 {
		t.Fatalf("postings %v, want three dead sales orders", counts)
	}
	q := db.New(r.pool)
	stock, err := q.GetErpPostingByIdempotencyKey(context.Background(), "sales_order:MUT-3001")
	if err != nil {
		t.Fatal(err)
	}
	r.sysSim.Seed(sysprosim.Seed{
		Stock: []sysprosim.StockItem{{StockCode: "ZZ998", Description: "New item", StockUom: "EA",
			Warehouses: []*sysprosim.WarehouseStock{{Warehouse: "FG", QtyOnHand: decimal.NewFromInt(5)}}}},
		Customers: []sysprosim.Customer{{Customer: "NEWC09", Name: "New Customer", Currency: "GBP"},
			{Customer: "NEWC10", Name: "Newer Customer", Currency: "GBP"}},
	})

	const repost = `mutation($input: RepostErpPostingInput!) { repostErpPosting(input: $input) {
		erpPosting { id kind status businessObject errorClass lastError subject { ... on Order { customerPoNumber } } }
		userErrors { code message field } } }`
	type postingPayload struct {
		ErpPosting *struct {
			ID, Kind, Status, BusinessObject string
			ErrorClass, LastError            *string
			Subject                          struct{ CustomerPoNumber string }
		}
		UserErrors []userError
	}
	id := model.EncodeGlobalID(model.TypeErpPosting, stock.ID)
	var out postingPayload
	r.mutate(t, repost, map[string]any{"idempotencyKey": "repost-1", "id": id}, &out)
	p := out.ErpPosting
	if p == nil || p.ID != id || p.Kind != "SALES_ORDER" || p.Status != "PENDING" || p.BusinessObject != "SORTOI" ||
		p.Subject.CustomerPoNumber != "MUT-3001" {
		t.Fatalf("repost: %+v", out)
	}
	// All the rest at once, by filter.
	const repostAll = `mutation($input: RepostDeadLettersInput!) { repostDeadLetters(input: $input) {
		reposted { id status } count userErrors { code message field } } }`
	var bad struct{ UserErrors []userError }
	r.mutate(t, repostAll, map[string]any{"idempotencyKey": "all-0", "filter": map[string]any{"limit": 501}}, &bad)
	if len(bad.UserErrors) != 1 || !slices.Equal(bad.UserErrors[0].Field, []string{"input", "filter", "limit"}) {
		t.Fatalf("limit 501: %+v", bad)
	}
	var all struct {
		Reposted   []struct{ ID, Status string }
		Count      int
		UserErrors []userError
	}
	r.mutate(t, repostAll, map[string]any{"idempotencyKey": "all-1", "filter": map[string]any{"kind": "SALES_ORDER", "errorClass": "BUSINESS"}}, &all)
	if all.Count != 2 || len(all.Reposted) != 2 || len(all.UserErrors) != 0 {
		t.Fatalf("repostDeadLetters: %+v", all)
	}
	counts := waitPostings(t, r.pool, 30*time.Second)
	if counts["sales_order/succeeded"] != 3 || counts["ar_payment/succeeded"] != 3 {
		t.Fatalf("after the reposts: %v", counts)
	}
	if n := len(r.sysSim.State().SalesOrders); n != 3 {
		t.Errorf("SYSPRO holds %d orders, want 3", n)
	}

	// A posting that is not dead is refused; the same key again answers what it answered.
	var live postingPayload
	r.mutate(t, repost, map[string]any{"idempotencyKey": "repost-2", "id": id}, &live)
	if len(live.UserErrors) != 1 || live.UserErrors[0].Code != hubsync.ErrCodeNotDead || live.ErpPosting != nil {
		t.Fatalf("reposting a posting that succeeded: %+v", live)
	}
	var replay postingPayload
	r.mutate(t, repost, map[string]any{"idempotencyKey": "repost-1", "id": id}, &replay)
	if replay.ErpPosting == nil || replay.ErpPosting.Status != "PENDING" {
		t.Fatalf("replay of repost-1: %+v", replay)
	}
}

// mutationCase is one Mutation field with an input that reaches the engine.
type mutationCase struct {
	query string
	input map[string]any
	roles []auth.Role
}

var (
	finance = []auth.Role{auth.Finance, auth.Admin}
	admins  = []auth.Role{auth.Admin}
	shop    = []auth.Role{auth.Storefront}
)

func mutationMatrix(pay, review, anomaly, posting string) map[string]mutationCase {
	money := map[string]any{"amount": "1.00", "currency": "GBP"}
	return map[string]mutationCase{
		"refundPayment": {`mutation($input: RefundPaymentInput!) { refundPayment(input: $input) { refund { id } userErrors { code } } }`,
			map[string]any{"paymentId": pay, "amount": money, "reason": "matrix"}, finance},
		"voidPayment": {`mutation($input: VoidPaymentInput!) { voidPayment(input: $input) { payment { id } userErrors { code } } }`,
			map[string]any{"paymentId": pay}, finance},
		"capturePayment": {`mutation($input: CapturePaymentInput!) { capturePayment(input: $input) { payment { id } userErrors { code } } }`,
			map[string]any{"paymentId": pay}, finance},
		"repostErpPosting": {`mutation($input: RepostErpPostingInput!) { repostErpPosting(input: $input) { erpPosting { id } userErrors { code } } }`,
			map[string]any{"id": posting}, finance},
		"repostDeadLetters": {`mutation($input: RepostDeadLettersInput!) { repostDeadLetters(input: $input) { count userErrors { code } } }`,
			map[string]any{"filter": map[string]any{"limit": 10}}, finance},
		"decideFraudReview": {`mutation($input: DecideFraudReviewInput!) { decideFraudReview(input: $input) { fraudReview { id } userErrors { code } } }`,
			map[string]any{"id": review, "decision": "ACCEPT"}, finance},
		"resolveAnomaly": {`mutation($input: ResolveAnomalyInput!) { resolveAnomaly(input: $input) { anomaly { id } userErrors { code } } }`,
			map[string]any{"id": anomaly, "note": "matrix"}, finance},
		"updateMappingRule": {`mutation($input: UpdateMappingRuleInput!) { updateMappingRule(input: $input) { mappingRule { id } userErrors { code } } }`,
			map[string]any{"kind": "STOCK_CODE", "scope": "opayo", "key": "SKU-1", "value": map[string]any{"stockCode": "A100"}}, admins},
		"placeOrder": {`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } userErrors { code } } }`,
			map[string]any{"customerPoNumber": "MATRIX-1", "customer": map[string]any{"code": "000001"}, "currency": "GBP",
				"lines":   []any{map[string]any{"stockCode": "A100", "quantity": "1", "unitPrice": "1.00"}},
				"payment": map[string]any{"gateway": "CYBERSOURCE", "cybersource": map[string]any{"transientToken": "not-a-token"}}}, shop},
		"createOpayoMerchantSessionKey": {`mutation { createOpayoMerchantSessionKey { merchantSessionKey { merchantSessionKey } userErrors { code } } }`,
			nil, shop},
		"acceptSettlementBatch": {`mutation($input: AcceptSettlementBatchInput!) { acceptSettlementBatch(input: $input) { settlementBatch { id } userErrors { code } } }`,
			map[string]any{"id": model.EncodeGlobalID(model.TypeSettlementBatch, 999005), "note": "matrix"}, finance},
		"resolveSettlementDiscrepancy": {`mutation($input: ResolveSettlementDiscrepancyInput!) { resolveSettlementDiscrepancy(input: $input) { settlementDiscrepancy { id } userErrors { code } } }`,
			map[string]any{"id": model.EncodeGlobalID(model.TypeSettlementDiscrepancy, 999006), "note": "matrix"}, finance},
		// Opayo's reports are not configured in the rig: a user error, nothing queued.
		"reconcileSettlement": {`mutation($input: ReconcileSettlementInput!) { reconcileSettlement(input: $input) { queued userErrors { code } } }`,
			map[string]any{"gateway": "OPAYO", "date": "2026-11-01"}, finance},
	}
}

// TestMutationRoleMatrix sends every mutation with a key of every role: a role below the
// mutation's is refused FORBIDDEN (and audited as refused) without acting; an allowed one gets
// its payload (perhaps with user errors: the point is that it was let through). Every attempt
// leaves an audit entry.
func TestMutationRoleMatrix(t *testing.T) {
	t.Parallel()
	r := newMutationRig(t, false)
	ids := struct{ pay, review, anomaly, posting string }{
		pay:     model.EncodeGlobalID(model.TypePayment, 999001),
		review:  model.EncodeGlobalID(model.TypeFraudReview, 999002),
		anomaly: model.EncodeGlobalID(model.TypeAnomaly, 999003),
		posting: model.EncodeGlobalID(model.TypeErpPosting, 999004),
	}
	matrix := mutationMatrix(ids.pay, ids.review, ids.anomaly, ids.posting)

	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	if schema.Mutation == nil {
		t.Fatal("the schema has no mutations")
	}
	for _, field := range schema.Mutation.Fields {
		if _, ok := matrix[field.Name]; !ok && !strings.HasPrefix(field.Name, "__") {
			t.Errorf("Mutation.%s is missing from the role matrix", field.Name)
		}
	}
	names := make([]string, 0, len(matrix))
	for name := range matrix {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, role := range auth.Roles {
		for _, name := range names {
			c := matrix[name]
			t.Run(string(role)+"/"+name, func(t *testing.T) {
				input := map[string]any{"idempotencyKey": "matrix-" + string(role) + "-" + name}
				for k, v := range c.input {
					input[k] = v
				}
				resp := r.as(r.keys[role]).do(t, c.query, map[string]any{"input": input})
				if resp.Status != http.StatusOK {
					t.Fatalf("HTTP %d", resp.Status)
				}
				var data map[string]json.RawMessage
				json.Unmarshal(resp.Data, &data) //nolint:errcheck
				if slices.Contains(c.roles, role) {
					if len(resp.Errors) > 0 || len(data[name]) == 0 || string(data[name]) == "null" {
						t.Fatalf("allowed, but got errors %+v, data %s", resp.Errors, resp.Data)
					}
					return
				}
				if len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != graph.CodeForbidden ||
					!strings.Contains(resp.Errors[0].Message, "Mutation."+name) || string(data[name]) != "null" {
					t.Fatalf("forbidden, but got errors %+v, data %s", resp.Errors, resp.Data)
				}
			})
		}
	}

	// The audit log has every attempt: refused for the roles below, ok or failed (a user error)
	// for the others.
	rows, err := r.pool.Query(context.Background(), `SELECT a.action, k.role, a.outcome FROM audit_log a
		JOIN api_keys k ON k.id = a.api_key_id`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var action, role, outcome string
		if err := rows.Scan(&action, &role, &outcome); err != nil {
			t.Fatal(err)
		}
		got[role+"/"+action] = outcome
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	for _, role := range auth.Roles {
		for name, c := range matrix {
			outcome, ok := got[string(role)+"/"+name]
			switch {
			case !ok:
				t.Errorf("no audit entry for %s by %s", name, role)
			case slices.Contains(c.roles, role) && outcome == graph.AuditRefused,
				!slices.Contains(c.roles, role) && outcome != graph.AuditRefused:
				t.Errorf("audit outcome of %s by %s: %s", name, role, outcome)
			}
		}
	}
	// A user error is a failure in the log, with its code.
	var details string
	if err := r.pool.QueryRow(context.Background(), `SELECT details::text FROM audit_log a JOIN api_keys k ON k.id = a.api_key_id
		WHERE k.role = 'admin' AND a.action = 'voidPayment'`).Scan(&details); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(details, hubsync.ErrCodeNotFound) {
		t.Errorf("audit details of a refused void: %s", details)
	}
}

func TestMutationsWithoutTheEngineAreUnavailable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp := b.do(t, `mutation { voidPayment(input: {idempotencyKey: "k", paymentId: "x"}) { userErrors { code } } }`, nil)
	if len(resp.Errors) != 1 || resp.Errors[0].Extensions["code"] != graph.CodeUnavailable ||
		!strings.Contains(resp.Errors[0].Message, "sync engine") {
		t.Fatalf("errors %+v", resp.Errors)
	}
}

// A key left pending by a request that died mid-way is taken over once stale; one pending with
// other input is a conflict at once.
func TestAStalePendingKeyIsTakenOver(t *testing.T) {
	t.Parallel()
	r := newMutationRig(t, false)
	authz := r.pay(t, "MUT-STALE-1", false, "123")
	id := model.EncodeGlobalID(model.TypePayment, authz.ID)
	keyID := scalar[int64](t, r.pool, `SELECT id FROM api_keys WHERE name = 'mut-finance'`)
	// The hash of the input without its key: canonical JSON, keys sorted.
	hash := sha256.Sum256([]byte(`{"paymentId":"` + id + `"}`))
	exec(t, r.pool, `INSERT INTO mutation_results (api_key_id, mutation, idempotency_key, input_hash, created_at)
		VALUES ($1, 'voidPayment', 'stale', $2, now() - interval '10 minutes'),
		       ($1, 'voidPayment', 'busy', $2, now())`, keyID, hash[:])

	var other paymentPayload
	r.mutate(t, voidMutation, map[string]any{"idempotencyKey": "busy", "paymentId": model.EncodeGlobalID(model.TypePayment, authz.ID+1000)}, &other)
	if len(other.UserErrors) != 1 || other.UserErrors[0].Code != graph.CodeIdempotencyConflict {
		t.Fatalf("a pending key with other input: %+v", other)
	}
	var out paymentPayload
	r.mutate(t, voidMutation, map[string]any{"idempotencyKey": "stale", "paymentId": id}, &out)
	if out.Payment == nil || out.Payment.Status != "VOIDED" {
		t.Fatalf("taking over a stale key: %+v", out)
	}
	if done := scalar[bool](t, r.pool, `SELECT response IS NOT NULL FROM mutation_results WHERE idempotency_key = 'stale'`); !done {
		t.Error("the result was not stored under the stale key")
	}
}
