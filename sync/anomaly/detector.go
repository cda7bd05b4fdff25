package anomaly

import (
	"reflect"
	"sync"
)

// Detector learns what is normal from the events it is shown and raises findings for what is
// not. Its methods are safe for concurrent use: one mutex serialises them (see BenchmarkObserve
// and BenchmarkObserveParallel for what that costs).
type Detector struct {
	mu  sync.Mutex
	cfg Config

	clock     int64 // latest event time seen, unix nanoseconds
	lastSweep int64

	customers   *lru[pairKey, *amountState]
	merchants   *lru[pairKey, *amountState]
	pooledScale float64 // learned typical log-scale of a customer's amounts

	cards, emails, ips *lru[string, *velState]
	dups               *lru[dupKey, *dupState]
	refunds            *lru[string, *refundState]
	settlements        *lru[pairKey, *amountState]
	dead               deadState

	seq int64 // gives events without a PaymentID a distinct identity for duplicates
}

// New returns a Detector with no history. Zero fields of cfg take DefaultConfig's values (so to
// make a rule all but silent, give it an extreme value rather than zero).
func New(cfg Config) *Detector {
	cfg = withDefaults(cfg)
	return &Detector{
		cfg:         cfg,
		customers:   newLRU[pairKey, *amountState](cfg.MaxCustomers, int64(cfg.CustomerIdle)),
		merchants:   newLRU[pairKey, *amountState](cfg.MaxMerchants, int64(cfg.MerchantIdle)),
		pooledScale: cfg.CustomerPriorScale,
		cards:       newLRU[string, *velState](cfg.MaxCards, int64(cfg.VelocityIdle)),
		emails:      newLRU[string, *velState](cfg.MaxEmails, int64(cfg.VelocityIdle)),
		ips:         newLRU[string, *velState](cfg.MaxIPs, int64(cfg.VelocityIdle)),
		dups:        newLRU[dupKey, *dupState](cfg.MaxDuplicateKeys, int64(cfg.DuplicateWindow)),
		refunds:     newLRU[string, *refundState](cfg.MaxMerchants, int64(cfg.MerchantIdle)),
		settlements: newLRU[pairKey, *amountState](cfg.MaxMerchants, int64(cfg.MerchantIdle)),
	}
}

// Observe learns from e and returns the findings it raises (nil when none). Events should
// arrive in time order; a little disorder is tolerated (see the package doc).
func (d *Detector) Observe(e Event) []Finding {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.observe(e, true)
}

// Warm learns from e exactly as Observe would, without returning findings. Feed it recent
// history at start-up so that baselines, open episodes and their DedupeKeys are what they would
// have been had the detector been running.
func (d *Detector) Warm(e Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.observe(e, false)
}

// Sizes reports how many keys each table holds.
type Sizes struct {
	Customers, Merchants, Cards, Emails, IPs, DuplicateKeys, RefundMerchants, SettlementMerchants int
	// VelocityEntries is the number of attempts held in velocity windows, all keys together.
	VelocityEntries int
	DeadPostings    int
}

// Sizes reports the detector's current memory use in keys and entries.
func (d *Detector) Sizes() Sizes {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := Sizes{
		Customers: d.customers.len(), Merchants: d.merchants.len(),
		Cards: d.cards.len(), Emails: d.emails.len(), IPs: d.ips.len(),
		DuplicateKeys: d.dups.len(), RefundMerchants: d.refunds.len(),
		SettlementMerchants: d.settlements.len(), DeadPostings: len(d.dead.entries),
	}
	for _, t := range []*lru[string, *velState]{d.cards, d.emails, d.ips} {
		t.each(func(v *velState) { s.VelocityEntries += len(v.entries) })
	}
	return s
}

func (d *Detector) observe(e Event, emit bool) []Finding {
	t := e.At.UnixNano()
	if t > d.clock {
		d.clock = t
	}
	if d.clock-d.lastSweep >= int64(d.cfg.SweepEvery) {
		d.sweep()
	}
	var out []Finding
	switch e.Kind {
	case EventPayment:
		if e.ParentPaymentID == 0 {
			if e.Amount.IsPositive() {
				out = d.amounts(e, t, emit, out)
			}
			out = d.velocities(e, t, emit, out)
			d.refundPayment(e, t)
		}
		out = d.duplicate(e, t, emit, out)
	case EventDecline:
		out = d.velocities(e, t, emit, out)
	case EventRefund:
		out = d.refund(e, t, emit, out)
	case EventDeadPosting:
		out = d.deadPosting(e, t, emit, out)
	case EventSettlementMismatch:
		out = d.settlement(e, t, emit, out)
	}
	if !emit {
		return nil
	}
	return out
}

// sweep forgets idle keys. Its cost is proportional to what it drops.
func (d *Detector) sweep() {
	d.lastSweep = d.clock
	d.customers.sweep(d.clock)
	d.merchants.sweep(d.clock)
	d.cards.sweep(d.clock)
	d.emails.sweep(d.clock)
	d.ips.sweep(d.clock)
	d.dups.sweep(d.clock)
	d.refunds.sweep(d.clock)
	d.settlements.sweep(d.clock)
}

// paymentIDs are the non-zero payment ids of an involved set, in order, without repeats.
func paymentIDs(ids []int64) []int64 {
	out := make([]int64, 0, len(ids))
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if id != 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func paymentRefs(ids []int64) []Ref {
	out := make([]Ref, len(ids))
	for i, id := range ids {
		out[i] = Ref{Type: "payment", ID: id}
	}
	return out
}

// withDefaults fills cfg's zero fields, and those of its VelocityConfig fields, from
// DefaultConfig.
func withDefaults(cfg Config) Config {
	fill(reflect.ValueOf(&cfg).Elem(), reflect.ValueOf(DefaultConfig()))
	return cfg
}

func fill(dst, def reflect.Value) {
	for i := 0; i < dst.NumField(); i++ {
		f := dst.Field(i)
		switch {
		case f.Type() == reflect.TypeOf(VelocityConfig{}):
			fill(f, def.Field(i))
		case f.IsZero():
			f.Set(def.Field(i))
		}
	}
}
