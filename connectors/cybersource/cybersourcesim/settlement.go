package cybersourcesim

import (
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// settleDue runs every daily cut-off that the simulator clock has passed: at 00:00 UTC the
// pending captures, sales, refunds and credits submitted before it are batched, one batch per
// submit day. Batched transactions can no longer be voided, appear in the Payment Batch Detail
// Report, the batch summaries and net fundings, and send a payments.*.status.updated webhook. The
// pending settlement quirks apply to this run and are then cleared. The caller holds s.mu.
func (s *Server) settleDue(now time.Time) {
	st := s.state
	today := startOfDay(now)
	if !today.After(st.settledThrough) {
		return
	}
	byDay := map[string][]*Transaction{}
	for _, id := range st.txnOrder {
		t := st.txns[id]
		if t.SettlementStatus == SettlementPending && t.SubmitTime.Before(today) {
			day := t.SubmitTime.UTC().Format(time.DateOnly)
			byDay[day] = append(byDay[day], t)
		}
	}
	days := make([]string, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	sort.Strings(days)
	for _, day := range days {
		date, _ := time.Parse(time.DateOnly, day)
		b := &Batch{ID: s.newBatchID(), Date: day, ClosedAt: date.Add(24 * time.Hour)}
		for _, t := range byDay[day] {
			e := s.batchEntry(t)
			st.applyQuirks(&e)
			b.Entries = append(b.Entries, e)
			t.SettlementStatus = SettlementBatched
			t.BatchID, t.BatchDate = b.ID, day
			if t.Kind != KindSale {
				t.Status = SettlementBatched
			}
			for i := range t.Applications {
				if a := &t.Applications[i]; a.Name == "ics_bill" || a.Name == "ics_credit" {
					a.Status = SettlementBatched
				}
			}
			switch t.Kind {
			case KindSale, KindCapture:
				s.notify(EventCaptureUpdated, t)
			case KindRefund:
				s.notify(EventRefundUpdated, t)
			case KindCredit:
				s.notify(EventCreditUpdated, t)
			}
		}
		st.batches = append(st.batches, b)
	}
	st.settledThrough = today
	st.quirks = SettlementQuirks{} // consumed by this run
}

// batchEntry is t's row in its batch: ics_bill positive, ics_credit negative.
func (s *Server) batchEntry(t *Transaction) BatchEntry {
	e := BatchEntry{TransactionID: t.ID, RootID: t.RootID, Kind: t.Kind, MerchantReference: t.ClientReferenceCode,
		ReconciliationID: t.ReconciliationID, Currency: t.Currency, Amount: t.Amount, Fee: decimal.Zero}
	if t.Card != nil {
		e.PaymentMethod, e.CardType = t.Card.Brand, t.Card.Type
	}
	switch t.Kind {
	case KindSale, KindCapture:
		e.Application = "ics_bill"
		e.Fee = s.fee.For(t.Amount, t.Currency)
	default:
		e.Application = "ics_credit"
		e.Amount = t.Amount.Neg()
	}
	return e
}

// reportAvailable reports whether the daily reports of date exist at now: the day's cut-off has
// passed, and the simulator was running on that day.
func (st *gatewayState) reportAvailable(date, now time.Time) bool {
	return startOfDay(now).After(date) && !date.Before(startOfDay(st.started))
}

// batchesOn returns the batches of one batch date.
func (st *gatewayState) batchesOn(day string) []*Batch {
	var out []*Batch
	for _, b := range st.batches {
		if b.Date == day {
			out = append(out, b)
		}
	}
	return out
}
