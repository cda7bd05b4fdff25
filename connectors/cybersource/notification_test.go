package cybersource

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseNotificationShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want Notification
		data string
	}{
		{
			name: "protocol §7 example, payload.data",
			body: `{"eventType":"tms.networktoken.provisioned","webhookId":"e339","productId":"tokenManagement","organizationId":"org",
				"eventDate":"2022-07-20T11:38:45","transactionTraceId":"7ac2","retryNumber":0,"requestType":"NEW",
				"payload":{"data":{"_links":{},"id":"T1","type":"tokenizedCardEnrollments","version":"1.0"},"organizationId":"child"}}`,
			want: Notification{EventType: "tms.networktoken.provisioned", WebhookID: "e339", ProductID: "tokenManagement", OrganizationID: "org",
				EventDate: "2022-07-20T11:38:45", TransactionTraceID: "7ac2", RequestType: "NEW",
				Payload: NotificationPayload{OrganizationID: "child", Type: "tokenizedCardEnrollments", TransactionID: "T1"}},
			data: `{"_links":{},"id":"T1","type":"tokenizedCardEnrollments","version":"1.0"}`,
		},
		{
			name: "case management reject, payload[0].data with referenceNumber and notes",
			body: `{"webhookId":"w","retryNumber":"2","requestType":"RETRY","payload":[{"eventType":"risk.casemanagement.decision.reject",
				"data":{"id":"6510049442466278803211","referenceNumber":"SO-9","notes":[{"comment":"stolen card","addedBy":"analyst1"}]}}]}`,
			want: Notification{EventType: EventDecisionReject, WebhookID: "w", RetryNumber: 2, RequestType: "RETRY",
				Payload: NotificationPayload{TransactionID: "6510049442466278803211", Reference: "SO-9", Decision: DecisionReject,
					Reviewer: "analyst1", ReviewerComment: "stolen card"}},
		},
		{
			name: "case management accept with a capture",
			body: `{"eventType":"risk.casemanagement.decision.accept","webhookId":"w","payload":{"data":{"id":"651","clientReferenceInformation":{"code":"SO-1"},
				"riskInformation":{"reviewerComments":"looks fine"},"notes":[{"comment":"ignored"}],
				"_embedded":{"capture":{"_links":{"self":{"href":"/pts/v2/captures/7777"}}}}}}}`,
			want: Notification{EventType: EventDecisionAccept, WebhookID: "w",
				Payload: NotificationPayload{TransactionID: "651", Reference: "SO-1", Decision: DecisionAccept, ReviewerComment: "looks fine", CaptureID: "7777"}},
		},
		{
			name: "transactionResult.details",
			body: `{"eventType":"uc.orders.transactionresults","payload":{"transactionResult":{"details":{"id":"88","status":"AUTHORIZED","clientReferenceInformation":{"code":"SO-2"}}}}}`,
			want: Notification{EventType: "uc.orders.transactionresults", Payload: NotificationPayload{TransactionID: "88", Status: "AUTHORIZED", Reference: "SO-2"}},
		},
		{
			name: "payment capture update with requestId",
			body: `{"eventType":"payments.capture.status.updated","payload":{"data":{"requestId":"99","status":"BATCHED","clientReferenceInformation":{"code":"C-1"}}}}`,
			want: Notification{EventType: EventCaptureUpdated, Payload: NotificationPayload{TransactionID: "99", Status: "BATCHED", Reference: "C-1"}},
		},
		{
			name: "profile review decision from the payload",
			body: `{"eventType":"risk.profile.decision.review","payload":{"data":{"id":"1"}}}`,
			want: Notification{EventType: EventProfileDecisionReview, Payload: NotificationPayload{TransactionID: "1", Decision: DecisionReview}},
		},
		{
			name: "add note: decision read from the data",
			body: `{"eventType":"risk.casemanagement.addnote","payload":{"data":{"id":"1","decision":"review","notes":[{"comment":"call customer"}]}}}`,
			want: Notification{EventType: EventCaseAddNote, Payload: NotificationPayload{TransactionID: "1", Decision: DecisionReview, ReviewerComment: "call customer"}},
		},
		{
			name: "payload of another shape still parses",
			body: `{"eventType":"x.y","payload":"text"}`,
			want: Notification{EventType: "x.y"},
		},
		{
			name: "numeric id",
			body: `{"eventType":"x.y","payload":{"data":{"id":5}}}`,
			want: Notification{EventType: "x.y", Payload: NotificationPayload{TransactionID: "5"}},
		},
		{
			name: "data of another shape still parses",
			body: `{"eventType":"x.y","payload":{"data":{"id":{"a":1},"notes":"n"}}}`,
			want: Notification{EventType: "x.y"},
		},
		{
			name: "notificationId is the id when present",
			body: `{"notificationId":"N-1","eventType":"x.y"}`,
			want: Notification{ID: "N-1", EventType: "x.y"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := ParseNotification([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if string(n.Raw) != tt.body {
				t.Error("raw body not kept")
			}
			if tt.want.ID == "" && !strings.HasPrefix(n.ID, "sha256:") {
				t.Errorf("id %q", n.ID)
			}
			if tt.data != "" && string(n.Payload.Data) != tt.data {
				t.Errorf("data %s", n.Payload.Data)
			}
			got := *n
			got.Raw, got.Payload.Data = nil, nil
			if tt.want.ID == "" {
				got.ID = ""
			}
			if !equalNotification(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func equalNotification(a, b Notification) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestNotificationIDIsStableAcrossRedeliveries(t *testing.T) {
	t.Parallel()
	first := `{"eventType":"risk.casemanagement.decision.accept","webhookId":"w","eventDate":"2026-03-01T10:00:00","transactionTraceId":"a","retryNumber":0,"requestType":"NEW","payload":{"data":{"id":"1","clientReferenceInformation":{"code":"SO-1"}}}}`
	retry := `{"requestType":"RETRY","retryNumber":1,"transactionTraceId":"b","eventDate":"2026-03-01T10:01:00","webhookId":"w","eventType":"risk.casemanagement.decision.accept",
		"payload": { "data": { "clientReferenceInformation": {"code": "SO-1"}, "id": "1" } } }`
	other := strings.Replace(first, `"id":"1"`, `"id":"2"`, 1)
	otherEvent := strings.Replace(first, "accept", "reject", 1)
	ids := map[string]string{}
	for name, body := range map[string]string{"first": first, "retry": retry, "other": other, "otherEvent": otherEvent} {
		n, err := ParseNotification([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = n.ID
	}
	if ids["first"] != ids["retry"] {
		t.Errorf("a redelivery got another id: %s vs %s", ids["first"], ids["retry"])
	}
	if ids["first"] == ids["other"] || ids["first"] == ids["otherEvent"] {
		t.Error("different events share an id")
	}
}

func TestParseNotificationRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       error
	}{
		{"not JSON", `<xml/>`, ErrMalformedNotification},
		{"empty", ``, ErrMalformedNotification},
		{"array body", `[1,2]`, ErrMalformedNotification},
		{"no event type", `{"payload":{"data":{}}}`, ErrMalformedNotification},
		{"MLE envelope", `{"encData":"eyJ.a.b.c.d"}`, ErrEncryptedNotification},
		{"bare JWE", `eyJhbGciOiJSU0EtT0FFUC0yNTYifQ.a.b.c.d`, ErrEncryptedNotification},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := ParseNotification([]byte(tt.body)); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNotificationHelpers(t *testing.T) {
	t.Parallel()
	n, err := ParseNotification([]byte(`{"eventType":"a","eventDate":"2022-07-20T11:38:45","requestType":"RETRY"}`))
	if err != nil {
		t.Fatal(err)
	}
	at, err := n.EventTime()
	if err != nil || !at.Equal(time.Date(2022, 7, 20, 11, 38, 45, 0, time.UTC)) || !n.IsRetry() {
		t.Fatalf("%v %v %v", at, err, n.IsRetry())
	}
}
