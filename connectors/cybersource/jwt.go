package cybersource

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWTLifetime is exp − iat of the tokens the SDKs issue (§2.2).
const JWTLifetime = 120 * time.Second

// JWTSigner authenticates requests with a shared-secret HS256 JSON Web Token (§2.2), as the SDKs
// do with authenticationType "jwt" and jwtKeyType "SHARED_SECRET". It is usable without a Client.
type JWTSigner struct {
	// MerchantID is the iss and v-c-merchant-id claim.
	MerchantID string
	// KeyID is the kid header.
	KeyID string
	// Now is the clock for iat and exp; time.Now when nil.
	Now func() time.Time

	key []byte
}

// NewJWTSigner returns a signer for the base64 shared secret.
func NewJWTSigner(merchantID, keyID, secret string) (*JWTSigner, error) {
	key, err := decodeSecret("NewJWTSigner", secret)
	if err != nil {
		return nil, err
	}
	return &JWTSigner{MerchantID: merchantID, KeyID: keyID, key: key}, nil
}

// String hides the secret.
func (s *JWTSigner) String() string {
	return fmt.Sprintf("cybersource.JWTSigner{MerchantID: %q, KeyID: %q, key redacted}", s.MerchantID, s.KeyID)
}

// SignRequest sets "Authorization: Bearer <jwt>". The claims are exactly the SDK's: digest and
// digest-algorithm (POST/PUT/PATCH only; the digest has no "SHA-256=" prefix), iat, exp = iat+120,
// request-host (the host the request will carry), request-resource-path (the path without its
// query string, as the SDK strips it), request-method (lower case), iss, jti, v-c-jwt-version "2"
// and v-c-merchant-id. No Date, Signature or v-c-merchant-id header is sent.
func (s *JWTSigner) SignRequest(req *http.Request, body []byte) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	token, err := s.Token(req, body, now())
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return nil
}

// Token returns the signed JWT for req at time at.
func (s *JWTSigner) Token(req *http.Request, body []byte, at time.Time) (string, error) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	iat := at.Unix()
	claims := jwt.MapClaims{
		"iat":                   iat,
		"exp":                   iat + int64(JWTLifetime/time.Second),
		"request-host":          host,
		"request-resource-path": req.URL.EscapedPath(),
		"request-method":        strings.ToLower(req.Method),
		"iss":                   s.MerchantID,
		"jti":                   newUUID(),
		"v-c-jwt-version":       "2",
		"v-c-merchant-id":       s.MerchantID,
	}
	if hasBody(req.Method) {
		claims["digest"] = bodyDigest(body)
		claims["digest-algorithm"] = "SHA-256"
	}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	t.Header["kid"] = s.KeyID
	signed, err := t.SignedString(s.key)
	if err != nil {
		return "", localError("SignRequest", ClassConfiguration, "sign JWT: %v", err)
	}
	return signed, nil
}

// bodyDigest is base64(sha256(body)), the JWT digest claim.
func bodyDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// newUUID returns a random RFC 4122 version 4 UUID for jti.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// VerifyJWT checks a request authenticated per §2.2 against keys and returns the key that signed
// it: HS256 only, kid selects the key, exp is required and iat may not be in the future (both with
// skew as leeway; HTTPSignatureSkewDefault when 0, none when negative), request-method,
// request-resource-path (with or without the query) and request-host must match the request, and
// for POST/PUT/PATCH the digest claim must equal the body's. Errors wrap the Err* sentinels of
// signature.go.
func VerifyJWT(r *http.Request, body []byte, keys []SigningKey, now time.Time, skew time.Duration) (SigningKey, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return SigningKey{}, ErrSignatureMissing
	}
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return SigningKey{}, fmt.Errorf("%w: not a bearer token", ErrSignatureMalformed)
	}
	if skew == 0 {
		skew = HTTPSignatureSkewDefault
	}
	if skew < 0 {
		skew = 0
	}
	token = strings.TrimSpace(token)
	unverified := jwt.MapClaims{}
	t, _, err := jwt.NewParser().ParseUnverified(token, unverified)
	if err != nil {
		return SigningKey{}, fmt.Errorf("%w: %v", ErrSignatureMalformed, err)
	}
	kid, _ := t.Header["kid"].(string)
	mid, _ := unverified["v-c-merchant-id"].(string)
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(skew),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
	)
	var claims jwt.MapClaims
	var matched SigningKey
	known := false
	for _, k := range keys {
		if k.KeyID != kid || (k.MerchantID != "" && k.MerchantID != mid) {
			continue
		}
		secret, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil || len(secret) == 0 {
			continue
		}
		known = true
		c := jwt.MapClaims{}
		_, err = parser.ParseWithClaims(token, c, func(*jwt.Token) (any, error) { return secret, nil })
		switch {
		case err == nil:
			claims, matched = c, k
		case errors.Is(err, jwt.ErrTokenSignatureInvalid):
			continue
		case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenUsedBeforeIssued), errors.Is(err, jwt.ErrTokenNotValidYet):
			return SigningKey{}, ErrDateSkew
		default:
			return SigningKey{}, fmt.Errorf("%w: %v", ErrSignatureMalformed, err)
		}
		break
	}
	switch {
	case !known:
		return SigningKey{}, ErrSignatureUnknownKey
	case claims == nil:
		return SigningKey{}, ErrSignatureMismatch
	}
	str := func(name string) string { s, _ := claims[name].(string); return s }
	host := r.Host
	if host == "" {
		host = r.Header.Get("Host")
	}
	path := str("request-resource-path")
	if str("request-method") != strings.ToLower(r.Method) || str("request-host") != host ||
		(path != r.URL.EscapedPath() && path != r.URL.RequestURI()) {
		return SigningKey{}, fmt.Errorf("%w: request line or host differs from the signed claims", ErrSignatureMismatch)
	}
	if hasBody(r.Method) {
		d := str("digest")
		if d == "" {
			return SigningKey{}, fmt.Errorf("%w: digest claim required", ErrSignatureMalformed)
		}
		if !hmac.Equal([]byte(d), []byte(bodyDigest(body))) {
			return SigningKey{}, ErrDigestMismatch
		}
	}
	return matched, nil
}
