package opayo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payhub/payhub/connectors/internal/redact"
)

// HTTPTimeoutDefault bounds one call when Config.HTTPClient is nil. Pi answers a transaction in
// a few seconds; the Reporting API can take longer on a month of transactions.
const HTTPTimeoutDefault = 60 * time.Second

// maxResponseBytes caps a body read; a 50-row Reporting page is well under 1 MB.
const maxResponseBytes = 8 << 20

// Sandbox and live roots (opayo.md §1), for Config values.
const (
	SandboxPiURL        = "https://sandbox.opayo.eu.elavon.com/api/v1"
	LivePiURL           = "https://live.opayo.eu.elavon.com/api/v1"
	SandboxReportingURL = "https://sandbox.opayo.eu.elavon.com/access/access.htm"
	LiveReportingURL    = "https://live.opayo.eu.elavon.com/access/access.htm"
	SandboxGatewayURL   = "https://sandbox.opayo.eu.elavon.com/gateway/service"
	LiveGatewayURL      = "https://live.opayo.eu.elavon.com/gateway/service"
)

// Config is how to reach one Opayo vendor account. Each API is optional: a call to an API whose
// URL is empty fails with a configuration error.
type Config struct {
	// PiURL is the Pi REST root, e.g. SandboxPiURL or "http://127.0.0.1:9101/api/v1".
	PiURL string
	// IntegrationKey and IntegrationPassword are the Pi credentials (HTTP Basic).
	IntegrationKey      string
	IntegrationPassword string
	// Vendor is the Opayo vendor name; it is sent as vendorName, Vendor and <vendor>.
	Vendor string
	// ReportingURL is the Reporting & Admin endpoint, e.g. SandboxReportingURL.
	ReportingURL string
	// ReportingUser and ReportingPassword are a MyOpayo user, not the Pi integration key.
	ReportingUser     string
	ReportingPassword string
	// GatewayURL is the form-POST service root (".../gateway/service") used by the Server
	// protocol. When empty it is derived from PiURL's scheme and host, which is where Opayo
	// serves it.
	GatewayURL string
	// HTTPClient defaults to a client with HTTPTimeoutDefault.
	HTTPClient *http.Client
}

// String hides every credential so a Config can be printed or logged safely.
func (c Config) String() string {
	return fmt.Sprintf("opayo.Config{PiURL: %q, Vendor: %q, ReportingURL: %q, ReportingUser: %q, GatewayURL: %q, integration key and passwords redacted}",
		redact.URL(c.PiURL), c.Vendor, redact.URL(c.ReportingURL), c.ReportingUser, redact.URL(c.GatewayURL))
}

// GoString is String, so %#v is as safe as %v.
func (c Config) GoString() string { return c.String() }

// Client calls Opayo's Pi, Reporting and Server APIs for one vendor. It is safe for concurrent
// use and holds no state beyond its configuration.
type Client struct {
	cfg       Config
	pi        string
	reporting string
	gateway   string
	http      *http.Client
}

// New checks cfg and returns a Client. It makes no network call.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.Vendor) == "" {
		return nil, errors.New("opayo: Vendor is required")
	}
	if cfg.PiURL == "" && cfg.ReportingURL == "" && cfg.GatewayURL == "" {
		return nil, errors.New("opayo: at least one of PiURL, ReportingURL and GatewayURL is required")
	}
	c := &Client{cfg: cfg, http: cfg.HTTPClient}
	var err error
	if c.pi, err = checkURL("PiURL", cfg.PiURL); err != nil {
		return nil, err
	}
	if c.reporting, err = checkURL("ReportingURL", cfg.ReportingURL); err != nil {
		return nil, err
	}
	if c.gateway, err = checkURL("GatewayURL", cfg.GatewayURL); err != nil {
		return nil, err
	}
	if c.gateway == "" && c.pi != "" {
		u, _ := url.Parse(c.pi)
		c.gateway = u.Scheme + "://" + u.Host + "/gateway/service"
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: HTTPTimeoutDefault}
	}
	return c, nil
}

// Vendor returns the vendor name the client was configured with. A Server notification's
// VPSSignature hashes it (lower-cased), so a notification handler needs it to call Verify.
func (c *Client) Vendor() string { return c.cfg.Vendor }

// checkURL accepts an empty value or an absolute http(s) URL without query, returning it
// without a trailing slash.
func checkURL(field, raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return "", fmt.Errorf("opayo: %s %q must be an absolute http(s) URL without credentials or query", field, redact.URL(raw))
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// piAuth says how a Pi call authenticates.
type piAuth struct {
	// bearer, when set, is a merchant session key (card-identifier calls); otherwise Basic.
	bearer string
}

// piCall is one Pi request.
type piCall struct {
	op     string
	method string
	path   string // relative to PiURL, already escaped
	auth   piAuth
	body   any // marshalled to JSON when non-nil
}

// piAnswer is a 2xx Pi answer.
type piAnswer struct {
	status int
	body   []byte
}

// doPi sends one Pi request and returns a 2xx answer, or an *Error classified from the body.
func (c *Client) doPi(ctx context.Context, call piCall) (piAnswer, error) {
	if c.pi == "" {
		return piAnswer{}, configurationError(call.op, "PiURL is not configured")
	}
	var body io.Reader
	if call.body != nil {
		b, err := json.Marshal(call.body)
		if err != nil {
			return piAnswer{}, invalidRequest(call.op, "encode request: %s", sanitize(err.Error()))
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, call.method, c.pi+call.path, body)
	if err != nil {
		return piAnswer{}, configurationError(call.op, "build request: %s", redact.Error(err).Error())
	}
	req.Header.Set("Accept", "application/json")
	if call.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if call.auth.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+call.auth.bearer)
	} else {
		req.SetBasicAuth(c.cfg.IntegrationKey, c.cfg.IntegrationPassword)
	}
	status, respBody, err := c.roundTrip(call.op, req)
	if err != nil {
		return piAnswer{}, err
	}
	if status < 200 || status > 299 {
		return piAnswer{}, parsePiError(call.op, status, respBody, call.auth.bearer != "")
	}
	return piAnswer{status: status, body: respBody}, nil
}

// roundTrip performs req and reads a bounded body. Every error is an *Error free of URLs.
func (c *Client) roundTrip(op string, req *http.Request) (int, []byte, error) {
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, transportError(op, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes+1))
	if err != nil {
		e := transportError(op, err)
		e.HTTPStatus = res.StatusCode
		e.Message = "read response: " + e.Message
		return 0, nil, e
	}
	if len(b) > maxResponseBytes {
		return 0, nil, &Error{Class: ClassTransient, Op: op, HTTPStatus: res.StatusCode, Message: "response larger than the client accepts"}
	}
	return res.StatusCode, b, nil
}

// pathSegment escapes an identifier supplied by a caller for use in a Pi path.
func pathSegment(id string) string { return url.PathEscape(id) }
