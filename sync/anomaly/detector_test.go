package anomaly

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

var t0 = time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func payment(id int64, at time.Time, merchant, customer, card string, amount string) Event {
	return Event{Kind: EventPayment, At: at, PaymentID: id, Merchant: merchant, Customer: customer, Card: card,
		Amount: dec(amount), Currency: "GBP", Reference: fmt.Sprintf("SO%d", id)}
}

// wiggle is a deterministic spread of amounts around a level: level × exp(spread × sin(i)).
func wiggle(level float64, spread float64, i int) string {
	return decimal.NewFromFloat(level * math.Exp(spread*math.Sin(float64(i)*1.7))).StringFixed(2)
}

func only(t *testing.T, fs []Finding, k Kind) []Finding {
	t.Helper()
	var out []Finding
	for _, f := range fs {
		if f.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

func TestCustomerOutlierIsFoundWithASensibleExplanation(t *testing.T) {
	d := New(DefaultConfig())
	id := int64(100)
	for i := 0; i < 57; i++ {
		id++
		if fs := d.Observe(payment(id, t0.Add(time.Duration(i)*24*time.Hour), "opayo:shop", "C0042", fmt.Sprintf("fp_%d", i%2), wiggle(130, 0.3, i))); len(fs) != 0 {
			t.Fatalf("normal payment %d raised %v", i, fs[0].Explanation)
		}
	}
	id++
	fs := d.Observe(payment(id, t0.Add(58*24*time.Hour), "opayo:shop", "C0042", "fp_0", "4950.00"))
	out := only(t, fs, AmountOutlierCustomer)
	if len(out) != 1 || len(fs) != 1 {
		t.Fatalf("got %d findings (%d customer outliers), want exactly one customer outlier", len(fs), len(out))
	}
	f := out[0]
	t.Log(f.Explanation)
	for _, want := range []string{"Payment of 4,950.00 GBP by customer C0042 is ", " times their usual amount (median 1", "over 57 payments; robust z = "} {
		if !strings.Contains(f.Explanation, want) {
			t.Errorf("explanation %q lacks %q", f.Explanation, want)
		}
	}
	if f.DedupeKey != fmt.Sprintf("amount_outlier_customer:%d", id) || f.SubjectType != "payment" || f.SubjectID != id {
		t.Errorf("key %q subject %s/%d", f.DedupeKey, f.SubjectType, f.SubjectID)
	}
	if f.Severity != SeverityCritical || f.Score < 10 {
		t.Errorf("severity %s score %.1f: a 38-fold jump for a steady customer is critical", f.Severity, f.Score)
	}
	if len(f.PaymentIDs) != 1 || f.PaymentIDs[0] != id || f.Details["amount"] != "4950.00" || f.Details["currency"] != "GBP" {
		t.Errorf("payment ids %v details %v", f.PaymentIDs, f.Details)
	}
	if _, err := json.Marshal(f.Details); err != nil {
		t.Errorf("details are not JSON-able: %v", err)
	}
	// The outlier did not become the customer's new normal: a second one is still found, and the
	// usual amount is still about 130.
	id++
	if fs := d.Observe(payment(id, t0.Add(59*24*time.Hour), "opayo:shop", "C0042", "fp_0", "4800.00")); len(only(t, fs, AmountOutlierCustomer)) != 1 {
		t.Errorf("a second outlier right after the first was not found")
	} else if m, _ := decimal.NewFromString(fs[0].Details["median"].(string)); m.LessThan(dec("110")) || m.GreaterThan(dec("150")) {
		t.Errorf("median moved to %s after an outlier", m)
	}
}

func TestBigSpendersNormalBigPaymentIsNotAnOutlier(t *testing.T) {
	d := New(DefaultConfig())
	const merchant = "cybersource:trade"
	id := int64(0)
	at := t0
	// A merchant whose customers mostly spend 20–60, and one trade account that spends ~20,000
	// (one payment in ten).
	for i := 0; i < 600; i++ {
		id++
		at = at.Add(37 * time.Minute)
		if i%10 == 0 {
			d.Observe(payment(id, at, merchant, "C9000", "fp_big", wiggle(20000, 0.25, i)))
			continue
		}
		c := fmt.Sprintf("C%04d", i%40)
		d.Observe(payment(id, at, merchant, c, "fp_"+c, wiggle(40, 0.3, i)))
	}
	id++
	if fs := d.Observe(payment(id, at.Add(time.Hour), merchant, "C9000", "fp_big", "30000.00")); len(fs) != 0 {
		t.Errorf("the big spender's 30,000 (usual ~20,000) raised %s: %s", fs[0].Kind, fs[0].Explanation)
	}
	// The same amount from a small customer is unusual for them and for the merchant.
	id++
	fs := d.Observe(payment(id, at.Add(2*time.Hour), merchant, "C0001", "fp_C0001", "30000.00"))
	if len(only(t, fs, AmountOutlierCustomer)) != 1 || len(only(t, fs, AmountOutlierMerchant)) != 1 {
		t.Fatalf("a small customer's 30,000 raised %d findings, want a customer and a merchant outlier", len(fs))
	}
	t.Log(only(t, fs, AmountOutlierMerchant)[0].Explanation)
}

func attempt(kind EventKind, id int64, at time.Time, card, email, ip string) Event {
	return Event{Kind: kind, At: at, PaymentID: id, Merchant: "opayo:shop", Card: card, Email: email, IP: ip,
		Amount: dec("1.50"), Currency: "GBP", Reference: fmt.Sprintf("SO%d", id)}
}

func TestVelocityWindowSlides(t *testing.T) {
	d := New(DefaultConfig())
	obs := func(id int64, after time.Duration) []Finding {
		return only(t, d.Observe(attempt(EventDecline, id, t0.Add(after), "fp_stolen", "", "")), CardVelocity)
	}
	for i, at := range []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute} {
		if fs := obs(int64(i+1), at); len(fs) != 0 {
			t.Fatalf("attempt %d raised", i+1)
		}
	}
	// 10m30s: the first attempt has left the window, so there are four, not five.
	if fs := obs(5, 10*time.Minute+30*time.Second); len(fs) != 0 {
		t.Fatalf("the window did not slide: %s", fs[0].Explanation)
	}
	fs := obs(6, 10*time.Minute+40*time.Second)
	if len(fs) != 1 {
		t.Fatalf("five attempts within ten minutes raised %d card findings", len(fs))
	}
	f := fs[0]
	t.Log(f.Explanation)
	want := []int64{2, 3, 4, 5, 6}
	if fmt.Sprint(f.PaymentIDs) != fmt.Sprint(want) || len(f.Events) != 5 {
		t.Errorf("payment ids %v, want %v (the attempt at 0 is outside the window)", f.PaymentIDs, want)
	}
	if !strings.Contains(f.Explanation, "Card fp_stolen was used for 5 payment attempts (5 declined)") || f.Score != 1 {
		t.Errorf("explanation %q score %v", f.Explanation, f.Score)
	}
	if f.DedupeKey != fmt.Sprintf("card_velocity:fp_stolen:%d", t0.Add(time.Minute).Unix()) {
		t.Errorf("key %q", f.DedupeKey)
	}
}

func TestVelocityEpisodeKeepsOneDedupeKey(t *testing.T) {
	run := func(d *Detector, from int, warmUntil int) map[string]int {
		keys := map[string]int{}
		id := int64(0)
		for burst := 0; burst < 2; burst++ {
			start := t0.Add(time.Duration(burst) * 30 * time.Minute)
			for i := 0; i < 8; i++ {
				id++
				e := attempt(EventDecline, id, start.Add(time.Duration(i)*30*time.Second), "fp_x", fmt.Sprintf("a%d@x.test", id), fmt.Sprintf("10.0.%d.%d", burst, i))
				if int(id) <= warmUntil {
					d.Warm(e)
					continue
				}
				for _, f := range only(t, d.Observe(e), CardVelocity) {
					keys[f.DedupeKey]++
				}
			}
		}
		return keys
	}
	keys := run(New(DefaultConfig()), 0, 0)
	if len(keys) != 2 {
		t.Fatalf("two bursts gave %d keys: %v", len(keys), keys)
	}
	for k, n := range keys {
		if n != 4 {
			t.Errorf("%s: %d findings, want 4 (attempts 5 to 8 of the burst)", k, n)
		}
	}
	// A detector restarted mid-burst and warmed with what came before reuses the same key.
	warmed := run(New(DefaultConfig()), 0, 6)
	for k := range warmed {
		if keys[k] == 0 {
			t.Errorf("after a warm restart the key %s is new", k)
		}
	}
}

func TestVelocityLearnsABusyCallCentre(t *testing.T) {
	d := New(DefaultConfig())
	const ip = "203.0.113.7"
	id := int64(0)
	// Five office days of phone orders keyed from one IP: one every 100–300 s.
	for day := 0; day < 5; day++ {
		at := t0.Add(time.Duration(day) * 24 * time.Hour)
		end := at.Add(8 * time.Hour)
		for i := 0; at.Before(end); i++ {
			id++
			e := attempt(EventPayment, id, at, fmt.Sprintf("fp_%d", id), fmt.Sprintf("c%d@x.test", id), ip)
			d.Warm(e)
			at = at.Add(time.Duration(100+(i*73)%200) * time.Second)
		}
	}
	// A busy ten minutes: eight orders. Normal for this IP.
	day6 := t0.Add(5 * 24 * time.Hour)
	for i := 0; i < 8; i++ {
		id++
		if fs := only(t, d.Observe(attempt(EventPayment, id, day6.Add(time.Duration(i)*70*time.Second), fmt.Sprintf("fp_%d", id), "", ip)), IPVelocity); len(fs) != 0 {
			t.Fatalf("a busy call-centre window raised: %s", fs[0].Explanation)
		}
	}
	// A bot behind the same IP: forty attempts in five minutes.
	var raised []Finding
	for i := 0; i < 40; i++ {
		id++
		raised = append(raised, only(t, d.Observe(attempt(EventDecline, id, day6.Add(2*time.Hour+time.Duration(i)*7*time.Second), fmt.Sprintf("fp_%d", id), "", ip)), IPVelocity)...)
	}
	if len(raised) == 0 {
		t.Fatal("forty attempts in five minutes from the call-centre IP raised nothing")
	}
	thr := raised[0].Details["threshold"].(int)
	if thr <= 5 {
		t.Errorf("threshold %d: the IP's busy normal was not learned", thr)
	}
	t.Logf("learned threshold %d: %s", thr, raised[0].Explanation)
}

func TestDuplicatePayment(t *testing.T) {
	d := New(DefaultConfig())
	at := t0
	obs := func(e Event) []Finding { return only(t, d.Observe(e), DuplicatePayment) }

	// A double submission: two orders, one card, one amount, 40 s apart.
	a := payment(1, at, "opayo:shop", "C1", "fp_a", "49.99")
	b := payment(2, at.Add(40*time.Second), "opayo:shop", "C1", "fp_a", "49.99")
	if fs := obs(a); len(fs) != 0 {
		t.Fatal("first charge raised")
	}
	fs := obs(b)
	if len(fs) != 1 {
		t.Fatalf("double submission raised %d findings", len(fs))
	}
	t.Log(fs[0].Explanation)
	if fs[0].DedupeKey != "duplicate_payment:1" || fmt.Sprint(fs[0].PaymentIDs) != "[1 2]" || fs[0].Severity != SeverityWarning || fs[0].Score != 2 {
		t.Errorf("finding %+v", fs[0])
	}
	// Their captures, half an hour later, are the same condition.
	for i, parent := range []int64{1, 2} {
		c := payment(int64(100+i), at.Add(30*time.Minute+time.Duration(i)*time.Minute), "opayo:shop", "C1", "fp_a", "49.99")
		c.ParentPaymentID = parent
		got := obs(c)
		if i == 1 && (len(got) != 1 || got[0].DedupeKey != "duplicate_payment:1") {
			t.Errorf("captures of the duplicates gave %v", got)
		}
	}

	// An authorization and its capture are one charge.
	auth := payment(10, at.Add(time.Hour), "opayo:shop", "C2", "fp_b", "120.00")
	capture := payment(11, at.Add(time.Hour+3*time.Minute), "opayo:shop", "C2", "fp_b", "120.00")
	capture.ParentPaymentID = 10
	if len(obs(auth))+len(obs(capture)) != 0 {
		t.Error("an authorization and its capture were called duplicates")
	}

	// One order charged twice: critical.
	x := payment(20, at.Add(2*time.Hour), "opayo:shop", "C3", "fp_c", "75.00")
	y := payment(21, at.Add(2*time.Hour+2*time.Minute), "opayo:shop", "C3", "fp_c", "75.00")
	y.Reference = x.Reference
	obs(x)
	if fs := obs(y); len(fs) != 1 || fs[0].Severity != SeverityCritical || !strings.Contains(fs[0].Explanation, "same order reference") {
		t.Errorf("same reference twice gave %v", fs)
	}

	// Six minutes apart is outside the window; a different merchant or amount is not a duplicate.
	obs(payment(30, at.Add(3*time.Hour), "opayo:shop", "C4", "fp_d", "10.00"))
	for _, e := range []Event{
		payment(31, at.Add(3*time.Hour+6*time.Minute), "opayo:shop", "C4", "fp_d", "10.00"),
		payment(32, at.Add(3*time.Hour+6*time.Minute+10*time.Second), "opayo:other", "C4", "fp_d", "10.00"),
		payment(33, at.Add(3*time.Hour+6*time.Minute+20*time.Second), "opayo:shop", "C4", "fp_d", "10.01"),
	} {
		if fs := obs(e); len(fs) != 0 {
			t.Errorf("payment %d: %s", e.PaymentID, fs[0].Explanation)
		}
	}
}

// refundDays feeds days of payments and refunds to d: perDay payments spread over each day and
// refunds on refundEvery-th of them, two hours later. It returns the findings of the given kind.
func refundDays(t *testing.T, d *Detector, merchant string, from time.Time, days, perDay, refundEvery int, id *int64) []Finding {
	t.Helper()
	var out []Finding
	step := 24 * time.Hour / time.Duration(perDay)
	type pending struct {
		at time.Time
		e  Event
	}
	var queue []pending
	for i := 0; i < days*perDay; i++ {
		at := from.Add(time.Duration(i) * step)
		for len(queue) > 0 && !queue[0].at.After(at) {
			out = append(out, only(t, d.Observe(queue[0].e), RefundRatioSpike)...)
			queue = queue[1:]
		}
		*id++
		p := payment(*id, at, merchant, "", fmt.Sprintf("fp_%d", *id), "25.00")
		out = append(out, only(t, d.Observe(p), RefundRatioSpike)...)
		if i%refundEvery == 0 {
			*id++
			queue = append(queue, pending{at.Add(2 * time.Hour), Event{Kind: EventRefund, At: at.Add(2 * time.Hour), PaymentID: *id,
				ParentPaymentID: p.PaymentID, Merchant: merchant, Amount: p.Amount, Currency: "GBP"}})
		}
	}
	return out
}

func TestRefundRatioSpikeAgainstTheMerchantsOwnRatio(t *testing.T) {
	d := New(DefaultConfig())
	id := int64(0)
	// A merchant refunding 2% and one refunding 12%: both normal for themselves.
	if fs := refundDays(t, d, "opayo:low", t0, 10, 200, 50, &id); len(fs) != 0 {
		t.Fatalf("a steady 2%% raised: %s", fs[0].Explanation)
	}
	if fs := refundDays(t, d, "opayo:high", t0, 10, 200, 8, &id); len(fs) != 0 {
		t.Fatalf("a steady 12.5%% raised: %s", fs[0].Explanation)
	}
	// Forty refunds in two hours at the 2% merchant.
	spike := t0.Add(10*24*time.Hour + 10*time.Hour)
	var raised []Finding
	for i := 0; i < 40; i++ {
		id++
		e := Event{Kind: EventRefund, At: spike.Add(time.Duration(i) * 3 * time.Minute), PaymentID: id, ParentPaymentID: int64(i + 1),
			Merchant: "opayo:low", Amount: dec("25.00"), Currency: "GBP"}
		raised = append(raised, only(t, d.Observe(e), RefundRatioSpike)...)
	}
	if len(raised) == 0 {
		t.Fatal("forty refunds in two hours raised nothing")
	}
	t.Log(raised[0].Explanation)
	if !strings.Contains(raised[0].Explanation, "its usual refund rate of 2.0%") {
		t.Errorf("explanation %q does not give the learned usual rate", raised[0].Explanation)
	}
	for _, f := range raised {
		if f.DedupeKey != raised[0].DedupeKey {
			t.Fatalf("one spike gave keys %s and %s", raised[0].DedupeKey, f.DedupeKey)
		}
	}
	// A merchant the detector has seen no payments for is not judged, however many refunds.
	day := t0.Add(10 * 24 * time.Hour)
	for i := 0; i < 40; i++ {
		id++
		e := Event{Kind: EventRefund, At: day.Add(time.Duration(i) * 36 * time.Minute), PaymentID: id, Merchant: "opayo:other", Amount: dec("25.00"), Currency: "GBP"}
		if fs := only(t, d.Observe(e), RefundRatioSpike); len(fs) != 0 {
			t.Fatalf("a merchant with no payment history was judged: %s", fs[0].Explanation)
		}
	}
}

func mismatch(id int64, at time.Time, merchant, diff string) Event {
	return Event{Kind: EventSettlementMismatch, At: at, SubjectType: "settlement_line", SubjectID: id, Merchant: merchant,
		Amount: dec(diff), Currency: "GBP", Detail: "settlement for " + merchant + ": expected 10,000.00 GBP, settled 9,999.97 GBP"}
}

func TestSettlementMismatchAgainstTheMerchantsUsualNoise(t *testing.T) {
	d := New(DefaultConfig())
	for i := 0; i < 30; i++ {
		diff := []string{"0.03", "-0.02", "0.04", "-0.05", "0.01"}[i%5]
		if fs := d.Observe(mismatch(int64(i+1), t0.Add(time.Duration(i)*24*time.Hour), "opayo:shop", diff)); len(fs) != 0 {
			t.Fatalf("noise %s raised", diff)
		}
	}
	fs := d.Observe(mismatch(99, t0.Add(31*24*time.Hour), "opayo:shop", "-250.00"))
	if len(fs) != 1 || fs[0].Kind != SettlementMismatch || fs[0].DedupeKey != "settlement_mismatch:settlement_line:99" {
		t.Fatalf("a 250.00 discrepancy gave %v", fs)
	}
	t.Log(fs[0].Explanation)
	if !strings.Contains(fs[0].Explanation, "-250.00 GBP") || fs[0].Details["difference"] != "-250.00" {
		t.Errorf("explanation %q details %v", fs[0].Explanation, fs[0].Details)
	}
	// A merchant whose fees vary by a few pounds learns that; a new merchant uses the
	// no-history rule.
	for i := 0; i < 30; i++ {
		d.Observe(mismatch(int64(200+i), t0.Add(time.Duration(i)*24*time.Hour), "cybersource:fees", wiggle(3, 0.4, i)))
	}
	if fs := d.Observe(mismatch(300, t0.Add(31*24*time.Hour), "cybersource:fees", "4.10")); len(fs) != 0 {
		t.Errorf("4.10 at a merchant with fee noise around 3.00 raised: %s", fs[0].Explanation)
	}
	if fs := d.Observe(mismatch(301, t0, "opayo:new", "5.00")); len(fs) != 0 {
		t.Errorf("5.00 without history raised")
	}
	if fs := d.Observe(mismatch(302, t0, "opayo:new", "25.00")); len(fs) != 1 {
		t.Errorf("25.00 without history did not raise")
	}
}

func TestDeadPostingBurst(t *testing.T) {
	d := New(DefaultConfig())
	dead := func(id int64, at time.Time, text string) []Finding {
		return only(t, d.Observe(Event{Kind: EventDeadPosting, At: at, PaymentID: 1000 + id, SubjectType: "erp_posting", SubjectID: id, Detail: text}), DeadPostingBurst)
	}
	for i := 0; i < 48; i++ {
		if fs := dead(int64(i+1), t0.Add(time.Duration(i)*30*time.Minute), fmt.Sprintf("Customer C%04d is on hold", i)); len(fs) != 0 {
			t.Fatal("isolated dead postings raised a burst")
		}
	}
	burst := t0.Add(25 * time.Hour)
	var raised []Finding
	for i := 0; i < 6; i++ {
		raised = append(raised, dead(int64(100+i), burst.Add(time.Duration(i)*40*time.Second), fmt.Sprintf("GL period 2025/%02d is closed", 6))...)
	}
	if len(raised) != 2 || raised[0].DedupeKey != raised[1].DedupeKey {
		t.Fatalf("six dead postings in four minutes gave %d findings", len(raised))
	}
	f := raised[1]
	t.Log(f.Explanation)
	if len(f.Events) != 6 || f.Events[0] != (Ref{"erp_posting", 100}) || f.PaymentIDs[0] != 1100 || f.SubjectType != "erp_posting" {
		t.Errorf("events %v payment ids %v subject %s/%d", f.Events, f.PaymentIDs, f.SubjectType, f.SubjectID)
	}
	if !strings.Contains(f.Explanation, `"GL period # is closed"`) {
		t.Errorf("explanation %q does not name the common error", f.Explanation)
	}
}

func TestMemoryBoundsEvict(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxCards, cfg.MaxEmails, cfg.MaxIPs, cfg.MaxCustomers = 100, 100, 100, 50
	d := New(cfg)
	for i := 0; i < 1000; i++ {
		c := fmt.Sprintf("C%d", i%500)
		d.Observe(Event{Kind: EventPayment, At: t0.Add(time.Duration(i) * time.Second), PaymentID: int64(i + 1), Merchant: "opayo:shop",
			Customer: c, Card: fmt.Sprintf("fp_%d", i), Email: fmt.Sprintf("%d@x.test", i), IP: fmt.Sprintf("10.0.%d.%d", i/256, i%256),
			Amount: dec("10.00"), Currency: "GBP"})
	}
	s := d.Sizes()
	if s.Cards > 100 || s.Emails > 100 || s.IPs > 100 || s.Customers > 50 {
		t.Errorf("sizes over their caps: %+v", s)
	}
	// Idle keys go: three days later, only what the new event touched is left in the velocity
	// and duplicate tables (VelocityIdle is 48 h).
	d.Observe(Event{Kind: EventPayment, At: t0.Add(72 * time.Hour), PaymentID: 5000, Merchant: "opayo:shop", Card: "fp_new", Amount: dec("10.00"), Currency: "GBP"})
	if s := d.Sizes(); s.Cards != 1 || s.Emails != 0 || s.IPs != 0 || s.DuplicateKeys != 1 {
		t.Errorf("after three idle days: %+v", s)
	}
	// A customer's history is capped.
	for i := 0; i < 1000; i++ {
		d.Observe(payment(int64(10000+i), t0.Add(73*time.Hour+time.Duration(i)*time.Minute), "opayo:shop", "C_busy", "fp_busy", wiggle(50, 0.3, i)))
	}
	cs := d.customers.m[pairKey{"C_busy", "GBP"}].val
	if cs.hist.n() != cfg.CustomerHistory || len(cs.hist.ring) != cfg.CustomerHistory {
		t.Errorf("history holds %d/%d, want %d", cs.hist.n(), len(cs.hist.ring), cfg.CustomerHistory)
	}
	if st := d.cards.m["fp_busy"].val; len(st.entries) > 10 {
		t.Errorf("card window holds %d attempts of the last ten minutes", len(st.entries))
	}
}

func TestHistoryMedianMADMatchesSorting(t *testing.T) {
	h := history{cap: 37}
	for i := 0; i < 200; i++ {
		h.add(math.Sin(float64(i)*0.91) * float64(i%7))
		vals := make([]float64, len(h.ring))
		for j, v := range h.ring {
			vals[j] = float64(v)
		}
		want := median(vals)
		for j := range vals {
			vals[j] = math.Abs(vals[j] - want)
		}
		wantMAD := median(vals)
		med, mad := h.medianMAD()
		if math.Abs(med-want) > 1e-6 || math.Abs(mad-wantMAD) > 1e-6 {
			t.Fatalf("after %d values: median %v MAD %v, want %v %v", i+1, med, mad, want, wantMAD)
		}
	}
}

func TestWarmThenObserveMatchesObserve(t *testing.T) {
	opts := DefaultSynthOptions()
	opts.Events, opts.Customers, opts.PerKind = 40_000, 600, 20
	events := Synthesize(3, opts)
	half := len(events) / 2
	straight, warmed := New(DefaultConfig()), New(DefaultConfig())
	var a, b []string
	for i, l := range events {
		fs := straight.Observe(l.Event)
		if i < half {
			warmed.Warm(l.Event)
			continue
		}
		for _, f := range fs {
			a = append(a, f.DedupeKey+" "+f.Explanation)
		}
		for _, f := range warmed.Observe(l.Event) {
			b = append(b, f.DedupeKey+" "+f.Explanation)
		}
	}
	if len(a) == 0 || strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("warmed detector found %d, straight one %d, or they differ", len(b), len(a))
	}
}

func TestConcurrentUse(t *testing.T) {
	opts := DefaultSynthOptions()
	opts.Events, opts.Customers, opts.PerKind = 20_000, 300, 10
	events := Synthesize(4, opts)
	d := New(DefaultConfig())
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(events); i += 4 {
				if i%2 == 0 {
					d.Observe(events[i].Event)
				} else {
					d.Warm(events[i].Event)
				}
				if i%1000 == 0 {
					d.Sizes()
				}
			}
		}()
	}
	wg.Wait()
	if d.Sizes().Customers == 0 {
		t.Error("nothing learned")
	}
}

func TestZeroConfigTakesDefaults(t *testing.T) {
	d := New(Config{MaxCards: 7})
	if d.cfg.MaxCards != 7 || d.cfg.Card.Count != 5 || d.cfg.CustomerHistory != 200 || !d.cfg.SettlementMinAmount.Equal(dec("1")) {
		t.Errorf("config %+v", d.cfg)
	}
	d.Observe(payment(1, t0, "m", "c", "fp", "1.00"))
}

func TestMoneyFormatting(t *testing.T) {
	for in, want := range map[string]string{"4950": "4,950.00 GBP", "-1234567.891": "-1,234,567.89 GBP", "0.5": "0.50 GBP", "999.999": "1,000.00 GBP"} {
		if got := money(dec(in), "GBP"); got != want {
			t.Errorf("money(%s) = %q, want %q", in, got, want)
		}
	}
	if got := money(dec("15000"), "JPY"); got != "15,000 JPY" {
		t.Errorf("JPY: %q", got)
	}
}

func TestSynthesizeIsDeterministic(t *testing.T) {
	opts := DefaultSynthOptions()
	opts.Events, opts.Customers, opts.PerKind = 10_000, 200, 5
	a, b, c := Synthesize(9, opts), Synthesize(9, opts), Synthesize(10, opts)
	if len(a) != len(b) {
		t.Fatalf("lengths %d and %d", len(a), len(b))
	}
	for i := range a {
		if fmt.Sprint(a[i]) != fmt.Sprint(b[i]) {
			t.Fatalf("event %d differs between runs with one seed", i)
		}
	}
	if len(a) == len(c) && fmt.Sprint(a[len(a)/2]) == fmt.Sprint(c[len(c)/2]) {
		t.Error("two seeds gave the same stream")
	}
	for _, l := range a {
		if strings.ContainsAny(l.Event.Card, " ") || (l.Event.Card != "" && !strings.HasPrefix(l.Event.Card, "fp_")) {
			t.Fatalf("card %q is not a fingerprint", l.Event.Card)
		}
	}
}
