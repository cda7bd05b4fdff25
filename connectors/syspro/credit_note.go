package syspro

import (
	"context"
	"encoding/xml"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Credit notes go through two Transaction business objects: SORTCH creates the header (and its
// number), SORTCL adds the lines to that number (syspro.md §3.10).
const (
	BusinessObjectSORTCH = "SORTCH"
	BusinessObjectSORTCL = "SORTCL"
)

// CreditNote is a sales credit note against an invoice. An empty CreditNoteNumber asks SYSPRO
// to number it.
type CreditNote struct {
	Customer         string
	CreditNoteNumber string
	CustomerPoNumber string
	CreditNoteDate   time.Time
	InvoiceNumber    string
	Branch           string
	Lines            []CreditNoteLine
	// ValidateOnly has SYSPRO check the header without creating it; see PostCreditNote.
	ValidateOnly bool
}

// CreditNoteLine is one credited stock line; Price obeys the two-decimal rule.
type CreditNoteLine struct {
	CreditReason string
	StockCode    string
	Warehouse    string
	Quantity     decimal.Decimal
	Uom          string
	Price        decimal.Decimal
}

// CreditNoteResult is the credit note's SYSPRO number.
type CreditNoteResult struct {
	CreditNoteNumber string
	// Existing is set by PostCreditNoteOnce when SYSPRO already had the credit note.
	Existing bool
	Warnings []string
}

// transactionParams is the common Parameters block; SORTCH and SORTCL publish no richer sample.
type transactionParams struct {
	XMLName    xml.Name
	Parameters struct {
		IgnoreWarnings             string
		ApplyIfEntireDocumentValid string
		ValidateOnly               string
	}
}

func newTransactionParams(root string, validateOnly bool) transactionParams {
	var p transactionParams
	p.XMLName.Local = root
	p.Parameters.IgnoreWarnings = "W"
	p.Parameters.ApplyIfEntireDocumentValid = "Y"
	p.Parameters.ValidateOnly = yn(validateOnly)
	return p
}

type sortchDoc struct {
	XMLName xml.Name `xml:"SOCreditNoteHeader"`
	Item    struct {
		Customer         string
		CreditNoteNumber string
		CustomerPoNumber string `xml:",omitempty"`
		CreditNoteDate   string `xml:",omitempty"`
		InvoiceNumber    string `xml:",omitempty"`
		Branch           string `xml:",omitempty"`
	}
}

type sortclDoc struct {
	XMLName xml.Name     `xml:"SOCreditNoteLine"`
	Item    []sortclItem `xml:"Item"`
}

type sortclItem struct {
	CreditNoteNumber string
	CreditReason     string `xml:",omitempty"`
	StockCode        string
	Warehouse        string `xml:",omitempty"`
	OrderQty         string
	OrderUom         string `xml:",omitempty"`
	Price            string
	PriceUom         string `xml:",omitempty"`
}

// CreditNoteHeaderXML renders the SORTCH XmlParameters and XmlIn.
func CreditNoteHeaderXML(cn CreditNote) (params, xmlIn string, err error) {
	if cn.Customer == "" {
		return "", "", invalidRequest(BusinessObjectSORTCH, "customer is required")
	}
	var d sortchDoc
	d.Item.Customer = cn.Customer
	d.Item.CreditNoteNumber = cn.CreditNoteNumber
	d.Item.CustomerPoNumber = cn.CustomerPoNumber
	d.Item.CreditNoteDate = formatDate(cn.CreditNoteDate)
	d.Item.InvoiceNumber = cn.InvoiceNumber
	d.Item.Branch = cn.Branch
	if params, err = marshalXML(newTransactionParams("SOCreditNoteHeader", cn.ValidateOnly)); err != nil {
		return "", "", err
	}
	xmlIn, err = marshalXML(d)
	return params, xmlIn, err
}

// CreditNoteLinesXML renders the SORTCL XmlParameters and XmlIn for an already numbered note.
func CreditNoteLinesXML(creditNoteNumber string, lines []CreditNoteLine, validateOnly bool) (params, xmlIn string, err error) {
	if creditNoteNumber == "" || len(lines) == 0 {
		return "", "", invalidRequest(BusinessObjectSORTCL, "credit note number and at least one line are required")
	}
	var d sortclDoc
	for _, l := range lines {
		price, err := formatMoney(BusinessObjectSORTCL, "Price", l.Price)
		if err != nil {
			return "", "", err
		}
		d.Item = append(d.Item, sortclItem{
			CreditNoteNumber: creditNoteNumber, CreditReason: l.CreditReason, StockCode: l.StockCode,
			Warehouse: l.Warehouse, OrderQty: formatQty(l.Quantity), OrderUom: l.Uom, Price: price, PriceUom: l.Uom,
		})
	}
	if params, err = marshalXML(newTransactionParams("SOCreditNoteLine", validateOnly)); err != nil {
		return "", "", err
	}
	xmlIn, err = marshalXML(d)
	return params, xmlIn, err
}

// PostCreditNote creates the header with SORTCH, then adds the lines with SORTCL. Lines are
// validated before the header is sent, so a bad price never leaves an empty header behind; a
// SORTCL failure still can, and the returned result then carries the header's number.
//
// With ValidateOnly only the header is checked by SYSPRO: a validated header is never created,
// so SORTCL would refuse every line with "credit note not found". The lines get the client's own
// checks only.
func (c *Client) PostCreditNote(ctx context.Context, cn CreditNote) (*CreditNoteResult, error) {
	hp, hx, err := CreditNoteHeaderXML(cn)
	if err != nil {
		return nil, err
	}
	if _, _, err := CreditNoteLinesXML("PENDING", cn.Lines, cn.ValidateOnly); err != nil {
		return nil, err
	}
	resp, err := c.Post(ctx, BusinessObjectSORTCH, hp, hx)
	if err != nil {
		return nil, err
	}
	res := &CreditNoteResult{CreditNoteNumber: cn.CreditNoteNumber, Warnings: resp.Warnings}
	if n := trimmed(resp.Root.Find("CreditNoteNumber")); n != "" {
		res.CreditNoteNumber = n
	}
	if cn.ValidateOnly {
		return res, nil
	}
	if res.CreditNoteNumber == "" {
		return res, &Error{Class: ClassBusiness, Op: opTransactionPost, BusinessObject: BusinessObjectSORTCH, Message: "no credit note number returned"}
	}
	return res, c.postCreditNoteLines(ctx, res, cn.Lines)
}

// postCreditNoteLines adds lines to the credit note res names with SORTCL, adding SYSPRO's
// warnings to res.
func (c *Client) postCreditNoteLines(ctx context.Context, res *CreditNoteResult, lines []CreditNoteLine) error {
	lp, lx, err := CreditNoteLinesXML(res.CreditNoteNumber, lines, false)
	if err != nil {
		return err
	}
	lresp, err := c.Post(ctx, BusinessObjectSORTCL, lp, lx)
	if err != nil {
		return err
	}
	res.Warnings = append(res.Warnings, lresp.Warnings...)
	return nil
}

// PostCreditNoteOnce is PostCreditNote made safe to retry: a credit note carrying the same
// customer PO number (give each credit its own, e.g. the refund's reference) is looked up first
// with COMFND, and when SYSPRO already has it its number is returned with Existing set. A
// retry after a lost SORTCH answer therefore never opens a second credit note.
func (c *Client) PostCreditNoteOnce(ctx context.Context, cn CreditNote) (*CreditNoteResult, error) {
	if cn.CustomerPoNumber == "" {
		return nil, invalidRequest(BusinessObjectSORTCH, "a customer PO number is required to find the credit note again")
	}
	found, err := c.FindSalesOrders(ctx, cn.Customer, cn.CustomerPoNumber)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return c.PostCreditNote(ctx, cn)
	}
	res := &CreditNoteResult{CreditNoteNumber: strings.TrimSpace(found[0].SalesOrder), Existing: true}
	// A header whose SORTCH answer was lost has no lines yet: add them now. One that has lines
	// is complete (SORTCL adds all of a note's lines in one call).
	n, err := c.stockedLineCount(ctx, res.CreditNoteNumber)
	if err != nil || n > 0 {
		return res, err
	}
	return res, c.postCreditNoteLines(ctx, res, cn.Lines)
}

// stockedLineCount is how many stocked lines SORQRY reports for a sales order or credit note.
func (c *Client) stockedLineCount(ctx context.Context, number string) (int, error) {
	var q sorqryQuery
	q.Key.SalesOrder = number
	q.Option.IncludeStockedLines = "Y"
	xmlIn, err := marshalXML(q)
	if err != nil {
		return 0, err
	}
	resp, err := c.Query(ctx, BusinessObjectSORQRY, xmlIn)
	if err != nil {
		return 0, err
	}
	return len(resp.Root.ChildrenNamed("StockLine")), nil
}
