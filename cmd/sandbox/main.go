// Command sandbox runs Payhub's simulators of the outside systems on the addresses it is given,
// for demos and manual testing:
//
//	go run ./cmd/sandbox --syspro 127.0.0.1:9103
//
// Each simulator starts only when its address is given. The sandbox prints where each one listens
// and which credentials it accepts, and runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/payhub/payhub/connectors/syspro/sysprosim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the sandbox's flags.
type options struct {
	sysproAddr, opayoAddr, cybersourceAddr string
	seedFile                               string
	syspro                                 sysproCredentials
}

// sysproCredentials are what the SYSPRO simulator accepts at Logon.
type sysproCredentials struct {
	operator, operatorPassword, company, companyPassword string
	seats                                                int
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
	fs.StringVar(&o.opayoAddr, "opayo", "", "address of the Opayo simulator (not available yet)")
	fs.StringVar(&o.cybersourceAddr, "cybersource", "", "address of the Cybersource simulator (not available yet)")
	fs.StringVar(&o.seedFile, "seed", "", `JSON fixture loaded on top of the default data: {"syspro": {customers, stock, ...}}`)
	fs.StringVar(&o.syspro.operator, "syspro-operator", "ADMIN", "SYSPRO operator the simulator accepts")
	fs.StringVar(&o.syspro.operatorPassword, "syspro-operator-password", "admin", "that operator's password")
	fs.StringVar(&o.syspro.company, "syspro-company", "EDU1", "SYSPRO company id the simulator accepts")
	fs.StringVar(&o.syspro.companyPassword, "syspro-company-password", "", "that company's password")
	fs.IntVar(&o.syspro.seats, "syspro-seats", sysprosim.SeatsPerOperatorDefault, "licence seats of the operator: a further logon evicts the oldest session")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stderr)
		fmt.Fprintln(stderr, "Usage: sandbox [--syspro ADDR] [--seed FILE] [flags]")
		fs.PrintDefaults()
		return o, err
	case err != nil:
		return o, err
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.opayoAddr != "" || o.cybersourceAddr != "":
		return o, errors.New("the Opayo and Cybersource simulators are not built yet; only --syspro is available")
	case o.sysproAddr == "":
		return o, errors.New("no simulator to run: give --syspro ADDR")
	case o.syspro.seats < 1:
		return o, fmt.Errorf("--syspro-seats must be 1 or more (got %d)", o.syspro.seats)
	}
	return o, nil
}

// serve runs the simulators until ctx ends.
func serve(ctx context.Context, o options, stdout io.Writer) error {
	seed := sysprosim.DefaultSeed()
	seed.Operators = []sysprosim.Operator{{Code: o.syspro.operator, Password: o.syspro.operatorPassword, Seats: o.syspro.seats}}
	for i := range seed.Companies {
		seed.Companies[i].ID, seed.Companies[i].Password = o.syspro.company, o.syspro.companyPassword
	}
	sim := sysprosim.New(sysprosim.Options{Seed: &seed, SeatsPerOperator: o.syspro.seats})
	if o.seedFile != "" {
		f, err := loadFixture(o.seedFile)
		if err != nil {
			return err
		}
		if f.Syspro != nil {
			sim.Seed(*f.Syspro)
		}
	}

	ln, err := net.Listen("tcp", o.sysproAddr)
	if err != nil {
		return err
	}
	companyPassword := o.syspro.companyPassword
	if companyPassword == "" {
		companyPassword = "(empty)"
	}
	fmt.Fprintf(stdout, "SYSPRO e.net simulator  http://%s%s\n", o.sysproAddr, sysprosim.BasePath)
	fmt.Fprintf(stdout, "  operator %s / password %s, company %s / password %s, %d seat(s)\n",
		o.syspro.operator, o.syspro.operatorPassword, o.syspro.company, companyPassword, o.syspro.seats)
	fmt.Fprintf(stdout, "  state http://%s/_sim/state   faults POST http://%s/_sim/faults   clock POST http://%s/_sim/clock\n",
		o.sysproAddr, o.sysproAddr, o.sysproAddr)
	return sim.Serve(ctx, ln)
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
