package syspro

import (
	"context"
	"encoding/xml"
)

// BusinessObjectSORTOS changes a sales order's status (Transaction/Post).
const BusinessObjectSORTOS = "SORTOS"

// OrderStatusChange moves one order to NewStatus. SYSPRO's setup decides which moves are legal.
type OrderStatusChange struct {
	SalesOrder string
	// CurrentStatus, when set, makes SYSPRO refuse the change if the order moved meanwhile.
	CurrentStatus OrderStatus
	NewStatus     OrderStatus
	ValidateOnly  bool
}

// OrderStatusResult is SYSPRO's echo of the change.
type OrderStatusResult struct {
	SalesOrder     string
	OrderStatus    OrderStatus
	NewOrderStatus OrderStatus
	Warnings       []string
}

type sortosParams struct {
	XMLName    xml.Name `xml:"PostSorOrderStatus"`
	Parameters struct {
		ValidateOnly               string
		IgnoreWarnings             string
		ApplyIfEntireDocumentValid string
	}
}

type sortosDoc struct {
	XMLName xml.Name `xml:"PostSorOrderStatus"`
	Item    struct {
		SalesOrder     string
		OrderStatus    string `xml:",omitempty"`
		NewOrderStatus string
	}
}

// OrderStatusChangeXML renders the XmlParameters and XmlIn ChangeOrderStatus sends.
func OrderStatusChangeXML(ch OrderStatusChange) (params, xmlIn string, err error) {
	if ch.SalesOrder == "" || ch.NewStatus == "" {
		return "", "", invalidRequest(BusinessObjectSORTOS, "SalesOrder and NewStatus are required")
	}
	var p sortosParams
	p.Parameters.ValidateOnly = yn(ch.ValidateOnly)
	p.Parameters.IgnoreWarnings = "W"
	p.Parameters.ApplyIfEntireDocumentValid = "Y"
	var d sortosDoc
	d.Item.SalesOrder = ch.SalesOrder
	d.Item.OrderStatus = string(ch.CurrentStatus)
	d.Item.NewOrderStatus = string(ch.NewStatus)
	if params, err = marshalXML(p); err != nil {
		return "", "", err
	}
	xmlIn, err = marshalXML(d)
	return params, xmlIn, err
}

// ChangeOrderStatus posts one status change through SORTOS.
func (c *Client) ChangeOrderStatus(ctx context.Context, ch OrderStatusChange) (*OrderStatusResult, error) {
	params, xmlIn, err := OrderStatusChangeXML(ch)
	if err != nil {
		return nil, err
	}
	resp, err := c.Post(ctx, BusinessObjectSORTOS, params, xmlIn)
	if err != nil {
		return nil, err
	}
	res := &OrderStatusResult{SalesOrder: ch.SalesOrder, Warnings: resp.Warnings}
	if order := resp.Root.Find("Order"); order != nil {
		if v := order.Value("SalesOrder"); v != "" {
			res.SalesOrder = v
		}
		res.OrderStatus = OrderStatus(order.Value("OrderStatus"))
		res.NewOrderStatus = OrderStatus(order.Value("NewOrderStatus"))
	}
	return res, nil
}
