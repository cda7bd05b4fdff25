package syspro

import (
	"context"
	"encoding/xml"
	"strconv"
	"strings"
)

// BusinessObjectCOMFND is the generic table finder (Query/Query).
const BusinessObjectCOMFND = "COMFND"

// findReturnRowsDefault caps finder answers; a customer PO number should match one order.
const findReturnRowsDefault = 10

// SalesOrderRef is one SorMaster row found by customer PO number.
type SalesOrderRef struct {
	SalesOrder       string
	Customer         string
	CustomerPoNumber string
	OrderStatus      OrderStatus
}

type comfndQuery struct {
	XMLName    xml.Name `xml:"Query"`
	TableName  string
	ReturnRows int
	Columns    struct {
		Column []string
	}
	Where struct {
		Expression []comfndExpression
	}
	OrderBy struct {
		Column []string
	}
}

type comfndExpression struct {
	OpenBracket  string
	AndOr        string
	Column       string
	Condition    string
	Value        string
	CloseBracket string
}

// FindSalesOrdersXML renders the COMFND query behind FindSalesOrders. SORQRY can only be keyed
// by SalesOrder, so the PO lookup goes through SorMaster (syspro.md §3.5).
func FindSalesOrdersXML(customer, customerPoNumber string) (string, error) {
	var q comfndQuery
	q.TableName = "SorMaster"
	q.ReturnRows = findReturnRowsDefault
	q.Columns.Column = []string{"SalesOrder", "Customer", "CustomerPoNumber", "OrderStatus"}
	q.Where.Expression = []comfndExpression{
		{OpenBracket: "(", AndOr: "And", Column: "Customer", Condition: "EQ", Value: customer, CloseBracket: ")"},
		{OpenBracket: "(", AndOr: "And", Column: "CustomerPoNumber", Condition: "EQ", Value: customerPoNumber, CloseBracket: ")"},
	}
	q.OrderBy.Column = []string{"SalesOrder"}
	return marshalXML(q)
}

// FindSalesOrders returns the orders for customer carrying customerPoNumber, oldest number first.
func (c *Client) FindSalesOrders(ctx context.Context, customer, customerPoNumber string) ([]SalesOrderRef, error) {
	if strings.TrimSpace(customer) == "" || strings.TrimSpace(customerPoNumber) == "" {
		return nil, invalidRequest(BusinessObjectCOMFND, "customer and customer PO number are required")
	}
	xmlIn, err := FindSalesOrdersXML(customer, customerPoNumber)
	if err != nil {
		return nil, err
	}
	resp, err := c.Query(ctx, BusinessObjectCOMFND, xmlIn)
	if err != nil {
		return nil, err
	}
	return parseSalesOrderRefs(resp), nil
}

func parseSalesOrderRefs(resp *Response) []SalesOrderRef {
	var refs []SalesOrderRef
	for _, row := range resp.Root.ChildrenNamed("Row") {
		refs = append(refs, SalesOrderRef{
			SalesOrder:       row.Value("SalesOrder"),
			Customer:         row.Value("Customer"),
			CustomerPoNumber: row.Value("CustomerPoNumber"),
			OrderStatus:      OrderStatus(row.Value("OrderStatus")),
		})
	}
	return refs
}

func itoa(n int) string { return strconv.Itoa(n) }
