package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

// The page and every file it names are served, with the headers the page relies on; nothing
// else is.
func TestTheDashboardAndEveryFileItNamesAreServed(t *testing.T) {
	h := Handler()
	resp := get(t, h, http.MethodGet, "/")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp.Header.Get("Content-Security-Policy") != ContentSecurityPolicy || resp.Header.Get("Cache-Control") != "no-cache" ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET / headers: %v", resp.Header)
	}
	refs := regexp.MustCompile(`(?:src|href)="\.?/?(assets/[^"]+)"`).FindAllStringSubmatch(string(body), -1)
	if strings.Contains(string(body), "assets/") && len(refs) == 0 {
		t.Fatalf("index.html names assets in a form this test does not read:\n%s", body)
	}
	for _, ref := range refs {
		r := get(t, h, http.MethodGet, "/"+ref[1])
		if r.StatusCode != http.StatusOK || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("GET /%s: %d, Cache-Control %q", ref[1], r.StatusCode, r.Header.Get("Cache-Control"))
		}
		if strings.HasSuffix(ref[1], ".js") && !strings.Contains(r.Header.Get("Content-Type"), "javascript") {
			t.Errorf("GET /%s: Content-Type %q", ref[1], r.Header.Get("Content-Type"))
		}
		if strings.Contains(ref[1], "//") || strings.Contains(ref[1], "http") {
			t.Errorf("index.html names a file off the hub: %s", ref[1])
		}
	}
	if strings.Contains(string(body), "://") && regexp.MustCompile(`(?:src|href)="https?://`).Match(body) {
		t.Errorf("index.html loads something from another site:\n%s", body)
	}
	for _, path := range []string{"/nope", "/assets/nope.js", "/../web.go", "/web.go", "/assets/../index.html.bak"} {
		if r := get(t, h, http.MethodGet, path); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.StatusCode)
		}
	}
	if r := get(t, h, http.MethodHead, "/"); r.StatusCode != http.StatusOK {
		t.Errorf("HEAD /: %d", r.StatusCode)
	}
	if r := get(t, h, http.MethodPost, "/"); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", r.StatusCode)
	}
	// A route the hub does not have (say, the webhooks of a gateway it is not configured for).
	if r := get(t, h, http.MethodPost, "/webhooks/opayo"); r.StatusCode != http.StatusNotFound {
		t.Errorf("POST /webhooks/opayo: %d, want 404", r.StatusCode)
	}
}
