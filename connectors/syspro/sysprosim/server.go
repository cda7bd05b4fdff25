package sysprosim

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

// BasePath is where the e.net REST service lives, as on a real SYSPRO application server.
const BasePath = "/SYSPROWCFService/Rest"

// Defaults for Options fields left zero.
const (
	// SeatsPerOperatorDefault: one concurrent session per operator, as Rectella saw live (syspro.md §4).
	SeatsPerOperatorDefault = 1
	// IdleTimeoutDefault is how long a session may sit unused before SYSPRO logs it out.
	IdleTimeoutDefault = 30 * time.Minute
	// VersionDefault is what GET /GetVersion returns.
	VersionDefault = "8.0.0.21"
)

// Options configure a Server. The zero value is usable: default seed, one seat per operator, a
// 30-minute idle timeout, no latency, no faults, the wall clock.
type Options struct {
	// Seed is loaded at start; nil means DefaultSeed().
	Seed *Seed
	// SeatsPerOperator is the licence seat count of operators that do not set their own.
	SeatsPerOperator int
	// IdleTimeout logs out sessions unused for this long (by the simulator clock). Negative disables.
	IdleTimeout time.Duration
	// Latency is added to every protocol request.
	Latency time.Duration
	// Faults are injected from the start; POST /_sim/faults replaces them.
	Faults Faults
	// FaultSeed makes fault injection reproducible.
	FaultSeed uint64
	// MaxHang bounds an injected timeout; zero means MaxHangDefault.
	MaxHang time.Duration
	// Start fixes the clock's starting time; zero follows the wall clock.
	Start time.Time
}

// Server is the simulated SYSPRO e.net REST service. It implements http.Handler and is safe for
// concurrent use.
type Server struct {
	opts   Options
	clock  *Clock
	faults *faultInjector

	mu        sync.Mutex
	operators map[string]Operator
	companies map[string]Company
	sessions  map[string]*session
	evictions int
	logons    uint64
	erp       *erpState
}

// New returns a simulator loaded with opts.Seed (or DefaultSeed).
func New(opts Options) *Server {
	if opts.SeatsPerOperator <= 0 {
		opts.SeatsPerOperator = SeatsPerOperatorDefault
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = IdleTimeoutDefault
	}
	if opts.MaxHang <= 0 {
		opts.MaxHang = MaxHangDefault
	}
	s := &Server{
		opts:      opts,
		clock:     NewClock(opts.Start),
		faults:    newFaultInjector(opts.Faults, opts.FaultSeed),
		operators: map[string]Operator{},
		companies: map[string]Company{},
		sessions:  map[string]*session{},
		erp:       newERPState(),
	}
	seed := DefaultSeed()
	if opts.Seed != nil {
		seed = *opts.Seed
	}
	s.Seed(seed)
	return s
}

// Clock returns the simulator clock, for tests that move time without HTTP.
func (s *Server) Clock() *Clock { return s.clock }

// SetFaults replaces the injected faults, like POST /_sim/faults.
func (s *Server) SetFaults(f Faults) { s.faults.set(f) }

// State returns a deep copy of the whole state, like GET /_sim/state.
func (s *Server) State() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireIdle()
	snap := s.erp.snapshot()
	snap.Sessions = len(s.sessions)
	return snap
}

// ListenAndServe serves the simulator on addr until ctx ends, then shuts down gracefully.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sysprosim: listen %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves the simulator on ln until ctx ends, then shuts down gracefully.
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
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// ServeHTTP routes the e.net REST methods (case-insensitive paths) and the /_sim control routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	lower := strings.ToLower(r.URL.Path)
	base := strings.ToLower(BasePath) + "/"
	if !strings.HasPrefix(lower, base) {
		http.NotFound(w, r)
		return
	}
	method := strings.TrimSuffix(strings.TrimPrefix(lower, base), "/")
	if _, ok := protocolMethods[method]; !ok {
		http.NotFound(w, r)
		return
	}
	want := http.MethodGet
	if method == "transaction/postld" {
		want = http.MethodPost
	}
	if r.Method != want {
		w.Header().Set("Allow", want)
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
		return
	}
	params, err := requestParams(r, method)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, p := range protocolMethods[method] {
		if _, ok := params[strings.ToLower(p)]; !ok {
			http.Error(w, "Missing parameter "+p, http.StatusBadRequest)
			return
		}
	}

	sleepCtx(r.Context(), s.opts.Latency+time.Duration(s.faults.get().LatencyMs)*time.Millisecond)
	plan, kind := s.faults.plan()
	switch plan {
	case faultFailBefore:
		writeFailure(w, kind)
		return
	case faultHangBefore:
		hang(r.Context(), s.opts.MaxHang)
		writeFailure(w, kind)
		return
	}
	body := s.dispatch(method, params)
	switch plan {
	case faultHangAfter:
		hang(r.Context(), s.opts.MaxHang)
	case faultFailAfter:
		writeFailure(w, kind)
		return
	}
	writeText(w, body)
}

// protocolMethods lists each REST method (lower-cased path) with its required query parameters.
var protocolMethods = map[string][]string{
	"logon":              {"Operator", "OperatorPassword", "CompanyId", "CompanyPassword"},
	"logoff":             {"UserId"},
	"getlogonprofile":    {"UserId"},
	"getversion":         nil,
	"query/query":        {"UserId", "BusinessObject", "XmlIn"},
	"query/browse":       {"UserId", "XmlIn"},
	"query/fetch":        {"UserId", "XmlIn"},
	"query/nextkey":      {"UserId", "XmlIn"},
	"query/previouskey":  {"UserId", "XmlIn"},
	"transaction/post":   {"UserId", "BusinessObject", "XmlParameters", "XmlIn"},
	"transaction/postld": {"UserId", "BusinessObject", "XmlIn"},
	"transaction/build":  {"UserId", "BusinessObject", "XmlIn"},
	"setup/add":          {"UserId", "BusinessObject", "XmlParameters", "XmlIn"},
	"setup/update":       {"UserId", "BusinessObject", "XmlParameters", "XmlIn"},
	"setup/delete":       {"UserId", "BusinessObject", "XmlParameters", "XmlIn"},
}

// requestParams returns the request's parameters keyed by lower-cased name: the query string, or
// for PostLD the TransactionPostLD XML body.
func requestParams(r *http.Request, method string) (map[string]string, error) {
	out := map[string]string{}
	if method == "transaction/postld" {
		b, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		if err != nil {
			return nil, err
		}
		root, err := parseXML(string(b))
		if err != nil {
			return nil, fmt.Errorf("bad TransactionPostLD body: %w", err)
		}
		for _, c := range root.children {
			out[strings.ToLower(c.name)] = strings.TrimSpace(c.text)
		}
		return out, nil
	}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			out[strings.ToLower(k)] = v[0]
		}
	}
	return out, nil
}

// writeText writes a 200 response the way the e.net service does.
func writeText(w http.ResponseWriter, body string) {
	w.Header().Set("Server", "Microsoft-HTTPAPI/2.0")
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, body)
}

// dispatch runs one protocol method and returns the body to send.
func (s *Server) dispatch(method string, p map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch method {
	case "getversion":
		return VersionDefault
	case "logon":
		id, errText := s.logon(p["operator"], p["operatorpassword"], p["companyid"], p["companypassword"])
		if errText != "" {
			return "ERROR: " + errText
		}
		return id
	case "logoff":
		if !s.logoff(p["userid"]) {
			return "ERROR: " + ErrTextSessionInvalid
		}
		return "0"
	case "getlogonprofile":
		ss, ok := s.lookupSession(p["userid"])
		if !ok {
			return "ERROR: " + ErrTextSessionInvalid
		}
		return s.logonProfile(ss)
	}
	ss, ok := s.lookupSession(p["userid"])
	if !ok {
		return "ERROR: " + ErrTextSessionInvalid
	}
	return s.callBusinessObject(ss, method, strings.ToUpper(strings.TrimSpace(p["businessobject"])), p["xmlparameters"], p["xmlin"])
}

// logonProfile renders GetLogonProfile. The caller holds s.mu.
func (s *Server) logonProfile(ss *session) string {
	co := s.companies[ss.company]
	x := newXMLOut("Profile")
	x.leaf("CompanyName", co.Name).leaf("OperatorCode", ss.operator).leaf("OperatorGroup", "")
	x.leaf("OperatorLanguageCode", "AUTO").leaf("SystemLanguage", "05")
	x.leaf("AccountingDate", s.clock.Now().Format("2006-01-02")).leaf("CompanyDate", s.clock.Now().Format("2006-01-02"))
	x.leaf("DefaultArBranch", "HQ").leaf("DefaultBank", "GB").leaf("DefaultWarehouse", "FG")
	x.leaf("LocalCurrencyCode", "GBP").leaf("CurrencyDescription", "POUND STERLING")
	x.leaf("CssStyle", "").leaf("DecimalFormat", "1").leaf("DateFormat", "01").leaf("FunctionalRole", "01")
	x.leaf("DatabaseType", "SQL").leaf("SysproVersion", VersionDefault).leaf("EnetVersion", VersionDefault)
	return x.String()
}
