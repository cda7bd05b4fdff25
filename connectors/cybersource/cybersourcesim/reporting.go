package cybersourcesim

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// handlePaymentBatchSummaries is GET /reporting/v3/payment-batch-summaries?startTime&endTime
// &organizationId[&rollUp=day]: sales and credits of the batches whose batch date falls in
// [startTime, endTime), per currency and card brand (and per day with rollUp=day).
func (s *Server) handlePaymentBatchSummaries(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	q := r.URL.Query()
	if e := s.checkOrganization(now, q.Get("organizationId")); e != nil {
		writeAPIError(w, e)
		return
	}
	start, end, e := reportWindow(now, q)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	perDay := strings.EqualFold(q.Get("rollUp"), "day")
	type key struct{ day, currency, brand string }
	type sums struct {
		salesCount, creditCount   int
		salesAmount, creditAmount decimal.Decimal
	}
	groups := map[key]*sums{}
	for _, b := range s.state.batches {
		date, _ := time.Parse(time.DateOnly, b.Date)
		if date.Before(start) || !date.Before(end) {
			continue
		}
		for _, en := range b.Entries {
			k := key{currency: en.Currency, brand: en.PaymentMethod}
			if perDay {
				k.day = b.Date
			}
			g := groups[k]
			if g == nil {
				g = &sums{}
				groups[k] = g
			}
			if en.Application == "ics_bill" {
				g.salesCount++
				g.salesAmount = g.salesAmount.Add(en.Amount)
			} else {
				g.creditCount++
				g.creditAmount = g.creditAmount.Add(en.Amount.Neg())
			}
		}
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.day != b.day {
			return a.day < b.day
		}
		if a.currency != b.currency {
			return a.currency < b.currency
		}
		return a.brand < b.brand
	})
	rows := []obj{}
	for _, k := range keys {
		g := groups[k]
		from, to := start, end
		if k.day != "" {
			from, _ = time.Parse(time.DateOnly, k.day)
			to = from.Add(24 * time.Hour)
		}
		rows = append(rows, obj{
			"currencyCode": k.currency, "paymentSubTypeDescription": k.brand,
			"startTime": utcStamp(from), "endTime": utcStamp(to),
			"salesCount": g.salesCount, "salesAmount": money(g.salesAmount, k.currency),
			"creditCount": g.creditCount, "creditAmount": money(g.creditAmount, k.currency),
			"accountId": s.opts.MerchantID, "accountName": s.opts.MerchantID,
			"merchantId": s.opts.MerchantID, "merchantName": s.opts.MerchantID,
		})
	}
	writeJSON(w, http.StatusOK, obj{"startTime": utcStamp(start), "endTime": utcStamp(end), "paymentBatchSummaries": rows})
}

// handleNetFundings is GET /reporting/v3/net-fundings?startTime&endTime&organizationId: what the
// batches of [startTime, endTime) fund, as PURCHASES, REFUNDS and FEES (Options.Fee per
// purchase), less the CHARGEBACKS recorded on days in the window, per currency and card brand,
// with totals and the net. Every amount is positive; netTotal = purchases − refunds − fees −
// chargebacks. Settlement quirks do not apply here: entries count as settled.
func (s *Server) handleNetFundings(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	q := r.URL.Query()
	if e := s.checkOrganization(now, q.Get("organizationId")); e != nil {
		writeAPIError(w, e)
		return
	}
	start, end, e := reportWindow(now, q)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	type key struct{ typ, subType, currency string }
	type sums struct {
		count  int
		amount decimal.Decimal
	}
	groups := map[key]*sums{}
	totals := map[string]map[string]decimal.Decimal{"PURCHASES": {}, "REFUNDS": {}, "FEES": {}, "CHARGEBACKS": {}}
	add := func(k key, amount decimal.Decimal) {
		g := groups[k]
		if g == nil {
			g = &sums{}
			groups[k] = g
		}
		g.count++
		g.amount = g.amount.Add(amount)
		totals[k.typ][k.currency] = totals[k.typ][k.currency].Add(amount)
	}
	for _, b := range s.state.batches {
		date, _ := time.Parse(time.DateOnly, b.Date)
		if date.Before(start) || !date.Before(end) {
			continue
		}
		for _, en := range b.Entries {
			sub := brandByType[en.CardType].subType
			if en.Application == "ics_bill" {
				add(key{"PURCHASES", sub, en.Currency}, en.Amount)
				add(key{"FEES", sub, en.Currency}, en.Fee)
			} else {
				add(key{"REFUNDS", sub, en.Currency}, en.Amount.Neg())
			}
		}
	}
	for _, cb := range s.state.chargebacks {
		date, _ := time.Parse(time.DateOnly, cb.Date)
		if date.Before(start) || !date.Before(end) {
			continue
		}
		add(key{"CHARGEBACKS", brandByType[cb.CardType].subType, cb.Currency}, cb.Amount)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	order := map[string]int{"PURCHASES": 0, "REFUNDS": 1, "FEES": 2, "CHARGEBACKS": 3}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.typ != b.typ {
			return order[a.typ] < order[b.typ]
		}
		if a.currency != b.currency {
			return a.currency < b.currency
		}
		return a.subType < b.subType
	})
	rows := []obj{}
	for _, k := range keys {
		g := groups[k]
		amt := money(g.amount, k.currency)
		rows = append(rows, obj{"type": k.typ, "paymentSubType": k.subType, "currencyCode": k.currency,
			"conveyedCount": g.count, "conveyedAmount": amt, "settledCount": g.count,
			"fundedCount": g.count, "fundedAmount": amt})
	}
	currencies := map[string]bool{}
	for _, m := range totals {
		for c := range m {
			currencies[c] = true
		}
	}
	sorted := make([]string, 0, len(currencies))
	for c := range currencies {
		sorted = append(sorted, c)
	}
	sort.Strings(sorted)
	total := func(typ string) []obj {
		out := []obj{}
		for _, c := range sorted {
			out = append(out, obj{"currency": c, "value": money(totals[typ][c], c)})
		}
		return out
	}
	net := []obj{}
	for _, c := range sorted {
		n := totals["PURCHASES"][c].Sub(totals["REFUNDS"][c]).Sub(totals["FEES"][c]).Sub(totals["CHARGEBACKS"][c])
		net = append(net, obj{"currency": c, "value": money(n, c)})
	}
	writeJSON(w, http.StatusOK, obj{
		"startTime": utcStamp(start), "endTime": utcStamp(end), "netFundingSummaries": rows,
		"totalPurchases": total("PURCHASES"), "totalRefunds": total("REFUNDS"), "totalFees": total("FEES"),
		"totalChargebacks": total("CHARGEBACKS"), "netTotal": net,
	})
}

// checkOrganization refuses another organization's reports; an empty organizationId means this
// merchant.
func (s *Server) checkOrganization(now time.Time, org string) *apiError {
	if org != "" && org != s.opts.MerchantID {
		return forbidden(now, "Permission denied for organization "+org)
	}
	return nil
}

// reportWindow reads the startTime and endTime query parameters (ISO 8601).
func reportWindow(now time.Time, q url.Values) (time.Time, time.Time, *apiError) {
	var missing []fieldDetail
	for _, f := range []string{"startTime", "endTime"} {
		if strings.TrimSpace(q.Get(f)) == "" {
			missing = append(missing, fieldDetail{Field: f, Reason: reasonMissingField})
		}
	}
	if len(missing) > 0 {
		return time.Time{}, time.Time{}, reportingError(now, http.StatusBadRequest, reasonInvalidData, "Missing required query parameters", missing...)
	}
	start, err1 := time.Parse(time.RFC3339, strings.TrimSpace(q.Get("startTime")))
	end, err2 := time.Parse(time.RFC3339, strings.TrimSpace(q.Get("endTime")))
	switch {
	case err1 != nil:
		return time.Time{}, time.Time{}, reportingError(now, http.StatusBadRequest, reasonInvalidData, "startTime must be an ISO 8601 date-time",
			fieldDetail{Field: "startTime", Reason: reasonInvalidData})
	case err2 != nil:
		return time.Time{}, time.Time{}, reportingError(now, http.StatusBadRequest, reasonInvalidData, "endTime must be an ISO 8601 date-time",
			fieldDetail{Field: "endTime", Reason: reasonInvalidData})
	case !end.After(start):
		return time.Time{}, time.Time{}, reportingError(now, http.StatusBadRequest, reasonInvalidData, "endTime must be after startTime",
			fieldDetail{Field: "endTime", Reason: reasonInvalidData})
	}
	return start.UTC(), end.UTC(), nil
}
