package sysprosim

import (
	"fmt"
	"strings"
)

// sortch is SORTCH, the credit note header: each Item{Customer, CreditNoteNumber (blank =
// auto-number), CustomerPoNumber, CreditNoteDate, InvoiceNumber} opens a credit note that SORTCL
// lines then fill. The output keeps the document's root, lower-cased, with Item/Key/CreditNoteNumber.
func (s *Server) sortch(c *boCall) string {
	dry := c.dryRun()
	x := newXMLOut(strings.ToLower(c.doc.name))
	processed, invalid := 0, 0
	for i, it := range c.doc.all("Item") {
		cust, number, inv := it.get("Customer"), it.get("CreditNoteNumber"), it.get("InvoiceNumber")
		var field, value string
		var e *boError
		switch invRec, invOK := s.erp.invoices[inv]; {
		case s.erp.customers[cust] == nil:
			field, value, e = "Customer", cust, errCustomerNotFound(cust)
		case number != "" && s.erp.creditNotes[number] != nil:
			field, value, e = "CreditNoteNumber", number, errf(ErrNoCreditNoteExists, "Credit note '%s' already exists", number)
		case inv != "" && (!invOK || invRec.Customer != cust):
			field, value, e = "InvoiceNumber", inv, errf(ErrNoInvoiceNotFound, "Invoice '%s' not found for customer '%s'", inv, cust)
		default:
			e = checkDate(it.get("CreditNoteDate"))
			field, value = "CreditNoteDate", it.get("CreditNoteDate")
		}
		x.open("Item")
		if e != nil {
			invalid++
			x.fieldError(field, value, e)
		} else {
			processed++
			if !dry {
				if number == "" {
					number = fmt.Sprintf("C%05d", s.erp.nextCreditNote)
					s.erp.nextCreditNote++
				}
				date := it.get("CreditNoteDate")
				if date == "" {
					date = s.clock.Now().Format("2006-01-02")
				}
				s.erp.creditNotes[number] = &CreditNote{CreditNoteNumber: number, Customer: cust,
					CustomerPoNumber: it.get("CustomerPoNumber"), InvoiceNumber: inv, CreditNoteDate: date}
				s.erp.creditSeq = append(s.erp.creditSeq, number)
			}
			x.open("Key").leaf("CreditNoteNumber", number).leaf("Customer", cust).close()
		}
		x.leaf("ItemNumber", counter(i+1))
		x.close()
	}
	x.open("StatusOfItems").leaf("ItemsProcessed", counter(processed)).leaf("ItemsInvalid", counter(invalid))
	return x.String()
}

// sortcl is SORTCL, the credit note lines: each Item{CreditNoteNumber, CreditReason, StockCode,
// Warehouse, OrderQty, Price} adds a line to an open credit note, returns the quantity to stock and,
// when the credit note names an invoice, reduces that invoice's balance.
func (s *Server) sortcl(c *boCall) string {
	dry := c.dryRun()
	x := newXMLOut(strings.ToLower(c.doc.name))
	processed, invalid := 0, 0
	for i, it := range c.doc.all("Item") {
		number, code, wh := it.get("CreditNoteNumber"), it.get("StockCode"), it.get("Warehouse")
		cn := s.erp.creditNotes[number]
		var field, value string
		var e *boError
		qty, qe := parseQty("Order quantity", it.get("OrderQty"))
		price, pe := parseMoney("Price", it.get("Price"))
		var w *WarehouseStock
		if item := s.erp.stock[code]; item != nil {
			if wh == "" && len(item.Warehouses) > 0 {
				wh = item.Warehouses[0].Warehouse
			}
			w = s.warehouseStock(code, wh)
		}
		switch {
		case cn == nil:
			field, value, e = "CreditNoteNumber", number, errf(ErrNoCreditNoteNotFound, "Credit note '%s' not found", number)
		case s.erp.stock[code] == nil:
			field, value, e = "StockCode", code, errStockNotFound(code)
		case w == nil:
			field, value, e = "Warehouse", wh, errf(ErrNoNotInWarehouse, "Stock code '%s' is not stocked in warehouse '%s'", code, wh)
		case qe != nil || !qty.IsPositive():
			field, value, e = "OrderQty", it.get("OrderQty"), errf(ErrNoNotNumeric, "Order quantity '%s' is not numeric", it.get("OrderQty"))
		case pe != nil:
			field, value, e = "Price", it.get("Price"), pe
		case cn.InvoiceNumber != "" && qty.Mul(price).Round(2).GreaterThan(s.erp.invoices[cn.InvoiceNumber].Balance):
			field, value, e = "Price", it.get("Price"), errf(ErrNoOverPayment, "Credit value %s exceeds the balance of invoice '%s'",
				qty.Mul(price).StringFixed(2), cn.InvoiceNumber)
		}
		x.open("Item")
		if e != nil {
			invalid++
			x.fieldError(field, value, e)
		} else {
			processed++
			if !dry {
				cn.Lines = append(cn.Lines, CreditNoteLine{StockCode: code, Warehouse: wh, OrderQty: qty, Price: price,
					CreditReason: it.get("CreditReason")})
				w.QtyOnHand = w.QtyOnHand.Add(qty)
				if inv := s.erp.invoices[cn.InvoiceNumber]; inv != nil {
					inv.Balance = inv.Balance.Sub(qty.Mul(price).Round(2))
				}
			}
			x.open("Key").leaf("CreditNoteNumber", number).leaf("Line", fmt.Sprintf("%04d", len(cn.Lines))).close()
		}
		x.leaf("ItemNumber", counter(i+1))
		x.close()
	}
	x.open("StatusOfItems").leaf("ItemsProcessed", counter(processed)).leaf("ItemsInvalid", counter(invalid))
	return x.String()
}
