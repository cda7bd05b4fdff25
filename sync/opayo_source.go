package sync

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/db"
)

// Opayo is what the engine needs of the Opayo connector; *opayo.Client has it.
type Opayo interface {
	CreateMerchantSessionKey(ctx context.Context) (*opayo.MerchantSessionKey, error)
	GetTransaction(ctx context.Context, transactionID string) (*opayo.Transaction, error)
	GetTransactionDetail(ctx context.Context, ref opayo.TransactionRef) (*opayo.TransactionDetail, error)
	TransactionList(ctx context.Context, q opayo.TransactionListQuery) iter.Seq2[opayo.TransactionSummary, error]
	CreateTransaction(ctx context.Context, req opayo.TransactionRequest) (*opayo.Transaction, error)
	Void(ctx context.Context, transactionID string) (*opayo.Instruction, error)
	Abort(ctx context.Context, transactionID string) (*opayo.Instruction, error)
	Release(ctx context.Context, transactionID string, amount decimal.Decimal, currency string) (*opayo.Instruction, error)
}

// Opayo gateway statuses: the only GatewayStatus texts the Opayo source emits, so status_map rules
// key on "<kind>:<status>". They come from Reporting's txstateid (GatewayStatusCode is then the
// txstateid, GatewayStatusDetail Opayo's text for it):
//
//	16         Ok             authorised; also a released Deferred, whose kind stays authorization
//	14         Deferred       awaiting release
//	15         Authenticated  awaiting authorise
//	21         Registered     awaiting authorise
//	2, 5, 7    Pending        on the payment page, at 3-D Secure, or notifying the vendor
//	12         NotAuthed      declined by the bank
//	10         Rejected       rejected by the vendor's fraud rules
//	13         Error          cancelled by Opayo after an error
//	18         Voided
//	19, 27     Aborted        a Deferred aborted, or expired unreleased
//	9, 11, 22  Cancelled      by the vendor's notification reply, by the shopper, or an
//	                          Authenticate cancelled
//
// When only Pi knows the transaction (Reporting answers "not found", or a txstateid outside the
// table), GatewayStatus is Pi's status text — Ok, NotAuthed, Rejected, Malformed, Invalid, Error,
// 3DAuth, Registered, Authenticated — and GatewayStatusCode Pi's statusCode, except that Pi's
// statusCode 2005 reads Voided, 2006 Aborted, 2012 Cancelled, and a Deferred that Pi calls Ok
// without the release code 2004 reads Deferred, so that both sources use one vocabulary.
const (
	OpayoStatusOk            = "Ok"
	OpayoStatusDeferred      = "Deferred"
	OpayoStatusAuthenticated = "Authenticated"
	OpayoStatusRegistered    = "Registered"
	OpayoStatusPending       = "Pending"
	OpayoStatusNotAuthed     = "NotAuthed"
	OpayoStatusRejected      = "Rejected"
	OpayoStatusError         = "Error"
	OpayoStatusVoided        = "Voided"
	OpayoStatusAborted       = "Aborted"
	OpayoStatusCancelled     = "Cancelled"
	// Pi-only statuses.
	OpayoStatusMalformed = "Malformed"
	OpayoStatusInvalid   = "Invalid"
	OpayoStatus3DAuth    = "3DAuth"
)

// The Reporting poller's cursor and window.
const (
	// opayoCursor names the sync cursor; its position is the newest Started time seen (RFC 3339, UTC).
	opayoCursor = "opayo.reporting"
	// opayoPollOverlap is how far before the cursor each poll starts again, so a transaction that
	// reached Reporting late, or whose Started equals the cursor, is not missed.
	opayoPollOverlap = 15 * time.Minute
	// opayoPollLookback is where the first poll starts, and the furthest back the cursor is left
	// when nothing newer has been seen.
	opayoPollLookback = 24 * time.Hour
)

// pollOpayoArgs is the periodic pull of recent Opayo transactions from Reporting. Only one waits
// at a time.
type pollOpayoArgs struct{}

func (pollOpayoArgs) Kind() string { return "poll_opayo" }

func (pollOpayoArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: waitingStates}}
}

// registerOpayo adds the Opayo Reporting poller when Opayo is configured.
func (e *Engine) registerOpayo(r *registry) {
	if e.cfg.Opayo == nil {
		return
	}
	river.AddWorker(r.workers, &pollOpayoWorker{engine: e})
	r.every(e.cfg.PollInterval, pollOpayoArgs{})
	r.working = true
}

type pollOpayoWorker struct {
	river.WorkerDefaults[pollOpayoArgs]
	engine *Engine
}

func (w *pollOpayoWorker) Timeout(*river.Job[pollOpayoArgs]) time.Duration {
	return w.engine.jobTimeout(5 * time.Minute)
}

func (w *pollOpayoWorker) Work(ctx context.Context, _ *river.Job[pollOpayoArgs]) error {
	_, err := w.engine.pollOpayo(ctx, time.Now())
	return err
}

// opayoPoll is what one poll of Reporting did.
type opayoPoll struct {
	From, To time.Time
	// Listed is how many transactions Reporting listed in [From, To].
	Listed int
	// Fetch are the transactions queued for a fetch: unknown here, or in another state than stored.
	Fetch []string
	// Cursor is the position stored for the next poll.
	Cursor time.Time
}

// pollOpayo lists, in one transaction holding the cursor's lock, the Reporting transactions
// started since the cursor (less opayoPollOverlap) up to now, queues a fetch of every one whose
// payment is unknown or whose stored gateway status differs, and advances the cursor to the newest
// Started time seen. Transactions whose state changes long after they started (a release or void
// days later) are not in the window: the janitor and the calls that cause those changes cover them.
func (e *Engine) pollOpayo(ctx context.Context, now time.Time) (opayoPoll, error) {
	if e.cfg.Opayo == nil {
		return opayoPoll{}, permanent(errors.New("sync: opayo is not configured here"))
	}
	var res opayoPoll
	err := e.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		since := now.Add(-opayoPollLookback)
		cur, err := q.GetSyncCursorForUpdate(ctx, opayoCursor)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return fmt.Errorf("sync: read cursor %s: %w", opayoCursor, err)
		default:
			if at, perr := time.Parse(time.RFC3339Nano, cur.Position); perr == nil {
				since = at
			} else {
				e.log.Warn("unreadable sync cursor; polling from the default lookback", "cursor", opayoCursor, "position", cur.Position)
			}
		}
		from := since.Add(-opayoPollOverlap)
		if from.After(now) {
			from = now.Add(-opayoPollOverlap)
		}
		// Reporting dates have one-second resolution: end the window at the next whole second so
		// that this second's transactions are listed now rather than on the next poll.
		to := now.Truncate(time.Second).Add(time.Second)
		fetch, newest, listed, err := e.opayoChanges(ctx, q, from, to)
		if err != nil {
			return err
		}
		for _, id := range fetch {
			if err := e.EnqueueFetchTx(ctx, tx, GatewayOpayo, id); err != nil {
				return err
			}
		}
		cursor := since
		for _, t := range []time.Time{newest, now.Add(-opayoPollLookback)} {
			if t.After(cursor) {
				cursor = t
			}
		}
		if err := q.UpsertSyncCursor(ctx, db.UpsertSyncCursorParams{Name: opayoCursor, Position: cursor.UTC().Format(time.RFC3339Nano)}); err != nil {
			return fmt.Errorf("sync: store cursor %s: %w", opayoCursor, err)
		}
		res = opayoPoll{From: from, To: to, Listed: listed, Fetch: fetch, Cursor: cursor.UTC()}
		return nil
	})
	return res, err
}

// opayoChanges lists Reporting's transactions started in [from, to] and returns those to fetch:
// every one without a payment here, and every one whose state (by its txstateid, in the
// vocabulary of the OpayoStatus constants) differs from the payment's gateway_status. A row
// without a txstateid cannot be compared and is fetched. newest is the latest Started listed.
func (e *Engine) opayoChanges(ctx context.Context, q *db.Queries, from, to time.Time) (fetch []string, newest time.Time, listed int, err error) {
	seen := map[string]bool{}
	for s, lerr := range e.cfg.Opayo.TransactionList(ctx, opayo.TransactionListQuery{Start: from, End: to}) {
		if lerr != nil {
			return nil, time.Time{}, 0, fmt.Errorf("sync: opayo transaction list: %w", lerr)
		}
		listed++
		if s.Started.After(newest) {
			newest = s.Started
		}
		id, ok := opayoTransactionID(s.VPSTxID)
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		p, perr := q.GetPaymentByGatewayTransaction(ctx, db.GetPaymentByGatewayTransactionParams{Gateway: GatewayOpayo, GatewayTransactionID: id})
		switch {
		case errors.Is(perr, pgx.ErrNoRows):
			fetch = append(fetch, id)
		case perr != nil:
			return nil, time.Time{}, 0, fmt.Errorf("sync: payment of opayo %s: %w", id, perr)
		default:
			if st := opayoStateStatus(s.TxStateID); st == "" || st != p.GatewayStatus {
				fetch = append(fetch, id)
			}
		}
	}
	return fetch, newest, listed, nil
}

// normaliseOpayoMessage reads a verified Server notification and returns the transaction it
// concerns, as Opayo describes it now (fetchOpayo). While Reporting still shows the transaction
// as Pending or Registered — it is parked in txstateid 7 until Opayo has read the reply to this
// very notification — the verified notification's outcome is newer, and its status is used.
func (e *Engine) normaliseOpayoMessage(ctx context.Context, msg db.InboundMessage) ([]GatewayTxn, error) {
	if msg.SignatureStatus != SignatureValid {
		return nil, permanent(fmt.Errorf("sync: opayo message %d is not verified (%s)", msg.ID, msg.SignatureStatus))
	}
	n, err := opayo.ParseNotificationBody([]byte(msg.Body))
	if err != nil {
		return nil, permanent(fmt.Errorf("sync: stored opayo message %d: %w", msg.ID, err))
	}
	id, ok := opayoTransactionID(n.VPSTxID)
	if !ok {
		return nil, permanent(fmt.Errorf("sync: stored opayo message %d: VPSTxId is not an Opayo transaction id", msg.ID))
	}
	t, err := e.fetchOpayo(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.GatewayStatus == OpayoStatusPending || t.GatewayStatus == OpayoStatusRegistered {
		if st := opayoNotificationStatus(n); st != "" && st != t.GatewayStatus {
			t.GatewayStatus = st
			t.GatewayStatusCode, t.GatewayStatusDetail = opayoSplitStatusDetail(n.StatusDetail)
			t.Raw = withNotification(t.Raw, n)
		}
	}
	return []GatewayTxn{t}, nil
}

// fetchOpayo reads one transaction from Opayo: Reporting getTransactionDetail first (it knows
// every protocol's transactions, the customer and the state in detail), then Pi GET
// /transactions/{id} when Reporting does not know it or reports a state outside the
// OpayoStatus vocabulary. id is the Pi transactionId or the VPSTxId, braces or not. Unknown to
// both is ErrTxnNotFound; other failures are returned for a retry.
func (e *Engine) fetchOpayo(ctx context.Context, id string) (GatewayTxn, error) {
	if e.cfg.Opayo == nil {
		return GatewayTxn{}, permanent(errors.New("sync: opayo is not configured here"))
	}
	tid, ok := opayoTransactionID(id)
	if !ok {
		return GatewayTxn{}, permanent(fmt.Errorf("sync: %q is not an Opayo transaction id", truncate(id, 80)))
	}
	d, err := e.cfg.Opayo.GetTransactionDetail(ctx, opayo.ByVPSTxID("{"+tid+"}"))
	var unmapped error
	switch {
	case err == nil:
		t, ok, terr := opayoTxnFromDetail(tid, d)
		if terr != nil || ok {
			return t, terr
		}
		unmapped = fmt.Errorf("sync: opayo %s: Reporting txstateid %d is outside the status vocabulary", tid, d.TxStateID)
	case opayo.IsNotFound(err):
	default:
		return GatewayTxn{}, fmt.Errorf("sync: opayo reporting detail of %s: %w", tid, err)
	}
	pt, err := e.cfg.Opayo.GetTransaction(ctx, tid)
	switch {
	case err == nil:
		return opayoTxnFromPi(tid, pt)
	case opayo.IsNotFound(err) && unmapped != nil:
		return GatewayTxn{}, unmapped
	case opayo.IsNotFound(err):
		return GatewayTxn{}, fmt.Errorf("%w: opayo %s is unknown to Reporting and Pi", ErrTxnNotFound, tid)
	}
	return GatewayTxn{}, fmt.Errorf("sync: opayo pi transaction %s: %w", tid, err)
}

// opayoTxnFromDetail describes a Reporting detail; ok is false when its txstateid is outside the
// status vocabulary (ask Pi instead).
func opayoTxnFromDetail(id string, d *opayo.TransactionDetail) (GatewayTxn, bool, error) {
	status := opayoStateStatus(d.TxStateID)
	if status == "" {
		return GatewayTxn{}, false, nil
	}
	kind, ok := opayoKind(d.TransactionType)
	if !ok {
		return GatewayTxn{}, false, permanent(fmt.Errorf("sync: opayo %s has transaction type %q, which has no payment kind", id, truncate(d.TransactionType, 40)))
	}
	t := GatewayTxn{
		Gateway:             GatewayOpayo,
		TransactionID:       id,
		Kind:                kind,
		GatewayStatus:       status,
		GatewayStatusCode:   strconv.Itoa(int(d.TxStateID)),
		GatewayStatusDetail: d.Status,
		Reference:           d.VendorTxCode,
		Amount:              d.Amount,
		Currency:            d.Currency,
		OccurredAt:          d.Completed,
		CardBrand:           opayoCardBrand(d.PaymentSystem),
		CardLastFour:        opayoLastFour(d.Last4Digits),
		AVSResult:           opayoAVS(opayoCheckPart(d.AddressResult), opayoCheckPart(d.PostcodeResult)),
		CVCResult:           opayoCheckPart(d.CV2Result),
		ThreeDS:             opayo3DS(d.ThreeDResult),
		RiskScore:           opayoT3MScore(d.T3MScore),
		RiskDecision:        opayoT3MDecision(d.T3MAction),
		RiskReasons:         opayoT3MReasons(d.T3MAction),
		Customer: Party{
			FirstName: d.Billing.FirstNames,
			LastName:  d.Billing.Surname,
			Email:     d.CustomerEmail,
			Phone:     cmp.Or(d.Billing.Phone, d.ContactNumber),
			BillTo:    opayoAddress(d.Billing),
		},
		ShipTo:      opayoAddress(d.Delivery),
		Description: d.Description,
	}
	if t.OccurredAt.IsZero() {
		t.OccurredAt = d.Started
	}
	if t.OccurredAt.IsZero() {
		t.OccurredAt = time.Now()
	}
	t.OccurredAt = t.OccurredAt.UTC()
	t.CardExpiryMonth, t.CardExpiryYear = opayoExpiry(d.ExpiryDate)
	if kind == KindRefund || kind == KindVoid {
		if parent, ok := opayoTransactionID(d.RelatedVPSTxID); ok {
			t.ParentTransactionID = parent
		}
	}
	raw, err := json.Marshal(opayoRaw{Source: "reporting.getTransactionDetail", Detail: &opayoRawDetail{TransactionDetail: *d}})
	if err != nil {
		return GatewayTxn{}, false, fmt.Errorf("sync: opayo %s raw: %w", id, err)
	}
	t.Raw = raw
	return t, true, nil
}

// opayoTxnFromPi describes a Pi transaction. Pi carries no vendorTxCode, customer, description
// or date, so Reference and Customer stay empty and OccurredAt is the time of the lookup.
func opayoTxnFromPi(id string, p *opayo.Transaction) (GatewayTxn, error) {
	kind, ok := opayoKind(string(p.Type))
	if !ok {
		if p.Type != "" {
			return GatewayTxn{}, permanent(fmt.Errorf("sync: opayo %s has transaction type %q, which has no payment kind", id, truncate(string(p.Type), 40)))
		}
		// A failed 3-D Secure transaction can come back without its type (opayo.md §2.5).
		kind = KindSale
	}
	status := opayoPiStatus(p)
	if status == "" {
		return GatewayTxn{}, fmt.Errorf("sync: opayo %s: Pi answered without a status", id)
	}
	t := GatewayTxn{
		Gateway:             GatewayOpayo,
		TransactionID:       id,
		Kind:                kind,
		GatewayStatus:       status,
		GatewayStatusCode:   p.StatusCode,
		GatewayStatusDetail: p.StatusDetail,
		Amount:              p.Amount.Total,
		Currency:            p.Currency,
		OccurredAt:          time.Now().UTC(),
		ThreeDS:             p.ThreeDSecureStatus,
	}
	if c := p.Card; c != nil {
		t.CardBrand, t.CardLastFour = c.CardType, opayoLastFour(c.LastFourDigits)
		t.CardExpiryMonth, t.CardExpiryYear = opayoExpiry(c.ExpiryDate)
	}
	if a := p.AvsCvcCheck; a != nil {
		t.AVSResult, t.CVCResult = opayoAVS(a.Address, a.PostalCode), a.SecurityCode
	}
	raw, err := json.Marshal(opayoRaw{Source: "pi.getTransaction", Transaction: p})
	if err != nil {
		return GatewayTxn{}, fmt.Errorf("sync: opayo %s raw: %w", id, err)
	}
	t.Raw = raw
	return t, nil
}

// opayoRaw is GatewayTxn.Raw for Opayo: which answer the txn was built from, and that answer.
type opayoRaw struct {
	Source      string             `json:"source"`
	Detail      *opayoRawDetail    `json:"transactionDetail,omitempty"`
	Transaction *opayo.Transaction `json:"transaction,omitempty"`
}

// opayoRawDetail is a Reporting detail without its SecurityKey: the shadowing field is always
// nil, so the key is not written at all (not even redacted).
type opayoRawDetail struct {
	opayo.TransactionDetail
	SecurityKey *struct{} `json:"SecurityKey,omitempty"`
}

// opayoRawNotice records the verified notification whose status overrode Reporting's.
type opayoRawNotice struct {
	TxType       string `json:"txType"`
	Status       string `json:"status"`
	StatusDetail string `json:"statusDetail"`
}

// withNotification adds the notification to a Raw built by opayoTxnFromDetail or opayoTxnFromPi.
func withNotification(raw json.RawMessage, n opayo.Notification) json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return raw
	}
	notice, err := json.Marshal(opayoRawNotice{TxType: n.TxType, Status: n.Status, StatusDetail: n.StatusDetail})
	if err != nil {
		return raw
	}
	m["notification"] = notice
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}

// opayoStateStatus is the OpayoStatus of a Reporting txstateid, "" outside the vocabulary.
func opayoStateStatus(s opayo.TxState) string {
	switch s {
	case opayo.TxStateAuthorised:
		return OpayoStatusOk
	case opayo.TxStateDeferredAwaitingRelease:
		return OpayoStatusDeferred
	case opayo.TxStateAuthenticatedAwaitingAuthorise:
		return OpayoStatusAuthenticated
	case opayo.TxStateRegistered:
		return OpayoStatusRegistered
	case 2, 5, 7: // payment page, 3-D Secure, awaiting the vendor's reply to the notification
		return OpayoStatusPending
	case opayo.TxStateDeclined:
		return OpayoStatusNotAuthed
	case opayo.TxStateRejected:
		return OpayoStatusRejected
	case 13: // cancelled by Opayo after an error (also: notification never acknowledged)
		return OpayoStatusError
	case opayo.TxStateVoided:
		return OpayoStatusVoided
	case opayo.TxStateDeferredAborted, opayo.TxStateDeferredExpired:
		return OpayoStatusAborted
	case 9, 11, 22: // vendor replied INVALID/ERROR, shopper cancelled, Authenticate cancelled
		return OpayoStatusCancelled
	}
	return ""
}

// opayoPiStatus is the OpayoStatus of a Pi transaction (see the OpayoStatus constants).
func opayoPiStatus(p *opayo.Transaction) string {
	switch p.StatusCode {
	case "2005":
		return OpayoStatusVoided
	case "2006":
		return OpayoStatusAborted
	case "2012":
		return OpayoStatusCancelled
	}
	if p.Status == opayo.StatusOk && p.Type == opayo.TransactionDeferred && p.StatusCode != "2004" {
		return OpayoStatusDeferred
	}
	return string(p.Status)
}

// opayoNotificationStatus is the OpayoStatus of a Server notification's Status, "" when unknown.
func opayoNotificationStatus(n opayo.Notification) string {
	switch strings.ToUpper(strings.TrimSpace(n.Status)) {
	case "OK":
		if strings.EqualFold(n.TxType, string(opayo.ServerDeferred)) {
			return OpayoStatusDeferred
		}
		return OpayoStatusOk
	case "AUTHENTICATED":
		return OpayoStatusAuthenticated
	case "REGISTERED":
		return OpayoStatusRegistered
	case "NOTAUTHED":
		return OpayoStatusNotAuthed
	case "REJECTED":
		return OpayoStatusRejected
	case "ABORT": // the shopper cancelled on the payment pages: txstateid 11
		return OpayoStatusCancelled
	case "ERROR":
		return OpayoStatusError
	case "PENDING":
		return OpayoStatusPending
	}
	return ""
}

// opayoKind is the payment kind of an Opayo transaction type (Reporting or Pi spelling).
func opayoKind(transactionType string) (string, bool) {
	switch t := strings.ToLower(strings.TrimSpace(transactionType)); {
	case t == "payment" || t == "repeat" || t == "authorise" || t == "manual":
		return KindSale, true
	case t == "deferred" || t == "repeatdeferred" || t == "authenticate":
		return KindAuthorization, true
	case t == "refund":
		return KindRefund, true
	case strings.Contains(t, "void"):
		return KindVoid, true
	}
	return "", false
}

// opayoTransactionID normalises a VPSTxId or Pi transactionId to the stored form (upper case,
// no braces); ok is false for anything that cannot be one (Opayo's ids are GUID-shaped).
func opayoTransactionID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		s = s[1 : len(s)-1]
	}
	if s == "" || len(s) > 64 {
		return "", false
	}
	for _, c := range s {
		if !(c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return "", false
		}
	}
	return strings.ToUpper(s), true
}

// opayoCardBrand names a Reporting paymentsystem code as Pi's cardType does.
func opayoCardBrand(code string) string {
	switch strings.ToUpper(strings.TrimSpace(code)) {
	case "VISA":
		return "Visa"
	case "DELTA":
		return "VisaDebit"
	case "UKE":
		return "VisaElectron"
	case "MC":
		return "MasterCard"
	case "MCDEBIT":
		return "DebitMasterCard"
	case "MAESTRO":
		return "Maestro"
	case "AMEX":
		return "AmericanExpress"
	case "DC":
		return "Discover"
	case "JCB":
		return "JCB"
	}
	return code
}

// opayoCheckPart writes a Reporting AVS/CV2 part (MATCHED, NOTMATCHED, …) in Pi's words.
func opayoCheckPart(s string) string {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "":
		return ""
	case "MATCHED":
		return "Matched"
	case "NOTMATCHED":
		return "NotMatched"
	case "NOTPROVIDED":
		return "NotProvided"
	case "NOTCHECKED":
		return "NotChecked"
	}
	return s
}

// opayoAVS is AVSResult: the address and postcode parts in Pi's words, "address/postcode".
func opayoAVS(address, postcode string) string {
	if address == "" && postcode == "" {
		return ""
	}
	return address + "/" + postcode
}

// opayoT3MScore reads Reporting's t3mscore (the ReD/T3M fraud screening score) as RiskScore; nil
// when there is none. A fractional score is rounded.
func opayoT3MScore(s string) *int {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		return &n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1e9 {
		n := int(math.Round(f))
		return &n
	}
	return nil
}

// opayoT3MDecision reads Reporting's t3maction as RiskDecision: OK accept, HOLD review, REJECT
// reject; NORESULT (no screening result) or none leaves it empty.
func opayoT3MDecision(action string) string {
	switch strings.ToUpper(strings.TrimSpace(action)) {
	case "OK":
		return "accept"
	case "HOLD":
		return "review"
	case "REJECT":
		return "reject"
	}
	return ""
}

// opayoT3MReasons names the screening's action behind a hold or rejection (Reporting gives no
// rule names).
func opayoT3MReasons(action string) []string {
	switch a := strings.ToUpper(strings.TrimSpace(action)); a {
	case "HOLD", "REJECT":
		return []string{"T3M action " + a}
	}
	return nil
}

// opayo3DS writes a Reporting threedresult in Pi's 3DSecure.status words.
func opayo3DS(s string) string {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "":
		return ""
	case "OK":
		return "Authenticated"
	case "NOTAUTHED":
		return "NotAuthenticated"
	case "ERROR":
		return "Error"
	case "NOAUTH":
		return "CardNotEnrolled"
	case "CANTAUTH":
		return "IssuerNotEnrolled"
	case "ATTEMPTONLY":
		return "AttemptOnly"
	case "INCOMPLETE":
		return "Incomplete"
	case "NOTCHECKED":
		return "NotChecked"
	case "MALFORMED", "INVALID":
		return "MalformedOrInvalid"
	}
	return s
}

func opayoAddress(a opayo.ContactAddress) Address {
	return Address{
		Line1: a.Address, Line2: a.Address2, City: a.City, Region: a.State, PostalCode: a.Postcode,
		Country: a.Country, Name: strings.TrimSpace(a.FirstNames + " " + a.Surname),
	}
}

// opayoExpiry reads an MMYY expiry as month and four-digit year; zeros when unreadable.
func opayoExpiry(mmyy string) (month, year int) {
	mmyy = strings.TrimSpace(mmyy)
	if len(mmyy) != 4 {
		return 0, 0
	}
	m, err1 := strconv.Atoi(mmyy[:2])
	y, err2 := strconv.Atoi(mmyy[2:])
	if err1 != nil || err2 != nil || m < 1 || m > 12 || y < 0 {
		return 0, 0
	}
	return m, 2000 + y
}

// opayoLastFour keeps s only when it is four digits, as payments.card_last_four requires.
func opayoLastFour(s string) string {
	s = strings.TrimSpace(s)
	if len(s) != 4 || strings.Trim(s, "0123456789") != "" {
		return ""
	}
	return s
}

// opayoSplitStatusDetail splits a form-protocol StatusDetail "NNNN : text" into code and text.
func opayoSplitStatusDetail(s string) (code, text string) {
	s = strings.TrimSpace(s)
	if c, t, ok := strings.Cut(s, ":"); ok {
		c = strings.TrimSpace(c)
		if len(c) == 4 && strings.Trim(c, "0123456789") == "" {
			return c, strings.TrimSpace(t)
		}
	}
	return "", s
}
