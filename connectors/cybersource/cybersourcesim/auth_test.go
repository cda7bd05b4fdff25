package cybersourcesim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The public sandbox sample credentials and request of the protocol doc's test vector (§2.1).
const (
	vectorMerchant = "testrest"
	vectorKeyID    = "08c94330-f618-42a3-b09d-e1e43be5efda"
	vectorSecret   = "yBJxy6LjM2TmcPGu+GaJrHtkke25fPpUX+UY6/L/1tE="
	vectorDate     = "Thu, 18 Jul 2019 00:18:03 GMT"
	vectorHost     = "apitest.cybersource.com"
	vectorBody     = `{"clientReferenceInformation":{"code":"TC50171_3"},"orderInformation":{"amountDetails":{"totalAmount":"10.00","currency":"USD"}}}`
)

// vectorRequest builds the doc's vector request, signed with signature sig, as the server receives it.
func vectorRequest(method, target, body, digest, headers, sig string) *http.Request {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Host = vectorHost
	req.Header.Set("v-c-merchant-id", vectorMerchant)
	req.Header.Set("Date", vectorDate)
	if digest != "" {
		req.Header.Set("Digest", digest)
	}
	req.Header.Set("Signature", `keyid="`+vectorKeyID+`", algorithm="HmacSHA256", headers="`+headers+`", signature="`+sig+`"`)
	return req
}

func TestSignatureTestVectorsFromTheProtocolDocVerify(t *testing.T) {
	t.Parallel()
	start, _ := http.ParseTime(vectorDate)
	sim := New(Options{MerchantID: vectorMerchant, KeyID: vectorKeyID, Secret: vectorSecret, Start: start})
	defer sim.Close()

	// The test's own signer (the SDK's algorithm) reproduces the doc's digest and signatures.
	sum := sha256.Sum256([]byte(vectorBody))
	digest := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
	if digest != "SHA-256=/hG5rT7D9/jq1p0kFy1Wl/eur0xFZM3La79rsBicGv8=" {
		t.Fatalf("digest = %s", digest)
	}
	post := httptest.NewRequest(http.MethodPost, "/pts/v2/payments", strings.NewReader(vectorBody))
	post.Host = vectorHost
	signHTTP(post, []byte(vectorBody), vectorMerchant, vectorKeyID, vectorSecret, start)
	if !strings.Contains(post.Header.Get("Signature"), `signature="jRL5fDo0VXTmyWObEGKg7sKw+HZERMBHNelMpDmc+ck="`) {
		t.Fatalf("test signer disagrees with the doc's vector: %s", post.Header.Get("Signature"))
	}

	cases := []struct {
		name, method, target, body, digest, headers, sig string
		wantStatus                                       int
	}{
		{"POST payment vector", http.MethodPost, "/pts/v2/payments", vectorBody, digest,
			"host date request-target digest v-c-merchant-id", "jRL5fDo0VXTmyWObEGKg7sKw+HZERMBHNelMpDmc+ck=",
			http.StatusBadRequest}, // authenticated; the vector's body lacks the card and billTo
		{"GET transaction vector", http.MethodGet, "/tss/v2/transactions/6510049442466278803211", "", "",
			"host date request-target v-c-merchant-id", "NCSBo1O+cYlVaTZnaVCSR7tol2M0N14wlhv4vT2ha78=",
			http.StatusNotFound}, // authenticated; no such transaction
		{"POST vector with a changed signature", http.MethodPost, "/pts/v2/payments", vectorBody, digest,
			"host date request-target digest v-c-merchant-id", "kRL5fDo0VXTmyWObEGKg7sKw+HZERMBHNelMpDmc+ck=",
			http.StatusUnauthorized},
	}
	for _, c := range cases {
		req := vectorRequest(c.method, c.target, c.body, c.digest, c.headers, c.sig)
		if err := sim.authenticate(req, []byte(c.body)); (err == nil) != (c.wantStatus != http.StatusUnauthorized) {
			t.Errorf("%s: authenticate = %v", c.name, err)
		}
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, vectorRequest(c.method, c.target, c.body, c.digest, c.headers, c.sig))
		if rec.Code != c.wantStatus {
			t.Errorf("%s: status %d, want %d: %s", c.name, rec.Code, c.wantStatus, rec.Body)
		}
	}
}

func TestHTTPSignatureVariantsAreAccepted(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	body := []byte(`{}`)
	sum := sha256.Sum256(body)
	digest := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
	key, _ := base64.StdEncoding.DecodeString(DefaultSecret)
	host := strings.TrimPrefix(b.http.URL, "http://")
	sign := func(s string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	now := time.Now().UTC()
	cases := []struct {
		name    string
		headers map[string]string
		sig     func() string
	}{
		{
			name:    "BoltApp/sleet: (request-target), RFC1123Z date, no spaces after commas",
			headers: map[string]string{"Date": now.Format(time.RFC1123Z)},
			sig: func() string {
				s := "host: " + host + "\ndate: " + now.Format(time.RFC1123Z) + "\n(request-target): post /tss/v2/searches\ndigest: " + digest + "\nv-c-merchant-id: " + DefaultMerchantID
				return `keyid="` + DefaultKeyID + `",algorithm="HmacSHA256",headers="host date (request-target) digest v-c-merchant-id",signature="` + sign(s) + `"`
			},
		},
		{
			name:    "v-c-date instead of date, kid= instead of keyid=",
			headers: map[string]string{"v-c-date": now.Format(http.TimeFormat)},
			sig: func() string {
				s := "host: " + host + "\nv-c-date: " + now.Format(http.TimeFormat) + "\nrequest-target: post /tss/v2/searches\ndigest: " + digest + "\nv-c-merchant-id: " + DefaultMerchantID
				return `kid="` + DefaultKeyID + `", algorithm="HmacSHA256", headers="host v-c-date request-target digest v-c-merchant-id", signature="` + sign(s) + `"`
			},
		},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(http.MethodPost, b.http.URL+"/tss/v2/searches", bytes.NewReader(body))
		req.Header.Set("v-c-merchant-id", DefaultMerchantID)
		req.Header.Set("Digest", digest)
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		req.Header.Set("Signature", c.sig())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// Authenticated, then refused for the missing query.
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d (%s): %s", c.name, resp.StatusCode, resp.Header.Get(AuthErrorHeader), raw)
		}
	}
}

func TestAuthenticationFailuresAnswer401(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	good := paymentReq("auth-1", "10.00", CardVisa)
	body := []byte(`{"query":"id:1"}`)
	type mutate func(req *http.Request)
	resign := func(merchant, keyID, secret string, at time.Time) mutate {
		return func(req *http.Request) { signHTTP(req, body, merchant, keyID, secret, at) }
	}
	cases := []struct {
		name   string
		mutate mutate
	}{
		{"no credentials", func(req *http.Request) {}},
		{"wrong secret", resign(DefaultMerchantID, DefaultKeyID, "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE=", time.Now())},
		{"unknown key id", resign(DefaultMerchantID, "other-key", DefaultSecret, time.Now())},
		{"other merchant", resign("someone_else", DefaultKeyID, DefaultSecret, time.Now())},
		{"date an hour old", resign(DefaultMerchantID, DefaultKeyID, DefaultSecret, time.Now().Add(-time.Hour))},
		{"body changed after signing", func(req *http.Request) {
			signHTTP(req, []byte(`{"query":"id:2"}`), DefaultMerchantID, DefaultKeyID, DefaultSecret, time.Now())
		}},
		{"host changed after signing", func(req *http.Request) {
			signHTTP(req, body, DefaultMerchantID, DefaultKeyID, DefaultSecret, time.Now())
			req.Host = "apitest.cybersource.com"
		}},
		{"digest not signed on a POST", func(req *http.Request) {
			signHTTP(req, body, DefaultMerchantID, DefaultKeyID, DefaultSecret, time.Now())
			sig := req.Header.Get("Signature")
			req.Header.Set("Signature", strings.Replace(sig, " digest", "", 1))
		}},
		{"jwt with the wrong secret", func(req *http.Request) {
			signJWT(t, req, body, DefaultMerchantID, DefaultKeyID, "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE=", time.Now())
		}},
		{"jwt for another path", func(req *http.Request) {
			other, _ := http.NewRequest(http.MethodPost, b.http.URL+"/pts/v2/payments", nil)
			signJWT(t, other, body, DefaultMerchantID, DefaultKeyID, DefaultSecret, time.Now())
			req.Header.Set("Authorization", other.Header.Get("Authorization"))
		}},
		{"jwt over another body", func(req *http.Request) {
			signJWT(t, req, []byte(`{}`), DefaultMerchantID, DefaultKeyID, DefaultSecret, time.Now())
		}},
		{"jwt issued an hour ago", func(req *http.Request) {
			signJWT(t, req, body, DefaultMerchantID, DefaultKeyID, DefaultSecret, time.Now().Add(-time.Hour))
		}},
		{"jwt with another kid", func(req *http.Request) {
			signJWT(t, req, body, DefaultMerchantID, "other-key", DefaultSecret, time.Now())
		}},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(http.MethodPost, b.http.URL+"/tss/v2/searches", bytes.NewReader(body))
		c.mutate(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || strings.TrimSpace(string(raw)) != `{"response":{"rmsg":"Authentication Failed"}}` {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, raw)
		}
		if resp.Header.Get(AuthErrorHeader) == "" {
			t.Errorf("%s: no %s header", c.name, AuthErrorHeader)
		}
	}
	if got := len(b.sim.State().Transactions); got != 0 {
		t.Fatalf("refused requests created %d transactions", got)
	}
	b.pay(t, good) // and the same server accepts a good signature
}

func TestJWTAuthenticationAcceptsSharedSecretTokens(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.auth = "jwt"
	r := b.pay(t, sale(paymentReq("jwt-1", "25.00", CardVisa)))
	b.must(t, http.StatusOK, http.MethodGet, "/tss/v2/transactions/"+r.str("id"), nil)
}

func TestSignatureDateIsCheckedAgainstTheSimulatorClockToo(t *testing.T) {
	t.Parallel()
	// A client whose clock follows the simulator's (here far in the future) is accepted.
	future := time.Now().Add(90 * 24 * time.Hour)
	b := setup(t, Options{Start: future})
	req, _ := http.NewRequest(http.MethodGet, b.http.URL+"/tss/v2/searches/none", nil)
	signHTTP(req, nil, DefaultMerchantID, DefaultKeyID, DefaultSecret, b.sim.Clock().Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d (%s), want 404", resp.StatusCode, resp.Header.Get(AuthErrorHeader))
	}
}
