package anomaly

import (
	"time"

	"github.com/shopspring/decimal"
)

// EventKind is what happened. The detector reads these five; any other kind is ignored.
type EventKind string

const (
	// EventPayment is an approved sale, authorization or capture. A capture (or any payment event
	// with ParentPaymentID set) is the same money as the payment it acts on: it is checked for
	// duplicates but is not a new attempt, amount or payment for the refund ratio.
	EventPayment EventKind = "payment"
	// EventDecline is a refused attempt: it counts for velocity only.
	EventDecline EventKind = "decline"
	// EventRefund is a refund; ParentPaymentID is the payment refunded.
	EventRefund EventKind = "refund"
	// EventDeadPosting is a SYSPRO posting that ended dead; Detail is SYSPRO's message.
	EventDeadPosting EventKind = "dead_posting"
	// EventSettlementMismatch is a reconciliation discrepancy; Amount is the difference
	// (settled minus expected, either sign) and Detail the reconciler's text.
	EventSettlementMismatch EventKind = "settlement_mismatch"
)

// Event is one observation. It never carries a card number: Card is an opaque fingerprint (a
// token, or a hash of brand, last four and expiry).
type Event struct {
	Kind EventKind
	At   time.Time
	// PaymentID is the subject when known (0 otherwise): the payment, decline or refund row, or
	// for a dead posting the payment it was posting.
	PaymentID int64
	// SubjectType and SubjectID name what the event is about when it is not a payment row, e.g.
	// "erp_posting" or "settlement_line".
	SubjectType string
	SubjectID   int64
	// Merchant is the merchant account: gateway and merchant id, e.g. "cybersource:payhub_sandbox".
	Merchant string
	// Customer is the customer code; empty for a guest.
	Customer string
	// Email, IP and Card (a fingerprint) may each be empty.
	Email, IP, Card string
	Amount          decimal.Decimal
	Currency        string
	// Reference is the merchant reference (order number).
	Reference string
	// ParentPaymentID is, for a refund, the payment refunded; for a capture, its authorization.
	ParentPaymentID int64
	// Detail is, for dead_posting and settlement_mismatch, the error or discrepancy text.
	Detail string
}

// Ref identifies one event: {SubjectType, SubjectID} when both are set, otherwise
// {"payment", PaymentID}. Findings list the events they involve as Refs.
type Ref struct {
	Type string `json:"type"`
	ID   int64  `json:"id"`
}

// RefOf is the Ref that identifies e.
func RefOf(e Event) Ref {
	if e.SubjectType != "" && e.SubjectID != 0 {
		return Ref{Type: e.SubjectType, ID: e.SubjectID}
	}
	return Ref{Type: "payment", ID: e.PaymentID}
}

// Kind is the kind of an anomaly finding.
type Kind string

const (
	AmountOutlierCustomer Kind = "amount_outlier_customer"
	AmountOutlierMerchant Kind = "amount_outlier_merchant"
	CardVelocity          Kind = "card_velocity"
	EmailVelocity         Kind = "email_velocity"
	IPVelocity            Kind = "ip_velocity"
	DuplicatePayment      Kind = "duplicate_payment"
	RefundRatioSpike      Kind = "refund_ratio_spike"
	SettlementMismatch    Kind = "settlement_mismatch"
	DeadPostingBurst      Kind = "dead_posting_burst"
)

// Kinds lists every finding kind, in a fixed order.
func Kinds() []Kind {
	return []Kind{AmountOutlierCustomer, AmountOutlierMerchant, CardVelocity, EmailVelocity, IPVelocity,
		DuplicatePayment, RefundRatioSpike, SettlementMismatch, DeadPostingBurst}
}

// Severity is exactly one of the values the anomalies table allows.
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Finding is one anomaly raised by an event. Findings that describe the same condition (the
// same card burst, the same duplicate charge, the same refund spike) share a DedupeKey: the
// later ones are updates of the first (more events, a higher count), not new anomalies.
type Finding struct {
	Kind     Kind
	Severity Severity
	// Score is how unusual the condition is; higher is worse. Per kind (see the package doc):
	// robust z for amount outliers and settlement mismatches, count / threshold for velocity
	// and dead-posting bursts, charges in the group for duplicates, recent refund ratio / usual
	// ratio for refund spikes.
	Score float64
	// Explanation is plain English for an operator.
	Explanation string
	// DedupeKey identifies the condition: re-observing it yields the same key.
	DedupeKey   string
	SubjectType string
	SubjectID   int64
	// PaymentIDs are the payment rows involved (non-zero PaymentIDs of Events).
	PaymentIDs []int64
	// Events are all the events involved, the raising event included.
	Events []Ref
	// Details are the numbers behind the score; JSON-able, amounts as strings.
	Details map[string]any
}

// VelocityConfig is one sliding-window rule: Count or more attempts within Window raise a
// finding. A key that is busy as a matter of course (a call-centre IP, a customer paying many
// invoices a day) learns a higher threshold: the count that its usual rate (the number of other
// attempts it typically already has in the window when one arrives) would reach by chance with
// probability at most PValue, under a Poisson model; never below Count.
type VelocityConfig struct {
	Window time.Duration
	Count  int
	PValue float64
}

// Config holds thresholds, windows and memory bounds. Start from DefaultConfig.
type Config struct {
	// Amount outliers (per customer+currency and per merchant+currency), on log amounts.
	CustomerMinHistory  int     // payments seen before a customer is judged (8)
	CustomerHistory     int     // rolling history kept per customer (200)
	CustomerZ           float64 // robust z threshold (5), raised for short histories, see SmallSampleK
	CustomerMinRatio    float64 // and the amount must be at least this multiple of the median (4)
	CustomerPriorScale  float64 // starting value of the learned population log-scale (0.4)
	CustomerPriorWeight float64 // pseudo-observations of that prior in each customer's scale (8)
	SmallSampleK        float64 // threshold × sqrt(1 + K/n) for a history of n (8)
	MerchantMinHistory  int     // (100)
	MerchantHistory     int     // (1000)
	MerchantZ           float64 // (5)
	MerchantMinRatio    float64 // (50)
	MerchantRecompute   int     // merchant median/MAD are recomputed every this many amounts (32)
	MinLogScale         float64 // floor of the robust scale, in log units (0.05)
	CriticalZFactor     float64 // a finding is critical at this multiple of its z threshold (2)

	Card, Email, IP       VelocityConfig // (10 min, 5, 1e-5)
	VelocityBaselineAlpha float64        // weight of each attempt in a key's learned usual count (0.02)
	VelocityMaxPerKey     int            // attempts remembered per key; counts saturate there (64)
	EpisodeLearnAfter     int            // windows an episode must last before its attempts are learned (6)

	DuplicateWindow time.Duration // same card, amount, currency and merchant within (5 min)

	RefundWindow           time.Duration // sliding window of the recent ratio (24 h)
	RefundMinCount         int           // refunds in the window before judging (10)
	RefundFactor           float64       // recent ratio ≥ this × usual ratio (2)
	RefundZ                float64       // and (refunds − expected) / sqrt(expected) ≥ this (4)
	RefundBaselineDays     int           // days of daily ratios kept for the usual ratio (28)
	RefundMinBaselineDays  int           // days needed before the median of daily ratios is used (3)
	RefundMinDailyPayments int           // a day counts towards the baseline with this many payments (20)
	RefundMinBaseline      float64       // floor of the usual ratio (0.002)
	RefundMaxListed        int           // refunds remembered in the window per merchant (5000)

	SettlementMinAmount       decimal.Decimal // discrepancies below are noise, never raised (1.00)
	SettlementNoHistoryAmount decimal.Decimal // raised without history from this size (10.00)
	SettlementCriticalAmount  decimal.Decimal // critical from this size (1000.00)
	SettlementMinHistory      int             // discrepancies seen before the merchant's usual size is used (8)
	SettlementHistory         int             // (200)
	SettlementZ               float64         // robust z of log |difference| (4)
	SettlementMinRatio        float64         // and |difference| ≥ this × the usual (4)
	SettlementMinLogScale     float64         // floor of the robust scale of log |difference| (0.25)

	DeadPosting      VelocityConfig // (10 min, 5, 1e-3), over all postings
	DeadPostingMaxes int            // dead postings remembered in the window (10000)

	// Memory bounds: keys per table (least recently used evicted first) and idle times after
	// which a key is forgotten. A sweep runs every SweepEvery of event time.
	MaxCustomers, MaxMerchants, MaxCards, MaxEmails, MaxIPs, MaxDuplicateKeys int
	CustomerIdle, MerchantIdle, VelocityIdle                                  time.Duration
	SweepEvery                                                                time.Duration
}

// DefaultConfig is the configuration the package is tuned and measured with.
func DefaultConfig() Config {
	vel := VelocityConfig{Window: 10 * time.Minute, Count: 5, PValue: 1e-5}
	return Config{
		CustomerMinHistory:  8,
		CustomerHistory:     200,
		CustomerZ:           5,
		CustomerMinRatio:    4,
		CustomerPriorScale:  0.4,
		CustomerPriorWeight: 8,
		SmallSampleK:        8,
		MerchantMinHistory:  100,
		MerchantHistory:     1000,
		MerchantZ:           5,
		MerchantMinRatio:    50,
		MerchantRecompute:   32,
		MinLogScale:         0.05,
		CriticalZFactor:     2,

		Card: vel, Email: vel, IP: vel,
		VelocityBaselineAlpha: 0.02,
		VelocityMaxPerKey:     64,
		EpisodeLearnAfter:     6,

		DuplicateWindow: 5 * time.Minute,

		RefundWindow:           24 * time.Hour,
		RefundMinCount:         10,
		RefundFactor:           2,
		RefundZ:                4,
		RefundBaselineDays:     28,
		RefundMinBaselineDays:  3,
		RefundMinDailyPayments: 20,
		RefundMinBaseline:      0.002,
		RefundMaxListed:        5000,

		SettlementMinAmount:       decimal.RequireFromString("1.00"),
		SettlementNoHistoryAmount: decimal.RequireFromString("10.00"),
		SettlementCriticalAmount:  decimal.RequireFromString("1000.00"),
		SettlementMinHistory:      8,
		SettlementHistory:         200,
		SettlementZ:               4,
		SettlementMinRatio:        4,
		SettlementMinLogScale:     0.25,

		DeadPosting:      VelocityConfig{Window: 10 * time.Minute, Count: 5, PValue: 1e-3},
		DeadPostingMaxes: 10000,

		MaxCustomers:     100_000,
		MaxMerchants:     1000,
		MaxCards:         200_000,
		MaxEmails:        200_000,
		MaxIPs:           200_000,
		MaxDuplicateKeys: 200_000,
		CustomerIdle:     90 * 24 * time.Hour,
		MerchantIdle:     180 * 24 * time.Hour,
		VelocityIdle:     48 * time.Hour,
		SweepEvery:       time.Minute,
	}
}
