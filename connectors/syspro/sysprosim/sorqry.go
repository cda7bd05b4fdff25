package sysprosim

// orderStatusDesc names SYSPRO's order status codes (syspro.md §3.2).
var orderStatusDesc = map[string]string{
	"0": "In process", "1": "Open order", "2": "Open back order", "3": "Released back order",
	"4": "In warehouse", "8": "To invoice", "9": "Complete", "S": "Suspense",
	"*": "Cancelled during entry", `\`: "Cancelled",
}

// sorqry is SORQRY, the sales order query: Key/SalesOrder in, a flat SorDetail out (the live SYSPRO 7
// shape), with stocked lines when Option/IncludeStockedLines=Y. The line shape is not in any public
// capture; the simulator writes <StockLine> elements. To find an order by customer PO number, use
// COMFND on SorMaster, which is what real SYSPRO offers.
func (s *Server) sorqry(c *boCall) string {
	number := c.doc.get("Key", "SalesOrder")
	o, ok := s.erp.orders[number]
	if !ok {
		if cn, ok := s.erp.creditNotes[number]; ok {
			return s.sorqryCreditNote(c, cn)
		}
		return "ERROR: Sales order '" + number + "' not found"
	}
	cust := s.erp.customers[o.Customer]
	name := ""
	if cust != nil {
		name = cust.Name
	}
	x := newXMLOut("SorDetail")
	x.leaf("SalesOrder", o.SalesOrder).leaf("DocumentType", "O").leaf("DocumentTypeDesc", "Order")
	x.leaf("Customer", o.Customer).leaf("CustomerName", name)
	x.leaf("OrderStatus", o.OrderStatus).leaf("OrderStatusDesc", orderStatusDesc[o.OrderStatus])
	x.leaf("CustomerPoNumber", o.CustomerPoNumber).leaf("OrderDate", o.OrderDate).leaf("ReqShipDate", o.ReqShipDate)
	x.leaf("ShippingInstrs", o.ShippingInstrs).leaf("ShippingInstrsCod", "")
	x.leaf("DeliveryNote", "").leaf("LastInvoice", o.Invoice).leaf("Branch", "HQ").leaf("Currency", "GBP")
	x.leaf("ShipAddress1", o.ShipAddress1).leaf("ShipPostalCode", o.ShipPostalCode).leaf("Email", o.Email)
	if c.doc.flag("Option", "IncludeStockedLines") {
		for _, l := range o.Lines {
			x.open("StockLine")
			x.leaf("SalesOrderLine", counter(l.Line)[2:]).leaf("CustomerPoLine", l.CustomerPoLine)
			x.leaf("StockCode", l.StockCode).leaf("Warehouse", l.Warehouse)
			x.leaf("OrderQty", padQty(l.OrderQty)).leaf("Edited_OrderQty", l.OrderQty.StringFixed(3))
			x.leaf("BackOrderQty", padQty(l.BackOrderQty)).leaf("Edited_BackOrderQty", l.BackOrderQty.StringFixed(3))
			x.leaf("Price", padMoney(l.Price)).leaf("Edited_Price", l.Price.StringFixed(2))
			x.close()
		}
	}
	return x.String()
}

// sorqryCreditNote answers SORQRY for a credit note, which SYSPRO keeps as a sales order of
// document type C: its header and, with IncludeStockedLines, its credited lines.
func (s *Server) sorqryCreditNote(c *boCall, cn *CreditNote) string {
	x := newXMLOut("SorDetail")
	x.leaf("SalesOrder", cn.CreditNoteNumber).leaf("DocumentType", "C").leaf("DocumentTypeDesc", "Credit note")
	x.leaf("Customer", cn.Customer).leaf("OrderStatus", "9").leaf("OrderStatusDesc", orderStatusDesc["9"])
	x.leaf("CustomerPoNumber", cn.CustomerPoNumber).leaf("OrderDate", cn.CreditNoteDate).leaf("Branch", "HQ").leaf("Currency", "GBP")
	if c.doc.flag("Option", "IncludeStockedLines") {
		for i, l := range cn.Lines {
			x.open("StockLine")
			x.leaf("SalesOrderLine", counter(i + 1)[2:]).leaf("StockCode", l.StockCode).leaf("Warehouse", l.Warehouse)
			x.leaf("OrderQty", padQty(l.OrderQty)).leaf("Price", padMoney(l.Price))
			x.close()
		}
	}
	return x.String()
}
