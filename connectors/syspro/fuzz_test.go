package syspro

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParseResponse checks that no body, however malformed, makes the parser panic.
func FuzzParseResponse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "recordings", "*.txt"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`"<a><b>1</b></a>"`))
	f.Add([]byte(`<string>&lt;a/&gt;</string>`))
	f.Add([]byte("ERROR"))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := ParseResponse(body)
		if err == nil && resp.Root == nil {
			t.Fatal("nil root without error")
		}
		_, _ = parseCallBody(opTransactionPost, "SORTOI", body)
		if resp != nil {
			_ = resp.Status.Invalid()
			_, _ = parseStockItem(resp)
			_ = parseSalesOrderDetail(resp)
			_ = parseCustomerAccount(resp)
			_ = parseArPaymentResult(resp)
			_ = parseSalesOrderRefs(resp)
		}
	})
}

// TestParseResponseIsLinearInTextFragments guards against quadratic text assembly when a body
// splits one element's text with many comments.
func TestParseResponseIsLinearInTextFragments(t *testing.T) {
	t.Parallel()
	body := "<a>" + strings.Repeat("x<!---->", 200_000) + "</a>"
	start := time.Now()
	resp, err := ParseResponse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Root.Text) != 200_000 {
		t.Fatalf("text length %d", len(resp.Root.Text))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}
