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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payhub/payhub/cmd/internal/simulators"
	"github.com/payhub/payhub/cmd/internal/traffic"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/auth"
)

// The operations dashboard in a real browser: Debian's Chromium driven by playwright-core
// (web/app/e2e/dashboard.e2e.mjs) against the hub, its simulators and demo orders, as `hub demo`
// runs them. This harness makes the data the script needs (a dead posting whose cause is then
// cured in SYSPRO, an open fraud review, a numbered order), serves the script a trigger that
// places a payment at a moment of its choosing, runs the script, and checks afterwards, through
// the API, what the page's clicks did. The script saves screenshots and results.json to
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

	hubAddr, err := reserveAddr("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hubURL := simulators.BaseURL(hubAddr)
	sims, err := simulators.Start(simulators.Options{SysproAddr: "127.0.0.1:0", OpayoAddr: "127.0.0.1:0", CybersourceAddr: "127.0.0.1:0",
		WebhookURL: hubURL + "/webhooks/cybersource", Credentials: simulators.DefaultCredentials()})
	if err != nil {
		t.Fatal(err)
	}
	simsCtx, stopSims := context.WithCancel(context.Background())
	simsDone := make(chan error, 1)
	go func() { simsDone <- sims.Serve(simsCtx) }()
	configPath := filepath.Join(dir, demoConfigFile)
	if err := writeDemoConfig(configPath, sims); err != nil {
		t.Fatal(err)
	}
	hubStopped := make(chan struct{})
	var hubErr error
	go func() {
		defer close(hubStopped)
		hubErr = runServe(ctx, []string{"--addr", hubAddr.String(), "--data-dir", dir, "--config", configPath}, &logs)
	}()
	defer func() { // the hub first, then the simulators it logs off from
		cancel()
		<-hubStopped
		stopSims()
		<-simsDone
		sims.Close()
		if hubErr != nil {
			t.Errorf("hub: %v", hubErr)
		}
		if t.Failed() {
			t.Logf("hub log:\n%s", logs.String())
		}
	}()
	if err := waitReady(ctx, hubURL, hubStopped); err != nil {
		t.Fatal(err)
	}

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
	for _, c := range []traffic.Category{traffic.CleanSale, traffic.FraudReview, traffic.BadStock, traffic.CleanSale,
		traffic.Decline, traffic.Refunded, traffic.OpayoPayment, traffic.FraudReview} {
		if _, err := place(c); err != nil {
			t.Fatalf("placing a %s order: %v\n%s", c, err, shopLog.String())
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
	resp, err := http.Post(sims.SysproURL()+"/_sim/seed", "application/json", strings.NewReader(seed))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("seeding SYSPRO: %v %v", resp, err)
	}
	resp.Body.Close()

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
	shots, _ := filepath.Glob(filepath.Join(artifacts, "*.png"))
	if len(shots) < 14 { // seven views at two widths
		t.Errorf("%d screenshots in %s, want at least 14", len(shots), artifacts)
	}
}
