package syspro

import (
	"context"
	"encoding/xml"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// BusinessObjectGENTJL posts GL journals (Transaction/Post). GENTJN does not exist.
const BusinessObjectGENTJL = "GENTJL"

// GlJournal is a normal journal. SYSPRO has no debit/credit flag: a positive Amount is a debit,
// a negative one a credit, and the entries must sum to zero.
type GlJournal struct {
	JournalDate time.Time
	Reference   string
	Notation    string
	// PostingYear and PostingPeriod must name an open period; zero lets SYSPRO use the current one.
	PostingYear   int
	PostingPeriod int
	Entries       []GlJournalEntry
	ValidateOnly  bool
}

// GlJournalEntry is one line: positive Amount debits LedgerCode, negative credits it.
type GlJournalEntry struct {
	LedgerCode string
	Amount     decimal.Decimal
	Reference  string
	Comment    string
}

// GlJournalResult is the journal SYSPRO created.
type GlJournalResult struct {
	GlYear    int
	GlPeriod  int
	GlJournal string
	Warnings  []string
	// Existing is true when PostGlJournalOnce found the journal already posted.
	Existing bool
}

type gentjlParams struct {
	XMLName    xml.Name `xml:"PostGlJournal"`
	Parameters struct {
		IgnoreWarnings             string
		ApplyIfEntireDocumentValid string
		ValidateOnly               string
		ActionType                 string
	}
}

type gentjlDoc struct {
	XMLName xml.Name `xml:"PostGlJournal"`
	Item    struct {
		JournalType      string
		AuthorizeJournal string
		PostJournal      string
		JournalDate      string `xml:",omitempty"`
		JournalReference string `xml:",omitempty"`
		Notation         string `xml:",omitempty"`
		PostingPeriod    string `xml:",omitempty"`
		PostingYear      string `xml:",omitempty"`
		JournalDetails   []gentjlDetail
	}
}

type gentjlDetail struct {
	EntryNumber string
	LedgerCode  string
	Reference   string `xml:",omitempty"`
	EntryAmount string
	Comment     string `xml:",omitempty"`
}

// GlJournalXML renders the XmlParameters and XmlIn PostGlJournal sends, refusing unbalanced
// journals before SYSPRO sees them.
func GlJournalXML(j GlJournal) (params, xmlIn string, err error) {
	if len(j.Entries) < 2 {
		return "", "", invalidRequest(BusinessObjectGENTJL, "a journal needs at least two entries")
	}
	var p gentjlParams
	p.Parameters.IgnoreWarnings = "N"
	p.Parameters.ApplyIfEntireDocumentValid = "Y"
	p.Parameters.ValidateOnly = yn(j.ValidateOnly)
	p.Parameters.ActionType = "A"
	var d gentjlDoc
	it := &d.Item
	it.JournalType = "N"
	it.AuthorizeJournal = "A"
	it.PostJournal = "Y"
	it.JournalDate = formatDate(j.JournalDate)
	it.JournalReference = j.Reference
	it.Notation = j.Notation
	if j.PostingPeriod != 0 {
		it.PostingPeriod = itoa(j.PostingPeriod)
	}
	if j.PostingYear != 0 {
		it.PostingYear = itoa(j.PostingYear)
	}
	sum := decimal.Zero
	for i, e := range j.Entries {
		if e.LedgerCode == "" || e.Amount.IsZero() {
			return "", "", invalidRequest(BusinessObjectGENTJL, "entry %d needs a ledger code and a non-zero amount", i+1)
		}
		amt, err := formatMoney(BusinessObjectGENTJL, "EntryAmount", e.Amount)
		if err != nil {
			return "", "", err
		}
		sum = sum.Add(e.Amount)
		it.JournalDetails = append(it.JournalDetails, gentjlDetail{
			EntryNumber: itoa(i + 1), LedgerCode: e.LedgerCode, Reference: e.Reference, EntryAmount: amt, Comment: e.Comment,
		})
	}
	if !sum.IsZero() {
		return "", "", invalidRequest(BusinessObjectGENTJL, "journal does not balance: debits minus credits = %s", sum.StringFixed(moneyDecimals))
	}
	if params, err = marshalXML(p); err != nil {
		return "", "", err
	}
	xmlIn, err = marshalXML(d)
	return params, xmlIn, err
}

// PostGlJournal posts a balanced journal through GENTJL.
func (c *Client) PostGlJournal(ctx context.Context, j GlJournal) (*GlJournalResult, error) {
	params, xmlIn, err := GlJournalXML(j)
	if err != nil {
		return nil, err
	}
	resp, err := c.Post(ctx, BusinessObjectGENTJL, params, xmlIn)
	if err != nil {
		return nil, err
	}
	res := &GlJournalResult{Warnings: resp.Warnings}
	if gl := resp.Root.Find("GlJournal"); gl != nil {
		if len(gl.Children) == 0 {
			res.GlJournal = trimmed(gl)
			if tr := resp.Root.Find("Transaction"); tr != nil {
				res.GlYear, res.GlPeriod = tr.Int("GlYear"), tr.Int("GlPeriod")
			}
		} else {
			res.GlYear, res.GlPeriod, res.GlJournal = gl.Int("GlYear"), gl.Int("GlPeriod"), gl.Value("GlJournal")
		}
	}
	return res, nil
}

// PostGlJournalOnce posts j unless a journal with the same reference is already in GenJournalCtl,
// in which case it returns that journal with Existing set. Like PostArPaymentOnce, this makes a
// retry after a lost answer safe; the reference must therefore identify the journal (for example
// the settlement batch it books). A ValidateOnly journal is never looked up.
func (c *Client) PostGlJournalOnce(ctx context.Context, j GlJournal) (*GlJournalResult, error) {
	if strings.TrimSpace(j.Reference) == "" {
		return nil, invalidRequest(BusinessObjectGENTJL, "a reference is required to post a journal once")
	}
	// Refuse an unbalanced or empty journal before spending a round trip on the lookup.
	if _, _, err := GlJournalXML(j); err != nil {
		return nil, err
	}
	if !j.ValidateOnly {
		refs, err := c.FindGlJournals(ctx, j.Reference)
		if err != nil {
			return nil, err
		}
		if len(refs) > 0 {
			r := refs[0]
			return &GlJournalResult{GlYear: r.GlYear, GlPeriod: r.GlPeriod, GlJournal: r.Journal, Existing: true}, nil
		}
	}
	return c.PostGlJournal(ctx, j)
}
