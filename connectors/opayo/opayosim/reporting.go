package opayosim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// serveReporting answers the Reporting & Admin API (opayo.md §3): POST ReportingPath with the form
// field XML=<vspaccess>…</vspaccess>. Every answer is HTTP 200; failures carry <errorcode>.
func (s *Server) serveReporting(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	if err := r.ParseForm(); err != nil {
		writeReporting(w, now, reportingError("0001"))
		return
	}
	raw := r.PostForm.Get("XML")
	if raw == "" {
		raw = r.PostForm.Get("xml")
	}
	if strings.TrimSpace(raw) == "" {
		writeReporting(w, now, reportingError("0001"))
		return
	}
	req, f := parseReportingXML(raw)
	if f != nil {
		writeReporting(w, now, errorBody(f))
		return
	}
	if !strings.EqualFold(req.vendor, s.opts.Vendor) || req.user != s.opts.ReportingUser {
		writeReporting(w, now, reportingError("0008"))
		return
	}
	if !reportingSignatureValid(req.signature, req.command, req.vendor, req.user, req.paramsRaw, s.opts.ReportingPassword) {
		writeReporting(w, now, reportingError("0010"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var body *xmlBody
	switch strings.ToLower(req.command) {
	case "gettransactiondetail":
		body = s.reportTransactionDetail(req.params)
	case "gettransactionlist":
		body = s.reportTransactionList(req.params)
	case "getbatchlist":
		body = s.reportBatchList(req.params)
	case "getbatchdetail":
		body = s.reportBatchDetail(req.params)
	default:
		body = reportingError("0013")
	}
	writeReporting(w, now, body)
}

// reportTransactionDetail answers getTransactionDetail by <vpstxid> (braces optional) or
// <vendortxcode> (the latest transaction with that code).
func (s *Server) reportTransactionDetail(p map[string]string) *xmlBody {
	var t *transaction
	switch {
	case p["vpstxid"] != "":
		t = s.txs[unbraced(p["vpstxid"])]
	case p["vendortxcode"] != "":
		if list := s.byVendorTxCode[p["vendortxcode"]]; len(list) > 0 {
			t = list[len(list)-1]
		}
	default:
		return reportingError("0042")
	}
	if t == nil {
		return reportingError("0043")
	}
	b := okBody()
	s.writeTransactionDetail(b, t)
	return b
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}

func (s *Server) writeTransactionDetail(b *xmlBody, t *transaction) {
	b.leaf("vpstxid", braced(t.id))
	b.leaf("vendortxcode", t.vendorTxCode)
	b.leaf("transactiontype", t.txType)
	b.leaf("txstateid", strconv.Itoa(t.txState))
	b.leaf("status", txStateText[t.txState])
	b.leaf("description", t.description)
	b.leaf("amount", formatMajor(t.amount, t.currency))
	b.leaf("currency", t.currency)
	b.leaf("started", reportingStamp(t.createdAt))
	completed := ""
	if t.txState != txStateCardSelection && t.txState != txState3DSecure {
		completed = reportingStamp(t.completedAt)
	}
	b.leaf("completed", completed)
	b.leaf("securitykey", t.securityKey)
	b.leaf("giftaid", yesNo(t.giftAid))
	b.leaf("accounttype", "E")
	processor, merchant := "", ""
	if t.card != nil {
		processor, merchant = authProcessorFor(t.card.cardType)
		b.leaf("paymentsystem", legacyCardType(t.card.cardType))
		b.leaf("paymentsystemdetails", t.card.cardType)
		b.leaf("expirydate", t.card.expiry)
		b.leaf("last4digits", t.card.last4)
		b.leaf("cardholder", t.card.cardholder)
	} else {
		b.leaf("paymentsystem", "").leaf("paymentsystemdetails", "").leaf("expirydate", "").leaf("last4digits", "").leaf("cardholder", "")
	}
	b.leaf("authprocessor", processor)
	b.leaf("merchantnumber", merchant)
	vpsAuth := ""
	if t.vpsAuthCode != 0 {
		vpsAuth = strconv.FormatInt(t.vpsAuthCode, 10)
	}
	b.leaf("vpsauthcode", vpsAuth)
	b.leaf("bankauthcode", t.bankAuthCode)
	b.leaf("batchid", t.batchID)
	c := t.customer
	b.leaf("billingfirstnames", c.firstName).leaf("billingsurname", c.lastName)
	b.leaf("billingaddress", c.billing.Address1).leaf("billingaddress2", c.billing.Address2)
	b.leaf("billingcity", c.billing.City).leaf("billingpostcode", c.billing.PostalCode)
	b.leaf("billingcountry", c.billing.Country).leaf("billingstate", c.billing.State).leaf("billingphone", c.phone)
	b.leaf("deliveryfirstnames", c.deliveryFirstName).leaf("deliverysurname", c.deliveryLastName)
	b.leaf("deliveryaddress", c.delivery.Address1).leaf("deliveryaddress2", c.delivery.Address2)
	b.leaf("deliverycity", c.delivery.City).leaf("deliverypostcode", c.delivery.PostalCode)
	b.leaf("deliverycountry", c.delivery.Country).leaf("deliverystate", c.delivery.State)
	b.leaf("customeremail", c.email)
	var avs avsCvc
	if t.avs != nil {
		avs = *t.avs
	}
	b.leaf("cv2result", legacyCheckPart(avs.SecurityCode))
	b.leaf("addressresult", legacyCheckPart(avs.Address))
	b.leaf("postcoderesult", legacyCheckPart(avs.PostalCode))
	b.leaf("threedresult", legacy3DS(t.threeDS))
	b.leaf("t3maction", "")
	b.leaf("declinecode", t.bankResponseCode)
	b.leaf("surcharge", formatMajor(0, t.currency))
	b.leaf("refunded", yesNo(t.refunded > 0))
	b.leaf("repeated", yesNo(t.repeated))
	if ref := s.txs[t.relatedID]; ref != nil {
		b.leaf("relatedvpstxid", braced(ref.id))
		b.leaf("relatedvendortxcode", ref.vendorTxCode)
	}
}

// reportResult is the one-word outcome in transaction lists.
func reportResult(t *transaction) string {
	switch t.txState {
	case txStateAuthorised, txStateDeferred, txStateAuthenticated, txStateRegistered:
		return "SUCCESS"
	case txStateDeclined:
		return "NOTAUTHED"
	case txStateRejected:
		return "REJECTED"
	case txStateVoided:
		return "VOIDED"
	case txStateDeferredAborted, txStateCustomerAborted:
		return "ABORTED"
	case txStateCardSelection, txState3DSecure, txStateNotifying:
		return "INPROGRESS"
	}
	return "FAILED"
}

// dateRange reads <startdate> and <enddate>: required, dd/mm/yyyy HH:MM:SS in Europe/London, start
// not after end (0038), at most one month apart (0039).
func dateRange(p map[string]string) (time.Time, time.Time, *reportingFailure) {
	var out [2]time.Time
	for i, name := range []string{"startdate", "enddate"} {
		v, ok := p[name]
		if !ok || v == "" {
			return time.Time{}, time.Time{}, elementNotFound(name)
		}
		t, err := time.ParseInLocation(reportingDateLayout, v, london)
		if err != nil {
			return time.Time{}, time.Time{}, badDate(name)
		}
		out[i] = t
	}
	start, end := out[0], out[1]
	if start.After(end) {
		return start, end, failure("0038")
	}
	if end.After(start.AddDate(0, 1, 0)) {
		return start, end, failure("0039")
	}
	return start, end, nil
}

// rowWindow reads <startrow> and <endrow> (1-based, inclusive): endrow − startrow must be at most
// 50 (0099); without either, rows 1–50.
func rowWindow(p map[string]string) (int, int, *reportingFailure) {
	startText, hasStart := p["startrow"]
	endText, hasEnd := p["endrow"]
	start, end := 1, 50
	var err error
	if hasStart && startText != "" {
		if start, err = strconv.Atoi(startText); err != nil || start < 1 {
			return 0, 0, failure("0019")
		}
	} else {
		hasStart = false
	}
	if hasEnd && endText != "" {
		if end, err = strconv.Atoi(endText); err != nil || end < 0 {
			return 0, 0, failure("0019")
		}
		if end == 0 {
			return 0, 0, failure("2244")
		}
		if !hasStart && end > 50 {
			return 0, 0, failure("2243")
		}
	} else {
		end = start + 49
	}
	if end < start {
		return 0, 0, failure("2222")
	}
	if end-start > 50 {
		return 0, 0, failure("0099")
	}
	return start, end, nil
}

// window returns the slice bounds of rows [start, end] (1-based, inclusive) out of n.
func window(n, start, end int) (from, to int) {
	if start > n {
		return n, n
	}
	if end > n {
		end = n
	}
	return start - 1, end
}

// writeWindow writes totalrows and the row numbers actually returned (0 and 0 for none).
func writeWindow(b *xmlBody, total, from, to int) {
	b.leaf("totalrows", strconv.Itoa(total))
	if from >= to {
		b.leaf("startrow", "0").leaf("endrow", "0")
		return
	}
	b.leaf("startrow", strconv.Itoa(from+1)).leaf("endrow", strconv.Itoa(to))
}

// reportTransactionList answers getTransactionList: transactions started within the date range,
// by date (sortorder ASC by default, DESC on request), optionally only those related to
// <relatedtransactionid> or whose vendortxcode contains <searchphrase>, in a row window.
func (s *Server) reportTransactionList(p map[string]string) *xmlBody {
	start, end, f := dateRange(p)
	if f != nil {
		return errorBody(f)
	}
	rowStart, rowEnd, f := rowWindow(p)
	if f != nil {
		return errorBody(f)
	}
	related := unbraced(p["relatedtransactionid"])
	phrase := strings.ToLower(p["searchphrase"])
	var rows []*transaction
	for _, t := range s.txOrder {
		if t.createdAt.Before(start) || t.createdAt.After(end) {
			continue
		}
		if related != "" && t.relatedID != related && t.id != related {
			continue
		}
		if phrase != "" && !strings.Contains(strings.ToLower(t.vendorTxCode), phrase) &&
			!strings.Contains(strings.ToLower(t.description), phrase) {
			continue
		}
		rows = append(rows, t)
	}
	if strings.EqualFold(p["sortorder"], "DESC") {
		// Rows are held in the order they were taken, which is date order.
		slices.Reverse(rows)
	}
	from, to := window(len(rows), rowStart, rowEnd)
	b := okBody().open("transactions")
	writeWindow(b, len(rows), from, to)
	for i := from; i < to; i++ {
		t := rows[i]
		b.open("transaction")
		b.leaf("rownumber", strconv.Itoa(i+1))
		b.leaf("vpstxid", braced(t.id)).leaf("vendortxcode", t.vendorTxCode)
		b.leaf("transactiontype", t.txType).leaf("txstateid", strconv.Itoa(t.txState))
		b.leaf("status", txStateText[t.txState]).leaf("result", reportResult(t))
		b.leaf("started", reportingStamp(t.createdAt))
		b.leaf("amount", formatMajor(t.amount, t.currency)).leaf("currency", t.currency)
		cardholder, system, last4 := "", "", ""
		if t.card != nil {
			cardholder, system, last4 = t.card.cardholder, legacyCardType(t.card.cardType), t.card.last4
		}
		b.leaf("cardholder", cardholder).leaf("paymentsystem", system).leaf("last4digits", last4)
		b.leaf("batchid", t.batchID).leaf("refunded", yesNo(t.refunded > 0)).leaf("fraudcodedetail", "")
		b.close("transaction")
	}
	return b.close("transactions")
}

// reportBatchList answers getBatchList: batches completed within the date range, each with its
// per-currency payment and refund totals (gross, in major units).
func (s *Server) reportBatchList(p map[string]string) *xmlBody {
	start, end, f := dateRange(p)
	if f != nil {
		return errorBody(f)
	}
	b := okBody().open("batches")
	for _, bt := range s.batches {
		if bt.completed.Before(start) || bt.completed.After(end) {
			continue
		}
		b.open("batch")
		b.leaf("batchid", bt.id).leaf("authprocessorname", bt.authProcessor).leaf("merchantnumber", bt.merchantNumber)
		b.leaf("completed", reportingStamp(bt.completed))
		b.open("transactiongroups")
		for _, g := range bt.groups() {
			b.open("transactiongroup")
			b.leaf("currency", g.currency)
			b.leaf("paymentnumber", strconv.Itoa(g.paymentNumber)).leaf("paymentvalue", formatMajor(g.paymentValue, g.currency))
			b.leaf("refundnumber", strconv.Itoa(g.refundNumber)).leaf("refundvalue", formatMajor(g.refundValue, g.currency))
			b.close("transactiongroup")
		}
		b.close("transactiongroups").close("batch")
	}
	return b.close("batches")
}

// reportBatchDetail answers getBatchDetail: the transactions of <batchid> settled through
// <authprocessor>, in a row window. An unknown batch or processor gives no rows. Settlement
// quirks apply here: an omitted transaction has no row, a re-amounted one its reported amount.
func (s *Server) reportBatchDetail(p map[string]string) *xmlBody {
	for _, name := range []string{"batchid", "authprocessor"} {
		if p[name] == "" {
			return errorBody(elementNotFound(name))
		}
	}
	rowStart, rowEnd, f := rowWindow(p)
	if f != nil {
		return errorBody(f)
	}
	var rows []*transaction
	var amounts []int64
	for _, bt := range s.batches {
		if bt.id == p["batchid"] && strings.EqualFold(bt.authProcessor, p["authprocessor"]) {
			for _, t := range bt.txs {
				if amount, shown := bt.reportedAmount(t); shown {
					rows = append(rows, t)
					amounts = append(amounts, amount)
				}
			}
		}
	}
	from, to := window(len(rows), rowStart, rowEnd)
	b := okBody().open("transactions")
	writeWindow(b, len(rows), from, to)
	for i := from; i < to; i++ {
		t, amount := rows[i], amounts[i]
		b.open("transaction")
		b.leaf("rownumber", strconv.Itoa(i+1))
		b.leaf("vpstxid", braced(t.id)).leaf("vendortxcode", t.vendorTxCode)
		b.leaf("transactiontype", t.txType).leaf("txstateid", strconv.Itoa(t.txState))
		b.leaf("started", reportingStamp(t.createdAt))
		b.leaf("amount", formatMajor(amount, t.currency)).leaf("currency", t.currency)
		system, last4 := "", ""
		if t.card != nil {
			system, last4 = legacyCardType(t.card.cardType), t.card.last4
		}
		b.leaf("paymentsystem", system).leaf("last4digits", last4)
		b.leaf("refunded", yesNo(t.refunded > 0))
		b.close("transaction")
	}
	return b.close("transactions")
}
