package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/payhub/payhub/cmd/internal/simulators"
	"github.com/payhub/payhub/cmd/internal/traffic"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/auth"
)

// Defaults of `hub demo`. The simulators' addresses are the ones INTERFACES.md and the README use.
const (
	demoDataDirDefault     = "./.hub-demo"
	demoSysproDefault      = "127.0.0.1:9103"
	demoOpayoDefault       = "127.0.0.1:9101"
	demoCybersourceDefault = "127.0.0.1:9102"
	demoOrdersDefault      = 50
	demoRateDefault        = 2
	demoTrickleDefault     = 5 * time.Second
	// demoConfigFile is the hub configuration the demo writes into its data directory.
	demoConfigFile = "hub-demo.yaml"
	// demoReadyTimeout bounds the hub's start: a first start creates a PostgreSQL cluster.
	demoReadyTimeout = 2 * time.Minute
)

// runDemo is `hub demo`: the simulators of SYSPRO, Opayo and Cybersource, the hub (`hub serve`
// with its private PostgreSQL) configured against them, and a shop placing orders, all in this
// process, until ctx ends.
func runDemo(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	addr := fs.String("addr", addrDefault, "address the hub listens on")
	dataDir := fs.String("data-dir", demoDataDirDefault, "directory of the demo's PostgreSQL cluster and configuration (DATABASE_URL, when set, is used instead of a private cluster)")
	sysproAddr := fs.String("syspro", demoSysproDefault, "address of the SYSPRO e.net simulator (port 0: any free port)")
	opayoAddr := fs.String("opayo", demoOpayoDefault, "address of the Opayo simulator (port 0: any free port)")
	cybersourceAddr := fs.String("cybersource", demoCybersourceDefault, "address of the Cybersource simulator (port 0: any free port)")
	orders := fs.Int("orders", demoOrdersDefault, "orders the shop places once the hub is ready")
	rate := fs.Float64("rate", demoRateDefault, "orders per second of those first --orders")
	trickle := fs.Duration("trickle", demoTrickleDefault, "then one more order this often, until the demo stops (0: none)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	bad := func(format string, a ...any) error {
		fmt.Fprintf(stderr, "hub demo: %s (see 'hub demo --help')\n", fmt.Sprintf(format, a...))
		return errUsage
	}
	switch {
	case *orders < 0:
		return bad("--orders must be 0 or more (got %d)", *orders)
	case !(*rate > 0) || *rate > 1000:
		return bad("--rate must be more than 0 and at most 1000 orders per second (got %v)", *rate)
	case *trickle < 0:
		return bad("--trickle must be 0 or a positive duration (got %v)", *trickle)
	}
	out := &syncWriter{w: stderr}

	stack, err := startDemoStack(ctx, *addr, *dataDir, simulators.Options{
		SysproAddr: *sysproAddr, OpayoAddr: *opayoAddr, CybersourceAddr: *cybersourceAddr,
		Credentials: simulators.DefaultCredentials(),
	}, out)
	if err != nil {
		return err
	}
	defer stack.stop() //nolint:errcheck // the error is returned below, stop answers it again
	if ctx.Err() != nil {
		return stack.stop()
	}
	sims, hubURL, configPath := stack.sims, stack.hubURL, stack.configPath

	gen, err := sims.Generator(&prefixWriter{prefix: "order ", w: out})
	if err != nil {
		return err
	}
	gen.RunID = strings.ToUpper(strconv.FormatInt(time.Now().Unix()%(36*36*36*36*36), 36))
	// A fresh admin key each run: a key is kept only as a hash, so an earlier run's cannot be shown.
	// The hub is ready, so its database is migrated.
	var adminKey string
	if err := withQueries(ctx, *dataDir, out, false, func(q *db.Queries) (err error) {
		adminKey, _, err = auth.CreateKey(ctx, q, "hub demo "+gen.RunID, auth.Admin)
		return err
	}); err != nil {
		if ctx.Err() != nil { // stopped while starting
			return stack.stop()
		}
		return fmt.Errorf("demo API key: %w", err)
	}
	printDemoBanner(out, demoBanner{hub: hubURL, dataDir: *dataDir, config: configPath, sims: sims,
		orders: *orders, rate: *rate, trickle: *trickle, runID: gen.RunID, apiKey: adminKey})

	trafficCtx, stopTraffic := context.WithCancel(ctx)
	trafficDone := make(chan struct{})
	go func() {
		defer close(trafficDone)
		demoTraffic(trafficCtx, gen, *orders, *rate, *trickle, out)
	}()
	<-stack.hubStopped // when ctx ends, or the hub fails on its own
	stopTraffic()
	<-trafficDone
	return stack.stop()
}

// demoStack is what `hub demo` runs under its shop: the simulators, and a hub configured against
// them with its private PostgreSQL in a data directory. The dashboard's browser test runs the same.
type demoStack struct {
	hubURL, configPath string
	sims               *simulators.Set
	// hubStopped is closed once the hub has stopped (ctx ended, stop, or a failure of its own).
	hubStopped chan struct{}
	hubErr     error
	stopHub    context.CancelFunc
	stopSims   func()
	stopOnce   sync.Once
}

// startDemoStack takes the hub's address first, so that a busy port fails before anything starts
// and a port 0 is chosen before the Cybersource simulator must know where to deliver its webhooks;
// then it starts the simulators of o, writes the hub's configuration into dataDir, starts the hub,
// and waits until it is ready (or ctx ends: then it returns the stack, to be stopped). On an error
// nothing is left running.
func startDemoStack(ctx context.Context, addr, dataDir string, o simulators.Options, out io.Writer) (*demoStack, error) {
	hubAddr, err := reserveAddr(addr)
	if err != nil {
		return nil, err
	}
	s := &demoStack{hubURL: simulators.BaseURL(hubAddr), hubStopped: make(chan struct{}), configPath: filepath.Join(dataDir, demoConfigFile)}
	o.WebhookURL = s.hubURL + "/webhooks/cybersource"
	if s.sims, err = simulators.Start(o); err != nil {
		return nil, err
	}
	// The simulators outlive the hub: SYSPRO's logoff comes last when the hub stops.
	simsCtx, cancelSims := context.WithCancel(context.WithoutCancel(ctx))
	simsDone := make(chan error, 1)
	go func() { simsDone <- s.sims.Serve(simsCtx) }()
	s.stopSims = func() {
		cancelSims()
		if err := <-simsDone; err != nil {
			fmt.Fprintf(out, "hub demo: simulators: %v\n", err)
		}
		s.sims.Close()
	}
	// Traversable by the unprivileged user PostgreSQL runs as when the demo runs as root.
	if err := os.MkdirAll(dataDir, 0o711); err != nil {
		s.stopSims()
		return nil, err
	}
	if err := writeDemoConfig(s.configPath, s.sims); err != nil {
		s.stopSims()
		return nil, err
	}
	hubCtx, stopHub := context.WithCancel(ctx)
	s.stopHub = stopHub
	go func() {
		defer close(s.hubStopped)
		s.hubErr = runServe(hubCtx, []string{"--addr", hubAddr.String(), "--data-dir", dataDir, "--config", s.configPath}, out)
	}()
	if err := waitReady(ctx, s.hubURL, s.hubStopped); err != nil {
		if hubErr := s.stop(); hubErr != nil {
			return nil, hubErr
		}
		return nil, err
	}
	return s, nil
}

// stop stops the hub, then the simulators, and returns the hub's error. Calling it again answers
// the same.
func (s *demoStack) stop() error {
	s.stopOnce.Do(func() {
		s.stopHub()
		<-s.hubStopped
		s.stopSims()
	})
	return s.hubErr
}

// reserveAddr resolves addr (port 0 included) to a free address, checking that it can be bound.
// The port is released for runServe to take again a moment later.
func reserveAddr(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	a := ln.Addr()
	return a, ln.Close()
}

// writeDemoConfig writes the hub's configuration for the simulators that run (mode 0600: it holds
// their credentials).
func writeDemoConfig(path string, sims *simulators.Set) error {
	creds := sims.Credentials()
	cfg := Config{
		Cybersource: &CybersourceConfig{URL: sims.CybersourceURL(), MerchantID: creds.Cybersource.MerchantID,
			KeyID: creds.Cybersource.KeyID, Secret: Secret(creds.Cybersource.Secret), Auth: CybersourceAuthDefault,
			WebhookKeys: []WebhookKey{{ID: creds.Cybersource.WebhookKeyID, Key: Secret(creds.Cybersource.WebhookKey)}}},
		Opayo: &OpayoConfig{PiURL: sims.OpayoPiURL(), IntegrationKey: creds.Opayo.IntegrationKey,
			IntegrationPassword: Secret(creds.Opayo.IntegrationPassword), Vendor: creds.Opayo.Vendor,
			ReportingURL: sims.OpayoReportingURL(), ReportingUser: creds.Opayo.ReportingUser,
			ReportingPassword: Secret(creds.Opayo.ReportingPassword)},
		Syspro: &SysproConfig{URL: sims.SysproRestURL(), Operator: creds.Syspro.Operator,
			OperatorPassword: Secret(creds.Syspro.OperatorPassword), CompanyID: creds.Syspro.Company,
			CompanyPassword: Secret(creds.Syspro.CompanyPassword), Seats: creds.Syspro.Seats},
		Sync: &SyncConfig{CreateCustomers: true, DefaultWarehouse: "FG", PollInterval: "10s", StatusInterval: "15s"},
	}
	body, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	header := "# Written by `hub demo` on every start, for the simulators it runs; edits are overwritten.\n"
	return os.WriteFile(path, append([]byte(header), body...), 0o600)
}

// waitReady asks the hub's /readyz until it answers 200 (nil), the hub stops before that, the
// time runs out, or ctx ends (nil: the caller sees ctx.Err()). The hub binds its address before it
// starts PostgreSQL, so a request made meanwhile waits in the listen queue: one request at a time
// is sent, without a timeout of its own, so that no abandoned request is answered later.
func waitReady(ctx context.Context, hubURL string, hubStopped <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, demoReadyTimeout)
	defer cancel()
	go func() { // a hub that stops closes its listener, but stop waiting for it anyway
		select {
		case <-hubStopped:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hubURL+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-hubStopped:
			return errors.New("the hub stopped before it was ready")
		default:
		}
		if ctx.Err() != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("the hub was not ready after %v", demoReadyTimeout)
			}
			return nil
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// demoTraffic places the first orders at rate, then one every trickle until ctx ends.
func demoTraffic(ctx context.Context, gen *traffic.Generator, orders int, rate float64, trickle time.Duration, out io.Writer) {
	if orders > 0 {
		gen.Orders, gen.Rate = orders, rate
		sum, err := gen.Run(ctx)
		if err != nil {
			return // the demo is stopping
		}
		fmt.Fprintf(out, "hub demo: placed %s\n", sum)
	}
	if trickle > 0 {
		gen.Orders, gen.Rate = 0, 1/trickle.Seconds()
		gen.Run(ctx) //nolint:errcheck // ends with ctx
	}
}

type demoBanner struct {
	hub, dataDir, config string
	sims                 *simulators.Set
	orders               int
	rate                 float64
	trickle              time.Duration
	runID                string
	apiKey               string
}

func printDemoBanner(w io.Writer, b demoBanner) {
	var s strings.Builder
	fmt.Fprintf(&s, "\nPayhub demo: the hub, its PostgreSQL, the simulators and a shop, in this process. Ctrl-C stops them all.\n\n")
	fmt.Fprintf(&s, "Hub                     %s\n", b.hub)
	fmt.Fprintf(&s, "  dashboard             %s/   (open it in a browser and sign in with the API key below)\n", b.hub)
	fmt.Fprintf(&s, "  GraphQL               %s/graphql   (GraphiQL in a browser; POST for the API)\n", b.hub)
	fmt.Fprintf(&s, "  API key (admin)       %s\n", b.apiKey)
	fmt.Fprintf(&s, "                        send it as the header  Authorization: Bearer <key>  (GraphiQL: the Headers tab)\n")
	fmt.Fprintf(&s, "  metrics               %s/metrics\n", b.hub)
	fmt.Fprintf(&s, "  health                %s/healthz   ready %s/readyz\n", b.hub, b.hub)
	fmt.Fprintf(&s, "  webhooks              %s/webhooks/cybersource   %s/webhooks/opayo\n", b.hub, b.hub)
	fmt.Fprintf(&s, "  data                  %s (configuration %s)\n", b.dataDir, b.config)
	b.sims.Banner(&s)
	switch {
	case b.orders > 0 && b.trickle > 0:
		fmt.Fprintf(&s, "Shop                    %d orders at %v per second, then one every %v (references DEMO-%s-nnnn)\n", b.orders, b.rate, b.trickle, b.runID)
	case b.orders > 0:
		fmt.Fprintf(&s, "Shop                    %d orders at %v per second (references DEMO-%s-nnnn)\n", b.orders, b.rate, b.runID)
	case b.trickle > 0:
		fmt.Fprintf(&s, "Shop                    one order every %v (references DEMO-%s-nnnn)\n", b.trickle, b.runID)
	default:
		fmt.Fprintf(&s, "Shop                    closed (--orders 0 --trickle 0)\n")
	}
	fmt.Fprintf(&s, "Try in GraphiQL:        { payments(first: 10) { totalCount nodes { merchantReference gateway kind status amount { amount currency } order { number status } } } }\n\n")
	io.WriteString(w, s.String())
}

// syncWriter serialises writes from the hub's logger, the shop and the banner.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// prefixWriter prefixes every write, each of which is one whole line.
type prefixWriter struct {
	prefix string
	w      io.Writer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}
