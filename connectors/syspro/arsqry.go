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
	// OnHold is SYSPRO's CustomerOnHold flag.
	OnHold bool
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
	leaf := func(names ...string) string {
		for _, name := range names {
			if n := findLeaf(resp.Root, name); n != nil {
				return strings.TrimSpace(n.Text)
			}
		}
		return ""
	}
	acc := &CustomerAccount{Customer: leaf("Customer"), Name: leaf(customerNameLeaves...), Currency: leaf("Currency"),
		OnHold: leaf("CustomerOnHold") == "Y"}
	if d, err := decimal.NewFromString(leaf("CreditLimit")); err == nil {
		acc.CreditLimit = d
	}
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
