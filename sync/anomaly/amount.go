package anomaly

import (
	"fmt"
	"math"
	"strconv"
)

// amountState is a rolling history of log amounts (a customer's or a merchant's payments, or a
// merchant's settlement discrepancies) with, for merchants, cached robust statistics.
type amountState struct {
	hist history
	// Cached median and MAD (merchants only: recomputed every MerchantRecompute amounts, and
	// afresh before anything is raised).
	med, mad float64
	statN    int // history length when med/mad were computed; 0 = never
	since    int // amounts added since
}

func (d *Detector) newCustomer() *amountState {
	return &amountState{hist: history{cap: d.cfg.CustomerHistory}}
}

func (d *Detector) newMerchant() *amountState {
	return &amountState{hist: history{cap: d.cfg.MerchantHistory}}
}

func (d *Detector) newSettlement() *amountState {
	return &amountState{hist: history{cap: d.cfg.SettlementHistory}}
}

// pairKey keys the tables kept per (customer or merchant, currency).
type pairKey struct{ a, b string }

// amounts judges an approved payment's amount against the customer's own history and the
// merchant's, then learns from it.
func (d *Detector) amounts(e Event, t int64, emit bool, out []Finding) []Finding {
	// Converting the amount to a float is confined to the statistics: x is ln(amount).
	x := logAmount(e.Amount)
	if !logAmountOK(x) {
		return out
	}
	normalForCustomer := false
	if e.Customer != "" {
		cs := d.customers.get(pairKey{e.Customer, e.Currency}, t, d.newCustomer)
		out, normalForCustomer = d.customerAmount(cs, e, x, emit, out)
	}
	if e.Merchant != "" {
		ms := d.merchants.get(pairKey{e.Merchant, e.Currency}, t, d.newMerchant)
		out = d.merchantAmount(ms, e, x, normalForCustomer, emit, out)
	}
	return out
}

// customerAmount: robust z of ln(amount) against the median and MAD of the customer's last
// CustomerHistory log amounts. The scale is shrunk towards the population's learned typical
// scale (CustomerPriorWeight pseudo-observations) so that a short or unusually regular history
// does not make every small deviation look huge, and the threshold is raised for short
// histories. A raised amount enters the history clipped to the threshold, so one outlier does not
// drag the baseline towards itself; a customer whose level really moved is learned once the new
// level makes up about half the history. normal reports that the customer has a history long
// enough to judge and the amount is not unusual for it.
func (d *Detector) customerAmount(cs *amountState, e Event, x float64, emit bool, out []Finding) (_ []Finding, normal bool) {
	cfg := &d.cfg
	n := cs.hist.n()
	if n < cfg.CustomerMinHistory {
		cs.hist.add(x)
		return out, false
	}
	med, mad := cs.hist.medianMAD()
	s := madToSigma * mad
	if n >= 30 {
		// Learn the population's typical scale from well-established customers.
		d.pooledScale += 0.002 * (s - d.pooledScale)
	}
	w := cfg.CustomerPriorWeight
	scale := math.Sqrt((float64(n)*s*s + w*d.pooledScale*d.pooledScale) / (float64(n) + w))
	scale = math.Max(scale, cfg.MinLogScale)
	thr := cfg.CustomerZ * math.Sqrt(1+cfg.SmallSampleK/float64(n))
	z := (x - med) / scale
	ratio := math.Exp(x - med)
	if z < thr || ratio < cfg.CustomerMinRatio {
		cs.hist.add(x)
		return out, true
	}
	cs.hist.add(med + thr*scale)
	if !emit {
		return out, false
	}
	usual := expMoney(med)
	f := Finding{
		Kind:     AmountOutlierCustomer,
		Severity: severityZ(z, thr, cfg.CriticalZFactor),
		Score:    z,
		Explanation: fmt.Sprintf("Payment of %s by customer %s is %s times their usual amount (median %s over %s; robust z = %.1f, threshold %.1f)",
			money(e.Amount, e.Currency), e.Customer, times(ratio), number(usual, e.Currency), plural(n, "payment", "payments"), z, thr),
		DedupeKey:   amountKey(AmountOutlierCustomer, e),
		SubjectType: "payment", SubjectID: e.PaymentID,
		PaymentIDs: paymentIDs([]int64{e.PaymentID}),
		Events:     []Ref{RefOf(e)},
		Details: map[string]any{
			"customer": e.Customer, "merchant": e.Merchant, "amount": amountString(e.Amount, e.Currency),
			"currency": e.Currency, "median": amountString(usual, e.Currency), "history": n,
			"robustZ": round2(z), "threshold": round2(thr), "ratio": round2(ratio),
			"logScale": round2(scale), "logMAD": round2(mad),
		},
	}
	return append(out, f), false
}

// merchantAmount: robust z of ln(amount) against the merchant's last MerchantHistory log
// amounts. A merchant's history mixes small and big customers, so its scale is wide; this catches
// amounts beyond anything the merchant normally takes from guests, new customers, and
// established customers for whom the amount is unusual too. An amount that is normal for an
// established customer (normalForCustomer) is only learned: the more specific baseline wins, so
// a big trade account's usual order is not flagged because most of the merchant's customers are
// small.
func (d *Detector) merchantAmount(ms *amountState, e Event, x float64, normalForCustomer, emit bool, out []Finding) []Finding {
	cfg := &d.cfg
	n := ms.hist.n()
	if n < cfg.MerchantMinHistory || normalForCustomer {
		ms.hist.add(x)
		ms.since++
		return out
	}
	if ms.statN == 0 || ms.since >= cfg.MerchantRecompute {
		d.merchantStats(ms)
	}
	scale := math.Max(madToSigma*ms.mad, cfg.MinLogScale)
	z := (x - ms.med) / scale
	if z >= 0.8*cfg.MerchantZ && ms.since > 0 {
		// A candidate: judge it on exact, current statistics.
		d.merchantStats(ms)
		scale = math.Max(madToSigma*ms.mad, cfg.MinLogScale)
		z = (x - ms.med) / scale
	}
	ratio := math.Exp(x - ms.med)
	if z < cfg.MerchantZ || ratio < cfg.MerchantMinRatio {
		ms.hist.add(x)
		ms.since++
		return out
	}
	ms.hist.add(ms.med + cfg.MerchantZ*scale)
	ms.since++
	if !emit {
		return out
	}
	usual := expMoney(ms.med)
	who := "a guest"
	if e.Customer != "" {
		who = "customer " + e.Customer
	}
	f := Finding{
		Kind:     AmountOutlierMerchant,
		Severity: severityZ(z, cfg.MerchantZ, cfg.CriticalZFactor),
		Score:    z,
		Explanation: fmt.Sprintf("Payment of %s by %s at %s is %s times the merchant's usual amount (median %s over the last %s; robust z = %.1f, threshold %.1f)",
			money(e.Amount, e.Currency), who, e.Merchant, times(ratio), number(usual, e.Currency), plural(ms.statN, "payment", "payments"), z, cfg.MerchantZ),
		DedupeKey:   amountKey(AmountOutlierMerchant, e),
		SubjectType: "payment", SubjectID: e.PaymentID,
		PaymentIDs: paymentIDs([]int64{e.PaymentID}),
		Events:     []Ref{RefOf(e)},
		Details: map[string]any{
			"customer": e.Customer, "merchant": e.Merchant, "amount": amountString(e.Amount, e.Currency),
			"currency": e.Currency, "median": amountString(usual, e.Currency), "history": ms.statN,
			"robustZ": round2(z), "threshold": cfg.MerchantZ, "ratio": round2(ratio),
			"logScale": round2(scale),
		},
	}
	return append(out, f)
}

func (d *Detector) merchantStats(ms *amountState) {
	ms.med, ms.mad = ms.hist.medianMAD()
	ms.statN = ms.hist.n()
	ms.since = 0
}

func amountKey(k Kind, e Event) string {
	if e.PaymentID != 0 {
		return string(k) + ":" + strconv.FormatInt(e.PaymentID, 10)
	}
	return fmt.Sprintf("%s:%s:%s:%s:%d", k, e.Merchant, e.Customer, e.Amount.String(), e.At.UnixNano())
}

func severityZ(z, thr, factor float64) Severity {
	if z >= factor*thr {
		return SeverityCritical
	}
	return SeverityWarning
}
