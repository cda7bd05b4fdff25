package syspro

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payhub/payhub/connectors/internal/redact"
)

// REST method paths under the base URL (syspro.md §1.1).
const (
	opLogon           = "Logon"
	opLogoff          = "Logoff"
	opGetLogonProfile = "GetLogonProfile"
	opQuery           = "Query/Query"
	opTransactionPost = "Transaction/Post"
	opSetupAdd        = "Setup/Add"
	opSetupUpdate     = "Setup/Update"
)

// SeatsDefault is one session, because SYSPRO evicts an operator's first session when the same
// operator logs on a second time (syspro.md §4).
const SeatsDefault = 1

// HTTPTimeoutDefault bounds one REST call; Rectella measured SYSPRO 8 calls over VPN at 15–30 s.
const HTTPTimeoutDefault = 30 * time.Second

// maxResponseBytes caps a body read; the largest captured query answer is about 20 KB.
const maxResponseBytes = 16 << 20

// Config is how to reach and log on to one SYSPRO company.
type Config struct {
	// BaseURL is the REST root, e.g. "https://erp:31002/SYSPROWCFService/Rest".
	BaseURL string
	// Operator and OperatorPassword are the SYSPRO operator the integration runs as.
	Operator         string
	OperatorPassword string
	// CompanyID and CompanyPassword select the company; both are sent even when empty.
	CompanyID       string
	CompanyPassword string
	// Seats is the most sessions held at once (SeatsDefault when zero). More than one needs an
	// operator whose licence allows concurrent logons, or SYSPRO evicts the earlier sessions.
	Seats int
	// HTTPClient defaults to a client with HTTPTimeoutDefault.
	HTTPClient *http.Client
}

// String hides the passwords so a Config can be printed or logged safely.
func (c Config) String() string {
	return fmt.Sprintf("syspro.Config{BaseURL: %q, Operator: %q, CompanyID: %q, Seats: %d, passwords redacted}",
		redact.URL(c.BaseURL), c.Operator, c.CompanyID, c.Seats)
}

// Client calls SYSPRO business objects through a pool of logged-on sessions. It is safe for
// concurrent use; calls beyond the seat count wait for a free session.
type Client struct {
	cfg  Config
	base string
	http *http.Client
	// post carries postings (Transaction/Post, Setup/*) on connections that are never reused:
	// net/http silently resends a GET whose reused connection closes before answering, and a
	// posting SYSPRO applied but could not answer would then be applied twice.
	post *http.Client
	pool *sessionPool
}

// New checks cfg and returns a Client. It does not log on: the first call does.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("syspro: BaseURL %q must be an absolute http(s) URL", redact.URL(cfg.BaseURL))
	}
	if cfg.Operator == "" {
		return nil, errors.New("syspro: Operator is required")
	}
	if cfg.Seats <= 0 {
		cfg.Seats = SeatsDefault
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: HTTPTimeoutDefault}
	}
	c := &Client{cfg: cfg, base: strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/"), http: hc, post: noReuseClient(hc)}
	c.pool = newSessionPool(cfg.Seats, c.logon, c.logoff)
	return c, nil
}

// Close logs off every session, waiting for calls in flight until ctx ends. Later calls fail
// with ErrClosed.
func (c *Client) Close(ctx context.Context) error {
	return c.pool.close(ctx)
}

// Query runs a Query-class business object (INVQRY, SORQRY, COMFND, ...).
func (c *Client) Query(ctx context.Context, businessObject, xmlIn string) (*Response, error) {
	return c.call(ctx, opQuery, businessObject, url.Values{"BusinessObject": {businessObject}, "XmlIn": {xmlIn}})
}

// Post runs a Transaction-class business object (SORTOI, ARSTPY, GENTJL, ...).
func (c *Client) Post(ctx context.Context, businessObject, xmlParameters, xmlIn string) (*Response, error) {
	return c.call(ctx, opTransactionPost, businessObject, transactionValues(businessObject, xmlParameters, xmlIn))
}

// SetupAdd runs a Setup-class business object in add mode (ARSSCS, ...).
func (c *Client) SetupAdd(ctx context.Context, businessObject, xmlParameters, xmlIn string) (*Response, error) {
	return c.call(ctx, opSetupAdd, businessObject, transactionValues(businessObject, xmlParameters, xmlIn))
}

// SetupUpdate runs a Setup-class business object in update mode.
func (c *Client) SetupUpdate(ctx context.Context, businessObject, xmlParameters, xmlIn string) (*Response, error) {
	return c.call(ctx, opSetupUpdate, businessObject, transactionValues(businessObject, xmlParameters, xmlIn))
}

func transactionValues(bo, params, xmlIn string) url.Values {
	return url.Values{"BusinessObject": {bo}, "XmlParameters": {params}, "XmlIn": {xmlIn}}
}

// LogonProfile is the operator's view of the company, from GetLogonProfile.
type LogonProfile struct {
	CompanyName       string
	OperatorCode      string
	CompanyDate       string
	DefaultBank       string
	DefaultWarehouse  string
	LocalCurrencyCode string
	SysproVersion     string
	EnetVersion       string
}

// GetLogonProfile returns the profile of a pooled session; a cheap way to prove credentials work.
func (c *Client) GetLogonProfile(ctx context.Context) (*LogonProfile, error) {
	resp, err := c.call(ctx, opGetLogonProfile, "", url.Values{})
	if err != nil {
		return nil, err
	}
	r := resp.Root
	return &LogonProfile{
		CompanyName:       r.Value("CompanyName"),
		OperatorCode:      r.Value("OperatorCode"),
		CompanyDate:       r.Value("CompanyDate"),
		DefaultBank:       r.Value("DefaultBank"),
		DefaultWarehouse:  r.Value("DefaultWarehouse"),
		LocalCurrencyCode: r.Value("LocalCurrencyCode"),
		SysproVersion:     r.Value("SysproVersion"),
		EnetVersion:       r.Value("EnetVersion"),
	}, nil
}

// call runs one business-object request on a pooled session, logging on again once if SYSPRO
// rejects the session (evicted by another logon, or idle too long).
func (c *Client) call(ctx context.Context, op, bo string, params url.Values) (*Response, error) {
	var resp *Response
	err := c.pool.do(ctx, func(userID string) error {
		p := url.Values{"UserId": {userID}}
		for k, v := range params {
			p[k] = v
		}
		body, err := c.get(ctx, op, bo, p)
		if err != nil {
			return err
		}
		resp, err = parseCallBody(op, bo, body)
		return err
	})
	return resp, err
}

// parseCallBody applies SYSPRO's response rules: ERROR text first, then XML, then element errors
// and StatusOfItems counters.
func parseCallBody(op, bo string, body []byte) (*Response, error) {
	text := unwrapBody(body)
	if isErrorText(text) {
		return nil, classifyText(op, bo, text)
	}
	resp, err := ParseResponse([]byte(text))
	if err != nil {
		return nil, &Error{Class: ClassTransient, Op: op, BusinessObject: bo, Message: err.Error(), cause: err}
	}
	if len(resp.Errors) > 0 {
		return resp, elementsError(op, bo, resp.Errors)
	}
	if n := resp.Status.Invalid(); n > 0 {
		return resp, &Error{Class: ClassBusiness, Op: op, BusinessObject: bo, Message: fmt.Sprintf("%d item(s) invalid", n)}
	}
	return resp, nil
}

// logon opens a session and returns its opaque id.
func (c *Client) logon(ctx context.Context) (string, error) {
	body, err := c.get(ctx, opLogon, "", url.Values{
		"Operator":         {c.cfg.Operator},
		"OperatorPassword": {c.cfg.OperatorPassword},
		"CompanyId":        {c.cfg.CompanyID},
		"CompanyPassword":  {c.cfg.CompanyPassword},
	})
	if err != nil {
		return "", err
	}
	text := unwrapBody(body)
	if isErrorText(text) {
		return "", classifyText(opLogon, "", text)
	}
	id := trimSessionID([]byte(text))
	if id == "" || strings.ContainsAny(id, "<> \r\n") {
		return "", &Error{Class: ClassTransient, Op: opLogon, Message: "logon returned no session id"}
	}
	return id, nil
}

// logoff ends a session; SYSPRO answers "0".
func (c *Client) logoff(ctx context.Context, userID string) error {
	body, err := c.get(ctx, opLogoff, "", url.Values{"UserId": {userID}})
	if err != nil {
		return err
	}
	if text := unwrapBody(body); isErrorText(text) {
		return classifyText(opLogoff, "", text)
	}
	return nil
}

// get performs one GET and returns the body of a 2xx answer. Every error it returns is an *Error
// whose text holds no URL query, because the Logon query carries passwords.
func (c *Client) get(ctx context.Context, op, bo string, params url.Values) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/"+op+"?"+params.Encode(), nil)
	if err != nil {
		return nil, &Error{Class: ClassConfiguration, Op: op, BusinessObject: bo, Message: "build request: " + redact.Error(err).Error()}
	}
	hc := c.http
	if op == opTransactionPost || op == opSetupAdd || op == opSetupUpdate {
		hc = c.post
	}
	res, err := hc.Do(req)
	if err != nil {
		cause := redact.Error(err)
		return nil, &Error{Class: ClassTransient, Op: op, BusinessObject: bo, Message: cause.Error(), cause: cause}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes))
	if err != nil {
		cause := redact.Error(err)
		return nil, &Error{Class: ClassTransient, Op: op, BusinessObject: bo, Message: "read response: " + cause.Error(), cause: cause}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, statusError(op, bo, res.StatusCode)
	}
	return body, nil
}

// noReuseClient is hc with keep-alives off, when its transport is an *http.Transport (or the
// default); a custom RoundTripper is used as it is, and must not resend requests itself.
func noReuseClient(hc *http.Client) *http.Client {
	base, ok := hc.Transport.(*http.Transport)
	if hc.Transport == nil {
		base, ok = http.DefaultTransport.(*http.Transport)
	}
	if !ok {
		return hc
	}
	tr := base.Clone()
	tr.DisableKeepAlives = true
	post := *hc
	post.Transport = tr
	return &post
}

// statusError classifies non-2xx answers, which SYSPRO only gives for WCF or transport faults:
// 5xx, 408 and 429 pass; other 4xx mean a wrong path or base URL.
func statusError(op, bo string, status int) *Error {
	e := &Error{Op: op, BusinessObject: bo, HTTPStatus: status, Message: fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))}
	switch {
	case status >= 500, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		e.Class = ClassTransient
	default:
		e.Class = ClassConfiguration
	}
	return e
}
