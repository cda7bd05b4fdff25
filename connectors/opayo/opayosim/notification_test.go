package opayosim

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNotificationReplyParsing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, status, redirect string
		ok                           bool
	}{
		{"CRLF", "Status=OK\r\nRedirectURL=https://shop.example/a\r\nStatusDetail=fine\r\n", "OK", "https://shop.example/a", true},
		{"LF", "Status=INVALID\nRedirectURL=https://shop.example/b\n", "INVALID", "https://shop.example/b", true},
		{"RedirectUrl spelling", "Status=ERROR\r\nRedirectUrl=https://shop.example/c", "ERROR", "https://shop.example/c", true},
		{"lower-case names", "status=OK\r\nredirecturl=https://shop.example/d", "OK", "https://shop.example/d", true},
		{"leading blank line and BOM", "\ufeff\r\nStatus=OK\r\nRedirectURL=https://shop.example/e", "OK", "https://shop.example/e", true},
		{"no redirect", "Status=OK", "OK", "", true},
		{"query in redirect keeps its =", "Status=OK\r\nRedirectURL=https://shop.example/f?a=1&b=2", "OK", "https://shop.example/f?a=1&b=2", true},
		{"HTML error page", "<html><body>Oops</body></html>", "", "", false},
		{"Status not first", "RedirectURL=https://shop.example/g\r\nStatus=OK", "", "", false},
		{"unknown status", "Status=MAYBE", "", "", false},
		{"empty", "", "", "", false},
	}
	for _, c := range cases {
		r, err := parseNotificationReply(c.body)
		if (err == nil) != c.ok || (c.ok && (r.status != c.status || r.redirectURL != c.redirect)) {
			t.Errorf("%s: %+v, %v", c.name, r, err)
		}
	}
}

func TestNotificationRetriedOnTheSimClockUntilAReply(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	vendor := newVendorEndpoint(t, func(n int, w http.ResponseWriter) {
		switch n {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			_, _ = io.WriteString(w, "<html>maintenance</html>")
		default:
			_, _ = io.WriteString(w, "Status=OK\nRedirectURL=https://shop.example/done\n")
		}
	})
	reg := b.register(registration(vendor.URL))
	id := strings.Trim(reg["VPSTxId"], "{}")
	status, _, page := b.shopperPays(reg["NextURL"], goodCard("4929000000006"))
	if status != http.StatusOK || !strings.Contains(page, "5006 : Unable to redirect to Vendor") {
		t.Fatalf("shopper after a failed notification: %d %s", status, page)
	}
	n := b.sim.State().Notifications[0]
	if n.State != DeliveryPending || len(n.Attempts) != 1 || n.Attempts[0].HTTPStatus != 500 || n.NextAttemptAt == nil ||
		!n.NextAttemptAt.Equal(testStart.Add(time.Minute)) {
		t.Fatalf("after first attempt %+v", n)
	}
	if ts := b.stateOf(id); ts.TxStateID != txStateNotifying {
		t.Fatalf("txstateid while notifying %d", ts.TxStateID)
	}

	b.sim.Clock().Advance(59 * time.Second)
	if got := vendor.calls.Load(); got != 1 {
		t.Fatalf("retried early: %d calls", got)
	}
	b.sim.Clock().Advance(time.Second)
	n = b.sim.State().Notifications[0]
	if len(n.Attempts) != 2 || n.Attempts[1].Error == "" || !strings.Contains(n.Attempts[1].Reply, "maintenance") || n.State != DeliveryPending {
		t.Fatalf("second attempt %+v", n)
	}
	b.sim.Clock().Advance(time.Minute)
	n = b.sim.State().Notifications[0]
	if len(n.Attempts) != 3 || n.State != DeliveryDelivered || !n.Attempts[2].Accepted || !n.Attempts[2].At.Equal(testStart.Add(2*time.Minute)) {
		t.Fatalf("third attempt %+v", n)
	}
	if ts := b.stateOf(id); ts.TxStateID != txStateAuthorised {
		t.Fatalf("txstateid after OK %d", ts.TxStateID)
	}
	// Every attempt posted the same signed fields.
	first, second := <-vendor.forms, <-vendor.forms
	if first.Get("VPSSignature") != second.Get("VPSSignature") || first.Get("VPSSignature") == "" {
		t.Fatal("attempts differ")
	}
}

func TestNotificationGivesUpAndCancels(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{NotificationRetry: RetryPolicy{First: 30 * time.Second, Interval: 2 * time.Minute, Count: 2}})
	vendor := newVendorEndpoint(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) })
	reg := b.register(registration(vendor.URL))
	id := strings.Trim(reg["VPSTxId"], "{}")
	b.shopperPays(reg["NextURL"], goodCard("4929000000006"))
	b.sim.Clock().Advance(10 * time.Minute) // both retries fall due within one advance
	n := b.sim.State().Notifications[0]
	if n.State != DeliveryFailed || len(n.Attempts) != 3 || vendor.calls.Load() != 3 ||
		!n.Attempts[1].At.Equal(testStart.Add(30*time.Second)) || !n.Attempts[2].At.Equal(testStart.Add(150*time.Second)) {
		t.Fatalf("deliveries %+v", n)
	}
	if ts := b.stateOf(id); ts.TxStateID != txStateErrorCancelled {
		t.Fatalf("txstateid %d", ts.TxStateID)
	}
	if _, got := b.pi("GET", "/transactions/"+id, nil); str(got, "status") != "Error" || str(got, "statusCode") != "2003" {
		t.Fatalf("Pi view of an unacknowledged transaction: %v", got)
	}
	b.sim.Clock().Advance(24 * time.Hour)
	if ts := b.stateOf(id); ts.Settled {
		t.Fatal("a cancelled transaction was settled")
	}
	detail := b.report("getTransactionDetail", "<vpstxid>"+id+"</vpstxid>")
	if xmlField(detail, "txstateid") != "13" {
		t.Fatalf("reporting txstateid %s", xmlField(detail, "txstateid"))
	}
}

func TestNotificationInvalidReplyCancelsButStillRedirects(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{})
	vendor := newVendorEndpoint(t, func(_ int, w http.ResponseWriter) {
		_, _ = io.WriteString(w, "Status=INVALID\r\nRedirectURL=https://shop.example/failed\r\nStatusDetail=signature mismatch\r\n")
	})
	reg := b.register(registration(vendor.URL))
	status, location, _ := b.shopperPays(reg["NextURL"], goodCard("4929000000006"))
	if status != http.StatusFound || location != "https://shop.example/failed" {
		t.Fatalf("shopper %d %q", status, location)
	}
	id := strings.Trim(reg["VPSTxId"], "{}")
	if ts := b.stateOf(id); ts.TxStateID != txStateVendorCancelled {
		t.Fatalf("txstateid %d", ts.TxStateID)
	}
	n := b.sim.State().Notifications[0]
	if n.State != DeliveryDelivered || n.ReplyStatus != "INVALID" || n.Attempts[0].StatusDetail != "signature mismatch" {
		t.Fatalf("delivery %+v", n)
	}
	status, body := b.refund(id, 100)
	wantPiError(t, status, body, http.StatusForbidden, "1014")
	if _, got := b.pi("GET", "/transactions/"+id, nil); str(got, "status") != "Rejected" || str(got, "statusCode") != "2012" {
		t.Fatalf("Pi view of a vendor-cancelled transaction: %v", got)
	}
}

func TestNotificationTimeoutCountsAsNoReply(t *testing.T) {
	t.Parallel()
	b := setup(t, Options{NotificationTimeout: 100 * time.Millisecond, NotificationRetry: RetryPolicy{Count: -1}})
	release := make(chan struct{})
	vendor := newVendorEndpoint(t, func(_ int, w http.ResponseWriter) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	})
	defer close(release)
	reg := b.register(registration(vendor.URL))
	start := time.Now()
	status, _, page := b.shopperPays(reg["NextURL"], goodCard("4929000000006"))
	if status != http.StatusOK || !strings.Contains(page, "5006") || time.Since(start) > 3*time.Second {
		t.Fatalf("shopper %d after %v", status, time.Since(start))
	}
	n := b.sim.State().Notifications[0]
	if n.State != DeliveryFailed || len(n.Attempts) != 1 || n.Attempts[0].Error == "" {
		t.Fatalf("delivery %+v", n)
	}
}
