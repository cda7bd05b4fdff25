package sysprosim

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// gentjl is GENTJL, the GL journal posting. A positive EntryAmount is a debit and a negative one a
// credit; the entries must balance to zero; every ledger code must exist and not be on hold; the
// posting period (PostingYear/PostingPeriod, else the JournalDate's month, else the clock's) must be
// open. The journal number comes back in Item/Transaction/GlJournal.
func (s *Server) gentjl(c *boCall) string {
	p := c.params.child("Parameters")
	dry := c.dryRun()
	x := newXMLOut("postgljournal")
	jProcessed, jInvalid, pProcessed, pInvalid := 0, 0, 0, 0
	for _, it := range c.doc.all("Item") {
		gl, errs, badPostings := s.planJournal(p, it)
		x.open("Item")
		details := it.all("JournalDetails")
		if len(errs) > 0 {
			jInvalid++
			pInvalid += badPostings
			pProcessed += len(details) - badPostings
			for _, e := range errs {
				x.b.WriteString(e)
			}
		} else {
			jProcessed++
			pProcessed += len(details)
			if !dry {
				gl.Journal = s.erp.nextGlJournal
				s.erp.nextGlJournal++
				s.postGL(gl)
			}
			x.open("Transaction").leaf("GlYear", fmt.Sprint(gl.Year)).leaf("GlPeriod", fmt.Sprintf("%02d", gl.Period))
			journal := ""
			if !dry {
				journal = fmt.Sprintf("%010d", gl.Journal)
			}
			x.leaf("GlJournal", journal).close()
		}
		x.close()
	}
	x.open("StatusOfItems")
	x.leaf("JournalsProcessed", counter(jProcessed)).leaf("JournalsInvalid", counter(jInvalid))
	x.leaf("PostingsProcessed", counter(pProcessed)).leaf("PostingsInvalid", counter(pInvalid))
	return x.String()
}

// planJournal validates one GENTJL item; it returns the journal (unnumbered), rendered errors and
// how many entries were invalid. The caller holds s.mu.
func (s *Server) planJournal(p, it *xmlNode) (*GlJournal, []string, int) {
	var errs []string
	bad := 0
	fail := func(name, value string, e *boError) { errs = append(errs, renderFieldError(name, value, e)) }
	if a := strings.ToUpper(p.get("ActionType")); a != "" && a != "A" {
		fail("ActionType", a, errf(ErrNoUnsupportedAction, "Action type '%s' is not supported", a))
	}
	date := it.get("JournalDate")
	if e := checkDate(date); e != nil {
		fail("JournalDate", date, e)
		date = ""
	}
	period := periodOf(s.clock.Now())
	if date != "" {
		t, _ := parseDate(date)
		period = periodOf(t)
	} else {
		date = s.clock.Now().Format("2006-01-02")
	}
	if y, err := strconv.Atoi(it.get("PostingYear")); err == nil && y > 0 {
		period.Year = y
	}
	if m, err := strconv.Atoi(it.get("PostingPeriod")); err == nil && m > 0 {
		period.Period = m
	}
	if !s.erp.openPeriods[period] {
		fail("PostingPeriod", fmt.Sprintf("%d/%02d", period.Year, period.Period),
			errf(ErrNoPeriodClosed, "Period %02d of year %d is closed for posting", period.Period, period.Year))
	}
	gl := &GlJournal{Year: period.Year, Period: period.Period, JournalDate: date, Reference: it.get("JournalReference")}
	sum := decimal.Zero
	for _, d := range it.all("JournalDetails") {
		code := d.get("LedgerCode")
		entryBad := func(name, value string, e *boError) {
			bad++
			errs = append(errs, "<JournalDetails>\n"+renderFieldError(name, value, e)+"</JournalDetails>\n")
		}
		l, ok := s.erp.ledger[code]
		switch {
		case code == "":
			entryBad("LedgerCode", code, errSpaces("JournalDetails", "LedgerCode"))
			continue
		case !ok:
			entryBad("LedgerCode", code, errf(ErrNoLedgerNotFound, "Ledger code '%s' not found", code))
			continue
		case l.OnHold:
			entryBad("LedgerCode", code, errf(ErrNoLedgerOnHold, "Ledger code '%s' is on hold", code))
			continue
		}
		amount, e := parseMoney("Entry amount", d.get("EntryAmount"))
		if e == nil && amount.IsZero() {
			e = errf(ErrNoNotNumeric, "Entry amount for ledger code '%s' cannot be zero", code)
		}
		if e != nil {
			entryBad("EntryAmount", d.get("EntryAmount"), e)
			continue
		}
		sum = sum.Add(amount)
		gl.Entries = append(gl.Entries, GlEntry{LedgerCode: code, EntryAmount: amount, Comment: d.get("Comment")})
	}
	if len(it.all("JournalDetails")) == 0 {
		fail("JournalDetails", "", errSpaces("Item", "JournalDetails"))
	} else if bad == 0 && !sum.IsZero() {
		fail("EntryAmount", sum.StringFixed(2), errf(ErrNoNotBalanced, "Journal does not balance: debits and credits differ by %s", sum.StringFixed(2)))
	}
	return gl, errs, bad
}

// postGL stores a numbered journal and updates ledger balances. The caller holds s.mu.
func (s *Server) postGL(gl *GlJournal) {
	for _, e := range gl.Entries {
		if l, ok := s.erp.ledger[e.LedgerCode]; ok {
			l.Balance = l.Balance.Add(e.EntryAmount)
		}
	}
	s.erp.journals = append(s.erp.journals, gl)
}
