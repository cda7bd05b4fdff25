package sysprosim

import "github.com/shopspring/decimal"

// arsqry is ARSQRY, the customer query: Key/Customer in, ARStatement out with the customer header
// (name, contact, currency, hold flag, credit limit, sold-to address, balance) and, when
// Option/IncludeInvoices=Y, the open invoices. Leaf names beyond the root are not in a public
// capture (syspro.md §3.6); the simulator uses SYSPRO's field names.
func (s *Server) arsqry(c *boCall) string {
	code := c.doc.get("Key", "Customer")
	cu, ok := s.erp.customers[code]
	if !ok {
		return "ERROR: Customer '" + code + "' not found"
	}
	balance := decimal.Zero
	for _, inv := range s.erp.invoices {
		if inv.Customer == code {
			balance = balance.Add(inv.Balance)
		}
	}
	for _, cn := range s.erp.creditNotes {
		if cn.Customer == code && cn.InvoiceNumber == "" {
			balance = balance.Sub(cn.Total())
		}
	}
	for _, p := range s.erp.payments {
		if p.Customer == code {
			balance = balance.Sub(p.Unapplied)
		}
	}
	onHold := "N"
	if cu.OnHold {
		onHold = "Y"
	}
	x := newXMLOut("ARStatement")
	x.open("Header")
	x.leaf("Customer", cu.Customer).leaf("CustomerName", cu.Name).leaf("Email", cu.Email).leaf("Telephone", cu.Telephone)
	x.leaf("Currency", cu.Currency).leaf("Branch", cu.Branch).leaf("CustomerOnHold", onHold)
	x.leaf("SoldToAddr1", cu.SoldToAddr1).leaf("SoldToAddr2", cu.SoldToAddr2).leaf("SoldToAddr3", cu.SoldToAddr3)
	x.leaf("SoldToAddr4", cu.SoldToAddr4).leaf("SoldToAddr5", cu.SoldToAddr5).leaf("SoldPostalCode", cu.SoldPostalCode)
	x.leaf("CreditLimit", padMoney(cu.CreditLimit)).leaf("Edited_CreditLimit", cu.CreditLimit.StringFixed(2))
	x.leaf("CurrentBalance", padMoney(balance)).leaf("Edited_CurrentBalance", balance.StringFixed(2))
	x.close()
	if c.doc.flag("Option", "IncludeInvoices") {
		for _, k := range sortedKeys(s.erp.invoices) {
			inv := s.erp.invoices[k]
			if inv.Customer != code || (inv.Balance.IsZero() && !c.doc.flag("Option", "IncludeZeroBalances")) {
				continue
			}
			x.open("Invoice")
			x.leaf("Invoice", inv.Invoice).leaf("TrnType", "I").leaf("InvoiceDate", inv.InvoiceDate).leaf("SalesOrder", inv.SalesOrder)
			x.leaf("OrigInvValue", padMoney(inv.Amount)).leaf("InvoiceBal", padMoney(inv.Balance))
			x.close()
		}
	}
	return x.String()
}
