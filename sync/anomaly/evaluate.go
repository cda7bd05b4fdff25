package anomaly

// Quality is how well the detector did on one kind.
//
// The units differ on purpose. Precision is about what the detector raised: a detection is one
// distinct DedupeKey of the kind (all the findings that share it are one anomaly in the
// database), and it is a true positive (TP) when at least one of the events it involves — the
// events that raised any of its findings, and every event they list in Events — is labelled with
// the kind; otherwise it is a false positive (FP). Recall is about what should have been raised:
// each (event, kind) label is Found when that event is among the events involved in some
// detection of that kind, and a false negative (FN) otherwise. So Precision = TP / (TP + FP) and
// Recall = Found / Labelled = Found / (Found + FN); TP + FN is not a meaningful total.
// Precision is 0 when nothing was raised and Recall 0 when nothing was labelled, so a test on
// them cannot pass vacuously.
type Quality struct {
	TP, FP, FN int
	Labelled   int // (event, kind) labels
	Found      int // of those, involved in a detection of the kind
	Precision  float64
	Recall     float64
}

// Evaluate runs events through d in order — Warm for warm-up events, Observe for the rest — and
// scores the findings against the labels, per kind (every kind is present in the result). Only
// findings raised by Observe count; events are identified by RefOf.
func Evaluate(d *Detector, events []Labelled) map[Kind]Quality {
	q, _ := evaluate(d, events)
	return q
}

// detection is what Evaluate knows of one DedupeKey.
type detection struct {
	kind     Kind
	key      string
	involved map[Ref]bool
	first    Finding
	raisedBy Ref
	hits     int // findings with this key
}

func evaluate(d *Detector, events []Labelled) (map[Kind]Quality, []*detection) {
	labels := make(map[Ref][]Kind, len(events)/50)
	for _, l := range events {
		if len(l.Labels) > 0 {
			r := RefOf(l.Event)
			labels[r] = append(labels[r], l.Labels...)
		}
	}
	byKey := map[string]*detection{}
	var order []*detection
	for _, l := range events {
		if l.Warmup {
			d.Warm(l.Event)
			continue
		}
		for _, f := range d.Observe(l.Event) {
			id := string(f.Kind) + "\x00" + f.DedupeKey
			det := byKey[id]
			if det == nil {
				det = &detection{kind: f.Kind, key: f.DedupeKey, involved: map[Ref]bool{}, first: f, raisedBy: RefOf(l.Event)}
				byKey[id] = det
				order = append(order, det)
			}
			det.hits++
			det.involved[RefOf(l.Event)] = true
			for _, r := range f.Events {
				det.involved[r] = true
			}
		}
	}
	q := map[Kind]Quality{}
	for _, k := range Kinds() {
		q[k] = Quality{}
	}
	found := map[Kind]map[Ref]bool{}
	for _, det := range order {
		qq := q[det.kind]
		tp := false
		for r := range det.involved {
			if hasKind(labels[r], det.kind) {
				tp = true
				if found[det.kind] == nil {
					found[det.kind] = map[Ref]bool{}
				}
				found[det.kind][r] = true
			}
		}
		if tp {
			qq.TP++
		} else {
			qq.FP++
		}
		q[det.kind] = qq
	}
	for _, l := range events {
		r := RefOf(l.Event)
		for _, k := range l.Labels {
			qq := q[k]
			qq.Labelled++
			if found[k][r] {
				qq.Found++
			} else {
				qq.FN++
			}
			q[k] = qq
		}
	}
	for k, qq := range q {
		if qq.TP+qq.FP > 0 {
			qq.Precision = float64(qq.TP) / float64(qq.TP+qq.FP)
		}
		if qq.Labelled > 0 {
			qq.Recall = float64(qq.Found) / float64(qq.Labelled)
		}
		q[k] = qq
	}
	return q, order
}

func hasKind(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}
