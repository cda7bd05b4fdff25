package sysprosim

import (
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Operator is a SYSPRO operator allowed to log on.
type Operator struct {
	Code     string `json:"code"`
	Password string `json:"password"`
	// Seats is how many sessions the operator may hold at once; a further Logon evicts the oldest.
	// Zero means Options.SeatsPerOperator.
	Seats int `json:"seats,omitempty"`
	// LicensedBusinessObjects limits the business objects the operator may call. Empty means every
	// business object the simulator implements.
	LicensedBusinessObjects []string `json:"licensedBusinessObjects,omitempty"`
}

// Company is a SYSPRO company an operator can log on to.
type Company struct {
	ID       string `json:"id"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

// Seed is data loaded into the simulator: by Go (Options.Seed, Server.Seed) or from a JSON fixture
// (LoadFixture). Records with a key already present replace the old record.
type Seed struct {
	Operators   []Operator   `json:"operators,omitempty"`
	Companies   []Company    `json:"companies,omitempty"`
	Customers   []Customer   `json:"customers,omitempty"`
	Stock       []StockItem  `json:"stock,omitempty"`
	ArInvoices  []ArInvoice  `json:"arInvoices,omitempty"`
	LedgerCodes []LedgerCode `json:"ledgerCodes,omitempty"`
	// OpenPeriods lists the GL periods open for posting. When a seed leaves it empty and no period is
	// open yet, the current and previous month of the simulator clock are opened.
	OpenPeriods []GlPeriod `json:"openPeriods,omitempty"`
}

// DefaultSeed is what New loads when Options.Seed is nil:
//
//   - operator ADMIN (password "admin", 1 seat, every business object), company EDU1 ("Payhub
//     Education Company", no password) — the defaults in INTERFACES.md;
//   - customers 000001 (Bayside Bikes, limit 10000.00), 000002 (Outdoor World, limit 5000.00),
//     WEBS01 (Web Sales, limit 100000.00) and HOLD01 (Slow Payer Ltd, on hold);
//   - stock codes A100 (bike helmet, 49.99; 100 in FG, 20 in WEB), B100 (water bottle, 8.00;
//     500 in FG), C200 (child seat, 120.00; 3 in FG), D300 (tyre lever, 2.50; none in FG) and
//     WEBSALE (the "web sale" item that orders without lines are booked to; 1,000,000 in FG);
//   - invoice 100466 for 000001, balance 250.00;
//   - ledger codes 1000 Bank, 1050 Card clearing, 1100 Debtors control, 2100 VAT control, 4000
//     Sales, 4100 Card fees, 4150 Chargebacks, 7900 FX and rounding differences and 9999 Suspense
//     (on hold);
//   - the current and previous month of the clock open for GL posting.
func DefaultSeed() Seed {
	d := decimal.RequireFromString
	return Seed{
		Operators: []Operator{{Code: "ADMIN", Password: "admin"}},
		Companies: []Company{{ID: "EDU1", Name: "Payhub Education Company"}},
		Customers: []Customer{
			{Customer: "000001", Name: "Bayside Bikes", Email: "accounts@bayside.example", Currency: "GBP", Branch: "HQ", CreditLimit: d("10000.00"), ShipAddress1: "1 Harbour Road", ShipPostalCode: "BS1 1AA"},
			{Customer: "000002", Name: "Outdoor World", Email: "ap@outdoor.example", Currency: "GBP", Branch: "HQ", CreditLimit: d("5000.00"), ShipAddress1: "22 Fell Lane", ShipPostalCode: "LA9 4QQ"},
			{Customer: "WEBS01", Name: "Web Sales", Currency: "GBP", Branch: "HQ", CreditLimit: d("100000.00")},
			{Customer: "HOLD01", Name: "Slow Payer Ltd", Currency: "GBP", Branch: "HQ", CreditLimit: d("100.00"), OnHold: true},
		},
		Stock: []StockItem{
			{StockCode: "A100", Description: "Bike helmet", StockUom: "EA", ProductClass: "ACC", SellingPrice: d("49.99"), Warehouses: []*WarehouseStock{
				{Warehouse: "FG", Description: "Finished goods", QtyOnHand: d("100"), UnitCost: d("21.50")},
				{Warehouse: "WEB", Description: "Web store", QtyOnHand: d("20"), UnitCost: d("21.50")},
			}},
			{StockCode: "B100", Description: "Water bottle", StockUom: "EA", ProductClass: "ACC", SellingPrice: d("8.00"), Warehouses: []*WarehouseStock{
				{Warehouse: "FG", Description: "Finished goods", QtyOnHand: d("500"), UnitCost: d("2.10")},
			}},
			{StockCode: "C200", Description: "Child seat", StockUom: "EA", ProductClass: "SEAT", SellingPrice: d("120.00"), Warehouses: []*WarehouseStock{
				{Warehouse: "FG", Description: "Finished goods", QtyOnHand: d("3"), UnitCost: d("64.00")},
			}},
			{StockCode: "D300", Description: "Tyre lever", StockUom: "EA", ProductClass: "ACC", SellingPrice: d("2.50"), Warehouses: []*WarehouseStock{
				{Warehouse: "FG", Description: "Finished goods", QtyOnHand: d("0"), UnitCost: d("0.40")},
			}},
			{StockCode: "WEBSALE", Description: "Web sale", StockUom: "EA", ProductClass: "WEB", SellingPrice: d("0.00"), Warehouses: []*WarehouseStock{
				{Warehouse: "FG", Description: "Finished goods", QtyOnHand: d("1000000"), UnitCost: d("0.00")},
			}},
		},
		ArInvoices: []ArInvoice{
			{Invoice: "100466", Customer: "000001", InvoiceDate: "2026-01-15", Amount: d("250.00"), Balance: d("250.00")},
		},
		LedgerCodes: []LedgerCode{
			{LedgerCode: "1000", Description: "Bank"},
			{LedgerCode: "1050", Description: "Card clearing"},
			{LedgerCode: "1100", Description: "Debtors control"},
			{LedgerCode: "2100", Description: "VAT control"},
			{LedgerCode: "4000", Description: "Sales"},
			{LedgerCode: "4100", Description: "Card fees"},
			{LedgerCode: "4150", Description: "Chargebacks"},
			{LedgerCode: "7900", Description: "FX and rounding differences"},
			{LedgerCode: "9999", Description: "Suspense", OnHold: true},
		},
	}
}

// Seed loads data into a running simulator. It is safe to call at any time.
func (s *Server) Seed(seed Seed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range seed.Operators {
		o.Code = strings.ToUpper(strings.TrimSpace(o.Code))
		s.operators[o.Code] = o
	}
	for _, c := range seed.Companies {
		c.ID = strings.ToUpper(strings.TrimSpace(c.ID))
		s.companies[c.ID] = c
	}
	st := s.erp
	for _, c := range seed.Customers {
		c := c
		st.customers[c.Customer] = &c
	}
	for _, it := range seed.Stock {
		it := it
		whs := make([]*WarehouseStock, len(it.Warehouses))
		for i, w := range it.Warehouses {
			c := *w
			whs[i] = &c
		}
		it.Warehouses = whs
		st.stock[it.StockCode] = &it
	}
	for _, inv := range seed.ArInvoices {
		inv := inv
		st.invoices[inv.Invoice] = &inv
	}
	for _, l := range seed.LedgerCodes {
		l := l
		st.ledger[l.LedgerCode] = &l
	}
	for _, p := range seed.OpenPeriods {
		st.openPeriods[p] = true
	}
	if len(st.openPeriods) == 0 {
		now := s.clock.Now()
		prev := now.AddDate(0, -1, 0)
		st.openPeriods[GlPeriod{Year: now.Year(), Period: int(now.Month())}] = true
		st.openPeriods[GlPeriod{Year: prev.Year(), Period: int(prev.Month())}] = true
	}
}

// periodOf is the GL period a date falls in.
func periodOf(t time.Time) GlPeriod { return GlPeriod{Year: t.Year(), Period: int(t.Month())} }
