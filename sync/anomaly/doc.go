// Package anomaly is Payhub's anomaly detector: pure code, no database and no network. It is fed
// events — approved payments, declines, refunds, dead SYSPRO postings, settlement discrepancies —
// in time order, learns what is normal from them, and returns Findings for what is not. A finding
// carries a Kind, a Severity the anomalies table accepts ("info", "warning", "critical"), a Score,
// a plain-English Explanation, the events involved, the numbers behind the score, and a DedupeKey:
// every finding about the same condition carries the same key, so that the caller can upsert it
// into anomalies (dedupe_key is UNIQUE there) and a burst of eight attempts is one anomaly,
// updated seven times, not eight.
//
// Amounts are decimal.Decimal everywhere. They become floats only inside the statistics, as
// natural logs (robust.go and the scoring code that calls it). Cards are only ever opaque
// fingerprints; no card number is read, kept or written.
//
// # Kinds, scores and rules
//
// amount_outlier_customer — an approved payment far above the customer's own usual amount.
// Each customer+currency keeps its last CustomerHistory (200) log amounts. From CustomerMinHistory
// (8) payments on, a payment is judged by its robust z: (ln amount − median) / scale, where scale
// is 1.4826 × MAD, shrunk towards the typical scale of established customers (learned from them;
// CustomerPriorWeight pseudo-observations) and never below MinLogScale. Raised when z ≥
// CustomerZ × sqrt(1 + SmallSampleK/n) (5, raised for short histories) and the amount is at least
// CustomerMinRatio (4) times the median. Score: z. Critical from CriticalZFactor (2) × the
// threshold. Only the high side is judged. A raised amount is learned clipped to the threshold, so
// it does not poison the baseline. Key: amount_outlier_customer:<payment id>. Subject: the payment.
//
// amount_outlier_merchant — an approved payment far above anything the merchant usually takes.
// Same statistics over the merchant+currency's last MerchantHistory (1000) amounts, from
// MerchantMinHistory (100): raised when z ≥ MerchantZ (5) and the amount is at least
// MerchantMinRatio (50) times the median. A merchant's amounts mix small and big customers, so its
// scale is wide and only amounts beyond its whole range stand out. An amount that is normal for an
// established customer is not judged here: the customer's own baseline is the better one. Score:
// z. Key: amount_outlier_merchant:<payment id>.
//
// card_velocity, email_velocity, ip_velocity — many payment attempts (approved or declined;
// captures are not attempts) on one card fingerprint, email address (case-insensitive) or IP
// within a sliding window: Card/Email/IP.Window (10 min) holds every attempt of the key newer than
// the latest one minus the window. Raised when the window holds at least the key's threshold:
// Count (5), or more for a key that is busy as a matter of course — each key learns usual, the
// average number of other attempts already in its window when one arrives (an EWMA over its
// attempts, learned as they leave the window), and the threshold is the smallest count ≥ Count that
// a Poisson process with that mean would reach with probability ≤ PValue (1e-5). So a call-centre
// IP that keys in dozens of phone orders an hour, or a trade customer paying several invoices a
// day, is not flagged for its ordinary busy hours. Attempts that were part of a raised episode are
// not learned (a burst does not teach that bursts are normal) unless the episode has lasted
// EpisodeLearnAfter (6) windows. Score: count / threshold; critical from twice the threshold.
// An episode lasts while triggers come within one window of each other; each trigger returns a
// finding listing every attempt in the window. Key: <kind>:<key>:<unix second of the first attempt
// in the window when the episode opened>. Subject: the first payment of the episode.
//
// duplicate_payment — the same card charged the same amount in the same currency at the same
// merchant twice within DuplicateWindow (5 min): two approved payment events that are different
// money (a capture, i.e. a payment event with ParentPaymentID, is the same money as its
// authorization), whether their references differ (a double submission; warning) or not (one
// order charged twice; critical). Score: the number of distinct charges. Key:
// duplicate_payment:<smallest payment id of the group>, so the later charges of a group, and the
// captures of two duplicated authorizations, update the same anomaly.
//
// refund_ratio_spike — a merchant refunding far more than usual. Recent: refunds and approved
// payments in the last RefundWindow (24 h, sliding, one-minute resolution for payments). Usual:
// the merchant's own refund ratio, the median of its daily ratios over the last
// RefundBaselineDays (28) days — days that were spikes themselves left out. Raised, on a refund,
// when the window holds at least RefundMinCount (10) refunds, the recent ratio is at least
// RefundFactor (2) times the usual one, and (refunds − expected) / sqrt(expected) ≥ RefundZ (4),
// expected = usual × payments in the window. Score: recent ratio / usual ratio. Key:
// refund_ratio_spike:<merchant>:<unix second of the oldest refund in the window when the spike
// opened>; the spike lasts while the refund that opened it is in the window.
//
// settlement_mismatch — a reconciliation discrepancy larger than the merchant's usual
// reconciliation noise (fee and FX rounding). Each merchant+currency keeps the last
// SettlementHistory (200) values of ln |difference|. Below SettlementMinAmount (1.00) a
// difference is noise and only learned. With SettlementMinHistory (8) differences seen, raised when
// the robust z of ln |difference| ≥ SettlementZ (4) and |difference| ≥ SettlementMinRatio (4) ×
// the median; before that, when |difference| ≥ SettlementNoHistoryAmount (10.00). Raised
// differences are not learned. Score: z (or |difference| / SettlementNoHistoryAmount without
// history); critical from SettlementCriticalAmount (1000.00) or twice the z threshold. Key:
// settlement_mismatch:<subject type>:<subject id>.
//
// dead_posting_burst — many SYSPRO postings going dead close together, all postings counted
// together: DeadPosting.Window (10 min), DeadPosting.Count (5), with the same learned threshold as
// velocity at DeadPosting.PValue (1e-3; postings of one payment often die together). Score:
// count / threshold. Key: dead_posting_burst:<unix second of the first dead posting of the
// episode>. Isolated dead postings are not findings here: each already raises its own anomaly.
//
// # Order, warm-up and restarts
//
// Events should arrive in time order. A late event is placed correctly in the windows it still
// belongs to and is dropped from those it is too late for; the detector's clock (for sweeps) is
// the latest time seen. Warm learns exactly as Observe does without returning findings: warming a
// new detector on the last days of events reproduces the baselines, the open episodes and hence
// the DedupeKeys of the running one.
//
// # Memory
//
// Every table is bounded by a key count (least recently used key dropped first) and an idle
// time (a sweep every SweepEvery of event time drops keys idle that long):
//   - customers: MaxCustomers (100,000) × CustomerHistory (200) log amounts, twice (arrival order
//     and sorted) as float32: at most 1.6 KB each, 160 MB in all; idle 90 days. A history only
//     grows with payments, so a typical customer takes far less.
//   - merchants: MaxMerchants (1,000) × MerchantHistory (1,000) × 8 bytes (8 MB); refund state
//     per merchant: a 24 h minute counter (5.8 KB), the refunds of the last 24 h (at most
//     RefundMaxListed, 16 bytes each) and 29 daily counts; settlement histories as customers.
//   - cards, emails, IPs: MaxCards/MaxEmails/MaxIPs (200,000 each), each holding at most
//     VelocityMaxPerKey (64) attempts of 24 bytes and never more than it was sent in the last
//     VelocityIdle (48 h, the idle time).
//   - duplicates: MaxDuplicateKeys (200,000), idle after DuplicateWindow (5 min).
//   - dead postings: at most DeadPostingMaxes (10,000) in the window.
//
// # Concurrency
//
// All methods are safe for concurrent use; one mutex serialises them. Observe costs a few
// microseconds (see BenchmarkObserve), so the mutex is not the bottleneck of a payment hub.
//
// # Measuring quality
//
// Synthesize makes a labelled event stream (normal traffic plus injected incidents of every
// kind) and Evaluate scores a detector on it; TestDetectorQualityOnLabelledData holds the
// package to precision and recall of at least 0.9 for every kind. The detector never sees the
// labels.
package anomaly
