package sysprosim

import (
	"fmt"
	"strconv"
	"strings"
)

// comfndTables are the tables the simulator's COMFND can search, with their columns in order.
var comfndTables = map[string][]string{
	"SORMASTER":  {"SalesOrder", "Customer", "CustomerPoNumber", "OrderStatus", "OrderDate"},
	"ARCUSTOMER": {"Customer", "Name", "Email", "CreditLimit"},
	"INVMASTER":  {"StockCode", "Description", "StockUom"},
	// ArCshJnlDet is the AR cash journal detail: one row per posted receipt, which is how a client
	// finds a payment it may already have posted (by customer and reference).
	"ARCSHJNLDET": {"TrnYear", "TrnMonth", "Journal", "Customer", "Reference", "PaymentValue"},
	// GenJournalCtl is the GL journal control table: one row per posted GENTJL journal, which is how
	// a client finds a journal it may already have posted (by reference). The Reference column holds
	// the JournalReference; that name is our reading of the schema, not checked on a live system.
	"GENJOURNALCTL": {"GlYear", "GlPeriod", "Journal", "JnlStatus", "Reference"},
}

// comfnd is COMFND, the generic finder: TableName, Columns, Where expressions (EQ and NE, combined
// left to right with And/Or; brackets are accepted and ignored), ReturnRows. It is how a client finds
// a sales order by customer PO number (TableName SorMaster, Where CustomerPoNumber EQ ...).
func (s *Server) comfnd(c *boCall) string {
	tableName := c.doc.get("TableName")
	cols, ok := comfndTables[strings.ToUpper(tableName)]
	if !ok {
		return "ERROR: e.net exception raised: Table '" + tableName + "' cannot be queried"
	}
	var want []string
	for _, col := range c.doc.child("Columns").all("Column") {
		want = append(want, strings.TrimSpace(col.text))
	}
	if len(want) == 0 {
		want = cols
	}
	limit, err := strconv.Atoi(c.doc.get("ReturnRows"))
	if err != nil || limit <= 0 {
		limit = 100
	}
	exprs := c.doc.child("Where").all("Expression")

	var rows []map[string]string
	for _, r := range s.comfndRows(strings.ToUpper(tableName)) {
		if matchWhere(r, exprs) {
			rows = append(rows, r)
			if len(rows) == limit {
				break
			}
		}
	}
	x := newXMLOut(tableName)
	x.open("HeaderDetails").leaf("TableName", tableName).open("Columns")
	for _, w := range want {
		x.leaf("Column", w)
	}
	x.close()
	if ob := c.doc.child("OrderBy").all("Column"); len(ob) > 0 {
		x.open("OrderBy")
		for _, o := range ob {
			x.leaf("Column", strings.TrimSpace(o.text))
		}
		x.close()
	}
	x.close()
	for _, r := range rows {
		x.open("Row")
		for _, w := range want {
			x.leaf(w, r[strings.ToLower(w)])
		}
		x.close()
	}
	x.leaf("RowsReturned", fmt.Sprintf("%8d", len(rows)))
	return x.String()
}

// comfndRows lists a table's rows keyed by lower-cased column name, in key order.
func (s *Server) comfndRows(table string) []map[string]string {
	var out []map[string]string
	switch table {
	case "SORMASTER":
		for _, k := range s.erp.orderSeq {
			o := s.erp.orders[k]
			out = append(out, map[string]string{"salesorder": o.SalesOrder, "customer": o.Customer,
				"customerponumber": o.CustomerPoNumber, "orderstatus": o.OrderStatus, "orderdate": o.OrderDate, "documenttype": "O"})
		}
		// Credit notes are SorMaster rows too (DocumentType C), so a client finds one by the
		// customer PO number it was given, as it finds an order.
		for _, k := range sortedKeys(s.erp.creditNotes) {
			cn := s.erp.creditNotes[k]
			out = append(out, map[string]string{"salesorder": cn.CreditNoteNumber, "customer": cn.Customer,
				"customerponumber": cn.CustomerPoNumber, "orderstatus": "9", "orderdate": cn.CreditNoteDate, "documenttype": "C"})
		}
	case "ARCUSTOMER":
		for _, k := range sortedKeys(s.erp.customers) {
			c := s.erp.customers[k]
			out = append(out, map[string]string{"customer": c.Customer, "name": c.Name, "email": c.Email,
				"creditlimit": padMoney(c.CreditLimit)})
		}
	case "ARCSHJNLDET":
		for _, p := range s.erp.payments {
			out = append(out, map[string]string{"trnyear": strconv.Itoa(p.TrnYear), "trnmonth": strconv.Itoa(p.TrnMonth),
				"journal": fmt.Sprintf("%10d", p.Journal), "customer": p.Customer, "reference": p.Reference,
				"paymentvalue": padMoney(p.PaymentValue)})
		}
	case "GENJOURNALCTL":
		// Journal is formatted as GENTJL's answer gives it; every stored journal is posted (P).
		for _, j := range s.erp.journals {
			out = append(out, map[string]string{"glyear": strconv.Itoa(j.Year), "glperiod": fmt.Sprintf("%02d", j.Period),
				"journal": fmt.Sprintf("%010d", j.Journal), "jnlstatus": "P", "reference": j.Reference})
		}
	case "INVMASTER":
		for _, k := range sortedKeys(s.erp.stock) {
			it := s.erp.stock[k]
			out = append(out, map[string]string{"stockcode": it.StockCode, "description": it.Description, "stockuom": it.StockUom})
		}
	}
	return out
}

// matchWhere evaluates the Where expressions left to right.
func matchWhere(row map[string]string, exprs []*xmlNode) bool {
	result := true
	for i, e := range exprs {
		v, known := row[strings.ToLower(e.get("Column"))]
		var m bool
		switch strings.ToUpper(e.get("Condition")) {
		case "NE":
			m = known && strings.TrimSpace(v) != e.get("Value")
		default:
			m = known && strings.TrimSpace(v) == e.get("Value")
		}
		if i == 0 {
			result = m
		} else if strings.EqualFold(e.get("AndOr"), "Or") {
			result = result || m
		} else {
			result = result && m
		}
	}
	return result
}
