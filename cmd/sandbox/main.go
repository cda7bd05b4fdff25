// Command sandbox runs Payhub's simulators of the outside systems on the addresses it is given,
// for demos and manual testing:
//
//	go run ./cmd/sandbox --syspro 127.0.0.1:9103 --opayo 127.0.0.1:9101 --cybersource 127.0.0.1:9102 \
//	    --webhook-url http://127.0.0.1:8080 --orders 100 --rate 5
//
// Each simulator starts only when its address is given. The sandbox prints where each one listens
// and which credentials it accepts, and runs until SIGINT or SIGTERM. Their state lives as long as
// the sandbox does, so a hub can be stopped and restarted against the same simulated world.
//
// With --orders N the sandbox also plays the shop and its customers: it places N orders through the
// gateway simulators it started (cmd/internal/traffic: approvals, declines, reviews, refunds,
// unknown stock codes, Opayo payments), at --rate orders per second, prints a summary and keeps
// serving. The simulators deliver the resulting webhooks to --webhook-url.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/payhub/payhub/cmd/internal/simulators"
	"github.com/payhub/payhub/cmd/internal/traffic"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// rateDefault is the default of --rate, in orders per second.
const rateDefault = 5

// options are the sandbox's flags.
type options struct {
	sysproAddr, opayoAddr, cybersourceAddr string
	seedFile                               string
	webhookURL                             string
	orders                                 int
	rate                                   float64
	simulators.Credentials
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
	o := options{Credentials: simulators.DefaultCredentials()}
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.sysproAddr, "syspro", "", "address of the SYSPRO e.net simulator, e.g. 127.0.0.1:9103")
	fs.StringVar(&o.opayoAddr, "opayo", "", "address of the Opayo simulator (Pi, Reporting, Server protocol), e.g. 127.0.0.1:9101")
	fs.StringVar(&o.cybersourceAddr, "cybersource", "", "address of the Cybersource simulator, e.g. 127.0.0.1:9102")
	fs.StringVar(&o.webhookURL, "webhook-url", "", "where the Cybersource simulator delivers its webhooks: a hub's base URL (…/webhooks/cybersource is added) or a full URL")
	fs.StringVar(&o.seedFile, "seed", "", `JSON fixture loaded on top of the default data: {"syspro": {customers, stock, ...}}`)
	fs.IntVar(&o.orders, "orders", 0, "place this many shop orders through the gateway simulators once they run (a realistic mix: approvals, declines, reviews, refunds, unknown stock codes), then keep serving")
	fs.Float64Var(&o.rate, "rate", rateDefault, "orders per second placed by --orders")

	fs.StringVar(&o.Syspro.Operator, "syspro-operator", o.Syspro.Operator, "SYSPRO operator the simulator accepts")
	fs.StringVar(&o.Syspro.OperatorPassword, "syspro-operator-password", o.Syspro.OperatorPassword, "that operator's password")
	fs.StringVar(&o.Syspro.Company, "syspro-company", o.Syspro.Company, "SYSPRO company id the simulator accepts")
	fs.StringVar(&o.Syspro.CompanyPassword, "syspro-company-password", o.Syspro.CompanyPassword, "that company's password")
	fs.IntVar(&o.Syspro.Seats, "syspro-seats", o.Syspro.Seats, "licence seats of the operator: a further logon evicts the oldest session")

	fs.StringVar(&o.Opayo.IntegrationKey, "opayo-integration-key", o.Opayo.IntegrationKey, "Opayo Pi integration key")
	fs.StringVar(&o.Opayo.IntegrationPassword, "opayo-integration-password", o.Opayo.IntegrationPassword, "Opayo Pi integration password")
	fs.StringVar(&o.Opayo.Vendor, "opayo-vendor", o.Opayo.Vendor, "Opayo vendor name (Pi, Reporting and Server protocol)")
	fs.StringVar(&o.Opayo.ReportingUser, "opayo-reporting-user", o.Opayo.ReportingUser, "Opayo Reporting & Admin API user")
	fs.StringVar(&o.Opayo.ReportingPassword, "opayo-reporting-password", o.Opayo.ReportingPassword, "that user's password")

	fs.StringVar(&o.Cybersource.MerchantID, "cybersource-merchant-id", o.Cybersource.MerchantID, "Cybersource merchant id")
	fs.StringVar(&o.Cybersource.KeyID, "cybersource-key-id", o.Cybersource.KeyID, "Cybersource shared-secret key id")
	fs.StringVar(&o.Cybersource.Secret, "cybersource-secret", o.Cybersource.Secret, "Cybersource shared secret, base64")
	fs.StringVar(&o.Cybersource.WebhookKeyID, "cybersource-webhook-key-id", o.Cybersource.WebhookKeyID, "id of the key webhooks are signed with")
	fs.StringVar(&o.Cybersource.WebhookKey, "cybersource-webhook-key", o.Cybersource.WebhookKey, "webhook signing key, base64")

	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stderr)
		fmt.Fprintln(stderr, "Usage: sandbox [--syspro ADDR] [--opayo ADDR] [--cybersource ADDR] [--webhook-url URL] [--seed FILE] [--orders N] [--rate PER_SECOND] [flags]")
		fs.PrintDefaults()
		return o, err
	case err != nil:
		return o, err
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.sysproAddr == "" && o.opayoAddr == "" && o.cybersourceAddr == "":
		return o, errors.New("no simulator to run: give --syspro, --opayo and/or --cybersource ADDR")
	case o.Syspro.Seats < 1:
		return o, fmt.Errorf("--syspro-seats must be 1 or more (got %d)", o.Syspro.Seats)
	case o.orders < 0:
		return o, fmt.Errorf("--orders must be 0 or more (got %d)", o.orders)
	case !(o.rate > 0) || o.rate > 1000:
		return o, fmt.Errorf("--rate must be more than 0 and at most 1000 orders per second (got %v)", o.rate)
	case o.orders > 0 && o.opayoAddr == "" && o.cybersourceAddr == "":
		return o, errors.New("--orders needs a gateway simulator to pay through: give --cybersource and/or --opayo ADDR")
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

// serve runs the requested simulators until ctx ends. Every address is bound before anything is
// printed, so a busy port fails the whole sandbox at once. With --orders, the shop's traffic is
// placed once the simulators serve; the sandbox keeps serving afterwards.
func serve(ctx context.Context, o options, stdout io.Writer) error {
	var f fixture
	if o.seedFile != "" {
		var err error
		if f, err = loadFixture(o.seedFile); err != nil {
			return err
		}
	}
	sims, err := simulators.Start(simulators.Options{
		SysproAddr: o.sysproAddr, OpayoAddr: o.opayoAddr, CybersourceAddr: o.cybersourceAddr,
		WebhookURL: o.webhookURL, SysproSeed: f.Syspro, Credentials: o.Credentials,
	})
	if err != nil {
		return err
	}
	defer sims.Close()
	var gen *traffic.Generator
	if o.orders > 0 {
		if gen, err = sims.Generator(stdout); err != nil {
			return err
		}
		gen.Orders, gen.Rate = o.orders, o.rate
	}

	var banner strings.Builder
	sims.Banner(&banner)
	io.WriteString(stdout, banner.String())

	served := make(chan error, 1)
	go func() { served <- sims.Serve(ctx) }()
	if gen != nil {
		// The listeners are bound, so the shop's first calls wait in their backlog at worst.
		fmt.Fprintf(stdout, "Placing %d orders at %v per second…\n", o.orders, o.rate)
		sum, err := gen.Run(ctx)
		switch {
		case err == nil:
			fmt.Fprintf(stdout, "Placed %s\n", sum)
		case ctx.Err() != nil:
			fmt.Fprintf(stdout, "Stopped after %s\n", sum)
		default:
			fmt.Fprintf(stdout, "Traffic stopped: %v (after %s)\n", err, sum)
		}
	}
	return <-served
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
