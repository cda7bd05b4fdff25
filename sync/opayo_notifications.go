package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/db"
)

// OpayoKeyLookupTimeout bounds the Reporting call that fetches a notification's SecurityKey, so
// the reply reaches Opayo before it gives up on the POST (the simulator waits 10 s).
const OpayoKeyLookupTimeout = 5 * time.Second

// OpayoNotifications receives Opayo Server-protocol notifications (POST /webhooks/opayo,
// opayo.md §4.1). Each one is verified against its transaction's SecurityKey, which is fetched
// from Reporting getTransactionDetail on every notification (nothing is cached, and the key is
// never logged or stored), then stored with its verdict, and answered in the protocol's format:
// "Status=OK|INVALID|ERROR\r\nRedirectURL=…\r\nStatusDetail=…\r\n".
//
// Opayo acts on the reply, so each case gets the one that keeps money and records consistent:
//
//	delivery                                       stored as                  queued              reply
//	verified                                       valid, received            normalise_inbound   OK
//	verified, already stored (same VPSTxId+Status) nothing new                nothing             OK (same reply)
//	VPSSignature does not match                    invalid, rejected          nothing             INVALID
//	no VPSSignature                                missing, rejected          nothing             INVALID
//	key unavailable (Reporting down or unaware)    unverifiable, rejected     fetch_transaction   OK
//	Opayo not configured in this hub               unverifiable, rejected     nothing             ERROR
//	not a notification (no VPSTxId/Status, …)      missing|unverifiable, rej. nothing             HTTP 400, text
//	the database fails                             nothing                    nothing             ERROR
//
// Why: OK accepts the outcome and is the only reply under which Opayo keeps an authorised
// payment; INVALID and ERROR make Opayo cancel it, and so does a missing reply once its retries
// run out. A notification whose signature is wrong is either forged (the reply then goes to the
// forger and changes nothing at Opayo) or Opayo's own that Payhub cannot trust (cancelling is
// right: no money is taken that Payhub has not accepted), hence INVALID. When the key cannot be
// fetched the message proves nothing and is never applied, but a real payment must not be
// cancelled for a Reporting outage: the reply is OK and the transaction's state is pulled later
// from Reporting or Pi, whose answers are authenticated (fetch_transaction). When the database
// fails Payhub cannot record the outcome; the documented answer for "the vendor failed" is ERROR,
// which cancels the transaction rather than leave a payment taken that Payhub does not know, and
// sends the shopper to a page that says so at once (an HTTP 500 would leave the shopper on
// Opayo's error page while the POST is retried). Without an Opayo client the state could never be
// pulled, so an unverifiable message is answered ERROR for the same reason.
type OpayoNotifications struct {
	Engine *Engine
	// RedirectURL is where Opayo sends the shopper next: an absolute http(s) URL to which the
	// handler adds the query parameters vendorTxCode and status. status is the notification's
	// Status (OK, NOTAUTHED, ABORT, …) when Payhub replied OK, else Payhub's reply (INVALID or
	// ERROR), after which Opayo cancels the transaction. The page must not take status as proof
	// of payment: an unverifiable notification is answered OK too; ask Payhub for the payment.
	RedirectURL string
	// Vendor is the Opayo vendor name that VPSSignature hashes; empty takes the Opayo client's
	// (opayo.Client.Vendor).
	Vendor string
}

// opayoIntake is what became of one notification.
type opayoIntake struct {
	// reply is the protocol answer; nil for a delivery that is not a notification.
	reply     *opayo.Reply
	status    int    // the HTTP status of a non-protocol answer
	text      string // the text of a non-protocol answer
	verdict   string
	duplicate bool
	messageID int64
}

// ServeHTTP verifies, stores and answers one notification (see OpayoNotifications).
func (h *OpayoNotifications) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Opayo notifications are POSTed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, WebhookBodyLimit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, fmt.Sprintf("body larger than %d bytes", WebhookBodyLimit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the body", http.StatusBadRequest)
		return
	}
	out := h.receive(r.Context(), r.Header, body)
	if out.reply == nil {
		http.Error(w, out.text, out.status)
		return
	}
	if err := opayo.WriteNotificationReply(w, *out.reply); err != nil {
		// Only a misconfigured RedirectURL gets here: Opayo retries, then cancels the transaction.
		h.Engine.log.Error("opayo notification reply refused", "error", err, "messageId", out.messageID)
		http.Error(w, "the notification reply could not be written; check RedirectURL", http.StatusInternalServerError)
	}
}

func (h *OpayoNotifications) receive(ctx context.Context, header http.Header, body []byte) opayoIntake {
	e := h.Engine
	n, err := opayo.ParseNotificationBody(body)
	id, idOK := opayoTransactionID(n.VPSTxID)
	if err == nil && !idOK {
		err = fmt.Errorf("%w: VPSTxId is not an Opayo transaction id", opayo.ErrMalformedNotification)
	}
	if err != nil {
		out := opayoIntake{status: http.StatusBadRequest, text: "not an Opayo Server notification: " + err.Error(),
			verdict: SignatureMissing}
		if form, ferr := url.ParseQuery(string(body)); ferr == nil && strings.TrimSpace(form.Get("VPSSignature")) != "" {
			out.verdict = SignatureUnverifiable
		}
		if _, rerr := h.record(ctx, header, body, out.verdict, nil, err, nil); rerr != nil {
			e.log.Error("opayo notification intake failed", "error", rerr)
			return opayoIntake{status: http.StatusInternalServerError, text: "could not record the request; retry"}
		}
		e.observeInbound(GatewayOpayo, out.verdict, false)
		return out
	}

	verdict, verr := h.verify(ctx, n, id)
	out := opayoIntake{verdict: verdict}
	var eventID *string
	replyStatus, detail := opayo.ReplyOK, ""
	var then recordThen
	switch {
	case verdict == SignatureValid:
		key := id + ":" + strings.ToUpper(strings.TrimSpace(n.Status))
		eventID = &key
		detail = "Notification received."
		then = func(ctx context.Context, tx pgx.Tx, q *db.Queries, msg db.InboundMessage) error {
			if _, err := e.river.InsertTx(ctx, tx, normaliseInboundArgs{MessageID: msg.ID}, nil); err != nil {
				return err
			}
			return appendEvent(ctx, q, TopicPayment, "webhook.received", "inbound_message", msg.ID, map[string]any{
				"source": GatewayOpayo, "gateway": GatewayOpayo, "eventType": "server.notification", "status": n.Status,
				"transactionId": id, "messageId": msg.ID,
			})
		}
	case verdict == SignatureUnverifiable && e.cfg.Opayo != nil:
		e.log.Warn("opayo notification could not be verified; pulling the transaction instead", "transactionId", id, "error", verr)
		detail = "Notification received; the outcome will be confirmed with Opayo."
		then = func(ctx context.Context, tx pgx.Tx, _ *db.Queries, _ db.InboundMessage) error {
			return e.EnqueueFetchTx(ctx, tx, GatewayOpayo, id)
		}
	case verdict == SignatureUnverifiable:
		e.log.Error("opayo notification received but Opayo is not configured here", "transactionId", id)
		replyStatus, detail = opayo.ReplyError, "The notification cannot be checked here."
	case verdict == SignatureMissing:
		e.log.Warn("opayo notification without VPSSignature", "transactionId", id)
		replyStatus, detail = opayo.ReplyInvalid, "The notification is not signed."
	default:
		e.log.Warn("opayo notification signature does not match", "transactionId", id, "error", verr)
		replyStatus, detail = opayo.ReplyInvalid, "The notification signature does not match."
	}
	msg, err := h.record(ctx, header, body, verdict, eventID, verr, then)
	switch {
	case errors.Is(err, errDuplicateMessage):
		out.duplicate = true
		e.observeInbound(GatewayOpayo, verdict, true)
	case err != nil:
		e.log.Error("opayo notification intake failed", "transactionId", id, "error", err)
		replyStatus, detail = opayo.ReplyError, "The notification could not be recorded."
	default:
		out.messageID = msg.ID
		e.observeInbound(GatewayOpayo, verdict, false)
	}
	redirectStatus := n.Status
	if replyStatus != opayo.ReplyOK {
		redirectStatus = string(replyStatus)
	}
	out.reply = &opayo.Reply{Status: replyStatus, RedirectURL: h.redirectURL(n.VendorTxCode, redirectStatus), StatusDetail: detail}
	return out
}

// errDuplicateMessage is record's answer for a verified message already stored.
var errDuplicateMessage = errors.New("sync: message already recorded")

// verify fetches the transaction's SecurityKey from Reporting and checks VPSSignature with it;
// the error says why a notification is not valid.
func (h *OpayoNotifications) verify(ctx context.Context, n opayo.Notification, id string) (string, error) {
	e := h.Engine
	if strings.TrimSpace(n.VPSSignature) == "" {
		return SignatureMissing, opayo.ErrNotSigned
	}
	if e.cfg.Opayo == nil {
		return SignatureUnverifiable, errors.New("sync: opayo is not configured here")
	}
	vendor := h.Vendor
	if vendor == "" {
		if v, ok := e.cfg.Opayo.(interface{ Vendor() string }); ok {
			vendor = v.Vendor()
		}
	}
	if vendor == "" {
		return SignatureUnverifiable, errors.New("sync: the Opayo vendor name is not configured")
	}
	lctx, cancel := context.WithTimeout(ctx, OpayoKeyLookupTimeout)
	defer cancel()
	d, err := e.cfg.Opayo.GetTransactionDetail(lctx, opayo.ByVPSTxID("{"+id+"}"))
	if err != nil {
		return SignatureUnverifiable, fmt.Errorf("sync: security key of opayo %s: %w", id, err)
	}
	if d.SecurityKey.IsZero() {
		return SignatureUnverifiable, fmt.Errorf("sync: Reporting gave no security key for opayo %s", id)
	}
	switch err := n.Verify(string(d.SecurityKey), vendor); {
	case err == nil:
		return SignatureValid, nil
	case errors.Is(err, opayo.ErrNotSigned):
		return SignatureMissing, err
	default:
		return SignatureInvalid, err
	}
}

// recordThen is what record does with a stored message in the same transaction.
type recordThen func(ctx context.Context, tx pgx.Tx, q *db.Queries, msg db.InboundMessage) error

// record stores one delivery (card numbers masked) and, in the same transaction, runs then. Only
// a valid message is "received" (to be normalised) and claims its external event id; a valid
// message already stored is errDuplicateMessage and changes nothing.
func (h *OpayoNotifications) record(ctx context.Context, header http.Header, body []byte, verdict string, eventID *string,
	cause error, then recordThen) (db.InboundMessage, error) {
	status := "received"
	var errText *string
	if verdict != SignatureValid || cause != nil {
		status = "rejected"
		text := "not verified"
		if cause != nil {
			text = cause.Error()
		}
		errText = &text
	}
	if status != "received" {
		eventID = nil
	}
	headers, _ := json.Marshal(keptHeaders(header))
	var msg db.InboundMessage
	err := h.Engine.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		var err error
		msg, err = q.RecordInboundMessage(ctx, db.RecordInboundMessageParams{
			Source: GatewayOpayo, ExternalEventID: eventID, ContentType: header.Get("Content-Type"),
			Headers: headers, Body: redactCardNumbers(string(body)), SignatureStatus: verdict,
			Status: status, Error: errText,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return errDuplicateMessage
		}
		if err != nil {
			return fmt.Errorf("sync: record opayo notification: %w", err)
		}
		if then == nil {
			return nil
		}
		return then(ctx, tx, q, msg)
	})
	return msg, err
}

// redirectURL adds vendorTxCode and status to RedirectURL.
func (h *OpayoNotifications) redirectURL(vendorTxCode, status string) string {
	u, err := url.Parse(h.RedirectURL)
	if err != nil || h.RedirectURL == "" {
		return h.RedirectURL
	}
	q := u.Query()
	q.Set("vendorTxCode", vendorTxCode)
	q.Set("status", status)
	u.RawQuery = q.Encode()
	return u.String()
}
