package syspro

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current request XML")

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// TestRequestXMLMatchesGolden pins the exact XmlParameters and XmlIn sent per business object, so
// any change to the wire is a reviewed diff of testdata/golden.
func TestRequestXMLMatchesGolden(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	limit := dec("5000")
	onHold := false
	order := SalesOrder{
		CustomerPoNumber: "#BBQ1001", Customer: "WEBS01", OrderDate: day, Warehouse: "WEBS",
		ShipAddress: [5]string{"Unit 7", "Mill Lane"}, ShipPostalCode: "BB10 2TP", Email: "a&b@example.com",
		Lines: []SalesOrderLine{
			{StockCode: "BRIQ0152", Warehouse: "WEBS", Quantity: dec("1"), Uom: "EA", Price: dec("8")},
			{StockCode: "B100", Quantity: dec("2.5"), Uom: "KG", Price: dec("12.35")},
		},
	}
	cases := []struct {
		name  string
		build func() (string, string, error)
	}{
		{"sortoi", func() (string, string, error) { return SalesOrderXML(order, SalesOrderOptions{}) }},
		{"sortoi_validate", func() (string, string, error) { return SalesOrderXML(order, SalesOrderOptions{ValidateOnly: true}) }},
		{"sorqry", func() (string, string, error) { x, err := SalesOrderQueryXML("000812"); return "", x, err }},
		{"comfnd_sormaster", func() (string, string, error) { x, err := FindSalesOrdersXML("WEBS01", "#BBQ1001"); return "", x, err }},
		{"comfnd_arcshjnldet", func() (string, string, error) { x, err := FindArPaymentsXML("WEBS01", "PAY-1001"); return "", x, err }},
		{"comfnd_genjournalctl", func() (string, string, error) { x, err := FindGlJournalsXML("SETTLE-42"); return "", x, err }},
		{"sortos", func() (string, string, error) {
			return OrderStatusChangeXML(OrderStatusChange{SalesOrder: "000812", CurrentStatus: OrderStatusOpen, NewStatus: OrderStatusReadyToInvoice})
		}},
		{"invqry", func() (string, string, error) { x, err := StockQueryXML("1003", "P0"); return "", x, err }},
		{"arsqry", func() (string, string, error) { x, err := CustomerQueryXML("000001"); return "", x, err }},
		{"arsscs", func() (string, string, error) {
			return CustomerSetupXML(CustomerSetup{Customer: "WEBS02", Name: "Web Shop 2", Branch: "HQ", Currency: "GBP",
				CreditLimit: &limit, Email: "shop@example.com", SoldToAddr: [5]string{"1 High St"}, OnHold: &onHold})
		}},
		{"arstpy", func() (string, string, error) {
			return ArPaymentXML(ArPayment{Customer: "000001", Bank: "GB", PaymentType: PaymentTypeCheck, Reference: "PAY-1",
				PaymentDate: day, Invoices: []InvoicePayment{{Invoice: "100466", Amount: dec("20")}}, Unapplied: dec("10.00")})
		}},
		{"sortch", func() (string, string, error) {
			return CreditNoteHeaderXML(CreditNote{Customer: "WEBS01", CustomerPoNumber: "#BBQ1001", CreditNoteDate: day, InvoiceNumber: "100466"})
		}},
		{"sortcl", func() (string, string, error) {
			return CreditNoteLinesXML("000900", []CreditNoteLine{{CreditReason: "RT", StockCode: "BRIQ0152", Warehouse: "WEBS", Quantity: dec("1"), Uom: "EA", Price: dec("8.00")}}, false)
		}},
		{"gentjl", func() (string, string, error) {
			return GlJournalXML(GlJournal{JournalDate: day, Reference: "SETTLE-42", PostingYear: 2026, PostingPeriod: 4, Entries: []GlJournalEntry{
				{LedgerCode: "1000-000", Amount: dec("97.50"), Comment: "bank"},
				{LedgerCode: "6100-000", Amount: dec("2.50"), Comment: "fees"},
				{LedgerCode: "1200-000", Amount: dec("-100.00"), Comment: "card clearing"},
			}})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			params, xmlIn, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			got := "XmlParameters:\n" + params + "\n\nXmlIn:\n" + xmlIn + "\n"
			path := filepath.Join("testdata", "golden", tc.name+".txt")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestRequestXMLMatchesGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("request XML differs from %s\n got: %s\nwant: %s", path, got, want)
			}
		})
	}
}

// TestRequestRejectsWhatSysproWould covers the checks made before anything is sent.
func TestRequestRejectsWhatSysproWould(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		build func() error
	}{
		{"price with three decimals", func() error {
			_, _, err := SalesOrderXML(SalesOrder{CustomerPoNumber: "P", Customer: "C", Lines: []SalesOrderLine{{StockCode: "S", Quantity: dec("1"), Price: dec("8.005")}}}, SalesOrderOptions{})
			return err
		}},
		{"order without lines", func() error {
			_, _, err := SalesOrderXML(SalesOrder{CustomerPoNumber: "P", Customer: "C"}, SalesOrderOptions{})
			return err
		}},
		{"unbalanced journal", func() error {
			_, _, err := GlJournalXML(GlJournal{Entries: []GlJournalEntry{{LedgerCode: "A", Amount: dec("1")}, {LedgerCode: "B", Amount: dec("-0.99")}}})
			return err
		}},
		{"zero payment", func() error { _, _, err := ArPaymentXML(ArPayment{Customer: "C"}); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.build()
			if !IsBusiness(err) {
				t.Fatalf("err = %v, want a business error", err)
			}
		})
	}
}
