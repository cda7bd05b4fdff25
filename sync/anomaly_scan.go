package sync

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/payhub/payhub/db"
	detect "github.com/payhub/payhub/sync/anomaly"
)

// Anomaly detection over live traffic: a periodic job (on the leader) feeds the detector the
// payments, refunds, declines and dead postings recorded since its cursor, and records what it
// finds as anomalies (anomalyEvents streams them). The detector learns each customer's and
// merchant's normal from history: a hub that starts (or becomes leader) first warms it with the
// payments before the cursor.
const (
	// anomalyCursor names the sync cursor: the last payment id scored and the last dead posting
	// time, "<payment id>|<RFC 3339 time>".
	anomalyCursor = "anomaly.scan"
	// AnomalyIntervalDefault is how often new payments are scored.
	AnomalyIntervalDefault = 15 * time.Second
	// anomalySettle is how old a payment must be before it is scored, so its outcome is known.
	anomalySettle = 5 * time.Second
	// anomalyWarmPayments is how many payments before the cursor teach a fresh detector.
	anomalyWarmPayments = 50000
	anomalyPage         = 2000
)

// AnomalyConfig tunes live anomaly detection.
type AnomalyConfig struct {
	// Interval is how often new payments are scored; zero is AnomalyIntervalDefault, negative
	// turns live detection off.
	Interval time.Duration `json:"interval"`
	// Detector holds the thresholds and windows; the zero value is detect.DefaultConfig().
	Detector *detect.Config `json:"-"`
}

// anomalyScanner is the process's detector and where it has got to.
type anomalyScanner struct {
	mu       gosync.Mutex
	detector *detect.Detector
	warm     bool
}

type anomalyScanArgs struct{}

func (anomalyScanArgs) Kind() string { return "anomaly_scan" }

func (anomalyScanArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: waitingStates}}
}

type anomalyScanWorker struct {
	river.WorkerDefaults[anomalyScanArgs]
	engine *Engine
}

func (w *anomalyScanWorker) Work(ctx context.Context, _ *river.Job[anomalyScanArgs]) error {
	_, err := w.engine.ScanAnomalies(ctx)
	return err
}

// registerAnomalyScan adds the periodic scoring of new payments, on a hub that takes them in.
func (e *Engine) registerAnomalyScan(r *registry) {
	cfg := e.cfg.Anomaly
	dc := detect.DefaultConfig()
	if cfg.Detector != nil {
		dc = *cfg.Detector
	}
	// ScanAnomalies works on any hub; the periodic scan runs where payments come in.
	e.scanner = &anomalyScanner{detector: detect.New(dc)}
	if cfg.Interval < 0 || (e.cfg.Cybersource == nil && e.cfg.Opayo == nil) {
		return
	}
	river.AddWorker(r.workers, &anomalyScanWorker{engine: e})
	r.every(cmp.Or(cfg.Interval, AnomalyIntervalDefault), anomalyScanArgs{})
	r.working = true
}

// scanPosition is the anomaly cursor: the last payment scored, the last dead posting's time
// and the last settlement discrepancy scored.
type scanPosition struct {
	paymentID     int64
	deadAfter     time.Time
	discrepancyID int64
}

func (p scanPosition) String() string {
	return strconv.FormatInt(p.paymentID, 10) + "|" + p.deadAfter.UTC().Format(time.RFC3339Nano) + "|" +
		strconv.FormatInt(p.discrepancyID, 10)
}

func parseScanPosition(s string) scanPosition {
	var p scanPosition
	parts := append(strings.Split(s, "|"), "", "") // a cursor from before discrepancies has two parts
	p.paymentID, _ = strconv.ParseInt(parts[0], 10, 64)
	p.deadAfter, _ = time.Parse(time.RFC3339Nano, parts[1])
	p.discrepancyID, _ = strconv.ParseInt(parts[2], 10, 64)
	return p
}

// ScanAnomalies scores what was recorded since the last scan and records the findings. It
// returns how many anomalies it raised.
func (e *Engine) ScanAnomalies(ctx context.Context) (int, error) {
	s := e.scanner
	s.mu.Lock()
	defer s.mu.Unlock()
	pos := scanPosition{deadAfter: time.Now().Add(-time.Hour)}
	cur, err := e.queries.GetSyncCursor(ctx, anomalyCursor)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return 0, err
	default:
		pos = parseScanPosition(cur.Position)
	}
	if !s.warm {
		if err := e.warmDetector(ctx, pos.paymentID); err != nil {
			return 0, err
		}
		s.warm = true
	}
	raised := 0
	for {
		rows, err := e.queries.ListPaymentsForScoring(ctx, db.ListPaymentsForScoringParams{
			AfterID: pos.paymentID, SettleBefore: time.Now().Add(-anomalySettle), RowLimit: anomalyPage,
		})
		if err != nil {
			return raised, err
		}
		var findings []detect.Finding
		for _, r := range rows {
			if ev, ok := scoringEvent(r); ok {
				findings = append(findings, s.detector.Observe(ev)...)
			}
			pos.paymentID = r.ID
		}
		dead, err := e.queries.ListDeadPostingsForScoring(ctx, db.ListDeadPostingsForScoringParams{DeadAfter: &pos.deadAfter, RowLimit: anomalyPage})
		if err != nil {
			return raised, err
		}
		for _, d := range dead {
			findings = append(findings, s.detector.Observe(detect.Event{
				Kind: detect.EventDeadPosting, At: *d.DeadAt, SubjectType: "erp_posting", SubjectID: d.ID,
				Detail: fmt.Sprintf("%s %s: %s", d.Kind, d.BusinessObject, deref(d.LastError)),
			})...)
			pos.deadAfter = *d.DeadAt
		}
		// A reconciliation discrepancy is judged against the merchant's usual ones: rounding
		// noise is learned, a difference far beyond it raised.
		discrepancies, err := e.queries.ListDiscrepanciesForScoring(ctx, db.ListDiscrepanciesForScoringParams{AfterID: pos.discrepancyID, RowLimit: anomalyPage})
		if err != nil {
			return raised, err
		}
		for _, d := range discrepancies {
			if d.Expected.Valid && d.Actual.Valid {
				findings = append(findings, s.detector.Observe(detect.Event{
					Kind: detect.EventSettlementMismatch, At: d.CreatedAt, SubjectType: "settlement_discrepancy", SubjectID: d.ID,
					Merchant: d.Gateway, Currency: strings.TrimSpace(deref(d.Currency)),
					Amount: d.Actual.Decimal.Sub(d.Expected.Decimal), Detail: d.Explanation,
				})...)
			}
			pos.discrepancyID = d.ID
		}
		n, err := e.recordFindings(ctx, findings, pos)
		raised += n
		if err != nil || (len(rows) < anomalyPage && len(dead) < anomalyPage && len(discrepancies) < anomalyPage) {
			return raised, err
		}
	}
}

// warmDetector teaches a fresh detector the payments before the cursor.
func (e *Engine) warmDetector(ctx context.Context, upTo int64) error {
	after := max(upTo-anomalyWarmPayments, 0)
	for after < upTo {
		rows, err := e.queries.ListPaymentsForScoring(ctx, db.ListPaymentsForScoringParams{
			AfterID: after, SettleBefore: time.Now(), RowLimit: anomalyPage,
		})
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		for _, r := range rows {
			if r.ID > upTo {
				return nil
			}
			if ev, ok := scoringEvent(r); ok {
				e.scanner.detector.Warm(ev)
			}
			after = r.ID
		}
	}
	return nil
}

// scoringEvent is what the detector sees of a payment.
func scoringEvent(r db.ListPaymentsForScoringRow) (detect.Event, bool) {
	ev := detect.Event{
		At: r.OccurredAt, PaymentID: r.ID, Merchant: r.Gateway, Customer: deref(r.CustomerCode),
		Email: deref(r.CustomerEmail), IP: deref(r.ClientIp), Card: cardFingerprint(r),
		Amount: r.Amount, Currency: r.Currency, Reference: r.MerchantReference,
	}
	switch {
	case r.Kind == KindRefund && r.Status == "refunded":
		ev.Kind = detect.EventRefund
		if r.ParentPaymentID != nil {
			ev.ParentPaymentID = *r.ParentPaymentID
		}
	case r.Kind == KindRefund || r.Kind == KindVoid || r.Kind == KindCapture:
		// A capture's money is its authorisation's, already scored; voids move none.
		return ev, false
	case r.Status == "declined":
		ev.Kind = detect.EventDecline
	case committedStatuses[r.Status] || r.Status == "review":
		ev.Kind = detect.EventPayment
	default:
		return ev, false
	}
	return ev, true
}

// cardFingerprint identifies a card without its number: the saved token when there is one,
// else a hash of brand, last four and expiry.
func cardFingerprint(r db.ListPaymentsForScoringRow) string {
	if r.PaymentTokenID != nil {
		return "token:" + strconv.FormatInt(*r.PaymentTokenID, 10)
	}
	if r.CardLastFour == nil {
		return ""
	}
	var m, y int16
	if r.CardExpiryMonth != nil {
		m = *r.CardExpiryMonth
	}
	if r.CardExpiryYear != nil {
		y = *r.CardExpiryYear
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s|%s|%02d|%d", deref(r.CardBrand), *r.CardLastFour, m, y))
	return "card:" + hex.EncodeToString(sum[:8])
}

// recordFindings raises the findings as anomalies and moves the cursor, in one transaction.
func (e *Engine) recordFindings(ctx context.Context, findings []detect.Finding, pos scanPosition) (int, error) {
	raised := 0
	err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		raised = 0
		for _, f := range findings {
			score := f.Score
			details := map[string]any{"paymentIds": f.PaymentIDs}
			for k, v := range f.Details {
				details[k] = v
			}
			subjectType, subjectID := f.SubjectType, f.SubjectID
			if subjectType == "" && len(f.PaymentIDs) > 0 {
				subjectType, subjectID = "payment", f.PaymentIDs[len(f.PaymentIDs)-1]
			}
			if err := raiseAnomaly(ctx, q, anomaly{
				kind: string(f.Kind), severity: string(f.Severity), subjectType: subjectType, subjectID: subjectID,
				dedupeKey: f.DedupeKey, summary: truncate(f.Explanation, 300), explanation: f.Explanation,
				score: &score, details: details,
			}); err != nil {
				return err
			}
			raised++
		}
		return q.UpsertSyncCursor(ctx, db.UpsertSyncCursorParams{Name: anomalyCursor, Position: pos.String()})
	})
	return raised, err
}
