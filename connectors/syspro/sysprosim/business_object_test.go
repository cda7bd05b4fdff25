package sysprosim

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

const sortoiParams = `<SalesOrders><Parameters><Process>Import</Process><IgnoreWarnings>W</IgnoreWarnings>` +
	`<AllocationAction>A</AllocationAction><OrderStatus>1</OrderStatus></Parameters></SalesOrders>`

func sortoiDoc(po, customer, stock, qty, price string) string {
	return `<SalesOrders><Orders><OrderHeader><CustomerPoNumber>` + po + `</CustomerPoNumber><OrderActionType>A</OrderActionType>` +
		`<Customer>` + customer + `</Customer><OrderDate>2026-04-01</OrderDate><Telephone>ignored</Telephone></OrderHeader>` +
		`<OrderDetails><StockLine><CustomerPoLine>0001</CustomerPoLine><LineActionType>A</LineActionType>` +
		`<StockCode>` + stock + `</StockCode><Warehouse>FG</Warehouse><OrderQty>` + qty + `</OrderQty><OrderUom>EA</OrderUom>` +
		`<Price>` + price + `</Price><PriceUom>EA</PriceUom></StockLine></OrderDetails></Orders></SalesOrders>`
}

var salesOrderNumber = regexp.MustCompile(`<SalesOrder>(\d{6})</SalesOrder>`)

func TestSortoiAddsOrderAndAllocatesStock(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.logon(t)
	got := b.post(t, id, "SORTOI", sortoiParams, sortoiDoc("#WEB1001", "000001", "B100", "10", "8.00"))
	mustContain(t, got, "<SalesOrders Language='05'", "<CustomerPoNumber>#WEB1001</CustomerPoNumber>",
		"<ItemsProcessed>000001</ItemsProcessed>", "<ItemsInvalid>000000</ItemsInvalid>\n</StatusOfItems>\n</SalesOrders>\n ")
	m := salesOrderNumber.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("no sales order number:\n%s", got)
	}
	snap := b.sim.State()
	if len(snap.SalesOrders) != 1 || snap.SalesOrders[0].SalesOrder != m[1] || snap.SalesOrders[0].CustomerPoNumber != "#WEB1001" ||
		snap.SalesOrders[0].OrderStatus != "1" {
		t.Fatalf("state orders = %+v", snap.SalesOrders)
	}
	for _, it := range snap.Stock {
		if it.StockCode == "B100" && !it.Warehouses[0].QtyAllocated.Equal(decimal.NewFromInt(10)) {
			t.Fatalf("B100 allocated = %s, want 10", it.Warehouses[0].QtyAllocated)
		}
	}

	// Short stock without AllocationAction goes on back order with a warning.
	got = b.post(t, id, "SORTOI", `<SalesOrders><Parameters><Process>Import</Process></Parameters></SalesOrders>`,
		sortoiDoc("#WEB1002", "000001", "C200", "5", "120.00"))
	mustContain(t, got, "<BackOrderComment>", "was placed on back order", "<ItemsRejectedWithWarnings>000001</ItemsRejectedWithWarnings>")
}

func TestSortoiRejectsUnknownStockCodeWith240004(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.logon(t)
	got := b.post(t, id, "SORTOI", sortoiParams, sortoiDoc("#WEB2001", "000001", "NOPE", "1", "8.00"))
	mustContain(t, got, "<SalesOrder/>", "<ErrorNumber>240004</ErrorNumber>",
		"<ErrorDescription>Stock code 'NOPE' not found</ErrorDescription>", "<ItemsInvalid>000001</ItemsInvalid>")
	got = b.post(t, id, "SORTOI", sortoiParams, sortoiDoc("#WEB2002", "NOCUST", "B100", "1", "8.123"))
	mustContain(t, got, "Customer 'NOCUST' not found", "Price '8.123' is not numeric")
	if n := len(b.sim.State().SalesOrders); n != 0 {
		t.Fatalf("invalid orders stored: %d", n)
	}
}

func TestSortoiValidateNeverCommits(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.logon(t)
	for _, params := range []string{
		`<SalesOrders><Parameters><Process>Validate</Process></Parameters></SalesOrders>`,
		`<SalesOrders><Parameters><Process>Import</Process><ValidateOnly>Y</ValidateOnly></Parameters></SalesOrders>`,
	} {
		got := b.post(t, id, "SORTOI", params, sortoiDoc("#V1", "000001", "B100", "1", "8.00"))
		mustContain(t, got, "<SalesOrder/>", "<ItemsProcessed>000001</ItemsProcessed>")
	}
	if n := len(b.sim.State().SalesOrders); n != 0 {
		t.Fatalf("dry run stored %d orders", n)
	}
}

func TestOrderFoundByCustomerPoNumberThenQueriedAndCompleted(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.logon(t)
	number := salesOrderNumber.FindStringSubmatch(b.post(t, id, "SORTOI", sortoiParams, sortoiDoc("#FIND1", "000002", "A100", "2", "49.99")))[1]

	find := `<Query><TableName>SorMaster</TableName><ReturnRows>5</ReturnRows><Columns><Column>SalesOrder</Column>` +
		`<Column>OrderStatus</Column></Columns><Where><Expression><OpenBracket>(</OpenBracket><AndOr>And</AndOr>` +
		`<Column>CustomerPoNumber</Column><Condition>EQ</Condition><Value>#FIND1</Value><CloseBracket>)</CloseBracket></Expression>` +
		`<Expression><OpenBracket>(</OpenBracket><AndOr>And</AndOr><Column>Customer</Column><Condition>EQ</Condition>` +
		`<Value>000002</Value><CloseBracket>)</CloseBracket></Expression></Where></Query>`
	mustContain(t, b.query(t, id, "COMFND", find), "<Row>\n<SalesOrder>"+number+"</SalesOrder>", "<RowsReturned>       1</RowsReturned>")
	mustContain(t, b.query(t, id, "COMFND", strings.Replace(find, "#FIND1", "#NONE", 1)), "<RowsReturned>       0</RowsReturned>")

	got := b.query(t, id, "SORQRY", `<Query><Key><SalesOrder>`+number+`</SalesOrder></Key><Option><IncludeStockedLines>Y</IncludeStockedLines></Option></Query>`)
	mustContain(t, got, "<SorDetail ", "<CustomerPoNumber>#FIND1</CustomerPoNumber>", "<OrderStatus>1</OrderStatus>", "<StockCode>A100</StockCode>")

	status := func(newStatus string) string {
		return b.post(t, id, "SORTOS", `<PostSorOrderStatus><Parameters><ValidateOnly>N</ValidateOnly></Parameters></PostSorOrderStatus>`,
			`<PostSorOrderStatus><Item><SalesOrder>`+number+`</SalesOrder><NewOrderStatus>`+newStatus+`</NewOrderStatus></Item></PostSorOrderStatus>`)
	}
	mustContain(t, status("9"), "<postsororderstatus ", "<NewOrderStatus>9</NewOrderStatus>", "<ItemsProcessed>000001</ItemsProcessed>")
	mustContain(t, status(`\`), "status can only be changed", "<ItemsInvalid>000001</ItemsInvalid>")
	snap := b.sim.State()
	if snap.SalesOrders[0].Invoice == "" || len(snap.ArInvoices) != 2 {
		t.Fatalf("completing the order raised no invoice: %+v", snap.ArInvoices)
	}
}

func TestArstpyPaysInvoiceAndLeavesCashUnapplied(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.logon(t)
	params := `<PostArPayment><Parameters><PostingPeriod>C</PostingPeriod><ValidateOnly>N</ValidateOnly></Parameters></PostArPayment>`
	doc := `<PostArPayment><Item><Payment><Customer>000001</Customer><PaymentValue>30.00</PaymentValue><Bank>GB</Bank>` +
		`<PaymentType>C</PaymentType><InvoiceToPay><TransactionType>I</TransactionType><Invoice>100466</Invoice>` +
		`<GrossPaymentValue>20.00</GrossPaymentValue></InvoiceToPay><UnappliedPayment><GrossPaymentValue>10.00</GrossPaymentValue>` +
		`</UnappliedPayment></Payment></Item></PostArPayment>`
	got := b.post(t, id, "ARSTPY", params, doc)
	mustContain(t, got, "<postarpayment ", "<Journal>00000001</Journal>", "<GlJournal>\n<GlYear>2026</GlYear>",
		"<ItemsProcessed>000001</ItemsProcessed>\n<ItemsInvalid>000000</ItemsInvalid>\n</StatusOfItems>")
	snap := b.sim.State()
	if len(snap.ArPayments) != 1 || !snap.ArPayments[0].Unapplied.Equal(decimal.RequireFromString("10")) ||
		!snap.ArInvoices[0].Balance.Equal(decimal.RequireFromString("230")) {
		t.Fatalf("payments %+v invoices %+v", snap.ArPayments, snap.ArInvoices)
	}
	over := strings.Replace(strings.Replace(doc, "20.00</GrossPaymentValue></InvoiceToPay>", "900.00</GrossPaymentValue></InvoiceToPay>", 1), "30.00", "910.00", 1)
	mustContain(t, b.post(t, id, "ARSTPY", params, over), "exceeds the balance", "<ItemsInvalid>000001</ItemsInvalid>")
}

func TestGentjlPostsBalancedJournalInOpenPeriodOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.logon(t)
	params := `<PostGlJournal><Parameters><IgnoreWarnings>N</IgnoreWarnings><ActionType>A</ActionType></Parameters></PostGlJournal>`
	journal := func(date, debit, credit string) string {
		return `<PostGlJournal><Item><JournalType>N</JournalType><JournalDate>` + date + `</JournalDate><JournalReference>FEES</JournalReference>` +
			`<JournalDetails><LedgerCode>4100</LedgerCode><EntryAmount>` + debit + `</EntryAmount></JournalDetails>` +
			`<JournalDetails><LedgerCode>1000</LedgerCode><EntryAmount>` + credit + `</EntryAmount></JournalDetails></Item></PostGlJournal>`
	}
	mustContain(t, b.post(t, id, "GENTJL", params, journal("2026-04-10", "12.50", "-12.50")),
		"<postgljournal ", "<GlJournal>0000000001</GlJournal>", "<JournalsProcessed>000001</JournalsProcessed>")
	mustContain(t, b.post(t, id, "GENTJL", params, journal("2026-04-10", "12.50", "-12.00")), "Journal does not balance", "<JournalsInvalid>000001</JournalsInvalid>")
	mustContain(t, b.post(t, id, "GENTJL", params, journal("2025-01-10", "5.00", "-5.00")), "is closed for posting")
	snap := b.sim.State()
	if len(snap.GlJournals) != 1 {
		t.Fatalf("journals = %+v", snap.GlJournals)
	}
	for _, l := range snap.LedgerCodes {
		if l.LedgerCode == "4100" && !l.Balance.Equal(decimal.RequireFromString("12.5")) {
			t.Fatalf("4100 balance = %s (positive is a debit)", l.Balance)
		}
	}
}

func TestArsscsAddsAndUpdatesCustomers(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.logon(t)
	params := `<SetupArCustomer><Parameters><IgnoreWarnings>N</IgnoreWarnings></Parameters></SetupArCustomer>`
	add := b.get(t, "Setup/Add", "UserId", id, "BusinessObject", "ARSSCS", "XmlParameters", params,
		"XmlIn", `<SetupArCustomer><Item><Key><Customer>NEW01</Customer></Key><Name>New Co</Name><CreditLimit>100.00</CreditLimit></Item></SetupArCustomer>`)
	mustContain(t, add, "<setuparcustomer ", "<item>\n<key>\n<customer>NEW01</customer>", "<RecordsInvalid>0</RecordsInvalid>")
	dup := b.get(t, "Setup/Add", "UserId", id, "BusinessObject", "ARSSCS", "XmlParameters", params,
		"XmlIn", `<SetupArCustomer><Item><Key><Customer>NEW01</Customer></Key><Name>Again</Name></Item></SetupArCustomer>`)
	mustContain(t, dup, "already exists", "<RecordsInvalid>1</RecordsInvalid>")
	upd := b.get(t, "Setup/Update", "UserId", id, "BusinessObject", "ARSSCS", "XmlParameters", params,
		"XmlIn", `<SetupArCustomer><Item><Key><Customer>NEW01</Customer></Key><Email>x@new.example</Email></Item></SetupArCustomer>`)
	mustContain(t, upd, "<RecordsInvalid>0</RecordsInvalid>")
	mustContain(t, b.query(t, id, "ARSQRY", `<Query><Key><Customer>NEW01</Customer></Key></Query>`),
		"<CustomerName>New Co</CustomerName>", "<Email>x@new.example</Email>")
}

func TestCreditNoteHeaderAndLinesReduceInvoice(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.logon(t)
	hdr := b.post(t, id, "SORTCH", "", `<SOCreditNoteHeader><Item><Customer>000001</Customer><InvoiceNumber>100466</InvoiceNumber></Item></SOCreditNoteHeader>`)
	m := regexp.MustCompile(`<CreditNoteNumber>(\w+)</CreditNoteNumber>`).FindStringSubmatch(hdr)
	if m == nil {
		t.Fatalf("no credit note number:\n%s", hdr)
	}
	line := b.post(t, id, "SORTCL", "", `<SOCreditNoteLine><Item><CreditNoteNumber>`+m[1]+`</CreditNoteNumber><StockCode>B100</StockCode>`+
		`<Warehouse>FG</Warehouse><OrderQty>2</OrderQty><Price>8.00</Price><CreditReason>DAM</CreditReason></Item></SOCreditNoteLine>`)
	mustContain(t, line, "<ItemsProcessed>000001</ItemsProcessed>")
	snap := b.sim.State()
	if len(snap.CreditNotes) != 1 || !snap.CreditNotes[0].Total().Equal(decimal.RequireFromString("16")) ||
		!snap.ArInvoices[0].Balance.Equal(decimal.RequireFromString("234")) {
		t.Fatalf("credit notes %+v invoices %+v", snap.CreditNotes, snap.ArInvoices)
	}
}

func TestInjectedErrorsNeverApplyButLostResponsesDo(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.logon(t)
	send := func() (int, string) {
		// A fresh connection per request: net/http silently retries an idempotent GET whose reused
		// connection closes without a response, which would double-count lost responses here.
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get(b.http.URL + BasePath + "/Transaction/Post?UserId=" + strings.TrimSpace(id) +
			"&BusinessObject=SORTOI&XmlParameters=" + url.QueryEscape(sortoiParams) + "&XmlIn=" + url.QueryEscape(sortoiDoc("#F", "000001", "B100", "1", "8.00")))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		buf := new(strings.Builder)
		_, _ = io.Copy(buf, resp.Body)
		return resp.StatusCode, buf.String()
	}

	b.sim.SetFaults(Faults{ErrorRate: 1})
	for range 30 {
		if code, body := send(); code == http.StatusOK && !strings.HasPrefix(body, "ERROR") {
			t.Fatalf("errorRate 1 let a request through: %d %s", code, body)
		}
	}
	if n := len(b.sim.State().SalesOrders); n != 0 {
		t.Fatalf("injected errors applied %d orders", n)
	}

	b.sim.SetFaults(Faults{LostResponseRate: 1})
	for range 5 {
		if code, body := send(); code == http.StatusOK && !strings.HasPrefix(body, "ERROR") {
			t.Fatalf("lostResponseRate 1 returned a result: %s", body)
		}
	}
	if n := len(b.sim.State().SalesOrders); n != 5 {
		t.Fatalf("lost responses applied %d orders, want 5", n)
	}

	b.sim.SetFaults(Faults{})
	if _, body := send(); !strings.Contains(body, "<ItemsProcessed>000001</ItemsProcessed>") {
		t.Fatalf("faults cleared, still failing: %s", body)
	}
}

func TestInjectedTimeoutHangsUntilClientGivesUp(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{Faults: Faults{TimeoutRate: 1}})
	client := &http.Client{Timeout: 100 * time.Millisecond}
	_, err := client.Get(b.http.URL + BasePath + "/GetVersion")
	if err == nil {
		t.Fatal("timeoutRate 1 answered")
	}
}

func TestLoadFixtureSeedsFromJSON(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "seed.json")
	fixture := `{"operators":[{"code":"WEB","password":"pw"}],"companies":[{"id":"EDU1","name":"Edu"}],` +
		`"customers":[{"customer":"FX1","name":"Fixture Co","creditLimit":"500.00"}],` +
		`"stock":[{"stockCode":"S1","description":"Widget","stockUom":"EA","sellingPrice":9.99,"warehouses":[{"warehouse":"FG","qtyOnHand":"10"}]}]}`
	if err := os.WriteFile(path, []byte(fixture), 0o600); err != nil {
		t.Fatal(err)
	}
	seed, err := LoadFixture(path)
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, Options{Seed: &seed})
	id := b.get(t, "Logon", "Operator", "WEB", "OperatorPassword", "pw", "CompanyId", "EDU1", "CompanyPassword", "")
	mustContain(t, b.query(t, id, "INVQRY", `<Query><Key><StockCode>S1</StockCode></Key></Query>`), "<AvailableQty>           10.000000</AvailableQty>")
	if got := b.sim.State().Customers; len(got) != 1 || got[0].Name != "Fixture Co" {
		t.Fatalf("customers = %+v", got)
	}
}

func TestApplyIfEntireDocumentValidHoldsBackEveryItem(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	id := b.logon(t)
	number := salesOrderNumber.FindStringSubmatch(b.post(t, id, "SORTOI", sortoiParams, sortoiDoc("#ALL1", "000002", "A100", "1", "49.99")))[1]
	doc := `<PostSorOrderStatus><Item><SalesOrder>` + number + `</SalesOrder><NewOrderStatus>4</NewOrderStatus></Item>` +
		`<Item><SalesOrder>999999</SalesOrder><NewOrderStatus>4</NewOrderStatus></Item></PostSorOrderStatus>`
	params := func(all string) string {
		return `<PostSorOrderStatus><Parameters><ApplyIfEntireDocumentValid>` + all +
			`</ApplyIfEntireDocumentValid></Parameters></PostSorOrderStatus>`
	}
	status := func() string { return b.sim.State().SalesOrders[0].OrderStatus }

	mustContain(t, b.post(t, id, "SORTOS", params("Y"), doc), "<ItemsInvalid>000001</ItemsInvalid>")
	if got := status(); got != "1" {
		t.Fatalf("with ApplyIfEntireDocumentValid=Y and an invalid item, the valid item moved to status %s", got)
	}
	b.post(t, id, "SORTOS", params("N"), doc)
	if got := status(); got != "4" {
		t.Fatalf("with ApplyIfEntireDocumentValid=N the valid item stayed at status %s, want 4", got)
	}
}
