package sysprosim

import (
	"sort"

	"github.com/shopspring/decimal"
)

// Customer is an AR customer (ArCustomer).
type Customer struct {
	Customer       string          `json:"customer"`
	Name           string          `json:"name"`
	Email          string          `json:"email,omitempty"`
	Telephone      string          `json:"telephone,omitempty"`
	Currency       string          `json:"currency,omitempty"`
	Branch         string          `json:"branch,omitempty"`
	CreditLimit    decimal.Decimal `json:"creditLimit"`
	OnHold         bool            `json:"onHold,omitempty"`
	ShipAddress1   string          `json:"shipAddress1,omitempty"`
	ShipPostalCode string          `json:"shipPostalCode,omitempty"`
	SoldToAddr1    string          `json:"soldToAddr1,omitempty"`
	SoldToAddr2    string          `json:"soldToAddr2,omitempty"`
	SoldToAddr3    string          `json:"soldToAddr3,omitempty"`
	SoldToAddr4    string          `json:"soldToAddr4,omitempty"`
	SoldToAddr5    string          `json:"soldToAddr5,omitempty"`
	SoldPostalCode string          `json:"soldPostalCode,omitempty"`
}

// StockItem is a stock code (InvMaster) with its warehouses (InvWarehouse).
type StockItem struct {
	StockCode    string            `json:"stockCode"`
	Description  string            `json:"description"`
	StockUom     string            `json:"stockUom"`
	ProductClass string            `json:"productClass,omitempty"`
	SellingPrice decimal.Decimal   `json:"sellingPrice"`
	Warehouses   []*WarehouseStock `json:"warehouses"`
}

// WarehouseStock is the quantity of one stock code in one warehouse. AvailableQty is on hand less
// allocated, as SYSPRO computes it.
type WarehouseStock struct {
	Warehouse      string          `json:"warehouse"`
	Description    string          `json:"description,omitempty"`
	QtyOnHand      decimal.Decimal `json:"qtyOnHand"`
	QtyAllocated   decimal.Decimal `json:"qtyAllocated"`
	QtyOnBackOrder decimal.Decimal `json:"qtyOnBackOrder"`
	UnitCost       decimal.Decimal `json:"unitCost"`
}

// AvailableQty is QtyOnHand less QtyAllocated.
func (w *WarehouseStock) AvailableQty() decimal.Decimal { return w.QtyOnHand.Sub(w.QtyAllocated) }

// SalesOrder is a sales order (SorMaster) with its stocked lines (SorDetail).
type SalesOrder struct {
	SalesOrder       string           `json:"salesOrder"`
	Customer         string           `json:"customer"`
	CustomerPoNumber string           `json:"customerPoNumber"`
	OrderStatus      string           `json:"orderStatus"`
	OrderDate        string           `json:"orderDate"`
	ReqShipDate      string           `json:"reqShipDate,omitempty"`
	ShipAddress1     string           `json:"shipAddress1,omitempty"`
	ShipPostalCode   string           `json:"shipPostalCode,omitempty"`
	Email            string           `json:"email,omitempty"`
	ShippingInstrs   string           `json:"shippingInstrs,omitempty"`
	Invoice          string           `json:"invoice,omitempty"`
	Lines            []SalesOrderLine `json:"lines"`
}

// Total is the sum of quantity times price over the order's lines.
func (o *SalesOrder) Total() decimal.Decimal {
	t := decimal.Zero
	for _, l := range o.Lines {
		t = t.Add(l.OrderQty.Mul(l.Price))
	}
	return t.Round(2)
}

// SalesOrderLine is one stocked line of a sales order.
type SalesOrderLine struct {
	Line           int             `json:"line"`
	CustomerPoLine string          `json:"customerPoLine,omitempty"`
	StockCode      string          `json:"stockCode"`
	Warehouse      string          `json:"warehouse"`
	OrderQty       decimal.Decimal `json:"orderQty"`
	AllocatedQty   decimal.Decimal `json:"allocatedQty"`
	BackOrderQty   decimal.Decimal `json:"backOrderQty"`
	Price          decimal.Decimal `json:"price"`
	Uom            string          `json:"uom,omitempty"`
}

// ArInvoice is an open AR item (ArInvoice): an invoice raised for a sales order or seeded.
type ArInvoice struct {
	Invoice     string          `json:"invoice"`
	Customer    string          `json:"customer"`
	SalesOrder  string          `json:"salesOrder,omitempty"`
	InvoiceDate string          `json:"invoiceDate"`
	Amount      decimal.Decimal `json:"amount"`
	Balance     decimal.Decimal `json:"balance"`
}

// ArPayment is one ARSTPY payment: applied to invoices and/or left unapplied.
type ArPayment struct {
	TrnYear      int                    `json:"trnYear"`
	TrnMonth     int                    `json:"trnMonth"`
	Journal      int                    `json:"journal"`
	Customer     string                 `json:"customer"`
	PaymentValue decimal.Decimal        `json:"paymentValue"`
	Reference    string                 `json:"reference,omitempty"`
	PaymentDate  string                 `json:"paymentDate"`
	Bank         string                 `json:"bank,omitempty"`
	PaymentType  string                 `json:"paymentType,omitempty"`
	Applications []ArPaymentApplication `json:"applications,omitempty"`
	Unapplied    decimal.Decimal        `json:"unapplied"`
}

// ArPaymentApplication is the part of a payment applied to one invoice.
type ArPaymentApplication struct {
	Invoice string          `json:"invoice"`
	Amount  decimal.Decimal `json:"amount"`
}

// CreditNote is a sales credit note: a SORTCH header plus the SORTCL lines added to it.
type CreditNote struct {
	CreditNoteNumber string           `json:"creditNoteNumber"`
	Customer         string           `json:"customer"`
	CustomerPoNumber string           `json:"customerPoNumber,omitempty"`
	InvoiceNumber    string           `json:"invoiceNumber,omitempty"`
	CreditNoteDate   string           `json:"creditNoteDate"`
	Lines            []CreditNoteLine `json:"lines"`
}

// Total is the sum of quantity times price over the credit note's lines.
func (c *CreditNote) Total() decimal.Decimal {
	t := decimal.Zero
	for _, l := range c.Lines {
		t = t.Add(l.OrderQty.Mul(l.Price))
	}
	return t.Round(2)
}

// CreditNoteLine is one SORTCL line.
type CreditNoteLine struct {
	StockCode    string          `json:"stockCode"`
	Warehouse    string          `json:"warehouse"`
	OrderQty     decimal.Decimal `json:"orderQty"`
	Price        decimal.Decimal `json:"price"`
	CreditReason string          `json:"creditReason,omitempty"`
}

// LedgerCode is a GL account (GenMaster).
type LedgerCode struct {
	LedgerCode  string          `json:"ledgerCode"`
	Description string          `json:"description"`
	OnHold      bool            `json:"onHold,omitempty"`
	Balance     decimal.Decimal `json:"balance"`
}

// GlPeriod names one GL period (a month of a year) that is open for posting.
type GlPeriod struct {
	Year   int `json:"year"`
	Period int `json:"period"`
}

// GlJournal is a posted GENTJL journal. Positive entry amounts are debits, negative credits.
type GlJournal struct {
	Year        int       `json:"year"`
	Period      int       `json:"period"`
	Journal     int       `json:"journal"`
	JournalDate string    `json:"journalDate"`
	Reference   string    `json:"reference,omitempty"`
	Entries     []GlEntry `json:"entries"`
}

// GlEntry is one line of a GL journal.
type GlEntry struct {
	LedgerCode  string          `json:"ledgerCode"`
	EntryAmount decimal.Decimal `json:"entryAmount"`
	Comment     string          `json:"comment,omitempty"`
}

// Snapshot is the whole simulator state, as GET /_sim/state returns it.
type Snapshot struct {
	Customers   []Customer   `json:"customers"`
	Stock       []StockItem  `json:"stock"`
	SalesOrders []SalesOrder `json:"salesOrders"`
	ArInvoices  []ArInvoice  `json:"arInvoices"`
	ArPayments  []ArPayment  `json:"arPayments"`
	CreditNotes []CreditNote `json:"creditNotes"`
	LedgerCodes []LedgerCode `json:"ledgerCodes"`
	OpenPeriods []GlPeriod   `json:"openPeriods"`
	GlJournals  []GlJournal  `json:"glJournals"`
	Sessions    int          `json:"sessions"`
}

// erpState is the data SYSPRO holds. The Server's mutex guards it.
type erpState struct {
	customers   map[string]*Customer
	stock       map[string]*StockItem
	orders      map[string]*SalesOrder
	orderSeq    []string
	invoices    map[string]*ArInvoice
	payments    []*ArPayment
	creditNotes map[string]*CreditNote
	creditSeq   []string
	ledger      map[string]*LedgerCode
	openPeriods map[GlPeriod]bool
	journals    []*GlJournal

	nextSalesOrder int
	nextInvoice    int
	nextCreditNote int
	nextCustomer   int
	nextArJournal  int
	nextGlJournal  int
}

func newERPState() *erpState {
	return &erpState{
		customers:      map[string]*Customer{},
		stock:          map[string]*StockItem{},
		orders:         map[string]*SalesOrder{},
		invoices:       map[string]*ArInvoice{},
		creditNotes:    map[string]*CreditNote{},
		ledger:         map[string]*LedgerCode{},
		openPeriods:    map[GlPeriod]bool{},
		nextSalesOrder: 1,
		nextInvoice:    100001,
		nextCreditNote: 1,
		nextCustomer:   1,
		nextArJournal:  1,
		nextGlJournal:  1,
	}
}

// snapshot deep-copies the state into sorted slices.
func (s *erpState) snapshot() Snapshot {
	snap := Snapshot{}
	for _, k := range sortedKeys(s.customers) {
		snap.Customers = append(snap.Customers, *s.customers[k])
	}
	for _, k := range sortedKeys(s.stock) {
		it := *s.stock[k]
		whs := make([]*WarehouseStock, len(it.Warehouses))
		for i, w := range it.Warehouses {
			c := *w
			whs[i] = &c
		}
		it.Warehouses = whs
		snap.Stock = append(snap.Stock, it)
	}
	for _, k := range s.orderSeq {
		o := *s.orders[k]
		o.Lines = append([]SalesOrderLine(nil), o.Lines...)
		snap.SalesOrders = append(snap.SalesOrders, o)
	}
	for _, k := range sortedKeys(s.invoices) {
		snap.ArInvoices = append(snap.ArInvoices, *s.invoices[k])
	}
	for _, p := range s.payments {
		c := *p
		c.Applications = append([]ArPaymentApplication(nil), p.Applications...)
		snap.ArPayments = append(snap.ArPayments, c)
	}
	for _, k := range s.creditSeq {
		c := *s.creditNotes[k]
		c.Lines = append([]CreditNoteLine(nil), c.Lines...)
		snap.CreditNotes = append(snap.CreditNotes, c)
	}
	for _, k := range sortedKeys(s.ledger) {
		snap.LedgerCodes = append(snap.LedgerCodes, *s.ledger[k])
	}
	for p := range s.openPeriods {
		snap.OpenPeriods = append(snap.OpenPeriods, p)
	}
	sort.Slice(snap.OpenPeriods, func(i, j int) bool {
		a, b := snap.OpenPeriods[i], snap.OpenPeriods[j]
		return a.Year < b.Year || (a.Year == b.Year && a.Period < b.Period)
	})
	for _, j := range s.journals {
		c := *j
		c.Entries = append([]GlEntry(nil), j.Entries...)
		snap.GlJournals = append(snap.GlJournals, c)
	}
	return snap
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
