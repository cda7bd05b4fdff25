package sysprosim

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// arPaymentPlan is one validated ARSTPY Item/Payment.
type arPaymentPlan struct {
	payment *ArPayment
	errs    []string
}

// arstpy is ARSTPY, Post AR Payments: each Item/Payment pays invoices (InvoiceToPay, TransactionType
// I; GrossPaymentValue defaults to the outstanding balance) and/or leaves cash unapplied
// (UnappliedPayment). PaymentValue must equal the amounts applied plus unapplied unless
// AutoCorrectPaymentValue=Y. One AR journal per call; the GL integration journal (Dr bank 1000,
// Cr debtors control 1100) is reported in StatusOfItems/GlJournal and kept in the GL journals.
// Adjustments and MiscellaneousReceipt items are rejected as unsupported.
func (s *Server) arstpy(c *boCall) string {
	p := c.params.child("Parameters")
	now := s.clock.Now()
	if strings.EqualFold(p.get("PostingPeriod"), "P") {
		now = now.AddDate(0, -1, 0)
	}
	var plans []*arPaymentPlan
	anyInvalid := false
	for _, it := range c.doc.all("Item") {
		pl := s.planPayment(p, it)
		anyInvalid = anyInvalid || len(pl.errs) > 0
		plans = append(plans, pl)
	}
	post := c.mayPost(anyInvalid)
	journal := 0
	var gl *GlJournal
	x := newXMLOut("postarpayment")
	processed, invalid := 0, 0
	for i, pl := range plans {
		x.open("Item").open("Payment")
		if len(pl.errs) > 0 {
			invalid++
			x.leaf("Customer", pl.payment.Customer)
			for _, e := range pl.errs {
				x.b.WriteString(e)
			}
		} else {
			processed++
			if post {
				if journal == 0 {
					journal = s.erp.nextArJournal
					s.erp.nextArJournal++
					gl = &GlJournal{Year: now.Year(), Period: int(now.Month()), Journal: s.erp.nextGlJournal,
						JournalDate: now.Format("2006-01-02"), Reference: fmt.Sprintf("AR payments journal %d", journal)}
					s.erp.nextGlJournal++
				}
				s.applyPayment(pl.payment, now, journal)
				gl.Entries = append(gl.Entries,
					GlEntry{LedgerCode: "1000", EntryAmount: pl.payment.PaymentValue, Comment: pl.payment.Customer},
					GlEntry{LedgerCode: "1100", EntryAmount: pl.payment.PaymentValue.Neg(), Comment: pl.payment.Customer})
				x.open("Key").leaf("TrnYear", fmt.Sprint(now.Year())).leaf("TrnMonth", fmt.Sprintf("%02d", int(now.Month()))).
					leaf("Journal", fmt.Sprintf("%08d", journal)).close()
			}
			x.leaf("Customer", pl.payment.Customer)
		}
		x.close()
		x.leaf("ItemNumber", counter(i+1))
		x.close()
	}
	x.open("StatusOfItems").open("GlJournal")
	if gl != nil {
		s.postGL(gl)
		x.leaf("GlYear", fmt.Sprint(gl.Year)).leaf("GlPeriod", fmt.Sprintf("%02d", gl.Period)).leaf("GlJournal", fmt.Sprintf("%010d", gl.Journal))
	} else {
		x.leaf("GlYear", "").leaf("GlPeriod", "").leaf("GlJournal", "")
	}
	x.leaf("GlJournalError", "").leaf("GlJournalMessage", "").close()
	x.leaf("ItemsProcessed", counter(processed)).leaf("ItemsInvalid", counter(invalid))
	return x.String()
}

// planPayment validates one ARSTPY item. The caller holds s.mu.
func (s *Server) planPayment(p, it *xmlNode) *arPaymentPlan {
	pay := it.child("Payment")
	pl := &arPaymentPlan{payment: &ArPayment{}}
	fail := func(s string) { pl.errs = append(pl.errs, s) }
	if pay == nil {
		fail(renderFieldError("Payment", "", errf(ErrNoUnsupportedAction, "Only Payment items are supported")))
		return pl
	}
	ap := pl.payment
	ap.Customer, ap.Reference, ap.Bank = pay.get("Customer"), pay.get("Reference"), pay.get("Bank")
	ap.PaymentType, ap.PaymentDate = pay.get("PaymentType"), pay.get("PaymentDate")
	if ap.Bank == "" {
		ap.Bank = "GB"
	}
	if ap.PaymentType == "" {
		ap.PaymentType = "C"
	}
	switch _, ok := s.erp.customers[ap.Customer]; {
	case ap.Customer == "":
		fail(renderFieldError("Customer", "", errSpaces("Payment", "Customer")))
		return pl
	case !ok:
		fail(renderFieldError("Customer", ap.Customer, errCustomerNotFound(ap.Customer)))
		return pl
	}
	if e := checkDate(ap.PaymentDate); e != nil {
		fail(renderFieldError("PaymentDate", ap.PaymentDate, e))
	}
	total := decimal.Zero
	paying := map[string]decimal.Decimal{}
	for _, inv := range pay.all("InvoiceToPay") {
		number := inv.get("Invoice")
		bad := func(e *boError) {
			fail("<InvoiceToPay>\n" + renderFieldError("Invoice", number, e) + "</InvoiceToPay>\n")
		}
		if t := strings.ToUpper(inv.get("TransactionType")); t != "" && t != "I" {
			bad(errf(ErrNoUnsupportedAction, "Transaction type '%s' is not supported", t))
			continue
		}
		rec, ok := s.erp.invoices[number]
		if !ok || rec.Customer != ap.Customer {
			bad(errf(ErrNoInvoiceNotFound, "Invoice '%s' not found for customer '%s'", number, ap.Customer))
			continue
		}
		amount := rec.Balance.Sub(paying[number])
		if raw := inv.get("GrossPaymentValue"); raw != "" {
			var e *boError
			if amount, e = parseMoney("Gross payment value", raw); e != nil {
				bad(e)
				continue
			}
		}
		if !amount.IsPositive() || amount.Add(paying[number]).GreaterThan(rec.Balance) {
			bad(errf(ErrNoOverPayment, "Payment value %s exceeds the balance %s of invoice '%s'",
				amount.StringFixed(2), rec.Balance.Sub(paying[number]).StringFixed(2), number))
			continue
		}
		paying[number] = paying[number].Add(amount)
		ap.Applications = append(ap.Applications, ArPaymentApplication{Invoice: number, Amount: amount})
		total = total.Add(amount)
	}
	if u := pay.child("UnappliedPayment"); u != nil {
		amount, e := parseMoney("Gross payment value", u.get("GrossPaymentValue"))
		if e == nil && !amount.IsPositive() {
			e = errf(ErrNoNotNumeric, "Unapplied payment value '%s' must be greater than zero", u.get("GrossPaymentValue"))
		}
		if e != nil {
			fail("<UnappliedPayment>\n" + renderFieldError("GrossPaymentValue", u.get("GrossPaymentValue"), e) + "</UnappliedPayment>\n")
		} else {
			ap.Unapplied = amount
			total = total.Add(amount)
		}
	}
	ap.PaymentValue = total
	if raw := pay.get("PaymentValue"); raw != "" && !p.flag("AutoCorrectPaymentValue") {
		v, e := parseMoney("Payment value", raw)
		if e == nil && !v.Equal(total) {
			e = errf(ErrNoPaymentMismatch, "Payment value %s does not equal the amounts paid %s", v.StringFixed(2), total.StringFixed(2))
		}
		if e != nil {
			fail(renderFieldError("PaymentValue", raw, e))
		}
	}
	if len(pl.errs) == 0 && !total.IsPositive() {
		fail(renderFieldError("PaymentValue", pay.get("PaymentValue"), errf(ErrNoPaymentMismatch, "Nothing to pay")))
	}
	return pl
}

// applyPayment records a validated payment and reduces the invoice balances. The caller holds s.mu.
func (s *Server) applyPayment(ap *ArPayment, now time.Time, journal int) {
	ap.TrnYear, ap.TrnMonth, ap.Journal = now.Year(), int(now.Month()), journal
	if ap.PaymentDate == "" {
		ap.PaymentDate = s.clock.Now().Format("2006-01-02")
	}
	for _, a := range ap.Applications {
		inv := s.erp.invoices[a.Invoice]
		inv.Balance = inv.Balance.Sub(a.Amount)
	}
	s.erp.payments = append(s.erp.payments, ap)
}
