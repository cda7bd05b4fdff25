package syspro_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
)

// These tests run every business object the client wraps against the simulator over real HTTP:
// the success path, and each documented way SYSPRO refuses the document. A refusal must leave the
// simulator's state exactly as it was, and reach the caller classified, with SYSPRO's own number
// and text.

// simDay is the simulator clock for these tests, so GL periods 2026/03 and 2026/04 are open.
var simDay = time.Date(2026, 4, 10, 9, 0, 0, 0, time.UTC)

func newObjectsClient(t *testing.T) (*syspro.Client, *sysprosim.Server) {
	t.Helper()
	return newSimClient(t, sysprosim.Options{Start: simDay}, syspro.Config{})
}

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// errorCase is one documented refusal: call must fail with the class is reports, SYSPRO's number
// (0 when SYSPRO sends none) and a message containing text.
type errorCase struct {
	name   string
	call   func(context.Context, *syspro.Client) error
	is     func(error) bool
	number int
	text   string
}

// runErrorCases runs each case in turn on one client and checks that none changed the state.
// The cases share the simulator, so they run sequentially.
func runErrorCases(t *testing.T, c *syspro.Client, sim *sysprosim.Server, cases []errorCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := stateOf(sim)
			err := tc.call(context.Background(), c)
			wantSysproError(t, err, tc.is, tc.number, tc.text)
			if after := stateOf(sim); !reflect.DeepEqual(before, after) {
				t.Errorf("a refused document changed the simulator state:\nbefore %+v\n after %+v", before, after)
			}
		})
	}
}

// stateOf is the simulator state without the session count, which logons move.
func stateOf(sim *sysprosim.Server) sysprosim.Snapshot {
	s := sim.State()
	s.Sessions = 0
	return s
}

// wantSysproError checks that err is a *syspro.Error of the class is reports, whose Number is
// SYSPRO's and whose message (and Error text) carries SYSPRO's own wording.
func wantSysproError(t *testing.T, err error, is func(error) bool, number int, text string) *syspro.Error {
	t.Helper()
	var se *syspro.Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want a *syspro.Error", err, err)
	}
	if !is(err) {
		t.Errorf("err = %v, class %s: wrong class", err, se.Class)
	}
	if se.Number != number {
		t.Errorf("err = %v: Number %d, want SYSPRO's %d", err, se.Number, number)
	}
	if !strings.Contains(se.Message, text) || !strings.Contains(err.Error(), text) {
		t.Errorf("err = %v: want SYSPRO's text %q", err, text)
	}
	return se
}

func orderByNumber(t *testing.T, sim *sysprosim.Server, number string) sysprosim.SalesOrder {
	t.Helper()
	for _, o := range sim.State().SalesOrders {
		if o.SalesOrder == number {
			return o
		}
	}
	t.Fatalf("simulator holds no sales order %s", number)
	return sysprosim.SalesOrder{}
}

func warehouse(t *testing.T, sim *sysprosim.Server, code, wh string) sysprosim.WarehouseStock {
	t.Helper()
	for _, it := range sim.State().Stock {
		for _, w := range it.Warehouses {
			if it.StockCode == code && w.Warehouse == wh {
				return *w
			}
		}
	}
	t.Fatalf("simulator holds no stock %s in %s", code, wh)
	return sysprosim.WarehouseStock{}
}

func customer(sim *sysprosim.Server, code string) (sysprosim.Customer, bool) {
	for _, c := range sim.State().Customers {
		if c.Customer == code {
			return c, true
		}
	}
	return sysprosim.Customer{}, false
}

func invoice(t *testing.T, sim *sysprosim.Server, number string) sysprosim.ArInvoice {
	t.Helper()
	for _, inv := range sim.State().ArInvoices {
		if inv.Invoice == number {
			return inv
		}
	}
	t.Fatalf("simulator holds no invoice %s", number)
	return sysprosim.ArInvoice{}
}

func ledgerBalance(t *testing.T, sim *sysprosim.Server, code string) decimal.Decimal {
	t.Helper()
	for _, l := range sim.State().LedgerCodes {
		if l.LedgerCode == code {
			return l.Balance
		}
	}
	t.Fatalf("simulator holds no ledger code %s", code)
	return decimal.Zero
}

func wantDecimal(t *testing.T, what string, got, want decimal.Decimal) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// number reads one of SYSPRO's zero-padded numbers ("00000001").
func number(t *testing.T, what, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s = %q, not a number", what, s)
	}
	return n
}

func postOrder(t *testing.T, c *syspro.Client, o syspro.SalesOrder) string {
	t.Helper()
	res, err := c.PostSalesOrder(context.Background(), o, syspro.SalesOrderOptions{})
	if err != nil || res.SalesOrder == "" {
		t.Fatalf("SORTOI %s: %+v, %v", o.CustomerPoNumber, res, err)
	}
	return res.SalesOrder
}

func TestChangeOrderStatusThroughTheSimulator(t *testing.T) {
	t.Parallel()
	c, sim := newObjectsClient(t)
	ctx := context.Background()
	o := webOrder("SOS-1")
	o.Lines[0].Quantity = decimal.NewFromInt(2)
	so := postOrder(t, c, o)
	onHand := warehouse(t, sim, "A100", "FG").QtyOnHand

	dry, err := c.ChangeOrderStatus(ctx, syspro.OrderStatusChange{SalesOrder: so, NewStatus: syspro.OrderStatusInWarehouse, ValidateOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if dry.SalesOrder != so || dry.OrderStatus != syspro.OrderStatusOpen || dry.NewOrderStatus != syspro.OrderStatusInWarehouse {
		t.Errorf("dry run = %+v", dry)
	}
	if got := orderByNumber(t, sim, so).OrderStatus; got != "1" {
		t.Fatalf("ValidateOnly moved the order to status %s", got)
	}

	res, err := c.ChangeOrderStatus(ctx, syspro.OrderStatusChange{SalesOrder: so, CurrentStatus: syspro.OrderStatusOpen, NewStatus: syspro.OrderStatusInWarehouse})
	if err != nil {
		t.Fatal(err)
	}
	if res.OrderStatus != syspro.OrderStatusOpen || res.NewOrderStatus != syspro.OrderStatusInWarehouse {
		t.Errorf("1 -> 4 = %+v", res)
	}
	if got := orderByNumber(t, sim, so).OrderStatus; got != string(res.NewOrderStatus) {
		t.Fatalf("simulator order status %s, client reported %s", got, res.NewOrderStatus)
	}

	if _, err := c.ChangeOrderStatus(ctx, syspro.OrderStatusChange{SalesOrder: so, NewStatus: syspro.OrderStatusComplete}); err != nil {
		t.Fatal(err)
	}
	done := orderByNumber(t, sim, so)
	if done.OrderStatus != "9" || done.Invoice == "" {
		t.Fatalf("completed order = %+v, want status 9 with an invoice", done)
	}
	wantDecimal(t, "invoice for the completed order", invoice(t, sim, done.Invoice).Balance, d("99.98"))
	wantDecimal(t, "A100 on hand after shipping 2", warehouse(t, sim, "A100", "FG").QtyOnHand, onHand.Sub(d("2")))

	open := postOrder(t, c, webOrder("SOS-2"))
	runErrorCases(t, c, sim, []errorCase{
		{"unknown sales order", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.ChangeOrderStatus(ctx, syspro.OrderStatusChange{SalesOrder: "999999", NewStatus: syspro.OrderStatusInWarehouse})
			return err
		}, syspro.IsBusiness, 300101, "Sales order '999999' not found"},
		{"complete order cannot move", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.ChangeOrderStatus(ctx, syspro.OrderStatusChange{SalesOrder: so, NewStatus: syspro.OrderStatusCancelled})
			return err
		}, syspro.IsBusiness, 300120, "status can only be changed if the order is not complete or cancelled"},
		{"order moved since it was read", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.ChangeOrderStatus(ctx, syspro.OrderStatusChange{SalesOrder: so, CurrentStatus: syspro.OrderStatusOpen, NewStatus: syspro.OrderStatusInWarehouse})
			return err
		}, syspro.IsBusiness, 300120, "is at status '9', not '1'"},
		{"invalid new status", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.ChangeOrderStatus(ctx, syspro.OrderStatusChange{SalesOrder: open, NewStatus: "7"})
			return err
		}, syspro.IsBusiness, 300120, "New order status '7' is invalid"},
	})
}

func TestStockAvailableThroughTheSimulator(t *testing.T) {
	t.Parallel()
	c, sim := newObjectsClient(t)
	ctx := context.Background()
	o := webOrder("INV-1")
	o.Lines[0].Quantity = decimal.NewFromInt(3)
	postOrder(t, c, o)

	one, err := c.StockAvailable(ctx, "A100", "FG")
	if err != nil {
		t.Fatal(err)
	}
	if one.StockCode != "A100" || one.Description != "Bike helmet" || one.StockUom != "EA" || len(one.Warehouses) != 1 {
		t.Fatalf("INVQRY A100 in FG = %+v", one)
	}
	fg := warehouse(t, sim, "A100", "FG")
	got := one.Warehouses[0]
	wantDecimal(t, "AvailableQty", got.AvailableQty, fg.AvailableQty())
	wantDecimal(t, "QtyOnHand", got.QtyOnHand, fg.QtyOnHand)
	wantDecimal(t, "QtyAllocated", got.QtyAllocated, d("3"))
	wantDecimal(t, "AvailableQty after allocating 3", got.AvailableQty, fg.QtyOnHand.Sub(d("3")))

	all, err := c.StockAvailable(ctx, "A100", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Warehouses) != 2 {
		t.Fatalf("INVQRY A100 in every warehouse = %+v", all.Warehouses)
	}
	for _, w := range all.Warehouses {
		ws := warehouse(t, sim, "A100", w.Warehouse)
		wantDecimal(t, "AvailableQty in "+w.Warehouse, w.AvailableQty, ws.AvailableQty())
	}

	// A warehouse that does not stock the item filters every WarehouseItem out; it is no error.
	none, err := c.StockAvailable(ctx, "B100", "WEB")
	if err != nil || none.StockCode != "B100" || len(none.Warehouses) != 0 {
		t.Errorf("INVQRY B100 in WEB = %+v, %v; want the item without warehouses", none, err)
	}

	runErrorCases(t, c, sim, []errorCase{
		{"unknown stock code", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.StockAvailable(ctx, "NOPE", "FG")
			return err
		}, syspro.IsBusiness, 0, "Stock code 'NOPE' not found"},
	})
}

func TestQueryCustomerThroughTheSimulator(t *testing.T) {
	t.Parallel()
	c, sim := newObjectsClient(t)
	ctx := context.Background()
	for _, code := range []string{"000001", "HOLD01"} {
		acc, err := c.QueryCustomer(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := customer(sim, code)
		if acc.Customer != want.Customer || acc.Name != want.Name || acc.Currency != want.Currency || acc.OnHold != want.OnHold {
			t.Errorf("ARSQRY %s = %+v, simulator holds %+v", code, acc, want)
		}
		wantDecimal(t, "CreditLimit of "+code, acc.CreditLimit, want.CreditLimit)
	}

	runErrorCases(t, c, sim, []errorCase{
		{"unknown customer", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.QueryCustomer(ctx, "NOPE")
			return err
		}, syspro.IsBusiness, 0, "Customer 'NOPE' not found"},
	})
}

func TestAddAndUpdateCustomerThroughTheSimulator(t *testing.T) {
	t.Parallel()
	c, sim := newObjectsClient(t)
	ctx := context.Background()
	limit, onHold := d("2500.00"), true

	code, err := c.AddCustomer(ctx, syspro.CustomerSetup{Customer: "NEW01", Name: "New Cycles", Branch: "HQ", Currency: "GBP",
		CreditLimit: &limit, Telephone: "0117 000 0000", Email: "ap@new.example", SoldToAddr: [5]string{"3 Quay St"}, SoldPostalCode: "BS1 4XX"})
	if err != nil || code != "NEW01" {
		t.Fatalf("ARSSCS add = %q, %v", code, err)
	}
	got, ok := customer(sim, "NEW01")
	if !ok || got.Name != "New Cycles" || got.Email != "ap@new.example" || got.Telephone != "0117 000 0000" || got.OnHold ||
		got.SoldToAddr1 != "3 Quay St" || got.SoldPostalCode != "BS1 4XX" {
		t.Fatalf("simulator customer = %+v", got)
	}
	wantDecimal(t, "added credit limit", got.CreditLimit, limit)

	auto, err := c.AddCustomer(ctx, syspro.CustomerSetup{Name: "Numbered By SYSPRO"})
	if err != nil || auto == "" {
		t.Fatalf("ARSSCS auto-numbered add = %q, %v", auto, err)
	}
	if got, ok := customer(sim, auto); !ok || got.Name != "Numbered By SYSPRO" {
		t.Errorf("auto-numbered customer %q = %+v, %v", auto, got, ok)
	}

	before := stateOf(sim)
	if _, err := c.AddCustomer(ctx, syspro.CustomerSetup{Customer: "DRY01", Name: "Dry Run", ValidateOnly: true}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, stateOf(sim)) {
		t.Error("ValidateOnly add changed the simulator state")
	}

	newLimit := d("4000.00")
	if code, err := c.UpdateCustomer(ctx, syspro.CustomerSetup{Customer: "NEW01", Email: "finance@new.example", CreditLimit: &newLimit, OnHold: &onHold}); err != nil || code != "NEW01" {
		t.Fatalf("ARSSCS update = %q, %v", code, err)
	}
	got, _ = customer(sim, "NEW01")
	if got.Email != "finance@new.example" || !got.OnHold || got.Name != "New Cycles" || got.Telephone != "0117 000 0000" || got.SoldToAddr1 != "3 Quay St" {
		t.Errorf("updated customer = %+v: want new email and hold, other fields kept", got)
	}
	wantDecimal(t, "updated credit limit", got.CreditLimit, newLimit)
	acc, err := c.QueryCustomer(ctx, "NEW01")
	if err != nil || !acc.OnHold || acc.Name != "New Cycles" || !acc.CreditLimit.Equal(newLimit) {
		t.Errorf("ARSQRY after update = %+v, %v", acc, err)
	}

	runErrorCases(t, c, sim, []errorCase{
		{"add an existing customer", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.AddCustomer(ctx, syspro.CustomerSetup{Customer: "000001", Name: "Again"})
			return err
		}, syspro.IsBusiness, 200103, "Customer '000001' already exists"},
		{"update an unknown customer", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.UpdateCustomer(ctx, syspro.CustomerSetup{Customer: "NOPE", Email: "x@example.com"})
			return err
		}, syspro.IsBusiness, 200101, "Customer 'NOPE' not found"},
		{"add without a name", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.AddCustomer(ctx, syspro.CustomerSetup{Customer: "NONAME"})
			return err
		}, syspro.IsBusiness, 100030, "XML element '{Item}{Name}' cannot be spaces"},
	})
}

func TestPostArPaymentThroughTheSimulator(t *testing.T) {
	t.Parallel()
	c, sim := newObjectsClient(t)
	ctx := context.Background()
	pay := syspro.ArPayment{Customer: "000001", Bank: "GB", PaymentType: syspro.PaymentTypeCheck, Reference: "PAY-1",
		PaymentDate: simDay, Invoices: []syspro.InvoicePayment{{Invoice: "100466", Amount: d("20.00")}}, Unapplied: d("10.00")}
	balance := invoice(t, sim, "100466").Balance

	dry := pay
	dry.ValidateOnly = true
	before := stateOf(sim)
	if _, err := c.PostArPayment(ctx, dry); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, stateOf(sim)) {
		t.Error("ValidateOnly payment changed the simulator state")
	}

	res, err := c.PostArPayment(ctx, pay)
	if err != nil {
		t.Fatal(err)
	}
	st := sim.State()
	if len(st.ArPayments) != 1 || len(st.GlJournals) != 1 {
		t.Fatalf("simulator payments %+v journals %+v", st.ArPayments, st.GlJournals)
	}
	p, gl := st.ArPayments[0], st.GlJournals[0]
	if res.TrnYear != p.TrnYear || res.TrnMonth != p.TrnMonth || number(t, "Journal", res.Journal) != p.Journal {
		t.Errorf("AR journal = %d/%d %q, simulator posted %d/%d %d", res.TrnYear, res.TrnMonth, res.Journal, p.TrnYear, p.TrnMonth, p.Journal)
	}
	if res.GlYear != gl.Year || res.GlPeriod != gl.Period || number(t, "GlJournal", res.GlJournal) != gl.Journal {
		t.Errorf("GL journal = %d/%d %q, simulator posted %+v", res.GlYear, res.GlPeriod, res.GlJournal, gl)
	}
	if p.Customer != "000001" || p.Reference != "PAY-1" || p.PaymentType != "C" || len(p.Applications) != 1 || p.Applications[0].Invoice != "100466" {
		t.Errorf("simulator payment = %+v", p)
	}
	wantDecimal(t, "payment value", p.PaymentValue, d("30.00"))
	wantDecimal(t, "unapplied", p.Unapplied, d("10.00"))
	wantDecimal(t, "invoice 100466 balance", invoice(t, sim, "100466").Balance, balance.Sub(d("20.00")))
	wantDecimal(t, "bank 1000 (debit)", ledgerBalance(t, sim, "1000"), d("30.00"))
	wantDecimal(t, "debtors 1100 (credit)", ledgerBalance(t, sim, "1100"), d("-30.00"))

	// The rest of the balance, leaving the invoice settled.
	rest := invoice(t, sim, "100466").Balance
	if _, err := c.PostArPayment(ctx, syspro.ArPayment{Customer: "000001", Invoices: []syspro.InvoicePayment{{Invoice: "100466", Amount: rest}}}); err != nil {
		t.Fatal(err)
	}
	if b := invoice(t, sim, "100466").Balance; !b.IsZero() {
		t.Errorf("invoice 100466 balance after paying %s = %s, want 0", rest, b)
	}

	// An invoice SORTOS raised when an order was completed can be paid the same way.
	so := postOrder(t, c, webOrder("PAY-ORDER"))
	if _, err := c.ChangeOrderStatus(ctx, syspro.OrderStatusChange{SalesOrder: so, NewStatus: syspro.OrderStatusComplete}); err != nil {
		t.Fatal(err)
	}
	raised := orderByNumber(t, sim, so).Invoice
	over := invoice(t, sim, raised).Balance.Add(d("0.01"))

	runErrorCases(t, c, sim, []errorCase{
		{"unknown invoice", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostArPayment(ctx, syspro.ArPayment{Customer: "000001", Invoices: []syspro.InvoicePayment{{Invoice: "999999", Amount: d("5.00")}}})
			return err
		}, syspro.IsBusiness, 400101, "Invoice '999999' not found for customer '000001'"},
		{"invoice of another customer", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostArPayment(ctx, syspro.ArPayment{Customer: "000002", Invoices: []syspro.InvoicePayment{{Invoice: raised, Amount: d("5.00")}}})
			return err
		}, syspro.IsBusiness, 400101, "Invoice '" + raised + "' not found for customer '000002'"},
		{"amount over the balance", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostArPayment(ctx, syspro.ArPayment{Customer: "WEBS01", Invoices: []syspro.InvoicePayment{{Invoice: raised, Amount: over}}})
			return err
		}, syspro.IsBusiness, 400102, "exceeds the balance"},
		{"settled invoice", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostArPayment(ctx, syspro.ArPayment{Customer: "000001", Invoices: []syspro.InvoicePayment{{Invoice: "100466", Amount: d("0.01")}}})
			return err
		}, syspro.IsBusiness, 400102, "exceeds the balance 0.00 of invoice '100466'"},
		{"unknown customer", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostArPayment(ctx, syspro.ArPayment{Customer: "NOPE", Unapplied: d("5.00")})
			return err
		}, syspro.IsBusiness, 200101, "Customer 'NOPE' not found"},
		{"adjustments are not simulated", func(ctx context.Context, c *syspro.Client) error {
			// PostArPayment sends Payment items only; the simulator refuses Adjustments loudly
			// rather than dropping them.
			_, err := c.Post(ctx, syspro.BusinessObjectARSTPY, "<PostArPayment><Parameters><ValidateOnly>N</ValidateOnly></Parameters></PostArPayment>",
				"<PostArPayment><Item><Adjustments><Customer>000001</Customer><InvoiceToAdjust><Invoice>100466</Invoice>"+
					"<AdjustmentValue>1.00</AdjustmentValue><JournalNotation>fee</JournalNotation></InvoiceToAdjust></Adjustments></Item></PostArPayment>")
			return err
		}, syspro.IsBusiness, 300140, "Only Payment items are supported"},
		{"server fault before posting", func(ctx context.Context, c *syspro.Client) error {
			// Whichever failure SYSPRO's server gives (BaseDir8 ERROR text, WCF 500, dropped
			// connection), nothing was applied and the payment may be sent again.
			sim.SetFaults(sysprosim.Faults{ErrorRate: 1})
			defer sim.SetFaults(sysprosim.Faults{})
			_, err := c.PostArPayment(ctx, syspro.ArPayment{Customer: "000001", Unapplied: d("5.00")})
			return err
		}, syspro.IsTransient, 0, ""},
	})
}

func TestPostCreditNoteThroughTheSimulator(t *testing.T) {
	t.Parallel()
	c, sim := newObjectsClient(t)
	ctx := context.Background()
	balance := invoice(t, sim, "100466").Balance
	onHand := warehouse(t, sim, "B100", "FG").QtyOnHand
	line := syspro.CreditNoteLine{CreditReason: "DAM", StockCode: "B100", Warehouse: "FG", Quantity: d("2"), Uom: "EA", Price: d("8.00")}

	// A dry run creates no header, so there is nothing for SORTCL to check lines against yet.
	before := stateOf(sim)
	for _, number := range []string{"", "CN-DRY"} {
		dry, err := c.PostCreditNote(ctx, syspro.CreditNote{Customer: "000001", CreditNoteNumber: number, InvoiceNumber: "100466",
			Lines: []syspro.CreditNoteLine{line}, ValidateOnly: true})
		if err != nil {
			t.Fatalf("ValidateOnly credit note %q: %v", number, err)
		}
		if dry.CreditNoteNumber != number {
			t.Errorf("ValidateOnly credit note %q came back as %q", number, dry.CreditNoteNumber)
		}
	}
	if !reflect.DeepEqual(before, stateOf(sim)) {
		t.Error("ValidateOnly credit note changed the simulator state")
	}

	res, err := c.PostCreditNote(ctx, syspro.CreditNote{Customer: "000001", CustomerPoNumber: "RMA-1", CreditNoteDate: simDay,
		InvoiceNumber: "100466", Lines: []syspro.CreditNoteLine{line}})
	if err != nil {
		t.Fatal(err)
	}
	notes := sim.State().CreditNotes
	if len(notes) != 1 || res.CreditNoteNumber == "" || notes[0].CreditNoteNumber != res.CreditNoteNumber {
		t.Fatalf("credit note %+v, simulator holds %+v", res, notes)
	}
	cn := notes[0]
	if cn.Customer != "000001" || cn.InvoiceNumber != "100466" || cn.CustomerPoNumber != "RMA-1" || cn.CreditNoteDate != "2026-04-10" ||
		len(cn.Lines) != 1 || cn.Lines[0].StockCode != "B100" || cn.Lines[0].CreditReason != "DAM" {
		t.Errorf("simulator credit note = %+v", cn)
	}
	wantDecimal(t, "credit note total", cn.Total(), d("16.00"))
	wantDecimal(t, "invoice 100466 balance", invoice(t, sim, "100466").Balance, balance.Sub(d("16.00")))
	wantDecimal(t, "B100 on hand after the return", warehouse(t, sim, "B100", "FG").QtyOnHand, onHand.Add(d("2")))

	runErrorCases(t, c, sim, []errorCase{
		{"unknown customer", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostCreditNote(ctx, syspro.CreditNote{Customer: "NOPE", Lines: []syspro.CreditNoteLine{line}})
			return err
		}, syspro.IsBusiness, 200101, "Customer 'NOPE' not found"},
		{"unknown invoice", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostCreditNote(ctx, syspro.CreditNote{Customer: "000001", InvoiceNumber: "999999", Lines: []syspro.CreditNoteLine{line}})
			return err
		}, syspro.IsBusiness, 400101, "Invoice '999999' not found for customer '000001'"},
		{"invoice of another customer", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostCreditNote(ctx, syspro.CreditNote{Customer: "000002", InvoiceNumber: "100466", Lines: []syspro.CreditNoteLine{line}})
			return err
		}, syspro.IsBusiness, 400101, "Invoice '100466' not found for customer '000002'"},
		{"existing credit note number", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostCreditNote(ctx, syspro.CreditNote{Customer: "000001", CreditNoteNumber: res.CreditNoteNumber, Lines: []syspro.CreditNoteLine{line}})
			return err
		}, syspro.IsBusiness, 400202, "Credit note '" + res.CreditNoteNumber + "' already exists"},
	})

	// SORTCL refusals come after SORTCH opened the header: the header stays, without lines, and
	// the result names it so the caller can finish or cancel it.
	for _, tc := range []struct {
		name   string
		line   syspro.CreditNoteLine
		number int
		text   string
	}{
		{"unknown stock code", syspro.CreditNoteLine{StockCode: "NOPE", Warehouse: "FG", Quantity: d("1"), Price: d("1.00")}, 240004, "Stock code 'NOPE' not found"},
		{"stock code not in warehouse", syspro.CreditNoteLine{StockCode: "B100", Warehouse: "WEB", Quantity: d("1"), Price: d("1.00")}, 240005, "Stock code 'B100' is not stocked in warehouse 'WEB'"},
		{"credit over the invoice balance", syspro.CreditNoteLine{StockCode: "B100", Warehouse: "FG", Quantity: d("100"), Price: d("8.00")}, 400102, "exceeds the balance of invoice '100466'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := stateOf(sim)
			res, err := c.PostCreditNote(ctx, syspro.CreditNote{Customer: "000001", InvoiceNumber: "100466", Lines: []syspro.CreditNoteLine{tc.line}})
			se := wantSysproError(t, err, syspro.IsBusiness, tc.number, tc.text)
			if se.BusinessObject != syspro.BusinessObjectSORTCL {
				t.Errorf("refused by %s, want SORTCL", se.BusinessObject)
			}
			after := stateOf(sim)
			if res == nil || len(after.CreditNotes) != len(before.CreditNotes)+1 {
				t.Fatalf("result %+v; credit notes %d -> %d", res, len(before.CreditNotes), len(after.CreditNotes))
			}
			header := after.CreditNotes[len(after.CreditNotes)-1]
			if header.CreditNoteNumber != res.CreditNoteNumber || len(header.Lines) != 0 {
				t.Errorf("left header %+v, result %+v", header, res)
			}
			after.CreditNotes = after.CreditNotes[:len(before.CreditNotes)]
			if !reflect.DeepEqual(before, after) {
				t.Error("a refused credit note line changed stock or invoices")
			}
		})
	}
}

func TestPostGlJournalThroughTheSimulator(t *testing.T) {
	t.Parallel()
	c, sim := newObjectsClient(t)
	ctx := context.Background()
	journal := func(year, period int, entries ...syspro.GlJournalEntry) syspro.GlJournal {
		return syspro.GlJournal{JournalDate: simDay, Reference: "SETTLE-42", PostingYear: year, PostingPeriod: period, Entries: entries}
	}
	entry := func(ledger, amount string) syspro.GlJournalEntry {
		return syspro.GlJournalEntry{LedgerCode: ledger, Amount: d(amount), Comment: "settlement"}
	}
	settlement := journal(2026, 4, entry("1000", "97.50"), entry("4100", "2.50"), entry("1100", "-100.00"))

	before := stateOf(sim)
	dry := settlement
	dry.ValidateOnly = true
	if _, err := c.PostGlJournal(ctx, dry); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, stateOf(sim)) {
		t.Error("ValidateOnly journal changed the simulator state")
	}

	res, err := c.PostGlJournal(ctx, settlement)
	if err != nil {
		t.Fatal(err)
	}
	js := sim.State().GlJournals
	if len(js) != 1 {
		t.Fatalf("simulator journals = %+v", js)
	}
	if res.GlYear != 2026 || res.GlPeriod != 4 || res.GlYear != js[0].Year || res.GlPeriod != js[0].Period ||
		number(t, "GlJournal", res.GlJournal) != js[0].Journal {
		t.Errorf("journal = %+v, simulator posted %+v", res, js[0])
	}
	if len(js[0].Entries) != 3 || js[0].Reference != "SETTLE-42" {
		t.Errorf("simulator journal = %+v", js[0])
	}
	// A positive amount is a debit and raises the ledger balance; a negative one is a credit.
	wantDecimal(t, "bank 1000", ledgerBalance(t, sim, "1000"), d("97.50"))
	wantDecimal(t, "card fees 4100", ledgerBalance(t, sim, "4100"), d("2.50"))
	wantDecimal(t, "debtors 1100", ledgerBalance(t, sim, "1100"), d("-100.00"))

	prev, err := c.PostGlJournal(ctx, journal(2026, 3, entry("4100", "1.00"), entry("1000", "-1.00")))
	if err != nil || prev.GlYear != 2026 || prev.GlPeriod != 3 {
		t.Errorf("journal in the previous open period = %+v, %v", prev, err)
	}

	runErrorCases(t, c, sim, []errorCase{
		{"closed period", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostGlJournal(ctx, journal(2025, 1, entry("4100", "5.00"), entry("1000", "-5.00")))
			return err
		}, syspro.IsBusiness, 500103, "Period 01 of year 2025 is closed for posting"},
		{"future period", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostGlJournal(ctx, journal(2026, 5, entry("4100", "5.00"), entry("1000", "-5.00")))
			return err
		}, syspro.IsBusiness, 500103, "Period 05 of year 2026 is closed for posting"},
		{"unknown ledger code", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostGlJournal(ctx, journal(2026, 4, entry("4999", "5.00"), entry("1000", "-5.00")))
			return err
		}, syspro.IsBusiness, 500101, "Ledger code '4999' not found"},
		{"ledger code on hold", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostGlJournal(ctx, journal(2026, 4, entry("9999", "5.00"), entry("1000", "-5.00")))
			return err
		}, syspro.IsBusiness, 500102, "Ledger code '9999' is on hold"},
		{"unbalanced journal is refused before sending", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostGlJournal(ctx, journal(2026, 4, entry("4100", "5.00"), entry("1000", "-4.99")))
			return err
		}, syspro.IsBusiness, 0, "journal does not balance: debits minus credits = 0.01"},
		{"unbalanced journal is refused by SYSPRO", func(ctx context.Context, c *syspro.Client) error {
			// Sent raw, past the client's own balance check, to pin SYSPRO's answer.
			_, err := c.Post(ctx, syspro.BusinessObjectGENTJL,
				`<PostGlJournal><Parameters><IgnoreWarnings>N</IgnoreWarnings><ApplyIfEntireDocumentValid>Y</ApplyIfEntireDocumentValid><ValidateOnly>N</ValidateOnly><ActionType>A</ActionType></Parameters></PostGlJournal>`,
				`<PostGlJournal><Item><JournalType>N</JournalType><PostingYear>2026</PostingYear><PostingPeriod>4</PostingPeriod>`+
					`<JournalDetails><EntryNumber>1</EntryNumber><LedgerCode>4100</LedgerCode><EntryAmount>5.00</EntryAmount></JournalDetails>`+
					`<JournalDetails><EntryNumber>2</EntryNumber><LedgerCode>1000</LedgerCode><EntryAmount>-4.99</EntryAmount></JournalDetails></Item></PostGlJournal>`)
			return err
		}, syspro.IsBusiness, 500104, "Journal does not balance: debits and credits differ by 0.01"},
	})
}

func TestUnknownOrUnlicensedBusinessObjectIsAConfigurationError(t *testing.T) {
	t.Parallel()
	const text = "e.net exception raised: 100000"
	c, sim := newObjectsClient(t)
	runErrorCases(t, c, sim, []errorCase{
		{"ARSPAY is only the UI program", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.Post(ctx, "ARSPAY", "<PostArPayment/>", "<PostArPayment/>")
			return err
		}, syspro.IsConfiguration, 100000, text},
		{"GENTJN does not exist", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.Post(ctx, "GENTJN", "<PostGlJournal/>", "<PostGlJournal/>")
			return err
		}, syspro.IsConfiguration, 100000, text},
		{"query business object through Setup/Add", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.SetupAdd(ctx, syspro.BusinessObjectINVQRY, "<Query/>", "<Query/>")
			return err
		}, syspro.IsConfiguration, 100000, text},
	})

	// Licensing is per operator: CASHIER may run the sales order objects only.
	seed := sysprosim.DefaultSeed()
	seed.Operators = []sysprosim.Operator{{Code: "CASHIER", Password: "pw", LicensedBusinessObjects: []string{"SORTOI", "COMFND"}}}
	limited, limitedSim := newSimClient(t, sysprosim.Options{Start: simDay, Seed: &seed},
		syspro.Config{Operator: "CASHIER", OperatorPassword: "pw", CompanyID: "EDU1"})
	runErrorCases(t, limited, limitedSim, []errorCase{
		{"unlicensed ARSTPY", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.PostArPayment(ctx, syspro.ArPayment{Customer: "000001", Unapplied: d("5.00")})
			return err
		}, syspro.IsConfiguration, 100000, text},
		{"unlicensed INVQRY", func(ctx context.Context, c *syspro.Client) error {
			_, err := c.StockAvailable(ctx, "A100", "FG")
			return err
		}, syspro.IsConfiguration, 100000, text},
	})
	if _, err := limited.PostSalesOrder(context.Background(), webOrder("LIC-1"), syspro.SalesOrderOptions{}); err != nil {
		t.Errorf("licensed SORTOI and COMFND: %v", err)
	}
	if n := ordersWithPO(limitedSim, "LIC-1"); n != 1 {
		t.Errorf("licensed SORTOI stored %d orders", n)
	}
}

func TestPostArPaymentOnceFindsAReceiptWhoseAnswerWasLost(t *testing.T) {
	t.Parallel()
	c, sim := newObjectsClient(t)
	ctx := context.Background()
	pay := syspro.ArPayment{Customer: "000001", PaymentType: syspro.PaymentTypeOther, Reference: "CYB-6510049442",
		PaymentDate: simDay, Unapplied: d("42.50")}

	// Log on first (Logon's own answer would be lost too), then lose every answer after SYSPRO
	// applied the post: the caller sees a transient error.
	if _, err := c.QueryCustomer(ctx, "000001"); err != nil {
		t.Fatal(err)
	}
	sim.SetFaults(sysprosim.Faults{LostResponseRate: 1})
	if _, err := c.PostArPayment(ctx, pay); !syspro.IsTransient(err) {
		t.Fatalf("lost answer: %v, want a transient error", err)
	}
	sim.SetFaults(sysprosim.Faults{})
	if n := len(sim.State().ArPayments); n != 1 {
		t.Fatalf("simulator holds %d payments after the lost answer, want 1 (the post was applied)", n)
	}

	for i := 0; i < 2; i++ {
		res, err := c.PostArPaymentOnce(ctx, pay)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Existing || res.Journal == "" {
			t.Errorf("retry %d = %+v, want the existing receipt", i, res)
		}
	}
	if n := len(sim.State().ArPayments); n != 1 {
		t.Errorf("simulator holds %d payments after retries, want 1", n)
	}

	other := pay
	other.Reference = "CYB-6510049443"
	res, err := c.PostArPaymentOnce(ctx, other)
	if err != nil || res.Existing {
		t.Fatalf("a new reference: %+v, %v", res, err)
	}
	if n := len(sim.State().ArPayments); n != 2 {
		t.Errorf("simulator holds %d payments, want 2", n)
	}

	if _, err := c.PostArPaymentOnce(ctx, syspro.ArPayment{Customer: "000001", Unapplied: d("1")}); err == nil {
		t.Error("PostArPaymentOnce without a reference succeeded")
	}
}

func TestPostGlJournalOnceFindsAJournalWhoseAnswerWasLost(t *testing.T) {
	t.Parallel()
	c, sim := newObjectsClient(t)
	ctx := context.Background()
	j := syspro.GlJournal{JournalDate: simDay, Reference: "SETTLE-20260410-GBP", PostingYear: 2026, PostingPeriod: 4,
		Entries: []syspro.GlJournalEntry{
			{LedgerCode: "1000", Amount: d("95.00")},
			{LedgerCode: "4100", Amount: d("2.50")},
			{LedgerCode: "4150", Amount: d("2.00")},
			{LedgerCode: "7900", Amount: d("0.50")},
			{LedgerCode: "1050", Amount: d("-100.00")},
		}}

	// Nothing posted yet: the finder answers no rows.
	if refs, err := c.FindGlJournals(ctx, j.Reference); err != nil || len(refs) != 0 {
		t.Fatalf("FindGlJournals before posting = %+v, %v", refs, err)
	}
	// Lose every answer after SYSPRO applied the post (the session is already logged on).
	sim.SetFaults(sysprosim.Faults{LostResponseRate: 1})
	if _, err := c.PostGlJournal(ctx, j); !syspro.IsTransient(err) {
		t.Fatalf("lost answer: %v, want a transient error", err)
	}
	sim.SetFaults(sysprosim.Faults{})
	js := sim.State().GlJournals
	if len(js) != 1 {
		t.Fatalf("simulator holds %d journals after the lost answer, want 1 (the post was applied)", len(js))
	}

	refs, err := c.FindGlJournals(ctx, j.Reference)
	if err != nil || len(refs) != 1 {
		t.Fatalf("FindGlJournals = %+v, %v", refs, err)
	}
	if r := refs[0]; r.GlYear != 2026 || r.GlPeriod != 4 || number(t, "Journal", r.Journal) != js[0].Journal ||
		r.JnlStatus != "P" || r.Reference != j.Reference {
		t.Errorf("found %+v, simulator posted %+v", r, js[0])
	}

	for i := 0; i < 2; i++ {
		res, err := c.PostGlJournalOnce(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Existing || res.GlYear != 2026 || res.GlPeriod != 4 || number(t, "GlJournal", res.GlJournal) != js[0].Journal {
			t.Errorf("retry %d = %+v, want the existing journal %d", i, res, js[0].Journal)
		}
	}
	if n := len(sim.State().GlJournals); n != 1 {
		t.Errorf("simulator holds %d journals after retries, want 1", n)
	}
	wantDecimal(t, "card clearing 1050", ledgerBalance(t, sim, "1050"), d("-100.00"))

	// A ValidateOnly journal is not looked up and posts nothing.
	dry := j
	dry.ValidateOnly = true
	if res, err := c.PostGlJournalOnce(ctx, dry); err != nil || res.Existing {
		t.Fatalf("ValidateOnly: %+v, %v", res, err)
	}
	// A new reference posts a new journal, found the next time.
	other := j
	other.Reference = "SETTLE-20260411-GBP"
	first, err := c.PostGlJournalOnce(ctx, other)
	if err != nil || first.Existing {
		t.Fatalf("a new reference: %+v, %v", first, err)
	}
	again, err := c.PostGlJournalOnce(ctx, other)
	if err != nil || !again.Existing || again.GlJournal != first.GlJournal {
		t.Fatalf("second post: %+v, %v; first %+v", again, err, first)
	}
	if n := len(sim.State().GlJournals); n != 2 {
		t.Errorf("simulator holds %d journals, want 2", n)
	}

	noRef := j
	noRef.Reference = " "
	if _, err := c.PostGlJournalOnce(ctx, noRef); err == nil {
		t.Error("PostGlJournalOnce without a reference succeeded")
	}
	if _, err := c.FindGlJournals(ctx, ""); err == nil {
		t.Error("FindGlJournals without a reference succeeded")
	}
}

func TestPostCreditNoteOnceCompletesAHeaderWhoseAnswerWasLost(t *testing.T) {
	t.Parallel()
	c, sim := newObjectsClient(t)
	ctx := context.Background()
	line := syspro.CreditNoteLine{CreditReason: "RF", StockCode: "B100", Warehouse: "FG", Quantity: d("1"), Uom: "EA", Price: d("12.50")}
	cn := syspro.CreditNote{Customer: "000001", CustomerPoNumber: "RF-77", CreditNoteDate: simDay, Lines: []syspro.CreditNoteLine{line}}

	// SORTCH applied, its answer lost: a header without lines.
	hp, hx, err := syspro.CreditNoteHeaderXML(cn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(ctx, syspro.BusinessObjectSORTCH, hp, hx); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the retry completes it; a further retry changes nothing
		res, err := c.PostCreditNoteOnce(ctx, cn)
		if err != nil || !res.Existing {
			t.Fatalf("PostCreditNoteOnce: %+v %v", res, err)
		}
	}
	notes := sim.State().CreditNotes
	if len(notes) != 1 || len(notes[0].Lines) != 1 || !notes[0].Total().Equal(d("12.50")) {
		t.Fatalf("simulator credit notes: %+v", notes)
	}
	// A new one is created once, and found the next time.
	cn.CustomerPoNumber = "RF-78"
	first, err := c.PostCreditNoteOnce(ctx, cn)
	if err != nil || first.Existing {
		t.Fatalf("first post: %+v %v", first, err)
	}
	again, err := c.PostCreditNoteOnce(ctx, cn)
	if err != nil || !again.Existing || again.CreditNoteNumber != first.CreditNoteNumber || len(sim.State().CreditNotes) != 2 {
		t.Fatalf("second post: %+v %v, %d notes", again, err, len(sim.State().CreditNotes))
	}
}
