package anomaly

import (
	"fmt"
	"math"
	"time"
)

// velEntry is one attempt inside a key's window.
type velEntry struct {
	at       int64
	pid      int64
	others   int32 // other attempts in the window when it arrived
	declined bool
	flagged  bool // part of a raised episode
}

// velState is a sliding window of attempts for one card, email or IP, with what the key has
// learned and its open episode.
type velState struct {
	entries []velEntry // within the window, oldest first
	latest  int64
	learner
	epSubject int64 // first payment of the open episode
}

func newVelState() *velState { return &velState{} }

// slide moves a time window over timestamped entries: it drops those at or before now − w,
// where now is the latest time seen, adds the new entry (in time order: a late one is inserted in
// place; one already outside the window is not kept) and caps their number. evicted are the
// entries that left the window; they stay valid until the next change of the slice. idx is where
// the new entry is, or −1.
func slide[T any](entries []T, at func(T) int64, latest, t, w int64, add T, maxN int) (kept, evicted []T, now int64, idx int) {
	now = max(latest, t)
	cutoff := now - w
	i := 0
	for i < len(entries) && at(entries[i]) <= cutoff {
		i++
	}
	evicted, entries = entries[:i:i], entries[i:]
	idx = -1
	if t > cutoff {
		if maxN > 0 && len(entries) >= maxN {
			entries = entries[1:]
		}
		entries = append(entries, add)
		idx = len(entries) - 1
		for ; idx > 0 && at(entries[idx-1]) > at(entries[idx]); idx-- {
			entries[idx-1], entries[idx] = entries[idx], entries[idx-1]
		}
	}
	return entries, evicted, now, idx
}

func velAt(v velEntry) int64 { return v.at }

// learner is what a sliding-window rule learns and remembers for one key. usual is the number
// of other attempts typically already in the window when one arrives: an exponentially weighted
// average (weight VelocityBaselineAlpha) over the key's attempts, each learned when it leaves the
// window. Averaged over attempts, it reflects the busy hours of a busy key. Attempts that were
// part of a raised episode are not learned — a burst does not teach that bursts are normal —
// unless the episode has been open for EpisodeLearnAfter windows: a key that stays that busy
// has a new normal, and learns it.
type learner struct {
	usual   float64
	epKey   string // DedupeKey of the open episode
	epStart int64  // time the open episode was opened
	epLast  int64  // time of its last trigger
}

func (d *Detector) learn(l *learner, others int32, flagged bool, now, w int64) {
	if flagged && !(l.epKey != "" && now-l.epLast <= w && now-l.epStart >= int64(d.cfg.EpisodeLearnAfter)*w) {
		return
	}
	l.usual += d.cfg.VelocityBaselineAlpha * (float64(others) - l.usual)
}

// threshold is the count that raises: the smallest k ≥ vc.Count such that, if the key's other
// attempts came as a Poisson process with its usual mean, k − 1 or more others in one window
// would have probability at most vc.PValue. A key never seen busy (usual ≈ 0) gets vc.Count.
func threshold(l *learner, vc VelocityConfig) int {
	lambda := l.usual
	if lambda <= 0 {
		return vc.Count
	}
	// tail = P(X ≥ k−1), walking k up from 1.
	pmf := math.Exp(-lambda) // P(X = 0)
	tail := 1.0              // P(X ≥ 0)
	for k := 1; k < 10_000; k++ {
		// here tail = P(X ≥ k−1), pmf = P(X = k−1)
		if k >= vc.Count && tail <= vc.PValue {
			return k
		}
		tail -= pmf
		pmf *= lambda / float64(k)
	}
	return 10_000
}

// trigger records that the window raised at now: an episode stays open while triggers come
// within one window of each other, and while open its key is reused. opened reports that newKey
// was called for a new episode.
func (l *learner) trigger(now, w int64, newKey func() string) (opened bool) {
	if l.epKey == "" || now-l.epLast > w {
		l.epKey = newKey()
		l.epStart = now
		opened = true
	}
	l.epLast = now
	return opened
}

// velocities counts a payment attempt (approved or declined) against its card, email and IP.
func (d *Detector) velocities(e Event, t int64, emit bool, out []Finding) []Finding {
	if e.Card != "" {
		out = d.velocity(CardVelocity, d.cards, e.Card, d.cfg.Card, e, t, emit, out)
	}
	if e.Email != "" {
		out = d.velocity(EmailVelocity, d.emails, normaliseEmail(e.Email), d.cfg.Email, e, t, emit, out)
	}
	if e.IP != "" {
		out = d.velocity(IPVelocity, d.ips, e.IP, d.cfg.IP, e, t, emit, out)
	}
	return out
}

func (d *Detector) velocity(kind Kind, tab *lru[string, *velState], key string, vc VelocityConfig, e Event, t int64, emit bool, out []Finding) []Finding {
	st := tab.get(key, t, newVelState)
	w := int64(vc.Window)
	var evicted []velEntry
	var idx int
	st.entries, evicted, st.latest, idx = slide(st.entries, velAt, st.latest, t, w,
		velEntry{at: t, pid: e.PaymentID, declined: e.Kind == EventDecline}, d.cfg.VelocityMaxPerKey)
	for _, x := range evicted {
		d.learn(&st.learner, x.others, x.flagged, st.latest, w)
	}
	count := len(st.entries)
	if idx < 0 {
		return out // too late to count
	}
	st.entries[idx].others = int32(count - 1)
	thr := threshold(&st.learner, vc)
	if count < thr {
		return out
	}
	if st.trigger(st.latest, w, func() string { return fmt.Sprintf("%s:%s:%d", kind, key, st.entries[0].at/int64(time.Second)) }) {
		st.epSubject = st.entries[0].pid
	}
	for i := range st.entries {
		st.entries[i].flagged = true
	}
	if !emit {
		return out
	}
	ids := make([]int64, count)
	declined := 0
	for i, v := range st.entries {
		ids[i] = v.pid
		if v.declined {
			declined++
		}
	}
	first, last := time.Unix(0, st.entries[0].at).UTC(), time.Unix(0, st.entries[count-1].at).UTC()
	what := map[Kind]string{CardVelocity: "Card", EmailVelocity: "Email address", IPVelocity: "IP address"}[kind]
	this := map[Kind]string{CardVelocity: "card", EmailVelocity: "address", IPVelocity: "address"}[kind]
	f := Finding{
		Kind:     kind,
		Severity: SeverityWarning,
		Score:    float64(count) / float64(thr),
		Explanation: fmt.Sprintf("%s %s was used for %d payment attempts (%d declined) in %s; this %s usually has %.1f other attempts in the %s before each one, so %d or more within %s raises an alert",
			what, key, count, declined, span(last.Sub(first)), this, st.usual, window(vc.Window), thr, window(vc.Window)),
		DedupeKey:   st.epKey,
		SubjectType: "payment", SubjectID: st.epSubject,
		PaymentIDs: paymentIDs(ids),
		Events:     paymentRefs(ids),
		Details: map[string]any{
			"key": key, "attempts": count, "declined": declined, "window": vc.Window.String(),
			"threshold": thr, "usualOthersInWindow": round2(st.usual),
			"first": first.Format(time.RFC3339), "last": last.Format(time.RFC3339),
		},
	}
	if count >= 2*thr {
		f.Severity = SeverityCritical
	}
	return append(out, f)
}

func normaliseEmail(s string) string {
	upper := false
	for i := 0; i < len(s); i++ {
		upper = upper || ('A' <= s[i] && s[i] <= 'Z')
	}
	if !upper {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
