package sysprosim

import (
	"fmt"
	"strings"
)

// closedStatuses cannot change any more.
var closedStatuses = map[string]bool{"9": true, "*": true, `\`: true}

// settableStatuses are the NewOrderStatus values SORTOS accepts.
var settableStatuses = map[string]bool{"1": true, "2": true, "3": true, "4": true, "8": true, "9": true, "S": true, `\`: true}

// sortos is SORTOS, the sales order status change. Completing an order (9) ships its quantities
// from stock and raises an AR invoice for the order total; cancelling it (\) releases its
// allocations and back orders. Complete and cancelled orders cannot change again.
func (s *Server) sortos(c *boCall) string {
	items := c.doc.all("Item")
	errs := make([]*boError, len(items))
	anyInvalid := false
	for i, it := range items {
		errs[i] = s.checkStatusChange(it)
		anyInvalid = anyInvalid || errs[i] != nil
	}
	post := c.mayPost(anyInvalid)
	x := newXMLOut("postsororderstatus")
	processed, invalid := 0, 0
	for i, it := range items {
		number, newStatus := it.get("SalesOrder"), strings.ToUpper(it.get("NewOrderStatus"))
		x.open("Item")
		if errs[i] != nil {
			invalid++
			x.fieldError("SalesOrder", number, errs[i])
		} else {
			processed++
			o := s.erp.orders[number]
			old := o.OrderStatus
			if post {
				s.changeStatus(o, newStatus)
			}
			x.open("Order").leaf("SalesOrder", number).leaf("OrderStatus", old).leaf("NewOrderStatus", newStatus).close()
		}
		x.leaf("ItemNumber", counter(i+1))
		x.close()
	}
	x.open("StatusOfItems").leaf("ItemsProcessed", counter(processed)).leaf("ItemsInvalid", counter(invalid))
	return x.String()
}

// checkStatusChange validates one SORTOS item. The caller holds s.mu.
func (s *Server) checkStatusChange(it *xmlNode) *boError {
	number := it.get("SalesOrder")
	o, ok := s.erp.orders[number]
	if !ok {
		return errf(ErrNoSalesOrderNotFound, "Sales order '%s' not found", number)
	}
	if cur := it.get("OrderStatus"); cur != "" && cur != o.OrderStatus {
		return errf(ErrNoStatusTransition, "Sales order '%s' is at status '%s', not '%s'", number, o.OrderStatus, cur)
	}
	newStatus := strings.ToUpper(it.get("NewOrderStatus"))
	if !settableStatuses[newStatus] {
		return errf(ErrNoStatusTransition, "New order status '%s' is invalid", newStatus)
	}
	if closedStatuses[o.OrderStatus] {
		return errf(ErrNoStatusTransition, "Sales order '%s' status can only be changed if the order is not complete or cancelled (status '%s')", number, o.OrderStatus)
	}
	return nil
}

// changeStatus applies a validated status change. The caller holds s.mu.
func (s *Server) changeStatus(o *SalesOrder, newStatus string) {
	switch newStatus {
	case "9":
		for _, l := range o.Lines {
			w := s.warehouseStock(l.StockCode, l.Warehouse)
			if w != nil {
				w.QtyOnHand = w.QtyOnHand.Sub(l.OrderQty)
				w.QtyAllocated = w.QtyAllocated.Sub(l.AllocatedQty)
				w.QtyOnBackOrder = w.QtyOnBackOrder.Sub(l.BackOrderQty)
			}
		}
		inv := &ArInvoice{Invoice: fmt.Sprintf("%06d", s.erp.nextInvoice), Customer: o.Customer, SalesOrder: o.SalesOrder,
			InvoiceDate: s.clock.Now().Format("2006-01-02"), Amount: o.Total(), Balance: o.Total()}
		s.erp.nextInvoice++
		s.erp.invoices[inv.Invoice] = inv
		o.Invoice = inv.Invoice
	case `\`:
		for _, l := range o.Lines {
			w := s.warehouseStock(l.StockCode, l.Warehouse)
			if w != nil {
				w.QtyAllocated = w.QtyAllocated.Sub(l.AllocatedQty)
				w.QtyOnBackOrder = w.QtyOnBackOrder.Sub(l.BackOrderQty)
			}
		}
	}
	o.OrderStatus = newStatus
}

// warehouseStock finds a stock code's warehouse record, or nil. The caller holds s.mu.
func (s *Server) warehouseStock(code, warehouse string) *WarehouseStock {
	it, ok := s.erp.stock[code]
	if !ok {
		return nil
	}
	for _, w := range it.Warehouses {
		if w.Warehouse == warehouse {
			return w
		}
	}
	return nil
}
