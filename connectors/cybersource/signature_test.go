package cybersource

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The public sandbox sample key and the values of protocol §2.1's test vector.
const (
	vectorMerchant = "testrest"
	vectorKeyID    = "08c94330-f618-42a3-b09d-e1e43be5efda"
	vectorSecret   = "yBJxy6LjM2TmcPGu+GaJrHtkke25fPpUX+UY6/L/1tE="
	vectorDate     = "Thu, 18 Jul 2019 00:18:03 GMT"
	vectorBody     = `{"clientReferenceInformation":{"code":"TC50171_3"},"orderInformation":{"amountDetails":{"totalAmount":"10.00","currency":"USD"}}}`
)

var vectorTime = time.Date(2019, 7, 18, 0, 18, 3, 0, time.UTC)

func vectorSigner(t testing.TB) *HTTPSigner {
	t.Helper()
	s, err := NewHTTPSigner(vectorMerchant, vectorKeyID, vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return vectorTime }
	return s
}

func vectorKeys() []SigningKey {
	return []SigningKey{{KeyID: vectorKeyID, MerchantID: vectorMerchant, Secret: vectorSecret}}
}

func TestDigestMatchesProtocolTestVector(t *testing.T) {
	t.Parallel()
	if got, want := Digest([]byte(vectorBody)), "SHA-256=/hG5rT7D9/jq1p0kFy1Wl/eur0xFZM3La79rsBicGv8="; got != want {
		t.Fatalf("Digest = %s, want %s", got, want)
	}
}

func TestHTTPSignerMatchesProtocolTestVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, url, body string
		wantDigest, wantHeaders string
		wantSignature           string
	}{
		{
			name: "POST payment", method: http.MethodPost, url: "https://apitest.cybersource.com/pts/v2/payments", body: vectorBody,
			wantDigest:    "SHA-256=/hG5rT7D9/jq1p0kFy1Wl/eur0xFZM3La79rsBicGv8=",
			wantHeaders:   "host date request-target digest v-c-merchant-id",
			wantSignature: "jRL5fDo0VXTmyWObEGKg7sKw+HZERMBHNelMpDmc+ck=",
		},
		{
			name: "GET transaction", method: http.MethodGet, url: "https://apitest.cybersource.com/tss/v2/transactions/6510049442466278803211",
			wantHeaders:   "host date request-target v-c-merchant-id",
			wantSignature: "NCSBo1O+cYlVaTZnaVCSR7tol2M0N14wlhv4vT2ha78=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			if err := vectorSigner(t).SignRequest(req, body); err != nil {
				t.Fatal(err)
			}
			if got := req.Header.Get("Date"); got != vectorDate {
				t.Errorf("Date = %q, want %q", got, vectorDate)
			}
			if got := req.Header.Get("Digest"); got != tt.wantDigest {
				t.Errorf("Digest = %q, want %q", got, tt.wantDigest)
			}
			if got := req.Header.Get("v-c-merchant-id"); got != vectorMerchant {
				t.Errorf("v-c-merchant-id = %q", got)
			}
			want := fmt.Sprintf(`keyid="%s", algorithm="HmacSHA256", headers="%s", signature="%s"`, vectorKeyID, tt.wantHeaders, tt.wantSignature)
			if got := req.Header.Get("Signature"); got != want {
				t.Errorf("Signature =\n %s\nwant\n %s", got, want)
			}
		})
	}
}

func TestHTTPSignerSignsTheHostTheRequestCarries(t *testing.T) {
	t.Parallel()
	// The SDK sends to an intermediate host but signs runEnvironment (§11): with req.Host set,
	// the vector's signature must come out although the URL points elsewhere.
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:18080/tss/v2/transactions/6510049442466278803211", nil)
	req.Host = "apitest.cybersource.com"
	if err := vectorSigner(t).SignRequest(req, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(req.Header.Get("Signature"), `signature="NCSBo1O+cYlVaTZnaVCSR7tol2M0N14wlhv4vT2ha78="`) {
		t.Fatalf("Signature = %s", req.Header.Get("Signature"))
	}
}

// signedVectorRequest is the vector POST as a server receives it.
func signedVectorRequest(t testing.TB) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "https://apitest.cybersource.com/pts/v2/payments", strings.NewReader(vectorBody))
	if err := vectorSigner(t).SignRequest(req, []byte(vectorBody)); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestVerifyHTTPSignatureAcceptsKnownSignerVariants(t *testing.T) {
	t.Parallel()
	key := mustDecode(t, vectorSecret)
	tests := []struct {
		name  string
		build func(r *http.Request)
	}{
		{"SDK form as signed", func(*http.Request) {}},
		{"sleet: (request-target), RFC1123Z date, no spaces", func(r *http.Request) {
			date := vectorTime.Format(time.RFC1123Z)
			r.Header.Set("Date", date)
			msg := "host: apitest.cybersource.com\ndate: " + date + "\n(request-target): post /pts/v2/payments\ndigest: " + Digest([]byte(vectorBody)) + "\nv-c-merchant-id: testrest"
			r.Header.Set("Signature", `keyid="`+vectorKeyID+`",algorithm="HmacSHA256",headers="host date (request-target) digest v-c-merchant-id",signature="`+hmacBase64(key, msg)+`"`)
		}},
		{"v-c-date and kid=", func(r *http.Request) {
			r.Header.Del("Date")
			r.Header.Set("v-c-date", vectorDate)
			msg := "host: apitest.cybersource.com\nv-c-date: " + vectorDate + "\nrequest-target: post /pts/v2/payments\ndigest: " + Digest([]byte(vectorBody)) + "\nv-c-merchant-id: testrest"
			r.Header.Set("Signature", `kid="`+vectorKeyID+`", algorithm="HmacSHA256", headers="host v-c-date request-target digest v-c-merchant-id", signature="`+hmacBase64(key, msg)+`"`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := signedVectorRequest(t)
			tt.build(r)
			k, err := VerifyHTTPSignature(r, []byte(vectorBody), vectorKeys(), vectorTime.Add(time.Minute), 0)
			if err != nil {
				t.Fatal(err)
			}
			if k.KeyID != vectorKeyID {
				t.Errorf("matched key %v", k)
			}
		})
	}
}

func TestVerifyHTTPSignatureRejects(t *testing.T) {
	t.Parallel()
	otherSecret := "c29tZS1vdGhlci1zZWNyZXQtb2YtMzItYnl0ZXMhIQ=="
	tests := []struct {
		name   string
		mutate func(r *http.Request) (body string, keys []SigningKey, now time.Time)
		want   error
	}{
		{"no signature", func(r *http.Request) (string, []SigningKey, time.Time) {
			r.Header.Del("Signature")
			return vectorBody, vectorKeys(), vectorTime
		}, ErrSignatureMissing},
		{"garbage header", func(r *http.Request) (string, []SigningKey, time.Time) {
			r.Header.Set("Signature", `keyid="x`)
			return vectorBody, vectorKeys(), vectorTime
		}, ErrSignatureMalformed},
		{"unknown key id", func(r *http.Request) (string, []SigningKey, time.Time) {
			return vectorBody, []SigningKey{{KeyID: "other", Secret: vectorSecret}}, vectorTime
		}, ErrSignatureUnknownKey},
		{"other merchant", func(r *http.Request) (string, []SigningKey, time.Time) {
			return vectorBody, []SigningKey{{KeyID: vectorKeyID, MerchantID: "someone", Secret: vectorSecret}}, vectorTime
		}, ErrSignatureUnknownKey},
		{"wrong secret", func(r *http.Request) (string, []SigningKey, time.Time) {
			return vectorBody, []SigningKey{{KeyID: vectorKeyID, Secret: otherSecret}}, vectorTime
		}, ErrSignatureMismatch},
		{"tampered body", func(r *http.Request) (string, []SigningKey, time.Time) {
			return strings.Replace(vectorBody, "10.00", "1000.00", 1), vectorKeys(), vectorTime
		}, ErrDigestMismatch},
		{"tampered path", func(r *http.Request) (string, []SigningKey, time.Time) {
			r.RequestURI = "/pts/v2/payments?x=1"
			return vectorBody, vectorKeys(), vectorTime
		}, ErrSignatureMismatch},
		{"tampered merchant header", func(r *http.Request) (string, []SigningKey, time.Time) {
			r.Header.Set("v-c-merchant-id", "evil")
			return vectorBody, []SigningKey{{KeyID: vectorKeyID, Secret: vectorSecret}}, vectorTime
		}, ErrSignatureMismatch},
		{"other host", func(r *http.Request) (string, []SigningKey, time.Time) {
			r.Host = "api.cybersource.com"
			return vectorBody, vectorKeys(), vectorTime
		}, ErrSignatureMismatch},
		{"stale date", func(r *http.Request) (string, []SigningKey, time.Time) {
			return vectorBody, vectorKeys(), vectorTime.Add(6 * time.Minute)
		}, ErrDateSkew},
		{"future date", func(r *http.Request) (string, []SigningKey, time.Time) {
			return vectorBody, vectorKeys(), vectorTime.Add(-6 * time.Minute)
		}, ErrDateSkew},
		{"POST without a signed digest", func(r *http.Request) (string, []SigningKey, time.Time) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), " digest", "", 1))
			return vectorBody, vectorKeys(), vectorTime
		}, ErrSignatureMalformed},
		{"other algorithm", func(r *http.Request) (string, []SigningKey, time.Time) {
			r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), "HmacSHA256", "rsa-sha256", 1))
			return vectorBody, vectorKeys(), vectorTime
		}, ErrSignatureMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := signedVectorRequest(t)
			body, keys, now := tt.mutate(r)
			_, err := VerifyHTTPSignature(r, []byte(body), keys, now, 0)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if strings.Contains(fmt.Sprint(err), vectorSecret) {
				t.Fatal("error mentions the secret")
			}
		})
	}
}

// TestHTTPSignatureRoundTripsOverRealHTTP signs with the client's signer and verifies what a
// real server received, including a query string and an escaped path segment.
func TestHTTPSignatureRoundTripsOverRealHTTP(t *testing.T) {
	t.Parallel()
	verified := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, err := VerifyHTTPSignature(r, body, vectorKeys(), time.Now(), 0)
		verified <- err
	}))
	t.Cleanup(srv.Close)
	s := vectorSigner(t)
	s.Now = nil
	for _, tc := range []struct{ method, path, body string }{
		{http.MethodGet, "/reporting/v3/net-fundings?endTime=2026-01-02T00%3A00%3A00Z&startTime=2026-01-01T00%3A00%3A00Z", ""},
		{http.MethodPost, "/pts/v2/payments/a%2Fb/captures", `{"a":1}`},
		{http.MethodPatch, "/tms/v2/customers/ABC", `{}`},
		{http.MethodDelete, "/tms/v2/customers/ABC", ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		var body []byte
		if tc.body != "" {
			body = []byte(tc.body)
		}
		if err := s.SignRequest(req, body); err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if err := <-verified; err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
		}
	}
}

func mustDecode(t testing.TB, b64 string) []byte {
	t.Helper()
	k, err := decodeSecret("test", b64)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
