package cybersourcesim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testStart is the simulator clock's start in tests: a Friday morning, far from the cut-off.
var testStart = time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC)

// testBundle is one simulator behind a real HTTP listener and a client that signs like the SDK.
type testBundle struct {
	sim  *Server
	http *httptest.Server
	// auth is "http_signature" (default) or "jwt".
	auth     string
	merchant string
	keyID    string
	secret   string
}

func setup(t *testing.T, opts Options) *testBundle {
	t.Helper()
	if opts.Start.IsZero() {
		opts.Start = testStart
	}
	sim := New(opts)
	ts := httptest.NewServer(sim)
	t.Cleanup(func() {
		ts.Close()
		sim.Close()
	})
	return &testBundle{sim: sim, http: ts, auth: "http_signature",
		merchant: sim.opts.MerchantID, keyID: sim.opts.KeyID, secret: sim.opts.Secret}
}

// response is one answer, with its body decoded when it is JSON.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// str walks a dotted path through the decoded body and returns the value as a string.
func (r response) str(path string) string {
	v := walk(r.body, path)
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		b, _ := json.Marshal(x)
		return string(b)
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func walk(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i := 0
			for _, c := range p {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// do sends a signed request; body may be nil, a string or anything JSON-marshalable.
func (b *testBundle) do(t *testing.T, method, path string, body any, header ...string) response {
	t.Helper()
	var raw []byte
	switch x := body.(type) {
	case nil:
	case string:
		raw = []byte(x)
	case []byte:
		raw = x
	default:
		var err error
		if raw, err = json.Marshal(x); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, b.http.URL+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/hal+json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if b.auth == "jwt" {
		signJWT(t, req, raw, b.merchant, b.keyID, b.secret, time.Now())
	} else {
		signHTTP(req, raw, b.merchant, b.keyID, b.secret, time.Now())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode, header: resp.Header}
	out.raw, _ = io.ReadAll(resp.Body)
	if strings.Contains(resp.Header.Get("Content-Type"), "json") && len(out.raw) > 0 {
		if err := json.Unmarshal(out.raw, &out.body); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v\n%s", method, path, err, out.raw)
		}
	}
	return out
}

// must sends a request and fails unless the status is want.
func (b *testBundle) must(t *testing.T, want int, method, path string, body any) response {
	t.Helper()
	r := b.do(t, method, path, body)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.raw)
	}
	return r
}

// control calls a /_sim route.
func (b *testBundle) control(t *testing.T, method, path, body string) response {
	t.Helper()
	req, _ := http.NewRequest(method, b.http.URL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode, header: resp.Header}
	out.raw, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(out.raw, &out.body)
	return out
}

// signHTTP signs a request the way the official SDK does (protocol doc §2.1), independently of
// the simulator's verifier: host date request-target [digest] v-c-merchant-id.
func signHTTP(req *http.Request, body []byte, merchant, keyID, secret string, at time.Time) {
	date := at.UTC().Format(http.TimeFormat)
	target := strings.ToLower(req.Method) + " " + req.URL.RequestURI()
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	names := "host date request-target"
	sigString := "host: " + host + "\ndate: " + date + "\nrequest-target: " + target + "\n"
	if req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch {
		sum := sha256.Sum256(body)
		digest := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
		req.Header.Set("Digest", digest)
		names += " digest"
		sigString += "digest: " + digest + "\n"
	}
	names += " v-c-merchant-id"
	sigString += "v-c-merchant-id: " + merchant
	key, _ := base64.StdEncoding.DecodeString(secret)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(sigString))
	sig := base64.StdEncoding.EncodeToString(m.Sum(nil))
	req.Header.Set("v-c-merchant-id", merchant)
	req.Header.Set("Date", date)
	req.Header.Set("Signature", `keyid="`+keyID+`", algorithm="HmacSHA256", headers="`+names+`", signature="`+sig+`"`)
}

// signJWT signs a request with an HS256 JWT the way the SDK's SHARED_SECRET mode does (§2.2).
func signJWT(t *testing.T, req *http.Request, body []byte, merchant, keyID, secret string, at time.Time) {
	t.Helper()
	claims := jwt.MapClaims{
		"iat": at.Unix(), "exp": at.Unix() + 120,
		"request-host": req.URL.Host, "request-resource-path": req.URL.EscapedPath(),
		"request-method": strings.ToLower(req.Method), "iss": merchant, "jti": "test-jti",
		"v-c-jwt-version": "2", "v-c-merchant-id": merchant,
	}
	if req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch {
		sum := sha256.Sum256(body)
		claims["digest"] = base64.StdEncoding.EncodeToString(sum[:])
		claims["digest-algorithm"] = "SHA-256"
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = keyID
	key, _ := base64.StdEncoding.DecodeString(secret)
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s)
}

// paymentReq is a valid card payment body; mutate the map for variations.
func paymentReq(code, amount, card string) map[string]any {
	return map[string]any{
		"clientReferenceInformation": map[string]any{"code": code},
		"processingInformation":      map[string]any{"capture": false, "commerceIndicator": "internet"},
		"paymentInformation": map[string]any{"card": map[string]any{
			"number": card, "expirationMonth": "12", "expirationYear": "2031", "securityCode": cvvFor(card)}},
		"orderInformation": map[string]any{
			"amountDetails": map[string]any{"totalAmount": amount, "currency": "USD"},
			"billTo": map[string]any{"firstName": "John", "lastName": "Doe", "address1": "1 Market St",
				"locality": "san francisco", "administrativeArea": "CA", "postalCode": "94105", "country": "US",
				"email": "test@cybs.com"},
		},
	}
}

func cvvFor(card string) string {
	if strings.HasPrefix(card, "3") {
		return "1234"
	}
	return "123"
}

// sale makes paymentReq a sale.
func sale(req map[string]any) map[string]any {
	req["processingInformation"].(map[string]any)["capture"] = true
	return req
}

// set assigns a value at a dotted path of a request map, creating objects on the way.
func set(req map[string]any, path string, v any) map[string]any {
	parts := strings.Split(path, ".")
	m := req
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	if v == nil {
		delete(m, parts[len(parts)-1])
	} else {
		m[parts[len(parts)-1]] = v
	}
	return req
}

// amountBody is a follow-on body with an amount.
func amountBody(code, amount string) map[string]any {
	return map[string]any{"clientReferenceInformation": map[string]any{"code": code},
		"orderInformation": map[string]any{"amountDetails": map[string]any{"totalAmount": amount, "currency": "USD"}}}
}

// pay creates a payment and fails unless it answers 201.
func (b *testBundle) pay(t *testing.T, req map[string]any) response {
	t.Helper()
	return b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments", req)
}

// nextDay moves the simulator clock a day on, past the next cut-off.
func (b *testBundle) nextDay(t *testing.T) {
	t.Helper()
	b.sim.Clock().Advance(24 * time.Hour)
}

// query builds a URL query string.
func query(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}
