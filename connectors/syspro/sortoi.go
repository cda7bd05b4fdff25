package syspro

import (
	"context"
	"encoding/xml"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// BusinessObjectSORTOI is Sales Order Transaction Posting (Transaction/Post).
const BusinessObjectSORTOI = "SORTOI"

// AllocationActionDefault allocates stock on import; without an AllocationAction, headless
// imports put every line on back order (syspro.md §3.1, a live observation).
const AllocationActionDefault = "A"

// SalesOrder is a sales order to add through SORTOI. CustomerPoNumber is Payhub's idempotency
// key: PostSalesOrder looks it up before adding.
type SalesOrder struct {
	// CustomerPoNumber identifies the order on the customer's side (30 characters).
	CustomerPoNumber string
	// Customer is the SYSPRO AR customer code.
	Customer          string
	OrderDate         time.Time
	RequestedShipDate time.Time
	// Warehouse is the header default; lines may override it.
	Warehouse          string
	CustomerName       string
	ShippingInstrs     string
	ShippingInstrsCode string
	// ShipAddress holds ShipAddress1..5 (40 characters each).
	ShipAddress    [5]string
	ShipPostalCode string
	Email          string
	SpecialInstrs  string
	Lines          []SalesOrderLine
}

// SalesOrderLine is one stocked line. Price must have at most two decimals.
type SalesOrderLine struct {
	StockCode string
	Warehouse string
	Quantity  decimal.Decimal
	// Uom is the order unit of measure, also used as the price unit.
	Uom   string
	Price decimal.Decimal
}

// SalesOrderOptions tunes a SORTOI post.
type SalesOrderOptions struct {
	// ValidateOnly dry-runs the order with Process=Validate; nothing is committed.
	ValidateOnly bool
	// AllocationAction is A, S or B; AllocationActionDefault when empty.
	AllocationAction string
}

// SalesOrderResult is what SYSPRO answered, or what an earlier identical post left behind.
type SalesOrderResult struct {
	// SalesOrder is SYSPRO's number ("000895", "16R069"); empty after a dry run.
	SalesOrder       string
	CustomerPoNumber string
	// Existing is true when the order was found by CustomerPoNumber and not added again.
	Existing bool
	// OrderStatus is set when the order was found rather than added.
	OrderStatus OrderStatus
	// Warnings are SYSPRO's warnings, e.g. lines placed on back order.
	Warnings []string
	Status   StatusOfItems
}

type sortoiParams struct {
	XMLName    xml.Name `xml:"SalesOrders"`
	Parameters struct {
		Process                    string
		IgnoreWarnings             string
		AlwaysUsePriceEntered      string
		AllowZeroPrice             string
		AllocationAction           string
		AcceptEarlierShipDate      string
		ShipFromDefaultBin         string
		AllowDuplicateOrderNumbers string
		OrderStatus                string
	}
}

type sortoiDoc struct {
	XMLName xml.Name `xml:"SalesOrders"`
	Orders  struct {
		OrderHeader struct {
			CustomerPoNumber   string
			OrderActionType    string
			Customer           string
			OrderDate          string `xml:",omitempty"`
			RequestedShipDate  string `xml:",omitempty"`
			Warehouse          string `xml:",omitempty"`
			CustomerName       string `xml:",omitempty"`
			ShippingInstrs     string `xml:",omitempty"`
			ShippingInstrsCode string `xml:",omitempty"`
			ShipAddress1       string `xml:",omitempty"`
			ShipAddress2       string `xml:",omitempty"`
			ShipAddress3       string `xml:",omitempty"`
			ShipAddress4       string `xml:",omitempty"`
			ShipAddress5       string `xml:",omitempty"`
			ShipPostalCode     string `xml:",omitempty"`
			Email              string `xml:",omitempty"`
			SpecialInstrs      string `xml:",omitempty"`
		}
		OrderDetails struct {
			StockLine []sortoiStockLine
		}
	}
}

type sortoiStockLine struct {
	CustomerPoLine string
	LineActionType string
	StockCode      string
	Warehouse      string `xml:",omitempty"`
	OrderQty       string
	OrderUom       string `xml:",omitempty"`
	Price          string
	PriceUom       string `xml:",omitempty"`
}

// SalesOrderXML renders the XmlParameters and XmlIn PostSalesOrder sends.
func SalesOrderXML(o SalesOrder, opt SalesOrderOptions) (params, xmlIn string, err error) {
	if strings.TrimSpace(o.CustomerPoNumber) == "" || strings.TrimSpace(o.Customer) == "" {
		return "", "", invalidRequest(BusinessObjectSORTOI, "CustomerPoNumber and Customer are required")
	}
	if len(o.Lines) == 0 {
		return "", "", invalidRequest(BusinessObjectSORTOI, "order %s has no lines", o.CustomerPoNumber)
	}
	var p sortoiParams
	p.Parameters.Process = "IMPORT"
	if opt.ValidateOnly {
		p.Parameters.Process = "Validate"
	}
	p.Parameters.IgnoreWarnings = "W"
	p.Parameters.AlwaysUsePriceEntered = "Y"
	p.Parameters.AllowZeroPrice = "Y"
	p.Parameters.AllocationAction = opt.AllocationAction
	if p.Parameters.AllocationAction == "" {
		p.Parameters.AllocationAction = AllocationActionDefault
	}
	p.Parameters.AcceptEarlierShipDate = "Y"
	p.Parameters.ShipFromDefaultBin = "Y"
	p.Parameters.AllowDuplicateOrderNumbers = "N"
	p.Parameters.OrderStatus = string(OrderStatusOpen)

	var d sortoiDoc
	h := &d.Orders.OrderHeader
	h.CustomerPoNumber = o.CustomerPoNumber
	h.OrderActionType = "A"
	h.Customer = o.Customer
	h.OrderDate = formatDate(o.OrderDate)
	h.RequestedShipDate = formatDate(o.RequestedShipDate)
	h.Warehouse = o.Warehouse
	h.CustomerName = o.CustomerName
	h.ShippingInstrs = o.ShippingInstrs
	h.ShippingInstrsCode = o.ShippingInstrsCode
	h.ShipAddress1, h.ShipAddress2, h.ShipAddress3, h.ShipAddress4, h.ShipAddress5 =
		o.ShipAddress[0], o.ShipAddress[1], o.ShipAddress[2], o.ShipAddress[3], o.ShipAddress[4]
	h.ShipPostalCode = o.ShipPostalCode
	h.Email = o.Email
	h.SpecialInstrs = o.SpecialInstrs
	for i, l := range o.Lines {
		price, err := formatMoney(BusinessObjectSORTOI, "Price", l.Price)
		if err != nil {
			return "", "", err
		}
		if !l.Quantity.IsPositive() {
			return "", "", invalidRequest(BusinessObjectSORTOI, "line %d quantity %s must be positive", i+1, l.Quantity)
		}
		d.Orders.OrderDetails.StockLine = append(d.Orders.OrderDetails.StockLine, sortoiStockLine{
			CustomerPoLine: lineNumber(i + 1),
			LineActionType: "A",
			StockCode:      l.StockCode,
			Warehouse:      l.Warehouse,
			OrderQty:       formatQty(l.Quantity),
			OrderUom:       l.Uom,
			Price:          price,
			PriceUom:       l.Uom,
		})
	}
	if params, err = marshalXML(p); err != nil {
		return "", "", err
	}
	if xmlIn, err = marshalXML(d); err != nil {
		return "", "", err
	}
	return params, xmlIn, nil
}

// lineNumber renders SYSPRO's four-digit CustomerPoLine ("0001").
func lineNumber(n int) string {
	s := "0000" + itoa(n)
	return s[len(s)-4:]
}

// AddSalesOrder posts o through SORTOI without looking for an earlier copy; prefer
// PostSalesOrder, which cannot add the same CustomerPoNumber twice.
func (c *Client) AddSalesOrder(ctx context.Context, o SalesOrder, opt SalesOrderOptions) (*SalesOrderResult, error) {
	params, xmlIn, err := SalesOrderXML(o, opt)
	if err != nil {
		return nil, err
	}
	resp, err := c.Post(ctx, BusinessObjectSORTOI, params, xmlIn)
	if err != nil {
		return nil, err
	}
	return salesOrderResult(o.CustomerPoNumber, resp), nil
}

func salesOrderResult(po string, resp *Response) *SalesOrderResult {
	res := &SalesOrderResult{CustomerPoNumber: po, Warnings: resp.Warnings, Status: resp.Status}
	if order := resp.Root.Child("Order"); order != nil {
		res.SalesOrder = order.Value("SalesOrder")
		if v := order.Value("CustomerPoNumber"); v != "" {
			res.CustomerPoNumber = v
		}
	}
	return res
}

// PostSalesOrder adds o unless SYSPRO already holds an order for the same customer and
// CustomerPoNumber, in which case it returns that order with Existing set. This "find first" is
// what makes retries after a timeout safe: the lost answer may have been a successful post.
// A clean SORTOI success can return only StatusOfItems, so the number is then looked up again.
func (c *Client) PostSalesOrder(ctx context.Context, o SalesOrder, opt SalesOrderOptions) (*SalesOrderResult, error) {
	if existing, err := c.findOrder(ctx, o.Customer, o.CustomerPoNumber); err != nil || existing != nil {
		return existing, err
	}
	res, err := c.AddSalesOrder(ctx, o, opt)
	if err != nil || opt.ValidateOnly || res.SalesOrder != "" {
		return res, err
	}
	refs, err := c.FindSalesOrders(ctx, o.Customer, o.CustomerPoNumber)
	if err != nil {
		return res, err
	}
	if len(refs) > 0 {
		res.SalesOrder = refs[0].SalesOrder
		res.OrderStatus = refs[0].OrderStatus
	}
	return res, nil
}

func (c *Client) findOrder(ctx context.Context, customer, po string) (*SalesOrderResult, error) {
	refs, err := c.FindSalesOrders(ctx, customer, po)
	if err != nil || len(refs) == 0 {
		return nil, err
	}
	r := refs[0]
	return &SalesOrderResult{SalesOrder: r.SalesOrder, CustomerPoNumber: r.CustomerPoNumber, Existing: true, OrderStatus: r.OrderStatus}, nil
}
