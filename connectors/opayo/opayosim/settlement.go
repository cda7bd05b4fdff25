package opayosim

import (
	"sort"
	"strconv"
	"time"
)

// batch is one settlement batch: the transactions of one business day for one acquirer
// (opayo.md §5).
type batch struct {
	id             string
	authProcessor  string
	merchantNumber string
	businessDay    time.Time // London midnight that began the day the transactions were captured
	completed      time.Time // the midnight run that closed the batch
	txs            []*transaction
	// omitted and reported are settlement quirks (SettlementQuirks): getBatchDetail leaves the
	// omitted transactions out and shows the reported ones with that amount (minor units).
	omitted  map[string]bool
	reported map[string]int64
}

// batchGroup is a batch's totals for one currency, in minor units.
type batchGroup struct {
	currency                    string
	paymentNumber, refundNumber int
	paymentValue, refundValue   int64
}

// groups totals the batch per currency, sorted by currency code.
func (b *batch) groups() []batchGroup {
	byCur := map[string]*batchGroup{}
	for _, t := range b.txs {
		amount, _, _ := t.captured()
		g := byCur[t.currency]
		if g == nil {
			g = &batchGroup{currency: t.currency}
			byCur[t.currency] = g
		}
		if t.txType == typeRefund {
			g.refundNumber++
			g.refundValue += amount
		} else {
			g.paymentNumber++
			g.paymentValue += amount
		}
	}
	out := make([]batchGroup, 0, len(byCur))
	for _, g := range byCur {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].currency < out[j].currency })
	return out
}

// settleDue runs the midnight settlement for every London midnight the clock has passed since the
// last run. The caller holds s.mu.
func (s *Server) settleDue(now time.Time) {
	for {
		next := nextLondonMidnight(s.lastMidnight)
		if next.After(now) {
			return
		}
		s.settle(next)
		s.lastMidnight = next
	}
}

// settle batches, at cutoff (a London midnight), every captured and not yet settled transaction
// taken before it: one batch per acquirer, Elavon first, then American Express. A transaction
// whose notification is still unanswered waits for a later run. The pending settlement quirks
// apply to this run and are then cleared.
func (s *Server) settle(cutoff time.Time) {
	byProcessor := map[string][]*transaction{}
	for _, t := range s.txOrder {
		if t.batchID != "" {
			continue
		}
		if _, at, ok := t.captured(); !ok || !at.Before(cutoff) {
			continue
		}
		name := t.authProcessor
		if name == "" {
			name = AuthProcessorElavon
		}
		byProcessor[name] = append(byProcessor[name], t)
	}
	for _, name := range []string{AuthProcessorElavon, AuthProcessorAmex} {
		txs := byProcessor[name]
		if len(txs) == 0 {
			continue
		}
		b := &batch{
			id:             strconv.Itoa(s.nextBatchID),
			authProcessor:  name,
			merchantNumber: merchantNumbers[name],
			businessDay:    londonMidnight(cutoff.Add(-time.Hour)),
			completed:      cutoff,
			txs:            txs,
		}
		s.nextBatchID++
		for _, t := range txs {
			t.batchID = b.id
			t.settledAt = cutoff
		}
		s.applyQuirks(b)
		s.batches = append(s.batches, b)
	}
	s.quirks = SettlementQuirks{} // consumed by this run
}
