package sysprosim

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// sortoiOrder is one validated <Orders> element of a SORTOI document.
type sortoiOrder struct {
	poNumber   string
	action     string
	order      *SalesOrder
	errs       []string // rendered element-level errors, in document order
	warnings   []string
	backOrders bool
	// allocations to apply: index into order.Lines -> warehouse record
	whs []*WarehouseStock
}

// sortoi is SORTOI, Sales Order Transaction Posting: adds sales orders with stocked lines,
// validating customer, stock codes, warehouses, quantities, prices and dates; allocates stock or
// back-orders it; assigns six-digit order numbers. Process=Validate or ValidateOnly=Y only validate.
// Comment, freight and miscellaneous-charge lines are accepted and ignored.
func (s *Server) sortoi(c *boCall) string {
	p := c.params.child("Parameters")
	ignoreWarnings := strings.ToUpper(p.get("IgnoreWarnings"))

	// Quantities allocated by earlier orders of this same document, so one document cannot
	// allocate the same stock twice.
	pending := map[*WarehouseStock]decimal.Decimal{}
	var orders []*sortoiOrder
	for _, o := range c.doc.all("Orders") {
		so := s.validateOrder(p, o, pending)
		if ignoreWarnings == "N" && len(so.warnings) > 0 {
			for _, w := range so.warnings {
				so.errs = append(so.errs, renderFieldError("Warning", "", errf(ErrNoBackOrder, "%s", w)))
			}
			so.warnings = nil
		}
		orders = append(orders, so)
	}
	anyInvalid := false
	for _, so := range orders {
		anyInvalid = anyInvalid || len(so.errs) > 0
	}

	mayPost := c.mayPost(anyInvalid)
	x := newXMLOut("SalesOrders")
	processed, invalid, warned := 0, 0, 0
	for _, so := range orders {
		post := mayPost && len(so.errs) == 0
		number := ""
		if post {
			number = s.postOrder(so)
		}
		x.open("Order")
		x.leaf("CustomerPoNumber", so.poNumber)
		x.leaf("SalesOrder", number)
		x.leaf("OrderActionType", so.action)
		for _, e := range so.errs {
			x.b.WriteString(e)
		}
		if len(so.errs) == 0 {
			processed++
			if so.backOrders && number != "" {
				x.leaf("BackOrderComment", fmt.Sprintf("One or more lines have been placed on back order for sales order '%s'", number))
			}
			if len(so.warnings) > 0 {
				warned++
				x.open("WarningMessages")
				for _, w := range so.warnings {
					x.leaf("WarningDescription", w)
				}
				x.close()
			}
		} else {
			invalid++
		}
		x.close()
	}
	x.open("StatusOfItems")
	x.leaf("ItemsProcessed", counter(processed))
	x.leaf("ItemsRejectedWithWarnings", counter(warned))
	x.leaf("ItemsInvalid", counter(invalid))
	return x.String()
}

// validateOrder checks one <Orders> element and plans its allocations. The caller holds s.mu.
func (s *Server) validateOrder(p, o *xmlNode, pending map[*WarehouseStock]decimal.Decimal) *sortoiOrder {
	h := o.child("OrderHeader")
	so := &sortoiOrder{poNumber: h.get("CustomerPoNumber"), action: strings.ToUpper(h.get("OrderActionType"))}
	if so.action == "" {
		so.action = "A"
	}
	fail := func(name, value string, e *boError) { so.errs = append(so.errs, renderFieldError(name, value, e)) }
	if so.action != "A" {
		fail("OrderActionType", so.action, errf(ErrNoUnsupportedAction, "Order action type '%s' is not supported", so.action))
		return so
	}
	cust := h.get("Customer")
	if cust == "" {
		cust = p.get("CustomerToUse")
	}
	c, ok := s.erp.customers[cust]
	switch {
	case cust == "":
		fail("Customer", cust, errSpaces("OrderHeader", "Customer"))
	case !ok:
		fail("Customer", cust, errCustomerNotFound(cust))
	case c.OnHold && !p.flag("AcceptOrdersIfNoCredit"):
		fail("Customer", cust, errf(ErrNoCustomerOnHold, "Customer '%s' is on hold", cust))
	}
	for _, f := range []string{"OrderDate", "RequestedShipDate"} {
		if e := checkDate(h.get(f)); e != nil {
			fail(f, h.get(f), e)
		}
	}
	number := h.get("SalesOrder")
	if number != "" {
		if _, exists := s.erp.orders[number]; exists {
			fail("SalesOrder", number, errf(ErrNoSalesOrderExists, "Sales order '%s' already exists", number))
		}
	}
	if p.flag("CheckForCustomerPoNumbers") && so.poNumber != "" {
		for _, existing := range s.erp.orders {
			if existing.Customer == cust && existing.CustomerPoNumber == so.poNumber && existing.OrderStatus != `\` {
				fail("CustomerPoNumber", so.poNumber, errf(ErrNoDuplicatePoNumber,
					"Customer purchase order number '%s' already exists for customer '%s' on sales order '%s'",
					so.poNumber, cust, existing.SalesOrder))
				break
			}
		}
	}
	orderDate := h.get("OrderDate")
	if orderDate == "" {
		orderDate = s.clock.Now().Format("2006-01-02")
	}
	so.order = &SalesOrder{
		SalesOrder: number, Customer: cust, CustomerPoNumber: so.poNumber, OrderDate: orderDate,
		ReqShipDate: h.get("RequestedShipDate"), ShipAddress1: h.get("ShipAddress1"),
		ShipPostalCode: h.get("ShipPostalCode"), Email: h.get("Email"), ShippingInstrs: h.get("ShippingInstrs"),
	}

	defaultAlloc := strings.ToUpper(p.get("AllocationAction"))
	for i, l := range o.child("OrderDetails").all("StockLine") {
		poLine := l.get("CustomerPoLine")
		if poLine == "" {
			poLine = fmt.Sprintf("%04d", i+1)
		}
		lineErrs := len(so.errs)
		lineFail := func(name, value string, e *boError) {
			so.errs = append(so.errs, "<StockLine>\n<CustomerPoLine>"+escapeXML(poLine)+"</CustomerPoLine>\n"+renderFieldError(name, value, e)+"</StockLine>\n")
		}
		code := l.get("StockCode")
		item, found := s.erp.stock[code]
		if code == "" {
			lineFail("StockCode", code, errSpaces("StockLine", "StockCode"))
			continue
		}
		if !found {
			lineFail("StockCode", code, errStockNotFound(code))
			continue
		}
		wh := l.get("Warehouse")
		if wh == "" {
			wh = h.get("Warehouse")
		}
		var whStock *WarehouseStock
		for _, w := range item.Warehouses {
			if wh == "" || w.Warehouse == wh {
				whStock = w
				break
			}
		}
		if whStock == nil {
			lineFail("Warehouse", wh, errf(ErrNoNotInWarehouse, "Stock code '%s' is not stocked in warehouse '%s'", code, wh))
		}
		qty, e := parseQty("Order quantity", l.get("OrderQty"))
		if e == nil && !qty.IsPositive() {
			e = errf(ErrNoNotNumeric, "Order quantity '%s' must be greater than zero", l.get("OrderQty"))
		}
		if e != nil {
			lineFail("OrderQty", l.get("OrderQty"), e)
		}
		price := item.SellingPrice
		if raw := l.get("Price"); raw != "" {
			if price, e = parseMoney("Price", raw); e != nil {
				lineFail("Price", raw, e)
			}
		}
		if len(so.errs) > lineErrs {
			continue
		}
		alloc := strings.ToUpper(l.get("AllocationAction"))
		if alloc == "" {
			alloc = defaultAlloc
		}
		allocated := decimal.Zero
		if alloc != "" {
			avail := whStock.AvailableQty().Sub(pending[whStock])
			allocated = decimal.Max(decimal.Zero, decimal.Min(avail, qty))
		}
		back := qty.Sub(allocated)
		if back.IsPositive() {
			so.backOrders = true
			so.warnings = append(so.warnings, fmt.Sprintf("Line %s for stock code '%s' was placed on back order", poLine, code))
		}
		pending[whStock] = pending[whStock].Add(allocated)
		so.order.Lines = append(so.order.Lines, SalesOrderLine{
			Line: len(so.order.Lines) + 1, CustomerPoLine: poLine, StockCode: code, Warehouse: whStock.Warehouse,
			OrderQty: qty, AllocatedQty: allocated, BackOrderQty: back, Price: price, Uom: l.get("OrderUom"),
		})
		so.whs = append(so.whs, whStock)
	}
	status := p.get("OrderStatus")
	switch {
	case status == "S" || status == "8" || status == "4":
	case so.backOrders:
		status = "2"
	default:
		status = "1"
	}
	so.order.OrderStatus = status
	return so
}

// postOrder stores a validated order and applies its allocations. The caller holds s.mu.
func (s *Server) postOrder(so *sortoiOrder) string {
	o := so.order
	if o.SalesOrder == "" {
		for {
			o.SalesOrder = fmt.Sprintf("%06d", s.erp.nextSalesOrder)
			s.erp.nextSalesOrder++
			if _, taken := s.erp.orders[o.SalesOrder]; !taken {
				break
			}
		}
	}
	for i, l := range o.Lines {
		w := so.whs[i]
		w.QtyAllocated = w.QtyAllocated.Add(l.AllocatedQty)
		w.QtyOnBackOrder = w.QtyOnBackOrder.Add(l.BackOrderQty)
	}
	s.erp.orders[o.SalesOrder] = o
	s.erp.orderSeq = append(s.erp.orderSeq, o.SalesOrder)
	return o.SalesOrder
}

// renderFieldError renders <name><Value/><ErrorNumber/><ErrorDescription/></name>.
func renderFieldError(name, value string, e *boError) string {
	x := &xmlOut{}
	x.fieldError(name, value, e)
	return x.b.String()
}
