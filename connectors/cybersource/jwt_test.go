package cybersource

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func vectorJWTSigner(t testing.TB) *JWTSigner {
	t.Helper()
	s, err := NewJWTSigner(vectorMerchant, vectorKeyID, vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return vectorTime }
	return s
}

// decodeSegment returns a JWT segment's JSON as a map.
func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestJWTSignerSendsTheSDKClaimsExactly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, url, body string
		wantPath                string
		wantDigest              bool
	}{
		{"POST payment", http.MethodPost, "https://apitest.cybersource.com/pts/v2/payments", vectorBody, "/pts/v2/payments", true},
		{"GET with query", http.MethodGet, "https://apitest.cybersource.com/reporting/v3/net-fundings?startTime=a&endTime=b", "", "/reporting/v3/net-fundings", false},
		{"DELETE", http.MethodDelete, "https://apitest.cybersource.com/tms/v2/customers/ABC", "", "/tms/v2/customers/ABC", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			if err := vectorJWTSigner(t).SignRequest(req, []byte(tt.body)); err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"Date", "Signature", "Digest", "v-c-merchant-id"} {
				if req.Header.Get(h) != "" {
					t.Errorf("JWT mode sent a %s header", h)
				}
			}
			token, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
			if !ok {
				t.Fatalf("Authorization = %q", req.Header.Get("Authorization"))
			}
			parts := strings.Split(token, ".")
			if len(parts) != 3 {
				t.Fatalf("token has %d parts", len(parts))
			}
			header := decodeSegment(t, parts[0])
			if header["alg"] != "HS256" || header["typ"] != "JWT" || header["kid"] != vectorKeyID || len(header) != 3 {
				t.Errorf("header = %v", header)
			}
			claims := decodeSegment(t, parts[1])
			want := []string{"iat", "exp", "request-host", "request-resource-path", "request-method", "iss", "jti", "v-c-jwt-version", "v-c-merchant-id"}
			if tt.wantDigest {
				want = append(want, "digest", "digest-algorithm")
			}
			var got []string
			for k := range claims {
				got = append(got, k)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("claims %v, want %v", got, want)
			}
			iat, _ := claims["iat"].(json.Number).Int64()
			exp, _ := claims["exp"].(json.Number).Int64()
			if iat != vectorTime.Unix() || exp != iat+120 {
				t.Errorf("iat %d exp %d", iat, exp)
			}
			checks := map[string]any{
				"request-host": "apitest.cybersource.com", "request-resource-path": tt.wantPath,
				"request-method": strings.ToLower(tt.method), "iss": vectorMerchant, "v-c-merchant-id": vectorMerchant,
				"v-c-jwt-version": "2",
			}
			if tt.wantDigest {
				checks["digest"] = "/hG5rT7D9/jq1p0kFy1Wl/eur0xFZM3La79rsBicGv8="
				checks["digest-algorithm"] = "SHA-256"
			}
			for k, v := range checks {
				if claims[k] != v {
					t.Errorf("%s = %v, want %v", k, claims[k], v)
				}
			}
			// The signature is HS256 with the decoded secret.
			if _, err := jwt.Parse(token, func(*jwt.Token) (any, error) { return mustDecode(t, vectorSecret), nil },
				jwt.WithTimeFunc(func() time.Time { return vectorTime })); err != nil {
				t.Errorf("token does not verify with the decoded secret: %v", err)
			}
		})
	}
}

func TestVerifyJWT(t *testing.T) {
	t.Parallel()
	otherSecret := "c29tZS1vdGhlci1zZWNyZXQtb2YtMzItYnl0ZXMhIQ=="
	tests := []struct {
		name   string
		mutate func(r *http.Request) (body string, keys []SigningKey, now time.Time)
		want   error
	}{
		{"valid", func(r *http.Request) (string, []SigningKey, time.Time) { return vectorBody, vectorKeys(), vectorTime }, nil},
		{"valid with a rotated key set", func(r *http.Request) (string, []SigningKey, time.Time) {
			return vectorBody, []SigningKey{{KeyID: vectorKeyID, Secret: otherSecret}, {KeyID: vectorKeyID, Secret: vectorSecret}}, vectorTime
		}, nil},
		{"no token", func(r *http.Request) (string, []SigningKey, time.Time) {
			r.Header.Del("Authorization")
			return vectorBody, vectorKeys(), vectorTime
		}, ErrSignatureMissing},
		{"not a JWT", func(r *http.Request) (string, []SigningKey, time.Time) {
			r.Header.Set("Authorization", "Bearer abc")
			return vectorBody, vectorKeys(), vectorTime
		}, ErrSignatureMalformed},
		{"unknown kid", func(r *http.Request) (string, []SigningKey, time.Time) {
			return vectorBody, []SigningKey{{KeyID: "other", Secret: vectorSecret}}, vectorTime
		}, ErrSignatureUnknownKey},
		{"wrong secret", func(r *http.Request) (string, []SigningKey, time.Time) {
			return vectorBody, []SigningKey{{KeyID: vectorKeyID, Secret: otherSecret}}, vectorTime
		}, ErrSignatureMismatch},
		{"tampered body", func(r *http.Request) (string, []SigningKey, time.Time) {
			return vectorBody + " ", vectorKeys(), vectorTime
		}, ErrDigestMismatch},
		{"other path", func(r *http.Request) (string, []SigningKey, time.Time) {
			r.URL.Path = "/pts/v2/credits"
			return vectorBody, vectorKeys(), vectorTime
		}, ErrSignatureMismatch},
		{"expired", func(r *http.Request) (string, []SigningKey, time.Time) {
			return vectorBody, vectorKeys(), vectorTime.Add(JWTLifetime + 6*time.Minute)
		}, ErrDateSkew},
		{"issued in the future", func(r *http.Request) (string, []SigningKey, time.Time) {
			return vectorBody, vectorKeys(), vectorTime.Add(-6 * time.Minute)
		}, ErrDateSkew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "https://apitest.cybersource.com/pts/v2/payments", strings.NewReader(vectorBody))
			if err := vectorJWTSigner(t).SignRequest(r, []byte(vectorBody)); err != nil {
				t.Fatal(err)
			}
			body, keys, now := tt.mutate(r)
			_, err := VerifyJWT(r, []byte(body), keys, now, 0)
			if (tt.want == nil && err != nil) || !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
