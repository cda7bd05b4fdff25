package cybersourcesim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// received is one webhook POST as the receiver saw it.
type received struct {
	header http.Header
	body   []byte
	parsed map[string]any
}

func (m received) str(path string) string { return response{body: m.parsed}.str(path) }

// receiver is a webhook endpoint that records every POST and answers answer(n) for the n-th
// (0-based) one; nil answers 200.
type receiver struct {
	mu     sync.Mutex
	got    []received
	answer func(n int, r *http.Request) int
	srv    *httptest.Server
}

func newReceiver(t *testing.T, answer func(n int, r *http.Request) int) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := received{header: r.Header.Clone(), body: body}
		_ = json.Unmarshal(body, &m.parsed)
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, m)
		rc.mu.Unlock()
		status := http.StatusOK
		if rc.answer != nil {
			status = rc.answer(n, r)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) url() string { return rc.srv.URL + "/webhooks/cybersource" }

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitFor polls until cond holds over everything received, or fails after 10 s.
func (rc *receiver) waitFor(t *testing.T, cond func([]received) bool) []received {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		all := rc.all()
		if cond(all) {
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhooks did not arrive; got %d", len(all))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func countEvents(all []received, event string) int {
	n := 0
	for _, m := range all {
		if m.header.Get(HeaderEventType) == event {
			n++
		}
	}
	return n
}

// waitState polls the simulator state until cond holds, or fails after 10 s.
func waitState(t *testing.T, sim *Server, cond func(Snapshot) bool) Snapshot {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		snap := sim.State()
		if cond(snap) {
			return snap
		}
		if time.Now().After(deadline) {
			raw, _ := json.MarshalIndent(snap.WebhookDeliveries, "", " ")
			t.Fatalf("state did not reach the expected condition; deliveries: %s", raw)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWebhookDeliveryHeadersBodyAndSignature(t *testing.T) {
	t.Parallel()
	rec := newReceiver(t, nil)
	b := setup(t, Options{WebhookURL: rec.url()})
	id := b.pay(t, sale(paymentReq("wh-1", "12.34", CardVisa))).str("id")
	got := rec.waitFor(t, func(all []received) bool { return len(all) == 2 })

	wantEvents := []string{EventAuthorizationAccepted, EventCaptureAccepted}
	traces := map[string]bool{}
	for i, m := range got {
		h := m.header
		if h.Get(HeaderEventType) != wantEvents[i] || m.str("eventType") != wantEvents[i] {
			t.Errorf("webhook %d: event %s", i, h.Get(HeaderEventType))
		}
		for name, want := range map[string]string{HeaderRequestType: "NEW", HeaderRetryCount: "0",
			HeaderOrganizationID: DefaultMerchantID, HeaderProductName: ProductPayments} {
			if h.Get(name) != want {
				t.Errorf("webhook %d: %s = %q, want %q", i, name, h.Get(name), want)
			}
		}
		traces[h.Get(HeaderTransactionTraceID)] = true
		if h.Get(HeaderWebhookID) == "" || h.Get(HeaderWebhookID) != m.str("webhookId") {
			t.Errorf("webhook %d: webhook id header %q, body %q", i, h.Get(HeaderWebhookID), m.str("webhookId"))
		}
		// The signature, checked by hand: t=<ms>;keyId=<id>;sig=b64(HMAC(b64decode(key), t + "." + body)).
		parts := map[string]string{}
		for _, p := range strings.Split(h.Get(HeaderSignature), ";") {
			k, v, _ := strings.Cut(p, "=")
			parts[k] = v
		}
		key, _ := base64.StdEncoding.DecodeString(DefaultWebhookKey)
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(parts["t"] + "." + string(m.body)))
		if parts["keyId"] != DefaultWebhookKeyID || parts["sig"] != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			t.Errorf("webhook %d: signature %q does not verify", i, h.Get(HeaderSignature))
		}
		if at, err := VerifyWebhookSignature(h.Get(HeaderSignature), DefaultWebhookKeyID, DefaultWebhookKey, m.body); err != nil || time.Since(at) > time.Minute {
			t.Errorf("webhook %d: VerifyWebhookSignature: %v %v", i, at, err)
		}
		checks := map[string]string{
			"productId": ProductPayments, "organizationId": DefaultMerchantID, "requestType": "NEW", "retryNumber": "0",
			"eventDate": "2026-04-10T09:00:00", "payload.data.id": id, "payload.data.type": "payments",
			"payload.data.clientReferenceInformation.code": "wh-1", "payload.data.orderInformation.amountDetails.totalAmount": "12.34",
			"payload.organizationId": DefaultMerchantID, "transactionTraceId": h.Get(HeaderTransactionTraceID),
		}
		for path, want := range checks {
			if got := m.str(path); got != want && !(path == "eventDate" && strings.HasPrefix(got, "2026-04-10T09:00:0")) {
				t.Errorf("webhook %d: %s = %q, want %q", i, path, got, want)
			}
		}
		if m.str("notificationId") == "" {
			t.Errorf("webhook %d has no notificationId", i)
		}
	}
	if len(traces) != 2 {
		t.Errorf("trace ids are not unique per attempt: %v", traces)
	}
	snap := waitState(t, b.sim, func(s Snapshot) bool {
		return len(s.WebhookDeliveries) == 2 && s.WebhookDeliveries[1].Status == DeliveryDelivered
	})
	d := snap.WebhookDeliveries[0]
	if d.Status != DeliveryDelivered || len(d.Attempts) != 1 || d.Attempts[0].ResponseCode != 200 || d.TransactionID != id || d.NextAttemptAt != nil {
		t.Fatalf("delivery record: %+v", d)
	}
}

func TestWebhookRetriesFollowThePolicyOnTheSimulatorClock(t *testing.T) {
	t.Parallel()
	rec := newReceiver(t, func(int, *http.Request) int { return http.StatusInternalServerError })
	b := setup(t, Options{WebhookURL: rec.url()})
	b.pay(t, paymentReq("wr-1", "1.00", CardVisa))
	attempts := func(n int) Snapshot {
		t.Helper()
		return waitState(t, b.sim, func(s Snapshot) bool {
			return len(s.WebhookDeliveries) == 1 && len(s.WebhookDeliveries[0].Attempts) == n
		})
	}
	first := attempts(1).WebhookDeliveries[0]
	if first.Status != DeliveryRetrying || first.NextAttemptAt == nil || first.NextAttemptAt.Sub(first.Attempts[0].At) != time.Minute {
		t.Fatalf("after the first failure: %+v", first)
	}
	steps := []struct {
		advance  time.Duration
		attempts int
	}{
		{30 * time.Second, 1}, // not due yet
		{30 * time.Second, 2}, // retry 1 at +1 min
		{time.Minute, 3},      // retry 2 at +2 min
		{time.Minute, 4},      // retry 3 at +3 min
		{time.Hour, 4},        // no retry 4
	}
	for _, st := range steps {
		b.sim.Clock().Advance(st.advance)
		time.Sleep(30 * time.Millisecond)
		attempts(st.attempts)
	}
	d := b.sim.State().WebhookDeliveries[0]
	if d.Status != DeliveryFailed || d.NextAttemptAt != nil {
		t.Fatalf("after every retry: %+v", d)
	}
	t0 := d.Attempts[0].At
	for n, a := range d.Attempts {
		want := time.Duration(n) * time.Minute
		if off := a.At.Sub(t0); off < want || off > want+5*time.Second {
			t.Errorf("attempt %d at +%s, want +%s", n, off, want)
		}
		wantType := "RETRY"
		if n == 0 {
			wantType = "NEW"
		}
		if a.Number != n || a.RequestType != wantType || a.ResponseCode != 500 || a.Error == "" {
			t.Errorf("attempt %d: %+v", n, a)
		}
	}
	got := rec.all()
	if len(got) != 4 {
		t.Fatalf("receiver got %d posts", len(got))
	}
	for n, m := range got {
		if m.header.Get(HeaderRetryCount) != strings.TrimSpace(string(rune('0'+n))) || m.str("notificationId") != d.NotificationID {
			t.Errorf("post %d: retry count %s, notification %s", n, m.header.Get(HeaderRetryCount), m.str("notificationId"))
		}
		if n > 0 && (m.header.Get(HeaderRequestType) != "RETRY" || m.str("retryNumber") != strings.TrimSpace(string(rune('0'+n)))) {
			t.Errorf("post %d: %s %s", n, m.header.Get(HeaderRequestType), m.str("retryNumber"))
		}
	}
}

func TestWebhookRetriesFireInRealTimeWithASmallPolicy(t *testing.T) {
	t.Parallel()
	rec := newReceiver(t, func(n int, _ *http.Request) int {
		if n < 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	b := setup(t, Options{WebhookURL: rec.url(), WebhookRetry: RetryPolicy{First: 50 * time.Millisecond, Interval: 50 * time.Millisecond, Count: 3}})
	b.pay(t, paymentReq("wrt-1", "1.00", CardVisa))
	snap := waitState(t, b.sim, func(s Snapshot) bool {
		return len(s.WebhookDeliveries) == 1 && s.WebhookDeliveries[0].Status == DeliveryDelivered
	})
	d := snap.WebhookDeliveries[0]
	if len(d.Attempts) != 3 || d.Attempts[2].ResponseCode != http.StatusNoContent || d.Attempts[1].ResponseCode != http.StatusServiceUnavailable {
		t.Fatalf("attempts: %+v", d.Attempts)
	}
}

func TestWebhookReceiverTimeoutCountsAsFailure(t *testing.T) {
	t.Parallel()
	rec := newReceiver(t, func(n int, r *http.Request) int {
		if n == 0 {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
		return http.StatusOK
	})
	b := setup(t, Options{WebhookURL: rec.url(), WebhookTimeout: 300 * time.Millisecond,
		WebhookRetry: RetryPolicy{First: 20 * time.Millisecond, Interval: 20 * time.Millisecond, Count: 5}})
	b.pay(t, paymentReq("wto-1", "1.00", CardVisa))
	snap := waitState(t, b.sim, func(s Snapshot) bool {
		return len(s.WebhookDeliveries) == 1 && s.WebhookDeliveries[0].Status == DeliveryDelivered
	})
	a := snap.WebhookDeliveries[0].Attempts
	if len(a) < 2 || a[0].ResponseCode != 0 || a[0].Error == "" || a[len(a)-1].ResponseCode != 200 {
		t.Fatalf("attempts: %+v", a)
	}
}

func TestCloseStopsWebhookDelivery(t *testing.T) {
	t.Parallel()
	rec := newReceiver(t, nil)
	b := setup(t, Options{WebhookURL: rec.url()})
	b.sim.Close()
	b.sim.Close() // idempotent
	b.pay(t, paymentReq("wc-1", "1.00", CardVisa))
	time.Sleep(100 * time.Millisecond)
	if n := len(rec.all()); n != 0 {
		t.Fatalf("%d webhooks sent after Close", n)
	}
	if d := b.sim.State().WebhookDeliveries; len(d) != 1 || d[0].Status != DeliveryPending {
		t.Fatalf("deliveries after Close: %+v", d)
	}
}

func TestNoWebhookURLRecordsNoDeliveries(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	b.pay(t, sale(paymentReq("nw-1", "1.00", CardVisa)))
	if d := b.sim.State().WebhookDeliveries; len(d) != 0 {
		t.Fatalf("deliveries without a URL: %+v", d)
	}
}

func TestEveryOperationSendsItsEvent(t *testing.T) {
	t.Parallel()
	rec := newReceiver(t, nil)
	b := setup(t, Options{WebhookURL: rec.url()})
	authID := b.pay(t, paymentReq("ev-1", "10.00", CardVisa)).str("id")
	capID := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+authID+"/captures", amountBody("", "10.00")).str("id")
	refID := b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/captures/"+capID+"/refunds", amountBody("", "4.00")).str("id")
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/refunds/"+refID+"/voids", nil)
	other := b.pay(t, paymentReq("ev-2", "10.00", CardVisa)).str("id")
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+other+"/reversals",
		map[string]any{"reversalInformation": map[string]any{"amountDetails": map[string]any{"totalAmount": "10.00"}}})
	b.pay(t, set(paymentReq("ev-3", "10.00", CardVisa), "orderInformation.billTo.email", "review@x.com"))
	b.pay(t, paymentReq("ev-4", "10.00", CardDeclined))
	b.must(t, http.StatusCreated, http.MethodPost, "/pts/v2/payments/"+authID+"/refunds", amountBody("", "6.00"))
	b.nextDay(t)
	want := map[string]int{
		EventAuthorizationAccepted: 2, EventCaptureAccepted: 1, EventRefundAccepted: 2, EventVoidAccepted: 1,
		EventReversalAccepted: 1, EventAuthorizationReviewed: 1, EventAuthorizationRejected: 1,
		EventCaptureUpdated: 1, EventRefundUpdated: 1,
	}
	rec.waitFor(t, func(all []received) bool {
		for ev, n := range want {
			if countEvents(all, ev) != n {
				return false
			}
		}
		return true
	})
	ids := map[string]bool{}
	for _, m := range rec.all() {
		ids[m.str("notificationId")] = true
	}
	if len(ids) != len(rec.all()) {
		t.Fatalf("notification ids are not unique per notification")
	}
}
