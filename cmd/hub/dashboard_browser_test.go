package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payhub/payhub/cmd/internal/simulators"
	"github.com/payhub/payhub/cmd/internal/traffic"
	"github.com/payhub/payhub/connectors/opayo/opayosim"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/auth"
)

// The operations dashboard in a real browser: Debian's Chromium driven by playwright-core
// (web/app/e2e/dashboard.e2e.mjs) against the hub, its simulators and demo orders, as `hub demo`
// runs them. This harness makes the data the script needs (a dead posting whose cause is then
// cured in SYSPRO, an open fraud review, a numbered order, and an Opayo settlement day that is
// over, misreported by the gateway and reconciled as MISMATCHED: see settleOpayoDay), serves the
// script a trigger that places a payment at a moment of its choosing, runs the script, and checks
// afterwards, through the API, what the page's clicks did. The script saves screenshots and results.json to
// PAYHUB_ARTIFACTS (default: artifacts/dashboard at the repository's root).
//
// It needs node, Chromium (CHROMIUM, default /usr/bin/chromium) and web/app's npm packages
// (`npm ci` in web/app). Without them it skips, unless PAYHUB_REQUIRE_BROWSER=1 (as CI sets it),
// when it fails.

const browserScript = "../../web/app/e2e/dashboard.e2e.mjs"

func browserPrerequisites(t *testing.T) (node, chromium string) {
	t.Helper()
	missing := func(format string, a ...any) {
		t.Helper()
		if os.Getenv("PAYHUB_REQUIRE_BROWSER") == "1" {
			t.Fatalf("PAYHUB_REQUIRE_BROWSER=1 but "+format, a...)
		}
		t.Skipf(format+" (set PAYHUB_REQUIRE_BROWSER=1 to make this a failure)", a...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	chromium = os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("no Chromium at %s (apt-get install chromium)", chromium)
	}
	if _, err := os.Stat("../../web/app/node_modules/playwright-core/package.json"); err != nil {
		missing("web/app has no node_modules/playwright-core (cd web/app && npm ci)")
	}
	return node, chromium
}

// gqlCall posts one GraphQL operation with key and decodes its data into out; errors fail the test.
func gqlCall(t *testing.T, hubURL, key, query string, vars map[string]any, out any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, hubURL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var envelope struct {
		Data   json.RawMessage   `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(raw, &envelope); err != nil || len(envelope.Errors) > 0 || resp.StatusCode != http.StatusOK {
		t.Fatalf("GraphQL HTTP %d: %s", resp.StatusCode, raw)
	}
	if err := json.Unmarshal(envelope.Data, out); err != nil {
		t.Fatalf("GraphQL data %s: %v", envelope.Data, err)
	}
}

// eventually polls check every 200 ms until it returns "" (done) or limit passes (the last
// answer fails the test).
func eventually(t *testing.T, limit time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		why := check()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", limit, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestDashboardInABrowser(t *testing.T) {
	node, chromium := browserPrerequisites(t)
	unconfigured(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs lockedBuffer
	dir := dataDir(t)

	// The stack `hub demo` runs. Opayo's clock starts in the past and stands still until moved: its
	// payments then belong to a settlement day that is over (settleOpayoDay).
	stack, err := startDemoStack(ctx, "127.0.0.1:0", dir, simulators.Options{SysproAddr: "127.0.0.1:0", OpayoAddr: "127.0.0.1:0",
		CybersourceAddr: "127.0.0.1:0", Credentials: simulators.DefaultCredentials(), OpayoClockStart: time.Now().Add(-opayoClockBack)}, &logs)
	if err != nil {
		t.Fatalf("%v\n%s", err, logs.String())
	}
	defer func() {
		if err := stack.stop(); err != nil {
			t.Errorf("hub: %v", err)
		}
		if t.Failed() {
			t.Logf("hub log:\n%s", logs.String())
		}
	}()
	sims, hubURL := stack.sims, stack.hubURL

	var financeKey, dashboardKey string
	if err := withQueries(ctx, dir, &logs, false, func(q *db.Queries) (err error) {
		if financeKey, _, err = auth.CreateKey(ctx, q, "finance clerk", auth.Finance); err != nil {
			return err
		}
		dashboardKey, _, err = auth.CreateKey(ctx, q, "wallboard", auth.Dashboard)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// The demo's shop, with the categories the script needs placed on purpose, then a mix.
	var shopLog lockedBuffer
	gen, err := sims.Generator(&shopLog)
	if err != nil {
		t.Fatal(err)
	}
	gen.Seed, gen.RunID = 8, "E2E"
	var shop sync.Mutex // a Generator is not safe for concurrent use
	place := func(c traffic.Category) (string, error) {
		shop.Lock()
		defer shop.Unlock()
		return gen.Place(ctx, c)
	}
	settling := dateOpayoPayments(t, sims.OpayoURL())
	var opayoRefs []string
	for _, c := range []traffic.Category{traffic.CleanSale, traffic.FraudReview, traffic.BadStock, traffic.CleanSale,
		traffic.Decline, traffic.Refunded, traffic.OpayoPayment, traffic.FraudReview, traffic.OpayoPayment, traffic.OpayoPayment} {
		ref, err := place(c)
		if err != nil {
			t.Fatalf("placing a %s order: %v\n%s", c, err, shopLog.String())
		}
		if c == traffic.OpayoPayment {
			opayoRefs = append(opayoRefs, ref)
		}
	}
	gen.Orders, gen.Rate = 20, 20
	if sum, err := gen.Run(ctx); err != nil || sum.Failed > 0 {
		t.Fatalf("demo orders: %s, %v\n%s", sum, err, shopLog.String())
	}

	// What the script acts on: a dead sales order (SYSPRO refused the unknown stock code), an
	// open fraud review of a payment that can be voided, and an order SYSPRO numbered.
	var deadID, reviewID, reviewPaymentID, orderPO string
	eventually(t, 60*time.Second, func() string {
		var out struct {
			DeadLetters struct {
				Nodes []struct {
					ID, Kind, LastError string
				}
			}
			FraudReviews struct {
				Nodes []struct {
					ID      string
					Payment struct{ ID, Status string }
				}
			}
			Orders struct {
				Nodes []struct {
					Number           *string
					CustomerPoNumber string
				}
			}
		}
		gqlCall(t, hubURL, financeKey, `{
			deadLetters(filter: {kind: SALES_ORDER}) { nodes { id kind lastError } }
			fraudReviews(filter: {status: [OPEN], gateway: CYBERSOURCE}) { nodes { id payment { id status } } }
			orders(filter: {status: [OPEN]}, first: 5) { nodes { number customerPoNumber } }
		}`, nil, &out)
		deadID, reviewID, orderPO = "", "", ""
		for _, d := range out.DeadLetters.Nodes {
			if strings.Contains(d.LastError, traffic.BadStockCode) {
				deadID = d.ID
			}
		}
		for _, r := range out.FraudReviews.Nodes {
			if r.Payment.Status == "REVIEW" || r.Payment.Status == "AUTHORIZED" {
				reviewID, reviewPaymentID = r.ID, r.Payment.ID
			}
		}
		for _, o := range out.Orders.Nodes {
			if o.Number != nil {
				orderPO = o.CustomerPoNumber
			}
		}
		switch {
		case deadID == "":
			return fmt.Sprintf("no dead sales order naming %s: %+v", traffic.BadStockCode, out.DeadLetters)
		case reviewID == "":
			return fmt.Sprintf("no open fraud review of a voidable payment: %+v", out.FraudReviews)
		case orderPO == "":
			return "no order numbered by SYSPRO yet"
		}
		return ""
	})
	// The cure a SYSPRO user would key in: the stock item now exists, so a repost succeeds.
	seed := fmt.Sprintf(`{"stock":[{"stockCode":%q,"description":"Added for the repost","stockUom":"EA","sellingPrice":"10.00",
		"warehouses":[{"warehouse":"FG","qtyOnHand":"1000","qtyAllocated":"0"}]}]}`, traffic.BadStockCode)
	simControl(t, http.MethodPost, sims.SysproURL()+"/_sim/seed", seed, nil)

	// The Opayo day the script reconciles in the page: closed with one payment left out.
	var day settledDay
	if settling.skip == "" {
		day = settleOpayoDay(t, hubURL, financeKey, sims.OpayoURL(), opayoRefs)
		if day.date != settling.date {
			t.Fatalf("Opayo settled the payments of %s in a batch of %s", settling.date, day.date)
		}
	} else {
		t.Logf("no settlement day for the script: %s", settling.skip)
	}

	trigger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/payment" {
			http.NotFound(w, r)
			return
		}
		ref, err := place(traffic.CleanSale)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"reference": ref, "gateway": "CYBERSOURCE"})
	}))
	defer trigger.Close()

	artifacts := os.Getenv("PAYHUB_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join("..", "..", "artifacts", "dashboard")
	}
	if artifacts, err = filepath.Abs(artifacts); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	// This run's artefacts only: an earlier run's failure screenshot would mislead.
	for _, pattern := range []string{"*.png", "*.csv", "results.json"} {
		old, _ := filepath.Glob(filepath.Join(artifacts, pattern))
		for _, f := range old {
			os.Remove(f)
		}
	}
	script, err := filepath.Abs(browserScript)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stopRun := context.WithTimeout(ctx, 6*time.Minute)
	defer stopRun()
	cmd := exec.CommandContext(runCtx, node, script)
	cmd.Dir = filepath.Dir(filepath.Dir(script)) // web/app, where node_modules is
	cmd.Env = append(os.Environ(),
		"PAYHUB_URL="+hubURL, "PAYHUB_FINANCE_KEY="+financeKey, "PAYHUB_DASHBOARD_KEY="+dashboardKey,
		"PAYHUB_TRIGGER_URL="+trigger.URL, "PAYHUB_DEAD_POSTING_ID="+deadID,
		"PAYHUB_FRAUD_REVIEW_ID="+reviewID, "PAYHUB_FRAUD_PAYMENT_ID="+reviewPaymentID,
		"PAYHUB_ORDER_PO="+orderPO, "PAYHUB_ARTIFACTS="+artifacts, "CHROMIUM="+chromium)
	if day.date != "" {
		cmd.Env = append(cmd.Env, "PAYHUB_SETTLEMENT_GATEWAY=OPAYO", "PAYHUB_SETTLEMENT_DAY="+day.date,
			"PAYHUB_SETTLEMENT_REFERENCE="+day.reference, "PAYHUB_SETTLEMENT_BATCH_ID="+day.batchID)
	}
	out, err := cmd.CombinedOutput()
	t.Logf("browser script:\n%s", out)
	if err != nil {
		t.Fatalf("the browser script failed: %v (screenshots in %s)", err, artifacts)
	}
	for _, secret := range []string{financeKey, dashboardKey} {
		if strings.Contains(string(out), secret) || strings.Contains(logs.String(), secret) {
			t.Error("an API key was printed")
		}
	}

	// What the page's clicks did, seen through the API: the repost went through, the payment of
	// the rejected review is voided at the gateway.
	var after struct {
		Dead    struct{ Status string }
		Payment struct{ Status string }
		Review  struct{ Status string }
	}
	gqlCall(t, hubURL, financeKey, `query($dead: ID!, $pay: ID!, $review: ID!) {
		dead: node(id: $dead) { ... on ErpPosting { status } }
		payment: node(id: $pay) { ... on Payment { status } }
		review: node(id: $review) { ... on FraudReview { status } }
	}`, map[string]any{"dead": deadID, "pay": reviewPaymentID, "review": reviewID}, &after)
	if after.Dead.Status != "SUCCEEDED" || after.Payment.Status != "VOIDED" || after.Review.Status != "REJECTED" {
		t.Errorf("after the page's actions: posting %s, payment %s, review %s; want SUCCEEDED, VOIDED, REJECTED",
			after.Dead.Status, after.Payment.Status, after.Review.Status)
	}
	if day.date != "" {
		// The batch the page accepted: ACCEPTED by the finance key with its note (or already
		// JOURNAL_POSTED), none of its discrepancies left open.
		var batch struct {
			Node struct {
				Status         string
				AcceptedBy     *string
				AcceptanceNote *string
				Discrepancies  []struct{ Kind, Status string }
			}
		}
		gqlCall(t, hubURL, financeKey, `query($id: ID!) { node(id: $id) { ... on SettlementBatch {
			status acceptedBy acceptanceNote discrepancies { kind status } } } }`, map[string]any{"id": day.batchID}, &batch)
		b := batch.Node
		if b.Status != "ACCEPTED" && b.Status != "JOURNAL_POSTED" {
			t.Errorf("after the page's Accept batch: batch %s of OPAYO %s is %s, want ACCEPTED or JOURNAL_POSTED", day.batchID, day.date, b.Status)
		}
		if b.AcceptedBy == nil || *b.AcceptedBy != "finance clerk" || b.AcceptanceNote == nil || *b.AcceptanceNote == "" {
			t.Errorf("the accepted batch says accepted by %v with note %v, want the finance key's name and a note", b.AcceptedBy, b.AcceptanceNote)
		}
		for _, d := range b.Discrepancies {
			if d.Status == "OPEN" {
				t.Errorf("the accepted batch still has an open %s discrepancy", d.Kind)
			}
		}
	}
	shots, _ := filepath.Glob(filepath.Join(artifacts, "*.png"))
	want := 14 // seven views at two widths
	if day.date != "" {
		want += 2 // and the reconciled day's report at both
	}
	if len(shots) < want {
		t.Errorf("%d screenshots in %s, want at least %d", len(shots), artifacts, want)
	}
}

// The Opayo simulator's clock starts opayoClockBack before the test; right before the Opayo
// payments it is moved to opayoPaymentAge before the wall clock, and stands still there while
// they are placed. Why not leave it 30 hours back: the hub learns of Pi payments only by polling
// Reporting for transactions started since its cursor, never more than 24 hours (and a 15 minute
// overlap) back (sync/opayo_source.go: opayoPollLookback), so payments dated 30 hours back are
// never recorded and could not be missing from a settlement. Why not later: reconcileSettlement
// takes only a day that is over (before today, UTC). 24h10m back is inside the poll's window,
// with five minutes to spare, and on a London day that is over, except from 23:10 UTC in British
// Summer Time (00:10 London): then the settlement day is left out (dateOpayoPayments says why).
const (
	opayoClockBack  = 30 * time.Hour
	opayoPaymentAge = 24*time.Hour + 10*time.Minute
)

// opayoSettling is the London day the Opayo payments are dated on; skip says why no settlement
// day can be made now (empty when one can).
type opayoSettling struct {
	date, skip string
}

// dateOpayoPayments moves the Opayo simulator's clock forward to opayoPaymentAge before now, where
// the payments about to be placed are stamped.
func dateOpayoPayments(t *testing.T, opayoURL string) opayoSettling {
	t.Helper()
	var clock struct{ Now time.Time }
	simControl(t, http.MethodGet, opayoURL+"/_sim/clock", "", &clock)
	at := time.Now().Add(-opayoPaymentAge).Truncate(time.Second)
	if d := at.Sub(clock.Now); d > 0 {
		simControl(t, http.MethodPost, opayoURL+"/_sim/clock", fmt.Sprintf(`{"advance":%q}`, d.String()), &clock)
	}
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	s := opayoSettling{date: clock.Now.In(london).Format(time.DateOnly)}
	if today := time.Now().UTC().Format(time.DateOnly); s.date >= today {
		s.skip = fmt.Sprintf("the Opayo payments are dated %s London time, on a day that is not over in UTC (%s); "+
			"an earlier date would be outside the hub's 24-hour Reporting poll", clock.Now.In(london).Format(time.DateTime), today)
	}
	return s
}

// settledDay is what the script needs of the Opayo settlement day: its date, the batch's global
// ID and the merchant reference of the payment the batch left out.
type settledDay struct {
	date, batchID, reference string
}

// settleOpayoDay makes a settlement day go wrong through the real paths: once the hub has recorded
// the Opayo payments refs (placed on a day that is over), the simulator is told to leave the
// first one out of the batch's detail, its clock is moved past the London midnight that closes
// the batch, and the day is reconciled with reconcileSettlement. It waits until the batch is
// MISMATCHED with the payment UNMATCHED_PAYMENT and the count a TOTAL_MISMATCH.
func settleOpayoDay(t *testing.T, hubURL, financeKey, opayoURL string, refs []string) settledDay {
	t.Helper()
	if len(refs) < 2 {
		t.Fatalf("%d Opayo payments placed; the settlement day needs at least two", len(refs))
	}
	// The hub learns of Pi payments from Reporting, on its next poll.
	eventually(t, 60*time.Second, func() string {
		var out struct {
			Payments struct {
				Nodes []struct{ MerchantReference, Status string }
			}
		}
		gqlCall(t, hubURL, financeKey, `{ payments(filter: {gateway: OPAYO}, first: 100) { nodes { merchantReference status } } }`, nil, &out)
		for _, ref := range refs {
			if !slices.ContainsFunc(out.Payments.Nodes, func(p struct{ MerchantReference, Status string }) bool {
				return p.MerchantReference == ref && p.Status == "CAPTURED"
			}) {
				return fmt.Sprintf("the hub has no captured Opayo payment %s yet: %+v", ref, out.Payments.Nodes)
			}
		}
		return ""
	})
	omitted := refs[0]
	var state opayosim.Snapshot
	simControl(t, http.MethodGet, opayoURL+"/_sim/state", "", &state)
	var txID string
	for _, tx := range state.Transactions {
		if tx.VendorTxCode == omitted {
			txID = tx.TransactionID
		}
	}
	if txID == "" {
		t.Fatalf("the Opayo simulator has no transaction %s", omitted)
	}
	simControl(t, http.MethodPost, opayoURL+"/_sim/settlement-quirks", fmt.Sprintf(`{"omit":[%q]}`, txID), nil)

	// Close the day: just past the London midnight that ends it (the clock stays behind the wall
	// clock, as a gateway's would).
	var clock struct{ Now time.Time }
	simControl(t, http.MethodGet, opayoURL+"/_sim/clock", "", &clock)
	london, _ := time.LoadLocation("Europe/London")
	y, m, d := clock.Now.In(london).Date()
	midnight := time.Date(y, m, d+1, 0, 0, 0, 0, london)
	simControl(t, http.MethodPost, opayoURL+"/_sim/clock", fmt.Sprintf(`{"advance":%q}`, (midnight.Sub(clock.Now)+time.Minute).String()), nil)
	simControl(t, http.MethodGet, opayoURL+"/_sim/state", "", &state)
	var day settledDay
	var gatewayBatch string
	for _, b := range state.Batches {
		if slices.Contains(b.TransactionIDs, txID) {
			if !slices.Contains(b.OmittedTransactionIDs, txID) {
				t.Fatalf("Opayo batch %s settled %s without leaving it out: %+v", b.BatchID, omitted, b)
			}
			day.date, gatewayBatch = b.BusinessDay, b.BatchID
		}
	}
	if day.date == "" {
		t.Fatalf("no Opayo batch settled %s after the clock passed %s: %+v", omitted, midnight, state.Batches)
	}

	// Reconcile the day. A request made while the hub's own reconciliation of that day (its
	// periodic import, which also runs on start) is under way is refused with RECONCILIATION_RUNNING
	// (the job is unique per day among waiting and running ones), and that run may have read the
	// gateway's batches before the day closed. So while nothing of the day is imported, it is asked
	// again every 5 seconds, as a clerk would press "Reconcile again".
	var asked time.Time
	reconcile := func() {
		var queued struct {
			ReconcileSettlement struct {
				Queued     bool
				UserErrors []struct{ Code, Message string }
			}
		}
		gqlCall(t, hubURL, financeKey, `mutation($input: ReconcileSettlementInput!) {
			reconcileSettlement(input: $input) { queued userErrors { code message } } }`,
			map[string]any{"input": map[string]any{"idempotencyKey": fmt.Sprintf("e2e-reconcile-%s-%d", day.date, time.Now().UnixNano()),
				"gateway": "OPAYO", "date": day.date}}, &queued)
		if errs := queued.ReconcileSettlement.UserErrors; !queued.ReconcileSettlement.Queued &&
			!(len(errs) == 1 && errs[0].Code == "RECONCILIATION_RUNNING") {
			t.Fatalf("reconcileSettlement OPAYO %s was not queued: %+v", day.date, queued.ReconcileSettlement.UserErrors)
		}
		asked = time.Now()
	}
	reconcile()
	eventually(t, 60*time.Second, func() string {
		var out struct {
			SettlementBatches struct {
				Nodes []struct{ ID, BatchID, Status string }
			}
			SettlementDiscrepancies struct {
				Nodes []struct {
					Kind, Status      string
					MerchantReference *string
				}
			}
		}
		gqlCall(t, hubURL, financeKey, `query($day: Date!) {
			settlementBatches(filter: {gateway: OPAYO, dateFrom: $day, dateTo: $day}) { nodes { id batchId status } }
			settlementDiscrepancies(filter: {gateway: OPAYO, date: $day}, first: 100) { nodes { kind status merchantReference } }
		}`, map[string]any{"day": day.date}, &out)
		day.batchID = ""
		for _, b := range out.SettlementBatches.Nodes {
			if b.BatchID == gatewayBatch && b.Status == "MISMATCHED" {
				day.batchID = b.ID
			}
		}
		if len(out.SettlementBatches.Nodes) == 0 && time.Since(asked) > 5*time.Second {
			reconcile() // nothing imported yet: the request may have been swallowed
		}
		var unmatched, totals bool
		for _, d := range out.SettlementDiscrepancies.Nodes {
			unmatched = unmatched || d.Kind == "UNMATCHED_PAYMENT" && d.Status == "OPEN" && d.MerchantReference != nil && *d.MerchantReference == omitted
			totals = totals || d.Kind == "TOTAL_MISMATCH" && d.Status == "OPEN"
		}
		if day.batchID == "" || !unmatched || !totals {
			return fmt.Sprintf("OPAYO %s is not reconciled as MISMATCHED with %s unmatched and a total mismatch: batches %+v, discrepancies %+v",
				day.date, omitted, out.SettlementBatches.Nodes, out.SettlementDiscrepancies.Nodes)
		}
		return ""
	})
	day.reference = omitted
	t.Logf("OPAYO %s: batch %s MISMATCHED, %s left out", day.date, gatewayBatch, omitted)
	return day
}

// simControl calls a simulator's /_sim control route and decodes its 200 answer into out (nil:
// not decoded); any other answer fails the test.
func simControl(t *testing.T, method, url, body string, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s %s: HTTP %d: %s", method, url, body, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, raw)
		}
	}
}
