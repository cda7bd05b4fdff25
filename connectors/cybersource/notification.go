package cybersource

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Webhook event types the hub acts on (§7).
const (
	EventDecisionAccept        = "risk.casemanagement.decision.accept"
	EventDecisionReject        = "risk.casemanagement.decision.reject"
	EventProfileDecisionReject = "risk.profile.decision.reject"
	EventProfileDecisionReview = "risk.profile.decision.review"
	EventCaseAddNote           = "risk.casemanagement.addnote"
	EventAuthorizationAccepted = "payments.authorization.status.accepted"
	EventCaptureAccepted       = "payments.capture.status.accepted"
	EventCaptureUpdated        = "payments.capture.status.updated"
	EventRefundAccepted        = "payments.refund.status.accepted"
	EventRefundUpdated         = "payments.refund.status.updated"
	EventVoidAccepted          = "payments.void.status.accepted"
	EventReversalAccepted      = "payments.reversal.status.accepted"
)

var (
	// ErrMalformedNotification: the body is not a notification (not JSON, or no eventType).
	ErrMalformedNotification = errors.New("cybersource: malformed webhook notification")
	// ErrEncryptedNotification: the body is message-level encrypted (a JWE, bare or as
	// {"encData":…}); this package does not decrypt MLE payloads.
	ErrEncryptedNotification = errors.New("cybersource: webhook notification is MLE-encrypted")
)

// Notification is a webhook body (§7).
type Notification struct {
	// ID identifies the event for de-duplication across redeliveries: the body's notificationId
	// when it has one, else "sha256:" and a hash of webhookId, eventType and the payload in
	// canonical form. retryNumber, requestType, transactionTraceId (new on every attempt) and
	// eventDate are left out, so every retry of one event has the same ID.
	ID             string
	EventType      string
	WebhookID      string
	ProductID      string
	OrganizationID string
	// EventDate is kept raw ("2022-07-20T11:38:45", no zone); see EventTime.
	EventDate          string
	TransactionTraceID string
	RetryNumber        int
	// RequestType is NEW or RETRY.
	RequestType string
	Payload     NotificationPayload
	// Raw is the body as received.
	Raw json.RawMessage
}

// EventTime parses EventDate, which Cybersource writes in UTC without a zone.
func (n *Notification) EventTime() (time.Time, error) { return parseReportDate(n.EventDate) }

// IsRetry reports a redelivery.
func (n *Notification) IsRetry() bool { return n.RequestType == "RETRY" || n.RetryNumber > 0 }

// NotificationPayload is what the hub needs from a notification's payload, found where the
// official SFCC cartridge looks: payload.transactionResult.details, payload[0].data or
// payload.data.
type NotificationPayload struct {
	// Data is the detail object itself, raw.
	Data json.RawMessage
	// OrganizationID is the payload's organizationId (a child organization's, possibly).
	OrganizationID string
	// Type is data.type, e.g. "tokenizedCardEnrollments".
	Type string
	// TransactionID is the transaction (request) id: data.id, else requestId or transactionId.
	TransactionID string
	// Reference is clientReferenceInformation.code, else referenceNumber (case management).
	Reference string
	// Status is data.status.
	Status string
	// Decision is the Decision Manager decision (ACCEPT, REJECT, REVIEW, MONITOR), from the event
	// type when it names one, else from the payload.
	Decision string
	// Reviewer and ReviewerComment are who resolved a case and why: riskInformation.reviewerComments,
	// reviewerComments or notes[0].comment (and notes[0].addedBy).
	Reviewer        string
	ReviewerComment string
	// CaptureID is the capture a case decision ran, from _embedded.capture._links.self.href.
	CaptureID string
}

type notificationBody struct {
	NotificationID     string          `json:"notificationId"`
	EventType          string          `json:"eventType"`
	WebhookID          string          `json:"webhookId"`
	ProductID          string          `json:"productId"`
	OrganizationID     string          `json:"organizationId"`
	EventDate          string          `json:"eventDate"`
	TransactionTraceID string          `json:"transactionTraceId"`
	RetryNumber        Code            `json:"retryNumber"`
	RequestType        string          `json:"requestType"`
	Payload            json.RawMessage `json:"payload"`
	EncData            json.RawMessage `json:"encData"`
	EncryptedRequest   json.RawMessage `json:"encryptedRequest"`
}

type notificationDetail struct {
	ID                         Code   `json:"id"`
	RequestID                  Code   `json:"requestId"`
	TransactionID              Code   `json:"transactionId"`
	Type                       string `json:"type"`
	Status                     string `json:"status"`
	OrganizationID             string `json:"organizationId"`
	ReferenceNumber            string `json:"referenceNumber"`
	Decision                   string `json:"decision"`
	NewDecision                string `json:"newDecision"`
	Reviewer                   string `json:"reviewer"`
	ReviewerComments           string `json:"reviewerComments"`
	ClientReferenceInformation struct {
		Code string `json:"code"`
	} `json:"clientReferenceInformation"`
	RiskInformation struct {
		ReviewerComments string      `json:"reviewerComments"`
		Profile          RiskProfile `json:"profile"`
	} `json:"riskInformation"`
	Notes []struct {
		Comment string `json:"comment"`
		AddedBy string `json:"addedBy"`
	} `json:"notes"`
	Embedded struct {
		Capture struct {
			Links Links `json:"_links"`
		} `json:"capture"`
	} `json:"_embedded"`
}

// ParseNotification reads a webhook body. Verify it with VerifyWebhook first: an unverified
// notification must never be applied.
func ParseNotification(body []byte) (*Notification, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] != '{' && bytes.Count(trimmed, []byte(".")) == 4 {
		return nil, ErrEncryptedNotification
	}
	var nb notificationBody
	if err := json.Unmarshal(trimmed, &nb); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedNotification, err)
	}
	if len(nb.EncData) > 0 || len(nb.EncryptedRequest) > 0 {
		return nil, ErrEncryptedNotification
	}
	n := &Notification{
		EventType: nb.EventType, WebhookID: nb.WebhookID, ProductID: nb.ProductID, OrganizationID: nb.OrganizationID,
		EventDate: nb.EventDate, TransactionTraceID: nb.TransactionTraceID, RequestType: nb.RequestType,
		Raw: append(json.RawMessage(nil), body...),
	}
	n.RetryNumber, _ = strconv.Atoi(string(nb.RetryNumber))
	data, arrayEventType := notificationData(nb.Payload)
	if n.EventType == "" {
		n.EventType = arrayEventType
	}
	if n.EventType == "" {
		return nil, fmt.Errorf("%w: no eventType", ErrMalformedNotification)
	}
	n.Payload = payloadFields(data, n.EventType)
	if n.Payload.OrganizationID == "" {
		n.Payload.OrganizationID = payloadOrganization(nb.Payload)
	}
	if nb.NotificationID != "" {
		n.ID = nb.NotificationID
	} else {
		n.ID = notificationHash(nb.WebhookID, n.EventType, nb.Payload)
	}
	return n, nil
}

// notificationData finds the detail object in the payload, and the event type an array entry
// may carry.
func notificationData(payload json.RawMessage) (json.RawMessage, string) {
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 {
		return nil, ""
	}
	var entry struct {
		EventType         string          `json:"eventType"`
		Data              json.RawMessage `json:"data"`
		TransactionResult *struct {
			Details json.RawMessage `json:"details"`
		} `json:"transactionResult"`
	}
	switch payload[0] {
	case '[':
		var entries []json.RawMessage
		if json.Unmarshal(payload, &entries) != nil || len(entries) == 0 {
			return nil, ""
		}
		if json.Unmarshal(entries[0], &entry) != nil {
			return entries[0], ""
		}
		if isObject(entry.Data) {
			return entry.Data, entry.EventType
		}
		return entries[0], entry.EventType
	case '{':
		if json.Unmarshal(payload, &entry) != nil {
			return payload, ""
		}
		if entry.TransactionResult != nil && isObject(entry.TransactionResult.Details) {
			return entry.TransactionResult.Details, ""
		}
		if isObject(entry.Data) {
			return entry.Data, ""
		}
		return payload, ""
	}
	return nil, ""
}

func isObject(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

func payloadFields(data json.RawMessage, eventType string) NotificationPayload {
	p := NotificationPayload{Data: data}
	var d notificationDetail
	if len(data) == 0 || json.Unmarshal(data, &d) != nil {
		// A detail of an unexpected shape still yields a notification; its fields stay empty.
		d = notificationDetail{}
	}
	p.OrganizationID = d.OrganizationID
	p.Type = d.Type
	p.Status = d.Status
	p.TransactionID = firstNonEmpty(string(d.ID), string(d.RequestID), string(d.TransactionID))
	p.Reference = firstNonEmpty(d.ClientReferenceInformation.Code, d.ReferenceNumber)
	p.Decision = decisionFromEvent(eventType)
	if p.Decision == "" {
		p.Decision = strings.ToUpper(firstNonEmpty(d.NewDecision, d.Decision, d.RiskInformation.Profile.Decision))
	}
	p.ReviewerComment = firstNonEmpty(d.RiskInformation.ReviewerComments, d.ReviewerComments)
	p.Reviewer = d.Reviewer
	if len(d.Notes) > 0 {
		p.ReviewerComment = firstNonEmpty(p.ReviewerComment, d.Notes[0].Comment)
		p.Reviewer = firstNonEmpty(p.Reviewer, d.Notes[0].AddedBy)
	}
	if href := d.Embedded.Capture.Links.Href("self"); href != "" {
		p.CaptureID = href[strings.LastIndexByte(href, '/')+1:]
	}
	return p
}

// decisionFromEvent reads the decision out of risk.*.decision.<x> event types.
func decisionFromEvent(eventType string) string {
	_, after, ok := strings.Cut(eventType, ".decision.")
	if !ok || !strings.HasPrefix(eventType, "risk.") || strings.Contains(after, ".") {
		return ""
	}
	return strings.ToUpper(after)
}

func payloadOrganization(payload json.RawMessage) string {
	var p struct {
		OrganizationID string `json:"organizationId"`
	}
	if isObject(payload) && json.Unmarshal(payload, &p) == nil {
		return p.OrganizationID
	}
	return ""
}

// notificationHash is the de-duplication id: the same event re-sent hashes the same, however
// its JSON was spaced or ordered.
func notificationHash(webhookID, eventType string, payload json.RawMessage) string {
	h := sha256.New()
	h.Write([]byte(webhookID))
	h.Write([]byte{0})
	h.Write([]byte(eventType))
	h.Write([]byte{0})
	h.Write(canonicalJSON(payload))
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// canonicalJSON re-encodes v with sorted keys and no insignificant space; invalid JSON is used
// as it is.
func canonicalJSON(v json.RawMessage) []byte {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return v
	}
	b, err := json.Marshal(x)
	if err != nil {
		return v
	}
	return b
}
