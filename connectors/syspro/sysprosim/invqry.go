package sysprosim

import (
	"strings"
)

// invqry is INVQRY, the inventory query: Key/StockCode in, InvQuery{StockItem, WarehouseItem*} out
// with padded quantities and their Edited_ twins. Filter/Warehouse FilterType="L" with a
// comma-separated FilterValue limits the warehouses; FilterType="A" (or none) returns all.
func (s *Server) invqry(c *boCall) string {
	code := c.doc.get("Key", "StockCode")
	it, ok := s.erp.stock[code]
	if !ok {
		return "ERROR: Stock code '" + code + "' not found"
	}
	filter := map[string]bool{}
	if f := c.doc.child("Filter").child("Warehouse"); f != nil && strings.EqualFold(f.attrs["filtertype"], "L") {
		for _, w := range strings.Split(f.attrs["filtervalue"], ",") {
			filter[strings.TrimSpace(w)] = true
		}
	}
	x := newXMLOut("InvQuery")
	x.open("StockItem")
	x.leaf("StockCode", it.StockCode).leaf("Description", it.Description).leaf("StockUom", it.StockUom)
	x.leaf("ProductClass", it.ProductClass)
	x.leaf("SellingPrice", padMoney(it.SellingPrice)).leaf("Edited_SellingPrice", it.SellingPrice.StringFixed(2))
	x.close()
	for _, w := range it.Warehouses {
		if len(filter) > 0 && !filter[w.Warehouse] {
			continue
		}
		x.open("WarehouseItem")
		x.leaf("Warehouse", w.Warehouse).leaf("Description", w.Description)
		x.leaf("QtyOnHand", padQty(w.QtyOnHand)).leaf("Edited_QtyOnHand", w.QtyOnHand.StringFixed(3))
		x.leaf("AvailableQty", padQty(w.AvailableQty())).leaf("Edited_AvailableQty", w.AvailableQty().StringFixed(3))
		x.leaf("QtyOnOrder", padQty(zero)).leaf("Edited_QtyOnOrder", zero.StringFixed(3))
		x.leaf("QtyOnBackOrder", padQty(w.QtyOnBackOrder)).leaf("Edited_QtyOnBackOrder", w.QtyOnBackOrder.StringFixed(3))
		x.leaf("QtyAllocated", padQty(w.QtyAllocated)).leaf("Edited_QtyAllocated", w.QtyAllocated.StringFixed(3))
		x.leaf("UnitCost", padMoney(w.UnitCost)).leaf("Edited_UnitCost", w.UnitCost.StringFixed(2))
		x.close()
	}
	return x.String()
}
