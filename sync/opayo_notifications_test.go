package sync

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/opayo"
	"github.com/payhub/payhub/connectors/opayo/opayosim"
	"github.com/payhub/payhub/db"
)

const opayoShopReturn = "https://shop.example/opayo/return"

// opayoNotificationEndpoint serves h as a NotificationURL.
func opayoNotificationEndpoint(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/webhooks/opayo"
}

// serverPayment registers a Server-protocol transaction notifying notifyURL and has the shopper
// pay it with pan; it returns the registration, its vendorTxCode and where the shopper was sent.
func (env *opayoEnv) serverPayment(notifyURL, pan string, txType opayo.ServerTxType) (*opayo.ServerRegistration, string, string) {
	env.t.Helper()
	code := opayoCode("srv")
	reg, err := env.client.RegisterServerTransaction(context.Background(), opayo.ServerRegistrationRequest{
		TxType: txType, VendorTxCode: code, Amount: decimal.RequireFromString("42.00"), Currency: "GBP",
		Description: "Server order", NotificationURL: notifyURL, CustomerEMail: "sam@example.com",
		Billing: opayo.ServerAddress{Surname: "Jones", Firstnames: "Sam", Address1: "88 Test Street", City: "London", PostCode: "412", Country: "GB"},
	})
	if err != nil {
		env.t.Fatalf("register: %v", err)
	}
	noFollow := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.PostForm(reg.NextURL, url.Values{"CardHolder": {"SAM JONES"}, "CardNumber": {pan}, "ExpiryDate": {"1230"}, "CV2": {"123"}})
	if err != nil {
		env.t.Fatal(err)
	}
	res.Body.Close()
	return reg, code, res.Header.Get("Location")
}

// opayoShopRedirect is the RedirectURL the handler answers for vendorTxCode and status.
func opayoShopRedirect(code, status string) string {
	return opayoShopReturn + "?" + url.Values{"vendorTxCode": {code}, "status": {status}}.Encode()
}

func opayoPostNotification(t *testing.T, endpoint, body string) (int, string) {
	t.Helper()
	res, err := http.Post(endpoint, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// opayoReply reads a notification reply; it insists on the protocol's CRLF lines.
func opayoReply(t *testing.T, body string) map[string]string {
	t.Helper()
	if !strings.HasPrefix(body, "Status=") || !strings.HasSuffix(body, "\r\n") {
		t.Fatalf("reply %q is not Status=… lines ending in CRLF", body)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("reply line %q in %q", line, body)
		}
		out[k] = v
	}
	return out
}

type opayoStoredMessage struct {
	id                    int64
	eventID               *string
	verdict, status, body string
}

func opayoStoredMessages(t *testing.T, pool *pgxpool.Pool) []opayoStoredMessage {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT id, external_event_id, signature_status, status, body
		FROM inbound_messages WHERE source = 'opayo' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []opayoStoredMessage
	for rows.Next() {
		var m opayoStoredMessage
		if err := rows.Scan(&m.id, &m.eventID, &m.verdict, &m.status, &m.body); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func opayoCount(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (env *opayoEnv) txState(id string) opayo.TxState {
	env.t.Helper()
	d, err := env.client.GetTransactionDetail(context.Background(), opayo.ByVPSTxID(id))
	if err != nil {
		env.t.Fatal(err)
	}
	return d.TxStateID
}

func TestOpayoNotificationsAreVerifiedStoredOnceQueuedAndAnsweredOK(t *testing.T) {
	t.Parallel()
	env := newOpayoEnv(t, opayosim.Options{})
	ctx := context.Background()
	h := &OpayoNotifications{Engine: env.engine, RedirectURL: opayoShopReturn}
	// While the handler answers, Opayo has not yet read the reply: Reporting still shows the
	// transaction as notifying. Normalising at that moment must use the verified notification.
	type normalised struct {
		txns []GatewayTxn
		err  error
	}
	during := make(chan normalised, 4)
	endpoint := opayoNotificationEndpoint(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if ms := opayoStoredMessages(t, env.pool); len(ms) > 0 && ms[len(ms)-1].verdict == SignatureValid {
			msg, err := env.engine.queries.GetInboundMessage(r.Context(), ms[len(ms)-1].id)
			if err != nil {
				t.Error(err)
			}
			txns, err := env.engine.normaliseOpayoMessage(r.Context(), msg)
			during <- normalised{txns, err}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))

	reg, code, location := env.serverPayment(endpoint, "4929000000006", opayo.ServerPayment)
	id := strings.Trim(reg.VPSTxID, "{}")
	if location != opayoShopRedirect(code, "OK") {
		t.Errorf("shopper sent to %q, want %q", location, opayoShopRedirect(code, "OK"))
	}
	delivery := env.sim.State().Notifications[0]
	first := delivery.Attempts[0].Reply
	if r := opayoReply(t, first); r["Status"] != "OK" || r["RedirectURL"] != opayoShopRedirect(code, "OK") || r["StatusDetail"] == "" ||
		delivery.State != opayosim.DeliveryDelivered || !delivery.Attempts[0].Accepted {
		t.Errorf("delivery %+v", delivery)
	}
	if st := env.txState(id); st != opayo.TxStateAuthorised {
		t.Errorf("txstateid after OK = %d, want 16 (Opayo kept the payment)", st)
	}
	msgs := opayoStoredMessages(t, env.pool)
	if len(msgs) != 1 || msgs[0].verdict != SignatureValid || msgs[0].status != "received" ||
		msgs[0].eventID == nil || *msgs[0].eventID != id+":OK" || !strings.Contains(msgs[0].body, "VPSSignature=") {
		t.Fatalf("stored %+v", msgs)
	}
	if n := opayoCount(t, env.pool, `SELECT count(*) FROM river_job WHERE kind = 'normalise_inbound'`); n != 1 {
		t.Errorf("%d normalise_inbound jobs, want 1", n)
	}
	if n := opayoCount(t, env.pool, `SELECT count(*) FROM events WHERE kind = 'webhook.received' AND subject_id = $1`, msgs[0].id); n != 1 {
		t.Errorf("%d webhook.received events, want 1", n)
	}

	got := <-during
	if got.err != nil || len(got.txns) != 1 {
		t.Fatalf("normalise while notifying: %v %v", got.txns, got.err)
	}
	if tx := got.txns[0]; tx.TransactionID != id || tx.Kind != KindSale || tx.GatewayStatus != "Ok" || tx.GatewayStatusCode != "0000" ||
		tx.Reference != code || !strings.Contains(string(tx.Raw), `"notification"`) {
		t.Errorf("normalised while Reporting says Pending: %+v", tx)
	}
	msg, err := env.engine.queries.GetInboundMessage(ctx, msgs[0].id)
	if err != nil {
		t.Fatal(err)
	}
	txns, err := env.engine.normaliseOpayoMessage(ctx, msg)
	if err != nil || len(txns) != 1 {
		t.Fatalf("normalise: %v %v", txns, err)
	}
	if tx := txns[0]; tx.GatewayStatus != "Ok" || tx.GatewayStatusCode != "16" || tx.Reference != code || tx.Customer.Email != "sam@example.com" ||
		tx.Customer.BillTo.Line1 != "88 Test Street" || tx.ShipTo.City != "London" || tx.CardLastFour != "0006" || !tx.Amount.Equal(decimal.RequireFromString("42.00")) {
		t.Errorf("normalised after the opayoReply: %+v", tx)
	}

	// Opayo's redelivery of the same notification: the same answer, nothing new.
	status, again := opayoPostNotification(t, endpoint, msgs[0].body)
	if status != http.StatusOK || again != first {
		t.Errorf("redelivery answered %d %q, want %q", status, again, first)
	}
	if n := len(opayoStoredMessages(t, env.pool)); n != 1 {
		t.Errorf("%d messages after the redelivery, want 1", n)
	}

	// A declined card is a verified notification too: stored, queued, and answered OK.
	_, declinedCode, location := env.serverPayment(endpoint, "4929602110085639", opayo.ServerPayment)
	if location != opayoShopRedirect(declinedCode, "NOTAUTHED") {
		t.Errorf("declined shopper sent to %q", location)
	}

	// Tampered and unsigned copies of the genuine notification: INVALID, kept, never queued.
	tampered := opayoFormOf(t, msgs[0].body)
	tampered.Set("Last4Digits", "9999")
	unsigned := opayoFormOf(t, msgs[0].body)
	unsigned.Del("VPSSignature")
	for name, c := range map[string]struct {
		form    url.Values
		verdict string
	}{"tampered": {tampered, SignatureInvalid}, "unsigned": {unsigned, SignatureMissing}} {
		status, body := opayoPostNotification(t, endpoint, c.form.Encode())
		if r := opayoReply(t, body); status != http.StatusOK || r["Status"] != "INVALID" || r["RedirectURL"] != opayoShopRedirect(code, "INVALID") {
			t.Errorf("%s: %d %q", name, status, body)
		}
	}
	got2 := map[string]int{}
	for _, m := range opayoStoredMessages(t, env.pool) {
		got2[m.verdict+"/"+m.status]++
		if m.verdict != SignatureValid && m.eventID != nil {
			t.Errorf("an unverified message claimed event id %s", *m.eventID)
		}
	}
	if want := map[string]int{"valid/received": 2, "invalid/rejected": 1, "missing/rejected": 1}; !maps.Equal(got2, want) {
		t.Errorf("stored %v, want %v", got2, want)
	}
	if n := opayoCount(t, env.pool, `SELECT count(*) FROM river_job WHERE kind = 'normalise_inbound'`); n != 2 {
		t.Errorf("%d normalise_inbound jobs, want 2 (the verified messages only)", n)
	}
	if st := env.txState(id); st != opayo.TxStateAuthorised {
		t.Errorf("the forged copies changed the payment: txstateid %d", st)
	}

	// Stored messages that cannot be normalised fail for good.
	for name, m := range map[string]db.InboundMessage{
		"malformed body": {ID: 1, Source: GatewayOpayo, SignatureStatus: SignatureValid, Body: "not a notification"},
		"not verified":   {ID: 2, Source: GatewayOpayo, SignatureStatus: SignatureInvalid, Body: msgs[0].body},
	} {
		if _, err := env.engine.normaliseOpayoMessage(ctx, m); !isPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}
}

func TestOpayoNotificationsWhenReportingIsDownAreAcknowledgedButNeverApplied(t *testing.T) {
	t.Parallel()
	env := newOpayoEnv(t, opayosim.Options{})
	endpoint := opayoNotificationEndpoint(t, &OpayoNotifications{Engine: env.engine, RedirectURL: opayoShopReturn})

	// Reporting fails every call from the moment the shopper pays.
	code := opayoCode("srv")
	reg, err := env.client.RegisterServerTransaction(context.Background(), opayo.ServerRegistrationRequest{
		VendorTxCode: code, Amount: decimal.RequireFromString("42.00"), Currency: "GBP", Description: "Server order",
		NotificationURL: endpoint,
		Billing:         opayo.ServerAddress{Surname: "Jones", Firstnames: "Sam", Address1: "88", City: "London", PostCode: "412", Country: "GB"},
	})
	if err != nil {
		t.Fatal(err)
	}
	env.sim.SetFaults(opayosim.Faults{ErrorRate: 1})
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
		PostForm(reg.NextURL, url.Values{"CardHolder": {"SAM JONES"}, "CardNumber": {"4929000000006"}, "ExpiryDate": {"1230"}, "CV2": {"123"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	env.sim.SetFaults(opayosim.Faults{})

	id := strings.Trim(reg.VPSTxID, "{}")
	if loc := res.Header.Get("Location"); loc != opayoShopRedirect(code, "OK") {
		t.Errorf("shopper sent to %q", loc)
	}
	if d := env.sim.State().Notifications[0]; d.ReplyStatus != "OK" {
		t.Errorf("reply %+v, want OK so that Opayo keeps the payment", d)
	}
	if st := env.txState(id); st != opayo.TxStateAuthorised {
		t.Errorf("txstateid %d, want 16: an unverifiable notification must not cancel a real payment", st)
	}
	msgs := opayoStoredMessages(t, env.pool)
	if len(msgs) != 1 || msgs[0].verdict != SignatureUnverifiable || msgs[0].status != "rejected" || msgs[0].eventID != nil {
		t.Fatalf("stored %+v, want one unverifiable, rejected message without an event id", msgs)
	}
	if jobs := fetchJobIDs(t, env.pool, GatewayOpayo); len(jobs) != 1 || jobs[0] != id {
		t.Errorf("fetch_transaction jobs %v, want one for %s", jobs, id)
	}
	if n := opayoCount(t, env.pool, `SELECT count(*) FROM river_job WHERE kind = 'normalise_inbound'`); n != 0 {
		t.Errorf("%d normalise_inbound jobs, want none: the message is never applied", n)
	}
	if n := opayoCount(t, env.pool, `SELECT count(*) FROM payments`); n != 0 {
		t.Errorf("%d payments, want none", n)
	}
	var errText string
	env.pool.QueryRow(context.Background(), `SELECT coalesce(error, '') FROM inbound_messages`).Scan(&errText)
	if !strings.Contains(errText, "security key") {
		t.Errorf("stored error %q should say why the message could not be verified", errText)
	}

	// Once Reporting answers again, Opayo's redelivery is verified and queued.
	status, body := opayoPostNotification(t, endpoint, msgs[0].body)
	if r := opayoReply(t, body); status != http.StatusOK || r["Status"] != "OK" {
		t.Errorf("redelivery: %d %q", status, body)
	}
	if n := opayoCount(t, env.pool, `SELECT count(*) FROM river_job WHERE kind = 'normalise_inbound'`); n != 1 {
		t.Errorf("%d normalise_inbound jobs after the verified redelivery, want 1", n)
	}
}

func TestOpayoNotificationsRejectWhatIsNotANotificationWith400AndKeepIt(t *testing.T) {
	t.Parallel()
	env := newOpayoEnv(t, opayosim.Options{})
	endpoint := opayoNotificationEndpoint(t, &OpayoNotifications{Engine: env.engine, RedirectURL: opayoShopReturn})

	for _, c := range []struct {
		name, body, verdict string
	}{
		{"a form without VPSTxId or Status", "hello=world", SignatureMissing},
		{"not a form", "%zz%", SignatureMissing},
		{"signed, but VPSTxId is not an id", url.Values{"VPSTxId": {"{1; DROP TABLE}"}, "Status": {"OK"}, "VPSSignature": {"00"}}.Encode(), SignatureUnverifiable},
	} {
		status, text := opayoPostNotification(t, endpoint, c.body)
		if status != http.StatusBadRequest || !strings.Contains(text, "not an Opayo Server notification") {
			t.Errorf("%s: %d %q", c.name, status, text)
		}
	}
	got := map[string]int{}
	for _, m := range opayoStoredMessages(t, env.pool) {
		got[m.verdict+"/"+m.status]++
	}
	if want := map[string]int{"missing/rejected": 2, "unverifiable/rejected": 1}; !maps.Equal(got, want) {
		t.Errorf("stored %v, want %v", got, want)
	}

	res, err := http.Get(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	big := bytes.Repeat([]byte("x"), WebhookBodyLimit+1)
	bigRes, err := http.Post(endpoint, "application/x-www-form-urlencoded", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	bigRes.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed || bigRes.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("GET %d, oversized %d", res.StatusCode, bigRes.StatusCode)
	}
	if n := opayoCount(t, env.pool, `SELECT count(*) FROM river_job`); n != 0 {
		t.Errorf("%d jobs queued for garbage", n)
	}
}

func TestOpayoNotificationsThatCannotBeAcceptedMakeOpayoCancel(t *testing.T) {
	t.Parallel()
	env := newOpayoEnv(t, opayosim.Options{})
	deadPool, err := pgxpool.New(context.Background(), "postgres://payhub:payhub@127.0.0.1:1/payhub?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(deadPool.Close)
	dbDown, err := New(Config{Pool: deadPool, Opayo: env.client})
	if err != nil {
		t.Fatal(err)
	}
	noOpayo, err := New(Config{Pool: env.pool})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		h       *OpayoNotifications
		reply   string
		txState opayo.TxState
		stored  string
	}{
		// The database is down: the outcome cannot be recorded, so Opayo must not keep the money.
		{"database down", &OpayoNotifications{Engine: dbDown, RedirectURL: opayoShopReturn}, "ERROR", 9, ""},
		// A hub configured with another vendor name cannot match Opayo's genuine signature.
		{"wrong vendor name", &OpayoNotifications{Engine: env.engine, RedirectURL: opayoShopReturn, Vendor: "othervendor"}, "INVALID", 9, "invalid/rejected"},
		// No Opayo client: the message can never be checked nor the state pulled.
		{"opayo not configured", &OpayoNotifications{Engine: noOpayo, RedirectURL: opayoShopReturn, Vendor: opayosim.DefaultVendor}, "ERROR", 9, "unverifiable/rejected"},
	} {
		before := len(opayoStoredMessages(t, env.pool))
		reg, code, location := env.serverPayment(opayoNotificationEndpoint(t, c.h), "4929000000006", opayo.ServerPayment)
		if location != opayoShopRedirect(code, c.reply) {
			t.Errorf("%s: shopper sent to %q, want %q", c.name, location, opayoShopRedirect(code, c.reply))
		}
		if st := env.txState(strings.Trim(reg.VPSTxID, "{}")); st != c.txState {
			t.Errorf("%s: txstateid %d, want %d (cancelled by the vendor's opayoReply)", c.name, st, c.txState)
		}
		msgs := opayoStoredMessages(t, env.pool)
		switch {
		case c.stored == "" && len(msgs) != before:
			t.Errorf("%s: %d messages stored", c.name, len(msgs)-before)
		case c.stored != "" && (len(msgs) != before+1 || msgs[len(msgs)-1].verdict+"/"+msgs[len(msgs)-1].status != c.stored):
			t.Errorf("%s: stored %+v, want one %s", c.name, msgs[before:], c.stored)
		}
	}
	if n := opayoCount(t, env.pool, `SELECT count(*) FROM river_job`); n != 0 {
		t.Errorf("%d jobs queued, want none", n)
	}
}

// opayoFormOf parses a stored form body.
func opayoFormOf(t *testing.T, body string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(body)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
