package syspro

import (
	"context"
	"encoding/xml"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// BusinessObjectARSTPY posts AR payments (Transaction/Post). ARSPAY is only the UI program and
// fails when called.
const BusinessObjectARSTPY = "ARSTPY"

// Payment types ARSTPY accepts; foreign-currency payments must use PaymentTypeOther.
const (
	PaymentTypeCheck = "C"
	PaymentTypeCash  = "S"
	PaymentTypeOther = "O"
)

// ArPayment is one customer receipt, applied to invoices and/or left unapplied. The payment value
// SYSPRO receives is the sum of both, so the document always balances.
type ArPayment struct {
	Customer string
	// Bank defaults to the operator's bank when empty.
	Bank        string
	PaymentType string
	Reference   string
	PaymentDate time.Time
	Invoices    []InvoicePayment
	// Unapplied is cash not yet matched to an invoice; zero sends no UnappliedPayment.
	Unapplied    decimal.Decimal
	ValidateOnly bool
}

// InvoicePayment applies part of a payment to one invoice.
type InvoicePayment struct {
	Invoice string
	Amount  decimal.Decimal
}

// ArPaymentResult identifies the posted payment in the AR and GL journals.
type ArPaymentResult struct {
	TrnYear   int
	TrnMonth  int
	Journal   string
	GlYear    int
	GlPeriod  int
	GlJournal string
	Warnings  []string
	// Existing is true when PostArPaymentOnce found the receipt already posted.
	Existing bool
}

type arstpyParams struct {
	XMLName    xml.Name `xml:"PostArPayment"`
	Parameters struct {
		PostingPeriod              string
		IgnoreWarnings             string
		ApplyIfEntireDocumentValid string
		ValidateOnly               string
	}
}

type arstpyDoc struct {
	XMLName xml.Name `xml:"PostArPayment"`
	Item    struct {
		Payment struct {
			Customer         string
			PaymentValue     string
			Reference        string
			PaymentDate      string
			Bank             string `xml:",omitempty"`
			PaymentType      string
			InvoiceToPay     []arstpyInvoice
			UnappliedPayment *arstpyUnapplied `xml:",omitempty"`
		}
	}
}

type arstpyInvoice struct {
	TransactionType   string
	Invoice           string
	GrossPaymentValue string
}

type arstpyUnapplied struct {
	GrossPaymentValue string
}

// ArPaymentXML renders the XmlParameters and XmlIn PostArPayment sends.
func ArPaymentXML(pay ArPayment) (params, xmlIn string, err error) {
	if pay.Customer == "" {
		return "", "", invalidRequest(BusinessObjectARSTPY, "customer is required")
	}
	var p arstpyParams
	p.Parameters.PostingPeriod = "C"
	p.Parameters.IgnoreWarnings = "N"
	p.Parameters.ApplyIfEntireDocumentValid = "Y"
	p.Parameters.ValidateOnly = yn(pay.ValidateOnly)
	var d arstpyDoc
	pm := &d.Item.Payment
	pm.Customer = pay.Customer
	pm.Reference = pay.Reference
	pm.PaymentDate = formatDate(pay.PaymentDate)
	pm.Bank = pay.Bank
	pm.PaymentType = pay.PaymentType
	if pm.PaymentType == "" {
		pm.PaymentType = PaymentTypeOther
	}
	total := decimal.Zero
	for _, inv := range pay.Invoices {
		if inv.Invoice == "" || !inv.Amount.IsPositive() {
			return "", "", invalidRequest(BusinessObjectARSTPY, "invoice payment needs an invoice and a positive amount")
		}
		amt, err := formatMoney(BusinessObjectARSTPY, "GrossPaymentValue", inv.Amount)
		if err != nil {
			return "", "", err
		}
		pm.InvoiceToPay = append(pm.InvoiceToPay, arstpyInvoice{TransactionType: "I", Invoice: inv.Invoice, GrossPaymentValue: amt})
		total = total.Add(inv.Amount)
	}
	if pay.Unapplied.IsNegative() {
		return "", "", invalidRequest(BusinessObjectARSTPY, "unapplied amount %s is negative", pay.Unapplied)
	}
	if pay.Unapplied.IsPositive() {
		amt, err := formatMoney(BusinessObjectARSTPY, "Unapplied", pay.Unapplied)
		if err != nil {
			return "", "", err
		}
		pm.UnappliedPayment = &arstpyUnapplied{GrossPaymentValue: amt}
		total = total.Add(pay.Unapplied)
	}
	if !total.IsPositive() {
		return "", "", invalidRequest(BusinessObjectARSTPY, "payment of %s must be positive", total)
	}
	pm.PaymentValue = total.StringFixed(moneyDecimals)
	if params, err = marshalXML(p); err != nil {
		return "", "", err
	}
	xmlIn, err = marshalXML(d)
	return params, xmlIn, err
}

// PostArPayment posts a customer receipt through ARSTPY.
func (c *Client) PostArPayment(ctx context.Context, pay ArPayment) (*ArPaymentResult, error) {
	params, xmlIn, err := ArPaymentXML(pay)
	if err != nil {
		return nil, err
	}
	resp, err := c.Post(ctx, BusinessObjectARSTPY, params, xmlIn)
	if err != nil {
		return nil, err
	}
	return parseArPaymentResult(resp), nil
}

// PostArPaymentOnce posts pay unless a receipt with the same customer and reference is already in
// the AR cash journal, in which case it returns that receipt with Existing set. Like
// PostSalesOrder's find first, this makes a retry after a lost answer safe; the reference must
// therefore identify the payment (Payhub uses the gateway transaction's merchant reference).
func (c *Client) PostArPaymentOnce(ctx context.Context, pay ArPayment) (*ArPaymentResult, error) {
	if strings.TrimSpace(pay.Reference) == "" {
		return nil, invalidRequest(BusinessObjectARSTPY, "a reference is required to post a payment once")
	}
	if !pay.ValidateOnly {
		refs, err := c.FindArPayments(ctx, pay.Customer, pay.Reference)
		if err != nil {
			return nil, err
		}
		if len(refs) > 0 {
			r := refs[0]
			return &ArPaymentResult{TrnYear: r.TrnYear, TrnMonth: r.TrnMonth, Journal: r.Journal, Existing: true}, nil
		}
	}
	return c.PostArPayment(ctx, pay)
}

func parseArPaymentResult(resp *Response) *ArPaymentResult {
	res := &ArPaymentResult{Warnings: resp.Warnings}
	if key := resp.Root.Find("Key"); key != nil {
		res.TrnYear, res.TrnMonth, res.Journal = key.Int("TrnYear"), key.Int("TrnMonth"), key.Value("Journal")
	}
	if gl := resp.Root.Find("GlJournal"); gl != nil {
		if len(gl.Children) == 0 {
			res.GlJournal = trimmed(gl)
		} else {
			res.GlYear, res.GlPeriod, res.GlJournal = gl.Int("GlYear"), gl.Int("GlPeriod"), gl.Value("GlJournal")
		}
	}
	return res
}
