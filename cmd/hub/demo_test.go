package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/opayo/opayosim"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
)

// unconfigured clears DATABASE_URL and HUB_* for the test, as on a machine where nothing is set.
func unconfigured(t *testing.T) {
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if k == "DATABASE_URL" || strings.HasPrefix(k, "HUB_") {
			t.Setenv(k, v) // restored at the end
			os.Unsetenv(k)
		}
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

func TestDemoRunsTheHubTheSimulatorsAndAShop(t *testing.T) {
	unconfigured(t)
	dir := dataDir(t)
	hub, syspro, opayo, cybersource := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	var out lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- runDemo(ctx, []string{"--addr", hub, "--data-dir", dir, "--syspro", syspro, "--opayo", opayo,
			"--cybersource", cybersource, "--orders", "5", "--rate", "10", "--trickle", "0"}, &out)
	}()
	stopped := false
	stop := func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo ended with %v; output:\n%s", err, out.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("demo still running 30s after it was stopped; output:\n%s", out.String())
		}
	}
	defer stop()

	waitFor := func(what string, limit time.Duration) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !strings.Contains(out.String(), what) {
			select {
			case err := <-done:
				stopped = true
				t.Fatalf("demo ended (%v) before printing %q; output:\n%s", err, what, out.String())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q after %v; output:\n%s", what, limit, out.String())
			}
		}
	}
	waitFor("Try in GraphiQL", 45*time.Second)
	t.Logf("ready after %v", time.Since(start))
	banner := out.String()
	for _, want := range []string{
		"dashboard             http://" + hub + "/   ", "http://" + hub + "/graphql", "http://" + hub + "/metrics", "http://" + hub + "/readyz",
		"http://" + syspro + sysprosim.BasePath, "http://" + syspro + "/_sim/state",
		"http://" + opayo + opayosim.PiBasePath, "http://" + opayo + "/_sim/state",
		"Cybersource simulator   http://" + cybersource, "http://" + cybersource + "/_sim/state",
		"webhooks to http://" + hub + "/webhooks/cybersource", "5 orders at 10 per second",
		"operator ADMIN / password admin", "merchant id payhub_sandbox",
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q", want)
		}
	}
	if resp, err := http.Get("http://" + hub + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	// The dashboard the banner points at is served by the hub itself.
	if resp, err := http.Get("http://" + hub + "/"); err != nil || resp.StatusCode != http.StatusOK ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("GET /: %v %v", resp, err)
	}
	// The banner's admin key opens the API.
	key := regexp.MustCompile(`API key \(admin\) +(phk_[A-Za-z0-9_-]{43})\n`).FindStringSubmatch(banner)
	if key == nil {
		t.Fatalf("banner shows no admin API key:\n%s", banner)
	}
	if status, body := graphqlPost(t, "http://"+hub+"/graphql", key[1], `{ customers { totalCount } }`); status != http.StatusOK ||
		!strings.Contains(body, `"totalCount"`) || strings.Contains(body, `"errors"`) {
		t.Errorf("the demo's admin key: HTTP %d %s", status, body)
	}

	waitFor("placed 5 orders", 15*time.Second)
	var cs cybersourcesim.Snapshot
	getJSON(t, "http://"+cybersource+"/_sim/state", &cs)
	var op opayosim.Snapshot
	getJSON(t, "http://"+opayo+"/_sim/state", &op)
	payments := 0
	for _, tx := range cs.Transactions {
		if tx.Kind == cybersourcesim.KindAuthorization || tx.Kind == cybersourcesim.KindSale {
			payments++
		}
		if !strings.HasPrefix(tx.ClientReferenceCode, "DEMO-") {
			t.Errorf("Cybersource transaction with reference %q", tx.ClientReferenceCode)
		}
	}
	if payments+len(op.Transactions) != 5 || payments < 3 {
		t.Errorf("the gateways have %d Cybersource payments and %d Opayo transactions, want 5 orders in all", payments, len(op.Transactions))
	}

	stop()
	if left := postgresProcesses(t, dir); len(left) > 0 {
		t.Errorf("postgres still running after the demo stopped: %v", left)
	}
	for _, addr := range []string{hub, syspro, opayo, cybersource} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the demo stopped", addr)
		}
	}
	log := out.String()
	for _, pan := range []string{"4111111111111111", "5555555555554444", "4000000000000002", "4929000000006"} {
		if strings.Contains(log, pan) {
			t.Errorf("the output shows card number %s", pan)
		}
	}
	// The configuration the demo wrote is one `hub serve --config` accepts as it is.
	cfg, err := loadConfig(filepath.Join(dir, demoConfigFile), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if on, off := cfg.Connectors(); len(on) != 3 || len(off) != 0 || !cfg.Sync.CreateCustomers ||
		cfg.Cybersource.WebhookKeys[0].ID != cybersourcesim.DefaultWebhookKeyID {
		t.Errorf("demo config: on %v off %v, %+v", on, off, cfg)
	}
}

func TestDemoRefusesABusyHubAddressBeforeStartingAnything(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := filepath.Join(t.TempDir(), "demo")
	syspro := freeAddr(t)
	var out lockedBuffer
	err = runDemo(context.Background(), []string{"--addr", busy.Addr().String(), "--data-dir", dir,
		"--syspro", syspro, "--opayo", freeAddr(t), "--cybersource", freeAddr(t)}, &out)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("runDemo = %v, want address already in use", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data dir created: %v", err)
	}
	if ln, err := net.Listen("tcp", syspro); err != nil {
		t.Errorf("SYSPRO simulator address still taken: %v", err)
	} else {
		ln.Close()
	}
}

func TestDemoBadFlagsSayWhatIsWrongInOneLine(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"demo", "--rate", "0"}, "--rate must be more than 0"},
		{[]string{"demo", "--orders", "-1"}, "--orders must be 0 or more"},
		{[]string{"demo", "--trickle", "-1s"}, "--trickle must be 0 or a positive duration"},
		{[]string{"demo", "extra"}, `unexpected argument "extra"`},
	} {
		var stderr bytes.Buffer
		if code := run(tt.args, &stderr); code != 2 {
			t.Errorf("hub %v: exit %d, want 2", tt.args, code)
		}
		if msg := stderr.String(); !strings.Contains(msg, tt.want) || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
			t.Errorf("hub %v printed %q, want one line with %q", tt.args, msg, tt.want)
		}
	}
	var help bytes.Buffer
	if code := run([]string{"demo", "--help"}, &help); code != 0 || !strings.Contains(help.String(), "-trickle") {
		t.Errorf("hub demo --help: exit %d\n%s", code, help.String())
	}
	var usage bytes.Buffer
	run([]string{"--help"}, &usage)
	if !strings.Contains(usage.String(), "demo") {
		t.Errorf("hub --help does not list demo:\n%s", usage.String())
	}
}
