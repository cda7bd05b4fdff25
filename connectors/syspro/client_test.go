package syspro

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testPassword = "s3cret-operator-pw"

// fakeSyspro answers like the SYSPRO REST service: HTTP 200 for business errors, Windows-1252 XML.
type fakeSyspro struct {
	mu       sync.Mutex
	logons   int
	logoffs  int
	live     map[string]bool
	inFlight int32
	maxIn    int32
	// handle answers business-object calls; nil means an empty success.
	handle func(path, bo string, q map[string][]string) (status int, body string)
}

func newFake(t *testing.T) (*fakeSyspro, *httptest.Server) {
	t.Helper()
	f := &fakeSyspro{live: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeSyspro) serve(w http.ResponseWriter, r *http.Request) {
	n := atomic.AddInt32(&f.inFlight, 1)
	defer atomic.AddInt32(&f.inFlight, -1)
	for {
		m := atomic.LoadInt32(&f.maxIn)
		if n <= m || atomic.CompareAndSwapInt32(&f.maxIn, m, n) {
			break
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	path := strings.TrimPrefix(strings.ToLower(r.URL.Path), "/sysprowcfservice/rest/")
	q := r.URL.Query()
	f.mu.Lock()
	switch path {
	case "logon":
		if q.Get("OperatorPassword") != testPassword {
			f.mu.Unlock()
			fmt.Fprint(w, "ERROR: Invalid operator password")
			return
		}
		f.logons++
		id := fmt.Sprintf("%034X  ", f.logons)
		f.live[strings.TrimSpace(id)] = true
		f.mu.Unlock()
		fmt.Fprint(w, id)
		return
	case "logoff":
		f.logoffs++
		delete(f.live, q.Get("UserId"))
		f.mu.Unlock()
		fmt.Fprint(w, "0")
		return
	}
	live := f.live[q.Get("UserId")]
	handle := f.handle
	f.mu.Unlock()
	if !live {
		fmt.Fprint(w, "ERROR: Session expired")
		return
	}
	status, body := http.StatusOK, `<?xml version="1.0" encoding="Windows-1252"?>`+"\n<x><StatusOfItems><ItemsProcessed>000001</ItemsProcessed><ItemsInvalid>000000</ItemsInvalid></StatusOfItems></x>\n "
	if handle != nil {
		status, body = handle(path, q.Get("BusinessObject"), q)
	}
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

func (f *fakeSyspro) expireAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live = map[string]bool{}
}

func newTestClient(t *testing.T, srv *httptest.Server, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: srv.URL + "/SYSPROWCFService/Rest", Operator: "ADMIN", OperatorPassword: testPassword, CompanyID: "EDU1"}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

const xmlDecl = `<?xml version="1.0" encoding="Windows-1252"?>` + "\n"

func order() SalesOrder {
	return SalesOrder{CustomerPoNumber: "#BBQ1001", Customer: "WEBS01", Lines: []SalesOrderLine{{StockCode: "B100", Quantity: dec("1"), Uom: "EA", Price: dec("8")}}}
}

func TestPostSalesOrderFindsFirstAndNeverAddsTwice(t *testing.T) {
	t.Parallel()
	f, srv := newFake(t)
	var mu sync.Mutex
	var posted []string
	f.handle = func(path, bo string, q map[string][]string) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		switch bo {
		case BusinessObjectCOMFND:
			if !strings.Contains(q["XmlIn"][0], "<Value>#BBQ1001</Value>") {
				return 200, "ERROR: bad finder"
			}
			rows := ""
			if len(posted) > 0 {
				rows = "<Row><SalesOrder>000895</SalesOrder><Customer>WEBS01</Customer><CustomerPoNumber>#BBQ1001</CustomerPoNumber><OrderStatus>1</OrderStatus></Row>"
			}
			return 200, xmlDecl + "<SorMaster Language='05'><HeaderDetails/>" + rows + "<RowsReturned>       " + fmt.Sprint(len(posted)) + "</RowsReturned></SorMaster>\n "
		case BusinessObjectSORTOI:
			posted = append(posted, q["XmlIn"][0])
			// A clean SYSPRO 8 success can return only StatusOfItems.
			return 200, xmlDecl + "<SalesOrders><StatusOfItems><ItemsProcessed>000001</ItemsProcessed><ItemsInvalid>000000</ItemsInvalid></StatusOfItems></SalesOrders>\n "
		}
		return 404, ""
	}
	c := newTestClient(t, srv, nil)
	ctx := context.Background()

	first, err := c.PostSalesOrder(ctx, order(), SalesOrderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first.SalesOrder != "000895" || first.Existing {
		t.Errorf("first = %+v", first)
	}
	second, err := c.PostSalesOrder(ctx, order(), SalesOrderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if second.SalesOrder != "000895" || !second.Existing {
		t.Errorf("second = %+v", second)
	}
	if len(posted) != 1 {
		t.Errorf("SORTOI posted %d times, want 1", len(posted))
	}
}

func TestErrorsAreClassifiedOnce(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		handler func(path, bo string, q map[string][]string) (int, string)
		check   func(error) bool
		want    string
	}{
		{"element error is business with SYSPRO's number", func(string, string, map[string][]string) (int, string) {
			return 200, xmlDecl + "<SalesOrders><Order><SalesOrder/><StockCode><Value>B100</Value><ErrorNumber>240004</ErrorNumber><ErrorDescription>Stock code 'B100' not found</ErrorDescription></StockCode></Order><StatusOfItems><ItemsProcessed>000000</ItemsProcessed><ItemsInvalid>000001</ItemsInvalid></StatusOfItems></SalesOrders>\n "
		}, IsBusiness, "syspro: SORTOI: 240004 Stock code 'B100' not found"},
		{"unlicensed business object is configuration", func(string, string, map[string][]string) (int, string) {
			return 200, "ERROR: e.net exception raised: 100000"
		}, IsConfiguration, "syspro: SORTOI: 100000 e.net exception raised: 100000"},
		{"5xx is transient", func(string, string, map[string][]string) (int, string) {
			return 503, "Service Unavailable"
		}, IsTransient, "syspro: SORTOI: HTTP 503 Service Unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, srv := newFake(t)
			f.handle = tc.handler
			c := newTestClient(t, srv, nil)
			_, err := c.AddSalesOrder(context.Background(), order(), SalesOrderOptions{})
			if !tc.check(err) {
				t.Fatalf("err = %v, wrong class", err)
			}
			if err.Error() != tc.want {
				t.Errorf("err = %q, want %q", err, tc.want)
			}
		})
	}
}

func TestBadOperatorPasswordIsConfigurationAndNotLeaked(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t)
	c := newTestClient(t, srv, func(cfg *Config) { cfg.OperatorPassword = "wrong-pw-xyz" })
	_, err := c.GetLogonProfile(context.Background())
	if !IsConfiguration(err) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "wrong-pw-xyz") {
		t.Errorf("password leaked: %v", err)
	}
}

func TestTimeoutIsTransientAndURLIsRedacted(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	t.Cleanup(func() { close(block); srv.Close() })
	c := newTestClient(t, srv, func(cfg *Config) { cfg.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond} })
	_, err := c.GetLogonProfile(context.Background())
	if !IsTransient(err) {
		t.Fatalf("err = %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, testPassword) || strings.Contains(msg, "OperatorPassword") || strings.Contains(msg, "?") {
		t.Errorf("error leaks the logon URL: %v", msg)
	}
}

func TestSessionRejectedLogsOnAgainOnce(t *testing.T) {
	t.Parallel()
	f, srv := newFake(t)
	c := newTestClient(t, srv, nil)
	ctx := context.Background()
	if _, err := c.Query(ctx, "INVQRY", "<Query/>"); err != nil {
		t.Fatal(err)
	}
	f.expireAll()
	if _, err := c.Query(ctx, "INVQRY", "<Query/>"); err != nil {
		t.Fatalf("retry after re-logon failed: %v", err)
	}
	f.mu.Lock()
	logons := f.logons
	f.mu.Unlock()
	if logons != 2 {
		t.Errorf("logons = %d, want 2", logons)
	}
}

func TestPoolHoldsAtMostSeatsAndLogsOffOnClose(t *testing.T) {
	t.Parallel()
	f, srv := newFake(t)
	f.handle = func(string, string, map[string][]string) (int, string) {
		time.Sleep(10 * time.Millisecond)
		return 200, xmlDecl + "<InvQuery/>"
	}
	c, err := New(Config{BaseURL: srv.URL + "/SYSPROWCFService/Rest", Operator: "ADMIN", OperatorPassword: testPassword, Seats: 2})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := c.Query(context.Background(), "INVQRY", "<Query/>"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := c.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.logons != 2 || f.logoffs != 2 || len(f.live) != 0 {
		t.Errorf("logons=%d logoffs=%d live=%d, want 2/2/0", f.logons, f.logoffs, len(f.live))
	}
	if m := atomic.LoadInt32(&f.maxIn); m > 2 {
		t.Errorf("max concurrent requests = %d, want <= 2", m)
	}
	if _, err := c.Query(context.Background(), "INVQRY", "<Query/>"); err != ErrClosed {
		t.Errorf("after Close err = %v, want ErrClosed", err)
	}
}

func TestConfigStringHidesPasswords(t *testing.T) {
	t.Parallel()
	s := fmt.Sprint(Config{BaseURL: "https://erp/Rest", Operator: "A", OperatorPassword: "pw1", CompanyPassword: "pw2"})
	if strings.Contains(s, "pw1") || strings.Contains(s, "pw2") {
		t.Errorf("Config.String leaks: %s", s)
	}
}
