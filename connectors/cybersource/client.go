package cybersource

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Base URLs of Cybersource's environments (protocol §1).
const (
	SandboxBaseURL    = "https://apitest.cybersource.com"
	ProductionBaseURL = "https://api.cybersource.com"
)

// Authentication schemes for Config.Auth.
const (
	// AuthHTTPSignature signs each request with HMAC-SHA256 over selected headers (§2.1).
	AuthHTTPSignature = "http_signature"
	// AuthJWT sends a shared-secret HS256 JWT as a bearer token (§2.2); the SDK now recommends it.
	AuthJWT = "jwt"
)

// HTTPTimeoutDefault bounds one call when Config.HTTPClient is nil. Cybersource's own timeout for
// an authorization is shorter; this leaves room for a slow processor without hanging a worker.
const HTTPTimeoutDefault = 60 * time.Second

// maxResponseBytes caps a JSON body read; report downloads stream and are not capped.
const maxResponseBytes = 16 << 20

// Media types the client sends, as the official SDK does (§1).
const (
	contentTypeJSON = "application/json"
	acceptHAL       = "application/hal+json"
	acceptCSV       = "text/csv"
	userAgent       = "payhub-cybersource/1"
)

// Config is how to reach and authenticate to one Cybersource merchant.
type Config struct {
	// BaseURL is the API root, e.g. SandboxBaseURL or a simulator's "http://127.0.0.1:port".
	BaseURL string
	// MerchantID is the transacting merchant id (v-c-merchant-id).
	MerchantID string
	// KeyID is the shared-secret key's id (keyid / kid).
	KeyID string
	// Secret is the shared secret, base64 as the Business Center shows it. Never printed.
	Secret string
	// Auth is AuthHTTPSignature (the default when empty) or AuthJWT.
	Auth string
	// HTTPClient defaults to a client with HTTPTimeoutDefault.
	HTTPClient *http.Client
	// Host, when set, is the Host header sent and signed instead of BaseURL's host: the SDK's
	// runEnvironment when traffic goes through a proxy or an intermediate host (§11).
	Host string
	// Now is the clock used for Date headers and JWT iat; time.Now when nil.
	Now func() time.Time
}

// String hides the secret so a Config can be printed or logged safely.
func (c Config) String() string {
	return fmt.Sprintf("cybersource.Config{BaseURL: %q, MerchantID: %q, KeyID: %q, Auth: %q, Host: %q, Secret: redacted}",
		c.BaseURL, c.MerchantID, c.KeyID, c.Auth, c.Host)
}

// GoString hides the secret from %#v as well.
func (c Config) GoString() string { return c.String() }

// Signer authenticates one outgoing request. HTTPSigner and JWTSigner implement it.
type Signer interface {
	// SignRequest adds authentication headers to req, whose body is body (nil for GET/DELETE).
	SignRequest(req *http.Request, body []byte) error
}

// Client calls the Cybersource REST API for one merchant. It is safe for concurrent use.
type Client struct {
	base   string
	host   string
	signer Signer
	http   *http.Client
}

// New checks cfg and returns a Client. It makes no call.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return nil, localError("New", ClassConfiguration, "BaseURL must be an absolute http(s) URL without user info or query")
	}
	if cfg.MerchantID == "" || cfg.KeyID == "" {
		return nil, localError("New", ClassConfiguration, "MerchantID and KeyID are required")
	}
	var signer Signer
	switch cfg.Auth {
	case "", AuthHTTPSignature:
		s, err := NewHTTPSigner(cfg.MerchantID, cfg.KeyID, cfg.Secret)
		if err != nil {
			return nil, err
		}
		s.Now = cfg.Now
		signer = s
	case AuthJWT:
		s, err := NewJWTSigner(cfg.MerchantID, cfg.KeyID, cfg.Secret)
		if err != nil {
			return nil, err
		}
		s.Now = cfg.Now
		signer = s
	default:
		return nil, localError("New", ClassConfiguration, "Auth %q is neither %q nor %q", cfg.Auth, AuthHTTPSignature, AuthJWT)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: HTTPTimeoutDefault}
	}
	return &Client{
		base:   strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"),
		host:   cfg.Host,
		signer: signer,
		http:   hc,
	}, nil
}

// decodeSecret decodes a base64 shared secret; the error never contains the secret.
func decodeSecret(op, secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(secret)
	if err != nil || len(key) == 0 {
		return nil, localError(op, ClassConfiguration, "secret is not non-empty standard base64")
	}
	return key, nil
}

// request is one API call.
type request struct {
	op     string
	method string
	path   string // escaped, starting with "/"
	query  url.Values
	body   any // JSON-encoded when non-nil
	accept string
}

// rawKeeper is a result that keeps the raw JSON it was decoded from.
type rawKeeper interface{ setRaw([]byte) }

// do sends r and decodes a 2xx JSON answer into out (which may be nil). It returns the HTTP
// status of a 2xx answer, because some endpoints distinguish 200 from 201.
func (c *Client) do(ctx context.Context, r request, out any) (int, error) {
	res, err := c.send(ctx, r)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes))
	if err != nil {
		return 0, transportError(r.op, r.method, r.path, fmt.Errorf("read response: %w", err), false)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return 0, classifyResponse(r.op, r.method, r.path, res.StatusCode, data)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return 0, &Error{Class: ClassTransient, Op: r.op, Method: r.method, Path: r.path, HTTPStatus: res.StatusCode,
				Message: "undecodable response body", cause: err}
		}
		if k, ok := out.(rawKeeper); ok {
			k.setRaw(data)
		}
	}
	return res.StatusCode, nil
}

// stream sends r and returns the body of a 2xx answer unread; the caller closes it.
func (c *Client) stream(ctx context.Context, r request) (io.ReadCloser, error) {
	res, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		defer res.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes))
		return nil, classifyResponse(r.op, r.method, r.path, res.StatusCode, data)
	}
	return res.Body, nil
}

// send builds, signs and sends r.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	var body []byte
	if r.body != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r.body); err != nil {
			return nil, localError(r.op, ClassConfiguration, "encode request: %v", err)
		}
		body = bytes.TrimRight(buf.Bytes(), "\n")
	}
	target := c.base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return nil, localError(r.op, ClassConfiguration, "build request: %v", err)
	}
	if c.host != "" {
		req.Host = c.host
	}
	accept := r.accept
	if accept == "" {
		accept = acceptHAL
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", contentTypeJSON)
	}
	if err := c.signer.SignRequest(req, body); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Op = r.op
			return nil, e
		}
		return nil, localError(r.op, ClassConfiguration, "sign request: %v", err)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(r.op, r.method, r.path, err, neverSent(err))
	}
	return res, nil
}

// neverSent reports whether a transport error happened before any byte of the request could
// reach the server: only a failed dial proves that.
func neverSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// pathf builds an API path, escaping each id so a crafted id cannot change the path.
func pathf(format string, ids ...string) string {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = url.PathEscape(id)
	}
	return fmt.Sprintf(format, args...)
}

// requireID refuses an empty id before a call whose path would otherwise change meaning.
func requireID(op, name, id string) error {
	if strings.TrimSpace(id) == "" {
		return localError(op, ClassInvalidRequest, "%s is required", name)
	}
	return nil
}
