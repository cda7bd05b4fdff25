// Package simulators starts Payhub's simulators of the outside systems (SYSPRO e.net, Opayo,
// Cybersource) on TCP addresses, with the credentials of INTERFACES.md by default, for the
// `sandbox` command and for `hub demo`. It also builds gateway clients that talk to the
// simulators it started, and the traffic generator that pays through them.
//
// Every address is bound by Start, before anything is served or printed, so a busy port fails
// the whole set at once.
package simulators

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/payhub/payhub/cmd/internal/traffic"
	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/connectors/opayo/opayosim"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
)

// Credentials are what each simulator accepts (and, for Cybersource webhooks, signs with).
type Credentials struct {
	Syspro      SysproCredentials
	Opayo       OpayoCredentials
	Cybersource CybersourceCredentials
}

// SysproCredentials are what the SYSPRO simulator accepts at Logon.
type SysproCredentials struct {
	Operator, OperatorPassword, Company, CompanyPassword string
	Seats                                                int
}

// OpayoCredentials are what the Opayo simulator accepts on Pi (Basic auth), on Reporting (signed
// vspaccess requests) and as the Server-protocol vendor.
type OpayoCredentials struct {
	IntegrationKey, IntegrationPassword, Vendor, ReportingUser, ReportingPassword string
}

// CybersourceCredentials are what the Cybersource simulator verifies requests with and signs its
// webhooks with.
type CybersourceCredentials struct {
	MerchantID, KeyID, Secret, WebhookKeyID, WebhookKey string
}

// DefaultCredentials are the simulator defaults of INTERFACES.md.
func DefaultCredentials() Credentials {
	return Credentials{
		Syspro: SysproCredentials{Operator: "ADMIN", OperatorPassword: "admin", Company: "EDU1", CompanyPassword: "",
			Seats: sysprosim.SeatsPerOperatorDefault},
		Opayo: OpayoCredentials{IntegrationKey: opayosim.DefaultIntegrationKey, IntegrationPassword: opayosim.DefaultIntegrationPassword,
			Vendor: opayosim.DefaultVendor, ReportingUser: opayosim.DefaultReportingUser, ReportingPassword: opayosim.DefaultReportingPassword},
		Cybersource: CybersourceCredentials{MerchantID: cybersourcesim.DefaultMerchantID, KeyID: cybersourcesim.DefaultKeyID,
			Secret: cybersourcesim.DefaultSecret, WebhookKeyID: cybersourcesim.DefaultWebhookKeyID, WebhookKey: cybersourcesim.DefaultWebhookKey},
	}
}

// Options say which simulators to start, where, and with what.
type Options struct {
	// SysproAddr, OpayoAddr and CybersourceAddr are TCP addresses ("127.0.0.1:9103", port 0 for
	// any free port); a simulator whose address is empty is not started.
	SysproAddr, OpayoAddr, CybersourceAddr string
	// WebhookURL is the full URL the Cybersource simulator delivers its webhooks to; empty sends none.
	WebhookURL string
	// SysproSeed is loaded on top of sysprosim.DefaultSeed when set.
	SysproSeed *sysprosim.Seed
	// OpayoClockStart starts the Opayo simulator's clock at this time (opayosim.Options.Start);
	// zero follows the wall clock. A set clock stands still at that time until it is advanced
	// (POST /_sim/clock {"advance":"…"}): every transaction is stamped with it and the midnight
	// settlement runs only when an advance passes a London midnight. Starting it in the past lets
	// a test make payments of a day that is over, then close that day's batch on purpose.
	OpayoClockStart time.Time
	Credentials
}

// simulator is what a Set needs of each simulator.
type simulator interface {
	Serve(ctx context.Context, ln net.Listener) error
}

type running struct {
	sim simulator
	ln  net.Listener
}

// Set is the simulators Start started, bound and ready to Serve.
type Set struct {
	opts                                Options
	syspro, opayo, cybersource          *running
	opayoSim                            *opayosim.Server
	cybersourceSim                      *cybersourcesim.Server
	sysproURL, opayoURL, cybersourceURL string
}

// Start binds every requested simulator's address and builds the simulators. Nothing is served
// until Serve; Close releases everything if Serve is never called.
func Start(o Options) (*Set, error) {
	s := &Set{opts: o}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if o.SysproAddr != "" {
		ln, err := net.Listen("tcp", o.SysproAddr)
		if err != nil {
			return nil, err
		}
		s.syspro = &running{newSyspro(o.Syspro, o.SysproSeed), ln}
		s.sysproURL = BaseURL(ln.Addr())
	}
	if o.OpayoAddr != "" {
		ln, err := net.Listen("tcp", o.OpayoAddr)
		if err != nil {
			return nil, err
		}
		s.opayoSim = opayosim.New(opayosim.Options{
			IntegrationKey: o.Opayo.IntegrationKey, IntegrationPassword: o.Opayo.IntegrationPassword,
			Vendor: o.Opayo.Vendor, ReportingUser: o.Opayo.ReportingUser, ReportingPassword: o.Opayo.ReportingPassword,
			Start: o.OpayoClockStart,
		})
		s.opayo = &running{s.opayoSim, ln}
		s.opayoURL = BaseURL(ln.Addr())
	}
	if o.CybersourceAddr != "" {
		ln, err := net.Listen("tcp", o.CybersourceAddr)
		if err != nil {
			return nil, err
		}
		s.cybersourceSim = cybersourcesim.New(cybersourcesim.Options{
			MerchantID: o.Cybersource.MerchantID, KeyID: o.Cybersource.KeyID, Secret: o.Cybersource.Secret,
			WebhookURL: o.WebhookURL, WebhookKeyID: o.Cybersource.WebhookKeyID, WebhookKey: o.Cybersource.WebhookKey,
		})
		s.cybersource = &running{s.cybersourceSim, ln}
		s.cybersourceURL = BaseURL(ln.Addr())
	}
	ok = true
	return s, nil
}

// BaseURL is "http://host:port" for a listener's address, with an unspecified host (0.0.0.0, ::)
// replaced by 127.0.0.1 so that the URL can be opened and called.
func BaseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func newSyspro(c SysproCredentials, extra *sysprosim.Seed) *sysprosim.Server {
	seed := sysprosim.DefaultSeed()
	seed.Operators = []sysprosim.Operator{{Code: c.Operator, Password: c.OperatorPassword, Seats: c.Seats}}
	for i := range seed.Companies {
		seed.Companies[i].ID, seed.Companies[i].Password = c.Company, c.CompanyPassword
	}
	sim := sysprosim.New(sysprosim.Options{Seed: &seed, SeatsPerOperator: c.Seats})
	if extra != nil {
		sim.Seed(*extra)
	}
	return sim
}

// SysproURL, OpayoURL and CybersourceURL are the simulators' base URLs ("http://127.0.0.1:9103"),
// empty for a simulator that was not started.
func (s *Set) SysproURL() string      { return s.sysproURL }
func (s *Set) OpayoURL() string       { return s.opayoURL }
func (s *Set) CybersourceURL() string { return s.cybersourceURL }

// SysproRestURL is the SYSPRO e.net REST root the hub's syspro.url names.
func (s *Set) SysproRestURL() string { return s.sysproURL + sysprosim.BasePath }

// OpayoPiURL and OpayoReportingURL are the roots the hub's opayo.piUrl and opayo.reportingUrl name.
func (s *Set) OpayoPiURL() string        { return s.opayoURL + opayosim.PiBasePath }
func (s *Set) OpayoReportingURL() string { return s.opayoURL + opayosim.ReportingPath }

// Credentials returns what the simulators accept.
func (s *Set) Credentials() Credentials { return s.opts.Credentials }

// Serve serves every simulator until ctx ends, then closes them. It returns the first error a
// simulator's server ended with.
func (s *Set) Serve(ctx context.Context) error {
	defer s.Close()
	var all []*running
	for _, r := range []*running{s.syspro, s.opayo, s.cybersource} {
		if r != nil {
			all = append(all, r)
		}
	}
	errc := make(chan error, len(all))
	for _, r := range all {
		go func() { errc <- r.sim.Serve(ctx, r.ln) }()
	}
	var first error
	for range all {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Close releases the listeners and stops the gateway simulators' background deliveries. It may be
// called more than once.
func (s *Set) Close() {
	for _, r := range []*running{s.syspro, s.opayo, s.cybersource} {
		if r != nil {
			r.ln.Close()
		}
	}
	if s.opayoSim != nil {
		s.opayoSim.Close()
	}
	if s.cybersourceSim != nil {
		s.cybersourceSim.Close()
	}
}

// clientTimeout bounds one call of the clients built here: the simulators answer locally.
const clientTimeout = 30 * time.Second

// CybersourceClient returns a client of the Cybersource simulator with its credentials, or nil
// when that simulator was not started.
func (s *Set) CybersourceClient() (*cybersource.Client, error) {
	if s.cybersource == nil {
		return nil, nil
	}
	c := s.opts.Cybersource
	return cybersource.New(cybersource.Config{BaseURL: s.cybersourceURL, MerchantID: c.MerchantID, KeyID: c.KeyID,
		Secret: c.Secret, HTTPClient: &http.Client{Timeout: clientTimeout}})
}

// OpayoClient returns a client of the Opayo simulator with its credentials, or nil when that
// simulator was not started.
func (s *Set) OpayoClient() (*opayo.Client, error) {
	if s.opayo == nil {
		return nil, nil
	}
	c := s.opts.Opayo
	return opayo.New(opayo.Config{PiURL: s.OpayoPiURL(), IntegrationKey: c.IntegrationKey,
		IntegrationPassword: c.IntegrationPassword, Vendor: c.Vendor, ReportingURL: s.OpayoReportingURL(),
		ReportingUser: c.ReportingUser, ReportingPassword: c.ReportingPassword, HTTPClient: &http.Client{Timeout: clientTimeout}})
}

// Generator returns a shop (cmd/internal/traffic) that pays through the gateway simulators that
// run, seeded from the clock, logging to log. The caller sets Orders, Rate and RunID.
func (s *Set) Generator(log io.Writer) (*traffic.Generator, error) {
	cs, err := s.CybersourceClient()
	if err != nil {
		return nil, err
	}
	op, err := s.OpayoClient()
	if err != nil {
		return nil, err
	}
	return &traffic.Generator{Cybersource: cs, Opayo: op, Seed: time.Now().UnixNano(), Log: log}, nil
}

// Banner writes where each simulator listens and which credentials it accepts.
func (s *Set) Banner(w io.Writer) {
	o := s.opts
	if s.syspro != nil {
		companyPassword := o.Syspro.CompanyPassword
		if companyPassword == "" {
			companyPassword = "(empty)"
		}
		fmt.Fprintf(w, "SYSPRO e.net simulator  %s\n", s.SysproRestURL())
		fmt.Fprintf(w, "  operator %s / password %s, company %s / password %s, %d seat(s)\n",
			o.Syspro.Operator, o.Syspro.OperatorPassword, o.Syspro.Company, companyPassword, o.Syspro.Seats)
		printControl(w, s.sysproURL)
	}
	if s.opayo != nil {
		fmt.Fprintf(w, "Opayo simulator         Pi %s   Reporting %s   Server %s%s\n",
			s.OpayoPiURL(), s.OpayoReportingURL(), s.opayoURL, opayosim.ServerRegisterPath)
		fmt.Fprintf(w, "  Pi integration key %s / password %s, vendor %s\n",
			o.Opayo.IntegrationKey, o.Opayo.IntegrationPassword, o.Opayo.Vendor)
		fmt.Fprintf(w, "  Reporting vendor %s, user %s / password %s\n", o.Opayo.Vendor, o.Opayo.ReportingUser, o.Opayo.ReportingPassword)
		printControl(w, s.opayoURL)
	}
	if s.cybersource != nil {
		fmt.Fprintf(w, "Cybersource simulator   %s\n", s.cybersourceURL)
		fmt.Fprintf(w, "  merchant id %s, key id %s, secret (base64) %s\n", o.Cybersource.MerchantID, o.Cybersource.KeyID, o.Cybersource.Secret)
		hooks := o.WebhookURL
		if hooks == "" {
			hooks = "nowhere (no --webhook-url)"
		}
		fmt.Fprintf(w, "  webhooks to %s, signed with key id %s, key (base64) %s\n", hooks, o.Cybersource.WebhookKeyID, o.Cybersource.WebhookKey)
		printControl(w, s.cybersourceURL)
	}
}

func printControl(w io.Writer, base string) {
	fmt.Fprintf(w, "  state %s/_sim/state   faults POST %s/_sim/faults   clock POST %s/_sim/clock\n", base, base, base)
}
