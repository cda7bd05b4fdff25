package model

import "github.com/payhub/payhub/db"

// PaymentConnection is one page of payments; Count holds the page's filter so totalCount is only
// computed when a client asks for it.
type PaymentConnection struct {
	Edges    []*PaymentEdge
	Nodes    []*Payment
	PageInfo *PageInfo
	Count    db.CountPaymentsParams
}

// OrderConnection is one page of orders; see PaymentConnection.
type OrderConnection struct {
	Edges    []*OrderEdge
	Nodes    []*Order
	PageInfo *PageInfo
	Count    db.CountSalesOrdersParams
}

// CustomerConnection is one page of customers; see PaymentConnection.
type CustomerConnection struct {
	Edges    []*CustomerEdge
	Nodes    []*Customer
	PageInfo *PageInfo
	Count    db.CountCustomersParams
}
