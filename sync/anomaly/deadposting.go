package anomaly

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

type deadEntry struct {
	at      int64
	others  int32
	flagged bool
	ref     Ref
	pid     int64
	class   string // the error with its codes and numbers blanked, to group like errors
}

// deadState is the sliding window of dead postings, all postings together (they all go to one
// SYSPRO), with its learned usual count per window.
type deadState struct {
	entries []deadEntry
	latest  int64
	learner
	epSubject Ref // first posting of the open episode
}

// deadPosting raises a burst when DeadPosting.Count or more postings went dead within
// DeadPosting.Window — or more if dead postings usually come close together (see threshold).
// Isolated dead postings each raise their own anomaly elsewhere; this is the "something broke"
// signal.
func (d *Detector) deadPosting(e Event, t int64, emit bool, out []Finding) []Finding {
	st := &d.dead
	vc := d.cfg.DeadPosting
	w := int64(vc.Window)
	var evicted []deadEntry
	var idx int
	st.entries, evicted, st.latest, idx = slide(st.entries, func(x deadEntry) int64 { return x.at }, st.latest, t, w,
		deadEntry{at: t, ref: RefOf(e), pid: e.PaymentID, class: errorClass(e.Detail)}, d.cfg.DeadPostingMaxes)
	for _, x := range evicted {
		d.learn(&st.learner, x.others, x.flagged, st.latest, w)
	}
	count := len(st.entries)
	if idx < 0 {
		return out
	}
	st.entries[idx].others = int32(count - 1)
	thr := threshold(&st.learner, vc)
	if count < thr {
		return out
	}
	if st.trigger(st.latest, w, func() string { return fmt.Sprintf("%s:%d", DeadPostingBurst, st.entries[0].at/int64(time.Second)) }) {
		st.epSubject = st.entries[0].ref
	}
	for i := range st.entries {
		st.entries[i].flagged = true
	}
	if !emit {
		return out
	}
	refs := make([]Ref, count)
	ids := make([]int64, count)
	classes := map[string]int{}
	for i, x := range st.entries {
		refs[i], ids[i] = x.ref, x.pid
		classes[x.class]++
	}
	top, topN := "", 0
	keys := make([]string, 0, len(classes))
	for k := range classes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if classes[k] > topN {
			top, topN = k, classes[k]
		}
	}
	first, last := time.Unix(0, st.entries[0].at).UTC(), time.Unix(0, st.entries[count-1].at).UTC()
	f := Finding{
		Kind:     DeadPostingBurst,
		Severity: SeverityWarning,
		Score:    float64(count) / float64(thr),
		Explanation: fmt.Sprintf("%d SYSPRO postings went dead in %s; a dead posting usually has %.1f others in the %s before it, so %d or more within %s raises an alert. Most common error (%d of %d): %q",
			count, span(last.Sub(first)), st.usual, window(vc.Window), thr, window(vc.Window), topN, count, top),
		DedupeKey:   st.epKey,
		SubjectType: st.epSubject.Type, SubjectID: st.epSubject.ID,
		PaymentIDs: paymentIDs(ids),
		Events:     refs,
		Details: map[string]any{
			"deadPostings": count, "window": vc.Window.String(), "threshold": thr,
			"usualOthersInWindow": round2(st.usual), "errors": classes,
			"first": first.Format(time.RFC3339), "last": last.Format(time.RFC3339),
		},
	}
	if count >= 2*thr {
		f.Severity = SeverityCritical
	}
	return append(out, f)
}

// errorClass blanks digits and codes so that "Customer C0042 is on hold" and "Customer C0077 is
// on hold" count as one error.
func errorClass(s string) string {
	fields := strings.Fields(s)
	for i, f := range fields {
		if strings.ContainsAny(f, "0123456789") {
			fields[i] = "#"
		}
	}
	out := strings.Join(fields, " ")
	if len(out) > 120 {
		out = out[:120]
	}
	return out
}
