package main

// Observability of `hub serve`: the Prometheus registry behind GET /metrics, the instrumented HTTP
// clients of the connectors, and the request middleware (request ids, access log, HTTP metrics).
//
// Nothing here logs headers, query strings or bodies: webhook queries and SYSPRO's logon query
// carry credentials, bodies may carry card data. Metric labels never hold a URL, only a connector
// name and a route class without ids.

import (
	"bufio"
	"crypto/rand"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	hubsync "github.com/payhub/payhub/sync"
)

// Connector names, as the payhub_connector_* metrics label them.
const (
	connectorCybersource = "cybersource"
	connectorOpayo       = "opayo"
	connectorSyspro      = "syspro"
)

const (
	// requestIDHeader carries the request id in and out.
	requestIDHeader = "X-Request-Id"
	// requestIDMaxLen bounds an incoming request id; a longer one is replaced.
	requestIDMaxLen = 64
	// logPathMaxLen bounds the path written to the access log.
	logPathMaxLen = 256
	// maxRoutesPerConnector bounds the route label values of one connector; further routes are
	// counted as "other", so an API returning unexpected paths cannot blow up the series count.
	maxRoutesPerConnector = 64
	// routeOther is the route of requests beyond maxRoutesPerConnector or of unknown SYSPRO calls.
	routeOther = "other"
	// routeID replaces a path segment that looks like an id.
	routeID = "{id}"
)

// quietPaths are probed and scraped all day long: their access log lines are Debug, not Info.
var quietPaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// observability is the process's registry and the collectors registered on it.
type observability struct {
	registry   *prometheus.Registry
	engine     *hubsync.Metrics
	connectors *connectorMetrics
	http       *httpMetrics
}

// newObservability builds a registry with the Go runtime and process collectors and every
// collector of the hub.
func newObservability() *observability {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &observability{
		registry:   reg,
		engine:     hubsync.NewMetrics(reg),
		connectors: newConnectorMetrics(reg),
		http:       newHTTPMetrics(reg),
	}
}

// hubObservability is the process's one observability: `hub serve` runs once per process, and
// collectors can be registered only once.
var hubObservability = sync.OnceValue(newObservability)

// metricsHandler serves the process's registry (GET /metrics).
func metricsHandler() http.Handler { return hubObservability().handler() }

// connectorClient is the HTTP client of one connector, instrumented on the process's registry,
// with the connector's own default timeout.
func connectorClient(connector string, timeout time.Duration) *http.Client {
	return hubObservability().connectors.client(connector, timeout)
}

// withObservability wraps the server's handler with request ids, the access log and the HTTP
// metrics of the process's registry.
func withObservability(h http.Handler, logger *slog.Logger) http.Handler {
	return requestMiddleware(h, logger, hubObservability().http)
}

func (o *observability) handler() http.Handler {
	return promhttp.HandlerFor(o.registry, promhttp.HandlerOpts{
		Registry:          o.registry, // promhttp_metric_handler_errors_total
		ErrorHandling:     promhttp.ContinueOnError,
		Timeout:           10 * time.Second,
		EnableOpenMetrics: true,
	})
}

// ---- connectors ----

// connectorMetrics count the calls the connectors make.
type connectorMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newConnectorMetrics(reg prometheus.Registerer) *connectorMetrics {
	m := &connectorMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: hubsync.MetricsNamespace, Name: "connector_requests_total",
			Help: "HTTP requests made by the connectors, by connector, route class, method and status class (2xx, 3xx, 4xx, 5xx, error).",
		}, []string{"connector", "route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: hubsync.MetricsNamespace, Name: "connector_request_duration_seconds",
			Help:    "Time to the response headers (or the error) of connector HTTP requests, by connector and route class.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60},
		}, []string{"connector", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// client returns an *http.Client for connector whose requests are counted. SYSPRO's postings
// (Transaction/Post, Setup/*) go on connections that are never reused: the SYSPRO client does that
// itself only for a plain *http.Transport, because net/http resends a GET whose reused connection
// closed before answering, and a posting must never be sent twice.
func (m *connectorMetrics) client(connector string, timeout time.Duration) *http.Client {
	base := http.DefaultTransport.(*http.Transport).Clone()
	t := &connectorTransport{metrics: m, connector: connector, base: base, route: pathRoute}
	if connector == connectorSyspro {
		noReuse := base.Clone()
		noReuse.DisableKeepAlives = true
		t.route, t.noReuse, t.isPosting = sysproRoute, noReuse, sysproPosting
	}
	return &http.Client{Timeout: timeout, Transport: t}
}

// connectorTransport counts each request of one connector.
type connectorTransport struct {
	metrics   *connectorMetrics
	connector string
	base      http.RoundTripper
	route     func(path string) string
	// noReuse, when set, carries the requests whose route isPosting.
	noReuse   http.RoundTripper
	isPosting func(route string) bool

	mu     sync.Mutex
	routes map[string]bool
}

func (t *connectorTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	route := t.boundedRoute(t.route(req.URL.Path))
	rt := t.base
	if t.noReuse != nil && t.isPosting(route) {
		rt = t.noReuse
	}
	start := time.Now()
	res, err := rt.RoundTrip(req)
	code := "error"
	if err == nil {
		code = statusClass(res.StatusCode)
	}
	t.metrics.requests.WithLabelValues(t.connector, route, methodLabel(req.Method), code).Inc()
	t.metrics.duration.WithLabelValues(t.connector, route).Observe(time.Since(start).Seconds())
	return res, err
}

// boundedRoute lets at most maxRoutesPerConnector distinct routes through.
func (t *connectorTransport) boundedRoute(route string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.routes[route] {
		return route
	}
	if len(t.routes) >= maxRoutesPerConnector {
		return routeOther
	}
	if t.routes == nil {
		t.routes = map[string]bool{}
	}
	t.routes[route] = true
	return route
}

// pathRoute is a REST path with its ids replaced by {id}: "/pts/v2/payments/6510049442466278803211/captures"
// is "/pts/v2/payments/{id}/captures". A segment is kept when it looks like a word of the API
// (lower case letters, '-', '_', '.', at most two digits as in "v2" or "3d-secure"); anything else
// (numbers, GUIDs, upper-case or mixed tokens) is an id.
func pathRoute(path string) string {
	path = strings.Trim(path, "/")
	if path == "" {
		return "/"
	}
	segs := strings.Split(path, "/")
	if len(segs) > 8 {
		segs = append(segs[:8], "...")
	}
	for i, s := range segs {
		if s != "..." && !apiWord(s) {
			segs[i] = routeID
		}
	}
	return "/" + strings.Join(segs, "/")
}

func apiWord(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	digits, letters := 0, 0
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
			letters++
		case c >= '0' && c <= '9':
			digits++
		case c == '-' || c == '_' || c == '.':
		default:
			return false
		}
	}
	return letters > 0 && digits <= 2
}

// sysproOps are the SYSPRO REST operations the client calls, by the end of their path.
var sysproOps = []string{"Logon", "Logoff", "GetLogonProfile", "Query/Query", "Transaction/Post", "Setup/Add", "Setup/Update"}

// sysproRoute is the SYSPRO operation a path ends with ("Transaction/Post"), or "other".
func sysproRoute(path string) string {
	path = strings.TrimRight(path, "/")
	for _, op := range sysproOps {
		if strings.HasSuffix(path, "/"+op) {
			return op
		}
	}
	return routeOther
}

// sysproPosting tells the operations that change SYSPRO.
func sysproPosting(route string) bool {
	return route == "Transaction/Post" || route == "Setup/Add" || route == "Setup/Update"
}

func statusClass(code int) string {
	switch {
	case code >= 200 && code < 300:
		return "2xx"
	case code >= 300 && code < 400:
		return "3xx"
	case code >= 400 && code < 500:
		return "4xx"
	case code >= 500 && code < 600:
		return "5xx"
	}
	return "other"
}

// methodLabel keeps the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case "", http.MethodGet:
		return http.MethodGet
	case http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// ---- HTTP server ----

// httpMetrics count the requests the hub serves, by the pattern that routed them (never the path).
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: hubsync.MetricsNamespace, Name: "http_requests_total",
			Help: "HTTP requests served, by route pattern (unmatched when none) and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: hubsync.MetricsNamespace, Name: "http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// requestMiddleware gives each request an id (the caller's X-Request-Id when it is sane, else a
// new one), echoes it in the response, puts a logger carrying it in the request context
// (hubsync.LoggerFrom), counts the request in m (when not nil) and writes one access log line.
func requestMiddleware(next http.Handler, logger *slog.Logger, m *httpMetrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(requestIDHeader)
		if !saneRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(requestIDHeader, id)
		path := r.URL.Path
		if len(path) > logPathMaxLen {
			path = path[:logPathMaxLen] + "..."
		}
		log := logger.With(slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", path))
		ctx := hubsync.WithLogger(r.Context(), log)
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w}
		completed := false
		defer func() {
			took := time.Since(start)
			status := rec.status
			if status == 0 {
				status = http.StatusOK // nothing written: net/http answers 200
				if !completed {
					status = http.StatusInternalServerError // the handler panicked
				}
			}
			if m != nil {
				route := r.Pattern // set by the ServeMux on this very request
				if route == "" {
					route = "unmatched"
				}
				m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
				m.duration.WithLabelValues(route).Observe(took.Seconds())
			}
			level := slog.LevelInfo
			if quietPaths[r.URL.Path] {
				level = slog.LevelDebug
			}
			attrs := []slog.Attr{slog.Int("status", status), slog.Int64("bytes", rec.bytes), slog.Duration("duration", took)}
			if !completed {
				attrs = append(attrs, slog.Bool("panic", true))
			}
			log.LogAttrs(ctx, level, "http request", attrs...)
		}()
		next.ServeHTTP(rec, r)
		completed = true
	})
}

// saneRequestID accepts 1 to 64 letters, digits, '-', '_', '.' and ':'; anything else (a header
// injection attempt, a huge value) is replaced.
func saneRequestID(id string) bool {
	if id == "" || len(id) > requestIDMaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// newRequestID is 26 random base32 characters (130 bits).
func newRequestID() string { return rand.Text() }

// recorder remembers the status and the body size a handler wrote. It passes Flush and Hijack
// through (server-sent events and websocket subscriptions of GraphQL), and Unwrap for
// http.ResponseController.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *recorder) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
