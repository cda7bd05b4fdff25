package cybersourcesim

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Default credentials (INTERFACES.md, "Simulator defaults"). Options fields left empty take them.
const (
	// DefaultMerchantID is the merchant (and organization) id the simulator serves.
	DefaultMerchantID = "payhub_sandbox"
	// DefaultKeyID is the shared-secret key id: keyid= of an HTTP Signature, kid of a JWT.
	DefaultKeyID = "5f6a9f8e-2c1b-4d7e-9a3b-0c1d2e3f4a5b"
	// DefaultSecret is the base64 shared secret for HTTP Signature and JWT HS256.
	DefaultSecret = "cGF5aHViLXNhbmRib3gtc2hhcmVkLXNlY3JldC0zMmI="
	// DefaultWebhookKeyID is the keyId= of every v-c-signature the simulator sends.
	DefaultWebhookKeyID = "wh-key-1"
	// DefaultWebhookKey is the base64 key webhook signatures are made with.
	DefaultWebhookKey = "cGF5aHViLXdlYmhvb2stc2lnbmluZy1rZXktMzJieXQ="
)

// Defaults for the other Options fields left zero.
const (
	// SignatureSkewDefault is how far a signed date (or a JWT iat) may be from the simulator
	// clock or the wall clock. Cybersource does not document its window.
	SignatureSkewDefault = 5 * time.Minute
	// MaxHangDefault bounds how long an injected timeout holds a request whose client never gives up.
	MaxHangDefault = 2 * time.Minute
	// WebhookTimeoutDefault is how long one webhook delivery attempt may take before it counts as
	// failed.
	WebhookTimeoutDefault = 10 * time.Second
	// DuplicateWindow is how long a clientReferenceInformation.code blocks a second payment with
	// the same code (reason code 104, 400 DUPLICATE_REQUEST).
	DuplicateWindow = 15 * time.Minute
	// maxBodyBytes bounds a request body.
	maxBodyBytes = 1 << 20
)

// Options configure a Server. The zero value is usable: default credentials, no webhooks, no
// latency, no faults, a clock that starts at the wall-clock time.
type Options struct {
	// MerchantID, KeyID and Secret are the credentials accepted; empty means the Default values.
	MerchantID, KeyID, Secret string
	// WebhookURL receives the webhook notifications when set; empty sends none.
	WebhookURL string
	// WebhookKeyID and WebhookKey sign the notifications; empty means the Default values.
	WebhookKeyID, WebhookKey string
	// WebhookRetry is the retry schedule of failed deliveries; zero means DefaultRetryPolicy.
	WebhookRetry RetryPolicy
	// WebhookTimeout bounds one delivery attempt; zero means WebhookTimeoutDefault.
	WebhookTimeout time.Duration
	// Latency is added to every protocol request.
	Latency time.Duration
	// Faults are injected from the start; SetFaults or POST /_sim/faults replaces them.
	Faults Faults
	// FaultSeed makes fault injection reproducible.
	FaultSeed uint64
	// MaxHang bounds an injected timeout; zero means MaxHangDefault.
	MaxHang time.Duration
	// Start is the clock's starting time; zero means the wall clock. The clock runs with real
	// time from there.
	Start time.Time
	// SignatureSkew is the accepted distance of a signed date from the clock; zero means
	// SignatureSkewDefault.
	SignatureSkew time.Duration
	// Fee is the processing fee charged per settled purchase in net-funding reports; nil means
	// DefaultFeeRule().
	Fee *FeeRule
	// IndexDelay hides a transaction from Transaction Search and Details for this long (by the
	// simulator clock) after it was submitted, as Cybersource indexes asynchronously. Zero shows it
	// at once.
	IndexDelay time.Duration
}

// Server is the simulated Cybersource REST API. It implements http.Handler and is safe for
// concurrent use. Call Close to stop webhook delivery.
type Server struct {
	opts       Options
	clock      *Clock
	faults     *faultInjector
	secret     []byte
	webhookKey []byte
	webhookID  string
	fee        FeeRule
	mux        *http.ServeMux
	// flexKey signs the transient tokens this simulator issues (see transient_tokens.go).
	flexKey []byte

	mu    sync.Mutex
	state *gatewayState
	rng   *rand.Rand

	hooks *webhookDispatcher
}

// New returns a simulator with empty state.
func New(opts Options) *Server {
	if opts.MerchantID == "" {
		opts.MerchantID = DefaultMerchantID
	}
	if opts.KeyID == "" {
		opts.KeyID = DefaultKeyID
	}
	if opts.Secret == "" {
		opts.Secret = DefaultSecret
	}
	if opts.WebhookKeyID == "" {
		opts.WebhookKeyID = DefaultWebhookKeyID
	}
	if opts.WebhookKey == "" {
		opts.WebhookKey = DefaultWebhookKey
	}
	if opts.WebhookRetry == (RetryPolicy{}) {
		opts.WebhookRetry = DefaultRetryPolicy()
	}
	if opts.WebhookTimeout <= 0 {
		opts.WebhookTimeout = WebhookTimeoutDefault
	}
	if opts.MaxHang <= 0 {
		opts.MaxHang = MaxHangDefault
	}
	if opts.SignatureSkew <= 0 {
		opts.SignatureSkew = SignatureSkewDefault
	}
	fee := DefaultFeeRule()
	if opts.Fee != nil {
		fee = *opts.Fee
	}
	seed := uint64(time.Now().UnixNano())
	s := &Server{
		opts:       opts,
		clock:      NewClock(opts.Start),
		faults:     newFaultInjector(opts.Faults, opts.FaultSeed),
		secret:     decodeSecret(opts.Secret),
		webhookKey: decodeSecret(opts.WebhookKey),
		fee:        fee,
		rng:        rand.New(rand.NewPCG(seed, seed>>7^0x5bd1e995)),
		flexKey:    make([]byte, 32),
	}
	_, _ = crand.Read(s.flexKey)
	s.state = newGatewayState(s.clock.Now())
	s.webhookID = s.newUUID()
	s.hooks = newWebhookDispatcher(s)
	s.clock.setOnAdvance(s.catchUp)
	s.mux = s.routes()
	return s
}

// Clock returns the simulator clock, for tests that move time without HTTP.
func (s *Server) Clock() *Clock { return s.clock }

// SetFaults replaces the injected faults, like POST /_sim/faults.
func (s *Server) SetFaults(f Faults) { s.faults.set(f) }

// Close stops webhook delivery: pending timers are dropped and an attempt in flight is cancelled.
// The server still answers requests; notifications created afterwards are recorded, never sent.
func (s *Server) Close() { s.hooks.close() }

// ListenAndServe serves the simulator on addr until ctx ends, then shuts down gracefully.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cybersourcesim: listen %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves the simulator on ln until ctx ends, then shuts down gracefully and stops webhook
// delivery.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shutCtx)
		s.Close()
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// ServeHTTP answers the Cybersource REST routes and the /_sim control routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// apiHandler serves one authenticated protocol request whose body has been read.
type apiHandler func(w http.ResponseWriter, r *http.Request, body []byte)

// routes registers every route on a standard-library mux.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	api := func(pattern string, h apiHandler) { mux.Handle(pattern, s.protocol(h)) }

	// Payments (§3, §4).
	api("POST /pts/v2/payments", s.handleCreatePayment)
	api("GET /pts/v2/payments/{id}", s.handleGetTransaction(KindAuthorization, KindSale))
	api("POST /pts/v2/payments/{id}/captures", s.handleCapture)
	api("GET /pts/v2/captures/{id}", s.handleGetTransaction(KindCapture))
	api("POST /pts/v2/payments/{id}/refunds", s.handleRefundPayment)
	api("POST /pts/v2/captures/{id}/refunds", s.handleRefundCapture)
	api("GET /pts/v2/refunds/{id}", s.handleGetTransaction(KindRefund))
	api("POST /pts/v2/payments/{id}/reversals", s.handleReversal)
	api("GET /pts/v2/reversals/{id}", s.handleGetTransaction(KindReversal))
	api("POST /pts/v2/payments/{id}/voids", s.handleVoid(KindSale, KindAuthorization))
	api("POST /pts/v2/captures/{id}/voids", s.handleVoid(KindCapture))
	api("POST /pts/v2/refunds/{id}/voids", s.handleVoid(KindRefund))
	api("POST /pts/v2/credits/{id}/voids", s.handleVoid(KindCredit))
	api("GET /pts/v2/voids/{id}", s.handleGetTransaction(KindVoid))
	api("POST /pts/v2/credits", s.handleCredit)
	api("GET /pts/v2/credits/{id}", s.handleGetTransaction(KindCredit))
	api("POST /pts/v2/voids", s.handleTimeoutVoid)
	api("POST /pts/v2/reversals", s.handleTimeoutReversal)

	// Transaction Search and Details (§5).
	api("GET /tss/v2/transactions/{id}", s.handleTransactionDetails)
	api("POST /tss/v2/searches", s.handleCreateSearch)
	api("GET /tss/v2/searches/{id}", s.handleGetSearch)

	// Decision Manager (§6).
	api("POST /risk/v1/decisions/{id}/actions", s.handleDecisionAction)

	// Reporting (§6, §8).
	api("GET /reporting/v3/conversion-details", s.handleConversionDetails)
	api("GET /reporting/v3/report-downloads", s.handleReportDownload)
	api("GET /reporting/v3/payment-batch-summaries", s.handlePaymentBatchSummaries)
	api("GET /reporting/v3/net-fundings", s.handleNetFundings)

	// Token Management (§9).
	api("POST /tms/v2/customers", s.handleCreateCustomer)
	api("GET /tms/v2/customers/{id}", s.handleGetCustomer)
	api("PATCH /tms/v2/customers/{id}", s.handlePatchCustomer)
	api("DELETE /tms/v2/customers/{id}", s.handleDeleteCustomer)
	api("POST /tms/v2/customers/{id}/payment-instruments", s.handleCreateCustomerInstrument)
	api("GET /tms/v2/customers/{id}/payment-instruments", s.handleListCustomerInstruments)
	api("GET /tms/v2/customers/{id}/payment-instruments/{pi}", s.handleGetCustomerInstrument)
	api("PATCH /tms/v2/customers/{id}/payment-instruments/{pi}", s.handlePatchCustomerInstrument)
	api("DELETE /tms/v2/customers/{id}/payment-instruments/{pi}", s.handleDeleteCustomerInstrument)
	api("POST /tms/v1/paymentinstruments", s.handleCreateInstrument)
	api("GET /tms/v1/paymentinstruments/{pi}", s.handleGetInstrument)
	api("PATCH /tms/v1/paymentinstruments/{pi}", s.handlePatchInstrument)
	api("DELETE /tms/v1/paymentinstruments/{pi}", s.handleDeleteInstrument)
	api("POST /tms/v1/instrumentidentifiers", s.handleCreateInstrumentIdentifier)
	api("GET /tms/v1/instrumentidentifiers/{id}", s.handleGetInstrumentIdentifier)
	api("PATCH /tms/v1/instrumentidentifiers/{id}", s.handlePatchInstrumentIdentifier)
	api("DELETE /tms/v1/instrumentidentifiers/{id}", s.handleDeleteInstrumentIdentifier)

	// Control routes (INTERFACES.md): never authenticated, faulted or delayed.
	mux.HandleFunc("GET /_sim/state", s.handleSimState)
	mux.HandleFunc("GET /_sim/faults", s.handleSimGetFaults)
	mux.HandleFunc("POST /_sim/faults", s.handleSimSetFaults)
	mux.HandleFunc("GET /_sim/clock", s.handleSimGetClock)
	mux.HandleFunc("POST /_sim/clock", s.handleSimClock)
	mux.HandleFunc("POST /_sim/reviews/{id}", s.handleSimReview)
	mux.HandleFunc("POST /_sim/transient-tokens", s.handleSimTransientToken)
	mux.HandleFunc("POST /_sim/chargebacks", s.handleSimChargeback)
	mux.HandleFunc("GET /_sim/settlement-quirks", s.handleSimGetSettlementQuirks)
	mux.HandleFunc("POST /_sim/settlement-quirks", s.handleSimSettlementQuirks)

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, notFound(s.clock.Now(), "The requested resource does not exist: "+r.Method+" "+r.URL.Path))
	})
	return mux
}

// protocol wraps a protocol handler with what every real request goes through: latency, fault
// injection, the settlement catch-up and authentication.
func (s *Server) protocol(h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
		if err != nil {
			writeAPIError(w, invalidRequest(s.clock.Now(), reasonInvalidData, "The request body could not be read"))
			return
		}
		sleepCtx(r.Context(), s.opts.Latency+time.Duration(s.faults.get().LatencyMs)*time.Millisecond)
		switch s.faults.plan() {
		case faultError:
			writeAPIError(w, serverError(s.clock.Now(), reasonSystemError))
			return
		case faultTimeout:
			sleepCtx(r.Context(), s.opts.MaxHang)
			// The request is applied all the same; its answer goes nowhere.
			s.serveAuthenticated(discardResponse{header: http.Header{}}, r.WithContext(context.WithoutCancel(r.Context())), body, h)
			if r.Context().Err() == nil {
				writeAPIError(w, serverError(s.clock.Now(), reasonServerTimeout))
			}
			return
		}
		s.serveAuthenticated(w, r, body, h)
	})
}

func (s *Server) serveAuthenticated(w http.ResponseWriter, r *http.Request, body []byte, h apiHandler) {
	s.catchUp()
	if err := s.authenticate(r, body); err != nil {
		w.Header().Set(AuthErrorHeader, err.Error())
		writeJSON(w, http.StatusUnauthorized, map[string]any{"response": map[string]string{"rmsg": "Authentication Failed"}})
		return
	}
	h(w, r, body)
}

// catchUp runs the settlement cut-offs that are due by the simulator clock and wakes the webhook
// dispatcher so that due retries fire. It runs on every protocol request, on State and when the
// clock advances.
func (s *Server) catchUp() {
	s.mu.Lock()
	s.settleDue(s.clock.Now())
	s.mu.Unlock()
	s.hooks.wake()
}

// discardResponse is where the answer to a request whose client has gone is written.
type discardResponse struct{ header http.Header }

func (d discardResponse) Header() http.Header         { return d.header }
func (d discardResponse) Write(b []byte) (int, error) { return len(b), nil }
func (d discardResponse) WriteHeader(int)             {}

// pathID returns the {id} path value, trimmed.
func pathID(r *http.Request, name string) string { return strings.TrimSpace(r.PathValue(name)) }
