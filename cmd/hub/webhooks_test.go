package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/cybersource/cybersourcesim"
	"github.com/payhub/payhub/connectors/syspro/sysprosim"
	"github.com/payhub/payhub/db/dbtest"
)

func TestServeReceivesSignedCybersourceWebhooksWithSysproConfigured(t *testing.T) {
	bin := buildHub(t)
	dir := dataDir(t)
	addr := freeAddr(t)
	sim := httptest.NewServer(sysprosim.New(sysprosim.Options{}))
	defer sim.Close()
	config := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(config, []byte(`
cybersource: {url: http://127.0.0.1:9, merchantId: payhub_sandbox, keyId: `+cybersourcesim.DefaultKeyID+`,
              secret: `+cybersourcesim.DefaultSecret+`, webhookKeys: [{id: wh-key-1, key: `+cybersourcesim.DefaultWebhookKey+`}]}
syspro: {url: `+sim.URL+sysprosim.BasePath+`, operator: ADMIN, operatorPassword: admin, companyId: EDU1, companyPassword: "", seats: 1}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, logs, _ := serve(t, bin, dir, addr, "DATABASE_URL="+dbtest.NewURL(t), "HUB_CONFIG="+config)

	body := []byte(`{"notificationId":"evt-hub-1","eventType":"payments.capture.status.accepted","webhookId":"wh-1",` +
		`"payload":{"data":{"id":"6510049442466278803211","clientReferenceInformation":{"code":"WEB-1"}}}}`)
	post := func(sig string) int {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://"+addr+"/webhooks/cybersource", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set("v-c-signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	sig, err := cybersource.SignWebhook(body, cybersource.WebhookKey{ID: "wh-key-1", Key: cybersourcesim.DefaultWebhookKey}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	signed, unsigned := post(sig), post("")
	interrupt(t, cmd, logs) // the log is read only once the hub has exited
	if signed != http.StatusOK {
		t.Errorf("signed webhook: HTTP %d; log:\n%s", signed, logs.String())
	}
	if unsigned != http.StatusUnauthorized {
		t.Errorf("unsigned webhook: HTTP %d, want 401", unsigned)
	}
	if strings.Contains(logs.String(), cybersourcesim.DefaultWebhookKey) || strings.Contains(logs.String(), "operatorPassword: admin") {
		t.Errorf("log shows a secret:\n%s", logs.String())
	}
}
