package anomaly

import (
	"fmt"
	"math"
	"strconv"
)

// settlement judges a reconciliation discrepancy against the merchant's own usual
// discrepancies. Reconciliation always leaves some noise (fee rounding, FX rounding): each
// merchant+currency keeps a rolling history of ln |difference|. A difference below
// SettlementMinAmount is noise and only learned. With SettlementMinHistory differences seen, one
// is raised when its robust z ≥ SettlementZ and it is at least SettlementMinRatio times the
// median; before that, when it is at least SettlementNoHistoryAmount. Raised differences are not
// learned: they are not noise.
func (d *Detector) settlement(e Event, t int64, emit bool, out []Finding) []Finding {
	cfg := &d.cfg
	abs := e.Amount.Abs()
	if !abs.IsPositive() {
		return out
	}
	st := d.settlements.get(pairKey{e.Merchant, e.Currency}, t, d.newSettlement)
	// Float only for the statistics: x is ln |difference|.
	x := logAmount(abs)
	if !logAmountOK(x) {
		return out
	}
	if abs.LessThan(cfg.SettlementMinAmount) {
		st.hist.add(x)
		return out
	}
	n := st.hist.n()
	var z, ratio, score, med, thr float64
	raise := false
	if n < cfg.SettlementMinHistory {
		noHist, _ := cfg.SettlementNoHistoryAmount.Float64()
		score = math.Exp(x) / noHist
		raise = !abs.LessThan(cfg.SettlementNoHistoryAmount)
	} else {
		var mad float64
		med, mad = st.hist.medianMAD()
		scale := math.Max(madToSigma*mad, cfg.SettlementMinLogScale)
		z = (x - med) / scale
		ratio = math.Exp(x - med)
		score, thr = z, cfg.SettlementZ
		raise = z >= cfg.SettlementZ && ratio >= cfg.SettlementMinRatio
	}
	if !raise {
		st.hist.add(x)
		return out
	}
	if !emit {
		return out
	}
	subject := RefOf(e)
	var expl string
	details := map[string]any{
		"merchant": e.Merchant, "difference": amountString(e.Amount, e.Currency), "currency": e.Currency,
		"history": n, "detail": e.Detail,
	}
	if n < cfg.SettlementMinHistory {
		expl = fmt.Sprintf("Settlement discrepancy of %s at %s (%s %d); there is not yet enough history of this merchant's discrepancies, and anything from %s is raised",
			money(e.Amount, e.Currency), e.Merchant, subject.Type, subject.ID, money(cfg.SettlementNoHistoryAmount, e.Currency))
		details["threshold"] = amountString(cfg.SettlementNoHistoryAmount, e.Currency)
	} else {
		usual := expMoney(med)
		expl = fmt.Sprintf("Settlement discrepancy of %s at %s (%s %d) is %s times the merchant's usual discrepancy (median %s over %s; robust z = %.1f, threshold %.1f)",
			money(e.Amount, e.Currency), e.Merchant, subject.Type, subject.ID, times(ratio), number(usual, e.Currency),
			plural(n, "discrepancy", "discrepancies"), z, thr)
		details["median"] = amountString(usual, e.Currency)
		details["robustZ"] = round2(z)
		details["threshold"] = thr
		details["ratio"] = round2(ratio)
	}
	if e.Detail != "" {
		expl += ": " + e.Detail
	}
	f := Finding{
		Kind:        SettlementMismatch,
		Severity:    SeverityWarning,
		Score:       score,
		Explanation: expl,
		DedupeKey:   string(SettlementMismatch) + ":" + subject.Type + ":" + strconv.FormatInt(subject.ID, 10),
		SubjectType: subject.Type, SubjectID: subject.ID,
		PaymentIDs: paymentIDs([]int64{e.PaymentID}),
		Events:     []Ref{subject},
		Details:    details,
	}
	if !abs.LessThan(cfg.SettlementCriticalAmount) || (thr > 0 && z >= cfg.CriticalZFactor*thr) {
		f.Severity = SeverityCritical
	}
	return append(out, f)
}
