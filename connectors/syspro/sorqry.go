package syspro

import (
	"context"
	"encoding/xml"
)

// BusinessObjectSORQRY is the sales order query (Query/Query).
const BusinessObjectSORQRY = "SORQRY"

// SalesOrderDetail is the header of one sales order as SORQRY returns it (root SorDetail). Line
// output is not captured anywhere public, so lines are not parsed.
type SalesOrderDetail struct {
	SalesOrder       string
	Customer         string
	CustomerName     string
	CustomerPoNumber string
	OrderStatus      OrderStatus
	OrderStatusDesc  string
	OrderDate        string
	ReqShipDate      string
	Currency         string
	Branch           string
	LastInvoice      string
	Warehouse        string
}

type sorqryQuery struct {
	XMLName xml.Name `xml:"Query"`
	Key     struct {
		SalesOrder string
		Invoice    string
	}
	Option struct {
		IncludeStockedLines    string
		IncludeNonStockedLines string
		IncludeFreightLines    string
		IncludeMiscLines       string
		IncludeCommentLines    string
		IncludeCompletedLines  string
		IncludeSerials         string
		IncludeLots            string
		IncludeBins            string
		IncludeValues          string
		IncludeCustomForms     string
		ReturnLineShipDate     string
		XslStylesheet          string
	}
}

// SalesOrderQueryXML renders the SORQRY XmlIn for one order, header only.
func SalesOrderQueryXML(salesOrder string) (string, error) {
	var q sorqryQuery
	q.Key.SalesOrder = salesOrder
	o := &q.Option
	for _, f := range []*string{&o.IncludeStockedLines, &o.IncludeNonStockedLines, &o.IncludeFreightLines,
		&o.IncludeMiscLines, &o.IncludeCommentLines, &o.IncludeCompletedLines, &o.IncludeSerials, &o.IncludeLots,
		&o.IncludeBins, &o.IncludeValues, &o.IncludeCustomForms, &o.ReturnLineShipDate} {
		*f = "N"
	}
	return marshalXML(q)
}

// QuerySalesOrder returns one order's header. To find an order by customer PO number use
// FindSalesOrders: SORQRY is keyed by SalesOrder only.
func (c *Client) QuerySalesOrder(ctx context.Context, salesOrder string) (*SalesOrderDetail, error) {
	xmlIn, err := SalesOrderQueryXML(salesOrder)
	if err != nil {
		return nil, err
	}
	resp, err := c.Query(ctx, BusinessObjectSORQRY, xmlIn)
	if err != nil {
		return nil, err
	}
	return parseSalesOrderDetail(resp), nil
}

func parseSalesOrderDetail(resp *Response) *SalesOrderDetail {
	r := resp.Root
	return &SalesOrderDetail{
		SalesOrder:       r.Value("SalesOrder"),
		Customer:         r.Value("Customer"),
		CustomerName:     r.Value("CustomerName"),
		CustomerPoNumber: r.Value("CustomerPoNumber"),
		OrderStatus:      OrderStatus(r.Value("OrderStatus")),
		OrderStatusDesc:  r.Value("OrderStatusDesc"),
		OrderDate:        r.Value("OrderDate"),
		ReqShipDate:      r.Value("ReqShipDate"),
		Currency:         r.Value("Currency"),
		Branch:           r.Value("Branch"),
		LastInvoice:      r.Value("LastInvoice"),
		Warehouse:        r.Value("Warehouse"),
	}
}
