package sync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/db/dbtest"
	hubsync "github.com/payhub/payhub/sync"
)

var webhookKey = cybersource.WebhookKey{ID: cybersourcesim.DefaultWebhookKeyID, Key: cybersourcesim.DefaultWebhookKey}

func newIntake(t *testing.T) (*pgxpool.Pool, *httptest.Server) {
	t.Helper()
	pool := dbtest.New(t)
	e, err := hubsync.New(hubsync.Config{Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	h := &hubsync.CybersourceWebhooks{Engine: e, Keys: []cybersource.WebhookKey{
		{ID: "wh-key-0", Key: "b2xkLXJvdGF0ZWQta2V5LXN0aWxsLWFjY2VwdGVk"}, webhookKey,
	}}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return pool, srv
}

func deliver(t *testing.T, url string, body []byte, signature string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("v-c-signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func sign(t *testing.T, body []byte, at time.Time) string {
	t.Helper()
	s, err := cybersource.SignWebhook(body, webhookKey, at)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCybersourceWebhooksAreVerifiedStoredOnceAndRejectedWhenForged(t *testing.T) {
	t.Parallel()
	pool, srv := newIntake(t)
	body := []byte(`{"notificationId":"evt-1","eventType":"payments.capture.status.accepted","webhookId":"wh-1",` +
		`"productId":"payments","organizationId":"payhub_sandbox","eventDate":"2026-11-21T10:00:00","retryNumber":0,` +
		`"requestType":"NEW","payload":{"data":{"id":"6510049442466278803211","type":"captures",` +
		`"clientReferenceInformation":{"code":"WEB-1"},"note":"card 4111111111111111"}}}`)

	code, out := deliver(t, srv.URL, body, sign(t, body, time.Now()))
	if code != http.StatusOK || out["signature"] != "valid" || out["duplicate"] != false {
		t.Fatalf("valid delivery: %d %v", code, out)
	}
	// The same event again, as Cybersource's retry would send it: acknowledged, nothing new.
	code, out = deliver(t, srv.URL, body, sign(t, body, time.Now()))
	if code != http.StatusOK || out["duplicate"] != true {
		t.Fatalf("redelivery: %d %v", code, out)
	}

	tampered := bytes.Replace(body, []byte("WEB-1"), []byte("WEB-2"), 1)
	forgedKey := cybersource.WebhookKey{ID: webhookKey.ID, Key: "Zm9yZ2VkLWtleS1mb3JnZWQta2V5LWZvcmdlZC1rZXk="}
	forged, _ := cybersource.SignWebhook(body, forgedKey, time.Now())
	for _, c := range []struct {
		name, signature, verdict string
		body                     []byte
		status                   int
	}{
		{"tampered body", sign(t, body, time.Now()), "invalid", tampered, http.StatusUnauthorized},
		{"forged key", forged, "invalid", body, http.StatusUnauthorized},
		{"replayed outside tolerance", sign(t, body, time.Now().Add(-time.Hour)), "expired", body, http.StatusUnauthorized},
		{"unsigned", "", "missing", body, http.StatusUnauthorized},
		{"garbage header", "t=abc;sig", "invalid", body, http.StatusUnauthorized},
		{"signed garbage", sign(t, []byte("{not json"), time.Now()), "valid", []byte("{not json"), http.StatusBadRequest},
	} {
		code, out := deliver(t, srv.URL, c.body, c.signature)
		if code != c.status || out["signature"] != c.verdict || out["messageId"] == nil {
			t.Errorf("%s: %d %v, want %d with verdict %s, stored", c.name, code, out, c.status, c.verdict)
		}
	}

	rows, err := db.New(pool).CountInboundMessages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range rows {
		got[r.SignatureStatus+"/"+r.Status] = r.Messages
	}
	want := map[string]int64{"valid/received": 1, "invalid/rejected": 3, "expired/rejected": 1, "missing/rejected": 1, "valid/rejected": 1}
	if len(got) != len(want) {
		t.Errorf("stored messages %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("stored messages %v, want %v", got, want)
			break
		}
	}
	var stored string
	pool.QueryRow(context.Background(), `SELECT body FROM inbound_messages WHERE status = 'received'`).Scan(&stored)
	if strings.Contains(stored, "4111111111111111") || !strings.Contains(stored, "XXXXXXXXXXXX1111") {
		t.Errorf("stored body keeps the card number: %s", stored)
	}
	var jobs int
	pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'normalise_inbound'`).Scan(&jobs)
	if jobs != 1 {
		t.Errorf("%d normalise jobs queued, want 1 (only the verified message)", jobs)
	}

	big := bytes.Repeat([]byte("x"), hubsync.WebhookBodyLimit+1)
	if code, _ := deliver(t, srv.URL, big, sign(t, big, time.Now())); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", code)
	}
}

func TestWebhooksFromTheCybersourceSimulatorAreAccepted(t *testing.T) {
	t.Parallel()
	pool, srv := newIntake(t)
	sim := cybersourcesim.New(cybersourcesim.Options{WebhookURL: srv.URL})
	t.Cleanup(sim.Close)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(simSrv.Close)
	client, err := cybersource.New(cybersource.Config{BaseURL: simSrv.URL, MerchantID: cybersourcesim.DefaultMerchantID,
		KeyID: cybersourcesim.DefaultKeyID, Secret: cybersourcesim.DefaultSecret})
	if err != nil {
		t.Fatal(err)
	}
	pay, err := client.CreatePayment(context.Background(), cybersource.PaymentRequest{
		Reference: "WEB-SIM-1", Capture: true, Amount: decimal.RequireFromString("12.50"), Currency: "GBP",
		Card: &cybersource.Card{Number: "4111111111111111", ExpirationMonth: "12", ExpirationYear: "2031", SecurityCode: "123"},
		BillTo: &cybersource.Address{FirstName: "Ada", LastName: "Lovelace", Address1: "1 Harbour Road", Locality: "Bristol",
			PostalCode: "BS1 1AA", Country: "GB", Email: "ada@example.com"},
	})
	if err != nil || pay.Status != "AUTHORIZED" {
		t.Fatalf("payment: %+v %v", pay, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var received int
		pool.QueryRow(context.Background(),
			`SELECT count(*) FROM inbound_messages WHERE signature_status = 'valid' AND status = 'received'`).Scan(&received)
		if received >= 2 { // a sale announces its authorization and its capture
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d verified messages stored from the simulator, want 2; deliveries %+v", received, sim.State().WebhookDeliveries)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
