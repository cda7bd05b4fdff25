package anomaly

import (
	"fmt"
	"math"
	"slices"
	"time"
)

const minuteNS = int64(time.Minute)

// minuteCounter counts events in a sliding window with one-minute resolution, in constant
// memory (one int32 per minute of the window).
type minuteCounter struct {
	buckets []int32
	head    int64 // absolute minute of the latest bucket
	sum     int64
}

func newMinuteCounter(w time.Duration) minuteCounter {
	n := max(1, int((w+time.Minute-1)/time.Minute))
	return minuteCounter{buckets: make([]int32, n), head: math.MinInt64}
}

func (c *minuteCounter) advance(minute int64) {
	n := int64(len(c.buckets))
	if c.head == math.MinInt64 {
		c.head = minute
		return
	}
	if minute <= c.head {
		return
	}
	if minute-c.head >= n {
		clear(c.buckets)
		c.sum = 0
	} else {
		for m := c.head + 1; m <= minute; m++ {
			i := m % n
			c.sum -= int64(c.buckets[i])
			c.buckets[i] = 0
		}
	}
	c.head = minute
}

func (c *minuteCounter) add(t int64) {
	m := t / minuteNS
	c.advance(m)
	if m <= c.head-int64(len(c.buckets)) {
		return // older than the window
	}
	c.buckets[m%int64(len(c.buckets))]++
	c.sum++
}

func (c *minuteCounter) count(t int64) int64 {
	c.advance(t / minuteNS)
	return c.sum
}

type refundEntry struct {
	at  int64
	pid int64
}

type dayCount struct {
	day               int64
	payments, refunds int32
}

// refundState is one merchant's payments and refunds: a sliding window for the recent ratio
// and daily counts for its usual ratio.
type refundState struct {
	payments  minuteCounter
	refunds   []refundEntry // in the window, oldest first
	latest    int64
	days      []dayCount // ring of RefundBaselineDays+1 days, indexed by day number
	totalPays int64
	totalRefs int64
	baseDay   int64 // day the cached baseline was computed for (−1: stale)
	base      float64
	epKey     string // DedupeKey of the latest spike
	epAnchor  int64  // time of the refund that opened it
	epSubject int64
}

func (d *Detector) newRefundState() *refundState {
	return &refundState{
		payments: newMinuteCounter(d.cfg.RefundWindow),
		days:     make([]dayCount, d.cfg.RefundBaselineDays+1),
		baseDay:  -1,
	}
}

func (s *refundState) dayOf(t int64) *dayCount {
	day := t / int64(24*time.Hour)
	dc := &s.days[int(day%int64(len(s.days)))]
	if dc.day != day {
		*dc = dayCount{day: day}
	}
	return dc
}

// refundPayment counts an approved payment for its merchant's refund ratio.
func (d *Detector) refundPayment(e Event, t int64) {
	if e.Merchant == "" {
		return
	}
	st := d.refunds.get(e.Merchant, t, d.newRefundState)
	st.payments.add(t)
	st.dayOf(t).payments++
	st.totalPays++
}

// usual is the merchant's usual refund ratio, learned from its own days: the daily ratios of
// the last RefundBaselineDays complete days with at least RefundMinDailyPayments payments, less
// the days that were spikes themselves — judged, with the same rule as the window, against the
// lower quartile of those ratios, which spike days cannot drag up unless they are most days — and
// then their median. Before RefundMinBaselineDays such days, it is the ratio over everything seen
// once that is ten days' minimum of payments; before that, 0 (not judged).
func (d *Detector) usual(st *refundState, t int64) float64 {
	today := t / int64(24*time.Hour)
	if st.baseDay == today {
		return st.base
	}
	type dayRatio struct{ refunds, payments, ratio float64 }
	var days []dayRatio
	for _, dc := range st.days {
		if dc.day < today && dc.day >= today-int64(d.cfg.RefundBaselineDays) && dc.payments >= int32(d.cfg.RefundMinDailyPayments) {
			days = append(days, dayRatio{float64(dc.refunds), float64(dc.payments), float64(dc.refunds) / float64(dc.payments)})
		}
	}
	var b float64
	switch {
	case len(days) >= d.cfg.RefundMinBaselineDays:
		ratios := make([]float64, len(days))
		for i, x := range days {
			ratios[i] = x.ratio
		}
		slices.Sort(ratios)
		ref := math.Max(ratios[(len(ratios)-1)/4], d.cfg.RefundMinBaseline)
		var kept []float64
		for _, x := range days {
			expected := math.Max(ref*x.payments, 1)
			spike := x.ratio >= d.cfg.RefundFactor*ref && (x.refunds-expected)/math.Sqrt(expected) >= d.cfg.RefundZ
			if !spike {
				kept = append(kept, x.ratio)
			}
		}
		if len(kept) >= d.cfg.RefundMinBaselineDays {
			b = median(kept)
		} else {
			b = sortedMedian(ratios)
		}
		b = math.Max(b, d.cfg.RefundMinBaseline)
	case st.totalPays >= 10*int64(d.cfg.RefundMinDailyPayments):
		b = math.Max(float64(st.totalRefs)/float64(st.totalPays), d.cfg.RefundMinBaseline)
	}
	st.baseDay, st.base = today, b
	return b
}

// refund judges a merchant's refunds in the last RefundWindow against its usual ratio: raised
// when there are at least RefundMinCount refunds, the recent ratio is at least RefundFactor
// times the usual ratio, and the excess is significant: (refunds − expected) / sqrt(expected) ≥
// RefundZ, expected being usual ratio × payments in the window.
func (d *Detector) refund(e Event, t int64, emit bool, out []Finding) []Finding {
	if e.Merchant == "" {
		return out
	}
	st := d.refunds.get(e.Merchant, t, d.newRefundState)
	w := int64(d.cfg.RefundWindow)
	st.refunds, _, st.latest, _ = slide(st.refunds, func(r refundEntry) int64 { return r.at }, st.latest, t, w,
		refundEntry{at: t, pid: e.PaymentID}, d.cfg.RefundMaxListed)
	st.dayOf(t).refunds++
	st.totalRefs++
	base := d.usual(st, st.latest)
	if base <= 0 {
		return out
	}
	r := len(st.refunds)
	p := st.payments.count(st.latest)
	expected := math.Max(base*float64(p), 1)
	ratio := float64(r) / math.Max(float64(p), 1)
	score := ratio / base
	z := (float64(r) - expected) / math.Sqrt(expected)
	if r < d.cfg.RefundMinCount || score < d.cfg.RefundFactor || z < d.cfg.RefundZ {
		return out
	}
	// The same spike while the refund that opened it is still in the window; a new one otherwise.
	if st.epKey == "" || st.epAnchor <= st.latest-w {
		st.epKey = fmt.Sprintf("%s:%s:%d", RefundRatioSpike, e.Merchant, st.refunds[0].at/int64(time.Second))
		st.epSubject = st.refunds[0].pid
		st.epAnchor = t
	}
	if !emit {
		return out
	}
	ids := make([]int64, r)
	for i, x := range st.refunds {
		ids[i] = x.pid
	}
	f := Finding{
		Kind:     RefundRatioSpike,
		Severity: SeverityWarning,
		Score:    score,
		Explanation: fmt.Sprintf("Merchant %s made %d refunds against %d payments in the last %s (%s), %s times its usual refund rate of %s (expected about %.0f refunds; z = %.1f)",
			e.Merchant, r, p, window(d.cfg.RefundWindow), percent(ratio), times(score), percent(base), expected, z),
		DedupeKey:   st.epKey,
		SubjectType: "payment", SubjectID: st.epSubject,
		PaymentIDs: paymentIDs(ids),
		Events:     paymentRefs(ids),
		Details: map[string]any{
			"merchant": e.Merchant, "refunds": r, "payments": p, "window": d.cfg.RefundWindow.String(),
			"ratio": round2(ratio * 100), "usualRatio": round2(base * 100), "expectedRefunds": round2(expected),
			"z": round2(z), "factor": round2(score),
		},
	}
	if score >= 2*d.cfg.RefundFactor && z >= 2*d.cfg.RefundZ {
		f.Severity = SeverityCritical
	}
	return append(out, f)
}
