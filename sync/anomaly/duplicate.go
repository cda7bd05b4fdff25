package anomaly

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// dupEntry is one approved payment event under a (merchant, currency, card, amount) key.
type dupEntry struct {
	at        int64
	pid       int64
	canon     int64 // the money it is: its own id, or its parent's for a capture
	reference string
}

// dupKey is what two charges must share to be duplicates.
type dupKey struct{ merchant, currency, card, amount string }

func newDupState() *dupState { return &dupState{} }

type dupState struct {
	entries []dupEntry // within DuplicateWindow, oldest first
	latest  int64
	group   string // DedupeKey of the duplicate group formed by the entries, if any
}

// duplicate finds the same card charged the same amount in the same currency at the same
// merchant twice within DuplicateWindow: two approved payment events that are different money
// (different payments, where a capture is the same money as its authorization), whether their
// references differ (two orders) or not (one order charged twice). The charges that are within
// the window of one another form one group, named after the original (smallest) payment id;
// every later charge of the group updates the same finding.
func (d *Detector) duplicate(e Event, t int64, emit bool, out []Finding) []Finding {
	if e.Card == "" || !e.Amount.IsPositive() {
		return out
	}
	canon := e.PaymentID
	if e.ParentPaymentID != 0 {
		canon = e.ParentPaymentID
	}
	if canon == 0 {
		d.seq++
		canon = -d.seq // unknown identity: distinct from everything
	}
	key := dupKey{e.Merchant, e.Currency, e.Card, e.Amount.String()}
	st := d.dups.get(key, t, newDupState)
	w := int64(d.cfg.DuplicateWindow)
	now := max(st.latest, t)
	st.latest = now
	i := 0
	for i < len(st.entries) && st.entries[i].at <= now-w {
		i++
	}
	st.entries = st.entries[i:]
	if len(st.entries) == 0 {
		st.group = ""
	}
	if t <= now-w {
		return out // too late to be within the window of anything current
	}
	other := false
	for _, x := range st.entries {
		other = other || x.canon != canon
	}
	st.entries = append(st.entries, dupEntry{at: t, pid: e.PaymentID, canon: canon, reference: e.Reference})
	slices.SortStableFunc(st.entries, func(a, b dupEntry) int { return compareInt64(a.at, b.at) })
	if !other {
		return out
	}
	first := st.entries[0]
	if st.group == "" {
		// Named after the original charge (the smallest payment id), so that the captures of two
		// duplicated authorizations, arriving after the authorizations left the window, update
		// the same anomaly.
		orig := int64(0)
		for _, x := range st.entries {
			if x.canon > 0 && (orig == 0 || x.canon < orig) {
				orig = x.canon
			}
		}
		if orig > 0 {
			st.group = string(DuplicatePayment) + ":" + strconv.FormatInt(orig, 10)
		} else {
			st.group = fmt.Sprintf("%s:%s|%s|%s|%s:%d", DuplicatePayment, key.merchant, key.currency, key.card, key.amount, first.at/int64(time.Second))
		}
	}
	if !emit {
		return out
	}
	ids := make([]int64, 0, len(st.entries))
	charges := map[int64]bool{}
	var refs []string
	sameRef := false
	seenRef := map[string]int64{}
	for _, x := range st.entries {
		ids = append(ids, x.pid)
		charges[x.canon] = true
		if x.reference != "" {
			if c, ok := seenRef[x.reference]; ok && c != x.canon {
				sameRef = true
			} else if !ok {
				seenRef[x.reference] = x.canon
				refs = append(refs, x.reference)
			}
		}
	}
	n := len(charges)
	last := st.entries[len(st.entries)-1]
	within := span(time.Duration(last.at - first.at))
	var list []string
	for _, x := range st.entries {
		if x.reference != "" {
			list = append(list, fmt.Sprintf("%d (%s)", x.pid, x.reference))
		} else {
			list = append(list, strconv.FormatInt(x.pid, 10))
		}
	}
	f := Finding{
		Kind:        DuplicatePayment,
		Severity:    SeverityWarning,
		Score:       float64(n),
		DedupeKey:   st.group,
		SubjectType: "payment", SubjectID: first.pid,
		PaymentIDs: paymentIDs(ids),
		Events:     paymentRefs(ids),
		Details: map[string]any{
			"card": e.Card, "merchant": e.Merchant, "amount": amountString(e.Amount, e.Currency),
			"currency": e.Currency, "charges": n, "sameReference": sameRef, "references": refs,
			"window": d.cfg.DuplicateWindow.String(), "withinSeconds": (last.at - first.at) / int64(time.Second),
		},
	}
	if sameRef {
		f.Severity = SeverityCritical
		f.Explanation = fmt.Sprintf("Card %s was charged %s %d times at %s within %s for the same order reference: payments %s",
			e.Card, money(e.Amount, e.Currency), n, e.Merchant, within, strings.Join(list, ", "))
	} else {
		f.Explanation = fmt.Sprintf("Card %s was charged %s %d times at %s within %s under different references, which looks like a double submission: payments %s",
			e.Card, money(e.Amount, e.Currency), n, e.Merchant, within, strings.Join(list, ", "))
	}
	return append(out, f)
}

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
