package syspro

import (
	"context"
	"encoding/xml"

	"github.com/shopspring/decimal"
)

// BusinessObjectARSSCS adds and updates AR customers (Setup/Add, Setup/Update).
const BusinessObjectARSSCS = "ARSSCS"

// CustomerSetup is an AR customer to add or update. An empty Customer asks SYSPRO to
// auto-number, if AR setup allows it.
type CustomerSetup struct {
	Customer  string
	Name      string
	ShortName string
	Branch    string
	// Salesperson, TermsCode, Area and Currency must exist in SYSPRO's tables.
	Salesperson string
	TermsCode   string
	Area        string
	Currency    string
	// CreditLimit is money and obeys the two-decimal rule; nil leaves SYSPRO's value.
	CreditLimit *decimal.Decimal
	Telephone   string
	Email       string
	Contact     string
	// SoldToAddr holds SoldToAddr1..5.
	SoldToAddr     [5]string
	SoldPostalCode string
	OnHold         *bool
	ValidateOnly   bool
}

type arsscsParams struct {
	XMLName    xml.Name `xml:"SetupArCustomer"`
	Parameters struct {
		IgnoreWarnings             string
		ApplyIfEntireDocumentValid string
		ValidateOnly               string
	}
}

type arsscsDoc struct {
	XMLName xml.Name `xml:"SetupArCustomer"`
	Item    struct {
		Key struct {
			Customer string
		}
		Name           string `xml:",omitempty"`
		ShortName      string `xml:",omitempty"`
		Salesperson    string `xml:",omitempty"`
		Branch         string `xml:",omitempty"`
		TermsCode      string `xml:",omitempty"`
		CreditLimit    string `xml:",omitempty"`
		Area           string `xml:",omitempty"`
		Telephone      string `xml:",omitempty"`
		Email          string `xml:",omitempty"`
		Contact        string `xml:",omitempty"`
		Currency       string `xml:",omitempty"`
		SoldToAddr1    string `xml:",omitempty"`
		SoldToAddr2    string `xml:",omitempty"`
		SoldToAddr3    string `xml:",omitempty"`
		SoldToAddr4    string `xml:",omitempty"`
		SoldToAddr5    string `xml:",omitempty"`
		SoldPostalCode string `xml:",omitempty"`
		CustomerOnHold string `xml:",omitempty"`
	}
}

// CustomerSetupXML renders the XmlParameters and XmlIn of AddCustomer and UpdateCustomer; empty
// fields are omitted so an update touches only what is set.
func CustomerSetupXML(cs CustomerSetup) (params, xmlIn string, err error) {
	var p arsscsParams
	p.Parameters.IgnoreWarnings = "N"
	p.Parameters.ApplyIfEntireDocumentValid = "Y"
	p.Parameters.ValidateOnly = yn(cs.ValidateOnly)
	var d arsscsDoc
	it := &d.Item
	it.Key.Customer = cs.Customer
	it.Name, it.ShortName, it.Salesperson, it.Branch, it.TermsCode = cs.Name, cs.ShortName, cs.Salesperson, cs.Branch, cs.TermsCode
	it.Area, it.Telephone, it.Email, it.Contact, it.Currency = cs.Area, cs.Telephone, cs.Email, cs.Contact, cs.Currency
	it.SoldToAddr1, it.SoldToAddr2, it.SoldToAddr3, it.SoldToAddr4, it.SoldToAddr5 =
		cs.SoldToAddr[0], cs.SoldToAddr[1], cs.SoldToAddr[2], cs.SoldToAddr[3], cs.SoldToAddr[4]
	it.SoldPostalCode = cs.SoldPostalCode
	if cs.CreditLimit != nil {
		if it.CreditLimit, err = formatMoney(BusinessObjectARSSCS, "CreditLimit", *cs.CreditLimit); err != nil {
			return "", "", err
		}
	}
	if cs.OnHold != nil {
		it.CustomerOnHold = yn(*cs.OnHold)
	}
	if params, err = marshalXML(p); err != nil {
		return "", "", err
	}
	xmlIn, err = marshalXML(d)
	return params, xmlIn, err
}

// AddCustomer creates a customer and returns its code (SYSPRO's, when auto-numbered).
func (c *Client) AddCustomer(ctx context.Context, cs CustomerSetup) (string, error) {
	return c.setupCustomer(ctx, cs, c.SetupAdd)
}

// UpdateCustomer changes the set fields of an existing customer.
func (c *Client) UpdateCustomer(ctx context.Context, cs CustomerSetup) (string, error) {
	if cs.Customer == "" {
		return "", invalidRequest(BusinessObjectARSSCS, "customer is required for an update")
	}
	return c.setupCustomer(ctx, cs, c.SetupUpdate)
}

func (c *Client) setupCustomer(ctx context.Context, cs CustomerSetup,
	send func(context.Context, string, string, string) (*Response, error)) (string, error) {
	params, xmlIn, err := CustomerSetupXML(cs)
	if err != nil {
		return "", err
	}
	resp, err := send(ctx, BusinessObjectARSSCS, params, xmlIn)
	if err != nil {
		return "", err
	}
	if key := resp.Root.Find("key"); key != nil {
		if v := key.Value("Customer"); v != "" {
			return v, nil
		}
	}
	return cs.Customer, nil
}
