package syspro

import (
	"context"
	"encoding/xml"

	"github.com/shopspring/decimal"
)

// BusinessObjectINVQRY is the inventory query (Query/Query).
const BusinessObjectINVQRY = "INVQRY"

// StockItem is a stock code with its per-warehouse quantities.
type StockItem struct {
	StockCode   string
	Description string
	StockUom    string
	Warehouses  []WarehouseStock
}

// WarehouseStock is one WarehouseItem. AvailableQty is SYSPRO's name, not QtyAvailable.
type WarehouseStock struct {
	Warehouse      string
	QtyOnHand      decimal.Decimal
	AvailableQty   decimal.Decimal
	QtyAllocated   decimal.Decimal
	QtyOnOrder     decimal.Decimal
	QtyOnBackOrder decimal.Decimal
}

type invqryQuery struct {
	XMLName xml.Name `xml:"Query"`
	Key     struct {
		StockCode string
	}
	Option struct {
		IncludeHistory     string
		IncludeBins        string
		IncludeLots        string
		IncludeSerials     string
		IncludeMovements   string
		IncludeCustomForms string
		XslStylesheet      string
	}
	Filter *invqryFilter `xml:",omitempty"`
}

// invqryFilter is an attribute pair: Rectella's <Option><WarehouseFilterType> was ignored and
// every warehouse came back (syspro.md §3.4).
type invqryFilter struct {
	Warehouse struct {
		FilterType  string `xml:",attr"`
		FilterValue string `xml:",attr"`
	}
}

// StockQueryXML renders the INVQRY XmlIn; an empty warehouse asks for every warehouse.
func StockQueryXML(stockCode, warehouse string) (string, error) {
	var q invqryQuery
	q.Key.StockCode = stockCode
	o := &q.Option
	o.IncludeHistory, o.IncludeBins, o.IncludeLots, o.IncludeSerials, o.IncludeMovements, o.IncludeCustomForms = "N", "N", "N", "N", "N", "N"
	if warehouse != "" {
		q.Filter = &invqryFilter{}
		q.Filter.Warehouse.FilterType = "L"
		q.Filter.Warehouse.FilterValue = warehouse
	}
	return marshalXML(q)
}

// StockAvailable returns the stock code's quantities, for one warehouse or all of them.
func (c *Client) StockAvailable(ctx context.Context, stockCode, warehouse string) (*StockItem, error) {
	if stockCode == "" {
		return nil, invalidRequest(BusinessObjectINVQRY, "stock code is required")
	}
	xmlIn, err := StockQueryXML(stockCode, warehouse)
	if err != nil {
		return nil, err
	}
	resp, err := c.Query(ctx, BusinessObjectINVQRY, xmlIn)
	if err != nil {
		return nil, err
	}
	return parseStockItem(resp)
}

func parseStockItem(resp *Response) (*StockItem, error) {
	si := resp.Root.Child("StockItem")
	item := &StockItem{StockCode: si.Value("StockCode"), Description: si.Value("Description"), StockUom: si.Value("StockUom")}
	for _, w := range resp.Root.ChildrenNamed("WarehouseItem") {
		ws := WarehouseStock{Warehouse: w.Value("Warehouse")}
		for _, f := range []struct {
			name string
			dst  *decimal.Decimal
		}{
			{"QtyOnHand", &ws.QtyOnHand}, {"AvailableQty", &ws.AvailableQty}, {"QtyAllocated", &ws.QtyAllocated},
			{"QtyOnOrder", &ws.QtyOnOrder}, {"QtyOnBackOrder", &ws.QtyOnBackOrder},
		} {
			d, err := w.Decimal(f.name)
			if err != nil {
				return nil, &Error{Class: ClassTransient, Op: opQuery, BusinessObject: BusinessObjectINVQRY, Message: err.Error()}
			}
			*f.dst = d
		}
		item.Warehouses = append(item.Warehouses, ws)
	}
	return item, nil
}
