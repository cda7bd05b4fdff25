package opayosim

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Notification delivery states, as State() reports them.
const (
	DeliveryPending   = "pending"   // the first attempt or a retry is still to come
	DeliveryDelivered = "delivered" // the vendor answered with a parseable Status= reply
	DeliveryFailed    = "failed"    // every attempt failed; the transaction was cancelled
)

// maxReplyRecorded bounds how much of a vendor's reply State() keeps.
const maxReplyRecorded = 2048

// delivery is the notification POST of one Server-protocol transaction and its attempts.
type delivery struct {
	txID         string
	url          string
	fields       [][2]string // as posted, VPSSignature included
	outcomeState int         // the txstateid the transaction takes once the vendor says OK
	holdsFunds   bool        // a failed or refused notification cancels the transaction
	attempts     []NotificationAttempt
	state        string
	nextAt       time.Time
	inFlight     bool
	accepted     bool
	replyStatus  string
	redirectURL  string
}

// formStatus is the form-protocol Status of a finished transaction.
func formStatus(t *transaction) string {
	switch t.txState {
	case txStateAuthorised, txStateDeferred:
		return "OK"
	case txStateAuthenticated:
		return "AUTHENTICATED"
	case txStateRegistered:
		return "REGISTERED"
	case txStateDeclined:
		return "NOTAUTHED"
	case txStateRejected:
		return "REJECTED"
	case txStateCustomerAborted:
		return "ABORT"
	}
	return "ERROR"
}

// newDelivery builds the notification of a transaction the shopper just finished and parks the
// transaction in txstateid 7 until the vendor answers. The caller holds s.mu; the returned delivery
// is marked in flight for the caller's first attempt.
func (s *Server) newDelivery(t *transaction, now time.Time) *delivery {
	reg := t.server
	status := formStatus(t)
	f := [][2]string{
		{"VPSProtocol", reg.protocol},
		{"TxType", reg.txType},
		{"VendorTxCode", t.vendorTxCode},
		{"VPSTxId", braced(t.id)},
		{"Status", status},
		{"StatusDetail", t.statusCode + " : " + t.statusDetail},
	}
	if t.vpsAuthCode != 0 {
		f = append(f, [2]string{"TxAuthNo", strconv.FormatInt(t.vpsAuthCode, 10)})
	}
	var avs avsCvc
	if t.avs != nil {
		avs = *t.avs
	}
	f = append(f,
		[2]string{"AVSCV2", legacyAVSCV2(avs.Status)},
		[2]string{"AddressResult", legacyCheckPart(avs.Address)},
		[2]string{"PostCodeResult", legacyCheckPart(avs.PostalCode)},
		[2]string{"CV2Result", legacyCheckPart(avs.SecurityCode)},
		[2]string{"GiftAid", map[bool]string{true: "1", false: "0"}[t.giftAid]},
		[2]string{"3DSecureStatus", legacy3DS(t.threeDS)},
		[2]string{"AddressStatus", "NONE"},
		[2]string{"PayerStatus", "NONE"},
	)
	if t.card != nil {
		f = append(f,
			[2]string{"CardType", legacyCardType(t.card.cardType)},
			[2]string{"Last4Digits", t.card.last4},
			[2]string{"ExpiryDate", t.card.expiry},
		)
	}
	f = append(f,
		[2]string{"DeclineCode", t.bankResponseCode},
		[2]string{"FraudResponse", "NOTCHECKED"},
		[2]string{"Surcharge", formatMajor(0, t.currency)},
		[2]string{"BankAuthCode", t.bankAuthCode},
	)
	if reg.protocol == "4.00" {
		trace := ""
		if t.vpsAuthCode != 0 {
			trace = fmt.Sprintf("SIM%012d", t.vpsAuthCode)
		}
		f = append(f, [2]string{"ACSTransID", ""}, [2]string{"DSTransID", ""}, [2]string{"SchemeTraceID", trace})
	}
	m := map[string]string{}
	for _, kv := range f {
		m[kv[0]] = kv[1]
	}
	f = append(f, [2]string{"VPSSignature", notificationSignature(m, s.opts.Vendor, t.securityKey, reg.protocol)})

	d := &delivery{
		txID:         t.id,
		url:          reg.notificationURL,
		fields:       f,
		outcomeState: t.txState,
		state:        DeliveryPending,
		nextAt:       now,
		inFlight:     true,
	}
	switch t.txState {
	case txStateAuthorised, txStateDeferred, txStateAuthenticated, txStateRegistered:
		d.holdsFunds = true
	}
	t.txState = txStateNotifying
	s.deliveries = append(s.deliveries, d)
	return d
}

// nextDueDelivery is the earliest retry whose time has come. The caller holds s.mu.
func (s *Server) nextDueDelivery(now time.Time) *delivery {
	var due *delivery
	for _, d := range s.deliveries {
		if d.state != DeliveryPending || d.inFlight || d.nextAt.After(now) {
			continue
		}
		if due == nil || d.nextAt.Before(due.nextAt) {
			due = d
		}
	}
	return due
}

// attemptResult is what one POST to the NotificationURL produced.
type attemptResult struct {
	httpStatus int
	err        string
	body       string
	reply      notificationReply
	ok         bool
}

// attemptDelivery makes one attempt of a delivery marked in flight and records it as made at at
// (its scheduled simulator time).
func (s *Server) attemptDelivery(d *delivery, at time.Time) {
	res := s.postNotification(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	d.inFlight = false
	s.recordAttempt(d, res, at)
}

// postNotification POSTs the notification form. It runs without the lock; d.url and d.fields
// never change after the delivery is built.
func (s *Server) postNotification(d *delivery) attemptResult {
	parts := make([]string, len(d.fields))
	for i, kv := range d.fields {
		parts[i] = url.QueryEscape(kv[0]) + "=" + url.QueryEscape(kv[1])
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, d.url, strings.NewReader(strings.Join(parts, "&")))
	if err != nil {
		return attemptResult{err: err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.notify.Do(req)
	if err != nil {
		return attemptResult{err: err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	res := attemptResult{httpStatus: resp.StatusCode, body: string(raw)}
	if len(res.body) > maxReplyRecorded {
		res.body = res.body[:maxReplyRecorded]
	}
	if err != nil {
		res.err = err.Error()
		return res
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		res.err = fmt.Sprintf("HTTP %d", resp.StatusCode)
		return res
	}
	reply, err := parseNotificationReply(string(raw))
	if err != nil {
		res.err = err.Error()
		return res
	}
	res.reply, res.ok = reply, true
	return res
}

// recordAttempt files an attempt's outcome: an accepted reply settles the transaction's state (OK
// keeps it, INVALID or ERROR cancel it); a failed attempt schedules the next retry per the
// RetryPolicy, or, when none is left, cancels the transaction. The caller holds s.mu.
func (s *Server) recordAttempt(d *delivery, res attemptResult, at time.Time) {
	n := len(d.attempts) + 1
	d.attempts = append(d.attempts, NotificationAttempt{
		Number:       n,
		At:           at,
		HTTPStatus:   res.httpStatus,
		Error:        res.err,
		Reply:        res.body,
		ReplyStatus:  res.reply.status,
		RedirectURL:  res.reply.redirectURL,
		StatusDetail: res.reply.detail,
		Accepted:     res.ok,
	})
	t := s.txs[d.txID]
	switch {
	case res.ok:
		d.state, d.accepted = DeliveryDelivered, true
		d.replyStatus, d.redirectURL = res.reply.status, res.reply.redirectURL
		t.txState = d.outcomeState
		if res.reply.status != "OK" && d.holdsFunds {
			cancelNotified(t, txStateVendorCancelled)
		}
	case n <= s.retry.Count:
		d.nextAt = at.Add(s.retry.delayBefore(n))
	default:
		d.state = DeliveryFailed
		t.txState = d.outcomeState
		if d.holdsFunds {
			cancelNotified(t, txStateErrorCancelled)
		}
	}
}

// cancelNotified cancels a transaction whose notification was refused (txstateid 9) or never
// acknowledged (13). Pi has no word for this; GET shows Rejected/2012 (a cancel) and Error/2003
// respectively, with no retrievalReference, so a Pi-only reader does not mistake it for a payment.
func cancelNotified(t *transaction, state int) {
	t.txState = state
	zero := int64(0)
	t.retrievalReference = &zero
	if state == txStateVendorCancelled {
		t.status, t.statusCode, t.statusDetail = statusRejected, "2012", txStateText[txStateVendorCancelled]
		return
	}
	t.status, t.statusCode, t.statusDetail = "Error", "2003", "An ERROR has occurred on the Sage Pay System."
}

// notificationReply is the vendor's answer to a notification POST (opayo.md §4.1 step 4).
type notificationReply struct {
	status, redirectURL, detail string
}

// parseNotificationReply reads Status=OK|INVALID|ERROR, RedirectURL= and StatusDetail= lines
// (CRLF or LF; names matched case-insensitively). Opayo expects "Status=" to be the first
// characters of the reply; leading blank lines and a UTF-8 BOM are tolerated.
func parseNotificationReply(body string) (notificationReply, error) {
	body = strings.TrimLeft(strings.TrimPrefix(body, "\ufeff"), " \t\r\n")
	var r notificationReply
	for i, line := range strings.Split(body, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if i == 0 && (!ok || key != "status") {
			return r, errors.New("reply does not start with Status=")
		}
		switch key {
		case "status":
			r.status = strings.ToUpper(strings.TrimSpace(value))
		case "redirecturl":
			r.redirectURL = strings.TrimSpace(value)
		case "statusdetail":
			r.detail = strings.TrimSpace(value)
		}
	}
	switch r.status {
	case "OK", "INVALID", "ERROR":
		return r, nil
	case "":
		return r, errors.New("empty reply")
	}
	return r, fmt.Errorf("unknown Status %q", r.status)
}
