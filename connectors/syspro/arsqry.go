package syspro

import (
	"context"
	"encoding/xml"
	"strings"

	"github.com/shopspring/decimal"
)

// BusinessObjectARSQRY is the customer query (Query/Query).
const BusinessObjectARSQRY = "ARSQRY"

// CustomerAccount is an AR customer as ARSQRY reports it. ARSQRY's leaf names are not confirmed
// by any capture (syspro.md §3.6), so fields are looked up anywhere in the output, and the name
// under both the query spelling (CustomerName, as in SORQRY's captured output) and the ARSSCS one
// (Name).
type CustomerAccount struct {
	Customer    string
	Name        string
	Currency    string
	CreditLimit decimal.Decimal
	// Balance is what the customer owes (CurrentBalance); zero when the output does not carry it.
	Balance decimal.Decimal
	// OnHold is SYSPRO's CustomerOnHold flag.
	OnHold bool
	// Email, Telephone, SoldToAddr (SoldToAddr1..5) and SoldPostalCode use the ARSSCS names. They
	// are only meaningful when Reported says the output carried them: an installation whose ARSQRY
	// leaves them out must not be read as a customer without an e-mail or address.
	Email          string
	Telephone      string
	SoldToAddr     [5]string
	SoldPostalCode string
	Reported       CustomerFieldsReported
}

// CustomerFieldsReported says which of the leaves no capture confirms ARSQRY returned.
type CustomerFieldsReported struct {
	Email     bool
	Telephone bool
	// SoldTo is true when any of SoldToAddr1..5 or SoldPostalCode was present.
	SoldTo bool
}

type arsqryQuery struct {
	XMLName xml.Name `xml:"Query"`
	Key     struct {
		Customer string
	}
	Option struct {
		IncludeFutures       string
		IncludeTransactions  string
		IncludeInvoices      string
		IncludeCheckPayments string
		IncludePostDated     string
		IncludeZeroBalances  string
		AsOfPeriod           string
		AgeingOption         string
	}
}

// CustomerQueryXML renders the ARSQRY XmlIn, header only.
func CustomerQueryXML(customer string) (string, error) {
	var q arsqryQuery
	q.Key.Customer = customer
	o := &q.Option
	o.IncludeFutures, o.IncludeTransactions, o.IncludeInvoices, o.IncludeCheckPayments, o.IncludePostDated, o.IncludeZeroBalances = "N", "N", "N", "N", "N", "N"
	o.AsOfPeriod = "C"
	o.AgeingOption = "S"
	return marshalXML(q)
}

// QueryCustomer returns one customer account.
func (c *Client) QueryCustomer(ctx context.Context, customer string) (*CustomerAccount, error) {
	if customer == "" {
		return nil, invalidRequest(BusinessObjectARSQRY, "customer is required")
	}
	xmlIn, err := CustomerQueryXML(customer)
	if err != nil {
		return nil, err
	}
	resp, err := c.Query(ctx, BusinessObjectARSQRY, xmlIn)
	if err != nil {
		return nil, err
	}
	return parseCustomerAccount(resp), nil
}

// customerNameLeaves are the spellings ARSQRY may use for the customer's name, most likely first.
var customerNameLeaves = []string{"CustomerName", "Name"}

func parseCustomerAccount(resp *Response) *CustomerAccount {
	present := func(names ...string) (string, bool) {
		for _, name := range names {
			if n := findLeaf(resp.Root, name); n != nil {
				return strings.TrimSpace(n.Text), true
			}
		}
		return "", false
	}
	leaf := func(names ...string) string {
		v, _ := present(names...)
		return v
	}
	acc := &CustomerAccount{Customer: leaf("Customer"), Name: leaf(customerNameLeaves...), Currency: leaf("Currency"),
		OnHold: leaf("CustomerOnHold") == "Y"}
	if d, err := decimal.NewFromString(leaf("CreditLimit")); err == nil {
		acc.CreditLimit = d
	}
	if d, err := decimal.NewFromString(leaf("CurrentBalance")); err == nil {
		acc.Balance = d
	}
	acc.Email, acc.Reported.Email = present("Email")
	acc.Telephone, acc.Reported.Telephone = present("Telephone")
	for i := range acc.SoldToAddr {
		var ok bool
		acc.SoldToAddr[i], ok = present("SoldToAddr" + string(rune('1'+i)))
		acc.Reported.SoldTo = acc.Reported.SoldTo || ok
	}
	var ok bool
	acc.SoldPostalCode, ok = present("SoldPostalCode")
	acc.Reported.SoldTo = acc.Reported.SoldTo || ok
	return acc
}

// findLeaf returns the first descendant called name (any case) that has no children, depth first:
// a section may share a leaf's name (a <Customer> block holding <Customer>), and only the leaf
// carries the value.
func findLeaf(root *Node, name string) *Node {
	var found *Node
	walk(root, func(n *Node) {
		if found == nil && n != root && len(n.Children) == 0 && strings.EqualFold(n.Name, name) {
			found = n
		}
	})
	return found
}
