package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	hubsync "github.com/payhub/payhub/sync"
)

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger(level slog.Level) (*slog.Logger, *lockedBuffer) {
	buf := &lockedBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: level})), buf
}

// serveThrough runs one request through requestMiddleware(h) and returns the response.
func serveThrough(t *testing.T, h http.Handler, logger *slog.Logger, m *httpMetrics, req *http.Request) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	requestMiddleware(h, logger, m).ServeHTTP(rec, req)
	return rec.Result()
}

func TestRequestIDIsGeneratedEchoedAndPropagated(t *testing.T) {
	logger, logs := testLogger(slog.LevelInfo)
	var seenLogger *slog.Logger
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenLogger = hubsync.LoggerFrom(r.Context())
		seenLogger.Info("inside the handler")
		var e *hubsync.Engine // the engine's LoggerFrom finds the request's logger too
		if e.LoggerFrom(r.Context()) != seenLogger {
			t.Error("(*Engine).LoggerFrom does not see the request logger")
		}
		w.WriteHeader(http.StatusNoContent)
	})

	res := serveThrough(t, h, logger, nil, httptest.NewRequest(http.MethodGet, "/graphql", nil))
	id := res.Header.Get("X-Request-Id")
	if len(id) < 16 || !saneRequestID(id) {
		t.Fatalf("generated id %q", id)
	}
	if seenLogger == nil {
		t.Fatal("the handler's context carries no logger")
	}
	if !strings.Contains(logs.String(), `msg="inside the handler" request_id=`+id+" method=GET path=/graphql") {
		t.Errorf("handler log line lacks the request fields:\n%s", logs)
	}

	res2 := serveThrough(t, h, logger, nil, httptest.NewRequest(http.MethodGet, "/graphql", nil))
	if other := res2.Header.Get("X-Request-Id"); other == id || other == "" {
		t.Errorf("second request id %q, first %q", other, id)
	}

	req := httptest.NewRequest(http.MethodGet, "/graphql", nil)
	req.Header.Set("X-Request-Id", "lb-7f3a.42:abc_DEF")
	if got := serveThrough(t, h, logger, nil, req).Header.Get("X-Request-Id"); got != "lb-7f3a.42:abc_DEF" ||
		!strings.Contains(logs.String(), `msg="inside the handler" request_id=lb-7f3a.42:abc_DEF `) {
		t.Errorf("a sane incoming id became %q; log:\n%s", got, logs)
	}
}

func TestUnsafeRequestIDsAreReplaced(t *testing.T) {
	logger, logs := testLogger(slog.LevelInfo)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, bad := range []string{
		"has space", "semi;colon", "quote\"d", "new\nline", "<script>", "ünïcode", "a/b", strings.Repeat("a", 65),
	} {
		req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
		req.Header["X-Request-Id"] = []string{bad}
		got := serveThrough(t, h, logger, nil, req).Header.Get("X-Request-Id")
		if got == bad || !saneRequestID(got) || len(got) > 64 {
			t.Errorf("incoming id %q became %q", bad, got)
		}
		if strings.Contains(logs.String(), bad) {
			t.Errorf("incoming id %q was logged", bad)
		}
	}
	if !saneRequestID(strings.Repeat("a", 64)) {
		t.Error("a 64-character id is sane")
	}
}

func TestAccessLogHasRequestIDButNoQueryHeadersOrBody(t *testing.T) {
	logger, logs := testLogger(slog.LevelInfo)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "accepted!")
	})
	req := httptest.NewRequest(http.MethodPost, "/webhooks/cybersource?token=querysecret&card=4111111111111111",
		strings.NewReader(`{"card":"4000000000000002"}`))
	req.Header.Set("Authorization", "Bearer headersecret")
	req.Header.Set("v-c-signature", "t=1,keyid=k,sig=signaturesecret")
	req.Header.Set("X-Request-Id", "req-123")
	serveThrough(t, h, logger, nil, req)

	out := logs.String()
	for _, want := range []string{"level=INFO", `msg="http request"`, "request_id=req-123", "method=POST",
		"path=/webhooks/cybersource ", "status=202", "bytes=9", "duration="} {
		if !strings.Contains(out, want) {
			t.Errorf("access log lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"querysecret", "token", "4111111111111111", "4000000000000002", "headersecret",
		"signaturesecret", "Authorization"} {
		if strings.Contains(out, secret) {
			t.Errorf("access log shows %q:\n%s", secret, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 1 {
		t.Errorf("%d log lines for one request:\n%s", n, out)
	}
}

func TestProbesAndScrapesAreLoggedAtDebug(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	info, infoLogs := testLogger(slog.LevelInfo)
	debug, debugLogs := testLogger(slog.LevelDebug)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		serveThrough(t, h, info, nil, httptest.NewRequest(http.MethodGet, p, nil))
		serveThrough(t, h, debug, nil, httptest.NewRequest(http.MethodGet, p, nil))
	}
	if infoLogs.String() != "" {
		t.Errorf("probes logged at Info:\n%s", infoLogs)
	}
	if n := strings.Count(debugLogs.String(), "level=DEBUG"); n != 3 {
		t.Errorf("%d Debug lines, want 3:\n%s", n, debugLogs)
	}
}

func TestPanickingHandlerIsLoggedAsA500(t *testing.T) {
	logger, logs := testLogger(slog.LevelInfo)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })
	func() {
		defer func() { recover() }()
		serveThrough(t, h, logger, nil, httptest.NewRequest(http.MethodGet, "/graphql", nil))
	}()
	if !strings.Contains(logs.String(), "status=500") || !strings.Contains(logs.String(), "panic=true") {
		t.Errorf("panic not logged:\n%s", logs)
	}
}

func TestMetricsEndpointServesPayhubAndRuntimeMetrics(t *testing.T) {
	o := newObservability()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer api.Close()
	res, err := o.connectors.client(connectorCybersource, 5*time.Second).Get(api.URL + "/tss/v2/transactions/6510049442466278803211")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	logger, _ := testLogger(slog.LevelInfo)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", o.handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	h := requestMiddleware(mux, logger, o.http)
	for _, p := range []string{"/healthz", "/healthz", "/nowhere/42"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		`payhub_connector_requests_total{code="2xx",connector="cybersource",method="GET",route="/tss/v2/transactions/{id}"} 1`,
		`payhub_connector_request_duration_seconds_count{connector="cybersource",route="/tss/v2/transactions/{id}"} 1`,
		`payhub_http_requests_total{code="200",route="GET /healthz"} 2`,
		`payhub_http_requests_total{code="404",route="unmatched"} 1`,
		`payhub_http_request_duration_seconds_count{route="GET /healthz"} 2`, "go_goroutines", "process_cpu_seconds_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "6510049442466278803211") || strings.Contains(body, "/nowhere") {
		t.Error("/metrics shows an id or a raw path")
	}
	if problems, err := testutil.GatherAndLint(o.registry, "payhub_connector_requests_total", "payhub_http_requests_total"); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestServeMuxHasMetrics(t *testing.T) {
	logger, _ := testLogger(slog.LevelInfo)
	rec := httptest.NewRecorder()
	newMux(nil, logger, nil, nil, Config{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Fatalf("GET /metrics from newMux: %d\n%.500s", rec.Code, rec.Body.String())
	}
}

func TestConnectorTransportCountsByConnectorRouteAndStatusClass(t *testing.T) {
	o := newObservability()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/captures"):
			w.WriteHeader(http.StatusCreated)
		case strings.HasPrefix(r.URL.Path, "/tms/"):
			w.WriteHeader(http.StatusNotFound)
		default:
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer api.Close()
	cs := o.connectors.client(connectorCybersource, 5*time.Second)
	op := o.connectors.client(connectorOpayo, 5*time.Second)
	do := func(c *http.Client, method, url string) {
		req, _ := http.NewRequestWithContext(context.Background(), method, url, nil)
		if res, err := c.Do(req); err == nil {
			res.Body.Close()
		}
	}
	do(cs, http.MethodPost, api.URL+"/pts/v2/payments/6510049442466278803211/captures")
	do(cs, http.MethodPost, api.URL+"/pts/v2/payments/6510049442466278803999/captures")
	do(cs, http.MethodGet, api.URL+"/tms/v2/customers/D9F340DD3DB9C276E053A2598D0A41A3")
	do(op, http.MethodGet, api.URL+"/api/v1/transactions/2D9A4A5E-2B0A-4B2C-9F0E-1A2B3C4D5E6F")
	do(op, http.MethodGet, "http://127.0.0.1:1/api/v1/transactions/X?secret=1") // nothing listens

	count := func(labels ...string) float64 {
		return testutil.ToFloat64(o.connectors.requests.WithLabelValues(labels...))
	}
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"cybersource", "/pts/v2/payments/{id}/captures", "POST", "2xx"}, 2},
		{[]string{"cybersource", "/tms/v2/customers/{id}", "GET", "4xx"}, 1},
		{[]string{"opayo", "/api/v1/transactions/{id}", "GET", "5xx"}, 1},
		{[]string{"opayo", "/api/v1/transactions/{id}", "GET", "error"}, 1},
	} {
		if got := count(c.labels...); got != c.want {
			t.Errorf("requests%v = %v, want %v", c.labels, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(o.connectors.requests); n != 4 {
		t.Errorf("%d request series, want 4", n)
	}
}

func TestSysproClientIsCountedAndPostsOnFreshConnections(t *testing.T) {
	o := newObservability()
	sim := sysprosim.New(sysprosim.Options{})
	var mu sync.Mutex
	closing := map[string]bool{} // operation -> the request asked for its connection to close
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		closing[sysproRoute(r.URL.Path)] = r.Close
		mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	client, err := syspro.New(syspro.Config{BaseURL: srv.URL + sysprosim.BasePath, Operator: "ADMIN",
		OperatorPassword: "admin", CompanyID: "EDU1", HTTPClient: o.connectors.client(connectorSyspro, 5*time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(context.Background())
	ctx := context.Background()
	if _, err := client.GetLogonProfile(ctx); err != nil {
		t.Fatal(err)
	}
	client.Post(ctx, "SORTOI", "<SalesOrders/>", "<SalesOrders/>") // the simulator's verdict does not matter

	for route, want := range map[string]float64{"Logon": 1, "GetLogonProfile": 1, "Transaction/Post": 1} {
		if got := testutil.ToFloat64(o.connectors.requests.WithLabelValues("syspro", route, "GET", "2xx")); got != want {
			t.Errorf("syspro %s: %v requests, want %v", route, got, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !closing["Transaction/Post"] || closing["GetLogonProfile"] || closing["Logon"] {
		t.Errorf("connection closing per operation %v: only postings must use fresh connections", closing)
	}
}

func TestRouteClasses(t *testing.T) {
	for path, want := range map[string]string{
		"/pts/v2/payments": "/pts/v2/payments",
		"/pts/v2/payments/6510049442466278803211/reversals":     "/pts/v2/payments/{id}/reversals",
		"/tms/v2/customers/C1/payment-instruments/P1":           "/tms/v2/customers/{id}/payment-instruments/{id}",
		"/tss/v2/searches/0f4e5a1c-77b9-4f8e-a6a1-5b8d2f1e9c3a": "/tss/v2/searches/{id}",
		"/reporting/v3/payment-batch-summaries":                 "/reporting/v3/payment-batch-summaries",
		"/api/v1/transactions/{2D9A4A5E}/3d-secure-challenge":   "/api/v1/transactions/{id}/3d-secure-challenge",
		"/gateway/service/vspserver-register.vsp":               "/gateway/service/vspserver-register.vsp",
		"/a/b/c/d/e/f/g/h/i/j":                                  "/a/b/c/d/e/f/g/h/...",
		"/":                                                     "/",
	} {
		if got := pathRoute(path); got != want {
			t.Errorf("pathRoute(%q) = %q, want %q", path, got, want)
		}
	}
	for path, want := range map[string]string{
		"/SYSPROWCFService/Rest/Logon":            "Logon",
		"/SYSPROWCFService/Rest/Query/Query":      "Query/Query",
		"/SYSPROWCFService/Rest/Transaction/Post": "Transaction/Post",
		"/SYSPROWCFService/Rest/Setup/Add/":       "Setup/Add",
		"/SYSPROWCFService/Rest/Something/Else":   "other",
	} {
		if got := sysproRoute(path); got != want {
			t.Errorf("sysproRoute(%q) = %q, want %q", path, got, want)
		}
	}
	tr := &connectorTransport{}
	for i := 0; i < maxRoutesPerConnector; i++ {
		tr.boundedRoute(strings.Repeat("r", i+1))
	}
	if tr.boundedRoute("one-too-many") != routeOther || tr.boundedRoute("r") != "r" {
		t.Error("routes beyond the bound should be other, known ones kept")
	}
}
