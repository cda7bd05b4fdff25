package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/db"
)

// Limits of webhook intake.
const (
	// WebhookBodyLimit is the largest webhook body accepted; gateway notifications are a few KB.
	WebhookBodyLimit = 1 << 20
	// WebhookToleranceDefault is how far a Cybersource signature's timestamp may be from now.
	WebhookToleranceDefault = 5 * time.Minute
)

// Signature verdicts stored on inbound messages.
const (
	SignatureValid        = "valid"
	SignatureInvalid      = "invalid"
	SignatureMissing      = "missing"
	SignatureExpired      = "expired"
	SignatureUnverifiable = "unverifiable"
)

// normaliseInboundArgs is the job that turns a verified inbound message into canonical rows.
type normaliseInboundArgs struct {
	MessageID int64 `json:"messageId"`
}

func (normaliseInboundArgs) Kind() string { return "normalise_inbound" }

func (normaliseInboundArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// CybersourceWebhooks receives Cybersource webhooks (POST /webhooks/cybersource).
type CybersourceWebhooks struct {
	Engine *Engine
	// Keys verify v-c-signature; several at once while a key is rotated.
	Keys []cybersource.WebhookKey
	// Tolerance bounds the signature timestamp's distance from now; zero is WebhookToleranceDefault.
	Tolerance time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// intakeOutcome is what became of one delivery.
type intakeOutcome struct {
	status    int
	verdict   string
	duplicate bool
	messageID int64
	err       error
}

// ServeHTTP verifies, stores and acknowledges one delivery. Every delivery is stored, valid or
// not (card numbers masked); only a verified one is queued for normalisation, in the same
// transaction; a redelivery of a stored event is acknowledged and changes nothing.
func (h *CybersourceWebhooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, WebhookBodyLimit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeIntake(w, http.StatusRequestEntityTooLarge, map[string]any{"error": fmt.Sprintf("body larger than %d bytes", WebhookBodyLimit)})
			return
		}
		writeIntake(w, http.StatusBadRequest, map[string]any{"error": "could not read the body"})
		return
	}
	out := h.receive(r.Context(), r.Header, body)
	if out.err != nil && out.messageID == 0 {
		h.Engine.log.Error("webhook intake failed", "source", "cybersource", "error", out.err)
		writeIntake(w, http.StatusInternalServerError, map[string]any{"error": "could not record the webhook; retry"})
		return
	}
	resp := map[string]any{"signature": out.verdict, "duplicate": out.duplicate}
	if out.messageID != 0 {
		resp["messageId"] = out.messageID
	}
	if out.err != nil {
		resp["error"] = out.err.Error()
	}
	writeIntake(w, out.status, resp)
}

func (h *CybersourceWebhooks) receive(ctx context.Context, header http.Header, body []byte) intakeOutcome {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	tolerance := h.Tolerance
	if tolerance == 0 {
		tolerance = WebhookToleranceDefault
	}
	out := intakeOutcome{status: http.StatusOK, verdict: SignatureValid}
	verr := cybersource.VerifyWebhook(header.Get("v-c-signature"), body, h.Keys, now(), tolerance)
	switch {
	case verr == nil:
	case errors.Is(verr, cybersource.ErrNotSigned):
		out.verdict, out.status, out.err = SignatureMissing, http.StatusUnauthorized, verr
	case errors.Is(verr, cybersource.ErrTimestampOutsideTolerance):
		out.verdict, out.status, out.err = SignatureExpired, http.StatusUnauthorized, verr
	default:
		out.verdict, out.status, out.err = SignatureInvalid, http.StatusUnauthorized, verr
	}
	// Only a verified message is read, and only it may claim its event id: a forged one must
	// never block the real delivery of the same event.
	var eventID *string
	var n *cybersource.Notification
	if out.err == nil {
		var perr error
		if n, perr = cybersource.ParseNotification(body); perr != nil {
			out.status, out.err = http.StatusBadRequest, perr
		} else {
			eventID = &n.ID
		}
	}
	status := "received"
	var errText *string
	if out.err != nil {
		status = "rejected"
		s := out.err.Error()
		errText = &s
	}
	headers, _ := json.Marshal(keptHeaders(header))
	err := h.Engine.inTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		msg, err := q.RecordInboundMessage(ctx, db.RecordInboundMessageParams{
			Source: "cybersource", ExternalEventID: eventID, ContentType: header.Get("Content-Type"),
			Headers: headers, Body: redactCardNumbers(string(body)), SignatureStatus: out.verdict,
			Status: status, Error: errText,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			out.duplicate = true
			return nil
		}
		if err != nil {
			return err
		}
		out.messageID = msg.ID
		if status != "received" {
			return nil
		}
		if _, err := h.Engine.river.InsertTx(ctx, tx, normaliseInboundArgs{MessageID: msg.ID}, nil); err != nil {
			return err
		}
		return appendEvent(ctx, q, TopicPayment, "webhook.received", "inbound_message", msg.ID, map[string]any{
			"source": GatewayCybersource, "gateway": GatewayCybersource, "eventType": n.EventType, "messageId": msg.ID,
		})
	})
	if err != nil {
		out.err, out.messageID = fmt.Errorf("sync: record cybersource webhook: %w", err), 0
	} else {
		h.Engine.observeInbound("cybersource", out.verdict, out.duplicate)
	}
	return out
}

// keptHeaders are the delivery headers worth keeping with a message (none carry a secret).
func keptHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for _, k := range []string{"Content-Type", "V-C-Signature", "V-C-Event-Type", "V-C-Request-Type", "V-C-Retry-Count",
		"V-C-Transaction-Trace-Id", "V-C-Webhook-Id", "V-C-Organization-Id", "V-C-Product-Name", "User-Agent"} {
		if v := h.Get(k); v != "" {
			out[k] = v
		}
	}
	return out
}

func writeIntake(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck
}
