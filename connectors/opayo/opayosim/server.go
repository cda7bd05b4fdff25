package opayosim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Credentials the simulator accepts when Options leaves them zero (INTERFACES.md).
const (
	DefaultIntegrationKey      = "payhubSandboxKey"
	DefaultIntegrationPassword = "payhubSandboxPassword"
	// DefaultVendor is the Pi vendorName, the Reporting vendor and the Server protocol Vendor.
	DefaultVendor            = "payhubsandbox"
	DefaultReportingUser     = "reporting"
	DefaultReportingPassword = "reportingPassword"
)

// Where each protocol lives, as on the real sandbox host.
const (
	PiBasePath         = "/api/v1"
	ReportingPath      = "/access/access.htm"
	ServerRegisterPath = "/gateway/service/vspserver-register.vsp"
	// CardSelectionPath is the shopper's payment page that a Server registration's NextURL points to.
	CardSelectionPath = "/gateway/service/cardselection"
	// ACSPath is the simulated 3DSv2 access control server that Pi's acsUrl points to.
	ACSPath = "/_sim/acs"
)

// Other defaults for Options fields left zero.
const (
	// MaxHangDefault bounds an injected timeout when the client never gives up.
	MaxHangDefault = 2 * time.Minute
	// NotificationTimeoutDefault is how long one notification POST may take before it counts as
	// "no reply" and is retried.
	NotificationTimeoutDefault = 10 * time.Second
	// MerchantSessionKeyLifetime is how long a merchant session key lives (opayo.md §2.2).
	MerchantSessionKeyLifetime = 400 * time.Second
	// CardIdentifierLifetime is how long an unsaved card identifier lives (opayo.md §2.3).
	CardIdentifierLifetime = 400 * time.Second
	// MerchantSessionKeyMaxFailures is how many failed card identifier attempts remove a key.
	MerchantSessionKeyMaxFailures = 3
	// DeferredLifetime is when an unreleased Deferred expires (auto-abort, txstateid 27).
	DeferredLifetime = 30 * 24 * time.Hour
)

// Options configure a Server. The zero value is usable: the default credentials of INTERFACES.md,
// notification retries per NotificationRetry*Default, no latency, no faults, the wall clock, and
// duplicate vendorTxCodes rejected with 4042.
type Options struct {
	// IntegrationKey and IntegrationPassword are the Pi Basic credentials; zero → the defaults.
	IntegrationKey, IntegrationPassword string
	// Vendor is the vendor name for Pi, Reporting and the Server protocol; zero → DefaultVendor.
	// It is compared case-insensitively, as Opayo does.
	Vendor string
	// ReportingUser and ReportingPassword sign Reporting requests; zero → the defaults.
	ReportingUser, ReportingPassword string

	// NotificationRetry governs Server-protocol notification retries; zero → three retries one
	// minute apart on the simulator clock (see RetryPolicy).
	NotificationRetry RetryPolicy
	// NotificationTimeout bounds one notification POST; zero → NotificationTimeoutDefault.
	NotificationTimeout time.Duration

	// Latency is added to every protocol request.
	Latency time.Duration
	// Faults are injected from the start; POST /_sim/faults replaces them.
	Faults Faults
	// FaultSeed makes fault injection reproducible.
	FaultSeed uint64
	// MaxHang bounds an injected timeout; zero → MaxHangDefault.
	MaxHang time.Duration

	// Start fixes the clock's starting time; zero follows the wall clock (so a long-running sandbox
	// settles at real midnights). Reporting dates and the settlement day use Europe/London.
	Start time.Time

	// DuplicateVendorTxCode says how Pi answers a reused vendorTxCode; zero → DuplicateReject (422
	// with code 4042).
	DuplicateVendorTxCode DuplicatePolicy

	// PublicURL is the base URL put in acsUrl and NextURL (e.g. "http://127.0.0.1:9101"); empty →
	// derived from each request's Host.
	PublicURL string
}

// Server is the simulated Opayo gateway: Pi REST, Reporting & Admin, and the Server protocol, over
// one shared transaction store. It implements http.Handler and is safe for concurrent use.
type Server struct {
	opts    Options
	retry   RetryPolicy
	clock   *Clock
	faults  *faultInjector
	mux     *http.ServeMux
	control *http.ServeMux
	notify  *http.Client

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	mu               sync.Mutex
	closed           bool // no background deliveries after Close
	msks             map[string]*merchantSessionKey
	msksIssued       int
	cards            map[string]*cardIdentifier
	txs              map[string]*transaction
	txOrder          []*transaction
	byVendorTxCode   map[string][]*transaction
	acsIndex         map[string]string // acsTransID → transaction id
	batches          []*batch
	deliveries       []*delivery
	lastMidnight     time.Time
	quirks           SettlementQuirks // applied by the next settlement run
	nextBatchID      int
	nextAuthNo       int64
	nextRetrievalRef int64
}

// New returns a simulator with an empty store.
func New(opts Options) *Server {
	if opts.IntegrationKey == "" {
		opts.IntegrationKey = DefaultIntegrationKey
	}
	if opts.IntegrationPassword == "" {
		opts.IntegrationPassword = DefaultIntegrationPassword
	}
	if opts.Vendor == "" {
		opts.Vendor = DefaultVendor
	}
	if opts.ReportingUser == "" {
		opts.ReportingUser = DefaultReportingUser
	}
	if opts.ReportingPassword == "" {
		opts.ReportingPassword = DefaultReportingPassword
	}
	if opts.NotificationTimeout <= 0 {
		opts.NotificationTimeout = NotificationTimeoutDefault
	}
	if opts.MaxHang <= 0 {
		opts.MaxHang = MaxHangDefault
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	ctx, cancel := context.WithCancel(context.Background())
	transport := http.DefaultTransport.(*http.Transport).Clone()
	s := &Server{
		opts:             opts,
		retry:            opts.NotificationRetry.withDefaults(),
		clock:            NewClock(opts.Start),
		faults:           newFaultInjector(opts.Faults, opts.FaultSeed),
		notify:           &http.Client{Timeout: opts.NotificationTimeout, Transport: transport},
		ctx:              ctx,
		cancel:           cancel,
		msks:             map[string]*merchantSessionKey{},
		cards:            map[string]*cardIdentifier{},
		txs:              map[string]*transaction{},
		byVendorTxCode:   map[string][]*transaction{},
		acsIndex:         map[string]string{},
		nextBatchID:      1001,
		nextAuthNo:       9001,
		nextRetrievalRef: 8636128,
	}
	s.lastMidnight = londonMidnight(s.clock.Now())
	s.clock.setOnAdvance(func() { s.runDue(true) })
	s.mux = s.routes()
	s.control = s.controlRoutes()
	return s
}

// routes registers the protocol endpoints.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	pi := PiBasePath
	mux.HandleFunc("POST "+pi+"/merchant-session-keys", s.withBasic(s.createMerchantSessionKey))
	mux.HandleFunc("GET "+pi+"/merchant-session-keys/{msk}", s.getMerchantSessionKey)
	mux.HandleFunc("POST "+pi+"/card-identifiers", s.createCardIdentifier)
	mux.HandleFunc("POST "+pi+"/card-identifiers/{id}/security-code", s.linkSecurityCode)
	mux.HandleFunc("DELETE "+pi+"/card-identifiers/{id}", s.deleteCardIdentifier)
	mux.HandleFunc("POST "+pi+"/transactions", s.withBasic(s.createTransaction))
	mux.HandleFunc("GET "+pi+"/transactions/{id}", s.withBasic(s.getTransaction))
	mux.HandleFunc("POST "+pi+"/transactions/{id}/instructions", s.withBasic(s.createInstruction))
	mux.HandleFunc("GET "+pi+"/transactions/{id}/instructions", s.withBasic(s.listInstructions))
	mux.HandleFunc("POST "+pi+"/transactions/{id}/3d-secure-challenge", s.withBasic(s.completeChallenge))
	mux.HandleFunc("POST "+ReportingPath, s.serveReporting)
	mux.HandleFunc("POST "+ServerRegisterPath, s.registerServerTransaction)
	mux.HandleFunc("GET "+CardSelectionPath, s.showCardSelection)
	mux.HandleFunc("POST "+CardSelectionPath, s.payCardSelection)
	return mux
}

// Clock returns the simulator clock, for tests that move time without HTTP.
func (s *Server) Clock() *Clock { return s.clock }

// SetFaults replaces the injected faults, like POST /_sim/faults.
func (s *Server) SetFaults(f Faults) { s.faults.set(f) }

// ListenAndServe serves the simulator on addr until ctx ends, then shuts down gracefully.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("opayosim: listen %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves the simulator on ln until ctx ends, then shuts down gracefully. While it serves, a
// ticker runs settlement and due notification retries every second, so a wall-clock simulator
// settles at midnight without traffic.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return err
		case <-tick.C:
			s.runDue(false)
		case <-ctx.Done():
			shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = hs.Shutdown(shutCtx)
			if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}
	}
}

// Close stops background notification deliveries and waits for those in flight. The handler keeps
// answering requests; it just no longer delivers notifications in the background.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
		if t, ok := s.notify.Transport.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
	})
}

// ServeHTTP routes the protocols and the /_sim control routes. Every request first runs whatever
// is due on the simulator clock (settlement, deferred expiry, notification retries).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	s.runDue(false)
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.control.ServeHTTP(w, r)
		return
	}
	kind := kindOf(r.URL.Path)
	if kind == kindNone {
		s.mux.ServeHTTP(w, r)
		return
	}
	sleepCtx(r.Context(), s.opts.Latency+time.Duration(s.faults.get().LatencyMs)*time.Millisecond)
	switch s.faults.plan() {
	case faultFailBefore:
		s.writeFault(w, kind, false)
	case faultHangBefore:
		if hang(r.Context(), s.opts.MaxHang) {
			s.writeFault(w, kind, true)
		}
	case faultHangAfter:
		buf := newBufferedResponse()
		s.mux.ServeHTTP(buf, r)
		if hang(r.Context(), s.opts.MaxHang) {
			buf.flushTo(w)
		}
	default:
		s.mux.ServeHTTP(w, r)
	}
}

func kindOf(path string) protocolKind {
	switch {
	case path == PiBasePath || strings.HasPrefix(path, PiBasePath+"/"):
		return kindPi
	case path == ReportingPath:
		return kindReporting
	case path == ServerRegisterPath:
		return kindServer
	}
	return kindNone
}

// baseURL is the simulator's own address as the client reached it, for acsUrl and NextURL.
func (s *Server) baseURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return s.opts.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	return io.ReadAll(r.Body)
}

// runDue brings the store up to the clock: expires deferreds, makes notification retries whose time
// has come, then batches every midnight passed. With sync the retries run inline (Clock.Advance
// uses this, so their effects are visible when it returns); otherwise they run in the background.
func (s *Server) runDue(sync bool) {
	for {
		s.mu.Lock()
		now := s.clock.Now()
		s.expireDeferreds(now)
		d := s.nextDueDelivery(now)
		if d == nil {
			s.settleDue(now)
			s.mu.Unlock()
			return
		}
		if !sync && s.closed {
			s.settleDue(now)
			s.mu.Unlock()
			return
		}
		d.inFlight = true
		at := d.nextAt
		if sync {
			s.mu.Unlock()
			s.attemptDelivery(d, at)
			continue
		}
		s.wg.Add(1) // under s.mu, so Close cannot be waiting yet
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.attemptDelivery(d, at)
		}()
	}
}

// expireDeferreds aborts Deferreds left unreleased for DeferredLifetime. The caller holds s.mu.
func (s *Server) expireDeferreds(now time.Time) {
	for _, t := range s.txOrder {
		if t.txType == typeDeferred && t.txState == txStateDeferred && !now.Before(t.createdAt.Add(DeferredLifetime)) {
			t.txState = txStateDeferredExpired
		}
	}
}
