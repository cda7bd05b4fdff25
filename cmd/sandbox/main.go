// Command sandbox runs Payhub's simulators of the outside systems on the addresses it is given,
// for demos and manual testing:
//
//	go run ./cmd/sandbox --syspro 127.0.0.1:9103 --opayo 127.0.0.1:9101 --cybersource 127.0.0.1:9102 \
//	    --webhook-url http://127.0.0.1:8080
//
// Each simulator starts only when its address is given. The sandbox prints where each one listens
// and which credentials it accepts, and runs until SIGINT or SIGTERM. Their state lives as long as
// the sandbox does, so a hub can be stopped and restarted against the same simulated world.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/opayo/opayosim"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the sandbox's flags.
type options struct {
	sysproAddr, opayoAddr, cybersourceAddr string
	seedFile                               string
	webhookURL                             string
	syspro                                 sysproCredentials
	opayo                                  opayoCredentials
	cybersource                            cybersourceCredentials
}

// sysproCredentials are what the SYSPRO simulator accepts at Logon.
type sysproCredentials struct {
	operator, operatorPassword, company, companyPassword string
	seats                                                int
}

// opayoCredentials are what the Opayo simulator accepts on Pi (Basic auth), on Reporting (signed
// vspaccess requests) and as the Server-protocol vendor.
type opayoCredentials struct {
	integrationKey, integrationPassword, vendor, reportingUser, reportingPassword string
}

// cybersourceCredentials are what the Cybersource simulator verifies requests with and signs
// its webhooks with.
type cybersourceCredentials struct {
	merchantID, keyID, secret, webhookKeyID, webhookKey string
}

// fixture is the --seed file: one section per simulator.
type fixture struct {
	Syspro *sysprosim.Seed `json:"syspro"`
}

func run(args []string, stdout, stderr io.Writer) int {
	opts, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sandbox: %v (see 'sandbox --help')\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, opts, stdout); err != nil {
		fmt.Fprintf(stderr, "sandbox: %v\n", err)
		return 1
	}
	return 0
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.sysproAddr, "syspro", "", "address of the SYSPRO e.net simulator, e.g. 127.0.0.1:9103")
	fs.StringVar(&o.opayoAddr, "opayo", "", "address of the Opayo simulator (Pi, Reporting, Server protocol), e.g. 127.0.0.1:9101")
	fs.StringVar(&o.cybersourceAddr, "cybersource", "", "address of the Cybersource simulator, e.g. 127.0.0.1:9102")
	fs.StringVar(&o.webhookURL, "webhook-url", "", "where the Cybersource simulator delivers its webhooks: a hub's base URL (…/webhooks/cybersource is added) or a full URL")
	fs.StringVar(&o.seedFile, "seed", "", `JSON fixture loaded on top of the default data: {"syspro": {customers, stock, ...}}`)

	fs.StringVar(&o.syspro.operator, "syspro-operator", "ADMIN", "SYSPRO operator the simulator accepts")
	fs.StringVar(&o.syspro.operatorPassword, "syspro-operator-password", "admin", "that operator's password")
	fs.StringVar(&o.syspro.company, "syspro-company", "EDU1", "SYSPRO company id the simulator accepts")
	fs.StringVar(&o.syspro.companyPassword, "syspro-company-password", "", "that company's password")
	fs.IntVar(&o.syspro.seats, "syspro-seats", sysprosim.SeatsPerOperatorDefault, "licence seats of the operator: a further logon evicts the oldest session")

	fs.StringVar(&o.opayo.integrationKey, "opayo-integration-key", opayosim.DefaultIntegrationKey, "Opayo Pi integration key")
	fs.StringVar(&o.opayo.integrationPassword, "opayo-integration-password", opayosim.DefaultIntegrationPassword, "Opayo Pi integration password")
	fs.StringVar(&o.opayo.vendor, "opayo-vendor", opayosim.DefaultVendor, "Opayo vendor name (Pi, Reporting and Server protocol)")
	fs.StringVar(&o.opayo.reportingUser, "opayo-reporting-user", opayosim.DefaultReportingUser, "Opayo Reporting & Admin API user")
	fs.StringVar(&o.opayo.reportingPassword, "opayo-reporting-password", opayosim.DefaultReportingPassword, "that user's password")

	fs.StringVar(&o.cybersource.merchantID, "cybersource-merchant-id", cybersourcesim.DefaultMerchantID, "Cybersource merchant id")
	fs.StringVar(&o.cybersource.keyID, "cybersource-key-id", cybersourcesim.DefaultKeyID, "Cybersource shared-secret key id")
	fs.StringVar(&o.cybersource.secret, "cybersource-secret", cybersourcesim.DefaultSecret, "Cybersource shared secret, base64")
	fs.StringVar(&o.cybersource.webhookKeyID, "cybersource-webhook-key-id", cybersourcesim.DefaultWebhookKeyID, "id of the key webhooks are signed with")
	fs.StringVar(&o.cybersource.webhookKey, "cybersource-webhook-key", cybersourcesim.DefaultWebhookKey, "webhook signing key, base64")

	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stderr)
		fmt.Fprintln(stderr, "Usage: sandbox [--syspro ADDR] [--opayo ADDR] [--cybersource ADDR] [--webhook-url URL] [--seed FILE] [flags]")
		fs.PrintDefaults()
		return o, err
	case err != nil:
		return o, err
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.sysproAddr == "" && o.opayoAddr == "" && o.cybersourceAddr == "":
		return o, errors.New("no simulator to run: give --syspro, --opayo and/or --cybersource ADDR")
	case o.syspro.seats < 1:
		return o, fmt.Errorf("--syspro-seats must be 1 or more (got %d)", o.syspro.seats)
	}
	if o.webhookURL != "" {
		u, err := webhookTarget(o.webhookURL, "cybersource")
		if err != nil {
			return o, err
		}
		o.webhookURL = u
	}
	return o, nil
}

// webhookTarget turns --webhook-url into the URL one gateway delivers to: a bare base URL gets the
// hub's route for that gateway, a URL with a path is used as given.
func webhookTarget(raw, gateway string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--webhook-url %q is not an http(s) URL", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/webhooks/" + gateway
	}
	return u.String(), nil
}

// simulator is what serve needs of each simulator.
type simulator interface {
	Serve(ctx context.Context, ln net.Listener) error
}

// serve runs the requested simulators until ctx ends. Every address is bound before anything is
// printed, so a busy port fails the whole sandbox at once.
func serve(ctx context.Context, o options, stdout io.Writer) error {
	var f fixture
	if o.seedFile != "" {
		var err error
		if f, err = loadFixture(o.seedFile); err != nil {
			return err
		}
	}
	type running struct {
		sim simulator
		ln  net.Listener
	}
	var sims []running
	var banner strings.Builder
	defer func() {
		for _, r := range sims {
			r.ln.Close()
		}
	}()
	listen := func(addr string, sim simulator) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		sims = append(sims, running{sim, ln})
		return nil
	}

	if o.sysproAddr != "" {
		if err := listen(o.sysproAddr, newSyspro(o.syspro, f.Syspro)); err != nil {
			return err
		}
		printSyspro(&banner, o)
	}
	if o.opayoAddr != "" {
		sim := opayosim.New(opayosim.Options{
			IntegrationKey: o.opayo.integrationKey, IntegrationPassword: o.opayo.integrationPassword,
			Vendor: o.opayo.vendor, ReportingUser: o.opayo.reportingUser, ReportingPassword: o.opayo.reportingPassword,
		})
		defer sim.Close()
		if err := listen(o.opayoAddr, sim); err != nil {
			return err
		}
		printOpayo(&banner, o)
	}
	if o.cybersourceAddr != "" {
		sim := cybersourcesim.New(cybersourcesim.Options{
			MerchantID: o.cybersource.merchantID, KeyID: o.cybersource.keyID, Secret: o.cybersource.secret,
			WebhookURL: o.webhookURL, WebhookKeyID: o.cybersource.webhookKeyID, WebhookKey: o.cybersource.webhookKey,
		})
		defer sim.Close()
		if err := listen(o.cybersourceAddr, sim); err != nil {
			return err
		}
		printCybersource(&banner, o)
	}

	io.WriteString(stdout, banner.String())
	errc := make(chan error, len(sims))
	for _, r := range sims {
		go func() { errc <- r.sim.Serve(ctx, r.ln) }()
	}
	var first error
	for range sims {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func newSyspro(c sysproCredentials, extra *sysprosim.Seed) *sysprosim.Server {
	seed := sysprosim.DefaultSeed()
	seed.Operators = []sysprosim.Operator{{Code: c.operator, Password: c.operatorPassword, Seats: c.seats}}
	for i := range seed.Companies {
		seed.Companies[i].ID, seed.Companies[i].Password = c.company, c.companyPassword
	}
	sim := sysprosim.New(sysprosim.Options{Seed: &seed, SeatsPerOperator: c.seats})
	if extra != nil {
		sim.Seed(*extra)
	}
	return sim
}

func printSyspro(w io.Writer, o options) {
	companyPassword := o.syspro.companyPassword
	if companyPassword == "" {
		companyPassword = "(empty)"
	}
	fmt.Fprintf(w, "SYSPRO e.net simulator  http://%s%s\n", o.sysproAddr, sysprosim.BasePath)
	fmt.Fprintf(w, "  operator %s / password %s, company %s / password %s, %d seat(s)\n",
		o.syspro.operator, o.syspro.operatorPassword, o.syspro.company, companyPassword, o.syspro.seats)
	printControl(w, o.sysproAddr)
}

func printOpayo(w io.Writer, o options) {
	fmt.Fprintf(w, "Opayo simulator         Pi http://%s%s   Reporting http://%s%s   Server http://%s%s\n",
		o.opayoAddr, opayosim.PiBasePath, o.opayoAddr, opayosim.ReportingPath, o.opayoAddr, opayosim.ServerRegisterPath)
	fmt.Fprintf(w, "  Pi integration key %s / password %s, vendor %s\n",
		o.opayo.integrationKey, o.opayo.integrationPassword, o.opayo.vendor)
	fmt.Fprintf(w, "  Reporting vendor %s, user %s / password %s\n", o.opayo.vendor, o.opayo.reportingUser, o.opayo.reportingPassword)
	printControl(w, o.opayoAddr)
}

func printCybersource(w io.Writer, o options) {
	fmt.Fprintf(w, "Cybersource simulator   http://%s\n", o.cybersourceAddr)
	fmt.Fprintf(w, "  merchant id %s, key id %s, secret (base64) %s\n", o.cybersource.merchantID, o.cybersource.keyID, o.cybersource.secret)
	hooks := o.webhookURL
	if hooks == "" {
		hooks = "nowhere (no --webhook-url)"
	}
	fmt.Fprintf(w, "  webhooks to %s, signed with key id %s, key (base64) %s\n", hooks, o.cybersource.webhookKeyID, o.cybersource.webhookKey)
	printControl(w, o.cybersourceAddr)
}

func printControl(w io.Writer, addr string) {
	fmt.Fprintf(w, "  state http://%s/_sim/state   faults POST http://%s/_sim/faults   clock POST http://%s/_sim/clock\n",
		addr, addr, addr)
}

func loadFixture(path string) (fixture, error) {
	var f fixture
	raw, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("seed: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("seed %s: %w", path, err)
	}
	return f, nil
}
