package cybersourcesim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AuthErrorHeader is a simulator-only response header that says why a request got 401, so that a
// developer whose signature is refused does not have to guess. The body stays the real one.
const AuthErrorHeader = "V-C-Sim-Auth-Error"

// Reasons a request fails authentication.
var (
	errNoCredentials    = errors.New("neither a signature header nor an Authorization: Bearer token")
	errBadSignatureHdr  = errors.New("malformed signature header")
	errUnknownKey       = errors.New("unknown key id")
	errBadAlgorithm     = errors.New("unsupported signature algorithm")
	errUnsignedHeader   = errors.New("a required header is not in the signed headers list")
	errMissingHeader    = errors.New("a signed header is missing from the request")
	errWrongMerchant    = errors.New("v-c-merchant-id is not this merchant")
	errBadSignature     = errors.New("signature does not match")
	errBadDigest        = errors.New("digest does not match the body")
	errStale            = errors.New("date outside the allowed skew")
	errBadJWT           = errors.New("invalid JWT")
	errJWTClaimMismatch = errors.New("JWT claims do not match the request")
)

// authenticate accepts a request that carries either a valid HTTP Signature (protocol doc §2.1,
// the simulator rule) or a valid HS256 JWT signed with the shared secret (§2.2).
func (s *Server) authenticate(r *http.Request, body []byte) error {
	if h := r.Header.Get("Signature"); h != "" {
		return s.verifyHTTPSignature(r, body, h)
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return s.verifyJWT(r, body, strings.TrimSpace(a[7:]))
	}
	return errNoCredentials
}

// verifyHTTPSignature rebuilds the signing string from the signed headers list exactly as
// received: request-target or (request-target) becomes "<name>: <lower method> <raw URI>", host
// comes from r.Host, any other header from the request. Then the digest is checked over the raw
// body, and the signed date (date or v-c-date) must be within SignatureSkew.
func (s *Server) verifyHTTPSignature(r *http.Request, body []byte, header string) error {
	params, err := parseSignatureParams(header)
	if err != nil {
		return err
	}
	keyID := params["keyid"]
	if keyID == "" {
		keyID = params["kid"]
	}
	if keyID != s.opts.KeyID {
		return fmt.Errorf("%w %q", errUnknownKey, keyID)
	}
	if alg := strings.ToLower(params["algorithm"]); alg != "" && alg != "hmacsha256" && alg != "hmac-sha256" {
		return fmt.Errorf("%w %q", errBadAlgorithm, params["algorithm"])
	}
	names := strings.Fields(strings.ToLower(params["headers"]))
	signed := map[string]bool{}
	for _, n := range names {
		signed[n] = true
	}
	if !signed["request-target"] && !signed["(request-target)"] {
		return fmt.Errorf("%w: request-target", errUnsignedHeader)
	}
	if !signed["date"] && !signed["v-c-date"] {
		return fmt.Errorf("%w: date", errUnsignedHeader)
	}
	if !signed["v-c-merchant-id"] {
		return fmt.Errorf("%w: v-c-merchant-id", errUnsignedHeader)
	}
	if methodHasBody(r.Method) && !signed["digest"] {
		return fmt.Errorf("%w: digest", errUnsignedHeader)
	}

	lines := make([]string, 0, len(names))
	for _, n := range names {
		var v string
		switch n {
		case "request-target", "(request-target)":
			v = strings.ToLower(r.Method) + " " + rawRequestURI(r)
		case "host":
			v = r.Host
		default:
			vs := r.Header.Values(n)
			if len(vs) == 0 {
				return fmt.Errorf("%w: %s", errMissingHeader, n)
			}
			v = strings.Join(vs, ", ")
		}
		lines = append(lines, n+": "+v)
	}
	want := hmacSHA256(s.secret, []byte(strings.Join(lines, "\n")))
	got, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil || !hmac.Equal(got, want) {
		return errBadSignature
	}

	if r.Header.Get("v-c-merchant-id") != s.opts.MerchantID {
		return errWrongMerchant
	}
	if signed["digest"] {
		d := r.Header.Get("digest")
		if len(d) < 8 || !strings.EqualFold(d[:8], "SHA-256=") || !constantTimeEqualString(d[8:], bodyDigest(body)) {
			return errBadDigest
		}
	}
	dateHeader := "date"
	if !signed["date"] {
		dateHeader = "v-c-date"
	}
	when, err := parseHTTPDate(r.Header.Get(dateHeader))
	if err != nil || !s.fresh(when) {
		return fmt.Errorf("%w: %s %q", errStale, dateHeader, r.Header.Get(dateHeader))
	}
	return nil
}

// verifyJWT checks an HS256 token whose kid is the key id and whose claims bind it to this
// request: request-method, request-resource-path, the body digest (POST, PUT, PATCH), the merchant,
// and iat/exp within SignatureSkew.
func (s *Server) verifyJWT(r *http.Request, body []byte, raw string) error {
	tok, err := jwt.Parse(raw, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != s.opts.KeyID {
			return nil, fmt.Errorf("%w %q", errUnknownKey, kid)
		}
		return s.secret, nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithoutClaimsValidation())
	if err != nil {
		return fmt.Errorf("%w: %v", errBadJWT, err)
	}
	claims, ok := tok.Claims.(jwt.MapClaims)
	if !ok {
		return errBadJWT
	}
	str := func(k string) string { v, _ := claims[k].(string); return v }
	if !strings.EqualFold(str("request-method"), r.Method) {
		return fmt.Errorf("%w: request-method %q", errJWTClaimMismatch, str("request-method"))
	}
	// The official SDK cuts the request target at "?" before it sets this claim, so the claim is
	// the path alone; a client that includes the query string is accepted too.
	if path := str("request-resource-path"); path != r.URL.EscapedPath() && path != rawRequestURI(r) {
		return fmt.Errorf("%w: request-resource-path %q", errJWTClaimMismatch, str("request-resource-path"))
	}
	merchant := str("v-c-merchant-id")
	if merchant == "" {
		merchant = str("iss")
	}
	if merchant != s.opts.MerchantID {
		return errWrongMerchant
	}
	if methodHasBody(r.Method) {
		d := strings.TrimPrefix(str("digest"), "SHA-256=")
		if !constantTimeEqualString(d, bodyDigest(body)) {
			return errBadDigest
		}
	}
	iat, ok := claimTime(claims["iat"])
	if !ok {
		return fmt.Errorf("%w: iat", errJWTClaimMismatch)
	}
	exp, hasExp := claimTime(claims["exp"])
	for _, ref := range s.referenceTimes() {
		if absDuration(iat.Sub(ref)) <= s.opts.SignatureSkew && (!hasExp || !ref.After(exp.Add(s.opts.SignatureSkew))) {
			return nil
		}
	}
	return fmt.Errorf("%w: iat %s", errStale, iat.Format(time.RFC3339))
}

// referenceTimes are the clocks a signed date may be checked against: the simulator clock, and
// the wall clock so that advancing the simulator clock (to reach a settlement cut-off) does not
// lock out clients that sign with the real time.
func (s *Server) referenceTimes() []time.Time { return []time.Time{s.clock.Now(), time.Now()} }

// fresh reports whether t is within SignatureSkew of either reference time.
func (s *Server) fresh(t time.Time) bool {
	for _, ref := range s.referenceTimes() {
		if absDuration(t.Sub(ref)) <= s.opts.SignatureSkew {
			return true
		}
	}
	return false
}

// parseSignatureParams splits `k="v", k2="v2"` (spaces after commas optional, quotes optional)
// into a map with lower-cased keys.
func parseSignatureParams(h string) (map[string]string, error) {
	out := map[string]string{}
	var parts []string
	inQuote, start := false, 0
	for i := 0; i < len(h); i++ {
		switch h[i] {
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				parts = append(parts, h[start:i])
				start = i + 1
			}
		}
	}
	if inQuote {
		return nil, errBadSignatureHdr
	}
	parts = append(parts, h[start:])
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, errBadSignatureHdr
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		out[strings.ToLower(strings.TrimSpace(k))] = v
	}
	if out["signature"] == "" || out["headers"] == "" {
		return nil, errBadSignatureHdr
	}
	return out, nil
}

// rawRequestURI is the request target as the client sent it (path and raw query).
func rawRequestURI(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

// parseHTTPDate accepts the date formats clients are seen to send: RFC 1123 with GMT (JavaScript
// toUTCString, net/http), with a numeric zone (Go RFC1123Z), or RFC 3339.
func parseHTTPDate(v string) (time.Time, error) {
	for _, layout := range []string{http.TimeFormat, time.RFC1123, time.RFC1123Z, time.RFC3339} {
		if t, err := time.Parse(layout, strings.TrimSpace(v)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unparseable date %q", v)
}

// claimTime reads a JWT time claim: epoch seconds, or the RFC 1123 string of older SDKs.
func claimTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case float64:
		return time.Unix(int64(x), 0), true
	case string:
		t, err := parseHTTPDate(x)
		return t, err == nil
	}
	return time.Time{}, false
}

func methodHasBody(m string) bool {
	return m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch
}

// bodyDigest is base64(SHA-256(body)), the value after "SHA-256=" in the digest header.
func bodyDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

func constantTimeEqualString(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// decodeSecret turns a base64 shared secret into key bytes. A value that is not base64 is used as
// is, so that a misconfigured secret fails signatures instead of the simulator's start.
func decodeSecret(b64 string) []byte {
	if k, err := base64.StdEncoding.DecodeString(b64); err == nil {
		return k
	}
	return []byte(b64)
}
