package cybersourcesim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Webhook event types the simulator sends (protocol doc §6, §7).
const (
	EventAuthorizationAccepted = "payments.authorization.status.accepted"
	EventAuthorizationReviewed = "payments.authorization.status.reviewed"
	EventAuthorizationRejected = "payments.authorization.status.rejected"
	EventCaptureAccepted       = "payments.capture.status.accepted"
	EventCaptureUpdated        = "payments.capture.status.updated"
	EventRefundAccepted        = "payments.refund.status.accepted"
	EventRefundUpdated         = "payments.refund.status.updated"
	EventCreditAccepted        = "payments.credit.status.accepted"
	EventCreditUpdated         = "payments.credit.status.updated"
	EventVoidAccepted          = "payments.void.status.accepted"
	EventReversalAccepted      = "payments.reversal.status.accepted"
	EventDecisionAccept        = "risk.casemanagement.decision.accept"
	EventDecisionReject        = "risk.casemanagement.decision.reject"
)

// Product ids of the v-c-product-name header and the body's productId.
const (
	ProductPayments        = "payments"
	ProductDecisionManager = "decisionManager"
)

// Webhook headers (protocol doc §7).
const (
	HeaderSignature          = "v-c-signature"
	HeaderEventType          = "v-c-event-type"
	HeaderOrganizationID     = "v-c-organization-id"
	HeaderProductName        = "v-c-product-name"
	HeaderRequestType        = "v-c-request-type"
	HeaderRetryCount         = "v-c-retry-count"
	HeaderTransactionTraceID = "v-c-transaction-trace-id"
	HeaderWebhookID          = "v-c-webhook-id"
)

// Delivery statuses of a notification.
const (
	DeliveryPending   = "PENDING"   // not attempted yet
	DeliveryRetrying  = "RETRYING"  // failed, a retry is scheduled
	DeliveryDelivered = "DELIVERED" // a 2xx answered
	DeliveryFailed    = "FAILED"    // every attempt failed
)

// RetryPolicy is the ARITHMETIC retry schedule of a webhook subscription: after the first
// attempt fails, retry n (1..Count) is due First + Interval*(n-1) after that first attempt, by the
// simulator clock. The zero value means DefaultRetryPolicy; a non-zero policy with Count 0 never
// retries.
type RetryPolicy struct {
	First, Interval time.Duration
	Count           int
}

// Cybersource's default retry policy: ARITHMETIC, first retry after 1 minute, then every minute,
// 3 retries.
const (
	RetryFirstDefault    = time.Minute
	RetryIntervalDefault = time.Minute
	RetryCountDefault    = 3
)

// DefaultRetryPolicy returns Cybersource's default retry policy.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{First: RetryFirstDefault, Interval: RetryIntervalDefault, Count: RetryCountDefault}
}

// Due returns when retry n (1-based) is due, counted from the first attempt.
func (p RetryPolicy) Due(n int) time.Duration { return p.First + p.Interval*time.Duration(n-1) }

// WebhookDelivery is one notification and every attempt to deliver it.
type WebhookDelivery struct {
	// NotificationID is the same on every attempt of one notification, so a receiver can
	// de-duplicate (the body's notificationId).
	NotificationID string     `json:"notificationId"`
	EventType      string     `json:"eventType"`
	ProductID      string     `json:"productId"`
	TransactionID  string     `json:"transactionId"`
	CreatedAt      time.Time  `json:"createdAt"`
	Status         string     `json:"status"`
	NextAttemptAt  *time.Time `json:"nextAttemptAt,omitempty"`
	// Payload is the body's payload object.
	Payload  json.RawMessage  `json:"payload"`
	Attempts []WebhookAttempt `json:"attempts"`
}

// WebhookAttempt is one POST of a notification.
type WebhookAttempt struct {
	// Number is 0 for the first attempt (request type NEW) and n for retry n (RETRY).
	Number             int       `json:"number"`
	RequestType        string    `json:"requestType"`
	TransactionTraceID string    `json:"transactionTraceId"`
	At                 time.Time `json:"at"`
	// ResponseCode is the receiver's HTTP status, 0 when it did not answer in time.
	ResponseCode int    `json:"responseCode"`
	Error        string `json:"error,omitempty"`
	Signature    string `json:"signature"`
}

// notification is a webhook waiting for, or done with, delivery. The Server's mutex guards it.
type notification struct {
	id            string
	eventType     string
	productID     string
	transactionID string
	data          obj
	createdAt     time.Time
	firstAttempt  time.Time
	nextAt        time.Time
	status        string
	attempts      []WebhookAttempt
}

func (n *notification) snapshot() WebhookDelivery {
	payload, _ := json.Marshal(n.data)
	d := WebhookDelivery{NotificationID: n.id, EventType: n.eventType, ProductID: n.productID,
		TransactionID: n.transactionID, CreatedAt: n.createdAt, Status: n.status,
		Payload: payload, Attempts: slices.Clone(n.attempts)}
	if d.Attempts == nil {
		d.Attempts = []WebhookAttempt{}
	}
	if n.status == DeliveryPending || n.status == DeliveryRetrying {
		at := n.nextAt
		d.NextAttemptAt = &at
	}
	return d
}

// notify queues a payments event about t. The caller holds s.mu.
func (s *Server) notify(eventType string, t *Transaction) {
	s.enqueue(eventType, ProductPayments, t.ID, s.paymentEventData(t))
}

// enqueue records a notification and wakes the dispatcher. Nothing is recorded when no
// WebhookURL is configured. The caller holds s.mu.
func (s *Server) enqueue(eventType, productID, transactionID string, data obj) {
	if s.opts.WebhookURL == "" {
		return
	}
	now := s.clock.Now()
	n := &notification{id: s.newUUID(), eventType: eventType, productID: productID, transactionID: transactionID,
		data: data, createdAt: now, nextAt: now, status: DeliveryPending}
	s.state.notifications = append(s.state.notifications, n)
	s.hooks.wake()
}

// paymentEventData is payload.data of a payments event: the transaction's resource.
func (s *Server) paymentEventData(t *Transaction) obj {
	links := obj{"self": link(http.MethodGet, selfPath(t)), "transactionDetails": link(http.MethodGet, "/tss/v2/transactions/"+t.ID)}
	if p := s.state.txns[t.ParentID]; p != nil && t.ParentID != t.ID {
		links["parent"] = link(http.MethodGet, selfPath(p))
	}
	d := obj{
		"_links":                     links,
		"id":                         t.ID,
		"type":                       resourceType(t.Kind),
		"version":                    "1.0",
		"status":                     t.Status,
		"rootId":                     t.RootID,
		"submitTimeUtc":              utcStamp(t.SubmitTime),
		"clientReferenceInformation": clientReference(t),
		"orderInformation":           obj{"amountDetails": obj{"totalAmount": money(t.Amount, t.Currency), "currency": t.Currency}},
	}
	if t.SettlementStatus != "" {
		d["settlementStatus"] = t.SettlementStatus
	}
	if t.BatchID != "" {
		d["batchId"], d["batchDate"] = t.BatchID, t.BatchDate
	}
	if t.Reason != "" {
		d["errorInformation"] = obj{"reason": t.Reason, "message": reasonMessages[t.Reason]}
	}
	if ri := riskInformation(t); ri != nil {
		d["riskInformation"] = ri
	}
	return d
}

// resourceType names the REST resource of a kind, as payload.data.type.
func resourceType(k Kind) string {
	switch k {
	case KindCapture:
		return "captures"
	case KindRefund:
		return "refunds"
	case KindCredit:
		return "credits"
	case KindVoid:
		return "voids"
	case KindReversal:
		return "reversals"
	}
	return "payments"
}

// SignWebhook returns the v-c-signature header value for body sent at t with the base64 key:
// t=<epoch ms>;keyId=<keyID>;sig=<base64 HMAC-SHA256(b64decode(key), t + "." + body)>.
func SignWebhook(keyID, key string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.UnixMilli(), 10)
	msg := append([]byte(ts+"."), body...)
	return "t=" + ts + ";keyId=" + keyID + ";sig=" + base64.StdEncoding.EncodeToString(hmacSHA256(decodeSecret(key), msg))
}

// webhookDispatcher delivers notifications one at a time, oldest due first, on its own goroutine.
type webhookDispatcher struct {
	s       *Server
	client  *http.Client
	wakeCh  chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	started bool
	once    sync.Once
}

func newWebhookDispatcher(s *Server) *webhookDispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	d := &webhookDispatcher{s: s, client: &http.Client{Timeout: s.opts.WebhookTimeout},
		wakeCh: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	if s.opts.WebhookURL != "" {
		d.started = true
		go d.run()
	}
	return d
}

// wake makes the dispatcher look again for due notifications.
func (d *webhookDispatcher) wake() {
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

// close stops the dispatcher and waits for it.
func (d *webhookDispatcher) close() {
	d.once.Do(func() {
		d.cancel()
		if d.started {
			<-d.done
		}
	})
}

func (d *webhookDispatcher) run() {
	defer close(d.done)
	for d.ctx.Err() == nil {
		n, wait := d.next()
		if n != nil && wait <= 0 {
			d.attempt(n)
			continue
		}
		var timer *time.Timer
		var due <-chan time.Time
		if n != nil {
			// The simulator clock runs at real speed, so the real wait is the simulated one; an
			// Advance in between wakes the loop early.
			timer = time.NewTimer(wait)
			due = timer.C
		}
		select {
		case <-d.ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-d.wakeCh:
		case <-due:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// next returns the notification due soonest and how long until it is due.
func (d *webhookDispatcher) next() (*notification, time.Duration) {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *notification
	for _, n := range s.state.notifications {
		if (n.status == DeliveryPending || n.status == DeliveryRetrying) && (best == nil || n.nextAt.Before(best.nextAt)) {
			best = n
		}
	}
	if best == nil {
		return nil, 0
	}
	return best, best.nextAt.Sub(s.clock.Now())
}

// envelope is the webhook body (protocol doc §7).
type envelope struct {
	EventType          string `json:"eventType"`
	WebhookID          string `json:"webhookId"`
	ProductID          string `json:"productId"`
	OrganizationID     string `json:"organizationId"`
	EventDate          string `json:"eventDate"`
	TransactionTraceID string `json:"transactionTraceId"`
	RetryNumber        int    `json:"retryNumber"`
	RequestType        string `json:"requestType"`
	NotificationID     string `json:"notificationId"`
	Payload            struct {
		Data           obj    `json:"data"`
		OrganizationID string `json:"organizationId"`
	} `json:"payload"`
}

// attempt POSTs n once and records the outcome.
func (d *webhookDispatcher) attempt(n *notification) {
	s := d.s
	s.mu.Lock()
	number := len(n.attempts)
	at := s.clock.Now()
	if number == 0 {
		n.firstAttempt = at
	}
	requestType := "NEW"
	if number > 0 {
		requestType = "RETRY"
	}
	env := envelope{EventType: n.eventType, WebhookID: s.webhookID, ProductID: n.productID,
		OrganizationID: s.opts.MerchantID, EventDate: n.createdAt.UTC().Format("2006-01-02T15:04:05"),
		TransactionTraceID: s.newUUID(), RetryNumber: number, RequestType: requestType, NotificationID: n.id}
	env.Payload.Data = n.data
	env.Payload.OrganizationID = s.opts.MerchantID
	body, err := json.Marshal(env)
	s.mu.Unlock()
	if err != nil {
		body = []byte("{}")
	}

	// The signature's t is the wall-clock time of sending, which a receiver compares with its own
	// clock; eventDate and the attempt record use the simulator clock.
	sig := SignWebhook(s.opts.WebhookKeyID, s.opts.WebhookKey, time.Now(), body)
	rec := WebhookAttempt{Number: number, RequestType: requestType, TransactionTraceID: env.TransactionTraceID, At: at, Signature: sig}
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, s.opts.WebhookURL, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderSignature, sig)
		req.Header.Set(HeaderEventType, n.eventType)
		req.Header.Set(HeaderOrganizationID, s.opts.MerchantID)
		req.Header.Set(HeaderProductName, n.productID)
		req.Header.Set(HeaderRequestType, requestType)
		req.Header.Set(HeaderRetryCount, strconv.Itoa(number))
		req.Header.Set(HeaderTransactionTraceID, env.TransactionTraceID)
		req.Header.Set(HeaderWebhookID, s.webhookID)
		var resp *http.Response
		resp, err = d.client.Do(req)
		if err == nil {
			rec.ResponseCode = resp.StatusCode
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			_ = resp.Body.Close()
		}
	}
	if d.ctx.Err() != nil {
		return // closed while sending: the attempt does not count
	}
	if err != nil {
		rec.Error = err.Error()
	} else if rec.ResponseCode < 200 || rec.ResponseCode > 299 {
		rec.Error = fmt.Sprintf("receiver answered %d", rec.ResponseCode)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	n.attempts = append(n.attempts, rec)
	policy := s.opts.WebhookRetry
	switch {
	case rec.Error == "":
		n.status = DeliveryDelivered
	case number < policy.Count:
		n.status = DeliveryRetrying
		n.nextAt = n.firstAttempt.Add(policy.Due(number + 1))
	default:
		n.status = DeliveryFailed
	}
}

// VerifyWebhookSignature checks a v-c-signature header against body with the base64 key and
// returns the signed time. It is the receiver's side of SignWebhook, for tests and the sandbox.
func VerifyWebhookSignature(header, keyID, key string, body []byte) (time.Time, error) {
	var ts, kid, sig string
	for _, part := range strings.Split(header, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "keyId":
			kid = v
		case "sig":
			sig = v
		}
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("v-c-signature: bad t %q", ts)
	}
	if kid != keyID {
		return time.Time{}, fmt.Errorf("v-c-signature: unknown keyId %q", kid)
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	want := hmacSHA256(decodeSecret(key), append([]byte(ts+"."), body...))
	if err != nil || !hmac.Equal(got, want) {
		return time.Time{}, fmt.Errorf("v-c-signature: signature does not match")
	}
	return time.UnixMilli(ms), nil
}
