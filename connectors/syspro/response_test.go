package syspro

import (
	"os"
	"path/filepath"
	"testing"
)

func recording(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "recordings", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseResponseReadsRealRecordings parses bodies captured from a live SYSPRO 7 server.
func TestParseResponseReadsRealRecordings(t *testing.T) {
	t.Parallel()

	t.Run("lower-cased setup output carries element error 240004", func(t *testing.T) {
		t.Parallel()
		_, err := parseCallBody(opSetupAdd, "INVSWS", recording(t, "invsws_errors-2-setup_add.response.txt"))
		if !IsBusiness(err) {
			t.Fatalf("err = %v, want business", err)
		}
		if got, want := err.Error(), "syspro: INVSWS: 240004 Stock code '1004' not found"; got != want {
			t.Errorf("err = %q, want %q", got, want)
		}
	})

	t.Run("setup success counts records", func(t *testing.T) {
		t.Parallel()
		resp, err := parseCallBody(opSetupAdd, "COMSFM", recording(t, "comsfm-2-setup_add.response.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status.Count("recordsread") != 1 || resp.Status.Invalid() != 0 {
			t.Errorf("status = %v", resp.Status)
		}
		if resp.Root.Find("KEY").Value("FormType") != "POR" {
			t.Errorf("case-insensitive lookup failed")
		}
	})

	t.Run("transaction output without StatusOfItems", func(t *testing.T) {
		t.Parallel()
		resp, err := parseCallBody(opTransactionPost, "PORTOR", recording(t, "portor-2-transaction_post.response.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Root.Find("Key").Value("Grn") != "P00013151" || resp.Root.Find("Item").Int("ItemNumber") != 1 {
			t.Errorf("unexpected parse of %v", resp.Root.Name)
		}
	})

	t.Run("COMFND padded RowsReturned", func(t *testing.T) {
		t.Parallel()
		resp, err := ParseResponse(recording(t, "query_query-2-query_query.response.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Root.Int("RowsReturned") != 1 || resp.Root.Child("Row").Value("StockCode") != "02" {
			t.Errorf("rows not parsed")
		}
	})

	t.Run("SORQRY header with namespaced lookups", func(t *testing.T) {
		t.Parallel()
		resp, err := ParseResponse(recording(t, "sor_query-2-query_query.response.txt"))
		if err != nil {
			t.Fatal(err)
		}
		d := parseSalesOrderDetail(resp)
		if d.SalesOrder != "16R069" || d.Customer != "SYM000" || d.OrderStatus != OrderStatusCancelledDuringEntry || !d.OrderStatus.Cancelled() {
			t.Errorf("detail = %+v", d)
		}
	})

	t.Run("INVQRY padded quantities", func(t *testing.T) {
		t.Parallel()
		resp, err := ParseResponse(recording(t, "int_query-2-query_query.response.txt"))
		if err != nil {
			t.Fatal(err)
		}
		item, err := parseStockItem(resp)
		if err != nil {
			t.Fatal(err)
		}
		if item.StockCode != "1003" || len(item.Warehouses) == 0 {
			t.Fatalf("item = %+v", item)
		}
		w := item.Warehouses[0]
		if w.Warehouse != "P0" || !w.AvailableQty.Equal(dec("747.8")) || !w.QtyOnOrder.Equal(dec("806.73")) {
			t.Errorf("warehouse = %+v", w)
		}
	})

	t.Run("operator password error is configuration", func(t *testing.T) {
		t.Parallel()
		err := classifyText(opLogon, "", string(recording(t, "logon_error-1-logon.response.txt")))
		if !IsConfiguration(err) || err.Message != "Invalid operator password" {
			t.Errorf("err = %v (%v)", err, err.Class)
		}
	})

	t.Run("logon id is trimmed", func(t *testing.T) {
		t.Parallel()
		if got := trimSessionID(recording(t, "logon-1-logon.response.txt")); got != "3EA613166FE4BF47925DF1CEA14E910100" {
			t.Errorf("id = %q", got)
		}
	})
}

// TestParseResponseSorToiWarnings uses SYSPRO's published SORTOI output sample (syspro.md §3.1).
func TestParseResponseSorToiWarnings(t *testing.T) {
	t.Parallel()
	body := `<?xml version="1.0" encoding="Windows-1252"?>
<SalesOrders Language="05" CssStyle="" DecFormat="2" DateFormat="01" Version="6.0.007">
 <Order><CustomerPoNumber>BAY001-A</CustomerPoNumber><SalesOrder>002196</SalesOrder><OrderActionType>A</OrderActionType>
  <BackOrderComment>One or more lines have been placed on back order for sales order '002196'</BackOrderComment>
  <WarningMessages><WarningDescription>Line 0001 for stock code 'B100' was placed on back order</WarningDescription></WarningMessages></Order>
 <StatusOfItems><ItemsProcessed>000001</ItemsProcessed><ItemsRejectedWithWarnings>000000</ItemsRejectedWithWarnings></StatusOfItems>
</SalesOrders>
 `
	resp, err := parseCallBody(opTransactionPost, BusinessObjectSORTOI, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	res := salesOrderResult("BAY001-A", resp)
	if res.SalesOrder != "002196" || len(res.Warnings) != 1 || res.Status.Count("ItemsProcessed") != 1 {
		t.Errorf("result = %+v", res)
	}
}

// TestParseResponseDecodesWindows1252 checks a byte that differs between Windows-1252 and UTF-8.
func TestParseResponseDecodesWindows1252(t *testing.T) {
	t.Parallel()
	body := []byte("<?xml version=\"1.0\" encoding=\"Windows-1252\"?>\n<a><Name>Caf\xe9 \x80</Name></a>\n ")
	resp, err := ParseResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Root.Value("name"); got != "Café €" {
		t.Errorf("name = %q", got)
	}
}

func TestClassifyText(t *testing.T) {
	t.Parallel()
	cases := []struct {
		op, text string
		class    Class
		number   int
		session  bool
	}{
		{opLogon, "ERROR: Invalid operator password", ClassConfiguration, 0, false},
		{opQuery, "ERROR: e.net exception raised: 100000", ClassConfiguration, 100000, false},
		{opLogoff, "ERROR: Unable to read the SYSPRO base directory registry string BaseDir8", ClassTransient, 0, false},
		{opTransactionPost, "ERROR: Session expired", ClassTransient, 0, true},
		{opQuery, "ERROR: Invalid UserId", ClassTransient, 0, true},
		{opTransactionPost, "ERROR: 240004 Stock code 'B100' not found", ClassBusiness, 240004, false},
	}
	for _, tc := range cases {
		e := classifyText(tc.op, "", tc.text)
		if e.Class != tc.class || e.Number != tc.number || e.session != tc.session {
			t.Errorf("%q: got class %v number %d session %v", tc.text, e.Class, e.Number, e.session)
		}
	}
}

// TestCustomerAccountReadsEitherNameSpelling covers the ARSQRY leaf names no capture confirms: the
// name as CustomerName (the query spelling the simulator uses) or Name (the ARSSCS spelling), and
// leaves inside a section that shares their name.
func TestCustomerAccountReadsEitherNameSpelling(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
	}{
		{"query spelling", "<ARStatement><Header><Customer>C1</Customer><CustomerName>Acme</CustomerName><CreditLimit>  500.00</CreditLimit><CustomerOnHold>Y</CustomerOnHold></Header></ARStatement>"},
		{"setup spelling", "<ARStatement><Header><Customer>C1</Customer><Name>Acme</Name><CreditLimit>500.00</CreditLimit><CustomerOnHold>Y</CustomerOnHold></Header></ARStatement>"},
		{"section named like its leaf", "<ARStatement><SystemInformation/><Customer><Customer> C1 </Customer><Name>Acme</Name><CreditLimit>500</CreditLimit><CustomerOnHold>Y</CustomerOnHold></Customer></ARStatement>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := ParseResponse([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			acc := parseCustomerAccount(resp)
			if acc.Customer != "C1" || acc.Name != "Acme" || !acc.OnHold || !acc.CreditLimit.Equal(dec("500")) {
				t.Errorf("account = %+v", acc)
			}
		})
	}
}
