package opayo

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/shopspring/decimal"
)

const (
	testKey      = "payhub-test-integration-key-7Qx"
	testPassword = "payhub-test-integration-password-9Zr"
	testVendor   = "sandbox"
	testRepUser  = "reporter"
	testRepPass  = "rep-Pa55word"
	testPAN      = "4929000000006"
	testCVV      = "123"
)

// recorded is one request a fake server saw.
type recorded struct {
	Method string
	Path   string
	// RawPath is the path as escaped on the wire.
	RawPath string
	Header  http.Header
	Body    []byte
}

// fake is an httptest server that records requests and answers with a handler.
type fake struct {
	mu   sync.Mutex
	reqs []recorded
	srv  *httptest.Server
}

func newFake(t *testing.T, answer func(r recorded) (int, string)) *fake {
	t.Helper()
	f := &fake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec := recorded{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: b}
		f.mu.Lock()
		f.reqs = append(f.reqs, rec)
		f.mu.Unlock()
		status, body := answer(rec)
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// piClient returns a Client whose Pi, Reporting and gateway URLs all point at f.
func piClient(t *testing.T, f *fake) *Client {
	t.Helper()
	c, err := New(Config{
		PiURL: f.srv.URL + "/api/v1", IntegrationKey: testKey, IntegrationPassword: testPassword, Vendor: testVendor,
		ReportingURL: f.srv.URL + "/access/access.htm", ReportingUser: testRepUser, ReportingPassword: testRepPass,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readTestdata(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var jsonBlock = regexp.MustCompile("(?s)```JSON\\s*\\n(.*?)\\n```")

// jsonBlocks returns the ```JSON fenced blocks of a published Opayo page, byte for byte.
func jsonBlocks(t testing.TB, parts ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, m := range jsonBlock.FindAllSubmatch(readTestdata(t, parts...), -1) {
		if json.Valid(m[1]) {
			out = append(out, m[1])
		}
	}
	if len(out) == 0 {
		t.Fatalf("no JSON blocks in %v", parts)
	}
	return out
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("request body is not JSON: %v", err)
	}
	return m
}

func mustDecimal(s string) decimal.Decimal { return decimal.RequireFromString(s) }
