package cybersource

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// HTTPSignatureAlgorithm is the algorithm name Cybersource's signature header carries.
const HTTPSignatureAlgorithm = "HmacSHA256"

// HTTPSignatureSkewDefault is how far a signed Date may be from the verifier's clock. Cybersource
// does not document its window; five minutes matches the webhook tolerance.
const HTTPSignatureSkewDefault = 5 * time.Minute

// Errors from VerifyHTTPSignature and VerifyJWT.
var (
	// ErrSignatureMissing: the request carries no signature or bearer token.
	ErrSignatureMissing = errors.New("cybersource: request not signed")
	// ErrSignatureMalformed: the signature header or token cannot be parsed, uses another
	// algorithm, or leaves out a header or claim that must be signed.
	ErrSignatureMalformed = errors.New("cybersource: malformed request signature")
	// ErrSignatureUnknownKey: no configured key has the request's key id (and merchant).
	ErrSignatureUnknownKey = errors.New("cybersource: unknown signing key")
	// ErrSignatureMismatch: the signature is not the HMAC of what was received.
	ErrSignatureMismatch = errors.New("cybersource: request signature does not match")
	// ErrDigestMismatch: the signed digest is not the SHA-256 of the body received.
	ErrDigestMismatch = errors.New("cybersource: body digest does not match")
	// ErrDateSkew: the signed date or token lifetime is outside the allowed window.
	ErrDateSkew = errors.New("cybersource: request date outside the allowed skew")
)

// SigningKey is a merchant's shared-secret key as a verifier (a simulator or a test) holds it.
type SigningKey struct {
	// KeyID is the key's id, matched against keyid (HTTP Signature) or kid (JWT).
	KeyID string
	// MerchantID, when set, must equal the request's merchant id.
	MerchantID string
	// Secret is the base64 shared secret. Never printed.
	Secret string
}

// String hides the secret.
func (k SigningKey) String() string {
	return fmt.Sprintf("cybersource.SigningKey{KeyID: %q, MerchantID: %q, Secret: redacted}", k.KeyID, k.MerchantID)
}

// GoString hides the secret from %#v as well.
func (k SigningKey) GoString() string { return k.String() }

// HTTPSigner signs requests with Cybersource's HTTP Signature scheme (§2.1): an HMAC-SHA256 over
// host, date, request-target, digest (POST/PUT/PATCH only) and v-c-merchant-id, exactly as the
// official SDKs build it. It is usable without a Client.
type HTTPSigner struct {
	// MerchantID is sent and signed as v-c-merchant-id.
	MerchantID string
	// KeyID is the keyid of the signature header.
	KeyID string
	// Now is the clock for the Date header; time.Now when nil.
	Now func() time.Time

	key []byte
}

// NewHTTPSigner returns a signer for the base64 shared secret.
func NewHTTPSigner(merchantID, keyID, secret string) (*HTTPSigner, error) {
	key, err := decodeSecret("NewHTTPSigner", secret)
	if err != nil {
		return nil, err
	}
	return &HTTPSigner{MerchantID: merchantID, KeyID: keyID, key: key}, nil
}

// String hides the secret.
func (s *HTTPSigner) String() string {
	return fmt.Sprintf("cybersource.HTTPSigner{MerchantID: %q, KeyID: %q, key redacted}", s.MerchantID, s.KeyID)
}

// SignRequest sets the Date, Digest (for POST, PUT and PATCH), v-c-merchant-id and Signature
// headers. It signs the host the request will carry: req.Host when set, else req.URL.Host,
// because net/http ignores a Host entry in req.Header.
func (s *HTTPSigner) SignRequest(req *http.Request, body []byte) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	date := now().UTC().Format(http.TimeFormat)
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	digest := ""
	headers := "host date request-target v-c-merchant-id"
	if hasBody(req.Method) {
		digest = Digest(body)
		headers = "host date request-target digest v-c-merchant-id"
		req.Header.Set("Digest", digest)
	}
	msg := signingString(host, date, req.Method, req.URL.RequestURI(), digest, s.MerchantID)
	req.Header.Set("v-c-merchant-id", s.MerchantID)
	req.Header.Set("Date", date)
	req.Header.Set("Signature", fmt.Sprintf(`keyid="%s", algorithm="%s", headers="%s", signature="%s"`,
		s.KeyID, HTTPSignatureAlgorithm, headers, hmacBase64(s.key, msg)))
	return nil
}

// Digest returns the digest header value for body: "SHA-256=" + base64(sha256(body)).
func Digest(body []byte) string {
	sum := sha256.Sum256(body)
	return "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
}

// hasBody reports whether the SDKs sign a digest for method.
func hasBody(method string) bool {
	switch strings.ToUpper(method) {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return true
	}
	return false
}

// signingString is the SDKs' string: lines joined by "\n", no trailing newline (§2.1).
func signingString(host, date, method, requestURI, digest, merchantID string) string {
	var b strings.Builder
	b.Grow(len(host) + len(date) + len(requestURI) + len(digest) + len(merchantID) + 80)
	b.WriteString("host: ")
	b.WriteString(host)
	b.WriteString("\ndate: ")
	b.WriteString(date)
	b.WriteString("\nrequest-target: ")
	b.WriteString(strings.ToLower(method))
	b.WriteByte(' ')
	b.WriteString(requestURI)
	if digest != "" {
		b.WriteString("\ndigest: ")
		b.WriteString(digest)
	}
	b.WriteString("\nv-c-merchant-id: ")
	b.WriteString(merchantID)
	return b.String()
}

func hmacBase64(key []byte, msg string) string {
	return base64.StdEncoding.EncodeToString(hmacSum(key, msg))
}

func hmacSum(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// signatureParams is the parsed signature header.
type signatureParams struct {
	keyID, algorithm, signature string
	headers                     []string
}

// parseSignatureHeader reads comma-separated k="v" pairs, tolerating spaces or none after the
// commas, unquoted values, and kid= for keyid (the variants of §2.1).
func parseSignatureHeader(h string) (signatureParams, error) {
	var p signatureParams
	seenHeaders := false
	for rest := h; strings.TrimSpace(rest) != ""; {
		rest = strings.TrimLeft(rest, " \t,")
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return p, fmt.Errorf("%w: expected name=value", ErrSignatureMalformed)
		}
		name := strings.ToLower(strings.TrimSpace(rest[:eq]))
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var value string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return p, fmt.Errorf("%w: unterminated quoted value", ErrSignatureMalformed)
			}
			value, rest = rest[1:1+end], rest[2+end:]
			if t := strings.TrimLeft(rest, " \t"); t != "" && t[0] != ',' {
				return p, fmt.Errorf("%w: expected a comma after a quoted value", ErrSignatureMalformed)
			}
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			value, rest = strings.TrimSpace(rest[:end]), rest[end:]
		}
		switch name {
		case "keyid", "kid":
			p.keyID = value
		case "algorithm":
			p.algorithm = value
		case "signature":
			p.signature = value
		case "headers":
			p.headers = strings.Fields(strings.ToLower(value))
			seenHeaders = true
		}
	}
	if p.keyID == "" || p.signature == "" || !seenHeaders {
		return p, fmt.Errorf("%w: keyid, headers and signature are required", ErrSignatureMalformed)
	}
	if p.algorithm != "" && !strings.EqualFold(p.algorithm, HTTPSignatureAlgorithm) && !strings.EqualFold(p.algorithm, "hmac-sha256") {
		return p, fmt.Errorf("%w: unsupported algorithm", ErrSignatureMalformed)
	}
	return p, nil
}

// VerifyHTTPSignature checks a request signed per §2.1 against keys and returns the key that
// signed it. It follows the simulator rule of the protocol notes, so every known signer variant
// verifies: the string is rebuilt from the headers= list verbatim, request-target and
// (request-target) both mean lower(method)+" "+r.RequestURI, host is r.Host, and the date may be
// Date or v-c-date, in RFC1123 GMT or RFC1123Z. It then insists that a request-target and a date
// were signed, and a digest for POST/PUT/PATCH, re-checks the digest over body and the date
// against now within skew (HTTPSignatureSkewDefault when 0; a negative skew skips the check).
// Signatures are compared in constant time. Errors wrap the Err* sentinels above.
func VerifyHTTPSignature(r *http.Request, body []byte, keys []SigningKey, now time.Time, skew time.Duration) (SigningKey, error) {
	h := r.Header.Get("Signature")
	if h == "" {
		return SigningKey{}, ErrSignatureMissing
	}
	p, err := parseSignatureHeader(h)
	if err != nil {
		return SigningKey{}, err
	}
	var signedTarget, signedDigest bool
	dateHeader := ""
	var b strings.Builder
	for i, name := range p.headers {
		if i > 0 {
			b.WriteByte('\n')
		}
		var value string
		switch name {
		case "request-target", "(request-target)":
			signedTarget = true
			uri := r.RequestURI
			if !strings.HasPrefix(uri, "/") {
				// Empty (a client-side request) or absolute-form (through a proxy).
				uri = r.URL.RequestURI()
			}
			value = strings.ToLower(r.Method) + " " + uri
		case "host":
			value = r.Host
			if value == "" {
				value = r.Header.Get("Host")
			}
		default:
			vs, ok := r.Header[http.CanonicalHeaderKey(name)]
			if !ok {
				return SigningKey{}, fmt.Errorf("%w: signed header %q is absent", ErrSignatureMalformed, name)
			}
			value = strings.Join(vs, ", ")
			switch name {
			case "date", "v-c-date":
				dateHeader = value
			case "digest":
				signedDigest = true
			}
		}
		b.WriteString(name)
		b.WriteString(": ")
		b.WriteString(value)
	}
	if !signedTarget || dateHeader == "" || (hasBody(r.Method) && !signedDigest) {
		return SigningKey{}, fmt.Errorf("%w: request-target, date and (with a body) digest must be signed", ErrSignatureMalformed)
	}
	given, err := base64.StdEncoding.DecodeString(p.signature)
	if err != nil {
		return SigningKey{}, fmt.Errorf("%w: signature is not base64", ErrSignatureMalformed)
	}
	key, err := matchKey(keys, p.keyID, r.Header.Get("v-c-merchant-id"), func(secret []byte) bool {
		return hmac.Equal(hmacSum(secret, b.String()), given)
	})
	if err != nil {
		return SigningKey{}, err
	}
	if signedDigest && !hmac.Equal([]byte(r.Header.Get("Digest")), []byte(Digest(body))) {
		return SigningKey{}, ErrDigestMismatch
	}
	if skew >= 0 {
		if skew == 0 {
			skew = HTTPSignatureSkewDefault
		}
		t, err := parseHTTPDate(dateHeader)
		if err != nil {
			return SigningKey{}, fmt.Errorf("%w: unparsable date", ErrSignatureMalformed)
		}
		if d := now.Sub(t); d > skew || d < -skew {
			return SigningKey{}, ErrDateSkew
		}
	}
	return key, nil
}

// matchKey tries the keys with keyID (and, when they name one, merchantID) and returns the first
// whose decoded secret satisfies ok.
func matchKey(keys []SigningKey, keyID, merchantID string, ok func(secret []byte) bool) (SigningKey, error) {
	known := false
	for _, k := range keys {
		if k.KeyID != keyID || (k.MerchantID != "" && k.MerchantID != merchantID) {
			continue
		}
		known = true
		secret, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil || len(secret) == 0 {
			continue
		}
		if ok(secret) {
			return k, nil
		}
	}
	if !known {
		return SigningKey{}, ErrSignatureUnknownKey
	}
	return SigningKey{}, ErrSignatureMismatch
}

// parseHTTPDate accepts RFC1123 GMT (the SDKs), RFC1123Z (BoltApp/sleet) and net/http's other
// legacy forms.
func parseHTTPDate(s string) (time.Time, error) {
	if t, err := http.ParseTime(s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC1123Z, s)
}
