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

// ArPaymentRef is one posted receipt found in the AR cash journal (ArCshJnlDet).
type ArPaymentRef struct {
	TrnYear      int
	TrnMonth     int
	Journal      string
	Customer     string
	Reference    string
	PaymentValue string
}

// GlJournalRef is one GL journal header found in GenJournalCtl by its journal reference.
type GlJournalRef struct {
	GlYear    int
	GlPeriod  int
	Journal   string
	JnlStatus string
	Reference string
}

// findXML renders a COMFND query for rows of table whose columns equal the given values, all
// conditions joined with And.
func findXML(table string, columns []string, equal [][2]string, orderBy ...string) (string, error) {
	var q comfndQuery
	q.TableName = table
	q.ReturnRows = findReturnRowsDefault
	q.Columns.Column = columns
	for _, e := range equal {
		q.Where.Expression = append(q.Where.Expression,
			comfndExpression{OpenBracket: "(", AndOr: "And", Column: e[0], Condition: "EQ", Value: e[1], CloseBracket: ")"})
	}
	q.OrderBy.Column = orderBy
	return marshalXML(q)
}

// FindSalesOrdersXML renders the COMFND query behind FindSalesOrders. SORQRY can only be keyed
// by SalesOrder, so the PO lookup goes through SorMaster (syspro.md §3.5).
func FindSalesOrdersXML(customer, customerPoNumber string) (string, error) {
	return findXML("SorMaster", []string{"SalesOrder", "Customer", "CustomerPoNumber", "OrderStatus"},
		[][2]string{{"Customer", customer}, {"CustomerPoNumber", customerPoNumber}}, "SalesOrder")
}

// FindArPaymentsXML renders the COMFND query behind FindArPayments.
func FindArPaymentsXML(customer, reference string) (string, error) {
	return findXML("ArCshJnlDet", []string{"TrnYear", "TrnMonth", "Journal", "Customer", "Reference", "PaymentValue"},
		[][2]string{{"Customer", customer}, {"Reference", reference}})
}

// FindGlJournalsXML renders the COMFND query behind FindGlJournals.
//
// GenJournalCtl is SYSPRO's GL journal control (header) table. That the journal reference GENTJL
// receives as JournalReference is stored in a column named Reference on it is our reading of the
// schema, not confirmed against a live system (syspro.md §3.9 documents only the business object).
func FindGlJournalsXML(reference string) (string, error) {
	return findXML("GenJournalCtl", []string{"GlYear", "GlPeriod", "Journal", "JnlStatus", "Reference"},
		[][2]string{{"Reference", reference}})
}

// FindGlJournals returns the GL journals posted under reference. GENTJL numbers journals itself, so
// the reference is what makes a repeated post detectable.
func (c *Client) FindGlJournals(ctx context.Context, reference string) ([]GlJournalRef, error) {
	if strings.TrimSpace(reference) == "" {
		return nil, invalidRequest(BusinessObjectCOMFND, "reference is required")
	}
	xmlIn, err := FindGlJournalsXML(reference)
	if err != nil {
		return nil, err
	}
	resp, err := c.Query(ctx, BusinessObjectCOMFND, xmlIn)
	if err != nil {
		return nil, err
	}
	var refs []GlJournalRef
	for _, row := range resp.Root.ChildrenNamed("Row") {
		refs = append(refs, GlJournalRef{
			GlYear: row.Int("GlYear"), GlPeriod: row.Int("GlPeriod"), Journal: row.Value("Journal"),
			JnlStatus: row.Value("JnlStatus"), Reference: row.Value("Reference"),
		})
	}
	return refs, nil
}

// FindArPayments returns the receipts posted for customer under reference. ARSTPY has no key of
// its own that a caller chooses, so the reference is what makes a repeated post detectable.
func (c *Client) FindArPayments(ctx context.Context, customer, reference string) ([]ArPaymentRef, error) {
	if strings.TrimSpace(customer) == "" || strings.TrimSpace(reference) == "" {
		return nil, invalidRequest(BusinessObjectCOMFND, "customer and reference are required")
	}
	xmlIn, err := FindArPaymentsXML(customer, reference)
	if err != nil {
		return nil, err
	}
	resp, err := c.Query(ctx, BusinessObjectCOMFND, xmlIn)
	if err != nil {
		return nil, err
	}
	var refs []ArPaymentRef
	for _, row := range resp.Root.ChildrenNamed("Row") {
		refs = append(refs, ArPaymentRef{
			TrnYear: row.Int("TrnYear"), TrnMonth: row.Int("TrnMonth"), Journal: row.Value("Journal"),
			Customer: row.Value("Customer"), Reference: row.Value("Reference"), PaymentValue: row.Value("PaymentValue"),
		})
	}
	return refs, nil
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
