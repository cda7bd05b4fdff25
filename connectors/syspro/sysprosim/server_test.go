package sysprosim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// testBundle is one simulator behind a real HTTP listener.
type testBundle struct {
	sim  *Server
	http *httptest.Server
}

func setup(t *testing.T, opts Options) *testBundle {
	t.Helper()
	if opts.Start.IsZero() {
		opts.Start = time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC)
	}
	sim := New(opts)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	return &testBundle{sim: sim, http: ts}
}

// get sends GET BasePath/method?k=v&... with the query string built by hand, as syspro.md §1.1 shows.
func (b *testBundle) get(t *testing.T, method string, kv ...string) string {
	t.Helper()
	var q []string
	for i := 0; i+1 < len(kv); i += 2 {
		q = append(q, kv[i]+"="+url.QueryEscape(kv[i+1]))
	}
	resp, err := http.Get(b.http.URL + BasePath + "/" + method + "?" + strings.Join(q, "&"))
	if err != nil {
		t.Fatalf("GET %s: %v", method, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", method, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Fatalf("GET %s: content type %q", method, ct)
	}
	return string(body)
}

func (b *testBundle) logon(t *testing.T) string {
	t.Helper()
	id := b.get(t, "Logon", "Operator", "ADMIN", "OperatorPassword", "admin", "CompanyId", "EDU1", "CompanyPassword", "")
	if strings.HasPrefix(id, "ERROR") {
		t.Fatalf("logon: %s", id)
	}
	return id
}

func (b *testBundle) post(t *testing.T, user, bo, params, doc string) string {
	t.Helper()
	return b.get(t, "Transaction/Post", "UserId", user, "BusinessObject", bo, "XmlParameters", params, "XmlIn", doc)
}

func (b *testBundle) query(t *testing.T, user, bo, doc string) string {
	t.Helper()
	return b.get(t, "Query/Query", "UserId", user, "BusinessObject", bo, "XmlIn", doc)
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Fatalf("response lacks %q:\n%s", w, body)
		}
	}
}

var sessionIDPattern = regexp.MustCompile(`^[0-9A-F]{34}  $`)

func TestLogonReturnsSessionIDShapedLikeSyspro7(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.logon(t)
	if !sessionIDPattern.MatchString(id) {
		t.Fatalf("session id %q is not 34 upper-case hex + 2 spaces", id)
	}
	profile := b.get(t, "getlogonprofile", "UserId", strings.TrimSpace(id))
	mustContain(t, profile, `encoding="Windows-1252"`, "<OperatorCode>ADMIN</OperatorCode>", "<CompanyName>")
	if got := b.get(t, "LOGOFF", "UserId", id); got != "0" {
		t.Fatalf("logoff = %q", got)
	}
	if got := b.get(t, "Logoff", "UserId", id); !strings.HasPrefix(got, "ERROR: ") {
		t.Fatalf("second logoff = %q, want ERROR", got)
	}
}

func TestLogonRejectsBadCredentials(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	cases := []struct{ name, op, pw, co, want string }{
		{"bad operator password", "ADMIN", "wrong", "EDU1", "ERROR: Invalid operator password"},
		{"unknown operator", "NOBODY", "admin", "EDU1", "ERROR: Operator 'NOBODY' not found"},
		{"unknown company", "ADMIN", "admin", "ZZZ", "ERROR: Company 'ZZZ' not found"},
	}
	for _, c := range cases {
		got := b.get(t, "Logon", "Operator", c.op, "OperatorPassword", c.pw, "CompanyId", c.co, "CompanyPassword", "")
		if got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestSecondLogonOfSameOperatorEvictsFirst(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	first := b.logon(t)
	second := b.logon(t)
	inv := `<Query><Key><StockCode>A100</StockCode></Key></Query>`
	if got := b.query(t, first, "INVQRY", inv); got != "ERROR: "+ErrTextSessionInvalid {
		t.Fatalf("evicted session got %q", got)
	}
	mustContain(t, b.query(t, second, "INVQRY", inv), "<StockCode>A100</StockCode>")

	wide := setup(t, Options{SeatsPerOperator: 2})
	a, c := wide.logon(t), wide.logon(t)
	mustContain(t, wide.query(t, a, "INVQRY", inv), "<InvQuery")
	mustContain(t, wide.query(t, c, "INVQRY", inv), "<InvQuery")
	wide.logon(t)
	if got := wide.query(t, a, "INVQRY", inv); !strings.HasPrefix(got, "ERROR: ") {
		t.Fatalf("oldest of 2 seats not evicted by a third logon: %q", got)
	}
}

func TestIdleSessionExpires(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{IdleTimeout: time.Minute})
	id := b.logon(t)
	resp, err := http.Post(b.http.URL+"/_sim/clock", "application/json", strings.NewReader(`{"advance":"2m"}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("advance clock: %v %v", err, resp)
	}
	resp.Body.Close()
	if got := b.query(t, id, "INVQRY", `<Query><Key><StockCode>A100</StockCode></Key></Query>`); !strings.HasPrefix(got, "ERROR: ") {
		t.Fatalf("idle session still valid: %q", got)
	}
}

func TestUnknownBusinessObjectRaisesException100000(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.logon(t)
	if got := b.post(t, id, "ARSPAY", "<X/>", "<X/>"); got != ErrTextUnknownBusinessObject {
		t.Fatalf("ARSPAY = %q", got)
	}
	if got := b.post(t, id, "GENTJN", "<X/>", "<X/>"); got != ErrTextUnknownBusinessObject {
		t.Fatalf("GENTJN = %q", got)
	}
}

func TestInvqryReportsAvailableQtyPadded(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.logon(t)
	got := b.query(t, id, "INVQRY", `<Query><Key><StockCode>A100</StockCode></Key><Filter><Warehouse FilterType="L" FilterValue="WEB"/></Filter></Query>`)
	mustContain(t, got, "<Warehouse>WEB</Warehouse>", "<AvailableQty>           20.000000</AvailableQty>", "<Edited_AvailableQty>20.000</Edited_AvailableQty>")
	if strings.Contains(got, "<Warehouse>FG</Warehouse>") {
		t.Fatalf("warehouse filter ignored:\n%s", got)
	}
}

func TestStateAndFaultsControlRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	resp, err := http.Get(b.http.URL + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(snap.Customers) == 0 || len(snap.Stock) == 0 || len(snap.LedgerCodes) == 0 || len(snap.OpenPeriods) != 2 {
		t.Fatalf("default seed missing from state: %+v", snap)
	}
	resp, err = http.Post(b.http.URL+"/_sim/faults", "application/json", strings.NewReader(`{"errorRate":2}`))
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("out-of-range rate accepted: %v %v", err, resp.Status)
	}
	resp.Body.Close()
}

func TestSeedControlRouteAddsStockAndRefusesHalfItems(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	post := func(body string) int {
		t.Helper()
		resp, err := http.Post(b.http.URL+"/_sim/seed", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, bad := range []string{`{"stock":[{"stockCode":"X1"}]}`, `{"stock":[{"stockCode":"","warehouses":[{"warehouse":"FG"}]}]}`, `{"stok":[]}`, `nope`} {
		if code := post(bad); code != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d, want 400", bad, code)
		}
	}
	if code := post(`{"stock":[{"stockCode":"NOSUCH1","description":"Now it exists","stockUom":"EA","sellingPrice":"5.00",
		"warehouses":[{"warehouse":"FG","qtyOnHand":"10","qtyAllocated":"0"}]}]}`); code != http.StatusOK {
		t.Fatalf("seed: HTTP %d", code)
	}
	snap := b.sim.State()
	if !slices.ContainsFunc(snap.Stock, func(s StockItem) bool { return s.StockCode == "NOSUCH1" && s.Description == "Now it exists" }) {
		t.Fatalf("NOSUCH1 not in the stock after /_sim/seed: %+v", snap.Stock)
	}
}
