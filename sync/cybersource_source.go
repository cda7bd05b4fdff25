package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/db"
)

// Cybersource is what the engine needs of the Cybersource connector; *cybersource.Client has it.
type Cybersource interface {
	CreatePayment(ctx context.Context, p cybersource.PaymentRequest) (*cybersource.PaymentResult, error)
	GetTransaction(ctx context.Context, id string) (*cybersource.TransactionDetail, error)
	SearchAll(ctx context.Context, r cybersource.SearchRequest) iter.Seq2[cybersource.TransactionSummary, error]
	RefundPayment(ctx context.Context, paymentID string, r cybersource.RefundRequest) (*cybersource.RefundResult, error)
	RefundCapture(ctx context.Context, captureID string, r cybersource.RefundRequest) (*cybersource.RefundResult, error)
	FindByReference(ctx context.Context, code string) ([]cybersource.TransactionSummary, error)
	Capture(ctx context.Context, paymentID string, r cybersource.CaptureRequest) (*cybersource.CaptureResult, error)
	Void(ctx context.Context, target cybersource.VoidTarget, id, reference string) (*cybersource.VoidResult, error)
	Reverse(ctx context.Context, paymentID string, r cybersource.ReversalRequest) (*cybersource.ReversalResult, error)
	TakeReviewAction(ctx context.Context, id string, a cybersource.ReviewAction) (*cybersource.ReviewActionResult, error)
}

// Polling of Transaction Search.
const (
	// CybersourceCursor names the sync cursor of the Transaction Search poller; its position is
	// the newest submitTimeUtc seen (RFC 3339 with nanoseconds).
	CybersourceCursor = "cybersource.tss"
	// CybersourcePollOverlap is how far before the cursor each poll searches again: Cybersource
	// indexes a transaction some time after it was submitted, so one submitted just before the
	// newest seen may appear only in a later poll.
	CybersourcePollOverlap = 15 * time.Minute
	// CybersourcePollLookback is where the first poll starts, before the cursor exists.
	CybersourcePollLookback = 24 * time.Hour
	// cybersourcePollPage is the page size of the poll's search.
	cybersourcePollPage = 500
)

// pollCybersourceArgs is the periodic Transaction Search poll. Only one waits at a time; a failed
// poll is retried a few times and then left to the next period.
type pollCybersourceArgs struct{}

func (pollCybersourceArgs) Kind() string { return "poll_cybersource" }

func (pollCybersourceArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waitingStates}}
}

// registerCybersource adds the Cybersource poller when Cybersource is configured.
func (e *Engine) registerCybersource(r *registry) {
	if e.cfg.Cybersource == nil {
		return
	}
	river.AddWorker(r.workers, &pollCybersourceWorker{engine: e})
	r.every(e.cfg.PollInterval, pollCybersourceArgs{})
	r.working = true
}

type pollCybersourceWorker struct {
	river.WorkerDefaults[pollCybersourceArgs]
	engine *Engine
}

func (w *pollCybersourceWorker) Timeout(*river.Job[pollCybersourceArgs]) time.Duration {
	return w.engine.jobTimeout(5 * time.Minute)
}

func (w *pollCybersourceWorker) Work(ctx context.Context, _ *river.Job[pollCybersourceArgs]) error {
	res, err := w.engine.pollCybersource(ctx, time.Now())
	if err != nil {
		return err
	}
	w.engine.LoggerFrom(ctx).DebugContext(ctx, "cybersource poll", "from", res.From, "hits", res.Hits,
		"enqueued", len(res.Enqueued), "cursor", res.Cursor)
	return nil
}

// cybersourcePoll is what one poll did.
type cybersourcePoll struct {
	// From is the start of the submitTimeUtc range searched (to NOW).
	From time.Time
	// Hits is the number of transactions the search returned.
	Hits int
	// Enqueued lists the transactions whose lookup was queued, in search order.
	Enqueued []string
	// Cursor is the cursor's position after the poll (zero when it still does not exist).
	Cursor time.Time
}

// pollCybersource runs one poll, in one transaction: it locks the cursor, searches Transaction
// Search for everything submitted from the cursor less CybersourcePollOverlap (or, without a
// cursor, CybersourcePollLookback before now, less the overlap) to NOW, oldest first, and queues
// a fetch_transaction of every payment transaction the hub does not know or knows with another
// gateway status, then moves the cursor to the newest submit time seen. Transactions that are not
// payments (no authorization, capture, refund, void or reversal application) are skipped.
func (e *Engine) pollCybersource(ctx context.Context, now time.Time) (cybersourcePoll, error) {
	var res cybersourcePoll
	if e.cfg.Cybersource == nil {
		return res, permanent(errors.New("sync: cybersource is not configured here"))
	}
	err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		res = cybersourcePoll{}
		var cursor time.Time
		cur, err := q.GetSyncCursorForUpdate(ctx, CybersourceCursor)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return fmt.Errorf("sync: read cursor %s: %w", CybersourceCursor, err)
		default:
			if cursor, err = time.Parse(time.RFC3339Nano, cur.Position); err != nil {
				e.LoggerFrom(ctx).WarnContext(ctx, "sync: unreadable cybersource cursor, starting over",
					"cursor", CybersourceCursor, "position", cur.Position)
				cursor = time.Time{}
			}
		}
		start := cursor
		if start.IsZero() {
			start = now.Add(-CybersourcePollLookback)
		}
		res.From = start.Add(-CybersourcePollOverlap).UTC().Truncate(time.Second)
		query := cybersource.NewSearchQuery().AndRaw("submitTimeUtc:[" + res.From.Format(time.RFC3339) + " TO NOW]")
		newest := cursor
		queued := map[string]bool{}
		for hit, err := range e.cfg.Cybersource.SearchAll(ctx, cybersource.SearchRequest{
			Query: query.String(), Name: "payhub poll", Timezone: "UTC", Sort: "submitTimeUtc:asc", Limit: cybersourcePollPage,
		}) {
			if err != nil {
				return fmt.Errorf("sync: cybersource transaction search: %w", err)
			}
			res.Hits++
			if at, err := time.Parse(time.RFC3339, hit.SubmitTimeUTC); err == nil && at.After(newest) {
				newest = at
			}
			changed, err := cybersourceHitChanged(ctx, q, hit)
			if err != nil {
				return err
			}
			if !changed || queued[hit.ID] {
				continue
			}
			if err := e.EnqueueFetchTx(ctx, tx, GatewayCybersource, hit.ID); err != nil {
				return err
			}
			queued[hit.ID] = true
			res.Enqueued = append(res.Enqueued, hit.ID)
		}
		res.Cursor = cursor
		if newest.After(cursor) {
			res.Cursor = newest.UTC()
			return q.UpsertSyncCursor(ctx, db.UpsertSyncCursorParams{Name: CybersourceCursor, Position: res.Cursor.Format(time.RFC3339Nano)})
		}
		return nil
	})
	return res, err
}

// cybersourceHitChanged decides whether a search hit needs a lookup: a payment transaction the
// hub has no payment for, or one whose stored gateway status differs from the hit's.
func cybersourceHitChanged(ctx context.Context, q *db.Queries, hit cybersource.TransactionSummary) (bool, error) {
	if hit.ID == "" {
		return false, nil
	}
	kind, ok := cybersourceKind(hit.ApplicationInformation)
	if !ok {
		return false, nil
	}
	p, err := q.GetPaymentByGatewayTransaction(ctx, db.GetPaymentByGatewayTransactionParams{
		Gateway: GatewayCybersource, GatewayTransactionID: hit.ID})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("sync: look up payment %s: %w", hit.ID, err)
	}
	return p.GatewayStatus != cybersourceStatus(kind, hit.Status, hit.ApplicationInformation), nil
}

// normaliseCybersourceMessage reads a verified webhook and returns the transactions it concerns,
// as the gateway describes them now (fetched from Transaction Details): the payload's transaction
// and, when a Decision Manager case ran a capture, that capture too. A notification about no
// payment transaction (token, invoicing or subscription events) returns nil, nil. A body that is
// not a notification, or is encrypted, is a permanent error.
func (e *Engine) normaliseCybersourceMessage(ctx context.Context, msg db.InboundMessage) ([]GatewayTxn, error) {
	n, err := cybersource.ParseNotification([]byte(msg.Body))
	if err != nil {
		return nil, permanent(fmt.Errorf("sync: inbound message %d: %w", msg.ID, err))
	}
	if !cybersourceTransactionEvent(n.EventType) {
		return nil, nil
	}
	id := strings.TrimSpace(n.Payload.TransactionID)
	if id == "" {
		return nil, permanent(fmt.Errorf("sync: inbound message %d: %s names no transaction", msg.ID, n.EventType))
	}
	ids := []string{id}
	if c := strings.TrimSpace(n.Payload.CaptureID); c != "" && c != id {
		ids = append(ids, c)
	}
	txns := make([]GatewayTxn, 0, len(ids))
	for _, id := range ids {
		t, err := e.fetchCybersource(ctx, id)
		if err != nil {
			return nil, err
		}
		txns = append(txns, t)
	}
	return txns, nil
}

// cybersourceTransactionEvent reports whether an event type is about a payment transaction:
// payments.* (and the legacy payments.payments.*) and risk.* (Decision Manager). Token
// management, invoicing, subscriptions and the rest are not.
func cybersourceTransactionEvent(eventType string) bool {
	return strings.HasPrefix(eventType, "payments.") || strings.HasPrefix(eventType, "risk.")
}

// fetchCybersource reads one transaction from Transaction Details (GET /tss/v2/transactions/{id})
// and describes it as a GatewayTxn.
//
// Kind comes from the SCMP applications the transaction ran: ics_auth with ics_bill is a sale,
// ics_auth alone (with or without ics_decision, or the ics_auth_reversal Decision Manager makes
// of a rejected one) an authorization, ics_void or ics_auth_reversal alone a void, ics_bill alone
// a capture, ics_credit a refund (also a stand-alone credit, which has no parent). Any other
// transaction (a stand-alone decision, a token creation...) is a permanent error.
//
// ParentTransactionID, for a capture, refund or void, is the first of _links.relatedTransactions
// that is not the transaction itself (Cybersource, like the simulator, lists the transaction
// acted on first), else rootId when it differs from the id.
//
// GatewayStatus is, upper-cased, applicationInformation.status when TSS gives one (for a sale the
// simulator gives its settlement status there), else the top-level status, else it is derived from
// the applications' results (real TSS gives no status of an authorization): for authorizations
// and sales ics_auth not successful → DECLINED, a Decision Manager reject (reason 481, ics_decision
// DREJECT or a successful ics_auth_reversal) → AUTHORIZED_RISK_DECLINED, a review (reason 480, 200
// AVS, 230 CVN, 520 smart authorization) → AUTHORIZED_PENDING_REVIEW, else an authorization is
// AUTHORIZED and a sale takes the status of its ics_bill (PENDING when it succeeded without one,
// AUTHORIZED when it did not); a capture or refund takes its ics_bill or ics_credit status
// (PENDING when successful without one, else DECLINED); a void is VOIDED (ics_void) or REVERSED
// (ics_auth_reversal) when successful, else FAILED.
//
// The "kind:status" pairs this can emit, which the status_map rules must cover:
//
// From the simulator (exhaustive):
//
//	authorization:AUTHORIZED                 approved; also a review accepted
//	authorization:AUTHORIZED_PENDING_REVIEW  CVN (999), AVS (99999) or Decision Manager review
//	authorization:AUTHORIZED_RISK_DECLINED   Decision Manager reject (auto-reversed), or a review rejected
//	authorization:DECLINED                   issuer decline, invalid account, expired card
//	authorization:REVERSED                   fully reversed
//	sale:PENDING                             captured, not yet batched
//	sale:BATCHED                             settled in the daily batch
//	sale:VOIDED                              voided before the batch
//	capture:PENDING
//	capture:BATCHED
//	capture:VOIDED
//	refund:PENDING                           (also stand-alone credits)
//	refund:BATCHED
//	refund:VOIDED
//	refund:DECLINED                          stand-alone credit to an invalid card
//	void:VOIDED                              a void of a sale, capture, refund or credit
//	void:REVERSED                            an authorization reversal
//
// From the real API, in addition (the documented vocabulary; any other text Cybersource sends is
// passed through upper-cased, so the rules should also have a fallback):
//
//	authorization:PARTIAL_AUTHORIZED, authorization:PENDING_AUTHENTICATION,
//	authorization:PENDING_REVIEW, authorization:INVALID_REQUEST
//	sale:AUTHORIZED, sale:PARTIAL_AUTHORIZED, sale:AUTHORIZED_PENDING_REVIEW,
//	sale:AUTHORIZED_RISK_DECLINED, sale:PENDING_AUTHENTICATION, sale:PENDING_REVIEW,
//	sale:DECLINED, sale:INVALID_REQUEST, sale:TRANSMITTED
//	capture:TRANSMITTED, capture:DECLINED
//	refund:TRANSMITTED, refund:INVALID_REQUEST
//	void:CANCELLED, void:FAILED
//
// that is, for every kind "*:DECLINED" and "*:INVALID_REQUEST" may occur.
//
// GatewayStatusCode is applicationInformation.reasonCode (else the main application's);
// GatewayStatusDetail is errorInformation "reason: message" (else the rFlag and rMessage of the
// first application that did not succeed). Amount is orderInformation.amountDetails.totalAmount
// (the authorizedAmount of an authorization or sale when positive), never negative; OccurredAt is
// submitTimeUTC. The card brand comes from the card type code (001 Visa, 002 Mastercard, 003
// Amex, 004 Discover, ...), else from the brand name; only the last four digits (suffix) and the
// expiry are kept, never a card number, and Raw is the answer with any card number masked. AVS
// and CVC are the processor's codes. RiskDecision is riskInformation.profile.decision in lower
// case (accept, review, reject; anything else is left empty), RiskScore the score, RiskReasons the
// names of the rules that fired. Customer is billTo with paymentInformation.customer.id (the TMS
// customer); ShipTo is shipTo; Lines are orderInformation.lineItems (SKU = productSku, else
// productCode; quantity 1 when absent; total = unit price × quantity when absent).
//
// A 404 (not indexed yet, or unknown) wraps ErrTxnNotFound, to be retried; a refused request, a
// refused credential or a configuration mistake is permanent; anything else (network, 5xx) is a
// plain error, to be retried.
func (e *Engine) fetchCybersource(ctx context.Context, id string) (GatewayTxn, error) {
	if e.cfg.Cybersource == nil {
		return GatewayTxn{}, permanent(errors.New("sync: cybersource is not configured here"))
	}
	d, err := e.cfg.Cybersource.GetTransaction(ctx, id)
	switch {
	case err == nil:
	case cybersource.IsNotFound(err):
		return GatewayTxn{}, fmt.Errorf("sync: cybersource transaction %s: %w: %w", id, ErrTxnNotFound, err)
	case cybersource.IsInvalidRequest(err), cybersource.IsAuth(err), cybersource.IsConfiguration(err):
		return GatewayTxn{}, permanent(fmt.Errorf("sync: cybersource transaction %s: %w", id, err))
	default:
		return GatewayTxn{}, fmt.Errorf("sync: cybersource transaction %s: %w", id, err)
	}
	t, err := cybersourceTxn(d)
	if err != nil {
		return GatewayTxn{}, permanent(fmt.Errorf("sync: cybersource transaction %s: %w", id, err))
	}
	if t.TransactionID == "" {
		t.TransactionID = id
	}
	return t, nil
}

// cybersourceTxn describes a Transaction Details answer; see fetchCybersource.
func cybersourceTxn(d *cybersource.TransactionDetail) (GatewayTxn, error) {
	ai := d.ApplicationInformation
	kind, ok := cybersourceKind(ai)
	if !ok {
		return GatewayTxn{}, fmt.Errorf("not a payment transaction (applications %s)", csApplicationNames(ai))
	}
	occurred, err := time.Parse(time.RFC3339, strings.TrimSpace(d.SubmitTimeUTC))
	if err != nil {
		return GatewayTxn{}, fmt.Errorf("unreadable submitTimeUTC %q", d.SubmitTimeUTC)
	}
	var extra cybersourceExtra
	if len(d.Raw) > 0 {
		// Fields the client does not model; a shape it cannot read only leaves them empty.
		_ = json.Unmarshal(d.Raw, &extra)
	}
	ad := d.OrderInformation.AmountDetails
	amount := ad.TotalAmount
	if (kind == KindAuthorization || kind == KindSale) && ad.AuthorizedAmount.IsPositive() {
		amount = ad.AuthorizedAmount
	}
	t := GatewayTxn{
		Gateway:             GatewayCybersource,
		TransactionID:       strings.TrimSpace(d.ID),
		Kind:                kind,
		GatewayStatus:       cybersourceStatus(kind, d.Status, ai),
		GatewayStatusCode:   cybersourceStatusCode(kind, ai),
		GatewayStatusDetail: redactCardNumbers(cybersourceStatusDetail(d.ErrorInformation, ai)),
		Reference:           strings.TrimSpace(d.ClientReferenceInformation.Code),
		Amount:              amount.Abs(),
		Currency:            strings.ToUpper(strings.TrimSpace(ad.Currency)),
		OccurredAt:          occurred.UTC(),
		AVSResult:           strings.TrimSpace(d.ProcessorInformation.AVS.Code),
		CVCResult:           strings.TrimSpace(d.ProcessorInformation.CardVerification.ResultCode),
		Raw:                 csRedactRaw(d.Raw),
	}
	if kind == KindCapture || kind == KindRefund || kind == KindVoid {
		t.ParentTransactionID = cybersourceParent(d)
	}

	t.setCybersourceCardAndRisk(d.PaymentInformation.Card, extra.PaymentInformation.Card.BrandName,
		extra.PaymentInformation.PaymentType.Method, d.RiskInformation)

	bill := d.OrderInformation.BillTo
	t.Customer = Party{
		GatewayCustomerID: strings.TrimSpace(d.PaymentInformation.Customer.ID),
		FirstName:         strings.TrimSpace(bill.FirstName),
		LastName:          strings.TrimSpace(bill.LastName),
		Company:           strings.TrimSpace(bill.Company),
		Email:             strings.TrimSpace(bill.Email),
		Phone:             strings.TrimSpace(bill.PhoneNumber),
		BillTo:            cybersourceAddress(bill, false),
	}
	t.ShipTo = cybersourceAddress(d.OrderInformation.ShipTo, true)
	for _, li := range d.OrderInformation.LineItems {
		t.Lines = append(t.Lines, cybersourceLine(li))
	}
	return t, nil
}

// setCybersourceCardAndRisk fills the card (brand, last four, expiry) and Decision Manager's
// verdict (score, decision, rule names) from a Cybersource answer: Transaction Details or a
// payment's own answer.
func (t *GatewayTxn) setCybersourceCardAndRisk(card cybersource.CardSummary, brandName, method string, risk cybersource.RiskInformation) {
	t.CardBrand = cybersourceCardBrand(card.Type, brandName, method)
	if s := strings.TrimSpace(card.Suffix); len(s) == 4 && csAllDigits(s) {
		t.CardLastFour = s
	}
	t.CardExpiryMonth, t.CardExpiryYear = csCardExpiry(card.ExpirationMonth, card.ExpirationYear)
	if n, err := strconv.Atoi(strings.TrimSpace(risk.Score.Result.String())); err == nil {
		t.RiskScore = &n
	}
	switch strings.ToUpper(strings.TrimSpace(risk.Profile.Decision)) {
	case "ACCEPT":
		t.RiskDecision = "accept"
	case "REVIEW":
		t.RiskDecision = "review"
	case "REJECT":
		t.RiskDecision = "reject"
	}
	for _, r := range risk.Rules {
		if name := strings.TrimSpace(r.Name); name != "" && !slices.Contains(t.RiskReasons, name) {
			t.RiskReasons = append(t.RiskReasons, name)
		}
	}
}

// cybersourceExtra is what the client's TransactionDetail does not model.
type cybersourceExtra struct {
	PaymentInformation struct {
		Card struct {
			BrandName string `json:"brandName"`
		} `json:"card"`
		PaymentType struct {
			Method string `json:"method"`
		} `json:"paymentType"`
	} `json:"paymentInformation"`
}

// cybersourceKind names the kind of a transaction from its SCMP applications; false when it is not
// a payment transaction.
func cybersourceKind(ai cybersource.ApplicationInformation) (string, bool) {
	has := func(name string) bool { _, ok := ai.Application(name); return ok }
	switch {
	case has("ics_auth") && has("ics_bill"):
		return KindSale, true
	case has("ics_auth"):
		return KindAuthorization, true
	case has("ics_void"), has("ics_auth_reversal"):
		return KindVoid, true
	case has("ics_bill"):
		return KindCapture, true
	case has("ics_credit"):
		return KindRefund, true
	}
	return "", false
}

// cybersourceMainApplication is the application whose result is the transaction's.
func cybersourceMainApplication(kind string, ai cybersource.ApplicationInformation) (cybersource.Application, bool) {
	switch kind {
	case KindAuthorization, KindSale:
		return ai.Application("ics_auth")
	case KindCapture:
		return ai.Application("ics_bill")
	case KindRefund:
		return ai.Application("ics_credit")
	case KindVoid:
		if a, ok := ai.Application("ics_void"); ok {
			return a, true
		}
		return ai.Application("ics_auth_reversal")
	}
	return cybersource.Application{}, false
}

// csSucceeded reports whether an application ran successfully (rCode 1, or reason code 100 when
// there is no rCode).
func csSucceeded(a cybersource.Application) bool {
	if rc := strings.TrimSpace(a.RCode.String()); rc != "" {
		return rc == "1"
	}
	return strings.TrimSpace(a.ReasonCode.String()) == "100"
}

// Reason codes of an authorization that was approved but held for review: 480 Decision Manager
// review, 200 AVS failed, 230 CVN failed, 520 smart authorization.
var cybersourceReviewCodes = map[string]bool{"480": true, "200": true, "230": true, "520": true}

// cybersourceStatus is the gateway status of a transaction of kind with top-level status and
// applications ai; see fetchCybersource. The poller uses it on search hits, the lookup on details,
// so the two compare.
func cybersourceStatus(kind, status string, ai cybersource.ApplicationInformation) string {
	if s := strings.TrimSpace(ai.Status); s != "" {
		return strings.ToUpper(s)
	}
	if s := strings.TrimSpace(status); s != "" {
		return strings.ToUpper(s)
	}
	main, _ := cybersourceMainApplication(kind, ai)
	switch kind {
	case KindAuthorization, KindSale:
		if !csSucceeded(main) {
			return "DECLINED"
		}
		dec, hasDecision := ai.Application("ics_decision")
		rev, hasReversal := ai.Application("ics_auth_reversal")
		reason := strings.TrimSpace(ai.ReasonCode.String())
		switch {
		case reason == "481" || (hasDecision && strings.EqualFold(dec.RFlag, "DREJECT")) || (hasReversal && csSucceeded(rev)):
			return "AUTHORIZED_RISK_DECLINED"
		case cybersourceReviewCodes[reason] || (hasDecision && strings.EqualFold(dec.RFlag, "DREVIEW")):
			return "AUTHORIZED_PENDING_REVIEW"
		case kind == KindAuthorization:
			return "AUTHORIZED"
		}
		bill, _ := ai.Application("ics_bill")
		switch {
		case strings.TrimSpace(bill.Status) != "":
			return strings.ToUpper(strings.TrimSpace(bill.Status))
		case csSucceeded(bill):
			return "PENDING"
		}
		return "AUTHORIZED"
	case KindCapture, KindRefund:
		switch {
		case strings.TrimSpace(main.Status) != "":
			return strings.ToUpper(strings.TrimSpace(main.Status))
		case csSucceeded(main):
			return "PENDING"
		}
		return "DECLINED"
	case KindVoid:
		switch {
		case !csSucceeded(main):
			return "FAILED"
		case main.Name == "ics_auth_reversal":
			return "REVERSED"
		}
		return "VOIDED"
	}
	return ""
}

// cybersourceStatusCode is the transaction's reason code.
func cybersourceStatusCode(kind string, ai cybersource.ApplicationInformation) string {
	if c := strings.TrimSpace(ai.ReasonCode.String()); c != "" {
		return c
	}
	main, _ := cybersourceMainApplication(kind, ai)
	return strings.TrimSpace(main.ReasonCode.String())
}

// cybersourceStatusDetail is errorInformation's reason and message, else what the first failed
// application said.
func cybersourceStatusDetail(ei cybersource.ErrorInformation, ai cybersource.ApplicationInformation) string {
	if d := csJoin(": ", ei.Reason, ei.Message); d != "" {
		return d
	}
	for _, a := range ai.Applications {
		if !csSucceeded(a) && strings.TrimSpace(a.ReasonCode.String()) != "100" {
			return csJoin(": ", a.RFlag, a.RMessage)
		}
	}
	return ""
}

// cybersourceParent is the transaction a follow-on acts on.
func cybersourceParent(d *cybersource.TransactionDetail) string {
	hrefs := csRelatedHrefs(d.Raw)
	if len(hrefs) == 0 {
		hrefs = []string{d.Links.Href("relatedTransactions")}
	}
	for _, href := range hrefs {
		if id := csLastPathSegment(href); id != "" && id != d.ID {
			return id
		}
	}
	if root := strings.TrimSpace(d.RootID); root != "" && root != d.ID {
		return root
	}
	return ""
}

// csRelatedHrefs reads every _links.relatedTransactions href of a raw answer.
func csRelatedHrefs(raw json.RawMessage) []string {
	var v struct {
		Links struct {
			Related json.RawMessage `json:"relatedTransactions"`
		} `json:"_links"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil || len(v.Links.Related) == 0 {
		return nil
	}
	var many []cybersource.Link
	if bytes.HasPrefix(bytes.TrimSpace(v.Links.Related), []byte("[")) {
		if json.Unmarshal(v.Links.Related, &many) != nil {
			return nil
		}
	} else {
		var one cybersource.Link
		if json.Unmarshal(v.Links.Related, &one) != nil {
			return nil
		}
		many = []cybersource.Link{one}
	}
	out := make([]string, 0, len(many))
	for _, l := range many {
		out = append(out, l.Href)
	}
	return out
}

func csLastPathSegment(href string) string {
	href = strings.TrimSpace(href)
	if i := strings.IndexAny(href, "?#"); i >= 0 {
		href = href[:i]
	}
	href = strings.TrimRight(href, "/")
	return href[strings.LastIndexByte(href, '/')+1:]
}

// cybersourceCardTypes are Cybersource's card type codes.
var cybersourceCardTypes = map[string]string{
	"001": "Visa", "002": "Mastercard", "003": "Amex", "004": "Discover", "005": "Diners Club",
	"006": "Carte Blanche", "007": "JCB", "024": "Maestro", "033": "Visa Electron", "036": "Cartes Bancaires",
	"039": "Encoded account number", "040": "UATP", "042": "Maestro", "050": "Hipercard", "054": "Elo",
	"058": "Carnet", "060": "Mada", "062": "China UnionPay", "070": "EFTPOS",
}

// cybersourceBrandNames normalises the brand names and payment-type method codes TSS uses.
var cybersourceBrandNames = map[string]string{
	"VISA": "Visa", "VI": "Visa", "MASTERCARD": "Mastercard", "MC": "Mastercard",
	"AMERICAN EXPRESS": "Amex", "AMEX": "Amex", "AX": "Amex", "DISCOVER": "Discover", "DI": "Discover",
	"DINERS CLUB": "Diners Club", "JCB": "JCB", "MAESTRO": "Maestro",
}

// cybersourceCardBrand names the card brand from the type code, else the brand name, else the
// payment type's method.
func cybersourceCardBrand(typeCode, brandName, method string) string {
	if b, ok := cybersourceCardTypes[strings.TrimSpace(typeCode)]; ok {
		return b
	}
	for _, n := range []string{brandName, method} {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if b, ok := cybersourceBrandNames[strings.ToUpper(n)]; ok {
			return b
		}
		if len(n) > 2 { // a name, not an unknown two-letter code
			return n
		}
	}
	return ""
}

// csCardExpiry reads an expiry month and (two- or four-digit) year; zero for what is not valid.
func csCardExpiry(month, year string) (int, int) {
	m, err := strconv.Atoi(strings.TrimSpace(month))
	if err != nil || m < 1 || m > 12 {
		m = 0
	}
	y, err := strconv.Atoi(strings.TrimSpace(year))
	switch {
	case err != nil:
		y = 0
	case y >= 0 && y < 100 && len(strings.TrimSpace(year)) <= 2:
		y += 2000
	}
	if y < 2000 || y > 2100 {
		y = 0
	}
	return m, y
}

// cybersourceAddress is a billTo or shipTo as the canonical model stores it; a shipTo carries the
// recipient's name.
func cybersourceAddress(a cybersource.Address, named bool) Address {
	out := Address{
		Line1:      strings.TrimSpace(a.Address1),
		Line2:      strings.TrimSpace(a.Address2),
		City:       strings.TrimSpace(a.Locality),
		Region:     strings.TrimSpace(a.AdministrativeArea),
		PostalCode: strings.TrimSpace(a.PostalCode),
		Country:    strings.ToUpper(strings.TrimSpace(a.Country)),
	}
	if named {
		out.Name = csJoin(" ", a.FirstName, a.LastName)
	}
	return out
}

// cybersourceLine is one order line.
func cybersourceLine(li cybersource.LineItemResult) Line {
	l := Line{
		SKU:         strings.TrimSpace(li.ProductSKU),
		Name:        strings.TrimSpace(li.ProductName),
		Quantity:    decimal.NewFromInt(1),
		UnitPrice:   li.UnitPrice,
		TaxAmount:   li.TaxAmount,
		TotalAmount: li.TotalAmount,
	}
	if l.SKU == "" {
		l.SKU = strings.TrimSpace(li.ProductCode)
	}
	if q, err := decimal.NewFromString(strings.TrimSpace(li.Quantity.String())); err == nil && q.IsPositive() {
		l.Quantity = q
	}
	if l.TotalAmount.IsZero() && !l.UnitPrice.IsZero() {
		l.TotalAmount = l.UnitPrice.Mul(l.Quantity)
	}
	return l
}

// csRedactRaw masks any card number in the string values of a JSON answer (TSS masks them
// already; this is so that none is ever stored, whatever the gateway sent). Answers without one
// are returned as they are.
func csRedactRaw(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	if redactCardNumbers(string(raw)) == string(raw) {
		return append(json.RawMessage(nil), raw...)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return json.RawMessage(strconv.Quote(redactCardNumbers(string(raw))))
	}
	out, err := json.Marshal(csRedactValue(v))
	if err != nil {
		return json.RawMessage(strconv.Quote(redactCardNumbers(string(raw))))
	}
	return out
}

func csRedactValue(v any) any {
	switch x := v.(type) {
	case string:
		return redactCardNumbers(x)
	case json.Number:
		if s := x.String(); redactCardNumbers(s) != s {
			return redactCardNumbers(s)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = csRedactValue(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = csRedactValue(e)
		}
		return x
	}
	return v
}

func csApplicationNames(ai cybersource.ApplicationInformation) string {
	names := make([]string, 0, len(ai.Applications))
	for _, a := range ai.Applications {
		names = append(names, a.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func csJoin(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func csAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}
